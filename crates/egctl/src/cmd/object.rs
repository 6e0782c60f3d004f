//! `get`, `describe` and `delete` dispatch, and their object (non built-in)
//! implementations.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{customdata, error_msg, member, out, print_value, success_msg, Ctx};
use crate::cli::{DeleteArgs, DescribeArgs, GetArgs, NamespaceArgs};
use crate::client::Method;
use crate::output::{age_since, format_map_interface};
use crate::resources::{custom_data, Resource, DEFAULT_NAMESPACE};
use crate::table::format_table;
use crate::yaml::{scalar_string, str_ci};
use crate::CmdResult;

/// Prefix of the status namespace of traffic objects (HTTPServer, Pipeline).
const TRAFFIC_NAMESPACE_PREFIX: &str = "eg-traffic-";
/// Key under which `describe` shows the per-member status.
const STATUS_KEY: &str = "allStatus";

fn check_get_args(args: &[String]) -> CmdResult {
    match args.len() {
        0 => Err("no resource specified".into()),
        1 if custom_data().matches(&args[0]) => Err("no custom data kind specified".into()),
        1 => Ok(()),
        _ if args[0] == "all" => Err("no more args allowed for arg 'all'".into()),
        2 => Ok(()),
        3 if custom_data().matches(&args[0]) => Ok(()),
        _ => Err("invalid args".into()),
    }
}

fn objects_path(name: Option<&str>, ns: Option<&NamespaceArgs>) -> String {
    let mut path = match name {
        Some(n) => format!("/objects/{n}"),
        None => "/objects".to_string(),
    };
    if let Some(ns) = ns {
        let mut q = Vec::new();
        if !ns.namespace.is_empty() {
            q.push(format!("namespace={}", ns.namespace));
        }
        if ns.all_namespaces {
            q.push("all-namespaces=true".to_string());
        }
        if !q.is_empty() {
            path = format!("{path}?{}", q.join("&"));
        }
    }
    path
}

/// Whether object `name` exists (GET answers 2xx).
pub fn object_exists(ctx: &Ctx, name: &str) -> bool {
    ctx.req(Method::Get, &format!("/objects/{name}"), None)
        .is_ok()
}

fn kind_of(v: &Value) -> &str {
    v.get("kind").and_then(Value::as_str).unwrap_or_default()
}

fn name_of(v: &Value) -> String {
    v.get("name").map(scalar_string).unwrap_or_default()
}

fn as_list(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// Namespace → specs from an `all-namespaces` answer (sorted by namespace).
fn as_namespace_map(v: Value) -> BTreeMap<String, Vec<Value>> {
    match v {
        Value::Object(m) => m.into_iter().map(|(k, v)| (k, as_list(v))).collect(),
        _ => BTreeMap::new(),
    }
}

fn object_rows(specs: &[Value]) -> Vec<Vec<String>> {
    specs
        .iter()
        .map(|s| {
            vec![
                name_of(s),
                kind_of(s).to_string(),
                age_since(&str_ci(s, "createdAt")),
            ]
        })
        .collect()
}

/// `NAME KIND AGE` table of `specs` sorted by name.
pub fn objects_table(mut specs: Vec<Value>) -> String {
    specs.sort_by_key(name_of);
    let mut rows = vec![vec!["NAME".to_string(), "KIND".into(), "AGE".into()]];
    rows.extend(object_rows(&specs));
    format_table(&rows)
}

/// `NAME KIND NAMESPACE AGE` table; the default namespace first.
pub fn namespaced_objects_table(map: &BTreeMap<String, Vec<Value>>) -> String {
    let mut rows = vec![vec![
        "NAME".to_string(),
        "KIND".into(),
        "NAMESPACE".into(),
        "AGE".into(),
    ]];
    let mut order: Vec<&String> = map.keys().collect();
    order.sort_by_key(|k| (k.as_str() != DEFAULT_NAMESPACE, k.as_str()));
    for ns in order {
        let mut specs = map[ns].clone();
        specs.sort_by_key(name_of);
        for s in &specs {
            rows.push(vec![
                name_of(s),
                kind_of(s).to_string(),
                ns.clone(),
                age_since(&str_ci(s, "createdAt")),
            ]);
        }
    }
    format_table(&rows)
}

/// `get …`.
pub fn get_cmd(ctx: &Ctx, a: GetArgs) -> CmdResult {
    check_get_args(&a.args)?;
    if a.args[0] == "all" {
        return get_all(ctx, &a.ns);
    }
    let name = a.args.get(1).map(String::as_str);
    match ctx.resolve(&a.args[0])? {
        Resource::CustomData => {
            customdata::get_data(ctx, &a.args[1], a.args.get(2).map(String::as_str))
        }
        Resource::CustomDataKind => customdata::get_kinds(ctx, name),
        Resource::Member => member::get_members(ctx, name),
        Resource::Object(kind) => get_objects(ctx, &kind, name, &a.ns),
    }
}

fn get_all(ctx: &Ctx, ns: &NamespaceArgs) -> CmdResult {
    let mut errs = Vec::new();
    match get_all_objects(ctx, ns) {
        Ok(()) => out("\n"),
        Err(e) => errs.push(e),
    }
    if !ns.namespace.is_empty() && ns.namespace != DEFAULT_NAMESPACE {
        return if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("\n"))
        };
    }
    match member::get_members(ctx, None) {
        Ok(()) => out("\n"),
        Err(e) => errs.push(e),
    }
    match customdata::get_kinds(ctx, None) {
        Ok(()) => out("\n"),
        Err(e) => errs.push(e),
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("\n"))
    }
}

