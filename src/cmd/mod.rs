//! Commands: the execution context (`Ctx`), the argument cursor (`Args`), the command
//! table built from every family's spec list, and the families themselves.
//! Handlers parse and validate first, then touch the keyspace, then reply.
pub mod acl;
pub mod admin;
pub mod bitops;
pub mod cluster;
pub mod connection;
pub mod digest;
pub mod docs;
pub mod error;
pub mod geo;
pub mod hash;
pub mod hll;
pub mod info;
pub mod keyspace;
pub mod latency;
pub mod list;
pub mod migrate;
pub mod module;
pub mod multi;
pub mod persist;
pub mod pubsub;
pub mod repl;
pub mod scripting;
pub mod set;
pub mod sort;
pub mod spec;
pub mod stream;
pub mod string;
pub mod zset;

use std::collections::HashMap;
use std::sync::OnceLock;

pub use crate::server::blocking::TimeoutReply;
pub use error::{CmdError, CmdResult};
pub use spec::CommandSpec;

use crate::db::Db;
use crate::resp::ReplyBuf;
use crate::server::{Client, Server};
use crate::util::num;
use rand::rngs::SmallRng;

/// The arguments of one command, argv[0] being the command name.
pub struct Args<'a> {
    pub argv: &'a [&'a [u8]],
}

impl<'a> Args<'a> {
    pub fn len(&self) -> usize {
        self.argv.len()
    }

    pub fn is_empty(&self) -> bool {
        self.argv.is_empty()
    }

    /// Argument `i`, or an empty slice past the end (arity is checked beforehand).
    #[inline]
    pub fn at(&self, i: usize) -> &'a [u8] {
        self.argv.get(i).copied().unwrap_or_default()
    }

    /// Case-insensitive comparison of argument `i` with an ASCII word.
    pub fn is(&self, i: usize, word: &str) -> bool {
        self.at(i).eq_ignore_ascii_case(word.as_bytes())
    }

    pub fn str(&self, i: usize) -> String {
        String::from_utf8_lossy(self.at(i)).into_owned()
    }

    pub fn i64(&self, i: usize) -> Result<i64, CmdError> {
        num::parse_i64(self.at(i)).ok_or(error::NOT_INT)
    }

    pub fn f64(&self, i: usize) -> Result<f64, CmdError> {
        num::parse_f64(self.at(i)).ok_or(error::NOT_FLOAT)
    }

    pub fn rest(&self, from: usize) -> &'a [&'a [u8]] {
        self.argv.get(from..).unwrap_or_default()
    }
}

/// Everything a handler may touch while running one command.
pub struct Ctx<'a> {
    pub srv: &'a mut Server,
    /// Slab key of the calling client (valid for the whole call).
    pub cid: usize,
    /// The calling client's reply buffer.
    pub out: &'a mut ReplyBuf,
    /// Logical time of this command in unix ms (read once per command).
    pub now_ms: i64,
    /// Index of the selected db (validated).
    pub db: usize,
    pub cmd: &'static CommandSpec,
    /// Set by a blocking command that found nothing to serve.
    pub block: Option<crate::server::blocking::BlockReq>,
    /// How this command is propagated if it changes the dataset.
    pub prop: crate::server::propagate::PropagateAs,
}

use crate::server::pubsub::Current;

