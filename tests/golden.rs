//! The README scenario's results, pinned: `summary.json` and the first and last rows of
//! `fills.csv` of `scenarios/mm-tight.toml` must stay as committed in `tests/golden/`.
//!
//! A change of fill rules moves them on purpose. Then rerun with `ALTSIM_BLESS=1` to write the
//! new results, and say in the commit why they moved.

mod folders;

use altsim::backtest::{run, Progress};
use altsim::scenario;
use std::path::Path;

/// The header, first and last rows of a CSV file.
fn ends(csv: &str) -> String {
    let lines: Vec<&str> = csv.lines().collect();
    match lines.as_slice() {
        [] => String::new(),
        [only] => format!("{only}\n"),
        [head, rest @ ..] => format!("{head}\n{}\n{}\n", rest[0], rest[rest.len() - 1]),
    }
}

fn check(got: &str, golden: &Path) {
    if std::env::var_os("ALTSIM_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(golden, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(golden).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (write it with ALTSIM_BLESS=1 cargo test --test golden)",
            golden.display()
        )
    });
    assert!(
        got == want,
        "{} changed: results of the README scenario moved. If a rule changed on purpose, \
         rerun with ALTSIM_BLESS=1 and say why in the commit.\n--- committed\n{want}\n--- now\n{got}",
        golden.display()
    );
}

#[test]
fn readme_scenario_results_are_pinned() {
    let out = folders::tmp("golden", "mm-tight");
    let s = scenario::load(Path::new("scenarios/mm-tight.toml")).unwrap();
    run(&s, Some(&out), Progress::Quiet).unwrap();
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let fills = std::fs::read_to_string(out.join("fills.csv")).unwrap();
    check(&summary, Path::new("tests/golden/mm-tight.summary.json"));
    check(
        &ends(&fills),
        Path::new("tests/golden/mm-tight.fills-ends.csv"),
    );
}
