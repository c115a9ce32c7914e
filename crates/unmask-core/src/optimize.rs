//! Optimal schedules: the k-step optimum, the fewest steps for an error target, the frontier.
//!
//! # Definitions
//!
//! With `z[a] = Z_{a+1}` (0-based) and prefix sums `P[m] = z[0] + … + z[m−1]`, a step that
//! reveals the tokens of 0-based reveal indices `a..b−1` costs
//!
//! ```text
//! c(a, b) = Σ_{j=a}^{b−1} (z[j] − z[a]) = P[b] − P[a] − (b − a)·z[a]
//! ```
//!
//! and a schedule costs the sum over its steps (CCL Theorem 4). The optimal k-step cost is
//! `F_k = min over 0 = N_0 < N_1 < … < N_k = n of Σ_i c(N_{i−1}, N_i)`.
//!
//! Because Z is non-decreasing, c is **Monge**: for `a ≤ a' ≤ b ≤ b'`,
//! `c(a, b) + c(a', b') − c(a, b') − c(a', b) = (b' − b)(z[a] − z[a']) ≤ 0`. Hence `F_k` is
//! convex and non-increasing in k, optimal split points are monotone, and the Lagrangian
//! relaxation (a penalty λ per step) reaches every k.
//!
//! # Algorithms ([`Method`])
//!
//! - [`Method::Lagrangian`] (default): for a penalty λ the best schedule with any number of
//!   steps satisfies `G(m) = λ + P[m] + min_{a<m} (G(a) − P[a] + a·z[a] − m·z[a])`, a lower
//!   envelope of lines with non-increasing slopes `−z[a]` queried at increasing m, solved in
//!   O(n) with a monotone convex hull. λ is searched on the convex frontier: a first probe
//!   at the continuum estimate `λ ≈ C²/(2k²)` (`C = Σ sqrt(ΔZ)`), then power-law steps
//!   (`λ ∝ k^−α`, α fitted in log–log through the two probed ends of the bracket) alternating
//!   with chord steps (the slope between the two frontier points that bracket k: a chord probe
//!   either lands on k, finds a new frontier vertex, or proves the bracket collinear). When the
//!   bracketing points `p < k < q` are optimal for the same λ, the answer is spliced from them:
//!   walking both paths, a step of the q-path nested in a step of the p-path exists where the
//!   q-path's prefix and the p-path's suffix have exactly k steps, and by the Monge inequality
//!   it is optimal. Total O(n · probes), typically 2–12 probes; memory O(n).
//! - [`Method::DivideConquer`]: the layered DP `F_t(m) = min_a F_{t−1}(a) + c(a, m)` with
//!   monotone argmins found by divide and conquer, O(k·n·log n) time, O(k·n) memory.
//! - [`Method::BruteForce`]: the same DP scanning every split, O(k·n²). The reference.
//!
//! # Tie-breaking
//!
//! Several schedules can share the optimal cost (flat stretches of Z). The DP methods return,
//! among them, the one whose last step starts earliest, recursively (smallest split index).
//! The Lagrangian method returns a *balanced* optimal schedule: steps inside one flat stretch
//! of Z are made equal (larger first), and each boundary is then moved toward equal
//! neighbouring steps while the cost stays optimal (within [`tol::ABS`]` · max(1, TC)`). For
//! parity with 16 steps that is `17 × 15, 1` rather than an arbitrary optimal cut. All methods
//! agree on the cost.

use crate::curve::InformationCurve;
use crate::kl::blocks_cost;
use crate::num::Sum;
use crate::schedule::Schedule;
use crate::tol;

/// Which algorithm computes the optimal schedule (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Method {
    /// Lagrangian relaxation with an O(n) monotone-hull DP per probe (fast, O(n) memory).
    #[default]
    Lagrangian,
    /// Layered DP with divide-and-conquer argmins, O(k·n·log n) time and O(k·n) memory.
    DivideConquer,
    /// Layered DP scanning all splits, O(k·n²): the slow reference.
    BruteForce,
}

/// Invalid optimiser arguments.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OptimizeError {
    /// The step count is 0 or above n.
    #[error("steps = {steps} is out of range: it must be between 1 and n = {n}")]
    StepsOutOfRange {
        /// The requested number of steps.
        steps: usize,
        /// The curve length.
        n: usize,
    },
    /// The error target is negative, NaN or infinite.
    #[error("epsilon = {epsilon} must be a finite number ≥ 0")]
    BadEpsilon {
        /// The requested target.
        epsilon: f64,
    },
}

