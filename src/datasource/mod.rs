//! Data sources: listing folders (skipping hidden files), discovering Hive partitions,
//! inferring schemas, reading parquet / CSV / JSON files into RecordBatches of a table's
//! schema, pruning by statistics, and writing parquet files for managed tables.
//!
//! Paths are local for now; every error names the file or folder concerned.

pub mod adapt;
pub mod listing;
pub mod parquet;
pub mod pruning;
pub mod text;
pub mod writer;

use std::path::{Path, PathBuf};

use crate::catalog::{ColumnDef, FileFormat};
use crate::error::{QuarryError, Result};

pub use listing::{discover_partitions, list_files, FileEntry};

/// Normalize a user-given location: strips `file:` / `file://`, makes it absolute.
/// `s3://` locations are refused with a clear message until the S3 work lands.
pub fn resolve_location(loc: &str) -> Result<PathBuf> {
    let l = loc.trim();
    if l.starts_with("s3://") || l.starts_with("s3a://") || l.starts_with("s3n://") {
        return Err(QuarryError::NotSupported(format!(
            "S3 locations yet ({l}); only local paths work in this version"
        )));
    }
    let l = l
        .strip_prefix("file://")
        .or_else(|| l.strip_prefix("file:"))
        .unwrap_or(l);
    let p = if let Some(rest) = l.strip_prefix("~/") {
        dirs::home_dir()
            .map(|h| h.join(rest))
            .unwrap_or_else(|| PathBuf::from(l))
    } else {
        PathBuf::from(l)
    };
    if p.is_absolute() {
        Ok(p)
    } else {
        std::env::current_dir()
            .map(|d| d.join(&p))
            .map_err(|e| QuarryError::Data(format!("cannot resolve path {l}: {e}")))
    }
}

/// Infer a schema from the files under `path` (first file of the format), as Spark does
/// for `CREATE TABLE t USING fmt LOCATION ...` without columns. Partition folders are
/// not part of the result (see [`listing::infer_partition_columns`]).
pub fn infer_schema(
    format: FileFormat,
    options: &std::collections::BTreeMap<String, String>,
    root: &Path,
) -> Result<Vec<ColumnDef>> {
    let files = list_files(root)?;
    let Some(first) = files.first() else {
        return Err(QuarryError::Analysis(format!(
            "[UNABLE_TO_INFER_SCHEMA] Unable to infer schema for {}: no data files under {}; declare the columns",
            format.name().to_uppercase(),
            root.display()
        )));
    };
    match format {
        FileFormat::Parquet => parquet::infer_schema(&first.path),
        FileFormat::Csv => text::infer_csv_schema(&first.path, options),
        FileFormat::Json => text::infer_json_schema(&first.path),
    }
}
