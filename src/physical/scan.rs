//! ScanExec: reads a table's files. Planning lists only the partitions that survive
//! partition pruning, reads parquet footers and skips row groups whose min/max
//! statistics rule the filters out; each remaining row group (or CSV/JSON file) is a
//! morsel. Each morsel decodes only the projected columns, adapts them to the table
//! schema, appends the partition values, and applies the pushed filters exactly, and
//! the join filters a hash join above fills at run time (see
//! [`super::join::RuntimeFilter`]).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef, AsArray};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use super::eval::{evaluate_predicate, layout_of, Layout};
use super::join::RuntimeFilter;
use super::{make_batch, ExecContext, ExecutionPlan, Metrics};
use crate::catalog::{ColumnDef, FileFormat};
use crate::datasource::{self, adapt::adapt_batch, parquet::Metadata, FileEntry, Location};
use crate::error::{QuarryError, Result};
use crate::plan::{Column, ColumnId, Expr, SourceFiles, TableSource};
use crate::types::ScalarValue;

/// One morsel: a file (and for parquet, one row group) with its partition values.
#[derive(Clone)]
struct ScanTask {
    file: FileEntry,
    partition_values: Arc<Vec<ScalarValue>>,
    row_group: Option<(usize, Metadata)>,
    /// Parquet: the row id ([`crate::plan::ROW_ID_COLUMN`]) of the row group's first
    /// row: the rows of the files before this one (all their row groups, pruned or not)
    /// and of the row groups before it in this file. 0 for CSV/JSON.
    first_row: u64,
}

pub struct ScanExec {
    source: Arc<TableSource>,
    ids: Vec<ColumnId>,
    schema: SchemaRef,
    /// Positions in `source.all_columns()` of the output columns.
    projection: Vec<usize>,
    filters: Vec<Expr>,
    /// Join filters filled at run time (see [`RuntimeFilter`]), applied to the morsels
    /// read after they are ready: first inside the parquet reader.
    runtime: Vec<Arc<RuntimeFilter>>,
    layout: Layout,
    tasks: Vec<ScanTask>,
    metrics: Metrics,
    /// S3 read-ahead: morsels whose column chunks are being fetched (or were claimed).
    ahead: std::sync::Mutex<(
        std::collections::HashSet<usize>,
        HashMap<usize, datasource::parquet::Prefetch>,
    )>,
}

/// Morsels a worker starts fetching beyond the one it decodes (S3 only): decoding one
/// row group overlaps the requests of the next ones.
const READ_AHEAD: usize = 3;

/// A file's name as Spark's `input_file_name()` gives it: the file's URI, its path
/// percent-encoded as Hadoop's `Path.toUri` writes it (a space as `%20`, a `%` in a
/// Hive-escaped folder name as `%25`): `file:///...` for local files,
/// `s3://bucket/key` on S3.
pub fn input_file_name(location: &Location) -> String {
    let uri =
        match location {
            Location::Local(p) => url::Url::from_file_path(p).ok(),
            Location::S3 { bucket, key } => url::Url::parse(&format!("s3://{bucket}/"))
                .ok()
                .and_then(|mut u| {
                    u.path_segments_mut()
                        .ok()?
                        .pop_if_empty()
                        .extend(key.split('/'));
                    Some(u)
                }),
        };
    uri.map_or_else(|| location.to_string(), |u| u.to_string())
}

/// Cast a partition value (a folder's, or a PARTITION clause's) to its column's type;
/// NULL for `None` (the default partition). `Ok(None)` when the text does not cast.
pub fn cast_partition_value(raw: Option<&str>, col: &ColumnDef) -> Result<Option<ScalarValue>> {
    let Some(v) = raw else {
        return Ok(Some(ScalarValue::null(&col.data_type)));
    };
    let c = super::eval::cast_array(&ScalarValue::from_str(v).0, &col.data_type)?;
    Ok((!c.is_null(0)).then_some(ScalarValue(c)))
}

/// Cast a partition folder value to the declared type; NULL for the default partition.
/// A value that does not cast is an error naming the folder.
pub fn partition_value(raw: Option<&str>, col: &ColumnDef, folder: &str) -> Result<ScalarValue> {
    cast_partition_value(raw, col)?.ok_or_else(|| {
        QuarryError::Data(format!(
            "partition folder {folder}: value '{}' of partition column `{}` is not a valid {}",
            raw.unwrap_or_default(),
            col.name,
            crate::types::type_name(&col.data_type)
        ))
    })
}

/// A scan's files after partition and row-group pruning: planned once per query (the
/// optimizer's statistics and the physical scan share it, see [`plan_files`]).
pub struct ScanFiles {
    tasks: Vec<ScanTask>,
    /// Filters over data columns (applied while reading); partition-only filters were
    /// applied exactly by partition pruning.
    pub data_filters: Vec<Expr>,
    /// Lines for EXPLAIN ANALYZE (partitions, files, row groups pruned).
    extra: Vec<String>,
    /// Requests made while planning (listings, footers).
    io: datasource::IoStats,
    /// Typed values of the kept partitions, one array per partition column.
    pub partition_values: Vec<ArrayRef>,
    /// Bytes of the files read.
    pub bytes: u64,
}

