//! `WITH RECURSIVE`: [`RecursiveCteExec`] runs the anchor, then the recursive term
//! round after round over the rows the previous round added, which its
//! [`WorkTableExec`] leaves read from the query's [`ExecContext`], until a round adds
//! none (as PostgreSQL, DuckDB and Spark 4 evaluate it). With UNION (not UNION ALL) a
//! row seen before is not added again, so a cycle ends.
//!
//! Each round after the first plans the recursive term anew, so operators that keep
//! state (a hash join's build side, a shared aggregate) never carry one round's rows
//! into the next. Memory: the whole result, plus one round's rows twice.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};

use super::{collect, ExecContext, ExecutionPlan, Metrics};
use crate::error::{QuarryError, Result};
use crate::plan::{ColumnId, LogicalPlan};

/// The most rounds a recursive CTE may run before it is taken for an endless one.
pub const MAX_ROUNDS: usize = 10_000;

/// Reads the rows the previous round of recursive CTE `id` added.
pub struct WorkTableExec {
    id: usize,
    ids: Vec<ColumnId>,
    schema: SchemaRef,
    metrics: Metrics,
}

impl WorkTableExec {
    pub fn new(id: usize, ids: Vec<ColumnId>, schema: SchemaRef) -> Self {
        WorkTableExec {
            id,
            ids,
            schema,
            metrics: Metrics::default(),
        }
    }
}

impl ExecutionPlan for WorkTableExec {
    fn describe(&self) -> String {
        format!("WorkTableExec {}", self.id)
    }
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
    fn ids(&self) -> &[ColumnId] {
        &self.ids
    }
    fn partitions(&self) -> usize {
        1
    }
    fn execute(&self, _p: usize, ctx: &ExecContext) -> Result<Vec<RecordBatch>> {
        self.metrics.record(|| {
            let rows = ctx
                .worktables
                .lock()
                .map_err(|_| QuarryError::Execution("a query thread panicked".into()))?
                .get(&self.id)
                .cloned()
                .ok_or_else(|| {
                    QuarryError::Internal(format!("work table {} read outside its CTE", self.id))
                })?;
            // the same columns under this leaf's names
            rows.iter()
                .map(|b| {
                    Ok(RecordBatch::try_new(
                        self.schema.clone(),
                        b.columns().to_vec(),
                    )?)
                })
                .collect()
        })
    }
    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![]
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// The rounds of a recursive CTE (see the module docs).
pub struct RecursiveCteExec {
    anchor: Arc<dyn ExecutionPlan>,
    /// The recursive term as planned for the first round (what EXPLAIN shows).
    first: Arc<dyn ExecutionPlan>,
    /// The recursive term, planned again for each later round.
    recursive: LogicalPlan,
    disabled_rules: Vec<String>,
    worktable: usize,
    distinct: bool,
    /// Stop once this many rows are out (a LIMIT above).
    fetch: Option<usize>,
    ids: Vec<ColumnId>,
    schema: SchemaRef,
    metrics: Metrics,
}

impl RecursiveCteExec {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        anchor: Arc<dyn ExecutionPlan>,
        first: Arc<dyn ExecutionPlan>,
        recursive: LogicalPlan,
        disabled_rules: Vec<String>,
        worktable: usize,
        distinct: bool,
        fetch: Option<usize>,
        ids: Vec<ColumnId>,
        schema: SchemaRef,
    ) -> Self {
        RecursiveCteExec {
            anchor,
            first,
            recursive,
            disabled_rules,
            worktable,
            distinct,
            fetch,
            ids,
            schema,
            metrics: Metrics::default(),
        }
    }

    /// `batches` as this node's schema (same columns, the CTE's names).
    fn conform(&self, batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>> {
        batches
            .into_iter()
            .filter(|b| b.num_rows() > 0)
            .map(|b| {
                let cols = b
                    .columns()
                    .iter()
                    .zip(self.schema.fields())
                    .map(|(c, f)| super::eval::cast_array(c, f.data_type()))
                    .collect::<Result<Vec<_>>>()?;
                Ok(RecordBatch::try_new(self.schema.clone(), cols)?)
            })
            .collect()
    }

    fn run(&self, ctx: &ExecContext) -> Result<Vec<RecordBatch>> {
        let fields: Vec<SortField> = self
            .schema
            .fields()
            .iter()
            .map(|f| SortField::new(f.data_type().clone()))
            .collect();
        let conv = RowConverter::new(fields)?;
        let mut seen: HashSet<Box<[u8]>> = HashSet::new();
        // UNION: keep the rows of `batches` not seen before (nor earlier in `batches`)
        let mut keep_new = |batches: Vec<RecordBatch>| -> Result<Vec<RecordBatch>> {
            if !self.distinct {
                return Ok(batches);
            }
            let mut out = vec![];
            for b in batches {
                let rows = conv.convert_columns(b.columns())?;
                let mask: arrow::array::BooleanArray = (0..b.num_rows())
                    .map(|i| Some(seen.insert(rows.row(i).as_ref().into())))
                    .collect();
                let f = arrow::compute::filter_record_batch(&b, &mask)?;
                if f.num_rows() > 0 {
                    out.push(f);
                }
            }
            Ok(out)
        };
        let mut working = keep_new(self.conform(collect(&self.anchor, ctx)?)?)?;
        let mut out = working.clone();
        let mut round = 0;
        let enough = |out: &[RecordBatch]| {
            self.fetch
                .is_some_and(|n| out.iter().map(|b| b.num_rows()).sum::<usize>() >= n)
        };
        while working.iter().any(|b| b.num_rows() > 0) && !enough(&out) {
            round += 1;
            if round > MAX_ROUNDS {
                return Err(QuarryError::Execution(format!(
                    "[RECURSION_LEVEL_LIMIT_EXCEEDED] the recursive CTE ran {MAX_ROUNDS} rounds and still adds rows; check its stop condition (or use UNION to drop repeated rows)"
                )));
            }
            ctx.check_cancel()?;
            ctx.worktables
                .lock()
                .map_err(|_| QuarryError::Execution("a query thread panicked".into()))?
                .insert(self.worktable, Arc::new(working));
            let plan = if round == 1 {
                self.first.clone()
            } else {
                super::planner::PhysicalPlanner::new(ctx, &self.disabled_rules)
                    .create(&self.recursive)?
            };
            working = keep_new(self.conform(collect(&plan, ctx)?)?)?;
            out.extend(working.iter().cloned());
        }
        if let Ok(mut w) = ctx.worktables.lock() {
            w.remove(&self.worktable);
        }
        if let Ok(mut extra) = self.metrics.extra.lock() {
            extra.push(format!("rounds: {round}"));
        }
        Ok(out)
    }
}

impl ExecutionPlan for RecursiveCteExec {
    fn describe(&self) -> String {
        format!(
            "RecursiveCteExec worktable={} {}{}",
            self.worktable,
            if self.distinct { "UNION" } else { "UNION ALL" },
            self.fetch
                .map(|n| format!(" fetch={n}"))
                .unwrap_or_default()
        )
    }
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
    fn ids(&self) -> &[ColumnId] {
        &self.ids
    }
    fn partitions(&self) -> usize {
        1
    }
    fn execute(&self, _p: usize, ctx: &ExecContext) -> Result<Vec<RecordBatch>> {
        self.metrics.record(|| self.run(ctx))
    }
    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![self.anchor.clone(), self.first.clone()]
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
    /// Only the anchor: the recursive term is prepared each round, once its work table
    /// holds the round's rows.
    fn prepare(&self, ctx: &ExecContext) -> Result<()> {
        self.anchor.prepare(ctx)
    }
}
