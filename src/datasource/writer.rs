//! Writing managed-table data as parquet files (snappy, as Spark writes them).
//!
//! A local file is written under a hidden name (`.part-....inprogress`, ignored by
//! readers) and renamed into place when complete, so a killed process never leaves a
//! partial file visible to queries. An S3 file is encoded in memory and written with one
//! PUT (S3 makes an object visible only when the PUT completes).

use std::sync::atomic::{AtomicU64, Ordering};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::location::Location;
use super::store::Storage;
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
    if !keep_empty && batches.iter().all(|b| b.num_rows() == 0) {
        return Ok(None);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!(
        "part-{nanos:x}-{:x}-{n:05}.snappy.parquet",
        std::process::id()
    );
    let final_loc = dir.join(&name);
    let err =
        |e: &dyn std::fmt::Display| QuarryError::Data(format!("cannot write {final_loc}: {e}"));
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    match dir {
        Location::Local(d) => {
            std::fs::create_dir_all(d)
                .map_err(|e| QuarryError::Data(format!("cannot create {}: {e}", d.display())))?;
            let tmp_path = d.join(format!(".{name}.inprogress"));
            let file = std::fs::File::create(&tmp_path).map_err(|e| err(&e))?;
            let mut w = ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| err(&e))?;
            for b in batches {
                w.write(b).map_err(|e| err(&e))?;
            }
            w.close().map_err(|e| err(&e))?;
            std::fs::rename(&tmp_path, d.join(&name)).map_err(|e| err(&e))?;
        }
        Location::S3 { .. } => {
            let mut buf = vec![];
            let mut w = ArrowWriter::try_new(&mut buf, schema, Some(props)).map_err(|e| err(&e))?;
            for b in batches {
                w.write(b).map_err(|e| err(&e))?;
            }
            w.close().map_err(|e| err(&e))?;
            storage.put_new(&final_loc, bytes::Bytes::from(buf))?;
            storage.invalidate(dir);
        }
    }
    Ok(Some(final_loc))
}
