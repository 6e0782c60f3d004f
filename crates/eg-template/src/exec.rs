//! Executor: walks the parsed tree with Go `text/template` semantics.

use std::collections::HashMap;
use std::fmt::{self, Display};
use std::sync::Arc;

use crate::error::{line_col, ExecError};
use crate::funcs::{FuncDef, Imp, P};
use crate::gofmt;
use crate::parse::{Arg, Branch, Cmd, Node, Pipe};
use crate::value::{Str, Value};

/// Maximum nesting of `{{template}}` calls (Go allows 100000 but a native
/// stack cannot; deep recursion is reported as an error instead).
pub(crate) const MAX_TEMPLATE_DEPTH: usize = 1000;

/// Everything a template execution needs from the parsed template.
pub(crate) struct Program {
    pub name: String,
    pub text: String,
    pub root: Arc<Vec<Node>>,
    pub defs: HashMap<String, Arc<Vec<Node>>>,
}

enum Flow {
    Normal,
    Break,
    Continue,
}

type R<T> = Result<T, ExecError>;

pub(crate) struct State<'a> {
    prog: &'a Program,
    out: &'a mut String,
    vars: Vec<(Str, Value)>,
    depth: usize,
    cur: &'a str,
}

/// Runs `prog` on `data`, appending output to `out`.
pub(crate) fn execute(prog: &Program, data: &Value, out: &mut String) -> R<()> {
    let mut st = State {
        prog,
        out,
        vars: vec![(Arc::from("$"), data.clone())],
        depth: 0,
        cur: &prog.name,
    };
    let root = prog.root.clone();
    st.walk(data, &root).map(|_| ())
}

/// Renders a node as the error context.
struct Ctx<'n>(&'n dyn Display);

impl Display for Ctx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Error location: a position plus the node text.
struct At<'n> {
    pos: usize,
    node: &'n dyn Display,
}

impl<'a> State<'a> {
    fn error(&self, at: &At<'_>, msg: impl Display) -> ExecError {
        let (line, col) = line_col(&self.prog.text, at.pos);
        ExecError {
            message: format!(
                "template: {}:{}:{}: executing {} at <{}>: {}",
                self.prog.name,
                line,
                col,
                gofmt::quote(self.cur),
                Ctx(at.node),
                msg
            ),
        }
    }

