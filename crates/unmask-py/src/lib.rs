//! Python bindings of unmask (`unmask._unmask`): a thin layer over `unmask-core`.
//!
//! Numbers cross as NumPy arrays (one copy into the validated curve, none on the way back: the
//! schedule's buffer becomes the array); long computations release the interpreter lock. Every
//! core error becomes a `ValueError` carrying the same message as the CLI. The documented Python
//! API is `python/unmask/__init__.py`, which re-exports these names.

mod blocks;

use numpy::{AllowTypeChange, IntoPyArray, PyArray1, PyArray2, PyArrayLike1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use unmask_core::budget::Budget;
use unmask_core::{
    DistSpec, InformationCurve, Method, Repair, Schedule, ScheduleSpec, Unit,
    default_frontier_steps,
};

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// The resource policy's refusal as a `ValueError` (the CLI's message, without its flags: the
/// bindings use the default budget of `unmask_core::budget`).
fn within_budget(check: Result<(), unmask_core::budget::OverBudget>) -> PyResult<()> {
    check.map_err(value_error)
}

/// A 1-D array of numbers from any NumPy array or sequence, as a ValueError when it is not one
/// (wrong shape, strings, ...).
fn numbers(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<f64>> {
    let array = obj
        .extract::<PyArrayLike1<'_, f64, AllowTypeChange>>()
        .map_err(|e| value_error(format!("{what} must be a 1-D array of numbers: {e}")))?;
    Ok(array.as_array().to_vec())
}

fn unit_of(name: &str) -> PyResult<Unit> {
    name.parse::<Unit>().map_err(value_error)
}

/// An information curve Z_1..Z_n (validated), in the unit it was given in.
///
/// Curve(z, unit="nats") rejects NaN/inf, negative values, Z_1 != 0 and decreases with a
/// ValueError naming the index and value; use Curve.repair for noisy estimates.
#[pyclass(name = "Curve", module = "unmask", frozen)]
struct Curve {
    inner: InformationCurve,
    unit: Unit,
    /// What repairing changed (nats), when the curve was repaired.
    repair: Option<Repair>,
    /// The positions j measured, for a curve from sparse points or losses (else empty).
    measured: Vec<usize>,
    /// (j, standard error) of an estimated curve.
    stderr: Option<Vec<(usize, f64)>>,
}

impl Curve {
    fn plain(inner: InformationCurve, unit: Unit) -> Self {
        Curve {
            inner,
            unit,
            repair: None,
            measured: Vec::new(),
            stderr: None,
        }
    }

    /// A copy (the class is frozen; block curves keep their own).
    fn copy(&self) -> Self {
        Curve {
            inner: self.inner.clone(),
            unit: self.unit,
            repair: self.repair,
            measured: self.measured.clone(),
            stderr: self.stderr.clone(),
        }
    }

    fn out(&self, nats: f64) -> f64 {
        self.unit.from_nats(nats)
    }
}

#[pymethods]
impl Curve {
    #[new]
    #[pyo3(signature = (z, unit = "nats"))]
    fn new(z: &Bound<'_, PyAny>, unit: &str) -> PyResult<Self> {
        let unit = unit_of(unit)?;
        let mut values = numbers(z, "z")?;
        if unit != Unit::Nats {
            values.iter_mut().for_each(|v| *v = unit.to_nats(*v));
        }
        let curve = InformationCurve::new(values).map_err(value_error)?;
        Ok(Curve::plain(curve, unit))
    }

    /// Curve from the entropy profile h(0..n-1) (Z_{t+1} = h(0) - h(t)).
    #[staticmethod]
    #[pyo3(signature = (h, unit = "nats"))]
    fn from_entropy(h: &Bound<'_, PyAny>, unit: &str) -> PyResult<Self> {
        let unit = unit_of(unit)?;
        let h: Vec<f64> = numbers(h, "h")?
            .into_iter()
            .map(|v| unit.to_nats(v))
            .collect();
        Ok(Curve::plain(
            InformationCurve::from_entropy(&h).map_err(value_error)?,
            unit,
        ))
    }

    /// Curve of length n from sparse points [(j, Z_j)] (linear between points, constant after
    /// the last; Z_1 = 0 implied). With repair=True the point values are first projected onto
    /// the monotone cone and the largest correction is recorded in `correction`.
    #[staticmethod]
    #[pyo3(signature = (n, points, unit = "nats", repair = false, stderr = None))]
    fn from_points(
        n: usize,
        points: Vec<(usize, f64)>,
        unit: &str,
        repair: bool,
        stderr: Option<Vec<(usize, f64)>>,
    ) -> PyResult<Self> {
        let unit = unit_of(unit)?;
        within_budget(Budget::default().check_curve_len(n))?;
        let pts: Vec<(usize, f64)> = points.iter().map(|&(j, z)| (j, unit.to_nats(z))).collect();
        let (inner, repair) = if repair {
            let (c, r) = InformationCurve::from_points_repaired(n, &pts).map_err(value_error)?;
            (c, Some(r))
        } else {
            (
                InformationCurve::from_points(n, &pts).map_err(value_error)?,
                None,
            )
        };
        Ok(Curve {
            inner,
            unit,
            repair,
            measured: points.iter().map(|p| p.0).collect(),
            stderr,
        })
    }

    /// Curve from what a user measures: the average masked-token cross-entropy (or predicted
    /// entropy) `losses[i]` of a model when `revealed[i]` random tokens are unmasked, t = 0
    /// included (or at `mask_ratios[i]`, the fraction masked: t = round((1 − r)·n), r = 1
    /// included). `Z_{t+1} = L(0) − L(t)`, linear between measurements; the monotone repair of
    /// the points is applied and reported in `correction` (never hidden). The same conversion as
    /// the CLI's loss files (`{"unit", "n", "losses" | "mask_ratios"}`).
    #[staticmethod]
    #[pyo3(signature = (n, revealed = None, losses = None, unit = "nats", mask_ratios = None))]
    fn from_masked_losses(
        n: usize,
        revealed: Option<Vec<usize>>,
        losses: Option<&Bound<'_, PyAny>>,
        unit: &str,
        mask_ratios: Option<Vec<f64>>,
    ) -> PyResult<Self> {
        let unit = unit_of(unit)?;
        let losses = numbers(
            losses.ok_or_else(|| value_error("give losses= (one per measurement)"))?,
            "losses",
        )?;
        within_budget(Budget::default().check_curve_len(n))?;
        let ts: Vec<usize> = match (revealed, mask_ratios) {
            (Some(t), None) => t,
            (None, Some(r)) => r
                .iter()
                .map(|&r| InformationCurve::revealed_at_mask_ratio(n, r))
                .collect::<Result<_, _>>()
                .map_err(value_error)?,
            _ => return Err(value_error("give exactly one of revealed= or mask_ratios=")),
        };
        if ts.len() != losses.len() {
            return Err(value_error(format!(
                "{} measurement points but {} losses",
                ts.len(),
                losses.len()
            )));
        }
        let measured = ts.iter().map(|t| t + 1).collect();
        let pairs: Vec<(usize, f64)> = ts
            .into_iter()
            .zip(losses)
            .map(|(t, l)| (t, unit.to_nats(l)))
            .collect();
        let (inner, r) = InformationCurve::from_masked_losses(n, &pairs).map_err(value_error)?;
        Ok(Curve {
            inner,
            unit,
            repair: Some(r),
            measured,
            stderr: None,
        })
    }

    /// The least-squares projection of noisy values onto valid curves (Z_1 = 0, non-negative,
    /// non-decreasing); `correction` holds (largest change, at j).
    #[staticmethod]
    #[pyo3(signature = (z, unit = "nats"))]
    fn repair(z: &Bound<'_, PyAny>, unit: &str) -> PyResult<Self> {
        let unit = unit_of(unit)?;
        let values: Vec<f64> = numbers(z, "z")?
            .into_iter()
            .map(|v| unit.to_nats(v))
            .collect();
        let (inner, report) = InformationCurve::repair(values).map_err(value_error)?;
        Ok(Curve {
            inner,
            unit,
            repair: Some(report),
            measured: Vec::new(),
            stderr: None,
        })
    }

    /// The curve of a distribution spec, by the CLI's policy: closed form (product, parity,
    /// repeat, mds, logfactor, rs), exact from the structure (markov, small codes), or estimated
    /// (large random codes, hmm, mixture), as `unmask curve --dist SPEC` prints it.
    #[staticmethod]
    #[pyo3(signature = (spec, unit = "nats"))]
    fn from_dist(spec: &str, unit: &str) -> PyResult<Self> {
        let unit = unit_of(unit)?;
        let dist = DistSpec::parse(spec).map_err(value_error)?;
        within_budget(dist.check_curve(&Budget::default()))?;
        // The CLI's policy (`DistSpec::curve`): closed form, exact, or estimated.
        let (curve, _) = dist.curve(None).map_err(value_error)?;
        Ok(Curve::plain(curve, unit))
    }

    /// Number of positions n.
    #[getter]
    fn n(&self) -> usize {
        self.inner.len()
    }

    /// The values Z_1..Z_n (numpy array, in `unit`).
    #[getter]
    fn z<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.inner.values_in(self.unit).into_pyarray(py)
    }

    /// Total correlation TC = sum of Z.
    #[getter]
    fn tc(&self) -> f64 {
        self.out(self.inner.tc())
    }

    /// Dual total correlation DTC = n Z_n - TC.
    #[getter]
    fn dtc(&self) -> f64 {
        self.out(self.inner.dtc())
    }

    /// Sum of I(X_i; X_-i) = n Z_n = TC + DTC.
    #[getter]
    fn sum_mi(&self) -> f64 {
        self.out(self.inner.sum_mi())
    }

    /// "nats" or "bits".
    #[getter]
    fn unit(&self) -> &'static str {
        self.unit.name()
    }

    /// (largest correction, at j) if the curve was repaired, else None.
    #[getter]
    fn correction(&self) -> Option<(f64, usize)> {
        self.repair
            .map(|r| (self.unit.from_nats(r.max_correction), r.at_j))
    }

    /// The positions j (1-based) measured, for a curve from sparse points or masked losses:
    /// past the last one the curve is held flat, and plans report `unmeasured_tail`.
    #[getter]
    fn measured(&self) -> Vec<usize> {
        self.measured.clone()
    }

    /// [(j, standard error)] of an estimated curve, else None.
    #[getter]
    fn stderr(&self) -> Option<Vec<(usize, f64)>> {
        self.stderr.clone()
    }

    /// The same curve expressed in another unit.
    fn to_unit(&self, unit: &str) -> PyResult<Self> {
        Ok(Curve {
            inner: self.inner.clone(),
            unit: unit_of(unit)?,
            repair: self.repair,
            measured: self.measured.clone(),
            stderr: self.stderr.clone(),
        })
    }

    /// Reads the CLI's curve file format: {"unit", "z"} or {"unit", "entropy"} or
    /// {"unit", "n", "points": [[j, Z_j], …]} (strictly validated; see `Curve.repair`).
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        let read = unmask_io::read_curve_full(
            text,
            unmask_io::Format::Json,
            None,
            false,
            &Budget::default(),
        )
        .map_err(value_error)?;
        Ok(Curve {
            repair: read.repair,
            measured: read.measured,
            ..Curve::plain(read.curve, read.unit)
        })
    }

    /// The curve file the CLI writes (`unmask curve --out FILE.json`), byte for byte.
    fn to_json(&self) -> String {
        let bytes = unmask_io::write_curve(&self.inner, self.unit, unmask_io::Format::Json);
        String::from_utf8(bytes).expect("JSON is UTF-8")
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "Curve(n={}, tc={:.6}, dtc={:.6}, unit='{}')",
            self.inner.len(),
            self.tc(),
            self.dtc(),
            self.unit.name()
        )
    }
}

