//! The binder: sqlparser's `Query` AST -> [`LogicalPlan`], resolving names against the
//! catalog, temp views and CTEs, expanding `*`, checking and coercing types, and turning
//! subqueries into plan nodes. Errors name the unresolved object with a suggestion.

pub mod coerce;
mod decorrelate;
pub mod expr;
pub mod interval;
mod pivot;
pub mod scope;
mod select;
pub mod window;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sqlparser::ast;

use crate::catalog::{Catalog, FileFormat, PartitionMeta, TableKind, TableMeta};
use crate::datasource::{IoStats, Location, Storage};
use crate::error::{QuarryError, Result};
use crate::plan::{Column, Expr, LogicalPlan, SourceFiles, TableSource};
pub use expr::ExprCtx;
pub use scope::{Scope, ScopeCol};

/// A session-scoped view.
#[derive(Clone, Debug)]
pub enum TempView {
    /// `CREATE TEMPORARY VIEW v AS query`.
    Query { sql: String, query: Box<ast::Query> },
    /// A view whose rows `CACHE TABLE` computed and wrote as parquet files in the folder
    /// `path` (in the session's cache folder); `sql` and `query` define it again once it
    /// is uncached.
    Cached {
        sql: String,
        query: Box<ast::Query>,
        path: String,
    },
    /// `CREATE TEMPORARY VIEW v USING fmt OPTIONS (path '...')`: files listed at query time.
    Files {
        format: FileFormat,
        options: BTreeMap<String, String>,
        path: String,
    },
}

thread_local! {
    /// The instant (microseconds since the epoch) of the statement being bound on this
    /// thread: Spark evaluates `current_timestamp()` and `current_date()` once per query,
    /// so every call in a statement gives the same value.
    static STATEMENT_NOW: std::cell::Cell<Option<i64>> = const { std::cell::Cell::new(None) };
}

/// Start a statement's clock on this thread (the session does, per statement it binds).
pub fn start_statement_clock() {
    let now = chrono::Utc::now().timestamp_micros();
    STATEMENT_NOW.with(|c| c.set(Some(now)));
}

/// The statement's instant, see [`start_statement_clock`] (now, when none was started).
pub(crate) fn statement_now() -> i64 {
    STATEMENT_NOW
        .with(|c| c.get())
        .unwrap_or_else(|| chrono::Utc::now().timestamp_micros())
}

/// What the binder reads from the session.
pub struct BindContext<'a> {
    pub catalog: &'a Catalog,
    /// The catalog definitions (three-part names name one of them).
    pub catalogs: &'a [crate::catalog::definitions::CatalogDefinition],
    /// The lake catalogs among them.
    pub lakes: &'a [crate::catalog::lake::LakeCatalog],
    pub current_db: &'a str,
    pub temp_views: &'a HashMap<String, TempView>,
    /// The settings that change how arithmetic is typed (integer division, decimal
    /// precision loss).
    pub arith: coerce::ArithMode,
    /// `quarry.stats.autogather`: scans of partitioned tables keep the partition
    /// statistics they compute from footers in the metastore.
    pub stats_autogather: bool,
    /// Spark's settings for what GROUP BY and HAVING accept.
    pub grouping: GroupingMode,
    /// `spark.sql.legacy.setopsPrecedence.enabled` (false): set operations written one
    /// after another apply left to right, INTERSECT binding no tighter than UNION and
    /// EXCEPT (Spark 2.3's reading).
    pub legacy_setops_precedence: bool,
    /// `spark.sql.legacy.percentileDiscCalculation` (false): percentile_disc takes the
    /// `floor(p * (n - 1))`-th value (0-based), as Spark before SPARK-44871.
    pub legacy_percentile_disc: bool,
    /// `spark.sql.parser.quotedRegexColumnNames` (false): a backquoted name in the select
    /// list that is no column is a regular expression (Java's syntax) selecting every
    /// column whose whole name it matches, case-insensitively (Hive's regex columns,
    /// `` SELECT `(ds|hr)?+.+` FROM t ``).
    pub quoted_regex_column_names: bool,
}

/// Spark's settings for GROUP BY and HAVING (defaults as Spark's).
#[derive(Clone, Copy, Debug)]
pub struct GroupingMode {
    /// `spark.sql.groupByOrdinal` (true): `GROUP BY 2` names the second select item;
    /// when false it groups by the literal.
    pub ordinals: bool,
    /// `spark.sql.orderByOrdinal` (true): `ORDER BY 2` names the second select item; when
    /// false the literal is a constant sort key (no order).
    pub order_ordinals: bool,
    /// `spark.sql.groupByAliases` (true): GROUP BY may name a select-list alias.
    pub aliases: bool,
    /// `spark.sql.legacy.parser.havingWithoutGroupByAsWhere` (false): HAVING without
    /// GROUP BY filters rows as a WHERE does (Spark 2's reading) instead of making the
    /// query one global aggregate.
    pub having_without_group_by_as_where: bool,
}

impl Default for GroupingMode {
    fn default() -> Self {
        GroupingMode {
            ordinals: true,
            order_ordinals: true,
            aliases: true,
            having_without_group_by_as_where: false,
        }
    }
}

/// Binds queries. One binder per statement.
pub struct Binder<'a> {
    pub ctx: &'a BindContext<'a>,
    /// CTEs in scope, innermost last: name -> (query, column aliases, declared under
    /// WITH RECURSIVE, position in its WITH).
    ctes: Vec<HashMap<String, (ast::Query, Vec<String>, bool, usize)>>,
    /// The names of each level of `ctes` that the query has referenced.
    ctes_used: Vec<std::collections::HashSet<String>>,
    /// For each level of `ctes`, the scopes enclosing the query that declared it: a CTE
    /// body inside a subquery may refer to them (DuckDB's and PostgreSQL's reading).
    cte_outer: Vec<Vec<Scope>>,
    /// Recursive CTEs whose recursive term is being bound, innermost last: (name, work
    /// table id, the CTE's columns): a reference to the name there reads the work table.
    recursive_frames: Vec<(String, usize, Vec<Column>)>,
    /// Views being expanded (to report recursive views).
    expanding: Vec<String>,
    /// CTEs being expanded (their own namespace: a CTE's body may read a view or table
    /// of the same name, as Spark's `WITH t AS (SELECT ... FROM t)`).
    expanding_ctes: Vec<String>,
    /// Parameters of the lambda functions being bound, innermost last: a name among
    /// them is that parameter before any column (Spark resolves lambda variables first).
    lambda_params: Vec<Vec<Column>>,
    /// CTE bodies being bound, innermost last: (the definition's key, how many `rand`
    /// calls its binding has met so far). See [`Binder::cte_rand_site`].
    rand_sites: Vec<(String, usize)>,
    /// (seed, stream id) of each `rand` call site of a CTE body, by (definition key,
    /// ordinal): every reference to the CTE binds the call with the same ones.
    rand_site_streams: HashMap<(String, usize), (i64, i64)>,
    /// For each SELECT being bound, innermost last: the file-name column its FROM's scan
    /// exposes for `input_file_name()` (None: its rows come from no file). Only SELECTs
    /// that call the function push an entry (see `bind_select`).
    file_names: Vec<Option<Column>>,
    /// For each SELECT being bound that calls `window()` with a slide, innermost last:
    /// (the call's SQL, the column of the windows generated for it).
    window_columns: Vec<Vec<(String, Column)>>,
    /// The query being bound (or one it reads through a view) names `rowid`: the scans
    /// of unpartitioned parquet tables then offer their row ids under that name (see
    /// [`crate::plan::ROW_ID_COLUMN`]; projection pruning drops them where unused).
    row_ids: bool,
    /// Unaliased subqueries met so far in the FROM being bound (their names).
    unnamed_subqueries: usize,
    /// The columns read from a table's `CHAR(n)` (already padded) and `VARCHAR(n)`
    /// columns, and those passing them on unchanged: comparisons of a CHAR one with a
    /// string literal, or with another of a different length, pad the shorter side
    /// (Spark's ApplyCharTypePadding); a CTAS keeps their types.
    char_columns: HashMap<crate::plan::ColumnId, crate::types::CharVarchar>,
    /// For each subquery being bound inside an aggregating query's HAVING, SELECT list
    /// or ORDER BY, innermost last: that query's aggregation (its input scope and the
    /// aggregates it computes so far). An aggregate call in the subquery whose columns
    /// all come from that input is an outer aggregate: computed by the enclosing query,
    /// and a correlated reference to its result inside the subquery (Spark's and the
    /// SQL standard's reading of `HAVING EXISTS (... WHERE b < min(outer.x))`).
    outer_aggs: Vec<expr::AggState>,
}

