//! Blocking commands (BLPOP, BLMOVE, BZPOPMIN, ...): a handler that finds nothing to
//! serve asks to block; the client then waits, FIFO per key, until a write signals one of
//! its keys ready (the command is run again and either serves or keeps waiting in place),
//! its timeout passes, CLIENT UNBLOCK, or it disconnects. A blocked client's further
//! input is not read until it is unblocked. Redis compat: blocked.c.
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use super::call;
use super::Server;

/// What a blocked client gets when it times out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutReply {
    NullArray,
    NullBulk,
    /// WAIT: the number of replicas that acknowledged this offset.
    Acks(u64),
}

/// A handler's request to block (set on `Ctx::block`).
pub struct BlockReq {
    pub keys: Vec<Vec<u8>>,
    /// Absolute unix ms; 0 blocks forever.
    pub deadline: i64,
    pub on_timeout: TimeoutReply,
    /// The type the keys must have to wake the client ("list", "zset", "stream").
    pub kind: &'static str,
    /// The command to run again instead of the one sent (XREAD with `$` resolved).
    pub argv: Option<Vec<Vec<u8>>>,
}

pub struct BlockState {
    pub db: usize,
    pub req: BlockReq,
    /// The command to run again when a key is ready.
    pub argv: Vec<Vec<u8>>,
}

#[derive(Default)]
pub struct Blocking {
    /// Per db: key -> clients blocked on it, oldest first.
    pub waiting: HashMap<(usize, Vec<u8>), VecDeque<usize>>,
    /// Keys signalled since the last serve pass (deduplicated by `ready_set`).
    ready: VecDeque<(usize, Vec<u8>)>,
    ready_set: HashSet<(usize, Vec<u8>)>,
    /// (deadline, client) of clients with a timeout.
    pub timeouts: BTreeSet<(i64, usize)>,
    /// Clients unblocked since the reactor last looked: their output needs flushing and
    /// their pending input processing.
    pub unblocked: Vec<usize>,
    /// Set while a blocked client's command runs again.
    pub rerun: Option<usize>,
    /// Set when that rerun asked to block again.
    pub reblock: bool,
    /// The command as the client sent it, while it runs again narrowed to one of its
    /// keys: the slow log shows this.
    pub sent_argv: Option<Vec<Vec<u8>>>,
    serving: bool,
    pub count: usize,
}

impl Server {
    /// Called on every keyspace write: wakes clients blocked on `key`, if any.
    #[inline]
    pub fn signal_key(&mut self, db: usize, key: &[u8]) {
        if self.blocking.waiting.is_empty() {
            return;
        }
        let k = (db, key.to_vec());
        if self.blocking.waiting.contains_key(&k) && self.blocking.ready_set.insert(k.clone()) {
            self.blocking.ready.push_back(k);
        }
    }

    /// Whether some client waits on a key with a command of `kind` ("list", "zset",
    /// "stream"). Redis compat: server.blocked_clients_by_type.
    pub fn blocked_on_kind(&self, kind: &str) -> bool {
        self.blocking.waiting.values().flatten().any(|&cid| {
            self.clients
                .get(cid)
                .and_then(|c| c.blocked.as_ref())
                .is_some_and(|b| b.req.kind == kind)
        })
    }

    /// Signals every key clients wait on in `db` (FLUSHDB, SWAPDB).
    pub fn signal_db(&mut self, db: usize) {
        let keys: Vec<Vec<u8>> = self
            .blocking
            .waiting
            .keys()
            .filter(|(d, _)| *d == db)
            .map(|(_, k)| k.clone())
            .collect();
        for k in keys {
            self.signal_key(db, &k);
        }
    }

    /// Blocks client `cid` (its command found nothing to serve).
    pub fn block_client(&mut self, cid: usize, db: usize, mut req: BlockReq, argv: &[&[u8]]) {
        let b = &mut self.blocking;
        if b.rerun == Some(cid) {
            b.reblock = true;
            return;
        }
        let Some(c) = self.clients.get_mut(cid) else {
            return;
        };
        for k in &req.keys {
            let q = b.waiting.entry((db, k.clone())).or_default();
            if !q.contains(&cid) {
                q.push_back(cid);
            }
        }
        if req.deadline > 0 {
            b.timeouts.insert((req.deadline, cid));
        }
        b.count += 1;
        let argv = match req.argv.take() {
            Some(v) => v,
            None => argv.iter().map(|a| a.to_vec()).collect(),
        };
        c.blocked = Some(Box::new(BlockState { db, req, argv }));
    }

