//! The release build's profile (`pgo/`): the committed file is an LLVM indexed profile, and
//! `pgo/rustflags.sh` hands it to rustc only when rustc's LLVM is the one that wrote it,
//! saying why when it leaves it out.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The first eight bytes of an LLVM indexed profile.
const INDEXED_PROFILE_MAGIC: [u8; 8] = [0xff, b'l', b'p', b'r', b'o', b'f', b'i', 0x81];

fn pgo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pgo")
}

fn recorded_llvm() -> String {
    fs::read_to_string(pgo_dir().join("llvm-version"))
        .expect("pgo/llvm-version")
        .trim()
        .to_string()
}

/// Runs `pgo/rustflags.sh` with a `rustc` on `PATH` that reports `llvm` as its LLVM version.
fn flags_with(llvm: &str, pgo: Option<&str>) -> Output {
    let fake = tempfile::tempdir().expect("temp dir");
    let rustc = fake.path().join("rustc");
    fs::write(
        &rustc,
        format!("#!/bin/sh\necho 'rustc 1.0.0'\necho 'host: x86_64-unknown-linux-gnu'\necho 'LLVM version: {llvm}'\n"),
    )
    .expect("fake rustc");
    let mut chmod = Command::new("chmod");
    assert!(chmod
        .arg("755")
        .arg(&rustc)
        .status()
        .expect("chmod")
        .success());
    let mut cmd = Command::new("sh");
    cmd.arg(pgo_dir().join("rustflags.sh"))
        .env("PATH", format!("{}:/usr/bin:/bin", fake.path().display()))
        .env_remove("PGO");
    if let Some(v) = pgo {
        cmd.env("PGO", v);
    }
    cmd.output().expect("run pgo/rustflags.sh")
}

#[test]
fn the_committed_profile_is_an_indexed_llvm_profile() {
    let bytes = fs::read(pgo_dir().join("easegress-server.profdata")).expect("the profile");
    assert!(bytes.len() > 1024, "the profile is {} bytes", bytes.len());
    assert_eq!(bytes[..8], INDEXED_PROFILE_MAGIC);
    let llvm = recorded_llvm();
    assert!(
        !llvm.is_empty() && llvm.bytes().all(|b| b.is_ascii_digit()),
        "pgo/llvm-version holds a major version, not {llvm:?}"
    );
}

#[test]
fn the_profile_is_used_when_rustc_has_the_llvm_that_wrote_it() {
    let out = flags_with(&format!("{}.1.2", recorded_llvm()), None);
    assert!(out.status.success());
    let flags = String::from_utf8_lossy(&out.stdout);
    let profile = fs::canonicalize(pgo_dir().join("easegress-server.profdata")).expect("path");
    assert_eq!(flags.trim(), format!("-Cprofile-use={}", profile.display()));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn another_llvm_builds_without_the_profile_and_says_why() {
    let out = flags_with("7.0.1", None);
    assert!(out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(
        note.contains(&format!("written by LLVM {}", recorded_llvm()))
            && note.contains("rustc has LLVM 7"),
        "{note}"
    );
}

#[test]
fn pgo_0_builds_without_the_profile() {
    let out = flags_with(&format!("{}.1.2", recorded_llvm()), Some("0"));
    assert!(out.status.success());
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}
