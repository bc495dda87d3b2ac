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

/// Per-unit (row group, partition) statistics the pruning predicates read.
trait StatsSource {
    /// Smallest and largest values per unit, one array each (NULL: unknown).
    fn min_max(&self, id: ColumnId) -> Option<(ArrayRef, ArrayRef)>;
    /// NULL counts and row counts per unit (UInt64).
    fn nulls(&self, id: ColumnId) -> Option<(ArrayRef, ArrayRef)>;
    /// A literal in the type of the `min_max` arrays.
    fn literal(&self, lit: &ArrayRef, to: &DataType) -> Option<ArrayRef> {
        cast(lit, to).ok()
    }
}

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
}

impl StatsSource for Stats<'_> {
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
fn may_match(e: &Expr, s: &dyn StatsSource) -> Option<BooleanArray> {
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
            let lit = s.literal(&lit.0, mins.data_type())?;
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
    keep_mask(
        md.metadata().num_row_groups(),
        filters,
        &Stats { md, columns },
    )
}

/// Which of `n` units (row groups, partitions) may hold rows matching all `filters`.
fn keep_mask(n: usize, filters: &[Expr], s: &dyn StatsSource) -> Vec<bool> {
    let mut keep = vec![true; n];
    for f in filters {
        if let Some(mask) = may_match(f, s) {
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

/// Stored partition statistics ([`crate::catalog::ColumnRange`] per partition) as a
/// pruning source: ranges compare as doubles (dates in days, timestamps in
/// microseconds), which keeps pruning sound as the conversion to double is monotonic.
struct RangeStats<'a> {
    /// Per partition: rows and, by lower-case column name, the column's range.
    parts: &'a [(
        u64,
        &'a std::collections::BTreeMap<String, crate::catalog::ColumnRange>,
    )],
    columns: &'a HashMap<ColumnId, (String, DataType)>,
}

impl StatsSource for RangeStats<'_> {
    fn min_max(&self, id: ColumnId) -> Option<(ArrayRef, ArrayRef)> {
        let (name, _) = self.columns.get(&id)?;
        let name = name.to_ascii_lowercase();
        let range = |f: fn(&crate::catalog::ColumnRange) -> Option<f64>| -> ArrayRef {
            std::sync::Arc::new(
                self.parts
                    .iter()
                    .map(|(_, cols)| cols.get(&name).and_then(f))
                    .collect::<arrow::array::Float64Array>(),
            )
        };
        Some((range(|r| r.min), range(|r| r.max)))
    }
    fn nulls(&self, id: ColumnId) -> Option<(ArrayRef, ArrayRef)> {
        let (name, _) = self.columns.get(&id)?;
        let name = name.to_ascii_lowercase();
        let nulls: arrow::array::UInt64Array = self
            .parts
            .iter()
            .map(|(_, cols)| cols.get(&name).and_then(|r| r.null_count))
            .collect();
        let rows: arrow::array::UInt64Array = self.parts.iter().map(|(r, _)| Some(*r)).collect();
        Some((std::sync::Arc::new(nulls), std::sync::Arc::new(rows)))
    }
    fn literal(&self, lit: &ArrayRef, _to: &DataType) -> Option<ArrayRef> {
        // a number, date or timestamp as a double; strings and others do not prune
        let t = lit.data_type();
        if !(crate::types::is_numeric(t) || matches!(t, DataType::Date32 | DataType::Timestamp(..)))
        {
            return None;
        }
        crate::optimizer::stats::to_f64_array(lit).map(|a| std::sync::Arc::new(a) as ArrayRef)
    }
}

/// Which partitions may hold rows matching all `filters`, by their stored statistics:
/// `parts` holds per partition its rows and column ranges (see
/// [`crate::catalog::TableStatistics::column_ranges`]); `columns` maps the filters'
/// column ids to (name, type). A partition is dropped only when its ranges prove no row
/// can match.
pub fn prune_partitions(
    parts: &[(
        u64,
        &std::collections::BTreeMap<String, crate::catalog::ColumnRange>,
    )],
    filters: &[Expr],
    columns: &HashMap<ColumnId, (String, DataType)>,
) -> Vec<bool> {
    keep_mask(parts.len(), filters, &RangeStats { parts, columns })
}
