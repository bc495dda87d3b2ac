//! The embedded metastore: SQLite (bundled) in WAL mode.
//!
//! Each change is one SQLite transaction, so a process killed mid-statement leaves
//! the catalog as it was before or after that change, never half-written; SQLite's
//! file locking (with a busy timeout) makes two processes sharing a home safe.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{hive, ColumnDef, FileFormat, PartitionMeta, TableKind, TableMeta, TableStatistics};
use crate::error::{QuarryError, Result};
use crate::types::parse_type_name;

/// Storage of catalog objects. The trait leaves room for external metastores
/// (AWS Glue, Hive Metastore). Names passed in are already lower-case.
pub trait Metastore: Send + Sync {
    fn create_database(&self, name: &str, location: &str, if_not_exists: bool) -> Result<()>;
    /// Drops a database; without `cascade` it must be empty. Returns whether it existed.
    fn drop_database(&self, name: &str, cascade: bool) -> Result<bool>;
    fn list_databases(&self) -> Result<Vec<String>>;
    fn database_exists(&self, name: &str) -> Result<bool>;
    fn get_table(&self, db: &str, name: &str) -> Result<Option<TableMeta>>;
    fn list_tables(&self, db: &str) -> Result<Vec<String>>;
    /// Creates a table or view; with `replace` an existing one is replaced (with its partitions).
    fn create_table(&self, meta: &TableMeta, replace: bool) -> Result<()>;
    /// Returns whether the table existed. Partitions go with it.
    fn drop_table(&self, db: &str, name: &str) -> Result<bool>;
    /// Store a table's changed definition (columns, location, options, view text); its
    /// partitions and statistics stay. Error: no such table.
    fn alter_table(&self, meta: &TableMeta) -> Result<()>;
    /// Rename `db.from` to `db.to` with its partitions and statistics, in one
    /// transaction; the table and the partitions under its folder move from
    /// `old_location` to `new_location` (the same for an external table). Errors: no
    /// such table, or `db.to` exists.
    fn rename_table(
        &self,
        db: &str,
        from: &str,
        to: &str,
        old_location: &str,
        new_location: &str,
    ) -> Result<()>;
    fn list_partitions(&self, db: &str, table: &str) -> Result<Vec<PartitionMeta>>;
    /// Adds partitions in one transaction; existing ones are skipped when `if_not_exists`,
    /// else an error. Returns how many were added.
    fn add_partitions(
        &self,
        db: &str,
        table: &str,
        keys: &[String],
        parts: &[PartitionMeta],
        if_not_exists: bool,
    ) -> Result<usize>;
    /// Drops partitions by values in one transaction; returns how many were dropped.
    fn drop_partitions(
        &self,
        db: &str,
        table: &str,
        keys: &[String],
        values: &[Vec<Option<String>>],
    ) -> Result<usize>;
    /// Statistics stored by `ANALYZE TABLE` for the table (`spec` empty) or one of its
    /// partitions (`spec` = the partition's Hive path, `dt=2021-10-05/x=1`).
    fn get_statistics(&self, db: &str, table: &str, spec: &str) -> Result<Option<TableStatistics>>;
    /// Store (or with `None` delete) statistics; see [`Metastore::get_statistics`].
    fn set_statistics(
        &self,
        db: &str,
        table: &str,
        spec: &str,
        stats: Option<&TableStatistics>,
    ) -> Result<()>;
    /// Store the statistics of many partitions (`(spec, stats)`) in one transaction.
    fn set_statistics_many(
        &self,
        db: &str,
        table: &str,
        stats: &[(String, TableStatistics)],
    ) -> Result<()>;
    /// The statistics of all of a table's partitions, by spec (the table's own, spec
    /// empty, left out).
    fn list_partition_statistics(
        &self,
        db: &str,
        table: &str,
    ) -> Result<Vec<(String, TableStatistics)>>;

    /// The statistics of the partitions `specs` that have some, by spec: a lookup per
    /// spec for a few, one read of all the table's partition statistics for many.
    fn partition_statistics_of(
        &self,
        db: &str,
        table: &str,
        specs: &[String],
    ) -> Result<Vec<(String, TableStatistics)>> {
        if specs.len() > 64 {
            let wanted: std::collections::HashSet<&String> = specs.iter().collect();
            let mut all = self.list_partition_statistics(db, table)?;
            all.retain(|(spec, _)| wanted.contains(spec));
            return Ok(all);
        }
        let mut out = vec![];
        for spec in specs.iter().filter(|s| !s.is_empty()) {
            if let Some(st) = self.get_statistics(db, table, spec)? {
                out.push((spec.clone(), st));
            }
        }
        Ok(out)
    }

