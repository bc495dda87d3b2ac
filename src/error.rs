//! Error types: one enum for the whole engine, built with `thiserror`.
//!
//! Every variant renders as one line (parse errors add the SQL line and a caret
//! below it). Storage and data errors name the object (a path) they concern.

use thiserror::Error;

/// The engine's error type. `Display` is what the CLI prints after `Error: `.
#[derive(Debug, Error)]
pub enum QuarryError {
    /// Malformed SQL. `line`/`column` are 1-based; `snippet` holds the offending
    /// line of SQL and a caret under the column.
    #[error("parse error at line {line}, column {column}: {message}{snippet}")]
    Parse {
        message: String,
        line: u64,
        column: u64,
        snippet: String,
    },
    /// Name resolution and type errors (unknown table/column, wrong types).
    #[error("{0}")]
    Analysis(String),
    /// A feature Quarry does not implement yet.
    #[error("not supported: {0}")]
    NotSupported(String),
    /// Catalog errors: a table, database or partition that exists or is missing.
    #[error("{0}")]
    Catalog(String),
    /// Reading or writing data failed; the message names the file.
    #[error("{0}")]
    Data(String),
    /// Errors from evaluating expressions (casts, overflow, ...).
    #[error("{0}")]
    Execution(String),
    /// The user cancelled the running statement (Ctrl-C).
    #[error("query cancelled")]
    Cancelled,
    /// An invariant of the engine does not hold: this is a bug in Quarry.
    #[error("internal error (this is a bug in Quarry): {0}")]
    Internal(String),
}

impl QuarryError {
    /// Spark's `[PATH_NOT_FOUND]` error for a file or folder (local or S3) that does not
    /// exist, naming it.
    pub fn path_not_found(path: impl std::fmt::Display) -> QuarryError {
        QuarryError::Data(format!("[PATH_NOT_FOUND] Path does not exist: {path}"))
    }

    /// Whether this is [`QuarryError::path_not_found`]'s error (a listing of a missing
    /// folder: a partition whose folder is gone reads as empty).
    pub fn is_path_not_found(&self) -> bool {
        matches!(self, QuarryError::Data(m) if m.starts_with("[PATH_NOT_FOUND]"))
    }

    /// The error for a caught panic (always a bug), with the panic's message.
    pub fn from_panic(payload: Box<dyn std::any::Any + Send>) -> QuarryError {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        QuarryError::Internal(format!("panic: {msg}"))
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = QuarryError> = std::result::Result<T, E>;

impl From<arrow::error::ArrowError> for QuarryError {
    fn from(e: arrow::error::ArrowError) -> Self {
        QuarryError::Execution(strip_arrow_prefix(&e.to_string()))
    }
}

impl From<rusqlite::Error> for QuarryError {
    fn from(e: rusqlite::Error) -> Self {
        QuarryError::Catalog(format!("metastore error: {e}"))
    }
}

fn strip_arrow_prefix(s: &str) -> String {
    for p in [
        "Cast error: ",
        "Compute error: ",
        "Invalid argument error: ",
        "Parser error: ",
    ] {
        if let Some(rest) = s.strip_prefix(p) {
            return rest.to_string();
        }
    }
    s.to_string()
}

/// Shorthand constructors, e.g. `analysis!("column {} not found", c)`.
#[macro_export]
macro_rules! analysis {
    ($($arg:tt)*) => { $crate::error::QuarryError::Analysis(format!($($arg)*)) };
}
/// `not_supported!("feature")` builds a [`QuarryError::NotSupported`].
#[macro_export]
macro_rules! not_supported {
    ($($arg:tt)*) => { $crate::error::QuarryError::NotSupported(format!($($arg)*)) };
}
/// `internal!("msg")` builds a [`QuarryError::Internal`].
#[macro_export]
macro_rules! internal {
    ($($arg:tt)*) => { $crate::error::QuarryError::Internal(format!($($arg)*)) };
}
/// `exec_err!("msg")` builds a [`QuarryError::Execution`].
#[macro_export]
macro_rules! exec_err {
    ($($arg:tt)*) => { $crate::error::QuarryError::Execution(format!($($arg)*)) };
}
