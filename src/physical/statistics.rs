//! Leaf statistics for the optimizer, from the files a scan will read: parquet footers
//! of the partitions and row groups left after pruning (row counts, NULL counts,
//! min/max per column), the kept partitions' values (partition columns), and what
//! `ANALYZE TABLE` stored in the metastore (NDV, histograms, row counts of CSV/JSON).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;

use super::scan::plan_files;
use super::ExecContext;
use crate::catalog::FileFormat;
use crate::error::Result;
use crate::optimizer::stats::{
    apply_filter, sampled_ndv, to_f64_array, ColumnStatistics, JoinMatches, Statistics,
    StatisticsProvider,
};
use crate::plan::{BinOp, Column, ColumnId, Expr, LogicalPlan, TableSource};

/// Bytes per row assumed for CSV/JSON without `ANALYZE TABLE` statistics.
const TEXT_BYTES_PER_ROW: f64 = 100.0;

/// The session's statistics provider for one query (shares the query's scan plans).
pub struct ScanStatistics<'a> {
    pub ctx: &'a ExecContext,
}

fn min_max(a: &Float64Array) -> (Option<f64>, Option<f64>) {
    (
        arrow::compute::min(a).filter(|v| v.is_finite()),
        arrow::compute::max(a).filter(|v| v.is_finite()),
    )
}

fn merge_min(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) | (None, x) => x,
    }
}

fn merge_max(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) | (None, x) => x,
    }
}

/// An integer-valued type, whose NDV is at most `max - min + 1`.
fn integral(t: &DataType) -> bool {
    crate::types::is_integer(t) || matches!(t, DataType::Date32)
}

/// What one parquet footer says of a table column over some of its row groups.
enum FooterColumn {
    /// The file lacks the column (schema evolution): all these rows are NULL there.
    Missing(u64),
    /// The column's statistics cannot be read.
    Unreadable,
    /// The NULL count (`None`: a row group does not say) and the value range as numbers:
    /// `None` when min/max cannot be read or converted, `Some(None)` when a row group
    /// has none (all NULL, or written without statistics).
    Present {
        nulls: Option<u64>,
        range: Option<Option<(Option<f64>, Option<f64>)>>,
    },
}

/// [`FooterColumn`] of column `def` over row groups `rgs` of the footer `md`.
fn footer_column(
    md: &parquet::arrow::arrow_reader::ArrowReaderMetadata,
    rgs: &[usize],
    def: &crate::catalog::ColumnDef,
) -> FooterColumn {
    let schema = md.schema();
    let Some(field) = schema
        .fields()
        .iter()
        .find(|f| f.name().eq_ignore_ascii_case(&def.name))
    else {
        let n: i64 = rgs
            .iter()
            .map(|r| md.metadata().row_group(*r).num_rows())
            .sum();
        return FooterColumn::Missing(n.max(0) as u64);
    };
    let Ok(conv) = StatisticsConverter::try_new(field.name(), schema, md.parquet_schema()) else {
        return FooterColumn::Unreadable;
    };
    let groups: Vec<_> = rgs.iter().map(|r| md.metadata().row_group(*r)).collect();
    let nulls = match conv.row_group_null_counts(groups.iter().copied()) {
        Ok(n) if n.null_count() == 0 => Some(n.values().iter().sum::<u64>()),
        _ => None,
    };
    let as_numbers = |a: ArrayRef| cast(&a, &def.data_type).ok().and_then(|a| to_f64_array(&a));
    let range = conv
        .row_group_mins(groups.iter().copied())
        .ok()
        .zip(conv.row_group_maxes(groups.iter().copied()).ok())
        .and_then(|(lo, hi)| as_numbers(lo).zip(as_numbers(hi)))
        .map(|(lo, hi)| {
            (lo.null_count() == 0 && hi.null_count() == 0).then(|| (min_max(&lo).0, min_max(&hi).1))
        });
    FooterColumn::Present { nulls, range }
}

