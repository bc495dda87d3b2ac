//! `subquery_to_window`: a decorrelated scalar subquery that aggregates the same tables,
//! under the same conditions, as the query around it is computed as a window function
//! over the outer query's rows instead of by reading those tables a second time
//! (WinMagic: Zuzarte et al., "WinMagic: Subquery Elimination Using Window Aggregation",
//! SIGMOD 2003). TPC-H Q17:
//!
//! ```sql
//! SELECT sum(l_extendedprice) FROM lineitem, part
//! WHERE p_partkey = l_partkey AND p_brand = 'Brand#23'
//!   AND l_quantity < (SELECT 0.2 * avg(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)
//! ```
//!
//! is run as `avg(l_quantity) OVER (PARTITION BY l_partkey)` over the join of lineitem
//! and part, then the comparison: lineitem is scanned once.
//!
//! The decorrelated form this rule matches is
//! `Filter(p, Join Left on [o_1 = k_1, ...] (outer, Project*(Aggregate group=[g_1, ...] (sub))))`
//! where `outer` and `sub` are trees of scans, filters and inner/cross joins. It applies when:
//! - every relation of `sub` is a relation of `outer` reading the same table (one candidate
//!   each; the outer relations matched are the *mapped* ones, the others the *rest*);
//! - `sub`'s conditions, with its columns renamed to the mapped relations', are exactly the
//!   outer conditions that read only mapped relations (the outer conditions are those of
//!   `outer` and the conjuncts of `p` that do not read the subquery's columns);
//! - each correlation key `o_i` equals the mapped group key `g_i` through the outer's
//!   column equalities, and the group keys are exactly the correlation keys;
//! - every outer condition that reads a mapped relation and a rest relation reads the
//!   mapped one only through group keys;
//! - every aggregate is `min`, `max` or `avg` without DISTINCT.
//!
//! Why the result is the same: an outer row `r` keeps the mapped part of every `sub` row
//! with `g = r.g` (the conditions on mapped relations are the same), joined to the rest
//! relations through the group keys alone, so each such row appears the same number of
//! times (at least once: `r` itself). `min`, `max` and `avg` do not change when every input
//! row is repeated the same number of times; `sum` and `count` would, so they are left to
//! the join. Every outer row has a match, as the left join would have found one.
//!
//! The window holds its input in memory, so the rule applies only where the outer rows
//! are estimated to be no more than the rows the subquery's aggregate would read.

use std::collections::{HashMap, HashSet};

use arrow::datatypes::DataType;

use super::stats::{estimate, StatisticsProvider};
use super::OptimizerRule;
use crate::error::Result;
use crate::functions::aggregate::AggFunc;
use crate::plan::expr::{FrameBound, FrameUnits, WindowExpr, WindowFrame, WindowFunc};
use crate::plan::{BinOp, Column, ColumnId, Expr, JoinType, LogicalPlan};

pub struct SubqueryToWindow;

impl OptimizerRule for SubqueryToWindow {
    fn name(&self) -> &'static str {
        "subquery_to_window"
    }
    fn rewrite(&self, plan: LogicalPlan, ctx: &super::OptimizerContext) -> Result<LogicalPlan> {
        rewrite(plan, ctx.statistics)
    }
}

fn rewrite(plan: LogicalPlan, stats: &dyn StatisticsProvider) -> Result<LogicalPlan> {
    let plan = plan.map_inputs(&mut |p| rewrite(p, stats))?;
    if let LogicalPlan::Filter { input, predicate } = &plan {
        if let Some(windowed) = as_window(input, predicate, stats)? {
            return Ok(windowed);
        }
    }
    Ok(plan)
}

