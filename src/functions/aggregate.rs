//! Aggregate functions and their vectorized per-group accumulators.
//!
//! An accumulator holds state for many groups (indexed 0..n). `update` folds a batch
//! of argument arrays into the groups named by `groups[row]`; `merge` folds another
//! accumulator of the same kind (built by another thread) in, mapping its group `g`
//! to `mapping[g]`; `finish` produces one value per group.

use std::any::Any;
use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::*;
use arrow::buffer::NullBuffer;
use arrow::compute::cast;
use arrow::datatypes::*;
use arrow::row::{RowConverter, SortField};

use crate::error::{QuarryError, Result};
use crate::types::{is_numeric, is_string, type_name};

/// Aggregate functions, by Spark name.
#[derive(Clone, Debug, PartialEq)]
pub enum AggFunc {
    /// `count(*)` has no arguments; `count(x)` counts non-null rows.
    Count,
    Sum,
    Avg,
    Min,
    Max,
    /// Exact median (interpolated), a double.
    Median,
    /// `percentile(x, p)`: exact, interpolated, a double.
    Percentile(f64),
    /// `percentile_approx(x, p[, accuracy])`: a value of the input (Spark's rank rule
    /// `ceil(p * n)`); computed exactly here.
    PercentileApprox(f64),
    StddevSamp,
    StddevPop,
    VarSamp,
    VarPop,
    /// `sem(x)` (DuckDB): the standard error of the mean, `stddev_pop(x) / sqrt(n)`.
    Sem,
    /// The value of a correlated scalar subquery that has no aggregate of its own (not
    /// callable by name): the group's one row's value, NULL for none; a second row is
    /// an error, as a scalar subquery of more than one row is.
    SingleValue,
    /// `fsum(x)` / `kahan_sum` / `sumkahan` (DuckDB's): a double sum with Neumaier's
    /// compensated summation, exact where a plain sum loses low bits.
    KahanSum,
    BoolAnd,
    BoolOr,
    /// `first(x[, ignoreNulls])` / `first_value` / `any_value`: the group's first value,
    /// NULL included unless `ignore_nulls` (Spark's default keeps NULLs).
    First {
        ignore_nulls: bool,
    },
    /// `last(x[, ignoreNulls])` / `last_value`: the group's last value, as `First`.
    Last {
        ignore_nulls: bool,
    },
    /// `max_by(x, y)` / `min_by(x, y)`: x of the row with the largest (smallest) y;
    /// rows with a NULL y are skipped.
    MaxBy,
    MinBy,
    /// `count_if(p)`: rows where p is true (a bigint).
    CountIf,
    /// `bit_and(x)` / `bit_or(x)` / `bit_xor(x)` over integers, of x's type.
    BitAnd,
    BitOr,
    BitXor,
    /// `mode(x)`: the most frequent non-NULL value; of equally frequent ones the
    /// smallest (Spark 3.5 returns any of them).
    Mode,
    /// `try_sum(x)` of integers: NULL where the bigint sum overflows (Spark's `try_sum`).
    TrySum,
    /// The co-moment family (`covar_pop`, `corr`, `regr_*`, ...), two double arguments.
    CoMoment(super::aggregate_stats::CoMoment),
    /// `skewness(x)`.
    Skewness,
    /// `kurtosis(x)` (excess kurtosis).
    Kurtosis,
    /// `collect_list(x)` / `array_agg(x)`: the group's non-NULL values as an array.
    CollectList,
    /// `collect_set(x)`: the group's distinct non-NULL values as an array.
    CollectSet,
    /// `histogram_numeric(x, nb)`: Hive's streaming histogram of at most `nb` bins, an
    /// array of `{x, y}` structs (centre as x's type, height as a double).
    HistogramNumeric(usize),
}

