//! HashJoinExec: equi-joins (and, with no keys, nested-loop cross joins).
//!
//! The right input is the build side: its partitions run in parallel, are concatenated,
//! and their keys are inserted into a chained hash table: a power-of-two bucket array of
//! chain heads and a `next` array (no per-row allocation). Keys are arrow-row encoded,
//! with each row's 64-bit hash compared before the key bytes, or, for one integer-like
//! key, widened to i64 and compared as integers. The left input is the probe side: each
//! of its partitions is probed independently, fused with the operators below it, so the
//! join has as many output partitions as the probe side. A residual filter is evaluated
//! on the candidate pairs. FULL joins track matched build rows and emit the rest last
//! (as one partition). The physical planner swaps an inner join's inputs when the right
//! one is estimated larger, and plans RIGHT joins as LEFT joins with the inputs swapped.
//! A semi/anti join may build on its left input instead (`with_build_left`): the right
//! input streams through, matched left rows are marked, and the result is one partition.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, Int64Array, UInt32Array,
};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::compute::take;
use arrow::datatypes::{DataType, Decimal128Type, Int64Type, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, Rows, SortField};
use rayon::prelude::*;

use super::eval::{evaluate, evaluate_predicate, layout_of, Layout};
use super::{execute_all, hash_i64, int_like, make_batch, ExecContext, ExecutionPlan, Metrics};
use crate::error::{QuarryError, Result};
use crate::plan::{ColumnId, Expr, JoinType};

const END: u32 = u32::MAX;

/// The build side's keys.
enum BuildKeys {
    /// No keys: a nested-loop (cross) join.
    None,
    /// Arrow-row encoded keys (any types, several columns).
    Rows(Rows),
    /// One integer-like key column (ints, dates) widened to i64: compared as integers,
    /// hashed without encoding (the build batch's own buffer when the key is a bigint).
    Int(arrow::buffer::ScalarBuffer<i64>),
}

struct Build {
    batch: RecordBatch,
    keys: BuildKeys,
    /// Chain head per bucket (`hash & mask`), END when empty; or, when `direct` is set,
    /// per key value (`key - direct`).
    heads: Vec<u32>,
    mask: u64,
    /// One integer key whose range (max - min + 1) is at most the hash buckets (so the
    /// heads take no more memory than hashing's): the smallest key. `heads` is then
    /// indexed by the key itself (a perfect hash), so a chain holds rows of one key only
    /// and a probe neither hashes nor compares keys.
    direct: Option<i64>,
    /// With `direct`: no two build rows share a key (each chain has at most one row).
    unique: bool,
    /// Several integer keys packed into the one i64 key of `BuildKeys::Int`.
    packing: Option<Packing>,
    /// Next row in the same bucket, END at the end.
    next: Vec<u32>,
    /// Each build row's key hash.
    hashes: Vec<u64>,
    /// One flag per build row for the joins that ask which rows matched (outer, semi
    /// and anti joins built on the left); empty for inner and cross joins.
    matched: Vec<AtomicBool>,
    /// Per build column: the decimal type of a column kept as i64
    /// ([`HashJoinExec::compact_build`]).
    narrowed: Vec<Option<DataType>>,
}

impl Build {
    /// The first build row of the chain where an integer key `v` would be (END when
    /// none): the rows of a chain may hold other keys unless `direct` is set.
    #[inline(always)]
    fn chain(&self, v: i64) -> u32 {
        match self.direct {
            Some(min) => {
                let d = v.wrapping_sub(min) as u64;
                if d < self.heads.len() as u64 {
                    self.heads[d as usize]
                } else {
                    END
                }
            }
            None => self.heads[(hash_i64(v) & self.mask) as usize],
        }
    }

    /// The build rows whose matched flag is `matched` (after every probe row has run).
    fn rows_where_matched(&self, matched: bool) -> UInt32Array {
        UInt32Array::from(
            (0..self.batch.num_rows() as u32)
                .filter(|j| self.matched[*j as usize].load(Ordering::Relaxed) == matched)
                .collect::<Vec<_>>(),
        )
    }
}

/// A filter on a probe-side scan column that a hash join fills when its build side is
/// ready: a row passes when its key is in the hash table (a NULL key never is). Only the
/// single integer-key path fills it; unfilled, it passes everything. The planner gives
/// one to a join only where dropping probe rows without a partner cannot change the
/// result (inner joins; semi joins; anti joins that build on the returned side), and
/// only to a scan whose rows reach the join through filters, projections and inner
/// joins alone.
pub struct RuntimeFilter {
    /// The probe scan's column holding the key.
    pub column: ColumnId,
    /// Its name, for EXPLAIN.
    pub name: String,
    build: OnceLock<Arc<Build>>,
    /// The build keys as a bitmap over their range, when that range is small enough
    /// ([`KeyBitmap::new`]); made on the first evaluation.
    bitmap: OnceLock<Option<KeyBitmap>>,
    rows_in: AtomicU64,
    rows_out: AtomicU64,
}

impl RuntimeFilter {
    pub fn new(column: ColumnId, name: String) -> RuntimeFilter {
        RuntimeFilter {
            column,
            name,
            build: OnceLock::new(),
            bitmap: OnceLock::new(),
            rows_in: AtomicU64::new(0),
            rows_out: AtomicU64::new(0),
        }
    }

    /// Whether to apply the filter to the next morsel: the build side is ready, and the
    /// filter has not been keeping most rows (after 100k rows seen, a filter that keeps
    /// more than 60% costs more than it spares, and stops).
    pub fn active(&self) -> bool {
        if self.build.get().is_none() {
            return false;
        }
        let (i, o) = (
            self.rows_in.load(Ordering::Relaxed),
            self.rows_out.load(Ordering::Relaxed),
        );
        i < 100_000 || o * 10 <= i * 6
    }

