//! Value: what a keyspace entry holds when it is not inline (a large or edited string,
//! or a collection's full encoding), the typed read view of any entry (`ValueRef`), and
//! the size limits that decide when a compact encoding converts to a full one.
use super::hash::{HashRef, Pair};
use super::set::{Member, SetRef};
use super::stream::Stream;
use super::zset::{ZSetFull, ZSetRef};
use crate::ds::dict::Dict;
use crate::ds::quicklist::QuickList;

#[derive(Clone)]
pub enum Value {
    /// A string too large for the inline encoding, or edited in place (`raw`).
    Str(Vec<u8>),
    /// Every list (Redis 7.0 lists are always `quicklist`).
    List(QuickList),
    /// A hash past the listpack limits (`hashtable`).
    Hash(Dict<Pair>),
    /// A set with a non-integer member or past the intset limit (`hashtable`).
    Set(Dict<Member>),
    /// A sorted set past the listpack limits (`skiplist`).
    ZSet(ZSetFull),
    /// Every stream (`stream`).
    Stream(Box<Stream>),
}

impl Value {
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Str(s) => ValueRef::Str(s),
            Value::List(l) => ValueRef::List(l),
            Value::Hash(d) => ValueRef::Hash(HashRef::Dict(d)),
            Value::Set(d) => ValueRef::Set(SetRef::Dict(d)),
            Value::ZSet(z) => ValueRef::ZSet(ZSetRef::Full(z)),
            Value::Stream(x) => ValueRef::Stream(x),
        }
    }

    pub fn type_name(&self) -> &'static str {
        self.as_ref().type_name()
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "raw",
            Value::List(_) => "quicklist",
            Value::Hash(_) | Value::Set(_) => "hashtable",
            Value::ZSet(_) => "skiplist",
            Value::Stream(_) => "stream",
        }
    }

    /// Approximate heap bytes owned by the value, the elements' own blocks estimated from
    /// the first `samples` of them (0: all), as MEMORY USAGE's SAMPLES asks. Redis compat:
    /// object.c objectComputeSize.
    pub fn mem_usage_sampled(&self, samples: usize) -> usize {
        let own = std::mem::size_of::<Value>();
        own + match self {
            Value::Str(s) => s.capacity(),
            Value::List(l) => l.mem_usage(),
            Value::Hash(d) => d.mem_usage() + sampled(d.len(), samples, d.iter().map(|p| p.mem_usage())),
            Value::Set(d) => d.mem_usage() + sampled(d.len(), samples, d.iter().map(|m| m.mem_usage())),
            Value::ZSet(z) => z.mem_usage_sampled(samples),
            Value::Stream(x) => x.mem_usage(),
        }
    }

    /// Number of elements (1 for strings): decides whether freeing is worth a thread.
    pub fn weight(&self) -> usize {
        match self {
            Value::Str(_) => 1,
            Value::List(l) => l.node_count(),
            Value::Hash(d) => d.len(),
            Value::Set(d) => d.len(),
            Value::ZSet(z) => z.len(),
            Value::Stream(x) => x.weight(),
        }
    }
}

/// The sum of `sizes` (one per element of `len`), or, when `samples` is under `len`, the
/// first `samples` of them scaled up to `len`.
pub fn sampled(len: usize, samples: usize, sizes: impl Iterator<Item = usize>) -> usize {
    if samples == 0 || samples >= len {
        return sizes.sum();
    }
    sizes.take(samples).sum::<usize>() * len / samples
}

/// Where the active defragmentation of a big value goes on from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefragAt {
    /// A bucket or node index (0: the start).
    Pos(usize),
    /// A stream's entry log, after this node.
    Node(super::stream::StreamId),
    /// A sorted set's ranked tree (its member table is done).
    Tree,
}

impl Value {
    /// Active defragmentation of what the value owns, from `at`, visiting about `budget`
    /// elements; returns where to go on, or None when done. The value's own box is the
    /// entry's (`Obj::defrag`). Redis compat: defrag.c defragKey and the scanLater*
    /// steps of big keys.
    pub fn defrag_step(&mut self, at: DefragAt, budget: usize, d: &mut crate::ds::defrag::Defrag) -> Option<DefragAt> {
        let pos = match at {
            DefragAt::Pos(p) => p,
            _ => 0,
        };
        match self {
            Value::Str(s) => {
                d.vec(s);
                None
            }
            Value::List(l) => l.defrag_step(pos, budget / 4 + 1, d).map(DefragAt::Pos),
            Value::Hash(h) => h.defrag_step(pos, budget, d, |p, d| p.defrag(d)).map(DefragAt::Pos),
            Value::Set(h) => h.defrag_step(pos, budget, d, |m, d| m.defrag(d)).map(DefragAt::Pos),
            Value::ZSet(z) => match at {
                DefragAt::Tree => {
                    z.defrag_tree(d);
                    None
                }
                _ => Some(z.defrag_dict_step(pos, budget, d).map_or(DefragAt::Tree, DefragAt::Pos)),
            },
            Value::Stream(x) => {
                let after = match at {
                    DefragAt::Node(id) => Some(id),
                    _ => {
                        d.boxed(x);
                        x.defrag_groups(d);
                        None
                    }
                };
                x.log.defrag_step(after, budget / 8 + 1, d).map(DefragAt::Node)
            }
        }
    }
}

/// A typed read view of an entry's value, whatever its encoding.
#[derive(Clone, Copy)]
pub enum ValueRef<'a> {
    Str(&'a [u8]),
    List(&'a QuickList),
    Hash(HashRef<'a>),
    Set(SetRef<'a>),
    ZSet(ZSetRef<'a>),
    Stream(&'a Stream),
}

impl ValueRef<'_> {
    pub fn type_name(&self) -> &'static str {
        match self {
            ValueRef::Str(_) => "string",
            ValueRef::List(_) => "list",
            ValueRef::Hash(_) => "hash",
            ValueRef::Set(_) => "set",
            ValueRef::ZSet(_) => "zset",
            ValueRef::Stream(_) => "stream",
        }
    }
}

/// Conversion thresholds (CONFIG settable). Redis compat: config.c defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub hash_entries: usize,
    pub hash_value: usize,
    pub set_intset_entries: usize,
    pub zset_entries: usize,
    pub zset_value: usize,
    pub list_fill: i32,
    /// `list-compress-depth`.
    pub list_depth: i64,
    pub stream_max_bytes: usize,
    pub stream_max_entries: usize,
}

impl Limits {
    /// An empty list shaped by `list-max-listpack-size` and `list-compress-depth`.
    pub fn new_list(&self) -> crate::ds::quicklist::QuickList {
        crate::ds::quicklist::QuickList::with_depth(self.list_fill, self.list_depth)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            hash_entries: 512,
            hash_value: 64,
            set_intset_entries: 512,
            zset_entries: 128,
            zset_value: 64,
            list_fill: -2,
            list_depth: 0,
            stream_max_bytes: 4096,
            stream_max_entries: 100,
        }
    }
}
