//! Join reorder (connectivity only, for now): a tree of inner and cross joins, with the
//! filter above it, is flattened into its inputs and conditions and rebuilt left-deep,
//! adding next the first input that a condition connects to those already joined, so no
//! cross product is formed unless the query demands one. Conditions are put back as one
//! filter above the joins; predicate pushdown then turns each into the join keys of the
//! lowest join that covers it. (Cost-based ordering, with statistics, is a later rule.)

use std::collections::HashSet;

use super::OptimizerRule;
use crate::error::Result;
use crate::plan::{BinOp, ColumnId, Expr, JoinType, LogicalPlan};

pub struct JoinReorder;

impl OptimizerRule for JoinReorder {
    fn name(&self) -> &'static str {
        "join_reorder"
    }
    fn rewrite(&self, plan: LogicalPlan) -> Result<LogicalPlan> {
        reorder(plan)
    }
}

fn is_inner(p: &LogicalPlan) -> bool {
    matches!(
        p,
        LogicalPlan::Join {
            join_type: JoinType::Inner | JoinType::Cross,
            ..
        }
    )
}

/// Collect the inputs and conditions of an inner/cross join tree.
fn flatten(p: LogicalPlan, leaves: &mut Vec<LogicalPlan>, conds: &mut Vec<Expr>) {
    match p {
        LogicalPlan::Join {
            left,
            right,
            join_type: JoinType::Inner | JoinType::Cross,
            on,
            filter,
        } => {
            flatten(*left, leaves, conds);
            flatten(*right, leaves, conds);
            for (l, r) in on {
                conds.push(Expr::binary(
                    BinOp::Eq,
                    l,
                    r,
                    arrow::datatypes::DataType::Boolean,
                ));
            }
            if let Some(f) = filter {
                conds.extend(f.split_conjunction());
            }
        }
        other => leaves.push(other),
    }
}

/// True when a join input filters its rows (a Filter node, or a scan with pushed filters,
/// anywhere below it).
fn has_filter(p: &LogicalPlan) -> bool {
    match p {
        LogicalPlan::Filter { .. } => true,
        LogicalPlan::Scan { filters, .. } => !filters.is_empty(),
        other => other.inputs().into_iter().any(has_filter),
    }
}

fn ids(p: &LogicalPlan) -> HashSet<ColumnId> {
    p.schema().iter().map(|c| c.id).collect()
}

fn reorder(plan: LogicalPlan) -> Result<LogicalPlan> {
    let (plan, above) = match plan {
        LogicalPlan::Filter { input, predicate } if is_inner(&input) => (*input, Some(predicate)),
        p => (p, None),
    };
    if !is_inner(&plan) {
        let plan = plan.map_inputs(&mut reorder)?;
        return Ok(match above {
            Some(predicate) => LogicalPlan::Filter {
                input: Box::new(plan),
                predicate,
            },
            None => plan,
        });
    }
    let mut leaves = vec![];
    let mut conds = vec![];
    flatten(plan, &mut leaves, &mut conds);
    if let Some(p) = above {
        conds.extend(p.split_conjunction());
    }
    let leaves: Vec<LogicalPlan> = leaves.into_iter().map(reorder).collect::<Result<_>>()?;
    let leaf_ids: Vec<HashSet<ColumnId>> = leaves.iter().map(ids).collect();
    let cond_ids: Vec<Vec<ColumnId>> = conds.iter().map(|c| c.column_ids()).collect();
    // greedy: next is an input connected to the joined set by a condition, preferring
    // one that is filtered (a stand-in for "smaller" until statistics drive this: TPC-H
    // Q7 joins supplier to its filtered nation before the 60M-row lineitem)
    let filtered: Vec<bool> = leaves.iter().map(has_filter).collect();
    let mut order = vec![0usize];
    let mut joined: HashSet<ColumnId> = leaf_ids.first().cloned().unwrap_or_default();
    let mut left: Vec<usize> = (1..leaves.len()).collect();
    while !left.is_empty() {
        let is_connected = |i: usize| {
            cond_ids.iter().any(|cs| {
                !cs.is_empty()
                    && cs.iter().any(|x| leaf_ids[i].contains(x))
                    && cs.iter().any(|x| joined.contains(x))
                    && cs
                        .iter()
                        .all(|x| joined.contains(x) || leaf_ids[i].contains(x))
            })
        };
        let connected = left
            .iter()
            .position(|&i| is_connected(i) && filtered[i])
            .or_else(|| left.iter().position(|&i| is_connected(i)));
        let k = left.remove(connected.unwrap_or(0));
        joined.extend(leaf_ids[k].iter().copied());
        order.push(k);
    }
    let mut slots: Vec<Option<LogicalPlan>> = leaves.into_iter().map(Some).collect();
    let mut it = order.into_iter().filter_map(|i| slots[i].take());
    let first = it
        .next()
        .ok_or_else(|| crate::error::QuarryError::Internal("empty join".into()))?;
    let tree = it.fold(first, |acc, r| LogicalPlan::Join {
        left: Box::new(acc),
        right: Box::new(r),
        join_type: JoinType::Cross,
        on: vec![],
        filter: None,
    });
    Ok(match Expr::conjunction(conds) {
        Some(predicate) => LogicalPlan::Filter {
            input: Box::new(tree),
            predicate,
        },
        None => tree,
    })
}
