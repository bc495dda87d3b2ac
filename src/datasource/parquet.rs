//! Parquet reading: footers (schema, row-group statistics) and row-group morsels that
//! decode only the projected columns, from local files or S3 objects.
//!
//! An S3 file is read through [`RemoteFile`]: the footer with one suffix-sized ranged
//! GET (64 KiB, more only when the footer is larger), a row group's projected column
//! chunks with one batch of concurrent, coalesced ranged GETs before decoding starts.

use std::fs::File;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::{Buf, Bytes};
use parquet::file::reader::{ChunkReader, Length};

use arrow::array::BooleanArray;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, RowFilter,
};
use parquet::arrow::push_decoder::ParquetPushDecoderBuilder;
use parquet::arrow::ProjectionMask;
use parquet::DecodeResult;

use super::location::Location;
use super::store::{FileEntry, IoStats, Storage};
use crate::catalog::ColumnDef;
use crate::error::{QuarryError, Result};
use crate::types::normalize_type;

/// Bytes of the file's tail fetched for the footer in the first request.
pub const FOOTER_GUESS: u64 = 64 * 1024;

/// An S3 parquet file as a [`ChunkReader`]: serves reads from ranges fetched ahead
/// ([`RemoteFile::prefetch`]) and fetches anything else on demand (one GET each).
pub struct RemoteFile {
    storage: Arc<Storage>,
    location: Location,
    size: u64,
    /// Requests made by this reader (the caller adds them to its operator's stats).
    pub stats: Arc<IoStats>,
    chunks: Mutex<Vec<(u64, Bytes)>>,
}

impl RemoteFile {
    pub fn new(storage: &Arc<Storage>, file: &FileEntry) -> Self {
        RemoteFile {
            storage: storage.clone(),
            location: file.location.clone(),
            size: file.size,
            stats: Arc::new(IoStats::default()),
            chunks: Mutex::new(vec![]),
        }
    }

    /// Keep bytes fetched elsewhere (e.g. the file's tail) for later reads.
    pub fn add_chunk(&self, start: u64, data: Bytes) {
        if let Ok(mut c) = self.chunks.lock() {
            c.push((start, data));
        }
    }

    /// Fetch `ranges` (concurrently, coalesced) and keep them for later reads.
    pub fn prefetch(&self, ranges: impl IntoIterator<Item = Range<u64>>) -> Result<()> {
        let ranges: Vec<Range<u64>> = ranges
            .into_iter()
            .filter(|r| r.end > r.start && !self.cached(r.start, r.end - r.start))
            .collect();
        if ranges.is_empty() {
            return Ok(());
        }
        let data = self
            .storage
            .get_ranges(&self.location, &ranges, &self.stats)?;
        if let Ok(mut c) = self.chunks.lock() {
            c.extend(ranges.iter().map(|r| r.start).zip(data));
        }
        Ok(())
    }

    fn cached(&self, start: u64, len: u64) -> bool {
        self.lookup(start, len).is_some()
    }

    /// The cached bytes covering `start..start+len`, as a slice reaching to the end of its chunk.
    fn lookup(&self, start: u64, len: u64) -> Option<Bytes> {
        let c = self.chunks.lock().ok()?;
        c.iter()
            .find(|(s, b)| *s <= start && start + len <= s + b.len() as u64)
            .map(|(s, b)| b.slice((start - s) as usize..))
    }

    fn fetch(&self, start: u64, len: u64) -> parquet::errors::Result<Bytes> {
        if let Some(b) = self.lookup(start, len) {
            return Ok(b);
        }
        let end = (start + len).min(self.size);
        self.prefetch([start..end])
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))?;
        self.lookup(start, end - start).ok_or_else(|| {
            parquet::errors::ParquetError::General(format!("short read of {}", self.location))
        })
    }
}

impl Length for RemoteFile {
    fn len(&self) -> u64 {
        self.size
    }
}

impl ChunkReader for RemoteFile {
    type T = bytes::buf::Reader<Bytes>;
    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        // page headers: a cached chunk from `start` on, else the next 64 KiB
        let b = match self.lookup(start, 1) {
            Some(b) => b,
            None => self.fetch(start, FOOTER_GUESS.min(self.size.saturating_sub(start)))?,
        };
        Ok(b.reader())
    }
    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        Ok(self.fetch(start, length as u64)?.slice(..length))
    }
}

