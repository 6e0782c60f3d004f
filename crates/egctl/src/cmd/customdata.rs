//! Custom data kinds (`cdk`) and custom data (`cd`).

use serde_json::Value;

use super::{error_msg, out, print_body, success_msg, Ctx};
use crate::client::Method;
use crate::output::format_map_interface;
use crate::resources::{CUSTOM_DATA_KIND, CUSTOM_DATA_KIND_KIND};
use crate::table::format_table;
use crate::yaml::{get_ci, scalar_string, str_ci, SpecDoc};
use crate::CmdResult;

/// ID field used when a kind names none.
const DEFAULT_ID_FIELD: &str = "name";

/// Document body without the `kind` (and, for change requests, `name`)
/// routing fields that only egctl needs.
fn strip(doc: &SpecDoc, keys: &[&str]) -> Value {
    let mut v = doc.value.clone();
    if let Some(obj) = v.as_object_mut() {
        for k in keys {
            obj.remove(*k);
        }
    }
    v
}

/// `create -f` of a CustomDataKind document.
pub fn create_kind(ctx: &Ctx, doc: &SpecDoc) -> CmdResult {
    ctx.req(
        Method::Post,
        "/customdatakinds",
        Some(&strip(doc, &["kind"])),
    )
    .map_err(|e| error_msg("create", &e, &[&doc.kind, &doc.name]))?;
    out(&format!(
        "{}\n",
        success_msg("create", &[&doc.kind, &doc.name])
    ));
    Ok(())
}

/// `apply -f` of a CustomDataKind document (PUT if it exists, else POST).
pub fn apply_kind(ctx: &Ctx, doc: &SpecDoc) -> CmdResult {
    let exists = ctx
        .req(Method::Get, &format!("/customdatakinds/{}", doc.name), None)
        .is_ok();
    let (action, method) = if exists {
        ("update", Method::Put)
    } else {
        ("create", Method::Post)
    };
    ctx.req(method, "/customdatakinds", Some(&strip(doc, &["kind"])))
        .map_err(|e| error_msg(action, &e, &[&doc.kind, &doc.name]))?;
    out(&format!(
        "{}\n",
        success_msg(action, &[&doc.kind, &doc.name])
    ));
    Ok(())
}

/// `create`/`apply -f` of a CustomData change request `{name: <kind>, rebuild, delete, list}`.
pub fn change_data(ctx: &Ctx, doc: &SpecDoc, action: &str) -> CmdResult {
    let target = format!("for kind {}", doc.name);
    ctx.req(
        Method::Post,
        &format!("/customdata/{}/items", doc.name),
        Some(&strip(doc, &["kind", "name"])),
    )
    .map_err(|e| error_msg(action, &e, &[&doc.kind, &target]))?;
    out(&format!("{}\n", success_msg(action, &[&doc.kind, &target])));
    Ok(())
}

fn kinds_path(name: Option<&str>) -> String {
    match name {
        Some(n) => format!("/customdatakinds/{n}"),
        None => "/customdatakinds".into(),
    }
}

