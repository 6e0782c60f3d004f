//! Known-answer vectors from AWS's Signature Version 4 test suite (credentials
//! `AKIDEXAMPLE`, 2015-08-30T12:36:00Z, scope `us-east-1/service`), and round trips
//! through the verifier.

use super::*;

const T: i64 = 1_440_938_160; // 20150830T123600Z
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn aws_signer() -> Signer {
    let spec = SignerSpec {
        access_key_id: "AKIDEXAMPLE".into(),
        access_key_secret: SECRET.into(),
        access_keys: [("AKIDEXAMPLE".to_string(), SECRET.to_string())].into(),
        ..Default::default()
    };
    Signer::compile(&spec, "sign")
        .unwrap()
        .with_preset(Literal::aws4(), Hoisting::aws4())
}

fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
    let mut b = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "example.amazonaws.com");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(()).unwrap().into_parts().0
}

fn scopes() -> Vec<String> {
    vec!["us-east-1".into(), "service".into()]
}

#[test]
fn aws_test_suite_vectors() {
    // get-vanilla, get-vanilla-query-order-key-case, post-vanilla, post-vanilla-query.
    let cases = [
        (
            "GET",
            "/",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        ),
        (
            "GET",
            "/?Param2=value2&Param1=value1",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        ),
        (
            "POST",
            "/",
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        ),
        (
            "POST",
            "/?Param1=value1",
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
        ),
    ];
    let s = aws_signer();
    for (method, uri, want) in cases {
        let mut p = parts(method, uri, &[]);
        s.sign(&mut p, Some(b""), T, &scopes()).unwrap();
        assert_eq!(p.headers["x-amz-date"], "20150830T123600Z");
        assert_eq!(
            p.headers["authorization"],
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/\
                 aws4_request, SignedHeaders=host;x-amz-date, Signature={want}"
            )
            .as_str(),
            "{method} {uri}"
        );
        // The verifier accepts what the signer made, at the signing time.
        assert_eq!(s.verify_at(&p, Some(b""), T as f64), Ok(()), "{uri}");
    }
}

#[test]
fn verifies_the_published_get_vanilla_request() {
    let p = parts(
        "GET",
        "/",
        &[
            ("x-amz-date", "20150830T123600Z"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/\
                 aws4_request, SignedHeaders=host;x-amz-date, Signature=\
                 5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            ),
            ("user-agent", "ignored"),
        ],
    );
    let s = aws_signer();
    assert_eq!(s.verify_at(&p, Some(b""), T as f64), Ok(()));
    // Any change to a signed part breaks it.
    let mut other = p.clone();
    other.method = http::Method::POST;
    assert_eq!(
        s.verify_at(&other, Some(b""), T as f64),
        Err("signature verification failed".into())
    );
    assert_eq!(
        s.verify_at(&p, Some(b"x"), T as f64),
        Err("signature verification failed".into())
    );
}

#[test]
fn the_body_hash_and_unsigned_payload() {
    let s = aws_signer();
    let mut p = parts("PUT", "/o", &[("content-type", "text/plain")]);
    s.sign(&mut p, Some(b"hello"), T, &scopes()).unwrap();
    assert!(p.headers["authorization"]
        .to_str()
        .unwrap()
        .contains("SignedHeaders=content-type;host;x-amz-date,"));
    assert!(s.verify_at(&p, Some(b"hello"), T as f64).is_ok());
    assert!(s.verify_at(&p, Some(b"hellO"), T as f64).is_err());
    // A stream body is not signed: the content hash header says so and is signed.
    let mut p = parts("PUT", "/o", &[]);
    s.sign(&mut p, None, T, &scopes()).unwrap();
    assert_eq!(p.headers["x-amz-content-sha256"], UNSIGNED_PAYLOAD);
    assert!(s.verify_at(&p, None, T as f64).is_ok());
    // ... but the verifier never trusts that header for a body it can read.
    assert!(s.verify_at(&p, Some(b"anything"), T as f64).is_err());
}

