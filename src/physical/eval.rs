//! Vectorized evaluation of bound expressions over a RecordBatch, with arrow's kernels.
//! Semantics are Spark's non-ANSI mode: division or remainder by zero is NULL, integer
//! overflow wraps, a cast that fails is NULL, decimal overflow is NULL.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::*;
use arrow::compute::kernels::{cmp, numeric};
use arrow::compute::{
    and_kleene, cast_with_options, is_not_null, is_null, not, nullif, or_kleene, CastOptions,
};
use arrow::datatypes::*;
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};

use crate::error::{QuarryError, Result};
use crate::format::{format_value, java_double};
use crate::functions::scalar;
use crate::plan::{BinOp, ColumnId, Expr};
use crate::types::is_integer;

/// Where each input column id sits in the batch.
pub type Layout = HashMap<ColumnId, usize>;

/// A searched CASE evaluated lazily, as Spark does: each WHEN over the rows no earlier
/// WHEN took, each THEN over the rows its WHEN took, the ELSE over the rest; the parts
/// are interleaved back into row order. Errors are those of the rows a branch answers
/// for.
fn case_by_branch(
    whens: &[(Expr, Expr)],
    else_expr: Option<&Expr>,
    data_type: &DataType,
    batch: &RecordBatch,
    layout: &Layout,
) -> Result<ArrayRef> {
    let n = batch.num_rows();
    let rows_of = |idx: &[u32]| -> Result<RecordBatch> {
        Ok(arrow::compute::take_record_batch(
            batch,
            &UInt32Array::from(idx.to_vec()),
        )?)
    };
    let mut open: Vec<u32> = (0..n as u32).collect();
    let mut parts: Vec<ArrayRef> = vec![];
    // (part, index in part) of every row
    let mut origin = vec![(0usize, 0usize); n];
    for (w, t) in whens {
        if open.is_empty() {
            break;
        }
        let mask = evaluate(w, &rows_of(&open)?, layout)?;
        let mask = null_as_false(mask.as_boolean());
        let (taken, rest): (Vec<(usize, u32)>, Vec<(usize, u32)>) = open
            .iter()
            .copied()
            .enumerate()
            .partition(|(i, _)| mask.value(*i));
        let taken: Vec<u32> = taken.into_iter().map(|(_, r)| r).collect();
        if !taken.is_empty() {
            let then = cast_array(&evaluate(t, &rows_of(&taken)?, layout)?, data_type)?;
            for (j, r) in taken.iter().enumerate() {
                origin[*r as usize] = (parts.len(), j);
            }
            parts.push(then);
        }
        open = rest.into_iter().map(|(_, r)| r).collect();
    }
    if !open.is_empty() {
        let rest = match else_expr {
            Some(e) => cast_array(&evaluate(e, &rows_of(&open)?, layout)?, data_type)?,
            None => new_null_array(data_type, open.len()),
        };
        for (j, r) in open.iter().enumerate() {
            origin[*r as usize] = (parts.len(), j);
        }
        parts.push(rest);
    }
    if parts.is_empty() {
        return Ok(new_null_array(data_type, 0));
    }
    let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
    Ok(arrow::compute::interleave(&refs, &origin)?)
}

/// Build the layout of a list of column ids.
pub fn layout_of(ids: &[ColumnId]) -> Layout {
    ids.iter().enumerate().map(|(i, id)| (*id, i)).collect()
}

