//! CSV and JSON-lines reading.
//!
//! CSV follows Spark's PERMISSIVE mode: columns are positional, every field is read as
//! text and cast to the declared type, a field that does not cast reads as NULL, and the
//! empty field is NULL. Options: `header` (`true`/`false`), `delimiter`/`sep`, `quote`,
//! `escape`, `nullvalue`, `inferschema`.
//! JSON lines: fields by name; missing fields are NULL; a value of the wrong JSON type is
//! an error naming the file.

use std::collections::BTreeMap;
use std::io::{BufReader, Read, Seek};
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use super::location::Location;
use super::store::{FileEntry, IoStats, Storage};
use crate::catalog::ColumnDef;
use crate::error::{QuarryError, Result};
use crate::types::normalize_type;

/// A readable, seekable file: local files are streamed, S3 objects fetched whole.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

fn open(storage: &Storage, file: &FileEntry, stats: &IoStats) -> Result<Box<dyn ReadSeek>> {
    match &file.location {
        Location::Local(p) => {
            Ok(Box::new(std::fs::File::open(p).map_err(|e| {
                QuarryError::Data(format!("cannot open {}: {e}", p.display()))
            })?))
        }
        Location::S3 { .. } => Ok(Box::new(std::io::Cursor::new(
            storage.read_all(&file.location, stats)?,
        ))),
    }
}

fn opt<'a>(o: &'a BTreeMap<String, String>, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| o.get(*k).map(|s| s.as_str()))
}

/// A CSV table's dialect, read from its options the same way for reading and for
/// writing its files: `header` (`true`/`false`, default false), `delimiter`/`sep`/
/// `field.delim` (default `,`), `quote`, `escape`, `nullValue` (default empty).
pub struct CsvDialect {
    pub header: bool,
    pub delimiter: u8,
    pub quote: Option<u8>,
    pub escape: Option<u8>,
    pub null: String,
}

impl CsvDialect {
    /// The dialect of `options` (keys lower-case). Errors: a delimiter, quote or escape
    /// that is not one single-byte character.
    pub fn from_options(options: &BTreeMap<String, String>) -> Result<CsvDialect> {
        let byte = |keys: &[&str], what: &str| {
            opt(options, keys).map(|v| single_byte(v, what)).transpose()
        };
        Ok(CsvDialect {
            header: opt(options, &["header"]).is_some_and(|h| h.eq_ignore_ascii_case("true")),
            delimiter: byte(&["delimiter", "sep", "field.delim"], "delimiter")?.unwrap_or(b','),
            quote: byte(&["quote"], "quote")?,
            escape: byte(&["escape"], "escape")?,
            null: opt(options, &["nullvalue"]).unwrap_or("").to_string(),
        })
    }
}

fn csv_format(options: &BTreeMap<String, String>) -> Result<arrow::csv::reader::Format> {
    let d = CsvDialect::from_options(options)?;
    let mut f = arrow::csv::reader::Format::default()
        .with_header(d.header)
        .with_delimiter(d.delimiter);
    if let Some(q) = d.quote {
        f = f.with_quote(q);
    }
    if let Some(e) = d.escape {
        f = f.with_escape(e);
    }
    let re = regex::Regex::new(&format!("^{}$", regex::escape(&d.null)))
        .map_err(|e| QuarryError::Analysis(format!("bad nullValue: {e}")))?;
    Ok(f.with_null_regex(re))
}

fn single_byte(s: &str, what: &str) -> Result<u8> {
    let b = s.as_bytes();
    if b.len() == 1 {
        Ok(b[0])
    } else {
        Err(QuarryError::Analysis(format!(
            "the CSV {what} must be a single character, got '{s}'"
        )))
    }
}

/// Columns of a CSV file: names from the header (or `_c0`, `_c1`, ...); types are
/// `string` unless `inferSchema` is `true` (Spark's default).
pub fn infer_csv_schema(
    storage: &Storage,
    file: &FileEntry,
    options: &BTreeMap<String, String>,
) -> Result<Vec<ColumnDef>> {
    let path = &file.location;
    let f = open(storage, file, &IoStats::default())?;
    let format = csv_format(options)?;
    let header = opt(options, &["header"]).is_some_and(|h| h.eq_ignore_ascii_case("true"));
    let infer = opt(options, &["inferschema"]).is_some_and(|h| h.eq_ignore_ascii_case("true"));
    let (schema, _) = format
        .infer_schema(f, Some(1000))
        .map_err(|e| QuarryError::Data(format!("cannot read CSV file {}: {e}", path)))?;
    Ok(schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, fld)| {
            let name = if header {
                fld.name().clone()
            } else {
                format!("_c{i}")
            };
            let data_type = if infer {
                normalize_type(fld.data_type())
            } else {
                DataType::Utf8
            };
            ColumnDef::new(name, data_type)
        })
        .collect())
}

