//! Listening sockets that outlive a process.
//!
//! A binary upgrade hands every listening socket of the running process to its successor,
//! so that no connection is refused while the new binary takes over:
//!
//! - [`sockets`] keeps the process-wide list of listening sockets in use (each listener
//!   registers its socket while it accepts on it) and the sockets inherited from the previous
//!   process, which listeners take instead of binding when the address matches.
//! - [`drain`] counts the listeners that run or still drain their connections, so that a
//!   stopping process exits only once they are done.
//! - [`channel`] passes sockets between the two processes over a unix socket (SCM_RIGHTS)
//!   and carries the new process's "ready".
#![forbid(unsafe_code)]

pub mod channel;
pub mod drain;
pub mod sockets;
