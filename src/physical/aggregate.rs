//! HashAggregateExec: GROUP BY with vectorized accumulators.
//!
//! Each input partition (morsel) is aggregated into a thread-local state: a hash table
//! from the group key (one integer key as is; otherwise one byte string per row, in the
//! compact encoding of [`super::group_keys`] or, for key types it does not cover,
//! arrow-row's) to a dense group index, plus one accumulator
//! per aggregate. Local states are merged into one at the pipeline breaker, then
//! finished into a single output batch. Memory: one entry per distinct group per thread.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, UInt32Array};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::compute::{lexsort_to_indices, take, SortColumn, SortOptions};
use arrow::datatypes::{DataType, Int64Type, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};
use rayon::prelude::*;

use super::eval::{evaluate, layout_of, Layout};
use super::group_keys::{eq_short, CompactKeys};
use super::operators::{describe_sort_keys, PhysicalSortKey};
use super::{hash_i64, int_like, make_batch_as, ExecContext, ExecutionPlan, Metrics};
use crate::error::{QuarryError, Result};
use crate::functions::aggregate::{cast_arg, Accumulator, AggFunc};
use crate::plan::{AggregateExpr, ColumnId, Expr};

/// Hash aggregation into one partition (a pipeline breaker). Parallelized as per-thread
/// states (each worker folds the input partitions it takes, batch by batch), merged at
/// the end into the largest; order-sensitive aggregates ([`AggFunc::order_sensitive`])
/// fold one state per input partition instead and merge them in partition order. Memory:
/// the groups' keys and accumulators of every state until the merge.
pub struct HashAggregateExec {
    pub input: Arc<dyn ExecutionPlan>,
    group: Vec<Expr>,
    aggs: Vec<AggregateExpr>,
    ids: Vec<ColumnId>,
    schema: SchemaRef,
    layout: Layout,
    /// Fixed seeds: thread-local states must hash alike to merge by stored hash.
    hasher: ahash::RandomState,
    /// Only the first `k` groups by these keys (over the aggregate results) are wanted
    /// (an `ORDER BY ... LIMIT k` above): the results are finished for every group, the
    /// keys decoded only for the `k` chosen ([`HashAggregateExec::with_top_k`]).
    top_k: Option<(Vec<PhysicalSortKey>, usize)>,
    /// Per aggregate: a decimal `sum(x)` finished from the state of the `avg(x)` at this
    /// index (same arguments), so its values are not added twice.
    sum_of_avg: Vec<Option<usize>>,
    metrics: Metrics,
}

/// Group keys (encoded rows) -> dense group index, with each group's hash kept so
/// lookups compare hashes before bytes and growth never rehashes keys. No allocation
/// per row: a new group's key is appended to the last chunk of key bytes; chunks are
/// [`KEY_CHUNK`] bytes (a longer key gets one of its own), so the keys grow without the
/// copy (and the transient second buffer) of a growing `Vec` (TPC-H Q10 at SF10: 66 MB
/// of customer-column keys).
struct GroupTable {
    table: hashbrown::HashTable<u32>,
    hashes: Vec<u64>,
    /// Group `g`'s key: `chunks[c][start..start + len]` for `(c, start, len) = spans[g]`.
    spans: Vec<(u32, u32, u32)>,
    chunks: Vec<Vec<u8>>,
}

/// Bytes per chunk of [`GroupTable`] keys.
const KEY_CHUNK: usize = 1 << 20;

impl GroupTable {
    fn new() -> GroupTable {
        GroupTable {
            table: hashbrown::HashTable::new(),
            hashes: vec![],
            spans: vec![],
            chunks: vec![],
        }
    }

    fn len(&self) -> usize {
        self.hashes.len()
    }

    fn key(&self, g: usize) -> &[u8] {
        let (c, start, len) = self.spans[g];
        &self.chunks[c as usize][start as usize..(start + len) as usize]
    }

    /// The group of `key` (hash `h`), added when new.
    fn find_or_insert(&mut self, key: &[u8], h: u64) -> Result<usize> {
        if let Some(&g) = self.table.find(h, |&g| {
            self.hashes[g as usize] == h && eq_short(self.key(g as usize), key)
        }) {
            return Ok(g as usize);
        }
        let g = self.hashes.len();
        let too_many =
            || QuarryError::NotSupported("more than 4 billion groups in one aggregation".into());
        let g32 = u32::try_from(g).map_err(|_| too_many())?;
        let len = u32::try_from(key.len())
            .map_err(|_| QuarryError::NotSupported("a group key of more than 4 GiB".into()))?;
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.len() + key.len() <= c.capacity());
        if !fits {
            self.chunks
                .push(Vec::with_capacity(KEY_CHUNK.max(key.len())));
        }
        let c = self.chunks.len() - 1;
        let chunk = &mut self.chunks[c];
        let start = chunk.len() as u32;
        chunk.extend_from_slice(key);
        self.spans
            .push((u32::try_from(c).map_err(|_| too_many())?, start, len));
        self.hashes.push(h);
        let hashes = &self.hashes;
        self.table.insert_unique(h, g32, |&x| hashes[x as usize]);
        Ok(g)
    }
}

