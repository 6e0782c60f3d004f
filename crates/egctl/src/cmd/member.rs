//! Cluster members: `get member`, `describe member`, `delete member`.

use serde_json::{Map, Value};

use super::{error_msg, out, print_body, success_msg, Ctx};
use crate::client::Method;
use crate::output::{age_since, format_map_interface};
use crate::resources::MEMBER_KIND;
use crate::table::format_table;
use crate::yaml::{get_ci, str_ci};
use crate::CmdResult;

fn options(m: &Value) -> Value {
    get_ci(m, "options").cloned().unwrap_or(Value::Null)
}

fn member_name(m: &Value) -> String {
    str_ci(&options(m), "name")
}

/// Table row of one member: NAME ROLE AGE STATE API-ADDR HEARTBEAT.
pub fn member_row(m: &Value) -> Vec<String> {
    let opts = options(m);
    let etcd = get_ci(m, "etcd").cloned().unwrap_or(Value::Null);
    let start = str_ci(&etcd, "startTime");
    let heartbeat = str_ci(m, "lastHeartbeatTime");
    let hb = match age_since(&heartbeat).as_str() {
        "unknown" => "unknown".to_string(),
        age => format!("{age} ago"),
    };
    vec![
        str_ci(&opts, "name"),
        str_ci(&opts, "clusterRole"),
        age_since(&start),
        str_ci(&etcd, "state"),
        str_ci(&opts, "apiAddr"),
        hb,
    ]
}

/// Members table.
pub fn members_table(members: &[Value]) -> String {
    let mut rows: Vec<Vec<String>> =
        vec![["NAME", "ROLE", "AGE", "STATE", "API-ADDR", "HEARTBEAT"]
            .iter()
            .map(|s| s.to_string())
            .collect()];
    rows.extend(members.iter().map(member_row));
    format_table(&rows)
}

fn fetch(ctx: &Ctx, err: &dyn Fn(String) -> String) -> CmdResult<(Vec<u8>, Vec<Value>)> {
    let body = ctx.req(Method::Get, "/status/members", None).map_err(err)?;
    let v = crate::client::parse_body(&body).map_err(err)?;
    let list = match v {
        Value::Array(a) => a,
        _ => Vec::new(),
    };
    Ok((body, list))
}

fn select(
    list: Vec<Value>,
    name: Option<&str>,
    err: &dyn Fn(String) -> String,
) -> CmdResult<Vec<Value>> {
    match name {
        None => Ok(list),
        Some(n) => {
            let found: Vec<Value> = list
                .into_iter()
                .filter(|m| member_name(m) == n)
                .take(1)
                .collect();
            if found.is_empty() {
                Err(err(format!("member {n} not found")))
            } else {
                Ok(found)
            }
        }
    }
}

fn what(name: Option<&str>) -> String {
    match name {
        Some(n) => format!("{MEMBER_KIND} {n}"),
        None => format!("all {MEMBER_KIND}"),
    }
}

/// `get member [NAME]`.
pub fn get_members(ctx: &Ctx, name: Option<&str>) -> CmdResult {
    let w = what(name);
    let err = |e: String| error_msg("get", &e, &[&w]);
    let (body, list) = fetch(ctx, &err)?;
    if !ctx.default_format() {
        print_body(ctx, &body);
        return Ok(());
    }
    let list = select(list, name, &err)?;
    out(&members_table(&list));
    Ok(())
}

/// Flattens a member status for `describe`: options merged at top level.
fn describe_map(m: &Value) -> Value {
    let mut res = Map::new();
    for key in ["etcd", "lastHeartbeatTime", "lastDefragTime"] {
        res.insert(
            key.to_string(),
            get_ci(m, key).cloned().unwrap_or(Value::Null),
        );
    }
    if let Some(opts) = options(m).as_object() {
        for (k, v) in opts {
            res.insert(k.clone(), v.clone());
        }
    }
    Value::Object(res)
}

/// `describe member [NAME]`.
pub fn describe_members(ctx: &Ctx, name: Option<&str>, verbose: bool) -> CmdResult {
    let w = what(name);
    let err = |e: String| error_msg("describe", &e, &[&w]);
    let (body, list) = fetch(ctx, &err)?;
    if !ctx.default_format() {
        print_body(ctx, &body);
        return Ok(());
    }
    let list = select(list, name, &err)?;
    let maps: Vec<Value> = list.iter().map(describe_map).collect();
    out(&format_map_interface(
        &maps,
        &["name", "lastHeartbeatTime", "", "etcd", ""],
        &[],
        verbose,
    ));
    Ok(())
}

/// `delete member NAME…` (purge).
pub fn delete_members(ctx: &Ctx, names: &[String]) -> CmdResult {
    for n in names {
        ctx.req(Method::Delete, &format!("/status/members/{n}"), None)
            .map_err(|e| error_msg("purge", &e, &[MEMBER_KIND, n]))?;
        out(&format!("{}\n", success_msg("purge", &[MEMBER_KIND, n])));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn member_row_reads_go_style_keys() {
        let m = json!({
            "options": {"Name": "eg-1", "ClusterRole": "primary", "APIAddr": "127.0.0.1:2381"},
            "lastHeartbeatTime": "not-a-time",
            "etcd": {"state": "Leader"}
        });
        assert_eq!(
            member_row(&m),
            vec![
                "eg-1",
                "primary",
                "unknown",
                "Leader",
                "127.0.0.1:2381",
                "unknown"
            ]
        );
        let d = describe_map(&m);
        let text = format_map_interface(
            &[d],
            &["name", "lastHeartbeatTime", "", "etcd", ""],
            &[],
            false,
        );
        assert!(
            text.starts_with(
                "Name: eg-1\nLastHeartbeatTime: not-a-time\n\nEtcd: state: Leader\n\n"
            ),
            "{text}"
        );
        assert!(text.contains("ClusterRole: primary\n"), "{text}");
    }
}