impl Ctx<'_> {
    /// Whether writes are propagated (the AOF is on): commands that propagate as
    /// something else check this before building the replacement.
    #[inline]
    pub fn propagating(&self) -> bool {
        self.srv.prop.on
    }

    /// Propagates this command as `argv` instead of as sent.
    pub fn propagate_as<A: AsRef<[u8]>>(&mut self, argv: &[A]) {
        if self.srv.prop.on {
            self.prop =
                crate::server::propagate::PropagateAs::Replace(argv.iter().map(|a| a.as_ref().to_vec()).collect());
        }
    }

    /// Propagates this command as sent even if it changed nothing.
    pub fn force_propagate(&mut self) {
        self.prop = crate::server::propagate::PropagateAs::Forced;
    }

    /// Propagates this command as sent to replicas only, changed or not.
    pub fn propagate_to_replicas(&mut self) {
        self.prop = crate::server::propagate::PropagateAs::ReplOnly;
    }

    /// Does not propagate this command itself (what it did went out otherwise).
    pub fn no_propagate(&mut self) {
        self.prop = crate::server::propagate::PropagateAs::Nothing;
    }

    /// Propagates `argv` (in this command's db) before this command itself.
    pub fn also_propagate<A: AsRef<[u8]>>(&mut self, argv: &[A]) {
        if self.srv.prop.on {
            let db = self.db;
            self.srv
                .also_propagate(db, argv.iter().map(|a| a.as_ref().to_vec()).collect());
        }
    }

    #[inline]
    pub fn db(&mut self) -> &mut Db {
        &mut self.srv.dbs[self.db]
    }

    /// Whether the connection's user may run `argv` and access every key with the
    /// permissions of `ks_flags` (SORT's BY and GET patterns name any key).
    /// Redis compat: acl.c ACLUserCheckCmdWithUnrestrictedKeyAccess.
    pub fn full_key_access(&self, argv: &[&[u8]], ks_flags: u32) -> bool {
        let user = self.srv.clients.get(self.cid).map(|c| c.user).unwrap_or_default();
        let t = table();
        match t.lookup_id(argv).and_then(|id| Some((id, *t.specs.get(id)?))) {
            Some((id, spec)) => self.srv.acl.user(user).check_with_all_keys(id, spec, argv, ks_flags),
            None => true,
        }
    }

    pub fn client(&mut self) -> Option<&mut Client> {
        self.srv.clients.get_mut(self.cid)
    }

    /// Puts the computed value `o` at its key `dst`, replacing whatever was there (TTL
    /// dropped), and records the write as `modified_n` does but for blocked clients:
    /// they are woken when the key is new, or when it held a stream while some client
    /// waits on a stream, not when a live value is replaced (a list waiter on a key
    /// that held a string stays blocked when SORT ... STORE puts a list there).
    /// Redis compat: db.c setKey, whose dbAdd signals the key ready and dbOverwrite
    /// does only for an old stream (blocked.c signalKeyAsReady).
    pub fn store_value(&mut self, dst: &[u8], o: crate::db::Obj, event: &str, n: usize) {
        let (db, now) = (self.db, self.now_ms);
        let had_stream = !self.srv.blocking.waiting.is_empty()
            && self
                .db()
                .peek_ref(dst, now)
                .is_some_and(|v| matches!(v.value(), crate::db::ValueRef::Stream(_)));
        let replaced = self.db().set(o, false, now);
        self.srv.dirty += n.max(1) as u64;
        if !replaced || (had_stream && self.srv.blocked_on_kind("stream")) {
            self.srv.signal_key(db, dst);
        }
        self.srv.signal_modified_key(db, dst, Some(self.cid));
        self.notify_in(db, dst, event);
    }

    /// Records a write to `key`: dirty counter, blocked-client wakeup, WATCH
    /// invalidation and the keyspace event `event`.
    #[inline]
    pub fn modified(&mut self, key: &[u8], event: &str) {
        let db = self.db;
        self.modified_in(db, key, event);
    }

    /// A write to a key of another db (MOVE, COPY ... DB).
    #[inline]
    pub fn modified_in(&mut self, db: usize, key: &[u8], event: &str) {
        self.srv.dirty += 1;
        self.srv.key_changed(db, key, Some(self.cid));
        self.notify_in(db, key, event);
    }

    /// `modified`, counting `n` changes toward save points (elements pushed, popped,
    /// added or removed), as Redis's commands count them in server.dirty.
    #[inline]
    pub fn modified_n(&mut self, key: &[u8], event: &str, n: usize) {
        self.modified(key, event);
        self.srv.dirty += n.saturating_sub(1) as u64;
    }

    /// `key` changed and `event` is announced, with no change counted toward save
    /// points: the deletion of a collection a counted write emptied, an LTRIM that
    /// removed nothing. Redis compat: dbDelete after the command's own server.dirty.
    #[inline]
    pub fn signal(&mut self, key: &[u8], event: &str) {
        let db = self.db;
        self.srv.key_changed(db, key, Some(self.cid));
        self.notify(key, event);
    }

    /// Sends the keyspace event `event` for `key` in the selected db (for a command's
    /// extra events, e.g. the "del" after a collection's last element goes).
    #[inline]
    pub fn notify(&mut self, key: &[u8], event: &str) {
        let db = self.db;
        self.notify_in(db, key, event);
    }

    /// From here on, what this command's own connection gets of its keyspace events
    /// waits for the command's reply (appended by `call::run`): the commands whose
    /// Redis handlers reply first, then notify, call it where that starts. Events of
    /// keys found expired or missing, or created, still go at once.
    pub fn hold_own_events(&mut self) {
        if self.srv.own_events.is_none() && self.srv.cfg.notify_flags != 0 {
            self.srv.own_events = Some(self.out.held_for());
        }
    }

    /// `notify` for an event Redis sends before the command's reply (the connection's
    /// own copy is not held back; see `Server::notify`).
    pub fn notify_now(&mut self, key: &[u8], event: &str) {
        let db = self.db;
        self.notify_in_as(db, key, event, true);
    }

    pub fn notify_in(&mut self, db: usize, key: &[u8], event: &str) {
        self.notify_in_as(db, key, event, false);
    }

    fn notify_in_as(&mut self, db: usize, key: &[u8], event: &str, now: bool) {
        if self.srv.cfg.notify_flags == 0 {
            return;
        }
        // Keys this command expired or created are announced first, as they happened first.
        let cur = Current {
            cid: self.cid,
            out: &mut *self.out,
        };
        self.srv.drain_db_events(Some(cur));
        let class = crate::server::pubsub::event_class(event);
        let cur = Current {
            cid: self.cid,
            out: &mut *self.out,
        };
        if now {
            self.srv.notify_now(Some(cur), class, event, key, db);
        } else {
            self.srv.notify(Some(cur), class, event, key, db);
        }
    }

    /// lookupKeyRead: the live entry at `key` in the selected db (expired first if due),
    /// with the reply buffer and the server's random generator borrowed alongside.
    /// Every such lookup counts a keyspace hit or miss (INFO keyspace_hits /
    /// keyspace_misses, the cache hit ratio), and a miss raises `keymiss` unless
    /// `look` is `Look::Quiet`. Handlers call it where Redis looks the key up, after
    /// parsing their arguments, so a command refused for them counts nothing and one
    /// failing on a key's type stops counting there.
    /// Redis compat: db.c lookupKeyReadWithFlags.
    pub fn read_parts(&mut self, key: &[u8], look: Look) -> (Option<&crate::db::Obj>, &mut ReplyBuf, &mut SmallRng) {
        let now = self.now_ms;
        let notify = look != Look::Quiet && self.srv.cfg.notify_flags & crate::config::notify::NOTIFY_KEY_MISS != 0;
        // With keymiss events on (rare), a miss is found first, so that its event goes
        // out while nothing is borrowed.
        if notify && !self.srv.dbs.get_mut(self.db).is_some_and(|d| d.exists(key, now)) {
            self.count_lookup(key, false, true);
            return (None, &mut *self.out, &mut self.srv.rng);
        }
        let srv = &mut *self.srv;
        let o = srv.dbs.get_mut(self.db).and_then(|d| match look {
            Look::Read => d.get(key, now),
            Look::NoTouch | Look::Quiet => d.peek(key, now),
        });
        if o.is_some() {
            srv.stats.keyspace_hits += 1;
        } else {
            srv.stats.keyspace_misses += 1;
        }
        (o, &mut *self.out, &mut srv.rng)
    }

    /// `read_parts` with `Look::Read`, the entry alone.
    #[inline]
    pub fn read_key(&mut self, key: &[u8]) -> Option<&crate::db::Obj> {
        self.read_parts(key, Look::Read).0
    }

    /// Whether `key` exists, by a counted lookup for reading that leaves its access
    /// time alone (EXISTS, SCAN's TYPE filter).
    pub fn read_exists(&mut self, key: &[u8]) -> bool {
        self.read_parts(key, Look::NoTouch).0.is_some()
    }

    /// One lookup of `key` for reading: a keyspace hit or miss, and on a miss the
    /// `keymiss` event when `notify` (and the configuration asks for it).
    pub fn count_lookup(&mut self, key: &[u8], found: bool, notify: bool) {
        self.hit(found);
        if !found && notify && self.srv.cfg.notify_flags & crate::config::notify::NOTIFY_KEY_MISS != 0 {
            self.notify_now(key, "keymiss");
        }
    }

    /// Whether this command may block (not inside MULTI or scripts).
    pub fn may_block(&self) -> bool {
        !self.srv.in_exec
    }

    /// Blocks the calling client on `keys` until one of them holds a value of type
    /// `kind`, or `deadline` (unix ms, 0 = never) passes. The handler then returns
    /// Ok(()) without replying; when a key is ready the command runs again.
    pub fn block(&mut self, keys: &[&[u8]], deadline: i64, on_timeout: TimeoutReply, kind: &'static str) {
        self.block = Some(crate::server::blocking::BlockReq {
            keys: keys.iter().map(|k| k.to_vec()).collect(),
            deadline,
            on_timeout,
            kind,
            argv: None,
        });
    }

    /// Config limits for collection encodings.
    pub fn limits(&self) -> crate::db::Limits {
        self.srv.cfg.limits
    }

    /// Records `n` changes not tied to one key (FLUSHALL, SWAPDB).
    pub fn dirty(&mut self, n: u64) {
        self.srv.dirty += n;
    }

    #[inline]
    pub fn hit(&mut self, found: bool) {
        if found {
            self.srv.stats.keyspace_hits += 1;
        } else {
            self.srv.stats.keyspace_misses += 1;
        }
    }
}

