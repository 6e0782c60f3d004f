//! Lexer: splits template text into items the way Go's `text/template/parse`
//! lexer does (delimiters, trim markers, comments, action tokens).

/// Kind of a lexed item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Error,
    Bool,
    Char,
    CharConstant,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // keywords
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl Kind {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            Kind::Block
                | Kind::Break
                | Kind::Continue
                | Kind::Dot
                | Kind::Define
                | Kind::Else
                | Kind::End
                | Kind::If
                | Kind::Nil
                | Kind::Range
                | Kind::Template
                | Kind::With
        )
    }
}

/// One lexed item: kind, byte offset and text (for errors: the message).
#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub kind: Kind,
    pub pos: usize,
    pub val: String,
}

impl Item {
    /// Go's `item.String()`, used in "unexpected X" parse errors.
    pub fn describe(&self) -> String {
        match self.kind {
            Kind::Eof => "EOF".into(),
            Kind::Error => self.val.clone(),
            k if k.is_keyword() => format!("<{}>", self.val),
            _ => {
                if self.val.chars().count() > 10 {
                    let t: String = self.val.chars().take(10).collect();
                    format!("{}...", crate::gofmt::quote(&t))
                } else {
                    crate::gofmt::quote(&self.val)
                }
            }
        }
    }
}

const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";
const TRIM_MARKER_LEN: usize = 2;

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

fn has_left_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

fn has_right_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

