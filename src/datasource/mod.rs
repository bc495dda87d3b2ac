//! Data sources: listing folders (skipping hidden files), discovering Hive partitions,
//! inferring schemas, reading parquet / CSV / JSON files into RecordBatches of a table's
//! schema, pruning by statistics, and writing parquet files for managed tables.
//!
//! Locations are local paths or `s3://bucket/key` ([`Location`]); [`Storage`] does the
//! file operations for both. Every error names the file or folder concerned.

pub mod adapt;
pub mod listing;
pub mod location;
pub mod parquet;
pub mod parquet_decode;
pub mod pruning;
pub mod s3;
pub mod store;
pub mod text;
pub mod writer;

use std::sync::Arc;

use crate::catalog::{ColumnDef, FileFormat};
use crate::error::{QuarryError, Result};

pub use listing::{discover_partitions, DiscoveredPartition};
pub use location::Location;
pub use store::{FileEntry, IoStats, Storage};

/// Infer a schema from `files`, the files listed under `root` (the first one, of the
/// format), as Spark does for `CREATE TABLE t USING fmt LOCATION ...` without columns.
/// Partition folders are not part of the result (see [`listing::partitions_of_files`]).
pub fn infer_schema(
    storage: &Arc<Storage>,
    format: FileFormat,
    options: &std::collections::BTreeMap<String, String>,
    root: &Location,
    files: &[FileEntry],
) -> Result<Vec<ColumnDef>> {
    let Some(first) = files.first() else {
        return Err(QuarryError::Analysis(format!(
            "[UNABLE_TO_INFER_SCHEMA] Unable to infer schema for {}: no data files under {}; declare the columns",
            format.name().to_uppercase(),
            root
        )));
    };
    match format {
        FileFormat::Parquet => parquet::infer_schema(storage, first),
        FileFormat::Csv => text::infer_csv_schema(storage, first, options),
        FileFormat::Json => text::infer_json_schema(storage, first),
    }
}