/// How a lookup for reading treats its key (see `Ctx::read_parts`).
/// Redis compat: db.c LOOKUP_NOTOUCH, LOOKUP_NONOTIFY.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Look {
    /// Touches the key's access time (LRU/LFU); a miss raises `keymiss`.
    Read,
    /// Leaves the access time alone (EXISTS, TYPE, TTL and its kin).
    NoTouch,
    /// Leaves the access time alone and raises no `keymiss` (OBJECT).
    Quiet,
}

pub struct Table {
    /// Top-level name -> index into `specs`.
    map: HashMap<Vec<u8>, usize, ahash::RandomState>,
    /// Every command and subcommand; the index is the command's id (stats slot).
    pub specs: Vec<&'static CommandSpec>,
    /// Full names ("get", "config|get"), by id.
    pub names: Vec<String>,
    /// For containers: id of the container -> ids of its subcommands.
    subs: HashMap<usize, Vec<usize>>,
    pub all: Vec<&'static CommandSpec>,
}

fn families() -> [&'static [CommandSpec]; 24] {
    [
        acl::COMMANDS,
        module::COMMANDS,
        latency::COMMANDS,
        cluster::COMMANDS,
        multi::COMMANDS,
        string::COMMANDS,
        bitops::COMMANDS,
        pubsub::COMMANDS,
        geo::COMMANDS,
        hll::COMMANDS,
        list::COMMANDS,
        hash::COMMANDS,
        set::COMMANDS,
        zset::COMMANDS,
        sort::COMMANDS,
        stream::COMMANDS,
        repl::COMMANDS,
        keyspace::COMMANDS,
        connection::COMMANDS,
        admin::COMMANDS,
        persist::COMMANDS,
        migrate::COMMANDS,
        info::COMMANDS,
        scripting::COMMANDS,
    ]
}

