//! Asking a short header map about a name.
//!
//! [`HeaderMap::contains_key`], [`HeaderMap::get`] and [`HeaderMap::get_all`] hash the name
//! and probe the map's table: a custom name costs about two hundred instructions, found or
//! not. A request or an answer usually carries a handful of headers, and a standard name
//! compares as one integer, so walking the entries of a map of up to [`SCAN_LIMIT`] names
//! is a fraction of that. [`contains`], [`first`] and [`all`] walk such a map and hash only
//! in a longer one; either way the result is exactly what the map's own method returns.

use http::header::{self, HeaderName, HeaderValue};
use http::HeaderMap;

/// The most distinct names a map may hold for a lookup to walk them rather than hash the
/// name.
pub const SCAN_LIMIT: usize = 8;

/// Whether `headers` has `name`, as [`HeaderMap::contains_key`] says.
pub fn contains(headers: &HeaderMap, name: &HeaderName) -> bool {
    if headers.keys_len() > SCAN_LIMIT {
        return headers.contains_key(name);
    }
    headers.keys().any(|k| k == name)
}

/// The first value of `name` in `headers`, as [`HeaderMap::get`] gives it.
pub fn first<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a HeaderValue> {
    all(headers, name).next()
}

/// Every value of `name` in `headers`, in order, as [`HeaderMap::get_all`] gives them.
pub fn all<'a, 'n>(headers: &'a HeaderMap, name: &'n HeaderName) -> All<'a, 'n> {
    if headers.keys_len() > SCAN_LIMIT {
        return All(Values::Hashed(headers.get_all(name).iter()));
    }
    All(Values::Walk {
        entries: headers.iter(),
        name,
        found: false,
    })
}

/// The values [`all`] finds.
pub struct All<'a, 'n>(Values<'a, 'n>);

enum Values<'a, 'n> {
    /// A short map walked in order. [`HeaderMap::iter`] gives each name's values one after
    /// the other, so the walk ends at the first other name after them.
    Walk {
        entries: header::Iter<'a, HeaderValue>,
        name: &'n HeaderName,
        found: bool,
    },
    /// A long map's values of the name, found by hashing it.
    Hashed(header::ValueIter<'a, HeaderValue>),
}

impl<'a> Iterator for All<'a, '_> {
    type Item = &'a HeaderValue;

    fn next(&mut self) -> Option<&'a HeaderValue> {
        match &mut self.0 {
            Values::Hashed(values) => values.next(),
            Values::Walk {
                entries,
                name,
                found,
            } => {
                for (k, v) in entries.by_ref() {
                    if k == *name {
                        *found = true;
                        return Some(v);
                    }
                    if *found {
                        // Names are distinct: what is left holds no more of `name`.
                        break;
                    }
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{ACCEPT, CONNECTION, CONTENT_TYPE, HOST, SET_COOKIE};

    /// A map of `n` custom names `x-0` .. `x-{n-1}` and two standard ones: `host` first,
    /// `set-cookie` with two values around the middle and one more at the end.
    fn map(n: usize) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.append(HOST, HeaderValue::from_static("a.example"));
        for i in 0..n {
            if i == n / 2 {
                h.append(SET_COOKIE, HeaderValue::from_static("a=1"));
                h.append(SET_COOKIE, HeaderValue::from_static("b=2"));
            }
            let name = HeaderName::from_bytes(format!("x-{i}").as_bytes()).unwrap();
            h.append(name, HeaderValue::from(i as u64));
        }
        h.append(SET_COOKIE, HeaderValue::from_static("c=3"));
        h
    }

    #[test]
    fn short_and_long_maps_answer_as_the_map_does() {
        // Both sides of the limit, and the limit itself.
        for n in [0, 1, 3, SCAN_LIMIT - 2, SCAN_LIMIT - 1, 20] {
            let h = map(n);
            let custom = HeaderName::from_static("x-1");
            let missing = HeaderName::from_static("x-missing");
            for name in [
                HOST,
                SET_COOKIE,
                CONTENT_TYPE,
                ACCEPT,
                CONNECTION,
                custom,
                missing,
            ] {
                assert_eq!(contains(&h, &name), h.contains_key(&name), "{n} {name}");
                assert_eq!(first(&h, &name), h.get(&name), "{n} {name}");
                let walked: Vec<_> = all(&h, &name).collect();
                let hashed: Vec<_> = h.get_all(&name).iter().collect();
                assert_eq!(walked, hashed, "{n} {name}");
            }
        }
        assert_eq!(map(SCAN_LIMIT - 2).keys_len(), SCAN_LIMIT);
        assert_eq!(map(SCAN_LIMIT - 1).keys_len(), SCAN_LIMIT + 1);
    }

    #[test]
    fn every_value_of_a_name_is_found_in_order() {
        let h = map(2);
        let cookies: Vec<_> = all(&h, &SET_COOKIE).map(|v| v.to_str().unwrap()).collect();
        assert_eq!(cookies, ["a=1", "b=2", "c=3"]);
        // A walk past the name's values stays done.
        let mut host = all(&h, &HOST);
        assert_eq!(host.next(), h.get(HOST));
        assert_eq!(host.next(), None);
        assert_eq!(host.next(), None);
    }
}
