//! Binding SQL expressions (sqlparser AST) into typed [`Expr`]s.

use std::cell::RefCell;
use std::sync::Arc;

use arrow::array::Decimal128Array;
use arrow::datatypes::DataType;
use sqlparser::ast;

use super::coerce::{binary, cast_bool, cast_to, comparison_type, wider_of, wider_type};
use super::scope::Scope;
use super::Binder;
use crate::error::{QuarryError, Result};
use crate::functions::aggregate::AggFunc;
use crate::functions::check_arity;
use crate::functions::collections::CollectionFunc;
use crate::functions::math::MathFunc;
use crate::functions::scalar::ScalarFunc;
use crate::plan::{AggregateExpr, BinOp, Column, Expr, SubqueryKind};
use crate::types::{is_integer, parse_type_name, ScalarValue};

/// Aggregation state while binding the SELECT list, HAVING and ORDER BY of a grouped query.
pub struct AggState {
    pub group: Vec<(Expr, Column)>,
    pub aggs: RefCell<Vec<(AggregateExpr, Column)>>,
    /// The input scope (aggregate arguments bind here).
    pub input: Scope,
    /// With GROUPING SETS / ROLLUP / CUBE: the grouping id column of the Aggregate.
    pub grouping_id: Option<Column>,
}

/// What an expression may see while being bound.
pub struct ExprCtx<'s> {
    pub scope: &'s Scope,
    /// Scopes of enclosing queries (only to report correlated references).
    pub outer: &'s [Scope],
    pub agg: Option<&'s AggState>,
    /// The clause, for error messages ("WHERE", "GROUP BY", ...).
    pub clause: &'static str,
    /// Where window function calls go (None: not allowed in this clause).
    pub windows: Option<&'s super::window::WindowState>,
}

/// Lower-case parts of an identifier chain.
pub fn ident_parts(idents: &[ast::Ident]) -> Vec<String> {
    idents
        .iter()
        .map(|i| i.value.to_ascii_lowercase())
        .collect()
}

/// The function name of a call, lower-case.
pub fn function_name(f: &ast::Function) -> String {
    last_name_part(&f.name)
}

/// The last part of a (possibly qualified) name, unquoted and lower-case: `t` of `db.t`.
pub fn last_name_part(n: &ast::ObjectName) -> String {
    n.0.last()
        .map(|p| crate::parser::name_part_text(p).to_ascii_lowercase())
        .unwrap_or_default()
}

/// The call a function argument `* EXCEPT (a, b)` becomes until
/// [`Binder::expand_star_args`] expands it (its arguments name the columns left out).
const STAR_EXCEPT_MARKER: &str = "__quarry_star_except";

/// A string literal, or a string NULL for None (an option passed to a kernel as a
/// constant argument).
fn optional_text_literal(v: Option<String>) -> Expr {
    match v {
        Some(v) => Expr::Literal(ScalarValue::from_str(&v)),
        None => Expr::Literal(ScalarValue::null(&DataType::Utf8)),
    }
}

/// A column a star expands to, as a quoted name (qualified when its relation has one).
fn star_column_reference(scope: &super::scope::Scope, c: &Column) -> ast::Expr {
    let quoted = |s: &str| ast::Ident::with_quote('`', s);
    let q = scope
        .cols
        .iter()
        .find(|sc| sc.col.id == c.id && !sc.hidden)
        .and_then(|sc| sc.qualifier.clone());
    match q {
        Some(q) => ast::Expr::CompoundIdentifier(vec![quoted(&q), quoted(&c.name)]),
        None => ast::Expr::Identifier(quoted(&c.name)),
    }
}

/// Whether an AST expression is an aggregate call (not a window function).
pub fn is_aggregate_call(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Function(f) if f.over.is_none() && AggFunc::is_aggregate_name(&function_name(f)))
}

/// Whether an AST expression contains an aggregate call (outside subqueries).
pub fn contains_aggregate(e: &ast::Expr) -> bool {
    use ast::Expr as A;
    let any = |v: &[&ast::Expr]| v.iter().any(|x| contains_aggregate(x));
    match e {
        A::Function(f) => {
            if is_aggregate_call(e) {
                return true;
            }
            match &f.args {
                ast::FunctionArguments::List(l) => l.args.iter().any(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => {
                        contains_aggregate(x)
                    }
                    _ => false,
                }),
                _ => false,
            }
        }
        A::BinaryOp { left, right, .. } => any(&[left, right]),
        A::UnaryOp { expr, .. }
        | A::Nested(expr)
        | A::Cast { expr, .. }
        | A::IsNull(expr)
        | A::IsUnknown(expr)
        | A::IsNotUnknown(expr)
        | A::IsNotNull(expr) => contains_aggregate(expr),
        A::IsTrue(x) | A::IsFalse(x) | A::IsNotTrue(x) | A::IsNotFalse(x) => contains_aggregate(x),
        A::IsDistinctFrom(a, b) | A::IsNotDistinctFrom(a, b) => any(&[a, b]),
        A::Between {
            expr, low, high, ..
        } => any(&[expr, low, high]),
        A::InList { expr, list, .. } => {
            contains_aggregate(expr) || list.iter().any(contains_aggregate)
        }
        A::InSubquery { expr, .. } => contains_aggregate(expr),
        A::Like {
            expr,
            pattern,
            any: quantified,
            ..
        }
        | A::ILike {
            expr,
            pattern,
            any: quantified,
            ..
        } => match like_quantified(pattern, *quantified) {
            // LIKE ALL (...) / LIKE SOME (...): its patterns, not a call of `some`
            Some((_, patterns)) => {
                contains_aggregate(expr) || patterns.iter().any(contains_aggregate)
            }
            None => any(&[expr, pattern]),
        },
        A::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            operand.as_deref().is_some_and(contains_aggregate)
                || conditions
                    .iter()
                    .any(|c| contains_aggregate(&c.condition) || contains_aggregate(&c.result))
                || else_result.as_deref().is_some_and(contains_aggregate)
        }
        A::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            contains_aggregate(expr)
                || substring_from.as_deref().is_some_and(contains_aggregate)
                || substring_for.as_deref().is_some_and(contains_aggregate)
        }
        A::Trim { expr, .. }
        | A::Extract { expr, .. }
        | A::Ceil { expr, .. }
        | A::Floor { expr, .. } => contains_aggregate(expr),
        A::Position { expr, r#in } => any(&[expr, r#in]),
        _ => false,
    }
}

/// The literal for a SQL number: int, bigint, decimal(p,s) for `1.5`, double for `1e3`.
/// Errors: more than 38 digits without an exponent, or a double out of range (Spark's).
pub fn number_literal(s: &str) -> Result<ScalarValue> {
    let lower = s.to_ascii_lowercase();
    if lower.contains('e') {
        let v = lower
            .parse::<f64>()
            .map_err(|_| QuarryError::Analysis(format!("invalid number {s}")))?;
        if v.is_infinite() {
            return Err(out_of_range(s, &DataType::Float64));
        }
        return Ok(ScalarValue::from_f64(v));
    }
    if let Some((int, frac)) = lower.split_once('.') {
        let digits = format!("{int}{frac}");
        let unscaled_str = digits.trim_start_matches('0');
        let scale = frac.len();
        let precision = unscaled_str.len().max(scale).max(1);
        if precision <= 38 {
            let unscaled: i128 = if unscaled_str.is_empty() {
                0
            } else {
                unscaled_str
                    .parse()
                    .map_err(|_| QuarryError::Analysis(format!("invalid number {s}")))?
            };
            let arr = Decimal128Array::from(vec![unscaled])
                .with_precision_and_scale(precision as u8, scale as i8)?;
            return Ok(ScalarValue(Arc::new(arr)));
        }
        return Err(precision_exceeded(precision));
    }
    if let Ok(v) = lower.parse::<i32>() {
        return Ok(ScalarValue::from_i32(v));
    }
    if let Ok(v) = lower.parse::<i64>() {
        return Ok(ScalarValue::from_i64(v));
    }
    let digits = lower.trim_start_matches('0');
    if digits.len() > 38 {
        return Err(precision_exceeded(digits.len()));
    }
    let v = digits
        .parse::<i128>()
        .map_err(|_| QuarryError::Analysis(format!("invalid number {s}")))?;
    let arr =
        Decimal128Array::from(vec![v]).with_precision_and_scale(digits.len().max(1) as u8, 0)?;
    Ok(ScalarValue(Arc::new(arr)))
}

/// The constant string format of `name` (to_number, to_char), or Spark's
/// NON_FOLDABLE_INPUT error.
fn constant_format(name: &str, format: &Expr) -> Result<String> {
    match format {
        Expr::Literal(v) => v.as_str().map(str::to_string),
        _ => None,
    }
    .ok_or_else(|| {
        QuarryError::Analysis(format!(
            "[DATATYPE_MISMATCH.NON_FOLDABLE_INPUT] the format of {name} must be a constant string, got {format}"
        ))
    })
}

/// A float or double literal beyond its type's range (Spark's
/// INVALID_NUMERIC_LITERAL_RANGE, with the type's bounds).
fn out_of_range(text: &str, to: &DataType) -> QuarryError {
    let bound = if to == &DataType::Float32 {
        "3.4028234663852886E+38"
    } else {
        "1.7976931348623157E+308"
    };
    QuarryError::Analysis(format!(
        "[INVALID_NUMERIC_LITERAL_RANGE] Numeric literal {text} is outside the valid range for {} with minimum value of -{bound} and maximum value of {bound}",
        crate::types::type_name(to)
    ))
}

/// A number literal with more than 38 digits (and no exponent) is an error, as Spark's
/// decimal literals.
fn precision_exceeded(precision: usize) -> QuarryError {
    QuarryError::Analysis(format!(
        "[DECIMAL_PRECISION_EXCEEDS_MAX_PRECISION] Decimal precision {precision} exceeds max precision 38"
    ))
}

fn value_literal(v: &ast::Value) -> Result<ScalarValue> {
    Ok(match v {
        ast::Value::Number(n, _) => number_literal(n)?,
        ast::Value::SingleQuotedString(s)
        | ast::Value::DoubleQuotedString(s)
        | ast::Value::EscapedStringLiteral(s)
        | ast::Value::UnicodeStringLiteral(s) => ScalarValue::from_str(s),
        ast::Value::TripleSingleQuotedString(s)
        | ast::Value::TripleDoubleQuotedString(s)
        | ast::Value::NationalStringLiteral(s) => ScalarValue::from_str(s),
        ast::Value::Boolean(b) => ScalarValue::from_bool(*b),
        ast::Value::Null => ScalarValue::null(&DataType::Null),
        // X'...': a binary literal; an odd number of digits gets a leading 0 (Spark)
        ast::Value::HexStringLiteral(h) => {
            let digits = if h.len() % 2 == 1 {
                format!("0{h}")
            } else {
                h.clone()
            };
            let bytes = hex::decode(&digits).map_err(|_| {
                QuarryError::Analysis(format!("invalid hexadecimal literal X'{h}'"))
            })?;
            ScalarValue(Arc::new(arrow::array::BinaryArray::from(vec![
                bytes.as_slice()
            ])))
        }
        ast::Value::Placeholder(p) => {
            return Err(QuarryError::Analysis(format!(
                "[UNBOUND_SQL_PARAMETER] Found the unbound parameter: {p}: give its value with PREPARE and EXECUTE, or EXECUTE IMMEDIATE ... USING"
            )))
        }
        other => return Err(QuarryError::NotSupported(format!("literal {other}"))),
    })
}

/// The literal `-n` for a unary minus over an integer literal `n` (plain digits, or
/// a typed one such as `9223372036854775808L`), so that each integer type's least
/// value can be written; None for anything else.
fn negative_literal(e: &ast::Expr) -> Result<Option<ScalarValue>> {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) if digits(n) => {
                let negative = format!("-{n}");
                if let Ok(v) = negative.parse::<i32>() {
                    return Ok(Some(ScalarValue::from_i32(v)));
                }
                if let Ok(v) = negative.parse::<i64>() {
                    return Ok(Some(ScalarValue::from_i64(v)));
                }
                Ok(None)
            }
            _ => Ok(None),
        },
        ast::Expr::TypedString(ts) => {
            let to = parse_type_name(&ts.data_type.to_string())?;
            match &ts.value.value {
                ast::Value::SingleQuotedString(t) if digits(t) && is_integer(&to) => {
                    Ok(Some(typed_literal(&format!("-{t}"), &to)?))
                }
                _ => Ok(None),
            }
        }
        _ => Ok(None),
    }
}

/// Cast a constant string to `to` for typed literals (`DATE '2021-01-01'`); invalid text is an error.
/// A date or timestamp literal may also be one of Spark's special values (its
/// `convertSpecialDate`/`convertSpecialTimestamp`, any case): `epoch` (1970-01-01),
/// `now`, `today`, `yesterday`, `tomorrow`, read from the clock when the statement is
/// bound (a timestamp's `today` is that day's midnight, UTC).
fn typed_literal(text: &str, to: &DataType) -> Result<ScalarValue> {
    if let Some(v) = special_datetime(text, to) {
        return Ok(v);
    }
    let v = if matches!(to, DataType::Timestamp(..)) {
        // the text as CAST(text AS TIMESTAMP) reads it (Spark's stringToTimestamp)
        ScalarValue(crate::physical::eval::cast_array(
            &ScalarValue::from_str(text).0,
            to,
        )?)
    } else {
        ScalarValue::from_str(text.trim()).cast_to(to)?
    };
    // `1E39F`: a number out of the float's (double's) range is an error, as Spark's
    // literals
    if matches!(to, DataType::Float32 | DataType::Float64)
        && text.bytes().any(|b| b.is_ascii_digit())
        && v.as_f64().is_some_and(f64::is_infinite)
    {
        return Err(out_of_range(text, to));
    }
    if v.is_null() {
        return Err(QuarryError::Analysis(format!(
            "[INVALID_TYPED_LITERAL] The value of the typed literal {} is invalid: '{text}'",
            crate::types::type_name(to).to_uppercase()
        )));
    }
    Ok(v)
}

/// The value of a special date or timestamp literal (see [`typed_literal`]), or None.
fn special_datetime(text: &str, to: &DataType) -> Option<ScalarValue> {
    let now = chrono::Utc::now();
    let day = |offset: i64| -> Option<chrono::NaiveDate> {
        now.date_naive()
            .checked_add_signed(chrono::Duration::days(offset))
    };
    let word = text.trim().to_ascii_lowercase();
    let date = match word.as_str() {
        "epoch" => chrono::NaiveDate::from_ymd_opt(1970, 1, 1),
        "today" | "now" => day(0),
        "yesterday" => day(-1),
        "tomorrow" => day(1),
        _ => return None,
    }?;
    match to {
        DataType::Date32 => Some(ScalarValue(Arc::new(arrow::array::Date32Array::from(
            vec![crate::functions::scalar::from_naive_date(date)],
        )))),
        DataType::Timestamp(..) => {
            let micros = if word == "now" {
                now.timestamp_micros()
            } else {
                date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros()
            };
            ScalarValue(Arc::new(arrow::array::TimestampMicrosecondArray::from(
                vec![micros],
            )))
            .cast_to(to)
            .ok()
        }
        _ => None,
    }
}

