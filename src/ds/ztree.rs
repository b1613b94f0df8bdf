//! ZTree: the ordered, ranked half of a large sorted set, as a counted B+tree over (score, member) in
//! (score, member bytes) order. Leaves keep up to LEAF_CAP pairs in three arrays: scores, member
//! lengths, and per member either its bytes (up to INLINE of them) or the address of bytes the tree
//! does not own: the set's member table keeps each member once, and the tree points at it (as
//! Redis's skiplist shares its dict's strings). Inner nodes keep each child's subtree size (rank in
//! O(log n)) and a truncated separator key of their own. Invariants: leaves all at one depth;
//! non-root inner nodes have INNER_MIN..=INNER_CAP children; keys(child i) < seps[i] <= keys(child i+1).
use std::cmp::Ordering;
use std::iter::FusedIterator;

/// Most pairs a leaf holds: big enough that per-leaf overhead is ~2 B per element, small enough that
/// the memmove on insert/remove stays within a few cache lines of its arrays.
const LEAF_CAP: usize = 64;
/// The longest member a leaf keeps a copy of; longer ones are pointed at (see `ZTree::insert`).
pub const INLINE: usize = 8;
/// Children per inner node. Rank descent sums up to this many counts per level.
const INNER_CAP: usize = 64;
const INNER_MIN: usize = INNER_CAP / 2;

/// A bound of a lex range (ZRANGEBYLEX and friends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LexBound<'a> {
    NegInf,
    PosInf,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

/// A bound of a score range (ZRANGEBYSCORE and friends).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreBound {
    pub value: f64,
    pub exclusive: bool,
}

/// Sorted-set order: by score, then member bytes. Equal scores (including -0.0 vs 0.0) fall through
/// to the member, so a score is never the sole tie-breaker.
#[inline]
fn cmp_key(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    match s1.partial_cmp(&s2) {
        Some(Ordering::Less) => Ordering::Less,
        Some(Ordering::Greater) => Ordering::Greater,
        _ => m1.cmp(m2),
    }
}

/// First index in 0..n where `pred` is false; `pred` must hold on a prefix.
#[inline]
fn partition(n: usize, mut pred: impl FnMut(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// A member as a leaf keeps it: its bytes when it has at most INLINE of them, else their address.
#[derive(Clone, Copy)]
union Word {
    inline: [u8; INLINE],
    ptr: *const u8,
}

/// The member a word of `len` bytes stands for.
#[inline]
fn word_bytes(word: &Word, len: u32) -> &[u8] {
    let len = len as usize;
    if len <= INLINE {
        // Safety: a short member's word is its bytes.
        unsafe { word.inline.get(..len).unwrap_or_default() }
    } else {
        // Safety: a long member's word is the address of its `len` bytes, which outlive the
        // pair (the contract of `ZTree::insert`).
        unsafe { std::slice::from_raw_parts(word.ptr, len) }
    }
}

/// A member's word and length: what moves when pairs move between leaves.
#[derive(Clone, Copy)]
struct Handle {
    word: Word,
    len: u32,
}

impl Handle {
    /// Safety: a member longer than INLINE must stay where it is, unchanged, for as long as the
    /// handle (or a copy of it) is read (see `ZTree::insert`).
    unsafe fn new(member: &[u8]) -> Handle {
        let len = u32::try_from(member.len()).unwrap_or(u32::MAX);
        let word = if member.len() > INLINE {
            Word { ptr: member.as_ptr() }
        } else {
            let mut inline = [0u8; INLINE];
            if let Some(d) = inline.get_mut(..member.len()) {
                d.copy_from_slice(member);
            }
            Word { inline }
        };
        Handle { word, len }
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        word_bytes(&self.word, self.len)
    }
}

/// Up to LEAF_CAP pairs in key order: pair i is (scores[i], member i of `words` and `lens`).
#[derive(Default)]
struct Leaf {
    scores: Vec<f64>,
    words: Vec<Word>,
    lens: Vec<u32>,
}

// Safety: a leaf only reads through its pointers, and what they point at belongs to the owner of
// the tree (the sorted set), which moves between threads, and is shared, together with it.
unsafe impl Send for Leaf {}
// Safety: as for Send; shared access only reads.
unsafe impl Sync for Leaf {}

static EMPTY_LEAF: Leaf = Leaf {
    scores: Vec::new(),
    words: Vec::new(),
    lens: Vec::new(),
};

impl Leaf {
    fn with_capacity(n: usize) -> Self {
        Leaf {
            scores: Vec::with_capacity(n),
            words: Vec::with_capacity(n),
            lens: Vec::with_capacity(n),
        }
    }

    fn single(score: f64, h: Handle) -> Self {
        let mut l = Leaf::with_capacity(1);
        l.push(score, h);
        l
    }

    #[inline]
    fn len(&self) -> usize {
        self.scores.len()
    }

    #[inline]
    fn handle(&self, i: usize) -> Option<Handle> {
        Some(Handle {
            word: *self.words.get(i)?,
            len: *self.lens.get(i)?,
        })
    }

    #[inline]
    fn member(&self, i: usize) -> &[u8] {
        match (self.words.get(i), self.lens.get(i)) {
            (Some(word), Some(&len)) => word_bytes(word, len),
            _ => &[],
        }
    }

    #[inline]
    fn get(&self, i: usize) -> Option<(f64, &[u8])> {
        let s = *self.scores.get(i)?;
        Some((s, self.member(i)))
    }

    /// Pairs i..j with their handles, for moving them to other leaves.
    fn handles(&self, i: usize, j: usize) -> impl Iterator<Item = (f64, Handle)> + '_ {
        (i..j).filter_map(move |k| Some((*self.scores.get(k)?, self.handle(k)?)))
    }

    fn first(&self) -> Option<(f64, &[u8])> {
        self.get(0)
    }

    fn last(&self) -> Option<(f64, &[u8])> {
        self.get(self.len().checked_sub(1)?)
    }

    fn iter_range(&self, a: usize, b: usize) -> impl Iterator<Item = (f64, &[u8])> + '_ {
        (a..b).filter_map(move |i| self.get(i))
    }

    /// Compares pair i with (score, member); the scores array is searched first so members are only
    /// touched on score ties.
    #[inline]
    fn cmp_at(&self, i: usize, score: f64, member: &[u8]) -> Ordering {
        match self.scores.get(i) {
            Some(&s) => match s.partial_cmp(&score) {
                Some(Ordering::Less) => Ordering::Less,
                Some(Ordering::Greater) => Ordering::Greater,
                _ => self.member(i).cmp(member),
            },
            None => Ordering::Greater,
        }
    }

    fn search(&self, score: f64, member: &[u8]) -> Result<usize, usize> {
        let i = partition(self.len(), |i| self.cmp_at(i, score, member) == Ordering::Less);
        if self.cmp_at(i, score, member) == Ordering::Equal {
            Ok(i)
        } else {
            Err(i)
        }
    }

    /// Less than half full: worth merging with or refilling from a sibling.
    fn is_low(&self) -> bool {
        self.len() < LEAF_CAP / 2
    }

    /// Room for one more pair. Grows in small exact steps rather than doubling: leaves are many
    /// and small, so doubling slack would dominate per-element memory.
    fn reserve(&mut self) {
        if self.scores.len() == self.scores.capacity() {
            // Never past LEAF_CAP: a full leaf splits rather than grows.
            let n = self.scores.len();
            let step = (n / 4).clamp(4, 16).min(LEAF_CAP.saturating_sub(n)).max(1);
            self.scores.reserve_exact(step);
            self.words.reserve_exact(step);
            self.lens.reserve_exact(step);
        }
    }

    /// Gives back capacity after removals left much of it unused.
    fn shrink(&mut self) {
        let n = self.len();
        if self.scores.capacity() > 2 * n + 8 {
            self.scores.shrink_to(n + n / 4 + 4);
            self.words.shrink_to(n + n / 4 + 4);
            self.lens.shrink_to(n + n / 4 + 4);
        }
    }

    /// Appends in key order (the caller guarantees order and that the result fits).
    fn push(&mut self, score: f64, h: Handle) {
        self.scores.push(score);
        self.words.push(h.word);
        self.lens.push(h.len);
    }

    /// Inserts at position i (the caller guarantees order and that the result fits).
    fn insert_at(&mut self, i: usize, score: f64, h: Handle) {
        let i = i.min(self.len());
        self.reserve();
        self.scores.insert(i, score);
        self.words.insert(i, h.word);
        self.lens.insert(i, h.len);
    }

    /// Removes pairs i..j, reporting each to `f` in ascending order first.
    fn remove_range<F: FnMut(f64, &[u8])>(&mut self, i: usize, j: usize, f: &mut F) {
        let j = j.min(self.len());
        if i >= j {
            return;
        }
        for (s, m) in self.iter_range(i, j) {
            f(s, m);
        }
        self.scores.drain(i..j);
        self.words.drain(i..j);
        self.lens.drain(i..j);
        self.shrink();
    }

    fn remove_at(&mut self, i: usize) {
        self.remove_range(i, i + 1, &mut |_, _| {});
    }

    /// Moves all of `other` to the end of self (the caller guarantees order and that it fits).
    fn append(&mut self, other: &Leaf) {
        self.scores.reserve_exact(other.len());
        self.words.reserve_exact(other.len());
        self.lens.reserve_exact(other.len());
        self.scores.extend_from_slice(&other.scores);
        self.words.extend_from_slice(&other.words);
        self.lens.extend_from_slice(&other.lens);
    }

    /// The leaf's own heap bytes (not the members it points at).
    fn heap_bytes(&self) -> usize {
        self.scores.capacity() * size_of::<f64>()
            + self.words.capacity() * size_of::<Word>()
            + self.lens.capacity() * size_of::<u32>()
    }
}