fn get_all_objects(ctx: &Ctx, ns: &NamespaceArgs) -> CmdResult {
    let get_err = |e: String| error_msg("get", &e, &["resource"]);
    let body = ctx
        .req_json(Method::Get, &objects_path(None, Some(ns)), None)
        .map_err(get_err)?;
    if !ctx.default_format() {
        print_value(ctx, &body);
        return Ok(());
    }
    if ns.all_namespaces {
        out(&namespaced_objects_table(&as_namespace_map(body)));
    } else {
        out(&objects_table(as_list(body)));
    }
    Ok(())
}

fn get_objects(ctx: &Ctx, kind: &str, name: Option<&str>, ns: &NamespaceArgs) -> CmdResult {
    let what = match name {
        Some(n) => format!("{kind} {n}"),
        None => format!("all {kind}"),
    };
    let get_err = |e: String| error_msg("get", &e, &[&what]);
    let body = ctx
        .req_json(Method::Get, &objects_path(name, Some(ns)), None)
        .map_err(get_err)?;
    let of_kind = |v: &Value| kind_of(v) == kind;
    if ns.all_namespaces {
        let mut map = as_namespace_map(body);
        for specs in map.values_mut() {
            specs.retain(of_kind);
        }
        if ctx.default_format() {
            out(&namespaced_objects_table(&map));
        } else {
            print_value(ctx, &json!(map));
        }
        return Ok(());
    }
    if !ctx.default_format() {
        if name.is_some() {
            print_value(ctx, &body);
        } else {
            let specs: Vec<Value> = as_list(body).into_iter().filter(of_kind).collect();
            print_value(ctx, &Value::Array(specs));
        }
        return Ok(());
    }
    let specs: Vec<Value> = as_list(body).into_iter().filter(of_kind).collect();
    out(&objects_table(specs));
    Ok(())
}

/// `describe …`.
pub fn describe_cmd(ctx: &Ctx, a: DescribeArgs) -> CmdResult {
    check_get_args(&a.args)?;
    let name = a.args.get(1).map(String::as_str);
    match ctx.resolve(&a.args[0])? {
        Resource::CustomData => customdata::describe_data(
            ctx,
            &a.args[1],
            a.args.get(2).map(String::as_str),
            a.verbose,
        ),
        Resource::CustomDataKind => customdata::describe_kinds(ctx, name, a.verbose),
        Resource::Member => member::describe_members(ctx, name, a.verbose),
        Resource::Object(kind) => describe_objects(ctx, &kind, name, &a.ns, a.verbose),
    }
}

/// One status entry: `<namespace>/<name>/<member>` → status.
struct StatusEntry {
    namespace: String,
    name: String,
    node: String,
    status: Value,
}

