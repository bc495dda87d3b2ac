//! Predicate pushdown: moves filter conjuncts as close to the scans as they can go
//! (through projections, below aggregates when they only use grouping columns, into the
//! matching side of joins) and finally into the scan itself, where they drive partition
//! pruning and row-group pruning. A filter on both sides of a cross join becomes its
//! join condition.

use std::collections::{HashMap, HashSet};

use super::OptimizerRule;
use crate::error::Result;
use crate::plan::{BinOp, ColumnId, Expr, JoinType, LogicalPlan};

pub struct PredicatePushdown;

impl OptimizerRule for PredicatePushdown {
    fn name(&self) -> &'static str {
        "predicate_pushdown"
    }
    fn rewrite(&self, plan: LogicalPlan, _: &super::OptimizerContext) -> Result<LogicalPlan> {
        Ok(push(plan, vec![]))
    }
}

fn ids(p: &LogicalPlan) -> HashSet<ColumnId> {
    p.schema().iter().map(|c| c.id).collect()
}

fn covered(e: &Expr, s: &HashSet<ColumnId>) -> bool {
    e.column_ids().iter().all(|i| s.contains(i))
}

/// Deterministic conditions move; so do uncorrelated subqueries (the only ones left
/// after the binder's decorrelation), which are evaluated once before execution
/// wherever they sit.
fn pushable(e: &Expr) -> bool {
    e.is_deterministic()
}

fn with_filter(plan: LogicalPlan, preds: Vec<Expr>) -> LogicalPlan {
    // the same conjunct twice (pushed by both passes) is kept once
    let mut seen = HashSet::new();
    let preds: Vec<Expr> = preds
        .into_iter()
        .filter(|p| seen.insert(p.to_string()))
        .collect();
    match Expr::conjunction(preds) {
        Some(p) => LogicalPlan::Filter {
            input: Box::new(plan),
            predicate: p,
        },
        None => plan,
    }
}

/// Factor the conjuncts every disjunct shares out of an OR:
/// `(a AND b) OR (a AND c)` -> `a`, `b OR c`; `a OR (a AND b)` -> `a` (distributivity and
/// absorption, which hold in SQL's three-valued logic too). Terms are compared by their
/// printed form, which names columns by id. Anything else comes back as it is.
pub(crate) fn factor_or(e: Expr) -> Vec<Expr> {
    if !matches!(e, Expr::Binary { op: BinOp::Or, .. }) || !e.is_deterministic() {
        return vec![e];
    }
    let disjuncts: Vec<Vec<Expr>> = e
        .clone()
        .split_disjunction()
        .into_iter()
        .map(Expr::split_conjunction)
        .collect();
    let keys: Vec<HashSet<String>> = disjuncts
        .iter()
        .map(|d| d.iter().map(|c| c.to_string()).collect())
        .collect();
    let common: Vec<Expr> = disjuncts[0]
        .iter()
        .filter(|c| keys.iter().all(|k| k.contains(&c.to_string())))
        .cloned()
        .collect();
    if common.is_empty() {
        return vec![e];
    }
    let common_keys: HashSet<String> = common.iter().map(|c| c.to_string()).collect();
    let mut rest = vec![];
    for d in disjuncts {
        match Expr::conjunction(
            d.into_iter()
                .filter(|c| !common_keys.contains(&c.to_string()))
                .collect(),
        ) {
            Some(r) => rest.push(r),
            // one disjunct is exactly the common part: the OR is just that part
            None => return common,
        }
    }
    let mut out = common;
    out.extend(Expr::disjunction(rest));
    out
}

/// From an OR whose every disjunct has some conjuncts over `side` alone, the OR of those
/// conjuncts: implied by the original, so it can filter that side before a join (as in
/// TPC-H Q19). None when some disjunct says nothing about `side`.
fn implied_disjunction(e: &Expr, side: &HashSet<ColumnId>) -> Option<Expr> {
    if !matches!(e, Expr::Binary { op: BinOp::Or, .. }) {
        return None;
    }
    let mut parts = vec![];
    for d in e.clone().split_disjunction() {
        let on_side: Vec<Expr> = d
            .split_conjunction()
            .into_iter()
            .filter(|c| pushable(c) && !c.column_ids().is_empty() && covered(c, side))
            .collect();
        parts.push(Expr::conjunction(on_side)?);
    }
    Expr::disjunction(parts)
}