/// Pair counts of the pieces `n` pairs are cut into: one piece if they fit in a leaf, else two
/// of (nearly) equal size.
fn plan_leaves(n: usize) -> Vec<usize> {
    if n <= LEAF_CAP {
        vec![n]
    } else {
        vec![n / 2, n - n / 2]
    }
}

/// Builds leaves from pairs in key order following `plan`.
fn build_leaves(mut pairs: impl Iterator<Item = (f64, Handle)>, plan: &[usize]) -> Vec<Leaf> {
    plan.iter()
        .map(|&n| {
            let mut l = Leaf::with_capacity(n);
            for (s, h) in pairs.by_ref().take(n) {
                l.push(s, h);
            }
            l
        })
        .collect()
}

/// A key routing descents: every key left of it is smaller, every key right of it is >= it.
#[derive(Clone)]
struct Sep {
    score: f64,
    member: Box<[u8]>,
}

impl Sep {
    fn empty() -> Sep {
        Sep {
            score: 0.0,
            member: Box::default(),
        }
    }

    /// The shortest separator with a < sep <= b: just b's score when the scores differ, else b's
    /// member cut one byte past the common prefix. Keeps inner nodes small and rarely allocating.
    fn between(a: (f64, &[u8]), b: (f64, &[u8])) -> Sep {
        if a.0 < b.0 {
            return Sep {
                score: b.0,
                member: Box::default(),
            };
        }
        let common = a.1.iter().zip(b.1).take_while(|(x, y)| x == y).count();
        Sep {
            score: b.0,
            member: b.1.get(..common + 1).unwrap_or(b.1).into(),
        }
    }

    #[inline]
    fn cmp_key(&self, score: f64, member: &[u8]) -> Ordering {
        cmp_key(self.score, &self.member, score, member)
    }
}

fn sep_between(left: &Leaf, right: &Leaf) -> Sep {
    match (left.last(), right.first()) {
        (Some(a), Some(b)) => Sep::between(a, b),
        (None, Some(b)) => Sep {
            score: b.0,
            member: b.1.into(),
        },
        _ => Sep::empty(),
    }
}

struct Inner {
    /// seps[i] separates kids[i] from kids[i+1].
    seps: Vec<Sep>,
    /// counts[i] = pairs under kids[i].
    counts: Vec<usize>,
    kids: Vec<Node>,
}

enum Node {
    Leaf(Box<Leaf>),
    Inner(Box<Inner>),
}

/// New right siblings (with the separator on their left) a node split into.
type Extra = Vec<(Sep, Node)>;

impl Node {
    fn count(&self) -> usize {
        match self {
            Node::Leaf(l) => l.len(),
            Node::Inner(i) => i.counts.iter().sum(),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Node::Leaf(l) => size_of::<Leaf>() + l.heap_bytes(),
            Node::Inner(i) => {
                size_of::<Inner>()
                    + i.seps.capacity() * size_of::<Sep>()
                    + i.seps.iter().map(|s| s.member.len()).sum::<usize>()
                    + i.counts.capacity() * size_of::<usize>()
                    + i.kids.capacity() * size_of::<Node>()
                    + i.kids.iter().map(Node::heap_bytes).sum::<usize>()
            }
        }
    }
}

impl Inner {
    /// The child whose key range holds (score, member).
    #[inline]
    fn child_for(&self, score: f64, member: &[u8]) -> usize {
        child_for(&self.seps, score, member)
    }

    /// The child holding rank `rank` of this subtree, and the rank within it.
    #[inline]
    fn child_at_rank(&self, rank: usize) -> Option<(usize, usize)> {
        let mut r = rank;
        for (c, &n) in self.counts.iter().enumerate() {
            if r < n {
                return Some((c, r));
            }
            r -= n;
        }
        None
    }

    #[inline]
    fn count_before(&self, c: usize) -> usize {
        self.counts.iter().take(c).sum()
    }

    /// Puts the siblings child c split off right after it.
    fn absorb(&mut self, c: usize, extra: Extra) {
        self.reserve(extra.len());
        if let (Some(n), Some(k)) = (self.counts.get_mut(c), self.kids.get(c)) {
            *n = k.count();
        }
        for (j, (sep, node)) in extra.into_iter().enumerate() {
            let at = (c + 1 + j).min(self.kids.len());
            self.counts.insert(at, node.count());
            self.kids.insert(at, node);
            self.seps.insert((c + j).min(self.seps.len()), sep);
        }
    }

    /// Room for `n` more children, in small exact steps: doubling at INNER_CAP + 1 would leave both
    /// halves of the coming split with twice the capacity they can use.
    fn reserve(&mut self, n: usize) {
        if self.kids.capacity() - self.kids.len() < n {
            let step = n.max(8);
            self.kids.reserve_exact(step);
            self.counts.reserve_exact(step);
            self.seps.reserve_exact(step);
        }
    }

    /// Cuts off kids[k..] into a new node; returns the separator that moves up and that node.
    /// The caller keeps 1 <= k < kids.len().
    fn split_at(&mut self, k: usize) -> (Sep, Inner) {
        let kids = self.kids.split_off(k.min(self.kids.len()));
        let counts = self.counts.split_off(k.min(self.counts.len()));
        let seps = self.seps.split_off(k.min(self.seps.len()));
        let up = self.seps.pop().unwrap_or_else(Sep::empty);
        self.kids.shrink_to(k + 8);
        self.counts.shrink_to(k + 8);
        self.seps.shrink_to(k + 8);
        (up, Inner { seps, counts, kids })
    }

    /// After kids[c] shrank: if it is underfull, merges it with a neighbour or evens them out.
    fn fix_child(&mut self, c: usize) {
        let low = match self.kids.get(c) {
            Some(Node::Leaf(l)) => l.is_low(),
            Some(Node::Inner(i)) => i.kids.len() < INNER_MIN,
            None => false,
        };
        if !low || self.kids.len() < 2 {
            return;
        }
        let l = if c + 1 < self.kids.len() {
            c
        } else {
            c.saturating_sub(1)
        };
        let r = l + 1;
        let (head, tail) = self.kids.split_at_mut(r);
        let (Some(a), Some(b)) = (head.last_mut(), tail.first_mut()) else {
            return;
        };
        let merged = match (a, b) {
            (Node::Leaf(a), Node::Leaf(b)) => match rebalance_leaves(a, b) {
                Pair::Merged => true,
                Pair::Moved(sep) => {
                    if let Some(s) = self.seps.get_mut(l) {
                        *s = sep;
                    }
                    set_counts(&mut self.counts, l, a.len(), b.len());
                    false
                }
                Pair::Unchanged => false,
            },
            (Node::Inner(a), Node::Inner(b)) => {
                let Some(slot) = self.seps.get_mut(l) else {
                    return;
                };
                let sep = std::mem::replace(slot, Sep::empty());
                match rebalance_inners(a, sep, b) {
                    None => true,
                    Some(up) => {
                        *slot = up;
                        set_counts(&mut self.counts, l, a.counts.iter().sum(), b.counts.iter().sum());
                        false
                    }
                }
            }
            _ => false,
        };
        if merged && r < self.kids.len() && r < self.counts.len() {
            self.kids.remove(r);
            let nr = self.counts.remove(r);
            if let Some(n) = self.counts.get_mut(l) {
                *n += nr;
            }
            if l < self.seps.len() {
                self.seps.remove(l);
            }
        }
    }

    /// Splits an overfull node in half.
    fn split_if_over(&mut self) -> Extra {
        if self.kids.len() <= INNER_CAP {
            return Vec::new();
        }
        let (up, right) = self.split_at(self.kids.len() / 2);
        vec![(up, Node::Inner(Box::new(right)))]
    }
}

#[inline]
fn child_for(seps: &[Sep], score: f64, member: &[u8]) -> usize {
    seps.partition_point(|s| s.cmp_key(score, member) != Ordering::Greater)
}