impl ScanFiles {
    /// Rows of the kept row groups (`None` for CSV/JSON, whose files do not say).
    pub fn rows(&self) -> Option<f64> {
        self.tasks
            .iter()
            .map(|t| {
                let (rg, md) = t.row_group.as_ref()?;
                Some(md.metadata().row_group(*rg).num_rows() as f64)
            })
            .sum()
    }

    /// The parquet footers read, each with the row groups kept.
    /// The first `n` parquet row groups to be read: (file, row group, footer).
    pub fn first_row_groups(&self, n: usize) -> Vec<(&FileEntry, usize, &Metadata)> {
        self.tasks
            .iter()
            .filter_map(|t| t.row_group.as_ref().map(|(rg, md)| (&t.file, *rg, md)))
            .take(n)
            .collect()
    }

    /// A hash of the files and row groups to read (path, size, modification time, row
    /// group): equal for two plans that read the same unchanged data.
    pub fn identity(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for t in &self.tasks {
            t.file.location.to_string().hash(&mut h);
            t.file.size.hash(&mut h);
            t.file.modified.hash(&mut h);
            t.row_group.as_ref().map(|(rg, _)| *rg).hash(&mut h);
        }
        h.finish()
    }

    pub fn footers(&self) -> Vec<(Metadata, Vec<usize>)> {
        let mut out: Vec<(Metadata, Vec<usize>)> = vec![];
        for t in &self.tasks {
            if let Some((rg, md)) = &t.row_group {
                match out.last_mut() {
                    Some((m, rgs)) if Arc::ptr_eq(m, md) => rgs.push(*rg),
                    _ => out.push((md.clone(), vec![*rg])),
                }
            }
        }
        out
    }
}

/// Plan a scan's files: partition pruning, listing, footers and row-group pruning. The
/// result is cached in `ctx` by (source, filters), so the optimizer's estimates and the
/// physical scan list and read footers once.
pub fn plan_files(
    source: &Arc<TableSource>,
    columns: &[Column],
    projection: &[usize],
    filters: &[Expr],
    ctx: &ExecContext,
) -> Result<Arc<ScanFiles>> {
    let key = format!(
        "{:p}|{}",
        Arc::as_ptr(source),
        filters
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join(" AND ")
    );
    if let Some(f) = ctx.scans.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(f);
    }
    let f = Arc::new(plan_files_uncached(
        source, columns, projection, filters, ctx,
    )?);
    if let Ok(mut m) = ctx.scans.lock() {
        m.insert(key, f.clone());
    }
    Ok(f)
}