/// Groups of one integer-like key (ints, dates) widened to i64: no row encoding, keys
/// compared as integers; NULL is its own group.
///
/// While the keys arrive in increasing order (data clustered by the key: lineitem by
/// l_orderkey), the groups are kept as a sorted list with no index: a key past the
/// last is new, and an earlier one is found by binary search. The first key that breaks
/// the order (or a NULL) indexes the groups once, sized for the groups so far.
/// Sorted states merge without hashing: all of them at once by a k-way merge of their
/// key lists (`HashAggregateExec::merge_sorted_states`), two by walking both lists
/// ([`IntGroups::merge_sorted`]).
///
/// The index is a hash table, or, while the keys' range is dense (at most
/// [`DIRECT_DENSITY`] values per group, or at most [`DIRECT_SMALL`] values), an array
/// over the range holding each key's group: a lookup is one load, no hash and no key
/// comparison (perfect hashing over a small domain; TPC-H's keys are dense integers,
/// and Q13 groups 15M joined rows by 1.5M c_custkeys in random order). The array
/// grows with the range; a range grown too sparse moves the groups to the hash table,
/// and a hash table whose groups turn out dense (checked each time the group count
/// doubles) moves them to the array.
#[derive(Default)]
struct IntGroups {
    table: hashbrown::HashTable<u32>,
    keys: Vec<i64>,
    valid: Vec<bool>,
    null_group: Option<usize>,
    /// `keys` are strictly increasing (all valid) and nothing indexes them.
    sorted_mode: bool,
    /// Nothing indexes `keys` yet (after [`IntGroups::merge_sorted`]).
    unindexed: bool,
    /// The index is `direct`: group of key `k` at `direct[k - base]` ([`NO_GROUP`]
    /// when none); `table` is empty.
    direct_mode: bool,
    direct: Vec<u32>,
    base: i64,
    /// The smallest and largest key in `table` (for the move to the array).
    min_key: i64,
    max_key: i64,
}

/// An empty slot of [`IntGroups`]' array.
const NO_GROUP: u32 = u32::MAX;
/// A key range of at most this many values is always indexed by an array (256 KiB).
const DIRECT_SMALL: i128 = 1 << 16;
/// Otherwise at most this many key values per group (so the array, 4 bytes per value,
/// is at most 32 bytes per group: about a hash table's size)...
const DIRECT_DENSITY: i128 = 8;
/// ... and at most this many values (64 MiB).
const DIRECT_MAX: i128 = 1 << 24;

impl IntGroups {
    fn new() -> IntGroups {
        IntGroups {
            sorted_mode: true,
            min_key: i64::MAX,
            max_key: i64::MIN,
            ..Default::default()
        }
    }

    /// Whether a key range of `range` values may be indexed by an array now.
    fn dense(&self, range: i128) -> bool {
        range <= DIRECT_SMALL
            || (range <= DIRECT_MAX && range <= self.keys.len() as i128 * DIRECT_DENSITY)
    }

    /// Index every key (leaving the sorted mode): by an array when the keys are dense,
    /// else by the hash table.
    fn build_table(&mut self) {
        let (lo, hi) = self
            .keys
            .iter()
            .zip(&self.valid)
            .filter(|(_, v)| **v)
            .fold((i64::MAX, i64::MIN), |(lo, hi), (&k, _)| {
                (lo.min(k), hi.max(k))
            });
        self.sorted_mode = false;
        self.unindexed = false;
        let range = if lo > hi {
            0
        } else {
            hi as i128 - lo as i128 + 1
        };
        if self.dense(range) {
            self.table = hashbrown::HashTable::new();
            self.fill_direct(if lo > hi { 0 } else { lo }, range as usize);
            return;
        }
        let keys = &self.keys;
        let mut table = hashbrown::HashTable::with_capacity(keys.len() * 2);
        for (g, &k) in keys.iter().enumerate() {
            if self.valid[g] {
                table.insert_unique(hash_i64(k), g as u32, |&x| hash_i64(keys[x as usize]));
            }
        }
        self.table = table;
        self.direct_mode = false;
        self.direct = vec![];
        (self.min_key, self.max_key) = (lo, hi);
    }

    /// Index every valid key by an array of `size` slots from `base` (which holds them).
    fn fill_direct(&mut self, base: i64, size: usize) {
        let mut direct = vec![NO_GROUP; size];
        for (g, (&k, &v)) in self.keys.iter().zip(&self.valid).enumerate() {
            if v {
                direct[(k - base) as usize] = g as u32;
            }
        }
        self.direct = direct;
        self.base = base;
        self.direct_mode = true;
    }

    /// Widen the array to hold `v`: to at least twice its size, within the limits;
    /// false when the range would be too sparse (the caller moves to the hash table).
    fn grow_direct(&mut self, v: i64) -> bool {
        let len = self.direct.len() as i128;
        let (lo, hi) = if len == 0 {
            (v as i128, v as i128)
        } else {
            let (lo, hi) = (self.base as i128, self.base as i128 + len - 1);
            (lo.min(v as i128), hi.max(v as i128))
        };
        let need = hi - lo + 1;
        if !self.dense(need) {
            return false;
        }
        let size = need
            .max((2 * len).min(DIRECT_MAX))
            .max(1024.min(DIRECT_SMALL));
        // room on the side the new key came from
        let base = if len > 0 && (v as i128) < self.base as i128 {
            (hi - size + 1).max(i64::MIN as i128)
        } else {
            lo
        };
        let size = size.min(i64::MAX as i128 - base + 1) as usize;
        let base = base as i64;
        let mut direct = vec![NO_GROUP; size];
        if len > 0 {
            let off = (self.base as i128 - base as i128) as usize;
            direct[off..off + len as usize].copy_from_slice(&self.direct);
        }
        self.direct = direct;
        self.base = base;
        true
    }

