//! Spark's random number generator, so that `rand(seed)`/`randn(seed)` give the values
//! Spark gives.

/// Spark's `XORShiftRandom` (org.apache.spark.util.random): a xorshift generator behind
/// `java.util.Random`'s `nextDouble`/`nextGaussian`, whose seed is first scrambled by
/// Scala's `MurmurHash3.bytesHash` of the seed's 8 big-endian bytes. `rand(seed)` and
/// `randn(seed)` draw from one of these per call, so a seeded call gives Spark's values
/// for rows read in one partition (Spark seeds partition k with `seed + k`).
#[derive(Debug, Clone)]
pub struct XorShiftRandom {
    seed: i64,
    /// `java.util.Random.nextGaussian`'s second value of a pair, kept for the next call.
    next_gaussian: Option<f64>,
}

impl XorShiftRandom {
    /// A generator seeded as Spark's `new XORShiftRandom(init)`.
    pub fn new(init: i64) -> Self {
        XorShiftRandom {
            seed: hash_seed(init),
            next_gaussian: None,
        }
    }

    /// `XORShiftRandom.next(bits)`: the low `bits` bits of the next state.
    fn next(&mut self, bits: u32) -> i64 {
        let mut s = self.seed ^ (self.seed << 21);
        s ^= ((s as u64) >> 35) as i64;
        s ^= s << 4;
        self.seed = s;
        ((s & ((1i64 << bits) - 1)) as i32) as i64
    }

    /// `java.util.Random.nextDouble`: 53 random bits scaled into [0, 1).
    pub fn next_double(&mut self) -> f64 {
        let hi = self.next(26);
        let lo = self.next(27);
        ((hi << 27) + lo) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `java.util.Random.nextGaussian`: Marsaglia's polar method, two values per round
    /// (the logarithm is fdlibm's, as Java's `StrictMath.log`).
    pub fn next_gaussian(&mut self) -> f64 {
        if let Some(g) = self.next_gaussian.take() {
            return g;
        }
        loop {
            let v1 = 2.0 * self.next_double() - 1.0;
            let v2 = 2.0 * self.next_double() - 1.0;
            let s = v1 * v1 + v2 * v2;
            if s < 1.0 && s != 0.0 {
                let multiplier = (-2.0 * libm::log(s) / s).sqrt();
                self.next_gaussian = Some(v2 * multiplier);
                return v1 * multiplier;
            }
        }
    }
}

/// `XORShiftRandom.hashSeed`: two rounds of Scala's `MurmurHash3.bytesHash` over the
/// seed's big-endian bytes (the second seeded by the first) make its high and low words.
fn hash_seed(seed: i64) -> i64 {
    let bytes = seed.to_be_bytes();
    let low = murmur3_bytes_hash(&bytes, 0x3c07_4a61);
    let high = murmur3_bytes_hash(&bytes, low);
    ((high as i64) << 32) | (low as u32 as i64)
}

/// Scala's `MurmurHash3.bytesHash(data, seed)` (MurmurHash3 x86 32-bit, little-endian
/// words).
fn murmur3_bytes_hash(data: &[u8], seed: i32) -> i32 {
    fn mix_k(k: i32) -> i32 {
        k.wrapping_mul(0xcc9e_2d51_u32 as i32)
            .rotate_left(15)
            .wrapping_mul(0x1b87_3593)
    }
    let mut h = seed;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let k = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        h ^= mix_k(k);
        h = h
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe654_6b64_u32 as i32);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut k = 0i32;
        for (i, b) in tail.iter().enumerate() {
            k ^= (*b as i32) << (8 * i);
        }
        h ^= mix_k(k);
    }
    h ^= data.len() as i32;
    h ^= ((h as u32) >> 16) as i32;
    h = h.wrapping_mul(0x85eb_ca6b_u32 as i32);
    h ^= ((h as u32) >> 13) as i32;
    h = h.wrapping_mul(0xc2b2_ae35_u32 as i32);
    h ^= ((h as u32) >> 16) as i32;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_rand_and_randn_values() {
        // Spark 3.5: SELECT rand(0), randn(0) (random.sql's golden results)
        let mut r = XorShiftRandom::new(0);
        assert_eq!(r.next_double(), 0.7604953758285915);
        let mut g = XorShiftRandom::new(0);
        assert_eq!(g.next_gaussian(), 1.6034991609278433);
    }
}
