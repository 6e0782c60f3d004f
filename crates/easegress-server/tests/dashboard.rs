//! The dashboard in a real browser: headless Chromium, driven over the DevTools protocol,
//! against the real server with basic auth on. Screenshots and measurements are written to
//! `<target>/tmp/dashboard/`.

#[path = "dashboard/cdp.rs"]
mod cdp;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use eg_testkit::{cpu_ticks_during, free_port, http, Server};
use serde_json::{json, Value};

use cdp::{find_browser, Browser};

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");
const USER: &str = "admin";
const PASSWORD: &str = "s3cret";
/// How long the server's CPU is measured with and without an open page
/// (`EG_DASHBOARD_CPU_SECS` overrides it).
const CPU_SECS: u64 = 10;

/// A pipeline that answers 500 on `/fail` and 200 elsewhere.
const PIPELINE: &str = "name: pl-dash
kind: Pipeline
flow:
  - filter: mock
filters:
  - name: mock
    kind: Mock
    rules:
      - match:
          pathPrefix: /fail
        code: 500
        body: failed
      - match:
          pathPrefix: /
        code: 200
        body: ok
";

/// Written through the page's editor.
const NEW_PIPELINE: &str = "name: pl-editor
kind: Pipeline
filters:
  - name: mock
    kind: Mock
    rules:
      - code: 200
        body: from the editor
";

/// A spec the API refuses at `filters[0].pools[0].servers[1].url`, on line 10.
const BAD_PIPELINE: &str = "# A proxy with one bad server URL.
name: pl-bad
kind: Pipeline
filters:
  - name: proxy
    kind: Proxy
    pools:
      - servers:
          - url: http://127.0.0.1:9
          - url: 127.0.0.1:9095
        loadBalance:
          policy: roundRobin
";
const BAD_FIELD: &str = "filters[0].pools[0].servers[1].url";
const BAD_LINE: u64 = 10;

/// Where the editor finds a field path: (text, path, line, whether all of the path was found).
const LOCATE_CASES: [(&str, &str, u64, bool); 5] = [
    (
        "kind: HTTPServer\nname: x\nrules:\n- paths:\n  - pathPrefix: /a\n    backend: a\n  - pathPrefix: /b\n",
        "rules[0].paths[1]",
        7,
        true,
    ),
    (
        "kind: HTTPServer\nname: x\nrules:\n- paths:\n  - pathPrefix: /a\n    backend: a\n  - pathPrefix: /b\n",
        "rules[0].paths[1].backend",
        7,
        false,
    ),
    (
        "rules:\n  - host: a\n    paths:\n      - pathPrefix: /\n        backend: b\n",
        "rules[0].paths[0].backend",
        5,
        true,
    ),
    (
        "# c\n\"name\": x\nfilters:\n  - name: a\n    kind: Mock\n  # between\n  - name: b\n    kind: Proxy\n",
        "filters[1].kind",
        8,
        true,
    ),
    ("name: x\nkind: Pipeline\n", "filters[0].pools", 1, false),
];

fn http_server(port: u16) -> String {
    format!(
        "name: hs-dash\nkind: HTTPServer\nport: {port}\nrules:\n  - paths:\n      - pathPrefix: /\n        backend: pl-dash\n"
    )
}

fn out_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    std::fs::create_dir_all(&d).expect("screenshot dir");
    d
}

/// A JavaScript string literal of `s`.
fn js(s: &str) -> String {
    Value::from(s).to_string()
}

