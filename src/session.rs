//! The Session: runs SQL statements against a catalog, with session state (current
//! database, temp views, settings, the thread pool). `Session::sql` runs one statement
//! and returns its result as RecordBatches; the CLI and the tests are thin layers on it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use crate::binder::{BindContext, Binder, TempView};
use crate::catalog::definitions::{self, CatalogDefinition};
use crate::catalog::hive::escape_path_name;
use crate::catalog::{Catalog, ColumnDef, FileFormat, PartitionMeta, TableKind, TableMeta};
use crate::datasource::{self, Location, Storage};
use crate::error::{QuarryError, Result};
use crate::parser::{
    self, AlterTable, AnalyzeMode, CreateTable, InsertPartition, MsckMode, ObjectName,
    PartitionSpec, Statement,
};
use crate::physical::planner::PhysicalPlanner;
use crate::physical::{collect, display_plan, ExecContext};
use crate::plan::LogicalPlan;
use crate::types::{type_name, ScalarValue};

/// The result of one statement: a schema and rows (empty for most DDL).
#[derive(Debug, Clone)]
pub struct StatementResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl StatementResult {
    fn empty() -> Self {
        StatementResult {
            schema: Arc::new(Schema::empty()),
            batches: vec![],
        }
    }
    /// Total number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
    /// A result of string columns.
    pub fn strings(names: &[&str], rows: Vec<Vec<String>>) -> Result<Self> {
        let schema = Arc::new(Schema::new(
            names
                .iter()
                .map(|n| Field::new(*n, DataType::Utf8, true))
                .collect::<Vec<_>>(),
        ));
        let cols: Vec<ArrayRef> = (0..names.len())
            .map(|i| {
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r[i].clone()).collect::<Vec<_>>(),
                )) as ArrayRef
            })
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), cols)?;
        Ok(StatementResult {
            schema,
            batches: vec![batch],
        })
    }
}

/// Settings with their defaults (`SET` lists them).
const DEFAULT_SETTINGS: &[(&str, &str)] = &[
    ("quarry.sql.integer_division", "false"),
    (parser::SESSION_TIME_ZONE, "UTC"),
    (DECIMAL_PRECISION_LOSS, "true"),
    ("quarry.optimizer.disabled_rules", ""),
    ("quarry.cli.max_rows", "1000"),
    ("quarry.execution.batch_size", "8192"),
    (STATS_AUTOGATHER, "true"),
    (
        STATS_AUTOGATHER_MAX_PARTITIONS,
        DEFAULT_AUTOGATHER_MAX_PARTITIONS,
    ),
];

/// `quarry.stats.autogather.maxpartitions`' default (partitions).
const DEFAULT_AUTOGATHER_MAX_PARTITIONS: &str = "100";

/// How a write treats a table's rows already there.
#[derive(Clone, Copy, Debug, PartialEq)]
enum WriteMode {
    /// INSERT INTO: they stay.
    Append,
    /// INSERT OVERWRITE: replaced; in a partitioned table, the partitions
    /// `spark.sql.sources.partitionOverwriteMode` says.
    Overwrite,
    /// UPDATE and DELETE (which write the table's rows after the statement): all replaced,
    /// every partition.
    ReplaceAll,
}

/// One user's session over a Quarry home (metastore + warehouse).
pub struct Session {
    catalog: Catalog,
    catalogs: Vec<CatalogDefinition>,
    /// The lake catalogs among `catalogs`.
    lakes: Vec<crate::catalog::lake::LakeCatalog>,
    current_db: String,
    temp_views: HashMap<String, TempView>,
    settings: BTreeMap<String, String>,
    pool: Arc<rayon::ThreadPool>,
    /// Worker threads the session was opened with (what RESET goes back to).
    initial_threads: usize,
    cancel: Arc<AtomicBool>,
    home: PathBuf,
    /// Join samples measured by this session's queries (see
    /// [`crate::physical::ExecContext::join_samples`]).
    join_samples: crate::physical::JoinSamples,
    /// Prepared statements by lower-cased name: their text, parameters unbound
    /// (`PREPARE`; see [`parser::bind_parameters`]).
    prepared: HashMap<String, String>,
    /// The folder of `CACHE TABLE`'s parquet files (one subfolder per cached view),
    /// created at the first CACHE TABLE under the system's temporary folder and deleted
    /// with the session.
    cache_dir: Option<tempfile::TempDir>,
}

/// Session settings under this prefix configure S3 (`quarry.s3.endpoint`, ...; see
/// `datasource::s3::S3_KEYS`).
pub const S3_PREFIX: &str = "quarry.s3.";

/// Spark's setting for the result types of decimal arithmetic, lower-cased as `SET` keeps
/// keys (see [`crate::binder::coerce::ArithMode`]).
pub const DECIMAL_PRECISION_LOSS: &str = "spark.sql.decimaloperations.allowprecisionloss";

/// Whether partition statistics (files, bytes, and from parquet footers rows, NULL
/// counts and ranges) are kept in the metastore as they are found (Hive's
/// `hive.stats.autogather`): by ADD PARTITION and REFRESH TABLE, by MSCK REPAIR TABLE
/// for up to [`STATS_AUTOGATHER_MAX_PARTITIONS`] new partitions, and by scans for the
/// partitions they read that have none (see
/// [`crate::physical::statistics::partition_statistics`]).
pub const STATS_AUTOGATHER: &str = "quarry.stats.autogather";

/// The most new partitions MSCK REPAIR TABLE reads statistics of (one listing and one
/// footer read per file each; default 100): beyond, MSCK only registers them and the
/// first scan that reads a partition keeps its statistics, so discovering 10,000
/// partitions on S3 stays a matter of listing their folders.
pub const STATS_AUTOGATHER_MAX_PARTITIONS: &str = "quarry.stats.autogather.maxpartitions";

/// Spark's `spark.sql.sources.partitionOverwriteMode`: `static` (the default; INSERT
/// OVERWRITE replaces every partition its PARTITION clause's static values match) or
/// `dynamic` (only the partitions it writes rows to).
/// (Setting keys are stored lower-case.)
pub const PARTITION_OVERWRITE_MODE: &str = "spark.sql.sources.partitionoverwritemode";

/// The setting that holds the number of worker threads (`--threads` sets it at start).
pub const THREADS_SETTING: &str = "quarry.execution.threads";

/// A rayon pool of `n` worker threads named `quarry-worker-i`.
fn build_pool(n: usize) -> Result<Arc<rayon::ThreadPool>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("quarry-worker-{i}"))
        .build()
        .map_err(|e| QuarryError::Internal(format!("cannot start the thread pool: {e}")))?;
    Ok(Arc::new(pool))
}

