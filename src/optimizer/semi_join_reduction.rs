//! Semi-join reduction of grouped inputs: when an aggregate grouped by the join key
//! feeds a join whose other side keeps only a few key values (typically a decorrelated
//! subquery: TPC-H Q17's `avg(l_quantity)` per part, joined with the parts of one brand
//! and container), the aggregate's input is first semi-joined with the selective scan
//! those key values come from, so it aggregates only the groups the join can use
//! instead of every group (Q17: 6M lineitem rows -> the ~6K of 200 parts). The idea is
//! the "magic sets" rewrite (Seshadri et al., "Cost-based optimization for magic",
//! SIGMOD 1996) restricted to one filtered scan; DuckDB and Spark reach similar plans
//! with runtime join filters.
//!
//! Applies where the aggregate's side drops rows without a match (inner join, the right
//! side of a left or semi join, the left side of a right join), the aggregate's group
//! keys include the join key, and a scan with filters whose rows are estimated at most a
//! half of the aggregate's input produces the other side's key values (through
//! filters, projections, inner and semi joins and group keys). The scan is read a second
//! time, with fresh column ids.
//!
//! The same applies to a plain scan on the build side (the smaller) of an inner join
//! whose key comes, through a join on the other side, from a selective filtered scan
//! (TPC-H Q09: partsupp and the '%green%' parts; see [`reduce_scan`]).

use std::collections::HashMap;

use super::stats::{estimate, StatisticsProvider};
use super::OptimizerRule;
use crate::error::Result;
use crate::plan::{Column, ColumnId, Expr, JoinType, LogicalPlan};

pub struct SemiJoinReduction;

impl OptimizerRule for SemiJoinReduction {
    fn name(&self) -> &'static str {
        "semi_join_reduction"
    }
    fn rewrite(&self, plan: LogicalPlan, ctx: &super::OptimizerContext) -> Result<LogicalPlan> {
        rewrite(plan, ctx.statistics)
    }
}

/// Most rows of the filtering scan, as a fraction of the aggregate's input rows.
const MAX_FILTER_FRACTION: f64 = 0.5;

fn rewrite(plan: LogicalPlan, stats: &dyn StatisticsProvider) -> Result<LogicalPlan> {
    let plan = plan.map_inputs(&mut |p| rewrite(p, stats))?;
    let LogicalPlan::Join {
        left,
        right,
        join_type,
        on,
        filter,
    } = plan
    else {
        return Ok(plan);
    };
    let (mut left, mut right) = (left, right);
    let pairs = |flip: bool| -> Vec<(ColumnId, ColumnId)> {
        on.iter()
            .filter_map(|(l, r)| match (l, r) {
                (Expr::Column(a), Expr::Column(b)) => {
                    Some(if flip { (b.id, a.id) } else { (a.id, b.id) })
                }
                _ => None,
            })
            .collect()
    };
    if matches!(
        join_type,
        JoinType::Inner | JoinType::Left | JoinType::LeftSemi
    ) {
        if let Some(r) = reduce(&right, &left, &pairs(true), stats)? {
            right = Box::new(r);
        }
    }
    if matches!(join_type, JoinType::Inner | JoinType::Right) {
        if let Some(l) = reduce(&left, &right, &pairs(false), stats)? {
            left = Box::new(l);
        }
    }
    if join_type == JoinType::Inner {
        if let Some(r) = reduce_scan(&right, &left, &pairs(true), stats)? {
            right = Box::new(r);
        } else if let Some(l) = reduce_scan(&left, &right, &pairs(false), stats)? {
            left = Box::new(l);
        }
    }
    Ok(LogicalPlan::Join {
        left,
        right,
        join_type,
        on,
        filter,
    })
}