fn plan_files_uncached(
    source: &Arc<TableSource>,
    columns: &[Column],
    projection: &[usize],
    filters: &[Expr],
    ctx: &ExecContext,
) -> Result<ScanFiles> {
    let all = source.all_columns();
    let n_data = source.data_columns.len();
    let io_stats = datasource::IoStats::default();
    let mut extra: Vec<String> = vec![];
    // partitions: (folder, values)
    let partitions: Vec<(String, Vec<Option<String>>)> = match &source.files {
        SourceFiles::Folder(f) => vec![(f.clone(), vec![])],
        SourceFiles::Partitions(ps) => ps
            .iter()
            .map(|p| (p.location.clone(), p.values.clone()))
            .collect(),
    };
    let total_partitions = partitions.len();
    // typed partition values: one cast per partition column over all partitions
    let n_parts = partitions.len();
    let mut part_arrays: Vec<ArrayRef> = vec![];
    for (k, col) in source.partition_columns.iter().enumerate() {
        let raw: arrow::array::StringArray = partitions
            .iter()
            .map(|(_, vals)| vals.get(k).cloned().flatten())
            .collect();
        let cast = super::eval::cast_array(&(Arc::new(raw.clone()) as ArrayRef), &col.data_type)?;
        if let Some(bad) = (0..n_parts).find(|i| raw.is_valid(*i) && cast.is_null(*i)) {
            // the error names the folder
            partition_value(Some(raw.value(bad)), col, &partitions[bad].0)?;
        }
        part_arrays.push(cast);
    }
    // partition pruning: filters over partition columns only, evaluated on the values
    let part_ids: HashMap<ColumnId, usize> = columns
        .iter()
        .zip(projection)
        .filter(|(_, p)| **p >= n_data && **p < source.file_name_index())
        .map(|(c, p)| (c.id, *p - n_data))
        .collect();
    let (part_filters, data_filters): (Vec<Expr>, Vec<Expr>) =
        filters.iter().cloned().partition(|f| {
            !f.column_ids().is_empty() && f.column_ids().iter().all(|i| part_ids.contains_key(i))
        });
    let mut keep = vec![true; n_parts];
    if !part_filters.is_empty() && n_parts > 0 {
        let pid_list: Vec<ColumnId> = part_ids.keys().copied().collect();
        let pschema = super::schema_of(
            &pid_list
                .iter()
                .map(|id| {
                    columns
                        .iter()
                        .find(|c| c.id == *id)
                        .cloned()
                        .ok_or_else(|| QuarryError::Internal("partition column".into()))
                })
                .collect::<Result<Vec<_>>>()?,
        );
        let arrays: Vec<ArrayRef> = pid_list
            .iter()
            .map(|id| part_arrays[part_ids[id]].clone())
            .collect();
        let batch = make_batch(pschema, arrays, n_parts)?;
        let play = layout_of(&pid_list);
        for f in &part_filters {
            let m = evaluate_predicate(f, &batch, &play)?;
            for (i, k) in keep.iter_mut().enumerate() {
                *k &= m.value(i);
            }
        }
    }
    // the kept partitions' specs, to find their stored statistics (only when data
    // filters may use them, or the scan may keep the statistics it reads)
    let by_statistics = source.partition_statistics.is_some() && !data_filters.is_empty();
    // partitions read without current stored statistics get them from the footers read
    // here (parquet: every file of a kept partition has its footer read)
    let save = source
        .partition_statistics
        .as_ref()
        .and_then(|s| s.save.clone())
        .filter(|_| {
            source.format == FileFormat::Parquet
                && matches!(source.files, SourceFiles::Partitions(_))
        });
    let kept_index: Vec<usize> = (0..n_parts).filter(|i| keep[*i]).collect();
    let kept_specs: Vec<String> = if by_statistics || save.is_some() {
        let part_keys: Vec<String> = source
            .partition_columns
            .iter()
            .map(|c| c.name.clone())
            .collect();
        kept_index
            .iter()
            .map(|i| crate::catalog::hive::partition_path(&part_keys, &partitions[*i].1))
            .collect()
    } else {
        vec![]
    };
    let typed: Vec<(String, Arc<Vec<ScalarValue>>)> = partitions
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep[*i])
        .map(|(i, (folder, _))| {
            (
                folder,
                Arc::new(
                    part_arrays
                        .iter()
                        .map(|a| ScalarValue(a.slice(i, 1)))
                        .collect(),
                ),
            )
        })
        .collect();
    let kept_partitions = typed.len();
    // list files of the kept partitions (a registered partition whose folder is gone reads as empty)
    let storage = &ctx.storage;
    let io = &io_stats;
    let roots: Vec<Location> = typed
        .iter()
        .map(|(folder, _)| Location::parse(folder))
        .collect::<Result<_>>()?;
    let mut listed: Vec<Vec<(FileEntry, Arc<Vec<ScalarValue>>)>> = vec![];
    for (r, (_, vals)) in storage.list_files_many(&roots, io).into_iter().zip(&typed) {
        let files = match r {
            Ok(f) => f,
            // a registered partition whose folder is gone reads as empty
            Err(e)
                if matches!(source.files, SourceFiles::Partitions(_)) && e.is_path_not_found() =>
            {
                Arc::new(vec![])
            }
            Err(e) => return Err(e),
        };
        listed.push(files.iter().map(|f| (f.clone(), vals.clone())).collect());
    }
    // partitions whose stored statistics prove no row matches the data filters are not
    // read (their footers neither): only where the stored file count and bytes equal
    // the listing's, so files added since MSCK/REFRESH are never skipped
    let mut stats_pruned = 0;
    // per kept partition: its stored statistics match the listing
    let mut current = vec![false; listed.len()];
    if let (Some(store), true) = (
        &source.partition_statistics,
        by_statistics || save.is_some(),
    ) {
        let stored: HashMap<String, crate::catalog::TableStatistics> =
            (store.load)(&kept_specs)?.into_iter().collect();
        let range_cols: HashMap<ColumnId, (String, DataType)> = columns
            .iter()
            .zip(projection)
            .filter(|(_, p)| **p < n_data)
            .map(|(c, p)| (c.id, (all[*p].name.clone(), all[*p].data_type.clone())))
            .collect();
        let empty = std::collections::BTreeMap::new();
        let parts: Vec<(
            u64,
            &std::collections::BTreeMap<String, crate::catalog::ColumnRange>,
        )> = kept_specs
            .iter()
            .zip(&listed)
            .zip(current.iter_mut())
            .map(|((spec, files), current)| {
                let fresh = stored.get(spec).filter(|st| {
                    st.files == Some(files.len() as u64)
                        && st.size_bytes == files.iter().map(|(f, _)| f.size).sum::<u64>()
                        && st.rows.is_some()
                });
                *current = fresh.is_some();
                match fresh {
                    Some(st) => (st.rows.unwrap_or(0), &st.column_ranges),
                    None => (0, &empty),
                }
            })
            .collect();
        if by_statistics {
            let may = datasource::pruning::prune_partitions(&parts, &data_filters, &range_cols);
            for (j, files) in listed.iter_mut().enumerate() {
                if current[j] && !may[j] {
                    files.clear();
                    keep[kept_index[j]] = false;
                    stats_pruned += 1;
                }
            }
        }
    }
    // the partitions whose statistics this scan computes: (spec, files), and each
    // file's index among them
    let mut gather: Vec<(String, Vec<FileEntry>)> = vec![];
    let mut file_gather: Vec<Option<usize>> = vec![];
    for (j, files) in listed.iter().enumerate() {
        let g = (save.is_some() && !current[j] && keep[kept_index[j]]).then(|| {
            gather.push((
                kept_specs[j].clone(),
                files.iter().map(|(f, _)| f.clone()).collect(),
            ));
            gather.len() - 1
        });
        file_gather.extend(std::iter::repeat(g).take(files.len()));
    }
    let kept_partitions = kept_partitions - stats_pruned;
    let files: Vec<(FileEntry, Arc<Vec<ScalarValue>>)> = listed.into_iter().flatten().collect();
    let n_files = files.len();
    let mut tasks = vec![];
    match source.format {
        FileFormat::Parquet => {
            let stat_cols: HashMap<ColumnId, (String, DataType)> = columns
                .iter()
                .zip(projection)
                .filter(|(_, p)| **p < n_data)
                .map(|(c, p)| (c.id, (all[*p].name.clone(), all[*p].data_type.clone())))
                .collect();
            let entries: Vec<FileEntry> = files.iter().map(|(f, _)| f.clone()).collect();
            let tails = storage.fetch_tails(&entries, datasource::parquet::FOOTER_GUESS, io);
            let footers: Vec<(FileEntry, Arc<Vec<ScalarValue>>, Metadata, Vec<bool>)> =
                ctx.pool.install(|| {
                    files
                        .into_par_iter()
                        .zip(tails)
                        .map(|((file, vals), tail)| {
                            let md = Arc::new(datasource::parquet::load_metadata_with_tail(
                                storage, &file, tail?, io,
                            )?);
                            let keep = datasource::pruning::prune_row_groups(
                                &md,
                                &data_filters,
                                &stat_cols,
                            );
                            Ok((file, vals, md, keep))
                        })
                        .collect::<Result<Vec<_>>>()
                })?;
            let mut kept_line = None;
            if let (Some(save), false) = (&save, gather.is_empty()) {
                let files: Vec<&[FileEntry]> = gather.iter().map(|(_, f)| f.as_slice()).collect();
                let computed = super::statistics::footer_statistics(
                    &source.data_columns,
                    &files,
                    footers
                        .iter()
                        .zip(&file_gather)
                        .filter_map(|((_, _, md, _), g)| Some((*g.as_ref()?, md.as_ref()))),
                );
                let rows: crate::plan::PartitionStatisticsRows = gather
                    .iter()
                    .map(|(spec, _)| spec.clone())
                    .zip(computed)
                    .collect();
                // statistics are a cache: a metastore that cannot take them (locked by
                // another process, read-only) does not fail the query
                let n = rows.len();
                kept_line = Some(match save(rows) {
                    Ok(()) => format!("partition statistics kept: {n}"),
                    Err(e) => format!("partition statistics not kept: {e}"),
                });
            }
            let (mut total_rg, mut kept_rg) = (0, 0);
            let mut first_row = 0u64;
            for (file, vals, md, keep) in footers {
                for (rg, k) in keep.iter().enumerate() {
                    total_rg += 1;
                    if *k {
                        kept_rg += 1;
                        tasks.push(ScanTask {
                            file: file.clone(),
                            partition_values: vals.clone(),
                            row_group: Some((rg, md.clone())),
                            first_row,
                        });
                    }
                    first_row += md
                        .metadata()
                        .row_groups()
                        .get(rg)
                        .map_or(0, |g| g.num_rows().max(0) as u64);
                }
            }
            extra.push(format!(
                "partitions: {kept_partitions} read, {} pruned{}",
                total_partitions - kept_partitions,
                if stats_pruned > 0 {
                    format!(" ({stats_pruned} by stored statistics)")
                } else {
                    String::new()
                }
            ));
            extra.push(format!(
                "files: {n_files}; row groups: {kept_rg} read, {} pruned by statistics",
                total_rg - kept_rg
            ));
            extra.extend(kept_line);
        }
        FileFormat::Csv | FileFormat::Json => {
            for (file, vals) in files {
                tasks.push(ScanTask {
                    file,
                    partition_values: vals,
                    row_group: None,
                    first_row: 0,
                });
            }
            extra.push(format!(
                "partitions: {kept_partitions} read, {} pruned",
                total_partitions - kept_partitions
            ));
            extra.push(format!("files: {n_files} read"));
        }
    }
    let bytes = tasks
        .iter()
        .map(|t: &ScanTask| match &t.row_group {
            Some((rg, md)) => md.metadata().row_group(*rg).compressed_size().max(0) as u64,
            None => t.file.size,
        })
        .sum();
    let partition_values = part_arrays
        .iter()
        .map(|a| {
            let idx: arrow::array::UInt32Array =
                (0..n_parts as u32).filter(|i| keep[*i as usize]).collect();
            arrow::compute::take(a, &idx, None).map_err(QuarryError::from)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ScanFiles {
        tasks,
        data_filters,
        extra,
        io: io_stats,
        partition_values,
        bytes,
    })
}

