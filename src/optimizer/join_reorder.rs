//! Cost-based join reorder. A tree of inner and cross joins (with the filter above it)
//! is flattened into its inputs ("relations") and conditions; the conditions that
//! connect two relations are the edges of the join graph. The cheapest bushy join tree
//! is found by dynamic programming over connected subgraphs, DPccp (Moerkotte and
//! Neumann, "Analysis of Two Existing and One New Dynamic Programming Algorithm for the
//! Generation of Optimal Bushy Join Trees without Cross Products", VLDB 2006), for up
//! to [`DP_LIMIT`] relations; beyond that greedy operator ordering (GOO: join the
//! connected pair with the smallest result first). Cross products are formed only
//! between disconnected parts of the graph (the query demands them), smallest first.
//!
//! Cost is `C_out` (the sum of the estimated rows of every intermediate result) plus the
//! rows of each join's build side; the smaller input of each join is put on the right,
//! the hash join's build side. The estimate of a set of relations does not depend on
//! how it was joined: the product of their rows, times each connected pair's equi-join
//! selectivity ([`stats::equi_join_rows`]), times the selectivity of every other
//! condition it covers. Outer, semi and anti joins are not reordered across (their
//! inputs are reordered inside). Conditions go back as one filter above the new tree;
//! predicate pushdown then makes each the key of the lowest join covering it.

use std::collections::{HashMap, HashSet};

use super::stats::{self, Statistics, StatisticsProvider};
use super::{OptimizerContext, OptimizerRule};
use crate::error::{QuarryError, Result};
use crate::plan::{BinOp, ColumnId, Expr, JoinType, LogicalPlan};

/// Relations up to which the join order is found by DPccp (exact); more use GOO.
pub const DP_LIMIT: usize = 12;

pub struct JoinReorder;

impl OptimizerRule for JoinReorder {
    fn name(&self) -> &'static str {
        "join_reorder"
    }
    fn rewrite(&self, plan: LogicalPlan, ctx: &OptimizerContext) -> Result<LogicalPlan> {
        reorder(plan, ctx.statistics)
    }
}

/// Collect the inputs and conditions of an inner/cross join tree.
fn flatten(p: LogicalPlan, leaves: &mut Vec<LogicalPlan>, conds: &mut Vec<Expr>) {
    match p {
        LogicalPlan::Join {
            left,
            right,
            join_type: JoinType::Inner | JoinType::Cross,
            on,
            filter,
        } => {
            flatten(*left, leaves, conds);
            flatten(*right, leaves, conds);
            for (l, r) in on {
                conds.push(Expr::binary(
                    BinOp::Eq,
                    l,
                    r,
                    arrow::datatypes::DataType::Boolean,
                ));
            }
            if let Some(f) = filter {
                conds.extend(f.split_conjunction());
            }
        }
        other => leaves.push(other),
    }
}

fn reorder(plan: LogicalPlan, provider: &dyn StatisticsProvider) -> Result<LogicalPlan> {
    let (plan, above) = match plan {
        LogicalPlan::Filter { input, predicate } if input.is_inner_join() => {
            (*input, Some(predicate))
        }
        p => (p, None),
    };
    if !plan.is_inner_join() {
        let plan = plan.map_inputs(&mut |p| reorder(p, provider))?;
        return Ok(match above {
            Some(predicate) => LogicalPlan::Filter {
                input: Box::new(plan),
                predicate,
            },
            None => plan,
        });
    }
    let mut leaves = vec![];
    let mut conds = vec![];
    flatten(plan, &mut leaves, &mut conds);
    if let Some(p) = above {
        conds.extend(p.split_conjunction());
    }
    let leaves: Vec<LogicalPlan> = leaves
        .into_iter()
        .map(|l| reorder(l, provider))
        .collect::<Result<_>>()?;
    let leaf_stats: Vec<Statistics> = leaves
        .iter()
        .map(|l| stats::estimate(l, provider))
        .collect::<Result<_>>()?;
    let sampled = |i: usize, j: usize, key: (ColumnId, ColumnId)| {
        provider.join_matches(&leaves[i], &leaves[j], key)
    };
    let graph = JoinGraph::new(&leaves, leaf_stats, &conds, &sampled);
    let tree = graph.best_tree()?;
    let (implied, needed) = graph.class_conditions(&tree);
    let conds: Vec<Expr> = conds
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !implied.contains(i))
        .map(|(_, c)| c)
        .chain(needed)
        .collect();
    let mut slots: Vec<Option<LogicalPlan>> = leaves.into_iter().map(Some).collect();
    let plan = build(&tree, &mut slots)?;
    Ok(match Expr::conjunction(conds) {
        Some(predicate) => LogicalPlan::Filter {
            input: Box::new(plan),
            predicate,
        },
        None => plan,
    })
}