impl Session {
    /// Open a session on `home` (created if missing) with `threads` worker threads
    /// (default: all cores). Catalog definitions are read from `catalog_dir` if given.
    pub fn open(
        home: &Path,
        threads: Option<usize>,
        catalog_dir: Option<&Path>,
    ) -> Result<Session> {
        let catalog = Catalog::open(home)?;
        let catalogs = match catalog_dir {
            Some(d) if d.is_dir() => {
                let defs = definitions::load_dir(d)?;
                if defs.is_empty() {
                    vec![definitions::builtin_default()]
                } else {
                    defs
                }
            }
            _ => vec![definitions::builtin_default()],
        };
        let default_def = catalogs.iter().find(|c| c.default).or(catalogs.first());
        let layer = match default_def {
            Some(d) => d.s3_layer()?,
            None => None,
        };
        let mut catalog = catalog;
        catalog.storage = Arc::new(datasource::Storage::new(layer));
        let mut lakes = vec![];
        for def in &catalogs {
            if let Some(lake) = crate::catalog::lake::LakeCatalog::from_definition(def)? {
                if let (Location::S3 { bucket, .. }, Some(l)) = (&lake.root, def.s3_layer()?) {
                    catalog.storage.set_bucket_layer(bucket, l)?;
                }
                lakes.push(lake);
            }
        }
        let n = threads
            .unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2)
            })
            .max(1);
        let mut session = Session {
            catalog,
            catalogs,
            lakes,
            current_db: "default".into(),
            temp_views: HashMap::new(),
            cache_dir: None,
            settings: BTreeMap::new(),
            pool: build_pool(n)?,
            initial_threads: n,
            cancel: Arc::new(AtomicBool::new(false)),
            home: home.to_path_buf(),
            join_samples: Default::default(),
            prepared: HashMap::new(),
        };
        session.reset_settings();
        Ok(session)
    }

    /// Every setting back to its default; the thread count back to the one the session
    /// was opened with.
    fn reset_settings(&mut self) {
        self.settings = DEFAULT_SETTINGS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.settings
            .insert(THREADS_SETTING.into(), self.initial_threads.to_string());
    }

    /// Number of worker threads queries run on.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// The worker pool queries run on (also for other parallel work, e.g. data generation).
    pub fn pool(&self) -> &rayon::ThreadPool {
        &self.pool
    }

    /// The flag that cancels the running statement (set it from a Ctrl-C handler).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// A setting's current value.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(|s| s.as_str())
    }

    /// Whether `name` names a temporary view: `v`, or a global one `global_temp.v`.
    fn is_temp_view(&self, name: &ObjectName) -> bool {
        crate::binder::temp_view_key(&name.0).is_some_and(|k| self.temp_views.contains_key(&k))
    }

    /// The Quarry home folder.
    pub fn home(&self) -> &Path {
        &self.home
    }

    fn exec_ctx(&self) -> ExecContext {
        let batch_size = self
            .setting("quarry.execution.batch_size")
            .and_then(|s| s.parse().ok())
            .unwrap_or(8192)
            .max(1);
        ExecContext {
            cancel: self.cancel.clone(),
            batch_size,
            pool: self.pool.clone(),
            storage: self.catalog.storage.clone(),
            scans: Default::default(),
            reuse: Default::default(),
            worktables: Default::default(),
            join_sampling: !self
                .disabled_rules()
                .iter()
                .any(|r| r.eq_ignore_ascii_case(crate::physical::statistics::JOIN_SAMPLING_RULE)),
            join_samples: self.join_samples.clone(),
        }
    }

    fn disabled_rules(&self) -> Vec<String> {
        self.setting("quarry.optimizer.disabled_rules")
            .unwrap_or("")
            .split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Run one SQL statement.
    pub fn sql(&mut self, text: &str) -> Result<StatementResult> {
        self.cancel
            .store(false, std::sync::atomic::Ordering::Relaxed);
        crate::functions::math::reset_random_streams();
        let text = self.substitute_variables(text)?;
        let st = parser::parse_statement(&text)?;
        // a panic is a bug; it must not end the session (the REPL goes on)
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.execute(st)))
            .unwrap_or_else(|p| Err(QuarryError::from_panic(p)))
    }

    /// `SET key = value` from outside SQL (the CLI's `--hivevar key=value`): the same
    /// checks as the statement. Errors: a value the setting does not take.
    pub fn set_variable(&mut self, key: &str, value: &str) -> Result<()> {
        self.set(Some(key.to_string()), Some(value.to_string()))
            .map(|_| ())
    }

    /// Spark's variable substitution (`spark.sql.variable.substitute`, on unless set to
    /// `false`; Spark's VariableSubstitution and ConfigReader): `${name}`,
    /// `${hiveconf:name}`, `${hivevar:name}`, `${spark:name}` and `${sparkconf:name}`
    /// are the session setting `name` (`SET name = value`), the empty string where it is
    /// not set, with references inside the value substituted too; `${env:NAME}` is the
    /// environment variable; other forms (`${system:...}`, an unset `env:` variable, an
    /// unknown prefix) stay as written. The whole text is substituted, string literals
    /// included, as in Spark. Errors: a reference that leads back to itself.
    fn substitute_variables<'a>(&self, text: &'a str) -> Result<std::borrow::Cow<'a, str>> {
        if !text.contains("${")
            || self
                .setting("spark.sql.variable.substitute")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"))
        {
            return Ok(std::borrow::Cow::Borrowed(text));
        }
        static REF: std::sync::LazyLock<Option<regex::Regex>> =
            std::sync::LazyLock::new(|| regex::Regex::new(r"\$\{(?:(\w+?):)?(\S+?)\}").ok());
        let Some(re) = REF.as_ref() else {
            return Ok(std::borrow::Cow::Borrowed(text));
        };
        fn subst(
            s: &Session,
            re: &regex::Regex,
            input: &str,
            used: &mut Vec<String>,
        ) -> Result<String> {
            let mut out = String::with_capacity(input.len());
            let mut last = 0;
            for c in re.captures_iter(input) {
                let Some(m) = c.get(0) else { continue };
                out.push_str(&input[last..m.start()]);
                last = m.end();
                let prefix = c.get(1).map(|p| p.as_str().to_ascii_lowercase());
                let name = c.get(2).map_or("", |n| n.as_str());
                let value = match prefix.as_deref() {
                    None | Some("hiveconf" | "hivevar" | "spark" | "sparkconf") => Some(
                        s.setting(name)
                            .or_else(|| s.setting(&name.to_ascii_lowercase()))
                            .unwrap_or("")
                            .to_string(),
                    ),
                    Some("env") => std::env::var(name).ok(),
                    _ => None,
                };
                let Some(value) = value else {
                    out.push_str(m.as_str());
                    continue;
                };
                let reference = m.as_str().to_string();
                if used.contains(&reference) {
                    return Err(QuarryError::Analysis(format!(
                        "Circular reference in {input}: {reference}"
                    )));
                }
                used.push(reference);
                out.push_str(&subst(s, re, &value, used)?);
                used.pop();
            }
            out.push_str(&input[last..]);
            Ok(out)
        }
        Ok(std::borrow::Cow::Owned(subst(self, re, text, &mut vec![])?))
    }

    /// `quarry.stats.autogather.maxpartitions`: up to how many new partitions a statement
    /// gathers statistics for (0 when the setting is not a number).
    fn autogather_max_partitions(&self) -> usize {
        self.setting(STATS_AUTOGATHER_MAX_PARTITIONS)
            .unwrap_or(DEFAULT_AUTOGATHER_MAX_PARTITIONS)
            .parse::<usize>()
            .unwrap_or(0)
    }

    /// `quarry.stats.autogather` (default true).
    fn stats_autogather(&self) -> bool {
        !self
            .setting(STATS_AUTOGATHER)
            .is_some_and(|v| v.eq_ignore_ascii_case("false"))
    }

    fn bind_ctx(&self) -> BindContext<'_> {
        crate::binder::start_statement_clock();
        BindContext {
            catalog: &self.catalog,
            catalogs: &self.catalogs,
            lakes: &self.lakes,
            current_db: &self.current_db,
            temp_views: &self.temp_views,
            arith: crate::binder::coerce::ArithMode {
                integer_division: self
                    .setting("quarry.sql.integer_division")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true")),
                decimal_precision_loss: !self
                    .setting(DECIMAL_PRECISION_LOSS)
                    .is_some_and(|v| v.eq_ignore_ascii_case("false")),
            },
            stats_autogather: self.stats_autogather(),
            legacy_setops_precedence: self
                .setting("spark.sql.legacy.setopsprecedence.enabled")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            legacy_percentile_disc: self
                .setting("spark.sql.legacy.percentiledisccalculation")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            quoted_regex_column_names: self
                .setting("spark.sql.parser.quotedregexcolumnnames")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            grouping: {
                let flag = |key: &str, default: bool| match self.setting(key) {
                    Some(v) if v.eq_ignore_ascii_case("true") => true,
                    Some(v) if v.eq_ignore_ascii_case("false") => false,
                    _ => default,
                };
                crate::binder::GroupingMode {
                    ordinals: flag("spark.sql.groupbyordinal", true),
                    order_ordinals: flag("spark.sql.orderbyordinal", true),
                    aliases: flag("spark.sql.groupbyaliases", true),
                    having_without_group_by_as_where: flag(
                        "spark.sql.legacy.parser.havingwithoutgroupbyaswhere",
                        false,
                    ),
                }
            },
        }
    }

    fn bind(&self, q: &sqlparser::ast::Query) -> Result<LogicalPlan> {
        let ctx = self.bind_ctx();
        let mut b = Binder::new(&ctx);
        Ok(b.bind_query(q)?.0)
    }

    /// [`Session::bind`], with the `CHAR(n)`/`VARCHAR(n)` each output column passes on
    /// from a table column (see `Binder::output_char_types`).
    fn bind_with_char_types(
        &self,
        q: &sqlparser::ast::Query,
    ) -> Result<(LogicalPlan, Vec<Option<crate::types::CharVarchar>>)> {
        let ctx = self.bind_ctx();
        let mut b = Binder::new(&ctx);
        let plan = b.bind_query(q)?.0;
        let types = b.output_char_types(&plan);
        Ok((plan, types))
    }

    fn run_plan(&self, plan: LogicalPlan) -> Result<StatementResult> {
        let schema = crate::physical::schema_of(&plan.schema());
        let disabled = self.disabled_rules();
        let ctx = self.exec_ctx();
        let planner = PhysicalPlanner::new(&ctx, &disabled);
        let plan = planner.optimize(plan, &mut |_, _| {})?;
        let physical = planner.create(&plan)?;
        let batches = collect(&physical, &ctx)?;
        let batches = batches
            .into_iter()
            .map(|b| {
                crate::physical::make_batch(schema.clone(), b.columns().to_vec(), b.num_rows())
            })
            .collect::<Result<_>>()?;
        Ok(StatementResult { schema, batches })
    }

    /// The lake catalog a three-part `catalog.db.table` name is in, if it is in one.
    fn lake(&self, name: &ObjectName) -> Option<&crate::catalog::lake::LakeCatalog> {
        match name.0.as_slice() {
            [c, _, _] => self.lakes.iter().find(|l| l.name.eq_ignore_ascii_case(c)),
            _ => None,
        }
    }

    /// The source of a lake catalog table (`lake.default.t`), schema and partitions
    /// read from its folder now.
    fn lake_source(&self, name: &ObjectName) -> Result<Option<Arc<crate::plan::TableSource>>> {
        let ctx = self.bind_ctx();
        match self.lake(name) {
            Some(_) => {
                let (plan, _) = Binder::new(&ctx).bind_table_name(&name.0, None)?;
                match plan {
                    LogicalPlan::Scan { source, .. } => Ok(Some(source)),
                    _ => Err(QuarryError::Internal(format!(
                        "lake table {name} did not bind to a scan"
                    ))),
                }
            }
            None => Ok(None),
        }
    }

    /// A lake catalog table described as a metastore table would be (external, no
    /// creation time), or `None` when `name` is not in a lake catalog.
    fn lake_meta(&self, name: &ObjectName) -> Result<Option<TableMeta>> {
        let Some(source) = self.lake_source(name)? else {
            return Ok(None);
        };
        Ok(Some(TableMeta {
            database: crate::catalog::lake::LAKE_DATABASE.into(),
            name: name.0.last().cloned().unwrap_or_default(),
            kind: TableKind::External,
            format: source.format,
            location: source.location.clone(),
            columns: source.data_columns.clone(),
            partition_columns: source.partition_columns.clone(),
            options: source.options.clone(),
            properties: BTreeMap::new(),
            view_sql: None,
            created: 0,
        }))
    }

    /// `[catalog.][db.]name` -> (db, name); the catalog part must be a known catalog.
    fn qualify(&self, name: &ObjectName) -> Result<(String, String)> {
        match name.0.as_slice() {
            [t] => Ok((self.current_db.clone(), t.clone())),
            [d, t] => Ok((d.clone(), t.clone())),
            [c, d, t] => {
                if self.lake(name).is_some() {
                    return Err(QuarryError::NotSupported(format!(
                        "this statement on `{c}`.`{d}`.`{t}`: `{c}` is a lake catalog, whose tables are its folders, read as they are (no DDL, INSERT, MSCK or ANALYZE); define a table in a metastore catalog over the folder instead"
                    )));
                }
                if !self.catalogs.iter().any(|k| &k.name == c) {
                    return Err(QuarryError::Analysis(format!(
                        "[CATALOG_NOT_FOUND] The catalog `{c}` is not found"
                    )));
                }
                Ok((d.clone(), t.clone()))
            }
            _ => Err(QuarryError::Analysis(format!("invalid name {name}"))),
        }
    }

    fn execute(&mut self, st: Statement) -> Result<StatementResult> {
        if self.may_change_data(&st) {
            // a cached view's rows are computed again at each use from here on, so a
            // write never leaves it reading rows that are no longer there (Spark
            // invalidates the caches over a table it writes)
            self.uncache_all();
        }
        match st {
            Statement::CacheTable { name, query } => self.cache_table(&name, query),
            Statement::UncacheTable { name, if_exists } => {
                match crate::binder::temp_view_key(&name.0) {
                    Some(key) if self.temp_views.contains_key(&key) => self.uncache(&key),
                    _ if if_exists => {}
                    // a table or persisted view: it must exist, as in Spark
                    _ => {
                        self.table_columns(&name)?;
                    }
                }
                Ok(StatementResult::empty())
            }
            Statement::ClearCache => {
                self.uncache_all();
                Ok(StatementResult::empty())
            }
            Statement::Query(q) => {
                let plan = self.bind(&q)?;
                self.run_plan(plan)
            }
            Statement::Explain {
                analyze,
                verbose,
                statement,
            } => self.explain(*statement, analyze, verbose),
            Statement::CreateDatabase {
                name,
                if_not_exists,
                location,
            } => {
                let loc = match location {
                    Some(l) => Location::parse(&l)?.to_string(),
                    None => self
                        .catalog
                        .warehouse
                        .join(format!("{name}.db"))
                        .to_string_lossy()
                        .into_owned(),
                };
                self.catalog
                    .metastore
                    .create_database(&name, &loc, if_not_exists)?;
                Ok(StatementResult::empty())
            }
            Statement::DropDatabase {
                name,
                if_exists,
                cascade,
            } => {
                if name == "default" {
                    return Err(QuarryError::Analysis(
                        "Can not drop default database".into(),
                    ));
                }
                if !self.catalog.metastore.database_exists(&name)? {
                    if if_exists {
                        return Ok(StatementResult::empty());
                    }
                    return Err(QuarryError::Analysis(format!(
                        "[SCHEMA_NOT_FOUND] The schema `{name}` cannot be found"
                    )));
                }
                let managed: Vec<TableMeta> = if cascade {
                    self.catalog
                        .metastore
                        .list_tables(&name)?
                        .iter()
                        .filter_map(|t| self.catalog.metastore.get_table(&name, t).ok().flatten())
                        .filter(|t| t.kind == TableKind::Managed)
                        .collect()
                } else {
                    vec![]
                };
                self.catalog.metastore.drop_database(&name, cascade)?;
                for t in managed {
                    let _ = std::fs::remove_dir_all(&t.location);
                }
                if self.current_db == name {
                    self.current_db = "default".into();
                }
                Ok(StatementResult::empty())
            }
            Statement::Use { name } => {
                if !self.catalog.metastore.database_exists(&name)? {
                    let dbs = self.catalog.metastore.list_databases()?;
                    return Err(QuarryError::Analysis(format!(
                        "[SCHEMA_NOT_FOUND] The schema `{name}` cannot be found{}",
                        crate::catalog::did_you_mean(&name, dbs.iter().map(|s| s.as_str()))
                    )));
                }
                self.current_db = name;
                Ok(StatementResult::empty())
            }
            Statement::ShowDatabases => {
                let rows = self
                    .catalog
                    .metastore
                    .list_databases()?
                    .into_iter()
                    .map(|d| vec![d])
                    .collect();
                StatementResult::strings(&["namespace"], rows)
            }
            Statement::ShowCatalogs => {
                let rows = self.catalogs.iter().map(|c| vec![c.name.clone()]).collect();
                StatementResult::strings(&["catalog"], rows)
            }
            Statement::ShowTables {
                database,
                views,
                pattern,
            } => {
                let mut rows = self.show_tables(database, views)?;
                if let Some(p) = &pattern {
                    rows.retain(|r| crate::catalog::matches_show_pattern(&r[1], p));
                }
                self.show_tables_result(rows, views)
            }
            Statement::ShowColumns { table } => {
                let cols = self.table_columns(&table)?;
                StatementResult::strings(
                    &["col_name"],
                    cols.into_iter().map(|c| vec![c.name]).collect(),
                )
            }
            Statement::ShowCreateTable { table } => {
                if self.is_temp_view(&table) {
                    return Err(QuarryError::Analysis(format!(
                        "[UNSUPPORTED_FEATURE.SHOW_CREATE_TABLE] SHOW CREATE TABLE is not supported on the temporary view {}",
                        table.0.join(".")
                    )));
                }
                let meta = self.table_meta(&table)?;
                StatementResult::strings(&["createtab_stmt"], vec![vec![create_statement(&meta)]])
            }
            Statement::ShowTblProperties { table, key } => {
                // a temporary view has no properties (Spark's ShowTablePropertiesCommand)
                let (what, properties) = if self.is_temp_view(&table) {
                    (table.0.join("."), BTreeMap::new())
                } else {
                    let meta = self.table_meta(&table)?;
                    (
                        format!("spark_catalog.{}.{}", meta.database, meta.name),
                        meta.shown_properties(),
                    )
                };
                let rows = match key {
                    Some(k) => {
                        let v = properties
                            .get(&k)
                            .cloned()
                            .unwrap_or_else(|| format!("Table {what} does not have property: {k}"));
                        vec![vec![k, v]]
                    }
                    None => properties.into_iter().map(|(k, v)| vec![k, v]).collect(),
                };
                StatementResult::strings(&["key", "value"], rows)
            }
            Statement::ShowPartitions { table } => {
                let (db, name) = self.qualify(&table)?;
                let meta = self.catalog.require_table(&db, &name)?;
                if !meta.is_partitioned() {
                    return Err(QuarryError::Analysis(format!(
                        "[INVALID_PARTITION_OPERATION.PARTITION_SCHEMA_IS_EMPTY] SHOW PARTITIONS is not allowed on `{db}`.`{name}`, a table that is not partitioned"
                    )));
                }
                let keys = meta.partition_keys();
                let rows = self
                    .catalog
                    .metastore
                    .list_partitions(&db, &name)?
                    .into_iter()
                    .map(|p| vec![crate::catalog::hive::partition_path(&keys, &p.values)])
                    .collect();
                StatementResult::strings(&["partition"], rows)
            }
            Statement::DescribeQuery { query } => {
                let Statement::Query(q) = *query else {
                    return Err(QuarryError::Internal(
                        "DESCRIBE QUERY of a non-query".into(),
                    ));
                };
                let plan = self.bind(&q)?;
                let rows = plan
                    .schema()
                    .into_iter()
                    .map(|c| vec![c.name, type_name(&c.data_type), "NULL".into()])
                    .collect();
                StatementResult::strings(&["col_name", "data_type", "comment"], rows)
            }
            Statement::Describe {
                table,
                extended,
                column: None,
            } => self.describe(&table, extended),
            Statement::Describe {
                table,
                extended,
                column: Some(c),
            } => self.describe_column(&table, &c, extended),
            Statement::DescribePartition {
                table,
                extended,
                spec,
            } => self.describe_partition(&table, extended, &spec),
            Statement::Analyze {
                table,
                partition,
                mode,
            } => self.analyze(&table, partition, mode),
            Statement::CreateTable(ct) => self.create_table(*ct),
            Statement::CreateView {
                name,
                temporary,
                or_replace,
                if_not_exists,
                sql,
                query,
                properties,
            } => {
                // validate now: a view that does not bind is an error at creation
                let plan = self.bind(&query)?;
                let cols = plan.schema();
                Self::check_view_columns(&cols)?;
                if temporary {
                    let key = crate::binder::temp_view_key(&name.0)
                        .unwrap_or_else(|| name.0.last().cloned().unwrap_or_default());
                    if self.temp_views.contains_key(&key) && !or_replace {
                        if if_not_exists {
                            return Ok(StatementResult::empty());
                        }
                        return Err(QuarryError::Analysis(format!("[TEMP_TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create the temporary view `{key}` because it already exists; use CREATE OR REPLACE")));
                    }
                    self.temp_views.insert(key, TempView::Query { sql, query });
                    return Ok(StatementResult::empty());
                }
                let (db, vname) = self.qualify(&name)?;
                if let Some(existing) = self.catalog.metastore.get_table(&db, &vname)? {
                    if if_not_exists {
                        return Ok(StatementResult::empty());
                    }
                    if existing.kind != TableKind::View {
                        return Err(QuarryError::Analysis(format!(
                            "`{db}`.`{vname}` is a table, not a view"
                        )));
                    }
                    if !or_replace {
                        return Err(QuarryError::Catalog(format!("[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create view `{db}`.`{vname}` because it already exists")));
                    }
                }
                let meta = TableMeta {
                    database: db,
                    name: vname,
                    kind: TableKind::View,
                    format: FileFormat::Parquet,
                    location: String::new(),
                    columns: cols
                        .iter()
                        .map(|c| ColumnDef::new(c.name.clone(), c.data_type.clone()))
                        .collect(),
                    partition_columns: vec![],
                    options: BTreeMap::new(),
                    properties,
                    view_sql: Some(sql),
                    created: 0,
                };
                self.catalog.metastore.create_table(&meta, true)?;
                Ok(StatementResult::empty())
            }
            Statement::CreateTempViewUsing {
                name,
                or_replace,
                format,
                options,
            } => {
                let path = options.get("path").cloned().ok_or_else(|| {
                    QuarryError::Analysis(
                        "CREATE TEMPORARY VIEW ... USING needs OPTIONS (path '...')".into(),
                    )
                })?;
                if self.temp_views.contains_key(&name) && !or_replace {
                    return Err(QuarryError::Analysis(format!("[TEMP_TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create the temporary view `{name}` because it already exists")));
                }
                // check now that the files are there and readable
                crate::binder::files_source(
                    &self.catalog.storage,
                    &path,
                    format,
                    options.clone(),
                    &name,
                )?;
                self.temp_views.insert(
                    name,
                    TempView::Files {
                        format,
                        options,
                        path,
                    },
                );
                Ok(StatementResult::empty())
            }
            Statement::DropTable {
                name,
                if_exists,
                view,
            } => self.drop_table(&name, if_exists, view),
            Statement::Msck { table, mode } => self.msck(&table, mode),
            Statement::AddPartitions {
                table,
                if_not_exists,
                parts,
            } => self.add_partitions(&table, if_not_exists, parts),
            Statement::DropPartitions {
                table,
                if_exists,
                specs,
            } => self.drop_partitions(&table, if_exists, specs),
            Statement::Truncate { table, partition } => self.truncate(&table, partition),
            Statement::Refresh { table } => {
                // S3 listings and footers are cached per session: drop those under the
                // table's location (and its partitions' own locations)
                if let Some(lake) = self.lake(&table) {
                    let (d, t) = (&table.0[1], &table.0[2]);
                    let loc = lake.root.join(t);
                    self.catalog.storage.invalidate(&loc);
                    lake.table_location(&self.catalog.storage, d, t)?;
                    return Ok(StatementResult::empty());
                }
                if let Some(key) = crate::binder::temp_view_key(&table.0)
                    .filter(|k| self.temp_views.contains_key(k))
                {
                    if let Some(TempView::Files { path, .. }) = self.temp_views.get(&key) {
                        self.catalog.storage.invalidate(&Location::parse(path)?);
                    }
                    return Ok(StatementResult::empty());
                }
                let (db, name) = self.qualify(&table)?;
                let meta = self.catalog.require_table(&db, &name)?;
                self.catalog
                    .storage
                    .invalidate(&Location::parse(&meta.location)?);
                if meta.is_partitioned() {
                    let parts = self.catalog.metastore.list_partitions(&db, &name)?;
                    for p in &parts {
                        self.catalog
                            .storage
                            .invalidate(&Location::parse(&p.location)?);
                    }
                    // the partitions' footer statistics are read again
                    self.gather_partition_statistics(&meta, &parts)?;
                }
                Ok(StatementResult::empty())
            }
            Statement::RefreshPath { path } => {
                self.catalog.storage.invalidate(&Location::parse(&path)?);
                Ok(StatementResult::empty())
            }
            Statement::Insert {
                table,
                overwrite,
                partition,
                columns,
                by_name,
                query,
            } => {
                let mode = if overwrite {
                    WriteMode::Overwrite
                } else {
                    WriteMode::Append
                };
                self.insert(&table, mode, &partition, &columns, by_name, &query)
            }
            Statement::InsertDirectory {
                path,
                format,
                options,
                query,
            } => self.insert_directory(&path, format, &options, &query),
            Statement::MultiInsert(inserts) => {
                for st in inserts {
                    self.execute(st)?;
                }
                Ok(StatementResult::empty())
            }
            Statement::AlterTable { table, action } => self.alter_table(&table, action),
            Statement::AlterView { name, sql, query } => {
                // a temporary view of that name first (as name resolution), then a
                // persisted view; the new query must bind, as at CREATE
                let temporary = self.is_temp_view(&name);
                let mut properties = BTreeMap::new();
                if !temporary {
                    let (db, v) = self.qualify(&name)?;
                    let meta = self.catalog.require_table(&db, &v)?;
                    if meta.kind != TableKind::View {
                        return Err(QuarryError::Analysis(format!(
                            "[EXPECT_VIEW_NOT_TABLE.NO_ALTERNATIVE] 'ALTER VIEW ... AS' expects a view but `{db}`.`{v}` is a table."
                        )));
                    }
                    // the view keeps its properties (Spark's AlterViewAsCommand)
                    properties = meta.properties;
                }
                self.execute(Statement::CreateView {
                    name,
                    temporary,
                    or_replace: true,
                    if_not_exists: false,
                    sql,
                    query,
                    properties,
                })
            }
            Statement::Delete(d) => self.rewrite_rows("DELETE", *d),
            Statement::Update(u) => self.rewrite_rows("UPDATE", *u),
            Statement::Set { key, value } => self.set(key, value),
            Statement::Prepare { name, sql } => {
                // the statement must parse now, its parameters in place of values
                parser::parse_statement(&sql)?;
                self.prepared.insert(name, sql);
                Ok(StatementResult::empty())
            }
            Statement::Execute { name, args } => {
                let sql = self.prepared.get(&name).ok_or_else(|| {
                    QuarryError::Analysis(format!(
                        "prepared statement `{name}` does not exist (PREPARE {name} AS ...)"
                    ))
                })?;
                let text = parser::bind_parameters(sql, &args, &[])?;
                self.execute(parser::parse_statement(&text)?)
            }
            Statement::ExecuteImmediate { sql, args } => {
                let (named, positional): (Vec<_>, Vec<_>) =
                    args.into_iter().partition(|(_, n)| n.is_some());
                let named: Vec<(String, String)> = named
                    .into_iter()
                    .filter_map(|(v, n)| n.map(|n| (n, v)))
                    .collect();
                let positional: Vec<String> = positional.into_iter().map(|(v, _)| v).collect();
                if !named.is_empty() && !positional.is_empty() {
                    return Err(QuarryError::Analysis(
                        "[INVALID_QUERY_MIXED_QUERY_PARAMETERS] Parameterized query must either use positional, or named parameters, but not both".into(),
                    ));
                }
                let text = parser::bind_parameters(&sql, &positional, &named)?;
                self.execute(parser::parse_statement(&text)?)
            }
            Statement::Deallocate { name } => {
                self.prepared.remove(&name);
                Ok(StatementResult::empty())
            }
            Statement::Reset { key } => {
                match key {
                    Some(k) if k == THREADS_SETTING => {
                        self.pool = build_pool(self.initial_threads)?;
                        self.settings.insert(k, self.initial_threads.to_string());
                    }
                    Some(k) if k.starts_with(S3_PREFIX) => {
                        self.catalog
                            .storage
                            .set_session(&k[S3_PREFIX.len()..], None)?;
                        self.settings.remove(&k);
                    }
                    Some(k) => {
                        match DEFAULT_SETTINGS.iter().find(|(d, _)| *d == k) {
                            Some((_, v)) => self.settings.insert(k, v.to_string()),
                            None => self.settings.remove(&k),
                        };
                    }
                    None => {
                        if self.threads() != self.initial_threads {
                            self.pool = build_pool(self.initial_threads)?;
                        }
                        let s3: Vec<String> = self
                            .settings
                            .keys()
                            .filter(|k| k.starts_with(S3_PREFIX))
                            .cloned()
                            .collect();
                        for k in s3 {
                            self.catalog
                                .storage
                                .set_session(&k[S3_PREFIX.len()..], None)?;
                        }
                        self.reset_settings();
                    }
                }
                Ok(StatementResult::empty())
            }
        }
    }

    fn set(&mut self, key: Option<String>, value: Option<String>) -> Result<StatementResult> {
        let shown = |k: &str, v: &str| datasource::s3::shown_value(k, v).to_string();
        match (key, value) {
            (None, _) => {
                let rows = self
                    .settings
                    .iter()
                    .map(|(k, v)| vec![k.clone(), shown(k, v)])
                    .collect();
                StatementResult::strings(&["key", "value"], rows)
            }
            (Some(k), None) => {
                let v = self
                    .settings
                    .get(&k)
                    .map(|v| shown(&k, v))
                    .unwrap_or_else(|| "<undefined>".into());
                StatementResult::strings(&["key", "value"], vec![vec![k, v]])
            }
            (Some(k), Some(v)) => {
                if let Some(s3_key) = k.strip_prefix(S3_PREFIX) {
                    self.catalog.storage.set_session(s3_key, Some(&v))?;
                }
                match k.as_str() {
                    "quarry.sql.integer_division" | DECIMAL_PRECISION_LOSS | STATS_AUTOGATHER
                        if !matches!(v.to_ascii_lowercase().as_str(), "true" | "false") =>
                    {
                        return Err(QuarryError::Analysis(format!(
                            "{k} must be true or false, got '{v}'"
                        )));
                    }
                    PARTITION_OVERWRITE_MODE
                        if !matches!(v.to_ascii_lowercase().as_str(), "static" | "dynamic") =>
                    {
                        return Err(QuarryError::Analysis(format!(
                            "[INVALID_CONF_VALUE] The value '{v}' in the config \"{k}\" is invalid: it must be STATIC or DYNAMIC"
                        )));
                    }
                    "quarry.cli.max_rows"
                    | "quarry.execution.batch_size"
                    | STATS_AUTOGATHER_MAX_PARTITIONS
                        if v.parse::<usize>().is_err() =>
                    {
                        return Err(QuarryError::Analysis(format!(
                            "{k} must be a non-negative integer, got '{v}'"
                        )));
                    }
                    // Quarry reads and shows timestamps in UTC: another zone would be
                    // a setting that changes nothing, so it is refused
                    parser::SESSION_TIME_ZONE => {
                        let zone = v.trim();
                        let local = zone.eq_ignore_ascii_case("LOCAL");
                        if zone.to_ascii_uppercase().starts_with("INTERVAL") {
                            return Err(QuarryError::NotSupported(format!(
                                "SET TIME ZONE {v} (name a zone: Quarry's session time zone is UTC)"
                            )));
                        }
                        if !local
                            && !crate::functions::datetime::is_utc_zone(&v).map_err(|e| {
                                QuarryError::Analysis(format!(
                                    "[INVALID_CONF_VALUE.TIME_ZONE] The value '{v}' in the config \"{k}\" is invalid: {e}"
                                ))
                            })?
                        {
                            return Err(QuarryError::NotSupported(format!(
                                "session time zone '{v}': Quarry's session time zone is UTC (timestamps are read and shown in UTC); convert values with from_utc_timestamp(ts, '{v}')"
                            )));
                        }
                    }
                    THREADS_SETTING => match v.trim().parse::<usize>() {
                        Ok(n) if (1..=1024).contains(&n) => self.pool = build_pool(n)?,
                        _ => {
                            return Err(QuarryError::Analysis(format!(
                                "{k} must be an integer from 1 to 1024, got '{v}'"
                            )))
                        }
                    },
                    "quarry.optimizer.disabled_rules" => {
                        let mut known: Vec<&str> = vec![];
                        for r in crate::optimizer::rules() {
                            if !known.contains(&r.name()) {
                                known.push(r.name());
                            }
                        }
                        known.push(crate::physical::reuse::RULE_NAME);
                        known.push(crate::physical::planner::JOIN_FILTERS_RULE);
                        known.push(crate::physical::statistics::JOIN_SAMPLING_RULE);
                        for r in v.split(',').map(|s| s.trim()).filter(|s| !s.is_empty()) {
                            if !known.iter().any(|k| k.eq_ignore_ascii_case(r)) {
                                return Err(QuarryError::Analysis(format!(
                                    "unknown optimizer rule '{r}' (rules: {})",
                                    known.join(", ")
                                )));
                            }
                        }
                    }
                    _ => {}
                }
                let display = shown(&k, &v);
                self.settings.insert(k.clone(), v);
                StatementResult::strings(&["key", "value"], vec![vec![k, display]])
            }
        }
    }

    fn explain(&mut self, st: Statement, analyze: bool, verbose: bool) -> Result<StatementResult> {
        let Statement::Query(q) = st else {
            return Err(QuarryError::NotSupported(
                "EXPLAIN of a statement other than a query".into(),
            ));
        };
        let planning = std::time::Instant::now();
        let plan = self.bind(&q)?;
        let mut text = format!("== Logical Plan ==\n{plan}");
        let disabled = self.disabled_rules();
        let mut trace = String::new();
        let ctx = self.exec_ctx();
        let planner = PhysicalPlanner::new(&ctx, &disabled);
        let optimized = planner.optimize(plan, &mut |rule, p| {
            if verbose {
                trace.push_str(&format!("== After {rule} ==\n{p}"));
            }
        })?;
        text.push_str(&trace);
        // estimated rows per node, and cost: the rows of the node and all below it
        let mut costs: std::collections::HashMap<usize, f64> = Default::default();
        let annotated = optimized.display_with(&mut |p: &LogicalPlan| {
            let rows = planner.estimate(p).map(|s| s.rows).unwrap_or(f64::NAN);
            let below: f64 = p
                .inputs()
                .iter()
                .map(|i| {
                    costs
                        .get(&(*i as *const LogicalPlan as usize))
                        .copied()
                        .unwrap_or(0.0)
                })
                .sum();
            costs.insert(p as *const LogicalPlan as usize, rows + below);
            format!(
                "  [est_rows={} cost={}]",
                crate::optimizer::stats::fmt_rows(rows),
                crate::optimizer::stats::fmt_rows(rows + below)
            )
        });
        text.push_str(&format!("== Optimized Logical Plan ==\n{annotated}"));
        let start = std::time::Instant::now();
        let physical = planner.create(&optimized)?;
        let planned_ms = planning.elapsed().as_secs_f64() * 1e3;
        if analyze {
            let batches = collect(&physical, &ctx)?;
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            text.push_str(&format!(
                "== Physical Plan (analyzed: {rows} rows in {:.3} ms; planned in {planned_ms:.3} ms) ==\n",
                start.elapsed().as_secs_f64() * 1e3
            ));
            text.push_str(&display_plan(&physical, true));
        } else {
            text.push_str("== Physical Plan ==\n");
            text.push_str(&display_plan(&physical, false));
        }
        StatementResult::strings(&["plan"], vec![vec![text]])
    }

    /// `SHOW TABLES [IN db | IN catalog.db | IN lake]`'s rows (namespace, tableName,
    /// isTemporary): a metastore database's tables (the current one's when `database` is
    /// None) and the session's temp views, or a lake catalog's folders; with `views`, SHOW
    /// VIEWS' rows: views only.
    fn show_tables(&self, database: Option<ObjectName>, views: bool) -> Result<Vec<Vec<String>>> {
        let parts = database.map(|d| d.0).unwrap_or_default();
        let lake = parts
            .first()
            .and_then(|c| self.lakes.iter().find(|l| l.name.eq_ignore_ascii_case(c)));
        let mut rows: Vec<Vec<String>> = vec![];
        if let Some(lake) = lake {
            if let [_, d] = parts.as_slice() {
                if !d.eq_ignore_ascii_case(crate::catalog::lake::LAKE_DATABASE) {
                    return Err(QuarryError::Analysis(format!(
                        "[SCHEMA_NOT_FOUND] The schema `{}`.`{d}` cannot be found: a lake catalog has one database, `default`",
                        lake.name
                    )));
                }
            }
            // a lake catalog's tables are folders; it has no views
            if !views {
                for t in lake.list_tables(&self.catalog.storage)? {
                    rows.push(vec!["default".into(), t, "false".into()]);
                }
            }
        } else {
            let db = match parts.as_slice() {
                [] => self.current_db.clone(),
                [d] => d.clone(),
                [c, d] => {
                    if !self.catalogs.iter().any(|k| k.name.eq_ignore_ascii_case(c)) {
                        return Err(QuarryError::Analysis(format!(
                            "[CATALOG_NOT_FOUND] The catalog `{c}` is not found"
                        )));
                    }
                    d.clone()
                }
                _ => {
                    return Err(QuarryError::Analysis(format!(
                        "invalid database name {}",
                        parts.join(".")
                    )))
                }
            };
            let global = format!("{}.", crate::binder::GLOBAL_TEMP_DATABASE);
            let mut temps: Vec<&String> = self.temp_views.keys().collect();
            temps.sort();
            // the session's local temporary views, listed in every database
            let local_rows = || {
                temps
                    .iter()
                    .filter(|t| !t.starts_with(&global))
                    .map(|t| vec![String::new(), t.to_string(), "true".into()])
                    .collect::<Vec<Vec<String>>>()
            };
            if db.eq_ignore_ascii_case(crate::binder::GLOBAL_TEMP_DATABASE) {
                // Spark: the global temporary views, then the session's local ones
                rows = temps
                    .iter()
                    .filter_map(|t| t.strip_prefix(&global))
                    .map(|t| {
                        vec![
                            crate::binder::GLOBAL_TEMP_DATABASE.to_string(),
                            t.to_string(),
                            "true".into(),
                        ]
                    })
                    .collect();
                rows.extend(local_rows());
                return Ok(rows);
            }
            if !self.catalog.metastore.database_exists(&db)? {
                return Err(QuarryError::Analysis(format!(
                    "[SCHEMA_NOT_FOUND] The schema `{db}` cannot be found"
                )));
            }
            for t in self.catalog.metastore.list_tables(&db)? {
                if views {
                    let meta = self.catalog.metastore.get_table(&db, &t)?;
                    if !meta.is_some_and(|m| m.kind == crate::catalog::TableKind::View) {
                        continue;
                    }
                }
                rows.push(vec![db.clone(), t, "false".into()]);
            }
            rows.extend(local_rows());
        }
        Ok(rows)
    }

    /// SHOW TABLES' answer: (namespace, tableName, isTemporary) rows; SHOW VIEWS' names
    /// its second column viewName, as Spark.
    fn show_tables_result(&self, rows: Vec<Vec<String>>, views: bool) -> Result<StatementResult> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("namespace", DataType::Utf8, true),
            Field::new(
                if views { "viewName" } else { "tableName" },
                DataType::Utf8,
                true,
            ),
            Field::new("isTemporary", DataType::Boolean, true),
        ]));
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(
                rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                rows.iter().map(|r| r[1].clone()).collect::<Vec<_>>(),
            )),
            Arc::new(BooleanArray::from(
                rows.iter().map(|r| r[2] == "true").collect::<Vec<_>>(),
            )),
        ];
        Ok(StatementResult {
            schema: schema.clone(),
            batches: vec![RecordBatch::try_new(schema, cols)?],
        })
    }

    /// Columns of a table or view (temp views first).
    fn table_columns(&self, table: &ObjectName) -> Result<Vec<ColumnDef>> {
        if self.is_temp_view(table) {
            let ctx = self.bind_ctx();
            let mut b = Binder::new(&ctx);
            let (plan, _) = b.bind_table_name(&table.0, None)?;
            return Ok(plan
                .schema()
                .into_iter()
                .map(|c| ColumnDef::new(c.name, c.data_type))
                .collect());
        }
        Ok(self.table_meta(table)?.all_columns())
    }

    /// The definition of the table or persisted view `name`: a lake catalog's, or the
    /// metastore's. Errors: an unknown catalog or database, `[TABLE_OR_VIEW_NOT_FOUND]`.
    fn table_meta(&self, name: &ObjectName) -> Result<TableMeta> {
        if let Some(meta) = self.lake_meta(name)? {
            return Ok(meta);
        }
        let (db, t) = self.qualify(name)?;
        self.catalog.require_table(&db, &t)
    }

    /// Spark's check of a view's columns: no two names equal, case ignored.
    fn check_view_columns(columns: &[crate::plan::Column]) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        for c in columns {
            if !seen.insert(c.name.to_ascii_lowercase()) {
                return Err(QuarryError::Analysis(format!(
                    "[COLUMN_ALREADY_EXISTS] The column `{}` already exists in the view; alias it",
                    c.name
                )));
            }
        }
        Ok(())
    }

    /// `DESCRIBE [EXTENDED] t col`, as Spark: name, type, comment, and with EXTENDED the
    /// statistics `ANALYZE TABLE ... FOR COLUMNS` stored (NULL where none).
    fn describe_column(
        &self,
        table: &ObjectName,
        column: &str,
        extended: bool,
    ) -> Result<StatementResult> {
        let cols = self.table_columns(table)?;
        let Some(c) = cols.iter().find(|c| c.name.eq_ignore_ascii_case(column)) else {
            return Err(QuarryError::Analysis(format!(
                "[COLUMN_NOT_FOUND] The column `{column}` cannot be found in `{}`{}",
                table.0.join("."),
                crate::catalog::did_you_mean(column, cols.iter().map(|c| c.name.as_str()))
            )));
        };
        let mut rows = vec![
            vec!["col_name".to_string(), c.name.clone()],
            vec!["data_type".into(), c.type_text()],
            vec![
                "comment".into(),
                c.comment.clone().unwrap_or_else(|| "NULL".into()),
            ],
        ];
        let is_temp = self.is_temp_view(table);
        if extended {
            let st = if is_temp || self.lake(table).is_some() {
                None
            } else {
                let (db, name) = self.qualify(table)?;
                self.catalog
                    .metastore
                    .get_statistics(&db, &name, "")?
                    .and_then(|s| s.columns.get(&c.name.to_ascii_lowercase()).cloned())
            };
            let null = || "NULL".to_string();
            let v = |f: &dyn Fn(&crate::catalog::ColumnStatisticsMeta) -> Option<String>| {
                st.as_ref().and_then(f).unwrap_or_else(null)
            };
            rows.push(vec!["min".into(), v(&|s| s.min.clone())]);
            rows.push(vec!["max".into(), v(&|s| s.max.clone())]);
            rows.push(vec![
                "num_nulls".into(),
                v(&|s| Some(s.null_count.to_string())),
            ]);
            rows.push(vec![
                "distinct_count".into(),
                v(&|s| Some(s.distinct_count.to_string())),
            ]);
            rows.push(vec![
                "avg_col_len".into(),
                v(&|s| Some(s.avg_len.to_string())),
            ]);
            rows.push(vec![
                "max_col_len".into(),
                v(&|s| Some(s.max_len.to_string())),
            ]);
            match st.as_ref().and_then(|s| s.histogram.clone()) {
                Some(h) if h.len() >= 2 => {
                    let bins = h.len() - 1;
                    rows.push(vec!["histogram".into(), format!("num_of_bins: {bins}")]);
                    for k in 0..bins {
                        rows.push(vec![
                            format!("bin_{k}"),
                            format!("lower_bound: {}, upper_bound: {}", h[k], h[k + 1]),
                        ]);
                    }
                }
                _ => rows.push(vec!["histogram".into(), null()]),
            }
        }
        StatementResult::strings(&["info_name", "info_value"], rows)
    }

    /// `DESCRIBE [EXTENDED] t PARTITION (...)` as Spark prints it: the columns, then
    /// with EXTENDED the partition's values, location, parameters (files, bytes, rows)
    /// and statistics.
    fn describe_partition(
        &self,
        table: &ObjectName,
        extended: bool,
        spec: &PartitionSpec,
    ) -> Result<StatementResult> {
        if self.is_temp_view(table) {
            return Err(QuarryError::Analysis(format!(
                "[FORBIDDEN_OPERATION] The operation DESC PARTITION is not allowed on the TEMPORARY VIEW: `{}`.",
                table.0.join(".")
            )));
        }
        let meta = self.partitioned_table(table, "DESCRIBE ... PARTITION")?;
        let vals = Self::full_spec(&meta, spec)?;
        let keys = meta.partition_keys();
        let path = crate::catalog::hive::partition_path(&keys, &vals);
        let part = self
            .catalog
            .metastore
            .list_partitions(&meta.database, &meta.name)?
            .into_iter()
            .find(|p| p.values == vals)
            .ok_or_else(|| {
                QuarryError::Analysis(format!(
                    "[PARTITIONS_NOT_FOUND] The partition(s) PARTITION ({}) cannot be found in table `{}`.`{}`",
                    path.replace('/', ", "),
                    meta.database,
                    meta.name
                ))
            })?;
        let mut rows = describe_columns(&meta);
        let row = |a: &str, b: String| vec![a.to_string(), b, String::new()];
        if extended {
            rows.push(row("", String::new()));
            rows.push(row("# Detailed Partition Information", String::new()));
            rows.push(row("Database", meta.database.clone()));
            rows.push(row("Table", meta.name.clone()));
            let shown: Vec<String> = keys
                .iter()
                .zip(&vals)
                .map(|(k, v)| {
                    format!(
                        "{k}={}",
                        v.as_deref().unwrap_or("__HIVE_DEFAULT_PARTITION__")
                    )
                })
                .collect();
            rows.push(row("Partition Values", format!("[{}]", shown.join(", "))));
            rows.push(row("Location", shown_location(&part.location)));
            if let Some(st) =
                self.catalog
                    .metastore
                    .get_statistics(&meta.database, &meta.name, &path)?
            {
                let mut params = vec![];
                if let Some(f) = st.files {
                    params.push(format!("numFiles={f}"));
                }
                params.push(format!("totalSize={}", st.size_bytes));
                if let Some(r) = st.rows {
                    params.push(format!("numRows={r}"));
                }
                rows.push(row(
                    "Partition Parameters",
                    format!("{{{}}}", params.join(", ")),
                ));
                let mut text = format!("{} bytes", st.size_bytes);
                if let Some(r) = st.rows {
                    text.push_str(&format!(", {r} rows"));
                }
                rows.push(row("Partition Statistics", text));
            }
        }
        StatementResult::strings(&["col_name", "data_type", "comment"], rows)
    }

    fn describe(&self, table: &ObjectName, extended: bool) -> Result<StatementResult> {
        let mut rows: Vec<Vec<String>> = vec![];
        let is_temp = self.is_temp_view(table);
        if is_temp {
            for c in self.table_columns(table)? {
                rows.push(vec![c.name, type_name(&c.data_type), "NULL".into()]);
            }
            return StatementResult::strings(&["col_name", "data_type", "comment"], rows);
        }
        let lake = self.lake_meta(table)?;
        let (db, name, meta) = match &lake {
            Some(m) => (m.database.clone(), m.name.clone(), m.clone()),
            None => {
                let (db, name) = self.qualify(table)?;
                let meta = self.catalog.require_table(&db, &name)?;
                (db, name, meta)
            }
        };
        rows.extend(describe_columns(&meta));
        if extended {
            rows.push(vec![String::new(), String::new(), String::new()]);
            rows.push(vec![
                "# Detailed Table Information".into(),
                String::new(),
                String::new(),
            ]);
            let catalog_name = match self.lake(table) {
                Some(l) => l.name.clone(),
                None => self
                    .catalogs
                    .iter()
                    .find(|c| c.default)
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
            };
            rows.push(vec!["Catalog".into(), catalog_name, String::new()]);
            rows.push(vec![
                "Database".into(),
                meta.database.clone(),
                String::new(),
            ]);
            rows.push(vec!["Table".into(), meta.name.clone(), String::new()]);
            let created = chrono::DateTime::from_timestamp(meta.created, 0)
                .map(|d| d.format("%a %b %d %H:%M:%S UTC %Y").to_string())
                .unwrap_or_default();
            if lake.is_none() {
                rows.push(vec!["Created Time".into(), created, String::new()]);
            }
            let kind = match meta.kind {
                TableKind::External => "EXTERNAL",
                TableKind::Managed => "MANAGED",
                TableKind::View => "VIEW",
            };
            rows.push(vec!["Type".into(), kind.into(), String::new()]);
            if let Some(c) = meta.comment() {
                rows.push(vec!["Comment".into(), c.clone(), String::new()]);
            }
            if meta.kind == TableKind::View {
                rows.push(vec![
                    "View Text".into(),
                    meta.view_sql.clone().unwrap_or_default(),
                    String::new(),
                ]);
            } else {
                rows.push(vec![
                    "Provider".into(),
                    meta.format.name().into(),
                    String::new(),
                ]);
                rows.push(vec![
                    "Location".into(),
                    shown_location(&meta.location),
                    String::new(),
                ]);
                let st = match lake {
                    Some(_) => None,
                    None => self.catalog.metastore.get_statistics(&db, &name, "")?,
                };
                if let Some(st) = st {
                    let mut text = format!("{} bytes", st.size_bytes);
                    if let Some(r) = st.rows {
                        text.push_str(&format!(", {r} rows"));
                    }
                    rows.push(vec!["Statistics".into(), text, String::new()]);
                }
                // Spark's `[k=v, ...]` rows
                for (label, map) in [
                    ("Table Properties", &meta.shown_properties()),
                    ("Storage Properties", &meta.options),
                ] {
                    if !map.is_empty() {
                        let o: Vec<String> = map
                            .iter()
                            .map(|(k, v)| {
                                format!(
                                    "{k}={}",
                                    datasource::s3::shown_value(k, v).escape_default()
                                )
                            })
                            .collect();
                        rows.push(vec![
                            label.into(),
                            format!("[{}]", o.join(", ")),
                            String::new(),
                        ]);
                    }
                }
                // a lake table's partitions are its folders, not registered ones
                if meta.is_partitioned() && lake.is_none() {
                    rows.push(vec![
                        "Partition Provider".into(),
                        "Catalog".into(),
                        String::new(),
                    ]);
                }
            }
        }
        StatementResult::strings(&["col_name", "data_type", "comment"], rows)
    }

    /// Whether `st` may change rows that a cached view was computed from: anything but
    /// queries, SHOW/DESCRIBE, settings, the cache statements, and CREATE of a new name.
    fn may_change_data(&self, st: &Statement) -> bool {
        match st {
            Statement::Query(_)
            | Statement::Explain { .. }
            | Statement::Use { .. }
            | Statement::ShowDatabases
            | Statement::ShowCatalogs
            | Statement::ShowTables { .. }
            | Statement::ShowColumns { .. }
            | Statement::ShowTblProperties { .. }
            | Statement::ShowPartitions { .. }
            | Statement::ShowCreateTable { .. }
            | Statement::Describe { .. }
            | Statement::DescribeQuery { .. }
            | Statement::DescribePartition { .. }
            | Statement::CreateDatabase { .. }
            | Statement::Set { .. }
            | Statement::Reset { .. }
            | Statement::Prepare { .. }
            | Statement::Deallocate { .. }
            // a prepared statement's own execute decides
            | Statement::Execute { .. }
            | Statement::ExecuteImmediate { .. }
            | Statement::CacheTable { .. }
            | Statement::UncacheTable { .. }
            | Statement::ClearCache => false,
            // a CREATE replaces something unless its name is new (an error reading the
            // metastore counts as not new)
            Statement::CreateView { name, .. } => self.is_temp_view(name) || self.in_metastore(name),
            Statement::CreateTempViewUsing { name, .. } => self.temp_views.contains_key(name),
            Statement::CreateTable(ct) => ct.or_replace || self.in_metastore(&ct.name),
            _ => true,
        }
    }

    /// Whether the metastore may hold `name` (true unless it surely does not).
    fn in_metastore(&self, name: &ObjectName) -> bool {
        self.qualify(name)
            .is_ok_and(|(db, t)| !matches!(self.catalog.metastore.get_table(&db, &t), Ok(None)))
    }

    /// `CACHE TABLE name AS query` (a new temporary view, as Spark's CacheTableAsSelect)
    /// or `CACHE TABLE v` (an existing temporary view): the view's rows are computed now
    /// and written as parquet files in the session's cache folder, which later reads of
    /// the view scan, until UNCACHE TABLE, CLEAR CACHE or a statement that may change
    /// data (see [`Session::may_change_data`]). LAZY computes them now too. A table or
    /// persisted view is only checked: its reads go to its files (no copy is kept).
    fn cache_table(
        &mut self,
        name: &ObjectName,
        query: Option<(String, Box<sqlparser::ast::Query>)>,
    ) -> Result<StatementResult> {
        let key = crate::binder::temp_view_key(&name.0);
        let (key, sql, query) = match (key, query) {
            (Some(key), Some((sql, query))) if name.0.len() == 1 => {
                if self.temp_views.contains_key(&key) {
                    return Err(QuarryError::Analysis(format!(
                        "[TEMP_TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create the temporary view `{key}` because it already exists"
                    )));
                }
                (key, sql, query)
            }
            (_, Some(_)) => {
                return Err(QuarryError::Analysis(format!(
                    "CACHE TABLE ... AS query makes a temporary view: its name has one part, not `{name}`"
                )))
            }
            (Some(key), None) if self.temp_views.contains_key(&key) => {
                match self.temp_views.get(&key) {
                    Some(TempView::Query { sql, query }) => (key, sql.clone(), query.clone()),
                    // files, or rows already cached: nothing to compute
                    _ => return Ok(StatementResult::empty()),
                }
            }
            (_, None) => {
                self.table_columns(name)?;
                return Ok(StatementResult::empty());
            }
        };
        let plan = self.bind(&query)?;
        Self::check_view_columns(&plan.schema())?;
        let result = self.run_plan(plan)?;
        let cache_error = |e| QuarryError::Data(format!("cannot create a cache folder: {e}"));
        let root = match &self.cache_dir {
            Some(d) => d.path().to_path_buf(),
            None => {
                let d = tempfile::Builder::new()
                    .prefix("quarry-cache-")
                    .tempdir()
                    .map_err(cache_error)?;
                let root = d.path().to_path_buf();
                self.cache_dir = Some(d);
                root
            }
        };
        let dir = tempfile::Builder::new()
            .prefix("view-")
            .tempdir_in(&root)
            .map_err(cache_error)?
            .keep();
        let location = Location::Local(dir.clone());
        let written = datasource::writer::write_parquet_file(
            &self.catalog.storage,
            &location,
            result.schema.clone(),
            &result.batches,
            true,
        );
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        self.temp_views.insert(
            key,
            TempView::Cached {
                sql,
                query,
                path: location.to_string(),
            },
        );
        Ok(StatementResult::empty())
    }

    /// The cached temporary view `key` is computed at each use again; its files go.
    fn uncache(&mut self, key: &str) {
        if let Some(TempView::Cached { sql, query, path }) = self.temp_views.remove(key) {
            if let Ok(loc) = Location::parse(&path) {
                self.catalog.storage.invalidate(&loc);
                if let Location::Local(dir) = loc {
                    let _ = std::fs::remove_dir_all(dir);
                }
            }
            self.temp_views
                .insert(key.to_string(), TempView::Query { sql, query });
        }
    }

    /// [`Session::uncache`] of every cached view.
    fn uncache_all(&mut self) {
        let keys: Vec<String> = self
            .temp_views
            .iter()
            .filter(|(_, v)| matches!(v, TempView::Cached { .. }))
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            self.uncache(&k);
        }
    }

    /// `CREATE TABLE t LIKE source [USING fmt | STORED AS fmt] [LOCATION '...']
    /// [TBLPROPERTIES (...)]`, as Spark's CreateTableLikeCommand: `ct` with the source's
    /// columns (their NOT NULL, DEFAULT and GENERATED clauses too), its partition columns
    /// and, unless another format is named, its format and reader options; no rows, no
    /// properties but the statement's. A view or temporary view gives its output columns
    /// (and the default format). Errors: a column list, PARTITIONED BY or AS query beside
    /// LIKE; an unknown source.
    fn resolve_like(&self, mut ct: CreateTable) -> Result<CreateTable> {
        let Some(source) = ct.like.take() else {
            return Ok(ct);
        };
        if ct.columns.is_some() || ct.query.is_some() || !ct.partition_by.is_empty() {
            return Err(QuarryError::Analysis(
                "[INVALID_SQL] CREATE TABLE ... LIKE takes its columns and partitioning from the source table; no column list, PARTITIONED BY or AS query".into(),
            ));
        }
        let meta = if self.is_temp_view(&source) {
            None
        } else {
            Some(self.table_meta(&source)?)
        }
        .filter(|m| m.kind != TableKind::View);
        let (columns, partitions) = match &meta {
            Some(m) => (m.columns.clone(), m.partition_columns.clone()),
            None => (self.table_columns(&source)?, vec![]),
        };
        if let Some(m) = &meta {
            if ct.format.is_none_or(|f| f == m.format) {
                ct.format = Some(m.format);
                for (k, v) in &m.options {
                    ct.options.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        let mut declared = vec![];
        for c in columns.iter().chain(&partitions) {
            declared.push((c.name.clone(), c.data_type.clone()));
            if let Some(d) = &c.default {
                ct.defaults.push((c.name.clone(), d.clone()));
            }
            if let Some(g) = &c.generated {
                ct.generated.push((c.name.clone(), g.clone()));
            }
            if !c.nullable {
                ct.not_null.push(c.name.clone());
            }
            if let Some(cm) = &c.comment {
                ct.comments.push((c.name.clone(), cm.clone()));
            }
            if let Some(cv) = c.char_varchar {
                ct.char_types.push((c.name.clone(), cv));
            }
        }
        ct.columns = Some(declared);
        ct.partition_by = partitions.iter().map(|c| (c.name.clone(), None)).collect();
        Ok(ct)
    }

    fn create_table(&mut self, ct: CreateTable) -> Result<StatementResult> {
        let ct = self.resolve_like(ct)?;
        let (db, name) = self.qualify(&ct.name)?;
        if !self.catalog.metastore.database_exists(&db)? {
            return Err(QuarryError::Analysis(format!(
                "[SCHEMA_NOT_FOUND] The schema `{db}` cannot be found"
            )));
        }
        if let Some(existing) = self.catalog.metastore.get_table(&db, &name)? {
            if ct.if_not_exists {
                return Ok(StatementResult::empty());
            }
            if !ct.or_replace {
                return Err(QuarryError::Catalog(format!(
                    "[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create table or view `{db}`.`{name}` because it already exists"
                )));
            }
            if existing.kind == TableKind::View {
                return Err(QuarryError::Analysis(format!(
                    "`{db}`.`{name}` is a view; use CREATE OR REPLACE VIEW"
                )));
            }
        }
        let format = ct.format.unwrap_or(FileFormat::Parquet);
        let (kind, location) = match &ct.location {
            Some(l) => (TableKind::External, Location::parse(l)?),
            None => {
                if ct.external {
                    return Err(QuarryError::Analysis(
                        "[INVALID_SQL] CREATE EXTERNAL TABLE must be accompanied by LOCATION"
                            .into(),
                    ));
                }
                (
                    TableKind::Managed,
                    Location::Local(self.catalog.managed_location(&db, &name)),
                )
            }
        };
        let storage = self.catalog.storage.clone();
        if kind == TableKind::External
            && ct.query.is_none()
            && ct.columns.is_none()
            && !storage.exists(&location)?
        {
            // Spark allows creating a table over a folder that appears later; so do we,
            // unless the schema must be inferred from it
            return Err(QuarryError::path_not_found(&location));
        }
        // the query of CTAS runs before anything is registered
        let mut ctas_char_types = vec![];
        let ctas = match &ct.query {
            Some(q) => {
                if ct.partition_by.iter().any(|(_, t)| t.is_some()) {
                    return Err(QuarryError::Analysis(
                        "[INVALID_SQL] Partition column types may not be specified in CREATE TABLE ... AS SELECT; name the query's columns: PARTITIONED BY (p, ...)".into(),
                    ));
                }
                if !ct.generated.is_empty() {
                    return Err(QuarryError::NotSupported(
                        "generated columns with CREATE TABLE ... AS SELECT; create the table, then INSERT INTO it".into(),
                    ));
                }
                let (mut plan, char_types) = self.bind_with_char_types(q)?;
                ctas_char_types = char_types;
                // declared columns (as DuckDB and DataFusion allow): the query's columns by
                // position, cast to the declared types
                if let Some(cols) = &ct.columns {
                    let out = plan.schema();
                    if out.len() != cols.len() {
                        return Err(QuarryError::Analysis(format!(
                            "[INVALID_SQL] CREATE TABLE declares {} columns but its query produces {}",
                            cols.len(),
                            out.len()
                        )));
                    }
                    let exprs = out
                        .iter()
                        .zip(cols)
                        .map(|(c, (n, t))| {
                            Ok((
                                crate::binder::coerce::cast_to(
                                    crate::plan::Expr::Column(c.clone()),
                                    t,
                                )?,
                                crate::plan::Column::new(n.clone(), t.clone(), true),
                            ))
                        })
                        .collect::<Result<Vec<_>>>()?;
                    plan = LogicalPlan::Project {
                        input: Box::new(plan),
                        exprs,
                    };
                }
                Some(self.run_plan(plan)?)
            }
            None => None,
        };
        let (mut columns, mut partition_columns): (Vec<ColumnDef>, Vec<ColumnDef>) = match (
            &ct.columns,
            &ctas,
        ) {
            (Some(cols), _) => (
                cols.iter()
                    .map(|(n, t)| ColumnDef {
                        name: n.clone(),
                        data_type: t.clone(),
                        default: ct
                            .defaults
                            .iter()
                            .find(|(c, _)| c == n)
                            .map(|(_, d)| d.clone()),
                        nullable: !ct.not_null.contains(n),
                        generated: ct
                            .generated
                            .iter()
                            .find(|(c, _)| c == n)
                            .map(|(_, g)| g.clone()),
                        comment: None,
                        char_varchar: None,
                    })
                    .collect(),
                vec![],
            ),
            (None, Some(r)) => (
                r.schema
                    .fields()
                    .iter()
                    .enumerate()
                    .map(|(i, f)| ColumnDef {
                        char_varchar: ctas_char_types.get(i).copied().flatten(),
                        ..ColumnDef::new(f.name().clone(), f.data_type().clone())
                    })
                    .collect(),
                vec![],
            ),
            (None, None) => {
                if kind == TableKind::Managed {
                    return Err(QuarryError::Analysis("[INVALID_SQL] CREATE TABLE needs a column list, a LOCATION to infer it from, or AS SELECT".into()));
                }
                let listed = storage.list_files(&location, &datasource::IoStats::default())?;
                let options = crate::catalog::reader_options(&ct.options, &ct.properties);
                let data =
                    datasource::infer_schema(&storage, format, &options, &location, &listed)?;
                let (parts, _) = datasource::listing::partitions_of_files(&location, &listed);
                let data = data
                    .into_iter()
                    .filter(|c| !parts.iter().any(|p| p.name.eq_ignore_ascii_case(&c.name)))
                    .collect();
                (data, parts)
            }
        };
        // names are case-insensitive: `a` and `A` are one column (Spark's check)
        let mut seen = std::collections::HashSet::new();
        for c in &columns {
            if !seen.insert(c.name.to_ascii_lowercase()) {
                let fix = if ctas.is_some() {
                    "alias it in the query"
                } else {
                    "choose another name"
                };
                return Err(QuarryError::Analysis(format!(
                    "[COLUMN_ALREADY_EXISTS] The column `{}` already exists; {fix}",
                    c.name
                )));
            }
        }
        // PARTITIONED BY: Hive form declares the type; Spark form names a declared or inferred column
        if !ct.partition_by.is_empty() {
            let mut parts = vec![];
            for (pname, ptype) in &ct.partition_by {
                if parts
                    .iter()
                    .any(|c: &ColumnDef| c.name.eq_ignore_ascii_case(pname))
                {
                    return Err(QuarryError::Analysis(format!(
                        "[COLUMN_ALREADY_EXISTS] partition column `{pname}` is listed twice"
                    )));
                }
                match ptype {
                    Some(t) => {
                        if columns.iter().any(|c| c.name.eq_ignore_ascii_case(pname)) {
                            return Err(QuarryError::Analysis(format!("[COLUMN_ALREADY_EXISTS] partition column `{pname}` is also a data column")));
                        }
                        parts.push(ColumnDef::new(pname.clone(), t.clone()));
                    }
                    None => {
                        if let Some(i) = columns
                            .iter()
                            .position(|c| c.name.eq_ignore_ascii_case(pname))
                        {
                            parts.push(columns.remove(i));
                        } else if let Some(p) = partition_columns
                            .iter()
                            .find(|c| c.name.eq_ignore_ascii_case(pname))
                        {
                            parts.push(p.clone());
                        } else {
                            return Err(QuarryError::Analysis(format!(
                                "partition column `{pname}` is not a column of the table"
                            )));
                        }
                    }
                }
            }
            partition_columns = parts;
        }
        // a default must evaluate, to a value of its column's type (Spark checks this at
        // CREATE too)
        for c in columns.iter().filter(|c| c.default.is_some()) {
            self.default_value(c)?;
        }
        // a generated column's expression binds over the other columns now; one declared
        // without a type takes the expression's
        if columns.iter().any(|c| c.generated.is_some()) {
            if kind != TableKind::Managed || !partition_columns.is_empty() {
                return Err(QuarryError::NotSupported(
                    "generated columns outside an unpartitioned managed table (Quarry computes them as it writes the table's files)".into(),
                ));
            }
            for c in &columns {
                if c.generated.is_some() && c.default.is_some() {
                    return Err(QuarryError::Analysis(format!(
                        "[GENERATED_COLUMN_WITH_DEFAULT_VALUE] The column `{}` cannot have both a default value and a generation expression",
                        c.name
                    )));
                }
            }
            let empty = LogicalPlan::Values {
                columns: columns
                    .iter()
                    .map(|c| crate::plan::Column::new(c.name.clone(), c.data_type.clone(), true))
                    .collect(),
                rows: vec![],
            };
            let types: Vec<DataType> = self
                .generation_plan(&columns, empty)?
                .schema()
                .iter()
                .map(|c| c.data_type.clone())
                .collect();
            for (c, t) in columns.iter_mut().zip(types) {
                if c.generated.is_some() && c.data_type == DataType::Null {
                    c.data_type = t;
                }
            }
        }
        for c in columns.iter_mut().chain(partition_columns.iter_mut()) {
            if let Some((_, cm)) = ct
                .comments
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&c.name))
            {
                c.comment = Some(cm.clone());
            }
            if let Some((_, cv)) = ct
                .char_types
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&c.name))
            {
                if c.data_type == DataType::Utf8 {
                    c.char_varchar = Some(*cv);
                }
            }
        }
        let meta = TableMeta {
            database: db.clone(),
            name: name.clone(),
            kind,
            format,
            location: location.to_string(),
            columns,
            partition_columns,
            options: ct.options.clone(),
            properties: ct.properties.clone(),
            view_sql: None,
            created: 0,
        };
        if kind == TableKind::Managed || ctas.is_some() {
            datasource::writer::check_writable(meta.format, &meta_schema(&meta.columns))?;
        }
        if let (TableKind::Managed, Location::Local(dir)) = (kind, &location) {
            if ct.or_replace {
                let _ = std::fs::remove_dir_all(dir);
            } else if dir.exists() {
                // an unregistered folder in our own warehouse is what a killed CREATE leaves
                std::fs::remove_dir_all(dir).map_err(|e| {
                    QuarryError::Data(format!("cannot clear {}: {e}", dir.display()))
                })?;
            }
            std::fs::create_dir_all(dir)
                .map_err(|e| QuarryError::Data(format!("cannot create {}: {e}", dir.display())))?;
        }
        let Some(r) = ctas else {
            self.catalog.metastore.create_table(&meta, ct.or_replace)?;
            return Ok(StatementResult::empty());
        };
        // the query's columns in the table's order: data columns, then partition columns
        let all = meta.all_columns();
        let order = all
            .iter()
            .map(|c| {
                r.schema
                    .fields()
                    .iter()
                    .position(|f| f.name().eq_ignore_ascii_case(&c.name))
                    .ok_or_else(|| {
                        QuarryError::Internal(format!("CTAS lost the column `{}`", c.name))
                    })
            })
            .collect::<Result<Vec<usize>>>()?;
        let schema = meta_schema(&all);
        let batches = r
            .batches
            .iter()
            .map(|b| {
                let columns = order.iter().map(|i| b.column(*i).clone()).collect();
                crate::physical::make_batch(schema.clone(), columns, b.num_rows())
            })
            .collect::<Result<Vec<_>>>()?;
        if !meta.is_partitioned() {
            datasource::writer::write_table_file(
                &storage,
                &location,
                meta.format,
                &meta.reader_options(),
                schema,
                &batches,
                true,
            )?;
            self.catalog.metastore.create_table(&meta, ct.or_replace)?;
            return Ok(StatementResult::empty());
        }
        // a partitioned table's files are written, and partitions registered, once it
        // exists; a write that fails leaves no table behind
        self.catalog.metastore.create_table(&meta, ct.or_replace)?;
        let statics = vec![None; meta.partition_columns.len()];
        if let Err(e) = self.write_partitions(&meta, schema, &batches, &statics, WriteMode::Append)
        {
            self.catalog.metastore.drop_table(&db, &name)?;
            if let (TableKind::Managed, Location::Local(dir)) = (kind, &location) {
                let _ = std::fs::remove_dir_all(dir);
            }
            return Err(e);
        }
        Ok(StatementResult::empty())
    }

    fn drop_table(
        &mut self,
        name: &ObjectName,
        if_exists: bool,
        view: bool,
    ) -> Result<StatementResult> {
        if let Some(key) = crate::binder::temp_view_key(&name.0) {
            // Spark's DROP TABLE drops a temp view of that name too
            if self.temp_views.remove(&key).is_some() {
                return Ok(StatementResult::empty());
            }
        }
        let (db, t) = self.qualify(name)?;
        let Some(meta) = self.catalog.metastore.get_table(&db, &t)? else {
            if if_exists {
                return Ok(StatementResult::empty());
            }
            return Err(QuarryError::Analysis(format!(
                "[TABLE_OR_VIEW_NOT_FOUND] The table or view `{db}`.`{t}` cannot be found"
            )));
        };
        if view && meta.kind != TableKind::View {
            return Err(QuarryError::Analysis(format!(
                "[WRONG_COMMAND_FOR_OBJECT_TYPE] `{db}`.`{t}` is a table; use DROP TABLE"
            )));
        }
        if !view && meta.kind == TableKind::View {
            return Err(QuarryError::Analysis(format!(
                "[WRONG_COMMAND_FOR_OBJECT_TYPE] `{db}`.`{t}` is a view; use DROP VIEW"
            )));
        }
        self.catalog.metastore.drop_table(&db, &t)?;
        if meta.kind == TableKind::Managed {
            // data of managed tables goes with them; external data is never touched
            std::fs::remove_dir_all(&meta.location)
                .or_else(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })
                .map_err(|e| {
                    QuarryError::Data(format!(
                        "table dropped, but its data folder {} could not be removed: {e}",
                        meta.location
                    ))
                })?;
        }
        Ok(StatementResult::empty())
    }

    fn partitioned_table(&self, table: &ObjectName, what: &str) -> Result<TableMeta> {
        let (db, name) = self.qualify(table)?;
        let meta = self.catalog.require_table(&db, &name)?;
        if !meta.is_partitioned() {
            return Err(QuarryError::Analysis(format!(
                "[NOT_A_PARTITIONED_TABLE] {what} is not allowed on `{db}`.`{name}` since it is not partitioned"
            )));
        }
        Ok(meta)
    }

    fn msck(&mut self, table: &ObjectName, mode: MsckMode) -> Result<StatementResult> {
        let meta = self.partitioned_table(table, "MSCK REPAIR TABLE")?;
        let keys = meta.partition_keys();
        let root = Location::parse(&meta.location)?;
        let storage = self.catalog.storage.clone();
        storage.invalidate(&root);
        let existing = self
            .catalog
            .metastore
            .list_partitions(&meta.database, &meta.name)?;
        let (mut added, mut dropped) = (0, 0);
        let stats = datasource::IoStats::default();
        // one listing of the table's folder tree serves both ADD and DROP
        let found = if matches!(mode, MsckMode::Add | MsckMode::Sync)
            || existing
                .iter()
                .any(|p| Location::parse(&p.location).is_ok_and(|l| l.starts_with(&root)))
        {
            datasource::discover_partitions(&storage, &root, &keys, &stats)?
        } else {
            vec![]
        };
        if matches!(mode, MsckMode::Add | MsckMode::Sync) {
            let known: std::collections::HashSet<&Vec<Option<String>>> =
                existing.iter().map(|e| &e.values).collect();
            let mut new_parts = vec![];
            for p in &found {
                if known.contains(&p.values) {
                    continue;
                }
                let folder = p.location.to_string();
                for (c, v) in meta.partition_columns.iter().zip(&p.values) {
                    crate::physical::scan::partition_value(v.as_deref(), c, &folder)?;
                }
                new_parts.push(PartitionMeta {
                    values: p.values.clone(),
                    location: folder,
                });
            }
            added = self.catalog.metastore.add_partitions(
                &meta.database,
                &meta.name,
                &keys,
                &new_parts,
                true,
            )?;
            if new_parts.len() <= self.autogather_max_partitions() {
                self.gather_partition_statistics(&meta, &new_parts)?;
            }
        }
        if matches!(mode, MsckMode::Drop | MsckMode::Sync) {
            // a partition is gone when its folder is: under the table's root, by the
            // listing above; elsewhere (ADD PARTITION ... LOCATION), by checking it
            let listed: std::collections::HashSet<String> =
                found.iter().map(|p| p.location.to_string()).collect();
            let mut gone: Vec<Vec<Option<String>>> = vec![];
            for p in &existing {
                let loc = Location::parse(&p.location)?;
                let present = if loc.starts_with(&root) {
                    listed.contains(&loc.to_string())
                } else {
                    storage.is_dir(&loc)?
                };
                if !present {
                    gone.push(p.values.clone());
                }
            }
            dropped =
                self.catalog
                    .metastore
                    .drop_partitions(&meta.database, &meta.name, &keys, &gone)?;
        }
        let kept = existing.len() - dropped;
        StatementResult::strings(
            &["result"],
            vec![vec![format!(
                "partitions added: {added}, dropped: {dropped}, kept: {kept}"
            )]],
        )
    }

    /// Read `parts`' statistics (files, bytes, rows, column ranges from the footers) into
    /// the metastore, unless `quarry.stats.autogather` is false. What `ANALYZE TABLE ...
    /// PARTITION` stored (rows) is replaced by the footers' count, which is the same.
    fn gather_partition_statistics(&self, meta: &TableMeta, parts: &[PartitionMeta]) -> Result<()> {
        if parts.is_empty() || !self.stats_autogather() {
            return Ok(());
        }
        let ctx = self.exec_ctx();
        let stats = crate::physical::statistics::partition_statistics(
            &ctx,
            meta.format,
            &meta.columns,
            parts,
        )?;
        let keys = meta.partition_keys();
        let entries = parts
            .iter()
            .map(|p| crate::catalog::hive::partition_path(&keys, &p.values))
            .zip(stats)
            .collect();
        self.catalog
            .metastore
            .update_partition_statistics(&meta.database, &meta.name, entries)
    }

    /// Values of a spec naming every partition column, in partition-column order.
    fn full_spec(meta: &TableMeta, spec: &PartitionSpec) -> Result<Vec<Option<String>>> {
        let mut vals = vec![];
        for c in &meta.partition_columns {
            match spec.iter().find(|(k, _)| k.eq_ignore_ascii_case(&c.name)) {
                Some((_, v)) => vals.push(v.clone()),
                None => {
                    return Err(QuarryError::Analysis(format!(
                        "[PARTITIONS_NOT_FOUND] partition spec must name every partition column of `{}`.`{}` ({}); `{}` is missing",
                        meta.database,
                        meta.name,
                        meta.partition_columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "),
                        c.name
                    )))
                }
            }
        }
        for (k, _) in spec {
            if !meta
                .partition_columns
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(k))
            {
                return Err(QuarryError::Analysis(format!(
                    "`{k}` is not a partition column of `{}`.`{}`",
                    meta.database, meta.name
                )));
            }
        }
        Ok(vals)
    }

    fn add_partitions(
        &mut self,
        table: &ObjectName,
        if_not_exists: bool,
        parts: Vec<(PartitionSpec, Option<String>)>,
    ) -> Result<StatementResult> {
        let meta = self.partitioned_table(table, "ALTER TABLE ADD PARTITION")?;
        let keys = meta.partition_keys();
        let mut metas = vec![];
        for (spec, loc) in parts {
            let vals = Self::full_spec(&meta, &spec)?;
            let location = match loc {
                Some(l) => Location::parse(&l)?.to_string(),
                None => Location::parse(&meta.location)?
                    .join(&crate::catalog::hive::partition_path(&keys, &vals))
                    .to_string(),
            };
            for (c, v) in meta.partition_columns.iter().zip(&vals) {
                crate::physical::scan::partition_value(v.as_deref(), c, &location)?;
            }
            metas.push(PartitionMeta {
                values: vals,
                location,
            });
        }
        self.catalog.metastore.add_partitions(
            &meta.database,
            &meta.name,
            &keys,
            &metas,
            if_not_exists,
        )?;
        // (with IF NOT EXISTS an existing partition's statistics are refreshed too)
        self.gather_partition_statistics(&meta, &metas)?;
        Ok(StatementResult::empty())
    }

    fn drop_partitions(
        &mut self,
        table: &ObjectName,
        if_exists: bool,
        specs: Vec<PartitionSpec>,
    ) -> Result<StatementResult> {
        let meta = self.partitioned_table(table, "ALTER TABLE DROP PARTITION")?;
        let keys = meta.partition_keys();
        let existing = self
            .catalog
            .metastore
            .list_partitions(&meta.database, &meta.name)?;
        let mut to_drop = vec![];
        for spec in specs {
            // a partial spec drops every partition it matches
            let matching = partitions_matching(&keys, &existing, &spec);
            if matching.is_empty() && !if_exists {
                return Err(partitions_not_found(&meta, &spec));
            }
            to_drop.extend(matching.into_iter().map(|p| p.values.clone()));
        }
        self.catalog
            .metastore
            .drop_partitions(&meta.database, &meta.name, &keys, &to_drop)?;
        Ok(StatementResult::empty())
    }

    /// `ALTER TABLE t ADD COLUMNS | CHANGE COLUMN | RENAME TO | SET LOCATION | SET|UNSET
    /// TBLPROPERTIES` (and `ALTER VIEW v RENAME TO | SET|UNSET TBLPROPERTIES`), as Spark's
    /// v1 commands. ADD COLUMNS appends data columns (files written before read NULL for
    /// them; `[FIELDS_ALREADY_EXISTS]` for a name the table has, case ignored). CHANGE
    /// COLUMN changes only a column's comment. RENAME TO stays in the table's database
    /// (Spark's rule); a managed table's folder moves to the new name's, with the
    /// partitions in it. SET LOCATION points an external table elsewhere (its partitions
    /// keep theirs) and drops its statistics; a managed table's is refused, as its folder
    /// is deleted with it. UNSET of a property the table lacks is
    /// `[UNSET_NONEXISTENT_PROPERTIES]` unless IF EXISTS. A temporary view can only be
    /// renamed.
    fn alter_table(&mut self, table: &ObjectName, action: AlterTable) -> Result<StatementResult> {
        if let Some(key) =
            crate::binder::temp_view_key(&table.0).filter(|k| self.temp_views.contains_key(k))
        {
            let AlterTable::RenameTo(to) = action else {
                return Err(QuarryError::Analysis(format!(
                    "[EXPECT_TABLE_NOT_VIEW.NO_ALTERNATIVE] ALTER TABLE expects a table but `{key}` is a temporary view."
                )));
            };
            let new_key = crate::binder::temp_view_key(&to.0)
                .filter(|k| k.contains('.') == key.contains('.'))
                .ok_or_else(|| {
                    QuarryError::Analysis(format!(
                        "a temporary view is renamed to a name of the same kind: `{key}` to `{to}`"
                    ))
                })?;
            if self.temp_views.contains_key(&new_key) {
                return Err(QuarryError::Analysis(format!(
                    "[TEMP_TABLE_OR_VIEW_ALREADY_EXISTS] Cannot rename the temporary view `{key}` to `{new_key}` because it already exists"
                )));
            }
            if let Some(v) = self.temp_views.remove(&key) {
                self.temp_views.insert(new_key, v);
            }
            return Ok(StatementResult::empty());
        }
        let (db, name) = self.qualify(table)?;
        let mut meta = self.catalog.require_table(&db, &name)?;
        let not_view = |what: &str| {
            QuarryError::Analysis(format!(
                "[EXPECT_TABLE_NOT_VIEW.NO_ALTERNATIVE] '{what}' expects a table but `{db}`.`{name}` is a view."
            ))
        };
        match action {
            AlterTable::AddColumns(cols) => {
                if meta.kind == TableKind::View {
                    return Err(not_view("ALTER TABLE ... ADD COLUMNS"));
                }
                for (c, dt, comment, char_varchar) in cols {
                    if meta
                        .all_columns()
                        .iter()
                        .any(|x| x.name.eq_ignore_ascii_case(&c))
                    {
                        return Err(QuarryError::Analysis(format!(
                            "[FIELDS_ALREADY_EXISTS] Cannot add column, because `{c}` already exists in `{db}`.`{name}`"
                        )));
                    }
                    meta.columns.push(ColumnDef {
                        comment,
                        char_varchar,
                        ..ColumnDef::new(c, dt)
                    });
                }
                self.catalog.metastore.alter_table(&meta)?;
            }
            AlterTable::RenameTo(to) => {
                let (to_db, to_name) = match to.0.as_slice() {
                    [t] => (db.clone(), t.clone()),
                    _ => self.qualify(&to)?,
                };
                if to_db != db {
                    return Err(QuarryError::Analysis(format!(
                        "RENAME TO `{to_db}`.`{to_name}`: a table or view is renamed within its database `{db}`"
                    )));
                }
                let old = meta.location.clone();
                let new = match (meta.kind, Location::parse(&old)?) {
                    (TableKind::Managed, Location::Local(dir)) => {
                        let to_dir = self.catalog.managed_location(&db, &to_name);
                        if self.catalog.metastore.get_table(&db, &to_name)?.is_none() {
                            if to_dir.exists() {
                                return Err(QuarryError::Data(format!(
                                    "cannot rename `{db}`.`{name}`: the folder {} exists",
                                    to_dir.display()
                                )));
                            }
                            if dir.exists() {
                                std::fs::rename(&dir, &to_dir).map_err(|e| {
                                    QuarryError::Data(format!(
                                        "cannot move {} to {}: {e}",
                                        dir.display(),
                                        to_dir.display()
                                    ))
                                })?;
                            }
                        }
                        Location::Local(to_dir).to_string()
                    }
                    _ => old.clone(),
                };
                let renamed =
                    self.catalog
                        .metastore
                        .rename_table(&db, &name, &to_name, &old, &new);
                if let Err(e) = renamed {
                    // the folder goes back where the table still says it is
                    if let (Location::Local(from), Location::Local(to)) =
                        (Location::parse(&old)?, Location::parse(&new)?)
                    {
                        if from != to && to.exists() {
                            let _ = std::fs::rename(&to, &from);
                        }
                    }
                    return Err(e);
                }
                self.catalog.storage.invalidate(&Location::parse(&old)?);
            }
            AlterTable::SetLocation(loc) => match meta.kind {
                TableKind::View => return Err(not_view("ALTER TABLE ... SET LOCATION")),
                TableKind::Managed => {
                    return Err(QuarryError::NotSupported(format!(
                        "SET LOCATION of the managed table `{db}`.`{name}` (its folder is the warehouse's, deleted with the table); create an external table over the new location"
                    )))
                }
                TableKind::External => {
                    let old = Location::parse(&meta.location)?;
                    meta.location = Location::parse(&loc)?.to_string();
                    self.catalog.metastore.alter_table(&meta)?;
                    self.catalog.storage.invalidate(&old);
                    self.catalog.metastore.set_statistics(&db, &name, "", None)?;
                }
            },
            AlterTable::ChangeColumn {
                column,
                new_name,
                data_type,
                char_varchar,
                comment,
            } => {
                if meta.kind == TableKind::View {
                    return Err(not_view("ALTER TABLE ... CHANGE COLUMN"));
                }
                let Some(c) = meta
                    .columns
                    .iter_mut()
                    .chain(meta.partition_columns.iter_mut())
                    .find(|c| c.name.eq_ignore_ascii_case(&column))
                else {
                    let all = meta.all_columns();
                    return Err(QuarryError::Analysis(format!(
                        "[UNRESOLVED_COLUMN] A column or function parameter with name `{column}` cannot be resolved in `{db}`.`{name}`{}",
                        crate::catalog::did_you_mean(&column, all.iter().map(|c| c.name.as_str()))
                    )));
                };
                // Spark's v1 tables (AlterTableChangeColumnCommand): the name and type
                // stay; only the comment changes
                if let Some(n) = new_name.filter(|n| !n.eq_ignore_ascii_case(&c.name)) {
                    return Err(QuarryError::NotSupported(format!(
                        "renaming the column `{}` of `{db}`.`{name}` to `{n}` (its files name it; Spark changes only a column's comment here)",
                        c.name
                    )));
                }
                if let Some(t) =
                    data_type.filter(|t| *t != c.data_type || char_varchar != c.char_varchar)
                {
                    let new = ColumnDef {
                        char_varchar,
                        ..ColumnDef::new(c.name.clone(), t)
                    };
                    return Err(QuarryError::Analysis(format!(
                        "[NOT_SUPPORTED_CHANGE_COLUMN] ALTER TABLE ALTER/CHANGE COLUMN is not supported for changing `spark_catalog`.`{db}`.`{name}`'s column `{}` with type \"{}\" to `{}` with type \"{}\".",
                        c.name,
                        c.type_text().to_uppercase(),
                        c.name,
                        new.type_text().to_uppercase()
                    )));
                }
                if comment.is_some() {
                    c.comment = comment;
                }
                self.catalog.metastore.alter_table(&meta)?;
            }
            AlterTable::SetProperties(props) => {
                meta.properties.extend(props);
                self.catalog.metastore.alter_table(&meta)?;
            }
            AlterTable::UnsetProperties { keys, if_exists } => {
                let missing: Vec<String> = keys
                    .iter()
                    .filter(|k| !meta.properties.contains_key(*k))
                    .map(|k| format!("`{k}`"))
                    .collect();
                if !missing.is_empty() && !if_exists {
                    return Err(QuarryError::Analysis(format!(
                        "[UNSET_NONEXISTENT_PROPERTIES] Attempted to unset non-existent properties [{}] in table `{db}`.`{name}`.",
                        missing.join(", ")
                    )));
                }
                for k in &keys {
                    meta.properties.remove(k);
                }
                self.catalog.metastore.alter_table(&meta)?;
            }
        }
        Ok(StatementResult::empty())
    }

    /// `TRUNCATE TABLE t [PARTITION (k=v, ...)]`, as Spark's TruncateTableCommand: deletes
    /// the data files of a managed table, or of the partitions a (possibly partial) spec
    /// matches, and keeps the table, its schema and its partitions; their statistics are
    /// dropped. Refused, with Spark's reasons, for views, temporary views, external tables
    /// (their files are not Quarry's to delete) and a PARTITION clause on an unpartitioned
    /// table. Errors: `[PARTITIONS_NOT_FOUND]` when the spec matches no partition; a file
    /// that cannot be deleted names itself (files deleted before it stay deleted).
    fn truncate(
        &mut self,
        table: &ObjectName,
        partition: Option<PartitionSpec>,
    ) -> Result<StatementResult> {
        let view_error = |name: &str| {
            QuarryError::Analysis(format!(
                "[EXPECT_TABLE_NOT_VIEW.NO_ALTERNATIVE] 'TRUNCATE TABLE' expects a table but {name} is a view."
            ))
        };
        if self.is_temp_view(table) {
            return Err(view_error(&format!("`{}`", table.0[0])));
        }
        let (db, name) = self.qualify(table)?;
        let meta = self.catalog.require_table(&db, &name)?;
        match meta.kind {
            TableKind::View => return Err(view_error(&format!("`{db}`.`{name}`"))),
            TableKind::External => {
                return Err(QuarryError::Analysis(format!(
                    "Operation not allowed: TRUNCATE TABLE on external tables: `{db}`.`{name}`"
                )))
            }
            TableKind::Managed => {}
        }
        let keys = meta.partition_keys();
        // (metastore statistics key, folder) of each part to empty
        let mut targets: Vec<(String, String)> = vec![];
        match (&partition, meta.is_partitioned()) {
            (Some(_), false) => {
                return Err(QuarryError::Analysis(format!(
                    "Operation not allowed: TRUNCATE TABLE ... PARTITION is not supported for tables that are not partitioned: `{db}`.`{name}`"
                )))
            }
            (None, false) => targets.push((String::new(), meta.location.clone())),
            (spec, true) => {
                let spec = spec.clone().unwrap_or_default();
                for (k, _) in &spec {
                    if !keys.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                        return Err(QuarryError::Analysis(format!(
                            "`{k}` is not a partition column of `{db}`.`{name}`"
                        )));
                    }
                }
                let existing = self.catalog.metastore.list_partitions(&db, &name)?;
                for p in partitions_matching(&keys, &existing, &spec) {
                    let key = crate::catalog::hive::partition_path(&keys, &p.values);
                    targets.push((key, p.location.clone()));
                }
                if targets.is_empty() && !spec.is_empty() {
                    return Err(partitions_not_found(&meta, &spec));
                }
                if spec.is_empty() {
                    // files outside any partition folder go too
                    targets.push((String::new(), meta.location.clone()));
                }
            }
        }
        let storage = self.catalog.storage.clone();
        for (stats_key, folder) in &targets {
            let dir = Location::parse(folder)?;
            let files = current_files(&storage, &dir)?;
            if !meta.is_partitioned() {
                // the folder keeps an empty file (holding the schema, for parquet), as an
                // empty CREATE TABLE AS SELECT writes one: on S3 a prefix with no object
                // does not exist
                datasource::writer::write_table_file(
                    &storage,
                    &dir,
                    meta.format,
                    &meta.reader_options(),
                    meta_schema(&meta.columns),
                    &[],
                    true,
                )?;
            }
            delete_files(&storage, &files, "TRUNCATE TABLE")?;
            storage.invalidate(&dir);
            self.catalog
                .metastore
                .set_statistics(&db, &name, stats_key, None)?;
        }
        Ok(StatementResult::empty())
    }

    /// `INSERT INTO|OVERWRITE [TABLE] t [PARTITION (p = v, q)] [(cols) | BY NAME] query`.
    /// The query gives the table's columns (all but generated ones, or those listed; the
    /// others get their defaults), then the partition columns without a static value, in
    /// the table's order; values are cast as Spark's store assignment. A partitioned
    /// table's rows are written one file per partition folder (`p=v/q=w`, Hive's
    /// escaping) and new partitions registered. OVERWRITE replaces the partitions the
    /// PARTITION clause's static values match (all of them without one), or with
    /// `spark.sql.sources.partitionOverwriteMode=dynamic` only those written to, as
    /// Spark's InsertIntoHadoopFsRelationCommand; a replaced partition left without rows
    /// is dropped. Only parquet tables are written.
    fn insert(
        &mut self,
        table: &ObjectName,
        mode: WriteMode,
        partition: &[(String, InsertPartition)],
        columns: &[String],
        by_name: bool,
        query: &sqlparser::ast::Query,
    ) -> Result<StatementResult> {
        let (db, name) = self.qualify(table)?;
        let meta = self.catalog.require_table(&db, &name)?;
        if meta.kind == TableKind::View {
            return Err(QuarryError::Analysis(format!(
                "[EXPECT_TABLE_NOT_VIEW] `{db}`.`{name}` is a view; INSERT needs a table"
            )));
        }
        datasource::writer::check_writable(meta.format, &meta_schema(&meta.columns))?;
        // the table's columns as a write sees them: data columns, then partition columns
        let all = meta.all_columns();
        let n_data = meta.columns.len();
        // a static partition value, typed, for each partition column the clause gives one
        let mut statics: Vec<Option<ScalarValue>> = vec![None; meta.partition_columns.len()];
        for (i, (k, v)) in partition.iter().enumerate() {
            let Some(j) = meta
                .partition_columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(k))
            else {
                let keys = if meta.is_partitioned() {
                    format!("is partitioned by ({})", meta.partition_keys().join(", "))
                } else {
                    "is not partitioned".into()
                };
                return Err(QuarryError::Analysis(format!(
                    "[NON_PARTITION_COLUMN] PARTITION clause cannot contain the non-partition column name `{k}`: `{db}`.`{name}` {keys}"
                )));
            };
            if partition[..i]
                .iter()
                .any(|(x, _)| x.eq_ignore_ascii_case(k))
            {
                return Err(QuarryError::Analysis(format!(
                    "[DUPLICATE_KEY] Found duplicate keys `{k}` in the PARTITION clause"
                )));
            }
            if let InsertPartition::Static(v) = v {
                let c = &meta.partition_columns[j];
                let value = crate::physical::scan::cast_partition_value(v.as_deref(), c)?
                    .ok_or_else(|| {
                        QuarryError::Analysis(format!(
                            "[CAST_INVALID_INPUT] The value '{}' of the partition column `{}` in the PARTITION clause cannot be cast to {}",
                            v.as_deref().unwrap_or_default(),
                            c.name,
                            type_name(&c.data_type)
                        ))
                    })?;
                statics[j] = Some(value);
            }
        }
        let is_static = |i: usize| i >= n_data && statics[i - n_data].is_some();
        let query = &values_defaults(query, &meta, columns)?;
        let plan = self.bind(query)?;
        let out = plan.schema();
        let by_name_columns: Vec<String>;
        let columns = if by_name {
            by_name_columns = out.iter().map(|c| c.name.to_ascii_lowercase()).collect();
            &by_name_columns[..]
        } else {
            columns
        };
        for (i, c) in columns.iter().enumerate() {
            if columns[..i].iter().any(|x| x.eq_ignore_ascii_case(c)) {
                return Err(QuarryError::Analysis(format!(
                    "[COLUMN_ALREADY_EXISTS] The column `{c}` already exists in the column list of INSERT INTO `{db}`.`{name}`"
                )));
            }
        }
        // target columns: all, or the listed ones (the others get their defaults); never
        // a generated one or one with a static partition value
        let targets: Vec<usize> = if columns.is_empty() {
            (0..all.len())
                .filter(|i| all[*i].generated.is_none() && !is_static(*i))
                .collect()
        } else {
            columns
                .iter()
                .map(|c| column_index(&meta, &all, c))
                .collect::<Result<_>>()?
        };
        if let Some(i) = targets.iter().find(|i| is_static(**i)) {
            return Err(QuarryError::Analysis(format!(
                "[STATIC_PARTITION_COLUMN_IN_INSERT_COLUMN_LIST] Static partition column `{}` is also specified in the column list",
                all[*i].name
            )));
        }
        if let Some(c) = targets
            .iter()
            .map(|i| &all[*i])
            .find(|c| c.generated.is_some())
        {
            return Err(QuarryError::Analysis(format!(
                "[GENERATED_COLUMN_WRITE] The column `{}` of `{db}`.`{name}` is generated: its value is GENERATED ALWAYS AS ({}); leave it out of the write",
                c.name,
                c.generated.as_deref().unwrap_or_default()
            )));
        }
        if out.len() != targets.len() {
            let generated = all.iter().filter(|c| c.generated.is_some()).count();
            let static_count = statics.iter().flatten().count();
            return Err(QuarryError::Analysis(format!(
                "[INSERT_COLUMN_ARITY_MISMATCH] Cannot write to `{db}`.`{name}`: the table has {} columns{}{} but the inserted data has {} columns",
                targets.len(),
                if generated > 0 && columns.is_empty() {
                    format!(" to write (and {generated} generated)")
                } else {
                    String::new()
                },
                if static_count > 0 {
                    format!(" besides the {static_count} partition columns with static values")
                } else {
                    String::new()
                },
                out.len()
            )));
        }
        // each table column: the inserted one (cast below), its static partition value,
        // or its default
        let mut exprs = vec![];
        for (i, c) in all.iter().enumerate() {
            let e = match targets.iter().position(|t| *t == i) {
                Some(j) => crate::plan::Expr::Column(out[j].clone()),
                None if is_static(i) => crate::plan::Expr::Literal(
                    statics[i - n_data]
                        .clone()
                        .unwrap_or_else(|| ScalarValue::null(&c.data_type)),
                ),
                None => crate::plan::Expr::Literal(ScalarValue(self.default_value(c)?)),
            };
            let dt = e.data_type();
            exprs.push((e, crate::plan::Column::new(c.name.clone(), dt, true)));
        }
        let plan = LogicalPlan::Project {
            input: Box::new(plan),
            exprs,
        };
        let plan = self.generation_plan(&all, plan)?;
        let result = self.run_plan(plan)?;
        let schema = meta_schema(&all);
        // cast to the table's types (Spark's store assignment: a value that does not fit
        // is an error, not a NULL)
        let batches = result
            .batches
            .into_iter()
            .map(|b| {
                let columns = b
                    .columns()
                    .iter()
                    .zip(&all)
                    .map(|(a, c)| {
                        let mut a = crate::physical::eval::store_assign(a, &c.data_type, &c.name)?;
                        if let Some(cv) = c.char_varchar {
                            a = crate::physical::eval::char_varchar_write(&a, cv, &c.name)?;
                        }
                        if !c.nullable && a.logical_null_count() > 0 {
                            return Err(QuarryError::Execution(format!(
                                "[NOT_NULL_CONSTRAINT_VIOLATION] NULL written to the column `{}` of `{db}`.`{name}`, which is NOT NULL",
                                c.name
                            )));
                        }
                        Ok(a)
                    })
                    .collect::<Result<Vec<_>>>()?;
                crate::physical::make_batch(schema.clone(), columns, b.num_rows())
            })
            .collect::<Result<Vec<_>>>()?;
        if meta.is_partitioned() {
            let statics = statics
                .iter()
                .map(|s| s.as_ref().map(|v| partition_text(&v.0, 0)).transpose())
                .collect::<Result<Vec<_>>>()?;
            return self.write_partitions(&meta, schema, &batches, &statics, mode);
        }
        let overwrite = mode != WriteMode::Append;
        let dir = Location::parse(&meta.location)?;
        let storage = self.catalog.storage.clone();
        let old = if overwrite {
            current_files(&storage, &dir)?
        } else {
            storage.invalidate(&dir);
            vec![]
        };
        datasource::writer::write_table_file(
            &storage,
            &dir,
            meta.format,
            &meta.reader_options(),
            schema,
            &batches,
            false,
        )?;
        delete_files(&storage, &old, "INSERT OVERWRITE")?;
        storage.invalidate(&dir);
        // the data changed: the statistics are stale (Spark drops them too, without
        // spark.sql.statistics.size.autoUpdate)
        self.catalog
            .metastore
            .set_statistics(&db, &name, "", None)?;
        Ok(StatementResult::empty())
    }

    /// `INSERT OVERWRITE [LOCAL] DIRECTORY 'path' USING fmt query`: the query's rows as
    /// one new file of `format` in the folder (created if missing; written with
    /// `options` as a table of that format would be), then the files that were there
    /// before are deleted (Spark replaces the folder). Errors: a column type the format
    /// cannot hold, before anything is written; IO and S3 errors naming the file.
    fn insert_directory(
        &mut self,
        path: &str,
        format: FileFormat,
        options: &BTreeMap<String, String>,
        query: &sqlparser::ast::Query,
    ) -> Result<StatementResult> {
        let location = Location::parse(path)?;
        let plan = self.bind(query)?;
        let r = self.run_plan(plan)?;
        datasource::writer::check_writable(format, &r.schema)?;
        let storage = self.catalog.storage.clone();
        let old = current_files(&storage, &location)?;
        datasource::writer::write_table_file(
            &storage,
            &location,
            format,
            options,
            r.schema.clone(),
            &r.batches,
            true,
        )?;
        delete_files(&storage, &old, "INSERT OVERWRITE DIRECTORY")?;
        storage.invalidate(&location);
        Ok(StatementResult::empty())
    }

    /// Write the rows of `batches` (data columns, then partition columns; typed) of the
    /// partitioned table `meta`: each partition's rows as one parquet file (data columns
    /// only) in its folder, a registered partition's own or `p=v/...` under the table's
    /// location (an empty string value is NULL, `__HIVE_DEFAULT_PARTITION__`, as Spark
    /// writes it). `statics`: the PARTITION clause's value of each partition column, as
    /// text (`None` where it gives none).
    /// Unless `mode` is Append, the partitions replaced (see [`Session::insert`]) lose their old
    /// files after the new ones are written, and those left without rows are dropped.
    /// New partitions are registered; the statistics of the table and of the partitions
    /// written are renewed (gathered for up to `quarry.stats.autogather.maxpartitions`).
    fn write_partitions(
        &mut self,
        meta: &TableMeta,
        schema: SchemaRef,
        batches: &[RecordBatch],
        statics: &[Option<Option<String>>],
        mode: WriteMode,
    ) -> Result<StatementResult> {
        let n_data = meta.columns.len();
        let keys = meta.partition_keys();
        let options = meta.reader_options();
        let all = arrow::compute::concat_batches(&schema, batches)?;
        // the rows of each partition: grouped by their typed values (arrow's row format),
        // then by those values' folder text (NULL and '' share one folder)
        let parts = &all.columns()[n_data..];
        let converter = arrow::row::RowConverter::new(
            parts
                .iter()
                .map(|a| arrow::row::SortField::new(a.data_type().clone()))
                .collect(),
        )?;
        let rows = converter.convert_columns(parts)?;
        let mut by_value: HashMap<arrow::row::Row<'_>, usize> = HashMap::new();
        let mut value_rows: Vec<Vec<u32>> = vec![];
        for (i, r) in rows.iter().enumerate() {
            let g = *by_value.entry(r).or_insert_with(|| {
                value_rows.push(vec![]);
                value_rows.len() - 1
            });
            value_rows[g].push(i as u32);
        }
        let mut groups: Vec<(Vec<Option<String>>, Vec<u32>)> = vec![];
        let mut index: HashMap<Vec<Option<String>>, usize> = HashMap::new();
        for rows in value_rows {
            let values = parts
                .iter()
                .map(|a| partition_text(a, rows[0] as usize))
                .collect::<Result<Vec<_>>>()?;
            match index.get(&values) {
                Some(&g) => groups[g].1.extend(rows),
                None => {
                    index.insert(values.clone(), groups.len());
                    groups.push((values, rows));
                }
            }
        }
        let existing = self
            .catalog
            .metastore
            .list_partitions(&meta.database, &meta.name)?;
        // the partitions an OVERWRITE replaces
        let dynamic_mode = mode == WriteMode::Overwrite
            && self
                .setting(PARTITION_OVERWRITE_MODE)
                .is_some_and(|v| v.eq_ignore_ascii_case("dynamic"));
        let replaced: Vec<&PartitionMeta> = if mode == WriteMode::Append {
            vec![]
        } else if dynamic_mode {
            existing
                .iter()
                .filter(|p| index.contains_key(&p.values))
                .collect()
        } else {
            existing
                .iter()
                .filter(|p| {
                    statics
                        .iter()
                        .zip(&p.values)
                        .all(|(s, v)| s.as_ref().is_none_or(|s| s == v))
                })
                .collect()
        };
        let storage = self.catalog.storage.clone();
        let mut old_files = vec![];
        for p in &replaced {
            old_files.extend(current_files(&storage, &Location::parse(&p.location)?)?);
        }
        let root = Location::parse(&meta.location)?;
        let data_schema = meta_schema(&meta.columns);
        // registered partitions' folders, by values
        let registered: HashMap<&Vec<Option<String>>, &String> =
            existing.iter().map(|p| (&p.values, &p.location)).collect();
        let mut written = vec![];
        for (values, rows) in &groups {
            let location = match registered.get(values) {
                Some(l) => l.to_string(),
                None => root
                    .join(&crate::catalog::hive::partition_path(&keys, values))
                    .to_string(),
            };
            let rows = arrow::array::UInt32Array::from(rows.clone());
            let columns = all.columns()[..n_data]
                .iter()
                .map(|c| arrow::compute::take(c, &rows, None))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let batch = crate::physical::make_batch(data_schema.clone(), columns, rows.len())?;
            let dir = Location::parse(&location)?;
            datasource::writer::write_table_file(
                &storage,
                &dir,
                meta.format,
                &options,
                data_schema.clone(),
                &[batch],
                false,
            )?;
            storage.invalidate(&dir);
            written.push(PartitionMeta {
                values: values.clone(),
                location,
            });
        }
        delete_files(&storage, &old_files, "INSERT OVERWRITE")?;
        let emptied: Vec<Vec<Option<String>>> = replaced
            .iter()
            .filter(|p| !index.contains_key(&p.values))
            .map(|p| p.values.clone())
            .collect();
        let db = &meta.database;
        let name = &meta.name;
        self.catalog
            .metastore
            .drop_partitions(db, name, &keys, &emptied)?;
        self.catalog
            .metastore
            .add_partitions(db, name, &keys, &written, true)?;
        storage.invalidate(&root);
        self.catalog.metastore.set_statistics(db, name, "", None)?;
        // (a new partition has none: dropping a partition drops its statistics)
        for p in written
            .iter()
            .filter(|p| registered.contains_key(&p.values))
        {
            let spec = crate::catalog::hive::partition_path(&keys, &p.values);
            self.catalog
                .metastore
                .set_statistics(db, name, &spec, None)?;
        }
        if written.len() <= self.autogather_max_partitions() {
            self.gather_partition_statistics(meta, &written)?;
        }
        Ok(StatementResult::empty())
    }

    /// `input` (one column per table column of `columns`, in order) with each
    /// generated column's value computed from the row's other columns, cast to their
    /// types first (the values they are stored as); the rest pass through. A generated
    /// column may refer to another (DuckDB's rule; Delta refuses it): they are computed
    /// in dependency order. Errors: an expression that does not bind over the table's
    /// columns, that holds a subquery, an aggregate or a window function, or generated
    /// columns that refer to each other in a cycle.
    fn generation_plan(&self, columns: &[ColumnDef], input: LogicalPlan) -> Result<LogicalPlan> {
        use crate::binder::{coerce::cast_to, ExprCtx, Scope};
        use crate::plan::{Column, Expr};
        use sqlparser::ast::{visit_expressions, Expr as AstExpr};
        use std::ops::ControlFlow;
        if columns.iter().all(|c| c.generated.is_none()) {
            return Ok(input);
        }
        let invalid = |c: &ColumnDef, e: String| {
            QuarryError::Analysis(format!(
                "[UNSUPPORTED_EXPRESSION_GENERATED_COLUMN] Cannot create the generated column `{}` with the generation expression `{}`: {e}",
                c.name,
                c.generated.as_deref().unwrap_or_default()
            ))
        };
        // each generated column's expression and the generated columns it names
        let mut pending: Vec<(usize, sqlparser::ast::Expr, Vec<usize>)> = vec![];
        for (i, c) in columns.iter().enumerate() {
            let Some(text) = &c.generated else { continue };
            let ast = crate::parser::parse_expression(text)?;
            let mut names = vec![];
            let subquery = visit_expressions(&ast, |e| match e {
                AstExpr::Subquery(_) | AstExpr::Exists { .. } | AstExpr::InSubquery { .. } => {
                    ControlFlow::Break(())
                }
                AstExpr::Identifier(id) => {
                    names.push(id.value.clone());
                    ControlFlow::Continue(())
                }
                AstExpr::CompoundIdentifier(ids) => {
                    names.extend(ids.first().map(|id| id.value.clone()));
                    ControlFlow::Continue(())
                }
                _ => ControlFlow::Continue(()),
            });
            if subquery.is_break() {
                return Err(invalid(c, "it holds a subquery".into()));
            }
            let deps = columns
                .iter()
                .enumerate()
                .filter(|(_, d)| {
                    d.generated.is_some() && names.iter().any(|n| n.eq_ignore_ascii_case(&d.name))
                })
                .map(|(j, _)| j)
                .collect();
            pending.push((i, ast, deps));
        }
        let out = input.schema();
        // the columns computed so far, as each table column's value for the expressions
        // (cast to its type) and, for generated ones, as written
        let mut seen: Vec<Option<Column>> = vec![None; columns.len()];
        let mut written: Vec<Option<Column>> = vec![None; columns.len()];
        let mut exprs = vec![];
        for (i, (c, o)) in columns.iter().zip(&out).enumerate() {
            if c.generated.is_none() {
                let col = Column::new(c.name.clone(), c.data_type.clone(), true);
                exprs.push((cast_to(Expr::Column(o.clone()), &c.data_type)?, col.clone()));
                seen[i] = Some(col.clone());
                written[i] = Some(col);
            }
        }
        let mut plan = LogicalPlan::Project {
            input: Box::new(input),
            exprs,
        };
        let ctx = self.bind_ctx();
        let mut binder = Binder::new(&ctx);
        while !pending.is_empty() {
            let (ready, rest): (Vec<_>, Vec<_>) = pending
                .into_iter()
                .partition(|(_, _, deps)| deps.iter().all(|d| seen[*d].is_some()));
            if ready.is_empty() {
                let names: Vec<String> = rest
                    .iter()
                    .map(|(i, _, _)| format!("`{}`", columns[*i].name))
                    .collect();
                return Err(invalid(
                    &columns[rest[0].0],
                    format!(
                        "the generated columns {} refer to each other",
                        names.join(", ")
                    ),
                ));
            }
            let visible: Vec<Column> = seen.iter().flatten().cloned().collect();
            let scope = Scope::new(None, &visible);
            let cx = ExprCtx {
                scope: &scope,
                outer: &[],
                agg: None,
                clause: "GENERATED ALWAYS AS",
                windows: None,
            };
            // what the layers above read: every column seen or written so far, once
            let mut exprs: Vec<(Expr, Column)> = vec![];
            for c in seen.iter().chain(written.iter()).flatten() {
                if !exprs.iter().any(|(_, x)| x == c) {
                    exprs.push((Expr::Column(c.clone()), c.clone()));
                }
            }
            let mut next_seen = seen.clone();
            for (i, ast, _) in ready {
                let c = &columns[i];
                let e = binder
                    .bind_expr(&ast, &cx)
                    .map_err(|e| invalid(c, e.to_string()))?;
                let raw = Column::new(c.name.clone(), e.data_type(), true);
                exprs.push((e.clone(), raw.clone()));
                written[i] = Some(raw);
                if c.data_type != DataType::Null {
                    let typed = Column::new(c.name.clone(), c.data_type.clone(), true);
                    exprs.push((cast_to(e, &c.data_type)?, typed.clone()));
                    next_seen[i] = Some(typed);
                } else {
                    next_seen[i] = written[i].clone();
                }
            }
            seen = next_seen;
            plan = LogicalPlan::Project {
                input: Box::new(plan),
                exprs,
            };
            pending = rest;
        }
        let exprs = written
            .into_iter()
            .map(|c| {
                let c = c.ok_or_else(|| QuarryError::Internal("a generated column".into()))?;
                Ok((Expr::Column(c.clone()), c))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(LogicalPlan::Project {
            input: Box::new(plan),
            exprs,
        })
    }

    /// The value of column `c`'s default (NULL when it has none), one row: its
    /// expression evaluated once, cast to the column's type by store assignment.
    /// Errors: an expression that does not bind as a constant (one naming a column),
    /// or whose value does not fit the type, as `[INVALID_DEFAULT_VALUE]`.
    fn default_value(&mut self, c: &ColumnDef) -> Result<ArrayRef> {
        let Some(text) = &c.default else {
            return Ok(arrow::array::new_null_array(&c.data_type, 1));
        };
        let invalid = |e: QuarryError| {
            QuarryError::Analysis(format!(
                "[INVALID_DEFAULT_VALUE] The DEFAULT value `{text}` of column `{}` is invalid: {e}",
                c.name
            ))
        };
        let value = (|| {
            // the text is the expression's own source, so it reads back the same
            let Statement::Query(query) =
                crate::parser::parse_statement(&format!("SELECT {text}"))?
            else {
                return Err(QuarryError::Internal("a default's SELECT".into()));
            };
            let plan = self.bind(&query)?;
            let r = self.run_plan(plan)?;
            let col = r
                .batches
                .iter()
                .find(|b| b.num_rows() > 0)
                .map(|b| b.column(0).slice(0, 1))
                .ok_or_else(|| QuarryError::Internal("a default of no rows".into()))?;
            let v = crate::physical::eval::store_assign(&col, &c.data_type, &c.name)?;
            match c.char_varchar {
                Some(cv) => crate::physical::eval::char_varchar_write(&v, cv, &c.name),
                None => Ok(v),
            }
        })();
        value.map_err(invalid)
    }

    /// `DELETE` and `UPDATE` of a managed parquet table: the table's rows after the
    /// statement are computed by a query over the table (DELETE keeps the rows whose
    /// `WHERE` is not true; UPDATE sets each listed column to its value where `WHERE` is
    /// true, every value computed from the rows before the update), then written as the
    /// table's new data, as `INSERT OVERWRITE` writes (the new file first, then the old
    /// ones are removed). `SET c = DEFAULT` sets the column's default (NULL without one).
    /// Errors: an unknown or repeated column, a view, an external or partitioned table,
    /// and anything INSERT OVERWRITE rejects.
    fn rewrite_rows(&mut self, stmt: &str, dml: crate::parser::Dml) -> Result<StatementResult> {
        use sqlparser::ast::{visit_expressions_mut, Expr as AstExpr, Value};
        use std::ops::ControlFlow;
        let (db, name) = self.qualify(&dml.table)?;
        let meta = self.catalog.require_table(&db, &name)?;
        match meta.kind {
            TableKind::View => {
                return Err(QuarryError::Analysis(format!(
                    "[EXPECT_TABLE_NOT_VIEW] `{db}`.`{name}` is a view; {stmt} needs a table"
                )))
            }
            TableKind::External => {
                return Err(QuarryError::NotSupported(format!(
                    "{stmt} of the external table `{db}`.`{name}` (only managed tables are rewritten; their files are Quarry's)"
                )))
            }
            TableKind::Managed => {}
        }
        // a partitioned table's partition columns are rewritten too (an UPDATE of one
        // moves the row); every partition is replaced, whatever the overwrite mode
        let all = meta.all_columns();
        let quote = parser::quote_identifier;
        let alias = dml.alias.clone().unwrap_or_else(|| name.clone());
        let from = format!("{}.{} AS {}", quote(&db), quote(&name), quote(&alias));
        let mut values = vec![];
        let text = if stmt == "DELETE" {
            // the columns a write gives: all but the generated ones
            let kept: Vec<String> = all
                .iter()
                .filter(|m| m.generated.is_none())
                .map(|m| format!("{}.{}", quote(&alias), quote(&m.name)))
                .collect();
            format!(
                "SELECT {} FROM {from} WHERE NOT coalesce(__quarry_where, false)",
                kept.join(", ")
            )
        } else {
            let mut items = vec![];
            for (c, _) in &dml.assignments {
                column_index(&meta, &all, c)?;
                if dml.assignments.iter().filter(|(o, _)| o == c).count() > 1 {
                    return Err(QuarryError::Analysis(format!(
                        "[DUPLICATE_ASSIGNMENTS] The column `{c}` is assigned more than once in UPDATE"
                    )));
                }
            }
            if let Some((c, _)) = dml.assignments.iter().find(|(c, _)| {
                all.iter()
                    .any(|m| m.generated.is_some() && m.name.eq_ignore_ascii_case(c))
            }) {
                return Err(QuarryError::Analysis(format!(
                    "[GENERATED_COLUMN_WRITE] The column `{c}` of `{db}`.`{name}` is generated: UPDATE cannot set it (it is computed from the columns it is generated from)"
                )));
            }
            for m in all.iter().filter(|m| m.generated.is_none()) {
                let old = format!("{}.{}", quote(&alias), quote(&m.name));
                let item = match dml
                    .assignments
                    .iter()
                    .find(|(c, _)| c.eq_ignore_ascii_case(&m.name))
                {
                    None => old,
                    Some((_, v)) => {
                        let placeholder = format!("__quarry_set{}", values.len());
                        values.push(if is_default_keyword(v) {
                            default_expr(Some(m))?
                        } else {
                            v.clone()
                        });
                        if dml.selection.is_some() {
                            format!("CASE WHEN coalesce(__quarry_where, false) THEN {placeholder} ELSE {old} END")
                        } else {
                            placeholder
                        }
                    }
                };
                items.push(format!("{item} AS {}", quote(&m.name)));
            }
            format!("SELECT {} FROM {from}", items.join(", "))
        };
        let Statement::Query(mut query) = crate::parser::parse_statement(&text)? else {
            return Err(QuarryError::Internal(format!(
                "{stmt}: not a query: {text}"
            )));
        };
        let selection = dml
            .selection
            .clone()
            .unwrap_or(AstExpr::value(Value::Boolean(true)));
        let _ = visit_expressions_mut(&mut *query, |e| {
            if let AstExpr::Identifier(i) = e {
                if i.value == "__quarry_where" {
                    *e = selection.clone();
                } else if let Some(k) = i.value.strip_prefix("__quarry_set") {
                    if let Some(v) = k.parse::<usize>().ok().and_then(|k| values.get(k)) {
                        *e = v.clone();
                    }
                }
            }
            ControlFlow::<()>::Continue(())
        });
        query.with = dml.with;
        // the table's columns but the generated ones, which the write computes
        let columns: Vec<String> = all
            .iter()
            .filter(|m| m.generated.is_none())
            .map(|m| m.name.clone())
            .collect();
        self.insert(
            &ObjectName(vec![db, name]),
            WriteMode::ReplaceAll,
            &[],
            &columns,
            false,
            &query,
        )
    }

    /// `ANALYZE TABLE t [PARTITION (...)] COMPUTE STATISTICS [NOSCAN | FOR COLUMNS ... |
    /// FOR ALL COLUMNS]`, as Spark: table-level size and rows (and column statistics),
    /// or with PARTITION each matching partition's size and rows. Stored in the metastore.
    fn analyze(
        &mut self,
        table: &ObjectName,
        partition: Option<PartitionSpec>,
        mode: AnalyzeMode,
    ) -> Result<StatementResult> {
        if self.is_temp_view(table) {
            return Err(QuarryError::NotSupported(format!(
                "ANALYZE TABLE on the temporary view `{}`: statistics are kept for catalog tables (the optimizer reads a view's parquet footers as they are)",
                table.0[0]
            )));
        }
        let (db, name) = self.qualify(table)?;
        let meta = self.catalog.require_table(&db, &name)?;
        if meta.kind == TableKind::View {
            return Err(QuarryError::Analysis(format!(
                "[UNSUPPORTED_FEATURE.ANALYZE_VIEW] The feature is not supported: The ANALYZE TABLE command does not support views (`{db}`.`{name}`)."
            )));
        }
        let all = meta.all_columns();
        let projection: Vec<usize> = match &mode {
            AnalyzeMode::AllColumns => (0..all.len()).collect(),
            AnalyzeMode::Columns(names) => names
                .iter()
                .map(|n| {
                    all.iter().position(|c| c.name.eq_ignore_ascii_case(n)).ok_or_else(|| {
                        QuarryError::Analysis(format!(
                            "[COLUMN_NOT_FOUND] The column `{n}` cannot be found in `{db}`.`{name}`{}",
                            crate::catalog::did_you_mean(n, all.iter().map(|c| c.name.as_str()))
                        ))
                    })
                })
                .collect::<Result<_>>()?,
            _ => vec![],
        };
        let names: Vec<String> = projection.iter().map(|p| all[*p].name.clone()).collect();
        let storage = self.catalog.storage.clone();
        let size_of = |locations: &[String]| -> Result<u64> {
            let roots: Vec<Location> = locations
                .iter()
                .map(|l| Location::parse(l))
                .collect::<Result<_>>()?;
            let mut total = 0;
            for r in storage.list_files_many(&roots, &datasource::IoStats::default()) {
                match r {
                    Ok(files) => total += files.iter().map(|f| f.size).sum::<u64>(),
                    // a registered partition whose folder is gone holds nothing
                    Err(e) if e.is_path_not_found() => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(total)
        };
        let ctx = self.exec_ctx();
        let ms = self.catalog.metastore.clone();
        if let Some(spec) = partition {
            if !meta.is_partitioned() {
                return Err(QuarryError::Analysis(format!(
                    "PARTITION specification is not allowed on the non-partitioned table `{db}`.`{name}`"
                )));
            }
            if !projection.is_empty() {
                return Err(QuarryError::NotSupported(
                    "ANALYZE TABLE ... PARTITION ... FOR COLUMNS: column statistics are computed for the whole table (drop the PARTITION clause)".into(),
                ));
            }
            let keys = meta.partition_keys();
            let mut idx = vec![];
            for (k, v) in &spec {
                let i = keys
                    .iter()
                    .position(|x| x.eq_ignore_ascii_case(k))
                    .ok_or_else(|| {
                        QuarryError::Analysis(format!(
                            "`{k}` is not a partition column of `{db}`.`{name}`"
                        ))
                    })?;
                idx.push((i, v.clone()));
            }
            let parts: Vec<PartitionMeta> = ms
                .list_partitions(&db, &name)?
                .into_iter()
                .filter(|p| idx.iter().all(|(i, v)| p.values.get(*i) == Some(v)))
                .collect();
            if parts.is_empty() {
                let shown: Vec<String> = spec
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("NULL")))
                    .collect();
                return Err(QuarryError::Analysis(format!(
                    "[PARTITIONS_NOT_FOUND] The partition(s) PARTITION ({}) cannot be found in table `{db}`.`{name}`",
                    shown.join(", ")
                )));
            }
            for p in parts {
                let size = size_of(std::slice::from_ref(&p.location))?;
                let spec_path = crate::catalog::hive::partition_path(&keys, &p.values);
                let old = ms.get_statistics(&db, &name, &spec_path)?;
                let old = old.unwrap_or_default();
                let rows = if mode == AnalyzeMode::NoScan {
                    old.rows
                } else {
                    let source = crate::binder::catalog_source(
                        &meta,
                        crate::plan::SourceFiles::Partitions(vec![p.clone()]),
                        None,
                    );
                    Some(
                        crate::physical::analyze::analyze_source(Arc::new(source), vec![], &ctx)?.0,
                    )
                };
                // (the footer ranges gathered at registration stay)
                let st = crate::catalog::TableStatistics {
                    size_bytes: size,
                    rows,
                    columns: Default::default(),
                    ..old
                };
                ms.set_statistics(&db, &name, &spec_path, Some(&st))?;
            }
            return Ok(StatementResult::empty());
        }
        let (files, locations) = if meta.is_partitioned() {
            let parts = ms.list_partitions(&db, &name)?;
            let locs = parts.iter().map(|p| p.location.clone()).collect();
            (crate::plan::SourceFiles::Partitions(parts), locs)
        } else {
            (
                crate::plan::SourceFiles::Folder(meta.location.clone()),
                vec![meta.location.clone()],
            )
        };
        let size = size_of(&locations)?;
        let old = ms.get_statistics(&db, &name, "")?.unwrap_or_default();
        let st = if mode == AnalyzeMode::NoScan {
            crate::catalog::TableStatistics {
                size_bytes: size,
                ..old
            }
        } else {
            let source = crate::binder::catalog_source(&meta, files, None);
            let (rows, cols) =
                crate::physical::analyze::analyze_source(Arc::new(source), projection, &ctx)?;
            crate::catalog::TableStatistics {
                size_bytes: size,
                rows: Some(rows),
                columns: crate::physical::analyze::merge_columns(&old.columns, &names, cols),
                ..old
            }
        };
        ms.set_statistics(&db, &name, "", Some(&st))?;
        Ok(StatementResult::empty())
    }
}

/// DESCRIBE's column rows, as Spark prints them: the columns, then for a partitioned
/// table `# Partition Information` and the partition columns.
fn describe_columns(meta: &TableMeta) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = meta
        .all_columns()
        .into_iter()
        .map(|c| {
            // a generated column without a comment says what it is generated from
            let comment = match (&c.comment, &c.generated) {
                (Some(cm), _) => cm.clone(),
                (None, Some(g)) => format!("GENERATED ALWAYS AS ({g})"),
                (None, None) => "NULL".into(),
            };
            vec![c.name.clone(), c.type_text(), comment]
        })
        .collect();
    if meta.is_partitioned() {
        rows.push(vec![
            "# Partition Information".into(),
            String::new(),
            String::new(),
        ]);
        rows.push(vec![
            "# col_name".into(),
            "data_type".into(),
            "comment".into(),
        ]);
        for c in &meta.partition_columns {
            rows.push(vec![
                c.name.clone(),
                c.type_text(),
                c.comment.clone().unwrap_or_else(|| "NULL".into()),
            ]);
        }
    }
    rows
}

