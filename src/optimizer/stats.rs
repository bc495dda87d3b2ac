//! Statistics and cardinality estimation over logical plans.
//!
//! A plan's [`Statistics`] are its estimated output rows and, per output column, the
//! number of distinct values (NDV), the fraction of NULLs, min/max (numeric, date and
//! timestamp columns, as `f64`: dates in days, timestamps in microseconds, decimals
//! unscaled to their value) and, after `ANALYZE ... FOR COLUMNS`, an equi-height
//! histogram. Leaves get theirs from a [`StatisticsProvider`] (parquet footers of the
//! files left after partition pruning, overlaid with what `ANALYZE TABLE` stored); the
//! estimate then flows up through filters, joins, aggregates, unions and limits.
//!
//! The formulas are the textbook ones (Selinger et al. 1979; the same as Spark's CBO
//! `FilterEstimation` / `JoinEstimation`): `col = v` keeps `1/NDV`, a range the covered
//! fraction of `[min, max]` (or of the histogram's buckets), `IN` `k/NDV`; AND
//! multiplies (ranges over one column are first merged into one interval), OR adds less
//! the overlap, NOT complements. An equi-join returns `|L|·|R| / max(NDV_l, NDV_r)`
//! (containment of the smaller key set in the larger). Without statistics the System R
//! defaults apply (`=` 0.1, range 1/3).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::DataType;

use crate::error::Result;
use crate::plan::{BinOp, Column, ColumnId, Expr, JoinType, LogicalPlan, TableSource};
use crate::types::ScalarValue;

/// The assumed number of rows a generator (explode, ...) makes of each input row.
const GENERATE_ROWS_PER_INPUT_ROW: f64 = 4.0;

/// Rows assumed for a CSV/JSON file, whose footer does not say (about 1 MiB of text).
pub const DEFAULT_ROWS_PER_TEXT_FILE: f64 = 10_000.0;

/// Statistics of one column of a plan's output.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnStatistics {
    /// Distinct non-NULL values; `None` when unknown.
    pub ndv: Option<f64>,
    /// Fraction of rows that are NULL (0..=1).
    pub null_fraction: f64,
    /// Smallest and largest value as `f64` (see the module doc); `None` when unknown
    /// or not an ordered numeric/date type.
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Equi-height histogram: `bounds.len() - 1` buckets holding equal numbers of the
    /// column's non-NULL rows; `bounds` ascending, `bounds[0]` the min, last the max.
    pub histogram: Option<Arc<Vec<f64>>>,
    /// When the column looked like a key where it was read (NDV at least 90% of the
    /// scan's rows, before any filter): that NDV. An equi-join takes the other side's
    /// key to be a foreign key into it (referential integrity): at most this many of
    /// its distinct values can match (TPC-H Q21: `l_orderkey`, whose NDV from its
    /// range is 6M at SF1, joined to 1.5M `o_orderkey`s).
    pub key_domain: Option<f64>,
}

/// Estimated output of a plan: rows, and statistics per output column id.
#[derive(Clone, Debug, Default)]
pub struct Statistics {
    pub rows: f64,
    pub columns: HashMap<ColumnId, ColumnStatistics>,
}

impl Statistics {
    /// Statistics of `rows` rows about whose columns nothing is known.
    pub fn unknown(rows: f64) -> Statistics {
        Statistics {
            rows,
            columns: HashMap::new(),
        }
    }

    /// The column's NDV: the known one (capped by the row count), else the row count
    /// (every value distinct: the conservative choice for a join key).
    pub fn ndv(&self, id: ColumnId) -> f64 {
        let rows = self.rows.max(1.0);
        self.columns
            .get(&id)
            .and_then(|c| c.ndv)
            .map_or(rows, |n| n.clamp(1.0, rows))
    }

    fn column(&self, e: &Expr) -> Option<(ColumnId, &ColumnStatistics)> {
        let id = column_of(e)?;
        Some((id, self.columns.get(&id)?))
    }

    /// Scale to `rows` rows (a filter or join keeping a fraction): NDVs shrink as
    /// sampling without replacement predicts, `ndv·(1 − (1 − f)^(rows/ndv))`.
    fn scaled(mut self, rows: f64) -> Statistics {
        let old = self.rows.max(1.0);
        let f = (rows / old).clamp(0.0, 1.0);
        for c in self.columns.values_mut() {
            if let Some(n) = c.ndv {
                let kept = sampled_ndv(n.max(1.0), old, f);
                c.ndv = Some(kept.clamp(1.0_f64.min(rows), rows.max(1.0)));
            }
        }
        self.rows = rows;
        self
    }
}

/// Distinct values left when a fraction `f` of `rows` rows holding `ndv` distinct values
/// is kept (sampling without replacement): `ndv·(1 − (1 − f)^(rows/ndv))`.
pub fn sampled_ndv(ndv: f64, rows: f64, f: f64) -> f64 {
    if ndv <= 0.0 || f >= 1.0 {
        return ndv;
    }
    ndv * (1.0 - (1.0 - f).powf(rows / ndv))
}

/// Where leaf statistics come from (the session: footers, metastore).
pub trait StatisticsProvider {
    /// Statistics of a scan's output: the rows of the files left after partition
    /// pruning, with `filters` applied (see [`apply_filter`]); columns by `columns` ids.
    fn scan_statistics(
        &self,
        source: &Arc<TableSource>,
        columns: &[Column],
        projection: &[usize],
        filters: &[Expr],
    ) -> Result<Statistics>;

    /// The partners each row of the scan behind `left`'s key column, and of the one
    /// behind `right`'s, finds in the inner equi-join `left ⋈ right` on the one key
    /// pair `key` (a column of `left`, a column of `right`), filters of both scans
    /// applied, measured on a sample of the two scans (see `physical::statistics`);
    /// `None` where no sample is taken (the default: no data to read). It catches filters
    /// on the two sides that are correlated through the key (TPC-H Q3: orders before a
    /// date whose lineitems ship after it are few), which no per-column statistic
    /// shows; [`sampled_join_rows`] turns it into the join's rows.
    fn join_matches(
        &self,
        _left: &LogicalPlan,
        _right: &LogicalPlan,
        _key: (ColumnId, ColumnId),
    ) -> Option<JoinMatches> {
        None
    }
}