/// A join tree over relation indexes; `Join(probe, build)`.
#[derive(Clone, Debug, PartialEq)]
pub enum JoinTree {
    Leaf(usize),
    Join(Box<JoinTree>, Box<JoinTree>),
}

fn build(t: &JoinTree, slots: &mut [Option<LogicalPlan>]) -> Result<LogicalPlan> {
    Ok(match t {
        JoinTree::Leaf(i) => slots.get_mut(*i).and_then(|s| s.take()).ok_or_else(|| {
            QuarryError::Internal(format!("join reorder: relation {i} used twice"))
        })?,
        JoinTree::Join(l, r) => LogicalPlan::Join {
            left: Box::new(build(l, slots)?),
            right: Box::new(build(r, slots)?),
            join_type: JoinType::Cross,
            on: vec![],
            filter: None,
        },
    })
}

/// The join graph: relations with their statistics, and what each condition costs.
pub struct JoinGraph {
    n: usize,
    rows: Vec<f64>,
    /// Neighbours of each relation (bit set).
    adj: Vec<u64>,
    /// Selectivity factors: (relations the factor needs, factor).
    factors: Vec<(u64, f64)>,
    /// Canonical rank of each relation (by its plan text), for deterministic ties.
    rank: Vec<usize>,
    /// Equivalence classes of join keys over three or more relations (see
    /// [`KeyClass`]): their selectivity, counted once per class.
    classes: Vec<KeyClass>,
}

/// Columns of three or more relations that equi-join conditions make equal (`c_nationkey
/// = s_nationkey AND s_nationkey = n_nationkey`): every pair of its relations is joinable
/// (`c_nationkey = n_nationkey` is implied), and the rows of a set of its relations take
/// the class's selectivity once: the product over a maximum spanning tree of the
/// pairwise factors `1/max(NDV)`, which divides by every NDV but the smallest, the
/// textbook estimate of a join of several relations on one key. Only single-key joins
/// form classes (a composite key, TPC-H Q9's `l_partkey, l_suppkey` = a partsupp row, is
/// estimated as one), and only where each relation has one column in the class.
#[derive(Clone, Debug)]
struct KeyClass {
    /// Each relation's column in the class.
    members: Vec<(usize, crate::plan::Column)>,
    /// Pairwise factors (relation, relation, factor), largest first.
    pairs: Vec<(usize, usize, f64)>,
    /// The written conditions of the class: (condition index, relation, relation).
    conds: Vec<(usize, usize, usize)>,
}

impl KeyClass {
    /// The class's selectivity over the relations in `s` (1 when fewer than two).
    fn factor(&self, s: u64) -> f64 {
        // Kruskal over the largest factors first: components as bit sets
        let mut comps: Vec<u64> = self
            .members
            .iter()
            .filter(|(r, _)| s & (1u64 << r) != 0)
            .map(|(r, _)| 1u64 << r)
            .collect();
        let mut f = 1.0;
        for (i, j, x) in &self.pairs {
            let (bi, bj) = (1u64 << i, 1u64 << j);
            if s & bi == 0 || s & bj == 0 {
                continue;
            }
            let (Some(a), Some(b)) = (
                comps.iter().position(|c| c & bi != 0),
                comps.iter().position(|c| c & bj != 0),
            ) else {
                continue;
            };
            if a != b {
                f *= x;
                let merged = comps[a] | comps[b];
                comps[a] = merged;
                comps.swap_remove(b);
            }
        }
        f
    }

    fn relabel(&self, to: &dyn Fn(usize) -> usize) -> KeyClass {
        KeyClass {
            members: self
                .members
                .iter()
                .map(|(r, c)| (to(*r), c.clone()))
                .collect(),
            pairs: self
                .pairs
                .iter()
                .map(|(i, j, f)| (to(*i), to(*j), *f))
                .collect(),
            conds: self
                .conds
                .iter()
                .map(|(k, i, j)| (*k, to(*i), to(*j)))
                .collect(),
        }
    }
}

#[derive(Clone)]
struct Entry {
    rows: f64,
    cost: f64,
    tree: JoinTree,
    /// The tree's canonical text (relation ranks, `(probe,build)`), to break ties
    /// between equal costs whatever the FROM order.
    sig: String,
}

