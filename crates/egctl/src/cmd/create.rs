//! `create -f`, `apply -f` and `create httpproxy`.

use base64::Engine;
use serde_json::Value;

use super::{customdata, error_msg, object, out, read_input, success_msg, Ctx};
use crate::cli::{CreateArgs, CreateSub, FileArgs, HttpProxyArgs};
use crate::client::Method;
use crate::httpproxy::{self, TlsOptions};
use crate::resources::{CUSTOM_DATA_KIND, CUSTOM_DATA_KIND_KIND};
use crate::yaml::{parse_spec_docs, SpecDoc};
use crate::CmdResult;

fn load_docs(file: Option<&str>, what: &str) -> CmdResult<Vec<SpecDoc>> {
    let file = file
        .filter(|f| !f.is_empty())
        .ok_or("yaml file is required")?;
    let text = read_input(file, what)?;
    parse_spec_docs(&text)
}

/// `create -f FILE|-` or `create httpproxy …`.
pub fn create(ctx: &Ctx, args: CreateArgs) -> CmdResult {
    if let Some(CreateSub::Httpproxy(h)) = args.sub {
        return create_httpproxy(ctx, h);
    }
    for doc in load_docs(
        args.file.as_deref(),
        "Create a resource from a file or from stdin.",
    )? {
        match doc.kind.as_str() {
            CUSTOM_DATA_KIND_KIND | CUSTOM_DATA_KIND if args.dry_run => {
                return Err(no_dry_run(&doc));
            }
            CUSTOM_DATA_KIND_KIND => customdata::create_kind(ctx, &doc)?,
            CUSTOM_DATA_KIND => customdata::change_data(ctx, &doc, "create")?,
            _ => create_object(ctx, &doc, args.dry_run)?,
        }
    }
    Ok(())
}

/// `apply -f FILE|-`: update existing objects, create missing ones.
pub fn apply(ctx: &Ctx, args: FileArgs) -> CmdResult {
    for doc in load_docs(
        args.file.as_deref(),
        "Apply a configuration to a resource by filename or stdin",
    )? {
        match doc.kind.as_str() {
            CUSTOM_DATA_KIND_KIND | CUSTOM_DATA_KIND if args.dry_run => {
                return Err(no_dry_run(&doc));
            }
            CUSTOM_DATA_KIND_KIND => customdata::apply_kind(ctx, &doc)?,
            CUSTOM_DATA_KIND => customdata::change_data(ctx, &doc, "apply")?,
            _ => apply_object(ctx, &doc, args.dry_run)?,
        }
    }
    Ok(())
}

/// Custom data is not validated by the server beyond its JSON schema; a dry run is refused
/// rather than pretending.
fn no_dry_run(doc: &SpecDoc) -> String {
    format!(
        "--dry-run checks objects; {} {} is custom data",
        doc.kind, doc.name
    )
}

/// The query of a write: `?dryRun=true` when only validating.
fn dry_run_query(dry_run: bool) -> &'static str {
    if dry_run {
        "?dryRun=true"
    } else {
        ""
    }
}

/// The success line, marked `(dry run)` when nothing was stored.
fn done_msg(action: &str, doc: &SpecDoc, dry_run: bool) -> String {
    let msg = success_msg(action, &[&doc.kind, &doc.name]);
    if dry_run {
        format!("{msg} (dry run)\n")
    } else {
        format!("{msg}\n")
    }
}

/// POST one object.
pub fn create_object(ctx: &Ctx, doc: &SpecDoc, dry_run: bool) -> CmdResult {
    ctx.req(
        Method::Post,
        &format!("/objects{}", dry_run_query(dry_run)),
        Some(&doc.value),
    )
    .map_err(|e| error_msg("create", &e, &[&doc.kind, &doc.name]))?;
    out(&done_msg("create", doc, dry_run));
    Ok(())
}

