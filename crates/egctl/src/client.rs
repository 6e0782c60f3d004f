//! HTTP access to the admin API: base URL and credentials from the global
//! flags and `~/.egctlrc`, JSON bodies, `{"code","message"}` errors.

use std::cell::RefCell;
use std::io::Read;
use std::time::Duration;

use base64::Engine;
use serde_json::Value;
use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};

use crate::config::{self, CurrentConfig};
use crate::CmdResult;

/// Default admin address when neither `--server` nor `~/.egctlrc` gives one.
pub const DEFAULT_SERVER: &str = "localhost:2381";
/// Prefix of every admin route.
pub const API_PREFIX: &str = "/apis/v2";
/// How long to wait for a TCP/TLS connection to the admin API.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response body read into memory (metrics and logs can be big).
const MAX_BODY_BYTES: u64 = 1 << 30;
/// Body text of a Go server answering plain HTTP on an HTTPS port.
const HTTPS_HINT: &str = "Client sent an HTTP request to an HTTPS server";

/// Global connection flags of egctl.
#[derive(Debug, Clone, Default)]
pub struct ConnOptions {
    /// `--server`: admin address, `host:port` with optional scheme.
    pub server: Option<String>,
    /// `--force-tls`: use HTTPS even without a scheme.
    pub force_tls: bool,
    /// `--insecure-skip-verify`: do not verify the server certificate.
    pub insecure_skip_verify: bool,
}

/// HTTP methods egctl uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
}

/// Client of one admin API.
pub struct Client {
    base: String,
    agent: ureq::Agent,
    auth: Option<String>,
    api_resources: RefCell<Option<Vec<crate::resources::ApiResource>>>,
}

/// Computes the base URL (scheme + host:port) the way Easegress's egctl does:
/// `--server` beats the config's server, which beats `localhost:2381`;
/// `https://` is kept, `http://` is replaced by `https://` when TLS is forced.
pub fn base_url(flag_server: Option<&str>, cfg: Option<&CurrentConfig>, force_tls: bool) -> String {
    let mut server = DEFAULT_SERVER.to_string();
    if let Some(c) = cfg {
        if !c.cluster.cluster.server.is_empty() {
            server = c.cluster.cluster.server.clone();
        }
    }
    if let Some(s) = flag_server.filter(|s| !s.is_empty()) {
        server = s.to_string();
    }
    let server = server.trim_end_matches('/');
    if server.starts_with("https://") {
        return server.to_string();
    }
    let scheme = if force_tls || cfg.is_some_and(CurrentConfig::use_https) {
        "https://"
    } else {
        "http://"
    };
    format!(
        "{scheme}{}",
        server.strip_prefix("http://").unwrap_or(server)
    )
}

fn decode_b64(data: &str, what: &str) -> CmdResult<Vec<u8>> {
    let cleaned: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(cleaned)
        .map_err(|e| format!("decode {what} failed: {e}"))
}

fn pem_source(path: &str, data: &str, what: &str) -> CmdResult<Option<Vec<u8>>> {
    if !path.is_empty() {
        return std::fs::read(path)
            .map(Some)
            .map_err(|e| format!("read {what} {path} failed: {e}"));
    }
    if !data.is_empty() {
        return decode_b64(data, what).map(Some);
    }
    Ok(None)
}