fn bits(s: u64) -> impl Iterator<Item = usize> {
    (0..64).filter(move |i| s & (1u64 << i) != 0)
}

/// Non-empty subsets of `n`, in increasing order.
fn subsets(n: u64) -> Vec<u64> {
    let mut out = vec![];
    let mut s: u64 = 0;
    loop {
        s = s.wrapping_sub(n) & n;
        if s == 0 {
            break;
        }
        out.push(s);
    }
    out
}

/// `{v_0 .. v_i}`.
fn low(i: usize) -> u64 {
    if i >= 63 {
        u64::MAX
    } else {
        (1u64 << (i + 1)) - 1
    }
}

/// The key classes of `conds` (see [`KeyClass`]); `owner`: each column's relation.
fn key_classes(
    owner: &HashMap<ColumnId, usize>,
    leaf_stats: &[Statistics],
    conds: &[Expr],
    sampled: &Sampled,
) -> Vec<KeyClass> {
    // equi-join conditions between two relations: (index, column, column, relations)
    let equi: Vec<_> = conds
        .iter()
        .enumerate()
        .filter_map(|(k, c)| {
            let (a, ia, b, ib) = equi_join_key(c, owner)?;
            Some((k, a.clone(), b.clone(), ia.min(ib), ia.max(ib), ia, ib))
        })
        .collect();
    // relation pairs joined on more than one key: a composite key, left as it is
    let mut keys_per_pair: HashMap<(usize, usize), usize> = HashMap::new();
    for e in &equi {
        *keys_per_pair.entry((e.3, e.4)).or_default() += 1;
    }
    let composite: HashSet<ColumnId> = equi
        .iter()
        .filter(|e| keys_per_pair[&(e.3, e.4)] > 1)
        .flat_map(|e| [e.1.id, e.2.id])
        .collect();
    let single: Vec<_> = equi
        .into_iter()
        .filter(|e| !composite.contains(&e.1.id) && !composite.contains(&e.2.id))
        .collect();
    // union-find over the columns
    let mut parent: HashMap<ColumnId, ColumnId> = HashMap::new();
    let find = super::class_root;
    for e in &single {
        let (a, b) = (find(&mut parent, e.1.id), find(&mut parent, e.2.id));
        if a != b {
            parent.insert(a, b);
        }
    }
    let mut by_root: HashMap<ColumnId, KeyClass> = HashMap::new();
    let mut order: Vec<ColumnId> = vec![];
    for e in &single {
        let root = find(&mut parent, e.1.id);
        let class = by_root.entry(root).or_insert_with(|| {
            order.push(root);
            KeyClass {
                members: vec![],
                pairs: vec![],
                conds: vec![],
            }
        });
        for (rel, col) in [(e.5, &e.1), (e.6, &e.2)] {
            if !class.members.iter().any(|(_, c)| c.id == col.id) {
                class.members.push((rel, col.clone()));
            }
        }
        class.conds.push((e.0, e.5, e.6));
    }
    let mut out = vec![];
    for root in order {
        let Some(mut class) = by_root.remove(&root) else {
            continue;
        };
        let rels: HashSet<usize> = class.members.iter().map(|(r, _)| *r).collect();
        if class.members.len() < 3 || rels.len() != class.members.len() {
            continue;
        }
        for (x, (i, a)) in class.members.iter().enumerate() {
            for (j, b) in &class.members[x + 1..] {
                // measured for the pairs a written condition joins (the implied ones
                // are not sampled: a class of n relations would take n² samples)
                let written = class
                    .conds
                    .iter()
                    .any(|(_, x, y)| (x, y) == (i, j) || (x, y) == (j, i));
                let f = if written {
                    sampled_pair_factor(&leaf_stats, (*i, *j), (a.id, b.id), sampled)
                } else {
                    pair_factor(&leaf_stats[*i], &leaf_stats[*j], &[(a.id, b.id)])
                };
                class.pairs.push((*i, *j, f));
            }
        }
        class.pairs.sort_by(|x, y| y.2.total_cmp(&x.2));
        out.push(class);
    }
    out
}

/// `a = b` between columns of two different relations (an equi-join key): the columns
/// and their relations.
fn equi_join_key<'e>(
    c: &'e Expr,
    owner: &HashMap<ColumnId, usize>,
) -> Option<(
    &'e crate::plan::Column,
    usize,
    &'e crate::plan::Column,
    usize,
)> {
    let Expr::Binary {
        op: BinOp::Eq,
        left,
        right,
        ..
    } = c
    else {
        return None;
    };
    let (Expr::Column(a), Expr::Column(b)) = (left.as_ref(), right.as_ref()) else {
        return None;
    };
    let (ia, ib) = (*owner.get(&a.id)?, *owner.get(&b.id)?);
    (ia != ib).then_some((a, ia, b, ib))
}