impl StatisticsProvider for ScanStatistics<'_> {
    fn scan_statistics(
        &self,
        source: &Arc<TableSource>,
        columns: &[Column],
        projection: &[usize],
        filters: &[Expr],
    ) -> Result<Statistics> {
        let files = plan_files(source, columns, projection, filters, self.ctx)?;
        let all = source.all_columns();
        let n_data = source.data_columns.len();
        let analyzed = source.statistics.as_deref();
        let footers = files.footers();
        let rows = match (source.format, files.rows()) {
            (FileFormat::Parquet, Some(r)) => r,
            _ => match analyzed.and_then(|a| a.rows.map(|r| (r, a.size_bytes))) {
                // the analyzed rows, in the share of the bytes read
                Some((r, size)) if size > 0 => {
                    r as f64 * (files.bytes as f64 / size as f64).min(1.0)
                }
                _ => (files.bytes as f64 / TEXT_BYTES_PER_ROW).ceil(),
            },
        };
        let mut out = Statistics::unknown(rows);
        for (c, p) in columns.iter().zip(projection) {
            let def = &all[*p];
            let mut cs = ColumnStatistics::default();
            if *p < n_data {
                // footers: NULL counts and min/max over the kept row groups
                let (mut nulls, mut known_nulls, mut lo, mut hi) = (0.0, true, None, None);
                // a row group without min/max leaves the range unknown for good
                let mut range_known = true;
                let mut have_footer = false;
                for (md, rgs) in &footers {
                    match footer_column(md, rgs, def) {
                        FooterColumn::Missing(n) => nulls += n as f64,
                        FooterColumn::Unreadable => known_nulls = false,
                        FooterColumn::Present { nulls: n, range } => {
                            have_footer = true;
                            match n {
                                Some(n) => nulls += n as f64,
                                None => known_nulls = false,
                            }
                            match range {
                                Some(Some((l, h))) => {
                                    lo = merge_min(lo, l);
                                    hi = merge_max(hi, h);
                                }
                                // a row group without statistics leaves the range unknown
                                Some(None) => range_known = false,
                                None => {}
                            }
                        }
                    }
                }
                if have_footer && known_nulls && rows > 0.0 {
                    cs.null_fraction = (nulls / rows).clamp(0.0, 1.0);
                }
                if range_known {
                    cs.min = lo;
                    cs.max = hi;
                }
                let non_null = rows * (1.0 - cs.null_fraction);
                if let (Some(l), Some(h)) = (cs.min, cs.max) {
                    if integral(&def.data_type) {
                        cs.ndv = Some((h - l + 1.0).min(non_null).max(1.0));
                    }
                }
                if def.data_type == DataType::Utf8
                    && files
                        .data_filters
                        .iter()
                        .any(|f| f.column_ids().contains(&c.id))
                {
                    cs.ndv = dictionary_ndv(self.ctx, &files, &def.name, non_null);
                }
            } else if let Some(values) = files.partition_values.get(*p - n_data) {
                // partition columns: the kept partitions' distinct values
                let distinct = distinct_count(values);
                cs.ndv = Some(distinct.max(1) as f64);
                let n = values.len().max(1) as f64;
                cs.null_fraction = values.null_count() as f64 / n;
                if let Some(f) = to_f64_array(values) {
                    let (l, h) = min_max(&f);
                    cs.min = l;
                    cs.max = h;
                }
            }
            // ANALYZE TABLE ... FOR COLUMNS: NDV (scaled to the rows read) and histogram
            if let Some(a) = analyzed.and_then(|a| a.columns.get(&def.name.to_ascii_lowercase())) {
                let table_rows = analyzed.and_then(|t| t.rows).unwrap_or(0) as f64;
                let ndv = a.distinct_count as f64;
                let f = if table_rows > 0.0 {
                    (rows / table_rows).min(1.0)
                } else {
                    1.0
                };
                let kept = sampled_ndv(ndv, table_rows, f);
                if *p < n_data || cs.ndv.is_none() {
                    cs.ndv = Some(kept.max(1.0));
                }
                if cs.min.is_none() {
                    cs.min = a.min_value;
                    cs.max = a.max_value;
                }
                if table_rows > 0.0 && footers.is_empty() {
                    cs.null_fraction = (a.null_count as f64 / table_rows).clamp(0.0, 1.0);
                }
                cs.histogram = a.histogram.clone().map(Arc::new);
            }
            if cs
                .ndv
                .is_some_and(|n| n >= 0.9 * rows * (1.0 - cs.null_fraction))
            {
                cs.key_domain = cs.ndv;
            }
            out.columns.insert(c.id, cs);
        }
        // the data filters (partition filters were applied exactly by pruning)
        for f in &files.data_filters {
            out = apply_filter(out, f);
        }
        Ok(out)
    }

    fn join_matches(
        &self,
        left: &LogicalPlan,
        right: &LogicalPlan,
        key: (ColumnId, ColumnId),
    ) -> Option<JoinMatches> {
        join_matches(self.ctx, left, right, key)
    }
}