/// SHOW CREATE TABLE's text, in Spark's layout (`CREATE TABLE db.t (\n  a INT,\n  b
/// STRING)\nUSING parquet\n...`): columns with their NOT NULL, DEFAULT and GENERATED
/// ALWAYS AS clauses (partition columns last), then OPTIONS, PARTITIONED BY and, for an
/// external table, LOCATION; a view's query text. Running it makes
/// the table or view again over the same data (a secret option is shown redacted, as
/// in SET).
fn create_statement(meta: &TableMeta) -> String {
    let quoted = |n: &str| {
        let plain = n
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if plain {
            n.to_string()
        } else {
            parser::quote_identifier(n)
        }
    };
    let string = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    let name = format!("{}.{}", quoted(&meta.database), quoted(&meta.name));
    // Spark's order: COMMENT, then TBLPROPERTIES (without the comment)
    let mut properties = meta
        .comment()
        .map(|c| format!("COMMENT {}\n", string(c)))
        .unwrap_or_default();
    let p: Vec<String> = meta
        .shown_properties()
        .iter()
        .map(|(k, v)| format!("  {} = {}", string(k), string(v)))
        .collect();
    if !p.is_empty() {
        properties.push_str(&format!("TBLPROPERTIES (\n{})\n", p.join(",\n")));
    }
    if meta.kind == TableKind::View {
        // the stored text names the columns itself (a column list given at creation is
        // kept in it), so the statement stays the same through a round trip
        return format!(
            "CREATE VIEW {name}\n{properties}AS {}\n",
            meta.view_sql.as_deref().unwrap_or_default()
        );
    }
    let cols: Vec<String> = meta
        .all_columns()
        .iter()
        .map(|c| {
            let t = c.type_text();
            let mut line = format!(
                "  {} {}",
                quoted(&c.name),
                if t.contains('<') { t } else { t.to_uppercase() }
            );
            if !c.nullable {
                line.push_str(" NOT NULL");
            }
            if let Some(d) = &c.default {
                line.push_str(&format!(" DEFAULT {d}"));
            }
            if let Some(g) = &c.generated {
                line.push_str(&format!(" GENERATED ALWAYS AS ({g})"));
            }
            if let Some(cm) = &c.comment {
                line.push_str(&format!(" COMMENT {}", string(cm)));
            }
            line
        })
        .collect();
    let mut out = format!(
        "CREATE TABLE {name} (\n{})\nUSING {}\n",
        cols.join(",\n"),
        meta.format.name()
    );
    if !meta.options.is_empty() {
        let o: Vec<String> = meta
            .options
            .iter()
            .map(|(k, v)| {
                let v = datasource::s3::shown_value(k, v);
                format!("  {} = {}", string(k), string(v))
            })
            .collect();
        out.push_str(&format!("OPTIONS (\n{})\n", o.join(",\n")));
    }
    if meta.is_partitioned() {
        let p: Vec<String> = meta
            .partition_columns
            .iter()
            .map(|c| quoted(&c.name))
            .collect();
        out.push_str(&format!("PARTITIONED BY ({})\n", p.join(", ")));
    }
    if meta.kind == TableKind::External {
        out.push_str(&format!(
            "LOCATION {}\n",
            string(&shown_location(&meta.location))
        ));
    }
    out.push_str(&properties);
    out
}

