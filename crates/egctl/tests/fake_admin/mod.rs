//! A tiny in-process stand-in for the easegress-rs admin API: enough routes
//! of `/apis/v2` for egctl's commands, with every request recorded.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// One request the fake server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub body: Value,
    pub auth: Option<String>,
}

#[derive(Default)]
pub struct State {
    pub objects: BTreeMap<String, Value>,
    pub kinds: BTreeMap<String, Value>,
    pub data: BTreeMap<String, BTreeMap<String, Value>>,
    pub requests: Vec<Recorded>,
    /// When set, every request without this Authorization value gets 401.
    pub require_auth: Option<String>,
}

pub struct FakeAdmin {
    pub addr: String,
    pub state: Arc<Mutex<State>>,
}

impl FakeAdmin {
    pub fn start() -> FakeAdmin {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || serve(conn, st));
            }
        });
        FakeAdmin { addr, state }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn put_object(&self, v: Value) {
        let name = v["name"].as_str().unwrap().to_string();
        self.state.lock().unwrap().objects.insert(name, v);
    }
}

fn serve(conn: TcpStream, st: Arc<Mutex<State>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut writer = conn;
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut len = 0usize;
    let mut auth = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap_or((h, ""));
        if k.eq_ignore_ascii_case("content-length") {
            len = v.trim().parse().unwrap_or(0);
        }
        if k.eq_ignore_ascii_case("authorization") {
            auth = Some(v.trim().to_string());
        }
    }
    let mut body = vec![0u8; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let (status, resp) = {
        let mut s = st.lock().unwrap();
        s.requests.push(Recorded {
            method: method.clone(),
            path: target.clone(),
            body: body.clone(),
            auth: auth.clone(),
        });
        if s.require_auth.is_some() && s.require_auth != auth {
            (
                401,
                json!({"code": 401, "message": "unauthorized"}).to_string(),
            )
        } else {
            route(&mut s, &method, &target, body)
        }
    };
    let reason = if status < 300 { "OK" } else { "ERR" };
    let msg = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{resp}",
        resp.len()
    );
    let _ = writer.write_all(msg.as_bytes());
    let _ = writer.flush();
}

fn err(code: u16, msg: &str) -> (u16, String) {
    (code, json!({"code": code, "message": msg}).to_string())
}

fn ok(v: Value) -> (u16, String) {
    (200, v.to_string())
}