    /// The group of `v` when the array indexes it (the hot path, inlined into the
    /// caller's loop); `None` sends the caller to [`IntGroups::find_or_insert`].
    #[inline(always)]
    fn find_direct(&self, v: i64) -> Option<usize> {
        if !self.direct_mode {
            return None;
        }
        match self.direct.get(v.wrapping_sub(self.base) as u64 as usize) {
            Some(&g) if g != NO_GROUP => Some(g as usize),
            _ => None,
        }
    }

    fn find_or_insert(&mut self, key: Option<i64>) -> Result<usize> {
        if self.sorted_mode {
            match (key, self.keys.last()) {
                (Some(v), None) => return self.push(v),
                (Some(v), Some(&last)) if v > last => return self.push(v),
                (Some(v), Some(_)) => {
                    if let Ok(g) = self.keys.binary_search(&v) {
                        return Ok(g);
                    }
                    self.build_table();
                }
                (None, _) => self.build_table(),
            }
        } else if self.unindexed {
            self.build_table();
        }
        let Some(v) = key else {
            if let Some(g) = self.null_group {
                return Ok(g);
            }
            let g = self.keys.len();
            self.keys.push(0);
            self.valid.push(false);
            self.null_group = Some(g);
            return Ok(g);
        };
        if self.direct_mode {
            let d = v.wrapping_sub(self.base) as u64;
            if let Some(&g) = self.direct.get(d as usize) {
                if g != NO_GROUP {
                    return Ok(g as usize);
                }
                let g = self.push(v)?;
                self.direct[d as usize] = g as u32;
                return Ok(g);
            }
            if self.grow_direct(v) {
                let g = self.push(v)?;
                self.direct[(v - self.base) as usize] = g as u32;
                return Ok(g);
            }
            let g = self.push(v)?;
            self.build_table();
            return Ok(g);
        }
        let h = hash_i64(v);
        // (the table holds only non-NULL groups)
        let keys = &self.keys;
        if let Some(&g) = self.table.find(h, |&g| keys[g as usize] == v) {
            return Ok(g as usize);
        }
        let g = self.push(v)?;
        let keys = &self.keys;
        self.table
            .insert_unique(h, g as u32, |&x| hash_i64(keys[x as usize]));
        (self.min_key, self.max_key) = (self.min_key.min(v), self.max_key.max(v));
        if g >= 4096 && (g + 1).is_power_of_two() {
            let range = self.max_key as i128 - self.min_key as i128 + 1;
            if self.dense(range) {
                self.table = hashbrown::HashTable::new();
                self.fill_direct(self.min_key, range as usize);
            }
        }
        Ok(g)
    }

    /// The group of each of `keys` (none NULL), added when new, pushed to `out`. A run
    /// of one key (clustered data: lineitem by l_orderkey) takes the previous row's
    /// group without a lookup, which is a cache miss once the table outgrows the caches.
    #[inline]
    fn groups_of(&mut self, keys: impl Iterator<Item = i64>, out: &mut Vec<usize>) -> Result<()> {
        let mut last: Option<(i64, usize)> = None;
        for v in keys {
            let g = match last {
                Some((k, g)) if k == v => g,
                _ => match self.find_direct(v) {
                    Some(g) => g,
                    None => self.find_or_insert(Some(v))?,
                },
            };
            last = Some((v, g));
            out.push(g);
        }
        Ok(())
    }

    /// A new group for `v` (not indexed).
    fn push(&mut self, v: i64) -> Result<usize> {
        let g = self.keys.len();
        u32::try_from(g).map_err(|_| {
            QuarryError::NotSupported("more than 4 billion groups in one aggregation".into())
        })?;
        self.keys.push(v);
        self.valid.push(true);
        Ok(g)
    }

    /// The groups of `other` in `self`, both in the sorted mode: a walk over both key
    /// lists, the keys `self` lacks appended. `self` is left unindexed.
    fn merge_sorted(&mut self, other: &IntGroups) -> Result<Vec<usize>> {
        let n = self.keys.len();
        let mut i = 0;
        let mut mapping = Vec::with_capacity(other.keys.len());
        for &k in &other.keys {
            while i < n && self.keys[i] < k {
                i += 1;
            }
            if i < n && self.keys[i] == k {
                mapping.push(i);
            } else {
                mapping.push(self.push(k)?);
            }
        }
        self.sorted_mode = false;
        self.unindexed = true;
        Ok(mapping)
    }

    /// Room for `extra` more groups (the table only when it is in use).
    fn reserve(&mut self, extra: usize) {
        if !self.sorted_mode && !self.unindexed && !self.direct_mode {
            let keys = &self.keys;
            self.table.reserve(extra, |&x| hash_i64(keys[x as usize]));
        }
        self.keys.reserve(extra);
        self.valid.reserve(extra);
    }
}

/// The group keys of a state: encoded rows, one integer column, or compact keys
/// packed into integers ([`CompactKeys::pack`]; never NULL as integers).
enum Groups {
    Rows(GroupTable),
    Int(IntGroups),
    Packed(IntGroups),
}

