//! An OpenID Connect provider for the tests, on a loopback port: discovery, an authorize
//! endpoint that logs anyone in (302 back with a code), a token endpoint issuing RS256 ID
//! tokens signed with a fixed test key, the key set, and user info.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use eg_protocols::escape::decode_query_component;
use eg_testkit::{Reply, Seen, Upstream};
use parking_lot::Mutex;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde_json::{json, Value};

use crate::validator::testkeys::{RSA1_PKCS8, RSA2_PKCS8};

/// The client the provider knows.
pub const CLIENT_ID: &str = "gateway";
/// Its secret.
pub const CLIENT_SECRET: &str = "s3cret&more";
/// The access token issued.
pub const ACCESS_TOKEN: &str = "at-123";

/// How the next ID tokens are made.
#[derive(Clone)]
pub struct Issue {
    /// Sign with the key the key set does not publish (under its `kid`).
    pub wrong_key: bool,
    /// Sign with HS256 and the client secret instead.
    pub hmac: bool,
    /// `aud`.
    pub aud: Value,
    /// Seconds from now to `exp`.
    pub exp_in: i64,
    /// Replace the login's nonce.
    pub nonce: Option<String>,
    /// Replace `iss`.
    pub iss: Option<String>,
    /// Leave the ID token out of the token answer (OAuth2 only).
    pub no_id_token: bool,
    /// Answer the token request with this status and an OAuth2 error.
    pub token_error: Option<u16>,
    /// Leave `exp` out of the ID token.
    pub no_exp: bool,
}

impl Default for Issue {
    fn default() -> Self {
        Issue {
            wrong_key: false,
            hmac: false,
            aud: json!(CLIENT_ID),
            exp_in: 300,
            nonce: None,
            iss: None,
            no_id_token: false,
            token_error: None,
            no_exp: false,
        }
    }
}

#[derive(Default)]
struct State {
    url: String,
    /// code → nonce of its login.
    codes: HashMap<String, String>,
    issue: Issue,
}

/// The running provider; stops when dropped.
pub struct TestProvider {
    /// The server (every request it saw).
    pub server: Upstream,
    state: Arc<Mutex<State>>,
}

fn query(target: &str) -> HashMap<String, String> {
    let q = target.split_once('?').map_or("", |(_, q)| q);
    form(q)
}

fn form(text: &str) -> HashMap<String, String> {
    text.split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            (
                decode_query_component(k).into_owned(),
                decode_query_component(v).into_owned(),
            )
        })
        .collect()
}

fn json_reply(v: Value) -> Reply {
    Reply::text(200, &v.to_string()).header("content-type", "application/json")
}

fn rsa(pkcs8: &str) -> RsaKeyPair {
    let der = STANDARD.decode(pkcs8).expect("test key is base64");
    RsaKeyPair::from_pkcs8(&der).expect("test key is PKCS#8")
}

/// A JWT of `claims`, RS256 with `key` under `kid`, or HS256 with the client secret.
pub fn sign(claims: &Value, key: Option<(&str, &str)>) -> String {
    let header = match key {
        Some((_, kid)) => json!({"alg": "RS256", "typ": "JWT", "kid": kid}),
        None => json!({"alg": "HS256", "typ": "JWT"}),
    };
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = match key {
        Some((pkcs8, _)) => {
            let k = rsa(pkcs8);
            let mut out = vec![0; k.public().modulus_len()];
            k.sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signed.as_bytes(),
                &mut out,
            )
            .expect("signing works");
            out
        }
        None => {
            let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, CLIENT_SECRET.as_bytes());
            ring::hmac::sign(&k, signed.as_bytes()).as_ref().to_vec()
        }
    };
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn handle(state: &Mutex<State>, seen: &Seen) -> Reply {
    let path = seen.target.split('?').next().unwrap_or("");
    let mut st = state.lock();
    let url = st.url.clone();
    match path {
        "/.well-known/openid-configuration" => json_reply(json!({
            "issuer": url,
            "authorization_endpoint": format!("{url}/authorize"),
            "token_endpoint": format!("{url}/token"),
            "userinfo_endpoint": format!("{url}/userinfo"),
            "jwks_uri": format!("{url}/jwks"),
            "scopes_supported": ["openid", "email"],
        })),
        "/authorize" => {
            let q = query(&seen.target);
            let code = format!("code-{}", st.codes.len() + 1);
            st.codes
                .insert(code.clone(), q.get("nonce").cloned().unwrap_or_default());
            let back = format!(
                "{}?code={code}&state={}",
                q.get("redirect_uri").map_or("", String::as_str),
                q.get("state").map_or("", String::as_str)
            );
            Reply::text(302, &back).header("location", &back)
        }
        "/token" => {
            let f = form(&String::from_utf8_lossy(&seen.body));
            if let Some(status) = st.issue.token_error {
                return Reply::text(status, r#"{"error":"invalid_grant"}"#);
            }
            let Some(nonce) = f.get("code").and_then(|c| st.codes.remove(c)) else {
                return json_reply(
                    json!({"error": "invalid_grant", "error_description": "unknown code"}),
                );
            };
            if f.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET) {
                return Reply::text(401, "{}");
            }
            let issue = st.issue.clone();
            let claims = json!({
                "iss": issue.iss.unwrap_or(url),
                "sub": "alice",
                "aud": issue.aud,
                "exp": now() + issue.exp_in,
                "iat": now() - 1,
                "nonce": issue.nonce.unwrap_or(nonce),
                "email": "alice@example.com",
            });
            let mut claims = claims;
            if issue.no_exp {
                if let Some(m) = claims.as_object_mut() {
                    m.remove("exp");
                }
            }
            let key = if issue.wrong_key {
                Some((RSA2_PKCS8, "k1"))
            } else if issue.hmac {
                None
            } else {
                Some((RSA1_PKCS8, "k1"))
            };
            let mut answer =
                json!({"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 300});
            if !issue.no_id_token {
                answer["id_token"] = json!(sign(&claims, key));
            }
            json_reply(answer)
        }
        "/jwks" => {
            let k = rsa(RSA1_PKCS8);
            let c: ring::rsa::PublicKeyComponents<Vec<u8>> = k.public().into();
            json_reply(
                json!({"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
                "n": URL_SAFE_NO_PAD.encode(&c.n), "e": URL_SAFE_NO_PAD.encode(&c.e)}]}),
            )
        }
        "/userinfo" => {
            if seen
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                != Some(&format!("token {ACCESS_TOKEN}"))
            {
                return Reply::text(401, r#"{"message":"Bad credentials"}"#);
            }
            json_reply(json!({"login": "alice", "id": 7}))
        }
        _ => Reply::text(404, "not found"),
    }
}

impl TestProvider {
    /// Starts a provider.
    pub async fn start() -> TestProvider {
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        let server = Upstream::start(move |seen| handle(&s, seen)).await;
        state.lock().url = server.url();
        TestProvider { server, state }
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Sets how the next ID tokens are made.
    pub fn issue(&self, issue: Issue) {
        self.state.lock().issue = issue;
    }

    /// Requests seen at `path`.
    pub fn seen_at(&self, path: &str) -> Vec<Seen> {
        self.server
            .seen
            .lock()
            .iter()
            .filter(|s| s.target.split('?').next() == Some(path))
            .cloned()
            .collect()
    }
}