/// A schedule argument: a spec string or a sequence of counts.
fn schedule_arg(spec: &Bound<'_, PyAny>, curve: &Curve) -> PyResult<Schedule> {
    if let Ok(text) = spec.extract::<String>() {
        let parsed = ScheduleSpec::parse(&text, curve.unit).map_err(value_error)?;
        return Ok(parsed
            .build(curve.inner.len(), Some(&curve.inner))
            .map_err(value_error)?
            .schedule);
    }
    let counts: Vec<usize> = spec.extract().map_err(|_| {
        value_error("schedule must be a spec string or a sequence of non-negative integers")
    })?;
    let s = Schedule::from_counts(counts).map_err(value_error)?;
    if s.len() != curve.inner.len() {
        return Err(value_error(format!(
            "the counts sum to {}, expected n = {}",
            s.len(),
            curve.inner.len()
        )));
    }
    Ok(s)
}

fn counts_array<'py>(py: Python<'py>, s: &Schedule) -> Bound<'py, PyArray1<i64>> {
    s.counts()
        .iter()
        .map(|&c| c as i64)
        .collect::<Vec<_>>()
        .into_pyarray(py)
}

/// Exact expected KL of a schedule (CCL Theorem 16), in the curve's unit.
#[pyfunction]
fn expected_kl(curve: &Curve, schedule: &Bound<'_, PyAny>) -> PyResult<f64> {
    let s = schedule_arg(schedule, curve)?;
    Ok(curve.out(unmask_core::expected_kl(&curve.inner, &s).map_err(value_error)?))
}

