//! CCL Lemma 28's profile (`docs/theory.md` §7): the curve that forces Ω(log n / ε) steps.

/// Most blocks a `logfactor` profile may have (each is one pass of a short loop).
pub(crate) const LOG_FACTOR_MAX_BLOCKS: f64 = 1e7;

/// Number of blocks `⌊(1 + ε)^i⌋ ≤ n`: about `ln n / ln(1 + ε)` (∞ when `1 + ε` rounds to 1).
pub(crate) fn log_factor_blocks(n: usize, eps: f64) -> f64 {
    (n as f64).ln() / eps.ln_1p() + 1.0
}

/// CCL Lemma 28: `f(x) = p_i = (1+ε)^{−i} / (4 ln n)` on the blocks
/// `B_i = [⌊(1+ε)^i⌋, ⌊(1+ε)^{i+1}⌋ − 1]`, x = 1..n. f decreases, so the curve is its
/// reflection (`docs/theory.md` §7) with the leading zero every curve has:
///
/// ```text
/// Z_1 = 0,   Z_j = f(n + 1 − j)   for j = 2..n      (f(n−1), …, f(1))
/// ```
///
/// Dropping `f(n) ≈ 1/(4 n ln n)` changes the L1 lower bound by that much only.
pub(crate) fn log_factor(n: usize, eps: f64) -> Vec<f64> {
    let scale = 1.0 / (4.0 * (n as f64).ln());
    let mut f = vec![0.0; n + 1]; // f[x] for x = 1..n
    let mut x = 1usize;
    let mut i = 0i32;
    // Bounded: `parse` admits at most LOG_FACTOR_MAX_BLOCKS blocks, so i stays far inside i32
    // and the loop ends (the bound is also checked here, for direct callers).
    let blocks = log_factor_blocks(n, eps).min(LOG_FACTOR_MAX_BLOCKS) as i32 + 2;
    while x <= n && i <= blocks {
        let hi = (1.0 + eps).powi(i + 1).floor();
        let value = (1.0 + eps).powi(-i) * scale;
        while x <= n && (x as f64) < hi {
            f[x] = value;
            x += 1;
        }
        i += 1;
    }
    let mut z = vec![0.0; n];
    for (j, slot) in z.iter_mut().enumerate().skip(1) {
        *slot = f[n - j]; // paper index j + 1 ↦ f(n + 1 − (j + 1))
    }
    z
}

#[cfg(test)]
mod tests {
    use crate::DistSpec;

    #[test]
    fn log_factor_profile() {
        let c = DistSpec::parse("logfactor:n=1000,eps=0.1")
            .unwrap()
            .closed_curve()
            .unwrap();
        let z = c.z();
        assert_eq!(z[0], 0.0);
        // Blocks B_0..B_6 are empty for ε = 0.1 (⌊1.1^7⌋ = 1), so f(1) = p_7.
        let top = 1.1f64.powi(-7) / (4.0 * 1000f64.ln());
        assert!((c.z_n() - top).abs() < 1e-15, "Z_n = f(1) = p_7");
        // Roughly 1/(4 x ln n) with x = n + 1 − j.
        for j in [10usize, 100, 500, 900] {
            let x = (1000 + 1 - j) as f64;
            let approx = 1.0 / (4.0 * x * 1000f64.ln());
            assert!(
                z[j - 1] / approx > 0.8 && z[j - 1] / approx < 1.25,
                "j = {j}"
            );
        }
        // The sum over x of f is at most 1 (so TC ≤ 1).
        assert!(c.tc() <= 1.0);
    }
}
