//! The charts, drawn on any plotters backend (SVG for files and the HTML
//! report, bitmap for PNG). Text uses the embedded DejaVu Sans, so PNGs render
//! the same on a machine without fonts.

use std::sync::Once;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::ErrorBar;
use plotters::prelude::*;

use super::data::{points, sorted_latencies, Series, Timeline, XAxis};
use super::title;
use crate::metrics::{LatencyMetric, Metric};

pub const SIZE: (u32, u32) = (900, 540);
const FONT: &str = "sans-serif";

/// Colour-blind-friendly (Okabe–Ito), one per series.
const COLORS: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// Registers the embedded font once; plotters looks fonts up by family name.
///
/// It is registered under the generic family names too. Plotters' font
/// backend is chosen by cargo feature for the whole build, so with our
/// `ab_glyph` on, every other user of plotters in the same binary (criterion's
/// plots in `cargo bench`, which ask for `sans-serif`) finds only registered
/// fonts: without this, criterion panics with `FontUnavailable`.
pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../../third_party/fonts/DejaVuSans.ttf");
        for family in [FONT, "sans-serif", "serif", "monospace"] {
            for style in [FontStyle::Normal, FontStyle::Bold, FontStyle::Italic] {
                let _ = plotters::style::register_font(family, style, bytes);
            }
        }
    });
}

type Area<'a, DB> = DrawingArea<DB, Shift>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// `[lo, hi]` padded by 5%, never empty.
fn range(values: impl Iterator<Item = f64>, from_zero: bool) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    if from_zero {
        lo = lo.min(0.0);
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    let pad = (hi - lo) * 0.05;
    (if from_zero { lo } else { lo - pad })..hi + pad
}

/// One metric against concurrency or rate: a line per series, CI bars.
pub fn metric<DB: DrawingBackend>(
    area: &Area<DB>,
    series: &[Series],
    metric: Metric,
    axis: XAxis,
) -> Result<(), String> {
    area.fill(&WHITE).map_err(err)?;
    let lines: Vec<_> = series.iter().map(|s| points(s, metric, axis)).collect();
    let all = || lines.iter().flatten();
    let x = range(all().map(|p| p.x), false);
    let y = range(all().flat_map(|p| [p.lo, p.hi]), true);
    let mut chart = ChartBuilder::on(area)
        .caption(title(metric), (FONT, 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x, y)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(axis.label())
        .y_desc(title(metric))
        .label_style((FONT, 14))
        .draw()
        .map_err(err)?;
    for (i, (s, line)) in series.iter().zip(&lines).enumerate() {
        let c = color(i);
        chart
            .draw_series(LineSeries::new(
                line.iter().map(|p| (p.x, p.y)),
                c.stroke_width(2),
            ))
            .map_err(err)?
            .label(s.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart
            .draw_series(
                line.iter()
                    .map(|p| ErrorBar::new_vertical(p.x, p.lo, p.y, p.hi, c.filled(), 8)),
            )
            .map_err(err)?;
        chart
            .draw_series(line.iter().map(|p| Circle::new((p.x, p.y), 4, c.filled())))
            .map_err(err)?;
    }
    legend(&mut chart)?;
    area.present().map_err(err)
}

/// The empirical CDF of one latency: a line per series and level.
pub fn cdf<DB: DrawingBackend>(
    area: &Area<DB>,
    series: &[Series],
    metric: LatencyMetric,
    axis: XAxis,
) -> Result<(), String> {
    area.fill(&WHITE).map_err(err)?;
    let mut lines = Vec::new();
    for (i, s) in series.iter().enumerate() {
        for (j, level) in s.levels.iter().enumerate() {
            let values = sorted_latencies(level, metric);
            let x = super::data::x_of(level, axis);
            let name = match axis {
                XAxis::Concurrency => format!("{} c={x}", s.label),
                XAxis::RequestRate => format!("{} rate={x}", s.label),
            };
            // Shade levels of one series from dark to light.
            let shade = 1.0 - 0.6 * j as f64 / s.levels.len().max(1) as f64;
            lines.push((name, color(i).mix(shade), values));
        }
    }
    let x = range(lines.iter().flat_map(|l| l.2.iter().copied()), true);
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{metric} CDF"), (FONT, 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x, 0.0..1.0)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(format!("{metric} (ms)"))
        .y_desc("fraction of requests")
        .label_style((FONT, 14))
        .draw()
        .map_err(err)?;
    for (name, c, values) in lines {
        let n = values.len() as f64;
        let steps = values
            .iter()
            .enumerate()
            .map(move |(k, &v)| (v, (k + 1) as f64 / n));
        chart
            .draw_series(LineSeries::new(steps, c.stroke_width(2)))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    legend(&mut chart)?;
    area.present().map_err(err)
}

/// Requests in flight (top), requests scheduled per second with a ramp's
/// planned rate (middle) and output tokens per second (bottom) over one run.
pub fn timeline<DB: DrawingBackend>(
    area: &Area<DB>,
    title: &str,
    t: &Timeline,
) -> Result<(), String> {
    area.fill(&WHITE).map_err(err)?;
    let area = area.titled(title, (FONT, 22)).map_err(err)?;
    let panels = area.split_evenly((3, 1));
    let x = range(t.t_s.iter().copied(), true);
    let panels = [
        (&panels[0], "requests in flight", &t.in_flight, color(0)),
        (&panels[1], "scheduled req/s", &t.scheduled_per_s, color(2)),
        (&panels[2], "output tokens/s", &t.tokens_per_s, color(1)),
    ];
    for (index, (panel, label, values, c)) in panels.into_iter().enumerate() {
        let planned = match index {
            1 => &t.planned_per_s[..],
            _ => &[],
        };
        let all = values.iter().copied().chain(planned.iter().map(|p| p.1));
        let y = range(all, true);
        let mut chart = ChartBuilder::on(panel)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(72)
            .build_cartesian_2d(x.clone(), y)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("time since the first request (s)")
            .y_desc(label)
            .label_style((FONT, 13))
            .draw()
            .map_err(err)?;
        let line = t.t_s.iter().copied().zip(values.iter().copied());
        chart
            .draw_series(LineSeries::new(line, c.stroke_width(2)))
            .map_err(err)?;
        if !planned.is_empty() {
            let plan = color(6);
            chart
                .draw_series(LineSeries::new(
                    planned.iter().copied(),
                    plan.stroke_width(2),
                ))
                .map_err(err)?
                .label("planned (ramp-up)")
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], plan.stroke_width(2))
                });
            chart
                .configure_series_labels()
                .label_font((FONT, 13))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(err)?;
        }
    }
    area.present().map_err(err)
}

type Xy = Cartesian2d<RangedCoordf64, RangedCoordf64>;

fn legend<'a, DB: DrawingBackend + 'a>(chart: &mut ChartContext<'a, DB, Xy>) -> Result<(), String> {
    chart
        .configure_series_labels()
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)
}