impl Binder<'_> {
    /// Bind an expression; in a grouped query (ctx.agg set) aggregate calls become
    /// references to the Aggregate node's outputs and grouping expressions are matched.
    pub fn bind_expr(&mut self, e: &ast::Expr, cx: &ExprCtx) -> Result<Expr> {
        let bound = self.bind_inner(e, cx)?;
        match cx.agg {
            Some(agg) => finish_grouped(bound, agg, cx.clause),
            None => Ok(bound),
        }
    }

    pub(super) fn bind_inner(&mut self, e: &ast::Expr, cx: &ExprCtx) -> Result<Expr> {
        use ast::Expr as A;
        match e {
            // Hive's `grouping__id`: grouping_id() of a CUBE, ROLLUP or GROUPING SETS
            A::Identifier(id)
                if id.value.eq_ignore_ascii_case("grouping__id")
                    && cx.agg.is_some_and(|a| a.grouping_id.is_some()) =>
            {
                self.bind_grouping("grouping_id", &[], cx)
            }
            A::Identifier(id) => self.column(&[id.value.to_ascii_lowercase()], cx),
            A::CompoundIdentifier(ids) => self.column(&ident_parts(ids), cx),
            A::Value(v) => Ok(Expr::Literal(value_literal(&v.value)?)),
            A::TypedString(ts) => {
                let to = parse_type_name(&ts.data_type.to_string())?;
                let text = match &ts.value.value {
                    ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
                        s.clone()
                    }
                    other => other.to_string(),
                };
                Ok(Expr::Literal(typed_literal(&text, &to)?))
            }
            A::Nested(inner) => self.bind_inner(inner, cx),
            A::Lambda(l) => Err(QuarryError::NotSupported(format!(
                "the lambda function {l} here (lambdas are supported in transform, filter, exists, forall, aggregate/reduce, zip_with, array_sort, map_filter, transform_values, transform_keys and map_zip_with)"
            ))),
            // Spark's row constructor `(a, b)`: struct(a, b)
            A::Tuple(items) => self.bind_struct(items, cx),
            A::BinaryOp { left, op, right } => {
                let l = self.bind_inner(left, cx)?;
                let r = self.bind_inner(right, cx)?;
                use ast::BinaryOperator as B;
                let (l, r) = if matches!(
                    op,
                    B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq | B::Spaceship
                ) {
                    self.char_padding(l, r)?
                } else {
                    (l, r)
                };
                self.binary_op(op, l, r)
            }
            A::UnaryOp { op, expr } => {
                if *op == ast::UnaryOperator::Minus {
                    // `-2147483648`, `-9223372036854775808L`: Spark's grammar takes the
                    // minus into the literal (its `number` rule), so the least value
                    // of each integer type is a literal of that type
                    if let Some(v) = negative_literal(expr)? {
                        return Ok(Expr::Literal(v));
                    }
                }
                let x = self.bind_inner(expr, cx)?;
                match op {
                    ast::UnaryOperator::BitwiseNot => {
                        scalar_call(ScalarFunc::Math(MathFunc::BitwiseNot), vec![x])
                    }
                    ast::UnaryOperator::Not => Ok(Expr::Not(Box::new(cast_bool(x)?))),
                    // Spark's UnaryPositive: a number or an interval; a string stays
                    // itself (SQLite's `+ col` over text, where Spark would read a
                    // double)
                    ast::UnaryOperator::Plus => {
                        let t = x.data_type();
                        if crate::types::is_numeric(&t)
                            || crate::types::is_string(&t)
                            || t == DataType::Null
                            || matches!(t, DataType::Interval(_) | DataType::Duration(_))
                        {
                            Ok(x)
                        } else {
                            Err(QuarryError::Analysis(format!(
                                "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"(+ {expr})\": the argument requires a numeric or interval type, not \"{}\"",
                                crate::types::type_name(&t)
                            )))
                        }
                    }
                    ast::UnaryOperator::Minus => {
                        let x = match super::interval::negate(x) {
                            Ok(negated) => return Ok(negated),
                            Err(x) => x,
                        };
                        let t = x.data_type();
                        if let Expr::Literal(v) = &x {
                            let neg = arrow::compute::kernels::numeric::neg_wrapping(&v.0);
                            if let Ok(a) = neg {
                                return Ok(Expr::Literal(ScalarValue(a)));
                            }
                        }
                        if crate::types::is_string(&t) {
                            Ok(Expr::Negate(Box::new(cast_to(x, &DataType::Float64)?)))
                        } else if crate::types::is_numeric(&t) || t == DataType::Null {
                            Ok(Expr::Negate(Box::new(x)))
                        } else {
                            Err(QuarryError::Analysis(format!(
                                "[DATATYPE_MISMATCH] cannot negate {}",
                                crate::types::type_name(&t)
                            )))
                        }
                    }
                    other => Err(QuarryError::NotSupported(format!("unary operator {other}"))),
                }
            }
            A::IsNull(x) => Ok(Expr::IsNull(Box::new(self.bind_inner(x, cx)?))),
            // `b IS [NOT] UNKNOWN`: IS [NOT] NULL of a boolean (Spark's grammar)
            A::IsUnknown(x) => Ok(Expr::IsNull(Box::new(cast_bool(self.bind_inner(x, cx)?)?))),
            A::IsNotUnknown(x) => Ok(Expr::IsNotNull(Box::new(cast_bool(
                self.bind_inner(x, cx)?,
            )?))),
            A::IsNotNull(x) => Ok(Expr::IsNotNull(Box::new(self.bind_inner(x, cx)?))),
            A::IsTrue(x) | A::IsNotTrue(x) | A::IsFalse(x) | A::IsNotFalse(x) => {
                let v = cast_bool(self.bind_inner(x, cx)?)?;
                let want = matches!(e, A::IsTrue(_) | A::IsNotTrue(_));
                let eq = binary(
                    BinOp::NullSafeEq,
                    v,
                    Expr::Literal(ScalarValue::from_bool(want)),
                    false,
                )?;
                Ok(if matches!(e, A::IsNotTrue(_) | A::IsNotFalse(_)) {
                    Expr::Not(Box::new(eq))
                } else {
                    eq
                })
            }
            // quantified comparisons over a subquery: x op ANY/SOME (q), x op ALL (q)
            A::AnyOp {
                left,
                compare_op,
                right,
                ..
            } if matches!(right.as_ref(), A::Subquery(_)) => {
                let rewritten = quantified_comparison(left, compare_op, right, true)?;
                self.bind_inner(&rewritten, cx)
            }
            A::AllOp {
                left,
                compare_op,
                right,
            } if matches!(right.as_ref(), A::Subquery(_)) => {
                let rewritten = quantified_comparison(left, compare_op, right, false)?;
                self.bind_inner(&rewritten, cx)
            }
            A::IsDistinctFrom(a, b) | A::IsNotDistinctFrom(a, b) => {
                let eq = binary(
                    BinOp::NullSafeEq,
                    self.bind_inner(a, cx)?,
                    self.bind_inner(b, cx)?,
                    false,
                )?;
                Ok(if matches!(e, A::IsDistinctFrom(..)) {
                    Expr::Not(Box::new(eq))
                } else {
                    eq
                })
            }
            A::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let x = self.bind_inner(expr, cx)?;
                let lo = self.bind_inner(low, cx)?;
                let hi = self.bind_inner(high, cx)?;
                let both = binary(
                    BinOp::And,
                    binary(BinOp::GtEq, x.clone(), lo, false)?,
                    binary(BinOp::LtEq, x, hi, false)?,
                    false,
                )?;
                Ok(if *negated {
                    Expr::Not(Box::new(both))
                } else {
                    both
                })
            }
            A::InList {
                expr,
                list,
                negated,
            } => {
                let x = self.bind_inner(expr, cx)?;
                // `x IN (*)`: the columns a star in the list expands to (Spark's)
                let list = &self.expand_star_args(list.clone(), cx)?;
                let items: Vec<Expr> = list
                    .iter()
                    .map(|i| self.bind_inner(i, cx))
                    .collect::<Result<_>>()?;
                // a CHAR column and string literals: all padded to the longest
                let (x, items) = match self.char_length_of(&x) {
                    Some(n) if items.iter().all(|i| matches!(i, Expr::Literal(_))) => {
                        let longest = items
                            .iter()
                            .filter_map(literal_chars)
                            .max()
                            .unwrap_or(0)
                            .max(n);
                        let x = if longest > n { pad_to(x, longest)? } else { x };
                        let items = items
                            .into_iter()
                            .map(|i| pad_to(i, longest))
                            .collect::<Result<Vec<_>>>()?;
                        (x, items)
                    }
                    _ => (x, items),
                };
                let mut t = x.data_type();
                for i in &items {
                    let it = i.data_type();
                    // Spark's InConversion widens with string promotion, which never
                    // takes a boolean or binary to a string: `'1' IN (true)` is an
                    // error, where `'1' = true` compares booleans
                    if super::coerce::string_promotion_refuses(&t, &it) {
                        return Err(QuarryError::Analysis(format!(
                            "[DATATYPE_MISMATCH.DATA_DIFF_TYPES] Cannot resolve \"{}\" due to data type mismatch: Input to `in` should all be the same type, but it's [{}, {}].",
                            A::InList { expr: expr.clone(), list: list.clone(), negated: *negated },
                            crate::types::type_name(&t),
                            crate::types::type_name(&it)
                        )));
                    }
                    t = comparison_type(&t, &it).or_else(|_| wider_type(&t, &it))?;
                }
                let x = cast_to(x, &t)?;
                let items = items
                    .into_iter()
                    .map(|i| cast_to(i, &t))
                    .collect::<Result<_>>()?;
                Ok(Expr::InList {
                    expr: Box::new(x),
                    list: items,
                    negated: *negated,
                })
            }
            A::InSubquery {
                expr,
                subquery,
                negated,
            } => {
                if let A::Tuple(items) = expr.as_ref() {
                    return self.bind_in_tuple(items, subquery, *negated, cx);
                }
                let x = self.bind_inner(expr, cx)?;
                let plan = self.bind_subquery(subquery, cx)?;
                let cols = plan.schema();
                if cols.len() != 1 {
                    return Err(QuarryError::Analysis(format!(
                        "[INVALID_SUBQUERY_EXPRESSION] the IN subquery must return one column, it returns {}",
                        cols.len()
                    )));
                }
                let t = comparison_type(&x.data_type(), &cols[0].data_type)?;
                let x = cast_to(x, &t)?;
                let plan = cast_single_column(plan, &t)?;
                Ok(Expr::Subquery {
                    plan: Arc::new(plan),
                    kind: SubqueryKind::In {
                        expr: Box::new(x),
                        negated: *negated,
                    },
                    data_type: DataType::Boolean,
                })
            }
            A::Exists { subquery, negated } => {
                let plan = self.bind_subquery(subquery, cx)?;
                Ok(Expr::Subquery {
                    plan: Arc::new(plan),
                    kind: SubqueryKind::Exists { negated: *negated },
                    data_type: DataType::Boolean,
                })
            }
            A::Subquery(q) => {
                let plan = self.bind_subquery(q, cx)?;
                let cols = plan.schema();
                if cols.len() != 1 {
                    return Err(QuarryError::Analysis(format!(
                        "[INVALID_SUBQUERY_EXPRESSION.SCALAR_SUBQUERY_RETURN_MORE_THAN_ONE_OUTPUT_COLUMN] a scalar subquery must return one column, it returns {}",
                        cols.len()
                    )));
                }
                let t = cols[0].data_type.clone();
                Ok(Expr::Subquery {
                    plan: Arc::new(plan),
                    kind: SubqueryKind::Scalar,
                    data_type: t,
                })
            }
            A::Like {
                negated,
                expr,
                pattern,
                escape_char,
                any,
            }
            | A::ILike {
                negated,
                expr,
                pattern,
                escape_char,
                any,
            } => {
                if let Some((all, patterns)) = like_quantified(pattern, *any) {
                    // Spark's LIKE ALL / LIKE ANY (SOME) and their NOT forms: one LIKE per
                    // pattern, joined by AND (ALL) or OR (ANY); three-valued logic gives
                    // Spark's MultiLikeBase result (a NULL pattern makes an otherwise
                    // undecided result NULL)
                    if escape_char.is_some() {
                        return Err(QuarryError::NotSupported(
                            "ESCAPE with LIKE ALL / LIKE ANY".into(),
                        ));
                    }
                    let quantifier = if all { "ALL" } else { "ANY" };
                    let Some((first, rest)) = patterns.split_first() else {
                        return Err(QuarryError::Analysis(format!(
                            "[PARSE_SYNTAX_ERROR] LIKE {quantifier} needs at least one pattern"
                        )));
                    };
                    let one = |p: &ast::Expr| {
                        let (expr, pattern) = (expr.clone(), Box::new(p.clone()));
                        let (negated, any, escape_char) = (*negated, false, None);
                        match e {
                            A::ILike { .. } => A::ILike {
                                negated,
                                expr,
                                pattern,
                                escape_char,
                                any,
                            },
                            _ => A::Like {
                                negated,
                                expr,
                                pattern,
                                escape_char,
                                any,
                            },
                        }
                    };
                    let op = if all {
                        ast::BinaryOperator::And
                    } else {
                        ast::BinaryOperator::Or
                    };
                    let joined = rest.iter().fold(one(first), |acc, p| A::BinaryOp {
                        left: Box::new(acc),
                        op: op.clone(),
                        right: Box::new(one(p)),
                    });
                    return self.bind_inner(&joined, cx);
                }
                if *any {
                    return Err(QuarryError::NotSupported("LIKE ANY of a subquery".into()));
                }
                let x = cast_to(self.bind_inner(expr, cx)?, &DataType::Utf8)?;
                let mut p = cast_to(self.bind_inner(pattern, cx)?, &DataType::Utf8)?;
                if let Some(esc) = escape_char {
                    // Spark: one character; DuckDB also takes '' (no escape), NULL (a NULL
                    // result) and a per-row escape. The pattern is rewritten to `\` escapes.
                    p = escaped_like_pattern(p, self.bind_inner(esc, cx)?)?;
                }
                Ok(Expr::Like {
                    expr: Box::new(x),
                    pattern: Box::new(p),
                    negated: *negated,
                    case_insensitive: matches!(e, A::ILike { .. }),
                })
            }
            A::Cast {
                kind,
                expr,
                data_type,
                format,
            } => {
                if format.is_some() {
                    return Err(QuarryError::NotSupported("CAST ... FORMAT".into()));
                }
                let x = self.bind_inner(expr, cx)?;
                let try_cast = matches!(kind, ast::CastKind::TryCast | ast::CastKind::SafeCast);
                let x = match super::interval::bind_cast(x, &data_type.to_string(), try_cast)? {
                    Ok(cast) => return Ok(cast),
                    Err(x) => x,
                };
                let to = parse_type_name(&data_type.to_string())?;
                check_cast(&x.data_type(), &to)?;
                if let Expr::Literal(_) = &x {
                    // the executor's (Spark's) cast rules, as for any other value
                    return super::coerce::cast_to(x, &to);
                }
                Ok(Expr::Cast {
                    expr: Box::new(x),
                    to,
                    try_cast,
                })
            }
            A::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let op = match operand {
                    Some(o) => Some(self.bind_inner(o, cx)?),
                    None => None,
                };
                let mut whens = vec![];
                for cw in conditions {
                    let w = self.bind_inner(&cw.condition, cx)?;
                    let w = match &op {
                        Some(o) => binary(BinOp::Eq, o.clone(), w, false)?,
                        None => cast_bool(w)?,
                    };
                    whens.push((w, self.bind_inner(&cw.result, cx)?));
                }
                let els = match else_result {
                    Some(x) => Some(self.bind_inner(x, cx)?),
                    None => None,
                };
                make_case(whens, els)
            }
            A::Function(f) => self.bind_function(f, cx),
            A::Struct { values, fields } if fields.is_empty() => {
                let mut named = vec![];
                for v in values {
                    match v {
                        A::Named { expr, name } => {
                            named.push((self.bind_inner(expr, cx)?, Some(name.value.clone())))
                        }
                        other => named.push((self.bind_inner(other, cx)?, None)),
                    }
                }
                Ok(make_struct(named))
            }
            // DuckDB's struct literal {'a': 1, b: 2}: named_struct('a', 1, 'b', 2)
            A::Dictionary(fields) => {
                let mut named = vec![];
                for f in fields {
                    if named.iter().any(|(_, n): &(Expr, Option<String>)| {
                        n.as_deref()
                            .is_some_and(|n| n.eq_ignore_ascii_case(&f.key.value))
                    }) {
                        return Err(QuarryError::Analysis(format!(
                            "duplicate struct field name `{}` in {e}",
                            f.key.value
                        )));
                    }
                    named.push((self.bind_inner(&f.value, cx)?, Some(f.key.value.clone())));
                }
                Ok(make_struct(named))
            }
            A::Array(arr) => {
                let elems = arr
                    .elem
                    .iter()
                    .map(|x| self.bind_inner(x, cx))
                    .collect::<Result<Vec<_>>>()?;
                scalar_call(ScalarFunc::Coll(CollectionFunc::MakeArray), elems)
            }
            A::CompoundFieldAccess { root, access_chain } => {
                let mut cur = self.bind_inner(root, cx)?;
                for access in access_chain {
                    cur = match access {
                        ast::AccessExpr::Subscript(ast::Subscript::Index { index }) => {
                            let i = self.bind_inner(index, cx)?;
                            if crate::types::is_string(&cur.data_type()) {
                                // a string's i-th character, 1-based (DuckDB's s[i])
                                let one = Expr::Literal(ScalarValue::from_i32(1));
                                scalar_call(ScalarFunc::Substring, vec![cur, i, one])?
                            } else {
                                scalar_call(ScalarFunc::Coll(CollectionFunc::Subscript), vec![cur, i])?
                            }
                        }
                        ast::AccessExpr::Dot(A::Identifier(id)) => get_field(cur, &id.value)?,
                        other => {
                            return Err(QuarryError::NotSupported(format!(
                                "the access {other} (subscripts a[i], m[k] and fields s.f are supported)"
                            )))
                        }
                    };
                }
                Ok(cur)
            }
            A::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.bind_inner(expr, cx)?];
                args.push(match substring_from {
                    Some(f) => self.bind_inner(f, cx)?,
                    None => Expr::Literal(ScalarValue::from_i32(1)),
                });
                if let Some(f) = substring_for {
                    args.push(self.bind_inner(f, cx)?);
                }
                scalar_call(ScalarFunc::Substring, args)
            }
            A::Trim {
                expr,
                trim_where,
                trim_what,
                trim_characters,
            } => {
                // TRIM([BOTH|LEADING|TRAILING] chars FROM str) and TRIM(str, chars)
                let chars = match (trim_what, trim_characters) {
                    (Some(w), _) => Some(self.bind_inner(w, cx)?),
                    (None, Some(cs)) if cs.len() == 1 => Some(self.bind_inner(&cs[0], cx)?),
                    (None, Some(_)) => {
                        return Err(QuarryError::NotSupported(
                            "TRIM with more than one set of characters".into(),
                        ))
                    }
                    (None, None) => None,
                };
                if let Some(chars) = chars {
                    use crate::functions::strings::StringFunc;
                    let f = match trim_where {
                        Some(ast::TrimWhereField::Leading) => StringFunc::LTrimChars,
                        Some(ast::TrimWhereField::Trailing) => StringFunc::RTrimChars,
                        _ => StringFunc::TrimChars,
                    };
                    return scalar_call(
                        ScalarFunc::Str(f),
                        vec![self.bind_inner(expr, cx)?, chars],
                    );
                }
                let f = match trim_where {
                    Some(ast::TrimWhereField::Leading) => ScalarFunc::LTrim,
                    Some(ast::TrimWhereField::Trailing) => ScalarFunc::RTrim,
                    _ => ScalarFunc::Trim,
                };
                scalar_call(f, vec![self.bind_inner(expr, cx)?])
            }
            A::Extract { field, expr, .. } => {
                let name = match field {
                    ast::DateTimeField::Custom(id) => id.value.clone(),
                    ast::DateTimeField::Week(_) => "week".into(),
                    other => other.to_string(),
                };
                extract_field(&name, self.bind_inner(expr, cx)?)
            }
            A::Ceil { expr, field } | A::Floor { expr, field } => {
                let f = if matches!(e, A::Ceil { .. }) {
                    ScalarFunc::Ceil
                } else {
                    ScalarFunc::Floor
                };
                let mut args = vec![self.bind_inner(expr, cx)?];
                match field {
                    ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime) => {}
                    ast::CeilFloorKind::Scale(v) => {
                        let scale = ast::Expr::Value(v.clone());
                        args.push(self.bind_inner(&scale, cx)?);
                    }
                    ast::CeilFloorKind::DateTimeField(_) => {
                        return Err(QuarryError::NotSupported(
                            "CEIL/FLOOR(x TO unit)".into(),
                        ))
                    }
                }
                ceil_floor_call(f, args)
            }
            A::Position { expr, r#in } => {
                let args = vec![self.bind_inner(r#in, cx)?, self.bind_inner(expr, cx)?];
                scalar_call(ScalarFunc::Instr, args)
            }
            A::RLike {
                negated,
                expr,
                pattern,
                ..
            } => {
                let m = scalar_call(
                    ScalarFunc::Str(crate::functions::strings::StringFunc::RLike),
                    vec![self.bind_inner(expr, cx)?, self.bind_inner(pattern, cx)?],
                )?;
                Ok(if *negated { Expr::Not(Box::new(m)) } else { m })
            }
            // SIMILAR TO: the whole string matches a regular expression (see similar_to_regex)
            A::SimilarTo {
                negated,
                expr,
                pattern,
                escape_char,
            } => {
                if escape_char.is_some() {
                    return Err(QuarryError::NotSupported("SIMILAR TO ... ESCAPE".into()));
                }
                let p = match self.bind_inner(pattern, cx)? {
                    Expr::Literal(v) if v.is_null() => None,
                    Expr::Literal(v) => match v.as_str() {
                        Some(t) => Some(similar_to_regex(t)),
                        None => {
                            return Err(QuarryError::Analysis(
                                "the pattern of SIMILAR TO must be a string".into(),
                            ))
                        }
                    },
                    _ => {
                        return Err(QuarryError::NotSupported(
                            "SIMILAR TO with a pattern that is not a constant".into(),
                        ))
                    }
                };
                let p = match p {
                    Some(p) => Expr::Literal(ScalarValue::from_str(&p)),
                    None => Expr::Literal(ScalarValue::null(&DataType::Utf8)),
                };
                let m = scalar_call(
                    ScalarFunc::Str(crate::functions::strings::StringFunc::RLike),
                    vec![self.bind_inner(expr, cx)?, p],
                )?;
                Ok(if *negated { Expr::Not(Box::new(m)) } else { m })
            }
            A::Overlay {
                expr,
                overlay_what,
                overlay_from,
                overlay_for,
            } => {
                let mut args = vec![
                    self.bind_inner(expr, cx)?,
                    self.bind_inner(overlay_what, cx)?,
                    self.bind_inner(overlay_from, cx)?,
                ];
                if let Some(f) = overlay_for {
                    args.push(self.bind_inner(f, cx)?);
                }
                scalar_call(
                    ScalarFunc::Str(crate::functions::strings::StringFunc::Overlay),
                    args,
                )
            }
            A::Interval(i) => super::interval::bind_literal(i),
            other => Err(QuarryError::NotSupported(format!("the expression {other}"))),
        }
    }

    fn binary_op(&mut self, op: &ast::BinaryOperator, l: Expr, r: Expr) -> Result<Expr> {
        use ast::BinaryOperator as B;
        let mode = self.ctx.arith;
        let arith = match op {
            B::Plus => Some(BinOp::Plus),
            B::Minus => Some(BinOp::Minus),
            B::Multiply => Some(BinOp::Multiply),
            B::Divide => Some(BinOp::Divide),
            _ => None,
        };
        let (l, r) = match arith {
            Some(a) => match super::interval::arithmetic(a, l, r)? {
                Ok(e) => return Ok(e),
                Err(operands) => operands,
            },
            None => (l, r),
        };
        let bop = match op {
            B::Plus | B::Minus => {
                // date +/- days (Spark's date_add / date_sub)
                let (lt, rt) = (l.data_type(), r.data_type());
                let int_or_null =
                    |t: &DataType| crate::types::is_integer(t) || *t == DataType::Null;
                if lt == DataType::Date32 && int_or_null(&rt) {
                    let f = if matches!(op, B::Plus) {
                        ScalarFunc::DateAdd
                    } else {
                        ScalarFunc::DateSub
                    };
                    return scalar_call(f, vec![l, r]);
                }
                // date +/- time of day: the timestamp at that time (DuckDB, DataFusion)
                let is_time = |t: &DataType| matches!(t, DataType::Time64(_));
                if (lt == DataType::Date32 && is_time(&rt))
                    || (is_time(&lt) && rt == DataType::Date32 && matches!(op, B::Plus))
                {
                    let (d, t) = if is_time(&rt) { (l, r) } else { (r, l) };
                    let bop = if matches!(op, B::Plus) {
                        BinOp::Plus
                    } else {
                        BinOp::Minus
                    };
                    let ts = cast_to(d, &crate::types::TIMESTAMP)?;
                    let since_midnight = cast_to(t, &crate::functions::interval::DAY_TIME)?;
                    return Ok(Expr::binary(
                        bop,
                        ts,
                        since_midnight,
                        crate::types::TIMESTAMP,
                    ));
                }
                if rt == DataType::Date32 && int_or_null(&lt) && matches!(op, B::Plus) {
                    return scalar_call(ScalarFunc::DateAdd, vec![r, l]);
                }
                if lt == DataType::Date32 && rt == DataType::Date32 {
                    // (date - date is an interval, bound above)
                    return Err(QuarryError::Analysis(
                        "[DATATYPE_MISMATCH.BINARY_OP_WRONG_TYPE] the operator `+` cannot add two dates; add an INTERVAL or a number of days".into(),
                    ));
                }
                if matches!(op, B::Plus) {
                    BinOp::Plus
                } else {
                    BinOp::Minus
                }
            }
            B::Multiply => BinOp::Multiply,
            B::Divide => BinOp::Divide,
            B::Modulo => BinOp::Modulo,
            B::MyIntegerDivide | B::DuckIntegerDivide => BinOp::IntDivide,
            B::Eq => BinOp::Eq,
            B::NotEq => BinOp::NotEq,
            B::Lt => BinOp::Lt,
            B::LtEq => BinOp::LtEq,
            B::Gt => BinOp::Gt,
            B::GtEq => BinOp::GtEq,
            B::Spaceship => BinOp::NullSafeEq,
            B::And => BinOp::And,
            B::Or => BinOp::Or,
            B::StringConcat => return scalar_call(ScalarFunc::Concat, vec![l, r]),
            B::BitwiseAnd | B::BitwiseOr | B::BitwiseXor => {
                let f = match op {
                    B::BitwiseAnd => MathFunc::BitwiseAnd,
                    B::BitwiseOr => MathFunc::BitwiseOr,
                    _ => MathFunc::BitwiseXor,
                };
                return scalar_call(ScalarFunc::Math(f), vec![l, r]);
            }
            // `<<`, `>>`, `>>>` (Spark 4's shift operators; see the dialect's parse_infix)
            B::PGBitwiseShiftLeft => {
                return scalar_call(ScalarFunc::Math(MathFunc::ShiftLeft), vec![l, r])
            }
            B::PGBitwiseShiftRight => {
                return scalar_call(ScalarFunc::Math(MathFunc::ShiftRight), vec![l, r])
            }
            B::Custom(c) if c == ">>>" => {
                return scalar_call(ScalarFunc::Math(MathFunc::ShiftRightUnsigned), vec![l, r])
            }
            // PostgreSQL's regular-expression match operators (a match anywhere, as rlike)
            B::PGRegexMatch | B::PGRegexIMatch | B::PGRegexNotMatch | B::PGRegexNotIMatch => {
                let insensitive = matches!(op, B::PGRegexIMatch | B::PGRegexNotIMatch);
                let pattern = if insensitive {
                    scalar_call(
                        ScalarFunc::Concat,
                        vec![Expr::Literal(ScalarValue::from_str("(?i)")), r],
                    )?
                } else {
                    r
                };
                let m = scalar_call(
                    ScalarFunc::Str(crate::functions::strings::StringFunc::RLike),
                    vec![l, pattern],
                )?;
                return Ok(if matches!(op, B::PGRegexNotMatch | B::PGRegexNotIMatch) {
                    Expr::Not(Box::new(m))
                } else {
                    m
                });
            }
            other => return Err(QuarryError::NotSupported(format!("the operator {other}"))),
        };
        super::coerce::binary_in(bop, l, r, mode)
    }

    fn column(&mut self, parts: &[String], cx: &ExprCtx) -> Result<Expr> {
        // a lambda's parameter (innermost first), or a field of one: `x.a`
        if let Some((first, fields)) = parts.split_first() {
            let param = self
                .lambda_params
                .iter()
                .rev()
                .flat_map(|ps| ps.iter())
                .find(|c| c.name.eq_ignore_ascii_case(first))
                .cloned();
            if let Some(c) = param {
                let mut e = Expr::Column(c);
                for f in fields {
                    e = get_field(e, f)?;
                }
                return Ok(e);
            }
        }
        if let Some(c) = cx.scope.resolve(parts)? {
            return Ok(Expr::Column(c));
        }
        // a reference to an enclosing query: the subquery is correlated (decorrelated
        // into a join by the enclosing SELECT, see `decorrelate`)
        for o in cx.outer.iter().rev() {
            if let Some(c) = o.resolve(parts)? {
                return Ok(Expr::Column(c));
            }
        }
        // then `col.field...` of a struct column, here or in an enclosing query
        for sc in std::iter::once(cx.scope).chain(cx.outer.iter().rev()) {
            if let Some(e) = resolve_fields(sc, parts)? {
                return Ok(e);
            }
        }
        // PostgreSQL's (and DataFusion's) name `columnN` for the N-th column of a VALUES
        // list, which Spark names `colN`: used only where no column has the name itself
        if let Some(alias) = values_column_alias(parts) {
            for sc in std::iter::once(cx.scope).chain(cx.outer.iter().rev()) {
                if let Some(c) = sc.resolve(&alias)? {
                    return Ok(Expr::Column(c));
                }
            }
        }
        // `current_date` and friends written without parentheses
        if parts.len() == 1 {
            match parts[0].as_str() {
                "current_date" => return scalar_call(ScalarFunc::CurrentDate, vec![]),
                "current_timestamp" | "localtimestamp" => {
                    return scalar_call(ScalarFunc::CurrentTimestamp, vec![])
                }
                "current_user" | "session_user" | "user" | "current_catalog" | "current_schema" => {
                    let f = crate::parser::parse_expression(&format!("{}()", parts[0]))?;
                    return self.bind_inner(&f, cx);
                }
                _ => {}
            }
        }
        Err(cx.scope.unresolved(parts))
    }

    /// `stack(n, v1, ..., vk)` (Spark's Stack) as the array of structs that `inline`
    /// makes rows of: `n` rows of `ceil(k / n)` columns `col0`, `col1`, ..., filled row
    /// by row, the last row padded with NULLs; each column of the values' common type.
    /// Errors: `n` not a constant positive integer, no values, values of one column with
    /// no common type (Spark's `STACK_COLUMN_DIFF_TYPES`).
    fn bind_stack(&mut self, args: &[ast::Expr], cx: &ExprCtx) -> Result<Expr> {
        check_arity("stack", args.len(), 2, usize::MAX)?;
        let n = match crate::optimizer::constant_folding::fold(self.bind_inner(&args[0], cx)?) {
            Expr::Literal(v) => v.as_i64().filter(|n| *n > 0),
            _ => None,
        }
        .ok_or_else(|| {
            QuarryError::Analysis(format!(
                "[DATATYPE_MISMATCH.NON_FOLDABLE_INPUT] Cannot resolve \"stack\": the number of rows {} must be a constant positive integer",
                args[0]
            ))
        })? as usize;
        let values = args[1..]
            .iter()
            .map(|a| self.bind_inner(a, cx))
            .collect::<Result<Vec<_>>>()?;
        let width = values.len().div_ceil(n);
        // a column's values widen to one type (Spark 4's StackCoercion; 3.5 took only
        // NULLs), but not a string with a non-string (no string promotion, as both
        // Sparks); a column of NULLs only is a string
        let mut types = vec![DataType::Null; width];
        for (i, v) in values.iter().enumerate() {
            let j = i % width;
            let t = v.data_type();
            if t == DataType::Null {
                continue;
            }
            let wider = if types[j] == DataType::Null {
                Some(t.clone())
            } else if crate::types::is_string(&types[j]) != crate::types::is_string(&t) {
                None
            } else {
                crate::binder::coerce::wider_type(&types[j], &t).ok()
            };
            if let Some(w) = wider {
                types[j] = w;
            } else {
                return Err(QuarryError::Analysis(format!(
                    "[DATATYPE_MISMATCH.STACK_COLUMN_DIFF_TYPES] Cannot resolve \"stack\": the values of column {j} have different types ({} and {})",
                    crate::types::type_name(&types[j]),
                    crate::types::type_name(&t)
                )));
            }
        }
        for t in types.iter_mut().filter(|t| **t == DataType::Null) {
            *t = DataType::Utf8;
        }
        let mut values = values.into_iter();
        let rows = (0..n)
            .map(|_| {
                let fields = (0..width)
                    .map(|j| {
                        let v = values
                            .next()
                            .unwrap_or_else(|| Expr::Literal(ScalarValue::null(&DataType::Null)));
                        Ok((cast_to(v, &types[j])?, Some(format!("col{j}"))))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(make_struct(fields))
            })
            .collect::<Result<Vec<_>>>()?;
        scalar_call(ScalarFunc::Coll(CollectionFunc::MakeArray), rows)
    }

    /// `struct(a, b, ...)` and Spark's row constructor `(a, b, ...)`: fields named after
    /// column arguments, else `col1`, `col2`, ... ([`make_struct`]).
    fn bind_struct(&mut self, items: &[ast::Expr], cx: &ExprCtx) -> Result<Expr> {
        let named = items
            .iter()
            .map(|i| {
                // `x AS name` beside a star (the parser's struct field marker)
                if let ast::Expr::Function(f) = i {
                    if f.name.to_string() == crate::parser::spark_tokens::STRUCT_FIELD_MARKER {
                        if let [x, ast::Expr::Value(v)] = self.function_args(f)?.0.as_slice() {
                            if let ast::Value::SingleQuotedString(n) = &v.value {
                                return Ok((self.bind_inner(x, cx)?, Some(n.clone())));
                            }
                        }
                    }
                }
                Ok((self.bind_inner(i, cx)?, None))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(make_struct(named))
    }

    /// Spark's `schema_of_json(json[, options])`, worked out while binding: the JSON must be
    /// a constant string (Spark's foldable input); options are a `map(...)` of strings.
    fn bind_schema_of_json(&mut self, args: &[ast::Expr], cx: &ExprCtx) -> Result<Expr> {
        check_arity("schema_of_json", args.len(), 1, 2)?;
        let json = self.foldable_text("schema_of_json", &args[0], cx)?;
        let mut o = crate::functions::json::InferOptions::default();
        if let Some(opts) = args.get(1) {
            for (k, v) in self.constant_options("schema_of_json", opts, cx)? {
                let on = v.eq_ignore_ascii_case("true");
                match k.to_ascii_lowercase().as_str() {
                    "primitivesasstring" => o.primitives_as_string = on,
                    "prefersdecimal" => o.prefers_decimal = on,
                    "allownumericleadingzeros" => o.allow_numeric_leading_zeros = on,
                    _ => {}
                }
            }
        }
        let ddl = crate::functions::json::schema_of_json(&json, o)?;
        Ok(Expr::Literal(ScalarValue::from_str(&ddl)))
    }

    /// The string `e` binds and folds to; None when that is not a non-NULL string
    /// constant.
    fn folded_text(&mut self, e: &ast::Expr, cx: &ExprCtx) -> Result<Option<String>> {
        Ok(
            match crate::optimizer::constant_folding::fold(self.bind_inner(e, cx)?) {
                Expr::Literal(v) => v.as_str().map(str::to_string),
                _ => None,
            },
        )
    }

    /// An ordered-set aggregate `f` (`percentile_cont`/`percentile_disc(p) WITHIN GROUP
    /// (ORDER BY x)`), rewritten by [`within_group`], over the window `over` when given;
    /// percentile_disc a double for numbers, as Spark 3.5.
    fn bind_within_group(
        &mut self,
        f: &ast::Function,
        name: &str,
        over: Option<&ast::WindowType>,
        cx: &ExprCtx,
    ) -> Result<Expr> {
        let mut e = within_group(f, name, self.ctx.legacy_percentile_disc)?;
        if let Some(w) = over {
            set_over(&mut e, w);
        }
        let bound = self.bind_inner(&e, cx)?;
        let t = bound.data_type();
        if name == "percentile_disc" && crate::types::is_numeric(&t) && t != DataType::Float64 {
            return cast_to(bound, &DataType::Float64);
        }
        Ok(bound)
    }

    /// The constant, non-NULL string `e` folds to (schema_of_json's and schema_of_csv's
    /// input, which Spark needs foldable). Errors: NON_FOLDABLE_INPUT naming `func`.
    fn foldable_text(&mut self, func: &str, e: &ast::Expr, cx: &ExprCtx) -> Result<String> {
        self.folded_text(e, cx)?.ok_or_else(|| {
            QuarryError::Analysis(format!(
                "[DATATYPE_MISMATCH.NON_FOLDABLE_INPUT] {func} needs a constant, non-NULL string, not {e}"
            ))
        })
    }

    /// A from_json / from_csv schema: a constant string, DDL of a type (`array<int>`) or
    /// of a struct's fields (`a INT, b STRING`). Errors: Spark's INVALID_SCHEMA.
    fn constant_schema(&mut self, e: &ast::Expr, cx: &ExprCtx) -> Result<DataType> {
        let schema = self.folded_text(e, cx)?.ok_or_else(|| {
            QuarryError::Analysis(format!(
                "[INVALID_SCHEMA.NON_STRING_LITERAL] The input schema {e} must be a string literal"
            ))
        })?;
        let trimmed = schema.trim();
        let compact = trimmed.to_ascii_lowercase().replace(' ', "");
        let ddl = if ["struct<", "array<", "map<"]
            .iter()
            .any(|p| compact.starts_with(p))
        {
            trimmed.to_string()
        } else {
            format!("struct<{trimmed}>")
        };
        parse_type_name(&ddl).map_err(|e| {
            QuarryError::Analysis(format!(
                "[INVALID_SCHEMA.PARSE_ERROR] The input schema '{schema}' is not a valid schema string: {e}"
            ))
        })
    }

    /// Spark's `from_csv(text, schema[, options])`: the schema a struct; options the
    /// delimiter and the date/timestamp patterns (passed on as the call's constant
    /// arguments).
    fn bind_from_csv(&mut self, args: &[ast::Expr], cx: &ExprCtx) -> Result<Expr> {
        check_arity("from_csv", args.len(), 2, 3)?;
        let o = match args.get(2) {
            Some(o) => {
                let pairs = self.constant_options("from_csv", o, cx)?;
                if let Some((_, m)) = pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case("mode")) {
                    if !m.eq_ignore_ascii_case("PERMISSIVE") {
                        return Err(QuarryError::NotSupported(format!(
                            "from_csv with mode {m} (only PERMISSIVE)"
                        )));
                    }
                }
                crate::functions::csv_text::CsvOptions::from_pairs(&pairs)?
            }
            None => crate::functions::csv_text::CsvOptions::default(),
        };
        let text = cast_to(self.bind_inner(&args[0], cx)?, &DataType::Utf8)?;
        let t = self.constant_schema(&args[1], cx)?;
        if !matches!(t, DataType::Struct(_)) {
            return Err(QuarryError::Analysis(format!(
                "[INVALID_SCHEMA.NON_STRUCT_TYPE] from_csv needs a STRUCT schema, not {}",
                crate::types::type_name(&t)
            )));
        }
        let literal = optional_text_literal;
        Ok(Expr::Function {
            func: ScalarFunc::Coll(CollectionFunc::FromCsv),
            args: vec![
                text,
                literal(Some((o.delimiter as char).to_string())),
                literal(o.formats.date_format),
                literal(o.formats.timestamp_format),
            ],
            data_type: t,
        })
    }

    /// Spark's `schema_of_csv(text[, options])`, worked out while binding (a constant
    /// line, as Spark's foldable input).
    fn bind_schema_of_csv(&mut self, args: &[ast::Expr], cx: &ExprCtx) -> Result<Expr> {
        check_arity("schema_of_csv", args.len(), 1, 2)?;
        let line = self.foldable_text("schema_of_csv", &args[0], cx)?;
        let o = match args.get(1) {
            Some(o) => crate::functions::csv_text::CsvOptions::from_pairs(
                &self.constant_options("schema_of_csv", o, cx)?,
            )?,
            None => crate::functions::csv_text::CsvOptions::default(),
        };
        let ddl = crate::functions::csv_text::schema_of_csv(&line, &o)?;
        Ok(Expr::Literal(ScalarValue::from_str(&ddl)))
    }

    /// A JSON/CSV function's options argument: a constant `map(...)` of string keys and
    /// values (Spark's "Must use a map() function for options" otherwise), as pairs.
    fn constant_options(
        &mut self,
        func: &str,
        e: &ast::Expr,
        cx: &ExprCtx,
    ) -> Result<Vec<(String, String)>> {
        use arrow::array::Array;
        let bad = || {
            QuarryError::Analysis(format!(
                "[INVALID_OPTIONS.NON_MAP_FUNCTION] {func}: must use a map() function for options, with string keys and values"
            ))
        };
        let Expr::Literal(v) = crate::optimizer::constant_folding::fold(self.bind_inner(e, cx)?)
        else {
            return Err(bad());
        };
        let Some(m) = v.0.as_any().downcast_ref::<arrow::array::MapArray>() else {
            return Err(bad());
        };
        if m.len() != 1 || m.is_null(0) {
            return Err(bad());
        }
        let entries = m.value(0);
        let (Some(keys), Some(values)) = (
            entries
                .column(0)
                .as_any()
                .downcast_ref::<arrow::array::StringArray>(),
            entries
                .column(1)
                .as_any()
                .downcast_ref::<arrow::array::StringArray>(),
        ) else {
            return Err(QuarryError::Analysis(format!(
                "[INVALID_OPTIONS.NON_STRING_TYPE] {func}: options must be a map of strings to strings"
            )));
        };
        Ok((0..keys.len())
            .filter(|&i| keys.is_valid(i) && values.is_valid(i))
            .map(|i| (keys.value(i).to_string(), values.value(i).to_string()))
            .collect())
    }

    /// `from_json(text, schema[, options])`: the schema a constant string, Spark's DDL (`'a
    /// INT, b STRING'`, `'STRUCT<...>'`, `'ARRAY<...>'`, `'MAP<STRING, ...>'`), which gives
    /// the result type; options a `map(...)` (dateFormat, timestampFormat, mode). Errors:
    /// a schema that is not a constant string or does not parse; a mode but PERMISSIVE.
    fn bind_from_json(&mut self, args: &[ast::Expr], cx: &ExprCtx) -> Result<Expr> {
        check_arity("from_json", args.len(), 2, 3)?;
        // options: dateFormat and timestampFormat change how fields are read; mode is
        // PERMISSIVE (Spark's default, and what from_json does); others are ignored
        let (mut date_format, mut timestamp_format) = (None, None);
        if let Some(o) = args.get(2) {
            for (k, v) in self.constant_options("from_json", o, cx)? {
                match k.to_ascii_lowercase().as_str() {
                    "dateformat" => date_format = Some(v),
                    "timestampformat" => timestamp_format = Some(v),
                    "mode" if v.eq_ignore_ascii_case("PERMISSIVE") => {}
                    "mode" => {
                        return Err(QuarryError::NotSupported(format!(
                            "from_json with mode {v} (only PERMISSIVE)"
                        )))
                    }
                    _ => {}
                }
            }
        }
        let text = cast_to(self.bind_inner(&args[0], cx)?, &DataType::Utf8)?;
        let t = self.constant_schema(&args[1], cx)?;
        if !matches!(
            t,
            DataType::Struct(_) | DataType::List(_) | DataType::Map(..)
        ) {
            return Err(QuarryError::Analysis(format!(
                "[DATATYPE_MISMATCH.INVALID_JSON_SCHEMA] from_json needs a STRUCT, ARRAY or MAP schema, not {}",
                crate::types::type_name(&t)
            )));
        }
        let format_literal = optional_text_literal;
        let mut call_args = vec![text];
        if date_format.is_some() || timestamp_format.is_some() {
            call_args.push(format_literal(date_format));
            call_args.push(format_literal(timestamp_format));
        }
        Ok(Expr::Function {
            func: ScalarFunc::Coll(CollectionFunc::FromJson),
            args: call_args,
            data_type: t,
        })
    }

    /// Spark's `try_add`, `try_subtract`, `try_multiply`, `try_divide` and `try_mod`:
    /// the operator's result (types and date/interval forms as the operator's), NULL
    /// where it fails: on integers an overflow (which the operators wrap, in Spark's
    /// non-ANSI mode), and any error the operator raises (division by zero and decimal
    /// overflow are NULL already).
    fn bind_try_arithmetic(
        &mut self,
        name: &str,
        op: ast::BinaryOperator,
        args: &[ast::Expr],
        cx: &ExprCtx,
    ) -> Result<Expr> {
        use crate::functions::math::MathFunc;
        check_arity(name, args.len(), 2, 2)?;
        let e = self.bind_inner(
            &ast::Expr::BinaryOp {
                left: Box::new(ast::Expr::Nested(Box::new(args[0].clone()))),
                op,
                right: Box::new(ast::Expr::Nested(Box::new(args[1].clone()))),
            },
            cx,
        )?;
        let e = match e {
            Expr::Binary {
                op: op @ (BinOp::Plus | BinOp::Minus | BinOp::Multiply),
                left,
                right,
                data_type,
            } if crate::types::is_integer(&data_type) => {
                let func = match op {
                    BinOp::Plus => MathFunc::CheckedAdd,
                    BinOp::Minus => MathFunc::CheckedSubtract,
                    _ => MathFunc::CheckedMultiply,
                };
                Expr::Function {
                    func: ScalarFunc::Math(func),
                    args: vec![cast_to(*left, &data_type)?, cast_to(*right, &data_type)?],
                    data_type,
                }
            }
            other => other,
        };
        let t = e.data_type();
        Ok(Expr::Function {
            func: ScalarFunc::Try,
            args: vec![e],
            data_type: t,
        })
    }

    /// A lambda argument bound with parameters of `types` (in order; fewer names than
    /// types is fine, more is Spark's `INVALID_LAMBDA_FUNCTION_CALL`).
    fn bind_lambda(
        &mut self,
        func: &str,
        arg: &ast::Expr,
        types: &[DataType],
        cx: &ExprCtx,
    ) -> Result<Expr> {
        let ast::Expr::Lambda(l) = arg else {
            return Err(QuarryError::Analysis(format!(
                "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] {func}() needs a lambda function (x -> ...) here, got {arg}"
            )));
        };
        let names: Vec<&ast::LambdaFunctionParameter> = match &l.params {
            ast::OneOrManyWithParens::One(p) => vec![p],
            ast::OneOrManyWithParens::Many(ps) => ps.iter().collect(),
        };
        if names.len() > types.len() || names.is_empty() {
            return Err(QuarryError::Analysis(format!(
                "[INVALID_LAMBDA_FUNCTION_CALL.NUM_ARGS_MISMATCH] {func}() takes a lambda function of up to {} arguments, got {}",
                types.len(),
                names.len()
            )));
        }
        for (i, p) in names.iter().enumerate() {
            if p.data_type.is_some() {
                return Err(QuarryError::NotSupported(format!(
                    "typed lambda parameters ({p})"
                )));
            }
            if names[..i]
                .iter()
                .any(|q| q.name.value.eq_ignore_ascii_case(&p.name.value))
            {
                return Err(QuarryError::Analysis(format!(
                    "[INVALID_LAMBDA_FUNCTION_CALL.DUPLICATE_ARG_NAMES] The lambda function has duplicate arguments `{}`",
                    p.name.value
                )));
            }
        }
        let params: Vec<Column> = names
            .iter()
            .zip(types)
            .map(|(p, t)| Column::new(p.name.value.to_ascii_lowercase(), t.clone(), true))
            .collect();
        self.lambda_params.push(params.clone());
        let body = self.bind_inner(&l.body, cx);
        self.lambda_params.pop();
        let body = body?;
        if body.has_subquery() {
            return Err(QuarryError::NotSupported(format!(
                "a subquery inside a lambda function of {func}()"
            )));
        }
        Ok(Expr::Lambda {
            params,
            body: Box::new(body),
        })
    }

    /// `transform`, `filter`, `exists`, `forall` and `aggregate`/`reduce` with lambda
    /// arguments ([`crate::functions::lambda`]): the array first, typed as Spark's.
    /// Errors: a first argument that is not an array, a predicate that is not boolean,
    /// a merge whose type does not widen to the start value's (as Spark, the start value
    /// sets the accumulator's type, widened here where the merge gives a wider one).
    fn bind_higher_order(
        &mut self,
        h: crate::functions::lambda::HigherOrderFunc,
        args: &[ast::Expr],
        cx: &ExprCtx,
    ) -> Result<Expr> {
        use crate::functions::lambda::HigherOrderFunc as H;
        let name = h.name();
        let (lo, hi) = match h {
            H::Aggregate => (3, 4),
            H::ZipWith | H::MapZipWith => (3, 3),
            _ => (2, 2),
        };
        check_arity(name, args.len(), lo, hi)?;
        let arr = self.bind_inner(&args[0], cx)?;
        let call = |args: Vec<Expr>, data_type: DataType| Expr::Function {
            func: ScalarFunc::Lambda(h),
            args,
            data_type,
        };
        let boolean_body = |l: &Expr| -> Result<()> {
            match l.data_type() {
                DataType::Boolean | DataType::Null => Ok(()),
                t => Err(QuarryError::Analysis(format!(
                    "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] The lambda function of {name}() must return a boolean, not {}",
                    crate::types::type_name(&t)
                ))),
            }
        };
        if h == H::MapZipWith {
            // both maps get one key type (Spark's MapZipWith requires it, after coercion)
            let other = self.bind_inner(&args[1], cx)?;
            let (t1, t2) = (arr.data_type(), other.data_type());
            let (Some((k1, v1)), Some((k2, v2))) = (
                crate::types::map_key_value(&t1),
                crate::types::map_key_value(&t2),
            ) else {
                return Err(QuarryError::Analysis(format!(
                    "[DATATYPE_MISMATCH.MAP_ZIP_WITH_DIFF_TYPES] Input to map_zip_with should have been two maps, got {} and {}",
                    crate::types::type_name(&t1),
                    crate::types::type_name(&t2)
                )));
            };
            let diff = || {
                QuarryError::Analysis(format!(
                    "[DATATYPE_MISMATCH.MAP_ZIP_WITH_DIFF_TYPES] Input to map_zip_with should have been two maps with compatible key types, but the key types are {} and {}",
                    crate::types::type_name(k1),
                    crate::types::type_name(k2)
                ))
            };
            let k = wider_type(k1, k2).map_err(|_| diff())?;
            // Spark casts the keys only where no key can become NULL (Cast.forceNullable):
            // decimal(36,0) and decimal(36,35) have no such common type
            if !decimal_holds(k1, &k) || !decimal_holds(k2, &k) {
                return Err(diff());
            }
            let (v1, v2) = (v1.clone(), v2.clone());
            let arr = cast_to(arr, &crate::types::map_type(k.clone(), v1.clone()))?;
            let other = cast_to(other, &crate::types::map_type(k.clone(), v2.clone()))?;
            let l = self.bind_lambda(name, &args[2], &[k.clone(), v1, v2], cx)?;
            let out = crate::types::map_type(k, l.data_type());
            return Ok(call(vec![arr, other, l], out));
        }
        if matches!(h, H::MapFilter | H::TransformValues) {
            let t = arr.data_type();
            let Some((k, v)) = crate::types::map_key_value(&t) else {
                return Err(QuarryError::Analysis(format!(
                    "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] The first parameter of {name}() requires the \"MAP\" type, however `{}` has the type \"{}\"",
                    args[0],
                    crate::types::type_name(&t)
                )));
            };
            let (k, v) = (k.clone(), v.clone());
            let l = self.bind_lambda(name, &args[1], &[k.clone(), v], cx)?;
            if h == H::MapFilter {
                boolean_body(&l)?;
                return Ok(call(vec![arr, l], t));
            }
            let out = crate::types::map_type(k, l.data_type());
            return Ok(call(vec![arr, l], out));
        }
        let (field, elem) = match arr.data_type() {
            DataType::List(f) => (f.clone(), f.data_type().clone()),
            DataType::Null => {
                let f = Arc::new(arrow::datatypes::Field::new("element", DataType::Null, true));
                (f, DataType::Null)
            }
            t => {
                return Err(QuarryError::Analysis(format!(
                    "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] The first parameter of {name}() requires the \"ARRAY\" type, however `{}` has the type \"{}\"",
                    args[0],
                    crate::types::type_name(&t)
                )))
            }
        };
        let arr = cast_to(arr, &DataType::List(field.clone()))?;
        match h {
            H::ZipWith => {
                let other = self.bind_inner(&args[1], cx)?;
                let elem2 = match other.data_type() {
                    DataType::List(f) => f.data_type().clone(),
                    DataType::Null => DataType::Null,
                    t => {
                        return Err(QuarryError::Analysis(format!(
                            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] The second parameter of zip_with() requires the \"ARRAY\" type, however `{}` has the type \"{}\"",
                            args[1],
                            crate::types::type_name(&t)
                        )))
                    }
                };
                let other = cast_to(other, &crate::types::list_type(elem2.clone()))?;
                let l = self.bind_lambda(name, &args[2], &[elem, elem2], cx)?;
                let out = crate::types::list_type(l.data_type());
                Ok(call(vec![arr, other, l], out))
            }
            H::MapFilter | H::TransformValues | H::MapZipWith => Err(QuarryError::Internal(
                "map functions are bound above".into(),
            )),
            H::ArraySort => {
                let l = self.bind_lambda(name, &args[1], &[elem.clone(), elem], cx)?;
                if !matches!(l.data_type(), DataType::Null)
                    && !crate::types::is_integer(&l.data_type())
                {
                    return Err(QuarryError::Analysis(format!(
                        "[DATATYPE_MISMATCH.UNEXPECTED_RETURN_TYPE] The comparator of array_sort() must return an integer, not {}",
                        crate::types::type_name(&l.data_type())
                    )));
                }
                let out = arr.data_type();
                Ok(call(vec![arr, l], out))
            }
            H::Transform => {
                let l = self.bind_lambda(name, &args[1], &[elem, DataType::Int32], cx)?;
                let t = l.data_type();
                let out = DataType::List(Arc::new(arrow::datatypes::Field::new(
                    field.name(),
                    t,
                    true,
                )));
                Ok(call(vec![arr, l], out))
            }
            H::Filter | H::Exists | H::Forall => {
                let types: &[DataType] = if h == H::Filter {
                    &[elem, DataType::Int32]
                } else {
                    &[elem]
                };
                let l = self.bind_lambda(name, &args[1], types, cx)?;
                boolean_body(&l)?;
                let out = if h == H::Filter {
                    arr.data_type()
                } else {
                    DataType::Boolean
                };
                Ok(call(vec![arr, l], out))
            }
            H::Aggregate => {
                let zero = self.bind_inner(&args[1], cx)?;
                let mut acc = zero.data_type();
                let mut merge =
                    self.bind_lambda(name, &args[2], &[acc.clone(), elem.clone()], cx)?;
                if merge.data_type() != acc {
                    // the merge gives a wider type (a sum of int elements from a 0L
                    // start, doubles from 0): the accumulator takes it
                    acc = wider_type(&acc, &merge.data_type()).map_err(|_| {
                        QuarryError::Analysis(format!(
                            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] The merge function of aggregate() gives {}, which the start value's type {} cannot hold",
                            crate::types::type_name(&merge.data_type()),
                            crate::types::type_name(&zero.data_type())
                        ))
                    })?;
                    merge = self.bind_lambda(name, &args[2], &[acc.clone(), elem], cx)?;
                }
                let zero = cast_to(zero, &acc)?;
                let mut out_args = vec![arr, zero, merge];
                let out = match args.get(3) {
                    Some(f) => {
                        let fin = self.bind_lambda(name, f, &[acc], cx)?;
                        let t = fin.data_type();
                        out_args.push(fin);
                        t
                    }
                    None => acc,
                };
                Ok(call(out_args, out))
            }
        }
    }

    /// `(x1, ..., xn) [NOT] IN (SELECT y1, ..., yn ...)`, Spark's multi-column IN: true
    /// when a row of the subquery equals every `xi`; else NULL when a row could equal
    /// them were its NULLs (or the `xi`'s) some value, i.e. every pair is equal or has a
    /// NULL side (Spark's null-aware anti join condition `xi = yi OR isnull(xi = yi)`);
    /// else false. Built from two EXISTS over the subquery, which decorrelation turns
    /// into a semi join on the keys and, for NOT IN, an anti join on that condition
    /// ([`super::decorrelate::in_tuple`]).
    ///
    /// Errors: a subquery with another number of columns
    /// (`[DATATYPE_MISMATCH.IN_SUBQUERY_LENGTH_MISMATCH]`, as Spark), pairs without a
    /// common comparison type.
    fn bind_in_tuple(
        &mut self,
        items: &[ast::Expr],
        subquery: &ast::Query,
        negated: bool,
        cx: &ExprCtx,
    ) -> Result<Expr> {
        let xs = items
            .iter()
            .map(|i| self.bind_inner(i, cx))
            .collect::<Result<Vec<_>>>()?;
        let plan = self.bind_subquery(subquery, cx)?;
        let cols = plan.schema();
        if cols.len() != xs.len() {
            return Err(QuarryError::Analysis(format!(
                "[DATATYPE_MISMATCH.IN_SUBQUERY_LENGTH_MISMATCH] The number of columns in the left hand side of an IN subquery does not match the number of columns in the output of subquery: the left hand side has {} columns, the subquery {}",
                xs.len(),
                cols.len()
            )));
        }
        let mut pairs = Vec::with_capacity(xs.len());
        for (x, y) in xs.into_iter().zip(cols) {
            let t = comparison_type(&x.data_type(), &y.data_type)?;
            pairs.push((cast_to(x, &t)?, cast_to(Expr::Column(y), &t)?));
        }
        Ok(super::decorrelate::in_tuple(plan, pairs, negated))
    }

    fn bind_subquery(&mut self, q: &ast::Query, cx: &ExprCtx) -> Result<crate::plan::LogicalPlan> {
        let mut outer: Vec<Scope> = cx.outer.to_vec();
        outer.push(cx.scope.clone());
        let Some(a) = cx.agg else {
            return Ok(self.bind_query_with_outer(q, &outer)?.0);
        };
        outer.push(a.input.clone());
        // the subquery may hold outer aggregates of this query (see `outer_aggs`)
        self.outer_aggs.push(AggState {
            group: vec![],
            aggs: RefCell::new(a.aggs.borrow().clone()),
            input: a.input.clone(),
            grouping_id: None,
        });
        let bound = self.bind_query_with_outer(q, &outer);
        let frame = self.outer_aggs.pop();
        let plan = bound?.0;
        if let Some(frame) = frame {
            let mut aggs = a.aggs.borrow_mut();
            for (ae, c) in frame.aggs.into_inner() {
                if !aggs.iter().any(|(_, x)| x.id == c.id) {
                    aggs.push((ae, c));
                }
            }
        }
        Ok(plan)
    }

    /// Whether the aggregate call `f` is an outer aggregate of the innermost query in
    /// [`Binder::outer_aggs`]: it names columns, and each resolves in that query's input
    /// and not in `cx`'s own scope.
    fn is_outer_aggregate(&self, f: &ast::Function, cx: &ExprCtx) -> bool {
        let Some(frame) = self.outer_aggs.last() else {
            return false;
        };
        let mut names: Vec<Vec<String>> = vec![];
        let _ = ast::visit_expressions(&f.args, |e| {
            match e {
                ast::Expr::Identifier(i) => names.push(vec![i.value.clone()]),
                ast::Expr::CompoundIdentifier(p) => names.push(ident_parts(p)),
                _ => {}
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
        !names.is_empty()
            && names.iter().all(|n| {
                matches!(cx.scope.resolve(n), Ok(None))
                    && matches!(frame.input.resolve(n), Ok(Some(_)))
            })
    }

    /// `grouping(x)` (1 when x is not grouped in the row's set, a tinyint) and
    /// `grouping_id([x, ...])` (those bits, the first expression the highest; a bigint).
    /// A plain GROUP BY is one grouping set of all its keys, so every bit is 0 there
    /// (DuckDB's and PostgreSQL's reading; Spark refuses it). Errors: no GROUP BY
    /// (`[UNSUPPORTED_GROUPING_EXPRESSION]`), an argument that is not a grouping key
    /// (`[GROUPING_COLUMN_MISMATCH]`).
    fn bind_grouping(&mut self, name: &str, args: &[ast::Expr], cx: &ExprCtx) -> Result<Expr> {
        let Some(agg) = cx
            .agg
            .filter(|a| a.grouping_id.is_some() || !a.group.is_empty())
        else {
            return Err(QuarryError::Analysis(format!("[UNSUPPORTED_GROUPING_EXPRESSION] {name}() can only be used with GroupingSets/Cube/Rollup")));
        };
        let gid = agg.grouping_id.clone();
        let n = agg.group.len();
        let input_cx = ExprCtx {
            scope: &agg.input,
            outer: cx.outer,
            agg: None,
            clause: "grouping()",
            windows: None,
        };
        let bit = |this: &mut Self, a: &ast::Expr| -> Result<Expr> {
            let e = this.bind_expr(a, &input_cx)?;
            let i = agg.group.iter().position(|(g, _)| *g == e).ok_or_else(|| {
                QuarryError::Analysis(format!("[GROUPING_COLUMN_MISMATCH] Column of grouping ({e}) can't be found in grouping columns"))
            })?;
            let Some(gid) = &gid else {
                return Ok(Expr::Literal(ScalarValue::from_i64(0)));
            };
            let div = Expr::binary(
                BinOp::IntDivide,
                Expr::Column(gid.clone()),
                Expr::Literal(ScalarValue::from_i64(1 << (n - 1 - i))),
                DataType::Int64,
            );
            Ok(Expr::binary(
                BinOp::Modulo,
                div,
                Expr::Literal(ScalarValue::from_i64(2)),
                DataType::Int64,
            ))
        };
        // grouping(a, b, ...) with several columns is grouping_id(a, b, ...) (DuckDB's,
        // PostgreSQL's); Spark's grouping takes one
        if name == "grouping" && args.len() != 1 {
            if args.is_empty() {
                return Err(QuarryError::Analysis(
                    "[WRONG_NUM_ARGS] `grouping` requires at least 1 parameter".into(),
                ));
            }
            return self.bind_grouping("grouping_id", args, cx);
        }
        if name == "grouping" {
            let b = bit(self, &args[0])?;
            return cast_to(b, &DataType::Int8);
        }
        if args.is_empty() {
            return Ok(match gid {
                Some(gid) => Expr::Column(gid),
                None => Expr::Literal(ScalarValue::from_i64(0)),
            });
        }
        let m = args.len();
        let mut acc: Option<Expr> = None;
        for (j, a) in args.iter().enumerate() {
            let b = bit(self, a)?;
            let term = Expr::binary(
                BinOp::Multiply,
                b,
                Expr::Literal(ScalarValue::from_i64(1 << (m - 1 - j))),
                DataType::Int64,
            );
            acc = Some(match acc {
                None => term,
                Some(x) => Expr::binary(BinOp::Plus, x, term, DataType::Int64),
            });
        }
        acc.ok_or_else(|| QuarryError::Internal("grouping_id".into()))
    }

    /// The name to bind a call `f` named `name` as, with its arguments, DISTINCT and `*`
    /// ([`Binder::function_args`]): `approx_count_distinct(x[, rsd])` becomes
    /// `count(DISTINCT x)` (see [`crate::functions::aggregate::approx_count_distinct_as_count`]).
    /// GROUP BY and window binding both start here.
    pub(super) fn call_args(
        &mut self,
        f: &ast::Function,
        name: String,
    ) -> Result<(String, Vec<ast::Expr>, bool, bool)> {
        let (mut args, mut distinct, mut star) = self.function_args(f)?;
        let name = crate::functions::aggregate::approx_count_distinct_as_count(
            name,
            &mut args,
            &mut distinct,
        )?;
        if AggFunc::is_aggregate_name(&name) {
            // an aggregate's `*` is its flag (count(*), count(DISTINCT *))
            args.retain(|a| !matches!(a, ast::Expr::Wildcard(_)));
        } else {
            // a scalar function's `*` and `q.*` are expanded where its arguments bind
            // (see [`Binder::expand_star_args`])
            star = false;
        }
        Ok((name, args, distinct, star))
    }

    /// A scalar function's arguments with each `*` replaced by the input's columns and
    /// each `q.*` by `q`'s columns (or, when `q` is a struct column, its fields), as
    /// Spark's star expansion in function arguments (`hash(*)`, `concat_ws(',', t.*)`,
    /// `struct(*)`). Columns become qualified, quoted names.
    pub(super) fn expand_star_args(
        &mut self,
        args: Vec<ast::Expr>,
        cx: &ExprCtx,
    ) -> Result<Vec<ast::Expr>> {
        let star_except = |a: &ast::Expr| -> Option<Vec<String>> {
            let ast::Expr::Function(f) = a else {
                return None;
            };
            if function_name(f) != STAR_EXCEPT_MARKER {
                return None;
            }
            let ast::FunctionArguments::List(l) = &f.args else {
                return Some(vec![]);
            };
            Some(
                l.args
                    .iter()
                    .filter_map(|x| match x {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(
                            ast::Expr::Identifier(i),
                        )) => Some(i.value.clone()),
                        _ => None,
                    })
                    .collect(),
            )
        };
        let regex = |a: &ast::Expr| {
            if !self.ctx.quoted_regex_column_names {
                return None;
            }
            super::select::regex_column(a, cx.scope, cx.outer)
        };
        if !args.iter().any(|a| {
            matches!(a, ast::Expr::Wildcard(_) | ast::Expr::QualifiedWildcard(..))
                || star_except(a).is_some()
                || regex(a).is_some()
        }) {
            return Ok(args);
        }
        let quoted = |s: &str| ast::Ident::with_quote('`', s);
        let mut out = Vec::with_capacity(args.len());
        for a in args {
            // a regex column (`spark.sql.parser.quotedRegexColumnNames`): its columns
            if let Some((q, pattern)) = regex(&a) {
                for c in super::select::regex_columns(cx.scope, q.as_deref(), &pattern)? {
                    out.push(star_column_reference(cx.scope, &c));
                }
                continue;
            }
            if let Some(except) = star_except(&a) {
                let cols = cx.scope.expand_star(None)?;
                for n in &except {
                    if !cols.iter().any(|c| c.name.eq_ignore_ascii_case(n)) {
                        return Err(QuarryError::Analysis(format!(
                            "[UNRESOLVED_COLUMN] A column `{n}` in the EXCEPT list of * cannot be resolved"
                        )));
                    }
                }
                for c in cols {
                    if !except.iter().any(|n| c.name.eq_ignore_ascii_case(n)) {
                        out.push(star_column_reference(cx.scope, &c));
                    }
                }
                continue;
            }
            let (qualifier, star_of) = match &a {
                ast::Expr::Wildcard(_) => (None, None),
                ast::Expr::QualifiedWildcard(q, _) => (Some(last_name_part(q)), Some(q.clone())),
                _ => {
                    out.push(a);
                    continue;
                }
            };
            let qualified = qualifier.as_deref().map(|q| {
                cx.scope.cols.iter().any(|c| {
                    c.qualifier
                        .as_deref()
                        .is_some_and(|cq| cq.eq_ignore_ascii_case(q))
                })
            });
            if qualified == Some(false) {
                // `t.*` naming a FROM item of the query just outside (in a LATERAL
                // subquery): its columns, as correlated references, as in a select list
                let outer_refs = match qualifier.as_deref() {
                    Some(q) => super::select::outer_star_references(cx.outer, q),
                    None => vec![],
                };
                if !outer_refs.is_empty() {
                    out.extend(outer_refs.into_iter().map(|(e, _)| e));
                    continue;
                }
                // `s.*` of a struct column s: its fields
                let Some(q) = star_of else { continue };
                let parts: Vec<ast::Ident> =
                    q.0.iter().filter_map(|p| p.as_ident().cloned()).collect();
                let base = if parts.len() == 1 {
                    ast::Expr::Identifier(parts[0].clone())
                } else {
                    ast::Expr::CompoundIdentifier(parts.clone())
                };
                let cannot = || {
                    QuarryError::Analysis(format!(
                        "[CANNOT_RESOLVE_STAR_EXPAND] Cannot resolve `{q}`.* given input columns"
                    ))
                };
                let t = self
                    .bind_inner(&base, cx)
                    .map_err(|_| cannot())?
                    .data_type();
                let DataType::Struct(fields) = t else {
                    return Err(cannot());
                };
                for f in fields.iter() {
                    let mut p = parts.clone();
                    p.push(quoted(f.name()));
                    out.push(ast::Expr::CompoundIdentifier(p));
                }
                continue;
            }
            for c in cx.scope.expand_star(qualifier.as_deref())? {
                out.push(star_column_reference(cx.scope, &c));
            }
        }
        Ok(out)
    }

    pub(super) fn function_args(
        &mut self,
        f: &ast::Function,
    ) -> Result<(Vec<ast::Expr>, bool, bool)> {
        match &f.args {
            ast::FunctionArguments::None => Ok((vec![], false, false)),
            ast::FunctionArguments::Subquery(_) => Err(QuarryError::NotSupported(
                "a subquery as a function argument".into(),
            )),
            ast::FunctionArguments::List(l) => {
                if !l.clauses.is_empty() {
                    return Err(QuarryError::NotSupported(format!(
                        "clauses inside {}(...)",
                        function_name(f)
                    )));
                }
                let distinct = matches!(
                    l.duplicate_treatment,
                    Some(ast::DuplicateTreatment::Distinct)
                );
                let mut star = false;
                let mut out = vec![];
                for a in &l.args {
                    match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                            out.push(e.clone())
                        }
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => {
                            star = true;
                            out.push(ast::Expr::Wildcard(
                                ast::helpers::attached_token::AttachedToken::empty(),
                            ))
                        }
                        // `q.*`: expanded where the arguments are bound (only count's, as
                        // Spark's count(t.*) = count(t.a, t.b, ...))
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::QualifiedWildcard(q)) => {
                            out.push(ast::Expr::QualifiedWildcard(
                                q.clone(),
                                ast::helpers::attached_token::AttachedToken::empty(),
                            ))
                        }
                        // `* EXCEPT (a, b)`: a marker call naming the columns to leave out,
                        // expanded with the other stars
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::WildcardWithOptions(o))
                            if o.opt_rename.is_none()
                                && o.opt_replace.is_none()
                                && o.opt_ilike.is_none() =>
                        {
                            // (a qualified name's last part: the marker lists plain names)
                            let names: Vec<ast::Ident> = super::select::dropped_names(o)
                                .into_iter()
                                .filter_map(|p| p.last().map(|n| ast::Ident::with_quote('`', n)))
                                .collect();
                            let args = names
                                .into_iter()
                                .map(ast::Expr::Identifier)
                                .collect::<Vec<_>>();
                            let text = format!(
                                "{STAR_EXCEPT_MARKER}({})",
                                args.iter()
                                    .map(|a| a.to_string())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            );
                            out.push(crate::parser::parse_expression(&text)?);
                        }
                        _ => {
                            return Err(QuarryError::NotSupported(format!(
                                "this argument form in {}(...)",
                                function_name(f)
                            )))
                        }
                    }
                }
                Ok((out, distinct, star))
            }
        }
    }

    /// Bind a generator call `gen(x)` (explode, posexplode, inline and `_outer` forms):
    /// its kind, whether it is an outer one, the bound argument, and its output columns
    /// named by `aliases` (as many as it makes) or Spark's defaults.
    pub(super) fn bind_generator(
        &mut self,
        call: &ast::Expr,
        aliases: &[String],
        cx: &ExprCtx,
    ) -> Result<(crate::plan::GeneratorKind, bool, Expr, Vec<Column>)> {
        let ast::Expr::Function(f) = call else {
            return Err(QuarryError::NotSupported(format!(
                "the generator {call} (explode, explode_outer, posexplode, posexplode_outer, inline, inline_outer, json_tuple and stack are supported)"
            )));
        };
        let name = function_name(f);
        // json_tuple(json, k1, ..., kn): one row of the fields c0 .. c(n-1), all NULL for
        // NULL or malformed JSON (Spark's JsonTuple), as inline(array(<struct of them>))
        let json_tuple = name == "json_tuple";
        let stack = name == "stack";
        let lookup = if json_tuple || stack {
            Some((crate::plan::GeneratorKind::Inline, false))
        } else {
            crate::plan::GeneratorKind::lookup(&name)
        };
        let Some((kind, outer)) = lookup else {
            return Err(QuarryError::NotSupported(format!(
                "the generator {name}() (explode, explode_outer, posexplode, posexplode_outer, inline, inline_outer, json_tuple and stack are supported)"
            )));
        };
        let (args, _, _) = self.function_args(f)?;
        let arg = if stack {
            self.bind_stack(&args, cx)?
        } else if json_tuple {
            crate::functions::check_arity(&name, args.len(), 2, usize::MAX)?;
            let bound = args
                .iter()
                .map(|a| self.bind_expr(a, cx))
                .collect::<Result<Vec<_>>>()?;
            // Spark's JsonTuple: every argument a string (no implicit cast, a NULL
            // literal included)
            if let Some((i, b)) = bound
                .iter()
                .enumerate()
                .find(|(_, b)| !crate::types::is_string(&b.data_type()))
            {
                return Err(QuarryError::Analysis(format!(
                    "[DATATYPE_MISMATCH.NON_STRING_TYPE] Cannot resolve \"json_tuple\": all arguments of the function json_tuple must be strings, argument {} is {}",
                    i + 1,
                    crate::types::type_name(&b.data_type())
                )));
            }
            let row = scalar_call(
                ScalarFunc::Str(crate::functions::strings::StringFunc::JsonTuple),
                bound,
            )?;
            scalar_call(
                ScalarFunc::Coll(crate::functions::collections::CollectionFunc::MakeArray),
                vec![row],
            )?
        } else {
            crate::functions::check_arity(&name, args.len(), 1, 1)?;
            let arg = self.bind_expr(&args[0], cx)?;
            // Spark's generators take no NULL literal (its type is void); DuckDB's and
            // DataFusion's unnest(NULL) is no rows
            if arg.data_type() == DataType::Null && name != "unnest" {
                return Err(QuarryError::Analysis(format!(
                    "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{name}(NULL)\": the input should be {}, not void",
                    if kind == crate::plan::GeneratorKind::Inline { "an array of structs" } else { "an array or a map" }
                )));
            }
            arg
        };
        let fields = kind.output_fields(&arg.data_type())?;
        if !aliases.is_empty() && aliases.len() != fields.len() {
            return Err(QuarryError::Analysis(format!(
                "[UDTF_ALIAS_NUMBER_MISMATCH] The number of aliases supplied in the AS clause does not match the number of columns output by the UDTF. Expected {} aliases, but got {}",
                fields.len(),
                aliases.len()
            )));
        }
        let cols = fields
            .into_iter()
            .enumerate()
            .map(|(i, (n, t))| Column::new(aliases.get(i).cloned().unwrap_or(n), t, true))
            .collect();
        Ok((kind, outer, arg, cols))
    }

    fn bind_function(&mut self, f: &ast::Function, cx: &ExprCtx) -> Result<Expr> {
        let name = function_name(f);
        // `current_date` without parentheses is a column of that name where one is in
        // scope (Spark resolves columns before these functions, SPARK-22333)
        if matches!(f.args, ast::FunctionArguments::None)
            && matches!(
                name.as_str(),
                "current_date" | "current_timestamp" | "localtimestamp" | "current_user" | "user"
            )
        {
            for sc in std::iter::once(cx.scope).chain(cx.outer.iter().rev()) {
                if let Ok(Some(c)) = sc.resolve(std::slice::from_ref(&name)) {
                    return Ok(Expr::Column(c));
                }
            }
        }
        if crate::plan::GeneratorKind::lookup(&name).is_some() {
            return Err(QuarryError::Analysis(format!(
                "[UNSUPPORTED_GENERATOR.NESTED_IN_EXPRESSIONS] The generator is not supported: nested in expressions \"{f}\"; use it alone in the SELECT list or in LATERAL VIEW"
            )));
        }
        // aggregates that the binder rewrites into others (below); listagg's rewrite
        // keeps its OVER on the aggregates it calls
        if f.over.is_some() && (name == "listagg" || name == "string_agg") {
            if !f.within_group.is_empty() {
                return Err(QuarryError::NotSupported(format!(
                    "{name}(...) WITHIN GROUP (ORDER BY ...) as a window function (order the window instead)"
                )));
            }
            return self.bind_inner(&listagg(f, &name)?, cx);
        }
        let rewritten = matches!(
            name.as_str(),
            "listagg"
                | "string_agg"
                | "percentile_cont"
                | "percentile_disc"
                | "decimal_average"
                | "product"
        );
        if !f.within_group.is_empty()
            && !matches!(
                name.as_str(),
                "percentile_cont" | "percentile_disc" | "mode" | "listagg" | "string_agg"
            )
        {
            return Err(QuarryError::Analysis(format!(
                "[INVALID_SQL_SYNTAX.FUNCTION_WITH_UNSUPPORTED_SYNTAX] Invalid SQL syntax: The function `{name}` does not support WITHIN GROUP (ORDER BY ...)"
            )));
        }
        // the percentiles over a window: the whole partition (Spark 3.5 refuses an ORDER
        // BY or a frame in their window)
        if let Some(over) = &f.over {
            if matches!(
                name.as_str(),
                "percentile_cont" | "percentile_disc" | "median"
            ) {
                if let ast::WindowType::WindowSpec(spec) = over {
                    if !spec.order_by.is_empty() || spec.window_frame.is_some() {
                        return Err(QuarryError::Analysis(format!(
                            "[INVALID_WINDOW_SPEC_FOR_AGGREGATION_FUNC] Cannot specify ORDER BY or a window frame for \"{name}\""
                        )));
                    }
                }
                if name != "median" {
                    if f.within_group.is_empty() {
                        return Err(QuarryError::Analysis(format!(
                            "[INVALID_WITHIN_GROUP_EXPRESSION.WITHIN_GROUP_MISSING] The function `{name}` requires WITHIN GROUP (ORDER BY ...)"
                        )));
                    }
                    let mut plain = f.clone();
                    plain.over = None;
                    return self.bind_within_group(&plain, &name, Some(over), cx);
                }
            }
        }
        if f.over.is_some() {
            if rewritten {
                return Err(QuarryError::NotSupported(format!(
                    "{name}(...) as a window function (OVER)"
                )));
            }
            return self.bind_window(f, cx);
        }
        if name == "percentile_cont" && f.within_group.is_empty() {
            return Err(QuarryError::Analysis(
                "[INVALID_WITHIN_GROUP_EXPRESSION] percentile_cont(p) requires WITHIN GROUP (ORDER BY ...)".into(),
            ));
        }
        if let Some(nt) = &f.null_treatment {
            return self.bind_inner(&ast::Expr::Function(with_null_treatment(f, &name, nt)?), cx);
        }
        if name == "listagg" || name == "string_agg" {
            return self.bind_inner(&listagg(f, &name)?, cx);
        }
        if !f.within_group.is_empty() {
            return self.bind_within_group(f, &name, None, cx);
        }
        // an ORDER BY inside an aggregate call (`array_agg(x ORDER BY y)`): taken off
        // before the arguments bind, bound after them
        let stripped;
        let (f, agg_order) = if AggFunc::is_aggregate_name(&name) {
            let (g, order) = split_arg_order(f);
            stripped = g;
            (&stripped, order)
        } else {
            (f, vec![])
        };
        let (name, args, distinct, star) = self.call_args(f, name)?;
        let args = if AggFunc::is_aggregate_name(&name) {
            args
        } else {
            self.expand_star_args(args, cx)?
        };
        if f.filter.is_some() && !AggFunc::is_aggregate_name(&name) {
            return Err(QuarryError::Analysis(format!(
                "FILTER (WHERE ...) is only allowed on aggregate functions, not {name}()"
            )));
        }
        if name == "grouping" || name == "grouping_id" {
            return self.bind_grouping(&name, &args, cx);
        }
        if let Some(op) = match name.as_str() {
            "try_add" => Some(ast::BinaryOperator::Plus),
            "try_subtract" => Some(ast::BinaryOperator::Minus),
            "try_multiply" => Some(ast::BinaryOperator::Multiply),
            "try_divide" => Some(ast::BinaryOperator::Divide),
            "try_mod" => Some(ast::BinaryOperator::Modulo),
            _ => None,
        } {
            return self.bind_try_arithmetic(&name, op, &args, cx);
        }
        if let Some((arity, template)) = desugared(&name, args.len()) {
            check_arity(&name, args.len(), arity, arity)?;
            if name == "transform_keys" && !matches!(args[1], ast::Expr::Lambda(_)) {
                return Err(lambda_required(&name, &args));
            }
            if matches!(
                name.as_str(),
                "array_union"
                    | "array_intersect"
                    | "array_except"
                    | "array_remove"
                    | "arrays_overlap"
            ) {
                self.check_array_operands(&name, &args, cx)?;
            }
            let text = expand_template(template, &args);
            let e = crate::parser::parse_expression(&text)?;
            return self.bind_inner(&e, cx);
        }
        if name == "from_json" {
            return self.bind_from_json(&args, cx);
        }
        if name == "schema_of_json" {
            return self.bind_schema_of_json(&args, cx);
        }
        if name == "from_csv" {
            return self.bind_from_csv(&args, cx);
        }
        if name == "schema_of_csv" {
            return self.bind_schema_of_csv(&args, cx);
        }
        if name == "window" {
            // a sliding window is the column bind_select generated for this call
            let key = f.to_string();
            if let Some(c) = self
                .window_columns
                .last()
                .and_then(|cols| cols.iter().find(|(k, _)| *k == key))
            {
                return Ok(Expr::Column(c.1.clone()));
            }
            let sql = time_window_sql(&args)?;
            let e = crate::parser::parse_expression(&sql)?;
            return self.bind_inner(&e, cx);
        }
        if let Some(h) = crate::functions::lambda::HigherOrderFunc::lookup(&name) {
            if args.iter().any(|a| matches!(a, ast::Expr::Lambda(_))) {
                return self.bind_higher_order(h, &args, cx);
            }
            // array_sort(arr) is the one form without a function
            if !(name == "array_sort" && args.len() == 1) {
                return Err(lambda_required(&name, &args));
            }
        }
        if name == "product" {
            // Spark's Product: the double product of the non-NULL values, NULL if none
            check_arity(&name, args.len(), 1, 1)?;
            let distinct = matches!(&f.args, ast::FunctionArguments::List(l) if l.duplicate_treatment.is_some());
            if distinct || f.filter.is_some() {
                return Err(QuarryError::NotSupported(
                    "product(DISTINCT ...) or product(...) FILTER (...)".into(),
                ));
            }
            let text = expand_template(
                "CASE WHEN count(CAST($1 AS DOUBLE)) = 0 THEN NULL ELSE aggregate(collect_list(CAST($1 AS DOUBLE)), 1D, (__qa, __qx) -> __qa * __qx) END",
                &args,
            );
            let e = crate::parser::parse_expression(&text)?;
            return self.bind_inner(&e, cx);
        }
        if name == "decimal_average" {
            // DuckDB's decimal_average(x): avg(x) in x's own decimal type
            check_arity(&name, args.len(), 1, 1)?;
            let probe = ExprCtx {
                agg: None,
                windows: None,
                ..*cx
            };
            let t = self.bind_inner(&args[0], &probe)?.data_type();
            let DataType::Decimal128(p, sc) = t else {
                return Err(QuarryError::Analysis(format!(
                    "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] decimal_average needs a DECIMAL argument, not {}",
                    crate::types::type_name(&t)
                )));
            };
            let mut avg = f.clone();
            avg.name = ast::ObjectName::from(vec![ast::Ident::new("avg")]);
            let cast = ast::Expr::Cast {
                kind: ast::CastKind::Cast,
                expr: Box::new(ast::Expr::Function(avg)),
                data_type: ast::DataType::Decimal(ast::ExactNumberInfo::PrecisionAndScale(
                    p as u64, sc as i64,
                )),
                format: None,
            };
            return self.bind_inner(&cast, cx);
        }
        if AggFunc::is_aggregate_name(&name) && self.is_outer_aggregate(f, cx) {
            // computed by the enclosing query; here a correlated reference to its result
            if let Some(frame) = self.outer_aggs.pop() {
                let outer_cx = ExprCtx {
                    scope: &frame.input,
                    outer: cx.outer,
                    agg: Some(&frame),
                    clause: cx.clause,
                    windows: None,
                };
                let bound = self.bind_inner(&ast::Expr::Function(f.clone()), &outer_cx);
                self.outer_aggs.push(frame);
                return bound;
            }
        }
        if AggFunc::is_aggregate_name(&name) {
            let Some(agg) = cx.agg else {
                return Err(QuarryError::Analysis(format!(
                    "[INVALID_AGGREGATE] aggregate function {name}() is not allowed in {}",
                    cx.clause
                )));
            };
            let input_cx = ExprCtx {
                scope: &agg.input,
                outer: cx.outer,
                agg: None,
                clause: "an aggregate function argument",
                windows: None,
            };
            // count(t.*) = count(t.a, t.b, ...), as Spark expands the star; a regex
            // column (`spark.sql.parser.quotedRegexColumnNames`) is its columns
            let regex_arg = self.ctx.quoted_regex_column_names
                && args
                    .iter()
                    .any(|a| super::select::regex_column(a, &agg.input, cx.outer).is_some());
            let args = if name == "count" || regex_arg {
                self.expand_star_args(args, &input_cx)?
            } else {
                args
            };
            let mut bound = vec![];
            for a in &args {
                if contains_aggregate(a) {
                    return Err(QuarryError::Analysis(
                        "[NESTED_AGGREGATE_FUNCTION] It is not allowed to use an aggregate function in the argument of another aggregate function".into(),
                    ));
                }
                bound.push(self.bind_expr(a, &input_cx)?);
            }
            if name == "count" && star && distinct {
                // count(DISTINCT *): distinct rows of the input with no NULL column
                // (Spark expands the star)
                bound = agg
                    .input
                    .expand_star(None)?
                    .into_iter()
                    .map(Expr::Column)
                    .collect();
            } else if name == "count" && (star || bound.is_empty()) {
                bound.clear();
            } else if star {
                return Err(QuarryError::Analysis(format!("{name}(*) is not allowed")));
            }
            // agg(x) FILTER (WHERE c) is agg(CASE WHEN c THEN x END): aggregates skip NULLs
            if let Some(flt) = &f.filter {
                if contains_aggregate(flt) {
                    return Err(QuarryError::Analysis("[INVALID_WHERE_CONDITION] an aggregate FILTER condition cannot contain aggregate functions".into()));
                }
                if matches!(
                    name.as_str(),
                    "first" | "first_value" | "any_value" | "last" | "last_value"
                ) {
                    return Err(QuarryError::NotSupported(format!(
                        "FILTER (WHERE ...) on {name}()"
                    )));
                }
                let cond = cast_bool(self.bind_expr(flt, &input_cx)?)?;
                if bound.is_empty() {
                    bound.push(Expr::Literal(ScalarValue::from_i32(1)));
                }
                bound = bound
                    .into_iter()
                    .enumerate()
                    .map(|(i, x)| {
                        // only the value arguments; constant parameters (a percentile's p) stay
                        if i >= AggFunc::value_args(&name) {
                            return x;
                        }
                        let t = x.data_type();
                        Expr::Case {
                            whens: vec![(cond.clone(), x)],
                            else_expr: None,
                            data_type: t,
                        }
                    })
                    .collect();
            }
            // sum/avg over an interval run over its months or microseconds
            let interval = match bound.first() {
                Some(x) => super::interval::aggregate_input(&name, x)
                    .map(|(raw, t)| (raw, t, super::interval::fields_of(x))),
                None => None,
            };
            if let Some((raw, _, _)) = &interval {
                bound[0] = raw.clone();
            }
            let finish = |c: Column| match &interval {
                Some((_, t, q)) => {
                    let try_ = name.starts_with("try_");
                    super::interval::aggregate_finish(Expr::Column(c), t.clone(), *q, try_)
                }
                None => Expr::Column(c),
            };
            let (func, mut args_b, result) = resolve_aggregate(&name, bound)?;
            // the ORDER BY keys follow the arguments; dropped where order cannot matter
            let mut order = vec![];
            if !agg_order.is_empty() && func.order_sensitive() {
                let nargs = args_b.len();
                for ob in &agg_order {
                    if contains_aggregate(&ob.expr) {
                        return Err(QuarryError::Analysis(
                            "[NESTED_AGGREGATE_FUNCTION] It is not allowed to use an aggregate function in the argument of another aggregate function".into(),
                        ));
                    }
                    let (asc, nulls_first) = super::select::sort_options(ob);
                    let key = self.bind_expr(&ob.expr, &input_cx)?;
                    // with DISTINCT, a key must be an argument, so that the rows of one
                    // distinct value sort alike (PostgreSQL's and DuckDB's rule)
                    if distinct && !args_b[..nargs].contains(&key) {
                        return Err(QuarryError::Analysis(format!(
                            "in {name}(DISTINCT ... ORDER BY ...), the ORDER BY expressions must appear in the argument list: {}",
                            ob.expr
                        )));
                    }
                    args_b.push(key);
                    order.push(crate::plan::AggOrder { asc, nulls_first });
                }
            }
            let ae = AggregateExpr {
                func,
                args: args_b,
                distinct,
                order,
                data_type: result.clone(),
            };
            let mut aggs = agg.aggs.borrow_mut();
            if let Some((_, c)) = aggs.iter().find(|(a, _)| *a == ae) {
                return Ok(finish(c.clone()));
            }
            let col = Column::new(agg_name(f), result, true);
            aggs.push((ae, col.clone()));
            return Ok(finish(col));
        }
        if distinct || star {
            return Err(QuarryError::Analysis(format!(
                "{name}() is not an aggregate function"
            )));
        }
        if name == "struct" {
            return self.bind_struct(&args, cx);
        }
        if name == "named_struct" {
            if args.len() % 2 != 0 {
                return Err(QuarryError::Analysis(format!("[WRONG_NUM_ARGS] The `named_struct` requires an even number of parameters but the actual number is {}", args.len())));
            }
            let mut named = vec![];
            for pair in args.chunks(2) {
                let field = match self.bind_inner(&pair[0], cx)? {
                    Expr::Literal(v) => v.as_str().map(str::to_string),
                    _ => None,
                }
                .ok_or_else(|| {
                    QuarryError::Analysis(format!(
                        "[DATATYPE_MISMATCH.CREATE_NAMED_STRUCT_WITHOUT_FOLDABLE_STRING] named_struct needs constant string field names, got {}",
                        pair[0]
                    ))
                })?;
                named.push((self.bind_inner(&pair[1], cx)?, Some(field)));
            }
            return Ok(make_struct(named));
        }
        // a unit first: timestampadd(HOUR, 1, ts), datediff(WEEK, a, b), the unit an
        // identifier (or a string)
        let unit_first = match name.as_str() {
            "timestampadd" | "dateadd" | "date_add" if args.len() == 3 => {
                Some(crate::functions::datetime::DateFunc::TimestampAdd)
            }
            "timestampdiff" | "datediff" | "date_diff" if args.len() == 3 => {
                Some(crate::functions::datetime::DateFunc::TimestampDiff)
            }
            _ => None,
        };
        if let Some(func) = unit_first {
            let unit = match &args[0] {
                ast::Expr::Identifier(id) => Some(&id.value),
                ast::Expr::Value(v) => match &v.value {
                    ast::Value::SingleQuotedString(u) | ast::Value::DoubleQuotedString(u) => Some(u),
                    _ => None,
                },
                _ => None,
            }
            .ok_or_else(|| {
                QuarryError::Analysis(format!(
                    "[INVALID_PARAMETER_VALUE.DATETIME_UNIT] the unit of {name} must be a unit name, got {}",
                    args[0]
                ))
            })?
            .to_ascii_uppercase();
            let mut bound = vec![Expr::Literal(ScalarValue::from_str(&unit))];
            for a in &args[1..] {
                bound.push(self.bind_inner(a, cx)?);
            }
            return scalar_call(ScalarFunc::Date(func), bound);
        }
        let bound: Vec<Expr> = args
            .iter()
            .map(|a| self.bind_inner(a, cx))
            .collect::<Result<_>>()?;
        match name.as_str() {
            // the session's constants, as Spark: the OS user, the current database, the
            // one catalog's name and the engine's version
            "current_user" | "user" | "session_user" | "current_database" | "current_schema"
            | "current_catalog" | "version" => {
                crate::functions::check_arity(&name, bound.len(), 0, 0)?;
                let v = match name.as_str() {
                    "current_database" | "current_schema" => self.ctx.current_db.to_string(),
                    "current_catalog" => "spark_catalog".to_string(),
                    "version" => format!("quarry {}", env!("CARGO_PKG_VERSION")),
                    _ => whoami::username().unwrap_or_else(|_| "unknown".into()),
                };
                return Ok(Expr::Literal(ScalarValue::from_str(&v)));
            }
            // the file the row was read from: the hidden column bind_select added to its
            // FROM's scan; '' where the rows come from no file (Spark's empty string)
            "input_file_name" => {
                crate::functions::check_arity(&name, bound.len(), 0, 0)?;
                return Ok(match self.file_names.last().cloned().flatten() {
                    Some(c) => Expr::Column(c),
                    None => Expr::Literal(ScalarValue::from_str("")),
                });
            }
            // unix_timestamp(): now, as unix_timestamp(current_timestamp())
            "unix_timestamp" if bound.is_empty() => {
                let now = scalar_call(ScalarFunc::CurrentTimestamp, vec![])?;
                return scalar_call(
                    ScalarFunc::Date(crate::functions::datetime::DateFunc::UnixTimestamp),
                    vec![now],
                );
            }
            // weekday: 0 = Monday ... 6 = Sunday (dayofweek: 1 = Sunday)
            "weekday" if bound.len() == 1 => {
                let x = bound
                    .into_iter()
                    .next()
                    .ok_or_else(|| QuarryError::Internal("weekday".into()))?;
                return weekday_of(x);
            }
            // to_number(str, fmt): the input as a plain decimal string, cast to the
            // decimal type the constant format gives
            "to_number" | "try_to_number" => {
                crate::functions::check_arity(&name, bound.len(), 2, 2)?;
                let fmt = constant_format(&name, &bound[1])?;
                let (p, s) =
                    crate::functions::number_format::NumberFormat::parse(&fmt)?.precision_scale();
                let f = crate::functions::strings::StringFunc::ToNumber {
                    r#try: name == "try_to_number",
                };
                let text = scalar_call(ScalarFunc::Str(f), bound)?;
                return cast_to(text, &DataType::Decimal128(p, s));
            }
            // date_add/date_sub(start, 'n'): a string literal must hold an integer
            // (Spark's SECOND_FUNCTION_ARGUMENT_NOT_INTEGER)
            "date_add" | "dateadd" | "date_sub"
                if bound.len() == 2
                    && matches!(&bound[1], Expr::Literal(v) if crate::types::is_string(v.data_type())) =>
            {
                let days = match &bound[1] {
                    Expr::Literal(v) if v.is_null() => ScalarValue::null(&DataType::Int32),
                    Expr::Literal(v) => v
                        .as_str()
                        .and_then(|t| t.trim().parse::<i32>().ok())
                        .map(ScalarValue::from_i32)
                        .ok_or_else(|| {
                            QuarryError::Analysis(format!(
                                "[SECOND_FUNCTION_ARGUMENT_NOT_INTEGER] The second argument of `{name}` function needs to be an integer."
                            ))
                        })?,
                    _ => return Err(QuarryError::Internal("date_add".into())),
                };
                let mut args = bound;
                args[1] = Expr::Literal(days);
                let func = if name == "date_sub" {
                    ScalarFunc::DateSub
                } else {
                    ScalarFunc::DateAdd
                };
                return scalar_call(func, args);
            }
            // array_extract / list_extract (DuckDB's) on a string: its n-th character
            "array_extract" | "list_extract" | "list_element"
                if bound.len() == 2 && crate::types::is_string(&bound[0].data_type()) =>
            {
                let mut args = bound;
                args.push(Expr::Literal(ScalarValue::from_i32(1)));
                return scalar_call(ScalarFunc::Substring, args);
            }
            // mask's replacement characters: constants, one character or -1 (keep the
            // original), as Spark's Mask.checkInputDataTypes
            "mask" if bound.len() >= 2 => {
                let args: Vec<Expr> = bound
                    .into_iter()
                    .map(crate::optimizer::constant_folding::fold)
                    .collect();
                let names = crate::functions::strings::MASK_ARGUMENTS;
                for (a, name) in args.iter().skip(1).zip(names) {
                    let Expr::Literal(v) = a else {
                        return Err(QuarryError::Analysis(format!(
                            "[DATATYPE_MISMATCH.NON_FOLDABLE_INPUT] Cannot resolve \"mask\": the input {name} should be a foldable \"STRING\" expression; however, got {a}"
                        )));
                    };
                    if v.is_null() {
                        return Err(QuarryError::Analysis(format!(
                            "[DATATYPE_MISMATCH.UNEXPECTED_NULL] Cannot resolve \"mask\": the {name} must not be null"
                        )));
                    }
                }
                let f = ScalarFunc::lookup("mask")
                    .ok_or_else(|| QuarryError::Internal("mask".into()))?;
                return scalar_call(f, args);
            }
            "ceil" | "ceiling" | "floor" if bound.len() == 2 => {
                let f = if name == "floor" {
                    ScalarFunc::Floor
                } else {
                    ScalarFunc::Ceil
                };
                return ceil_floor_call(f, bound);
            }
            // round(x, NULL): NULL (of the type round(x, 0) has)
            "round" | "bround"
                if bound.len() == 2 && matches!(&bound[1], Expr::Literal(v) if v.is_null()) =>
            {
                let x = bound
                    .into_iter()
                    .next()
                    .ok_or_else(|| QuarryError::Internal("round".into()))?;
                let t = scalar_call(
                    ScalarFunc::lookup(&name)
                        .ok_or_else(|| QuarryError::Internal("round".into()))?,
                    vec![x, Expr::Literal(ScalarValue::from_i32(0))],
                )?
                .data_type();
                return Ok(Expr::Literal(ScalarValue::null(&t)));
            }
            "mod" if bound.len() == 2 => {
                let mut it = bound.into_iter();
                let (Some(a), Some(b)) = (it.next(), it.next()) else {
                    return Err(QuarryError::Internal("mod".into()));
                };
                return binary(BinOp::Modulo, a, b, false);
            }
            "equal_null" if bound.len() == 2 => {
                let mut it = bound.into_iter();
                let (Some(a), Some(b)) = (it.next(), it.next()) else {
                    return Err(QuarryError::Internal("equal_null".into()));
                };
                return binary(BinOp::NullSafeEq, a, b, false);
            }
            // Spark's UnaryPositive as a function: a string argument is implicitly a double
            // (the `+` operator keeps a string, for SQLite's `+ col`)
            "positive" if bound.len() == 1 => {
                let x = bound
                    .into_iter()
                    .next()
                    .ok_or_else(|| QuarryError::Internal("positive".into()))?;
                let t = x.data_type();
                if crate::types::is_string(&t) {
                    return cast_to(x, &DataType::Float64);
                }
                if crate::types::is_numeric(&t)
                    || t == DataType::Null
                    || matches!(t, DataType::Interval(_) | DataType::Duration(_))
                {
                    return Ok(x);
                }
                return Err(QuarryError::Analysis(format!(
                    "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"positive\": the argument requires a numeric or interval type, not \"{}\"",
                    crate::types::type_name(&t)
                )));
            }
            "negative" if bound.len() == 1 => {
                let x = bound
                    .into_iter()
                    .next()
                    .ok_or_else(|| QuarryError::Internal("negative".into()))?;
                // a string is implicitly a double, as for `-'1.5'`
                let x = if crate::types::is_string(&x.data_type()) {
                    cast_to(x, &DataType::Float64)?
                } else {
                    x
                };
                return Ok(Expr::Negate(Box::new(x)));
            }
            // date_part('field', source): EXTRACT by a field name
            "date_part" | "datepart" if bound.len() == 2 => {
                let field = match &bound[0] {
                    Expr::Literal(v) if v.is_null() => {
                        // date_part(NULL, x): NULL, of the type the field would give
                        return Ok(Expr::Literal(ScalarValue::null(&DataType::Float64)));
                    }
                    Expr::Literal(v) => v.as_str().map(str::to_string),
                    _ => None,
                };
                let Some(field) = field else {
                    return Err(QuarryError::Analysis(format!(
                        "[NON_FOLDABLE_ARGUMENT] The function `date_part` requires the parameter `field` to be a foldable expression of the type \"STRING\", but the actual argument is {}",
                        bound[0]
                    )));
                };
                let src = bound
                    .into_iter()
                    .nth(1)
                    .ok_or_else(|| QuarryError::Internal("date_part".into()))?;
                return extract_field(&field, src);
            }
            // decode(expr, search1, result1, ..., [default]): Oracle's CASE shorthand;
            // NULL matches NULL
            "decode" if bound.len() >= 3 => {
                let mut it = bound.into_iter();
                let Some(x) = it.next() else {
                    return Err(QuarryError::Internal("decode".into()));
                };
                let rest: Vec<Expr> = it.collect();
                let mut whens = vec![];
                let mut pairs = rest.chunks_exact(2);
                for p in pairs.by_ref() {
                    whens.push((
                        binary(BinOp::NullSafeEq, x.clone(), p[0].clone(), false)?,
                        p[1].clone(),
                    ));
                }
                let default = pairs.remainder().first().cloned();
                return make_case(whens, default);
            }
            "if" | "iff" => {
                if bound.len() != 3 {
                    return Err(QuarryError::Analysis(format!(
                        "[WRONG_NUM_ARGS] `if` requires 3 parameters but the actual number is {}",
                        bound.len()
                    )));
                }
                let mut it = bound.into_iter();
                let (c, a, b) = (it.next(), it.next(), it.next());
                let (Some(c), Some(a), Some(b)) = (c, a, b) else {
                    return Err(QuarryError::Internal("if arity".into()));
                };
                return make_case(vec![(cast_bool(c)?, a)], Some(b));
            }
            // to_char / to_varchar (Spark 3.5 / 4): of a date or timestamp, date_format;
            // of a binary, 'hex', 'base64' or 'utf-8' text; of a number, the number in
            // Spark's number format (the number cast to a decimal as Spark's implicit
            // cast: integers to decimal(3|5|10|20, 0), float (14,7), double (30,15))
            "to_char" | "to_varchar" => {
                crate::functions::check_arity(&name, bound.len(), 2, 2)?;
                let t = bound[0].data_type();
                let as_decimal = match &t {
                    DataType::Float32 => Some(DataType::Decimal128(14, 7)),
                    DataType::Float64 => Some(DataType::Decimal128(30, 15)),
                    DataType::Null => Some(DataType::Decimal128(38, 18)),
                    _ => crate::types::decimal_of(&t).map(|(p, s)| DataType::Decimal128(p, s)),
                };
                if let Some(dt) = as_decimal {
                    crate::functions::number_format::NumberFormat::parse(&constant_format(
                        &name, &bound[1],
                    )?)?;
                    let mut args = bound.into_iter();
                    let (Some(x), Some(f)) = (args.next(), args.next()) else {
                        return Err(QuarryError::Internal("to_char arity".into()));
                    };
                    return scalar_call(
                        ScalarFunc::Str(crate::functions::strings::StringFunc::ToCharNumber),
                        vec![cast_to(x, &dt)?, f],
                    );
                }
                let text = match &t {
                    DataType::Date32 | DataType::Timestamp(..) => Some("date_format($1, $2)"),
                    DataType::Binary | DataType::LargeBinary => {
                        let fmt = match &bound[1] {
                            Expr::Literal(v) => v.as_str().map(|f| f.to_ascii_lowercase()),
                            _ => None,
                        };
                        Some(match fmt.as_deref() {
                            Some("hex") => "hex($1)",
                            Some("base64") => "base64($1)",
                            Some("utf-8") | Some("utf8") => "decode($1, 'UTF-8')",
                            _ => {
                                return Err(QuarryError::Analysis(format!(
                                    "[INVALID_PARAMETER_VALUE.BINARY_FORMAT] The value of parameter(s) `format` in `{name}` is invalid: expects one of binary formats 'base64', 'hex', 'utf-8', but got {}",
                                    args[1]
                                )))
                            }
                        })
                    }
                    _ => None,
                };
                let Some(template) = text else {
                    return Err(QuarryError::Analysis(format!(
                        "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{name}\": the first argument requires a number, date, timestamp or binary, not \"{}\"",
                        crate::types::type_name(&t)
                    )));
                };
                let e = crate::parser::parse_expression(&expand_template(template, &args))?;
                return self.bind_inner(&e, cx);
            }
            // try_to_timestamp(s[, fmt]): to_timestamp with NULL where it would fail
            "try_to_timestamp" => {
                crate::functions::check_arity(&name, bound.len(), 1, 2)?;
                // a constant pattern Spark cannot read is still an error (Spark checks
                // it when analysing, before any row)
                if let Some(Expr::Literal(v)) = bound.get(1) {
                    if let Some(p) = v.as_str() {
                        crate::functions::scalar::check_datetime_pattern(p)?;
                    }
                }
                let e = scalar_call(ScalarFunc::ToTimestamp, bound)?;
                let t = e.data_type();
                return Ok(Expr::Function {
                    func: ScalarFunc::Try,
                    args: vec![e],
                    data_type: t,
                });
            }
            // assert_true(cond[, message]): NULL, or Spark's error where cond is false
            // or NULL ("'<cond>' is not true!" without a message)
            "assert_true" => {
                crate::functions::check_arity(&name, bound.len(), 1, 2)?;
                let mut it = bound.into_iter();
                let cond = cast_bool(
                    it.next()
                        .ok_or_else(|| QuarryError::Internal("assert_true".into()))?,
                )?;
                let message = match it.next() {
                    Some(m) => m,
                    None => Expr::Literal(ScalarValue::from_str(&format!(
                        "'{}' is not true!",
                        args[0]
                    ))),
                };
                let raise = scalar_call(
                    ScalarFunc::Str(crate::functions::strings::StringFunc::RaiseError),
                    vec![message],
                )?;
                return make_case(
                    vec![(cond, Expr::Literal(ScalarValue::null(&DataType::Null)))],
                    Some(raise),
                );
            }
            "isnull" | "isnotnull" if bound.len() == 1 => {
                let x = Box::new(
                    bound
                        .into_iter()
                        .next()
                        .ok_or_else(|| QuarryError::Internal("isnull".into()))?,
                );
                return Ok(if name == "isnull" {
                    Expr::IsNull(x)
                } else {
                    Expr::IsNotNull(x)
                });
            }
            // DuckDB's constant_or_null(x, a, ...): x, or NULL where any of a, ... is NULL
            "constant_or_null" if bound.len() >= 2 => {
                let mut it = bound.into_iter();
                let Some(x) = it.next() else {
                    return Err(QuarryError::Internal("constant_or_null".into()));
                };
                let null = Expr::Literal(ScalarValue::null(&x.data_type()));
                let any_null = Expr::disjunction(it.map(|a| Expr::IsNull(Box::new(a))).collect())
                    .ok_or_else(|| QuarryError::Internal("constant_or_null".into()))?;
                return make_case(vec![(any_null, null)], Some(x));
            }
            "nvl2" if bound.len() == 3 => {
                let mut it = bound.into_iter();
                let (Some(x), Some(a), Some(b)) = (it.next(), it.next(), it.next()) else {
                    return Err(QuarryError::Internal("nvl2".into()));
                };
                return make_case(vec![(Expr::IsNotNull(Box::new(x)), a)], Some(b));
            }
            // Spark functions that are compositions of others
            "left" | "right" if bound.len() == 2 => {
                let mut it = bound.into_iter();
                let (Some(x), Some(n)) = (it.next(), it.next()) else {
                    return Err(QuarryError::Internal("left/right".into()));
                };
                let n = cast_to(n, &DataType::Int32)?;
                let x_for_null = x.clone();
                let empty = Expr::Literal(ScalarValue::from_str(""));
                let non_positive = binary(
                    BinOp::LtEq,
                    n.clone(),
                    Expr::Literal(ScalarValue::from_i32(0)),
                    false,
                )?;
                let body = if name == "left" {
                    scalar_call(
                        ScalarFunc::Substring,
                        vec![x, Expr::Literal(ScalarValue::from_i32(1)), n],
                    )?
                } else {
                    scalar_call(ScalarFunc::Substring, vec![x, Expr::Negate(Box::new(n))])?
                };
                // a NULL string stays NULL whatever the length
                let null_x = Expr::IsNull(Box::new(x_for_null));
                let null = Expr::Literal(ScalarValue::null(&DataType::Utf8));
                return make_case(vec![(null_x, null), (non_positive, empty)], Some(body));
            }
            "position" | "locate" if bound.len() == 2 => {
                let mut it = bound.into_iter();
                let (Some(sub), Some(x)) = (it.next(), it.next()) else {
                    return Err(QuarryError::Internal("position".into()));
                };
                return scalar_call(ScalarFunc::Instr, vec![x, sub]);
            }
            "pmod" if bound.len() == 2 => {
                // the positive modulus: ((a % b) + b) % b when a % b < 0
                let mut it = bound.into_iter();
                let (Some(a), Some(b)) = (it.next(), it.next()) else {
                    return Err(QuarryError::Internal("pmod".into()));
                };
                let r = binary(BinOp::Modulo, a, b.clone(), false)?;
                let neg = binary(
                    BinOp::Lt,
                    r.clone(),
                    Expr::Literal(ScalarValue::from_i32(0)),
                    false,
                )?;
                let fixed = binary(
                    BinOp::Modulo,
                    binary(BinOp::Plus, r.clone(), b.clone(), false)?,
                    b,
                    false,
                )?;
                return make_case(vec![(neg, fixed)], Some(r));
            }
            "date_from_unix_date" if bound.len() == 1 => {
                let epoch = Expr::Literal(typed_literal("1970-01-01", &DataType::Date32)?);
                return scalar_call(
                    ScalarFunc::DateAdd,
                    vec![
                        epoch,
                        bound
                            .into_iter()
                            .next()
                            .ok_or_else(|| QuarryError::Internal("unix date".into()))?,
                    ],
                );
            }
            "unix_date" if bound.len() == 1 => {
                let epoch = Expr::Literal(typed_literal("1970-01-01", &DataType::Date32)?);
                return scalar_call(
                    ScalarFunc::DateDiff,
                    vec![
                        bound
                            .into_iter()
                            .next()
                            .ok_or_else(|| QuarryError::Internal("unix date".into()))?,
                        epoch,
                    ],
                );
            }
            // Spark's function forms of the operators: like(s, p[, escape]),
            // ilike(s, p[, escape]); the escape is one constant character
            "like" | "ilike" => {
                check_arity(&name, bound.len(), 2, 3)?;
                let mut it = bound.into_iter();
                let (Some(x), Some(p)) = (it.next(), it.next()) else {
                    return Err(QuarryError::Internal("like arguments".into()));
                };
                let mut p = cast_to(p, &DataType::Utf8)?;
                if let Some(esc) = it.next() {
                    let esc =
                        crate::optimizer::constant_folding::fold(cast_to(esc, &DataType::Utf8)?);
                    if !matches!(&esc, Expr::Literal(v) if v.as_str().is_some()) {
                        return Err(QuarryError::Analysis(format!(
                            "[DATATYPE_MISMATCH.NON_FOLDABLE_INPUT] Cannot resolve \"{name}\": the escape character (argument 3) must be a constant string"
                        )));
                    }
                    p = escaped_like_pattern(p, esc)?;
                }
                return Ok(Expr::Like {
                    expr: Box::new(cast_to(x, &DataType::Utf8)?),
                    pattern: Box::new(p),
                    negated: false,
                    case_insensitive: name == "ilike",
                });
            }
            // DataFusion's arrow_cast(x, 'ArrowType'): a cast to the type Quarry computes
            // with for that arrow type (Utf8View and LargeUtf8 are strings, dictionaries
            // their values, ...), so files written for DataFusion run here
            "arrow_cast" => {
                check_arity("arrow_cast", bound.len(), 2, 2)?;
                let name = match &bound[1] {
                    Expr::Literal(v) => v.as_str().map(str::to_string),
                    _ => None,
                }
                .ok_or_else(|| {
                    QuarryError::Analysis(
                        "arrow_cast needs a constant string type name as its second argument"
                            .into(),
                    )
                })?;
                let arrow_type: DataType = name.parse().map_err(|e| {
                    QuarryError::Analysis(format!("arrow_cast: unknown arrow type '{name}': {e}"))
                })?;
                let to = crate::types::normalize_type(&arrow_type);
                if matches!(
                    to,
                    DataType::Interval(_) | DataType::RunEndEncoded(..) | DataType::Float16
                ) {
                    return Err(QuarryError::NotSupported(format!(
                        "data type {arrow_type} in arrow_cast"
                    )));
                }
                let x = bound
                    .into_iter()
                    .next()
                    .ok_or_else(|| QuarryError::Internal("arrow_cast".into()))?;
                if matches!(
                    arrow_type,
                    DataType::Time32(_) | DataType::Time64(_) | DataType::Duration(_)
                ) && arrow_type != to
                {
                    // a number counts the given unit: cast to that type first, from the
                    // integer width arrow casts it from (Int32 for Time32, else Int64)
                    let x = if crate::types::is_integer(&x.data_type()) {
                        let width = match arrow_type {
                            DataType::Time32(_) => DataType::Int32,
                            _ => DataType::Int64,
                        };
                        Expr::Cast {
                            expr: Box::new(cast_to(x, &width)?),
                            to: arrow_type.clone(),
                            try_cast: false,
                        }
                    } else {
                        x
                    };
                    return cast_to(x, &to);
                }
                check_cast(&x.data_type(), &to)?;
                return cast_to(x, &to);
            }
            "decimal" if bound.len() == 1 => {
                let x = bound
                    .into_iter()
                    .next()
                    .ok_or_else(|| QuarryError::Internal("decimal fn".into()))?;
                return cast_to(x, &DataType::Decimal128(10, 0));
            }
            "date" | "int" | "bigint" | "string" | "double" | "boolean" | "timestamp" | "float"
            | "binary" | "smallint" | "tinyint" | "decimal"
                if bound.len() != 1 =>
            {
                // Hive's cast functions (Spark's SPARK-16730 aliases)
                return Err(QuarryError::Analysis(format!(
                    "Function {name} accepts only one argument"
                )));
            }
            "date" | "int" | "bigint" | "string" | "double" | "boolean" | "timestamp" | "float"
            | "binary" | "smallint" | "tinyint"
                if bound.len() == 1 =>
            {
                let to = parse_type_name(&name)?;
                let x = bound
                    .into_iter()
                    .next()
                    .ok_or_else(|| QuarryError::Internal("cast fn".into()))?;
                return cast_to(x, &to);
            }
            _ => {}
        }
        // concat_ws(sep, ...) with array<string> arguments: their elements are joined too
        // (Spark's ConcatWs), NULL elements and NULL arrays skipped like NULL strings
        if name == "concat_ws"
            && bound.len() > 1
            && bound[1..]
                .iter()
                .any(|a| matches!(a.data_type(), DataType::List(_)))
        {
            let parts: Vec<String> = bound[1..]
                .iter()
                .enumerate()
                .map(|(k, a)| match a.data_type() {
                    DataType::List(_) => format!("coalesce(${}, array())", k + 2),
                    _ => format!("array(${})", k + 2),
                })
                .collect();
            let template = format!("array_join(concat({}), $1)", parts.join(", "));
            let text = expand_template(&template, &args);
            let e = crate::parser::parse_expression(&text)?;
            return self.bind_inner(&e, cx);
        }
        match ScalarFunc::lookup(&name) {
            Some(func @ ScalarFunc::Math(crate::functions::math::MathFunc::Rand { .. })) => {
                if bound.len() > 1 {
                    return Err(QuarryError::Analysis(format!(
                        "[WRONG_NUM_ARGS.WITHOUT_SUGGESTION] The `{name}` requires [0, 1] parameters but the actual number is {}.",
                        bound.len()
                    )));
                }
                // Spark's Rand/Randn: the seed is an int or a bigint (a smaller integer
                // widens to int) or NULL, never a decimal, float or string
                if let Some(seed) = bound.first() {
                    let t = seed.data_type();
                    if !(crate::types::is_integer(&t) || t == DataType::Null) {
                        return Err(QuarryError::Analysis(format!(
                            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{name}({seed})\" due to data type mismatch: Parameter 1 requires the (\"INT\" or \"BIGINT\") type, however \"{seed}\" has the type \"{}\".",
                            crate::types::type_name(&t).to_ascii_uppercase()
                        )));
                    }
                }
                // a seeded call gets its own stream id: each call's values continue
                // from batch to batch, and two calls with one seed agree row by row
                let seeded = !bound.is_empty();
                let site = self.cte_rand_site();
                let mut e = scalar_call(func, bound)?;
                if let Expr::Function { args, .. } = &mut e {
                    match (seeded, site) {
                        (true, None) => args.push(Expr::Literal(ScalarValue::from_i64(
                            crate::functions::math::new_random_stream() as i64,
                        ))),
                        (true, Some((_, stream))) => {
                            args.push(Expr::Literal(ScalarValue::from_i64(stream)))
                        }
                        // in a CTE: the site's seed and stream, and a third argument
                        // that marks the seed as not the user's (not shown)
                        (false, Some((seed, stream))) => args.extend([
                            Expr::Literal(ScalarValue::from_i64(seed)),
                            Expr::Literal(ScalarValue::from_i64(stream)),
                            Expr::Literal(ScalarValue::from_i64(1)),
                        ]),
                        (false, None) => {}
                    }
                }
                Ok(e)
            }
            // Spark's NullIf is `IF(a = b, NULL, a)`: the comparison in the two
            // arguments' common type, the value of `a`'s own type
            Some(func @ ScalarFunc::NullIf) if bound.len() == 2 => {
                let t = bound[0].data_type();
                let e = scalar_call(func, bound)?;
                if e.data_type() == t || t == DataType::Null {
                    Ok(e)
                } else {
                    cast_to(e, &t)
                }
            }
            Some(func) => scalar_call(func, bound),
            None => {
                // functions composed of others above, whose guards took no other count
                let arity = [
                    ("nvl2", "3"),
                    ("constant_or_null", "at least 2"),
                    ("isnull", "1"),
                    ("isnotnull", "1"),
                    ("left", "2"),
                    ("right", "2"),
                    ("try_make_interval", "[0, 7]"),
                ];
                if let Some((_, n)) = arity.iter().find(|(f, _)| *f == name) {
                    return Err(QuarryError::Analysis(format!(
                        "[WRONG_NUM_ARGS] The `{name}` requires {n} parameters but the actual number is {}",
                        bound.len()
                    )));
                }
                let known = [
                    "lower",
                    "upper",
                    "substring",
                    "concat",
                    "trim",
                    "length",
                    "coalesce",
                    "round",
                    "year",
                    "month",
                    "date_trunc",
                    "date_add",
                    "datediff",
                    "to_date",
                    "count",
                    "sum",
                    "avg",
                    "min",
                    "max",
                    "median",
                    "percentile_approx",
                ];
                let hint = crate::catalog::did_you_mean(&name, known.iter().copied());
                Err(QuarryError::Analysis(format!(
                    "[UNRESOLVED_ROUTINE] Cannot resolve function `{name}` on search path [`system`.`builtin`]{hint}"
                )))
            }
        }
    }
}