/// Partners per row on each side of a sampled equi-join (see
/// [`StatisticsProvider::join_matches`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JoinMatches {
    pub per_left_row: f64,
    pub per_right_row: f64,
}

/// The rows of a sampled inner equi-join of inputs estimated at `left_rows` and
/// `right_rows`: each side's rows times its partners per row, the smaller of the two.
/// An input may hold more than the sampled scan (joins and filters above it); a side's
/// product misses what the other side's extra operators remove, so each is an upper
/// bound under their independence, and the smaller is taken (Q3: orders joined with the
/// 'BUILDING' customers times lines per order, not lines times orders per line).
pub fn sampled_join_rows(left_rows: f64, right_rows: f64, m: JoinMatches) -> f64 {
    (left_rows * m.per_left_row).min(right_rows * m.per_right_row)
}

/// A provider that knows nothing: 1000 rows per scan (tests, planning without files).
pub struct NoStatistics;

impl StatisticsProvider for NoStatistics {
    fn scan_statistics(
        &self,
        _: &Arc<TableSource>,
        _: &[Column],
        _: &[usize],
        filters: &[Expr],
    ) -> Result<Statistics> {
        let mut s = Statistics::unknown(1000.0);
        for f in filters {
            s = apply_filter(s, f);
        }
        Ok(s)
    }
}

/// The column an expression reads, looking through casts (`CAST(dt AS DATE)`).
fn column_of(e: &Expr) -> Option<ColumnId> {
    match e {
        Expr::Column(c) => Some(c.id),
        Expr::Cast { expr, .. } => column_of(expr),
        _ => None,
    }
}

/// A scalar as `f64` in the statistics' domain (see the module doc); `None` for
/// strings and other unordered types.
pub fn scalar_f64(v: &ScalarValue) -> Option<f64> {
    array_f64(&v.0, 0)
}

/// Value `i` of an array as `f64` (see [`scalar_f64`]).
pub fn array_f64(a: &ArrayRef, i: usize) -> Option<f64> {
    let f = to_f64_array(&a.slice(i, 1))?;
    (!f.is_null(0)).then(|| f.value(0))
}

/// An array of numbers, dates or timestamps as `Float64` in the statistics' domain
/// (dates in days, timestamps in their unit); `None` for other types.
pub fn to_f64_array(a: &ArrayRef) -> Option<arrow::array::Float64Array> {
    use arrow::compute::cast;
    let a = match a.data_type() {
        DataType::Date32 => cast(a, &DataType::Int32).ok()?,
        DataType::Date64 | DataType::Timestamp(_, _) => cast(a, &DataType::Int64).ok()?,
        t if t.is_numeric() => a.clone(),
        _ => return None,
    };
    let f = cast(&a, &DataType::Float64).ok()?;
    f.as_any()
        .downcast_ref::<arrow::array::Float64Array>()
        .cloned()
}

fn literal_f64(e: &Expr) -> Option<f64> {
    match e {
        Expr::Literal(v) => scalar_f64(v),
        Expr::Cast { expr, .. } => literal_f64(expr),
        _ => None,
    }
}

fn is_literal(e: &Expr) -> bool {
    match e {
        Expr::Literal(_) => true,
        Expr::Cast { expr, .. } => is_literal(expr),
        _ => false,
    }
}

/// `col <op> literal` written either way round, as (column, literal, op with the
/// column on the left).
fn column_vs_literal<'e>(
    op: BinOp,
    left: &'e Expr,
    right: &'e Expr,
) -> Option<(ColumnId, &'e Expr, BinOp)> {
    match (column_of(left), column_of(right)) {
        (Some(id), None) if is_literal(right) => Some((id, right, op)),
        (None, Some(id)) if is_literal(left) => Some((id, left, op.swap())),
        _ => None,
    }
}

/// Fraction of a column's non-NULL values in `[lo, hi]` (either end open when `None`),
/// from its histogram when there is one, else linear over `[min, max]`.
fn range_fraction(c: &ColumnStatistics, lo: Option<f64>, hi: Option<f64>) -> Option<f64> {
    let (min, max) = (c.min?, c.max?);
    let lo = lo.unwrap_or(min).max(min);
    let hi = hi.unwrap_or(max).min(max);
    if hi < lo {
        return Some(0.0);
    }
    if let Some(h) = &c.histogram {
        let b = h.len().saturating_sub(1);
        if b > 0 {
            let cdf = |x: f64| -> f64 {
                // fraction of values <= x: whole buckets below, linear inside one
                let mut acc = 0.0;
                for k in 0..b {
                    let (a, z) = (h[k], h[k + 1]);
                    if x >= z {
                        acc += 1.0;
                    } else if x > a {
                        acc += (x - a) / (z - a);
                    }
                }
                acc / b as f64
            };
            return Some((cdf(hi) - cdf(lo) + 1.0 / c.ndv.unwrap_or(1e9).max(1.0)).clamp(0.0, 1.0));
        }
    }
    if max <= min {
        return Some(1.0);
    }
    // closed ranges over integers include both ends: add one value's share
    let one = c.ndv.map_or(0.0, |n| 1.0 / n.max(1.0));
    Some(((hi - lo) / (max - min) + one).clamp(0.0, 1.0))
}

