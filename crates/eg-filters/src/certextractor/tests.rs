use std::sync::Arc;

use bytes::Bytes;
use eg_protocols::PeerCertificates;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
};
use serde_json::json;

use super::*;
use crate::testkit::{build, ctx, run};

/// A chain [client, intermediate] whose names carry every field.
fn chain() -> Vec<Bytes> {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Test CA");
    dn.push(DnType::CountryName, "CN");
    dn.push(DnType::OrganizationName, "Megaease");
    ca.distinguished_name = dn;
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let mut leaf = CertificateParams::new(vec!["client".to_string()]).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "US");
    dn.push(DnType::OrganizationName, "Org A");
    dn.push(DnType::OrganizationalUnitName, "Unit 1");
    dn.push(DnType::LocalityName, "Springfield");
    dn.push(DnType::StateOrProvinceName, "Oregon");
    dn.push(DnType::CustomDnType(vec![2, 5, 4, 9]), "1 Main St");
    dn.push(DnType::CustomDnType(vec![2, 5, 4, 17]), "97477");
    dn.push(DnType::CustomDnType(vec![2, 5, 4, 5]), "SN-42");
    dn.push(DnType::CommonName, "client-a");
    leaf.distinguished_name = dn;
    let key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&key, &issuer).unwrap();
    vec![
        Bytes::copy_from_slice(leaf_cert.der()),
        Bytes::copy_from_slice(ca_cert.der()),
    ]
}

async fn extract(spec: Value, certs: Option<Vec<Bytes>>) -> Vec<(String, String)> {
    let f = build(&KIND, spec).unwrap();
    let mut c = ctx("GET", "/", &[("x-keep", "1")]);
    if let Some(certs) = certs {
        c.request_mut()
            .unwrap()
            .head
            .extensions
            .insert(PeerCertificates(Arc::from(certs)));
    }
    assert_eq!(run(&*f, &mut c).await, "");
    c.request()
        .unwrap()
        .headers()
        .iter()
        .filter(|(k, _)| k.as_str() != "x-keep")
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn every_subject_field() {
    let certs = chain();
    let cases: [(&str, &[&str]); 9] = [
        ("Country", &["US"]),
        ("Organization", &["Org A"]),
        ("OrganizationalUnit", &["Unit 1"]),
        ("Locality", &["Springfield"]),
        ("Province", &["Oregon"]),
        ("StreetAddress", &["1 Main St"]),
        ("PostalCode", &["97477"]),
        ("SerialNumber", &["SN-42"]),
        ("CommonName", &["client-a"]),
    ];
    for (field, want) in cases {
        let spec = json!({"target": "subject", "field": field, "headerKey": "x-cert"});
        let got = extract(spec, Some(certs.clone())).await;
        let want: Vec<(&str, &str)> = want.iter().map(|v| ("x-cert", *v)).collect();
        assert_eq!(got, pairs(&want), "{field}");
    }
}

#[tokio::test]
async fn issuer_index_and_default_header() {
    let certs = chain();
    // The client's issuer, under the default header name.
    let got = extract(
        json!({"target": "issuer", "field": "CommonName"}),
        Some(certs.clone()),
    )
    .await;
    assert_eq!(got, pairs(&[("tls-issuer-commonname", "Test CA")]));
    // Index 1 and -1 are the second (last) certificate; 2 wraps to the first.
    for (index, want) in [
        (1, "Test CA"),
        (-1, "Test CA"),
        (2, "client-a"),
        (-2, "client-a"),
    ] {
        let spec = json!({"certIndex": index, "target": "subject", "field": "CommonName",
                          "headerKey": "X-CN"});
        assert_eq!(
            extract(spec, Some(certs.clone())).await,
            pairs(&[("x-cn", want)]),
            "certIndex {index}"
        );
    }
    // A field the name lacks adds nothing.
    let spec = json!({"certIndex": 1, "target": "subject", "field": "Locality"});
    assert!(extract(spec, Some(certs)).await.is_empty());
}

#[tokio::test]
async fn nothing_without_client_certificates() {
    let spec = json!({"target": "subject", "field": "CommonName"});
    assert!(extract(spec.clone(), None).await.is_empty());
    assert!(extract(spec.clone(), Some(vec![])).await.is_empty());
    // A certificate that does not parse is skipped.
    assert!(extract(spec, Some(vec![Bytes::from_static(b"junk")]))
        .await
        .is_empty());
}

#[test]
fn wraps_like_easegress() {
    assert_eq!(wrap(0, 3), 0);
    assert_eq!(wrap(4, 3), 1);
    assert_eq!(wrap(-1, 3), 2);
    assert_eq!(wrap(-4, 3), 2);
    assert_eq!(wrap(i16::MIN, 1), 0);
}

#[test]
fn bad_specs_name_the_field() {
    let cases = [
        (json!({"field": "CommonName"}), "filters[0].target"),
        (
            json!({"target": "Subject", "field": "CommonName"}),
            "filters[0].target",
        ),
        (json!({"target": "subject"}), "filters[0].field"),
        (
            json!({"target": "subject", "field": "commonName"}),
            "filters[0].field",
        ),
        (
            json!({"target": "subject", "field": "CommonName", "headerKey": "bad key"}),
            "filters[0].headerKey",
        ),
        (
            json!({"certIndex": 40000, "target": "subject", "field": "CommonName"}),
            "filters[0].certIndex",
        ),
        (
            json!({"certIndex": "1", "target": "subject", "field": "CommonName"}),
            "filters[0].certIndex",
        ),
    ];
    for (doc, path) in cases {
        let err = build(&KIND, doc.clone())
            .err()
            .unwrap_or_else(|| panic!("{doc} accepted"));
        assert_eq!(err.path, path, "{doc}: {err}");
    }
}
