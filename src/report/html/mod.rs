//! `report.html`: a result folder as one page that opens offline, from `file://`. The summary
//! is a static table; the charts are drawn by uPlot (vendored beside this file, with its
//! licence) from the same thinned series as the PNG charts, embedded in the page as JSON.
//! The page is the same bytes on every rerun.

use super::charts::ChartData;
use super::{RunInfo, Summary};
use serde_json::{json, Value};
use std::fmt::Write;
use std::path::Path;

const UPLOT_JS: &str = include_str!("uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("uPlot.min.css");
const UPLOT_LICENSE: &str = include_str!("uPlot.LICENSE");
const PAGE_JS: &str = include_str!("report.js");
const PAGE_CSS: &str = include_str!("report.css");

/// Most rows of a sweep's ranking the page lists.
pub const MAX_RANKED: usize = 2_000;

/// Text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: the head with the styles and uPlot, then `body` and `script`.
pub fn document(title: &str, body: &str, script: &str) -> String {
    let license = UPLOT_LICENSE.replace("*/", "* /");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{UPLOT_CSS}\n{PAGE_CSS}</style>\n\
         <script>\n/* uPlot, under its licence:\n{license}*/\n{UPLOT_JS}\n</script>\n\
         </head>\n<body>\n{body}<script>\n{script}</script>\n</body>\n</html>\n",
        escape(title)
    )
}

/// A report page: `body`, the data as JSON and the report script.
fn page(title: &str, body: &str, data: &Value) -> String {
    // `</` would end the script element the JSON sits in.
    let data = serde_json::to_string(data)
        .expect("chart data serializes")
        .replace("</", "<\\/");
    let body = format!("{body}<script id=\"data\" type=\"application/json\">{data}</script>\n");
    document(title, &body, PAGE_JS)
}

/// Every leaf of a JSON value as (dotted key, text): objects by key, lists by index.
pub fn leaves(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                leaves(&key(k), v, out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, v) in a.iter().enumerate() {
                leaves(&format!("{prefix}[{i}]"), v, out);
            }
        }
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// Seconds since the epoch, as uPlot's time axis takes them.
fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// The series of the charts, columns by name.
fn chart_data(info: &RunInfo, c: &ChartData) -> Value {
    let rows = c.rows();
    let col = |i: usize| rows.iter().map(|(_, v)| v[i]).collect::<Vec<f64>>();
    let fills = |side: &[(i64, f64)]| {
        json!({
            "t": side.iter().map(|(t, _)| secs(*t)).collect::<Vec<_>>(),
            "price": side.iter().map(|(_, p)| *p).collect::<Vec<_>>(),
        })
    };
    let a = c.analytics_data();
    let sources = a.sources();
    let scol = |i: usize| sources.iter().map(|(_, v)| v[i]).collect::<Vec<f64>>();
    let curve = a.curve();
    json!({
        "market": info.market,
        "base": info.base_unit.to_uppercase(),
        "quote": info.quote_unit.to_uppercase(),
        "rows": {
            "t": rows.iter().map(|(t, _)| secs(*t)).collect::<Vec<_>>(),
            "bid": col(0), "ask": col(1), "mid": col(2),
            "pnl": col(3), "base": col(4), "drawdown": col(5),
        },
        "buys": fills(c.buys()),
        "sells": fills(c.sells()),
        "sources": {
            "t": sources.iter().map(|(t, _)| secs(*t)).collect::<Vec<_>>(),
            "hold": scol(0), "spread": scol(1), "fees": scol(2),
            "inventory": scol(3), "total": scol(4),
        },
        "markouts": {
            "h": curve.iter().map(|p| p.0).collect::<Vec<_>>(),
            "buy": curve.iter().map(|p| p.1).collect::<Vec<_>>(),
            "sell": curve.iter().map(|p| p.2).collect::<Vec<_>>(),
            "all": curve.iter().map(|p| p.3).collect::<Vec<_>>(),
        },
    })
}

/// A two-column table of every summary value, `id="summary"`.
fn summary_table(summary: &Summary) -> String {
    let v = serde_json::to_value(summary).expect("summary serializes");
    let mut rows = Vec::new();
    leaves("", &v, &mut rows);
    let mut t = String::from("<table class=\"summary\" id=\"summary\">\n<tbody>\n");
    for (k, v) in rows {
        let _ = writeln!(t, "<tr><th>{}</th><td>{}</td></tr>", escape(&k), escape(&v));
    }
    t.push_str("</tbody>\n</table>\n");
    t
}