    /// Which values of `keys` (the key column) have a partner in the build side.
    pub fn evaluate(&self, keys: &ArrayRef) -> Result<BooleanArray> {
        let (build, bk) = match self.build.get() {
            Some(b) => match &b.keys {
                BuildKeys::Int(bk) => (b, bk),
                _ => return Ok(BooleanArray::from(vec![true; keys.len()])),
            },
            None => return Ok(BooleanArray::from(vec![true; keys.len()])),
        };
        let col = arrow::compute::cast(keys, &DataType::Int64)?;
        let a = col.as_primitive::<Int64Type>();
        let values = a.values();
        let bitmap = self.bitmap.get_or_init(|| KeyBitmap::new(bk));
        let hits = match bitmap {
            Some(bits) => BooleanBuffer::collect_bool(values.len(), |i| bits.contains(values[i])),
            None => BooleanBuffer::collect_bool(values.len(), |i| {
                let v = values[i];
                let mut j = build.chain(v);
                while j != END {
                    if bk[j as usize] == v {
                        return true;
                    }
                    j = build.next[j as usize];
                }
                false
            }),
        };
        let hits = match a.nulls() {
            Some(n) => &hits & n.inner(),
            None => hits,
        };
        self.rows_in.fetch_add(a.len() as u64, Ordering::Relaxed);
        self.rows_out
            .fetch_add(hits.count_set_bits() as u64, Ordering::Relaxed);
        Ok(BooleanArray::new(hits, None))
    }

    /// For EXPLAIN: the column, and after a run the rows it kept.
    pub fn describe(&self) -> String {
        let i = self.rows_in.load(Ordering::Relaxed);
        if i == 0 {
            format!("{}#{}", self.name, self.column)
        } else {
            let o = self.rows_out.load(Ordering::Relaxed);
            format!("{}#{} (kept {o} of {i})", self.name, self.column)
        }
    }
}

/// A set of integer keys as one bit per value over `min..=max` of the keys: membership
/// is a shift and a load instead of a hash-chain walk (two or three dependent loads,
/// each a cache miss once the table outgrows the cache). Used when the range is at most
/// 512 bits per key or 2^20 bits (128 KiB), whichever is larger, and at most 2^27 bits
/// (16 MiB): TPC-H SF10's Q04 probes 60M lineitem keys against 574K orders spread over
/// a range of 60M (7.5 MiB of bits).
struct KeyBitmap {
    min: i64,
    bits: Vec<u64>,
}

impl KeyBitmap {
    /// The bitmap of `keys` (every build row's key: a NULL key's placeholder value only
    /// lets a few more rows through to the join, which checks them), or `None` when
    /// the range is too wide.
    fn new(keys: &[i64]) -> Option<KeyBitmap> {
        let (min, max) = keys
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), &k| (lo.min(k), hi.max(k)));
        if keys.is_empty() {
            return Some(KeyBitmap {
                min: 0,
                bits: vec![],
            });
        }
        let range = (max as i128 - min as i128 + 1) as u128;
        let limit = (keys.len() as u128 * 512).max(1 << 20).min(1 << 27);
        if range > limit {
            return None;
        }
        let mut bits = vec![0u64; (range as usize).div_ceil(64)];
        for &k in keys {
            let d = (k - min) as usize;
            bits[d / 64] |= 1 << (d % 64);
        }
        Some(KeyBitmap { min, bits })
    }

    #[inline(always)]
    fn contains(&self, v: i64) -> bool {
        let d = v.wrapping_sub(self.min) as u64 as usize;
        match self.bits.get(d / 64) {
            Some(w) => (w >> (d % 64)) & 1 == 1,
            None => false,
        }
    }
}

pub struct HashJoinExec {
    /// Filled with the build side when it is ready (see [`RuntimeFilter`]).
    runtime_filter: Option<Arc<RuntimeFilter>>,
    pub left: Arc<dyn ExecutionPlan>,
    pub right: Arc<dyn ExecutionPlan>,
    join_type: JoinType,
    left_keys: Vec<Expr>,
    right_keys: Vec<Expr>,
    filter: Option<Expr>,
    /// NULL keys match each other (INTERSECT / EXCEPT).
    null_safe: bool,
    /// Semi/anti and left outer joins: build the hash table on the left input (estimated
    /// smaller) and mark its rows from the right; see `execute_build_left` and
    /// `execute_left_outer_build_left`.
    build_left: bool,
    /// Left outer join built on the left: right partitions finished (the last one
    /// returns the left rows no right row matched).
    right_done: std::sync::atomic::AtomicUsize,
    left_layout: Layout,
    right_layout: Layout,
    pair_layout: Layout,
    build: Mutex<Option<Arc<Build>>>,
    hasher: ahash::RandomState,
    ids: Vec<ColumnId>,
    schema: SchemaRef,
    /// An inner join's output columns, as indices into its left then right columns,
    /// when its parent reads only some ([`HashJoinExec::with_output`]).
    output: Option<Vec<usize>>,
    metrics: Metrics,
}

