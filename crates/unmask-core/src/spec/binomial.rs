//! MDLM specs, `mdlm:steps=T[,noise=loglinear|cosine][,eps=E][,noise_eps=F]`, built into a
//! [`BinomialSchedule`] (random Binomial counts).

use super::{Params, SpecError};
use crate::preset::{BinomialSchedule, MDLM_GRID_EPS, MDLM_NOISE_EPS, Noise};

/// The keys of an `mdlm:` spec.
pub(crate) const MDLM_KEYS: &[&str] = &["steps", "noise", "eps", "noise_eps"];

impl BinomialSchedule {
    /// Parses `mdlm:steps=T[,noise=loglinear|cosine][,eps=E][,noise_eps=F]`: `eps` is the last
    /// time of the sampling grid (MDLM's 10⁻⁵ by default), `noise_eps` the noise schedule's floor
    /// (MDLM's 10⁻³ by default).
    ///
    /// # Errors
    ///
    /// A [`SpecError`] naming the problem.
    ///
    /// # Example
    ///
    /// ```
    /// use unmask_core::preset::BinomialSchedule;
    /// let s = BinomialSchedule::parse("mdlm:steps=128,noise=cosine")?;
    /// assert_eq!(s.passes(), 129); // 128 steps and the noise-removal pass
    /// # Ok::<(), unmask_core::SpecError>(())
    /// ```
    pub fn parse(spec: &str) -> Result<Self, SpecError> {
        let p = Params::parse(spec, &["mdlm"], |_| MDLM_KEYS)?;
        let usage = "mdlm:steps=T[,noise=loglinear|cosine][,eps=E][,noise_eps=F]";
        let steps = p.require(p.usize("steps")?, "steps", usage)?;
        let noise = match p.raw_value("noise") {
            None | Some("loglinear") | Some("log-linear") => Noise::LogLinear,
            Some("cosine") => Noise::Cosine,
            Some(other) => {
                return Err(SpecError::BadValue {
                    name: "mdlm".into(),
                    key: "noise".into(),
                    value: other.to_string(),
                    expected: "loglinear or cosine",
                });
            }
        };
        let eps = p.f64("eps")?.unwrap_or(MDLM_GRID_EPS);
        let noise_eps = p.f64("noise_eps")?.unwrap_or(MDLM_NOISE_EPS);
        Self::mdlm(steps, noise, eps, noise_eps).map_err(|cause| SpecError::Preset {
            name: "mdlm",
            cause,
        })
    }
}
