//! JWT with public keys (PEM `publicKey` and a JWKS key set).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use eg_testkit::{Reply, Upstream};
use parking_lot::Mutex;
use ring::rand::SystemRandom;
use ring::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use serde_json::json;

use super::testkeys::*;
use super::*;
use crate::testkit::{build, ctx, run};

/// A signing key of one of the test algorithms.
enum Signing {
    Rsa(RsaKeyPair, &'static dyn sig::RsaEncoding),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl Signing {
    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Signing::Rsa(k, enc) => {
                let mut out = vec![0; k.public().modulus_len()];
                k.sign(*enc, &rng, msg, &mut out).unwrap();
                out
            }
            Signing::Ec(k) => k.sign(&rng, msg).unwrap().as_ref().to_vec(),
            Signing::Ed(k) => k.sign(msg).as_ref().to_vec(),
        }
    }
}

fn rsa(pkcs8_b64: &str, enc: &'static dyn sig::RsaEncoding) -> Signing {
    let der = STANDARD.decode(pkcs8_b64).unwrap();
    Signing::Rsa(RsaKeyPair::from_pkcs8(&der).unwrap(), enc)
}

fn pem(der: &[u8]) -> String {
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(der)
    )
}

/// A fresh EC key pair and its PEM public key.
fn ec(alg: &'static sig::EcdsaSigningAlgorithm, p384: bool) -> (Signing, String) {
    let rng = SystemRandom::new();
    let p8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
    let k = EcdsaKeyPair::from_pkcs8(alg, p8.as_ref(), &rng).unwrap();
    let prefix = if p384 {
        "3076301006072a8648ce3d020106052b81040022036200"
    } else {
        "3059301306072a8648ce3d020106082a8648ce3d030107034200"
    };
    let mut der = hex_decode(prefix);
    der.extend_from_slice(k.public_key().as_ref());
    (Signing::Ec(k), pem(&der))
}

fn ed() -> (Signing, String) {
    let p8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let k = Ed25519KeyPair::from_pkcs8(p8.as_ref()).unwrap();
    let mut der = hex_decode("302a300506032b6570032100");
    der.extend_from_slice(k.public_key().as_ref());
    (Signing::Ed(k), pem(&der))
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn token(key: &Signing, header: Value, claims: Value) -> String {
    let h = URL_SAFE_NO_PAD.encode(header.to_string());
    let p = URL_SAFE_NO_PAD.encode(claims.to_string());
    let s = key.sign(format!("{h}.{p}").as_bytes());
    format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(s))
}

async fn check(v: &dyn Filter, token: &str) -> (String, String) {
    let bearer = format!("Bearer {token}");
    let mut c = ctx("GET", "/", &[("Authorization", &bearer)]);
    let r = run(v, &mut c).await.to_string();
    let tag = c.tags.first().map(|t| t.to_string()).unwrap_or_default();
    if r == RESULT_INVALID {
        assert_eq!(c.response().unwrap().status, 401);
    }
    (r, tag)
}

fn jwt_validator(alg: &str, public_pem: &str) -> Box<dyn Filter> {
    build(
        &KIND,
        json!({"jwt": {"algorithm": alg, "publicKey": hex(public_pem)}}),
    )
    .unwrap()
}