fn open(path: &std::path::Path) -> Result<File> {
    File::open(path).map_err(|e| QuarryError::Data(format!("cannot open {}: {e}", path.display())))
}

fn read_err(loc: &Location) -> impl Fn(parquet::errors::ParquetError) -> QuarryError + '_ {
    move |e| match e {
        parquet::errors::ParquetError::External(inner) => match inner.downcast::<QuarryError>() {
            Ok(q) => *q,
            Err(other) => QuarryError::Data(format!("cannot read parquet file {loc}: {other}")),
        },
        e => QuarryError::Data(format!("cannot read parquet file {loc}: {e}")),
    }
}

/// Read a file's footer. A file that is not parquet (or is truncated) is an error naming it.
/// Columns whose embedded arrow schema asks for view types (`Utf8View`, `BinaryView`,
/// as pyarrow and `tpchgen` write them) are read as plain `Utf8` / `Binary`, Quarry's
/// string representation, so the decoder builds them directly instead of a cast per batch.
pub fn load_metadata(
    storage: &Arc<Storage>,
    file: &FileEntry,
    stats: &IoStats,
) -> Result<ArrowReaderMetadata> {
    load_metadata_with_tail(storage, file, None, stats)
}

/// [`load_metadata`] with the file's tail already fetched (see `Storage::fetch_tails`).
pub fn load_metadata_with_tail(
    storage: &Arc<Storage>,
    file: &FileEntry,
    tail: Option<Bytes>,
    stats: &IoStats,
) -> Result<ArrowReaderMetadata> {
    if let Some(md) = storage.cached_footer(file) {
        return Ok(md.as_ref().clone());
    }
    let err = read_err(&file.location);
    let md = match &file.location {
        Location::Local(p) => {
            ArrowReaderMetadata::load(&open(p)?, ArrowReaderOptions::new()).map_err(&err)?
        }
        Location::S3 { .. } => {
            if file.size < 12 {
                return Err(QuarryError::Data(format!(
                    "cannot read parquet file {}: {} bytes is too small for a parquet file",
                    file.location, file.size
                )));
            }
            let remote = RemoteFile::new(storage, file);
            let r = match tail {
                Some(t) => {
                    remote.add_chunk(file.size - t.len() as u64, t);
                    Ok(())
                }
                None => remote.prefetch([file.size.saturating_sub(FOOTER_GUESS)..file.size]),
            }
            .and_then(|_| {
                ArrowReaderMetadata::load(&remote, ArrowReaderOptions::new()).map_err(&err)
            });
            if let Some(whole) = remote.lookup(0, file.size) {
                storage.cache_small_file(file, whole.slice(..file.size as usize));
            }
            stats.merge(&remote.stats);
            r?
        }
    };
    let md = plain_strings(md).map_err(&err)?;
    storage.cache_footer(file, Arc::new(md.clone()));
    Ok(md)
}

/// Read view-typed string columns as plain `Utf8`/`Binary` (see [`load_metadata`]).
fn plain_strings(md: ArrowReaderMetadata) -> parquet::errors::Result<ArrowReaderMetadata> {
    let plain = |t: &DataType| match t {
        DataType::Utf8View => Some(DataType::Utf8),
        DataType::BinaryView => Some(DataType::Binary),
        _ => None,
    };
    if !md
        .schema()
        .fields()
        .iter()
        .any(|f| plain(f.data_type()).is_some())
    {
        return Ok(md);
    }
    let fields: Vec<Field> = md
        .schema()
        .fields()
        .iter()
        .map(|f| match plain(f.data_type()) {
            Some(t) => f.as_ref().clone().with_data_type(t),
            None => f.as_ref().clone(),
        })
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(
        fields,
        md.schema().metadata().clone(),
    ));
    ArrowReaderMetadata::try_new(
        md.metadata().clone(),
        ArrowReaderOptions::new().with_schema(schema),
    )
}

/// The columns of a parquet file, with Quarry's normalized types.
pub fn infer_schema(storage: &Arc<Storage>, file: &FileEntry) -> Result<Vec<ColumnDef>> {
    let md = load_metadata(storage, file, &IoStats::default())?;
    Ok(md
        .schema()
        .fields()
        .iter()
        .map(|f| ColumnDef::new(f.name().clone(), normalize_type(f.data_type())))
        .collect())
}

/// The mask of the file's top-level columns named in `columns` (case-insensitive).
fn roots(metadata: &ArrowReaderMetadata, columns: &[String]) -> ProjectionMask {
    ProjectionMask::roots(metadata.parquet_schema(), root_indices(metadata, columns))
}

