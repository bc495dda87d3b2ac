//! Reuse of identical subplans within one query, as Spark's ReuseExchange and
//! ReuseSubquery: an aggregate that a query computes twice (a CTE referenced twice, or
//! once in the query and once in an uncorrelated subquery, as TPC-H Q15's `revenue0`)
//! runs once, and every place that needs it reads the one result.
//!
//! Two subplans are the same when they are equal once their column ids are renumbered in
//! order of appearance ([`canonical_key`]): the binder gives each reference to a CTE fresh
//! ids, so only the ids tell the copies apart. The optimizer rewrites each copy on its
//! own; when it treats them differently (a filter pushed into one of them), the keys
//! differ and each copy runs by itself. Subplans with nondeterministic functions
//! (`rand()`) are not shared (two subqueries written alike draw their own values), but
//! for the references to one CTE: the binder gives each `rand` call site in a CTE body
//! one stream id ([`crate::binder::Binder`]), so those copies compare equal and share
//! one result, as Spark, which does not inline a nondeterministic CTE.
//!
//! The planner wraps the first copy in a [`ReusedExec`] that owns it and the later
//! copies in ones that point to it; [`materialize`] runs each shared subplan once,
//! before the query that reads it (so no operator waits on another thread's result).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::{execute_all, ExecContext, ExecutionPlan, Metrics};
use crate::error::Result;
use crate::functions::math::MathFunc;
use crate::functions::scalar::ScalarFunc;
use crate::plan::{ColumnId, Expr, LogicalPlan};

/// The name that turns sharing off in `quarry.optimizer.disabled_rules` (it is a
/// physical planning step, run after the optimizer's rules).
pub const RULE_NAME: &str = "reuse_subplans";

/// Renumbered ids start here, far above any id the binder hands out, so a renumbered
/// id can never be mistaken for an original one.
const RENUMBERED_BASE: ColumnId = ColumnId::MAX / 2;

/// Largest result (bytes of arrow buffers) kept from a subquery for a later reuse.
pub const MAX_KEPT_BYTES: usize = 64 << 20;

/// A key that is equal for two subplans exactly when they compute the same rows in the
/// same column order: the plan's `Debug` text with every column id renumbered by first
/// appearance. `None` for plans that must not be shared: nondeterministic functions, or
/// subqueries and value sets (which compare by identity).
pub fn canonical_key(plan: &LogicalPlan) -> Option<String> {
    if !shareable(plan) {
        return None;
    }
    let mut ids: HashMap<ColumnId, ColumnId> = HashMap::new();
    let renumbered = renumber(plan.clone(), &mut ids).ok()?;
    Some(format!("{renumbered:?}"))
}

/// Whether the node's own expressions call `rand` with a stream id (a seeded call, or
/// any call in a CTE body): copies of such a node with the same stream id are
/// references to one CTE, which must read one result of it (a seeded call's copies
/// would otherwise draw from one stream in turn and disagree).
pub fn draws_cte_random(plan: &LogicalPlan) -> bool {
    exprs_draw_cte_random(plan.exprs())
}

/// [`draws_cte_random`] of a node's expressions.
pub fn exprs_draw_cte_random<'a>(exprs: impl IntoIterator<Item = &'a Expr>) -> bool {
    let mut found = false;
    for e in exprs {
        e.visit(&mut |x| {
            if let Expr::Function {
                func: ScalarFunc::Math(MathFunc::Rand { .. }),
                args,
                ..
            } = x
            {
                found |= args.len() >= 2;
            }
        });
    }
    found
}

fn shareable(plan: &LogicalPlan) -> bool {
    let mut ok = true;
    // a recursive CTE's round reads rows that change from round to round
    if matches!(plan, LogicalPlan::WorkTable { .. }) {
        return false;
    }
    for e in plan.exprs() {
        e.visit(&mut |x| {
            match x {
                Expr::Subquery { .. } | Expr::InSet { .. } => ok = false,
                // a rand() with a stream id is one call site of the SQL text: two
                // subplans with it are references to one CTE, which share its values
                Expr::Function {
                    func: ScalarFunc::Math(MathFunc::Rand { .. }),
                    args,
                    ..
                } if args.len() >= 2 => {}
                Expr::Function { func, .. } if !func.is_deterministic() => ok = false,
                _ => {}
            }
        });
    }
    ok && plan.inputs().into_iter().all(shareable)
}

