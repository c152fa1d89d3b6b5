//! Scratch folders for tests, and a folder's files read for byte-for-byte comparisons.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// An empty folder `<group>-<pid>/<name>` under the repository's `target/tmp`, wherever
/// cargo builds: scenarios written there reach the shipped data as `../../../../data`.
pub fn tmp(group: &str, name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("tmp")
        .join(format!("{group}-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every file of `dir` (not recursing) with its bytes, by name.
pub fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Runs the `altsim` binary: (success, stdout, stderr).
pub fn altsim(args: &[&str]) -> (bool, String, String) {
    altsim_in(Path::new("."), args)
}

/// As [`altsim`], from the folder `dir`.
pub fn altsim_in(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_altsim"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}