/// The relations (scans) and conjuncts of a tree of scans, filters and inner/cross joins;
/// `None` for any other node.
fn flatten(p: &LogicalPlan, rels: &mut Vec<LogicalPlan>, conds: &mut Vec<Expr>) -> Option<()> {
    match p {
        LogicalPlan::Scan { filters, .. } => {
            conds.extend(filters.iter().cloned());
            rels.push(p.clone());
        }
        LogicalPlan::Filter { input, predicate } => {
            conds.extend(predicate.clone().split_conjunction());
            flatten(input, rels, conds)?;
        }
        LogicalPlan::Join {
            left,
            right,
            join_type: JoinType::Inner | JoinType::Cross,
            on,
            filter,
        } => {
            for (l, r) in on {
                conds.push(Expr::binary(
                    BinOp::Eq,
                    l.clone(),
                    r.clone(),
                    DataType::Boolean,
                ));
            }
            if let Some(f) = filter {
                conds.extend(f.clone().split_conjunction());
            }
            flatten(left, rels, conds)?;
            flatten(right, rels, conds)?;
        }
        _ => return None,
    }
    Some(())
}

/// Whether two scans read the same table.
fn same_table(a: &LogicalPlan, b: &LogicalPlan) -> bool {
    match (a, b) {
        (LogicalPlan::Scan { source: x, .. }, LogicalPlan::Scan { source: y, .. }) => {
            std::sync::Arc::ptr_eq(x, y)
                || (x.name == y.name
                    && x.location == y.location
                    && x.format == y.format
                    && x.options == y.options)
        }
        _ => false,
    }
}

/// `a` and `b` are the same condition (an equality in either order).
fn same_condition(a: &Expr, b: &Expr) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (
            Expr::Binary {
                op: BinOp::Eq,
                left: l1,
                right: r1,
                ..
            },
            Expr::Binary {
                op: BinOp::Eq,
                left: l2,
                right: r2,
                ..
            },
        ) => l1 == r2 && r1 == l2,
        _ => false,
    }
}

/// Union-find over column ids joined by `column = column` conditions.
fn equality_classes(conds: &[Expr]) -> HashMap<ColumnId, ColumnId> {
    let mut parent: HashMap<ColumnId, ColumnId> = HashMap::new();
    let find = super::class_root;
    for c in conds {
        if let Expr::Binary {
            op: BinOp::Eq,
            left,
            right,
            ..
        } = c
        {
            if let (Expr::Column(a), Expr::Column(b)) = (left.as_ref(), right.as_ref()) {
                let (ra, rb) = (find(&mut parent, a.id), find(&mut parent, b.id));
                parent.insert(ra, rb);
            }
        }
    }
    let ids: Vec<ColumnId> = parent.keys().copied().collect();
    ids.into_iter()
        .map(|id| (id, find(&mut parent, id)))
        .collect()
}

