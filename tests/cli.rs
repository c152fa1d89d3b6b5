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

/// A live session's scenario may name captures that do not exist here: its settings are read
/// once, and only what a live feed needs of them.
#[test]
fn a_live_session_reads_its_scenario_without_its_captures() {
    use clap::Parser;
    let dir = std::env::temp_dir().join(format!("altsim-cli-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let markets = std::fs::canonicalize("data/markets.json").unwrap();
    let text = std::fs::read_to_string("scenarios/mm-tight.toml")
        .unwrap()
        .replace("../data/btcusdt-*.ranger.gz", "/nonexistent/x-*.ranger.gz")
        .replace("../data/markets.json", markets.to_str().unwrap());
    let path = dir.join("live.toml");
    std::fs::write(&path, &text).unwrap();
    let cli = altsim::cli::Cli::try_parse_from([
        "altsim",
        "paper",
        "--scenario",
        path.to_str().unwrap(),
        "--markets",
        "btcusdt",
        "--out",
        dir.join("session").to_str().unwrap(),
    ])
    .unwrap();
    let altsim::cli::Command::Paper(args) = cli.command else {
        panic!("not paper");
    };
    let cfg = args
        .config()
        .expect("a live scenario loads without its captures");
    let (scenario, journaled) = cfg.scenario.expect("the scenario");
    assert_eq!(journaled, text, "the journal keeps the text as read");
    assert_eq!(
        format!("{:?}", cfg.exchange),
        format!("{:?}", scenario.exchange)
    );
    assert_eq!(cfg.exchange_source, (path.display().to_string(), text));
    let _ = std::fs::remove_dir_all(&dir);
}
