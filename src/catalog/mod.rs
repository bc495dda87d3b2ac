//! The catalog: databases, tables, views and partitions, persisted in a metastore.
//!
//! Names are case-insensitive, as in Spark and Hive: database and table names are
//! stored lower-case, column names in the case they were declared or inferred with
//! (Spark keeps it; Hive lower-cases them), and matched ignoring case. The default
//! database is `default`. Managed tables live under the warehouse folder
//! (`<home>/warehouse/<db>.db/<table>`; the `default` database directly under the warehouse).

pub mod definitions;
pub mod hive;
pub mod lake;
pub mod metastore;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::DataType;
use serde::{Deserialize, Serialize};

use crate::error::{QuarryError, Result};
pub use metastore::{Metastore, SqliteMetastore};

/// Storage format of a table's files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileFormat {
    Parquet,
    Csv,
    Json,
}

impl FileFormat {
    /// Parse `parquet`, `csv`, `textfile`, `json`, ... (Spark `USING` / Hive `STORED AS`).
    pub fn parse(s: &str) -> Result<FileFormat> {
        match s.to_ascii_lowercase().as_str() {
            "parquet" => Ok(FileFormat::Parquet),
            "csv" | "textfile" | "text" => Ok(FileFormat::Csv),
            "json" | "jsonfile" => Ok(FileFormat::Json),
            other => Err(QuarryError::NotSupported(format!(
                "file format '{other}' (supported: parquet, csv, json)"
            ))),
        }
    }
    pub fn name(&self) -> &'static str {
        match self {
            FileFormat::Parquet => "parquet",
            FileFormat::Csv => "csv",
            FileFormat::Json => "json",
        }
    }
}

/// Whether a table owns its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TableKind {
    /// Data lives at a user's location and is never deleted by DROP TABLE.
    External,
    /// Data lives in the warehouse and is deleted with the table.
    Managed,
    /// A persisted view (SQL text).
    View,
}

/// A column: name (in its declared case; compare with `eq_ignore_ascii_case`), type
/// (stored in the metastore by Spark type name), default and nullability.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub data_type: DataType,
    /// `DEFAULT expr` (Spark 3.4's column defaults): the expression's SQL text, a
    /// constant; what INSERT gives a column it leaves out, and `DEFAULT` in INSERT's
    /// VALUES and UPDATE's SET. `None`: NULL.
    pub default: Option<String>,
    /// False for a column declared `NOT NULL`: writes (INSERT, UPDATE) of a NULL to it
    /// are errors.
    pub nullable: bool,
    /// `GENERATED ALWAYS AS (expr)` (Delta's generated columns; DuckDB's `c AS (expr)`):
    /// the expression's SQL text over the table's other columns. Every
    /// write (INSERT, UPDATE) computes and stores it; no write may give it a value.
    pub generated: Option<String>,
    /// `COMMENT '...'`: what DESCRIBE shows in its comment column.
    pub comment: Option<String>,
    /// A string column declared `CHAR(n)` or `VARCHAR(n)`: writes check (and pad) its
    /// values, reads pad CHAR values (see [`crate::types::CharVarchar`]).
    pub char_varchar: Option<crate::types::CharVarchar>,
}

impl ColumnDef {
    /// A column without a default that may hold NULL (one read from a file, a query's
    /// or a partition's).
    pub fn new(name: impl Into<String>, data_type: DataType) -> Self {
        ColumnDef {
            name: name.into(),
            data_type,
            default: None,
            nullable: true,
            generated: None,
            comment: None,
            char_varchar: None,
        }
    }

    /// The column's type as Spark names it: `char(5)`/`varchar(10)` for a column
    /// declared so, else the type's name.
    pub fn type_text(&self) -> String {
        match self.char_varchar {
            Some(cv) => cv.name(),
            None => crate::types::type_name(&self.data_type),
        }
    }
}