/// Row groups whose dictionary pages [`dictionary_ndv`] reads.
const DICTIONARY_SAMPLE: usize = 3;

/// NDV of a string column from the dictionary pages of the scan's first
/// [`DICTIONARY_SAMPLE`] row groups (local files, and S3 files small enough to be held
/// whole; others would cost a request each): the largest dictionary, or, when the
/// dictionaries hold most of their row groups' values, the column taken as near-unique
/// (`non_null` × their share). `None` when a chunk is not fully dictionary-encoded (the
/// writer fell back to plain pages: many values), has no dictionary, or cannot be read.
/// Reading a dictionary page costs one read of at most the writer's dictionary limit
/// (1 MiB by default); it is done only for columns the scan filters on.
fn dictionary_ndv(
    ctx: &ExecContext,
    files: &super::scan::ScanFiles,
    column: &str,
    non_null: f64,
) -> Option<f64> {
    use parquet::basic::Encoding;
    use parquet::column::page::{Page, PageReader};
    use parquet::file::serialized_reader::SerializedPageReader;
    let sample = files.first_row_groups(DICTIONARY_SAMPLE);
    let (mut largest, mut share, mut n) = (0.0_f64, 0.0_f64, 0.0_f64);
    for (file, rg, md) in &sample {
        let meta = md.metadata();
        let group = meta.row_group(*rg);
        let idx = meta
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .position(|c| c.path().parts().len() == 1 && c.name().eq_ignore_ascii_case(column))?;
        let chunk = group.column(idx);
        chunk.dictionary_page_offset()?;
        let plain_pages = chunk.page_encoding_stats().is_some_and(|stats| {
            stats.iter().any(|s| {
                s.page_type == parquet::basic::PageType::DATA_PAGE
                    || s.page_type == parquet::basic::PageType::DATA_PAGE_V2
            } && !matches!(s.encoding, Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY))
        });
        if plain_pages {
            return None;
        }
        let rows = group.num_rows().max(1) as usize;
        let first = match &file.location {
            crate::datasource::Location::Local(p) => {
                let f = std::fs::File::open(p).ok()?;
                SerializedPageReader::new(Arc::new(f), chunk, rows, None)
                    .ok()?
                    .get_next_page()
            }
            crate::datasource::Location::S3 { .. } => {
                let whole = ctx.storage.cached_small_file(file)?;
                SerializedPageReader::new(Arc::new(whole), chunk, rows, None)
                    .ok()?
                    .get_next_page()
            }
        };
        let Ok(Some(Page::DictionaryPage { num_values, .. })) = first else {
            return None;
        };
        largest = largest.max(num_values as f64);
        share += num_values as f64 / rows as f64;
        n += 1.0;
    }
    if n == 0.0 {
        return None;
    }
    let share = share / n;
    let ndv = if share >= 0.5 {
        non_null * share
    } else {
        largest
    };
    Some(ndv.clamp(1.0, non_null.max(1.0)))
}

