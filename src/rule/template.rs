//! `AlertTitle` templates: text with `{key.path}` placeholders.
//!
//! trailwatch extension: a placeholder may list alternatives separated by `|`, each a key path
//! or a quoted literal, e.g. `{requestParameters.cIDRIP|requestParameters.eC2SecurityGroupName|'<UNKNOWN_SOURCE>'}`.
//! The first alternative that is present and not null or empty is used, like Python's `a or b`.
//! `{{` and `}}` stand for literal braces.

use super::keypath::{Found, KeyPath};
use serde_json::Value;

/// A parsed title template.
#[derive(Debug, Clone)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Placeholder(Vec<Alternative>),
}

#[derive(Debug, Clone)]
enum Alternative {
    Key(KeyPath),
    Literal(String),
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut inner = String::new();
                    let mut closed = false;
                    let mut quote: Option<char> = None;
                    for c in chars.by_ref() {
                        match (quote, c) {
                            (None, '}') => {
                                closed = true;
                                break;
                            }
                            (None, '\'' | '"') => quote = Some(c),
                            (Some(q), c) if c == q => quote = None,
                            _ => {}
                        }
                        inner.push(c);
                    }
                    if !closed {
                        return Err(format!(
                            "AlertTitle `{source}`: `{{` without a closing `}}`"
                        ));
                    }
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Placeholder(parse_placeholder(&inner).map_err(
                        |e| format!("AlertTitle `{source}`: placeholder `{{{inner}}}`: {e}"),
                    )?));
                }
                '}' => {
                    return Err(format!(
                        "AlertTitle `{source}`: `}}` without an opening `{{`"
                    ))
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template { parts })
    }

    /// Renders the template for `event`. A placeholder with no usable alternative renders as
    /// the empty string.
    pub fn render(&self, event: &Value) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Placeholder(alternatives) => {
                    for alt in alternatives {
                        match alt {
                            Alternative::Literal(l) => {
                                out.push_str(l);
                                break;
                            }
                            Alternative::Key(path) => {
                                if let Some(text) = usable_text(&path.find(event)) {
                                    out.push_str(&text);
                                    break;
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Every key path the template reads.
    pub fn paths(&self) -> impl Iterator<Item = &KeyPath> {
        self.parts.iter().flat_map(|p| match p {
            Part::Placeholder(alts) => alts
                .iter()
                .filter_map(|a| match a {
                    Alternative::Key(k) => Some(k),
                    Alternative::Literal(_) => None,
                })
                .collect::<Vec<_>>(),
            Part::Text(_) => Vec::new(),
        })
    }
}

fn parse_placeholder(inner: &str) -> Result<Vec<Alternative>, String> {
    let mut alternatives = Vec::new();
    for raw in split_alternatives(inner) {
        let raw = raw.trim();
        let quoted = raw.len() >= 2
            && ((raw.starts_with('\'') && raw.ends_with('\''))
                || (raw.starts_with('"') && raw.ends_with('"')));
        alternatives.push(if quoted {
            Alternative::Literal(raw[1..raw.len() - 1].to_string())
        } else {
            Alternative::Key(KeyPath::parse(raw)?)
        });
    }
    Ok(alternatives)
}

/// Splits on `|` outside quotes.
fn split_alternatives(inner: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut quote = None;
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '|') => {
                pieces.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&inner[start..]);
    pieces
}

/// The text a found value contributes, or `None` when it is missing, null or empty.
pub fn usable_text(found: &Found<'_>) -> Option<String> {
    match found {
        Found::Missing => None,
        Found::One(v) => value_text(v),
        Found::Many(items) => {
            value_text(&Value::Array(items.iter().map(|v| (*v).clone()).collect()))
        }
    }
}

/// Renders a JSON value as text: strings as they are, other values as compact JSON; null and
/// empty values give `None`.
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(a) if a.is_empty() => None,
        Value::Object(o) if o.is_empty() => None,
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_placeholders_and_fallbacks() {
        let t = Template::parse("SG [{a.b}] from [{c|d|'<NONE>'}] {{x}}").unwrap();
        assert_eq!(
            t.render(&json!({"a": {"b": "sg-1"}, "d": "src"})),
            "SG [sg-1] from [src] {x}"
        );
        assert_eq!(t.render(&json!({"c": ""})), "SG [] from [<NONE>] {x}");
        assert_eq!(t.render(&json!({"c": 5})), "SG [] from [5] {x}");
    }

    #[test]
    fn literals_may_contain_separators() {
        let t = Template::parse("{x|'a|b}'}").unwrap();
        assert_eq!(t.render(&json!({})), "a|b}");
    }

    #[test]
    fn rejects_unbalanced_braces() {
        assert!(Template::parse("a {b").is_err());
        assert!(Template::parse("a } b").is_err());
        assert!(Template::parse("{a..b}").is_err());
    }

    #[test]
    fn lists_paths() {
        let t = Template::parse("{a|b.c|'x'} {d}").unwrap();
        let paths: Vec<String> = t.paths().map(|p| p.to_string()).collect();
        assert_eq!(paths, ["a", "b.c", "d"]);
    }
}