/// An optimal schedule with its cost and the work spent finding it.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimum {
    /// The schedule (exactly the requested number of non-empty steps).
    pub schedule: Schedule,
    /// Its exact expected KL (nats), recomputed with compensated summation.
    pub expected_kl: f64,
    /// Number of O(n) Lagrangian passes (0 for the DP methods).
    pub probes: usize,
    /// Number of block costs (or hull lines) evaluated: the running-time measure.
    pub evaluations: u64,
}

/// A point of the optimal frontier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrontierPoint {
    /// Number of steps k.
    pub steps: usize,
    /// Optimal expected KL with k steps, `F_k` (nats).
    pub expected_kl: f64,
}

/// The optimal schedule with exactly `steps` non-empty steps.
///
/// # Errors
///
/// [`OptimizeError::StepsOutOfRange`] unless `1 ≤ steps ≤ n`.
///
/// # Example
///
/// For `Z = (0, 0, ln 5, ln 5)` (Reed–Solomon, n = 4, k = 2) the best two steps reveal the two
/// free symbols first, then the rest, with zero error:
///
/// ```
/// use unmask_core::{optimal_schedule, InformationCurve, Method};
/// let l5 = 5f64.ln();
/// let z = InformationCurve::new(vec![0.0, 0.0, l5, l5])?;
/// let best = optimal_schedule(&z, 2, Method::Lagrangian)?;
/// assert_eq!(best.schedule.counts(), &[2, 2]);
/// assert_eq!(best.expected_kl, 0.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn optimal_schedule(
    curve: &InformationCurve,
    steps: usize,
    method: Method,
) -> Result<Optimum, OptimizeError> {
    let n = curve.len();
    if steps == 0 || steps > n {
        return Err(OptimizeError::StepsOutOfRange { steps, n });
    }
    let z = curve.z();
    let (path, probes, evaluations) = match method {
        Method::Lagrangian => {
            let mut search = Search::new(z);
            let mut path = search.fixed_steps(steps);
            search.balance(&mut path);
            (path, search.probes, search.evaluations)
        }
        Method::DivideConquer => layered_dp(z, steps, true),
        Method::BruteForce => layered_dp(z, steps, false),
    };
    Ok(finish(z, &path, probes, evaluations))
}

/// The schedule with the fewest steps whose expected KL is at most `epsilon` (nats), and among
/// those the one with the least error.
///
/// "At most" is up to [`tol::ABS`]` · max(1, TC)`: tied optimal schedules reach the same cost
/// with different rounding, and a target equal to a frontier value must be met.
///
/// Runs the Lagrangian search on the convex frontier: O(n · probes).
///
/// # Errors
///
/// [`OptimizeError::BadEpsilon`] for a negative or non-finite target.
///
/// # Example
///
/// A repeated token (`Z = (0, 1, 1, 1, 1)`) is sampled exactly in two steps, `(1, n − 1)`:
///
/// ```
/// use unmask_core::{min_steps, InformationCurve};
/// let z = InformationCurve::new(vec![0.0, 1.0, 1.0, 1.0, 1.0])?;
/// let best = min_steps(&z, 0.0)?;
/// assert_eq!(best.schedule.counts(), &[1, 4]);
/// assert_eq!(min_steps(&z, 4.0)?.schedule.counts(), &[5]); // TC = 4 is within budget
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn min_steps(curve: &InformationCurve, epsilon: f64) -> Result<Optimum, OptimizeError> {
    if !(epsilon.is_finite() && epsilon >= 0.0) {
        return Err(OptimizeError::BadEpsilon { epsilon });
    }
    let z = curve.z();
    let mut search = Search::new(z);
    // Optimal costs reached by different (tied) paths differ in the last bits; a target equal
    // to a frontier value must not miss it by rounding.
    let mut path = search.min_steps(epsilon + tol::ABS * curve.tc().max(1.0));
    search.balance(&mut path);
    Ok(finish(z, &path, search.probes, search.evaluations))
}

