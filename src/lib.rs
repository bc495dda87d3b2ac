//! Quarry: an interactive SQL engine for data lakes (Hive-partitioned parquet, CSV and
//! JSON), speaking the Spark SQL / Athena dialect.
//!
//! The life of a query: [`parser`] (SQL text -> statement) -> [`binder`] (names and
//! types -> [`plan::LogicalPlan`]) -> [`optimizer`] (rules) -> [`physical`] (operators
//! over arrow RecordBatches, all cores busy) -> results. [`Session`] ties them together
//! and is what the CLI and the tests use.

pub mod binder;
pub mod catalog;
pub mod cli;
pub mod datasource;
pub mod error;
pub mod format;
pub mod functions;
pub mod optimizer;
pub mod parser;
pub mod physical;
pub mod plan;
pub mod session;
pub mod tpch;
pub mod types;

pub use error::{QuarryError, Result};
pub use session::{Session, StatementResult};