/// Estimated fraction of rows a predicate keeps, given the input's statistics.
pub fn selectivity(e: &Expr, s: &Statistics) -> f64 {
    let sel = match e {
        Expr::Binary { op: BinOp::And, .. } => {
            let terms = e.clone().split_conjunction();
            conjunction_selectivity(&terms, s)
        }
        Expr::Binary {
            op: BinOp::Or,
            left,
            right,
            ..
        } => {
            let (a, b) = (selectivity(left, s), selectivity(right, s));
            a + b - a * b
        }
        Expr::Not(inner) => 1.0 - selectivity(inner, s),
        Expr::Literal(v) => {
            if v.as_bool() == Some(true) {
                1.0
            } else {
                0.0
            }
        }
        Expr::IsNull(x) => match s.column(x) {
            Some((_, c)) => c.null_fraction,
            None => 0.1,
        },
        Expr::IsNotNull(x) => match s.column(x) {
            Some((_, c)) => 1.0 - c.null_fraction,
            None => 0.9,
        },
        Expr::InList {
            expr,
            list,
            negated,
            ..
        } => {
            let k = list.len() as f64;
            let f = match column_of(expr) {
                Some(id) if s.columns.get(&id).is_some_and(|c| c.ndv.is_some()) => {
                    let c = &s.columns[&id];
                    // values outside [min, max] match nothing
                    let inside = list
                        .iter()
                        .filter(|v| match (literal_f64(v), c.min, c.max) {
                            (Some(x), Some(lo), Some(hi)) => x >= lo && x <= hi,
                            _ => true,
                        })
                        .count() as f64;
                    (inside / s.ndv(id)) * (1.0 - c.null_fraction)
                }
                _ => (0.1 * k).min(0.5),
            };
            let f = f.min(1.0);
            if *negated {
                1.0 - f
            } else {
                f
            }
        }
        Expr::InSet { set, negated, expr } => {
            let k = set.rows.len() as f64;
            let f = match column_of(expr) {
                Some(id) => (k / s.ndv(id)).min(1.0),
                None => 0.5,
            };
            if *negated {
                1.0 - f
            } else {
                f
            }
        }
        Expr::Like {
            expr,
            pattern,
            negated,
            ..
        } => {
            // a fixed prefix ('abc%') is a range of the sorted values; any pattern
            // with a leading wildcard is a guess
            let prefix = match pattern.as_ref() {
                Expr::Literal(v) => v
                    .as_str()
                    .map(|p| p.chars().take_while(|c| *c != '%' && *c != '_').count()),
                _ => None,
            };
            let ndv = column_of(expr).map(|id| s.ndv(id));
            let f = match (prefix, ndv) {
                (Some(0), _) => 0.25,
                (Some(n), Some(d)) => (1.0 / d).max(0.25_f64.powi(n.min(8) as i32)),
                (Some(n), None) => 0.25_f64.powi(n.min(8) as i32).max(0.001),
                (None, _) => 0.25,
            };
            if *negated {
                1.0 - f
            } else {
                f
            }
        }
        Expr::Binary {
            op, left, right, ..
        } if op.is_comparison() => comparison_selectivity(*op, left, right, s),
        _ => 1.0 / 3.0,
    };
    if sel.is_nan() {
        1.0 / 3.0
    } else {
        sel.clamp(0.0, 1.0)
    }
}

/// `col <op> literal` (either side), or `col <op> col`.
fn comparison_selectivity(op: BinOp, left: &Expr, right: &Expr, s: &Statistics) -> f64 {
    let (col, lit, op) = match (
        column_vs_literal(op, left, right),
        column_of(left),
        column_of(right),
    ) {
        (Some(c), _, _) => c,
        (None, Some(a), Some(b)) => {
            return match op {
                BinOp::Eq | BinOp::NullSafeEq => 1.0 / s.ndv(a).max(s.ndv(b)),
                BinOp::NotEq => 1.0 - 1.0 / s.ndv(a).max(s.ndv(b)),
                _ => 1.0 / 3.0,
            }
        }
        _ => {
            return match op {
                BinOp::Eq | BinOp::NullSafeEq => 0.1,
                BinOp::NotEq => 0.9,
                _ => 1.0 / 3.0,
            }
        }
    };
    let Some(c) = s.columns.get(&col) else {
        return match op {
            BinOp::Eq | BinOp::NullSafeEq => {
                (1.0 / s.ndv(col)).max(if s.columns.is_empty() { 0.1 } else { 0.0 })
            }
            BinOp::NotEq => 0.9,
            _ => 1.0 / 3.0,
        };
    };
    let v = literal_f64(lit);
    let non_null = 1.0 - c.null_fraction;
    let out_of_range = match (v, c.min, c.max) {
        (Some(x), Some(lo), Some(hi)) => x < lo || x > hi,
        _ => false,
    };
    // without an NDV, `=` keeps the System R default share
    let eq = match c.ndv {
        Some(_) => 1.0 / s.ndv(col),
        None => 0.1_f64.max(1.0 / s.rows.max(1.0)),
    };
    match op {
        BinOp::Eq | BinOp::NullSafeEq => {
            if out_of_range {
                0.0
            } else {
                non_null * eq
            }
        }
        BinOp::NotEq => non_null * (1.0 - eq),
        BinOp::Lt | BinOp::LtEq => match range_fraction(c, None, v) {
            Some(f) if v.is_some() => f * non_null,
            _ => 1.0 / 3.0,
        },
        BinOp::Gt | BinOp::GtEq => match range_fraction(c, v, None) {
            Some(f) if v.is_some() => f * non_null,
            _ => 1.0 / 3.0,
        },
        _ => 1.0 / 3.0,
    }
}

/// A range bound `col >= v` / `col <= v` (or strict) over a column with min/max.
fn as_bound(e: &Expr, s: &Statistics) -> Option<(ColumnId, Option<f64>, Option<f64>)> {
    let Expr::Binary {
        op, left, right, ..
    } = e
    else {
        return None;
    };
    let (id, lit, op) = column_vs_literal(*op, left, right)?;
    let v = literal_f64(lit)?;
    let c = s.columns.get(&id)?;
    c.min?;
    match op {
        BinOp::Gt | BinOp::GtEq => Some((id, Some(v), None)),
        BinOp::Lt | BinOp::LtEq => Some((id, None, Some(v))),
        _ => None,
    }
}