impl HashJoinExec {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        left: Arc<dyn ExecutionPlan>,
        right: Arc<dyn ExecutionPlan>,
        join_type: JoinType,
        keys: Vec<(Expr, Expr)>,
        filter: Option<Expr>,
        null_safe: bool,
        ids: Vec<ColumnId>,
        schema: SchemaRef,
    ) -> Self {
        let left_layout = layout_of(left.ids());
        let right_layout = layout_of(right.ids());
        let pair_ids: Vec<ColumnId> = left.ids().iter().chain(right.ids()).copied().collect();
        let (left_keys, right_keys) = keys.into_iter().unzip();
        HashJoinExec {
            runtime_filter: None,
            left,
            right,
            join_type,
            left_keys,
            right_keys,
            filter,
            null_safe,
            build_left: false,
            right_done: std::sync::atomic::AtomicUsize::new(0),
            left_layout,
            right_layout,
            pair_layout: layout_of(&pair_ids),
            build: Mutex::new(None),
            hasher: ahash::RandomState::with_seeds(0x51, 0x7a, 0x3c, 0x99),
            ids,
            schema,
            output: None,
            metrics: Metrics::default(),
        }
    }

    /// For an inner (or cross) join built on the right: output only the columns in
    /// `keep`, in their order. Rows then take only those columns, and the build side
    /// keeps only the columns that are output (or, with a residual filter, all): TPC-H
    /// Q09's partsupp build holds the packed key and `ps_supplycost`, not the two key
    /// columns (128 MB at SF10).
    pub fn with_output(mut self, keep: &std::collections::HashSet<ColumnId>) -> Self {
        if !matches!(self.join_type, JoinType::Inner | JoinType::Cross) || self.build_left {
            return self;
        }
        let idx: Vec<usize> = (0..self.ids.len())
            .filter(|&i| keep.contains(&self.ids[i]))
            .collect();
        self.ids = idx.iter().map(|&i| self.ids[i]).collect();
        self.schema = Arc::new(arrow::datatypes::Schema::new(
            idx.iter()
                .map(|&i| self.schema.field(i).clone())
                .collect::<Vec<_>>(),
        ));
        self.output = Some(idx);
        self
    }

    /// The output columns of the pairs (`li` of the probe batch, `ri` of the build
    /// side): all, or those of [`HashJoinExec::with_output`].
    fn output_columns(
        &self,
        probe: &RecordBatch,
        li: &UInt32Array,
        build: &Build,
        ri: &UInt32Array,
    ) -> Result<Vec<ArrayRef>> {
        let nl = probe.num_columns();
        let all: Vec<usize>;
        let out = match &self.output {
            Some(o) => o,
            None => {
                all = (0..nl + build.batch.num_columns()).collect();
                &all
            }
        };
        out.iter()
            .map(|&i| {
                if i < nl {
                    return Ok(take(probe.column(i), li, None)?);
                }
                let c = take(build.batch.column(i - nl), ri, None)?;
                Ok(match build.narrowed.get(i - nl) {
                    Some(Some(DataType::Decimal128(p, s))) => {
                        let d: arrow::array::Decimal128Array =
                            c.as_primitive::<Int64Type>().unary(|v| v as i128);
                        Arc::new(d.with_precision_and_scale(*p, *s)?)
                    }
                    _ => c,
                })
            })
            .collect()
    }

    /// Integer-like keys on both sides (and NULLs never match): the i64 path, for
    /// several keys when their ranges pack into one i64 ([`Packing`]).
    fn int_keys(&self) -> bool {
        !self.null_safe
            && self.left_keys.iter().all(|k| int_like(&k.data_type()))
            && self.right_keys.iter().all(|k| int_like(&k.data_type()))
    }

    /// The key columns of `batch` widened to i64.
    fn int_key_columns(
        keys: &[Expr],
        batch: &RecordBatch,
        layout: &Layout,
    ) -> Result<Vec<ArrayRef>> {
        keys.iter()
            .map(|key| {
                let col = evaluate(key, batch, layout)?;
                Ok(arrow::compute::cast(&col, &DataType::Int64)?)
            })
            .collect()
    }

    /// The probe batch's key as one i64 column, packed as the build side's keys are.
    fn probe_int_key(&self, probe: &RecordBatch, build: &Build) -> Result<ArrayRef> {
        let (probe_keys, probe_layout) = self.probe_side();
        let mut cols = Self::int_key_columns(probe_keys, probe, probe_layout)?;
        Ok(match &build.packing {
            Some(p) => Arc::new(p.pack(&cols)),
            None => cols.swap_remove(0),
        })
    }

    /// The input the hash table is built on, with its keys and layout.
    fn build_side(&self) -> (&Arc<dyn ExecutionPlan>, &[Expr], &Layout) {
        if self.build_left {
            (&self.left, &self.left_keys, &self.left_layout)
        } else {
            (&self.right, &self.right_keys, &self.right_layout)
        }
    }

    /// The probing input's keys and layout.
    fn probe_side(&self) -> (&[Expr], &Layout) {
        if self.build_left {
            (&self.right_keys, &self.right_layout)
        } else {
            (&self.left_keys, &self.left_layout)
        }
    }

    /// Build on the left (the rows a semi/anti join returns) and stream the right input
    /// through it, marking the left rows that find a partner (the filter evaluated on the
    /// pairs); then return the marked (semi) or unmarked (anti) left rows. One output
    /// partition; the right input's partitions run in parallel.
    fn execute_build_left(&self, ctx: &ExecContext) -> Result<Vec<RecordBatch>> {
        let build = self.get_build(ctx)?;
        let n = self.right.partitions();
        self.right.prepare(ctx)?;
        ctx.pool.install(|| {
            (0..n).into_par_iter().try_for_each(|p| -> Result<()> {
                for b in self.right.execute(p, ctx)? {
                    ctx.check_cancel()?;
                    let (pi, bi) = self.pairs(&b, &build)?;
                    let bi = match &self.filter {
                        None => bi,
                        Some(f) => {
                            // the build rows are the left side of the pairs here
                            let (_, mask) = self.filter_pairs(
                                f,
                                &build.batch,
                                &UInt32Array::from(bi.clone()),
                                &b,
                                &UInt32Array::from(pi),
                            )?;
                            bi.into_iter()
                                .enumerate()
                                .filter(|(k, _)| mask.value(*k))
                                .map(|(_, j)| j)
                                .collect()
                        }
                    };
                    for j in bi {
                        build.matched[j as usize].store(true, Ordering::Relaxed);
                    }
                }
                Ok(())
            })
        })?;
        let idx = build.rows_where_matched(self.join_type == JoinType::LeftSemi);
        if idx.is_empty() {
            return Ok(vec![]);
        }
        let cols: Vec<ArrayRef> = build
            .batch
            .columns()
            .iter()
            .map(|c| take(c, &idx, None))
            .collect::<std::result::Result<_, _>>()?;
        Ok(vec![make_batch(self.schema.clone(), cols, idx.len())?])
    }

    /// Fill `filter` with this join's build side when it is ready. The planner decides
    /// where that is sound (see [`RuntimeFilter`]).
    pub fn with_runtime_filter(mut self, filter: Arc<RuntimeFilter>) -> Self {
        self.runtime_filter = Some(filter);
        self
    }

    /// For a keyed semi/anti or left outer join (not null-safe): build on the left input
    /// instead.
    pub fn with_build_left(mut self) -> Self {
        self.build_left = matches!(
            self.join_type,
            JoinType::LeftSemi | JoinType::LeftAnti | JoinType::Left
        ) && !self.left_keys.is_empty()
            && !self.null_safe;
        self
    }

    /// A left outer join built on the left (the preserved side, estimated smaller):
    /// partition `p` streams right partition `p` through the table and returns the
    /// matching pairs (the residual filter applied), marking the left rows matched;
    /// the partition that finishes last also returns the left rows never matched, with
    /// NULLs for the right columns. Right partitions run as the join's partitions.
    fn execute_left_outer_build_left(
        &self,
        p: usize,
        ctx: &ExecContext,
        build: &Build,
    ) -> Result<Vec<RecordBatch>> {
        let mut out = vec![];
        for b in self.right.execute(p, ctx)? {
            ctx.check_cancel()?;
            let (pi, bi) = self.pairs(&b, build)?;
            let (li, ri) = (UInt32Array::from(bi), UInt32Array::from(pi));
            let (cols, li) = match &self.filter {
                None => (Self::joined(&build.batch, &li, &b, &ri)?, li),
                Some(f) => {
                    let (cols, mask) = self.filter_pairs(f, &build.batch, &li, &b, &ri)?;
                    let cols = cols
                        .iter()
                        .map(|c| arrow::compute::filter(c, &mask))
                        .collect::<std::result::Result<Vec<_>, _>>()?;
                    let li = arrow::compute::filter(&li, &mask)?;
                    (
                        cols,
                        li.as_primitive::<arrow::datatypes::UInt32Type>().clone(),
                    )
                }
            };
            for j in li.values() {
                build.matched[*j as usize].store(true, Ordering::Relaxed);
            }
            if !li.is_empty() {
                out.push(make_batch(self.schema.clone(), cols, li.len())?);
            }
        }
        let n = self.right.partitions().max(1);
        let done = self.right_done.fetch_add(1, Ordering::AcqRel) + 1;
        if done % n == 0 {
            out.extend(self.unmatched_build_rows(build, &self.right.schema(), true)?);
        }
        Ok(out)
    }

    /// The build rows no probe row matched, with NULLs for the other input's columns
    /// (`nulls`), the build's columns first or last as this join's output orders them.
    fn unmatched_build_rows(
        &self,
        build: &Build,
        nulls: &SchemaRef,
        build_first: bool,
    ) -> Result<Option<RecordBatch>> {
        let idx = build.rows_where_matched(false);
        if idx.is_empty() {
            return Ok(None);
        }
        let built = build
            .batch
            .columns()
            .iter()
            .map(|c| take(c, &idx, None))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let null = nulls
            .fields()
            .iter()
            .map(|f| new_null_array(f.data_type(), idx.len()));
        let cols: Vec<ArrayRef> = if build_first {
            built.into_iter().chain(null).collect()
        } else {
            null.chain(built).collect()
        };
        Ok(Some(make_batch(self.schema.clone(), cols, idx.len())?))
    }

    fn converter(&self) -> Result<RowConverter> {
        Ok(RowConverter::new(
            self.left_keys
                .iter()
                .map(|k| SortField::new(k.data_type()))
                .collect(),
        )?)
    }

    fn key_rows(
        &self,
        keys: &[Expr],
        batch: &RecordBatch,
        layout: &Layout,
        conv: &RowConverter,
    ) -> Result<(Rows, Vec<bool>)> {
        let cols: Vec<ArrayRef> = keys
            .iter()
            .map(|k| evaluate(k, batch, layout))
            .collect::<Result<_>>()?;
        let n = batch.num_rows();
        let valid: Vec<bool> = if self.null_safe {
            vec![true; n]
        } else {
            (0..n).map(|i| cols.iter().all(|c| c.is_valid(i))).collect()
        };
        Ok((conv.convert_columns(&cols)?, valid))
    }

    /// The build batch's key as one i64 column (with the packing of several keys), or
    /// `None` for the arrow-row path: keys not all integers, or several whose ranges
    /// do not pack into an i64.
    fn build_int_key(&self, batch: &RecordBatch) -> Result<Option<(ArrayRef, Option<Packing>)>> {
        if !self.int_keys() {
            return Ok(None);
        }
        let (_, build_keys, build_layout) = self.build_side();
        let mut cols = Self::int_key_columns(build_keys, batch, build_layout)?;
        if cols.len() == 1 {
            return Ok(Some((cols.swap_remove(0), None)));
        }
        Ok(Packing::new(&cols).map(|p| (Arc::new(p.pack(&cols)) as ArrayRef, Some(p))))
    }

    fn get_build(&self, ctx: &ExecContext) -> Result<Arc<Build>> {
        let mut guard = self
            .build
            .lock()
            .map_err(|_| QuarryError::Internal("join build lock".into()))?;
        if let Some(b) = guard.as_ref() {
            return Ok(b.clone());
        }
        let (build_plan, build_keys, build_layout) = self.build_side();
        let parts = execute_all(build_plan, ctx)?;
        let batch = concat_owned(build_plan.schema(), parts.into_iter().flatten().collect())?;
        let n = batch.num_rows();
        if n >= END as usize {
            return Err(QuarryError::NotSupported(format!(
                "a hash-join build side of {n} rows (at most 4 billion)"
            )));
        }
        // one to two buckets per row (4 to 8 bytes a row; with two to four, TPC-H's
        // joins ran no faster and SF10 Q09's peak memory was 5% higher)
        let buckets = n.max(1).next_power_of_two();
        let mask = buckets as u64 - 1;
        let mut heads = vec![END; if build_keys.is_empty() { 0 } else { buckets }];
        let mut next = vec![END; n];
        let mut hashes = vec![];
        let mut direct = None;
        let mut unique = true;
        let mut packing = None;
        let keys = if build_keys.is_empty() {
            BuildKeys::None
        } else if let Some((col, p)) = self.build_int_key(&batch)? {
            packing = p;
            let a = col.as_primitive::<Int64Type>();
            direct = direct_range(a, buckets);
            if let Some((min, range)) = direct {
                heads = vec![END; range];
                for i in (0..n).rev() {
                    if a.is_null(i) {
                        continue;
                    }
                    let b = (a.value(i) - min) as usize;
                    unique &= heads[b] == END;
                    next[i] = heads[b];
                    heads[b] = i as u32;
                }
            } else {
                for i in (0..n).rev() {
                    if a.is_null(i) {
                        continue;
                    }
                    let b = (hash_i64(a.value(i)) & mask) as usize;
                    next[i] = heads[b];
                    heads[b] = i as u32;
                }
            }
            BuildKeys::Int(a.values().clone())
        } else {
            hashes = vec![0u64; n];
            let conv = self.converter()?;
            let (rows, valid) = self.key_rows(build_keys, &batch, build_layout, &conv)?;
            // inserted in reverse so each chain lists rows in input order
            for i in (0..n).rev() {
                if !valid[i] {
                    continue;
                }
                let h = self.hasher.hash_one(rows.row(i).as_ref());
                hashes[i] = h;
                let b = (h & mask) as usize;
                next[i] = heads[b];
                heads[b] = i as u32;
            }
            BuildKeys::Rows(rows)
        };
        // a flag per build row for the joins that ask which rows matched (outer, semi
        // and anti joins built on the left); inner joins never read it
        let flags = if matches!(self.join_type, JoinType::Inner | JoinType::Cross) {
            0
        } else {
            n
        };
        let matched = (0..flags).map(|_| AtomicBool::new(false)).collect();
        let (batch, narrowed) = self.compact_build(batch)?;
        let b = Arc::new(Build {
            narrowed,
            batch,
            keys,
            heads,
            mask,
            direct: direct.map(|(min, _)| min),
            unique,
            packing,
            next,
            hashes,
            matched,
        });
        if let (Some(f), BuildKeys::Int(_), None) = (&self.runtime_filter, &b.keys, &b.packing) {
            let _ = f.build.set(b.clone());
        }
        *guard = Some(b.clone());
        Ok(b)
    }

    /// For an inner join built on the right without a residual filter (whose build rows
    /// are only ever taken by [`HashJoinExec::output_columns`]), once its keys are
    /// taken: the build batch with the columns the join never outputs made NULL-typed
    /// and empty (column positions stay), and decimal columns whose values all fit in
    /// an i64 kept as i64 (8 bytes a row instead of 16; TPC-H's prices and costs),
    /// with the decimal type of each such column to widen the rows taken back to.
    fn compact_build(&self, batch: RecordBatch) -> Result<(RecordBatch, Vec<Option<DataType>>)> {
        let plain = vec![None; batch.num_columns()];
        if self.filter.is_some()
            || self.build_left
            || !matches!(self.join_type, JoinType::Inner | JoinType::Cross)
        {
            return Ok((batch, plain));
        }
        let nl = self.left.schema().fields().len();
        let n = batch.num_rows();
        let mut fields = vec![];
        let mut cols: Vec<ArrayRef> = vec![];
        let mut narrowed = plain;
        for (j, (f, c)) in batch
            .schema()
            .fields()
            .iter()
            .zip(batch.columns())
            .enumerate()
        {
            let output = self.output.as_ref().is_none_or(|o| o.contains(&(nl + j)));
            if !output {
                fields.push(arrow::datatypes::Field::new(f.name(), DataType::Null, true));
                cols.push(Arc::new(arrow::array::NullArray::new(n)));
                continue;
            }
            if let Some(d) = c.as_primitive_opt::<Decimal128Type>() {
                // every slot, NULL ones included, must fit
                if d.values().iter().all(|v| i64::try_from(*v).is_ok()) {
                    let ints: Int64Array = d.unary(|v| v as i64);
                    fields.push(arrow::datatypes::Field::new(
                        f.name(),
                        DataType::Int64,
                        true,
                    ));
                    cols.push(Arc::new(ints));
                    narrowed[j] = Some(f.data_type().clone());
                    continue;
                }
            }
            fields.push(f.as_ref().clone());
            cols.push(c.clone());
        }
        let batch = make_batch(Arc::new(arrow::datatypes::Schema::new(fields)), cols, n)?;
        Ok((batch, narrowed))
    }

    /// Candidate pairs (probe row, build row) for one probe batch.
    fn pairs(&self, probe: &RecordBatch, build: &Build) -> Result<(Vec<u32>, Vec<u32>)> {
        let n = probe.num_rows();
        let m = build.batch.num_rows() as u32;
        let (mut li, mut ri) = (vec![], vec![]);
        match &build.keys {
            BuildKeys::None => {
                for i in 0..n as u32 {
                    for j in 0..m {
                        li.push(i);
                        ri.push(j);
                    }
                }
            }
            BuildKeys::Int(bk) => {
                let col = self.probe_int_key(probe, build)?;
                let a = col.as_primitive::<Int64Type>();
                let vals = a.values();
                if let Some(min) = build.direct {
                    let (heads, len) = (&build.heads, build.heads.len() as u64);
                    li.reserve(n);
                    ri.reserve(n);
                    for (i, &v) in vals.iter().enumerate() {
                        let d = v.wrapping_sub(min) as u64;
                        if d >= len || a.is_null(i) {
                            continue;
                        }
                        let mut j = heads[d as usize];
                        if build.unique {
                            if j != END {
                                li.push(i as u32);
                                ri.push(j);
                            }
                            continue;
                        }
                        while j != END {
                            li.push(i as u32);
                            ri.push(j);
                            j = build.next[j as usize];
                        }
                    }
                    return Ok((li, ri));
                }
                for (i, &v) in vals.iter().enumerate() {
                    if a.is_null(i) {
                        continue;
                    }
                    let mut j = build.heads[(hash_i64(v) & build.mask) as usize];
                    while j != END {
                        if bk[j as usize] == v {
                            li.push(i as u32);
                            ri.push(j);
                        }
                        j = build.next[j as usize];
                    }
                }
            }
            BuildKeys::Rows(brows) => {
                let conv = self.converter()?;
                let (probe_keys, probe_layout) = self.probe_side();
                let (prows, valid) = self.key_rows(probe_keys, probe, probe_layout, &conv)?;
                for i in 0..n {
                    if !valid[i] {
                        continue;
                    }
                    let key = prows.row(i);
                    let h = self.hasher.hash_one(key.as_ref());
                    let mut j = build.heads[(h & build.mask) as usize];
                    while j != END {
                        if build.hashes[j as usize] == h && brows.row(j as usize) == key {
                            li.push(i as u32);
                            ri.push(j);
                        }
                        j = build.next[j as usize];
                    }
                }
            }
        }
        Ok((li, ri))
    }

    /// The pairs (row `li[k]` of `left`, row `ri[k]` of `right`) as columns: left's, then
    /// right's (a NULL index gives NULLs).
    fn joined(
        left: &RecordBatch,
        li: &UInt32Array,
        right: &RecordBatch,
        ri: &UInt32Array,
    ) -> Result<Vec<ArrayRef>> {
        let mut cols: Vec<ArrayRef> = left
            .columns()
            .iter()
            .map(|c| take(c, li, None))
            .collect::<std::result::Result<_, _>>()?;
        for c in right.columns() {
            cols.push(take(c, ri, None)?);
        }
        Ok(cols)
    }

    /// The residual filter `f` over the pairs of [`Self::joined`]: their columns and the mask.
    fn filter_pairs(
        &self,
        f: &Expr,
        left: &RecordBatch,
        li: &UInt32Array,
        right: &RecordBatch,
        ri: &UInt32Array,
    ) -> Result<(Vec<ArrayRef>, BooleanArray)> {
        let cols = Self::joined(left, li, right, ri)?;
        let fields: Vec<arrow::datatypes::Field> = left
            .schema()
            .fields()
            .iter()
            .chain(right.schema().fields().iter())
            .map(|f| f.as_ref().clone())
            .collect();
        let pb = make_batch(
            Arc::new(arrow::datatypes::Schema::new(fields)),
            cols.clone(),
            li.len(),
        )?;
        let mask = evaluate_predicate(f, &pb, &self.pair_layout)?;
        Ok((cols, mask))
    }

    fn probe_batch(&self, probe: &RecordBatch, build: &Build) -> Result<Option<RecordBatch>> {
        let n = probe.num_rows();
        let (mut li, mut ri) = self.pairs(probe, build)?;
        let mut pair_cols: Option<Vec<ArrayRef>> = None;
        if let Some(f) = &self.filter {
            let (la, ra) = (UInt32Array::from(li.clone()), UInt32Array::from(ri.clone()));
            let (cols, mask) = self.filter_pairs(f, probe, &la, &build.batch, &ra)?;
            let keep: Vec<usize> = (0..li.len()).filter(|i| mask.value(*i)).collect();
            if keep.len() != li.len() {
                li = keep.iter().map(|&i| li[i]).collect();
                ri = keep.iter().map(|&i| ri[i]).collect();
                let idx = UInt32Array::from(keep.iter().map(|&i| i as u32).collect::<Vec<_>>());
                pair_cols = Some(
                    cols.iter()
                        .map(|c| take(c, &idx, None))
                        .collect::<std::result::Result<_, _>>()?,
                );
            } else {
                pair_cols = Some(cols);
            }
        }
        if matches!(self.join_type, JoinType::Full) {
            for &j in &ri {
                build.matched[j as usize].store(true, Ordering::Relaxed);
            }
        }
        let out = match self.join_type {
            JoinType::Inner | JoinType::Cross => {
                let cols = match (pair_cols, &self.output) {
                    (Some(c), None) => c,
                    (Some(c), Some(out)) => out.iter().map(|&i| c[i].clone()).collect(),
                    (None, _) => self.output_columns(
                        probe,
                        &UInt32Array::from(li.clone()),
                        build,
                        &UInt32Array::from(ri.clone()),
                    )?,
                };
                make_batch(self.schema.clone(), cols, li.len())?
            }
            JoinType::Left | JoinType::Full => {
                let mut hit = vec![false; n];
                for &i in &li {
                    hit[i as usize] = true;
                }
                let misses: Vec<u32> = (0..n as u32).filter(|i| !hit[*i as usize]).collect();
                let la = UInt32Array::from(
                    li.iter()
                        .copied()
                        .chain(misses.iter().copied())
                        .collect::<Vec<_>>(),
                );
                // unmatched probe rows get NULL build columns (a NULL take index)
                let ra = UInt32Array::from(
                    ri.iter()
                        .map(|x| Some(*x))
                        .chain(misses.iter().map(|_| None))
                        .collect::<Vec<Option<u32>>>(),
                );
                let cols = Self::joined(probe, &la, &build.batch, &ra)?;
                make_batch(self.schema.clone(), cols, la.len())?
            }
            JoinType::LeftSemi | JoinType::LeftAnti => {
                let mut hit = vec![false; n];
                for &i in &li {
                    hit[i as usize] = true;
                }
                let want = self.join_type == JoinType::LeftSemi;
                let idx = UInt32Array::from(
                    (0..n as u32)
                        .filter(|i| hit[*i as usize] == want)
                        .collect::<Vec<_>>(),
                );
                let cols: Vec<ArrayRef> = probe
                    .columns()
                    .iter()
                    .map(|c| take(c, &idx, None))
                    .collect::<std::result::Result<_, _>>()?;
                make_batch(self.schema.clone(), cols, idx.len())?
            }
            JoinType::Right => {
                return Err(QuarryError::Internal(
                    "RIGHT join reached execution unswapped".into(),
                ))
            }
        };
        Ok((out.num_rows() > 0).then_some(out))
    }

    fn probe_partition(
        &self,
        p: usize,
        ctx: &ExecContext,
        build: &Build,
    ) -> Result<Vec<RecordBatch>> {
        super::collect_batches(|sink| self.probe_partition_into(p, ctx, build, sink))
    }

    /// Probe the build side with partition `p` of the probe side, a batch at a time as
    /// the probe side makes them, handing each output batch to `sink`.
    fn probe_partition_into(
        &self,
        p: usize,
        ctx: &ExecContext,
        build: &Build,
        sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        let m = build.batch.num_rows().max(1);
        self.left.execute_into(p, ctx, &mut |b| {
            ctx.check_cancel()?;
            // bound the pairs of a cross product: slice the probe batch
            let chunk = if self.left_keys.is_empty() {
                (1 << 20) / m
            } else {
                b.num_rows()
            };
            let chunk = chunk.max(1);
            let mut off = 0;
            while off < b.num_rows() {
                ctx.check_cancel()?;
                let len = chunk.min(b.num_rows() - off);
                // the probe's own time (the operators above run in `sink`, the probe
                // side's in `execute_into`)
                let r = self
                    .metrics
                    .time(|| self.probe_batch(&b.slice(off, len), build))?;
                if let Some(r) = r {
                    sink(r)?;
                }
                off += len;
            }
            Ok(())
        })
    }
}

