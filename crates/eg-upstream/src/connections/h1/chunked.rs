//! Decoding a chunked body (RFC 9112 §7.1): chunk sizes in hex, extensions ignored,
//! trailers read and dropped, every line bounded.

use bytes::{Buf, Bytes, BytesMut};

use super::H1Error;

/// Longest chunk-size line (size and extensions).
const MAX_SIZE_LINE: usize = 4 * 1024;
/// Most bytes of trailer fields after the last chunk.
const MAX_TRAILERS: usize = 16 * 1024;

/// Where the decoder is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk: bytes left.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer bytes read so far.
    Trailers(usize),
    /// The body ended.
    Done,
}

/// What the buffered bytes gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// Body bytes.
    Data(Bytes),
    /// More bytes must be read first.
    More,
    /// The body ended (its trailers consumed).
    End,
}

/// A chunked-body decoder working on a connection's read buffer.
#[derive(Debug)]
pub(crate) struct ChunkedDecoder {
    state: State,
}

impl ChunkedDecoder {
    pub(crate) fn new() -> ChunkedDecoder {
        ChunkedDecoder { state: State::Size }
    }

    /// Decodes from the front of `buf`, consuming what it used.
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Result<Decoded, H1Error> {
        loop {
            match self.state {
                State::Size => {
                    let Some(line) = take_line(buf, MAX_SIZE_LINE)? else {
                        return Ok(Decoded::More);
                    };
                    let size = chunk_size(&line)?;
                    self.state = if size == 0 {
                        State::Trailers(0)
                    } else {
                        State::Data(size)
                    };
                }
                State::Data(left) => {
                    if buf.is_empty() {
                        return Ok(Decoded::More);
                    }
                    let n = left.min(buf.len() as u64);
                    let data = buf.split_to(n as usize).freeze();
                    self.state = if n == left {
                        State::DataEnd
                    } else {
                        State::Data(left - n)
                    };
                    return Ok(Decoded::Data(data));
                }
                State::DataEnd => {
                    if buf.len() < 2 {
                        return Ok(Decoded::More);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(H1Error::Invalid("chunk not followed by CRLF"));
                    }
                    buf.advance(2);
                    self.state = State::Size;
                }
                State::Trailers(seen) => {
                    let Some(line) = take_line(buf, MAX_TRAILERS.saturating_sub(seen))? else {
                        return Ok(Decoded::More);
                    };
                    self.state = if line.is_empty() {
                        State::Done
                    } else {
                        State::Trailers(seen + line.len() + 2)
                    };
                }
                State::Done => return Ok(Decoded::End),
            }
        }
    }
}

/// Takes one CRLF-ended line (without the CRLF) off `buf`; `None` while it is incomplete.
fn take_line(buf: &mut BytesMut, max: usize) -> Result<Option<Bytes>, H1Error> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(i) if i > max => Err(H1Error::Invalid("chunk line too long")),
        Some(i) => {
            if i == 0 || buf[i - 1] != b'\r' {
                return Err(H1Error::Invalid("chunk line not ended by CRLF"));
            }
            let line = buf.split_to(i + 1).freeze();
            Ok(Some(line.slice(..i - 1)))
        }
        None if buf.len() > max => Err(H1Error::Invalid("chunk line too long")),
        None => Ok(None),
    }
}

/// The size of a chunk-size line: hex digits, then optional whitespace and extensions.
fn chunk_size(line: &[u8]) -> Result<u64, H1Error> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return Err(H1Error::Invalid("chunk size"));
    }
    let rest = line[digits..].trim_ascii_start();
    if !(rest.is_empty() || rest[0] == b';') {
        return Err(H1Error::Invalid("chunk size"));
    }
    let hex = std::str::from_utf8(&line[..digits]).map_err(|_| H1Error::Invalid("chunk size"))?;
    u64::from_str_radix(hex, 16).map_err(|_| H1Error::Invalid("chunk size"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `step` bytes; the body and whether it ended.
    fn decode_in_steps(input: &[u8], step: usize) -> Result<(Vec<u8>, bool, Vec<u8>), H1Error> {
        let mut d = ChunkedDecoder::new();
        let mut buf = BytesMut::new();
        let mut body = Vec::new();
        let mut fed = 0;
        loop {
            match d.decode(&mut buf)? {
                Decoded::Data(b) => body.extend_from_slice(&b),
                Decoded::End => return Ok((body, true, buf.to_vec())),
                Decoded::More if fed >= input.len() => return Ok((body, false, buf.to_vec())),
                Decoded::More => {
                    let end = (fed + step).min(input.len());
                    buf.extend_from_slice(&input[fed..end]);
                    fed = end;
                }
            }
        }
    }

    #[test]
    fn chunks_extensions_and_trailers() {
        let input = b"5;name=value\r\nhello\r\n1A \r\n abcdefghijklmnopqrstuvwxy\r\n0\r\nX-Sum: 1\r\nX-B: 2\r\n\r\nNEXT";
        for step in [1, 2, 3, 7, input.len()] {
            let (body, ended, rest) = decode_in_steps(input, step).unwrap();
            assert_eq!(body, b"hello abcdefghijklmnopqrstuvwxy", "step {step}");
            assert!(ended);
            // What follows the body is left for the connection's next use.
            assert!(b"NEXT".starts_with(&rest), "step {step}");
        }
    }

    #[test]
    fn an_unfinished_body_asks_for_more() {
        let (body, ended, _) = decode_in_steps(b"5\r\nhel", 2).unwrap();
        assert_eq!((body.as_slice(), ended), (&b"hel"[..], false));
    }

    #[test]
    fn bad_framing_is_refused() {
        for bad in [
            &b"x\r\n"[..],
            b"\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"12345678901234567\r\n",
            b"5 x\r\nhello\r\n",
        ] {
            assert!(
                decode_in_steps(bad, 1).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let long_line = [b"5;".as_slice(), &[b'a'; MAX_SIZE_LINE]].concat();
        assert!(decode_in_steps(&long_line, 1024).is_err());
        let trailers = [
            b"0\r\n".as_slice(),
            &b"x-t: 1\r\n".repeat(MAX_TRAILERS / 8 + 1),
        ]
        .concat();
        assert!(decode_in_steps(&trailers, 4096).is_err());
    }
}