/// Everything the metastore knows about one table or view.
#[derive(Clone, Debug)]
pub struct TableMeta {
    pub database: String,
    pub name: String,
    pub kind: TableKind,
    pub format: FileFormat,
    /// Root folder of the data (absolute path); empty for views.
    pub location: String,
    /// Data columns, in order.
    pub columns: Vec<ColumnDef>,
    /// Partition columns, in order; they follow the data columns in the table schema.
    pub partition_columns: Vec<ColumnDef>,
    /// Reader options (`header`, `delimiter`, ...), keys lower-case: OPTIONS, ROW FORMAT
    /// and SERDEPROPERTIES (for tables created before [`TableMeta::properties`] was
    /// kept, TBLPROPERTIES too).
    pub options: BTreeMap<String, String>,
    /// Table properties (`TBLPROPERTIES`, `ALTER TABLE ... SET TBLPROPERTIES`), keys as
    /// written: what `SHOW TBLPROPERTIES` lists. Readers see them through
    /// [`TableMeta::reader_options`].
    pub properties: BTreeMap<String, String>,
    /// For views: the SQL text of the query.
    pub view_sql: Option<String>,
    /// Creation time, seconds since the epoch.
    pub created: i64,
}

impl TableMeta {
    /// Data columns then partition columns.
    pub fn all_columns(&self) -> Vec<ColumnDef> {
        self.columns
            .iter()
            .chain(self.partition_columns.iter())
            .cloned()
            .collect()
    }
    /// The options a reader of the table's files gets: [`TableMeta::options`], then
    /// table properties under lower-case keys that the options do not give, with Hive's
    /// `skip.header.line.count` (> 0) read as `header = true` and the table's comment
    /// left out.
    pub fn reader_options(&self) -> BTreeMap<String, String> {
        reader_options(&self.options, &self.properties)
    }
    /// The table's `COMMENT '...'` (kept as a property, see
    /// [`crate::parser::TABLE_COMMENT`]).
    pub fn comment(&self) -> Option<&String> {
        self.properties.get(crate::parser::TABLE_COMMENT)
    }
    /// The properties SHOW TBLPROPERTIES and DESCRIBE list: all but the comment, which
    /// Spark keeps apart.
    pub fn shown_properties(&self) -> BTreeMap<String, String> {
        let mut p = self.properties.clone();
        p.remove(crate::parser::TABLE_COMMENT);
        p
    }
    pub fn is_partitioned(&self) -> bool {
        !self.partition_columns.is_empty()
    }
    /// The partition columns' names, in order (the keys of its partition folders).
    pub fn partition_keys(&self) -> Vec<String> {
        self.partition_columns
            .iter()
            .map(|c| c.name.clone())
            .collect()
    }
}

/// The options a reader of a table's files gets (see [`TableMeta::reader_options`]).
pub fn reader_options(
    options: &BTreeMap<String, String>,
    properties: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = options.clone();
    for (k, v) in properties {
        let k = k.to_ascii_lowercase();
        if k == crate::parser::TABLE_COMMENT {
            // the table's comment, not a reader's option (CSV's `comment` is one)
            continue;
        }
        if k == "skip.header.line.count" {
            if v.trim() != "0" {
                out.entry("header".into()).or_insert_with(|| "true".into());
            }
        } else {
            out.entry(k).or_insert_with(|| v.clone());
        }
    }
    out
}

/// Statistics computed by `ANALYZE TABLE` (Spark's `CatalogStatistics`), kept in the
/// metastore per table and per partition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TableStatistics {
    /// Total bytes of the data files.
    pub size_bytes: u64,
    /// Rows; `None` after `NOSCAN`.
    pub rows: Option<u64>,
    /// Column statistics by lower-case column name (`FOR COLUMNS` / `FOR ALL COLUMNS`).
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnStatisticsMeta>,
    /// Data files counted (Hive's `numFiles`); `None` where not gathered.
    #[serde(default)]
    pub files: Option<u64>,
    /// Per data column (lower-case name), what the parquet footers say: NULL count and
    /// value range. Gathered for a partition when MSCK REPAIR TABLE or ADD PARTITION
    /// registers it and by REFRESH TABLE (Hive's `hive.stats.autogather`).
    #[serde(default)]
    pub column_ranges: BTreeMap<String, ColumnRange>,
}

