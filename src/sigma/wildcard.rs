//! Compiled Sigma strings: matching a value against a [`SigmaStr`] without allocating.
//!
//! Most values compile to an exact, prefix, suffix or substring test on a case-folded needle,
//! matched with ASCII fast paths (and `memchr` to find a first byte in either case) or, for
//! other text, by folding one character at a time; the rest run a small glob matcher whose
//! runs between stars are fixed-width, so placing each leftmost is enough.

use super::sigmastr::{Part, SigmaStr, DASHES};
use memchr::{memchr2_iter, memchr_iter, memmem};

/// Case folding used by every case-insensitive comparison: Unicode lower case, per character,
/// with the final sigma `ς` folded to `σ` (as `rule::compare` does).
pub fn fold_char(c: char) -> impl Iterator<Item = char> {
    c.to_lowercase().map(|c| if c == 'ς' { 'σ' } else { c })
}

/// Folds a whole string.
pub fn fold(s: &str) -> String {
    s.chars().flat_map(fold_char).collect()
}

/// A compiled Sigma string.
#[derive(Debug, Clone)]
pub struct Pattern {
    kind: Kind,
    cased: bool,
}

#[derive(Debug, Clone)]
enum Kind {
    /// `*`: any text.
    Any,
    Exact(Needle),
    Prefix(Needle),
    Suffix(Needle),
    Contains(Needle),
    Glob(Glob),
}

/// A literal to look for, folded unless the pattern is cased.
#[derive(Debug, Clone)]
struct Needle {
    /// What is compared: the literal, folded unless cased.
    text: String,
    /// The literal as written.
    literal: String,
    chars: Vec<char>,
    ascii: bool,
}

impl Needle {
    fn new(text: &str, cased: bool) -> Needle {
        let literal = text.to_string();
        let text = if cased { text.to_string() } else { fold(text) };
        Needle {
            chars: text.chars().collect(),
            ascii: text.is_ascii(),
            text,
            literal,
        }
    }
}

/// A general pattern: the runs between stars, each a sequence of fixed tokens.
#[derive(Debug, Clone)]
struct Glob {
    head: Vec<Tok>,
    middle: Vec<Vec<Tok>>,
    tail: Vec<Tok>,
    has_star: bool,
}

#[derive(Debug, Clone)]
enum Tok {
    Lit(Vec<char>),
    One,
    Dash,
}

impl Pattern {
    /// Compiles a string; `cased` selects case-sensitive matching.
    pub fn compile(s: &SigmaStr, cased: bool) -> Result<Pattern, String> {
        let parts = s.parts();
        if let Some(Part::Placeholder(name)) =
            parts.iter().find(|p| matches!(p, Part::Placeholder(_)))
        {
            return Err(format!("placeholder %{name}% is not resolved"));
        }
        let needle = |t: &str| Needle::new(t, cased);
        let kind = match parts {
            [] => Kind::Exact(needle("")),
            [Part::Star] => Kind::Any,
            [Part::Lit(t)] => Kind::Exact(needle(t)),
            [Part::Lit(t), Part::Star] => Kind::Prefix(needle(t)),
            [Part::Star, Part::Lit(t)] => Kind::Suffix(needle(t)),
            [Part::Star, Part::Lit(t), Part::Star] => Kind::Contains(needle(t)),
            _ => Kind::Glob(Glob::new(parts, cased)),
        };
        Ok(Pattern { kind, cased })
    }

    pub fn is_cased(&self) -> bool {
        self.cased
    }

    /// The literal of an exact pattern, as written.
    pub fn exact(&self) -> Option<&str> {
        match &self.kind {
            Kind::Exact(n) => Some(&n.literal),
            _ => None,
        }
    }

    /// A short name of the test, for the catalog (`ieq`, `i_contains`, `starts_with`, ...).
    pub fn operator(&self) -> &'static str {
        match (&self.kind, self.cased) {
            (Kind::Any, _) => "is_not_null",
            (Kind::Exact(_), false) => "ieq",
            (Kind::Exact(_), true) => "eq",
            (Kind::Prefix(_), false) => "i_starts_with",
            (Kind::Prefix(_), true) => "starts_with",
            (Kind::Suffix(_), false) => "i_ends_with",
            (Kind::Suffix(_), true) => "ends_with",
            (Kind::Contains(_), false) => "i_contains",
            (Kind::Contains(_), true) => "contains",
            (Kind::Glob(_), false) => "i_matches_wildcard",
            (Kind::Glob(_), true) => "matches_wildcard",
        }
    }

    /// True when `hay` matches the whole pattern.
    pub fn matches(&self, hay: &str) -> bool {
        let cased = self.cased;
        match &self.kind {
            Kind::Any => true,
            Kind::Exact(n) if cased => hay == n.text,
            Kind::Prefix(n) if cased => hay.starts_with(n.text.as_str()),
            Kind::Suffix(n) if cased => hay.ends_with(n.text.as_str()),
            Kind::Contains(n) if cased => memmem::find(hay.as_bytes(), n.text.as_bytes()).is_some(),
            Kind::Exact(n) if n.ascii && hay.is_ascii() => hay.eq_ignore_ascii_case(&n.text),
            Kind::Prefix(n) if n.ascii && hay.is_ascii() => {
                let (h, n) = (hay.as_bytes(), n.text.as_bytes());
                h.len() >= n.len() && h[..n.len()].eq_ignore_ascii_case(n)
            }
            Kind::Suffix(n) if n.ascii && hay.is_ascii() => {
                let (h, n) = (hay.as_bytes(), n.text.as_bytes());
                h.len() >= n.len() && h[h.len() - n.len()..].eq_ignore_ascii_case(n)
            }
            Kind::Contains(n) if n.ascii && hay.is_ascii() => {
                ascii_icontains(hay.as_bytes(), n.text.as_bytes())
            }
            Kind::Exact(n) => lit_at(&n.chars, hay, 0, false) == Some(hay.len()),
            Kind::Prefix(n) => lit_at(&n.chars, hay, 0, false).is_some(),
            Kind::Suffix(n) => {
                boundaries(hay, 0).any(|p| lit_at(&n.chars, hay, p, false) == Some(hay.len()))
            }
            Kind::Contains(n) => {
                boundaries(hay, 0).any(|p| lit_at(&n.chars, hay, p, false).is_some())
            }
            Kind::Glob(g) => g.matches(hay, cased),
        }
    }
}