/// The sampled partners per row of joining relations `i` and `j` on one key pair (`i`'s
/// column, `j`'s column): [`StatisticsProvider::join_matches`], `None` when not sampled.
type Sampled<'a> = dyn Fn(usize, usize, (ColumnId, ColumnId)) -> Option<stats::JoinMatches> + 'a;

/// [`pair_factor`] of relations `i` and `j` on one key pair, from their sampled partners
/// per row where there is a sample ([`stats::sampled_join_rows`]).
fn sampled_pair_factor(
    leaf_stats: &[Statistics],
    (i, j): (usize, usize),
    key: (ColumnId, ColumnId),
    sampled: &Sampled,
) -> f64 {
    let (l, r) = (&leaf_stats[i], &leaf_stats[j]);
    let prod = l.rows.max(0.0) * r.rows.max(0.0);
    match sampled(i, j, key) {
        Some(m) if prod > 0.0 => (stats::sampled_join_rows(l.rows, r.rows, m) / prod).min(1.0),
        _ => pair_factor(l, r, &[key]),
    }
}

/// The selectivity of joining two relations on `keys`: their estimated join rows
/// ([`stats::equi_join_rows`]) over the product of their rows, at most 1.
fn pair_factor(l: &Statistics, r: &Statistics, keys: &[(ColumnId, ColumnId)]) -> f64 {
    let prod = l.rows.max(0.0) * r.rows.max(0.0);
    if prod > 0.0 {
        (stats::equi_join_rows(l, r, keys) / prod).min(1.0)
    } else {
        1.0
    }
}

impl JoinGraph {
    /// Build the graph of `leaves` (with their estimated statistics) and `conds`; a
    /// single-key join's selectivity comes from its sample where `sampled` has one.
    pub fn new(
        leaves: &[LogicalPlan],
        leaf_stats: Vec<Statistics>,
        conds: &[Expr],
        sampled: &Sampled,
    ) -> JoinGraph {
        let n = leaves.len();
        let mut owner: HashMap<ColumnId, usize> = HashMap::new();
        for (i, l) in leaves.iter().enumerate() {
            for c in l.schema() {
                owner.insert(c.id, i);
            }
        }
        let mut adj = vec![0u64; n];
        let mut factors = vec![];
        // equi-join keys per pair of relations
        let mut keys: HashMap<(usize, usize), Vec<(ColumnId, ColumnId)>> = HashMap::new();
        let mut all = Statistics::unknown(1e18);
        for s in &leaf_stats {
            all.columns.extend(s.columns.clone());
        }
        let classes = key_classes(&owner, &leaf_stats, conds, sampled);
        let in_class: HashSet<usize> = classes
            .iter()
            .flat_map(|k| k.conds.iter().map(|(i, ..)| *i))
            .collect();
        for class in &classes {
            for (i, j, _) in &class.pairs {
                adj[*i] |= 1u64 << j;
                adj[*j] |= 1u64 << i;
            }
        }
        for (index, c) in conds.iter().enumerate() {
            if in_class.contains(&index) {
                continue;
            }
            let rels: HashSet<usize> = c
                .column_ids()
                .iter()
                .filter_map(|id| owner.get(id).copied())
                .collect();
            let mask = rels.iter().fold(0u64, |m, i| m | (1u64 << i));
            if rels.len() == 2 {
                let mut v: Vec<usize> = rels.iter().copied().collect();
                v.sort();
                adj[v[0]] |= 1u64 << v[1];
                adj[v[1]] |= 1u64 << v[0];
                if let Some((a, ia, b, ib)) = equi_join_key(c, &owner) {
                    let k = if ia < ib {
                        ((ia, ib), (a.id, b.id))
                    } else {
                        ((ib, ia), (b.id, a.id))
                    };
                    keys.entry(k.0).or_default().push(k.1);
                    continue;
                }
            }
            if mask != 0 {
                factors.push((mask, stats::selectivity(c, &all)));
            }
        }
        let rows: Vec<f64> = leaf_stats.iter().map(|s| s.rows.max(0.0)).collect();
        let mut pairs: Vec<_> = keys.into_iter().collect();
        pairs.sort_by_key(|(k, _)| *k);
        for ((i, j), ks) in pairs {
            let f = match ks.as_slice() {
                [key] => sampled_pair_factor(&leaf_stats, (i, j), *key, sampled),
                _ => pair_factor(&leaf_stats[i], &leaf_stats[j], &ks),
            };
            factors.push(((1u64 << i) | (1u64 << j), f));
        }
        let texts: Vec<String> = leaves.iter().map(|l| l.to_string()).collect();
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by(|a, b| texts[*a].cmp(&texts[*b]).then(a.cmp(b)));
        let mut rank = vec![0; n];
        for (r, i) in idx.into_iter().enumerate() {
            rank[i] = r;
        }
        JoinGraph {
            n,
            rows,
            adj,
            factors,
            rank,
            classes,
        }
    }

