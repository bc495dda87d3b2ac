//! Spark's implicit type coercion (non-ANSI mode) and result types of operators.

use arrow::datatypes::DataType;

use crate::error::{QuarryError, Result};
use crate::plan::{BinOp, Expr};
use crate::types::{
    decimal_of, is_floating, is_integer, is_numeric, is_string, type_name, TIMESTAMP,
};

fn int_rank(t: &DataType) -> u8 {
    match t {
        DataType::Int8 => 1,
        DataType::Int16 => 2,
        DataType::Int32 => 3,
        _ => 4,
    }
}

/// The wider of two decimal types (Spark's `DecimalPrecision.widerDecimalType`).
fn wider_decimal(a: (u8, i8), b: (u8, i8)) -> DataType {
    let s = a.1.max(b.1);
    let int_digits = (a.0 as i16 - a.1 as i16).max(b.0 as i16 - b.1 as i16);
    let p = (int_digits + s as i16).min(38) as u8;
    DataType::Decimal128(p.max(1), s.min(p as i8))
}

/// The common numeric type of two numeric types.
fn numeric_common(a: &DataType, b: &DataType) -> DataType {
    if is_floating(a) || is_floating(b) {
        // Spark's numericPrecedence (findTightestCommonType): a float with a float or
        // an integer is a float; with a double or a decimal, a double
        let float_or_integer =
            |t: &DataType| t == &DataType::Float32 || crate::types::is_integer(t);
        if float_or_integer(a) && float_or_integer(b) {
            return DataType::Float32;
        }
        return DataType::Float64;
    }
    if let (DataType::Decimal128(..), _) | (_, DataType::Decimal128(..)) = (a, b) {
        if let (Some(x), Some(y)) = (decimal_of(a), decimal_of(b)) {
            return wider_decimal(x, y);
        }
    }
    if int_rank(a) >= int_rank(b) {
        a.clone()
    } else {
        b.clone()
    }
}

/// The type both sides of a comparison are cast to (Spark's `findCommonTypeForBinaryComparison`
/// plus the wider-type rules): a string against another atomic type is cast to that type.
pub fn comparison_type(a: &DataType, b: &DataType) -> Result<DataType> {
    if let Some(m) = [a, b].into_iter().find(|t| matches!(t, DataType::Map(..))) {
        return Err(QuarryError::Analysis(format!(
            "[DATATYPE_MISMATCH.INVALID_ORDERING_TYPE] maps cannot be compared, not even for equality: {}",
            type_name(m)
        )));
    }
    if a == b {
        return Ok(a.clone());
    }
    Ok(match (a, b) {
        (DataType::Null, t) | (t, DataType::Null) => t.clone(),
        (x, y) if is_numeric(x) && is_numeric(y) => numeric_common(x, y),
        (x, y) if x.is_nested() && y.is_nested() => wider_type(x, y)?,
        (s, t) | (t, s) if is_string(s) && !is_string(t) && !t.is_nested() => {
            if matches!(t, DataType::Decimal128(..)) {
                DataType::Float64
            } else {
                t.clone()
            }
        }
        (DataType::Date32, DataType::Timestamp(..))
        | (DataType::Timestamp(..), DataType::Date32) => TIMESTAMP,
        _ => {
            return Err(QuarryError::Analysis(format!(
                "[DATATYPE_MISMATCH] cannot compare {} with {}",
                type_name(a),
                type_name(b)
            )))
        }
    })
}

/// The common type of values that meet in one column (UNION, CASE branches, COALESCE,
/// IN lists): numeric widening; a string with anything atomic but a boolean or a binary
/// is a string (Spark's `findWiderTypeForTwo` with its `stringPromotion`).
pub fn wider_type(a: &DataType, b: &DataType) -> Result<DataType> {
    if a == b {
        return Ok(a.clone());
    }
    Ok(match (a, b) {
        (DataType::Null, t) | (t, DataType::Null) => t.clone(),
        (x, y) if is_numeric(x) && is_numeric(y) => numeric_common(x, y),
        (DataType::List(x), DataType::List(y)) => {
            crate::types::list_type(wider_type(x.data_type(), y.data_type())?)
        }
        (DataType::Map(..), DataType::Map(..)) => {
            match (
                crate::types::map_key_value(a),
                crate::types::map_key_value(b),
            ) {
                (Some((ka, va)), Some((kb, vb))) => {
                    crate::types::map_type(wider_type(ka, kb)?, wider_type(va, vb)?)
                }
                _ => return Err(incompatible(a, b)),
            }
        }
        // structs of as many fields: field by field, names of the first
        (DataType::Struct(x), DataType::Struct(y)) if x.len() == y.len() => DataType::Struct(
            x.iter()
                .zip(y.iter())
                .map(|(f, g)| {
                    Ok(arrow::datatypes::Field::new(
                        f.name(),
                        wider_type(f.data_type(), g.data_type())?,
                        true,
                    ))
                })
                .collect::<Result<Vec<_>>>()?
                .into(),
        ),
        (s, t) | (t, s) if is_string(s) && !t.is_nested() && !string_promotion_refuses(s, t) => {
            DataType::Utf8
        }
        (DataType::Date32, DataType::Timestamp(..))
        | (DataType::Timestamp(..), DataType::Date32) => TIMESTAMP,
        _ => return Err(incompatible(a, b)),
    })
}

