//! The optimizer: an ordered list of named rules, each disable-able by name with
//! `SET quarry.optimizer.disabled_rules = 'rule_a,rule_b'` (to bisect a wrong result),
//! and `EXPLAIN VERBOSE` prints the plan after each. Rules that need estimates
//! (`join_reorder`) get them from [`stats`], over leaf statistics that the session's
//! [`stats::StatisticsProvider`] supplies (parquet footers, `ANALYZE TABLE`).

mod join_reorder;
mod predicate_pushdown;
mod projection_pruning;
pub mod stats;

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
    // pushdown runs first too, so that conditions written above an outer join (as
    // decorrelated subqueries leave them) reach the inner-join tree that join_reorder
    // flattens, and the scans carry their filters when join_reorder estimates them
    vec![
        Box::new(predicate_pushdown::PredicatePushdown),
        Box::new(join_reorder::JoinReorder),
        Box::new(predicate_pushdown::PredicatePushdown),
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
