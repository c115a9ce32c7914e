//! Neural masked diffusion models for unmask, on candle (CPU).
//!
//! [`Llada`] is LLaDA's network (a bidirectional transformer with RMSNorm, rotate-half RoPE,
//! grouped KV heads and SwiGLU; `docs/neural.md`), configured by LLaDA's `config.json` keys
//! ([`Config`]) and stored under LLaDA's tensor names in safetensors checkpoints
//! ([`checkpoint`]), so the same loader reads a network this tool trains and a real LLaDA
//! checkpoint. [`NeuralOracle`] makes a network the core's [`unmask_core::Oracle`] (one batched
//! forward pass per call), which is all the estimator, the samplers and verification need.
//! [`Trainer`] fits a network with LLaDA's masked cross-entropy.
//!
//! The core crate does not depend on this one.

mod config;
mod model;
mod oracle;
mod run;
mod train;

pub mod checkpoint;
pub mod data;

pub use checkpoint::{Checkpoint, Vocab};
pub use config::Config;
pub use model::{Llada, Path, init_params, tensor_shapes};
pub use oracle::NeuralOracle;
pub use run::{RunData, RunInfo};
pub use train::{TrainConfig, Trainer};

/// candle's device type, for [`device`] and [`Llada::to_device`].
pub use candle_core::Device;

/// The device named by `spec`: `cpu`, or `cuda` / `cuda:N` (GPU N; needs a build with the
/// `cuda` feature).
///
/// # Errors
///
/// [`NnError::Input`] for another name, a build without CUDA, or a GPU that cannot be opened.
///
/// # Example
///
/// ```
/// assert!(unmask_nn::device("cpu")?.is_cpu());
/// assert!(unmask_nn::device("tpu").is_err());
/// # Ok::<(), unmask_nn::NnError>(())
/// ```
pub fn device(spec: &str) -> Result<Device, NnError> {
    let ordinal = match spec.trim() {
        "cpu" => return Ok(Device::Cpu),
        "cuda" => 0,
        other => other
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| {
                NnError::Input(format!("device {other:?} is not cpu, cuda or cuda:N"))
            })?,
    };
    if !cfg!(feature = "cuda") {
        return Err(NnError::Input(format!(
            "device {spec:?}: this unmask was built without CUDA support (build it with \
             `cargo build --release --features cuda`, which needs the CUDA toolkit)"
        )));
    }
    Device::new_cuda(ordinal)
        .map_err(|e| NnError::Input(format!("device {spec:?} cannot be opened: {e}")))
}

/// Why a network, a checkpoint or an input was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NnError {
    /// `config.json` is invalid or describes an unsupported architecture.
    #[error("{file}: {msg}")]
    Config {
        /// The file.
        file: String,
        /// What is wrong.
        msg: String,
    },
    /// A checkpoint file is missing or unreadable.
    #[error("{}: {msg}", path.display())]
    File {
        /// The file or directory.
        path: std::path::PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A tensor is missing, unexpected or of the wrong shape.
    #[error("{0}")]
    Tensor(String),
    /// An input the network cannot take.
    #[error("{0}")]
    Input(String),
    /// Training produced a non-finite loss or gradient; the parameters are those of the step
    /// before.
    #[error("training diverged at step {step}: {what}")]
    Diverged {
        /// The step (1-based).
        step: usize,
        /// What became non-finite.
        what: String,
    },
    /// A tensor holds a NaN or an infinity (nothing is written or loaded).
    #[error("tensor {tensor} holds {value} at index {index:?}: a checkpoint must be finite")]
    NonFinite {
        /// The tensor's name.
        tensor: String,
        /// The first bad element's index.
        index: Vec<usize>,
        /// Its value.
        value: f32,
    },
    /// Another process is writing checkpoints to the same folder.
    #[error(
        "{}: another training run is writing to it ({}; lock file {}); wait for it, or choose another --out",
        path.display(),
        if holder.is_empty() { "a process that has just started" } else { holder.as_str() },
        lock.display()
    )]
    Locked {
        /// The checkpoint folder.
        path: std::path::PathBuf,
        /// Who holds the lock, as it wrote in the lock file.
        holder: String,
        /// The lock file.
        lock: std::path::PathBuf,
    },
    /// The work would exceed the resource budget (nothing was read or allocated).
    #[error(transparent)]
    OverBudget(#[from] unmask_core::budget::OverBudget),
    /// candle failed.
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}