impl Groups {
    fn len(&self) -> usize {
        match self {
            Groups::Rows(t) => t.len(),
            Groups::Int(t) | Groups::Packed(t) => t.keys.len(),
        }
    }

    /// Packed keys as encoded rows (for a batch whose keys do not fit in 8 bytes, or to
    /// merge with a state that has rows): group numbers stay as they were.
    fn unpack(&mut self, enc: &CompactKeys, hasher: &ahash::RandomState) -> Result<()> {
        let Groups::Packed(p) = self else {
            return Ok(());
        };
        let mut t = GroupTable::new();
        for &k in &p.keys {
            let bytes = (k as u64).to_le_bytes();
            let len = enc
                .encoded_len(&bytes)
                .ok_or_else(|| QuarryError::Internal("malformed packed group key".into()))?;
            let key = &bytes[..len];
            t.find_or_insert(key, hasher.hash_one(key))?;
        }
        *self = Groups::Rows(t);
        Ok(())
    }
}

struct State {
    groups: Groups,
    accs: Vec<Box<dyn Accumulator>>,
    /// Reused encoding buffers (compact keys): the batch's keys and their offsets.
    key_data: Vec<u8>,
    key_offsets: Vec<usize>,
    /// Reused buffer of packed keys.
    packed: Vec<u64>,
}

impl State {
    /// Whether this state's groups are one integer key in the sorted mode.
    fn is_sorted(&self) -> bool {
        matches!(&self.groups, Groups::Int(t) if t.sorted_mode)
    }
}

/// How multi-column (or non-integer) group keys become byte strings.
enum KeyEncoder {
    Compact(CompactKeys),
    Row(RowConverter),
}

impl KeyEncoder {
    /// The key columns of the given encoded keys.
    fn decode(&self, keys: &[&[u8]]) -> Result<Vec<ArrayRef>> {
        match self {
            KeyEncoder::Compact(c) => c.decode(keys),
            KeyEncoder::Row(conv) => {
                let parser = conv.parser();
                let rows: Vec<arrow::row::Row> = keys.iter().map(|k| parser.parse(k)).collect();
                Ok(conv.convert_rows(rows)?)
            }
        }
    }
}

impl HashAggregateExec {
    pub fn new(
        input: Arc<dyn ExecutionPlan>,
        group: Vec<Expr>,
        aggs: Vec<AggregateExpr>,
        ids: Vec<ColumnId>,
        schema: SchemaRef,
    ) -> Self {
        let layout = layout_of(input.ids());
        let hasher = ahash::RandomState::with_seeds(0x6a, 0x09, 0xe6, 0x67);
        let decimal = |a: &AggregateExpr, f: AggFunc| {
            a.func == f && !a.distinct && matches!(a.data_type, DataType::Decimal128(..))
        };
        let sum_of_avg = aggs
            .iter()
            .map(|s| {
                if !decimal(s, AggFunc::Sum) {
                    return None;
                }
                aggs.iter()
                    .position(|a| decimal(a, AggFunc::Avg) && a.args == s.args)
            })
            .collect();
        HashAggregateExec {
            input,
            group,
            aggs,
            ids,
            schema,
            layout,
            hasher,
            top_k: None,
            sum_of_avg,
            metrics: Metrics::default(),
        }
    }

    /// Return only the first `k` groups in the order of `keys`, which read aggregate
    /// results only (never group columns; a sort above still orders them, and groups
    /// tied at the k-th place are interchangeable, as for any top-k). Decoding the keys
    /// of wide groups is then done for `k` groups instead of all (TPC-H Q10 at SF10:
    /// 381K groups of seven customer columns, 20 kept).
    pub fn with_top_k(mut self, keys: Vec<PhysicalSortKey>, k: usize) -> Self {
        self.top_k = Some((keys, k));
        self
    }

    /// With a top-k: the groups to return, in order (`None`: all of them).
    fn top_k_groups(&self, results: &[ArrayRef], ngroups: usize) -> Result<Option<UInt32Array>> {
        let Some((keys, k)) = &self.top_k else {
            return Ok(None);
        };
        if ngroups <= *k || self.group.is_empty() {
            return Ok(None);
        }
        let n_group = self.group.len();
        let fields: Vec<_> = self.schema.fields()[n_group..].to_vec();
        let batch = make_batch_as(
            Arc::new(arrow::datatypes::Schema::new(fields)),
            results.to_vec(),
            ngroups,
        )?;
        let layout = layout_of(&self.ids[n_group..]);
        let cols: Vec<SortColumn> = keys
            .iter()
            .map(|k| {
                Ok(SortColumn {
                    values: evaluate(&k.expr, &batch, &layout)?,
                    options: Some(SortOptions {
                        descending: !k.asc,
                        nulls_first: k.nulls_first,
                    }),
                })
            })
            .collect::<Result<_>>()?;
        Ok(Some(lexsort_to_indices(&cols, Some(*k))?))
    }

    fn encoder(&self) -> Result<KeyEncoder> {
        let types: Vec<DataType> = self.group.iter().map(|g| g.data_type()).collect();
        Ok(match CompactKeys::try_new(&types) {
            Some(c) => KeyEncoder::Compact(c),
            None => KeyEncoder::Row(RowConverter::new(
                types.into_iter().map(SortField::new).collect(),
            )?),
        })
    }

    fn new_state(&self) -> Result<State> {
        self.new_state_for(None)
    }

