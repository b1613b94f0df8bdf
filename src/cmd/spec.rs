//! CommandSpec: the one description of a command that dispatch, COMMAND INFO/DOCS/
//! GETKEYS and ACL categories read. Built with const builder calls beside each handler.
use super::{Args, CmdResult, Ctx};

pub type Handler = fn(&mut Ctx, &Args) -> CmdResult;

// Command flags (Redis compat: server.h CMD_*; names as COMMAND INFO prints them).
pub const WRITE: u64 = 1 << 0;
pub const READONLY: u64 = 1 << 1;
pub const DENYOOM: u64 = 1 << 2;
pub const ADMIN: u64 = 1 << 4;
pub const PUBSUB: u64 = 1 << 5;
pub const NOSCRIPT: u64 = 1 << 6;
pub const BLOCKING: u64 = 1 << 8;
pub const LOADING: u64 = 1 << 9;
pub const STALE: u64 = 1 << 10;
pub const SKIP_MONITOR: u64 = 1 << 11;
pub const SKIP_SLOWLOG: u64 = 1 << 12;
pub const ASKING: u64 = 1 << 13;
pub const FAST: u64 = 1 << 14;
pub const NO_AUTH: u64 = 1 << 15;
pub const MAY_REPLICATE: u64 = 1 << 16;
pub const SENTINEL: u64 = 1 << 17;
pub const ONLY_SENTINEL: u64 = 1 << 18;
pub const NO_MANDATORY_KEYS: u64 = 1 << 19;
pub const PROTECTED: u64 = 1 << 20;
pub const NO_ASYNC_LOADING: u64 = 1 << 23;
pub const NO_MULTI: u64 = 1 << 24;
pub const MOVABLE_KEYS: u64 = 1 << 25;
pub const ALLOW_BUSY: u64 = 1 << 26;
/// May expire any keys (SCAN, RANDOMKEY): what it propagates is not wrapped in
/// MULTI/EXEC. Not shown by COMMAND, as in Redis.
pub const TOUCHES_ARBITRARY_KEYS: u64 = 1 << 27;

