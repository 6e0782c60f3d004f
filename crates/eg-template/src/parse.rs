//! Parser: turns lexed items into the template tree, with Go's checks
//! (undefined functions and variables, misplaced `else`/`end`/`break`).

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use crate::error::ParseError;
use crate::funcs::{FuncDef, FuncTable};
use crate::lex::{lex, Item, Kind};
use crate::value::Str;

/// A node of a template body.
pub(crate) enum Node {
    Text(Box<str>),
    Action(Pipe),
    If(Box<Branch>),
    With(Box<Branch>),
    Range(Box<Branch>),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

/// `if`/`with`/`range` with their bodies.
pub(crate) struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

/// A pipeline with optional variable declarations.
pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<Str>,
    pub cmds: Vec<Cmd>,
}

/// One stage of a pipeline.
pub(crate) struct Cmd {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// A numeric constant with every interpretation Go's parser derives.
pub(crate) struct Number {
    pub text: Box<str>,
    pub int: Option<i64>,
    pub uint: Option<u64>,
    pub float: Option<f64>,
    /// Whether the constant is used as a float64 in untyped context.
    pub float_literal: bool,
}

/// An operand.
pub(crate) enum Arg {
    Dot(usize),
    Nil(usize),
    Bool(usize, bool),
    Number(usize, Box<Number>),
    Str(usize, Str, Box<str>),
    Field(usize, Vec<Str>),
    Variable(usize, Vec<Str>),
    Func(usize, Arc<FuncDef>),
    Chain(usize, Box<Arg>, Vec<Str>),
    Pipe(Box<Pipe>),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Dot(p)
            | Arg::Nil(p)
            | Arg::Bool(p, _)
            | Arg::Number(p, _)
            | Arg::Str(p, ..)
            | Arg::Field(p, _)
            | Arg::Variable(p, _)
            | Arg::Func(p, _)
            | Arg::Chain(p, ..) => *p,
            Arg::Pipe(p) => p.pos,
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Dot(_) => f.write_str("."),
            Arg::Nil(_) => f.write_str("nil"),
            Arg::Bool(_, b) => write!(f, "{b}"),
            Arg::Number(_, n) => f.write_str(&n.text),
            Arg::Str(_, _, q) => f.write_str(q),
            Arg::Field(_, ids) => {
                for id in ids {
                    write!(f, ".{id}")?;
                }
                Ok(())
            }
            Arg::Variable(_, ids) => {
                for (i, id) in ids.iter().enumerate() {
                    if i > 0 {
                        f.write_char('.')?;
                    }
                    f.write_str(id)?;
                }
                Ok(())
            }
            Arg::Func(_, d) => f.write_str(&d.name),
            Arg::Chain(_, node, fields) => {
                if let Arg::Pipe(_) = **node {
                    write!(f, "({node})")?;
                } else {
                    write!(f, "{node}")?;
                }
                for id in fields {
                    write!(f, ".{id}")?;
                }
                Ok(())
            }
            Arg::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_char(' ')?;
            }
            if let Arg::Pipe(_) = a {
                write!(f, "({a})")?;
            } else {
                write!(f, "{a}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            for (i, d) in self.decl.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                f.write_str(d)?;
            }
            f.write_str(" := ")?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// Result of parsing: the main body and `define`d templates.
pub(crate) struct Parsed {
    pub root: Vec<Node>,
    pub defs: HashMap<String, Arc<Vec<Node>>>,
}

/// Parses `text` with the given delimiters and function table.
pub(crate) fn parse(
    name: &str,
    text: &str,
    left: &str,
    right: &str,
    funcs: &FuncTable,
) -> Result<Parsed, ParseError> {
    let items = lex(text, left, right);
    let mut p = Parser {
        name,
        text,
        items,
        i: 0,
        vars: vec![Arc::from("$")],
        range_depth: 0,
        funcs,
        defs: HashMap::new(),
        last_pos: 0,
    };
    let root = p.parse_top()?;
    Ok(Parsed { root, defs: p.defs })
}

/// Maximum nesting of parenthesised pipelines and control structures,
/// which bounds parser recursion.
const MAX_NESTING: usize = 1000;

struct Parser<'a> {
    name: &'a str,
    text: &'a str,
    items: Vec<Item>,
    i: usize,
    vars: Vec<Str>,
    range_depth: usize,
    funcs: &'a FuncTable,
    defs: HashMap<String, Arc<Vec<Node>>>,
    last_pos: usize,
}

type PResult<T> = Result<T, ParseError>;

/// The item returned past the end: the lexer always ends with Eof or Error.
fn eof_item(pos: usize) -> Item {
    Item {
        kind: Kind::Eof,
        pos,
        val: String::new(),
    }
}

impl<'a> Parser<'a> {
    fn err<T>(&self, msg: String) -> PResult<T> {
        Err(ParseError::new(self.name, self.text, self.last_pos, msg))
    }

