//! Charts of where the PnL came from: the attribution as a waterfall, the markout curve, and
//! the cumulative terms over time.

use super::analytics::Cumulative;
use super::charts::{chart_with_legend, init_font, write_png, Series, Thinned};
use super::error::{at, draw as draw_err, FileError, ReportError};
use super::markouts::label;
use super::summary::Summary;
use super::tables::RunInfo;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Bars and a handful of points need less room than a day of prices.
const SIZE: (u32, u32) = (960, 480);

/// A point of the markout curve: horizon (s), then buys, sells and all fills in bps.
pub type CurvePoint = (f64, Option<f64>, Option<f64>, Option<f64>);

/// What the analytics charts draw, gathered in bounded memory.
#[derive(Debug, Clone, Default)]
pub struct AnalyticsData {
    /// hold, spread, −fees, inventory and their sum at each equity row.
    sources: Thinned<[f64; 5]>,
    /// The attribution terms of the summary: hold, spread, fees, inventory, total.
    terms: Option<[f64; 5]>,
    /// (horizon s, buys, sells, all) in bps.
    curve: Vec<CurvePoint>,
}

fn num(s: &str) -> Option<f64> {
    s.parse().ok()
}

impl AnalyticsData {
    /// hold, spread, −fees, inventory and their sum over time, thinned.
    pub fn sources(&self) -> &[(i64, [f64; 5])] {
        self.sources.points()
    }

    /// The markout curve: (horizon s, buys, sells, all) in bps.
    pub fn curve(&self) -> &[CurvePoint] {
        &self.curve
    }

    /// A point of the cumulative attribution, its terms at `scale` decimals.
    pub fn source(&mut self, p: &Cumulative, scale: u32) {
        // For a chart: the nearest float is not needed, only the same one on every machine.
        let unit = 10f64.powi(scale as i32);
        let f = |v: i128| v as f64 / unit;
        self.sources.push(
            p.time_ns.div_euclid(1_000_000),
            [
                f(p.hold),
                f(p.spread),
                -f(p.fees),
                f(p.inventory),
                f(p.total()),
            ],
        );
    }

    /// The attribution and markouts of a finished run.
    pub fn summary(&mut self, s: &Summary) {
        self.terms = s.attribution.as_ref().and_then(|a| {
            let t = &a.total;
            Some([
                num(&t.hold_pnl)?,
                num(&t.spread_pnl)?,
                num(&t.fees_quote)?,
                num(&t.inventory_pnl)?,
                num(&s.pnl_total)?,
            ])
        });
        self.curve = s
            .markouts
            .iter()
            .filter_map(|m| {
                Some((
                    num(&m.horizon_secs)?,
                    num(&m.buy_bps),
                    num(&m.sell_bps),
                    num(&m.all_bps),
                ))
            })
            .collect();
    }

    /// Draws `attribution`, `markouts` and (when the run gave its points) `sources`, side by
    /// side.
    pub fn render(&self, dir: &Path, info: &RunInfo) -> Result<(), ReportError> {
        let (a, (b, c)) = rayon::join(
            || self.render_waterfall(dir, info),
            || {
                rayon::join(
                    || self.render_curve(dir, info),
                    || self.render_sources(dir, info),
                )
            },
        );
        a.and(b).and(c)
    }

    fn render_waterfall(&self, dir: &Path, info: &RunInfo) -> Result<(), ReportError> {
        let q = info.quote_unit.to_uppercase();
        let m = &info.market;
        match self.terms {
            Some(t) => both(
                dir,
                "attribution",
                |r| waterfall(r, &t, &q, m),
                |r| waterfall(r, &t, &q, m),
            ),
            None => Ok(()),
        }
    }

    fn render_curve(&self, dir: &Path, info: &RunInfo) -> Result<(), ReportError> {
        if self.curve.is_empty() {
            return Ok(());
        }
        let horizons: Vec<String> = self.curve.iter().map(|p| label(p.0)).collect();
        type Pick = fn(&CurvePoint) -> Option<f64>;
        let picks: [(&str, RGBColor, Pick); 3] = [
            ("buys", GREEN, |p| p.1),
            ("sells", RED, |p| p.2),
            ("all fills", BLUE, |p| p.3),
        ];
        let lines: Vec<CurveLine> = picks
            .iter()
            .map(|(name, color, pick)| CurveLine {
                name: name.to_string(),
                color: *color,
                bps: self.curve.iter().map(pick).collect(),
            })
            .collect();
        markout_chart(
            dir,
            "markouts",
            &format!(
                "{}: markouts (how the mid moved after our fills)",
                info.market
            ),
            &horizons,
            &lines,
        )
    }