static SENTINEL_MODE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs the process as a Sentinel: its command table has Sentinel's commands only.
/// Set once at startup, before the table is first used.
pub fn set_sentinel_mode() {
    SENTINEL_MODE.store(true, std::sync::atomic::Ordering::Relaxed);
}

pub fn sentinel_mode() -> bool {
    SENTINEL_MODE.load(std::sync::atomic::Ordering::Relaxed)
}

pub fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Table {
            map: HashMap::default(),
            specs: Vec::new(),
            names: Vec::new(),
            subs: HashMap::new(),
            all: Vec::new(),
        };
        // Sentinel mode: its own commands, then the data server's that it shares.
        // Redis compat: server.c populateCommandTable (CMD_SENTINEL).
        let sentinel = sentinel_mode();
        let mut fams: Vec<(bool, &'static [CommandSpec])> = Vec::new();
        if sentinel {
            fams.push((true, crate::sentinel::command::COMMANDS));
        }
        fams.extend(families().into_iter().map(|f| (false, f)));
        for (own, fam) in fams {
            for c in fam {
                if sentinel
                    && (t.map.contains_key(c.name.as_bytes())
                        || !(own || crate::sentinel::command::SHARED.contains(&c.name)))
                {
                    continue;
                }
                let id = t.specs.len();
                t.specs.push(c);
                t.names.push(c.name.to_string());
                t.map.insert(c.name.as_bytes().to_vec(), id);
                t.all.push(c);
                let mut ids = Vec::new();
                for s in c.subcommands {
                    ids.push(t.specs.len());
                    t.specs.push(s);
                    t.names.push(format!("{}|{}", c.name, s.name));
                }
                if !ids.is_empty() {
                    t.subs.insert(id, ids);
                }
            }
        }
        t
    })
}