/// A column's NULL count and value range from parquet footers (all row groups).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ColumnRange {
    /// `None` when a file did not say.
    pub null_count: Option<u64>,
    /// Smallest / largest value as a number (dates in days, timestamps in
    /// microseconds); `None` for strings and other types without a numeric order, or
    /// when a file or row group has no statistics.
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// One column's statistics, as Spark's `DESCRIBE EXTENDED t col` shows them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ColumnStatisticsMeta {
    /// Distinct non-NULL values (HyperLogLog++ estimate).
    pub distinct_count: u64,
    pub null_count: u64,
    /// Smallest / largest value as Spark prints it; `None` for types without an order
    /// Spark keeps (strings, binary) or an all-NULL column.
    pub min: Option<String>,
    pub max: Option<String>,
    /// The same as numbers (dates in days, timestamps in microseconds), for estimates.
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    /// Average and largest value length in bytes (Spark: the type's size for fixed-width
    /// types, the UTF-8 length for strings).
    pub avg_len: u64,
    pub max_len: u64,
    /// Equi-height histogram bucket bounds (numeric, date and timestamp columns).
    pub histogram: Option<Vec<f64>>,
}

/// One registered partition: a value per partition column (raw text, `None` = NULL)
/// and the folder holding its files.
#[derive(Clone, Debug, PartialEq)]
pub struct PartitionMeta {
    pub values: Vec<Option<String>>,
    pub location: String,
}

/// The catalog facade used by the session: a metastore, the warehouse folder, and the
/// storage that reads and lists the tables' locations.
pub struct Catalog {
    pub metastore: Arc<dyn Metastore>,
    pub warehouse: PathBuf,
    pub storage: Arc<crate::datasource::Storage>,
}

impl Catalog {
    /// Open (creating if needed) the catalog under `home`: `home/metastore.db` and `home/warehouse`.
    pub fn open(home: &Path) -> Result<Catalog> {
        std::fs::create_dir_all(home).map_err(|e| {
            QuarryError::Catalog(format!(
                "cannot create home directory {}: {e}",
                home.display()
            ))
        })?;
        let warehouse = home.join("warehouse");
        std::fs::create_dir_all(&warehouse).map_err(|e| {
            QuarryError::Catalog(format!(
                "cannot create warehouse {}: {e}",
                warehouse.display()
            ))
        })?;
        let metastore = SqliteMetastore::open(&home.join("metastore.db"), &warehouse)?;
        Ok(Catalog {
            metastore: Arc::new(metastore),
            warehouse,
            storage: Arc::new(crate::datasource::Storage::new(None)),
        })
    }

    /// The folder of a managed table.
    pub fn managed_location(&self, db: &str, table: &str) -> PathBuf {
        if db == "default" {
            self.warehouse.join(table)
        } else {
            self.warehouse.join(format!("{db}.db")).join(table)
        }
    }

    /// The table, or an error naming it (with a close name as a suggestion).
    pub fn require_table(&self, db: &str, name: &str) -> Result<TableMeta> {
        if !self.metastore.database_exists(db)? {
            return Err(QuarryError::Analysis(format!(
                "[SCHEMA_NOT_FOUND] The schema `{db}` cannot be found"
            )));
        }
        match self.metastore.get_table(db, name)? {
            Some(t) => Ok(t),
            None => {
                let names = self.metastore.list_tables(db)?;
                Err(QuarryError::Analysis(format!(
                    "[TABLE_OR_VIEW_NOT_FOUND] The table or view `{db}`.`{name}` cannot be found{}",
                    did_you_mean(name, names.iter().map(|s| s.as_str()))
                )))
            }
        }
    }
}

/// `"; did you mean `x`?"` when one of `candidates` is close to `name`, else "".
pub fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let lname = name.to_ascii_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&lname, &c.to_ascii_lowercase());
        if score > 0.8 && best.map(|(b, _)| score > b).unwrap_or(true) {
            best = Some((score, c));
        }
    }
    match best {
        Some((_, c)) => format!("; did you mean `{c}`?"),
        None => String::new(),
    }
}

/// Whether `name` matches a SHOW TABLES / SHOW VIEWS pattern, as Spark's
/// `StringUtils.filterPattern`: alternatives split at `|` (the whole pattern trimmed), `*` matching
/// any characters and the rest read as a regular expression, the whole name matched,
/// case ignored. An alternative that is not a valid expression matches nothing.
pub fn matches_show_pattern(name: &str, pattern: &str) -> bool {
    pattern.trim().split('|').any(|alt| {
        regex::Regex::new(&format!("(?i)^(?:{})$", alt.replace('*', ".*")))
            .is_ok_and(|re| re.is_match(name))
    })
}
