//! Binding one SELECT block: FROM (tables, subqueries, joins), WHERE, GROUP BY and
//! aggregates, HAVING, the select list, DISTINCT, and ORDER BY (which may use select
//! aliases, ordinals, or input columns that are not selected).

use std::cell::RefCell;

use arrow::datatypes::DataType;
use sqlparser::ast;

use super::coerce::{binary, cast_bool, cast_to, comparison_type};
use super::expr::{
    contains_aggregate, function_name, ident_parts, last_name_part, AggState, ExprCtx,
};
use super::scope::{Scope, ScopeCol};
use super::Binder;
use crate::catalog::FileFormat;
use crate::error::{QuarryError, Result};
use crate::plan::{BinOp, Column, ColumnId, Expr, GeneratorKind, JoinType, LogicalPlan, SortKey};

/// Project `plan`'s `cols` to `types` (identity where equal).
pub fn cast_columns(plan: LogicalPlan, cols: &[Column], types: &[DataType]) -> Result<LogicalPlan> {
    if cols.iter().zip(types).all(|(c, t)| &c.data_type == t) {
        return Ok(plan);
    }
    let exprs = cols
        .iter()
        .zip(types)
        .map(|(c, t)| {
            Ok((
                cast_to(Expr::Column(c.clone()), t)?,
                Column::new(c.name.clone(), t.clone(), c.nullable),
            ))
        })
        .collect::<Result<_>>()?;
    Ok(LogicalPlan::Project {
        input: Box::new(plan),
        exprs,
    })
}

/// DISTINCT over all columns: an Aggregate grouping by every column.
pub fn distinct(plan: LogicalPlan) -> (LogicalPlan, Vec<Column>) {
    let group: Vec<(Expr, Column)> = plan
        .schema()
        .iter()
        .map(|c| {
            (
                Expr::Column(c.clone()),
                Column::new(c.name.clone(), c.data_type.clone(), c.nullable),
            )
        })
        .collect();
    let cols = group.iter().map(|(_, c)| c.clone()).collect();
    (
        LogicalPlan::Aggregate {
            input: Box::new(plan),
            group,
            aggs: vec![],
        },
        cols,
    )
}

/// A subquery/CTE/view result under `qualifier`, with optional column aliases.
pub fn aliased(
    plan: LogicalPlan,
    cols: Vec<Column>,
    aliases: &[String],
    qualifier: &str,
) -> Result<(LogicalPlan, Scope)> {
    if aliases.is_empty() {
        return Ok((plan, Scope::new(Some(qualifier), &cols)));
    }
    check_alias_count(qualifier, cols.len(), aliases)?;
    let exprs: Vec<(Expr, Column)> = cols
        .iter()
        .zip(aliases)
        .map(|(c, a)| {
            (
                Expr::Column(c.clone()),
                Column::new(a.clone(), c.data_type.clone(), c.nullable),
            )
        })
        .collect();
    let out: Vec<Column> = exprs.iter().map(|(_, c)| c.clone()).collect();
    Ok((
        LogicalPlan::Project {
            input: Box::new(plan),
            exprs,
        },
        Scope::new(Some(qualifier), &out),
    ))
}

/// Column aliases (`t(a, b)`), when given, name every one of `columns` columns.
pub fn check_alias_count(qualifier: &str, columns: usize, aliases: &[String]) -> Result<()> {
    if !aliases.is_empty() && aliases.len() != columns {
        return Err(QuarryError::Analysis(format!(
            "[ASSIGNMENT_ARITY_MISMATCH] `{qualifier}` has {columns} columns but {} column aliases were given",
            aliases.len()
        )));
    }
    Ok(())
}

/// The output name of an unaliased select item: a column reference shows the column's
/// own name, in the case it was declared with (`SELECT USERID` over a column `userId`
/// is `userId`, as Spark and DuckDB name it); any other expression its text
/// ([`expr_name`]).
fn item_name(e: &ast::Expr, scope: &Scope) -> String {
    let parts: Vec<String> = match e {
        ast::Expr::Identifier(i) => vec![i.value.clone()],
        ast::Expr::CompoundIdentifier(ids) => ids.iter().map(|i| i.value.clone()).collect(),
        _ => return expr_name(e),
    };
    match scope.resolve(&parts) {
        Ok(Some(c)) => c.name,
        _ => expr_name(e),
    }
}

/// The column name Spark shows for an unaliased select expression.
pub fn expr_name(e: &ast::Expr) -> String {
    match e {
        ast::Expr::Identifier(i) => i.value.clone(),
        ast::Expr::CompoundIdentifier(ids) => {
            ids.last().map(|i| i.value.clone()).unwrap_or_default()
        }
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => s.clone(),
            ast::Value::Null => "NULL".into(),
            other => other.to_string(),
        },
        ast::Expr::Nested(inner) => expr_name(inner),
        ast::Expr::Function(f) => {
            let name = function_name(f);
            let args = match &f.args {
                ast::FunctionArguments::List(l) => l
                    .args
                    .iter()
                    .map(|a| struct_field_text(a).unwrap_or_else(|| a.to_string()))
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => String::new(),
            };
            if name == "count" && (args == "*" || args.is_empty()) {
                "count(1)".into()
            } else if name == "window" && f.over.is_none() {
                // Spark aliases a time window `window` (TimeWindow's `AS window`)
                "window".into()
            } else {
                let distinct = matches!(&f.args, ast::FunctionArguments::List(l) if matches!(l.duplicate_treatment, Some(ast::DuplicateTreatment::Distinct)));
                format!("{name}({}{args})", if distinct { "DISTINCT " } else { "" })
            }
        }
        ast::Expr::BinaryOp { .. } => format!("({e})"),
        other => other.to_string(),
    }
}

/// `t.*` naming a FROM item of the query just outside (a LATERAL subquery's left side):
/// a correlated reference `` `t`.`c` `` per column, with its name (Spark's SPARK-35618;
/// only one level out). Empty when no enclosing query has a relation `q`.
pub(super) fn outer_star_references(outer: &[Scope], q: &str) -> Vec<(ast::Expr, String)> {
    let cols = match outer.last() {
        Some(o) => o.expand_star(Some(q)).unwrap_or_default(),
        None => vec![],
    };
    cols.into_iter()
        .map(|c| {
            let e = ast::Expr::CompoundIdentifier(vec![
                ast::Ident::with_quote('`', q),
                ast::Ident::with_quote('`', c.name.clone()),
            ]);
            (e, c.name)
        })
        .collect()
}

/// A backquoted name (`` `re` `` or `` t.`re` ``) that resolves to no column here or
/// in an enclosing query: (its qualifier, the pattern), read as a regex column when
/// `spark.sql.parser.quotedRegexColumnNames` is on.
pub(super) fn regex_column(
    e: &ast::Expr,
    scope: &Scope,
    outer: &[Scope],
) -> Option<(Option<String>, String)> {
    let (q, last) = match e {
        ast::Expr::Identifier(i) => (None, i),
        ast::Expr::CompoundIdentifier(p) if p.len() == 2 => (Some(p[0].value.clone()), &p[1]),
        _ => return None,
    };
    if last.quote_style != Some('`') {
        return None;
    }
    let parts: Vec<String> = q.iter().cloned().chain([last.value.clone()]).collect();
    let resolves = std::iter::once(scope)
        .chain(outer.iter())
        .any(|s| matches!(s.resolve(&parts), Ok(Some(_))));
    (!resolves).then(|| (q, last.value.clone()))
}

/// The columns of `scope` (of the relation `q`, if given) whose whole name the Java
/// regular expression `pattern` matches, case-insensitively (Spark's UnresolvedRegex).
/// Errors: a pattern that does not compile; a qualifier that names no relation.
pub(super) fn regex_columns(scope: &Scope, q: Option<&str>, pattern: &str) -> Result<Vec<Column>> {
    // fancy-regex, for Java's possessive quantifiers (`(a)?+.+`, the Hive idiom)
    let re = fancy_regex::Regex::new(&format!("(?i)^(?:{pattern})$")).map_err(|e| {
        QuarryError::Analysis(format!(
            "[INVALID_PARAMETER_VALUE.PATTERN] invalid regular expression column `{pattern}`: {e}"
        ))
    })?;
    let mut out = vec![];
    for c in scope.expand_star(q)? {
        if re.is_match(&c.name).map_err(|e| {
            QuarryError::Execution(format!("regular expression column `{pattern}`: {e}"))
        })? {
            out.push(c);
        }
    }
    Ok(out)
}

/// `x AS name` for a struct call's aliased argument, which the parser wrote as
/// `__quarry_struct_field(x, 'name')` (its struct field marker).
fn struct_field_text(a: &ast::FunctionArg) -> Option<String> {
    let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Function(f))) = a else {
        return None;
    };
    if f.name.to_string() != crate::parser::spark_tokens::STRUCT_FIELD_MARKER {
        return None;
    }
    let ast::FunctionArguments::List(l) = &f.args else {
        return None;
    };
    match l.args.as_slice() {
        [x, ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Value(v)))] => {
            match &v.value {
                ast::Value::SingleQuotedString(n) => Some(format!("{x} AS {n}")),
                _ => None,
            }
        }
        _ => None,
    }
}