impl AggFunc {
    pub fn name(&self) -> &'static str {
        match self {
            AggFunc::Count => "count",
            AggFunc::Sum => "sum",
            AggFunc::Avg => "avg",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
            AggFunc::Median => "median",
            AggFunc::Percentile(_) => "percentile",
            AggFunc::PercentileApprox(_) => "percentile_approx",
            AggFunc::StddevSamp => "stddev_samp",
            AggFunc::StddevPop => "stddev_pop",
            AggFunc::VarSamp => "var_samp",
            AggFunc::VarPop => "var_pop",
            AggFunc::Sem => "sem",
            AggFunc::KahanSum => "fsum",
            AggFunc::SingleValue => "single_value",
            AggFunc::BoolAnd => "bool_and",
            AggFunc::BoolOr => "bool_or",
            AggFunc::First { .. } => "first",
            AggFunc::Last { .. } => "last",
            AggFunc::MaxBy => "max_by",
            AggFunc::MinBy => "min_by",
            AggFunc::CountIf => "count_if",
            AggFunc::BitAnd => "bit_and",
            AggFunc::BitOr => "bit_or",
            AggFunc::BitXor => "bit_xor",
            AggFunc::Mode => "mode",
            AggFunc::TrySum => "try_sum",
            AggFunc::CoMoment(f) => f.name(),
            AggFunc::Skewness => "skewness",
            AggFunc::Kurtosis => "kurtosis",
            AggFunc::CollectList => "collect_list",
            AggFunc::CollectSet => "collect_set",
            AggFunc::HistogramNumeric(_) => "histogram_numeric",
        }
    }

    /// Whether the result depends on the order rows arrive in (the values a list
    /// collects, which row is first or last, which of tied rows wins): such aggregates
    /// are folded per input partition and merged in partition order, so a query gives
    /// the same answer every run.
    pub fn order_sensitive(&self) -> bool {
        matches!(
            self,
            AggFunc::CollectList
                | AggFunc::First { .. }
                | AggFunc::Last { .. }
                | AggFunc::MaxBy
                | AggFunc::MinBy
                | AggFunc::HistogramNumeric(_)
        )
    }

    /// Whether `name` is an aggregate function name.
    pub fn is_aggregate_name(name: &str) -> bool {
        matches!(
            name,
            "count"
                | "sum"
                | "fsum"
                | "kahan_sum"
                | "sumkahan"
                | "avg"
                | "mean"
                | "min"
                | "max"
                | "median"
                | "percentile"
                | "percentile_approx"
                | "approx_percentile"
                | "stddev"
                | "stddev_samp"
                | "std"
                | "stddev_pop"
                | "variance"
                | "var_samp"
                | "var_pop"
                | "sem"
                | "decimal_average"
                | "product"
                | "listagg"
                | "string_agg"
                | "percentile_cont"
                | "percentile_disc"
                | "bool_and"
                | "every"
                | "bool_or"
                | "some"
                | "any"
                | "first"
                | "first_value"
                | "any_value"
                | "collect_list"
                | "array_agg"
                | "list"
                | "collect_set"
                | "histogram_numeric"
                | "approx_count_distinct"
                | "last"
                | "last_value"
                | "max_by"
                | "min_by"
                | "count_if"
                | "bit_and"
                | "bit_or"
                | "bit_xor"
                | "mode"
                | "try_sum"
                | "try_avg"
                | "skewness"
                | "kurtosis"
        ) || super::aggregate_stats::CoMoment::from_name(name).is_some()
    }

    /// How many leading arguments of a call to the aggregate `name` are values read per
    /// row (the rest are constant parameters folded into the function, as a
    /// percentile's p); `usize::MAX`: all of them (`count`).
    pub fn value_args(name: &str) -> usize {
        match name {
            "count" => usize::MAX,
            "max_by" | "min_by" => 2,
            _ if super::aggregate_stats::CoMoment::from_name(name).is_some() => 2,
            _ => 1,
        }
    }

    /// Resolve a call: the function (with constant parameters), the type to cast the
    /// value argument to, and the result type (Spark's rules).
    pub fn resolve(
        name: &str,
        arg_types: &[DataType],
        consts: &[Option<f64>],
    ) -> Result<(AggFunc, Option<DataType>, DataType)> {
        let need = |n: usize| -> Result<()> {
            if arg_types.len() < n {
                Err(QuarryError::Analysis(format!(
                    "[WRONG_NUM_ARGS] `{name}` requires {n} parameters but the actual number is {}",
                    arg_types.len()
                )))
            } else {
                Ok(())
            }
        };
        let numeric = |t: &DataType| -> Result<()> {
            if is_numeric(t) || *t == DataType::Null || is_string(t) {
                Ok(())
            } else {
                Err(QuarryError::Analysis(format!(
                    "[DATATYPE_MISMATCH] `{name}` requires a numeric argument, not {}",
                    type_name(t)
                )))
            }
        };
        Ok(match name {
            "count" => (AggFunc::Count, None, DataType::Int64),
            "sum" | "try_sum" => {
                need(1)?;
                numeric(&arg_types[0])?;
                match &arg_types[0] {
                    // the input as it is: widening it to decimal(38, s) would change no
                    // value (the scale stays) but cost a cast per row, and hide from the
                    // accumulator that narrow inputs can be summed in 64 bits
                    DataType::Decimal128(p, s) => (
                        AggFunc::Sum,
                        None,
                        DataType::Decimal128((*p + 10).min(38), *s),
                    ),
                    t if crate::types::is_integer(t) => {
                        let f = if name == "try_sum" {
                            AggFunc::TrySum
                        } else {
                            AggFunc::Sum
                        };
                        (f, Some(DataType::Int64), DataType::Int64)
                    }
                    _ => (AggFunc::Sum, Some(DataType::Float64), DataType::Float64),
                }
            }
            // an average of numbers never overflows here (integers are averaged as
            // doubles, decimals as i128 sums): try_avg is avg
            "avg" | "mean" | "try_avg" => {
                need(1)?;
                // a timestamp averages as its seconds since the epoch (Spark casts it to
                // a double)
                if matches!(arg_types[0], DataType::Timestamp(..)) {
                    return Ok((AggFunc::Avg, Some(DataType::Float64), DataType::Float64));
                }
                numeric(&arg_types[0])?;
                match &arg_types[0] {
                    DataType::Decimal128(p, s) => (
                        AggFunc::Avg,
                        None,
                        DataType::Decimal128((*p + 4).min(38), (*s + 4).min(38)),
                    ),
                    _ => (AggFunc::Avg, Some(DataType::Float64), DataType::Float64),
                }
            }
            "min" | "max" => {
                need(1)?;
                let f = if name == "min" {
                    AggFunc::Min
                } else {
                    AggFunc::Max
                };
                (f, None, arg_types[0].clone())
            }
            "first" | "first_value" | "any_value" | "last" | "last_value" => {
                need(1)?;
                super::check_arity(name, arg_types.len(), 1, 2)?;
                let ignore_nulls = match (arg_types.get(1), consts.get(1)) {
                    (None, _) => false,
                    (Some(DataType::Boolean), Some(Some(v))) => *v != 0.0,
                    _ => {
                        return Err(QuarryError::Analysis(format!(
                            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] the second argument of {name} (ignoreNulls) must be a constant boolean"
                        )))
                    }
                };
                let f = if name.starts_with("last") {
                    AggFunc::Last { ignore_nulls }
                } else {
                    AggFunc::First { ignore_nulls }
                };
                (f, None, arg_types[0].clone())
            }
            "max_by" | "min_by" => {
                super::check_arity(name, arg_types.len(), 2, 2)?;
                let f = if name == "max_by" {
                    AggFunc::MaxBy
                } else {
                    AggFunc::MinBy
                };
                (f, None, arg_types[0].clone())
            }
            "count_if" => {
                super::check_arity(name, arg_types.len(), 1, 1)?;
                if !matches!(arg_types[0], DataType::Boolean | DataType::Null) {
                    return Err(QuarryError::Analysis(format!(
                        "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"count_if\": the parameter requires the \"BOOLEAN\" type, however it has the type \"{}\"",
                        type_name(&arg_types[0]).to_uppercase()
                    )));
                }
                (AggFunc::CountIf, Some(DataType::Boolean), DataType::Int64)
            }
            "bit_and" | "bit_or" | "bit_xor" => {
                super::check_arity(name, arg_types.len(), 1, 1)?;
                let t = &arg_types[0];
                if !(crate::types::is_integer(t) || *t == DataType::Null) {
                    return Err(QuarryError::Analysis(format!(
                        "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{name}\": the parameter requires an integral type, however it has the type \"{}\"",
                        type_name(t).to_uppercase()
                    )));
                }
                let f = match name {
                    "bit_and" => AggFunc::BitAnd,
                    "bit_or" => AggFunc::BitOr,
                    _ => AggFunc::BitXor,
                };
                let result = if *t == DataType::Null {
                    DataType::Int32
                } else {
                    t.clone()
                };
                (f, Some(DataType::Int64), result)
            }
            "mode" => {
                super::check_arity(name, arg_types.len(), 1, 1)?;
                (AggFunc::Mode, None, arg_types[0].clone())
            }
            "skewness" | "kurtosis" => {
                super::check_arity(name, arg_types.len(), 1, 1)?;
                numeric(&arg_types[0])?;
                let f = if name == "kurtosis" {
                    AggFunc::Kurtosis
                } else {
                    AggFunc::Skewness
                };
                (f, Some(DataType::Float64), DataType::Float64)
            }
            _ if super::aggregate_stats::CoMoment::from_name(name).is_some() => {
                super::check_arity(name, arg_types.len(), 2, 2)?;
                numeric(&arg_types[0])?;
                numeric(&arg_types[1])?;
                let f = super::aggregate_stats::CoMoment::from_name(name)
                    .ok_or_else(|| QuarryError::Internal(format!("aggregate {name}")))?;
                (
                    AggFunc::CoMoment(f),
                    Some(DataType::Float64),
                    f.result_type(),
                )
            }
            // `list` is DuckDB's name
            "collect_list" | "array_agg" | "list" | "collect_set" => {
                need(1)?;
                let f = if name == "collect_set" {
                    AggFunc::CollectSet
                } else {
                    AggFunc::CollectList
                };
                (f, None, crate::types::list_type(arg_types[0].clone()))
            }
            "histogram_numeric" => {
                need(2)?;
                let t = &arg_types[0];
                if !(is_numeric(t)
                    || super::interval::is_ansi_interval(t)
                    || matches!(
                        t,
                        DataType::Null | DataType::Timestamp(..) | DataType::Date32
                    ))
                {
                    return Err(QuarryError::Analysis(format!(
                        "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] histogram_numeric needs a numeric, date or timestamp value, not {}",
                        type_name(t)
                    )));
                }
                let nb = consts.get(1).copied().flatten().ok_or_else(|| {
                    QuarryError::Analysis(
                        "histogram_numeric needs a constant number of bins".into(),
                    )
                })?;
                if nb < 2.0 || nb.fract() != 0.0 {
                    return Err(QuarryError::Analysis(format!("[DATATYPE_MISMATCH.VALUE_OUT_OF_RANGE] histogram_numeric needs at least 2 bins, got {nb}")));
                }
                let x = if *t == DataType::Null {
                    DataType::Float64
                } else {
                    t.clone()
                };
                let point = DataType::Struct(
                    vec![
                        Field::new("x", x, true),
                        Field::new("y", DataType::Float64, true),
                    ]
                    .into(),
                );
                (
                    AggFunc::HistogramNumeric(nb as usize),
                    None,
                    crate::types::list_type(point),
                )
            }
            "median" => {
                need(1)?;
                numeric(&arg_types[0])?;
                (AggFunc::Median, Some(DataType::Float64), DataType::Float64)
            }
            "percentile" | "percentile_approx" | "approx_percentile" => {
                need(2)?;
                numeric(&arg_types[0])?;
                let p = consts.get(1).copied().flatten().ok_or_else(|| {
                    QuarryError::NotSupported(format!("{name} with a percentage that is not a constant number (arrays of percentages are not supported yet)"))
                })?;
                if !(0.0..=1.0).contains(&p) {
                    return Err(QuarryError::Analysis(format!("[DATATYPE_MISMATCH] the percentage of {name} must be between 0.0 and 1.0, got {p}")));
                }
                if name == "percentile" {
                    (
                        AggFunc::Percentile(p),
                        Some(DataType::Float64),
                        DataType::Float64,
                    )
                } else {
                    (AggFunc::PercentileApprox(p), None, arg_types[0].clone())
                }
            }
            "stddev" | "stddev_samp" | "std" | "stddev_pop" | "variance" | "var_samp"
            | "var_pop" | "sem" => {
                need(1)?;
                numeric(&arg_types[0])?;
                let f = match name {
                    "stddev_pop" => AggFunc::StddevPop,
                    "variance" | "var_samp" => AggFunc::VarSamp,
                    "var_pop" => AggFunc::VarPop,
                    "sem" => AggFunc::Sem,
                    _ => AggFunc::StddevSamp,
                };
                (f, Some(DataType::Float64), DataType::Float64)
            }
            "fsum" | "kahan_sum" | "sumkahan" => {
                need(1)?;
                numeric(&arg_types[0])?;
                (
                    AggFunc::KahanSum,
                    Some(DataType::Float64),
                    DataType::Float64,
                )
            }
            "bool_and" | "every" | "bool_or" | "some" | "any" => {
                need(1)?;
                if !matches!(arg_types[0], DataType::Boolean | DataType::Null) {
                    return Err(QuarryError::Analysis(format!(
                        "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{name}\": the parameter requires the \"BOOLEAN\" type, however it has the type \"{}\"",
                        type_name(&arg_types[0]).to_uppercase()
                    )));
                }
                let f = if matches!(name, "bool_and" | "every") {
                    AggFunc::BoolAnd
                } else {
                    AggFunc::BoolOr
                };
                (f, Some(DataType::Boolean), DataType::Boolean)
            }
            "product" => {
                return Err(QuarryError::NotSupported(
                    "product as a window function".into(),
                ))
            }
            "decimal_average" => return Err(QuarryError::NotSupported(
                "decimal_average as a window function (use CAST(avg(x) OVER ... AS DECIMAL(p, s)))"
                    .into(),
            )),
            _ => return Err(QuarryError::Internal(format!("unknown aggregate {name}"))),
        })
    }
}

/// `approx_count_distinct(x[, rsd])` is answered exactly: `count(DISTINCT x)` is within
/// any relative error Spark's HyperLogLog++ allows. Returns the name of the aggregate to
/// bind: for that function, `count`, after checking its arity, dropping `rsd` from
/// `args` and setting `distinct`; any other `name` unchanged.
pub fn approx_count_distinct_as_count<T>(
    name: String,
    args: &mut Vec<T>,
    distinct: &mut bool,
) -> Result<String> {
    if name != "approx_count_distinct" {
        return Ok(name);
    }
    super::check_arity(&name, args.len(), 1, 2)?;
    args.truncate(1);
    *distinct = true;
    Ok("count".to_string())
}

