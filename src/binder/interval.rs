//! Binding intervals: literals (`INTERVAL '1' DAY`, `INTERVAL 1 DAY 2 HOURS`,
//! `INTERVAL '1-2' YEAR TO MONTH`), casts to and from interval types, and Spark's
//! datetime and interval arithmetic (`BinaryArithmeticWithDatetimeResolver`):
//!
//! | expression | result |
//! | --- | --- |
//! | date ± year-month | date (day clamped to the month's end) |
//! | date ± day-time of whole `DAY` fields | date |
//! | date ± other day-time | timestamp |
//! | timestamp ± year-month or day-time | timestamp |
//! | date - date | day-time `DAY` |
//! | timestamp - timestamp (or date) | day-time `DAY TO SECOND` |
//! | interval ± interval (one family) | interval, fields widened |
//! | interval * number, number * interval, interval / number | interval |
//!
//! Each interval-valued expression carries its fields in an
//! [`IntervalFunc::Qualified`] wrapper (see [`crate::functions::interval`]).

use arrow::datatypes::DataType;
use sqlparser::ast;

use super::coerce::cast_to;
use crate::error::{QuarryError, Result};
use crate::functions::interval::{
    self as iv, is_ansi_interval, is_interval, Field, IntervalFunc, Qualifier, Value, CALENDAR,
    DAY_TIME,
};
use crate::functions::scalar::ScalarFunc;
use crate::plan::{BinOp, Expr};
use crate::types::{is_integer, is_numeric, is_string, type_name, ScalarValue, TIMESTAMP};

/// `e` (an ANSI interval) marked as having fields `q`.
pub fn qualify(e: Expr, q: Qualifier) -> Expr {
    let inner = match e {
        Expr::Function {
            func: ScalarFunc::Interval(IntervalFunc::Qualified(_)),
            mut args,
            ..
        } if args.len() == 1 => args.remove(0),
        e => e,
    };
    Expr::Function {
        func: ScalarFunc::Interval(IntervalFunc::Qualified(q)),
        args: vec![inner],
        data_type: q.data_type(),
    }
}

/// The fields of an ANSI-interval expression: those it was marked with, else the
/// widest of its type. None for other types.
pub fn fields_of(e: &Expr) -> Option<Qualifier> {
    match e {
        Expr::Function {
            func: ScalarFunc::Interval(IntervalFunc::Qualified(q)),
            ..
        } => Some(*q),
        _ => Qualifier::of_type(&e.data_type()),
    }
}

fn unit_word(f: &ast::DateTimeField) -> Option<&'static str> {
    use ast::DateTimeField as D;
    Some(match f {
        D::Year | D::Years => "year",
        D::Month | D::Months => "month",
        D::Week(_) | D::Weeks => "week",
        D::Day | D::Days => "day",
        D::Hour | D::Hours => "hour",
        D::Minute | D::Minutes => "minute",
        D::Second | D::Seconds => "second",
        D::Millisecond | D::Milliseconds => "millisecond",
        D::Microsecond | D::Microseconds => "microsecond",
        _ => return None,
    })
}

/// The text of an interval literal's value and whether a minus sign was written before
/// it (`-'10'`, `-5`); None when the value is not a number or string.
fn value_text(e: &ast::Expr) -> Option<(String, bool, bool)> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => Some((n.clone(), false, false)),
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
                Some((s.clone(), false, true))
            }
            _ => None,
        },
        ast::Expr::UnaryOp { op, expr } => {
            let (t, neg, string) = value_text(expr)?;
            match op {
                ast::UnaryOperator::Minus => Some((t, !neg, string)),
                ast::UnaryOperator::Plus => Some((t, neg, string)),
                _ => None,
            }
        }
        ast::Expr::Nested(x) => value_text(x),
        _ => None,
    }
}

fn value_expr((v, q): (Value, Qualifier)) -> Expr {
    qualify(Expr::Literal(ScalarValue(v.to_array())), q)
}