impl ScanExec {
    /// Plan a scan: partition pruning, listing, footers and row-group pruning (see
    /// [`plan_files`]).
    pub fn try_new(
        source: Arc<TableSource>,
        columns: &[Column],
        projection: Vec<usize>,
        filters: Vec<Expr>,
        ctx: &ExecContext,
    ) -> Result<ScanExec> {
        let files = plan_files(&source, columns, &projection, &filters, ctx)?;
        let ids: Vec<ColumnId> = columns.iter().map(|c| c.id).collect();
        let layout = layout_of(&ids);
        let metrics = Metrics::default();
        metrics.io.merge(&files.io);
        if let Ok(mut e) = metrics.extra.lock() {
            e.extend(files.extra.iter().cloned());
        }
        let schema = super::schema_of(columns);
        Ok(ScanExec {
            ahead: Default::default(),
            source,
            ids,
            schema,
            projection,
            filters: files.data_filters.clone(),
            runtime: vec![],
            layout,
            tasks: files.tasks.clone(),
            metrics,
        })
    }

    /// Apply these join filters to the morsels read once they are ready.
    pub fn with_runtime_filters(mut self, filters: Vec<Arc<RuntimeFilter>>) -> Self {
        self.runtime = filters;
        self
    }

    /// Split the pushed filters of a parquet morsel: those over data columns the file
    /// has are evaluated inside the reader (late materialization: their columns are
    /// decoded first, the rest only for the rows they keep); the others (over partition
    /// columns, or columns the file lacks) are returned to run after the read.
    ///
    /// Inside the reader, each conjunct over one column is its own predicate, so a later
    /// one decodes its column only for the rows the earlier ones kept: fixed-width
    /// columns first (cheap to decode), then strings, then one predicate for the
    /// conjuncts over several columns. A one-column predicate over a string column the
    /// reader returns dictionary-encoded is evaluated once per distinct value
    /// ([`dictionary_predicate`]). Ready join filters (`runtime`) over the file's columns
    /// go before all of them and are taken out of `runtime`; the rest stay for after.
    /// `names`: the data columns the morsel decodes (row group `rg` of the file `md`).
    fn row_predicates(
        &self,
        md: &Metadata,
        rg: usize,
        names: &[String],
        path: &Location,
        runtime: &mut Vec<Arc<RuntimeFilter>>,
    ) -> (Vec<datasource::parquet::RowPredicate>, Vec<Expr>) {
        let all = self.source.all_columns();
        let n_data = self.source.data_columns.len();
        let def_of = |id: &ColumnId| -> Option<ColumnDef> {
            let i = self.ids.iter().position(|x| x == id)?;
            let p = self.projection[i];
            (p < n_data && datasource::parquet::has_column(md, &all[p].name))
                .then(|| all[p].clone())
        };
        let (inside, after): (Vec<Expr>, Vec<Expr>) = self.filters.iter().cloned().partition(|f| {
            !f.column_ids().is_empty() && f.column_ids().iter().all(|id| def_of(id).is_some())
        });
        // (rank, columns, the conjuncts over exactly those columns)
        let mut groups: Vec<(u8, Vec<ColumnId>, Vec<Expr>)> = vec![];
        let mut multi: Vec<Expr> = vec![];
        for f in inside {
            let ids = f.column_ids();
            let [id] = ids.as_slice() else {
                multi.push(f);
                continue;
            };
            match groups.iter_mut().find(|(_, g, _)| g == &ids) {
                Some((_, _, fs)) => fs.push(f),
                None => {
                    let rank = match def_of(id).map(|d| d.data_type) {
                        Some(t) if t.is_primitive() => 0,
                        Some(DataType::Utf8 | DataType::LargeUtf8) => 1,
                        _ => 2,
                    };
                    groups.push((rank, ids.clone(), vec![f]));
                }
            }
        }
        groups.sort_by_key(|(rank, _, _)| *rank);
        if !multi.is_empty() {
            let mut ids: Vec<ColumnId> = vec![];
            for id in multi.iter().flat_map(|f| f.column_ids()) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            groups.push((3, ids, multi));
        }
        // With arrow's reader, filtering inside costs (each later predicate and the
        // output read row-selectively, through its predicate cache); it pays when it
        // spares the decoding of more columns than the predicates read (TPC-H Q14: 1
        // predicate column, 3 spared; Q6: 3 and 1, a loss), or when a string predicate
        // can run on a dictionary (Q12, Q16, Q19). Quarry's own decoder decodes a
        // column at the rows kept for the price of the rows kept: always inside.
        let read: Vec<ColumnId> = groups.iter().flat_map(|(_, ids, _)| ids.clone()).collect();
        let spared = self.ids.iter().filter(|id| !read.contains(id)).count();
        // rank 1: a one-column string predicate
        let strings = groups.iter().any(|(rank, _, _)| *rank == 1);
        // a join filter is there because it is expected to drop most rows
        let mut inside_rt: Vec<(ColumnDef, Arc<RuntimeFilter>)> = vec![];
        runtime.retain(|f| match def_of(&f.column) {
            Some(def) => {
                inside_rt.push((def, f.clone()));
                false
            }
            None => true,
        });
        let own = datasource::parquet::own_decoder_reads(md, rg, names);
        if spared <= read.len() && !strings && inside_rt.is_empty() && !own {
            let mut all_after: Vec<Expr> = groups.into_iter().flat_map(|(_, _, fs)| fs).collect();
            all_after.extend(after);
            return (vec![], all_after);
        }
        let mut preds = vec![];
        for (def, f) in inside_rt {
            let path = path.clone();
            let columns = vec![def.name.clone()];
            let eval = move |b: &RecordBatch| -> Result<arrow::array::BooleanArray> {
                let arrays = adapt_batch(b, std::slice::from_ref(&def), &path)?;
                match arrays.first() {
                    Some(keys) => f.evaluate(keys),
                    None => Err(QuarryError::Internal("join filter column".into())),
                }
            };
            preds.push(datasource::parquet::RowPredicate {
                columns,
                eval: Box::new(eval),
            });
        }
        for (_, ids, conjuncts) in groups {
            let Some(predicate) = Expr::conjunction(conjuncts) else {
                continue;
            };
            let defs: Vec<ColumnDef> = ids.iter().filter_map(def_of).collect();
            let schema: SchemaRef = Arc::new(arrow::datatypes::Schema::new(
                defs.iter()
                    .map(|d| arrow::datatypes::Field::new(&d.name, d.data_type.clone(), true))
                    .collect::<Vec<_>>(),
            ));
            let layout = layout_of(&ids);
            let columns = defs.iter().map(|d| d.name.clone()).collect();
            let path = path.clone();
            let by_row = move |b: &RecordBatch| -> Result<arrow::array::BooleanArray> {
                let arrays = adapt_batch(b, &defs, &path)?;
                let batch = make_batch(schema.clone(), arrays, b.num_rows())?;
                evaluate_predicate(&predicate, &batch, &layout)
            };
            let eval = move |b: &RecordBatch| -> Result<arrow::array::BooleanArray> {
                dictionary_predicate(b, &by_row).unwrap_or_else(|| by_row(b))
            };
            preds.push(datasource::parquet::RowPredicate {
                columns,
                eval: Box::new(eval),
            });
        }
        (preds, after)
    }