fn set_counts(counts: &mut [usize], l: usize, a: usize, b: usize) {
    if let Some(n) = counts.get_mut(l) {
        *n = a;
    }
    if let Some(n) = counts.get_mut(l + 1) {
        *n = b;
    }
}

enum Pair {
    /// Everything now lives in the left one; the right one is empty and must go.
    Merged,
    /// Pairs moved across; the new separator between them.
    Moved(Sep),
    Unchanged,
}

/// Merges adjacent leaves if they fit in one, else re-cuts them evenly.
fn rebalance_leaves(a: &mut Leaf, b: &mut Leaf) -> Pair {
    let (na, nb) = (a.len(), b.len());
    if na + nb <= LEAF_CAP {
        a.append(b);
        *b = Leaf::default();
        return Pair::Merged;
    }
    let k = (na + nb) / 2;
    if k == na {
        return Pair::Unchanged;
    }
    let (old_a, old_b) = (std::mem::take(a), std::mem::take(b));
    let plan = [k, na + nb - k];
    let mut pieces = build_leaves(old_a.handles(0, na).chain(old_b.handles(0, nb)), &plan).into_iter();
    *a = pieces.next().unwrap_or_default();
    *b = pieces.next().unwrap_or_default();
    Pair::Moved(sep_between(a, b))
}

/// Merges adjacent inner nodes (with their separator `sep` moving down) if they fit in one; else
/// splits them evenly and returns the separator that goes back up.
fn rebalance_inners(a: &mut Inner, sep: Sep, b: &mut Inner) -> Option<Sep> {
    a.reserve(b.kids.len());
    a.seps.push(sep);
    a.seps.append(&mut b.seps);
    a.counts.append(&mut b.counts);
    a.kids.append(&mut b.kids);
    if a.kids.len() <= INNER_CAP {
        return None;
    }
    let (up, right) = a.split_at(a.kids.len() / 2);
    *b = right;
    Some(up)
}

/// Inserts into a leaf at `pos`, splitting it if it overflows. At the tree's outer edges an overflow
/// splits off just the new pair, so ascending or descending loads leave leaves full, not half full.
fn leaf_insert(leaf: &mut Leaf, pos: usize, score: f64, h: Handle, left_edge: bool, right_edge: bool) -> Extra {
    let n = leaf.len() + 1;
    if n <= LEAF_CAP {
        leaf.insert_at(pos, score, h);
        return Vec::new();
    }
    if right_edge && pos == leaf.len() {
        let new = Leaf::single(score, h);
        let sep = sep_between(leaf, &new);
        return vec![(sep, Node::Leaf(Box::new(new)))];
    }
    if left_edge && pos == 0 {
        let old = std::mem::replace(leaf, Leaf::single(score, h));
        let sep = sep_between(leaf, &old);
        return vec![(sep, Node::Leaf(Box::new(old)))];
    }
    let plan = plan_leaves(n);
    let old = std::mem::take(leaf);
    let pairs = old
        .handles(0, pos)
        .chain(std::iter::once((score, h)))
        .chain(old.handles(pos, old.len()));
    let pieces = build_leaves(pairs, &plan);
    let seps: Vec<Sep> = pieces
        .windows(2)
        .filter_map(|w| Some(sep_between(w.first()?, w.get(1)?)))
        .collect();
    let mut pieces = pieces.into_iter();
    *leaf = pieces.next().unwrap_or_default();
    seps.into_iter()
        .zip(pieces)
        .map(|(s, l)| (s, Node::Leaf(Box::new(l))))
        .collect()
}

/// Returns whether a pair was added, and the siblings `node` split off.
fn insert_rec(node: &mut Node, score: f64, h: Handle, left_edge: bool, right_edge: bool) -> (bool, Extra) {
    match node {
        Node::Leaf(leaf) => match leaf.search(score, h.bytes()) {
            Ok(_) => (false, Vec::new()),
            Err(pos) => (true, leaf_insert(leaf, pos, score, h, left_edge, right_edge)),
        },
        Node::Inner(inner) => {
            let c = inner.child_for(score, h.bytes());
            let last = inner.kids.len().saturating_sub(1);
            let Some(kid) = inner.kids.get_mut(c) else {
                return (false, Vec::new());
            };
            let (added, extra) = insert_rec(kid, score, h, left_edge && c == 0, right_edge && c == last);
            if added {
                if let Some(n) = inner.counts.get_mut(c) {
                    *n += 1;
                }
            }
            if extra.is_empty() {
                return (added, extra);
            }
            inner.absorb(c, extra);
            (added, inner.split_if_over())
        }
    }
}

/// Removes exactly (score, member), returning its handle.
fn remove_rec(node: &mut Node, score: f64, member: &[u8]) -> Option<Handle> {
    match node {
        Node::Leaf(leaf) => {
            let i = leaf.search(score, member).ok()?;
            let h = leaf.handle(i);
            leaf.remove_at(i);
            h
        }
        Node::Inner(inner) => {
            let c = inner.child_for(score, member);
            let kid = inner.kids.get_mut(c)?;
            let h = remove_rec(kid, score, member)?;
            if let Some(n) = inner.counts.get_mut(c) {
                *n = n.saturating_sub(1);
            }
            inner.fix_child(c);
            Some(h)
        }
    }
}

/// Removes up to `max` pairs from rank `start` on, all within the leaf holding `start`; returns how
/// many went.
fn remove_run<F: FnMut(f64, &[u8])>(node: &mut Node, start: usize, max: usize, f: &mut F) -> usize {
    match node {
        Node::Leaf(leaf) => {
            let j = start.saturating_add(max).min(leaf.len());
            let i = start.min(j);
            leaf.remove_range(i, j, f);
            j - i
        }
        Node::Inner(inner) => {
            let Some((c, off)) = inner.child_at_rank(start) else {
                return 0;
            };
            let Some(kid) = inner.kids.get_mut(c) else {
                return 0;
            };
            let gone = remove_run(kid, off, max, f);
            if let Some(n) = inner.counts.get_mut(c) {
                *n = n.saturating_sub(gone);
            }
            inner.fix_child(c);
            gone
        }
    }
}

/// Outcome of trying to change a score without restructuring.
enum InPlace {
    Done,
    NotFound,
    /// The pair must move to another leaf.
    Elsewhere,
}

/// The ranked (score, member) order of a large sorted set. Not `Clone`: a copy would point at
/// the members of the set it was copied from.
pub struct ZTree {
    root: Node,
    len: usize,
}

impl Default for ZTree {
    fn default() -> Self {
        Self::new()
    }
}

impl ZTree {
    pub fn new() -> Self {
        ZTree {
            root: Node::Leaf(Box::default()),
            len: 0,
        }
    }

    /// Active defragmentation of every node (see `ds::defrag`).
    pub fn defrag(&mut self, d: &mut super::defrag::Defrag) {
        fn walk(n: &mut Node, d: &mut super::defrag::Defrag) {
            match n {
                Node::Leaf(leaf) => {
                    d.boxed(leaf);
                    d.vec(&mut leaf.scores);
                    d.vec(&mut leaf.words);
                    d.vec(&mut leaf.lens);
                }
                Node::Inner(inner) => {
                    d.boxed(inner);
                    for sep in inner.seps.iter_mut() {
                        d.slice(&mut sep.member);
                    }
                    d.vec(&mut inner.seps);
                    d.vec(&mut inner.counts);
                    for kid in inner.kids.iter_mut() {
                        walk(kid, d);
                    }
                    d.vec(&mut inner.kids);
                }
            }
        }
        walk(&mut self.root, d);
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds (score, member); the member must not be present (an identical pair is left alone).
    ///
    /// # Safety
    /// A member longer than INLINE bytes is not copied: its bytes must stay where they
    /// are, unchanged, until the pair is removed (by `remove`, `update_score` keeping it,
    /// `remove_rank_range` or `clear`) or the tree is dropped, and must not be freed while a
    /// member read from the tree is in use.
    pub unsafe fn insert(&mut self, score: f64, member: &[u8]) {
        // Safety: passed on to the caller.
        let h = unsafe { Handle::new(member) };
        self.insert_handle(score, h);
    }

    fn insert_handle(&mut self, score: f64, h: Handle) {
        let (added, extra) = insert_rec(&mut self.root, score, h, true, true);
        if added {
            self.len += 1;
        }
        if !extra.is_empty() {
            let old = std::mem::replace(&mut self.root, Node::Leaf(Box::default()));
            let mut root = Inner {
                seps: Vec::with_capacity(extra.len()),
                counts: vec![old.count()],
                kids: vec![old],
            };
            for (s, n) in extra {
                root.seps.push(s);
                root.counts.push(n.count());
                root.kids.push(n);
            }
            self.root = Node::Inner(Box::new(root));
        }
    }

    /// Removes exactly (score, member); false if absent.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        self.take(score, member).is_some()
    }

