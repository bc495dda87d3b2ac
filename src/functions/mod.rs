//! The function library, by Spark SQL names: scalar functions ([`scalar`]) and
//! aggregate functions with their per-group accumulators ([`aggregate`]).

pub mod aggregate;
pub mod datetime;
pub mod math;
pub mod scalar;
pub mod strings;

use crate::error::{QuarryError, Result};

/// Check that `name` got between `lo` and `hi` arguments (`usize::MAX`: no upper
/// bound); the error is Spark's `[WRONG_NUM_ARGS]`.
pub(crate) fn check_arity(name: &str, n: usize, lo: usize, hi: usize) -> Result<()> {
    if n >= lo && n <= hi {
        return Ok(());
    }
    let want = if lo == hi {
        format!("{lo}")
    } else if hi == usize::MAX {
        format!("at least {lo}")
    } else {
        format!("{lo} to {hi}")
    };
    Err(QuarryError::Analysis(format!(
        "[WRONG_NUM_ARGS] The `{name}` requires {want} parameters but the actual number is {n}"
    )))
}