/// `agg_side` with its aggregate's input semi-joined to the best filtering scan of
/// `other`, if one is selective enough. `keys` pairs (agg_side column, other column).
fn reduce(
    agg_side: &LogicalPlan,
    other: &LogicalPlan,
    keys: &[(ColumnId, ColumnId)],
    stats: &dyn StatisticsProvider,
) -> Result<Option<LogicalPlan>> {
    let Some(input) = aggregate_input(agg_side) else {
        return Ok(None);
    };
    // the input's estimate only once a key passes through the aggregate
    let mut input_rows: Option<f64> = None;
    // (group expression over the aggregate's input, scan, key column of the scan, rows)
    let mut best: Option<(Expr, &LogicalPlan, ColumnId, f64)> = None;
    for (a, o) in keys {
        let Some(group_expr) = group_expr_of(agg_side, *a) else {
            continue;
        };
        let rows_in = match input_rows {
            Some(r) => r,
            None => *input_rows.insert(estimate(input, stats)?.rows),
        };
        let found = filtering_scan(other, *o, &group_expr.data_type(), rows_in, None, stats)?;
        if let Some((scan, id, rows)) = found {
            if best.as_ref().is_none_or(|b| rows < b.3) {
                best = Some((group_expr.clone(), scan, id, rows));
            }
        }
    }
    let Some((group_expr, scan, id, _)) = best else {
        return Ok(None);
    };
    let Some((copy, key)) = keyed_copy(scan, id) else {
        return Ok(None);
    };
    let mut done = false;
    let out = with_aggregate_input(agg_side.clone(), &mut |input| {
        done = true;
        LogicalPlan::Join {
            left: Box::new(input),
            right: Box::new(copy.clone()),
            join_type: JoinType::LeftSemi,
            on: vec![(group_expr.clone(), Expr::Column(key.clone()))],
            filter: None,
        }
    });
    Ok(done.then_some(out))
}

/// `side` (one scan under projections and filters) semi-joined with a copy of the most
/// selective filtered scan that one of the join's keys on the other side comes from
/// through another join: TPC-H Q09's `partsupp` (8 M rows, the build side) joins
/// `lineitem` on `(ps_partkey, ps_suppkey)`, and `l_partkey` is `p_partkey` of the parts
/// named '%green%' (5%), so only their partsupp rows are kept before the hash table is
/// built. Only for the side estimated to be the smaller (the build side); and a filtered
/// scan that is the other side itself is left alone: the join filters those rows already.
fn reduce_scan(
    side: &LogicalPlan,
    other: &LogicalPlan,
    keys: &[(ColumnId, ColumnId)],
    stats: &dyn StatisticsProvider,
) -> Result<Option<LogicalPlan>> {
    if leaf_scan(side).is_none() {
        return Ok(None);
    }
    let side_rows = estimate(side, stats)?.rows;
    let direct = leaf_scan(other);
    // (key column of side's scan, filtering scan, its key column, its rows)
    let mut best: Option<(Column, &LogicalPlan, ColumnId, f64)> = None;
    for (a, o) in keys {
        let Some(key) = scan_column_of(side, *a) else {
            continue;
        };
        let found = filtering_scan(other, *o, &key.data_type, side_rows, direct, stats)?;
        if let Some((scan, id, rows)) = found {
            if best.as_ref().is_none_or(|b| rows < b.3) {
                best = Some((key.clone(), scan, id, rows));
            }
        }
    }
    let Some((key, scan, id, _)) = best else {
        return Ok(None);
    };
    // only a side that will be the build side (the smaller): the probe side's rows are
    // already dropped by the join filter the build side's hash table becomes
    if side_rows > estimate(other, stats)?.rows {
        return Ok(None);
    }
    let Some((copy, copy_key)) = keyed_copy(scan, id) else {
        return Ok(None);
    };
    Ok(Some(with_leaf_scan(side.clone(), &mut |s| {
        LogicalPlan::Join {
            left: Box::new(s),
            right: Box::new(copy.clone()),
            join_type: JoinType::LeftSemi,
            on: vec![(Expr::Column(key.clone()), Expr::Column(copy_key.clone()))],
            filter: None,
        }
    })))
}

