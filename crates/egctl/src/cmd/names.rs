//! Names for shell completion: `egctl __names` lists the resource names, `egctl __names
//! KIND` the names of that resource's objects (members, custom data kinds), one per line.
//! The bash completion script calls it for `get`, `describe`, `delete` and `edit`.

use serde_json::Value;

use super::{out, Ctx};
use crate::client::Method;
use crate::resources::{self, Resource};
use crate::yaml::{get_ci, str_ci};
use crate::CmdResult;

/// Prints the names `kind` can complete to (resource names when `kind` is absent).
pub fn names(ctx: &Ctx, kind: Option<&str>) -> CmdResult {
    let list = match kind {
        None => resource_names(ctx)?,
        Some(kind) => object_names(ctx, kind)?,
    };
    let mut text = String::new();
    for n in list {
        text.push_str(&n);
        text.push('\n');
    }
    out(&text);
    Ok(())
}

fn resource_names(ctx: &Ctx) -> CmdResult<Vec<String>> {
    let mut names: Vec<String> = ctx
        .client()?
        .api_resources()?
        .into_iter()
        .map(|r| r.name)
        .collect();
    for builtin in [
        resources::member(),
        resources::custom_data_kind(),
        resources::custom_data(),
    ] {
        names.push(builtin.name);
    }
    names.push("all".into());
    names.sort();
    Ok(names)
}

fn object_names(ctx: &Ctx, kind: &str) -> CmdResult<Vec<String>> {
    let mut names: Vec<String> = match ctx.resolve(kind)? {
        Resource::Object(kind) => ctx
            .req_json(Method::Get, "/objects", None)?
            .as_array()
            .into_iter()
            .flatten()
            .filter(|o| o.get("kind").and_then(Value::as_str) == Some(kind.as_str()))
            .map(|o| str_ci(o, "name"))
            .collect(),
        Resource::Member => ctx
            .req_json(Method::Get, "/status/members", None)?
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| str_ci(get_ci(m, "options").unwrap_or(&Value::Null), "name"))
            .collect(),
        Resource::CustomDataKind | Resource::CustomData => ctx
            .req_json(Method::Get, "/customdatakinds", None)?
            .as_array()
            .into_iter()
            .flatten()
            .map(|k| str_ci(k, "name"))
            .collect(),
    };
    names.retain(|n| !n.is_empty());
    names.sort();
    Ok(names)
}

/// Bash code added after clap's completion function: object names after
/// `get|describe|delete|edit KIND`, resource names after the verb, clap's completion for
/// the rest. The connection flags typed on the line are passed on to `egctl __names`.
pub const BASH_NAMES: &str = r#"
# Object names: `egctl get|describe|delete|edit KIND <TAB>` asks the server.
_egctl_names() {
    local i word verb="" kind="" pos=0 flags=()
    for (( i = 1; i < COMP_CWORD; i++ )); do
        word=${COMP_WORDS[i]}
        case "$word" in
            --server|-o|--output)
                [[ $word == --server ]] && flags+=(--server "${COMP_WORDS[i+1]}")
                (( i++ )) ;;
            --server=*) flags+=("$word") ;;
            --force-tls|--insecure-skip-verify) flags+=("$word") ;;
            -*) ;;
            *) (( pos++ ))
               if (( pos == 1 )); then verb=$word; elif (( pos == 2 )); then kind=$word; fi ;;
        esac
    done
    case "$verb" in
        get|describe|delete|edit)
            if (( pos == 1 )); then
                COMPREPLY=( $(compgen -W "$(egctl "${flags[@]}" __names 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}") )
                return 0
            elif (( pos == 2 )); then
                COMPREPLY=( $(compgen -W "$(egctl "${flags[@]}" __names "$kind" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}") )
                return 0
            fi ;;
    esac
    _egctl "$@"
}
if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _egctl_names -o nosort -o bashdefault -o default egctl
else
    complete -F _egctl_names -o bashdefault -o default egctl
fi
"#;