impl Table {
    /// Id of a top-level command (case-insensitive).
    pub fn top_id(&self, name: &[u8]) -> Option<usize> {
        self.top(name)
    }

    fn top(&self, name: &[u8]) -> Option<usize> {
        let mut buf = [0u8; 32];
        let b = buf.get_mut(..name.len())?;
        b.copy_from_slice(name);
        b.make_ascii_lowercase();
        self.map.get(&b[..]).copied()
    }

    /// Case-insensitive lookup of a top-level command.
    #[inline]
    pub fn get(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        self.top(name).and_then(|i| self.specs.get(i).copied())
    }

    /// Id of the command `argv` invokes, including the subcommand of containers.
    #[inline]
    pub fn lookup_id(&self, argv: &[&[u8]]) -> Option<usize> {
        let id = self.top(argv.first()?)?;
        let c = self.specs.get(id)?;
        // A container named alone is itself (its arity then refuses it, as Redis's
        // lookupCommand finds it).
        if c.subcommands.is_empty() || argv.len() == 1 {
            return Some(id);
        }
        let sub = argv.get(1)?;
        self.subs.get(&id)?.iter().copied().find(|&s| {
            self.specs
                .get(s)
                .is_some_and(|x| x.name.as_bytes().eq_ignore_ascii_case(sub))
        })
    }

    pub fn lookup(&self, argv: &[&[u8]]) -> Option<&'static CommandSpec> {
        self.lookup_id(argv).and_then(|i| self.specs.get(i).copied())
    }

    /// "container|sub" or the plain name.
    pub fn full_name(&self, spec: &'static CommandSpec) -> String {
        self.specs
            .iter()
            .position(|s| std::ptr::eq(*s, spec))
            .and_then(|i| self.names.get(i).cloned())
            .unwrap_or_else(|| spec.name.to_string())
    }
}

/// LMPOP/ZMPOP-style arguments: numkeys at `numkeys_at`, that many keys, one of two end
/// words (`ends`), then an optional COUNT. Redis compat: t_list.c lmpopGenericCommand,
/// t_zset.c zmpopGenericCommand.
pub struct MPopArgs<'a> {
    pub keys: &'a [&'a [u8]],
    /// True for the first word of `ends` (LEFT, MIN).
    pub first_end: bool,
    pub count: usize,
}

