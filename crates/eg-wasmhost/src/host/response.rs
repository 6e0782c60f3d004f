//! `host_resp_*`: the response of the namespace the filter works on (created with status
//! 200 before the run when the namespace held none, as Easegress does).

use eg_protocols::HttpResponse;
use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, SET_COOKIE, TRANSFER_ENCODING};
use http::StatusCode;
use wasmtime::{Caller, Linker, Result};

use crate::abi::{call, fail, MODULE};
use crate::headers;
use crate::memio::{read_bytes, read_string, write_bytes, write_string};
use crate::state::HostState;

type C<'a> = Caller<'a, HostState>;

fn response<'a>(c: &'a mut C<'_>) -> Result<&'a mut HttpResponse> {
    Ok(&mut call(c)?.response)
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
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(n.as_bytes()),
                HeaderValue::from_str(&v),
            ) {
                set(&mut response(&mut c)?.headers, n, v);
            }
            Ok(())
        },
    )?;
    Ok(())
}

/// Defines the `host_resp_*` functions.
pub fn define(l: &mut Linker<HostState>) -> Result<()> {
    l.func_wrap(
        MODULE,
        "host_resp_get_status_code",
        |mut c: C<'_>| -> Result<i32> { Ok(i32::from(response(&mut c)?.status.as_u16())) },
    )?;
    l.func_wrap(
        MODULE,
        "host_resp_set_status_code",
        |mut c: C<'_>, code: i32| -> Result<()> {
            let status = u16::try_from(code)
                .ok()
                .filter(|c| (100..=599).contains(c))
                .and_then(|c| StatusCode::from_u16(c).ok())
                .ok_or_else(|| fail(format!("invalid status code {code}")))?;
            response(&mut c)?.status = status;
            Ok(())
        },
    )?;
    l.func_wrap(
        MODULE,
        "host_resp_get_header",
        |mut c: C<'_>, addr: i32| -> Result<i32> {
            let name = read_string(&c, addr)?;
            let v = response(&mut c)?
                .headers
                .get(name.as_str())
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
            write_string(&mut c, &v)
        },
    )?;
    l.func_wrap(
        MODULE,
        "host_resp_get_all_header",
        |mut c: C<'_>| -> Result<i32> {
            let text = headers::format(&response(&mut c)?.headers, None);
            write_string(&mut c, &text)
        },
    )?;
    header_setter(l, "host_resp_set_header", |h, n, v| {
        h.insert(n, v);
    })?;
    header_setter(l, "host_resp_add_header", |h, n, v| {
        h.append(n, v);
    })?;
    l.func_wrap(
        MODULE,
        "host_resp_set_all_header",
        |mut c: C<'_>, addr: i32| -> Result<()> {
            let text = read_string(&c, addr)?;
            response(&mut c)?.headers = headers::parse(&text);
            Ok(())
        },
    )?;
    l.func_wrap(
        MODULE,
        "host_resp_del_header",
        |mut c: C<'_>, addr: i32| -> Result<()> {
            let name = read_string(&c, addr)?;
            response(&mut c)?.headers.remove(name.as_str());
            Ok(())
        },
    )?;
    l.func_wrap(
        MODULE,
        "host_resp_set_cookie",
        |mut c: C<'_>, addr: i32| -> Result<()> {
            let text = read_string(&c, addr)?;
            if let Ok(v) = HeaderValue::from_str(text.trim()) {
                response(&mut c)?.headers.append(SET_COOKIE, v);
            }
            Ok(())
        },
    )?;
    l.func_wrap(
        MODULE,
        "host_resp_get_body",
        |mut c: C<'_>| -> Result<i32> {
            let r = response(&mut c)?;
            if !r.body.is_buffered() {
                return Err(fail("the response body is not buffered"));
            }
            let body = r.body.bytes().cloned().unwrap_or_default();
            write_bytes(&mut c, &body)
        },
    )?;
    l.func_wrap(
        MODULE,
        "host_resp_set_body",
        |mut c: C<'_>, addr: i32| -> Result<()> {
            let body = read_bytes(&c, addr)?;
            let r = response(&mut c)?;
            r.headers.remove(TRANSFER_ENCODING);
            r.headers
                .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
            r.body = eg_protocols::Body::full(body);
            Ok(())
        },
    )?;
    Ok(())
}