/// The output column name Spark gives an aggregate call, e.g. `count(1)`, `sum(x)`.
/// `first(x) IGNORE NULLS` (also `last`, `first_value`, `last_value`, `any_value`; RESPECT
/// NULLS) as Spark reads it: the call with its `ignoreNulls` argument, `first(x, true)`.
/// Errors: the clause on any other function (Spark allows it on these only), or with the
/// argument given as well.
fn with_null_treatment(
    f: &ast::Function,
    name: &str,
    nt: &ast::NullTreatment,
) -> Result<ast::Function> {
    if !matches!(
        name,
        "first" | "first_value" | "last" | "last_value" | "any_value"
    ) {
        return Err(QuarryError::Analysis(format!(
            "[INVALID_SQL_SYNTAX] {nt} is not allowed for the function `{name}` (only first, last, first_value, last_value and any_value, or window functions)"
        )));
    }
    let mut out = f.clone();
    out.null_treatment = None;
    let ast::FunctionArguments::List(list) = &mut out.args else {
        return Err(QuarryError::Analysis(format!("`{name}` needs an argument")));
    };
    if list.args.len() != 1 {
        return Err(QuarryError::Analysis(format!(
            "[INVALID_SQL_SYNTAX] `{name}` takes {nt} or its ignoreNulls argument, not both"
        )));
    }
    let ignore = matches!(nt, ast::NullTreatment::IgnoreNulls);
    list.args
        .push(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(
            ast::Expr::Value(ast::Value::Boolean(ignore).into()),
        )));
    Ok(out)
}

