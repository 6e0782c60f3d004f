//! Shell patterns as Go's `filepath.Match` reads them: `*` (any run of characters other
//! than `/`), `?` (one character other than `/`), `[...]` / `[^...]` classes with ranges,
//! and `\` escaping the next character. A malformed pattern is refused when compiled.

use std::fmt;

/// One element of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A literal character.
    Char(char),
    /// `?`.
    Any,
    /// `*`.
    Star,
    /// A class: negated or not, and its ranges (inclusive).
    Class(bool, Vec<(char, char)>),
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    tokens: Vec<Token>,
}

/// Why a pattern is malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPattern(&'static str);

impl fmt::Display for BadPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed pattern: {}", self.0)
    }
}

impl Glob {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Result<Glob, BadPattern> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            match c {
                '*' => tokens.push(Token::Star),
                '?' => tokens.push(Token::Any),
                '\\' => match chars.next() {
                    Some(e) => tokens.push(Token::Char(e)),
                    None => return Err(BadPattern("trailing \\")),
                },
                '[' => tokens.push(class(&mut chars)?),
                c => tokens.push(Token::Char(c)),
            }
        }
        Ok(Glob { tokens })
    }

    /// Whether the whole of `name` matches.
    ///
    /// Only a literal `/` of the pattern matches a `/` of the name, so the pattern and the
    /// name are compared segment by segment; inside a segment `*` backtracks to its last
    /// occurrence only, which keeps the cost at O(pattern × name) whatever the name.
    pub fn matches(&self, name: &str) -> bool {
        let mut segments = self.tokens.split(|t| *t == Token::Char('/'));
        let mut parts = name.split('/');
        loop {
            match (segments.next(), parts.next()) {
                (None, None) => return true,
                (Some(seg), Some(part)) => {
                    let chars: Vec<char> = part.chars().collect();
                    if !match_segment(seg, &chars) {
                        return false;
                    }
                }
                _ => return false,
            }
        }
    }
}

/// Reads a class after its `[`.
fn class(chars: &mut std::str::Chars<'_>) -> Result<Token, BadPattern> {
    let mut negated = false;
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let Some(mut c) = chars.next() else {
            return Err(BadPattern("unterminated ["));
        };
        if first && c == '^' {
            negated = true;
            first = false;
            continue;
        }
        if c == ']' {
            if ranges.is_empty() {
                return Err(BadPattern("empty class"));
            }
            return Ok(Token::Class(negated, ranges));
        }
        first = false;
        if c == '\\' {
            c = chars.next().ok_or(BadPattern("trailing \\"))?;
        }
        let mut lookahead = chars.clone();
        if lookahead.next() == Some('-') {
            match lookahead.next() {
                Some(']') | None => {}
                Some(mut hi) => {
                    if hi == '\\' {
                        hi = lookahead.next().ok_or(BadPattern("trailing \\"))?;
                    }
                    if hi < c {
                        return Err(BadPattern("range out of order"));
                    }
                    *chars = lookahead;
                    ranges.push((c, hi));
                    continue;
                }
            }
        }
        ranges.push((c, c));
    }
}

/// Whether `tokens` (no literal `/` among them) match all of `name` (no `/` in it).
fn match_segment(tokens: &[Token], name: &[char]) -> bool {
    let (mut t, mut n) = (0, 0);
    // The token after the last `*` seen and the name position that star stopped at.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let matched = match tokens.get(t) {
            Some(Token::Star) => {
                star = Some((t + 1, n));
                t += 1;
                continue;
            }
            Some(Token::Any) => true,
            Some(Token::Char(c)) => *c == name[n],
            Some(Token::Class(negated, ranges)) => {
                let inside = ranges
                    .iter()
                    .any(|(lo, hi)| *lo <= name[n] && name[n] <= *hi);
                inside != *negated
            }
            None => false,
        };
        if matched {
            t += 1;
            n += 1;
        } else if let Some((after, from)) = star {
            // Let the last star take one more character and try again.
            t = after;
            n = from + 1;
            star = Some((after, from + 1));
        } else {
            return false;
        }
    }
    tokens[t..].iter().all(|tok| *tok == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, n: &str) -> bool {
        Glob::new(p).unwrap().matches(n)
    }

    #[test]
    fn stars_stop_at_separators() {
        assert!(m("*.log", "a.log"));
        assert!(!m("*.log", "d/a.log"));
        assert!(m("/*/*/*.conf", "/etc/nginx/nginx.conf"));
        assert!(!m("/*/*/*.conf", "/etc/nginx.conf"));
        assert!(m(".git", ".git"));
        assert!(!m(".git", "git"));
    }

    #[test]
    fn question_marks_classes_and_escapes() {
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "a/c"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[^a-c]x", "bx"));
        assert!(m("[^a-c]x", "dx"));
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
    }

    #[test]
    fn many_stars_against_a_long_name_stay_cheap() {
        let name = "a".repeat(20_000);
        let start = std::time::Instant::now();
        assert!(!m("*a*a*a*a*a*b", &name));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for p in ["[abc", "a\\", "[]", "[z-a]"] {
            assert!(Glob::new(p).is_err(), "{p}");
        }
    }
}