/// Evaluate `e` over `batch` into an array of `batch.num_rows()` values.
pub fn evaluate(e: &Expr, batch: &RecordBatch, layout: &Layout) -> Result<ArrayRef> {
    let n = batch.num_rows();
    match e {
        Expr::Column(c) => {
            let i = layout.get(&c.id).ok_or_else(|| {
                QuarryError::Internal(format!(
                    "column {}#{} not in the operator's input",
                    c.name, c.id
                ))
            })?;
            Ok(batch.column(*i).clone())
        }
        Expr::Literal(v) => v.to_array(n),
        Expr::Binary {
            op,
            left,
            right,
            data_type,
        } => binary(*op, left, right, data_type, batch, layout),
        Expr::Not(x) => Ok(Arc::new(not(evaluate(x, batch, layout)?.as_boolean())?)),
        Expr::Negate(x) => Ok(numeric::neg_wrapping(&evaluate(x, batch, layout)?)?),
        Expr::IsNull(x) => Ok(Arc::new(is_null(&evaluate(x, batch, layout)?)?)),
        Expr::IsNotNull(x) => Ok(Arc::new(is_not_null(&evaluate(x, batch, layout)?)?)),
        Expr::Cast { expr, to, .. } => cast_array(&evaluate(expr, batch, layout)?, to),
        Expr::Case {
            whens,
            else_expr,
            data_type,
        } => {
            // every branch over the whole batch, then merged; a branch that fails (a
            // raise_error, an ANSI cast) may fail only on rows it does not answer for,
            // so then the branches run again each over only its own rows
            let eager = || -> Result<ArrayRef> {
                let mut acc = match else_expr {
                    Some(e) => evaluate(e, batch, layout)?,
                    None => new_null_array(data_type, n),
                };
                for (w, t) in whens.iter().rev() {
                    let mask = evaluate(w, batch, layout)?;
                    let mask = null_as_false(mask.as_boolean());
                    let then = evaluate(t, batch, layout)?;
                    acc = arrow::compute::kernels::zip::zip(&mask, &then, &acc)?;
                }
                Ok(acc)
            };
            match eager() {
                Err(e @ QuarryError::Internal(_)) => Err(e),
                Err(_) => case_by_branch(whens, else_expr.as_deref(), data_type, batch, layout),
                ok => ok,
            }
        }
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            let x = evaluate(expr, batch, layout)?;
            let mut acc: Option<BooleanArray> = None;
            for item in list {
                let eq = match item {
                    _ if x.data_type().is_nested() => {
                        let r = evaluate(item, batch, layout)?;
                        nested_compare(BinOp::Eq, &x, &r)?.as_boolean().clone()
                    }
                    Expr::Literal(v) => cmp::eq(&x, &Scalar::new(v.0.clone()))?,
                    _ => cmp::eq(&x, &evaluate(item, batch, layout)?)?,
                };
                acc = Some(match acc {
                    None => eq,
                    Some(a) => or_kleene(&a, &eq)?,
                });
            }
            let r = acc.unwrap_or_else(|| BooleanArray::from(vec![false; n]));
            Ok(Arc::new(if *negated { not(&r)? } else { r }))
        }
        Expr::InSet { expr, set, negated } => {
            let x = evaluate(expr, batch, layout)?;
            let miss = if set.has_null { None } else { Some(*negated) };
            if let Some(ints) = &set.ints {
                let k = arrow::compute::cast(&x, &DataType::Int64)?;
                let k = k.as_primitive::<arrow::datatypes::Int64Type>();
                let out: BooleanArray = k
                    .iter()
                    .map(|v| {
                        v.and_then(|v| {
                            if ints.contains(&v) {
                                Some(!*negated)
                            } else {
                                miss
                            }
                        })
                    })
                    .collect();
                return Ok(Arc::new(out));
            }
            let conv = RowConverter::new(vec![SortField::new(set.data_type.clone())])?;
            let rows = conv.convert_columns(&[x.clone()])?;
            let out: BooleanArray = (0..n)
                .map(|i| {
                    if x.is_null(i) {
                        return None;
                    }
                    let found = set.rows.contains(rows.row(i).as_ref());
                    let v = if found {
                        Some(true)
                    } else if set.has_null {
                        None
                    } else {
                        Some(false)
                    };
                    v.map(|b| b != *negated)
                })
                .collect();
            Ok(Arc::new(out))
        }
        Expr::Like {
            expr,
            pattern,
            negated,
            case_insensitive,
        } => {
            let x = evaluate(expr, batch, layout)?;
            let r = match pattern.as_ref() {
                Expr::Literal(p) => {
                    if !case_insensitive {
                        if let Some(r) = like_segments(&x, &p.0, *negated) {
                            return Ok(Arc::new(r));
                        }
                    }
                    let p = Scalar::new(p.0.clone());
                    match (negated, case_insensitive) {
                        (false, false) => arrow::compute::like(&x, &p)?,
                        (true, false) => arrow::compute::nlike(&x, &p)?,
                        (false, true) => arrow::compute::ilike(&x, &p)?,
                        (true, true) => arrow::compute::nilike(&x, &p)?,
                    }
                }
                other => {
                    let p = evaluate(other, batch, layout)?;
                    match (negated, case_insensitive) {
                        (false, false) => arrow::compute::like(&x, &p)?,
                        (true, false) => arrow::compute::nlike(&x, &p)?,
                        (false, true) => arrow::compute::ilike(&x, &p)?,
                        (true, true) => arrow::compute::nilike(&x, &p)?,
                    }
                }
            };
            Ok(Arc::new(r))
        }
        Expr::Function {
            func: scalar::ScalarFunc::Try,
            args,
            data_type,
        } => {
            let Some(x) = args.first() else {
                return Err(QuarryError::Internal("try() without an argument".into()));
            };
            match evaluate(x, batch, layout) {
                Ok(a) => cast_array(&a, data_type),
                // an internal error is a bug, not a value to hide
                Err(e @ QuarryError::Internal(_)) => Err(e),
                // row by row: the rows that fail are NULL
                Err(_) => {
                    let mut parts: Vec<ArrayRef> = Vec::with_capacity(n);
                    for i in 0..n {
                        let row = batch.slice(i, 1);
                        parts.push(match evaluate(x, &row, layout) {
                            Ok(a) => cast_array(&a, data_type)?,
                            Err(e @ QuarryError::Internal(_)) => return Err(e),
                            Err(_) => new_null_array(data_type, 1),
                        });
                    }
                    let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
                    if refs.is_empty() {
                        return Ok(new_null_array(data_type, 0));
                    }
                    Ok(arrow::compute::concat(&refs)?)
                }
            }
        }
        Expr::Function {
            func: scalar::ScalarFunc::Lambda(f),
            args,
            data_type,
        } => crate::functions::lambda::evaluate_call(*f, args, data_type, batch, layout),
        Expr::Lambda { .. } => Err(QuarryError::Internal(
            "a lambda function outside a higher-order function".into(),
        )),
        Expr::Function {
            func,
            args,
            data_type,
        } => {
            let arrays: Vec<ArrayRef> = args
                .iter()
                .map(|a| evaluate(a, batch, layout))
                .collect::<Result<_>>()?;
            let out = match func {
                scalar::ScalarFunc::Coll(f) => {
                    crate::functions::collections::evaluate(*f, &arrays, n, data_type)?
                }
                scalar::ScalarFunc::Interval(f) => {
                    crate::functions::interval::evaluate(*f, &arrays, n, data_type)?
                }
                f => scalar::evaluate(*f, &arrays, n)?,
            };
            if out.data_type() != data_type {
                return cast_array(&out, data_type);
            }
            Ok(out)
        }
        Expr::Subquery { .. } => Err(QuarryError::Internal(
            "a subquery reached execution unplanned".into(),
        )),
    }
}