/// Push `preds` (conjuncts known to hold above `plan`) into `plan`.
fn push(plan: LogicalPlan, preds: Vec<Expr>) -> LogicalPlan {
    match plan {
        LogicalPlan::Filter { input, predicate } => {
            let mut all = preds;
            all.extend(
                predicate
                    .split_conjunction()
                    .into_iter()
                    .flat_map(factor_or),
            );
            push(*input, all)
        }
        LogicalPlan::Scan {
            source,
            columns,
            projection,
            mut filters,
        } => {
            let (into, keep): (Vec<Expr>, Vec<Expr>) = preds.into_iter().partition(pushable);
            // a second pass (or an implied OR derived twice) must not stack copies
            let mut seen: HashSet<String> = filters.iter().map(|f| f.to_string()).collect();
            filters.extend(into.into_iter().filter(|f| seen.insert(f.to_string())));
            with_filter(
                LogicalPlan::Scan {
                    source,
                    columns,
                    projection,
                    filters,
                },
                keep,
            )
        }
        LogicalPlan::Project { input, exprs } => {
            let defs: HashMap<ColumnId, Expr> =
                exprs.iter().map(|(e, c)| (c.id, e.clone())).collect();
            // not below a projection that draws random values (Spark's
            // PushPredicateThroughNonJoin): the rows it draws them for stay the same
            let random = exprs.iter().any(|(e, _)| !e.is_deterministic());
            let (down, keep): (Vec<Expr>, Vec<Expr>) = preds.into_iter().partition(|p| {
                !random
                    && pushable(p)
                    && p.column_ids().iter().all(|i| {
                        defs.get(i)
                            .is_some_and(|d| d.is_deterministic() && !d.has_subquery())
                    })
            });
            let down = down.into_iter().map(|p| p.substitute(&defs)).collect();
            with_filter(
                LogicalPlan::Project {
                    input: Box::new(push(*input, down)),
                    exprs,
                },
                keep,
            )
        }
        LogicalPlan::Aggregate { input, group, aggs } => {
            let defs: HashMap<ColumnId, Expr> =
                group.iter().map(|(e, c)| (c.id, e.clone())).collect();
            let (down, keep): (Vec<Expr>, Vec<Expr>) = preds.into_iter().partition(|p| {
                pushable(p)
                    && !group.is_empty()
                    && p.column_ids().iter().all(|i| defs.contains_key(i))
            });
            let down = down.into_iter().map(|p| p.substitute(&defs)).collect();
            with_filter(
                LogicalPlan::Aggregate {
                    input: Box::new(push(*input, down)),
                    group,
                    aggs,
                },
                keep,
            )
        }
        LogicalPlan::Join {
            left,
            right,
            join_type,
            mut on,
            filter,
        } => {
            let (lids, rids) = (ids(&left), ids(&right));
            let mut to_left = vec![];
            let mut to_right = vec![];
            let mut keep = vec![];
            let mut join_filter: Vec<Expr> = vec![];
            let mut jt = join_type;
            // the ON condition's own single-side conjuncts (inner joins and the
            // preserved-side rule for outer joins)
            if let Some(f) = filter {
                for c in f.split_conjunction().into_iter().flat_map(factor_or) {
                    let inner_like =
                        matches!(jt, JoinType::Inner | JoinType::Cross | JoinType::LeftSemi);
                    if pushable(&c)
                        && covered(&c, &rids)
                        && matches!(
                            jt,
                            JoinType::Inner
                                | JoinType::Cross
                                | JoinType::Left
                                | JoinType::LeftSemi
                                | JoinType::LeftAnti
                        )
                    {
                        to_right.push(c);
                    } else if pushable(&c)
                        && covered(&c, &lids)
                        && (inner_like || jt == JoinType::Right)
                    {
                        to_left.push(c);
                    } else {
                        join_filter.push(c);
                    }
                }
            }
            for p in preds {
                let inner = matches!(jt, JoinType::Inner | JoinType::Cross);
                if pushable(&p)
                    && covered(&p, &lids)
                    && matches!(
                        jt,
                        JoinType::Inner
                            | JoinType::Cross
                            | JoinType::Left
                            | JoinType::LeftSemi
                            | JoinType::LeftAnti
                    )
                {
                    to_left.push(p);
                } else if pushable(&p)
                    && covered(&p, &rids)
                    && matches!(jt, JoinType::Inner | JoinType::Cross | JoinType::Right)
                {
                    to_right.push(p);
                } else if inner && pushable(&p) {
                    // an OR over both sides still implies an OR over each side alone
                    if let Some(l) = implied_disjunction(&p, &lids) {
                        to_left.push(l);
                    }
                    if let Some(r) = implied_disjunction(&p, &rids) {
                        to_right.push(r);
                    }
                    // a condition on both sides: an equi-join key or part of the join condition
                    match &p {
                        Expr::Binary {
                            op: BinOp::Eq,
                            left: l,
                            right: r,
                            ..
                        } if covered(l, &lids)
                            && covered(r, &rids)
                            && !l.column_ids().is_empty()
                            && !r.column_ids().is_empty() =>
                        {
                            on.push(((**l).clone(), (**r).clone()))
                        }
                        Expr::Binary {
                            op: BinOp::Eq,
                            left: l,
                            right: r,
                            ..
                        } if covered(l, &rids)
                            && covered(r, &lids)
                            && !l.column_ids().is_empty()
                            && !r.column_ids().is_empty() =>
                        {
                            on.push(((**r).clone(), (**l).clone()))
                        }
                        _ => join_filter.push(p),
                    }
                    if jt == JoinType::Cross {
                        jt = JoinType::Inner;
                    }
                } else {
                    keep.push(p);
                }
            }
            let j = LogicalPlan::Join {
                left: Box::new(push(*left, to_left)),
                right: Box::new(push(*right, to_right)),
                join_type: jt,
                on,
                filter: Expr::conjunction(join_filter),
            };
            with_filter(j, keep)
        }
        LogicalPlan::Sort { input, keys, fetch } => {
            // a filter above a sort with no fetch can go below it
            if fetch.is_none() {
                LogicalPlan::Sort {
                    input: Box::new(push(*input, preds)),
                    keys,
                    fetch,
                }
            } else {
                with_filter(
                    LogicalPlan::Sort {
                        input: Box::new(push(*input, vec![])),
                        keys,
                        fetch,
                    },
                    preds,
                )
            }
        }
        LogicalPlan::Limit { input, skip, fetch } => with_filter(
            LogicalPlan::Limit {
                input: Box::new(push(*input, vec![])),
                skip,
                fetch,
            },
            preds,
        ),
        LogicalPlan::Union { inputs, columns } => {
            let inputs = inputs.into_iter().map(|i| push(i, vec![])).collect();
            with_filter(LogicalPlan::Union { inputs, columns }, preds)
        }
        LogicalPlan::SetOp { left, right, kind } => with_filter(
            LogicalPlan::SetOp {
                left: Box::new(push(*left, vec![])),
                right: Box::new(push(*right, vec![])),
                kind,
            },
            preds,
        ),
        // a filter over a recursive CTE's output is not one over each round's input
        LogicalPlan::RecursiveCte {
            anchor,
            recursive,
            columns,
            worktable,
            distinct,
            fetch,
        } => with_filter(
            LogicalPlan::RecursiveCte {
                anchor: Box::new(push(*anchor, vec![])),
                recursive: Box::new(push(*recursive, vec![])),
                columns,
                worktable,
                distinct,
                fetch,
            },
            preds,
        ),
        LogicalPlan::Window { input, windows } => {
            // a conjunct on columns that every call partitions by can go below the window
            let part: Vec<HashSet<ColumnId>> = windows
                .iter()
                .map(|(w, _)| w.partition_by.iter().flat_map(|e| e.column_ids()).collect())
                .collect();
            let in_ids = ids(&input);
            let (down, keep): (Vec<Expr>, Vec<Expr>) = preds.into_iter().partition(|p| {
                pushable(p)
                    && covered(p, &in_ids)
                    && part
                        .iter()
                        .all(|s| p.column_ids().iter().all(|i| s.contains(i)))
            });
            with_filter(
                LogicalPlan::Window {
                    input: Box::new(push(*input, down)),
                    windows,
                },
                keep,
            )
        }
        LogicalPlan::Generate {
            input,
            kind,
            outer,
            arg,
            columns,
        } => {
            // conjuncts on the input's columns hold for the input rows they came from
            let in_ids = ids(&input);
            let (down, keep): (Vec<Expr>, Vec<Expr>) = preds
                .into_iter()
                .partition(|p| pushable(p) && covered(p, &in_ids));
            with_filter(
                LogicalPlan::Generate {
                    input: Box::new(push(*input, down)),
                    kind,
                    outer,
                    arg,
                    columns,
                },
                keep,
            )
        }
        LogicalPlan::Expand {
            input,
            projections,
            columns,
        } => with_filter(
            LogicalPlan::Expand {
                input: Box::new(push(*input, vec![])),
                projections,
                columns,
            },
            preds,
        ),
        v @ (LogicalPlan::Values { .. }
        | LogicalPlan::Range { .. }
        | LogicalPlan::WorkTable { .. }) => with_filter(v, preds),
    }
}
