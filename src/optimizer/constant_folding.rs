//! Constant folding and expression simplification: a deterministic expression without
//! columns or subqueries is evaluated once at planning time and replaced by its value
//! (`concat('2021-', '10-06')` -> `'2021-10-06'`, `1 = 1` -> `true`); boolean identities
//! drop dead terms (`x AND true` -> `x`, `x OR true` -> `true`, `NOT NOT x` -> `x`),
//! CASE loses branches whose condition is constant; a filter that is always true goes
//! away and one that is never true (false or NULL) becomes an empty relation. As Spark's
//! `ConstantFolding`, `BooleanSimplification` and `SimplifyConditionals`.
//!
//! An expression whose evaluation fails (`1 / 0` under ANSI rules, a bad cast) is left
//! as it is, so the error, if any, still comes from executing the query.

use arrow::array::{Array, RecordBatch, RecordBatchOptions};
use arrow::datatypes::{DataType, Schema};
use std::sync::Arc;

use super::OptimizerRule;
use crate::error::Result;
use crate::plan::{BinOp, Expr, LogicalPlan};
use crate::types::ScalarValue;

pub struct ConstantFolding;

impl OptimizerRule for ConstantFolding {
    fn name(&self) -> &'static str {
        "constant_folding"
    }
    fn rewrite(&self, plan: LogicalPlan, _: &super::OptimizerContext) -> Result<LogicalPlan> {
        fold_plan(plan)
    }
}

fn fold_plan(plan: LogicalPlan) -> Result<LogicalPlan> {
    let plan = plan.map_inputs(&mut fold_plan)?.map_exprs(&mut fold);
    Ok(match plan {
        LogicalPlan::Filter { input, predicate } => match as_bool(&predicate) {
            Some(Some(true)) => *input,
            Some(_) => empty(&input),
            None => LogicalPlan::Filter { input, predicate },
        },
        LogicalPlan::Scan {
            source,
            columns,
            projection,
            filters,
        } => {
            if filters
                .iter()
                .any(|f| matches!(as_bool(f), Some(None | Some(false))))
            {
                return Ok(LogicalPlan::Values {
                    columns,
                    rows: vec![],
                });
            }
            LogicalPlan::Scan {
                source,
                columns,
                projection,
                filters: filters
                    .into_iter()
                    .filter(|f| as_bool(f) != Some(Some(true)))
                    .collect(),
            }
        }
        LogicalPlan::Join {
            left,
            right,
            join_type,
            on,
            filter,
        } => LogicalPlan::Join {
            left,
            right,
            join_type,
            on,
            filter: filter.filter(|f| as_bool(f) != Some(Some(true))),
        },
        p => p,
    })
}

/// No rows, with the columns (same ids) of `plan`.
fn empty(plan: &LogicalPlan) -> LogicalPlan {
    LogicalPlan::Values {
        columns: plan.schema(),
        rows: vec![],
    }
}

/// `Some(Some(b))` for a boolean literal, `Some(None)` for a NULL literal, `None` for
/// anything that is not a literal.
fn as_bool(e: &Expr) -> Option<Option<bool>> {
    match e {
        Expr::Literal(v) if v.is_null() => Some(None),
        Expr::Literal(v) => v.as_bool().map(Some),
        _ => None,
    }
}

fn bool_lit(b: bool) -> Expr {
    Expr::Literal(ScalarValue::from_bool(b))
}

/// Fold and simplify one expression, bottom-up. Also used by the binder where SQL asks
/// for a constant (`range(1 * 100)`, `LIMIT 2 + 3`).
pub fn fold(e: Expr) -> Expr {
    e.transform(&mut |x| simplify(evaluate(x)))
}

/// Replace an expression whose children are all literals by its value.
fn evaluate(e: Expr) -> Expr {
    if matches!(
        e,
        Expr::Literal(_) | Expr::Column(_) | Expr::Subquery { .. }
    ) || !e.children().iter().all(|c| matches!(c, Expr::Literal(_)))
        || !e.is_deterministic()
    {
        return e;
    }
    let Ok(batch) = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    ) else {
        return e;
    };
    let layout = crate::physical::eval::layout_of(&[]);
    match crate::physical::eval::evaluate(&e, &batch, &layout) {
        Ok(a) if a.len() == 1 && a.data_type() == &e.data_type() => Expr::Literal(ScalarValue(a)),
        _ => e,
    }
}

