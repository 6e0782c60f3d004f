//! `egctl`: the command-line client of easegress-rs.
//!
//! It talks only REST to the admin API (`/apis/v2`) and mirrors the commands,
//! messages, tables and exit codes of Easegress v2's `egctl`. The library part
//! holds the pure pieces (argument parsing, rule translation, tables, YAML
//! helpers, `~/.egctlrc`) so they can be tested without a server.

pub mod cli;
pub mod client;
pub mod cmd;
pub mod config;
pub mod convert;
pub mod httpproxy;
pub mod output;
pub mod resources;
pub mod table;
pub mod yaml;

/// Error of an egctl command: a message printed as `Error: <message>` on
/// stderr, after which egctl exits with status 1.
pub type CmdResult<T = ()> = Result<T, String>;
