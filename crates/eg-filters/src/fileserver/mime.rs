//! `Content-Type` from a file's extension, and which types are worth compressing.

/// The type of files whose extension is unknown and whose bytes do not look like text.
pub const OCTET_STREAM: &str = "application/octet-stream";
/// The type of files whose extension is unknown but whose first bytes are UTF-8 text.
pub const PLAIN_TEXT: &str = "text/plain; charset=utf-8";
/// How many leading bytes are looked at to tell text from binary (as Go's sniffer).
pub const SNIFF_LEN: usize = 512;

/// Extension (lower case, without the dot) → type: Go's built-in table plus the common
/// web types NGINX's `mime.types` lists.
const TYPES: &[(&str, &str)] = &[
    ("avif", "image/avif"),
    ("bmp", "image/bmp"),
    ("br", "application/x-brotli"),
    ("css", "text/css; charset=utf-8"),
    ("csv", "text/csv; charset=utf-8"),
    ("eot", "application/vnd.ms-fontobject"),
    ("gif", "image/gif"),
    ("gz", "application/gzip"),
    ("htm", "text/html; charset=utf-8"),
    ("html", "text/html; charset=utf-8"),
    ("ico", "image/vnd.microsoft.icon"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("js", "text/javascript; charset=utf-8"),
    ("json", "application/json"),
    ("map", "application/json"),
    ("md", "text/markdown; charset=utf-8"),
    ("mjs", "text/javascript; charset=utf-8"),
    ("mp3", "audio/mpeg"),
    ("mp4", "video/mp4"),
    ("otf", "font/otf"),
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    ("svg", "image/svg+xml"),
    ("tar", "application/x-tar"),
    ("ttf", "font/ttf"),
    ("txt", "text/plain; charset=utf-8"),
    ("wasm", "application/wasm"),
    ("webm", "video/webm"),
    ("webmanifest", "application/manifest+json"),
    ("webp", "image/webp"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("xml", "text/xml; charset=utf-8"),
    ("yaml", "application/yaml"),
    ("yml", "application/yaml"),
    ("zip", "application/zip"),
];

/// The type of a file named `name` by its extension, if known.
pub fn by_extension(name: &str) -> Option<&'static str> {
    let (_, ext) = name.rsplit_once('.')?;
    TYPES
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(ext))
        .map(|(_, t)| *t)
}

/// The type of an unknown extension from the file's first bytes: text when they are UTF-8
/// (a cut multi-byte character at the end allowed) without control characters other than
/// whitespace.
pub fn sniff(head: &[u8]) -> &'static str {
    let head = &head[..head.len().min(SNIFF_LEN)];
    let text = match std::str::from_utf8(head) {
        Ok(s) => s,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return OCTET_STREAM,
    };
    let binary = text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x0c'));
    if binary {
        OCTET_STREAM
    } else {
        PLAIN_TEXT
    }
}

/// Whether a body of `content_type` shrinks when gzipped (text, JSON, JavaScript, XML,
/// SVG, WebAssembly); images, archives, fonts in compressed formats do not.
pub fn compressible(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.starts_with("text/")
        || matches!(
            essence,
            "application/json"
                | "application/manifest+json"
                | "application/javascript"
                | "application/xml"
                | "application/yaml"
                | "application/wasm"
                | "image/svg+xml"
                | "image/bmp"
                | "image/vnd.microsoft.icon"
                | "application/vnd.ms-fontobject"
                | "font/ttf"
                | "font/otf"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_and_sniffing() {
        assert_eq!(by_extension("a.HTML"), Some("text/html; charset=utf-8"));
        assert_eq!(by_extension("noext"), None);
        assert_eq!(sniff(b"hello\nworld"), PLAIN_TEXT);
        assert_eq!(sniff(&[0, 1, 2, 0xff]), OCTET_STREAM);
        assert!(compressible("text/css; charset=utf-8"));
        assert!(!compressible("image/png"));
    }
}