/// The optimal expected KL `F_k` for every k in `steps`.
///
/// # Errors
///
/// [`OptimizeError::StepsOutOfRange`] if any k is 0 or above n.
///
/// # Example
///
/// ```
/// use unmask_core::{frontier, InformationCurve};
/// let z = InformationCurve::new(vec![0.0, 1.0, 2.0, 3.0])?; // a straight line
/// let f: Vec<f64> = frontier(&z, &[1, 2, 4])?.iter().map(|p| p.expected_kl).collect();
/// assert_eq!(f, vec![6.0, 2.0, 0.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn frontier(
    curve: &InformationCurve,
    steps: &[usize],
) -> Result<Vec<FrontierPoint>, OptimizeError> {
    let n = curve.len();
    if let Some(&bad) = steps.iter().find(|&&k| k == 0 || k > n) {
        return Err(OptimizeError::StepsOutOfRange { steps: bad, n });
    }
    let mut search = Search::new(curve.z());
    Ok(steps
        .iter()
        .map(|&k| {
            let path = search.fixed_steps(k);
            FrontierPoint {
                steps: k,
                expected_kl: path_cost(curve.z(), &path),
            }
        })
        .collect())
}

/// The default frontier grid: 1, 2, 4, 8, …, and n itself.
///
/// # Example
///
/// ```
/// assert_eq!(unmask_core::default_frontier_steps(10), vec![1, 2, 4, 8, 10]);
/// ```
pub fn default_frontier_steps(n: usize) -> Vec<usize> {
    let mut steps: Vec<usize> = std::iter::successors(Some(1usize), |&k| k.checked_mul(2))
        .take_while(|&k| k < n)
        .collect();
    if n > 0 {
        steps.push(n);
    }
    steps
}

fn finish(z: &[f64], path: &[usize], probes: usize, evaluations: u64) -> Optimum {
    let schedule =
        Schedule::from_breakpoints(z.len(), &path[1..]).expect("optimiser paths are valid");
    Optimum {
        expected_kl: path_cost(z, path),
        schedule,
        probes,
        evaluations,
    }
}

/// Exact cost of a path of breakpoints `0 = a_0 < a_1 < … < a_p = n`.
fn path_cost(z: &[f64], path: &[usize]) -> f64 {
    blocks_cost(z, path.windows(2).map(|w| (w[0], w[1] - w[0])))
}

/// Prefix sums `P[m] = z[0] + … + z[m−1]`, each entry correctly rounded from a compensated sum.
fn prefix_sums(z: &[f64]) -> Vec<f64> {
    let mut p = Vec::with_capacity(z.len() + 1);
    let mut s = Sum::default();
    p.push(0.0);
    for &v in z {
        s.add(v);
        p.push(s.value());
    }
    p
}

/// A frontier point found by a Lagrangian probe: an optimal path with `count` steps.
#[derive(Debug, Clone)]
struct Point {
    count: usize,
    cost: f64,
    path: Vec<usize>,
}

/// A line `y = intercept − x·slope` of the lower envelope: the last step starting at `start`.
#[derive(Debug, Clone, Copy)]
struct Line {
    slope: f64,
    intercept: f64,
    start: u32,
}

impl Line {
    fn at(self, x: f64) -> f64 {
        self.intercept - x * self.slope
    }
}

/// Buffers and counters of the Lagrangian search, reused across probes.
struct Search<'a> {
    z: &'a [f64],
    p: Vec<f64>,
    g: Vec<f64>,
    parent: Vec<u32>,
    count: Vec<u32>,
    hull: Vec<Line>,
    /// A penalty to try first (continuum estimate), consumed by the first probe.
    guess: Option<f64>,
    probes: usize,
    evaluations: u64,
}

/// Safety net on the number of probes; the search converges far sooner (2–15 in practice).
const MAX_PROBES: usize = 400;

impl<'a> Search<'a> {
    fn new(z: &'a [f64]) -> Self {
        let n = z.len();
        Search {
            z,
            p: prefix_sums(z),
            g: vec![0.0; n + 1],
            parent: vec![0; n + 1],
            count: vec![0; n + 1],
            hull: Vec::new(),
            guess: None,
            probes: 0,
            evaluations: 0,
        }
    }

    fn n(&self) -> usize {
        self.z.len()
    }