/// Several integer key columns packed into one i64 (mixed radix: each key's offset from
/// the build side's smallest, times the product of the later keys' ranges), when the
/// product of the build keys' ranges fits: TPC-H's (ps_partkey, ps_suppkey) pairs
/// become one integer key, compared and hashed as one, 8 bytes per build row instead
/// of an 18-byte encoded row, its offset and its hash.
struct Packing {
    mins: Vec<i64>,
    /// Each key's range (max - min + 1) on the build side.
    ranges: Vec<u64>,
}

impl Packing {
    /// The packing of the build side's key columns (Int64 each), `None` when the ranges'
    /// product exceeds i64.
    fn new(cols: &[ArrayRef]) -> Option<Packing> {
        let (mut mins, mut ranges) = (vec![], vec![]);
        let mut product: u128 = 1;
        for c in cols {
            let a = c.as_primitive::<Int64Type>();
            let (min, max) = match (arrow::compute::min(a), arrow::compute::max(a)) {
                (Some(lo), Some(hi)) => (lo, hi),
                _ => (0, 0),
            };
            let range = (max as i128 - min as i128 + 1) as u128;
            product = product.checked_mul(range)?;
            if product > i64::MAX as u128 {
                return None;
            }
            mins.push(min);
            ranges.push(range as u64);
        }
        Some(Packing { mins, ranges })
    }