fn tls_config(opts: &ConnOptions, cfg: Option<&CurrentConfig>) -> CmdResult<TlsConfig> {
    let mut builder = TlsConfig::builder().disable_verification(opts.insecure_skip_verify);
    if let Some(c) = cfg {
        let cl = &c.cluster.cluster;
        if let Some(ca) = pem_source(
            &cl.certificate_authority,
            &cl.certificate_authority_data,
            "certificate authority",
        )? {
            let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&ca)
                .filter_map(|item| match item {
                    Ok(PemItem::Certificate(cert)) => Some(cert),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err("failed to append CA certificate to pool".into());
            }
            builder = builder.root_certs(RootCerts::new_with_certs(&certs));
        }
        let u = &c.user.user;
        let cert = pem_source(
            &u.client_certificate,
            &u.client_certificate_data,
            "client certificate",
        )?;
        let key = pem_source(&u.client_key, &u.client_key_data, "client key")?;
        if let (Some(cert), Some(key)) = (cert, key) {
            let chain: Vec<Certificate<'static>> = ureq::tls::parse_pem(&cert)
                .filter_map(|item| match item {
                    Ok(PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            let key =
                PrivateKey::from_pem(&key).map_err(|e| format!("parse client key failed: {e}"))?;
            builder = builder.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
        }
    }
    Ok(builder.build())
}

impl Client {
    /// Builds a client from the global flags and `~/.egctlrc`. Fails when the
    /// config file is unreadable or its current context is incomplete.
    pub fn new(opts: &ConnOptions) -> CmdResult<Client> {
        let cfg = match config::load_config()? {
            Some(c) => Some(config::current_config(&c)?),
            None => None,
        };
        let base = base_url(opts.server.as_deref(), cfg.as_ref(), opts.force_tls);
        let auth = cfg
            .as_ref()
            .filter(|c| !c.user.user.username.is_empty())
            .map(|c| {
                let raw = format!("{}:{}", c.user.user.username, c.user.user.password);
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                )
            });
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .max_redirects(0)
            .tls_config(tls_config(opts, cfg.as_ref())?)
            .build()
            .into();
        Ok(Client {
            base,
            agent,
            auth,
            api_resources: RefCell::new(None),
        })
    }

    /// Base URL in use, e.g. `http://127.0.0.1:2381`.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&[u8]>,
    ) -> CmdResult<ureq::http::Response<ureq::Body>> {
        macro_rules! with_headers {
            ($b:expr) => {{
                let mut b = $b.header("Accept", "application/json");
                if let Some(a) = &self.auth {
                    b = b.header("Authorization", a.as_str());
                }
                b
            }};
        }
        let res = match method {
            Method::Get => with_headers!(self.agent.get(url)).call(),
            Method::Delete => with_headers!(self.agent.delete(url)).call(),
            Method::Post | Method::Put => {
                let b = if method == Method::Post {
                    self.agent.post(url)
                } else {
                    self.agent.put(url)
                };
                let b = with_headers!(b);
                match body {
                    Some(bytes) => b.header("Content-Type", "application/json").send(bytes),
                    None => b.send_empty(),
                }
            }
        };
        let m = match method {
            Method::Get => "Get",
            Method::Post => "Post",
            Method::Put => "Put",
            Method::Delete => "Delete",
        };
        res.map_err(|e| format!("{m} \"{url}\": {e}"))
    }

    /// Sends a request to `path` (which starts with `/apis/v2`) and returns the
    /// body of a 2xx answer. A non-2xx answer becomes `"<code>: <message>"`.
    pub fn request(&self, method: Method, path: &str, body: Option<&Value>) -> CmdResult<Vec<u8>> {
        let mut resp = self.request_raw(method, path, body)?;
        resp.body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec()
            .map_err(|e| format!("read response body failed: {e}"))
    }

    /// Like [`Client::request`] but hands back the open 2xx response so the
    /// caller can stream it (used by `logs -f`).
    pub fn request_raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> CmdResult<ureq::http::Response<ureq::Body>> {
        let json = body.map(|v| serde_json::to_vec(v).unwrap_or_default());
        let url = format!("{}{}", self.base, path);
        let mut resp = self.send(method, &url, json.as_deref())?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(resp);
        }
        let mut text = String::new();
        let _ = resp
            .body_mut()
            .as_reader()
            .take(MAX_BODY_BYTES)
            .read_to_string(&mut text);
        if status == 400 && url.starts_with("http://") && text.contains(HTTPS_HINT) {
            let https = format!("https://{}", url.trim_start_matches("http://"));
            let mut resp = self.send(method, &https, json.as_deref())?;
            let status = resp.status().as_u16();
            if (200..300).contains(&status) {
                return Ok(resp);
            }
            text.clear();
            let _ = resp
                .body_mut()
                .as_reader()
                .take(MAX_BODY_BYTES)
                .read_to_string(&mut text);
            return Err(api_error(status, &text));
        }
        Err(api_error(status, &text))
    }

    /// Sends a request and parses the answer as JSON (`null` for an empty body).
    pub fn request_json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> CmdResult<Value> {
        let bytes = self.request(method, path, body)?;
        parse_body(&bytes)
    }

    /// Object API resources from `GET /object-api-resources`, fetched once.
    pub fn api_resources(&self) -> CmdResult<Vec<crate::resources::ApiResource>> {
        if let Some(r) = self.api_resources.borrow().as_ref() {
            return Ok(r.clone());
        }
        let v = self.request_json(
            Method::Get,
            &format!("{API_PREFIX}/object-api-resources"),
            None,
        )?;
        let list = crate::resources::parse_api_resources(&v);
        *self.api_resources.borrow_mut() = Some(list.clone());
        Ok(list)
    }
}

/// Parses a response body as JSON; an empty body is `null`.
pub fn parse_body(bytes: &[u8]) -> CmdResult<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|e| format!("unmarshal response failed: {e}"))
}

/// Formats a non-2xx answer as Easegress does: `"<code>: <message>"`, with
/// the message taken from a `{"code","message"}` body when there is one.
pub fn api_error(status: u16, body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        if let Some(msg) = crate::yaml::get_ci(&v, "message") {
            let code = crate::yaml::get_ci(&v, "code")
                .and_then(Value::as_u64)
                .unwrap_or(u64::from(status));
            return format!("{code}: {}", crate::yaml::scalar_string(msg));
        }
    }
    format!("{status}: {}", body.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_rules() {
        assert_eq!(base_url(None, None, false), "http://localhost:2381");
        assert_eq!(
            base_url(Some("127.0.0.1:1"), None, false),
            "http://127.0.0.1:1"
        );
        assert_eq!(
            base_url(Some("http://127.0.0.1:1"), None, false),
            "http://127.0.0.1:1"
        );
        assert_eq!(
            base_url(Some("http://127.0.0.1:1"), None, true),
            "https://127.0.0.1:1"
        );
        assert_eq!(base_url(Some("https://h:1/"), None, false), "https://h:1");
    }

    #[test]
    fn api_error_uses_message() {
        assert_eq!(
            api_error(404, r#"{"code":404,"message":"not found"}"#),
            "404: not found"
        );
        assert_eq!(api_error(500, "boom\n"), "500: boom");
    }
}
