//! The `RadixTree` router: per rule, a tree of path segments searched with priority
//! static > regexp parameter > parameter > wildcard, backtracking when a branch fails.
//!
//! Pattern syntax (the `path` field): `/users/{id}`, `/users/{id:[0-9]+}`,
//! `/files/{name}.json`, `/static/*` (the wildcard only at the end). A rewrite target may use
//! `{id}` and `{EG_WILDCARD}`.

use std::collections::HashMap;
use std::ops::Range;

use eg_spec::SpecError;
use regex::Regex;

use super::{Params, Route, RouteRequest, Rule, Search, TemplatePart};
use crate::httpserver::spec::RuleSpec;

/// The parameter name of the wildcard's capture.
pub(crate) const WILDCARD_KEY: &str = "EG_WILDCARD";

#[derive(Debug)]
enum Part {
    Lit(String),
    Param(Option<Regex>),
}

#[derive(Debug)]
struct SegPattern {
    text: String,
    parts: Vec<Part>,
}

#[derive(Debug, Default)]
struct Node {
    statics: HashMap<String, Node>,
    regexps: Vec<(SegPattern, Node)>,
    params: Vec<(SegPattern, Node)>,
    /// `prefix*`: the prefix of the last segment and the routes ending here.
    wildcards: Vec<(String, Vec<usize>)>,
    leaves: Vec<usize>,
}

/// One segment of a parsed pattern.
#[derive(Debug)]
enum Seg {
    Static(String),
    Pattern {
        text: String,
        parts: Vec<Part>,
        has_regexp: bool,
    },
    Wildcard(String),
}

/// A parsed pattern: segments and parameter names in order.
#[derive(Debug)]
struct Pattern {
    segs: Vec<Seg>,
    keys: Vec<String>,
}

fn parse_pattern(pattern: &str, path: &str) -> Result<Pattern, SpecError> {
    let err = |m: String| SpecError::new(path, format!("invalid pattern {pattern:?}: {m}"));
    let body = pattern
        .strip_prefix('/')
        .ok_or_else(|| err("must start with '/'".into()))?;
    // Split on '/' outside braces.
    let mut raw = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth < 0 {
                    return Err(err("unbalanced '}'".into()));
                }
            }
            '/' if depth == 0 => {
                raw.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(err("parameter closing '}' is missing".into()));
    }
    raw.push(&body[start..]);
    let mut segs = Vec::with_capacity(raw.len());
    let mut keys: Vec<String> = Vec::new();
    let last = raw.len() - 1;
    for (si, s) in raw.iter().enumerate() {
        if let Some(star) = star_outside_braces(s) {
            if si != last || star != s.len() - 1 {
                return Err(err("the wildcard '*' must be the last character".into()));
            }
            let prefix = &s[..star];
            if prefix.contains('{') {
                return Err(err("a parameter cannot share the wildcard's segment".into()));
            }
            keys.push(WILDCARD_KEY.to_string());
            segs.push(Seg::Wildcard(prefix.to_string()));
            continue;
        }
        if !s.contains('{') {
            segs.push(Seg::Static(s.to_string()));
            continue;
        }
        let mut parts = Vec::new();
        let mut has_regexp = false;
        let mut rest = *s;
        while !rest.is_empty() {
            if let Some(body) = rest.strip_prefix('{') {
                let close = matching_brace(body)
                    .ok_or_else(|| err("parameter closing '}' is missing".into()))?;
                let inner = &body[..close];
                rest = &body[close + 1..];
                if matches!(parts.last(), Some(Part::Param(_))) {
                    return Err(err("two parameters must be separated by text".into()));
                }
                let (key, re) = match inner.split_once(':') {
                    Some((k, re)) => {
                        let anchored = format!(
                            "{}{re}{}",
                            if re.starts_with('^') { "" } else { "^" },
                            if re.ends_with('$') { "" } else { "$" }
                        );
                        let re = Regex::new(&anchored)
                            .map_err(|e| err(format!("invalid regexp of parameter {k:?}: {e}")))?;
                        has_regexp = true;
                        (k, Some(re))
                    }
                    None => (inner, None),
                };
                if key.is_empty() {
                    return Err(err("parameter name is empty".into()));
                }
                if keys.iter().any(|k| k == key) {
                    return Err(err(format!("duplicate parameter {key:?}")));
                }
                keys.push(key.to_string());
                parts.push(Part::Param(re));
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                if rest[..end].contains('}') {
                    return Err(err("unbalanced '}'".into()));
                }
                parts.push(Part::Lit(rest[..end].to_string()));
                rest = &rest[end..];
            }
        }
        segs.push(Seg::Pattern {
            text: s.to_string(),
            parts,
            has_regexp,
        });
    }
    Ok(Pattern { segs, keys })
}

