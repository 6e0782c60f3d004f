//! Parse and execution errors, formatted like Go's `text/template`.

use std::fmt;

/// A template that does not parse.
///
/// `Display` gives `template: NAME:LINE:COL: MESSAGE` (Go prints only the
/// line; [`ParseError::go_message`] gives Go's exact text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Template name given to [`crate::Template::parse`].
    pub name: String,
    /// 1-based line of the offending token.
    pub line: usize,
    /// 0-based byte column of the offending token within its line.
    pub col: usize,
    /// Message without location, e.g. `function "foo" not defined`.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(name: &str, text: &str, pos: usize, message: String) -> Self {
        let (line, col) = line_col(text, pos);
        ParseError {
            name: name.to_string(),
            line,
            col,
            message,
        }
    }

    /// The message exactly as Go formats it: `template: NAME:LINE: MESSAGE`.
    pub fn go_message(&self) -> String {
        format!("template: {}:{}: {}", self.name, self.line, self.message)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "template: {}:{}:{}: {}",
            self.name, self.line, self.col, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// An error raised while executing a template (never a panic).
///
/// `Display` gives Go's text, e.g.
/// `template: t:1:4: executing "t" at <.n.x>: nil pointer evaluating interface {}.x`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecError {
    /// Full Go-style message.
    pub message: String,
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExecError {}

/// 1-based line and 0-based byte column of `pos` in `text`.
pub(crate) fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let before = &text.as_bytes()[..pos];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let col = match before.iter().rposition(|&b| b == b'\n') {
        Some(nl) => pos - nl - 1,
        None => pos,
    };
    (line, col)
}
