//! Quarry's own decoder for the common shape of parquet column chunks: flat (top-level,
//! not repeated) columns, required or nullable, of physical type INT32, INT64, FLOAT,
//! DOUBLE or BYTE_ARRAY, whose pages are PLAIN or dictionary-encoded (PLAIN_DICTIONARY /
//! RLE_DICTIONARY), data page v1 or v2, any codec the parquet crate reads.
//!
//! Why not arrow's reader for these: a scan is where a query spends most of its time,
//! and arrow's reader zero-fills every output buffer before decoding into it, resolves
//! dictionary indices through a generic run decoder, and, with a row filter, caches
//! the filter's decoded batches and concatenates them again for the output. Here:
//! - a filter sees its columns, decoded whole for the row group, at the rows still
//!   selected; the other columns are then decoded only at the selected rows (their
//!   values gathered only where kept; with few rows kept in a dictionary page, only
//!   their indices are read), a page at a time and all of them for one batch before
//!   the next, each batch handed to the caller's sink as it is made (it is still in
//!   cache when the operators above the scan read it);
//! - snappy pages are decompressed into one scratch buffer reused across pages (the
//!   page reader is handed the chunk as uncompressed, and hands back the raw page);
//! - a string column that a one-column filter reads comes back as a
//!   `Dictionary(Int32, Utf8)` while every page of it is dictionary-encoded, so the
//!   filter runs once per distinct value.
//!
//! Page headers are read by the parquet crate's [`SerializedPageReader`]; the values
//! follow the format's Encodings.md (PLAIN, the RLE / bit-packed hybrid, dictionary
//! encoding). Anything else (nested columns, INT96, FIXED_LEN_BYTE_ARRAY, booleans,
//! DELTA_* or BYTE_STREAM_SPLIT pages) is left to arrow's reader: [`supported`] says
//! which, before a row group is read, and a page found unsupported while decoding makes
//! [`decode_row_group_into`] return [`DecodeError::Unsupported`], so the caller can fall
//! back while no batch went up yet.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, BinaryArray, BooleanArray, DictionaryArray,
    PrimitiveArray, StringArray,
};
use arrow::buffer::{BooleanBuffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Field, Float32Type, Float64Type, Int32Type, Int64Type,
    Schema,
};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use bytes::{Buf, Bytes};
use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use parquet::basic::{Compression, Encoding, Type as PhysicalType};
use parquet::column::page::{Page, PageReader};
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::serialized_reader::SerializedPageReader;

use super::parquet::RowPredicate;

/// Why a chunk could not be decoded here.
#[derive(Debug)]
pub enum DecodeError {
    /// A page this decoder does not handle (the caller falls back to arrow's reader).
    Unsupported(String),
    /// The file is damaged: a clear message for the user.
    Corrupt(String),
    /// A filter, or the consumer of the decoded batches, failed: its error as it is.
    Predicate(crate::error::QuarryError),
}

impl From<parquet::errors::ParquetError> for DecodeError {
    fn from(e: parquet::errors::ParquetError) -> Self {
        DecodeError::Corrupt(e.to_string())
    }
}

impl From<arrow::error::ArrowError> for DecodeError {
    fn from(e: arrow::error::ArrowError) -> Self {
        DecodeError::Corrupt(e.to_string())
    }
}

type DResult<T> = std::result::Result<T, DecodeError>;

fn corrupt<T>(what: &str) -> DResult<T> {
    Err(DecodeError::Corrupt(what.to_string()))
}

/// One column to decode: where it is in the file and what arrow type it becomes.
#[derive(Clone, Debug)]
struct ColumnSpec {
    /// Index of the top-level field in the file's arrow schema.
    root: usize,
    /// Index of its leaf in the parquet schema.
    leaf: usize,
    field: Field,
    physical: PhysicalType,
    nullable: bool,
}

/// The spec of top-level field `root`, when this decoder reads it.
fn column_spec(md: &ArrowReaderMetadata, root: usize) -> Option<ColumnSpec> {
    let descr = md.metadata().file_metadata().schema_descr();
    let mut leaves = (0..descr.num_columns()).filter(|&l| descr.get_column_root_idx(l) == root);
    let leaf = leaves.next()?;
    if leaves.next().is_some() {
        return None;
    }
    let col = descr.column(leaf);
    if col.max_rep_level() != 0 || col.max_def_level() > 1 || col.path().parts().len() != 1 {
        return None;
    }
    let field = md.schema().fields().get(root)?.as_ref().clone();
    let physical = col.physical_type();
    let ok = match (physical, field.data_type()) {
        (PhysicalType::INT32, DataType::Int32 | DataType::Date32) => true,
        (PhysicalType::INT64, DataType::Int64) => true,
        (PhysicalType::INT32 | PhysicalType::INT64, DataType::Decimal128(p, _)) => *p <= 38,
        (PhysicalType::FLOAT, DataType::Float32) | (PhysicalType::DOUBLE, DataType::Float64) => {
            true
        }
        (PhysicalType::BYTE_ARRAY, DataType::Utf8 | DataType::Binary) => true,
        _ => false,
    };
    ok.then(|| ColumnSpec {
        root,
        leaf,
        field,
        physical,
        nullable: col.max_def_level() == 1,
    })
}

/// True when every column chunk of `row_groups` under the top-level fields `roots` can
/// be decoded here (see the module docs): supported types, and encodings the chunk's
/// metadata lists are all among PLAIN, the dictionary encodings and RLE (levels).
pub fn supported(md: &ArrowReaderMetadata, row_groups: &[usize], roots: &[usize]) -> bool {
    roots.iter().all(|&root| {
        let Some(spec) = column_spec(md, root) else {
            return false;
        };
        row_groups.iter().all(|&rg| {
            let Some(g) = md.metadata().row_groups().get(rg) else {
                return false;
            };
            let c = g.column(spec.leaf);
            #[allow(deprecated)]
            let bit_packed = Encoding::BIT_PACKED;
            c.uncompressed_size() < i32::MAX as i64 / 2
                && c.encodings().all(|e| match e {
                    Encoding::PLAIN
                    | Encoding::PLAIN_DICTIONARY
                    | Encoding::RLE_DICTIONARY
                    | Encoding::RLE => true,
                    // the deprecated level encoding: fine where there are no levels
                    e if e == bit_packed => !spec.nullable,
                    _ => false,
                })
        })
    })
}

/// A column chunk's bytes, served to the page reader at their file offsets.
struct ChunkBytes {
    start: u64,
    data: Bytes,
}

impl Length for ChunkBytes {
    fn len(&self) -> u64 {
        self.start + self.data.len() as u64
    }
}

impl ChunkReader for ChunkBytes {
    type T = bytes::buf::Reader<Bytes>;
    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let rest =
            self.data.len() as u64 - (start.saturating_sub(self.start)).min(self.data.len() as u64);
        Ok(self.get_bytes(start, rest as usize)?.reader())
    }
    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let off = start
            .checked_sub(self.start)
            .map(|o| o as usize)
            .filter(|o| {
                o.checked_add(length)
                    .is_some_and(|end| end <= self.data.len())
            });
        match off {
            Some(o) => Ok(self.data.slice(o..o + length)),
            None => Err(parquet::errors::ParquetError::EOF(format!(
                "column chunk read {start}+{length} outside its bytes"
            ))),
        }
    }
}

/// A data page, decompressed, as the column decoders see it.
struct DataPage<'a> {
    /// Rows in the page (flat columns: one value or NULL per row).
    rows: usize,
    encoding: Encoding,
    /// Per-row definition levels (1: a value, 0: NULL), for a nullable column.
    levels: Option<&'a [u32]>,
    /// The encoded values (non-NULL rows only).
    values: &'a [u8],
}

impl DataPage<'_> {
    /// Rows with a value (all, for a required column).
    fn non_null(&self) -> usize {
        self.levels
            .map(|l| l.iter().filter(|&&d| d != 0).count())
            .unwrap_or(self.rows)
    }

    /// Whether the values are dictionary indices (else PLAIN; other encodings are
    /// [`DecodeError::Unsupported`]).
    fn dictionary_encoded(&self) -> DResult<bool> {
        match self.encoding {
            Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY => Ok(true),
            Encoding::PLAIN => Ok(false),
            e => Err(DecodeError::Unsupported(format!("encoding {e}"))),
        }
    }
}

enum PageEvent<'a> {
    Dictionary {
        values: &'a [u8],
        count: usize,
    },
    /// A data page, and the rows of it the selection keeps.
    Data(DataPage<'a>, PageRows<'a>),
}

/// Scratch buffers reused across the pages of a row group.
#[derive(Default)]
pub struct Scratch {
    decompressed: Vec<u8>,
    /// The chunk's dictionary page, decompressed (decoders convert its entries when
    /// they see it).
    dictionary: Vec<u8>,
    levels: Vec<u32>,
    indices: Vec<u32>,
}

/// Decompress a snappy block into `scratch` (grown, never cleared: no zero-fill per page).
fn snappy<'s>(input: &[u8], scratch: &'s mut Vec<u8>) -> DResult<&'s [u8]> {
    let len = snap::raw::decompress_len(input)
        .map_err(|e| DecodeError::Corrupt(format!("snappy: {e}")))?;
    if scratch.len() < len {
        scratch.resize(len, 0);
    }
    let n = snap::raw::Decoder::new()
        .decompress(input, &mut scratch[..len])
        .map_err(|e| DecodeError::Corrupt(format!("snappy: {e}")))?;
    Ok(&scratch[..n])
}