    /// Removes a client from every wait queue; returns its state if it was blocked.
    pub fn unblock_client(&mut self, cid: usize) -> Option<Box<BlockState>> {
        let st = self.clients.get_mut(cid)?.blocked.take()?;
        let b = &mut self.blocking;
        for k in &st.req.keys {
            let key = (st.db, k.clone());
            if let Some(q) = b.waiting.get_mut(&key) {
                q.retain(|&c| c != cid);
                if q.is_empty() {
                    b.waiting.remove(&key);
                }
            }
        }
        if st.req.deadline > 0 {
            b.timeouts.remove(&(st.req.deadline, cid));
        }
        b.count = b.count.saturating_sub(1);
        b.unblocked.push(cid);
        Some(st)
    }

    /// CLIENT UNBLOCK: ends the wait with the timeout reply or an error. Either way the
    /// command counts as failed (its call was counted when it blocked). Redis compat:
    /// networking.c clientCommand "unblock", updateStatsOnUnblock with had_errors set.
    pub fn client_unblock(&mut self, cid: usize, error: bool) {
        let id = self.clients.get(cid).and_then(|c| c.blocked.as_ref()).and_then(|st| {
            let argv: Vec<&[u8]> = st.argv.iter().map(|a| a.as_slice()).collect();
            crate::cmd::table().lookup_id(&argv)
        });
        if error {
            self.unblock_error(cid, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
        } else {
            self.unblock_timeout(cid);
        }
        if let Some(id) = id {
            call::stat(self, id).failed += 1;
        }
    }

    /// Unblocks with the command's timeout reply (timeout or CLIENT UNBLOCK TIMEOUT).
    pub fn unblock_timeout(&mut self, cid: usize) {
        if let Some(st) = self.unblock_client(cid) {
            let acked = match st.req.on_timeout {
                TimeoutReply::Acks(off) => self.replicas_acked(off),
                _ => 0,
            };
            self.repl.waiters.retain(|w| w.0 != cid);
            if let Some(c) = self.clients.get_mut(cid) {
                match st.req.on_timeout {
                    TimeoutReply::NullArray => c.reply.null_array(),
                    TimeoutReply::NullBulk => c.reply.null(),
                    TimeoutReply::Acks(_) => c.reply.int(acked as i64),
                }
            }
        }
    }

    /// Unblocks with an error reply (CLIENT UNBLOCK ERROR).
    pub fn unblock_error(&mut self, cid: usize, text: &str) {
        if self.unblock_client(cid).is_some() {
            call::count_error(self, text.as_bytes());
            if let Some(c) = self.clients.get_mut(cid) {
                c.reply.error(text);
            }
        }
    }

    /// Times out every client whose deadline is before `now_ms`: a deadline is a whole
    /// millisecond, so a timeout never ends early. Redis compat: timeout.c
    /// handleBlockedClientsTimeout (`timeout >= now` waits).
    pub fn expire_blocked(&mut self, now_ms: i64) {
        while let Some(&(at, cid)) = self.blocking.timeouts.first() {
            if at >= now_ms {
                break;
            }
            self.blocking.timeouts.pop_first();
            self.unblock_timeout(cid);
        }
    }

    /// Milliseconds until the next blocked client times out, if any.
    pub fn next_block_timeout(&self, now_ms: i64) -> Option<i64> {
        self.blocking.timeouts.first().map(|&(at, _)| (at + 1 - now_ms).max(0))
    }

    /// Serves clients blocked on keys signalled ready, until none is left.
    pub fn serve_ready_keys(&mut self) {
        if self.blocking.serving {
            return;
        }
        self.blocking.serving = true;
        while let Some(k) = self.blocking.ready.pop_front() {
            self.blocking.ready_set.remove(&k);
            let Some(q) = self.blocking.waiting.get(&k) else {
                continue;
            };
            let cids: Vec<usize> = q.iter().copied().collect();
            let (db, key) = k;
            for cid in cids {
                let Some(kind) = self
                    .clients
                    .get(cid)
                    .and_then(|c| c.blocked.as_ref())
                    .map(|s| s.req.kind)
                else {
                    continue;
                };
                // Stream readers each wait for their own id (and XREADGROUP readers
                // also for the key's deletion): their command decides. A list or
                // sorted set waiter is served while the key holds its type; waiters of
                // another type are passed over, not waited behind. Redis compat:
                // blocked.c handleClientsBlockedOnKeys serves by the key's type.
                if kind != "stream" {
                    let now = crate::clock::now_ms();
                    let ready = self
                        .dbs
                        .get_mut(db)
                        .and_then(|d| d.peek(&key, now))
                        .is_some_and(|o| o.type_name() == kind);
                    if !ready {
                        continue;
                    }
                }
                self.rerun_blocked(cid, &key);
            }
        }
        self.blocking.serving = false;
        // Keys found expired while looking for served clients are deleted now.
        self.propagate_background_deletions();
    }

    /// Runs a blocked client's command again, on the key that became ready only (as
    /// Redis serves a blocked client from that key); it either serves (and the client
    /// is unblocked) or asks to block again (and keeps its place in every queue).
    fn rerun_blocked(&mut self, cid: usize, key: &[u8]) {
        let Some(c) = self.clients.get_mut(cid) else {
            return;
        };
        let Some(st) = c.blocked.take() else {
            return;
        };
        let mut out = c.detach_reply();
        out.resp3 = c.resp3;
        c.executing = true;
        self.blocking.rerun = Some(cid);
        self.blocking.reblock = false;
        {
            let narrowed = narrow_to_key(&st.argv, key);
            self.blocking.sent_argv = narrowed.is_some().then(|| st.argv.clone());
            let argv: Vec<&[u8]> = narrowed
                .as_ref()
                .unwrap_or(&st.argv)
                .iter()
                .map(|a| a.as_slice())
                .collect();
            call::execute(self, cid, &argv, &mut out);
        }
        self.blocking.rerun = None;
        self.blocking.sent_argv = None;
        let reblock = std::mem::take(&mut self.blocking.reblock);
        let Some(c) = self.clients.get_mut(cid) else {
            return;
        };
        c.reattach_reply(out);
        c.executing = false;
        c.blocked = Some(st);
        if !reblock {
            self.unblock_client(cid);
        }
    }
}

/// A blocking command's arguments with its keys narrowed to `key` (and, for XREAD and
/// XREADGROUP, that key's id), or None when it has one key anyway. Redis compat:
/// blocked.c serveClientsBlockedOnKey serves from the key that was signalled.
fn narrow_to_key(argv: &[Vec<u8>], key: &[u8]) -> Option<Vec<Vec<u8>>> {
    let name = argv.first()?.to_ascii_lowercase();
    let keep = |v: &[Vec<u8>]| v.to_vec();
    match name.as_slice() {
        b"blpop" | b"brpop" | b"bzpopmin" | b"bzpopmax" => {
            let timeout = argv.last()?;
            (argv.len() > 3).then(|| vec![argv[0].clone(), key.to_vec(), timeout.clone()])
        }
        b"blmpop" | b"bzmpop" => {
            let n: usize = std::str::from_utf8(argv.get(2)?).ok()?.parse().ok()?;
            if n <= 1 || argv.len() < 3 + n {
                return None;
            }
            let mut v = keep(&argv[..2]);
            v.push(b"1".to_vec());
            v.push(key.to_vec());
            v.extend_from_slice(&argv[3 + n..]);
            Some(v)
        }
        b"xread" | b"xreadgroup" => {
            // Options come before STREAMS: GROUP takes two arguments, COUNT and BLOCK one.
            let mut i = 1;
            while i < argv.len() {
                let a = argv[i].to_ascii_lowercase();
                match a.as_slice() {
                    b"streams" => break,
                    b"group" => i += 3,
                    b"count" | b"block" => i += 2,
                    _ => i += 1,
                }
            }
            let rest = argv.get(i + 1..)?;
            let n = rest.len() / 2;
            if n <= 1 || rest.len() % 2 != 0 {
                return None;
            }
            let k = rest[..n].iter().position(|x| x.as_slice() == key)?;
            let mut v = keep(&argv[..=i]);
            v.push(rest[k].clone());
            v.push(rest[n + k].clone());
            Some(v)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::narrow_to_key;

    fn v(s: &str) -> Vec<Vec<u8>> {
        s.split(' ').map(|a| a.as_bytes().to_vec()).collect()
    }

    #[test]
    fn a_served_command_reads_the_ready_key_only() {
        let cases = [
            ("BLPOP a b 0", "b", Some("BLPOP b 0")),
            ("BLPOP a 0", "a", None),
            ("BZPOPMAX a b c 1.5", "c", Some("BZPOPMAX c 1.5")),
            ("BLMPOP 0 2 a b LEFT COUNT 3", "b", Some("BLMPOP 0 1 b LEFT COUNT 3")),
            ("BZMPOP 0 1 a MIN", "a", None),
            (
                "XREAD COUNT 2 BLOCK 0 STREAMS s1 s2 1-1 2-2",
                "s2",
                Some("XREAD COUNT 2 BLOCK 0 STREAMS s2 2-2"),
            ),
            (
                "XREADGROUP GROUP streams c BLOCK 0 NOACK STREAMS a b > >",
                "a",
                Some("XREADGROUP GROUP streams c BLOCK 0 NOACK STREAMS a >"),
            ),
            ("BLMOVE a b LEFT RIGHT 0", "a", None),
        ];
        for (argv, key, want) in cases {
            assert_eq!(narrow_to_key(&v(argv), key.as_bytes()), want.map(v), "{argv}");
        }
    }
}
