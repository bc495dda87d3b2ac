//! Schema adaptation: a batch read from one file -> the table's columns.
//!
//! Columns are matched by name, case-insensitively. A column the file lacks reads as
//! NULL (schema evolution); safe widenings are applied (int -> bigint, int -> double,
//! float -> double, wider decimals, any string/timestamp encoding -> Quarry's);
//! anything else is an error naming the file and the column.

use arrow::array::{new_null_array, ArrayRef};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;

use crate::catalog::ColumnDef;
use crate::error::{QuarryError, Result};
use crate::types::{normalize_type, type_name};

/// Whether values of `from` (as stored in a file) can be read as `to` without loss.
pub fn can_widen(from: &DataType, to: &DataType) -> bool {
    let from = normalize_type(from);
    if &from == to {
        return true;
    }
    use DataType::*;
    match (&from, to) {
        (Int8, Int16 | Int32 | Int64) | (Int16, Int32 | Int64) | (Int32, Int64) => true,
        (Int8 | Int16 | Int32, Float64) | (Float32, Float64) => true,
        (Decimal128(p1, s1), Decimal128(p2, s2)) => {
            s2 >= s1 && (p2 - *s2 as u8) >= (p1 - *s1 as u8)
        }
        (Int8 | Int16 | Int32 | Int64, Decimal128(p, s)) => {
            let need = match from {
                Int8 => 3,
                Int16 => 5,
                Int32 => 10,
                _ => 20,
            };
            (*p as i32 - *s as i32) >= need
        }
        (Null, _) => true,
        (Date32, Timestamp(_, _)) => true,
        _ => false,
    }
}

/// Adapt `batch` (from `path`) to `target` columns, in that order.
pub fn adapt_batch(
    batch: &RecordBatch,
    target: &[ColumnDef],
    path: &super::location::Location,
) -> Result<Vec<ArrayRef>> {
    let schema = batch.schema();
    target
        .iter()
        .map(|col| {
            let idx = schema.fields().iter().position(|f| f.name().eq_ignore_ascii_case(&col.name));
            match idx {
                None => Ok(new_null_array(&col.data_type, batch.num_rows())),
                Some(i) => {
                    let a = batch.column(i);
                    if a.data_type() == &col.data_type {
                        Ok(a.clone())
                    } else if can_widen(a.data_type(), &col.data_type) {
                        Ok(cast(a, &col.data_type)?)
                    } else {
                        Err(QuarryError::Data(format!(
                            "schema mismatch in {}: column `{}` has type {} in the file, but the table declares {}",
                            path,
                            col.name,
                            type_name(&normalize_type(a.data_type())),
                            type_name(&col.data_type)
                        )))
                    }
                }
            }
        })
        .collect()
}
