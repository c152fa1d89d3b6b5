//! Charts of a run, as PNG and SVG, with an embedded font so every machine draws the same
//! bytes: price with our fills, PnL, inventory and drawdown, over UTC time.

use super::tables::{RunInfo, Tables};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::path::Path;
use std::sync::Once;

const SIZE: (u32, u32) = (1200, 600);
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

fn init_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is part of the binary; registering it cannot fail for a valid TTF.
        let _ = register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

fn f(s: &str) -> f64 {
    s.parse().unwrap_or(0.0)
}

/// `HH:MM:SS` of a time in ms since the epoch.
fn clock(ms: &i64) -> String {
    let (_, _, _, h, m, s, _) = crate::utc::civil(ms * 1_000_000);
    format!("{h:02}:{m:02}:{s:02}")
}

/// One line of a chart.
pub struct Series<'a> {
    pub name: &'a str,
    pub color: RGBColor,
    pub points: Vec<(i64, f64)>,
}

/// Markers: (time ms, value), name, color, up (buy) or down (sell).
pub struct Marks<'a> {
    pub name: &'a str,
    pub color: RGBColor,
    pub up: bool,
    pub points: Vec<(i64, f64)>,
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    lines: &[Series],
    marks: &[Marks],
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |x: &dyn std::fmt::Display| x.to_string();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let all = lines
        .iter()
        .flat_map(|s| s.points.iter())
        .chain(marks.iter().flat_map(|m| m.points.iter()));
    let (mut x0, mut x1, mut y0, mut y1) = (i64::MAX, i64::MIN, f64::MAX, f64::MIN);
    for (x, y) in all {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y0 = y0.min(*y);
        y1 = y1.max(*y);
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0, 1, 0.0, 1.0);
    }
    if x1 == x0 {
        x1 = x0 + 1;
    }
    let pad = ((y1 - y0) * 0.05).max(1e-9);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(90)
        .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc("time (UTC)")
        .y_desc(y_label)
        .x_label_formatter(&clock)
        .x_labels(8)
        .y_labels(8)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|x| e(&x))?;
    for s in lines {
        let color = s.color;
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(|x| e(&x))?
            .label(s.name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    for m in marks {
        let (color, up) = (m.color, m.up);
        let tri = move |(x, y): (i64, f64)| {
            let d = if up { -1 } else { 1 };
            EmptyElement::at((x, y))
                + Polygon::new(vec![(0, 6 * d), (-5, -3 * d), (5, -3 * d)], color.filled())
        };
        chart
            .draw_series(m.points.iter().map(|p| tri(*p)))
            .map_err(|x| e(&x))?
            .label(m.name)
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(|x| e(&x))?;
    root.present().map_err(|x| e(&x))
}

/// Writes `<name>.png` and `<name>.svg`.
pub fn chart(
    dir: &Path,
    name: &str,
    title: &str,
    y_label: &str,
    lines: &[Series],
    marks: &[Marks],
) -> Result<(), String> {
    init_font();
    let png = dir.join(format!("{name}.png"));
    let svg = dir.join(format!("{name}.svg"));
    draw(
        BitMapBackend::new(&png, SIZE).into_drawing_area(),
        title,
        y_label,
        lines,
        marks,
    )
    .map_err(|e| format!("{}: {e}", png.display()))?;
    draw(
        SVGBackend::new(&svg, SIZE).into_drawing_area(),
        title,
        y_label,
        lines,
        marks,
    )
    .map_err(|e| format!("{}: {e}", svg.display()))
}

fn ms(ns: i64) -> i64 {
    ns.div_euclid(1_000_000)
}

/// The four charts of a run.
pub fn render(dir: &Path, info: &RunInfo, t: &Tables) -> Result<(), String> {
    let series = |name, color, get: fn(&super::tables::EquityRow) -> &str| Series {
        name,
        color,
        points: t
            .equity
            .iter()
            .map(|r| (ms(r.time_ns), f(get(r))))
            .collect(),
    };
    let fills = |side: &str| {
        t.fills
            .iter()
            .filter(|x| x.side == side)
            .map(|x| (ms(x.time_ns), f(&x.price)))
            .collect()
    };
    let q = info.quote_unit.to_uppercase();
    let b = info.base_unit.to_uppercase();
    chart(
        dir,
        "price",
        &format!("{} price and our fills", info.market),
        &format!("price ({q})"),
        &[
            series("best bid", RGBColor(120, 180, 120), |r| &r.best_bid),
            series("best ask", RGBColor(220, 130, 130), |r| &r.best_ask),
            series("mid", RGBColor(40, 90, 200), |r| &r.mid),
        ],
        &[
            Marks {
                name: "our buys",
                color: RGBColor(0, 140, 60),
                up: true,
                points: fills("buy"),
            },
            Marks {
                name: "our sells",
                color: RGBColor(200, 30, 30),
                up: false,
                points: fills("sell"),
            },
        ],
    )?;
    chart(
        dir,
        "pnl",
        "Profit and loss (equity change at mid)",
        &format!("PnL ({q})"),
        &[series("PnL", RGBColor(40, 90, 200), |r| &r.pnl)],
        &[],
    )?;
    chart(
        dir,
        "inventory",
        "Inventory",
        &format!("holding ({b})"),
        &[series("base held", RGBColor(150, 80, 180), |r| &r.base)],
        &[],
    )?;
    let mut peak = f64::MIN;
    let dd: Vec<(i64, f64)> = t
        .equity
        .iter()
        .map(|r| {
            let e = f(&r.equity);
            peak = peak.max(e);
            (ms(r.time_ns), e - peak)
        })
        .collect();
    chart(
        dir,
        "drawdown",
        "Drawdown from the running peak",
        &format!("drawdown ({q})"),
        &[Series {
            name: "drawdown",
            color: RGBColor(200, 60, 40),
            points: dd,
        }],
        &[],
    )
}
