//! Runs the egctl binary against an in-process fake admin API and checks
//! the requests it makes and what it prints.

mod fake_admin;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use fake_admin::FakeAdmin;
use serde_json::{json, Value};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn egctl_in(home: &Path, server: Option<&str>, args: &[&str], stdin: Option<&str>) -> Run {
    egctl_env(home, server, args, stdin, &[])
}

fn egctl_env(
    home: &Path,
    server: Option<&str>,
    args: &[&str],
    stdin: Option<&str>,
    envs: &[(&str, &str)],
) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_egctl"));
    cmd.envs(envs.iter().copied());
    if let Some(s) = server {
        cmd.args(["--server", s]);
    }
    cmd.args(args)
        .env("HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        let mut sin = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            sin.write_all(text.as_bytes()).unwrap();
        }
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

struct Env {
    fake: FakeAdmin,
    home: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            fake: FakeAdmin::start(),
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        egctl_in(self.home.path(), Some(&self.fake.addr), args, None)
    }

    fn run_stdin(&self, args: &[&str], stdin: &str) -> Run {
        egctl_in(self.home.path(), Some(&self.fake.addr), args, Some(stdin))
    }

    fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(r.code, 0, "egctl {args:?} failed: {}", r.stderr);
        r.stdout
    }
}

fn rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

fn pipeline(name: &str, url: &str) -> Value {
    json!({"name": name, "kind": "Pipeline", "filters": [{"name": "proxy", "kind": "Proxy", "pools": [{"servers": [{"url": url}]}]}]})
}

const STREAM: &str = "kind: HTTPServer\nname: hs1\nport: 10080\nrules:\n  - paths:\n    - pathPrefix: /\n      backend: p1\n---\nname: p1\nkind: Pipeline\nfilters:\n  - name: proxy\n    kind: Proxy\n    pools:\n    - servers:\n      - url: http://127.0.0.1:9095\n";

#[test]
fn health_ok_and_unreachable() {
    let env = Env::new();
    assert_eq!(env.ok(&["health"]), "OK\n");
    let dead = eg_testkit::closed_addr().to_string();
    let r = egctl_in(env.home.path(), Some(&dead), &["health"], None);
    assert_eq!(r.code, 1);
    assert!(r.stderr.starts_with("Error: "), "{}", r.stderr);
}

#[test]
fn create_from_stdin_posts_each_document() {
    let env = Env::new();
    let r = env.run_stdin(&["create", "-f", "-"], STREAM);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "create HTTPServer hs1 successfully\ncreate Pipeline p1 successfully\n"
    );
    let posts: Vec<_> = env
        .fake
        .requests()
        .into_iter()
        .filter(|q| q.method == "POST")
        .collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].path, "/apis/v2/objects");
    assert_eq!(posts[0].body["port"], 10080);
    assert_eq!(posts[0].body["rules"][0]["paths"][0]["backend"], "p1");
    assert_eq!(
        posts[1].body["filters"][0]["pools"][0]["servers"][0]["url"],
        "http://127.0.0.1:9095"
    );
}