#[tokio::test]
async fn every_public_key_algorithm_verifies_and_refuses_other_keys() {
    use sig::{RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512};
    use sig::{RSA_PSS_SHA256, RSA_PSS_SHA384, RSA_PSS_SHA512};
    let (es256, es256_pub) = ec(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, false);
    let (es256b, _) = ec(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, false);
    let (es384, es384_pub) = ec(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, true);
    let (es384b, _) = ec(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, true);
    let (eddsa, eddsa_pub) = ed();
    let (eddsab, _) = ed();
    let cases: Vec<(&str, Signing, Signing, String)> = vec![
        (
            "RS256",
            rsa(RSA1_PKCS8, &RSA_PKCS1_SHA256),
            rsa(RSA2_PKCS8, &RSA_PKCS1_SHA256),
            RSA1_PUB.into(),
        ),
        (
            "RS384",
            rsa(RSA1_PKCS8, &RSA_PKCS1_SHA384),
            rsa(RSA2_PKCS8, &RSA_PKCS1_SHA384),
            RSA1_PUB.into(),
        ),
        (
            "RS512",
            rsa(RSA1_PKCS8, &RSA_PKCS1_SHA512),
            rsa(RSA2_PKCS8, &RSA_PKCS1_SHA512),
            RSA1_PUB.into(),
        ),
        (
            "PS256",
            rsa(RSA1_PKCS8, &RSA_PSS_SHA256),
            rsa(RSA2_PKCS8, &RSA_PSS_SHA256),
            RSA1_PUB.into(),
        ),
        (
            "PS384",
            rsa(RSA1_PKCS8, &RSA_PSS_SHA384),
            rsa(RSA2_PKCS8, &RSA_PSS_SHA384),
            RSA1_PUB.into(),
        ),
        (
            "PS512",
            rsa(RSA1_PKCS8, &RSA_PSS_SHA512),
            rsa(RSA2_PKCS8, &RSA_PSS_SHA512),
            RSA1_PUB.into(),
        ),
        ("ES256", es256, es256b, es256_pub),
        ("ES384", es384, es384b, es384_pub),
        ("EdDSA", eddsa, eddsab, eddsa_pub),
    ];
    let claims = json!({"sub": "alice", "exp": 4_000_000_000u64});
    for (alg, good, other, public) in cases {
        let v = jwt_validator(alg, &public);
        let t = token(&good, json!({"alg": alg, "typ": "JWT"}), claims.clone());
        assert_eq!(check(&*v, &t).await, ("".into(), "".into()), "{alg}");
        // Another key's signature, a tampered payload, a tampered signature.
        let forged = token(&other, json!({"alg": alg}), claims.clone());
        let (r, tag) = check(&*v, &forged).await;
        assert_eq!(
            (r.as_str(), tag.as_str()),
            (RESULT_INVALID, "JWT validator: signature is invalid"),
            "{alg}"
        );
        let parts: Vec<&str> = t.split('.').collect();
        let other_claims = URL_SAFE_NO_PAD.encode(json!({"sub": "mallory"}).to_string());
        let tampered = format!("{}.{other_claims}.{}", parts[0], parts[2]);
        assert_eq!(check(&*v, &tampered).await.0, RESULT_INVALID, "{alg}");
        let mut sig_bytes = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        sig_bytes[5] ^= 1;
        let flipped = format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            URL_SAFE_NO_PAD.encode(sig_bytes)
        );
        assert_eq!(check(&*v, &flipped).await.0, RESULT_INVALID, "{alg}");
        // alg confusion: an HMAC token keyed with the public key text; and `none`.
        let h = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256"}).to_string());
        let p = URL_SAFE_NO_PAD.encode(claims.to_string());
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, public.as_bytes());
        let mac = ring::hmac::sign(&key, format!("{h}.{p}").as_bytes());
        let confused = format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()));
        let (r, tag) = check(&*v, &confused).await;
        assert_eq!(
            (r.as_str(), tag.as_str()),
            (
                RESULT_INVALID,
                "JWT validator: unexpected signing method: HS256"
            ),
            "{alg}"
        );
        let none = format!(
            "{}.{p}.",
            URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string())
        );
        assert_eq!(
            check(&*v, &none).await.1,
            "JWT validator: unexpected signing method: none"
        );
    }
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_refused() {
    let key = rsa(RSA1_PKCS8, &sig::RSA_PKCS1_SHA256);
    let v = jwt_validator("RS256", RSA1_PUB);
    let h = json!({"alg": "RS256"});
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let cases = [
        (json!({"exp": now - 10}), "JWT validator: token is expired"),
        (
            json!({"nbf": now + 3600}),
            "JWT validator: token is not valid yet",
        ),
        (
            json!({"iat": now + 3600}),
            "JWT validator: token used before issued",
        ),
        (
            json!({"exp": "tomorrow"}),
            "JWT validator: claim exp is not a number",
        ),
    ];
    for (claims, want) in cases {
        let (r, tag) = check(&*v, &token(&key, h.clone(), claims.clone())).await;
        assert_eq!(
            (r.as_str(), tag.as_str()),
            (RESULT_INVALID, want),
            "{claims}"
        );
    }
    let ok = json!({"exp": now + 3600, "nbf": now - 10, "iat": now - 10});
    assert_eq!(check(&*v, &token(&key, h, ok)).await.0, "");
}

