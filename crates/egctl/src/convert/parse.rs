//! nginx configuration syntax: a tokenizer and a parser into a tree of directives that
//! remember where they were written (file, line, column).
//!
//! The grammar is nginx's: words separated by white space, `;` ending a simple directive,
//! `{ … }` holding a block, `#` starting a comment, single or double quotes around words
//! with `\"`, `\'`, `\\`, `\n`, `\r`, `\t` escapes, and `${name}` kept whole inside a word.

use std::fmt;
use std::rc::Rc;

/// Where something was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pos {
    /// The file, as it was opened.
    pub file: Rc<str>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One directive: `name args… ;` or `name args… { block }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The first word.
    pub name: String,
    /// The other words, unquoted and unescaped.
    pub args: Vec<String>,
    /// The directives inside `{ … }`, when it has a block.
    pub block: Option<Vec<Directive>>,
    /// Where the first word starts.
    pub pos: Pos,
}

impl Directive {
    /// The directives of its block (none for a simple directive).
    pub fn children(&self) -> &[Directive] {
        self.block.as_deref().unwrap_or_default()
    }

    /// `name arg1 arg2` as written, for messages.
    pub fn text(&self) -> String {
        let mut s = self.name.clone();
        for a in &self.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }
}

/// A syntax error, at `file:line:column`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where it was found.
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.pos;
        write!(f, "{}:{}:{}: {}", p.file, p.line, p.column, self.message)
    }
}

/// What the tokenizer produces.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// A word (quoted or not), already unescaped.
    Word(String),
    /// `;`
    Semicolon,
    /// `{`
    Open,
    /// `}`
    Close,
}

/// A token and where it starts.
#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    line: usize,
    column: usize,
}

/// Splits nginx configuration text into tokens.
struct Tokenizer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
    column: usize,
    file: Rc<str>,
}

impl<'a> Tokenizer<'a> {
    fn new(text: &'a str, file: Rc<str>) -> Self {
        Tokenizer {
            chars: text.chars().peekable(),
            line: 1,
            column: 1,
            file,
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn error(&self, line: usize, column: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            pos: Pos {
                file: self.file.clone(),
                line,
                column,
            },
            message: message.into(),
        }
    }

    /// The next token, `None` at the end of the text.
    fn next_token(&mut self) -> Result<Option<Token>, SyntaxError> {
        loop {
            match self.chars.peek() {
                None => return Ok(None),
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('#') => {
                    while let Some(c) = self.bump() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                Some(_) => break,
            }
        }
        let (line, column) = (self.line, self.column);
        let token = |kind| Ok(Some(Token { kind, line, column }));
        match self.chars.peek().copied() {
            Some(';') => {
                self.bump();
                token(Kind::Semicolon)
            }
            Some('{') => {
                self.bump();
                token(Kind::Open)
            }
            Some('}') => {
                self.bump();
                token(Kind::Close)
            }
            Some(q @ ('"' | '\'')) => {
                self.bump();
                let word = self.quoted(q, line, column)?;
                token(Kind::Word(word))
            }
            _ => token(Kind::Word(self.bare_word())),
        }
    }

    /// The rest of a quoted word, after its opening quote.
    fn quoted(&mut self, quote: char, line: usize, column: usize) -> Result<String, SyntaxError> {
        let mut word = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error(line, column, "unterminated quoted string")),
                Some('\\') => match self.bump() {
                    Some(c) => push_escaped(&mut word, c),
                    None => return Err(self.error(line, column, "unterminated quoted string")),
                },
                Some(c) if c == quote => break,
                Some(c) => word.push(c),
            }
        }
        match self.chars.peek().copied() {
            None | Some(';' | '{' | '}') => Ok(word),
            Some(c) if c.is_whitespace() => Ok(word),
            Some(c) => Err(self.error(
                self.line,
                self.column,
                format!("unexpected \"{c}\" after a quoted string"),
            )),
        }
    }

    /// A word without quotes: up to white space, `;`, `{` or `}` (but `${name}` stays whole).
    fn bare_word(&mut self) -> String {
        let mut word = String::new();
        let mut in_variable = false;
        while let Some(c) = self.chars.peek().copied() {
            match c {
                '{' if word.ends_with('$') => in_variable = true,
                '}' if in_variable => in_variable = false,
                ';' | '{' | '}' => break,
                c if c.is_whitespace() => break,
                '\\' => {
                    self.bump();
                    match self.chars.peek().copied() {
                        Some(next) if !next.is_whitespace() => {
                            self.bump();
                            push_escaped(&mut word, next);
                        }
                        _ => word.push('\\'),
                    }
                    continue;
                }
                _ => {}
            }
            self.bump();
            word.push(c);
        }
        word
    }
}

/// Appends the character escaped by a backslash: nginx turns `\"`, `\'`, `\\`, `\n`, `\r`,
/// `\t` into one character and keeps any other backslash (regular expressions need it).
fn push_escaped(word: &mut String, c: char) {
    match c {
        '"' | '\'' | '\\' => word.push(c),
        'n' => word.push('\n'),
        'r' => word.push('\r'),
        't' => word.push('\t'),
        other => {
            word.push('\\');
            word.push(other);
        }
    }
}