/// Parses a status map; keys that are not `ns/name/member` are skipped.
fn parse_status(body: &Value, name: Option<&str>) -> Vec<StatusEntry> {
    let Some(map) = body.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, v) in map {
        let parts: Vec<&str> = key.split('/').collect();
        if parts.len() != 3 || name.is_some_and(|n| n != parts[1]) {
            continue;
        }
        let status = match (v.get("spec"), v.get("status")) {
            (None, None) => v.clone(),
            (_, Some(s)) => s.clone(),
            (Some(_), None) => json!({}),
        };
        out.push(StatusEntry {
            namespace: parts[0].to_string(),
            name: parts[1].to_string(),
            node: parts[2].to_string(),
            status,
        });
    }
    out.sort_by(|a, b| a.node.cmp(&b.node));
    out
}

/// Status namespace of an object: traffic kinds live in `eg-traffic-<ns>`.
fn status_namespace(category: &str, kind: &str, ns: &str) -> String {
    let category = if category.is_empty() {
        match kind {
            "HTTPServer" | "GRPCServer" => "TrafficGate",
            "Pipeline" => "Pipeline",
            _ => "",
        }
    } else {
        category
    };
    if category == "Pipeline" || category == "TrafficGate" {
        format!("{TRAFFIC_NAMESPACE_PREFIX}{ns}")
    } else {
        ns.to_string()
    }
}

fn describe_objects(
    ctx: &Ctx,
    kind: &str,
    name: Option<&str>,
    ns: &NamespaceArgs,
    verbose: bool,
) -> CmdResult {
    let what = match name {
        Some(n) => format!("{kind} {n}"),
        None => format!("all {kind}"),
    };
    let get_err = |e: String| error_msg("get", &e, &[&what]);
    let body = ctx
        .req_json(Method::Get, &objects_path(name, Some(ns)), None)
        .map_err(get_err)?;
    let mut specs: BTreeMap<String, Vec<Value>> = if ns.all_namespaces {
        as_namespace_map(body)
    } else {
        let n = if ns.namespace.is_empty() {
            DEFAULT_NAMESPACE
        } else {
            ns.namespace.as_str()
        };
        BTreeMap::from([(n.to_string(), as_list(body))])
    };
    for list in specs.values_mut() {
        list.retain(|v| kind_of(v) == kind);
        list.sort_by_key(name_of);
    }
    let status_path = match name {
        Some(n) if !ns.all_namespaces => {
            if ns.namespace.is_empty() {
                format!("/status/objects/{n}")
            } else {
                format!("/status/objects/{n}?namespace={}", ns.namespace)
            }
        }
        _ => "/status/objects".to_string(),
    };
    // A missing status (object just created, member not reporting yet) must
    // not hide the spec: describe then shows an empty AllStatus.
    let status_body = ctx
        .req_json(Method::Get, &status_path, None)
        .unwrap_or(Value::Null);
    let statuses = parse_status(&status_body, name);
    let categories: BTreeMap<String, String> = ctx
        .client()
        .and_then(|c| c.api_resources())
        .map(|rs| rs.into_iter().map(|r| (r.kind, r.category)).collect())
        .unwrap_or_default();
    for (namespace, list) in specs.iter_mut() {
        for spec in list.iter_mut() {
            let k = kind_of(spec).to_string();
            let status_ns = status_namespace(
                categories.get(&k).map(String::as_str).unwrap_or(""),
                &k,
                namespace,
            );
            let n = name_of(spec);
            let all: Vec<Value> = statuses
                .iter()
                .filter(|s| s.namespace == status_ns && s.name == n)
                .map(|s| json!({"node": s.node, "status": s.status}))
                .collect();
            if let Some(obj) = spec.as_object_mut() {
                obj.insert(STATUS_KEY.into(), Value::Array(all));
            }
        }
    }
    if !ctx.default_format() {
        let v = if ns.all_namespaces {
            json!(specs)
        } else {
            Value::Array(specs.into_values().next().unwrap_or_default())
        };
        print_value(ctx, &v);
        return Ok(());
    }
    const FRONTS: [&str; 10] = [
        "name", "kind", "version", "", "flow", "", "filters", "", "rules", "",
    ];
    let mut printed = false;
    let mut order: Vec<&String> = specs.keys().collect();
    order.sort_by_key(|k| (k.as_str() != DEFAULT_NAMESPACE, k.as_str()));
    for ns_name in order {
        let list = &specs[ns_name];
        if list.is_empty() {
            continue;
        }
        if printed {
            out("\n\n");
        }
        let banner = format!("In Namespace {ns_name}:");
        let line = "=".repeat(banner.len());
        out(&format!("{line}\n{banner}\n{line}\n"));
        out(&format_map_interface(list, &FRONTS, &[STATUS_KEY], verbose));
        printed = true;
    }
    Ok(())
}