/// True when the file has a top-level column of this name (case-insensitive).
pub fn has_column(metadata: &ArrowReaderMetadata, name: &str) -> bool {
    metadata
        .schema()
        .fields()
        .iter()
        .any(|f| f.name().eq_ignore_ascii_case(name))
}

/// The byte ranges of the column chunks of `row_groups` under the top-level `columns`.
pub fn row_group_ranges(
    metadata: &ArrowReaderMetadata,
    row_groups: &[usize],
    columns: &[String],
) -> Vec<Range<u64>> {
    let mask = roots(metadata, columns);
    let schema = metadata.metadata().file_metadata().schema_descr();
    let mut ranges = vec![];
    for rg in row_groups {
        let rgm = metadata.metadata().row_group(*rg);
        for leaf in 0..schema.num_columns() {
            if mask.leaf_included(leaf) {
                let (start, len) = rgm.column(leaf).byte_range();
                ranges.push(start..start + len);
            }
        }
    }
    ranges
}

/// Column chunks of an S3 row group being fetched in the background (read-ahead).
pub struct Prefetch {
    pub ranges: Vec<Range<u64>>,
    pub job: super::store::RangesJob,
}

/// Start fetching what [`read_row_groups`] will read of an S3 file.
pub fn spawn_prefetch(
    storage: &Storage,
    file: &FileEntry,
    metadata: &ArrowReaderMetadata,
    row_groups: &[usize],
    columns: &[String],
) -> Result<Prefetch> {
    let ranges = row_group_ranges(metadata, row_groups, columns);
    let job = storage.spawn_ranges(&file.location, ranges.clone())?;
    Ok(Prefetch { ranges, job })
}

/// A filter evaluated inside the reader (late materialization): it sees a batch of the
/// columns it names (file names and types, file order) and returns the rows to keep;
/// the other projected columns are then decoded only for those rows.
pub struct RowPredicate {
    pub columns: Vec<String>,
    pub eval: Box<dyn FnMut(&RecordBatch) -> Result<BooleanArray> + Send>,
}

/// Read `row_groups` of a file, decoding only the top-level columns named in `columns`
/// (case-insensitive; names the file lacks are skipped, the adapter fills them with NULL),
/// and, with `predicates` (applied in order, each to the rows the earlier ones kept),
/// only the rows they keep. With no column and no predicate (`count(*)`, or only
/// partition columns) the batches carry just row counts, taken from the footer: no
/// data is read.
#[allow(clippy::too_many_arguments)]
pub fn read_row_groups(
    storage: &Arc<Storage>,
    file: &FileEntry,
    metadata: &ArrowReaderMetadata,
    row_groups: Vec<usize>,
    columns: &[String],
    batch_size: usize,
    predicates: Vec<RowPredicate>,
    stats: &IoStats,
    ahead: Option<Prefetch>,
    sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    if columns.is_empty() && predicates.is_empty() {
        return row_counts(metadata, &row_groups, batch_size)?
            .into_iter()
            .try_for_each(sink);
    }
    match &file.location {
        Location::Local(p) => decode(
            open(p)?,
            &file.location,
            metadata,
            row_groups,
            columns,
            batch_size,
            predicates,
            sink,
        ),
        Location::S3 { .. } => {
            let remote = RemoteFile::new(storage, file);
            let remote_stats = remote.stats.clone();
            // a small file whose footer read fetched all of it: the prefetch below then
            // finds every range cached and makes no request
            if ahead.is_none() {
                if let Some(whole) = storage.cached_small_file(file) {
                    remote.add_chunk(0, whole);
                }
            }
            let fetched = match ahead {
                Some(Prefetch { ranges, job }) => storage
                    .join_ranges(job, &file.location, &remote_stats)
                    .map(|data| {
                        for (r, d) in ranges.iter().zip(data) {
                            remote.add_chunk(r.start, d);
                        }
                    }),
                None => remote.prefetch(row_group_ranges(metadata, &row_groups, columns)),
            };
            let r = fetched.and_then(|_| {
                decode(
                    remote,
                    &file.location,
                    metadata,
                    row_groups,
                    columns,
                    batch_size,
                    predicates,
                    sink,
                )
            });
            stats.merge(&remote_stats);
            r
        }
    }
}

