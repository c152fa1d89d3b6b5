//! The command line's manners: a closed or full stdout or stderr never panics.

use std::process::{Command, Stdio};

const SAMPLE: &str = "data/btcusdt-20240808T2354Z.ranger.gz";

fn altsim(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_altsim"));
    c.args(args);
    c
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = altsim(&["inspect", SAMPLE])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "exit {:?}: {err}", o.status);
    assert_eq!(err, "", "nothing is said when the reader has gone");
}

#[test]
fn a_full_stdout_is_an_error() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let o = altsim(&["inspect", SAMPLE]).stdout(full).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("writing to stdout"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_full_or_closed_stderr_does_not_stop_the_work() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let o = altsim(&["inspect", "/nonexistent.ranger"])
        .stderr(full)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "the error is still the exit code");

    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = altsim(&["inspect", SAMPLE])
        .stderr(writer)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("btcusdt"));
}

#[test]
fn paper_flags_for_captures_or_for_a_live_feed_are_not_mixed() {
    for args in [
        &["--speed", "2", "--markets", "btcusdt"][..],
        &["--exit-at-end", "--markets", "btcusdt"][..],
        &[][..],
    ] {
        let mut all = vec![
            "paper",
            "--accounts",
            "examples/accounts.toml",
            "--out",
            "/nonexistent/x",
        ];
        all.extend_from_slice(args);
        let o = altsim(&all).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("--captures") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}