/// Evaluate a predicate into a filter mask (NULL counts as false).
pub fn evaluate_predicate(e: &Expr, batch: &RecordBatch, layout: &Layout) -> Result<BooleanArray> {
    let a = evaluate(e, batch, layout)?;
    let b = a
        .as_any()
        .downcast_ref::<BooleanArray>()
        .ok_or_else(|| QuarryError::Internal(format!("predicate is not boolean: {e}")))?;
    Ok(null_as_false(b))
}

/// Casts between timestamps and numbers, in seconds since the epoch as Spark's `Cast`:
/// a timestamp becomes whole seconds (floored) as an integer, seconds with their fraction
/// as a double or decimal; an integer becomes that many seconds (saturating), a double
/// or decimal its seconds truncated to microseconds (NaN and infinities NULL). `None`
/// for other casts. (Arrow's cast reads the numbers as microseconds.)
fn cast_timestamp_numeric(a: &ArrayRef, to: &DataType) -> Option<Result<ArrayRef>> {
    use crate::types::is_floating;
    const MICROS: i64 = 1_000_000;
    let from = a.data_type();
    if matches!(from, DataType::Timestamp(..))
        && (is_integer(to) || is_floating(to) || matches!(to, DataType::Decimal128(..)))
    {
        return Some((|| -> Result<ArrayRef> {
            let t = arrow::compute::cast(a, &crate::types::TIMESTAMP)?;
            let micros = t.as_primitive::<TimestampMicrosecondType>();
            let out: ArrayRef = if is_floating(to) {
                Arc::new(micros.unary::<_, Float64Type>(|v| v as f64 / MICROS as f64))
            } else if is_integer(to) {
                Arc::new(micros.unary::<_, Int64Type>(|v| v.div_euclid(MICROS)))
            } else {
                Arc::new(
                    micros
                        .unary::<_, Decimal128Type>(|v| v as i128)
                        .with_precision_and_scale(38, 6)?,
                )
            };
            cast_array(&out, to)
        })());
    }
    if matches!(to, DataType::Timestamp(..))
        && (is_integer(from) || is_floating(from) || matches!(from, DataType::Decimal128(..)))
    {
        return Some((|| -> Result<ArrayRef> {
            let micros: TimestampMicrosecondArray = if is_integer(from) {
                let v = arrow::compute::cast(a, &DataType::Int64)?;
                v.as_primitive::<Int64Type>()
                    .unary(|s| s.saturating_mul(MICROS))
            } else if is_floating(from) {
                let v = arrow::compute::cast(a, &DataType::Float64)?;
                v.as_primitive::<Float64Type>()
                    .iter()
                    .map(|d| {
                        d.filter(|d| d.is_finite())
                            .map(|d| (d * MICROS as f64) as i64)
                    })
                    .collect()
            } else {
                let DataType::Decimal128(_, scale) = *from else {
                    return Err(QuarryError::Internal("decimal to timestamp".into()));
                };
                // value * 10^6 / 10^scale, truncated toward zero
                let shift = 6 - scale as i32;
                a.as_primitive::<Decimal128Type>()
                    .iter()
                    .map(|v| {
                        v.and_then(|v| {
                            let m = if shift >= 0 {
                                v.checked_mul(10i128.checked_pow(shift as u32)?)?
                            } else {
                                v / 10i128.checked_pow((-shift) as u32)?
                            };
                            i64::try_from(m).ok()
                        })
                    })
                    .collect()
            };
            Ok(arrow::compute::cast(&(Arc::new(micros) as ArrayRef), to)?)
        })());
    }
    None
}

/// `a` cast to a table column's type `to` for INSERT (Spark's store assignment under
/// its default ANSI policy): a value the cast cannot keep (out of the type's range, or
/// text that is no number/date) is an error naming the column, never a silent NULL.
pub fn store_assign(a: &ArrayRef, to: &DataType, column: &str) -> Result<ArrayRef> {
    if a.data_type() == to {
        return Ok(a.clone());
    }
    let cast = cast_array(a, to)?;
    // logical NULLs: a NULL literal's column (type void) has no validity buffer
    let (given, kept) = (a.logical_nulls(), cast.logical_nulls());
    let valid =
        |n: &Option<arrow::buffer::NullBuffer>, i: usize| n.as_ref().is_none_or(|n| n.is_valid(i));
    if let Some(i) = (0..a.len()).find(|&i| valid(&given, i) && !valid(&kept, i)) {
        let from = crate::types::type_name(a.data_type()).to_ascii_uppercase();
        return Err(QuarryError::Execution(format!(
            "[CAST_OVERFLOW_IN_TABLE_INSERT] Fail to assign the value {} of the \"{from}\" type to the \"{}\" type column `{column}` due to an overflow or an invalid value. Use `try_cast` on the input value to tolerate it and insert NULL instead.",
            crate::types::arrow_format(a.as_ref(), i),
            crate::types::type_name(to).to_ascii_uppercase()
        )));
    }
    Ok(cast)
}

