//! `host_req_*`: the request of the namespace the filter works on.
//!
//! Getters read the request as it is now (Easegress reads its input request, which is the
//! same message here); setters change it for the filters that follow.

use eg_protocols::escape::decode_path;
use eg_protocols::HttpRequest;
use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::Method;
use wasmtime::{Caller, Linker, Result};

use crate::abi::{call, fail, request, MODULE};
use crate::headers;
use crate::memio::{read_bytes, read_string, write_bytes, write_string, write_strings};
use crate::state::HostState;

type C<'a> = Caller<'a, HostState>;

/// A getter returning a string computed from the request.
fn getter(l: &mut Linker<HostState>, name: &str, get: fn(&HttpRequest) -> String) -> Result<()> {
    l.func_wrap(MODULE, name, move |mut c: C<'_>| -> Result<i32> {
        let v = get(request(&mut c)?);
        write_string(&mut c, &v)
    })?;
    Ok(())
}

/// A setter taking one string.
fn setter(
    l: &mut Linker<HostState>,
    name: &str,
    set: fn(&mut HttpRequest, String) -> Result<()>,
) -> Result<()> {
    l.func_wrap(MODULE, name, move |mut c: C<'_>, addr: i32| -> Result<()> {
        let v = read_string(&c, addr)?;
        set(request(&mut c)?, v)
    })?;
    Ok(())
}

/// A header setter taking a name and a value.
fn header_setter(
    l: &mut Linker<HostState>,
    name: &str,
    set: fn(&mut http::HeaderMap, HeaderName, HeaderValue),
) -> Result<()> {
    l.func_wrap(
        MODULE,
        name,
        move |mut c: C<'_>, n: i32, v: i32| -> Result<()> {
            let (n, v) = (read_string(&c, n)?, read_string(&c, v)?);
            // Names or values HTTP cannot carry are dropped, not sent.
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(n.as_bytes()),
                HeaderValue::from_str(&v),
            ) {
                set(request(&mut c)?.headers_mut(), n, v);
            }
            Ok(())
        },
    )?;
    Ok(())
}

fn set_path_query(r: &mut HttpRequest, path: &str, query: &str) -> Result<()> {
    let pq = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    };
    r.set_path_and_query(&pq)
        .map_err(|e| fail(format!("invalid path or query {pq:?}: {e}")))
}

/// Escapes what a path may not carry as is (Go's `url.URL.EscapedPath` for a set `Path`).
fn escape_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Defines the `host_req_*` functions.
pub fn define(l: &mut Linker<HostState>) -> Result<()> {
    l.func_wrap(
        MODULE,
        "host_req_get_real_ip",
        |mut c: C<'_>| -> Result<i32> {
            let ip = call(&mut c)?.real_ip.to_string();
            write_string(&mut c, &ip)
        },
    )?;
    getter(l, "host_req_get_scheme", |r| {
        if r.over_tls() { "https" } else { "http" }.to_string()
    })?;
    getter(l, "host_req_get_proto", |r| format!("{:?}", r.version()))?;
    getter(l, "host_req_get_method", |r| r.method().to_string())?;
    setter(l, "host_req_set_method", |r, v| {
        r.head.method =
            Method::from_bytes(v.as_bytes()).map_err(|_| fail(format!("invalid method {v:?}")))?;
        Ok(())
    })?;
    getter(l, "host_req_get_host", |r| r.host_with_port().to_string())?;
    setter(l, "host_req_set_host", |r, v| {
        let v = HeaderValue::from_str(&v).map_err(|_| fail(format!("invalid host {v:?}")))?;
        r.headers_mut().insert(HOST, v);
        Ok(())
    })?;
    getter(l, "host_req_get_path", |r| {
        decode_path(r.path()).into_owned()
    })?;
    setter(l, "host_req_set_path", |r, v| {
        let q = r.query().to_string();
        set_path_query(r, &escape_path(&v), &q)
    })?;
    getter(l, "host_req_get_escaped_path", |r| r.path().to_string())?;
    getter(l, "host_req_get_query", |r| r.query().to_string())?;
    setter(l, "host_req_set_query", |r, v| {
        let p = r.path().to_string();
        set_path_query(r, &p, &v)
    })?;
    // Clients do not send fragments; Easegress answers what the URL holds, always empty.
    getter(l, "host_req_get_fragment", |_| String::new())?;
    l.func_wrap(
        MODULE,
        "host_req_get_header",
        |mut c: C<'_>, addr: i32| -> Result<i32> {
            let name = read_string(&c, addr)?;
            let v = request(&mut c)?
                .headers()
                .get(name.as_str())
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
            write_string(&mut c, &v)
        },
    )?;
    getter(l, "host_req_get_all_header", |r| {
        headers::format(r.headers(), Some(&HOST))
    })?;
    header_setter(l, "host_req_set_header", |h, n, v| {
        h.insert(n, v);
    })?;
    header_setter(l, "host_req_add_header", |h, n, v| {
        h.append(n, v);
    })?;
    setter(l, "host_req_set_all_header", |r, v| {
        let host = r.headers().get(HOST).cloned();
        let mut h = headers::parse(&v);
        h.remove(HOST);
        if let Some(host) = host {
            h.insert(HOST, host);
        }
        *r.headers_mut() = h;
        Ok(())
    })?;
    setter(l, "host_req_del_header", |r, v| {
        r.headers_mut().remove(v.as_str());
        Ok(())
    })?;
    l.func_wrap(
        MODULE,
        "host_req_get_cookie",
        |mut c: C<'_>, addr: i32| -> Result<i32> {
            let name = read_string(&c, addr)?;
            let v = headers::cookie(request(&mut c)?.headers(), &name);
            write_string(&mut c, &v)
        },
    )?;
    l.func_wrap(
        MODULE,
        "host_req_get_all_cookie",
        |mut c: C<'_>| -> Result<i32> {
            let all = headers::cookies(request(&mut c)?.headers());
            write_strings(&mut c, &all)
        },
    )?;
    setter(l, "host_req_add_cookie", |r, v| {
        headers::add_cookies(r.headers_mut(), &v);
        Ok(())
    })?;
    l.func_wrap(MODULE, "host_req_get_body", |mut c: C<'_>| -> Result<i32> {
        let r = request(&mut c)?;
        if !r.body.is_buffered() {
            return Err(fail("the request body is not buffered"));
        }
        let body = r.body.bytes().cloned().unwrap_or_default();
        write_bytes(&mut c, &body)
    })?;
    l.func_wrap(
        MODULE,
        "host_req_set_body",
        |mut c: C<'_>, addr: i32| -> Result<()> {
            let body = read_bytes(&c, addr)?;
            let r = request(&mut c)?;
            r.headers_mut().remove(TRANSFER_ENCODING);
            r.headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
            r.body = eg_protocols::Body::full(body);
            Ok(())
        },
    )?;
    Ok(())
}
