//! `AlertTitle` templates: text with `{key.path}` placeholders.
//!
//! trailwatch extension: a placeholder may list alternatives separated by `|`, each a key path
//! or a quoted literal, e.g. `{requestParameters.cIDRIP|requestParameters.eC2SecurityGroupName|'<UNKNOWN_SOURCE>'}`.
//! The first alternative that is present and not null or empty is used, like Python's `a or b`.
//! `{{` and `}}` stand for literal braces.
//!
//! trailwatch extension: an alternative may also be a function of a key path, for the string
//! handling Python rules do in their titles: `split(path, 'sep', index)` (the index-th piece,
//! negative counts from the end), `lower(path)`, `upper(path)`, `replace(path, 'from', 'to')`,
//! `trim_prefix(path, 'p')`, `trim_suffix(path, 's')`. A function of a missing value is missing.

use super::keypath::{Found, KeyPath};
use serde_json::Value;

/// A parsed title template.
#[derive(Debug, Clone)]
pub struct Template {
    source: String,
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
    Call(Call),
}

/// A string function applied to the text at a key path.
#[derive(Debug, Clone)]
enum Call {
    Split(KeyPath, String, i64),
    Lower(KeyPath),
    Upper(KeyPath),
    Replace(KeyPath, String, String),
    TrimPrefix(KeyPath, String),
    TrimSuffix(KeyPath, String),
}

impl Call {
    fn path(&self) -> &KeyPath {
        match self {
            Call::Split(p, ..)
            | Call::Lower(p)
            | Call::Upper(p)
            | Call::Replace(p, ..)
            | Call::TrimPrefix(p, _)
            | Call::TrimSuffix(p, _) => p,
        }
    }

    fn apply(&self, event: &Value) -> Option<String> {
        let text = usable_text(&self.path().find(event))?;
        let out = match self {
            Call::Split(_, sep, index) => {
                let pieces: Vec<&str> = text.split(sep.as_str()).collect();
                let i = if *index < 0 {
                    pieces.len().checked_sub(index.unsigned_abs() as usize)?
                } else {
                    *index as usize
                };
                pieces.get(i)?.to_string()
            }
            Call::Lower(_) => text.to_lowercase(),
            Call::Upper(_) => text.to_uppercase(),
            Call::Replace(_, from, to) => text.replace(from.as_str(), to),
            Call::TrimPrefix(_, p) => text.strip_prefix(p.as_str()).unwrap_or(&text).to_string(),
            Call::TrimSuffix(_, s) => text.strip_suffix(s.as_str()).unwrap_or(&text).to_string(),
        };
        (!out.is_empty()).then_some(out)
    }

    /// Parses `name(path, 'arg', ...)`.
    fn parse(text: &str) -> Result<Call, String> {
        let open = text.find('(').ok_or("expected `(`")?;
        let inner = text[open + 1..]
            .strip_suffix(')')
            .ok_or_else(|| format!("`{text}`: missing `)`"))?;
        let name = text[..open].trim();
        let args = split_outside_quotes(inner, ',');
        let first = args.first().map(|a| a.trim()).unwrap_or("");
        if first.contains('(') || unquote(first).is_some() {
            return Err(format!(
                "{name}: the first argument must be a key path (functions do not nest)"
            ));
        }
        let path = KeyPath::parse(first)?;
        let string = |i: usize| -> Result<String, String> {
            let a = args.get(i).map(|a| a.trim()).unwrap_or("");
            unquote(a).ok_or_else(|| format!("{name}: argument {} must be a quoted string", i + 1))
        };
        let arity = |n: usize| -> Result<(), String> {
            if args.len() == n {
                Ok(())
            } else {
                Err(format!("{name} takes {n} argument(s), got {}", args.len()))
            }
        };
        Ok(match name {
            "split" => {
                arity(3)?;
                let index = args[2]
                    .trim()
                    .parse()
                    .map_err(|_| "split: the third argument must be an integer index".to_string())?;
                Call::Split(path, string(1)?, index)
            }
            "lower" => arity(1).map(|()| Call::Lower(path))?,
            "upper" => arity(1).map(|()| Call::Upper(path))?,
            "replace" => {
                arity(3)?;
                Call::Replace(path, string(1)?, string(2)?)
            }
            "trim_prefix" => {
                arity(2)?;
                Call::TrimPrefix(path, string(1)?)
            }
            "trim_suffix" => {
                arity(2)?;
                Call::TrimSuffix(path, string(1)?)
            }
            other => {
                return Err(format!(
                    "unknown function `{other}`; functions: split, lower, upper, replace, trim_prefix, trim_suffix"
                ))
            }
        })
    }
}

fn unquote(raw: &str) -> Option<String> {
    let quoted = raw.len() >= 2
        && ((raw.starts_with('\'') && raw.ends_with('\''))
            || (raw.starts_with('"') && raw.ends_with('"')));
    quoted.then(|| raw[1..raw.len() - 1].to_string())
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
        Ok(Template {
            source: source.to_string(),
            parts,
        })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
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
                            Alternative::Call(call) => {
                                if let Some(text) = call.apply(event) {
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
                    Alternative::Call(c) => Some(c.path()),
                    Alternative::Literal(_) => None,
                })
                .collect::<Vec<_>>(),
            Part::Text(_) => Vec::new(),
        })
    }
}

fn parse_placeholder(inner: &str) -> Result<Vec<Alternative>, String> {
    let mut alternatives = Vec::new();
    for raw in split_outside_quotes(inner, '|') {
        let raw = raw.trim();
        alternatives.push(if let Some(literal) = unquote(raw) {
            Alternative::Literal(literal)
        } else if raw.ends_with(')') && raw.contains('(') {
            Alternative::Call(Call::parse(raw)?)
        } else {
            Alternative::Key(KeyPath::parse(raw)?)
        });
    }
    Ok(alternatives)
}

/// Splits on `sep` outside quotes and parentheses.
fn split_outside_quotes(inner: &str, sep: char) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut quote = None;
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '(') => depth += 1,
            (None, ')') => depth = depth.saturating_sub(1),
            (None, c) if c == sep && depth == 0 => {
                pieces.push(&inner[start..i]);
                start = i + c.len_utf8();
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
    fn string_functions() {
        let e = json!({"arn": "arn:aws:sts::1:assumed-role/Admin/alice", "src": "s3.amazonaws.com", "k": "a|b"});
        let t = |s: &str| Template::parse(s).unwrap().render(&e);
        assert_eq!(t("{split(arn, '/', -1)}"), "alice");
        assert_eq!(t("{split(arn, '/', 1)}"), "Admin");
        assert_eq!(t("{split(src, '.', 0)}"), "s3");
        assert_eq!(t("{split(src, '.', 9)|'none'}"), "none");
        assert_eq!(t("{upper(src)}"), "S3.AMAZONAWS.COM");
        assert!(Template::parse("{upper(split(src, '.', 0))}").is_err());
        assert_eq!(t("{replace(k, '|', '/')}"), "a/b");
        assert_eq!(t("{trim_suffix(src, '.amazonaws.com')}"), "s3");
        assert_eq!(t("{lower(missing)|'x'}"), "x");
        assert!(Template::parse("{nope(a)}").is_err());
        assert!(Template::parse("{split(a, '/')}").is_err());
        assert!(Template::parse("{split(a, '/', x)}").is_err());
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