    /// The data column names a parquet morsel decodes.
    fn data_names(&self) -> Vec<String> {
        let all = self.source.all_columns();
        let n_data = self.source.data_columns.len();
        self.projection
            .iter()
            .filter(|p| **p < n_data)
            .map(|p| all[*p].name.clone())
            .collect()
    }

    /// For an S3 parquet morsel: its fetch if read-ahead started one, after starting the
    /// fetches of the next [`READ_AHEAD`] unclaimed morsels.
    fn take_prefetch(
        &self,
        partition: usize,
        ctx: &ExecContext,
    ) -> Option<datasource::parquet::Prefetch> {
        let t = self.tasks.get(partition)?;
        if !t.file.location.is_s3() || t.row_group.is_none() {
            return None;
        }
        let names = self.data_names();
        let mut guard = self.ahead.lock().ok()?;
        let (claimed, jobs) = &mut *guard;
        let mine = jobs.remove(&partition);
        claimed.insert(partition);
        for next in partition + 1..=(partition + READ_AHEAD).min(self.tasks.len().saturating_sub(1))
        {
            if claimed.insert(next) {
                let nt = &self.tasks[next];
                let remote =
                    nt.file.location.is_s3() && ctx.storage.cached_small_file(&nt.file).is_none();
                if let (true, Some((rg, md))) = (remote, &nt.row_group) {
                    if let Ok(p) = datasource::parquet::spawn_prefetch(
                        &ctx.storage,
                        &nt.file,
                        md,
                        &[*rg],
                        &names,
                    ) {
                        jobs.insert(next, p);
                    }
                }
            }
        }
        mine
    }

