//! JWT algorithms and verification keys: HMAC secrets, public keys from PEM (SPKI, as
//! Easegress reads `publicKey`) and from JWKs. Verification is `ring`'s.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::{hmac, signature};
use serde_json::Value;

use crate::der::element as der;

/// A JWT `alg`.
#[derive(Debug, Clone, Copy)]
pub(super) enum Alg {
    Hs(&'static str, hmac::Algorithm),
    Rsa(&'static str, &'static signature::RsaParameters),
    Ec(
        &'static str,
        &'static signature::EcdsaVerificationAlgorithm,
        Curve,
    ),
    EdDsa,
}

impl PartialEq for Alg {
    fn eq(&self, other: &Alg) -> bool {
        self.name() == other.name()
    }
}

/// An elliptic curve of ES256 / ES384.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Curve {
    P256,
    P384,
}

/// Every `alg` Easegress lists, in its order.
pub(super) const KNOWN: [&str; 13] = [
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
    "ES384", "ES512", "EdDSA",
];

impl Alg {
    /// The algorithm named `name`; `Err` says why not.
    pub(super) fn parse(name: &str) -> Result<Alg, String> {
        use signature::*;
        Ok(match name {
            "HS256" => Alg::Hs("HS256", hmac::HMAC_SHA256),
            "HS384" => Alg::Hs("HS384", hmac::HMAC_SHA384),
            "HS512" => Alg::Hs("HS512", hmac::HMAC_SHA512),
            "RS256" => Alg::Rsa("RS256", &RSA_PKCS1_2048_8192_SHA256),
            "RS384" => Alg::Rsa("RS384", &RSA_PKCS1_2048_8192_SHA384),
            "RS512" => Alg::Rsa("RS512", &RSA_PKCS1_2048_8192_SHA512),
            "PS256" => Alg::Rsa("PS256", &RSA_PSS_2048_8192_SHA256),
            "PS384" => Alg::Rsa("PS384", &RSA_PSS_2048_8192_SHA384),
            "PS512" => Alg::Rsa("PS512", &RSA_PSS_2048_8192_SHA512),
            "ES256" => Alg::Ec("ES256", &ECDSA_P256_SHA256_FIXED, Curve::P256),
            "ES384" => Alg::Ec("ES384", &ECDSA_P384_SHA384_FIXED, Curve::P384),
            "EdDSA" => Alg::EdDsa,
            "ES512" => return Err("ES512 (P-521) is not supported".into()),
            other => return Err(format!("{other:?} is not one of {}", KNOWN.join(", "))),
        })
    }

    /// The `alg` text.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Alg::Hs(n, _) | Alg::Rsa(n, _) | Alg::Ec(n, _, _) => n,
            Alg::EdDsa => "EdDSA",
        }
    }

    /// Whether the algorithm is HMAC (uses `secret`).
    pub(super) fn is_hmac(&self) -> bool {
        matches!(self, Alg::Hs(..))
    }

    /// The JWK `kty` of the algorithm's keys.
    pub(super) fn kty(&self) -> &'static str {
        match self {
            Alg::Hs(..) => "oct",
            Alg::Rsa(..) => "RSA",
            Alg::Ec(..) => "EC",
            Alg::EdDsa => "OKP",
        }
    }

    fn public_algorithm(&self) -> &'static dyn signature::VerificationAlgorithm {
        match self {
            Alg::Rsa(_, p) => *p,
            Alg::Ec(_, a, _) => *a,
            Alg::EdDsa | Alg::Hs(..) => &signature::ED25519,
        }
    }
}

/// A key that verifies token signatures of one algorithm.
pub(super) enum VerifyKey {
    Hmac(hmac::Key),
    Public(signature::UnparsedPublicKey<Vec<u8>>),
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            VerifyKey::Hmac(_) => "VerifyKey::Hmac(..)",
            VerifyKey::Public(_) => "VerifyKey::Public(..)",
        })
    }
}

