//! WebSocket frame headers (RFC 6455 §5.2): parsing them, checking the sequence of frames
//! of one direction, and encoding the close frames the proxy sends itself.
//!
//! Payloads are never decoded here: the relay passes them on as they are.

/// Continuation frame.
pub const OP_CONTINUATION: u8 = 0x0;
/// Text frame.
pub const OP_TEXT: u8 = 0x1;
/// Binary frame.
pub const OP_BINARY: u8 = 0x2;
/// Close frame.
pub const OP_CLOSE: u8 = 0x8;
/// Ping frame.
pub const OP_PING: u8 = 0x9;
/// Pong frame.
pub const OP_PONG: u8 = 0xA;

/// The largest payload of a control frame (§5.5).
pub const MAX_CONTROL_PAYLOAD: u64 = 125;
/// The longest frame header: 2 bytes, a 64-bit length and a mask key.
pub const MAX_HEADER_LEN: usize = 14;

const FIN_BIT: u8 = 0x80;
const RSV_BITS: u8 = 0x70;
const OPCODE_BITS: u8 = 0x0F;
const MASK_BIT: u8 = 0x80;
const LEN_BITS: u8 = 0x7F;
/// The 7-bit length saying a 16-bit length follows.
const LEN_16: u8 = 126;
/// The 7-bit length saying a 64-bit length follows.
const LEN_64: u8 = 127;
const MASK_KEY_LEN: usize = 4;
/// The largest payload length: the most significant bit of a 64-bit length must be 0.
const MAX_PAYLOAD_LEN: u64 = i64::MAX as u64;

/// One parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Last frame of its message.
    pub fin: bool,
    /// The three reserved bits (nonzero only with an extension, and none is negotiated).
    pub rsv: u8,
    /// The opcode.
    pub opcode: u8,
    /// Whether the payload is masked.
    pub masked: bool,
    /// The payload length.
    pub len: u64,
    /// The length of the header itself (mask key included).
    pub header_len: usize,
}

impl Header {
    /// Whether this is a control frame (close, ping, pong or a reserved control opcode).
    pub fn is_control(&self) -> bool {
        self.opcode & 0x8 != 0
    }
}

/// Parses the frame header at the start of `buf`; `None` while it is incomplete.
pub fn parse(buf: &[u8]) -> Option<Header> {
    let (&b0, rest) = buf.split_first()?;
    let &b1 = rest.first()?;
    let masked = b1 & MASK_BIT != 0;
    let (len, len_bytes) = match b1 & LEN_BITS {
        LEN_16 => (
            u64::from(u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?)),
            2,
        ),
        LEN_64 => (u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?), 8),
        n => (u64::from(n), 0),
    };
    let header_len = 2 + len_bytes + if masked { MASK_KEY_LEN } else { 0 };
    if buf.len() < header_len {
        return None;
    }
    Some(Header {
        fin: b0 & FIN_BIT != 0,
        rsv: b0 & RSV_BITS,
        opcode: b0 & OPCODE_BITS,
        masked,
        len,
        header_len,
    })
}

/// What a direction's frames must obey.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// The largest message (the sum of its frames' payloads); `None`: no limit.
    pub max_message: Option<u64>,
    /// Whether frames must be masked (`Some(true)`: from a client), unmasked
    /// (`Some(false)`: from a server), or either (`None`).
    pub masked: Option<bool>,
}

/// Why a frame cannot be passed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The message it belongs to grows past the limit (close code 1009).
    TooBig,
    /// It breaks the protocol (close code 1002).
    Protocol,
}

/// What a checked frame is, for the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A frame of a text or binary message; `last` when it ends the message.
    Data {
        /// Whether the frame ends its message.
        last: bool,
    },
    /// A ping or a pong.
    PingPong,
    /// A close frame.
    Close,
}

/// The state of one direction's frame sequence: whether a fragmented message is under way
/// and how large it is so far.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sequence {
    fragmented: bool,
    size: u64,
}

impl Sequence {
    /// Checks the next frame of the direction against `rules` and the frames before it.
    pub fn accept(&mut self, h: &Header, rules: Rules) -> Result<Kind, Refusal> {
        if h.rsv != 0 || h.len > MAX_PAYLOAD_LEN || rules.masked.is_some_and(|m| m != h.masked) {
            return Err(Refusal::Protocol);
        }
        if h.is_control() {
            // §5.5: not fragmented, at most 125 bytes; a close body is empty or has a code.
            if !h.fin || h.len > MAX_CONTROL_PAYLOAD {
                return Err(Refusal::Protocol);
            }
            return match h.opcode {
                OP_PING | OP_PONG => Ok(Kind::PingPong),
                OP_CLOSE if h.len != 1 => Ok(Kind::Close),
                _ => Err(Refusal::Protocol),
            };
        }
        let starts = match h.opcode {
            OP_CONTINUATION if self.fragmented => false,
            OP_TEXT | OP_BINARY if !self.fragmented => true,
            _ => return Err(Refusal::Protocol),
        };
        let size = if starts {
            h.len
        } else {
            self.size.saturating_add(h.len)
        };
        if rules.max_message.is_some_and(|max| size > max) {
            return Err(Refusal::TooBig);
        }
        self.fragmented = !h.fin;
        self.size = if h.fin { 0 } else { size };
        Ok(Kind::Data { last: h.fin })
    }
}