#[test]
fn keys_that_do_not_fit_are_refused_naming_publickey() {
    let (_, p256) = ec(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, false);
    let (_, ed_pub) = ed();
    let cases = [
        (
            "RS256",
            RSA1024_PUB.to_string(),
            "2048 bits or more, this one has 1024",
        ),
        ("ES384", p256.clone(), "not a ES384 key"),
        ("ES256", RSA1_PUB.to_string(), "not a ES256 key"),
        ("RS256", ed_pub.clone(), "not a RS256 key"),
        ("EdDSA", p256, "not a EdDSA key"),
        (
            "PS256",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".into(),
            "not a SubjectPublicKeyInfo",
        ),
        (
            "PS256",
            "-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----\n".into(),
            "not a PEM block",
        ),
    ];
    for (alg, key, msg) in cases {
        let err = build(
            &KIND,
            json!({"jwt": {"algorithm": alg, "publicKey": hex(&key)}}),
        )
        .err()
        .unwrap_or_else(|| panic!("{alg} accepted"));
        assert_eq!(err.path, "filters[0].jwt.publicKey", "{alg}");
        assert!(err.message.contains(msg), "{alg}: {err}");
    }
}

/// A JWKS server whose set can be changed.
async fn jwks_server(set: Arc<Mutex<String>>) -> Upstream {
    Upstream::start(move |_| {
        Reply::text(200, &set.lock()).header("content-type", "application/json")
    })
    .await
}

fn rsa_jwk(pkcs8_b64: &str, kid: &str) -> Value {
    let der = STANDARD.decode(pkcs8_b64).unwrap();
    let k = RsaKeyPair::from_pkcs8(&der).unwrap();
    let c: ring::rsa::PublicKeyComponents<Vec<u8>> = k.public().into();
    json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
           "n": URL_SAFE_NO_PAD.encode(&c.n), "e": URL_SAFE_NO_PAD.encode(&c.e)})
}

fn jwks_of(v: &dyn Filter) -> &Arc<jwks::Jwks> {
    let v = v.as_any().downcast_ref::<Validator>().unwrap();
    v.jwt.as_ref().unwrap().jwks().unwrap()
}

