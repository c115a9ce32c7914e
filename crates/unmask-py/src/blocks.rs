//! `unmask.BlockCurves`, the estimator's random streams and grid (`estimation_orders`, `draw`,
//! `estimation_grid`) and the unit rule (`unit_name`): what the PyTorch bridge (`unmask.torch`)
//! needs from the core for block-wise decoding and for estimates that agree with the CLI's.

use numpy::{IntoPyArray, PyArray2, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use unmask_core::budget::{Budget, Cost};
use unmask_core::{BlockCurves as Blocks, DistSpec, Schedule, ScheduleSpec, Unit};

use crate::{Curve, report_dict, value_error, within_budget};

/// Conditional information curves of the blocks of a block-wise (semi-autoregressive) decoder,
/// one per block, left to right (`docs/theory.md` §9): block b's curve is that of its tokens
/// given the revealed blocks before it, with the later blocks masked.
///
/// The expected KL of a decoder that runs schedule s^(b) inside block b is
/// Σ_b Theorem16(Z^(b), s^(b)) (the chain rule); `optimal(steps=K)` spends K steps over the
/// blocks and inside each with the fewest total error. Methods return the fields of
/// `unmask plan/eval --blocks --json`.
///
/// Example::
///
///     z = unmask.Curve([0.0, 0.0, 0.0, math.log(2)])      # a 4-token parity block
///     blocks = unmask.BlockCurves([z, unmask.Curve([0.0] * 4)])
///     blocks.optimal(steps=3)["schedule"]                  # array([1, 3, 4]): (2, 1) steps
#[pyclass(name = "BlockCurves", module = "unmask", frozen)]
pub(crate) struct BlockCurves {
    pub(crate) inner: Blocks,
    /// The blocks as the Curves they were given as (their stderr and repair reports kept).
    parts: Vec<Py<Curve>>,
    pub(crate) unit: Unit,
}

impl BlockCurves {
    fn make(py: Python<'_>, parts: Vec<Curve>, unit: Unit) -> PyResult<Self> {
        let inner =
            Blocks::new(parts.iter().map(|c| c.inner.clone()).collect()).map_err(value_error)?;
        let parts = parts
            .into_iter()
            .map(|c| Py::new(py, c))
            .collect::<PyResult<_>>()?;
        Ok(BlockCurves { inner, parts, unit })
    }

    /// A flat schedule (a spec evaluated on n, or counts summing to n) cut at the block
    /// boundaries.
    fn schedules(&self, spec: &Bound<'_, PyAny>) -> PyResult<Vec<Schedule>> {
        let n = self.inner.len();
        let flat = if let Ok(text) = spec.extract::<String>() {
            ScheduleSpec::parse(&text, self.unit)
                .map_err(value_error)?
                .build(n, None)
                .map_err(value_error)?
                .schedule
        } else {
            let counts: Vec<usize> = spec.extract().map_err(|_| {
                value_error("schedule must be a spec string or a sequence of non-negative integers")
            })?;
            Schedule::from_counts(counts).map_err(value_error)?
        };
        self.inner.split(&flat).map_err(value_error)
    }
}

#[pymethods]
impl BlockCurves {
    /// Block curves from one Curve per block (all in the same unit).
    #[new]
    fn new(py: Python<'_>, curves: Vec<PyRef<'_, Curve>>) -> PyResult<Self> {
        let Some(first) = curves.first() else {
            return Err(value_error("BlockCurves needs at least one curve"));
        };
        let unit = first.unit;
        if let Some((b, c)) = curves.iter().enumerate().find(|(_, c)| c.unit != unit) {
            return Err(value_error(format!(
                "curve #{b} is in {}, curve #0 in {}; convert with Curve.to_unit",
                c.unit.name(),
                unit.name()
            )));
        }
        let parts = curves.iter().map(|c| c.copy()).collect();
        Self::make(py, parts, unit)
    }

    /// One curve shared by `blocks` blocks (a stationary source, or a guess).
    #[staticmethod]
    fn repeated(py: Python<'_>, curve: PyRef<'_, Curve>, blocks: usize) -> PyResult<Self> {
        if blocks == 0 {
            return Err(value_error("blocks must be at least 1"));
        }
        within_budget(Budget::default().check_curve_len(curve.inner.len().saturating_mul(blocks)))?;
        let parts = (0..blocks).map(|_| curve.copy()).collect();
        Self::make(py, parts, curve.unit)
    }

    /// Reads the block-curve file format (`docs/formats.md`).
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        let (blocks, unit) =
            unmask_io::read_block_curves(text, &Budget::default()).map_err(value_error)?;
        let parts = blocks
            .curves()
            .iter()
            .map(|c| Curve::plain(c.clone(), unit))
            .collect();
        Self::make(py, parts, unit)
    }

    /// The block-curve file format, in this object's unit.
    fn to_json(&self) -> String {
        String::from_utf8(unmask_io::write_block_curves(&self.inner, self.unit))
            .expect("JSON is UTF-8")
    }

    /// The curves, one per block.
    #[getter]
    fn curves(&self, py: Python<'_>) -> Vec<Py<Curve>> {
        self.parts.iter().map(|c| c.clone_ref(py)).collect()
    }

    /// Number of blocks m.
    #[getter]
    fn blocks(&self) -> usize {
        self.inner.blocks()
    }

    /// Length of the first block (all blocks have it in files and LLaDA's loop).
    #[getter]
    fn block(&self) -> usize {
        self.inner.curves()[0].len()
    }

    /// Total tokens n = Σ block lengths.
    #[getter]
    fn n(&self) -> usize {
        self.inner.len()
    }

    /// "nats" or "bits".
    #[getter]
    fn unit(&self) -> &'static str {
        self.unit.name()
    }

    /// Exact expected KL of a block-wise decoder: a flat schedule (count list, or a spec such as
    /// "llada:steps=64,block=32" evaluated on n) cut at the block boundaries. Returns the fields
    /// of `unmask eval --blocks --json` (expected_kl, schedule, steps, blocks: per-block steps,
    /// schedule, expected_kl).
    fn expected_kl<'py>(
        &self,
        py: Python<'py>,
        schedule: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let schedules = self.schedules(schedule)?;
        let (_, per) =
            unmask_core::blockwise_expected_kl(&self.inner, &schedules).map_err(value_error)?;
        let mut report =
            unmask_io::BlockwiseReport::new(self.inner.len(), self.unit, &schedules, &per);
        report.spec = schedule.extract::<String>().ok();
        report_dict(py, report)
    }

    /// The optimal block-wise decoder with exactly `steps` forward passes in all, or the fewest
    /// with total expected KL ≤ `epsilon` (in the unit): the fields of `unmask plan --blocks
    /// --json`.
    #[pyo3(signature = (steps = None, epsilon = None))]
    fn optimal<'py>(
        &self,
        py: Python<'py>,
        steps: Option<usize>,
        epsilon: Option<f64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let blocks = &self.inner;
        let (optimum, target) = match (steps, epsilon) {
            (Some(k), None) => (
                py.detach(|| unmask_core::optimal_blockwise(blocks, k)),
                unmask_io::PlanTarget::Steps(k),
            ),
            (None, Some(e)) => {
                let nats = self.unit.to_nats(e);
                (
                    py.detach(|| unmask_core::min_steps_blockwise(blocks, nats)),
                    unmask_io::PlanTarget::Epsilon(e),
                )
            }
            _ => return Err(value_error("give exactly one of steps= or epsilon=")),
        };
        let optimum = optimum.map_err(value_error)?;
        let mut report = unmask_io::BlockwiseReport::new(
            blocks.len(),
            self.unit,
            &optimum.schedules,
            &optimum.per_block,
        );
        report.target = Some(target);
        report_dict(py, report)
    }

    /// A flat schedule cut into one count array per block (ValueError when a step would cross
    /// a block boundary or the counts do not sum to n).
    fn split(&self, py: Python<'_>, schedule: &Bound<'_, PyAny>) -> PyResult<Vec<Py<PyAny>>> {
        Ok(self
            .schedules(schedule)?
            .iter()
            .map(|s| crate::counts_array(py, s).into_any().unbind())
            .collect())
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "BlockCurves(blocks={}, block={}, n={}, unit={:?})",
            self.inner.blocks(),
            self.block(),
            self.inner.len(),
            self.unit.name()
        )
    }
}

