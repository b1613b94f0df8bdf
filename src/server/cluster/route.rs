//! Which node serves a command: every key of a command (or of a transaction) must
//! hash to one slot, which this node must serve, else the client is redirected.
//! Redis compat: cluster.c getNodeByQuery, clusterRedirectClient,
//! clusterRedirectBlockedClientIfNeeded.
use super::{key_slot, Cluster, NONE};
use crate::cmd::{self, spec};
use crate::server::Server;

/// Why a command is not served here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    CrossSlot,
    /// Keys of a slot being moved are split between the nodes (TRYAGAIN).
    Unstable,
    Ask(u16, u32),
    Moved(u16, u32),
    Down,
    DownReadOnly,
    Unbound,
}

impl Redirect {
    /// The error reply to a client; `plain`: one not on TLS, given the plaintext
    /// port of a TLS cluster. Redis compat: cluster.c clusterRedirectClient.
    pub fn text(&self, cl: &Cluster, plain: bool) -> String {
        let to = |kind: &str, slot: u16, n: u32| match cl.node(n) {
            Some(node) => format!("{kind} {slot} {}:{}", cl.endpoint(node), cl.shown_port(node, plain)),
            None => "CLUSTERDOWN Hash slot not served".to_string(),
        };
        match self {
            Redirect::CrossSlot => "CROSSSLOT Keys in request don't hash to the same slot".into(),
            Redirect::Unstable => "TRYAGAIN Multiple keys request during rehashing of slot".into(),
            Redirect::Down => "CLUSTERDOWN The cluster is down".into(),
            Redirect::DownReadOnly => "CLUSTERDOWN The cluster is down and only accepts read commands".into(),
            Redirect::Unbound => "CLUSTERDOWN Hash slot not served".into(),
            Redirect::Moved(s, n) => to("MOVED", *s, *n),
            Redirect::Ask(s, n) => to("ASK", *s, *n),
        }
    }
}

/// A command to route: its spec and its arguments.
type Routed<'a> = (&'a spec::CommandSpec, Vec<&'a [u8]>);