/// Strings (already cast to Utf8) written to a `CHAR(n)`/`VARCHAR(n)` column, as Spark's
/// CharVarcharCodegenUtils.charTypeWriteSideCheck / varcharTypeWriteSideCheck: a value
/// longer than `n` characters loses trailing spaces down to `n`, and is an error when
/// that is not enough; a CHAR value is then padded with spaces to `n`. NULL stays NULL.
/// Errors: `[EXCEED_LIMIT_LENGTH]` naming the column.
pub fn char_varchar_write(
    a: &ArrayRef,
    cv: crate::types::CharVarchar,
    column: &str,
) -> Result<ArrayRef> {
    use arrow::array::{Array, StringArray, StringBuilder};
    let Some(s) = a.as_any().downcast_ref::<StringArray>() else {
        return Ok(a.clone());
    };
    let n = cv.length();
    let mut out = StringBuilder::with_capacity(s.len(), s.value_data().len());
    let mut padded = String::new();
    for v in s.iter() {
        let Some(v) = v else {
            out.append_null();
            continue;
        };
        let fitted = match v.char_indices().nth(n) {
            None => v,
            Some((cut, _)) => {
                if !v[cut..].bytes().all(|b| b == b' ') {
                    return Err(QuarryError::Execution(format!(
                        "[EXCEED_LIMIT_LENGTH] Exceeds char/varchar type length limitation: {n}. The value of column `{column}` is {} characters long.",
                        v.trim_end_matches(' ').chars().count()
                    )));
                }
                &v[..cut]
            }
        };
        match cv {
            crate::types::CharVarchar::Char(_) => {
                padded.clear();
                padded.push_str(fitted);
                let missing = n - fitted.chars().count();
                padded.extend(std::iter::repeat_n(' ', missing));
                out.append_value(&padded);
            }
            crate::types::CharVarchar::Varchar(_) => out.append_value(fitted),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// Spark's cast (non-ANSI): failures become NULL; doubles and timestamps print as Spark prints them.
pub fn cast_array(a: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    if a.data_type() == to {
        return Ok(a.clone());
    }
    // a duration in another unit (arrow_cast's Duration(s) and such)
    if let (DataType::Duration(_), DataType::Duration(_)) = (a.data_type(), to) {
        return Ok(arrow::compute::cast(a, to)?);
    }
    // a time of day as the duration since midnight (and back)
    if let (DataType::Time64(_) | DataType::Time32(_), DataType::Duration(_))
    | (DataType::Duration(_), DataType::Time64(_)) = (a.data_type(), to)
    {
        let micros = match a.data_type() {
            DataType::Duration(_) => arrow::compute::cast(a, &DataType::Int64)?,
            _ => arrow::compute::cast(
                &arrow::compute::cast(
                    a,
                    &DataType::Time64(arrow::datatypes::TimeUnit::Microsecond),
                )?,
                &DataType::Int64,
            )?,
        };
        return Ok(arrow::compute::cast(&micros, to)?);
    }
    if let Some(r) = crate::functions::interval::cast_generic(a, to) {
        return r;
    }
    // arrays, structs and maps cast element by element by these same rules (arrow's own
    // nested cast would print a timestamp element as `2016-11-15T20:54:00`)
    let nested = match (a.data_type(), to) {
        (DataType::List(_), DataType::List(_)) | (DataType::Map(..), DataType::Map(..)) => true,
        (DataType::Struct(from), DataType::Struct(tf)) => from.len() == tf.len(),
        _ => false,
    };
    if nested {
        return crate::functions::rebuild_nested(a, Some(to), &mut |c, t| match t {
            Some(t) => cast_array(c, t),
            None => Err(QuarryError::Internal(
                "a nested cast without its target".into(),
            )),
        });
    }
    // a wider decimal of the same scale holds the same values: only the type changes
    if let (DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2)) = (a.data_type(), to) {
        if s1 == s2 && p2 >= p1 {
            let d = a.as_primitive::<Decimal128Type>().clone();
            return Ok(Arc::new(d.with_precision_and_scale(*p2, *s2)?));
        }
    }
    if let Some(r) = cast_timestamp_numeric(a, to) {
        return r;
    }
    // a boolean as a decimal: 1 or 0 (Spark's; arrow-cast has no such cast)
    if let (DataType::Boolean, DataType::Decimal128(..)) = (a.data_type(), to) {
        return Ok(arrow::compute::cast(
            &arrow::compute::cast(a, &DataType::Int8)?,
            to,
        )?);
    }
    // Spark: an integer as binary is its big-endian two's-complement bytes
    if to == &DataType::Binary && is_integer(a.data_type()) {
        let width = match a.data_type() {
            DataType::Int8 => 1,
            DataType::Int16 => 2,
            DataType::Int32 => 4,
            _ => 8,
        };
        let v = arrow::compute::cast(a, &DataType::Int64)?;
        return Ok(Arc::new(
            v.as_primitive::<arrow::datatypes::Int64Type>()
                .iter()
                .map(|x| x.map(|x| x.to_be_bytes()[8 - width..].to_vec()))
                .collect::<arrow::array::BinaryArray>(),
        ));
    }
    if to == &DataType::Utf8 {
        match a.data_type() {
            DataType::List(_) | DataType::Map(..) | DataType::Struct(_) => {
                let mut buf = String::new();
                return Ok(Arc::new(
                    (0..a.len())
                        .map(|i| {
                            (!a.is_null(i)).then(|| {
                                buf.clear();
                                crate::format::format_nested(
                                    a.as_ref(),
                                    i,
                                    crate::format::NestedStyle::Cast,
                                    &mut buf,
                                );
                                buf.clone()
                            })
                        })
                        .collect::<StringArray>(),
                ));
            }
            // bytes that are not UTF-8 become U+FFFD, as Java's `new String(bytes, UTF_8)`
            DataType::Binary => {
                return Ok(Arc::new(
                    a.as_binary::<i32>()
                        .iter()
                        .map(|v| v.map(String::from_utf8_lossy))
                        .collect::<StringArray>(),
                ));
            }
            DataType::Float32 => {
                let f = a.as_primitive::<arrow::datatypes::Float32Type>();
                return Ok(Arc::new(
                    f.iter()
                        .map(|v| v.map(crate::format::java_float))
                        .collect::<StringArray>(),
                ));
            }
            DataType::Float64 => {
                let f = arrow::compute::cast(a, &DataType::Float64)?;
                let f = f.as_primitive::<Float64Type>();
                return Ok(Arc::new(
                    f.iter()
                        .map(|v| v.map(java_double))
                        .collect::<StringArray>(),
                ));
            }
            DataType::Time64(arrow::datatypes::TimeUnit::Microsecond) => {
                return Ok(Arc::new(
                    (0..a.len())
                        .map(|i| (!a.is_null(i)).then(|| format_value(a, i)))
                        .collect::<StringArray>(),
                ));
            }
            DataType::Timestamp(_, _) => {
                let t = arrow::compute::cast(a, &crate::types::TIMESTAMP)?;
                return Ok(Arc::new(
                    (0..t.len())
                        .map(|i| {
                            if t.is_null(i) {
                                None
                            } else {
                                Some(format_value(&t, i))
                            }
                        })
                        .collect::<StringArray>(),
                ));
            }
            _ => {}
        }
    }
    if crate::types::is_string(a.data_type()) && matches!(to, DataType::Timestamp(..)) {
        let s = arrow::compute::cast(a, &DataType::Utf8)?;
        let micros = s
            .as_string::<i32>()
            .iter()
            .map(|v| v.and_then(crate::functions::datetime::spark_string_to_timestamp))
            .collect::<TimestampMicrosecondArray>();
        return Ok(arrow::compute::cast(&(Arc::new(micros) as ArrayRef), to)?);
    }
    if crate::types::is_string(a.data_type()) && to == &DataType::Date32 {
        let s = arrow::compute::cast(a, &DataType::Utf8)?;
        return Ok(Arc::new(
            s.as_string::<i32>()
                .iter()
                .map(|v| v.and_then(crate::functions::scalar::spark_string_to_date))
                .collect::<arrow::array::Date32Array>(),
        ));
    }
    if crate::types::is_string(a.data_type())
        && (is_integer(to)
            || matches!(
                to,
                DataType::Float64
                    | DataType::Float32
                    | DataType::Decimal128(..)
                    | DataType::Boolean
            ))
    {
        // Spark trims surrounding whitespace before parsing numbers and booleans
        let s = arrow::compute::cast(a, &DataType::Utf8)?;
        let s = s.as_string::<i32>();
        let trimmed: StringArray = s.iter().map(|v| v.map(|v| v.trim())).collect();
        let opts = CastOptions {
            safe: true,
            ..Default::default()
        };
        if is_integer(to) {
            // "1.9" -> 1 as Spark does (UTF8String.toLong: digits, then an optional '.'
            // and digits that are dropped); anything else that does not parse, an
            // exponent or a value out of the type's range included, is NULL
            let direct = cast_with_options(&(Arc::new(trimmed.clone()) as ArrayRef), to, &opts)?;
            if direct.null_count() > trimmed.null_count() {
                let integral: Int64Array = trimmed
                    .iter()
                    .map(|v| {
                        let (int, frac) = v?.split_once('.')?;
                        let digits = int.trim_start_matches(['+', '-']);
                        if int.len() - digits.len() > 1
                            || !digits.bytes().all(|b| b.is_ascii_digit())
                            || !frac.bytes().all(|b| b.is_ascii_digit())
                            || (digits.is_empty() && frac.is_empty())
                        {
                            return None;
                        }
                        if digits.is_empty() {
                            return Some(0);
                        }
                        int.parse::<i64>().ok()
                    })
                    .collect();
                let fallback = cast_with_options(&(Arc::new(integral) as ArrayRef), to, &opts)?;
                return Ok(arrow::compute::kernels::zip::zip(
                    &is_not_null(&direct)?,
                    &direct,
                    &fallback,
                )?);
            }
            return Ok(direct);
        }
        return Ok(cast_with_options(
            &(Arc::new(trimmed) as ArrayRef),
            to,
            &opts,
        )?);
    }
    let opts = CastOptions {
        safe: true,
        ..Default::default()
    };
    Ok(cast_with_options(a, to, &opts)?)
}

fn zero_to_null(a: &ArrayRef) -> Result<ArrayRef> {
    let zero = arrow::compute::cast(
        &(Arc::new(Int32Array::from(vec![0])) as ArrayRef),
        a.data_type(),
    )?;
    let is_zero = cmp::eq(a, &Scalar::new(zero))?;
    Ok(nullif(a, &is_zero)?)
}

/// A binary operator's operand: an array of the batch's rows, or a literal kept as one
/// value (arrow's scalar datum) instead of being copied into every row.
struct Operand {
    array: ArrayRef,
    scalar: bool,
}

impl Operand {
    fn of(e: &Expr, batch: &RecordBatch, layout: &Layout) -> Result<Operand> {
        Ok(match e {
            Expr::Literal(v) => Operand {
                array: v.0.clone(),
                scalar: true,
            },
            _ => Operand {
                array: evaluate(e, batch, layout)?,
                scalar: false,
            },
        })
    }

    /// The values as an array of `n` rows.
    fn full(&self, n: usize) -> Result<ArrayRef> {
        if self.scalar {
            crate::types::ScalarValue(self.array.clone()).to_array(n)
        } else {
            Ok(self.array.clone())
        }
    }
}

impl Datum for Operand {
    fn get(&self) -> (&dyn Array, bool) {
        (self.array.as_ref(), self.scalar)
    }
}

fn binary(
    op: BinOp,
    left: &Expr,
    right: &Expr,
    out: &DataType,
    batch: &RecordBatch,
    layout: &Layout,
) -> Result<ArrayRef> {
    let n = batch.num_rows();
    let mut l = Operand::of(left, batch, layout)?;
    let r = Operand::of(right, batch, layout)?;
    if l.scalar && r.scalar {
        // two literals (constant folding leaves none): the kernels need one array
        l = Operand {
            array: l.full(n)?,
            scalar: false,
        };
    }
    if op.is_comparison() && l.array.data_type().is_nested() {
        return nested_compare(op, &l.full(n)?, &r.full(n)?);
    }
    Ok(match op {
        BinOp::And => Arc::new(and_kleene(
            l.full(n)?.as_boolean(),
            r.full(n)?.as_boolean(),
        )?),
        BinOp::Or => Arc::new(or_kleene(l.full(n)?.as_boolean(), r.full(n)?.as_boolean())?),
        BinOp::Eq => Arc::new(cmp::eq(&l, &r)?),
        BinOp::NotEq => Arc::new(cmp::neq(&l, &r)?),
        BinOp::Lt => Arc::new(cmp::lt(&l, &r)?),
        BinOp::LtEq => Arc::new(cmp::lt_eq(&l, &r)?),
        BinOp::Gt => Arc::new(cmp::gt(&l, &r)?),
        BinOp::GtEq => Arc::new(cmp::gt_eq(&l, &r)?),
        BinOp::NullSafeEq => Arc::new(cmp::not_distinct(&l, &r)?),
        _ if matches!(out, DataType::Decimal128(..)) => decimal_arith(op, &l, &r, out, n)?,
        // interval results overflow as errors, as Spark's (integers wrap in non-ANSI mode)
        BinOp::Plus if crate::functions::interval::is_ansi_interval(out) => numeric::add(&l, &r)?,
        BinOp::Minus if crate::functions::interval::is_ansi_interval(out) => numeric::sub(&l, &r)?,
        BinOp::Plus => numeric::add_wrapping(&l, &r)?,
        BinOp::Minus => numeric::sub_wrapping(&l, &r)?,
        BinOp::Multiply => numeric::mul_wrapping(&l, &r)?,
        BinOp::Divide | BinOp::IntDivide => {
            let (l, r) = (l.full(n)?, zero_to_null(&r.full(n)?)?);
            if is_integer(l.data_type()) {
                // i64::MIN / -1 wraps as Spark's long division does
                int64_wrapping(&l, &r, out, i64::wrapping_div)?
            } else {
                let q = numeric::div(&l, &r)?;
                if op == BinOp::IntDivide {
                    cast_array(&q, out)?
                } else {
                    q
                }
            }
        }
        BinOp::Modulo => {
            let (l, r) = (l.full(n)?, zero_to_null(&r.full(n)?)?);
            if is_integer(l.data_type()) {
                int64_wrapping(&l, &r, out, i64::wrapping_rem)?
            } else {
                numeric::rem(&l, &r)?
            }
        }
    })
}

fn pow10(k: i32) -> Option<i128> {
    if (0..=38).contains(&k) {
        Some(10i128.pow(k as u32))
    } else {
        None
    }
}

/// Decimal arithmetic in i128 with Spark's result type `out`; overflow and division by zero are NULL.
fn decimal_arith(
    op: BinOp,
    l: &Operand,
    r: &Operand,
    out: &DataType,
    n: usize,
) -> Result<ArrayRef> {
    let DataType::Decimal128(p, s) = *out else {
        return Err(QuarryError::Internal("decimal_arith type".into()));
    };
    let (lt, rt) = (l.array.data_type(), r.array.data_type());
    let (DataType::Decimal128(_, s1), DataType::Decimal128(_, s2)) = (lt, rt) else {
        return Err(QuarryError::Internal(format!("decimal operands {lt} {rt}")));
    };
    let (p1, p2) = (decimal_precision(lt), decimal_precision(rt));
    let (s1, s2, s) = (*s1 as i32, *s2 as i32, s as i32);
    // Fast path: when the result provably fits, no per-value checks are needed: one
    // vectorized pass, nulls from the union of the inputs' null buffers. The operands'
    // precisions prove it for Spark's result types unless capped at 38 digits; past the
    // cap, the largest magnitudes in this batch may still prove it (TPC-H's
    // `price * (1 - disc) * (1 + tax)` is decimal(38,6) from 48 digits of operands).
    let (p, p1, p2) = (p as i32, p1 as i32, p2 as i32);
    let limit = pow10(p).map_or(u128::MAX, |v| v as u128);
    let fits = |bound: Option<u128>| bound.is_some_and(|b| b < limit);
    let fast: Option<Decimal128Array> = match op {
        BinOp::Plus | BinOp::Minus if s >= s1 && s >= s2 => {
            let (m1, m2) = (pow10(s - s1).unwrap_or(1), pow10(s - s2).unwrap_or(1));
            let by_type = (p1 + s - s1).max(p2 + s - s2) < p;
            let proven = by_type
                || fits(
                    (max_abs(l).checked_mul(m1 as u128))
                        .zip(max_abs(r).checked_mul(m2 as u128))
                        .and_then(|(x, y)| x.checked_add(y)),
                );
            // results of at most 18 digits: the same sums in 64-bit words (the
            // operands, rescaled, are no larger than the result)
            let narrow = by_type && p <= 18;
            let (n1, n2) = (m1 as i64, m2 as i64);
            match (proven, op, narrow) {
                (false, _, _) => None,
                (true, BinOp::Plus, true) => Some(decimal_binary(l, r, |x, y| {
                    (x as i64)
                        .wrapping_mul(n1)
                        .wrapping_add((y as i64).wrapping_mul(n2)) as i128
                })?),
                (true, BinOp::Plus, false) => Some(decimal_binary(l, r, |x, y| {
                    x.wrapping_mul(m1).wrapping_add(y.wrapping_mul(m2))
                })?),
                (true, _, true) => Some(decimal_binary(l, r, |x, y| {
                    (x as i64)
                        .wrapping_mul(n1)
                        .wrapping_sub((y as i64).wrapping_mul(n2)) as i128
                })?),
                (true, _, false) => Some(decimal_binary(l, r, |x, y| {
                    x.wrapping_mul(m1).wrapping_sub(y.wrapping_mul(m2))
                })?),
            }
        }
        BinOp::Multiply if s == s1 + s2 => {
            // the operands' magnitudes: by their types up to 18 digits; past that, not
            // needed where the types prove the product fits, else this batch's largest
            let by_type = p1 + p2 <= p;
            let bound = |o: &Operand, p: i32| match pow10(p) {
                Some(v) if p <= 18 => v as u128,
                _ if by_type => u128::MAX,
                _ => max_abs(o),
            };
            let (b1, b2) = (bound(l, p1), bound(r, p2));
            let proven = by_type || fits(b1.checked_mul(b2));
            // operands within 64 bits: one widening 64 x 64 -> 128-bit multiply
            // (i128 x i128 takes three)
            let small = b1 <= i64::MAX as u128 && b2 <= i64::MAX as u128;
            match (proven, small) {
                (false, _) => None,
                (true, true) => Some(decimal_binary(l, r, |x, y| {
                    ((x as i64) as i128).wrapping_mul((y as i64) as i128)
                })?),
                (true, false) => Some(decimal_binary(l, r, |x, y| x.wrapping_mul(y))?),
            }
        }
        _ => None,
    };
    if let Some(res) = fast {
        return Ok(Arc::new(res.with_precision_and_scale(p as u8, s as i8)?));
    }
    let (l, r) = (l.full(n)?, r.full(n)?);
    let a = l.as_primitive::<Decimal128Type>();
    let b = r.as_primitive::<Decimal128Type>();
    let p = p as u8;
    let limit = i256::from_i128(pow10(p as i32).unwrap_or(i128::MAX));
    // exact intermediate values in 256 bits (two 38-digit operands multiply to 76
    // digits), rounded HALF_UP to the result scale as Java's BigDecimal does
    let ten = |k: i32| -> Option<i256> {
        if (0..=76).contains(&k) {
            i256::from_i128(10).checked_pow(k as u32)
        } else {
            None
        }
    };
    let rescale = |v: i256, from: i32, to: i32| -> Option<i256> {
        if to >= from {
            v.checked_mul(ten(to - from)?)
        } else {
            div_round_256(v, ten(from - to)?)
        }
    };
    let f = |x: i128, y: i128| -> Option<i128> {
        let (x, y) = (i256::from_i128(x), i256::from_i128(y));
        let v = match op {
            BinOp::Plus => rescale(x, s1, s)?.checked_add(rescale(y, s2, s)?)?,
            BinOp::Minus => rescale(x, s1, s)?.checked_sub(rescale(y, s2, s)?)?,
            BinOp::Multiply => rescale(x.checked_mul(y)?, s1 + s2, s)?,
            BinOp::Divide => {
                // x/10^s1 / (y/10^s2) * 10^s = x * 10^(s - s1 + s2) / y
                let k = s - s1 + s2;
                if k >= 0 {
                    div_round_256(x.checked_mul(ten(k)?)?, y)?
                } else {
                    div_round_256(x, y.checked_mul(ten(-k)?)?)?
                }
            }
            BinOp::Modulo => {
                let m = s1.max(s2);
                rescale(rescale(x, s1, m)?.checked_rem(rescale(y, s2, m)?)?, m, s)?
            }
            _ => return None,
        };
        if v.checked_abs()? < limit {
            v.to_i128()
        } else {
            None
        }
    };
    let res: Decimal128Array = a
        .iter()
        .zip(b.iter())
        .map(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => f(x, y),
            _ => None,
        })
        .collect();
    Ok(Arc::new(res.with_precision_and_scale(p, s as i8)?))
}

/// `n / d` rounded HALF_UP (away from zero at a tie); `None` for `d = 0` or overflow.
fn div_round_256(n: i256, d: i256) -> Option<i256> {
    let (q, r) = n.checked_div_rem(d)?;
    let twice = r.checked_abs()?.checked_mul(i256::from_i128(2))?;
    if twice >= d.checked_abs()? {
        let away = if n.is_negative() != d.is_negative() {
            i256::MINUS_ONE
        } else {
            i256::ONE
        };
        q.checked_add(away)
    } else {
        Some(q)
    }
}

/// The largest magnitude among a decimal operand's values, NULL slots included (what
/// they hold is arbitrary: at worst the bound is too large and the checked path runs).
fn max_abs(o: &Operand) -> u128 {
    o.array
        .as_primitive::<Decimal128Type>()
        .values()
        .iter()
        .fold(0u128, |m, v| m.max(v.unsigned_abs()))
}

/// `f` over two decimal operands (an array and a scalar, or two arrays), NULL where
/// either is; `f` wraps, so NULL slots' arbitrary values are harmless.
fn decimal_binary(
    l: &Operand,
    r: &Operand,
    f: impl Fn(i128, i128) -> i128,
) -> Result<Decimal128Array> {
    let a = l.array.as_primitive::<Decimal128Type>();
    let b = r.array.as_primitive::<Decimal128Type>();
    Ok(match (l.scalar, r.scalar) {
        (false, false) => arrow::compute::binary(a, b, f)?,
        (false, true) if b.is_valid(0) => {
            let y = b.value(0);
            a.unary(|x| f(x, y))
        }
        (true, false) if a.is_valid(0) => {
            let x = a.value(0);
            b.unary(|y| f(x, y))
        }
        // a NULL literal: every row is NULL
        (false, true) => Decimal128Array::new_null(a.len()),
        _ => Decimal128Array::new_null(b.len()),
    })
}

/// `x [NOT] LIKE pattern` for a pattern of two or more literal pieces around `%`
/// (`'%special%requests%'`, `'a%b'`): no `_` and no escape, so a value matches when it
/// starts with the first piece, ends with the last, and holds the middle ones in order
/// between them (leftmost matches suffice for `%`). Each piece is searched with memchr's
/// memmem; arrow's kernel runs such patterns as a regex. `None` for other patterns (those
/// arrow handles directly, or with `_` or escapes) and non-string input.
fn like_segments(x: &ArrayRef, pattern: &ArrayRef, negated: bool) -> Option<BooleanArray> {
    let p = match pattern.data_type() {
        DataType::Utf8 => pattern.as_string::<i32>(),
        _ => return None,
    };
    if p.len() != 1 || p.is_null(0) {
        return None;
    }
    let p = p.value(0);
    if p.contains('_') || p.contains('\\') {
        return None;
    }
    let pieces: Vec<&str> = p.split('%').collect();
    let non_empty = pieces.iter().filter(|s| !s.is_empty()).count();
    let [first, inner @ .., last] = pieces.as_slice() else {
        return None;
    };
    if non_empty < 2 {
        return None;
    }
    let middle: Vec<memchr::memmem::Finder> = inner
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| memchr::memmem::Finder::new(s.as_bytes()))
        .collect();
    let matches = |v: &[u8]| -> bool {
        if v.len() < first.len() + last.len()
            || !v.starts_with(first.as_bytes())
            || !v.ends_with(last.as_bytes())
        {
            return false;
        }
        let end = v.len() - last.len();
        let mut pos = first.len();
        for f in &middle {
            match f.find(&v[pos..end]) {
                Some(i) => pos += i + f.needle().len(),
                None => return false,
            }
        }
        true
    };
    let out: BooleanArray = match x.data_type() {
        DataType::Utf8 => x
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(|v| matches(v.as_bytes()) != negated))
            .collect(),
        DataType::LargeUtf8 => x
            .as_string::<i64>()
            .iter()
            .map(|v| v.map(|v| matches(v.as_bytes()) != negated))
            .collect(),
        _ => return None,
    };
    Some(out)
}

