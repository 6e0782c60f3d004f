//! The dashboard's routes without a socket: content types, validators, encodings, policy.

use super::*;
use http_body_util::BodyExt;

fn get(path: &str, headers: &[(&'static str, &str)]) -> Response<ApiBody> {
    let mut h = HeaderMap::new();
    for (k, v) in headers {
        h.append(*k, HeaderValue::from_str(v).unwrap());
    }
    respond(&Method::GET, path, &h)
}

async fn body(r: Response<ApiBody>) -> Bytes {
    r.into_body().collect().await.unwrap().to_bytes()
}

fn header(r: &Response<ApiBody>, name: header::HeaderName) -> &str {
    r.headers()
        .get(&name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn the_dashboard_owns_the_root_and_its_prefix_only() {
    for p in ["/", "/dashboard", "/dashboard/", "/dashboard/app.js"] {
        assert!(owns(p), "{p}");
    }
    for p in ["/apis/v2", "/dashboardx", "/favicon.ico", ""] {
        assert!(!owns(p), "{p}");
    }
}

#[test]
fn the_root_and_the_bare_prefix_redirect_to_the_page() {
    for p in ["/", "/dashboard"] {
        let r = get(p, &[]);
        assert_eq!(r.status(), StatusCode::FOUND);
        assert_eq!(header(&r, header::LOCATION), DASHBOARD_PATH);
    }
}

#[tokio::test]
async fn files_have_their_content_types_and_the_strict_policy() {
    for (path, ctype) in [
        ("/dashboard/", "text/html; charset=utf-8"),
        ("/dashboard/app.js", "text/javascript; charset=utf-8"),
        ("/dashboard/app.css", "text/css; charset=utf-8"),
        ("/dashboard/favicon.svg", "image/svg+xml"),
    ] {
        let r = get(path, &[]);
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&r, header::CONTENT_TYPE), ctype);
        let csp = header(&r, header::CONTENT_SECURITY_POLICY).to_string();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe"));
        assert_eq!(header(&r, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(header(&r, header::CACHE_CONTROL), "no-cache");
        assert!(r.headers().get(header::CONTENT_ENCODING).is_none());
        let len: usize = header(&r, header::CONTENT_LENGTH).parse().unwrap();
        assert_eq!(body(r).await.len(), len);
    }
}

#[tokio::test]
async fn the_page_loads_no_inline_script() {
    let page = body(get("/dashboard/", &[])).await;
    let page = String::from_utf8_lossy(&page);
    assert!(page.contains("<script src=\"app.js\" defer></script>"));
    assert_eq!(
        page.matches("<script").count(),
        1,
        "one script, no inline one"
    );
    assert!(!page.contains("style="), "no inline style");
    let handler = page.split(" on").skip(1).any(|rest| {
        let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
        !name.is_empty() && rest[name.len()..].starts_with('=')
    });
    assert!(!handler, "no inline event handler");
}

#[tokio::test]
async fn gzip_is_sent_when_accepted_and_is_the_same_file() {
    let r = get(
        "/dashboard/app.js",
        &[("accept-encoding", "br, gzip;q=0.8")],
    );
    assert_eq!(header(&r, header::CONTENT_ENCODING), "gzip");
    assert_eq!(header(&r, header::VARY), "Accept-Encoding");
    let z = body(r).await;
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&z[..]), &mut plain).unwrap();
    assert_eq!(plain, assets::find("app.js").unwrap().bytes);
    let r = get(
        "/dashboard/app.js",
        &[("accept-encoding", "gzip;q=0, deflate")],
    );
    assert!(r.headers().get(header::CONTENT_ENCODING).is_none());
}

#[test]
fn a_known_etag_gets_304_per_encoding() {
    let r = get("/dashboard/app.css", &[]);
    let tag = header(&r, header::ETAG).to_string();
    let again = get("/dashboard/app.css", &[("if-none-match", &tag)]);
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&again, header::ETAG), tag);
    let weak = format!("\"other\", W/{tag}");
    assert_eq!(
        get("/dashboard/app.css", &[("if-none-match", &weak)]).status(),
        StatusCode::NOT_MODIFIED
    );
    // The gzip copy is another representation: the plain tag does not validate it.
    let z = get(
        "/dashboard/app.css",
        &[("if-none-match", &tag), ("accept-encoding", "gzip")],
    );
    assert_eq!(z.status(), StatusCode::OK);
    assert_ne!(header(&z, header::ETAG), tag);
}

#[test]
fn unknown_files_are_404_and_writes_405() {
    assert_eq!(
        get("/dashboard/nothing.js", &[]).status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get("/dashboard/../apis/v2", &[]).status(),
        StatusCode::NOT_FOUND
    );
    let r = respond(&Method::POST, "/dashboard/", &HeaderMap::new());
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&r, header::ALLOW), "GET, HEAD");
}

#[tokio::test]
async fn head_sends_the_length_without_the_body() {
    let r = respond(&Method::HEAD, "/dashboard/", &HeaderMap::new());
    assert_eq!(r.status(), StatusCode::OK);
    let len: usize = header(&r, header::CONTENT_LENGTH).parse().unwrap();
    assert_eq!(len, assets::ASSETS[0].bytes.len());
    assert!(body(r).await.is_empty());
}