    fn walk(&mut self, dot: &Value, nodes: &[Node]) -> R<Flow> {
        for n in nodes {
            match n {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(pipe) => {
                    let v = self.eval_pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        self.print_value(pipe, &v)?;
                    }
                }
                Node::If(b) => {
                    if let f @ (Flow::Break | Flow::Continue) = self.walk_if_with(dot, b, false)? {
                        return Ok(f);
                    }
                }
                Node::With(b) => {
                    if let f @ (Flow::Break | Flow::Continue) = self.walk_if_with(dot, b, true)? {
                        return Ok(f);
                    }
                }
                Node::Range(b) => self.walk_range(dot, b)?,
                Node::Template { pos, name, pipe } => {
                    self.walk_template(dot, *pos, name, pipe.as_ref())?
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    fn print_value(&mut self, pipe: &Pipe, v: &Value) -> R<()> {
        match v {
            Value::Missing | Value::Nil => self.out.push_str("<no value>"),
            Value::Func(_) => {
                return Err(self.error(
                    &At {
                        pos: pipe.pos,
                        node: pipe,
                    },
                    format_args!("can't print {} of type {}", pipe, v.type_name()),
                ))
            }
            Value::String(s) => self.out.push_str(s),
            _ => gofmt::write_value(self.out, v),
        }
        Ok(())
    }

    fn walk_if_with(&mut self, dot: &Value, b: &Branch, is_with: bool) -> R<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let flow = if val.truthy() {
            if is_with {
                self.walk(&val, &b.list)?
            } else {
                self.walk(dot, &b.list)?
            }
        } else if let Some(el) = &b.else_list {
            self.walk(dot, el)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn range_body(&mut self, b: &Branch, key: Value, elem: Value) -> R<bool> {
        let n = b.pipe.decl.len();
        let top = self.vars.len();
        if n > 0 {
            self.vars[top - 1].1 = elem.clone();
        }
        if n > 1 {
            self.vars[top - 2].1 = key;
        }
        let mark = self.vars.len();
        let flow = self.walk(&elem, &b.list)?;
        self.vars.truncate(mark);
        Ok(!matches!(flow, Flow::Break))
    }

    fn walk_range(&mut self, dot: &Value, b: &Branch) -> R<()> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?.materialize();
        let mut ran = false;
        match &val {
            Value::List(l) => {
                for (i, e) in l.items.iter().enumerate() {
                    ran = true;
                    if !self.range_body(b, Value::Int(i as i64), e.clone())? {
                        break;
                    }
                }
            }
            Value::Map(m) => {
                let entries: Vec<(String, Value)> = m
                    .read()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                for (k, e) in entries {
                    ran = true;
                    if !self.range_body(b, Value::from(k), e)? {
                        break;
                    }
                }
            }
            Value::Int(n) | Value::Int64(n) => {
                if b.pipe.decl.len() > 1 {
                    return Err(self.error(
                        &At {
                            pos: b.pipe.pos,
                            node: &b.pipe,
                        },
                        format_args!("can't use {} to iterate over more than one variable", n),
                    ));
                }
                for i in 0..*n {
                    ran = true;
                    let v = if matches!(val, Value::Int(_)) {
                        Value::Int(i)
                    } else {
                        Value::Int64(i)
                    };
                    if !self.range_body(b, v.clone(), v)? {
                        break;
                    }
                }
            }
            Value::Missing | Value::Nil => {}
            other => {
                return Err(self.error(
                    &At {
                        pos: b.pipe.pos,
                        node: &b.pipe,
                    },
                    format_args!("range can't iterate over {}", gofmt::value_string(other)),
                ))
            }
        }
        if !ran {
            if let Some(el) = &b.else_list {
                self.walk(dot, el)?;
            }
        }
        self.vars.truncate(mark);
        Ok(())
    }

    fn walk_template(&mut self, dot: &Value, pos: usize, name: &str, pipe: Option<&Pipe>) -> R<()> {
        let tree = match self.prog.defs.get(name) {
            Some(t) => t.clone(),
            None if name == self.prog.name => self.prog.root.clone(),
            None => {
                let node = TemplateNode(name, pipe);
                return Err(self.error(
                    &At { pos, node: &node },
                    format_args!("template {} not defined", gofmt::quote(name)),
                ));
            }
        };
        if self.depth >= MAX_TEMPLATE_DEPTH {
            let node = TemplateNode(name, pipe);
            return Err(self.error(
                &At { pos, node: &node },
                format_args!("exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})"),
            ));
        }
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Missing,
        };
        let saved_vars = std::mem::replace(&mut self.vars, vec![(Arc::from("$"), new_dot.clone())]);
        let prog = self.prog;
        let saved_cur = self.cur;
        self.cur = prog
            .defs
            .get_key_value(name)
            .map(|(k, _)| k.as_str())
            .unwrap_or(&prog.name);
        self.depth += 1;
        let r = self.walk(&new_dot, &tree);
        self.depth -= 1;
        self.cur = saved_cur;
        self.vars = saved_vars;
        r.map(|_| ())
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &Pipe) -> R<Value> {
        let mut val: Option<Value> = None;
        for cmd in &pipe.cmds {
            let mut v = self.eval_command(dot, cmd, val)?;
            if matches!(v, Value::Nil) {
                v = Value::Missing;
            }
            val = Some(v);
        }
        let v = val.unwrap_or_default();
        for d in &pipe.decl {
            if pipe.is_assign {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == d) {
                    slot.1 = v.clone();
                }
            } else {
                self.vars.push((d.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn not_a_function(&self, args: &[Arg], final_: &Option<Value>) -> R<()> {
        if args.len() > 1 || final_.is_some() {
            let a = &args[0];
            return Err(self.error(
                &At {
                    pos: a.pos(),
                    node: a,
                },
                format_args!("can't give argument to non-function {}", a),
            ));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &Cmd, final_: Option<Value>) -> R<Value> {
        let first = &cmd.args[0];
        match first {
            Arg::Field(_, ids) => {
                self.eval_field_chain(dot, dot.clone(), first, ids, &cmd.args, final_)
            }
            Arg::Chain(pos, node, fields) => {
                if let Arg::Nil(_) = **node {
                    return Err(self.error(
                        &At {
                            pos: *pos,
                            node: first,
                        },
                        format_args!("indirection through explicit nil in {}", first),
                    ));
                }
                let recv = self.eval_arg(dot, P::Refl, node)?;
                self.eval_field_chain(dot, recv, first, fields, &cmd.args, final_)
            }
            Arg::Func(_, def) => self.eval_call(
                dot,
                def,
                &At {
                    pos: cmd.pos,
                    node: cmd,
                },
                first,
                &cmd.args,
                final_,
            ),
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &final_)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable(_, ids) => {
                let v = self.var_value(first, &ids[0])?;
                if ids.len() == 1 {
                    self.not_a_function(&cmd.args, &final_)?;
                    return Ok(v);
                }
                self.eval_field_chain(dot, v, first, &ids[1..], &cmd.args, final_)
            }
            _ => {
                self.not_a_function(&cmd.args, &final_)?;
                match first {
                    Arg::Bool(_, b) => Ok(Value::Bool(*b)),
                    Arg::Dot(_) => Ok(dot.clone()),
                    Arg::Nil(p) => Err(self.error(
                        &At {
                            pos: *p,
                            node: first,
                        },
                        "nil is not a command",
                    )),
                    Arg::Number(p, n) => self.ideal_constant(*p, first, n),
                    Arg::Str(_, s, _) => Ok(Value::String(s.clone())),
                    _ => Ok(Value::Missing),
                }
            }
        }
    }

    fn ideal_constant(&self, pos: usize, node: &Arg, n: &crate::parse::Number) -> R<Value> {
        if n.float_literal {
            if let Some(f) = n.float {
                return Ok(Value::Float(f));
            }
        }
        if let Some(i) = n.int {
            return Ok(Value::Int(i));
        }
        Err(self.error(&At { pos, node }, format_args!("{} overflows int", n.text)))
    }

    fn var_value(&self, node: &Arg, name: &str) -> R<Value> {
        match self.vars.iter().rev().find(|(n, _)| &**n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.error(
                &At {
                    pos: node.pos(),
                    node,
                },
                format_args!("undefined variable: {name}"),
            )),
        }
    }

    fn eval_field_chain(
        &mut self,
        dot: &Value,
        mut recv: Value,
        node: &Arg,
        ids: &[Str],
        args: &[Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        let n = ids.len();
        let mut via_any = false;
        for id in &ids[..n - 1] {
            via_any = matches!(&recv, Value::Map(m) if m.elem == crate::value::ElemType::Any);
            recv = self.eval_field(dot, id, node, &[], None, recv, via_any)?;
        }
        self.eval_field(dot, &ids[n - 1], node, args, final_, recv, via_any)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field(
        &mut self,
        dot: &Value,
        name: &str,
        node: &Arg,
        args: &[Arg],
        final_: Option<Value>,
        recv: Value,
        via_any: bool,
    ) -> R<Value> {
        let at = At {
            pos: node.pos(),
            node,
        };
        let has_args = args.len() > 1 || final_.is_some();
        match &recv {
            Value::Missing => Ok(Value::Missing),
            Value::Nil => Err(self.error(
                &at,
                format_args!("nil pointer evaluating interface {{}}.{name}"),
            )),
            Value::Map(m) => {
                if has_args {
                    return Err(self.error(
                        &at,
                        format_args!("{name} is not a method but has arguments"),
                    ));
                }
                Ok(m.get(name).unwrap_or(Value::Missing))
            }
            Value::Object(o) => {
                if !has_args {
                    if let Some(v) = o.field(name) {
                        return Ok(v);
                    }
                }
                let mut argv = Vec::with_capacity(args.len());
                for a in args.iter().skip(1) {
                    argv.push(self.eval_arg(dot, P::Any, a)?);
                }
                if let Some(f) = final_ {
                    argv.push(if matches!(f, Value::Missing) {
                        Value::Nil
                    } else {
                        f
                    });
                }
                match o.call_method(name, &argv) {
                    Some(Ok(v)) => Ok(v),
                    Some(Err(e)) => Err(self.error(&at, format_args!("error calling {name}: {e}"))),
                    None => {
                        if has_args && o.field(name).is_some() {
                            Err(self.error(
                                &at,
                                format_args!(
                                    "{name} has arguments but cannot be invoked as function"
                                ),
                            ))
                        } else if let Some(Value::Map(m)) = o.to_value() {
                            if has_args {
                                return Err(self.error(
                                    &at,
                                    format_args!("{name} is not a method but has arguments"),
                                ));
                            }
                            Ok(m.get(name).unwrap_or(Value::Missing))
                        } else {
                            Err(self.error(
                                &at,
                                format_args!(
                                    "can't evaluate field {name} in type {}",
                                    o.type_name()
                                ),
                            ))
                        }
                    }
                }
            }
            other => Err(self.error(
                &at,
                format_args!(
                    "can't evaluate field {name} in type {}",
                    if via_any {
                        "interface {}".to_string()
                    } else {
                        other.type_name()
                    }
                ),
            )),
        }
    }

    /// Calls a function. `at` locates errors from the call itself, `ident`
    /// the "wrong number of args" error.
    fn eval_call(
        &mut self,
        dot: &Value,
        def: &FuncDef,
        at: &At<'_>,
        ident: &Arg,
        args: &[Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        let args = if args.is_empty() { args } else { &args[1..] };
        let num_in = args.len() + final_.is_some() as usize;
        let num_fixed = def.params.len();
        if def.variadic.is_some() {
            if num_in < num_fixed {
                return Err(self.error(
                    &At {
                        pos: ident.pos(),
                        node: ident,
                    },
                    format_args!(
                        "wrong number of args for {}: want at least {} got {}",
                        def.name,
                        num_fixed,
                        args.len()
                    ),
                ));
            }
        } else if num_in != num_fixed {
            return Err(self.error(
                &At {
                    pos: ident.pos(),
                    node: ident,
                },
                format_args!(
                    "wrong number of args for {}: want {} got {}",
                    def.name, num_fixed, num_in
                ),
            ));
        }
        if let Imp::And | Imp::Or = def.imp {
            let is_or = matches!(def.imp, Imp::Or);
            let mut v = Value::Missing;
            for a in args {
                v = self.eval_arg(dot, P::Refl, a)?;
                if v.truthy() == is_or {
                    return Ok(v);
                }
            }
            if let Some(f) = final_ {
                v = f;
            }
            return Ok(v);
        }
        let mut argv: Vec<Value> = Vec::with_capacity(num_in);
        let mut i = 0;
        while i < num_fixed && i < args.len() {
            argv.push(self.eval_arg(dot, def.params[i], &args[i])?);
            i += 1;
        }
        if let Some(vt) = def.variadic {
            while i < args.len() {
                argv.push(self.eval_arg(dot, vt, &args[i])?);
                i += 1;
            }
        }
        if let Some(f) = final_ {
            let t = match def.variadic {
                Some(vt) => {
                    if num_in - 1 < num_fixed {
                        def.params[num_in - 1]
                    } else {
                        vt
                    }
                }
                None => def.params[num_fixed - 1],
            };
            let v = self.validate(f, t, at)?;
            argv.push(v);
        }
        let r = match &def.imp {
            Imp::Native(f) => f(&argv),
            Imp::Custom(f) => f(&argv),
            Imp::And | Imp::Or => Ok(Value::Missing),
        };
        r.map_err(|e| self.error(at, format_args!("error calling {}: {}", def.name, e)))
    }

    fn validate(&self, v: Value, t: P, at: &At<'_>) -> R<Value> {
        let ok = match (&v, t) {
            (_, P::Refl) => return Ok(v),
            (Value::Missing, P::Any) => return Ok(Value::Nil),
            (_, P::Any) => return Ok(v),
            (Value::Missing, P::Map) => return Ok(Value::Nil),
            (Value::Missing, _) => {
                return Err(self.error(at, format_args!("invalid value; expected {}", t.go_name())));
            }
            (Value::String(_), P::Str) => true,
            (Value::Int(_), P::Int) => true,
            (Value::Float(_), P::Float) => true,
            (Value::Bool(_), P::Bool) => true,
            (Value::Map(m), P::Map) => m.elem == crate::value::ElemType::Any,
            (Value::Time(_), P::Time) => true,
            (Value::Object(o), _) => {
                if let Some(inner) = o.to_value() {
                    if !matches!(inner, Value::Object(_)) {
                        return self.validate(inner, t, at);
                    }
                }
                false
            }
            _ => false,
        };
        if ok {
            return Ok(v);
        }
        let got = if matches!(v, Value::Nil) {
            "interface {}".to_string()
        } else {
            v.type_name()
        };
        Err(self.error(
            at,
            format_args!(
                "wrong type for value; expected {}; got {}",
                t.go_name(),
                got
            ),
        ))
    }

    fn eval_arg(&mut self, dot: &Value, t: P, arg: &Arg) -> R<Value> {
        let at = At {
            pos: arg.pos(),
            node: arg,
        };
        let v = match arg {
            Arg::Dot(_) => dot.clone(),
            Arg::Nil(_) => {
                return match t {
                    P::Any | P::Map => Ok(Value::Nil),
                    P::Refl => Ok(Value::Missing),
                    _ => Err(self.error(&at, format_args!("cannot assign nil to {}", t.go_name()))),
                }
            }
            Arg::Field(_, ids) => {
                self.eval_field_chain(dot, dot.clone(), arg, ids, std::slice::from_ref(arg), None)?
            }
            Arg::Variable(_, ids) => {
                let v = self.var_value(arg, &ids[0])?;
                if ids.len() == 1 {
                    v
                } else {
                    self.eval_field_chain(dot, v, arg, &ids[1..], std::slice::from_ref(arg), None)?
                }
            }
            Arg::Pipe(p) => self.eval_pipeline(dot, p)?,
            Arg::Func(_, def) => self.eval_call(dot, def, &at, arg, &[], None)?,
            Arg::Chain(pos, node, fields) => {
                if let Arg::Nil(_) = **node {
                    return Err(self.error(
                        &At {
                            pos: *pos,
                            node: arg,
                        },
                        format_args!("indirection through explicit nil in {}", arg),
                    ));
                }
                let recv = self.eval_arg(dot, P::Refl, node)?;
                self.eval_field_chain(dot, recv, arg, fields, std::slice::from_ref(arg), None)?
            }
            Arg::Bool(_, b) => {
                return match t {
                    P::Bool | P::Any | P::Refl => Ok(Value::Bool(*b)),
                    _ => Err(self.const_mismatch(&at, t, arg)),
                }
            }
            Arg::Number(p, n) => {
                return match t {
                    P::Int => n
                        .int
                        .map(Value::Int)
                        .ok_or_else(|| self.const_mismatch(&at, t, arg)),
                    P::Float => n
                        .float
                        .map(Value::Float)
                        .ok_or_else(|| self.const_mismatch(&at, t, arg)),
                    P::Any | P::Refl => self.ideal_constant(*p, arg, n),
                    _ => Err(self.const_mismatch(&at, t, arg)),
                }
            }
            Arg::Str(_, s, _) => {
                return match t {
                    P::Str | P::Any | P::Refl => Ok(Value::String(s.clone())),
                    _ => Err(self.const_mismatch(&at, t, arg)),
                }
            }
        };
        self.validate(v, t, &at)
    }

    fn const_mismatch(&self, at: &At<'_>, t: P, arg: &Arg) -> ExecError {
        let what = match t {
            P::Bool => "bool",
            P::Int => "integer",
            P::Float => "float",
            P::Str => "string",
            _ => {
                return self.error(
                    at,
                    format_args!("can't handle {} for arg of type {}", arg, t.go_name()),
                );
            }
        };
        self.error(at, format_args!("expected {what}; found {arg}"))
    }
}

/// Display of a `{{template}}` node for error contexts.
struct TemplateNode<'n>(&'n str, Option<&'n Pipe>);

impl Display for TemplateNode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(p) => write!(f, "{{{{template {} {}}}}}", gofmt::quote(self.0), p),
            None => write!(f, "{{{{template {}}}}}", gofmt::quote(self.0)),
        }
    }
}
