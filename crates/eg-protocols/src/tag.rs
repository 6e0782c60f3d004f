//! Access-log tags: text known at once, or a value formatted only when the log line is
//! written.

use std::borrow::Cow;
use std::fmt;

/// A tag whose text is produced only when someone reads it (the access log).
///
/// The pipeline records per-filter stats as plain numbers and hands them over as a lazy tag,
/// so requests whose log line is never written never pay for the formatting.
pub trait LazyTag: Send + Sync + 'static {
    /// Appends the tag's text to `out`.
    fn write_to(&self, out: &mut String);

    /// Appends the tag's text to the bytes of a line being built (the access log's). By
    /// default through [`LazyTag::write_to`] and a scratch string; a tag written on every
    /// request writes its bytes itself.
    fn write_bytes(&self, out: &mut Vec<u8>) {
        let mut text = String::new();
        self.write_to(&mut text);
        out.extend_from_slice(text.as_bytes());
    }
}

/// An access-log tag (`pipeline(demo): proxy(200,1ms)`, `proxy#main#duration: 3ms`, ...).
///
/// Build one from a `&'static str`, a `String` or a `Cow<'static, str>` (`tag.into()`), or
/// from a [`LazyTag`] with [`Tag::lazy`]. [`fmt::Display`] renders either kind.
pub enum Tag {
    /// Text known when the tag was added.
    Text(Cow<'static, str>),
    /// Text formatted on demand.
    Lazy(Box<dyn LazyTag>),
}

impl Tag {
    /// A tag formatted on demand.
    pub fn lazy(tag: impl LazyTag) -> Tag {
        Tag::Lazy(Box::new(tag))
    }

    /// Appends the tag's text to `out` (lazy tags format straight into it).
    pub fn write_to(&self, out: &mut String) {
        match self {
            Tag::Text(t) => out.push_str(t),
            Tag::Lazy(l) => l.write_to(out),
        }
    }

    /// Appends the tag's text to the bytes of a line being built.
    pub fn write_bytes(&self, out: &mut Vec<u8>) {
        match self {
            Tag::Text(t) => out.extend_from_slice(t.as_bytes()),
            Tag::Lazy(l) => l.write_bytes(out),
        }
    }

    /// The tag's text (borrowed for text tags, formatted now for lazy ones).
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Tag::Text(t) => Cow::Borrowed(t.as_ref()),
            Tag::Lazy(l) => {
                let mut s = String::new();
                l.write_to(&mut s);
                Cow::Owned(s)
            }
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text())
    }
}

impl From<&'static str> for Tag {
    fn from(s: &'static str) -> Tag {
        Tag::Text(Cow::Borrowed(s))
    }
}

impl From<String> for Tag {
    fn from(s: String) -> Tag {
        Tag::Text(Cow::Owned(s))
    }
}

impl From<Cow<'static, str>> for Tag {
    fn from(s: Cow<'static, str>) -> Tag {
        Tag::Text(s)
    }
}

impl PartialEq<&str> for Tag {
    fn eq(&self, other: &&str) -> bool {
        self.text() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counted(u32);

    impl LazyTag for Counted {
        fn write_to(&self, out: &mut String) {
            out.push_str(&format!("n={}", self.0));
        }
    }

    #[test]
    fn text_and_lazy_tags_render() {
        let t: Tag = "a: b".into();
        assert_eq!(t.to_string(), "a: b");
        let t: Tag = String::from("x").into();
        assert!(t == "x");
        let t = Tag::lazy(Counted(3));
        assert_eq!(t.to_string(), "n=3");
        assert_eq!(format!("{t:?}"), "\"n=3\"");
        // As bytes, through the default that formats the text.
        let mut line = b">".to_vec();
        t.write_bytes(&mut line);
        Tag::from("µ").write_bytes(&mut line);
        assert_eq!(line, ">n=3µ".as_bytes());
    }
}
