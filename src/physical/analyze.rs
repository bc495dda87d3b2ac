//! `ANALYZE TABLE ... COMPUTE STATISTICS` execution: row counts and per-column
//! statistics (Spark's `ColumnStat`: distinct count, NULL count, min/max, average and
//! largest length, an equi-height histogram) computed in one parallel scan.
//!
//! Distinct counts are HyperLogLog++ estimates (Heule, Nunkesser and Hall, 2013; the
//! `hyperloglogplus` crate, precision 14: about 0.8% standard error), as Spark's
//! `approx_count_distinct`. Histograms (numeric, date and timestamp columns) come from a
//! stride sample of at most [`SAMPLE_PER_MORSEL`] values per morsel, sorted into
//! [`HISTOGRAM_BINS`] buckets of equal height (Spark's default bin count).

use std::collections::BTreeMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use hyperloglogplus::{HyperLogLog, HyperLogLogPlus};
use rayon::prelude::*;

use super::scan::ScanExec;
use super::{ExecContext, ExecutionPlan};
use crate::catalog::ColumnStatisticsMeta;
use crate::error::{QuarryError, Result};
use crate::optimizer::stats::to_f64_array;
use crate::plan::{Column, TableSource};

/// Buckets of an equi-height histogram (Spark's `spark.sql.statistics.histogram.numBins`).
pub const HISTOGRAM_BINS: usize = 254;
/// Values sampled per morsel for the histogram.
pub const SAMPLE_PER_MORSEL: usize = 4096;
const HLL_PRECISION: u8 = 14;

type Sketch = HyperLogLogPlus<[u8], BuildHasherDefault<std::collections::hash_map::DefaultHasher>>;

/// Running statistics of one column.
struct ColumnAcc {
    data_type: DataType,
    hll: Sketch,
    nulls: u64,
    /// (value as f64, the value itself) of the smallest and largest.
    min: Option<(f64, ArrayRef)>,
    max: Option<(f64, ArrayRef)>,
    total_len: u64,
    max_len: u64,
    sample: Vec<f64>,
}

fn sketch() -> Result<Sketch> {
    Sketch::new(HLL_PRECISION, Default::default())
        .map_err(|e| QuarryError::Internal(format!("HyperLogLog: {e:?}")))
}

/// Bytes of a fixed-width value (Spark's `avgLen` / `maxLen` for such types).
fn width(t: &DataType) -> u64 {
    t.primitive_width().unwrap_or(8) as u64
}

impl ColumnAcc {
    fn new(data_type: DataType) -> Result<ColumnAcc> {
        Ok(ColumnAcc {
            data_type,
            hll: sketch()?,
            nulls: 0,
            min: None,
            max: None,
            total_len: 0,
            max_len: 0,
            sample: vec![],
        })
    }

