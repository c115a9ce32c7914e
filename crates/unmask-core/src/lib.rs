//! # unmask-core
//!
//! Optimal unmasking schedules for masked diffusion models (LLaDA, Dream, MDLM, MaskGIT…), from
//! the theory of Chen, Cong and Li, *Optimal Inference Schedules for Masked Diffusion Models*
//! (COLT 2026, arXiv 2511.04647; "CCL" below).
//!
//! A masked diffusion model reveals a batch of tokens per forward pass, sampling them
//! independently; the **schedule** (tokens per pass) sets the speed/quality trade-off. CCL show
//! that the expected KL error of any schedule is the left-endpoint step-approximation error of
//! one monotone curve of the data distribution, its **information curve** Z. This crate:
//!
//! - represents and validates curves ([`InformationCurve`]), with TC, DTC and repair;
//! - evaluates any schedule exactly ([`expected_kl`], [`step_costs`]) and bounds it;
//! - finds the optimal schedule for a step budget or an error target ([`optimal_schedule`],
//!   [`min_steps`], [`frontier`]) in O(n) per Lagrangian probe;
//! - reproduces today's samplers' schedules exactly and the theory's ([`preset`], [`ScheduleSpec`]);
//! - provides closed-form curves of the paper's hard instances ([`DistSpec`]).
//!
//! All information quantities are in **nats**; code indices are 0-based (`z()[j − 1] = Z_j`).
//! The crate does no I/O. Each module's documentation opens with the mathematics it implements
//! (`# Definitions`); the main types and functions are re-exported at the root.
//!
//! ## Quick start
//!
//! ```
//! use unmask_core::{expected_kl, optimal_schedule, preset, DistSpec, Method};
//!
//! // Uniform over a Reed–Solomon code of dimension 20 and length 64 over F_67.
//! let curve = DistSpec::parse("mds:n=64,k=20,q=67")?.closed_curve().unwrap();
//! assert!((curve.tc() - 44.0 * 67f64.ln()).abs() < 1e-9); // TC = (n − k) ln q
//!
//! // LLaDA's 4-step schedule reveals 16 tokens per pass; its second pass starts with 4 free
//! // symbols still hidden and draws 12 determined symbols blindly: 12 ln 67 nats lost.
//! let llada = preset::llada(64, 4, None)?;
//! let kl = expected_kl(&curve, &llada)?;
//! assert!((kl - 12.0 * 67f64.ln()).abs() < 1e-9);
//!
//! // The optimum with 2 steps reveals the 20 free symbols, then the rest: exact.
//! let best = optimal_schedule(&curve, 2, Method::Lagrangian)?;
//! assert_eq!(best.schedule.counts(), &[20, 44]);
//! assert_eq!(best.expected_kl, 0.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![deny(missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

// One public path per item: the concepts' modules are private and their items are re-exported
// here; `budget`, `preset` and `tol` are namespaces whose items live only under their name.
mod blockwise;
pub mod budget;
mod compare;
mod curve;
mod dist;
mod estimate;
mod kl;
mod num;
mod optimize;
mod oracle;
pub mod preset;
mod replay;
mod sampler;
mod schedule;
mod spec;
mod stats;
pub mod tol;
mod verify;

pub use blockwise::{
    BlockCurves, BlockError, BlockOptimum, blockwise_expected_kl, min_steps_blockwise,
    optimal_blockwise,
};
pub use compare::{
    Baseline, BlockCompareError, BlockRow, Comparison, NamedFrontier, Row, SCAN_LIMIT, Speedup,
    blockwise_frontier, blockwise_frontier_cost, compare, compare_blockwise,
    compare_blockwise_cost, compare_cost, compare_presets, frontier_cost, preset_frontier, speedup,
    speedup_sentence,
};
pub use curve::{CurveError, InformationCurve, Repair, Unit, UnitError};
pub use dist::{
    CODE_ENUMERATE_MAX, ChainError, Code, Family, Hmm, Markov, Mixture, Product, Reference, Repeat,
    TABLE_MAX, Table, TableError, Transition,
};
pub use estimate::{
    Loss, MergeError, PointEstimate, ProfileEstimate, estimate_block_profiles, estimate_profile,
    estimation_order, grid as estimation_grid,
};
pub use kl::{
    LengthMismatch, StepCost, UnmeasuredTail, expected_kl, li_cai_bound, smax_bound, step_costs,
    theorem9_max_steps, unmeasured_tail,
};
pub use optimize::{
    FrontierPoint, Method, OptimizeError, Optimum, default_frontier_steps, frontier, min_steps,
    optimal_schedule,
};
pub use oracle::{Counting, MASK, Oracle, Prefixed};
pub use replay::{Replay, Replayed, ScoreEstimate, replay_batch, score_schedule};
pub use sampler::{
    Rule, Sample, SampleError, sample, sample_batch, sample_lockstep, sample_lockstep_blocks,
    stream,
};
pub use schedule::{Schedule, ScheduleError};
pub use spec::dist::{ChainSpec, DIST_NAMES, DistError, DistSpec, FileData};
pub use spec::rule::RULE_NAMES;
pub use spec::schedule::{Built, Guarantee, SCHEDULE_NAMES, ScheduleSpec, Target, Theory};
pub use spec::{
    CODE_CURVE_ORDERS, CurveSource, DEFAULT_CURVE_DRAWS, DEFAULT_CURVE_POINTS, SamplingShape,
    SpecError,
};
pub use stats::{Moments, Observe, Runs};
pub use verify::{
    EXACT_LAW_BUDGET, McError, exact_law, exact_output_law, kl_divergence, mc_expected_kl,
    mc_expected_kl_binomial, mc_model_kl,
};
