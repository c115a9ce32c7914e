//! Exact expected KL of a schedule: O(n) with compensated summation, and the preset builders.
//!
//! `cargo bench -p unmask-core --bench kl`

use divan::{Bencher, black_box};
use unmask_core::{DistSpec, expected_kl, preset, step_costs};

fn main() {
    divan::main();
}

#[divan::bench(args = [1_024, 65_536, 1_000_000])]
fn expected_kl_uniform64(bencher: Bencher, n: usize) {
    let c = DistSpec::parse(&format!("logfactor:n={n},eps=0.01"))
        .unwrap()
        .closed_curve()
        .unwrap();
    let s = preset::llada(n, 64.min(n), None)
        .unwrap_or_else(|_| preset::constant(n, n.div_ceil(64)).unwrap());
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench(|| expected_kl(black_box(&c), black_box(&s)).unwrap());
}

#[divan::bench(args = [1_024, 65_536])]
fn step_costs_uniform64(bencher: Bencher, n: usize) {
    let c = DistSpec::parse(&format!("logfactor:n={n},eps=0.01"))
        .unwrap()
        .closed_curve()
        .unwrap();
    let s = preset::constant(n, n / 64).unwrap();
    bencher.bench(|| step_costs(black_box(&c), black_box(&s)).unwrap());
}

#[divan::bench(args = [16, 256, 4096])]
fn presets_n1e6(bencher: Bencher, k: usize) {
    let n = 1_000_000;
    bencher.bench(|| {
        (
            preset::dream(n, black_box(k), 1e-3, preset::Linspace::Fused).unwrap(),
            preset::cosine(n, black_box(k)).unwrap(),
            preset::theory_budget(n, black_box(k), false).unwrap(),
        )
    });
}
