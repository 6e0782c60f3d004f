//! OIDCAdaptor end to end: the real binary's gateway, an OAuth2 provider and an upstream on
//! loopback ports, and a client that follows the login as a browser does.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use eg_testkit::{eventually, http, Reply, Server, Upstream};

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");

/// The provider: `/authorize` logs anyone in and sends them back with a code; `/token`
/// gives an access token for that code; `/user` names the user of that token.
async fn provider() -> Upstream {
    Upstream::start(|seen| {
        let path = seen.target.split('?').next().unwrap_or("");
        let query = seen.target.split_once('?').map_or("", |(_, q)| q);
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|p| p.strip_prefix(&format!("{name}=")))
                .unwrap_or("")
                .to_string()
        };
        match path {
            "/authorize" => {
                let back = param("redirect_uri")
                    .replace("%3A", ":")
                    .replace("%2F", "/");
                let to = format!("{back}?code=c1&state={}", param("state"));
                Reply::text(302, "").header("location", &to)
            }
            "/token" if String::from_utf8_lossy(&seen.body).contains("code=c1") => {
                Reply::text(200, r#"{"access_token":"at1","token_type":"bearer"}"#)
                    .header("content-type", "application/json")
            }
            "/user"
                if seen
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    == Some("token at1") =>
            {
                Reply::text(200, r#"{"login":"alice"}"#)
            }
            _ => Reply::text(401, "{}"),
        }
    })
    .await
}

#[test]
fn a_browser_logs_in_through_the_gateway() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let idp = rt.block_on(provider());
    let app = rt.block_on(Upstream::start(|s| {
        let user = s
            .headers
            .get("x-user-info")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none");
        let from = s
            .headers
            .get("x-origin-request-url")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none");
        Reply::text(200, &format!("user={user} from={from}"))
    }));
    let s = Server::start_new(BIN, "oidc-login");
    let pipeline = format!(
        "name: login\nkind: Pipeline\nflow:\n- filter: oidc\n  jumpIf: {{oidcFiltered: END}}\n\
         - filter: proxy\nfilters:\n\
         - name: oidc\n  kind: OIDCAdaptor\n  cookieName: session\n  clientId: gw\n\
         \x20 clientSecret: s1\n  authorizationEndpoint: {idp}/authorize\n\
         \x20 tokenEndpoint: {idp}/token\n  userinfoEndpoint: {idp}/user\n\
         \x20 redirectURI: /oidc/callback\n\
         - name: proxy\n  kind: Proxy\n  pools:\n  - servers:\n    - url: {app}\n",
        idp = idp.url(),
        app = app.url()
    );
    s.create(&pipeline);
    let addr = s.gateway("gw", "- paths:\n  - pathPrefix: /\n    backend: login\n");

    // 1. No session: sent to the provider, with the state cookie.
    let first = eventually(Duration::from_secs(10), || {
        http(&addr, "GET", "/docs?page=2", &[], "")
            .ok()
            .filter(|a| a.status == 302)
    });
    let to_idp = first.header("location").expect("a Location").to_string();
    assert!(
        to_idp.starts_with(&format!("{}/authorize?client_id=gw&", idp.url())),
        "{to_idp}"
    );
    let cookie = first.header("set-cookie").expect("a state cookie");
    let state_cookie = cookie.split(';').next().unwrap_or("").to_string();
    assert!(state_cookie.starts_with("eg_oidc_state_"), "{cookie}");

    // 2. The provider logs the user in and sends the browser back.
    let idp_addr = idp.addr.to_string();
    let target = to_idp.strip_prefix(&idp.url()).unwrap_or("");
    let at_idp = http(&idp_addr, "GET", target, &[], "").expect("the provider answers");
    assert_eq!(at_idp.status, 302);
    let back = at_idp
        .header("location")
        .expect("back to the gateway")
        .to_string();
    let callback = back
        .strip_prefix(&format!("http://{addr}"))
        .expect("the callback is on the gateway");

    // 3. Without the state cookie, the callback is refused.
    let refused = http(&addr, "GET", callback, &[], "").expect("the gateway answers");
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body, "oidc callback: invalid state");

    // 4. With it, the application gets the user.
    let done = http(&addr, "GET", callback, &[("Cookie", &state_cookie)], "")
        .expect("the gateway answers");
    assert_eq!(done.status, 200, "{}", done.body);
    let user = STANDARD.encode(r#"{"login":"alice"}"#);
    assert_eq!(
        done.body,
        format!("user={user} from=http://{addr}/docs?page=2")
    );

    // 5. A request with the application's session cookie goes straight through.
    let later = http(&addr, "GET", "/docs", &[("Cookie", "session=1")], "").expect("answer");
    assert_eq!(later.status, 200);
    assert_eq!(later.body, "user=none from=none");
}

