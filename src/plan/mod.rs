//! The logical plan: relational algebra over bound [`Expr`]s.
//!
//! Every node's output is a list of [`Column`]s (`schema()`); expressions refer to
//! their input's columns by id. `Display` prints the indented tree used by EXPLAIN.

pub mod expr;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

pub use expr::{
    AggOrder, AggregateExpr, BinOp, Column, ColumnId, Expr, FrameBound, FrameUnits, SortKey,
    SubqueryKind, WindowExpr, WindowFrame, WindowFunc,
};

use crate::catalog::{ColumnDef, FileFormat, PartitionMeta};
use arrow::datatypes::DataType;

use crate::types::type_name;

/// Where a table's files are.
#[derive(Clone, Debug)]
pub enum SourceFiles {
    /// An unpartitioned table: every visible file under the folder (listed at scan time).
    Folder(String),
    /// A partitioned catalog table: only these registered partitions are read.
    Partitions(Vec<PartitionMeta>),
}

/// A readable table: format, columns and files. Built by the binder from the catalog
/// (or a `parquet.`path``/`USING` view), consumed by the scan planner.
#[derive(Clone, Debug)]
pub struct TableSource {
    /// Name shown in EXPLAIN (`db.table` or the path).
    pub name: String,
    pub format: FileFormat,
    pub options: BTreeMap<String, String>,
    /// Data columns (in files), then partition columns (from folder names).
    pub data_columns: Vec<ColumnDef>,
    pub partition_columns: Vec<ColumnDef>,
    pub files: SourceFiles,
    /// The table's root location (`s3://bucket/prefix` or a local path), shown by EXPLAIN.
    pub location: String,
    /// Statistics from `ANALYZE TABLE` (catalog tables that have them).
    pub statistics: Option<Arc<crate::catalog::TableStatistics>>,
    /// The partitions' stored statistics (partitioned catalog tables): read from the
    /// metastore when a scan has filters on data columns or may keep what it read.
    pub partition_statistics: Option<PartitionStatisticsStore>,
}

/// Statistics rows of a partitioned table, by partition spec (Hive path).
pub type PartitionStatisticsRows = Vec<(String, crate::catalog::TableStatistics)>;

/// A partitioned table's per-partition statistics in the metastore: `load` reads those
/// of the given specs (the ones that have some); `save` (present while
/// `quarry.stats.autogather` is on) keeps the statistics a scan computed from the
/// footers it read, for partitions that had none or stale ones.
#[derive(Clone)]
pub struct PartitionStatisticsStore {
    pub load: Arc<dyn Fn(&[String]) -> crate::error::Result<PartitionStatisticsRows> + Send + Sync>,
    pub save:
        Option<Arc<dyn Fn(PartitionStatisticsRows) -> crate::error::Result<()> + Send + Sync>>,
}

impl std::fmt::Debug for PartitionStatisticsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PartitionStatisticsStore")
    }
}

/// Name of a scan's hidden column that holds each row's file, as `input_file_name()`
/// gives it (a string: `file:///...` for local files, `s3://bucket/key` on S3).
pub const FILE_NAME_COLUMN: &str = "input_file_name()";

/// Name of a scan's hidden row-id column (DuckDB's `rowid` pseudo-column): a BIGINT,
/// each row's 0-based position in the table, its files read in name order (a managed
/// table's files are named in write order), row groups in file order. Offered only for
/// unpartitioned parquet tables (see `Binder::bind_table_name`); a DELETE or UPDATE
/// rewrites the files, so row ids are not stable across writes.
pub const ROW_ID_COLUMN: &str = "rowid";

impl TableSource {
    /// The positions a [`LogicalPlan::Scan`]'s projection refers to: the data columns,
    /// the partition columns, then the hidden file-name column ([`FILE_NAME_COLUMN`], at
    /// [`TableSource::file_name_index`]) and the hidden row-id column ([`ROW_ID_COLUMN`],
    /// at [`TableSource::row_id_index`]), which `SELECT *` does not show.
    pub fn all_columns(&self) -> Vec<ColumnDef> {
        self.table_columns()
            .into_iter()
            .chain([
                ColumnDef::new(
                    FILE_NAME_COLUMN.to_string(),
                    arrow::datatypes::DataType::Utf8,
                ),
                ColumnDef::new(ROW_ID_COLUMN.to_string(), arrow::datatypes::DataType::Int64),
            ])
            .collect()
    }