    /// A state whose groups are packed keys when `enc` is compact keys that can fit in
    /// 8 bytes.
    fn new_state_for(&self, enc: Option<&KeyEncoder>) -> Result<State> {
        let accs = self
            .aggs
            .iter()
            .map(crate::functions::aggregate::accumulator_for)
            .collect::<Result<_>>()?;
        let groups = if self.int_group() {
            Groups::Int(IntGroups::new())
        } else if !self.group.is_empty()
            && matches!(enc, Some(KeyEncoder::Compact(c)) if c.packable())
        {
            Groups::Packed(IntGroups::new())
        } else {
            Groups::Rows(GroupTable::new())
        };
        Ok(State {
            groups,
            accs,
            key_data: vec![],
            key_offsets: vec![],
            packed: vec![],
        })
    }

    /// One GROUP BY expression of an integer-like type: the [`IntGroups`] path.
    fn int_group(&self) -> bool {
        self.group.len() == 1 && int_like(&self.group[0].data_type())
    }

    /// Groups in a state (a global aggregate has exactly one).
    fn ngroups(&self, s: &State) -> usize {
        if self.group.is_empty() {
            1
        } else {
            s.groups.len()
        }
    }

    fn update(&self, state: &mut State, enc: &KeyEncoder, batch: &RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        let groups: Vec<usize> = if self.group.is_empty() {
            vec![0; n]
        } else {
            let cols: Vec<ArrayRef> = self
                .group
                .iter()
                .map(|g| evaluate(g, batch, &self.layout))
                .collect::<Result<_>>()?;
            let mut out = Vec::with_capacity(n);
            if let (Groups::Packed(_), KeyEncoder::Compact(c)) = (&state.groups, enc) {
                if !c.pack(&cols, &mut state.packed)? {
                    state.groups.unpack(c, &self.hasher)?;
                }
            }
            match &mut state.groups {
                // as one integer key (below), never NULL
                Groups::Packed(t) => {
                    t.groups_of(state.packed.iter().map(|&v| v as i64), &mut out)?
                }
                Groups::Int(t) => {
                    let col = arrow::compute::cast(&cols[0], &DataType::Int64)?;
                    let a = col.as_primitive::<Int64Type>();
                    if a.null_count() == 0 {
                        t.groups_of(a.values().iter().copied(), &mut out)?;
                    } else {
                        for v in a.iter() {
                            out.push(t.find_or_insert(v)?);
                        }
                    }
                }
                Groups::Rows(t) => match enc {
                    KeyEncoder::Compact(c) => {
                        let (data, offs) = (&mut state.key_data, &mut state.key_offsets);
                        c.encode(&cols, data, offs)?;
                        // a run of one key takes the previous row's group (as above)
                        let mut last: Option<(&[u8], usize)> = None;
                        for w in offs.windows(2) {
                            let key = &data[w[0]..w[1]];
                            let g = match last {
                                Some((k, g)) if eq_short(k, key) => g,
                                _ => t.find_or_insert(key, self.hasher.hash_one(key))?,
                            };
                            last = Some((key, g));
                            out.push(g);
                        }
                    }
                    KeyEncoder::Row(conv) => {
                        let rows = conv.convert_columns(&cols)?;
                        for i in 0..n {
                            let key = rows.row(i);
                            let key = key.as_ref();
                            out.push(t.find_or_insert(key, self.hasher.hash_one(key))?);
                        }
                    }
                },
            }
            out
        };
        let ngroups = self.ngroups(state);
        for ((a, acc), shared) in self
            .aggs
            .iter()
            .zip(state.accs.iter_mut())
            .zip(&self.sum_of_avg)
        {
            if shared.is_some() {
                // finished from its avg's state
                continue;
            }
            let args: Vec<ArrayRef> = a
                .args
                .iter()
                .map(|e| evaluate(e, batch, &self.layout))
                .collect::<Result<_>>()?;
            let args: Vec<ArrayRef> = args
                .iter()
                .map(|x| cast_arg(x, &None))
                .collect::<Result<_>>()?;
            acc.update(&args, &groups, ngroups)?;
        }
        Ok(())
    }

    /// The group of each of `other`'s groups in `into`, adding the new ones.
    fn map_groups(&self, into: &mut State, other: &State) -> Result<Vec<usize>> {
        if self.group.is_empty() {
            return Ok(vec![0]);
        }
        match (&mut into.groups, &other.groups) {
            (Groups::Rows(t), Groups::Rows(o)) => (0..o.len())
                .map(|g| t.find_or_insert(o.key(g), o.hashes[g]))
                .collect(),
            (Groups::Int(t), Groups::Int(o)) if t.sorted_mode && o.sorted_mode => t.merge_sorted(o),
            (Groups::Int(t), Groups::Int(o)) | (Groups::Packed(t), Groups::Packed(o)) => {
                (0..o.keys.len())
                    .map(|g| t.find_or_insert(o.valid[g].then_some(o.keys[g])))
                    .collect()
            }
            _ => Err(QuarryError::Internal(
                "aggregate states of different kinds".into(),
            )),
        }
    }

    /// Fold `batch` into the state `st` (made on the first batch). EXPLAIN ANALYZE
    /// counts the fold's own time (the input's operators run in `execute_into`).
    fn fold(&self, st: &mut Option<State>, enc: &KeyEncoder, batch: &RecordBatch) -> Result<()> {
        let state = match st {
            Some(s) => s,
            None => st.insert(self.new_state_for(Some(enc))?),
        };
        self.metrics.time(|| self.update(state, enc, batch))
    }

