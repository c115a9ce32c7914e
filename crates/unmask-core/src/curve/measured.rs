//! Curves from what is measured: entropy profiles, sparse points (with monotone repair), a
//! model's masked losses. Every constructor ends in [`InformationCurve::new`], so the
//! validation is the same for all.

use super::{CurveError, InformationCurve, Repair};
use crate::tol;

impl InformationCurve {
    /// Builds a curve from the entropy profile `h(t) = E H(X_i | X_S)`, `|S| = t`, `t = 0..n−1`
    /// (nats), by `Z_{t+1} = h(0) − h(t)`.
    ///
    /// # Errors
    ///
    /// [`CurveError::BadEntropy`] for a NaN, infinite or negative entropy; otherwise the errors of
    /// [`InformationCurve::new`] (an increasing profile is a decreasing curve).
    ///
    /// # Example
    ///
    /// ```
    /// use unmask_core::InformationCurve;
    /// // A token repeated 3 times over 4 symbols: nothing known, then everything.
    /// let ln4 = 4f64.ln();
    /// let c = InformationCurve::from_entropy(&[ln4, 0.0, 0.0])?;
    /// assert_eq!(c.z(), &[0.0, ln4, ln4]);
    /// # Ok::<(), unmask_core::CurveError>(())
    /// ```
    pub fn from_entropy(h: &[f64]) -> Result<Self, CurveError> {
        if h.is_empty() {
            return Err(CurveError::Empty);
        }
        for (t, &v) in h.iter().enumerate() {
            if !(v.is_finite() && v >= 0.0) {
                return Err(CurveError::BadEntropy { t, value: v });
            }
        }
        Self::new(h.iter().map(|&ht| h[0] - ht).collect())
    }

    /// Builds a length-`n` curve from sparse points `(j, Z_j)` (paper index, nats), as a model
    /// measured at a few mask ratios gives them.
    ///
    /// The points are sorted by `j`; `Z_1 = 0` is implied (a point at `j = 1` must be 0). Between
    /// two points the curve is linear, which keeps it monotone; after the last point it stays
    /// constant (the conservative choice: no information is invented).
    ///
    /// # Errors
    ///
    /// [`CurveError::PointOutOfRange`], [`CurveError::DuplicatePoint`], and the errors of
    /// [`InformationCurve::new`] (checked on the points, naming their `j`).
    ///
    /// # Example
    ///
    /// ```
    /// use unmask_core::InformationCurve;
    /// let c = InformationCurve::from_points(5, &[(3, 1.0), (5, 2.0)])?;
    /// assert_eq!(c.z(), &[0.0, 0.5, 1.0, 1.5, 2.0]);
    /// # Ok::<(), unmask_core::CurveError>(())
    /// ```
    pub fn from_points(n: usize, points: &[(usize, f64)]) -> Result<Self, CurveError> {
        if n == 0 {
            return Err(CurveError::Empty);
        }
        let mut pts: Vec<(usize, f64)> = points.to_vec();
        pts.sort_by_key(|p| p.0);
        for w in pts.windows(2) {
            if w[0].0 == w[1].0 {
                return Err(CurveError::DuplicatePoint { j: w[0].0 });
            }
        }
        for &(j, value) in &pts {
            if j == 0 || j > n {
                return Err(CurveError::PointOutOfRange { j, n });
            }
            if !value.is_finite() {
                return Err(CurveError::NotFinite { j, value });
            }
            if value < -tol::CURVE_ABS {
                return Err(CurveError::Negative { j, value });
            }
        }
        match pts.first() {
            Some(&(1, value)) if value.abs() > tol::CURVE_ABS => {
                return Err(CurveError::FirstNotZero { value });
            }
            Some(&(1, _)) => {}
            _ => pts.insert(0, (1, 0.0)),
        }
        for w in pts.windows(2) {
            if w[1].1 < w[0].1 - tol::CURVE_ABS {
                return Err(CurveError::Decreasing {
                    j: w[1].0,
                    value: w[1].1,
                    previous: w[0].1,
                });
            }
        }
        let mut z = Vec::new();
        z.try_reserve_exact(n)
            .map_err(|_| CurveError::TooLong { n })?;
        z.resize(n, 0.0);
        for w in pts.windows(2) {
            let ((j0, v0), (j1, v1)) = (w[0], w[1]);
            for (j, slot) in z.iter_mut().enumerate().take(j1).skip(j0 - 1) {
                let x = (j + 1 - j0) as f64 / (j1 - j0) as f64;
                *slot = v0 + (v1 - v0) * x;
            }
        }
        let &(j_last, v_last) = pts.last().expect("Z_1 was inserted");
        for slot in z.iter_mut().skip(j_last - 1) {
            *slot = v_last;
        }
        Self::new(z)
    }