    fn read_task(
        &self,
        t: &ScanTask,
        ctx: &ExecContext,
        ahead: Option<datasource::parquet::Prefetch>,
    ) -> Result<Vec<RecordBatch>> {
        super::collect_batches(|sink| self.read_task_into(t, ctx, ahead, sink))
    }

    /// Read one task's rows, handing each batch (columns adapted to the table's schema,
    /// partition values added, the filters left to the scan applied; empty ones
    /// dropped) to `sink` as soon as it is read: for parquet with Quarry's own decoder,
    /// a batch at a time; else after the file's reader made them all.
    fn read_task_into(
        &self,
        t: &ScanTask,
        ctx: &ExecContext,
        ahead: Option<datasource::parquet::Prefetch>,
        sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        ctx.check_cancel()?;
        let all = self.source.all_columns();
        let n_data = self.source.data_columns.len();
        let data_proj: Vec<usize> = self
            .projection
            .iter()
            .copied()
            .filter(|p| *p < n_data)
            .collect();
        let data_cols: Vec<ColumnDef> = data_proj.iter().map(|p| all[*p].clone()).collect();
        let mut post_filters: Vec<Expr> = self.filters.clone();
        let mut runtime: Vec<Arc<RuntimeFilter>> = self
            .runtime
            .iter()
            .filter(|f| f.active())
            .cloned()
            .collect();
        // the filters the parquet reader applies as it decodes (late materialization);
        // none where the row ids are read, which count every row of the row group
        let names = self.data_names();
        let row_id_index = self.source.row_id_index();
        let row_ids = self.projection.contains(&row_id_index);
        let predicates = match (&self.source.format, &t.row_group) {
            (FileFormat::Parquet, Some((rg, md))) if !row_ids => {
                let (pred, after) =
                    self.row_predicates(md, *rg, &names, &t.file.location, &mut runtime);
                post_filters = after;
                pred
            }
            _ => vec![],
        };
        let file_index = self.source.file_name_index();
        let file_name = if self.projection.contains(&file_index) {
            input_file_name(&t.file.location)
        } else {
            String::new()
        };
        if row_ids && t.row_group.is_none() {
            return Err(QuarryError::NotSupported(format!(
                "rowid of the {} table {}",
                self.source.format.name(),
                self.source.name
            )));
        }
        let mut next_row_id = t.first_row as i64;
        let mut finish = |b: RecordBatch| -> Result<()> {
            let adapted = adapt_batch(&b, &data_cols, &t.file.location)?;
            let n = b.num_rows();
            let first_id = next_row_id;
            next_row_id += n as i64;
            let mut it = adapted.into_iter();
            let cols: Vec<ArrayRef> = self
                .projection
                .iter()
                .map(|p| {
                    if *p < n_data {
                        it.next()
                            .ok_or_else(|| QuarryError::Internal("adapted column".into()))
                    } else if *p == file_index {
                        Ok(Arc::new(arrow::array::StringArray::from_iter_values(
                            std::iter::repeat_n(file_name.as_str(), n),
                        )) as ArrayRef)
                    } else if *p == row_id_index {
                        Ok(Arc::new(arrow::array::Int64Array::from_iter_values(
                            first_id..first_id + n as i64,
                        )) as ArrayRef)
                    } else {
                        let v = t
                            .partition_values
                            .get(*p - n_data)
                            .cloned()
                            .unwrap_or_else(|| ScalarValue::null(&all[*p].data_type));
                        if n == 0 {
                            Ok(new_null_array(&all[*p].data_type, 0))
                        } else {
                            v.to_array(n)
                        }
                    }
                })
                .collect::<Result<_>>()?;
            let mut batch = make_batch(self.schema.clone(), cols, n)?;
            for f in &runtime {
                if let Some(i) = self.layout.get(&f.column) {
                    let m = f.evaluate(batch.column(*i))?;
                    batch = filter_record_batch(&batch, &m)?;
                }
            }
            for f in &post_filters {
                let m = evaluate_predicate(f, &batch, &self.layout)?;
                batch = filter_record_batch(&batch, &m)?;
            }
            if batch.num_rows() > 0 {
                sink(batch)?;
            }
            Ok(())
        };
        match (&self.source.format, &t.row_group) {
            (FileFormat::Parquet, Some((rg, md))) => datasource::parquet::read_row_groups(
                &ctx.storage,
                &t.file,
                md,
                vec![*rg],
                &names,
                ctx.batch_size,
                predicates,
                &self.metrics.io,
                ahead,
                &mut finish,
            ),
            (FileFormat::Csv, _) => datasource::text::read_csv(
                &ctx.storage,
                &t.file,
                &self.source.options,
                &self.source.data_columns,
                &data_proj,
                ctx.batch_size,
                &self.metrics.io,
            )?
            .into_iter()
            .try_for_each(&mut finish),
            (FileFormat::Json, _) => datasource::text::read_json(
                &ctx.storage,
                &t.file,
                &self.source.data_columns,
                &data_proj,
                ctx.batch_size,
                &self.metrics.io,
            )?
            .into_iter()
            .try_for_each(&mut finish),
            _ => Err(QuarryError::Internal(
                "parquet task without a row group".into(),
            )),
        }
    }
}

