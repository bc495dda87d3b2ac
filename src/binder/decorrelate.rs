//! Subquery decorrelation: correlated EXISTS / IN subqueries in WHERE become semi and
//! anti joins; correlated scalar subqueries become left joins with an aggregate grouped
//! by the correlation columns (as Spark's `RewriteCorrelatedScalarSubquery` and
//! `RewritePredicateSubquery`).
//!
//! The correlated conjuncts (those that reference the enclosing query) are pulled up out
//! of the subquery's plan through Filter, Project, Sort, inner joins and, for scalar
//! subqueries, an Aggregate (whose grouping then gains the inner correlation columns,
//! which is only sound for equalities). They become the join condition.
//!
//! Any other form (correlation under UNION, in a join condition, on the inner side of an
//! outer join, in the SELECT list under a FROM, below LIMIT or a window, HAVING over a
//! global aggregate) is evaluated for every distinct value of the outer columns it uses
//! at once (the domain: the dependent join of Neumann and Kemper's "Unnesting Arbitrary
//! Queries", [`push_domain`]) and joined back on null-safe equality with the domain. A
//! subquery nested in one of those that refers further out is decorrelated once the
//! domain has replaced its outer references. Subqueries in a join condition over both
//! sides are decorrelated by [`join_with_condition`]. What remains is refused with a
//! reason (an aggregate of outer columns only where the outer query does not aggregate;
//! where it does, the binder makes it that query's aggregate, see `Binder::outer_aggs`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::select::split_join_keys;
use crate::error::{QuarryError, Result};
use crate::functions::aggregate::AggFunc;
use crate::plan::{BinOp, Column, ColumnId, Expr, JoinType, LogicalPlan, SubqueryKind};
use crate::types::ScalarValue;

/// Whether `e` refers to a column of `outer`, directly or from inside one of its
/// subqueries (a nested subquery's free columns).
fn refs_outer(e: &Expr, outer: &HashSet<ColumnId>) -> bool {
    let mut found = e.column_ids().iter().any(|i| outer.contains(i));
    if !found && e.has_subquery() {
        e.visit(&mut |x| {
            if let Expr::Subquery { plan, .. } = x {
                found |= plan.free_columns().iter().any(|c| outer.contains(c));
            }
        });
    }
    found
}

fn not_supported(where_: &str) -> QuarryError {
    QuarryError::NotSupported(format!("a correlated reference {where_} of a subquery"))
}

/// Whether an expression holds a correlated subquery to decorrelate against `outer` (the
/// columns of the query it sits in): its free columns are all in `outer`. A subquery
/// that also refers to a query further out is left where it is (false): the enclosing
/// query's decorrelation substitutes those references ([`push_domain`]) and
/// decorrelates it then; one no level decorrelates is reported when planned.
pub fn is_correlated(plan: &LogicalPlan, outer: &HashSet<ColumnId>) -> Result<bool> {
    let free = plan.free_columns();
    Ok(!free.is_empty() && free.iter().all(|c| outer.contains(c)))
}

/// `e` with the columns `map` names replaced, inside the plans of its subqueries too.
/// Errors: the first a subquery's plan gave (see [`replace_columns_in_plan`]).
fn replace_columns(e: Expr, map: &HashMap<ColumnId, Column>) -> Result<Expr> {
    let mut failed = None;
    let out = e.transform(&mut |x| match x {
        Expr::Column(c) => Expr::Column(map.get(&c.id).cloned().unwrap_or(c)),
        Expr::Subquery {
            plan,
            kind,
            data_type,
        } => match replace_columns_in_plan((*plan).clone(), map) {
            Ok(p) => Expr::Subquery {
                plan: Arc::new(p),
                kind,
                data_type,
            },
            Err(err) => {
                failed.get_or_insert(err);
                Expr::Subquery {
                    plan,
                    kind,
                    data_type,
                }
            }
        },
        other => other,
    });
    failed.map_or(Ok(out), Err)
}

/// [`replace_columns`] over every expression of `plan` and its inputs.
fn replace_columns_in_plan(
    plan: LogicalPlan,
    map: &HashMap<ColumnId, Column>,
) -> Result<LogicalPlan> {
    let plan = plan.map_inputs(&mut |p| replace_columns_in_plan(p, map))?;
    let mut failed = None;
    let plan = plan.map_exprs(&mut |x| match replace_columns(x, map) {
        Ok(y) => y,
        Err(err) => {
            // the plan is dropped with the error: a stand-in is enough
            failed.get_or_insert(err);
            Expr::Literal(crate::types::ScalarValue::null(
                &arrow::datatypes::DataType::Null,
            ))
        }
    });
    failed.map_or(Ok(plan), Err)
}

/// Which aggregates correlated conjuncts may be pulled through (their grouping gains
/// the correlation columns): any for scalar subqueries and IN (an empty group's row
/// never matches), only grouped ones for EXISTS and NOT IN (a global aggregate always
/// returns a row, which decorrelation would lose).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ThroughAggregate {
    Any,
    GroupedOnly,
}

/// Pull correlated conjuncts up out of `plan`. Returns the plan without them (its output
/// extended by the inner columns they use), the conjuncts, and whether they crossed an
/// aggregate.
pub fn pull_up(
    plan: LogicalPlan,
    outer: &HashSet<ColumnId>,
    through_aggregate: ThroughAggregate,
) -> Result<(LogicalPlan, Vec<Expr>, bool)> {
    match plan {
        LogicalPlan::Filter { input, predicate } => {
            refuse_nested_global_aggregate(&input, outer)?;
            let (input, mut pulled, agg) = pull_up(*input, outer, through_aggregate)?;
            let mut keep = vec![];
            for c in predicate.split_conjunction() {
                if refs_outer(&c, outer) {
                    if c.has_subquery() {
                        return Err(not_supported("inside a nested subquery"));
                    }
                    pulled.push(c);
                } else {
                    keep.push(c);
                }
            }
            let plan = match Expr::conjunction(keep) {
                Some(p) => LogicalPlan::Filter {
                    input: Box::new(input),
                    predicate: p,
                },
                None => input,
            };
            Ok((plan, pulled, agg))
        }
        LogicalPlan::Project { input, mut exprs } => {
            if exprs.iter().any(|(e, _)| refs_outer(e, outer)) {
                return Err(not_supported("in the SELECT list"));
            }
            let (input, pulled, agg) = pull_up(*input, outer, through_aggregate)?;
            // expose the inner columns the pulled conjuncts use
            let in_cols = input.schema();
            for c in pulled.iter().flat_map(|p| p.column_ids()) {
                if outer.contains(&c) || exprs.iter().any(|(_, o)| o.id == c) {
                    continue;
                }
                if let Some(col) = in_cols.iter().find(|x| x.id == c) {
                    exprs.push((Expr::Column(col.clone()), col.clone()));
                }
            }
            Ok((
                LogicalPlan::Project {
                    input: Box::new(input),
                    exprs,
                },
                pulled,
                agg,
            ))
        }
        LogicalPlan::Sort {
            input, fetch: None, ..
        } => pull_up(*input, outer, through_aggregate),
        LogicalPlan::Aggregate {
            input,
            mut group,
            aggs,
        } => {
            if group.iter().any(|(e, _)| refs_outer(e, outer))
                || aggs
                    .iter()
                    .any(|(a, _)| a.args.iter().any(|e| refs_outer(e, outer)))
            {
                return Err(not_supported("in GROUP BY or an aggregate"));
            }
            refuse_nested_global_aggregate(&input, outer)?;
            let (input, pulled, _) = pull_up(*input, outer, through_aggregate)?;
            if pulled.is_empty() {
                return Ok((
                    LogicalPlan::Aggregate {
                        input: Box::new(input),
                        group,
                        aggs,
                    },
                    pulled,
                    false,
                ));
            }
            if through_aggregate == ThroughAggregate::GroupedOnly && group.is_empty() {
                return Err(not_supported(
                    "below an aggregate without GROUP BY in an EXISTS or NOT IN subquery",
                ));
            }
            // the inner side of each correlated equality joins the grouping
            let in_cols = input.schema();
            let mut rewritten = vec![];
            for p in pulled {
                let eq = matches!(&p, Expr::Binary { op: BinOp::Eq, left, right, .. }
                    if (refs_outer(left, outer) && !refs_outer(right, outer)) || (refs_outer(right, outer) && !refs_outer(left, outer)));
                if !eq {
                    return Err(QuarryError::NotSupported(format!(
                        "the correlated condition {p} below an aggregate (only equalities between an outer and an inner expression)"
                    )));
                }
                let mut map = vec![];
                for c in p.column_ids() {
                    if outer.contains(&c) {
                        continue;
                    }
                    let col = in_cols.iter().find(|x| x.id == c).ok_or_else(|| {
                        QuarryError::Internal("correlated column not found".into())
                    })?;
                    let g = match group
                        .iter()
                        .find(|(e, _)| matches!(e, Expr::Column(x) if x.id == c))
                    {
                        Some((_, gc)) => gc.clone(),
                        None => {
                            let gc =
                                Column::new(col.name.clone(), col.data_type.clone(), col.nullable);
                            group.push((Expr::Column(col.clone()), gc.clone()));
                            gc
                        }
                    };
                    map.push((c, g));
                }
                rewritten.push(p.transform(&mut |x| {
                    match &x {
                        Expr::Column(c) => map
                            .iter()
                            .find(|(id, _)| *id == c.id)
                            .map(|(_, g)| Expr::Column(g.clone()))
                            .unwrap_or(x),
                        _ => x,
                    }
                }));
            }
            Ok((
                LogicalPlan::Aggregate {
                    input: Box::new(input),
                    group,
                    aggs,
                },
                rewritten,
                true,
            ))
        }
        LogicalPlan::Join {
            left,
            right,
            join_type,
            on,
            filter,
        } => {
            refuse_nested_global_aggregate(&left, outer)?;
            refuse_nested_global_aggregate(&right, outer)?;
            let (left, mut pulled, a1) = pull_up(*left, outer, through_aggregate)?;
            let (right, p2, a2) = pull_up(*right, outer, through_aggregate)?;
            if !p2.is_empty() && !matches!(join_type, JoinType::Inner | JoinType::Cross) {
                return Err(not_supported("in the inner side of an outer join"));
            }
            if !pulled.is_empty()
                && !matches!(
                    join_type,
                    JoinType::Inner
                        | JoinType::Cross
                        | JoinType::Left
                        | JoinType::LeftSemi
                        | JoinType::LeftAnti
                )
            {
                return Err(not_supported("in the inner side of an outer join"));
            }
            if on
                .iter()
                .any(|(l, r)| refs_outer(l, outer) || refs_outer(r, outer))
                || filter.as_ref().is_some_and(|f| refs_outer(f, outer))
            {
                return Err(not_supported("in a join condition"));
            }
            pulled.extend(p2);
            Ok((
                LogicalPlan::Join {
                    left: Box::new(left),
                    right: Box::new(right),
                    join_type,
                    on,
                    filter,
                },
                pulled,
                a1 || a2,
            ))
        }
        other => {
            if other.free_columns().iter().any(|c| outer.contains(c)) {
                let kind = other.to_string();
                return Err(not_supported(&format!(
                    "under {}",
                    kind.lines()
                        .next()
                        .unwrap_or("this operator")
                        .split_whitespace()
                        .next()
                        .unwrap_or("this operator")
                )));
            }
            Ok((other, vec![], false))
        }
    }
}