    /// Projects an estimated curve onto the valid set and reports the largest correction.
    ///
    /// Sets `Z_1 = 0`, then replaces `Z_2..Z_n` by their least-squares non-decreasing fit
    /// (isotonic regression by pool-adjacent-violators) clamped at 0, which is the least-squares
    /// projection onto `{0 = Z_1 ≤ Z_2 ≤ …}`. Runs in O(n).
    ///
    /// # Errors
    ///
    /// [`CurveError::Empty`] and [`CurveError::NotFinite`]: no projection makes NaN meaningful.
    ///
    /// # Example
    ///
    /// ```
    /// use unmask_core::InformationCurve;
    /// let (c, fix) = InformationCurve::repair(vec![0.0, 0.3, 0.1, 0.5])?;
    /// assert_eq!(c.z(), &[0.0, 0.2, 0.2, 0.5]);
    /// assert!((fix.max_correction - 0.1).abs() < 1e-12);
    /// # Ok::<(), unmask_core::CurveError>(())
    /// ```
    pub fn repair(z: Vec<f64>) -> Result<(Self, Repair), CurveError> {
        if z.is_empty() {
            return Err(CurveError::Empty);
        }
        for (i, &v) in z.iter().enumerate() {
            if !v.is_finite() {
                return Err(CurveError::NotFinite { j: i + 1, value: v });
            }
        }
        let mut fitted = vec![0.0; z.len()];
        // Pool adjacent violators on z[1..]: blocks of (mean, weight).
        let mut blocks: Vec<(f64, usize)> = Vec::with_capacity(z.len());
        for &v in &z[1..] {
            blocks.push((v, 1));
            while blocks.len() > 1 {
                let (m2, w2) = blocks[blocks.len() - 1];
                let (m1, w1) = blocks[blocks.len() - 2];
                if m1 <= m2 {
                    break;
                }
                blocks.pop();
                let w = w1 + w2;
                *blocks.last_mut().expect("two blocks") =
                    ((m1 * w1 as f64 + m2 * w2 as f64) / w as f64, w);
            }
        }
        let mut i = 1;
        for (mean, weight) in blocks {
            for slot in &mut fitted[i..i + weight] {
                *slot = mean.max(0.0);
            }
            i += weight;
        }
        let mut repair = Repair {
            max_correction: 0.0,
            at_j: 1,
        };
        for (i, (&a, &b)) in z.iter().zip(&fitted).enumerate() {
            let d = (a - b).abs();
            if d > repair.max_correction {
                repair = Repair {
                    max_correction: d,
                    at_j: i + 1,
                };
            }
        }
        Ok((Self::new(fitted)?, repair))
    }