/// Bind an `INTERVAL ...` literal (Spark's grammar; see the parser's dialect).
pub fn bind_literal(i: &ast::Interval) -> Result<Expr> {
    let (text, negative, is_str) = value_text(&i.value).ok_or_else(|| {
        QuarryError::NotSupported(format!(
            "INTERVAL with a value that is not a constant number or string ({}); use make_dt_interval or make_ym_interval",
            i.value
        ))
    })?;
    let unit = |f: &ast::DateTimeField| {
        unit_word(f).ok_or_else(|| {
            QuarryError::Analysis(format!(
                "[INVALID_INTERVAL_FORMAT] invalid interval unit {f}"
            ))
        })
    };
    let negate = |(v, q): (Value, Qualifier)| match v {
        Value::Months(m) => (Value::Months(-m), q),
        Value::Micros(m) => (Value::Micros(-m), q),
    };
    match (&i.leading_field, &i.last_field) {
        (None, _) => {
            if !is_str {
                return Err(QuarryError::Analysis(format!(
                    "[INVALID_INTERVAL_FORMAT] INTERVAL {text} needs a unit"
                )));
            }
            let v = iv::literal_from_units(&text)?;
            Ok(value_expr(if negative { negate(v) } else { v }))
        }
        (Some(lead), None) => {
            // Spark applies a sign written before a string to the string's own sign
            let signed = match (negative, text.strip_prefix('-')) {
                (false, _) => text.clone(),
                (true, Some(rest)) => rest.to_string(),
                (true, None) => format!("-{text}"),
            };
            Ok(value_expr(iv::literal_single_unit(&signed, unit(lead)?)?))
        }
        (Some(lead), Some(last)) => {
            let field = |f: &ast::DateTimeField| {
                Field::parse(unit(f)?).ok_or_else(|| {
                    QuarryError::Analysis(format!(
                        "[INVALID_INTERVAL_FORMAT] invalid interval field {f}"
                    ))
                })
            };
            if !is_str {
                return Err(QuarryError::Analysis(format!(
                    "[INVALID_INTERVAL_FORMAT] INTERVAL ... {lead} TO {last} needs a quoted value, e.g. INTERVAL '1 02' DAY TO HOUR"
                )));
            }
            let q = Qualifier::new(field(lead)?, field(last)?)?;
            let v = iv::literal_unit_to_unit(&text, q)
                .map_err(|e| QuarryError::Analysis(e.to_string()))?;
            Ok(value_expr(if negative { negate(v) } else { v }))
        }
    }
}

/// `CAST(x AS <type text>)` where the type or `x` is an ANSI interval: the cast, or
/// `Err(x)` back for other casts.
pub fn bind_cast(
    x: Expr,
    type_text: &str,
    try_cast: bool,
) -> Result<std::result::Result<Expr, Expr>> {
    if let Some(q) = iv::parse_type_qualifier(type_text) {
        let q = q?;
        if x.data_type() == DataType::Null {
            return Ok(Ok(qualify(
                Expr::Literal(ScalarValue::null(&q.data_type())),
                q,
            )));
        }
        let data_type = q.data_type();
        let cast = Expr::Function {
            func: ScalarFunc::Interval(IntervalFunc::CastTo { to: q, try_cast }),
            args: vec![x],
            data_type,
        };
        return Ok(Ok(qualify(cast, q)));
    }
    if let Some(from) = fields_of(&x) {
        let to = crate::types::parse_type_name(type_text)?;
        return Ok(Ok(Expr::Function {
            func: ScalarFunc::Interval(IntervalFunc::CastFrom { from, try_cast }),
            args: vec![x],
            data_type: to,
        }));
    }
    Ok(Err(x))
}

/// `-x` for an interval `x`; None for other types.
pub fn negate(x: Expr) -> std::result::Result<Expr, Expr> {
    match fields_of(&x) {
        Some(q) => Ok(qualify(Expr::Negate(Box::new(x)), q)),
        None => Err(x),
    }
}

fn mismatch(op: BinOp, lt: &DataType, rt: &DataType) -> QuarryError {
    QuarryError::Analysis(format!(
        "[DATATYPE_MISMATCH.BINARY_OP_DIFF_TYPES] Cannot resolve \"{} {} {}\" due to data type mismatch",
        type_name(lt),
        op.symbol(),
        type_name(rt)
    ))
}

