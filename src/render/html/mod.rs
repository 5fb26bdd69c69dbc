//! The HTML report: one self-contained page (inline CSS, inline SVG plots,
//! no script, nothing fetched) with the summary tables, plots, engine,
//! environment, speed of light and verdicts against a baseline.
//! Every text from a result file is escaped.

use std::fmt::Write;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use super::plot::data::{x_of, Series};
use super::plot::Plots;
use crate::config::PlotConfig;
use crate::error::Error;
use crate::metrics::LatencyMetric;
use crate::render::verdict_key;
use crate::results::{fs, ResultFile, SpeedOfLightDoc};

const TEMPLATE: &str = include_str!("template.html");

/// Text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Writes the page of `config.inputs`, and its plots as files beside it,
/// into `config.output`; returns the page's path.
pub fn write_page(config: &PlotConfig) -> Result<PathBuf, Error> {
    let plots = Plots::load(&config.inputs)?;
    fs::create_dir(&config.output)?;
    plots.write(&config.output, &config.name, &config.formats)?;
    let path = config.output.join(format!("{}.html", config.name));
    fs::write_file(&path, page(&plots).as_bytes())?;
    Ok(path)
}

pub fn page(plots: &Plots) -> String {
    let mut body = String::new();
    let _ = writeln!(body, "<h1>enginebench report</h1>");
    let files: usize = plots.series.iter().map(|s| s.levels.len()).sum();
    let _ = writeln!(
        body,
        "<p>{files} result file(s), {} sweep(s). Intervals: the result files' bootstrap \
         confidence intervals of the mean. Latencies in ms, throughputs per second.</p>",
        plots.series.len()
    );
    for series in &plots.series {
        body += &series_section(series, plots);
    }
    body += &plots_section(plots);
    if let Some(first) = plots.series.first().and_then(|s| s.levels.first()) {
        let _ = writeln!(body, "<h2>Environment</h2>");
        body += &key_value_table(&first.doc.environment);
    }
    TEMPLATE
        .replace("{{title}}", "enginebench report")
        .replace("{{body}}", &body)
}

fn series_section(series: &Series, plots: &Plots) -> String {
    let mut out = String::new();
    let first = &series.levels[0];
    let _ = writeln!(out, "<h2>{}</h2>", escape(&series.label));
    if first.doc.simulated {
        let _ = writeln!(
            out,
            "<p class=\"sim\">Simulated engine: these figures describe a model, not a measurement.</p>"
        );
    }
    let _ = writeln!(out, "<h3>Summary</h3>");
    out += &summary_table(series, plots);
    out += &speed_of_light_table(series, plots);
    out += &verdicts(series, plots);
    let warnings: Vec<String> = series
        .levels
        .iter()
        .flat_map(|r| r.doc.warnings.iter().map(|w| escape(w)))
        .collect();
    if !warnings.is_empty() {
        let _ = writeln!(out, "<h3>Warnings</h3><ul>");
        for w in warnings {
            let _ = writeln!(out, "<li>{w}</li>");
        }
        let _ = writeln!(out, "</ul>");
    }
    let _ = writeln!(out, "<h3>Engine</h3>");
    out += &key_value_table(&first.doc.engine);
    let _ = writeln!(out, "<h3>Workload</h3>");
    out += &key_value_table(&first.doc.workload);
    out
}

/// `<td class="num" data-key="mean_ttft_ms">1.30 <span class="ci">[1.29, 1.31]</span></td>`
fn number_cell(key: &str, value: Option<f64>, interval: Option<(f64, f64)>) -> String {
    let text = value.map_or("—".into(), |v| format!("{v:.2}"));
    let ci = interval.map_or(String::new(), |(lo, hi)| {
        format!(" <span class=\"ci\">[{lo:.2}, {hi:.2}]</span>")
    });
    format!("<td class=\"num\" data-key=\"{key}\">{text}{ci}</td>")
}

/// The interval of a latency's mean, from the result file's statistics.
fn interval(result: &ResultFile, metric: LatencyMetric) -> Option<(f64, f64)> {
    let estimates = result.doc.statistics.get(metric).estimates?;
    let [lo, hi] = estimates.mean.interval();
    Some((lo, hi))
}

/// `<td class="num" data-key="completed">12</td>`
fn count_cell(key: &str, n: usize) -> String {
    format!("<td class=\"num\" data-key=\"{key}\">{n}</td>")
}

