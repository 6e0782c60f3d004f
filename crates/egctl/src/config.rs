//! `~/.egctlrc`: a kubectl-like config file naming clusters (server address,
//! CA), users (basic auth, client certificate) and contexts that pair them.
//!
//! ```yaml
//! kind: Config
//! current-context: default
//! contexts: [{name: default, context: {cluster: local, user: admin}}]
//! clusters: [{name: local, cluster: {server: localhost:2381}}]
//! users: [{name: admin, user: {username: admin, password: admin}}]
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// File name of the config in the home directory.
pub const CONFIG_FILE_NAME: &str = ".egctlrc";

/// Whole config file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Config {
    /// Always `Config`.
    pub kind: String,
    /// Named clusters.
    pub clusters: Vec<NamedCluster>,
    /// Named users (`users` in the file).
    pub users: Vec<NamedUser>,
    /// Named contexts.
    pub contexts: Vec<NamedContext>,
    /// Name of the context in use.
    #[serde(rename = "current-context")]
    pub current_context: String,
}

/// Where a cluster's admin API is.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Cluster {
    /// `host:port`, optionally with `http://` / `https://`.
    pub server: String,
    /// Path of a PEM CA file.
    #[serde(
        rename = "certificate-authority",
        skip_serializing_if = "String::is_empty"
    )]
    pub certificate_authority: String,
    /// Base64 of PEM CA data.
    #[serde(
        rename = "certificate-authority-data",
        skip_serializing_if = "String::is_empty"
    )]
    pub certificate_authority_data: String,
}

/// Credentials of a user.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct User {
    /// Path of a PEM client certificate.
    #[serde(
        rename = "client-certificate",
        skip_serializing_if = "String::is_empty"
    )]
    pub client_certificate: String,
    /// Base64 of PEM client certificate data.
    #[serde(
        rename = "client-certificate-data",
        skip_serializing_if = "String::is_empty"
    )]
    pub client_certificate_data: String,
    /// Path of a PEM client key.
    #[serde(rename = "client-key", skip_serializing_if = "String::is_empty")]
    pub client_key: String,
    /// Base64 of PEM client key data.
    #[serde(rename = "client-key-data", skip_serializing_if = "String::is_empty")]
    pub client_key_data: String,
    /// Basic-auth user name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Basic-auth password.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password: String,
}

/// A context: which cluster with which user.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Context {
    /// Cluster name.
    pub cluster: String,
    /// User name.
    pub user: String,
}

/// `{name, cluster}` entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct NamedCluster {
    /// Cluster name.
    pub name: String,
    /// Cluster settings.
    pub cluster: Cluster,
}

/// `{name, user}` entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct NamedUser {
    /// User name (referenced by contexts).
    pub name: String,
    /// Credentials.
    pub user: User,
}

/// `{name, context}` entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct NamedContext {
    /// Context name.
    pub name: String,
    /// Cluster and user.
    pub context: Context,
}

/// The resolved current context.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentConfig {
    /// The context entry.
    pub context: NamedContext,
    /// Its cluster.
    pub cluster: NamedCluster,
    /// Its user.
    pub user: NamedUser,
}

impl CurrentConfig {
    /// Whether TLS material is configured, which makes egctl use HTTPS.
    pub fn use_https(&self) -> bool {
        let c = &self.cluster.cluster;
        let u = &self.user.user;
        !c.certificate_authority.is_empty()
            || !c.certificate_authority_data.is_empty()
            || !u.client_certificate.is_empty()
            || !u.client_certificate_data.is_empty()
    }
}

/// Path of `~/.egctlrc` (`$HOME`), or `None` when no home is known.
pub fn config_path() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| Path::new(&h).join(CONFIG_FILE_NAME))
}

/// Parses config text.
pub fn parse_config(text: &str) -> Result<Config, String> {
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    serde_saphyr::from_str::<Config>(text).map_err(|e| e.to_string())
}

