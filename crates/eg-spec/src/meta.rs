//! Object meta: `name`, `kind`, `version`, `labels`, `createdAt`.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

use crate::error::SpecError;

/// Default `version` of every object.
pub const DEFAULT_VERSION: &str = "easegress.megaease.com/v2";
/// Label naming who owns an object; only `user-api` objects may be changed through the API.
pub const OWNER_LABEL: &str = "easegress/owner";
/// Owner label value of objects created by users through the admin API or egctl.
pub const OWNER_USER_API: &str = "user-api";
/// The owner label value of objects an object generates: `<kind>:<name>`, as Easegress's
/// `Spec.AsOwner()` writes it (`HTTPServer:server-demo`).
pub fn owner_of(kind: &str, name: &str) -> String {
    format!("{kind}:{name}")
}

/// The meta keys of a spec: every object document carries them, and so may a filter or a
/// resilience policy inside a pipeline (Easegress embeds the same meta in their specs). A
/// kind's own fields never use these names.
pub const META_KEYS: [&str; 5] = ["name", "kind", "version", "labels", "createdAt"];
/// Longest object name accepted.
pub const MAX_NAME_LEN: usize = 253;

/// The meta fields every object spec carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    /// Unique across all kinds.
    pub name: String,
    /// Registered kind.
    pub kind: String,
    /// API version string, default [`DEFAULT_VERSION`].
    pub version: String,
    /// Free labels; `easegress/owner` defaults to `user-api`.
    pub labels: BTreeMap<String, String>,
    /// RFC 3339 time of the last create/update through the API.
    pub created_at: Option<String>,
}

/// One character allowed in a name: a Unicode letter, an ASCII digit, `-`, `_`, `.` or `~`.
fn name_char_ok(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | '~') || c.is_alphabetic()
}

/// Checks a name against Easegress's rule `^[\p{L}0-9\-_\.~]{1,253}$`.
pub fn validate_name(name: &str, path: &str) -> Result<(), SpecError> {
    if name.is_empty() {
        return Err(SpecError::new(path, "name is required"));
    }
    if name.chars().count() > MAX_NAME_LEN || !name.chars().all(name_char_ok) {
        return Err(SpecError::new(
            path,
            format!("invalid name {name:?}: use 1-253 letters, digits, '-', '_', '.' or '~'"),
        ));
    }
    Ok(())
}

impl Meta {
    /// Reads and checks the meta fields of a spec document.
    pub fn from_value(doc: &Value) -> Result<Meta, SpecError> {
        let obj = doc
            .as_object()
            .ok_or_else(|| SpecError::doc("spec must be a mapping with name and kind"))?;
        let name = match obj.get("name") {
            None | Some(Value::Null) => return Err(SpecError::new("name", "name is required")),
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(SpecError::new(
                    "name",
                    format!("must be a string, got {other}"),
                ))
            }
        };
        validate_name(&name, "name")?;
        let kind = match obj.get("kind") {
            None | Some(Value::Null) => return Err(SpecError::new("kind", "kind is required")),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(other) => {
                return Err(SpecError::new(
                    "kind",
                    format!("must be a non-empty string, got {other}"),
                ))
            }
        };
        let version = match obj.get("version") {
            None | Some(Value::Null) => DEFAULT_VERSION.to_string(),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::String(_)) => DEFAULT_VERSION.to_string(),
            Some(other) => {
                return Err(SpecError::new(
                    "version",
                    format!("must be a string, got {other}"),
                ))
            }
        };
        let mut labels = BTreeMap::new();
        match obj.get("labels") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    labels.insert(k.clone(), v);
                }
            }
            Some(other) => {
                return Err(SpecError::new(
                    "labels",
                    format!("must be a mapping, got {other}"),
                ))
            }
        }
        let created_at = match obj.get("createdAt") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        };
        Ok(Meta {
            name,
            kind,
            version,
            labels,
            created_at,
        })
    }

    /// The owner label, `user-api` when absent.
    pub fn owner(&self) -> &str {
        self.labels
            .get(OWNER_LABEL)
            .map(String::as_str)
            .unwrap_or(OWNER_USER_API)
    }

    /// Whether this object was generated by the object `kind`/`name`: its owner label is
    /// `<kind>:<name>`, or just `<name>` as easegress-rs wrote it before it followed Easegress
    /// (objects stored then are still recognised).
    pub fn is_owned_by(&self, kind: &str, name: &str) -> bool {
        let owner = self.owner();
        owner == name
            || owner
                .strip_prefix(kind)
                .and_then(|rest| rest.strip_prefix(':'))
                .is_some_and(|n| n == name)
    }

    /// Writes the meta fields (with defaults filled in) into a spec document.
    pub fn write_into(&self, doc: &mut Map<String, Value>) {
        doc.insert("name".into(), Value::String(self.name.clone()));
        doc.insert("kind".into(), Value::String(self.kind.clone()));
        doc.insert("version".into(), Value::String(self.version.clone()));
        let mut labels: Map<String, Value> = self
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        labels
            .entry(OWNER_LABEL.to_string())
            .or_insert_with(|| Value::String(OWNER_USER_API.into()));
        doc.insert("labels".into(), Value::Object(labels));
        if let Some(c) = &self.created_at {
            doc.insert("createdAt".into(), Value::String(c.clone()));
        }
    }
}