/// Per-group state of one aggregate call.
pub trait Accumulator: Send {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], num_groups: usize) -> Result<()>;
    fn merge(
        &mut self,
        other: Box<dyn Accumulator>,
        mapping: &[usize],
        num_groups: usize,
    ) -> Result<()>;
    fn finish(&mut self, num_groups: usize) -> Result<ArrayRef>;
    /// The sum of the values this accumulator saw, as `result_type`, when it keeps one
    /// (a decimal avg does): `sum(x)` beside `avg(x)` is then finished from `avg(x)`'s
    /// state instead of adding the values a second time (TPC-H Q01). `None` otherwise.
    fn finish_sum(
        &mut self,
        _num_groups: usize,
        _result_type: &DataType,
    ) -> Option<Result<ArrayRef>> {
        None
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

pub(super) fn downcast<T: 'static>(b: Box<dyn Accumulator>) -> Result<Box<T>> {
    b.into_any()
        .downcast::<T>()
        .map_err(|_| QuarryError::Internal("accumulator kind mismatch in merge".into()))
}

/// Of the rows `idx` (in that order), those whose arguments are all non-NULL and whose
/// (group, arguments) pair no earlier row of `idx` had: `agg(DISTINCT ...)`'s rows, in
/// the order of their first occurrence.
fn first_distinct_rows(
    args: &[ArrayRef],
    groups: &[usize],
    idx: &UInt32Array,
) -> Result<UInt32Array> {
    let fields = args
        .iter()
        .map(|a| SortField::new(a.data_type().clone()))
        .collect();
    let rows = RowConverter::new(fields)?.convert_columns(args)?;
    let mut seen: HashSet<(usize, &[u8])> = HashSet::new();
    let mut keep = vec![];
    for &i in idx.values() {
        let r = i as usize;
        if all_valid(args, r) && seen.insert((groups[r], rows.row(r).data())) {
            keep.push(i);
        }
    }
    Ok(UInt32Array::from(keep))
}

/// The accumulator for an Aggregate node's call: [`create_accumulator`]'s, or an
/// [`OrderedAcc`] around it when the call has an ORDER BY inside.
pub fn accumulator_for(a: &crate::plan::AggregateExpr) -> Result<Box<dyn Accumulator>> {
    let types: Vec<DataType> = a.value_args().iter().map(|e| e.data_type()).collect();
    if a.order.is_empty() {
        return create_accumulator(&a.func, a.distinct, &types, &a.data_type);
    }
    // built now so that a bad call fails before any row is read
    create_accumulator(&a.func, a.distinct, &types, &a.data_type)?;
    Ok(Box::new(OrderedAcc {
        func: a.func.clone(),
        distinct: a.distinct,
        arg_types: types,
        result_type: a.data_type.clone(),
        order: a.order.clone(),
        batches: vec![],
    }))
}

/// An aggregate with an ORDER BY inside its call (`array_agg(x ORDER BY y DESC)`):
/// keeps every row's arguments, sort keys and group, then at `finish` sorts them by
/// (group, keys, arrival) with arrow's `lexsort_to_indices` and feeds them, in that
/// order, to the plain accumulator, which sees each group's rows in key order (with
/// DISTINCT, each value's first row only). Memory: all the input rows of the call (as
/// DuckDB's ordered aggregates).
pub struct OrderedAcc {
    func: AggFunc,
    distinct: bool,
    /// Types of the value arguments (the keys follow them in each batch).
    arg_types: Vec<DataType>,
    result_type: DataType,
    order: Vec<crate::plan::AggOrder>,
    /// Argument and key arrays of each batch, with each row's group.
    batches: Vec<(Vec<ArrayRef>, Vec<usize>)>,
}

impl Accumulator for OrderedAcc {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], _num_groups: usize) -> Result<()> {
        self.batches.push((args.to_vec(), groups.to_vec()));
        Ok(())
    }
    fn merge(
        &mut self,
        other: Box<dyn Accumulator>,
        mapping: &[usize],
        _num_groups: usize,
    ) -> Result<()> {
        let other = downcast::<OrderedAcc>(other)?;
        for (args, groups) in other.batches {
            let groups = groups
                .iter()
                .map(|&g| {
                    mapping.get(g).copied().ok_or_else(|| {
                        QuarryError::Internal("ordered aggregate: group outside the mapping".into())
                    })
                })
                .collect::<Result<Vec<usize>>>()?;
            self.batches.push((args, groups));
        }
        Ok(())
    }
    fn finish(&mut self, num_groups: usize) -> Result<ArrayRef> {
        // DISTINCT is applied here, after the sort, keeping each value's first row: the
        // binder made every key one of the arguments, so duplicates sort alike
        let mut inner = create_accumulator(&self.func, false, &self.arg_types, &self.result_type)?;
        let batches = std::mem::take(&mut self.batches);
        if batches.is_empty() {
            return inner.finish(num_groups);
        }
        let ncols = self.arg_types.len() + self.order.len();
        if batches.iter().any(|(a, _)| a.len() != ncols) {
            return Err(QuarryError::Internal(
                "ordered aggregate: argument count".into(),
            ));
        }
        let mut columns: Vec<ArrayRef> = vec![];
        for c in 0..ncols {
            let parts: Vec<&dyn Array> = batches.iter().map(|(a, _)| a[c].as_ref()).collect();
            columns.push(arrow::compute::concat(&parts)?);
        }
        let groups: Vec<usize> = batches
            .iter()
            .flat_map(|(_, g)| g.iter().copied())
            .collect();
        if !groups.is_empty() {
            let n = groups.len();
            let mut sort = vec![arrow::compute::SortColumn {
                values: Arc::new(UInt64Array::from_iter_values(
                    groups.iter().map(|&g| g as u64),
                )),
                options: None,
            }];
            let nargs = self.arg_types.len();
            for (k, d) in columns[nargs..].iter().zip(&self.order) {
                sort.push(arrow::compute::SortColumn {
                    values: k.clone(),
                    options: Some(arrow::compute::SortOptions {
                        descending: !d.asc,
                        nulls_first: d.nulls_first,
                    }),
                });
            }
            // arrival order breaks ties, so equal keys keep the input's order
            sort.push(arrow::compute::SortColumn {
                values: Arc::new(UInt64Array::from_iter_values(0..n as u64)),
                options: None,
            });
            let mut idx = arrow::compute::lexsort_to_indices(&sort, None)?;
            if self.distinct {
                idx = first_distinct_rows(&columns[..nargs], &groups, &idx)?;
            }
            let args: Vec<ArrayRef> = columns[..nargs]
                .iter()
                .map(|c| arrow::compute::take(c, &idx, None).map_err(QuarryError::from))
                .collect::<Result<_>>()?;
            let sorted_groups: Vec<usize> =
                idx.values().iter().map(|&i| groups[i as usize]).collect();
            inner.update(&args, &sorted_groups, num_groups)?;
        }
        inner.finish(num_groups)
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// Build the accumulator for a call. `input_type` is the value argument's type after casting.
pub fn create_accumulator(
    func: &AggFunc,
    distinct: bool,
    arg_types: &[DataType],
    result_type: &DataType,
) -> Result<Box<dyn Accumulator>> {
    if distinct && !matches!(func, AggFunc::Min | AggFunc::Max) {
        if let [t @ (DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64)] =
            arg_types
        {
            return Ok(Box::new(DistinctIntAcc {
                table: hashbrown::HashTable::new(),
                func: func.clone(),
                arg_type: t.clone(),
                result_type: result_type.clone(),
            }));
        }
        let fields = arg_types
            .iter()
            .map(|t| SortField::new(t.clone()))
            .collect();
        let inner_func = func.clone();
        let arg_types = arg_types.to_vec();
        let rt = result_type.clone();
        return Ok(Box::new(DistinctAcc {
            converter: RowConverter::new(fields)?,
            hasher: ahash::RandomState::with_seeds(0x3b, 0x5e, 0x91, 0x0d),
            table: hashbrown::HashTable::new(),
            arena: vec![],
            func: inner_func,
            arg_types,
            result_type: rt,
        }));
    }
    Ok(match func {
        AggFunc::Count => Box::new(CountAcc { counts: vec![] }),
        AggFunc::Sum | AggFunc::TrySum => match result_type {
            DataType::Int64 => Box::new(SumI64 {
                sums: vec![],
                seen: vec![],
                overflowed: (*func == AggFunc::TrySum).then(Vec::new),
            }),
            DataType::Decimal128(_, _) => Box::new(SumDecimal {
                sums: DecimalSums::Narrow(vec![]),
                seen: vec![],
                counts: None,
                result_type: result_type.clone(),
            }),
            _ => Box::new(SumF64 {
                sums: vec![],
                seen: vec![],
                counts: None,
            }),
        },
        AggFunc::Avg => match result_type {
            DataType::Decimal128(_, _) => Box::new(SumDecimal {
                sums: DecimalSums::Narrow(vec![]),
                seen: vec![],
                counts: Some(vec![]),
                result_type: result_type.clone(),
            }),
            _ => Box::new(SumF64 {
                sums: vec![],
                seen: vec![],
                counts: Some(vec![]),
            }),
        },
        AggFunc::Min | AggFunc::Max => Box::new(MinMaxAcc {
            converter: RowConverter::new(vec![SortField::new(arg_types[0].clone())])?,
            data_type: arg_types[0].clone(),
            best: vec![],
            order: if *func == AggFunc::Max {
                Pick::Max
            } else {
                Pick::Min
            },
            ignore_nulls: true,
        }),
        AggFunc::First { ignore_nulls } | AggFunc::Last { ignore_nulls } => Box::new(MinMaxAcc {
            converter: RowConverter::new(vec![SortField::new(arg_types[0].clone())])?,
            data_type: arg_types[0].clone(),
            best: vec![],
            order: if matches!(func, AggFunc::Last { .. }) {
                Pick::Last
            } else {
                Pick::First
            },
            ignore_nulls: *ignore_nulls,
        }),
        AggFunc::SingleValue => Box::new(MinMaxAcc {
            converter: RowConverter::new(vec![SortField::new(arg_types[0].clone())])?,
            data_type: arg_types[0].clone(),
            best: vec![],
            order: Pick::Single,
            ignore_nulls: false,
        }),
        AggFunc::MaxBy | AggFunc::MinBy => Box::new(ByAcc {
            values: RowConverter::new(vec![SortField::new(arg_types[0].clone())])?,
            keys: RowConverter::new(vec![SortField::new(arg_types[1].clone())])?,
            data_type: arg_types[0].clone(),
            best: vec![],
            max: *func == AggFunc::MaxBy,
        }),
        AggFunc::CountIf => Box::new(CountIfAcc { counts: vec![] }),
        AggFunc::BitAnd | AggFunc::BitOr | AggFunc::BitXor => Box::new(BitAcc {
            func: func.clone(),
            vals: vec![],
            result_type: result_type.clone(),
        }),
        AggFunc::Mode => Box::new(ModeAcc {
            converter: RowConverter::new(vec![SortField::new(arg_types[0].clone())])?,
            data_type: arg_types[0].clone(),
            counts: vec![],
        }),
        AggFunc::CoMoment(f) => Box::new(super::aggregate_stats::CoMomentAcc::new(*f)),
        AggFunc::Skewness | AggFunc::Kurtosis => Box::new(super::aggregate_stats::MomentsAcc::new(
            *func == AggFunc::Kurtosis,
        )),
        AggFunc::Median | AggFunc::Percentile(_) => {
            let p = if let AggFunc::Percentile(p) = func {
                *p
            } else {
                0.5
            };
            Box::new(PercentileAcc { values: vec![], p })
        }
        AggFunc::PercentileApprox(p) => Box::new(PercentileDiscAcc {
            converter: RowConverter::new(vec![SortField::new(arg_types[0].clone())])?,
            data_type: arg_types[0].clone(),
            values: vec![],
            p: *p,
        }),
        AggFunc::StddevSamp
        | AggFunc::StddevPop
        | AggFunc::VarSamp
        | AggFunc::VarPop
        | AggFunc::Sem => Box::new(VarianceAcc {
            state: vec![],
            func: func.clone(),
        }),
        AggFunc::KahanSum => Box::new(KahanAcc { state: vec![] }),
        AggFunc::CollectList | AggFunc::CollectSet => Box::new(CollectAcc {
            converter: RowConverter::new(vec![SortField::new(arg_types[0].clone())])?,
            result_type: result_type.clone(),
            values: vec![],
            seen: (*func == AggFunc::CollectSet).then(Vec::new),
        }),
        AggFunc::HistogramNumeric(nb) => Box::new(HistogramAcc {
            nb: *nb,
            bins: vec![],
            result_type: result_type.clone(),
        }),
        AggFunc::BoolAnd | AggFunc::BoolOr => Box::new(BoolAcc {
            vals: vec![],
            and: *func == AggFunc::BoolAnd,
        }),
    })
}

/// Decode one arrow-row encoded value per group (`None`: the group has none, NULL).
fn decode_rows<'a>(
    converter: &RowConverter,
    data_type: &DataType,
    rows: impl Iterator<Item = Option<&'a [u8]>>,
) -> Result<ArrayRef> {
    let parser = converter.parser();
    let null_rows = converter.convert_columns(&[new_null_array(data_type, 1)])?;
    let null_row = null_rows.row(0);
    let rows: Vec<arrow::row::Row> = rows
        .map(|b| match b {
            Some(b) => parser.parse(b),
            None => null_row,
        })
        .collect();
    let mut cols = converter.convert_rows(rows)?;
    Ok(cols.remove(0))
}

