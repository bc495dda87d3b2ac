//! Name scopes: the columns visible to expressions at one point of a query.

use crate::catalog::did_you_mean;
use crate::error::{QuarryError, Result};
use crate::plan::Column;

/// A column visible in a scope, with the table name or alias that qualifies it.
#[derive(Clone, Debug)]
pub struct ScopeCol {
    pub qualifier: Option<String>,
    /// The database of an unaliased catalog table (`db.t.c` names its columns); an
    /// aliased relation is reachable through its alias only, as in Spark.
    pub database: Option<String>,
    pub col: Column,
    /// Reachable only through its qualifier, and not expanded by `*` (right side of USING).
    pub hidden: bool,
    /// A second name for a column listed under its own name: resolvable (qualified or
    /// not) but never expanded by `*` (`range` for range()'s `id`, as DuckDB names it).
    pub name_only: bool,
}

/// The visible columns, in order.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub cols: Vec<ScopeCol>,
}

impl Scope {
    /// A scope of `cols`, all with the same qualifier.
    pub fn new(qualifier: Option<&str>, cols: &[Column]) -> Scope {
        Scope {
            cols: cols
                .iter()
                .map(|c| ScopeCol {
                    qualifier: qualifier.map(|q| q.to_ascii_lowercase()),
                    database: None,
                    col: c.clone(),
                    hidden: false,
                    name_only: false,
                })
                .collect(),
        }
    }

    /// The scope with its columns marked as those of a table of database `db`.
    pub fn in_database(mut self, db: &str) -> Scope {
        for c in &mut self.cols {
            c.database = Some(db.to_ascii_lowercase());
        }
        self
    }

    /// Both scopes side by side (a join).
    pub fn join(&self, other: &Scope) -> Scope {
        Scope {
            cols: self.cols.iter().chain(other.cols.iter()).cloned().collect(),
        }
    }

    /// Resolve `name` or `qualifier.name` (or `db.table.name`, `spark_catalog.db.table.name`). `Ok(None)` when absent,
    /// and for a longer name (a column's struct fields, which the binder resolves by
    /// the longest prefix that names a column).
    pub fn resolve(&self, parts: &[String]) -> Result<Option<Column>> {
        let (db, qual, name) = match parts {
            [n] => (None, None, n),
            [q, n] => (None, Some(q), n),
            [d, q, n] => (Some(d), Some(q), n),
            // `spark_catalog.db.table.c`: the session catalog is the only one whose
            // tables have columns in scope
            [c, d, q, n] if c.eq_ignore_ascii_case("spark_catalog") => (Some(d), Some(q), n),
            _ => return Ok(None),
        };
        let matches: Vec<&ScopeCol> = self
            .cols
            .iter()
            .filter(|c| c.col.name.eq_ignore_ascii_case(name))
            .filter(|c| match qual {
                None => !c.hidden,
                Some(q) => c
                    .qualifier
                    .as_deref()
                    .is_some_and(|cq| cq.eq_ignore_ascii_case(q)),
            })
            .filter(|c| {
                db.is_none_or(|d| {
                    c.database
                        .as_deref()
                        .is_some_and(|cd| cd.eq_ignore_ascii_case(d))
                })
            })
            .collect();
        match matches.len() {
            0 => Ok(None),
            1 => Ok(Some(matches[0].col.clone())),
            _ => {
                // the same column reached twice (e.g. through USING) is not ambiguous
                if matches.iter().all(|m| m.col.id == matches[0].col.id) {
                    return Ok(Some(matches[0].col.clone()));
                }
                let cands: Vec<String> = matches
                    .iter()
                    .map(|m| match &m.qualifier {
                        Some(q) => format!("`{q}`.`{}`", m.col.name),
                        None => format!("`{}`", m.col.name),
                    })
                    .collect();
                Err(QuarryError::Analysis(format!(
                    "[AMBIGUOUS_REFERENCE] Reference `{}` is ambiguous, could be: [{}].",
                    parts.join("."),
                    cands.join(", ")
                )))
            }
        }
    }

    /// The error for a name that does not resolve, with a suggestion.
    pub fn unresolved(&self, parts: &[String]) -> QuarryError {
        let name = parts.join(".");
        let cands: Vec<String> = self
            .cols
            .iter()
            .filter(|c| !c.hidden)
            .map(|c| match &c.qualifier {
                Some(q) => format!("{q}.{}", c.col.name),
                None => c.col.name.clone(),
            })
            .collect();
        let hint = did_you_mean(&name, cands.iter().map(|s| s.as_str()));
        let last = parts.last().map(|s| s.as_str()).unwrap_or("");
        let hint = if hint.is_empty() {
            did_you_mean(last, self.cols.iter().map(|c| c.col.name.as_str()))
        } else {
            hint
        };
        QuarryError::Analysis(format!("[UNRESOLVED_COLUMN] A column or function parameter with name `{name}` cannot be resolved{hint}"))
    }

    /// Columns a `*` (or `q.*`) expands to. `q.*` lists each of `q`'s columns once, in
    /// `q`'s own order: a USING key is listed both first (visible) and in its table's
    /// place (hidden), and `q.*` takes the second, as Spark's `nt1.*` over a NATURAL JOIN.
    pub fn expand_star(&self, qualifier: Option<&str>) -> Result<Vec<Column>> {
        let picked: Vec<(usize, &ScopeCol)> = self
            .cols
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.name_only)
            .filter(|(_, c)| match qualifier {
                None => !c.hidden,
                Some(q) => c
                    .qualifier
                    .as_deref()
                    .is_some_and(|cq| cq.eq_ignore_ascii_case(q)),
            })
            .collect();
        let out: Vec<Column> = picked
            .iter()
            .filter(|(i, c)| {
                qualifier.is_none() || !picked.iter().any(|(j, d)| j > i && d.col.id == c.col.id)
            })
            .map(|(_, c)| c.col.clone())
            .collect();
        if out.is_empty() {
            if let Some(q) = qualifier {
                return Err(QuarryError::Analysis(format!(
                    "[CANNOT_RESOLVE_STAR_EXPAND] Cannot resolve `{q}`.* given input columns"
                )));
            }
        }
        Ok(out)
    }
}
