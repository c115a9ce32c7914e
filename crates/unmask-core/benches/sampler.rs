//! Distributions and samplers (issue 3's targets): the exact Markov curve at n = 10^4 against
//! subset enumeration at small n, sampler throughput (samples/s, 2 cores), and the Monte Carlo
//! expected KL with 10^5 samples.
//!
//! `cargo bench -p unmask-core --bench sampler`

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use unmask_core::{
    DistSpec, Family, FileData, Rule, Schedule, Table, exact_law, mc_expected_kl, sample_batch,
};

fn main() {
    divan::main();
}

fn build(spec: &str) -> Family {
    DistSpec::parse(spec).unwrap().build(None).unwrap()
}

/// Issue target: under 5 s at n = 10^4, q = 4 (O(n²) gap formula).
#[divan::bench(args = [1_000, 10_000], sample_count = 3, sample_size = 1)]
fn markov_exact_curve(bencher: Bencher, n: usize) {
    let stay = build(&format!("markov:n={n},q=4,stay=0.9"));
    bencher.bench(|| black_box(&stay).exact_curve().unwrap());
}

/// The same with a dense 4×4 matrix (general chains).
#[divan::bench(sample_count = 3, sample_size = 1)]
fn markov_exact_curve_dense_n10000(bencher: Bencher) {
    let rows = vec![
        vec![0.7, 0.1, 0.1, 0.1],
        vec![0.2, 0.6, 0.1, 0.1],
        vec![0.05, 0.05, 0.8, 0.1],
        vec![0.25, 0.25, 0.25, 0.25],
    ];
    let d = DistSpec::parse("markov:n=10000,matrix=m")
        .unwrap()
        .build(Some(FileData::Matrix(rows)))
        .unwrap();
    bencher.bench(|| black_box(&d).exact_curve().unwrap());
}

/// The naive method on the same family: enumerate every subset of an explicit table.
#[divan::bench(args = [8, 10, 12], sample_count = 3, sample_size = 1)]
fn naive_enumeration_curve(bencher: Bencher, n: usize) {
    let chain = build(&format!("markov:n={n},q=2,stay=0.9"));
    let table = Family::Table(Table::new(2, n, exact_law(&chain).unwrap()).unwrap());
    bencher.bench(|| black_box(&table).exact_curve().unwrap());
}

/// The formula at the naive method's sizes.
#[divan::bench(args = [8, 10, 12], sample_count = 3, sample_size = 1)]
fn formula_curve_small(bencher: Bencher, n: usize) {
    let chain = build(&format!("markov:n={n},q=2,stay=0.9"));
    bencher.bench(|| black_box(&chain).exact_curve().unwrap());
}

const BATCH: usize = 256;

/// Issue target: ≥ 500 samples/s for markov n = 1024, q = 8, 64 steps.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn sampler_markov_n1024_q8_k64(bencher: Bencher) {
    let d = build("markov:n=1024,q=8,stay=0.9");
    let rule = Rule::RandomOrder(unmask_core::preset::llada(1024, 64, None).unwrap());
    bencher
        .counter(ItemsCount::new(BATCH))
        .bench(|| sample_batch(&d, &rule, BATCH, 1, 0).unwrap());
}

/// The naive oracle in the same run: forward–backward over the whole chain at every call.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn sampler_markov_n1024_q8_k64_reference(bencher: Bencher) {
    let d = build("markov:n=1024,q=8,stay=0.9");
    let rule = Rule::RandomOrder(unmask_core::preset::llada(1024, 64, None).unwrap());
    let reference = unmask_core::Reference(&d);
    bencher
        .counter(ItemsCount::new(BATCH))
        .bench(|| sample_batch(&reference, &rule, BATCH, 1, 0).unwrap());
}

/// The naive oracle in the same run: generic F_q elimination for the binary code.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn sampler_code_n256_k32_k16_reference(bencher: Bencher) {
    let d = build("code:n=256,k=32,q=2");
    let rule = Rule::RandomOrder(unmask_core::preset::llada(256, 16, None).unwrap());
    let reference = unmask_core::Reference(&d);
    bencher
        .counter(ItemsCount::new(BATCH))
        .bench(|| sample_batch(&reference, &rule, BATCH, 1, 0).unwrap());
}

/// Issue target: ≥ 500 samples/s for a code n = 256, k = 32, q = 2, 16 steps.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn sampler_code_n256_k32_k16(bencher: Bencher) {
    let d = build("code:n=256,k=32,q=2");
    let rule = Rule::RandomOrder(unmask_core::preset::llada(256, 16, None).unwrap());
    bencher
        .counter(ItemsCount::new(BATCH))
        .bench(|| sample_batch(&d, &rule, BATCH, 1, 0).unwrap());
}

/// Issue target: `verify` with 10^5 samples of parity n = 64 at 8 steps under 10 s (the Monte
/// Carlo part; the CLI adds one sampler run of the same size).
#[divan::bench(sample_count = 3, sample_size = 1)]
fn mc_expected_kl_parity64_k8_1e5(bencher: Bencher) {
    let d = build("parity:n=64");
    let s = Schedule::from_counts(vec![8; 8]).unwrap();
    bencher
        .counter(ItemsCount::new(100_000usize))
        .bench(|| mc_expected_kl(&d, &s, unmask_core::Runs::new(100_000, 1)).unwrap());
}