    fn one_step(&self) -> Point {
        let n = self.n();
        Point {
            count: 1,
            cost: path_cost(self.z, &[0, n]),
            path: vec![0, n],
        }
    }

    fn singletons(&self) -> Point {
        let n = self.n();
        Point {
            count: n,
            cost: 0.0,
            path: (0..=n).collect(),
        }
    }

    /// One O(n) pass: the best path for penalty `lambda` per step.
    ///
    /// Lines `y = intercept − x·z[a]` enter in order of non-increasing slope `−z[a]`; the
    /// envelope is a stack (`hull`) whose front pointer `head` advances with the query x = m.
    /// On exact ties the older line (smaller a, so a longer last step) is kept.
    fn probe(&mut self, lambda: f64) -> Point {
        self.probes += 1;
        let n = self.n();
        let z = self.z;
        let hull = &mut self.hull;
        hull.clear();
        let mut head = 0usize;
        self.g[0] = 0.0;
        self.count[0] = 0;
        let mut evaluations = 0u64;
        for m in 1..=n {
            let a = m - 1;
            let new = Line {
                slope: z[a],
                intercept: self.g[a] - self.p[a] + a as f64 * z[a],
                start: a as u32,
            };
            let mut keep = true;
            while hull.len() > head {
                let l2 = hull[hull.len() - 1];
                if l2.slope == new.slope {
                    if l2.intercept <= new.intercept {
                        keep = false;
                        break;
                    }
                    hull.pop();
                    continue;
                }
                if hull.len() - head >= 2 {
                    let l1 = hull[hull.len() - 2];
                    // l2 is never strictly best once the new line arrives when x13 ≤ x12.
                    if (new.intercept - l1.intercept) * (l2.slope - l1.slope)
                        <= (l2.intercept - l1.intercept) * (new.slope - l1.slope)
                    {
                        hull.pop();
                        continue;
                    }
                }
                break;
            }
            if keep {
                hull.push(new);
            }
            let x = m as f64;
            let mut best = hull[head];
            let mut best_value = best.at(x);
            evaluations += 1;
            while head + 1 < hull.len() {
                let next = hull[head + 1];
                let v = next.at(x);
                evaluations += 1;
                if v < best_value {
                    head += 1;
                    best = next;
                    best_value = v;
                } else {
                    break;
                }
            }
            self.g[m] = lambda + self.p[m] + best_value;
            self.parent[m] = best.start;
            self.count[m] = self.count[best.start as usize] + 1;
        }
        self.evaluations += evaluations;
        let mut path = Vec::with_capacity(self.count[n] as usize + 1);
        let mut m = n;
        path.push(n);
        while m > 0 {
            m = self.parent[m] as usize;
            path.push(m);
        }
        path.reverse();
        Point {
            count: path.len() - 1,
            cost: self.fast_cost(&path),
            path,
        }
    }

    /// Among equally good schedules, moves each boundary toward equal neighbouring steps while
    /// the cost stays optimal: flat stretches of Z leave many optimal schedules, and a balanced
    /// one is the natural, robust choice (the raw Lagrangian answer can put all the slack in
    /// one step). A move is accepted when it lowers `|s_i − s_{i+1}|` and the total increase of
    /// the cost over all accepted moves stays within [`tol::ABS`]` · max(1, TC)` (prefix-sum
    /// rounding), so the result stays optimal to that tolerance. O(n) per pass, at most 64
    /// passes.
    fn balance(&self, path: &mut [usize]) {
        let (z, p) = (self.z, &self.p);
        // Runs of consecutive steps inside one flat stretch of Z cost 0 however they are cut:
        // spread them evenly (larger steps first, as LLaDA does).
        let mut i = 0;
        while i + 1 < path.len() {
            let mut j = i + 1; // the run covers steps i..j, i.e. breakpoints path[i]..=path[j]
            while j + 1 < path.len() && z[path[j + 1] - 1] == z[path[i]] {
                j += 1;
            }
            if j > i + 1 && z[path[j] - 1] == z[path[i]] {
                let (start, len, steps) = (path[i], path[j] - path[i], j - i);
                let (base, extra) = (len / steps, len % steps);
                let mut at = start;
                for (t, slot) in path[i + 1..j].iter_mut().enumerate() {
                    at += base + usize::from(t < extra);
                    *slot = at;
                }
            }
            i = j;
        }
        let cost = |a: usize, b: usize| p[b] - p[a] - (b - a) as f64 * z[a];
        let budget = tol::ABS * p[z.len()].max(1.0);
        let mut spent = 0.0;
        for _ in 0..64 {
            let mut moved = false;
            for i in 1..path.len().saturating_sub(1) {
                let (a, m, b) = (path[i - 1], path[i], path[i + 1]);
                let current = cost(a, m) + cost(m, b);
                let unbalance = |c: usize| (2 * c).abs_diff(a + b);
                // Candidates from the middle outward, only those more balanced than m.
                let mid = (a + b) / 2;
                let mut best = None;
                for d in 0..=(b - a) {
                    let candidates = [mid.checked_sub(d), mid.checked_add(d)];
                    for c in candidates.into_iter().flatten() {
                        if c <= a || c >= b || unbalance(c) >= unbalance(m) {
                            continue;
                        }
                        let increase = cost(a, c) + cost(c, b) - current;
                        if spent + increase.max(0.0) <= budget {
                            best = Some((c, increase));
                            break;
                        }
                    }
                    if best.is_some() || unbalance(mid.saturating_sub(d)) >= unbalance(m) {
                        break;
                    }
                }
                if let Some((c, increase)) = best {
                    path[i] = c;
                    spent += increase.max(0.0);
                    moved = true;
                }
            }
            if !moved {
                break;
            }
        }
    }

