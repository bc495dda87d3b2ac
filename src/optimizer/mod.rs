//! The optimizer: an ordered list of named rules (see [`rules`] for the order and why),
//! each disable-able by name with
//! `SET quarry.optimizer.disabled_rules = 'rule_a,rule_b'` (to bisect a wrong result),
//! and `EXPLAIN VERBOSE` prints the plan after each. Rules that need estimates
//! (`join_reorder`) get them from [`stats`], over leaf statistics that the session's
//! [`stats::StatisticsProvider`] supplies (parquet footers, `ANALYZE TABLE`).

mod common_subexpressions;
pub mod constant_folding;
mod join_reorder;
mod limit_pushdown;
mod predicate_pushdown;
mod projection_pruning;
mod semi_join_reduction;
pub mod stats;
mod subquery_to_window;
mod top_k;
mod transitive_predicates;

use crate::error::Result;
use crate::plan::LogicalPlan;

/// What rules may consult besides the plan.
pub struct OptimizerContext<'a> {
    /// Leaf statistics for cardinality estimates.
    pub statistics: &'a dyn stats::StatisticsProvider,
}

/// A rewrite of a logical plan that keeps its results.
pub trait OptimizerRule {
    /// The name used in `quarry.optimizer.disabled_rules` and EXPLAIN VERBOSE.
    fn name(&self) -> &'static str;
    fn rewrite(&self, plan: LogicalPlan, ctx: &OptimizerContext) -> Result<LogicalPlan>;
}

/// The rules in the order they run.
pub fn rules() -> Vec<Box<dyn OptimizerRule>> {
    // constants are folded first, so that the rules after see literals (partition
    // filters, always-true conditions). Transitive predicates are added while the
    // conditions still sit above the joins, then pushdown runs, also before join_reorder,
    // so that conditions written above an outer join (as decorrelated subqueries leave
    // them) reach the inner-join tree that join_reorder flattens, and the scans carry
    // their filters when join_reorder estimates them. semi_join_reduction needs the
    // scans' filters in place (it copies a filtered scan). Limits go down before top-k takes
    // a LIMIT over a sort; common subexpressions are hoisted into a projection whose
    // unused pass-through columns projection pruning then drops.
    vec![
        Box::new(subquery_to_window::SubqueryToWindow),
        Box::new(constant_folding::ConstantFolding),
        Box::new(transitive_predicates::TransitivePredicates),
        Box::new(predicate_pushdown::PredicatePushdown),
        Box::new(join_reorder::JoinReorder),
        Box::new(predicate_pushdown::PredicatePushdown),
        Box::new(semi_join_reduction::SemiJoinReduction),
        Box::new(limit_pushdown::LimitPushdown),
        Box::new(top_k::TopK),
        Box::new(common_subexpressions::CommonSubexpressions),
        Box::new(projection_pruning::ProjectionPruning),
    ]
}

/// Run every enabled rule once, in order. `trace` receives (rule, plan after it).
pub fn optimize(
    plan: LogicalPlan,
    disabled: &[String],
    ctx: &OptimizerContext,
    trace: &mut dyn FnMut(&str, &LogicalPlan),
) -> Result<LogicalPlan> {
    let mut plan = plan;
    for r in rules() {
        if disabled.iter().any(|d| d.eq_ignore_ascii_case(r.name())) {
            continue;
        }
        plan = r.rewrite(plan, ctx)?;
        trace(r.name(), &plan);
    }
    Ok(plan)
}

/// Union-find over column ids (equivalence classes of `a = b` join keys): the root of
/// `x`'s class in `parent` (a missing entry is its own root), compressing the path.
pub(crate) fn class_root(
    parent: &mut std::collections::HashMap<crate::plan::ColumnId, crate::plan::ColumnId>,
    x: crate::plan::ColumnId,
) -> crate::plan::ColumnId {
    let up = *parent.entry(x).or_insert(x);
    if up == x {
        return x;
    }
    let root = class_root(parent, up);
    parent.insert(x, root);
    root
}