/// Position of a `*` that is not inside a parameter.
fn star_outside_braces(s: &str) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            '*' if depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

/// Index of the `}` closing a parameter whose `{` was just consumed.
fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 1;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The parameter names of `pattern`, in order.
pub(crate) fn pattern_keys(pattern: &str, path: &str) -> Result<Vec<String>, SpecError> {
    Ok(parse_pattern(pattern, path)?.keys)
}

/// Compiles a RadixTree rewrite target against the parameters of `pattern`.
pub(crate) fn compile_rewrite(
    pattern: &str,
    target: &str,
    path: &str,
) -> Result<Vec<TemplatePart>, SpecError> {
    if target.contains('*') {
        return Err(SpecError::new(
            path,
            "'*' is not allowed in a RadixTree rewriteTarget; use {EG_WILDCARD}",
        ));
    }
    let keys = parse_pattern(pattern, path)?.keys;
    let mut parts = Vec::new();
    let mut rest = target;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(TemplatePart::Lit(rest[..open].to_string()));
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| SpecError::new(path, format!("missing '}}' in {target:?}")))?;
        let key = &after[..close];
        let idx = keys.iter().position(|k| k == key).ok_or_else(|| {
            SpecError::new(
                path,
                format!("{{{key}}} is not a parameter of path {pattern:?}"),
            )
        })?;
        parts.push(TemplatePart::Param(idx));
        rest = &after[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(TemplatePart::Lit(rest.to_string()));
    }
    Ok(parts)
}

impl Node {
    fn insert(&mut self, segs: Vec<Seg>, route: usize) {
        let mut node = self;
        for seg in segs {
            node = match seg {
                Seg::Static(s) => node.statics.entry(s).or_default(),
                Seg::Pattern {
                    text,
                    parts,
                    has_regexp,
                } => {
                    let list = if has_regexp {
                        &mut node.regexps
                    } else {
                        &mut node.params
                    };
                    let pos = match list.iter().position(|(p, _)| p.text == text) {
                        Some(p) => p,
                        None => {
                            list.push((SegPattern { text, parts }, Node::default()));
                            list.len() - 1
                        }
                    };
                    &mut list[pos].1
                }
                Seg::Wildcard(prefix) => {
                    match node.wildcards.iter_mut().find(|(p, _)| *p == prefix) {
                        Some((_, v)) => v.push(route),
                        None => node.wildcards.push((prefix, vec![route])),
                    }
                    return;
                }
            };
        }
        node.leaves.push(route);
    }

    /// `rest`: the unmatched remainder after a '/', or `None` when the path is used up.
    fn find<'a>(
        &self,
        rest: Option<&'a str>,
        routes: &[Route],
        req: &RouteRequest<'_>,
        s: &mut Search<'a>,
        params: &mut Params<'a>,
    ) -> Option<usize> {
        let Some(text) = rest else {
            return self
                .leaves
                .iter()
                .copied()
                .find(|&i| routes[i].accepts(req, s));
        };
        let (seg, next) = match text.find('/') {
            Some(p) => (&text[..p], Some(&text[p + 1..])),
            None => (text, None),
        };
        if let Some(child) = self.statics.get(seg) {
            if let Some(r) = child.find(next, routes, req, s, params) {
                return Some(r);
            }
        }
        for (pat, child) in self.regexps.iter().chain(self.params.iter()) {
            let mark = params.len();
            if capture(&pat.parts, seg, params) {
                if let Some(r) = child.find(next, routes, req, s, params) {
                    return Some(r);
                }
            }
            params.truncate(mark);
        }
        for (prefix, idxs) in &self.wildcards {
            if let Some(v) = text.strip_prefix(prefix.as_str()) {
                if let Some(&i) = idxs.iter().find(|&&i| routes[i].accepts(req, s)) {
                    params.push(v);
                    return Some(i);
                }
            }
        }
        None
    }
}