pub const FLAG_NAMES: &[(u64, &str)] = &[
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (ADMIN, "admin"),
    (PUBSUB, "pubsub"),
    (NOSCRIPT, "noscript"),
    (BLOCKING, "blocking"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (SKIP_MONITOR, "skip_monitor"),
    (SKIP_SLOWLOG, "skip_slowlog"),
    (ASKING, "asking"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    // MAY_REPLICATE, SENTINEL and PROTECTED are not shown (Redis compat: server.c
    // addCommandFlags hides them).
    (ONLY_SENTINEL, "only_sentinel"),
    (NO_MANDATORY_KEYS, "no_mandatory_keys"),
    (NO_ASYNC_LOADING, "no_async_loading"),
    (NO_MULTI, "no_multi"),
    (MOVABLE_KEYS, "movablekeys"),
    (ALLOW_BUSY, "allow_busy"),
];

// ACL categories (Redis compat: server.h ACL_CATEGORY_*).
pub const ACL_KEYSPACE: u64 = 1 << 0;
pub const ACL_READ: u64 = 1 << 1;
pub const ACL_WRITE: u64 = 1 << 2;
pub const ACL_SET: u64 = 1 << 3;
pub const ACL_SORTEDSET: u64 = 1 << 4;
pub const ACL_LIST: u64 = 1 << 5;
pub const ACL_HASH: u64 = 1 << 6;
pub const ACL_STRING: u64 = 1 << 7;
pub const ACL_BITMAP: u64 = 1 << 8;
pub const ACL_HYPERLOGLOG: u64 = 1 << 9;
pub const ACL_GEO: u64 = 1 << 10;
pub const ACL_STREAM: u64 = 1 << 11;
pub const ACL_PUBSUB: u64 = 1 << 12;
pub const ACL_ADMIN: u64 = 1 << 13;
pub const ACL_FAST: u64 = 1 << 14;
pub const ACL_SLOW: u64 = 1 << 15;
pub const ACL_BLOCKING: u64 = 1 << 16;
pub const ACL_DANGEROUS: u64 = 1 << 17;
pub const ACL_CONNECTION: u64 = 1 << 18;
pub const ACL_TRANSACTION: u64 = 1 << 19;
pub const ACL_SCRIPTING: u64 = 1 << 20;

pub const ACL_NAMES: &[(u64, &str)] = &[
    (ACL_KEYSPACE, "keyspace"),
    (ACL_READ, "read"),
    (ACL_WRITE, "write"),
    (ACL_SET, "set"),
    (ACL_SORTEDSET, "sortedset"),
    (ACL_LIST, "list"),
    (ACL_HASH, "hash"),
    (ACL_STRING, "string"),
    (ACL_BITMAP, "bitmap"),
    (ACL_HYPERLOGLOG, "hyperloglog"),
    (ACL_GEO, "geo"),
    (ACL_STREAM, "stream"),
    (ACL_PUBSUB, "pubsub"),
    (ACL_ADMIN, "admin"),
    (ACL_FAST, "fast"),
    (ACL_SLOW, "slow"),
    (ACL_BLOCKING, "blocking"),
    (ACL_DANGEROUS, "dangerous"),
    (ACL_CONNECTION, "connection"),
    (ACL_TRANSACTION, "transaction"),
    (ACL_SCRIPTING, "scripting"),
];

/// Where a command's keys are: the legacy (first, last, step) range, last < 0
/// counting from the end. first == 0: no keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRange {
    pub first: i32,
    pub last: i32,
    pub step: i32,
}

/// Key access flags for COMMAND INFO key specs.
pub const KS_RO: u32 = 1;
pub const KS_RW: u32 = 2;
pub const KS_OW: u32 = 4;
pub const KS_RM: u32 = 8;
pub const KS_ACCESS: u32 = 16;
pub const KS_UPDATE: u32 = 32;
pub const KS_INSERT: u32 = 64;
pub const KS_DELETE: u32 = 128;
/// Not a key (a shard channel, hashed like a key in a cluster); ACLs skip it.
pub const KS_NOT_KEY: u32 = 256;
/// The spec may miss keys (MIGRATE's KEYS list when the key argument is used).
pub const KS_INCOMPLETE: u32 = 512;
/// The flags depend on the arguments (SET with GET, BITFIELD with SET).
pub const KS_VARIABLE_FLAGS: u32 = 1024;

pub const KS_NAMES: &[(u32, &str)] = &[
    (KS_RO, "RO"),
    (KS_RW, "RW"),
    (KS_OW, "OW"),
    (KS_RM, "RM"),
    (KS_ACCESS, "access"),
    (KS_UPDATE, "update"),
    (KS_INSERT, "insert"),
    (KS_DELETE, "delete"),
    (KS_NOT_KEY, "not_key"),
    (KS_INCOMPLETE, "incomplete"),
    (KS_VARIABLE_FLAGS, "variable_flags"),
];

/// Where a key spec starts looking for keys. Redis compat: server.h kspec_bs_type.
#[derive(Clone, Copy, Debug)]
pub enum Begin {
    /// At this argument.
    Index(i32),
    /// After the last (or first, from a negative start) occurrence of the keyword,
    /// searching from this argument.
    Keyword(&'static str, i32),
    Unknown,
}

/// How a key spec finds keys from where it begins. Redis compat: server.h kspec_fk_type.
#[derive(Clone, Copy, Debug)]
pub enum Find {
    /// `lastkey` (relative to the beginning; negative: from the end), `keystep`,
    /// `limit`.
    Range(i32, i32, i32),
    /// `keynumidx`, `firstkey` (both relative to the beginning), `keystep`.
    Keynum(i32, i32, i32),
    Unknown,
}

/// One COMMAND INFO key spec, given where the simple (first, last, step) model
/// cannot say it: several groups of keys with their own flags, numkeys, keywords.
#[derive(Clone, Copy, Debug)]
pub struct KeySpec {
    pub flags: u32,
    pub begin: Begin,
    pub find: Find,
}

pub const fn ks(flags: u32, begin: Begin, find: Find) -> KeySpec {
    KeySpec { flags, begin, find }
}

// Command tips shared by several commands (Redis compat: the command_tips of
// src/commands/*.json).
/// A report of one node that a cluster client gathers from every node.
pub const TIPS_NODES_REPORT: &[&str] = &[
    "nondeterministic_output",
    "request_policy:all_nodes",
    "response_policy:special",
];
/// A report of one shard that a cluster client gathers from every shard.
pub const TIPS_SHARDS_REPORT: &[&str] = &[
    "nondeterministic_output",
    "request_policy:all_shards",
    "response_policy:special",
];
pub const TIPS_ALL_NODES_OK: &[&str] = &["request_policy:all_nodes", "response_policy:all_succeeded"];
pub const TIPS_ALL_SHARDS_OK: &[&str] = &["request_policy:all_shards", "response_policy:all_succeeded"];
/// Counts summed over the shards holding the keys.
pub const TIPS_MULTI_SHARD_SUM: &[&str] = &["request_policy:multi_shard", "response_policy:agg_sum"];

/// Key spec shapes: one key at the start, keys to the last argument, a count of
/// keys then the keys.
const fn at(pos: i32) -> Begin {
    Begin::Index(pos)
}
const ONE: Find = Find::Range(0, 1, 0);
const REST: Find = Find::Range(-1, 1, 0);
const NUMKEYS: Find = Find::Keynum(0, 1, 1);
const RO_ACCESS: u32 = KS_RO | KS_ACCESS;
const OW_UPDATE: u32 = KS_OW | KS_UPDATE;
const RW_TAKE: u32 = KS_RW | KS_ACCESS | KS_DELETE;

// The key specs of commands whose keys the simple range cannot describe.
// Redis compat: the key_specs of src/commands/*.json.
pub const BITOP_SPECS: &[KeySpec] = &[ks(OW_UPDATE, at(2), ONE), ks(RO_ACCESS, at(3), REST)];
/// LMOVE, RPOPLPUSH, SMOVE and the blocking ones: from a source to a destination.
pub const MOVE_SPECS: &[KeySpec] = &[ks(RW_TAKE, at(1), ONE), ks(KS_RW | KS_INSERT, at(2), ONE)];
pub const POP_NUMKEYS_1: &[KeySpec] = &[ks(RW_TAKE, at(1), NUMKEYS)];
pub const POP_NUMKEYS_2: &[KeySpec] = &[ks(RW_TAKE, at(2), NUMKEYS)];
pub const COPY_SPECS: &[KeySpec] = &[ks(RO_ACCESS, at(1), ONE), ks(OW_UPDATE, at(2), ONE)];
/// A script's keys may be used in any way.
pub const SCRIPT_RW: &[KeySpec] = &[ks(KS_RW | KS_ACCESS | KS_UPDATE, at(2), NUMKEYS)];
pub const SCRIPT_RO: &[KeySpec] = &[ks(RO_ACCESS, at(2), NUMKEYS)];
pub const GEORADIUS_SPECS: &[KeySpec] = &[
    ks(RO_ACCESS, at(1), ONE),
    ks(OW_UPDATE, Begin::Keyword("STORE", 6), ONE),
    ks(OW_UPDATE, Begin::Keyword("STOREDIST", 6), ONE),
];
pub const GEORADIUSBYMEMBER_SPECS: &[KeySpec] = &[
    ks(RO_ACCESS, at(1), ONE),
    ks(OW_UPDATE, Begin::Keyword("STORE", 5), ONE),
    ks(OW_UPDATE, Begin::Keyword("STOREDIST", 5), ONE),
];
/// A destination, then one source.
pub const STORE_FROM_ONE: &[KeySpec] = &[ks(OW_UPDATE, at(1), ONE), ks(RO_ACCESS, at(2), ONE)];
/// A destination, then sources to the end.
pub const STORE_FROM_REST: &[KeySpec] = &[ks(OW_UPDATE, at(1), ONE), ks(RO_ACCESS, at(2), REST)];
/// A destination, then numkeys sources.
pub const STORE_FROM_NUMKEYS: &[KeySpec] = &[ks(OW_UPDATE, at(1), ONE), ks(RO_ACCESS, at(2), NUMKEYS)];
pub const SINTERSTORE_SPECS: &[KeySpec] = &[ks(KS_RW | KS_UPDATE, at(1), ONE), ks(RO_ACCESS, at(2), REST)];
pub const MIGRATE_SPECS: &[KeySpec] = &[
    ks(RW_TAKE, at(3), ONE),
    ks(RW_TAKE | KS_INCOMPLETE, Begin::Keyword("KEYS", -2), REST),
];
pub const PFMERGE_SPECS: &[KeySpec] = &[
    ks(KS_RW | KS_ACCESS | KS_INSERT, at(1), ONE),
    ks(RO_ACCESS, at(2), REST),
];
pub const RENAME_SPECS: &[KeySpec] = &[ks(RW_TAKE, at(1), ONE), ks(OW_UPDATE, at(2), ONE)];
pub const RENAMENX_SPECS: &[KeySpec] = &[ks(RW_TAKE, at(1), ONE), ks(KS_OW | KS_INSERT, at(2), ONE)];
pub const READ_NUMKEYS: &[KeySpec] = &[ks(RO_ACCESS, at(1), NUMKEYS)];
/// SORT's BY and GET patterns name keys from the data; STORE may come anywhere.
pub const SORT_SPECS: &[KeySpec] = &[
    ks(RO_ACCESS, at(1), ONE),
    ks(RO_ACCESS, Begin::Unknown, Find::Unknown),
    ks(OW_UPDATE, Begin::Unknown, Find::Unknown),
];
pub const SORT_RO_SPECS: &[KeySpec] = &[ks(RO_ACCESS, at(1), ONE), ks(RO_ACCESS, Begin::Unknown, Find::Unknown)];
/// Keys after STREAMS: half of what follows (the other half are ids).
pub const XREAD_SPECS: &[KeySpec] = &[ks(RO_ACCESS, Begin::Keyword("STREAMS", 1), Find::Range(-1, 1, 2))];
pub const XREADGROUP_SPECS: &[KeySpec] = &[ks(RO_ACCESS, Begin::Keyword("STREAMS", 4), Find::Range(-1, 1, 2))];

/// The (first, last, step) range older clients read from COMMAND, made from key
/// specs: the consecutive plain ranges that begin at an index.
/// Redis compat: server.c populateCommandLegacyRangeSpec.
pub fn legacy_range(specs: &[KeySpec]) -> KeyRange {
    if let [KeySpec {
        begin: Begin::Index(pos),
        find: Find::Range(last, step, _),
        ..
    }] = specs
    {
        let last = if *last >= 0 { pos + last } else { *last };
        return KeyRange {
            first: *pos,
            last,
            step: *step,
        };
    }
    let (mut first, mut last, mut prev) = (i32::MAX, 0i32, 0i32);
    for s in specs {
        let (Begin::Index(pos), Find::Range(l, 1, _)) = (s.begin, s.find) else {
            continue;
        };
        if prev != 0 && prev != pos - 1 {
            continue;
        }
        first = first.min(pos);
        let abs = if l >= 0 { l + pos } else { l };
        // Compared unsigned, as Redis does: a count from the end wins.
        last = (last as u32).max(abs as u32) as i32;
        prev = last;
    }
    if first == i32::MAX {
        return KeyRange {
            first: 0,
            last: 0,
            step: 0,
        };
    }
    KeyRange { first, last, step: 1 }
}

pub struct CommandSpec {
    pub name: &'static str,
    pub arity: i32,
    pub flags: u64,
    pub acl: u64,
    pub keys: KeyRange,
    pub key_flags: u32,
    pub group: &'static str,
    pub since: &'static str,
    pub complexity: &'static str,
    pub summary: &'static str,
    pub handler: Option<Handler>,
    pub subcommands: &'static [CommandSpec],
    pub tips: &'static [&'static str],
    /// Key positions of commands whose keys depend on the arguments (numkeys, STORE).
    pub keys_fn: Option<KeysFn>,
    /// Key spec flags of every key after the first, when they differ from the first's
    /// (the destination of LMOVE, the sources of SUNIONSTORE); 0: the same.
    pub other_key_flags: u32,
    /// Keys and their flags for commands whose flags depend on the arguments (SET
    /// with GET, BITFIELD with SET).
    pub refs_fn: Option<KeyRefsFn>,
    /// COMMAND INFO's key specs when the range above cannot express them (empty:
    /// made from the range).
    pub specs: &'static [KeySpec],
}

/// Keys of `argv` with their key spec flags.
pub type KeyRefsFn = fn(&[&[u8]]) -> Vec<(usize, u32)>;

/// SET: the key is read too with GET. Redis compat: db.c setGetKeys.
pub fn refs_set(argv: &[&[u8]]) -> Vec<(usize, u32)> {
    let get = argv.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get"));
    vec![(
        1,
        if get {
            KS_RW | KS_ACCESS | KS_UPDATE
        } else {
            KS_OW | KS_UPDATE
        },
    )]
}

/// BITFIELD: read-only unless a SET or INCRBY (or a syntax error) comes.
/// Redis compat: db.c bitfieldGetKeys.
pub fn refs_bitfield(argv: &[&[u8]]) -> Vec<(usize, u32)> {
    let mut readonly = true;
    let mut i = 2;
    while i < argv.len() {
        let rem = argv.len() - i - 1;
        let a = argv[i];
        if a.eq_ignore_ascii_case(b"get") && rem >= 2 {
            i += 3;
        } else if (a.eq_ignore_ascii_case(b"set") || a.eq_ignore_ascii_case(b"incrby")) && rem >= 3 {
            readonly = false;
            break;
        } else if a.eq_ignore_ascii_case(b"overflow") && rem >= 1 {
            i += 2;
        } else {
            readonly = false;
            break;
        }
    }
    let flags = if readonly {
        KS_RO | KS_ACCESS
    } else {
        KS_RW | KS_ACCESS | KS_UPDATE
    };
    vec![(1, flags)]
}

/// Finds the key positions of a command with movable keys from its full argv.
pub type KeysFn = fn(&[&[u8]]) -> Vec<usize>;

/// `count` keys counted by the integer at `numkeys_at`, starting right after it;
/// none when the count is not a positive number of arguments present (the command
/// will answer a syntax error). Redis compat: db.c genericGetKeys.
fn numkeys_keys(argv: &[&[u8]], numkeys_at: usize) -> Vec<usize> {
    let first = numkeys_at + 1;
    let n = argv
        .get(numkeys_at)
        .and_then(|v| crate::util::num::parse_i64(v))
        .filter(|&n| n > 0 && n as usize <= argv.len().saturating_sub(first))
        .unwrap_or(0) as usize;
    (first..first + n).collect()
}

/// LMPOP, ZMPOP, ZUNION, ZINTER, ZDIFF, ZINTERCARD, SINTERCARD: `cmd numkeys key...`.
pub fn keys_numkeys_1(argv: &[&[u8]]) -> Vec<usize> {
    numkeys_keys(argv, 1)
}

/// BLMPOP, BZMPOP: `cmd timeout numkeys key...`.
pub fn keys_numkeys_2(argv: &[&[u8]]) -> Vec<usize> {
    numkeys_keys(argv, 2)
}

/// ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE: `cmd dest numkeys key...`.
pub fn keys_store_numkeys(argv: &[&[u8]]) -> Vec<usize> {
    let sources = numkeys_keys(argv, 2);
    if sources.is_empty() {
        return sources;
    }
    let mut v = vec![1];
    v.extend(sources);
    v
}

/// SORT: the key, plus the destination of each STORE option. Redis compat: db.c sortGetKeys.
pub fn keys_sort(argv: &[&[u8]]) -> Vec<usize> {
    let mut v = vec![1];
    let mut j = 2;
    while j < argv.len() {
        let a = argv.get(j).copied().unwrap_or_default();
        let skip = if a.eq_ignore_ascii_case(b"limit") {
            2
        } else if a.eq_ignore_ascii_case(b"get") || a.eq_ignore_ascii_case(b"by") {
            1
        } else if a.eq_ignore_ascii_case(b"store") {
            if j + 1 < argv.len() {
                // Only the last STORE counts, as in Redis.
                v.truncate(1);
                v.push(j + 1);
            }
            1
        } else {
            0
        };
        j += skip + 1;
    }
    v
}

/// A command with no keys and no docs yet; refine with the builder methods.
pub const fn cmd(name: &'static str, arity: i32, flags: u64, acl: u64, handler: Handler) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        acl,
        keys: KeyRange {
            first: 0,
            last: 0,
            step: 0,
        },
        key_flags: 0,
        group: "generic",
        since: "1.0.0",
        complexity: "O(1)",
        summary: "",
        handler: Some(handler),
        subcommands: &[],
        tips: &[],
        keys_fn: None,
        other_key_flags: 0,
        refs_fn: None,
        specs: &[],
    }
}

