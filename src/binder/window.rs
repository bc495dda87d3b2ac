//! Binding window function calls (`f(...) OVER (...)`, `OVER w` with a WINDOW clause).
//!
//! Calls are collected in a [`WindowState`] while the SELECT list and ORDER BY are bound;
//! each becomes a reference to a column of the Window node that the SELECT binder puts
//! above the Aggregate/HAVING (Spark evaluates windows after grouping). Defaults follow
//! Spark: with ORDER BY the frame is `RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT
//! ROW`, without it the whole partition; ranking and offset functions need ORDER BY.

use std::cell::RefCell;
use std::collections::HashMap;

use arrow::datatypes::DataType;
use sqlparser::ast;

use super::coerce::cast_to;
use super::expr::{function_name, resolve_aggregate, ExprCtx};
use super::Binder;
use crate::error::{QuarryError, Result};
use crate::functions::aggregate::AggFunc;
use crate::plan::{
    Column, Expr, FrameBound, FrameUnits, LogicalPlan, SortKey, WindowExpr, WindowFrame, WindowFunc,
};

/// Window calls of one SELECT and its named windows (`WINDOW w AS (...)`).
#[derive(Default)]
pub struct WindowState {
    pub calls: RefCell<Vec<(WindowExpr, Column)>>,
    pub named: HashMap<String, ast::WindowSpec>,
}

impl WindowState {
    /// From a SELECT's WINDOW clause; a window defined by another's name copies it.
    pub fn new(defs: &[ast::NamedWindowDefinition]) -> Result<WindowState> {
        let mut named: HashMap<String, ast::WindowSpec> = HashMap::new();
        for ast::NamedWindowDefinition(name, def) in defs {
            let spec = match def {
                // `w AS (base ORDER BY ...)`: base's definition, refined
                ast::NamedWindowExpr::WindowSpec(s) => match &s.window_name {
                    None => s.clone(),
                    Some(base) => {
                        let b = named
                            .get(&base.value.to_ascii_lowercase())
                            .cloned()
                            .ok_or_else(|| {
                                QuarryError::Analysis(format!(
                                    "Window specification {} is not defined in the WINDOW clause.",
                                    base.value
                                ))
                            })?;
                        refine(b, s, &base.value)?
                    }
                },
                ast::NamedWindowExpr::NamedWindow(other) => named
                    .get(&other.value.to_ascii_lowercase())
                    .cloned()
                    .ok_or_else(|| {
                        QuarryError::Analysis(format!(
                            "Window specification {} is not defined in the WINDOW clause.",
                            other.value
                        ))
                    })?,
            };
            if named
                .insert(name.value.to_ascii_lowercase(), spec)
                .is_some()
            {
                return Err(QuarryError::Analysis(format!(
                    "The definition of window `{}` is repetitive (window names are case-insensitive): it is already defined",
                    name.value
                )));
            }
        }
        Ok(WindowState {
            calls: RefCell::new(vec![]),
            named,
        })
    }

    /// Resolve `OVER w` / `OVER (w ORDER BY ...)` against the WINDOW clause.
    fn spec(&self, over: &ast::WindowType) -> Result<ast::WindowSpec> {
        let lookup = |n: &ast::Ident| {
            self.named
                .get(&n.value.to_ascii_lowercase())
                .cloned()
                .ok_or_else(|| {
                    QuarryError::Analysis(format!(
                        "Window specification {} is not defined in the WINDOW clause.",
                        n.value
                    ))
                })
        };
        match over {
            ast::WindowType::NamedWindow(n) => lookup(n),
            ast::WindowType::WindowSpec(s) => match &s.window_name {
                None => Ok(s.clone()),
                Some(base) => refine(lookup(base)?, s, &base.value),
            },
        }
    }
}

/// A window `base` refined by `s` (`(base ORDER BY ...)`, `w2 AS (base ...)`), with the
/// SQL standard's rules (as PostgreSQL and DuckDB): `s` may add an ORDER BY the base
/// lacks and a frame; it never gives a PARTITION BY (the base's is kept) nor replaces
/// the base's ORDER BY, and a base with a frame cannot be copied (`OVER w` uses it as
/// it is). The window name itself is dropped.
fn refine(mut b: ast::WindowSpec, s: &ast::WindowSpec, name: &str) -> Result<ast::WindowSpec> {
    let error = |what: &str| {
        Err(QuarryError::Analysis(format!(
            "Cannot {what} of window `{name}`"
        )))
    };
    if !s.partition_by.is_empty() {
        return error("override the PARTITION BY clause");
    }
    if !s.order_by.is_empty() {
        if !b.order_by.is_empty() {
            return error("override the ORDER BY clause");
        }
        b.order_by = s.order_by.clone();
    }
    if b.window_frame.is_some() {
        return error("copy the frame clause");
    }
    if s.window_frame.is_some() {
        b.window_frame = s.window_frame.clone();
    }
    b.window_name = None;
    Ok(b)
}