/// Whether `a` and `b` are a string and a boolean or a binary, which Spark's
/// `stringPromotion` never widens to one type (UNION, CASE, COALESCE, IN lists), though a
/// comparison (`'1' = true`) still casts the string.
pub fn string_promotion_refuses(a: &DataType, b: &DataType) -> bool {
    let other = |s: &DataType, t: &DataType| {
        is_string(s) && matches!(t, DataType::Boolean | DataType::Binary)
    };
    other(a, b) || other(b, a)
}

fn incompatible(a: &DataType, b: &DataType) -> QuarryError {
    QuarryError::Analysis(format!(
        "[DATATYPE_MISMATCH] incompatible types {} and {}",
        type_name(a),
        type_name(b)
    ))
}

/// Common type of many (used for function signatures).
pub fn wider_of(types: &[DataType]) -> Result<DataType> {
    let mut t = DataType::Null;
    for x in types {
        t = wider_type(&t, x)?;
    }
    Ok(t)
}

/// Wrap `e` in a cast to `to` unless it already has that type (literals are cast eagerly).
pub fn cast_to(e: Expr, to: &DataType) -> Result<Expr> {
    if &e.data_type() == to {
        return Ok(e);
    }
    if matches!(
        to,
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64
    ) {
        // an unsigned type: the cast checks its range (out of range is NULL, as
        // arrow's safe cast), then the value computes as the next wider signed type
        let checked = match e {
            Expr::Literal(v) => Expr::Literal(crate::types::ScalarValue(
                crate::physical::eval::cast_array(&v.0, to)?,
            )),
            e => Expr::Cast {
                expr: Box::new(e),
                to: to.clone(),
                try_cast: false,
            },
        };
        return cast_to(checked, &crate::types::normalize_type(to));
    }
    if let Expr::Literal(v) = &e {
        // the executor's cast (Spark's rules: `'1.23'` -> 1 as an int, trimmed text); a
        // literal that does not convert becomes NULL, as Spark's non-ANSI cast
        let c = crate::physical::eval::cast_array(&v.0, to)?;
        return Ok(Expr::Literal(crate::types::ScalarValue(c)));
    }
    Ok(Expr::Cast {
        expr: Box::new(e),
        to: to.clone(),
        try_cast: false,
    })
}

/// How a session types arithmetic: the settings that change it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ArithMode {
    /// `quarry.sql.integer_division`: `/` on two integers is integral.
    pub integer_division: bool,
    /// `spark.sql.decimalOperations.allowPrecisionLoss` (default true): a decimal
    /// result wider than 38 digits gives up scale (keeping at least 6 digits of it);
    /// when false the type is only capped at 38 digits (and division splits the excess
    /// between integer and fraction digits), so more results overflow to NULL.
    pub decimal_precision_loss: bool,
}

impl Default for ArithMode {
    /// Spark's defaults.
    fn default() -> Self {
        ArithMode {
            integer_division: false,
            decimal_precision_loss: true,
        }
    }
}

/// Spark's result type of decimal arithmetic (`DecimalPrecision`): with precision loss
/// allowed, the adjustment to at most 38 digits keeping at least 6 of scale; without,
/// `DecimalType.bounded` (and division's split of the excess digits).
fn decimal_result(
    op: BinOp,
    (p1, s1): (u8, i8),
    (p2, s2): (u8, i8),
    precision_loss: bool,
) -> DataType {
    let (p1, s1, p2, s2) = (p1 as i32, s1 as i32, p2 as i32, s2 as i32);
    let (p, s) = match op {
        BinOp::Plus | BinOp::Minus => {
            let s = s1.max(s2);
            ((p1 - s1).max(p2 - s2) + s + 1, s)
        }
        BinOp::Multiply => (p1 + p2 + 1, s1 + s2),
        BinOp::Divide if !precision_loss => {
            let mut int = (p1 - s1 + s2).min(38);
            let mut dec = 6.max(s1 + p2 + 1).min(38);
            let diff = int + dec - 38;
            if diff > 0 {
                dec -= diff / 2 + 1;
                int = 38 - dec;
            }
            (int + dec, dec)
        }
        BinOp::Divide => {
            let s = 6.max(s1 + p2 + 1);
            (p1 - s1 + s2 + s, s)
        }
        _ => {
            // remainder
            let s = s1.max(s2);
            ((p1 - s1).min(p2 - s2) + s, s)
        }
    };
    if !precision_loss {
        return DataType::Decimal128(p.clamp(1, 38) as u8, s.min(38) as i8);
    }
    if p <= 38 {
        return DataType::Decimal128(p.max(1) as u8, s as i8);
    }
    let int_digits = p - s;
    let min_scale = s.min(6);
    let s = (38 - int_digits).max(min_scale);
    DataType::Decimal128(38, s as i8)
}