/// Encodes a close frame with `code` and `reason` (cut to fit a control frame), masked with
/// `mask` when given (frames a client sends must be masked).
pub fn close_frame(code: u16, reason: &str, mask: Option<[u8; 4]>) -> Vec<u8> {
    let reason = &reason.as_bytes()[..reason.len().min(MAX_CONTROL_PAYLOAD as usize - 2)];
    let len = 2 + reason.len();
    let mut out = Vec::with_capacity(2 + MASK_KEY_LEN + len);
    out.push(FIN_BIT | OP_CLOSE);
    // `len` is at most 125, so it fits the 7-bit length.
    out.push(if mask.is_some() { MASK_BIT } else { 0 } | len as u8);
    let body_at = out.len() + mask.map_or(0, |_| MASK_KEY_LEN);
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(reason);
    if let Some(key) = mask {
        for (i, b) in out[body_at..].iter_mut().enumerate() {
            *b ^= key[i % MASK_KEY_LEN];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FREE: Rules = Rules {
        max_message: None,
        masked: None,
    };

    #[test]
    fn headers_of_each_length_form_parse() {
        assert_eq!(parse(&[0x81]), None);
        let h = parse(&[0x81, 0x05]).unwrap();
        assert!(h.fin && !h.masked);
        assert_eq!((h.opcode, h.len, h.header_len), (OP_TEXT, 5, 2));
        assert_eq!(parse(&[0x82, 0xFE, 0x01]), None);
        let h = parse(&[0x82, 0xFE, 0x01, 0x00, 1, 2, 3, 4]).unwrap();
        assert!(h.masked);
        assert_eq!((h.len, h.header_len), (256, 8));
        let mut long = vec![0x02, 0x7F, 0, 0, 0, 1, 0, 0, 0, 0];
        assert_eq!(parse(&long).unwrap().len, 1 << 32);
        assert!(!parse(&long).unwrap().fin);
        long.truncate(9);
        assert_eq!(parse(&long), None);
    }

    #[test]
    fn the_sequence_is_checked() {
        let h = |b0: u8, len: u64| Header {
            fin: b0 & FIN_BIT != 0,
            rsv: b0 & RSV_BITS,
            opcode: b0 & OPCODE_BITS,
            masked: false,
            len,
            header_len: 2,
        };
        let mut s = Sequence::default();
        assert_eq!(s.accept(&h(0x00, 1), FREE), Err(Refusal::Protocol));
        assert_eq!(s.accept(&h(0x01, 4), FREE), Ok(Kind::Data { last: false }));
        assert_eq!(s.accept(&h(0x89, 1), FREE), Ok(Kind::PingPong));
        assert_eq!(s.accept(&h(0x02, 1), FREE), Err(Refusal::Protocol));
        let limited = Rules {
            max_message: Some(8),
            masked: Some(false),
        };
        assert_eq!(
            s.accept(&h(0x00, 4), limited),
            Ok(Kind::Data { last: false })
        );
        assert_eq!(s.accept(&h(0x80, 1), limited), Err(Refusal::TooBig));
        assert_eq!(
            s.accept(&h(0x80, 0), limited),
            Ok(Kind::Data { last: true })
        );
        assert_eq!(s.accept(&h(0x82, 9), limited), Err(Refusal::TooBig));
        assert_eq!(s.accept(&h(0xC2, 1), FREE), Err(Refusal::Protocol));
        assert_eq!(s.accept(&h(0x09, 1), FREE), Err(Refusal::Protocol));
        assert_eq!(s.accept(&h(0x89, 126), FREE), Err(Refusal::Protocol));
        assert_eq!(s.accept(&h(0x88, 1), FREE), Err(Refusal::Protocol));
        assert_eq!(s.accept(&h(0x83, 1), FREE), Err(Refusal::Protocol));
        let masked = Rules {
            max_message: None,
            masked: Some(true),
        };
        assert_eq!(s.accept(&h(0x81, 1), masked), Err(Refusal::Protocol));
    }

    #[test]
    fn close_frames_are_encoded_masked_or_not() {
        assert_eq!(close_frame(1009, "", None), vec![0x88, 2, 0x03, 0xF1]);
        let f = close_frame(1001, "a", Some([1, 2, 3, 4]));
        assert_eq!(
            f,
            vec![0x88, 0x83, 1, 2, 3, 4, 0x03 ^ 1, 0xE9 ^ 2, b'a' ^ 3]
        );
        let h = parse(&f).unwrap();
        assert_eq!((h.opcode, h.len, h.masked), (OP_CLOSE, 3, true));
    }
}
