//! Reading and writing trace context headers: W3C Trace Context (`traceparent`,
//! `tracestate`) or Zipkin B3 (the single `b3` header is written; the single header and the
//! `X-B3-*` headers are read).

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;

/// The B3 single header.
const B3: &str = "b3";
const B3_TRACE_ID: &str = "x-b3-traceid";
const B3_SPAN_ID: &str = "x-b3-spanid";
const B3_SAMPLED: &str = "x-b3-sampled";
const B3_FLAGS: &str = "x-b3-flags";

/// Which headers carry the trace context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderFormat {
    /// W3C Trace Context.
    TraceContext,
    /// Zipkin B3.
    B3,
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

impl HeaderFormat {
    /// The remote parent in `headers`, if they carry a valid one.
    pub fn extract(self, headers: &HeaderMap) -> Option<SpanContext> {
        let sc = match self {
            HeaderFormat::TraceContext => TraceContextPropagator::new()
                .extract_with_context(&Context::new(), &Headers(headers))
                .span()
                .span_context()
                .clone(),
            HeaderFormat::B3 => extract_b3(headers)?,
        };
        sc.is_valid().then_some(sc)
    }

    /// Writes `sc` into `headers` (replacing headers of the same name). For B3, stale
    /// `X-B3-*` headers of the incoming request are removed so that only one context travels.
    pub fn inject(self, sc: &SpanContext, headers: &mut HeaderMap) {
        if !sc.is_valid() {
            return;
        }
        match self {
            HeaderFormat::TraceContext => {
                // `00-<trace id>-<span id>-<flags>`, written without the generic injector
                // (this runs for every upstream request of a traced server).
                let mut v = [0u8; 55];
                v[..3].copy_from_slice(b"00-");
                hex(&sc.trace_id().to_bytes(), &mut v[3..35]);
                v[35] = b'-';
                hex(&sc.span_id().to_bytes(), &mut v[36..52]);
                v[52] = b'-';
                hex(&[sc.trace_flags().to_u8() & 1], &mut v[53..55]);
                if let Ok(v) = HeaderValue::from_bytes(&v) {
                    headers.insert(TRACEPARENT, v);
                }
                let state = sc.trace_state().header();
                match HeaderValue::from_str(&state) {
                    Ok(v) if !state.is_empty() => {
                        headers.insert(TRACESTATE, v);
                    }
                    _ => {
                        headers.remove(TRACESTATE);
                    }
                }
            }
            HeaderFormat::B3 => {
                for h in [
                    B3_TRACE_ID,
                    B3_SPAN_ID,
                    B3_SAMPLED,
                    B3_FLAGS,
                    "x-b3-parentspanid",
                ] {
                    headers.remove(h);
                }
                let mut v = [0u8; 51];
                hex(&sc.trace_id().to_bytes(), &mut v[..32]);
                v[32] = b'-';
                hex(&sc.span_id().to_bytes(), &mut v[33..49]);
                v[49] = b'-';
                v[50] = if sc.is_sampled() { b'1' } else { b'0' };
                if let Ok(v) = HeaderValue::from_bytes(&v) {
                    headers.insert(B3, v);
                }
            }
        }
    }
}

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// Lower-case hex of `bytes` into `out` (twice as long).
fn hex(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
    }
}

fn trace_id(s: &str) -> Option<TraceId> {
    let id = match s.len() {
        16 => TraceId::from_hex(&format!("{s:0>32}")).ok()?,
        32 => TraceId::from_hex(s).ok()?,
        _ => return None,
    };
    (id != TraceId::INVALID).then_some(id)
}

fn span_id(s: &str) -> Option<SpanId> {
    let id = (s.len() == 16)
        .then(|| SpanId::from_hex(s).ok())
        .flatten()?;
    (id != SpanId::INVALID).then_some(id)
}

fn sampled(s: &str) -> Option<bool> {
    match s {
        "1" | "d" | "true" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    }
}

fn b3_context(trace: TraceId, span: SpanId, sampled: bool) -> SpanContext {
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    SpanContext::new(trace, span, flags, true, TraceState::default())
}

