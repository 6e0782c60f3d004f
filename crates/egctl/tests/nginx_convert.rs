//! `egctl convert nginx` on realistic configurations (`tests/nginx/*`): the objects it
//! writes, its warnings and its errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use egctl::yaml::parse_spec_docs;
use serde_json::{json, Value};

/// A copy of `tests/nginx/<name>` in a temporary directory (certificates are generated
/// there), so that nothing is written into the source tree.
fn sample(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/nginx")
        .join(name);
    copy_dir(&from, dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).expect("copy");
        }
    }
}

/// What one run gave.
struct Converted {
    code: Option<i32>,
    docs: Vec<(String, String, Value)>,
    stderr: String,
}

impl Converted {
    fn object(&self, name: &str) -> &Value {
        self.docs
            .iter()
            .find(|(_, n, _)| n == name)
            .map(|(_, _, v)| v)
            .unwrap_or_else(|| panic!("no object {name}; stderr: {}", self.stderr))
    }

    fn names(&self, kind: &str) -> Vec<&str> {
        self.docs
            .iter()
            .filter(|(k, _, _)| k == kind)
            .map(|(_, n, _)| n.as_str())
            .collect()
    }
}

fn convert(conf: &Path, extra: &[&str]) -> Converted {
    let out: PathBuf = conf.with_file_name("out.yaml");
    let o = Command::new(env!("CARGO_BIN_EXE_egctl"))
        .args(["convert", "nginx", "-f"])
        .arg(conf)
        .arg("-o")
        .arg(&out)
        .args(extra)
        .output()
        .expect("run egctl");
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let docs = parse_spec_docs(&text)
        .expect("the output is YAML objects")
        .into_iter()
        .map(|d| (d.kind, d.name, d.value))
        .collect();
    Converted {
        code: o.status.code(),
        docs,
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn reverse_proxy_with_weighted_upstreams() {
    let dir = sample("upstream");
    let c = convert(&dir.path().join("nginx.conf"), &[]);
    assert_eq!(c.code, Some(0), "{}", c.stderr);
    assert_eq!(c.names("HTTPServer"), ["nginx-8080"]);
    assert_eq!(c.names("Pipeline"), ["nginx-root", "nginx-search"]);
    let hs = c.object("nginx-8080");
    assert_eq!(hs["port"], 8080);
    assert_eq!(
        hs["rules"][0]["paths"],
        json!([{ "pathPrefix": "/search/", "backend": "nginx-search" },
               { "pathPrefix": "/", "backend": "nginx-root" }])
    );
    let root = &c.object("nginx-root")["filters"];
    assert_eq!(root[0]["kind"], "RequestAdaptor");
    let template = root[0]["template"].as_str().expect("template");
    assert!(template.contains("{{ .req.Host }}") && template.contains("{{ .req.RemoteAddr }}"));
    assert_eq!(root[1]["compression"], json!({ "minLength": 1024 }));
    assert_eq!(
        root[1]["pools"][0]["loadBalance"]["policy"],
        "weightedRandom"
    );
    let weights: Vec<(String, i64)> = root[1]["pools"][0]["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .map(|s| {
            (
                s["url"].as_str().unwrap_or_default().to_string(),
                s["weight"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        weights,
        [
            ("http://10.0.0.11:8080".to_string(), 3),
            ("http://10.0.0.12:8080".to_string(), 1),
            ("http://10.0.0.13:8080".to_string(), 2)
        ]
    );
    let search = &c.object("nginx-search")["filters"];
    assert_eq!(
        search[0]["path"]["regexpReplace"],
        json!({ "regexp": "^/search/", "replace": "/" })
    );
    assert_eq!(search[1]["pools"][0]["loadBalance"]["policy"], "ipHash");
    assert!(search[1].get("compression").is_none());
    for w in [
        "nginx.conf:2: directive \"worker_processes\" is not converted",
        "nginx.conf:12: upstream server parameter \"max_fails=3\" is not converted",
        "nginx.conf:40: directive \"root\" is not converted",
        "nginx.conf:39: location /static/ has no proxy_pass; not converted",
    ] {
        assert!(
            c.stderr.contains(&format!("{w}\n")),
            "no warning {w} in {}",
            c.stderr
        );
    }
    assert!(
        c.stderr.lines().all(|l| l.starts_with("WARNING: ")),
        "{}",
        c.stderr
    );
}

/// Writes a self-signed certificate, its key and a CA file where `tls/nginx.conf` wants them.
fn write_certificates(dir: &Path) -> (String, String) {
    let pair = eg_testkit::self_signed(&["secure.example.com"]);
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).expect("mkdir");
    std::fs::write(certs.join("server.crt"), &pair.cert_pem).expect("write");
    std::fs::write(certs.join("server.key"), &pair.key_pem).expect("write");
    std::fs::write(certs.join("ca.crt"), &pair.cert_pem).expect("write");
    (pair.cert_pem, pair.key_pem)
}

#[test]
fn tls_with_certificates_and_a_plain_port() {
    use base64::Engine;
    let dir = sample("tls");
    let (cert, key) = write_certificates(dir.path());
    let c = convert(
        &dir.path().join("nginx.conf"),
        &["--resource-prefix", "site"],
    );
    assert_eq!(c.code, Some(0), "{}", c.stderr);
    assert_eq!(c.names("HTTPServer"), ["site-80", "site-443"]);
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let https = c.object("site-443");
    assert_eq!(https["https"], true);
    assert_eq!(https["certs"], json!({ "certs/server.crt": b64(&cert) }));
    assert_eq!(https["keys"], json!({ "certs/server.crt": b64(&key) }));
    assert_eq!(https["caCertBase64"], json!(b64(&cert)));
    let plain = c.object("site-80");
    assert!(plain.get("https").is_none());
    assert_eq!(plain["rules"], https["rules"]);
    assert_eq!(plain["rules"][0]["paths"][0]["backend"], "site-root");
    let template = c.object("site-root")["filters"][0]["template"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        template.contains("X-Forwarded-Proto") && template.contains(".req.URL.Scheme"),
        "{template}"
    );
    assert!(
        c.stderr
            .contains("nginx.conf:13: directive \"ssl_session_cache\" is not converted"),
        "{}",
        c.stderr
    );
}

#[test]
fn websocket_and_https_backends() {
    let dir = sample("websocket");
    let c = convert(&dir.path().join("nginx.conf"), &[]);
    assert_eq!(c.code, Some(0), "{}", c.stderr);
    let hs = c.object("nginx-8081");
    assert_eq!(hs["address"], "127.0.0.1");
    assert_eq!(
        hs["rules"][0]["paths"][0],
        json!({ "pathPrefix": "/ws/", "backend": "nginx-ws", "clientMaxBodySize": -1 })
    );
    let ws = &c.object("nginx-ws")["filters"];
    assert_eq!(
        ws[0]["header"],
        json!({ "set": { "X-Client": "chat client" } })
    );
    assert_eq!(ws[1]["kind"], "WebSocketProxy");
    assert_eq!(
        ws[1]["pools"][0]["servers"],
        json!([{ "url": "ws://127.0.0.1:9001", "weight": 1 }, { "url": "ws://127.0.0.1:9002", "weight": 1 }])
    );
    assert_eq!(
        c.object("nginx-api")["filters"][0]["pools"][0]["servers"][0]["url"],
        "https://api.internal:8443"
    );
    assert!(c
        .stderr
        .contains("nginx.conf:4: directive \"map\" is not converted"));
    assert!(c
        .stderr
        .contains("nginx.conf:22: directive \"proxy_read_timeout\" is not converted"));
}

#[test]
fn regular_expression_and_nested_locations() {
    let dir = sample("regex");
    let c = convert(&dir.path().join("nginx.conf"), &[]);
    assert_eq!(c.code, Some(0), "{}", c.stderr);
    let hs = c.object("nginx-8082");
    assert_eq!(
        hs["rules"][0]["paths"],
        json!([
            { "path": "/healthz", "backend": "nginx-healthz" },
            { "pathPrefix": "/assets/", "backend": "nginx-assets" },
            { "pathRegexp": "\\.php$", "backend": "nginx-php" },
            { "pathRegexp": "(?i)\\.(jpg|png)$", "backend": "nginx-jpgpng" },
            { "pathPrefix": "/admin/", "backend": "nginx-admin" },
            { "pathPrefix": "/", "backend": "nginx-root" },
        ])
    );
    assert_eq!(
        c.object("nginx-admin")["filters"][0]["header"],
        json!({ "set": { "X-Admin": "yes" }, "del": ["Accept-Encoding"] })
    );
    assert!(c
        .stderr
        .contains("nginx.conf:20: named location @fallback cannot be matched by path"));
}

#[test]
fn multiple_servers_and_includes() {
    let dir = sample("multi");
    let c = convert(&dir.path().join("nginx.conf"), &[]);
    assert_eq!(c.code, Some(0), "{}", c.stderr);
    assert_eq!(c.names("HTTPServer"), ["nginx-80", "nginx-8088"]);
    let rules = &c.object("nginx-80")["rules"];
    assert_eq!(
        rules,
        &json!([
            { "hosts": [{ "value": "shop.example.com", "isRegexp": false }],
              "paths": [{ "pathPrefix": "/", "backend": "nginx-root" }] },
            { "paths": [{ "pathPrefix": "/", "backend": "nginx-root-2" }] },
        ])
    );
    assert_eq!(
        c.object("nginx-root-2")["filters"][0]["pools"][0]["servers"][0]["url"],
        "http://127.0.0.1:6002"
    );
    assert!(
        c.stderr.contains("missing.conf not found; ignored"),
        "{}",
        c.stderr
    );
    // `*.conf` does not take ignored.txt.
    assert!(c.names("HTTPServer").iter().all(|n| *n != "nginx-9999"));
}

#[test]
fn debian_default_configuration() {
    let dir = sample("debian");
    let c = convert(&dir.path().join("nginx.conf"), &[]);
    assert_eq!(c.code, Some(0), "{}", c.stderr);
    assert_eq!(c.names("HTTPServer"), ["nginx-80"]);
    let hs = c.object("nginx-80");
    assert!(
        hs.get("address").is_none(),
        "[::]:80 and 80 are the same socket"
    );
    assert_eq!(
        hs["rules"],
        json!([{ "paths": [{ "pathPrefix": "/app/", "backend": "nginx-app" }] }])
    );
    let app = &c.object("nginx-app")["filters"];
    assert_eq!(
        app[0]["path"]["regexpReplace"],
        json!({ "regexp": "^/app/", "replace": "/" })
    );
    let template = egctl::yaml::parse_yaml(app[0]["template"].as_str().unwrap_or_default())
        .expect("the template is YAML");
    assert_eq!(
        template,
        json!({ "header": { "set": { "X-Forwarded-Host": "{{ header .req.Header \"Host\" }}" } } })
    );
    // `gzip on` at the http level, nginx's default minimum length.
    assert_eq!(app[1]["compression"], json!({ "minLength": 20 }));
    for w in [
        "nginx.conf:1: directive \"user\" is not converted",
        "nginx.conf:7: directive \"events\" is not converted",
        "sites-enabled/default:22: directive \"try_files\" is not converted",
        "sites-enabled/default:19: location / has no proxy_pass; not converted",
    ] {
        assert!(c.stderr.contains(w), "no warning {w} in {}", c.stderr);
    }
}

#[test]
fn flags_and_errors() {
    let dir = sample("regex");
    let conf = dir.path().join("nginx.conf");
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_egctl"))
            .args(args)
            .output()
            .expect("run egctl");
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let conf_s = conf.display().to_string();
    let out = dir.path().join("o.yaml").display().to_string();
    assert_eq!(
        run(&["convert", "nginx", "-o", &out]),
        (Some(1), "Error: nginx.conf file path is required\n".into())
    );
    assert_eq!(
        run(&["convert", "nginx", "-f", &conf_s]),
        (Some(1), "Error: output yaml file path is required\n".into())
    );
    assert_eq!(
        run(&[
            "convert",
            "nginx",
            "-f",
            &conf_s,
            "-o",
            &out,
            "--resource-prefix",
            ""
        ]),
        (Some(1), "Error: prefix is required\n".into())
    );
    std::fs::write(&conf, "http {\n  server {\n    listen 80\n  }\n}\n").expect("write");
    let (code, err) = run(&["convert", "nginx", "-f", &conf_s, "-o", &out]);
    assert_eq!(code, Some(1));
    assert_eq!(err, format!("Error: convert {conf_s} failed: {conf_s}:3:5: directive \"listen\" is not terminated by \";\"\n"));
    assert!(!Path::new(&out).exists());
}
