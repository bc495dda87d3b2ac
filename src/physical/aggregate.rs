//! HashAggregateExec: GROUP BY with vectorized accumulators.
//!
//! Each input partition (morsel) is aggregated into a thread-local state: a hash table
//! from the group key (arrow-row encoded) to a dense group index, plus one accumulator
//! per aggregate. Local states are merged into one at the pipeline breaker, then
//! finished into a single output batch. Memory: one entry per distinct group per thread.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};
use rayon::prelude::*;

use super::eval::{evaluate, layout_of, Layout};
use super::{make_batch, ExecContext, ExecutionPlan, Metrics};
use crate::error::{QuarryError, Result};
use crate::functions::aggregate::{cast_arg, create_accumulator, Accumulator};
use crate::plan::{AggregateExpr, ColumnId, Expr};

pub struct HashAggregateExec {
    pub input: Arc<dyn ExecutionPlan>,
    group: Vec<Expr>,
    aggs: Vec<AggregateExpr>,
    ids: Vec<ColumnId>,
    schema: SchemaRef,
    layout: Layout,
    metrics: Metrics,
}

struct State {
    keys: HashMap<Vec<u8>, usize>,
    key_rows: Vec<Vec<u8>>,
    accs: Vec<Box<dyn Accumulator>>,
}

impl HashAggregateExec {
    pub fn new(input: Arc<dyn ExecutionPlan>, group: Vec<Expr>, aggs: Vec<AggregateExpr>, ids: Vec<ColumnId>, schema: SchemaRef) -> Self {
        let layout = layout_of(input.ids());
        HashAggregateExec { input, group, aggs, ids, schema, layout, metrics: Metrics::default() }
    }

    fn converter(&self) -> Result<RowConverter> {
        Ok(RowConverter::new(self.group.iter().map(|g| SortField::new(g.data_type())).collect())?)
    }

    fn new_state(&self) -> Result<State> {
        let accs = self
            .aggs
            .iter()
            .map(|a| {
                let types: Vec<DataType> = a.args.iter().map(|e| e.data_type()).collect();
                create_accumulator(&a.func, a.distinct, &types, &a.data_type)
            })
            .collect::<Result<_>>()?;
        let mut s = State { keys: HashMap::new(), key_rows: vec![], accs };
        if self.group.is_empty() {
            s.key_rows.push(vec![]);
        }
        Ok(s)
    }

    fn update(&self, state: &mut State, conv: &RowConverter, batch: &RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        let groups: Vec<usize> = if self.group.is_empty() {
            vec![0; n]
        } else {
            let cols: Vec<ArrayRef> = self.group.iter().map(|g| evaluate(g, batch, &self.layout)).collect::<Result<_>>()?;
            let rows = conv.convert_columns(&cols)?;
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                let r = rows.row(i);
                let key = r.as_ref();
                let g = match state.keys.get(key) {
                    Some(g) => *g,
                    None => {
                        let g = state.key_rows.len();
                        state.keys.insert(key.to_vec(), g);
                        state.key_rows.push(key.to_vec());
                        g
                    }
                };
                out.push(g);
            }
            out
        };
        let ngroups = state.key_rows.len();
        for (a, acc) in self.aggs.iter().zip(state.accs.iter_mut()) {
            let args: Vec<ArrayRef> = a.args.iter().map(|e| evaluate(e, batch, &self.layout)).collect::<Result<_>>()?;
            let args: Vec<ArrayRef> = args.iter().map(|x| cast_arg(x, &None)).collect::<Result<_>>()?;
            acc.update(&args, &groups, ngroups)?;
        }
        Ok(())
    }

    fn merge(&self, into: &mut State, other: State) -> Result<()> {
        let mapping: Vec<usize> = if self.group.is_empty() {
            vec![0]
        } else {
            other
                .key_rows
                .into_iter()
                .map(|k| match into.keys.get(&k) {
                    Some(g) => *g,
                    None => {
                        let g = into.key_rows.len();
                        into.keys.insert(k.clone(), g);
                        into.key_rows.push(k);
                        g
                    }
                })
                .collect()
        };
        let n = into.key_rows.len();
        for (a, b) in into.accs.iter_mut().zip(other.accs) {
            a.merge(b, &mapping, n)?;
        }
        Ok(())
    }
}

impl ExecutionPlan for HashAggregateExec {
    fn describe(&self) -> String {
        let g: Vec<String> = self.group.iter().map(|e| e.to_string()).collect();
        let a: Vec<String> = self.aggs.iter().map(|e| e.to_string()).collect();
        format!("HashAggregateExec group=[{}] aggs=[{}]", g.join(", "), a.join(", "))
    }
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
    fn ids(&self) -> &[ColumnId] {
        &self.ids
    }
    fn partitions(&self) -> usize {
        1
    }
    fn execute(&self, _p: usize, ctx: &ExecContext) -> Result<Vec<RecordBatch>> {
        let conv = self.converter()?;
        let n = self.input.partitions();
        // per-thread partial states (rayon's fold gives one state per work split)
        let states: Mutex<Vec<State>> = Mutex::new(vec![]);
        ctx.pool.install(|| {
            (0..n).into_par_iter().try_fold(
                || None::<State>,
                |acc, p| -> Result<Option<State>> {
                    let batches = self.input.execute(p, ctx)?;
                    let mut st = match acc {
                        Some(s) => s,
                        None => self.new_state()?,
                    };
                    for b in &batches {
                        self.update(&mut st, &conv, b)?;
                    }
                    Ok(Some(st))
                },
            )
            .try_for_each(|s| -> Result<()> {
                if let Some(s) = s? {
                    states.lock().map_err(|_| QuarryError::Internal("aggregate state lock".into()))?.push(s);
                }
                Ok(())
            })
        })?;
        self.metrics.record(|| {
            let mut states = states.into_inner().map_err(|_| QuarryError::Internal("aggregate state lock".into()))?;
            let mut total = match states.pop() {
                Some(s) => s,
                None => self.new_state()?,
            };
            for s in states {
                self.merge(&mut total, s)?;
            }
            let ngroups = total.key_rows.len();
            let mut cols: Vec<ArrayRef> = vec![];
            if !self.group.is_empty() {
                let parser = conv.parser();
                let rows: Vec<arrow::row::Row> = total.key_rows.iter().map(|k| parser.parse(k)).collect();
                cols.extend(conv.convert_rows(rows)?);
            }
            for acc in total.accs.iter_mut() {
                cols.push(acc.finish(ngroups)?);
            }
            let cols = cols
                .into_iter()
                .zip(self.schema.fields())
                .map(|(c, f)| if c.data_type() != f.data_type() { super::eval::cast_array(&c, f.data_type()) } else { Ok(c) })
                .collect::<Result<Vec<_>>>()?;
            Ok(vec![make_batch(self.schema.clone(), cols, ngroups)?])
        })
    }
    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![self.input.clone()]
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}