    /// Store partitions' file, row and range statistics (`(spec, stats)`, as MSCK and
    /// scans gather them from listings and footers) in one transaction, keeping the
    /// column statistics `ANALYZE ... FOR COLUMNS` stored for those partitions.
    fn update_partition_statistics(
        &self,
        db: &str,
        table: &str,
        stats: Vec<(String, TableStatistics)>,
    ) -> Result<()> {
        let specs: Vec<String> = stats.iter().map(|(spec, _)| spec.clone()).collect();
        let mut old: std::collections::HashMap<String, TableStatistics> = self
            .partition_statistics_of(db, table, &specs)?
            .into_iter()
            .collect();
        let entries: Vec<(String, TableStatistics)> = stats
            .into_iter()
            .map(|(spec, st)| {
                let columns = old.remove(&spec).map(|o| o.columns).unwrap_or_default();
                (spec, TableStatistics { columns, ..st })
            })
            .collect();
        self.set_statistics_many(db, table, &entries)
    }
}

/// [`Metastore`] over a SQLite file.
pub struct SqliteMetastore {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS databases (
    name TEXT PRIMARY KEY, location TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tables (
    db TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, format TEXT NOT NULL,
    location TEXT NOT NULL, columns TEXT NOT NULL, partition_columns TEXT NOT NULL,
    options TEXT NOT NULL, view_sql TEXT, created INTEGER NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (db, name));
CREATE TABLE IF NOT EXISTS partitions (
    db TEXT NOT NULL, tbl TEXT NOT NULL, spec TEXT NOT NULL, vals TEXT NOT NULL, location TEXT NOT NULL,
    PRIMARY KEY (db, tbl, spec));
CREATE TABLE IF NOT EXISTS statistics (
    db TEXT NOT NULL, tbl TEXT NOT NULL, spec TEXT NOT NULL, stats TEXT NOT NULL,
    PRIMARY KEY (db, tbl, spec));
";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Columns as JSON: `[name, type]`, or `[name, type, default]` for a column with a
/// default, or `[name, type, default or null, "not null"]` for a NOT NULL column, or
/// `[name, type, default or null, "null" or "not null", generation expression]` for a
/// generated column (older metastores have only pairs).
fn cols_to_json(cols: &[ColumnDef]) -> String {
    let v: Vec<Vec<serde_json::Value>> = cols
        .iter()
        .map(|c| {
            // [name, type, default, nullability, generated, comment]: trailing
            // elements left out while they and those after them are unset
            let mut v = vec![c.name.clone().into(), c.type_text().into()];
            let commented = c.comment.is_some();
            if c.default.is_some() || !c.nullable || c.generated.is_some() || commented {
                v.push(c.default.clone().into());
            }
            if !c.nullable || c.generated.is_some() || commented {
                v.push(if c.nullable { "null" } else { "not null" }.into());
            }
            if c.generated.is_some() || commented {
                v.push(c.generated.clone().into());
            }
            if let Some(cm) = &c.comment {
                v.push(cm.clone().into());
            }
            v
        })
        .collect();
    serde_json::to_string(&v).unwrap_or_else(|_| "[]".into())
}

fn cols_from_json(s: &str) -> Result<Vec<ColumnDef>> {
    let corrupt =
        |e: String| QuarryError::Catalog(format!("corrupt column list in metastore: {e}"));
    let v: Vec<Vec<serde_json::Value>> =
        serde_json::from_str(s).map_err(|e| corrupt(e.to_string()))?;
    v.into_iter()
        .map(|c| {
            let text = |i: usize| c.get(i).and_then(|v| v.as_str()).map(str::to_string);
            match (c.len(), text(0), text(1)) {
                (2..=6, Some(name), Some(t)) => Ok(ColumnDef {
                    name,
                    data_type: parse_type_name(&t)?,
                    default: text(2),
                    nullable: text(3).as_deref() != Some("not null"),
                    generated: text(4),
                    comment: text(5),
                    char_varchar: crate::types::CharVarchar::parse(&t),
                }),
                _ => Err(corrupt(format!(
                    "a column as {}",
                    serde_json::Value::from(c)
                ))),
            }
        })
        .collect()
}

fn kind_name(k: TableKind) -> &'static str {
    match k {
        TableKind::External => "EXTERNAL",
        TableKind::Managed => "MANAGED",
        TableKind::View => "VIEW",
    }
}

impl SqliteMetastore {
    /// Opens or creates the metastore file; creates the `default` database at `warehouse`.
    pub fn open(path: &Path, warehouse: &Path) -> Result<SqliteMetastore> {
        let conn = Connection::open(path).map_err(|e| {
            QuarryError::Catalog(format!("cannot open metastore {}: {e}", path.display()))
        })?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // write transactions start IMMEDIATE: a deferred one that upgrades to a write
        // gets SQLITE_BUSY at once when another process writes, without the busy timeout
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA}"))?;
        // a metastore written before table properties were kept gets their column
        let has_properties = conn
            .prepare("SELECT 1 FROM pragma_table_info('tables') WHERE name = 'properties'")?
            .exists([])?;
        if !has_properties {
            conn.execute(
                "ALTER TABLE tables ADD COLUMN properties TEXT NOT NULL DEFAULT '{}'",
                [],
            )?;
        }
        conn.execute_batch("COMMIT;")?;
        conn.execute(
            "INSERT OR IGNORE INTO databases(name, location, created) VALUES ('default', ?1, ?2)",
            params![warehouse.to_string_lossy(), now()],
        )?;
        Ok(SqliteMetastore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| QuarryError::Internal("metastore lock poisoned".into()))
    }