/// Distinct non-NULL values of an array.
fn distinct_count(a: &ArrayRef) -> usize {
    let mut seen = std::collections::HashSet::new();
    for i in 0..a.len() {
        if a.is_valid(i) {
            seen.insert(crate::types::arrow_format(a.as_ref(), i));
        }
    }
    seen.len()
}

/// Statistics of partitions as MSCK REPAIR TABLE, ALTER TABLE ADD PARTITION and
/// REFRESH TABLE keep them in the metastore (Hive's `hive.stats.autogather`): per
/// partition, its data files' count and bytes and, for parquet, the rows and per data
/// column the NULL count and value range over all row groups, from the footers. One
/// listing per partition and one footer read per file, concurrent (the footers stay in
/// the session's footer cache for the queries that follow). A partition whose folder is
/// gone counts zero files. Errors name the file whose footer cannot be read.
pub fn partition_statistics(
    ctx: &ExecContext,
    format: FileFormat,
    columns: &[crate::catalog::ColumnDef],
    parts: &[crate::catalog::PartitionMeta],
) -> Result<Vec<crate::catalog::TableStatistics>> {
    use rayon::prelude::*;
    let storage = &ctx.storage;
    let io = crate::datasource::IoStats::default();
    let roots: Vec<crate::datasource::Location> = parts
        .iter()
        .map(|p| crate::datasource::Location::parse(&p.location))
        .collect::<Result<_>>()?;
    let mut listed: Vec<Arc<Vec<crate::datasource::FileEntry>>> = vec![];
    for r in storage.list_files_many(&roots, &io) {
        listed.push(match r {
            Ok(f) => f,
            Err(e) if e.is_path_not_found() => Arc::new(vec![]),
            Err(e) => return Err(e),
        });
    }
    if format != FileFormat::Parquet {
        return Ok(listed.iter().map(|files| files_statistics(files)).collect());
    }
    let entries: Vec<(usize, crate::datasource::FileEntry)> = listed
        .iter()
        .enumerate()
        .flat_map(|(i, files)| files.iter().map(move |f| (i, f.clone())))
        .collect();
    let files: Vec<crate::datasource::FileEntry> = entries.iter().map(|(_, f)| f.clone()).collect();
    let tails = storage.fetch_tails(&files, crate::datasource::parquet::FOOTER_GUESS, &io);
    let footers: Vec<(usize, parquet::arrow::arrow_reader::ArrowReaderMetadata)> =
        ctx.pool.install(|| {
            entries
                .into_par_iter()
                .zip(tails)
                .map(|((i, file), tail)| {
                    let md = crate::datasource::parquet::load_metadata_with_tail(
                        storage, &file, tail?, &io,
                    )?;
                    Ok((i, md))
                })
                .collect::<Result<Vec<_>>>()
        })?;
    let listed: Vec<&[crate::datasource::FileEntry]> =
        listed.iter().map(|f| f.as_slice()).collect();
    Ok(footer_statistics(
        columns,
        &listed,
        footers.iter().map(|(i, md)| (*i, md)),
    ))
}

/// A partition's file count and bytes (the statistics of a CSV or JSON partition).
fn files_statistics(files: &[crate::datasource::FileEntry]) -> crate::catalog::TableStatistics {
    crate::catalog::TableStatistics {
        size_bytes: files.iter().map(|f| f.size).sum(),
        files: Some(files.len() as u64),
        ..Default::default()
    }
}