/// Build a typed binary expression, inserting Spark's implicit casts.
/// `integer_division`: `/` on two integers is integral (the SQLite-compatibility setting).
pub fn binary(op: BinOp, l: Expr, r: Expr, integer_division: bool) -> Result<Expr> {
    let mode = ArithMode {
        integer_division,
        ..ArithMode::default()
    };
    binary_in(op, l, r, mode)
}

/// [`binary`] under a session's [`ArithMode`].
pub fn binary_in(op: BinOp, l: Expr, r: Expr, mode: ArithMode) -> Result<Expr> {
    let integer_division = mode.integer_division;
    let (lt, rt) = (l.data_type(), r.data_type());
    match op {
        BinOp::And | BinOp::Or => {
            let l = cast_bool(l)?;
            let r = cast_bool(r)?;
            Ok(Expr::binary(op, l, r, DataType::Boolean))
        }
        _ if op.is_comparison() => {
            // a boolean equals a number as that number's type (Spark's BooleanEquality:
            // true is 1, false 0); ordering them stays an error
            let t = match (&lt, &rt) {
                (DataType::Boolean, n) | (n, DataType::Boolean)
                    if is_numeric(n)
                        && matches!(op, BinOp::Eq | BinOp::NotEq | BinOp::NullSafeEq) =>
                {
                    n.clone()
                }
                _ => comparison_type(&lt, &rt)?,
            };
            Ok(Expr::binary(
                op,
                cast_to(l, &t)?,
                cast_to(r, &t)?,
                DataType::Boolean,
            ))
        }
        BinOp::Divide
            if integer_division
                && (is_integer(&lt) || lt == DataType::Null)
                && (is_integer(&rt) || rt == DataType::Null) =>
        {
            binary(BinOp::IntDivide, l, r, false)
        }
        _ => {
            // arithmetic: strings are read as doubles
            let num = |e: Expr| -> Result<Expr> {
                let t = e.data_type();
                if is_string(&t) {
                    cast_to(e, &DataType::Float64)
                } else if t == DataType::Null {
                    cast_to(e, &DataType::Int32)
                } else if is_numeric(&t) {
                    Ok(e)
                } else {
                    Err(QuarryError::Analysis(format!(
                        "[DATATYPE_MISMATCH.BINARY_OP_WRONG_TYPE] the operator `{}` requires numeric operands, not {}",
                        op.symbol(),
                        type_name(&t)
                    )))
                }
            };
            let (l, r) = (num(l)?, num(r)?);
            let (lt, rt) = (l.data_type(), r.data_type());
            if op == BinOp::IntDivide {
                let l = cast_to(l, &DataType::Int64)?;
                let r = cast_to(r, &DataType::Int64)?;
                return Ok(Expr::binary(op, l, r, DataType::Int64));
            }
            let is_dec =
                matches!(lt, DataType::Decimal128(..)) || matches!(rt, DataType::Decimal128(..));
            if is_dec && !is_floating(&lt) && !is_floating(&rt) {
                let (a, b) = (
                    decimal_of(&lt).unwrap_or((38, 0)),
                    decimal_of(&rt).unwrap_or((38, 0)),
                );
                let result = decimal_result(op, a, b, mode.decimal_precision_loss);
                let l = cast_to(l, &DataType::Decimal128(a.0, a.1))?;
                let r = cast_to(r, &DataType::Decimal128(b.0, b.1))?;
                return Ok(Expr::binary(op, l, r, result));
            }
            if op == BinOp::Divide {
                return Ok(Expr::binary(
                    op,
                    cast_to(l, &DataType::Float64)?,
                    cast_to(r, &DataType::Float64)?,
                    DataType::Float64,
                ));
            }
            let t = numeric_common(&lt, &rt);
            Ok(Expr::binary(op, cast_to(l, &t)?, cast_to(r, &t)?, t))
        }
    }
}

/// A boolean operand (NULL literals become boolean NULL; strings 'true'/'false' are cast).
pub fn cast_bool(e: Expr) -> Result<Expr> {
    match e.data_type() {
        DataType::Boolean => Ok(e),
        DataType::Null => cast_to(e, &DataType::Boolean),
        t if is_string(&t) || is_numeric(&t) => cast_to(e, &DataType::Boolean),
        t => Err(QuarryError::Analysis(format!(
            "[DATATYPE_MISMATCH] expected a boolean, got {}",
            type_name(&t)
        ))),
    }
}