fn as_list(v: Value, list: bool) -> Vec<Value> {
    match v {
        Value::Array(a) if list => a,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// `NAME ID-FIELD JSON-SCHEMA DATA-NUM` table.
pub fn kinds_table(kinds: &[Value]) -> String {
    let mut rows = vec![vec![
        "NAME".to_string(),
        "ID-FIELD".into(),
        "JSON-SCHEMA".into(),
        "DATA-NUM".into(),
    ]];
    for k in kinds {
        let id = str_ci(k, "idField");
        let schema = get_ci(k, "jsonSchema").is_some_and(|s| !s.is_null());
        let len = get_ci(k, "len").and_then(Value::as_i64).unwrap_or(0);
        rows.push(vec![
            str_ci(k, "name"),
            if id.is_empty() { "-".into() } else { id },
            if schema { "yes".into() } else { "no".into() },
            len.to_string(),
        ]);
    }
    format_table(&rows)
}

fn what_kind(name: Option<&str>) -> String {
    match name {
        Some(n) => format!("{CUSTOM_DATA_KIND_KIND} {n}"),
        None => format!("all {CUSTOM_DATA_KIND_KIND}"),
    }
}

/// `get customdatakind [NAME]`.
pub fn get_kinds(ctx: &Ctx, name: Option<&str>) -> CmdResult {
    let w = what_kind(name);
    let err = |e: String| error_msg("get", &e, &[&w]);
    let body = ctx.req(Method::Get, &kinds_path(name), None).map_err(err)?;
    if !ctx.default_format() {
        print_body(ctx, &body);
        return Ok(());
    }
    let mut kinds = as_list(
        crate::client::parse_body(&body).map_err(err)?,
        name.is_none(),
    );
    kinds.sort_by_key(|k| str_ci(k, "name"));
    out(&kinds_table(&kinds));
    Ok(())
}

/// `describe customdatakind [NAME]`.
pub fn describe_kinds(ctx: &Ctx, name: Option<&str>, verbose: bool) -> CmdResult {
    let w = what_kind(name);
    let err = |e: String| error_msg("describe", &e, &[&w]);
    let body = ctx.req(Method::Get, &kinds_path(name), None).map_err(err)?;
    if !ctx.default_format() {
        print_body(ctx, &body);
        return Ok(());
    }
    let kinds = as_list(
        crate::client::parse_body(&body).map_err(err)?,
        name.is_none(),
    );
    out(&format_map_interface(&kinds, &["name"], &[], verbose));
    Ok(())
}

/// ID field of custom data kind `kind` (default `name`).
pub fn id_field(ctx: &Ctx, kind: &str) -> CmdResult<String> {
    let k = ctx.req_json(Method::Get, &format!("/customdatakinds/{kind}"), None)?;
    let id = str_ci(&k, "idField");
    Ok(if id.is_empty() {
        DEFAULT_ID_FIELD.into()
    } else {
        id
    })
}

fn data_path(kind: &str, id: Option<&str>) -> String {
    match id {
        Some(i) => format!("/customdata/{kind}/{i}"),
        None => format!("/customdata/{kind}"),
    }
}

fn what_data(kind: &str, id: Option<&str>) -> String {
    match id {
        Some(i) => format!("{CUSTOM_DATA_KIND} with id {i} for kind {kind}"),
        None => format!("{CUSTOM_DATA_KIND} for kind {kind}"),
    }
}

/// `get customdata KIND [ID]`: a one-column table of IDs.
pub fn get_data(ctx: &Ctx, kind: &str, id: Option<&str>) -> CmdResult {
    let w = what_data(kind, id);
    let err = |e: String| error_msg("get", &e, &[&w]);
    let body = ctx
        .req(Method::Get, &data_path(kind, id), None)
        .map_err(err)?;
    if !ctx.default_format() {
        print_body(ctx, &body);
        return Ok(());
    }
    let field = id_field(ctx, kind).map_err(err)?;
    let data = as_list(crate::client::parse_body(&body).map_err(err)?, id.is_none());
    let mut rows = vec![vec![field.to_uppercase()]];
    rows.extend(
        data.iter()
            .map(|d| vec![d.get(&field).map(scalar_string).unwrap_or_default()]),
    );
    out(&format_table(&rows));
    Ok(())
}

/// `describe customdata KIND [ID]`.
pub fn describe_data(ctx: &Ctx, kind: &str, id: Option<&str>, verbose: bool) -> CmdResult {
    let w = what_data(kind, id);
    let err = |e: String| error_msg("describe", &e, &[&w]);
    let body = ctx
        .req(Method::Get, &data_path(kind, id), None)
        .map_err(err)?;
    if !ctx.default_format() {
        print_body(ctx, &body);
        return Ok(());
    }
    let field = id_field(ctx, kind).map_err(err)?;
    let data = as_list(crate::client::parse_body(&body).map_err(err)?, id.is_none());
    out(&format_map_interface(
        &data,
        &[field.as_str()],
        &[],
        verbose,
    ));
    Ok(())
}

/// `delete customdata KIND ID…` or `delete customdata KIND --all`.
pub fn delete_data(ctx: &Ctx, kind: &str, ids: &[String], all: bool) -> CmdResult {
    if all {
        let target = format!("for kind {kind}");
        ctx.req(Method::Delete, &format!("/customdata/{kind}/items"), None)
            .map_err(|e| error_msg("delete", &e, &[CUSTOM_DATA_KIND, &target]))?;
        out(&format!(
            "{}\n",
            success_msg("delete", &[CUSTOM_DATA_KIND, &target])
        ));
        return Ok(());
    }
    for id in ids {
        let target = format!("{id} for kind {kind}");
        ctx.req(Method::Delete, &format!("/customdata/{kind}/{id}"), None)
            .map_err(|e| error_msg("delete", &e, &[CUSTOM_DATA_KIND, &target]))?;
        out(&format!(
            "{}\n",
            success_msg("delete", &[CUSTOM_DATA_KIND, &target])
        ));
    }
    Ok(())
}

/// `delete customdatakind NAME…` or `--all`.
pub fn delete_kinds(ctx: &Ctx, names: &[String], all: bool) -> CmdResult {
    if all {
        ctx.req(Method::Delete, "/customdatakinds", None)
            .map_err(|e| error_msg("delete", &e, &["all", CUSTOM_DATA_KIND_KIND]))?;
        out(&format!(
            "{}\n",
            success_msg("delete", &["all", CUSTOM_DATA_KIND_KIND])
        ));
        return Ok(());
    }
    for n in names {
        ctx.req(Method::Delete, &format!("/customdatakinds/{n}"), None)
            .map_err(|e| error_msg("delete", &e, &[CUSTOM_DATA_KIND_KIND, n]))?;
        out(&format!(
            "{}\n",
            success_msg("delete", &[CUSTOM_DATA_KIND_KIND, n])
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_table_columns() {
        let t = kinds_table(&[
            json!({"name": "custom-data-kind1", "idField": "name", "jsonSchema": null, "len": 2}),
            json!({"name": "k2", "jsonSchema": {"type": "object"}, "len": 0}),
        ]);
        let rows: Vec<Vec<&str>> = t
            .lines()
            .map(|l| l.split('\t').filter(|c| !c.is_empty()).collect())
            .collect();
        assert_eq!(rows[0], ["NAME", "ID-FIELD", "JSON-SCHEMA", "DATA-NUM"]);
        assert_eq!(rows[1], ["custom-data-kind1", "name", "no", "2"]);
        assert_eq!(rows[2], ["k2", "-", "yes", "0"]);
    }
}
