use super::*;

const URLS: [&str; 3] = [
    "http://10.0.0.1:80",
    "http://10.0.0.2:80",
    "http://10.0.0.3:80",
];

fn sticky(doc: serde_json::Value) -> Result<StickySession, SpecError> {
    let spec: StickySessionSpec = serde_json::from_value(doc).unwrap();
    StickySession::compile(&spec, "lb.stickySession", URLS.map(String::from).to_vec())
}

fn all() -> HealthyGroup {
    HealthyGroup::new(vec![0, 1, 2], &[0, 0, 0])
}

fn with_cookie(c: &str) -> HttpRequest {
    let mut req = HttpRequest::simple(http::Method::GET, "/").unwrap();
    req.headers_mut()
        .insert(COOKIE, HeaderValue::from_str(c).unwrap());
    req
}

/// The `name=value` part of a `Set-Cookie` value.
fn pair(v: &HeaderValue) -> String {
    v.to_str().unwrap().split(';').next().unwrap().to_string()
}

#[test]
fn duration_based_cookie_is_easegress_format_and_names_its_server() {
    let s = sticky(serde_json::json!({"mode": "DurationBased", "lbCookieExpire": "1h"})).unwrap();
    let v = s.cookie_for(1, &HeaderMap::new()).unwrap();
    let text = v.to_str().unwrap();
    let (nv, attrs) = text.split_once("; ").unwrap();
    let value = nv.strip_prefix("EG_SESSION=").unwrap();
    assert_eq!(value.len(), 80);
    assert!(value.bytes().all(|b| b.is_ascii_hexdigit()));
    // Key then HMAC-SHA256(key, url).
    let raw = decode_hex::<40>(value).unwrap();
    let key = hmac::Key::new(hmac::HMAC_SHA256, &raw[..8]);
    assert_eq!(hmac::sign(&key, URLS[1].as_bytes()).as_ref(), &raw[8..]);
    // Only Expires, in HTTP-date form, an hour ahead.
    let when = attrs.strip_prefix("Expires=").unwrap();
    assert!(when.ends_with(" GMT"), "{when}");
    let at = httpdate::parse_http_date(when).unwrap();
    let ahead = at.duration_since(SystemTime::now()).unwrap();
    assert!(ahead > Duration::from_secs(3590) && ahead <= Duration::from_secs(3600));
    assert_eq!(
        s.choose(&all(), &with_cookie(&format!("a=b; {}", pair(&v)))),
        Some(1)
    );
    // A fresh key every time.
    assert_ne!(pair(&s.cookie_for(1, &HeaderMap::new()).unwrap()), pair(&v));
}

#[test]
fn a_cookie_naming_no_healthy_server_is_ignored() {
    let s = sticky(serde_json::json!({"mode": "DurationBased"})).unwrap();
    let v = pair(&s.cookie_for(2, &HeaderMap::new()).unwrap());
    // Server 2 gone from the healthy group.
    let two = HealthyGroup::new(vec![0, 1], &[0, 0, 0]);
    assert_eq!(s.choose(&two, &with_cookie(&v)), None);
    // Tampered MAC, wrong length, not hex, another URL's MAC.
    let mut bad = v.clone().into_bytes();
    let last = bad.len() - 1;
    bad[last] = if bad[last] == b'0' { b'1' } else { b'0' };
    let bad = String::from_utf8(bad).unwrap();
    for c in [
        bad.as_str(),
        "EG_SESSION=abcd",
        "EG_SESSION=zz",
        "EG_SESSION=",
    ] {
        assert_eq!(s.choose(&all(), &with_cookie(c)), None, "{c}");
    }
    let key = [7u8; 8];
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &key),
        b"http://elsewhere:80",
    );
    let mut forged = String::from("EG_SESSION=");
    push_hex(&mut forged, &key);
    push_hex(&mut forged, tag.as_ref());
    assert_eq!(s.choose(&all(), &with_cookie(&forged)), None);
}

#[test]
fn application_based_sets_its_cookie_only_after_the_app_cookie() {
    let s = sticky(
        serde_json::json!({"mode": "ApplicationBased", "appCookieName": "sid",
        "lbCookieName": "LB"}),
    )
    .unwrap();
    let mut h = HeaderMap::new();
    h.append(SET_COOKIE, HeaderValue::from_static("other=1; Path=/"));
    assert!(s.cookie_for(0, &h).is_none());
    h.append(
        SET_COOKIE,
        HeaderValue::from_static("sid=42; Path=/; HttpOnly"),
    );
    let v = s.cookie_for(0, &h).unwrap();
    assert!(v.to_str().unwrap().starts_with("LB="));
    assert_eq!(s.choose(&all(), &with_cookie(&pair(&v))), Some(0));
}

#[test]
fn consistent_hash_follows_the_app_cookie_and_the_healthy_servers() {
    let s = sticky(serde_json::json!({"mode": "CookieConsistentHash", "appCookieName": "sid"}))
        .unwrap();
    assert!(s.cookie_for(0, &HeaderMap::new()).is_none());
    assert_eq!(s.choose(&all(), &with_cookie("x=1")), None);
    let mut spread = [0; 3];
    for i in 0..60 {
        let req = with_cookie(&format!("sid=user-{i}"));
        let first = s.choose(&all(), &req).unwrap();
        assert_eq!(s.choose(&all(), &req), Some(first));
        spread[first] += 1;
        // Server 1 leaves: its keys move to the others.
        let two = HealthyGroup::new(vec![0, 2], &[0, 0, 0]);
        assert_ne!(s.choose(&two, &req), Some(1));
    }
    assert!(spread.iter().all(|&n| n > 0), "{spread:?}");
}

#[test]
fn bad_specs_name_the_field() {
    let e = sticky(serde_json::json!({})).unwrap_err();
    assert_eq!(e.path, "lb.stickySession.mode");
    assert!(e.message.contains("required"), "{e}");
    let e = sticky(serde_json::json!({"mode": "Sometimes"})).unwrap_err();
    assert_eq!(e.path, "lb.stickySession.mode");
    assert!(e.message.contains("DurationBased"), "{e}");
    for mode in ["CookieConsistentHash", "ApplicationBased"] {
        let e = sticky(serde_json::json!({"mode": mode})).unwrap_err();
        assert_eq!(e.path, "lb.stickySession.appCookieName", "{mode}");
    }
    let e =
        sticky(serde_json::json!({"mode": "DurationBased", "lbCookieName": "a b"})).unwrap_err();
    assert_eq!(e.path, "lb.stickySession.lbCookieName");
    let e = sticky(serde_json::json!({"mode": "ApplicationBased", "appCookieName": "a;b"}))
        .unwrap_err();
    assert_eq!(e.path, "lb.stickySession.appCookieName");
    let s = sticky(serde_json::json!({"mode": "DurationBased", "lbCookieExpire": "0s"})).unwrap();
    assert_eq!(s.expire, DEFAULT_LB_COOKIE_EXPIRE);
}

#[test]
fn cookies_are_read_as_go_reads_them() {
    let mut h = HeaderMap::new();
    h.append(COOKIE, HeaderValue::from_static("a=1; sid=\"x y\""));
    h.append(COOKIE, HeaderValue::from_static("sid=second"));
    assert_eq!(cookie(&h, "sid"), Some("x y"));
    assert_eq!(cookie(&h, "a"), Some("1"));
    assert_eq!(cookie(&h, "b"), None);
}
