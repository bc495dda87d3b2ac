//! Common subexpression reuse: an expression computed more than once by one projection
//! or aggregation (TPC-H Q1's `l_extendedprice * (1 - l_discount)` feeds two sums, and
//! `CAST(l_quantity AS decimal(38,2))` a sum and an average) is computed once, by a
//! projection added below the node, and referred to by column. As Spark's
//! `EquivalentExpressions` in its projection and aggregate code generation.
//!
//! Only deterministic expressions without subqueries are shared, and the largest shared
//! expression wins (its own repeated parts are not split out again). Hoisting out of a
//! CASE branch is safe here because the evaluator computes every branch on every row.

use std::collections::HashMap;

use super::OptimizerRule;
use crate::error::Result;
use crate::plan::{Column, Expr, LogicalPlan};

pub struct CommonSubexpressions;

impl OptimizerRule for CommonSubexpressions {
    fn name(&self) -> &'static str {
        "common_subexpressions"
    }
    fn rewrite(&self, plan: LogicalPlan, _: &super::OptimizerContext) -> Result<LogicalPlan> {
        rewrite(plan)
    }
}

fn rewrite(plan: LogicalPlan) -> Result<LogicalPlan> {
    let plan = plan.map_inputs(&mut rewrite)?;
    if !matches!(
        plan,
        LogicalPlan::Project { .. } | LogicalPlan::Aggregate { .. }
    ) {
        return Ok(plan);
    }
    let shared = shared_subexpressions(&plan);
    if shared.is_empty() {
        return Ok(plan);
    }
    // one new column per shared expression, computed below the node
    let mut defs: Vec<(Expr, Column)> = vec![];
    let mut by_key: HashMap<String, Column> = HashMap::new();
    for e in shared {
        let c = Column::new(
            format!("__common_{}", defs.len()),
            e.data_type(),
            e.nullable(),
        );
        by_key.insert(e.to_string(), c.clone());
        defs.push((e, c));
    }
    let mut replace = |e: Expr| replace_shared(e, &by_key);
    let plan = plan.map_exprs(&mut replace);
    Ok(match plan {
        LogicalPlan::Project { input, exprs } => LogicalPlan::Project {
            input: Box::new(below(*input, defs)),
            exprs,
        },
        LogicalPlan::Aggregate { input, group, aggs } => LogicalPlan::Aggregate {
            input: Box::new(below(*input, defs)),
            group,
            aggs,
        },
        other => other,
    })
}

/// `input`'s columns plus the shared expressions.
fn below(input: LogicalPlan, defs: Vec<(Expr, Column)>) -> LogicalPlan {
    let mut exprs: Vec<(Expr, Column)> = input
        .schema()
        .into_iter()
        .map(|c| (Expr::Column(c.clone()), c))
        .collect();
    exprs.extend(defs);
    LogicalPlan::Project {
        input: Box::new(input),
        exprs,
    }
}

fn shareable(e: &Expr) -> bool {
    !matches!(e, Expr::Column(_) | Expr::Literal(_))
        && !e.column_ids().is_empty()
        && e.is_deterministic()
        && !e.has_subquery()
}

/// The largest expressions that occur at least twice among the node's expressions, in
/// order of first occurrence.
fn shared_subexpressions(plan: &LogicalPlan) -> Vec<Expr> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for e in plan.exprs() {
        e.visit(&mut |x| {
            if shareable(x) {
                *counts.entry(x.to_string()).or_default() += 1;
            }
        });
    }
    // top-down: take a repeated expression and do not look inside it
    fn take(e: &Expr, counts: &HashMap<String, usize>, out: &mut Vec<Expr>) {
        if shareable(e) {
            let k = e.to_string();
            if counts.get(&k).copied().unwrap_or(0) >= 2 {
                if !out.iter().any(|o| o.to_string() == k) {
                    out.push(e.clone());
                }
                return;
            }
        }
        // what try() evaluates must stay inside it (computed before, its errors escape);
        // a lambda's body runs per array element, over its parameters
        if matches!(
            e,
            Expr::Function {
                func: crate::functions::scalar::ScalarFunc::Try,
                ..
            } | Expr::Lambda { .. }
        ) {
            return;
        }
        for c in e.children() {
            take(c, counts, out);
        }
    }
    let mut out = vec![];
    for e in plan.exprs() {
        take(e, &counts, &mut out);
    }
    out
}

/// `e` with each shared expression replaced by its column (top-down, so the largest
/// match wins).
fn replace_shared(e: Expr, by_key: &HashMap<String, Column>) -> Expr {
    if let Some(c) = by_key.get(&e.to_string()) {
        return Expr::Column(c.clone());
    }
    match e {
        Expr::Column(_) | Expr::Literal(_) | Expr::Subquery { .. } => e,
        other => other.map_children(&mut |c| replace_shared(c, by_key)),
    }
}