fn is_datetime(t: &DataType) -> bool {
    matches!(t, DataType::Date32 | DataType::Timestamp(..))
}

/// Spark's datetime and interval arithmetic for `l op r` (see the module docs); None
/// when neither operand is an interval and the operation is not `date - date` or a
/// timestamp difference, so the caller's numeric rules apply.
pub fn arithmetic(op: BinOp, l: Expr, r: Expr) -> Result<std::result::Result<Expr, (Expr, Expr)>> {
    let (lt, rt) = (l.data_type(), r.data_type());
    let (li, ri) = (is_interval(&lt), is_interval(&rt));
    match op {
        BinOp::Plus | BinOp::Minus if li || ri => {
            if li && ri {
                if lt != rt || lt == CALENDAR {
                    return Err(mismatch(op, &lt, &rt));
                }
                let q = fields_of(&l)
                    .zip(fields_of(&r))
                    .map(|(a, b)| a.union(b))
                    .ok_or_else(|| mismatch(op, &lt, &rt))?;
                return Ok(Ok(qualify(Expr::binary(op, l, r, lt), q)));
            }
            // NULL with an interval: an interval NULL
            if lt == DataType::Null || rt == DataType::Null {
                let t = if li { lt.clone() } else { rt.clone() };
                return Ok(Ok(Expr::Literal(ScalarValue::null(&t))));
            }
            // the datetime on the left; `interval - datetime` is not a thing
            let (dt, iv_e) = if ri {
                (l, r)
            } else if op == BinOp::Plus {
                (r, l)
            } else {
                return Err(mismatch(op, &lt, &rt));
            };
            let t = dt.data_type();
            let ivt = iv_e.data_type();
            if ivt == CALENDAR {
                // a calendar interval (CAST('...' AS INTERVAL)) moves a timestamp
                if !matches!(t, DataType::Timestamp(..) | DataType::Date32) && !is_string(&t) {
                    return Err(mismatch(op, &t, &ivt));
                }
                let ts = cast_to(dt, &TIMESTAMP)?;
                return Ok(Ok(Expr::binary(op, ts, iv_e, TIMESTAMP)));
            }
            let q = fields_of(&iv_e).unwrap_or(Qualifier::DAY_TO_SECOND);
            match t {
                DataType::Date32 if q.is_year_month() => {
                    Ok(Ok(Expr::binary(op, dt, iv_e, DataType::Date32)))
                }
                DataType::Date32 if q.end == Field::Day => {
                    let days = Expr::Function {
                        func: ScalarFunc::Interval(IntervalFunc::Days),
                        args: vec![iv_e],
                        data_type: DataType::Int32,
                    };
                    let f = if op == BinOp::Plus {
                        ScalarFunc::DateAdd
                    } else {
                        ScalarFunc::DateSub
                    };
                    Ok(Ok(super::expr::scalar_call(f, vec![dt, days])?))
                }
                DataType::Date32 | DataType::Timestamp(..) => {
                    let ts = cast_to(dt, &TIMESTAMP)?;
                    Ok(Ok(Expr::binary(op, ts, iv_e, TIMESTAMP)))
                }
                // Spark reads the string as a timestamp and gives a string back
                ref s if is_string(s) => {
                    let ts = cast_to(dt, &TIMESTAMP)?;
                    cast_to(Expr::binary(op, ts, iv_e, TIMESTAMP), &DataType::Utf8).map(Ok)
                }
                _ => Err(mismatch(op, &t, &ivt)),
            }
        }
        BinOp::Minus => {
            // timestamp differences: a day-time interval
            let ts = |t: &DataType| matches!(t, DataType::Timestamp(..));
            let date_like = |t: &DataType| is_datetime(t) || is_string(t) || *t == DataType::Null;
            if (ts(&lt) && date_like(&rt)) || (ts(&rt) && date_like(&lt)) {
                let (l, r) = (cast_to(l, &TIMESTAMP)?, cast_to(r, &TIMESTAMP)?);
                return Ok(Ok(qualify(
                    Expr::binary(BinOp::Minus, l, r, DAY_TIME),
                    Qualifier::DAY_TO_SECOND,
                )));
            }
            // `x - date`: the days between, with x read as a date (a string too)
            if rt == DataType::Date32
                && (lt == DataType::Date32 || is_string(&lt) || lt == DataType::Null)
            {
                let l = cast_to(l, &DataType::Date32)?;
                let day = Qualifier {
                    start: Field::Day,
                    end: Field::Day,
                };
                return Ok(Ok(qualify(
                    Expr::Function {
                        func: ScalarFunc::Interval(IntervalFunc::SubtractDates),
                        args: vec![l, r],
                        data_type: DAY_TIME,
                    },
                    day,
                )));
            }
            Ok(Err((l, r)))
        }
        BinOp::Multiply | BinOp::Divide if li || ri => {
            let (iv_e, num) = if li { (l, r) } else { (r, l) };
            if !li && op == BinOp::Divide || !is_ansi_interval(&iv_e.data_type()) {
                return Err(mismatch(op, &lt, &rt));
            }
            let nt = num.data_type();
            let num = if is_string(&nt) || nt == DataType::Null {
                cast_to(num, &DataType::Float64)?
            } else if is_numeric(&nt) {
                if is_integer(&nt) {
                    cast_to(num, &DataType::Int64)?
                } else {
                    num
                }
            } else {
                return Err(mismatch(op, &lt, &rt));
            };
            let q = fields_of(&iv_e).unwrap_or(Qualifier::DAY_TO_SECOND);
            let func = if op == BinOp::Multiply {
                IntervalFunc::Multiply
            } else {
                IntervalFunc::Divide
            };
            let data_type = iv_e.data_type();
            Ok(Ok(qualify(
                Expr::Function {
                    func: ScalarFunc::Interval(func),
                    args: vec![iv_e, num],
                    data_type,
                },
                q,
            )))
        }
        _ => Ok(Err((l, r))),
    }
}