    /// Removes exactly (score, member), returning its handle.
    fn take(&mut self, score: f64, member: &[u8]) -> Option<Handle> {
        let h = remove_rec(&mut self.root, score, member)?;
        self.len -= 1;
        self.collapse_root();
        Some(h)
    }

    /// An inner root left with one child hands the root role down to it.
    fn collapse_root(&mut self) {
        while let Node::Inner(inner) = &mut self.root {
            if inner.kids.len() > 1 {
                break;
            }
            self.root = inner.kids.pop().unwrap_or_else(|| Node::Leaf(Box::default()));
        }
    }

    /// Changes the score of (old, member); false if absent. When the pair keeps its place it is
    /// rescored in place, and a move within its leaf touches nothing above it.
    /// Redis compat: t_zset.c zslUpdateScore.
    pub fn update_score(&mut self, old: f64, member: &[u8], new: f64) -> bool {
        match self.update_in_leaf(old, member, new) {
            InPlace::Done => true,
            InPlace::NotFound => false,
            // The pair keeps its handle: `member` may be a copy that does not live on.
            InPlace::Elsewhere => match self.take(old, member) {
                Some(h) => {
                    self.insert_handle(new, h);
                    true
                }
                None => false,
            },
        }
    }

    /// The leaf holding (score, member) if present, and its index there.
    fn leaf_of_mut(&mut self, score: f64, member: &[u8]) -> Option<(&mut Leaf, usize)> {
        let mut node = &mut self.root;
        loop {
            match node {
                Node::Inner(inner) => {
                    let c = inner.child_for(score, member);
                    node = inner.kids.get_mut(c)?;
                }
                Node::Leaf(leaf) => {
                    let i = leaf.search(score, member).ok()?;
                    return Some((leaf, i));
                }
            }
        }
    }

    /// Where the tree keeps the address of the long member of (score, member), found while
    /// its bytes are still there, for active defragmentation to move them (see `Slot`). None
    /// if the pair is absent or its member is kept inline.
    pub fn slot(&mut self, score: f64, member: &[u8]) -> Option<Slot<'_>> {
        if member.len() <= INLINE {
            return None;
        }
        let (leaf, i) = self.leaf_of_mut(score, member)?;
        leaf.words.get_mut(i).map(Slot)
    }

    fn update_in_leaf(&mut self, old: f64, member: &[u8], new: f64) -> InPlace {
        // The separators bounding the leaf's key range: the pair may stay in the leaf iff
        // lo <= (new, member) < hi.
        let mut lo: Option<&Sep> = None;
        let mut hi: Option<&Sep> = None;
        let mut node = &mut self.root;
        let leaf = loop {
            match node {
                Node::Inner(inner) => {
                    let Inner { seps, kids, .. } = &mut **inner;
                    let seps: &Vec<Sep> = seps;
                    let c = child_for(seps, old, member);
                    if let Some(s) = c.checked_sub(1).and_then(|p| seps.get(p)) {
                        lo = Some(s);
                    }
                    if let Some(s) = seps.get(c) {
                        hi = Some(s);
                    }
                    let Some(kid) = kids.get_mut(c) else {
                        return InPlace::NotFound;
                    };
                    node = kid;
                }
                Node::Leaf(leaf) => break leaf,
            }
        };
        let Ok(i) = leaf.search(old, member) else {
            return InPlace::NotFound;
        };
        let above_lo = lo.is_none_or(|s| s.cmp_key(new, member) != Ordering::Greater);
        let below_hi = hi.is_none_or(|s| s.cmp_key(new, member) == Ordering::Greater);
        let after_prev = match i.checked_sub(1).and_then(|p| leaf.get(p)) {
            Some((s, m)) => cmp_key(s, m, new, member) == Ordering::Less,
            None => above_lo,
        };
        let before_next = match leaf.get(i + 1) {
            Some((s, m)) => cmp_key(new, member, s, m) == Ordering::Less,
            None => below_hi,
        };
        if after_prev && before_next {
            if let Some(s) = leaf.scores.get_mut(i) {
                *s = new;
            }
            return InPlace::Done;
        }
        if above_lo && below_hi {
            // Same leaf, same size: no count or separator above changes.
            let Some(h) = leaf.handle(i) else {
                return InPlace::NotFound;
            };
            leaf.remove_at(i);
            let pos = match leaf.search(new, member) {
                Ok(p) | Err(p) => p,
            };
            leaf.insert_at(pos, new, h);
            return InPlace::Done;
        }
        InPlace::Elsewhere
    }

    /// 0-based ascending rank of exactly (score, member).
    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let mut acc = 0;
        let mut node = &self.root;
        loop {
            match node {
                Node::Inner(inner) => {
                    let c = inner.child_for(score, member);
                    acc += inner.count_before(c);
                    node = inner.kids.get(c)?;
                }
                Node::Leaf(leaf) => return leaf.search(score, member).ok().map(|i| acc + i),
            }
        }
    }

    pub fn get_by_rank(&self, rank: usize) -> Option<(f64, &[u8])> {
        let mut r = rank;
        let mut node = &self.root;
        loop {
            match node {
                Node::Inner(inner) => {
                    let (c, off) = inner.child_at_rank(r)?;
                    r = off;
                    node = inner.kids.get(c)?;
                }
                Node::Leaf(leaf) => return leaf.get(r),
            }
        }
    }

    pub fn first(&self) -> Option<(f64, &[u8])> {
        self.get_by_rank(0)
    }

    pub fn last(&self) -> Option<(f64, &[u8])> {
        self.get_by_rank(self.len.checked_sub(1)?)
    }

    /// The path to rank `rank`: inner nodes with the child taken, the leaf, and the offset in it.
    fn descend(&self, rank: usize) -> Option<(Path<'_>, &Leaf, usize)> {
        let mut stack = Vec::new();
        let mut r = rank;
        let mut node = &self.root;
        loop {
            match node {
                Node::Inner(inner) => {
                    let (c, off) = inner.child_at_rank(r)?;
                    stack.push((&**inner, c));
                    r = off;
                    node = inner.kids.get(c)?;
                }
                Node::Leaf(leaf) => return Some((stack, leaf, r)),
            }
        }
    }

    /// Ascending from the smallest pair.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0)
    }

    /// Ascending from `rank` (O(log n) to start, O(1) amortized per step); empty past the end.
    pub fn iter_from(&self, rank: usize) -> Iter<'_> {
        match self.descend(rank) {
            Some((stack, leaf, pos)) if rank < self.len => Iter {
                stack,
                leaf,
                pos,
                left: self.len - rank,
            },
            _ => Iter {
                stack: Vec::new(),
                leaf: &EMPTY_LEAF,
                pos: 0,
                left: 0,
            },
        }
    }

    /// Descending from `rank` (ranks count from the smallest); a rank past the end starts at the
    /// largest pair, like the listpack encoding's reverse walk.
    pub fn iter_rev_from(&self, rank: usize) -> RevIter<'_> {
        let rank = rank.min(self.len.saturating_sub(1));
        match self.descend(rank) {
            Some((stack, leaf, pos)) if rank < self.len => RevIter {
                stack,
                leaf,
                pos: pos + 1,
                left: rank + 1,
            },
            _ => RevIter {
                stack: Vec::new(),
                leaf: &EMPTY_LEAF,
                pos: 0,
                left: 0,
            },
        }
    }

    /// How many pairs satisfy `p`, which must hold on a prefix of the order (and so on every
    /// separator left of the cut).
    fn count_while(&self, p: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut acc = 0;
        let mut node = &self.root;
        loop {
            match node {
                Node::Inner(inner) => {
                    let c = inner.seps.partition_point(|s| p(s.score, &s.member));
                    acc += inner.count_before(c);
                    match inner.kids.get(c) {
                        Some(k) => node = k,
                        None => return acc,
                    }
                }
                Node::Leaf(leaf) => {
                    return acc + partition(leaf.len(), |i| leaf.get(i).is_some_and(|(s, m)| p(s, m)));
                }
            }
        }
    }

    /// Rank of the first pair with score >= min (> if exclusive); len() if none.
    pub fn first_in_score(&self, min: ScoreBound) -> usize {
        if min.exclusive {
            self.count_while(|s, _| s <= min.value)
        } else {
            self.count_while(|s, _| s < min.value)
        }
    }

    /// Number of pairs with score <= max (< if exclusive).
    pub fn count_le_score(&self, max: ScoreBound) -> usize {
        if max.exclusive {
            self.count_while(|s, _| s < max.value)
        } else {
            self.count_while(|s, _| s <= max.value)
        }
    }

    /// Rank of the first member >= min (> if exclusive); meaningful when all scores are equal.
    pub fn first_in_lex(&self, min: &LexBound) -> usize {
        match *min {
            LexBound::NegInf => 0,
            LexBound::PosInf => self.len,
            LexBound::Incl(b) => self.count_while(|_, m| m < b),
            LexBound::Excl(b) => self.count_while(|_, m| m <= b),
        }
    }

    /// Number of members <= max (< if exclusive); meaningful when all scores are equal.
    pub fn count_le_lex(&self, max: &LexBound) -> usize {
        match *max {
            LexBound::NegInf => 0,
            LexBound::PosInf => self.len,
            LexBound::Incl(b) => self.count_while(|_, m| m <= b),
            LexBound::Excl(b) => self.count_while(|_, m| m < b),
        }
    }

    /// Removes ranks start..=end (end clamped to the last rank), calling f(score, member) for each in
    /// ascending order. Works a leaf-run at a time: O((k / LEAF_CAP + 1) log n + k).
    pub fn remove_rank_range<F: FnMut(f64, &[u8])>(&mut self, start: usize, end: usize, mut f: F) {
        if start > end || start >= self.len {
            return;
        }
        let end = end.min(self.len - 1);
        let mut left = end - start + 1;
        if left == self.len {
            for (s, m) in self.iter() {
                f(s, m);
            }
            self.clear();
            return;
        }
        while left > 0 {
            let gone = remove_run(&mut self.root, start, left, &mut f);
            if gone == 0 {
                break;
            }
            left -= gone;
            self.len -= gone;
            self.collapse_root();
        }
    }

    /// Approximate heap bytes of the tree itself (not of the members it points at). Walks the
    /// nodes: O(n / LEAF_CAP).
    pub fn mem_usage(&self) -> usize {
        self.root.heap_bytes()
    }

    pub fn clear(&mut self) {
        self.root = Node::Leaf(Box::default());
        self.len = 0;
    }
}