/// Column-less batches of at most `batch_size` rows holding the rows of `row_groups`
/// (their footer's row counts).
fn row_counts(
    metadata: &ArrowReaderMetadata,
    row_groups: &[usize],
    batch_size: usize,
) -> Result<Vec<RecordBatch>> {
    let md = metadata.metadata();
    let schema = Arc::new(arrow::datatypes::Schema::empty());
    let mut out = vec![];
    for rg in row_groups {
        let mut left = md
            .row_groups()
            .get(*rg)
            .map_or(0, |g| g.num_rows().max(0) as usize);
        while left > 0 {
            let n = left.min(batch_size.max(1));
            out.push(RecordBatch::try_new_with_options(
                schema.clone(),
                vec![],
                &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(n)),
            )?);
            left -= n;
        }
    }
    Ok(out)
}

/// Decode with arrow's push decoder, reading the byte ranges it asks for from `reader`.
/// Unlike the pull reader, it keeps the columns a row filter decoded (its predicate
/// cache) and hands them to the output for the rows kept, instead of decoding the
/// filter's columns a second time.
///
/// A string column that a predicate reads alone comes back dictionary-encoded
/// (`Dictionary(Int32, Utf8)`) when every data page of it in these row groups is
/// dictionary-encoded: the predicate then compares each distinct value once, and only
/// the kept rows' strings are materialized (by the caller's cast to the table's type).
fn decode<R: ChunkReader + 'static>(
    reader: R,
    loc: &Location,
    metadata: &ArrowReaderMetadata,
    row_groups: Vec<usize>,
    columns: &[String],
    batch_size: usize,
    mut predicates: Vec<RowPredicate>,
    sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    if decode_own(
        &reader,
        loc,
        metadata,
        &row_groups,
        columns,
        batch_size,
        &mut predicates,
        sink,
    )? {
        return Ok(());
    }
    let err = read_err(loc);
    let dictionary: Vec<&str> = predicates
        .iter()
        .filter_map(|p| match p.columns.as_slice() {
            [c] => Some(c.as_str()),
            _ => None,
        })
        .collect();
    let metadata = with_dictionary_strings(metadata, &row_groups, &dictionary).map_err(&err)?;
    let metadata: &ArrowReaderMetadata = &metadata;
    let mut builder = ParquetPushDecoderBuilder::new_with_metadata(metadata.clone())
        .with_projection(roots(metadata, columns))
        .with_row_groups(row_groups)
        .with_batch_size(batch_size);
    if !predicates.is_empty() {
        let filters: Vec<Box<dyn parquet::arrow::arrow_reader::ArrowPredicate>> = predicates
            .into_iter()
            .map(|RowPredicate { columns, mut eval }| {
                Box::new(ArrowPredicateFn::new(
                    roots(metadata, &columns),
                    move |b: RecordBatch| {
                        eval(&b).map_err(|e| ArrowError::ComputeError(e.to_string()))
                    },
                )) as Box<dyn parquet::arrow::arrow_reader::ArrowPredicate>
            })
            .collect();
        builder = builder.with_row_filter(RowFilter::new(filters));
    }
    let mut decoder = builder.build().map_err(&err)?;
    loop {
        match decoder.try_decode().map_err(&err)? {
            DecodeResult::NeedsData(ranges) => {
                let data = ranges
                    .iter()
                    .map(|r| reader.get_bytes(r.start, (r.end - r.start) as usize))
                    .collect::<std::result::Result<Vec<Bytes>, _>>()
                    .map_err(&err)?;
                decoder.push_ranges(ranges, data).map_err(&err)?;
            }
            DecodeResult::Data(b) => sink(b)?,
            DecodeResult::Finished => return Ok(()),
        }
    }
}

/// The indices of the file's top-level fields named in `columns`, in file order.
fn root_indices(metadata: &ArrowReaderMetadata, columns: &[String]) -> Vec<usize> {
    metadata
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, fld)| columns.iter().any(|c| c.eq_ignore_ascii_case(fld.name())))
        .map(|(i, _)| i)
        .collect()
}

/// Whether Quarry's own column decoder ([`super::parquet_decode`]) reads the columns
/// named in `columns` (case-insensitive) in row group `rg`: there, a filter inside the
/// reader costs nothing extra (later columns are decoded at the rows kept), while arrow's
/// reader filters through its predicate cache.
pub fn own_decoder_reads(metadata: &ArrowReaderMetadata, rg: usize, columns: &[String]) -> bool {
    super::parquet_decode::supported(metadata, &[rg], &root_indices(metadata, columns))
}

