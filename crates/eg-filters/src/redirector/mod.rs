//! The `Redirector` filter: regexp redirects.
//!
//! The part of the request chosen by `matchPart` — `uri` (path and query as received, the
//! default), `path` (the decoded path) or `full` (the request URL as received: the same as
//! `uri` unless the client sent an absolute URL, as HTTP/2 clients do) — has every match of
//! `match` replaced by `replacement` (`$1`, `${1}`, `${name}` refer to groups, `$$` is a
//! `$`). When that changes the text, the response of the active namespace is replaced by a
//! redirect: status `statusCode` (301 by default), `Location` set to the new text and the
//! status text as the body; the filter returns `redirected`. When the text is unchanged
//! (no match, or a replacement that gives the same text) the flow goes on with `""`.

#[cfg(test)]
mod tests;

use std::any::Any;

use eg_protocols::Context;
use eg_spec::error::join_path;
use eg_spec::SpecError;
use regex::Regex;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::redirect::Redirect;
use crate::registry::FilterKind;
use crate::spec::decode_filter_spec;

/// The kind name.
pub const KIND_NAME: &str = "Redirector";
/// Returned when the request was redirected.
pub const RESULT_REDIRECTED: &str = "redirected";
/// Default `statusCode`.
pub const DEFAULT_STATUS_CODE: u16 = 301;

/// The `Redirector` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "Redirector redirect HTTP requests.",
    &[RESULT_REDIRECTED],
    default_spec,
    build,
)
.with_schema(crate::spec_schema::<RedirectorSpec>);

/// `Redirector` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedirectorSpec {
    /// The regular expression (RE2 syntax). Required.
    #[serde(default, rename = "match")]
    pub matcher: String,
    /// `uri` (default), `path` or `full`, in any case.
    #[serde(default)]
    pub match_part: String,
    /// The replacement, with `$1`/`${1}`/`${name}` group references. Required.
    #[serde(default)]
    pub replacement: String,
    /// 301 (default), 302, 303, 304, 307 or 308.
    #[serde(default)]
    pub status_code: i64,
}

fn default_spec() -> Value {
    json!({"matchPart": "uri", "statusCode": DEFAULT_STATUS_CODE})
}

/// Which part of the request is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatchPart {
    Uri,
    Path,
    Full,
}

/// The running filter.
#[derive(Debug)]
pub struct Redirector {
    re: Regex,
    part: MatchPart,
    replacement: String,
    redirect: Redirect,
}

fn build(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = decode_filter_spec::<RedirectorSpec>(spec)?.into_parts();
    Ok(Built::new(Redirector::compile(&s, &spec.path)?, warnings))
}

impl Redirector {
    /// Checks and compiles `s`; errors name fields under `path`.
    pub fn compile(s: &RedirectorSpec, path: &str) -> Result<Redirector, SpecError> {
        if s.matcher.is_empty() {
            return Err(SpecError::new(join_path(path, "match"), "required"));
        }
        let re = Regex::new(&s.matcher).map_err(|e| {
            SpecError::new(join_path(path, "match"), format!("invalid regexp: {e}"))
        })?;
        if s.replacement.is_empty() {
            return Err(SpecError::new(join_path(path, "replacement"), "required"));
        }
        let part = match s.match_part.to_ascii_lowercase().as_str() {
            "" | "uri" => MatchPart::Uri,
            "path" => MatchPart::Path,
            "full" => MatchPart::Full,
            other => {
                return Err(SpecError::new(
                    join_path(path, "matchPart"),
                    format!("{other:?} is not one of uri, path, full"),
                ))
            }
        };
        // 0 is Easegress's "not set".
        let code = (s.status_code != 0).then_some(s.status_code);
        Ok(Redirector {
            re,
            part,
            replacement: s.replacement.clone(),
            redirect: Redirect::compile(code, DEFAULT_STATUS_CODE, path)?,
        })
    }
}

impl Filter for Redirector {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let Some(req) = ctx.request() else {
            return Handled::Done("");
        };
        let uri = req.uri();
        let input = match self.part {
            MatchPart::Uri => uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
                .into(),
            MatchPart::Path => eg_protocols::escape::decode_path(req.path()),
            MatchPart::Full => uri.to_string().into(),
        };
        let location = self.re.replace_all(&input, self.replacement.as_str());
        if location == input {
            return Handled::Done("");
        }
        let Some(resp) = self.redirect.response(&location) else {
            return Handled::Done("");
        };
        ctx.set_response(resp);
        Handled::Done(RESULT_REDIRECTED)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
