//! The dynamic value model that templates operate on.
//!
//! [`Value`] mirrors the Go values a `text/template` sees: Go's basic kinds,
//! `json.Number`, slices, string-keyed maps, `time.Time`, host objects and
//! functions. Host programs expose lazily computed data (request headers,
//! parsed bodies) through [`TemplateObject`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::time::Time;

/// Shared immutable string used by [`Value::String`] and [`Value::Number`].
pub type Str = Arc<str>;

/// A function callable from a template (custom functions and `call` targets).
///
/// Arguments arrive already evaluated; an `Err` aborts execution with
/// `error calling NAME: MESSAGE`.
pub type FuncImpl = Arc<dyn Fn(&[Value]) -> Result<Value, String> + Send + Sync>;

/// The Go element type of a slice or map; it decides `%T` output and the
/// zero value `index` returns for a missing map key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElemType {
    /// `interface {}` (JSON data, `list`, `dict`).
    Any,
    /// `string` (`splitList`, `keys`, `split`).
    String,
    /// `int` (`until`).
    Int,
    /// `[]string` (`http.Header`, `url.Values`).
    StringList,
}

impl ElemType {
    /// Go spelling of the element type.
    pub fn go_name(self) -> &'static str {
        match self {
            ElemType::Any => "interface {}",
            ElemType::String => "string",
            ElemType::Int => "int",
            ElemType::StringList => "[]string",
        }
    }

    /// Zero value of the element type, as Go's `reflect.Zero`.
    pub fn zero(self) -> Value {
        match self {
            ElemType::Any => Value::Nil,
            ElemType::String => Value::str(""),
            ElemType::Int => Value::Int(0),
            ElemType::StringList => Value::List(Arc::new(List::new(Vec::new(), ElemType::String))),
        }
    }
}

/// An immutable Go slice.
#[derive(Debug)]
pub struct List {
    /// Elements in order.
    pub items: Vec<Value>,
    /// Element type (for `%T`).
    pub elem: ElemType,
}

impl List {
    /// Creates a slice of the given element type.
    pub fn new(items: Vec<Value>, elem: ElemType) -> Self {
        List { items, elem }
    }
}

/// A Go map with string keys. Like Go maps it is a reference: sprig's
/// `set`, `unset` and `merge` mutate it in place and every holder sees it.
/// Keys are kept sorted, which is the order Go prints and ranges over them.
pub struct Map {
    entries: RwLock<BTreeMap<String, Value>>,
    /// Element type (for `%T` and `index` of a missing key).
    pub elem: ElemType,
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.read().iter()).finish()
    }
}

impl Map {
    /// Creates a map of the given element type.
    pub fn new(entries: BTreeMap<String, Value>, elem: ElemType) -> Self {
        Map {
            entries: RwLock::new(entries),
            elem,
        }
    }

    /// Read access to the entries (a poisoned lock is recovered: values are
    /// plain data, so a panic elsewhere cannot leave them half-written).
    pub fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, Value>> {
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access to the entries.
    pub fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, Value>> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Value stored under `key`, if any.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.read().get(key).cloned()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }
}

/// A host object whose fields and methods are resolved on demand.
///
/// Field access `.Name` first asks [`field`](TemplateObject::field); if that
/// returns `None` it tries a zero-argument [`call_method`](TemplateObject::call_method).
/// `.Name arg...` calls `call_method` with the arguments. Returning
/// `Some(Value::Missing)` from `field` behaves like a missing map key
/// (prints `<no value>`).
pub trait TemplateObject: Send + Sync {
    /// Go type name used by `%T`, `typeOf` and error messages (e.g. `http.Header`).
    fn type_name(&self) -> &str;

    /// Field or zero-argument accessor `name`; `None` when there is none.
    fn field(&self, name: &str) -> Option<Value>;

    /// Method `name` with arguments; `None` when there is no such method,
    /// `Some(Err(msg))` when the call fails. Default: no methods.
    fn call_method(&self, _name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        None
    }

    /// A plain value standing for the whole object, used when the template
    /// prints, ranges over, indexes, measures or serialises it. Default: none
    /// (printing shows `{TypeName}`).
    fn to_value(&self) -> Option<Value> {
        None
    }
}