    /// Estimated rows of the join of the relations in `s`.
    fn rows_of(&self, s: u64) -> f64 {
        let mut r: f64 = bits(s).map(|i| self.rows[i]).product();
        for (m, f) in &self.factors {
            if m & s == *m {
                r *= f;
            }
        }
        for class in &self.classes {
            r *= class.factor(s);
        }
        r
    }

    /// The equi-join conditions the tree `t` needs from the key classes: at each join
    /// whose two sides both hold relations of a class, exactly one equality of the
    /// class (each side's members are equal already): a written one where the query
    /// has one (further written ones there are implied and dropped, as indexes into
    /// the conditions), else an implied one (returned, to add).
    fn class_conditions(&self, t: &JoinTree) -> (HashSet<usize>, Vec<Expr>) {
        fn mask(t: &JoinTree) -> u64 {
            match t {
                JoinTree::Leaf(i) => 1u64 << i,
                JoinTree::Join(l, r) => mask(l) | mask(r),
            }
        }
        fn walk(g: &JoinGraph, t: &JoinTree, drop: &mut HashSet<usize>, add: &mut Vec<Expr>) {
            let JoinTree::Join(l, r) = t else { return };
            walk(g, l, drop, add);
            walk(g, r, drop, add);
            let (ml, mr) = (mask(l), mask(r));
            for class in &g.classes {
                let side = |m: u64| class.members.iter().find(|(rel, _)| m & (1u64 << rel) != 0);
                let (Some((_, a)), Some((_, b))) = (side(ml), side(mr)) else {
                    continue;
                };
                let crossing: Vec<usize> = class
                    .conds
                    .iter()
                    .filter(|(_, i, j)| {
                        let (bi, bj) = (1u64 << i, 1u64 << j);
                        (ml & bi != 0 && mr & bj != 0) || (ml & bj != 0 && mr & bi != 0)
                    })
                    .map(|(k, ..)| *k)
                    .collect();
                match crossing.split_first() {
                    Some((_, implied)) => drop.extend(implied.iter().copied()),
                    None => add.push(Expr::binary(
                        BinOp::Eq,
                        Expr::Column(a.clone()),
                        Expr::Column(b.clone()),
                        arrow::datatypes::DataType::Boolean,
                    )),
                }
            }
        }
        let (mut drop, mut add) = (HashSet::new(), vec![]);
        walk(self, t, &mut drop, &mut add);
        (drop, add)
    }

    fn neigh(&self, s: u64) -> u64 {
        bits(s).fold(0u64, |m, i| m | self.adj[i]) & !s
    }

