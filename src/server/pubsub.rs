//! Pub/sub state and delivery: channel, pattern and shard-channel subscriptions (both
//! directions: server maps name -> subscribers in subscription order, each client keeps
//! its own sets), message fan-out into subscribers' output buffers, keyspace
//! notifications, and the output-buffer limits that disconnect slow consumers.
use std::collections::HashMap;

use indexmap::IndexSet;

use super::Server;
use crate::resp::ReplyBuf;
use crate::util::glob::glob_match;

/// The three subscription namespaces.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    pub fn sub_name(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::Shard => b"ssubscribe",
        }
    }

    pub fn unsub_name(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::Shard => b"sunsubscribe",
        }
    }
}

#[derive(Default)]
pub struct PubSub {
    pub channels: HashMap<Vec<u8>, Vec<usize>>,
    pub patterns: HashMap<Vec<u8>, Vec<usize>>,
    pub shard: HashMap<Vec<u8>, Vec<usize>>,
}

impl PubSub {
    fn map(&mut self, k: Kind) -> &mut HashMap<Vec<u8>, Vec<usize>> {
        match k {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }
}

/// One client's subscriptions, and the bytes their names hold (kept as they change: a
/// client is measured after every message it is sent).
#[derive(Default, Debug)]
pub struct Subs {
    pub channels: IndexSet<Vec<u8>>,
    /// In the order subscribed (Redis compat: the client's pubsub_patterns list).
    pub patterns: IndexSet<Vec<u8>>,
    pub shard: IndexSet<Vec<u8>>,
    bytes: usize,
}

/// What one subscription name is counted as: its bytes and its set slot.
fn sub_bytes(name: &[u8]) -> usize {
    name.len() + 40
}

impl Subs {
    /// Bytes held by the subscription names (and their set slots).
    pub fn memory(&self) -> usize {
        self.bytes
    }