/// Spark 4's `listagg(x [, delimiter]) [WITHIN GROUP (ORDER BY x [ASC|DESC])]` (and its
/// alias `string_agg`): the non-NULL values of `x` joined by the delimiter (default the
/// empty string), NULL when there is none; `DISTINCT` joins each value once. Read as
/// `CASE WHEN count(x) = 0 THEN NULL ELSE array_join(collect_list(x), delimiter) END`
/// (`collect_set` for DISTINCT; sorted for an ORDER BY on `x` itself). Errors: more
/// than two arguments, and not supported for an ORDER BY on another expression.
fn listagg(f: &ast::Function, name: &str) -> Result<ast::Expr> {
    // DuckDB's and PostgreSQL's `string_agg(x, ',' ORDER BY y)`: as WITHIN GROUP
    let (f, inner_order) = split_arg_order(f);
    let order: &[ast::OrderByExpr] = match (inner_order.is_empty(), f.within_group.is_empty()) {
        (true, _) => &f.within_group,
        (false, true) => &inner_order,
        (false, false) => {
            return Err(QuarryError::Analysis(format!(
                "{name} takes an ORDER BY inside its parentheses or WITHIN GROUP, not both"
            )))
        }
    };
    let f = &f;
    let ast::FunctionArguments::List(list) = &f.args else {
        return Err(QuarryError::Analysis(format!(
            "[WRONG_NUM_ARGS] `{name}` requires 1 or 2 parameters but the actual number is 0"
        )));
    };
    let args: Vec<ast::Expr> = list
        .args
        .iter()
        .map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(e.clone()),
            other => Err(QuarryError::NotSupported(format!(
                "{name} argument {other}"
            ))),
        })
        .collect::<Result<_>>()?;
    if args.is_empty() || args.len() > 2 || !list.clauses.is_empty() {
        return Err(QuarryError::Analysis(format!(
            "[WRONG_NUM_ARGS] `{name}` requires 1 or 2 parameters but the actual number is {}",
            args.len()
        )));
    }
    let x = args[0].clone();
    // the delimiter is a constant (Spark's listagg requires it foldable)
    if let Some(d) = args.get(1) {
        let names_a_column = ast::visit_expressions(d, |e| match e {
            ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_) => {
                std::ops::ControlFlow::Break(())
            }
            _ => std::ops::ControlFlow::Continue(()),
        });
        if names_a_column.is_break() {
            return Err(QuarryError::Analysis(format!(
                "[DATATYPE_MISMATCH.NON_FOLDABLE_INPUT] the delimiter of `{name}` must be a constant, not {d}"
            )));
        }
    }
    let delimiter = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| ast::Expr::Value(ast::Value::SingleQuotedString(String::new()).into()));
    let distinct = matches!(
        list.duplicate_treatment,
        Some(ast::DuplicateTreatment::Distinct)
    );
    // a call of `fname` on `args`, keeping the FILTER clause only on aggregates
    let call = |fname: &str, args: Vec<ast::Expr>, aggregate: bool| {
        let mut c = f.clone();
        c.name = ast::ObjectName::from(vec![ast::Ident::new(fname)]);
        c.within_group = vec![];
        c.null_treatment = None;
        if !aggregate {
            // FILTER and OVER stay on the aggregates (`collect_list(x) OVER w`)
            c.filter = None;
            c.over = None;
        }
        c.args = ast::FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|a| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a)))
                .collect(),
            clauses: vec![],
        });
        ast::Expr::Function(c)
    };
    let mut values = call(
        if distinct {
            "collect_set"
        } else {
            "collect_list"
        },
        vec![x.clone()],
        true,
    );
    match order {
        [] => {}
        [key] if key.expr == x => {
            let descending = matches!(key.options.sort, Some(ast::OrderBySort::Desc));
            let order = ast::Expr::Value(ast::Value::Boolean(!descending).into());
            values = call("sort_array", vec![values, order], false);
        }
        _ if distinct => {
            return Err(QuarryError::NotSupported(format!(
                "{name}(DISTINCT ...) ordered by other than the aggregated expression"
            )))
        }
        keys => {
            // collect_list(x ORDER BY keys): an ordered aggregate
            if let ast::Expr::Function(c) = &mut values {
                if let ast::FunctionArguments::List(l) = &mut c.args {
                    l.clauses = vec![ast::FunctionArgumentClause::OrderBy(keys.to_vec())];
                }
            }
        }
    }
    let count = call("count", vec![x], true);
    Ok(ast::Expr::Case {
        case_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        end_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions: vec![ast::CaseWhen {
            condition: ast::Expr::BinaryOp {
                left: Box::new(count),
                op: ast::BinaryOperator::Eq,
                right: Box::new(ast::Expr::Value(
                    ast::Value::Number("0".into(), false).into(),
                )),
            },
            result: ast::Expr::Value(ast::Value::Null.into()),
        }],
        else_result: Some(Box::new(call("array_join", vec![values, delimiter], false))),
    })
}