    /// The (probe, build) sides of joining two entries: the smaller input builds.
    fn sides<'e>(&self, a: &'e Entry, b: &'e Entry) -> (&'e Entry, &'e Entry) {
        if b.rows < a.rows || (b.rows == a.rows && b.sig <= a.sig) {
            (a, b)
        } else {
            (b, a)
        }
    }

    /// Join two entries: the smaller input is the build (right) side.
    fn join(&self, s: u64, a: &Entry, b: &Entry) -> Entry {
        self.join_rows(self.rows_of(s), a, b)
    }

    /// [`JoinGraph::join`] where the result's rows are known.
    fn join_rows(&self, rows: f64, a: &Entry, b: &Entry) -> Entry {
        let (probe, build) = self.sides(a, b);
        Entry {
            rows,
            cost: a.cost + b.cost + rows + build.rows,
            tree: JoinTree::Join(Box::new(probe.tree.clone()), Box::new(build.tree.clone())),
            sig: format!("({},{})", probe.sig, build.sig),
        }
    }

    /// The cheapest tree over all relations.
    pub fn best_tree(&self) -> Result<JoinTree> {
        if self.n == 0 {
            return Err(QuarryError::Internal("join reorder: no relations".into()));
        }
        let parts = if self.n <= DP_LIMIT {
            self.dpccp()
        } else {
            self.goo()
        };
        // disconnected parts: cross products, smallest first
        let mut parts = parts;
        parts.sort_by(|a, b| a.rows.total_cmp(&b.rows).then_with(|| a.sig.cmp(&b.sig)));
        let mut it = parts.into_iter();
        let mut acc = it
            .next()
            .ok_or_else(|| QuarryError::Internal("join reorder: empty".into()))?;
        for p in it {
            // the bigger side probes
            acc = Entry {
                rows: acc.rows * p.rows,
                cost: acc.cost + p.cost + acc.rows * p.rows,
                tree: JoinTree::Join(Box::new(p.tree), Box::new(acc.tree)),
                sig: format!("({},{})", p.sig, acc.sig),
            };
        }
        Ok(acc.tree)
    }

    /// Connected components (bit sets), in order of their lowest relation.
    fn components(&self) -> Vec<u64> {
        let mut seen = 0u64;
        let mut out = vec![];
        for i in 0..self.n {
            if seen & (1u64 << i) != 0 {
                continue;
            }
            let mut comp = 1u64 << i;
            loop {
                let next = comp | self.neigh(comp);
                if next == comp {
                    break;
                }
                comp = next;
            }
            seen |= comp;
            out.push(comp);
        }
        out
    }

    fn leaf(&self, i: usize) -> Entry {
        Entry {
            rows: self.rows[i],
            cost: 0.0,
            tree: JoinTree::Leaf(i),
            sig: self.rank[i].to_string(),
        }
    }

    /// DPccp over the whole graph; returns the best entry of each connected component.
    fn dpccp(&self) -> Vec<Entry> {
        // the algorithm needs a breadth-first numbering; relabel, solve, map back
        let mut order: Vec<usize> = vec![];
        for comp in self.components() {
            let start = comp.trailing_zeros() as usize;
            let mut queue = std::collections::VecDeque::from([start]);
            let mut seen = 1u64 << start;
            while let Some(v) = queue.pop_front() {
                order.push(v);
                for w in bits(self.adj[v]) {
                    if seen & (1u64 << w) == 0 {
                        seen |= 1u64 << w;
                        queue.push_back(w);
                    }
                }
            }
        }
        let mut pos = vec![0; self.n];
        for (k, v) in order.iter().enumerate() {
            pos[*v] = k;
        }
        let relabel = |s: u64, to: &dyn Fn(usize) -> usize| -> u64 {
            bits(s).fold(0u64, |m, i| m | (1u64 << to(i)))
        };
        let g = JoinGraph {
            n: self.n,
            rows: order.iter().map(|v| self.rows[*v]).collect(),
            adj: order
                .iter()
                .map(|v| relabel(self.adj[*v], &|i| pos[i]))
                .collect(),
            factors: self
                .factors
                .iter()
                .map(|(m, f)| (relabel(*m, &|i| pos[i]), *f))
                .collect(),
            rank: order.iter().map(|v| self.rank[*v]).collect(),
            classes: self
                .classes
                .iter()
                .map(|c| c.relabel(&|i| pos[i]))
                .collect(),
        };
        // the best entry of each connected subset, indexed by the subset (n <= DP_LIMIT)
        let mut dp: Vec<Option<Entry>> = vec![None; 1usize << g.n];
        for i in 0..g.n {
            dp[1usize << i] = Some(g.leaf(i));
        }
        let mut run = Dp { g: &g, dp };
        for i in (0..g.n).rev() {
            let v = 1u64 << i;
            run.emit_csg(v);
            run.enum_csg_rec(v, low(i));
        }
        let comps = g.components();
        fn back(t: &JoinTree, order: &[usize]) -> JoinTree {
            match t {
                JoinTree::Leaf(i) => JoinTree::Leaf(order[*i]),
                JoinTree::Join(l, r) => {
                    JoinTree::Join(Box::new(back(l, order)), Box::new(back(r, order)))
                }
            }
        }
        comps
            .into_iter()
            .filter_map(|c| run.dp.get_mut(c as usize).and_then(Option::take))
            .map(|e| Entry {
                tree: back(&e.tree, &order),
                ..e
            })
            .collect()
    }

    /// Greedy operator ordering: join the connected pair with the smallest result.
    fn goo(&self) -> Vec<Entry> {
        let mut parts: Vec<(u64, Entry)> = (0..self.n).map(|i| (1u64 << i, self.leaf(i))).collect();
        loop {
            let mut best: Option<(usize, usize, Entry)> = None;
            for a in 0..parts.len() {
                for b in a + 1..parts.len() {
                    if self.neigh(parts[a].0) & parts[b].0 == 0 {
                        continue;
                    }
                    let s = parts[a].0 | parts[b].0;
                    let e = self.join(s, &parts[a].1, &parts[b].1);
                    if best.as_ref().is_none_or(|(_, _, o)| e.rows < o.rows) {
                        best = Some((a, b, e));
                    }
                }
            }
            let Some((a, b, e)) = best else { break };
            let s = parts[a].0 | parts[b].0;
            parts.remove(b);
            parts[a] = (s, e);
        }
        parts.into_iter().map(|(_, e)| e).collect()
    }
}