    fn render_sources(&self, dir: &Path, info: &RunInfo) -> Result<(), ReportError> {
        if self.sources.points().is_empty() {
            return Ok(());
        }
        let q = info.quote_unit.to_uppercase();
        let line = |name, color, i: usize| Series {
            name,
            color,
            points: self
                .sources
                .points()
                .iter()
                .map(|(at, v)| (*at, v[i]))
                .collect(),
        };
        // The lines start at 0 on the left: the legend goes to the left corner away from it.
        let (lo, hi) = self
            .sources
            .points()
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .fold((0.0f64, 0.0f64), |(a, b), y| (a.min(y), b.max(y)));
        let legend = if hi < -lo {
            SeriesLabelPosition::LowerLeft
        } else {
            SeriesLabelPosition::UpperLeft
        };
        chart_with_legend(
            dir,
            "sources",
            "Where the PnL came from, over time",
            &format!("cumulative ({q})"),
            &[
                line("hold the starting base", RGBColor(110, 110, 110), 0),
                line("spread capture", RGBColor(0, 140, 60), 1),
                line("fees (−)", RGBColor(220, 120, 20), 2),
                line("inventory", RGBColor(150, 80, 180), 3),
                line("PnL", RGBColor(40, 90, 200), 4),
            ],
            &[],
            legend,
        )
    }
}

/// Writes `<name>.png` and `<name>.svg`, drawn by the same function on each backend.
fn both(
    dir: &Path,
    name: &str,
    png: impl FnOnce(DrawingArea<BitMapBackend, Shift>) -> Result<(), FileError>,
    svg: impl FnOnce(DrawingArea<SVGBackend, Shift>) -> Result<(), FileError>,
) -> Result<(), ReportError> {
    init_font();
    let png_path = dir.join(format!("{name}.png"));
    let mut rgb = vec![0u8; SIZE.0 as usize * SIZE.1 as usize * 3];
    png(BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area()).map_err(at(&png_path))?;
    write_png(&png_path, &rgb, SIZE).map_err(at(&png_path))?;
    let svg_path = dir.join(format!("{name}.svg"));
    svg(SVGBackend::new(&svg_path, SIZE).into_drawing_area()).map_err(at(&svg_path))
}

const GREEN: RGBColor = RGBColor(0, 140, 60);
const RED: RGBColor = RGBColor(200, 40, 40);
const BLUE: RGBColor = RGBColor(40, 90, 200);

