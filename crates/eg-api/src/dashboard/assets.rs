//! The dashboard's files, built into the binary, each with its content type, a strong
//! validator and a gzip copy made the first time it is asked for.

use std::sync::OnceLock;

use flate2::write::GzEncoder;
use flate2::Compression;
use ring::digest::{digest, SHA256};
use std::io::Write;

/// How many bytes of the SHA-256 of a file name its version in the `ETag`.
const ETAG_DIGEST_BYTES: usize = 12;
/// Below this size a gzip copy is not worth its header.
const GZIP_MIN_BYTES: usize = 512;

/// One file of the dashboard.
pub(crate) struct Asset {
    /// Its name below `/dashboard/` (`""` is the page itself).
    pub name: &'static str,
    /// The `Content-Type` it is served with.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
    /// The `ETag` and gzip copy, computed once.
    derived: OnceLock<Derived>,
}

/// What is computed from an asset's bytes once.
struct Derived {
    /// The strong validator of the identity encoding, quotes included.
    etag: String,
    /// The validator of the gzip encoding (another representation, another tag).
    etag_gzip: String,
    /// The gzip copy, when it is smaller.
    gzip: Option<Vec<u8>>,
}

impl Asset {
    const fn new(name: &'static str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
        Asset {
            name,
            content_type,
            bytes,
            derived: OnceLock::new(),
        }
    }

    fn derived(&self) -> &Derived {
        self.derived.get_or_init(|| {
            let hash = digest(&SHA256, self.bytes);
            let hex: String = hash.as_ref()[..ETAG_DIGEST_BYTES]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            Derived {
                etag: format!("\"{hex}\""),
                etag_gzip: format!("\"{hex}-gz\""),
                gzip: gzip(self.bytes).filter(|z| z.len() < self.bytes.len()),
            }
        })
    }

    /// The `ETag` of the representation sent with or without gzip.
    pub fn etag(&self, gzipped: bool) -> &str {
        let d = self.derived();
        if gzipped {
            &d.etag_gzip
        } else {
            &d.etag
        }
    }

    /// The gzip copy, when the file is worth compressing.
    pub fn gzip(&self) -> Option<&[u8]> {
        self.derived().gzip.as_deref()
    }
}

/// `bytes` compressed with gzip at the best level (done once per file).
fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < GZIP_MIN_BYTES {
        return None;
    }
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    enc.write_all(bytes).ok()?;
    enc.finish().ok()
}

/// Every file of the dashboard.
pub(crate) static ASSETS: [Asset; 4] = [
    Asset::new(
        "",
        "text/html; charset=utf-8",
        include_bytes!("assets/index.html"),
    ),
    Asset::new(
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/app.js"),
    ),
    Asset::new(
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/app.css"),
    ),
    Asset::new(
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("assets/favicon.svg"),
    ),
];

/// The file called `name` below `/dashboard/`.
pub(crate) fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_distinct_tags_per_encoding_and_a_smaller_gzip_copy() {
        for a in &ASSETS {
            assert_ne!(a.etag(false), a.etag(true), "{}", a.name);
            assert!(a.etag(false).starts_with('"') && a.etag(false).ends_with('"'));
            if let Some(z) = a.gzip() {
                assert!(z.len() < a.bytes.len(), "{}", a.name);
            }
        }
        assert!(find("app.js").and_then(Asset::gzip).is_some());
        assert!(find("nothing.js").is_none());
    }
}
