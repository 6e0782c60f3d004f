//! Where the pieces of a parsed HTTP/1 head sit in its buffer.
//!
//! A parser's slices borrow the buffer the head was read into, while the `http` types want
//! views of the head once it is split off that buffer and frozen. [`Span`]s are the
//! bridge: offsets noted while the slices live, turned back into ranges of the frozen head.
//! [`HeaderSpans`] keeps those of a head's headers inline up to [`INLINE_HEADERS`] without
//! initialising the room it does not use (a zeroed array of them was written on every
//! head, a few hundred bytes each time).

use std::ops::Range;

use smallvec::SmallVec;

/// Heads with up to this many headers keep their spans without an allocation.
pub const INLINE_HEADERS: usize = 32;

/// The start and end offsets of a piece of a head. Heads are bounded far below 4 GiB
/// (a few hundred KiB at most), so 32 bits hold them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    start: u32,
    end: u32,
}

impl Span {
    /// The span of `piece`, a slice of `head` (heads are far below 4 GiB).
    ///
    /// A piece from elsewhere is a caller's bug, never a property of the bytes received:
    /// debug builds panic on it; in a release build its span is meaningless (slicing the
    /// head with it panics or yields other bytes of the head). This runs for every header
    /// of every head, so it costs two subtractions, not checked conversions.
    #[inline]
    pub fn of(head: &[u8], piece: &[u8]) -> Span {
        let start = (piece.as_ptr() as usize).wrapping_sub(head.as_ptr() as usize);
        debug_assert!(
            start <= head.len() && piece.len() <= head.len() - start,
            "a span's piece lies within its head"
        );
        Span {
            start: start as u32,
            end: (start + piece.len()) as u32,
        }
    }

    /// The piece's range in the head (or in the head once split off its buffer, which
    /// keeps its start).
    #[inline]
    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// The name and value spans of each header of a head, in order.
#[derive(Debug, Default)]
pub struct HeaderSpans(SmallVec<[(Span, Span); INLINE_HEADERS]>);

impl HeaderSpans {
    /// No spans yet. Made where it is kept, then filled ([`HeaderSpans::note`]): moving a
    /// value of this type copies its whole inline room.
    #[inline]
    pub fn new() -> HeaderSpans {
        HeaderSpans(SmallVec::new())
    }

    /// Notes the spans of `headers`' names and values, all slices of `head`.
    #[inline]
    pub fn note<'a>(
        &mut self,
        head: &[u8],
        headers: impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])>,
    ) {
        // An exact-size iterator: `extend` reserves once and writes without a check per
        // element.
        self.0
            .extend(headers.map(|(name, value)| (Span::of(head, name), Span::of(head, value))));
    }

    /// How many headers there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the head has no header.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each header's name and value ranges, in order.
    pub fn iter(&self) -> impl Iterator<Item = (Range<usize>, Range<usize>)> + '_ {
        self.0.iter().map(|(n, v)| (n.range(), v.range()))
    }

    /// Whether the spans live in the value itself (no allocation was made).
    pub fn inline(&self) -> bool {
        !self.0.spilled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_give_back_the_pieces() {
        let head = b"GET /a HTTP/1.1\r\nHost: x\r\nX-Long: abc\r\n\r\n";
        let at = |s: &str| {
            let i = head
                .windows(s.len())
                .position(|w| w == s.as_bytes())
                .unwrap();
            &head[i..i + s.len()]
        };
        let target = Span::of(head, at("/a"));
        assert_eq!(&head[target.range()], b"/a");
        let mut spans = HeaderSpans::new();
        spans.note(
            head,
            [(at("Host"), at("x")), (at("X-Long"), at("abc"))].into_iter(),
        );
        assert_eq!(spans.len(), 2);
        let got: Vec<(&[u8], &[u8])> = spans.iter().map(|(n, v)| (&head[n], &head[v])).collect();
        assert_eq!(
            got,
            [(&b"Host"[..], &b"x"[..]), (&b"X-Long"[..], &b"abc"[..])]
        );
        // An empty value is an empty range at its place.
        let empty = Span::of(head, &head[5..5]);
        assert_eq!(empty.range(), 5..5);
    }

    #[test]
    fn many_headers_spill_and_keep_their_order() {
        let head: Vec<u8> = (0..100u8).collect();
        let pieces: Vec<(&[u8], &[u8])> = (0..INLINE_HEADERS + 5)
            .map(|i| (&head[i..i + 1], &head[i + 1..i + 3]))
            .collect();
        let mut few = HeaderSpans::new();
        few.note(&head, pieces[..INLINE_HEADERS].iter().copied());
        assert!(few.inline());
        let mut spans = HeaderSpans::new();
        spans.note(&head, pieces.iter().copied());
        assert!(!spans.inline());
        assert_eq!(spans.len(), INLINE_HEADERS + 5);
        for (i, (n, v)) in spans.iter().enumerate() {
            assert_eq!((n, v), (i..i + 1, i + 1..i + 3));
        }
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "within its head")]
    fn a_piece_outside_the_head_is_a_bug() {
        let a = b"abc".to_vec();
        let b = b"def".to_vec();
        Span::of(&a, &b[..]);
    }
}