fn renumber(plan: LogicalPlan, ids: &mut HashMap<ColumnId, ColumnId>) -> Result<LogicalPlan> {
    let plan = plan.map_inputs(&mut |p| renumber(p, ids))?;
    let mut id = |old: ColumnId| {
        let next = RENUMBERED_BASE + ids.len();
        *ids.entry(old).or_insert(next)
    };
    let plan = plan.map_defined_columns(&mut |mut c| {
        c.id = id(c.id);
        c
    });
    Ok(plan.map_exprs(&mut |e| {
        e.transform(&mut |x| match x {
            Expr::Column(mut c) => {
                c.id = id(c.id);
                Expr::Column(c)
            }
            other => other,
        })
    }))
}

/// A subplan computed once per query, and its result by output partition once
/// [`materialize`] ran it.
pub struct SharedResult {
    plan: Arc<dyn ExecutionPlan>,
    result: OnceLock<Vec<Vec<RecordBatch>>>,
}

impl SharedResult {
    pub fn new(plan: Arc<dyn ExecutionPlan>) -> SharedResult {
        SharedResult {
            plan,
            result: OnceLock::new(),
        }
    }

    /// Bytes held by the result (0 before it is computed).
    pub fn memory_size(&self) -> usize {
        self.result.get().map_or(0, |parts| {
            parts
                .iter()
                .flatten()
                .map(|b| b.get_array_memory_size())
                .sum()
        })
    }
}

/// Reads a [`SharedResult`]: the copy planned first owns the subplan (shown below it by
/// EXPLAIN), later copies only read. Output columns are this copy's ids, in the shared
/// plan's column order (the same order, as the plans are equal).
pub struct ReusedExec {
    shared: Arc<SharedResult>,
    owner: bool,
    ids: Vec<ColumnId>,
    metrics: Metrics,
}

impl ReusedExec {
    pub fn new(shared: Arc<SharedResult>, owner: bool, ids: Vec<ColumnId>) -> ReusedExec {
        ReusedExec {
            shared,
            owner,
            ids,
            metrics: Metrics::default(),
        }
    }
}

impl ExecutionPlan for ReusedExec {
    fn describe(&self) -> String {
        if self.owner {
            "ReusedExec (computed once for the query, read by each copy)".into()
        } else {
            format!(
                "ReusedExec (computed once for the query): {}",
                self.shared.plan.describe()
            )
        }
    }
    fn schema(&self) -> SchemaRef {
        self.shared.plan.schema()
    }
    fn ids(&self) -> &[ColumnId] {
        &self.ids
    }
    fn partitions(&self) -> usize {
        self.shared.plan.partitions()
    }
    fn execute(&self, partition: usize, ctx: &ExecContext) -> Result<Vec<RecordBatch>> {
        self.metrics.record(|| match self.shared.result.get() {
            Some(parts) => Ok(parts.get(partition).cloned().unwrap_or_default()),
            // not materialized (a caller that did not go through `collect`): compute
            // this partition here, unshared
            None => self.shared.plan.execute(partition, ctx),
        })
    }
    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        if self.owner {
            vec![self.shared.plan.clone()]
        } else {
            vec![]
        }
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
    fn shared(&self) -> Option<&Arc<SharedResult>> {
        Some(&self.shared)
    }
}

/// Compute every shared subplan under `plan` that has no result yet, innermost first,
/// each on all threads. Called before a query runs, from the calling thread.
pub fn materialize(plan: &Arc<dyn ExecutionPlan>, ctx: &ExecContext) -> Result<()> {
    for c in plan.children() {
        materialize(&c, ctx)?;
    }
    if let Some(shared) = plan.shared() {
        if shared.result.get().is_none() {
            materialize(&shared.plan, ctx)?;
            let parts = execute_all(&shared.plan, ctx)?;
            let _ = shared.result.set(parts);
        }
    }
    Ok(())
}