impl Binder<'_> {
    /// Hive's and Spark's `DISTRIBUTE BY`, `SORT BY` and `CLUSTER BY` on one machine:
    /// DISTRIBUTE BY only says which rows share a partition (Spark repartitions by
    /// hash; the output order is unspecified), so it changes no answer and is checked,
    /// then dropped; SORT BY sorts each partition, and one sorted output is such an
    /// order, so it is an ORDER BY; CLUSTER BY x is DISTRIBUTE BY x SORT BY x. Spark's
    /// parser rejects ORDER BY beside any of them, and CLUSTER BY beside the other two.
    fn bind_distribute_sort(
        &mut self,
        s: &ast::Select,
        order_by: &[ast::OrderByExpr],
        outer: &[Scope],
    ) -> Result<(LogicalPlan, Vec<Column>)> {
        if !order_by.is_empty()
            || (!s.cluster_by.is_empty() && (!s.distribute_by.is_empty() || !s.sort_by.is_empty()))
        {
            return Err(QuarryError::Analysis(
                "[UNSUPPORTED_FEATURE.COMBINATION_QUERY_RESULT_CLAUSES] Combination of ORDER BY/SORT BY/DISTRIBUTE BY/CLUSTER BY is not supported".into(),
            ));
        }
        let as_keys = |exprs: &[ast::Expr]| -> Vec<ast::OrderByExpr> {
            exprs
                .iter()
                .map(|e| ast::OrderByExpr {
                    expr: e.clone(),
                    options: ast::OrderByOptions {
                        sort: None,
                        nulls_first: None,
                    },
                    with_fill: None,
                })
                .collect()
        };
        let mut plain = s.clone();
        plain.cluster_by.clear();
        plain.distribute_by.clear();
        plain.sort_by.clear();
        // the DISTRIBUTE BY expressions must resolve as ORDER BY keys would
        if !s.distribute_by.is_empty() {
            self.bind_select(&plain, &as_keys(&s.distribute_by), outer)?;
        }
        let keys = if s.cluster_by.is_empty() {
            s.sort_by.clone()
        } else {
            as_keys(&s.cluster_by)
        };
        self.bind_select(&plain, &keys, outer)
    }

    pub(super) fn bind_select(
        &mut self,
        s: &ast::Select,
        order_by: &[ast::OrderByExpr],
        outer: &[Scope],
    ) -> Result<(LogicalPlan, Vec<Column>)> {
        // the file-name column this SELECT exposes (pushed once its FROM is bound) is
        // dropped when it is done, whether binding succeeded or not
        let depth = self.file_names.len();
        let windows = self.window_columns.len();
        let r = self.bind_select_inner(s, order_by, outer);
        self.file_names.truncate(depth);
        self.window_columns.truncate(windows);
        r
    }

    fn bind_select_inner(
        &mut self,
        s: &ast::Select,
        order_by: &[ast::OrderByExpr],
        outer: &[Scope],
    ) -> Result<(LogicalPlan, Vec<Column>)> {
        // `FROM t` alone (DuckDB's FROM-first form) is `SELECT * FROM t`
        if s.projection.is_empty() && matches!(s.flavor, ast::SelectFlavor::FromFirstNoSelect) {
            let mut star = s.clone();
            star.projection = vec![ast::SelectItem::Wildcard(Default::default())];
            return self.bind_select(&star, order_by, outer);
        }
        // Spark 2's reading of HAVING without GROUP BY (a legacy setting): a WHERE
        let no_group_by = matches!(&s.group_by, ast::GroupByExpr::Expressions(v, m) if v.is_empty() && m.is_empty());
        if self.ctx.grouping.having_without_group_by_as_where && no_group_by {
            if let Some(h) = &s.having {
                let mut w = s.clone();
                w.having = None;
                w.selection = Some(match w.selection.take() {
                    None => h.clone(),
                    Some(e) => ast::Expr::BinaryOp {
                        left: Box::new(ast::Expr::Nested(Box::new(e))),
                        op: ast::BinaryOperator::And,
                        right: Box::new(ast::Expr::Nested(Box::new(h.clone()))),
                    },
                });
                return self.bind_select(&w, order_by, outer);
            }
        }
        if !s.cluster_by.is_empty() || !s.distribute_by.is_empty() || !s.sort_by.is_empty() {
            return self.bind_distribute_sort(s, order_by, outer);
        }
        if s.top.is_some() || s.into.is_some() {
            return Err(QuarryError::NotSupported("TOP / SELECT INTO".into()));
        }
        // clauses of other dialects that sqlparser may accept: refused, never ignored
        if s.prewhere.is_some()
            || !s.connect_by.is_empty()
            || s.exclude.is_some()
            || s.value_table_mode.is_some()
            || s.select_modifiers.is_some()
        {
            return Err(QuarryError::NotSupported(format!("this SELECT form: {s}")));
        }
        // FROM (its unaliased subqueries are named unnamed_subquery, unnamed_subquery2, ...)
        let saved_unnamed = std::mem::take(&mut self.unnamed_subqueries);
        let (mut plan, mut scope) = if s.from.is_empty() {
            let one_row = LogicalPlan::Values {
                columns: vec![],
                rows: vec![vec![]],
            };
            (one_row, Scope::default())
        } else {
            let mut acc: Option<(LogicalPlan, Scope)> = None;
            for twj in &s.from {
                // a LATERAL subquery sees the FROM items to its left: bound after them
                if has_lateral(twj) {
                    acc = Some(self.bind_table_with_joins(acc.take(), twj, outer)?);
                    continue;
                }
                let (p, sc) = self.bind_table_with_joins(None, twj, outer)?;
                acc = Some(match acc {
                    None => (p, sc),
                    Some((lp, ls)) => {
                        let joined = ls.join(&sc);
                        (
                            LogicalPlan::Join {
                                left: Box::new(lp),
                                right: Box::new(p),
                                join_type: JoinType::Cross,
                                on: vec![],
                                filter: None,
                            },
                            joined,
                        )
                    }
                });
            }
            acc.ok_or_else(|| QuarryError::Internal("empty FROM".into()))?
        };
        self.unnamed_subqueries = saved_unnamed;
        // input_file_name(): the scan under FROM shows each row's file in a hidden column
        if !calls_named(s, order_by, "input_file_name").is_empty() {
            let c = expose_file_name(&mut plan)?;
            self.file_names.push(c);
        }
        // window(time, ...): rows whose time is NULL are dropped, as Spark's TimeWindowing
        // rule filters them (IsNotNull of the time column) under the operator that uses
        // it; a sliding window's rows are generated here (one per window holding the
        // time), the call then reads the generated column
        let mut generated: Vec<(String, Column)> = vec![];
        for call in calls_named(s, order_by, "window") {
            let ast::FunctionArguments::List(l) = &call.args else {
                continue;
            };
            let args: Vec<ast::Expr> = l
                .args
                .iter()
                .filter_map(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e.clone()),
                    _ => None,
                })
                .collect();
            let Some(time) = args.first() else {
                continue;
            };
            let cx = ExprCtx {
                scope: &scope,
                outer,
                agg: None,
                clause: "window()",
                windows: None,
            };
            // (the time as the window reads it: a string that is no timestamp is NULL)
            let as_time = ast::Expr::Cast {
                kind: ast::CastKind::Cast,
                expr: Box::new(time.clone()),
                data_type: ast::DataType::Timestamp(None, ast::TimezoneInfo::None),
                format: None,
            };
            let t = self.bind_expr(&as_time, &cx)?;
            plan = LogicalPlan::Filter {
                input: Box::new(plan),
                predicate: Expr::IsNotNull(Box::new(t)),
            };
            let key = call.to_string();
            if generated.iter().any(|(k, _)| *k == key) {
                continue;
            }
            if let Some(sql) = super::expr::sliding_windows_sql(&args)? {
                if !generated.is_empty() {
                    return Err(QuarryError::NotSupported(
                        "two different sliding window() calls in one SELECT (as Spark: they would multiply the rows)".into(),
                    ));
                }
                let e = crate::parser::parse_expression(&sql)?;
                let arr = self.bind_expr(&e, &cx)?;
                let DataType::List(f) = arr.data_type() else {
                    return Err(QuarryError::Internal("sliding windows".into()));
                };
                let col = Column::new("window", f.data_type().clone(), true);
                plan = LogicalPlan::Generate {
                    input: Box::new(plan),
                    kind: crate::plan::GeneratorKind::Explode,
                    outer: false,
                    arg: arr,
                    columns: vec![col.clone()],
                };
                generated.push((key, col));
            }
        }
        if !generated.is_empty() {
            self.window_columns.push(generated);
        }
        // LATERAL VIEW gen(x) t AS a, b: a Generate over FROM, its columns qualified by t
        for lv in &s.lateral_views {
            let cx = ExprCtx {
                scope: &scope,
                outer,
                agg: None,
                clause: "LATERAL VIEW",
                windows: None,
            };
            let aliases: Vec<String> = lv
                .lateral_col_alias
                .iter()
                .map(|i| i.value.clone())
                .collect();
            let (kind, outer_gen, arg, cols) =
                self.bind_generator(&lv.lateral_view, &aliases, &cx)?;
            let q = last_name_part(&lv.lateral_view_name);
            plan = LogicalPlan::Generate {
                input: Box::new(plan),
                kind,
                outer: outer_gen || lv.outer,
                arg,
                columns: cols.clone(),
            };
            scope = scope.join(&Scope::new(Some(&q), &cols));
        }
        // WHERE
        if let Some(w) = &s.selection {
            // (inside an aggregating query's subquery, an aggregate of that query's
            // columns is its outer aggregate; any other is refused where bound)
            if contains_aggregate(w) && self.outer_aggs.is_empty() {
                return Err(QuarryError::Analysis("[INVALID_WHERE_CONDITION] aggregate functions are not allowed in WHERE; use HAVING".into()));
            }
            let cx = ExprCtx {
                scope: &scope,
                outer,
                agg: None,
                clause: "WHERE",
                windows: None,
            };
            let pred = match self.bind_expr(w, &cx) {
                Ok(p) => p,
                // a SELECT-list alias where no column has its name (DuckDB's `SELECT a % 2
                // AS k FROM t WHERE k <> 0`): the aliased expression
                Err(QuarryError::Analysis(m)) if m.starts_with("[UNRESOLVED_COLUMN]") => {
                    match where_aliases(w, &s.projection, &scope) {
                        Some(w) => self.bind_expr(&w, &cx)?,
                        None => return Err(QuarryError::Analysis(m)),
                    }
                }
                Err(e) => return Err(e),
            };
            let pred = cast_bool(pred)?;
            // correlated EXISTS / IN conjuncts become semi/anti joins, correlated scalar
            // subqueries left joins
            let scope_ids: std::collections::HashSet<usize> =
                scope.cols.iter().map(|c| c.col.id).collect();
            plan = super::decorrelate::filter(plan, pred, &scope_ids)?;
        }
        // select items (wildcards expanded; AST kept for naming and aggregate detection)
        let mut items: Vec<Item> = vec![];
        // a `*` in the select list (GROUP BY positions are then refused, as Spark does)
        let has_star = s.projection.iter().any(|i| {
            matches!(
                i,
                ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..)
            )
        });
        for it in &s.projection {
            match it {
                ast::SelectItem::UnnamedExpr(e) if is_generator(e) => {
                    items.push(Item::Gen(e.clone(), vec![]))
                }
                ast::SelectItem::ExprWithAlias { expr, alias } if is_generator(expr) => {
                    items.push(Item::Gen(expr.clone(), vec![alias.value.clone()]))
                }
                ast::SelectItem::ExprWithAliases { expr, aliases } if is_generator(expr) => items
                    .push(Item::Gen(
                        expr.clone(),
                        aliases.iter().map(|a| a.value.clone()).collect(),
                    )),
                ast::SelectItem::UnnamedExpr(e) => {
                    let regex = self
                        .ctx
                        .quoted_regex_column_names
                        .then(|| regex_column(e, &scope, outer))
                        .flatten();
                    if let Some((q, pattern)) = regex {
                        for c in regex_columns(&scope, q.as_deref(), &pattern)? {
                            items.push(Item::Col(c));
                        }
                        continue;
                    }
                    match expand_columns(e, &scope)? {
                        // DuckDB's COLUMNS(...): one item per column it selects
                        Some(xs) => {
                            for (x, name) in xs {
                                items.push(Item::Ast(x, name));
                            }
                        }
                        None => items.push(Item::Ast(e.clone(), item_name(e, &scope))),
                    }
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    items.push(Item::Ast(expr.clone(), alias.value.clone()))
                }
                ast::SelectItem::Wildcard(opts) => {
                    for (c, r) in wildcard_items(opts, scope.expand_star(None)?, &scope)? {
                        items.push(match r {
                            Some(e) => Item::Ast(e, c.name),
                            None => Item::Col(c),
                        });
                    }
                }
                ast::SelectItem::QualifiedWildcard(kind, opts) => {
                    let (q, name) = match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(n) => {
                            (last_name_part(n), n)
                        }
                        ast::SelectItemQualifiedWildcardKind::Expr(_) => {
                            return Err(QuarryError::NotSupported("expr.* in SELECT".into()))
                        }
                    };
                    let names_relation = scope.cols.iter().any(|c| {
                        c.qualifier
                            .as_deref()
                            .is_some_and(|cq| cq.eq_ignore_ascii_case(&q))
                    });
                    let outer_refs = if names_relation {
                        vec![]
                    } else {
                        outer_star_references(outer, &q)
                    };
                    if !outer_refs.is_empty() {
                        for (e, name) in outer_refs {
                            items.push(Item::Ast(e, name));
                        }
                        continue;
                    }
                    if !names_relation {
                        // `s.*` of a struct column (or field) s: one item per field
                        let cx = ExprCtx {
                            scope: &scope,
                            outer,
                            agg: None,
                            clause: "SELECT",
                            windows: None,
                        };
                        let star = ast::Expr::QualifiedWildcard(
                            name.clone(),
                            sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                        );
                        let fields = self.expand_star_args(vec![star], &cx)?;
                        let parts: Vec<ast::Ident> = name
                            .0
                            .iter()
                            .filter_map(|p| p.as_ident().cloned())
                            .collect();
                        let base = ast::Expr::CompoundIdentifier(parts);
                        let t = self.bind_inner(&base, &cx)?.data_type();
                        for (e, f) in struct_star_except(fields, &t, opts)? {
                            items.push(Item::Ast(e, f));
                        }
                        continue;
                    }
                    for (c, r) in wildcard_items(opts, scope.expand_star(Some(&q))?, &scope)? {
                        items.push(match r {
                            Some(e) => Item::Ast(e, c.name),
                            None => Item::Col(c),
                        });
                    }
                }
                ast::SelectItem::ExprWithAliases { .. } => {
                    return Err(QuarryError::NotSupported(
                        "multiple aliases for one expression".into(),
                    ))
                }
            }
        }
        let aliases = lateral_column_aliases(&mut items, &s.projection, &scope);
        // a WINDOW clause may use select-list aliases too (DuckDB's)
        let named_windows: Vec<ast::NamedWindowDefinition> = s
            .named_window
            .iter()
            .map(|d| {
                let mut d = d.clone();
                if let ast::NamedWindowExpr::WindowSpec(spec) = &mut d.1 {
                    for e in spec.partition_by.iter_mut() {
                        *e = substitute_aliases(e, &aliases, &scope);
                    }
                    for o in spec.order_by.iter_mut() {
                        o.expr = substitute_aliases(&o.expr, &aliases, &scope);
                    }
                }
                d
            })
            .collect();
        let window_state = super::window::WindowState::new(&named_windows)?;
        // (`SELECT *` without FROM selects no columns, as Spark's; so does a regex
        // column that matches none)
        let has_except = s.projection.iter().any(|i| match i {
            ast::SelectItem::Wildcard(o) | ast::SelectItem::QualifiedWildcard(_, o) => {
                o.opt_except.is_some() || o.opt_exclude.is_some()
            }
            _ => false,
        });
        if items.is_empty() && has_except && !s.from.is_empty() {
            // every * emptied by its EXCEPT/EXCLUDE list: DuckDB's error (Spark would
            // give rows of no columns; the two engines' tests disagree, and an error
            // tells a user more)
            return Err(QuarryError::Analysis(
                "EXCEPT/EXCLUDE removes every column of the * expansion".into(),
            ));
        }

        let items_ast: Vec<(String, ast::Expr)> = items
            .iter()
            .filter_map(|i| match i {
                Item::Ast(e, n) => Some((n.clone(), e.clone())),
                Item::Col(_) | Item::Gen(..) => None,
            })
            .collect();
        // grouping sets: indexes into `group_exprs` (None: a plain GROUP BY)
        let mut grouping_sets: Option<Vec<Vec<usize>>> = None;
        let group_exprs: Vec<ast::Expr> = match &s.group_by {
            ast::GroupByExpr::Expressions(v, mods) => {
                let (flat, sets) = expand_grouping_sets(v, mods)?;
                grouping_sets = sets;
                flat
            }
            ast::GroupByExpr::All(_)
                if all_is_a_name(
                    &scope,
                    items.iter().filter_map(|i| match i {
                        Item::Ast(_, n) => Some(n.as_str()),
                        _ => None,
                    }),
                ) =>
            {
                // a select alias or a column named `all` wins over GROUP BY ALL (Spark's
                // resolution order, column-resolution-aggregate.sql)
                vec![ast::Expr::Identifier(ast::Ident::new("all"))]
            }
            ast::GroupByExpr::All(_) => {
                // GROUP BY ALL: every select item without an aggregate
                items
                    .iter()
                    .filter_map(|i| match i {
                        Item::Ast(e, _) if !contains_aggregate(e) => Some(e.clone()),
                        Item::Col(c) => {
                            Some(ast::Expr::Identifier(ast::Ident::new(c.name.clone())))
                        }
                        _ => None,
                    })
                    .collect()
            }
        };
        let has_agg = !group_exprs.is_empty()
            || items
                .iter()
                .any(|i| matches!(i, Item::Ast(e, _) | Item::Gen(e, _) if contains_aggregate(e)))
            || s.having.as_ref().is_some_and(contains_aggregate)
            || order_by.iter().any(|o| contains_aggregate(&o.expr));
        if s.having.is_some() && !has_agg {
            // HAVING without aggregation: Spark treats the whole input as one group
        }
        let mut flat_index: Vec<usize> = vec![];
        let agg_state = if has_agg || s.having.is_some() || grouping_sets.is_some() {
            let in_cx = ExprCtx {
                scope: &scope,
                outer,
                agg: None,
                clause: "GROUP BY",
                windows: None,
            };
            let mut group: Vec<(Expr, Column)> = vec![];
            for g in &group_exprs {
                flat_index.push(group.len());
                // ordinal or select alias
                let resolved: ast::Expr = match g {
                    ast::Expr::Value(v)
                        if self.ctx.grouping.ordinals
                            && matches!(v.value, ast::Value::Number(..)) =>
                    {
                        if has_star {
                            return Err(QuarryError::Analysis("[STAR_GROUP_BY_POS] Star (*) is not allowed in a select list when GROUP BY an ordinal position is used.".into()));
                        }
                        let n: usize = v.value.to_string().parse().map_err(|_| {
                            QuarryError::Analysis(format!(
                                "GROUP BY position {} is not an integer",
                                v.value
                            ))
                        })?;
                        match items.get(n.wrapping_sub(1)) {
                            Some(Item::Ast(e, _)) => {
                                if contains_aggregate(e) {
                                    return Err(QuarryError::Analysis(format!("[GROUP_BY_POS_AGGREGATE] GROUP BY {n} refers to an expression that contains an aggregate function")));
                                }
                                e.clone()
                            }
                            Some(Item::Gen(..)) => {
                                return Err(QuarryError::Analysis(format!("[UNSUPPORTED_GENERATOR.OUTSIDE_SELECT] GROUP BY {n} refers to a generator; generators are not allowed in GROUP BY")));
                            }
                            Some(Item::Col(c)) => {
                                let e = Expr::Column(c.clone());
                                match group.iter().position(|(x, _)| *x == e) {
                                    Some(i) => {
                                        if let Some(last) = flat_index.last_mut() {
                                            *last = i;
                                        }
                                    }
                                    None => group.push((e, Column::new(c.name.clone(), c.data_type.clone(), c.nullable || grouping_sets.is_some()))),
                                }
                                continue;
                            }
                            None => {
                                return Err(QuarryError::Analysis(format!(
                                    "[GROUP_BY_POS_OUT_OF_RANGE] GROUP BY position {n} is not in select list (valid range is [1, {}])",
                                    items.len()
                                )))
                            }
                        }
                    }
                    ast::Expr::Identifier(id)
                        if self.ctx.grouping.aliases
                            && scope.resolve(&[id.value.to_ascii_lowercase()])?.is_none() =>
                    {
                        item_named(&items, &id.value).unwrap_or_else(|| g.clone())
                    }
                    // DuckDB's `GROUP BY alias.x`: the select item aliased x, where no
                    // FROM item is named `alias`
                    ast::Expr::CompoundIdentifier(parts)
                        if parts.len() == 2
                            && parts[0].value.eq_ignore_ascii_case("alias")
                            && scope
                                .resolve(&[
                                    parts[0].value.to_ascii_lowercase(),
                                    parts[1].value.to_ascii_lowercase(),
                                ])?
                                .is_none() =>
                    {
                        item_named(&items, &parts[1].value).unwrap_or_else(|| g.clone())
                    }
                    _ => g.clone(),
                };
                let e = self.bind_expr(&resolved, &in_cx)?;
                if let Some(i) = group.iter().position(|(x, _)| *x == e) {
                    if let Some(last) = flat_index.last_mut() {
                        *last = i;
                    }
                    continue;
                }
                let name = match &e {
                    Expr::Column(c) => c.name.clone(),
                    _ => super::select::expr_name(&resolved),
                };
                let nullable = e.nullable() || grouping_sets.is_some();
                let dt = e.data_type();
                group.push((e, Column::new(name, dt, nullable)));
            }
            let grouping_id = grouping_sets
                .as_ref()
                .map(|_| Column::new("spark_grouping_id", DataType::Int64, false));
            Some(AggState {
                group,
                aggs: RefCell::new(vec![]),
                input: scope.clone(),
                grouping_id,
            })
        } else {
            None
        };
        let post_scope = match &agg_state {
            Some(a) => Scope {
                cols: a
                    .group
                    .iter()
                    .map(|(_, c)| ScopeCol {
                        qualifier: None,
                        database: None,
                        col: c.clone(),
                        hidden: false,
                        name_only: false,
                    })
                    .collect(),
            },
            None => scope.clone(),
        };
        let item_cx = ExprCtx {
            scope: &scope,
            outer,
            agg: agg_state.as_ref(),
            clause: "the SELECT list",
            windows: Some(&window_state),
        };
        let mut exprs: Vec<(Expr, Column)> = vec![];
        let mut generate: Option<(GeneratorKind, bool, Expr, Vec<Column>)> = None;
        for it in &items {
            match it {
                Item::Gen(g, aliases) => {
                    if generate.is_some() {
                        return Err(QuarryError::Analysis("[UNSUPPORTED_GENERATOR.MULTI_GENERATOR] only one generator is allowed per SELECT clause".into()));
                    }
                    let (kind, outer_gen, arg, cols) = self.bind_generator(g, aliases, &item_cx)?;
                    for c in &cols {
                        exprs.push((
                            Expr::Column(c.clone()),
                            Column::new(c.name.clone(), c.data_type.clone(), true),
                        ));
                    }
                    generate = Some((kind, outer_gen, arg, cols));
                }
                Item::Col(c) => {
                    let e = match &agg_state {
                        Some(a) => {
                            // a star in a grouped query: only grouped columns are allowed
                            match a.group.iter().find(|(g, _)| matches!(g, Expr::Column(x) if x.id == c.id)) {
                                Some((_, gc)) => Expr::Column(gc.clone()),
                                None => {
                                    return Err(QuarryError::Analysis(format!(
                                        "[MISSING_AGGREGATION] The non-aggregating expression `{}` is based on columns which are not participating in the GROUP BY clause",
                                        c.name
                                    )))
                                }
                            }
                        }
                        None => Expr::Column(c.clone()),
                    };
                    exprs.push((
                        e,
                        Column::new(c.name.clone(), c.data_type.clone(), c.nullable),
                    ));
                }
                Item::Ast(a, name) => {
                    let e = self.bind_expr(a, &item_cx)?;
                    let c = Column::new(name.clone(), e.data_type(), e.nullable());
                    exprs.push((e, c));
                }
            }
        }
        let having = match &s.having {
            Some(h) => {
                let h = substitute_aliases(h, &items_ast, &scope);
                let cx = ExprCtx {
                    scope: &scope,
                    outer,
                    agg: agg_state.as_ref(),
                    clause: "HAVING",
                    windows: None,
                };
                Some(cast_bool(self.bind_expr(&h, &cx)?)?)
            }
            None => None,
        };
        // ORDER BY keys bound before the Aggregate node is built (they may add aggregates)
        let out_cols: Vec<Column> = exprs.iter().map(|(_, c)| c.clone()).collect();
        let mut sort_keys: Vec<(SortKey, Option<Column>)> = vec![];
        for ob in order_by {
            let (asc, nulls_first) = sort_options(ob);
            // a key on an output column
            let on_col = |c: &Column| {
                let key = SortKey {
                    expr: Expr::Column(c.clone()),
                    asc,
                    nulls_first,
                };
                (key, None)
            };
            // ORDER BY ALL (DuckDB's, Databricks'): every select-list column, left to right
            if is_order_by_all(order_by)
                && !all_is_a_name(&scope, out_cols.iter().map(|c| c.name.as_str()))
            {
                sort_keys.extend(out_cols.iter().map(on_col));
                continue;
            }
            // ordinal, or a select-list alias
            if let ast::Expr::Value(v) = &ob.expr {
                if let (ast::Value::Number(n, _), true) =
                    (&v.value, self.ctx.grouping.order_ordinals)
                {
                    let n: usize = n.parse().map_err(|_| {
                        QuarryError::Analysis(format!("ORDER BY position {n} is not an integer"))
                    })?;
                    let c = out_cols.get(n.wrapping_sub(1)).ok_or_else(|| {
                        QuarryError::Analysis(format!("[ORDER_BY_POS_OUT_OF_RANGE] ORDER BY position {n} is not in select list (valid range is [1, {}])", out_cols.len()))
                    })?;
                    sort_keys.push(on_col(c));
                    continue;
                }
            }
            if let ast::Expr::Identifier(id) = &ob.expr {
                let hits: Vec<&Column> = out_cols
                    .iter()
                    .filter(|c| c.name.eq_ignore_ascii_case(&id.value))
                    .collect();
                if hits.len() == 1 {
                    sort_keys.push(on_col(hits[0]));
                    continue;
                }
            }
            let cx = ExprCtx {
                scope: &scope,
                outer,
                agg: agg_state.as_ref(),
                clause: "ORDER BY",
                windows: Some(&window_state),
            };
            // a select-list alias inside an expression (`ORDER BY -total`), where no input
            // column has that name: Spark resolves ORDER BY over the projection's output
            let key = substitute_aliases(&ob.expr, &items_ast, &scope);
            let e = self.bind_expr(&key, &cx)?;
            match exprs.iter().find(|(x, _)| *x == e) {
                Some((_, c)) => sort_keys.push(on_col(c)),
                None => {
                    let hidden = Column::new(expr_name(&ob.expr), e.data_type(), e.nullable());
                    sort_keys.push((
                        SortKey {
                            expr: e,
                            asc,
                            nulls_first,
                        },
                        Some(hidden),
                    ));
                }
            }
        }
        // QUALIFY: a filter over window results; select-list aliases may be used
        let qualify = match &s.qualify {
            Some(q) => {
                let q = substitute_aliases(q, &items_ast, &scope);
                let cx = ExprCtx {
                    scope: &scope,
                    outer,
                    agg: agg_state.as_ref(),
                    clause: "QUALIFY",
                    windows: Some(&window_state),
                };
                Some(cast_bool(self.bind_expr(&q, &cx)?)?)
            }
            None => None,
        };
        // DISTINCT ON (exprs): the first row of each distinct value by the ORDER BY
        // (PostgreSQL's and DuckDB's); select-list aliases may be used
        // (an integer literal names a select-list item by position: Err(index))
        let distinct_on: Option<Vec<std::result::Result<Expr, usize>>> = match &s.distinct {
            Some(ast::Distinct::On(on)) => {
                let cx = ExprCtx {
                    scope: &scope,
                    outer,
                    agg: agg_state.as_ref(),
                    clause: "DISTINCT ON",
                    windows: Some(&window_state),
                };
                let mut v = vec![];
                // as DuckDB: a constant key (or ORDER BY key) would do nothing
                let non_integer_literal = |e: &ast::Expr| matches!(e, ast::Expr::Value(v) if !matches!(v.value, ast::Value::Number(..)));
                if let Some(ob) = order_by.iter().find(|ob| non_integer_literal(&ob.expr)) {
                    return Err(QuarryError::Analysis(format!(
                        "ORDER BY non-integer literal has no effect: {} (in a DISTINCT ON query)",
                        ob.expr
                    )));
                }
                let mut expanded: Vec<ast::Expr> = vec![];
                for e in on {
                    match expand_columns(e, &scope)? {
                        Some(xs) => expanded.extend(xs.into_iter().map(|(x, _)| x)),
                        None => expanded.push(e.clone()),
                    }
                }
                for e in &expanded {
                    if non_integer_literal(e) {
                        return Err(QuarryError::Analysis(format!(
                            "DISTINCT ON non-integer literal has no effect: {e}"
                        )));
                    }
                    if let ast::Expr::Value(ast::ValueWithSpan {
                        value: ast::Value::Number(n, _),
                        ..
                    }) = e
                    {
                        let i: usize = n.parse().unwrap_or(0);
                        if i == 0 || i > out_cols.len() {
                            return Err(QuarryError::Analysis(format!(
                                "[ORDER_BY_POS_OUT_OF_RANGE] DISTINCT ON position {n} is not in select list (valid range is [1, {}])",
                                out_cols.len()
                            )));
                        }
                        v.push(Err(i - 1));
                        continue;
                    }
                    let e = substitute_aliases(e, &items_ast, &scope);
                    v.push(Ok(self.bind_expr(&e, &cx)?));
                }
                Some(v)
            }
            _ => None,
        };
        // Aggregate node
        // (grouped input columns -> their output columns, for correlated subqueries in
        // HAVING, the SELECT list and ORDER BY, which see the input's columns)
        let mut group_outputs: std::collections::HashMap<usize, Column> = Default::default();
        let input_ids: std::collections::HashSet<usize> =
            plan.schema().iter().map(|c| c.id).collect();
        if let Some(a) = agg_state {
            let mut aggs = a.aggs.into_inner();
            // correlated subqueries in aggregate arguments (`avg(x) FILTER (WHERE EXISTS
            // (... t.k ...))`): evaluated per input row by joins added to the input
            // (each join gives one row per input row: an aggregate by correlation key)
            for (ae, _) in &mut aggs {
                for arg in &mut ae.args {
                    if arg.has_subquery() {
                        let (p, e) =
                            super::decorrelate::scalar_joins(plan, arg.clone(), &input_ids)?;
                        plan = p;
                        *arg = e;
                    }
                }
            }
            let mut group = a.group;
            for (e, out) in &group {
                if let Expr::Column(c) = e {
                    group_outputs.insert(c.id, out.clone());
                }
            }
            if let (Some(sets), Some(gid)) = (&grouping_sets, &a.grouping_id) {
                // Expand: one copy of each row per grouping set, keys outside the set NULL,
                // plus the set's grouping id (bit i, from the left, set when key i is not in it)
                let n = group.len();
                let keys: Vec<Column> = group
                    .iter()
                    .map(|(e, c)| Column::new(c.name.clone(), e.data_type(), true))
                    .collect();
                let gid_in = Column::new("spark_grouping_id", DataType::Int64, false);
                let mut projections = vec![];
                // a grouping set listed again (`ROLLUP(a, b, (a, b))`) gives its groups
                // again, as Spark and DuckDB: the copies differ by a position column
                let mut seen: Vec<i64> = vec![];
                let mut positions: Vec<i32> = vec![];
                for set in sets {
                    let members: Vec<usize> = set.iter().map(|&f| flat_index[f]).collect();
                    let mut row: Vec<Expr> = vec![];
                    let mut id: i64 = 0;
                    for (i, (e, _)) in group.iter().enumerate() {
                        if members.contains(&i) {
                            row.push(e.clone());
                        } else {
                            row.push(Expr::Literal(crate::types::ScalarValue::null(
                                &e.data_type(),
                            )));
                            id |= 1 << (n - 1 - i);
                        }
                    }
                    row.push(Expr::Literal(crate::types::ScalarValue::from_i64(id)));
                    positions.push(seen.iter().filter(|&&x| x == id).count() as i32);
                    seen.push(id);
                    projections.push(row);
                }
                let mut columns = keys.clone();
                columns.push(gid_in.clone());
                let repeated = positions.iter().any(|&p| p > 0);
                let pos_in = Column::new("__grouping_pos", DataType::Int32, false);
                if repeated {
                    for (row, p) in projections.iter_mut().zip(&positions) {
                        row.push(Expr::Literal(crate::types::ScalarValue::from_i32(*p)));
                    }
                    columns.push(pos_in.clone());
                }
                plan = LogicalPlan::Expand {
                    input: Box::new(plan),
                    projections,
                    columns,
                };
                group = keys
                    .iter()
                    .zip(group)
                    .map(|(k, (_, out))| (Expr::Column(k.clone()), out))
                    .collect();
                group.push((Expr::Column(gid_in), gid.clone()));
                if repeated {
                    let pos_out = Column::new("__grouping_pos", DataType::Int32, false);
                    group.push((Expr::Column(pos_in), pos_out));
                }
            }
            plan = LogicalPlan::Aggregate {
                input: Box::new(plan),
                group,
                aggs,
            };
            if let Some(h) = having {
                // correlated EXISTS / IN conjuncts and scalar subqueries over the groups
                let h = super::decorrelate::over_groups(h, &group_outputs, &input_ids)?;
                let out_ids: std::collections::HashSet<usize> =
                    plan.schema().iter().map(|c| c.id).collect();
                plan = super::decorrelate::filter(plan, h, &out_ids)?;
            }
        }
        // Window node (after grouping, before the projection)
        let mut windows = window_state.calls.into_inner();
        let windows_empty = windows.is_empty();
        // correlated subqueries in window arguments and keys (`PARTITION BY EXISTS (...
        // t.k ...)`): joins added to the window's input, as in the SELECT list (over the
        // groups when the query aggregates)
        if windows
            .iter()
            .any(|(w, _)| w.exprs().any(|e| e.has_subquery()))
        {
            let out_ids: std::collections::HashSet<usize> =
                plan.schema().iter().map(|c| c.id).collect();
            for (w, _) in windows.iter_mut() {
                for e in w.exprs_mut() {
                    if !e.has_subquery() {
                        continue;
                    }
                    let x = if has_agg {
                        super::decorrelate::over_groups(e.clone(), &group_outputs, &input_ids)?
                    } else {
                        e.clone()
                    };
                    let (p, ne) = super::decorrelate::scalar_joins(plan, x, &out_ids)?;
                    plan = p;
                    *e = ne;
                }
            }
        }
        if !windows.is_empty() {
            plan = LogicalPlan::Window {
                input: Box::new(plan),
                windows,
            };
        }
        if let Some(q) = qualify {
            // as Databricks: QUALIFY filters window results, so it needs a window function
            if windows_empty {
                return Err(QuarryError::Analysis(
                    "QUALIFY needs at least one window function in the SELECT list or in the QUALIFY clause; use WHERE or HAVING to filter without one".into(),
                ));
            }
            plan = LogicalPlan::Filter {
                input: Box::new(plan),
                predicate: q,
            };
        }
        let _ = post_scope;
        // a generator in the SELECT list: after grouping and windows, before the projection
        if let Some((kind, outer, arg, columns)) = generate {
            plan = LogicalPlan::Generate {
                input: Box::new(plan),
                kind,
                outer,
                arg,
                columns,
            };
        }
        let is_distinct = match &s.distinct {
            None | Some(ast::Distinct::All) => false,
            Some(ast::Distinct::Distinct) => true,
            Some(ast::Distinct::On(_)) => false,
        };
        if is_distinct {
            // under DISTINCT a key must be computed from the output columns: its
            // select-list subexpressions become their columns (`SELECT DISTINCT k AS x
            // ... ORDER BY -x`), as Spark sorts above the Distinct
            let out_ids: std::collections::HashSet<usize> = out_cols.iter().map(|c| c.id).collect();
            for (k, h) in sort_keys.iter_mut().filter(|(_, h)| h.is_some()) {
                let over_output = super::expr::replace_groups(k.expr.clone(), &exprs);
                if !over_output.has_subquery()
                    && over_output
                        .column_ids()
                        .iter()
                        .all(|id| out_ids.contains(id))
                {
                    k.expr = over_output;
                    *h = None;
                }
            }
        }
        let hidden: Vec<(Expr, Column)> = sort_keys
            .iter()
            .filter_map(|(k, h)| h.clone().map(|c| (k.expr.clone(), c)))
            .collect();
        if is_distinct && !hidden.is_empty() {
            return Err(QuarryError::Analysis("[MISSING_ATTRIBUTES] ORDER BY expressions must appear in the select list when SELECT DISTINCT is used".into()));
        }
        let mut project = exprs.clone();
        project.extend(hidden.iter().cloned());
        let on_cols: Vec<Column> = distinct_on
            .iter()
            .flatten()
            .map(|e| match e {
                Ok(e) => {
                    let c = Column::new(format!("{e}"), e.data_type(), e.nullable());
                    project.push((e.clone(), c.clone()));
                    c
                }
                Err(i) => out_cols[*i].clone(),
            })
            .collect();
        // correlated scalar subqueries in the SELECT list: left joins below the projection
        if !has_agg && windows_empty {
            let scope_ids: std::collections::HashSet<usize> =
                scope.cols.iter().map(|c| c.col.id).collect();
            for (e, _) in project.iter_mut() {
                let (p, ne) = super::decorrelate::scalar_joins(plan, e.clone(), &scope_ids)?;
                plan = p;
                *e = ne;
            }
        } else if has_agg && windows_empty {
            // over the groups: the subqueries' references to grouped input columns
            // become the group columns
            let out_ids: std::collections::HashSet<usize> =
                plan.schema().iter().map(|c| c.id).collect();
            for (e, _) in project.iter_mut() {
                if !e.has_subquery() {
                    continue;
                }
                let grouped =
                    super::decorrelate::over_groups(e.clone(), &group_outputs, &input_ids)?;
                let (p, ne) = super::decorrelate::scalar_joins(plan, grouped, &out_ids)?;
                plan = p;
                *e = ne;
            }
        }
        plan = LogicalPlan::Project {
            input: Box::new(plan),
            exprs: project,
        };
        let mut final_cols = out_cols.clone();
        if distinct_on.is_some() {
            // row_number() over (partition by the ON columns order by the sort keys) = 1
            let (numbered, rn) = super::window::with_row_number(
                plan,
                on_cols.iter().map(|c| Expr::Column(c.clone())).collect(),
                projected_keys(&sort_keys),
                "__distinct_on_row",
            );
            plan = LogicalPlan::Filter {
                input: Box::new(numbered),
                predicate: binary(
                    BinOp::Eq,
                    Expr::Column(rn),
                    Expr::Literal(crate::types::ScalarValue::from_i64(1)),
                    false,
                )?,
            };
        }
        let drop_extra = distinct_on.is_some();
        if is_distinct {
            let (p, cols) = distinct(plan);
            // sort keys refer to the projected columns; remap them onto the distinct output
            plan = p;
            let onto_distinct: std::collections::HashMap<_, _> = out_cols
                .iter()
                .zip(&cols)
                .map(|(o, c)| (o.id, Expr::Column(c.clone())))
                .collect();
            for (k, _) in sort_keys.iter_mut() {
                k.expr = k.expr.clone().substitute(&onto_distinct);
            }
            final_cols = cols;
        }
        if !sort_keys.is_empty() {
            let keys = projected_keys(&sort_keys);
            plan = LogicalPlan::Sort {
                input: Box::new(plan),
                keys,
                fetch: None,
            };
        }
        // drop the hidden sort keys and DISTINCT ON's columns (the ids stay)
        if !hidden.is_empty() || drop_extra {
            let exprs = final_cols
                .iter()
                .map(|c| (Expr::Column(c.clone()), c.clone()))
                .collect();
            plan = LogicalPlan::Project {
                input: Box::new(plan),
                exprs,
            };
        }
        Ok((plan, final_cols))
    }

    /// ORDER BY after a set operation: only output columns (by name or position).
    pub(super) fn order_by_output(
        &mut self,
        plan: LogicalPlan,
        cols: Vec<Column>,
        order_by: &[ast::OrderByExpr],
        body: &ast::SetExpr,
        outer: &[Scope],
    ) -> Result<(LogicalPlan, Vec<Column>)> {
        let scope = Scope::new(None, &cols);
        let mut keys = vec![];
        for ob in order_by {
            let (asc, nulls_first) = sort_options(ob);
            if is_order_by_all(order_by) && !cols.iter().any(|c| c.name.eq_ignore_ascii_case("all"))
            {
                keys.extend(cols.iter().map(|c| SortKey {
                    expr: Expr::Column(c.clone()),
                    asc,
                    nulls_first,
                }));
                continue;
            }
            let e = match &ob.expr {
                ast::Expr::Value(v)
                    if matches!(v.value, ast::Value::Number(..))
                        && self.ctx.grouping.order_ordinals =>
                {
                    let n: usize = v.value.to_string().parse().unwrap_or(0);
                    let c = cols.get(n.wrapping_sub(1)).ok_or_else(|| QuarryError::Analysis(format!("[ORDER_BY_POS_OUT_OF_RANGE] ORDER BY position {n} is not in select list")))?;
                    Expr::Column(c.clone())
                }
                other => {
                    let cx = ExprCtx {
                        scope: &scope,
                        outer: &[],
                        agg: None,
                        clause: "ORDER BY",
                        windows: None,
                    };
                    match self.bind_expr(other, &cx) {
                        Ok(e) => e,
                        // a name or expression of another operand's SELECT list
                        Err(QuarryError::Analysis(m)) if m.starts_with("[UNRESOLVED_COLUMN]") => {
                            match self.set_operand_position(body, other, outer)? {
                                Some(i) => Expr::Column(cols[i].clone()),
                                None => return Err(QuarryError::Analysis(m)),
                            }
                        }
                        Err(e) => return Err(e),
                    }
                }
            };
            keys.push(SortKey {
                expr: e,
                asc,
                nulls_first,
            });
        }
        Ok((
            LogicalPlan::Sort {
                input: Box::new(plan),
                keys,
                fetch: None,
            },
            cols,
        ))
    }

    /// The output position an ORDER BY expression `e` over a set operation names through
    /// an operand's SELECT list (DuckDB's binding: `SELECT a FROM t UNION SELECT b FROM u
    /// ORDER BY b`, `ORDER BY u.b`, `ORDER BY b + 1` for an item `b + 1`): an alias, a
    /// column (qualified by a FROM item of that operand, or not), or the item's
    /// expression as written. `None` when no operand names it. Errors: operands naming
    /// different positions (`[AMBIGUOUS_REFERENCE]`).
    fn set_operand_position(
        &mut self,
        body: &ast::SetExpr,
        e: &ast::Expr,
        outer: &[Scope],
    ) -> Result<Option<usize>> {
        // (None for BY NAME, whose operands' positions are not the output's)
        fn operands<'s>(s: &'s ast::SetExpr, out: &mut Option<Vec<&'s ast::Select>>) {
            match s {
                ast::SetExpr::SetOperation {
                    set_quantifier:
                        ast::SetQuantifier::ByName
                        | ast::SetQuantifier::AllByName
                        | ast::SetQuantifier::DistinctByName,
                    ..
                } => *out = None,
                ast::SetExpr::SetOperation { left, right, .. } => {
                    operands(left, out);
                    operands(right, out);
                }
                ast::SetExpr::Select(sel) => {
                    if let Some(v) = out {
                        v.push(sel)
                    }
                }
                ast::SetExpr::Query(q) if q.order_by.is_none() && q.limit_clause.is_none() => {
                    operands(&q.body, out)
                }
                _ => {}
            }
        }
        let norm = |x: &ast::Expr| x.to_string().to_ascii_lowercase();
        let parts: Vec<String> = match e {
            ast::Expr::Identifier(i) => vec![i.value.to_ascii_lowercase()],
            ast::Expr::CompoundIdentifier(v) => {
                v.iter().map(|i| i.value.to_ascii_lowercase()).collect()
            }
            _ => vec![],
        };
        let mut sels = Some(vec![]);
        operands(body, &mut sels);
        let Some(sels) = sels else {
            return Ok(None);
        };
        let mut found: Vec<usize> = vec![];
        for sel in sels {
            let relations = from_names(sel);
            let names_column = |x: &ast::Expr| match (parts.as_slice(), x) {
                ([n], ast::Expr::Identifier(i)) => i.value.eq_ignore_ascii_case(n),
                ([n], ast::Expr::CompoundIdentifier(v)) => {
                    v.last().is_some_and(|i| i.value.eq_ignore_ascii_case(n))
                }
                ([q, n], ast::Expr::Identifier(i)) => {
                    i.value.eq_ignore_ascii_case(n) && relations.contains(q)
                }
                _ => false,
            };
            let items = &sel.projection;
            let star = |i: &ast::SelectItem| {
                matches!(
                    i,
                    ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..)
                )
            };
            if items.iter().any(star) {
                // `SELECT *` alone: the names it expands to
                if items.len() != 1 {
                    continue;
                }
                let (_, cols) = self.bind_select(sel, &[], outer)?;
                let hit = match parts.as_slice() {
                    [n] => cols.iter().position(|c| c.name.eq_ignore_ascii_case(n)),
                    [q, n] if relations.contains(q) => {
                        cols.iter().position(|c| c.name.eq_ignore_ascii_case(n))
                    }
                    _ => None,
                };
                found.extend(hit);
                continue;
            }
            let hit = items.iter().position(|item| match item {
                ast::SelectItem::UnnamedExpr(x) => norm(x) == norm(e) || names_column(x),
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    matches!(parts.as_slice(), [n] if alias.value.eq_ignore_ascii_case(n))
                        || norm(expr) == norm(e)
                }
                _ => false,
            });
            found.extend(hit);
        }
        found.sort_unstable();
        found.dedup();
        match found.as_slice() {
            [] => Ok(None),
            [i] => Ok(Some(*i)),
            _ => Err(QuarryError::Analysis(format!(
                "[AMBIGUOUS_REFERENCE] Reference `{e}` is ambiguous: the operands of the set operation name it at positions {}",
                found.iter().map(|i| (i + 1).to_string()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// Bind `twj`; `left` (the FROM items before it, cross-joined first) is given when
    /// `twj` has a LATERAL subquery, which may refer to them.
    fn bind_table_with_joins(
        &mut self,
        left: Option<(LogicalPlan, Scope)>,
        twj: &ast::TableWithJoins,
        outer: &[Scope],
    ) -> Result<(LogicalPlan, Scope)> {
        let (mut plan, mut scope) = match left {
            Some((lp, ls)) if is_lateral(&twj.relation) => {
                self.bind_lateral(lp, ls, &twj.relation, JoinType::Cross, None, outer)?
            }
            Some((lp, ls)) => {
                let (p, sc) = self.bind_table_factor(&twj.relation, outer)?;
                let joined = ls.join(&sc);
                (
                    LogicalPlan::Join {
                        left: Box::new(lp),
                        right: Box::new(p),
                        join_type: JoinType::Cross,
                        on: vec![],
                        filter: None,
                    },
                    joined,
                )
            }
            None => self.bind_table_factor(&twj.relation, outer)?,
        };
        for j in &twj.joins {
            use ast::JoinOperator as J;
            if let J::FullOuter(ast::JoinConstraint::On(ast::Expr::Identifier(i))) =
                &j.join_operator
            {
                if i.value == crate::parser::spark_tokens::POSITIONAL_JOIN_MARKER {
                    if is_lateral(&j.relation) {
                        return Err(QuarryError::NotSupported("POSITIONAL JOIN LATERAL".into()));
                    }
                    let (rp, rs) = self.bind_table_factor(&j.relation, outer)?;
                    plan = positional_join(plan, rp);
                    scope = scope.join(&rs);
                    continue;
                }
            }
            // RIGHT SEMI / RIGHT ANTI (DataFusion's): the left semi/anti join with the sides swapped
            let swap = matches!(&j.join_operator, J::RightSemi(_) | J::RightAnti(_));
            let (jt, constraint) = match &j.join_operator {
                J::RightSemi(c) => (JoinType::LeftSemi, Some(c)),
                J::RightAnti(c) => (JoinType::LeftAnti, Some(c)),
                J::Join(c) | J::Inner(c) => (JoinType::Inner, Some(c)),
                J::Left(c) | J::LeftOuter(c) => (JoinType::Left, Some(c)),
                J::Right(c) | J::RightOuter(c) => (JoinType::Right, Some(c)),
                J::FullOuter(c) => (JoinType::Full, Some(c)),
                J::CrossJoin(c) => (JoinType::Cross, Some(c)),
                J::Semi(c) | J::LeftSemi(c) => (JoinType::LeftSemi, Some(c)),
                J::Anti(c) | J::LeftAnti(c) => (JoinType::LeftAnti, Some(c)),
                other => {
                    return Err(QuarryError::NotSupported(
                        format!("join type {other:?}")
                            .chars()
                            .take(60)
                            .collect::<String>(),
                    ))
                }
            };
            let (p, s) = if is_lateral(&j.relation) {
                if swap {
                    return Err(QuarryError::NotSupported(
                        "RIGHT SEMI/ANTI JOIN LATERAL".into(),
                    ));
                }
                self.bind_lateral(plan, scope, &j.relation, jt, constraint, outer)?
            } else {
                let (rp, rs) = self.bind_table_factor(&j.relation, outer)?;
                if swap {
                    self.bind_join(rp, rs, plan, scope, jt, constraint, outer)?
                } else {
                    self.bind_join(plan, scope, rp, rs, jt, constraint, outer)?
                }
            };
            plan = p;
            scope = s;
        }
        Ok((plan, scope))
    }

    /// Parse and bind `sql`, a query this binder wrote (a table function rewritten as
    /// a SELECT), seeing the `outer` scopes. Errors: those of parsing and binding it.
    fn bind_sql_query(&mut self, sql: &str, outer: &[Scope]) -> Result<(LogicalPlan, Vec<Column>)> {
        let crate::parser::Statement::Query(query) = crate::parser::parse_statement(sql)? else {
            return Err(QuarryError::Internal(format!(
                "{sql} did not parse as a query"
            )));
        };
        self.bind_query_with_outer(&query, outer)
    }

    /// `left JOIN LATERAL (subquery) alias [ON cond]` (also `left, LATERAL (...)`): the
    /// subquery may refer to `left`'s columns; a correlated one is decorrelated into a
    /// join ([`super::decorrelate::lateral_join`]).
    #[allow(clippy::too_many_arguments)]
    fn bind_lateral(
        &mut self,
        lp: LogicalPlan,
        ls: Scope,
        tf: &ast::TableFactor,
        jt: JoinType,
        constraint: Option<&ast::JoinConstraint>,
        outer: &[Scope],
    ) -> Result<(LogicalPlan, Scope)> {
        let converted = lateral_function_as_subquery(tf)?;
        let tf = converted.as_ref().unwrap_or(tf);
        let ast::TableFactor::Derived {
            subquery, alias, ..
        } = tf
        else {
            return Err(QuarryError::Internal("LATERAL over a non-subquery".into()));
        };
        let mut sub_outer = outer.to_vec();
        sub_outer.push(ls.clone());
        let (sub, cols) = self.bind_query_with_outer(subquery, &sub_outer)?;
        // Spark's CheckAnalysis: a nondeterministic lateral subquery is refused beside a
        // left side of more than one row, and a nondeterministic condition always
        if !plan_is_deterministic(&sub) && !super::decorrelate::at_most_one_row(&lp) {
            return Err(QuarryError::Analysis(
                "[UNSUPPORTED_SUBQUERY_EXPRESSION_CATEGORY.NON_DETERMINISTIC_LATERAL_SUBQUERIES] Non-deterministic lateral subqueries are not supported when joining with outer relations that produce more than one row".into(),
            ));
        }
        if let Some(ast::JoinConstraint::On(e)) = constraint {
            if calls_nondeterministic(e) {
                return Err(QuarryError::Analysis(
                    "[UNSUPPORTED_SUBQUERY_EXPRESSION_CATEGORY.LATERAL_JOIN_CONDITION_NON_DETERMINISTIC] Lateral join condition cannot be non-deterministic".into(),
                ));
            }
        }
        let q = alias
            .as_ref()
            .map(|a| a.name.value.to_ascii_lowercase())
            .unwrap_or_default();
        let col_aliases = alias_columns(alias);
        let left_ids: std::collections::HashSet<usize> = ls.cols.iter().map(|c| c.col.id).collect();
        if !super::decorrelate::is_correlated(&sub, &left_ids)? {
            let (rp, rs) = aliased(sub, cols, &col_aliases, &q)?;
            return self.bind_join(lp, ls, rp, rs, jt, constraint, outer);
        }
        if !matches!(jt, JoinType::Inner | JoinType::Cross | JoinType::Left) {
            return Err(QuarryError::NotSupported(format!(
                "{jt:?} JOIN LATERAL (inner, cross and left lateral joins are)"
            )));
        }
        check_alias_count(&q, cols.len(), &col_aliases)?;
        // the lateral's output columns, as the query sees them
        let out_cols: Vec<Column> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let name = col_aliases
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| c.name.clone());
                Column::new(name, c.data_type.clone(), true)
            })
            .collect();
        let sub_scope = Scope::new(Some(&q), &out_cols);
        let both = ls.join(&sub_scope);
        let on: Vec<Expr> = match constraint {
            None | Some(ast::JoinConstraint::None) => vec![],
            Some(ast::JoinConstraint::On(e)) => {
                let cx = ExprCtx {
                    scope: &both,
                    outer,
                    agg: None,
                    clause: "the join condition",
                    windows: None,
                };
                // over the subquery's own columns, which the decorrelation knows
                cast_bool(self.bind_expr(e, &cx)?)?
                    .transform(&mut |x| match &x {
                        Expr::Column(c) => match out_cols.iter().position(|o| o.id == c.id) {
                            Some(i) => Expr::Column(cols[i].clone()),
                            None => x,
                        },
                        _ => x,
                    })
                    .split_conjunction()
            }
            Some(_) => {
                return Err(QuarryError::NotSupported(
                    "USING or NATURAL with a LATERAL subquery; use ON".into(),
                ))
            }
        };
        let left_cols = lp.schema();
        let sub_schema = sub.schema();
        let (joined, values) = super::decorrelate::lateral_join(lp, &sub, jt, on)?;
        let mut exprs: Vec<(Expr, Column)> = left_cols
            .into_iter()
            .map(|c| (Expr::Column(c.clone()), c))
            .collect();
        for (c, o) in cols.iter().zip(&out_cols) {
            let i = sub_schema
                .iter()
                .position(|x| x.id == c.id)
                .ok_or_else(|| QuarryError::Internal("lateral column".into()))?;
            exprs.push((values[i].clone(), o.clone()));
        }
        Ok((
            LogicalPlan::Project {
                input: Box::new(joined),
                exprs,
            },
            both,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn bind_join(
        &mut self,
        lp: LogicalPlan,
        ls: Scope,
        rp: LogicalPlan,
        rs: Scope,
        mut jt: JoinType,
        constraint: Option<&ast::JoinConstraint>,
        outer: &[Scope],
    ) -> Result<(LogicalPlan, Scope)> {
        let both = ls.join(&rs);
        let left_ids: std::collections::HashSet<usize> = ls.cols.iter().map(|c| c.col.id).collect();
        let right_ids: std::collections::HashSet<usize> =
            rs.cols.iter().map(|c| c.col.id).collect();
        let mut conjuncts: Vec<Expr> = vec![];
        let mut using: Vec<String> = vec![];
        match constraint {
            None | Some(ast::JoinConstraint::None) => {}
            Some(ast::JoinConstraint::On(e)) => {
                let cx = ExprCtx {
                    scope: &both,
                    outer,
                    agg: None,
                    clause: "the join condition",
                    windows: None,
                };
                conjuncts = cast_bool(self.bind_expr(e, &cx)?)?.split_conjunction();
            }
            Some(c @ (ast::JoinConstraint::Using(_) | ast::JoinConstraint::Natural)) => {
                let names: Vec<String> = match c {
                    ast::JoinConstraint::Using(names) => names
                        .iter()
                        .map(crate::binder::expr::last_name_part)
                        .collect(),
                    // NATURAL: the visible column names both sides have, in the left's order
                    _ => {
                        let mut v: Vec<String> = vec![];
                        for l in ls.cols.iter().filter(|c| !c.hidden) {
                            let n = l.col.name.to_ascii_lowercase();
                            if !v.contains(&n)
                                && rs
                                    .cols
                                    .iter()
                                    .any(|r| !r.hidden && r.col.name.eq_ignore_ascii_case(&n))
                            {
                                v.push(n);
                            }
                        }
                        v
                    }
                };
                for name in names {
                    let l = ls.resolve(&[name.clone()])?.ok_or_else(|| {
                        QuarryError::Analysis(format!("[UNRESOLVED_USING_COLUMN_FOR_JOIN] USING column `{name}` cannot be resolved on the left side of the join"))
                    })?;
                    let r = rs.resolve(&[name.clone()])?.ok_or_else(|| {
                        QuarryError::Analysis(format!("[UNRESOLVED_USING_COLUMN_FOR_JOIN] USING column `{name}` cannot be resolved on the right side of the join"))
                    })?;
                    conjuncts.push(binary(BinOp::Eq, Expr::Column(l), Expr::Column(r), false)?);
                    using.push(name);
                }
            }
        }
        if jt == JoinType::Cross && !conjuncts.is_empty() {
            jt = JoinType::Inner;
        }
        if jt == JoinType::Inner && conjuncts.is_empty() {
            jt = JoinType::Cross;
        }
        let (on, residual) = split_join_keys(conjuncts, &left_ids, &right_ids)?;
        // a condition with subqueries over both sides is decorrelated there
        let plan = super::decorrelate::join_with_condition(lp, rp, jt, on, residual)?;
        let mut scope = match jt {
            JoinType::LeftSemi | JoinType::LeftAnti => ls.clone(),
            _ => both,
        };
        if using.is_empty() {
            return Ok((plan, scope));
        }
        // USING: one output column per key (left's; right's for RIGHT JOIN; coalesced for FULL)
        if jt == JoinType::Full {
            let mut exprs: Vec<(Expr, Column)> = vec![];
            let mut new_scope = Scope::default();
            for name in &using {
                let (Some(l), Some(r)) =
                    (ls.resolve(&[name.clone()])?, rs.resolve(&[name.clone()])?)
                else {
                    continue;
                };
                let t = comparison_type(&l.data_type, &r.data_type)?;
                let e = super::expr::scalar_call(
                    crate::functions::scalar::ScalarFunc::Coalesce,
                    vec![
                        cast_to(Expr::Column(l.clone()), &t)?,
                        cast_to(Expr::Column(r.clone()), &t)?,
                    ],
                )?;
                let c = Column::new(name.clone(), t, true);
                exprs.push((e, c.clone()));
                new_scope.cols.push(ScopeCol {
                    qualifier: None,
                    database: None,
                    col: c,
                    hidden: false,
                    name_only: false,
                });
            }
            for sc in scope.cols.iter() {
                let is_key = using.iter().any(|u| u.eq_ignore_ascii_case(&sc.col.name));
                exprs.push((Expr::Column(sc.col.clone()), sc.col.clone()));
                new_scope.cols.push(ScopeCol {
                    qualifier: sc.qualifier.clone(),
                    database: sc.database.clone(),
                    col: sc.col.clone(),
                    hidden: is_key,
                    name_only: sc.name_only,
                });
            }
            return Ok((
                LogicalPlan::Project {
                    input: Box::new(plan),
                    exprs,
                },
                new_scope,
            ));
        }
        let hide_right = jt != JoinType::Right;
        let mut keys_first: Vec<ScopeCol> = vec![];
        for sc in scope.cols.iter_mut() {
            let is_key = using.iter().any(|u| u.eq_ignore_ascii_case(&sc.col.name));
            let from_right = right_ids.contains(&sc.col.id);
            if is_key {
                if from_right == hide_right {
                    sc.hidden = true;
                } else if !sc.hidden {
                    // the key's one visible column (an earlier USING join hid the others)
                    keys_first.push(sc.clone());
                }
            }
        }
        // Spark lists the USING columns first
        let mut ordered: Vec<ScopeCol> = keys_first
            .iter()
            .map(|k| ScopeCol {
                hidden: false,
                ..k.clone()
            })
            .collect();
        for sc in scope.cols {
            if keys_first.iter().any(|k| k.col.id == sc.col.id) {
                ordered.push(ScopeCol { hidden: true, ..sc });
            } else {
                ordered.push(sc);
            }
        }
        Ok((plan, Scope { cols: ordered }))
    }

    /// `relation TABLESAMPLE (...)`, as Spark: `(n ROWS)` is a LIMIT n; `(x PERCENT)` and
    /// `(BUCKET x OUT OF y)` keep each row with probability x/100 or x/y (a Bernoulli
    /// sample, different on each run, as Spark's without a seed); `BERNOULLI (x)` is
    /// `x PERCENT`. Errors: a negative row count, a fraction outside [0, 100] percent
    /// (Spark's bounds), and not supported for a seed (`REPEATABLE`), `SYSTEM` sampling,
    /// a byte length or `BUCKET ... ON expr`.
    fn table_sample(ts: &ast::TableSample, plan: LogicalPlan) -> Result<LogicalPlan> {
        let unsupported = |what: &str| {
            Err(QuarryError::NotSupported(format!(
                "TABLESAMPLE with {what} ({ts})"
            )))
        };
        if ts.seed.is_some() {
            return unsupported("a seed");
        }
        if ts.offset.is_some() {
            return unsupported("an offset");
        }
        if matches!(
            ts.name,
            Some(ast::TableSampleMethod::System | ast::TableSampleMethod::Block)
        ) {
            return unsupported("SYSTEM/BLOCK sampling");
        }
        let number = |v: &ast::Expr| -> Result<f64> {
            let (neg, v) = match v {
                ast::Expr::UnaryOp {
                    op: ast::UnaryOperator::Minus,
                    expr,
                } => (true, expr.as_ref()),
                v => (false, v),
            };
            match v {
                ast::Expr::Value(x) => match &x.value {
                    ast::Value::Number(n, _) => n
                        .parse::<f64>()
                        .map(|f| if neg { -f } else { f })
                        .map_err(|_| {
                            QuarryError::Analysis(format!("TABLESAMPLE: `{n}` is not a number"))
                        }),
                    _ => Err(QuarryError::Analysis(format!(
                        "TABLESAMPLE needs a number, not {x}"
                    ))),
                },
                other => Err(QuarryError::Analysis(format!(
                    "TABLESAMPLE needs a number, not {other}"
                ))),
            }
        };
        let fraction = match (&ts.quantity, &ts.bucket) {
            (Some(q), None) => {
                let x = number(&q.value)?;
                match (q.unit, ts.name) {
                    (Some(ast::TableSampleUnit::Rows), _) => {
                        if x < 0.0 || x.fract() != 0.0 {
                            return Err(QuarryError::Analysis(format!(
                                "[INVALID_LIMIT_LIKE_EXPRESSION.IS_NEGATIVE] The limit like expression \"{}\" is invalid. The limit expression must be equal to or greater than 0, but got {x}.",
                                q.value
                            )));
                        }
                        return Ok(LogicalPlan::Limit {
                            input: Box::new(plan),
                            skip: 0,
                            fetch: Some(x as usize),
                        });
                    }
                    (Some(ast::TableSampleUnit::Percent), _) | (None, Some(_)) => x / 100.0,
                    (None, None) => return unsupported("no unit (ROWS or PERCENT)"),
                }
            }
            (None, Some(b)) => {
                if b.on.is_some() {
                    return unsupported("BUCKET ... ON");
                }
                let num = |v: &ast::ValueWithSpan| number(&ast::Expr::Value(v.clone()));
                let (x, y) = (num(&b.bucket)?, num(&b.total)?);
                if y <= 0.0 {
                    return Err(QuarryError::Analysis(format!(
                        "TABLESAMPLE: BUCKET {x} OUT OF {y}: the bucket count must be positive"
                    )));
                }
                x / y
            }
            _ => return unsupported("this form"),
        };
        if !(0.0..=1.0).contains(&fraction) {
            return Err(QuarryError::Analysis(format!(
                "Sampling fraction ({fraction}) must be on interval [0, 1]"
            )));
        }
        let rand = super::expr::scalar_call(
            crate::functions::scalar::ScalarFunc::Math(crate::functions::math::MathFunc::Rand {
                gaussian: false,
            }),
            vec![],
        )?;
        let fraction = Expr::Literal(crate::types::ScalarValue::from_f64(fraction));
        let predicate = binary(BinOp::Lt, rand, fraction, false)?;
        Ok(LogicalPlan::Filter {
            input: Box::new(plan),
            predicate,
        })
    }

    /// A FROM item's plan and scope. The columns it passes up unchanged from a table's
    /// CHAR columns (through a view, CTE or subquery) are CHAR columns too, as Spark's
    /// attributes keep their char metadata.
    pub(super) fn bind_table_factor(
        &mut self,
        tf: &ast::TableFactor,
        outer: &[Scope],
    ) -> Result<(LogicalPlan, Scope)> {
        let (plan, scope) = self.bind_table_factor_inner(tf, outer)?;
        if !self.char_columns.is_empty() {
            self.propagate_char_columns(&plan);
        }
        Ok((plan, scope))
    }

    /// For each output column of a query's plan, the `CHAR(n)`/`VARCHAR(n)` of the
    /// table column it passes on unchanged (a CTAS gives its column that type, as
    /// Spark's attributes carry their char/varchar metadata).
    pub fn output_char_types(
        &mut self,
        plan: &LogicalPlan,
    ) -> Vec<Option<crate::types::CharVarchar>> {
        if !self.char_columns.is_empty() {
            self.propagate_char_columns(plan);
        }
        plan.schema()
            .iter()
            .map(|c| self.char_columns.get(&c.id).copied())
            .collect()
    }

    /// Records the output columns of `plan`'s projections that are CHAR/VARCHAR columns
    /// renamed (inner projections first).
    fn propagate_char_columns(&mut self, plan: &LogicalPlan) {
        for input in plan.inputs() {
            self.propagate_char_columns(input);
        }
        if let LogicalPlan::Project { exprs, .. } = plan {
            for (e, out) in exprs {
                if let Expr::Column(c) = e {
                    if let Some(n) = self.char_columns.get(&c.id).copied() {
                        self.char_columns.insert(out.id, n);
                    }
                }
            }
        }
    }

    fn bind_table_factor_inner(
        &mut self,
        tf: &ast::TableFactor,
        outer: &[Scope],
    ) -> Result<(LogicalPlan, Scope)> {
        if let ast::TableFactor::Table {
            sample,
            version,
            partitions,
            with_ordinality,
            json_path,
            ..
        } = tf
        {
            if let Some(v) = version {
                return Err(QuarryError::NotSupported(format!(
                    "time travel ({v}): Quarry's tables have no versions"
                )));
            }
            if !partitions.is_empty() || *with_ordinality || json_path.is_some() {
                return Err(QuarryError::NotSupported(format!(
                    "this table reference: {tf}"
                )));
            }
            if let Some(kind) = sample {
                let (ast::TableSampleKind::BeforeTableAlias(ts)
                | ast::TableSampleKind::AfterTableAlias(ts)) = kind;
                let mut plain = tf.clone();
                if let ast::TableFactor::Table { sample, .. } = &mut plain {
                    *sample = None;
                }
                let (plan, scope) = self.bind_table_factor(&plain, outer)?;
                let plan = Self::table_sample(ts, plan)?;
                return Ok((plan, scope));
            }
        }
        match tf {
            ast::TableFactor::Table {
                name, alias, args, ..
            } => {
                let alias_name = alias.as_ref().map(|a| a.name.value.to_ascii_lowercase());
                let col_aliases = alias_columns(alias);
                let parts: Vec<&ast::Ident> = name.0.iter().filter_map(|p| p.as_ident()).collect();
                if let Some(args) = args {
                    // read_parquet('path'), read_csv(...), read_json(...)
                    let fname = parts
                        .last()
                        .map(|i| i.value.to_ascii_lowercase())
                        .unwrap_or_default();
                    let format = match fname.as_str() {
                        "read_parquet" | "parquet_scan" => FileFormat::Parquet,
                        "read_csv" | "read_csv_auto" => FileFormat::Csv,
                        "read_json" | "read_json_auto" | "read_ndjson" => FileFormat::Json,
                        "range" | "generate_series" => {
                            let bound: Vec<Expr> = {
                                let mut v = vec![];
                                for a in &args.args {
                                    match a {
                                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(
                                            e,
                                        )) => v.push(self.bind_columnless(e, "range()")?),
                                        _ => {
                                            return Err(QuarryError::Analysis(format!(
                                                "{fname}() takes 1 to 4 numbers"
                                            )))
                                        }
                                    }
                                }
                                v
                            };
                            let plan = range_plan(&bound, &fname)?;
                            let q = alias_name.clone().unwrap_or_else(|| fname.clone());
                            let cols = plan.schema();
                            let (plan, mut scope) = aliased(plan, cols, &col_aliases, &q)?;
                            // range()'s column is `id` (Spark); DuckDB calls it `range`
                            if fname == "range" && col_aliases.is_empty() {
                                if let Some(id) = scope.cols.first().cloned() {
                                    let mut col = id.col.clone();
                                    col.name = "range".into();
                                    scope.cols.push(ScopeCol {
                                        col,
                                        name_only: true,
                                        ..id
                                    });
                                }
                            }
                            return Ok((plan, scope));
                        }
                        // a generator in FROM (`FROM explode(array(1, 2)) AS t(x)`), as
                        // Spark 3.4+: the rows `SELECT gen(...)` makes
                        other
                            if GeneratorKind::lookup(other).is_some()
                                || matches!(other, "json_tuple" | "stack") =>
                        {
                            let list = args
                                .args
                                .iter()
                                .map(|a| a.to_string())
                                .collect::<Vec<_>>()
                                .join(", ");
                            let sql = format!("SELECT {other}({list})");
                            let (plan, cols) = self.bind_sql_query(&sql, outer)?;
                            let q = alias_name.clone().unwrap_or_default();
                            return aliased(plan, cols, &col_aliases, &q);
                        }
                        // DuckDB's repeat(value, count): count rows holding value, in a
                        // column named repeat
                        "repeat" if args.args.len() == 2 => {
                            let sql = format!(
                                "SELECT {} AS repeat FROM range({})",
                                args.args[0], args.args[1]
                            );
                            let (plan, cols) = self.bind_sql_query(&sql, outer)?;
                            let q = alias_name.clone().unwrap_or_else(|| "repeat".into());
                            return aliased(plan, cols, &col_aliases, &q);
                        }
                        other => {
                            return Err(QuarryError::NotSupported(format!(
                                "table function {other}()"
                            )))
                        }
                    };
                    let path = match args.args.first() {
                        Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(
                            ast::Expr::Value(v),
                        ))) => match &v.value {
                            ast::Value::SingleQuotedString(s)
                            | ast::Value::DoubleQuotedString(s) => s.clone(),
                            _ => {
                                return Err(QuarryError::Analysis(format!(
                                    "{fname} expects a path string"
                                )))
                            }
                        },
                        _ => {
                            return Err(QuarryError::Analysis(format!(
                                "{fname} expects a path string"
                            )))
                        }
                    };
                    let mut options = std::collections::BTreeMap::new();
                    if format == FileFormat::Csv {
                        options.insert("header".to_string(), "true".to_string());
                        options.insert("inferschema".to_string(), "true".to_string());
                    }
                    let source = super::files_source(
                        &self.ctx.catalog.storage,
                        &path,
                        format,
                        options,
                        &path,
                    )?;
                    let (plan, scope) =
                        super::scan_of(source, alias_name.as_deref().unwrap_or(&fname));
                    let cols = scope.cols.iter().map(|c| c.col.clone()).collect();
                    return aliased(
                        plan,
                        cols,
                        &col_aliases,
                        alias_name.as_deref().unwrap_or(&fname),
                    );
                }
                // parquet.`path` (Spark's direct file read)
                if parts.len() == 2 && parts[1].quote_style == Some('`') {
                    let fmt = parts[0].value.to_ascii_lowercase();
                    if let Ok(format) = FileFormat::parse(&fmt) {
                        if self
                            .ctx
                            .catalog
                            .metastore
                            .get_table(&fmt, &parts[1].value.to_ascii_lowercase())?
                            .is_none()
                        {
                            let path = parts[1].value.clone();
                            let source = super::files_source(
                                &self.ctx.catalog.storage,
                                &path,
                                format,
                                Default::default(),
                                &format!("{fmt}.`{path}`"),
                            )?;
                            let q = alias_name.clone().unwrap_or_else(|| path.clone());
                            let (plan, scope) = super::scan_of(source, &q);
                            let cols = scope.cols.iter().map(|c| c.col.clone()).collect();
                            return aliased(plan, cols, &col_aliases, &q);
                        }
                    }
                }
                let parts = ident_parts(&parts.into_iter().cloned().collect::<Vec<_>>());
                let (plan, scope) = self.bind_table_name(&parts, alias_name.as_deref())?;
                if col_aliases.is_empty() {
                    Ok((plan, scope))
                } else {
                    let q = alias_name.unwrap_or_else(|| parts.last().cloned().unwrap_or_default());
                    let cols = scope.cols.iter().map(|c| c.col.clone()).collect();
                    aliased(plan, cols, &col_aliases, &q)
                }
            }
            ast::TableFactor::Derived {
                lateral,
                subquery,
                alias,
                ..
            } => {
                // (a LATERAL subquery first in FROM has nothing to refer to)
                let _ = lateral;
                let (plan, cols) = self.bind_query_with_outer(subquery, outer)?;
                // DuckDB names an unaliased subquery unnamed_subquery, then
                // unnamed_subquery2, ... within one FROM
                let q = match alias {
                    Some(a) => a.name.value.to_ascii_lowercase(),
                    None => {
                        self.unnamed_subqueries += 1;
                        match self.unnamed_subqueries {
                            1 => "unnamed_subquery".to_string(),
                            n => format!("unnamed_subquery{n}"),
                        }
                    }
                };
                let col_aliases = alias_columns(alias);
                let (plan, mut scope) = aliased(plan, cols, &col_aliases, &q)?;
                if col_aliases.is_empty() && matches!(*subquery.body, ast::SetExpr::Values(_)) {
                    // VALUES' columns are col1, col2, ... (Spark); DuckDB and DataFusion
                    // call them column1, column2, ...: both names resolve, * lists one
                    let extra: Vec<ScopeCol> = scope
                        .cols
                        .iter()
                        .filter_map(|c| {
                            let n = c.col.name.strip_prefix("col")?;
                            n.parse::<usize>().ok()?;
                            let mut col = c.col.clone();
                            col.name = format!("column{n}");
                            Some(ScopeCol {
                                col,
                                name_only: true,
                                ..c.clone()
                            })
                        })
                        .collect();
                    scope.cols.extend(extra);
                }
                Ok((plan, scope))
            }
            ast::TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                let (plan, scope) = self.bind_table_with_joins(None, table_with_joins, outer)?;
                match alias {
                    None => Ok((plan, scope)),
                    Some(a) => {
                        let cols = scope.cols.iter().map(|c| c.col.clone()).collect();
                        let col_aliases = alias_columns(alias);
                        aliased(plan, cols, &col_aliases, &a.name.value.to_ascii_lowercase())
                    }
                }
            }
            ast::TableFactor::Pivot {
                table,
                aggregate_functions,
                value_column,
                value_source,
                default_on_null,
                alias,
            } => self.bind_pivot(
                table,
                aggregate_functions,
                value_column,
                value_source,
                default_on_null,
                alias,
                outer,
            ),
            ast::TableFactor::Unpivot {
                table,
                value,
                name,
                columns,
                null_inclusion,
                alias,
            } => self.bind_unpivot(table, value, name, columns, null_inclusion, alias, outer),
            f @ ast::TableFactor::Function { lateral: true, .. } => {
                // a first FROM item: nothing to its left to refer to
                match lateral_function_as_subquery(f)? {
                    Some(d) => self.bind_table_factor(&d, outer),
                    None => Err(QuarryError::Internal("LATERAL function".into())),
                }
            }
            other => {
                let text = other.to_string();
                Err(QuarryError::NotSupported(format!(
                    "this FROM item: {}",
                    text.chars().take(60).collect::<String>()
                )))
            }
        }
    }
}

