//! Transitive predicates over equi-join keys: where an inner join makes `a.k = b.k`
//! hold, a condition on one key (`a.k = 5`, `a.k BETWEEN 1 AND 9`, `a.k IN (...)`,
//! `a.k LIKE 'x%'`) holds for the other too, so `b.k = 5` is added and predicate
//! pushdown takes it to `b`'s scan (where it prunes partitions and row groups). Across
//! an outer or semi join, a condition on the preserved side's key filters the other
//! side's input the same way. As Spark's `InferFiltersFromConstraints`.
//!
//! Only conditions on one column are copied, and only between columns of the same type,
//! so the copy is the same expression over another column.

use std::collections::{HashMap, HashSet};

use super::OptimizerRule;
use crate::error::Result;
use crate::plan::{BinOp, Column, ColumnId, Expr, JoinType, LogicalPlan};

pub struct TransitivePredicates;

impl OptimizerRule for TransitivePredicates {
    fn name(&self) -> &'static str {
        "transitive_predicates"
    }
    fn rewrite(&self, plan: LogicalPlan, _: &super::OptimizerContext) -> Result<LogicalPlan> {
        rewrite(plan)
    }
}

/// Most predicates added for one join tree (a guard against a blow-up on wide joins).
const MAX_INFERRED: usize = 256;

/// Joins with a preserved and a non-preserved side, onto which conditions are inferred.
fn one_side_preserved(join_type: &JoinType) -> bool {
    matches!(
        join_type,
        JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti | JoinType::Right
    )
}

fn rewrite(plan: LogicalPlan) -> Result<LogicalPlan> {
    let plan = match plan {
        LogicalPlan::Filter { input, predicate } => {
            let conj = predicate.split_conjunction();
            let input = match *input {
                LogicalPlan::Join {
                    left,
                    right,
                    join_type,
                    on,
                    filter,
                } if one_side_preserved(&join_type) => {
                    across_outer(left, right, join_type, on, filter, conj.clone())
                }
                other => other,
            };
            let mut conj = conj;
            if input.is_inner_join() {
                let inferred = infer(&conj, &input);
                conj.extend(inferred);
            }
            LogicalPlan::Filter {
                input: Box::new(input),
                predicate: Expr::conjunction(conj)
                    .unwrap_or(Expr::lit(crate::types::ScalarValue::from_bool(true))),
            }
        }
        LogicalPlan::Join {
            left,
            right,
            join_type: JoinType::Inner,
            on,
            filter: Some(f),
        } => {
            let conj = f.split_conjunction();
            let mut node = LogicalPlan::Join {
                left,
                right,
                join_type: JoinType::Inner,
                on,
                filter: None,
            };
            let inferred = infer(&conj, &node);
            if let LogicalPlan::Join { filter, .. } = &mut node {
                *filter = Expr::conjunction(conj.into_iter().chain(inferred).collect());
            }
            node
        }
        LogicalPlan::Join {
            left,
            right,
            join_type,
            on,
            filter,
        } if one_side_preserved(&join_type) && filter.is_some() => {
            let conds = filter
                .clone()
                .map(Expr::split_conjunction)
                .unwrap_or_default();
            across_outer(left, right, join_type, on, filter, conds)
        }
        p => p,
    };
    plan.map_inputs(&mut rewrite)
}

/// Both sides plain columns of one type: the pair of an equality that makes them equal.
fn column_pair(l: &Expr, r: &Expr) -> Option<(Column, Column)> {
    match (l, r) {
        (Expr::Column(a), Expr::Column(b)) if a.data_type == b.data_type && a.id != b.id => {
            Some((a.clone(), b.clone()))
        }
        _ => None,
    }
}

/// A condition worth copying: deterministic, over exactly one column, and not a value
/// set from a subquery (`k IN (<57 values>)`: the join already filters by it, and
/// copying it costs a set probe per row of the other side without pruning anything).
fn single_column(e: &Expr) -> Option<ColumnId> {
    let mut has_set = false;
    e.visit(&mut |x| has_set |= matches!(x, Expr::InSet { .. }));
    if !e.is_deterministic() || e.has_subquery() || has_set {
        return None;
    }
    let ids: HashSet<ColumnId> = e.column_ids().into_iter().collect();
    (ids.len() == 1).then(|| ids.into_iter().next()).flatten()
}

fn replace_column(e: &Expr, from: ColumnId, to: &Column) -> Expr {
    e.clone()
        .substitute(&HashMap::from([(from, Expr::Column(to.clone()))]))
}

