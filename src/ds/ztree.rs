//! ZTree: the ordered, ranked part of a large sorted set: (score, member) pairs in
//! (score, member bytes) order with rank queries and score/lex bounds. This version
//! keeps a sorted vector (binary search; inserts and removals move the tail).
use std::cmp::Ordering;

pub enum LexBound<'a> {
    NegInf,
    PosInf,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

#[derive(Clone, Copy, Debug)]
pub struct ScoreBound {
    pub value: f64,
    pub exclusive: bool,
}

#[derive(Clone, Default)]
pub struct ZTree {
    v: Vec<(f64, Box<[u8]>)>,
}

fn cmp(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    match s1.partial_cmp(&s2) {
        Some(Ordering::Equal) | None => m1.cmp(m2),
        Some(o) => o,
    }
}

impl ZTree {
    pub fn new() -> Self {
        ZTree { v: Vec::new() }
    }

    pub fn len(&self) -> usize {
        self.v.len()
    }

    pub fn is_empty(&self) -> bool {
        self.v.is_empty()
    }

    fn search(&self, score: f64, member: &[u8]) -> Result<usize, usize> {
        self.v.binary_search_by(|(s, m)| cmp(*s, m, score, member))
    }

    pub fn insert(&mut self, score: f64, member: &[u8]) {
        let pos = match self.search(score, member) {
            Ok(p) | Err(p) => p,
        };
        self.v.insert(pos, (score, member.into()));
    }

    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        match self.search(score, member) {
            Ok(p) => {
                self.v.remove(p);
                true
            }
            Err(_) => false,
        }
    }

    pub fn update_score(&mut self, old: f64, member: &[u8], new: f64) -> bool {
        let Ok(p) = self.search(old, member) else {
            return false;
        };
        let (_, m) = self.v.remove(p);
        let q = match self.search(new, &m) {
            Ok(q) | Err(q) => q,
        };
        self.v.insert(q, (new, m));
        true
    }

    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        self.search(score, member).ok()
    }

    pub fn get_by_rank(&self, rank: usize) -> Option<(f64, &[u8])> {
        self.v.get(rank).map(|(s, m)| (*s, &m[..]))
    }

    pub fn iter_from(&self, rank: usize) -> impl Iterator<Item = (f64, &[u8])> + '_ {
        self.v.iter().skip(rank).map(|(s, m)| (*s, &m[..]))
    }

    pub fn iter_rev_from(&self, rank: usize) -> impl Iterator<Item = (f64, &[u8])> + '_ {
        let end = if self.v.is_empty() {
            0
        } else {
            rank.min(self.v.len() - 1) + 1
        };
        self.v
            .get(..end)
            .unwrap_or_default()
            .iter()
            .rev()
            .map(|(s, m)| (*s, &m[..]))
    }

    pub fn first_in_score(&self, min: ScoreBound) -> usize {
        self.v
            .partition_point(|(s, _)| if min.exclusive { *s <= min.value } else { *s < min.value })
    }

    pub fn count_le_score(&self, max: ScoreBound) -> usize {
        self.v
            .partition_point(|(s, _)| if max.exclusive { *s < max.value } else { *s <= max.value })
    }

    pub fn first_in_lex(&self, min: &LexBound) -> usize {
        match min {
            LexBound::NegInf => 0,
            LexBound::PosInf => self.v.len(),
            LexBound::Incl(b) => self.v.partition_point(|(_, m)| &m[..] < *b),
            LexBound::Excl(b) => self.v.partition_point(|(_, m)| &m[..] <= *b),
        }
    }

    pub fn count_le_lex(&self, max: &LexBound) -> usize {
        match max {
            LexBound::NegInf => 0,
            LexBound::PosInf => self.v.len(),
            LexBound::Incl(b) => self.v.partition_point(|(_, m)| &m[..] <= *b),
            LexBound::Excl(b) => self.v.partition_point(|(_, m)| &m[..] < *b),
        }
    }

    pub fn remove_rank_range<F: FnMut(f64, &[u8])>(&mut self, start: usize, end: usize, mut f: F) {
        if start > end || start >= self.v.len() {
            return;
        }
        let end = end.min(self.v.len() - 1);
        for (s, m) in self.v.drain(start..=end) {
            f(s, &m);
        }
    }

    pub fn mem_usage(&self) -> usize {
        self.v.capacity() * 24 + self.v.iter().map(|(_, m)| m.len()).sum::<usize>()
    }

    pub fn clear(&mut self) {
        self.v.clear();
    }
}