fn route(s: &mut State, method: &str, target: &str, body: Value) -> (u16, String) {
    let path = target.split('?').next().unwrap_or_default();
    let Some(rest) = path.strip_prefix("/apis/v2") else {
        return err(404, "not found");
    };
    let segs: Vec<&str> = rest.split('/').filter(|x| !x.is_empty()).collect();
    let dry_run = target.contains("dryRun=true");
    match (method, segs.as_slice()) {
        ("GET", []) => ok(json!([{"group": "admin", "entries": [
            {"path": "/objects", "method": "POST"}, {"path": "/objects", "method": "GET"},
            {"path": "/healthz", "method": "GET"}]}])),
        ("GET", ["healthz"]) => (200, String::new()),
        ("GET", ["object-kinds", "HTTPServer" | "hs", "schema"]) => ok(json!({
        "type": "object", "required": ["name", "kind"],
        "properties": {
            "port": {"type": ["integer", "null"], "description": "Listening port."},
            "rules": {"type": "array", "description": "Routing rules.", "items": {
                "type": "object", "properties": {
                    "paths": {"type": "array", "items": {"type": "object", "properties": {
                        "backend": {"type": "string", "description": "The pipeline."}}}}}}},
        }})),
        ("GET", ["metadata", "objects", "pipeline", "filters"]) => ok(json!(["Mock", "Proxy"])),
        ("GET", ["metadata", "objects", "pipeline", "filters", "Proxy", "schema"]) => ok(json!({
            "type": "object", "properties": {
                "pools": {"type": "array", "description": "Server pools.", "items": {
                    "type": "object", "properties": {
                        "loadBalance": {"type": ["object", "null"], "properties": {
                            "policy": {"type": "string", "default": "roundRobin"}}}}}}}})),
        ("GET", ["object-api-resources"]) => ok(json!([
            {"kind": "HTTPServer", "name": "httpserver", "aliases": ["httpservers", "hs"], "category": "TrafficGate"},
            {"kind": "Pipeline", "name": "pipeline", "aliases": ["pipelines", "pl"], "category": "Pipeline"}])),
        ("GET", ["objects"]) => ok(Value::Array(s.objects.values().cloned().collect())),
        ("POST", ["objects"]) => {
            let name = body["name"].as_str().unwrap_or_default().to_string();
            if s.objects.contains_key(&name) {
                return err(409, &format!("conflict name: {name}"));
            }
            if !dry_run {
                s.objects.insert(name, body);
            }
            (201, String::new())
        }
        ("GET", ["objects", name]) => match s.objects.get(*name) {
            Some(v) => ok(v.clone()),
            None => err(404, &format!("{name} not found")),
        },
        ("PUT", ["objects", name]) => {
            if !s.objects.contains_key(*name) {
                return err(404, &format!("{name} not found"));
            }
            if !dry_run {
                s.objects.insert(name.to_string(), body);
            }
            ok(Value::Null)
        }
        ("DELETE", ["objects", name]) => match s.objects.remove(*name) {
            Some(_) => (200, String::new()),
            None => err(404, &format!("{name} not found")),
        },
        ("GET", ["status", "objects", ..]) => {
            let mut m = serde_json::Map::new();
            for name in s.objects.keys() {
                m.insert(
                    format!("eg-traffic-default/{name}/eg-member-1"),
                    json!({"health": "ok", "p999": 0}),
                );
            }
            ok(Value::Object(m))
        }
        ("GET", ["status", "members"]) => ok(json!([{
            "options": {"Name": "eg-member-1", "ClusterName": "c1", "ClusterRole": "primary", "APIAddr": "127.0.0.1:2381"},
            "lastHeartbeatTime": chrono_now(),
            "etcd": {"id": "1", "startTime": chrono_now(), "state": "Leader"}
        }])),
        ("GET", ["customdatakinds"]) => ok(Value::Array(
            s.kinds
                .values()
                .map(|k| {
                    let mut k = k.clone();
                    let n = k["name"].as_str().unwrap_or_default().to_string();
                    k["len"] = json!(s.data.get(&n).map(|d| d.len()).unwrap_or(0));
                    k
                })
                .collect(),
        )),
        ("POST", ["customdatakinds"]) => {
            let name = body["name"].as_str().unwrap_or_default().to_string();
            s.kinds.insert(name, body);
            (201, String::new())
        }
        ("GET", ["customdatakinds", name]) => match s.kinds.get(*name) {
            Some(v) => ok(v.clone()),
            None => err(404, "not found"),
        },
        ("DELETE", ["customdatakinds", name]) => {
            s.kinds.remove(*name);
            (200, String::new())
        }
        ("POST", ["customdata", kind, "items"]) => {
            let id_field = s
                .kinds
                .get(*kind)
                .and_then(|k| k["idField"].as_str())
                .unwrap_or("name")
                .to_string();
            let d = s.data.entry(kind.to_string()).or_default();
            if body["rebuild"] == json!(true) {
                d.clear();
            }
            for item in body["list"].as_array().cloned().unwrap_or_default() {
                d.insert(
                    item[&id_field].as_str().unwrap_or_default().to_string(),
                    item,
                );
            }
            (200, String::new())
        }
        ("GET", ["customdata", kind]) => ok(Value::Array(
            s.data
                .get(*kind)
                .map(|d| d.values().cloned().collect())
                .unwrap_or_default(),
        )),
        ("GET", ["customdata", kind, id]) => match s.data.get(*kind).and_then(|d| d.get(*id)) {
            Some(v) => ok(v.clone()),
            None => err(404, "not found"),
        },
        ("DELETE", ["customdata", kind, id]) => {
            if let Some(d) = s.data.get_mut(*kind) {
                d.remove(*id);
            }
            (200, String::new())
        }
        ("GET", ["profile"]) => ok(json!({"cpuPath": "", "memoryPath": ""})),
        _ => err(404, "no such route"),
    }
}

fn chrono_now() -> String {
    chrono::Utc::now().to_rfc3339()
}