impl Server {
    /// Routes one command (`argv`, already looked up as `spec`; `write`: whether it
    /// writes, with its script's flags), or EXEC's whole queue. Ok(slot): served
    /// here (None: no keys). Redis compat: getNodeByQuery.
    pub fn cluster_route(
        &mut self,
        cid: usize,
        spec: &spec::CommandSpec,
        argv: &[&[u8]],
        write: bool,
        now_ms: i64,
    ) -> Result<Option<u16>, Redirect> {
        let Some(cl) = self.cluster.as_deref() else {
            return Ok(None);
        };
        let Some(c) = self.clients.get(cid) else {
            return Ok(None);
        };
        let (readonly, asking) = (c.cluster_readonly, c.cluster_asking);
        // The commands to route: EXEC routes its queue.
        let table = cmd::table();
        let (cmds, is_write): (Vec<Routed>, bool) = if spec.name == "exec" {
            let cmds = c
                .multi
                .iter()
                .flat_map(|m| m.queue.iter())
                .filter_map(|q| {
                    let refs: Vec<&[u8]> = q.iter().map(|a| a.as_slice()).collect();
                    Some((*table.lookup_id(&refs).and_then(|i| table.specs.get(i))?, refs))
                })
                .collect();
            (cmds, c.multi.as_ref().is_some_and(|m| m.write))
        } else {
            (vec![(spec, argv.to_vec())], write)
        };
        let mut first_key: Option<&[u8]> = None;
        let mut slot: u16 = 0;
        let mut owner = NONE;
        let (mut migrating, mut importing) = (false, false);
        let (mut missing, mut existing) = (0, 0);
        let mut multiple = false;
        let mut shard_pubsub = false;
        let mut keyed: Vec<Vec<u8>> = Vec::new();
        for (s, refs) in &cmds {
            let positions = s.key_positions(refs);
            if s.flags & spec::PUBSUB != 0 && !positions.is_empty() {
                shard_pubsub = true;
            }
            for p in positions {
                let Some(&key) = refs.get(p) else { continue };
                let ks = key_slot(key);
                match first_key {
                    None => {
                        first_key = Some(key);
                        slot = ks;
                        owner = cl.slots[ks as usize];
                        if owner == NONE {
                            return Err(Redirect::Unbound);
                        }
                        if owner as usize == cl.myself && cl.migrating[ks as usize] != NONE {
                            migrating = true;
                        } else if cl.importing[ks as usize] != NONE {
                            importing = true;
                        }
                    }
                    Some(fk) => {
                        if fk != key {
                            if ks != slot {
                                return Err(Redirect::CrossSlot);
                            }
                            multiple = true;
                        }
                    }
                }
                if (migrating || importing) && s.flags & spec::PUBSUB == 0 {
                    keyed.push(key.to_vec());
                }
            }
        }
        if first_key.is_none() {
            return Ok(None);
        }
        for k in keyed {
            if self.dbs.first_mut().is_some_and(|d| d.exists(&k, now_ms)) {
                existing += 1;
            } else {
                missing += 1;
            }
        }
        let Some(cl) = self.cluster.as_deref() else {
            return Ok(None);
        };
        if !cl.ok {
            if shard_pubsub {
                if !cl.settings.allow_pubsubshard_when_down {
                    return Err(Redirect::Down);
                }
            } else if !cl.settings.allow_reads_when_down {
                return Err(Redirect::Down);
            } else if is_write {
                return Err(Redirect::DownReadOnly);
            }
        }
        if migrating && spec.name == "migrate" {
            return Ok(Some(slot));
        }
        if migrating && missing > 0 {
            if existing > 0 {
                return Err(Redirect::Unstable);
            }
            return Err(Redirect::Ask(slot, cl.migrating[slot as usize]));
        }
        if importing && (asking || spec.flags & spec::ASKING != 0) {
            if multiple && missing > 0 {
                return Err(Redirect::Unstable);
            }
            return Ok(Some(slot));
        }
        let me = cl.me();
        if (readonly || shard_pubsub) && !is_write && me.is_slave() && me.slaveof == Some(owner as usize) {
            return Ok(Some(slot));
        }
        if owner as usize != cl.myself {
            return Err(Redirect::Moved(slot, owner));
        }
        Ok(Some(slot))
    }

    /// Blocked clients whose keys moved away or whose cluster went down get an error
    /// instead of waiting. Redis compat: cluster.c clusterRedirectBlockedClientIfNeeded.
    pub fn cluster_redirect_blocked(&mut self) {
        let Some(cl) = self.cluster.as_deref().filter(|_| self.blocking.count > 0) else {
            return;
        };
        let mut errors = Vec::new();
        for (cid, c) in self.clients.iter() {
            let Some(b) = c.blocked.as_ref() else { continue };
            if b.req.keys.is_empty() {
                continue;
            }
            if !cl.ok {
                errors.push((cid, Redirect::Down.text(cl, c.conn.is_plain())));
                continue;
            }
            // A replica keeps readers (READONLY, not writing: XREAD) of its master's
            // slots.
            for k in &b.req.keys {
                let slot = key_slot(k);
                let owner = cl.slots[slot as usize];
                if owner as usize == cl.myself {
                    continue;
                }
                if owner == NONE {
                    errors.push((cid, Redirect::Unbound.text(cl, c.conn.is_plain())));
                    break;
                }
                let me = cl.me();
                let reading_from_master = c.cluster_readonly
                    && me.is_slave()
                    && me.slaveof == Some(owner as usize)
                    && b.argv.first().is_some_and(|a| a.eq_ignore_ascii_case(b"xread"));
                let importing = cl.importing[slot as usize] != NONE && c.cluster_asking;
                if !reading_from_master && !importing {
                    errors.push((cid, Redirect::Moved(slot, owner).text(cl, c.conn.is_plain())));
                    break;
                }
            }
        }
        for (cid, text) in errors {
            self.unblock_error(cid, &text);
        }
    }
}
