//! Checking a pipeline spec and compiling it into a flow of filter indexes.
//!
//! Filters are built once per generation; flow nodes refer to them by index; every `jumpIf`
//! target is resolved to the index of a later node (or to the end), so running the flow is
//! an index loop that always moves forward.

use std::collections::HashMap;
use std::sync::Arc;

use eg_filters::resilience::Policies;
use eg_filters::{BuildContext, Filter, FilterKind, FilterRegistry, FilterSpec};
use eg_protocols::DEFAULT_NAMESPACE;
use eg_spec::error::join_path;
use eg_spec::meta::validate_name;
use eg_spec::SpecError;
use eg_supervisor::Supervisor;
use serde_json::Value;
use smallvec::SmallVec;

use super::spec::{FlowNodeSpec, PipelineSpec, END};

/// A built filter and what the pipeline knows about it.
pub(crate) struct FilterSlot {
    /// The filter name.
    pub name: Arc<str>,
    /// The kind name.
    pub kind: &'static str,
    /// The instance shared by all requests of this generation.
    pub filter: Box<dyn Filter>,
}

/// Where the flow goes after a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// The next node.
    Continue,
    /// The node at this (later) index.
    At(usize),
    /// Stop; the flow "saw END".
    End,
}

/// One compiled flow step.
pub(crate) struct Node {
    /// Index into [`Flow::filters`]; `None` for the built-in `END`.
    pub filter: Option<usize>,
    /// The name shown in stats (alias or filter name).
    pub alias: Arc<str>,
    /// The namespace made active before the filter runs (interned per flow).
    pub namespace: Arc<str>,
    /// Where to go on the result `""`.
    pub on_ok: Next,
    /// Where to go on a listed non-empty result; any other non-empty result ends the flow.
    pub jumps: SmallVec<[(&'static str, Next); 2]>,
}

/// A compiled flow with its filters.
pub(crate) struct Flow {
    /// The filters, in definition order.
    pub filters: Box<[FilterSlot]>,
    /// The steps.
    pub nodes: Box<[Node]>,
}

impl Flow {
    /// The filter called `name`.
    pub fn filter(&self, name: &str) -> Option<&FilterSlot> {
        self.filters.iter().find(|f| &*f.name == name)
    }
}

/// A compiled spec: the flow, the `data` value and the warnings found.
pub(crate) struct Compiled {
    pub flow: Flow,
    pub data: Option<Value>,
    pub warnings: Vec<String>,
}

/// Checks `spec` (found at `prefix` of its document) and builds its filters.
///
/// Nothing is started: filters are built but not initialised, so a failed or discarded
/// compilation has no effect.
pub(crate) fn compile(
    pipeline: &str,
    spec: &PipelineSpec,
    prefix: &str,
    registry: &FilterRegistry,
    sup: &Supervisor,
) -> Result<Compiled, SpecError> {
    let parts = compile_parts(
        pipeline,
        spec,
        prefix,
        registry,
        sup,
        |kind, fspec, bctx| (kind.build)(fspec, bctx).map(|b| (b.filter, b.warnings)),
    )?;
    Ok(Compiled {
        flow: Flow {
            filters: parts
                .filters
                .into_iter()
                .map(|(name, kind, filter)| FilterSlot { name, kind, filter })
                .collect(),
            nodes: parts.nodes,
        },
        data: spec
            .data
            .as_ref()
            .filter(|d| !d.is_empty())
            .map(|d| Value::Object(d.clone())),
        warnings: parts.warnings,
    })
}

/// Checks `spec` (found at `prefix` of its document) as [`compile`] does, with every filter
/// checked by its kind's check ([`eg_filters::FilterKind::validate`]) instead of built, and
/// returns the warnings found.
pub(crate) fn check(
    pipeline: &str,
    spec: &PipelineSpec,
    prefix: &str,
    registry: &FilterRegistry,
    sup: &Supervisor,
) -> Result<Vec<String>, SpecError> {
    let parts = compile_parts(
        pipeline,
        spec,
        prefix,
        registry,
        sup,
        |kind, fspec, bctx| kind.validate(fspec, bctx).map(|w| ((), w)),
    )?;
    Ok(parts.warnings)
}

/// The filters of a spec (name, kind, and what `make` made of each) and its flow.
struct Parts<T> {
    filters: Vec<(Arc<str>, &'static str, T)>,
    nodes: Box<[Node]>,
    warnings: Vec<String>,
}

/// Checks the policies, the filters' meta and the flow of `spec`; each filter spec goes
/// through `make` (check or build), which returns its warnings with what it made.
fn compile_parts<T>(
    pipeline: &str,
    spec: &PipelineSpec,
    prefix: &str,
    registry: &FilterRegistry,
    sup: &Supervisor,
    mut make: impl FnMut(
        &FilterKind,
        &FilterSpec,
        &BuildContext<'_>,
    ) -> Result<(T, Vec<String>), SpecError>,
) -> Result<Parts<T>, SpecError> {
    let filters_path = join_path(prefix, "filters");
    let Some(filter_docs) = &spec.filters else {
        return Err(SpecError::new(filters_path, "required"));
    };
    let (policies, mut warnings) =
        Policies::decode(&spec.resilience, &join_path(prefix, "resilience"))?;
    let bctx = BuildContext::new(sup, &policies);
    let mut filters: Vec<(Arc<str>, &'static str, T)> = Vec::with_capacity(filter_docs.len());
    for (i, doc) in filter_docs.iter().enumerate() {
        let at = format!("{filters_path}[{i}]");
        let (name, kind) = filter_meta(doc, &at, registry)?;
        if filters.iter().any(|f| *f.0 == name) {
            return Err(SpecError::new(
                join_path(&at, "name"),
                format!("duplicated filter name {name:?}"),
            ));
        }
        let fspec = FilterSpec {
            name: name.clone(),
            kind: kind.kind.to_string(),
            doc: doc.clone(),
            pipeline: pipeline.to_string(),
            path: at,
        };
        let (made, w) = make(kind, &fspec, &bctx)?;
        warnings.extend(w);
        filters.push((name.into(), kind.kind, made));
    }
    let nodes = if spec.flow.is_empty() {
        default_nodes(&filters)
    } else {
        compile_flow(&spec.flow, &filters, registry, &join_path(prefix, "flow"))?
    };
    Ok(Parts {
        filters,
        nodes,
        warnings,
    })
}

/// Reads and checks `name` and `kind` of the filter spec at `at`.
fn filter_meta<'r>(
    doc: &Value,
    at: &str,
    registry: &'r FilterRegistry,
) -> Result<(String, &'r FilterKind), SpecError> {
    let obj = doc
        .as_object()
        .ok_or_else(|| SpecError::new(at, "must be a mapping with name and kind"))?;
    let name_path = join_path(at, "name");
    let name = match obj.get("name") {
        None | Some(Value::Null) => return Err(SpecError::new(name_path, "required")),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(SpecError::new(
                name_path,
                format!("must be a string, got {other}"),
            ))
        }
    };
    validate_name(&name, &name_path)?;
    if name == END {
        return Err(SpecError::new(
            name_path,
            format!("{END:?} is reserved for the built-in end filter"),
        ));
    }
    let kind_path = join_path(at, "kind");
    let kind = match obj.get("kind") {
        None | Some(Value::Null) => return Err(SpecError::new(kind_path, "required")),
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(SpecError::new(
                kind_path,
                format!("must be a string, got {other}"),
            ))
        }
    };
    let kind = registry
        .get(kind)
        .ok_or_else(|| SpecError::new(kind_path, format!("unknown filter kind {kind:?}")))?;
    Ok((name, kind))
}

/// One step per filter, in definition order, on `DEFAULT`.
fn default_nodes<T>(filters: &[(Arc<str>, &'static str, T)]) -> Box<[Node]> {
    let ns: Arc<str> = Arc::from(DEFAULT_NAMESPACE);
    filters
        .iter()
        .enumerate()
        .map(|(i, f)| Node {
            filter: Some(i),
            alias: f.0.clone(),
            namespace: ns.clone(),
            on_ok: Next::Continue,
            jumps: SmallVec::new(),
        })
        .collect()
}

/// Checks the flow (walking it backwards, as Easegress does, so that a target must appear
/// later) and resolves every jump to a node index.
fn compile_flow<T>(
    flow: &[FlowNodeSpec],
    filters: &[(Arc<str>, &'static str, T)],
    registry: &FilterRegistry,
    path: &str,
) -> Result<Box<[Node]>, SpecError> {
    let mut namespaces: HashMap<&str, Arc<str>> = HashMap::new();
    // alias → (how many later nodes carry it, index of the nearest one).
    let mut targets: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut nodes: Vec<Option<Node>> = (0..flow.len()).map(|_| None).collect();
    for (i, node) in flow.iter().enumerate().rev() {
        let at = format!("{path}[{i}]");
        let filter_path = join_path(&at, "filter");
        if node.filter.is_empty() {
            return Err(SpecError::new(filter_path, "required"));
        }
        let ns_name = if node.namespace.is_empty() {
            DEFAULT_NAMESPACE
        } else {
            node.namespace.as_str()
        };
        let namespace = namespaces
            .entry(ns_name)
            .or_insert_with(|| Arc::from(ns_name))
            .clone();
        if node.filter == END {
            nodes[i] = Some(Node {
                filter: None,
                alias: Arc::from(END),
                namespace,
                on_ok: Next::End,
                jumps: SmallVec::new(),
            });
            continue;
        }
        validate_name(&node.filter, &filter_path)?;
        let Some(index) = filters.iter().position(|f| *f.0 == node.filter) else {
            return Err(SpecError::new(
                filter_path,
                format!("filter {:?} not found", node.filter),
            ));
        };
        let kind = registry
            .get(filters[index].1)
            .ok_or_else(|| SpecError::new(&filter_path, "filter kind vanished"))?;
        let mut on_ok = Next::Continue;
        let mut jumps = SmallVec::new();
        for (result, target) in &node.jump_if {
            // The success key `""` is shown quoted so the path does not end in a dot.
            let key = if result.is_empty() {
                "\"\""
            } else {
                result.as_str()
            };
            let jp = join_path(&join_path(&at, "jumpIf"), key);
            let interned = if result.is_empty() {
                None
            } else {
                Some(kind.result(result).ok_or_else(|| {
                    SpecError::new(
                        &jp,
                        format!(
                            "result {result:?} is not a result of filter kind {} (results: {})",
                            kind.kind,
                            if kind.results.is_empty() {
                                "none".to_string()
                            } else {
                                kind.results.join(", ")
                            }
                        ),
                    )
                })?)
            };
            let next = resolve_target(target, &targets, &jp)?;
            match interned {
                None => on_ok = next,
                Some(r) => jumps.push((r, next)),
            }
        }
        let alias = node.alias();
        let entry = targets.entry(alias).or_insert((0, i));
        entry.0 += 1;
        entry.1 = i;
        nodes[i] = Some(Node {
            filter: Some(index),
            alias: Arc::from(alias),
            namespace,
            on_ok,
            jumps,
        });
    }
    Ok(nodes.into_iter().flatten().collect())
}

/// Resolves a jump target among the nodes after the current one.
fn resolve_target(
    target: &str,
    later: &HashMap<&str, (usize, usize)>,
    path: &str,
) -> Result<Next, SpecError> {
    if target == END {
        return Ok(Next::End);
    }
    match later.get(target) {
        None => Err(SpecError::new(
            path,
            format!(
                "target {target:?} not found: a jump target must be {END} or the name or \
                 alias of a filter that comes later in the flow"
            ),
        )),
        Some((count, _)) if *count > 1 => Err(SpecError::new(
            path,
            format!("duplicated filter name/alias {target:?} later in the flow"),
        )),
        Some((_, idx)) => Ok(Next::At(*idx)),
    }
}
