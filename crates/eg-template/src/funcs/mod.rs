//! The function table: Go's builtins, sprig 2.20.0 and Easegress's extras.
//!
//! Every function declares Go-like parameter types so that argument checks
//! and error messages match `text/template` (`wrong type for value; expected
//! string; got int`).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::value::{FuncImpl, Value};

mod args;
mod builtin;
mod easegress;
mod sprig_data;
mod sprig_misc;
mod sprig_num;
mod sprig_str;

pub(crate) use args::*;

/// Go parameter type of a template function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum P {
    /// `interface {}`: anything; a missing value becomes nil.
    Any,
    /// `reflect.Value` (builtins): anything, missing stays missing.
    Refl,
    /// `string`.
    Str,
    /// `int`.
    Int,
    /// `float64`.
    Float,
    /// `bool`.
    Bool,
    /// `map[string]interface {}`.
    Map,
    /// `time.Time`.
    Time,
}

impl P {
    /// Go spelling for error messages.
    pub fn go_name(self) -> &'static str {
        match self {
            P::Any => "interface {}",
            P::Refl => "reflect.Value",
            P::Str => "string",
            P::Int => "int",
            P::Float => "float64",
            P::Bool => "bool",
            P::Map => "map[string]interface {}",
            P::Time => "time.Time",
        }
    }
}

/// Signature of a native function: arguments already checked against the
/// declared parameter types.
pub(crate) type NativeFn = fn(&[Value]) -> Result<Value, String>;

/// How a function is implemented.
pub(crate) enum Imp {
    /// Short-circuit `and`.
    And,
    /// Short-circuit `or`.
    Or,
    /// Built-in native code.
    Native(NativeFn),
    /// Host-supplied function.
    Custom(FuncImpl),
}

/// A named template function.
pub struct FuncDef {
    pub(crate) name: String,
    pub(crate) params: Vec<P>,
    pub(crate) variadic: Option<P>,
    pub(crate) imp: Imp,
}

/// Name → function.
pub(crate) type FuncTable = HashMap<String, Arc<FuncDef>>;

/// Registration helper used by the function modules.
pub(crate) struct Reg<'a>(&'a mut FuncTable);

impl Reg<'_> {
    /// Registers a fixed-arity function.
    pub fn f(&mut self, name: &str, params: &[P], imp: NativeFn) {
        self.add(name, params, None, Imp::Native(imp));
    }

    /// Registers a variadic function.
    pub fn v(&mut self, name: &str, params: &[P], rest: P, imp: NativeFn) {
        self.add(name, params, Some(rest), Imp::Native(imp));
    }

    pub fn add(&mut self, name: &str, params: &[P], variadic: Option<P>, imp: Imp) {
        self.0.insert(
            name.to_string(),
            Arc::new(FuncDef {
                name: name.to_string(),
                params: params.to_vec(),
                variadic,
                imp,
            }),
        );
    }
}

/// The default table: builtins, then sprig (which overrides `slice`), then
/// Easegress's functions, in the order Easegress registers them.
pub(crate) fn default_table() -> &'static FuncTable {
    static TABLE: OnceLock<FuncTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = FuncTable::new();
        let mut r = Reg(&mut t);
        builtin::register(&mut r);
        sprig_str::register(&mut r);
        sprig_num::register(&mut r);
        sprig_data::register(&mut r);
        sprig_misc::register(&mut r);
        easegress::register(&mut r);
        t
    })
}

/// The default table plus host functions (which override same-named ones).
pub(crate) fn table_with(custom: &[(String, FuncImpl)]) -> FuncTable {
    let mut t = default_table().clone();
    let mut r = Reg(&mut t);
    for (name, f) in custom {
        r.add(name, &[], Some(P::Any), Imp::Custom(f.clone()));
    }
    t
}

/// Names of all functions in the default table (sorted).
pub fn function_names() -> Vec<String> {
    let mut v: Vec<String> = default_table().keys().cloned().collect();
    v.sort();
    v
}
