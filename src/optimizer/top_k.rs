//! Top-k: `ORDER BY ... LIMIT k [OFFSET s]` keeps only the first `k + s` rows while
//! sorting (the Sort node's `fetch`), so the sort holds k + s rows per thread instead of
//! its whole input. Runs after `limit_pushdown`, which brings the LIMIT down to the sort
//! through projections.

use super::OptimizerRule;
use crate::error::Result;
use crate::plan::LogicalPlan;

pub struct TopK;

impl OptimizerRule for TopK {
    fn name(&self) -> &'static str {
        "top_k"
    }
    fn rewrite(&self, plan: LogicalPlan, _: &super::OptimizerContext) -> Result<LogicalPlan> {
        rewrite(plan)
    }
}

fn rewrite(plan: LogicalPlan) -> Result<LogicalPlan> {
    let plan = match plan {
        LogicalPlan::Limit {
            input,
            skip,
            fetch: Some(f),
        } => match *input {
            LogicalPlan::Sort {
                input: si,
                keys,
                fetch,
            } => {
                let k = skip.saturating_add(f);
                LogicalPlan::Limit {
                    input: Box::new(LogicalPlan::Sort {
                        input: si,
                        keys,
                        fetch: Some(fetch.map_or(k, |x| x.min(k))),
                    }),
                    skip,
                    fetch: Some(f),
                }
            }
            other => LogicalPlan::Limit {
                input: Box::new(other),
                skip,
                fetch: Some(f),
            },
        },
        p => p,
    };
    plan.map_inputs(&mut rewrite)
}
