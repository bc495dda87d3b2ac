//! Pipelined operators (filter, project, union, values) and the ordering breakers
//! (sort with optional top-k fetch, limit).

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::compute::{
    concat_batches, filter_record_batch, lexsort_to_indices, take, SortColumn, SortOptions,
};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use super::eval::{evaluate, evaluate_predicate, layout_of, Layout};
use super::{
    collect_batches, execute_all, execute_each, make_batch, make_batch_as, ExecContext,
    ExecutionPlan, Metrics,
};
use crate::error::Result;
use crate::plan::{ColumnId, Expr};

/// Keeps rows where the predicate is true. Runs on its input's partitions.
pub struct FilterExec {
    pub input: Arc<dyn ExecutionPlan>,
    pub predicate: Expr,
    layout: Layout,
    metrics: Metrics,
}

impl FilterExec {
    pub fn new(input: Arc<dyn ExecutionPlan>, predicate: Expr) -> Self {
        let layout = layout_of(input.ids());
        FilterExec {
            input,
            predicate,
            layout,
            metrics: Metrics::default(),
        }
    }

    /// The rows of `b` the predicate keeps.
    fn filter(&self, b: &RecordBatch) -> Result<RecordBatch> {
        let m = evaluate_predicate(&self.predicate, b, &self.layout)?;
        Ok(filter_record_batch(b, &m)?)
    }
}

impl ExecutionPlan for FilterExec {
    fn describe(&self) -> String {
        format!("FilterExec {}", self.predicate)
    }
    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }
    fn ids(&self) -> &[ColumnId] {
        self.input.ids()
    }
    fn partitions(&self) -> usize {
        self.input.partitions()
    }
    fn execute(&self, p: usize, ctx: &ExecContext) -> Result<Vec<RecordBatch>> {
        collect_batches(|sink| self.execute_into(p, ctx, sink))
    }
    fn execute_into(
        &self,
        p: usize,
        ctx: &ExecContext,
        sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        self.input.execute_into(p, ctx, &mut |b| {
            let f = self.metrics.record_batch(|| self.filter(&b))?;
            if f.num_rows() > 0 {
                sink(f)?;
            }
            Ok(())
        })
    }
    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![self.input.clone()]
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// Computes expressions. Runs on its input's partitions.
pub struct ProjectExec {
    pub input: Arc<dyn ExecutionPlan>,
    exprs: Vec<Expr>,
    ids: Vec<ColumnId>,
    schema: SchemaRef,
    layout: Layout,
    metrics: Metrics,
}

impl ProjectExec {
    pub fn new(
        input: Arc<dyn ExecutionPlan>,
        exprs: Vec<Expr>,
        ids: Vec<ColumnId>,
        schema: SchemaRef,
    ) -> Self {
        let layout = layout_of(input.ids());
        ProjectExec {
            input,
            exprs,
            ids,
            schema,
            layout,
            metrics: Metrics::default(),
        }
    }

    /// The expressions over `b`.
    fn project(&self, b: &RecordBatch) -> Result<RecordBatch> {
        let cols: Vec<ArrayRef> = self
            .exprs
            .iter()
            .map(|e| evaluate(e, b, &self.layout))
            .collect::<Result<_>>()?;
        make_batch_as(self.schema.clone(), cols, b.num_rows())
    }
}