/// Decode with Quarry's own column decoder ([`super::parquet_decode`]) when it reads
/// every column involved, handing the batches to `sink` as they are decoded; `false`
/// when it does not (nothing went to `sink`: arrow's reader then reads the file).
#[allow(clippy::too_many_arguments)]
fn decode_own<R: ChunkReader>(
    reader: &R,
    loc: &Location,
    metadata: &ArrowReaderMetadata,
    row_groups: &[usize],
    columns: &[String],
    batch_size: usize,
    predicates: &mut [RowPredicate],
    sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<bool> {
    use super::parquet_decode::{decode_row_group_into, supported, DecodeError, Scratch};
    let roots = root_indices(metadata, columns);
    let mut involved = roots.clone();
    for p in predicates.iter() {
        involved.extend(root_indices(metadata, &p.columns));
    }
    if !supported(metadata, row_groups, &involved) {
        return Ok(false);
    }
    thread_local! {
        // kept between morsels: a page's scratch is zero-filled only when it grows
        static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
    }
    let mut own = None;
    // batches handed on: past the first, a fallback would repeat them
    let sunk = std::cell::Cell::new(false);
    let mut counted = |b: RecordBatch| {
        sunk.set(true);
        sink(b)
    };
    for rg in row_groups {
        let r = SCRATCH.with(|s| {
            // the thread's scratch; a fresh one if it is in use (a nested read)
            let mut held = s.try_borrow_mut().ok();
            let scratch = match held.as_deref_mut() {
                Some(scratch) => scratch,
                None => own.get_or_insert_with(Scratch::default),
            };
            decode_row_group_into(
                reader,
                metadata,
                *rg,
                &roots,
                batch_size,
                predicates,
                scratch,
                &mut counted,
            )
        });
        match r {
            Ok(()) => {}
            Err(DecodeError::Unsupported(_)) if !sunk.get() => return Ok(false),
            Err(DecodeError::Unsupported(m)) => {
                return Err(QuarryError::NotSupported(format!(
                    "{m} in parquet file {loc}, met after its first rows were read (the chunks' encodings did not announce it)"
                )))
            }
            Err(DecodeError::Predicate(e)) => return Err(e),
            Err(DecodeError::Corrupt(m)) => {
                return Err(QuarryError::Data(format!(
                    "cannot read parquet file {loc}: {m}"
                )))
            }
        }
    }
    Ok(true)
}

/// `metadata` with the top-level string columns named in `columns` read as
/// `Dictionary(Int32, Utf8)` where every data page of them in `row_groups` is
/// dictionary-encoded (the page encoding statistics say so); unchanged otherwise. A
/// chunk that fell back to plain pages is left as strings: arrow would re-encode it.
fn with_dictionary_strings<'a>(
    metadata: &'a ArrowReaderMetadata,
    row_groups: &[usize],
    columns: &[&str],
) -> parquet::errors::Result<std::borrow::Cow<'a, ArrowReaderMetadata>> {
    use parquet::basic::Encoding;
    let md = metadata.metadata();
    let schema = metadata.schema();
    let leaf_of = |root: usize| {
        (0..md.file_metadata().schema_descr().num_columns())
            .find(|&l| md.file_metadata().schema_descr().get_column_root_idx(l) == root)
    };
    let all_dictionary = |leaf: usize| {
        row_groups.iter().all(|&rg| {
            md.row_groups().get(rg).is_some_and(|g| {
                let c = g.column(leaf);
                c.dictionary_page_offset().is_some()
                    && c.page_encoding_stats_mask().is_some_and(|m| {
                        m.is_only(Encoding::RLE_DICTIONARY) || m.is_only(Encoding::PLAIN_DICTIONARY)
                    })
            })
        })
    };
    let mut changed = false;
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let wanted = f.data_type() == &DataType::Utf8
                && columns.iter().any(|c| c.eq_ignore_ascii_case(f.name()))
                && leaf_of(i).is_some_and(all_dictionary);
            if wanted {
                changed = true;
                let t = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
                f.as_ref().clone().with_data_type(t)
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    if !changed {
        return Ok(std::borrow::Cow::Borrowed(metadata));
    }
    let schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    ArrowReaderMetadata::try_new(md.clone(), ArrowReaderOptions::new().with_schema(schema))
        .map(std::borrow::Cow::Owned)
}

/// Shared footer handle.
pub type Metadata = Arc<ArrowReaderMetadata>;