#[test]
fn default_literals_and_messages() {
    let spec = SignerSpec {
        access_key_id: "id1".into(),
        access_key_secret: "s1".into(),
        access_keys: [("id1".to_string(), "s1".to_string())].into(),
        ttl: "10s".into(),
        ..Default::default()
    };
    let s = Signer::compile(&spec, "signature").unwrap();
    let mut p = parts("GET", "/a/b?x=1", &[("x-custom", "  a  b ")]);
    s.sign(&mut p, Some(b""), T, &["s".into()]).unwrap();
    let auth = p.headers["authorization"].to_str().unwrap().to_string();
    assert!(auth.starts_with("HMAC-SHA256 Credential=id1/20150830/s/request, SignedHeaders=host;x-custom;x-date, Signature="), "{auth}");
    assert_eq!(p.headers["x-date"], "20150830T123600Z");
    assert!(s.verify_at(&p, Some(b""), T as f64 + 10.0).is_ok());
    assert_eq!(
        s.verify_at(&p, Some(b""), T as f64 + 11.0),
        Err("signature expired".into())
    );
    assert_eq!(
        s.verify_at(&p, Some(b""), T as f64 - 11.0),
        Err("signature expired".into())
    );
    let with = |auth: &str, date: &str| {
        let mut q = p.clone();
        q.headers.insert(AUTHORIZATION, auth.parse().unwrap());
        q.headers.insert("x-date", date.parse().unwrap());
        s.verify_at(&q, Some(b""), T as f64)
    };
    let bad = Err("invalid header format: Authorization".to_string());
    assert_eq!(with("HMAC-SHA256", "20150830T123600Z"), bad);
    assert_eq!(
        with(
            "AWS4-HMAC-SHA256 Credential=id1/20150830/s/request, SignedHeaders=host, Signature=00",
            "20150830T123600Z"
        ),
        bad
    );
    assert_eq!(
        with(
            "HMAC-SHA256 Credential=id1/20150830/s/request, Signature=00",
            "20150830T123600Z"
        ),
        bad
    );
    assert_eq!(
        with(
            "HMAC-SHA256 Credential=id1/20150830, SignedHeaders=host, Signature=00",
            "20150830T123600Z"
        ),
        bad
    );
    assert_eq!(
        with(
            "HMAC-SHA256 Cred=id1/20150830/s/request, SignedHeaders=host, Signature=00",
            "20150830T123600Z"
        ),
        bad
    );
    let good_shape =
        "HMAC-SHA256 Credential=id1/20150830/s/request, SignedHeaders=host;x-date, Signature=00";
    assert_eq!(
        with(good_shape, "20150831T123600Z"),
        Err("signature timestamp mismatch".into())
    );
    assert_eq!(
        with(good_shape, "20150830T12360"),
        Err("invalid header format: X-Date".into())
    );
    assert_eq!(
        with(good_shape, "20150830T123600Z"),
        Err("signature verification failed".into())
    );
    let unknown = auth.replace("id1/", "id2/");
    assert_eq!(
        with(&unknown, "20150830T123600Z"),
        Err("access-key-id not found".into())
    );
    // The same signature in upper-case hex is not the signature Easegress compares.
    let upper = format!(
        "{}{}",
        &auth[..auth.len() - 64],
        auth[auth.len() - 64..].to_uppercase()
    );
    assert_eq!(
        with(&upper, "20150830T123600Z"),
        Err("signature verification failed".into())
    );
}