#[test]
fn create_from_file_and_existing_fails() {
    let env = Env::new();
    let f = env.home.path().join("p.yaml");
    std::fs::write(
        &f,
        serde_json::to_string(&pipeline("pf", "http://a:1")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        env.ok(&["create", "-f", f.to_str().unwrap()]),
        "create Pipeline pf successfully\n"
    );
    let r = env.run(&["create", "-f", f.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "Error: create Pipeline pf failed, 409: conflict name: pf\n"
    );
    let missing = env.run(&["create"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("yaml file is required"));
}

#[test]
fn apply_creates_then_updates() {
    let env = Env::new();
    let doc = "name: pa\nkind: Pipeline\nfilters: []\n";
    assert_eq!(
        env.run_stdin(&["apply", "-f", "-"], doc).stdout,
        "create Pipeline pa successfully\n"
    );
    let second = env.run_stdin(
        &["apply", "-f", "-"],
        "name: pa\nkind: Pipeline\nfilters: [{name: x, kind: Mock}]\n",
    );
    assert_eq!(second.stdout, "update Pipeline pa successfully\n");
    let puts: Vec<_> = env
        .fake
        .requests()
        .into_iter()
        .filter(|q| q.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].path, "/apis/v2/objects/pa");
    assert_eq!(puts[0].body["filters"][0]["kind"], "Mock");
}

#[test]
fn get_tables_filters_and_formats() {
    let env = Env::new();
    env.fake.put_object(pipeline("p2", "http://b:2"));
    env.fake.put_object(pipeline("p1", "http://a:1"));
    env.fake
        .put_object(json!({"name": "hs", "kind": "HTTPServer", "port": 1}));
    for res in ["pipeline", "pl", "pipelines", "Pipeline"] {
        let out = env.ok(&["get", res]);
        assert!(out.starts_with("NAME\t"), "{out}");
        let r = rows(&out);
        assert_eq!(r[0], ["NAME", "KIND", "AGE"]);
        assert_eq!(r[1][..2], ["p1", "Pipeline"]);
        assert_eq!(r[2][..2], ["p2", "Pipeline"]);
        assert_eq!(r.len(), 3, "{out}");
    }
    for res in ["hs", "httpserver", "HTTPServer"] {
        assert_eq!(rows(&env.ok(&["get", res])).len(), 2);
    }
    let single = env.ok(&["get", "pipeline", "p1"]);
    assert!(!single.contains("http://a:1"), "{single}");
    let j: Value = serde_json::from_str(&env.ok(&["get", "pipeline", "p1", "-o", "json"])).unwrap();
    assert_eq!(j, pipeline("p1", "http://a:1"));
    let y = env.ok(&["get", "pipeline", "-o", "yaml"]);
    assert!(
        y.contains("name: p1") && y.contains("name: p2") && y.contains("url: http://a:1"),
        "{y}"
    );
    assert!(!y.contains("HTTPServer"), "{y}");
    let bad = env.run(&["get", "nope"]);
    assert_eq!(
        (bad.code, bad.stderr.as_str()),
        (1, "Error: unknown resource: nope\n")
    );
    let fmt = env.run(&["get", "pl", "-o", "xml"]);
    assert_eq!(fmt.code, 1);
    assert!(fmt.stderr.contains("unsupported output format: xml"));
}

#[test]
fn get_all_lists_objects_members_and_kinds() {
    let env = Env::new();
    env.fake.put_object(pipeline("p1", "http://a:1"));
    let out = env.ok(&["get", "all"]);
    let r = rows(&out);
    assert!(r.iter().any(|row| row[..2] == ["p1", "Pipeline"]), "{out}");
    assert!(r.iter().any(|row| row[0] == "eg-member-1"), "{out}");
    assert!(
        r.iter()
            .any(|row| row == &["NAME", "ID-FIELD", "JSON-SCHEMA", "DATA-NUM"]),
        "{out}"
    );
}

#[test]
fn describe_object_prints_spec_and_status() {
    let env = Env::new();
    env.fake.put_object(pipeline("p1", "http://a:1"));
    let out = env.ok(&["describe", "pipeline", "p1"]);
    assert!(out.contains("Name: p1\nKind: Pipeline\n"), "{out}");
    assert!(out.contains("http://a:1"), "{out}");
    assert!(out.contains("AllStatus:"), "{out}");
    assert_eq!(out.matches("node: eg-member-1").count(), 1, "{out}");
    assert!(out.contains("p999: 0"), "{out}");
    assert!(out.contains("In Namespace default:"), "{out}");
    let status_req = env
        .fake
        .requests()
        .into_iter()
        .find(|q| q.path.starts_with("/apis/v2/status/objects"))
        .unwrap();
    assert_eq!(status_req.path, "/apis/v2/status/objects/p1");
}

#[test]
fn delete_by_name_all_and_missing() {
    let env = Env::new();
    for n in ["a", "b", "c"] {
        env.fake.put_object(pipeline(n, "http://x:1"));
    }
    assert_eq!(
        env.ok(&["delete", "pipeline", "a", "b"]),
        "delete Pipeline a successfully\ndelete Pipeline b successfully\n"
    );
    let missing = env.run(&["delete", "pl", "zzz"]);
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr,
        "Error: delete Pipeline zzz failed, no such Pipeline zzz\n"
    );
    assert_eq!(
        env.ok(&["delete", "pl", "--all"]),
        "delete Pipeline c successfully\n"
    );
    assert!(env.fake.state.lock().unwrap().objects.is_empty());
    assert_eq!(env.run(&["delete", "pl"]).code, 1);
}

#[test]
fn api_resources_and_apis_tables() {
    let env = Env::new();
    let out = env.ok(&["api-resources"]);
    let r = rows(&out);
    assert_eq!(r[0], ["NAME", "ALIASES", "CATEGORY", "KIND", "ACTION"]);
    assert_eq!(
        r[1],
        [
            "httpserver",
            "hs,httpservers",
            "TrafficGate",
            "HTTPServer",
            "create,apply,delete,get,describe"
        ]
    );
    assert!(r.contains(&vec![
        "member".into(),
        "m,mem,members".into(),
        "Member".into(),
        "delete,get,describe".into()
    ]));
    // every cell is tab-terminated (Easegress tests match `col\t+col\t+…`)
    assert!(out.lines().all(|l| l.ends_with('\t')), "{out}");
    let apis = rows(&env.ok(&["apis"]));
    assert_eq!(apis[0], ["PATH", "METHOD", "VERSION", "GROUP"]);
    assert!(apis.contains(&vec![
        "/healthz".into(),
        "GET".into(),
        "/apis/v2".into(),
        "admin".into()
    ]));
    // prefix matching of subcommands
    assert_eq!(env.ok(&["heal"]), "OK\n");
}

#[test]
fn members_get_and_describe() {
    let env = Env::new();
    let out = env.ok(&["get", "member"]);
    let r = rows(&out);
    assert_eq!(
        r[0],
        ["NAME", "ROLE", "AGE", "STATE", "API-ADDR", "HEARTBEAT"]
    );
    assert_eq!(
        r[1][..5],
        ["eg-member-1", "primary", "0s", "Leader", "127.0.0.1:2381"]
    );
    assert_eq!(rows(&env.ok(&["get", "m", "eg-member-1"])).len(), 2);
    assert_eq!(env.run(&["get", "member", "nobody"]).code, 1);
    let d = env.ok(&["describe", "mem"]);
    assert!(
        d.contains("Name: eg-member-1\n") && d.contains("ClusterRole: primary\n"),
        "{d}"
    );
}

#[test]
fn custom_data_flow() {
    let env = Env::new();
    assert_eq!(
        env.run_stdin(
            &["create", "-f", "-"],
            "name: k1\nkind: CustomDataKind\nidField: name\n"
        )
        .stdout,
        "create CustomDataKind k1 successfully\n"
    );
    let change = "rebuild: true\nname: k1\nkind: CustomData\nlist:\n- name: data1\n  field1: 12\n- name: data2\n  field1: foo\n";
    assert_eq!(
        env.run_stdin(&["apply", "-f", "-"], change).stdout,
        "apply CustomData for kind k1 successfully\n"
    );
    let batch = env
        .fake
        .requests()
        .into_iter()
        .find(|q| q.path == "/apis/v2/customdata/k1/items")
        .unwrap();
    assert_eq!(
        batch.body,
        json!({"rebuild": true, "list": [{"name": "data1", "field1": 12}, {"name": "data2", "field1": "foo"}]})
    );
    let kinds = rows(&env.ok(&["get", "cdk"]));
    assert_eq!(kinds[1], ["k1", "name", "no", "2"]);
    let items = rows(&env.ok(&["get", "cd", "k1"]));
    assert_eq!(items, [["NAME"], ["data1"], ["data2"]]);
    let d = env.ok(&["describe", "cdk"]);
    assert!(d.contains("Name: k1") && d.contains("IdField: name"), "{d}");
    let item = env.ok(&["describe", "cd", "k1", "data1"]);
    assert!(
        item.contains("Name: data1") && item.contains("Field1: 12"),
        "{item}"
    );
    assert_eq!(
        env.ok(&["delete", "cd", "k1", "data1"]),
        "delete CustomData data1 for kind k1 successfully\n"
    );
    assert_eq!(
        env.ok(&["delete", "customdatakind", "k1"]),
        "delete CustomDataKind k1 successfully\n"
    );
    assert!(env
        .run(&["get", "cd"])
        .stderr
        .contains("no custom data kind specified"));
}

#[test]
fn create_httpproxy_builds_server_and_pipelines() {
    let env = Env::new();
    let out = env.ok(&[
        "create",
        "httpproxy",
        "demo",
        "--port",
        "10080",
        "--rule=/pipeline=http://127.0.0.1:9096,http://127.0.0.1:9097",
        "--rule",
        "/prefix*=http://127.0.0.1:9098",
    ]);
    assert_eq!(
        out,
        "create HTTPServer demo successfully\ncreate Pipeline demo-0 successfully\ncreate Pipeline demo-1 successfully\n"
    );
    let st = env.fake.state.lock().unwrap();
    assert_eq!(
        st.objects["demo"]["rules"],
        json!([{"paths": [{"path": "/pipeline", "backend": "demo-0"}, {"pathPrefix": "/prefix", "backend": "demo-1"}]}])
    );
    assert_eq!(
        st.objects["demo-0"]["filters"][0]["pools"][0]["loadBalance"]["policy"],
        "roundRobin"
    );
    assert_eq!(
        st.objects["demo-1"]["filters"][0]["pools"][0]["servers"][0]["url"],
        "http://127.0.0.1:9098"
    );
    drop(st);
    let bad = env.run(&["create", "httpproxy", "x", "--rule", "/a=http://b"]);
    assert_eq!(
        (bad.code, bad.stderr.as_str()),
        (1, "Error: port -1 is invalid\n")
    );
}

#[test]
fn egctlrc_gives_server_and_basic_auth() {
    let env = Env::new();
    env.fake.state.lock().unwrap().require_auth = Some("Basic YWRtaW46czNjcmV0".into()); // admin:s3cret
    let rc = format!(
        "kind: Config\ncurrent-context: ctx\ncontexts:\n  - context:\n      cluster: local\n      user: admin\n    name: ctx\n  - name: other\n    context: {{cluster: local, user: admin}}\nclusters:\n  - cluster:\n      server: {}\n    name: local\nusers:\n  - name: admin\n    user:\n      username: admin\n      password: s3cret\n",
        env.fake.addr
    );
    std::fs::write(env.home.path().join(".egctlrc"), rc).unwrap();
    let r = egctl_in(env.home.path(), None, &["get", "member"], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("eg-member-1"));
    assert!(env
        .fake
        .requests()
        .iter()
        .all(|q| q.auth.as_deref() == Some("Basic YWRtaW46czNjcmV0")));
    let empty = tempfile::tempdir().unwrap();
    let denied = egctl_in(empty.path(), Some(&env.fake.addr), &["get", "member"], None);
    assert_eq!(denied.code, 1);
    assert!(
        denied.stderr.contains("401: unauthorized"),
        "{}",
        denied.stderr
    );

    let view = env.ok(&["config", "view"]);
    assert!(
        view.contains("kind: Config") && view.contains("password: REDACTED"),
        "{view}"
    );
    let cur = env.ok(&["config", "current-context"]);
    assert!(
        cur.contains("name: ctx") && cur.contains("user: admin") && cur.contains("cluster: local"),
        "{cur}"
    );
    let ctxs = rows(&env.ok(&["config", "get-contexts"]));
    assert_eq!(
        ctxs,
        [
            vec!["CURRENT", "NAME", "CLUSTER", "USER"],
            vec!["*", "ctx", "local", "admin"],
            vec!["other", "local", "admin"]
        ]
    );
    assert_eq!(
        env.ok(&["config", "use-context", "other"]),
        "Switched to context other\n"
    );
    assert!(env
        .ok(&["config", "current-context"])
        .contains("name: other"));
    assert_eq!(env.run(&["config", "use-context", "nope"]).code, 1);
}

#[test]
fn profile_info_and_completion() {
    let env = Env::new();
    let info = env.ok(&["profile", "info"]);
    assert!(
        info.contains("cpuPath: \"\"") && info.contains("memoryPath: \"\""),
        "{info}"
    );
    assert!(env
        .ok(&["completion", "bash"])
        .contains("bash completion for egctl"));
    assert!(env
        .ok(&["completion", "zsh"])
        .contains("zsh completion for egctl"));
}

#[test]
fn edit_round_trips_through_the_editor() {
    let env = Env::new();
    env.fake.put_object(pipeline("pe", "http://a:1"));
    let script = env.home.path().join("editor.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nsed -i 's#http://a:1#http://b:2#' \"$1\"\n",
    )
    .unwrap();
    let mut perm = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&script, perm).unwrap();
    // The editor's file goes under the test's own directory, not the shared /tmp.
    let tmp = env.home.path().to_str().unwrap();
    let r = egctl_env(
        env.home.path(),
        Some(&env.fake.addr),
        &["edit", "pipeline", "pe"],
        None,
        &[("EGCTL_EDITOR", script.to_str().unwrap()), ("TMPDIR", tmp)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "update Pipeline pe successfully\n");
    assert_eq!(
        env.fake.state.lock().unwrap().objects["pe"],
        pipeline("pe", "http://b:2")
    );
    let left = |dir: &str| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().starts_with("Pipeline-pe-")
            })
            .count()
    };
    assert_eq!(left(tmp), 0, "a successful edit removes its file");
    let unchanged = egctl_env(
        env.home.path(),
        Some(&env.fake.addr),
        &["edit", "pl", "pe"],
        None,
        &[("EGCTL_EDITOR", "true"), ("TMPDIR", tmp)],
    );
    assert_eq!(unchanged.code, 0, "{}", unchanged.stderr);
    assert!(
        unchanged
            .stdout
            .starts_with(&format!("nothing changed; temp file in {tmp}/Pipeline-pe-")),
        "{}",
        unchanged.stdout
    );
    assert_eq!(left(tmp), 1, "an unchanged edit keeps its file");
}

