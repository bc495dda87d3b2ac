//! Writing managed-table data as parquet files (snappy, as Spark writes them).
//!
//! A file is written under a hidden name (`.part-....inprogress`, ignored by readers)
//! and renamed into place when complete, so a killed process never leaves a partial
//! file visible to queries.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::{QuarryError, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Write `batches` (all of `schema`) as one new parquet file in `dir`; returns its path,
/// or `None` when there are no rows.
pub fn write_parquet_file(
    dir: &Path,
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> Result<Option<PathBuf>> {
    if batches.iter().all(|b| b.num_rows() == 0) {
        return Ok(None);
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| QuarryError::Data(format!("cannot create {}: {e}", dir.display())))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!(
        "part-{nanos:x}-{:x}-{n:05}.snappy.parquet",
        std::process::id()
    );
    let final_path = dir.join(&name);
    let tmp_path = dir.join(format!(".{name}.inprogress"));
    let err = |e: &dyn std::fmt::Display| {
        QuarryError::Data(format!("cannot write {}: {e}", final_path.display()))
    };
    let file = std::fs::File::create(&tmp_path).map_err(|e| err(&e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut w = ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| err(&e))?;
    for b in batches {
        w.write(b).map_err(|e| err(&e))?;
    }
    w.close().map_err(|e| err(&e))?;
    std::fs::rename(&tmp_path, &final_path).map_err(|e| err(&e))?;
    Ok(Some(final_path))
}