impl<'a> Binder<'a> {
    pub fn new(ctx: &'a BindContext<'a>) -> Self {
        Binder {
            ctx,
            ctes: vec![],
            ctes_used: vec![],
            cte_outer: vec![],
            recursive_frames: vec![],
            expanding: vec![],
            expanding_ctes: vec![],
            lambda_params: vec![],
            rand_sites: vec![],
            rand_site_streams: HashMap::new(),
            file_names: vec![],
            window_columns: vec![],
            row_ids: false,
            unnamed_subqueries: 0,
            char_columns: HashMap::new(),
            outer_aggs: vec![],
        }
    }

    /// For a `rand` call bound inside a CTE body: its (seed, stream id), the same for
    /// every reference to that CTE (an unseeded call gets a random seed once, as Spark's
    /// ResolveRandomSeed). The references' subplans then compare equal, and the physical
    /// planner runs them once and shares the rows (Spark does not inline a
    /// nondeterministic CTE: all its references read one result). `None` outside CTEs.
    pub(super) fn cte_rand_site(&mut self) -> Option<(i64, i64)> {
        let (key, ordinal) = self.rand_sites.last_mut()?;
        let site = (key.clone(), *ordinal);
        *ordinal += 1;
        Some(*self.rand_site_streams.entry(site).or_insert_with(|| {
            (
                rand::random::<i64>(),
                crate::functions::math::new_random_stream() as i64,
            )
        }))
    }

    /// Bind a top-level query. Returns the plan and its output columns.
    pub fn bind_query(&mut self, q: &ast::Query) -> Result<(LogicalPlan, Vec<Column>)> {
        if self.ctes.is_empty() && self.expanding.is_empty() && self.expanding_ctes.is_empty() {
            check_nested_cte_names(q, &[], true)?;
        }
        let saved = self.row_ids;
        self.row_ids |= names_row_id(q);
        let r = self.bind_query_with_outer(q, &[]);
        self.row_ids = saved;
        r
    }

    /// Bind a query that may sit inside another (`outer` are the enclosing scopes).
    pub fn bind_query_with_outer(
        &mut self,
        q: &ast::Query,
        outer: &[Scope],
    ) -> Result<(LogicalPlan, Vec<Column>)> {
        let pushed = if let Some(with) = &q.with {
            let mut m = HashMap::new();
            for (index, cte) in with.cte_tables.iter().enumerate() {
                let aliases: Vec<String> = cte
                    .alias
                    .columns
                    .iter()
                    .map(|c| c.name.value.clone())
                    .collect();
                // bodies bind lazily at each reference (fresh column ids per use)
                let name = cte.alias.name.value.to_ascii_lowercase();
                if m.contains_key(&name) {
                    return Err(QuarryError::Analysis(format!(
                        "[DUPLICATED_CTE_NAMES] CTE definition can't have duplicate names: {name}"
                    )));
                }
                m.insert(name, ((*cte.query).clone(), aliases, with.recursive, index));
            }
            self.ctes.push(m);
            self.ctes_used.push(Default::default());
            self.cte_outer.push(outer.to_vec());
            true
        } else {
            false
        };
        let mut r = self.bind_query_body(q, outer);
        if pushed {
            // a CTE the query never reads is still checked, as Spark analyzes it
            if r.is_ok() {
                let level = self.ctes.len() - 1;
                let mut unused: Vec<(usize, String)> = self.ctes[level]
                    .iter()
                    .filter(|(n, _)| !self.ctes_used[level].contains(*n))
                    .map(|(n, d)| (d.3, n.clone()))
                    .collect();
                unused.sort();
                for (_, name) in unused {
                    if let Err(e) = self.bind_table_name(&[name], None) {
                        r = Err(e);
                        break;
                    }
                }
            }
            self.ctes.pop();
            self.ctes_used.pop();
            self.cte_outer.pop();
        }
        r
    }

    fn bind_query_body(
        &mut self,
        q: &ast::Query,
        outer: &[Scope],
    ) -> Result<(LogicalPlan, Vec<Column>)> {
        if q.fetch.is_some() {
            return Err(QuarryError::NotSupported("FETCH FIRST; use LIMIT".into()));
        }
        // clauses of other dialects that sqlparser may accept: refused, never ignored
        if !q.locks.is_empty() {
            return Err(QuarryError::NotSupported(
                "FOR UPDATE / FOR SHARE (Quarry has no row locks)".into(),
            ));
        }
        if q.for_clause.is_some()
            || q.settings.is_some()
            || q.format_clause.is_some()
            || !q.pipe_operators.is_empty()
        {
            return Err(QuarryError::NotSupported(format!("this query form: {q}")));
        }
        let order_by = match &q.order_by {
            None => vec![],
            Some(ob) => match &ob.kind {
                ast::OrderByKind::Expressions(v) => v.clone(),
                ast::OrderByKind::All(_) => {
                    return Err(QuarryError::NotSupported("ORDER BY ALL".into()))
                }
            },
        };
        let (limit, offset) = match &q.limit_clause {
            None => (None, None),
            Some(ast::LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) => {
                if !limit_by.is_empty() {
                    return Err(QuarryError::NotSupported("LIMIT BY".into()));
                }
                (limit.clone(), offset.as_ref().map(|o| o.value.clone()))
            }
            Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => {
                (Some(limit.clone()), Some(offset.clone()))
            }
        };
        let (mut plan, cols) = match q.body.as_ref() {
            ast::SetExpr::Select(s) => self.bind_select(s, &order_by, outer)?,
            other => {
                let (plan, cols) = self.bind_set_expr(other, outer)?;
                if order_by.is_empty() {
                    (plan, cols)
                } else {
                    self.order_by_output(plan, cols, &order_by, other, outer)?
                }
            }
        };
        let skip = match &offset {
            Some(e) => self.const_usize(e, "OFFSET")?,
            None => 0,
        };
        if let Some(e) = &limit {
            if let Some(rows) = self.rows_limit(e)? {
                return Ok((limit_rows(plan, &cols, rows, skip)?, cols));
            }
        }
        let fetch = match &limit {
            Some(e) => Some(self.const_usize(e, "LIMIT")?),
            None => None,
        };
        if fetch.is_some() || skip > 0 {
            plan = LogicalPlan::Limit {
                input: Box::new(plan),
                skip,
                fetch,
            };
        }
        Ok((plan, cols))
    }

