//! The function library, by Spark SQL names: scalar functions ([`scalar`], with
//! [`math`], [`strings`], [`datetime`] and [`collections`]) and
//! aggregate functions with their per-group accumulators ([`aggregate`], with the
//! statistical ones in [`aggregate_stats`]).

pub mod aggregate;
pub mod aggregate_stats;
pub mod collections;
pub mod csv_text;
pub mod datetime;
pub mod datetime_parse;
pub mod interval;
pub mod json;
pub mod json_read;
pub mod lambda;
pub mod math;
pub mod number_format;
pub mod random;
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

/// The most bytes the string or binary values of one result column may hold: arrow's
/// 32-bit offsets (a larger result would abort the process, so it is an error).
pub(crate) const MAX_COLUMN_BYTES: usize = i32::MAX as usize;

/// Append `v` to a string column being built by `func`, or the error that the column
/// would outgrow [`MAX_COLUMN_BYTES`] (e.g. `repeat('x', 2000000000)`).
pub(crate) fn append_checked(
    b: &mut arrow::array::StringBuilder,
    func: &str,
    v: &str,
) -> Result<()> {
    check_column_bytes(func, b.values_slice().len().saturating_add(v.len()))?;
    b.append_value(v);
    Ok(())
}

/// The error for a result column of `bytes` bytes, if that is over [`MAX_COLUMN_BYTES`].
pub(crate) fn check_column_bytes(func: &str, bytes: usize) -> Result<()> {
    if bytes > MAX_COLUMN_BYTES {
        return Err(QuarryError::Execution(format!(
            "{func}: the result would hold {bytes} bytes, more than a column of strings or binaries can (2 GiB)"
        )));
    }
    Ok(())
}