/// GET, then PUT ("update") or POST ("create") one object.
pub fn apply_object(ctx: &Ctx, doc: &SpecDoc, dry_run: bool) -> CmdResult {
    let exists = object::object_exists(ctx, &doc.name);
    let action = if exists { "update" } else { "create" };
    let query = dry_run_query(dry_run);
    let res = if exists {
        ctx.req(
            Method::Put,
            &format!("/objects/{}{query}", doc.name),
            Some(&doc.value),
        )
    } else {
        ctx.req(Method::Post, &format!("/objects{query}"), Some(&doc.value))
    };
    res.map_err(|e| error_msg(action, &e, &[&doc.kind, &doc.name]))?;
    out(&done_msg(action, doc, dry_run));
    Ok(())
}

fn load_cert_file(path: &str) -> CmdResult<String> {
    let data = std::fs::read(path).map_err(|e| format!("open {path}: {e}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(data))
}

fn to_doc(v: Value) -> SpecDoc {
    SpecDoc {
        kind: crate::yaml::str_ci(&v, "kind"),
        name: crate::yaml::str_ci(&v, "name"),
        value: v,
    }
}

/// `create httpproxy NAME --port P --rule …`.
fn create_httpproxy(ctx: &Ctx, a: HttpProxyArgs) -> CmdResult {
    if a.name.len() != 1 {
        return Err("create httpproxy requires a name".into());
    }
    let port = u16::try_from(a.port).map_err(|_| format!("port {} is invalid", a.port))?;
    if a.rules.is_empty() {
        return Err("rule is required".into());
    }
    if a.cert_files.len() != a.key_files.len() {
        return Err("cert files and key files are not matched".into());
    }
    let rules = a
        .rules
        .iter()
        .map(|r| httpproxy::parse_rule(r))
        .collect::<CmdResult<Vec<_>>>()?;
    let ca_cert_base64 = if a.ca_cert_file.is_empty() {
        String::new()
    } else {
        load_cert_file(&a.ca_cert_file)?
    };
    let mut certs = Vec::new();
    for (cert, key) in a.cert_files.iter().zip(&a.key_files) {
        certs.push((cert.clone(), load_cert_file(cert)?, load_cert_file(key)?));
    }
    if !a.auto_cert_domain_name.is_empty() || !a.dns_provider.is_empty() {
        if !a.auto_cert {
            return Err(
                "auto cert domain name or dns provider is set, but auto cert is not enabled".into(),
            );
        }
        if a.auto_cert_domain_name.is_empty() {
            return Err("auto cert domain name is required when provide dns provider".into());
        }
        if a.dns_provider.is_empty() {
            return Err(
                "auto cert dns provider is required when provide auto cert domain name".into(),
            );
        }
    }
    let dns = httpproxy::parse_dns_provider(&a.dns_provider)?;
    let tls = TlsOptions {
        enabled: a.tls,
        auto_cert: a.auto_cert,
        ca_cert_base64,
        certs,
    };
    let name = &a.name[0];
    let (hs, pipelines) = httpproxy::translate(name, port, &rules, &tls);
    if !a.auto_cert_domain_name.is_empty() {
        let all = ctx.req_json(Method::Get, "/objects", None)?;
        let managers: Vec<&Value> = all
            .as_array()
            .map(|l| {
                l.iter()
                    .filter(|s| s.get("kind").and_then(Value::as_str) == Some("AutoCertManager"))
                    .collect()
            })
            .unwrap_or_default();
        if managers.len() > 1 {
            return Err("there are more than one AutoCertManager".into());
        }
        let spec = httpproxy::auto_cert_manager_spec(
            managers.first().copied(),
            &a.auto_cert_email,
            &a.auto_cert_domain_name,
            &dns,
        )?;
        apply_object(ctx, &to_doc(spec), false)?;
    }
    create_object(ctx, &to_doc(hs), false)?;
    for p in pipelines {
        create_object(ctx, &to_doc(p), false)?;
    }
    Ok(())
}