    /// A path's cost from prefix sums in O(steps): accurate to a few ulps of TC per step, which
    /// is all the search's decisions need (results are recomputed exactly by [`finish`]).
    fn fast_cost(&self, path: &[usize]) -> f64 {
        let (z, p) = (self.z, &self.p);
        path.windows(2)
            .map(|w| (p[w[1]] - p[w[0]] - (w[1] - w[0]) as f64 * z[w[0]]).max(0.0))
            .sum()
    }

    /// The continuum estimate of the penalty at which k steps are optimal: with
    /// `C = Σ sqrt(ΔZ)`, `F_k ≈ C²/(2k)` (digest §3), so `λ = −dF/dk ≈ C²/(2k²)`.
    fn continuum_lambda(&self, k: f64) -> f64 {
        let c: f64 = self
            .z
            .windows(2)
            .map(|w| (w[1] - w[0]).max(0.0).sqrt())
            .sum();
        c * c / (2.0 * k * k)
    }

    /// Chooses the next penalty and says whether it is the chord slope of the bracket.
    ///
    /// A warm-start guess comes first. Then, two probes out of three use a power-law model of
    /// the frontier's slope, `λ(k) ∝ k^−α` (α = 2 for the continuum `F_k ≈ C²/(2k)`, or fitted
    /// in log–log through both probed ends of the bracket), aimed at `target` steps; every third
    /// probe, and any probe the model cannot place inside the bracket, uses the chord slope,
    /// which either finds a frontier vertex inside the bracket or proves the bracket collinear.
    fn next_lambda(&mut self, b: &Bracket, target: Option<f64>) -> (f64, bool) {
        let inside = |l: f64| l > b.lam_q && l < b.lam_p;
        if let Some(guess) = self.guess.take()
            && inside(guess)
        {
            return (guess, false);
        }
        let slope = (b.p.cost - b.q.cost) / (b.q.count - b.p.count) as f64;
        let chord = (slope.clamp(b.lam_q, b.lam_p), true);
        if self.probes % 3 == 2 || b.q.count - b.p.count <= 2 {
            return chord;
        }
        let Some(k) = target else {
            return chord;
        };
        let (p, q) = (b.p.count as f64, b.q.count as f64);
        let model = match (b.probed_p, b.probed_q) {
            (true, true) if b.lam_q > 0.0 => {
                let t = (k / p).ln() / (q / p).ln();
                b.lam_p * (b.lam_q / b.lam_p).powf(t)
            }
            (true, _) => b.lam_p * (p / k).powi(2),
            (_, true) => b.lam_q * (q / k).powi(2),
            _ => return chord,
        };
        if inside(model) { (model, false) } else { chord }
    }