/// `input` with `row_number() OVER (PARTITION BY partition_by ORDER BY order_by)` added
/// as a column named `name` (int): the plan and that column. DISTINCT ON keeps its rows
/// numbered 1, a LIMIT per outer value in a decorrelated subquery those up to the limit.
pub(super) fn with_row_number(
    input: LogicalPlan,
    partition_by: Vec<Expr>,
    order_by: Vec<SortKey>,
    name: &str,
) -> (LogicalPlan, Column) {
    let rn = Column::new(name, DataType::Int32, false);
    let w = WindowExpr {
        func: WindowFunc::RowNumber,
        args: vec![],
        partition_by,
        order_by,
        frame: WindowFrame {
            units: FrameUnits::Rows,
            start: FrameBound::UnboundedPreceding,
            end: FrameBound::CurrentRow,
            months: false,
        },
        arg_order: vec![],
        data_type: DataType::Int32,
    };
    let plan = LogicalPlan::Window {
        input: Box::new(input),
        windows: vec![(w, rn.clone())],
    };
    (plan, rn)
}

/// The number a bound constant `e` holds, as a double. Errors: `e` is no number
/// literal (`what` names it).
pub(super) fn const_f64(e: &Expr, what: &str) -> Result<f64> {
    if let Expr::Literal(v) = e {
        if let Ok(c) = v.cast_to(&DataType::Float64) {
            if let Some(a) = c.0.as_any().downcast_ref::<arrow::array::Float64Array>() {
                if !a.is_empty() && !arrow::array::Array::is_null(a, 0) {
                    return Ok(a.value(0));
                }
            }
        }
    }
    Err(QuarryError::Analysis(format!(
        "[DATATYPE_MISMATCH] {what} must be a constant number, got {e}"
    )))
}

/// Which kinds of interval a frame's offsets were written in.
#[derive(Default)]
struct OffsetKinds {
    /// A day-time interval (the offset is in microseconds).
    day_time: bool,
    /// A year-month interval (the offset is in months).
    months: bool,
}

/// A bound's signed position, relative to the current row (preceding offsets negative,
/// unbounded ones infinite), to compare the two bounds of a frame.
fn frame_position(b: &FrameBound) -> f64 {
    match b {
        FrameBound::UnboundedPreceding => f64::NEG_INFINITY,
        FrameBound::Preceding(v) => -v,
        FrameBound::CurrentRow => 0.0,
        FrameBound::Following(v) => *v,
        FrameBound::UnboundedFollowing => f64::INFINITY,
    }
}

/// Spark's checks of a frame's bounds (`SpecifiedWindowFrame.checkInputDataTypes`): a
/// ROWS (or GROUPS) offset is an int (a whole number up to 2,147,483,647), and the
/// lower bound is not after the upper one (`1 FOLLOWING AND 1 PRECEDING` is an error,
/// not an empty frame).
fn check_frame_order(units: FrameUnits, start: &FrameBound, end: &FrameBound) -> Result<()> {
    if units != FrameUnits::Range {
        let units = if units == FrameUnits::Rows {
            "ROWS"
        } else {
            "GROUPS"
        };
        for (b, which) in [(start, "lower"), (end, "upper")] {
            if let FrameBound::Preceding(v) | FrameBound::Following(v) = b {
                if v.fract() != 0.0 {
                    return Err(QuarryError::Analysis(format!("[DATATYPE_MISMATCH.SPECIFIED_WINDOW_FRAME_UNACCEPTED_TYPE] The data type of the {which} bound of a {units} frame must be an int, got {v}")));
                }
                if *v > i32::MAX as f64 {
                    return Err(QuarryError::Analysis(format!("[INVALID_BOUNDARY.{}] The {which} boundary of a {units} frame is invalid: {v}. Expected an int offset, at most 2147483647.", if which == "lower" { "START" } else { "END" })));
                }
            }
        }
    }
    if frame_position(start) > frame_position(end) {
        return Err(QuarryError::Analysis("[DATATYPE_MISMATCH.SPECIFIED_WINDOW_FRAME_WRONG_COMPARISON] The lower bound of a window frame must be less than or equal to the upper bound.".into()));
    }
    Ok(())
}