/// AND: range bounds on one column merge into one interval (`a BETWEEN x AND y` is
/// not two independent thirds); the other terms multiply.
fn conjunction_selectivity(terms: &[Expr], s: &Statistics) -> f64 {
    let mut ranges: HashMap<ColumnId, (Option<f64>, Option<f64>)> = HashMap::new();
    let mut sel = 1.0;
    for t in terms {
        match as_bound(t, s) {
            Some((id, lo, hi)) => {
                let r = ranges.entry(id).or_insert((None, None));
                if let Some(l) = lo {
                    r.0 = Some(r.0.map_or(l, |x: f64| x.max(l)));
                }
                if let Some(h) = hi {
                    r.1 = Some(r.1.map_or(h, |x: f64| x.min(h)));
                }
            }
            None => sel *= selectivity(t, s),
        }
    }
    for (id, (lo, hi)) in ranges {
        let c = &s.columns[&id];
        sel *= range_fraction(c, lo, hi).unwrap_or(1.0 / 3.0) * (1.0 - c.null_fraction);
    }
    sel
}

/// Statistics after a filter: rows scaled by the selectivity; a column compared with
/// `=` to a literal has one value left, a range narrows its min/max.
pub fn apply_filter(s: Statistics, predicate: &Expr) -> Statistics {
    let sel = selectivity(predicate, &s);
    let rows = s.rows * sel;
    let mut out = s.clone().scaled(rows);
    for t in predicate.clone().split_conjunction() {
        if let Expr::Binary {
            op: BinOp::Eq,
            left,
            right,
            ..
        } = &t
        {
            if let Some((id, lit, _)) = column_vs_literal(BinOp::Eq, left, right) {
                let v = literal_f64(lit);
                let c = out.columns.entry(id).or_default();
                c.ndv = Some(1.0);
                c.null_fraction = 0.0;
                if v.is_some() {
                    c.min = v;
                    c.max = v;
                }
                c.histogram = None;
            }
        }
        if let Some((id, lo, hi)) = as_bound(&t, &s) {
            if let Some(c) = out.columns.get_mut(&id) {
                narrow_range(c, lo, hi);
            }
        }
        if let Expr::IsNotNull(x) = &t {
            if let Some(id) = column_of(x) {
                if let Some(c) = out.columns.get_mut(&id) {
                    c.null_fraction = 0.0;
                }
            }
        }
        if matches!(&t, Expr::Binary { op: BinOp::Or, .. }) {
            narrow_by_disjunction(&mut out, &s, t);
        }
    }
    out
}

/// After `a OR b OR ...`: a column that every branch pins to literals (`=`, `IN`) has
/// at most as many values as those literals, and one that every branch bounds keeps the
/// loosest bounds (TPC-H Q19: `p_brand` is one of three brands and `p_size` between 1
/// and 15 after its three-branch filter), so that a later filter over the same columns
/// (the join's copy of that condition) is not counted as independent of this one.
fn narrow_by_disjunction(out: &mut Statistics, before: &Statistics, or: Expr) {
    let branches = or.split_disjunction();
    let mut pinned: Option<HashMap<ColumnId, Vec<String>>> = None;
    let mut bounds: Option<HashMap<ColumnId, (Option<f64>, Option<f64>)>> = None;
    for b in branches {
        let mut p: HashMap<ColumnId, Vec<String>> = HashMap::new();
        let mut r: HashMap<ColumnId, (Option<f64>, Option<f64>)> = HashMap::new();
        for t in b.split_conjunction() {
            match &t {
                Expr::Binary {
                    op: BinOp::Eq,
                    left,
                    right,
                    ..
                } => {
                    if let Some((id, lit, _)) = column_vs_literal(BinOp::Eq, left, right) {
                        p.entry(id).or_default().push(lit.to_string());
                    }
                }
                Expr::InList {
                    expr,
                    list,
                    negated: false,
                    ..
                } if list.iter().all(is_literal) => {
                    if let Some(id) = column_of(expr) {
                        p.entry(id)
                            .or_default()
                            .extend(list.iter().map(|v| v.to_string()));
                    }
                }
                _ => {
                    if let Some((id, lo, hi)) = as_bound(&t, before) {
                        let e = r.entry(id).or_insert((None, None));
                        e.0 = lo.map_or(e.0, |l| Some(e.0.map_or(l, |x: f64| x.max(l))));
                        e.1 = hi.map_or(e.1, |h| Some(e.1.map_or(h, |x: f64| x.min(h))));
                    }
                }
            }
        }
        pinned = Some(match pinned {
            None => p,
            Some(mut acc) => {
                acc.retain(|id, vals| match p.remove(id) {
                    Some(more) => {
                        vals.extend(more);
                        true
                    }
                    None => false,
                });
                acc
            }
        });
        bounds = Some(match bounds {
            None => r,
            Some(mut acc) => {
                acc.retain(|id, (lo, hi)| match r.get(id) {
                    Some((l2, h2)) => {
                        *lo = lo.zip(*l2).map(|(a, b)| a.min(b));
                        *hi = hi.zip(*h2).map(|(a, b)| a.max(b));
                        lo.is_some() || hi.is_some()
                    }
                    None => false,
                });
                acc
            }
        });
    }
    for (id, mut vals) in pinned.unwrap_or_default() {
        vals.sort();
        vals.dedup();
        if let Some(c) = out.columns.get_mut(&id) {
            let n = vals.len() as f64;
            c.ndv = Some(c.ndv.map_or(n, |x| x.min(n)));
            c.null_fraction = 0.0;
        }
    }
    for (id, (lo, hi)) in bounds.unwrap_or_default() {
        if let Some(c) = out.columns.get_mut(&id) {
            narrow_range(c, lo, hi);
        }
    }
}

/// A column known to lie within `lo..=hi` (either bound optional): its min/max
/// tightened, and no NULLs (a range condition drops them).
fn narrow_range(c: &mut ColumnStatistics, lo: Option<f64>, hi: Option<f64>) {
    if let (Some(l), Some(m)) = (lo, c.min) {
        c.min = Some(m.max(l));
    }
    if let (Some(h), Some(m)) = (hi, c.max) {
        c.max = Some(m.min(h));
    }
    c.null_fraction = 0.0;
}

