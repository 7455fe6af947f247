//! Sigma strings: the spec's wildcards and escapes, as the modifiers see them.
//!
//! A value such as `C:\Temp\*.ps1` is a sequence of literal text and wildcards: `*` (any run of
//! characters), `?` (one character); `\*`, `\?` and `\\` write the characters themselves and a
//! backslash before anything else is a plain backslash. [`SigmaStr`] is that sequence; the
//! modifiers add wildcards (`contains`), dash positions (`windash`) and placeholders (`expand`)
//! to it, and [`super::wildcard::Pattern`] compiles the result.

use super::modifiers::Placeholders;

/// One piece of a Sigma string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Lit(String),
    /// `*`: any run of characters, the empty one included.
    Star,
    /// `?`: exactly one character.
    One,
    /// A `windash` position: one of `-`, `/`, `–`, `—`, `―`.
    Dash,
    /// `%name%`, after the `expand` modifier.
    Placeholder(String),
}

/// The characters a `windash` position stands for.
pub const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// A Sigma string value: literal text, wildcards and placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SigmaStr {
    parts: Vec<Part>,
}

impl SigmaStr {
    /// Parses a value as written in a rule, with the spec's wildcards and escapes.
    pub fn parse(raw: &str) -> SigmaStr {
        let mut s = SigmaStr::default();
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek() {
                    Some(&n @ ('*' | '?' | '\\')) => {
                        chars.next();
                        s.push_char(n);
                    }
                    _ => s.push_char('\\'),
                },
                '*' => s.push(Part::Star),
                '?' => s.push(Part::One),
                c => s.push_char(c),
            }
        }
        s
    }

    /// Plain text with no special characters.
    pub fn literal(text: &str) -> SigmaStr {
        let mut s = SigmaStr::default();
        s.push(Part::Lit(text.to_string()));
        s
    }

    /// A string of one part.
    pub fn from_part(part: Part) -> SigmaStr {
        let mut s = SigmaStr::default();
        s.push(part);
        s
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    fn push_char(&mut self, c: char) {
        match self.parts.last_mut() {
            Some(Part::Lit(text)) => text.push(c),
            _ => self.parts.push(Part::Lit(c.to_string())),
        }
    }

    fn push(&mut self, part: Part) {
        match (self.parts.last_mut(), part) {
            (_, Part::Lit(t)) if t.is_empty() => {}
            (Some(Part::Lit(text)), Part::Lit(more)) => text.push_str(&more),
            // `**` is `*`.
            (Some(Part::Star), Part::Star) => {}
            (_, part) => self.parts.push(part),
        }
    }

    /// The text, when the string has no wildcard, dash position or placeholder.
    pub fn plain(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(t) => out.push_str(t),
                _ => return None,
            }
        }
        Some(out)
    }

    pub fn starts_with_star(&self) -> bool {
        self.parts.first() == Some(&Part::Star)
    }

    pub fn ends_with_star(&self) -> bool {
        self.parts.last() == Some(&Part::Star)
    }

    /// `*` + self (the `endswith` and `contains` modifiers), unless it already starts so.
    pub fn prepend_star(&mut self) {
        if !self.starts_with_star() {
            self.parts.insert(0, Part::Star);
        }
    }

    /// self + `*` (the `startswith` and `contains` modifiers), unless it already ends so.
    pub fn append_star(&mut self) {
        if !self.ends_with_star() {
            self.parts.push(Part::Star);
        }
    }

    /// Appends another string (placeholder expansion).
    pub fn append(&mut self, other: &SigmaStr) {
        for p in &other.parts {
            self.push(p.clone());
        }
    }

    /// The `windash` modifier: every `-` or `/` that starts a command-line flag (preceded by
    /// the start of the text or a non-word character, followed by a word character, as pySigma
    /// decides) stands for any of the five dash characters.
    pub fn windash(&self) -> SigmaStr {
        let mut out = SigmaStr::default();
        for part in &self.parts {
            let Part::Lit(text) = part else {
                out.push(part.clone());
                continue;
            };
            let chars: Vec<char> = text.chars().collect();
            for (i, &c) in chars.iter().enumerate() {
                let after_non_word = i == 0 || !is_word(chars[i - 1]);
                let before_word = chars.get(i + 1).is_some_and(|&n| is_word(n));
                if (c == '-' || c == '/') && after_non_word && before_word {
                    out.push(Part::Dash);
                } else {
                    out.push_char(c);
                }
            }
        }
        out
    }

    /// The `expand` modifier: `%name%` becomes a placeholder; `\%` is a plain `%`.
    pub fn insert_placeholders(&self) -> SigmaStr {
        let mut out = SigmaStr::default();
        for part in &self.parts {
            let Part::Lit(text) = part else {
                out.push(part.clone());
                continue;
            };
            let mut rest = text.as_str();
            while let Some(c) = rest.chars().next() {
                if let Some(after) = rest.strip_prefix("\\%") {
                    out.push_char('%');
                    rest = after;
                    continue;
                }
                if c == '%' {
                    if let Some(end) = rest[1..].find('%') {
                        let name = &rest[1..1 + end];
                        if !name.is_empty() && !name.contains('\\') {
                            out.push(Part::Placeholder(name.to_string()));
                            rest = &rest[end + 2..];
                            continue;
                        }
                    }
                }
                out.push_char(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        out
    }
}

/// Python's `\w` for text: a letter, digit or underscore.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl SigmaStr {
    /// Resolves `%name%` placeholders from the rule's values; several values make several
    /// alternatives (their cross product when a string holds several placeholders).
    pub fn expand(&self, placeholders: &Placeholders) -> Result<Vec<SigmaStr>, String> {
        let mut out = vec![SigmaStr::default()];
        for part in self.parts() {
            let pieces: Vec<SigmaStr> = match part {
                Part::Placeholder(name) => placeholders
                    .get(name)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| {
                        format!(
                            "placeholder %{name}% cannot be resolved; define its values under \
                             `trailwatch: {{placeholders: {{{name}: [...]}}}}`"
                        )
                    })?
                    .iter()
                    .map(|v| SigmaStr::parse(v))
                    .collect(),
                other => vec![SigmaStr::from_part(other.clone())],
            };
            out = out
                .iter()
                .flat_map(|prefix| {
                    pieces.iter().map(move |p| {
                        let mut s = prefix.clone();
                        s.append(p);
                        s
                    })
                })
                .collect();
            if out.len() > 1000 {
                return Err("placeholders expand to more than 1000 values".into());
            }
        }
        Ok(out)
    }
}
