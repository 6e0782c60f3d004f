//! Informational and maintenance commands: apis, api-resources, health,
//! metrics, logs, profile, wasm, completion.

use std::io::{BufRead, BufReader, Write};

use clap::CommandFactory;
use serde_json::{json, Value};

use super::{out, print_body, print_value, read_input, Ctx};
use crate::cli::{Cli, LogsArgs, LogsSub, ProfileCmd, ProfileStart, Shell, WasmCmd};
use crate::client::{Method, API_PREFIX};
use crate::resources::{custom_data, custom_data_kind, member, ApiResource};
use crate::table::format_table;
use crate::yaml::{get_ci, str_ci};
use crate::CmdResult;

/// Actions offered for object kinds and custom data.
const OBJECT_ACTIONS: &str = "create,apply,delete,get,describe";
/// Actions offered for members.
const MEMBER_ACTIONS: &str = "delete,get,describe";

/// `health`: `OK` when `GET /healthz` answers 2xx.
pub fn health(ctx: &Ctx) -> CmdResult {
    ctx.req(Method::Get, "/healthz", None)?;
    if ctx.default_format() {
        out("OK\n");
    } else {
        print_value(ctx, &json!({"message": "OK"}));
    }
    Ok(())
}

/// Rows of the `apis` table from `GET /apis/v2` (sorted by path).
pub fn apis_rows(groups: &Value) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for g in groups.as_array().into_iter().flatten() {
        let group = str_ci(g, "group");
        for e in get_ci(g, "entries")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            // Entry paths are relative to the version prefix; a server that
            // lists them absolute is shown the same way.
            let path = str_ci(e, "path");
            let path = path
                .strip_prefix(API_PREFIX)
                .map(String::from)
                .unwrap_or(path);
            rows.push(vec![
                path,
                str_ci(e, "method"),
                API_PREFIX.to_string(),
                group.clone(),
            ]);
        }
    }
    rows.sort_by(|a, b| a[0].cmp(&b[0]));
    rows
}

/// `apis`: table `PATH METHOD VERSION GROUP`.
pub fn apis(ctx: &Ctx) -> CmdResult {
    let body = ctx.req(Method::Get, "", None)?;
    if !ctx.default_format() {
        print_body(ctx, &body);
        return Ok(());
    }
    let groups = crate::client::parse_body(&body)
        .map_err(|e| format!("unmarshal API groups failed: {e}"))?;
    let mut rows = vec![vec![
        "PATH".to_string(),
        "METHOD".into(),
        "VERSION".into(),
        "GROUP".into(),
    ]];
    rows.extend(apis_rows(&groups));
    out(&format_table(&rows));
    Ok(())
}