    /// The bracket `1 step < target < n steps`, both ends optimal for their penalties.
    fn initial_bracket(&self) -> Bracket {
        let p = self.one_step();
        let lam_p = p.cost.max(0.0);
        Bracket {
            p,
            q: self.singletons(),
            lam_p,
            lam_q: 0.0,
            probed_p: false,
            probed_q: false,
        }
    }

    /// Probes until `classify` says a probe hit the target (returned), `finished` holds, the
    /// bracket proves collinear, or the probe budget runs out.
    fn narrow(
        &mut self,
        b: &mut Bracket,
        classify: impl Fn(&Point) -> Side,
        target: impl Fn(&Bracket) -> Option<f64>,
        finished: impl Fn(&Bracket) -> bool,
    ) -> Option<Point> {
        let start = self.probes;
        while !finished(b) && self.probes - start < MAX_PROBES {
            let (lambda, chord) = self.next_lambda(b, target(b));
            if !chord && b.lam_p - b.lam_q <= 4.0 * f64::EPSILON * b.lam_p.abs() {
                break;
            }
            let r = self.probe(lambda);
            if b.p.count < r.count && r.count < b.q.count {
                match classify(&r) {
                    Side::Hit => return Some(r),
                    Side::Fewer => (b.p, b.lam_p, b.probed_p) = (r, lambda, true),
                    Side::More => (b.q, b.lam_q, b.probed_q) = (r, lambda, true),
                }
            } else if chord {
                // Nothing below the chord: p and q are both optimal for this penalty.
                break;
            } else if r.count <= b.p.count {
                b.lam_p = lambda;
            } else {
                b.lam_q = lambda;
            }
        }
        None
    }

    /// Optimal path with exactly k steps.
    fn fixed_steps(&mut self, k: usize) -> Vec<usize> {
        let n = self.n();
        if k == 1 {
            return self.one_step().path;
        }
        if k == n {
            return self.singletons().path;
        }
        self.guess = Some(self.continuum_lambda(k as f64));
        let mut b = self.initial_bracket();
        let hit = self.narrow(
            &mut b,
            |r| match r.count.cmp(&k) {
                std::cmp::Ordering::Less => Side::Fewer,
                std::cmp::Ordering::Equal => Side::Hit,
                std::cmp::Ordering::Greater => Side::More,
            },
            |_| Some(k as f64),
            |_| false,
        );
        match hit {
            Some(r) => r.path,
            None => splice(&b.p.path, &b.q.path, k),
        }
    }

    /// Fewest steps with cost ≤ epsilon (the cheapest such path).
    fn min_steps(&mut self, epsilon: f64) -> Vec<usize> {
        let mut b = self.initial_bracket();
        if b.p.cost <= epsilon {
            return b.p.path;
        }
        // F_k ≈ C²/(2k) = ε at k = C²/(2ε).
        let c2 = 2.0 * self.continuum_lambda(1.0);
        if epsilon > 0.0 && c2 > 0.0 {
            self.guess = Some(self.continuum_lambda(c2 / (2.0 * epsilon)));
        }
        self.narrow(
            &mut b,
            |r| {
                if r.cost <= epsilon {
                    Side::More
                } else {
                    Side::Fewer
                }
            },
            // F_k ≈ A/k through the point above the target: k ≈ p·F_p/ε.
            |b| {
                (epsilon > 0.0).then(|| {
                    let k = b.p.count as f64 * b.p.cost / epsilon;
                    k.clamp(b.p.count as f64 + 1.0, b.q.count as f64 - 1.0)
                })
            },
            |b| b.q.count == b.p.count + 1,
        );
        let Bracket { p, q, .. } = b;
        if q.count == p.count + 1 {
            return q.path;
        }
        // The frontier is a straight line between p and q: interpolate, then splice.
        let slope = (p.cost - q.cost) / (q.count - p.count) as f64;
        let mut k = if slope > 0.0 {
            let steps = ((p.cost - epsilon) / slope).ceil();
            p.count + (steps.max(1.0) as usize).min(q.count - p.count)
        } else {
            q.count
        };
        while k < q.count {
            let path = splice(&p.path, &q.path, k);
            if path_cost(self.z, &path) <= epsilon {
                return path;
            }
            k += 1;
        }
        q.path
    }
}