/// A location as DESCRIBE shows it: S3 as is, a local path as `file:/path` (Spark's URI).
fn shown_location(loc: &str) -> String {
    if loc.starts_with("s3") {
        loc.to_string()
    } else {
        format!("file:{loc}")
    }
}

/// The arrow schema files of a table are written with.
fn meta_schema(cols: &[ColumnDef]) -> SchemaRef {
    Arc::new(Schema::new(
        cols.iter()
            .map(|c| Field::new(&c.name, c.data_type.clone(), true))
            .collect::<Vec<_>>(),
    ))
}

/// The partitions (of a table partitioned by `keys`) whose values match a spec naming
/// some or all of the partition columns (a partial spec matches many; a column that is
/// not a partition column matches none).
fn partitions_matching<'a>(
    keys: &[String],
    existing: &'a [PartitionMeta],
    spec: &PartitionSpec,
) -> Vec<&'a PartitionMeta> {
    existing
        .iter()
        .filter(|p| {
            spec.iter().all(|(k, v)| {
                keys.iter()
                    .position(|x| x.eq_ignore_ascii_case(k))
                    .is_some_and(|i| &p.values[i] == v)
            })
        })
        .collect()
}

/// Spark's `[PARTITIONS_NOT_FOUND]` for a spec that matches no partition of `meta`.
fn partitions_not_found(meta: &TableMeta, spec: &PartitionSpec) -> QuarryError {
    let text: Vec<String> = spec
        .iter()
        .map(|(k, v)| format!("{k}={}", escape_path_name(v.as_deref())))
        .collect();
    QuarryError::Analysis(format!(
        "[PARTITIONS_NOT_FOUND] The partition(s) ({}) cannot be found in table `{}`.`{}`",
        text.join(", "),
        meta.database,
        meta.name
    ))
}