/// Rows of an equi-join of `l` and `r` on `keys` (column ids, left then right), before
/// any residual filter: `|L|·|R| / D`. For one key `D = max(NDV_l, NDV_r)`, each NDV
/// at most the other side's [`ColumnStatistics::key_domain`] (a foreign key into a
/// primary key). For a
/// composite key: when one key is unique on either side (NDV ≥ 90% of the rows, a
/// primary key) the others are independent filters and their `1/max(NDV)` multiply
/// (TPC-H Q5: `c_custkey = o_custkey AND c_nationkey = s_nationkey`); when none is, the
/// keys are taken as correlated parts of one composite key (TPC-H Q9: `l_partkey,
/// l_suppkey` = a `partsupp` row): each side has at most `d = min(rows, Π NDV_i)`
/// distinct keys and `D = max(min(d_l, d_r), max_i max(NDV_li, NDV_ri))`.
pub fn equi_join_rows(l: &Statistics, r: &Statistics, keys: &[(ColumnId, ColumnId)]) -> f64 {
    if keys.is_empty() {
        return l.rows * r.rows;
    }
    let pair_ndv = |(a, b): &(ColumnId, ColumnId)| {
        let nl = key_ndv(l, *a, r, *b);
        let nr = key_ndv(r, *b, l, *a);
        nl.max(nr).max(1.0)
    };
    let unique = |s: &Statistics, id: ColumnId| {
        s.columns.get(&id).is_some_and(|c| c.ndv.is_some()) && s.ndv(id) >= 0.9 * s.rows
    };
    let d = if keys.len() == 1 {
        pair_ndv(&keys[0])
    } else if keys.iter().any(|(a, b)| unique(l, *a) || unique(r, *b)) {
        keys.iter().map(pair_ndv).product()
    } else {
        let (mut pl, mut pr, mut single) = (1.0_f64, 1.0_f64, 1.0_f64);
        for k in keys {
            pl *= l.ndv(k.0);
            pr *= r.ndv(k.1);
            single = single.max(pair_ndv(k));
        }
        (pl.min(l.rows.max(1.0)))
            .min(pr.min(r.rows.max(1.0)))
            .max(single)
            .max(1.0)
    };
    let nulls = |s: &Statistics, ids: &mut dyn Iterator<Item = ColumnId>| -> f64 {
        ids.map(|id| 1.0 - s.columns.get(&id).map_or(0.0, |c| c.null_fraction))
            .product()
    };
    let nl = nulls(l, &mut keys.iter().map(|k| k.0));
    let nr = nulls(r, &mut keys.iter().map(|k| k.1));
    l.rows * nl * r.rows * nr / d
}

/// The NDV of join key `id` of `s` as [`equi_join_rows`] takes it: at most the other
/// side's key domain (`other_id` of `other`), when that key looked like a primary key.
fn key_ndv(s: &Statistics, id: ColumnId, other: &Statistics, other_id: ColumnId) -> f64 {
    let domain = other
        .columns
        .get(&other_id)
        .and_then(|c| c.key_domain)
        .unwrap_or(f64::INFINITY);
    s.ndv(id).min(domain)
}

/// The share (0..=1) of `probe`'s rows whose key `probe_key` has a partner among
/// `build`'s `build_key`s: semi-join selectivity under containment of the smaller key
/// set in the larger, `min(1, NDV_build / NDV_probe)`, with the NDVs capped as
/// [`equi_join_rows`] caps them (so `probe.rows * share * build rows per key` is that
/// join's estimate). A join filter on the probe side keeps this share.
pub fn semi_join_selectivity(
    probe: &Statistics,
    probe_key: ColumnId,
    build: &Statistics,
    build_key: ColumnId,
) -> f64 {
    let np = key_ndv(probe, probe_key, build, build_key).max(1.0);
    let nb = key_ndv(build, build_key, probe, probe_key);
    (nb / np).clamp(0.0, 1.0)
}

/// Statistics of the output of a join of `l` and `r` with `rows` rows: key columns keep
/// the smaller NDV, the others are scaled.
pub fn join_output(
    l: &Statistics,
    r: &Statistics,
    keys: &[(ColumnId, ColumnId)],
    rows: f64,
) -> Statistics {
    let mut cols = HashMap::new();
    let lf = (rows / l.rows.max(1.0)).min(1.0);
    let rf = (rows / r.rows.max(1.0)).min(1.0);
    let l2 = l.clone().scaled(l.rows * lf);
    let r2 = r.clone().scaled(r.rows * rf);
    cols.extend(l2.columns);
    cols.extend(r2.columns);
    for (a, b) in keys {
        let n = l.ndv(*a).min(r.ndv(*b));
        for id in [a, b] {
            let c: &mut ColumnStatistics = cols.entry(*id).or_default();
            c.ndv = Some(n.min(rows.max(1.0)));
            c.null_fraction = 0.0;
        }
    }
    Statistics {
        rows,
        columns: cols,
    }
}

/// The equi-join keys of `on` as column ids (pairs whose both sides are columns).
fn key_ids(on: &[(Expr, Expr)]) -> Vec<(ColumnId, ColumnId)> {
    on.iter()
        .filter_map(|(a, b)| Some((column_of(a)?, column_of(b)?)))
        .collect()
}

/// How [`estimate_node`] gets its inputs' estimates (memoized by the physical planner).
pub trait ChildEstimates {
    fn child(&self, plan: &LogicalPlan) -> Result<Statistics>;
    fn provider(&self) -> &dyn StatisticsProvider;
}

struct Recurse<'a>(&'a dyn StatisticsProvider);

impl ChildEstimates for Recurse<'_> {
    fn child(&self, plan: &LogicalPlan) -> Result<Statistics> {
        estimate_node(plan, self)
    }
    fn provider(&self) -> &dyn StatisticsProvider {
        self.0
    }
}

