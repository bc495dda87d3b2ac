//! The physical planner: LogicalPlan -> ExecutionPlan. Uncorrelated subqueries are run
//! here, before the outer query, and replaced by constants (scalar, EXISTS) or value
//! sets (IN). RIGHT joins become LEFT joins with swapped inputs; LIMIT over ORDER BY
//! becomes a top-k sort; INTERSECT/EXCEPT become null-safe semi/anti joins.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};

use super::aggregate::HashAggregateExec;
use super::join::{HashJoinExec, RuntimeFilter};
use super::operators::{
    FilterExec, LimitExec, PhysicalSortKey, ProjectExec, SortExec, UnionExec, ValuesExec,
};
use super::reuse::{self, ReusedExec};
use super::scan::ScanExec;
use super::statistics::ScanStatistics;
use super::{collect, int_like, make_batch, schema_of, ExecContext, ExecutionPlan};
use crate::error::{QuarryError, Result};
use crate::optimizer::stats::{self, Statistics, StatisticsProvider};
use crate::optimizer::OptimizerContext;
use crate::plan::expr::ValueSet;
use crate::plan::{Column, Expr, JoinType, LogicalPlan, SetOpKind, SortKey, SubqueryKind};
use crate::types::ScalarValue;

pub struct PhysicalPlanner<'a> {
    pub ctx: &'a ExecContext,
    /// Optimizer rules disabled by the session (applied to subqueries too).
    pub disabled_rules: &'a [String],
    /// Estimated statistics per logical node (by address: every node planned by one
    /// planner is borrowed from the plan it was given, alive while it plans).
    estimates: RefCell<HashMap<usize, Statistics>>,
    /// Whether every aggregate planned is offered for reuse by the rest of the query
    /// (the planner of an uncorrelated subquery, which runs before the query), rather
    /// than only those the plan computes more than once.
    share_all: bool,
    /// Keys ([`reuse::canonical_key`]) of the aggregates the plan being created holds
    /// more than once.
    repeated: RefCell<HashSet<String>>,
    /// Reuse keys by aggregate node (address, as `estimates`): `find_repeated` computes
    /// each once, and planning the node reads it back.
    reuse_keys: RefCell<HashMap<usize, Option<String>>>,
    /// Join filters whose probe input is being planned, for the scan they read.
    pending_filters: RefCell<Vec<Arc<RuntimeFilter>>>,
    /// The same filters with their estimated selectivity, kept while their probe input
    /// is planned: every node under the join that holds the filtered scan sees only
    /// that share of its logical estimate (see [`PhysicalPlanner::build`]).
    filter_selectivity: RefCell<Vec<(crate::plan::ColumnId, f64)>>,
    /// A top-k for the aggregate node at this address (see
    /// [`PhysicalPlanner::aggregate_top_k`]), taken when that node is planned.
    aggregate_top_k: RefCell<Option<(usize, Vec<PhysicalSortKey>, usize)>>,
    /// The columns a node's parent reads of it, by node address (as `estimates`), for
    /// the nodes planned under a projection, aggregate, filter, sort, limit or inner
    /// join: an inner join outputs only these ([`HashJoinExec::with_output`]).
    required: RefCell<HashMap<usize, HashSet<crate::plan::ColumnId>>>,
    /// The grouped aggregates of the query whose uncorrelated subqueries are being run
    /// (see [`PhysicalPlanner::total_over_groups`]).
    grouped_aggregates: RefCell<Vec<LogicalPlan>>,
}

/// The name that turns join filters off in `quarry.optimizer.disabled_rules`.
pub const JOIN_FILTERS_RULE: &str = "join_filters";

/// How many scans in `plan` read the column `id`.
fn scans_defining(plan: &LogicalPlan, id: crate::plan::ColumnId) -> usize {
    let here = match plan {
        LogicalPlan::Scan { columns, .. } => columns.iter().any(|c| c.id == id) as usize,
        _ => 0,
    };
    here + plan
        .inputs()
        .into_iter()
        .map(|i| scans_defining(i, id))
        .sum::<usize>()
}

/// A join filter for the probe input `probe` keyed by `key`: when the key is a column
/// that comes unchanged from exactly one scan in `probe`, and every row of that scan
/// reaches the join through filters, projections and inner joins only (so a scan row
/// whose key has no partner cannot contribute to the join's output).
fn join_filter(probe: &LogicalPlan, key: &Expr) -> Option<Arc<RuntimeFilter>> {
    let Expr::Column(k) = key else { return None };
    let (LogicalPlan::Scan { columns, .. }, i) = probe.scan_of_column(k.id)? else {
        return None;
    };
    let col = columns.get(i)?;
    (scans_defining(probe, col.id) == 1)
        .then(|| Arc::new(RuntimeFilter::new(col.id, col.name.clone())))
}