    fn next(&mut self) -> Item {
        let it = self
            .items
            .get(self.i)
            .cloned()
            .unwrap_or_else(|| eof_item(self.text.len()));
        if self.i < self.items.len() {
            self.i += 1;
        }
        self.last_pos = it.pos;
        it
    }

    fn backup(&mut self) {
        self.i = self.i.saturating_sub(1);
    }

    fn peek(&mut self) -> Item {
        let it = self.next();
        self.backup();
        it
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let it = self.next();
            if it.kind != Kind::Space {
                return it;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let it = self.next_non_space();
        self.backup();
        it
    }

    fn unexpected<T>(&self, it: &Item, context: &str) -> PResult<T> {
        if it.kind == Kind::Error {
            return self.err(it.val.clone());
        }
        self.err(format!("unexpected {} in {}", it.describe(), context))
    }

    fn expect(&mut self, kind: Kind, context: &str) -> PResult<Item> {
        let it = self.next_non_space();
        if it.kind != kind {
            return self.unexpected(&it, context);
        }
        Ok(it)
    }

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let mut list = Vec::new();
        loop {
            let it = self.peek();
            if it.kind == Kind::Eof {
                break;
            }
            if it.kind == Kind::LeftDelim {
                let save = self.i;
                self.next();
                let kw = self.next_non_space();
                if kw.kind == Kind::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.i = save;
            }
            match self.text_or_action(0)? {
                Some(Ctl::End) => return self.err("unexpected {{end}}".into()),
                Some(Ctl::Else) => return self.err("unexpected {{else}}".into()),
                Some(Ctl::ElseIf) | Some(Ctl::ElseWith) => {
                    return self.err("unexpected {{else}}".into())
                }
                Some(Ctl::Node(n)) => list.push(n),
                None => {}
            }
        }
        Ok(list)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let name_it = self.next_non_space();
        let name = match name_it.kind {
            Kind::String | Kind::RawString => self.unquote(&name_it)?,
            _ => return self.unexpected(&name_it, context),
        };
        self.expect(Kind::RightDelim, context)?;
        let saved = std::mem::replace(&mut self.vars, vec![Arc::from("$")]);
        let (list, end) = self.item_list(1)?;
        self.vars = saved;
        if !matches!(end, Ctl::End) {
            return self.err(format!("unexpected {} in {}", end.describe(), context));
        }
        let name = name.to_string();
        if let Some(existing) = self.defs.get(&name) {
            if !is_empty_tree(existing) && !is_empty_tree(&list) {
                return self.err(format!(
                    "template: multiple definition of template {}",
                    crate::gofmt::quote(&name)
                ));
            }
            if is_empty_tree(&list) {
                return Ok(());
            }
        }
        self.defs.insert(name, Arc::new(list));
        Ok(())
    }

    /// Parses nodes until `{{end}}` or `{{else}}`.
    fn item_list(&mut self, depth: usize) -> PResult<(Vec<Node>, Ctl)> {
        let mut list = Vec::new();
        loop {
            if self.peek_non_space().kind == Kind::Eof {
                return self.err("unexpected EOF".into());
            }
            match self.text_or_action(depth)? {
                Some(Ctl::Node(n)) => list.push(n),
                Some(c) => return Ok((list, c)),
                None => {}
            }
        }
    }