/// A report of `unmask_io` (the CLI's `--json` document) as a Python dict: objects become
/// dicts, numbers ints or floats, null None, and every `"schedule"` a NumPy int64 array.
fn report_dict<'py>(
    py: Python<'py>,
    report: impl serde::Serialize,
) -> PyResult<Bound<'py, PyDict>> {
    let value = serde_json::to_value(report).map_err(value_error)?;
    let object = to_py(py, &value, false)?;
    Ok(object.cast_into::<PyDict>()?)
}

/// [`report_dict`] for a report about `curve` and the schedule it stands on, with the CLI's
/// `repair` and `unmeasured_tail` fields when there is something to say
/// ([`unmask_io::add_input_notes`]).
fn curve_report_dict<'py>(
    py: Python<'py>,
    curve: &Curve,
    schedule: Option<&unmask_core::Schedule>,
    report: impl serde::Serialize,
) -> PyResult<Bound<'py, PyDict>> {
    let mut value = serde_json::to_value(report).map_err(value_error)?;
    let tail = schedule.and_then(|s| {
        unmask_core::unmeasured_tail(&curve.inner, &curve.measured, s)
            .ok()
            .flatten()
    });
    unmask_io::add_input_notes(&mut value, curve.repair, tail, curve.unit);
    Ok(to_py(py, &value, false)?.cast_into::<PyDict>()?)
}