/// DPccp's enumeration state.
struct Dp<'a> {
    g: &'a JoinGraph,
    dp: Vec<Option<Entry>>,
}

impl Dp<'_> {
    fn enum_csg_rec(&mut self, s: u64, x: u64) {
        let n = self.g.neigh(s) & !x;
        let subs = subsets(n);
        for &t in &subs {
            self.emit_csg(s | t);
        }
        for &t in &subs {
            self.enum_csg_rec(s | t, x | n);
        }
    }

    fn emit_csg(&mut self, s1: u64) {
        let min = s1.trailing_zeros() as usize;
        let x = s1 | low(min);
        let n = self.g.neigh(s1) & !x;
        for i in bits(n).collect::<Vec<_>>().into_iter().rev() {
            let v = 1u64 << i;
            self.emit_pair(s1, v);
            self.enum_cmp_rec(s1, v, x | (low(i) & n));
        }
    }

    fn enum_cmp_rec(&mut self, s1: u64, s2: u64, x: u64) {
        let n = self.g.neigh(s2) & !x;
        let subs = subsets(n);
        for &t in &subs {
            self.emit_pair(s1, s2 | t);
        }
        for &t in &subs {
            self.enum_cmp_rec(s1, s2 | t, x | n);
        }
    }

    fn emit_pair(&mut self, s1: u64, s2: u64) {
        let s = s1 | s2;
        let (Some(Some(a)), Some(Some(b)), Some(old)) = (
            self.dp.get(s1 as usize),
            self.dp.get(s2 as usize),
            self.dp.get(s as usize),
        ) else {
            return;
        };
        // a set's rows do not depend on the split: computed once per set. A split is
        // better when it costs less (beyond rounding) or, at an equal cost, when the
        // text its tree would have sorts first (so ties do not depend on the FROM
        // order); one that is not builds no tree.
        let rows = old.as_ref().map_or_else(|| self.g.rows_of(s), |o| o.rows);
        if let Some(o) = old {
            let (probe, build) = self.g.sides(a, b);
            let cost = a.cost + b.cost + rows + build.rows;
            let tol = 1e-9 * o.cost.abs().max(1.0);
            let joined = b"("
                .iter()
                .chain(probe.sig.as_bytes())
                .chain(b",")
                .chain(build.sig.as_bytes())
                .chain(b")");
            let better = cost < o.cost - tol
                || (cost <= o.cost + tol && joined.cmp(o.sig.as_bytes().iter()).is_lt());
            if !better {
                return;
            }
        }
        let e = self.g.join_rows(rows, a, b);
        self.dp[s as usize] = Some(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(rows: Vec<f64>, edges: &[(usize, usize, f64)]) -> JoinGraph {
        let n = rows.len();
        let mut adj = vec![0u64; n];
        let mut factors = vec![];
        for (a, b, f) in edges {
            adj[*a] |= 1 << b;
            adj[*b] |= 1 << a;
            factors.push(((1u64 << a) | (1u64 << b), *f));
        }
        JoinGraph {
            n,
            rows,
            adj,
            factors,
            rank: (0..n).collect(),
            classes: vec![],
        }
    }

    /// Exhaustive DP over all subsets and all splits of each (no cross products): the
    /// reference DPccp must match.
    fn dpsub(g: &JoinGraph) -> f64 {
        let full = (1u64 << g.n) - 1;
        let mut dp: HashMap<u64, Entry> = HashMap::new();
        for i in 0..g.n {
            dp.insert(1 << i, g.leaf(i));
        }
        for s in 1..=full {
            if s.count_ones() < 2 {
                continue;
            }
            for s1 in subsets(s) {
                let s2 = s & !s1;
                if s2 == 0 || g.neigh(s1) & s2 == 0 {
                    continue;
                }
                let (Some(a), Some(b)) = (dp.get(&s1), dp.get(&s2)) else {
                    continue;
                };
                let e = g.join(s, a, b);
                if dp.get(&s).is_none_or(|o| e.cost < o.cost) {
                    dp.insert(s, e);
                }
            }
        }
        dp[&full].cost
    }

    fn cost_of(g: &JoinGraph, t: &JoinTree) -> (u64, f64) {
        match t {
            JoinTree::Leaf(i) => (1 << i, 0.0),
            JoinTree::Join(l, r) => {
                let (a, ca) = cost_of(g, l);
                let (b, cb) = cost_of(g, r);
                let s = a | b;
                (s, ca + cb + g.rows_of(s) + g.rows_of(a).min(g.rows_of(b)))
            }
        }
    }

    #[test]
    fn dpccp_matches_exhaustive_search() {
        // deterministic pseudo-random connected graphs of 2..=9 relations
        let mut seed: u64 = 42;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..60 {
            let n = 2 + round % 8;
            let rows: Vec<f64> = (0..n).map(|_| (1 + rnd() % 1_000_000) as f64).collect();
            let mut edges = vec![];
            for v in 1..n {
                // a spanning tree, then a few extra edges (cycles)
                let u = (rnd() as usize) % v;
                edges.push((u, v, 1.0 / (1 + rnd() % 10_000) as f64));
            }
            for _ in 0..(rnd() % 4) {
                let (a, b) = ((rnd() as usize) % n, (rnd() as usize) % n);
                if a != b
                    && !edges
                        .iter()
                        .any(|(x, y, _)| (*x, *y) == (a, b) || (*y, *x) == (a, b))
                {
                    edges.push((a, b, 1.0 / (1 + rnd() % 100) as f64));
                }
            }
            let g = graph(rows, &edges);
            let best = g.best_tree().unwrap();
            let (s, c) = cost_of(&g, &best);
            assert_eq!(s, (1u64 << n) - 1);
            let reference = dpsub(&g);
            assert!(
                (c - reference).abs() <= 1e-6 * reference.max(1.0),
                "round {round}: dpccp {c} vs exhaustive {reference}"
            );
        }
    }

    /// A key shared by three relations (NDVs 100, 10, 5: pairwise factors 1/100, 1/100,
    /// 1/10) counts its selectivity once: any two of them by their pair's factor, all
    /// three by 1/(100 * 10), never the product of all three pairs.
    #[test]
    fn a_key_class_divides_by_every_ndv_but_the_smallest() {
        let col =
            |i| crate::plan::Column::new(format!("k{i}"), arrow::datatypes::DataType::Int64, true);
        let class = KeyClass {
            members: (0..3).map(|i| (i, col(i))).collect(),
            pairs: vec![(1, 2, 0.1), (0, 1, 0.01), (0, 2, 0.01)],
            conds: vec![],
        };
        assert_eq!(class.factor(0b011), 0.01);
        assert_eq!(class.factor(0b110), 0.1);
        assert!((class.factor(0b111) - 0.001).abs() < 1e-12);
        assert_eq!(class.factor(0b001), 1.0);
    }

    #[test]
    fn a_star_joins_the_selective_dimension_first() {
        // fact 0 (1M rows) with dimensions 1 (10 rows after a filter, keeps 1%) and 2
        // (1000 rows, keeps everything)
        let g = graph(
            vec![1_000_000.0, 10.0, 1000.0],
            &[(0, 1, 0.001), (0, 2, 0.001)],
        );
        let t = g.best_tree().unwrap();
        assert_eq!(
            t,
            JoinTree::Join(
                Box::new(JoinTree::Join(
                    Box::new(JoinTree::Leaf(0)),
                    Box::new(JoinTree::Leaf(1))
                )),
                Box::new(JoinTree::Leaf(2))
            )
        );
    }

    #[test]
    fn disconnected_parts_are_crossed_smallest_first_and_goo_covers_all() {
        let g = graph(vec![5.0, 100.0, 7.0], &[(0, 1, 0.1)]);
        let t = g.best_tree().unwrap();
        assert_eq!(cost_of(&g, &t).0, 0b111);
        // 14 relations in a chain: greedy
        let n = 14;
        let edges: Vec<_> = (1..n).map(|v| (v - 1, v, 0.01)).collect();
        let g = graph((0..n).map(|i| 100.0 * (i + 1) as f64).collect(), &edges);
        let t = g.best_tree().unwrap();
        assert_eq!(cost_of(&g, &t).0, (1u64 << n) - 1);
    }
}