/// `delete …`.
pub fn delete_cmd(ctx: &Ctx, a: DeleteArgs) -> CmdResult {
    if a.args.is_empty() {
        return Err("no resource specified".into());
    }
    let res = ctx
        .resolve(&a.args[0])
        .map_err(|e| format!("invalid resource for {}, {e}", a.args[0]))?;
    if a.all {
        let ok = match res {
            Resource::CustomData => a.args.len() == 2,
            _ => a.args.len() == 1,
        };
        if !ok {
            return Err("invalid arguments for --all".into());
        }
    } else if res == Resource::CustomData {
        if a.args.len() < 3 {
            return Err("requires custom data kind and id".into());
        }
    } else if a.args.len() < 2 {
        return Err("invalid arguments".into());
    }
    match res {
        Resource::CustomData => customdata::delete_data(ctx, &a.args[1], &a.args[2..], a.all),
        Resource::CustomDataKind => customdata::delete_kinds(ctx, &a.args[1..], a.all),
        Resource::Member => member::delete_members(ctx, &a.args[1..]),
        Resource::Object(kind) => delete_objects(ctx, &kind, &a.args[1..], a.all),
    }
}

fn delete_objects(ctx: &Ctx, kind: &str, names: &[String], all: bool) -> CmdResult {
    let what = if all {
        format!("all {kind}")
    } else {
        format!("{kind} {}", names.join(", "))
    };
    let get_err = |e: String| error_msg("delete", &e, &[&what]);
    let body = ctx
        .req_json(Method::Get, "/objects", None)
        .map_err(get_err)?;
    let mut metas: Vec<Value> = as_list(body)
        .into_iter()
        .filter(|v| kind_of(v) == kind)
        .collect();
    metas.sort_by_key(name_of);
    if all {
        for m in &metas {
            let n = name_of(m);
            ctx.req(Method::Delete, &format!("/objects/{n}"), None)
                .map_err(get_err)?;
            out(&format!("{}\n", success_msg("delete", &[kind, &n])));
        }
        return Ok(());
    }
    let existing: Map<String, Value> = metas.iter().map(|m| (name_of(m), Value::Null)).collect();
    for n in names {
        if !existing.contains_key(n) {
            return Err(get_err(format!("no such {kind} {n}")));
        }
        ctx.req(Method::Delete, &format!("/objects/{n}"), None)
            .map_err(get_err)?;
        out(&format!("{}\n", success_msg("delete", &[kind, n])));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_args_rules() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(check_get_args(&s(&[])).is_err());
        assert!(check_get_args(&s(&["cd"])).is_err());
        assert!(check_get_args(&s(&["pl"])).is_ok());
        assert!(check_get_args(&s(&["all", "x"])).is_err());
        assert!(check_get_args(&s(&["pl", "a"])).is_ok());
        assert!(check_get_args(&s(&["cd", "k", "id"])).is_ok());
        assert!(check_get_args(&s(&["pl", "a", "b"])).is_err());
    }

    #[test]
    fn status_keys_and_namespaces() {
        let body = json!({
            "eg-traffic-default/p1/m1": {"health": "ok"},
            "eg-traffic-default/p2/m1": {"spec": {}, "status": {"x": 1}},
            "garbage": {}
        });
        let s = parse_status(&body, Some("p2"));
        assert_eq!(s.len(), 1);
        assert_eq!(
            (s[0].namespace.as_str(), s[0].node.as_str()),
            ("eg-traffic-default", "m1")
        );
        assert_eq!(s[0].status, json!({"x": 1}));
        assert_eq!(
            status_namespace("", "Pipeline", "default"),
            "eg-traffic-default"
        );
        assert_eq!(
            status_namespace("BusinessController", "GlobalFilter", "default"),
            "default"
        );
    }

    #[test]
    fn object_table_is_sorted() {
        let t = objects_table(vec![
            json!({"name": "b", "kind": "Pipeline"}),
            json!({"name": "a", "kind": "HTTPServer"}),
        ]);
        assert_eq!(
            t,
            "NAME\tKIND\t\tAGE\t\t\na\tHTTPServer\tunknown\t\t\nb\tPipeline\tunknown\t\t\n"
        );
    }
}
