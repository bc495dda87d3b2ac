//! Parquet reading: footers (schema, row-group statistics) and row-group morsels that
//! decode only the projected columns.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;

use crate::catalog::ColumnDef;
use crate::error::{QuarryError, Result};
use crate::types::normalize_type;

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| QuarryError::Data(format!("cannot open {}: {e}", path.display())))
}

/// Read a file's footer. A file that is not parquet (or is truncated) is an error naming it.
pub fn load_metadata(path: &Path) -> Result<ArrowReaderMetadata> {
    let f = open(path)?;
    ArrowReaderMetadata::load(&f, ArrowReaderOptions::new())
        .map_err(|e| QuarryError::Data(format!("cannot read parquet file {}: {e}", path.display())))
}

/// The columns of a parquet file, with Quarry's normalized types.
pub fn infer_schema(path: &Path) -> Result<Vec<ColumnDef>> {
    let md = load_metadata(path)?;
    Ok(md.schema().fields().iter().map(|f| ColumnDef { name: f.name().to_ascii_lowercase(), data_type: normalize_type(f.data_type()) }).collect())
}

/// Read `row_groups` of a file, decoding only the top-level columns named in `columns`
/// (case-insensitive; names the file lacks are skipped, the adapter fills them with NULL).
pub fn read_row_groups(path: &Path, metadata: &ArrowReaderMetadata, row_groups: Vec<usize>, columns: &[String], batch_size: usize) -> Result<Vec<RecordBatch>> {
    let f = open(path)?;
    let schema = metadata.schema();
    let indices: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, fld)| columns.iter().any(|c| c.eq_ignore_ascii_case(fld.name())))
        .map(|(i, _)| i)
        .collect();
    let mask = ProjectionMask::roots(metadata.parquet_schema(), indices);
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(f, metadata.clone())
        .with_projection(mask)
        .with_row_groups(row_groups)
        .with_batch_size(batch_size)
        .build()
        .map_err(|e| QuarryError::Data(format!("cannot read parquet file {}: {e}", path.display())))?;
    let mut out = vec![];
    for b in reader {
        out.push(b.map_err(|e| QuarryError::Data(format!("cannot read parquet file {}: {e}", path.display())))?);
    }
    Ok(out)
}

/// Shared footer handle.
pub type Metadata = Arc<ArrowReaderMetadata>;