    fn text_or_action(&mut self, depth: usize) -> PResult<Option<Ctl>> {
        if depth > MAX_NESTING {
            return self.err("template nesting too deep".into());
        }
        let it = self.next_non_space();
        match it.kind {
            Kind::Text => Ok(Some(Ctl::Node(Node::Text(it.val.into_boxed_str())))),
            Kind::LeftDelim => self.action(depth).map(Some),
            Kind::Error => self.err(it.val),
            _ => self.unexpected(&it, "input"),
        }
    }

    fn action(&mut self, depth: usize) -> PResult<Ctl> {
        let it = self.next_non_space();
        match it.kind {
            Kind::Block => self.block_control(depth),
            Kind::Break => self.break_control("break").map(|_| Ctl::Node(Node::Break)),
            Kind::Continue => self
                .break_control("continue")
                .map(|_| Ctl::Node(Node::Continue)),
            Kind::Else => self.else_control(),
            Kind::End => {
                self.expect(Kind::RightDelim, "end")?;
                Ok(Ctl::End)
            }
            Kind::If => self
                .if_control(depth)
                .map(|b| Ctl::Node(Node::If(Box::new(b)))),
            Kind::Range => self
                .control(depth, "range")
                .map(|b| Ctl::Node(Node::Range(Box::new(b)))),
            Kind::Template => self.template_control(),
            Kind::With => self
                .control(depth, "with")
                .map(|b| Ctl::Node(Node::With(Box::new(b)))),
            _ => {
                self.backup();
                let pipe = self.pipeline("command", Kind::RightDelim, depth)?;
                Ok(Ctl::Node(Node::Action(pipe)))
            }
        }
    }

    fn break_control(&mut self, name: &str) -> PResult<()> {
        let it = self.next_non_space();
        if it.kind != Kind::RightDelim {
            return self.unexpected(&it, &format!("{{{{{name}}}}}"));
        }
        if self.range_depth == 0 {
            return self.err(format!("{{{{{name}}}}} outside {{{{range}}}}"));
        }
        Ok(())
    }

    fn else_control(&mut self) -> PResult<Ctl> {
        let p = self.peek_non_space();
        if p.kind == Kind::If {
            return Ok(Ctl::ElseIf);
        }
        if p.kind == Kind::With {
            return Ok(Ctl::ElseWith);
        }
        self.expect(Kind::RightDelim, "else")?;
        Ok(Ctl::Else)
    }

    fn if_control(&mut self, depth: usize) -> PResult<Branch> {
        self.control(depth, "if")
    }

