//! A bloom filter over a table's keys, sized from the key count and a false-positive rate,
//! probed by double hashing of one 64-bit hash.

use super::codec::{corrupt, Reader};
use crate::storage::Result;

/// The 64-bit hash of a key (FNV-1a followed by a murmur3-style finaliser). Stable: it is
/// part of the on-disk format.
pub fn key_hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A bloom filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BloomFilter {
    bits: Vec<u8>,
    num_bits: u64,
    num_hashes: u32,
}

impl BloomFilter {
    /// A filter for `hashes` (from [`key_hash`]) with false-positive rate `fp_rate`.
    pub fn build(hashes: &[u64], fp_rate: f64) -> BloomFilter {
        let n = hashes.len().max(1) as f64;
        let p = if fp_rate.is_finite() {
            fp_rate.clamp(1e-9, 0.5)
        } else {
            0.01
        };
        let ln2 = std::f64::consts::LN_2;
        let m = (-(n * p.ln()) / (ln2 * ln2)).ceil().max(64.0);
        let num_bits = m as u64;
        let num_hashes = ((m / n) * ln2).round().clamp(1.0, 30.0) as u32;
        let mut filter = BloomFilter {
            bits: vec![0u8; num_bits.div_ceil(8) as usize],
            num_bits,
            num_hashes,
        };
        for &h in hashes {
            filter.insert(h);
        }
        filter
    }

    fn probes(&self, hash: u64) -> impl Iterator<Item = u64> + '_ {
        let h1 = hash;
        let h2 = hash.rotate_left(32) | 1;
        (0..u64::from(self.num_hashes))
            .map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % self.num_bits)
    }

    fn insert(&mut self, hash: u64) {
        let probes: Vec<u64> = self.probes(hash).collect();
        for bit in probes {
            if let Some(byte) = self.bits.get_mut((bit / 8) as usize) {
                *byte |= 1 << (bit % 8);
            }
        }
    }

    /// False when the key is certainly absent.
    pub fn may_contain(&self, key: &[u8]) -> bool {
        let hash = key_hash(key);
        self.probes(hash).all(|bit| {
            self.bits
                .get((bit / 8) as usize)
                .is_some_and(|b| b & (1 << (bit % 8)) != 0)
        })
    }

    /// Serialises the filter.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.bits.len());
        out.extend_from_slice(&self.num_hashes.to_le_bytes());
        out.extend_from_slice(&self.num_bits.to_le_bytes());
        out.extend_from_slice(&self.bits);
        out
    }

    /// Parses a filter written by [`encode`](Self::encode).
    pub fn decode(bytes: &[u8]) -> Result<BloomFilter> {
        let mut r = Reader::new(bytes, "bloom filter");
        let num_hashes = r.u32()?;
        let num_bits = r.u64()?;
        let bits = r.bytes(num_bits.div_ceil(8) as usize)?.to_vec();
        if num_bits == 0 || num_hashes == 0 || num_hashes > 64 || !r.is_empty() {
            return Err(corrupt("bloom filter: bad parameters"));
        }
        Ok(BloomFilter {
            bits,
            num_bits,
            num_hashes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_a_false_positive_rate_near_the_target() {
        let keys: Vec<Vec<u8>> = (0..10_000u32)
            .map(|i| format!("key-{i}").into_bytes())
            .collect();
        let hashes: Vec<u64> = keys.iter().map(|k| key_hash(k)).collect();
        let f = BloomFilter::build(&hashes, 0.01);
        assert!(keys.iter().all(|k| f.may_contain(k)));
        let fps = (0..10_000u32)
            .filter(|i| f.may_contain(format!("other-{i}").as_bytes()))
            .count();
        assert!(fps < 300, "{fps} false positives of 10000");
    }

    #[test]
    fn encode_decode_round_trip_and_rejects_garbage() {
        let f = BloomFilter::build(&[key_hash(b"a"), key_hash(b"b")], 0.05);
        let g = BloomFilter::decode(&f.encode()).unwrap();
        assert_eq!(f, g);
        assert!(g.may_contain(b"a"));
        assert!(BloomFilter::decode(&[1, 0, 0]).is_err());
        let mut bad = f.encode();
        bad.push(0);
        assert!(BloomFilter::decode(&bad).is_err());
    }
}