fn extract_b3(h: &HeaderMap) -> Option<SpanContext> {
    let get = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(v) = get(B3) {
        // traceid-spanid[-sampled[-parentspanid]]; a lone sampling state carries no parent.
        let mut parts = v.split('-');
        let t = trace_id(parts.next()?)?;
        let s = span_id(parts.next()?)?;
        let smp = match parts.next() {
            None => false,
            Some(x) => sampled(x)?,
        };
        return Some(b3_context(t, s, smp));
    }
    let t = trace_id(get(B3_TRACE_ID)?)?;
    let s = span_id(get(B3_SPAN_ID)?)?;
    let smp = get(B3_FLAGS) == Some("1") || get(B3_SAMPLED).and_then(sampled).unwrap_or(false);
    Some(b3_context(t, s, smp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    const TID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SID: &str = "00f067aa0ba902b7";

    #[test]
    fn w3c_round_trip() {
        let h = headers(&[("traceparent", &format!("00-{TID}-{SID}-01"))]);
        let sc = HeaderFormat::TraceContext.extract(&h).expect("context");
        assert_eq!(sc.trace_id().to_string(), TID);
        assert!(sc.is_sampled() && sc.is_remote());
        let mut out = HeaderMap::new();
        HeaderFormat::TraceContext.inject(&sc, &mut out);
        assert_eq!(out["traceparent"], format!("00-{TID}-{SID}-01").as_str());
    }

    #[test]
    fn w3c_writes_tracestate_only_when_there_is_one() {
        let h = headers(&[
            ("traceparent", &format!("00-{TID}-{SID}-00")),
            ("tracestate", "a=1,b=2"),
        ]);
        let sc = HeaderFormat::TraceContext.extract(&h).expect("context");
        assert!(!sc.is_sampled());
        let mut out = headers(&[("tracestate", "stale=1")]);
        HeaderFormat::TraceContext.inject(&sc, &mut out);
        assert_eq!(out["traceparent"], format!("00-{TID}-{SID}-00").as_str());
        assert_eq!(out["tracestate"], "a=1,b=2");
        let bare = headers(&[("traceparent", &format!("00-{TID}-{SID}-01"))]);
        let sc = HeaderFormat::TraceContext.extract(&bare).expect("context");
        HeaderFormat::TraceContext.inject(&sc, &mut out);
        assert!(out.get("tracestate").is_none());
    }

    #[test]
    fn w3c_garbage_is_no_parent() {
        for bad in [
            "",
            "00-xyz-abc-01",
            &format!("00-{}-{SID}-01", "0".repeat(32)),
        ] {
            let h = headers(&[("traceparent", bad)]);
            assert!(HeaderFormat::TraceContext.extract(&h).is_none(), "{bad}");
        }
    }

    #[test]
    fn b3_single_and_multi_are_read() {
        let single = headers(&[("b3", &format!("{TID}-{SID}-1"))]);
        let sc = HeaderFormat::B3.extract(&single).expect("single");
        assert!(sc.is_sampled());
        assert_eq!(sc.span_id().to_string(), SID);
        let multi = headers(&[
            ("x-b3-traceid", "a3ce929d0e0e4736"),
            ("x-b3-spanid", SID),
            ("x-b3-sampled", "0"),
        ]);
        let sc = HeaderFormat::B3.extract(&multi).expect("multi");
        assert!(!sc.is_sampled());
        assert_eq!(
            sc.trace_id().to_string(),
            format!("{:0>32}", "a3ce929d0e0e4736")
        );
        assert!(HeaderFormat::B3.extract(&headers(&[("b3", "0")])).is_none());
    }

    #[test]
    fn b3_writes_the_single_header() {
        let sc = b3_context(
            TraceId::from_hex(TID).expect("id"),
            SpanId::from_hex(SID).expect("id"),
            true,
        );
        let mut out = headers(&[("x-b3-traceid", "1111111111111111")]);
        HeaderFormat::B3.inject(&sc, &mut out);
        assert_eq!(out["b3"], format!("{TID}-{SID}-1").as_str());
        assert!(out.get("x-b3-traceid").is_none());
    }
}