/// The address of a long member in its leaf (see `ZTree::slot`).
pub struct Slot<'t>(&'t mut Word);

impl Slot<'_> {
    /// Points the pair at `to` instead.
    ///
    /// # Safety
    /// `to` must be the member's bytes, kept as `ZTree::insert` requires.
    pub unsafe fn point_at(self, to: &[u8]) {
        *self.0 = Word { ptr: to.as_ptr() };
    }
}

/// Inner nodes from the root down to a leaf, with the child index taken in each.
type Path<'a> = Vec<(&'a Inner, usize)>;

/// Ascending iterator (see `ZTree::iter_from`).
pub struct Iter<'a> {
    stack: Path<'a>,
    leaf: &'a Leaf,
    /// Next position to yield in `leaf`.
    pos: usize,
    left: usize,
}

impl Iter<'_> {
    /// Moves to the first pair of the next leaf; None at the end.
    fn next_leaf(&mut self) -> Option<()> {
        loop {
            let (inner, c) = self.stack.pop()?;
            let Some(mut node) = inner.kids.get(c + 1) else {
                continue;
            };
            self.stack.push((inner, c + 1));
            loop {
                match node {
                    Node::Inner(i) => {
                        self.stack.push((i, 0));
                        node = i.kids.first()?;
                    }
                    Node::Leaf(l) => {
                        self.leaf = l;
                        self.pos = 0;
                        return Some(());
                    }
                }
            }
        }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = (f64, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        loop {
            if let Some(x) = self.leaf.get(self.pos) {
                self.pos += 1;
                self.left -= 1;
                return Some(x);
            }
            if self.next_leaf().is_none() {
                self.left = 0;
                return None;
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Iter<'_> {}
impl FusedIterator for Iter<'_> {}

/// Descending iterator (see `ZTree::iter_rev_from`).
pub struct RevIter<'a> {
    stack: Path<'a>,
    leaf: &'a Leaf,
    /// One past the next position to yield in `leaf`.
    pos: usize,
    left: usize,
}

impl RevIter<'_> {
    /// Moves past the last pair of the previous leaf; None at the start.
    fn prev_leaf(&mut self) -> Option<()> {
        loop {
            let (inner, c) = self.stack.pop()?;
            let Some(p) = c.checked_sub(1) else {
                continue;
            };
            let mut node = inner.kids.get(p)?;
            self.stack.push((inner, p));
            loop {
                match node {
                    Node::Inner(i) => {
                        let last = i.kids.len().checked_sub(1)?;
                        self.stack.push((i, last));
                        node = i.kids.get(last)?;
                    }
                    Node::Leaf(l) => {
                        self.leaf = l;
                        self.pos = l.len();
                        return Some(());
                    }
                }
            }
        }
    }
}

impl<'a> Iterator for RevIter<'a> {
    type Item = (f64, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        loop {
            if let Some(p) = self.pos.checked_sub(1) {
                if let Some(x) = self.leaf.get(p) {
                    self.pos = p;
                    self.left -= 1;
                    return Some(x);
                }
            }
            if self.prev_leaf().is_none() {
                self.left = 0;
                return None;
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for RevIter<'_> {}
impl FusedIterator for RevIter<'_> {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    use std::collections::HashMap;

    type Model = Vec<(f64, Vec<u8>)>;

    /// A tree with the bytes of every long member it was given kept alive (the part a sorted
    /// set's member table plays).
    #[derive(Default)]
    struct Kept {
        t: ZTree,
        keep: Vec<Box<[u8]>>,
    }

    impl Kept {
        fn new() -> Self {
            Self::default()
        }

        fn insert(&mut self, s: f64, m: &[u8]) {
            let b: Box<[u8]> = m.into();
            // Safety: the box's bytes stay where they are until `self` goes, after its tree.
            unsafe { self.t.insert(s, &b) };
            if b.len() > INLINE {
                self.keep.push(b);
            }
        }

        fn clone(&self) -> Kept {
            let mut k = Kept::new();
            for (s, m) in self.t.iter() {
                k.insert(s, m);
            }
            k
        }
    }

    impl std::ops::Deref for Kept {
        type Target = ZTree;
        fn deref(&self) -> &ZTree {
            &self.t
        }
    }

    impl std::ops::DerefMut for Kept {
        fn deref_mut(&mut self) -> &mut ZTree {
            &mut self.t
        }
    }

    /// Checks every structural invariant; returns (pairs, leaf depth).
    fn check_node(node: &Node, lo: Option<(f64, &[u8])>, hi: Option<(f64, &[u8])>, root: bool) -> (usize, usize) {
        let in_range = |s: f64, m: &[u8]| {
            assert!(
                lo.is_none_or(|(ls, lm)| cmp_key(ls, lm, s, m) != Ordering::Greater),
                "below lower sep"
            );
            assert!(
                hi.is_none_or(|(hs, hm)| cmp_key(s, m, hs, hm) == Ordering::Less),
                "not below upper sep"
            );
        };
        match node {
            Node::Leaf(l) => {
                assert_eq!(l.scores.len(), l.words.len());
                assert_eq!(l.scores.len(), l.lens.len());
                assert!(l.len() <= LEAF_CAP);
                assert!(root || l.len() >= 1, "empty non-root leaf");
                let pairs: Vec<_> = l.iter_range(0, l.len()).collect();
                for w in pairs.windows(2) {
                    assert_eq!(
                        cmp_key(w[0].0, w[0].1, w[1].0, w[1].1),
                        Ordering::Less,
                        "leaf out of order"
                    );
                }
                for &(s, m) in &pairs {
                    in_range(s, m);
                }
                (l.len(), 0)
            }
            Node::Inner(i) => {
                assert_eq!(i.kids.len(), i.counts.len());
                assert_eq!(i.kids.len(), i.seps.len() + 1);
                assert!(i.kids.len() <= INNER_CAP);
                if root {
                    assert!(i.kids.len() >= 2, "inner root with one child");
                } else {
                    assert!(i.kids.len() >= INNER_MIN, "underfull inner node");
                }
                for s in &i.seps {
                    in_range(s.score, &s.member);
                }
                for w in i.seps.windows(2) {
                    assert_eq!(w[0].cmp_key(w[1].score, &w[1].member), Ordering::Less);
                }
                let mut total = 0;
                let mut depth = None;
                for (c, kid) in i.kids.iter().enumerate() {
                    let klo = if c == 0 {
                        lo
                    } else {
                        Some((i.seps[c - 1].score, &*i.seps[c - 1].member))
                    };
                    let khi = i.seps.get(c).map(|s| (s.score, &*s.member)).or(hi);
                    let (n, d) = check_node(kid, klo, khi, false);
                    assert_eq!(n, i.counts[c], "stale count");
                    assert!(depth.is_none_or(|x| x == d), "leaves at different depths");
                    depth = Some(d);
                    total += n;
                }
                (total, depth.unwrap_or(0) + 1)
            }
        }
    }

    fn check(t: &ZTree) {
        let (n, _) = check_node(&t.root, None, None, true);
        assert_eq!(n, t.len());
    }

    fn check_eq(t: &ZTree, m: &Model) {
        check(t);
        assert_eq!(t.len(), m.len());
        let got: Vec<(f64, Vec<u8>)> = t.iter().map(|(s, b)| (s, b.to_vec())).collect();
        assert_eq!(got.len(), m.len());
        for (g, w) in got.iter().zip(m) {
            assert_eq!(g.0.to_bits(), w.0.to_bits());
            assert_eq!(g.1, w.1);
        }
    }

    fn model_pos(m: &Model, s: f64, b: &[u8]) -> Result<usize, usize> {
        m.binary_search_by(|(ms, mb)| cmp_key(*ms, mb, s, b))
    }

    fn sb(value: f64, exclusive: bool) -> ScoreBound {
        ScoreBound { value, exclusive }
    }

    #[test]
    fn empty_tree() {
        let mut t = Kept::new();
        assert!(t.is_empty());
        assert_eq!(t.len(), 0);
        assert_eq!(t.get_by_rank(0), None);
        assert_eq!(t.first(), None);
        assert_eq!(t.last(), None);
        assert_eq!(t.rank(1.0, b"a"), None);
        assert_eq!(t.iter_from(0).count(), 0);
        assert_eq!(t.iter_rev_from(0).count(), 0);
        assert_eq!(t.iter_rev_from(usize::MAX).count(), 0);
        assert_eq!(t.first_in_score(sb(f64::NEG_INFINITY, false)), 0);
        assert_eq!(t.count_le_score(sb(f64::INFINITY, false)), 0);
        assert_eq!(t.first_in_lex(&LexBound::PosInf), 0);
        assert_eq!(t.count_le_lex(&LexBound::PosInf), 0);
        assert!(!t.remove(1.0, b"a"));
        assert!(!t.update_score(1.0, b"a", 2.0));
        let mut calls = 0;
        t.remove_rank_range(0, 10, |_, _| calls += 1);
        assert_eq!(calls, 0);
        check(&t);
        let d = ZTree::default();
        assert!(d.is_empty());
    }

    #[test]
    fn basic_order_and_ties() {
        let mut t = Kept::new();
        t.insert(2.0, b"b");
        t.insert(1.0, b"z");
        t.insert(2.0, b"a");
        t.insert(2.0, b"");
        t.insert(2.0, b"ab");
        t.insert(f64::INFINITY, b"inf");
        t.insert(f64::NEG_INFINITY, b"-inf");
        let got: Vec<(f64, &[u8])> = t.iter().collect();
        let want: Vec<(f64, &[u8])> = vec![
            (f64::NEG_INFINITY, b"-inf"),
            (1.0, b"z"),
            (2.0, b""),
            (2.0, b"a"),
            (2.0, b"ab"),
            (2.0, b"b"),
            (f64::INFINITY, b"inf"),
        ];
        assert_eq!(got, want);
        assert_eq!(t.rank(2.0, b"ab"), Some(4));
        assert_eq!(t.rank(2.0, b"c"), None);
        assert_eq!(t.rank(3.0, b"ab"), None);
        // Duplicate pair is ignored.
        t.insert(2.0, b"ab");
        assert_eq!(t.len(), 7);
        let rev: Vec<(f64, &[u8])> = t.iter_rev_from(100).collect();
        assert_eq!(rev, want.iter().rev().copied().collect::<Vec<_>>());
        assert_eq!(
            t.iter_rev_from(2).map(|x| x.1).collect::<Vec<_>>(),
            vec![&b""[..], b"z", b"-inf"]
        );
        assert_eq!(t.iter_from(5).len(), 2);
        assert_eq!(t.iter_from(7).count(), 0);
        assert_eq!(t.first(), Some((f64::NEG_INFINITY, &b"-inf"[..])));
        assert_eq!(t.last(), Some((f64::INFINITY, &b"inf"[..])));
        assert_eq!(t.first_in_score(sb(2.0, false)), 2);
        assert_eq!(t.first_in_score(sb(2.0, true)), 6);
        assert_eq!(t.count_le_score(sb(2.0, false)), 6);
        assert_eq!(t.count_le_score(sb(2.0, true)), 2);
        assert_eq!(t.first_in_score(sb(f64::NEG_INFINITY, false)), 0);
        assert_eq!(t.first_in_score(sb(f64::NEG_INFINITY, true)), 1);
        assert_eq!(t.count_le_score(sb(f64::INFINITY, false)), 7);
        assert_eq!(t.count_le_score(sb(f64::INFINITY, true)), 6);
        check(&t);
    }

    #[test]
    fn negative_zero_equals_zero() {
        let mut t = Kept::new();
        t.insert(0.0, b"b");
        t.insert(-0.0, b"a");
        t.insert(-0.0, b"c");
        let got: Vec<&[u8]> = t.iter().map(|x| x.1).collect();
        assert_eq!(got, vec![&b"a"[..], b"b", b"c"]);
        assert_eq!(t.rank(0.0, b"a"), Some(0));
        assert_eq!(t.rank(-0.0, b"b"), Some(1));
        assert_eq!(t.first_in_score(sb(0.0, false)), 0);
        assert_eq!(t.first_in_score(sb(-0.0, true)), 3);
        assert_eq!(t.count_le_score(sb(-0.0, false)), 3);
        assert_eq!(t.count_le_score(sb(0.0, true)), 0);
        assert!(t.update_score(0.0, b"c", 0.0));
        assert!(t.remove(0.0, b"a"));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn lex_bounds_simple() {
        let mut t = Kept::new();
        for m in [&b"a"[..], b"b", b"bb", b"c", b"d"] {
            t.insert(0.0, m);
        }
        assert_eq!(t.first_in_lex(&LexBound::NegInf), 0);
        assert_eq!(t.first_in_lex(&LexBound::PosInf), 5);
        assert_eq!(t.count_le_lex(&LexBound::NegInf), 0);
        assert_eq!(t.count_le_lex(&LexBound::PosInf), 5);
        assert_eq!(t.first_in_lex(&LexBound::Incl(b"b")), 1);
        assert_eq!(t.first_in_lex(&LexBound::Excl(b"b")), 2);
        assert_eq!(t.first_in_lex(&LexBound::Incl(b"ba")), 2);
        assert_eq!(t.count_le_lex(&LexBound::Incl(b"bb")), 3);
        assert_eq!(t.count_le_lex(&LexBound::Excl(b"bb")), 2);
        assert_eq!(t.count_le_lex(&LexBound::Incl(b"")), 0);
        assert_eq!(t.first_in_lex(&LexBound::Excl(b"zzz")), 5);
    }

    #[test]
    fn sequential_loads_fill_leaves() {
        for descending in [false, true] {
            let mut t = Kept::new();
            let n = 100_000usize;
            for i in 0..n {
                let k = if descending { n - 1 - i } else { i };
                t.insert(k as f64, format!("m{k:08}").as_bytes());
            }
            check(&t);
            // Edge splits keep leaves full: 20 B of arrays per pair (the members are pointed
            // at), about 2 more for the leaf boxes and inner nodes.
            let per = t.mem_usage() as f64 / n as f64;
            assert!(per < 23.0, "{per} bytes per element (descending={descending})");
            for r in (0..n).step_by(997) {
                assert_eq!(t.get_by_rank(r).unwrap().0, r as f64);
                assert_eq!(t.rank(r as f64, format!("m{r:08}").as_bytes()), Some(r));
            }
        }
    }

    #[test]
    fn random_load_memory() {
        let mut rng = SmallRng::seed_from_u64(7);
        let mut t = Kept::new();
        let n = 200_000usize;
        for i in 0..n {
            let m = format!("member:{i}");
            t.insert(rng.random::<f64>() * 1e6, m.as_bytes());
        }
        check(&t);
        let per = t.mem_usage() as f64 / n as f64;
        assert!(per < 32.0, "{per} bytes per element");
    }

    #[test]
    fn update_score_in_place_and_moves() {
        let mut t = Kept::new();
        let mut m: Model = Vec::new();
        for i in 0..1000 {
            t.insert(i as f64, format!("k{i}").as_bytes());
            m.push((i as f64, format!("k{i}").into_bytes()));
        }
        m.sort_by(|a, b| cmp_key(a.0, &a.1, b.0, &b.1));
        // Stays in place.
        assert!(t.update_score(500.0, b"k500", 500.5));
        let p = model_pos(&m, 500.0, b"k500").unwrap();
        m[p].0 = 500.5;
        check_eq(&t, &m);
        // Moves far.
        assert!(t.update_score(3.0, b"k3", 10_000.0));
        let p = model_pos(&m, 3.0, b"k3").unwrap();
        let e = m.remove(p);
        m.push((10_000.0, e.1));
        check_eq(&t, &m);
        // Unknown pair or wrong old score.
        assert!(!t.update_score(4.5, b"k4", 1.0));
        assert!(!t.update_score(1.0, b"nope", 1.0));
        check_eq(&t, &m);
        // Every pair to the same score: the set becomes lex ordered.
        let all: Vec<(f64, Vec<u8>)> = m.clone();
        for (s, b) in &all {
            assert!(t.update_score(*s, b, 7.0));
        }
        let mut want: Model = all.into_iter().map(|(_, b)| (7.0, b)).collect();
        want.sort_by(|a, b| a.1.cmp(&b.1));
        check_eq(&t, &want);
    }

    #[test]
    fn remove_rank_range_cases() {
        let build = |n: usize| {
            let mut t = Kept::new();
            let mut m: Model = Vec::new();
            for i in 0..n {
                let s = (i % 37) as f64;
                let b = format!("x{i}").into_bytes();
                t.insert(s, &b);
                m.push((s, b));
            }
            m.sort_by(|a, b| cmp_key(a.0, &a.1, b.0, &b.1));
            (t, m)
        };
        let n = 5000;
        for (start, end) in [
            (0, n - 1),
            (0, usize::MAX),
            (10, 9),
            (n, n + 5),
            (0, 0),
            (n - 1, n - 1),
            (100, 4000),
            (1, n - 2),
            (2500, 2600),
            (0, 3000),
            (3000, n + 100),
        ] {
            let (mut t, mut m) = build(n);
            let mut seen: Model = Vec::new();
            t.remove_rank_range(start, end, |s, b| seen.push((s, b.to_vec())));
            let want: Model = if start > end || start >= n {
                Vec::new()
            } else {
                m.drain(start..=end.min(n - 1)).collect()
            };
            assert_eq!(seen, want, "range {start}..={end}");
            check_eq(&t, &m);
        }
    }

    /// Members of many kilobytes, interleaved with small ones.
    #[test]
    fn big_members() {
        let mut rng = SmallRng::seed_from_u64(99);
        let mut t = Kept::new();
        let mut m: Model = Vec::new();
        for step in 0..3000 {
            let op = rng.random_range(0..10);
            if op < 6 || m.is_empty() {
                let len = match rng.random_range(0..4) {
                    0 => rng.random_range(4096..24_576),
                    1 => rng.random_range(100..2000),
                    _ => rng.random_range(0..20),
                };
                let mut b = vec![0u8; len];
                rng.fill(&mut b[..]);
                let s = rng.random_range(0..5) as f64;
                if model_pos(&m, s, &b).is_ok() || m.iter().any(|x| x.1 == b) {
                    continue;
                }
                t.insert(s, &b);
                let p = model_pos(&m, s, &b).unwrap_err();
                m.insert(p, (s, b));
            } else if op < 9 {
                let i = rng.random_range(0..m.len());
                let (s, b) = m.remove(i);
                assert!(t.remove(s, &b));
            } else {
                let i = rng.random_range(0..m.len());
                let j = (i + rng.random_range(0..5)).min(m.len() - 1);
                let want: Model = m.drain(i..=j).collect();
                let mut seen: Model = Vec::new();
                t.remove_rank_range(i, j, |s, b| seen.push((s, b.to_vec())));
                assert_eq!(seen, want);
            }
            if step % 50 == 0 {
                check_eq(&t, &m);
            }
        }
        check_eq(&t, &m);
        let c = t.clone();
        check_eq(&c, &m);
    }

    fn random_member(rng: &mut SmallRng, pool: usize) -> Vec<u8> {
        let i = rng.random_range(0..pool);
        // Shared prefixes of varied length exercise separator truncation.
        match i % 4 {
            0 => format!("m{i}").into_bytes(),
            1 => format!("member:{i:06}").into_bytes(),
            2 => format!("member:{i:06}:{}", "x".repeat(i % 50)).into_bytes(),
            _ => i.to_le_bytes()[..(i % 3) + 1].to_vec(),
        }
    }

    fn random_score(rng: &mut SmallRng) -> f64 {
        match rng.random_range(0..10) {
            0 => f64::NEG_INFINITY,
            1 => f64::INFINITY,
            2 => -0.0,
            3 => 0.0,
            4 => rng.random_range(-3..4) as f64,
            5 => rng.random_range(-3..4) as f64 + 0.5,
            _ => rng.random_range(-1000.0..1000.0),
        }
    }

    fn random_bound(rng: &mut SmallRng, m: &Model) -> ScoreBound {
        let value = if !m.is_empty() && rng.random_bool(0.5) {
            m[rng.random_range(0..m.len())].0
        } else {
            random_score(rng)
        };
        sb(value, rng.random_bool(0.5))
    }

    /// Mixed operations against a sorted Vec model. Alternating grow and shrink phases take the
    /// tree from empty to ~20k pairs (two inner levels) and back, so inner splits, merges and
    /// redistributions all happen under the model's eye.
    #[test]
    fn randomized_against_model() {
        let mut rng = SmallRng::seed_from_u64(0x5eed);
        let mut t = Kept::new();
        let mut m: Model = Vec::new();
        let mut scores: HashMap<Vec<u8>, f64> = HashMap::new();
        let mut max_depth = 0;
        let mut max_len = 0;
        for step in 0..150_000 {
            let grow = (step / 50_000) % 2 == 0;
            let op = rng.random_range(0..100);
            match op {
                0..=39 => {
                    if !grow && rng.random_bool(0.8) {
                        continue;
                    }
                    let b = random_member(&mut rng, 60_000);
                    if scores.contains_key(&b) {
                        continue;
                    }
                    let s = random_score(&mut rng);
                    t.insert(s, &b);
                    let p = model_pos(&m, s, &b).unwrap_err();
                    m.insert(p, (s, b.clone()));
                    scores.insert(b, s);
                }
                40..=54 if !m.is_empty() => {
                    if grow && rng.random_bool(0.8) {
                        continue;
                    }
                    let i = rng.random_range(0..m.len());
                    let (s, b) = m.remove(i);
                    scores.remove(&b);
                    assert!(t.remove(s, &b));
                    assert!(!t.remove(s, &b));
                }
                55..=57 => {
                    let b = random_member(&mut rng, 60_000);
                    let s = random_score(&mut rng);
                    let present = scores
                        .get(&b)
                        .is_some_and(|&x| cmp_key(x, &b, s, &b) == Ordering::Equal);
                    assert_eq!(t.remove(s, &b), present);
                    if present {
                        let p = model_pos(&m, s, &b).unwrap();
                        m.remove(p);
                        scores.remove(&b);
                    }
                }
                58..=67 if !m.is_empty() => {
                    let i = rng.random_range(0..m.len());
                    let (old, b) = m[i].clone();
                    let new = match rng.random_range(0..4) {
                        0 => old + rng.random_range(-0.001..0.001),
                        1 => m[rng.random_range(0..m.len())].0,
                        2 => random_score(&mut rng),
                        _ => old,
                    };
                    assert!(t.update_score(old, &b, new));
                    m.remove(i);
                    let p = model_pos(&m, new, &b).unwrap_err();
                    m.insert(p, (new, b.clone()));
                    scores.insert(b, new);
                }
                68..=74 => {
                    if !m.is_empty() && rng.random_bool(0.8) {
                        let i = rng.random_range(0..m.len());
                        assert_eq!(t.rank(m[i].0, &m[i].1), Some(i));
                    } else {
                        let b = random_member(&mut rng, 60_000);
                        let s = random_score(&mut rng);
                        assert_eq!(t.rank(s, &b), model_pos(&m, s, &b).ok());
                    }
                }
                75..=79 => {
                    let r = rng.random_range(0..m.len() + 3);
                    assert_eq!(t.get_by_rank(r), m.get(r).map(|(s, b)| (*s, &b[..])));
                }
                80..=84 => {
                    let r = rng.random_range(0..m.len() + 3);
                    let k = rng.random_range(0..300);
                    let got: Vec<(f64, &[u8])> = t.iter_from(r).take(k).collect();
                    let want: Vec<(f64, &[u8])> = m.iter().skip(r).take(k).map(|(s, b)| (*s, &b[..])).collect();
                    assert_eq!(got, want);
                    let got: Vec<(f64, &[u8])> = t.iter_rev_from(r).take(k).collect();
                    let end = if m.is_empty() { 0 } else { r.min(m.len() - 1) + 1 };
                    let want: Vec<(f64, &[u8])> = m[..end].iter().rev().take(k).map(|(s, b)| (*s, &b[..])).collect();
                    assert_eq!(got, want);
                    assert_eq!(t.iter_from(r).len(), m.len().saturating_sub(r));
                }
                85..=92 => {
                    let lo = random_bound(&mut rng, &m);
                    let hi = random_bound(&mut rng, &m);
                    let want_first =
                        m.partition_point(|(s, _)| if lo.exclusive { *s <= lo.value } else { *s < lo.value });
                    let want_count =
                        m.partition_point(|(s, _)| if hi.exclusive { *s < hi.value } else { *s <= hi.value });
                    assert_eq!(t.first_in_score(lo), want_first);
                    assert_eq!(t.count_le_score(hi), want_count);
                }
                93..=96 if !m.is_empty() => {
                    if grow && rng.random_bool(0.9) {
                        continue;
                    }
                    let start = rng.random_range(0..m.len() + 2);
                    let span = match rng.random_range(0..40) {
                        0 if !grow => rng.random_range(0..m.len() + 1),
                        1..=8 => rng.random_range(0..300),
                        _ => rng.random_range(0..10),
                    };
                    let end = start.saturating_add(span).saturating_sub(rng.random_range(0..2));
                    let mut seen: Model = Vec::new();
                    t.remove_rank_range(start, end, |s, b| seen.push((s, b.to_vec())));
                    let want: Model = if start > end || start >= m.len() {
                        Vec::new()
                    } else {
                        m.drain(start..=end.min(m.len() - 1)).collect()
                    };
                    for (_, b) in &want {
                        scores.remove(b);
                    }
                    assert_eq!(seen, want);
                }
                97 if rng.random_bool(0.05) => {
                    let c = t.clone();
                    check_eq(&c, &m);
                }
                98 if rng.random_bool(0.001) => {
                    t.clear();
                    m.clear();
                    scores.clear();
                }
                _ => {}
            }
            assert_eq!(t.len(), m.len());
            max_len = max_len.max(m.len());
            if step % 2000 == 0 {
                check_eq(&t, &m);
                max_depth = max_depth.max(check_node(&t.root, None, None, true).1);
            }
        }
        check_eq(&t, &m);
        assert!(max_depth >= 2, "never grew past one inner level (max {max_len} pairs)");
    }

    /// Total-order key matching `cmp_key` (no NaN; -0.0 == 0.0), for a BTreeSet model.
    fn ord_key(s: f64, b: &[u8]) -> (u64, Vec<u8>) {
        let bits = (s + 0.0).to_bits();
        let k = if bits >> 63 == 1 { !bits } else { bits | (1 << 63) };
        (k, b.to_vec())
    }

    /// A 400k-pair tree (three inner levels) grown at random and torn down by point removals,
    /// rescoring and range removals, checked against a BTreeSet: every removed run must be the
    /// set's run from the same first pair, and full comparisons run at checkpoints.
    #[test]
    fn randomized_deep() {
        use std::collections::BTreeSet;
        let mut rng = SmallRng::seed_from_u64(0xdee9);
        let mut t = Kept::new();
        let mut set: BTreeSet<(u64, Vec<u8>)> = BTreeSet::new();
        let compare = |t: &ZTree, set: &BTreeSet<(u64, Vec<u8>)>, rng: &mut SmallRng| {
            check(t);
            assert_eq!(t.len(), set.len());
            assert!(t.iter().map(|(s, b)| ord_key(s, b)).eq(set.iter().cloned()));
            assert!(t
                .iter_rev_from(usize::MAX)
                .map(|(s, b)| ord_key(s, b))
                .eq(set.iter().rev().cloned()));
            for _ in 0..500.min(t.len()) {
                let r = rng.random_range(0..t.len());
                let (s, b) = t.get_by_rank(r).unwrap();
                assert_eq!(t.rank(s, b), Some(r));
            }
        };
        for i in 0..400_000u32 {
            let b = format!("member:{}", i.wrapping_mul(2_654_435_761)).into_bytes();
            let s = rng.random_range(0..5000) as f64;
            t.insert(s, &b);
            set.insert(ord_key(s, &b));
        }
        compare(&t, &set, &mut rng);
        assert!(
            check_node(&t.root, None, None, true).1 >= 3,
            "tree not three inner levels deep"
        );
        let mut round = 0;
        while !t.is_empty() {
            round += 1;
            for _ in 0..5000 {
                if t.is_empty() {
                    break;
                }
                let r = rng.random_range(0..t.len());
                let (s, b) = t.get_by_rank(r).map(|(s, b)| (s, b.to_vec())).unwrap();
                match rng.random_range(0..20) {
                    0..=11 => {
                        assert!(t.remove(s, &b));
                        assert!(set.remove(&ord_key(s, &b)));
                    }
                    12..=18 => {
                        let new = if rng.random_bool(0.5) {
                            s + 0.25
                        } else {
                            rng.random_range(0..5000) as f64
                        };
                        assert!(t.update_score(s, &b, new));
                        assert!(set.remove(&ord_key(s, &b)));
                        set.insert(ord_key(new, &b));
                    }
                    _ => {
                        let end = r + rng.random_range(0..300);
                        let mut gone = Vec::new();
                        t.remove_rank_range(r, end, |s, b| gone.push(ord_key(s, b)));
                        let want: Vec<_> = set.range(ord_key(s, &b)..).take(end - r + 1).cloned().collect();
                        assert_eq!(gone, want);
                        for k in &gone {
                            set.remove(k);
                        }
                    }
                }
            }
            if round % 4 == 0 || t.is_empty() {
                compare(&t, &set, &mut rng);
            }
        }
        assert!(set.is_empty());
        check(&t);
    }

    /// Lex queries with every score equal (mixing 0.0 and -0.0, which are the same score).
    #[test]
    fn randomized_lex_against_model() {
        let mut rng = SmallRng::seed_from_u64(0x1e7);
        let mut t = Kept::new();
        let mut m: Vec<Vec<u8>> = Vec::new();
        let rand_lex = |rng: &mut SmallRng| -> Vec<u8> {
            let len = rng.random_range(0..12);
            (0..len).map(|_| b"abc\x00\xff"[rng.random_range(0..5)]).collect()
        };
        let mut max_depth = 0;
        for step in 0..60_000 {
            let grow = (step / 20_000) % 2 == 0;
            match rng.random_range(0..10) {
                0..=4 => {
                    if !grow && rng.random_bool(0.7) {
                        continue;
                    }
                    let b = rand_lex(&mut rng);
                    if let Err(p) = m.binary_search(&b) {
                        t.insert(if rng.random_bool(0.5) { 0.0 } else { -0.0 }, &b);
                        m.insert(p, b);
                    }
                }
                5 if !m.is_empty() => {
                    if grow && rng.random_bool(0.8) {
                        continue;
                    }
                    let i = rng.random_range(0..m.len());
                    let b = m.remove(i);
                    assert!(t.remove(0.0, &b));
                }
                6 if !m.is_empty() => {
                    if grow && rng.random_bool(0.995) {
                        continue;
                    }
                    let i = rng.random_range(0..m.len());
                    let j = (i + rng.random_range(0..30)).min(m.len() - 1);
                    let want: Vec<Vec<u8>> = m.drain(i..=j).collect();
                    let mut seen = Vec::new();
                    t.remove_rank_range(i, j, |_, b| seen.push(b.to_vec()));
                    assert_eq!(seen, want);
                }
                _ => {
                    let key = rand_lex(&mut rng);
                    let bound = |k: u8| match k {
                        0 => LexBound::NegInf,
                        1 => LexBound::PosInf,
                        2 => LexBound::Incl(&key),
                        _ => LexBound::Excl(&key),
                    };
                    let lo = bound(rng.random_range(0..4));
                    let hi = bound(rng.random_range(0..4));
                    let want_first = match lo {
                        LexBound::NegInf => 0,
                        LexBound::PosInf => m.len(),
                        LexBound::Incl(b) => m.partition_point(|x| &x[..] < b),
                        LexBound::Excl(b) => m.partition_point(|x| &x[..] <= b),
                    };
                    let want_count = match hi {
                        LexBound::NegInf => 0,
                        LexBound::PosInf => m.len(),
                        LexBound::Incl(b) => m.partition_point(|x| &x[..] <= b),
                        LexBound::Excl(b) => m.partition_point(|x| &x[..] < b),
                    };
                    assert_eq!(t.first_in_lex(&lo), want_first);
                    assert_eq!(t.count_le_lex(&hi), want_count);
                }
            }
            if step % 1000 == 0 {
                max_depth = max_depth.max(check_node(&t.root, None, None, true).1);
                let got: Vec<Vec<u8>> = t.iter().map(|(_, b)| b.to_vec()).collect();
                assert_eq!(got, m);
            }
        }
        assert!(max_depth >= 2, "lex test never grew past one inner level");
    }

    /// Deep trees drop without recursion trouble (height stays ~5); run with --ignored in release.
    #[test]
    #[ignore]
    fn ten_million_drop() {
        let mut t = Kept::new();
        let mut rng = SmallRng::seed_from_u64(1);
        for i in 0..10_000_000u64 {
            t.insert(rng.random::<f64>(), &i.to_le_bytes());
        }
        assert_eq!(t.len(), 10_000_000);
        let per = t.mem_usage() as f64 / 1e7;
        eprintln!("10M elements: {per:.1} B/element, 8-byte members kept inline");
        drop(t);
    }
}