/// The pages of one column chunk, read one at a time (decompressed; levels decoded),
/// with the rows of each that the selection keeps.
struct PageCursor<'a> {
    pages: SerializedPageReader<ChunkBytes>,
    own_snappy: bool,
    nullable: bool,
    /// Rows in the row group.
    rows: usize,
    /// Rows of the pages read so far.
    seen: usize,
    sel: Selection<'a>,
}

impl<'a> PageCursor<'a> {
    fn new(
        reader: &impl ChunkReader,
        meta: &ColumnChunkMetaData,
        nullable: bool,
        rows: usize,
        sel: Selection<'a>,
    ) -> DResult<Self> {
        let (start, len) = meta.byte_range();
        let data = reader.get_bytes(start, len as usize)?;
        let own_snappy = meta.compression() == Compression::SNAPPY;
        let meta = if own_snappy {
            meta.clone()
                .into_builder()
                .set_compression(Compression::UNCOMPRESSED)
                .build()?
        } else {
            meta.clone()
        };
        let pages =
            SerializedPageReader::new(Arc::new(ChunkBytes { start, data }), &meta, rows, None)?;
        Ok(PageCursor {
            pages,
            own_snappy,
            nullable,
            rows,
            seen: 0,
            sel,
        })
    }

    /// Read the next page the selection needs and call `f` on it. A snappy data page
    /// none of whose rows the selection keeps is not decompressed, and `f` does not see
    /// it. `Ok(false)`: no page is left (and the pages' rows add up to the row group's).
    fn next(
        &mut self,
        scratch: &mut Scratch,
        f: &mut impl FnMut(PageEvent<'_>, &mut Vec<u32>) -> DResult<()>,
    ) -> DResult<bool> {
        let Scratch {
            decompressed,
            dictionary,
            levels,
            indices,
        } = scratch;
        let (own_snappy, nullable) = (self.own_snappy, self.nullable);
        loop {
            let Some(page) = self.pages.get_next_page()? else {
                if self.seen != self.rows {
                    return corrupt(&format!(
                        "column chunk has {} rows, its row group {}",
                        self.seen, self.rows
                    ));
                }
                return Ok(false);
            };
            // a data page's rows and those of them kept
            let page_rows = match &page {
                Page::DataPage { num_values, .. } => *num_values as usize,
                Page::DataPageV2 { num_rows, .. } => *num_rows as usize,
                Page::DictionaryPage { .. } => 0,
            };
            let kept = self.sel.page(self.seen, page_rows);
            self.seen += page_rows;
            if own_snappy && kept.is_empty() && !matches!(page, Page::DictionaryPage { .. }) {
                continue;
            }
            let data = match &page {
                Page::DictionaryPage {
                    buf,
                    num_values,
                    encoding,
                    ..
                } => {
                    if !matches!(encoding, Encoding::PLAIN | Encoding::PLAIN_DICTIONARY) {
                        return Err(DecodeError::Unsupported(format!(
                            "dictionary page encoding {encoding}"
                        )));
                    }
                    let values: &[u8] = if own_snappy {
                        snappy(buf, dictionary)?
                    } else {
                        buf
                    };
                    f(
                        PageEvent::Dictionary {
                            values,
                            count: *num_values as usize,
                        },
                        indices,
                    )?;
                    return Ok(true);
                }
                Page::DataPage {
                    buf,
                    encoding,
                    def_level_encoding,
                    ..
                } => {
                    let body = if own_snappy {
                        snappy(buf, decompressed)?
                    } else {
                        &buf[..]
                    };
                    let (lv, values) = if nullable {
                        if *def_level_encoding != Encoding::RLE {
                            return Err(DecodeError::Unsupported(format!(
                                "definition level encoding {def_level_encoding}"
                            )));
                        }
                        let Some(len) = body
                            .get(..4)
                            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        else {
                            return corrupt("data page too short for its definition levels");
                        };
                        let len = len as usize;
                        let Some(lvl) = body.get(4..4 + len) else {
                            return corrupt("definition levels past the end of the page");
                        };
                        decode_hybrid(lvl, 1, page_rows, levels)?;
                        (Some(&levels[..page_rows]), &body[4 + len..])
                    } else {
                        (None, body)
                    };
                    DataPage {
                        rows: page_rows,
                        encoding: *encoding,
                        levels: lv,
                        values,
                    }
                }
                Page::DataPageV2 {
                    buf,
                    encoding,
                    def_levels_byte_len,
                    rep_levels_byte_len,
                    is_compressed,
                    ..
                } => {
                    let lvl_end = (rep_levels_byte_len + def_levels_byte_len) as usize;
                    let Some(lvl) = buf.get(*rep_levels_byte_len as usize..lvl_end) else {
                        return corrupt("definition levels past the end of the page");
                    };
                    let lv = if nullable {
                        decode_hybrid(lvl, 1, page_rows, levels)?;
                        Some(&levels[..page_rows])
                    } else {
                        None
                    };
                    let values = if own_snappy && *is_compressed {
                        snappy(&buf[lvl_end..], decompressed)?
                    } else {
                        &buf[lvl_end..]
                    };
                    DataPage {
                        rows: page_rows,
                        encoding: *encoding,
                        levels: lv,
                        values,
                    }
                }
            };
            f(PageEvent::Data(data, kept), indices)?;
            return Ok(true);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The RLE / bit-packed hybrid encoding (parquet Encodings.md)
// ---------------------------------------------------------------------------------------

/// Unpack `groups` groups of 8 values of `W` bits each (LSB first) from `src` into `dst`.
/// A group is `W` bytes; a group whose 8-byte reads would pass the end of `src` is
/// copied into a zero-padded buffer first.
#[inline(always)]
fn unpack_groups<const W: usize>(src: &[u8], groups: usize, dst: &mut [u32]) {
    // groups readable in place: the last read of a group ends before base + W + 8
    let in_place = (src.len().saturating_sub(8) / W.max(1)).min(groups);
    for (g, out) in dst[..in_place * 8].chunks_exact_mut(8).enumerate() {
        unpack8::<W>(&src[g * W..g * W + W + 8], out);
    }
    for g in in_place..groups {
        let base = g * W;
        let mut tmp = [0u8; 48];
        let avail = src.len().saturating_sub(base).min(W);
        tmp[..avail].copy_from_slice(&src[base..base + avail]);
        unpack8::<W>(&tmp[..W + 8], &mut dst[g * 8..g * 8 + 8]);
    }
}

/// Unpack one group of 8 `W`-bit values; `bytes` holds the group and 8 bytes after it.
#[inline(always)]
fn unpack8<const W: usize>(bytes: &[u8], out: &mut [u32]) {
    let mask: u64 = if W >= 32 {
        0xFFFF_FFFF
    } else {
        (1u64 << W) - 1
    };
    if W <= 8 {
        // the whole group is in one 64-bit word
        let mut a = [0u8; 8];
        a.copy_from_slice(&bytes[..8]);
        let word = u64::from_le_bytes(a);
        for (j, o) in out.iter_mut().enumerate().take(8) {
            *o = ((word >> (j * W)) & mask) as u32;
        }
    } else if W <= 16 {
        let mut a = [0u8; 16];
        a.copy_from_slice(&bytes[..16]);
        let word = u128::from_le_bytes(a);
        for (j, o) in out.iter_mut().enumerate().take(8) {
            *o = ((word >> (j * W)) as u64 & mask) as u32;
        }
    } else {
        for (j, o) in out.iter_mut().enumerate().take(8) {
            let bit = j * W;
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[bit / 8..bit / 8 + 8]);
            *o = ((u64::from_le_bytes(w) >> (bit % 8)) & mask) as u32;
        }
    }
}

fn unpack(width: u32, src: &[u8], groups: usize, dst: &mut [u32]) {
    macro_rules! by_width {
        ($($w:literal)*) => {
            match width {
                0 => dst[..groups * 8].fill(0),
                $($w => unpack_groups::<$w>(src, groups, dst),)*
                _ => unpack_groups::<32>(src, groups, dst),
            }
        };
    }
    by_width!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
}

/// One run of the RLE / bit-packed hybrid encoding.
enum Run {
    /// `values` values of the run's bit width, packed in `data[start..end]`.
    Packed {
        start: usize,
        end: usize,
        values: usize,
    },
    /// `values` repetitions of `value`.
    Rle { values: usize, value: u32 },
}

/// The run at `*pos` of hybrid-encoded `data` with `width`-bit values (at most 32); `*pos`
/// moves past it. A run past the end of `data`, or an empty RLE run, is corrupt.
fn next_run(data: &[u8], pos: &mut usize, width: usize) -> DResult<Run> {
    // the header: ULEB128
    let mut header: u64 = 0;
    let mut shift = 0;
    loop {
        let Some(&b) = data.get(*pos) else {
            return corrupt("RLE run past the end of its data");
        };
        *pos += 1;
        header |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 56 {
            return corrupt("RLE run header too long");
        }
    }
    let count = (header >> 1) as usize;
    if header & 1 == 1 {
        let start = *pos;
        let end = start.saturating_add(count.saturating_mul(width));
        if end > data.len() {
            return corrupt("bit-packed run past the end of its data");
        }
        *pos = end;
        return Ok(Run::Packed {
            start,
            end,
            values: count.saturating_mul(8),
        });
    }
    let value_bytes = width.div_ceil(8);
    let Some(vb) = data.get(*pos..*pos + value_bytes) else {
        return corrupt("RLE run past the end of its data");
    };
    let mut v = [0u8; 4];
    v[..value_bytes].copy_from_slice(vb);
    *pos += value_bytes;
    if count == 0 {
        return corrupt("empty RLE run");
    }
    Ok(Run::Rle {
        values: count,
        value: u32::from_le_bytes(v),
    })
}

/// Decode `n` values of `width` bits from the RLE / bit-packed hybrid `data` into
/// `out[..n]` (`out` grows as needed and keeps its length: no zero-fill per page).
fn decode_hybrid(data: &[u8], width: u32, n: usize, out: &mut Vec<u32>) -> DResult<()> {
    if width > 32 {
        return corrupt(&format!("bit width {width} above 32"));
    }
    if out.len() < n + 8 {
        out.resize(n + 8, 0);
    }
    let mut pos = 0usize;
    let mut filled = 0usize;
    while filled < n {
        match next_run(data, &mut pos, width as usize)? {
            Run::Packed { start, end, values } => {
                let take = values.min(n - filled);
                unpack(
                    width,
                    &data[start..end],
                    take.div_ceil(8),
                    &mut out[filled..],
                );
                filled += take;
            }
            Run::Rle { values, value } => {
                let take = values.min(n - filled);
                out[filled..filled + take].fill(value);
                filled += take;
            }
        }
    }
    Ok(())
}

/// The dictionary indices of a dictionary-encoded page: a bit-width byte, then the hybrid.
fn dictionary_indices<'s>(
    values: &[u8],
    n: usize,
    dict_len: usize,
    out: &'s mut Vec<u32>,
) -> DResult<&'s [u32]> {
    let Some((&width, rest)) = values.split_first() else {
        if n == 0 {
            return Ok(&[]);
        }
        return corrupt("dictionary page without indices");
    };
    decode_hybrid(rest, width as u32, n, out)?;
    let idx = &out[..n];
    if n > 0 && any_at_least(idx, dict_len) {
        return corrupt("dictionary index out of range");
    }
    Ok(idx)
}

/// Whether any value is `bound` or more (a branch-free pass the compiler vectorizes).
fn any_at_least(v: &[u32], bound: usize) -> bool {
    let Ok(bound) = u32::try_from(bound) else {
        return false;
    };
    v.iter().fold(0u32, |a, &x| a | (x >= bound) as u32) != 0
}

/// Below one selected row in this many, a dictionary page's indices are read only at the
/// selected rows ([`dictionary_indices_at`]) instead of unpacked whole.
const SPARSE: usize = 4;

/// The dictionary indices at rows `rows` (ascending, absolute; the page starts at row
/// `first`) of a dictionary-encoded page of a required column with `n` values: the runs
/// are walked, and only the wanted values are read from bit-packed runs (random access:
/// value `k` is at bit `k * width`). `out` grows as needed and keeps its length.
fn dictionary_indices_at<'s>(
    values: &[u8],
    n: usize,
    rows: &[u32],
    first: u32,
    dict_len: usize,
    out: &'s mut Vec<u32>,
) -> DResult<&'s [u32]> {
    let Some((&width, data)) = values.split_first() else {
        return corrupt("dictionary page without indices");
    };
    let width = width as usize;
    if width > 32 {
        return corrupt(&format!("bit width {width} above 32"));
    }
    let mask: u64 = if width == 32 {
        0xFFFF_FFFF
    } else {
        (1u64 << width) - 1
    };
    if out.len() < rows.len() {
        out.resize(rows.len(), 0);
    }
    // the current run, holding values [run_start, run_end)
    let (mut run_start, mut run_end) = (0usize, 0usize);
    let mut run = Run::Rle {
        values: 0,
        value: 0,
    };
    let mut pos = 0usize;
    for (k, &row) in rows.iter().enumerate() {
        let want = row.wrapping_sub(first) as usize;
        if want >= n {
            return corrupt("row outside its page");
        }
        while want >= run_end {
            run = next_run(data, &mut pos, width)?;
            run_start = run_end;
            run_end = match run {
                Run::Packed { values, .. } | Run::Rle { values, .. } => {
                    run_start.saturating_add(values)
                }
            };
        }
        let v = match run {
            Run::Rle { value, .. } => value,
            Run::Packed { start: off, .. } => {
                let bit = (want - run_start) * width;
                let at = off + bit / 8;
                let mut w = [0u8; 8];
                let avail = data.len().saturating_sub(at).min(8);
                w[..avail].copy_from_slice(&data[at..at + avail]);
                ((u64::from_le_bytes(w) >> (bit % 8)) & mask) as u32
            }
        };
        out[k] = v;
    }
    let idx = &out[..rows.len()];
    if any_at_least(idx, dict_len) {
        return corrupt("dictionary index out of range");
    }
    Ok(idx)
}

