//! Resource names on the command line: object kinds (by kind, lower-case
//! name, plural or alias as listed by `GET /object-api-resources`) plus the
//! built-in `member`, `customdatakind` and `customdata` resources.

use serde_json::Value;

use crate::yaml::{get_ci, str_ci};

/// Kind name of cluster members.
pub const MEMBER_KIND: &str = "Member";
/// Kind name of custom data kinds.
pub const CUSTOM_DATA_KIND_KIND: &str = "CustomDataKind";
/// Kind name of custom data.
pub const CUSTOM_DATA_KIND: &str = "CustomData";
/// Object namespace used when none is given.
pub const DEFAULT_NAMESPACE: &str = "default";

/// One API resource: what `egctl api-resources` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResource {
    /// Kind, e.g. `HTTPServer`.
    pub kind: String,
    /// Lower-case name, e.g. `httpserver`.
    pub name: String,
    /// Aliases, e.g. `hs`, `httpservers`.
    pub aliases: Vec<String>,
    /// Category, e.g. `TrafficGate` (empty for built-ins).
    pub category: String,
}

impl ApiResource {
    fn builtin(kind: &str, name: &str, aliases: &[&str]) -> ApiResource {
        ApiResource {
            kind: kind.into(),
            name: name.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            category: String::new(),
        }
    }

    /// Whether `arg` names this resource: exact name, kind or alias first,
    /// then the same ignoring case, or the name with a trailing `s`.
    pub fn matches(&self, arg: &str) -> bool {
        if arg == self.name || arg == self.kind || self.aliases.iter().any(|a| a == arg) {
            return true;
        }
        arg.eq_ignore_ascii_case(&self.name)
            || arg.eq_ignore_ascii_case(&self.kind)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(arg))
            || arg.eq_ignore_ascii_case(&format!("{}s", self.name))
    }
}

/// The `member` resource.
pub fn member() -> ApiResource {
    ApiResource::builtin(MEMBER_KIND, "member", &["m", "mem", "members"])
}

/// The `customdatakind` resource.
pub fn custom_data_kind() -> ApiResource {
    ApiResource::builtin(
        CUSTOM_DATA_KIND_KIND,
        "customdatakind",
        &["customdatakinds", "cdk"],
    )
}

/// The `customdata` resource.
pub fn custom_data() -> ApiResource {
    ApiResource::builtin(CUSTOM_DATA_KIND, "customdata", &["customdatas", "cd"])
}

/// What a resource argument resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// Cluster members.
    Member,
    /// Custom data kinds.
    CustomDataKind,
    /// Custom data items.
    CustomData,
    /// Objects of this kind.
    Object(String),
}

/// Resolves `arg` against the built-ins, then the server's object resources.
/// Fails with `unknown resource: <arg>`.
pub fn resolve(arg: &str, objects: &[ApiResource]) -> Result<Resource, String> {
    if custom_data().matches(arg) {
        return Ok(Resource::CustomData);
    }
    if custom_data_kind().matches(arg) {
        return Ok(Resource::CustomDataKind);
    }
    if member().matches(arg) {
        return Ok(Resource::Member);
    }
    // exact matches win over case-insensitive ones
    if let Some(r) = objects
        .iter()
        .find(|r| arg == r.name || arg == r.kind || r.aliases.iter().any(|a| a == arg))
    {
        return Ok(Resource::Object(r.kind.clone()));
    }
    objects
        .iter()
        .find(|r| r.matches(arg))
        .map(|r| Resource::Object(r.kind.clone()))
        .ok_or_else(|| format!("unknown resource: {arg}"))
}

/// Whether `arg` is resolvable without asking the server (built-ins).
pub fn is_builtin(arg: &str) -> Option<Resource> {
    resolve(arg, &[]).ok()
}

/// Parses `GET /object-api-resources` (keys compared case-insensitively).
pub fn parse_api_resources(v: &Value) -> Vec<ApiResource> {
    let Some(items) = v.as_array() else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| ApiResource {
            kind: str_ci(item, "kind"),
            name: str_ci(item, "name"),
            aliases: get_ci(item, "aliases")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            category: str_ci(item, "category"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn objects() -> Vec<ApiResource> {
        parse_api_resources(&json!([
            {"Kind": "HTTPServer", "Name": "httpserver", "Aliases": ["httpservers", "hs"], "Category": "TrafficGate"},
            {"kind": "Pipeline", "name": "pipeline", "aliases": ["pipelines", "pl"], "category": "Pipeline"},
            {"kind": "GlobalFilter", "name": "globalfilter", "aliases": ["globalfilters", "gf"], "category": "BusinessController"}
        ]))
    }

    #[test]
    fn parses_keys_case_insensitively() {
        let o = objects();
        assert_eq!(o[0].kind, "HTTPServer");
        assert_eq!(o[0].aliases, vec!["httpservers", "hs"]);
        assert_eq!(o[0].category, "TrafficGate");
        assert_eq!(o[1].name, "pipeline");
    }

    #[test]
    fn resolves_names_kinds_aliases_and_plurals() {
        let o = objects();
        for arg in [
            "httpserver",
            "HTTPServer",
            "hs",
            "httpservers",
            "HttpServer",
        ] {
            assert_eq!(
                resolve(arg, &o),
                Ok(Resource::Object("HTTPServer".into())),
                "{arg}"
            );
        }
        for arg in ["pipeline", "pipelines", "pl", "Pipeline"] {
            assert_eq!(
                resolve(arg, &o),
                Ok(Resource::Object("Pipeline".into())),
                "{arg}"
            );
        }
        assert_eq!(
            resolve("gf", &o),
            Ok(Resource::Object("GlobalFilter".into()))
        );
    }

    #[test]
    fn resolves_builtins_without_server() {
        for arg in ["member", "m", "mem", "members", "Member"] {
            assert_eq!(resolve(arg, &[]), Ok(Resource::Member), "{arg}");
        }
        for arg in ["customdatakind", "cdk", "customdatakinds", "CustomDataKind"] {
            assert_eq!(resolve(arg, &[]), Ok(Resource::CustomDataKind), "{arg}");
        }
        for arg in ["customdata", "cd", "customdatas", "CustomData"] {
            assert_eq!(resolve(arg, &[]), Ok(Resource::CustomData), "{arg}");
        }
    }

    #[test]
    fn unknown_resource_error() {
        assert_eq!(
            resolve("nope", &objects()),
            Err("unknown resource: nope".into())
        );
    }
}