/// The rows a recursive CTE's work table is estimated to hold in one round.
const WORKTABLE_ROWS: f64 = 1000.0;

/// Estimate a plan's output statistics.
pub fn estimate(plan: &LogicalPlan, provider: &dyn StatisticsProvider) -> Result<Statistics> {
    estimate_node(plan, &Recurse(provider))
}

/// Estimate one node's output statistics from its inputs' (see [`ChildEstimates`]).
pub fn estimate_node(plan: &LogicalPlan, c: &dyn ChildEstimates) -> Result<Statistics> {
    Ok(match plan {
        LogicalPlan::Scan {
            source,
            columns,
            projection,
            filters,
        } => c
            .provider()
            .scan_statistics(source, columns, projection, filters)?,
        LogicalPlan::Range {
            column,
            count,
            start,
            step,
        } => {
            let mut s = Statistics::unknown(*count as f64);
            let last = *start as f64 + (*count as f64 - 1.0) * *step as f64;
            s.columns.insert(
                column.id,
                ColumnStatistics {
                    ndv: Some(*count as f64),
                    null_fraction: 0.0,
                    min: Some((*start as f64).min(last)),
                    max: Some((*start as f64).max(last)),
                    histogram: None,
                    key_domain: Some(*count as f64),
                },
            );
            s
        }
        LogicalPlan::Values { rows, .. } => Statistics::unknown(rows.len() as f64),
        LogicalPlan::Filter { input, predicate } => apply_filter(c.child(input)?, predicate),
        LogicalPlan::Project { input, exprs } => {
            let s = c.child(input)?;
            let mut cols = HashMap::new();
            for (e, c) in exprs {
                if let Some(id) = column_of(e) {
                    if let Some(cs) = s.columns.get(&id) {
                        let mut cs = cs.clone();
                        if !matches!(e, Expr::Column(_)) {
                            // a cast keeps NDV and NULLs, not necessarily the domain
                            cs.min = None;
                            cs.max = None;
                            cs.histogram = None;
                        }
                        cols.insert(c.id, cs);
                    }
                } else if let Expr::Literal(v) = e {
                    cols.insert(
                        c.id,
                        ColumnStatistics {
                            ndv: Some(1.0),
                            null_fraction: if v.is_null() { 1.0 } else { 0.0 },
                            min: scalar_f64(v),
                            max: scalar_f64(v),
                            histogram: None,
                            key_domain: None,
                        },
                    );
                }
            }
            Statistics {
                rows: s.rows,
                columns: cols,
            }
        }
        LogicalPlan::Aggregate {
            input,
            group,
            aggs: _,
        } => {
            let s = c.child(input)?;
            if group.is_empty() {
                return Ok(Statistics::unknown(1.0));
            }
            // distinct groups: the product of the keys' NDVs, at most the input rows;
            // a computed key counts as the input's rows
            let mut groups = 1.0_f64;
            let mut cols = HashMap::new();
            for (e, c) in group {
                match column_of(e).filter(|id| s.columns.contains_key(id)) {
                    Some(id) => {
                        groups *= s.ndv(id)
                            + if s.columns[&id].null_fraction > 0.0 {
                                1.0
                            } else {
                                0.0
                            };
                        cols.insert(c.id, s.columns[&id].clone());
                    }
                    None => groups *= s.rows.max(1.0),
                }
            }
            let rows = groups.min(s.rows).max(if s.rows > 0.0 { 1.0 } else { 0.0 });
            Statistics {
                rows,
                columns: cols,
            }
        }
        LogicalPlan::Join {
            left,
            right,
            join_type,
            on,
            filter,
        } => {
            let (l, r) = (c.child(left)?, c.child(right)?);
            let keys = key_ids(on);
            let matches = match (join_type, keys.as_slice()) {
                (JoinType::Inner, [key]) if on.len() == 1 => {
                    c.provider().join_matches(left, right, *key)
                }
                _ => None,
            };
            join_statistics(&l, &r, *join_type, on, filter.as_ref(), matches)
        }
        LogicalPlan::Sort { input, fetch, .. } => {
            let s = c.child(input)?;
            match fetch {
                Some(n) if (*n as f64) < s.rows => {
                    let n = *n as f64;
                    s.scaled(n)
                }
                _ => s,
            }
        }
        LogicalPlan::Limit { input, skip, fetch } => {
            let s = c.child(input)?;
            let left = (s.rows - *skip as f64).max(0.0);
            let n = fetch.map_or(left, |f| left.min(f as f64));
            s.scaled(n)
        }
        LogicalPlan::Expand {
            input, projections, ..
        } => {
            let s = c.child(input)?;
            Statistics::unknown(s.rows * projections.len() as f64)
        }
        LogicalPlan::Window { input, .. } => c.child(input)?,
        // without statistics of collection sizes: a few rows per input row
        LogicalPlan::Generate { input, .. } => {
            Statistics::unknown(c.child(input)?.rows * GENERATE_ROWS_PER_INPUT_ROW)
        }
        LogicalPlan::Union { inputs, .. } => {
            let mut rows = 0.0;
            for i in inputs {
                rows += c.child(i)?.rows;
            }
            Statistics::unknown(rows)
        }
        LogicalPlan::SetOp { left, right, kind } => {
            let l = c.child(left)?;
            let r = c.child(right)?;
            match kind {
                crate::plan::SetOpKind::Intersect => Statistics::unknown(l.rows.min(r.rows)),
                crate::plan::SetOpKind::Except => Statistics::unknown(l.rows),
            }
        }
        // the number of rounds is unknown: the anchor's rows and ten rounds of the
        // recursive term
        LogicalPlan::RecursiveCte {
            anchor, recursive, ..
        } => {
            let a = c.child(anchor)?.rows;
            let r = c.child(recursive)?.rows;
            Statistics::unknown(a + 10.0 * r)
        }
        // a round's rows: unknown, taken as the usual default
        LogicalPlan::WorkTable { .. } => Statistics::unknown(WORKTABLE_ROWS),
    })
}