    fn row_to_table(
        row: &rusqlite::Row,
    ) -> rusqlite::Result<(
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        i64,
        String,
    )> {
        Ok((
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
            row.get(6)?,
            row.get(7)?,
            row.get(8)?,
            row.get(9)?,
            row.get(10)?,
        ))
    }
}

impl Metastore for SqliteMetastore {
    fn create_database(&self, name: &str, location: &str, if_not_exists: bool) -> Result<()> {
        let conn = self.conn()?;
        let n = conn.execute(
            "INSERT OR IGNORE INTO databases(name, location, created) VALUES (?1, ?2, ?3)",
            params![name, location, now()],
        )?;
        if n == 0 && !if_not_exists {
            return Err(QuarryError::Catalog(format!(
                "[SCHEMA_ALREADY_EXISTS] Cannot create schema `{name}` because it already exists"
            )));
        }
        Ok(())
    }

    fn drop_database(&self, name: &str, cascade: bool) -> Result<bool> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let count: i64 = tx.query_row(
            "SELECT count(*) FROM tables WHERE db = ?1",
            params![name],
            |r| r.get(0),
        )?;
        if count > 0 && !cascade {
            return Err(QuarryError::Catalog(format!(
                "[SCHEMA_NOT_EMPTY] Cannot drop a schema `{name}` because it contains objects; use DROP SCHEMA ... CASCADE"
            )));
        }
        tx.execute("DELETE FROM partitions WHERE db = ?1", params![name])?;
        tx.execute("DELETE FROM tables WHERE db = ?1", params![name])?;
        let n = tx.execute("DELETE FROM databases WHERE name = ?1", params![name])?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn list_databases(&self) -> Result<Vec<String>> {
        let conn = self.conn()?;
        let mut st = conn.prepare("SELECT name FROM databases ORDER BY name")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn database_exists(&self, name: &str) -> Result<bool> {
        let conn = self.conn()?;
        let n: i64 = conn.query_row(
            "SELECT count(*) FROM databases WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    fn get_table(&self, db: &str, name: &str) -> Result<Option<TableMeta>> {
        let conn = self.conn()?;
        let row = conn
            .query_row(
                "SELECT db, name, kind, format, location, columns, partition_columns, options, view_sql, created,
                 properties FROM tables WHERE db = ?1 AND name = ?2",
                params![db, name],
                Self::row_to_table,
            )
            .optional()?;
        let Some((
            db,
            name,
            kind,
            format,
            location,
            columns,
            pcols,
            options,
            view_sql,
            created,
            properties,
        )) = row
        else {
            return Ok(None);
        };
        let kind = match kind.as_str() {
            "EXTERNAL" => TableKind::External,
            "MANAGED" => TableKind::Managed,
            _ => TableKind::View,
        };
        let options: BTreeMap<String, String> = serde_json::from_str(&options)
            .map_err(|e| QuarryError::Catalog(format!("corrupt options in metastore: {e}")))?;
        let properties: BTreeMap<String, String> =
            serde_json::from_str(&properties).map_err(|e| {
                QuarryError::Catalog(format!("corrupt table properties in metastore: {e}"))
            })?;
        Ok(Some(TableMeta {
            database: db,
            name,
            kind,
            format: FileFormat::parse(&format)?,
            location,
            columns: cols_from_json(&columns)?,
            partition_columns: cols_from_json(&pcols)?,
            options,
            properties,
            view_sql,
            created,
        }))
    }

    fn list_tables(&self, db: &str) -> Result<Vec<String>> {
        let conn = self.conn()?;
        let mut st = conn.prepare("SELECT name FROM tables WHERE db = ?1 ORDER BY name")?;
        let rows = st.query_map(params![db], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn create_table(&self, m: &TableMeta, replace: bool) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let exists: i64 = tx.query_row(
            "SELECT count(*) FROM tables WHERE db = ?1 AND name = ?2",
            params![m.database, m.name],
            |r| r.get(0),
        )?;
        if exists > 0 {
            if !replace {
                return Err(QuarryError::Catalog(format!(
                    "[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create table or view `{}`.`{}` because it already exists",
                    m.database, m.name
                )));
            }
            tx.execute(
                "DELETE FROM partitions WHERE db = ?1 AND tbl = ?2",
                params![m.database, m.name],
            )?;
            tx.execute(
                "DELETE FROM tables WHERE db = ?1 AND name = ?2",
                params![m.database, m.name],
            )?;
        }
        tx.execute(
            "INSERT INTO tables(db, name, kind, format, location, columns, partition_columns, options, view_sql, created, properties)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                m.database,
                m.name,
                kind_name(m.kind),
                m.format.name(),
                m.location,
                cols_to_json(&m.columns),
                cols_to_json(&m.partition_columns),
                serde_json::to_string(&m.options).unwrap_or_else(|_| "{}".into()),
                m.view_sql,
                if m.created == 0 { now() } else { m.created },
                serde_json::to_string(&m.properties).unwrap_or_else(|_| "{}".into()),
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn drop_table(&self, db: &str, name: &str) -> Result<bool> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM partitions WHERE db = ?1 AND tbl = ?2",
            params![db, name],
        )?;
        tx.execute(
            "DELETE FROM statistics WHERE db = ?1 AND tbl = ?2",
            params![db, name],
        )?;
        let n = tx.execute(
            "DELETE FROM tables WHERE db = ?1 AND name = ?2",
            params![db, name],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn alter_table(&self, m: &TableMeta) -> Result<()> {
        let conn = self.conn()?;
        let n = conn.execute(
            "UPDATE tables SET format = ?3, location = ?4, columns = ?5, partition_columns = ?6,
             options = ?7, view_sql = ?8, properties = ?9 WHERE db = ?1 AND name = ?2",
            params![
                m.database,
                m.name,
                m.format.name(),
                m.location,
                cols_to_json(&m.columns),
                cols_to_json(&m.partition_columns),
                serde_json::to_string(&m.options).unwrap_or_else(|_| "{}".into()),
                m.view_sql,
                serde_json::to_string(&m.properties).unwrap_or_else(|_| "{}".into()),
            ],
        )?;
        if n == 0 {
            return Err(QuarryError::Catalog(format!(
                "[TABLE_OR_VIEW_NOT_FOUND] The table or view `{}`.`{}` cannot be found",
                m.database, m.name
            )));
        }
        Ok(())
    }

    fn rename_table(
        &self,
        db: &str,
        from: &str,
        to: &str,
        old_location: &str,
        new_location: &str,
    ) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let exists: i64 = tx.query_row(
            "SELECT count(*) FROM tables WHERE db = ?1 AND name = ?2",
            params![db, to],
            |r| r.get(0),
        )?;
        if exists > 0 {
            return Err(QuarryError::Catalog(format!(
                "[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot rename `{db}`.`{from}` to `{db}`.`{to}` because the destination already exists"
            )));
        }
        let n = tx.execute(
            "UPDATE tables SET name = ?3, location = ?4 WHERE db = ?1 AND name = ?2",
            params![db, from, to, new_location],
        )?;
        if n == 0 {
            return Err(QuarryError::Catalog(format!(
                "[TABLE_OR_VIEW_NOT_FOUND] The table or view `{db}`.`{from}` cannot be found"
            )));
        }
        // partition folders under the table's folder move with it
        tx.execute(
            "UPDATE partitions SET location = ?3 || substr(location, length(?4) + 1)
             WHERE db = ?1 AND tbl = ?2 AND substr(location, 1, length(?4) + 1) = ?4 || '/'",
            params![db, from, new_location, old_location],
        )?;
        tx.execute(
            "UPDATE partitions SET tbl = ?3 WHERE db = ?1 AND tbl = ?2",
            params![db, from, to],
        )?;
        tx.execute(
            "UPDATE statistics SET tbl = ?3 WHERE db = ?1 AND tbl = ?2",
            params![db, from, to],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn list_partitions(&self, db: &str, table: &str) -> Result<Vec<PartitionMeta>> {
        let conn = self.conn()?;
        let mut st = conn.prepare(
            "SELECT vals, location FROM partitions WHERE db = ?1 AND tbl = ?2 ORDER BY spec",
        )?;
        let rows = st.query_map(params![db, table], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = vec![];
        for row in rows {
            let (vals, location) = row?;
            let values: Vec<Option<String>> = serde_json::from_str(&vals).map_err(|e| {
                QuarryError::Catalog(format!("corrupt partition in metastore: {e}"))
            })?;
            out.push(PartitionMeta { values, location });
        }
        Ok(out)
    }

    fn add_partitions(
        &self,
        db: &str,
        table: &str,
        keys: &[String],
        parts: &[PartitionMeta],
        if_not_exists: bool,
    ) -> Result<usize> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut added = 0;
        {
            let mut st = tx.prepare("INSERT OR IGNORE INTO partitions(db, tbl, spec, vals, location) VALUES (?1, ?2, ?3, ?4, ?5)")?;
            for p in parts {
                let spec = hive::partition_path(keys, &p.values);
                let vals = serde_json::to_string(&p.values).unwrap_or_else(|_| "[]".into());
                let n = st.execute(params![db, table, spec, vals, p.location])?;
                if n == 0 && !if_not_exists {
                    return Err(QuarryError::Catalog(format!(
                        "[PARTITIONS_ALREADY_EXIST] Cannot ADD PARTITION ({spec}) to table `{db}`.`{table}` because it already exists"
                    )));
                }
                added += n;
            }
        }
        tx.commit()?;
        Ok(added)
    }

    fn drop_partitions(
        &self,
        db: &str,
        table: &str,
        keys: &[String],
        values: &[Vec<Option<String>>],
    ) -> Result<usize> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut n = 0;
        for v in values {
            let spec = hive::partition_path(keys, v);
            n += tx.execute(
                "DELETE FROM partitions WHERE db = ?1 AND tbl = ?2 AND spec = ?3",
                params![db, table, spec],
            )?;
            tx.execute(
                "DELETE FROM statistics WHERE db = ?1 AND tbl = ?2 AND spec = ?3",
                params![db, table, spec],
            )?;
        }
        tx.commit()?;
        Ok(n)
    }

    fn get_statistics(&self, db: &str, table: &str, spec: &str) -> Result<Option<TableStatistics>> {
        let conn = self.conn()?;
        let text: Option<String> = conn
            .query_row(
                "SELECT stats FROM statistics WHERE db = ?1 AND tbl = ?2 AND spec = ?3",
                params![db, table, spec],
                |r| r.get(0),
            )
            .optional()?;
        match text {
            None => Ok(None),
            Some(t) => serde_json::from_str(&t).map(Some).map_err(|e| {
                QuarryError::Catalog(format!(
                    "corrupt statistics of `{db}`.`{table}` in the metastore: {e}"
                ))
            }),
        }
    }

    fn set_statistics(
        &self,
        db: &str,
        table: &str,
        spec: &str,
        stats: Option<&TableStatistics>,
    ) -> Result<()> {
        let conn = self.conn()?;
        match stats {
            None => {
                conn.execute(
                    "DELETE FROM statistics WHERE db = ?1 AND tbl = ?2 AND spec = ?3",
                    params![db, table, spec],
                )?;
            }
            Some(s) => {
                let text = serde_json::to_string(s)
                    .map_err(|e| QuarryError::Internal(format!("statistics: {e}")))?;
                conn.execute(
                    "INSERT OR REPLACE INTO statistics(db, tbl, spec, stats) VALUES (?1, ?2, ?3, ?4)",
                    params![db, table, spec, text],
                )?;
            }
        }
        Ok(())
    }

    fn set_statistics_many(
        &self,
        db: &str,
        table: &str,
        stats: &[(String, TableStatistics)],
    ) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut st = tx.prepare(
                "INSERT OR REPLACE INTO statistics(db, tbl, spec, stats) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (spec, s) in stats {
                let text = serde_json::to_string(s)
                    .map_err(|e| QuarryError::Internal(format!("statistics: {e}")))?;
                st.execute(params![db, table, spec, text])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn list_partition_statistics(
        &self,
        db: &str,
        table: &str,
    ) -> Result<Vec<(String, TableStatistics)>> {
        let conn = self.conn()?;
        let mut st = conn.prepare(
            "SELECT spec, stats FROM statistics WHERE db = ?1 AND tbl = ?2 AND spec <> ''",
        )?;
        let rows = st.query_map(params![db, table], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = vec![];
        for row in rows {
            let (spec, text) = row?;
            let stats = serde_json::from_str(&text).map_err(|e| {
                QuarryError::Catalog(format!(
                    "corrupt statistics of `{db}`.`{table}` partition {spec} in the metastore: {e}"
                ))
            })?;
            out.push((spec, stats));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_lists_keep_defaults_and_read_old_pairs() {
        let cols = vec![
            ColumnDef {
                name: "a".into(),
                data_type: arrow::datatypes::DataType::Int32,
                default: Some("40 + 2".into()),
                nullable: true,
                generated: None,
                comment: None,
                char_varchar: None,
            },
            ColumnDef {
                name: "b".into(),
                data_type: arrow::datatypes::DataType::Utf8,
                default: None,
                nullable: true,
                generated: None,
                comment: None,
                char_varchar: None,
            },
        ];
        let mut cols = cols;
        cols.push(ColumnDef {
            name: "c".into(),
            data_type: arrow::datatypes::DataType::Int64,
            default: None,
            nullable: false,
            generated: None,
            comment: None,
            char_varchar: None,
        });
        cols.push(ColumnDef {
            comment: Some("it's e".into()),
            ..ColumnDef::new("e", arrow::datatypes::DataType::Utf8)
        });
        cols.push(ColumnDef {
            generated: Some("a * 2".into()),
            ..ColumnDef::new("d", arrow::datatypes::DataType::Int32)
        });
        cols.push(ColumnDef {
            char_varchar: Some(crate::types::CharVarchar::Char(5)),
            ..ColumnDef::new("f", arrow::datatypes::DataType::Utf8)
        });
        let json = cols_to_json(&cols);
        assert_eq!(
            json,
            r#"[["a","int","40 + 2"],["b","string"],["c","bigint",null,"not null"],["e","string",null,"null",null,"it's e"],["d","int",null,"null","a * 2"],["f","char(5)"]]"#
        );
        assert_eq!(cols_from_json(&json).ok(), Some(cols));
        // a metastore written before defaults: pairs only
        let old = cols_from_json(r#"[["a","int"]]"#).ok();
        assert_eq!(old.map(|c| c[0].default.clone()), Some(None));
        assert!(cols_from_json(r#"[["a"]]"#).is_err());
    }

    #[test]
    fn metastore_without_properties_column_is_upgraded() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| QuarryError::Internal(e.to_string()))?;
        let path = dir.path().join("metastore.db");
        {
            // the tables table as metastores before table properties wrote it
            let conn = Connection::open(&path)?;
            conn.execute_batch(
                "CREATE TABLE tables (
                    db TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, format TEXT NOT NULL,
                    location TEXT NOT NULL, columns TEXT NOT NULL, partition_columns TEXT NOT NULL,
                    options TEXT NOT NULL, view_sql TEXT, created INTEGER NOT NULL,
                    PRIMARY KEY (db, name));
                 INSERT INTO tables VALUES ('default', 't', 'MANAGED', 'parquet', '/w/t',
                    '[[\"a\",\"int\"]]', '[]', '{\"header\":\"true\"}', NULL, 1);",
            )?;
        }
        let m = SqliteMetastore::open(&path, dir.path())?;
        let t = m
            .get_table("default", "t")?
            .ok_or_else(|| QuarryError::Internal("no t".into()))?;
        assert!(t.properties.is_empty());
        assert_eq!(t.options.get("header").map(String::as_str), Some("true"));
        let mut t2 = t.clone();
        t2.properties.insert("Owner".into(), "data".into());
        m.alter_table(&t2)?;
        drop(m);
        // opened again: the column is there once, the property kept
        let m = SqliteMetastore::open(&path, dir.path())?;
        let t = m
            .get_table("default", "t")?
            .ok_or_else(|| QuarryError::Internal("no t".into()))?;
        assert_eq!(t.properties.get("Owner").map(String::as_str), Some("data"));
        Ok(())
    }
}