impl VerifyKey {
    /// Whether `sig` signs `msg`.
    pub(super) fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match self {
            VerifyKey::Hmac(k) => hmac::verify(k, msg, sig).is_ok(),
            VerifyKey::Public(k) => k.verify(msg, sig).is_ok(),
        }
    }

    /// A public key for `alg` from the raw key ring expects (checked against the
    /// algorithm's key type and size).
    fn public(alg: Alg, raw: Vec<u8>) -> Result<VerifyKey, String> {
        match alg {
            Alg::Rsa(..) => {
                let bits = rsa_modulus_bits(&raw).ok_or("not an RSA public key")?;
                if bits < 2048 {
                    return Err(format!(
                        "RSA keys need 2048 bits or more, this one has {bits}"
                    ));
                }
            }
            Alg::Ec(_, _, curve) => {
                let len = if curve == Curve::P256 { 65 } else { 97 };
                if raw.len() != len || raw[0] != 4 {
                    return Err("not an uncompressed point of the algorithm's curve".into());
                }
            }
            Alg::EdDsa if raw.len() != 32 => return Err("not an Ed25519 key".into()),
            Alg::EdDsa => {}
            Alg::Hs(..) => return Err("HMAC algorithms use a secret".into()),
        }
        Ok(VerifyKey::Public(signature::UnparsedPublicKey::new(
            alg.public_algorithm(),
            raw,
        )))
    }

    /// A public key for `alg` from a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub(super) fn from_pem(alg: Alg, pem: &[u8]) -> Result<VerifyKey, String> {
        let der = pem_body(pem).ok_or("not a PEM block")?;
        let Spki { oid, param, key } = spki(&der).ok_or("not a SubjectPublicKeyInfo public key")?;
        let want = match alg {
            Alg::Rsa(..) => (OID_RSA, None),
            Alg::Ec(_, _, Curve::P256) => (OID_EC, Some(OID_P256)),
            Alg::Ec(_, _, Curve::P384) => (OID_EC, Some(OID_P384)),
            Alg::EdDsa => (OID_ED25519, None),
            Alg::Hs(..) => return Err("HMAC algorithms use a secret".into()),
        };
        if oid != want.0 || want.1.is_some_and(|c| param != Some(c)) {
            return Err(format!("the key is not a {} key", alg.name()));
        }
        VerifyKey::public(alg, key.to_vec())
    }

    /// A public key for `alg` from a JWK (`kty` RSA `n`/`e`, EC `crv`/`x`/`y`, OKP
    /// Ed25519 `x`).
    pub(super) fn from_jwk(alg: Alg, jwk: &Value) -> Result<VerifyKey, String> {
        let field = |k: &str| -> Result<Vec<u8>, String> {
            let s = jwk
                .get(k)
                .and_then(Value::as_str)
                .ok_or(format!("no {k}"))?;
            URL_SAFE_NO_PAD
                .decode(s.trim_end_matches('='))
                .map_err(|_| format!("{k} is not base64url"))
        };
        let crv = jwk.get("crv").and_then(Value::as_str).unwrap_or("");
        let raw = match alg {
            Alg::Rsa(..) => rsa_public_key_der(&field("n")?, &field("e")?),
            Alg::Ec(_, _, curve) => {
                let want = if curve == Curve::P256 {
                    "P-256"
                } else {
                    "P-384"
                };
                if crv != want {
                    return Err(format!("crv {crv:?} is not {want}"));
                }
                let mut p = vec![4];
                p.extend(field("x")?);
                p.extend(field("y")?);
                p
            }
            Alg::EdDsa if crv != "Ed25519" => return Err(format!("crv {crv:?} is not Ed25519")),
            Alg::EdDsa => field("x")?,
            Alg::Hs(..) => return Err("HMAC keys are not taken from a key set".into()),
        };
        VerifyKey::public(alg, raw)
    }
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// The DER of the first PEM block (whatever its label, as Go's `pem.Decode` reads it).
fn pem_body(pem: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(pem).ok()?;
    let start = text.find("-----BEGIN ")?;
    let after = &text[start..];
    let body_start = after.find('\n')? + 1;
    let end = after.find("-----END ")?;
    let body: String = after
        .get(body_start..end)?
        .lines()
        .filter(|l| !l.contains(':'))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    STANDARD.decode(body).ok()
}

/// The parts of a SubjectPublicKeyInfo used here.
struct Spki<'a> {
    /// Algorithm OID.
    oid: &'a [u8],
    /// Parameter OID (the curve), if any.
    param: Option<&'a [u8]>,
    /// The key bits.
    key: &'a [u8],
}

/// Reads a SubjectPublicKeyInfo.
fn spki(input: &[u8]) -> Option<Spki<'_>> {
    let (0x30, seq, _) = der(input)? else {
        return None;
    };
    let (0x30, alg, rest) = der(seq)? else {
        return None;
    };
    let (0x06, oid, params) = der(alg)? else {
        return None;
    };
    let param = match der(params) {
        Some((0x06, p, _)) => Some(p),
        _ => None,
    };
    let (0x03, bits, _) = der(rest)? else {
        return None;
    };
    let (&0, key) = bits.split_first()? else {
        return None;
    };
    Some(Spki { oid, param, key })
}