    /// The packed key of each row: NULL when a key is NULL or outside the build side's
    /// range (such a row has no partner).
    fn pack(&self, cols: &[ArrayRef]) -> Int64Array {
        let n = cols.first().map_or(0, |c| c.len());
        let arrays: Vec<&Int64Array> = cols.iter().map(|c| c.as_primitive::<Int64Type>()).collect();
        let mut values = vec![0i64; n];
        let mut valid = vec![true; n];
        for (k, a) in arrays.iter().enumerate() {
            let (min, range) = (self.mins[k], self.ranges[k]);
            for (i, &v) in a.values().iter().enumerate() {
                let d = v.wrapping_sub(min) as u64;
                if d >= range || a.is_null(i) {
                    valid[i] = false;
                } else {
                    // the product of all ranges fits i64, so this does not overflow
                    values[i] = values[i] * range as i64 + d as i64;
                }
            }
        }
        Int64Array::new(values.into(), Some(NullBuffer::from(valid)))
    }
}

/// The smallest non-NULL key and the key range (max - min + 1) of `keys`, when that
/// range is at most `limit` (so a table indexed by the key itself is no larger than
/// `limit` entries): TPC-H's keys are dense integers (c_custkey 1..=150,000 per SF).
fn direct_range(keys: &Int64Array, limit: usize) -> Option<(i64, usize)> {
    let min = arrow::compute::min(keys)?;
    let max = arrow::compute::max(keys)?;
    let range = (max as i128 - min as i128 + 1) as u128;
    (range <= limit as u128).then_some((min, range as usize))
}