/// Whether every expression of `plan` and its inputs is deterministic (no `rand()`).
fn plan_is_deterministic(plan: &LogicalPlan) -> bool {
    plan.exprs().iter().all(|e| e.is_deterministic())
        && plan.inputs().into_iter().all(plan_is_deterministic)
}

/// Whether `e` calls one of Spark's nondeterministic functions (as written).
fn calls_nondeterministic(e: &ast::Expr) -> bool {
    use sqlparser::ast::{Visit, Visitor};
    struct V(bool);
    impl Visitor for V {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &ast::Expr) -> std::ops::ControlFlow<()> {
            if let ast::Expr::Function(f) = e {
                let name = f.name.to_string().to_ascii_lowercase();
                if matches!(
                    name.as_str(),
                    "rand"
                        | "random"
                        | "randn"
                        | "uuid"
                        | "shuffle"
                        | "monotonically_increasing_id"
                ) {
                    self.0 = true;
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut v = V(false);
    let _ = e.visit(&mut v);
    v.0
}

/// Whether `tf` is a `LATERAL (subquery)` or `LATERAL table_function(...)`.
fn is_lateral(tf: &ast::TableFactor) -> bool {
    matches!(
        tf,
        ast::TableFactor::Derived { lateral: true, .. }
            | ast::TableFactor::Function { lateral: true, .. }
    )
}

/// `LATERAL f(args) [alias]` (Spark's lateral table-valued functions: `explode`,
/// `inline`, `posexplode`, `range`, ...) as the subquery `LATERAL (SELECT * FROM
/// f(args)) [alias]`, which binds and decorrelates as any lateral subquery. None for
/// other FROM items. Errors: WITH ORDINALITY (not supported).
fn lateral_function_as_subquery(tf: &ast::TableFactor) -> Result<Option<ast::TableFactor>> {
    let ast::TableFactor::Function {
        lateral: true,
        name,
        args,
        with_ordinality,
        alias,
    } = tf
    else {
        return Ok(None);
    };
    if *with_ordinality {
        return Err(QuarryError::NotSupported(
            "LATERAL ... WITH ORDINALITY".into(),
        ));
    }
    let args = args
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("SELECT * FROM {name}({args})");
    let crate::parser::Statement::Query(subquery) = crate::parser::parse_statement(&sql)? else {
        return Err(QuarryError::Internal(format!(
            "{sql} did not parse as a query"
        )));
    };
    Ok(Some(ast::TableFactor::Derived {
        lateral: true,
        subquery,
        alias: alias.clone(),
        sample: None,
    }))
}

/// DuckDB's `left POSITIONAL JOIN right`: the n-th row of each side side by side, in
/// the order the sides produce their rows, the shorter side's missing rows NULL. Each
/// side numbers its rows (`row_number()` with no ORDER BY keeps the input's order) and a
/// FULL JOIN on the numbers pairs them; the numbers stay out of the query's scope.
fn positional_join(left: LogicalPlan, right: LogicalPlan) -> LogicalPlan {
    let (left, lpos) = super::window::with_row_number(left, vec![], vec![], "__left_position");
    let (right, rpos) = super::window::with_row_number(right, vec![], vec![], "__right_position");
    LogicalPlan::Join {
        left: Box::new(left),
        right: Box::new(right),
        join_type: JoinType::Full,
        on: vec![(Expr::Column(lpos), Expr::Column(rpos))],
        filter: None,
    }
}

/// Whether `twj` holds a LATERAL subquery (first or in a join).
fn has_lateral(twj: &ast::TableWithJoins) -> bool {
    is_lateral(&twj.relation) || twj.joins.iter().any(|j| is_lateral(&j.relation))
}

/// The fields a struct star (`s.*`) expands to, each a `s.field` expression with the
/// field's name, less those its EXCEPT list names (Spark's `s.* EXCEPT (f)`). An entry
/// `f.g` keeps the struct field f without its own field g (`t` is the struct's type).
/// Errors: a name that is no field, a field named twice or inside another entry,
/// REPLACE / RENAME / ILIKE options.
fn struct_star_except(
    fields: Vec<ast::Expr>,
    t: &DataType,
    o: &ast::WildcardAdditionalOptions,
) -> Result<Vec<(ast::Expr, String)>> {
    if o.opt_rename.is_some() || o.opt_ilike.is_some() || o.opt_replace.is_some() {
        return Err(QuarryError::NotSupported(
            "s.* of a struct with REPLACE / RENAME / ILIKE".into(),
        ));
    }
    let named: Vec<(ast::Expr, String)> = fields
        .into_iter()
        .map(|e| {
            let n = match &e {
                ast::Expr::CompoundIdentifier(p) => p.last().map(|i| i.value.clone()),
                _ => None,
            };
            (e, n.unwrap_or_default())
        })
        .collect();
    // each entry as its field path
    let drop = dropped_names(o);
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    for (i, d) in drop.iter().enumerate() {
        let listed = d.join(".");
        let overlaps = drop[..i].iter().any(|x| {
            let n = x.len().min(d.len());
            x[..n].iter().zip(&d[..n]).all(|(a, b)| same(a, b))
        });
        if overlaps {
            return Err(QuarryError::Analysis(format!(
                "[EXCEPT_OVERLAPPING_COLUMNS] Columns in an EXCEPT/EXCLUDE list must be distinct and non-overlapping: `{listed}` overlaps another entry"
            )));
        }
        let resolves = {
            let mut at = Some(t.clone());
            for f in d {
                at = match at {
                    Some(DataType::Struct(fs)) => fs
                        .iter()
                        .find(|x| same(x.name(), f))
                        .map(|x| x.data_type().clone()),
                    _ => None,
                };
            }
            at.is_some()
        };
        if !resolves {
            return Err(QuarryError::Analysis(format!(
                "[UNRESOLVED_COLUMN] A field `{listed}` in the EXCEPT/EXCLUDE list of the struct's * cannot be resolved"
            )));
        }
    }
    let DataType::Struct(types) = t else {
        return Ok(named);
    };
    let mut out = vec![];
    for (e, n) in named {
        let here: Vec<&[String]> = drop
            .iter()
            .filter(|d| d.first().is_some_and(|f| same(f, &n)))
            .map(|d| &d[1..])
            .collect();
        if here.iter().any(|rest| rest.is_empty()) {
            continue;
        }
        let field_type = types
            .iter()
            .find(|f| same(f.name(), &n))
            .map(|f| f.data_type());
        match field_type {
            Some(ft) if !here.is_empty() => {
                let text = struct_without_fields(&e.to_string(), ft, &here);
                out.push((crate::parser::parse_expression(&text)?, n));
            }
            _ => out.push((e, n)),
        }
    }
    Ok(out)
}

/// The names a star's EXCEPT list (`* EXCEPT (a, b)`) and EXCLUDE list (`* EXCLUDE (a,
/// t.b)`) drop, each as its parts as written.
pub(super) fn dropped_names(o: &ast::WildcardAdditionalOptions) -> Vec<Vec<String>> {
    let mut names: Vec<Vec<String>> = vec![];
    if let Some(e) = &o.opt_except {
        names.push(vec![e.first_element.value.clone()]);
        names.extend(e.additional_elements.iter().map(|i| vec![i.value.clone()]));
    }
    let parts_of = |n: &ast::ObjectName| -> Vec<String> {
        n.0.iter()
            .map(|p| {
                p.as_ident()
                    .map(|i| i.value.clone())
                    .unwrap_or_else(|| p.to_string())
            })
            .collect()
    };
    match &o.opt_exclude {
        Some(ast::ExcludeSelectItem::Single(n)) => names.push(parts_of(n)),
        Some(ast::ExcludeSelectItem::Multiple(v)) => names.extend(v.iter().map(parts_of)),
        None => {}
    }
    names
}

/// A star's columns after its options: `* EXCEPT (a, b)` (Databricks') and
/// `* EXCLUDE (a, b)` (DuckDB's) drop columns, `* REPLACE (expr AS a)` puts an expression
/// in a column's place (keeping its name and position). Each column comes with its
/// replacement, if any.
///
/// Errors: a name in the list that the star does not expand to; RENAME and ILIKE are
/// not supported.
fn wildcard_items(
    o: &ast::WildcardAdditionalOptions,
    cols: Vec<Column>,
    scope: &Scope,
) -> Result<Vec<(Column, Option<ast::Expr>)>> {
    if o.opt_rename.is_some() || o.opt_ilike.is_some() {
        return Err(QuarryError::NotSupported("* RENAME / * ILIKE".into()));
    }
    // the names to drop, as written: a plain name, or a qualified one (`t.c`)
    let names = dropped_names(o);
    // a plain name drops every expanded column of that name; a qualified one, the
    // column it resolves to (which must be one the * expands to). A column named twice
    // is an error (Spark's EXCEPT_OVERLAPPING_COLUMNS, DuckDB's "Duplicate entry").
    let mut drop: Vec<ColumnId> = vec![];
    // fields to drop from struct columns: (column, field path)
    let mut field_drops: Vec<(ColumnId, Vec<String>)> = vec![];
    for parts in &names {
        let listed = parts.join(".");
        let ids: Vec<ColumnId> = match parts.as_slice() {
            [name] => cols
                .iter()
                .filter(|c| c.name.eq_ignore_ascii_case(name))
                .map(|c| c.id)
                .collect(),
            // a qualified name the * does not list (the hidden side of a USING key)
            // drops nothing
            _ => match scope.resolve(parts) {
                Ok(Some(r)) if cols.iter().any(|c| c.id == r.id) => vec![r.id],
                Ok(Some(_)) => continue,
                resolved => match struct_field_path(&cols, scope, parts) {
                    // `s.f` (or `t.s.f`): drop the field f from the struct column s
                    Some((id, path)) => {
                        let overlaps =
                            field_drops.iter().any(|(i, p): &(ColumnId, Vec<String>)| {
                                *i == id && {
                                    let n = p.len().min(path.len());
                                    p[..n]
                                        .iter()
                                        .zip(&path[..n])
                                        .all(|(a, b)| a.eq_ignore_ascii_case(b))
                                }
                            });
                        if overlaps || drop.contains(&id) {
                            return Err(QuarryError::Analysis(format!(
                                "[EXCEPT_OVERLAPPING_COLUMNS] Columns in an EXCEPT/EXCLUDE list must be distinct and non-overlapping: `{listed}` overlaps another entry"
                            )));
                        }
                        field_drops.push((id, path));
                        continue;
                    }
                    None => {
                        resolved?;
                        vec![]
                    }
                },
            },
        };
        if ids.is_empty() {
            return Err(QuarryError::Analysis(format!(
                "[UNRESOLVED_COLUMN] A column `{listed}` in the EXCEPT/EXCLUDE list of * cannot be resolved (not found in FROM clause)"
            )));
        }
        if ids
            .iter()
            .any(|id| drop.contains(id) || field_drops.iter().any(|(f, _)| f == id))
        {
            return Err(QuarryError::Analysis(format!(
                "[EXCEPT_OVERLAPPING_COLUMNS] Columns in an EXCEPT/EXCLUDE list must be distinct and non-overlapping: `{listed}` is a duplicate entry"
            )));
        }
        drop.extend(ids);
    }
    let replace: Vec<(String, ast::Expr)> = o
        .opt_replace
        .iter()
        .flat_map(|r| r.items.iter())
        .map(|r| (r.column_name.value.clone(), r.expr.clone()))
        .collect();
    for (n, _) in &replace {
        if !cols.iter().any(|c| c.name.eq_ignore_ascii_case(n)) {
            return Err(QuarryError::Analysis(format!(
                "[UNRESOLVED_COLUMN] A column `{n}` in the REPLACE list of * cannot be resolved"
            )));
        }
    }
    cols.into_iter()
        .filter(|c| !drop.contains(&c.id))
        .map(|c| {
            let r = replace
                .iter()
                .find(|(n, _)| c.name.eq_ignore_ascii_case(n))
                .map(|(_, e)| e.clone());
            let paths: Vec<&[String]> = field_drops
                .iter()
                .filter(|(id, _)| *id == c.id)
                .map(|(_, p)| p.as_slice())
                .collect();
            if r.is_none() && !paths.is_empty() {
                let text =
                    struct_without_fields(&column_reference(&c, scope), &c.data_type, &paths);
                return crate::parser::parse_expression(&text).map(|pruned| (c, Some(pruned)));
            }
            Ok((c, r))
        })
        .collect()
}

/// For an EXCEPT entry `s.f.g` (or `t.s.f`): the struct column of `cols` it starts with
/// and the field path after it, when that path names a field of the column's type.
fn struct_field_path(
    cols: &[Column],
    scope: &Scope,
    parts: &[String],
) -> Option<(ColumnId, Vec<String>)> {
    let field_path_ok = |t: &DataType, path: &[String]| {
        let mut t = t.clone();
        for f in path {
            let DataType::Struct(fields) = &t else {
                return false;
            };
            match fields.iter().find(|x| x.name().eq_ignore_ascii_case(f)) {
                Some(x) => t = x.data_type().clone(),
                None => return false,
            }
        }
        !path.is_empty()
    };
    // the column named by the first part, or by a qualifier and the second
    for skip in [1usize, 2] {
        if parts.len() <= skip {
            continue;
        }
        let Some(c) = scope.resolve(&parts[..skip]).ok().flatten() else {
            continue;
        };
        if let Some(c) = cols.iter().find(|x| x.id == c.id) {
            if field_path_ok(&c.data_type, &parts[skip..]) {
                return Some((c.id, parts[skip..].to_vec()));
            }
        }
    }
    None
}

/// SQL text naming column `c` of `scope`, qualified when its relation has a name.
fn column_reference(c: &Column, scope: &Scope) -> String {
    let q = crate::parser::quote_identifier;
    match scope
        .cols
        .iter()
        .find(|sc| sc.col.id == c.id)
        .and_then(|sc| sc.qualifier.clone())
    {
        Some(r) => format!("{}.{}", q(&r), q(&c.name)),
        None => q(&c.name),
    }
}

/// SQL text for `base` (of struct type `t`) rebuilt by `named_struct` without the fields
/// at `paths` (Spark's `* EXCEPT (s.f)`), nested structs pruned the same way.
fn struct_without_fields(base: &str, t: &DataType, paths: &[&[String]]) -> String {
    let DataType::Struct(fields) = t else {
        return base.to_string();
    };
    let mut args = vec![];
    for f in fields.iter() {
        let here = |p: &[String]| p.first().is_some_and(|x| x.eq_ignore_ascii_case(f.name()));
        if paths.iter().any(|p| here(p) && p.len() == 1) {
            continue;
        }
        let deeper: Vec<&[String]> = paths.iter().filter(|p| here(p)).map(|p| &p[1..]).collect();
        let access = format!("{base}.{}", crate::parser::quote_identifier(f.name()));
        let value = if deeper.is_empty() {
            access
        } else {
            struct_without_fields(&access, f.data_type(), &deeper)
        };
        args.push(format!(
            "'{}', {value}",
            f.name().replace('\\', "\\\\").replace('\'', "\\'")
        ));
    }
    format!("named_struct({})", args.join(", "))
}

/// ASC/DESC and NULLS FIRST/LAST, with Spark's defaults (NULLS FIRST for ASC, LAST for DESC).
/// The most distinct expressions GROUPING SETS / ROLLUP / CUBE may group by: the
/// grouping id is a bigint with one bit per expression.
const MAX_GROUPING_EXPRESSIONS: usize = 63;

/// ROLLUP over `parts`: every prefix, longest first.
fn rollup_sets(parts: &[Vec<usize>]) -> Vec<Vec<usize>> {
    (0..=parts.len())
        .rev()
        .map(|k| parts[..k].concat())
        .collect()
}

/// CUBE over `parts`: every subset, in Spark's order (all parts first, then fewer).
fn cube_sets(parts: &[Vec<usize>]) -> Result<Vec<Vec<usize>>> {
    let n = parts.len();
    if n > 12 {
        return Err(QuarryError::Analysis(format!(
            "[GROUPING_SIZE_LIMIT_EXCEEDED] CUBE of {n} expressions is too large"
        )));
    }
    // every subset, repeated ones too (`CUBE(a, ())` lists each set twice), as Spark's
    // cubeExprs
    let sets: Vec<Vec<usize>> = (0..(1u32 << n))
        .rev()
        .map(|mask| {
            (0..n)
                .filter(|i| mask & (1 << (n - 1 - i)) != 0)
                .flat_map(|i| parts[i].clone())
                .collect()
        })
        .collect();
    Ok(sets)
}

/// The grouping expressions of a GROUP BY and, when it has GROUPING SETS, ROLLUP, CUBE
/// or `WITH ROLLUP|CUBE`, its sets as indexes into them (a plain expression is in every
/// set; several items multiply, as Spark does).
fn expand_grouping_sets(
    v: &[ast::Expr],
    mods: &[ast::GroupByWithModifier],
) -> Result<(Vec<ast::Expr>, Option<Vec<Vec<usize>>>)> {
    let mut flat: Vec<ast::Expr> = vec![];
    let mut idx = |e: &ast::Expr| -> usize {
        match flat.iter().position(|x| x == e) {
            Some(i) => i,
            None => {
                flat.push(e.clone());
                flat.len() - 1
            }
        }
    };
    let mut any_sets = !mods.is_empty();
    // each item: its list of sets
    let mut items: Vec<Vec<Vec<usize>>> = vec![];
    // lists of expressions as lists of indexes into `flat`
    let mut parts = |lists: &[Vec<ast::Expr>]| -> Vec<Vec<usize>> {
        lists
            .iter()
            .map(|t| t.iter().map(&mut idx).collect())
            .collect()
    };
    for e in v {
        match e {
            ast::Expr::GroupingSets(sets) => items.push(parts(sets)),
            ast::Expr::Rollup(lists) => items.push(rollup_sets(&parts(lists))),
            ast::Expr::Cube(lists) => items.push(cube_sets(&parts(lists))?),
            other => {
                items.push(parts(&[vec![other.clone()]]));
                continue;
            }
        }
        any_sets = true;
    }
    // Hive's `GROUP BY a, b GROUPING SETS ((a), (b))`: the sets as written, over the
    // listed expressions (an expression, an ordinal or an alias may name one)
    let hive_sets: Option<Vec<Vec<usize>>> = match mods.first() {
        Some(ast::GroupByWithModifier::GroupingSets(ast::Expr::GroupingSets(lists)))
            if items.iter().all(|i| i.len() == 1 && i[0].len() == 1) =>
        {
            Some(parts(lists))
        }
        _ => None,
    };
    if !any_sets {
        return Ok((flat, None));
    }
    if flat.len() > MAX_GROUPING_EXPRESSIONS {
        return Err(QuarryError::Analysis(format!(
            "[GROUPING_SIZE_LIMIT_EXCEEDED] grouping sets over {} expressions; at most {MAX_GROUPING_EXPRESSIONS} are supported",
            flat.len()
        )));
    }
    if let Some(m) = mods.first() {
        // WITH ROLLUP|CUBE: over every grouping expression, each a part of its own
        let singles: Vec<Vec<usize>> = (0..flat.len()).map(|i| vec![i]).collect();
        let sets = match m {
            ast::GroupByWithModifier::Rollup => rollup_sets(&singles),
            ast::GroupByWithModifier::Cube => cube_sets(&singles)?,
            // Hive's form, taken above
            ast::GroupByWithModifier::GroupingSets(_) => match hive_sets {
                Some(sets) => sets,
                None => return Err(QuarryError::NotSupported(format!("GROUP BY ... {m}"))),
            },
            other => return Err(QuarryError::NotSupported(format!("GROUP BY ... {other}"))),
        };
        return Ok((flat, Some(sets)));
    }
    // the cartesian product of the items' sets
    let mut sets: Vec<Vec<usize>> = vec![vec![]];
    for item in items {
        let mut next = vec![];
        for s in &sets {
            for t in &item {
                let mut c = s.clone();
                c.extend(t.iter().copied());
                next.push(c);
            }
        }
        sets = next;
    }
    Ok((flat, Some(sets)))
}

/// Spark's `range(end)`, `range(start, end[, step[, numPartitions]])`: one bigint
/// column `id` from start (inclusive) to end (exclusive).
fn range_plan(args: &[Expr], fname: &str) -> Result<LogicalPlan> {
    // generate_series (PostgreSQL's, DuckDB's) includes its end; its column is named after it
    let inclusive = fname == "generate_series";
    let num = |e: &Expr| -> Result<i64> {
        match &crate::optimizer::constant_folding::fold(e.clone()) {
            Expr::Literal(v) if !v.is_null() => {
                let c = v.cast_to(&arrow::datatypes::DataType::Int64)?;
                c.0.as_any()
                    .downcast_ref::<arrow::array::Int64Array>()
                    .filter(|a| !a.is_empty() && arrow::array::Array::is_valid(*a, 0))
                    .map(|a| a.value(0))
                    .ok_or_else(|| {
                        QuarryError::Analysis(format!(
                            "{fname}() expects integer arguments, got {e}"
                        ))
                    })
            }
            _ => Err(QuarryError::Analysis(format!(
                "{fname}() expects constant integer arguments, got {e}"
            ))),
        }
    };
    let (start, end, step) = match args.len() {
        1 => (0, num(&args[0])?, 1),
        2 => (num(&args[0])?, num(&args[1])?, 1),
        3 | 4 => (num(&args[0])?, num(&args[1])?, num(&args[2])?),
        n => {
            return Err(QuarryError::Analysis(format!(
                "[WRONG_NUM_ARGS] `{fname}` requires 1 to 4 parameters but the actual number is {n}"
            )))
        }
    };
    if step == 0 {
        return Err(QuarryError::Analysis(format!(
            "[FAILED_FUNCTION_CALL] {fname}(): the step must not be 0"
        )));
    }
    let count = if (step > 0 && end > start) || (step < 0 && end < start) {
        let n = (end as i128 - start as i128 + step as i128 - step.signum() as i128) / step as i128;
        // the end itself when it is on the grid
        let on_grid = (end as i128 - start as i128) % step as i128 == 0;
        (n + i128::from(inclusive && on_grid)) as u64
    } else if inclusive && end == start {
        1
    } else {
        0
    };
    if count > 1 << 32 {
        return Err(QuarryError::NotSupported(format!(
            "range() of {count} rows"
        )));
    }
    Ok(LogicalPlan::Range {
        column: Column::new(
            if inclusive { "generate_series" } else { "id" },
            arrow::datatypes::DataType::Int64,
            false,
        ),
        start,
        step,
        count: count as usize,
    })
}

/// Replace identifiers that name a select-list alias (and no input column) by the
/// aliased expression: HAVING may use aliases (Spark resolves it over the aggregate's
/// output), QUALIFY (as in DuckDB and Databricks), and a later select item an earlier
/// one's (Spark 3.4's lateral column alias). Names inside a subquery are the
/// subquery's own and stay, as do a lambda's parameters.
fn substitute_aliases(e: &ast::Expr, items: &[(String, ast::Expr)], scope: &Scope) -> ast::Expr {
    use sqlparser::ast::{VisitMut, VisitorMut};
    struct Sub<'a> {
        items: &'a [(String, ast::Expr)],
        scope: &'a Scope,
        /// Subqueries entered.
        depth: usize,
        /// Parameters of the lambdas entered.
        lambda_params: Vec<String>,
    }
    impl Sub<'_> {
        /// The expression of the select item aliased `name`.
        fn alias(&self, name: &str) -> Option<&ast::Expr> {
            self.items
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, x)| x)
        }
    }
    impl VisitorMut for Sub<'_> {
        fn pre_visit_expr(&mut self, e: &mut ast::Expr) -> std::ops::ControlFlow<()> {
            if let ast::Expr::Lambda(l) = e {
                self.lambda_params
                    .extend(l.params.iter().map(|p| p.name.value.to_ascii_lowercase()));
            }
            std::ops::ControlFlow::Continue(())
        }
        type Break = ();
        fn pre_visit_query(&mut self, _q: &mut ast::Query) -> std::ops::ControlFlow<()> {
            self.depth += 1;
            std::ops::ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _q: &mut ast::Query) -> std::ops::ControlFlow<()> {
            self.depth -= 1;
            std::ops::ControlFlow::Continue(())
        }
        fn post_visit_expr(&mut self, e: &mut ast::Expr) -> std::ops::ControlFlow<()> {
            if let ast::Expr::Lambda(l) = e {
                let n = self.lambda_params.len().saturating_sub(l.params.len());
                self.lambda_params.truncate(n);
            }
            if self.depth > 0 {
                return std::ops::ControlFlow::Continue(());
            }
            if let ast::Expr::Identifier(id) = e {
                let lower = id.value.to_ascii_lowercase();
                if !self.lambda_params.contains(&lower)
                    && matches!(self.scope.resolve(std::slice::from_ref(&lower)), Ok(None))
                {
                    if let Some(x) = self.alias(&id.value) {
                        *e = ast::Expr::Nested(Box::new(x.clone()));
                    }
                }
            }
            // `alias.f.g`: a field of an aliased struct, where `alias` is no column and no
            // table of the input
            if let ast::Expr::CompoundIdentifier(ids) = e {
                let lower: Vec<String> = ids.iter().map(|i| i.value.to_ascii_lowercase()).collect();
                let unresolved = |n: usize| matches!(self.scope.resolve(&lower[..n]), Ok(None));
                if lower.len() >= 2
                    && !self.lambda_params.contains(&lower[0])
                    && unresolved(1)
                    && unresolved(2)
                {
                    if let Some(x) = self.alias(&ids[0].value) {
                        *e = ast::Expr::CompoundFieldAccess {
                            root: Box::new(ast::Expr::Nested(Box::new(x.clone()))),
                            access_chain: ids[1..]
                                .iter()
                                .map(|i| ast::AccessExpr::Dot(ast::Expr::Identifier(i.clone())))
                                .collect(),
                        };
                    }
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut out = e.clone();
    let _ = VisitMut::visit(
        &mut out,
        &mut Sub {
            items,
            scope,
            depth: 0,
            lambda_params: vec![],
        },
    );
    out
}

/// `(ascending, nulls first)` of an ORDER BY item: ASC by default, NULLs first when
/// ascending (Spark's default null ordering).
pub(super) fn sort_options(ob: &ast::OrderByExpr) -> (bool, bool) {
    let asc = !matches!(ob.options.sort, Some(ast::OrderBySort::Desc));
    let nulls_first = ob.options.nulls_first.unwrap_or(asc);
    (asc, nulls_first)
}

/// Split join conjuncts into equi-join keys (left-only = right-only) and a residual.
pub(super) fn split_join_keys(
    conjuncts: Vec<Expr>,
    left: &std::collections::HashSet<usize>,
    right: &std::collections::HashSet<usize>,
) -> Result<(Vec<(Expr, Expr)>, Vec<Expr>)> {
    let mut on = vec![];
    let mut residual = vec![];
    for c in conjuncts {
        if let Expr::Binary {
            op: BinOp::Eq,
            left: l,
            right: r,
            ..
        } = &c
        {
            let (lc, rc) = (l.column_ids(), r.column_ids());
            let side = |ids: &[usize], s: &std::collections::HashSet<usize>| {
                !ids.is_empty() && ids.iter().all(|i| s.contains(i))
            };
            if side(&lc, left) && side(&rc, right) && !l.has_subquery() && !r.has_subquery() {
                on.push(((**l).clone(), (**r).clone()));
                continue;
            }
            if side(&lc, right) && side(&rc, left) && !l.has_subquery() && !r.has_subquery() {
                on.push(((**r).clone(), (**l).clone()));
                continue;
            }
        }
        residual.push(c);
    }
    Ok((on, residual))
}

/// The column names of `AS t(a, b)`, lower-cased; empty without a column list.
pub(super) fn alias_columns(alias: &Option<ast::TableAlias>) -> Vec<String> {
    alias
        .as_ref()
        .map(|a| a.columns.iter().map(|c| c.name.value.clone()).collect())
        .unwrap_or_default()
}

/// Whether `e` is a call of a generator function (explode, posexplode, inline, ...).
fn is_generator(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Function(f) if GeneratorKind::lookup(&function_name(f)).is_some() || matches!(function_name(f).as_str(), "json_tuple" | "stack"))
}

/// Whether `all` names a column of the input (`scope`) or one of `names` (select
/// aliases, output columns): then GROUP BY all / ORDER BY all mean that column, not
/// GROUP BY ALL / ORDER BY ALL (Spark's resolution order).
fn all_is_a_name<'a>(scope: &Scope, mut names: impl Iterator<Item = &'a str>) -> bool {
    names.any(|n| n.eq_ignore_ascii_case("all"))
        || matches!(scope.resolve(&["all".to_string()]), Ok(Some(_)))
}