    /// Packed keys merge with packed keys only: when one state holds rows, all become
    /// rows.
    fn unpack_if_mixed(&self, states: &mut [State], enc: &KeyEncoder) -> Result<()> {
        if let KeyEncoder::Compact(c) = enc {
            if states.iter().any(|s| matches!(s.groups, Groups::Rows(_))) {
                for s in states {
                    s.groups.unpack(c, &self.hasher)?;
                }
            }
        }
        Ok(())
    }

    /// Merge the per-thread states into the largest one. All groups are placed first,
    /// so each accumulator grows once to the final group count (no doubling slack,
    /// which for a million groups is most of the peak memory), then each state's
    /// accumulators merge and the state is freed.
    fn merge_all(&self, mut states: Vec<State>, enc: &KeyEncoder) -> Result<State> {
        self.unpack_if_mixed(&mut states, enc)?;
        // the sorted states first, into one (still sorted); two of them (a worker's
        // each, over interleaved row groups) merge below by one walk over both lists
        // into the larger, which needs no third copy of the groups
        let (sorted, mut states): (Vec<State>, Vec<State>) =
            states.into_iter().partition(|s| s.is_sorted());
        if sorted.len() > 2 {
            states.push(self.merge_sorted_states(sorted)?);
        } else {
            states.extend(sorted);
        }
        let Some(largest) = (0..states.len()).max_by_key(|&i| states[i].groups.len()) else {
            return self.new_state();
        };
        let mut total = states.swap_remove(largest);
        let extra: usize = states.iter().map(|s| s.groups.len()).sum();
        match &mut total.groups {
            Groups::Rows(t) => {
                let hashes = &t.hashes;
                t.table.reserve(extra, |&x| hashes[x as usize]);
                t.hashes.reserve(extra);
                t.spans.reserve(extra);
            }
            Groups::Int(t) | Groups::Packed(t) => t.reserve(extra),
        }
        let mappings = states
            .iter()
            .map(|s| self.map_groups(&mut total, s))
            .collect::<Result<Vec<_>>>()?;
        let n = self.ngroups(&total);
        for (s, mapping) in states.into_iter().zip(mappings) {
            for (a, b) in total.accs.iter_mut().zip(s.accs) {
                a.merge(b, &mapping, n)?;
            }
        }
        Ok(total)
    }
}

impl HashAggregateExec {
    /// [`ExecutionPlan::execute`] for order-sensitive aggregates
    /// ([`AggFunc::order_sensitive`]): one state per input partition (folded in
    /// parallel), merged in partition order, so lists hold their values in the input's
    /// order and the first of a group is the first of its first partition, every run.
    fn execute_in_order(
        &self,
        n: usize,
        ctx: &ExecContext,
        enc: &KeyEncoder,
    ) -> Result<Vec<RecordBatch>> {
        let states: Vec<State> = ctx
            .pool
            .install(|| {
                (0..n)
                    .into_par_iter()
                    .map(|p| -> Result<Option<State>> {
                        let mut st: Option<State> = None;
                        self.input.execute_into(p, ctx, &mut |b| {
                            if b.num_rows() == 0 {
                                return Ok(());
                            }
                            self.fold(&mut st, enc, &b)
                        })?;
                        Ok(st)
                    })
                    .collect::<Result<Vec<Option<State>>>>()
            })?
            .into_iter()
            .flatten()
            .collect();
        self.metrics.record(|| {
            let mut states = states;
            self.unpack_if_mixed(&mut states, enc)?;
            let mut it = states.into_iter();
            let mut total = match it.next() {
                Some(s) => s,
                None => self.new_state()?,
            };
            for s in it {
                let mapping = self.map_groups(&mut total, &s)?;
                let n = self.ngroups(&total);
                for (a, b) in total.accs.iter_mut().zip(s.accs) {
                    a.merge(b, &mapping, n)?;
                }
            }
            Ok(vec![self.finish_state(total, enc)?])
        })
    }

    /// The first key of a partition's batches (one integer key), when it is not NULL.
    fn first_key(&self, batches: &[RecordBatch]) -> Result<Option<i64>> {
        let Some(b) = batches.iter().find(|b| b.num_rows() > 0) else {
            return Ok(None);
        };
        let k = evaluate(&self.group[0], &b.slice(0, 1), &self.layout)?;
        let k = arrow::compute::cast(&k, &DataType::Int64)?;
        let k = k.as_primitive::<Int64Type>();
        Ok(k.is_valid(0).then(|| k.value(0)))
    }