/// A container command (CONFIG, CLIENT, OBJECT ...) dispatching on its first argument.
pub const fn container(name: &'static str, acl: u64, subs: &'static [CommandSpec]) -> CommandSpec {
    CommandSpec {
        name,
        arity: -2,
        flags: 0,
        acl,
        keys: KeyRange {
            first: 0,
            last: 0,
            step: 0,
        },
        key_flags: 0,
        group: "generic",
        since: "1.0.0",
        complexity: "Depends on subcommand.",
        summary: "",
        handler: None,
        subcommands: subs,
        tips: &[],
        keys_fn: None,
        other_key_flags: 0,
        refs_fn: None,
        specs: &[],
    }
}

impl CommandSpec {
    pub const fn keys(mut self, first: i32, last: i32, step: i32, flags: u32) -> Self {
        self.keys = KeyRange { first, last, step };
        self.key_flags = flags;
        self
    }

    pub const fn doc(
        mut self,
        group: &'static str,
        since: &'static str,
        complexity: &'static str,
        summary: &'static str,
    ) -> Self {
        self.group = group;
        self.since = since;
        self.complexity = complexity;
        self.summary = summary;
        self
    }

    /// Keys found by a function of the arguments (commands with movable keys).
    pub const fn keys_with(mut self, f: KeysFn, flags: u32) -> Self {
        self.keys_fn = Some(f);
        self.key_flags = flags;
        self
    }