/// Whether an ORDER BY list is `ORDER BY ALL [ASC|DESC] [NULLS ...]`: one unquoted `all`
/// (a column named `all` wins; the callers check).
fn is_order_by_all(order_by: &[ast::OrderByExpr]) -> bool {
    matches!(order_by, [ob] if matches!(&ob.expr, ast::Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("all")))
}

/// The ORDER BY keys over the projection's output: a key computed as a hidden column
/// reads that column, the others stay as they are.
fn projected_keys(sort_keys: &[(SortKey, Option<Column>)]) -> Vec<SortKey> {
    sort_keys
        .iter()
        .map(|(k, h)| match h {
            Some(c) => SortKey {
                expr: Expr::Column(c.clone()),
                asc: k.asc,
                nulls_first: k.nulls_first,
            },
            None => k.clone(),
        })
        .collect()
}

/// Whether `f` is DuckDB's star expression `COLUMNS(...)`.
fn is_columns_call(f: &ast::Function) -> bool {
    f.name.0.len() == 1 && function_name(f) == "columns"
}

/// DuckDB's `COLUMNS(...)` in a select item or DISTINCT ON key: the expression once per
/// column it selects, with the call replaced by that column. The argument is a regular
/// expression matched (anywhere in the name) against the unqualified names of the
/// columns `*` lists, `*` (with EXCLUDE), or a list of names `['a', 'b']`. `None` when
/// `e` has no COLUMNS call. Errors: a bad regex, an unknown name, no column selected,
/// two different COLUMNS(...) in one expression.
pub(super) fn expand_columns(
    e: &ast::Expr,
    scope: &Scope,
) -> Result<Option<Vec<(ast::Expr, String)>>> {
    use std::ops::ControlFlow;
    let mut call: Option<ast::Function> = None;
    let mut clash = false;
    let _ = ast::visit_expressions(e, |x| {
        if let ast::Expr::Function(f) = x {
            if is_columns_call(f) {
                match &call {
                    Some(c) if c != f => clash = true,
                    _ => call = Some(f.clone()),
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    let Some(call) = call else { return Ok(None) };
    if clash {
        return Err(QuarryError::NotSupported(
            "two different COLUMNS(...) in one expression".into(),
        ));
    }
    let visible: Vec<&ScopeCol> = scope
        .cols
        .iter()
        .filter(|c| !c.name_only && !c.hidden)
        .collect();
    let args = match &call.args {
        ast::FunctionArguments::List(l) if l.args.len() == 1 => &l.args[0],
        _ => {
            return Err(QuarryError::Analysis(
                "COLUMNS(...) takes one argument: a regular expression, *, or a list of names"
                    .into(),
            ))
        }
    };
    // each selected column, with its replacement under `* REPLACE (expr AS name)`
    let picked: Vec<(&ScopeCol, Option<ast::Expr>)> = match args {
        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => {
            visible.into_iter().map(|c| (c, None)).collect()
        }
        // EXCLUDE / EXCEPT / REPLACE as for `SELECT * ...`
        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::WildcardWithOptions(opts)) => {
            let cols = visible.iter().map(|c| c.col.clone()).collect();
            let mut out = vec![];
            for (col, r) in wildcard_items(opts, cols, scope)? {
                if let Some(c) = visible.iter().find(|c| c.col.id == col.id) {
                    out.push((*c, r));
                }
            }
            out
        }
        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => match x {
            ast::Expr::Value(v) => {
                let ast::Value::SingleQuotedString(re) = &v.value else {
                    return Err(QuarryError::Analysis(format!(
                        "COLUMNS({x}): expected a regular expression string"
                    )));
                };
                let re = regex::Regex::new(re).map_err(|e| {
                    QuarryError::Analysis(format!(
                        "COLUMNS('{re}'): invalid regular expression: {e}"
                    ))
                })?;
                visible
                    .into_iter()
                    .filter(|c| re.is_match(&c.col.name))
                    .map(|c| (c, None))
                    .collect()
            }
            ast::Expr::Array(arr) => {
                let mut out = vec![];
                for n in &arr.elem {
                    let name = match n {
                        ast::Expr::Value(v) => match &v.value {
                            ast::Value::SingleQuotedString(s) => s.clone(),
                            _ => String::new(),
                        },
                        _ => String::new(),
                    };
                    let c = visible
                        .iter()
                        .find(|c| c.col.name.eq_ignore_ascii_case(&name))
                        .ok_or_else(|| {
                            QuarryError::Analysis(format!(
                                "[UNRESOLVED_COLUMN] COLUMNS({x}): no column `{name}`"
                            ))
                        })?;
                    out.push((*c, None));
                }
                out
            }
            _ => {
                return Err(QuarryError::NotSupported(format!(
                    "COLUMNS({x}) (a regular expression, *, or a list of names)"
                )))
            }
        },
        _ => {
            return Err(QuarryError::NotSupported(format!(
                "COLUMNS({args}) (a regular expression, *, or a list of names)"
            )))
        }
    };
    if picked.is_empty() {
        return Err(QuarryError::Analysis(format!("{call} selects no column")));
    }
    let mut out = vec![];
    for (c, replacement) in picked {
        let unique = scope
            .cols
            .iter()
            .filter(|d| !d.name_only && d.col.name.eq_ignore_ascii_case(&c.col.name))
            .count()
            == 1;
        // quoted only where the name needs it (the quotes show in the item's name)
        let ident = |n: &str| {
            let plain = n
                .chars()
                .next()
                .is_some_and(|ch| ch.is_ascii_alphabetic() || ch == '_')
                && n.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
            if plain {
                ast::Ident::new(n)
            } else {
                ast::Ident::with_quote('`', n)
            }
        };
        let column = match (&c.qualifier, unique) {
            (Some(q), false) => ast::Expr::CompoundIdentifier(vec![ident(q), ident(&c.col.name)]),
            _ => ast::Expr::Identifier(ident(&c.col.name)),
        };
        let column = replacement
            .map(|r| ast::Expr::Nested(Box::new(r)))
            .unwrap_or(column);
        let mut x = e.clone();
        let _ = ast::visit_expressions_mut(&mut x, |y| {
            if matches!(y, ast::Expr::Function(f) if is_columns_call(f)) {
                *y = column.clone();
            }
            ControlFlow::<()>::Continue(())
        });
        // the bare COLUMNS(...) item is named by its column (REPLACE keeps the name)
        let bare = matches!(e, ast::Expr::Function(f) if is_columns_call(f));
        let name = if bare {
            c.col.name.clone()
        } else {
            expr_name(&x)
        };
        out.push((x, name));
    }
    Ok(Some(out))
}

/// The calls of function `name` in this SELECT's own expressions (not its subqueries').
fn calls_named(s: &ast::Select, order_by: &[ast::OrderByExpr], name: &str) -> Vec<ast::Function> {
    use sqlparser::ast::{Visit, Visitor};
    use std::ops::ControlFlow;
    struct Finder<'n> {
        depth: usize,
        name: &'n str,
        found: Vec<ast::Function>,
    }
    impl Visitor for Finder<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, _: &ast::Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _: &ast::Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &ast::Expr) -> ControlFlow<()> {
            if let ast::Expr::Function(f) = e {
                if self.depth == 0 && f.name.to_string().eq_ignore_ascii_case(self.name) {
                    self.found.push(f.clone());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut v = Finder {
        depth: 0,
        name,
        found: vec![],
    };
    let _ = s.projection.visit(&mut v);
    let _ = s.selection.visit(&mut v);
    let _ = s.group_by.visit(&mut v);
    let _ = s.having.visit(&mut v);
    let _ = s.qualify.visit(&mut v);
    for o in order_by {
        let _ = o.visit(&mut v);
    }
    v.found
}

/// Make the one table scan under a FROM's plan output its hidden file-name column
/// ([`crate::plan::FILE_NAME_COLUMN`]) and pass it up through the projections and
/// filters above it (a view or subquery over one table); returns that column, or None
/// when the rows come from no file (VALUES, `range`, no FROM), where `input_file_name()`
/// is '' as Spark's. Errors: a join, aggregate, union or other operator between the
/// SELECT and the files (which file a row comes from is then not one file; Spark's
/// answer depends on its stages).
fn expose_file_name(plan: &mut LogicalPlan) -> Result<Option<Column>> {
    match plan {
        LogicalPlan::Scan {
            source,
            columns,
            projection,
            ..
        } => {
            let c = Column::new(crate::plan::FILE_NAME_COLUMN, DataType::Utf8, true);
            columns.push(c.clone());
            projection.push(source.file_name_index());
            Ok(Some(c))
        }
        LogicalPlan::Filter { input, .. } => expose_file_name(input),
        LogicalPlan::Project { input, exprs } => {
            let c = expose_file_name(input)?;
            if let Some(c) = &c {
                exprs.push((Expr::Column(c.clone()), c.clone()));
            }
            Ok(c)
        }
        LogicalPlan::Values { .. } | LogicalPlan::Range { .. } => Ok(None),
        other => {
            let what = match other {
                LogicalPlan::Join { .. } => "join",
                LogicalPlan::Aggregate { .. } => "grouped query",
                LogicalPlan::Union { .. } => "set operation",
                LogicalPlan::Window { .. } => "window query",
                LogicalPlan::Sort { .. } | LogicalPlan::Limit { .. } => "sorted or limited query",
                _ => "query that is not one table",
            };
            Err(QuarryError::NotSupported(format!(
                "input_file_name() over a {what}: call it in a subquery that reads one table (SELECT *, input_file_name() AS file FROM t)"
            )))
        }
    }
}

/// Whether `e` holds a subquery (scalar, EXISTS or IN).
pub(super) fn has_subquery(e: &ast::Expr) -> bool {
    ast::visit_expressions(e, |x| match x {
        ast::Expr::Subquery(_) | ast::Expr::Exists { .. } | ast::Expr::InSubquery { .. } => {
            std::ops::ControlFlow::Break(())
        }
        _ => std::ops::ControlFlow::Continue(()),
    })
    .is_break()
}

/// `w` with each name that is no column of `scope` but a SELECT-list alias of
/// `projection` replaced by the aliased expression (in parentheses); `None` when none
/// is, or when `w` holds a subquery (whose names belong to its own FROM).
fn where_aliases(
    w: &ast::Expr,
    projection: &[ast::SelectItem],
    scope: &Scope,
) -> Option<ast::Expr> {
    use std::ops::ControlFlow;
    if has_subquery(w) {
        return None;
    }
    let mut w = w.clone();
    let mut replaced = false;
    let _ = ast::visit_expressions_mut(&mut w, |e| {
        if let ast::Expr::Identifier(i) = e {
            let name = i.value.to_ascii_lowercase();
            if !matches!(scope.resolve(std::slice::from_ref(&name)), Ok(Some(_))) {
                let aliased = projection.iter().find_map(|item| match item {
                    ast::SelectItem::ExprWithAlias { expr, alias }
                        if alias.value.eq_ignore_ascii_case(&name) =>
                    {
                        Some(expr.clone())
                    }
                    _ => None,
                });
                if let Some(x) = aliased {
                    *e = ast::Expr::Nested(Box::new(x));
                    replaced = true;
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    replaced.then_some(w)
}

/// The names of a SELECT's FROM items, lower-cased: each table's alias, else its last
/// name part; each aliased subquery or function; those of its joins too.
fn from_names(sel: &ast::Select) -> Vec<String> {
    let name = |f: &ast::TableFactor| -> Option<String> {
        match f {
            ast::TableFactor::Table { name, alias, .. } => alias
                .as_ref()
                .map(|a| a.name.value.clone())
                .or_else(|| name.0.last().map(crate::parser::name_part_text)),
            ast::TableFactor::Derived { alias, .. }
            | ast::TableFactor::TableFunction { alias, .. }
            | ast::TableFactor::Function { alias, .. }
            | ast::TableFactor::UNNEST { alias, .. } => {
                alias.as_ref().map(|a| a.name.value.clone())
            }
            _ => None,
        }
        .map(|n| n.to_ascii_lowercase())
    };
    sel.from
        .iter()
        .flat_map(|twj| std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation)))
        .filter_map(name)
        .collect()
}

/// A select item, wildcards expanded; the AST is kept for naming and aggregate detection.
enum Item {
    /// An expression and its output name.
    Ast(ast::Expr, String),
    /// A column a `*` expanded to.
    Col(Column),
    /// A generator (explode, ...) with its column aliases.
    Gen(ast::Expr, Vec<String>),
}

/// The expression of the select item named `name` (case-insensitive), for a GROUP BY
/// that names a select alias.
fn item_named(items: &[Item], name: &str) -> Option<ast::Expr> {
    items.iter().find_map(|i| match i {
        Item::Ast(e, n) if n.eq_ignore_ascii_case(name) => Some(e.clone()),
        _ => None,
    })
}

/// Spark 3.4's lateral column alias (also DuckDB's): a select item may use the alias of
/// an item before it, where no input column has that name (`SELECT a + 1 AS b, b * 2`);
/// the name is replaced by the aliased expression. Only explicit aliases count. Returns
/// every explicit alias with its (substituted) expression.
fn lateral_column_aliases(
    items: &mut [Item],
    projection: &[ast::SelectItem],
    scope: &Scope,
) -> Vec<(String, ast::Expr)> {
    let aliased: Vec<&str> = projection
        .iter()
        .filter_map(|p| match p {
            ast::SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.as_str()),
            _ => None,
        })
        .collect();
    if aliased.is_empty() {
        return vec![];
    }
    let mut earlier: Vec<(String, ast::Expr)> = vec![];
    for item in items.iter_mut() {
        match item {
            Item::Ast(e, name) => {
                if !earlier.is_empty() {
                    *e = substitute_aliases(e, &earlier, scope);
                }
                if aliased.iter().any(|a| a.eq_ignore_ascii_case(name)) {
                    earlier.push((name.clone(), e.clone()));
                }
            }
            Item::Gen(e, _) if !earlier.is_empty() => {
                *e = substitute_aliases(e, &earlier, scope);
            }
            Item::Gen(..) | Item::Col(_) => {}
        }
    }
    earlier
}
