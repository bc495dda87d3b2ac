//! The function library, by Spark SQL names: scalar functions ([`scalar`]) and
//! aggregate functions with their per-group accumulators ([`aggregate`]).

pub mod aggregate;
pub mod scalar;
