//! SVG plots (plotters, SVG backend only, no system fonts).
//!
//! Left panel: the curve Z drawn as the step function `Z_j` on `[j − 1, j)`, with a schedule's
//! left-endpoint approximation; the shaded area between them is exactly the expected KL
//! (CCL Theorem 4). Right panel: expected KL against the number of steps, log scales.

use std::path::Path;

use plotters::prelude::*;
use unmask_core::{Baseline, InformationCurve, Schedule, Unit, preset_frontier};

/// A named line of (steps, expected KL in nats); `None` where the decoder is not defined at
/// that step count (an equal split of blocks that does not divide it).
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(usize, Option<f64>)>,
}

/// What else a plot marks.
#[derive(Debug, Clone, Default)]
pub struct Marks {
    /// The step budget K: a dashed vertical line on the right panel.
    pub budget: Option<usize>,
    /// The measured points of a sparse curve (1-based j): circles on the left panel.
    pub measured: Vec<usize>,
    /// The block length of a block-wise decoder: boundaries on the left panel.
    pub block: Option<usize>,
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

/// One legend entry: a colour, a dashed or solid line, and its text.
struct Entry {
    color: RGBColor,
    dashed: bool,
    text: String,
}

#[allow(clippy::too_many_lines)]
fn draw(
    svg: &mut String,
    z_nats: &[f64],
    unit: Unit,
    schedule: Option<&Schedule>,
    series: &[Series],
    title: &str,
    marks: &Marks,
) -> Result<(), Box<dyn std::error::Error>> {
    // The legend has its own strip under the panels, so it never covers data.
    let rows = (series.len() + 4).div_ceil(5);
    let strip = 16 + 22 * rows as u32;
    let root = SVGBackend::with_string(svg, (1200, 460 + strip)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let (panels, legend_area) = root.split_vertically(root.dim_in_pixel().1 - strip);
    let (left, right) = panels.split_horizontally(600);
    let mut legend: Vec<Entry> = Vec::new();
    let n = z_nats.len();
    let z: Vec<f64> = z_nats.iter().map(|&v| unit.from_nats(v)).collect();
    let top = z.iter().copied().fold(0.0, f64::max).max(1e-9) * 1.05;
    let stride = n.div_ceil(MAX_POINTS).max(1);
    let grey = RGBColor(150, 150, 150);

    let mut chart = ChartBuilder::on(&left)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..n as f64, 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("tokens revealed")
        .y_desc(format!("Z ({unit})"))
        .x_label_formatter(&|v| format!("{}", v.round() as i64))
        .light_line_style(WHITE)
        .draw()?;
    if let Some(l) = marks.block.filter(|&l| l < n) {
        let lines = (l..n).step_by(l).map(|b| {
            PathElement::new(vec![(b as f64, 0.0), (b as f64, top)], grey.stroke_width(1))
        });
        chart.draw_series(lines)?;
        legend.push(Entry {
            color: grey,
            dashed: false,
            text: format!("block boundaries (every {l} tokens)"),
        });
    }
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
        chart.draw_series(LineSeries::new(steps, RED.stroke_width(2)))?;
        legend.push(Entry {
            color: RED,
            dashed: false,
            text: format!(
                "step approximation ({} steps; shaded = expected KL)",
                schedule.steps()
            ),
        });
    }
    let outline: Vec<(f64, f64)> = (0..n)
        .step_by(stride)
        .flat_map(|j| [(j as f64, z[j]), ((j + stride).min(n) as f64, z[j])])
        .collect();
    chart.draw_series(LineSeries::new(outline, BLUE.stroke_width(2)))?;
    legend.push(Entry {
        color: BLUE,
        dashed: false,
        text: "Z (information curve)".into(),
    });
    if !marks.measured.is_empty() {
        chart.draw_series(
            marks
                .measured
                .iter()
                .filter(|&&j| (1..=n).contains(&j))
                .map(|&j| Circle::new(((j - 1) as f64 + 0.5, z[j - 1]), 4, BLUE.filled())),
        )?;
        legend.push(Entry {
            color: BLUE,
            dashed: true,
            text: format!("{} measured points (dots)", marks.measured.len()),
        });
    }

    // Right panel: E-KL against steps on log scales. A zero error cannot sit on a log axis:
    // lines are cut where they reach 0, and each zero is a triangle on the bottom edge
    // labelled "0".
    let value = |v: f64| unit.from_nats(v);
    let positive = series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|p| p.1.map(value)))
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
        .chain(marks.budget)
        .max()
        .unwrap_or(1)
        .max(2) as f64;
    let mut chart = ChartBuilder::on(&right)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((1f64..kmax * 1.05).log_scale(), (floor..hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("steps (forward passes)")
        .y_desc(format!("expected KL ({unit}); ▲ at the bottom = exactly 0"))
        .x_label_formatter(&|v| format!("{}", v.round() as i64))
        .draw()?;
    if let Some(k) = marks.budget {
        chart.draw_series(DashedLineSeries::new(
            vec![(k as f64, floor), (k as f64, hi)],
            6,
            4,
            BLACK.stroke_width(1),
        ))?;
        legend.push(Entry {
            color: BLACK,
            dashed: true,
            text: format!("budget K = {k}"),
        });
    }
    let mut zeros = false;
    for (i, s) in series.iter().enumerate() {
        let color = if s.name == "optimal" {
            BLACK
        } else {
            COLORS[i % COLORS.len()]
        };
        let width = if s.name == "optimal" { 3 } else { 1 };
        let mut segment: Vec<(f64, f64)> = Vec::new();
        let mut segments = Vec::new();
        for &(k, kl) in &s.points {
            match kl.map(value) {
                Some(v) if v > 0.0 => segment.push((k as f64, v)),
                other => {
                    if other.is_some() {
                        zeros = true;
                        chart.draw_series(std::iter::once(TriangleMarker::new(
                            (k as f64, floor * 1.25),
                            5,
                            color.filled(),
                        )))?;
                    }
                    segments.push(std::mem::take(&mut segment));
                }
            }
        }
        segments.push(segment);
        for seg in segments.into_iter().filter(|seg| !seg.is_empty()) {
            if seg.len() == 1 {
                chart.draw_series(std::iter::once(Circle::new(seg[0], 3, color.filled())))?;
            } else {
                chart.draw_series(LineSeries::new(seg, color.stroke_width(width)))?;
            }
        }
        legend.push(Entry {
            color,
            dashed: false,
            text: s.name.clone(),
        });
    }
    if zeros {
        chart.draw_series(std::iter::once(Text::new(
            "0",
            (1.0, floor * 1.1),
            ("sans-serif", 13),
        )))?;
    }

    // The legend strip: five entries a row.
    for (i, e) in legend.iter().enumerate() {
        let (x, y) = (20 + 236 * (i % 5) as i32, 12 + 22 * (i / 5) as i32);
        let style = e.color.stroke_width(if e.dashed { 1 } else { 3 });
        legend_area.draw(&PathElement::new(vec![(x, y + 6), (x + 24, y + 6)], style))?;
        legend_area.draw(&Text::new(e.text.clone(), (x + 30, y), ("sans-serif", 13)))?;
    }
    root.present()?;
    Ok(())
}

/// Renders the plot of the curve `z_nats` (a curve's values, or block curves end to end) and
/// writes it atomically to `path`.
pub fn write(
    path: &Path,
    z_nats: &[f64],
    unit: Unit,
    schedule: Option<&Schedule>,
    series: &[Series],
    title: &str,
    marks: &Marks,
) -> anyhow::Result<()> {
    let mut svg = String::new();
    draw(&mut svg, z_nats, unit, schedule, series, title, marks)
        .map_err(|e| anyhow::anyhow!("drawing {}: {e}", path.display()))?;
    crate::io::write_atomic(path, svg.as_bytes())
}

/// The optimal frontier (first) and the frontiers of `presets` at each k of `grid`, in nats.
pub fn series(
    curve: &InformationCurve,
    grid: &[usize],
    presets: &[Baseline],
) -> anyhow::Result<Vec<Series>> {
    let mut order = vec![Baseline::Optimal];
    order.extend(presets.iter().filter(|b| **b != Baseline::Optimal));
    Ok(preset_frontier(curve, grid, &order)?
        .into_iter()
        .map(|(b, points)| Series {
            name: b.name(),
            points: points
                .iter()
                .map(|p| (p.steps, Some(p.expected_kl)))
                .collect(),
        })
        .collect())
}

/// The default step counts of a block-wise frontier: m, 2m, 4m, … below n, and n.
pub fn block_grid(blocks: &unmask_core::BlockCurves) -> Vec<usize> {
    let (n, m) = (blocks.len(), blocks.blocks());
    let mut grid: Vec<usize> = std::iter::successors(Some(m), |k| Some(k * 2))
        .take_while(|&k| k < n)
        .collect();
    grid.push(n);
    grid
}

/// The block-wise lines (the optimal allocation, LLaDA's and cosine's equal splits) at each k
/// of `grid`, in nats.
pub fn block_series(
    blocks: &unmask_core::BlockCurves,
    grid: &[usize],
) -> anyhow::Result<Vec<Series>> {
    Ok(unmask_core::blockwise_frontier(blocks, grid)?
        .into_iter()
        .map(|(name, points)| Series {
            name: name.to_string(),
            points,
        })
        .collect())
}

/// The block-wise plot of `compare --blocks` and `frontier --blocks`: the concatenated block
/// curves with the optimal allocation's step approximation at `budget`, and the frontiers of
/// the optimal allocation and of LLaDA's and cosine's equal splits over `grid`, block
/// boundaries marked.
pub fn write_blockwise(
    path: &std::path::Path,
    blocks: &unmask_core::BlockCurves,
    grid: &[usize],
    budget: usize,
    unit: unmask_core::Unit,
) -> anyhow::Result<()> {
    let optimal = unmask_core::optimal_blockwise(blocks, budget)?;
    let lines = block_series(blocks, grid)?;
    let marks = Marks {
        budget: Some(budget),
        measured: Vec::new(),
        block: blocks.uniform_block_len(),
    };
    write(
        path,
        &blocks.concatenated(),
        unit,
        Some(&optimal.flat()),
        &lines,
        &format!(
            "{} blocks: the optimal allocation against equal splits",
            blocks.blocks()
        ),
        &marks,
    )
}