#[test]
fn a_dry_run_validates_on_the_server_and_stores_nothing() {
    let env = Env::new();
    let doc = "name: pa\nkind: Pipeline\nfilters: []\n";
    let r = env.run_stdin(&["apply", "-f", "-", "--dry-run"], doc);
    assert_eq!(
        r.stdout, "create Pipeline pa successfully (dry run)\n",
        "{}",
        r.stderr
    );
    let r = env.run_stdin(&["create", "--dry-run", "-f", "-"], doc);
    assert_eq!(r.stdout, "create Pipeline pa successfully (dry run)\n");
    assert!(env.fake.state.lock().unwrap().objects.is_empty());
    env.run_stdin(&["apply", "-f", "-"], doc);
    let r = env.run_stdin(
        &["apply", "--dry-run", "-f", "-"],
        "name: pa\nkind: Pipeline\nflow: []\n",
    );
    assert_eq!(r.stdout, "update Pipeline pa successfully (dry run)\n");
    assert!(env.fake.state.lock().unwrap().objects["pa"]
        .get("flow")
        .is_none());
    let writes: Vec<String> = env
        .fake
        .requests()
        .into_iter()
        .filter(|q| q.method != "GET")
        .map(|q| format!("{} {}", q.method, q.path))
        .collect();
    assert_eq!(
        writes,
        [
            "POST /apis/v2/objects?dryRun=true",
            "POST /apis/v2/objects?dryRun=true",
            "POST /apis/v2/objects",
            "PUT /apis/v2/objects/pa?dryRun=true",
        ]
    );
    let r = env.run_stdin(
        &["apply", "--dry-run", "-f", "-"],
        "name: k1\nkind: CustomData\ndata: []\n",
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("--dry-run checks objects"),
        "{}",
        r.stderr
    );
}

