//! Projection pruning: computes which columns each node's parent needs and drops the
//! rest, so scans decode only the columns a query uses (plus those their filters need).

use crate::catalog::FileFormat;
use std::collections::HashSet;

use super::OptimizerRule;
use crate::error::Result;
use crate::plan::{Column, ColumnId, Expr, LogicalPlan};

pub struct ProjectionPruning;

impl OptimizerRule for ProjectionPruning {
    fn name(&self) -> &'static str {
        "projection_pruning"
    }
    fn rewrite(&self, plan: LogicalPlan, _: &super::OptimizerContext) -> Result<LogicalPlan> {
        let required: HashSet<ColumnId> = plan.schema().iter().map(|c| c.id).collect();
        Ok(prune(plan, &required, true))
    }
}

fn all_ids(p: &LogicalPlan) -> HashSet<ColumnId> {
    p.schema().iter().map(|c| c.id).collect()
}

fn prune(plan: LogicalPlan, required: &HashSet<ColumnId>, top: bool) -> LogicalPlan {
    match plan {
        LogicalPlan::Scan {
            source,
            columns,
            projection,
            filters,
        } => {
            let mut need: HashSet<ColumnId> = required.clone();
            for f in &filters {
                need.extend(f.column_ids());
            }
            let mut keep: Vec<usize> = (0..columns.len())
                .filter(|i| need.contains(&columns[*i].id))
                .collect();
            // nothing read (`count(*)`): a parquet scan reads no column, its row counts
            // come from the footers; a text file is read for its rows, by one column
            if keep.is_empty() && !columns.is_empty() && source.format != FileFormat::Parquet {
                keep.push(0);
            }
            let columns2: Vec<Column> = keep.iter().map(|&i| columns[i].clone()).collect();
            let projection2 = keep.iter().map(|&i| projection[i]).collect();
            // columns only the scan's filters read stop at the scan: a join above it
            // would otherwise copy them into its build side (TPC-H Q13's o_comment)
            let output: Vec<Column> = columns2
                .iter()
                .filter(|c| required.contains(&c.id))
                .cloned()
                .collect();
            let trim = !top && !output.is_empty() && output.len() < columns2.len();
            let scan = LogicalPlan::Scan {
                source,
                columns: columns2,
                projection: projection2,
                filters,
            };
            if trim {
                LogicalPlan::Project {
                    input: Box::new(scan),
                    exprs: output
                        .into_iter()
                        .map(|c| (Expr::Column(c.clone()), c))
                        .collect(),
                }
            } else {
                scan
            }
        }
        LogicalPlan::Project { input, exprs } => {
            // a projection that draws a CTE's random values keeps all its columns, so
            // every reference to the CTE stays one plan and reads one result of it
            // (`reuse`); pruned apart, a copy run by a subquery would draw the stream first
            let keep_all =
                crate::physical::reuse::exprs_draw_cte_random(exprs.iter().map(|(e, _)| e));
            let exprs: Vec<_> = if top || keep_all {
                exprs
            } else {
                exprs
                    .into_iter()
                    .filter(|(_, c)| required.contains(&c.id))
                    .collect()
            };
            let mut need = HashSet::new();
            for (e, _) in &exprs {
                need.extend(e.column_ids());
            }
            LogicalPlan::Project {
                input: Box::new(prune(*input, &need, false)),
                exprs,
            }
        }
        LogicalPlan::Filter { input, predicate } => {
            let mut need = required.clone();
            need.extend(predicate.column_ids());
            LogicalPlan::Filter {
                input: Box::new(prune(*input, &need, false)),
                predicate,
            }
        }
        LogicalPlan::Aggregate { input, group, aggs } => {
            let mut need = HashSet::new();
            for (e, _) in &group {
                need.extend(e.column_ids());
            }
            for (a, _) in &aggs {
                for e in &a.args {
                    need.extend(e.column_ids());
                }
            }
            LogicalPlan::Aggregate {
                input: Box::new(prune(*input, &need, false)),
                group,
                aggs,
            }
        }
        LogicalPlan::Join {
            left,
            right,
            join_type,
            on,
            filter,
        } => {
            let mut need = required.clone();
            for (l, r) in &on {
                need.extend(l.column_ids());
                need.extend(r.column_ids());
            }
            if let Some(f) = &filter {
                need.extend(f.column_ids());
            }
            let (l_ids, r_ids) = (all_ids(&left), all_ids(&right));
            let ln: HashSet<ColumnId> =
                need.iter().copied().filter(|i| l_ids.contains(i)).collect();
            let rn: HashSet<ColumnId> =
                need.iter().copied().filter(|i| r_ids.contains(i)).collect();
            LogicalPlan::Join {
                left: Box::new(prune(*left, &ln, false)),
                right: Box::new(prune(*right, &rn, false)),
                join_type,
                on,
                filter,
            }
        }
        LogicalPlan::Sort { input, keys, fetch } => {
            let mut need = required.clone();
            for k in &keys {
                need.extend(k.expr.column_ids());
            }
            LogicalPlan::Sort {
                input: Box::new(prune(*input, &need, false)),
                keys,
                fetch,
            }
        }
        LogicalPlan::Limit { input, skip, fetch } => LogicalPlan::Limit {
            input: Box::new(prune(*input, required, false)),
            skip,
            fetch,
        },
        LogicalPlan::Union { inputs, columns } => {
            let inputs = inputs
                .into_iter()
                .map(|i| {
                    let all = all_ids(&i);
                    prune(i, &all, true)
                })
                .collect();
            LogicalPlan::Union { inputs, columns }
        }
        // every column of both terms feeds the next round
        LogicalPlan::RecursiveCte {
            anchor,
            recursive,
            columns,
            worktable,
            distinct,
            fetch,
        } => {
            let (aa, ra) = (all_ids(&anchor), all_ids(&recursive));
            LogicalPlan::RecursiveCte {
                anchor: Box::new(prune(*anchor, &aa, true)),
                recursive: Box::new(prune(*recursive, &ra, true)),
                columns,
                worktable,
                distinct,
                fetch,
            }
        }
        LogicalPlan::SetOp { left, right, kind } => {
            let (la, ra) = (all_ids(&left), all_ids(&right));
            LogicalPlan::SetOp {
                left: Box::new(prune(*left, &la, true)),
                right: Box::new(prune(*right, &ra, true)),
                kind,
            }
        }
        LogicalPlan::Window { input, windows } => {
            let windows: Vec<_> = if top {
                windows
            } else {
                windows
                    .into_iter()
                    .filter(|(_, c)| required.contains(&c.id))
                    .collect()
            };
            if windows.is_empty() {
                return prune(*input, required, top);
            }
            let mut need = required.clone();
            for (w, _) in &windows {
                need.extend(w.column_ids());
            }
            LogicalPlan::Window {
                input: Box::new(prune(*input, &need, false)),
                windows,
            }
        }
        LogicalPlan::Generate {
            input,
            kind,
            outer,
            arg,
            columns,
        } => {
            // the generator stays (it sets the row count); its input keeps what is needed
            // above and what the generated value is computed from
            let mut need = required.clone();
            need.extend(arg.column_ids());
            LogicalPlan::Generate {
                input: Box::new(prune(*input, &need, false)),
                kind,
                outer,
                arg,
                columns,
            }
        }
        LogicalPlan::Expand {
            input,
            projections,
            columns,
        } => {
            let mut need = required.clone();
            for e in projections.iter().flatten() {
                need.extend(e.column_ids());
            }
            LogicalPlan::Expand {
                input: Box::new(prune(*input, &need, false)),
                projections,
                columns,
            }
        }
        v @ (LogicalPlan::Values { .. }
        | LogicalPlan::Range { .. }
        | LogicalPlan::WorkTable { .. }) => v,
    }
}
