//! Physical plans: vectorized operators over arrow RecordBatches.
//!
//! Parallelism is morsel-driven: a scan splits its work into morsels (a parquet row
//! group, or a CSV/JSON file), each an output *partition*. Pipelined operators (filter,
//! project, hash-join probe) run on their input's partitions, fused, so one morsel flows
//! scan -> filter -> project -> probe on one thread. Pipeline breakers (hash aggregate,
//! hash-join build, sort, limit) run all input partitions in parallel on the session's
//! rayon pool, keep per-thread state, and merge it.

pub mod aggregate;
pub mod analyze;
pub mod eval;
pub mod generate;
pub mod group_keys;
pub mod join;
pub mod operators;
pub mod planner;
pub mod recursive;
pub mod reuse;
pub mod scan;
pub mod statistics;
pub mod wavelet;
pub mod window;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrow::array::ArrayRef;
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use rayon::prelude::*;

use crate::error::{QuarryError, Result};
use crate::plan::{Column, ColumnId};

/// Per-query execution settings.
pub struct ExecContext {
    /// Set by Ctrl-C; operators check it between morsels.
    pub cancel: Arc<AtomicBool>,
    pub batch_size: usize,
    pub pool: Arc<rayon::ThreadPool>,
    /// Local and S3 file access (clients, listing and footer caches).
    pub storage: Arc<crate::datasource::Storage>,
    /// Scans planned in this query (files after pruning, footers), by source and
    /// filters: the optimizer's estimates and the physical plan share them.
    pub scans: Mutex<std::collections::HashMap<String, Arc<scan::ScanFiles>>>,
    /// Subplans computed once for the whole query, by [`reuse::canonical_key`]
    /// (including aggregates kept from its uncorrelated subqueries).
    pub reuse: Mutex<std::collections::HashMap<String, Arc<reuse::SharedResult>>>,
    /// The rows each running recursive CTE's current round reads, by work table id
    /// ([`recursive::RecursiveCteExec`]).
    pub worktables: Mutex<std::collections::HashMap<usize, Arc<Vec<RecordBatch>>>>,
    /// Whether estimates may sample joins (see [`statistics::JOIN_SAMPLING_RULE`]; on
    /// unless that name is in `quarry.optimizer.disabled_rules`).
    pub join_sampling: bool,
    /// Join samples measured by the session (`None`: none could be taken), by the
    /// files and row groups of their two scans (paths, sizes, modification times: a
    /// rewritten file is sampled anew), keys and filters, so the optimizer's many
    /// estimates, and later queries over the same files, read each once.
    pub join_samples: JoinSamples,
}

/// The session's cache of join samples (see [`ExecContext::join_samples`]); at most
/// [`statistics::JOIN_SAMPLES_KEPT`] entries.
pub type JoinSamples =
    Arc<Mutex<std::collections::HashMap<String, Option<crate::optimizer::stats::JoinMatches>>>>;

