//! The pictures beside the benchmark's numbers, as SVG (plotters): the
//! latency distribution of a run as an HdrHistogram percentile plot, and
//! its throughput second by second.

use std::path::Path;

use plotters::prelude::*;

use super::load::LoadResult;
use super::stats::PercentilePoint;

/// Where a percentile sits on the "nines" axis: 0 at p0, 1 at p90, 2 at
/// p99, 3 at p99.9 (capped at 6, p99.9999).
#[allow(clippy::float_arithmetic)]
fn nines(percentile: f64) -> f64 {
    let rest = (1.0 - percentile / 100.0).max(1e-6);
    -rest.log10()
}

#[derive(Debug, thiserror::Error)]
#[error("drawing {path}: {message}")]
pub struct PlotError {
    path: String,
    message: String,
}

fn failed(path: &Path) -> impl Fn(String) -> PlotError + '_ {
    move |message| PlotError {
        path: path.display().to_string(),
        message,
    }
}

const COLOURS: [RGBColor; 4] = [BLUE, RED, GREEN, MAGENTA];

/// A percentile plot of each named distribution (the classic HdrHistogram
/// picture: latency against 90 %, 99 %, 99.9 %, …) written to `path`.
#[allow(clippy::float_arithmetic)]
pub fn latency_svg(
    path: &Path,
    title: &str,
    series: &[(&str, &[PercentilePoint])],
) -> Result<(), PlotError> {
    let err = failed(path);
    // A log scale: a saturated run's seconds and a calm run's milliseconds
    // both stay readable on one chart.
    let all_ms = || {
        series
            .iter()
            .flat_map(|(_, points)| points.iter().map(|p| p.ms))
    };
    let top_ms = all_ms().fold(1.0_f64, f64::max) * 1.2;
    let bottom_ms = all_ms()
        .filter(|ms| *ms > 0.0)
        .fold(top_ms, f64::min)
        .max(0.001)
        * 0.8;
    // Up to one nine past the last percentile below 100 %: the maximum
    // (100 %) is drawn at the right edge.
    let right = series
        .iter()
        .flat_map(|(_, points)| points.iter().filter(|p| p.percentile < 100.0))
        .map(|p| nines(p.percentile))
        .fold(1.0_f64, f64::max)
        .ceil()
        + 1.0;
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..right, (bottom_ms..top_ms).log_scale())
        .map_err(|e| err(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms, log scale)")
        .y_labels(12)
        .x_labels(right as usize + 1)
        .x_label_formatter(&|x| {
            let p = 100.0 - 100.0 * 10f64.powf(-x);
            format!("{}%", trim(p))
        })
        .draw()
        .map_err(|e| err(e.to_string()))?;
    for (i, (name, points)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                points
                    .iter()
                    .map(|p| (nines(p.percentile).min(right), p.ms.max(bottom_ms))),
                colour.stroke_width(2),
            ))
            .map_err(|e| err(e.to_string()))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))
}

/// The pictures of load runs, each series named by its run's label:
/// `{stem}-latency.svg` (POST → 202 and POST → status envelope) and
/// `{stem}-throughput.svg` (202s and outcomes per second), in `dir`.
/// Answers the file names.
pub fn load_run(
    dir: &Path,
    stem: &str,
    runs: &[(&str, &LoadResult)],
) -> Result<Vec<String>, PlotError> {
    std::fs::create_dir_all(dir).map_err(|e| failed(dir)(e.to_string()))?;
    let named = |what: &str, label: &str| {
        if label.is_empty() {
            what.to_owned()
        } else {
            format!("{what}, {label}")
        }
    };
    let mut latency_names = Vec::new();
    let mut throughput_names = Vec::new();
    for (label, _) in runs {
        latency_names.push((named("POST → status", label), named("POST → 202", label)));
        throughput_names.push((named("accepted", label), named("decided", label)));
    }
    let mut latency: Vec<(&str, &[PercentilePoint])> = Vec::new();
    let mut throughput: Vec<(&str, &[u64])> = Vec::new();
    for ((run, (status, accepted)), (acc, dec)) in runs
        .iter()
        .map(|(_, r)| *r)
        .zip(&latency_names)
        .zip(&throughput_names)
    {
        latency.push((status, &run.status_percentiles));
        latency.push((accepted, &run.accepted_percentiles));
        throughput.push((acc, &run.accepted_each_second));
        throughput.push((dec, &run.decided_each_second));
    }
    let latency_file = format!("{stem}-latency.svg");
    let throughput_file = format!("{stem}-throughput.svg");
    latency_svg(&dir.join(&latency_file), "Latency distribution", &latency)?;
    throughput_svg(&dir.join(&throughput_file), "Throughput", &throughput)?;
    Ok(vec![latency_file, throughput_file])
}

/// `99.900000` → `99.9`, `90` → `90`.
fn trim(p: f64) -> String {
    let text = format!("{p:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Commands per second, second by second, for each named series (accepted
/// and decided), written to `path`.
#[allow(clippy::float_arithmetic)]
pub fn throughput_svg(
    path: &Path,
    title: &str,
    series: &[(&str, &[u64])],
) -> Result<(), PlotError> {
    let err = failed(path);
    let seconds = series
        .iter()
        .map(|(_, s)| s.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let top = series
        .iter()
        .flat_map(|(_, s)| s.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0..seconds as u64, 0..top + top / 10 + 1)
        .map_err(|e| err(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("second of the run")
        .y_desc("commands per second")
        .draw()
        .map_err(|e| err(e.to_string()))?;
    for (i, (name, counts)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                counts.iter().enumerate().map(|(s, n)| (s as u64, *n)),
                colour.stroke_width(2),
            ))
            .map_err(|e| err(e.to_string()))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::stats::percentiles;

    fn dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ledgerctl-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_percentiles_climb_to_the_maximum() {
        let mut h = super::super::stats::histogram();
        for us in 1..=10_000u64 {
            h.record(us).unwrap();
        }
        let points = percentiles(&h);
        assert!(points.len() > 20);
        assert!(
            points
                .windows(2)
                .all(|w| w[0].percentile <= w[1].percentile && w[0].ms <= w[1].ms)
        );
        let last = points.last().unwrap();
        assert_eq!(last.percentile, 100.0);
        assert!((last.ms - 10.0).abs() < 0.02, "{last:?}");
    }

    #[test]
    fn a_percentile_plot_is_an_svg_with_a_line_per_series_and_a_nines_axis() {
        let mut h = super::super::stats::histogram();
        for us in [900u64, 1_000, 1_100, 5_000, 40_000] {
            h.record(us).unwrap();
        }
        let points = percentiles(&h);
        let path = dir().join("latency.svg");
        latency_svg(
            &path,
            "POST → status",
            &[("open loop", &points), ("closed loop", &points)],
        )
        .unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert_eq!(
            svg.matches(r#"stroke-width="2""#).count(),
            2,
            "a line per series"
        );
        for label in [
            "90%",
            "99%",
            "POST → status",
            "open loop",
            "latency (ms, log scale)",
        ] {
            assert!(svg.contains(label), "no {label}");
        }
    }

    #[test]
    fn a_throughput_plot_draws_each_series() {
        let path = dir().join("throughput.svg");
        throughput_svg(
            &path,
            "deposits",
            &[("accepted", &[10, 20, 30]), ("decided", &[5, 25, 30])],
        )
        .unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(
            svg.contains("accepted")
                && svg.contains("decided")
                && svg.contains("commands per second")
        );
        assert_eq!(
            svg.matches(r#"stroke-width="2""#).count(),
            2,
            "a line per series"
        );
    }
}