impl ExecutionPlan for ProjectExec {
    fn describe(&self) -> String {
        let items: Vec<String> = self
            .exprs
            .iter()
            .zip(self.schema.fields())
            .map(|(e, f)| format!("{e} AS {}", f.name()))
            .collect();
        format!("ProjectExec [{}]", items.join(", "))
    }
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
    fn ids(&self) -> &[ColumnId] {
        &self.ids
    }
    fn partitions(&self) -> usize {
        self.input.partitions()
    }
    fn execute(&self, p: usize, ctx: &ExecContext) -> Result<Vec<RecordBatch>> {
        collect_batches(|sink| self.execute_into(p, ctx, sink))
    }
    fn execute_into(
        &self,
        p: usize,
        ctx: &ExecContext,
        sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        self.input.execute_into(p, ctx, &mut |b| {
            sink(self.metrics.record_batch(|| self.project(&b))?)
        })
    }
    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![self.input.clone()]
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// Expand (GROUPING SETS): every input row once per projection, as the input's columns
/// followed by the projection's values. Pipelined, like ProjectExec.
pub struct ExpandExec {
    pub input: Arc<dyn ExecutionPlan>,
    projections: Vec<Vec<Expr>>,
    ids: Vec<ColumnId>,
    schema: SchemaRef,
    layout: Layout,
    metrics: Metrics,
}

impl ExpandExec {
    pub fn new(
        input: Arc<dyn ExecutionPlan>,
        projections: Vec<Vec<Expr>>,
        ids: Vec<ColumnId>,
        schema: SchemaRef,
    ) -> Self {
        let layout = layout_of(input.ids());
        ExpandExec {
            input,
            projections,
            ids,
            schema,
            layout,
            metrics: Metrics::default(),
        }
    }
}

impl ExecutionPlan for ExpandExec {
    fn describe(&self) -> String {
        format!("ExpandExec sets={}", self.projections.len())
    }
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
    fn ids(&self) -> &[ColumnId] {
        &self.ids
    }
    fn partitions(&self) -> usize {
        self.input.partitions()
    }
    fn execute(&self, p: usize, ctx: &ExecContext) -> Result<Vec<RecordBatch>> {
        let input = self.input.execute(p, ctx)?;
        self.metrics.record(|| {
            let mut out = vec![];
            for b in &input {
                for row in &self.projections {
                    let mut cols: Vec<ArrayRef> = b.columns().to_vec();
                    for e in row {
                        let c = evaluate(e, b, &self.layout)?;
                        let f = self.schema.field(cols.len());
                        cols.push(if c.data_type() != f.data_type() {
                            super::eval::cast_array(&c, f.data_type())?
                        } else {
                            c
                        });
                    }
                    out.push(make_batch(self.schema.clone(), cols, b.num_rows())?);
                }
            }
            Ok(out)
        })
    }
    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![self.input.clone()]
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// One ORDER BY key for [`SortExec`] (the logical one: an expression over the input's
/// columns, direction and NULL order).
pub type PhysicalSortKey = crate::plan::SortKey;

/// Sorts all input rows (input partitions run in parallel, then one lexicographic sort);
/// with `fetch`, only the first rows are materialized (top-k).
pub struct SortExec {
    pub input: Arc<dyn ExecutionPlan>,
    keys: Vec<PhysicalSortKey>,
    fetch: Option<usize>,
    layout: Layout,
    metrics: Metrics,
}

impl SortExec {
    pub fn new(
        input: Arc<dyn ExecutionPlan>,
        keys: Vec<PhysicalSortKey>,
        fetch: Option<usize>,
    ) -> Self {
        let layout = layout_of(input.ids());
        SortExec {
            input,
            keys,
            fetch,
            layout,
            metrics: Metrics::default(),
        }
    }
}

/// Sort keys as EXPLAIN shows them: `expr ASC|DESC NULLS FIRST|LAST, ...`.
pub fn describe_sort_keys(keys: &[PhysicalSortKey]) -> String {
    keys.iter()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl ExecutionPlan for SortExec {
    fn describe(&self) -> String {
        let k = describe_sort_keys(&self.keys);
        match self.fetch {
            Some(n) => format!("SortExec (top-{n}) [{k}]"),
            None => format!("SortExec [{k}]"),
        }
    }
    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }
    fn ids(&self) -> &[ColumnId] {
        self.input.ids()
    }
    fn partitions(&self) -> usize {
        1
    }
    fn execute(&self, _p: usize, ctx: &ExecContext) -> Result<Vec<RecordBatch>> {
        let Some(k) = self.fetch else {
            let parts = execute_all(&self.input, ctx)?;
            return self.metrics.record(|| {
                let batches: Vec<RecordBatch> = parts.into_iter().flatten().collect();
                let all = concat_batches(&self.input.schema(), &batches)?;
                Ok(self.sorted(&all, None, ctx)?.into_iter().collect())
            });
        };
        // top-k: each input partition cut to its first k rows as it finishes, then those
        let parts = execute_each(&self.input, ctx, |batches| self.top_k(batches, k, ctx))?;
        self.metrics.record(|| {
            Ok(self
                .top_k(parts.into_iter().flatten().collect(), k, ctx)?
                .into_iter()
                .collect())
        })
    }
    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![self.input.clone()]
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// Input rows a top-k sort gathers before cutting them to its k rows (at least k).
const TOP_K_RUN_ROWS: usize = 1 << 16;

impl SortExec {
    /// The first `k` rows of `batches` in this sort's order, gathered a run of
    /// [`TOP_K_RUN_ROWS`] (at least k) rows at a time and each run cut to k rows, so
    /// the input is never copied whole (`SELECT * FROM big ORDER BY x LIMIT 10`).
    fn top_k(
        &self,
        batches: Vec<RecordBatch>,
        k: usize,
        ctx: &ExecContext,
    ) -> Result<Option<RecordBatch>> {
        let schema = self.input.schema();
        let run_rows = k.max(TOP_K_RUN_ROWS);
        let mut best: Option<RecordBatch> = None;
        let mut pending: Vec<RecordBatch> = vec![];
        let mut pending_rows = 0;
        for b in batches {
            pending_rows += b.num_rows();
            pending.push(b);
            if pending_rows >= run_rows {
                pending.extend(best.take());
                let run = concat_batches(&schema, &std::mem::take(&mut pending))?;
                best = self.sorted(&run, Some(k), ctx)?;
                pending_rows = 0;
            }
        }
        pending.extend(best.take());
        let run = concat_batches(&schema, &pending)?;
        self.sorted(&run, Some(k), ctx)
    }

    /// The rows of `all` in this sort's order, the first `fetch` of them when given;
    /// `None` for no rows.
    fn sorted(
        &self,
        all: &RecordBatch,
        fetch: Option<usize>,
        ctx: &ExecContext,
    ) -> Result<Option<RecordBatch>> {
        if all.num_rows() == 0 {
            return Ok(None);
        }
        ctx.check_cancel()?;
        let cols: Vec<SortColumn> = self
            .keys
            .iter()
            .map(|k| {
                Ok(SortColumn {
                    values: evaluate(&k.expr, all, &self.layout)?,
                    options: Some(SortOptions {
                        descending: !k.asc,
                        nulls_first: k.nulls_first,
                    }),
                })
            })
            .collect::<Result<_>>()?;
        let idx = lexsort_to_indices(&cols, fetch)?;
        let out: Vec<ArrayRef> = ctx.pool.install(|| {
            all.columns()
                .par_iter()
                .map(|c| take(c, &idx, None).map_err(Into::into))
                .collect::<Result<_>>()
        })?;
        Ok(Some(make_batch(all.schema(), out, idx.len())?))
    }
}

/// OFFSET/LIMIT: runs input partitions in order, a wave at a time, and stops early.
pub struct LimitExec {
    pub input: Arc<dyn ExecutionPlan>,
    skip: usize,
    fetch: Option<usize>,
    metrics: Metrics,
}

impl LimitExec {
    pub fn new(input: Arc<dyn ExecutionPlan>, skip: usize, fetch: Option<usize>) -> Self {
        LimitExec {
            input,
            skip,
            fetch,
            metrics: Metrics::default(),
        }
    }
}

impl ExecutionPlan for LimitExec {
    fn describe(&self) -> String {
        format!(
            "LimitExec skip={} fetch={}",
            self.skip,
            self.fetch
                .map(|f| f.to_string())
                .unwrap_or_else(|| "all".into())
        )
    }
    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }
    fn ids(&self) -> &[ColumnId] {
        self.input.ids()
    }
    fn partitions(&self) -> usize {
        1
    }
    fn execute(&self, _p: usize, ctx: &ExecContext) -> Result<Vec<RecordBatch>> {
        let need = self.fetch.map(|f| f + self.skip);
        let n = self.input.partitions();
        let wave = ctx.pool.current_num_threads().max(1);
        self.input.prepare(ctx)?;
        let mut got: Vec<RecordBatch> = vec![];
        let mut rows = 0usize;
        let mut start = 0;
        while start < n && need.is_none_or(|k| rows < k) {
            let end = (start + wave).min(n);
            let parts: Vec<Vec<RecordBatch>> = ctx.pool.install(|| {
                (start..end)
                    .into_par_iter()
                    .map(|p| self.input.execute(p, ctx))
                    .collect::<Result<_>>()
            })?;
            for b in parts.into_iter().flatten() {
                rows += b.num_rows();
                got.push(b);
            }
            start = end;
        }
        self.metrics.record(|| {
            let mut out = vec![];
            let mut skip = self.skip;
            let mut left = self.fetch.unwrap_or(usize::MAX);
            for b in got {
                if left == 0 {
                    break;
                }
                let n = b.num_rows();
                if skip >= n {
                    skip -= n;
                    continue;
                }
                let take_n = (n - skip).min(left);
                out.push(b.slice(skip, take_n));
                left -= take_n;
                skip = 0;
            }
            Ok(out)
        })
    }
    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![self.input.clone()]
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// UNION ALL: the partitions of every input, one after the other.
pub struct UnionExec {
    pub inputs: Vec<Arc<dyn ExecutionPlan>>,
    ids: Vec<ColumnId>,
    schema: SchemaRef,
    metrics: Metrics,
}

impl UnionExec {
    pub fn new(inputs: Vec<Arc<dyn ExecutionPlan>>, ids: Vec<ColumnId>, schema: SchemaRef) -> Self {
        UnionExec {
            inputs,
            ids,
            schema,
            metrics: Metrics::default(),
        }
    }
}

impl ExecutionPlan for UnionExec {
    fn describe(&self) -> String {
        "UnionExec".into()
    }
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
    fn ids(&self) -> &[ColumnId] {
        &self.ids
    }
    fn partitions(&self) -> usize {
        self.inputs
            .iter()
            .map(|i| i.partitions())
            .sum::<usize>()
            .max(1)
    }
    fn execute(&self, mut p: usize, ctx: &ExecContext) -> Result<Vec<RecordBatch>> {
        for i in &self.inputs {
            if p < i.partitions() {
                let batches = i.execute(p, ctx)?;
                return self.metrics.record(|| {
                    batches
                        .into_iter()
                        .map(|b| {
                            make_batch(self.schema.clone(), b.columns().to_vec(), b.num_rows())
                        })
                        .collect()
                });
            }
            p -= i.partitions();
        }
        Ok(vec![])
    }
    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        self.inputs.clone()
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// Constant rows, evaluated at planning time.
pub struct ValuesExec {
    batch: RecordBatch,
    ids: Vec<ColumnId>,
    metrics: Metrics,
}

impl ValuesExec {
    pub fn new(batch: RecordBatch, ids: Vec<ColumnId>) -> Self {
        ValuesExec {
            batch,
            ids,
            metrics: Metrics::default(),
        }
    }
}

impl ExecutionPlan for ValuesExec {
    fn describe(&self) -> String {
        format!("ValuesExec rows={}", self.batch.num_rows())
    }
    fn schema(&self) -> SchemaRef {
        self.batch.schema()
    }
    fn ids(&self) -> &[ColumnId] {
        &self.ids
    }
    fn partitions(&self) -> usize {
        1
    }
    fn execute(&self, _p: usize, _ctx: &ExecContext) -> Result<Vec<RecordBatch>> {
        self.metrics.record(|| Ok(vec![self.batch.clone()]))
    }
    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![]
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}