/// Sends requests to `addr` from a thread until the returned switch is turned off.
fn drive_traffic(addr: String) -> Arc<AtomicBool> {
    let on = Arc::new(AtomicBool::new(true));
    let running = on.clone();
    std::thread::spawn(move || {
        let mut i = 0u64;
        while running.load(Ordering::Relaxed) {
            let path = if i.is_multiple_of(5) {
                "/fail"
            } else {
                "/api/items"
            };
            let _ = http(&addr, "GET", path, &[], "");
            i += 1;
        }
    });
    on
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_a_real_browser() {
    let Some(chromium) = find_browser("the_dashboard_in_a_real_browser") else {
        return;
    };
    let out = out_dir();
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    );
    let mut s = Server::new(BIN, "dash");
    s.extra = vec!["--basic-auth".into(), format!("{USER}:{PASSWORD}")];
    s.auth = Some(auth.clone());
    s.start();
    let gate_port = free_port();
    for spec in [PIPELINE.to_string(), http_server(gate_port)] {
        let a = s.api("POST", "/objects", &spec);
        assert_eq!(a.status, 201, "{}", a.body);
    }
    let a = s.api("POST", "/customdatakinds", "name: coupons\nidField: code\n");
    assert_eq!(a.status, 201, "{}", a.body);

    let mut b = Browser::launch(&chromium).await;
    // The browser would prompt for the credentials; the test hands them over instead.
    b.call("Network.enable", json!({})).await;
    b.call(
        "Network.setExtraHTTPHeaders",
        json!({"headers": {"Authorization": auth}}),
    )
    .await;
    let base = format!("http://127.0.0.1:{}", s.api_port);

    // The root leads to the page, which lists the objects the test created.
    b.navigate(&format!("{base}/")).await;
    assert_eq!(b.eval("location.pathname").await, "/dashboard/");
    b.wait_for(
        "the object list",
        "!!document.querySelector('#object-list tr[data-name=\"hs-dash\"][data-kind=\"HTTPServer\"]') \
         && !!document.querySelector('#object-list tr[data-name=\"pl-dash\"][data-kind=\"Pipeline\"]')",
    )
    .await;
    let timing = b
        .eval(
            "(() => { const n = performance.getEntriesByType('navigation')[0]; \
             const fcp = performance.getEntriesByName('first-contentful-paint')[0]; \
             const data = performance.getEntriesByName('eg-first-data')[0]; \
             const res = performance.getEntriesByType('resource').filter(r => r.name.includes('/dashboard/')); \
             const all = [n, ...res]; \
             return { domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd, \
               firstContentfulPaint: fcp ? fcp.startTime : null, firstData: data ? data.startTime : null, \
               encoded: all.reduce((a, r) => a + r.encodedBodySize, 0), \
               decoded: all.reduce((a, r) => a + r.decodedBodySize, 0), files: all.length }; })()",
        )
        .await;

    // The keyboard alone: the skip link first, then the sections; Enter opens one and
    // moves focus to its heading.
    for _ in 0..3 {
        b.press("Tab", 9).await;
        if b.eval("document.activeElement.className === 'skip'").await == true {
            break;
        }
    }
    assert_eq!(b.eval("document.activeElement.className").await, "skip");
    b.press("Tab", 9).await;
    assert_eq!(
        b.eval("document.activeElement.dataset.view").await,
        "objects"
    );
    b.press("Tab", 9).await;
    assert_eq!(
        b.eval("document.activeElement.dataset.view").await,
        "traffic"
    );
    b.press("Enter", 13).await;
    b.wait_for(
        "the traffic view to take focus",
        "document.activeElement.id === 'h-traffic' && !document.getElementById('view-traffic').hidden",
    )
    .await;
    b.eval("location.hash = '#objects'").await;
    b.wait_for(
        "the objects view",
        "!document.getElementById('view-objects').hidden",
    )
    .await;

    // An object's status per member and its YAML.
    b.eval("document.querySelector('#object-list button[data-name=\"hs-dash\"]').click()")
        .await;
    b.wait_for(
        "the stored YAML of hs-dash",
        "document.getElementById('object-yaml').textContent.includes('kind: HTTPServer')",
    )
    .await;
    b.wait_for(
        "the status of hs-dash on member dash",
        "[...document.querySelectorAll('#object-status th[scope=row]')].some(t => t.textContent === 'dash')",
    )
    .await;
    b.screenshot(&out.join("objects.png")).await;

    // A spec applied through the editor is stored.
    let set_editor = |text: &str| {
        format!(
            "(() => {{ const a = document.getElementById('yaml-editor'); a.value = {}; \
             a.dispatchEvent(new Event('input')); }})()",
            js(text)
        )
    };
    b.eval(&set_editor(NEW_PIPELINE)).await;
    b.eval("document.getElementById('apply').click()").await;
    b.wait_for(
        "the editor to report the object created",
        "document.getElementById('editor-result').textContent.includes('Created pl-editor')",
    )
    .await;
    let stored = s.api("GET", "/objects/pl-editor", "");
    assert_eq!(stored.status, 200, "{}", stored.body);
    assert_eq!(stored.json()["filters"][0]["kind"], "Mock");
    b.wait_for(
        "pl-editor in the list",
        "!!document.querySelector('#object-list tr[data-name=\"pl-editor\"]')",
    )
    .await;

    // A refused spec: the API's message is shown on the line of the field it names.
    b.eval(&set_editor(BAD_PIPELINE)).await;
    b.eval("document.getElementById('validate').click()").await;
    let shown = b
        .wait_for(
            "the field error",
            "(() => { const e = document.getElementById('editor-error'); \
             return e.hidden ? null : { text: e.textContent, line: e.dataset.line, path: e.dataset.path }; })()",
        )
        .await;
    assert_eq!(shown["line"], BAD_LINE.to_string(), "{shown}");
    assert_eq!(shown["path"], BAD_FIELD, "{shown}");
    assert!(
        shown["text"].as_str().unwrap_or("").contains(BAD_FIELD),
        "{shown}"
    );
    // The mark sits on that line of the text area, the message right below it.
    let geometry = b
        .eval(
            "(() => { const a = document.getElementById('yaml-editor'); \
             const cs = getComputedStyle(a); const lh = parseFloat(cs.lineHeight); \
             const lineTop = a.getBoundingClientRect().top + parseFloat(cs.paddingTop) \
               + (Number(document.getElementById('editor-error').dataset.line) - 1) * lh - a.scrollTop; \
             const mark = document.getElementById('error-mark').getBoundingClientRect(); \
             const msg = document.getElementById('editor-error').getBoundingClientRect(); \
             return { markOff: Math.abs(mark.top - lineTop), msgBelow: msg.top - mark.bottom, \
               invalid: a.getAttribute('aria-invalid'), focused: document.activeElement === a, \
               selected: a.value.slice(a.selectionStart, a.selectionEnd) }; })()",
        )
        .await;
    assert!(
        geometry["markOff"].as_f64().unwrap_or(99.0) < 2.0,
        "{geometry}"
    );
    let below = geometry["msgBelow"].as_f64().unwrap_or(99.0);
    assert!((0.0..8.0).contains(&below), "{geometry}");
    assert_eq!(geometry["invalid"], "true");
    assert_eq!(geometry["focused"], true);
    assert!(
        geometry["selected"]
            .as_str()
            .unwrap_or("")
            .contains("url: 127.0.0.1:9095"),
        "{geometry}"
    );
    assert_eq!(s.api("GET", "/objects/pl-bad", "").status, 404);
    b.screenshot(&out.join("editor-error.png")).await;
    for (text, path, line, exact) in LOCATE_CASES {
        let found = b
            .eval(&format!(
                "window.egDashboard.locate({}, {})",
                js(text),
                js(path)
            ))
            .await;
        assert_eq!(
            found,
            json!({"line": line, "exact": exact}),
            "{path} in:\n{text}"
        );
    }

    // Deleting from the page asks once more, then removes the object.
    b.eval("document.querySelector('#object-list button[data-name=\"pl-editor\"]').click()")
        .await;
    b.wait_for(
        "pl-editor selected",
        "document.getElementById('detail-title').textContent === 'Pipeline pl-editor' \
         && !document.getElementById('delete').disabled",
    )
    .await;
    b.eval("document.getElementById('delete').click()").await;
    b.wait_for(
        "the confirmation to take focus",
        "document.activeElement.id === 'delete-confirm'",
    )
    .await;
    assert_eq!(s.api("GET", "/objects/pl-editor", "").status, 200);
    b.eval("document.activeElement.click()").await;
    b.wait_for(
        "the editor to report the object deleted",
        "document.getElementById('editor-result').textContent.includes('Deleted pl-editor')",
    )
    .await;
    assert_eq!(s.api("GET", "/objects/pl-editor", "").status, 404);

    // Traffic through the HTTPServer moves its charts.
    b.eval("location.hash = '#traffic'").await;
    b.eval(
        "(() => { const p = document.getElementById('poll'); p.value = '2000'; \
         p.dispatchEvent(new Event('change')); })()",
    )
    .await;
    let card = "document.querySelector('#traffic-servers article[data-object=\"hs-dash\"]')";
    b.wait_for("the hs-dash traffic card", &format!("!!{card}"))
        .await;
    let traffic = drive_traffic(format!("127.0.0.1:{gate_port}"));
    let rps = b
        .wait_for(
            "requests per second of hs-dash above 0",
            &format!(
                "(() => {{ const v = parseFloat({card}.querySelector('[data-metric=rps]').textContent); \
                 return v > 0 ? v : null; }})()"
            ),
        )
        .await;
    let points =
        format!("{card}.querySelector('polyline[data-series=rps]').getAttribute('points')");
    let before = b.eval(&points).await;
    b.wait_for(
        "the requests chart to move",
        &format!("{points} !== {}", before),
    )
    .await;
    b.wait_for(
        "errors and a 500 bar",
        &format!(
            "parseFloat({card}.querySelector('[data-metric=errPct]').textContent) > 0 \
             && {card}.querySelector('svg[aria-label*=\"500\"]') !== null"
        ),
    )
    .await;
    // Paths are counted per rule path: the gate's one rule is `pathPrefix: /`.
    b.wait_for(
        "the top path",
        &format!("[...{card}.querySelectorAll('tbody th')].some(t => t.textContent === '/')"),
    )
    .await;
    b.screenshot(&out.join("traffic.png")).await;
    traffic.store(false, Ordering::Relaxed);

    // Members, custom data and the log with its level switch.
    b.eval("location.hash = '#members'").await;
    b.wait_for(
        "this member",
        "!!document.querySelector('#members tr[data-member=\"dash\"]')",
    )
    .await;
    b.eval("location.hash = '#customdata'").await;
    b.wait_for(
        "the custom data kind",
        "!!document.querySelector('#customdata-kinds button[data-kind=\"coupons\"]')",
    )
    .await;
    b.eval("location.hash = '#logs'").await;
    b.wait_for(
        "the log tail",
        "document.getElementById('log-text').textContent.includes('ready')",
    )
    .await;
    b.eval(
        "(() => { const l = document.getElementById('log-level'); l.value = 'debug'; \
         l.dispatchEvent(new Event('change')); })()",
    )
    .await;
    b.wait_for(
        "the level change to be announced",
        "document.getElementById('announce').textContent.includes('debug')",
    )
    .await;
    assert_eq!(s.api("GET", "/logs/level", "").body.trim(), "debug");
    b.screenshot(&out.join("logs.png")).await;
    assert!(
        b.errors.is_empty(),
        "the page reported errors: {:?}",
        b.errors
    );

    // What an open page costs the server: its CPU over a while with the page on the
    // traffic view (default refresh) and with no page.
    let secs = std::env::var("EG_DASHBOARD_CPU_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CPU_SECS);
    let pid = s.pid().expect("the server runs");
    b.navigate("about:blank").await;
    let idle = cpu_ticks_during(pid, Duration::from_secs(secs));
    b.navigate(&format!("{base}/dashboard/#traffic")).await;
    b.wait_for("the traffic view", &format!("!!{card}")).await;
    let open = cpu_ticks_during(pid, Duration::from_secs(secs));
    // The fastest refresh the page offers.
    b.eval(
        "(() => { const p = document.getElementById('poll'); p.value = '2000'; \
         p.dispatchEvent(new Event('change')); })()",
    )
    .await;
    let fast = cpu_ticks_during(pid, Duration::from_secs(secs));
    // A refresh is a few small answers: far below 1 % of a core.
    for (ticks, every) in [(open, "5 s"), (fast, "2 s")] {
        assert!(
            ticks <= idle + secs,
            "{ticks} ticks with the page open (refresh every {every}), {idle} without, in {secs} s"
        );
    }
    assert!(
        b.errors.is_empty(),
        "the page reported errors: {:?}",
        b.errors
    );

    let report = format!(
        "page weight: {} files, {} bytes, {} bytes as sent (gzip)\n\
         DOMContentLoaded {:.0} ms, load {:.0} ms, first contentful paint {:.0} ms, \
         first data on screen {:.0} ms (navigation start = 0)\n\
         server CPU over {secs} s: {idle} ticks without a page, {open} ticks with the traffic view \
         open (refresh every 5 s), {fast} ticks refreshing every 2 s\n\
         requests/s shown under load: {rps}\n",
        timing["files"],
        timing["decoded"],
        timing["encoded"],
        timing["domContentLoaded"].as_f64().unwrap_or(0.0),
        timing["load"].as_f64().unwrap_or(0.0),
        timing["firstContentfulPaint"].as_f64().unwrap_or(0.0),
        timing["firstData"].as_f64().unwrap_or(0.0),
    );
    std::fs::write(out.join("measurements.txt"), &report).expect("write measurements");
    println!("{report}screenshots in {}", out.display());
}
