//! `report.html`, opened from `file://` in headless Chromium as a user would: the summary
//! table shows `summary.json`, the charts draw with our fills on them, a sweep's ranking sorts
//! by a click, and the page is the same bytes on a rerun. Screenshots go to
//! `target/screenshots/`.

mod browser;
mod folders;

use browser::Browser;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn altsim(args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_altsim"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "altsim {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn screenshots() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn url(p: &Path) -> String {
    format!("file://{}", std::fs::canonicalize(p).unwrap().display())
}

/// The summary table as the browser shows it: (key, value) per row.
fn shown_summary(b: &Browser) -> Vec<(String, String)> {
    let v = b.eval(
        "return Array.from(document.querySelectorAll('#summary tr'))\
         .map(r => [r.querySelector('th').textContent, r.querySelector('td').textContent]);",
    );
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every value of `summary.json` in `dir`, by dotted key.
fn summary_json(dir: &Path) -> Vec<(String, String)> {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let mut out = Vec::new();
    altsim::report::html::leaves("", &v, &mut out);
    out
}

#[test]
fn a_backtest_page_shows_its_summary_and_draws_its_charts() {
    if !browser::available() {
        return;
    }
    let dir = folders::tmp("report-page", "run");
    let out = dir.join("out");
    let out_s = out.to_str().unwrap();
    altsim(&[
        "backtest",
        "scenarios/mm-tight.toml",
        "--quiet",
        "--out",
        out_s,
    ]);
    let page = std::fs::read(out.join("report.html")).unwrap();
    altsim(&[
        "backtest",
        "scenarios/mm-tight.toml",
        "--quiet",
        "--out",
        out_s,
    ]);
    assert_eq!(
        std::fs::read(out.join("report.html")).unwrap(),
        page,
        "a rerun writes the same page"
    );
    let text = String::from_utf8(page).unwrap();
    assert!(
        !text.contains("<script src") && !text.contains("<link"),
        "the page loads nothing from elsewhere"
    );

    let b = Browser::start(1200, 900);
    b.open(&url(&out.join("report.html")));
    b.wait_for(
        "the price chart",
        "return document.querySelector('#chart-price canvas') !== null;",
    );
    assert_eq!(shown_summary(&b), summary_json(&out));
    // Our buys and sells on the price chart: every fill of fills.csv (fewer than the points a
    // series keeps).
    let fills = std::fs::read_to_string(out.join("fills.csv")).unwrap();
    let count = |side: &str| {
        fills
            .lines()
            .skip(1)
            .filter(|l| l.split(',').nth(5) == Some(side))
            .count() as u64
    };
    let shown = |i: usize| {
        b.eval(&format!(
            "return document.getElementById('chart-price').chart.data[{i}]\
             .filter(v => v != null).length;"
        ))
        .as_u64()
        .unwrap()
    };
    assert!(count("buy") > 0 && count("sell") > 0, "{fills}");
    assert_eq!((shown(4), shown(5)), (count("buy"), count("sell")));
    for id in ["pnl", "inventory", "drawdown", "sources", "markouts"] {
        b.wait_for(
            id,
            &format!("return document.querySelector('#chart-{id} canvas') !== null;"),
        );
    }
    b.screenshot(&screenshots().join("report-run.png"));

    // `altsim report` writes the page again from the folder's tables.
    std::fs::remove_file(out.join("report.html")).unwrap();
    altsim(&["report", out_s]);
    b.open(&url(&out.join("report.html")));
    b.wait_for(
        "the price chart after report",
        "return document.querySelector('#chart-price canvas') !== null;",
    );
    assert_eq!(shown_summary(&b), summary_json(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_sweep_page_ranks_its_runs_and_sorts_by_a_click() {
    if !browser::available() {
        return;
    }
    let dir = folders::tmp("report-page", "sweep");
    let base = std::fs::canonicalize("scenarios/mm-tight.toml").unwrap();
    let sweep = format!(
        "base = {:?}\nout = \"out\"\ntop = 2\n\
         [grid]\n\"strategy.order_refresh_time\" = [5, 30]\n\
         [zip]\n\"strategy.bid_spread\" = [\"0.01\", \"0.05\"]\n\"strategy.ask_spread\" = [\"0.01\", \"0.05\"]\n",
        base.display().to_string()
    );
    std::fs::write(dir.join("sweep.toml"), sweep).unwrap();
    altsim(&["sweep", dir.join("sweep.toml").to_str().unwrap()]);
    let out = dir.join("out");
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        page.contains("data:image/png;base64,"),
        "the heatmap is in the page"
    );

    let b = Browser::start(1200, 900);
    b.open(&url(&out.join("report.html")));
    let column = |name: &str| {
        b.eval(&format!(
            "const t = document.getElementById('ranking');\
             const i = Array.from(t.tHead.rows[0].cells).findIndex(c => c.textContent.startsWith('{name}'));\
             return Array.from(t.tBodies[0].rows).map(r => r.cells[i].textContent);"
        ))
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect::<Vec<_>>()
    };
    let pnl = |v: &[String]| {
        v.iter()
            .map(|s| s.parse::<f64>().unwrap())
            .collect::<Vec<_>>()
    };
    // As written: ranked by pnl_total, best first; the kept runs link to their pages.
    let first = pnl(&column("pnl_total"));
    assert_eq!(first.len(), 4);
    assert!(first.windows(2).all(|w| w[0] >= w[1]), "{first:?}");
    let links = b.eval(
        "return Array.from(document.querySelectorAll('#ranking a')).map(a => a.getAttribute('href'));",
    );
    let links: Vec<&str> = links
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(links.len(), 2);
    for l in &links {
        assert!(out.join(l).is_file(), "{l} exists");
    }
    // Clicked once: highest first; twice: lowest first.
    let click = |name: &str| {
        b.eval(&format!(
            "Array.from(document.querySelectorAll('#ranking thead th'))\
             .find(c => c.textContent.startsWith('{name}')).click(); return true;"
        ));
    };
    click("pnl_total");
    let desc = pnl(&column("pnl_total"));
    assert!(desc.windows(2).all(|w| w[0] >= w[1]), "{desc:?}");
    click("pnl_total");
    let asc = pnl(&column("pnl_total"));
    assert!(asc.windows(2).all(|w| w[0] <= w[1]), "{asc:?}");
    click("run");
    assert_eq!(
        column("run"),
        ["run-00004", "run-00003", "run-00002", "run-00001"]
    );
    b.screenshot(&screenshots().join("report-sweep.png"));
    let _ = std::fs::remove_dir_all(&dir);
}
