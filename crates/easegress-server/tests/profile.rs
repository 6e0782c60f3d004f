//! CPU and memory profiles of the real binary, driven by egctl (the profile steps of
//! Easegress's `TestEgctlCmd`), the admin API and the `--*-profile-file` flags; every
//! file written must decode as a pprof profile with samples.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use eg_profile::decode::{decode, Profile};
use eg_testkit::{eventually, Server};

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");

/// The egctl binary next to the server's, built when missing.
fn egctl_bin() -> PathBuf {
    let dir = Path::new(BIN).parent().expect("the profile directory");
    let bin = dir.join("egctl");
    if !bin.exists() {
        let target = dir.parent().expect("the target directory");
        let mut c = Command::new(option_env!("CARGO").unwrap_or("cargo"));
        c.args(["build", "-p", "egctl", "--bin", "egctl"])
            .env("CARGO_TARGET_DIR", target);
        if dir.ends_with("release") {
            c.arg("--release");
        }
        assert!(c.status().expect("cargo build egctl").success());
    }
    bin
}

/// Runs egctl; returns stdout, asserting success and an empty stderr.
fn egctl(server: &Server, args: &[&str]) -> String {
    let out = Command::new(egctl_bin())
        .args(["--server", &format!("http://{}", server.api_addr())])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run egctl");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "egctl {args:?}: {stdout}\n{stderr}");
    assert!(stderr.is_empty(), "egctl {args:?}: {stderr}");
    stdout
}

/// Work for the server: admin API calls that parse, validate, allocate and answer.
fn traffic(server: &Server, rounds: usize) {
    let spec = "kind: HTTPServer\nname: busy\nport: 1\nrules: []\n";
    for _ in 0..rounds {
        assert_eq!(server.api("GET", "/object-kinds", "").status, 200);
        let dry = server.api("POST", "/objects?dryRun=true", spec);
        assert!(dry.status < 300, "{}", dry.body);
        assert_eq!(server.api("GET", "/metrics", "").status, 200);
    }
}

