//! One module per subcommand (xsv): each has `Args` (clap) and `run(args, out)`.

pub mod compare;
pub mod curve;
pub mod demo;
pub mod estimate;
pub mod eval;
pub mod frontier;
pub mod plan;
pub mod predict;
pub mod sample;
pub mod score;
pub mod train;
pub mod verify;
