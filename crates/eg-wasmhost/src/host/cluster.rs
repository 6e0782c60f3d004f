//! `host_cluster_*`: the filter's shared data (see [`crate::shared`]). Values are stored
//! as text: binaries in standard base64, integers and floats in decimal. A store error
//! traps the run (`wasmError`), as Easegress fails the run on a cluster error.

use base64::Engine as _;
use wasmtime::{Caller, Linker, Result};

use crate::abi::{fail, MODULE};
use crate::memio::{read_bytes, read_string, write_bytes, write_string};
use crate::state::HostState;

type C<'a> = Caller<'a, HostState>;

fn get(c: &C<'_>, addr: i32) -> Result<Option<String>> {
    let key = read_string(c, addr)?;
    c.data()
        .shared
        .get(&key)
        .map_err(|e| fail(format!("shared data {key}: {e}")))
}

fn put(c: &C<'_>, key: &str, value: String) -> Result<()> {
    c.data()
        .shared
        .put(key, value)
        .map_err(|e| fail(format!("shared data {key}: {e}")))
}

fn parse_int(s: Option<&str>) -> i64 {
    s.and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

fn parse_float(s: Option<&str>) -> f64 {
    s.and_then(|s| s.trim().parse().ok()).unwrap_or(0.0)
}

/// Defines the `host_cluster_*` functions.
pub fn define(l: &mut Linker<HostState>) -> Result<()> {
    l.func_wrap(
        MODULE,
        "host_cluster_get_binary",
        |mut c: C<'_>, addr: i32| -> Result<i32> {
            let v = get(&c, addr)?
                .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
                .unwrap_or_default();
            write_bytes(&mut c, &v)
        },
    )?;
    l.func_wrap(
        MODULE,
        "host_cluster_put_binary",
        |c: C<'_>, k: i32, v: i32| -> Result<()> {
            let key = read_string(&c, k)?;
            let v = base64::engine::general_purpose::STANDARD.encode(read_bytes(&c, v)?);
            put(&c, &key, v)
        },
    )?;
    l.func_wrap(
        MODULE,
        "host_cluster_get_string",
        |mut c: C<'_>, addr: i32| -> Result<i32> {
            let v = get(&c, addr)?.unwrap_or_default();
            write_string(&mut c, &v)
        },
    )?;
    l.func_wrap(
        MODULE,
        "host_cluster_put_string",
        |c: C<'_>, k: i32, v: i32| -> Result<()> {
            let (key, v) = (read_string(&c, k)?, read_string(&c, v)?);
            put(&c, &key, v)
        },
    )?;
    l.func_wrap(
        MODULE,
        "host_cluster_get_integer",
        |c: C<'_>, addr: i32| -> Result<i64> { Ok(parse_int(get(&c, addr)?.as_deref())) },
    )?;
    l.func_wrap(
        MODULE,
        "host_cluster_put_integer",
        |c: C<'_>, k: i32, v: i64| -> Result<()> {
            let key = read_string(&c, k)?;
            put(&c, &key, v.to_string())
        },
    )?;
    l.func_wrap(
        MODULE,
        "host_cluster_add_integer",
        |c: C<'_>, k: i32, add: i64| -> Result<i64> {
            let key = read_string(&c, k)?;
            c.data()
                .shared
                .update(&key, |old| {
                    let n = parse_int(old).wrapping_add(add);
                    (n.to_string(), n)
                })
                .map_err(|e| fail(format!("shared data {key}: {e}")))
        },
    )?;
    l.func_wrap(
        MODULE,
        "host_cluster_get_float",
        |c: C<'_>, addr: i32| -> Result<f64> { Ok(parse_float(get(&c, addr)?.as_deref())) },
    )?;
    l.func_wrap(
        MODULE,
        "host_cluster_put_float",
        |c: C<'_>, k: i32, v: f64| -> Result<()> {
            let key = read_string(&c, k)?;
            put(&c, &key, v.to_string())
        },
    )?;
    l.func_wrap(
        MODULE,
        "host_cluster_add_float",
        |c: C<'_>, k: i32, add: f64| -> Result<f64> {
            let key = read_string(&c, k)?;
            c.data()
                .shared
                .update(&key, |old| {
                    let n = parse_float(old) + add;
                    (n.to_string(), n)
                })
                .map_err(|e| fail(format!("shared data {key}: {e}")))
        },
    )?;
    l.func_wrap(
        MODULE,
        "host_cluster_count_key",
        |c: C<'_>, addr: i32| -> Result<i32> {
            let prefix = read_string(&c, addr)?;
            let n = c
                .data()
                .shared
                .count(&prefix)
                .map_err(|e| fail(format!("shared data {prefix}: {e}")))?;
            Ok(i32::try_from(n).unwrap_or(i32::MAX))
        },
    )?;
    Ok(())
}
