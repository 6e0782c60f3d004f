//! A Go `text/template`-compatible template engine with the sprig 2.20.0
//! function set and Easegress's extra functions (`addf`, `jsonEscape`, ...).
//!
//! Parse once with [`Template::parse`], execute many times with
//! [`Template::execute`]. Data is a [`Value`]; host programs expose lazily
//! computed objects (requests, headers, bodies) through [`TemplateObject`].
//!
//! ```
//! use eg_template::{Options, Template, Value};
//! let t = Template::parse("t", "{{ .name | upper }}: {{ .n }}", &Options::default()).unwrap();
//! let data = eg_template::parse_json(r#"{"name": "bob", "n": 1.50}"#).unwrap();
//! assert_eq!(t.render(&data).unwrap(), "BOB: 1.50");
//! ```

#![forbid(unsafe_code)]

mod error;
mod exec;
mod funcs;
mod gofmt;
mod json;
mod lex;
mod parse;
mod time;
mod value;

use std::sync::Arc;

pub use error::{ExecError, ParseError};
pub use funcs::function_names;
pub use json::parse_json;
pub use time::Time;
pub use value::{ElemType, FuncImpl, List, Map, Str, TemplateObject, Value};

/// Default left delimiter.
pub const DEFAULT_LEFT_DELIM: &str = "{{";
/// Default right delimiter.
pub const DEFAULT_RIGHT_DELIM: &str = "}}";

/// Parse options.
#[derive(Clone, Default)]
pub struct Options {
    /// Left action delimiter; empty means `{{` (as Go's `Delims`).
    pub left_delim: String,
    /// Right action delimiter; empty means `}}`.
    pub right_delim: String,
    /// Extra functions (variadic, arguments passed as values); they
    /// override built-in functions of the same name.
    pub funcs: Vec<(String, FuncImpl)>,
}

impl Options {
    /// Options with custom delimiters (empty strings mean the defaults).
    pub fn with_delims(left: &str, right: &str) -> Self {
        Options {
            left_delim: left.to_string(),
            right_delim: right.to_string(),
            funcs: Vec::new(),
        }
    }
}

/// A parsed template, cheap to clone and safe to share between threads.
#[derive(Clone)]
pub struct Template {
    prog: Arc<exec::Program>,
}

impl Template {
    /// Parses `text` under `name` (used in error messages and by
    /// `{{template "name"}}`). Fails like Go's `Parse`: undefined function
    /// or variable, bad syntax, unbalanced `{{end}}`.
    pub fn parse(name: &str, text: &str, opts: &Options) -> Result<Template, ParseError> {
        let left = if opts.left_delim.is_empty() {
            DEFAULT_LEFT_DELIM
        } else {
            &opts.left_delim
        };
        let right = if opts.right_delim.is_empty() {
            DEFAULT_RIGHT_DELIM
        } else {
            &opts.right_delim
        };
        let parsed = if opts.funcs.is_empty() {
            parse::parse(name, text, left, right, funcs::default_table())?
        } else {
            let table = funcs::table_with(&opts.funcs);
            parse::parse(name, text, left, right, &table)?
        };
        Ok(Template {
            prog: Arc::new(exec::Program {
                name: name.to_string(),
                text: text.to_string(),
                root: Arc::new(parsed.root),
                defs: parsed.defs,
            }),
        })
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.prog.name
    }

    /// Executes with `data` as dot, appending output to `out`. On error the
    /// output written so far stays in `out` (as with Go's writer).
    pub fn execute(&self, data: &Value, out: &mut String) -> Result<(), ExecError> {
        exec::execute(&self.prog, data, out)
    }

    /// Executes and returns the output.
    pub fn render(&self, data: &Value) -> Result<String, ExecError> {
        let mut out = String::new();
        self.execute(data, &mut out)?;
        Ok(out)
    }
}