fn summary_table(series: &Series, plots: &Plots) -> String {
    let mut out = String::from("<table class=\"summary\">\n<tr>");
    let _ = write!(out, "<th>{}</th>", escape(plots.axis.label()));
    let heads = ["completed", "failed", "duration (s)", "req/s", "out tok/s"];
    for h in heads {
        let _ = write!(out, "<th>{h}</th>");
    }
    for m in ["TTFT", "TPOT", "ITL", "E2EL"] {
        let _ = write!(out, "<th>mean {m}</th><th>p99 {m}</th>");
    }
    out += "</tr>\n";
    for r in &series.levels {
        let _ = write!(
            out,
            "<tr><td class=\"num\" data-key=\"x\">{}</td>",
            x_of(r, plots.axis)
        );
        let doc = &r.doc;
        out += &count_cell("completed", doc.completed);
        out += &count_cell("failed", doc.failed);
        out += &number_cell("duration", Some(doc.duration), None);
        out += &number_cell("request_throughput", Some(doc.request_throughput), None);
        out += &number_cell("output_throughput", Some(doc.output_throughput), None);
        for m in LatencyMetric::ALL {
            let mean = format!("mean_{}_ms", m.key());
            let p99 = format!("p99_{}_ms", m.key());
            out += &number_cell(&mean, doc.latency(m).mean, interval(r, m));
            out += &number_cell(&p99, doc.percentile(m, 99.0), None);
        }
        out += "</tr>\n";
    }
    out + "</table>\n"
}

fn speed_of_light_table(series: &Series, plots: &Plots) -> String {
    let mut out = String::from("<h3>Speed of light</h3>\n");
    let skipped = series
        .levels
        .iter()
        .find_map(|r| match &r.doc.speed_of_light {
            SpeedOfLightDoc::Skipped { skipped } => Some(skipped),
            SpeedOfLightDoc::Figures(_) => None,
        });
    if let Some(why) = skipped {
        return out + &format!("<p class=\"note\">Skipped: {}</p>\n", escape(why));
    }
    let _ = writeln!(
        out,
        "<table class=\"speed-of-light\"><tr><th>{}</th><th>GPU</th><th>decode batch</th>\
         <th>TPOT floor (ms)</th><th>memory-bandwidth utilisation</th>\
         <th>TTFT floor (ms)</th><th>FLOP utilisation (prefill)</th></tr>",
        escape(plots.axis.label())
    );
    let percent = |v: Option<f64>| v.map_or("—".into(), |f| format!("{:.1}%", f * 100.0));
    for r in &series.levels {
        let SpeedOfLightDoc::Figures(s) = &r.doc.speed_of_light else {
            continue;
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">{}</td><td>{}</td>{}{}<td class=\"num\">{}</td>{}<td class=\"num\">{}</td></tr>",
            x_of(r, plots.axis),
            escape(&s.gpu.name),
            number_cell("decode_batch", Some(s.decode_batch), None),
            number_cell("tpot_floor_ms", Some(s.tpot_floor_ms), None),
            percent(s.memory_bandwidth_utilisation),
            number_cell("ttft_floor_ms", Some(s.ttft_floor_ms), None),
            percent(s.flop_utilisation),
        );
    }
    out + "</table>\n"
}

/// Verdicts of each level against the baseline it was run with.
fn verdicts(series: &Series, plots: &Plots) -> String {
    let mut out = String::new();
    for r in &series.levels {
        let Some(baseline) = &r.doc.baseline else {
            continue;
        };
        let _ = writeln!(
            out,
            "<h3>Against baseline {} ({} {})</h3>\n<table class=\"verdicts\">\
             <tr><th>metric</th><th>change of mean</th><th>p</th><th>verdict</th></tr>",
            escape(&baseline.name),
            escape(plots.axis.label()),
            x_of(r, plots.axis)
        );
        for c in &baseline.changes {
            let comparison = c.comparison.as_ref();
            let verdict = comparison.map_or("n/a".into(), |c| verdict_key(c.verdict));
            let change = comparison.map_or("—".into(), |c| {
                format!("{:+.2}%", c.change.mean.point_estimate * 100.0)
            });
            let p = comparison.map_or(String::new(), |c| format!("{:.3}", c.p_value));
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"num\">{change}</td><td class=\"num\">{p}</td>\
                 <td class=\"{}\">{}</td></tr>",
                escape(c.metric.key()),
                escape(&verdict),
                escape(&verdict)
            );
        }
        out += "</table>\n";
    }
    out
}

fn plots_section(plots: &Plots) -> String {
    let mut out = String::from("<h2>Plots</h2>\n<div class=\"plots\">\n");
    for chart in &plots.charts {
        match plots.svg(chart) {
            Ok(svg) => {
                let _ = writeln!(
                    out,
                    "<figure>{svg}<figcaption>{}</figcaption></figure>",
                    escape(&chart.title())
                );
            }
            Err(why) => {
                let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(&why));
            }
        }
    }
    out + "</div>\n"
}

/// An object's fields as a two-column table, in alphabetical order; nested
/// values as compact JSON.
fn key_value_table(fields: &impl Serialize) -> String {
    let value = serde_json::to_value(fields).unwrap_or_default();
    let Some(map) = value.as_object() else {
        return format!("<pre>{}</pre>\n", escape(&value.to_string()));
    };
    let mut out = String::from("<table class=\"facts\">\n");
    for (key, v) in map {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Null => "—".into(),
            other => other.to_string(),
        };
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(key),
            escape(&text)
        );
    }
    out + "</table>\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_in_text() {
        let prompt = "<script>alert('x')</script> & \"quoted\"";
        assert_eq!(
            escape(prompt),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;"
        );
        let table = key_value_table(&serde_json::json!({ "prompt": prompt }));
        assert!(!table.contains("<script>"), "{table}");
    }
}