/// `concat_batches` that frees each input column once it is copied, so the build side
/// is held about once, not twice, while it is gathered into one batch.
fn concat_owned(schema: SchemaRef, batches: Vec<RecordBatch>) -> Result<RecordBatch> {
    if batches.len() == 1 {
        return Ok(batches
            .into_iter()
            .next()
            .unwrap_or_else(|| RecordBatch::new_empty(schema)));
    }
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut columns: Vec<Vec<Option<ArrayRef>>> = batches
        .into_iter()
        .map(|b| b.columns().iter().cloned().map(Some).collect())
        .collect();
    let mut out = Vec::with_capacity(schema.fields().len());
    for (j, f) in schema.fields().iter().enumerate() {
        let parts: Vec<ArrayRef> = columns
            .iter_mut()
            .filter_map(|c| c.get_mut(j)?.take())
            .collect();
        out.push(crate::functions::collections::concat_arrays(
            &parts,
            f.data_type(),
        )?);
    }
    make_batch(schema, out, rows)
}

impl ExecutionPlan for HashJoinExec {
    fn describe(&self) -> String {
        let keys: Vec<String> = self
            .left_keys
            .iter()
            .zip(&self.right_keys)
            .map(|(l, r)| format!("{l} = {r}"))
            .collect();
        let mut s = if keys.is_empty() {
            format!("NestedLoopJoinExec {:?}", self.join_type)
        } else {
            format!(
                "HashJoinExec {:?} on=[{}] (build={})",
                self.join_type,
                keys.join(", "),
                if self.build_left { "left" } else { "right" }
            )
        };
        if let Some(f) = &self.filter {
            s.push_str(&format!(" filter={f}"));
        }
        s
    }
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
    fn ids(&self) -> &[ColumnId] {
        &self.ids
    }
    fn partitions(&self) -> usize {
        if self.build_left && self.join_type == JoinType::Left {
            self.right.partitions()
        } else if self.join_type == JoinType::Full || self.build_left {
            1
        } else {
            self.left.partitions()
        }
    }
    fn execute(&self, p: usize, ctx: &ExecContext) -> Result<Vec<RecordBatch>> {
        if self.build_left && self.join_type == JoinType::Left {
            let build = self.get_build(ctx)?;
            return self
                .metrics
                .record(|| self.execute_left_outer_build_left(p, ctx, &build));
        }
        if self.build_left {
            return self.metrics.record(|| self.execute_build_left(ctx));
        }
        let build = self.get_build(ctx)?;
        if self.join_type != JoinType::Full {
            let out = self.probe_partition(p, ctx, &build)?;
            return self.metrics.record(|| Ok(out));
        }
        let n = self.left.partitions();
        self.left.prepare(ctx)?;
        let parts: Vec<Vec<RecordBatch>> = ctx.pool.install(|| {
            (0..n)
                .into_par_iter()
                .map(|q| self.probe_partition(q, ctx, &build))
                .collect::<Result<_>>()
        })?;
        self.metrics.record(|| {
            let mut out: Vec<RecordBatch> = parts.into_iter().flatten().collect();
            out.extend(self.unmatched_build_rows(&build, &self.left.schema(), false)?);
            Ok(out)
        })
    }
    fn execute_into(
        &self,
        p: usize,
        ctx: &ExecContext,
        sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        if self.build_left || self.join_type == JoinType::Full {
            return self.execute(p, ctx)?.into_iter().try_for_each(sink);
        }
        // probe batches joined as the probe side makes them, handed on one by one
        let build = self.get_build(ctx)?;
        self.probe_partition_into(p, ctx, &build, &mut |b| {
            self.metrics
                .rows
                .fetch_add(b.num_rows() as u64, std::sync::atomic::Ordering::Relaxed);
            sink(b)
        })
    }
    fn prepare(&self, ctx: &ExecContext) -> Result<()> {
        if self.build_left && self.join_type == JoinType::Left {
            // the build is on the left; the right's partitions are this join's
            self.get_build(ctx)?;
            return self.right.prepare(ctx);
        }
        if self.build_left {
            // one output partition, whose execution streams the right side in parallel
            return self.children().iter().try_for_each(|c| c.prepare(ctx));
        }
        self.get_build(ctx)?;
        self.left.prepare(ctx)
    }
    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![self.left.clone(), self.right.clone()]
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

#[cfg(test)]
mod key_bitmap_tests {
    use super::KeyBitmap;

    #[test]
    fn membership_is_exact_over_the_range_and_false_outside() {
        let keys = [-5i64, 3, 64, 65, 1000, 3];
        let b = KeyBitmap::new(&keys).expect("a small range");
        for v in -70..1100 {
            assert_eq!(b.contains(v), keys.contains(&v), "{v}");
        }
        assert!(!b.contains(i64::MIN) && !b.contains(i64::MAX));
        // no keys: nothing passes
        assert!(!KeyBitmap::new(&[]).unwrap().contains(0));
    }

    #[test]
    fn a_wide_range_is_left_to_the_hash_table() {
        assert!(KeyBitmap::new(&[0, 1 << 40]).is_none());
        assert!(KeyBitmap::new(&[i64::MIN, i64::MAX]).is_none());
        // 512 bits per key or 2^20 bits, whichever is more
        assert!(KeyBitmap::new(&(0..4096).map(|k| k * 511).collect::<Vec<_>>()).is_some());
        assert!(KeyBitmap::new(&(0..4096).map(|k| k * 513).collect::<Vec<_>>()).is_none());
        assert!(KeyBitmap::new(&[0, (1 << 20) - 1]).is_some());
        assert!(KeyBitmap::new(&[0, 1 << 20]).is_none());
    }
}
