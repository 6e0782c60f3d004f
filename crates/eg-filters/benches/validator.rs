//! Per-request cost of the Validator's checks, on a request context, without the network:
//! JWT HS256, JWT RS256 (2048-bit key), JWT ES256, and a SigV4-style signature over an
//! empty body; a headers check as the baseline of a cheap Validator.
// criterion's group and main macros generate undocumented public functions.
#![allow(missing_docs)]

use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use eg_filters::signer::{Signer, SignerSpec};
use eg_filters::{BuildContext, Filter, FilterKind, FilterSpec, Handled};
use eg_protocols::{Context, HttpRequest};
use eg_supervisor::{KindRegistry, MemberInfo, Supervisor};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde_json::json;

#[path = "../src/validator/testkeys.rs"]
#[allow(dead_code)]
mod testkeys;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn filter(kind: &FilterKind, doc: serde_json::Value) -> Box<dyn Filter> {
    let sup = Supervisor::new(
        KindRegistry::new(),
        Arc::new(eg_store::MemStore::new()),
        MemberInfo::standalone("bench"),
    );
    let spec = FilterSpec {
        name: "f".into(),
        kind: kind.kind.into(),
        doc,
        pipeline: "p".into(),
        path: "filters[0]".into(),
    };
    let res = eg_filters::resilience::Policies::new();
    (kind.build)(&spec, &BuildContext::new(&sup, &res))
        .expect("builds")
        .filter
}

fn context(auth: Option<&str>) -> Context {
    let mut req = HttpRequest::simple(http::Method::GET, "/api/orders?id=7").expect("request");
    let h = req.headers_mut();
    h.insert("host", "gw.example.com".parse().expect("value"));
    h.insert("x-request-id", "abc-123".parse().expect("value"));
    h.insert("accept", "application/json".parse().expect("value"));
    h.insert("user-agent", "bench/1".parse().expect("value"));
    if let Some(a) = auth {
        h.insert("authorization", a.parse().expect("value"));
    }
    Context::new(
        req,
        "127.0.0.1:40000".parse().expect("addr"),
        "127.0.0.1".parse().expect("ip"),
    )
}

fn done(h: Handled<'_>) -> &'static str {
    match h {
        Handled::Done(r) => r,
        Handled::Pending(_) => panic!("checks of a buffered request are synchronous"),
    }
}

fn token(alg: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let h = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "JWT"}).to_string());
    let p = URL_SAFE_NO_PAD.encode(json!({"sub": "alice", "exp": 4_000_000_000u64}).to_string());
    let s = sign(format!("{h}.{p}").as_bytes());
    format!("Bearer {h}.{p}.{}", URL_SAFE_NO_PAD.encode(s))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn bench(c: &mut Criterion) {
    let kind = &eg_filters::validator::KIND;
    let rng = SystemRandom::new();

    let headers = filter(
        kind,
        json!({"headers": {"Accept": {"values": ["application/json"]}}}),
    );
    c.bench_function("validator_headers", |b| {
        b.iter_batched_ref(
            || context(None),
            |ctx| done(headers.handle(ctx)),
            BatchSize::SmallInput,
        )
    });

    let hs = filter(
        kind,
        json!({"jwt": {"algorithm": "HS256", "secret": "6d79736563726574"}}),
    );
    let hs_token = token("HS256", |m| {
        let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"mysecret");
        ring::hmac::sign(&k, m).as_ref().to_vec()
    });
    assert_eq!(done(hs.handle(&mut context(Some(&hs_token)))), "");
    c.bench_function("validator_jwt_hs256", |b| {
        b.iter_batched_ref(
            || context(Some(&hs_token)),
            |ctx| done(hs.handle(ctx)),
            BatchSize::SmallInput,
        )
    });

    let rsa_der = STANDARD.decode(testkeys::RSA1_PKCS8).expect("base64");
    let rsa = RsaKeyPair::from_pkcs8(&rsa_der).expect("key");
    let rs = filter(
        kind,
        json!({"jwt": {"algorithm": "RS256", "publicKey": hex(testkeys::RSA1_PUB.as_bytes())}}),
    );
    let rs_token = token("RS256", |m| {
        let mut out = vec![0; rsa.public().modulus_len()];
        rsa.sign(&ring::signature::RSA_PKCS1_SHA256, &rng, m, &mut out)
            .expect("sign");
        out
    });
    assert_eq!(done(rs.handle(&mut context(Some(&rs_token)))), "");
    c.bench_function("validator_jwt_rs256", |b| {
        b.iter_batched_ref(
            || context(Some(&rs_token)),
            |ctx| done(rs.handle(ctx)),
            BatchSize::SmallInput,
        )
    });

    let alg = &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let p8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).expect("key");
    let ec = EcdsaKeyPair::from_pkcs8(alg, p8.as_ref(), &rng).expect("key");
    let mut spki = (0..26)
        .map(|i| {
            u8::from_str_radix(
                &"3059301306072a8648ce3d020106082a8648ce3d030107034200"[i * 2..i * 2 + 2],
                16,
            )
            .expect("hex")
        })
        .collect::<Vec<u8>>();
    spki.extend_from_slice(ec.public_key().as_ref());
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(&spki)
    );
    let es = filter(
        kind,
        json!({"jwt": {"algorithm": "ES256", "publicKey": hex(pem.as_bytes())}}),
    );
    let es_token = token("ES256", |m| {
        ec.sign(&rng, m).expect("sign").as_ref().to_vec()
    });
    assert_eq!(done(es.handle(&mut context(Some(&es_token)))), "");
    c.bench_function("validator_jwt_es256", |b| {
        b.iter_batched_ref(
            || context(Some(&es_token)),
            |ctx| done(es.handle(ctx)),
            BatchSize::SmallInput,
        )
    });

    let sig = filter(kind, json!({"signature": {"accessKeys": {"AKID": SECRET}}}));
    let signer = Signer::compile(
        &SignerSpec {
            access_key_id: "AKID".into(),
            access_key_secret: SECRET.into(),
            ..Default::default()
        },
        "s",
    )
    .expect("signer");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    let signed = || {
        let mut ctx = context(None);
        if let Some(req) = ctx.request_mut() {
            signer
                .sign(&mut req.head, Some(b""), now, &["orders".into()])
                .expect("signs");
        }
        ctx
    };
    assert_eq!(done(sig.handle(&mut signed())), "");
    c.bench_function("validator_signature", |b| {
        b.iter_batched_ref(signed, |ctx| done(sig.handle(ctx)), BatchSize::SmallInput)
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
