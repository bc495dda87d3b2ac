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

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field};

use crate::error::{QuarryError, Result};

/// A struct, list or map array rebuilt from its children (struct fields, list values,
/// map keys and values) after `f`, which gets each child with its type in `target` (the
/// same shape as `a`'s type, when given); the children's new types make the new type,
/// named as in `target` when given (struct fields, list items, map entries), else as in
/// `a`. Used by Spark's casts of nested values and by `to_json`. Errors: `a` not nested,
/// or `f`'s.
pub(crate) fn rebuild_nested(
    a: &ArrayRef,
    target: Option<&DataType>,
    f: &mut dyn FnMut(&ArrayRef, Option<&DataType>) -> Result<ArrayRef>,
) -> Result<ArrayRef> {
    Ok(match a.data_type() {
        DataType::Struct(fields) => {
            let st = a.as_struct();
            let names = match target {
                Some(DataType::Struct(tf)) if tf.len() == fields.len() => tf,
                _ => fields,
            };
            let targets: Vec<Option<&DataType>> = match target {
                Some(DataType::Struct(tf)) => tf.iter().map(|x| Some(x.data_type())).collect(),
                _ => vec![None; fields.len()],
            };
            let cols = st
                .columns()
                .iter()
                .zip(&targets)
                .map(|(c, t)| f(c, *t))
                .collect::<Result<Vec<_>>>()?;
            let fields: Vec<Field> = names
                .iter()
                .zip(&cols)
                .map(|(x, c)| Field::new(x.name(), c.data_type().clone(), true))
                .collect();
            Arc::new(arrow::array::StructArray::try_new(
                fields.into(),
                cols,
                st.nulls().cloned(),
            )?)
        }
        DataType::List(field) => {
            let l = a.as_list::<i32>();
            let item = match target {
                Some(DataType::List(tf)) => tf,
                _ => field,
            };
            let values = f(l.values(), target.map(|_| item.data_type()))?;
            Arc::new(arrow::array::ListArray::try_new(
                Arc::new(Field::new(item.name(), values.data_type().clone(), true)),
                l.offsets().clone(),
                values,
                l.nulls().cloned(),
            )?)
        }
        DataType::Map(field, sorted) => {
            let m = a.as_map();
            let (entry, sorted) = match target {
                Some(DataType::Map(tf, ts)) => (tf, ts),
                _ => (field, sorted),
            };
            let DataType::Struct(kv) = entry.data_type() else {
                return Err(QuarryError::Internal("map entries type".into()));
            };
            if kv.len() != 2 {
                return Err(QuarryError::Internal("map entries of two fields".into()));
            }
            let (tk, tv) = match target {
                Some(_) => (Some(kv[0].data_type()), Some(kv[1].data_type())),
                None => (None, None),
            };
            let keys = f(m.keys(), tk)?;
            let vals = f(m.values(), tv)?;
            let kv: Vec<Field> = vec![
                Field::new(kv[0].name(), keys.data_type().clone(), false),
                Field::new(kv[1].name(), vals.data_type().clone(), true),
            ];
            let entries = arrow::array::StructArray::try_new(kv.into(), vec![keys, vals], None)?;
            Arc::new(arrow::array::MapArray::try_new(
                Arc::new(Field::new(entry.name(), entries.data_type().clone(), false)),
                m.offsets().clone(),
                entries,
                m.nulls().cloned(),
                *sorted,
            )?)
        }
        t => return Err(QuarryError::Internal(format!("rebuild_nested of {t}"))),
    })
}

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