/// Parses the configuration text of `file` into its top-level directives.
pub fn parse(text: &str, file: &str) -> Result<Vec<Directive>, SyntaxError> {
    let file: Rc<str> = Rc::from(file);
    let mut tokens = Tokenizer::new(text, file.clone());
    // Open blocks: the directive that opened each, and the directives read so far inside it.
    let mut stack: Vec<(Option<Directive>, Vec<Directive>)> = vec![(None, Vec::new())];
    let mut words: Vec<(String, usize, usize)> = Vec::new();
    let pos = |line, column| Pos {
        file: file.clone(),
        line,
        column,
    };
    while let Some(t) = tokens.next_token()? {
        match t.kind {
            Kind::Word(w) => words.push((w, t.line, t.column)),
            Kind::Semicolon | Kind::Open => {
                let mut it = std::mem::take(&mut words).into_iter();
                let Some((name, line, column)) = it.next() else {
                    let c = if t.kind == Kind::Semicolon { ';' } else { '{' };
                    return Err(tokens.error(t.line, t.column, format!("unexpected \"{c}\"")));
                };
                let d = Directive {
                    name,
                    args: it.map(|(w, _, _)| w).collect(),
                    block: None,
                    pos: pos(line, column),
                };
                if t.kind == Kind::Open {
                    stack.push((Some(d), Vec::new()));
                } else if let Some((_, list)) = stack.last_mut() {
                    list.push(d);
                }
            }
            Kind::Close => {
                if let Some((w, line, column)) = words.first() {
                    let msg = format!("directive \"{w}\" is not terminated by \";\"");
                    return Err(tokens.error(*line, *column, msg));
                }
                if stack.len() == 1 {
                    return Err(tokens.error(t.line, t.column, "unexpected \"}\""));
                }
                if let Some((Some(mut d), list)) = stack.pop() {
                    d.block = Some(list);
                    if let Some((_, parent)) = stack.last_mut() {
                        parent.push(d);
                    }
                }
            }
        }
    }
    if let Some((w, line, column)) = words.first() {
        let msg = format!("unexpected end of file, directive \"{w}\" is not terminated by \";\"");
        return Err(tokens.error(*line, *column, msg));
    }
    match stack.pop() {
        Some((None, list)) => Ok(list),
        Some((Some(open), _)) => Err(tokens.error(
            open.pos.line,
            open.pos.column,
            format!(
                "unexpected end of file, block \"{}\" is not closed",
                open.name
            ),
        )),
        None => Ok(Vec::new()),
    }
}