/// Statistics of parquet partitions from their files (`files[i]`: partition i's files)
/// and the footers of all those files (`footers`: (partition index, footer)): per
/// partition the file count and bytes, the rows, and per column of `columns` the NULL
/// count and value range over all row groups (unknown where a footer does not say).
pub fn footer_statistics<'a>(
    columns: &[crate::catalog::ColumnDef],
    files: &[&[crate::datasource::FileEntry]],
    footers: impl Iterator<Item = (usize, &'a parquet::arrow::arrow_reader::ArrowReaderMetadata)>,
) -> Vec<crate::catalog::TableStatistics> {
    let mut out: Vec<crate::catalog::TableStatistics> =
        files.iter().map(|f| files_statistics(f)).collect();
    // per partition: rows, and per column (nulls known, nulls, range known, lo, hi)
    type Acc = (bool, u64, bool, Option<f64>, Option<f64>);
    let mut accs: Vec<Vec<Acc>> =
        vec![vec![(true, 0, true, None, None); columns.len()]; files.len()];
    let mut rows = vec![0u64; files.len()];
    for (i, md) in footers {
        let all: Vec<usize> = (0..md.metadata().num_row_groups()).collect();
        let n: i64 = md
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .sum();
        rows[i] += n.max(0) as u64;
        for (c, def) in columns.iter().enumerate() {
            let acc = &mut accs[i][c];
            match footer_column(md, &all, def) {
                FooterColumn::Missing(n) => acc.1 += n,
                FooterColumn::Unreadable => {
                    acc.0 = false;
                    acc.2 = false;
                }
                FooterColumn::Present { nulls, range } => {
                    match nulls {
                        Some(n) => acc.1 += n,
                        None => acc.0 = false,
                    }
                    match range {
                        Some(Some((lo, hi))) => {
                            acc.3 = merge_min(acc.3, lo);
                            acc.4 = merge_max(acc.4, hi);
                        }
                        // unreadable, or a row group without a range: unknown for
                        // pruning (which must never drop a matching partition)
                        _ => acc.2 = false,
                    }
                }
            }
        }
    }
    for (i, st) in out.iter_mut().enumerate() {
        st.rows = Some(rows[i]);
        for (c, def) in columns.iter().enumerate() {
            let (nk, nulls, rk, lo, hi) = accs[i][c];
            let range_known = rk && st.files.unwrap_or(0) > 0;
            st.column_ranges.insert(
                def.name.to_ascii_lowercase(),
                crate::catalog::ColumnRange {
                    null_count: nk.then_some(nulls),
                    min: if range_known { lo } else { None },
                    max: if range_known { hi } else { None },
                },
            );
        }
    }
    out
}

/// The name that turns join sampling off in `quarry.optimizer.disabled_rules` (an
/// estimation step, not a rewrite; see `join_matches`).
pub const JOIN_SAMPLING_RULE: &str = "join_sampling";

/// Rows (both sides together) a join sample may read at most.
const JOIN_SAMPLE_ROWS: u64 = 1 << 20;

/// Join samples a session keeps (the cache is emptied when full).
pub const JOIN_SAMPLES_KEPT: usize = 4096;

/// The largest share of a scan's rows a join sample may read (whole row groups): so
/// that sampling costs a small part of the scan, and a scan of one or two row groups
/// (no evidence of key order, and cheap to join anyway) is not sampled.
const JOIN_SAMPLE_SHARE: f64 = 0.25;

/// Rows of the smaller side a join sample aims at (a part of one of its row groups).
const JOIN_SAMPLE_TARGET: u64 = 1 << 15;

/// Rows each side of a join sample must keep (after its filters) for it to be used.
const JOIN_SAMPLE_MIN_ROWS: f64 = 20.0;

/// A filtered parquet scan that outputs a join key: the scan's parts and the key's
/// index in its columns.
struct KeyScan<'p> {
    source: &'p Arc<TableSource>,
    columns: &'p [Column],
    projection: &'p [usize],
    filters: &'p [Expr],
    key: usize,
}

/// The scan under `plan` whose column `id` reaches `plan`'s output unchanged (see
/// [`LogicalPlan::scan_of_column`]).
fn key_scan(plan: &LogicalPlan, id: ColumnId) -> Option<KeyScan<'_>> {
    match plan.scan_of_column(id)? {
        (
            LogicalPlan::Scan {
                source,
                columns,
                projection,
                filters,
            },
            key,
        ) => Some(KeyScan {
            source,
            columns,
            projection,
            filters,
            key,
        }),
        _ => None,
    }
}

