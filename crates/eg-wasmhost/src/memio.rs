//! Moving strings and bytes across the guest's linear memory, as Easegress's ABI does.
//!
//! - bytes: a little-endian `u32` length, then the bytes;
//! - a string: a `u32` length counting a trailing NUL, the UTF-8 bytes, then the NUL;
//! - a string array: a `u32` count, then each string as above.
//!
//! Whatever the host hands to the guest is placed in a buffer the guest's `wasm_alloc`
//! returns (the guest frees it); whatever the guest hands over is read at the address it
//! passes. An address or length outside the memory traps the run.

use wasmtime::{AsContext, AsContextMut, Result};

use crate::state::HostState;

fn fail(msg: impl Into<String>) -> wasmtime::Error {
    wasmtime::Error::msg(msg.into())
}

fn memory(ctx: &impl AsContext<Data = HostState>) -> Result<wasmtime::Memory> {
    ctx.as_context()
        .data()
        .memory
        .ok_or_else(|| fail("the module's memory is not available"))
}

/// The bytes at `addr` (length-prefixed).
pub fn read_bytes(caller: &impl AsContext<Data = HostState>, addr: i32) -> Result<Vec<u8>> {
    let mem = memory(caller)?;
    let data = mem.data(caller);
    let start = usize::try_from(addr).map_err(|_| fail("negative address"))?;
    let len_bytes: [u8; 4] = data
        .get(start..start.saturating_add(4))
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| fail(format!("address {addr} is outside the memory")))?;
    let len = u32::from_le_bytes(len_bytes) as usize;
    let body = start + 4;
    data.get(body..body.saturating_add(len))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| fail(format!("{len} bytes at {addr} run past the memory")))
}

/// The string at `addr` (length-prefixed, NUL-terminated); bytes that are not UTF-8 are
/// replaced.
pub fn read_string(caller: &impl AsContext<Data = HostState>, addr: i32) -> Result<String> {
    let mut bytes = read_bytes(caller, addr)?;
    if bytes.pop().is_none() {
        return Err(fail(format!("the string at {addr} has length 0")));
    }
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Asks the guest for `len` bytes and fills them with `fill`; returns the address.
fn write_with(
    caller: &mut impl AsContextMut<Data = HostState>,
    len: usize,
    fill: impl FnOnce(&mut [u8]),
) -> Result<i32> {
    let size = i32::try_from(len).map_err(|_| fail("value too large for the module"))?;
    let alloc = caller
        .as_context()
        .data()
        .alloc
        .clone()
        .ok_or_else(|| fail("wasm_alloc is not available"))?;
    let addr = alloc.call(&mut *caller, size)?;
    let mem = memory(caller)?;
    let start =
        usize::try_from(addr).map_err(|_| fail("wasm_alloc returned a negative address"))?;
    let buf = mem
        .data_mut(&mut *caller)
        .get_mut(start..start.saturating_add(len))
        .ok_or_else(|| fail("wasm_alloc returned a buffer outside the memory"))?;
    fill(buf);
    Ok(addr)
}

/// Hands `bytes` to the guest; returns their address.
pub fn write_bytes(caller: &mut impl AsContextMut<Data = HostState>, bytes: &[u8]) -> Result<i32> {
    write_with(caller, bytes.len() + 4, |buf| {
        buf[..4].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
        buf[4..].copy_from_slice(bytes);
    })
}

fn put_string(buf: &mut [u8], s: &str) -> usize {
    let n = s.len();
    buf[..4].copy_from_slice(&((n + 1) as u32).to_le_bytes());
    buf[4..4 + n].copy_from_slice(s.as_bytes());
    buf[4 + n] = 0;
    n + 5
}

/// Hands string `s` to the guest; returns its address.
pub fn write_string(caller: &mut impl AsContextMut<Data = HostState>, s: &str) -> Result<i32> {
    write_with(caller, s.len() + 5, |buf| {
        put_string(buf, s);
    })
}

/// Hands a string array to the guest; returns its address.
pub fn write_strings(
    caller: &mut impl AsContextMut<Data = HostState>,
    strings: &[String],
) -> Result<i32> {
    let len = 4 + strings.iter().map(|s| s.len() + 5).sum::<usize>();
    write_with(caller, len, |buf| {
        buf[..4].copy_from_slice(&(strings.len() as u32).to_le_bytes());
        let mut at = 4;
        for s in strings {
            at += put_string(&mut buf[at..], s);
        }
    })
}