fn read_profile(path: &Path) -> Profile {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn types(p: &Profile) -> Vec<(&str, &str)> {
    p.sample_types
        .iter()
        .map(|(t, u)| (t.as_str(), u.as_str()))
        .collect()
}

/// A CPU profile with samples whose stacks name the server's own functions.
fn assert_cpu_profile(path: &Path) {
    let p = read_profile(path);
    assert_eq!(types(&p), [("samples", "count"), ("cpu", "nanoseconds")]);
    assert_eq!(p.period, 10_000_000, "100 Hz");
    assert!(p.total(0) > 0, "no CPU samples in {}", path.display());
    let named =
        p.samples.iter().flat_map(|s| p.stack(s)).any(|f| {
            f.starts_with("eg_") || f.starts_with("easegress_server") || f.contains("tokio")
        });
    assert!(named, "no function names in {}", path.display());
}

/// A heap profile in Go's layout with allocation samples from the server's code.
fn assert_heap_profile(path: &Path) {
    let p = read_profile(path);
    assert_eq!(
        types(&p),
        [
            ("alloc_objects", "count"),
            ("alloc_space", "bytes"),
            ("inuse_objects", "count"),
            ("inuse_space", "bytes")
        ]
    );
    assert_eq!(
        (p.period_type.0.as_str(), p.period_type.1.as_str(), p.period),
        ("space", "bytes", 512 * 1024)
    );
    assert!(p.total(1) > 0, "no allocations in {}", path.display());
    assert!(p.total(3) <= p.total(1), "more in use than allocated");
    let stacks: Vec<Vec<String>> = p.samples.iter().map(|s| p.stack(s)).collect();
    assert!(
        stacks.iter().flatten().any(|f| f.starts_with("eg_")),
        "no easegress-rs function in the heap stacks"
    );
    // The sampler's own frames are cut off: stacks start at the allocating code.
    let own = |f: &String| {
        f == "trace"
            || f.contains("__rust_alloc")
            || f.contains("eg_profile::heap")
            || f.contains("on_alloc")
            || f.contains("trace_unsynchronized")
    };
    assert!(
        stacks.iter().all(|s| !s.iter().any(own)),
        "sampler frames in a stack: {:?}",
        stacks.iter().find(|s| s.iter().any(own))
    );
    // Sampling ends before the CPU profile (if any) is symbolised.
    assert!(
        !stacks
            .iter()
            .flatten()
            .any(|f| f.contains("CpuSession::finish")),
        "the CPU profile's writing is in the heap profile"
    );
}

/// Easegress's `TestEgctlCmd` profile steps, then the files' contents.
#[test]
fn egctl_profile_steps_of_easegress() {
    let server = Server::start_new(BIN, "profile-egctl");
    let dir = tempfile::tempdir().expect("tempdir");
    let cpu = dir.path().join("cpu-profile");
    let memory = dir.path().join("memory-profile");
    let (cpu_s, memory_s) = (cpu.to_str().unwrap(), memory.to_str().unwrap());

    let info = egctl(&server, &["profile", "info"]);
    assert!(info.contains("cpuPath: \"\""), "{info}");
    assert!(info.contains("memoryPath: \"\""), "{info}");

    let out = egctl(&server, &["profile", "start", "cpu", cpu_s]);
    assert!(out.contains("CPU profiling started"), "{out}");
    let out = egctl(&server, &["profile", "start", "memory", memory_s]);
    assert!(out.contains("Memory profiling started"), "{out}");
    // Created at start, so that a bad path is refused then; written at stop.
    assert!(cpu.exists() && memory.exists());

    traffic(&server, 300);

    let out = egctl(&server, &["profile", "stop"]);
    assert!(out.contains("Profiling stopped"), "{out}");
    let info = egctl(&server, &["profile", "info"]);
    assert!(info.contains(&format!("cpuPath: {cpu_s}")), "{info}");
    assert!(info.contains(&format!("memoryPath: {memory_s}")), "{info}");

    assert_cpu_profile(&cpu);
    assert_heap_profile(&memory);
}

/// The API's answers: starting again switches files (the first one is written), bad
/// paths are refused with nothing started, stopping with nothing running is fine.
#[test]
fn api_start_again_bad_paths_and_stop() {
    let server = Server::start_new(BIN, "profile-api");
    let dir = tempfile::tempdir().expect("tempdir");
    let first = dir.path().join("first.pprof");
    let second = dir.path().join("second.pprof");
    let body = |p: &Path| format!("{{\"path\": {:?}}}", p.to_str().unwrap());

    let a = server.api("POST", "/profile/start/cpu", &body(&first));
    assert_eq!((a.status, a.body.as_str()), (200, ""));
    traffic(&server, 100);
    // Easegress finishes the running CPU profile and starts the new one.
    let a = server.api("POST", "/profile/start/cpu", &body(&second));
    assert_eq!(a.status, 200, "{}", a.body);
    assert_cpu_profile(&first);

    // An unwritable place: 400 with the reason; the running profile goes on.
    let bad = dir.path().join("missing/dir/cpu.pprof");
    for kind in ["cpu", "memory"] {
        let a = server.api("POST", &format!("/profile/start/{kind}"), &body(&bad));
        assert_eq!(a.status, 400, "{}", a.body);
        assert!(
            a.body.contains(&format!("create {kind} profile failed"))
                && a.body.contains("missing/dir"),
            "{}",
            a.body
        );
    }
    let info = server.api("GET", "/profile", "").json();
    assert_eq!(info["cpuPath"], second.to_str().unwrap());
    assert_eq!(info["memoryPath"], "");
    let a = server.api("POST", "/profile/start/cpu", "path: ''");
    assert_eq!((a.status, a.body.contains("missing path")), (400, true));

    traffic(&server, 100);
    assert_eq!(server.api("POST", "/profile/stop", "").status, 200);
    assert_cpu_profile(&second);
    // Nothing running: stop again answers 200 and rewrites nothing.
    let len = std::fs::metadata(&second).unwrap().len();
    assert_eq!(server.api("POST", "/profile/stop", "").status, 200);
    assert_eq!(std::fs::metadata(&second).unwrap().len(), len);
}

/// `--cpu-profile-file` and `--memory-profile-file` profile from start-up; the files are
/// written at a graceful stop (SIGTERM).
#[test]
fn flag_profiles_are_written_at_sigterm() {
    let mut server = Server::new(BIN, "profile-flags");
    let cpu = server.path("cpu.pprof");
    let memory = server.path("heap.pprof");
    server.extra = vec![
        format!("--cpu-profile-file={}", cpu.display()),
        format!("--memory-profile-file={}", memory.display()),
    ];
    server.start();
    let info = server.api("GET", "/profile", "").json();
    assert_eq!(info["cpuPath"], cpu.to_str().unwrap());
    assert_eq!(info["memoryPath"], memory.to_str().unwrap());
    traffic(&server, 300);
    assert_eq!(server.stop(), Some(0));
    assert_cpu_profile(&cpu);
    assert_heap_profile(&memory);
}

/// A flag naming an unwritable file stops the start, as in Easegress.
#[test]
fn unwritable_flag_file_fails_the_start() {
    let mut server = Server::new(BIN, "profile-bad-flag");
    let bad = server.path("missing/cpu.pprof");
    server.extra = vec![format!("--cpu-profile-file={}", bad.display())];
    server.spawn_only();
    let code = eventually(std::time::Duration::from_secs(20), || server.exit_status());
    assert_eq!(code, Some(1));
    assert!(
        server.system_log().contains("create cpu profile failed"),
        "{}",
        server.system_log()
    );
}