/// Refuses (NotSupported, so the caller decorrelates by the domain of outer values) a
/// correlated aggregate without GROUP BY under a filter, an aggregate or a join: pulled
/// up, it would lose the one row it gives an outer value that matches nothing (COUNT 0),
/// which only the top of the subquery can put back. Spark's count-bug handling for
/// nested aggregates (`SELECT sum(cnt) FROM (SELECT count(*) cnt ... WHERE t.a = u.b)`).
fn refuse_nested_global_aggregate(plan: &LogicalPlan, outer: &HashSet<ColumnId>) -> Result<()> {
    let mut p = plan;
    loop {
        match p {
            LogicalPlan::Project { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::Filter { input, .. } => p = input,
            LogicalPlan::Aggregate { input, group, .. } => {
                if group.is_empty() && input.free_columns().iter().any(|c| outer.contains(c)) {
                    return Err(not_supported(
                        "below an aggregate without GROUP BY that another operator uses",
                    ));
                }
                return Ok(());
            }
            _ => return Ok(()),
        }
    }
}

fn ids_of(p: &LogicalPlan) -> HashSet<ColumnId> {
    p.schema().iter().map(|c| c.id).collect()
}

/// `plan` filtered by `pred` (WHERE or HAVING) whose subqueries may correlate with
/// `outer` (`plan`'s columns): correlated EXISTS / IN conjuncts become semi and anti
/// joins, correlated scalar subqueries left joins, and the rest a Filter.
pub fn filter(mut plan: LogicalPlan, pred: Expr, outer: &HashSet<ColumnId>) -> Result<LogicalPlan> {
    let mut keep = vec![];
    let conjuncts = pred
        .split_conjunction()
        .into_iter()
        .flat_map(in_tuple_conjuncts);
    for c in conjuncts {
        match predicate_join(plan, c, outer)? {
            Ok(p) => plan = p,
            Err((p, c)) => {
                let (p, c) = scalar_joins(p, c, outer)?;
                plan = p;
                keep.push(c);
            }
        }
    }
    Ok(match Expr::conjunction(keep) {
        Some(predicate) => LogicalPlan::Filter {
            input: Box::new(plan),
            predicate,
        },
        None => plan,
    })
}

/// `(x1, ..., xn) [NOT] IN (sub)` from `pairs` of `(xi, yi)` (`yi` sub's columns, both
/// cast to their comparison type): `CASE WHEN EXISTS (sub WHERE AND xi = yi) THEN true
/// WHEN EXISTS (sub WHERE AND (xi = yi OR xi IS NULL OR yi IS NULL)) THEN NULL ELSE
/// false END`, negated for NOT IN: Spark's three-valued multi-column IN (its
/// `RewritePredicateSubquery` joins on the second condition for a null-aware anti join).
/// A pair with neither side nullable needs no NULL tests. As a WHERE conjunct,
/// [`in_tuple_conjuncts`] keeps only the EXISTS that decide it.
pub fn in_tuple(sub: LogicalPlan, pairs: Vec<(Expr, Expr)>, negated: bool) -> Expr {
    let boolean = arrow::datatypes::DataType::Boolean;
    let eq = |x: &Expr, y: &Expr| Expr::binary(BinOp::Eq, y.clone(), x.clone(), boolean.clone());
    let or = |a: Expr, b: Expr| Expr::binary(BinOp::Or, a, b, boolean.clone());
    let matched = Expr::conjunction(pairs.iter().map(|(x, y)| eq(x, y)).collect());
    let possibly = Expr::conjunction(
        pairs
            .iter()
            .map(|(x, y)| {
                [x, y]
                    .into_iter()
                    .filter(|e| e.nullable())
                    .fold(eq(x, y), |acc, e| {
                        or(acc, Expr::IsNull(Box::new(e.clone())))
                    })
            })
            .collect(),
    );
    three_valued_in(
        exists_where(&sub, matched),
        exists_where(&sub, possibly),
        negated,
    )
}

/// `EXISTS (sub [WHERE pred])`.
fn exists_where(sub: &LogicalPlan, pred: Option<Expr>) -> Expr {
    let plan = match pred {
        Some(predicate) => LogicalPlan::Filter {
            input: Box::new(sub.clone()),
            predicate,
        },
        None => sub.clone(),
    };
    Expr::Subquery {
        plan: Arc::new(plan),
        kind: SubqueryKind::Exists { negated: false },
        data_type: arrow::datatypes::DataType::Boolean,
    }
}

/// IN's three-valued result from its two tests: `CASE WHEN matched THEN true WHEN
/// unknown THEN NULL ELSE false END`, negated for NOT IN (the shape
/// [`in_tuple_conjuncts`] reads back as joins).
fn three_valued_in(matched: Expr, unknown: Expr, negated: bool) -> Expr {
    let boolean = arrow::datatypes::DataType::Boolean;
    let result = Expr::Case {
        whens: vec![
            (matched, Expr::Literal(ScalarValue::from_bool(true))),
            (unknown, Expr::Literal(ScalarValue::null(&boolean))),
        ],
        else_expr: Some(Box::new(Expr::Literal(ScalarValue::from_bool(false)))),
        data_type: boolean,
    };
    if negated {
        Expr::Not(Box::new(result))
    } else {
        result
    }
}

/// A WHERE conjunct `c` as the conjuncts that keep the same rows, where `c` is
/// [`in_tuple`]'s shape `CASE WHEN e1 THEN true WHEN e2 THEN NULL ELSE false END` over
/// two EXISTS: true exactly when `e1` is, so IN keeps the rows `e1` keeps (a semi join);
/// its negation is true exactly when neither is, so NOT IN is `NOT e1 AND NOT e2` (two
/// anti joins: the first on the equalities alone, by hash, leaves fewer rows to the
/// second's null-aware condition). Any other conjunct comes back as it is.
fn in_tuple_conjuncts(c: Expr) -> Vec<Expr> {
    fn exists_pair(e: &Expr) -> Option<(Expr, Expr)> {
        let Expr::Case {
            whens, else_expr, ..
        } = e
        else {
            return None;
        };
        let is_exists = |e: &Expr| {
            matches!(
                e,
                Expr::Subquery {
                    kind: SubqueryKind::Exists { negated: false },
                    ..
                }
            )
        };
        let lit = |e: &Expr| match e {
            Expr::Literal(v) => Some(v.clone()),
            _ => None,
        };
        match (whens.as_slice(), else_expr.as_deref()) {
            ([(e1, t), (e2, n)], Some(f))
                if is_exists(e1)
                    && is_exists(e2)
                    && lit(t) == Some(ScalarValue::from_bool(true))
                    && lit(n) == Some(ScalarValue::null(&arrow::datatypes::DataType::Boolean))
                    && lit(f) == Some(ScalarValue::from_bool(false)) =>
            {
                Some((e1.clone(), e2.clone()))
            }
            _ => None,
        }
    }
    if let Some((e1, _)) = exists_pair(&c) {
        return vec![e1];
    }
    if let Expr::Not(inner) = &c {
        if let Some((e1, e2)) = exists_pair(inner) {
            return vec![Expr::Not(Box::new(e1)), Expr::Not(Box::new(e2))];
        }
    }
    vec![c]
}

/// Join `plan` with a correlated EXISTS / IN subquery (a WHERE conjunct).
/// Gives back the plan and `e` unchanged (`Err` of the inner result) when `e` is not
/// such a conjunct.
pub fn predicate_join(
    plan: LogicalPlan,
    e: Expr,
    outer: &HashSet<ColumnId>,
) -> Result<std::result::Result<LogicalPlan, (LogicalPlan, Expr)>> {
    let (sub, kind) = match &e {
        Expr::Subquery {
            plan: sub, kind, ..
        } => (sub.clone(), kind.clone()),
        Expr::Not(inner) => match inner.as_ref() {
            Expr::Subquery {
                plan: sub,
                kind: SubqueryKind::Exists { negated },
                ..
            } => (sub.clone(), SubqueryKind::Exists { negated: !negated }),
            Expr::Subquery {
                plan: sub,
                kind: SubqueryKind::In { expr, negated },
                ..
            } => (
                sub.clone(),
                SubqueryKind::In {
                    expr: expr.clone(),
                    negated: !negated,
                },
            ),
            _ => return Ok(Err((plan, e))),
        },
        _ => return Ok(Err((plan, e))),
    };
    if matches!(kind, SubqueryKind::Scalar) || !is_correlated(&sub, outer)? {
        return Ok(Err((plan, e)));
    }
    let mode = match &kind {
        SubqueryKind::In { negated: false, .. } => ThroughAggregate::Any,
        _ => ThroughAggregate::GroupedOnly,
    };
    let (right, mut conds) = match pull_up((*sub).clone(), outer, mode) {
        Ok((right, conds, _)) => (right, conds),
        // forms the pull-up does not take: the subquery evaluated per domain row
        Err(QuarryError::NotSupported(_)) => domain_subquery(&plan, &sub, outer)?,
        Err(e) => return Err(e),
    };
    let value = sub.schema().first().cloned();
    let (jt, null_aware) = match &kind {
        SubqueryKind::Exists { negated } => (
            if *negated {
                JoinType::LeftAnti
            } else {
                JoinType::LeftSemi
            },
            None,
        ),
        SubqueryKind::In { expr, negated } => {
            let v =
                value.ok_or_else(|| QuarryError::Internal("IN subquery without columns".into()))?;
            let eq = Expr::binary(
                BinOp::Eq,
                (**expr).clone(),
                Expr::Column(v.clone()),
                arrow::datatypes::DataType::Boolean,
            );
            if *negated {
                // NOT IN: a row goes when any comparison is true or unknown
                let unknown = Expr::binary(
                    BinOp::Or,
                    Expr::IsNull(expr.clone()),
                    Expr::IsNull(Box::new(Expr::Column(v))),
                    arrow::datatypes::DataType::Boolean,
                );
                (
                    JoinType::LeftAnti,
                    Some(Expr::binary(
                        BinOp::Or,
                        eq,
                        unknown,
                        arrow::datatypes::DataType::Boolean,
                    )),
                )
            } else {
                conds.push(eq);
                (JoinType::LeftSemi, None)
            }
        }
        SubqueryKind::Scalar => return Ok(Err((plan, e))),
    };
    let (on, mut residual) = split_join_keys(conds, &ids_of(&plan), &ids_of(&right))?;
    residual.extend(null_aware);
    Ok(Ok(LogicalPlan::Join {
        left: Box::new(plan),
        right: Box::new(right),
        join_type: jt,
        on,
        filter: Expr::conjunction(residual),
    }))
}

/// `e` (from HAVING, or the SELECT list of a grouped query) with the references its
/// subqueries make to the aggregate's input columns replaced by the group columns
/// (`groups`: input column id -> group output column), so that they correlate with the
/// aggregate's output. A reference to another column of the input (`inputs`) is Spark's
/// MISSING_AGGREGATION error.
pub fn over_groups(
    e: Expr,
    groups: &std::collections::HashMap<ColumnId, Column>,
    inputs: &HashSet<ColumnId>,
) -> Result<Expr> {
    type Groups = std::collections::HashMap<ColumnId, Column>;
    fn remap_plan(
        plan: LogicalPlan,
        groups: &Groups,
        inputs: &HashSet<ColumnId>,
    ) -> Result<LogicalPlan> {
        let plan = plan.map_inputs(&mut |p| remap_plan(p, groups, inputs))?;
        let mut err = None;
        let plan = plan.map_exprs(&mut |x| match remap_expr(x.clone(), groups, inputs) {
            Ok(y) => y,
            Err(e) => {
                err = Some(e);
                x
            }
        });
        match err {
            Some(e) => Err(e),
            None => Ok(plan),
        }
    }
    fn remap_expr(e: Expr, groups: &Groups, inputs: &HashSet<ColumnId>) -> Result<Expr> {
        let mut err = None;
        let out = e.transform(&mut |x| match x {
            Expr::Column(c) => match groups.get(&c.id) {
                Some(g) => Expr::Column(g.clone()),
                None => Expr::Column(c),
            },
            Expr::Subquery {
                plan,
                kind,
                data_type,
            } => match remap_plan((*plan).clone(), groups, inputs) {
                Ok(p) if p.free_columns().iter().any(|c| inputs.contains(c)) => {
                    err = Some(QuarryError::Analysis(
                        "[MISSING_AGGREGATION] a subquery in HAVING, ORDER BY or the SELECT list of a grouped query refers to a column that is not grouped; add it to GROUP BY".into(),
                    ));
                    Expr::Subquery {
                        plan,
                        kind,
                        data_type,
                    }
                }
                Ok(p) => Expr::Subquery {
                    plan: Arc::new(p),
                    kind,
                    data_type,
                },
                Err(e) => {
                    err = Some(e);
                    Expr::Subquery {
                        plan,
                        kind,
                        data_type,
                    }
                }
            },
            other => other,
        });
        match err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
    if !e.has_subquery() {
        return Ok(e);
    }
    remap_expr(e, groups, inputs)
}

/// A correlated `x [NOT] IN (subquery)` that is not a WHERE conjunct (under OR, in the
/// select list, ...), as EXISTS tests with IN's three-valued result:
/// `CASE WHEN EXISTS (q WHERE y = x) THEN true
///       WHEN (x IS NULL AND EXISTS (q)) OR EXISTS (q WHERE y IS NULL) THEN NULL
///       ELSE false END` (negated for NOT IN), `y` the subquery's column. Each EXISTS is
/// then a join like any correlated EXISTS elsewhere.
fn correlated_in_as_exists(e: Expr, outer: &HashSet<ColumnId>) -> Result<Expr> {
    let mut err = None;
    let out = e.transform(&mut |x| {
        let Expr::Subquery {
            plan: sub,
            kind: SubqueryKind::In { expr, negated },
            ..
        } = &x
        else {
            return x;
        };
        match is_correlated(sub, outer) {
            Ok(true) => {}
            Ok(false) => return x,
            Err(e) => {
                err = Some(e);
                return x;
            }
        }
        let Some(y) = sub.schema().first().cloned() else {
            return x;
        };
        let boolean = arrow::datatypes::DataType::Boolean;
        let exists = |pred: Option<Expr>| exists_where(sub, pred);
        let matched = exists(Some(Expr::binary(
            BinOp::Eq,
            Expr::Column(y.clone()),
            (**expr).clone(),
            boolean.clone(),
        )));
        let unknown = Expr::binary(
            BinOp::Or,
            Expr::binary(
                BinOp::And,
                Expr::IsNull(expr.clone()),
                exists(None),
                boolean.clone(),
            ),
            exists(Some(Expr::IsNull(Box::new(Expr::Column(y))))),
            boolean,
        );
        three_valued_in(matched, unknown, *negated)
    });
    match err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Replace correlated scalar subqueries in `e` by columns of left joins added to `plan`.
pub fn scalar_joins(
    plan: LogicalPlan,
    e: Expr,
    outer: &HashSet<ColumnId>,
) -> Result<(LogicalPlan, Expr)> {
    if !e.has_subquery() {
        return Ok((plan, e));
    }
    let e = correlated_in_as_exists(e, outer)?;
    let mut plan = Some(plan);
    let mut err = None;
    let out = e.transform(&mut |x| {
        if err.is_some() {
            return x;
        }
        let (sub, exists) = match &x {
            Expr::Subquery {
                plan: sub,
                kind: SubqueryKind::Scalar,
                ..
            } => (sub.clone(), None),
            // EXISTS elsewhere than a WHERE conjunct: (SELECT count(*) FROM q) > 0
            Expr::Subquery {
                plan: sub,
                kind: SubqueryKind::Exists { negated },
                ..
            } => (sub.clone(), Some(*negated)),
            _ => return x,
        };
        match is_correlated(&sub, outer) {
            Ok(false) => return x,
            Ok(true) => {}
            Err(e) => {
                err = Some(e);
                return x;
            }
        }
        let Some(p) = plan.take() else { return x };
        let sub = match exists {
            None => (*sub).clone(),
            Some(_) => {
                let cnt = Column::new("count(1)", arrow::datatypes::DataType::Int64, true);
                let agg = LogicalPlan::Aggregate {
                    input: Box::new((*sub).clone()),
                    group: vec![],
                    aggs: vec![(
                        crate::plan::AggregateExpr {
                            func: AggFunc::Count,
                            args: vec![],
                            distinct: false,
                            order: vec![],
                            data_type: arrow::datatypes::DataType::Int64,
                        },
                        cnt.clone(),
                    )],
                };
                let v = Column::new("exists", arrow::datatypes::DataType::Int64, true);
                LogicalPlan::Project {
                    input: Box::new(agg),
                    exprs: vec![(Expr::Column(cnt), v)],
                }
            }
        };
        match scalar_join(p, &sub) {
            Ok((np, v)) => {
                plan = Some(np);
                match exists {
                    None => v,
                    Some(negated) => {
                        let gt = Expr::binary(
                            BinOp::Gt,
                            v,
                            Expr::Literal(ScalarValue::from_i64(0)),
                            arrow::datatypes::DataType::Boolean,
                        );
                        if negated {
                            Expr::Not(Box::new(gt))
                        } else {
                            gt
                        }
                    }
                }
            }
            Err(e) => {
                err = Some(e);
                x
            }
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    let plan =
        plan.ok_or_else(|| QuarryError::Internal("scalar subquery rewrite lost its plan".into()))?;
    Ok((plan, out))
}

fn scalar_join(plan: LogicalPlan, sub: &LogicalPlan) -> Result<(LogicalPlan, Expr)> {
    match scalar_join_pulled_up(plan.clone(), sub) {
        // forms the pull-up does not take: decorrelate by the domain of outer values
        Err(QuarryError::NotSupported(_)) => {
            let outer = ids_of(&plan);
            domain_scalar_join(plan, sub, &outer)
        }
        r => r,
    }
}

fn scalar_join_pulled_up(plan: LogicalPlan, sub: &LogicalPlan) -> Result<(LogicalPlan, Expr)> {
    let outer = ids_of(&plan);
    let value = sub
        .schema()
        .first()
        .cloned()
        .ok_or_else(|| QuarryError::Internal("scalar subquery without columns".into()))?;
    // a subquery of at most one row whose SELECT list uses outer columns (`SELECT 42 +
    // t.x`, `SELECT count(*) + t.x FROM u WHERE u.k = t.k`), or one row without an
    // aggregate (`SELECT 42 WHERE t.x > 2`): a left lateral join
    // HAVING over an aggregate without GROUP BY: its empty group's row (COUNT 0) may
    // pass, which a join with the groups that exist cannot produce
    if filters_global_aggregate(sub) {
        return Err(QuarryError::NotSupported(
            "a correlated scalar subquery with HAVING over an aggregate without GROUP BY".into(),
        ));
    }
    let refs_in_select = matches!(sub, LogicalPlan::Project { exprs, .. }
        if exprs.iter().any(|(e, _)| refs_outer(e, &outer)));
    let one_row = at_most_one_row(sub);
    if one_row && (refs_in_select || !is_global_aggregate(sub)) {
        let (joined, mut values) = lateral_join(plan, sub, JoinType::Left, vec![])?;
        let v = values
            .drain(..1)
            .next()
            .ok_or_else(|| QuarryError::Internal("scalar subquery value".into()))?;
        return Ok((joined, v));
    }
    let (right, conds, aggregated) = pull_up_aggregate(&plan, sub, &outer)?;
    let (right, conds, value) = if aggregated {
        (right, conds, value)
    } else {
        // no aggregate: the one row's value per outer row (DuckDB's and PostgreSQL's
        // reading; a second row is an error at run time), as the aggregate
        // single_value over the subquery
        let (a, v) = single_value(&value);
        let wrapped = LogicalPlan::Aggregate {
            input: Box::new(sub.clone()),
            group: vec![],
            aggs: vec![(a, v.clone())],
        };
        let (right, conds, aggregated) = pull_up_aggregate(&plan, &wrapped, &outer)?;
        // a condition on outer columns alone (`WHERE t.x = 5`) decides whether the
        // subquery has rows for an outer row: pulled up into the join, single_value
        // would see every inner row (and fail) for outer rows it never matches. Such
        // subqueries go by the domain of outer values instead.
        if conds
            .iter()
            .any(|c| c.column_ids().iter().all(|i| outer.contains(i)))
        {
            return Err(QuarryError::NotSupported(
                "a correlated condition on outer columns only, above no aggregate".into(),
            ));
        }
        if !aggregated {
            return Err(QuarryError::Analysis(
                "[UNSUPPORTED_SUBQUERY_EXPRESSION_CATEGORY.CORRELATED_SCALAR_SUBQUERY] Correlated scalar subqueries must be aggregated to return at most one row".into(),
            ));
        }
        (right, conds, v)
    };
    // an empty group gives COUNT 0 only without GROUP BY: a grouped subquery with no
    // group for the outer row is NULL (`SELECT count(*) ... GROUP BY c`)
    let (joined, mut values) = if is_global_aggregate(sub) {
        left_join_with_defaults(plan, right, conds, &outer, &[value])?
    } else {
        let mut v = value;
        v.nullable = true;
        (
            left_join(plan, right, conds, &outer)?,
            vec![Expr::Column(v)],
        )
    };
    let v = values
        .pop()
        .ok_or_else(|| QuarryError::Internal("scalar subquery value".into()))?;
    Ok((joined, v))
}

/// `pull_up` for a subquery that may aggregate; a non-equality correlation below a
/// global aggregate aggregates per distinct outer value instead ([`domain_aggregate`]).
fn pull_up_aggregate(
    outer_plan: &LogicalPlan,
    sub: &LogicalPlan,
    outer: &HashSet<ColumnId>,
) -> Result<(LogicalPlan, Vec<Expr>, bool)> {
    match pull_up(sub.clone(), outer, ThroughAggregate::Any) {
        Ok(r) => Ok(r),
        Err(QuarryError::NotSupported(m)) if m.starts_with("the correlated condition") => {
            domain_aggregate(outer_plan, sub, outer)
        }
        Err(e) => Err(e),
    }
}

/// `plan` with one more column, `__matched`, true on every row: above a left join it is
/// NULL exactly on the rows made up for an outer row without a partner.
fn with_marker(plan: LogicalPlan) -> (LogicalPlan, Column) {
    let m = Column::new("__matched", arrow::datatypes::DataType::Boolean, true);
    let mut exprs: Vec<(Expr, Column)> = plan
        .schema()
        .into_iter()
        .map(|c| (Expr::Column(c.clone()), c))
        .collect();
    exprs.push((Expr::Literal(ScalarValue::from_bool(true)), m.clone()));
    (
        LogicalPlan::Project {
            input: Box::new(plan),
            exprs,
        },
        m,
    )
}

/// An aggregate's value over no rows, as Spark's `evalAggregateOnZeroTups`: what its
/// accumulator finishes with for one group that saw no row (COUNT 0, collect_list an
/// empty array, SUM NULL); NULL of `t` where the accumulator cannot be built.
fn value_over_no_rows(
    a: &crate::plan::AggregateExpr,
    t: &arrow::datatypes::DataType,
) -> ScalarValue {
    crate::functions::aggregate::accumulator_for(a)
        .and_then(|mut acc| acc.finish(1))
        .ok()
        .filter(|v| v.len() == 1 && v.data_type() == t)
        .map(ScalarValue)
        .unwrap_or_else(|| ScalarValue::null(t))
}

/// Left-join `plan` with the decorrelated global aggregate `right` on `conds`; returns
/// the join and, for each of `cols` (columns of `right`), the expression of its value:
/// on an outer row no inner row matched, the aggregate's value over no rows (COUNT
/// gives 0, collect_list `[]`, not NULL: Spark's "count bug" handling, through a
/// `__matched` marker).
fn left_join_with_defaults(
    plan: LogicalPlan,
    right: LogicalPlan,
    conds: Vec<Expr>,
    outer: &HashSet<ColumnId>,
    cols: &[Column],
) -> Result<(LogicalPlan, Vec<Expr>)> {
    // the value on an empty group: Project over Aggregate only
    let empty_value = |value: &Column| match &right {
        LogicalPlan::Aggregate { aggs, .. } => aggs
            .iter()
            .find(|(_, ac)| ac.id == value.id)
            .map(|(a, c)| Expr::Literal(value_over_no_rows(a, &c.data_type))),
        LogicalPlan::Project { input, exprs } => match input.as_ref() {
            LogicalPlan::Aggregate { aggs, .. } => {
                exprs.iter().find(|(_, c)| c.id == value.id).map(|(e, _)| {
                    e.clone().transform(&mut |x| match &x {
                        Expr::Column(c) => match aggs.iter().find(|(_, ac)| ac.id == c.id) {
                            Some((a, _)) => Expr::Literal(value_over_no_rows(a, &c.data_type)),
                            None => x,
                        },
                        _ => x,
                    })
                })
            }
            _ => None,
        },
        _ => None,
    };
    let defaults: Vec<Option<Expr>> = cols
        .iter()
        .map(|c| {
            empty_value(c).filter(|e| {
                !matches!(e, Expr::Literal(v) if v.is_null()) && e.column_ids().is_empty()
            })
        })
        .collect();
    let (right, marker) = if defaults.iter().any(Option::is_some) {
        let (r, m) = with_marker(right);
        (r, Some(m))
    } else {
        (right, None)
    };
    let joined = left_join(plan, right, conds, outer)?;
    let mut values = vec![];
    for (c, d) in cols.iter().zip(defaults) {
        let mut v = c.clone();
        v.nullable = true;
        values.push(match (&marker, d) {
            (Some(m), Some(d)) => {
                let d = crate::binder::coerce::cast_to(d, &v.data_type)?;
                Expr::Case {
                    whens: vec![(Expr::IsNull(Box::new(Expr::Column(m.clone()))), d)],
                    else_expr: Some(Box::new(Expr::Column(v.clone()))),
                    data_type: v.data_type.clone(),
                }
            }
            _ => Expr::Column(v),
        });
    }
    Ok((joined, values))
}

/// `plan` LEFT JOIN `right` on the correlated conditions `conds` (equalities between
/// `outer` and `right` columns become join keys, the rest the join's filter).
fn left_join(
    plan: LogicalPlan,
    right: LogicalPlan,
    conds: Vec<Expr>,
    outer: &HashSet<ColumnId>,
) -> Result<LogicalPlan> {
    let (on, residual) = split_join_keys(conds, outer, &ids_of(&right))?;
    Ok(LogicalPlan::Join {
        left: Box::new(plan),
        right: Box::new(right),
        join_type: JoinType::Left,
        on,
        filter: Expr::conjunction(residual),
    })
}

/// Whether `plan` computes one row whatever its input: an aggregate without GROUP BY
/// under projections, filters and sorts (a filter above it may still drop the row,
/// which decorrelation keeps as a condition).
fn is_global_aggregate(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Aggregate { group, .. } => group.is_empty(),
        LogicalPlan::Project { input, .. } | LogicalPlan::Sort { input, .. } => {
            is_global_aggregate(input)
        }
        _ => false,
    }
}

/// Whether `plan` gives at most one row whatever its correlated conditions: an
/// aggregate without GROUP BY, or one constant row (no FROM), under projections, sorts
/// and (for the constant row) filters.
pub(super) fn at_most_one_row(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Values { rows, .. } => rows.len() <= 1,
        LogicalPlan::Filter { input, .. } => {
            matches!(input.as_ref(), LogicalPlan::Values { .. }) && at_most_one_row(input)
        }
        LogicalPlan::Project { input, .. } | LogicalPlan::Sort { input, .. } => {
            at_most_one_row(input)
        }
        other => is_global_aggregate(other),
    }
}

/// Whether a filter (HAVING) sits over an aggregate without GROUP BY in `plan`.
fn filters_global_aggregate(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Filter { input, .. } => {
            is_global_aggregate(input) || filters_global_aggregate(input)
        }
        LogicalPlan::Project { input, .. } | LogicalPlan::Sort { input, .. } => {
            filters_global_aggregate(input)
        }
        _ => false,
    }
}

/// Join `left` with a correlated LATERAL subquery `sub` (whose free columns are
/// `left`'s): Spark's and DuckDB's lateral join, decorrelated. The correlated
/// conditions (in the subquery's WHERE, through projections, inner joins and one
/// aggregate) become join conditions; an aggregate without GROUP BY gives one row per
/// outer row (a left join, COUNT 0 where nothing matched); a top projection that uses
/// outer columns is computed after the join. `jt` is Inner/Cross or Left (`LEFT JOIN
/// LATERAL ... ON cond`), `on` the bound ON conjuncts (over `left` and `sub`'s columns).
/// Returns the join and, for each column of `sub`'s output, the expression of its value.
pub fn lateral_join(
    left: LogicalPlan,
    sub: &LogicalPlan,
    jt: JoinType,
    on: Vec<Expr>,
) -> Result<(LogicalPlan, Vec<Expr>)> {
    match lateral_join_pulled_up(left.clone(), sub, jt, on.clone()) {
        // forms the pull-up does not take: the subquery per domain row
        Err(QuarryError::NotSupported(_)) => {
            let outer = ids_of(&left);
            let (right, mut conds) = domain_subquery(&left, sub, &outer)?;
            conds.extend(on);
            let (keys, residual) = split_join_keys(conds, &outer, &ids_of(&right))?;
            let joined = LogicalPlan::Join {
                left: Box::new(left),
                right: Box::new(right),
                join_type: if jt == JoinType::Left {
                    JoinType::Left
                } else {
                    JoinType::Inner
                },
                on: keys,
                filter: Expr::conjunction(residual),
            };
            let values = sub
                .schema()
                .into_iter()
                .map(|mut c| {
                    c.nullable = true;
                    Expr::Column(c)
                })
                .collect();
            Ok((joined, values))
        }
        r => r,
    }
}

/// [`lateral_join`] by pulling the correlated conditions up.
fn lateral_join_pulled_up(
    left: LogicalPlan,
    sub: &LogicalPlan,
    jt: JoinType,
    on: Vec<Expr>,
) -> Result<(LogicalPlan, Vec<Expr>)> {
    let outer = ids_of(&left);
    let out_cols = sub.schema();
    // a top projection over outer columns is evaluated after the join
    let (body, top) = match sub {
        LogicalPlan::Project { input, exprs }
            if exprs.iter().any(|(e, _)| refs_outer(e, &outer)) =>
        {
            (input.as_ref(), Some(exprs))
        }
        _ => (sub, None),
    };
    let global = is_global_aggregate(body);
    if !global && filters_global_aggregate(body) {
        return Err(QuarryError::NotSupported(
            "a correlated LATERAL subquery with HAVING over an aggregate without GROUP BY".into(),
        ));
    }
    let body_cols = body.schema();
    // a column of the lateral's output as the body computes it
    let top_expr = |c: &Column| -> Option<Expr> {
        top.and_then(|exprs| {
            exprs
                .iter()
                .find(|(_, o)| o.id == c.id)
                .map(|(e, _)| e.clone())
        })
    };
    let through_top = |e: Expr| match top {
        None => e,
        Some(_) => e.transform(&mut |x| match &x {
            Expr::Column(c) => top_expr(c).unwrap_or(x),
            _ => x,
        }),
    };
    let mut marker = None;
    let (joined, values) = if global {
        let (right, conds, _) = pull_up_aggregate(&left, body, &outer)?;
        left_join_with_defaults(left, right, conds, &outer, &body_cols)?
    } else {
        let (right, mut conds, _) = pull_up(body.clone(), &outer, ThroughAggregate::Any)?;
        // the ON condition joins the correlated ones (over the body's columns)
        conds.extend(on.iter().cloned().map(&through_top));
        // outer-only expressions of the SELECT list are NULL on an unmatched outer row
        let right = if top.is_some() && jt == JoinType::Left {
            let (r, m) = with_marker(right);
            marker = Some(m);
            r
        } else {
            right
        };
        let (keys, residual) = split_join_keys(conds, &outer, &ids_of(&right))?;
        let join_type = match (jt, keys.is_empty() && residual.is_empty()) {
            (JoinType::Left, _) => JoinType::Left,
            (_, true) => JoinType::Cross,
            _ => JoinType::Inner,
        };
        let joined = LogicalPlan::Join {
            left: Box::new(left),
            right: Box::new(right),
            join_type,
            on: keys,
            filter: Expr::conjunction(residual),
        };
        let values = body_cols.iter().map(|c| Expr::Column(c.clone())).collect();
        (joined, values)
    };
    // the body's columns by their values
    let substitute = |e: Expr, cols: &[Column], vals: &[Expr]| {
        e.transform(&mut |x| match &x {
            Expr::Column(c) => match cols.iter().position(|b| b.id == c.id) {
                Some(i) => vals[i].clone(),
                None => x,
            },
            _ => x,
        })
    };
    let mut values: Vec<Expr> = out_cols
        .iter()
        .map(|c| {
            let v = match top {
                Some(_) => top_expr(c).map(|e| substitute(e, &body_cols, &values)),
                None => body_cols
                    .iter()
                    .position(|b| b.id == c.id)
                    .map(|i| values[i].clone()),
            }
            .ok_or_else(|| QuarryError::Internal("lateral output column".into()))?;
            Ok(match &marker {
                Some(m) => {
                    let t = v.data_type();
                    Expr::Case {
                        whens: vec![(Expr::IsNotNull(Box::new(Expr::Column(m.clone()))), v)],
                        else_expr: None,
                        data_type: t,
                    }
                }
                None => v,
            })
        })
        .collect::<Result<_>>()?;
    // a global aggregate gives one row per outer row: its ON condition applies after
    let mut plan = joined;
    if global && !on.is_empty() {
        let cond = Expr::conjunction(
            on.into_iter()
                .map(|c| substitute(c, &out_cols, &values))
                .collect(),
        )
        .ok_or_else(|| QuarryError::Internal("lateral ON".into()))?;
        if jt == JoinType::Left {
            // the lateral's columns are NULL where ON fails
            values = values
                .into_iter()
                .map(|v| {
                    let t = v.data_type();
                    Expr::Case {
                        whens: vec![(cond.clone(), v)],
                        else_expr: None,
                        data_type: t,
                    }
                })
                .collect();
        } else {
            plan = LogicalPlan::Filter {
                input: Box::new(plan),
                predicate: cond,
            };
        }
    }
    Ok((plan, values))
}

/// Decorrelate `Project(Aggregate(global, input))` whose input has correlated conditions
/// of any form: the distinct values of the outer columns they use (the domain D) are
/// left-joined with the input on those conditions and aggregated per D row; the
/// result joins the outer query on equality with D (an unmatched outer row takes the
/// aggregate's empty value). Aggregate arguments are nulled on the rows the left join
/// invented, and `count(*)` counts only matched rows.
fn domain_aggregate(
    outer_plan: &LogicalPlan,
    sub: &LogicalPlan,
    outer: &HashSet<ColumnId>,
) -> Result<(LogicalPlan, Vec<Expr>, bool)> {
    let unsupported = || {
        QuarryError::NotSupported("this correlated scalar subquery (a non-equality correlation is supported directly below one aggregate without GROUP BY)".into())
    };
    // Project(Aggregate), or a bare Aggregate (its outputs as they are)
    let (agg_plan, exprs): (&LogicalPlan, Vec<(Expr, Column)>) = match sub {
        LogicalPlan::Project { input, exprs } => (input.as_ref(), exprs.clone()),
        a @ LogicalPlan::Aggregate { .. } => (
            a,
            a.schema()
                .into_iter()
                .map(|c| (Expr::Column(c.clone()), c))
                .collect(),
        ),
        _ => return Err(unsupported()),
    };
    let LogicalPlan::Aggregate { input, group, aggs } = agg_plan else {
        return Err(unsupported());
    };
    if !group.is_empty() || exprs.iter().any(|(e, _)| refs_outer(e, outer)) {
        return Err(unsupported());
    }
    let (inner, conds, crossed) = pull_up((**input).clone(), outer, ThroughAggregate::Any)?;
    if crossed || conds.is_empty() {
        return Err(unsupported());
    }
    // the domain: distinct outer columns the conditions use
    let outer_cols: Vec<Column> = {
        let all = outer_plan.schema();
        let mut v: Vec<Column> = vec![];
        for id in conds.iter().flat_map(|c| c.column_ids()) {
            if outer.contains(&id) && !v.iter().any(|c| c.id == id) {
                if let Some(c) = all.iter().find(|c| c.id == id) {
                    v.push(c.clone());
                }
            }
        }
        v
    };
    let dom = Domain::of(outer_plan, outer_cols.clone());
    let conds: Vec<Expr> = conds
        .into_iter()
        .map(|c| dom.subst(c, &dom.d_cols))
        .collect::<Result<_>>()?;
    let (inner, m) = with_marker(inner);
    let d_ids: HashSet<ColumnId> = dom.d_cols.iter().map(|c| c.id).collect();
    let (on, residual) = split_join_keys(conds, &d_ids, &ids_of(&inner))?;
    let joined = LogicalPlan::Join {
        left: Box::new(dom.plan.clone()),
        right: Box::new(inner),
        join_type: JoinType::Left,
        on,
        filter: Expr::conjunction(residual),
    };
    let unmatched = Expr::IsNull(Box::new(Expr::Column(m.clone())));
    let aggs: Vec<_> = aggs
        .iter()
        .map(|(a, c)| {
            let mut a = a.clone();
            if a.func == AggFunc::Count && a.args.is_empty() {
                a.args = vec![Expr::Column(m.clone())];
            } else {
                a.args = a
                    .args
                    .into_iter()
                    .map(|e| {
                        let t = e.data_type();
                        Expr::Case {
                            whens: vec![(unmatched.clone(), Expr::Literal(ScalarValue::null(&t)))],
                            else_expr: Some(Box::new(e)),
                            data_type: t,
                        }
                    })
                    .collect();
            }
            (a, c.clone())
        })
        .collect();
    let (agg, g_cols) = aggregate_per_domain_row(&dom, joined, &dom.d_cols, vec![], aggs)?;
    let mut exprs = exprs;
    exprs.extend(g_cols.iter().map(|g| (Expr::Column(g.clone()), g.clone())));
    let conds = null_safe_keys(&outer_cols, &g_cols)?;
    Ok((
        LogicalPlan::Project {
            input: Box::new(agg),
            exprs,
        },
        conds,
        true,
    ))
}

/// `a <=> b` as equalities a hash join can take as keys: `(a IS NULL) = (b IS NULL)` and
/// `coalesce(a, c) = coalesce(b, c)` for a constant `c` of their type; the one
/// `a <=> b` (a join filter) where no such constant is at hand (nested types).
fn null_safe_equal(a: Expr, b: Expr) -> Result<Vec<Expr>> {
    use arrow::datatypes::DataType;
    let t = a.data_type();
    let c = ScalarValue::from_i64(0)
        .cast_to(&t)
        .ok()
        .filter(|c| !c.is_null());
    let Some(c) = c else {
        return Ok(vec![Expr::binary(
            BinOp::NullSafeEq,
            a,
            b,
            DataType::Boolean,
        )]);
    };
    let coalesce = |e: Expr| {
        super::expr::scalar_call(
            crate::functions::scalar::ScalarFunc::Coalesce,
            vec![e, Expr::Literal(c.clone())],
        )
    };
    Ok(vec![
        Expr::binary(
            BinOp::Eq,
            Expr::IsNull(Box::new(a.clone())),
            Expr::IsNull(Box::new(b.clone())),
            DataType::Boolean,
        ),
        Expr::binary(BinOp::Eq, coalesce(a)?, coalesce(b)?, DataType::Boolean),
    ])
}

/// The domain of a correlated subquery: the distinct values of the outer columns it
/// uses (`outer_cols`), as `plan` with columns `d_cols`.
struct Domain {
    plan: LogicalPlan,
    outer_cols: Vec<Column>,
    d_cols: Vec<Column>,
}

impl Domain {
    /// The domain of `outer_cols` (columns of `outer_plan`): their distinct values.
    fn of(outer_plan: &LogicalPlan, outer_cols: Vec<Column>) -> Domain {
        let d_cols = fresh_copies(&outer_cols);
        Domain {
            plan: LogicalPlan::Aggregate {
                input: Box::new(outer_plan.clone()),
                group: outer_cols
                    .iter()
                    .zip(&d_cols)
                    .map(|(o, d)| (Expr::Column(o.clone()), d.clone()))
                    .collect(),
                aggs: vec![],
            },
            outer_cols,
            d_cols,
        }
    }

    /// A copy of the domain with fresh column ids (each leaf that needs it joins its own).
    fn fresh(&self) -> (LogicalPlan, Vec<Column>) {
        let cols = fresh_copies(&self.d_cols);
        let exprs = self
            .d_cols
            .iter()
            .zip(&cols)
            .map(|(d, c)| (Expr::Column(d.clone()), c.clone()))
            .collect();
        (
            LogicalPlan::Project {
                input: Box::new(self.plan.clone()),
                exprs,
            },
            cols,
        )
    }

    /// [`Domain::subst`] over a list of expressions.
    fn subst_all(&self, es: Vec<Expr>, dc: &[Column]) -> Result<Vec<Expr>> {
        es.into_iter().map(|e| self.subst(e, dc)).collect()
    }

    /// [`Domain::subst`] over sort keys.
    fn subst_keys(
        &self,
        keys: Vec<crate::plan::SortKey>,
        dc: &[Column],
    ) -> Result<Vec<crate::plan::SortKey>> {
        keys.into_iter()
            .map(|mut k| {
                k.expr = self.subst(k.expr, dc)?;
                Ok(k)
            })
            .collect()
    }

    /// `e` with the outer columns replaced by `dc` (the domain columns in scope), inside
    /// its subqueries too (which [`push_domain`] then decorrelates against the operator's
    /// input).
    fn subst(&self, e: Expr, dc: &[Column]) -> Result<Expr> {
        let map: HashMap<ColumnId, Column> = self
            .outer_cols
            .iter()
            .zip(dc)
            .map(|(o, d)| (o.id, d.clone()))
            .collect();
        replace_columns(e, &map)
    }
}

/// Nullable copies of `cols` with fresh ids.
fn fresh_copies(cols: &[Column]) -> Vec<Column> {
    cols.iter()
        .map(|d| Column::new(d.name.clone(), d.data_type.clone(), true))
        .collect()
}

/// `Aggregate(input, group, aggs)` over an input carrying the domain columns `dc`:
/// outer references replaced by them, and grouped by them too (one group set per
/// domain row). Returns the aggregate and its domain output columns.
fn aggregate_per_domain_row(
    dom: &Domain,
    input: LogicalPlan,
    dc: &[Column],
    group: Vec<(Expr, Column)>,
    aggs: Vec<(crate::plan::AggregateExpr, Column)>,
) -> Result<(LogicalPlan, Vec<Column>)> {
    let out = fresh_copies(dc);
    let mut g2 = vec![];
    for (e, c) in group {
        g2.push((dom.subst(e, dc)?, c));
    }
    g2.extend(
        dc.iter()
            .zip(&out)
            .map(|(d, o)| (Expr::Column(d.clone()), o.clone())),
    );
    let outer: HashSet<ColumnId> = dom.outer_cols.iter().map(|c| c.id).collect();
    let mut a2 = vec![];
    for (mut a, c) in aggs {
        // an aggregate of outer columns only belongs to the outer query (SQL's rule, as
        // PostgreSQL's and DuckDB's), which this rewrite cannot express
        let ids: Vec<ColumnId> = a.args.iter().flat_map(|e| e.column_ids()).collect();
        if !ids.is_empty() && ids.iter().all(|i| outer.contains(i)) {
            return Err(QuarryError::NotSupported(format!(
                "the aggregate {}(...) of outer query columns inside a subquery",
                a.func.name()
            )));
        }
        a.args = dom.subst_all(a.args, dc)?;
        a2.push((a, c));
    }
    Ok((
        LogicalPlan::Aggregate {
            input: Box::new(input),
            group: g2,
            aggs: a2,
        },
        out,
    ))
}

/// `plan` evaluated for every row of the domain at once (the dependent join of Neumann
/// and Kemper's "Unnesting Arbitrary Queries", pushed down): its output columns, then
/// the domain columns naming the row of the domain each output row belongs to. The
/// domain crosses in at the leaves that refer to outer columns; filters, projections,
/// grouped aggregates (grouped by the domain too), sorts, UNION ALL branches and joins
/// (through their preserved or inner sides) carry it up. Other operators over outer
/// references are not supported (global aggregates inside, LIMIT, windows).
fn push_domain(plan: LogicalPlan, dom: &Domain) -> Result<(LogicalPlan, Vec<Column>)> {
    let outer: HashSet<ColumnId> = dom.outer_cols.iter().map(|c| c.id).collect();
    if !plan.free_columns().iter().any(|c| outer.contains(c)) {
        let (d, dc) = dom.fresh();
        return Ok((
            LogicalPlan::Join {
                left: Box::new(plan),
                right: Box::new(d),
                join_type: JoinType::Cross,
                on: vec![],
                filter: None,
            },
            dc,
        ));
    }
    match plan {
        LogicalPlan::Filter { input, predicate } => {
            let (input, dc) = push_domain(*input, dom)?;
            let predicate = dom.subst(predicate, &dc)?;
            // a subquery that referred to the outer query now refers to the domain
            // columns, in the input's scope: decorrelated here
            let ids = ids_of(&input);
            Ok((filter(input, predicate, &ids)?, dc))
        }
        LogicalPlan::Project { input, exprs } => {
            let (mut input, dc) = push_domain(*input, dom)?;
            let mut out = vec![];
            for (e, c) in exprs {
                let e = dom.subst(e, &dc)?;
                let e = if e.has_subquery() {
                    let ids = ids_of(&input);
                    let (p, e) = scalar_joins(input, e, &ids)?;
                    input = p;
                    e
                } else {
                    e
                };
                out.push((e, c));
            }
            out.extend(dc.iter().map(|d| (Expr::Column(d.clone()), d.clone())));
            Ok((
                LogicalPlan::Project {
                    input: Box::new(input),
                    exprs: out,
                },
                dc,
            ))
        }
        LogicalPlan::Aggregate { input, group, aggs } if !group.is_empty() => {
            let (input, dc) = push_domain(*input, dom)?;
            aggregate_per_domain_row(dom, input, &dc, group, aggs)
        }
        // without GROUP BY: one row for every domain row, the aggregates' values over
        // no rows where the domain row has none (COUNT 0)
        LogicalPlan::Aggregate { input, aggs, .. } => {
            let (input, dc) = push_domain(*input, dom)?;
            let fresh = fresh_copies(&aggs.iter().map(|(_, c)| c.clone()).collect::<Vec<_>>());
            let renamed: Vec<_> = aggs
                .iter()
                .zip(&fresh)
                .map(|((a, _), f)| (a.clone(), f.clone()))
                .collect();
            let (agg, g) = aggregate_per_domain_row(dom, input, &dc, vec![], renamed)?;
            let (d, dcf) = dom.fresh();
            let conds = null_safe_keys(&dcf, &g)?;
            let d_ids: HashSet<ColumnId> = dcf.iter().map(|c| c.id).collect();
            let (joined, values) = left_join_with_defaults(d, agg, conds, &d_ids, &fresh)?;
            let mut exprs: Vec<(Expr, Column)> = values
                .into_iter()
                .zip(aggs.into_iter().map(|(_, c)| c))
                .collect();
            exprs.extend(dcf.iter().map(|d| (Expr::Column(d.clone()), d.clone())));
            Ok((
                LogicalPlan::Project {
                    input: Box::new(joined),
                    exprs,
                },
                dcf,
            ))
        }
        LogicalPlan::Sort {
            input,
            keys,
            fetch: None,
        } => {
            let (input, dc) = push_domain(*input, dom)?;
            Ok((
                LogicalPlan::Sort {
                    input: Box::new(input),
                    keys: dom.subst_keys(keys, &dc)?,
                    fetch: None,
                },
                dc,
            ))
        }
        // LIMIT / OFFSET (top-k with ORDER BY) per domain row: row_number() over the
        // domain columns, in the sort order
        LogicalPlan::Limit { input, skip, fetch } => match *input {
            LogicalPlan::Sort {
                input,
                keys,
                fetch: None,
            } => limit_per_domain_row(*input, keys, skip, fetch, dom),
            // ORDER BY a column the SELECT list drops: the limit goes below the
            // projection, onto the sort
            LogicalPlan::Project { input, exprs }
                if matches!(input.as_ref(), LogicalPlan::Sort { fetch: None, .. }) =>
            {
                let limited = LogicalPlan::Limit { input, skip, fetch };
                push_domain(
                    LogicalPlan::Project {
                        input: Box::new(limited),
                        exprs,
                    },
                    dom,
                )
            }
            // any other order below would be lost: not a wrong answer, an error
            other if contains_sort(&other) => {
                Err(not_supported("under a LIMIT over this ordered input"))
            }
            other => limit_per_domain_row(other, vec![], skip, fetch, dom),
        },
        LogicalPlan::Sort {
            input,
            keys,
            fetch: Some(n),
        } => limit_per_domain_row(*input, keys, 0, Some(n), dom),
        // window functions per domain row: partitioned by the domain columns too
        LogicalPlan::Window { input, windows } => {
            let (input, dc) = push_domain(*input, dom)?;
            let mut w2 = vec![];
            for (mut w, c) in windows {
                w.args = dom.subst_all(w.args, &dc)?;
                w.partition_by = dom.subst_all(w.partition_by, &dc)?;
                w.partition_by
                    .extend(dc.iter().map(|d| Expr::Column(d.clone())));
                w.order_by = dom.subst_keys(w.order_by, &dc)?;
                w.arg_order = dom.subst_keys(w.arg_order, &dc)?;
                w2.push((w, c));
            }
            Ok((
                LogicalPlan::Window {
                    input: Box::new(input),
                    windows: w2,
                },
                dc,
            ))
        }
        LogicalPlan::Union { inputs, columns } => {
            let mut branches = vec![];
            for p in inputs {
                let cols = p.schema();
                let (p, dc) = push_domain(p, dom)?;
                // the branch's columns, then its domain columns, by position
                let exprs = cols
                    .iter()
                    .chain(&dc)
                    .map(|c| (Expr::Column(c.clone()), c.clone()))
                    .collect();
                branches.push(LogicalPlan::Project {
                    input: Box::new(p),
                    exprs,
                });
            }
            let out = fresh_copies(&dom.d_cols);
            let mut columns = columns;
            columns.extend(out.iter().cloned());
            Ok((
                LogicalPlan::Union {
                    inputs: branches,
                    columns,
                },
                out,
            ))
        }
        LogicalPlan::Join {
            left,
            right,
            join_type,
            on,
            filter,
        } => {
            use JoinType::*;
            let refs = |p: &LogicalPlan| p.free_columns().iter().any(|c| outer.contains(c));
            let (l_refs, r_refs) = (refs(&left), refs(&right));
            // the domain crosses into each side that refers to the outer query, and into
            // each side whose rows are returned per domain row without a partner
            // (preserved sides; the left of a semi or anti join); both sides then join
            // on their domain columns too
            let into_left = l_refs
                || matches!(join_type, Left | Full | LeftSemi | LeftAnti)
                || (!r_refs && matches!(join_type, Inner | Cross));
            let into_right = r_refs || matches!(join_type, Right | Full);
            let (left, dl) = if into_left {
                let (p, d) = push_domain(*left, dom)?;
                (p, Some(d))
            } else {
                (*left, None)
            };
            let (right, dr) = if into_right {
                let (p, d) = push_domain(*right, dom)?;
                (p, Some(d))
            } else {
                (*right, None)
            };
            let cond_dc = dl
                .clone()
                .or_else(|| dr.clone())
                .ok_or_else(|| QuarryError::Internal("join without domain".into()))?;
            let mut on2 = vec![];
            for (a, b) in on {
                on2.push((dom.subst(a, &cond_dc)?, dom.subst(b, &cond_dc)?));
            }
            let mut residual: Vec<Expr> = match filter {
                Some(f) => dom.subst(f, &cond_dc)?.split_conjunction(),
                None => vec![],
            };
            let mut join_type = join_type;
            if let (Some(l), Some(r)) = (&dl, &dr) {
                let (keys, rest) =
                    split_join_keys(null_safe_keys(l, r)?, &ids_of(&left), &ids_of(&right))?;
                on2.extend(keys);
                residual.extend(rest);
                if join_type == Cross {
                    join_type = Inner;
                }
            }
            let plan = join_with_condition(left, right, join_type, on2, residual)?;
            match (join_type, dl, dr) {
                // a row of either side without a partner names its domain row
                (Full, Some(l), Some(r)) => {
                    let out = fresh_copies(&l);
                    let mut exprs: Vec<(Expr, Column)> = plan
                        .schema()
                        .into_iter()
                        .map(|c| (Expr::Column(c.clone()), c))
                        .collect();
                    for ((a, b), o) in l.iter().zip(&r).zip(&out) {
                        exprs.push((
                            super::expr::scalar_call(
                                crate::functions::scalar::ScalarFunc::Coalesce,
                                vec![Expr::Column(a.clone()), Expr::Column(b.clone())],
                            )?,
                            o.clone(),
                        ));
                    }
                    Ok((
                        LogicalPlan::Project {
                            input: Box::new(plan),
                            exprs,
                        },
                        out,
                    ))
                }
                (Right, _, Some(r)) => Ok((plan, r)),
                _ => Ok((plan, cond_dc)),
            }
        }
        // a generator over outer columns (`LATERAL (SELECT explode(t.arr))`): its
        // argument reads the domain columns, which its output carries on
        LogicalPlan::Generate {
            input,
            kind,
            outer,
            arg,
            columns,
        } => {
            let (input, dc) = push_domain(*input, dom)?;
            let arg = dom.subst(arg, &dc)?;
            Ok((
                LogicalPlan::Generate {
                    input: Box::new(input),
                    kind,
                    outer,
                    arg,
                    columns,
                },
                dc,
            ))
        }
        other => {
            let kind = other.to_string();
            Err(not_supported(&format!(
                "under {}",
                kind.split_whitespace().next().unwrap_or("this operator")
            )))
        }
    }
}

/// The columns `e` refers to, inside its subqueries too (their free columns).
fn deep_column_ids(e: &Expr) -> HashSet<ColumnId> {
    let mut ids: HashSet<ColumnId> = e.column_ids().into_iter().collect();
    e.visit(&mut |x| {
        if let Expr::Subquery { plan, .. } = x {
            ids.extend(plan.free_columns());
        }
    });
    ids
}

/// `left JOIN right` on the key pairs `on` and the further conditions `conds` (their
/// conjunction). A condition holding a subquery that refers to the join's sides
/// (`ON EXISTS (SELECT 1 FROM s WHERE s.a = l.a AND s.b = r.b)`, as DuckDB and
/// PostgreSQL take) is decorrelated: for an inner join it filters the joined rows; for a
/// left, semi or anti join, [`preserved_side_join`]; a right join is the mirror of a
/// left one; a full join is [`full_join`].
pub fn join_with_condition(
    left: LogicalPlan,
    right: LogicalPlan,
    join_type: JoinType,
    on: Vec<(Expr, Expr)>,
    conds: Vec<Expr>,
) -> Result<LogicalPlan> {
    use JoinType::*;
    let (l_ids, r_ids) = (ids_of(&left), ids_of(&right));
    let both: HashSet<ColumnId> = l_ids.union(&r_ids).copied().collect();
    let correlated = |e: &Expr| {
        let mut found = false;
        e.visit(&mut |x| {
            if let Expr::Subquery { plan, .. } = x {
                let free = plan.free_columns();
                found |= !free.is_empty() && free.iter().all(|c| both.contains(c));
            }
        });
        found
    };
    if !conds.iter().any(correlated) {
        let join_type = match join_type {
            Cross if !on.is_empty() || !conds.is_empty() => Inner,
            jt => jt,
        };
        return Ok(LogicalPlan::Join {
            left: Box::new(left),
            right: Box::new(right),
            join_type,
            on,
            filter: Expr::conjunction(conds),
        });
    }
    let boolean = arrow::datatypes::DataType::Boolean;
    let mut all: Vec<Expr> = on
        .into_iter()
        .map(|(a, b)| Expr::binary(BinOp::Eq, a, b, boolean.clone()))
        .collect();
    all.extend(conds);
    match join_type {
        Inner | Cross => {
            let (plain, sub): (Vec<Expr>, Vec<Expr>) =
                all.into_iter().partition(|c| !c.has_subquery());
            let joined = keyed_join(left, right, plain)?;
            let ids = ids_of(&joined);
            match Expr::conjunction(sub) {
                Some(p) => filter(joined, p, &ids),
                None => Ok(joined),
            }
        }
        Left | LeftSemi | LeftAnti => preserved_side_join(left, right, join_type, all),
        Right => {
            let order: Vec<Column> = left
                .schema()
                .into_iter()
                .map(|mut c| {
                    c.nullable = true;
                    c
                })
                .chain(right.schema())
                .collect();
            let mirrored = preserved_side_join(right, left, Left, all)?;
            Ok(LogicalPlan::Project {
                input: Box::new(mirrored),
                exprs: order
                    .into_iter()
                    .map(|c| (Expr::Column(c.clone()), c))
                    .collect(),
            })
        }
        Full => full_join(left, right, all),
    }
}

/// `left FULL JOIN right ON conds` where `conds` hold subqueries over the sides: the
/// rows of `left LEFT JOIN right` (every match, and `left`'s rows without one), then
/// `right`'s rows that match no `left` row (`right LEFT ANTI JOIN left`) padded with
/// NULLs. Both halves decorrelate the conditions by [`preserved_side_join`]. The output
/// is `left`'s columns, then `right`'s, all nullable.
fn full_join(left: LogicalPlan, right: LogicalPlan, conds: Vec<Expr>) -> Result<LogicalPlan> {
    let (l_cols, r_cols) = (left.schema(), right.schema());
    let matched = preserved_side_join(left.clone(), right.clone(), JoinType::Left, conds.clone())?;
    let unmatched = preserved_side_join(right, left, JoinType::LeftAnti, conds)?;
    let padded = LogicalPlan::Project {
        input: Box::new(unmatched),
        exprs: l_cols
            .iter()
            .map(|c| Expr::Literal(ScalarValue::null(&c.data_type)))
            .chain(r_cols.iter().map(|c| Expr::Column(c.clone())))
            .zip(
                fresh_copies(&l_cols)
                    .into_iter()
                    .chain(fresh_copies(&r_cols)),
            )
            .collect(),
    };
    let out: Vec<Column> = l_cols
        .into_iter()
        .chain(r_cols)
        .map(|mut c| {
            c.nullable = true;
            c
        })
        .collect();
    let columns = fresh_copies(&out);
    Ok(LogicalPlan::Project {
        input: Box::new(LogicalPlan::Union {
            inputs: vec![matched, padded],
            columns: columns.clone(),
        }),
        exprs: columns.into_iter().map(Expr::Column).zip(out).collect(),
    })
}

/// An inner join of `left` and `right` on `conds` (equalities between the sides become
/// hash keys); a cross join without conditions.
fn keyed_join(left: LogicalPlan, right: LogicalPlan, conds: Vec<Expr>) -> Result<LogicalPlan> {
    let (keys, residual) = split_join_keys(conds, &ids_of(&left), &ids_of(&right))?;
    let join_type = if keys.is_empty() && residual.is_empty() {
        JoinType::Cross
    } else {
        JoinType::Inner
    };
    Ok(LogicalPlan::Join {
        left: Box::new(left),
        right: Box::new(right),
        join_type,
        on: keys,
        filter: Expr::conjunction(residual),
    })
}

/// `keep LEFT [SEMI | ANTI] JOIN other ON conds` where `conds` hold subqueries over both
/// sides: the distinct values of `keep`'s columns that the conditions use (the domain)
/// are paired with the `other` rows meeting the conditions (the subqueries decorrelated
/// over those pairs), and `keep`'s rows join the pairs on null-safe equality with their
/// domain values. The output is `keep`'s columns, then (LEFT) `other`'s.
fn preserved_side_join(
    keep: LogicalPlan,
    other: LogicalPlan,
    join_type: JoinType,
    conds: Vec<Expr>,
) -> Result<LogicalPlan> {
    let used: HashSet<ColumnId> = conds.iter().flat_map(deep_column_ids).collect();
    let keep_cols: Vec<Column> = keep
        .schema()
        .into_iter()
        .filter(|c| used.contains(&c.id))
        .collect();
    // the plain join's output: `other`'s columns nullable
    let out: Vec<Column> = keep
        .schema()
        .into_iter()
        .chain(other.schema().into_iter().map(|mut c| {
            c.nullable = true;
            c
        }))
        .collect();
    let keep_ids = ids_of(&keep);
    let (pairs, keys) = if keep_cols.is_empty() {
        // conditions on `other` alone: every kept row pairs with the rows meeting them
        let ids = ids_of(&other);
        let pred = Expr::conjunction(conds)
            .ok_or_else(|| QuarryError::Internal("join condition".into()))?;
        (filter(other, pred, &ids)?, vec![])
    } else {
        let dom = Domain::of(&keep, keep_cols.clone());
        let conds = dom.subst_all(conds, &dom.d_cols)?;
        let (plain, sub): (Vec<Expr>, Vec<Expr>) =
            conds.into_iter().partition(|c| !c.has_subquery());
        let pairs = keyed_join(dom.plan.clone(), other, plain)?;
        let ids = ids_of(&pairs);
        let pairs = match Expr::conjunction(sub) {
            Some(p) => filter(pairs, p, &ids)?,
            None => pairs,
        };
        (pairs, null_safe_keys(&keep_cols, &dom.d_cols)?)
    };
    let (on, residual) = split_join_keys(keys, &keep_ids, &ids_of(&pairs))?;
    let joined = LogicalPlan::Join {
        left: Box::new(keep),
        right: Box::new(pairs),
        join_type,
        on,
        filter: Expr::conjunction(residual),
    };
    Ok(match join_type {
        JoinType::Left => LogicalPlan::Project {
            input: Box::new(joined),
            exprs: out
                .into_iter()
                .map(|c| (Expr::Column(c.clone()), c))
                .collect(),
        },
        _ => joined,
    })
}

/// Whether `plan` sorts anywhere.
fn contains_sort(plan: &LogicalPlan) -> bool {
    matches!(plan, LogicalPlan::Sort { .. }) || plan.inputs().into_iter().any(contains_sort)
}

/// `input` ordered by `keys`, rows `skip + 1 ..= skip + fetch` of each domain row's
/// share ([`push_domain`]'s LIMIT / OFFSET).
fn limit_per_domain_row(
    input: LogicalPlan,
    keys: Vec<crate::plan::SortKey>,
    skip: usize,
    fetch: Option<usize>,
    dom: &Domain,
) -> Result<(LogicalPlan, Vec<Column>)> {
    let cols = input.schema();
    let (input, dc) = push_domain(input, dom)?;
    let order_by = dom.subst_keys(keys, &dc)?;
    let (numbered, rn) = super::window::with_row_number(
        input,
        dc.iter().map(|d| Expr::Column(d.clone())).collect(),
        order_by,
        "__row_in_domain",
    );
    let bound = |op: BinOp, n: usize| {
        crate::binder::coerce::binary(
            op,
            Expr::Column(rn.clone()),
            Expr::Literal(ScalarValue::from_i64(n as i64)),
            false,
        )
    };
    let mut conds = vec![bound(BinOp::Gt, skip)?];
    if let Some(f) = fetch {
        conds.push(bound(BinOp::LtEq, skip.saturating_add(f))?);
    }
    let filtered = LogicalPlan::Filter {
        input: Box::new(numbered),
        predicate: Expr::conjunction(conds)
            .ok_or_else(|| QuarryError::Internal("limit per domain row".into()))?,
    };
    let exprs = cols
        .iter()
        .chain(&dc)
        .map(|c| (Expr::Column(c.clone()), c.clone()))
        .collect();
    Ok((
        LogicalPlan::Project {
            input: Box::new(filtered),
            exprs,
        },
        dc,
    ))
}

/// Decorrelate the scalar subquery `sub` over `plan` by its domain ([`push_domain`]),
/// for the forms the pull-up of correlated conditions does not take (outer columns in
/// the SELECT list under a FROM, under UNION ALL, in join conditions, ...): one value
/// per domain row (the top aggregate without GROUP BY grouped by the domain, or the one
/// row's value, a second row an error), left-joined back on null-safe equality.
fn domain_scalar_join(
    plan: LogicalPlan,
    sub: &LogicalPlan,
    outer: &HashSet<ColumnId>,
) -> Result<(LogicalPlan, Expr)> {
    let outer_cols: Vec<Column> = {
        let free = sub.free_columns();
        plan.schema()
            .into_iter()
            .filter(|c| outer.contains(&c.id) && free.contains(&c.id))
            .collect()
    };
    let dom = Domain::of(&plan, outer_cols.clone());
    let value = sub
        .schema()
        .first()
        .cloned()
        .ok_or_else(|| QuarryError::Internal("scalar subquery without columns".into()))?;
    // the aggregate per domain row: the subquery's own (a Project over an aggregate
    // without GROUP BY, or a bare one), else single_value of its one row
    let own = match sub {
        LogicalPlan::Project { input, exprs } => match input.as_ref() {
            LogicalPlan::Aggregate { input, group, aggs } if group.is_empty() => {
                Some((input, aggs, Some(exprs.clone())))
            }
            _ => None,
        },
        LogicalPlan::Aggregate { input, group, aggs } if group.is_empty() => {
            Some((input, aggs, None))
        }
        _ => None,
    };
    let (input, aggs, top_exprs, value) = match own {
        Some((input, aggs, top)) => (input.as_ref().clone(), aggs.clone(), top, value),
        None => {
            let (a, v) = single_value(&value);
            let top = vec![(Expr::Column(v.clone()), v.clone())];
            (sub.clone(), vec![(a, v.clone())], Some(top), v)
        }
    };
    let (input, dc) = push_domain(input, &dom)?;
    let (agg, g) = aggregate_per_domain_row(&dom, input, &dc, vec![], aggs)?;
    let right = match top_exprs {
        Some(exprs) => {
            let mut out = vec![];
            for (e, c) in exprs {
                out.push((dom.subst(e, &g)?, c));
            }
            out.extend(g.iter().map(|d| (Expr::Column(d.clone()), d.clone())));
            LogicalPlan::Project {
                input: Box::new(agg),
                exprs: out,
            }
        }
        None => agg,
    };
    let conds = null_safe_keys(&outer_cols, &g)?;
    let (joined, mut values) = left_join_with_defaults(plan, right, conds, outer, &[value])?;
    let v = values
        .pop()
        .ok_or_else(|| QuarryError::Internal("scalar subquery value".into()))?;
    Ok((joined, v))
}

/// `sub` (correlated with `plan`'s columns `outer`) evaluated for every distinct value of
/// the outer columns it uses ([`push_domain`]), and the conditions joining an outer row
/// to its share of the result (null-safe equality with the domain columns).
fn domain_subquery(
    plan: &LogicalPlan,
    sub: &LogicalPlan,
    outer: &HashSet<ColumnId>,
) -> Result<(LogicalPlan, Vec<Expr>)> {
    let free = sub.free_columns();
    let outer_cols: Vec<Column> = plan
        .schema()
        .into_iter()
        .filter(|c| outer.contains(&c.id) && free.contains(&c.id))
        .collect();
    let dom = Domain::of(plan, outer_cols.clone());
    let (right, dc) = push_domain(sub.clone(), &dom)?;
    Ok((right, null_safe_keys(&outer_cols, &dc)?))
}

/// `single_value(value)`: the aggregate giving a subquery's one row's value (NULL for
/// none; a second row is an error at run time), and its output column.
fn single_value(value: &Column) -> (crate::plan::AggregateExpr, Column) {
    let v = Column::new(value.name.clone(), value.data_type.clone(), true);
    let a = crate::plan::AggregateExpr {
        func: AggFunc::SingleValue,
        args: vec![Expr::Column(value.clone())],
        distinct: false,
        order: vec![],
        data_type: value.data_type.clone(),
    };
    (a, v)
}

/// The conditions joining an outer row to its own domain row (`outer_cols <=> g_cols`,
/// a NULL outer value included: the subquery's conditions may hold for it, as
/// `v = o.v OR v IS NULL` does).
fn null_safe_keys(outer_cols: &[Column], g_cols: &[Column]) -> Result<Vec<Expr>> {
    let mut conds = vec![];
    for (o, g) in outer_cols.iter().zip(g_cols) {
        conds.extend(null_safe_equal(
            Expr::Column(o.clone()),
            Expr::Column(g.clone()),
        )?);
    }
    Ok(conds)
}