impl<'a> PhysicalPlanner<'a> {
    pub fn new(ctx: &'a ExecContext, disabled_rules: &'a [String]) -> PhysicalPlanner<'a> {
        PhysicalPlanner {
            ctx,
            disabled_rules,
            estimates: RefCell::new(HashMap::new()),
            share_all: false,
            repeated: RefCell::new(HashSet::new()),
            reuse_keys: RefCell::new(HashMap::new()),
            pending_filters: RefCell::new(vec![]),
            filter_selectivity: RefCell::new(vec![]),
            aggregate_top_k: RefCell::new(None),
            required: RefCell::new(HashMap::new()),
            grouped_aggregates: RefCell::new(vec![]),
        }
    }

    /// Whether a physical planning step (`reuse_subplans`, `join_filters`) runs: its
    /// name in `quarry.optimizer.disabled_rules` turns it off.
    fn rule_enabled(&self, name: &str) -> bool {
        !self
            .disabled_rules
            .iter()
            .any(|r| r.eq_ignore_ascii_case(name))
    }

    /// The reuse key of an aggregate node, or of a node that draws a CTE's random
    /// values (a `rand` with a stream id, see [`reuse`]); `None` for other nodes and for
    /// those that must not be shared. Memoized by node (see `reuse_keys`).
    fn reuse_key(&self, plan: &LogicalPlan) -> Option<String> {
        if !(matches!(plan, LogicalPlan::Aggregate { .. }) || reuse::draws_cte_random(plan))
            || !self.rule_enabled(reuse::RULE_NAME)
        {
            return None;
        }
        let addr = plan as *const LogicalPlan as usize;
        if let Some(k) = self.reuse_keys.borrow().get(&addr) {
            return k.clone();
        }
        let k = reuse::canonical_key(plan);
        self.reuse_keys.borrow_mut().insert(addr, k.clone());
        k
    }

    /// Count the plan's aggregates by reuse key; those seen twice or more go to `repeated`.
    fn find_repeated(&self, plan: &LogicalPlan) {
        fn walk(p: &PhysicalPlanner, plan: &LogicalPlan, seen: &mut HashMap<String, usize>) {
            if let Some(k) = p.reuse_key(plan) {
                *seen.entry(k).or_default() += 1;
            }
            for i in plan.inputs() {
                walk(p, i, seen);
            }
        }
        if !self.rule_enabled(reuse::RULE_NAME) {
            return;
        }
        let mut seen = HashMap::new();
        walk(self, plan, &mut seen);
        self.repeated
            .borrow_mut()
            .extend(seen.into_iter().filter(|(_, n)| *n > 1).map(|(k, _)| k));
    }

    /// The optimizer context over this query's scans.
    pub fn optimize(
        &self,
        plan: LogicalPlan,
        trace: &mut dyn FnMut(&str, &LogicalPlan),
    ) -> Result<LogicalPlan> {
        let provider = ScanStatistics { ctx: self.ctx };
        let octx = OptimizerContext {
            statistics: &provider,
        };
        if self.rule_enabled(reuse::RULE_NAME) && has_subquery(&plan) {
            let mut found = vec![];
            collect_grouped_aggregates(&plan, &mut found);
            *self.grouped_aggregates.borrow_mut() = found;
        }
        let plan = self.evaluate_subqueries(plan)?;
        self.grouped_aggregates.borrow_mut().clear();
        crate::optimizer::optimize(plan, self.disabled_rules, &octx, trace)
    }

    /// Run the plan's uncorrelated subqueries (the binder decorrelated the others) and
    /// put their results in place, so no subquery reaches the rules or
    /// [`PhysicalPlanner::create`] (which takes expressions as they are): a scalar subquery becomes a literal, `x IN
    /// (subquery)` a value set. They run once per query either way; doing it before
    /// optimizing lets estimates see the values (`o_orderkey IN (57 keys)` estimates 57
    /// rows, not a third of the table) and constant folding use them.
    fn evaluate_subqueries(&self, plan: LogicalPlan) -> Result<LogicalPlan> {
        let plan = plan.map_inputs(&mut |p| self.evaluate_subqueries(p))?;
        if !plan.exprs().iter().any(|e| e.has_subquery()) {
            return Ok(plan);
        }
        let mut err = None;
        // on an error the plan is dropped, so a placeholder stands in for the expression
        let plan = plan.map_exprs(&mut |e| match self.expr(e) {
            Ok(v) => v,
            Err(x) => {
                err.get_or_insert(x);
                Expr::Literal(ScalarValue::from_bool(false))
            }
        });
        match err {
            Some(e) => Err(e),
            None => Ok(plan),
        }
    }

    /// Estimated statistics of a logical node (memoized).
    pub fn estimate(&self, plan: &LogicalPlan) -> Result<Statistics> {
        let key = plan as *const LogicalPlan as usize;
        if let Some(s) = self.estimates.borrow().get(&key) {
            return Ok(s.clone());
        }
        let provider = Memo { planner: self };
        let s = stats::estimate_node(plan, &provider)?;
        self.estimates.borrow_mut().insert(key, s.clone());
        Ok(s)
    }

    fn rows(&self, plan: &LogicalPlan) -> f64 {
        self.estimate(plan).map(|s| s.rows).unwrap_or(1000.0)
    }

    /// Plan `plan` for execution; each operator carries its node's row estimate. An
    /// aggregate the query computes more than once (or one already computed by a
    /// subquery) becomes a [`ReusedExec`] of one shared result.
    pub fn create(&self, plan: &LogicalPlan) -> Result<Arc<dyn ExecutionPlan>> {
        self.find_repeated(plan);
        let p = self.build(plan)?;
        if !self.share_all {
            // the query's plan is complete: results its subqueries kept that it does not
            // read go now (those it reads live on in its ReusedExec nodes)
            self.lock_reuse()?.clear();
        }
        Ok(p)
    }

    fn build(&self, plan: &LogicalPlan) -> Result<Arc<dyn ExecutionPlan>> {
        let p = match self.reuse_key(plan) {
            Some(key) => {
                let found = self.lock_reuse()?.get(&key).cloned();
                let ids = plan.schema().iter().map(|c| c.id).collect();
                match found {
                    Some(shared) => Arc::new(ReusedExec::new(shared, false, ids)),
                    None if self.share_all || self.repeated.borrow().contains(&key) => {
                        let inner = self.create_node(plan)?;
                        inner.metrics().set_estimate(self.rows(plan));
                        let shared = Arc::new(reuse::SharedResult::new(inner));
                        self.lock_reuse()?.insert(key, shared.clone());
                        Arc::new(ReusedExec::new(shared, true, ids))
                    }
                    None => self.create_node(plan)?,
                }
            }
            None => self.create_node(plan)?,
        };
        p.metrics()
            .set_estimate(self.rows(plan) * self.filtered_share(plan));
        Ok(p)
    }

    /// Record that `child`'s parent reads only the columns `ids` of it.
    fn require(&self, child: &LogicalPlan, ids: impl IntoIterator<Item = crate::plan::ColumnId>) {
        self.required.borrow_mut().insert(
            child as *const LogicalPlan as usize,
            ids.into_iter().collect(),
        );
    }

    /// Record that `child` must give what `plan`'s own parent reads of `plan` plus
    /// `ids`; nothing when that is not known (then `child` outputs all its columns).
    fn require_more(
        &self,
        plan: &LogicalPlan,
        child: &LogicalPlan,
        ids: impl IntoIterator<Item = crate::plan::ColumnId>,
    ) {
        let known = self
            .required
            .borrow()
            .get(&(plan as *const LogicalPlan as usize))
            .cloned();
        if let Some(mut r) = known {
            r.extend(ids);
            self.require(child, r);
        }
    }

    /// The share of `plan`'s rows left by the join filters of the joins above it that
    /// filter a scan inside it (1 when none): the product of their selectivities,
    /// taken as independent. The rows a join filter removes have no partner at its
    /// join, so every node between the scan and that join loses the same share.
    fn filtered_share(&self, plan: &LogicalPlan) -> f64 {
        self.filter_selectivity
            .borrow()
            .iter()
            .filter(|(col, _)| scans_defining(plan, *col) > 0)
            .map(|(_, s)| *s)
            .product()
    }

    /// The estimated share of the probe side's rows whose key has a partner on the
    /// build side ([`stats::semi_join_selectivity`]); 1 when unknown.
    fn semi_join_selectivity(
        &self,
        probe: &LogicalPlan,
        probe_key: &Expr,
        build: &LogicalPlan,
        build_key: &Expr,
    ) -> f64 {
        match (
            probe_key,
            build_key,
            self.estimate(probe),
            self.estimate(build),
        ) {
            (Expr::Column(p), Expr::Column(b), Ok(ps), Ok(bs)) => {
                stats::semi_join_selectivity(&ps, p.id, &bs, b.id)
            }
            _ => 1.0,
        }
    }

    /// Plan a join's probe input; the scan under it that `filter` names takes it.
    fn build_probe(
        &self,
        plan: &LogicalPlan,
        filter: Option<&(Arc<RuntimeFilter>, f64)>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if let Some((f, selectivity)) = filter {
            self.pending_filters.borrow_mut().push(f.clone());
            self.filter_selectivity
                .borrow_mut()
                .push((f.column, *selectivity));
        }
        let out = self.build(plan);
        if let Some((f, _)) = filter {
            self.pending_filters
                .borrow_mut()
                .retain(|x| !Arc::ptr_eq(x, f));
            self.filter_selectivity.borrow_mut().pop();
        }
        out
    }

    fn lock_reuse(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, HashMap<String, Arc<reuse::SharedResult>>>> {
        self.ctx
            .reuse
            .lock()
            .map_err(|_| QuarryError::Execution("a query thread panicked".into()))
    }

    fn create_node(&self, plan: &LogicalPlan) -> Result<Arc<dyn ExecutionPlan>> {
        let ids = |cols: &[Column]| cols.iter().map(|c| c.id).collect::<Vec<_>>();
        Ok(match plan {
            LogicalPlan::Scan {
                source,
                columns,
                projection,
                filters,
            } => {
                // the join filters waiting for this scan (see `build_probe`)
                let mine: Vec<Arc<RuntimeFilter>> = {
                    let mut pending = self.pending_filters.borrow_mut();
                    let (mine, rest) = std::mem::take(&mut *pending)
                        .into_iter()
                        .partition(|f| columns.iter().any(|c| c.id == f.column));
                    *pending = rest;
                    mine
                };
                Arc::new(
                    ScanExec::try_new(
                        source.clone(),
                        columns,
                        projection.clone(),
                        filters.clone(),
                        self.ctx,
                    )?
                    .with_runtime_filters(mine),
                )
            }
            LogicalPlan::Values { columns, rows } => {
                let schema = schema_of(columns);
                let one = make_batch(schema_of(&[]), vec![], 1)?;
                let empty = Default::default();
                let mut cols: Vec<ArrayRef> = vec![];
                for (i, c) in columns.iter().enumerate() {
                    let vals: Vec<ArrayRef> = rows
                        .iter()
                        .map(|r| {
                            super::eval::evaluate(&r[i], &one, &empty)
                                .and_then(|a| super::eval::cast_array(&a, &c.data_type))
                        })
                        .collect::<Result<_>>()?;
                    let refs: Vec<&dyn Array> = vals.iter().map(|a| a.as_ref()).collect();
                    cols.push(if refs.is_empty() {
                        arrow::array::new_empty_array(&c.data_type)
                    } else {
                        arrow::compute::concat(&refs)?
                    });
                }
                Arc::new(ValuesExec::new(
                    make_batch(schema, cols, rows.len())?,
                    ids(columns),
                ))
            }
            LogicalPlan::Range {
                column,
                start,
                step,
                count,
            } => {
                let values: arrow::array::Int64Array = (0..*count as i64)
                    .map(|i| start.wrapping_add(i.wrapping_mul(*step)))
                    .collect();
                let cols = vec![column.clone()];
                Arc::new(ValuesExec::new(
                    make_batch(schema_of(&cols), vec![Arc::new(values)], *count)?,
                    ids(&cols),
                ))
            }
            LogicalPlan::Filter { input, predicate } => {
                self.require_more(plan, input, predicate.column_ids());
                Arc::new(FilterExec::new(self.build(input)?, predicate.clone()))
            }
            LogicalPlan::Project { input, exprs } => {
                self.require(input, exprs.iter().flat_map(|(e, _)| e.column_ids()));
                let cols: Vec<Column> = exprs.iter().map(|(_, c)| c.clone()).collect();
                let es = exprs.iter().map(|(e, _)| e.clone()).collect();
                Arc::new(ProjectExec::new(
                    self.build(input)?,
                    es,
                    ids(&cols),
                    schema_of(&cols),
                ))
            }
            LogicalPlan::Aggregate { input, group, aggs } => {
                let cols = plan.schema();
                let g = group.iter().map(|(e, _)| e.clone()).collect();
                let a = aggs.iter().map(|(a, _)| a.clone()).collect();
                let addr = plan as *const LogicalPlan as usize;
                let top_k = self
                    .aggregate_top_k
                    .borrow_mut()
                    .take_if(|(at, _, _)| *at == addr);
                self.require(
                    input,
                    group.iter().flat_map(|(e, _)| e.column_ids()).chain(
                        aggs.iter()
                            .flat_map(|(a, _)| a.args.iter().flat_map(|e| e.column_ids())),
                    ),
                );
                let agg =
                    HashAggregateExec::new(self.build(input)?, g, a, ids(&cols), schema_of(&cols));
                Arc::new(match top_k {
                    Some((_, keys, k)) => agg.with_top_k(keys, k),
                    None => agg,
                })
            }
            LogicalPlan::Join {
                left,
                right,
                join_type,
                on,
                filter,
            } => {
                let cols = plan.schema();
                // an inner join outputs only what its parent reads (when known); its
                // inputs then need that, the keys and the residual filter's columns
                let keep = match join_type {
                    JoinType::Inner | JoinType::Cross => self
                        .required
                        .borrow()
                        .get(&(plan as *const LogicalPlan as usize))
                        .cloned()
                        .filter(|k| cols.iter().any(|c| !k.contains(&c.id))),
                    _ => None,
                };
                let key_cols = on
                    .iter()
                    .flat_map(|(a, b)| a.column_ids().into_iter().chain(b.column_ids()))
                    .chain(filter.iter().flat_map(|f| f.column_ids()));
                self.require_more(plan, left, key_cols.clone());
                self.require_more(plan, right, key_cols);
                let filter = filter.clone();
                let on: Vec<(Expr, Expr)> = on.clone();
                let (lrows, rrows) = (self.rows(left), self.rows(right));
                // an inner equi-join builds its hash table on the input estimated smaller
                let swap_inner = *join_type == JoinType::Inner && !on.is_empty() && rrows > lrows;
                // a semi/anti join whose left (returned) side is the smaller one builds
                // there; so does a left outer join whose left side is much smaller (its
                // unmatched rows are found by marking)
                let build_left = !swap_inner
                    && !on.is_empty()
                    && match join_type {
                        JoinType::LeftSemi | JoinType::LeftAnti => lrows < rrows,
                        JoinType::Left => lrows * 4.0 < rrows,
                        _ => false,
                    };
                // the probe side may be filtered by the build side's keys where its rows
                // without a partner are dropped
                let probe_right = swap_inner || build_left;
                let sound = match join_type {
                    JoinType::Inner => true,
                    JoinType::LeftSemi => true,
                    // rows of the right side without a partner are never returned
                    JoinType::LeftAnti | JoinType::Left => build_left,
                    _ => false,
                };
                let runtime = match (sound && self.rule_enabled(JOIN_FILTERS_RULE), on.as_slice()) {
                    (true, [(lk, rk)])
                        if int_like(&lk.data_type()) && int_like(&rk.data_type()) =>
                    {
                        let (probe, pk, build, bk) = if probe_right {
                            (&**right, rk, &**left, lk)
                        } else {
                            (&**left, lk, &**right, rk)
                        };
                        join_filter(probe, pk)
                            .map(|f| (f, self.semi_join_selectivity(probe, pk, build, bk)))
                    }
                    _ => None,
                };
                let (l, r) = if probe_right {
                    (
                        self.build(left)?,
                        self.build_probe(right, runtime.as_ref())?,
                    )
                } else {
                    (
                        self.build_probe(left, runtime.as_ref())?,
                        self.build(right)?,
                    )
                };
                let with_filter = |j: HashJoinExec| match &runtime {
                    Some((f, _)) => j.with_runtime_filter(f.clone()),
                    None => j,
                };
                // an inner join below may output fewer columns than its logical schema
                // (what this join's parent reads, its keys and filter): the columns are
                // those the inputs give, in the logical order (and nullability)
                let given: HashSet<crate::plan::ColumnId> =
                    l.ids().iter().chain(r.ids()).copied().collect();
                let cols: Vec<Column> =
                    cols.into_iter().filter(|c| given.contains(&c.id)).collect();
                if *join_type == JoinType::Right || swap_inner {
                    // build on the left input, probe with the right, then restore the column order
                    let swapped_cols: Vec<Column> = right
                        .schema()
                        .into_iter()
                        .chain(left.schema())
                        .filter(|c| given.contains(&c.id))
                        .collect();
                    let swapped_on = on.into_iter().map(|(a, b)| (b, a)).collect();
                    let jt = if swap_inner {
                        JoinType::Inner
                    } else {
                        JoinType::Left
                    };
                    let mut j = with_filter(HashJoinExec::new(
                        r,
                        l,
                        jt,
                        swapped_on,
                        filter,
                        false,
                        ids(&swapped_cols),
                        schema_of(&swapped_cols),
                    ));
                    let mut cols = cols;
                    if let Some(k) = &keep {
                        j = j.with_output(k);
                        cols.retain(|c| k.contains(&c.id));
                    }
                    let exprs = cols.iter().map(|c| Expr::Column(c.clone())).collect();
                    Arc::new(ProjectExec::new(
                        Arc::new(j),
                        exprs,
                        ids(&cols),
                        schema_of(&cols),
                    ))
                } else {
                    let j = with_filter(HashJoinExec::new(
                        l,
                        r,
                        *join_type,
                        on,
                        filter,
                        false,
                        ids(&cols),
                        schema_of(&cols),
                    ));
                    let j = match &keep {
                        Some(k) => j.with_output(k),
                        None => j,
                    };
                    Arc::new(if build_left { j.with_build_left() } else { j })
                }
            }
            LogicalPlan::Sort { input, keys, fetch } => {
                if let Some(k) = fetch {
                    *self.aggregate_top_k.borrow_mut() = self.aggregate_top_k(input, keys, *k);
                }
                self.require_more(plan, input, keys.iter().flat_map(|k| k.expr.column_ids()));
                let child = self.build(input);
                self.aggregate_top_k.borrow_mut().take();
                Arc::new(SortExec::new(child?, keys.clone(), *fetch))
            }
            LogicalPlan::Limit { input, skip, fetch } => {
                self.require_more(plan, input, std::iter::empty());
                Arc::new(LimitExec::new(self.build(input)?, *skip, *fetch))
            }
            LogicalPlan::RecursiveCte {
                anchor,
                recursive,
                columns,
                worktable,
                distinct,
                fetch,
            } => Arc::new(super::recursive::RecursiveCteExec::new(
                self.build(anchor)?,
                self.build(recursive)?,
                (**recursive).clone(),
                self.disabled_rules.to_vec(),
                *worktable,
                *distinct,
                *fetch,
                ids(columns),
                schema_of(columns),
            )),
            LogicalPlan::WorkTable { id, columns } => Arc::new(
                super::recursive::WorkTableExec::new(*id, ids(columns), schema_of(columns)),
            ),
            LogicalPlan::Union { inputs, columns } => {
                let ins = inputs
                    .iter()
                    .map(|i| self.build(i))
                    .collect::<Result<_>>()?;
                Arc::new(UnionExec::new(ins, ids(columns), schema_of(columns)))
            }
            LogicalPlan::Expand {
                input,
                projections,
                columns: _,
            } => {
                let cols = plan.schema();
                let ps = projections.clone();
                Arc::new(super::operators::ExpandExec::new(
                    self.build(input)?,
                    ps,
                    ids(&cols),
                    schema_of(&cols),
                ))
            }
            LogicalPlan::Generate {
                input,
                kind,
                outer,
                arg,
                ..
            } => {
                let cols = plan.schema();
                Arc::new(super::generate::GenerateExec::new(
                    self.build(input)?,
                    *kind,
                    *outer,
                    arg.clone(),
                    ids(&cols),
                    schema_of(&cols),
                ))
            }
            LogicalPlan::Window { input, windows } => {
                let cols = plan.schema();
                let ws = windows.iter().map(|(w, _)| w.clone()).collect();
                Arc::new(super::window::WindowExec::new(
                    self.build(input)?,
                    ws,
                    ids(&cols),
                    schema_of(&cols),
                ))
            }
            LogicalPlan::SetOp { left, right, kind } => {
                let cols = left.schema();
                let keys = left
                    .schema()
                    .into_iter()
                    .zip(right.schema())
                    .map(|(l, r)| (Expr::Column(l), Expr::Column(r)))
                    .collect();
                let jt = if *kind == SetOpKind::Intersect {
                    JoinType::LeftSemi
                } else {
                    JoinType::LeftAnti
                };
                Arc::new(HashJoinExec::new(
                    self.build(left)?,
                    self.build(right)?,
                    jt,
                    keys,
                    None,
                    true,
                    ids(&cols),
                    schema_of(&cols),
                ))
            }
        })
    }

    /// Replace subqueries in `e` by their results.
    fn expr(&self, e: Expr) -> Result<Expr> {
        if !e.has_subquery() {
            return Ok(e);
        }
        let mut err: Option<QuarryError> = None;
        let out = e.transform(&mut |x| match x {
            Expr::Subquery { .. } if err.is_none() => match self.subquery(x) {
                Ok(v) => v,
                Err(e) => {
                    err = Some(e);
                    Expr::Literal(ScalarValue::from_bool(false))
                }
            },
            other => other,
        });
        match err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Sort keys as the sort operator takes them.
    /// For `ORDER BY keys LIMIT k` right over a GROUP BY (through a projection): the
    /// aggregate node's address and the sort keys over its output, when they read only
    /// aggregate results (`ORDER BY revenue DESC LIMIT 20`, TPC-H Q10), so the
    /// aggregate can pick its k groups by their results and decode only those groups'
    /// keys. `None` when a key reads a group column, for a global aggregate, and for an
    /// aggregate whose result is shared with other readers (`reuse_subplans`).
    fn aggregate_top_k(
        &self,
        input: &LogicalPlan,
        keys: &[SortKey],
        k: usize,
    ) -> Option<(usize, Vec<PhysicalSortKey>, usize)> {
        let (agg, defs) = match input {
            LogicalPlan::Project { input, exprs } => (
                &**input,
                exprs
                    .iter()
                    .map(|(e, c)| (c.id, e.clone()))
                    .collect::<HashMap<_, _>>(),
            ),
            other => (other, HashMap::new()),
        };
        let LogicalPlan::Aggregate { group, aggs, .. } = agg else {
            return None;
        };
        if group.is_empty() {
            return None;
        }
        if let Some(key) = self.reuse_key(agg) {
            if self.share_all || self.repeated.borrow().contains(&key) {
                return None;
            }
        }
        let results: HashSet<_> = aggs.iter().map(|(_, c)| c.id).collect();
        let keys: Vec<PhysicalSortKey> = keys
            .iter()
            .map(|sk| PhysicalSortKey {
                expr: sk.expr.clone().substitute(&defs),
                asc: sk.asc,
                nulls_first: sk.nulls_first,
            })
            .collect();
        let over_results = keys.iter().all(|sk| {
            sk.expr.is_deterministic()
                && !sk.expr.has_subquery()
                && sk.expr.column_ids().iter().all(|id| results.contains(id))
        });
        over_results.then(|| (agg as *const LogicalPlan as usize, keys, k))
    }

    fn run(&self, plan: &LogicalPlan) -> Result<Vec<RecordBatch>> {
        // a planner of its own: the optimized plan is a temporary; its aggregates are
        // kept for the query that runs after it, when small
        let mut planner = PhysicalPlanner::new(self.ctx, self.disabled_rules);
        planner.share_all = true;
        let optimized = planner.optimize(plan.clone(), &mut |_, _| {})?;
        let p = planner.create(&optimized)?;
        let out = collect(&p, self.ctx)?;
        self.lock_reuse()?
            .retain(|_, s| s.memory_size() <= reuse::MAX_KEPT_BYTES);
        Ok(out)
    }

    /// An uncorrelated scalar subquery `SELECT sum(x) ... FROM j` whose sum the query
    /// also computes per group over the same rows (`SELECT k, sum(x) FROM j GROUP BY k`,
    /// the same input and argument once column ids are renumbered): the subquery as the
    /// sum of that grouped aggregate's sums, so the grouped aggregate runs once, kept by
    /// the subquery for the query (`reuse_subplans`). The two sums are compared as the
    /// optimizer leaves them (so the order of the FROM lists does not matter). TPC-H Q11's
    /// `HAVING sum(v) > (SELECT sum(v) * 0.0001 ...)` reads partsupp once. A sum of the
    /// per-group sums is the sum (NULL when there are no rows or only NULLs, as before).
    fn total_over_groups(&self, plan: &LogicalPlan) -> Option<LogicalPlan> {
        let mut projects: Vec<&Vec<(Expr, Column)>> = vec![];
        let mut node = plan;
        while let LogicalPlan::Project { input, exprs } = node {
            projects.push(exprs);
            node = input;
        }
        let LogicalPlan::Aggregate { input, group, aggs } = node else {
            return None;
        };
        let [(total, total_col)] = aggs.as_slice() else {
            return None;
        };
        if !group.is_empty()
            || total.func != crate::functions::aggregate::AggFunc::Sum
            || total.distinct
        {
            return None;
        }
        let provider = ScanStatistics { ctx: self.ctx };
        let octx = OptimizerContext {
            statistics: &provider,
        };
        // compared once optimized (the FROM order, say, may differ between the two); a
        // subplan with a subquery of its own has no key
        let key = |input: &LogicalPlan, agg: &(crate::plan::AggregateExpr, Column)| {
            let plan = LogicalPlan::Aggregate {
                input: Box::new(input.clone()),
                group: vec![],
                aggs: vec![agg.clone()],
            };
            let optimized =
                crate::optimizer::optimize(plan, self.disabled_rules, &octx, &mut |_, _| {});
            reuse::canonical_key(&optimized.ok()?)
        };
        let want = key(input, &aggs[0])?;
        let grouped = self.grouped_aggregates.borrow();
        let (shared, sum_col) = grouped.iter().find_map(|m| {
            let LogicalPlan::Aggregate {
                input: mi,
                aggs: ma,
                ..
            } = m
            else {
                return None;
            };
            // only a result the subquery may keep for the query (about 16 bytes a value)
            let rows = stats::estimate(m, &provider).ok()?.rows;
            if rows * m.schema().len() as f64 * 16.0 > reuse::MAX_KEPT_BYTES as f64 {
                return None;
            }
            ma.iter()
                .filter(|(a, _)| a.func == total.func && !a.distinct)
                .find(|a| key(mi, a).as_ref() == Some(&want))
                .map(|(_, c)| (m.clone(), c.clone()))
        })?;
        let mut out = LogicalPlan::Aggregate {
            input: Box::new(shared),
            group: vec![],
            aggs: vec![(
                crate::plan::AggregateExpr {
                    func: total.func.clone(),
                    args: vec![Expr::Column(sum_col)],
                    distinct: false,
                    order: vec![],
                    data_type: total.data_type.clone(),
                },
                total_col.clone(),
            )],
        };
        for exprs in projects.into_iter().rev() {
            out = LogicalPlan::Project {
                input: Box::new(out),
                exprs: exprs.clone(),
            };
        }
        Some(out)
    }

    fn subquery(&self, e: Expr) -> Result<Expr> {
        let Expr::Subquery {
            plan,
            kind,
            data_type,
        } = e
        else {
            return Ok(e);
        };
        if !plan.free_columns().is_empty() {
            return Err(QuarryError::NotSupported(
                "a correlated subquery here (they are decorrelated in WHERE, HAVING, the SELECT list, join conditions and LATERAL subqueries)".into(),
            ));
        }
        match kind {
            SubqueryKind::Scalar => {
                let plan = self
                    .total_over_groups(&plan)
                    .unwrap_or_else(|| (*plan).clone());
                let limited = LogicalPlan::Limit {
                    input: Box::new(plan),
                    skip: 0,
                    fetch: Some(2),
                };
                let batches = self.run(&limited)?;
                let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                if rows > 1 {
                    return Err(QuarryError::Execution("[SCALAR_SUBQUERY_TOO_MANY_ROWS] More than one row returned by a subquery used as an expression".into()));
                }
                match batches.iter().find(|b| b.num_rows() > 0) {
                    Some(b) => Ok(Expr::Literal(ScalarValue(b.column(0).slice(0, 1)))),
                    None => Ok(Expr::Literal(ScalarValue::null(&data_type))),
                }
            }
            SubqueryKind::Exists { negated } => {
                let limited = LogicalPlan::Limit {
                    input: Box::new((*plan).clone()),
                    skip: 0,
                    fetch: Some(1),
                };
                let any = self.run(&limited)?.iter().any(|b| b.num_rows() > 0);
                Ok(Expr::Literal(ScalarValue::from_bool(any != negated)))
            }
            SubqueryKind::In { expr, negated } => {
                let batches = self.run(&plan)?;
                let t = expr.data_type();
                let conv = RowConverter::new(vec![SortField::new(t.clone())])?;
                let mut rows = HashSet::with_hasher(ahash::RandomState::new());
                let mut ints = ValueSet::integer_like(&t)
                    .then(|| HashSet::with_hasher(ahash::RandomState::new()));
                let mut has_null = false;
                for b in &batches {
                    let col = super::eval::cast_array(b.column(0), &t)?;
                    has_null |= col.null_count() > 0;
                    let r = conv.convert_columns(&[col.clone()])?;
                    for i in 0..col.len() {
                        if col.is_valid(i) {
                            rows.insert(r.row(i).as_ref().to_vec());
                        }
                    }
                    if let Some(ints) = &mut ints {
                        use arrow::array::AsArray;
                        let c = arrow::compute::cast(&col, &arrow::datatypes::DataType::Int64)?;
                        ints.extend(
                            c.as_primitive::<arrow::datatypes::Int64Type>()
                                .iter()
                                .flatten(),
                        );
                    }
                }
                if rows.is_empty() && !has_null {
                    // `x IN (empty)` is false and `x NOT IN (empty)` true, even for a NULL x
                    return Ok(Expr::Literal(ScalarValue::from_bool(negated)));
                }
                let set = Arc::new(ValueSet {
                    rows,
                    ints,
                    has_null,
                    data_type: t,
                });
                Ok(Expr::InSet {
                    expr: Box::new(self.expr(*expr)?),
                    set,
                    negated,
                })
            }
        }
    }
}

/// The estimator's view through the planner: children's estimates are memoized.
struct Memo<'p, 'a> {
    planner: &'p PhysicalPlanner<'a>,
}

impl stats::ChildEstimates for Memo<'_, '_> {
    fn child(&self, plan: &LogicalPlan) -> Result<Statistics> {
        self.planner.estimate(plan)
    }
    fn provider(&self) -> &dyn StatisticsProvider {
        self
    }
}

impl StatisticsProvider for Memo<'_, '_> {
    fn scan_statistics(
        &self,
        source: &Arc<crate::plan::TableSource>,
        columns: &[Column],
        projection: &[usize],
        filters: &[Expr],
    ) -> Result<Statistics> {
        ScanStatistics {
            ctx: self.planner.ctx,
        }
        .scan_statistics(source, columns, projection, filters)
    }

    fn join_matches(
        &self,
        left: &LogicalPlan,
        right: &LogicalPlan,
        key: (crate::plan::ColumnId, crate::plan::ColumnId),
    ) -> Option<stats::JoinMatches> {
        ScanStatistics {
            ctx: self.planner.ctx,
        }
        .join_matches(left, right, key)
    }
}

/// Whether some expression of `plan` holds a subquery.
fn has_subquery(plan: &LogicalPlan) -> bool {
    plan.exprs().iter().any(|e| e.has_subquery()) || plan.inputs().into_iter().any(has_subquery)
}

/// The aggregates with GROUP BY keys in `plan`, for [`PhysicalPlanner::total_over_groups`]
/// (one with a subquery of its own never matches: it has no reuse key).
fn collect_grouped_aggregates(plan: &LogicalPlan, out: &mut Vec<LogicalPlan>) {
    if let LogicalPlan::Aggregate { group, .. } = plan {
        if !group.is_empty() {
            out.push(plan.clone());
        }
    }
    for i in plan.inputs() {
        collect_grouped_aggregates(i, out);
    }
}
