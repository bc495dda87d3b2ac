//! The optimizer: an ordered list of named rules, each disable-able by name with
//! `SET quarry.optimizer.disabled_rules = 'rule_a,rule_b'` (to bisect a wrong result).
//! Join order is chosen by connectivity only (`join_reorder`); the cost-based part
//! (statistics, build side) comes later: the hash join builds on its right input.

mod join_reorder;
mod predicate_pushdown;
mod projection_pruning;

use crate::error::Result;
use crate::plan::LogicalPlan;

/// A rewrite of a logical plan that keeps its results.
pub trait OptimizerRule {
    /// The name used in `quarry.optimizer.disabled_rules` and EXPLAIN VERBOSE.
    fn name(&self) -> &'static str;
    fn rewrite(&self, plan: LogicalPlan) -> Result<LogicalPlan>;
}

/// The rules in the order they run.
pub fn rules() -> Vec<Box<dyn OptimizerRule>> {
    // pushdown runs first too, so that conditions written above an outer join (as
    // decorrelated subqueries leave them) reach the inner-join tree that join_reorder
    // flattens
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
    trace: &mut dyn FnMut(&str, &LogicalPlan),
) -> Result<LogicalPlan> {
    let mut plan = plan;
    for r in rules() {
        if disabled.iter().any(|d| d.eq_ignore_ascii_case(r.name())) {
            continue;
        }
        plan = r.rewrite(plan)?;
        trace(r.name(), &plan);
    }
    Ok(plan)
}
