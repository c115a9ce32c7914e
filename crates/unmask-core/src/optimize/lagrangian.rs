//! The Lagrangian search: an O(n) monotone-hull DP per penalty, the penalty search on the
//! convex frontier, the Monge splice for collinear brackets, and balanced tie-breaking (see the
//! [parent module](super) for the mathematics).

use super::{path_cost, prefix_sums};
use crate::num::Sum;
use crate::tol;

/// A frontier point found by a Lagrangian probe: an optimal path with `count` steps.
///
/// The all-singletons end of the first bracket keeps its path implicit (`path` empty): at
/// n = 10⁸ the list `0..=n` alone would be 800 MB, and it is rarely needed.
#[derive(Debug, Clone)]
struct Point {
    count: usize,
    cost: f64,
    path: Vec<usize>,
}

impl Point {
    /// The breakpoints `0 = a_0 < … < a_count = n`.
    fn path(&self) -> std::borrow::Cow<'_, [usize]> {
        if self.path.is_empty() {
            (0..=self.count).collect::<Vec<_>>().into()
        } else {
            self.path.as_slice().into()
        }
    }

    /// Breakpoint `a_i`.
    fn at(&self, i: usize) -> usize {
        if self.path.is_empty() {
            i
        } else {
            self.path[i]
        }
    }

    fn into_path(self) -> Vec<usize> {
        if self.path.is_empty() {
            (0..=self.count).collect()
        } else {
            self.path
        }
    }
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
///
/// Memory: besides Z (8 bytes per token), each position's best last step (4 bytes), so a
/// search at n = 10⁸ holds 1.2 GB. The DP runs on `g − P` (see [`Search::probe`]), which needs
/// no prefix sums; the prefix sums at a path's breakpoints are recomputed in one pass
/// ([`Search::fast_cost`]), and [`balance`] builds its own after the search is dropped
/// (16 bytes per token at its peak).
pub(super) struct Search<'a> {
    z: &'a [f64],
    parent: Vec<u32>,
    hull: Vec<Line>,
    /// A penalty to try first (continuum estimate), consumed by the first probe.
    guess: Option<f64>,
    pub(super) probes: usize,
    pub(super) evaluations: u64,
}

/// Safety net on the number of probes; the search converges far sooner (2–15 in practice).
const MAX_PROBES: usize = 400;

impl<'a> Search<'a> {
    pub(super) fn new(z: &'a [f64]) -> Self {
        let n = z.len();
        Search {
            z,
            parent: vec![0; n + 1],
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
            path: Vec::new(),
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
        // h = g[m] − P[m], with g[m] the best cost of revealing m tokens plus λ per step.
        // Since cost(a, m) = P[m] − P[a] − (m − a)·z[a],
        //   h[m] = λ + min_a (h[a] + a·z[a] − m·z[a]),
        // lines in m with no prefix sum in them; h[m] is read once, at m + 1 (the line of a
        // last step starting at m), so it is a running scalar.
        let mut h = 0.0;
        let mut evaluations = 0u64;
        for m in 1..=n {
            let a = m - 1;
            let new = Line {
                slope: z[a],
                intercept: h + a as f64 * z[a],
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
            h = lambda + best_value;
            self.parent[m] = best.start;
        }
        self.evaluations += evaluations;
        let mut path = Vec::new();
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

    /// A path's cost from prefix sums: accurate to a few ulps of TC per step, which is all the
    /// search's decisions need (results are recomputed exactly by [`finish`]). One O(n) pass
    /// computes the prefix sums at the breakpoints (the same running sum as the probe's).
    fn fast_cost(&self, path: &[usize]) -> f64 {
        let z = self.z;
        let mut sum = Sum::default();
        let mut p_a = 0.0;
        let mut cost = 0.0;
        for w in path.windows(2) {
            for &v in &z[w[0]..w[1]] {
                sum.add(v);
            }
            let p_b = sum.value();
            cost += (p_b - p_a - (w[1] - w[0]) as f64 * z[w[0]]).max(0.0);
            p_a = p_b;
        }
        cost
    }

    /// The continuum estimate of the penalty at which k steps are optimal: with
    /// `C = Σ sqrt(ΔZ)`, `F_k ≈ C²/(2k)` (`docs/theory.md` §4), so `λ = −dF/dk ≈ C²/(2k²)`.
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
    pub(super) fn fixed_steps(&mut self, k: usize) -> Vec<usize> {
        let n = self.n();
        if k == 1 {
            return self.one_step().path;
        }
        if k == n {
            return self.singletons().into_path();
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
            None => splice_by(&b.p.path(), |i| b.q.at(i), b.q.count, k),
        }
    }

    /// Fewest steps with cost ≤ epsilon (the cheapest such path).
    pub(super) fn min_steps(&mut self, epsilon: f64) -> Vec<usize> {
        let mut b = self.initial_bracket();
        if b.p.cost <= epsilon {
            return b.p.into_path();
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
            return q.into_path();
        }
        // The frontier is a straight line between p and q: interpolate, then splice.
        let slope = (p.cost - q.cost) / (q.count - p.count) as f64;
        let mut k = if slope > 0.0 {
            let steps = ((p.cost - epsilon) / slope).ceil();
            p.count + (steps.max(1.0) as usize).min(q.count - p.count)
        } else {
            q.count
        };
        let a = p.path();
        while k < q.count {
            let path = splice_by(&a, |i| q.at(i), q.count, k);
            if path_cost(self.z, &path) <= epsilon {
                return path;
            }
            k += 1;
        }
        q.into_path()
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
#[cfg(test)]
pub(super) fn splice(a: &[usize], b: &[usize], k: usize) -> Vec<usize> {
    splice_by(a, |i| b[i], b.len() - 1, k)
}

/// [`splice`] with the q-path given by its breakpoints `b(0..=q)`, so the all-singletons path
/// need not be listed.
fn splice_by(a: &[usize], b: impl Fn(usize) -> usize, q: usize, k: usize) -> Vec<usize> {
    let p = a.len() - 1;
    debug_assert!(p < k && k < q, "splice needs p < k < q ({p}, {k}, {q})");
    let target = (k - p) as isize + 1;
    let mut j = 0usize;
    let mut prev_j = 0usize;
    for i in 0..q {
        let bi = b(i);
        while a[j + 1] <= bi {
            j += 1;
        }
        if i as isize - j as isize == target {
            let mut path: Vec<usize> = (0..i).map(&b).collect();
            path.extend_from_slice(&a[prev_j + 1..]);
            debug_assert_eq!(path.len(), k + 1);
            return path;
        }
        prev_j = j;
    }
    unreachable!("d(q − 1) ≥ q − p ≥ k − p + 1, so the loop returns")
}

/// Among equally good schedules, moves each boundary toward equal neighbouring steps while
/// the cost stays optimal: flat stretches of Z leave many optimal schedules, and a balanced
/// one is the natural, robust choice (the raw Lagrangian answer can put all the slack in
/// one step). A move is accepted when it lowers `|s_i − s_{i+1}|` and the total increase of
/// the cost over all accepted moves stays within [`tol::ABS`]` · max(1, TC)` (prefix-sum
/// rounding), so the result stays optimal to that tolerance. O(n) per pass, at most 64
/// passes.
pub(super) fn balance(z: &[f64], path: &mut [usize]) {
    let p = &prefix_sums(z);
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
