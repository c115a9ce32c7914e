//! SVG plots (plotters, SVG backend only, no system fonts).
//!
//! Left panel: the curve Z drawn as the step function `Z_j` on `[j − 1, j)`, with a schedule's
//! left-endpoint approximation; the shaded area between them is exactly the expected KL
//! (CCL Theorem 4). Right panel: expected KL against the number of steps, log scales.

use std::path::Path;

use plotters::prelude::*;
use unmask_core::{Baseline, InformationCurve, Schedule, Unit, preset_frontier};

/// A named line of (steps, expected KL in nats).
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(usize, f64)>,
}

/// Distinct, readable line colours (the tab10 palette).
const COLORS: [RGBColor; 9] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
];

/// Most outline points drawn per panel; longer curves are subsampled (shading stays exact in
/// shape up to the subsampling).
const MAX_POINTS: usize = 4000;

fn draw(
    svg: &mut String,
    curve: &InformationCurve,
    unit: Unit,
    schedule: Option<&Schedule>,
    series: &[Series],
    title: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(svg, (1200, 460)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let (left, right) = root.split_horizontally(600);
    let n = curve.len();
    let z: Vec<f64> = curve.values_in(unit);
    let top = z.last().copied().unwrap_or(0.0).max(1e-9) * 1.05;
    let stride = n.div_ceil(MAX_POINTS).max(1);

    let mut chart = ChartBuilder::on(&left)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..n as f64, 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("tokens revealed")
        .y_desc(format!("Z ({unit})"))
        .light_line_style(WHITE)
        .draw()?;
    if let Some(schedule) = schedule {
        let shade = RGBColor(255, 140, 90).mix(0.45).filled();
        for (a, c) in schedule.blocks().filter(|&(_, c)| c > 1) {
            let left_value = z[a];
            let mut poly = vec![(a as f64, left_value)];
            let mut j = a;
            while j < a + c {
                poly.push((j as f64, z[j]));
                poly.push(((j + 1).min(a + c) as f64, z[j]));
                j += stride;
            }
            poly.push(((a + c) as f64, z[a + c - 1]));
            poly.push(((a + c) as f64, left_value));
            chart.draw_series(std::iter::once(Polygon::new(poly, shade)))?;
        }
        let steps: Vec<(f64, f64)> = schedule
            .blocks()
            .filter(|&(_, c)| c > 0)
            .flat_map(|(a, c)| [(a as f64, z[a]), ((a + c) as f64, z[a])])
            .collect();
        chart
            .draw_series(LineSeries::new(steps, RED.stroke_width(2)))?
            .label(format!("step approximation ({} steps)", schedule.steps()))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    }
    let outline: Vec<(f64, f64)> = (0..n)
        .step_by(stride)
        .flat_map(|j| [(j as f64, z[j]), ((j + stride).min(n) as f64, z[j])])
        .collect();
    chart
        .draw_series(LineSeries::new(outline, BLUE.stroke_width(2)))?
        .label("Z (information curve)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;

    // Right panel: E-KL against steps, zero errors clamped to a floor below the smallest
    // positive value so that exact schedules stay visible on the log scale.
    let positive = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| unit.from_nats(p.1)))
        .filter(|&v| v > 0.0);
    let (lo, hi) = positive.fold((f64::INFINITY, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (floor, hi) = if hi > 0.0 {
        (lo / 10.0, hi * 2.0)
    } else {
        (1e-3, 1.0)
    };
    let kmax = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .max()
        .unwrap_or(1)
        .max(2) as f64;
    let mut chart = ChartBuilder::on(&right)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((1f64..kmax).log_scale(), (floor..hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("steps (forward passes)")
        .y_desc(format!("expected KL ({unit}); floor = 0"))
        .draw()?;
    for (i, s) in series.iter().enumerate() {
        let color = if s.name == "optimal" {
            BLACK
        } else {
            COLORS[i % COLORS.len()]
        };
        let width = if s.name == "optimal" { 3 } else { 1 };
        let points: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|&(k, kl)| (k as f64, unit.from_nats(kl).max(floor)))
            .collect();
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(width)))?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Renders the plot and writes it atomically to `path`.
pub fn write(
    path: &Path,
    curve: &InformationCurve,
    unit: Unit,
    schedule: Option<&Schedule>,
    series: &[Series],
    title: &str,
) -> anyhow::Result<()> {
    let mut svg = String::new();
    draw(&mut svg, curve, unit, schedule, series, title)
        .map_err(|e| anyhow::anyhow!("drawing {}: {e}", path.display()))?;
    crate::io::write_atomic(path, svg.as_bytes())
}

/// The optimal frontier (first) and every preset's E-KL at each k of `grid`, in nats.
/// With `optimal_only`, just the frontier and the uniform preset for reference.
pub fn series(
    curve: &InformationCurve,
    grid: &[usize],
    optimal_only: bool,
) -> anyhow::Result<Vec<Series>> {
    let order: Vec<Baseline> = Baseline::frontier_order()
        .into_iter()
        .filter(|b| !optimal_only || matches!(b, Baseline::Optimal | Baseline::Uniform))
        .collect();
    Ok(preset_frontier(curve, grid, &order)?
        .into_iter()
        .map(|(b, points)| Series {
            name: b.name(),
            points: points.iter().map(|p| (p.steps, p.expected_kl)).collect(),
        })
        .collect())
}