// ---------------------------------------------------------------------------------------
// Selections
// ---------------------------------------------------------------------------------------

/// The rows of a row group still selected: all, or these positions (ascending).
#[derive(Clone, Copy)]
enum Selection<'a> {
    All,
    Rows(&'a [u32]),
}

impl<'a> Selection<'a> {
    /// The selected rows in `start..start + len` (a page), leaving the rest for the
    /// next pages.
    fn page(&mut self, start: usize, len: usize) -> PageRows<'a> {
        match self {
            Selection::All => PageRows::All,
            Selection::Rows(rows) => {
                let end = (start + len) as u32;
                let k = rows.partition_point(|&r| r < end);
                let (mine, rest) = rows.split_at(k);
                *rows = rest;
                PageRows::Some(mine, start as u32)
            }
        }
    }
}

enum PageRows<'a> {
    All,
    /// Absolute row positions, and the page's first row.
    Some(&'a [u32], u32),
}

impl PageRows<'_> {
    /// Whether no row of the page is kept.
    fn is_empty(&self) -> bool {
        matches!(self, PageRows::Some(r, _) if r.is_empty())
    }
}

/// One column chunk to decode at a selection of its row group's rows.
struct ColumnRead<'a, R> {
    reader: &'a R,
    meta: &'a ColumnChunkMetaData,
    spec: &'a ColumnSpec,
    /// Rows in the row group.
    rows: usize,
    sel: Selection<'a>,
    /// Rows selected (the output's length).
    selected: usize,
}

// ---------------------------------------------------------------------------------------
// Fixed-width columns
// ---------------------------------------------------------------------------------------

/// A parquet physical value stored PLAIN as little-endian bytes.
trait Plain: Copy + Default {
    const WIDTH: usize;
    fn read(b: &[u8]) -> Self;
}

macro_rules! plain {
    ($t:ty, $w:literal) => {
        impl Plain for $t {
            const WIDTH: usize = $w;
            #[inline(always)]
            fn read(b: &[u8]) -> Self {
                let mut a = [0u8; $w];
                a.copy_from_slice(&b[..$w]);
                <$t>::from_le_bytes(a)
            }
        }
    };
}
plain!(i32, 4);
plain!(i64, 8);
plain!(f32, 4);
plain!(f64, 8);

/// Validity of the selected rows, built as the pages go.
struct Validity {
    bits: Option<arrow::array::BooleanBufferBuilder>,
}

impl Validity {
    fn new(nullable: bool, capacity: usize) -> Self {
        Validity {
            bits: nullable.then(|| arrow::array::BooleanBufferBuilder::new(capacity)),
        }
    }
    /// The validity of the rows so far (`None`: no NULL among them); the builder goes
    /// on empty.
    fn take(&mut self) -> Option<NullBuffer> {
        self.bits
            .as_mut()
            .map(|b| NullBuffer::new(b.finish()))
            .filter(|n| n.null_count() > 0)
    }
}