impl ExecContext {
    pub fn check_cancel(&self) -> Result<()> {
        if self.cancel.load(Ordering::Relaxed) {
            Err(QuarryError::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// Rows produced and time spent (inclusive of fused inputs) by one operator.
pub struct Metrics {
    pub rows: AtomicU64,
    pub nanos: AtomicU64,
    /// Operator-specific lines for EXPLAIN ANALYZE (e.g. files and row groups pruned).
    pub extra: Mutex<Vec<String>>,
    /// Object-store requests made (scans of S3 data).
    pub io: crate::datasource::IoStats,
    /// The optimizer's estimate of the output rows (`f64` bits; NaN when none).
    estimate: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            rows: AtomicU64::new(0),
            nanos: AtomicU64::new(0),
            extra: Mutex::new(vec![]),
            io: Default::default(),
            estimate: AtomicU64::new(f64::NAN.to_bits()),
        }
    }
}

impl Metrics {
    /// Record the optimizer's row estimate (the first one set stays: a wrapper node
    /// planned for the same logical node keeps the inner operator's).
    pub fn set_estimate(&self, rows: f64) {
        let _ = self.estimate.compare_exchange(
            f64::NAN.to_bits(),
            rows.to_bits(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// The optimizer's row estimate, if one was set.
    pub fn estimate(&self) -> Option<f64> {
        let v = f64::from_bits(self.estimate.load(Ordering::Relaxed));
        (!v.is_nan()).then_some(v)
    }

    /// Run `f`, adding its output rows and elapsed time.
    pub fn record(&self, f: impl FnOnce() -> Result<Vec<RecordBatch>>) -> Result<Vec<RecordBatch>> {
        let t = Instant::now();
        let out = f()?;
        self.nanos
            .fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        self.rows.fetch_add(
            out.iter().map(|b| b.num_rows() as u64).sum(),
            Ordering::Relaxed,
        );
        Ok(out)
    }

    /// [`Metrics::record`] for an operator that hands its batches to `sink` as it makes
    /// them ([`ExecutionPlan::execute_into`]): times `f` less the time spent in `sink`
    /// (the operators above), and counts the rows handed on.
    pub fn record_into(
        &self,
        sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
        f: impl FnOnce(&mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<()>,
    ) -> Result<()> {
        let t = Instant::now();
        let mut above = std::time::Duration::ZERO;
        let mut rows = 0u64;
        let r = f(&mut |b| {
            rows += b.num_rows() as u64;
            let t = Instant::now();
            let r = sink(b);
            above += t.elapsed();
            r
        });
        self.nanos.fetch_add(
            t.elapsed().saturating_sub(above).as_nanos() as u64,
            Ordering::Relaxed,
        );
        self.rows.fetch_add(rows, Ordering::Relaxed);
        r
    }

    /// [`Metrics::record`] for one batch: time `f`, which makes it, and count its rows
    /// (an operator that hands its batches on one at a time,
    /// [`ExecutionPlan::execute_into`]).
    pub fn record_batch(&self, f: impl FnOnce() -> Result<RecordBatch>) -> Result<RecordBatch> {
        let out = self.time(f)?;
        self.rows
            .fetch_add(out.num_rows() as u64, Ordering::Relaxed);
        Ok(out)
    }

    /// Run `f`, adding its time to the operator's (rows not counted): a step of an
    /// operator's own work between calls into its input and its sink.
    pub fn time<T>(&self, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        self.nanos
            .fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        out
    }
}

/// The batches `f` hands to its sink, collected: a producer written for
/// [`ExecutionPlan::execute_into`] serving [`ExecutionPlan::execute`].
pub fn collect_batches(
    f: impl FnOnce(&mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<()>,
) -> Result<Vec<RecordBatch>> {
    let mut out = vec![];
    f(&mut |b| {
        out.push(b);
        Ok(())
    })?;
    Ok(out)
}

/// A physical operator. Output columns are in `ids()` order (the logical node's schema).
pub trait ExecutionPlan: Send + Sync {
    /// One line for EXPLAIN.
    fn describe(&self) -> String;
    fn schema(&self) -> SchemaRef;
    /// Logical column ids of the output, by position.
    fn ids(&self) -> &[ColumnId];
    /// Number of output partitions (independent units of work).
    fn partitions(&self) -> usize;
    /// Produce the batches of one partition.
    fn execute(&self, partition: usize, ctx: &ExecContext) -> Result<Vec<RecordBatch>>;
    /// Produce the batches of one partition into `sink`, each as soon as it is made, so
    /// a consumer that folds its input (an aggregation) reads a batch while it is still
    /// in the core's cache rather than after the whole partition (a row group: several
    /// MiB) has been made. The default makes the partition with
    /// [`ExecutionPlan::execute`] first; row-wise operators (projection, filter) hand on
    /// each of their input's batches as it comes. An error from `sink` ends the
    /// partition with that error.
    fn execute_into(
        &self,
        partition: usize,
        ctx: &ExecContext,
        sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        self.execute(partition, ctx)?.into_iter().try_for_each(sink)
    }
    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>>;
    fn metrics(&self) -> &Metrics;
    /// The shared subplan this operator reads ([`reuse::ReusedExec`] only).
    fn shared(&self) -> Option<&Arc<reuse::SharedResult>> {
        None
    }
    /// Finish the work every partition waits for (a hash join's build side) before the
    /// partitions start, so that it runs on the whole pool: built lazily by the first
    /// partition instead, it would hold the other workers blocked on it. The default
    /// prepares the children.
    fn prepare(&self, ctx: &ExecContext) -> Result<()> {
        self.children().iter().try_for_each(|c| c.prepare(ctx))
    }
}

/// Hash of an integer key (hash join and GROUP BY fast paths): a multiplicative hash with
/// its high bits folded down, so the low bits (a bucket) and the top bits (hashbrown's
/// tag) both depend on every bit of the key.
#[inline]
pub fn hash_i64(v: i64) -> u64 {
    let h = (v as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^ (h >> 29)
}

/// Key types the integer fast paths take: those that widen to i64 losslessly.
pub fn int_like(t: &arrow::datatypes::DataType) -> bool {
    use arrow::datatypes::DataType::*;
    matches!(
        t,
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | Date32
    )
}

/// An arrow schema for logical columns (names kept; duplicates allowed).
pub fn schema_of(cols: &[Column]) -> SchemaRef {
    Arc::new(Schema::new(
        cols.iter()
            .map(|c| Field::new(&c.name, c.data_type.clone(), true))
            .collect::<Vec<_>>(),
    ))
}

/// A batch of `columns` with `rows` rows (works for zero columns).
pub fn make_batch(schema: SchemaRef, columns: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new_with_options(
        schema,
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )?)
}

/// [`make_batch`] with each column cast to its field's type where the two differ (an
/// expression or accumulator may come out of another width or a NULL type).
pub fn make_batch_as(
    schema: SchemaRef,
    columns: Vec<ArrayRef>,
    rows: usize,
) -> Result<RecordBatch> {
    let columns = columns
        .into_iter()
        .zip(schema.fields())
        .map(|(c, f)| eval::cast_array(&c, f.data_type()))
        .collect::<Result<Vec<_>>>()?;
    make_batch(schema, columns, rows)
}

/// Execute every partition of `plan` in parallel; results in partition order.
pub fn execute_all(
    plan: &Arc<dyn ExecutionPlan>,
    ctx: &ExecContext,
) -> Result<Vec<Vec<RecordBatch>>> {
    execute_each(plan, ctx, Ok)
}

/// [`execute_all`] with `f` applied to each partition's batches as soon as that
/// partition is done (in its task), so only `f`'s results are kept: a top-k sort keeps
/// k rows of each partition, not the partition.
pub fn execute_each<T: Send>(
    plan: &Arc<dyn ExecutionPlan>,
    ctx: &ExecContext,
    f: impl Fn(Vec<RecordBatch>) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let n = plan.partitions();
    if n == 1 {
        return Ok(vec![f(plan.execute(0, ctx)?)?]);
    }
    plan.prepare(ctx)?;
    ctx.pool.install(|| {
        (0..n)
            .into_par_iter()
            .map(|p| f(plan.execute(p, ctx)?))
            .collect::<Result<Vec<_>>>()
    })
}

/// Execute a plan and concatenate all output batches (partition order). Shared
/// subplans run first ([`reuse::materialize`]).
pub fn collect(plan: &Arc<dyn ExecutionPlan>, ctx: &ExecContext) -> Result<Vec<RecordBatch>> {
    reuse::materialize(plan, ctx)?;
    Ok(execute_all(plan, ctx)?
        .into_iter()
        .flatten()
        .filter(|b| b.num_rows() > 0)
        .collect())
}

/// The physical plan as an indented tree; with `analyze`, rows and time per operator.
pub fn display_plan(plan: &Arc<dyn ExecutionPlan>, analyze: bool) -> String {
    fn go(p: &Arc<dyn ExecutionPlan>, depth: usize, analyze: bool, out: &mut String) {
        let pad = "  ".repeat(depth);
        out.push_str(&format!("{pad}{}", p.describe()));
        let est = p
            .metrics()
            .estimate()
            .map(crate::optimizer::stats::fmt_rows)
            .unwrap_or_else(|| "?".into());
        if analyze {
            let m = p.metrics();
            out.push_str(&format!(
                "  [rows={} est={est} time={:.3}ms partitions={}]",
                m.rows.load(Ordering::Relaxed),
                m.nanos.load(Ordering::Relaxed) as f64 / 1e6,
                p.partitions()
            ));
        } else {
            out.push_str(&format!("  [est={est}]"));
        }
        out.push('\n');
        if analyze {
            if let Ok(extra) = p.metrics().extra.lock() {
                for e in extra.iter() {
                    out.push_str(&format!("{pad}    {e}\n"));
                }
            }
            if let Some(io) = p.metrics().io.summary() {
                out.push_str(&format!("{pad}    {io}\n"));
            }
        }
        for c in p.children() {
            go(&c, depth + 1, analyze, out);
        }
    }
    let mut s = String::new();
    go(plan, 0, analyze, &mut s);
    s
}