    /// The table's own columns: data columns, then partition columns.
    pub fn table_columns(&self) -> Vec<ColumnDef> {
        self.data_columns
            .iter()
            .chain(self.partition_columns.iter())
            .cloned()
            .collect()
    }

    /// Position of the hidden file-name column in [`TableSource::all_columns`].
    pub fn file_name_index(&self) -> usize {
        self.data_columns.len() + self.partition_columns.len()
    }

    /// Position of the hidden row-id column in [`TableSource::all_columns`].
    pub fn row_id_index(&self) -> usize {
        self.file_name_index() + 1
    }
}

/// Join types. `LeftSemi`/`LeftAnti` output only the left columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinType {
    Inner,
    Left,
    Right,
    Full,
    LeftSemi,
    LeftAnti,
    Cross,
}

/// Set operations other than UNION ALL (which is [`LogicalPlan::Union`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOpKind {
    Intersect,
    Except,
}

/// What a [`LogicalPlan::Generate`] makes of one value (Spark's generators).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeneratorKind {
    /// `explode(array)`: one row per element (`col`); `explode(map)`: per entry (`key`, `value`).
    Explode,
    /// `posexplode`: as `explode` with the 0-based position first (`pos`).
    PosExplode,
    /// `inline(array<struct>)`: one row per element, one column per struct field.
    Inline,
}

impl GeneratorKind {
    /// The generator for a function name, and whether it is the `_outer` form.
    pub fn lookup(name: &str) -> Option<(GeneratorKind, bool)> {
        Some(match name {
            "explode" => (GeneratorKind::Explode, false),
            "explode_outer" => (GeneratorKind::Explode, true),
            // DuckDB's, PostgreSQL's and DataFusion's name for explode
            "unnest" => (GeneratorKind::Explode, false),
            "posexplode" => (GeneratorKind::PosExplode, false),
            "posexplode_outer" => (GeneratorKind::PosExplode, true),
            "inline" => (GeneratorKind::Inline, false),
            "inline_outer" => (GeneratorKind::Inline, true),
            _ => return None,
        })
    }
    /// The generated columns' default names and types for an argument of type `arg`
    /// (Spark's: `col`, or `key` and `value` for a map; `pos` first for posexplode; the
    /// struct's field names for inline). Errors name the type the generator needs.
    pub fn output_fields(&self, arg: &DataType) -> crate::error::Result<Vec<(String, DataType)>> {
        let bad = |want: &str| {
            crate::error::QuarryError::Analysis(format!(
                "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{}\": the input should be {want}, not {}",
                self.name(),
                type_name(arg)
            ))
        };
        let mut out = vec![];
        if *self == GeneratorKind::PosExplode {
            out.push(("pos".to_string(), DataType::Int32));
        }
        match (self, arg) {
            (GeneratorKind::Inline, DataType::List(f)) => match f.data_type() {
                DataType::Struct(fs) => {
                    out.extend(fs.iter().map(|f| (f.name().clone(), f.data_type().clone())))
                }
                _ => return Err(bad("an array of structs")),
            },
            (GeneratorKind::Inline, DataType::Null) => {}
            (GeneratorKind::Inline, _) => return Err(bad("an array of structs")),
            (_, DataType::List(f)) => out.push(("col".into(), f.data_type().clone())),
            (_, DataType::Null) => out.push(("col".into(), DataType::Null)),
            (_, DataType::Map(..)) => {
                let (k, v) = crate::types::map_key_value(arg).ok_or_else(|| bad("a map"))?;
                out.push(("key".into(), k.clone()));
                out.push(("value".into(), v.clone()));
            }
            _ => return Err(bad("an array or a map")),
        }
        Ok(out)
    }

    pub fn name(&self) -> &'static str {
        match self {
            GeneratorKind::Explode => "explode",
            GeneratorKind::PosExplode => "posexplode",
            GeneratorKind::Inline => "inline",
        }
    }
}

