//! WindowExec: window functions (`f(...) OVER (PARTITION BY ... ORDER BY ... frame)`).
//!
//! A pipeline breaker: the whole input is gathered into one batch. Calls that share a
//! (PARTITION BY, ORDER BY) specification are computed together: the batch is sorted by
//! partition keys then order keys (arrow's `lexsort_to_indices`), partitions and peer
//! groups are found with arrow's `partition` kernel, and each call is evaluated per
//! partition. Aggregates over a frame reuse the GROUP BY accumulators: a frame that
//! covers the whole partition is one group per partition; other frames are expanded
//! into (row, frame member) pairs, O(rows x frame size), bounded by
//! [`MAX_EXPANDED_FRAME_ROWS`]. Output order is the sort order of the last
//! specification (SQL gives no order without ORDER BY).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int32Array, UInt32Array};
use arrow::compute::kernels::zip::zip;
use arrow::compute::{concat_batches, lexsort_to_indices, take, SortColumn, SortOptions};
use arrow::datatypes::{DataType, Float64Type, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::eval::{cast_array, evaluate, layout_of};
use super::wavelet::WaveletMatrix;
use super::{execute_all, make_batch, ExecContext, ExecutionPlan, Metrics};
use crate::error::{QuarryError, Result};
use crate::functions::aggregate::{create_accumulator, Accumulator};
use crate::plan::{ColumnId, FrameBound, FrameUnits, SortKey, WindowExpr, WindowFunc};

/// The most (row, frame member) pairs a sliding or running frame may expand to.
pub const MAX_EXPANDED_FRAME_ROWS: usize = 50_000_000;

pub struct WindowExec {
    pub input: Arc<dyn ExecutionPlan>,
    windows: Vec<WindowExpr>,
    ids: Vec<ColumnId>,
    schema: SchemaRef,
    metrics: Metrics,
}

impl WindowExec {
    /// `ids`/`schema`: the input's columns followed by one column per call.
    pub fn new(
        input: Arc<dyn ExecutionPlan>,
        windows: Vec<WindowExpr>,
        ids: Vec<ColumnId>,
        schema: SchemaRef,
    ) -> Self {
        WindowExec {
            input,
            windows,
            ids,
            schema,
            metrics: Metrics::default(),
        }
    }
}

fn same_spec(a: &WindowExpr, b: &WindowExpr) -> bool {
    a.partition_by == b.partition_by && a.order_by == b.order_by
}

/// Ranges of equal consecutive rows over `cols` within `[0, n)`.
fn ranges(cols: &[ArrayRef], n: usize) -> Result<Vec<std::ops::Range<usize>>> {
    if cols.is_empty() || n == 0 {
        return Ok(if n == 0 { vec![] } else { vec![0..n] });
    }
    Ok(arrow::compute::partition(cols)?.ranges())
}

impl ExecutionPlan for WindowExec {
    fn describe(&self) -> String {
        let w: Vec<String> = self.windows.iter().map(|w| w.to_string()).collect();
        format!("WindowExec [{}]", w.join(", "))
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
        let parts = execute_all(&self.input, ctx)?;
        self.metrics.record(|| {
            let batches: Vec<RecordBatch> = parts.into_iter().flatten().collect();
            let in_schema = self.input.schema();
            let all = concat_batches(&in_schema, &batches)?;
            let n = all.num_rows();
            if n == 0 {
                return Ok(vec![]);
            }
            let in_cols = all.num_columns();
            // columns: input, then computed window columns in computation order
            let mut columns: Vec<ArrayRef> = all.columns().to_vec();
            let mut ids: Vec<ColumnId> = self.input.ids().to_vec();
            let out_ids = &self.ids[in_cols..];
            let mut done = vec![false; self.windows.len()];
            for i in 0..self.windows.len() {
                if done[i] {
                    continue;
                }
                ctx.check_cancel()?;
                let group: Vec<usize> = (i..self.windows.len())
                    .filter(|&j| !done[j] && same_spec(&self.windows[i], &self.windows[j]))
                    .collect();
                let spec = &self.windows[i];
                let layout = layout_of(&ids);
                let batch = batch_of(&columns, n)?;
                let part_keys: Vec<ArrayRef> = spec
                    .partition_by
                    .iter()
                    .map(|e| evaluate(e, &batch, &layout))
                    .collect::<Result<_>>()?;
                let order_keys: Vec<ArrayRef> = spec
                    .order_by
                    .iter()
                    .map(|k| evaluate(&k.expr, &batch, &layout))
                    .collect::<Result<_>>()?;
                let mut sort_cols: Vec<SortColumn> = part_keys
                    .iter()
                    .map(|a| SortColumn {
                        values: a.clone(),
                        options: Some(SortOptions::default()),
                    })
                    .collect();
                sort_cols.extend(
                    order_keys
                        .iter()
                        .zip(&spec.order_by)
                        .map(|(a, k)| SortColumn {
                            values: a.clone(),
                            options: Some(SortOptions {
                                descending: !k.asc,
                                nulls_first: k.nulls_first,
                            }),
                        }),
                );
                let (columns2, part_keys, order_keys) = if sort_cols.is_empty() {
                    (columns.clone(), part_keys, order_keys)
                } else {
                    let idx = lexsort_to_indices(&sort_cols, None)?;
                    let t = |v: &[ArrayRef]| {
                        v.iter()
                            .map(|c| take(c, &idx, None).map_err(QuarryError::from))
                            .collect::<Result<Vec<_>>>()
                    };
                    (t(&columns)?, t(&part_keys)?, t(&order_keys)?)
                };
                columns = columns2;
                let batch = batch_of(&columns, n)?;
                let partitions = ranges(&part_keys, n)?;
                for &j in &group {
                    let w = &self.windows[j];
                    let args: Vec<ArrayRef> = w
                        .args
                        .iter()
                        .map(|e| evaluate(e, &batch, &layout))
                        .collect::<Result<_>>()?;
                    let arg_keys: Vec<ArrayRef> = w
                        .arg_order
                        .iter()
                        .map(|k| evaluate(&k.expr, &batch, &layout))
                        .collect::<Result<_>>()?;
                    let out = compute(w, &args, &arg_keys, &order_keys, &partitions, n)?;
                    columns.push(cast_array(&out, &w.data_type)?);
                    ids.push(out_ids[j]);
                    done[j] = true;
                }
            }
            // reorder to the declared output: input columns, then calls in order
            let pos = |id: ColumnId| ids.iter().position(|x| *x == id);
            let mut out = columns[..in_cols].to_vec();
            for id in out_ids {
                let p = pos(*id)
                    .ok_or_else(|| QuarryError::Internal("window column missing".into()))?;
                out.push(columns[p].clone());
            }
            Ok(vec![make_batch(self.schema.clone(), out, n)?])
        })
    }
    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![self.input.clone()]
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// A batch holding `columns` (names are irrelevant to evaluation, which goes by layout).
fn batch_of(columns: &[ArrayRef], n: usize) -> Result<RecordBatch> {
    let fields: Vec<arrow::datatypes::Field> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| arrow::datatypes::Field::new(format!("c{i}"), c.data_type().clone(), true))
        .collect();
    make_batch(
        Arc::new(arrow::datatypes::Schema::new(fields)),
        columns.to_vec(),
        n,
    )
}

/// Evaluate one call over rows already sorted by its partition and order keys;
/// `arg_keys`: its [`WindowExpr::arg_order`] keys, evaluated.
fn compute(
    w: &WindowExpr,
    args: &[ArrayRef],
    arg_keys: &[ArrayRef],
    order_keys: &[ArrayRef],
    partitions: &[std::ops::Range<usize>],
    n: usize,
) -> Result<ArrayRef> {
    // peer groups (rows equal on the ORDER BY keys) inside each partition
    let mut peers: Vec<std::ops::Range<usize>> = Vec::with_capacity(n); // per row: its peer group
    for p in partitions {
        let sliced: Vec<ArrayRef> = order_keys
            .iter()
            .map(|a| a.slice(p.start, p.len()))
            .collect();
        let rs = ranges(&sliced, p.len())?;
        for r in rs {
            let g = (p.start + r.start)..(p.start + r.end);
            for _ in r {
                peers.push(g.clone());
            }
        }
    }
    if !w.arg_order.is_empty() {
        let frames = frames(w, order_keys, partitions, &peers, n)?;
        return compute_arg_ordered(w, args, arg_keys, partitions, &frames);
    }
    match &w.func {
        WindowFunc::RowNumber | WindowFunc::Rank | WindowFunc::DenseRank | WindowFunc::Ntile(_) => {
            let mut v = Vec::with_capacity(n);
            for p in partitions {
                let len = p.len() as i64;
                let mut dense = 0;
                let mut last_start = usize::MAX;
                for r in p.clone() {
                    if peers[r].start != last_start {
                        dense += 1;
                        last_start = peers[r].start;
                    }
                    let i = (r - p.start) as i64;
                    v.push(match &w.func {
                        WindowFunc::RowNumber => i + 1,
                        WindowFunc::Rank => (peers[r].start - p.start) as i64 + 1,
                        WindowFunc::DenseRank => dense,
                        WindowFunc::Ntile(k) => ntile(i, len, *k),
                        _ => 0,
                    } as i32);
                }
            }
            Ok(Arc::new(Int32Array::from(v)))
        }
        WindowFunc::PercentRank | WindowFunc::CumeDist => {
            let mut v = Vec::with_capacity(n);
            for p in partitions {
                let len = p.len() as f64;
                for r in p.clone() {
                    v.push(match w.func {
                        WindowFunc::PercentRank => {
                            if p.len() <= 1 {
                                0.0
                            } else {
                                (peers[r].start - p.start) as f64 / (len - 1.0)
                            }
                        }
                        _ => (peers[r].end - p.start) as f64 / len,
                    });
                }
            }
            Ok(Arc::new(Float64Array::from(v)))
        }
        WindowFunc::Lead {
            offset,
            ignore_nulls,
        }
        | WindowFunc::Lag {
            offset,
            ignore_nulls,
        } => {
            let off = signed_offset(&w.func, *offset);
            let x = args
                .first()
                .ok_or_else(|| QuarryError::Internal("lead/lag without argument".into()))?;
            let mut idx = Vec::with_capacity(n);
            let mut outside = Vec::with_capacity(n);
            for p in partitions {
                if *ignore_nulls && off != 0 {
                    // the |off|-th non-NULL row after (lead) or before (lag) each row
                    let valid: Vec<usize> = p.clone().filter(|&i| x.is_valid(i)).collect();
                    for r in p.clone() {
                        // valid rows strictly before r
                        let before = valid.partition_point(|&v| v < r) as i64;
                        let t = if off > 0 {
                            // `before` plus r itself when r is valid is where "after r" starts
                            let first_after = before + i64::from(x.is_valid(r));
                            first_after + off - 1
                        } else {
                            before + off
                        };
                        match usize::try_from(t).ok().and_then(|t| valid.get(t)) {
                            Some(&v) => {
                                idx.push(Some(v as u32));
                                outside.push(false);
                            }
                            None => {
                                idx.push(None);
                                outside.push(true);
                            }
                        }
                    }
                    continue;
                }
                for r in p.clone() {
                    let t = (r as i64).saturating_add(off);
                    if t >= p.start as i64 && t < p.end as i64 {
                        idx.push(Some(t as u32));
                        outside.push(false);
                    } else {
                        idx.push(None);
                        outside.push(true);
                    }
                }
            }
            let taken = take(x, &UInt32Array::from(idx), None)?;
            with_default(taken, args.get(1), outside)
        }
        WindowFunc::FirstValue { ignore_nulls }
        | WindowFunc::LastValue { ignore_nulls }
        | WindowFunc::NthValue { ignore_nulls, .. } => {
            let x = args
                .first()
                .ok_or_else(|| QuarryError::Internal("value function without argument".into()))?;
            let frames = frames(w, order_keys, partitions, &peers, n)?;
            let mut idx = Vec::with_capacity(n);
            for f in frames {
                let members: Box<dyn Iterator<Item = usize>> = match w.func {
                    WindowFunc::LastValue { .. } => Box::new(f.rev()),
                    _ => Box::new(f),
                };
                let mut members = members.filter(|&i| !*ignore_nulls || x.is_valid(i));
                let pick = match w.func {
                    WindowFunc::NthValue { n: k, .. } => members.nth((k - 1).max(0) as usize),
                    _ => members.next(),
                };
                idx.push(pick.map(|i| i as u32));
            }
            Ok(take(x, &UInt32Array::from(idx), None)?)
        }
        WindowFunc::Aggregate { func, distinct } => {
            let types: Vec<DataType> = args.iter().map(|a| a.data_type().clone()).collect();
            let mut acc: Box<dyn Accumulator> =
                create_accumulator(func, *distinct, &types, &w.data_type)?;
            let whole = whole_partition(w);
            if whole {
                let mut groups = Vec::with_capacity(n);
                for (g, p) in partitions.iter().enumerate() {
                    groups.extend(std::iter::repeat_n(g, p.len()));
                }
                acc.update(args, &groups, partitions.len())?;
                let per_part = acc.finish(partitions.len())?;
                let idx = UInt32Array::from(groups.iter().map(|&g| g as u32).collect::<Vec<_>>());
                return Ok(take(&per_part, &idx, None)?);
            }
            let frames = frames(w, order_keys, partitions, &peers, n)?;
            let total: usize = frames.iter().map(|f| f.len()).sum();
            if total > MAX_EXPANDED_FRAME_ROWS {
                return Err(QuarryError::NotSupported(format!(
                    "a window frame ({:?} BETWEEN {} AND {}) over {n} rows ({total} row-frame pairs, the limit is {MAX_EXPANDED_FRAME_ROWS}); use a smaller frame or more partitions",
                    w.frame.units, w.frame.start, w.frame.end
                )));
            }
            let mut member = Vec::with_capacity(total);
            let mut groups = Vec::with_capacity(total);
            for (r, f) in frames.iter().enumerate() {
                for i in f.clone() {
                    member.push(i as u32);
                    groups.push(r);
                }
            }
            let member = UInt32Array::from(member);
            let taken: Vec<ArrayRef> = args
                .iter()
                .map(|a| take(a, &member, None).map_err(QuarryError::from))
                .collect::<Result<_>>()?;
            acc.update(&taken, &groups, n)?;
            acc.finish(n)
        }
    }
}

/// A value function or lead/lag with an ORDER BY inside its parentheses (DuckDB's
/// `first_value(x ORDER BY y) OVER w`, `lead(x, 1 ORDER BY y) OVER w`): each row's frame
/// (placed by the window's ORDER BY) is read in the order of `arg_keys`, ties in row
/// order. first/last/nth_value take the first, last or n-th row of the frame in that
/// order (with IGNORE NULLS, of its rows where `x` is not NULL); lead/lag take the row
/// `offset` places after/before the current row in it (or the default when there is
/// none). Every row gets its rank in its partition under that order, then a
/// [`WaveletMatrix`] over the ranks answers each frame in O(log rows).
fn compute_arg_ordered(
    w: &WindowExpr,
    args: &[ArrayRef],
    arg_keys: &[ArrayRef],
    partitions: &[std::ops::Range<usize>],
    frames: &[std::ops::Range<usize>],
) -> Result<ArrayRef> {
    let n = frames.len();
    let x = args
        .first()
        .ok_or_else(|| QuarryError::Internal("value function without argument".into()))?;
    let ignore_nulls = matches!(
        w.func,
        WindowFunc::FirstValue { ignore_nulls: true }
            | WindowFunc::LastValue { ignore_nulls: true }
            | WindowFunc::NthValue {
                ignore_nulls: true,
                ..
            }
    );
    // rank of every row: sorted by partition, then (with IGNORE NULLS) x's NULLs last,
    // then the argument's keys, then position; partitions are already contiguous, so
    // ranks [p.start, p.end) belong to partition p
    let mut part_id = Vec::with_capacity(n);
    for (i, p) in partitions.iter().enumerate() {
        part_id.extend(std::iter::repeat_n(i as u32, p.len()));
    }
    let mut sort_cols = vec![SortColumn {
        values: Arc::new(UInt32Array::from(part_id)),
        options: None,
    }];
    if ignore_nulls {
        sort_cols.push(SortColumn {
            values: Arc::new(arrow::compute::is_null(x)?),
            options: None,
        });
    }
    sort_cols.extend(arg_keys.iter().zip(&w.arg_order).map(|(a, k)| SortColumn {
        values: a.clone(),
        options: Some(SortOptions {
            descending: !k.asc,
            nulls_first: k.nulls_first,
        }),
    }));
    sort_cols.push(SortColumn {
        values: Arc::new(UInt32Array::from_iter_values(0..n as u32)),
        options: None,
    });
    let by_rank = lexsort_to_indices(&sort_cols, None)?; // rank -> row
    let mut rank = vec![0u32; n]; // row -> rank
    for (r, &row) in by_rank.values().iter().enumerate() {
        rank[row as usize] = r as u32;
    }
    let wm = WaveletMatrix::new(&rank);
    // valid rows before each position, for the IGNORE NULLS counts
    let mut valid_before = Vec::with_capacity(n + 1);
    valid_before.push(0usize);
    for i in 0..n {
        valid_before.push(valid_before[i] + usize::from(x.is_valid(i)));
    }
    let row_at = |f: &std::ops::Range<usize>, k: usize| -> Option<u32> {
        wm.kth_smallest(f.start, f.end, k)
            .map(|r| by_rank.value(r as usize))
    };
    let mut idx: Vec<Option<u32>> = Vec::with_capacity(n);
    let mut outside = Vec::with_capacity(n);
    for (r, f) in frames.iter().enumerate() {
        let members = if ignore_nulls {
            valid_before[f.end] - valid_before[f.start]
        } else {
            f.len()
        };
        let pick = match &w.func {
            WindowFunc::FirstValue { .. } => (members > 0).then_some(0),
            WindowFunc::LastValue { .. } => members.checked_sub(1),
            WindowFunc::NthValue { n: k, .. } => {
                usize::try_from(*k - 1).ok().filter(|&k| k < members)
            }
            WindowFunc::Lead { offset, .. } | WindowFunc::Lag { offset, .. } => {
                let off = signed_offset(&w.func, *offset);
                // the current row's place among the frame's rows in the argument order;
                // a row outside its frame sits between the smaller and the larger ones
                let before = wm.count_less(f.start, f.end, rank[r]) as i64;
                let in_frame = f.contains(&r);
                let target = if off > 0 && !in_frame {
                    before + off - 1
                } else {
                    before + off
                };
                let t = usize::try_from(target).ok().filter(|&t| t < f.len());
                outside.push(t.is_none());
                t
            }
            other => {
                return Err(QuarryError::Internal(format!(
                    "ORDER BY inside the arguments of {other:?}"
                )))
            }
        };
        idx.push(pick.and_then(|k| row_at(f, k)));
    }
    let taken = take(x, &UInt32Array::from(idx), None)?;
    match &w.func {
        WindowFunc::Lead { .. } | WindowFunc::Lag { .. } => {
            with_default(taken, args.get(1), outside)
        }
        _ => Ok(taken),
    }
}

/// lead/lag's offset as a step through the rows: forward for lead, backward for lag.
fn signed_offset(func: &WindowFunc, offset: i64) -> i64 {
    if matches!(func, WindowFunc::Lag { .. }) {
        offset.saturating_neg()
    } else {
        offset
    }
}

/// lead/lag's values `taken`, with `default` (cast to their type) where `outside` says
/// the offset left the partition or frame; `taken` as it is without a default.
fn with_default(
    taken: ArrayRef,
    default: Option<&ArrayRef>,
    outside: Vec<bool>,
) -> Result<ArrayRef> {
    match default {
        Some(d) => {
            let d = cast_array(d, taken.data_type())?;
            Ok(zip(&BooleanArray::from(outside), &d, &taken)?)
        }
        None => Ok(taken),
    }
}

/// Spark's NTILE: the first `len % k` buckets get one extra row.
fn ntile(i: i64, len: i64, k: i64) -> i64 {
    let k = k.max(1);
    let base = len / k;
    let extra = len % k;
    let big = extra * (base + 1);
    if i < big {
        i / (base + 1) + 1
    } else if base == 0 {
        i + 1
    } else {
        extra + (i - big) / base + 1
    }
}

fn whole_partition(w: &WindowExpr) -> bool {
    let f = &w.frame;
    f.start == FrameBound::UnboundedPreceding && f.end == FrameBound::UnboundedFollowing
}

/// `micros` (microseconds since the epoch, a date's or a timestamp's) plus `months`
/// months, through [`add_months`](crate::functions::datetime::add_months) (Jan 31 + 1
/// month is Feb 28 or 29). None past the dates chrono represents.
fn add_months_to_micros(micros: f64, months: f64) -> Option<f64> {
    let t = chrono::DateTime::from_timestamp_micros(micros as i64)?.naive_utc();
    let shifted = crate::functions::datetime::add_months(t, months as i64)?;
    Some(shifted.and_utc().timestamp_micros() as f64)
}

/// The frame of every row, as row ranges in the sorted batch.
fn frames(
    w: &WindowExpr,
    order_keys: &[ArrayRef],
    partitions: &[std::ops::Range<usize>],
    peers: &[std::ops::Range<usize>],
    n: usize,
) -> Result<Vec<std::ops::Range<usize>>> {
    let mut out = Vec::with_capacity(n);
    let f = &w.frame;
    // RANGE with a value offset: the single ORDER BY key as doubles
    let range_values: Option<(Float64Array, &SortKey)> = if f.units == FrameUnits::Range
        && (matches!(f.start, FrameBound::Preceding(_) | FrameBound::Following(_))
            || matches!(f.end, FrameBound::Preceding(_) | FrameBound::Following(_)))
    {
        if order_keys.len() != 1 {
            return Err(QuarryError::Analysis("[DATATYPE_MISMATCH.RANGE_FRAME_MULTI_ORDER] A RANGE window frame with value boundaries cannot be used in a window specification with multiple order by expressions".into()));
        }
        let k = &order_keys[0];
        // dates and timestamps as microseconds (the binder made their offsets day-time
        // intervals, in microseconds)
        let v = match k.data_type() {
            DataType::Timestamp(..) => {
                // arrow's cast: the stored microseconds (Spark's cast gives seconds)
                let micros = arrow::compute::cast(k, &crate::types::TIMESTAMP)?;
                arrow::compute::cast(
                    &arrow::compute::cast(&micros, &DataType::Int64)?,
                    &DataType::Float64,
                )?
            }
            DataType::Date32 => {
                let days = cast_array(&cast_array(k, &DataType::Int32)?, &DataType::Float64)?;
                Arc::new(arrow::compute::kernels::numeric::mul(
                    &days,
                    &Float64Array::new_scalar(86_400_000_000.0),
                )?)
            }
            t if crate::types::is_numeric(t) => cast_array(k, &DataType::Float64)?,
            t => {
                return Err(QuarryError::NotSupported(format!(
                    "RANGE frames with offsets over a {} ORDER BY key",
                    crate::types::type_name(t)
                )))
            }
        };
        Some((v.as_primitive::<Float64Type>().clone(), &w.order_by[0]))
    } else {
        None
    };
    // GROUPS: every peer group in order, and each row's
    let (groups, group_of) = if f.units == FrameUnits::Groups {
        let mut groups: Vec<std::ops::Range<usize>> = vec![];
        let mut group_of = vec![0; n];
        for (r, g) in group_of.iter_mut().enumerate() {
            if groups.last() != Some(&peers[r]) {
                groups.push(peers[r].clone());
            }
            *g = groups.len() - 1;
        }
        (groups, group_of)
    } else {
        (vec![], vec![])
    };
    for p in partitions {
        for r in p.clone() {
            // the row's peer group `k` groups away (backwards when negative); None past
            // the partition's first or last group
            let group_at = |k: i64| -> Option<&std::ops::Range<usize>> {
                let t = (group_of[r] as i64).saturating_add(k);
                let (lo, hi) = (group_of[p.start] as i64, group_of[p.end - 1] as i64);
                (lo..=hi).contains(&t).then(|| &groups[t as usize])
            };
            let bound = |b: &FrameBound, is_start: bool| -> usize {
                match (b, f.units) {
                    (FrameBound::UnboundedPreceding, _) => p.start,
                    (FrameBound::UnboundedFollowing, _) => p.end,
                    (FrameBound::CurrentRow, FrameUnits::Rows) => {
                        if is_start {
                            r
                        } else {
                            r + 1
                        }
                    }
                    (FrameBound::CurrentRow, FrameUnits::Range | FrameUnits::Groups) => {
                        if is_start {
                            peers[r].start
                        } else {
                            peers[r].end
                        }
                    }
                    (FrameBound::Preceding(k), FrameUnits::Rows) => {
                        let t = (r as i64)
                            .saturating_sub(*k as i64)
                            .saturating_add(i64::from(!is_start));
                        t.clamp(p.start as i64, p.end as i64) as usize
                    }
                    (FrameBound::Following(k), FrameUnits::Rows) => {
                        let t = (r as i64)
                            .saturating_add(*k as i64)
                            .saturating_add(i64::from(!is_start));
                        t.clamp(p.start as i64, p.end as i64) as usize
                    }
                    (FrameBound::Preceding(k), FrameUnits::Groups) => {
                        match group_at(-(k.min(i64::MAX as f64) as i64)) {
                            Some(g) if is_start => g.start,
                            Some(g) => g.end,
                            None => p.start,
                        }
                    }
                    (FrameBound::Following(k), FrameUnits::Groups) => {
                        match group_at(k.min(i64::MAX as f64) as i64) {
                            Some(g) if is_start => g.start,
                            Some(g) => g.end,
                            None => p.end,
                        }
                    }
                    (FrameBound::Preceding(k) | FrameBound::Following(k), FrameUnits::Range) => {
                        let Some((vals, key)) = &range_values else {
                            return r;
                        };
                        if vals.is_null(r) {
                            // NULL keys: the frame is the NULL peer group
                            return if is_start {
                                peers[r].start
                            } else {
                                peers[r].end
                            };
                        }
                        let delta = if matches!(b, FrameBound::Preceding(_)) {
                            -*k
                        } else {
                            *k
                        };
                        // in sort order, "preceding" means smaller values when ascending
                        let delta = if key.asc { delta } else { -delta };
                        let target = if f.months {
                            match add_months_to_micros(vals.value(r), delta) {
                                Some(t) => t,
                                // past the last representable date: every row before it
                                None if delta > 0.0 => f64::INFINITY,
                                None => f64::NEG_INFINITY,
                            }
                        } else {
                            vals.value(r) + delta
                        };
                        // first row (is_start) / one past the last row (end) whose value is within the target
                        let mut lo = p.start;
                        let mut hi = p.end;
                        let before = |i: usize| -> bool {
                            if vals.is_null(i) {
                                return key.nulls_first;
                            }
                            let v = vals.value(i);
                            match (key.asc, is_start) {
                                (true, true) => v < target,
                                (true, false) => v <= target,
                                (false, true) => v > target,
                                (false, false) => v >= target,
                            }
                        };
                        while lo < hi {
                            let mid = (lo + hi) / 2;
                            if before(mid) {
                                lo = mid + 1;
                            } else {
                                hi = mid;
                            }
                        }
                        lo
                    }
                }
            };
            let s = bound(&f.start, true);
            let e = bound(&f.end, false);
            out.push(if s < e { s..e } else { s..s });
        }
    }
    Ok(out)
}