/// Each kept row group's range of the key column of `scan`: (min, max, rows), or
/// `None` where a footer lacks the column's min/max.
fn key_ranges(scan: &KeyScan, files: &super::scan::ScanFiles) -> Option<Vec<(i64, i64, u64)>> {
    use arrow::array::AsArray;
    let def = &scan.source.all_columns()[scan.projection[scan.key]];
    let mut out = vec![];
    for (md, rgs) in files.footers() {
        let schema = md.schema();
        let field = schema
            .fields()
            .iter()
            .find(|f| f.name().eq_ignore_ascii_case(&def.name))?;
        let conv = StatisticsConverter::try_new(field.name(), schema, md.parquet_schema()).ok()?;
        let groups: Vec<_> = rgs.iter().map(|r| md.metadata().row_group(*r)).collect();
        let as_i64 = |a: ArrayRef| key_values(&cast(&a, &def.data_type).ok()?).ok();
        let lo = as_i64(conv.row_group_mins(groups.iter().copied()).ok()?)?;
        let hi = as_i64(conv.row_group_maxes(groups.iter().copied()).ok()?)?;
        let (lo, hi) = (
            lo.as_primitive::<arrow::datatypes::Int64Type>(),
            hi.as_primitive::<arrow::datatypes::Int64Type>(),
        );
        for (i, g) in groups.iter().enumerate() {
            if lo.is_null(i) || hi.is_null(i) {
                return None;
            }
            out.push((lo.value(i), hi.value(i), g.num_rows().max(0) as u64));
        }
    }
    Some(out)
}

/// Rows of the row groups in `ranges` whose key range meets `[lo, hi]`.
fn rows_meeting(ranges: &[(i64, i64, u64)], lo: i64, hi: i64) -> u64 {
    ranges
        .iter()
        .filter(|(l, h, _)| *l <= hi && *h >= lo)
        .map(|(_, _, n)| n)
        .sum()
}

/// The key values of `scan`'s rows (its filters applied) whose key lies in `[lo, hi]`,
/// sorted; reads only the key and the filters' columns, of the row groups whose
/// statistics meet the range.
fn sample_keys(ctx: &super::ExecContext, scan: &KeyScan, lo: i64, hi: i64) -> Result<Vec<i64>> {
    use arrow::array::AsArray;
    let key = &scan.columns[scan.key];
    let needed: std::collections::HashSet<ColumnId> = scan
        .filters
        .iter()
        .flat_map(|f| f.column_ids())
        .chain([key.id])
        .collect();
    let (columns, projection): (Vec<Column>, Vec<usize>) = scan
        .columns
        .iter()
        .zip(scan.projection)
        .filter(|(c, _)| needed.contains(&c.id))
        .map(|(c, p)| (c.clone(), *p))
        .unzip();
    let bound = |v: i64| -> Result<Expr> {
        let a: ArrayRef = Arc::new(arrow::array::Int64Array::from(vec![v]));
        let a = if key.data_type == DataType::Date32 {
            cast(&cast(&a, &DataType::Int32)?, &DataType::Date32)?
        } else {
            cast(&a, &key.data_type)?
        };
        Ok(Expr::Literal(crate::types::ScalarValue(a)))
    };
    let mut filters = scan.filters.to_vec();
    filters.push(Expr::binary(
        BinOp::GtEq,
        Expr::Column(key.clone()),
        bound(lo)?,
        DataType::Boolean,
    ));
    filters.push(Expr::binary(
        BinOp::LtEq,
        Expr::Column(key.clone()),
        bound(hi)?,
        DataType::Boolean,
    ));
    let plan: Arc<dyn super::ExecutionPlan> = Arc::new(super::scan::ScanExec::try_new(
        scan.source.clone(),
        &columns,
        projection,
        filters,
        ctx,
    )?);
    let at = columns.iter().position(|c| c.id == key.id).unwrap_or(0);
    let mut keys = vec![];
    for b in super::collect(&plan, ctx)? {
        let col = key_values(b.column(at))?;
        keys.extend(
            col.as_primitive::<arrow::datatypes::Int64Type>()
                .iter()
                .flatten(),
        );
    }
    keys.sort_unstable();
    Ok(keys)
}