/// Statistics of a join's output from its inputs'; `sampled`: the equi-join's partners
/// per row where a sample measured them ([`StatisticsProvider::join_matches`]), which
/// replace the independence estimate of the equi-join's rows.
pub fn join_statistics(
    l: &Statistics,
    r: &Statistics,
    join_type: JoinType,
    on: &[(Expr, Expr)],
    filter: Option<&Expr>,
    sampled: Option<JoinMatches>,
) -> Statistics {
    let keys = key_ids(on);
    // keys over computed expressions: a guessed 0.1 each
    let computed = on.len() - keys.len();
    let mut inner = match sampled {
        Some(m) => sampled_join_rows(l.rows, r.rows, m),
        None => equi_join_rows(l, r, &keys) * 0.1_f64.powi(computed as i32),
    };
    if keys.is_empty() && computed == 0 {
        inner = l.rows * r.rows;
    }
    let mut both = join_output(l, r, &keys, inner);
    if let Some(f) = filter {
        both = apply_filter(both, f);
    }
    let inner = both.rows;
    match join_type {
        JoinType::Inner | JoinType::Cross => both,
        JoinType::Left => {
            let rows = inner.max(l.rows);
            Statistics { rows, ..both }
        }
        JoinType::Right => {
            let rows = inner.max(r.rows);
            Statistics { rows, ..both }
        }
        JoinType::Full => {
            let rows = inner.max(l.rows).max(r.rows);
            Statistics { rows, ..both }
        }
        JoinType::LeftSemi | JoinType::LeftAnti => {
            // the share of left keys that find a match: NDV_r / NDV_l (containment);
            // an anti join keeps at least 10% (containment often fails there: TPC-H
            // Q22's customers without orders)
            let matched = if keys.is_empty() {
                if r.rows > 0.0 {
                    0.5
                } else {
                    0.0
                }
            } else {
                keys.iter()
                    .map(|(a, b)| (r.ndv(*b) / l.ndv(*a)).min(1.0))
                    .fold(1.0_f64, f64::min)
            };
            let share = if join_type == JoinType::LeftSemi {
                matched
            } else {
                (1.0 - matched).max(0.1)
            };
            let mut out = l.clone().scaled(l.rows * share.clamp(0.0, 1.0));
            // a semi join keeps only keys the right side has: at most its NDV of them
            // (so a later equality with that side's column is not counted again)
            if join_type == JoinType::LeftSemi {
                for (a, b) in &keys {
                    let right_ndv = r.ndv(*b);
                    let c = out.columns.entry(*a).or_default();
                    c.ndv = Some(c.ndv.map_or(right_ndv, |n| n.min(right_ndv)));
                }
            }
            out
        }
    }
}