fn to_py<'py>(
    py: Python<'py>,
    value: &serde_json::Value,
    counts: bool,
) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(x) => match (x.as_u64(), x.as_i64()) {
            (Some(u), _) => u.into_pyobject(py)?.into_any(),
            (None, Some(i)) => i.into_pyobject(py)?.into_any(),
            _ => x.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(t) => t.into_pyobject(py)?.into_any(),
        Value::Array(items) if counts => items
            .iter()
            .map(|v| v.as_i64().unwrap_or(0))
            .collect::<Vec<i64>>()
            .into_pyarray(py)
            .into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item, false)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let d = PyDict::new(py);
            for (k, v) in map {
                d.set_item(k, to_py(py, v, k == "schedule")?)?;
            }
            d.into_any()
        }
    })
}

/// The optimal schedule with exactly `steps` passes, or the fewest passes with expected KL ≤
/// `epsilon` (in the curve's unit). Returns the fields of `unmask plan --json` (schema_version, n,
/// unit, steps, schedule, expected_kl, target, probes).
#[pyfunction]
#[pyo3(signature = (curve, steps = None, epsilon = None))]
fn optimal_schedule<'py>(
    py: Python<'py>,
    curve: &Curve,
    steps: Option<usize>,
    epsilon: Option<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let inner = &curve.inner;
    let optimum = match (steps, epsilon) {
        (Some(k), None) => {
            py.detach(|| unmask_core::optimal_schedule(inner, k, Method::Lagrangian))
        }
        (None, Some(e)) => {
            let e = curve.unit.to_nats(e);
            py.detach(|| unmask_core::min_steps(inner, e))
        }
        _ => return Err(value_error("give exactly one of steps= or epsilon=")),
    }
    .map_err(value_error)?;
    let target = match (steps, epsilon) {
        (Some(k), _) => unmask_io::PlanTarget::Steps(k),
        (_, e) => unmask_io::PlanTarget::Epsilon(e.unwrap_or_default()),
    };
    curve_report_dict(
        py,
        curve,
        Some(&optimum.schedule),
        unmask_io::PlanReport::new(inner.len(), curve.unit, target, &optimum),
    )
}