    /// Key spec flags of the keys after the first.
    pub const fn other_keys(mut self, flags: u32) -> Self {
        self.other_key_flags = flags;
        self
    }

    /// Keys and flags found by a function of the arguments.
    pub const fn key_refs_with(mut self, f: KeyRefsFn) -> Self {
        self.refs_fn = Some(f);
        self
    }

    /// COMMAND INFO's key specs, for keys the simple range cannot describe.
    pub const fn specs(mut self, specs: &'static [KeySpec]) -> Self {
        self.specs = specs;
        self
    }

    pub const fn tips(mut self, tips: &'static [&'static str]) -> Self {
        self.tips = tips;
        self
    }

    /// ACL categories including those implied by flags. Redis compat: server.c
    /// setImplicitACLCategories.
    pub fn acl_categories(&self) -> u64 {
        let mut a = self.acl;
        if self.flags & WRITE != 0 {
            a |= ACL_WRITE;
        }
        if self.flags & READONLY != 0 && a & ACL_SCRIPTING == 0 {
            a |= ACL_READ;
        }
        if self.flags & ADMIN != 0 {
            a |= ACL_ADMIN | ACL_DANGEROUS;
        }
        if self.flags & PUBSUB != 0 {
            a |= ACL_PUBSUB;
        }
        if self.flags & FAST != 0 {
            a |= ACL_FAST;
        }
        if self.flags & BLOCKING != 0 {
            a |= ACL_BLOCKING;
        }
        if a & ACL_FAST == 0 {
            a |= ACL_SLOW;
        }
        a
    }

    /// Whether the command takes keys at all.
    pub fn has_keys(&self) -> bool {
        self.keys.first > 0 || self.keys_fn.is_some()
    }

    /// The key arguments of `argv` with their key spec flags (what ACL key
    /// permissions and COMMAND GETKEYSANDFLAGS look at).
    pub fn key_refs(&self, argv: &[&[u8]]) -> Vec<(usize, u32)> {
        if let Some(f) = self.refs_fn {
            return f(argv);
        }
        let other = if self.other_key_flags != 0 {
            self.other_key_flags
        } else {
            self.key_flags
        };
        self.key_positions(argv)
            .into_iter()
            .enumerate()
            .map(|(i, p)| (p, if i == 0 { self.key_flags } else { other }))
            .collect()
    }

    /// Positions of the key arguments in `argv` (argv[0] is the command name).
    pub fn key_positions(&self, argv: &[&[u8]]) -> Vec<usize> {
        if let Some(f) = self.keys_fn {
            return f(argv);
        }
        self.range_positions(argv.len()).collect()
    }

    /// `key_refs` one by one, without building a list for a fixed key range (the
    /// per-command path).
    pub fn for_each_key_ref(&self, argv: &[&[u8]], mut f: impl FnMut(usize, u32)) {
        if self.refs_fn.is_some() || self.keys_fn.is_some() {
            for (p, flags) in self.key_refs(argv) {
                f(p, flags);
            }
            return;
        }
        let other = if self.other_key_flags != 0 {
            self.other_key_flags
        } else {
            self.key_flags
        };
        for (i, p) in self.range_positions(argv.len()).enumerate() {
            f(p, if i == 0 { self.key_flags } else { other });
        }
    }

    /// The positions of the fixed key range in an argv of `argc` arguments.
    fn range_positions(&self, argc: usize) -> impl Iterator<Item = usize> {
        let KeyRange { first, last, step } = self.keys;
        let argc = argc as i32;
        let last = match (first > 0 && step > 0, last < 0) {
            (false, _) => 0,
            (true, true) => argc + last,
            (true, false) => last.min(argc - 1),
        };
        (first.max(1)..=last).step_by(step.max(1) as usize).map(|i| i as usize)
    }
}
