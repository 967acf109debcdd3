//! The report's plots, as SVG: latency against turn number, latency against users, memory against
//! users; and the soak run's memory over time.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::Error;
use crate::report::{BenchReport, LoadPoint};
use crate::soak::SoakReport;
use crate::stats::Summary;

/// A named line of (x, y) points.
struct Series {
    name: &'static str,
    color: RGBColor,
    points: Vec<(f64, f64)>,
}

const MIB: f64 = 1024.0 * 1024.0;

const AOMI: RGBColor = RGBColor(0x1f, 0x6f, 0xd1);
const AOMI_LIGHT: RGBColor = RGBColor(0x7d, 0xb0, 0xf0);
const DIRECT: RGBColor = RGBColor(0xd9, 0x6c, 0x1a);
const DIRECT_LIGHT: RGBColor = RGBColor(0xf0, 0xb0, 0x7d);

/// Writes `latency-vs-turn.svg`, `latency-vs-users.svg` and `memory-vs-users.svg` (when memory
/// was measured) into `dir`; returns their paths.
pub fn write_plots(report: &BenchReport, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Io(format!("cannot create {}: {e}", dir.display())))?;
    let mut written = Vec::new();

    let turn = |pick: fn(&crate::report::TurnPoint) -> Option<Summary>| {
        report.conversation.iter().filter_map(|p| pick(p).map(|s| (p.turn as f64, s.p50_ms))).collect::<Vec<_>>()
    };
    let path = dir.join("latency-vs-turn.svg");
    line_chart(
        &path,
        "Latency against turn number (p50)",
        "turn number in the chat",
        "ms",
        vec![
            Series { name: "full turn, aomi", color: AOMI, points: turn(|p| p.aomi.full_turn) },
            Series { name: "first text, aomi", color: AOMI_LIGHT, points: turn(|p| p.aomi.first_text) },
            Series { name: "full turn, direct", color: DIRECT, points: turn(|p| p.direct.full_turn) },
            Series { name: "first text, direct", color: DIRECT_LIGHT, points: turn(|p| p.direct.first_text) },
        ],
    )?;
    written.push(path);

    let users = |pick: fn(&LoadPoint) -> Option<f64>| {
        report.concurrency.iter().filter_map(|p| pick(p).map(|y| (p.users as f64, y))).collect::<Vec<_>>()
    };
    let path = dir.join("latency-vs-users.svg");
    line_chart(
        &path,
        "Latency against simultaneous users",
        "users",
        "ms",
        vec![
            Series { name: "full turn p95, aomi", color: AOMI, points: users(|p| p.aomi.full_turn.map(|s| s.p95_ms)) },
            Series {
                name: "first text p50, aomi",
                color: AOMI_LIGHT,
                points: users(|p| p.aomi.first_text.map(|s| s.p50_ms)),
            },
            Series {
                name: "full turn p95, direct",
                color: DIRECT,
                points: users(|p| p.direct.full_turn.map(|s| s.p95_ms)),
            },
            Series {
                name: "first text p50, direct",
                color: DIRECT_LIGHT,
                points: users(|p| p.direct.first_text.map(|s| s.p50_ms)),
            },
        ],
    )?;
    written.push(path);

    if report.concurrency.iter().any(|p| p.memory.is_some()) {
        let path = dir.join("memory-vs-users.svg");
        line_chart(
            &path,
            "Server memory against simultaneous users",
            "users",
            "RSS, MiB",
            vec![
                Series {
                    name: "peak during the load",
                    color: AOMI,
                    points: users(|p| p.memory.map(|m| m.peak_bytes as f64 / MIB)),
                },
                Series {
                    name: "before the load",
                    color: DIRECT,
                    points: users(|p| p.memory.map(|m| m.before_bytes as f64 / MIB)),
                },
            ],
        )?;
        written.push(path);
    }
    Ok(written)
}

/// Writes `memory-over-time.svg` into `dir`: the server's RSS over a soak run; returns its path.
pub fn write_memory_over_time(report: &SoakReport, dir: &Path) -> Result<PathBuf, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Io(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join("memory-over-time.svg");
    let points = report.samples.iter().map(|s| (s.at_secs, s.rss_bytes as f64 / MIB)).collect();
    line_chart(
        &path,
        &format!("Server memory over time ({} users opening new chats)", report.config.users),
        "seconds",
        "RSS, MiB",
        vec![Series { name: "RSS", color: AOMI, points }],
    )?;
    Ok(path)
}

fn line_chart(path: &Path, title: &str, x_desc: &str, y_desc: &str, series: Vec<Series>) -> Result<(), Error> {
    let failed = |e: &dyn std::fmt::Display| Error::Io(format!("cannot draw {}: {e}", path.display()));
    let all = || series.iter().flat_map(|s| s.points.iter());
    let x_max = all().map(|p| p.0).fold(1.0, f64::max);
    let y_max = all().map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| failed(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..x_max * 1.02, 0.0..y_max)
        .map_err(|e| failed(&e))?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|x| if x_max < 20.0 { format!("{x:.1}") } else { format!("{x:.0}") })
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()
        .map_err(|e| failed(&e))?;
    for line in series.into_iter().filter(|s| !s.points.is_empty()) {
        let color = line.color;
        chart
            .draw_series(LineSeries::new(line.points.clone(), color.stroke_width(2)))
            .map_err(|e| failed(&e))?
            .label(line.name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart
            .draw_series(line.points.iter().map(|&point| Circle::new(point, 3, color.filled())))
            .map_err(|e| failed(&e))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| failed(&e))?;
    root.present().map_err(|e| failed(&e))?;
    Ok(())
}