/// Seconds the Rust library spends on optimal_schedule(curve, steps), best of `repeats`: the
/// reference for the Python benchmark.
#[pyfunction]
fn _rust_seconds_optimal(
    py: Python<'_>,
    curve: &Curve,
    steps: usize,
    repeats: usize,
) -> PyResult<f64> {
    let inner = &curve.inner;
    py.detach(|| {
        let mut best = f64::INFINITY;
        for _ in 0..repeats.max(1) {
            let start = std::time::Instant::now();
            let o = unmask_core::optimal_schedule(inner, steps, Method::Lagrangian);
            best = best.min(start.elapsed().as_secs_f64());
            o.map_err(value_error)?;
        }
        Ok(best)
    })
}

/// The counts of a schedule spec (any preset of the CLI) for n tokens; curve-based presets
/// (sqrt, optimal) need `curve`.
#[pyfunction]
#[pyo3(signature = (spec, n, curve = None, unit = "nats"))]
fn schedule<'py>(
    py: Python<'py>,
    spec: &str,
    n: usize,
    curve: Option<&Curve>,
    unit: &str,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let unit = curve.map_or(unit_of(unit), |c| Ok(c.unit))?;
    within_budget(Budget::default().check_curve_len(n))?;
    if let Some(c) = curve
        && c.inner.len() != n
    {
        return Err(value_error(format!(
            "the curve has n = {}, but n = {n} was given",
            c.inner.len()
        )));
    }
    let parsed = ScheduleSpec::parse(spec, unit).map_err(value_error)?;
    let built = parsed
        .build(n, curve.map(|c| &c.inner))
        .map_err(value_error)?;
    Ok(counts_array(py, &built.schedule))
}

/// Preset names as `unmask compare --presets` reads them (None: every preset).
fn baselines(presets: Option<Vec<String>>) -> PyResult<Vec<unmask_core::Baseline>> {
    match presets {
        None => Ok(unmask_core::Baseline::ALL.to_vec()),
        Some(names) => names
            .iter()
            .map(|n| unmask_core::Baseline::parse(n).map_err(PyValueError::new_err))
            .collect(),
    }
}