/// A one-column predicate over a dictionary-encoded column (`batch` holds just that
/// column; `eval` evaluates the predicate row by row on a batch of that column):
/// evaluated on the dictionary's distinct values (and once on NULL, for rows with a NULL
/// key), each row then takes its value's answer through its key, so a string is compared
/// once per distinct value instead of once per row. `None` (evaluate row by row) when
/// the column is not a dictionary.
fn dictionary_predicate(
    batch: &RecordBatch,
    eval: &dyn Fn(&RecordBatch) -> Result<arrow::array::BooleanArray>,
) -> Option<Result<arrow::array::BooleanArray>> {
    let [col] = batch.columns() else { return None };
    let dict = col.as_any_dictionary_opt()?;
    let answers = |values: ArrayRef| -> Result<arrow::array::BooleanArray> {
        let field = batch
            .schema()
            .field(0)
            .clone()
            .with_data_type(values.data_type().clone());
        eval(&RecordBatch::try_new(
            Arc::new(arrow::datatypes::Schema::new(vec![field])),
            vec![values],
        )?)
    };
    let run = || -> Result<arrow::array::BooleanArray> {
        let per_value = answers(dict.values().clone())?;
        let rows = arrow::compute::take(&per_value, dict.keys(), None)?;
        if dict.keys().null_count() == 0 {
            return Ok(rows.as_boolean().clone());
        }
        let on_null = answers(new_null_array(dict.values().data_type(), 1))?;
        let null_keys = arrow::compute::is_null(dict.keys())?;
        let filled = arrow::compute::kernels::zip::zip(
            &null_keys,
            &arrow::array::Scalar::new(on_null),
            &rows,
        )?;
        Ok(filled.as_boolean().clone())
    };
    Some(run())
}