/// The current time in RFC 3339, as `createdAt` is written.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod owner_tests {
    use super::*;

    fn labelled(owner: &str) -> Meta {
        let doc = serde_json::json!({"name": "g", "kind": "Pipeline",
            "labels": {OWNER_LABEL: owner}});
        Meta::from_value(&doc).unwrap()
    }

    #[test]
    fn owner_is_kind_colon_name_and_the_old_bare_name_still_counts() {
        assert_eq!(owner_of("HTTPServer", "s"), "HTTPServer:s");
        assert!(labelled("HTTPServer:s").is_owned_by("HTTPServer", "s"));
        assert!(labelled("s").is_owned_by("HTTPServer", "s"));
        assert!(!labelled("HTTPServer:s2").is_owned_by("HTTPServer", "s"));
        assert!(!labelled("Other:s").is_owned_by("HTTPServer", "s"));
        assert!(!labelled("user-api").is_owned_by("HTTPServer", "s"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_meta_with_defaults() {
        let m = Meta::from_value(&json!({"name": "pipeline-demo", "kind": "Pipeline"})).unwrap();
        assert_eq!(m.version, DEFAULT_VERSION);
        assert_eq!(m.owner(), OWNER_USER_API);
        let mut doc = Map::new();
        m.write_into(&mut doc);
        assert_eq!(doc["labels"][OWNER_LABEL], "user-api");
    }

    #[test]
    fn rejects_bad_meta() {
        let cases = [
            (json!({"kind": "Pipeline"}), "name"),
            (json!({"name": "", "kind": "Pipeline"}), "name"),
            (json!({"name": "a b", "kind": "Pipeline"}), "name"),
            (json!({"name": "a/b", "kind": "Pipeline"}), "name"),
            (json!({"name": 3, "kind": "Pipeline"}), "name"),
            (json!({"name": "a"}), "kind"),
            (json!({"name": "a", "kind": 1}), "kind"),
            (
                json!({"name": "a", "kind": "Pipeline", "labels": [1]}),
                "labels",
            ),
        ];
        for (doc, field) in cases {
            let err = Meta::from_value(&doc).unwrap_err();
            assert_eq!(err.path, field, "{doc}: {err}");
        }
        assert!(Meta::from_value(&json!([1])).is_err());
        assert!(validate_name(&"a".repeat(254), "name").is_err());
        assert!(validate_name("名字-1_a.b~c", "name").is_ok());
    }
}
