//! What the converter understood of a configuration, before it becomes Easegress objects.

use super::parse::Pos;

/// One `listen`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    /// Bind address; empty for all interfaces.
    pub address: String,
    /// Port.
    pub port: u16,
    /// `ssl`: the port serves TLS.
    pub ssl: bool,
    /// `default_server` (or the old `default`).
    pub default_server: bool,
}

/// One `server_name` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The name (with its `*`) or the regular expression (without its `~`).
    pub value: String,
    /// Whether it was a `~` regular expression.
    pub is_regexp: bool,
}

/// A certificate and its key, base64 of the files' contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPair {
    /// The `ssl_certificate` file name (the key of `certs` and `keys`).
    pub name: String,
    /// Base64 of the certificate file.
    pub cert: String,
    /// Base64 of the key file.
    pub key: String,
}

/// A `server` block.
#[derive(Debug, Clone)]
pub struct Server {
    /// Its `listen`s (port 80 when none).
    pub listens: Vec<Listen>,
    /// Its `server_name`s (`_` and `""`, which match no real host, left out).
    pub hosts: Vec<Host>,
    /// `ssl_certificate`/`ssl_certificate_key` pairs in effect.
    pub certs: Vec<CertPair>,
    /// Base64 of the `ssl_client_certificate` file in effect.
    pub ca_cert: Option<String>,
    /// Converted locations, nested ones included, in the order written.
    pub locations: Vec<Location>,
    /// Where the block starts.
    pub pos: Pos,
}

/// How a location matches the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// `location = /p`
    Exact,
    /// `location ^~ /p`: a prefix that stops the regular expression search.
    PriorityPrefix,
    /// `location /p`
    Prefix,
    /// `location ~ re`
    Regexp,
    /// `location ~* re`
    RegexpNoCase,
}

/// A `location` with a `proxy_pass`.
#[derive(Debug, Clone)]
pub struct Location {
    /// The path, prefix or expression.
    pub path: String,
    /// How it matches.
    pub kind: Match,
    /// Where it goes.
    pub backend: Backend,
    /// Where the block starts.
    pub pos: Pos,
}

/// One upstream server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `scheme://host[:port]`.
    pub url: String,
    /// `weight=` (1 by default).
    pub weight: u32,
}

/// What a location does with a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Backend {
    /// The servers of `proxy_pass` (one URL, or the servers of its `upstream`).
    pub endpoints: Vec<Endpoint>,
    /// `ipHash` for an upstream with `ip_hash`, else chosen from the weights.
    pub ip_hash: bool,
    /// The URI part of `proxy_pass`, which replaces the matched location prefix.
    pub uri: Option<String>,
    /// `proxy_set_header`s in effect, in order, except those for websockets.
    pub headers: Vec<HeaderChange>,
    /// Whether `Upgrade` and `Connection` are set: a websocket location.
    pub websocket: bool,
    /// `gzip_min_length` when `gzip on` is in effect.
    pub gzip_min_length: Option<u32>,
}

/// One `proxy_set_header`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderChange {
    /// Set the header to this value.
    Set {
        /// Header name.
        name: String,
        /// The value, with nginx variables turned into template actions.
        value: String,
        /// Whether `value` has template actions.
        template: bool,
    },
    /// An empty value: nginx does not send the header.
    Delete(String),
}