    /// A LIMIT that is no constant count: DuckDB's `LIMIT p %` (a share of the rows,
    /// `p` a constant from 0 to 100) or a scalar subquery (`LIMIT (SELECT n FROM t)`).
    /// `None` for anything else (a constant count, checked by the caller).
    fn rows_limit(&mut self, e: &ast::Expr) -> Result<Option<RowsLimit>> {
        if let ast::Expr::Function(f) = e {
            if f.name.to_string() == crate::parser::spark_tokens::LIMIT_PERCENT_MARKER {
                let ast::FunctionArguments::List(list) = &f.args else {
                    return Err(QuarryError::Internal("LIMIT %".into()));
                };
                let Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(p))) =
                    list.args.first()
                else {
                    return Err(QuarryError::Internal("LIMIT %".into()));
                };
                let v = crate::optimizer::constant_folding::fold(self.bind_columnless(p, "LIMIT")?);
                return match window::const_f64(&v, "LIMIT %") {
                    Ok(p) if (0.0..=100.0).contains(&p) => Ok(Some(RowsLimit::Percent(p))),
                    _ => Err(QuarryError::Analysis(format!(
                        "[INVALID_LIMIT_LIKE_EXPRESSION] The LIMIT percentage must be between 0 and 100, got {p}"
                    ))),
                };
            }
        }
        if !select::has_subquery(e) {
            return Ok(None);
        }
        let bound = self.bind_columnless(e, "LIMIT")?;
        if !crate::types::is_integer(&bound.data_type()) {
            return Err(QuarryError::Analysis(format!(
                "[INVALID_LIMIT_LIKE_EXPRESSION] The LIMIT expression must be an integer, got {}",
                crate::types::type_name(&bound.data_type())
            )));
        }
        Ok(Some(RowsLimit::Count(bound)))
    }

    /// Bind `e` where no column is in scope (LIMIT, OFFSET, VALUES rows, `range()`'s
    /// arguments); `clause` names the place in error messages.
    pub(super) fn bind_columnless(
        &mut self,
        e: &ast::Expr,
        clause: &'static str,
    ) -> Result<crate::plan::Expr> {
        let empty = Scope::default();
        let cx = ExprCtx {
            scope: &empty,
            outer: &[],
            agg: None,
            clause,
            windows: None,
        };
        self.bind_expr(e, &cx)
    }

    fn const_usize(&mut self, e: &ast::Expr, what: &'static str) -> Result<usize> {
        let v = crate::optimizer::constant_folding::fold(self.bind_columnless(e, what)?);
        match v {
            crate::plan::Expr::Literal(s) => match s.as_i64() {
                Some(n) if n >= 0 => Ok(n as usize),
                _ => Err(QuarryError::Analysis(format!("[INVALID_LIMIT_LIKE_EXPRESSION] The {what} expression must be a non-negative integer, got {s}"))),
            },
            _ => Err(QuarryError::Analysis(format!("[INVALID_LIMIT_LIKE_EXPRESSION] The {what} expression must be a constant"))),
        }
    }

    fn bind_set_expr(
        &mut self,
        s: &ast::SetExpr,
        outer: &[Scope],
    ) -> Result<(LogicalPlan, Vec<Column>)> {
        match s {
            ast::SetExpr::Select(sel) => self.bind_select(sel, &[], outer),
            ast::SetExpr::Query(q) => self.bind_query_with_outer(q, outer),
            ast::SetExpr::Values(v) => self.bind_values(v, None),
            ast::SetExpr::SetOperation { left, right, .. }
                if [left, right].iter().any(|e| {
                    matches!(e.as_ref(), ast::SetExpr::Select(s)
                        if !s.sort_by.is_empty() || !s.cluster_by.is_empty())
                }) =>
            {
                // the parser attaches a trailing SORT BY to the last SELECT; Spark's
                // sorts the set operation's result
                Err(QuarryError::NotSupported(
                    "SORT BY / CLUSTER BY after a set operation (use ORDER BY, or parenthesize the operand)".into(),
                ))
            }
            ast::SetExpr::SetOperation {
                left,
                op,
                set_quantifier,
                right,
            } if !self.ctx.legacy_setops_precedence => {
                let (lp, lc) = self.bind_set_expr(left, outer)?;
                let (rp, rc) = self.bind_set_expr(right, outer)?;
                self.set_operation(lp, lc, rp, rc, op, set_quantifier)
            }
            ast::SetExpr::SetOperation { .. } => {
                // the chain's operands and operators in written order (parenthesized
                // ones are `SetExpr::Query` and stay whole), applied left to right
                fn flatten<'s>(
                    s: &'s ast::SetExpr,
                    operands: &mut Vec<&'s ast::SetExpr>,
                    ops: &mut Vec<(&'s ast::SetOperator, &'s ast::SetQuantifier)>,
                ) {
                    match s {
                        ast::SetExpr::SetOperation {
                            left,
                            op,
                            set_quantifier,
                            right,
                        } => {
                            flatten(left, operands, ops);
                            ops.push((op, set_quantifier));
                            flatten(right, operands, ops);
                        }
                        other => operands.push(other),
                    }
                }
                let (mut operands, mut ops) = (vec![], vec![]);
                flatten(s, &mut operands, &mut ops);
                let (mut plan, mut cols) = self.bind_set_expr(operands[0], outer)?;
                for ((op, q), right) in ops.into_iter().zip(&operands[1..]) {
                    let (rp, rc) = self.bind_set_expr(right, outer)?;
                    (plan, cols) = self.set_operation(plan, cols, rp, rc, op, q)?;
                }
                Ok((plan, cols))
            }
            ast::SetExpr::Table(t) => {
                let name = t
                    .table_name
                    .clone()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let (plan, scope) = self.bind_table_name(&[name], None)?;
                let cols = scope.cols.iter().map(|c| c.col.clone()).collect();
                Ok((plan, cols))
            }
            other => Err(QuarryError::NotSupported(format!("{other} as a query"))),
        }
    }

    fn set_operation(
        &mut self,
        lp: LogicalPlan,
        lc: Vec<Column>,
        rp: LogicalPlan,
        rc: Vec<Column>,
        op: &ast::SetOperator,
        q: &ast::SetQuantifier,
    ) -> Result<(LogicalPlan, Vec<Column>)> {
        if matches!(
            q,
            ast::SetQuantifier::ByName
                | ast::SetQuantifier::AllByName
                | ast::SetQuantifier::DistinctByName
        ) {
            if !matches!(op, ast::SetOperator::Union) {
                return Err(QuarryError::NotSupported(format!(
                    "{} BY NAME (only UNION [ALL] BY NAME)",
                    op.to_string().to_uppercase()
                )));
            }
            let (lp, lc, rp, rc) = by_name(lp, lc, rp, rc)?;
            let q = if matches!(q, ast::SetQuantifier::AllByName) {
                ast::SetQuantifier::All
            } else {
                ast::SetQuantifier::Distinct
            };
            return self.set_operation(lp, lc, rp, rc, op, &q);
        }
        if lc.len() != rc.len() {
            return Err(QuarryError::Analysis(format!(
                "[NUM_COLUMNS_MISMATCH] {} can only be performed on inputs with the same number of columns, but the first input has {} columns and the second input has {} columns",
                op.to_string().to_uppercase(),
                lc.len(),
                rc.len()
            )));
        }
        let types: Vec<arrow::datatypes::DataType> = lc
            .iter()
            .zip(&rc)
            .map(|(a, b)| coerce::wider_type(&a.data_type, &b.data_type))
            .collect::<Result<_>>()?;
        let lp = select::cast_columns(lp, &lc, &types)?;
        let rp = select::cast_columns(rp, &rc, &types)?;
        let all = matches!(q, ast::SetQuantifier::All);
        match op {
            ast::SetOperator::Union => {
                let cols: Vec<Column> = lc
                    .iter()
                    .zip(&rc)
                    .zip(&types)
                    .map(|((l, r), t)| {
                        Column::new(l.name.clone(), t.clone(), l.nullable || r.nullable)
                    })
                    .collect();
                let plan = LogicalPlan::Union {
                    inputs: vec![lp, rp],
                    columns: cols.clone(),
                };
                if all {
                    Ok((plan, cols))
                } else {
                    Ok(select::distinct(plan))
                }
            }
            ast::SetOperator::Intersect | ast::SetOperator::Except | ast::SetOperator::Minus => {
                let kind = if matches!(op, ast::SetOperator::Intersect) {
                    crate::plan::SetOpKind::Intersect
                } else {
                    crate::plan::SetOpKind::Except
                };
                if all {
                    // bag semantics: number the copies of each row (row_number over all the
                    // columns); the set operation on (row, copy number) keeps min(l, r)
                    // copies for INTERSECT ALL and max(l - r, 0) for EXCEPT ALL
                    use crate::plan::{
                        Expr, FrameBound, FrameUnits, WindowExpr, WindowFrame, WindowFunc,
                    };
                    let number = |p: LogicalPlan| -> LogicalPlan {
                        let cols = p.schema();
                        let w = WindowExpr {
                            func: WindowFunc::RowNumber,
                            args: vec![],
                            partition_by: cols.iter().map(|c| Expr::Column(c.clone())).collect(),
                            order_by: vec![],
                            frame: WindowFrame {
                                units: FrameUnits::Rows,
                                start: FrameBound::UnboundedPreceding,
                                end: FrameBound::CurrentRow,
                                months: false,
                            },
                            arg_order: vec![],
                            data_type: arrow::datatypes::DataType::Int32,
                        };
                        LogicalPlan::Window {
                            input: Box::new(p),
                            windows: vec![(
                                w,
                                Column::new("__copy", arrow::datatypes::DataType::Int32, false),
                            )],
                        }
                    };
                    let cols = lp.schema();
                    let plan = LogicalPlan::SetOp {
                        left: Box::new(number(lp)),
                        right: Box::new(number(rp)),
                        kind,
                    };
                    let exprs = cols
                        .iter()
                        .map(|c| (Expr::Column(c.clone()), c.clone()))
                        .collect();
                    return Ok((
                        LogicalPlan::Project {
                            input: Box::new(plan),
                            exprs,
                        },
                        cols,
                    ));
                }
                let plan = LogicalPlan::SetOp {
                    left: Box::new(lp),
                    right: Box::new(rp),
                    kind,
                };
                Ok(select::distinct(plan))
            }
        }
    }

    /// `VALUES (...), (...)` with optional alias names; column types are the rows' common types.
    pub fn bind_values(
        &mut self,
        v: &ast::Values,
        names: Option<&[String]>,
    ) -> Result<(LogicalPlan, Vec<Column>)> {
        let mut rows: Vec<Vec<crate::plan::Expr>> = vec![];
        for r in &v.rows {
            let row = r
                .content
                .iter()
                .map(|e| self.bind_columnless(e, "VALUES"))
                .collect::<Result<Vec<_>>>()?;
            // Spark evaluates an inline table once, at analysis: no rand() or uuid()
            if let Some(e) = row.iter().find(|e| !e.is_deterministic()) {
                return Err(QuarryError::Analysis(format!(
                    "[INVALID_INLINE_TABLE.CANNOT_EVALUATE_EXPRESSION_IN_INLINE_TABLE] Invalid inline table. Cannot evaluate the expression {e} in inline table definition."
                )));
            }
            if let Some(first) = rows.first() {
                if first.len() != row.len() {
                    return Err(QuarryError::Analysis("[INVALID_INLINE_TABLE] all rows of VALUES must have the same number of columns".into()));
                }
            }
            rows.push(row);
        }
        let width = rows.first().map(|r| r.len()).unwrap_or(0);
        let mut types = vec![arrow::datatypes::DataType::Null; width];
        for r in &rows {
            for (i, e) in r.iter().enumerate() {
                types[i] = coerce::wider_type(&types[i], &e.data_type())?;
            }
        }
        let rows: Vec<Vec<crate::plan::Expr>> = rows
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .zip(&types)
                    .map(|(e, t)| coerce::cast_to(e, t))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<_>>()?;
        let cols: Vec<Column> = (0..width)
            .map(|i| {
                let name = names
                    .and_then(|n| n.get(i).cloned())
                    .unwrap_or_else(|| format!("col{}", i + 1));
                Column::new(name, types[i].clone(), rows.iter().any(|r| r[i].nullable()))
            })
            .collect();
        Ok((
            LogicalPlan::Values {
                columns: cols.clone(),
                rows,
            },
            cols,
        ))
    }

    /// A CTE declared under WITH RECURSIVE: `anchor UNION [ALL] recursive term`, where
    /// the recursive term names the CTE (its rounds read the previous round's rows,
    /// [`LogicalPlan::RecursiveCte`]); the columns take the anchor's types. A body that
    /// is not such a union, or whose second term does not name the CTE, is an ordinary
    /// CTE.
    fn bind_recursive_cte(
        &mut self,
        name: &str,
        q: &ast::Query,
        aliases: &[String],
    ) -> Result<(LogicalPlan, Vec<Column>)> {
        let ast::SetExpr::SetOperation {
            op: ast::SetOperator::Union,
            set_quantifier,
            left,
            right,
        } = q.body.as_ref()
        else {
            return self.bind_query(q);
        };
        if q.order_by.is_some() || q.limit_clause.is_some() || q.with.is_some() {
            return Err(QuarryError::NotSupported(
                "ORDER BY, LIMIT or WITH around a recursive CTE's UNION".into(),
            ));
        }
        let (anchor, acols) = self.bind_set_expr(left, &[])?;
        select::check_alias_count(name, acols.len(), aliases)?;
        let template: Vec<Column> = acols
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let n = aliases.get(i).cloned().unwrap_or_else(|| c.name.clone());
                Column::new(n, c.data_type.clone(), true)
            })
            .collect();
        let id = crate::plan::expr::next_id();
        self.recursive_frames
            .push((name.to_string(), id, template.clone()));
        let r = self.bind_set_expr(right, &[]);
        self.recursive_frames.pop();
        let (rec, rcols) = r?;
        if !reads_worktable(&rec, id) {
            return self.bind_query(q);
        }
        if rcols.len() != acols.len() {
            return Err(QuarryError::Analysis(format!(
                "[NUM_COLUMNS_MISMATCH] the recursive term of `{name}` has {} columns, its anchor {}",
                rcols.len(),
                acols.len()
            )));
        }
        let types: Vec<arrow::datatypes::DataType> =
            acols.iter().map(|c| c.data_type.clone()).collect();
        let rec = select::cast_columns(rec, &rcols, &types)?;
        let columns: Vec<Column> = template
            .iter()
            .map(|c| Column::new(c.name.clone(), c.data_type.clone(), true))
            .collect();
        let distinct = !matches!(
            set_quantifier,
            ast::SetQuantifier::All | ast::SetQuantifier::AllByName
        );
        Ok((
            LogicalPlan::RecursiveCte {
                anchor: Box::new(anchor),
                recursive: Box::new(rec),
                columns: columns.clone(),
                worktable: id,
                distinct,
                fetch: None,
            },
            columns,
        ))
    }

    /// Bind a view's body: it sees no CTEs of the query that reads the view.
    fn bind_without_ctes(&mut self, q: &ast::Query) -> Result<(LogicalPlan, Vec<Column>)> {
        let saved = std::mem::take(&mut self.ctes);
        let saved_used = std::mem::take(&mut self.ctes_used);
        let saved_outer = std::mem::take(&mut self.cte_outer);
        let r = self.bind_query(q);
        self.ctes = saved;
        self.ctes_used = saved_used;
        self.cte_outer = saved_outer;
        r
    }

    /// A temporary view's plan, its columns qualified by `qualifier`; `key` as
    /// [`temp_view_key`] gives it.
    fn bind_temp_view(
        &mut self,
        key: &str,
        v: TempView,
        qualifier: &str,
    ) -> Result<(LogicalPlan, Scope)> {
        match v {
            TempView::Query { query, .. } => {
                if self.expanding.iter().any(|v| v == key) {
                    return Err(QuarryError::Analysis(format!("recursive view `{key}`")));
                }
                self.expanding.push(key.to_string());
                // a view body sees no CTEs of the query that uses it
                let r = self.bind_without_ctes(&query);
                self.expanding.pop();
                let (plan, cols) = r?;
                select::aliased(plan, cols, &[], qualifier)
            }
            TempView::Files {
                format,
                options,
                path,
            } => {
                let source = files_source(&self.ctx.catalog.storage, &path, format, options, key)?;
                Ok(scan_of(source, qualifier))
            }
            TempView::Cached { path, .. } => {
                let source = files_source(
                    &self.ctx.catalog.storage,
                    &path,
                    FileFormat::Parquet,
                    BTreeMap::new(),
                    key,
                )?;
                Ok(scan_of(source, qualifier))
            }
        }
    }

    /// Resolve a table name (CTE, temp view, catalog table or view) to a plan and scope.
    pub fn bind_table_name(
        &mut self,
        parts: &[String],
        alias: Option<&str>,
    ) -> Result<(LogicalPlan, Scope)> {
        let display = parts.join(".");
        let qualifier = alias
            .map(|a| a.to_string())
            .unwrap_or_else(|| parts.last().cloned().unwrap_or_default());
        if parts.len() == 1 {
            let name = &parts[0];
            for li in (0..self.ctes.len()).rev() {
                if let Some((q, aliases, recursive, index)) = self.ctes[li].get(name).cloned() {
                    self.ctes_used[li].insert(name.clone());
                    // inside its own recursive term: the previous round's rows
                    if let Some((_, id, cols)) =
                        self.recursive_frames.iter().rev().find(|(n, ..)| n == name)
                    {
                        let fresh: Vec<Column> = cols
                            .iter()
                            .map(|c| Column::new(c.name.clone(), c.data_type.clone(), true))
                            .collect();
                        let plan = LogicalPlan::WorkTable {
                            id: *id,
                            columns: fresh.clone(),
                        };
                        return Ok((plan, Scope::new(Some(&qualifier), &fresh)));
                    }
                    if self.expanding_ctes.contains(name) {
                        return Err(QuarryError::NotSupported(format!(
                            "recursive reference to the CTE `{name}`{}",
                            if recursive {
                                " outside its recursive term (WITH RECURSIVE t AS (anchor UNION [ALL] recursive term))"
                            } else {
                                " (declare it WITH RECURSIVE)"
                            }
                        )));
                    }
                    self.expanding_ctes.push(name.clone());
                    let r = if recursive {
                        self.bind_recursive_cte(name, &q, &aliases)
                    } else {
                        // a CTE's body sees the CTEs defined before it (its own name
                        // and later ones are tables), not those of the query reading it
                        let mut visible: Vec<_> = self.ctes[..li].to_vec();
                        visible.push(
                            self.ctes[li]
                                .iter()
                                .filter(|(_, d)| d.3 < index)
                                .map(|(n, d)| (n.clone(), d.clone()))
                                .collect(),
                        );
                        let mut used = vec![Default::default(); visible.len()];
                        let outer = self.cte_outer.get(li).cloned().unwrap_or_default();
                        let mut visible_outer: Vec<Vec<Scope>> =
                            self.cte_outer.iter().take(li + 1).cloned().collect();
                        std::mem::swap(&mut self.ctes, &mut visible);
                        std::mem::swap(&mut self.ctes_used, &mut used);
                        std::mem::swap(&mut self.cte_outer, &mut visible_outer);
                        // the definition: its level, position, name and text
                        self.rand_sites
                            .push((format!("{li}/{index}/{name}/{q}"), 0));
                        let r = self.bind_query_with_outer(&q, &outer);
                        self.rand_sites.pop();
                        std::mem::swap(&mut self.ctes, &mut visible);
                        std::mem::swap(&mut self.ctes_used, &mut used);
                        std::mem::swap(&mut self.cte_outer, &mut visible_outer);
                        r
                    };
                    self.expanding_ctes.pop();
                    let (plan, cols) = r?;
                    return select::aliased(plan, cols, &aliases, &qualifier);
                }
            }
        }
        // a temporary view: `v`, or a global one `global_temp.v`
        if let Some(key) = temp_view_key(parts) {
            if let Some(v) = self.ctx.temp_views.get(&key).cloned() {
                let (plan, scope) = self.bind_temp_view(&key, v, &qualifier)?;
                // a global one's columns are also `global_temp.v.c`
                let scope = if parts.len() == 2 && alias.is_none() {
                    scope.in_database(GLOBAL_TEMP_DATABASE)
                } else {
                    scope
                };
                return Ok((plan, scope));
            }
            if parts.len() == 2 {
                return Err(QuarryError::Analysis(format!(
                    "[TABLE_OR_VIEW_NOT_FOUND] The table or view `{GLOBAL_TEMP_DATABASE}`.`{}` cannot be found",
                    parts[1]
                )));
            }
        }
        let (db, table) = match parts {
            [t] => (self.ctx.current_db.to_string(), t.clone()),
            [d, t] => (d.clone(), t.clone()),
            [c, d, t] => {
                if let Some(lake) = self
                    .ctx
                    .lakes
                    .iter()
                    .find(|l| l.name.eq_ignore_ascii_case(c))
                {
                    let storage = &self.ctx.catalog.storage;
                    let loc = lake.table_location(storage, d, t)?;
                    let format = lake.table_format(storage, &loc)?;
                    let name = format!("{}.{}.{t}", lake.name, crate::catalog::lake::LAKE_DATABASE);
                    let source = files_source(
                        storage,
                        &loc.to_string(),
                        format,
                        lake.options.clone(),
                        &name,
                    )?;
                    return Ok(scan_of(source, &qualifier));
                }
                if !self
                    .ctx
                    .catalogs
                    .iter()
                    .any(|k| k.name.eq_ignore_ascii_case(c))
                {
                    return Err(QuarryError::Analysis(format!(
                        "[CATALOG_NOT_FOUND] The catalog `{c}` is not found"
                    )));
                }
                (d.clone(), t.clone())
            }
            _ => {
                return Err(QuarryError::Analysis(format!(
                    "invalid table name {display}"
                )))
            }
        };
        // `db.t.c` names the columns of a table read without an alias
        let unaliased = |scope: Scope| match alias {
            None => scope.in_database(&db),
            Some(_) => scope,
        };
        let meta = match self.ctx.catalog.require_table(&db, &table) {
            Ok(m) => m,
            Err(e) => {
                if parts.len() == 1 {
                    // suggest temp views too
                    let hint = crate::catalog::did_you_mean(
                        &table,
                        self.ctx.temp_views.keys().map(|s| s.as_str()),
                    );
                    if !hint.is_empty() {
                        return Err(QuarryError::Analysis(format!(
                            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `{table}` cannot be found{hint}"
                        )));
                    }
                }
                return Err(e);
            }
        };
        if meta.kind == TableKind::View {
            let sql = meta.view_sql.clone().unwrap_or_default();
            let key = format!("{db}.{table}");
            if self.expanding.contains(&key) {
                return Err(QuarryError::Analysis(format!("recursive view `{key}`")));
            }
            let q = match crate::parser::parse_statement(&sql)? {
                crate::parser::Statement::Query(q) => q,
                _ => {
                    return Err(QuarryError::Catalog(format!(
                        "view `{key}` does not hold a query"
                    )))
                }
            };
            self.expanding.push(key);
            let r = self.bind_without_ctes(&q);
            self.expanding.pop();
            let (plan, cols) = r?;
            let (plan, scope) = select::aliased(plan, cols, &[], &qualifier)?;
            return Ok((plan, unaliased(scope)));
        }
        let files = if meta.is_partitioned() {
            SourceFiles::Partitions(
                self.ctx
                    .catalog
                    .metastore
                    .list_partitions(&meta.database, &meta.name)?,
            )
        } else {
            SourceFiles::Folder(meta.location.clone())
        };
        let statistics = self
            .ctx
            .catalog
            .metastore
            .get_statistics(&meta.database, &meta.name, "")?
            .map(Arc::new);
        let mut source = catalog_source(&meta, files, statistics);
        if meta.is_partitioned() {
            let (ms, db, name) = (
                self.ctx.catalog.metastore.clone(),
                meta.database.clone(),
                meta.name.clone(),
            );
            let load = {
                let (ms, db, name) = (ms.clone(), db.clone(), name.clone());
                Arc::new(move |specs: &[String]| ms.partition_statistics_of(&db, &name, specs))
            };
            let save = self.ctx.stats_autogather.then(|| {
                Arc::new(move |rows| ms.update_partition_statistics(&db, &name, rows))
                    as Arc<dyn Fn(crate::plan::PartitionStatisticsRows) -> Result<()> + Send + Sync>
            });
            source.partition_statistics =
                Some(crate::plan::PartitionStatisticsStore { load, save });
        }
        let offers_row_id = self.row_ids
            && source.format == FileFormat::Parquet
            && matches!(source.files, SourceFiles::Folder(_))
            && !source
                .table_columns()
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(crate::plan::ROW_ID_COLUMN));
        let (mut plan, mut scope) = scan_of(Arc::new(source), &qualifier);
        if offers_row_id {
            if let LogicalPlan::Scan {
                source,
                columns,
                projection,
                ..
            } = &mut plan
            {
                let c = Column::new(
                    crate::plan::ROW_ID_COLUMN,
                    arrow::datatypes::DataType::Int64,
                    false,
                );
                columns.push(c.clone());
                projection.push(source.row_id_index());
                scope.cols.push(scope::ScopeCol {
                    qualifier: Some(qualifier.to_ascii_lowercase()),
                    database: None,
                    col: c,
                    hidden: false,
                    name_only: true,
                });
            }
        }
        let (plan, scope) = self.pad_char_columns(plan, scope)?;
        Ok((plan, unaliased(scope)))
    }

    /// A table scan with its `CHAR(n)` columns padded with spaces to `n` characters
    /// (Spark's read-side padding, `spark.sql.readSideCharPadding`, for files written
    /// by others; a value already `n` long or longer is kept): a projection over the
    /// scan, whose padded columns are new columns recorded in `char_columns`. A table
    /// without CHAR columns keeps its plain scan.
    fn pad_char_columns(
        &mut self,
        plan: LogicalPlan,
        scope: Scope,
    ) -> Result<(LogicalPlan, Scope)> {
        let LogicalPlan::Scan {
            source, columns, ..
        } = &plan
        else {
            return Ok((plan, scope));
        };
        let table = source.table_columns();
        let declared = |c: &Column| {
            table
                .iter()
                .find(|t| t.name == c.name)
                .and_then(|t| t.char_varchar)
        };
        let char_length = |c: &Column| match declared(c) {
            Some(crate::types::CharVarchar::Char(n)) => Some(n),
            _ => None,
        };
        for c in columns {
            if let Some(v @ crate::types::CharVarchar::Varchar(_)) = declared(c) {
                self.char_columns.insert(c.id, v);
            }
        }
        if !columns.iter().any(|c| char_length(c).is_some()) {
            return Ok((plan, scope));
        }
        let columns = columns.clone();
        let mut exprs = vec![];
        let mut renamed = HashMap::new();
        for c in &columns {
            match char_length(c) {
                Some(n) => {
                    let e = expr::pad_to(Expr::Column(c.clone()), n)?;
                    let out = Column::new(c.name.clone(), c.data_type.clone(), true);
                    self.char_columns
                        .insert(out.id, crate::types::CharVarchar::Char(n));
                    renamed.insert(c.id, out.clone());
                    exprs.push((e, out));
                }
                None => exprs.push((Expr::Column(c.clone()), c.clone())),
            }
        }
        let mut scope = scope;
        for sc in &mut scope.cols {
            if let Some(c) = renamed.get(&sc.col.id) {
                sc.col = c.clone();
            }
        }
        Ok((
            LogicalPlan::Project {
                input: Box::new(plan),
                exprs,
            },
            scope,
        ))
    }
}