/// Loads `~/.egctlrc`; `Ok(None)` when the file does not exist.
pub fn load_config() -> Result<Option<Config>, String> {
    let Some(path) = config_path() else {
        return Ok(None);
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_config(&text)
            .map(Some)
            .map_err(|e| format!("unmarshal config file {} failed: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("read config file {} failed: {e}", path.display())),
    }
}

/// Resolves the current context of `config`; errors name what is missing.
pub fn current_config(config: &Config) -> Result<CurrentConfig, String> {
    if config.current_context.is_empty() {
        return Err("current context not found in .egctlrc file".into());
    }
    let context = config
        .contexts
        .iter()
        .find(|c| c.name == config.current_context)
        .ok_or_else(|| {
            format!(
                "current context {} not found in .egctlrc file",
                config.current_context
            )
        })?;
    let cluster = config
        .clusters
        .iter()
        .find(|c| c.name == context.context.cluster)
        .ok_or_else(|| {
            format!(
                "cluster {} not found in .egctlrc file",
                context.context.cluster
            )
        })?;
    let user = config
        .users
        .iter()
        .find(|u| u.name == context.context.user)
        .ok_or_else(|| format!("user {} not found in .egctlrc file", context.context.user))?;
    Ok(CurrentConfig {
        context: context.clone(),
        cluster: cluster.clone(),
        user: user.clone(),
    })
}

/// Copy of `config` as JSON with passwords, keys and certificate data
/// replaced by `REDACTED` (for `config view`).
pub fn redacted(config: &Config) -> Value {
    const REDACTED: &str = "REDACTED";
    let mut c = config.clone();
    for cl in &mut c.clusters {
        if !cl.cluster.certificate_authority_data.is_empty() {
            cl.cluster.certificate_authority_data = REDACTED.into();
        }
    }
    for u in &mut c.users {
        for field in [
            &mut u.user.client_certificate_data,
            &mut u.user.client_key_data,
            &mut u.user.password,
        ] {
            if !field.is_empty() {
                *field = REDACTED.into();
            }
        }
    }
    serde_json::to_value(&c).unwrap_or(Value::Null)
}

/// Rewrites `~/.egctlrc` with `current-context` set to `name`, keeping the
/// file's other content.
pub fn write_current_context(name: &str) -> Result<(), String> {
    let path = config_path().ok_or("not find config file at ~/.egctlrc")?;
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    let mut v: Value = crate::yaml::parse_yaml(&text)?;
    let obj = v.as_object_mut().ok_or("config file is not a mapping")?;
    obj.insert("current-context".into(), Value::String(name.into()));
    std::fs::write(&path, crate::yaml::to_yaml(&v)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RC: &str = r#"
kind: Config
current-context: admin
contexts:
  - name: default
    context:
      cluster: default
      user: default
  - context:
      cluster: default
      user: admin
    name: admin
clusters:
  - cluster:
      server: localhost:2381
      certificate-authority-data: Zm9v
    name: default
users:
  - name: default
    user: {}
  - name: admin
    user:
      username: admin
      password: s3cret
"#;

    #[test]
    fn parses_and_resolves_current_context() {
        let c = parse_config(RC).unwrap();
        assert_eq!(c.kind, "Config");
        assert_eq!(c.contexts.len(), 2);
        let cur = current_config(&c).unwrap();
        assert_eq!(cur.cluster.cluster.server, "localhost:2381");
        assert_eq!(cur.user.user.username, "admin");
        assert_eq!(cur.user.user.password, "s3cret");
        assert!(cur.use_https());
    }

    #[test]
    fn missing_references_are_errors() {
        let mut c = parse_config(RC).unwrap();
        c.current_context = "nope".into();
        assert_eq!(
            current_config(&c).unwrap_err(),
            "current context nope not found in .egctlrc file"
        );
        c.current_context.clear();
        assert!(current_config(&c).is_err());
        c.current_context = "admin".into();
        c.users.clear();
        assert_eq!(
            current_config(&c).unwrap_err(),
            "user admin not found in .egctlrc file"
        );
    }

    #[test]
    fn redaction_hides_secrets() {
        let v = redacted(&parse_config(RC).unwrap());
        assert_eq!(v["users"][1]["user"]["password"], "REDACTED");
        assert_eq!(
            v["clusters"][0]["cluster"]["certificate-authority-data"],
            "REDACTED"
        );
        assert_eq!(v["clusters"][0]["cluster"]["server"], "localhost:2381");
    }
}