/// `sum(x)` / `avg(x)` over an ANSI interval `x`: the aggregate runs over the raw
/// months or microseconds (bigint for sum, decimal for avg) and `finish` turns its
/// result back into the interval (avg rounds HALF_UP, as Spark's). `try_sum`/`try_avg`
/// likewise, their overflow being NULL. None for other types or functions.
pub fn aggregate_input(name: &str, x: &Expr) -> Option<(Expr, DataType)> {
    let t = x.data_type();
    if !is_ansi_interval(&t)
        || !matches!(
            name,
            "sum"
                | "avg"
                | "mean"
                | "try_sum"
                | "try_avg"
                | "percentile"
                | "median"
                | "percentile_approx"
                | "approx_percentile"
        )
    {
        return None;
    }
    let raw = Expr::Function {
        func: ScalarFunc::Interval(IntervalFunc::ToRaw),
        args: vec![x.clone()],
        data_type: DataType::Int64,
    };
    let raw = if !matches!(name, "avg" | "mean" | "try_avg") {
        raw
    } else {
        Expr::Cast {
            expr: Box::new(raw),
            to: DataType::Decimal128(38, 0),
            try_cast: false,
        }
    };
    Some((raw, t))
}

/// The interval an aggregate over [`aggregate_input`]'s raw values stands for; with
/// `try_` (try_sum, try_avg) a result out of the interval's range is NULL, not an error.
pub fn aggregate_finish(result: Expr, t: DataType, q: Option<Qualifier>, try_: bool) -> Expr {
    let mut e = Expr::Function {
        func: ScalarFunc::Interval(IntervalFunc::FromRaw),
        args: vec![result],
        data_type: t.clone(),
    };
    if try_ {
        e = Expr::Function {
            func: ScalarFunc::Try,
            args: vec![e],
            data_type: t.clone(),
        };
    }
    match q.or_else(|| Qualifier::of_type(&t)) {
        Some(q) => qualify(e, q),
        None => e,
    }
}