#[tokio::test]
async fn jwks_keys_are_fetched_cached_and_rotated() {
    let k1 = rsa(RSA1_PKCS8, &sig::RSA_PKCS1_SHA256);
    let k2 = rsa(RSA2_PKCS8, &sig::RSA_PKCS1_SHA256);
    let (_, ec_pub) = ec(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, false);
    let _ = ec_pub;
    let set = Arc::new(Mutex::new(
        json!({"keys": [
            rsa_jwk(RSA1_PKCS8, "k1"),
            // Skipped: another key type, another use, another alg, a broken key.
            {"kty": "EC", "kid": "e", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "ps", "alg": "PS256", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "small", "n": "AQAB", "e": "AQAB"},
        ]})
        .to_string(),
    ));
    let server = jwks_server(set.clone()).await;
    let v = build(
        &KIND,
        json!({"jwt": {"algorithm": "RS256", "jwks": {
            "url": format!("{}/.well-known/jwks.json", server.url()),
            "minRefreshInterval": "1h",
        }}}),
    )
    .unwrap();
    let claims = json!({"sub": "a"});
    let t1 = token(&k1, json!({"alg": "RS256", "kid": "k1"}), claims.clone());
    // The first token fetches the set; later ones use the cache.
    assert_eq!(check(&*v, &t1).await.0, "");
    assert_eq!(check(&*v, &t1).await.0, "");
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    assert_eq!(server.last().target, "/.well-known/jwks.json");
    let set_now = jwks_of(&*v);
    for kid in ["e", "enc", "ps", "small"] {
        assert!(set_now.key(Some(kid)).is_none(), "{kid} skipped");
    }

    // The server rotates to k2 (k1 kept for a while). A token naming k2 is unknown; a
    // fetch within minRefreshInterval is not made, so it is refused.
    *set.lock() =
        json!({"keys": [rsa_jwk(RSA2_PKCS8, "k2"), rsa_jwk(RSA1_PKCS8, "k1")]}).to_string();
    let t2 = token(&k2, json!({"alg": "RS256", "kid": "k2"}), claims.clone());
    let (r, tag) = check(&*v, &t2).await;
    assert_eq!(
        (r.as_str(), tag.as_str()),
        (
            RESULT_INVALID,
            "JWT validator: no key of the key set fits the token"
        )
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 1, "rate-limited");

    // Once the interval has passed, the unknown kid fetches the new set; many requests at
    // once share one fetch, and tokens of both keys pass throughout.
    jwks_of(&*v).forget_last_fetch();
    let mut all = Vec::new();
    for i in 0..16 {
        let t = if i % 2 == 0 { t2.clone() } else { t1.clone() };
        let v = &*v;
        all.push(async move { check(v, &t).await.0 });
    }
    for r in futures_util::future::join_all(all).await {
        assert_eq!(r, "");
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 2, "one fetch for all");

    // k1 retired: after the next fetch its tokens fail, k2's pass.
    *set.lock() = json!({"keys": [rsa_jwk(RSA2_PKCS8, "k2")]}).to_string();
    jwks_of(&*v).forget_last_fetch();
    let t3 = token(&k2, json!({"alg": "RS256", "kid": "k3"}), claims.clone());
    assert_eq!(
        check(&*v, &t3).await.0,
        RESULT_INVALID,
        "unknown kid fetches"
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
    assert_eq!(check(&*v, &t1).await.0, RESULT_INVALID);
    assert_eq!(check(&*v, &t2).await.0, "");
    // A token without kid uses the only key.
    let bare = token(&k2, json!({"alg": "RS256"}), claims);
    assert_eq!(check(&*v, &bare).await.0, "");
}

#[tokio::test]
async fn jwks_starts_fetching_at_init_and_keeps_keys_when_the_server_fails() {
    let k1 = rsa(RSA1_PKCS8, &sig::RSA_PKCS1_SHA256);
    let set = Arc::new(Mutex::new(
        json!({"keys": [rsa_jwk(RSA1_PKCS8, "k1")]}).to_string(),
    ));
    let server = jwks_server(set.clone()).await;
    let spec = json!({"jwt": {"algorithm": "RS256", "jwks": {"url": server.url()}}});
    let v = build(&KIND, spec.clone()).unwrap();
    v.init(None);
    let hits = server.hits.clone();
    eg_testkit::wait_until("first fetch", || hits.load(Ordering::SeqCst) == 1).await;
    eg_testkit::wait_until("keys stored", || jwks_of(&*v).key(Some("k1")).is_some()).await;
    let t1 = token(&k1, json!({"alg": "RS256", "kid": "k1"}), json!({}));
    assert_eq!(check(&*v, &t1).await.0, "");
    // A broken answer keeps the keys held.
    *set.lock() = "not json".into();
    jwks_of(&*v).forget_last_fetch();
    let unknown = token(&k1, json!({"alg": "RS256", "kid": "zz"}), json!({}));
    assert_eq!(check(&*v, &unknown).await.0, RESULT_INVALID);
    assert_eq!(check(&*v, &t1).await.0, "");
    // The next generation starts with the keys of the previous one.
    let next = build(&KIND, spec).unwrap();
    next.init(Some(&*v));
    assert!(jwks_of(&*next).key(Some("k1")).is_some());
    v.close();
    next.close();
}
