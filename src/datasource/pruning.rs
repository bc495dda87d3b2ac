//! Row-group pruning with parquet min/max/null-count statistics.
//!
//! Predicates of the form `column <op> literal`, `IS [NOT] NULL`, `IN (literals)` and
//! their AND/OR combinations are evaluated over the row groups' statistics (vectorized,
//! one arrow array per statistic). A row group is skipped only when the statistics prove
//! no row can match; anything not understood keeps the row group.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, BooleanArray, Scalar};
use arrow::compute::kernels::cmp;
use arrow::compute::{and_kleene, cast, not, or_kleene};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::ArrowReaderMetadata;

use crate::plan::{BinOp, ColumnId, Expr};

struct Stats<'a> {
    md: &'a ArrowReaderMetadata,
    /// table column id -> (column name in the file, table type)
    columns: &'a HashMap<ColumnId, (String, DataType)>,
}

impl Stats<'_> {
    fn converter(&self, id: ColumnId) -> Option<(StatisticsConverter<'_>, DataType)> {
        let (name, dt) = self.columns.get(&id)?;
        let schema = self.md.schema();
        let file_name = schema
            .fields()
            .iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))?
            .name()
            .clone();
        let conv =
            StatisticsConverter::try_new(&file_name, schema, self.md.parquet_schema()).ok()?;
        Some((conv, dt.clone()))
    }
    fn min_max(&self, id: ColumnId) -> Option<(ArrayRef, ArrayRef)> {
        let (conv, dt) = self.converter(id)?;
        let rgs = self.md.metadata().row_groups();
        let mins = conv.row_group_mins(rgs.iter()).ok()?;
        let maxes = conv.row_group_maxes(rgs.iter()).ok()?;
        Some((cast(&mins, &dt).ok()?, cast(&maxes, &dt).ok()?))
    }
    fn nulls(&self, id: ColumnId) -> Option<(ArrayRef, ArrayRef)> {
        let (conv, _) = self.converter(id)?;
        let rgs = self.md.metadata().row_groups();
        let nulls: ArrayRef = std::sync::Arc::new(conv.row_group_null_counts(rgs.iter()).ok()?);
        let rows: ArrayRef = std::sync::Arc::new(conv.row_group_row_counts(rgs.iter()).ok()??);
        Some((nulls, rows))
    }
}

/// `Some(mask)`: a row group may match where the mask is true or NULL. `None`: unknown.
fn may_match(e: &Expr, s: &Stats) -> Option<BooleanArray> {
    match e {
        Expr::Binary {
            op: BinOp::And,
            left,
            right,
            ..
        } => match (may_match(left, s), may_match(right, s)) {
            (Some(a), Some(b)) => and_kleene(&a, &b).ok(),
            (Some(a), None) | (None, Some(a)) => Some(a),
            (None, None) => None,
        },
        Expr::Binary {
            op: BinOp::Or,
            left,
            right,
            ..
        } => {
            let (a, b) = (may_match(left, s)?, may_match(right, s)?);
            or_kleene(&a, &b).ok()
        }
        Expr::Binary {
            op, left, right, ..
        } if op.is_comparison() && *op != BinOp::NullSafeEq => {
            let (id, lit, op) = match (left.as_ref(), right.as_ref()) {
                (Expr::Column(c), Expr::Literal(v)) => (c.id, v, *op),
                (Expr::Literal(v), Expr::Column(c)) => (c.id, v, op.swap()),
                _ => return None,
            };
            if lit.is_null() {
                return None;
            }
            let (mins, maxes) = s.min_max(id)?;
            let lit = cast(&lit.0, mins.data_type()).ok()?;
            let lit = Scalar::new(lit);
            let r = match op {
                BinOp::Eq => and_kleene(
                    &cmp::lt_eq(&mins, &lit).ok()?,
                    &cmp::gt_eq(&maxes, &lit).ok()?,
                )
                .ok()?,
                BinOp::NotEq => not(&and_kleene(
                    &cmp::eq(&mins, &lit).ok()?,
                    &cmp::eq(&maxes, &lit).ok()?,
                )
                .ok()?)
                .ok()?,
                BinOp::Lt => cmp::lt(&mins, &lit).ok()?,
                BinOp::LtEq => cmp::lt_eq(&mins, &lit).ok()?,
                BinOp::Gt => cmp::gt(&maxes, &lit).ok()?,
                BinOp::GtEq => cmp::gt_eq(&maxes, &lit).ok()?,
                _ => return None,
            };
            Some(r)
        }
        Expr::InList {
            expr,
            list,
            negated: false,
        } => {
            let mut acc: Option<BooleanArray> = None;
            for item in list {
                let eq = Expr::binary(BinOp::Eq, (**expr).clone(), item.clone(), DataType::Boolean);
                let m = may_match(&eq, s)?;
                acc = Some(match acc {
                    None => m,
                    Some(a) => or_kleene(&a, &m).ok()?,
                });
            }
            acc
        }
        Expr::IsNull(inner) => {
            let Expr::Column(c) = inner.as_ref() else {
                return None;
            };
            let (nulls, _) = s.nulls(c.id)?;
            cmp::gt(
                &nulls,
                &Scalar::new(arrow::array::UInt64Array::from(vec![0u64])),
            )
            .ok()
        }
        Expr::IsNotNull(inner) => {
            let Expr::Column(c) = inner.as_ref() else {
                return None;
            };
            let (nulls, rows) = s.nulls(c.id)?;
            cmp::lt(&nulls, &rows).ok()
        }
        _ => None,
    }
}

/// Which row groups of a file may contain rows matching all `filters`.
pub fn prune_row_groups(
    md: &ArrowReaderMetadata,
    filters: &[Expr],
    columns: &HashMap<ColumnId, (String, DataType)>,
) -> Vec<bool> {
    let n = md.metadata().num_row_groups();
    let mut keep = vec![true; n];
    let s = Stats { md, columns };
    for f in filters {
        if let Some(mask) = may_match(f, &s) {
            if mask.len() != n {
                continue;
            }
            for (i, k) in keep.iter_mut().enumerate() {
                if mask.is_valid(i) && !mask.value(i) {
                    *k = false;
                }
            }
        }
    }
    keep
}
