//! The `condition` of a Sigma rule: search identifiers combined with `and`, `or`, `not`,
//! parentheses and the selectors `1 of` / `any of` / `all of` over a name pattern or `them`.
//!
//! Precedence, least to most binding: `or`, `and`, `not`, `x of`, parentheses. Keywords are
//! lower case, as in pySigma. A name pattern matches whole identifiers with `*` standing for
//! any run of characters; `them` and patterns that do not start with `_` leave out identifiers
//! that start with `_`. The parsed condition is resolved against the rule's identifiers into a
//! [`Logic`] tree of indices, so evaluation never looks a name up.

/// A condition as parsed, before its names are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    Id(String),
    /// `1 of pattern` / `any of pattern` (`all == false`), `all of pattern`.
    Of {
        all: bool,
        pattern: String,
    },
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

/// A resolved condition: search identifiers are indices into the rule's searches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Logic {
    Search(usize),
    Not(Box<Logic>),
    And(Vec<Logic>),
    Or(Vec<Logic>),
}

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 64;

/// Parses one condition string.
pub fn parse(text: &str) -> Result<Cond, String> {
    if text.contains('|') {
        return Err("the pipe syntax (`| count() ...` aggregations) is not supported; Sigma replaced it with correlation rules, which trailwatch does not run".into());
    }
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err("the condition is empty".into());
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let cond = parser.or()?;
    match parser.tokens.get(parser.pos) {
        None => Ok(cond),
        Some(t) => Err(format!("unexpected `{t}` in condition `{text}`")),
    }
}

fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || matches!(c, '_' | '-' | '*') {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            tokens.push(std::mem::take(&mut word));
        }
        match c {
            '(' | ')' => tokens.push(c.to_string()),
            c if c.is_whitespace() => {}
            c => return Err(format!("unexpected character `{c}` in condition `{text}`")),
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<String>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }

    fn next(&mut self) -> Option<String> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Cond, String> {
        let mut terms = vec![self.and()?];
        while self.peek() == Some("or") {
            self.pos += 1;
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Cond::Or(terms)
        })
    }

    fn and(&mut self) -> Result<Cond, String> {
        let mut terms = vec![self.not()?];
        while self.peek() == Some("and") {
            self.pos += 1;
            terms.push(self.not()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Cond::And(terms)
        })
    }

    fn not(&mut self) -> Result<Cond, String> {
        if self.peek() == Some("not") {
            self.pos += 1;
            return self.nested(|p| p.not()).map(|c| Cond::Not(Box::new(c)));
        }
        self.primary()
    }

    fn nested(
        &mut self,
        f: impl FnOnce(&mut Parser) -> Result<Cond, String>,
    ) -> Result<Cond, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!(
                "the condition nests deeper than {MAX_DEPTH} levels"
            ));
        }
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn primary(&mut self) -> Result<Cond, String> {
        let Some(token) = self.next() else {
            return Err("the condition ends too early".into());
        };
        match token.as_str() {
            "(" => {
                let inner = self.nested(|p| p.or())?;
                match self.next().as_deref() {
                    Some(")") => Ok(inner),
                    _ => Err("missing `)` in condition".into()),
                }
            }
            ")" => Err("unexpected `)` in condition".into()),
            "and" | "or" | "not" | "of" => Err(format!("unexpected `{token}` in condition")),
            "1" | "any" | "all" if self.peek() == Some("of") => {
                self.pos += 1;
                match self.next() {
                    Some(pattern) if pattern != "(" && pattern != ")" => Ok(Cond::Of {
                        all: token == "all",
                        pattern,
                    }),
                    _ => Err(format!("`{token} of` needs a name pattern or `them`")),
                }
            }
            name if name.contains('*') => Err(format!(
                "`{name}` has a wildcard; write `1 of {name}` or `all of {name}`"
            )),
            name => Ok(Cond::Id(name.to_string())),
        }
    }
}

/// True when identifier `name` is selected by `pattern` (`them`, or `*` wildcards).
fn selects(pattern: &str, name: &str) -> bool {
    if pattern == "them" {
        return !name.starts_with('_');
    }
    if name.starts_with('_') && !pattern.starts_with('_') {
        return false;
    }
    let pieces: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = pieces.split_first().expect("split yields one piece");
    let Some(mut tail) = name.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return tail.is_empty();
    };
    for piece in middle {
        match tail.find(piece) {
            Some(i) => tail = &tail[i + piece.len()..],
            None => return false,
        }
    }
    tail.len() >= last.len() && tail.ends_with(last)
}

/// Resolves names against the rule's search identifiers (in file order).
pub fn resolve(cond: &Cond, names: &[String]) -> Result<Logic, String> {
    Ok(match cond {
        Cond::Id(name) => Logic::Search(
            names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| format!("the condition names `{name}`, which is not a search identifier of this rule (defined: {})", names.join(", ")))?,
        ),
        Cond::Of { all, pattern } => {
            let picked: Vec<Logic> = (0..names.len())
                .filter(|&i| selects(pattern, &names[i]))
                .map(Logic::Search)
                .collect();
            if picked.is_empty() {
                let q = if *all { "all" } else { "1" };
                return Err(format!("`{q} of {pattern}` matches no search identifier"));
            }
            if *all { Logic::And(picked) } else { Logic::Or(picked) }
        }
        Cond::Not(inner) => Logic::Not(Box::new(resolve(inner, names)?)),
        Cond::And(c) => Logic::And(c.iter().map(|c| resolve(c, names)).collect::<Result<_, _>>()?),
        Cond::Or(c) => Logic::Or(c.iter().map(|c| resolve(c, names)).collect::<Result<_, _>>()?),
    })
}

#[cfg(test)]
#[path = "condition_tests.rs"]
mod tests;