/// An HS256 JWT of `claims`, keyed with `secret` (how providers may sign ID tokens for a
/// confidential client).
fn hs256(claims: &str, secret: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let sig = ring::hmac::sign(&key, signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

/// The same login with discovery and an ID token: the application gets its claims.
#[test]
fn an_openid_login_passes_the_id_token_claims() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let base = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let b = base.clone();
    let idp = rt.block_on(Upstream::start(move |seen| {
        let url = b.get().cloned().unwrap_or_default();
        let path = seen.target.split('?').next().unwrap_or("");
        let query = seen.target.split_once('?').map_or("", |(_, q)| q);
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|p| p.strip_prefix(&format!("{name}=")))
                .unwrap_or("")
                .to_string()
        };
        match path {
            "/.well-known/openid-configuration" => Reply::text(
                200,
                &format!(
                    r#"{{"issuer":"{url}","authorization_endpoint":"{url}/auth","token_endpoint":"{url}/token","scopes_supported":["openid"]}}"#
                ),
            ),
            "/auth" => {
                let back = param("redirect_uri").replace("%3A", ":").replace("%2F", "/");
                // The nonce travels in the code, as a provider keeps it with the code.
                let to = format!("{back}?code={}&state={}", param("nonce"), param("state"));
                Reply::text(302, "").header("location", &to)
            }
            "/token" => {
                let form = String::from_utf8_lossy(&seen.body).to_string();
                let nonce = form
                    .split('&')
                    .find_map(|p| p.strip_prefix("code="))
                    .unwrap_or("");
                let claims = format!(
                    r#"{{"iss":"{url}","sub":"bob","aud":"gw","exp":4102444800,"nonce":"{nonce}"}}"#
                );
                Reply::text(
                    200,
                    &format!(r#"{{"access_token":"at2","id_token":"{}"}}"#, hs256(&claims, "s1")),
                )
            }
            _ => Reply::text(404, "{}"),
        }
    }));
    base.set(idp.url()).expect("set once");
    let app = rt.block_on(Upstream::start(|s| {
        let user = s
            .headers
            .get("x-user-info")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none");
        Reply::text(200, user)
    }));
    let s = Server::start_new(BIN, "oidc-idtoken");
    let pipeline = format!(
        "name: login\nkind: Pipeline\nflow:\n- filter: oidc\n  jumpIf: {{oidcFiltered: END}}\n\
         - filter: proxy\nfilters:\n\
         - name: oidc\n  kind: OIDCAdaptor\n  cookieName: session\n  clientId: gw\n\
         \x20 clientSecret: s1\n  discovery: {idp}/.well-known/openid-configuration\n\
         \x20 redirectURI: /cb\n\
         - name: proxy\n  kind: Proxy\n  pools:\n  - servers:\n    - url: {app}\n",
        idp = idp.url(),
        app = app.url()
    );
    s.create(&pipeline);
    let addr = s.gateway("gw", "- paths:\n  - pathPrefix: /\n    backend: login\n");

    let first = eventually(Duration::from_secs(10), || {
        http(&addr, "GET", "/", &[], "")
            .ok()
            .filter(|a| a.status == 302)
    });
    let to_idp = first.header("location").expect("a Location").to_string();
    assert!(to_idp.contains("&scope=openid&"), "{to_idp}");
    let state_cookie = first
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("a state cookie")
        .to_string();
    let target = to_idp.strip_prefix(&idp.url()).unwrap_or("");
    let at_idp = http(&idp.addr.to_string(), "GET", target, &[], "").expect("answer");
    let back = at_idp.header("location").expect("back").to_string();
    let callback = back
        .strip_prefix(&format!("http://{addr}"))
        .expect("on the gateway");
    let done = http(&addr, "GET", callback, &[("Cookie", &state_cookie)], "").expect("answer");
    assert_eq!(done.status, 200, "{}", done.body);
    let claims = STANDARD.decode(done.body.trim()).expect("base64");
    let claims: serde_json::Value = serde_json::from_slice(&claims).expect("JSON");
    assert_eq!(claims["sub"], "bob");
    assert_eq!(claims["iss"], idp.url());
}