pub fn parse_mpop<'a>(a: &Args<'a>, numkeys_at: usize, ends: [&str; 2]) -> Result<MPopArgs<'a>, CmdError> {
    let numkeys = match num::parse_i64(a.at(numkeys_at)) {
        Some(n) if n >= 1 => n as usize,
        _ => return Err(error::NUMKEYS),
    };
    let where_at = numkeys_at.saturating_add(numkeys).saturating_add(1);
    if where_at >= a.len() {
        return Err(error::SYNTAX);
    }
    let first_end = if a.is(where_at, ends[0]) {
        true
    } else if a.is(where_at, ends[1]) {
        false
    } else {
        return Err(error::SYNTAX);
    };
    let mut count: Option<usize> = None;
    let mut j = where_at + 1;
    while j < a.len() {
        if count.is_none() && a.is(j, "count") && j + 1 < a.len() {
            match num::parse_i64(a.at(j + 1)) {
                Some(c) if c >= 1 => count = Some(c as usize),
                _ => return Err(error::COUNT_POSITIVE),
            }
            j += 2;
        } else {
            return Err(error::SYNTAX);
        }
    }
    Ok(MPopArgs {
        keys: a.argv.get(numkeys_at + 1..where_at).unwrap_or_default(),
        first_end,
        count: count.unwrap_or(1),
    })
}

/// Moves the table resize of the hash, set or sorted set at `key` along by one step per
/// look-up a read made in it (`rehashing`: it was being resized), as Redis's dictFind
/// does: a table read but no longer written still finishes its resize.
pub fn step_after_lookups(ctx: &mut Ctx, rehashing: bool, key: &[u8], lookups: usize) -> CmdResult {
    if rehashing {
        ctx.db().rehash_after_lookups(key, lookups);
    }
    Ok(())
}

/// Parses a blocking command's timeout (seconds, may have decimals) into an absolute
/// unix-ms deadline, 0 meaning forever. Redis compat: timeout.c getTimeoutFromObjectOrReply.
pub fn parse_timeout(arg: &[u8], now_ms: i64) -> Result<i64, CmdError> {
    let secs = std::str::from_utf8(arg)
        .ok()
        .filter(|s| !s.is_empty() && !s.starts_with(|c: char| c.is_whitespace()))
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .ok_or_else(|| CmdError::new("ERR timeout is not a float or out of range"))?;
    if secs < 0.0 {
        return Err(error::TIMEOUT_NEG);
    }
    let ms = (secs * 1000.0).ceil();
    if ms <= 0.0 {
        return Ok(0);
    }
    if ms >= (i64::MAX - now_ms) as f64 {
        return Err(CmdError::new("ERR timeout is out of range"));
    }
    Ok(now_ms + ms as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_invariants() {
        let t = table();
        let mut seen = std::collections::HashSet::new();
        for c in &t.all {
            assert!(seen.insert(c.name), "duplicate {}", c.name);
            assert_eq!(c.name, c.name.to_ascii_lowercase());
            assert!(c.arity != 0, "{} arity", c.name);
            assert!(c.handler.is_some() || !c.subcommands.is_empty(), "{}", c.name);
            assert!(!c.summary.is_empty(), "{} has no summary", c.name);
            for s in c.subcommands {
                assert!(s.handler.is_some(), "{}|{}", c.name, s.name);
                assert!(s.arity.unsigned_abs() >= 2, "{}|{} arity", c.name, s.name);
                assert!(!s.summary.is_empty(), "{}|{} has no summary", c.name, s.name);
            }
            let writes = c.flags & spec::WRITE != 0;
            let reads = c.flags & spec::READONLY != 0;
            assert!(!(writes && reads), "{} both read and write", c.name);
            if c.keys.first > 0 {
                assert!(c.keys.step > 0 && c.key_flags != 0, "{} keys", c.name);
            }
        }
        assert!(t.get(b"GeT").is_some());
        assert!(t.lookup(&[b"config", b"GET"]).is_some());
    }
}