impl ExecutionPlan for ScanExec {
    fn describe(&self) -> String {
        let all = self.source.all_columns();
        let cols: Vec<String> = self
            .projection
            .iter()
            .map(|p| all[*p].name.clone())
            .collect();
        let mut s = format!(
            "ScanExec {} format={} location={} columns=[{}] morsels={}",
            self.source.name,
            self.source.format.name(),
            self.source.location,
            cols.join(", "),
            self.tasks.len()
        );
        if !self.filters.is_empty() {
            s.push_str(&format!(
                " filters=[{}]",
                self.filters
                    .iter()
                    .map(|f| f.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !self.runtime.is_empty() {
            let f: Vec<String> = self.runtime.iter().map(|f| f.describe()).collect();
            s.push_str(&format!(" join_filters=[{}]", f.join(", ")));
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
        self.tasks.len().max(1)
    }
    fn execute(&self, partition: usize, ctx: &ExecContext) -> Result<Vec<RecordBatch>> {
        self.metrics.record(|| match self.tasks.get(partition) {
            Some(t) => self.read_task(t, ctx, self.take_prefetch(partition, ctx)),
            None => Ok(vec![]),
        })
    }
    fn execute_into(
        &self,
        partition: usize,
        ctx: &ExecContext,
        sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        let Some(t) = self.tasks.get(partition) else {
            return Ok(());
        };
        self.metrics.record_into(sink, |sink| {
            self.read_task_into(t, ctx, self.take_prefetch(partition, ctx), sink)
        })
    }
    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![]
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{DictionaryArray, Int32Array, StringArray};
    use arrow::datatypes::Int32Type;

    /// The per-distinct-value answers, looked up through the keys, equal the answers of
    /// evaluating row by row: for `=`, `IS NULL` and `coalesce(..) = ..` over a
    /// dictionary with a NULL key and a NULL value.
    #[test]
    fn dictionary_predicate_matches_row_by_row() {
        let col = Column::new("mode", DataType::Utf8, true);
        let keys = Int32Array::from(vec![Some(0), Some(1), None, Some(2), Some(0), Some(1)]);
        let values = StringArray::from(vec![Some("MAIL"), Some("SHIP"), None]);
        let dict = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).unwrap();
        let dict_field = arrow::datatypes::Field::new("mode", dict.data_type().clone(), true);
        let batch = RecordBatch::try_new(
            Arc::new(arrow::datatypes::Schema::new(vec![dict_field])),
            vec![Arc::new(dict.clone())],
        )
        .unwrap();
        let schema: SchemaRef = Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("mode", DataType::Utf8, true),
        ]));
        let layout = layout_of(&[col.id]);
        let plain = arrow::compute::cast(&dict, &DataType::Utf8).unwrap();
        let plain_batch = make_batch(schema.clone(), vec![plain], 6).unwrap();
        // what the scan's row-by-row evaluation does with a batch of the column
        let by_row = |p: &Expr, b: &RecordBatch| -> Result<arrow::array::BooleanArray> {
            let batch = make_batch(schema.clone(), b.columns().to_vec(), b.num_rows())?;
            evaluate_predicate(p, &batch, &layout)
        };
        let lit = |s: &str| Expr::Literal(ScalarValue(Arc::new(StringArray::from(vec![s]))));
        let c = || Box::new(Expr::Column(col.clone()));
        let predicates = vec![
            Expr::Binary {
                op: crate::plan::BinOp::Eq,
                left: c(),
                right: Box::new(lit("SHIP")),
                data_type: DataType::Boolean,
            },
            Expr::IsNull(c()),
            Expr::InList {
                expr: c(),
                list: vec![lit("MAIL"), lit("AIR")],
                negated: true,
            },
        ];
        for p in predicates {
            let by_value = dictionary_predicate(&batch, &|b| by_row(&p, b))
                .expect("a dictionary column")
                .unwrap();
            let by_row = by_row(&p, &plain_batch).unwrap();
            let norm = |a: &arrow::array::BooleanArray| -> Vec<bool> {
                (0..a.len()).map(|i| a.is_valid(i) && a.value(i)).collect()
            };
            assert_eq!(norm(&by_value), norm(&by_row), "{p}");
        }
        // not a dictionary: evaluated row by row by the caller
        assert!(dictionary_predicate(&plain_batch, &|b| by_row(&Expr::IsNull(c()), b)).is_none());
    }
}