#[test]
fn presigned_query_with_header_hoisting() {
    let s = aws_signer();
    let mut p = parts(
        "GET",
        "/bucket/key?list=a+b",
        &[
            ("x-amz-meta-a", "1"),
            ("x-amz-foo", "bar"),
            ("content-type", "t"),
        ],
    );
    s.presign(&mut p, T, &scopes(), Duration::from_secs(60))
        .unwrap();
    let q = p.uri.query().unwrap().to_string();
    assert!(
        q.contains("x-amz-foo=bar"),
        "allowed prefix is hoisted: {q}"
    );
    assert!(
        !q.contains("x-amz-meta-a="),
        "disallowed prefix stays a header: {q}"
    );
    assert!(
        q.contains("X-Amz-Expires=60") && q.contains("list=a%20b"),
        "{q}"
    );
    assert!(!p.headers.contains_key(AUTHORIZATION));
    // The client sends the hoisted header in the query only.
    p.headers.remove("x-amz-foo");
    assert_eq!(s.verify_at(&p, None, T as f64 + 60.0), Ok(()));
    assert_eq!(
        s.verify_at(&p, None, T as f64 + 61.0),
        Err("signature expired".into())
    );
    let tampered = q.replace("list=a%20b", "list=b");
    let mut t = p.clone();
    t.uri = format!("/bucket/key?{tampered}").parse().unwrap();
    assert_eq!(
        s.verify_at(&t, None, T as f64),
        Err("signature verification failed".into())
    );
    for (from, to, msg) in [
        (
            "X-Amz-Algorithm=AWS4",
            "X-Amz-Algorithm=XX",
            "invalid query value: X-Amz-Algorithm",
        ),
        (
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request",
            "X-Amz-Credential=A%2F",
            "invalid query value: X-Amz-Credential",
        ),
        (
            "X-Amz-Expires=60",
            "X-Amz-Expires=x",
            "invalid query value: X-Amz-Expires",
        ),
        (
            "X-Amz-Date=20150830T1236",
            "X-Amz-Date=20150830T9936",
            "invalid query value: X-Amz-Date",
        ),
    ] {
        let mut t = p.clone();
        t.uri = format!("/bucket/key?{}", q.replace(from, to))
            .parse()
            .unwrap();
        assert_eq!(
            s.verify_at(&t, None, T as f64),
            Err(msg.to_string()),
            "{to}"
        );
    }
}

#[test]
fn ignored_headers_and_exclude_body() {
    let spec = SignerSpec {
        access_key_id: "k".into(),
        access_key_secret: "s".into(),
        access_keys: [("k".to_string(), "s".to_string())].into(),
        ignored_headers: vec!["X-Trace".into()],
        exclude_body: true,
        ..Default::default()
    };
    let s = Signer::compile(&spec, "signature").unwrap();
    let mut p = parts("POST", "/", &[("x-trace", "1")]);
    s.sign(&mut p, Some(b"body"), T, &[]).unwrap();
    let auth = p.headers["authorization"].to_str().unwrap();
    assert!(auth.contains("Credential=k/20150830/request,"), "{auth}");
    assert!(
        auth.contains("SignedHeaders=host;x-content-sha256;x-date,"),
        "{auth}"
    );
    p.headers.insert("x-trace", "2".parse().unwrap());
    assert!(s.verify_at(&p, Some(b"other body"), T as f64).is_ok());
}

#[test]
fn bad_specs_name_the_field() {
    let bad_ttl = SignerSpec {
        ttl: "ten".into(),
        ..Default::default()
    };
    assert_eq!(
        Signer::compile(&bad_ttl, "f.signature").unwrap_err().path,
        "f.signature.ttl"
    );
    let mut lit = LiteralSpec {
        scope_suffix: "r".into(),
        algorithm_name: "A".into(),
        algorithm_value: "V".into(),
        signed_headers: "S".into(),
        signature: "G".into(),
        date: "D".into(),
        expires: "E".into(),
        credential: "C".into(),
        content_sha256: "H".into(),
        signing_key_prefix: String::new(),
    };
    let spec = |l: &LiteralSpec| SignerSpec {
        literal: Some(l.clone()),
        ..Default::default()
    };
    assert!(Signer::compile(&spec(&lit), "s").is_ok());
    lit.date = "bad header".into();
    assert_eq!(
        Signer::compile(&spec(&lit), "s").unwrap_err().path,
        "s.literal.date"
    );
    lit.date = "D".into();
    lit.expires = String::new();
    assert_eq!(
        Signer::compile(&spec(&lit), "s").unwrap_err().path,
        "s.literal.expires"
    );
}
