//! The `Mock` spec.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use eg_spec::error::join_path;
use eg_spec::{GoDuration, SpecError, StringMatcherSpec};
use serde::Deserialize;
use serde_json::{json, Value};

use super::Rule;
use crate::spec::{header_map, header_name, status_code};

/// `Mock` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MockSpec {
    /// Rules tried in order; the first match answers. Default: none (never mocks).
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

/// One rule: what to match and what to answer.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleSpec {
    /// What requests the rule answers. Default: every request.
    #[serde(default, rename = "match")]
    pub matcher: MatchSpec,
    /// Response status, 100-599 (required).
    #[serde(default)]
    pub code: i64,
    /// Response headers (set, replacing). Default: none.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Response body. Default: empty.
    #[serde(default)]
    pub body: String,
    /// Wait this long before the flow goes on (Go duration). Default: no wait.
    #[serde(default)]
    pub delay: Option<GoDuration>,
}

/// What a rule matches.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatchSpec {
    /// The exact path. With `pathPrefix` either may match; both empty match every path.
    #[serde(default)]
    pub path: String,
    /// A path prefix.
    #[serde(default)]
    pub path_prefix: String,
    /// Header name → matcher (`exact`, `prefix`, `regex`, or `empty` for an absent header).
    #[serde(default)]
    pub headers: BTreeMap<String, StringMatcherSpec>,
    /// All header matchers must match (default false: any one is enough).
    #[serde(default)]
    pub match_all_headers: bool,
}

/// The defaults served by the metadata API.
pub(super) fn default_spec() -> Value {
    json!({"rules": []})
}

fn check_path(p: &str, path: &str) -> Result<Option<String>, SpecError> {
    if p.is_empty() {
        return Ok(None);
    }
    if !p.starts_with('/') {
        return Err(SpecError::new(path, format!("{p:?} must start with /")));
    }
    Ok(Some(p.to_string()))
}

impl MockSpec {
    /// Checks and compiles the rules; errors name `path.rules[i]...`.
    pub(super) fn compile(&self, path: &str) -> Result<Box<[Rule]>, SpecError> {
        self.rules
            .iter()
            .enumerate()
            .map(|(i, r)| r.compile(&format!("{}[{i}]", join_path(path, "rules"))))
            .collect()
    }
}

impl RuleSpec {
    fn compile(&self, at: &str) -> Result<Rule, SpecError> {
        let m = &self.matcher;
        let mat = join_path(at, "match");
        let mut headers = Vec::with_capacity(m.headers.len());
        for (name, spec) in &m.headers {
            let hp = join_path(&join_path(&mat, "headers"), name);
            let hn = header_name(name, &hp)?;
            headers.push((hn, spec.compile(&hp)?, spec.empty));
        }
        Ok(Rule {
            path: check_path(&m.path, &join_path(&mat, "path"))?,
            path_prefix: check_path(&m.path_prefix, &join_path(&mat, "pathPrefix"))?,
            headers: headers.into_boxed_slice(),
            match_all_headers: m.match_all_headers,
            code: status_code(self.code, &join_path(at, "code"))?,
            response_headers: header_map(&self.headers, &join_path(at, "headers"))?,
            body: Bytes::from(self.body.clone()),
            delay: self.delay.map(|d| d.get()).unwrap_or(Duration::ZERO),
        })
    }
}