fn capture<'a>(parts: &[Part], mut seg: &'a str, out: &mut Params<'a>) -> bool {
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Lit(l) => match seg.strip_prefix(l.as_str()) {
                Some(r) => seg = r,
                None => return false,
            },
            Part::Param(re) => {
                let end = match parts.get(i + 1) {
                    Some(Part::Lit(l)) => match seg.find(l.as_str()) {
                        Some(p) => p,
                        None => return false,
                    },
                    _ => seg.len(),
                };
                let v = &seg[..end];
                if v.is_empty() || re.as_ref().is_some_and(|re| !re.is_match(v)) {
                    return false;
                }
                out.push(v);
                seg = &seg[end..];
            }
        }
    }
    seg.is_empty()
}

/// Per-rule trees.
#[derive(Debug)]
pub(crate) struct RadixRouter {
    rules: Vec<(Rule, Node)>,
}

impl RadixRouter {
    /// Builds a tree per rule from the routes' `path` patterns.
    pub fn build(
        rules: Vec<(Rule, Range<usize>)>,
        routes: &[Route],
        _specs: &[RuleSpec],
    ) -> Result<RadixRouter, SpecError> {
        let mut out = Vec::with_capacity(rules.len());
        for (rule, range) in rules {
            let mut root = Node::default();
            for i in range {
                let r = &routes[i];
                let path = format!("rules[{}].paths[{}].path", r.rule_index, r.path_index);
                let pattern = r.exact.as_deref().unwrap_or("");
                let parsed = parse_pattern(pattern, &path)?;
                root.insert(parsed.segs, i);
            }
            out.push((rule, root));
        }
        Ok(RadixRouter { rules: out })
    }

    /// Host → rule IP filter → tree search (methods, headers, queries, IP at the leaves).
    pub fn search<'a>(&self, routes: &[Route], req: &RouteRequest<'a>, s: &mut Search<'a>) {
        let Some(body) = req.path.strip_prefix('/') else {
            return;
        };
        for (rule, root) in &self.rules {
            if !rule.admits(req, s) {
                continue;
            }
            let mut params = Params::new();
            if let Some(i) = root.find(Some(body), routes, req, s, &mut params) {
                if !params.is_empty() {
                    s.uncacheable = true;
                }
                s.params = params;
                s.route = Some(i);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_patterns_are_refused() {
        for p in [
            "/a/*/b",
            "/a/{id",
            "/a/{x}{y}",
            "/a/{id}/{id}",
            "/a/{id:(}",
            "/a/b*c",
        ] {
            assert!(parse_pattern(p, "path").is_err(), "{p} accepted");
        }
        assert!(parse_pattern("/a/{id:[0-9]{2}}/x/*", "p").is_ok());
    }

    #[test]
    fn rewrite_needs_known_parameters() {
        assert_eq!(
            compile_rewrite("/u/{id}/*", "/users/{id}/{EG_WILDCARD}", "t").unwrap(),
            vec![
                TemplatePart::Lit("/users/".into()),
                TemplatePart::Param(0),
                TemplatePart::Lit("/".into()),
                TemplatePart::Param(1)
            ]
        );
        assert!(compile_rewrite("/u/{id}", "/x/{name}", "t").is_err());
        assert!(compile_rewrite("/u/*", "/x/*", "t").is_err());
    }
}
