//! Client-side caching (CLIENT TRACKING): the server remembers which keys each tracking
//! client read and, when one of them changes, tells the client to drop it from its cache
//! ("invalidate" push messages in RESP3, or `__redis__:invalidate` pub/sub messages to a
//! redirection connection). In BCAST mode clients subscribe to key prefixes instead and
//! get every changed key under them, batched once per event loop iteration.
//! Redis compat: tracking.c.
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::pubsub::Current;
use super::Server;
use crate::resp::write::ReplyBuf;

/// The pub/sub channel invalidations are published on for RESP2 redirection clients.
pub const CHANNEL: &[u8] = b"__redis__:invalidate";

/// A client's tracking mode (present while tracking is on).
#[derive(Default, Debug)]
pub struct ClientTracking {
    /// The id of the client invalidations go to (0: this client), and its slot.
    pub redirect: u64,
    pub redirect_cid: usize,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// CLIENT CACHING yes (OPTIN) or no (OPTOUT) was given for the next command.
    pub caching: bool,
    /// The redirection client went away.
    pub broken_redir: bool,
    /// BCAST prefixes.
    pub prefixes: BTreeSet<Vec<u8>>,
}

/// A BCAST prefix: its clients, and the keys under it changed since the last broadcast
/// with the client that changed each last (for NOLOOP).
#[derive(Default)]
struct Bcast {
    keys: BTreeMap<Vec<u8>, Option<usize>>,
    clients: BTreeSet<usize>,
}