/// Put `over` on every aggregate call in `e` (the percentiles' rewrites, as window
/// functions).
fn set_over(e: &mut ast::Expr, over: &ast::WindowType) {
    use sqlparser::ast::{VisitMut, VisitorMut};
    struct V<'a>(&'a ast::WindowType);
    impl VisitorMut for V<'_> {
        type Break = ();
        fn post_visit_expr(&mut self, e: &mut ast::Expr) -> std::ops::ControlFlow<()> {
            if let ast::Expr::Function(f) = e {
                if AggFunc::is_aggregate_name(&function_name(f)) && f.over.is_none() {
                    f.over = Some(self.0.clone());
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = e.visit(&mut V(over));
}

/// `percentile_cont(p) WITHIN GROUP (ORDER BY x [ASC|DESC])` (Spark 4's ordered-set
/// aggregate): `percentile(x, p)`, which interpolates the same way; descending order is
/// `percentile(x, 1 - p)`. `percentile_disc(p) WITHIN GROUP (ORDER BY x [DESC])`: the
/// first value in that order whose cumulative distribution reaches `p` (the SQL
/// standard's, as Spark 3.5 after SPARK-44871): the `max(1, ceil(p * n))`-th of the `n`
/// non-NULL values, NULL when there are none; a FILTER applies to it. Errors: WITHIN
/// GROUP on another function (not supported for mode and listagg; an error for the
/// rest), more than one ORDER BY key, or a percentage that is not a number literal in
/// [0, 1].
fn within_group(f: &ast::Function, name: &str, legacy_disc: bool) -> Result<ast::Expr> {
    match name {
        "percentile_cont" | "percentile_disc" => {}
        "mode" => {
            return Err(QuarryError::NotSupported(format!(
                "{name}(...) WITHIN GROUP (ORDER BY ...)"
            )))
        }
        _ => {
            return Err(QuarryError::Analysis(format!(
                "[INVALID_WITHIN_GROUP_EXPRESSION] WITHIN GROUP (ORDER BY ...) is not allowed for the function `{name}`"
            )))
        }
    }
    let [key] = f.within_group.as_slice() else {
        return Err(QuarryError::Analysis(format!(
            "[INVALID_WITHIN_GROUP_EXPRESSION] {name} takes one ORDER BY expression in WITHIN GROUP"
        )));
    };
    let ast::FunctionArguments::List(list) = &f.args else {
        return Err(QuarryError::Analysis(format!("{name} needs a percentage")));
    };
    if matches!(
        list.duplicate_treatment,
        Some(ast::DuplicateTreatment::Distinct)
    ) {
        return Err(QuarryError::Analysis(format!(
            "[INVALID_WITHIN_GROUP_EXPRESSION.DISTINCT_UNSUPPORTED] The function `{name}` does not support DISTINCT with WITHIN GROUP"
        )));
    }
    if list.args.len() != 1 {
        return Err(QuarryError::Analysis(format!(
            "[WRONG_NUM_ARGS.WITHOUT_SUGGESTION] The `{name}` requires 1 parameters but the actual number is {}",
            list.args.len()
        )));
    }
    let p = match list.args.as_slice() {
        [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Value(v)))] => {
            match &v.value {
                ast::Value::Number(n, _) => n.parse::<f64>().ok(),
                _ => None,
            }
        }
        _ => None,
    }
    .filter(|p| (0.0..=1.0).contains(p))
    .ok_or_else(|| {
        QuarryError::Analysis(format!(
            "[INVALID_PARAMETER_VALUE] {name} takes one percentage, a number between 0 and 1, not ({})",
            sql_list(&list.args)
        ))
    })?;
    if name == "percentile_disc" {
        if matches!(key.options.sort, Some(ast::OrderBySort::Using(_))) {
            return Err(QuarryError::NotSupported(format!(
                "{name} WITHIN GROUP (ORDER BY ... USING ...)"
            )));
        }
        let desc = matches!(key.options.sort, Some(ast::OrderBySort::Desc));
        let filter = match &f.filter {
            Some(w) => format!(" FILTER (WHERE {w})"),
            None => String::new(),
        };
        let k = &key.expr;
        let sorted = if desc {
            format!("reverse(array_sort(collect_list({k}){filter}))")
        } else {
            format!("array_sort(collect_list({k}){filter})")
        };
        let position = if legacy_disc {
            format!("floor({p} * (count({k}){filter} - 1)) + 1")
        } else {
            format!("greatest(1, ceil({p} * count({k}){filter}))")
        };
        let text = format!(
            "CASE WHEN count({k}){filter} = 0 THEN NULL ELSE element_at({sorted}, CAST({position} AS INT)) END"
        );
        return crate::parser::parse_expression(&text);
    }
    let p = match key.options.sort {
        Some(ast::OrderBySort::Desc) => 1.0 - p,
        Some(ast::OrderBySort::Using(_)) => {
            return Err(QuarryError::NotSupported(format!(
                "{name} WITHIN GROUP (ORDER BY ... USING ...)"
            )))
        }
        _ => p,
    };
    let mut out = f.clone();
    out.name = ast::ObjectName::from(vec![ast::Ident::new("percentile")]);
    out.within_group = vec![];
    out.args = ast::FunctionArguments::List(ast::FunctionArgumentList {
        duplicate_treatment: None,
        args: vec![
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(key.expr.clone())),
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Value(
                ast::Value::Number(format!("{p}"), false).into(),
            ))),
        ],
        clauses: vec![],
    });
    Ok(ast::Expr::Function(out))
}

