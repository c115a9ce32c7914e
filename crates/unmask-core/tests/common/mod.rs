//! Shared generators for the integration tests (smawk's `random_monge` trick).
#![allow(dead_code)]

use proptest::prelude::*;
use unmask_core::InformationCurve;

/// Random monotone curves with flat stretches, repeated jump sizes (ties) and random jumps.
pub fn curves(max_n: usize) -> impl Strategy<Value = InformationCurve> {
    prop::collection::vec((0u8..5, 0.0f64..1.0), 1..=max_n).prop_map(|steps| {
        let mut z = Vec::with_capacity(steps.len());
        let mut level = 0.0;
        for (i, (kind, size)) in steps.into_iter().enumerate() {
            if i > 0 {
                level += match kind {
                    0 | 1 => 0.0,           // flat stretch
                    2 => 0.25,              // equal jumps: collinear frontier points
                    3 => size * size * 3.0, // random jump
                    _ => size * 1e-3,       // tiny slope
                };
            }
            z.push(level);
        }
        InformationCurve::new(z).expect("generated curves are valid")
    })
}

/// All compositions of n into exactly k positive parts (C(n−1, k−1) of them).
pub fn compositions(n: usize, k: usize) -> Vec<Vec<usize>> {
    fn go(n: usize, k: usize, prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if k == 1 {
            prefix.push(n);
            out.push(prefix.clone());
            prefix.pop();
            return;
        }
        for first in 1..=n - (k - 1) {
            prefix.push(first);
            go(n - first, k - 1, prefix, out);
            prefix.pop();
        }
    }
    let mut out = Vec::new();
    if k >= 1 && k <= n {
        go(n, k, &mut Vec::new(), &mut out);
    }
    out
}

/// Tolerance for comparing two optimal costs on the same curve.
pub fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= 1e-12 * scale.max(1.0)
}