/// The window form of `Filter(predicate, join)`, or `None` where the rule does not apply.
fn as_window(
    join: &LogicalPlan,
    predicate: &Expr,
    stats: &dyn StatisticsProvider,
) -> Result<Option<LogicalPlan>> {
    let LogicalPlan::Join {
        left: outer,
        right: subquery,
        join_type: JoinType::Left,
        on,
        filter: None,
    } = join
    else {
        return Ok(None);
    };
    if on.is_empty() {
        return Ok(None);
    }
    // the subquery: projections over one aggregate
    let mut projects: Vec<&Vec<(Expr, Column)>> = vec![];
    let mut node = subquery.as_ref();
    let (sub, group, aggs) = loop {
        match node {
            LogicalPlan::Project { input, exprs } => {
                projects.push(exprs);
                node = input;
            }
            LogicalPlan::Aggregate { input, group, aggs } => break (input, group, aggs),
            _ => return Ok(None),
        }
    };
    if group.is_empty()
        || aggs.is_empty()
        || !aggs.iter().all(|(a, _)| {
            !a.distinct && matches!(a.func, AggFunc::Min | AggFunc::Max | AggFunc::Avg)
        })
    {
        return Ok(None);
    }
    // a subquery output column back to the aggregate's output it passes through
    let trace = |id: ColumnId| -> Option<ColumnId> {
        let mut id = id;
        for exprs in &projects {
            match exprs.iter().find(|(_, c)| c.id == id) {
                Some((Expr::Column(x), _)) => id = x.id,
                _ => return None,
            }
        }
        Some(id)
    };
    // correlation: outer column = group key (each group key exactly once)
    let outer_schema: Vec<Column> = outer.schema();
    let outer_ids: HashSet<ColumnId> = outer_schema.iter().map(|c| c.id).collect();
    let mut keys: Vec<(ColumnId, usize)> = vec![];
    for (o, k) in on {
        let (Expr::Column(o), Expr::Column(k)) = (o, k) else {
            return Ok(None);
        };
        let Some(g) = trace(k.id) else {
            return Ok(None);
        };
        let Some(gi) = group.iter().position(|(_, c)| c.id == g) else {
            return Ok(None);
        };
        if !outer_ids.contains(&o.id) || keys.iter().any(|(_, x)| *x == gi) {
            return Ok(None);
        }
        keys.push((o.id, gi));
    }
    if keys.len() != group.len() {
        return Ok(None);
    }
    // both sides as relations and conditions
    let (mut outer_rels, mut outer_conds) = (vec![], vec![]);
    let (mut sub_rels, mut sub_conds) = (vec![], vec![]);
    if flatten(outer, &mut outer_rels, &mut outer_conds).is_none()
        || flatten(sub, &mut sub_rels, &mut sub_conds).is_none()
    {
        return Ok(None);
    }
    let (mut above, mut outer_only) = (vec![], vec![]);
    for c in predicate.clone().split_conjunction() {
        if !c.is_deterministic() || c.has_subquery() {
            return Ok(None);
        }
        if c.column_ids().iter().all(|id| outer_ids.contains(id)) {
            outer_only.push(c);
        } else {
            above.push(c);
        }
    }
    outer_conds.extend(outer_only.iter().cloned());
    if outer_conds
        .iter()
        .chain(&sub_conds)
        .any(|c| !c.is_deterministic() || c.has_subquery())
    {
        return Ok(None);
    }
    // each subquery relation reads a table the outer query reads exactly once
    let mut defs: HashMap<ColumnId, Expr> = HashMap::new();
    let mut mapped: HashSet<ColumnId> = HashSet::new();
    for s in &sub_rels {
        let candidates: Vec<&LogicalPlan> =
            outer_rels.iter().filter(|o| same_table(s, o)).collect();
        let twice = sub_rels.iter().filter(|x| same_table(s, x)).count() > 1;
        let (Some(o), 1, false) = (candidates.first(), candidates.len(), twice) else {
            return Ok(None);
        };
        let (
            LogicalPlan::Scan {
                columns: sc,
                projection: sp,
                ..
            },
            LogicalPlan::Scan {
                columns: oc,
                projection: op,
                ..
            },
        ) = (s, o)
        else {
            return Ok(None);
        };
        mapped.extend(oc.iter().map(|c| c.id));
        for (c, src) in sc.iter().zip(sp) {
            let Some(j) = op.iter().position(|x| x == src) else {
                return Ok(None);
            };
            defs.insert(c.id, Expr::Column(oc[j].clone()));
        }
    }
    // the subquery's conditions are the outer's conditions on the mapped relations
    let mut renamed = vec![];
    for c in &sub_conds {
        if !c.column_ids().iter().all(|id| defs.contains_key(id)) {
            return Ok(None);
        }
        renamed.push(c.clone().substitute(&defs));
    }
    let on_mapped: Vec<&Expr> = outer_conds
        .iter()
        .filter(|c| c.column_ids().iter().all(|id| mapped.contains(id)))
        .collect();
    if !renamed
        .iter()
        .all(|r| on_mapped.iter().any(|o| same_condition(r, o)))
        || !on_mapped
            .iter()
            .all(|o| renamed.iter().any(|r| same_condition(r, o)))
    {
        return Ok(None);
    }
    // the partition keys: the group keys as outer columns (in group order), each equal
    // to its correlation
    let mut partition_by: Vec<Option<Expr>> = vec![None; group.len()];
    let classes = equality_classes(&outer_conds);
    for (o, gi) in &keys {
        let Expr::Column(g) = &group[*gi].0 else {
            return Ok(None);
        };
        let Some(Expr::Column(gm)) = defs.get(&g.id) else {
            return Ok(None);
        };
        // (an equality, which also keeps NULL keys out as the left join's match does)
        let same = matches!((classes.get(o), classes.get(&gm.id)), (Some(a), Some(b)) if a == b);
        if !same {
            return Ok(None);
        }
        partition_by[*gi] = Some(Expr::Column(gm.clone()));
    }
    // (every group key has its correlation: checked above)
    let Some(partition_by) = partition_by.into_iter().collect::<Option<Vec<Expr>>>() else {
        return Ok(None);
    };
    let key_ids: HashSet<ColumnId> = partition_by.iter().flat_map(|e| e.column_ids()).collect();
    // the rest of the outer relations join the mapped ones through the keys only
    for c in &outer_conds {
        let ids = c.column_ids();
        let reads_mapped = ids.iter().any(|id| mapped.contains(id));
        let reads_rest = ids.iter().any(|id| !mapped.contains(id));
        if reads_mapped
            && reads_rest
            && !ids
                .iter()
                .all(|id| !mapped.contains(id) || key_ids.contains(id))
        {
            return Ok(None);
        }
    }
    if aggs
        .iter()
        .flat_map(|(a, _)| a.args.iter().flat_map(|e| e.column_ids()))
        .any(|id| !defs.contains_key(&id))
    {
        return Ok(None);
    }
    // the outer rows the window holds: no more than the aggregate would read
    let base = match Expr::conjunction(outer_only) {
        Some(p) => LogicalPlan::Filter {
            input: outer.clone(),
            predicate: p,
        },
        None => outer.as_ref().clone(),
    };
    if estimate(&base, stats)?.rows > estimate(sub, stats)?.rows {
        return Ok(None);
    }
    let frame = WindowFrame {
        units: FrameUnits::Rows,
        start: FrameBound::UnboundedPreceding,
        end: FrameBound::UnboundedFollowing,
        months: false,
    };
    let windows: Vec<(WindowExpr, Column)> = aggs
        .iter()
        .map(|(a, c)| {
            (
                WindowExpr {
                    func: WindowFunc::Aggregate {
                        func: a.func.clone(),
                        distinct: false,
                    },
                    args: a.args.iter().map(|e| e.clone().substitute(&defs)).collect(),
                    partition_by: partition_by.clone(),
                    order_by: vec![],
                    frame: frame.clone(),
                    arg_order: vec![],
                    data_type: a.data_type.clone(),
                },
                c.clone(),
            )
        })
        .collect();
    // the subquery's output columns over the window: its projections composed into one,
    // over the aggregate's outputs (window columns keep the aggregates' ids; the group
    // keys are the outer's key columns)
    let mut outputs: Vec<(Expr, Column)> = group
        .iter()
        .zip(&partition_by)
        .map(|((_, gc), key)| (key.clone(), gc.clone()))
        .chain(
            aggs.iter()
                .map(|(_, c)| (Expr::Column(c.clone()), c.clone())),
        )
        .collect();
    for p in projects.iter().rev() {
        let below: HashMap<ColumnId, Expr> =
            outputs.iter().map(|(e, c)| (c.id, e.clone())).collect();
        outputs = p
            .iter()
            .map(|(e, c)| (e.clone().substitute(&below), c.clone()))
            .collect();
    }
    let mut exprs: Vec<(Expr, Column)> = outer_schema
        .iter()
        .map(|c| (Expr::Column(c.clone()), c.clone()))
        .collect();
    // constant outputs (the left join's `true AS __matched`, always true now) go into
    // the conditions above, where constant folding can drop them
    let constants: HashMap<ColumnId, Expr> = outputs
        .iter()
        .filter(|(e, _)| matches!(e, Expr::Literal(_)))
        .map(|(e, c)| (c.id, e.clone()))
        .collect();
    let above: Vec<Expr> = above
        .into_iter()
        .map(|c| super::constant_folding::fold(c.substitute(&constants)))
        .collect();
    exprs.extend(outputs);
    let plan = LogicalPlan::Project {
        input: Box::new(LogicalPlan::Window {
            input: Box::new(base),
            windows,
        }),
        exprs,
    };
    Ok(Some(match Expr::conjunction(above) {
        Some(p) => LogicalPlan::Filter {
            input: Box::new(plan),
            predicate: p,
        },
        None => plan,
    }))
}