/// Resolve an aggregate call on bound arguments: the function (constant parameters
/// folded in), the arguments it evaluates (the value argument cast as the function
/// needs), and the result type.
pub fn resolve_aggregate(name: &str, bound: Vec<Expr>) -> Result<(AggFunc, Vec<Expr>, DataType)> {
    let consts: Vec<Option<f64>> = bound
        .iter()
        .map(|b| match b {
            Expr::Literal(v) if !v.is_null() => v.cast_to(&DataType::Float64).ok().and_then(|c| {
                c.0.as_any()
                    .downcast_ref::<arrow::array::Float64Array>()
                    .map(|a| a.value(0))
            }),
            _ => None,
        })
        .collect();
    let types: Vec<DataType> = bound.iter().map(|b| b.data_type()).collect();
    let (func, cast_type, result) = AggFunc::resolve(name, &types, &consts)?;
    // only the value arguments are evaluated; constant parameters are in `func`
    let mut args_b: Vec<Expr> = bound.into_iter().take(AggFunc::value_args(name)).collect();
    if let Some(t) = &cast_type {
        for a in &mut args_b {
            *a = cast_to(a.clone(), t)?;
        }
    }
    Ok((func, args_b, result))
}

fn agg_name(f: &ast::Function) -> String {
    let name = function_name(f);
    let args = match &f.args {
        ast::FunctionArguments::List(l) => sql_list(&l.args),
        _ => String::new(),
    };
    if name == "count" && (args == "*" || args.is_empty()) {
        return "count(1)".into();
    }
    let distinct = matches!(&f.args, ast::FunctionArguments::List(l) if matches!(l.duplicate_treatment, Some(ast::DuplicateTreatment::Distinct)));
    format!("{name}({}{args})", if distinct { "DISTINCT " } else { "" })
}

