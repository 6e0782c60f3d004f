//! Command implementations. Each prints its results on stdout and returns an
//! error message for `Error: …` on stderr (exit status 1).

mod config_cmd;
mod convert;
mod create;
mod customdata;
mod diff;
mod edit;
mod explain;
mod general;
mod member;
mod names;
mod object;

use std::cell::OnceCell;
use std::io::Write;

use serde_json::Value;

use crate::cli::{Cli, Command};
use crate::client::{Client, ConnOptions, Method, API_PREFIX};
use crate::output::{render_body, OutputFormat};
use crate::resources::{self, Resource};
use crate::CmdResult;

/// `-o` when not given: tables and descriptions.
const DEFAULT_FORMAT: &str = "default";

/// Shared state of one egctl run: flags and a lazily built client.
pub struct Ctx {
    conn: ConnOptions,
    /// `-o` value.
    pub format: OutputFormat,
    client: OnceCell<Client>,
}

impl Ctx {
    /// New context from the global flags; fails for an unknown `-o` value.
    pub fn new(cli: &Cli) -> CmdResult<Ctx> {
        Ok(Ctx {
            conn: ConnOptions {
                server: cli.server.clone(),
                force_tls: cli.force_tls,
                insecure_skip_verify: cli.insecure_skip_verify,
            },
            format: OutputFormat::parse(cli.output.as_deref().unwrap_or(DEFAULT_FORMAT))?,
            client: OnceCell::new(),
        })
    }

    /// The admin API client (built on first use from flags and `~/.egctlrc`).
    pub fn client(&self) -> CmdResult<&Client> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let c = Client::new(&self.conn)?;
        Ok(self.client.get_or_init(|| c))
    }

    /// Request to `/apis/v2<path>` returning the raw body.
    pub fn req(&self, method: Method, path: &str, body: Option<&Value>) -> CmdResult<Vec<u8>> {
        self.client()?
            .request(method, &format!("{API_PREFIX}{path}"), body)
    }

    /// Request to `/apis/v2<path>` returning parsed JSON (`null` if empty).
    pub fn req_json(&self, method: Method, path: &str, body: Option<&Value>) -> CmdResult<Value> {
        self.client()?
            .request_json(method, &format!("{API_PREFIX}{path}"), body)
    }

    /// Whether output is the default (tables, descriptions).
    pub fn default_format(&self) -> bool {
        self.format == OutputFormat::Default
    }

    /// Resolves a resource argument (asks the server only for object kinds).
    pub fn resolve(&self, arg: &str) -> CmdResult<Resource> {
        if let Some(r) = resources::is_builtin(arg) {
            return Ok(r);
        }
        let objects = self.client()?.api_resources()?;
        resources::resolve(arg, &objects)
    }
}

/// Writes text to stdout (ignoring a closed pipe).
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Prints a server body as Easegress's `PrintBody`: nothing for an empty
/// body, JSON/YAML rendering for JSON, the raw text otherwise.
pub fn print_body(ctx: &Ctx, body: &[u8]) {
    if body.is_empty() {
        return;
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => out(&render_body(&v, ctx.format)),
        Err(_) => out(&String::from_utf8_lossy(body)),
    }
}

/// Prints a value in the selected non-default format (YAML for default).
pub fn print_value(ctx: &Ctx, v: &Value) {
    out(&render_body(v, ctx.format));
}

/// `<action> <values…> successfully`.
pub fn success_msg(action: &str, values: &[&str]) -> String {
    format!("{action} {} successfully", values.join(" "))
}

/// `<action> <values…> failed, <err>`.
pub fn error_msg(action: &str, err: &str, values: &[&str]) -> String {
    format!("{action} {} failed, {err}", values.join(" "))
}

/// Reads `-f FILE` (or stdin for `-`).
pub fn read_input(file: &str, what: &str) -> CmdResult<String> {
    if file == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| format!("{what} failed: {e}"))?;
        return Ok(s);
    }
    std::fs::read_to_string(file).map_err(|e| format!("{what} failed: open {file}: {e}"))
}

/// Exit status of `diff` when the file differs from the stored objects.
pub const EXIT_DIFFERENCES: i32 = 1;
/// Exit status of `diff` when it could not compare (kubectl's convention).
pub const EXIT_DIFF_ERROR: i32 = 2;

/// Runs the parsed command line; `Ok` holds the exit status.
pub fn run(cli: Cli) -> CmdResult<i32> {
    if let Command::Convert(c) = &cli.command {
        return convert::convert(c, cli.output.as_deref()).map(|()| 0);
    }
    let ctx = Ctx::new(&cli)?;
    match cli.command {
        Command::Diff(a) => Ok(match diff::diff(&ctx, a) {
            Ok(true) => EXIT_DIFFERENCES,
            Ok(false) => 0,
            Err(e) => {
                eprintln!("Error: {e}");
                EXIT_DIFF_ERROR
            }
        }),
        other => run_command(&ctx, other).map(|()| 0),
    }
}

fn run_command(ctx: &Ctx, command: Command) -> CmdResult {
    match command {
        Command::Diff(a) => diff::diff(ctx, a).map(|_| ()),
        Command::Explain { target } => explain::explain(ctx, &target),
        Command::Names { kind } => names::names(ctx, kind.as_deref()),
        Command::Create(a) => create::create(ctx, a),
        Command::Apply(a) => create::apply(ctx, a),
        Command::Delete(a) => object::delete_cmd(ctx, a),
        Command::Get(a) => object::get_cmd(ctx, a),
        Command::Describe(a) => object::describe_cmd(ctx, a),
        Command::Edit(a) => edit::edit_cmd(ctx, a),
        Command::Apis => general::apis(ctx),
        Command::ApiResources => general::api_resources(ctx),
        Command::Health => general::health(ctx),
        Command::Metrics => general::metrics(ctx),
        Command::Completion { shell } => general::completion(shell),
        Command::Profile(p) => general::profile(ctx, p),
        Command::Wasm(w) => general::wasm(ctx, w),
        Command::Logs(l) => general::logs(ctx, l),
        Command::Config(c) => config_cmd::config(ctx, c),
        Command::Convert(c) => convert::convert(&c, None),
    }
}