    /// Merge sorted one-integer-key states into one, by a k-way merge of their key
    /// lists (no hashing): the result's keys are sorted, so it stays in the sorted mode.
    fn merge_sorted_states(&self, states: Vec<State>) -> Result<State> {
        use std::cmp::Reverse;
        let lists: Vec<&[i64]> = states
            .iter()
            .map(|s| match &s.groups {
                Groups::Int(t) => Ok(t.keys.as_slice()),
                _ => Err(QuarryError::Internal("a sorted state of row keys".into())),
            })
            .collect::<Result<_>>()?;
        let mut total = self.new_state()?;
        let Groups::Int(groups) = &mut total.groups else {
            return Err(QuarryError::Internal(
                "an integer-key state expected".into(),
            ));
        };
        groups.reserve(lists.iter().map(|l| l.len()).sum());
        let mut mappings: Vec<Vec<usize>> =
            lists.iter().map(|l| Vec::with_capacity(l.len())).collect();
        let mut heap: std::collections::BinaryHeap<Reverse<(i64, usize)>> = lists
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.first().map(|&k| Reverse((k, i))))
            .collect();
        while let Some(Reverse((k, i))) = heap.pop() {
            let g = match groups.keys.last() {
                Some(&last) if last == k => groups.keys.len() - 1,
                _ => groups.push(k)?,
            };
            mappings[i].push(g);
            if let Some(&next) = lists[i].get(mappings[i].len()) {
                heap.push(Reverse((next, i)));
            }
        }
        let n = groups.keys.len();
        for (s, mapping) in states.into_iter().zip(mappings) {
            for (a, b) in total.accs.iter_mut().zip(s.accs) {
                a.merge(b, &mapping, n)?;
            }
        }
        Ok(total)
    }
}

impl HashAggregateExec {
    /// The output batch of a final state: its group keys, then each aggregate.
    fn finish_state(&self, mut total: State, enc: &KeyEncoder) -> Result<RecordBatch> {
        let ngroups = self.ngroups(&total);
        let mut results = vec![];
        for (i, shared) in self.sum_of_avg.iter().enumerate() {
            let r = match shared {
                Some(j) => total.accs[*j]
                    .finish_sum(ngroups, &self.aggs[i].data_type)
                    .ok_or_else(|| QuarryError::Internal("sum of an avg state".into()))??,
                None => total.accs[i].finish(ngroups)?,
            };
            results.push(r);
        }
        // with a top-k, the chosen groups (in order); else all of them
        let chosen = self.top_k_groups(&results, ngroups)?;
        let groups: Vec<usize> = match &chosen {
            Some(idx) => idx.values().iter().map(|&g| g as usize).collect(),
            None => (0..ngroups).collect(),
        };
        let mut cols: Vec<ArrayRef> = vec![];
        match &mut total.groups {
            _ if self.group.is_empty() => {}
            Groups::Rows(t) => {
                let keys: Vec<&[u8]> = groups.iter().map(|&g| t.key(g)).collect();
                cols.extend(enc.decode(&keys)?);
            }
            Groups::Packed(t) => {
                let bytes: Vec<[u8; 8]> = groups
                    .iter()
                    .map(|&g| (t.keys[g] as u64).to_le_bytes())
                    .collect();
                let keys: Vec<&[u8]> = bytes.iter().map(|b| b.as_slice()).collect();
                cols.extend(enc.decode(&keys)?);
            }
            Groups::Int(t) => {
                // only the NULL group is invalid
                let nulls = t.null_group.map(|_| {
                    NullBuffer::new(BooleanBuffer::collect_bool(t.valid.len(), |g| t.valid[g]))
                });
                let keys = Int64Array::new(std::mem::take(&mut t.keys).into(), nulls);
                let target = self.group[0].data_type();
                // Int64 -> Date32 goes through Int32 (both are lossless for these keys)
                let keys: ArrayRef = if target == DataType::Date32 {
                    arrow::compute::cast(&arrow::compute::cast(&keys, &DataType::Int32)?, &target)?
                } else {
                    arrow::compute::cast(&keys, &target)?
                };
                cols.push(match &chosen {
                    Some(idx) => take(&keys, idx, None)?,
                    None => keys,
                });
            }
        }
        for r in results {
            cols.push(match &chosen {
                Some(idx) => take(&r, idx, None)?,
                None => r,
            });
        }
        make_batch_as(self.schema.clone(), cols, groups.len())
    }
}

impl ExecutionPlan for HashAggregateExec {
    fn describe(&self) -> String {
        let g: Vec<String> = self.group.iter().map(|e| e.to_string()).collect();
        let a: Vec<String> = self.aggs.iter().map(|e| e.to_string()).collect();
        let top_k = match &self.top_k {
            Some((keys, k)) => format!(" top-{k}=[{}]", describe_sort_keys(keys)),
            None => String::new(),
        };
        format!(
            "HashAggregateExec group=[{}] aggs=[{}]{top_k}",
            g.join(", "),
            a.join(", ")
        )
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
        let enc = self.encoder()?;
        let n = self.input.partitions();
        // one partial state per worker: each worker takes the next input partition until
        // none is left (rayon's fold would split the work, and so the states, further,
        // and every extra state holds its own copy of groups until the merge)
        let next = std::sync::atomic::AtomicUsize::new(0);
        let workers = ctx.pool.current_num_threads().clamp(1, n.max(1));
        self.input.prepare(ctx)?;
        if self.aggs.iter().any(|a| a.func.order_sensitive()) {
            return self.execute_in_order(n, ctx, &enc);
        }
        // One integer key: while the keys come sorted (row groups of data clustered by
        // the key), a worker's state stays sorted; a partition that starts below its last
        // key starts a new sorted state (the sorted states merge later without hashing;
        // one that starts at it, a key split across row groups, goes on in the state),
        // and the first partition whose keys are not sorted in themselves leaves its
        // state hashed, the worker's one state for the rest.
        let per_run = self.int_group();
        let states: Vec<State> = ctx
            .pool
            .install(|| {
                (0..workers)
                    .into_par_iter()
                    .map(|_| -> Result<Vec<State>> {
                        let mut st: Option<State> = None;
                        let mut sorted: Vec<State> = vec![];
                        loop {
                            let p = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if p >= n {
                                sorted.extend(st);
                                return Ok(sorted);
                            }
                            // each batch folded in as it is made (still in cache)
                            let mut first = true;
                            self.input.execute_into(p, ctx, &mut |b| {
                                if b.num_rows() == 0 {
                                    return Ok(());
                                }
                                if std::mem::take(&mut first)
                                    && per_run
                                    && st.as_ref().is_some_and(|s| s.is_sorted())
                                {
                                    let first = self.first_key(std::slice::from_ref(&b))?;
                                    let last = match st.as_ref().map(|s| &s.groups) {
                                        Some(Groups::Int(t)) => t.keys.last().copied(),
                                        _ => None,
                                    };
                                    if let (Some(f), Some(l)) = (first, last) {
                                        if f < l {
                                            sorted.extend(st.take());
                                        }
                                    }
                                }
                                self.fold(&mut st, &enc, &b)
                            })?;
                        }
                    })
                    .collect::<Result<Vec<Vec<State>>>>()
            })?
            .into_iter()
            .flatten()
            .collect();
        self.metrics.record(|| {
            let total = self.merge_all(states, &enc)?;
            Ok(vec![self.finish_state(total, &enc)?])
        })
    }
    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![self.input.clone()]
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

#[cfg(test)]
mod int_groups_tests {
    use super::IntGroups;