/// Spark's `weekday(x)`: the day of the week of a date or timestamp, 0 = Monday ... 6 =
/// Sunday (`dayofweek` counts 1 = Sunday).
fn weekday_of(x: Expr) -> Result<Expr> {
    let dow = scalar_call(ScalarFunc::DayOfWeek, vec![x])?;
    let shifted = binary(
        BinOp::Plus,
        dow,
        Expr::Literal(ScalarValue::from_i32(5)),
        false,
    )?;
    binary(
        BinOp::Modulo,
        shifted,
        Expr::Literal(ScalarValue::from_i32(7)),
        false,
    )
}

/// `ceil(x[, scale])` / `floor(x[, scale])`: with a scale, Spark's RoundCeil/RoundFloor
/// (a decimal, rounded toward +/- infinity at `scale` digits). Errors: a scale that is
/// not an integer constant (Spark's `_LEGACY_ERROR_TEMP_1100`).
fn ceil_floor_call(f: ScalarFunc, args: Vec<Expr>) -> Result<Expr> {
    if let [_, scale] = args.as_slice() {
        let ok = matches!(scale, Expr::Literal(v) if !v.is_null() && is_integer(v.data_type()));
        if !ok {
            return Err(QuarryError::Analysis(format!(
                "[_LEGACY_ERROR_TEMP_1100] The 'scale' parameter of function '{}' needs to be a int literal.",
                f.name()
            )));
        }
    }
    scalar_call(f, args)
}

/// `EXTRACT(field FROM source)` / `date_part('field', source)`, as Spark's
/// `Extract`/`DatePart`: `field` is one of Spark's names or abbreviations (`year`, `y`,
/// `yrs`, `dow_iso`, `secs`, ...). From a date, timestamp or string: the calendar field
/// (int), `second` with its fraction as `decimal(8,6)`. From a year-month interval:
/// `year` (int) and `month` (tinyint); from a day-time interval: `day` (int), `hour`,
/// `minute` (tinyint) and `second` (`decimal(8,6)`), each with the interval's sign.
/// Errors: another field, `[INVALID_EXTRACT_FIELD]`.
fn extract_field(field: &str, src: Expr) -> Result<Expr> {
    use crate::functions::interval::{DAY_TIME, YEAR_MONTH};
    let lower = field.to_ascii_lowercase();
    let t = src.data_type();
    let invalid = |src: &Expr| {
        QuarryError::Analysis(format!(
            "[INVALID_EXTRACT_FIELD] Cannot extract {field} from {src}"
        ))
    };
    let lit = |v: i64| Expr::Literal(ScalarValue::from_i64(v));
    // seconds with microseconds, from microseconds within the minute
    let seconds = |micros: Expr| -> Result<Expr> {
        let d = cast_to(micros, &DataType::Decimal128(20, 0))?;
        let q = binary(BinOp::Divide, d, lit(1_000_000), false)?;
        cast_to(q, &DataType::Decimal128(8, 6))
    };
    if t == YEAR_MONTH || t == DAY_TIME {
        let raw = Expr::Function {
            func: ScalarFunc::Interval(crate::functions::interval::IntervalFunc::ToRaw),
            args: vec![src.clone()],
            data_type: DataType::Int64,
        };
        let div = |e: Expr, d: i64| binary(BinOp::IntDivide, e, lit(d), false);
        let rem = |e: Expr, d: i64| binary(BinOp::Modulo, e, lit(d), false);
        let part = match (t == YEAR_MONTH, lower.as_str()) {
            (true, "year" | "y" | "years" | "yr" | "yrs") => {
                cast_to(div(raw, 12)?, &DataType::Int32)?
            }
            (true, "month" | "mon" | "mons" | "months") => cast_to(rem(raw, 12)?, &DataType::Int8)?,
            (false, "day" | "d" | "days") => cast_to(div(raw, 86_400_000_000)?, &DataType::Int32)?,
            (false, "hour" | "h" | "hours" | "hr" | "hrs") => {
                cast_to(rem(div(raw, 3_600_000_000)?, 24)?, &DataType::Int8)?
            }
            (false, "minute" | "m" | "min" | "mins" | "minutes") => {
                cast_to(rem(div(raw, 60_000_000)?, 60)?, &DataType::Int8)?
            }
            (false, "second" | "s" | "sec" | "seconds" | "secs") => seconds(rem(raw, 60_000_000)?)?,
            _ => return Err(invalid(&src)),
        };
        return Ok(part);
    }
    if crate::functions::interval::is_interval(&t) {
        return Err(QuarryError::NotSupported(format!(
            "EXTRACT({field} FROM a calendar interval)"
        )));
    }
    match lower.as_str() {
        "second" | "s" | "sec" | "seconds" | "secs" => {
            let micros = scalar_call(
                ScalarFunc::Date(crate::functions::datetime::DateFunc::Microsecond),
                vec![src],
            )?;
            seconds(micros)
        }
        "dayofweek_iso" | "dow_iso" | "isodow" => {
            // 1 = Monday ... 7 = Sunday
            binary(
                BinOp::Plus,
                weekday_of(src)?,
                Expr::Literal(ScalarValue::from_i32(1)),
                false,
            )
        }
        "yearofweek" => {
            // the ISO week-numbering year: the year of the week's Thursday
            let date = cast_to(src, &DataType::Date32)?;
            let back = binary(
                BinOp::Minus,
                Expr::Literal(ScalarValue::from_i32(3)),
                weekday_of(date.clone())?,
                false,
            )?;
            let thursday = scalar_call(ScalarFunc::DateAdd, vec![date, back])?;
            scalar_call(ScalarFunc::Year, vec![thursday])
        }
        _ => match date_field_func(&lower) {
            Some(f) if !not_a_datetime_source(&t) => scalar_call(f, vec![src]),
            _ => Err(invalid(&src)),
        },
    }
}

/// A source type EXTRACT does not read as a date or timestamp (numbers, booleans,
/// binaries, nested values).
fn not_a_datetime_source(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Boolean
            | DataType::Binary
            | DataType::List(_)
            | DataType::Struct(_)
            | DataType::Map(..)
    ) || crate::types::is_numeric(t)
}

/// The function `EXTRACT(field FROM x)` and `date_part('field', x)` call for a field
/// name (any case), with Spark's abbreviations; `None` for an unknown field.
fn date_field_func(field: &str) -> Option<ScalarFunc> {
    Some(match field.to_ascii_lowercase().as_str() {
        "year" | "y" | "years" | "yr" | "yrs" => ScalarFunc::Year,
        "quarter" | "qtr" => ScalarFunc::Quarter,
        "month" | "mon" | "mons" | "months" => ScalarFunc::Month,
        "day" | "d" | "days" => ScalarFunc::Day,
        "dayofweek" | "dow" => ScalarFunc::DayOfWeek,
        "dayofyear" | "doy" => ScalarFunc::DayOfYear,
        "hour" | "h" | "hours" | "hr" | "hrs" => ScalarFunc::Hour,
        "minute" | "m" | "min" | "mins" | "minutes" => ScalarFunc::Minute,
        "second" | "s" | "sec" | "seconds" | "secs" => ScalarFunc::Second,
        "week" | "w" | "weeks" => {
            ScalarFunc::Date(crate::functions::datetime::DateFunc::WeekOfYear)
        }
        _ => return None,
    })
}

/// Build a scalar function call, casting arguments to its signature.
pub fn scalar_call(func: ScalarFunc, args: Vec<Expr>) -> Result<Expr> {
    // the statement's one instant (Spark's ComputeCurrentTime)
    if args.is_empty() && matches!(func, ScalarFunc::CurrentTimestamp | ScalarFunc::CurrentDate) {
        let now = super::statement_now();
        let value: arrow::array::ArrayRef = if func == ScalarFunc::CurrentDate {
            Arc::new(arrow::array::Date32Array::from(vec![
                now.div_euclid(86_400_000_000) as i32,
            ]))
        } else {
            Arc::new(arrow::array::TimestampMicrosecondArray::from(vec![now]))
        };
        return Ok(Expr::Literal(ScalarValue(value)));
    }
    // an interval's type name has its fields (`interval day`), which only the binder knows
    if let (ScalarFunc::TypeOf, [x]) = (func, args.as_slice()) {
        if let Some(q) = super::interval::fields_of(x) {
            return Ok(Expr::Literal(ScalarValue::from_str(&q.type_name())));
        }
    }
    // Spark's concat of arrays joins them
    let func = match func {
        ScalarFunc::Concat
            if !args.is_empty()
                && args
                    .iter()
                    .any(|a| matches!(a.data_type(), DataType::List(_)))
                && args
                    .iter()
                    .all(|a| matches!(a.data_type(), DataType::List(_) | DataType::Null)) =>
        {
            ScalarFunc::Coll(CollectionFunc::ArrayConcat)
        }
        // and its reverse of an array reverses the elements (the string function would
        // reverse the array's text)
        ScalarFunc::Reverse
            if args.len() == 1 && matches!(args[0].data_type(), DataType::List(_)) =>
        {
            ScalarFunc::Coll(CollectionFunc::ArrayReverse)
        }
        f => f,
    };
    let types: Vec<DataType> = args.iter().map(|a| a.data_type()).collect();
    let (arg_types, ret) = func.signature(&types, &|ts| wider_of(ts))?;
    // an array, map or struct is never implicitly a scalar (Spark's implicit casts have
    // no complex-to-string rule): upper(array('a')) is a type error, not the upper case
    // of the array's text
    let complex = |t: &DataType| {
        matches!(
            t,
            DataType::List(_) | DataType::LargeList(_) | DataType::Map(..) | DataType::Struct(_)
        )
    };
    for (k, (a, t)) in args.iter().zip(arg_types.iter()).enumerate() {
        if complex(&a.data_type()) && !complex(t) && *t != DataType::Null {
            return Err(QuarryError::Analysis(format!(
                "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{}\": parameter {} requires the \"{}\" type, however `{a}` has the type \"{}\"",
                func.name(),
                k + 1,
                crate::types::type_name(t).to_uppercase(),
                crate::types::type_name(&a.data_type()).to_uppercase()
            )));
        }
    }
    let args: Vec<Expr> = args
        .into_iter()
        .zip(arg_types.iter())
        .map(|(a, t)| cast_to(a, t))
        .collect::<Result<_>>()?;
    // Spark's result type of rounding a decimal depends on the constant scale argument
    let ret = match (func, &ret) {
        (
            ScalarFunc::Round
            | ScalarFunc::Math(crate::functions::math::MathFunc::Bround)
            | ScalarFunc::Ceil
            | ScalarFunc::Floor,
            DataType::Decimal128(p, s),
        ) if args.len() == 2 || matches!(func, ScalarFunc::Round | ScalarFunc::Math(_)) => {
            let scale = match args.get(1) {
                None => Some(0),
                Some(Expr::Literal(v)) => v.as_i64(),
                _ => None,
            };
            match scale {
                Some(d) => crate::functions::scalar::rounded_decimal_type(*p, *s, d),
                None => ret,
            }
        }
        // arrays_zip's fields take the names of column arguments (Spark's), else the
        // argument's position
        (ScalarFunc::Coll(CollectionFunc::ArraysZip), DataType::List(f)) => match f.data_type() {
            DataType::Struct(fields) => {
                let named: Vec<arrow::datatypes::Field> = fields
                    .iter()
                    .zip(&args)
                    .map(|(fd, a)| match a {
                        Expr::Column(c) => fd.as_ref().clone().with_name(c.name.clone()),
                        _ => fd.as_ref().clone(),
                    })
                    .collect();
                crate::types::list_type(DataType::Struct(named.into()))
            }
            _ => ret,
        },
        _ => ret,
    };
    Ok(Expr::Function {
        func,
        args,
        data_type: ret,
    })
}

/// A duration argument of `window(...)` in microseconds: a string literal such as
/// `'10 minutes'` or `'1 hour 30 minutes'` (Spark's `IntervalUtils.stringToInterval`
/// units, an optional leading `interval`). Errors: not a string literal, months or
/// years (Spark: intervals greater than a month are not supported), a negative value
/// where `positive`.
fn window_duration(e: &ast::Expr, what: &str, positive: bool) -> Result<i64> {
    let text = match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => s.clone(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    let trimmed = text.trim();
    let body = match trimmed.get(..9) {
        Some(p) if p.eq_ignore_ascii_case("interval ") => &trimmed[9..],
        _ => trimmed,
    };
    if body.is_empty() {
        return Err(QuarryError::Analysis(format!(
            "[DATATYPE_MISMATCH] The {what} of window() must be a string literal such as '10 minutes', got {e}"
        )));
    }
    use crate::functions::interval::{literal_from_units, Value};
    match literal_from_units(body)?.0 {
        Value::Months(_) => Err(QuarryError::Analysis(format!(
            "[DATATYPE_MISMATCH] The {what} of window() cannot have months or years (Spark: intervals greater than a month are not supported): '{text}'"
        ))),
        Value::Micros(m) if positive && m <= 0 => Err(QuarryError::Analysis(format!(
            "[DATATYPE_MISMATCH] The {what} of window() must be greater than 0, got '{text}'"
        ))),
        Value::Micros(m) => Ok(m),
    }
}

/// The durations of `window(time, windowDuration[, slideDuration[, startTime]])` in
/// microseconds: (window, slide, start). Errors: arity, a start time not below the
/// slide, durations as [`window_duration`].
fn time_window_durations(args: &[ast::Expr]) -> Result<(i64, i64, i64)> {
    check_arity("window", args.len(), 2, 4)?;
    let d = window_duration(&args[1], "window duration", true)?;
    let slide = match args.get(2) {
        Some(a) => window_duration(a, "slide duration", true)?,
        None => d,
    };
    let start = match args.get(3) {
        Some(a) => window_duration(a, "start time", false)?,
        None => 0,
    };
    if start.abs() >= slide {
        return Err(QuarryError::Analysis(format!(
            "[DATATYPE_MISMATCH] The absolute value of the start time of window() ({start} microseconds) must be less than the slide duration ({slide} microseconds)"
        )));
    }
    Ok((d, slide, start))
}

/// The latest window start at or before `time` (SQL, microseconds since the epoch):
/// `time` floored to the slide grid shifted by the start time (Spark 3.2+'s
/// `lastStart`, which floors a time before the epoch to the window below).
fn last_window_start(time: &ast::Expr, slide: i64, start: i64) -> String {
    let t = format!("unix_micros(CAST(({time}) AS TIMESTAMP))");
    format!("({t} - pmod({t} - ({start}), {slide}))")
}

/// `window(time, windowDuration[, slideDuration[, startTime]])`, Spark's TimeWindow, as
/// SQL: the struct `{start, end}` of the tumbling window holding `time` (windows of
/// `windowDuration` from the epoch shifted by `startTime`; start inclusive, end
/// exclusive). The SELECT that calls it also drops rows whose time is NULL (Spark's
/// TimeWindowing filter, added in `bind_select`). A sliding window (a slide other than
/// the duration) is not a scalar: `bind_select` generates its rows
/// ([`sliding_windows_sql`]) and the call reads that column; anywhere else it is "not
/// supported". Errors: as [`time_window_durations`].
fn time_window_sql(args: &[ast::Expr]) -> Result<String> {
    let (d, slide, start) = time_window_durations(args)?;
    if slide != d {
        return Err(QuarryError::NotSupported(
            "sliding windows (window(time, duration, slide) with a slide other than the duration) outside a SELECT's own expressions".into(),
        ));
    }
    let lo = last_window_start(&args[0], slide, start);
    Ok(format!(
        "named_struct('start', timestamp_micros({lo}), 'end', timestamp_micros({lo} + {d}))"
    ))
}

/// For a sliding `window(time, d, slide[, start])`: None for a tumbling one; else SQL
/// for the array of every window that holds `time`, as Spark's TimeWindowing expands
/// it: the `ceil(d / slide)` windows starting at the latest start and one slide apart
/// before it, those whose end is after `time` (NULL time: none).
pub(super) fn sliding_windows_sql(args: &[ast::Expr]) -> Result<Option<String>> {
    let (d, slide, start) = time_window_durations(args)?;
    if slide == d {
        return Ok(None);
    }
    let k = (d + slide - 1) / slide;
    let lo = last_window_start(&args[0], slide, start);
    let t = format!("CAST(({}) AS TIMESTAMP)", args[0]);
    Ok(Some(format!(
        "filter(transform(sequence(0, {last}), __qi -> named_struct('start', timestamp_micros({lo} - __qi * {slide}), 'end', timestamp_micros({lo} - __qi * {slide} + {d}))), __qw -> __qw.end > {t})",
        last = k - 1
    )))
}

impl Binder<'_> {
    /// The two sides of a comparison, as Spark's ApplyCharTypePadding makes them when
    /// one is a `CHAR(n)` column (padded to `n` as read): a string literal shorter than
    /// `n` is padded with spaces to `n`, and for a longer one the column is padded to the
    /// literal's length; of two CHAR columns of different lengths, the shorter is padded
    /// to the longer. So `c = 'a'` holds for a CHAR(5) value `'a    '`. Anything else is
    /// returned as it is.
    pub(super) fn char_padding(&self, l: Expr, r: Expr) -> Result<(Expr, Expr)> {
        let (lc, rc) = (self.char_length_of(&l), self.char_length_of(&r));
        Ok(match (lc, rc, literal_chars(&l), literal_chars(&r)) {
            (Some(a), Some(b), ..) if a < b => (pad_to(l, b)?, r),
            (Some(a), Some(b), ..) if a > b => (l, pad_to(r, a)?),
            (Some(n), None, _, Some(k)) if k < n => (l, pad_to(r, n)?),
            (Some(n), None, _, Some(k)) if k > n => (pad_to(l, k)?, r),
            (None, Some(n), Some(k), _) if k < n => (pad_to(l, n)?, r),
            (None, Some(n), Some(k), _) if k > n => (l, pad_to(r, k)?),
            _ => (l, r),
        })
    }

    /// The length `n` of a column read from a `CHAR(n)` table column.
    fn char_length_of(&self, e: &Expr) -> Option<usize> {
        match e {
            Expr::Column(c) => match self.char_columns.get(&c.id) {
                Some(crate::types::CharVarchar::Char(n)) => Some(*n),
                _ => None,
            },
            _ => None,
        }
    }

    /// Spark's element type check of `array_union`/`array_intersect`/`array_except`/
    /// `arrays_overlap` (two arrays, `BINARY_ARRAY_DIFF_TYPES`) and `array_remove` (an array and a value,
    /// `ARRAY_FUNCTION_DIFF_TYPES`), made before they are rewritten to other functions:
    /// a string and a value of another type have no common type there
    /// (findWiderTypeWithoutStringPromotion), so `array_union(array(1), array('a'))` is
    /// an error, never an array of strings; nor have a number and a boolean. NULL types
    /// and non-arrays pass (the rewritten call reports those).
    fn check_array_operands(&mut self, name: &str, args: &[ast::Expr], cx: &ExprCtx) -> Result<()> {
        use crate::functions::collections::{array_function_diff_types, string_against_other};
        use crate::types::element_type;
        let a = self.bind_inner(&args[0], cx)?.data_type();
        let b = self.bind_inner(&args[1], cx)?.data_type();
        let Some(ea) = element_type(&a) else {
            return Ok(());
        };
        // array_remove's second argument is a value; the others' are arrays
        let eb = if name == "array_remove" {
            &b
        } else {
            match element_type(&b) {
                Some(e) => e,
                None => return Ok(()),
            }
        };
        if *ea == DataType::Null
            || *eb == DataType::Null
            || (!string_against_other(ea, eb) && wider_type(ea, eb).is_ok())
        {
            return Ok(());
        }
        let call = format!("{name}({})", sql_list(args));
        if name == "array_remove" {
            return Err(array_function_diff_types(&call, name, &a, &b));
        }
        let upper = |t: &DataType| crate::types::type_name(t).to_uppercase();
        Err(QuarryError::Analysis(format!(
            "[DATATYPE_MISMATCH.BINARY_ARRAY_DIFF_TYPES] Cannot resolve \"{call}\" due to data type mismatch: Input to function `{name}` should have been two \"ARRAY\" with same element type, but it's [\"{}\", \"{}\"]",
            upper(&a),
            upper(&b)
        )))
    }
}

/// Items as SQL, comma-separated (a call's arguments in a message: `f(a, 'b')`).
fn sql_list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The length in characters of a string literal; `None` for anything else (NULL too).
fn literal_chars(e: &Expr) -> Option<usize> {
    match e {
        Expr::Literal(v) => v.as_str().map(|s| s.chars().count()),
        _ => None,
    }
}