    /// [`InformationCurve::from_points`] after projecting the points' values onto the valid
    /// set (as [`InformationCurve::repair`] does for a full curve, with `Z_1 = 0` implied); the
    /// report's `at_j` is the paper index of the most corrected point.
    ///
    /// # Errors
    ///
    /// As [`InformationCurve::from_points`], except for monotonicity and sign, which are repaired.
    ///
    /// # Example
    ///
    /// ```
    /// use unmask_core::InformationCurve;
    /// let (c, fix) = InformationCurve::from_points_repaired(5, &[(3, 1.0), (5, 0.8)])?;
    /// assert_eq!(c.z(), &[0.0, 0.45, 0.9, 0.9, 0.9]);
    /// assert_eq!(fix.at_j, 3);
    /// # Ok::<(), unmask_core::CurveError>(())
    /// ```
    pub fn from_points_repaired(
        n: usize,
        points: &[(usize, f64)],
    ) -> Result<(Self, Repair), CurveError> {
        let mut pts = points.to_vec();
        pts.sort_by_key(|p| p.0);
        if pts.first().is_none_or(|p| p.0 != 1) {
            pts.insert(0, (1, 0.0));
        }
        let (fixed, mut report) = Self::repair(pts.iter().map(|p| p.1).collect())?;
        report.at_j = pts[report.at_j - 1].0;
        for (p, &v) in pts.iter_mut().zip(fixed.z()) {
            p.1 = v;
        }
        Ok((Self::from_points(n, &pts)?, report))
    }

    /// The curve from a model's average masked cross-entropy (or predicted entropy) `L(t)`
    /// with t random tokens revealed, measured at a few t (0 included): `Z_{t+1} = L(0) − L(t)`
    /// (`docs/theory.md` §6), linear between the measured points, projected onto valid curves
    /// (estimates are noisy; the [`Repair`] says by how much).
    ///
    /// # Errors
    ///
    /// [`CurveError::LossNotFinite`], [`CurveError::RevealedOutOfRange`],
    /// [`CurveError::NoBaselineLoss`], [`CurveError::DuplicateLoss`], and the errors of
    /// [`InformationCurve::from_points`].
    ///
    /// # Example
    ///
    /// ```
    /// use unmask_core::InformationCurve;
    /// let (c, fix) = InformationCurve::from_masked_losses(5, &[(0, 2.0), (2, 1.5), (4, 1.2)])?;
    /// assert_eq!(c.z(), &[0.0, 0.25, 0.5, 0.65, 0.8]);
    /// assert_eq!(fix.max_correction, 0.0);
    /// # Ok::<(), unmask_core::CurveError>(())
    /// ```
    pub fn from_masked_losses(
        n: usize,
        losses: &[(usize, f64)],
    ) -> Result<(Self, Repair), CurveError> {
        if let Some(&(t, value)) = losses.iter().find(|p| !p.1.is_finite()) {
            return Err(CurveError::LossNotFinite { t, value });
        }
        if let Some(&(t, _)) = losses.iter().find(|p| p.0 >= n) {
            return Err(CurveError::RevealedOutOfRange { t, n });
        }
        let mut ts: Vec<usize> = losses.iter().map(|p| p.0).collect();
        ts.sort_unstable();
        if let Some(w) = ts.windows(2).find(|w| w[0] == w[1]) {
            return Err(CurveError::DuplicateLoss { t: w[0] });
        }
        let base = losses
            .iter()
            .find(|p| p.0 == 0)
            .ok_or(CurveError::NoBaselineLoss)?
            .1;
        let points: Vec<(usize, f64)> = losses.iter().map(|&(t, l)| (t + 1, base - l)).collect();
        Self::from_points_repaired(n, &points)
    }

    /// The number of revealed tokens a mask ratio r (fraction masked) stands for in a sequence
    /// of n: `round((1 − r)·n)`.
    ///
    /// # Errors
    ///
    /// [`CurveError::BadMaskRatio`] unless `0 < r ≤ 1`.
    pub fn revealed_at_mask_ratio(n: usize, ratio: f64) -> Result<usize, CurveError> {
        if !(ratio > 0.0 && ratio <= 1.0) {
            return Err(CurveError::BadMaskRatio { ratio });
        }
        Ok(((1.0 - ratio) * n as f64).round() as usize)
    }
}