/// Optimal expected KL against the number of steps (default 1, 2, 4, …, n), and the presets'
/// (default all; names as in `unmask frontier --presets`), with the speed-up at `budget`
/// (default min(64, n)): {n, unit, points, presets, speedup} like `unmask frontier --json`.
#[pyfunction]
#[pyo3(signature = (curve, steps = None, presets = None, budget = None))]
fn frontier<'py>(
    py: Python<'py>,
    curve: &Curve,
    steps: Option<Vec<usize>>,
    presets: Option<Vec<String>>,
    budget: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let inner = &curve.inner;
    let grid = steps.unwrap_or_else(|| default_frontier_steps(inner.len()));
    let order = match presets {
        None => unmask_core::Baseline::frontier_order(),
        some => baselines(some)?,
    };
    let budget = budget.unwrap_or(64.min(inner.len()));
    let report = py
        .detach(|| unmask_io::FrontierReport::compute(inner, curve.unit, &grid, &order, budget))
        .map_err(value_error)?;
    // The tail note is about the optimum at the budget, optimised only for a sparse curve.
    let at_budget = if curve.measured.is_empty() {
        None
    } else {
        let best = py.detach(|| unmask_core::optimal_schedule(inner, budget, Method::Lagrangian));
        Some(best.map_err(value_error)?.schedule)
    };
    curve_report_dict(py, curve, at_budget.as_ref(), report)
}

/// The presets (default all; names as in `unmask compare --presets`) at a step budget against
/// the optimum: {n, unit, steps, optimal_kl, rows, speedup} like `unmask compare --json`.
#[pyfunction]
#[pyo3(signature = (curve, steps, presets = None))]
fn compare<'py>(
    py: Python<'py>,
    curve: &Curve,
    steps: usize,
    presets: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyDict>> {
    let inner = &curve.inner;
    let order = baselines(presets)?;
    let cmp = py
        .detach(|| unmask_core::compare_presets(inner, steps, &order))
        .map_err(value_error)?;
    curve_report_dict(
        py,
        curve,
        cmp.rows.last().map(|r| &r.schedule),
        unmask_io::CompareReport::new(inner.len(), curve.unit, steps, &cmp),
    )
}

/// The (batch_size, steps) int64 array of per-step counts that LLaDA-style generate() loops
/// consume as num_transfer_tokens.
#[pyfunction]
fn transfer_counts<'py>(
    py: Python<'py>,
    schedule: &Bound<'py, PyAny>,
    batch_size: usize,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    let counts: Vec<i64> = schedule
        .extract::<PyArrayLike1<'_, i64, AllowTypeChange>>()
        .map_err(|e| value_error(format!("schedule must be a 1-D array of counts: {e}")))?
        .as_array()
        .to_vec();
    if let Some((i, c)) = counts.iter().enumerate().find(|(_, c)| **c < 0) {
        return Err(value_error(format!("count #{} ({c}) is negative", i + 1)));
    }
    Schedule::from_counts(counts.iter().map(|&c| c as usize).collect()).map_err(value_error)?;
    if batch_size == 0 {
        return Err(value_error("batch_size must be at least 1"));
    }
    within_budget(Budget::default().check(
        format!("a ({batch_size}, {}) array of counts", counts.len()),
        unmask_core::budget::Cost::memory(16.0 * batch_size as f64 * counts.len() as f64),
    ))?;
    let rows: Vec<Vec<i64>> = vec![counts; batch_size];
    PyArray2::from_vec2(py, &rows).map_err(value_error)
}

/// unmask: optimal unmasking schedules for masked diffusion models.
#[pymodule]
fn _unmask(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Curve>()?;
    m.add_class::<blocks::BlockCurves>()?;
    m.add_function(wrap_pyfunction!(blocks::estimation_orders, m)?)?;
    m.add_function(wrap_pyfunction!(blocks::draw, m)?)?;
    m.add_function(wrap_pyfunction!(expected_kl, m)?)?;
    m.add_function(wrap_pyfunction!(optimal_schedule, m)?)?;
    m.add_function(wrap_pyfunction!(_rust_seconds_optimal, m)?)?;
    m.add_function(wrap_pyfunction!(schedule, m)?)?;
    m.add_function(wrap_pyfunction!(frontier, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(transfer_counts, m)?)?;
    m.add_function(wrap_pyfunction!(blocks::estimation_grid, m)?)?;
    m.add_function(wrap_pyfunction!(blocks::unit_name, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