/// The precision of a decimal type (38 for anything else).
fn decimal_precision(t: &DataType) -> u8 {
    match t {
        DataType::Decimal128(p, _) => *p,
        _ => 38,
    }
}

/// A filter mask with NULL read as false.
pub fn null_as_false(b: &BooleanArray) -> BooleanArray {
    match b.nulls() {
        None => b.clone(),
        Some(n) => BooleanArray::new(b.values() & n.inner(), None),
    }
}

/// `f` over two integer arrays widened to bigint (NULL where either side is NULL; the
/// divisor's zeros are NULL already), cast to `out`. `f` is not called on NULL slots.
fn int64_wrapping(
    l: &ArrayRef,
    r: &ArrayRef,
    out: &DataType,
    f: fn(i64, i64) -> i64,
) -> Result<ArrayRef> {
    let l64 = arrow::compute::cast(l, &DataType::Int64)?;
    let r64 = arrow::compute::cast(r, &DataType::Int64)?;
    let q: Int64Array = l64
        .as_primitive::<Int64Type>()
        .iter()
        .zip(r64.as_primitive::<Int64Type>().iter())
        .map(|(x, y)| Some(f(x?, y?)))
        .collect();
    cast_array(&(Arc::new(q) as ArrayRef), out)
}

/// Compare arrays and structs row by row with arrow's `make_comparator` (Spark's
/// ordering: element by element, field by field, a NULL inside before any value);
/// a NULL operand gives NULL except for `<=>`. A literal side (one row) is repeated.
pub(crate) fn nested_compare(op: BinOp, l: &ArrayRef, r: &ArrayRef) -> Result<ArrayRef> {
    use std::cmp::Ordering;
    let n = l.len().max(r.len());
    let cmp = arrow::array::make_comparator(l.as_ref(), r.as_ref(), Default::default())?;
    let (li, ri) = (
        |i: usize| if l.len() == 1 { 0 } else { i },
        |i: usize| if r.len() == 1 { 0 } else { i },
    );
    Ok(Arc::new(
        (0..n)
            .map(|i| {
                let (a, b) = (li(i), ri(i));
                let (an, bn) = (l.is_null(a), r.is_null(b));
                if op == BinOp::NullSafeEq {
                    return Some(if an || bn {
                        an && bn
                    } else {
                        cmp(a, b) == Ordering::Equal
                    });
                }
                if an || bn {
                    return None;
                }
                let o = cmp(a, b);
                Some(match op {
                    BinOp::Eq => o == Ordering::Equal,
                    BinOp::NotEq => o != Ordering::Equal,
                    BinOp::Lt => o == Ordering::Less,
                    BinOp::LtEq => o != Ordering::Greater,
                    BinOp::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                })
            })
            .collect::<BooleanArray>(),
    ))
}