#[test]
fn diff_shows_what_apply_would_change_with_kubectls_exit_codes() {
    let env = Env::new();
    let doc = "name: pa\nkind: Pipeline\nflow:\n- filter: mock\n";
    let r = env.run_stdin(&["diff", "-f", "-"], doc);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with("--- /dev/null\n+++ Pipeline/pa (file)\n"),
        "{}",
        r.stdout
    );

    env.fake.put_object(json!({
        "name": "pa", "kind": "Pipeline", "flow": [{"filter": "mock"}],
        "createdAt": "2026-12-04T10:00:00Z", "labels": {"easegress/owner": "user-api"},
        "version": "easegress.megaease.com/v2",
    }));
    let r = env.run_stdin(&["diff", "-f", "-"], doc);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stderr);

    let r = env.run_stdin(
        &["diff", "-f", "-"],
        "name: pa\nkind: Pipeline\nflow:\n- filter: proxy\n",
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("\n-- filter: mock\n+- filter: proxy\n"),
        "{}",
        r.stdout
    );

    let r = egctl_in(
        env.home.path(),
        Some("127.0.0.1:1"),
        &["diff", "-f", "-"],
        Some(doc),
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("Error: "), "{}", r.stderr);
}

#[test]
fn explain_walks_object_and_filter_schemas() {
    let env = Env::new();
    let r = env.run(&["explain", "hs.rules.paths"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with("KIND:     HTTPServer\nFIELD:    paths <[]object>\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("  backend\t<string>\n    The pipeline.\n"),
        "{}",
        r.stdout
    );

    let r = env.run(&["explain", "proxy.pools.loadBalance"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with("KIND:     Proxy\nFIELD:    loadBalance <object>\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("  policy\t<string>\n    default: \"roundRobin\"\n"),
        "{}",
        r.stdout
    );

    let r = env.run(&["explain", "HTTPServer.nope"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("field \"nope\" does not exist in HTTPServer"),
        "{}",
        r.stderr
    );
    let r = env.run(&["explain", "Gadget"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("Gadget: no such object or filter kind"),
        "{}",
        r.stderr
    );
}

/// What bash completes `line` (words; the last is being typed) to with egctl's script.
fn bash_complete(env: &Env, line: &[&str]) -> Vec<String> {
    let script = env.ok(&["completion", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("egctl.bash");
    std::fs::write(&file, script).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_egctl")).parent().unwrap();
    let words: Vec<String> = line.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{}'; COMP_POINT=${{#COMP_LINE}}; \
         _egctl_names egctl '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display(),
        words.join(" "),
        line.len() - 1,
        line.join(" "),
        line[line.len() - 1],
        line[line.len().saturating_sub(2)],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .env("HOME", env.home.path())
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn bash_completes_object_names_from_the_server() {
    let env = Env::new();
    env.fake
        .put_object(json!({"name": "demo-a", "kind": "Pipeline"}));
    env.fake
        .put_object(json!({"name": "demo-b", "kind": "Pipeline"}));
    env.fake
        .put_object(json!({"name": "gate", "kind": "HTTPServer"}));
    let server = env.fake.addr.as_str();
    assert_eq!(
        bash_complete(&env, &["egctl", "--server", server, "get", "pl", "demo"]),
        ["demo-a", "demo-b"]
    );
    assert_eq!(
        bash_complete(
            &env,
            &["egctl", "--server", server, "describe", "httpserver", ""]
        ),
        ["gate"]
    );
    let kinds = bash_complete(&env, &["egctl", "--server", server, "delete", "p"]);
    assert_eq!(kinds, ["pipeline"]);
    let verbs = bash_complete(&env, &["egctl", "--server", server, "expl"]);
    assert_eq!(verbs, ["explain"]);
}