/// The random orders of estimation items `first .. first + count` under `seed`: row i is item
/// i's permutation of 0..n, the one `unmask estimate --seed SEED --first FIRST` reveals in
/// (`unmask_core::estimation_order`), so estimates from Python and the CLI agree.
#[pyfunction]
#[pyo3(signature = (n, count, seed = 0, first = 0))]
pub(crate) fn estimation_orders<'py>(
    py: Python<'py>,
    n: usize,
    count: usize,
    seed: u64,
    first: u64,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    within_budget(Budget::default().check(
        format!("{count} orders of {n} positions"),
        Cost::new(16.0 * count as f64 * n as f64, count as f64 * n as f64),
    ))?;
    let rows: Vec<i64> = py.detach(|| {
        (0..count as u64)
            .flat_map(|i| {
                let mut rng = unmask_core::stream(seed, first + i);
                unmask_core::estimation_order(n, &mut rng)
                    .into_iter()
                    .map(|j| j as i64)
            })
            .collect()
    });
    rows.into_pyarray(py)
        .reshape([count, n])
        .map_err(value_error)
}

/// `count` draws of a distribution spec, int64 (count, n): draw i is the one `unmask estimate
/// --dist SPEC --seed SEED --first FIRST` uses for item i (its stream after its order), so a
/// model evaluated on these draws with `estimation_orders` reproduces the CLI's estimate.
#[pyfunction]
#[pyo3(signature = (spec, count, seed = 0, first = 0))]
pub(crate) fn draw<'py>(
    py: Python<'py>,
    spec: &str,
    count: usize,
    seed: u64,
    first: u64,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    let dist = DistSpec::parse(spec).map_err(value_error)?;
    let budget = Budget::default();
    within_budget(budget.check(format!("building {spec}"), dist.build_cost()))?;
    let family = dist.build(None).map_err(value_error)?;
    let n = unmask_core::Oracle::len(&family);
    // A draw costs at most an oracle call over every position (forward sampling versus
    // forward–backward), plus the output.
    within_budget(budget.check(
        format!("{count} draws of {spec}"),
        dist.call_cost(n).repeated(count as f64) + Cost::memory(16.0 * count as f64 * n as f64),
    ))?;
    let rows: Vec<i64> = py.detach(|| {
        (0..count as u64)
            .flat_map(|i| {
                let mut rng = unmask_core::stream(seed, first + i);
                unmask_core::estimation_order(n, &mut rng);
                family.sample(&mut rng).into_iter().map(i64::from)
            })
            .collect()
    });
    rows.into_pyarray(py)
        .reshape([count, n])
        .map_err(value_error)
}

/// The estimation grid of the Rust estimator (`unmask estimate --points P`): revealed counts
/// t = round(k·(n−1)/P), halves away from zero, for k = 0..P, deduplicated; every t in 0..n when
/// P ≥ n − 1 (so any P costs O(n)).
#[pyfunction]
pub(crate) fn estimation_grid(n: usize, points: usize) -> PyResult<Vec<usize>> {
    if n == 0 || points == 0 {
        return Err(value_error(format!(
            "estimation_grid needs n ≥ 1 and points ≥ 1, got n = {n}, points = {points}"
        )));
    }
    Ok(unmask_core::estimation_grid(n, points))
}

/// The canonical name ("nats" or "bits") of a unit by the core's one rule (singular or plural,
/// any case), for the Python estimators to check `unit` before any forward pass.
#[pyfunction]
pub(crate) fn unit_name(name: &str) -> PyResult<&'static str> {
    Ok(name.parse::<Unit>().map_err(value_error)?.name())
}
