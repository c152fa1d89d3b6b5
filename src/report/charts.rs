//! Charts of a run, as PNG and SVG, with an embedded font so every machine draws the same
//! bytes: price with our fills, PnL, inventory and drawdown, over UTC time.

use super::analytics_charts::AnalyticsData;
use super::error::{at, draw as draw_err, FileError, ReportError};
use super::tables::RunInfo;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::path::Path;
use std::sync::Once;

const SIZE: (u32, u32) = (1200, 600);
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

pub(super) fn init_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is part of the binary; registering it cannot fail for a valid TTF.
        let _ = register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// `HH:MM:SS` of a time in ms since the epoch.
fn clock(ms: &i64) -> String {
    let (_, _, _, h, m, s, _) = crate::utc::civil(ms * 1_000_000);
    format!("{h:02}:{m:02}:{s:02}")
}

/// Line colours for charts of many runs, one a run (then again).
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

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
    legend: SeriesLabelPosition,
) -> Result<(), FileError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(draw_err)?;
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
        .map_err(draw_err)?;
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
        .max_light_lines(4)
        .draw()
        .map_err(draw_err)?;
    for s in lines {
        let color = s.color;
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(draw_err)?
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
            .map_err(draw_err)?
            .label(m.name)
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
    }
    chart
        .configure_series_labels()
        .position(legend)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(draw_err)?;
    root.present().map_err(draw_err)
}

/// Writes `<name>.png` and `<name>.svg`.
pub fn chart(
    dir: &Path,
    name: &str,
    title: &str,
    y_label: &str,
    lines: &[Series],
    marks: &[Marks],
) -> Result<(), ReportError> {
    chart_with_legend(
        dir,
        name,
        title,
        y_label,
        lines,
        marks,
        SeriesLabelPosition::UpperLeft,
    )
}

/// As [`chart`], with the legend at `legend`.
pub fn chart_with_legend(
    dir: &Path,
    name: &str,
    title: &str,
    y_label: &str,
    lines: &[Series],
    marks: &[Marks],
    legend: SeriesLabelPosition,
) -> Result<(), ReportError> {
    init_font();
    let png = dir.join(format!("{name}.png"));
    let svg = dir.join(format!("{name}.svg"));
    let (a, b) = rayon::join(
        || {
            let mut rgb = vec![0u8; SIZE.0 as usize * SIZE.1 as usize * 3];
            draw(
                BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area(),
                title,
                y_label,
                lines,
                marks,
                legend.clone(),
            )
            .map_err(at(&png))?;
            write_png(&png, &rgb, SIZE).map_err(at(&png))
        },
        || {
            draw(
                SVGBackend::new(&svg, SIZE).into_drawing_area(),
                title,
                y_label,
                lines,
                marks,
                legend.clone(),
            )
            .map_err(at(&svg))
        },
    );
    a.and(b)
}

/// Writes an RGB image of `size` as PNG: fast compression and the Paeth filter on every row
/// (choosing each row's filter adaptively made files 12 % smaller for five times the
/// filtering work, the largest cost of a short run's charts).
pub(super) fn write_png(path: &Path, rgb: &[u8], size: (u32, u32)) -> Result<(), FileError> {
    let file = std::fs::File::create(path)?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), size.0, size.1);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    enc.set_filter(png::FilterType::Paeth);
    enc.set_adaptive_filter(png::AdaptiveFilterType::NonAdaptive);
    let mut w = enc.write_header()?;
    w.write_image_data(rgb)?;
    Ok(w.finish()?)
}

fn ms(ns: i64) -> i64 {
    ns.div_euclid(1_000_000)
}

/// Most points kept of one series: charts of any span draw from at most this many.
pub const MAX_POINTS: usize = 4096;

/// An evenly thinned series of bounded length: every `stride`-th point is kept, and the
/// stride doubles (dropping every other kept point) whenever the series is full.
#[derive(Debug, Clone)]
pub struct Thinned<T> {
    points: Vec<(i64, T)>,
    stride: u64,
    seen: u64,
    max: usize,
}

impl<T> Default for Thinned<T> {
    fn default() -> Self {
        Thinned::at_most(MAX_POINTS)
    }
}

impl<T> Thinned<T> {
    /// A series that keeps at most `max` points (at least 2).
    pub fn at_most(max: usize) -> Self {
        Thinned {
            points: Vec::new(),
            stride: 1,
            seen: 0,
            max: max.max(2),
        }
    }

    pub fn push(&mut self, at_ms: i64, v: T) {
        if self.seen.is_multiple_of(self.stride) {
            if self.points.len() == self.max {
                let mut i = 0;
                self.points.retain(|_| {
                    i += 1;
                    i % 2 == 1
                });
                self.stride *= 2;
                if !self.seen.is_multiple_of(self.stride) {
                    self.seen += 1;
                    return;
                }
            }
            self.points.push((at_ms, v));
        }
        self.seen += 1;
    }

    pub fn points(&self) -> &[(i64, T)] {
        &self.points
    }
}

