//! `edit <resource> NAME`: GET → temp file → `$EGCTL_EDITOR` (default `vi`) → PUT.

use std::path::PathBuf;

use serde_json::Value;

use super::{error_msg, out, success_msg, Ctx};
use crate::cli::EditArgs;
use crate::client::Method;
use crate::resources::{custom_data, Resource, CUSTOM_DATA_KIND};
use crate::yaml::{parse_yaml, scalar_string, str_ci, to_yaml};
use crate::CmdResult;

/// Editor used when `EGCTL_EDITOR` is unset.
const DEFAULT_EDITOR: &str = "vi";

fn temp_path(kind: &str, name: &str) -> PathBuf {
    let ts = chrono::Local::now().format("%Y-%m-%d-%H%M");
    std::env::temp_dir().join(format!("{kind}-{name}-{ts}.yaml"))
}

/// Writes `old`, runs the editor, returns the new text (`None` if unchanged).
fn edit_text(old: &str, path: &PathBuf) -> CmdResult<Option<String>> {
    std::fs::write(path, old).map_err(|e| e.to_string())?;
    let editor = std::env::var("EGCTL_EDITOR")
        .ok()
        .filter(|e| !e.is_empty())
        .unwrap_or(DEFAULT_EDITOR.into());
    let mut parts = editor.split_whitespace();
    let program = parts.next().unwrap_or(DEFAULT_EDITOR);
    let status = std::process::Command::new(program)
        .args(parts)
        .arg(path)
        .status()
        .map_err(|e| format!("run editor {editor} failed: {e}"))?;
    if !status.success() {
        return Err(format!("editor {editor} exited with {status}"));
    }
    let new = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    if new == old {
        out(&format!(
            "nothing changed; temp file in {}\n",
            path.display()
        ));
        return Ok(None);
    }
    Ok(Some(new))
}

fn with_path(err: String, path: &std::path::Path) -> String {
    format!("{err}\n  yaml saved in {}", path.display())
}

/// YAML of a spec with `name` and `kind` first, as Easegress writes it.
fn spec_yaml(v: &Value, kind: &str) -> String {
    let mut rest = v.clone();
    if let Some(obj) = rest.as_object_mut() {
        obj.remove("name");
        obj.remove("kind");
    }
    let name = v.get("name").map(scalar_string).unwrap_or_default();
    let body = if rest.as_object().is_some_and(|o| o.is_empty()) {
        String::new()
    } else {
        to_yaml(&rest)
    };
    format!("name: {name}\nkind: {kind}\n\n{body}")
}

/// Runs `edit`.
pub fn edit_cmd(ctx: &Ctx, a: EditArgs) -> CmdResult {
    let args = &a.args;
    if args.len() <= 1 {
        return Err("no resource and name specified".into());
    }
    if args.len() > 3 || (args.len() == 3 && !custom_data().matches(&args[0])) {
        return Err("invalid args".into());
    }
    let name = &args[1];
    match ctx.resolve(&args[0])? {
        Resource::Member => Err("cannot edit member".into()),
        Resource::Object(kind) => {
            let err = |e: String| error_msg("edit", &e, &[&kind, name]);
            let spec = ctx
                .req_json(Method::Get, &format!("/objects/{name}"), None)
                .map_err(err)?;
            let path = temp_path(&kind, name);
            let Some(new) = edit_text(&spec_yaml(&spec, &kind), &path).map_err(err)? else {
                return Ok(());
            };
            let v = parse_yaml(&new).map_err(|e| err(with_path(e, &path)))?;
            if str_ci(&v, "name") != *name || str_ci(&v, "kind") != kind {
                return Err(err(with_path("name or kind is not equal".into(), &path)));
            }
            ctx.req(Method::Put, &format!("/objects/{name}"), Some(&v))
                .map_err(|e| err(with_path(e, &path)))?;
            out(&format!("{}\n", success_msg("update", &[&kind, name])));
            let _ = std::fs::remove_file(&path);
            Ok(())
        }
        Resource::CustomDataKind => {
            let kind = crate::resources::CUSTOM_DATA_KIND_KIND;
            let err = |e: String| error_msg("edit", &e, &[kind, name]);
            let spec = ctx
                .req_json(Method::Get, &format!("/customdatakinds/{name}"), None)
                .map_err(err)?;
            let path = temp_path(kind, name);
            let Some(new) = edit_text(&spec_yaml(&spec, kind), &path).map_err(err)? else {
                return Ok(());
            };
            let mut v = parse_yaml(&new).map_err(|e| err(with_path(e, &path)))?;
            if str_ci(&v, "name") != *name {
                return Err(err(with_path("name is not equal".into(), &path)));
            }
            if let Some(o) = v.as_object_mut() {
                o.remove("kind");
            }
            ctx.req(Method::Put, "/customdatakinds", Some(&v))
                .map_err(|e| err(with_path(e, &path)))?;
            out(&format!("{}\n", success_msg("update", &[kind, name])));
            let _ = std::fs::remove_file(&path);
            Ok(())
        }
        Resource::CustomData => match args.get(2) {
            Some(id) => {
                let target = format!("{CUSTOM_DATA_KIND} {name} {id}");
                let err = |e: String| error_msg("edit", &e, &[&target]);
                let item = ctx
                    .req_json(Method::Get, &format!("/customdata/{name}/{id}"), None)
                    .map_err(err)?;
                let path = temp_path(CUSTOM_DATA_KIND, name);
                let old = format!("# edit CustomData for kind {name}\n\n{}", to_yaml(&item));
                let Some(new) = edit_text(&old, &path).map_err(err)? else {
                    return Ok(());
                };
                let v = parse_yaml(&new).map_err(|e| err(with_path(e, &path)))?;
                let field = super::customdata::id_field(ctx, name).map_err(err)?;
                if str_ci(&v, &field) != str_ci(&item, &field) {
                    return Err(err(with_path(
                        format!("edit cannot change the {field} of custom data"),
                        &path,
                    )));
                }
                ctx.req(Method::Put, &format!("/customdata/{name}"), Some(&v))
                    .map_err(|e| err(with_path(e, &path)))?;
                let _ = std::fs::remove_file(&path);
                out(&format!(
                    "{}\n",
                    success_msg("edit", &[CUSTOM_DATA_KIND, name, id])
                ));
                Ok(())
            }
            None => {
                let target = format!("{CUSTOM_DATA_KIND} {name}");
                let err = |e: String| error_msg("edit", &e, &[&target]);
                let list = ctx
                    .req_json(Method::Get, &format!("/customdata/{name}"), None)
                    .map_err(err)?;
                let batch = serde_json::json!({"rebuild": true, "list": list});
                let old = format!("name: {name}\nkind: CustomData\n\n{}", to_yaml(&batch));
                let path = temp_path(CUSTOM_DATA_KIND, name);
                let Some(new) = edit_text(&old, &path).map_err(err)? else {
                    return Ok(());
                };
                let mut v = parse_yaml(&new).map_err(|e| err(with_path(e, &path)))?;
                if str_ci(&v, "name") != *name {
                    return Err(err(with_path("name is not equal".into(), &path)));
                }
                if let Some(o) = v.as_object_mut() {
                    o.remove("kind");
                    o.remove("name");
                }
                ctx.req(Method::Post, &format!("/customdata/{name}/items"), Some(&v))
                    .map_err(|e| err(with_path(e, &path)))?;
                let _ = std::fs::remove_file(&path);
                out(&format!(
                    "{}\n",
                    success_msg("apply", &[CUSTOM_DATA_KIND, &format!("for kind {name}")])
                ));
                Ok(())
            }
        },
    }
}