/// A logical plan node.
#[derive(Clone, Debug)]
pub enum LogicalPlan {
    /// Read a table. `columns[i]` is `source.all_columns()[projection[i]]`;
    /// `filters` are predicates pushed into the scan (applied exactly by it).
    Scan {
        source: Arc<TableSource>,
        columns: Vec<Column>,
        projection: Vec<usize>,
        filters: Vec<Expr>,
    },
    /// `range()`: `count` bigints start, start + step, ... in one column.
    Range {
        column: Column,
        start: i64,
        step: i64,
        count: usize,
    },
    /// Constant rows.
    Values {
        columns: Vec<Column>,
        rows: Vec<Vec<Expr>>,
    },
    Filter {
        input: Box<LogicalPlan>,
        predicate: Expr,
    },
    Project {
        input: Box<LogicalPlan>,
        exprs: Vec<(Expr, Column)>,
    },
    Aggregate {
        input: Box<LogicalPlan>,
        group: Vec<(Expr, Column)>,
        aggs: Vec<(AggregateExpr, Column)>,
    },
    /// Equi-join keys `on` (left expr, right expr) plus an optional residual `filter`.
    Join {
        left: Box<LogicalPlan>,
        right: Box<LogicalPlan>,
        join_type: JoinType,
        on: Vec<(Expr, Expr)>,
        filter: Option<Expr>,
    },
    Sort {
        input: Box<LogicalPlan>,
        keys: Vec<SortKey>,
        fetch: Option<usize>,
    },
    Limit {
        input: Box<LogicalPlan>,
        skip: usize,
        fetch: Option<usize>,
    },
    /// GROUPING SETS: each input row once per projection; output = the input's columns
    /// (same ids) followed by `columns` (the projections' values).
    Expand {
        input: Box<LogicalPlan>,
        projections: Vec<Vec<Expr>>,
        columns: Vec<Column>,
    },
    /// A generator (explode, posexplode, inline; `LATERAL VIEW` and generators in the
    /// SELECT list): each input row repeated once per generated row, as the input's
    /// columns (same ids) followed by `columns`. A NULL or empty collection makes no
    /// rows, or with `outer` one row of NULLs.
    Generate {
        input: Box<LogicalPlan>,
        kind: GeneratorKind,
        outer: bool,
        arg: Expr,
        columns: Vec<Column>,
    },
    /// Window functions: the input's columns plus one column per call.
    Window {
        input: Box<LogicalPlan>,
        windows: Vec<(WindowExpr, Column)>,
    },
    /// UNION ALL; `columns` are the output columns (types coerced by the binder).
    Union {
        inputs: Vec<LogicalPlan>,
        columns: Vec<Column>,
    },
    /// INTERSECT / EXCEPT (DISTINCT), null-safe on all columns; output = left's columns.
    SetOp {
        left: Box<LogicalPlan>,
        right: Box<LogicalPlan>,
        kind: SetOpKind,
    },
    /// `WITH RECURSIVE t AS (anchor UNION [ALL] recursive)`: the anchor's rows, then
    /// `recursive` run again and again over the rows the previous round added (its
    /// [`LogicalPlan::WorkTable`] leaves with id `worktable`) until a round adds none.
    /// Both inputs give `columns`' types, by position; `distinct` (UNION) drops rows
    /// seen before.
    RecursiveCte {
        anchor: Box<LogicalPlan>,
        recursive: Box<LogicalPlan>,
        columns: Vec<Column>,
        worktable: usize,
        distinct: bool,
        /// Stop once this many rows are out (a LIMIT above, pushed down).
        fetch: Option<usize>,
    },
    /// The rows the previous round of the [`LogicalPlan::RecursiveCte`] `id` added.
    WorkTable { id: usize, columns: Vec<Column> },
}

impl LogicalPlan {
    /// The scan whose column `id` reaches this plan's output unchanged, and the
    /// column's index among that scan's columns: through filters, projections that pass
    /// the column on (not computed columns), inner joins and the left side of semi
    /// joins, so every output row's value of the column is a value of one scan row.
    /// `None` through anything else (aggregates, outer joins, unions, ...). Join
    /// filters hand a hash table to that scan; join sampling reads it.
    pub fn scan_of_column(&self, id: ColumnId) -> Option<(&LogicalPlan, usize)> {
        match self {
            LogicalPlan::Scan { columns, .. } => {
                columns.iter().position(|c| c.id == id).map(|i| (self, i))
            }
            LogicalPlan::Filter { input, .. } => input.scan_of_column(id),
            LogicalPlan::Project { input, exprs } => match exprs.iter().find(|(_, c)| c.id == id) {
                Some((Expr::Column(c), _)) => input.scan_of_column(c.id),
                _ => None,
            },
            LogicalPlan::Join {
                left,
                right,
                join_type: JoinType::Inner,
                ..
            } => left.scan_of_column(id).or_else(|| right.scan_of_column(id)),
            LogicalPlan::Join {
                left,
                join_type: JoinType::LeftSemi,
                ..
            } => left.scan_of_column(id),
            _ => None,
        }
    }