/// What a column decoder does with its chunk's pages: it decodes each page's values at
/// the rows the selection keeps, and hands over those decoded so far as one array.
trait PageDecoder {
    /// Take in one page (a dictionary page, or a data page and its kept rows).
    fn page(&mut self, ev: PageEvent<'_>, indices: &mut Vec<u32>) -> DResult<()>;
    /// Rows decoded and not yet taken.
    fn len(&self) -> usize;
    /// The rows decoded since the last take, as an array of the column's arrow type; the
    /// decoder goes on from none, keeping the chunk's dictionary (a string column read
    /// as dictionary keys hands its dictionary over: take it once, at the end).
    fn take(&mut self) -> DResult<ArrayRef>;
}

/// Decodes a fixed-width column at the selected rows into `A`'s native values (`conv`
/// widens, e.g. an INT64 decimal to i128; `finish` gives the array its type, e.g. a
/// decimal's precision and scale).
struct FixedDecoder<P, A: ArrowPrimitiveType, C, F> {
    out: Vec<A::Native>,
    valid: Validity,
    /// The dictionary page's entries, read once and converted as they are gathered
    /// (indices are checked against their count before use). Kept at their stored
    /// width: an INT64 decimal dictionary of 128 Ki entries is 1 MiB, where it would be
    /// 2 MiB as i128, and rows gather from it at random.
    dict_values: Vec<P>,
    /// A nullable page's values, one per row (NULL rows: the default).
    dense: Vec<A::Native>,
    conv: C,
    finish: F,
    plain: std::marker::PhantomData<P>,
}

impl<P, A, C, F> FixedDecoder<P, A, C, F>
where
    P: Plain,
    A: ArrowPrimitiveType,
    C: Fn(P) -> A::Native + Copy,
    F: Fn(PrimitiveArray<A>) -> DResult<ArrayRef>,
{
    fn new(nullable: bool, capacity: usize, conv: C, finish: F) -> Self {
        FixedDecoder {
            out: Vec::with_capacity(capacity),
            valid: Validity::new(nullable, capacity),
            dict_values: vec![],
            dense: vec![],
            conv,
            finish,
            plain: std::marker::PhantomData,
        }
    }
}

impl<P, A, C, F> PageDecoder for FixedDecoder<P, A, C, F>
where
    P: Plain,
    A: ArrowPrimitiveType,
    C: Fn(P) -> A::Native + Copy,
    F: Fn(PrimitiveArray<A>) -> DResult<ArrayRef>,
{
    fn page(&mut self, ev: PageEvent<'_>, indices: &mut Vec<u32>) -> DResult<()> {
        let FixedDecoder {
            out,
            valid,
            dict_values,
            dense,
            conv,
            ..
        } = self;
        let conv = *conv;
        match ev {
            PageEvent::Dictionary { values, count } => {
                if values.len() < count * P::WIDTH {
                    return corrupt("dictionary page shorter than its values");
                }
                dict_values.clear();
                dict_values.extend(
                    values[..count * P::WIDTH]
                        .chunks_exact(P::WIDTH)
                        .map(P::read),
                );
            }
            PageEvent::Data(p, page_rows) => {
                // the page's values, one per non-NULL row
                let non_null = p.non_null();
                let dictionary = p.dictionary_encoded()?;
                if !dictionary && p.values.len() < non_null * P::WIDTH {
                    return corrupt("data page shorter than its values");
                }
                let dict = &dict_values;
                let entry = |i: u32| conv(dict[i as usize]);
                let value = |i: usize, idx: &[u32]| -> A::Native {
                    if dictionary {
                        entry(idx[i])
                    } else {
                        conv(P::read(&p.values[i * P::WIDTH..]))
                    }
                };
                // a few rows of a dictionary page: their indices alone
                if let (true, None, PageRows::Some(r, first)) = (dictionary, p.levels, &page_rows) {
                    if r.len() * SPARSE < p.rows {
                        let idx = dictionary_indices_at(
                            p.values,
                            p.rows,
                            r,
                            *first,
                            dict.len(),
                            indices,
                        )?;
                        out.extend(idx.iter().map(|&i| entry(i)));
                        return Ok(());
                    }
                }
                let idx: &[u32] = if dictionary {
                    dictionary_indices(p.values, non_null, dict.len(), indices)?
                } else {
                    &[]
                };
                match (p.levels, page_rows) {
                    (None, PageRows::All) => {
                        if dictionary {
                            out.extend(idx.iter().map(|&i| entry(i)));
                        } else {
                            out.extend(
                                p.values[..p.rows * P::WIDTH]
                                    .chunks_exact(P::WIDTH)
                                    .map(|c| conv(P::read(c))),
                            );
                        }
                    }
                    // one loop per encoding (the test stays out of the row loop)
                    (None, PageRows::Some(r, first)) if dictionary => {
                        out.extend(r.iter().map(|&x| entry(idx[(x - first) as usize])));
                    }
                    (None, PageRows::Some(r, first)) => {
                        out.extend(
                            r.iter().map(|&x| {
                                conv(P::read(&p.values[(x - first) as usize * P::WIDTH..]))
                            }),
                        );
                    }
                    (Some(levels), pr) => {
                        // values per row (NULL rows: default), then the selected rows
                        dense.clear();
                        let mut vi = 0usize;
                        for &d in levels {
                            if d != 0 {
                                dense.push(value(vi, idx));
                                vi += 1;
                            } else {
                                dense.push(A::Native::default());
                            }
                        }
                        let bits = valid.bits.as_mut();
                        match pr {
                            PageRows::All => {
                                out.extend_from_slice(&dense);
                                if let Some(b) = bits {
                                    levels.iter().for_each(|&d| b.append(d != 0));
                                }
                            }
                            PageRows::Some(r, first) => {
                                out.extend(r.iter().map(|&x| dense[(x - first) as usize]));
                                if let Some(b) = bits {
                                    r.iter()
                                        .for_each(|&x| b.append(levels[(x - first) as usize] != 0));
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
    fn len(&self) -> usize {
        self.out.len()
    }
    fn take(&mut self) -> DResult<ArrayRef> {
        let capacity = self.out.capacity();
        let values = std::mem::replace(&mut self.out, Vec::with_capacity(capacity));
        let nulls = self.valid.take();
        (self.finish)(PrimitiveArray::<A>::try_new(
            ScalarBuffer::from(values),
            nulls,
        )?)
    }
}

// ---------------------------------------------------------------------------------------
// Byte-array columns
// ---------------------------------------------------------------------------------------

/// Longest value [`BytesOut::gather`] copies as a fixed-width chunk.
const SHORT: usize = 16;

/// A dictionary page of byte arrays: offsets into `bytes` (followed by [`SHORT`] zero
/// bytes of padding).
#[derive(Default)]
struct ByteDict {
    offsets: Vec<i32>,
    bytes: Vec<u8>,
    /// The longest value's length.
    longest: usize,
    /// The shortest value's length (equal to `longest` when every value is as long).
    shortest: usize,
}

impl ByteDict {
    fn parse(values: &[u8], count: usize, utf8: bool) -> DResult<ByteDict> {
        let mut d = ByteDict {
            offsets: Vec::with_capacity(count + 1),
            bytes: Vec::with_capacity(values.len().saturating_sub(4 * count)),
            longest: 0,
            shortest: usize::MAX,
        };
        d.offsets.push(0);
        let mut spans = Vec::with_capacity(count);
        plain_spans(values, count, &mut spans)?;
        for &(s, e) in &spans {
            d.bytes.extend_from_slice(&values[s as usize..e as usize]);
            d.offsets.push(d.bytes.len() as i32);
            d.longest = d.longest.max((e - s) as usize);
            d.shortest = d.shortest.min((e - s) as usize);
        }
        if utf8 {
            validate_utf8(&d.bytes, &d.offsets)?;
        }
        // padding for fixed-width copies of short values (see `BytesOut::gather`)
        d.bytes.extend_from_slice(&[0; SHORT]);
        Ok(d)
    }
    #[inline(always)]
    fn get(&self, i: u32) -> &[u8] {
        let (s, e) = self.span(i);
        &self.bytes[s..e]
    }
    fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
    #[inline(always)]
    fn value_len(&self, i: u32) -> usize {
        let (s, e) = self.span(i);
        e - s
    }
    #[inline(always)]
    fn span(&self, i: u32) -> (usize, usize) {
        match self.offsets.get(i as usize..i as usize + 2) {
            Some(&[s, e]) => (s as usize, e as usize),
            _ => (0, 0),
        }
    }
}

/// The (start, end) of each of the first `count` PLAIN byte-array values of `values`
/// (each a 4-byte little-endian length, then the bytes), into `spans` (cleared first).
fn plain_spans(values: &[u8], count: usize, spans: &mut Vec<(u32, u32)>) -> DResult<()> {
    spans.clear();
    let mut pos = 0usize;
    for _ in 0..count {
        let Some(len) = values.get(pos..pos + 4) else {
            return corrupt("page shorter than its values");
        };
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let end = pos + 4 + len;
        if end > values.len() {
            return corrupt("page shorter than its values");
        }
        spans.push(((pos + 4) as u32, end as u32));
        pos = end;
    }
    Ok(())
}

fn validate_utf8(bytes: &[u8], offsets: &[i32]) -> DResult<()> {
    let s = std::str::from_utf8(bytes)
        .map_err(|e| DecodeError::Corrupt(format!("invalid UTF-8 in a string column: {e}")))?;
    if offsets.iter().all(|&o| s.is_char_boundary(o as usize)) {
        Ok(())
    } else {
        corrupt("invalid UTF-8 in a string column: a value splits a character")
    }
}

/// Byte-array values of the selected rows, as offsets + bytes (or dictionary keys while
/// every page is dictionary-encoded, for a column read as a dictionary).
struct BytesOut {
    offsets: Vec<i32>,
    bytes: Vec<u8>,
    /// Keys into the dictionary, while `as_dictionary` and no PLAIN page came.
    keys: Option<Vec<i32>>,
    /// A PLAIN page was copied: the output's UTF-8 is checked at the end.
    plain: bool,
}

impl BytesOut {
    /// Empty, with room for `capacity` values' offsets (or keys).
    fn new(capacity: usize, as_dictionary: bool) -> Self {
        let mut offsets = Vec::with_capacity(capacity + 1);
        offsets.push(0);
        BytesOut {
            offsets,
            bytes: vec![],
            keys: as_dictionary.then(|| Vec::with_capacity(capacity)),
            plain: false,
        }
    }
    fn push(&mut self, v: &[u8]) {
        self.bytes.extend_from_slice(v);
        self.offsets.push(self.bytes.len() as i32);
    }
    /// Append the (valid) dictionary values at `idx`. Values of at most [`SHORT`] bytes
    /// are copied as one fixed-width chunk each (the dictionary is padded with that many
    /// zero bytes; the next value overwrites the excess): no `memcpy` call per value.
    fn gather(&mut self, dict: &ByteDict, idx: &[u32]) {
        if dict.longest > SHORT {
            idx.iter().for_each(|&i| self.push(dict.get(i)));
            return;
        }
        if dict.longest == dict.shortest {
            return self.gather_uniform(dict, idx);
        }
        let begin = self.bytes.len();
        let mut end = begin;
        let first = self.offsets.len();
        self.offsets.resize(first + idx.len(), 0);
        for (o, &i) in self.offsets[first..].iter_mut().zip(idx) {
            end += dict.value_len(i);
            *o = end as i32;
        }
        self.bytes.resize(end + SHORT, 0);
        let mut pos = begin;
        for &i in idx {
            let (s, e) = dict.span(i);
            match (
                dict.bytes[s..].first_chunk::<SHORT>(),
                self.bytes[pos..].first_chunk_mut::<SHORT>(),
            ) {
                (Some(src), Some(dst)) => *dst = *src,
                // (the padding makes this unreachable)
                _ => self.bytes[pos..pos + e - s].copy_from_slice(&dict.bytes[s..e]),
            }
            pos += e - s;
        }
        self.bytes.truncate(end);
    }
    /// [`BytesOut::gather`] where every dictionary value is `L = dict.longest` bytes long
    /// (flags, codes, fixed-width keys): the offsets step by `L`, and the values are
    /// copied without looking up their lengths (one byte each for `L = 1`).
    fn gather_uniform(&mut self, dict: &ByteDict, idx: &[u32]) {
        let width = dict.longest;
        let begin = self.bytes.len();
        self.offsets
            .extend((1..=idx.len()).map(|k| (begin + k * width) as i32));
        match width {
            0 => {}
            1 => self.bytes.extend(
                idx.iter()
                    .map(|&i| dict.bytes.get(i as usize).copied().unwrap_or(0)),
            ),
            _ => {
                let end = begin + idx.len() * width;
                self.bytes.resize(end + SHORT, 0);
                for (k, &i) in idx.iter().enumerate() {
                    let s = i as usize * width;
                    let at = begin + k * width;
                    if let (Some(src), Some(dst)) = (
                        dict.bytes.get(s..).and_then(|b| b.first_chunk::<SHORT>()),
                        self.bytes[at..].first_chunk_mut::<SHORT>(),
                    ) {
                        *dst = *src;
                    }
                }
                self.bytes.truncate(end);
            }
        }
    }
    fn push_null(&mut self) {
        self.offsets.push(self.bytes.len() as i32);
    }
    /// Leave dictionary-key mode: materialize the keys so far.
    fn materialize(&mut self, dict: &ByteDict, valid: &Option<arrow::array::BooleanBufferBuilder>) {
        if let Some(keys) = self.keys.take() {
            for (i, k) in keys.into_iter().enumerate() {
                let is_valid = valid.as_ref().is_none_or(|b| b.get_bit(i));
                if is_valid {
                    self.push(dict.get(k as u32));
                } else {
                    self.push_null();
                }
            }
        }
    }
}

/// Decodes a byte-array column at the selected rows. As dictionary keys
/// (`Dictionary(Int32, _)` over the chunk's dictionary) while every page is
/// dictionary-encoded, when asked to.
struct BytesDecoder {
    utf8: bool,
    out: BytesOut,
    valid: Validity,
    dict: ByteDict,
    /// Per-row (start, end) of a PLAIN page's values.
    spans: Vec<(u32, u32)>,
}

impl BytesDecoder {
    fn new(utf8: bool, nullable: bool, capacity: usize, as_dictionary: bool) -> Self {
        BytesDecoder {
            utf8,
            out: BytesOut::new(capacity, as_dictionary),
            valid: Validity::new(nullable, capacity),
            dict: ByteDict::default(),
            spans: vec![],
        }
    }
}

impl PageDecoder for BytesDecoder {
    fn page(&mut self, ev: PageEvent<'_>, indices: &mut Vec<u32>) -> DResult<()> {
        let BytesDecoder {
            utf8,
            out,
            valid,
            dict,
            spans,
        } = self;
        let utf8 = *utf8;
        match ev {
            PageEvent::Dictionary { values, count } => {
                *dict = ByteDict::parse(values, count, utf8)?;
            }
            PageEvent::Data(p, page_rows) => {
                // i32 offsets: the page's output must keep them in range
                let most = match &page_rows {
                    PageRows::All => p.rows,
                    PageRows::Some(r, _) => r.len(),
                };
                let bound = most
                    .saturating_mul(dict.longest)
                    .max(p.values.len())
                    .saturating_add(out.bytes.len());
                if bound > i32::MAX as usize {
                    return Err(DecodeError::Unsupported("over 2 GiB of strings".into()));
                }
                if out.keys.is_none() {
                    let avg = dict.bytes.len() / dict.len().max(1);
                    out.bytes.reserve(avg * most);
                }
                let non_null = p.non_null();
                let dictionary = p.dictionary_encoded()?;
                if !dictionary {
                    out.materialize(dict, &valid.bits);
                    out.plain = true;
                    plain_spans(p.values, non_null, spans)?;
                }
                // a few rows of a dictionary page: their indices alone
                if let (true, None, PageRows::Some(r, first)) = (dictionary, p.levels, &page_rows) {
                    if r.len() * SPARSE < p.rows {
                        let idx = dictionary_indices_at(
                            p.values,
                            p.rows,
                            r,
                            *first,
                            dict.len(),
                            indices,
                        )?;
                        match &mut out.keys {
                            Some(keys) => keys.extend(idx.iter().map(|&i| i as i32)),
                            None => out.gather(dict, idx),
                        }
                        return Ok(());
                    }
                }
                let idx: &[u32] = if dictionary {
                    dictionary_indices(p.values, non_null, dict.len(), indices)?
                } else {
                    &[]
                };
                // value i of the page (i counts non-NULL values)
                let get = |i: usize| -> &[u8] {
                    if dictionary {
                        dict.get(idx[i])
                    } else {
                        let (s, e) = spans[i];
                        &p.values[s as usize..e as usize]
                    }
                };
                // (row in page, value index) of each selected row; value index None: NULL
                let emit = |vi: Option<usize>, out: &mut BytesOut| match (vi, &mut out.keys) {
                    (Some(i), Some(keys)) => keys.push(idx[i] as i32),
                    (None, Some(keys)) => keys.push(0),
                    (Some(i), None) => out.push(get(i)),
                    (None, None) => out.push_null(),
                };
                match (p.levels, page_rows) {
                    (None, PageRows::All) if dictionary && out.keys.is_none() => {
                        out.gather(dict, idx)
                    }
                    (None, PageRows::Some(r, first)) if dictionary && out.keys.is_none() => {
                        let at: Vec<u32> = r.iter().map(|&x| idx[(x - first) as usize]).collect();
                        out.gather(dict, &at)
                    }
                    (None, PageRows::All) => (0..p.rows).for_each(|i| emit(Some(i), out)),
                    (None, PageRows::Some(r, first)) => r
                        .iter()
                        .for_each(|&x| emit(Some((x - first) as usize), out)),
                    (Some(levels), pr) => {
                        let mut vi = 0usize;
                        let mut next = match pr {
                            PageRows::All => None,
                            PageRows::Some(r, first) => Some((r, first, 0usize)),
                        };
                        for (i, &d) in levels.iter().enumerate() {
                            let wanted = match &mut next {
                                None => true,
                                Some((r, first, k)) => {
                                    if *k < r.len() && (r[*k] - *first) as usize == i {
                                        *k += 1;
                                        true
                                    } else {
                                        false
                                    }
                                }
                            };
                            if wanted {
                                if let Some(b) = valid.bits.as_mut() {
                                    b.append(d != 0);
                                }
                                emit((d != 0).then_some(vi), out);
                            }
                            if d != 0 {
                                vi += 1;
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
    fn len(&self) -> usize {
        match &self.out.keys {
            Some(keys) => keys.len(),
            None => self.out.offsets.len() - 1,
        }
    }
    fn take(&mut self) -> DResult<ArrayRef> {
        let (capacity, keys) = (self.len(), self.out.keys.is_some());
        let out = std::mem::replace(&mut self.out, BytesOut::new(capacity, keys));
        let nulls = self.valid.take();
        if let Some(keys) = out.keys {
            let dict = std::mem::take(&mut self.dict);
            let values: ArrayRef = byte_array(self.utf8, dict.offsets, dict.bytes, None, false)?;
            let keys = PrimitiveArray::<Int32Type>::new(ScalarBuffer::from(keys), nulls);
            return Ok(Arc::new(DictionaryArray::<Int32Type>::try_new(
                keys, values,
            )?));
        }
        byte_array(self.utf8, out.offsets, out.bytes, nulls, out.plain)
    }
}

/// A `Utf8` or `Binary` array; `check` validates UTF-8 (bytes not from a checked dictionary).
fn byte_array(
    utf8: bool,
    offsets: Vec<i32>,
    bytes: Vec<u8>,
    nulls: Option<NullBuffer>,
    check: bool,
) -> DResult<ArrayRef> {
    let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
    if !utf8 {
        return Ok(Arc::new(BinaryArray::try_new(
            offsets,
            bytes.into(),
            nulls,
        )?));
    }
    if check {
        validate_utf8(&bytes, offsets.as_ref())?;
    }
    // SAFETY: offsets are monotonic and within `bytes` (built by push), and the bytes are
    // valid UTF-8 split at character boundaries: checked above, or each value copied
    // whole from a dictionary that was checked the same way.
    Ok(Arc::new(unsafe {
        StringArray::new_unchecked(offsets, bytes.into(), nulls)
    }))
}

// ---------------------------------------------------------------------------------------
// A row group
// ---------------------------------------------------------------------------------------

/// The decoder of a column (`capacity`: the rows it will likely hold at once).
fn decoder(
    spec: &ColumnSpec,
    capacity: usize,
    as_dictionary: bool,
) -> DResult<Box<dyn PageDecoder>> {
    use PhysicalType as P;
    /// A column stored as its arrow type's native values.
    fn native<A: ArrowPrimitiveType>(nullable: bool, capacity: usize) -> Box<dyn PageDecoder>
    where
        A::Native: Plain,
    {
        Box::new(FixedDecoder::<A::Native, A, _, _>::new(
            nullable,
            capacity,
            |v| v,
            |a| Ok(Arc::new(a) as ArrayRef),
        ))
    }
    /// An INT32 or INT64 decimal, widened to i128.
    fn decimal<P: Plain + Into<i128> + 'static>(
        nullable: bool,
        capacity: usize,
        p: u8,
        s: i8,
    ) -> Box<dyn PageDecoder> {
        Box::new(FixedDecoder::<P, Decimal128Type, _, _>::new(
            nullable,
            capacity,
            |v: P| v.into(),
            move |a| Ok(Arc::new(a.with_precision_and_scale(p, s)?)),
        ))
    }
    let (n, cap) = (spec.nullable, capacity);
    Ok(match (spec.physical, spec.field.data_type().clone()) {
        (P::INT32, DataType::Int32) => native::<Int32Type>(n, cap),
        (P::INT32, DataType::Date32) => native::<Date32Type>(n, cap),
        (P::INT32, DataType::Decimal128(p, s)) => decimal::<i32>(n, cap, p, s),
        (P::INT64, DataType::Int64) => native::<Int64Type>(n, cap),
        (P::INT64, DataType::Decimal128(p, s)) => decimal::<i64>(n, cap, p, s),
        (P::FLOAT, DataType::Float32) => native::<Float32Type>(n, cap),
        (P::DOUBLE, DataType::Float64) => native::<Float64Type>(n, cap),
        (P::BYTE_ARRAY, t @ (DataType::Utf8 | DataType::Binary)) => Box::new(BytesDecoder::new(
            t == DataType::Utf8,
            n,
            cap,
            as_dictionary,
        )),
        (p, t) => return Err(DecodeError::Unsupported(format!("{p} as {t}"))),
    })
}

/// Decode one column at the selection, whole.
fn decode_column(
    c: ColumnRead<'_, impl ChunkReader>,
    scratch: &mut Scratch,
    as_dictionary: bool,
) -> DResult<ArrayRef> {
    let mut d = decoder(c.spec, c.selected, as_dictionary)?;
    let mut pages = PageCursor::new(c.reader, c.meta, c.spec.nullable, c.rows, c.sel)?;
    while pages.next(scratch, &mut |ev, indices| d.page(ev, indices))? {}
    if d.len() != c.selected {
        return corrupt("column chunk rows do not match the row group");
    }
    d.take()
}

/// A column decoded a page at a time, for [`decode_row_group_into`]: the rows decoded
/// and not yet handed out are held as one array.
struct ColumnStream<'a> {
    pages: PageCursor<'a>,
    decoder: Box<dyn PageDecoder>,
    held: Option<ArrayRef>,
    ended: bool,
}

impl ColumnStream<'_> {
    fn held(&self) -> usize {
        self.held.as_ref().map_or(0, |a| a.len())
    }

    /// Decode pages until at least `want` rows are held or the chunk ends.
    fn fill(&mut self, want: usize, scratch: &mut Scratch) -> DResult<()> {
        while self.held() < want && !self.ended {
            let d = &mut self.decoder;
            if !self
                .pages
                .next(scratch, &mut |ev, indices| d.page(ev, indices))?
            {
                self.ended = true;
            }
            if d.len() > 0 {
                let a = d.take()?;
                self.held = Some(match self.held.take() {
                    Some(h) if !h.is_empty() => arrow::compute::concat(&[h.as_ref(), a.as_ref()])?,
                    _ => a,
                });
            }
        }
        Ok(())
    }

    /// The first `n` rows held (the caller filled at least `n`).
    fn split(&mut self, n: usize) -> DResult<ArrayRef> {
        match self.held.take() {
            Some(h) if h.len() >= n => {
                self.held = Some(h.slice(n, h.len() - n));
                Ok(h.slice(0, n))
            }
            _ => corrupt("column chunk rows do not match the row group"),
        }
    }
}

/// Fewest rows [`decode_row_group_into`] hands out at once where the columns' pages end
/// at different rows (below it, the columns that end a page sooner go on into their
/// next page, copying the rows held into one array).
const MIN_WINDOW: usize = 1024;

/// Decode row group `rg` of a file (its footer `md`): the top-level fields `roots`
/// (file order), with `predicates` applied in order, each seeing its columns for the
/// rows the earlier ones kept; other columns are then decoded only at the rows kept.
/// Each batch (at most `batch_size` rows with the fields of `roots`, arrow's types from
/// the footer) goes to `sink` as soon as it is decoded: the predicates' columns are
/// decoded whole first, the other columns a page at a time, all of them for one batch
/// before the next, so a batch is still in the core's cache when `sink` runs the
/// operators above the scan on it (a whole row group of decoded columns is several
/// MiB: TPC-H lineitem's 128 Ki rows are 2 MiB per decimal column). A batch ends where
/// a column's page ends, if that leaves at least [`MIN_WINDOW`] rows.
///
/// [`DecodeError::Unsupported`]: a page this decoder does not read; the caller falls
/// back to arrow's reader if no batch went to `sink` yet (predicates may have run on
/// some rows already), and must fail otherwise. An error from `sink` ends the decoding
/// as [`DecodeError::Predicate`].
#[allow(clippy::too_many_arguments)]
pub fn decode_row_group_into(
    reader: &impl ChunkReader,
    md: &ArrowReaderMetadata,
    rg: usize,
    roots: &[usize],
    batch_size: usize,
    predicates: &mut [RowPredicate],
    scratch: &mut Scratch,
    sink: &mut dyn FnMut(RecordBatch) -> crate::error::Result<()>,
) -> DResult<()> {
    let Some(group) = md.metadata().row_groups().get(rg) else {
        return corrupt("row group out of range");
    };
    let rows = group.num_rows().max(0) as usize;
    let specs: Vec<ColumnSpec> = match roots.iter().map(|&r| column_spec(md, r)).collect() {
        Some(s) => s,
        None => return Err(DecodeError::Unsupported("a column of the row group".into())),
    };
    let root_of = |name: &str| {
        md.schema()
            .fields()
            .iter()
            .position(|f| f.name().eq_ignore_ascii_case(name))
    };
    // one column at the rows selected: `None` when a page is not one this decoder reads
    let decode_at = |spec: &ColumnSpec,
                     sel: &Option<Vec<u32>>,
                     selected: usize,
                     as_dictionary: bool,
                     scratch: &mut Scratch|
     -> DResult<ArrayRef> {
        let read = ColumnRead {
            reader,
            meta: group.column(spec.leaf),
            spec,
            rows,
            sel: sel.as_deref().map_or(Selection::All, Selection::Rows),
            selected,
        };
        decode_column(read, scratch, as_dictionary)
    };
    // columns decoded so far, aligned with `sel`
    let mut decoded: Vec<(usize, ArrayRef)> = vec![];
    let mut sel: Option<Vec<u32>> = None;
    let mut selected = rows;
    for p in predicates.iter_mut() {
        if selected == 0 {
            break;
        }
        let mut pred_roots: Vec<usize> = p.columns.iter().filter_map(|c| root_of(c)).collect();
        pred_roots.sort_unstable();
        pred_roots.dedup();
        let one = pred_roots.len() == 1;
        let mut fields = vec![];
        let mut arrays = vec![];
        for r in &pred_roots {
            let Some(spec) = column_spec(md, *r) else {
                return Err(DecodeError::Unsupported("a column of the row group".into()));
            };
            let a = match decoded.iter().find(|(x, _)| x == r) {
                Some((_, a)) => a.clone(),
                None => {
                    let as_dict = one && spec.physical == PhysicalType::BYTE_ARRAY;
                    let a = decode_at(&spec, &sel, selected, as_dict, scratch)?;
                    decoded.push((*r, a.clone()));
                    a
                }
            };
            fields.push(spec.field.clone().with_data_type(a.data_type().clone()));
            arrays.push(a);
        }
        let batch = RecordBatch::try_new_with_options(
            Arc::new(Schema::new(fields)),
            arrays,
            &RecordBatchOptions::new().with_row_count(Some(selected)),
        )?;
        let mask = (p.eval)(&batch).map_err(DecodeError::Predicate)?;
        let keep: BooleanBuffer = match mask.nulls() {
            Some(n) => mask.values() & n.inner(),
            None => mask.values().clone(),
        };
        if keep.len() != selected {
            return corrupt("a filter returned the wrong number of rows");
        }
        let kept = keep.count_set_bits();
        if kept == selected {
            continue;
        }
        let new_sel: Vec<u32> = match &sel {
            None => keep.set_indices().map(|i| i as u32).collect(),
            Some(v) => keep.set_indices().map(|i| v[i]).collect(),
        };
        let filter = BooleanArray::new(keep, None);
        for (_, a) in decoded.iter_mut() {
            *a = arrow::compute::filter(a.as_ref(), &filter)?;
        }
        sel = Some(new_sel);
        selected = kept;
    }
    if selected == 0 {
        return Ok(());
    }
    // the predicates' columns, whole (a dictionary read for a filter: in the file's
    // type), and a page-at-a-time stream of each other column
    let selection = sel.as_deref().map_or(Selection::All, Selection::Rows);
    let capacity = selected.min(1 << 15);
    let mut whole: Vec<Option<ArrayRef>> = vec![None; specs.len()];
    let mut streams: Vec<(usize, ColumnStream<'_>)> = vec![];
    for (i, spec) in specs.iter().enumerate() {
        match decoded.iter().find(|(x, _)| *x == spec.root) {
            Some((_, a)) => {
                whole[i] = Some(if a.data_type() != spec.field.data_type() {
                    arrow::compute::cast(a, spec.field.data_type())?
                } else {
                    a.clone()
                })
            }
            None => streams.push((
                i,
                ColumnStream {
                    pages: PageCursor::new(
                        reader,
                        group.column(spec.leaf),
                        spec.nullable,
                        rows,
                        selection,
                    )?,
                    decoder: decoder(spec, capacity, false)?,
                    held: None,
                    ended: false,
                },
            )),
        }
    }
    let schema = Arc::new(Schema::new(
        specs.iter().map(|s| s.field.clone()).collect::<Vec<_>>(),
    ));
    let size = batch_size.max(1);
    let mut done = 0usize;
    while done < selected {
        let left = selected - done;
        for (_, s) in streams.iter_mut() {
            s.fill(1, scratch)?;
        }
        let held = streams.iter().map(|(_, s)| s.held()).min().unwrap_or(left);
        let mut n = held.min(size).min(left);
        if n < MIN_WINDOW.min(left) {
            n = size.min(left);
            for (_, s) in streams.iter_mut() {
                s.fill(n, scratch)?;
            }
        }
        let mut columns: Vec<Option<ArrayRef>> = whole
            .iter()
            .map(|w| w.as_ref().map(|a| a.slice(done, n)))
            .collect();
        for (i, s) in streams.iter_mut() {
            columns[*i] = Some(s.split(n)?);
        }
        let columns: Vec<ArrayRef> = columns.into_iter().flatten().collect();
        if columns.len() != specs.len() {
            return corrupt("a column of the row group is missing");
        }
        let batch = RecordBatch::try_new_with_options(
            schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )?;
        sink(batch).map_err(DecodeError::Predicate)?;
        done += n;
    }
    // the pages after the last selected row: none of them may hold one
    for (_, s) in streams.iter_mut() {
        s.fill(usize::MAX, scratch)?;
        if s.held() > 0 {
            return corrupt("column chunk rows do not match the row group");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        BinaryArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int32Array,
        Int64Array,
    };
    use arrow::compute::{concat_batches, filter_record_batch};
    use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
    use parquet::arrow::{ArrowWriter, ProjectionMask};
    use parquet::file::properties::{WriterProperties, WriterVersion};

    const ROWS: usize = 5000;

    /// [`decode_row_group_into`]'s batches, collected.
    fn decode_all(
        reader: &impl ChunkReader,
        md: &ArrowReaderMetadata,
        rg: usize,
        roots: &[usize],
        batch_size: usize,
        predicates: &mut [RowPredicate],
        scratch: &mut Scratch,
    ) -> DResult<Vec<RecordBatch>> {
        let mut out = vec![];
        decode_row_group_into(
            reader,
            md,
            rg,
            roots,
            batch_size,
            predicates,
            scratch,
            &mut |b| {
                out.push(b);
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// A batch with every supported type, NULLs in the nullable columns, repeated values
    /// (dictionaries) and a long-tailed string column (dictionary fallback to PLAIN).
    fn sample() -> RecordBatch {
        let n = ROWS as i64;
        let i32s = Int32Array::from_iter((0..n).map(|i| (i % 7 != 3).then_some((i % 100) as i32)));
        let i64s = Int64Array::from_iter_values((0..n).map(|i| i * 7919 % 1000));
        let dates = Date32Array::from_iter_values((0..n).map(|i| 9000 + (i % 365) as i32));
        let dec64 = Decimal128Array::from_iter_values((0..n).map(|i| (i * 37 % 5000) as i128))
            .with_precision_and_scale(15, 2)
            .unwrap();
        let dec32 = Decimal128Array::from_iter((0..n).map(|i| (i % 5 != 0).then_some(i as i128)))
            .with_precision_and_scale(7, 2)
            .unwrap();
        let f32s = Float32Array::from_iter_values((0..n).map(|i| (i % 13) as f32 * 0.5));
        let f64s = Float64Array::from_iter((0..n).map(|i| (i % 11 != 0).then_some(i as f64 / 3.0)));
        let words = [
            "MAIL", "SHIP", "AIR", "RAIL", "TRUCK", "FOB", "REG AIR", "ünï",
        ];
        let strs = StringArray::from_iter(
            (0..n).map(|i| (i % 9 != 4).then(|| words[(i % 8) as usize].to_string())),
        );
        let long = StringArray::from_iter_values(
            (0..n).map(|i| format!("comment {i} {}", "x".repeat((i % 50) as usize))),
        );
        let bins =
            BinaryArray::from_iter_values((0..n).map(|i| vec![(i % 4) as u8; (i % 3) as usize]));
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("a_i32", Arc::new(i32s)),
            ("b_i64", Arc::new(i64s)),
            ("c_date", Arc::new(dates)),
            ("d_dec64", Arc::new(dec64)),
            ("e_dec32", Arc::new(dec32)),
            ("f_f32", Arc::new(f32s)),
            ("g_f64", Arc::new(f64s)),
            ("h_str", Arc::new(strs)),
            ("i_long", Arc::new(long)),
            ("j_bin", Arc::new(bins)),
        ];
        RecordBatch::try_from_iter_with_nullable(cols.into_iter().map(|(n, a)| {
            let nullable = a.null_count() > 0;
            (n, a, nullable)
        }))
        .unwrap()
    }

    fn write(props: WriterProperties) -> Bytes {
        let batch = sample();
        let mut buf = vec![];
        let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        Bytes::from(buf)
    }

    fn configs() -> Vec<(&'static str, WriterProperties)> {
        use parquet::basic::{Compression as C, ZstdLevel};
        let base = || {
            WriterProperties::builder()
                .set_max_row_group_row_count(Some(1700))
                .set_data_page_row_count_limit(300)
                .set_write_batch_size(100)
        };
        vec![
            (
                "dictionary, snappy, v1",
                base().set_compression(C::SNAPPY).build(),
            ),
            (
                "dictionary, snappy, v2",
                base()
                    .set_compression(C::SNAPPY)
                    .set_writer_version(WriterVersion::PARQUET_2_0)
                    .build(),
            ),
            (
                "plain, zstd, v1",
                base()
                    .set_compression(C::ZSTD(ZstdLevel::default()))
                    .set_dictionary_enabled(false)
                    .build(),
            ),
            (
                "plain, uncompressed, v2",
                base()
                    .set_writer_version(WriterVersion::PARQUET_2_0)
                    .set_dictionary_enabled(false)
                    .set_encoding(parquet::basic::Encoding::PLAIN)
                    .build(),
            ),
            (
                // a small dictionary limit: chunks fall back to PLAIN pages part way
                "dictionary fallback, snappy, v1",
                base()
                    .set_compression(C::SNAPPY)
                    .set_dictionary_page_size_limit(512)
                    .build(),
            ),
            (
                // pages cut by bytes: each column's pages end at other rows, so a
                // batch joins the end of one page with the start of the next
                "dictionary, small pages, fallback, snappy, v1",
                base()
                    .set_compression(C::SNAPPY)
                    .set_data_page_size_limit(700)
                    .set_dictionary_page_size_limit(2048)
                    .build(),
            ),
        ]
    }

    /// What arrow's reader gives for `rg`, `roots`, filtered by `keep` (a row mask over
    /// the whole row group).
    fn expected(
        data: &Bytes,
        rg: usize,
        roots: &[usize],
        keep: Option<&BooleanArray>,
    ) -> RecordBatch {
        let b = ParquetRecordBatchReaderBuilder::try_new(data.clone()).unwrap();
        let mask = ProjectionMask::roots(b.parquet_schema(), roots.iter().copied());
        let r = b
            .with_row_groups(vec![rg])
            .with_projection(mask)
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = r.map(|b| b.unwrap()).collect();
        let all = concat_batches(&batches[0].schema(), &batches).unwrap();
        match keep {
            Some(k) => filter_record_batch(&all, k).unwrap(),
            None => all,
        }
    }

    fn ours(
        data: &Bytes,
        md: &ArrowReaderMetadata,
        rg: usize,
        roots: &[usize],
        preds: &mut [RowPredicate],
    ) -> RecordBatch {
        ours_in(data, md, rg, roots, preds, 256)
    }

    /// [`ours`] in batches of at most `batch_size` rows.
    fn ours_in(
        data: &Bytes,
        md: &ArrowReaderMetadata,
        rg: usize,
        roots: &[usize],
        preds: &mut [RowPredicate],
        batch_size: usize,
    ) -> RecordBatch {
        let mut scratch = Scratch::default();
        let out = decode_all(data, md, rg, roots, batch_size, preds, &mut scratch)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(out.iter().all(|b| b.num_rows() <= batch_size));
        let schema = Arc::new(Schema::new(
            roots
                .iter()
                .map(|r| md.schema().field(*r).clone())
                .collect::<Vec<_>>(),
        ));
        concat_batches(&schema, &out).unwrap()
    }

    #[test]
    fn every_column_matches_arrows_reader() {
        for (name, props) in configs() {
            let data = write(props);
            let md = ArrowReaderMetadata::load(&data, ArrowReaderOptions::new()).unwrap();
            let roots: Vec<usize> = (0..md.schema().fields().len()).collect();
            assert!(supported(&md, &[0, 1, 2], &roots), "{name}");
            for rg in 0..md.metadata().num_row_groups() {
                let got = ours(&data, &md, rg, &roots, &mut []);
                assert_eq!(
                    got,
                    expected(&data, rg, &roots, None),
                    "{name}, row group {rg}"
                );
                // batches larger than a page, and of a few rows
                for size in [4096, 7] {
                    let got = ours_in(&data, &md, rg, &roots, &mut [], size);
                    assert_eq!(
                        got,
                        expected(&data, rg, &roots, None),
                        "{name}, row group {rg}, batches of {size}"
                    );
                }
                // a projection of a few columns, out of order in the request
                let some = [7, 1, 4];
                let mut sorted = some.to_vec();
                sorted.sort();
                let got = ours(&data, &md, rg, &sorted, &mut []);
                assert_eq!(
                    got,
                    expected(&data, rg, &sorted, None),
                    "{name}, row group {rg}"
                );
            }
        }
    }

    /// Predicates run in order, each on the rows the earlier kept; the string one sees a
    /// dictionary while the chunk is dictionary-encoded; the output holds the kept rows.
    #[test]
    fn predicates_select_rows_like_a_filter_after_the_read() {
        for (name, props) in configs() {
            let data = write(props);
            let md = ArrowReaderMetadata::load(&data, ArrowReaderOptions::new()).unwrap();
            let dictionary = name.starts_with("dictionary");
            let roots: Vec<usize> = vec![0, 3, 6, 7, 8, 9];
            for rg in 0..md.metadata().num_row_groups() {
                let full = expected(&data, rg, &(0..10).collect::<Vec<_>>(), None);
                // b_i64 < 600, then h_str in ('MAIL', 'AIR', 'ünï')
                let b = full
                    .column(1)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap();
                let h = full
                    .column(7)
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .unwrap();
                let l = full
                    .column(8)
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .unwrap();
                let keep = BooleanArray::from_iter((0..full.num_rows()).map(|i| {
                    Some(
                        b.value(i) < 600
                            && h.is_valid(i)
                            && ["MAIL", "AIR", "ünï"].contains(&h.value(i))
                            && !l.value(i).ends_with("xxxx"),
                    )
                }));
                let mut preds = vec![
                    RowPredicate {
                        columns: vec!["b_i64".into()],
                        eval: Box::new(|b: &RecordBatch| {
                            let c = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                            Ok(BooleanArray::from_iter(
                                c.iter().map(|v| v.map(|v| v < 600)),
                            ))
                        }),
                    },
                    RowPredicate {
                        columns: vec!["h_str".into()],
                        eval: Box::new(move |b: &RecordBatch| {
                            let c = b.column(0);
                            assert_eq!(
                                matches!(c.data_type(), DataType::Dictionary(_, _)),
                                dictionary
                            );
                            let s = arrow::compute::cast(c, &DataType::Utf8)?;
                            let s = s.as_any().downcast_ref::<StringArray>().unwrap();
                            Ok(BooleanArray::from_iter(
                                s.iter()
                                    .map(|v| v.map(|v| ["MAIL", "AIR", "ünï"].contains(&v))),
                            ))
                        }),
                    },
                    // in the fallback file, dictionary keys first, then PLAIN pages
                    RowPredicate {
                        columns: vec!["i_long".into()],
                        eval: Box::new(|b: &RecordBatch| {
                            let s = arrow::compute::cast(b.column(0), &DataType::Utf8)?;
                            let s = s.as_any().downcast_ref::<StringArray>().unwrap();
                            Ok(BooleanArray::from_iter(
                                s.iter().map(|v| v.map(|v| !v.ends_with("xxxx"))),
                            ))
                        }),
                    },
                ];
                let got = ours(&data, &md, rg, &roots, &mut preds);
                assert_eq!(
                    got,
                    expected(&data, rg, &roots, Some(&keep)),
                    "{name}, row group {rg}"
                );
                // a predicate that keeps nothing: no batches
                let mut none = vec![RowPredicate {
                    columns: vec!["a_i32".into()],
                    eval: Box::new(|b: &RecordBatch| {
                        Ok(BooleanArray::from(vec![false; b.num_rows()]))
                    }),
                }];
                assert_eq!(ours(&data, &md, rg, &roots, &mut none).num_rows(), 0);
            }
        }
    }

    /// Damaged column chunks give an error (or some values), never a panic.
    /// Rows kept only in a few pages (here by position: rows 0-49 and 900-949 of each
    /// row group, pages of about 300 rows): the pages between are skipped, not
    /// decompressed, and every column still lines up with a filter after the read.
    #[test]
    fn pages_without_kept_rows_are_skipped_in_line() {
        for (name, props) in configs() {
            let data = write(props);
            let md = ArrowReaderMetadata::load(&data, ArrowReaderOptions::new()).unwrap();
            let roots: Vec<usize> = (0..10).collect();
            let kept = |i: usize| i < 50 || (900..950).contains(&i);
            for rg in 0..md.metadata().num_row_groups() {
                let n = md.metadata().row_group(rg).num_rows() as usize;
                let keep = BooleanArray::from_iter((0..n).map(|i| Some(kept(i))));
                let mut preds = vec![RowPredicate {
                    columns: vec!["a_i32".into()],
                    eval: Box::new(move |b: &RecordBatch| {
                        Ok(BooleanArray::from_iter(
                            (0..b.num_rows()).map(|i| Some(kept(i))),
                        ))
                    }),
                }];
                let got = ours(&data, &md, rg, &roots, &mut preds);
                assert_eq!(
                    got,
                    expected(&data, rg, &roots, Some(&keep)),
                    "{name}, row group {rg}"
                );
            }
        }
    }

    #[test]
    fn damaged_pages_do_not_panic() {
        for (name, props) in configs() {
            let data = write(props);
            let md = ArrowReaderMetadata::load(&data, ArrowReaderOptions::new()).unwrap();
            let roots: Vec<usize> = (0..10).collect();
            let (start, len) = md.metadata().row_group(0).column(0).byte_range();
            let end = md.metadata().row_group(0).column(9).byte_range();
            let end = (end.0 + end.1) as usize;
            for (k, pos) in (start as usize..end).step_by(173).enumerate() {
                let mut bad = data.to_vec();
                bad[pos] ^= [0xff, 0x01, 0x80, 0x10][k % 4];
                let bad = Bytes::from(bad);
                let mut scratch = Scratch::default();
                let _ = decode_all(&bad, &md, 0, &roots, 256, &mut [], &mut scratch);
            }
            let _ = (name, len);
        }
    }

    #[test]
    fn hybrid_runs_and_bit_widths() {
        // every width: 20 values bit-packed (3 groups, the last partly used), then an RLE run
        for width in 0..=32u32 {
            let mask = if width == 32 {
                u32::MAX
            } else {
                (1u64 << width) as u32 - 1
            };
            let values: Vec<u32> = (0..20u32)
                .map(|i| i.wrapping_mul(2654435761) & mask)
                .collect();
            let mut enc = vec![(3 << 1) | 1u8];
            let mut bits: u128 = 0;
            let mut nbits = 0;
            let mut packed = vec![];
            for v in values.iter().copied().chain(std::iter::repeat_n(0, 4)) {
                bits |= (v as u128) << nbits;
                nbits += width;
                while nbits >= 8 {
                    packed.push(bits as u8);
                    bits >>= 8;
                    nbits -= 8;
                }
            }
            assert_eq!(packed.len(), 3 * width as usize);
            enc.extend(packed);
            enc.push(5 << 1);
            let rle = 1u32.min(mask);
            enc.extend(&rle.to_le_bytes()[..width.div_ceil(8) as usize]);
            let mut out = vec![];
            decode_hybrid(&enc, width, 29, &mut out).unwrap();
            let mut want = values.clone();
            want.extend([0; 4]);
            want.extend([rle; 5]);
            assert_eq!(&out[..29], &want[..], "width {width}");
        }
        // truncated data is an error, not a panic
        let mut out = vec![];
        assert!(decode_hybrid(&[(3 << 1) | 1, 0xff], 5, 20, &mut out).is_err());
        assert!(decode_hybrid(&[], 5, 1, &mut out).is_err());
        assert!(decode_hybrid(&[0x80, 0x80], 5, 1, &mut out).is_err());
    }
}
