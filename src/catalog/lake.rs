//! Lake catalogs (`connector = "lake"` in `catalog/<name>.toml`): the tables are the
//! visible top-level folders under the catalog's `location`, in one database `default`,
//! named `<catalog>.default.<folder>`. Nothing is registered: each table's format comes
//! from its files' extensions (else the catalog's `format`, else parquet), its schema
//! from the files and its partition columns from `key=value` folders, as for
//! ``parquet.`path` ``. Listings are cached by the session's storage; `REFRESH TABLE`
//! drops a table's cached listing and footers.

use super::definitions::CatalogDefinition;
use super::FileFormat;
use crate::datasource::{IoStats, Location, Storage};
use crate::error::{QuarryError, Result};

/// The one database of a lake catalog.
pub const LAKE_DATABASE: &str = "default";

/// A lake catalog: a name and a root folder.
#[derive(Clone, Debug)]
pub struct LakeCatalog {
    pub name: String,
    pub root: Location,
    /// The format of tables whose file extensions do not tell.
    pub format: Option<FileFormat>,
    /// Reader options for every table (keys lower-case).
    pub options: std::collections::BTreeMap<String, String>,
}

impl LakeCatalog {
    /// The lake catalog a definition describes (`None` for other connectors); errors name
    /// the catalog file.
    pub fn from_definition(def: &CatalogDefinition) -> Result<Option<LakeCatalog>> {
        if def.connector != "lake" {
            return Ok(None);
        }
        let bad =
            |e: QuarryError| QuarryError::Catalog(format!("catalog file {}.toml: {e}", def.name));
        let root = Location::parse(def.location.as_deref().unwrap_or_default()).map_err(bad)?;
        let format = def
            .format
            .as_deref()
            .map(FileFormat::parse)
            .transpose()
            .map_err(bad)?;
        Ok(Some(LakeCatalog {
            name: def.name.clone(),
            root,
            format,
            options: def
                .options
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        toml::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.to_ascii_lowercase(), v)
                })
                .collect(),
        }))
    }

    /// The table names: visible top-level folders under the root, sorted.
    pub fn list_tables(&self, storage: &Storage) -> Result<Vec<String>> {
        Ok(storage
            .list_dirs_many(std::slice::from_ref(&self.root), &IoStats::default())?
            .pop()
            .unwrap_or_default()
            .into_iter()
            .map(|(name, _)| name)
            .collect())
    }

    /// `db.table` of this catalog -> the table's folder; `[SCHEMA_NOT_FOUND]` for a
    /// database other than `default`, `[TABLE_OR_VIEW_NOT_FOUND]` (with the closest
    /// folder names) when the folder does not exist.
    pub fn table_location(&self, storage: &Storage, db: &str, table: &str) -> Result<Location> {
        if !db.eq_ignore_ascii_case(LAKE_DATABASE) {
            return Err(QuarryError::Analysis(format!(
                "[SCHEMA_NOT_FOUND] The schema `{}`.`{db}` cannot be found: a lake catalog has one database, `{LAKE_DATABASE}`",
                self.name
            )));
        }
        if table.is_empty() || table.contains('/') || super::hive::is_hidden(table) {
            return Err(QuarryError::Analysis(format!(
                "[TABLE_OR_VIEW_NOT_FOUND] `{table}` is not a table name of the lake catalog `{}`",
                self.name
            )));
        }
        let loc = self.root.join(table);
        if storage.is_dir(&loc)? {
            return Ok(loc);
        }
        let names = self.list_tables(storage).unwrap_or_default();
        Err(QuarryError::Analysis(format!(
            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `{}`.`{LAKE_DATABASE}`.`{table}` cannot be found: no folder {loc}{}",
            self.name,
            super::did_you_mean(table, names.iter().map(|s| s.as_str()))
        )))
    }

    /// The table's format: from the extension of its first data file (`.parquet`,
    /// `.csv`, `.json`/`.jsonl`/`.ndjson`, also compressed `.gz`/`.zst`...), else the
    /// catalog's `format`, else parquet.
    pub fn table_format(&self, storage: &Storage, loc: &Location) -> Result<FileFormat> {
        let files = storage.list_files(loc, &IoStats::default())?;
        let by_extension = files.iter().find_map(|f| {
            let name = f.location.to_string().to_ascii_lowercase();
            let name = name
                .trim_end_matches(".gz")
                .trim_end_matches(".zst")
                .trim_end_matches(".bz2")
                .trim_end_matches(".snappy");
            let ext = name.rsplit('.').next()?;
            match ext {
                "parquet" | "parq" => Some(FileFormat::Parquet),
                "csv" | "tsv" => Some(FileFormat::Csv),
                "json" | "jsonl" | "ndjson" => Some(FileFormat::Json),
                _ => None,
            }
        });
        Ok(by_extension.or(self.format).unwrap_or(FileFormat::Parquet))
    }
}