/// Render a row estimate as EXPLAIN shows it: integers, with k/M/B from 10,000 up.
pub fn fmt_rows(n: f64) -> String {
    if !n.is_finite() {
        return "?".into();
    }
    let n = n.max(0.0);
    if n < 10_000.0 {
        format!("{}", n.round() as u64)
    } else if n < 1e6 {
        format!("{:.1}K", n / 1e3)
    } else if n < 1e9 {
        format!("{:.1}M", n / 1e6)
    } else {
        format!("{:.1}B", n / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::DataType;

    fn col(id: ColumnId) -> Expr {
        Expr::Column(Column {
            id,
            name: format!("c{id}"),
            data_type: DataType::Int64,
            nullable: true,
        })
    }
    fn lit(v: i64) -> Expr {
        Expr::Literal(ScalarValue::from_i64(v))
    }
    fn cmp(op: BinOp, l: Expr, r: Expr) -> Expr {
        Expr::binary(op, l, r, DataType::Boolean)
    }
    fn stats() -> Statistics {
        let mut s = Statistics::unknown(1000.0);
        s.columns.insert(
            1,
            ColumnStatistics {
                ndv: Some(100.0),
                null_fraction: 0.0,
                min: Some(0.0),
                max: Some(99.0),
                histogram: None,
                key_domain: None,
            },
        );
        s
    }

    /// A semi join keeps at most the right side's distinct keys, so an equality with that
    /// side's column afterwards is not counted as selective a second time (TPC-H Q07's
    /// supplier semi-joined with two nations, then joined with them).
    #[test]
    fn semi_join_narrows_the_key_to_the_right_sides_values() {
        let mut r = Statistics::unknown(2.0);
        r.columns.insert(
            2,
            ColumnStatistics {
                ndv: Some(2.0),
                ..Default::default()
            },
        );
        let on = [(col(1), col(2))];
        let semi = join_statistics(&stats(), &r, JoinType::LeftSemi, &on, None, None);
        assert_eq!(semi.rows, 20.0);
        assert_eq!(semi.columns[&1].ndv, Some(2.0));
        // joined with the same two keys again: every row still finds its one match
        let again = join_statistics(&semi, &r, JoinType::Inner, &on, None, None);
        assert_eq!(again.rows, 20.0);
    }

    #[test]
    fn disjunction_narrows_pinned_and_bounded_columns() {
        let or = |a: Expr, b: Expr| cmp(BinOp::Or, a, b);
        // (c = 5) OR (c = 6) OR (c = 5): two values left
        let p = or(
            or(
                cmp(BinOp::Eq, col(1), lit(5)),
                cmp(BinOp::Eq, col(1), lit(6)),
            ),
            cmp(BinOp::Eq, col(1), lit(5)),
        );
        let out = apply_filter(stats(), &p);
        assert_eq!(out.columns[&1].ndv, Some(2.0));
        // so the same condition again keeps most rows (not another 3%)
        let again = apply_filter(out.clone(), &p);
        assert!(
            again.rows >= 0.8 * out.rows,
            "{} vs {}",
            again.rows,
            out.rows
        );
        // (c <= 10) OR (c >= 20 AND c <= 30): bounds 0..30
        let p = or(
            cmp(BinOp::LtEq, col(1), lit(10)),
            cmp(
                BinOp::And,
                cmp(BinOp::GtEq, col(1), lit(20)),
                cmp(BinOp::LtEq, col(1), lit(30)),
            ),
        );
        let out = apply_filter(stats(), &p);
        assert_eq!(
            (out.columns[&1].min, out.columns[&1].max),
            (Some(0.0), Some(30.0))
        );
        // a branch without the column leaves it as it was
        let p = or(
            cmp(BinOp::Eq, col(1), lit(5)),
            cmp(BinOp::Eq, col(2), lit(6)),
        );
        let out = apply_filter(stats(), &p);
        assert!(out.columns[&1].ndv.unwrap() > 2.0);
    }

    #[test]
    fn equality_uses_ndv_and_range() {
        let s = stats();
        assert!((selectivity(&cmp(BinOp::Eq, col(1), lit(5)), &s) - 0.01).abs() < 1e-9);
        // outside [min, max]: nothing
        assert_eq!(selectivity(&cmp(BinOp::Eq, col(1), lit(500)), &s), 0.0);
        // a half range
        let half = selectivity(&cmp(BinOp::Lt, col(1), lit(49)), &s);
        assert!((half - 0.5).abs() < 0.02, "{half}");
        // BETWEEN as two bounds is one interval, not 1/9
        let b = Expr::and(
            cmp(BinOp::GtEq, col(1), lit(10)),
            cmp(BinOp::LtEq, col(1), lit(19)),
        );
        let sb = selectivity(&b, &s);
        assert!((sb - 0.1).abs() < 0.02, "{sb}");
        // unknown column: the System R default
        assert!(
            (selectivity(&cmp(BinOp::Eq, col(7), lit(5)), &Statistics::unknown(10.0)) - 0.1).abs()
                < 1e-9
        );
    }

    #[test]
    fn histograms_follow_skew() {
        let mut s = stats();
        // 90% of the values in [0, 10], the rest up to 99
        let mut b = vec![0.0];
        for k in 1..=9 {
            b.push(k as f64 * 10.0 / 9.0);
        }
        b.push(99.0);
        s.columns.get_mut(&1).unwrap().histogram = Some(Arc::new(b));
        let low = selectivity(&cmp(BinOp::LtEq, col(1), lit(10)), &s);
        assert!(low > 0.85, "{low}");
    }

    #[test]
    fn join_rows_assume_containment() {
        let mut orders = Statistics::unknown(1500.0);
        orders.columns.insert(
            1,
            ColumnStatistics {
                ndv: Some(1500.0),
                ..Default::default()
            },
        );
        let mut items = Statistics::unknown(6000.0);
        items.columns.insert(
            2,
            ColumnStatistics {
                ndv: Some(1500.0),
                ..Default::default()
            },
        );
        assert_eq!(equi_join_rows(&items, &orders, &[(2, 1)]), 6000.0);
        // a foreign key whose NDV (from its range) overshoots the primary key's domain:
        // capped by it, so a filtered primary side keeps its share of the rows
        let mut filtered_orders = Statistics::unknown(150.0);
        filtered_orders.columns.insert(
            1,
            ColumnStatistics {
                ndv: Some(150.0),
                key_domain: Some(1500.0),
                ..Default::default()
            },
        );
        items.columns.insert(
            2,
            ColumnStatistics {
                ndv: Some(6000.0),
                key_domain: Some(6000.0),
                ..Default::default()
            },
        );
        assert_eq!(equi_join_rows(&items, &filtered_orders, &[(2, 1)]), 600.0);
        // a join filter from the 150 orders keeps a tenth of the items: the same share
        // as the join's estimate (600 of 6000, one order per item)
        assert_eq!(semi_join_selectivity(&items, 2, &filtered_orders, 1), 0.1);
        // and every row of the filtered orders has items
        assert_eq!(semi_join_selectivity(&filtered_orders, 1, &items, 2), 1.0);
        items.columns.get_mut(&2).unwrap().key_domain = None;
        filtered_orders.columns.get_mut(&1).unwrap().key_domain = None;
        assert_eq!(equi_join_rows(&items, &filtered_orders, &[(2, 1)]), 150.0);
        // composite correlated keys: bounded by the unique side's rows
        let mut ps = Statistics::unknown(800.0);
        ps.columns.insert(
            3,
            ColumnStatistics {
                ndv: Some(200.0),
                ..Default::default()
            },
        );
        ps.columns.insert(
            4,
            ColumnStatistics {
                ndv: Some(10.0),
                ..Default::default()
            },
        );
        let mut li = Statistics::unknown(6000.0);
        li.columns.insert(
            5,
            ColumnStatistics {
                ndv: Some(200.0),
                ..Default::default()
            },
        );
        li.columns.insert(
            6,
            ColumnStatistics {
                ndv: Some(10.0),
                ..Default::default()
            },
        );
        assert_eq!(equi_join_rows(&li, &ps, &[(5, 3), (6, 4)]), 6000.0);
        // a unique key plus another: independent
        let mut cust = Statistics::unknown(150.0);
        cust.columns.insert(
            7,
            ColumnStatistics {
                ndv: Some(150.0),
                ..Default::default()
            },
        );
        cust.columns.insert(
            8,
            ColumnStatistics {
                ndv: Some(25.0),
                ..Default::default()
            },
        );
        let mut sales = Statistics::unknown(1000.0);
        sales.columns.insert(
            9,
            ColumnStatistics {
                ndv: Some(100.0),
                ..Default::default()
            },
        );
        sales.columns.insert(
            10,
            ColumnStatistics {
                ndv: Some(25.0),
                ..Default::default()
            },
        );
        assert_eq!(
            equi_join_rows(&sales, &cust, &[(9, 7), (10, 8)]),
            1000.0 / 25.0
        );
    }

    #[test]
    fn row_counts_render_compactly() {
        assert_eq!(fmt_rows(12.4), "12");
        assert_eq!(fmt_rows(60_000.0), "60.0K");
        assert_eq!(fmt_rows(6_001_215.0), "6.0M");
        assert_eq!(fmt_rows(59_986_052.0), "60.0M");
    }
}