    fn set_mut(&mut self, k: Kind) -> &mut IndexSet<Vec<u8>> {
        match k {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    pub fn set(&self, k: Kind) -> &IndexSet<Vec<u8>> {
        match k {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    /// Adds a subscription; false if it was there.
    pub fn insert(&mut self, k: Kind, name: &[u8]) -> bool {
        let added = self.set_mut(k).insert(name.to_vec());
        if added {
            self.bytes += sub_bytes(name);
        }
        added
    }

    /// Drops a subscription; false if there was none. Patterns keep their order unless
    /// `all` (every one of the kind is being dropped: no order left to keep, and each
    /// removal stays O(1)); channel sets have none (Redis keeps them in dicts).
    pub fn remove(&mut self, k: Kind, name: &[u8], all: bool) -> bool {
        let set = self.set_mut(k);
        let removed = if k == Kind::Pattern && !all {
            set.shift_remove(name)
        } else {
            set.swap_remove(name)
        };
        if removed {
            self.bytes = self.bytes.saturating_sub(sub_bytes(name));
        }
        removed
    }

    /// The count a (un)subscribe confirmation carries: shard subscriptions are
    /// counted apart from the others. Redis compat: pubsub.c.
    pub fn count(&self, k: Kind) -> usize {
        match k {
            Kind::Shard => self.shard.len(),
            _ => self.channels.len() + self.patterns.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty() && self.shard.is_empty()
    }
}

pub use crate::config::notify::*;

/// The class of a keyspace event, by its name (each name belongs to one class).
pub fn event_class(event: &str) -> u32 {
    match event {
        "del" | "rename_from" | "rename_to" | "move_from" | "move_to" | "copy_to" | "expire" | "persist"
        | "restore" => NOTIFY_GENERIC,
        "expired" => NOTIFY_EXPIRED,
        "evicted" => NOTIFY_EVICTED,
        "new" => NOTIFY_NEW,
        "keymiss" => NOTIFY_KEY_MISS,
        "sortstore" => NOTIFY_LIST,
        _ if event.starts_with('x') => NOTIFY_STREAM,
        _ if event.starts_with('h') => NOTIFY_HASH,
        _ if event.starts_with('z') || event.starts_with("geo") => NOTIFY_ZSET,
        _ if event.starts_with('s') && !event.starts_with("set") => NOTIFY_SET,
        "lpush" | "rpush" | "lpop" | "rpop" | "linsert" | "lset" | "lrem" | "ltrim" | "lmove" | "blmove" => NOTIFY_LIST,
        _ => NOTIFY_STRING,
    }
}

/// Where a message for the client running the current command goes: its detached
/// reply buffer, so the message keeps its place among that client's replies.
pub struct Current<'a> {
    pub cid: usize,
    pub out: &'a mut ReplyBuf,
}

impl Current<'_> {
    /// A shorter-lived copy, to pass on while keeping this one.
    pub fn reborrow(&mut self) -> Current<'_> {
        Current {
            cid: self.cid,
            out: &mut *self.out,
        }
    }
}

/// The output-buffer limits of a client's class: replica, pubsub (subscribed
/// clients) or normal (MONITOR clients and the master link too).
/// Redis compat: networking.c getClientType, checkClientOutputBufferLimits.
pub fn obuf_limit(cfg: &crate::config::Config, c: &super::Client) -> crate::config::ObufLimit {
    obuf_limit_as(cfg, c, c.subs.is_some())
}

/// `obuf_limit`, the client taken as subscribed or not.
fn obuf_limit_as(cfg: &crate::config::Config, c: &super::Client, subscribed: bool) -> crate::config::ObufLimit {
    let class = if c.replica.is_some() {
        1
    } else if subscribed {
        2
    } else {
        0
    };
    cfg.obuf_limits.get(class).copied().unwrap_or_default()
}

/// Encodes a pub/sub message (RESP2 array or RESP3 push).
fn encode(resp3: bool, parts: &[&[u8]]) -> ReplyBuf {
    let mut b = ReplyBuf::new();
    b.resp3 = resp3;
    if resp3 {
        b.push(parts.len());
    } else {
        b.array(parts.len());
    }
    for p in parts {
        b.bulk(p);
    }
    b
}

impl Server {
    /// Appends `bytes` to a client's output, scheduling a write and enforcing its
    /// output buffer limits.
    ///
    /// Pub/sub messages and invalidations (`push`) get through CLIENT REPLY OFF; MONITOR
    /// lines do not. Redis compat: networking.c prepareClientToWrite, CLIENT_PUSHING.
    pub(super) fn deliver(&mut self, cur: &mut Option<Current<'_>>, cid: usize, msg2: &[u8], msg3: &[u8], push: bool) {
        // A client told to close after its reply gets nothing more (Redis compat:
        // networking.c _addReplyToBufferOrList), and one with replies off no MONITOR
        // line, the one of the command that switched them off included.
        let Some(c) = self.clients.get(cid) else {
            return;
        };
        if c.close_after_reply || (!push && c.reply_mode == super::client::ReplyMode::Off) {
            return;
        }
        if let Some(c) = cur.as_mut().filter(|c| c.cid == cid) {
            let from = c.out.len();
            let m = if c.out.resp3 { msg3 } else { msg2 };
            c.out.raw(m);
            if push {
                c.out.mark_push(from);
            }
            return;
        }
        let Some(c) = self.clients.get_mut(cid) else {
            return;
        };
        if c.close_asap {
            return;
        }
        let m = if c.resp3 { msg3 } else { msg2 };
        // Past the hard limit the client is dropped anyway: do not grow its buffer (a
        // single big buffer would briefly need twice its size to grow).
        let hard = obuf_limit(&self.cfg, c).hard;
        // Its counted output once the message is in (the same after `push_output`).
        let used = c.obuf_counted(c.pending_output() + m.len());
        if hard > 0 && used > c.obuf_seen && used as u64 > hard {
            tracing::warn!(
                "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
                c.info_line(crate::clock::now_ms())
            );
            self.close_client_async(cid);
            return;
        }
        c.push_output(m);
        if !c.pending_write {
            c.pending_write = true;
            self.pending_writes.push(cid);
        }
        if c.replica.is_none() {
            self.check_obuf_grown(cid, used, crate::clock::now_ms(), None);
        } else {
            self.check_obuf_limits(cid, crate::clock::now_ms());
        }
        // Redis compat: pubsub.c updateClientMemUsageAndBucket after each message.
        self.update_client_mem(cid);
    }

    /// Disconnects a client whose pending output passed its class's hard limit, or its
    /// soft limit for longer than the allowed seconds. Redis compat: networking.c
    /// checkClientOutputBufferLimits (the pubsub class for subscribed clients).
    pub fn check_obuf_limits(&mut self, cid: usize, now_ms: i64) -> bool {
        let Some(c) = self.clients.get(cid) else {
            return false;
        };
        let held = self.repl_held(c);
        let used = c.obuf_counted(c.pending_output()) + held;
        if let Some(c) = self.clients.get_mut(cid) {
            c.repl_held = held;
        }
        self.check_obuf_used(cid, used as u64, now_ms, None)
    }

    /// `check_obuf_used`, when the counted output grew since last looked at: Redis
    /// checks a client's limits as it takes a new reply block (and in its cron), so
    /// output that fits the blocks it holds is let through even after its class
    /// changed (a client that subscribed with a reply pending, say). Redis compat:
    /// networking.c _addReplyProtoToList, setDeferredReply.
    /// `subscribed_as` judges the client in the class it had before the command that
    /// made the output (a (P|S)SUBSCRIBE's or UNSUBSCRIBE's own replies are judged in the
    /// class the client had: Redis changes it once they are all added).
    pub fn check_obuf_grown(&mut self, cid: usize, used: usize, now_ms: i64, subscribed_as: Option<bool>) -> bool {
        let Some(c) = self.clients.get_mut(cid) else {
            return false;
        };
        let grown = used > c.obuf_seen;
        c.obuf_seen = used;
        grown && self.check_obuf_used(cid, used as u64, now_ms, subscribed_as)
    }

    /// `check_obuf_limits` with the counted output size given (a client whose reply
    /// buffer is out while its command runs). A client dropped this way gets nothing
    /// more: what it had pending is discarded, not flushed.
    pub fn check_obuf_used(&mut self, cid: usize, used: u64, now_ms: i64, subscribed_as: Option<bool>) -> bool {
        let Some(c) = self.clients.get_mut(cid) else {
            return false;
        };
        let mut lim = obuf_limit_as(&self.cfg, c, subscribed_as.unwrap_or(c.subs.is_some()));
        // A replica's hard limit is never under the backlog size: what a partial
        // resync sends may be that much, and it shares the backlog's memory anyway.
        // Redis compat: networking.c checkClientOutputBufferLimits.
        if c.replica.is_some() && lim.hard > 0 {
            lim.hard = lim.hard.max(self.cfg.repl.backlog_size as u64);
        }
        let hard = lim.hard > 0 && used >= lim.hard;
        let mut soft = false;
        if lim.soft > 0 && used >= lim.soft {
            let since = *c.obuf_soft_since.get_or_insert(now_ms);
            soft = now_ms - since > lim.soft_secs as i64 * 1000;
        } else {
            c.obuf_soft_since = None;
        }
        if !(hard || soft) || c.close_asap {
            return false;
        }
        tracing::warn!(
            "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
            c.info_line(now_ms)
        );
        c.drop_output = true;
        self.close_client_async(cid);
        true
    }

    /// Shows a command that ran to the MONITOR clients: `+<time> [<db> <addr>] "arg" ...`.
    /// Redis compat: replication.c replicationFeedMonitors.
    pub fn feed_monitors(&mut self, mut cur: Option<Current<'_>>, cid: usize, db: usize, argv: &[&[u8]]) {
        let Some(c) = self.clients.get(cid) else {
            return;
        };
        let us = crate::clock::now_us();
        let mut line = format!("+{}.{:06} [{db} ", us / 1_000_000, us % 1_000_000).into_bytes();
        if c.unix {
            line.extend_from_slice(b"unix:");
            line.extend_from_slice(self.cfg.unixsocket.as_bytes());
        } else {
            line.extend_from_slice(c.addr.as_bytes());
        }
        line.extend_from_slice(b"] ");
        for (i, a) in argv.iter().enumerate() {
            if i > 0 {
                line.push(b' ');
            }
            crate::util::repr::cat_repr(&mut line, a);
        }
        line.extend_from_slice(b"\r\n");
        for m in self.monitors.clone() {
            self.deliver(&mut cur, m, &line, &line, false);
        }
    }

    /// Publishes to a channel (or shard channel): returns the number of receivers.
    pub fn publish(&mut self, mut cur: Option<Current<'_>>, channel: &[u8], msg: &[u8], shard: bool) -> usize {
        let mut n = 0;
        let (map, name): (&HashMap<Vec<u8>, Vec<usize>>, &[u8]) = if shard {
            (&self.pubsub.shard, b"smessage")
        } else {
            (&self.pubsub.channels, b"message")
        };
        if let Some(subs) = map.get(channel) {
            let subs = subs.clone();
            let m2 = encode(false, &[name, channel, msg]).buf;
            let m3 = encode(true, &[name, channel, msg]).buf;
            for cid in subs {
                self.deliver(&mut cur, cid, &m2, &m3, true);
                n += 1;
            }
        }
        if shard || self.pubsub.patterns.is_empty() {
            return n;
        }
        let matching: Vec<(Vec<u8>, Vec<usize>)> = self
            .pubsub
            .patterns
            .iter()
            .filter(|(p, _)| glob_match(p, channel, false))
            .map(|(p, c)| (p.clone(), c.clone()))
            .collect();
        for (pat, cids) in matching {
            let m2 = encode(false, &[b"pmessage", &pat, channel, msg]).buf;
            let m3 = encode(true, &[b"pmessage", &pat, channel, msg]).buf;
            for cid in cids {
                self.deliver(&mut cur, cid, &m2, &m3, true);
                n += 1;
            }
        }
        n
    }

    /// Sends keyspace/keyevent notifications for `event` on `key` of `db` when the
    /// configuration asks for its class. What the running command's own connection
    /// gets waits for the command's reply once the command asked for that (see
    /// `Ctx::hold_own_events`); `notify_now` always sends at once.
    pub fn notify(&mut self, cur: Option<Current<'_>>, class: u32, event: &str, key: &[u8], db: usize) {
        if self.cfg.notify_flags & class == 0 {
            return;
        }
        let mut held = self.own_events.take();
        let cur = match (cur, held.as_mut()) {
            (Some(c), Some(h)) => Some(Current { cid: c.cid, out: h }),
            (c, _) => c,
        };
        self.notify_now(cur, class, event, key, db);
        if held.is_some() {
            self.own_events = held;
        }
    }

    /// `notify` without holding anything back: events that Redis sends where they
    /// happen, before the reply (keys found expired or missing, keys created).
    /// Redis compat: notify.c.
    pub fn notify_now(&mut self, cur: Option<Current<'_>>, class: u32, event: &str, key: &[u8], db: usize) {
        let flags = self.cfg.notify_flags;
        if flags & class == 0 {
            return;
        }
        let mut cur = cur;
        if flags & NOTIFY_KEYSPACE != 0 {
            let mut ch = format!("__keyspace@{db}__:").into_bytes();
            ch.extend_from_slice(key);
            self.publish(cur.as_mut().map(Current::reborrow), &ch, event.as_bytes(), false);
        }
        if flags & NOTIFY_KEYEVENT != 0 {
            let ch = format!("__keyevent@{db}__:{event}").into_bytes();
            self.publish(cur, &ch, key, false);
        }
    }

    /// Notifies the expired/new keys the dbs recorded since the last call.
    pub fn drain_db_events(&mut self, mut cur: Option<Current<'_>>) {
        for db in 0..self.dbs.len() {
            let Some(d) = self.dbs.get_mut(db) else {
                continue;
            };
            if d.events.is_empty() {
                continue;
            }
            let evs = std::mem::take(&mut d.events);
            for (ev, key) in evs {
                let (class, name) = match ev {
                    crate::db::DbEvent::Expired => {
                        self.signal_modified_key(db, &key, None);
                        (NOTIFY_EXPIRED, "expired")
                    }
                    crate::db::DbEvent::New => (NOTIFY_NEW, "new"),
                };
                self.notify_now(cur.as_mut().map(Current::reborrow), class, name, &key, db);
            }
        }
    }

    /// Makes the dbs record expired/new keys exactly while someone needs them
    /// (notifications for those classes, or WATCHed keys that may expire). Cheap when
    /// nothing changed; called after every command and cron tick.
    pub fn sync_db_event_collection(&mut self) {
        let f = self.cfg.notify_flags;
        let on = f & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT) != 0;
        let want = (
            (on && f & NOTIFY_EXPIRED != 0) || !self.watched.is_empty() || self.tracking.clients > 0,
            on && f & NOTIFY_NEW != 0,
        );
        if want == self.db_events {
            return;
        }
        self.db_events = want;
        for d in &mut self.dbs {
            d.collect_expired = want.0;
            d.collect_new = want.1;
            if !want.0 && !want.1 {
                d.events.clear();
            }
        }
    }

    /// After a command or cron tick: announces what the dbs recorded.
    pub fn after_writes(&mut self, cur: Option<Current<'_>>) {
        self.sync_access_mode();
        if self.db_events != (false, false) {
            self.drain_db_events(cur);
        }
        self.sync_db_event_collection();
    }

    /// Subscribes a client; replies one confirmation per name.
    pub fn subscribe(&mut self, cid: usize, out: &mut ReplyBuf, kind: Kind, names: &[&[u8]]) {
        for name in names {
            let Some(c) = self.clients.get_mut(cid) else {
                return;
            };
            let subs = c.subs.get_or_insert_with(Default::default);
            if subs.insert(kind, name) {
                self.pubsub.map(kind).entry(name.to_vec()).or_default().push(cid);
            }
            let count = subs.count(kind);
            confirm(out, kind.sub_name(), Some(name), count);
        }
    }

    /// Unsubscribes a client from `names` (all of that kind when empty); replies one
    /// confirmation per name, or one with a null name when there was nothing to drop.
    pub fn unsubscribe(&mut self, cid: usize, out: Option<&mut ReplyBuf>, kind: Kind, names: &[&[u8]]) {
        let Some(c) = self.clients.get_mut(cid) else {
            return;
        };
        let list: Vec<Vec<u8>> = if names.is_empty() {
            c.subs
                .as_ref()
                .map(|s| s.set(kind).iter().cloned().collect())
                .unwrap_or_default()
        } else {
            names.iter().map(|n| n.to_vec()).collect()
        };
        let mut out = out;
        if list.is_empty() {
            if let Some(o) = out.as_mut() {
                let count = c.subs.as_ref().map(|s| s.count(kind)).unwrap_or(0);
                confirm(o, kind.unsub_name(), None, count);
            }
        }
        for name in list {
            let removed = self
                .clients
                .get_mut(cid)
                .and_then(|c| c.subs.as_mut())
                .is_some_and(|s| s.remove(kind, &name, names.is_empty()));
            if removed {
                let map = self.pubsub.map(kind);
                if let Some(v) = map.get_mut(&name) {
                    v.retain(|&x| x != cid);
                    if v.is_empty() {
                        map.remove(&name);
                    }
                }
            }
            let Some(c) = self.clients.get_mut(cid) else {
                return;
            };
            let count = c.subs.as_ref().map(|s| s.count(kind)).unwrap_or(0);
            if c.subs.as_ref().is_some_and(|s| s.is_empty()) {
                c.subs = None;
            }
            if let Some(o) = out.as_mut() {
                confirm(o, kind.unsub_name(), Some(&name), count);
            }
        }
    }

    /// Unsubscribes everyone from the shard channels of `slots` (slots our shard no
    /// longer serves), telling each client. Redis compat: cluster.c
    /// removeChannelsInSlot, pubsub.c pubsubUnsubscribeShardChannels.
    pub fn drop_shard_channels_in_slots(&mut self, slots: &[u16]) {
        if self.pubsub.shard.is_empty() || slots.is_empty() {
            return;
        }
        let gone: Vec<Vec<u8>> = self
            .pubsub
            .shard
            .keys()
            .filter(|c| slots.contains(&crate::util::slot::key_slot(c)))
            .cloned()
            .collect();
        for name in gone {
            for cid in self.pubsub.shard.get(&name).cloned().unwrap_or_default() {
                self.unsubscribe(cid, None, Kind::Shard, &[&name]);
                let count = self
                    .clients
                    .get(cid)
                    .and_then(|c| c.subs.as_ref())
                    .map_or(0, |s| s.count(Kind::Shard));
                let (mut b2, mut b3) = (ReplyBuf::new(), ReplyBuf::new());
                b3.resp3 = true;
                confirm(&mut b2, Kind::Shard.unsub_name(), Some(&name), count);
                confirm(&mut b3, Kind::Shard.unsub_name(), Some(&name), count);
                self.deliver(&mut None, cid, &b2.buf, &b3.buf, true);
            }
        }
    }

    /// Drops every subscription of a client (disconnect, RESET).
    pub fn unsubscribe_all(&mut self, cid: usize) {
        if self.clients.get(cid).is_some_and(|c| c.subs.is_some()) {
            for k in [Kind::Channel, Kind::Pattern, Kind::Shard] {
                self.unsubscribe(cid, None, k, &[]);
            }
        }
        if let Some(c) = self.clients.get_mut(cid) {
            c.subs = None;
        }
    }
}

/// A (un)subscribe confirmation: [kind, name or null, count], pushed in RESP3; like
/// messages it gets through CLIENT REPLY OFF.
fn confirm(out: &mut ReplyBuf, what: &[u8], name: Option<&[u8]>, count: usize) {
    let from = out.len();
    if out.resp3 {
        out.push(3);
    } else {
        out.array(3);
    }
    out.bulk(what);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(count as i64);
    out.mark_push(from);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_classes() {
        assert_eq!(event_class("set"), NOTIFY_STRING);
        assert_eq!(event_class("setrange"), NOTIFY_STRING);
        assert_eq!(event_class("sadd"), NOTIFY_SET);
        assert_eq!(event_class("sinterstore"), NOTIFY_SET);
        assert_eq!(event_class("hset"), NOTIFY_HASH);
        assert_eq!(event_class("zadd"), NOTIFY_ZSET);
        assert_eq!(event_class("georadiusstore"), NOTIFY_ZSET);
        assert_eq!(event_class("lpush"), NOTIFY_LIST);
        assert_eq!(event_class("del"), NOTIFY_GENERIC);
        assert_eq!(event_class("expired"), NOTIFY_EXPIRED);
        assert_eq!(event_class("xadd"), NOTIFY_STREAM);
        assert_eq!(event_class("incrby"), NOTIFY_STRING);
        assert_eq!(event_class("pfadd"), NOTIFY_STRING);
    }

    #[test]
    fn flags() {
        assert_eq!(parse_flags("KEA") & NOTIFY_NEW, 0);
        assert_ne!(parse_flags("KEA") & NOTIFY_EXPIRED, 0);
        assert_eq!(parse_flags("Kl"), NOTIFY_KEYSPACE | NOTIFY_LIST);
    }
}