    /// Output columns.
    pub fn schema(&self) -> Vec<Column> {
        match self {
            LogicalPlan::Scan { columns, .. }
            | LogicalPlan::Values { columns, .. }
            | LogicalPlan::Union { columns, .. }
            | LogicalPlan::RecursiveCte { columns, .. }
            | LogicalPlan::WorkTable { columns, .. } => columns.clone(),
            LogicalPlan::Range { column, .. } => vec![column.clone()],
            LogicalPlan::Filter { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::Limit { input, .. } => input.schema(),
            LogicalPlan::Project { exprs, .. } => exprs.iter().map(|(_, c)| c.clone()).collect(),
            LogicalPlan::Aggregate { group, aggs, .. } => group
                .iter()
                .map(|(_, c)| c.clone())
                .chain(aggs.iter().map(|(_, c)| c.clone()))
                .collect(),
            LogicalPlan::Join {
                left,
                right,
                join_type,
                ..
            } => match join_type {
                JoinType::LeftSemi | JoinType::LeftAnti => left.schema(),
                JoinType::Left => left
                    .schema()
                    .into_iter()
                    .chain(right.schema().into_iter().map(nullable))
                    .collect(),
                JoinType::Right => left
                    .schema()
                    .into_iter()
                    .map(nullable)
                    .chain(right.schema())
                    .collect(),
                JoinType::Full => left
                    .schema()
                    .into_iter()
                    .chain(right.schema())
                    .map(nullable)
                    .collect(),
                _ => left.schema().into_iter().chain(right.schema()).collect(),
            },
            LogicalPlan::SetOp { left, .. } => left.schema(),
            LogicalPlan::Window { input, windows } => input
                .schema()
                .into_iter()
                .chain(windows.iter().map(|(_, c)| c.clone()))
                .collect(),
            LogicalPlan::Expand { input, columns, .. }
            | LogicalPlan::Generate { input, columns, .. } => input
                .schema()
                .into_iter()
                .chain(columns.iter().cloned())
                .collect(),
        }
    }

    /// Direct inputs.
    pub fn inputs(&self) -> Vec<&LogicalPlan> {
        match self {
            LogicalPlan::Scan { .. }
            | LogicalPlan::Values { .. }
            | LogicalPlan::Range { .. }
            | LogicalPlan::WorkTable { .. } => vec![],
            LogicalPlan::Filter { input, .. }
            | LogicalPlan::Project { input, .. }
            | LogicalPlan::Aggregate { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::Limit { input, .. }
            | LogicalPlan::Window { input, .. }
            | LogicalPlan::Expand { input, .. }
            | LogicalPlan::Generate { input, .. } => vec![input],
            LogicalPlan::Join { left, right, .. } | LogicalPlan::SetOp { left, right, .. } => {
                vec![left, right]
            }
            LogicalPlan::RecursiveCte {
                anchor, recursive, ..
            } => vec![anchor, recursive],
            LogicalPlan::Union { inputs, .. } => inputs.iter().collect(),
        }
    }

    /// Rebuild this node with `f` applied to each direct input.
    pub fn map_inputs(
        self,
        f: &mut dyn FnMut(LogicalPlan) -> crate::error::Result<LogicalPlan>,
    ) -> crate::error::Result<LogicalPlan> {
        let mut b = |p: Box<LogicalPlan>| -> crate::error::Result<Box<LogicalPlan>> {
            Ok(Box::new(f(*p)?))
        };
        Ok(match self {
            p @ (LogicalPlan::Scan { .. }
            | LogicalPlan::Values { .. }
            | LogicalPlan::Range { .. }
            | LogicalPlan::WorkTable { .. }) => p,
            LogicalPlan::Filter { input, predicate } => LogicalPlan::Filter {
                input: b(input)?,
                predicate,
            },
            LogicalPlan::Project { input, exprs } => LogicalPlan::Project {
                input: b(input)?,
                exprs,
            },
            LogicalPlan::Aggregate { input, group, aggs } => LogicalPlan::Aggregate {
                input: b(input)?,
                group,
                aggs,
            },
            LogicalPlan::Join {
                left,
                right,
                join_type,
                on,
                filter,
            } => LogicalPlan::Join {
                left: b(left)?,
                right: b(right)?,
                join_type,
                on,
                filter,
            },
            LogicalPlan::Sort { input, keys, fetch } => LogicalPlan::Sort {
                input: b(input)?,
                keys,
                fetch,
            },
            LogicalPlan::Limit { input, skip, fetch } => LogicalPlan::Limit {
                input: b(input)?,
                skip,
                fetch,
            },
            LogicalPlan::Window { input, windows } => LogicalPlan::Window {
                input: b(input)?,
                windows,
            },
            LogicalPlan::Expand {
                input,
                projections,
                columns,
            } => LogicalPlan::Expand {
                input: b(input)?,
                projections,
                columns,
            },
            LogicalPlan::Generate {
                input,
                kind,
                outer,
                arg,
                columns,
            } => LogicalPlan::Generate {
                input: b(input)?,
                kind,
                outer,
                arg,
                columns,
            },
            LogicalPlan::Union { inputs, columns } => LogicalPlan::Union {
                inputs: inputs
                    .into_iter()
                    .map(&mut *f)
                    .collect::<crate::error::Result<_>>()?,
                columns,
            },
            LogicalPlan::SetOp { left, right, kind } => LogicalPlan::SetOp {
                left: b(left)?,
                right: b(right)?,
                kind,
            },
            LogicalPlan::RecursiveCte {
                anchor,
                recursive,
                columns,
                worktable,
                distinct,
                fetch,
            } => LogicalPlan::RecursiveCte {
                anchor: b(anchor)?,
                recursive: b(recursive)?,
                columns,
                worktable,
                distinct,
                fetch,
            },
        })
    }

    /// Whether this node is an inner or cross join (the joins that reorder freely).
    pub fn is_inner_join(&self) -> bool {
        matches!(
            self,
            LogicalPlan::Join {
                join_type: JoinType::Inner | JoinType::Cross,
                ..
            }
        )
    }

    /// Rebuild this node (not its inputs) with `f` applied to each expression it holds:
    /// the same expressions [`LogicalPlan::exprs`] lists, in place.
    pub fn map_exprs(self, f: &mut dyn FnMut(Expr) -> Expr) -> LogicalPlan {
        fn m(v: Vec<Expr>, f: &mut dyn FnMut(Expr) -> Expr) -> Vec<Expr> {
            v.into_iter().map(f).collect()
        }
        fn keys(v: Vec<SortKey>, f: &mut dyn FnMut(Expr) -> Expr) -> Vec<SortKey> {
            v.into_iter()
                .map(|mut k| {
                    k.expr = f(k.expr);
                    k
                })
                .collect()
        }
        match self {
            LogicalPlan::Scan {
                source,
                columns,
                projection,
                filters,
            } => LogicalPlan::Scan {
                source,
                columns,
                projection,
                filters: m(filters, f),
            },
            LogicalPlan::Values { columns, rows } => LogicalPlan::Values {
                columns,
                rows: rows.into_iter().map(|r| m(r, f)).collect(),
            },
            LogicalPlan::Filter { input, predicate } => LogicalPlan::Filter {
                input,
                predicate: f(predicate),
            },
            LogicalPlan::Project { input, exprs } => LogicalPlan::Project {
                input,
                exprs: exprs.into_iter().map(|(e, c)| (f(e), c)).collect(),
            },
            LogicalPlan::Aggregate { input, group, aggs } => LogicalPlan::Aggregate {
                input,
                group: group.into_iter().map(|(e, c)| (f(e), c)).collect(),
                aggs: aggs
                    .into_iter()
                    .map(|(mut a, c)| {
                        a.args = m(a.args, f);
                        (a, c)
                    })
                    .collect(),
            },
            LogicalPlan::Join {
                left,
                right,
                join_type,
                on,
                filter,
            } => LogicalPlan::Join {
                left,
                right,
                join_type,
                on: on.into_iter().map(|(l, r)| (f(l), f(r))).collect(),
                filter: filter.map(&mut *f),
            },
            LogicalPlan::Sort {
                input,
                keys: k,
                fetch,
            } => LogicalPlan::Sort {
                input,
                keys: keys(k, f),
                fetch,
            },
            LogicalPlan::Window { input, windows } => LogicalPlan::Window {
                input,
                windows: windows
                    .into_iter()
                    .map(|(mut w, c)| {
                        w.args = m(w.args, f);
                        w.partition_by = m(w.partition_by, f);
                        w.order_by = keys(w.order_by, f);
                        w.arg_order = keys(w.arg_order, f);
                        (w, c)
                    })
                    .collect(),
            },
            LogicalPlan::Expand {
                input,
                projections,
                columns,
            } => LogicalPlan::Expand {
                input,
                projections: projections.into_iter().map(|r| m(r, f)).collect(),
                columns,
            },
            LogicalPlan::Generate {
                input,
                kind,
                outer,
                arg,
                columns,
            } => LogicalPlan::Generate {
                input,
                kind,
                outer,
                arg: f(arg),
                columns,
            },
            p @ (LogicalPlan::Range { .. }
            | LogicalPlan::Limit { .. }
            | LogicalPlan::Union { .. }
            | LogicalPlan::SetOp { .. }
            | LogicalPlan::RecursiveCte { .. }
            | LogicalPlan::WorkTable { .. }) => p,
        }
    }

    /// Rebuild this node (not its inputs) with `f` applied to each output column it
    /// defines (a scan's columns, a projection's or aggregate's outputs, generated and
    /// window columns); columns passed through from an input are not visited.
    pub fn map_defined_columns(self, f: &mut dyn FnMut(Column) -> Column) -> LogicalPlan {
        fn m(v: Vec<Column>, f: &mut dyn FnMut(Column) -> Column) -> Vec<Column> {
            v.into_iter().map(f).collect()
        }
        fn pairs<T>(v: Vec<(T, Column)>, f: &mut dyn FnMut(Column) -> Column) -> Vec<(T, Column)> {
            v.into_iter().map(|(e, c)| (e, f(c))).collect()
        }
        match self {
            LogicalPlan::Scan {
                source,
                columns,
                projection,
                filters,
            } => LogicalPlan::Scan {
                source,
                columns: m(columns, f),
                projection,
                filters,
            },
            LogicalPlan::Range {
                column,
                start,
                step,
                count,
            } => LogicalPlan::Range {
                column: f(column),
                start,
                step,
                count,
            },
            LogicalPlan::Values { columns, rows } => LogicalPlan::Values {
                columns: m(columns, f),
                rows,
            },
            LogicalPlan::Project { input, exprs } => LogicalPlan::Project {
                input,
                exprs: pairs(exprs, f),
            },
            LogicalPlan::Aggregate { input, group, aggs } => LogicalPlan::Aggregate {
                input,
                group: pairs(group, f),
                aggs: pairs(aggs, f),
            },
            LogicalPlan::Expand {
                input,
                projections,
                columns,
            } => LogicalPlan::Expand {
                input,
                projections,
                columns: m(columns, f),
            },
            LogicalPlan::Generate {
                input,
                kind,
                outer,
                arg,
                columns,
            } => LogicalPlan::Generate {
                input,
                kind,
                outer,
                arg,
                columns: m(columns, f),
            },
            LogicalPlan::Window { input, windows } => LogicalPlan::Window {
                input,
                windows: pairs(windows, f),
            },
            LogicalPlan::Union { inputs, columns } => LogicalPlan::Union {
                inputs,
                columns: m(columns, f),
            },
            LogicalPlan::RecursiveCte {
                anchor,
                recursive,
                columns,
                worktable,
                distinct,
                fetch,
            } => LogicalPlan::RecursiveCte {
                anchor,
                recursive,
                columns: m(columns, f),
                worktable,
                distinct,
                fetch,
            },
            LogicalPlan::WorkTable { id, columns } => LogicalPlan::WorkTable {
                id,
                columns: m(columns, f),
            },
            p @ (LogicalPlan::Filter { .. }
            | LogicalPlan::Join { .. }
            | LogicalPlan::Sort { .. }
            | LogicalPlan::Limit { .. }
            | LogicalPlan::SetOp { .. }) => p,
        }
    }

    /// Expressions held by this node (not its inputs').
    pub fn exprs(&self) -> Vec<&Expr> {
        match self {
            LogicalPlan::Scan { filters, .. } => filters.iter().collect(),
            LogicalPlan::Values { rows, .. } => rows.iter().flatten().collect(),
            LogicalPlan::Filter { predicate, .. } => vec![predicate],
            LogicalPlan::Project { exprs, .. } => exprs.iter().map(|(e, _)| e).collect(),
            LogicalPlan::Aggregate { group, aggs, .. } => group
                .iter()
                .map(|(e, _)| e)
                .chain(aggs.iter().flat_map(|(a, _)| a.args.iter()))
                .collect(),
            LogicalPlan::Join { on, filter, .. } => on
                .iter()
                .flat_map(|(l, r)| [l, r])
                .chain(filter.iter())
                .collect(),
            LogicalPlan::Sort { keys, .. } => keys.iter().map(|k| &k.expr).collect(),
            LogicalPlan::Window { windows, .. } => windows
                .iter()
                .flat_map(|(w, _)| {
                    w.args
                        .iter()
                        .chain(w.partition_by.iter())
                        .chain(w.order_by.iter().map(|k| &k.expr))
                        .chain(w.arg_order.iter().map(|k| &k.expr))
                })
                .collect(),
            LogicalPlan::Expand { projections, .. } => projections.iter().flatten().collect(),
            LogicalPlan::Generate { arg, .. } => vec![arg],
            LogicalPlan::Range { .. }
            | LogicalPlan::Limit { .. }
            | LogicalPlan::Union { .. }
            | LogicalPlan::SetOp { .. }
            | LogicalPlan::RecursiveCte { .. }
            | LogicalPlan::WorkTable { .. } => vec![],
        }
    }

    /// Columns referenced in this plan (or its subqueries) that no node of it produces:
    /// the references of a correlated subquery to its enclosing query.
    pub fn free_columns(&self) -> std::collections::HashSet<ColumnId> {
        let mut produced = std::collections::HashSet::new();
        let mut used = std::collections::HashSet::new();
        fn walk(
            p: &LogicalPlan,
            produced: &mut std::collections::HashSet<ColumnId>,
            used: &mut std::collections::HashSet<ColumnId>,
        ) {
            produced.extend(p.schema().iter().map(|c| c.id));
            if let LogicalPlan::Scan { columns, .. } = p {
                produced.extend(columns.iter().map(|c| c.id));
            }
            for e in p.exprs() {
                e.visit(&mut |x| match x {
                    Expr::Column(c) => {
                        used.insert(c.id);
                    }
                    Expr::Subquery { plan, .. } => used.extend(plan.free_columns()),
                    _ => {}
                });
            }
            for i in p.inputs() {
                walk(i, produced, used);
            }
        }
        walk(self, &mut produced, &mut used);
        used.retain(|c| !produced.contains(c));
        used
    }

    fn line(&self) -> String {
        let exprs = |v: &[Expr]| {
            v.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            LogicalPlan::Scan {
                source,
                columns,
                filters,
                ..
            } => {
                let cols: Vec<String> = columns
                    .iter()
                    .map(|c| format!("{}#{}", c.name, c.id))
                    .collect();
                let mut s = format!(
                    "Scan {} [{}] format={}",
                    source.name,
                    cols.join(", "),
                    source.format.name()
                );
                if !filters.is_empty() {
                    s.push_str(&format!(" filters=[{}]", exprs(filters)));
                }
                s
            }
            LogicalPlan::Values { columns, rows } => {
                format!("Values rows={} columns={}", rows.len(), columns.len())
            }
            LogicalPlan::Range {
                column,
                start,
                step,
                count,
            } => format!(
                "Range {}#{} start={start} step={step} rows={count}",
                column.name, column.id
            ),
            LogicalPlan::Filter { predicate, .. } => format!("Filter {predicate}"),
            LogicalPlan::Project { exprs: e, .. } => {
                let items: Vec<String> = e
                    .iter()
                    .map(|(e, c)| format!("{e} AS {}#{}", c.name, c.id))
                    .collect();
                format!("Project [{}]", items.join(", "))
            }
            LogicalPlan::Aggregate { group, aggs, .. } => {
                let g: Vec<String> = group.iter().map(|(e, _)| e.to_string()).collect();
                let a: Vec<String> = aggs
                    .iter()
                    .map(|(e, c)| format!("{e} AS {}#{}", c.name, c.id))
                    .collect();
                format!("Aggregate group=[{}] aggs=[{}]", g.join(", "), a.join(", "))
            }
            LogicalPlan::Join {
                join_type,
                on,
                filter,
                ..
            } => {
                let keys: Vec<String> = on.iter().map(|(l, r)| format!("{l} = {r}")).collect();
                let mut s = format!("Join {:?} on=[{}]", join_type, keys.join(", "));
                if let Some(f) = filter {
                    s.push_str(&format!(" filter={f}"));
                }
                s
            }
            LogicalPlan::Sort { keys, fetch, .. } => {
                let k: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
                match fetch {
                    Some(n) => format!("Sort [{}] fetch={n}", k.join(", ")),
                    None => format!("Sort [{}]", k.join(", ")),
                }
            }
            LogicalPlan::Limit { skip, fetch, .. } => format!(
                "Limit skip={skip} fetch={}",
                fetch.map(|f| f.to_string()).unwrap_or("all".into())
            ),
            LogicalPlan::Union { columns, .. } => format!(
                "Union [{}]",
                columns
                    .iter()
                    .map(|c| format!("{}:{}", c.name, type_name(&c.data_type)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            LogicalPlan::SetOp { kind, .. } => format!("{kind:?}"),
            LogicalPlan::RecursiveCte {
                columns,
                worktable,
                distinct,
                fetch,
                ..
            } => format!(
                "RecursiveCte worktable={worktable} {}{} [{}]",
                if *distinct { "UNION" } else { "UNION ALL" },
                fetch.map(|n| format!(" fetch={n}")).unwrap_or_default(),
                columns
                    .iter()
                    .map(|c| format!("{}#{}", c.name, c.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            LogicalPlan::WorkTable { id, columns } => format!(
                "WorkTable {id} [{}]",
                columns
                    .iter()
                    .map(|c| format!("{}#{}", c.name, c.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            LogicalPlan::Expand {
                projections,
                columns,
                ..
            } => {
                format!(
                    "Expand sets={} [{}]",
                    projections.len(),
                    columns
                        .iter()
                        .map(|c| format!("{}#{}", c.name, c.id))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            LogicalPlan::Generate {
                kind,
                outer,
                arg,
                columns,
                ..
            } => format!(
                "Generate {}{}({arg}) [{}]",
                kind.name(),
                if *outer { "_outer" } else { "" },
                columns
                    .iter()
                    .map(|c| format!("{}#{}", c.name, c.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            LogicalPlan::Window { windows, .. } => {
                let w: Vec<String> = windows
                    .iter()
                    .map(|(e, c)| format!("{e} AS {}#{}", c.name, c.id))
                    .collect();
                format!("Window [{}]", w.join(", "))
            }
        }
    }

    /// The EXPLAIN tree with `note(node)` appended to each node's line; inputs are
    /// visited (and noted) before the node itself.
    pub fn display_with(&self, note: &mut dyn FnMut(&LogicalPlan) -> String) -> String {
        fn go(
            p: &LogicalPlan,
            depth: usize,
            note: &mut dyn FnMut(&LogicalPlan) -> String,
        ) -> String {
            let below: Vec<String> = p
                .inputs()
                .into_iter()
                .map(|i| go(i, depth + 1, note))
                .collect();
            let mut s = format!("{}{}{}\n", "  ".repeat(depth), p.line(), note(p));
            for b in below {
                s.push_str(&b);
            }
            s
        }
        go(self, 0, note)
    }

    fn fmt_indent(&self, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
        writeln!(f, "{}{}", "  ".repeat(depth), self.line())?;
        for i in self.inputs() {
            i.fmt_indent(f, depth + 1)?;
        }
        Ok(())
    }
}

fn nullable(mut c: Column) -> Column {
    c.nullable = true;
    c
}

impl fmt::Display for LogicalPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_indent(f, 0)
    }
}
