//! Optimal schedules: the Lagrangian method against divide-and-conquer and brute-force DPs on
//! identical inputs (issue 2's targets: n = 10^6 with K ∈ {16, 256, 4096} and the ε search; the
//! brute-force DP at n = 2000, K = 64 for the speed ratio; peak allocation via AllocProfiler).
//!
//! `cargo bench -p unmask-core --bench optimize`

use std::sync::OnceLock;

use divan::{Bencher, black_box};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use unmask_core::{InformationCurve, Method, min_steps, optimal_schedule};

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    divan::main();
}

/// A seeded curve with the features real ones have: a smooth concave rise, noise-sized steps,
/// flat stretches and a few jumps (ties and kinks for the optimiser).
fn curve(n: usize, seed: u64) -> InformationCurve {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut z = Vec::with_capacity(n);
    let mut level = 0.0;
    let tau = n as f64 / 8.0;
    for j in 0..n {
        if j > 0 {
            let smooth = (-(j as f64) / tau).exp() / tau;
            let extra = match rng.random_range(0..1000) {
                0 => 0.5,
                1..=300 => 0.0,
                _ => rng.random::<f64>() * 1e-4,
            };
            level += 2.0 * smooth + extra;
        }
        z.push(level);
    }
    InformationCurve::new(z).expect("monotone by construction")
}

fn million() -> &'static InformationCurve {
    static CURVE: OnceLock<InformationCurve> = OnceLock::new();
    CURVE.get_or_init(|| curve(1_000_000, 7))
}

fn method(name: &str) -> Method {
    match name {
        "lagrangian" => Method::Lagrangian,
        "divide_conquer" => Method::DivideConquer,
        _ => Method::BruteForce,
    }
}

/// Issue target: under 0.5 s each at n = 10^6.
#[divan::bench(args = [16, 256, 4096], sample_count = 5, sample_size = 1)]
fn lagrangian_n1e6(bencher: Bencher, k: usize) {
    let c = million();
    bencher.bench(|| optimal_schedule(black_box(c), k, Method::Lagrangian).unwrap());
}

/// Issue target: under 1 s at n = 10^6 (ε = 10⁻³·TC).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn min_steps_n1e6(bencher: Bencher) {
    let c = million();
    let epsilon = 1e-3 * c.tc();
    bencher.bench(|| min_steps(black_box(c), epsilon).unwrap());
}

/// The speed ratio the issue asks for: every method on the same n = 2000, K = 64 curve.
#[divan::bench(args = ["lagrangian", "divide_conquer", "brute_force"], sample_count = 5, sample_size = 1)]
fn n2000_k64(bencher: Bencher, name: &str) {
    let c = curve(2000, 8);
    bencher.bench(|| optimal_schedule(black_box(&c), 64, method(name)).unwrap());
}

/// Size sweep of every method, on identical inputs.
#[divan::bench(
    args = ["lagrangian", "divide_conquer", "brute_force"],
    consts = [64, 256, 1024, 4096],
    sample_count = 5,
    sample_size = 1
)]
fn sweep_k16<const N: usize>(bencher: Bencher, name: &str) {
    let c = curve(N, 9);
    bencher.bench(|| optimal_schedule(black_box(&c), 16.min(N), method(name)).unwrap());
}
