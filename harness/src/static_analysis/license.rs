//! SPDX licence expressions (`MIT OR Apache-2.0`, `(MIT OR Apache-2.0) AND Unicode-3.0`,
//! `Apache-2.0 WITH LLVM-exception`) judged against an allow-list: `OR` passes if either side
//! does, `AND` only if both do. Cargo's old `MIT/Apache-2.0` reads as `OR`.

/// The licences a plugin's dependencies may have by default: permissive ones.
pub const DEFAULT_ALLOWED_LICENSES: &[&str] = &[
    "MIT",
    "Apache-2.0",
    "Apache-2.0 WITH LLVM-exception",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Zlib",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "0BSD",
    "CC0-1.0",
    "Unlicense",
    "MPL-2.0",
    "BSL-1.0",
];

/// A parsed licence expression.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expression {
    /// A licence id, with an exception (`WITH`) if there is one; a trailing `+` is dropped.
    License {
        id: String,
        exception: Option<String>,
    },
    And(Box<Expression>, Box<Expression>),
    Or(Box<Expression>, Box<Expression>),
}

/// Whether `expression` is satisfied by the licences in `allowed` (ids compared without
/// regard to case). `Err` says why the expression does not parse.
pub fn license_allowed(expression: &str, allowed: &[&str]) -> Result<bool, String> {
    let parsed = parse(expression)?;
    Ok(satisfied(&parsed, allowed))
}

fn satisfied(expression: &Expression, allowed: &[&str]) -> bool {
    match expression {
        Expression::License { id, exception } => {
            let is_allowed =
                |candidate: &str| allowed.iter().any(|a| a.eq_ignore_ascii_case(candidate));
            // An exception only adds permissions: `X WITH E` passes when `X` alone does.
            is_allowed(id)
                || exception
                    .as_ref()
                    .is_some_and(|exception| is_allowed(&format!("{id} WITH {exception}")))
        }
        Expression::And(left, right) => satisfied(left, allowed) && satisfied(right, allowed),
        Expression::Or(left, right) => satisfied(left, allowed) || satisfied(right, allowed),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    With,
    Id(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, tokens: &mut Vec<Token>| {
        if word.is_empty() {
            return;
        }
        let token = match word.to_ascii_uppercase().as_str() {
            "AND" => Token::And,
            "OR" => Token::Or,
            "WITH" => Token::With,
            _ => Token::Id(word.clone()),
        };
        tokens.push(token);
        word.clear();
    };
    for c in text.chars() {
        match c {
            '(' | ')' | '/' => {
                flush(&mut word, &mut tokens);
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Or,
                });
            }
            c if c.is_whitespace() => flush(&mut word, &mut tokens),
            c if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+' | ':') => word.push(c),
            other => return Err(format!("unexpected character {other:?}")),
        }
    }
    flush(&mut word, &mut tokens);
    Ok(tokens)
}

/// Parses with SPDX precedence: `WITH` binds tightest, then `AND`, then `OR`.
fn parse(text: &str) -> Result<Expression, String> {
    let tokens = tokenize(text)?;
    if tokens.len() > 256 {
        return Err("too long".into());
    }
    let mut parser = Parser {
        tokens: &tokens,
        position: 0,
        depth: 0,
    };
    let expression = parser.or()?;
    match parser.tokens.get(parser.position) {
        None => Ok(expression),
        Some(token) => Err(format!("unexpected {token:?}")),
    }
}

struct Parser<'a> {
    tokens: &'a [Token],
    position: usize,
    depth: usize,
}

impl Parser<'_> {
    fn next(&mut self) -> Option<&Token> {
        let token = self.tokens.get(self.position);
        self.position += 1;
        token
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn or(&mut self) -> Result<Expression, String> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.position += 1;
            left = Expression::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expression, String> {
        let mut left = self.atom()?;
        while self.peek() == Some(&Token::And) {
            self.position += 1;
            left = Expression::And(Box::new(left), Box::new(self.atom()?));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Expression, String> {
        match self.next().cloned() {
            Some(Token::Open) => {
                self.depth += 1;
                if self.depth > 16 {
                    return Err("too deeply nested".into());
                }
                let inner = self.or()?;
                self.depth -= 1;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("missing `)`".into()),
                }
            }
            Some(Token::Id(id)) => {
                let id = id.strip_suffix('+').unwrap_or(&id).to_owned();
                let exception = if self.peek() == Some(&Token::With) {
                    self.position += 1;
                    match self.next() {
                        Some(Token::Id(exception)) => Some(exception.clone()),
                        _ => return Err(format!("`{id} WITH` names no exception")),
                    }
                } else {
                    None
                };
                Ok(Expression::License { id, exception })
            }
            Some(token) => Err(format!("expected a licence, found {token:?}")),
            None => Err("expected a licence, found the end".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(expression: &str) -> Result<bool, String> {
        license_allowed(expression, DEFAULT_ALLOWED_LICENSES)
    }

    #[test]
    fn expressions_of_the_example_plugins_dependencies_pass() {
        for expression in [
            "MIT OR Apache-2.0",
            "Apache-2.0 OR MIT",
            "MIT/Apache-2.0",
            "Zlib",
            "Unlicense OR MIT",
            "(MIT OR Apache-2.0) AND Unicode-3.0",
            "Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT",
            "Apache-2.0 WITH LLVM-exception",
            "mit or apache-2.0",
            "MPL-2.0+",
        ] {
            assert_eq!(allowed(expression), Ok(true), "{expression}");
        }
    }

    #[test]
    fn or_needs_one_side_and_needs_both() {
        assert_eq!(allowed("GPL-3.0-only OR MIT"), Ok(true));
        assert_eq!(allowed("GPL-3.0-only AND MIT"), Ok(false));
        assert_eq!(allowed("GPL-3.0-only"), Ok(false));
        assert_eq!(allowed("MIT AND (GPL-2.0-only OR BSD-3-Clause)"), Ok(true));
        assert_eq!(
            allowed("GPL-2.0-only WITH Classpath-exception-2.0"),
            Ok(false)
        );
        assert_eq!(allowed("AGPL-3.0-or-later"), Ok(false));
    }

    #[test]
    fn malformed_expressions_are_errors() {
        for expression in [
            "",
            "MIT OR",
            "(MIT",
            "MIT)",
            "MIT WITH",
            "MIT; rm -rf",
            "AND",
        ] {
            assert!(allowed(expression).is_err(), "{expression}");
        }
    }
}