/// The position of column `c` (case-insensitive) in `meta`'s columns. Errors: a name
/// that is not one of them, as `[UNRESOLVED_COLUMN]` with the nearest names.
/// The position of the column named `c` (case-insensitive) in `columns`, some columns
/// of `meta`. Error: `[UNRESOLVED_COLUMN]` with the nearest name.
fn column_index(meta: &TableMeta, columns: &[ColumnDef], c: &str) -> Result<usize> {
    columns
        .iter()
        .position(|m| m.name.eq_ignore_ascii_case(c))
        .ok_or_else(|| {
            QuarryError::Analysis(format!(
                "[UNRESOLVED_COLUMN] column `{c}` is not a column of `{}`.`{}`{}",
                meta.database,
                meta.name,
                crate::catalog::did_you_mean(c, columns.iter().map(|m| m.name.as_str()))
            ))
        })
}

/// The partition folder value of row `row` of `a`: its text (Spark's cast to string);
/// NULL and the empty string are `None` (`__HIVE_DEFAULT_PARTITION__`, as Spark writes
/// both).
fn partition_text(a: &ArrayRef, row: usize) -> Result<Option<String>> {
    use arrow::array::{Array, AsArray};
    let text = crate::physical::eval::cast_array(&a.slice(row, 1), &DataType::Utf8)?;
    let text = text.as_string::<i32>();
    Ok((text.is_valid(0) && !text.value(0).is_empty()).then(|| text.value(0).to_string()))
}

