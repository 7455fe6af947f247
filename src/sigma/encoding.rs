//! The encoding modifiers' transformations: UTF-16 (`utf16le`/`wide`, `utf16be`, `utf16` with a
//! byte order mark) and base64 (`base64`, and the three shifted forms of `base64offset`).
//!
//! UTF-16 is computed for any Unicode text (pySigma only accepts ASCII); base64 is the standard
//! alphabet with padding (RFC 4648).

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes bytes as padded base64 text.
pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The three texts `data` encodes to inside a longer base64 text, depending on its offset
/// modulo 3, with the partial characters at either end cut off (pySigma's cut points).
pub fn base64_offsets(data: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|i| {
            let mut shifted = vec![b' '; i];
            shifted.extend_from_slice(data);
            let encoded = base64(&shifted);
            let end = encoded.len() - END[(data.len() + i) % 3];
            encoded[START[i].min(end)..end].to_string()
        })
        .collect()
}

/// `utf16be`: big-endian; `utf16`: little-endian after the byte order mark FF FE; anything
/// else (`utf16le`, `wide`): little-endian.
pub fn utf16(modifier: &str, text: &str) -> Vec<u8> {
    let units = text.encode_utf16();
    match modifier {
        "utf16be" => units.flat_map(u16::to_be_bytes).collect(),
        "utf16" => [0xFF, 0xFE]
            .into_iter()
            .chain(units.flat_map(u16::to_le_bytes))
            .collect(),
        _ => units.flat_map(u16::to_le_bytes).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(&[0xFF, 0xFE, 0x00]), "//4A");
    }

    #[test]
    fn offsets_match_pysigma() {
        // pySigma 2.0: `hello|base64offset` -> aGVsbG, hlbGxv, oZWxsb
        assert_eq!(base64_offsets(b"hello"), ["aGVsbG", "hlbGxv", "oZWxsb"]);
        // `x|utf16be|base64offset` -> AH, B4, Ae
        assert_eq!(base64_offsets(&utf16("utf16be", "x")), ["AH", "B4", "Ae"]);
    }

    #[test]
    fn utf16_forms() {
        assert_eq!(utf16("wide", "cmd"), b"c\0m\0d\0");
        assert_eq!(utf16("utf16le", "é"), [0xE9, 0x00]);
        assert_eq!(utf16("utf16be", "cmd"), b"\0c\0m\0d");
        assert_eq!(utf16("utf16", "x"), [0xFF, 0xFE, b'x', 0]);
        assert_eq!(utf16("utf16le", "😀"), [0x3D, 0xD8, 0x00, 0xDE]);
    }
}