    type Seen = std::collections::HashMap<Option<i64>, usize>;

    /// The group of each key, by a plain map, to check `IntGroups` against.
    fn check(t: &mut IntGroups, keys: &[Option<i64>], seen: &mut Seen) {
        for &k in keys {
            let g = t.find_or_insert(k).unwrap();
            match seen.get(&k) {
                Some(&i) => assert_eq!(g, i, "{k:?}"),
                None => {
                    assert_eq!(g, seen.len(), "{k:?} is new");
                    seen.insert(k, g);
                }
            }
        }
    }

    #[test]
    fn dense_keys_index_by_array_sparse_ones_by_hash() {
        let mut t = IntGroups::new();
        let mut seen = Seen::new();
        check(&mut t, &[Some(10), Some(5)], &mut seen);
        assert!(t.direct_mode, "a small range");
        // the array grows down and up
        let keys = [
            Some(-3000),
            Some(60_000),
            Some(5),
            None,
            Some(-3000),
            Some(7),
        ];
        check(&mut t, &keys, &mut seen);
        assert!(
            t.direct_mode && t.direct.len() <= 1 << 17,
            "{}",
            t.direct.len()
        );
        // a far key makes the range too sparse: the groups move to the hash table
        let far = [
            Some(1 << 40),
            Some(10),
            Some(i64::MIN),
            Some(i64::MAX),
            Some(-3000),
        ];
        check(&mut t, &far, &mut seen);
        assert!(!t.direct_mode);
        check(&mut t, &keys, &mut seen);

        // sparse at first (2 keys over 200,001 values), dense once 32K groups fill it
        let mut t = IntGroups::new();
        let mut seen = Seen::new();
        check(&mut t, &[Some(200_000), Some(0)], &mut seen);
        assert!(!t.direct_mode);
        let keys: Vec<Option<i64>> = (0..40_000).map(|k| Some(k * 7 % 200_000)).collect();
        check(&mut t, &keys, &mut seen);
        assert!(t.direct_mode, "dense after the groups doubled");
        check(&mut t, &keys, &mut seen);
        check(&mut t, &[Some(-1), None, Some(300_000), Some(0)], &mut seen);
    }

    #[test]
    fn sorted_mode_until_the_order_breaks() {
        let mut t = IntGroups::new();
        let mut seen = Seen::new();
        check(
            &mut t,
            &[Some(1), Some(1), Some(3), Some(7), Some(3)],
            &mut seen,
        );
        assert!(t.sorted_mode, "an earlier key found by binary search");
        check(&mut t, &[Some(5)], &mut seen);
        assert!(!t.sorted_mode, "a new key below the last");
        check(
            &mut t,
            &[Some(1), Some(5), Some(8), None, Some(8), None],
            &mut seen,
        );
        let mut t = IntGroups::new();
        let mut seen = Seen::new();
        check(&mut t, &[Some(2), None, Some(2), Some(-4)], &mut seen);
        assert!(!t.sorted_mode, "a NULL key");
    }

    #[test]
    fn two_sorted_lists_merge_by_walking() {
        let (mut a, mut b) = (IntGroups::new(), IntGroups::new());
        for k in [1, 4, 6, 9] {
            a.find_or_insert(Some(k)).unwrap();
        }
        for k in [0, 4, 5, 9, 12] {
            b.find_or_insert(Some(k)).unwrap();
        }
        let m = a.merge_sorted(&b).unwrap();
        assert_eq!(m, vec![4, 1, 5, 3, 6]);
        assert_eq!(a.keys, vec![1, 4, 6, 9, 0, 5, 12]);
        // later lookups index the merged keys first
        assert_eq!(a.find_or_insert(Some(5)).unwrap(), 5);
        assert_eq!(a.find_or_insert(Some(13)).unwrap(), 7);
    }
}