/// The smallest scan with filters among those column `id` of `other` comes from
/// (`sources`), other than `skip`, whose key column has type `key_type` and whose rows
/// are estimated at most [`MAX_FILTER_FRACTION`] of `rows_in`: (scan, its key column,
/// its estimated rows).
fn filtering_scan<'a>(
    other: &'a LogicalPlan,
    id: ColumnId,
    key_type: &arrow::datatypes::DataType,
    rows_in: f64,
    skip: Option<&LogicalPlan>,
    stats: &dyn StatisticsProvider,
) -> Result<Option<(&'a LogicalPlan, ColumnId, f64)>> {
    let mut found = vec![];
    sources(other, id, &mut found);
    let mut best: Option<(&LogicalPlan, ColumnId, f64)> = None;
    for (scan, id) in found {
        let LogicalPlan::Scan {
            columns, filters, ..
        } = scan
        else {
            continue;
        };
        if filters.is_empty()
            || filters.iter().any(|f| !f.is_deterministic())
            || skip.is_some_and(|d| std::ptr::eq(d, scan))
        {
            continue;
        }
        if columns
            .iter()
            .find(|c| c.id == id)
            .is_none_or(|c| &c.data_type != key_type)
        {
            continue;
        }
        let rows = estimate(scan, stats)?.rows;
        if rows <= rows_in * MAX_FILTER_FRACTION && best.is_none_or(|b| rows < b.2) {
            best = Some((scan, id, rows));
        }
    }
    Ok(best)
}

/// A fresh copy of `scan` (new column ids) and the copy's column for `id`.
fn keyed_copy(scan: &LogicalPlan, id: ColumnId) -> Option<(LogicalPlan, Column)> {
    let (copy, ids) = fresh_copy(scan);
    let key = ids.get(&id)?.clone();
    Some((copy, key))
}

/// The first node of `p` that is not a projection or filter.
fn below_projections(p: &LogicalPlan) -> &LogicalPlan {
    match p {
        LogicalPlan::Project { input, .. } | LogicalPlan::Filter { input, .. } => {
            below_projections(input)
        }
        _ => p,
    }
}

/// `p` with its first node that is not a projection or filter replaced by `f(node)`.
fn map_below_projections(
    p: LogicalPlan,
    f: &mut dyn FnMut(LogicalPlan) -> LogicalPlan,
) -> LogicalPlan {
    match p {
        LogicalPlan::Project { input, exprs } => LogicalPlan::Project {
            input: Box::new(map_below_projections(*input, f)),
            exprs,
        },
        LogicalPlan::Filter { input, predicate } => LogicalPlan::Filter {
            input: Box::new(map_below_projections(*input, f)),
            predicate,
        },
        other => f(other),
    }
}

/// The scan at the bottom of `p` when `p` is one scan under projections and filters.
fn leaf_scan(p: &LogicalPlan) -> Option<&LogicalPlan> {
    let leaf = below_projections(p);
    matches!(leaf, LogicalPlan::Scan { .. }).then_some(leaf)
}

/// The scan column that output column `id` of `p` (one scan under projections and
/// filters) passes through unchanged, if any.
fn scan_column_of(p: &LogicalPlan, id: ColumnId) -> Option<Column> {
    match p {
        LogicalPlan::Scan { columns, .. } => columns.iter().find(|c| c.id == id).cloned(),
        LogicalPlan::Project { input, exprs } => match exprs.iter().find(|(_, c)| c.id == id) {
            Some((Expr::Column(inner), _)) => scan_column_of(input, inner.id),
            _ => None,
        },
        LogicalPlan::Filter { input, .. } => scan_column_of(input, id),
        _ => None,
    }
}

/// `p` with its bottom scan replaced by `f(scan)` (`p`: one scan under projections and
/// filters).
fn with_leaf_scan(p: LogicalPlan, f: &mut dyn FnMut(LogicalPlan) -> LogicalPlan) -> LogicalPlan {
    map_below_projections(p, &mut |n| match n {
        LogicalPlan::Scan { .. } => f(n),
        other => other,
    })
}

/// The input of the aggregate at the top of `p` (under projections and filters).
fn aggregate_input(p: &LogicalPlan) -> Option<&LogicalPlan> {
    match below_projections(p) {
        LogicalPlan::Aggregate { input, .. } => Some(input),
        _ => None,
    }
}