/// Two frontier points around the target and the penalties at which each is optimal.
#[derive(Debug)]
struct Bracket {
    /// Fewer steps than the target.
    p: Point,
    /// More steps than the target (or, for ε, within it).
    q: Point,
    lam_p: f64,
    lam_q: f64,
    /// Whether p (q) came from a probe rather than being the initial end.
    probed_p: bool,
    probed_q: bool,
}

/// Where a probe's result falls relative to the target.
enum Side {
    Hit,
    Fewer,
    More,
}

/// A path with exactly k steps from two optimal paths with `p < k < q` steps.
///
/// With `a` the p-path and `b` the q-path, let `j(i)` be the step of `a` containing `b_i`
/// (`a_j ≤ b_i < a_{j+1}`) and `d(i) = i − j(i)`. `d(0) = 0`, `d(q−1) ≥ q − p`, and d grows by
/// at most one per index, so at the first i₁ with `d(i₁) = k − p + 1`, `i = i₁ − 1` has
/// `d(i) = k − p` and `a_j ≤ b_i < b_{i+1} < a_{j+1}`: a b-step nested in an a-step. The path
/// `b_0..b_i, a_{j+1}..a_p` has `i + p − j = k` steps, and exchanging the nested pair for the
/// crossing pair cannot cost more (Monge), so it is optimal whenever both inputs are.
fn splice(a: &[usize], b: &[usize], k: usize) -> Vec<usize> {
    let (p, q) = (a.len() - 1, b.len() - 1);
    debug_assert!(p < k && k < q, "splice needs p < k < q ({p}, {k}, {q})");
    let target = (k - p) as isize + 1;
    let mut j = 0usize;
    let mut prev_j = 0usize;
    for (i, &bi) in b.iter().enumerate().take(q) {
        while a[j + 1] <= bi {
            j += 1;
        }
        if i as isize - j as isize == target {
            let mut path = b[..i].to_vec();
            path.extend_from_slice(&a[prev_j + 1..]);
            debug_assert_eq!(path.len(), k + 1);
            return path;
        }
        prev_j = j;
    }
    unreachable!("d(q − 1) ≥ q − p ≥ k − p + 1, so the loop returns")
}