/// What the charts draw, gathered row by row in bounded memory.
#[derive(Debug, Clone, Default)]
pub struct ChartData {
    /// best bid, best ask, mid, PnL, base held, drawdown
    rows: Thinned<[f64; 6]>,
    peak: Option<f64>,
    buys: Thinned<f64>,
    sells: Thinned<f64>,
    analytics: AnalyticsData,
}

impl ChartData {
    /// best bid, best ask, mid, PnL, base held and drawdown, thinned.
    pub fn rows(&self) -> &[(i64, [f64; 6])] {
        self.rows.points()
    }

    /// Our buys (time, price), thinned.
    pub fn buys(&self) -> &[(i64, f64)] {
        self.buys.points()
    }

    /// Our sells (time, price), thinned.
    pub fn sells(&self) -> &[(i64, f64)] {
        self.sells.points()
    }

    pub(super) fn analytics_data(&self) -> &AnalyticsData {
        &self.analytics
    }

    /// A point of the cumulative attribution.
    pub fn sources(&mut self, p: &super::analytics::Cumulative, scale: u32) {
        self.analytics.source(p, scale);
    }

    /// The attribution and markouts of the finished run.
    pub fn analytics(&mut self, s: &super::Summary) {
        self.analytics.summary(s);
    }

    pub fn equity(&mut self, r: &super::records::EquityRecord) {
        let e = r.equity.to_f64();
        let peak = self.peak.map_or(e, |p| p.max(e));
        self.peak = Some(peak);
        let v = [
            r.best_bid.to_f64(),
            r.best_ask.to_f64(),
            r.mid.to_f64(),
            r.pnl.to_f64(),
            r.base.to_f64(),
            e - peak,
        ];
        self.rows.push(ms(r.time_ns), v);
    }

    pub fn fill(&mut self, x: &super::records::FillRecord) {
        let side = match x.side {
            crate::venue::Side::Buy => &mut self.buys,
            crate::venue::Side::Sell => &mut self.sells,
        };
        side.push(ms(x.time_ns), x.price.to_f64());
    }
}

/// One chart to draw: name, title, y label, lines and marks.
type Spec<'a> = (&'a str, String, String, Vec<Series<'a>>, Vec<Marks<'a>>);

/// The charts of a run, drawn in parallel (each chart's bytes do not depend on it).
pub fn render(dir: &Path, info: &RunInfo, t: &ChartData) -> Result<(), ReportError> {
    use rayon::prelude::*;
    let series = |name, color, i: usize| Series {
        name,
        color,
        points: t.rows.points().iter().map(|(at, v)| (*at, v[i])).collect(),
    };
    let fills = |side: &Thinned<f64>| side.points().to_vec();
    let q = info.quote_unit.to_uppercase();
    let b = info.base_unit.to_uppercase();
    let specs: Vec<Spec> = vec![
        (
            "price",
            format!("{} price and our fills", info.market),
            format!("price ({q})"),
            vec![
                series("best bid", RGBColor(120, 180, 120), 0),
                series("best ask", RGBColor(220, 130, 130), 1),
                series("mid", RGBColor(40, 90, 200), 2),
            ],
            vec![
                Marks {
                    name: "our buys",
                    color: RGBColor(0, 140, 60),
                    up: true,
                    points: fills(&t.buys),
                },
                Marks {
                    name: "our sells",
                    color: RGBColor(200, 30, 30),
                    up: false,
                    points: fills(&t.sells),
                },
            ],
        ),
        (
            "pnl",
            "Profit and loss (equity change at mid)".into(),
            format!("PnL ({q})"),
            vec![series("PnL", RGBColor(40, 90, 200), 3)],
            vec![],
        ),
        (
            "inventory",
            "Inventory".into(),
            format!("holding ({b})"),
            vec![series("base held", RGBColor(150, 80, 180), 4)],
            vec![],
        ),
        (
            "drawdown",
            "Drawdown from the running peak".into(),
            format!("drawdown ({q})"),
            vec![series("drawdown", RGBColor(200, 60, 40), 5)],
            vec![],
        ),
    ];
    let (a, b) = rayon::join(
        || {
            specs
                .par_iter()
                .try_for_each(|(name, title, y, lines, marks)| {
                    chart(dir, name, title, y, lines, marks)
                })
        },
        || t.analytics.render(dir, info),
    );
    a.and(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_an_even_bounded_sample() {
        let mut t = Thinned::default();
        for i in 0..(MAX_POINTS as i64 * 5 + 3) {
            t.push(i, ());
        }
        let p = t.points();
        assert!(
            p.len() <= MAX_POINTS && p.len() > MAX_POINTS / 2,
            "{}",
            p.len()
        );
        assert_eq!(p[0].0, 0);
        let step = p[1].0 - p[0].0;
        assert_eq!(step, 8);
        assert!(p.windows(2).all(|w| w[1].0 - w[0].0 == step));
        let mut small = Thinned::at_most(100);
        for i in 0..1000 {
            small.push(i, ());
        }
        let p = small.points();
        assert!(p.len() <= 100 && p.len() > 50, "{}", p.len());
        assert!(p.windows(2).all(|w| w[1].0 - w[0].0 == 16));
    }
}