/// Rows sharing each value of sorted keys: (value, rows), in key order.
fn runs(keys: &[i64]) -> Vec<(i64, u64)> {
    let mut out: Vec<(i64, u64)> = vec![];
    for k in keys {
        match out.last_mut() {
            Some((v, n)) if v == k => *n += 1,
            _ => out.push((*k, 1)),
        }
    }
    out
}

/// A sampled key column (integers, or dates as days) as `Int64`.
fn key_values(a: &ArrayRef) -> Result<ArrayRef> {
    let a = if a.data_type() == &DataType::Date32 {
        cast(a, &DataType::Int32)?
    } else {
        a.clone()
    };
    Ok(cast(&a, &DataType::Int64)?)
}

/// The partners per row on each side of the inner equi-join of two filtered parquet
/// scans on one integer or date key (see [`StatisticsProvider::join_matches`]), from a
/// correlated sample: the rows of both scans, filters applied, whose key lies in one key
/// range, so that every row's partners in the tables are in the sample too, and
/// partners per row measured there hold for the whole scan (a ratio estimate over the
/// rows of the range). The range is the key range of the middle row group of the
/// smaller scan (by its footer statistics), narrowed to about [`JOIN_SAMPLE_TARGET`] of
/// its rows; the sample is taken only where the row groups that meet that range hold
/// at most [`JOIN_SAMPLE_ROWS`] rows on both sides together and at most
/// [`JOIN_SAMPLE_SHARE`] of each scan's rows, which is the case when both tables are
/// stored in key order in several row groups (TPC-H's orders and lineitem), and reads
/// only the key and filter columns of those row groups. It is not measured when a side
/// keeps fewer than [`JOIN_SAMPLE_MIN_ROWS`] rows of the range (too few to tell) or a
/// scan has no filter (a key's partners are then known by containment). Samples are
/// cached for the session (see [`super::ExecContext::join_samples`]); errors reading
/// one leave the estimate unmeasured (the scan itself reports them).
fn join_matches(
    ctx: &super::ExecContext,
    left: &LogicalPlan,
    right: &LogicalPlan,
    key: (ColumnId, ColumnId),
) -> Option<JoinMatches> {
    if !ctx.join_sampling {
        return None;
    }
    let (a, b) = (key_scan(left, key.0)?, key_scan(right, key.1)?);
    for s in [&a, &b] {
        let n_data = s.source.data_columns.len();
        if s.source.format != FileFormat::Parquet
            || s.filters.is_empty()
            || s.projection[s.key] >= n_data
            || !integral(&s.columns[s.key].data_type)
        {
            return None;
        }
    }
    let fa = plan_files(a.source, a.columns, a.projection, a.filters, ctx).ok()?;
    let fb = plan_files(b.source, b.columns, b.projection, b.filters, ctx).ok()?;
    let id = |s: &KeyScan, files: &super::scan::ScanFiles| {
        format!(
            "{:x}|{}|{}",
            files.identity(),
            s.source.all_columns()[s.projection[s.key]].name,
            s.filters
                .iter()
                .map(|f| table_positions(s, f.clone()).to_string())
                .collect::<Vec<_>>()
                .join(" AND ")
        )
    };
    let (ia, ib) = (id(&a, &fa), id(&b, &fb));
    // cached with the scans in the order of their ids (either order samples alike)
    let swapped = ia > ib;
    let orient = |m: Option<JoinMatches>| {
        m.map(|m| match swapped {
            false => m,
            true => JoinMatches {
                per_left_row: m.per_right_row,
                per_right_row: m.per_left_row,
            },
        })
    };
    let cache_key = if swapped {
        format!("{ib}#{ia}")
    } else {
        format!("{ia}#{ib}")
    };
    if let Some(v) = ctx.join_samples.lock().ok()?.get(&cache_key) {
        return orient(*v);
    }
    let v = if swapped {
        measure_join_matches(ctx, (&b, &fb), (&a, &fa))
    } else {
        measure_join_matches(ctx, (&a, &fa), (&b, &fb))
    };
    if let Ok(mut m) = ctx.join_samples.lock() {
        if m.len() >= JOIN_SAMPLES_KEPT {
            m.clear();
        }
        m.insert(cache_key, v);
    }
    orient(v)
}