/// Case-insensitive substring search on ASCII text; `needle` is lower case.
fn ascii_icontains(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    if needle.len() > hay.len() {
        return false;
    }
    let starts = &hay[..=hay.len() - needle.len()];
    let at = |i: usize| hay[i..i + needle.len()].eq_ignore_ascii_case(needle);
    if first.is_ascii_alphabetic() {
        memchr2_iter(first, first.to_ascii_uppercase(), starts).any(at)
    } else {
        memchr_iter(first, starts).any(at)
    }
}

/// Byte offsets of every character boundary of `hay` from `from`, the end included.
fn boundaries(hay: &str, from: usize) -> impl Iterator<Item = usize> + '_ {
    hay[from..]
        .char_indices()
        .map(move |(i, _)| from + i)
        .chain(std::iter::once(hay.len()))
}

/// Matches the literal `lit` (folded unless `cased`) at byte `pos` of `hay`; returns where
/// the match ends. Each character of `hay` is folded on its own, so a match never splits one.
fn lit_at(lit: &[char], hay: &str, pos: usize, cased: bool) -> Option<usize> {
    let mut rest = lit;
    for (offset, c) in hay[pos..].char_indices() {
        if rest.is_empty() {
            return Some(pos + offset);
        }
        if cased {
            if rest[0] != c {
                return None;
            }
            rest = &rest[1..];
        } else {
            for f in fold_char(c) {
                match rest.split_first() {
                    Some((&r, more)) if r == f => rest = more,
                    _ => return None,
                }
            }
        }
    }
    rest.is_empty().then_some(hay.len())
}

impl Glob {
    fn new(parts: &[Part], cased: bool) -> Glob {
        let mut runs: Vec<Vec<Tok>> = vec![Vec::new()];
        for part in parts {
            match part {
                Part::Star => runs.push(Vec::new()),
                Part::Lit(t) => {
                    let text = if cased { t.clone() } else { fold(t) };
                    runs.last_mut()
                        .expect("one run")
                        .push(Tok::Lit(text.chars().collect()));
                }
                Part::One => runs.last_mut().expect("one run").push(Tok::One),
                Part::Dash => runs.last_mut().expect("one run").push(Tok::Dash),
                Part::Placeholder(_) => unreachable!("placeholders are rejected before"),
            }
        }
        let has_star = runs.len() > 1;
        let tail = if has_star {
            runs.pop().unwrap_or_default()
        } else {
            Vec::new()
        };
        let head = runs.remove(0);
        Glob {
            head,
            middle: runs.into_iter().filter(|r| !r.is_empty()).collect(),
            tail,
            has_star,
        }
    }

    /// Runs between stars are placed leftmost-first, which is optimal for fixed-width runs.
    fn matches(&self, hay: &str, cased: bool) -> bool {
        let Some(mut pos) = run_at(&self.head, hay, 0, cased) else {
            return false;
        };
        if !self.has_star {
            return pos == hay.len();
        }
        for run in &self.middle {
            match boundaries(hay, pos).find_map(|p| run_at(run, hay, p, cased)) {
                Some(end) => pos = end,
                None => return false,
            }
        }
        boundaries(hay, pos).any(|p| run_at(&self.tail, hay, p, cased) == Some(hay.len()))
    }
}

/// Matches a star-free run of tokens at `pos`; returns where it ends.
fn run_at(run: &[Tok], hay: &str, mut pos: usize, cased: bool) -> Option<usize> {
    for tok in run {
        pos = match tok {
            Tok::Lit(chars) => lit_at(chars, hay, pos, cased)?,
            Tok::One | Tok::Dash => {
                let c = hay[pos..].chars().next()?;
                if matches!(tok, Tok::Dash) && !DASHES.contains(&c) {
                    return None;
                }
                pos + c.len_utf8()
            }
        };
    }
    Some(pos)
}

#[cfg(test)]
#[path = "wildcard_tests.rs"]
mod tests;
