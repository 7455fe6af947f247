//! File identity that survives renames.
//!
//! A path is not an identity: logrotate renames `trail.ndjson` to `trail.ndjson.1` and starts a
//! new file under the old name. A file is identified by its device and inode, confirmed by a
//! hash of its first bytes, so that an inode reused by a new file, or a file truncated in place
//! (copytruncate), is recognised as new content and read from the start.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// How many leading bytes confirm an identity.
pub const HEAD_BYTES: u64 = 1024;

/// Device and inode of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileKey {
    pub dev: u64,
    pub ino: u64,
}

/// A file's identity: its key plus a hash of its first `head_len` bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub key: FileKey,
    pub head_len: u64,
    pub head_hash: String,
}

impl FileKey {
    pub fn of(metadata: &std::fs::Metadata) -> FileKey {
        FileKey {
            dev: metadata.dev(),
            ino: metadata.ino(),
        }
    }
}

/// Opens `path` for reading only if it is a regular file, checked on the open descriptor.
///
/// Checking the path first and opening it after leaves a window in which the file can be
/// swapped for a FIFO (opening it would block the reader thread until a writer comes) or a
/// link to `/dev/zero` (reading it would never end). Opening with `O_NONBLOCK` cannot block,
/// and `fstat` on the descriptor tells what was really opened. (`O_NONBLOCK` changes nothing
/// for reads of a regular file.)
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, device or socket is never read)",
        ));
    }
    Ok(file)
}

/// Hashes the first `len` bytes of `file` (fewer if the file is shorter; the length actually
/// hashed is returned).
pub fn head_hash(file: &mut File, len: u64) -> io::Result<(u64, String)> {
    let mut head = Vec::with_capacity(len as usize);
    file.by_ref().take(len).read_to_end(&mut head)?;
    let digest = Sha256::digest(&head);
    let hex = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    Ok((head.len() as u64, hex))
}

impl Fingerprint {
    /// Computes the fingerprint of the file at `path` now.
    pub fn of(path: &Path) -> io::Result<Fingerprint> {
        let mut file = open_regular(path)?;
        let key = FileKey::of(&file.metadata()?);
        let (head_len, head_hash) = head_hash(&mut file, HEAD_BYTES)?;
        Ok(Fingerprint {
            key,
            head_len,
            head_hash,
        })
    }

    /// True when the file at `path` still starts with the bytes this fingerprint saw (same
    /// inode, not truncated, not rewritten).
    pub fn still_matches(&self, path: &Path) -> io::Result<bool> {
        let mut file = open_regular(path)?;
        let metadata = file.metadata()?;
        if FileKey::of(&metadata) != self.key || metadata.len() < self.head_len {
            return Ok(false);
        }
        let (len, hash) = head_hash(&mut file, self.head_len)?;
        Ok(len == self.head_len && hash == self.head_hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn refuses_a_fifo_and_a_device_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("swapped.json");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        // A plain open of this FIFO would wait for a writer for ever.
        let e = Fingerprint::of(&fifo).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let zero = dir.path().join("zero.ndjson");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert_eq!(
            open_regular(&zero).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn survives_rename_and_detects_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.ndjson");
        std::fs::write(&a, b"{\"x\":1}\n").unwrap();
        let fp = Fingerprint::of(&a).unwrap();
        let b = dir.path().join("a.ndjson.1");
        std::fs::rename(&a, &b).unwrap();
        assert!(fp.still_matches(&b).unwrap());
        std::fs::OpenOptions::new()
            .append(true)
            .open(&b)
            .unwrap()
            .write_all(b"{\"x\":2}\n")
            .unwrap();
        assert!(fp.still_matches(&b).unwrap(), "growth keeps identity");
        std::fs::write(&b, b"{\"y\":0}\n").unwrap();
        assert!(!fp.still_matches(&b).unwrap(), "rewritten in place");
        std::fs::write(&b, b"").unwrap();
        assert!(!fp.still_matches(&b).unwrap(), "truncated");
    }
}
