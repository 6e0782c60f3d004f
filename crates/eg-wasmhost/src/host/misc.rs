//! `host_add_tag`, `host_log`, `host_get_unix_time_in_ms`, `host_rand`.

use wasmtime::{Caller, Linker, Result};

use crate::abi::{call, MODULE};
use crate::memio::read_string;
use crate::state::HostState;

type C<'a> = Caller<'a, HostState>;

/// Defines the misc functions.
pub fn define(l: &mut Linker<HostState>) -> Result<()> {
    l.func_wrap(
        MODULE,
        "host_add_tag",
        |mut c: C<'_>, addr: i32| -> Result<()> {
            let tag = read_string(&c, addr)?;
            call(&mut c)?.tags.push(tag);
            Ok(())
        },
    )?;
    // Levels as Easegress numbers them: 0 debug, 1 info, 2 warn, 3 error; others ignored.
    l.func_wrap(
        MODULE,
        "host_log",
        |c: C<'_>, level: i32, addr: i32| -> Result<()> {
            let msg = read_string(&c, addr)?;
            match level {
                0 => tracing::debug!(target: "wasm", "{msg}"),
                1 => tracing::info!(target: "wasm", "{msg}"),
                2 => tracing::warn!(target: "wasm", "{msg}"),
                3 => tracing::error!(target: "wasm", "{msg}"),
                _ => {}
            }
            Ok(())
        },
    )?;
    l.func_wrap(MODULE, "host_get_unix_time_in_ms", || -> i64 {
        chrono::Utc::now().timestamp_millis()
    })?;
    l.func_wrap(MODULE, "host_rand", || -> f64 { rand::random::<f64>() })?;
    Ok(())
}