fn simplify(e: Expr) -> Expr {
    match e {
        Expr::Binary {
            op: op @ (BinOp::And | BinOp::Or),
            left,
            right,
            data_type,
        } => {
            // the value that decides the result on its own (false for AND, true for OR)
            let absorbing = op == BinOp::Or;
            match (as_bool(&left), as_bool(&right)) {
                (Some(Some(b)), _) | (_, Some(Some(b))) if b == absorbing => bool_lit(b),
                (Some(Some(_)), _) => *right,
                (_, Some(Some(_))) => *left,
                _ => Expr::Binary {
                    op,
                    left,
                    right,
                    data_type,
                },
            }
        }
        Expr::Not(inner) => match *inner {
            Expr::Not(x) if x.data_type() == DataType::Boolean => *x,
            x => Expr::Not(Box::new(x)),
        },
        Expr::Case {
            whens,
            else_expr,
            data_type,
        } => {
            let mut kept = vec![];
            let mut else_expr = else_expr;
            for (w, t) in whens {
                match as_bool(&w) {
                    // never taken
                    Some(None | Some(false)) => {}
                    // always taken when reached: it ends the CASE
                    Some(Some(true)) => {
                        else_expr = Some(Box::new(t));
                        break;
                    }
                    None => kept.push((w, t)),
                }
            }
            if kept.is_empty() {
                match else_expr {
                    Some(e) => *e,
                    None => Expr::Literal(ScalarValue::null(&data_type)),
                }
            } else {
                Expr::Case {
                    whens: kept,
                    else_expr,
                    data_type,
                }
            }
        }
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Column;

    fn int(v: i64) -> Expr {
        Expr::lit(ScalarValue::from_i64(v))
    }

    #[test]
    fn folds_arithmetic_and_comparisons() {
        let e = Expr::binary(BinOp::Plus, int(1), int(2), DataType::Int64);
        assert_eq!(fold(e).to_string(), "3");
        let e = Expr::binary(BinOp::Eq, int(1), int(1), DataType::Boolean);
        assert_eq!(fold(e).to_string(), "true");
    }

    #[test]
    fn boolean_identities() {
        let c = Column::new("b", DataType::Boolean, true);
        let x = Expr::col(&c);
        let t = Expr::binary(BinOp::Eq, int(1), int(1), DataType::Boolean);
        let f = Expr::binary(BinOp::Eq, int(1), int(2), DataType::Boolean);
        assert_eq!(fold(Expr::and(x.clone(), t.clone())), x);
        assert_eq!(fold(Expr::and(f.clone(), x.clone())).to_string(), "false");
        assert_eq!(fold(Expr::or(x.clone(), t)).to_string(), "true");
        assert_eq!(fold(Expr::or(f, x.clone())), x);
        assert_eq!(fold(Expr::Not(Box::new(Expr::Not(Box::new(x.clone()))))), x);
        // x AND NULL stays: it is NULL or false depending on x
        let n = Expr::lit(ScalarValue::null(&DataType::Boolean));
        assert!(matches!(
            fold(Expr::and(x, n)),
            Expr::Binary { op: BinOp::And, .. }
        ));
    }

    #[test]
    fn failing_evaluation_is_left_alone() {
        // 1 / 0 is NULL in Spark's default mode, an error under ANSI: either way it must
        // not abort planning; an expression that does evaluate keeps its type
        let e = Expr::binary(BinOp::Divide, int(1), int(0), DataType::Float64);
        let folded = fold(e);
        assert_eq!(folded.data_type(), DataType::Float64);
    }

    #[test]
    fn case_branches() {
        let c = Column::new("v", DataType::Int64, true);
        let t = Expr::binary(BinOp::Eq, int(1), int(1), DataType::Boolean);
        let f = Expr::binary(BinOp::Eq, int(1), int(2), DataType::Boolean);
        let cond = Expr::binary(BinOp::Gt, Expr::col(&c), int(0), DataType::Boolean);
        let case = Expr::Case {
            whens: vec![(f, int(1)), (cond.clone(), int(2)), (t, int(3))],
            else_expr: Some(Box::new(int(4))),
            data_type: DataType::Int64,
        };
        match fold(case) {
            Expr::Case {
                whens, else_expr, ..
            } => {
                assert_eq!(whens.len(), 1);
                assert_eq!(whens[0].0, cond);
                assert_eq!(else_expr.map(|e| e.to_string()), Some("3".into()));
            }
            other => panic!("expected a CASE, got {other}"),
        }
    }
}
