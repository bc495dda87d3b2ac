//! `PIVOT`, as Spark resolves it (Analyzer's ResolvePivot): the input's columns that
//! are neither pivot columns nor used by an aggregate are the grouping columns; each
//! aggregate is computed per (grouping columns, pivot value), then spread into one
//! column per (value, aggregate), value-major. A (value, aggregate) pair with no rows
//! is NULL (for `count` too, as Spark's PivotFirst).
//!
//! The rewrite is two aggregations, written as SQL and bound like any derived table:
//!
//! ```sql
//! SELECT g.., max(CASE WHEN p <=> v1 THEN a1 END) AS `v1_a1`, ...
//! FROM (SELECT g.., p.., agg1(..) AS a1, ... FROM input GROUP BY g.., p..)
//! GROUP BY g..
//! ```
//!
//! Column names follow Spark: the value (or its alias) with one aggregate,
//! `value_aggregate` (the aggregate's alias or its SQL text) with several.
//!
//! `UNPIVOT` is a UNION ALL with one branch per unpivoted column (or column tuple):
//! the other columns, the column's name (or alias) and its value(s); rows whose values
//! are all NULL are dropped unless `INCLUDE NULLS`.

use sqlparser::ast;
use sqlparser::ast::Visit;

use super::expr::{contains_aggregate, function_name};
use super::scope::Scope;
use super::Binder;
use crate::error::{QuarryError, Result};
use crate::functions::aggregate::AggFunc;
use crate::functions::scalar::ScalarFunc;
use crate::parser::quote_identifier;
use crate::plan::LogicalPlan;

/// The identifier a pivot column or aggregate argument names (last part).
fn ident_name(e: &ast::Expr) -> Option<String> {
    match e {
        ast::Expr::Identifier(i) => Some(i.value.clone()),
        ast::Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.clone()),
        _ => None,
    }
}

/// Column names an expression refers to.
fn referenced(e: &ast::Expr) -> Vec<String> {
    struct V(Vec<String>);
    impl ast::Visitor for V {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &ast::Expr) -> std::ops::ControlFlow<()> {
            if let Some(n) = ident_name(e) {
                self.0.push(n.to_ascii_lowercase());
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut v = V(vec![]);
    let _ = e.visit(&mut v);
    v.0
}

/// A pivot value must be a constant: a literal, a signed literal or a typed literal.
fn is_constant(e: &ast::Expr) -> bool {
    match e {
        ast::Expr::Value(_) | ast::Expr::TypedString(_) => true,
        ast::Expr::UnaryOp { expr, .. }
        | ast::Expr::Nested(expr)
        | ast::Expr::Cast { expr, .. } => is_constant(expr),
        ast::Expr::Tuple(items) => items.iter().all(is_constant),
        // a foldable complex value (Spark folds `array(1, 1)`, `named_struct(...)`;
        // DuckDB's `[1]`): no column, subquery or aggregate, nothing random
        ast::Expr::Function(_) | ast::Expr::Array(_) | ast::Expr::Struct { .. } => {
            let names_something = ast::visit_expressions(e, |x| match x {
                ast::Expr::Identifier(_)
                | ast::Expr::CompoundIdentifier(_)
                | ast::Expr::Subquery(_)
                | ast::Expr::Exists { .. }
                | ast::Expr::InSubquery { .. } => std::ops::ControlFlow::Break(()),
                ast::Expr::Function(f) => {
                    let name = function_name(f);
                    // nondeterministic as the function registry says; shuffle is
                    // rewritten over rand() before binding, so it has no entry there
                    let random = name == "shuffle"
                        || ScalarFunc::lookup(&name).is_some_and(|s| !s.is_deterministic());
                    if AggFunc::is_aggregate_name(&name) || f.over.is_some() || random {
                        std::ops::ControlFlow::Break(())
                    } else {
                        std::ops::ControlFlow::Continue(())
                    }
                }
                _ => std::ops::ControlFlow::Continue(()),
            });
            names_something.is_continue()
        }
        _ => false,
    }
}

/// Spark's name for a pivot value: a string's text, a number as written, a tuple as
/// a struct cast to string (`{a, b}`).
fn value_name(e: &ast::Expr) -> String {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => s.clone(),
            ast::Value::Null => "null".into(),
            other => other.to_string(),
        },
        ast::Expr::TypedString(t) => match &t.value.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        ast::Expr::Tuple(items) => format!(
            "{{{}}}",
            items.iter().map(value_name).collect::<Vec<_>>().join(", ")
        ),
        ast::Expr::Nested(x) => value_name(x),
        other => other.to_string(),
    }
}