    fn update(&mut self, a: &ArrayRef) -> Result<()> {
        self.nulls += a.null_count() as u64;
        let valid = (a.len() - a.null_count()) as u64;
        // distinct values: hash each non-NULL value's canonical form
        match a.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                let s = cast(a, &DataType::Utf8)?;
                let s = s.as_string::<i32>();
                for v in s.iter().flatten() {
                    self.hll.insert_any(v.as_bytes());
                    self.total_len += v.len() as u64;
                    self.max_len = self.max_len.max(v.len() as u64);
                }
            }
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
                let s = cast(a, &DataType::Binary)?;
                for v in s.as_binary::<i32>().iter().flatten() {
                    self.hll.insert_any(v);
                    self.total_len += v.len() as u64;
                    self.max_len = self.max_len.max(v.len() as u64);
                }
            }
            DataType::Decimal128(_, _) => {
                for v in a
                    .as_primitive::<arrow::datatypes::Decimal128Type>()
                    .iter()
                    .flatten()
                {
                    self.hll.insert_any(&v.to_le_bytes()[..]);
                }
                self.count_fixed(valid);
            }
            DataType::Float32 | DataType::Float64 => {
                let f = cast(a, &DataType::Float64)?;
                for v in f
                    .as_primitive::<arrow::datatypes::Float64Type>()
                    .iter()
                    .flatten()
                {
                    // -0.0 and 0.0 are one value
                    let v = if v == 0.0 { 0.0 } else { v };
                    self.hll.insert_any(&v.to_bits().to_le_bytes()[..]);
                }
                self.count_fixed(valid);
            }
            t if t.is_integer()
                || matches!(
                    t,
                    DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)
                ) =>
            {
                let i = match a.data_type() {
                    DataType::Date32 => cast(&cast(a, &DataType::Int32)?, &DataType::Int64)?,
                    _ => cast(a, &DataType::Int64)?,
                };
                for v in i
                    .as_primitive::<arrow::datatypes::Int64Type>()
                    .iter()
                    .flatten()
                {
                    self.hll.insert_any(&v.to_le_bytes()[..]);
                }
                self.count_fixed(valid);
            }
            DataType::Boolean => {
                for v in a.as_boolean().iter().flatten() {
                    self.hll.insert_any(&[v as u8][..]);
                }
                self.count_fixed(valid);
            }
            _ => {
                // nested and other types: their printed form
                for i in 0..a.len() {
                    if a.is_valid(i) {
                        let s = crate::types::arrow_format(a.as_ref(), i);
                        self.hll.insert_any(s.as_bytes());
                        self.total_len += s.len() as u64;
                        self.max_len = self.max_len.max(s.len() as u64);
                    }
                }
            }
        }
        // min/max and the histogram sample: ordered numeric/date/timestamp types
        if let Some(f) = to_f64_array(a) {
            let (mut lo, mut hi): (Option<(f64, usize)>, Option<(f64, usize)>) = (None, None);
            for (i, v) in f.iter().enumerate() {
                let Some(v) = v else { continue };
                if !v.is_finite() {
                    continue;
                }
                if lo.is_none_or(|(x, _)| v < x) {
                    lo = Some((v, i));
                }
                if hi.is_none_or(|(x, _)| v > x) {
                    hi = Some((v, i));
                }
            }
            if let Some((v, i)) = lo {
                if self.min.as_ref().is_none_or(|(x, _)| v < *x) {
                    self.min = Some((v, a.slice(i, 1)));
                }
            }
            if let Some((v, i)) = hi {
                if self.max.as_ref().is_none_or(|(x, _)| v > *x) {
                    self.max = Some((v, a.slice(i, 1)));
                }
            }
            let stride = (f.len() / SAMPLE_PER_MORSEL).max(1);
            self.sample
                .extend(f.iter().step_by(stride).flatten().filter(|v| v.is_finite()));
        }
        Ok(())
    }

    fn count_fixed(&mut self, valid: u64) {
        let w = width(&self.data_type);
        self.total_len += w * valid;
        if valid > 0 {
            self.max_len = self.max_len.max(w);
        }
    }

    fn merge(mut self, other: ColumnAcc) -> Result<ColumnAcc> {
        self.hll
            .merge(&other.hll)
            .map_err(|e| QuarryError::Internal(format!("HyperLogLog merge: {e:?}")))?;
        self.nulls += other.nulls;
        if let Some(m) = other.min {
            if self.min.as_ref().is_none_or(|(x, _)| m.0 < *x) {
                self.min = Some(m);
            }
        }
        if let Some(m) = other.max {
            if self.max.as_ref().is_none_or(|(x, _)| m.0 > *x) {
                self.max = Some(m);
            }
        }
        self.total_len += other.total_len;
        self.max_len = self.max_len.max(other.max_len);
        self.sample.extend(other.sample);
        Ok(self)
    }

    fn finish(mut self, rows: u64) -> ColumnStatisticsMeta {
        let valid = rows.saturating_sub(self.nulls);
        let distinct = if valid == 0 {
            0
        } else {
            (self.hll.count().round() as u64).clamp(1, valid)
        };
        let show = |m: &Option<(f64, ArrayRef)>| {
            m.as_ref()
                .map(|(_, a)| crate::types::arrow_format(a.as_ref(), 0))
        };
        let histogram = if self.sample.len() >= 2 {
            self.sample.sort_by(f64::total_cmp);
            let n = self.sample.len();
            let bins = HISTOGRAM_BINS.min(n - 1);
            Some(
                (0..=bins)
                    .map(|k| self.sample[k * (n - 1) / bins])
                    .collect(),
            )
        } else {
            None
        };
        ColumnStatisticsMeta {
            distinct_count: distinct,
            null_count: self.nulls,
            min: show(&self.min),
            max: show(&self.max),
            min_value: self.min.as_ref().map(|m| m.0),
            max_value: self.max.as_ref().map(|m| m.0),
            avg_len: if valid > 0 {
                self.total_len / valid
            } else {
                width(&self.data_type)
            },
            max_len: if valid > 0 {
                self.max_len
            } else {
                width(&self.data_type)
            },
            histogram,
        }
    }
}

/// Scan `source` (all its files, after the partition pruning its `files` imply) and
/// return its row count and the statistics of the columns at `projection` (positions
/// in `source.all_columns()`), in that order.
pub fn analyze_source(
    source: Arc<TableSource>,
    projection: Vec<usize>,
    ctx: &ExecContext,
) -> Result<(u64, Vec<ColumnStatisticsMeta>)> {
    let all = source.all_columns();
    let columns: Vec<Column> = projection
        .iter()
        .map(|p| Column::new(all[*p].name.clone(), all[*p].data_type.clone(), true))
        .collect();
    let types: Vec<DataType> = columns.iter().map(|c| c.data_type.clone()).collect();
    let scan: Arc<dyn ExecutionPlan> = Arc::new(ScanExec::try_new(
        source,
        &columns,
        projection,
        vec![],
        ctx,
    )?);
    let n = scan.partitions();
    let fresh = || -> Result<(u64, Vec<ColumnAcc>)> {
        Ok((
            0,
            types
                .iter()
                .map(|t| ColumnAcc::new(t.clone()))
                .collect::<Result<_>>()?,
        ))
    };
    let per_morsel = ctx.pool.install(|| {
        (0..n)
            .into_par_iter()
            .map(|p| -> Result<(u64, Vec<ColumnAcc>)> {
                let (mut rows, mut accs) = fresh()?;
                let batches: Vec<RecordBatch> = scan.execute(p, ctx)?;
                for b in &batches {
                    rows += b.num_rows() as u64;
                    for (acc, col) in accs.iter_mut().zip(b.columns()) {
                        acc.update(col)?;
                    }
                }
                Ok((rows, accs))
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let (mut rows, mut accs) = fresh()?;
    for (r, a) in per_morsel {
        rows += r;
        accs = accs
            .into_iter()
            .zip(a)
            .map(|(x, y)| x.merge(y))
            .collect::<Result<_>>()?;
    }
    Ok((rows, accs.into_iter().map(|a| a.finish(rows)).collect()))
}

/// Column statistics merged into a table's: the new ones replace those of the same name.
pub fn merge_columns(
    old: &BTreeMap<String, ColumnStatisticsMeta>,
    names: &[String],
    new: Vec<ColumnStatisticsMeta>,
) -> BTreeMap<String, ColumnStatisticsMeta> {
    let mut out = old.clone();
    for (n, s) in names.iter().zip(new) {
        out.insert(n.to_ascii_lowercase(), s);
    }
    out
}