/// The modulus size of a PKCS#1 RSAPublicKey.
fn rsa_modulus_bits(key: &[u8]) -> Option<usize> {
    let (0x30, seq, _) = der(key)? else {
        return None;
    };
    let (0x02, n, rest) = der(seq)? else {
        return None;
    };
    let (0x02, _, _) = der(rest)? else {
        return None;
    };
    let n = &n[n.iter().position(|&b| b != 0)?..];
    Some(n.len() * 8 - n[0].leading_zeros() as usize)
}

fn der_push(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
}

/// PKCS#1 RSAPublicKey DER from the big-endian modulus and exponent.
fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    let int = |v: &[u8]| {
        let v = &v[v.iter().position(|&b| b != 0).unwrap_or(v.len())..];
        let mut c = Vec::with_capacity(v.len() + 1);
        if v.first().is_none_or(|&b| b & 0x80 != 0) {
            c.push(0);
        }
        c.extend_from_slice(v);
        c
    };
    let mut seq = Vec::new();
    der_push(&mut seq, 0x02, &int(n));
    der_push(&mut seq, 0x02, &int(e));
    let mut out = Vec::new();
    der_push(&mut out, 0x30, &seq);
    out
}

#[cfg(test)]
mod tests {
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};
    use serde_json::json;

    use super::*;

    fn b64(b: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(b)
    }

    #[test]
    fn ec_and_okp_jwks_verify_and_wrong_curves_are_refused() {
        let rng = SystemRandom::new();
        for (name, signing, len) in [
            ("ES256", &signature::ECDSA_P256_SHA256_FIXED_SIGNING, 32),
            ("ES384", &signature::ECDSA_P384_SHA384_FIXED_SIGNING, 48),
        ] {
            let alg = Alg::parse(name).unwrap();
            let p8 = EcdsaKeyPair::generate_pkcs8(signing, &rng).unwrap();
            let k = EcdsaKeyPair::from_pkcs8(signing, p8.as_ref(), &rng).unwrap();
            let point = k.public_key().as_ref();
            let crv = if len == 32 { "P-256" } else { "P-384" };
            let jwk = json!({"kty": "EC", "crv": crv, "x": b64(&point[1..1 + len]), "y": b64(&point[1 + len..])});
            let key = VerifyKey::from_jwk(alg, &jwk).unwrap();
            let sig = k.sign(&rng, b"msg").unwrap();
            assert!(key.verify(b"msg", sig.as_ref()), "{name}");
            assert!(!key.verify(b"other", sig.as_ref()), "{name}");
            let other = json!({"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"});
            assert!(VerifyKey::from_jwk(alg, &other)
                .unwrap_err()
                .contains("is not"));
            let short = json!({"kty": "EC", "crv": crv, "x": "AA", "y": "AA"});
            assert!(VerifyKey::from_jwk(alg, &short).is_err());
        }
        let p8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let k = Ed25519KeyPair::from_pkcs8(p8.as_ref()).unwrap();
        let alg = Alg::parse("EdDSA").unwrap();
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(k.public_key().as_ref())});
        let key = VerifyKey::from_jwk(alg, &jwk).unwrap();
        assert!(key.verify(b"msg", k.sign(b"msg").as_ref()));
        let x448 = json!({"kty": "OKP", "crv": "Ed448", "x": "AA"});
        assert!(VerifyKey::from_jwk(alg, &x448).is_err());
        let no_x = json!({"kty": "OKP", "crv": "Ed25519"});
        assert_eq!(VerifyKey::from_jwk(alg, &no_x).unwrap_err(), "no x");
    }

    #[test]
    fn rsa_public_key_der_round_trips_its_size() {
        let mut n = vec![0xC0];
        n.extend(std::iter::repeat_n(0x11, 255));
        let der = rsa_public_key_der(&n, &[1, 0, 1]);
        assert_eq!(rsa_modulus_bits(&der), Some(2048));
        assert_eq!(rsa_modulus_bits(&der[..10]), None);
        assert!(VerifyKey::public(
            Alg::parse("RS256").unwrap(),
            rsa_public_key_der(&[0x7f; 128], &[3])
        )
        .unwrap_err()
        .contains("1023"));
    }
}
