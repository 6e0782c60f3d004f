//! `header: {del, set, add}` of the adaptors (Easegress's `httpheader.AdaptSpec`).

use std::collections::BTreeMap;

use eg_spec::error::join_path;
use eg_spec::SpecError;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use crate::spec::{header_map, header_name};

/// How to change headers: first `del`, then `set` (replacing every value), then `add`
/// (appending a value).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeaderAdaptSpec {
    /// Header names removed. Default: none.
    #[serde(default)]
    pub del: Vec<String>,
    /// Headers set, replacing existing values. Default: none.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Values appended to existing ones. Default: none.
    #[serde(default)]
    pub add: BTreeMap<String, String>,
}

/// A checked [`HeaderAdaptSpec`].
#[derive(Debug, Clone, Default)]
pub struct HeaderAdaptor {
    del: Box<[HeaderName]>,
    set: Box<[(HeaderName, HeaderValue)]>,
    add: Box<[(HeaderName, HeaderValue)]>,
}

impl HeaderAdaptor {
    /// Checks names and values; errors name `path.del[i]`, `path.set.<name>`, ...
    pub fn compile(spec: &HeaderAdaptSpec, path: &str) -> Result<HeaderAdaptor, SpecError> {
        let del = spec
            .del
            .iter()
            .enumerate()
            .map(|(i, n)| header_name(n, &format!("{}[{i}]", join_path(path, "del"))))
            .collect::<Result<_, _>>()?;
        Ok(HeaderAdaptor {
            del,
            set: header_map(&spec.set, &join_path(path, "set"))?,
            add: header_map(&spec.add, &join_path(path, "add"))?,
        })
    }

    /// Applies the changes to `headers`.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for n in self.del.iter() {
            headers.remove(n);
        }
        for (n, v) in self.set.iter() {
            headers.insert(n.clone(), v.clone());
        }
        for (n, v) in self.add.iter() {
            headers.append(n.clone(), v.clone());
        }
    }
}
