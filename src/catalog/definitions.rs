//! Catalog definition files (`catalog/*.toml`), one file per catalog in the manner of
//! Trino's `etc/catalog`: the file name is the catalog name. See `catalog/README.md`.
//!
//! ```toml
//! connector = "metastore"   # the embedded metastore under the Quarry home
//! default = true            # the catalog unqualified names resolve in
//! ```

use std::path::Path;

use serde::Deserialize;

use crate::error::{QuarryError, Result};

/// One parsed catalog file.
#[derive(Clone, Debug, Deserialize)]
pub struct CatalogDefinition {
    /// File stem: the catalog's name in three-part names.
    #[serde(skip)]
    pub name: String,
    /// `metastore` (the embedded store) or `lake` (tables = the folders under `location`).
    pub connector: String,
    /// `lake` catalogs: the folder whose top-level folders are the tables
    /// (`s3://bucket/prefix/` or a local path).
    #[serde(default)]
    pub location: Option<String>,
    /// `lake` catalogs: the format of tables whose files' extensions do not tell
    /// (`parquet`, `csv`, `json`; default parquet).
    #[serde(default)]
    pub format: Option<String>,
    /// `lake` catalogs: reader options for every table (`header = "true"` for CSV files
    /// with a header line, `delimiter`, ...), as `OPTIONS (...)` of a `USING` table.
    #[serde(default)]
    pub options: std::collections::BTreeMap<String, toml::Value>,
    /// Whether unqualified names resolve in this catalog.
    #[serde(default)]
    pub default: bool,
    /// S3 settings (`endpoint`, `region`, `path_style`, `allow_http`, ...; see
    /// `datasource::s3::S3_KEYS`) for the locations of this catalog's tables.
    #[serde(default)]
    pub s3: std::collections::BTreeMap<String, toml::Value>,
}

impl CatalogDefinition {
    /// The `[s3]` table as a settings layer; errors name the file and the key.
    pub fn s3_layer(&self) -> Result<Option<crate::datasource::s3::S3Layer>> {
        if self.s3.is_empty() {
            return Ok(None);
        }
        let mut values = std::collections::BTreeMap::new();
        for (k, v) in &self.s3 {
            let v = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Boolean(b) => b.to_string(),
                other => other.to_string(),
            };
            crate::datasource::s3::S3Layer::validate(k, &v).map_err(|e| {
                QuarryError::Catalog(format!("catalog file {}.toml: {e}", self.name))
            })?;
            values.insert(k.clone(), v);
        }
        Ok(Some(crate::datasource::s3::S3Layer {
            source: format!("catalog file {}.toml", self.name),
            values,
        }))
    }
}

/// The built-in default when no catalog folder is found: `spark_catalog`, a metastore catalog.
pub fn builtin_default() -> CatalogDefinition {
    CatalogDefinition {
        name: "spark_catalog".into(),
        connector: "metastore".into(),
        default: true,
        location: None,
        format: None,
        options: Default::default(),
        s3: Default::default(),
    }
}

/// Reads every `*.toml` in `dir`, sorted by name. Errors name the file.
pub fn load_dir(dir: &Path) -> Result<Vec<CatalogDefinition>> {
    let mut out = vec![];
    let rd = std::fs::read_dir(dir).map_err(|e| {
        QuarryError::Catalog(format!("cannot read catalog folder {}: {e}", dir.display()))
    })?;
    let mut paths: Vec<_> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    for p in paths {
        let text = std::fs::read_to_string(&p)
            .map_err(|e| QuarryError::Catalog(format!("cannot read {}: {e}", p.display())))?;
        let mut def: CatalogDefinition = toml::from_str(&text).map_err(|e| {
            QuarryError::Catalog(format!(
                "invalid catalog file {}: {}",
                p.display(),
                e.message()
            ))
        })?;
        def.name = p
            .file_stem()
            .map(|s| s.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        match def.connector.as_str() {
            "metastore" => {}
            "lake" => {
                if def.location.is_none() {
                    return Err(QuarryError::Catalog(format!(
                        "catalog file {}: a lake catalog needs `location = \"s3://bucket/prefix/\"` (or a local folder)",
                        p.display()
                    )));
                }
                if def.default {
                    return Err(QuarryError::NotSupported(format!(
                        "`default = true` on a lake catalog ({}): unqualified names resolve in a metastore catalog; name lake tables `{}.default.table`",
                        p.display(),
                        def.name
                    )));
                }
                if let Some(f) = &def.format {
                    super::FileFormat::parse(f).map_err(|e| {
                        QuarryError::Catalog(format!("catalog file {}: {e}", p.display()))
                    })?;
                }
            }
            other => {
                return Err(QuarryError::NotSupported(format!(
                    "catalog connector '{other}' in {} (known: metastore, lake)",
                    p.display()
                )))
            }
        }
        out.push(def);
    }
    Ok(out)
}
