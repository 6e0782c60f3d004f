//! The `headers` method of the Validator.

use std::collections::{BTreeMap, HashSet};

use eg_spec::error::join_path;
use eg_spec::SpecError;
use http::{HeaderMap, HeaderName};
use regex::Regex;
use serde::Deserialize;

use crate::spec::header_name;

/// What values one header may have: one of `values`, or a match of `regexp` (at least one
/// of the two is required).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValueValidatorSpec {
    /// Accepted values (exact, case-sensitive, no duplicates). Default: none.
    #[serde(default)]
    pub values: Vec<String>,
    /// A regular expression a value may match instead (unanchored unless written with
    /// `^`/`$`). Default: none.
    #[serde(default)]
    pub regexp: String,
}

struct Rule {
    name: HeaderName,
    values: Box<[String]>,
    regexp: Option<Regex>,
}

/// Compiled header checks.
pub(super) struct HeaderValidator {
    rules: Box<[Rule]>,
}

impl HeaderValidator {
    /// Checks and compiles the spec; errors name `path.<header>...`.
    pub(super) fn compile(
        spec: &BTreeMap<String, ValueValidatorSpec>,
        path: &str,
    ) -> Result<HeaderValidator, SpecError> {
        let mut rules = Vec::with_capacity(spec.len());
        for (name, vv) in spec {
            let at = join_path(path, name);
            if vv.values.is_empty() && vv.regexp.is_empty() {
                return Err(SpecError::new(at, "neither values nor regexp is specified"));
            }
            let mut seen = HashSet::new();
            for (i, v) in vv.values.iter().enumerate() {
                if !seen.insert(v) {
                    return Err(SpecError::new(
                        format!("{}[{i}]", join_path(&at, "values")),
                        format!("duplicated value {v:?}"),
                    ));
                }
            }
            let regexp = if vv.regexp.is_empty() {
                None
            } else {
                Some(Regex::new(&vv.regexp).map_err(|e| {
                    SpecError::new(join_path(&at, "regexp"), format!("invalid regexp: {e}"))
                })?)
            };
            rules.push(Rule {
                name: header_name(name, &at)?,
                values: vv.values.clone().into_boxed_slice(),
                regexp,
            });
        }
        Ok(HeaderValidator {
            rules: rules.into_boxed_slice(),
        })
    }

    /// The first configured header none of whose values is valid (an absent header is
    /// invalid), or `None` when all pass.
    pub(super) fn first_invalid(&self, headers: &HeaderMap) -> Option<&HeaderName> {
        self.rules
            .iter()
            .find(|r| !r.valid(headers))
            .map(|r| &r.name)
    }

    /// The first configured header (a request-less namespace fails on it).
    pub(super) fn first_name(&self) -> Option<&HeaderName> {
        self.rules.first().map(|r| &r.name)
    }
}

impl Rule {
    fn valid(&self, headers: &HeaderMap) -> bool {
        eg_protocols::lookup::all(headers, &self.name).any(|v| {
            let Ok(v) = v.to_str() else {
                return false;
            };
            self.values.iter().any(|a| a == v)
                || self.regexp.as_ref().is_some_and(|r| r.is_match(v))
        })
    }
}