/// The page of one run's result folder.
pub fn run_page(info: &RunInfo, summary: &Summary, charts: &ChartData) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<h1>{} on {}</h1>\n<p class=\"sub\">{} · {} to {} · PnL {} {}</p>",
        escape(&summary.strategy),
        escape(&summary.market),
        escape(&summary.scenario),
        escape(&summary.start_utc),
        escape(&summary.end_utc),
        escape(&summary.pnl_total),
        escape(&info.quote_unit.to_uppercase()),
    );
    for w in &summary.data_warnings {
        let _ = writeln!(body, "<p class=\"warn\">{}</p>", escape(w));
    }
    body.push_str("<h2>Charts</h2>\n<p class=\"sub\">Drag across a chart to zoom in, double-click to zoom out; the legend shows the values under the cursor.</p>\n");
    for id in [
        "price",
        "pnl",
        "inventory",
        "drawdown",
        "sources",
        "markouts",
    ] {
        let _ = writeln!(body, "<div class=\"chart\" id=\"chart-{id}\"></div>");
    }
    body.push_str("<h2>Summary</h2>\n");
    body.push_str(&summary_table(summary));
    page(
        &format!(
            "{} on {}: {}",
            summary.strategy, summary.market, summary.scenario
        ),
        &body,
        &chart_data(info, charts),
    )
}

/// Writes `report.html` of a run into `dir`.
pub fn write_run(
    dir: &Path,
    info: &RunInfo,
    summary: &Summary,
    charts: &ChartData,
) -> Result<(), super::ReportError> {
    let p = dir.join("report.html");
    std::fs::write(&p, run_page(info, summary, charts)).map_err(super::error::at(&p))
}

/// The page of a sweep: its ranking (sortable, `id="ranking"`) and its heatmap. The names of
/// the first `linked` rows (the runs whose folders are kept, in column 1) link to their pages.
pub fn sweep_page(
    title: &str,
    metric: &str,
    head: &[String],
    rows: &[Vec<String>],
    heatmap_png: Option<&[u8]>,
    linked: usize,
) -> String {
    use base64::Engine;
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<h1>{}</h1>\n<p class=\"sub\">{} runs, ranked by {}{}. Click a column to sort by it.</p>",
        escape(title),
        rows.len(),
        escape(metric),
        if rows.len() > MAX_RANKED {
            format!("; the best {MAX_RANKED} are listed here, all of them in runs.csv")
        } else {
            String::new()
        }
    );
    body.push_str(
        "<h2>Runs</h2>\n<div class=\"scroll\">\n<table class=\"sortable\" id=\"ranking\">\n<thead><tr>",
    );
    for h in head {
        let _ = write!(body, "<th>{}</th>", escape(h));
    }
    body.push_str("</tr></thead>\n<tbody>\n");
    for (i, r) in rows.iter().take(MAX_RANKED).enumerate() {
        body.push_str("<tr>");
        for (c, v) in r.iter().enumerate() {
            let class = if v.parse::<f64>().is_ok() {
                " class=\"n\""
            } else {
                ""
            };
            let v = escape(v);
            if c == 1 && i < linked {
                let _ = write!(body, "<td><a href=\"runs/{v}/report.html\">{v}</a></td>");
            } else {
                let _ = write!(body, "<td{class}>{v}</td>");
            }
        }
        body.push_str("</tr>\n");
    }
    body.push_str("</tbody>\n</table>\n</div>\n");
    if let Some(png) = heatmap_png {
        let _ = writeln!(
            body,
            "<h2>Heatmap</h2>\n<img class=\"heatmap\" alt=\"heatmap of {}\" src=\"data:image/png;base64,{}\">",
            escape(metric),
            base64::engine::general_purpose::STANDARD.encode(png)
        );
    }
    page(title, &body, &json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_flatten_objects_and_lists() {
        let v = json!({"a": "1.5", "b": {"c": null, "d": [3, {"e": true}]}, "f": []});
        let mut out = Vec::new();
        leaves("", &v, &mut out);
        let want = [
            ("a", "1.5"),
            ("b.c", "null"),
            ("b.d[0]", "3"),
            ("b.d[1].e", "true"),
            ("f", "[]"),
        ];
        assert_eq!(
            out,
            want.map(|(k, v)| (k.to_string(), v.to_string())).to_vec()
        );
    }

    #[test]
    fn text_cannot_close_elements() {
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
        let p = page("t", "", &json!({"s": "</script><b>"}));
        assert!(!p.contains("</script><b>"));
        assert!(p.contains("<\\/script><b>"));
    }
}
