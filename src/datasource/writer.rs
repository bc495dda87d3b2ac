//! Writing table data files: parquet (snappy, as Spark writes them), CSV and JSON lines.
//!
//! A local file is written under a hidden name (`.part-....inprogress`, ignored by
//! readers) and renamed into place when complete, so a killed process never leaves a
//! partial file visible to queries. An S3 file is encoded in memory and written with one
//! PUT (S3 makes an object visible only when the PUT completes).

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::datatypes::{DataType, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::location::Location;
use super::store::Storage;
use super::text::CsvDialect;
use crate::catalog::FileFormat;
use crate::error::{QuarryError, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Write `batches` (all of `schema`) as one new parquet file in the folder `dir`;
/// returns its location, or `None` when there are no rows and not `keep_empty`. With
/// `keep_empty` (CREATE TABLE AS SELECT), no rows still make a file holding the schema,
/// as Spark 3 writes one, so the table's folder exists and reads as empty.
pub fn write_parquet_file(
    storage: &Storage,
    dir: &Location,
    schema: SchemaRef,
    batches: &[RecordBatch],
    keep_empty: bool,
) -> Result<Option<Location>> {
    write_table_file(
        storage,
        dir,
        FileFormat::Parquet,
        &BTreeMap::new(),
        schema,
        batches,
        keep_empty,
    )
}

/// Write `batches` (all of `schema`) as one new file of `format` in the folder `dir`,
/// as [`write_parquet_file`] does. CSV honours the table's reader options (`header`,
/// `delimiter`/`sep`/`field.delim`, `quote`, `escape`, `nullValue`), so the table reads
/// its own files back: dates as `yyyy-MM-dd`, timestamps as `yyyy-MM-dd'T'HH:mm:ss.SSSSSS`
/// (microseconds kept), NULL as the null value (empty by default). JSON lines leave
/// NULL fields out, as Spark's `ignoreNullFields`. Errors: a column type the format
/// cannot hold ([`check_writable`]), an IO or S3 failure naming the file.
pub fn write_table_file(
    storage: &Storage,
    dir: &Location,
    format: FileFormat,
    options: &BTreeMap<String, String>,
    schema: SchemaRef,
    batches: &[RecordBatch],
    keep_empty: bool,
) -> Result<Option<Location>> {
    if !keep_empty && batches.iter().all(|b| b.num_rows() == 0) {
        return Ok(None);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let ext = match format {
        FileFormat::Parquet => "snappy.parquet",
        FileFormat::Csv => "csv",
        FileFormat::Json => "json",
    };
    let name = format!("part-{nanos:x}-{:x}-{n:05}.{ext}", std::process::id());
    let final_loc = dir.join(&name);
    let err =
        |e: &dyn std::fmt::Display| QuarryError::Data(format!("cannot write {final_loc}: {e}"));
    let encoding = match format {
        FileFormat::Parquet => Encoding::Parquet,
        FileFormat::Csv => Encoding::Csv(CsvDialect::from_options(options)?),
        FileFormat::Json => Encoding::Json,
    };
    match dir {
        Location::Local(d) => {
            std::fs::create_dir_all(d)
                .map_err(|e| QuarryError::Data(format!("cannot create {}: {e}", d.display())))?;
            let tmp_path = d.join(format!(".{name}.inprogress"));
            let file = std::fs::File::create(&tmp_path).map_err(|e| err(&e))?;
            let written = encode(std::io::BufWriter::new(file), &encoding, schema, batches)
                .and_then(|mut w| w.flush().map_err(ArrowError::from));
            if let Err(e) = written {
                let _ = std::fs::remove_file(&tmp_path);
                return Err(err(&e));
            }
            std::fs::rename(&tmp_path, d.join(&name)).map_err(|e| err(&e))?;
        }
        Location::S3 { .. } => {
            let buf = encode(vec![], &encoding, schema, batches).map_err(|e| err(&e))?;
            storage.put_new(&final_loc, bytes::Bytes::from(buf))?;
            storage.invalidate(dir);
        }
    }
    Ok(Some(final_loc))
}

/// Refuse column types that `format` cannot hold and read back: CSV holds atomic types
/// only (no arrays, structs, maps, binaries or intervals, as Spark's CSV source), JSON no
/// binaries or intervals. Errors name the first such column of `schema`, as Spark's
/// UNSUPPORTED_DATA_TYPE_FOR_DATASOURCE.
pub fn check_writable(format: FileFormat, schema: &arrow::datatypes::Schema) -> Result<()> {
    fn json_ok(t: &DataType) -> bool {
        match t {
            DataType::List(f) | DataType::LargeList(f) => json_ok(f.data_type()),
            DataType::Struct(fs) => fs.iter().all(|f| json_ok(f.data_type())),
            DataType::Map(f, _) => json_ok(f.data_type()),
            other => !matches!(
                other,
                DataType::Binary
                    | DataType::LargeBinary
                    | DataType::Interval(_)
                    | DataType::Duration(_)
            ),
        }
    }
    let ok = |t: &DataType| match format {
        FileFormat::Parquet => true,
        FileFormat::Json => json_ok(t),
        FileFormat::Csv => {
            !matches!(
                t,
                DataType::List(_)
                    | DataType::LargeList(_)
                    | DataType::Struct(_)
                    | DataType::Map(..)
            ) && json_ok(t)
        }
    };
    for f in schema.fields() {
        let (name, t) = (f.name(), f.data_type());
        if !ok(t) {
            return Err(QuarryError::NotSupported(format!(
                "[UNSUPPORTED_DATA_TYPE_FOR_DATASOURCE] The {} datasource doesn't support the column `{name}` of the type \"{}\"",
                format.name().to_ascii_uppercase(),
                crate::types::type_name(t).to_ascii_uppercase()
            )));
        }
    }
    Ok(())
}

const TIMESTAMP_TEXT: &str = "%Y-%m-%dT%H:%M:%S%.6f";

/// How a file is encoded: parquet, CSV in a table's dialect, or JSON lines.
enum Encoding {
    Parquet,
    Csv(CsvDialect),
    Json,
}

/// Encode `batches` into `w` as one file; returns the writer.
fn encode<W: Write + Send>(
    w: W,
    encoding: &Encoding,
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> std::result::Result<W, ArrowError> {
    match encoding {
        Encoding::Parquet => {
            let props = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .build();
            let mut pw = ArrowWriter::try_new(w, schema, Some(props))
                .map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
            for b in batches {
                pw.write(b)
                    .map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
            }
            pw.into_inner()
                .map_err(|e| ArrowError::ExternalError(Box::new(e)))
        }
        Encoding::Csv(d) => {
            let mut b = arrow::csv::WriterBuilder::new()
                .with_header(d.header)
                .with_delimiter(d.delimiter)
                .with_date_format("%Y-%m-%d".into())
                .with_datetime_format(TIMESTAMP_TEXT.into())
                .with_timestamp_format(TIMESTAMP_TEXT.into())
                .with_null(d.null.clone());
            if let Some(q) = d.quote {
                b = b.with_quote(q);
            }
            if let Some(e) = d.escape {
                b = b.with_escape(e).with_double_quote(false);
            }
            let mut cw = b.build(w);
            if batches.is_empty() {
                cw.write(&RecordBatch::new_empty(schema))?;
            }
            for batch in batches {
                cw.write(batch)?;
            }
            Ok(cw.into_inner())
        }
        Encoding::Json => {
            let mut jw = arrow::json::WriterBuilder::new()
                .with_explicit_nulls(false)
                .with_date_format("%Y-%m-%d".into())
                .with_datetime_format(TIMESTAMP_TEXT.into())
                .with_timestamp_format(TIMESTAMP_TEXT.into())
                .with_encoder_factory(std::sync::Arc::new(NonFiniteAsText))
                .build::<_, arrow::json::writer::LineDelimited>(w);
            for batch in batches {
                jw.write(batch)?;
            }
            jw.finish()?;
            Ok(jw.into_inner())
        }
    }
}

/// JSON encoding of float and double values as Spark's JSON writer (Jackson's
/// QUOTE_NON_NUMERIC_NUMBERS): NaN and the infinities as the strings `"NaN"`,
/// `"Infinity"`, `"-Infinity"` (arrow writes them as null), which the JSON reader
/// takes back; finite values in their shortest round-trip form.
#[derive(Debug)]
struct NonFiniteAsText;

struct FloatText<'a>(&'a dyn arrow::array::Array);

impl arrow::json::writer::Encoder for FloatText<'_> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        use arrow::array::AsArray;
        use arrow::datatypes::{Float32Type, Float64Type};
        let v = match self.0.data_type() {
            DataType::Float32 => f64::from(self.0.as_primitive::<Float32Type>().value(idx)),
            _ => self.0.as_primitive::<Float64Type>().value(idx),
        };
        let text = if v.is_nan() {
            "\"NaN\"".to_string()
        } else if v.is_infinite() {
            if v > 0.0 {
                "\"Infinity\""
            } else {
                "\"-Infinity\""
            }
            .to_string()
        } else if self.0.data_type() == &DataType::Float32 {
            // a float's own shortest form (exact: it was widened from f32)
            format!("{:?}", v as f32)
        } else {
            format!("{v:?}")
        };
        out.extend_from_slice(text.as_bytes());
    }
}

impl arrow::json::writer::EncoderFactory for NonFiniteAsText {
    fn make_default_encoder<'a>(
        &self,
        _field: &'a arrow::datatypes::FieldRef,
        array: &'a dyn arrow::array::Array,
        _options: &'a arrow::json::writer::EncoderOptions,
    ) -> std::result::Result<Option<arrow::json::writer::NullableEncoder<'a>>, ArrowError> {
        Ok(match array.data_type() {
            DataType::Float32 | DataType::Float64 => {
                Some(arrow::json::writer::NullableEncoder::new(
                    Box::new(FloatText(array)),
                    array.logical_nulls(),
                ))
            }
            _ => None,
        })
    }
}
