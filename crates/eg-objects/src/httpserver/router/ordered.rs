//! The `Ordered` router: rules in order, paths in order, first full match wins.

use std::ops::Range;

use super::{Route, RouteRequest, Rule, Search};

/// Rules with the ranges of their routes.
#[derive(Debug)]
pub(crate) struct OrderedRouter {
    rules: Vec<(Rule, Range<usize>)>,
}

impl OrderedRouter {
    /// A router over compiled rules.
    pub fn new(rules: Vec<(Rule, Range<usize>)>) -> Self {
        OrderedRouter { rules }
    }

    /// Host → rule IP filter → path (exact, prefix, regexp, or any) → methods → headers →
    /// queries → path IP filter.
    pub fn search(&self, routes: &[Route], req: &RouteRequest<'_>, s: &mut Search<'_>) {
        for (rule, range) in &self.rules {
            if !rule.admits(req, s) {
                continue;
            }
            for i in range.clone() {
                let r = &routes[i];
                if !path_matches(r, req.path) {
                    continue;
                }
                if r.accepts(req, s) {
                    s.route = Some(i);
                    return;
                }
            }
        }
    }
}

/// Any set condition may match; a path with none matches every path.
fn path_matches(r: &Route, path: &str) -> bool {
    if r.exact.is_none() && r.prefix.is_none() && r.regexp.is_none() {
        return true;
    }
    r.exact.as_deref() == Some(path)
        || r.prefix.as_deref().is_some_and(|p| path.starts_with(p))
        || r.regexp.as_ref().is_some_and(|re| re.is_match(path))
}
