//! Limit pushdown: a LIMIT moves below row-by-row projections, two LIMITs merge into
//! one, and a copy of `skip + fetch` goes into each branch of a UNION ALL and into the
//! preserved side of an outer join (each of its rows yields at least one output row), so
//! those inputs stop early; a recursive CTE stops its rounds once it has the rows. As
//! Spark's `LimitPushDown` and `CombineLimits`.

use super::OptimizerRule;
use crate::error::Result;
use crate::plan::{JoinType, LogicalPlan};

pub struct LimitPushdown;

impl OptimizerRule for LimitPushdown {
    fn name(&self) -> &'static str {
        "limit_pushdown"
    }
    fn rewrite(&self, plan: LogicalPlan, _: &super::OptimizerContext) -> Result<LogicalPlan> {
        push(plan)
    }
}

fn push(plan: LogicalPlan) -> Result<LogicalPlan> {
    let plan = match plan {
        LogicalPlan::Limit {
            input,
            skip,
            fetch: Some(fetch),
        } => limit(*input, skip, fetch),
        p => p,
    };
    plan.map_inputs(&mut push)
}

/// `LIMIT fetch OFFSET skip` over `input`, pushed as far as it goes.
fn limit(input: LogicalPlan, skip: usize, fetch: usize) -> LogicalPlan {
    let n = skip.saturating_add(fetch);
    let wrap = |input: LogicalPlan| LogicalPlan::Limit {
        input: Box::new(input),
        skip,
        fetch: Some(fetch),
    };
    match input {
        // rows [s2, s2 + f2) of x, then rows [skip, skip + fetch) of those
        LogicalPlan::Limit {
            input: inner,
            skip: s2,
            fetch: f2,
        } => {
            let fetch = match f2 {
                Some(f2) => fetch.min(f2.saturating_sub(skip)),
                None => fetch,
            };
            limit(*inner, s2.saturating_add(skip), fetch)
        }
        LogicalPlan::Project { input, exprs } => LogicalPlan::Project {
            input: Box::new(limit(*input, skip, fetch)),
            exprs,
        },
        // a recursive CTE stops its rounds once it has given n rows
        LogicalPlan::RecursiveCte {
            anchor,
            recursive,
            columns,
            worktable,
            distinct,
            fetch: f,
        } => wrap(LogicalPlan::RecursiveCte {
            anchor,
            recursive,
            columns,
            worktable,
            distinct,
            fetch: Some(f.map_or(n, |f| f.min(n))),
        }),
        LogicalPlan::Union { inputs, columns } => wrap(LogicalPlan::Union {
            inputs: inputs.into_iter().map(|i| at_most(i, n)).collect(),
            columns,
        }),
        LogicalPlan::Join {
            left,
            right,
            join_type: join_type @ (JoinType::Left | JoinType::Right),
            on,
            filter,
        } => {
            let (left, right) = if join_type == JoinType::Left {
                (Box::new(at_most(*left, n)), right)
            } else {
                (left, Box::new(at_most(*right, n)))
            };
            wrap(LogicalPlan::Join {
                left,
                right,
                join_type,
                on,
                filter,
            })
        }
        other => wrap(other),
    }
}

/// The first `n` rows of `plan` (unchanged when it already has at most `n`).
fn at_most(plan: LogicalPlan, n: usize) -> LogicalPlan {
    match plan {
        LogicalPlan::Limit {
            fetch: Some(f),
            ref skip,
            ..
        } if f <= n && *skip == 0 => plan,
        LogicalPlan::Values { ref rows, .. } if rows.len() <= n => plan,
        p => LogicalPlan::Limit {
            input: Box::new(p),
            skip: 0,
            fetch: Some(n),
        },
    }
}
