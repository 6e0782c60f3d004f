//! Tests of the FileServer over real temporary directories; helpers here, topics in the
//! submodules.

mod conditional;
mod encodings;
mod paths;
mod pool;
mod spec_checks;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde_json::{json, Value};
use tempfile::TempDir;

use super::*;
use crate::testkit::{build, ctx, filter_spec, run, supervisor};

/// A root directory `site` inside a temporary directory that also holds `secret.txt`
/// (outside the root).
struct Site {
    dir: TempDir,
}

const SECRET: &str = "TOP-SECRET-OUTSIDE-ROOT";

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("site")).unwrap();
        std::fs::write(dir.path().join("secret.txt"), SECRET).unwrap();
        Site { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("site")
    }

    fn root_str(&self) -> String {
        self.root().to_string_lossy().into_owned()
    }

    fn write(&self, rel: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let p = self.root().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, data).unwrap();
        p
    }

    fn filter(&self, mut fields: Value) -> Box<dyn Filter> {
        fields["root"] = Value::String(self.root_str());
        build(&KIND, fields).unwrap()
    }
}

/// What the filter answered.
#[derive(Debug)]
struct Answer {
    result: &'static str,
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
    streamed: bool,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send(f: &dyn Filter, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut c = ctx(method, path, headers);
    let result = run(f, &mut c).await;
    let resp = c.take_default_response().expect("a response");
    let streamed = !resp.body.is_buffered();
    let mut body = resp.body;
    let bytes = body.buffer(None).await.unwrap();
    Answer {
        result,
        status: resp.status.as_u16(),
        headers: resp.headers,
        body: bytes.to_vec(),
        streamed,
    }
}

async fn get(f: &dyn Filter, path: &str) -> Answer {
    send(f, "GET", path, &[]).await
}

fn build_err(doc: Value) -> String {
    match build(&KIND, doc) {
        Ok(_) => panic!("spec accepted"),
        Err(e) => e.to_string(),
    }
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    eg_protocols::gzip::gunzip(data).unwrap().to_vec()
}

fn sha1_etag(data: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}