/// Read CSV columns `projection` (positions in `columns`) of a file, cast to their types.
#[allow(clippy::too_many_arguments)]
pub fn read_csv(
    storage: &Storage,
    file: &FileEntry,
    options: &BTreeMap<String, String>,
    columns: &[ColumnDef],
    projection: &[usize],
    batch_size: usize,
    stats: &IoStats,
) -> Result<Vec<RecordBatch>> {
    let path = &file.location;
    let f = open(storage, file, stats)?;
    let format = csv_format(options)?;
    let text_schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(&c.name, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let mut builder = arrow::csv::ReaderBuilder::new(text_schema)
        .with_format(format)
        .with_batch_size(batch_size)
        .with_truncated_rows(true);
    builder = builder.with_projection(projection.to_vec());
    let reader = builder
        .build(f)
        .map_err(|e| QuarryError::Data(format!("cannot read CSV file {}: {e}", path)))?;
    let out_schema = Arc::new(Schema::new(
        projection
            .iter()
            .map(|&i| Field::new(&columns[i].name, columns[i].data_type.clone(), true))
            .collect::<Vec<_>>(),
    ));
    let opts = CastOptions {
        safe: true,
        ..Default::default()
    };
    let mut out = vec![];
    for b in reader {
        let b = b.map_err(|e| QuarryError::Data(format!("cannot read CSV file {}: {e}", path)))?;
        let cols: Vec<ArrayRef> = b
            .columns()
            .iter()
            .zip(projection)
            .map(|(a, &i)| {
                let t = &columns[i].data_type;
                let a = if matches!(
                    t,
                    DataType::Boolean
                        | DataType::Int8
                        | DataType::Int16
                        | DataType::Int32
                        | DataType::Int64
                        | DataType::Float32
                        | DataType::Float64
                        | DataType::Decimal128(_, _)
                ) {
                    trim_strings(a)
                } else {
                    a.clone()
                };
                cast_with_options(&a, t, &opts)
                    .map_err(|e| QuarryError::Data(format!("cannot read CSV file {}: {e}", path)))
            })
            .collect::<Result<_>>()?;
        out.push(
            RecordBatch::try_new(out_schema.clone(), cols)
                .map_err(|e| QuarryError::Data(format!("cannot read CSV file {}: {e}", path)))?,
        );
    }
    Ok(out)
}

fn trim_strings(a: &ArrayRef) -> ArrayRef {
    match a.as_any().downcast_ref::<arrow::array::StringArray>() {
        Some(s)
            if s.iter()
                .any(|v| v.is_some_and(|v| v.starts_with(' ') || v.ends_with(' '))) =>
        {
            Arc::new(
                s.iter()
                    .map(|v| v.map(|v| v.trim()))
                    .collect::<arrow::array::StringArray>(),
            )
        }
        _ => a.clone(),
    }
}

/// Columns of a JSON-lines file, inferred from its first 1000 lines (bigint, double,
/// boolean, string; arrays and objects as arrow lists and structs).
pub fn infer_json_schema(storage: &Storage, file: &FileEntry) -> Result<Vec<ColumnDef>> {
    let path = &file.location;
    let f = open(storage, file, &IoStats::default())?;
    let mut r = BufReader::new(f);
    let (schema, _) = arrow::json::reader::infer_json_schema(&mut r, Some(1000))
        .map_err(|e| QuarryError::Data(format!("cannot read JSON file {}: {e}", path)))?;
    r.rewind().ok();
    Ok(schema
        .fields()
        .iter()
        .map(|f| ColumnDef::new(f.name().clone(), normalize_type(f.data_type())))
        .collect())
}

/// Read the fields `projection` (positions in `columns`) of a JSON-lines file.
pub fn read_json(
    storage: &Storage,
    file: &FileEntry,
    columns: &[ColumnDef],
    projection: &[usize],
    batch_size: usize,
    stats: &IoStats,
) -> Result<Vec<RecordBatch>> {
    let path = &file.location;
    let f = open(storage, file, stats)?;
    let schema = Arc::new(Schema::new(
        projection
            .iter()
            .map(|&i| Field::new(&columns[i].name, columns[i].data_type.clone(), true))
            .collect::<Vec<_>>(),
    ));
    let reader = arrow::json::ReaderBuilder::new(schema)
        .with_batch_size(batch_size)
        .with_coerce_primitive(true)
        .build(BufReader::new(f))
        .map_err(|e| QuarryError::Data(format!("cannot read JSON file {}: {e}", path)))?;
    let mut out = vec![];
    for b in reader {
        out.push(b.map_err(|e| QuarryError::Data(format!("cannot read JSON file {}: {e}", path)))?);
    }
    Ok(out)
}
