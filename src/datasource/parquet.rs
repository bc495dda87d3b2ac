//! Parquet reading: footers (schema, row-group statistics) and row-group morsels that
//! decode only the projected columns.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::BooleanArray;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
    RowFilter,
};
use parquet::arrow::ProjectionMask;

use crate::catalog::ColumnDef;
use crate::error::{QuarryError, Result};
use crate::types::normalize_type;

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| QuarryError::Data(format!("cannot open {}: {e}", path.display())))
}

/// Read a file's footer. A file that is not parquet (or is truncated) is an error naming it.
/// Columns whose embedded arrow schema asks for view types (`Utf8View`, `BinaryView`,
/// as pyarrow and `tpchgen` write them) are read as plain `Utf8` / `Binary`, Quarry's
/// string representation, so the decoder builds them directly instead of a cast per batch.
pub fn load_metadata(path: &Path) -> Result<ArrowReaderMetadata> {
    let f = open(path)?;
    let err = |e: parquet::errors::ParquetError| {
        QuarryError::Data(format!("cannot read parquet file {}: {e}", path.display()))
    };
    let md = ArrowReaderMetadata::load(&f, ArrowReaderOptions::new()).map_err(err)?;
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
    .map_err(err)
}

/// The columns of a parquet file, with Quarry's normalized types.
pub fn infer_schema(path: &Path) -> Result<Vec<ColumnDef>> {
    let md = load_metadata(path)?;
    Ok(md
        .schema()
        .fields()
        .iter()
        .map(|f| ColumnDef {
            name: f.name().to_ascii_lowercase(),
            data_type: normalize_type(f.data_type()),
        })
        .collect())
}

/// The mask of the file's top-level columns named in `columns` (case-insensitive).
fn roots(metadata: &ArrowReaderMetadata, columns: &[String]) -> ProjectionMask {
    let indices: Vec<usize> = metadata
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, fld)| columns.iter().any(|c| c.eq_ignore_ascii_case(fld.name())))
        .map(|(i, _)| i)
        .collect();
    ProjectionMask::roots(metadata.parquet_schema(), indices)
}

/// True when the file has a top-level column of this name (case-insensitive).
pub fn has_column(metadata: &ArrowReaderMetadata, name: &str) -> bool {
    metadata
        .schema()
        .fields()
        .iter()
        .any(|f| f.name().eq_ignore_ascii_case(name))
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
/// and, with a `predicate`, only the rows it keeps.
pub fn read_row_groups(
    path: &Path,
    metadata: &ArrowReaderMetadata,
    row_groups: Vec<usize>,
    columns: &[String],
    batch_size: usize,
    predicate: Option<RowPredicate>,
) -> Result<Vec<RecordBatch>> {
    let f = open(path)?;
    let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(f, metadata.clone())
        .with_projection(roots(metadata, columns))
        .with_row_groups(row_groups)
        .with_batch_size(batch_size);
    if let Some(RowPredicate { columns, mut eval }) = predicate {
        let p = ArrowPredicateFn::new(roots(metadata, &columns), move |b: RecordBatch| {
            eval(&b).map_err(|e| ArrowError::ComputeError(e.to_string()))
        });
        builder = builder.with_row_filter(RowFilter::new(vec![Box::new(p)]));
    }
    let reader = builder.build().map_err(|e| {
        QuarryError::Data(format!("cannot read parquet file {}: {e}", path.display()))
    })?;
    let mut out = vec![];
    for b in reader {
        out.push(b.map_err(|e| {
            QuarryError::Data(format!("cannot read parquet file {}: {e}", path.display()))
        })?);
    }
    Ok(out)
}

/// Shared footer handle.
pub type Metadata = Arc<ArrowReaderMetadata>;