/// Delete `files` (a write's replaced data); an error names the file and `what` (the
/// statement). Files deleted before it stay deleted.
/// The files in the folder `dir` now (its cached listing dropped first), none where the
/// folder does not exist: what a write that replaces the folder's contents deletes.
/// Errors: a listing that fails otherwise (an S3 error), so old files are never kept
/// by mistake.
fn current_files(storage: &Storage, dir: &Location) -> Result<Vec<datasource::FileEntry>> {
    storage.invalidate(dir);
    match storage.list_files(dir, &datasource::IoStats::default()) {
        Ok(f) => Ok(f.as_ref().clone()),
        Err(e) if e.is_path_not_found() => Ok(vec![]),
        Err(e) => Err(e),
    }
}

fn delete_files(storage: &Storage, files: &[datasource::FileEntry], what: &str) -> Result<()> {
    for f in files {
        storage.delete(&f.location).map_err(|e| {
            QuarryError::Data(format!("{what} could not remove {}: {e}", f.location))
        })?;
    }
    Ok(())
}

/// What the keyword `DEFAULT` stands for in a write to column `c`: its default's
/// expression, or NULL (no default, or no such column).
fn default_expr(c: Option<&ColumnDef>) -> Result<sqlparser::ast::Expr> {
    match c.and_then(|c| c.default.as_deref()) {
        Some(text) => crate::parser::parse_expression(text),
        None => Ok(sqlparser::ast::Expr::value(sqlparser::ast::Value::Null)),
    }
}

