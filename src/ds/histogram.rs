//! A log-linear latency histogram (16 sub-buckets per power of two: values within
//! ~6% of their bucket's top), for INFO latencystats percentiles. Fixed size, no
//! allocation after creation.
const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

pub struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    total: u64,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Histogram({} values)", self.total)
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: Box::new([0; BUCKETS]),
            total: 0,
        }
    }
}

fn index(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros();
    let shift = msb - SUB_BITS;
    let sub = ((v >> shift) as usize) & (SUB - 1);
    (shift as usize + 1) * SUB + sub
}

/// The largest value that falls in bucket `i`.
fn top(i: usize) -> u64 {
    if i < SUB {
        return i as u64;
    }
    let shift = (i / SUB - 1) as u32;
    let sub = (i % SUB) as u64;
    let t = ((SUB as u128 + sub as u128 + 1) << shift) - 1;
    t.min(u64::MAX as u128) as u64
}

impl Histogram {
    pub fn record(&mut self, v: u64) {
        if let Some(c) = self.counts.get_mut(index(v)) {
            *c += 1;
            self.total += 1;
        }
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// How many recorded values are below `v`, exactly when `v` is a power of two
    /// (bucket edges fall on powers of two).
    pub fn count_below(&self, v: u64) -> u64 {
        self.counts
            .iter()
            .enumerate()
            .take_while(|(i, _)| top(*i) < v)
            .map(|(_, c)| *c)
            .sum()
    }

    /// The value below which `pct` percent of the recorded values fall (the top of
    /// the bucket holding that rank), 0 when empty.
    pub fn percentile(&self, pct: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((pct.clamp(0.0, 100.0) / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return top(i);
            }
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_close_to_exact() {
        let mut h = Histogram::default();
        for v in 1..=10_000u64 {
            h.record(v * 1000);
        }
        for (p, exact) in [(50.0, 5_000_000u64), (99.0, 9_900_000), (100.0, 10_000_000)] {
            let got = h.percentile(p);
            assert!(got >= exact && got <= exact + exact / 15, "p{p}: {got} vs {exact}");
        }
        assert_eq!(Histogram::default().percentile(50.0), 0);
        h.record(u64::MAX);
        assert_eq!(h.percentile(100.0), u64::MAX);
    }
}
