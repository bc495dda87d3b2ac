//! GenerateExec: Spark's generators (`explode`, `posexplode`, `inline`, and their
//! `_outer` forms) over arrow lists and maps, built from arrow's `take` kernel: the
//! input rows are repeated by index, the generated values gathered by index.

use std::sync::Arc;

use arrow::array::*;
use arrow::compute::take;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::eval::{evaluate, layout_of, Layout};
use super::{make_batch_as, ExecContext, ExecutionPlan, Metrics};
use crate::error::{QuarryError, Result};
use crate::plan::{ColumnId, Expr, GeneratorKind};

/// Each input row once per element (or map entry) of `arg`, as the input's columns
/// followed by the generated ones. Pipelined: runs on its input's partitions.
pub struct GenerateExec {
    pub input: Arc<dyn ExecutionPlan>,
    kind: GeneratorKind,
    outer: bool,
    arg: Expr,
    ids: Vec<ColumnId>,
    schema: SchemaRef,
    layout: Layout,
    metrics: Metrics,
}

impl GenerateExec {
    /// `ids`/`schema`: the output (input columns, then the generated columns).
    pub fn new(
        input: Arc<dyn ExecutionPlan>,
        kind: GeneratorKind,
        outer: bool,
        arg: Expr,
        ids: Vec<ColumnId>,
        schema: SchemaRef,
    ) -> Self {
        let layout = layout_of(input.ids());
        GenerateExec {
            input,
            kind,
            outer,
            arg,
            ids,
            schema,
            layout,
            metrics: Metrics::default(),
        }
    }

    fn generate(&self, b: &RecordBatch) -> Result<RecordBatch> {
        let v = evaluate(&self.arg, b, &self.layout)?;
        let n = b.num_rows();
        // per collection: its value offsets and validity
        let (offsets, nulls): (Vec<usize>, Option<arrow::buffer::NullBuffer>) = match v.data_type()
        {
            arrow::datatypes::DataType::List(_) => {
                let l = v.as_list::<i32>();
                (
                    l.value_offsets().iter().map(|&o| o as usize).collect(),
                    l.nulls().cloned(),
                )
            }
            arrow::datatypes::DataType::Map(..) => {
                let m = v.as_map();
                (
                    m.value_offsets().iter().map(|&o| o as usize).collect(),
                    m.nulls().cloned(),
                )
            }
            // a NULL literal: no values
            arrow::datatypes::DataType::Null => (vec![0; n + 1], None),
            other => {
                return Err(QuarryError::Internal(format!(
                    "{} over {other}",
                    self.kind.name()
                )))
            }
        };
        let mut rows: Vec<u32> = Vec::with_capacity(offsets[n] - offsets[0] + n);
        let mut elems: Vec<Option<u32>> = Vec::with_capacity(rows.capacity());
        let mut pos: Vec<Option<i32>> = Vec::with_capacity(rows.capacity());
        for i in 0..n {
            let valid = nulls.as_ref().is_none_or(|nb| nb.is_valid(i));
            let (s, e) = if valid {
                (offsets[i], offsets[i + 1])
            } else {
                (0, 0)
            };
            if s == e {
                if self.outer {
                    rows.push(i as u32);
                    elems.push(None);
                    pos.push(None);
                }
                continue;
            }
            for (k, j) in (s..e).enumerate() {
                rows.push(i as u32);
                elems.push(Some(j as u32));
                pos.push(Some(k as i32));
            }
        }
        let row_idx = UInt32Array::from(rows);
        let elem_idx = UInt32Array::from(elems);
        let mut cols: Vec<ArrayRef> = b
            .columns()
            .iter()
            .map(|c| take(c.as_ref(), &row_idx, None))
            .collect::<std::result::Result<_, _>>()?;
        if self.kind == GeneratorKind::PosExplode {
            cols.push(Arc::new(Int32Array::from(pos)));
        }
        let gathered: Vec<ArrayRef> = match v.data_type() {
            arrow::datatypes::DataType::List(_) => {
                let values = take(v.as_list::<i32>().values().as_ref(), &elem_idx, None)?;
                if self.kind == GeneratorKind::Inline {
                    let st = values.as_struct();
                    st.columns()
                        .iter()
                        .map(|c| match st.nulls() {
                            // a NULL struct element gives NULL in every field
                            Some(outer) => {
                                let nb = arrow::buffer::NullBuffer::union(Some(outer), c.nulls());
                                Ok(make_array(c.to_data().into_builder().nulls(nb).build()?))
                            }
                            None => Ok(c.clone()),
                        })
                        .collect::<Result<_>>()?
                } else {
                    vec![values]
                }
            }
            arrow::datatypes::DataType::Map(..) => {
                let m = v.as_map();
                vec![
                    take(m.keys().as_ref(), &elem_idx, None)?,
                    take(m.values().as_ref(), &elem_idx, None)?,
                ]
            }
            _ => vec![new_null_array(
                &arrow::datatypes::DataType::Null,
                row_idx.len(),
            )],
        };
        cols.extend(gathered);
        // generated columns take the declared types (a NULL argument: typed NULLs)
        make_batch_as(self.schema.clone(), cols, row_idx.len())
    }
}

impl ExecutionPlan for GenerateExec {
    fn describe(&self) -> String {
        format!(
            "GenerateExec {}{}({})",
            self.kind.name(),
            if self.outer { "_outer" } else { "" },
            self.arg
        )
    }
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
    fn ids(&self) -> &[ColumnId] {
        &self.ids
    }
    fn partitions(&self) -> usize {
        self.input.partitions()
    }
    fn execute(&self, p: usize, ctx: &ExecContext) -> Result<Vec<RecordBatch>> {
        let input = self.input.execute(p, ctx)?;
        self.metrics.record(|| {
            let mut out = vec![];
            for b in &input {
                let g = self.generate(b)?;
                if g.num_rows() > 0 {
                    out.push(g);
                }
            }
            Ok(out)
        })
    }
    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![self.input.clone()]
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}
