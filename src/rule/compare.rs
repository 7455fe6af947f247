//! Value comparisons shared by the conditions: JSON equality, numbers, and case-insensitive
//! string tests that do not allocate for the common (ASCII) case.

use serde_json::Value;
use std::cmp::Ordering;

/// JSON equality with numbers compared by value (`1 == 1.0`); a string never equals a
/// number or a boolean.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => numeric_cmp(a, b) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// A number read from a JSON number or from a string that parses as one.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Num {
    Int(i128),
    Float(f64),
}

fn as_num(v: &Value) -> Option<Num> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(|i| Num::Int(i128::from(i)))
            .or_else(|| n.as_u64().map(|u| Num::Int(i128::from(u))))
            .or_else(|| n.as_f64().map(Num::Float)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i128>().map(Num::Int).ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(Num::Float)
            })
        }
        _ => None,
    }
}

/// Orders two values numerically; `None` unless both are numeric.
pub fn numeric_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (as_num(a)?, as_num(b)?) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Int(x), Num::Float(y)) => (x as f64).partial_cmp(&y),
        (Num::Float(x), Num::Int(y)) => x.partial_cmp(&(y as f64)),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y),
    }
}

/// The text a scalar operand stands for in a string condition: strings as written, numbers
/// and booleans as their JSON text.
pub fn operand_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Lower-cases for case-insensitive comparison, char by char, with the final sigma `ς` folded
/// to `σ` so that the result never depends on context (`str::to_lowercase` turns a word-final
/// `Σ` into `ς`, which made `IEquals: ΟΔΟΣ` fail to match `ΟΔΟΣ` itself).
pub fn fold(s: &str) -> String {
    folded(s).collect()
}

fn fold_char(c: char) -> impl DoubleEndedIterator<Item = char> {
    c.to_lowercase().map(|c| if c == 'ς' { 'σ' } else { c })
}

fn folded(s: &str) -> impl DoubleEndedIterator<Item = char> + '_ {
    s.chars().flat_map(fold_char)
}

/// `hay` equals `needle_folded` ignoring case; the needle is already folded.
pub fn iequals(hay: &str, needle_folded: &str) -> bool {
    if hay.is_ascii() && needle_folded.is_ascii() {
        return hay.eq_ignore_ascii_case(needle_folded);
    }
    folded(hay).eq(needle_folded.chars())
}

pub fn istarts_with(hay: &str, needle_folded: &str) -> bool {
    if hay.is_ascii() && needle_folded.is_ascii() {
        return hay.len() >= needle_folded.len()
            && hay.as_bytes()[..needle_folded.len()]
                .eq_ignore_ascii_case(needle_folded.as_bytes());
    }
    let mut hay = folded(hay);
    needle_folded.chars().all(|c| hay.next() == Some(c))
}

pub fn iends_with(hay: &str, needle_folded: &str) -> bool {
    if hay.is_ascii() && needle_folded.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle_folded.as_bytes());
        return h.len() >= n.len() && h[h.len() - n.len()..].eq_ignore_ascii_case(n);
    }
    let mut hay = folded(hay).rev();
    needle_folded.chars().rev().all(|c| hay.next() == Some(c))
}

pub fn icontains(hay: &str, needle_folded: &str) -> bool {
    if hay.is_ascii() && needle_folded.is_ascii() {
        return ascii_icontains(hay.as_bytes(), needle_folded.as_bytes());
    }
    fold(hay).contains(needle_folded)
}

/// Needles up to this long are searched for in place (at most this many byte comparisons per
/// position); longer ones, which only a multi-key comparison or `fieldref` can bring, search a
/// lower-cased copy in linear time.
const SHORT_NEEDLE: usize = 64;

/// `hay` contains `needle` ignoring ASCII case, in O(len(hay) * 64) at worst.
pub fn ascii_icontains(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.len() <= SHORT_NEEDLE {
        return hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle));
    }
    memchr::memmem::find(&hay.to_ascii_lowercase(), &needle.to_ascii_lowercase()).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_equality_rules() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(!json_eq(&json!("1"), &json!(1)));
        assert!(!json_eq(&json!(true), &json!("true")));
        assert!(json_eq(&json!({"a": [1, 2.0]}), &json!({"a": [1.0, 2]})));
        assert!(!json_eq(&json!([1]), &json!([1, 2])));
        assert!(json_eq(&Value::Null, &Value::Null));
    }

    #[test]
    fn numeric_ordering() {
        assert_eq!(
            numeric_cmp(&json!("10"), &json!(9)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            numeric_cmp(&json!(2.5), &json!("2.5")),
            Some(Ordering::Equal)
        );
        assert_eq!(numeric_cmp(&json!("abc"), &json!(1)), None);
        assert_eq!(numeric_cmp(&json!(true), &json!(1)), None);
        assert_eq!(
            numeric_cmp(&json!(u64::MAX), &json!(i64::MIN)),
            Some(Ordering::Greater)
        );
    }

    proptest::proptest! {
        /// Both search strategies (in place for short needles, on a lower-cased copy for long
        /// ones) agree with lower-casing both sides and searching.
        #[test]
        fn ascii_icontains_agrees_with_lowercase_search(
            hay in "[aAbB]{0,300}",
            needle in "[aAbB]{0,100}",
        ) {
            let expected = hay.to_ascii_lowercase().contains(&needle.to_ascii_lowercase());
            proptest::prop_assert_eq!(ascii_icontains(hay.as_bytes(), needle.as_bytes()), expected);
        }
    }

    #[test]
    fn case_insensitive_forms() {
        assert!(iequals("AdminRole", "adminrole"));
        assert!(iequals("ÄBC", "äbc"));
        assert!(istarts_with("DescribeInstances", "describe"));
        assert!(istarts_with("ÉTÉ", "ét"));
        assert!(!istarts_with("De", "describe"));
        assert!(iends_with("bucket.S3.amazonaws.com", "amazonaws.com"));
        assert!(iends_with("CAFÉ", "fé"));
        assert!(icontains("arn:aws:IAM::1:root", "iam::"));
        assert!(icontains("GRÜN", "rü"));
        assert!(!icontains("abc", "abd"));
    }
}