/// Equalities and single-column conditions of an inner-join tree: its ON keys, residual
/// conditions and the filters between its joins.
fn collect(p: &LogicalPlan, pairs: &mut Vec<(Column, Column)>, conds: &mut Vec<Expr>) {
    match p {
        LogicalPlan::Join {
            left,
            right,
            join_type: JoinType::Inner | JoinType::Cross,
            on,
            filter,
        } => {
            pairs.extend(on.iter().filter_map(|(l, r)| column_pair(l, r)));
            if let Some(f) = filter {
                conds.extend(f.clone().split_conjunction());
            }
            collect(left, pairs, conds);
            collect(right, pairs, conds);
        }
        LogicalPlan::Filter { input, predicate } if input.is_inner_join() => {
            conds.extend(predicate.clone().split_conjunction());
            collect(input, pairs, conds);
        }
        _ => {}
    }
}

/// The conditions that `conj` (over the output of the inner-join tree `tree`) and the
/// tree's own conditions imply over the other columns of each key's equivalence class,
/// less those already there.
fn infer(conj: &[Expr], tree: &LogicalPlan) -> Vec<Expr> {
    let mut pairs = vec![];
    let mut conds: Vec<Expr> = conj.to_vec();
    collect(tree, &mut pairs, &mut conds);
    for c in &conds {
        if let Expr::Binary {
            op: BinOp::Eq,
            left,
            right,
            ..
        } = c
        {
            pairs.extend(column_pair(left, right));
        }
    }
    if pairs.is_empty() {
        return vec![];
    }
    // equivalence classes of columns (union-find over ids)
    let mut parent: HashMap<ColumnId, ColumnId> = HashMap::new();
    let mut columns: HashMap<ColumnId, Column> = HashMap::new();
    fn find(parent: &mut HashMap<ColumnId, ColumnId>, x: ColumnId) -> ColumnId {
        let p = *parent.get(&x).unwrap_or(&x);
        if p == x {
            return x;
        }
        let r = find(parent, p);
        parent.insert(x, r);
        r
    }
    for (a, b) in &pairs {
        columns.insert(a.id, a.clone());
        columns.insert(b.id, b.clone());
        let (ra, rb) = (find(&mut parent, a.id), find(&mut parent, b.id));
        if ra != rb {
            parent.insert(ra, rb);
        }
    }
    let mut classes: HashMap<ColumnId, Vec<Column>> = HashMap::new();
    let mut ids: Vec<ColumnId> = columns.keys().copied().collect();
    ids.sort_unstable();
    for id in ids {
        let root = find(&mut parent, id);
        if let Some(c) = columns.get(&id) {
            classes.entry(root).or_default().push(c.clone());
        }
    }
    let mut seen: HashSet<String> = conds.iter().map(|c| c.to_string()).collect();
    let mut out = vec![];
    for c in &conds {
        let Some(id) = single_column(c) else { continue };
        if !columns.contains_key(&id) {
            continue;
        }
        let root = find(&mut parent, id);
        for other in classes.get(&root).into_iter().flatten() {
            if other.id == id || out.len() >= MAX_INFERRED {
                continue;
            }
            let e = replace_column(c, id, other);
            if seen.insert(e.to_string()) {
                out.push(e);
            }
        }
    }
    out
}

/// A Left / LeftSemi / LeftAnti (or Right) join with `conds` (the filter above it, or
/// its ON clause's residual): each condition on a preserved-side key filters the
/// other side's input on the matching key. A row of the other side failing it could
/// only match preserved rows that fail it too, which the ON clause or the filter above
/// drops anyway.
fn across_outer(
    left: Box<LogicalPlan>,
    right: Box<LogicalPlan>,
    join_type: JoinType,
    on: Vec<(Expr, Expr)>,
    filter: Option<Expr>,
    conds: Vec<Expr>,
) -> LogicalPlan {
    let right_preserved = join_type == JoinType::Right;
    let mut inferred = vec![];
    for (l, r) in &on {
        let Some((lc, rc)) = column_pair(l, r) else {
            continue;
        };
        let (from, to) = if right_preserved {
            (&rc, &lc)
        } else {
            (&lc, &rc)
        };
        for c in &conds {
            if single_column(c) == Some(from.id) {
                inferred.push(replace_column(c, from.id, to));
            }
        }
    }
    let wrap = |p: Box<LogicalPlan>, preds: Vec<Expr>| -> Box<LogicalPlan> {
        match Expr::conjunction(preds) {
            Some(predicate) => Box::new(LogicalPlan::Filter {
                input: p,
                predicate,
            }),
            None => p,
        }
    };
    let (left, right) = if right_preserved {
        (wrap(left, inferred), right)
    } else {
        (left, wrap(right, inferred))
    };
    LogicalPlan::Join {
        left,
        right,
        join_type,
        on,
        filter,
    }
}