/// `e` over `scan`'s columns with each column's id replaced by its position in the
/// table (ids differ between queries; positions do not), for a cache key.
fn table_positions(scan: &KeyScan, e: Expr) -> Expr {
    e.transform(&mut |x| match x {
        Expr::Column(mut c) => {
            if let Some(i) = scan.columns.iter().position(|s| s.id == c.id) {
                c.id = scan.projection[i] as ColumnId;
            }
            Expr::Column(c)
        }
        other => other,
    })
}

/// [`join_matches`]'s sample, once the scans qualify.
fn measure_join_matches(
    ctx: &super::ExecContext,
    (a, fa): (&KeyScan, &super::scan::ScanFiles),
    (b, fb): (&KeyScan, &super::scan::ScanFiles),
) -> Option<JoinMatches> {
    let (ra, rb) = (key_ranges(a, fa)?, key_ranges(b, fb)?);
    let rows = |r: &[(i64, i64, u64)]| r.iter().map(|x| x.2).sum::<u64>();
    // the range: the middle row group (in key order) of the smaller side
    let small = if rows(&ra) <= rows(&rb) { &ra } else { &rb };
    let mut sorted = small.clone();
    sorted.sort();
    let &(lo, group_hi, group_rows) = sorted.get(sorted.len() / 2)?;
    // the part of that key range that holds about JOIN_SAMPLE_TARGET of its rows
    // (keys taken as spread evenly over it)
    let share = (JOIN_SAMPLE_TARGET as f64 / group_rows.max(1) as f64).min(1.0);
    let hi = lo.saturating_add(((group_hi as f64 - lo as f64) * share) as i64);
    let (ma, mb) = (rows_meeting(&ra, lo, hi), rows_meeting(&rb, lo, hi));
    if ma + mb > JOIN_SAMPLE_ROWS
        || ma as f64 > JOIN_SAMPLE_SHARE * rows(&ra) as f64
        || mb as f64 > JOIN_SAMPLE_SHARE * rows(&rb) as f64
    {
        return None;
    }
    // the two reads at once (each is one or two row groups: a morsel or two)
    let (sa, sb) = ctx.pool.install(|| {
        rayon::join(
            || sample_keys(ctx, a, lo, hi),
            || sample_keys(ctx, b, lo, hi),
        )
    });
    let (ka, kb) = (runs(&sa.ok()?), runs(&sb.ok()?));
    let rows = |r: &[(i64, u64)]| r.iter().map(|x| x.1).sum::<u64>() as f64;
    let (na, nb) = (rows(&ka), rows(&kb));
    if na.min(nb) < JOIN_SAMPLE_MIN_ROWS {
        return None;
    }
    // a merge of the two sorted runs
    let (mut i, mut j, mut joined) = (0, 0, 0.0_f64);
    while i < ka.len() && j < kb.len() {
        match ka[i].0.cmp(&kb[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                joined += ka[i].1 as f64 * kb[j].1 as f64;
                i += 1;
                j += 1;
            }
        }
    }
    // no match in the sample: half of one, rather than none
    let joined = joined.max(0.5);
    Some(JoinMatches {
        per_left_row: joined / na,
        per_right_row: joined / nb,
    })
}
