//! The `Ordered` router: rules in order, paths in order, first full match wins.
//!
//! Within a rule, paths whose only path condition is an exact `path` are also indexed by
//! that path, so a request looks only at the exact paths equal to its own and at the paths
//! with other conditions (prefix, regexp, several, or none), still in spec order: the
//! answer is the one a scan of every path gives, but a rule of thousands of exact paths
//! costs one hash lookup instead of thousands of comparisons.

use std::collections::HashMap;
use std::iter::Peekable;
use std::ops::Range;
use std::slice::Iter;

use super::{Route, RouteRequest, Rule, Search};

/// A rule's routes, split for the search.
#[derive(Debug)]
struct IndexedRule {
    rule: Rule,
    /// Routes whose only path condition is an exact path, by that path; indexes ascending.
    exact: HashMap<String, Vec<usize>>,
    /// Every other route of the rule, indexes ascending.
    scanned: Vec<usize>,
}

/// Rules with their routes, indexed by exact path.
#[derive(Debug)]
pub(crate) struct OrderedRouter {
    rules: Vec<IndexedRule>,
}

impl OrderedRouter {
    /// A router over compiled rules; `routes` are the routes their ranges refer to.
    pub fn new(rules: Vec<(Rule, Range<usize>)>, routes: &[Route]) -> Self {
        let rules = rules
            .into_iter()
            .map(|(rule, range)| {
                let mut exact: HashMap<String, Vec<usize>> = HashMap::new();
                let mut scanned = Vec::new();
                for i in range {
                    let r = &routes[i];
                    match (&r.exact, &r.prefix, &r.regexp) {
                        (Some(path), None, None) => exact.entry(path.clone()).or_default().push(i),
                        _ => scanned.push(i),
                    }
                }
                IndexedRule {
                    rule,
                    exact,
                    scanned,
                }
            })
            .collect();
        OrderedRouter { rules }
    }

    /// Host → rule IP filter → path (exact, prefix, regexp, or any) → methods → headers →
    /// queries → path IP filter.
    pub fn search(&self, routes: &[Route], req: &RouteRequest<'_>, s: &mut Search<'_>) {
        for ir in &self.rules {
            if !ir.rule.admits(req, s) {
                continue;
            }
            let exact = ir.exact.get(req.path).map_or(&[][..], Vec::as_slice);
            for i in InOrder::new(exact, &ir.scanned) {
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

/// The union of two ascending index lists, ascending.
struct InOrder<'a> {
    a: Peekable<Iter<'a, usize>>,
    b: Peekable<Iter<'a, usize>>,
}

impl<'a> InOrder<'a> {
    fn new(a: &'a [usize], b: &'a [usize]) -> Self {
        InOrder {
            a: a.iter().peekable(),
            b: b.iter().peekable(),
        }
    }
}

impl Iterator for InOrder<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match (self.a.peek(), self.b.peek()) {
            (Some(&&x), Some(&&y)) if x < y => self.a.next().copied(),
            (_, Some(_)) => self.b.next().copied(),
            (Some(_), None) => self.a.next().copied(),
            (None, None) => None,
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

#[cfg(test)]
mod tests {
    use super::InOrder;

    #[test]
    fn in_order_merges_ascending_lists() {
        let merged: Vec<usize> = InOrder::new(&[1, 4, 9], &[0, 2, 3, 10]).collect();
        assert_eq!(merged, [0, 1, 2, 3, 4, 9, 10]);
        assert_eq!(InOrder::new(&[], &[5]).collect::<Vec<_>>(), [5]);
        assert_eq!(InOrder::new(&[5], &[]).collect::<Vec<_>>(), [5]);
        assert_eq!(InOrder::new(&[], &[]).count(), 0);
    }
}