/// What an invalidation carries.
enum Payload<'a> {
    Key(&'a [u8]),
    /// Everything (a flush): a null.
    All,
    /// A ready array of keys (a broadcast batch).
    Proto(&'a [u8]),
}

#[derive(Default)]
pub struct Tracking {
    /// Keys read by clients in default mode -> (client slot, client id) of each reader.
    table: HashMap<Vec<u8>, Vec<(usize, u64)>>,
    /// Readers across all keys of `table`.
    items: u64,
    prefixes: BTreeMap<Vec<u8>, Bcast>,
    /// Clients with tracking on.
    pub clients: usize,
    /// The client whose command is running: its own invalidations wait in `pending`
    /// until its reply is written.
    pub current: Option<usize>,
    pending: Vec<Option<Vec<u8>>>,
    /// The running script's declared keys, while its caller tracks.
    pub script: Option<ScriptRead>,
    /// Rounds the table stayed over tracking-table-max-keys (more effort each).
    over_limit_rounds: u32,
}

impl Tracking {
    pub fn total_keys(&self) -> usize {
        self.table.len()
    }
    pub fn total_items(&self) -> u64 {
        self.items
    }
    pub fn total_prefixes(&self) -> usize {
        self.prefixes.len()
    }
}

/// Whether two prefixes overlap (one starts with the other).
fn overlaps(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// A script run by a tracking client: a read-only command it runs makes the caller
/// track the script's declared keys.
pub struct ScriptRead {
    /// The script's own client.
    pub client: usize,
    pub caller: usize,
    pub keys: Vec<Vec<u8>>,
}

/// The parsed options of CLIENT TRACKING ON.
pub struct TrackingOpts {
    pub redirect: Option<(u64, usize)>,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    pub prefixes: Vec<Vec<u8>>,
}

impl Server {
    /// A key's value changed: clients blocked on it, its WATCHers and the clients
    /// caching it hear of it (`by`: the client whose command changed it).
    #[inline]
    pub fn key_changed(&mut self, db: usize, key: &[u8], by: Option<usize>) {
        self.signal_key(db, key);
        self.signal_modified_key(db, key, by);
    }

    /// Redis compat: db.c signalModifiedKey.
    #[inline]
    pub fn signal_modified_key(&mut self, db: usize, key: &[u8], by: Option<usize>) {
        self.touch_watched(db, key);
        // Redis compat: expire.c rememberSlaveKeyWithExpire: a replica expires the
        // keys its own clients gave a TTL; the master's expire by its DELs.
        if self.repl.master.is_some()
            && by.is_some_and(|c| self.clients.get(c).is_some_and(|c| !c.is_master))
            && self.dbs.get(db).is_some_and(|d| d.get_expire(key).is_some())
        {
            self.replica_written.insert((db, key.to_vec()));
        }
        if self.tracking.clients > 0 || !self.tracking.table.is_empty() {
            self.tracking_invalidate(key, by, true);
        }
    }

    /// CLIENT TRACKING ON with `o` (already checked against the client's mode).
    /// Redis compat: tracking.c enableTracking, checkPrefixCollisionsOrReply.
    pub fn enable_tracking(&mut self, cid: usize, o: TrackingOpts) -> Result<(), String> {
        let Some(c) = self.clients.get_mut(cid) else {
            return Ok(());
        };
        if o.bcast {
            let old = c.tracking.as_ref().map(|t| &t.prefixes);
            for (i, p) in o.prefixes.iter().enumerate() {
                if let Some(q) = old.and_then(|s| s.iter().find(|q| overlaps(p, q))) {
                    return Err(format!(
                        "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                        String::from_utf8_lossy(p),
                        String::from_utf8_lossy(q)
                    ));
                }
                if let Some(q) = o.prefixes[i + 1..].iter().find(|q| overlaps(p, q)) {
                    return Err(format!(
                        "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                        String::from_utf8_lossy(p),
                        String::from_utf8_lossy(q)
                    ));
                }
            }
        }
        if c.tracking.is_none() {
            self.tracking.clients += 1;
        }
        let t = c.tracking.get_or_insert_with(Default::default);
        (t.redirect, t.redirect_cid) = o.redirect.unwrap_or((0, 0));
        t.broken_redir = false;
        t.bcast = o.bcast;
        t.optin = o.optin;
        t.optout = o.optout;
        t.noloop = o.noloop;
        if o.bcast {
            let mut list = o.prefixes;
            if list.is_empty() {
                list.push(Vec::new());
            }
            for p in list {
                t.prefixes.insert(p.clone());
                self.tracking.prefixes.entry(p).or_default().clients.insert(cid);
            }
        }
        Ok(())
    }

    /// CLIENT TRACKING OFF, RESET, or the client going away. The keys it read stay in
    /// the table (their ids are checked when used). Redis compat: disableTracking.
    pub fn disable_tracking(&mut self, cid: usize) {
        let Some(t) = self.clients.get_mut(cid).and_then(|c| c.tracking.take()) else {
            return;
        };
        self.tracking.clients -= 1;
        for p in &t.prefixes {
            if let Some(b) = self.tracking.prefixes.get_mut(p) {
                b.clients.remove(&cid);
                if b.clients.is_empty() {
                    self.tracking.prefixes.remove(p);
                }
            }
        }
    }

    /// After a read-only command of a tracking client: remember the keys it read.
    /// A command run by a script counts for the script's caller, with the script's
    /// declared keys. Redis compat: server.c call, tracking.c trackingRememberKeys.
    pub fn tracking_remember(&mut self, cid: usize, spec: &crate::cmd::spec::CommandSpec, argv: &[&[u8]]) {
        let (reader, keys): (usize, Vec<&[u8]>) = match &self.tracking.script {
            Some(s) if s.client == cid => (s.caller, s.keys.iter().map(|k| &k[..]).collect()),
            // Shard channels are keys only for cluster routing.
            _ if spec.flags & crate::cmd::spec::PUBSUB != 0 => return,
            _ => (
                cid,
                spec.key_positions(argv)
                    .into_iter()
                    .filter_map(|p| argv.get(p).copied())
                    .collect(),
            ),
        };
        let Some(c) = self.clients.get(reader) else {
            return;
        };
        let Some(t) = c.tracking.as_ref() else {
            return;
        };
        if t.bcast || (t.optin && !t.caching) || (t.optout && t.caching) {
            return;
        }
        let id = c.id;
        for k in keys {
            let readers = match self.tracking.table.get_mut(k) {
                Some(r) => r,
                None => self.tracking.table.entry(k.to_vec()).or_default(),
            };
            if !readers.iter().any(|r| r.1 == id) {
                readers.push((reader, id));
                self.tracking.items += 1;
            }
        }
    }

    /// Whether a command from `cid` should have its keys remembered.
    #[inline]
    pub fn tracking_reader(&self, cid: usize) -> bool {
        self.tracking.clients > 0
            && (self.clients.get(cid).is_some_and(|c| c.tracking.is_some())
                || self.tracking.script.as_ref().is_some_and(|s| s.client == cid))
    }

    /// `key` changed (by `by`, when a client's command changed it): its readers are
    /// told, and BCAST prefixes over it note it. Redis compat: trackingInvalidateKey.
    pub fn tracking_invalidate(&mut self, key: &[u8], by: Option<usize>, bcast: bool) {
        if bcast && !self.tracking.prefixes.is_empty() {
            for (p, b) in self.tracking.prefixes.iter_mut() {
                if key.starts_with(p) {
                    b.keys.insert(key.to_vec(), by);
                }
            }
        }
        let Some(readers) = self.tracking.table.remove(key) else {
            return;
        };
        self.tracking.items -= readers.len() as u64;
        for (cid, id) in readers {
            let Some(t) = self
                .clients
                .get(cid)
                .filter(|c| c.id == id)
                .and_then(|c| c.tracking.as_ref())
            else {
                continue;
            };
            if t.bcast {
                continue;
            }
            if t.noloop && self.tracking.current == Some(cid) {
                continue;
            }
            if self.tracking.current == Some(cid) {
                self.tracking.pending.push(Some(key.to_vec()));
            } else {
                self.send_tracking(&mut None, cid, Payload::Key(key));
            }
        }
    }

    /// The dataset was emptied: every tracking client drops its whole cache.
    /// Redis compat: trackingInvalidateKeysOnFlush.
    pub fn tracking_flush(&mut self) {
        if self.tracking.clients > 0 {
            let ids: Vec<usize> = self
                .clients
                .iter()
                .filter(|(_, c)| c.tracking.is_some())
                .map(|(cid, _)| cid)
                .collect();
            for cid in ids {
                if self.tracking.current == Some(cid) {
                    self.tracking.pending.push(None);
                } else {
                    self.send_tracking(&mut None, cid, Payload::All);
                }
            }
        }
        let old = std::mem::take(&mut self.tracking.table);
        self.tracking.items = 0;
        crate::db::lazyfree::drop_later(old);
    }

    /// Sends the current client the invalidations its own command caused, after its
    /// reply (or before it, for evictions made before the command ran).
    /// Redis compat: trackingHandlePendingKeyInvalidations.
    pub fn tracking_flush_pending(&mut self, cid: usize, out: &mut ReplyBuf) {
        if self.tracking.pending.is_empty() {
            return;
        }
        let mut cur = Some(Current { cid, out });
        for k in std::mem::take(&mut self.tracking.pending) {
            match &k {
                Some(key) => self.send_tracking(&mut cur, cid, Payload::Key(key)),
                None => self.send_tracking(&mut cur, cid, Payload::All),
            }
        }
    }

    /// One invalidation for tracking client `cid`, to it or its redirection.
    /// Redis compat: tracking.c sendTrackingMessage.
    fn send_tracking(&mut self, cur: &mut Option<Current<'_>>, cid: usize, what: Payload<'_>) {
        let Some(c) = self.clients.get_mut(cid) else {
            return;
        };
        let Some(t) = c.tracking.as_mut() else {
            return;
        };
        let own_resp3 = c.resp3;
        let mut target = cid;
        let mut redirected = false;
        if t.redirect != 0 {
            let (redir, rcid) = (t.redirect, t.redirect_cid);
            match self.clients.get(rcid).filter(|o| o.id == redir).map(|_| rcid) {
                Some(r) => {
                    target = r;
                    redirected = true;
                }
                None => {
                    if let Some(t) = self.clients.get_mut(cid).and_then(|c| c.tracking.as_mut()) {
                        t.broken_redir = true;
                    }
                    if own_resp3 {
                        let mut b = ReplyBuf::new();
                        b.resp3 = true;
                        b.push(2);
                        b.bulk(b"tracking-redir-broken");
                        b.int(redir as i64);
                        self.deliver(cur, cid, &b.buf, &b.buf, true);
                    }
                    return;
                }
            }
        }
        let Some(tc) = self.clients.get(target) else {
            return;
        };
        let mut b = ReplyBuf::new();
        b.resp3 = tc.resp3;
        if tc.resp3 {
            b.push(2);
            b.bulk(b"invalidate");
        } else if redirected && tc.subs.is_some() {
            b.array(3);
            b.bulk(b"message");
            b.bulk(CHANNEL);
        } else {
            // RESP2 has no way to push into a normal connection.
            return;
        }
        match what {
            Payload::Key(k) => {
                b.array(1);
                b.bulk(k);
            }
            // The null is in the tracking client's protocol. Redis compat: shared.null[c->resp].
            Payload::All => b.raw(if own_resp3 { b"_\r\n" } else { b"$-1\r\n" }),
            Payload::Proto(p) => b.raw(p),
        }
        self.deliver(cur, target, &b.buf, &b.buf, true);
    }

    /// Sends the BCAST batches collected since the last call, to each prefix's
    /// clients (NOLOOP clients without the keys they changed themselves).
    /// Redis compat: trackingBroadcastInvalidationMessages (beforeSleep).
    pub fn tracking_broadcast(&mut self) {
        if self.tracking.clients == 0 || self.tracking.prefixes.values().all(|b| b.keys.is_empty()) {
            return;
        }
        let mut batches = Vec::new();
        for b in self.tracking.prefixes.values_mut() {
            if b.keys.is_empty() {
                continue;
            }
            batches.push((
                std::mem::take(&mut b.keys),
                b.clients.iter().copied().collect::<Vec<_>>(),
            ));
        }
        for (keys, clients) in batches {
            let all = bcast_proto(&keys, None);
            for cid in clients {
                let noloop = self
                    .clients
                    .get(cid)
                    .and_then(|c| c.tracking.as_ref())
                    .is_some_and(|t| t.noloop);
                if noloop {
                    if let Some(p) = bcast_proto(&keys, Some(cid)) {
                        self.send_tracking(&mut None, cid, Payload::Proto(&p));
                    }
                } else if let Some(p) = &all {
                    self.send_tracking(&mut None, cid, Payload::Proto(p));
                }
            }
        }
    }

    /// Keeps the table within tracking-table-max-keys: readers of keys dropped from it
    /// are told to drop them too. The effort grows while the table stays over the limit.
    /// Redis compat: tracking.c trackingLimitUsedSlots.
    pub fn tracking_limit(&mut self) {
        let max = self.cfg.tracking_table_max_keys;
        if max == 0 || self.tracking.table.len() <= max {
            self.tracking.over_limit_rounds = 0;
            return;
        }
        let effort = 100 * (self.tracking.over_limit_rounds as usize + 1);
        let excess = self.tracking.table.len() - max;
        let victims: Vec<Vec<u8>> = self.tracking.table.keys().take(effort.min(excess)).cloned().collect();
        for k in victims {
            self.tracking_invalidate(&k, None, false);
        }
        if self.tracking.table.len() <= max {
            self.tracking.over_limit_rounds = 0;
        } else {
            self.tracking.over_limit_rounds += 1;
        }
    }
}

/// The RESP array of `keys` (without those `skip` changed itself); None when empty.
fn bcast_proto(keys: &BTreeMap<Vec<u8>, Option<usize>>, skip: Option<usize>) -> Option<Vec<u8>> {
    let list: Vec<&Vec<u8>> = keys
        .iter()
        .filter(|(_, by)| skip.is_none() || **by != skip)
        .map(|(k, _)| k)
        .collect();
    if list.is_empty() {
        return None;
    }
    let mut b = ReplyBuf::new();
    b.array(list.len());
    for k in list {
        b.bulk(k);
    }
    Some(b.buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_overlap() {
        assert!(overlaps(b"foo", b"foobar"));
        assert!(overlaps(b"", b"x"));
        assert!(!overlaps(b"foo", b"bar"));
        assert!(overlaps(b"BAR", b"BARB"));
    }

    #[test]
    fn bcast_batches_skip_own_keys() {
        let mut keys = BTreeMap::new();
        keys.insert(b"a".to_vec(), Some(1));
        keys.insert(b"b".to_vec(), None);
        assert_eq!(bcast_proto(&keys, None).unwrap(), b"*2\r\n$1\r\na\r\n$1\r\nb\r\n");
        assert_eq!(bcast_proto(&keys, Some(1)).unwrap(), b"*1\r\n$1\r\nb\r\n");
        keys.remove(b"b".as_slice());
        assert!(bcast_proto(&keys, Some(1)).is_none());
    }
}