// `a` indexes `prev` and is an argument of `cost`; an iterator would hide the recurrence.
#[allow(clippy::needless_range_loop)]
/// The layered DP `F_t(m) = min_{a<m} F_{t−1}(a) + c(a, m)`, scanning all splits or with
/// divide-and-conquer argmins. Returns the path, 0 probes, and the number of cost evaluations.
fn layered_dp(z: &[f64], k: usize, divide: bool) -> (Vec<usize>, usize, u64) {
    let n = z.len();
    let p = prefix_sums(z);
    let cost = |a: usize, b: usize| p[b] - p[a] - (b - a) as f64 * z[a];
    let mut evaluations = 0u64;
    let mut prev: Vec<f64> = (0..=n)
        .map(|m| if m == 0 { 0.0 } else { cost(0, m) })
        .collect();
    evaluations += n as u64;
    // parents[t][m]: start of the last step of the best t+2-step path to m.
    let mut parents: Vec<Vec<u32>> = Vec::with_capacity(k.saturating_sub(1));
    for t in 2..=k {
        let mut cur = vec![f64::INFINITY; n + 1];
        let mut arg = vec![0u32; n + 1];
        // With t steps, m ranges over t..=n (every step non-empty); a over t−1..m−1.
        if divide {
            let mut stack = vec![(t, n, t - 1, n - 1)];
            while let Some((lo, hi, opt_lo, opt_hi)) = stack.pop() {
                if lo > hi {
                    continue;
                }
                let mid = lo + (hi - lo) / 2;
                let (mut best, mut best_a) = (f64::INFINITY, opt_lo);
                for a in opt_lo..=opt_hi.min(mid - 1) {
                    let v = prev[a] + cost(a, mid);
                    evaluations += 1;
                    if v < best {
                        best = v;
                        best_a = a;
                    }
                }
                cur[mid] = best;
                arg[mid] = best_a as u32;
                if mid > lo {
                    stack.push((lo, mid - 1, opt_lo, best_a));
                }
                stack.push((mid + 1, hi, best_a, opt_hi));
            }
        } else {
            for m in t..=n {
                let (mut best, mut best_a) = (f64::INFINITY, t - 1);
                for a in t - 1..m {
                    let v = prev[a] + cost(a, m);
                    evaluations += 1;
                    if v < best {
                        best = v;
                        best_a = a;
                    }
                }
                cur[m] = best;
                arg[m] = best_a as u32;
            }
        }
        parents.push(arg);
        prev = cur;
    }
    let mut path = vec![n];
    let mut m = n;
    for arg in parents.iter().rev() {
        m = arg[m] as usize;
        path.push(m);
    }
    path.push(0);
    path.reverse();
    (path, 0, evaluations)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::float_cmp)]
    use super::*;

    fn curve(z: &[f64]) -> InformationCurve {
        InformationCurve::new(z.to_vec()).unwrap()
    }

    #[test]
    fn bad_arguments() {
        let c = curve(&[0.0, 1.0]);
        assert_eq!(
            optimal_schedule(&c, 0, Method::Lagrangian).unwrap_err(),
            OptimizeError::StepsOutOfRange { steps: 0, n: 2 }
        );
        assert_eq!(
            optimal_schedule(&c, 3, Method::BruteForce).unwrap_err(),
            OptimizeError::StepsOutOfRange { steps: 3, n: 2 }
        );
        assert!(matches!(
            min_steps(&c, -1.0).unwrap_err(),
            OptimizeError::BadEpsilon { .. }
        ));
        assert!(min_steps(&c, f64::NAN).is_err());
        assert!(frontier(&c, &[1, 5]).is_err());
    }

    #[test]
    fn splice_counts_and_nesting() {
        let a = vec![0, 5, 10];
        let b = vec![0, 1, 2, 3, 4, 6, 7, 8, 9, 10];
        for k in 3..9 {
            let s = splice(&a, &b, k);
            assert_eq!(s.len(), k + 1);
            assert!(s.windows(2).all(|w| w[0] < w[1]), "{s:?}");
            assert_eq!((s[0], s[k]), (0, 10));
        }
    }

    #[test]
    fn flat_and_jump_curves() {
        // Product: everything costs 0, ties everywhere.
        let flat = curve(&[0.0; 9]);
        for k in 1..=9 {
            for method in [
                Method::Lagrangian,
                Method::DivideConquer,
                Method::BruteForce,
            ] {
                let o = optimal_schedule(&flat, k, method).unwrap();
                assert_eq!(o.schedule.steps(), k);
                assert_eq!(o.schedule.wasted_steps(), 0);
                assert_eq!(o.expected_kl, 0.0);
            }
        }
        // Parity: (n − 1, 1) is exact.
        let mut z = vec![0.0; 8];
        z[7] = std::f64::consts::LN_2;
        let parity = curve(&z);
        let o = optimal_schedule(&parity, 2, Method::Lagrangian).unwrap();
        assert_eq!(o.expected_kl, 0.0);
        assert_eq!(o.schedule.counts().last(), Some(&1));
        for k in 2..=8 {
            assert_eq!(
                optimal_schedule(&parity, k, Method::Lagrangian)
                    .unwrap()
                    .expected_kl,
                0.0
            );
        }
        assert_eq!(min_steps(&parity, 0.0).unwrap().schedule.steps(), 2);
    }

    #[test]
    fn lagrangian_tie_break_is_balanced() {
        let mut z = vec![0.0; 256];
        z[255] = std::f64::consts::LN_2;
        let parity = curve(&z);
        let o = optimal_schedule(&parity, 16, Method::Lagrangian).unwrap();
        let mut expected = vec![17; 15];
        expected.push(1);
        assert_eq!(o.schedule.counts(), &expected[..]);
        let flat = optimal_schedule(&curve(&[0.0; 10]), 4, Method::Lagrangian).unwrap();
        assert_eq!(flat.schedule.counts(), &[3, 3, 2, 2]);
        assert_eq!(
            min_steps(&parity, 0.0).unwrap().schedule.counts(),
            &[255, 1]
        );
    }

    #[test]
    fn dp_tie_break_is_smallest_split() {
        let flat = curve(&[0.0; 5]);
        let o = optimal_schedule(&flat, 3, Method::BruteForce).unwrap();
        assert_eq!(o.schedule.counts(), &[1, 1, 3]);
        let o = optimal_schedule(&flat, 3, Method::DivideConquer).unwrap();
        assert_eq!(o.schedule.counts(), &[1, 1, 3]);
    }
}
