//! Plots of saved results: each metric against concurrency (or request rate)
//! with a line per sweep and interval bars, latency CDFs, and a timeline of
//! one run. `enginebench plot RESULTS...`, and `run --report`.

pub mod charts;
pub mod data;

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::error::Error;
use crate::metrics::{LatencyMetric, Metric};
use crate::results::fs;
use data::{Series, Timeline, XAxis};

/// The metrics charted against concurrency or rate: the four latencies and
/// output throughput.
pub const CHARTED: [Metric; 5] = [
    Metric::Latency(LatencyMetric::Ttft),
    Metric::Latency(LatencyMetric::Tpot),
    Metric::Latency(LatencyMetric::Itl),
    Metric::Latency(LatencyMetric::E2el),
    Metric::OutputThroughput,
];

/// `Mean TTFT (ms)`, `Output throughput (tok/s)`: what a chart of `metric` shows.
pub fn title(metric: Metric) -> String {
    match metric {
        Metric::Latency(_) => format!("Mean {}", metric.label()),
        _ => metric.label(),
    }
}

/// One chart, before it is drawn.
pub enum Chart {
    Metric(Metric),
    Cdf(LatencyMetric),
    Timeline { title: String, data: Timeline },
}

impl Chart {
    /// The file name's suffix: `ttft`, `cdf-itl`, `timeline`.
    pub fn name(&self) -> String {
        match self {
            Chart::Metric(m) => m.key().to_string(),
            Chart::Cdf(m) => format!("cdf-{}", m.key()),
            Chart::Timeline { .. } => "timeline".into(),
        }
    }

    pub fn title(&self) -> String {
        match self {
            Chart::Metric(m) => title(*m),
            Chart::Cdf(m) => format!("{m} CDF"),
            Chart::Timeline { title, .. } => title.clone(),
        }
    }

    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, plotters::coord::Shift>,
        plots: &Plots,
    ) -> Result<(), String> {
        match self {
            Chart::Metric(m) => charts::metric(area, &plots.series, *m, plots.axis),
            Chart::Cdf(m) => charts::cdf(area, &plots.series, *m, plots.axis),
            Chart::Timeline { title, data } => charts::timeline(area, title, data),
        }
    }
}

/// Everything plotted from one set of results.
pub struct Plots {
    pub series: Vec<Series>,
    pub axis: XAxis,
    pub charts: Vec<Chart>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
}

impl Format {
    pub const ALL: [Format; 2] = [Format::Svg, Format::Png];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Svg => "svg",
            Format::Png => "png",
        }
    }
}

impl Plots {
    /// Reads the results and decides the charts: a timeline for the last
    /// level of the first sweep that saved detailed records.
    pub fn load(inputs: &[PathBuf]) -> Result<Plots, Error> {
        let (series, axis) = data::load(inputs)?;
        let mut charts: Vec<Chart> = CHARTED.into_iter().map(Chart::Metric).collect();
        charts.extend(LatencyMetric::ALL.into_iter().map(Chart::Cdf));
        let run = series.iter().find_map(|s| {
            let level = s.levels.last()?;
            let mut data = data::timeline(&level.records()?)?;
            data.planned_per_s = data::planned_rate(level);
            let x = data::x_of(level, axis);
            Some(Chart::Timeline {
                title: format!("Timeline: {}, {} {x}", s.label, axis.label()),
                data,
            })
        });
        charts.extend(run);
        Ok(Plots {
            series,
            axis,
            charts,
        })
    }

    pub fn svg(&self, chart: &Chart) -> Result<String, String> {
        charts::register_font();
        let mut out = String::new();
        {
            let area = SVGBackend::with_string(&mut out, charts::SIZE).into_drawing_area();
            chart.draw(&area, self)?;
        }
        Ok(out)
    }

    /// The chart as the bytes of a PNG file.
    pub fn png(&self, chart: &Chart) -> Result<Vec<u8>, String> {
        charts::register_font();
        let (width, height) = charts::SIZE;
        let mut rgb = vec![0u8; width as usize * height as usize * 3];
        {
            let area = BitMapBackend::with_buffer(&mut rgb, charts::SIZE).into_drawing_area();
            chart.draw(&area, self)?;
            area.present().map_err(|e| e.to_string())?;
        }
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder
            .write_header()
            .and_then(|mut writer| writer.write_image_data(&rgb))
            .map_err(|e| format!("cannot encode the PNG: {e}"))?;
        Ok(bytes)
    }

    /// Writes every chart as `<dir>/<stem>-<chart>.<ext>`; returns the paths.
    pub fn write(&self, dir: &Path, stem: &str, formats: &[Format]) -> Result<Vec<PathBuf>, Error> {
        let mut written = Vec::new();
        for chart in &self.charts {
            for &format in formats {
                let path = dir.join(format!("{stem}-{}.{}", chart.name(), format.extension()));
                let failed = |reason: String| Error::Plot {
                    path: path.clone(),
                    reason,
                };
                let bytes = match format {
                    Format::Svg => self.svg(chart).map_err(failed)?.into_bytes(),
                    Format::Png => self.png(chart).map_err(failed)?,
                };
                fs::write_file(&path, &bytes)?;
                written.push(path);
            }
        }
        Ok(written)
    }
}