/// `query` with `DEFAULT` in a `VALUES` body replaced by the default of the column it
/// goes to (`columns`, the INSERT's column list, or all the table's columns): its
/// expression, or NULL.
fn values_defaults(
    query: &sqlparser::ast::Query,
    meta: &TableMeta,
    columns: &[String],
) -> Result<sqlparser::ast::Query> {
    let mut query = query.clone();
    let sqlparser::ast::SetExpr::Values(values) = query.body.as_mut() else {
        return Ok(query);
    };
    for row in &mut values.rows {
        for (j, e) in row.iter_mut().enumerate() {
            if !is_default_keyword(e) {
                continue;
            }
            let target = match columns.get(j) {
                Some(c) => meta.columns.iter().find(|m| m.name.eq_ignore_ascii_case(c)),
                // the columns a write gives: all but the generated ones
                None if columns.is_empty() => {
                    meta.columns.iter().filter(|m| m.generated.is_none()).nth(j)
                }
                None => None,
            };
            *e = default_expr(target)?;
        }
    }
    Ok(query)
}

/// Whether `e` is the keyword `DEFAULT` (in INSERT's VALUES or UPDATE's SET).
fn is_default_keyword(e: &sqlparser::ast::Expr) -> bool {
    matches!(e, sqlparser::ast::Expr::Identifier(i)
        if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default"))
}