/// A template value.
#[derive(Clone, Default)]
pub enum Value {
    /// No value at all (Go's invalid `reflect.Value`): a missing map key.
    /// Printed by an action as `<no value>`.
    #[default]
    Missing,
    /// A nil interface (JSON `null`).
    Nil,
    /// Go `bool`.
    Bool(bool),
    /// Go `int`.
    Int(i64),
    /// Go `int64` (sprig arithmetic results).
    Int64(i64),
    /// Go `uint`.
    Uint(u64),
    /// Go `float64`.
    Float(f64),
    /// Go `string`.
    String(Str),
    /// Go `json.Number`: the literal text of a JSON number, printed verbatim.
    Number(Str),
    /// A Go slice.
    List(Arc<List>),
    /// A Go map with string keys.
    Map(Arc<Map>),
    /// Go `time.Time`.
    Time(Time),
    /// A host object.
    Object(Arc<dyn TemplateObject>),
    /// A function value (for the `call` builtin).
    Func(FuncImpl),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Missing => write!(f, "Missing"),
            Value::Nil => write!(f, "Nil"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Int64(i) => write!(f, "Int64({i})"),
            Value::Uint(u) => write!(f, "Uint({u})"),
            Value::Float(x) => write!(f, "Float({x})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::Number(s) => write!(f, "Number({s})"),
            Value::List(l) => f.debug_list().entries(l.items.iter()).finish(),
            Value::Map(m) => m.fmt(f),
            Value::Time(t) => write!(f, "Time({t:?})"),
            Value::Object(o) => write!(f, "Object({})", o.type_name()),
            Value::Func(_) => write!(f, "Func"),
        }
    }
}

impl Value {
    /// A Go `string`.
    pub fn str(s: &str) -> Value {
        Value::String(Arc::from(s))
    }

    /// A `[]interface {}` slice.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(List::new(items, ElemType::Any)))
    }

    /// A slice with an explicit element type.
    pub fn typed_list(items: Vec<Value>, elem: ElemType) -> Value {
        Value::List(Arc::new(List::new(items, elem)))
    }

    /// A `map[string]interface {}`.
    pub fn map(entries: BTreeMap<String, Value>) -> Value {
        Value::Map(Arc::new(Map::new(entries, ElemType::Any)))
    }

    /// A map with an explicit element type.
    pub fn typed_map(entries: BTreeMap<String, Value>, elem: ElemType) -> Value {
        Value::Map(Arc::new(Map::new(entries, elem)))
    }

    /// A `[]string`.
    pub fn string_list<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) -> Value {
        Value::typed_list(
            items.into_iter().map(|s| Value::str(s.as_ref())).collect(),
            ElemType::String,
        )
    }

    /// Wraps a host object.
    pub fn object<T: TemplateObject + 'static>(obj: T) -> Value {
        Value::Object(Arc::new(obj))
    }

    /// Whether this is `Missing` or `Nil`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Missing | Value::Nil)
    }

    /// Go type name as `%T` prints it.
    pub fn type_name(&self) -> String {
        match self {
            Value::Missing | Value::Nil => "<nil>".to_string(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Int64(_) => "int64".into(),
            Value::Uint(_) => "uint".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::Number(_) => "json.Number".into(),
            Value::List(l) => format!("[]{}", l.elem.go_name()),
            Value::Map(m) => format!("map[string]{}", m.elem.go_name()),
            Value::Time(_) => "time.Time".into(),
            Value::Object(o) => o.type_name().to_string(),
            Value::Func(_) => "func(...interface {}) (interface {}, error)".into(),
        }
    }

    /// Go `reflect.Kind` name (sprig `kindOf`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Missing | Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Uint(_) => "uint",
            Value::Float(_) => "float64",
            Value::String(_) | Value::Number(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Time(_) => "struct",
            Value::Object(o) => match o.to_value() {
                Some(Value::Map(_)) => "map",
                Some(Value::List(_)) => "slice",
                _ => "ptr",
            },
            Value::Func(_) => "func",
        }
    }

    /// Go template truthiness: false, 0, nil, and empty strings, slices and
    /// maps are false; everything else is true.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Missing | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Uint(u) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) | Value::Number(s) => !s.is_empty(),
            Value::List(l) => !l.items.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Time(_) | Value::Func(_) => true,
            Value::Object(o) => o.to_value().map(|v| v.truthy()).unwrap_or(true),
        }
    }

    /// Replaces a host object by its [`TemplateObject::to_value`] form.
    pub fn materialize(&self) -> Value {
        match self {
            Value::Object(o) => o.to_value().unwrap_or_else(|| self.clone()),
            _ => self.clone(),
        }
    }

    /// The string content of a `string` (not of a `json.Number`).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

impl From<&serde_json::Value> for Value {
    /// Converts JSON as Go's decoder with `UseNumber` does: numbers keep
    /// their literal text ([`Value::Number`]), objects become
    /// `map[string]interface {}` and arrays `[]interface {}`.
    fn from(v: &serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(Arc::from(n.to_string().as_str())),
            serde_json::Value::String(s) => Value::str(s),
            serde_json::Value::Array(a) => Value::list(a.iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::map(o.iter().map(|(k, v)| (k.clone(), Value::from(v))).collect())
            }
        }
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        Value::from(&v)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(Arc::from(s))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::list(v)
    }
}

impl From<BTreeMap<String, Value>> for Value {
    fn from(m: BTreeMap<String, Value>) -> Self {
        Value::map(m)
    }
}