/// A LIMIT computed from the rows (see `Binder::rows_limit`).
enum RowsLimit {
    /// A share of the input's rows, in percent (0 to 100): `floor(rows * p / 100)` rows.
    Percent(f64),
    /// A count given by an expression of no column (a scalar subquery); NULL or
    /// negative keeps no row.
    Count(crate::plan::Expr),
}

/// `plan`'s rows after the first `skip`, as many as `limit` says, in the input's order:
/// each row numbered (`row_number()` with no ORDER BY keeps the order), the input's rows
/// counted for a percentage, the numbers compared, then only `cols` kept.
fn limit_rows(
    plan: LogicalPlan,
    cols: &[Column],
    limit: RowsLimit,
    skip: usize,
) -> Result<LogicalPlan> {
    use crate::plan::{BinOp, Expr};
    use arrow::datatypes::DataType;
    use coerce::binary;
    let (plan, rn) = window::with_row_number(plan, vec![], vec![], "__limit_row");
    let rn = coerce::cast_to(Expr::Column(rn), &DataType::Int64)?;
    let skip_lit = Expr::Literal(crate::types::ScalarValue::from_i64(skip as i64));
    let after_skip = binary(BinOp::Gt, rn.clone(), skip_lit.clone(), false)?;
    let kept = binary(BinOp::Minus, rn, skip_lit, false)?;
    let (plan, within) = match limit {
        RowsLimit::Count(n) => {
            let within = binary(BinOp::LtEq, kept, n, false)?;
            (plan, within)
        }
        RowsLimit::Percent(p) => {
            let count = Column::new("__limit_rows", DataType::Int64, false);
            let w = crate::plan::WindowExpr {
                func: crate::plan::WindowFunc::Aggregate {
                    func: crate::functions::aggregate::AggFunc::Count,
                    distinct: false,
                },
                args: vec![],
                partition_by: vec![],
                order_by: vec![],
                frame: crate::plan::WindowFrame {
                    units: crate::plan::FrameUnits::Rows,
                    start: crate::plan::FrameBound::UnboundedPreceding,
                    end: crate::plan::FrameBound::UnboundedFollowing,
                    months: false,
                },
                arg_order: vec![],
                data_type: DataType::Int64,
            };
            let plan = LogicalPlan::Window {
                input: Box::new(plan),
                windows: vec![(w, count.clone())],
            };
            // (rn - skip) * 100 <= rows * p, in doubles
            let lhs = binary(
                BinOp::Multiply,
                coerce::cast_to(kept, &DataType::Float64)?,
                Expr::Literal(crate::types::ScalarValue::from_f64(100.0)),
                false,
            )?;
            let rhs = binary(
                BinOp::Multiply,
                coerce::cast_to(Expr::Column(count), &DataType::Float64)?,
                Expr::Literal(crate::types::ScalarValue::from_f64(p)),
                false,
            )?;
            (plan, binary(BinOp::LtEq, lhs, rhs, false)?)
        }
    };
    let predicate = binary(BinOp::And, after_skip, within, false)?;
    Ok(LogicalPlan::Project {
        input: Box::new(LogicalPlan::Filter {
            input: Box::new(plan),
            predicate,
        }),
        exprs: cols
            .iter()
            .map(|c| (Expr::Column(c.clone()), c.clone()))
            .collect(),
    })
}