/// `e` padded with spaces to `n` characters (a string literal at once, else
/// `CASE WHEN length(e) < n THEN rpad(e, n, ' ') ELSE e END`: a longer value is kept
/// whole, as Spark's StringRPad-based padding of a read value); a NULL or non-string
/// literal, or a literal already that long, is kept.
pub(super) fn pad_to(e: Expr, n: usize) -> Result<Expr> {
    if let Expr::Literal(v) = &e {
        return Ok(match v.as_str() {
            Some(s) if s.chars().count() < n => {
                Expr::Literal(ScalarValue::from_str(&format!("{s:<n$}")))
            }
            _ => e,
        });
    }
    let n_lit = Expr::Literal(ScalarValue::from_i32(i32::try_from(n).unwrap_or(i32::MAX)));
    let shorter = binary(
        BinOp::Lt,
        scalar_call(ScalarFunc::Length, vec![e.clone()])?,
        n_lit.clone(),
        false,
    )?;
    let padded = scalar_call(
        ScalarFunc::Rpad,
        vec![e.clone(), n_lit, Expr::Literal(ScalarValue::from_str(" "))],
    )?;
    make_case(vec![(shorter, padded)], Some(e))
}

/// The error for a higher-order function called without a lambda function where its
/// function argument goes (`transform(arr, 42)`), as Spark's analysis refuses it: the
/// last argument of these functions (the second and third of `aggregate`) must be a
/// lambda.
fn lambda_required(name: &str, args: &[ast::Expr]) -> QuarryError {
    let call = sql_list(args);
    let position = if name == "aggregate" || name == "reduce" {
        3
    } else {
        args.len().max(2)
    };
    match args.get(position - 1) {
        Some(a) => QuarryError::Analysis(format!(
            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{name}({call})\" due to data type mismatch: Parameter {position} of `{name}` requires a lambda function (x -> ...), however it is \"{a}\""
        )),
        None => QuarryError::Analysis(format!(
            "[WRONG_NUM_ARGS] `{name}` requires at least {position} parameters, its last a lambda function (x -> ...), but the actual number is {}",
            args.len()
        )),
    }
}

/// `template` with `$1`, `$2`, ... replaced by the arguments' SQL (parenthesized; a
/// lambda as written), in one pass, so an argument's own text is never substituted into.
fn expand_template(template: &str, args: &[ast::Expr]) -> String {
    let mut text = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().and_then(|d| d.to_digit(10))) {
            ('$', Some(d)) if d >= 1 && (d as usize) <= args.len() => {
                chars.next();
                match &args[d as usize - 1] {
                    l @ ast::Expr::Lambda(_) => text.push_str(&l.to_string()),
                    a => text.push_str(&format!("({a})")),
                }
            }
            _ => text.push(c),
        }
    }
    text
}

/// Spark 4's `try_make_interval` with 0 to 7 arguments: `make_interval`, NULL where it
/// would fail.
const TRY_MAKE_INTERVAL: [&str; 8] = [
    "try(make_interval())",
    "try(make_interval($1))",
    "try(make_interval($1, $2))",
    "try(make_interval($1, $2, $3))",
    "try(make_interval($1, $2, $3, $4))",
    "try(make_interval($1, $2, $3, $4, $5))",
    "try(make_interval($1, $2, $3, $4, $5, $6))",
    "try(make_interval($1, $2, $3, $4, $5, $6, $7))",
];

/// Spark functions that are other SQL: (arity, the SQL with `$1`, `$2`, ... for the
/// arguments). Lambda parameters are named `__q...` so that no column an argument names
/// is shadowed. Semantics as Spark's (`ArraySize`, `ArrayCompact`, `ArrayRemove`,
/// `ArrayUnion`/`Intersect`/`Except` with NULL elements compared as equal and duplicates
/// dropped, `ArraysOverlap`'s three-valued answer, `MapConcat` failing on a repeated
/// key as `map_from_arrays` does, `ZeroIfNull`, ...).
fn desugared(name: &str, nargs: usize) -> Option<(usize, &'static str)> {
    Some(match name {
        // convert_timezone([from_tz, ]to_tz, ts): the wall-clock time `ts` in `from_tz`
        // (the session's time zone when left out) as a wall-clock time in `to_tz`
        "convert_timezone" if nargs == 2 => (
            2,
            "from_utc_timestamp(to_utc_timestamp($2, current_timezone()), $1)",
        ),
        "convert_timezone" => (3, "from_utc_timestamp(to_utc_timestamp($3, $1), $2)"),
        "array_size" => (1, "CASE WHEN $1 IS NULL THEN NULL ELSE size($1) END"),
        "array_compact" => (1, "filter($1, __qx -> __qx IS NOT NULL)"),
        "array_remove" => (
            2,
            "CASE WHEN $2 IS NULL THEN NULL ELSE filter($1, __qx -> NOT (__qx <=> $2)) END",
        ),
        "array_append" => (2, "concat($1, array($2))"),
        "array_prepend" => (2, "concat(array($2), $1)"),
        "array_union" => (2, "array_distinct(concat($1, $2))"),
        "array_intersect" => (
            2,
            "CASE WHEN $2 IS NULL THEN NULL ELSE array_distinct(filter($1, __qx -> exists($2, __qy -> __qy <=> __qx))) END",
        ),
        "array_except" => (
            2,
            "CASE WHEN $2 IS NULL THEN NULL ELSE array_distinct(filter($1, __qx -> NOT (exists($2, __qy -> __qy <=> __qx)))) END",
        ),
        "arrays_overlap" => (
            2,
            "CASE WHEN $1 IS NULL OR $2 IS NULL THEN NULL \
             WHEN exists($1, __qx -> __qx IS NOT NULL AND array_contains($2, __qx)) THEN true \
             WHEN size($1) > 0 AND size($2) > 0 AND (exists($1, __qx -> __qx IS NULL) OR exists($2, __qx -> __qx IS NULL)) THEN NULL \
             ELSE false END",
        ),
        "map_contains_key" => (2, "array_contains(map_keys($1), $2)"),
        "map_concat" => (
            2,
            "map_from_arrays(concat(map_keys($1), map_keys($2)), concat(map_values($1), map_values($2)))",
        ),
        // the new keys are checked as map_from_arrays checks keys: NULL or repeated ones
        // are errors, as Spark's transform_keys
        "transform_keys" => (
            2,
            "map_from_arrays(zip_with(map_keys($1), map_values($1), $2), map_values($1))",
        ),
        // Spark's TryElementAt is element_at without ANSI errors, which is Quarry's
        // element_at (NULL past either end); index 0 is still INVALID_INDEX_OF_ZERO
        "try_element_at" => (2, "element_at($1, $2)"),
        // Spark 4's try_ forms: NULL where the function would fail
        "try_to_date" if nargs == 1 => (1, "try(to_date($1))"),
        "try_to_date" => (2, "try(to_date($1, $2))"),
        "try_make_timestamp" => (6, "try(make_timestamp($1, $2, $3, $4, $5, $6))"),
        "try_make_interval" if nargs <= 7 => (nargs, TRY_MAKE_INTERVAL[nargs]),
        "try_to_binary" if nargs == 1 => (1, "try(to_binary($1))"),
        "try_to_binary" => (2, "try(to_binary($1, $2))"),
        // Spark's Shuffle: a random permutation (rand() per element, sorted by it)
        "shuffle" => (
            1,
            "transform(array_sort(transform($1, __qx -> named_struct('r', rand(), 'v', __qx)), (__ql, __qr) -> CASE WHEN __ql.r < __qr.r THEN -1 WHEN __ql.r > __qr.r THEN 1 ELSE 0 END), __qy -> __qy.v)",
        ),
        // Spark 3.4's ArrayInsert: 1-based; a negative position counts from the end (-1
        // appends); past either end the gap is filled with NULLs; 0 is an error
        "array_insert" => (
            3,
            "CASE WHEN $1 IS NULL OR $2 IS NULL THEN NULL \
             WHEN $2 = 0 THEN raise_error('[INVALID_INDEX_OF_ZERO] The index 0 is invalid. An index shall be either < 0 or > 0 (the first element has index 1)') \
             WHEN $2 > 0 AND $2 <= size($1) + 1 THEN concat(slice($1, 1, $2 - 1), array($3), slice(concat($1, array($3)), $2, size($1) - $2 + 1)) \
             WHEN $2 > 0 THEN concat($1, array_repeat(element_at(array(NULL, $3), 1), $2 - size($1) - 1), array($3)) \
             WHEN size($1) + 2 + $2 >= 1 THEN concat(slice($1, 1, size($1) + 1 + $2), array($3), slice(concat($1, array($3)), size($1) + 2 + $2, -1 - $2)) \
             ELSE concat(array($3), array_repeat(element_at(array(NULL, $3), 1), -$2 - size($1) - 1), $1) END",
        ),
        "get" => (2, "$1[$2]"),
        "zeroifnull" => (1, "coalesce($1, 0)"),
        "dayname" => (1, "date_format($1, 'EEE')"),
        "monthname" => (1, "date_format($1, 'MMM')"),
        "nullifzero" => (1, "nullif($1, 0)"),
        // DuckDB's and DataFusion's range(start, stop[, step]) in an expression: the list
        // from start up to stop, stop excluded (an empty list where step never reaches it)
        "range" if nargs == 1 => (1, "range(0, $1)"),
        "range" if nargs == 2 => (
            2,
            "CASE WHEN $2 > $1 THEN sequence($1, $2 - 1) ELSE slice(sequence($1, $1), 1, 0) END",
        ),
        "range" => (
            3,
            "CASE WHEN ($3 > 0 AND $2 > $1) OR ($3 < 0 AND $2 < $1) THEN sequence($1, CASE WHEN $3 > 0 THEN $2 - 1 ELSE $2 + 1 END, $3) \
             WHEN $3 = 0 THEN raise_error('range: the step must not be 0') \
             ELSE slice(sequence($1, $1), 1, 0) END",
        ),
        // DuckDB's epoch(ts): seconds since 1970-01-01 00:00:00 as a double
        "epoch" => (1, "unix_micros(CAST($1 AS TIMESTAMP)) / 1000000D"),
        // DuckDB's regexp_full_match(s, pattern): the whole string matches
        "regexp_full_match" => (2, "$1 RLIKE concat('^(?:', $2, ')$')"),
        _ => return None,
    })
}

/// Whether every value of `from` fits `to` when `to` is a decimal (its integer digits
/// and its scale both large enough); true for any other `to`.
fn decimal_holds(from: &DataType, to: &DataType) -> bool {
    let DataType::Decimal128(p, s) = to else {
        return true;
    };
    let int_digits = i16::from(*p) - i16::from(*s);
    match from {
        DataType::Decimal128(p1, s1) => *s1 <= *s && i16::from(*p1) - i16::from(*s1) <= int_digits,
        DataType::Int8 => int_digits >= 3,
        DataType::Int16 => int_digits >= 5,
        DataType::Int32 => int_digits >= 10,
        DataType::Int64 => int_digits >= 20,
        DataType::Null => true,
        _ => false,
    }
}

/// A searched CASE with branches coerced to their common type.
pub fn make_case(whens: Vec<(Expr, Expr)>, els: Option<Expr>) -> Result<Expr> {
    let mut t = DataType::Null;
    for (_, r) in &whens {
        t = wider_type(&t, &r.data_type())?;
    }
    if let Some(e) = &els {
        t = wider_type(&t, &e.data_type())?;
    }
    let whens = whens
        .into_iter()
        .map(|(w, r)| Ok((cast_bool(w)?, cast_to(r, &t)?)))
        .collect::<Result<_>>()?;
    let els = match els {
        Some(e) => Some(Box::new(cast_to(e, &t)?)),
        None => None,
    };
    Ok(Expr::Case {
        whens,
        else_expr: els,
        data_type: t,
    })
}

/// Reject casts arrow cannot do (complex types), and a scalar to an array, struct or map
/// (Spark's Cast.canCast has no such cast; arrow's would wrap the value in a one-element
/// list); everything else follows arrow-cast.
fn check_cast(from: &DataType, to: &DataType) -> Result<()> {
    let complex_to_string = from.is_nested() && to == &DataType::Utf8;
    let bool_to_decimal = from == &DataType::Boolean && matches!(to, DataType::Decimal128(..));
    let scalar_to_nested = !from.is_nested() && to.is_nested();
    if from == &DataType::Null
        || complex_to_string
        || bool_to_decimal
        || (!scalar_to_nested && arrow::compute::can_cast_types(from, to))
    {
        Ok(())
    } else {
        Err(QuarryError::Analysis(format!(
            "[DATATYPE_MISMATCH.CAST_WITHOUT_SUGGESTION] cannot cast {} to {}",
            crate::types::type_name(from),
            crate::types::type_name(to)
        )))
    }
}

/// Replace grouping expressions by the Aggregate's group columns (largest match first),
/// then check that no input column is left outside an aggregate.
fn finish_grouped(e: Expr, agg: &AggState, clause: &str) -> Result<Expr> {
    let replaced = replace_groups(e, &agg.group);
    let input_ids: std::collections::HashSet<usize> =
        agg.input.cols.iter().map(|c| c.col.id).collect();
    let mut bad = None;
    replaced.visit(&mut |x| {
        if let Expr::Column(c) = x {
            if input_ids.contains(&c.id) && bad.is_none() {
                bad = Some(c.name.clone());
            }
        }
    });
    if let Some(name) = bad {
        return Err(QuarryError::Analysis(format!(
            "[MISSING_AGGREGATION] The non-aggregating expression `{name}` in {clause} is based on columns which are not participating in the GROUP BY clause; add it to GROUP BY or wrap it in an aggregate function such as first()"
        )));
    }
    Ok(replaced)
}

/// `pattern` (a string) with LIKE's escape character `esc` rewritten to `\` escapes, the
/// form Expr::Like reads. Spark takes one character; DuckDB also '' (no escape), NULL (a
/// NULL result) and a per-row escape. A constant escape's length is checked now, before
/// any row is read (INVALID_ESCAPE_CHAR).
fn escaped_like_pattern(pattern: Expr, esc: Expr) -> Result<Expr> {
    let esc = crate::optimizer::constant_folding::fold(cast_to(esc, &DataType::Utf8)?);
    if let Expr::Literal(v) = &esc {
        if let Some(s) = v.as_str() {
            crate::functions::strings::escape_char(s)?;
        }
    }
    let p = scalar_call(
        ScalarFunc::Str(crate::functions::strings::StringFunc::LikeEscape),
        vec![pattern, esc],
    )?;
    Ok(match p {
        Expr::Function { .. } => crate::optimizer::constant_folding::fold(p),
        p => p,
    })
}

/// Top-down, as Spark's ResolveAggregateFunctions: the largest subtree equal to a
/// grouping expression becomes its column, so `(x + y) * 1` under
/// `GROUPING SETS (x + y, x)` uses the `x + y` key, not `x` inside it.
pub(super) fn replace_groups(e: Expr, group: &[(Expr, Column)]) -> Expr {
    if let Some((_, c)) = group.iter().find(|(g, _)| *g == e) {
        return Expr::Column(c.clone());
    }
    e.map_children(&mut |x| replace_groups(x, group))
}

fn cast_single_column(
    plan: crate::plan::LogicalPlan,
    t: &DataType,
) -> Result<crate::plan::LogicalPlan> {
    let cols = plan.schema();
    if &cols[0].data_type == t {
        return Ok(plan);
    }
    let e = cast_to(Expr::Column(cols[0].clone()), t)?;
    let c = Column::new(cols[0].name.clone(), t.clone(), true);
    Ok(crate::plan::LogicalPlan::Project {
        input: Box::new(plan),
        exprs: vec![(e, c)],
    })
}

/// `parts` with a last name `columnN` (N a positive number, any case) renamed to Spark's
/// `colN`: PostgreSQL and DataFusion name the N-th column of a VALUES list `columnN`
/// where Spark names it `colN`. `None` for any other name.
fn values_column_alias(parts: &[String]) -> Option<Vec<String>> {
    let last = parts.last()?;
    let digits = last
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("column"))
        .and(last.get(6..))?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut alias = parts.to_vec();
    *alias.last_mut()? = format!("col{digits}");
    Some(alias)
}

/// Resolve `parts` as a column's struct fields: `t.s.f` is field `f` of column `t.s`
/// (used when no column `t.s.f` exists; the longest column prefix wins, as Spark).
fn resolve_fields(scope: &Scope, parts: &[String]) -> Result<Option<Expr>> {
    for k in (1..parts.len()).rev() {
        if let Some(c) = scope.resolve(&parts[..k])? {
            let mut e = Expr::Column(c);
            for f in &parts[k..] {
                e = get_field(e, f)?;
            }
            return Ok(Some(e));
        }
    }
    Ok(None)
}

/// `e.name`: a field of a struct (names match case-insensitively, as Spark's default).
pub fn get_field(e: Expr, name: &str) -> Result<Expr> {
    let DataType::Struct(fields) = e.data_type() else {
        return Err(QuarryError::Analysis(format!(
            "[INVALID_EXTRACT_BASE_FIELD_TYPE] Can't extract a value from {e}: need a struct type but got {}",
            crate::types::type_name(&e.data_type())
        )));
    };
    let Some(i) = fields
        .iter()
        .position(|f| f.name().eq_ignore_ascii_case(name))
    else {
        return Err(QuarryError::Analysis(format!(
            "[FIELD_NOT_FOUND] No such struct field `{name}` in {}",
            fields
                .iter()
                .map(|f| format!("`{}`", f.name()))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let t = fields[i].data_type().clone();
    Ok(Expr::Function {
        func: ScalarFunc::Coll(CollectionFunc::GetField(i)),
        args: vec![e],
        data_type: t,
    })
}

/// `struct(a, b AS n)`: field names from aliases, then column names, else `col1`,
/// `col2`, ... by position (Spark's CreateStruct naming).
pub fn make_struct(values: Vec<(Expr, Option<String>)>) -> Expr {
    let mut fields = vec![];
    let mut args = vec![];
    for (i, (e, name)) in values.into_iter().enumerate() {
        let name = name.unwrap_or_else(|| match &e {
            Expr::Column(c) => c.name.clone(),
            Expr::Function {
                func: ScalarFunc::Coll(CollectionFunc::GetField(j)),
                args,
                ..
            } => match args[0].data_type() {
                DataType::Struct(fs) => fs[*j].name().clone(),
                _ => format!("col{}", i + 1),
            },
            _ => format!("col{}", i + 1),
        });
        fields.push(arrow::datatypes::Field::new(name, e.data_type(), true));
        args.push(e);
    }
    Expr::Function {
        func: ScalarFunc::Coll(CollectionFunc::MakeStruct),
        args,
        data_type: DataType::Struct(fields.into()),
    }
}

/// A `SIMILAR TO` pattern as the regular expression it matches with: the pattern is a
/// regular expression that must match the whole string, as DuckDB and DataFusion read
/// it (PostgreSQL's `%`/`_` wildcards are not translated).
fn similar_to_regex(p: &str) -> String {
    format!("^(?s:{p})$")
}

/// `x op ANY (q)` (`any`) or `x op ALL (q)` as SQL without quantifiers, with SQL's
/// three-valued result: `= ANY` is `IN`, `<> ALL` is `NOT IN`; the other forms compare
/// `x` with the subquery's min or max (scalar subqueries over `q`), are decided by an
/// empty `q` first (ANY false, ALL true), and are NULL where the answer hangs on a NULL
/// (`x` NULL, or NULLs in `q`).
///
/// Errors: an operator that is not a comparison.
fn quantified_comparison(
    left: &ast::Expr,
    op: &ast::BinaryOperator,
    right: &ast::Expr,
    any: bool,
) -> Result<ast::Expr> {
    use ast::BinaryOperator as B;
    let ast::Expr::Subquery(q) = right else {
        return Err(QuarryError::Internal("quantified comparison".into()));
    };
    match (op, any) {
        (B::Eq, true) | (B::NotEq, false) => {
            return Ok(ast::Expr::InSubquery {
                expr: Box::new(left.clone()),
                subquery: q.clone(),
                negated: !any,
            })
        }
        _ if matches!(left, ast::Expr::Tuple(_)) => {
            return Err(QuarryError::Analysis(format!(
                "[UNSUPPORTED_SUBQUERY_EXPRESSION_CATEGORY] several columns are compared with a subquery by = ANY (IN) and <> ALL (NOT IN) only, not by {op} {}: {left}",
                if any { "ANY" } else { "ALL" }
            )))
        }
        // null-safe: never NULL, so the answer is whether some (ANY) or no (ALL) value
        // decides it
        (B::Spaceship, _) => {
            let text = if any {
                format!("EXISTS (SELECT 1 FROM ({q}) AS __quantified(__v) WHERE ({left}) <=> __v)")
            } else {
                format!("NOT EXISTS (SELECT 1 FROM ({q}) AS __quantified(__v) WHERE NOT (({left}) <=> __v))")
            };
            return crate::parser::parse_expression(&text);
        }
        (B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq, _) => {}
        _ => {
            return Err(QuarryError::NotSupported(format!(
                "the operator {op} with {}",
                if any { "ANY" } else { "ALL" }
            )))
        }
    }
    let agg = |f: &str| format!("(SELECT {f} FROM ({q}) AS __quantified(__v))");
    let (mn, mx) = (agg("min(__v)"), agg("max(__v)"));
    let (n, nn) = (agg("count(*)"), agg("count(__v)"));
    let x = format!("({left})");
    // the test that decides the answer when it holds (ANY: true; ALL: false)
    let decisive = match (op, any) {
        (B::Gt | B::GtEq, true) => format!("{x} {op} {mn}"),
        (B::Lt | B::LtEq, true) => format!("{x} {op} {mx}"),
        (B::Gt | B::GtEq, false) => format!("NOT ({x} {op} {mx})"),
        (B::Lt | B::LtEq, false) => format!("NOT ({x} {op} {mn})"),
        // <> ANY: some value differs; = ALL fails when some value differs
        _ => format!("({x} <> {mn} OR {x} <> {mx})"),
    };
    let (on_empty, on_decisive) = if any {
        ("false", "true")
    } else {
        ("true", "false")
    };
    let text = format!(
        "CASE WHEN {n} = 0 THEN {on_empty} WHEN {decisive} THEN {on_decisive} \
         WHEN {x} IS NULL OR {nn} < {n} THEN CAST(NULL AS BOOLEAN) ELSE {on_empty} END"
    );
    let dialect = crate::parser::dialect::SparkDialect;
    sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(&text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| QuarryError::Internal(format!("quantified comparison: {e}")))
}

/// `f` without the ORDER BY inside its parentheses, and that ORDER BY (empty when none):
/// DuckDB's `first_value(x ORDER BY y)`. Other clauses stay for the argument binding to
/// reject.
pub(super) fn split_arg_order(f: &ast::Function) -> (ast::Function, Vec<ast::OrderByExpr>) {
    let mut f = f.clone();
    let mut order = vec![];
    if let ast::FunctionArguments::List(l) = &mut f.args {
        l.clauses.retain(|c| match c {
            ast::FunctionArgumentClause::OrderBy(o) => {
                order.extend(o.iter().cloned());
                false
            }
            _ => true,
        });
    }
    (f, order)
}

/// The patterns of a quantified LIKE: `x LIKE ANY ('a%', 'b%')` (sqlparser's `any` flag over
/// a tuple), `x LIKE ALL (...)` and `x LIKE SOME (...)` (read as calls of `all` / `some`).
/// Some((true for ALL, patterns)), or None for a plain LIKE.
fn like_quantified(pattern: &ast::Expr, any: bool) -> Option<(bool, Vec<ast::Expr>)> {
    if any {
        return match pattern {
            ast::Expr::Tuple(ps) => Some((false, ps.clone())),
            ast::Expr::Nested(p) => Some((false, vec![(**p).clone()])),
            _ => None,
        };
    }
    let ast::Expr::Function(f) = pattern else {
        return None;
    };
    let [ident] = f.name.0.as_slice() else {
        return None;
    };
    let name = ident.as_ident()?;
    if name.quote_style.is_some() || f.over.is_some() || f.filter.is_some() {
        return None;
    }
    let all = match name.value.to_ascii_uppercase().as_str() {
        "ALL" => true,
        "SOME" | "ANY" => false,
        _ => return None,
    };
    let args = match &f.args {
        ast::FunctionArguments::List(l) if l.duplicate_treatment.is_none() => l
            .args
            .iter()
            .map(|a| match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e.clone()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?,
        ast::FunctionArguments::None => return None,
        _ => return None,
    };
    Some((all, args))
}
