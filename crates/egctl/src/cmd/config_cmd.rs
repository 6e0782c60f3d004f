//! `config current-context|get-contexts|use-context|view` on `~/.egctlrc`.

use serde_json::json;

use super::{out, print_value, Ctx};
use crate::cli::ConfigCmd;
use crate::config;
use crate::table::format_table;
use crate::CmdResult;

/// Printed when there is no config file.
const NO_CONFIG: &str = "not find config file at ~/.egctlrc";

/// Runs a `config` subcommand.
pub fn config(ctx: &Ctx, c: ConfigCmd) -> CmdResult {
    let loaded = config::load_config()?;
    let Some(cfg) = loaded else {
        if let ConfigCmd::UseContext { .. } = c {
            return Err(NO_CONFIG.into());
        }
        out(&format!("{NO_CONFIG}\n"));
        return Ok(());
    };
    match c {
        ConfigCmd::CurrentContext => {
            let cur = config::current_config(&cfg)?;
            print_value(ctx, &serde_json::to_value(&cur.context).unwrap_or_default());
        }
        ConfigCmd::View => print_value(ctx, &config::redacted(&cfg)),
        ConfigCmd::GetContexts => {
            if !ctx.default_format() {
                print_value(ctx, &json!(cfg.contexts));
                return Ok(());
            }
            let mut rows = vec![vec![
                "CURRENT".to_string(),
                "NAME".into(),
                "CLUSTER".into(),
                "USER".into(),
            ]];
            for c in &cfg.contexts {
                let current = if c.name == cfg.current_context {
                    "*"
                } else {
                    ""
                };
                rows.push(vec![
                    current.into(),
                    c.name.clone(),
                    c.context.cluster.clone(),
                    c.context.user.clone(),
                ]);
            }
            out(&format_table(&rows));
        }
        ConfigCmd::UseContext { name } => {
            if !cfg.contexts.iter().any(|c| c.name == name) {
                return Err(format!("not find context {name}"));
            }
            config::write_current_context(&name)
                .map_err(|e| format!("write config file failed: {e}"))?;
            out(&format!("Switched to context {name}\n"));
        }
    }
    Ok(())
}