/// max_by / min_by: per group the ordering key's and the value's arrow-row encodings.
struct ByAcc {
    values: RowConverter,
    keys: RowConverter,
    data_type: DataType,
    /// (key, value) of the best row so far.
    best: Vec<Option<(Vec<u8>, Vec<u8>)>>,
    max: bool,
}
impl ByAcc {
    fn offer(&mut self, g: usize, key: &[u8], value: &[u8]) {
        let better = match &self.best[g] {
            None => true,
            Some((k, _)) => {
                if self.max {
                    key > k.as_slice()
                } else {
                    key < k.as_slice()
                }
            }
        };
        if better {
            self.best[g] = Some((key.to_vec(), value.to_vec()));
        }
    }
}
impl Accumulator for ByAcc {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], n: usize) -> Result<()> {
        self.best.resize(n, None);
        let values = self.values.convert_columns(&args[..1])?;
        let keys = self.keys.convert_columns(&args[1..2])?;
        for (i, &g) in groups.iter().enumerate() {
            if is_value(&args[1], i) {
                self.offer(g, keys.row(i).as_ref(), values.row(i).as_ref());
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], n: usize) -> Result<()> {
        let o = downcast::<ByAcc>(other)?;
        self.best.resize(n, None);
        for (g, b) in o.best.into_iter().enumerate() {
            if let Some((k, v)) = b {
                self.offer(mapping[g], &k, &v);
            }
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        self.best.resize(n, None);
        decode_rows(
            &self.values,
            &self.data_type,
            self.best
                .iter()
                .map(|b| b.as_ref().map(|(_, v)| v.as_slice())),
        )
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// count_if(p): the rows where p is true.
struct CountIfAcc {
    counts: Vec<i64>,
}
impl Accumulator for CountIfAcc {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], n: usize) -> Result<()> {
        self.counts.resize(n, 0);
        let a = args[0].as_boolean();
        for (i, &g) in groups.iter().enumerate() {
            if a.is_valid(i) && a.value(i) {
                self.counts[g] += 1;
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], n: usize) -> Result<()> {
        let o = downcast::<CountIfAcc>(other)?;
        self.counts.resize(n, 0);
        for (g, c) in o.counts.into_iter().enumerate() {
            self.counts[mapping[g]] += c;
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        self.counts.resize(n, 0);
        Ok(Arc::new(Int64Array::from(self.counts.clone())))
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// bit_and / bit_or / bit_xor over integers widened to i64, finished as the input type
/// (every result fits it: the operations never set a bit beyond the sign extension).
struct BitAcc {
    func: AggFunc,
    vals: Vec<Option<i64>>,
    result_type: DataType,
}
impl BitAcc {
    #[inline]
    fn fold(&mut self, g: usize, v: i64) {
        self.vals[g] = Some(match (self.vals[g], &self.func) {
            (None, _) => v,
            (Some(o), AggFunc::BitAnd) => o & v,
            (Some(o), AggFunc::BitOr) => o | v,
            (Some(o), _) => o ^ v,
        });
    }
}
impl Accumulator for BitAcc {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], n: usize) -> Result<()> {
        self.vals.resize(n, None);
        let a = args[0].as_primitive::<Int64Type>();
        for (i, &g) in groups.iter().enumerate() {
            if a.is_valid(i) {
                self.fold(g, a.value(i));
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], n: usize) -> Result<()> {
        let o = downcast::<BitAcc>(other)?;
        self.vals.resize(n, None);
        for (g, v) in o.vals.into_iter().enumerate() {
            if let Some(v) = v {
                self.fold(mapping[g], v);
            }
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        self.vals.resize(n, None);
        let out: ArrayRef = Arc::new(Int64Array::from(self.vals.clone()));
        Ok(cast(&out, &self.result_type)?)
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// mode(x): per group a count per distinct value (arrow-row encoded); finished to the
/// most frequent, ties to the smallest value.
struct ModeAcc {
    converter: RowConverter,
    data_type: DataType,
    counts: Vec<hashbrown::HashMap<Box<[u8]>, u64>>,
}
impl Accumulator for ModeAcc {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], n: usize) -> Result<()> {
        self.counts.resize_with(n, Default::default);
        let rows = self.converter.convert_columns(&args[..1])?;
        for (i, &g) in groups.iter().enumerate() {
            if is_value(&args[0], i) {
                let r = rows.row(i);
                match self.counts[g].get_mut(r.as_ref()) {
                    Some(c) => *c += 1,
                    None => {
                        self.counts[g].insert(r.as_ref().into(), 1);
                    }
                }
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], n: usize) -> Result<()> {
        let o = downcast::<ModeAcc>(other)?;
        self.counts.resize_with(n, Default::default);
        for (g, m) in o.counts.into_iter().enumerate() {
            let t = &mut self.counts[mapping[g]];
            for (k, c) in m {
                *t.entry(k).or_insert(0) += c;
            }
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        self.counts.resize_with(n, Default::default);
        let best = self.counts.iter().map(|m| {
            m.iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(k, _)| &k[..])
        });
        decode_rows(&self.converter, &self.data_type, best)
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// Whether row `i` of `a` holds a value: not NULL, and `a` is not of the NULL type
/// (a `NullArray` has no validity buffer, so `is_valid` says true for its rows).
#[inline]
fn is_value(a: &ArrayRef, i: usize) -> bool {
    a.is_valid(i) && *a.data_type() != DataType::Null
}

/// Rows where every argument is non-null.
fn all_valid(args: &[ArrayRef], i: usize) -> bool {
    args.iter().all(|a| is_value(a, i))
}

struct CountAcc {
    counts: Vec<i64>,
}
impl Accumulator for CountAcc {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], n: usize) -> Result<()> {
        self.counts.resize(n, 0);
        if args.is_empty() || args.iter().all(|a| a.logical_null_count() == 0) {
            add_by_group(&mut self.counts, groups, |_| 1, |x, y| x + y);
        } else {
            for (i, &g) in groups.iter().enumerate() {
                if all_valid(args, i) {
                    self.counts[g] += 1;
                }
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], n: usize) -> Result<()> {
        let o = downcast::<CountAcc>(other)?;
        self.counts.resize(n, 0);
        for (g, c) in o.counts.iter().enumerate() {
            self.counts[mapping[g]] += c;
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        self.counts.resize(n, 0);
        Ok(Arc::new(Int64Array::from(std::mem::take(&mut self.counts))))
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// sum of integers as a bigint: wraps on overflow as Spark's non-ANSI `sum` does, or for
/// `try_sum` (`overflowed` is Some) turns the group's result NULL.
struct SumI64 {
    sums: Vec<i64>,
    seen: Vec<bool>,
    overflowed: Option<Vec<bool>>,
}
impl SumI64 {
    #[inline]
    fn add(&mut self, g: usize, v: i64) {
        match &mut self.overflowed {
            None => self.sums[g] = self.sums[g].wrapping_add(v),
            Some(o) => match self.sums[g].checked_add(v) {
                Some(s) => self.sums[g] = s,
                None => o[g] = true,
            },
        }
        self.seen[g] = true;
    }
    fn resize(&mut self, n: usize) {
        self.sums.resize(n, 0);
        self.seen.resize(n, false);
        if let Some(o) = &mut self.overflowed {
            o.resize(n, false);
        }
    }
}
impl Accumulator for SumI64 {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], n: usize) -> Result<()> {
        self.resize(n);
        let a = args[0].as_primitive::<Int64Type>();
        for (i, &g) in groups.iter().enumerate() {
            if a.is_valid(i) {
                self.add(g, a.value(i));
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], n: usize) -> Result<()> {
        let o = downcast::<SumI64>(other)?;
        self.resize(n);
        for g in 0..o.sums.len() {
            if o.seen[g] {
                let t = mapping[g];
                self.add(t, o.sums[g]);
                if let (Some(mine), Some(theirs)) = (&mut self.overflowed, &o.overflowed) {
                    mine[t] |= theirs[g];
                }
            }
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        self.resize(n);
        let overflowed = self.overflowed.as_deref();
        Ok(Arc::new(
            (0..n)
                .map(|g| {
                    (self.seen[g] && !overflowed.is_some_and(|o| o[g])).then_some(self.sums[g])
                })
                .collect::<Int64Array>(),
        ))
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// sum / avg over doubles (`counts` is Some for avg).
struct SumF64 {
    sums: Vec<f64>,
    seen: Vec<bool>,
    counts: Option<Vec<i64>>,
}
impl Accumulator for SumF64 {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], n: usize) -> Result<()> {
        self.sums.resize(n, 0.0);
        self.seen.resize(n, false);
        if let Some(c) = &mut self.counts {
            c.resize(n, 0);
        }
        let a = args[0].as_primitive::<Float64Type>();
        for (i, &g) in groups.iter().enumerate() {
            if a.is_valid(i) {
                self.sums[g] += a.value(i);
                self.seen[g] = true;
                if let Some(c) = &mut self.counts {
                    c[g] += 1;
                }
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], n: usize) -> Result<()> {
        let o = downcast::<SumF64>(other)?;
        self.sums.resize(n, 0.0);
        self.seen.resize(n, false);
        if let Some(c) = &mut self.counts {
            c.resize(n, 0);
        }
        for g in 0..o.sums.len() {
            if o.seen[g] {
                let t = mapping[g];
                self.sums[t] += o.sums[g];
                self.seen[t] = true;
                if let (Some(c), Some(oc)) = (&mut self.counts, &o.counts) {
                    c[t] += oc[g];
                }
            }
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        self.sums.resize(n, 0.0);
        self.seen.resize(n, false);
        let out: Float64Array = match &mut self.counts {
            Some(c) => {
                c.resize(n, 0);
                (0..n)
                    .map(|g| self.seen[g].then(|| self.sums[g] / c[g] as f64))
                    .collect()
            }
            None => (0..n)
                .map(|g| self.seen[g].then_some(self.sums[g]))
                .collect(),
        };
        Ok(Arc::new(out))
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// `acc[groups[i]] = add(acc[groups[i]], value(i))` for every row `i`. With few groups
/// and many rows, consecutive rows go to four interleaved partial results per group, so
/// rows of one group do not each wait for the previous row's store to that group (a
/// dependency chain that bounds aggregation over a handful of groups, as TPC-H Q01's).
fn add_by_group<T: Copy + Default>(
    acc: &mut [T],
    groups: &[usize],
    value: impl Fn(usize) -> T,
    add: impl Fn(T, T) -> T,
) {
    const LANES: usize = 4;
    if acc.len() > 1024 || groups.len() < 1024 {
        for (i, &g) in groups.iter().enumerate() {
            acc[g] = add(acc[g], value(i));
        }
        return;
    }
    let mut part = vec![[T::default(); LANES]; acc.len()];
    let whole = groups.len() / LANES * LANES;
    for (k, gs) in groups[..whole].chunks_exact(LANES).enumerate() {
        for (l, &g) in gs.iter().enumerate() {
            part[g][l] = add(part[g][l], value(k * LANES + l));
        }
    }
    for (i, &g) in groups.iter().enumerate().skip(whole) {
        acc[g] = add(acc[g], value(i));
    }
    for (a, p) in acc.iter_mut().zip(&part) {
        *a = p.iter().fold(*a, |x, y| add(x, *y));
    }
}

/// Whether every value lies within the decimal type's precision (below `10^p` in
/// magnitude): arrow does not check what a parquet file declares.
fn within_precision(values: &[i128], t: &DataType) -> bool {
    let DataType::Decimal128(p, _) = t else {
        return false;
    };
    let Some(bound) = 10i128.checked_pow(*p as u32) else {
        return true;
    };
    values.iter().all(|v| -bound < *v && *v < bound)
}

/// Whether `rows` values of decimal type `t` (each below `10^p` in magnitude) sum
/// within an i64.
fn fits_i64_sum(t: &DataType, rows: usize) -> bool {
    match t {
        DataType::Decimal128(p, _) if *p <= 18 => 10i128
            .checked_pow(*p as u32)
            .and_then(|b| b.checked_mul(rows as i128))
            .is_some_and(|total| total <= i64::MAX as i128),
        _ => false,
    }
}

/// Per-group decimal sums (unscaled): 64-bit words while every sum fits in one (half
/// the memory of a wide sum: TPC-H Q18 sums 15 M groups at SF10), 128-bit ones from
/// the first value or sum that does not, as the result type needs in general.
enum DecimalSums {
    Narrow(Vec<i64>),
    Wide(Vec<i128>),
}

impl DecimalSums {
    fn len(&self) -> usize {
        match self {
            DecimalSums::Narrow(v) => v.len(),
            DecimalSums::Wide(v) => v.len(),
        }
    }

    fn resize(&mut self, n: usize) {
        match self {
            DecimalSums::Narrow(v) => v.resize(n, 0),
            DecimalSums::Wide(v) => v.resize(n, 0),
        }
    }

    fn get(&self, g: usize) -> i128 {
        match self {
            DecimalSums::Narrow(v) => v[g] as i128,
            DecimalSums::Wide(v) => v[g],
        }
    }

    /// Add `v` to group `g`'s sum (wrapping at 128 bits, as the wide sums always did);
    /// the first sum that leaves 64 bits widens them all.
    #[inline]
    fn add(&mut self, g: usize, v: i128) {
        match self {
            DecimalSums::Narrow(s) => {
                if let Some(x) = i64::try_from(v).ok().and_then(|v| s[g].checked_add(v)) {
                    s[g] = x;
                    return;
                }
                let mut w: Vec<i128> = s.iter().map(|&x| x as i128).collect();
                w[g] = w[g].wrapping_add(v);
                *self = DecimalSums::Wide(w);
            }
            DecimalSums::Wide(w) => w[g] = w[g].wrapping_add(v),
        }
    }
}

/// sum / avg over decimals, as i128 at the input scale. Per group: the sum, and for sum
/// whether the group saw a value (1 byte), for avg the count of values (its divisor).
struct SumDecimal {
    sums: DecimalSums,
    /// sum only (avg's counts say it).
    seen: Vec<bool>,
    /// avg only.
    counts: Option<Vec<i64>>,
    result_type: DataType,
}
impl SumDecimal {
    fn resize(&mut self, n: usize) {
        self.sums.resize(n);
        match &mut self.counts {
            Some(c) => c.resize(n, 0),
            None => self.seen.resize(n, false),
        }
    }

    /// Add `count` values summing to `sum` to group `g`.
    #[inline]
    fn add(&mut self, g: usize, sum: i128, count: i64) {
        self.sums.add(g, sum);
        match &mut self.counts {
            Some(c) => c[g] += count,
            None => self.seen[g] = true,
        }
    }

    /// The values group `g` saw (for sum: 1 for any).
    fn count(&self, g: usize) -> i64 {
        match &self.counts {
            Some(c) => c[g],
            None => self.seen[g] as i64,
        }
    }
}
impl Accumulator for SumDecimal {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], n: usize) -> Result<()> {
        self.resize(n);
        let a = args[0].as_primitive::<Decimal128Type>();
        if a.null_count() == 0 {
            // no validity checks in the common case
            let values = a.values();
            if n <= 1024
                && groups.len() >= 1024
                && fits_i64_sum(a.data_type(), groups.len())
                && within_precision(values, a.data_type())
            {
                // as below, in 64 bits: the type bounds every value below 10^p, and this
                // many of them cannot overflow (decimal(15, 2) columns, 8,192 rows); a
                // file whose values break its declared precision takes the wide path
                let mut part = vec![(0i64, 0i64); n];
                add_by_group(
                    &mut part,
                    groups,
                    |i| (values[i] as i64, 1),
                    |x, y| (x.0.wrapping_add(y.0), x.1 + y.1),
                );
                for (g, (sum, count)) in part.into_iter().enumerate() {
                    if count > 0 {
                        self.add(g, sum as i128, count);
                    }
                }
                return Ok(());
            }
            if n <= 1024 && groups.len() >= 1024 {
                // few groups, many rows: interleaved partial sums and counts, added
                // once per group
                let mut part = vec![(0i128, 0i64); n];
                add_by_group(
                    &mut part,
                    groups,
                    |i| (values[i], 1),
                    |x, y| (x.0.wrapping_add(y.0), x.1 + y.1),
                );
                for (g, (sum, count)) in part.into_iter().enumerate() {
                    if count > 0 {
                        self.add(g, sum, count);
                    }
                }
                return Ok(());
            }
            // one pass: sum and count (or seen) per row
            let sums = &mut self.sums;
            match &mut self.counts {
                Some(c) => {
                    for (&g, &v) in groups.iter().zip(values.iter()) {
                        sums.add(g, v);
                        c[g] += 1;
                    }
                }
                None => {
                    for (&g, &v) in groups.iter().zip(values.iter()) {
                        sums.add(g, v);
                        self.seen[g] = true;
                    }
                }
            }
            return Ok(());
        }
        for (i, &g) in groups.iter().enumerate() {
            if a.is_valid(i) {
                self.add(g, a.value(i), 1);
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], n: usize) -> Result<()> {
        let o = downcast::<SumDecimal>(other)?;
        self.resize(n);
        for g in 0..o.sums.len() {
            let count = o.count(g);
            if count > 0 {
                self.add(mapping[g], o.sums.get(g), count);
            }
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        let result_type = self.result_type.clone();
        let avg = self.counts.is_some();
        self.finish_as(n, &result_type, avg)
    }
    fn finish_sum(&mut self, n: usize, result_type: &DataType) -> Option<Result<ArrayRef>> {
        self.counts
            .is_some()
            .then(|| self.finish_as(n, result_type, false))
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

impl SumDecimal {
    /// The sums (or with `avg`, the averages) per group as `result_type`.
    fn finish_as(&mut self, n: usize, result_type: &DataType, avg: bool) -> Result<ArrayRef> {
        self.resize(n);
        let DataType::Decimal128(p, s) = *result_type else {
            return Err(QuarryError::Internal("decimal sum type".into()));
        };
        // one pass into the values and a validity mask (a group with no value, or whose
        // result is beyond the precision, as Spark's non-ANSI overflow, is NULL)
        let max = 10i128.pow(p as u32);
        let value = |g: usize| -> Option<i128> {
            let (sum, count) = (self.sums.get(g), self.count(g));
            if count == 0 {
                return None;
            }
            if !avg {
                return Some(sum);
            }
            // avg: scale grows by 4; round half up
            let num = sum.checked_mul(10_000)?;
            let d = count as i128;
            let (q, r) = (num / d, num % d);
            Some(if r.abs() * 2 >= d {
                q + num.signum()
            } else {
                q
            })
        };
        let mut valid = BooleanBufferBuilder::new(n);
        let values: Vec<i128> = (0..n)
            .map(|g| {
                let v = value(g).filter(|v| v.abs() < max);
                valid.append(v.is_some());
                v.unwrap_or(0)
            })
            .collect();
        let nulls = Some(NullBuffer::new(valid.finish())).filter(|nb| nb.null_count() > 0);
        let out = Decimal128Array::new(values.into(), nulls);
        Ok(Arc::new(out.with_precision_and_scale(p, s)?))
    }
}

/// min / max / first over any type, comparing arrow-row encodings (which order as the values do).
/// Which value of a group a [`MinMaxAcc`] keeps.
#[derive(Clone, Copy, PartialEq)]
enum Pick {
    Min,
    Max,
    First,
    Last,
    /// At most one row per group (see [`AggFunc::SingleValue`]).
    Single,
}

/// min / max / first / last: one arrow-row encoded value per group (a NULL value has an
/// encoding too, kept by first/last unless they ignore NULLs).
struct MinMaxAcc {
    converter: RowConverter,
    data_type: DataType,
    best: Vec<Option<Vec<u8>>>,
    order: Pick,
    ignore_nulls: bool,
}
impl MinMaxAcc {
    fn offer(&mut self, g: usize, row: &[u8]) -> Result<()> {
        let better = match &self.best[g] {
            None => true,
            Some(b) => match self.order {
                Pick::Single => {
                    return Err(QuarryError::Execution(
                        "[SCALAR_SUBQUERY_TOO_MANY_ROWS] More than one row returned by a subquery used as an expression".into(),
                    ))
                }
                Pick::First => false,
                Pick::Last => true,
                Pick::Max => row > b.as_slice(),
                Pick::Min => row < b.as_slice(),
            },
        };
        if better {
            self.best[g] = Some(row.to_vec());
        }
        Ok(())
    }
}
impl Accumulator for MinMaxAcc {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], n: usize) -> Result<()> {
        self.best.resize(n, None);
        let rows = self.converter.convert_columns(&args[..1])?;
        for (i, &g) in groups.iter().enumerate() {
            if !self.ignore_nulls || is_value(&args[0], i) {
                self.offer(g, rows.row(i).as_ref())?;
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], n: usize) -> Result<()> {
        let o = downcast::<MinMaxAcc>(other)?;
        self.best.resize(n, None);
        for (g, b) in o.best.into_iter().enumerate() {
            if let Some(b) = b {
                self.offer(mapping[g], &b)?;
            }
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        self.best.resize(n, None);
        decode_rows(
            &self.converter,
            &self.data_type,
            self.best.iter().map(|b| b.as_deref()),
        )
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// median / percentile: exact with linear interpolation (Spark's `percentile`).
struct PercentileAcc {
    values: Vec<Vec<f64>>,
    p: f64,
}
impl Accumulator for PercentileAcc {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], n: usize) -> Result<()> {
        self.values.resize(n, vec![]);
        let a = args[0].as_primitive::<Float64Type>();
        for (i, &g) in groups.iter().enumerate() {
            if a.is_valid(i) {
                self.values[g].push(a.value(i));
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], n: usize) -> Result<()> {
        let o = downcast::<PercentileAcc>(other)?;
        self.values.resize(n, vec![]);
        for (g, v) in o.values.into_iter().enumerate() {
            self.values[mapping[g]].extend(v);
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        self.values.resize(n, vec![]);
        let p = self.p;
        let out: Float64Array = self
            .values
            .iter_mut()
            .map(|v| {
                if v.is_empty() {
                    return None;
                }
                v.sort_by(|a, b| a.total_cmp(b));
                let pos = p * (v.len() - 1) as f64;
                let lo = pos.floor() as usize;
                let hi = pos.ceil() as usize;
                Some(if lo == hi {
                    v[lo]
                } else {
                    v[lo] + (pos - lo as f64) * (v[hi] - v[lo])
                })
            })
            .collect();
        Ok(Arc::new(out))
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// percentile_approx: the value at rank `ceil(p * n)` of the sorted group (a value of the
/// input, of the input type), as Spark's `ApproximatePercentile` returns for exact summaries.
struct PercentileDiscAcc {
    converter: RowConverter,
    data_type: DataType,
    values: Vec<Vec<Vec<u8>>>,
    p: f64,
}
impl Accumulator for PercentileDiscAcc {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], n: usize) -> Result<()> {
        self.values.resize(n, vec![]);
        let rows = self.converter.convert_columns(&args[..1])?;
        for (i, &g) in groups.iter().enumerate() {
            if is_value(&args[0], i) {
                self.values[g].push(rows.row(i).as_ref().to_vec());
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], n: usize) -> Result<()> {
        let o = downcast::<PercentileDiscAcc>(other)?;
        self.values.resize(n, vec![]);
        for (g, v) in o.values.into_iter().enumerate() {
            self.values[mapping[g]].extend(v);
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        self.values.resize(n, vec![]);
        let dt = self.data_type.clone();
        let null_rows = self.converter.convert_columns(&[new_null_array(&dt, 1)])?;
        let null_row = null_rows.row(0);
        let parser = self.converter.parser();
        let mut picked: Vec<arrow::row::Row> = Vec::with_capacity(n);
        for v in self.values.iter_mut() {
            if v.is_empty() {
                picked.push(null_row);
                continue;
            }
            v.sort_unstable();
            let rank = (self.p * v.len() as f64).ceil() as usize;
            let idx = rank.max(1).min(v.len()) - 1;
            picked.push(parser.parse(&v[idx]));
        }
        let mut cols = self.converter.convert_rows(picked)?;
        Ok(cols.remove(0))
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// collect_list / collect_set: each group's non-NULL values (arrow-row encoded) in the
/// order seen; collect_set keeps the first of equal values.
struct CollectAcc {
    converter: RowConverter,
    result_type: DataType,
    values: Vec<Vec<Vec<u8>>>,
    seen: Option<Vec<HashSet<Vec<u8>>>>,
}
impl CollectAcc {
    fn push(&mut self, g: usize, row: &[u8]) {
        if let Some(seen) = &mut self.seen {
            if !seen[g].insert(row.to_vec()) {
                return;
            }
        }
        self.values[g].push(row.to_vec());
    }
    fn resize(&mut self, n: usize) {
        self.values.resize(n, vec![]);
        if let Some(seen) = &mut self.seen {
            seen.resize(n, HashSet::new());
        }
    }
}
impl Accumulator for CollectAcc {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], n: usize) -> Result<()> {
        self.resize(n);
        let rows = self.converter.convert_columns(&args[..1])?;
        for (i, &g) in groups.iter().enumerate() {
            if is_value(&args[0], i) {
                self.push(g, rows.row(i).as_ref());
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], n: usize) -> Result<()> {
        let o = downcast::<CollectAcc>(other)?;
        self.resize(n);
        for (g, v) in o.values.into_iter().enumerate() {
            for r in v {
                self.push(mapping[g], &r);
            }
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        self.resize(n);
        let parser = self.converter.parser();
        let rows: Vec<arrow::row::Row> = self
            .values
            .iter()
            .flatten()
            .map(|r| parser.parse(r))
            .collect();
        let DataType::List(field) = &self.result_type else {
            return Err(QuarryError::Internal("collect_list result type".into()));
        };
        let values = if rows.is_empty() {
            new_empty_array(field.data_type())
        } else {
            self.converter.convert_rows(rows)?.remove(0)
        };
        let lengths = self.values.iter().map(|v| v.len());
        Ok(Arc::new(ListArray::try_new(
            field.clone(),
            arrow::buffer::OffsetBuffer::from_lengths(lengths),
            values,
            None,
        )?))
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// histogram_numeric: per group, Hive's NumericHistogram (Ben-Haim and Tom-Tov's
/// streaming histogram): bins sorted by centre; a value equal to a centre adds to its
/// height, another value makes a new bin, and while there are more than `nb` bins the
/// two closest merge into their height-weighted mean. Ties between equally close pairs
/// are broken by java.util.Random seeded 31183, as Hive and Spark do, so results match.
struct HistogramAcc {
    nb: usize,
    bins: Vec<Histogram>,
    result_type: DataType,
}

/// One group's bins (centre, height) and its tie-breaking random sequence.
#[derive(Clone)]
struct Histogram {
    bins: Vec<(f64, f64)>,
    rng: JavaRandom,
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            bins: vec![],
            rng: JavaRandom::new(31183),
        }
    }
    fn add(&mut self, v: f64, nb: usize) {
        // the first bin whose centre is >= v
        let i = self.bins.partition_point(|b| b.0 < v);
        if i < self.bins.len() && self.bins[i].0 == v {
            self.bins[i].1 += 1.0;
        } else {
            self.bins.insert(i, (v, 1.0));
            self.trim(nb);
        }
    }
    fn trim(&mut self, nb: usize) {
        while self.bins.len() > nb {
            let mut best = 0;
            let mut smallest = self.bins[1].0 - self.bins[0].0;
            let mut ties = 1u32;
            for i in 1..self.bins.len() - 1 {
                let d = self.bins[i + 1].0 - self.bins[i].0;
                if d < smallest {
                    smallest = d;
                    best = i;
                    ties = 1;
                } else if d == smallest {
                    ties += 1;
                    if self.rng.next_double() <= 1.0 / ties as f64 {
                        best = i;
                    }
                }
            }
            let (a, b) = (self.bins[best], self.bins[best + 1]);
            let h = a.1 + b.1;
            let mut x = a.0 * (a.1 / h);
            x += b.0 / h * b.1;
            self.bins[best] = (x, h);
            self.bins.remove(best + 1);
        }
    }
    /// Hive's merge: the other's bins added, sorted by centre, then trimmed.
    fn merge(&mut self, other: &Histogram, nb: usize) {
        if self.bins.is_empty() {
            self.bins = other.bins.clone();
            return;
        }
        self.bins.extend(other.bins.iter().copied());
        self.bins.sort_by(|a, b| a.0.total_cmp(&b.0));
        self.trim(nb);
    }
}

/// java.util.Random's 48-bit linear congruential generator (for Hive-identical ties).
#[derive(Clone)]
struct JavaRandom(u64);

impl JavaRandom {
    const MULT: u64 = 0x5DEECE66D;
    const MASK: u64 = (1 << 48) - 1;
    fn new(seed: u64) -> Self {
        JavaRandom((seed ^ Self::MULT) & Self::MASK)
    }
    fn next(&mut self, bits: u32) -> u64 {
        self.0 = (self.0.wrapping_mul(Self::MULT).wrapping_add(0xB)) & Self::MASK;
        self.0 >> (48 - bits)
    }
    fn next_double(&mut self) -> f64 {
        (((self.next(26)) << 27) + self.next(27)) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

impl Accumulator for HistogramAcc {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], n: usize) -> Result<()> {
        self.bins.resize(n, Histogram::new());
        let v = match args[0].data_type() {
            DataType::Timestamp(..) | DataType::Date32 => {
                let i = cast(&args[0], &DataType::Int64)?;
                cast(&i, &DataType::Float64)?
            }
            t if super::interval::is_ansi_interval(t) => {
                let i: ArrayRef = Arc::new(super::interval::to_raw(&args[0])?);
                cast(&i, &DataType::Float64)?
            }
            _ => cast(&args[0], &DataType::Float64)?,
        };
        let v = v.as_primitive::<Float64Type>();
        for (i, &g) in groups.iter().enumerate() {
            if v.is_valid(i) {
                self.bins[g].add(v.value(i), self.nb);
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], n: usize) -> Result<()> {
        let o = downcast::<HistogramAcc>(other)?;
        self.bins.resize(n, Histogram::new());
        for (g, h) in o.bins.iter().enumerate() {
            self.bins[mapping[g]].merge(h, self.nb);
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        self.bins.resize(n, Histogram::new());
        let DataType::List(field) = &self.result_type else {
            return Err(QuarryError::Internal("histogram_numeric type".into()));
        };
        let DataType::Struct(point) = field.data_type() else {
            return Err(QuarryError::Internal("histogram_numeric point type".into()));
        };
        let xs: ArrayRef = Arc::new(Float64Array::from_iter_values(
            self.bins.iter().flat_map(|h| h.bins.iter().map(|b| b.0)),
        ));
        let ys: ArrayRef = Arc::new(Float64Array::from_iter_values(
            self.bins.iter().flat_map(|h| h.bins.iter().map(|b| b.1)),
        ));
        // centres back to the input's type (integers truncate, as Spark's toInt/toLong)
        let xt = point[0].data_type();
        let xs = match xt {
            DataType::Timestamp(..) | DataType::Date32 => {
                let i = cast(&xs, &DataType::Int64)?;
                let i = if *xt == DataType::Date32 {
                    cast(&i, &DataType::Int32)?
                } else {
                    i
                };
                cast(&i, xt)?
            }
            t if super::interval::is_ansi_interval(t) => {
                let i = cast(&xs, &DataType::Int64)?;
                super::interval::from_raw_array(i.as_primitive::<Int64Type>(), t)?
            }
            t => cast(&xs, t)?,
        };
        let points = StructArray::try_new(point.clone(), vec![xs, ys], None)?;
        let valid: arrow::buffer::NullBuffer =
            self.bins.iter().map(|h| !h.bins.is_empty()).collect();
        Ok(Arc::new(ListArray::try_new(
            field.clone(),
            arrow::buffer::OffsetBuffer::from_lengths(self.bins.iter().map(|h| h.bins.len())),
            Arc::new(points),
            Some(valid),
        )?))
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// Welford's online variance: (count, mean, m2) per group; merged with Chan et al.'s formula,
/// both written as Spark's CentralMomentAgg writes them.
struct VarianceAcc {
    state: Vec<(f64, f64, f64)>,
    func: AggFunc,
}
impl Accumulator for VarianceAcc {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], n: usize) -> Result<()> {
        self.state.resize(n, (0.0, 0.0, 0.0));
        let a = args[0].as_primitive::<Float64Type>();
        for (i, &g) in groups.iter().enumerate() {
            if a.is_valid(i) {
                let x = a.value(i);
                // Spark's CentralMomentAgg update, operation for operation (the last digit
                // of a variance depends on it)
                let (c, m, m2) = &mut self.state[g];
                *c += 1.0;
                let d = x - *m;
                let dn = d / *c;
                *m += dn;
                *m2 += d * (d - dn);
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], n: usize) -> Result<()> {
        let o = downcast::<VarianceAcc>(other)?;
        self.state.resize(n, (0.0, 0.0, 0.0));
        for (g, (cb, mb, m2b)) in o.state.into_iter().enumerate() {
            if cb == 0.0 {
                continue;
            }
            let (ca, ma, m2a) = self.state[mapping[g]];
            let c = ca + cb;
            let d = mb - ma;
            let dn = d / c;
            self.state[mapping[g]] = (c, ma + dn * cb, m2a + m2b + d * dn * ca * cb);
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        self.state.resize(n, (0.0, 0.0, 0.0));
        let out: Float64Array = self
            .state
            .iter()
            .map(|&(c, _, m2)| match self.func {
                _ if c == 0.0 => None,
                AggFunc::VarPop => Some(m2 / c),
                AggFunc::StddevPop => Some((m2 / c).sqrt()),
                AggFunc::Sem => Some((m2 / c).sqrt() / c.sqrt()),
                // Spark returns NULL for a single value (non-legacy behaviour)
                _ if c == 1.0 => None,
                AggFunc::VarSamp => Some(m2 / (c - 1.0)),
                _ => Some((m2 / (c - 1.0)).sqrt()),
            })
            .collect();
        Ok(Arc::new(out))
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// Neumaier's compensated sum: (sum, compensation, seen a value) per group.
struct KahanAcc {
    state: Vec<(f64, f64, bool)>,
}
impl KahanAcc {
    fn add(st: &mut (f64, f64, bool), x: f64) {
        let t = st.0 + x;
        if st.0.abs() >= x.abs() {
            st.1 += (st.0 - t) + x;
        } else {
            st.1 += (x - t) + st.0;
        }
        st.0 = t;
        st.2 = true;
    }
}
impl Accumulator for KahanAcc {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], n: usize) -> Result<()> {
        self.state.resize(n, (0.0, 0.0, false));
        let a = args[0].as_primitive::<Float64Type>();
        for (i, &g) in groups.iter().enumerate() {
            if a.is_valid(i) {
                Self::add(&mut self.state[g], a.value(i));
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], n: usize) -> Result<()> {
        let o = downcast::<KahanAcc>(other)?;
        self.state.resize(n, (0.0, 0.0, false));
        for (g, (sum, comp, seen)) in o.state.into_iter().enumerate() {
            if seen {
                let st = &mut self.state[mapping[g]];
                Self::add(st, sum);
                Self::add(st, comp);
            }
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        self.state.resize(n, (0.0, 0.0, false));
        let out: Float64Array = self
            .state
            .iter()
            .map(|&(sum, comp, seen)| seen.then_some(sum + comp))
            .collect();
        Ok(Arc::new(out))
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

struct BoolAcc {
    vals: Vec<Option<bool>>,
    and: bool,
}
impl Accumulator for BoolAcc {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], n: usize) -> Result<()> {
        self.vals.resize(n, None);
        let a = args[0].as_boolean();
        for (i, &g) in groups.iter().enumerate() {
            if a.is_valid(i) {
                let v = a.value(i);
                self.vals[g] = Some(match self.vals[g] {
                    None => v,
                    Some(o) => {
                        if self.and {
                            o && v
                        } else {
                            o || v
                        }
                    }
                });
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], n: usize) -> Result<()> {
        let o = downcast::<BoolAcc>(other)?;
        self.vals.resize(n, None);
        for (g, v) in o.vals.into_iter().enumerate() {
            if let Some(v) = v {
                let t = mapping[g];
                self.vals[t] = Some(match self.vals[t] {
                    None => v,
                    Some(o) => {
                        if self.and {
                            o && v
                        } else {
                            o || v
                        }
                    }
                });
            }
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        self.vals.resize(n, None);
        Ok(Arc::new(BooleanArray::from(self.vals.clone())))
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// `agg(DISTINCT args)`: keeps the distinct (group, value) pairs, the value as arrow-row
/// bytes in one arena and each pair as (hash, group, start, end) in a hash table (no
/// allocation per row); at finish feeds them to a fresh accumulator of the inner function.
struct DistinctAcc {
    converter: RowConverter,
    hasher: ahash::RandomState,
    table: hashbrown::HashTable<(u64, usize, usize, usize)>,
    arena: Vec<u8>,
    func: AggFunc,
    arg_types: Vec<DataType>,
    result_type: DataType,
}

impl DistinctAcc {
    /// Add the pair (group `g`, value `bytes`) unless present.
    fn add(&mut self, g: usize, bytes: &[u8]) {
        let h = self.hasher.hash_one((g, bytes));
        let arena = &self.arena;
        let entry = self
            .table
            .entry(h, |e| e.1 == g && &arena[e.2..e.3] == bytes, |e| e.0);
        if let hashbrown::hash_table::Entry::Vacant(v) = entry {
            let start = self.arena.len();
            self.arena.extend_from_slice(bytes);
            v.insert((h, g, start, self.arena.len()));
        }
    }
}

impl Accumulator for DistinctAcc {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], _n: usize) -> Result<()> {
        let rows = self.converter.convert_columns(args)?;
        for (i, &g) in groups.iter().enumerate() {
            if all_valid(args, i) {
                self.add(g, rows.row(i).as_ref());
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], _n: usize) -> Result<()> {
        let o = downcast::<DistinctAcc>(other)?;
        for &(_, g, start, end) in o.table.iter() {
            self.add(mapping[g], &o.arena[start..end]);
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        let mut inner = create_accumulator(&self.func, false, &self.arg_types, &self.result_type)?;
        let entries: Vec<(u64, usize, usize, usize)> = self.table.drain().collect();
        if !entries.is_empty() {
            let parser = self.converter.parser();
            let rows: Vec<arrow::row::Row> = entries
                .iter()
                .map(|&(_, _, start, end)| parser.parse(&self.arena[start..end]))
                .collect();
            let cols = self.converter.convert_rows(rows)?;
            let groups: Vec<usize> = entries.iter().map(|e| e.1).collect();
            inner.update(&cols, &groups, n)?;
        }
        self.arena = vec![];
        inner.finish(n)
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// `agg(DISTINCT x)` of one integer argument: the distinct (group, value) pairs as
/// 16-byte entries of a hash table (hash recomputed from the pair: no encoding, no
/// arena, half of [`DistinctAcc`]'s memory per pair); at finish the values feed a fresh
/// accumulator of the inner function. TPC-H Q16's `count(DISTINCT ps_suppkey)`.
struct DistinctIntAcc {
    table: hashbrown::HashTable<(usize, i64)>,
    func: AggFunc,
    arg_type: DataType,
    result_type: DataType,
}

/// The hash of a (group, value) pair: splitmix64's finalizer over both.
#[inline(always)]
fn hash_pair(g: usize, v: i64) -> u64 {
    let mut x = (v as u64) ^ (g as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl DistinctIntAcc {
    /// Add the pair (group `g`, value `v`) unless present.
    #[inline(always)]
    fn add(&mut self, g: usize, v: i64) {
        let h = hash_pair(g, v);
        if let hashbrown::hash_table::Entry::Vacant(e) = self.table.entry(
            h,
            |&(eg, ev)| eg == g && ev == v,
            |&(eg, ev)| hash_pair(eg, ev),
        ) {
            e.insert((g, v));
        }
    }
}

impl Accumulator for DistinctIntAcc {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], _n: usize) -> Result<()> {
        let a = cast(&args[0], &DataType::Int64)?;
        let a = a.as_primitive::<Int64Type>();
        for (i, (&v, &g)) in a.values().iter().zip(groups).enumerate() {
            if a.is_valid(i) {
                self.add(g, v);
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], _n: usize) -> Result<()> {
        let o = downcast::<DistinctIntAcc>(other)?;
        self.table.reserve(o.table.len(), |&(g, v)| hash_pair(g, v));
        for &(g, v) in o.table.iter() {
            self.add(mapping[g], v);
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        let mut inner = create_accumulator(
            &self.func,
            false,
            &[self.arg_type.clone()],
            &self.result_type,
        )?;
        let table = std::mem::take(&mut self.table);
        let (groups, values): (Vec<usize>, Vec<i64>) = table.into_iter().unzip();
        if !groups.is_empty() {
            let values: ArrayRef = Arc::new(Int64Array::from(values));
            inner.update(&[cast(&values, &self.arg_type)?], &groups, n)?;
        }
        inner.finish(n)
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// Cast `a` to `t` when it differs (arguments are cast to the accumulator's working type).
pub fn cast_arg(a: &ArrayRef, t: &Option<DataType>) -> Result<ArrayRef> {
    match t {
        Some(t) if a.data_type() != t => Ok(cast(a, t)?),
        _ => Ok(a.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::{add_by_group, DecimalSums};

    /// The interleaved partial sums give what one sum per group gives, for every row
    /// count around the lane width and the small-input cut-over.
    #[test]
    fn decimal_sums_widen_when_a_sum_leaves_64_bits() {
        let mut s = DecimalSums::Narrow(vec![]);
        s.resize(3);
        s.add(0, i64::MAX as i128);
        s.add(1, -7);
        assert!(matches!(s, DecimalSums::Narrow(_)));
        s.add(0, 1);
        assert!(matches!(s, DecimalSums::Wide(_)));
        s.add(2, i128::from(u64::MAX));
        s.resize(4);
        assert_eq!(
            (0..4).map(|g| s.get(g)).collect::<Vec<_>>(),
            vec![i64::MAX as i128 + 1, -7, u64::MAX as i128, 0]
        );
    }

    #[test]
    fn add_by_group_matches_a_plain_loop() {
        for rows in [0usize, 3, 1023, 1024, 1025, 1027, 5000] {
            for n in [1usize, 4, 7, 1024, 1025] {
                let groups: Vec<usize> = (0..rows).map(|i| (i * 7 + i / 3) % n).collect();
                let value = |i: usize| (i as i128) * 1_000_000_007 - 5;
                let mut want = vec![11i128; n];
                for (i, &g) in groups.iter().enumerate() {
                    want[g] += value(i);
                }
                let mut got = vec![11i128; n];
                add_by_group(&mut got, &groups, value, i128::wrapping_add);
                assert_eq!(got, want, "{rows} rows, {n} groups");
            }
        }
    }
}