impl Binder<'_> {
    /// A frame bound; an offset that is a day-time interval (`INTERVAL 1 DAY
    /// PRECEDING`, for a RANGE frame over a date or timestamp) is in microseconds, one
    /// that is a year-month interval (`INTERVAL '1-1' YEAR TO MONTH`) in months; `kinds`
    /// records which were seen.
    fn frame_bound(
        &mut self,
        b: &ast::WindowFrameBound,
        cx: &ExprCtx,
        kinds: &mut OffsetKinds,
    ) -> Result<FrameBound> {
        let mut offset = |this: &mut Self, e: &ast::Expr| -> Result<f64> {
            let bound = this.bind_expr(e, cx)?;
            let bound = match super::interval::fields_of(&bound) {
                Some(q) => {
                    let seen = if q.is_year_month() {
                        &mut kinds.months
                    } else {
                        &mut kinds.day_time
                    };
                    *seen = true;
                    let folded = crate::optimizer::constant_folding::fold(bound);
                    match folded {
                        // its months or microseconds
                        Expr::Literal(v) if !v.is_null() => {
                            let raw = crate::functions::interval::to_raw(&v.0)?;
                            Expr::Literal(crate::types::ScalarValue::from_i64(raw.value(0)))
                        }
                        other => other,
                    }
                }
                None => bound,
            };
            let v = const_f64(&bound, "a window frame boundary")?;
            if v < 0.0 {
                return Err(QuarryError::Analysis(format!("[DATATYPE_MISMATCH.SPECIFIED_WINDOW_FRAME_WRONG_COMPARISON] a window frame boundary must not be negative, got {v}")));
            }
            Ok(v)
        };
        Ok(match b {
            ast::WindowFrameBound::CurrentRow => FrameBound::CurrentRow,
            ast::WindowFrameBound::Preceding(None) => FrameBound::UnboundedPreceding,
            ast::WindowFrameBound::Following(None) => FrameBound::UnboundedFollowing,
            ast::WindowFrameBound::Preceding(Some(e)) => FrameBound::Preceding(offset(self, e)?),
            ast::WindowFrameBound::Following(Some(e)) => FrameBound::Following(offset(self, e)?),
        })
    }

    /// ORDER BY items bound in `cx` as sort keys (Spark's default null ordering).
    fn sort_keys(&mut self, items: &[ast::OrderByExpr], cx: &ExprCtx) -> Result<Vec<SortKey>> {
        items
            .iter()
            .map(|ob| {
                let (asc, nulls_first) = super::select::sort_options(ob);
                Ok(SortKey {
                    expr: self.bind_expr(&ob.expr, cx)?,
                    asc,
                    nulls_first,
                })
            })
            .collect()
    }

    /// Bind a call with OVER; returns a reference to its Window column.
    pub(super) fn bind_window(&mut self, f: &ast::Function, cx: &ExprCtx) -> Result<Expr> {
        let name = function_name(f);
        let Some(ws) = cx.windows else {
            return Err(QuarryError::Analysis(format!(
                "[UNSUPPORTED_EXPR_FOR_OPERATOR] window function {name}() is not allowed in {}",
                cx.clause
            )));
        };
        let over = f
            .over
            .as_ref()
            .ok_or_else(|| QuarryError::Internal("window call without OVER".into()))?;
        let spec = ws.spec(over)?;
        if f.filter.is_some() {
            return Err(QuarryError::NotSupported(
                "FILTER (WHERE ...) on a window function".into(),
            ));
        }
        let inner = ExprCtx {
            scope: cx.scope,
            outer: cx.outer,
            agg: cx.agg,
            clause: "a window function",
            windows: None,
        };
        // DuckDB's ORDER BY inside the parentheses: taken off before the arguments bind
        let (f, arg_order_ast) = super::expr::split_arg_order(f);
        let f = &f;
        let (name, args, distinct, star) = self.call_args(f, name)?;
        let mut arg_order = self.sort_keys(&arg_order_ast, &inner)?;
        let mut bound: Vec<Expr> = args
            .iter()
            .map(|a| self.bind_expr(a, &inner))
            .collect::<Result<_>>()?;
        let partition_by: Vec<Expr> = spec
            .partition_by
            .iter()
            .map(|e| self.bind_expr(e, &inner))
            .collect::<Result<_>>()?;
        let order_by = self.sort_keys(&spec.order_by, &inner)?;
        let ignore_nulls = matches!(f.null_treatment, Some(ast::NullTreatment::IgnoreNulls));
        let needs_order = |what: &str| -> Result<()> {
            if order_by.is_empty() && arg_order.is_empty() {
                Err(QuarryError::Analysis(format!("Window function {what} requires window to be ordered, please add ORDER BY clause. For example SELECT {what}(value_expr) OVER (PARTITION BY window_partition ORDER BY window_ordering) from table")))
            } else {
                Ok(())
            }
        };
        let arity = |n: std::ops::RangeInclusive<usize>, got: usize| -> Result<()> {
            if n.contains(&got) {
                Ok(())
            } else {
                Err(QuarryError::Analysis(format!("[WRONG_NUM_ARGS] `{name}` requires {} parameters but the actual number is {got}", if n.start() == n.end() { n.start().to_string() } else { format!("{}..{}", n.start(), n.end()) })))
            }
        };
        let (func, args, data_type): (WindowFunc, Vec<Expr>, DataType) = match name.as_str() {
            "row_number" | "rank" | "dense_rank" | "percent_rank" | "cume_dist" => {
                arity(0..=0, bound.len())?;
                needs_order(&name)?;
                match name.as_str() {
                    "row_number" => (WindowFunc::RowNumber, vec![], DataType::Int32),
                    "rank" => (WindowFunc::Rank, vec![], DataType::Int32),
                    "dense_rank" => (WindowFunc::DenseRank, vec![], DataType::Int32),
                    "percent_rank" => (WindowFunc::PercentRank, vec![], DataType::Float64),
                    _ => (WindowFunc::CumeDist, vec![], DataType::Float64),
                }
            }
            "ntile" => {
                arity(1..=1, bound.len())?;
                needs_order(&name)?;
                let k = const_f64(&bound[0], "the argument of ntile")?;
                if k <= 0.0 {
                    return Err(QuarryError::Analysis(format!("[DATATYPE_MISMATCH.VALUE_OUT_OF_RANGE] Buckets expression must be positive, but got: {k}")));
                }
                (WindowFunc::Ntile(k as i64), vec![], DataType::Int32)
            }
            "lead" | "lag" => {
                arity(1..=3, bound.len())?;
                if ignore_nulls && !arg_order.is_empty() {
                    return Err(QuarryError::NotSupported(format!(
                        "{name}(... ORDER BY ...) with IGNORE NULLS"
                    )));
                }
                needs_order(&name)?;
                let off = match bound.get(1) {
                    Some(e) => const_f64(e, "the offset of lead/lag")? as i64,
                    None => 1,
                };
                let x = bound.remove(0);
                let t = x.data_type();
                let mut a = vec![x];
                if bound.len() == 2 {
                    let d = bound.remove(1);
                    a.push(cast_to(d, &t)?);
                }
                let f = if name == "lead" {
                    WindowFunc::Lead { offset: off, ignore_nulls }
                } else {
                    WindowFunc::Lag { offset: off, ignore_nulls }
                };
                (f, a, t)
            }
            "first_value" | "first" | "any_value" | "last_value" | "last" => {
                arity(1..=2, bound.len())?;
                let ignore = ignore_nulls
                    || match bound.get(1) {
                        Some(Expr::Literal(v)) => v.cast_to(&DataType::Boolean).ok().and_then(|c| c.0.as_any().downcast_ref::<arrow::array::BooleanArray>().map(|b| !b.is_empty() && b.value(0))).unwrap_or(false),
                        Some(other) => return Err(QuarryError::Analysis(format!("[DATATYPE_MISMATCH] the second argument of {name} must be a constant boolean, got {other}"))),
                        None => false,
                    };
                let x = bound.remove(0);
                let t = x.data_type();
                let f = if name.starts_with("last") { WindowFunc::LastValue { ignore_nulls: ignore } } else { WindowFunc::FirstValue { ignore_nulls: ignore } };
                (f, vec![x], t)
            }
            "nth_value" => {
                arity(2..=2, bound.len())?;
                let n = const_f64(&bound[1], "the offset of nth_value")? as i64;
                if n <= 0 {
                    return Err(QuarryError::Analysis(format!("[DATATYPE_MISMATCH.VALUE_OUT_OF_RANGE] The offset of nth_value must be positive, but got: {n}")));
                }
                let x = bound.remove(0);
                let t = x.data_type();
                (WindowFunc::NthValue { n, ignore_nulls }, vec![x], t)
            }
            _ if AggFunc::is_aggregate_name(&name) => {
                if star && distinct {
                    return Err(QuarryError::NotSupported(
                        "count(DISTINCT *) as a window function".into(),
                    ));
                } else if name == "count" && (star || bound.is_empty()) {
                    bound.clear();
                } else if star {
                    return Err(QuarryError::Analysis(format!("{name}(*) is not allowed")));
                }
                if bound
                    .first()
                    .is_some_and(|x| super::interval::aggregate_input(&name, x).is_some())
                {
                    return Err(QuarryError::NotSupported(format!(
                        "{name}() of an interval as a window function"
                    )));
                }
                let (func, a, result) = resolve_aggregate(&name, bound)?;
                (WindowFunc::Aggregate { func, distinct }, a, result)
            }
            _ => {
                return Err(QuarryError::Analysis(format!(
                    "[UNSUPPORTED_EXPR_FOR_WINDOW] Expression `{name}` not supported within a window function."
                )))
            }
        };
        if matches!(&func, WindowFunc::Aggregate { func, .. } if !func.order_sensitive()) {
            // the order rows reach sum, count, min, ... does not change their result
            arg_order.clear();
        }
        if !arg_order.is_empty()
            && !matches!(
                func,
                WindowFunc::Lead { .. }
                    | WindowFunc::Lag { .. }
                    | WindowFunc::FirstValue { .. }
                    | WindowFunc::LastValue { .. }
                    | WindowFunc::NthValue { .. }
            )
        {
            return Err(QuarryError::NotSupported(format!(
                "ORDER BY inside {name}(...) as a window function (only lead, lag, first_value, last_value and nth_value take one)"
            )));
        }
        if distinct && !matches!(func, WindowFunc::Aggregate { .. }) {
            return Err(QuarryError::Analysis(format!(
                "DISTINCT is not allowed in {name}()"
            )));
        }
        let frame = match &spec.window_frame {
            Some(fr) => {
                let units = match fr.units {
                    ast::WindowFrameUnits::Rows => FrameUnits::Rows,
                    ast::WindowFrameUnits::Range => FrameUnits::Range,
                    ast::WindowFrameUnits::Groups => FrameUnits::Groups,
                };
                let mut kinds = OffsetKinds::default();
                let mut start = self.frame_bound(&fr.start_bound, &inner, &mut kinds)?;
                let mut end = match &fr.end_bound {
                    Some(b) => self.frame_bound(b, &inner, &mut kinds)?,
                    None => FrameBound::CurrentRow,
                };
                if kinds.months && kinds.day_time {
                    return Err(QuarryError::NotSupported(
                        "a RANGE frame with a year-month interval at one end and a day-time interval at the other".into(),
                    ));
                }
                let months = kinds.months;
                let mut intervals = kinds.months || kinds.day_time;
                // offsets over a date or timestamp key are intervals, over numbers numbers
                let offsets = [&start, &end]
                    .iter()
                    .any(|b| matches!(b, FrameBound::Preceding(_) | FrameBound::Following(_)));
                // the ORDER BY key's type, where a RANGE frame's offsets are measured on it
                let range_key = (units == FrameUnits::Range && offsets && order_by.len() == 1)
                    .then(|| order_by[0].expr.data_type());
                if let Some(key) = &range_key {
                    // over a date, offsets are whole days: a number is that many days
                    // (Spark's date + int), an interval may not have a time part
                    const DAY_MICROS: f64 = 86_400_000_000.0;
                    if *key == DataType::Date32 && !months {
                        for b in [&mut start, &mut end] {
                            if let FrameBound::Preceding(v) | FrameBound::Following(v) = b {
                                if !intervals {
                                    if v.fract() != 0.0 {
                                        return Err(QuarryError::Analysis(format!("[DATATYPE_MISMATCH.RANGE_FRAME_INVALID_TYPE] a RANGE frame over a date ORDER BY key needs a whole number of days as its offset, got {v}")));
                                    }
                                    *v *= DAY_MICROS;
                                } else if (*v / DAY_MICROS).fract() != 0.0 {
                                    return Err(QuarryError::Analysis("[DATATYPE_MISMATCH.RANGE_FRAME_INVALID_TYPE] a RANGE frame over a date ORDER BY key needs whole days as its offset, got an interval with a time part".into()));
                                }
                            }
                        }
                        intervals = true;
                    }
                    // over a float key the offset is a float too (Spark casts the
                    // boundary to the key's type): `x + 1.1` is `x + 1.1f`
                    if *key == DataType::Float32 {
                        for b in [&mut start, &mut end] {
                            if let FrameBound::Preceding(v) | FrameBound::Following(v) = b {
                                *v = *v as f32 as f64;
                            }
                        }
                    }
                    // a NaN offset ('NaN' FOLLOWING) over a float key: x + NaN is NaN,
                    // which Spark orders above every number, so the frame runs to the
                    // partition's end
                    let float = matches!(key, DataType::Float32 | DataType::Float64);
                    if let FrameBound::Following(v) = &mut end {
                        if v.is_nan() && float {
                            *v = f64::INFINITY;
                        }
                    }
                }
                for b in [&start, &end] {
                    if let FrameBound::Preceding(v) | FrameBound::Following(v) = b {
                        if v.is_nan() {
                            return Err(QuarryError::NotSupported(
                                "a NaN window frame offset, other than a float key's upper bound"
                                    .into(),
                            ));
                        }
                    }
                }
                if let Some(key) = &range_key {
                    let datetime = matches!(key, DataType::Date32 | DataType::Timestamp(..));
                    if datetime != intervals {
                        return Err(QuarryError::Analysis(format!(
                            "[DATATYPE_MISMATCH.RANGE_FRAME_INVALID_TYPE] The data type {} used in the order specification does not match the data type of the frame boundaries ({})",
                            crate::types::type_name(&key),
                            if intervals { "an interval" } else { "a number" }
                        )));
                    }
                }
                if units != FrameUnits::Range && intervals {
                    let (kind, counts) = if units == FrameUnits::Rows {
                        ("ROWS", "rows")
                    } else {
                        ("GROUPS", "peer groups")
                    };
                    return Err(QuarryError::Analysis(format!("[DATATYPE_MISMATCH.SPECIFIED_WINDOW_FRAME_UNACCEPTED_TYPE] The offset of a {kind} frame counts {counts}: it must be an int, not an interval")));
                }
                if units == FrameUnits::Groups && order_by.is_empty() {
                    return Err(QuarryError::Analysis("[DATATYPE_MISMATCH] A GROUPS window frame needs an ORDER BY in its window specification (its peer groups are rows equal on it)".into()));
                }
                if start == FrameBound::UnboundedFollowing || end == FrameBound::UnboundedPreceding
                {
                    return Err(QuarryError::Analysis("[INVALID_BOUNDARY] The window frame boundary is invalid: UNBOUNDED FOLLOWING cannot start a frame and UNBOUNDED PRECEDING cannot end one".into()));
                }
                check_frame_order(units, &start, &end)?;
                if units == FrameUnits::Range
                    && order_by.is_empty()
                    && (matches!(start, FrameBound::Preceding(_) | FrameBound::Following(_))
                        || matches!(end, FrameBound::Preceding(_) | FrameBound::Following(_)))
                {
                    return Err(QuarryError::Analysis("[DATATYPE_MISMATCH.RANGE_FRAME_WITHOUT_ORDER] A range window frame cannot be used in an unordered window specification.".into()));
                }
                WindowFrame {
                    units,
                    start,
                    end,
                    months,
                }
            }
            None if order_by.is_empty() => WindowFrame {
                units: FrameUnits::Rows,
                start: FrameBound::UnboundedPreceding,
                end: FrameBound::UnboundedFollowing,
                months: false,
            },
            None => WindowFrame {
                units: FrameUnits::Range,
                start: FrameBound::UnboundedPreceding,
                end: FrameBound::CurrentRow,
                months: false,
            },
        };
        // a frame over the whole partition, however it was written
        let frame = if order_by.is_empty()
            && frame.units == FrameUnits::Range
            && frame.start != FrameBound::UnboundedFollowing
        {
            WindowFrame {
                units: FrameUnits::Rows,
                start: FrameBound::UnboundedPreceding,
                end: FrameBound::UnboundedFollowing,
                months: false,
            }
        } else {
            frame
        };
        let we = WindowExpr {
            func,
            args,
            partition_by,
            order_by,
            frame,
            arg_order,
            data_type: data_type.clone(),
        };
        let mut calls = ws.calls.borrow_mut();
        if let Some((_, c)) = calls.iter().find(|(w, _)| *w == we) {
            return Ok(Expr::Column(c.clone()));
        }
        let col = Column::new(f.to_string(), data_type, true);
        calls.push((we, col.clone()));
        Ok(Expr::Column(col))
    }
}
