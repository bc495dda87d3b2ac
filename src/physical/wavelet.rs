//! A wavelet matrix over a sequence of small unsigned integers: range order statistics
//! in O(log σ) per query (σ: one more than the largest value). Window functions with an
//! ORDER BY inside their parentheses (`first_value(x ORDER BY y) OVER w`) use it to find
//! the k-th row of a frame in the argument's order, and a row's position in it, without
//! sorting each frame. The structure is Claude, Navarro and Ordóñez's "The wavelet
//! matrix" (SPIRE 2012): one bit vector per bit of the values, top bit first, each level
//! a stable partition of the one above by that bit (zeros first).

/// One level's bits with rank support: 64-bit words and the count of ones before each
/// (one more entry at the end: all the ones).
struct RankBits {
    words: Vec<u64>,
    ones_before: Vec<u32>,
}

impl RankBits {
    fn new(bits: impl Iterator<Item = bool>, len: usize) -> Self {
        let mut words = vec![0u64; len.div_ceil(64)];
        for (i, b) in bits.enumerate() {
            if b {
                words[i / 64] |= 1 << (i % 64);
            }
        }
        let mut ones_before = Vec::with_capacity(words.len() + 1);
        let mut acc = 0u32;
        for w in &words {
            ones_before.push(acc);
            acc += w.count_ones();
        }
        ones_before.push(acc);
        RankBits { words, ones_before }
    }

    /// Ones among positions `[0, i)`.
    fn rank1(&self, i: usize) -> usize {
        let (w, b) = (i / 64, i % 64);
        let below = match self.words.get(w) {
            Some(word) if b > 0 => (word & ((1u64 << b) - 1)).count_ones(),
            _ => 0,
        };
        (self.ones_before[w] + below) as usize
    }
}

/// A wavelet matrix over `values` (positions `0..len`).
pub struct WaveletMatrix {
    /// Levels from the top bit down, with the number of zeros in each.
    levels: Vec<(RankBits, usize)>,
}

impl WaveletMatrix {
    /// Build over `values`: O(len × bits) time, about `len × bits / 8` bytes.
    pub fn new(values: &[u32]) -> Self {
        let max = values.iter().copied().max().unwrap_or(0);
        let bits = (u32::BITS - max.leading_zeros()).max(1);
        let mut cur: Vec<u32> = values.to_vec();
        let mut levels = Vec::with_capacity(bits as usize);
        for l in (0..bits).rev() {
            let rb = RankBits::new(cur.iter().map(|v| (v >> l) & 1 == 1), cur.len());
            let (zeros, ones): (Vec<u32>, Vec<u32>) = cur.iter().partition(|v| (*v >> l) & 1 == 0);
            let nz = zeros.len();
            cur = zeros;
            cur.extend(ones);
            levels.push((rb, nz));
        }
        WaveletMatrix { levels }
    }

    fn top_bit(&self) -> usize {
        self.levels.len() - 1
    }

    /// The `k`-th smallest (0-based) value among positions `[s, e)`; `None` when the
    /// range holds `k` values or fewer.
    pub fn kth_smallest(&self, mut s: usize, mut e: usize, mut k: usize) -> Option<u32> {
        if s >= e || k >= e - s {
            return None;
        }
        let mut v = 0u32;
        for (i, (rb, nz)) in self.levels.iter().enumerate() {
            let (os, oe) = (rb.rank1(s), rb.rank1(e));
            let zeros = (e - s) - (oe - os);
            if k < zeros {
                s -= os;
                e -= oe;
            } else {
                k -= zeros;
                v |= 1 << (self.top_bit() - i);
                s = nz + os;
                e = nz + oe;
            }
        }
        Some(v)
    }

    /// How many values among positions `[s, e)` are smaller than `x`.
    pub fn count_less(&self, mut s: usize, mut e: usize, x: u32) -> usize {
        if s >= e {
            return 0;
        }
        if self.levels.len() < 32 && x >> self.levels.len() != 0 {
            return e - s;
        }
        let mut less = 0;
        for (i, (rb, nz)) in self.levels.iter().enumerate() {
            let (os, oe) = (rb.rank1(s), rb.rank1(e));
            if (x >> (self.top_bit() - i)) & 1 == 1 {
                less += (e - s) - (oe - os);
                s = nz + os;
                e = nz + oe;
            } else {
                s -= os;
                e -= oe;
            }
        }
        less
    }
}

#[cfg(test)]
mod tests {
    use super::WaveletMatrix;

    #[test]
    fn order_statistics_match_sorting() {
        // a pseudo-random permutation of 0..300 and a sequence with repeats
        let perm: Vec<u32> = (0..300u32).map(|i| (i * 7919) % 300).collect();
        let reps: Vec<u32> = (0..200u32).map(|i| (i * 37) % 11).collect();
        for values in [perm, reps, vec![0], vec![5, 5, 5]] {
            let w = WaveletMatrix::new(&values);
            let n = values.len();
            for s in (0..n).step_by(7) {
                for e in (s..=n).step_by(5) {
                    let mut sorted = values[s..e].to_vec();
                    sorted.sort_unstable();
                    for k in 0..=sorted.len() {
                        assert_eq!(w.kth_smallest(s, e, k), sorted.get(k).copied());
                    }
                    for x in [0, 1, 3, 150, 299, 300, 1000] {
                        let want = sorted.iter().filter(|&&v| v < x).count();
                        assert_eq!(w.count_less(s, e, x), want, "{s}..{e} < {x}");
                    }
                }
            }
        }
    }
}