/// Rows of `api-resources` (header included).
pub fn api_resources_table(objects: &[ApiResource]) -> String {
    let mut rows: Vec<Vec<String>> = objects
        .iter()
        .map(|r| {
            let mut aliases = r.aliases.clone();
            aliases.sort_by_key(String::len);
            vec![
                r.name.clone(),
                aliases.join(","),
                r.category.clone(),
                r.kind.clone(),
                OBJECT_ACTIONS.into(),
            ]
        })
        .collect();
    rows.sort_by(|a, b| a[0].cmp(&b[0]));
    rows.insert(
        0,
        ["NAME", "ALIASES", "CATEGORY", "KIND", "ACTION"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    );
    for (r, action) in [
        (custom_data_kind(), OBJECT_ACTIONS),
        (custom_data(), OBJECT_ACTIONS),
        (member(), MEMBER_ACTIONS),
    ] {
        rows.push(vec![
            r.name,
            r.aliases.join(","),
            r.kind,
            action.to_string(),
        ]);
    }
    format_table(&rows)
}

/// `api-resources`.
pub fn api_resources(ctx: &Ctx) -> CmdResult {
    let objects = ctx.client()?.api_resources()?;
    out(&api_resources_table(&objects));
    Ok(())
}

/// `metrics`: raw Prometheus text.
pub fn metrics(ctx: &Ctx) -> CmdResult {
    let body = ctx.req(Method::Get, "/metrics", None)?;
    out(&format!("{}\n", String::from_utf8_lossy(&body)));
    Ok(())
}

/// `logs [--tail N] [-f]`, `logs get-level`, `logs set-level LEVEL`.
pub fn logs(ctx: &Ctx, a: LogsArgs) -> CmdResult {
    match a.sub {
        Some(LogsSub::GetLevel) => {
            let body = ctx.req(Method::Get, "/logs/level", None)?;
            out(&format!("{}\n", String::from_utf8_lossy(&body)));
            Ok(())
        }
        Some(LogsSub::SetLevel { level }) => {
            ctx.req(Method::Put, &format!("/logs/level/{level}"), None)?;
            out(&format!("Set log level to {level}\n"));
            Ok(())
        }
        None => {
            let path = format!("{API_PREFIX}/logs?tail={}&follow={}", a.tail, a.follow);
            let mut resp = ctx.client()?.request_raw(Method::Get, &path, None)?;
            let reader = BufReader::new(resp.body_mut().as_reader());
            let stdout = std::io::stdout();
            for line in reader.split(b'\n') {
                let mut line = line.map_err(|e| e.to_string())?;
                line.push(b'\n');
                let mut lock = stdout.lock();
                if lock.write_all(&line).and_then(|_| lock.flush()).is_err() {
                    return Ok(());
                }
            }
            Ok(())
        }
    }
}

fn single_path(path: &[String]) -> CmdResult<&str> {
    match path {
        [p] => Ok(p),
        _ => Err("requires one file path".into()),
    }
}

fn print_or(ctx: &Ctx, body: &[u8], fallback: &str) {
    if body.iter().all(u8::is_ascii_whitespace) {
        print_value(ctx, &json!({"msg": fallback}));
    } else {
        print_body(ctx, body);
    }
}

/// `profile info|start cpu P|start memory P|stop`.
pub fn profile(ctx: &Ctx, p: ProfileCmd) -> CmdResult {
    match p {
        ProfileCmd::Info => {
            let body = ctx.req(Method::Get, "/profile", None)?;
            print_body(ctx, &body);
        }
        ProfileCmd::Start(ProfileStart::Cpu { path }) => {
            let body = ctx.req(
                Method::Post,
                "/profile/start/cpu",
                Some(&json!({"path": single_path(&path)?})),
            )?;
            print_or(ctx, &body, "CPU profiling started");
        }
        ProfileCmd::Start(ProfileStart::Memory { path }) => {
            let body = ctx.req(
                Method::Post,
                "/profile/start/memory",
                Some(&json!({"path": single_path(&path)?})),
            )?;
            print_or(ctx, &body, "Memory profiling started");
        }
        ProfileCmd::Stop => {
            let body = ctx.req(Method::Post, "/profile/stop", None)?;
            print_or(ctx, &body, "Profiling stopped");
        }
    }
    Ok(())
}

fn pipeline_filter(args: &[String]) -> CmdResult<(&str, &str)> {
    match args {
        [p, f] => Ok((p, f)),
        _ => Err("requires pipeline and filter name".into()),
    }
}

/// `wasm reload-code|apply-data|list-data|delete-data`.
pub fn wasm(ctx: &Ctx, w: WasmCmd) -> CmdResult {
    match w {
        WasmCmd::ReloadCode => print_body(ctx, &ctx.req(Method::Post, "/wasm/code", None)?),
        WasmCmd::DeleteData { args } => {
            let (p, f) = pipeline_filter(&args)?;
            print_body(
                ctx,
                &ctx.req(Method::Delete, &format!("/wasm/data/{p}/{f}"), None)?,
            );
        }
        WasmCmd::ListData { args } => {
            let (p, f) = pipeline_filter(&args)?;
            print_body(
                ctx,
                &ctx.req(Method::Get, &format!("/wasm/data/{p}/{f}"), None)?,
            );
        }
        WasmCmd::ApplyData { args, file } => {
            let (p, f) = pipeline_filter(&args)?;
            let file = file
                .filter(|f| !f.is_empty())
                .ok_or("yaml file is required")?;
            let text = read_input(&file, "Apply shared data to a WasmHost filter")?;
            let docs: Vec<Value> =
                serde_saphyr::from_multiple_with_options(&text, crate::yaml::yaml_options())
                    .map_err(|e| e.to_string())?;
            for doc in docs.iter().filter(|d| !d.is_null()) {
                print_body(
                    ctx,
                    &ctx.req(Method::Put, &format!("/wasm/data/{p}/{f}"), Some(doc))?,
                );
            }
        }
    }
    Ok(())
}

/// Completion script for `shell`, starting with the comment line
/// `# <shell> completion for egctl` (after `#compdef` for zsh).
pub fn completion_script(shell: Shell) -> String {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    match shell {
        Shell::Bash => {
            clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, "egctl", &mut buf)
        }
        Shell::Zsh => {
            clap_complete::generate(clap_complete::Shell::Zsh, &mut cmd, "egctl", &mut buf)
        }
    }
    let script = String::from_utf8_lossy(&buf).into_owned();
    match shell {
        Shell::Bash => format!(
            "# bash completion for egctl                               -*- shell-script -*-\n\n{script}{}",
            super::names::BASH_NAMES
        ),
        Shell::Zsh => match script.split_once('\n') {
            Some((first, rest)) if first.starts_with("#compdef") => {
                format!("{first}\n# zsh completion for egctl                                -*- shell-script -*-\n{rest}")
            }
            _ => format!("#compdef egctl\n# zsh completion for egctl\n{script}"),
        },
    }
}

/// `completion bash|zsh`.
pub fn completion(shell: Shell) -> CmdResult {
    out(&completion_script(shell));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apis_rows_accept_any_key_case() {
        let v = json!([{"Group": "admin", "Entries": [{"Path": "/objects", "Method": "POST"}, {"path": "/apis/v2/healthz", "method": "GET"}]}]);
        assert_eq!(
            apis_rows(&v),
            vec![
                vec!["/healthz", "GET", "/apis/v2", "admin"],
                vec!["/objects", "POST", "/apis/v2", "admin"]
            ]
        );
    }

    #[test]
    fn api_resources_rows() {
        let t = api_resources_table(&[ApiResource {
            kind: "HTTPServer".into(),
            name: "httpserver".into(),
            aliases: vec!["httpservers".into(), "hs".into()],
            category: "TrafficGate".into(),
        }]);
        let rows: Vec<Vec<&str>> = t.lines().map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(rows[0], ["NAME", "ALIASES", "CATEGORY", "KIND", "ACTION"]);
        assert_eq!(
            rows[1],
            [
                "httpserver",
                "hs,httpservers",
                "TrafficGate",
                "HTTPServer",
                OBJECT_ACTIONS
            ]
        );
        assert_eq!(
            rows[4],
            ["member", "m,mem,members", "Member", MEMBER_ACTIONS]
        );
    }

    #[test]
    fn completion_headers() {
        assert!(completion_script(Shell::Bash).contains("bash completion for egctl"));
        let zsh = completion_script(Shell::Zsh);
        assert!(
            zsh.starts_with("#compdef egctl\n# zsh completion for egctl"),
            "{}",
            &zsh[..80]
        );
    }
}