/// Go's `%#U` of a rune: `U+0023 '#'`.
pub(crate) fn sharp_u(c: char) -> String {
    if crate::gofmt::is_print(c) {
        format!("U+{:04X} '{}'", c as u32, c)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

struct Lexer<'a> {
    input: &'a str,
    left: &'a str,
    right: &'a str,
    pos: usize,
    start: usize,
    paren_depth: i32,
    items: Vec<Item>,
}

/// Lexes the whole input; the last item is `Eof` or `Error`.
pub(crate) fn lex(input: &str, left: &str, right: &str) -> Vec<Item> {
    let mut l = Lexer {
        input,
        left,
        right,
        pos: 0,
        start: 0,
        paren_depth: 0,
        items: Vec::new(),
    };
    l.run();
    l.items
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn emit(&mut self, kind: Kind) {
        self.items.push(Item {
            kind,
            pos: self.start,
            val: self.input[self.start..self.pos].to_string(),
        });
        self.start = self.pos;
    }

    fn error(&mut self, msg: String) -> bool {
        self.items.push(Item {
            kind: Kind::Error,
            pos: self.start,
            val: msg,
        });
        false
    }

    fn run(&mut self) {
        loop {
            // text
            match self.rest().find(self.left) {
                Some(x) => {
                    let delim_start = self.pos + x;
                    let delim_end = delim_start + self.left.len();
                    let mut text_end = delim_start;
                    if x > 0 && has_left_trim(&self.input[delim_end..]) {
                        let t = &self.input[self.start..text_end];
                        text_end = self.start + t.trim_end_matches(is_space).len();
                    }
                    if text_end > self.start {
                        self.pos = text_end;
                        self.emit(Kind::Text);
                    }
                    self.pos = delim_start;
                    self.start = delim_start;
                    if !self.lex_left_delim() {
                        return;
                    }
                }
                None => {
                    self.pos = self.input.len();
                    if self.pos > self.start {
                        self.emit(Kind::Text);
                    }
                    self.emit(Kind::Eof);
                    return;
                }
            }
        }
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let r = self.rest();
        if has_right_trim(r) && r[TRIM_MARKER_LEN..].starts_with(self.right) {
            return (true, true);
        }
        (r.starts_with(self.right), false)
    }

    /// Returns false when lexing must stop (error).
    fn lex_left_delim(&mut self) -> bool {
        self.pos += self.left.len();
        let trim = has_left_trim(self.rest());
        let after = if trim { TRIM_MARKER_LEN } else { 0 };
        if self.input[self.pos + after..].starts_with(LEFT_COMMENT) {
            self.pos += after;
            self.start = self.pos;
            return self.lex_comment();
        }
        self.items.push(Item {
            kind: Kind::LeftDelim,
            pos: self.start,
            val: self.left.to_string(),
        });
        self.pos += after;
        self.start = self.pos;
        self.paren_depth = 0;
        self.lex_inside_action()
    }

    fn lex_comment(&mut self) -> bool {
        self.pos += LEFT_COMMENT.len();
        let x = match self.rest().find(RIGHT_COMMENT) {
            Some(x) => x,
            None => return self.error("unclosed comment".into()),
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.error("comment ends before closing delimiter".into());
        }
        if trim {
            self.pos += TRIM_MARKER_LEN;
        }
        self.pos += self.right.len();
        if trim {
            let r = self.rest();
            self.pos += r.len() - r.trim_start_matches(is_space).len();
        }
        self.start = self.pos;
        true
    }

    fn lex_right_delim(&mut self, trim: bool) {
        if trim {
            self.pos += TRIM_MARKER_LEN;
            self.start = self.pos;
        }
        self.pos += self.right.len();
        self.emit(Kind::RightDelim);
        if trim {
            let r = self.rest();
            self.pos += r.len() - r.trim_start_matches(is_space).len();
            self.start = self.pos;
        }
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(self.right),
        }
    }

    fn lex_inside_action(&mut self) -> bool {
        loop {
            let (delim, trim) = self.at_right_delim();
            if delim {
                if self.paren_depth == 0 {
                    self.lex_right_delim(trim);
                    return true;
                }
                return self.error("unclosed left paren".into());
            }
            let c = match self.next() {
                None => return self.error("unclosed action".into()),
                Some(c) => c,
            };
            match c {
                c if is_space(c) => {
                    let mut n = 1;
                    while let Some(c) = self.peek() {
                        if !is_space(c) {
                            break;
                        }
                        self.next();
                        n += 1;
                    }
                    let prev = self.pos - 1;
                    if has_right_trim(&self.input[prev..])
                        && self.input[prev + TRIM_MARKER_LEN..].starts_with(self.right)
                    {
                        self.pos = prev;
                        if n == 1 {
                            self.lex_right_delim(true);
                            return true;
                        }
                    }
                    self.emit(Kind::Space);
                }
                '=' => self.emit(Kind::Assign),
                ':' => {
                    if self.next() != Some('=') {
                        return self.error("expected :=".into());
                    }
                    self.emit(Kind::Declare);
                }
                '|' => self.emit(Kind::Pipe),
                '"' => {
                    loop {
                        match self.next() {
                            Some('\\') => match self.next() {
                                Some('\n') | None => {
                                    return self.error("unterminated quoted string".into())
                                }
                                _ => {}
                            },
                            Some('\n') | None => {
                                return self.error("unterminated quoted string".into())
                            }
                            Some('"') => break,
                            _ => {}
                        }
                    }
                    self.emit(Kind::String);
                }
                '`' => {
                    match self.rest().find('`') {
                        Some(x) => self.pos += x + 1,
                        None => return self.error("unterminated raw quoted string".into()),
                    }
                    self.emit(Kind::RawString);
                }
                '$' => {
                    if !self.lex_field_or_var(Kind::Variable) {
                        return false;
                    }
                }
                '\'' => {
                    loop {
                        match self.next() {
                            Some('\\') => match self.next() {
                                Some('\n') | None => {
                                    return self.error("unterminated character constant".into())
                                }
                                _ => {}
                            },
                            Some('\n') | None => {
                                return self.error("unterminated character constant".into())
                            }
                            Some('\'') => break,
                            _ => {}
                        }
                    }
                    self.emit(Kind::CharConstant);
                }
                '.' => {
                    let digit_next = matches!(self.peek(), Some('0'..='9'));
                    if !digit_next {
                        if !self.lex_field_or_var(Kind::Field) {
                            return false;
                        }
                    } else {
                        self.pos -= 1;
                        if !self.lex_number() {
                            return false;
                        }
                    }
                }
                '+' | '-' | '0'..='9' => {
                    self.pos -= 1;
                    if !self.lex_number() {
                        return false;
                    }
                }
                c if is_alnum(c) => {
                    while let Some(c) = self.peek() {
                        if !is_alnum(c) {
                            break;
                        }
                        self.next();
                    }
                    let word = &self.input[self.start..self.pos];
                    if !self.at_terminator() {
                        let bad = self.peek().unwrap_or(' ');
                        return self.error(format!("bad character {}", sharp_u(bad)));
                    }
                    let kind = match word {
                        "block" => Kind::Block,
                        "break" => Kind::Break,
                        "continue" => Kind::Continue,
                        "define" => Kind::Define,
                        "else" => Kind::Else,
                        "end" => Kind::End,
                        "if" => Kind::If,
                        "range" => Kind::Range,
                        "nil" => Kind::Nil,
                        "template" => Kind::Template,
                        "with" => Kind::With,
                        "true" | "false" => Kind::Bool,
                        _ => Kind::Identifier,
                    };
                    self.emit(kind);
                }
                '(' => {
                    self.emit(Kind::LeftParen);
                    self.paren_depth += 1;
                }
                ')' => {
                    self.emit(Kind::RightParen);
                    self.paren_depth -= 1;
                    if self.paren_depth < 0 {
                        return self.error("unexpected right paren".into());
                    }
                }
                c if c.is_ascii() && !c.is_ascii_control() => self.emit(Kind::Char),
                c => {
                    return self.error(format!("unrecognized character in action: {}", sharp_u(c)))
                }
            }
        }
    }

    fn lex_field_or_var(&mut self, kind: Kind) -> bool {
        if self.at_terminator() {
            self.emit(if kind == Kind::Variable {
                Kind::Variable
            } else {
                Kind::Dot
            });
            return true;
        }
        while let Some(c) = self.peek() {
            if !is_alnum(c) {
                break;
            }
            self.next();
        }
        if !self.at_terminator() {
            let bad = self.peek().unwrap_or(' ');
            return self.error(format!("bad character {}", sharp_u(bad)));
        }
        self.emit(kind);
        true
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.next();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn lex_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if matches!(self.peek(), Some(c) if is_alnum(c)) {
            self.next();
            let text = self.input[self.start..self.pos].to_string();
            return self.error(format!("bad number syntax: {}", crate::gofmt::quote(&text)));
        }
        self.emit(Kind::Number);
        true
    }
}