/// hold → spread → fees → inventory → total, each bar from the running sum.
fn waterfall<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    t: &[f64; 5],
    quote: &str,
    market: &str,
) -> Result<(), FileError>
where
    DB::ErrorType: 'static,
{
    let [hold, spread, fees, inventory, total] = *t;
    let steps = [
        ("hold", hold),
        ("spread", spread),
        ("fees", -fees),
        ("inventory", inventory),
    ];
    // (label, from, to, color)
    let mut bars = Vec::new();
    let mut run = 0.0;
    for (name, v) in steps {
        bars.push((name, run, run + v, if v >= 0.0 { GREEN } else { RED }));
        run += v;
    }
    bars.push(("PnL", 0.0, total, BLUE));
    let lo = bars.iter().map(|b| b.1.min(b.2)).fold(0.0, f64::min);
    let hi = bars.iter().map(|b| b.1.max(b.2)).fold(0.0, f64::max);
    let pad = ((hi - lo) * 0.12).max(1e-9);
    root.fill(&WHITE).map_err(draw_err)?;
    let names: Vec<&str> = bars.iter().map(|b| b.0).collect();
    let mut c = ChartBuilder::on(&root)
        .caption(
            format!("{market}: PnL against holding the starting base"),
            ("sans-serif", 24),
        )
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..bars.len() as f64, (lo - pad)..(hi + pad))
        .map_err(draw_err)?;
    c.configure_mesh()
        .disable_x_mesh()
        .x_labels(bars.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - i as f64 - 0.5).abs() < 0.01 {
                names.get(i).map_or(String::new(), |n| n.to_string())
            } else {
                String::new()
            }
        })
        .y_desc(quote)
        .y_labels(8)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(RGBColor(235, 235, 235))
        .max_light_lines(4)
        .draw()
        .map_err(draw_err)?;
    c.draw_series(bars.iter().enumerate().map(|(i, b)| {
        let x = i as f64;
        Rectangle::new(
            [(x + 0.2, b.1.min(b.2)), (x + 0.8, b.1.max(b.2))],
            b.3.filled(),
        )
    }))
    .map_err(draw_err)?;
    c.draw_series(bars.iter().enumerate().map(|(i, b)| {
        let v = b.2 - b.1;
        let y = b.1.max(b.2) + pad * 0.15;
        Text::new(
            format!("{}{v:.2}", if v >= 0.0 && b.0 != "PnL" { "+" } else { "" }),
            (i as f64 + 0.3, y + pad * 0.35),
            ("sans-serif", 15),
        )
    }))
    .map_err(draw_err)?;
    // The zero line, and the running sum carried from one bar to the next.
    c.draw_series(LineSeries::new(
        [(0.0, 0.0), (bars.len() as f64, 0.0)],
        BLACK.stroke_width(1),
    ))
    .map_err(draw_err)?;
    c.draw_series(bars.windows(2).enumerate().map(|(i, w)| {
        PathElement::new(
            vec![(i as f64 + 0.8, w[0].2), (i as f64 + 1.2, w[0].2)],
            RGBColor(120, 120, 120).stroke_width(1),
        )
    }))
    .map_err(draw_err)?;
    root.present().map_err(draw_err)
}

/// One line of a markout chart: its name, colour and bps at each horizon (by index).
pub struct CurveLine {
    pub name: String,
    pub color: RGBColor,
    pub bps: Vec<Option<f64>>,
}

/// Markout bps against horizon, one line each; `horizons` label the x axis.
fn curve<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    horizons: &[String],
    lines: &[CurveLine],
) -> Result<(), FileError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(draw_err)?;
    let ys = lines.iter().flat_map(|l| l.bps.iter()).flatten();
    let (lo, hi) = ys.fold((0.0f64, 0.0f64), |(a, b), y| (a.min(*y), b.max(*y)));
    let pad = ((hi - lo) * 0.08).max(0.1);
    // Horizons span seconds to minutes: x is their index, labelled with the horizon.
    let n = horizons.len();
    let labels: Vec<String> = horizons.iter().map(|h| format!("{h} s")).collect();
    let mut c = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(90)
        .build_cartesian_2d(-0.3f64..(n as f64 - 0.7), (lo - pad)..(hi + pad))
        .map_err(draw_err)?;
    c.configure_mesh()
        .x_labels(n.max(2) * 4)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 0.01 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_desc("horizon after the fill (volume-weighted mean)")
        .y_desc("bps in our favour")
        .y_labels(8)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(RGBColor(235, 235, 235))
        .max_light_lines(4)
        .draw()
        .map_err(draw_err)?;
    c.draw_series(LineSeries::new(
        [(-0.3, 0.0), (n as f64 - 0.7, 0.0)],
        BLACK.stroke_width(1),
    ))
    .map_err(draw_err)?;
    for l in lines {
        let color = l.color;
        let line: Vec<(f64, f64)> = l
            .bps
            .iter()
            .enumerate()
            .filter_map(|(i, y)| y.map(|y| (i as f64, y)))
            .collect();
        if line.is_empty() {
            continue;
        }
        c.draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))
            .map_err(draw_err)?
            .label(l.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        c.draw_series(line.iter().map(|p| Circle::new(*p, 4, color.filled())))
            .map_err(draw_err)?;
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(draw_err)?;
    root.present().map_err(draw_err)
}

/// Writes `<name>.png` and `<name>.svg`: markout curves, one line each.
pub fn markout_chart(
    dir: &Path,
    name: &str,
    title: &str,
    horizons: &[String],
    lines: &[CurveLine],
) -> Result<(), ReportError> {
    both(
        dir,
        name,
        |r| curve(r, title, horizons, lines),
        |r| curve(r, title, horizons, lines),
    )
}