/// The aggregate's group expression (over its input) that output column `id` of `p`
/// passes through unchanged, if any.
fn group_expr_of(p: &LogicalPlan, id: ColumnId) -> Option<Expr> {
    match p {
        LogicalPlan::Aggregate { group, .. } => group
            .iter()
            .find(|(_, c)| c.id == id)
            .map(|(e, _)| e.clone()),
        LogicalPlan::Project { input, exprs } => match exprs.iter().find(|(_, c)| c.id == id) {
            Some((Expr::Column(inner), _)) => group_expr_of(input, inner.id),
            _ => None,
        },
        LogicalPlan::Filter { input, .. } => group_expr_of(input, id),
        _ => None,
    }
}

/// Scans of `p` whose column (second) holds every non-NULL value that column `id` of
/// `p`'s output takes.
fn sources<'a>(p: &'a LogicalPlan, id: ColumnId, out: &mut Vec<(&'a LogicalPlan, ColumnId)>) {
    match p {
        LogicalPlan::Scan { columns, .. } => {
            if columns.iter().any(|c| c.id == id) {
                out.push((p, id));
            }
        }
        LogicalPlan::Filter { input, .. }
        | LogicalPlan::Sort { input, .. }
        | LogicalPlan::Limit { input, .. } => sources(input, id, out),
        LogicalPlan::Project { input, exprs } => {
            if let Some((Expr::Column(inner), _)) = exprs.iter().find(|(_, c)| c.id == id) {
                sources(input, inner.id, out);
            }
        }
        LogicalPlan::Aggregate { input, group, .. } => {
            if let Some((Expr::Column(inner), _)) = group.iter().find(|(_, c)| c.id == id) {
                sources(input, inner.id, out);
            }
        }
        LogicalPlan::Join {
            left,
            right,
            join_type,
            on,
            ..
        } => {
            let in_left = left.schema().iter().any(|c| c.id == id);
            let in_right = right.schema().iter().any(|c| c.id == id);
            if in_left {
                sources(left, id, out);
            }
            if in_right {
                sources(right, id, out);
            }
            // every output row satisfies the equi-join keys of an inner or semi join
            if matches!(
                join_type,
                JoinType::Inner | JoinType::Cross | JoinType::LeftSemi
            ) {
                for (l, r) in on {
                    if let (Expr::Column(a), Expr::Column(b)) = (l, r) {
                        if a.id == id && in_left {
                            sources(right, b.id, out);
                        }
                        if b.id == id && in_right {
                            sources(left, a.id, out);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// A copy of a scan with fresh column ids; the map from old ids to the new columns.
fn fresh_copy(scan: &LogicalPlan) -> (LogicalPlan, HashMap<ColumnId, Column>) {
    let LogicalPlan::Scan {
        source,
        columns,
        projection,
        filters,
    } = scan
    else {
        return (scan.clone(), HashMap::new());
    };
    let ids: HashMap<ColumnId, Column> = columns
        .iter()
        .map(|c| {
            (
                c.id,
                Column::new(c.name.clone(), c.data_type.clone(), c.nullable),
            )
        })
        .collect();
    let defs: HashMap<ColumnId, Expr> = ids
        .iter()
        .map(|(id, c)| (*id, Expr::Column(c.clone())))
        .collect();
    let filters = filters
        .iter()
        .map(|f| f.clone().substitute(&defs))
        .collect();
    let columns = columns
        .iter()
        .filter_map(|c| ids.get(&c.id).cloned())
        .collect();
    (
        LogicalPlan::Scan {
            source: source.clone(),
            columns,
            projection: projection.clone(),
            filters,
        },
        ids,
    )
}

/// `p` with `f` applied to the input of its top aggregate (under projections and filters).
fn with_aggregate_input(
    p: LogicalPlan,
    f: &mut dyn FnMut(LogicalPlan) -> LogicalPlan,
) -> LogicalPlan {
    map_below_projections(p, &mut |n| match n {
        LogicalPlan::Aggregate { input, group, aggs } => LogicalPlan::Aggregate {
            input: Box::new(f(*input)),
            group,
            aggs,
        },
        other => other,
    })
}