/// Whether `q` names `rowid` anywhere (as a column, `t.rowid`, or in a subquery).
fn names_row_id(q: &ast::Query) -> bool {
    use std::ops::ControlFlow;
    let is = |i: &ast::Ident| i.value.eq_ignore_ascii_case(crate::plan::ROW_ID_COLUMN);
    ast::visit_expressions(q, |e| match e {
        ast::Expr::Identifier(i) if is(i) => ControlFlow::Break(()),
        ast::Expr::CompoundIdentifier(parts) if parts.last().is_some_and(is) => {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// The source of a catalog table reading `files`.
pub fn catalog_source(
    meta: &TableMeta,
    files: SourceFiles,
    statistics: Option<Arc<crate::catalog::TableStatistics>>,
) -> TableSource {
    TableSource {
        name: format!("{}.{}", meta.database, meta.name),
        format: meta.format,
        options: meta.reader_options(),
        data_columns: meta.columns.clone(),
        partition_columns: meta.partition_columns.clone(),
        files,
        location: meta.location.clone(),
        statistics,
        partition_statistics: None,
    }
}

/// A scan of every column of `source`, qualified by `qualifier`.
pub fn scan_of(source: Arc<TableSource>, qualifier: &str) -> (LogicalPlan, Scope) {
    let all = source.table_columns();
    let columns: Vec<Column> = all
        .iter()
        .map(|c| Column::new(c.name.clone(), c.data_type.clone(), true))
        .collect();
    let projection = (0..columns.len()).collect();
    let scope = Scope::new(Some(qualifier), &columns);
    (
        LogicalPlan::Scan {
            source,
            columns,
            projection,
            filters: vec![],
        },
        scope,
    )
}

/// A source for reading a path directly (``parquet.`path` ``, `USING` views): the schema is
/// inferred from the files, partition columns from `key=value` folders (all discovered now).
pub fn files_source(
    storage: &Arc<Storage>,
    path: &str,
    format: FileFormat,
    options: BTreeMap<String, String>,
    name: &str,
) -> Result<Arc<TableSource>> {
    let root = Location::parse(path)?;
    // one listing: the schema from the first file, the partitions from the files' paths
    let listed = storage.list_files(&root, &IoStats::default())?;
    let data_columns = crate::datasource::infer_schema(storage, format, &options, &root, &listed)?;
    let (partition_columns, parts) =
        crate::datasource::listing::partitions_of_files(&root, &listed);
    let data_columns: Vec<_> = data_columns
        .into_iter()
        .filter(|c| {
            !partition_columns
                .iter()
                .any(|p| p.name.eq_ignore_ascii_case(&c.name))
        })
        .collect();
    let files = if partition_columns.is_empty() {
        SourceFiles::Folder(root.to_string())
    } else {
        SourceFiles::Partitions(
            parts
                .into_iter()
                .map(|p| PartitionMeta {
                    values: p.values,
                    location: p.location.to_string(),
                })
                .collect(),
        )
    };
    Ok(Arc::new(TableSource {
        name: name.to_string(),
        format,
        options,
        data_columns,
        partition_columns,
        files,
        location: root.to_string(),
        statistics: None,
        partition_statistics: None,
    }))
}

/// Whether `plan` reads work table `id` (a recursive CTE's previous round).
fn reads_worktable(plan: &LogicalPlan, id: usize) -> bool {
    matches!(plan, LogicalPlan::WorkTable { id: w, .. } if *w == id)
        || plan.inputs().into_iter().any(|p| reads_worktable(p, id))
}

/// Spark's check for CTE names a nested WITH defines again
/// (`spark.sql.legacy.ctePrecedencePolicy=EXCEPTION`, its default; CTESubstitution's
/// `assertNoNameConflictsInCTE`): a WITH that starts a CTE's body or an expression
/// subquery may not define a name an enclosing WITH already did (before that CTE). A
/// WITH inside a FROM subquery may (its definition shadows the outer one).
fn check_nested_cte_names(q: &ast::Query, outer: &[String], start: bool) -> Result<()> {
    use std::ops::ControlFlow;

    use sqlparser::ast::Visit;
    let mut names: Vec<String> = outer.to_vec();
    if let Some(with) = &q.with {
        for cte in &with.cte_tables {
            let name = cte.alias.name.value.to_ascii_lowercase();
            if start && outer.contains(&name) {
                return Err(QuarryError::Analysis(format!(
                    "[AMBIGUOUS_ALIAS_IN_NESTED_CTE] Name {name} is ambiguous in nested CTE; rename it (Spark's spark.sql.legacy.ctePrecedencePolicy=EXCEPTION)"
                )));
            }
            check_nested_cte_names(&cte.query, &names, true)?;
            names.push(name);
        }
    }
    // the queries directly inside this one: (query, in FROM)
    struct Inner {
        depth: usize,
        derived_next: bool,
        found: Vec<(ast::Query, bool)>,
    }
    impl ast::Visitor for Inner {
        type Break = ();
        fn pre_visit_table_factor(&mut self, tf: &ast::TableFactor) -> ControlFlow<()> {
            if self.depth == 1 && matches!(tf, ast::TableFactor::Derived { .. }) {
                self.derived_next = true;
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_query(&mut self, q: &ast::Query) -> ControlFlow<()> {
            self.depth += 1;
            if self.depth == 2 {
                self.found
                    .push((q.clone(), std::mem::take(&mut self.derived_next)));
            }
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _q: &ast::Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
    }
    let mut body = q.clone();
    body.with = None;
    let mut v = Inner {
        depth: 0,
        derived_next: false,
        found: vec![],
    };
    let _ = body.visit(&mut v);
    for (inner, derived) in &v.found {
        check_nested_cte_names(inner, &names, !derived)?;
    }
    Ok(())
}

/// Aligns the two inputs of `UNION [ALL] BY NAME` by column name (case-insensitive, as
/// DuckDB's and DataFusion's): the output has the left input's columns in their order,
/// then the right input's columns the left lacks, in theirs; a side missing a column
/// gives NULL for it. Returns both inputs projected to that column list.
///
/// Errors: a name that appears twice in one input.
fn by_name(
    lp: LogicalPlan,
    lc: Vec<Column>,
    rp: LogicalPlan,
    rc: Vec<Column>,
) -> Result<(LogicalPlan, Vec<Column>, LogicalPlan, Vec<Column>)> {
    use crate::plan::Expr;
    use crate::types::ScalarValue;
    for cols in [&lc, &rc] {
        for (i, c) in cols.iter().enumerate() {
            if cols[..i]
                .iter()
                .any(|d| d.name.eq_ignore_ascii_case(&c.name))
            {
                return Err(QuarryError::Analysis(format!(
                    "[COLUMN_ALREADY_EXISTS] The column `{}` appears twice in an input of UNION BY NAME",
                    c.name
                )));
            }
        }
    }
    let mut names: Vec<(String, arrow::datatypes::DataType)> = lc
        .iter()
        .map(|c| (c.name.clone(), c.data_type.clone()))
        .collect();
    for c in &rc {
        if !names.iter().any(|(n, _)| n.eq_ignore_ascii_case(&c.name)) {
            names.push((c.name.clone(), c.data_type.clone()));
        }
    }
    let align = |plan: LogicalPlan, cols: &[Column]| -> (LogicalPlan, Vec<Column>) {
        let exprs: Vec<(Expr, Column)> = names
            .iter()
            .map(
                |(n, t)| match cols.iter().find(|c| c.name.eq_ignore_ascii_case(n)) {
                    Some(c) => (
                        Expr::Column(c.clone()),
                        Column::new(n.clone(), c.data_type.clone(), c.nullable),
                    ),
                    None => (
                        Expr::Literal(ScalarValue::null(t)),
                        Column::new(n.clone(), t.clone(), true),
                    ),
                },
            )
            .collect();
        let out = exprs.iter().map(|(_, c)| c.clone()).collect();
        (
            LogicalPlan::Project {
                input: Box::new(plan),
                exprs,
            },
            out,
        )
    };
    let (lp, lc) = align(lp, &lc);
    let (rp, rc) = align(rp, &rc);
    Ok((lp, lc, rp, rc))
}

/// The database that holds global temporary views (Spark's `global_temp`, as
/// `spark.sql.globalTempDatabase`): they are named `global_temp.v` and no other way.
pub const GLOBAL_TEMP_DATABASE: &str = "global_temp";

/// The key of a temporary view in the session's map: `v` for `[v]`, `global_temp.v`
/// for `[global_temp, v]` (a global temporary view); `None` for other names.
pub fn temp_view_key(parts: &[String]) -> Option<String> {
    match parts {
        [v] => Some(v.clone()),
        [d, v] if d.eq_ignore_ascii_case(GLOBAL_TEMP_DATABASE) => {
            Some(format!("{GLOBAL_TEMP_DATABASE}.{v}"))
        }
        _ => None,
    }
}