    fn control(&mut self, depth: usize, context: &str) -> PResult<Branch> {
        let nvars = self.vars.len();
        let pipe = self.pipeline(context, Kind::RightDelim, depth)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list(depth + 1)?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let else_list = match next {
            Ctl::End => None,
            Ctl::ElseIf if context == "if" => {
                self.next_non_space(); // the `if`
                let b = self.control(depth + 1, "if")?;
                Some(vec![Node::If(Box::new(b))])
            }
            Ctl::ElseWith if context == "with" => {
                self.next_non_space(); // the `with`
                let b = self.control(depth + 1, "with")?;
                Some(vec![Node::With(Box::new(b))])
            }
            Ctl::ElseIf | Ctl::ElseWith | Ctl::Else => {
                let (el, end) = self.item_list(depth + 1)?;
                if !matches!(end, Ctl::End) {
                    return self.err(format!("expected end; found {}", end.describe()));
                }
                Some(el)
            }
            Ctl::Node(_) => None,
        };
        self.vars.truncate(nvars);
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn block_control(&mut self, depth: usize) -> PResult<Ctl> {
        let context = "block clause";
        let it = self.next_non_space();
        let name = self.template_name(&it, context)?;
        let pipe = self.pipeline(context, Kind::RightDelim, depth)?;
        let saved = std::mem::replace(&mut self.vars, vec![Arc::from("$")]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list(depth + 1)?;
        self.vars = saved;
        self.range_depth = saved_range;
        if !matches!(end, Ctl::End) {
            return self.err(format!("unexpected {} in {}", end.describe(), context));
        }
        self.defs.insert(name.clone(), Arc::new(list));
        Ok(Ctl::Node(Node::Template {
            pos: it.pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn template_control(&mut self) -> PResult<Ctl> {
        let context = "template clause";
        let it = self.next_non_space();
        let name = self.template_name(&it, context)?;
        let pipe = if self.next_non_space().kind != Kind::RightDelim {
            self.backup();
            Some(self.pipeline(context, Kind::RightDelim, 0)?)
        } else {
            None
        };
        Ok(Ctl::Node(Node::Template {
            pos: it.pos,
            name,
            pipe,
        }))
    }

    fn template_name(&mut self, it: &Item, context: &str) -> PResult<String> {
        match it.kind {
            Kind::String | Kind::RawString => Ok(self.unquote(it)?.to_string()),
            _ => self.unexpected(it, context),
        }
    }

    fn pipeline(&mut self, context: &str, end: Kind, depth: usize) -> PResult<Pipe> {
        if depth > MAX_NESTING {
            return self.err("template nesting too deep".into());
        }
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // declarations
        'decls: loop {
            let v = self.peek_non_space();
            if v.kind != Kind::Variable {
                break;
            }
            let save = self.i;
            self.next_non_space();
            let after = self.peek();
            let next = self.peek_non_space();
            match next.kind {
                Kind::Assign | Kind::Declare => {
                    pipe.is_assign = next.kind == Kind::Assign;
                    self.next_non_space();
                    let name: Str = Arc::from(v.val.as_str());
                    if pipe.is_assign && !self.vars.contains(&name) {
                        self.last_pos = v.pos;
                        return self.err(format!(
                            "undefined variable {}",
                            crate::gofmt::quote(&v.val)
                        ));
                    }
                    pipe.decl.push(name.clone());
                    self.vars.push(name);
                    break 'decls;
                }
                Kind::Char if next.val == "," => {
                    self.next_non_space();
                    let name: Str = Arc::from(v.val.as_str());
                    pipe.decl.push(name.clone());
                    self.vars.push(name);
                    if context == "range" && pipe.decl.len() < 2 {
                        let p = self.peek_non_space();
                        match p.kind {
                            Kind::Variable | Kind::RightDelim | Kind::RightParen => continue 'decls,
                            _ => return self.err("range can only initialize variables".into()),
                        }
                    }
                    return self.err(format!("too many declarations in {context}"));
                }
                _ if after.kind == Kind::Space => {
                    self.i = save;
                    break;
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        loop {
            let it = self.next_non_space();
            if it.kind == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match it.kind {
                Kind::Bool
                | Kind::CharConstant
                | Kind::Dot
                | Kind::Field
                | Kind::Identifier
                | Kind::Number
                | Kind::Nil
                | Kind::RawString
                | Kind::String
                | Kind::Variable
                | Kind::LeftParen => {
                    self.backup();
                    let c = self.command(depth)?;
                    pipe.cmds.push(c);
                }
                _ => return self.unexpected(&it, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return self.err(format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if let Some(
                Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::Str(..),
            ) = c.args.first()
            {
                return self.err(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self, depth: usize) -> PResult<Cmd> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Cmd {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand(depth)? {
                cmd.args.push(op);
            }
            let it = self.next();
            match it.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.backup(),
                Kind::Pipe => {}
                _ => return self.unexpected(&it, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.err("empty command".into());
        }
        Ok(cmd)
    }

    fn operand(&mut self, depth: usize) -> PResult<Option<Arg>> {
        let node = match self.term(depth)? {
            Some(n) => n,
            None => return Ok(None),
        };
        if self.peek().kind != Kind::Field {
            return Ok(Some(node));
        }
        let chain_pos = self.peek().pos;
        let mut fields: Vec<Str> = Vec::new();
        while self.peek().kind == Kind::Field {
            let f = self.next();
            fields.push(Arc::from(&f.val[1..]));
        }
        Ok(Some(match node {
            Arg::Field(_, mut ids) => {
                ids.extend(fields);
                Arg::Field(chain_pos, ids)
            }
            Arg::Variable(_, mut ids) => {
                ids.extend(fields);
                Arg::Variable(chain_pos, ids)
            }
            Arg::Bool(..) | Arg::Str(..) | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                return self.err(format!(
                    "unexpected . after term {}",
                    crate::gofmt::quote(&node.to_string())
                ));
            }
            other => Arg::Chain(chain_pos, Box::new(other), fields),
        }))
    }

    fn term(&mut self, depth: usize) -> PResult<Option<Arg>> {
        let it = self.next_non_space();
        Ok(Some(match it.kind {
            Kind::Identifier => match self.funcs.get(it.val.as_str()) {
                Some(f) => Arg::Func(it.pos, f.clone()),
                None => {
                    return self.err(format!(
                        "function {} not defined",
                        crate::gofmt::quote(&it.val)
                    ))
                }
            },
            Kind::Dot => Arg::Dot(it.pos),
            Kind::Nil => Arg::Nil(it.pos),
            Kind::Variable => {
                if !self.vars.iter().any(|v| **v == *it.val) {
                    return self.err(format!(
                        "undefined variable {}",
                        crate::gofmt::quote(&it.val)
                    ));
                }
                Arg::Variable(it.pos, vec![Arc::from(it.val.as_str())])
            }
            Kind::Field => Arg::Field(it.pos, vec![Arc::from(&it.val[1..])]),
            Kind::Bool => Arg::Bool(it.pos, it.val == "true"),
            Kind::CharConstant | Kind::Number => match new_number(&it.val, it.kind) {
                Ok(n) => Arg::Number(it.pos, Box::new(n)),
                Err(e) => return self.err(e),
            },
            Kind::LeftParen => {
                let p = self.pipeline("parenthesized pipeline", Kind::RightParen, depth + 1)?;
                Arg::Pipe(Box::new(p))
            }
            Kind::String | Kind::RawString => {
                let s = self.unquote(&it)?;
                Arg::Str(it.pos, s, it.val.into_boxed_str())
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }

    fn unquote(&self, it: &Item) -> PResult<Str> {
        if it.kind == Kind::RawString {
            let v = &it.val[1..it.val.len() - 1];
            return Ok(Arc::from(v.replace('\r', "").as_str()));
        }
        match unquote_string(&it.val) {
            Some(s) => Ok(Arc::from(s.as_str())),
            None => self.err("invalid syntax".into()),
        }
    }
}

/// Control items returned by `text_or_action`.
enum Ctl {
    Node(Node),
    End,
    Else,
    ElseIf,
    ElseWith,
}

impl Ctl {
    fn describe(&self) -> &'static str {
        match self {
            Ctl::End => "{{end}}",
            _ => "{{else}}",
        }
    }
}

fn is_empty_tree(list: &[Node]) -> bool {
    list.iter().all(|n| match n {
        Node::Text(t) => t.trim().is_empty(),
        _ => false,
    })
}

/// Decodes one (possibly escaped) character of a Go quoted literal.
fn unquote_char(s: &str, quote: char) -> Option<(char, &str)> {
    let mut it = s.chars();
    let c = it.next()?;
    if c == quote && (quote == '\'' || quote == '"') {
        return None;
    }
    if c != '\\' {
        return Some((c, it.as_str()));
    }
    let e = it.next()?;
    let rest = it.as_str();
    let simple = match e {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        '\\' => Some('\\'),
        '\'' | '"' => {
            if e != quote {
                return None;
            }
            Some(e)
        }
        _ => None,
    };
    if let Some(c) = simple {
        return Some((c, rest));
    }
    let (n, radix) = match e {
        'x' => (2, 16),
        'u' => (4, 16),
        'U' => (8, 16),
        '0'..='7' => (3, 8),
        _ => return None,
    };
    let digits: &str = if radix == 8 {
        let full = &s[1..];
        if full.len() < 3 {
            return None;
        }
        &full[..3]
    } else {
        if rest.len() < n {
            return None;
        }
        &rest[..n]
    };
    let v = u32::from_str_radix(digits, radix).ok()?;
    let after = if radix == 8 { &s[4..] } else { &rest[n..] };
    if e == 'x' || radix == 8 {
        if v > 255 {
            return None;
        }
        // Byte escapes: only valid as single bytes; keep ASCII, map others
        // to the Latin-1 code point (Go would produce a raw byte).
        return Some((char::from_u32(v)?, after));
    }
    Some((char::from_u32(v)?, after))
}

/// Go's `strconv.Unquote` for double-quoted strings.
fn unquote_string(q: &str) -> Option<String> {
    let inner = q.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    while !rest.is_empty() {
        let (c, r) = unquote_char(rest, '"')?;
        out.push(c);
        rest = r;
    }
    Some(out)
}

/// Parses a Go integer literal with base prefixes and underscores.
fn parse_go_uint(text: &str) -> Option<u64> {
    let (digits, radix) =
        if let Some(r) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            (r, 16)
        } else if let Some(r) = text.strip_prefix("0o").or_else(|| text.strip_prefix("0O")) {
            (r, 8)
        } else if let Some(r) = text.strip_prefix("0b").or_else(|| text.strip_prefix("0B")) {
            (r, 2)
        } else if text.len() > 1 && text.starts_with('0') {
            (&text[1..], 8)
        } else {
            (text, 10)
        };
    let underscore_ok = radix != 10 || !text.starts_with('0') || text == "0";
    if digits.contains('_')
        && (!underscore_ok
            || digits.ends_with('_')
            || digits.contains("__")
            || (radix == 10 && digits.starts_with('_')))
    {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() {
        return None;
    }
    u64::from_str_radix(&clean, radix).ok()
}

fn parse_go_int(text: &str) -> Option<i64> {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let u = parse_go_uint(body)?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some((-(u as i128)) as i64)
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

fn parse_go_float(text: &str) -> Option<f64> {
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    let body = clean.trim_start_matches(['+', '-']);
    if body.starts_with("0x") || body.starts_with("0X") {
        return None;
    }
    if body.is_empty() || body.starts_with(|c: char| c.is_alphabetic()) {
        return None;
    }
    clean.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Go's `newNumber`: every valid interpretation of a numeric constant.
fn new_number(text: &str, kind: Kind) -> Result<Number, String> {
    if kind == Kind::CharConstant {
        let inner = &text[1..];
        let (c, tail) = unquote_char(inner, '\'').ok_or_else(|| "invalid syntax".to_string())?;
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        let v = c as u32;
        return Ok(Number {
            text: text.into(),
            int: Some(v as i64),
            uint: Some(v as u64),
            float: Some(v as f64),
            float_literal: false,
        });
    }
    if text.ends_with('i') {
        return Err(format!(
            "complex constants are not supported: {}",
            crate::gofmt::quote(text)
        ));
    }
    let mut n = Number {
        text: text.into(),
        int: None,
        uint: None,
        float: None,
        float_literal: false,
    };
    n.uint = parse_go_uint(text.strip_prefix('+').unwrap_or(text));
    n.int = parse_go_int(text);
    if n.int == Some(0) && n.uint.is_none() {
        n.uint = Some(0);
    }
    if let Some(i) = n.int {
        n.float = Some(i as f64);
    } else if let Some(u) = n.uint {
        n.float = Some(u as f64);
    } else if let Some(f) = parse_go_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", crate::gofmt::quote(text)));
        }
        n.float = Some(f);
        if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 {
            n.int = Some(f as i64);
        }
        if f.fract() == 0.0 && f >= 0.0 && f < u64::MAX as f64 {
            n.uint = Some(f as u64);
        }
    }
    if n.int.is_none() && n.uint.is_none() && n.float.is_none() {
        return Err(format!(
            "illegal number syntax: {}",
            crate::gofmt::quote(text)
        ));
    }
    let hex = text.trim_start_matches(['+', '-']).starts_with("0x")
        || text.trim_start_matches(['+', '-']).starts_with("0X");
    n.float_literal = n.float.is_some() && !hex && text.contains(['.', 'e', 'E', 'p', 'P']);
    Ok(n)
}