/// `e` for the parser's `__quarry_pivot_expr(e)` (an aggregate expression in PIVOT that
/// is not one call); any other expression as it is.
fn unwrap_pivot_marker(e: &ast::Expr) -> ast::Expr {
    if let ast::Expr::Function(f) = e {
        if f.name.to_string() == crate::parser::spark_tokens::PIVOT_EXPR_MARKER {
            if let ast::FunctionArguments::List(l) = &f.args {
                if let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(inner))] =
                    l.args.as_slice()
                {
                    return inner.clone();
                }
            }
        }
    }
    e.clone()
}

impl Binder<'_> {
    /// Bind `table PIVOT (aggs FOR cols IN (values)) [alias]` (see the module docs).
    /// Errors: an unknown pivot column, a non-aggregate expression, a non-constant
    /// value, a value whose arity differs from the pivot columns'.
    pub(super) fn bind_pivot(
        &mut self,
        table: &ast::TableFactor,
        aggregate_functions: &[ast::ExprWithAlias],
        value_column: &[ast::Expr],
        value_source: &ast::PivotValueSource,
        default_on_null: &Option<ast::Expr>,
        alias: &Option<ast::TableAlias>,
        outer: &[Scope],
    ) -> Result<(LogicalPlan, Scope)> {
        if default_on_null.is_some() {
            return Err(QuarryError::NotSupported(
                "PIVOT ... DEFAULT ON NULL".into(),
            ));
        }
        let ast::PivotValueSource::List(values) = value_source else {
            return Err(QuarryError::NotSupported(
                "PIVOT over ANY or a subquery (list the values)".into(),
            ));
        };
        // an expression over aggregates came wrapped in the parser's marker call
        let aggregate_functions: Vec<ast::ExprWithAlias> = aggregate_functions
            .iter()
            .map(|a| ast::ExprWithAlias {
                expr: unwrap_pivot_marker(&a.expr),
                alias: a.alias.clone(),
            })
            .collect();
        let aggregate_functions = aggregate_functions.as_slice();
        let (scope, input) = self.input_columns(table, outer)?;
        let has = |n: &str| input.iter().any(|c| c.eq_ignore_ascii_case(n));
        // FOR p or FOR (p1, p2)
        let pivot_exprs: Vec<&ast::Expr> = match value_column {
            [ast::Expr::Tuple(items)] => items.iter().collect(),
            cols => cols.iter().collect(),
        };
        let mut pivots = vec![];
        for p in &pivot_exprs {
            let name = ident_name(p).ok_or_else(|| {
                QuarryError::NotSupported(format!("PIVOT on the expression {p} (name a column)"))
            })?;
            if !has(&name) {
                return Err(scope.unresolved(&[name]));
            }
            pivots.push(name);
        }
        // aggregates, and the columns they use
        let mut used: Vec<String> = vec![];
        for a in aggregate_functions {
            if !contains_aggregate(&a.expr) {
                return Err(QuarryError::Analysis(format!(
                    "[NON_AGGREGATE_EXPRESSION_IN_PIVOT] Non-aggregating expression `{}` found in PIVOT; an aggregate function is required",
                    a.expr
                )));
            }
            used.extend(referenced(&a.expr));
        }
        let groups: Vec<&String> = input
            .iter()
            .filter(|c| {
                let l = c.to_ascii_lowercase();
                !pivots.iter().any(|p| p.eq_ignore_ascii_case(&l)) && !used.contains(&l)
            })
            .collect();
        // the values, as tuples as wide as the pivot columns
        let mut tuples: Vec<(Vec<&ast::Expr>, String)> = vec![];
        for v in values {
            let parts: Vec<&ast::Expr> = match &v.expr {
                // one pivot column and a tuple: a struct value (Spark's `FOR s IN ((1, 'a'))`)
                e @ ast::Expr::Tuple(items) if pivots.len() == 1 && items.len() > 1 => vec![e],
                ast::Expr::Tuple(items) => items.iter().collect(),
                ast::Expr::Nested(x) if pivots.len() == 1 => vec![x.as_ref()],
                e => vec![e],
            };
            if parts.len() != pivots.len() {
                return Err(QuarryError::Analysis(format!(
                    "[PIVOT_VALUE_DATA_TYPE_MISMATCH] Invalid pivot value '{}': it has {} part(s), the pivot columns {}",
                    v.expr,
                    parts.len(),
                    pivots.len()
                )));
            }
            if let Some(bad) = parts.iter().find(|p| !is_constant(p)) {
                return Err(QuarryError::Analysis(format!(
                    "[NON_LITERAL_PIVOT_VALUES] Literal expressions required for pivot values, found `{bad}`"
                )));
            }
            let name = match &v.alias {
                Some(a) => a.value.clone(),
                None => value_name(&v.expr),
            };
            tuples.push((parts, name));
        }
        let group_list: Vec<String> = groups.iter().map(|g| quote_identifier(g)).collect();
        let mut inner_cols = group_list.clone();
        inner_cols.extend(pivots.iter().map(|p| quote_identifier(p)));
        for (j, a) in aggregate_functions.iter().enumerate() {
            inner_cols.push(format!("{} AS `__pivot_agg{j}`", a.expr));
        }
        let mut inner_groups = group_list.clone();
        inner_groups.extend(pivots.iter().map(|p| quote_identifier(p)));
        let single = aggregate_functions.len() == 1;
        let mut outer_cols = group_list.clone();
        for (parts, vname) in &tuples {
            let cond: Vec<String> = pivots
                .iter()
                .zip(parts)
                .map(|(p, v)| match v {
                    // a tuple value is a struct
                    ast::Expr::Tuple(items) => format!(
                        "{} <=> struct({})",
                        quote_identifier(p),
                        items
                            .iter()
                            .map(|i| i.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    v => format!("{} <=> {v}", quote_identifier(p)),
                })
                .collect();
            for (j, a) in aggregate_functions.iter().enumerate() {
                let name = if single {
                    vname.clone()
                } else {
                    let suffix = match &a.alias {
                        Some(al) => al.value.clone(),
                        None => a.expr.to_string(),
                    };
                    format!("{vname}_{suffix}")
                };
                outer_cols.push(format!(
                    "max(CASE WHEN {} THEN `__pivot_agg{j}` END) AS {}",
                    cond.join(" AND "),
                    quote_identifier(&name)
                ));
            }
        }
        let group_by = |cols: &[String]| {
            if cols.is_empty() {
                String::new()
            } else {
                format!(" GROUP BY {}", cols.join(", "))
            }
        };
        let sql = format!(
            "SELECT {} FROM (SELECT {} FROM {table}{}) AS `__pivot`{}",
            outer_cols.join(", "),
            inner_cols.join(", "),
            group_by(&inner_groups),
            group_by(&group_list)
        );
        self.bind_rewritten(&sql, alias, outer)
    }

    /// Bind `table UNPIVOT [INCLUDE | EXCLUDE NULLS] (v FOR name IN (c1 [AS a1], ...))`
    /// and its multi-value form `((v1, v2) FOR name IN ((c1, c2) [AS a], ...))`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn bind_unpivot(
        &mut self,
        table: &ast::TableFactor,
        value: &ast::Expr,
        name: &ast::Ident,
        columns: &[ast::ExprWithAlias],
        null_inclusion: &Option<ast::NullInclusion>,
        alias: &Option<ast::TableAlias>,
        outer: &[Scope],
    ) -> Result<(LogicalPlan, Scope)> {
        let (scope, input) = self.input_columns(table, outer)?;
        let value_names: Vec<String> = match value {
            ast::Expr::Tuple(items) => items
                .iter()
                .map(|i| {
                    ident_name(i).ok_or_else(|| {
                        QuarryError::Analysis(format!("UNPIVOT value column `{i}` must be a name"))
                    })
                })
                .collect::<Result<_>>()?,
            v => vec![ident_name(v).ok_or_else(|| {
                QuarryError::Analysis(format!("UNPIVOT value column `{v}` must be a name"))
            })?],
        };
        let mut branches: Vec<(Vec<String>, String)> = vec![];
        let mut unpivoted: Vec<String> = vec![];
        for c in columns {
            let parts: Vec<&ast::Expr> = match &c.expr {
                ast::Expr::Tuple(items) => items.iter().collect(),
                e => vec![e],
            };
            if parts.len() != value_names.len() {
                return Err(QuarryError::Analysis(format!(
                    "[UNPIVOT_VALUE_SIZE_MISMATCH] All unpivot value columns must have the same size as there are value column names ({}): `{}`",
                    value_names.len(),
                    c.expr
                )));
            }
            let mut cols = vec![];
            for p in parts {
                let n = ident_name(p).ok_or_else(|| {
                    QuarryError::NotSupported(format!(
                        "UNPIVOT of the expression {p} (name a column)"
                    ))
                })?;
                if !input.iter().any(|i| i.eq_ignore_ascii_case(&n)) {
                    return Err(scope.unresolved(&[n]));
                }
                unpivoted.push(n.to_ascii_lowercase());
                cols.push(n);
            }
            let label = match &c.alias {
                Some(a) => a.value.clone(),
                None => cols.join("_"),
            };
            branches.push((cols, label));
        }
        let others: Vec<String> = input
            .iter()
            .filter(|c| !unpivoted.contains(&c.to_ascii_lowercase()))
            .map(|c| quote_identifier(c))
            .collect();
        let include_nulls = matches!(null_inclusion, Some(ast::NullInclusion::IncludeNulls));
        let mut selects = vec![];
        for (cols, label) in &branches {
            let mut items = others.clone();
            items.push(format!(
                "'{}' AS {}",
                label.replace('\'', "''"),
                quote_identifier(&name.value)
            ));
            for (c, v) in cols.iter().zip(&value_names) {
                items.push(format!(
                    "{} AS {}",
                    quote_identifier(c),
                    quote_identifier(v)
                ));
            }
            let filter = if include_nulls {
                String::new()
            } else {
                let all_null: Vec<String> = cols
                    .iter()
                    .map(|c| format!("{} IS NULL", quote_identifier(c)))
                    .collect();
                format!(" WHERE NOT ({})", all_null.join(" AND "))
            };
            selects.push(format!("SELECT {} FROM {table}{filter}", items.join(", ")));
        }
        let sql = selects.join(" UNION ALL ");
        self.bind_rewritten(&sql, alias, outer)
    }

    /// The scope of a PIVOT/UNPIVOT input and its visible column names, in order.
    fn input_columns(
        &mut self,
        table: &ast::TableFactor,
        outer: &[Scope],
    ) -> Result<(Scope, Vec<String>)> {
        let (_, scope) = self.bind_table_factor(table, outer)?;
        let names = scope
            .cols
            .iter()
            .filter(|c| !c.hidden)
            .map(|c| c.col.name.clone())
            .collect();
        Ok((scope, names))
    }

    /// Bind the SQL a PIVOT/UNPIVOT was rewritten to as a derived table named by `alias`.
    fn bind_rewritten(
        &mut self,
        sql: &str,
        alias: &Option<ast::TableAlias>,
        outer: &[Scope],
    ) -> Result<(LogicalPlan, Scope)> {
        let query = match crate::parser::parse_statement(sql)? {
            crate::parser::Statement::Query(q) => q,
            _ => {
                return Err(QuarryError::Internal(format!(
                    "a PIVOT/UNPIVOT rewrite is not a query: {sql}"
                )))
            }
        };
        let (plan, cols) = self.bind_query_with_outer(&query, outer)?;
        let q = alias
            .as_ref()
            .map(|a| a.name.value.to_ascii_lowercase())
            .unwrap_or_default();
        super::select::aliased(plan, cols, &super::select::alias_columns(alias), &q)
    }
}
