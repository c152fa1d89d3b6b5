//! A heatmap of one metric over two parameters, for sweeps: a cell per pair of values,
//! colored from the lowest value (red) through the middle (yellow) to the highest (green),
//! with the value written in it. Drawn with the embedded font, so the bytes do not depend on
//! the machine.

use plotters::prelude::*;
use std::path::Path;

const SIZE: (u32, u32) = (1200, 800);

/// One axis: its name and its values' labels, in order.
pub struct Axis<'a> {
    pub name: &'a str,
    pub labels: Vec<String>,
}

/// Red → yellow → green for `t` in 0..=1.
fn color(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let (r, g) = if t < 0.5 {
        (230.0, 80.0 + 320.0 * t)
    } else {
        (230.0 - 380.0 * (t - 0.5), 240.0 - 60.0 * (t - 0.5))
    };
    RGBColor(r as u8, g as u8, 90)
}

/// Draws `cells[y][x]` (a value to color by and the text to show; `None` for no run) to
/// `png`.
pub fn draw(
    png: &Path,
    title: &str,
    x: &Axis,
    y: &Axis,
    cells: &[Vec<Option<(f64, String)>>],
) -> Result<(), super::ReportError> {
    use super::error::{at, draw as draw_err};
    super::charts::init_font();
    let e = |x| at(png)(draw_err(x));
    let mut rgb = vec![0u8; SIZE.0 as usize * SIZE.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(e)?;
        let (nx, ny) = (x.labels.len().max(1), y.labels.len().max(1));
        let values: Vec<f64> = cells.iter().flatten().flatten().map(|c| c.0).collect();
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let span = if hi > lo { hi - lo } else { 1.0 };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 24))
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(110)
            .build_cartesian_2d(0.0..nx as f64, 0.0..ny as f64)
            .map_err(e)?;
        let xl = |v: &f64| {
            x.labels
                .get(v.floor() as usize)
                .cloned()
                .unwrap_or_default()
        };
        let yl = |v: &f64| {
            y.labels
                .get(v.floor() as usize)
                .cloned()
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(nx * 2 + 1)
            .y_labels(ny * 2 + 1)
            .x_label_formatter(&|v| {
                if v.fract() == 0.5 {
                    xl(v)
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| {
                if v.fract() == 0.5 {
                    yl(v)
                } else {
                    String::new()
                }
            })
            .x_desc(x.name)
            .y_desc(y.name)
            .label_style(("sans-serif", 16))
            .draw()
            .map_err(e)?;
        for (j, row) in cells.iter().enumerate() {
            for (i, cell) in row.iter().enumerate() {
                let Some((v, text)) = cell else { continue };
                let (x0, y0) = (i as f64, j as f64);
                chart
                    .draw_series([Rectangle::new(
                        [(x0 + 0.02, y0 + 0.02), (x0 + 0.98, y0 + 0.98)],
                        color((v - lo) / span).filled(),
                    )])
                    .map_err(e)?;
                chart
                    .draw_series([Text::new(
                        text.clone(),
                        (x0 + 0.5, y0 + 0.5),
                        ("sans-serif", 16).into_font().color(&BLACK).pos(
                            plotters::style::text_anchor::Pos::new(
                                plotters::style::text_anchor::HPos::Center,
                                plotters::style::text_anchor::VPos::Center,
                            ),
                        ),
                    )])
                    .map_err(e)?;
            }
        }
        root.present().map_err(e)?;
    }
    super::charts::write_png(png, &rgb, SIZE).map_err(at(png))
}
