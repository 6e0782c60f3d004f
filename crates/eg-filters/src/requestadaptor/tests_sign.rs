//! RequestAdaptor `sign`: the signed request verifies with the same signer, after the
//! other adaptations, over buffered and streamed bodies.

use bytes::Bytes;
use eg_protocols::{Body, BoxStream, Context};
use http_body_util::BodyExt;
use serde_json::json;

use super::*;
use crate::signer::{Hoisting, Literal, Signer, SignerSpec};
use crate::testkit::{build, ctx, run};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn verifier(aws: bool) -> Signer {
    verifier_of(aws, false)
}

fn verifier_of(aws: bool, exclude_body: bool) -> Signer {
    let spec = SignerSpec {
        access_keys: [("AKIDEXAMPLE".to_string(), SECRET.to_string())].into(),
        exclude_body,
        ..Default::default()
    };
    let s = Signer::compile(&spec, "v").unwrap();
    if aws {
        s.with_preset(Literal::aws4(), Hoisting::aws4())
    } else {
        s
    }
}

fn auth(c: &Context) -> String {
    c.request()
        .unwrap()
        .header("authorization")
        .unwrap_or("")
        .to_string()
}

fn verify(c: &Context, v: &Signer) -> Result<(), String> {
    let req = c.request().unwrap();
    let body: Option<&[u8]> = match &req.body {
        Body::Empty => Some(&[]),
        b => b.bytes().map(|b| &b[..]),
    };
    v.verify(&req.head, body)
}

#[tokio::test]
async fn aws4_signs_the_adapted_request() {
    let f = build(
        &KIND,
        json!({
            "host": "s3.example.com",
            "path": {"addPrefix": "/bucket"},
            "header": {"set": {"X-Amz-Meta-Tag": "t1"}},
            "body": "payload",
            "sign": {
                "apiProvider": "aws4",
                "scopes": ["us-east-1", "s3"],
                "accessKeyId": "AKIDEXAMPLE",
                "accessKeySecret": SECRET,
            },
        }),
    )
    .unwrap();
    let mut c = ctx(
        "PUT",
        "/key?acl",
        &[("User-Agent", "curl"), ("Authorization", "Bearer x")],
    );
    assert_eq!(run(&*f, &mut c).await, "");
    let a = auth(&c);
    assert!(
        a.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
            && a.contains("/us-east-1/s3/aws4_request, SignedHeaders=content-length;host;x-amz-date;x-amz-meta-tag, Signature="),
        "{a}"
    );
    assert_eq!(c.request().unwrap().header("x-amz-date").unwrap().len(), 16);
    assert_eq!(verify(&c, &verifier(true)), Ok(()));
    // A change after signing is caught.
    c.request_mut().unwrap().body = Body::full("payloaD");
    assert_eq!(
        verify(&c, &verifier(true)),
        Err("signature verification failed".into())
    );
}

#[tokio::test]
async fn default_literals_exclude_body_and_ignored_headers() {
    let f = build(
        &KIND,
        json!({"sign": {
            "accessKeyId": "AKIDEXAMPLE", "accessKeySecret": SECRET,
            "excludeBody": true, "ignoredHeaders": ["X-Trace"],
        }}),
    )
    .unwrap();
    let mut c = ctx("POST", "/", &[("Host", "svc"), ("X-Trace", "1")]);
    c.request_mut().unwrap().body = Body::full("any");
    assert_eq!(run(&*f, &mut c).await, "");
    let a = auth(&c);
    assert!(a.starts_with("HMAC-SHA256 Credential=AKIDEXAMPLE/"), "{a}");
    assert!(
        a.contains("/request, SignedHeaders=host;x-content-sha256;x-date,"),
        "{a}"
    );
    assert_eq!(
        c.request().unwrap().header("x-content-sha256"),
        Some("UNSIGNED-PAYLOAD")
    );
    assert_eq!(verify(&c, &verifier_of(false, true)), Ok(()));
    // A verifier that hashes bodies does not take it.
    assert!(verify(&c, &verifier(false)).is_err());
}

#[tokio::test]
async fn a_streamed_body_is_read_and_signed_and_kept() {
    let f = build(
        &KIND,
        json!({"sign": {"accessKeyId": "AKIDEXAMPLE", "accessKeySecret": SECRET}}),
    )
    .unwrap();
    let mut c = ctx("POST", "/upload", &[("Host", "svc")]);
    let src = http_body_util::Full::new(Bytes::from_static(b"streamed")).map_err(|n| match n {});
    c.request_mut().unwrap().body = Body::Stream(BoxStream::new(src));
    assert_eq!(run(&*f, &mut c).await, "");
    assert_eq!(c.request().unwrap().body.bytes().unwrap(), "streamed");
    assert_eq!(verify(&c, &verifier(false)), Ok(()));
}

#[tokio::test]
async fn a_broken_body_gives_sign_failed() {
    let f = build(
        &KIND,
        json!({"sign": {"accessKeyId": "AKIDEXAMPLE", "accessKeySecret": SECRET}}),
    )
    .unwrap();
    let mut c = ctx("POST", "/", &[("Host", "svc")]);
    let (tx, body) = eg_testkit::channel_body::<eg_protocols::BodyError>();
    tx.send(Ok(Bytes::from_static(b"part"))).unwrap();
    tx.send(Err(eg_protocols::BodyError::Io("peer went away".into())))
        .unwrap();
    c.request_mut().unwrap().body = Body::Stream(BoxStream::new(body));
    assert_eq!(run(&*f, &mut c).await, RESULT_SIGN_FAILED);
    assert!(auth(&c).is_empty());
}
