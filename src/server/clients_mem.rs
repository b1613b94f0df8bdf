//! `maxmemory-clients`: the memory all evictable clients hold together is kept under a
//! limit by disconnecting the biggest ones. Each client's last counted size is kept so
//! the total is updated in O(1) when one client changes; only going over the limit
//! scans for the biggest. Nothing is counted while the limit is 0.
//! Redis compat: networking.c (updateClientMemUsage, evictClients, getClientMemoryUsage).
use super::Server;
use crate::clock;

impl Server {
    /// The limit in bytes (0: off): an absolute size, or a percentage of maxmemory,
    /// never under 128 KB, so that a tiny setting cannot cut every client off.
    /// Redis compat: networking.c getClientEvictionLimit.
    pub fn maxmemory_clients(&self) -> u64 {
        let v = self.cfg.get("maxmemory-clients").unwrap_or("0");
        let limit = match v.strip_suffix('%') {
            Some(p) => self.cfg.maxmemory * p.parse::<u64>().unwrap_or(0) / 100,
            None => v.parse().unwrap_or(0),
        };
        if limit == 0 {
            0
        } else {
            limit.max(128 * 1024)
        }
    }

    /// Re-measures one client after it ran commands or its buffers changed.
    pub fn update_client_mem(&mut self, cid: usize) {
        self.update_client_mem_with(cid, None);
    }

    /// Before a client's next command: re-measures it with the output its commands
    /// wrote so far (`out`, detached while they run), and evicts clients over the
    /// limit. False if the client itself was evicted: the command must not run.
    /// Redis compat: networking.c processCommandAndResetClient (its memory after each
    /// command), server.c processCommand (evictClients before key eviction).
    pub fn evict_clients_before_command(&mut self, cid: usize, out: &crate::resp::ReplyBuf) -> bool {
        if self.clients_mem.limit == 0 {
            return true;
        }
        self.update_client_mem_with(cid, Some(out));
        self.evict_clients();
        self.clients.get(cid).is_some_and(|c| !c.close_asap)
    }

    /// `update_client_mem`, with the output of its running commands held outside it.
    /// While its commands run (its query buffer is out too), only its output is
    /// measured again: the rest is as last measured, and costs nothing to count
    /// before each command of a batch.
    fn update_client_mem_with(&mut self, cid: usize, out: Option<&crate::resp::ReplyBuf>) {
        if self.clients_mem.limit == 0 {
            return;
        }
        let Some(c) = self.clients.get_mut(cid) else {
            return;
        };
        let now = if c.no_evict || c.close_asap || !c.evictable() {
            0
        } else if c.executing || out.is_some() {
            c.mem_static + c.output_memory() + out.map_or(0, |o| o.memory())
        } else {
            let m = c.memory();
            c.mem_static = m.saturating_sub(c.output_memory());
            m
        };
        self.clients_mem.total = self.clients_mem.total + now - c.mem_counted.min(self.clients_mem.total);
        c.mem_counted = now;
    }

    /// A client is going away: its memory no longer counts.
    pub fn forget_client_mem(&mut self, cid: usize) {
        if let Some(c) = self.clients.get_mut(cid) {
            self.clients_mem.total = self.clients_mem.total.saturating_sub(c.mem_counted);
            c.mem_counted = 0;
        }
    }

    /// Takes the limit from the config and re-measures every client (config changes,
    /// and cron, which also corrects drift from changes made by other clients).
    pub fn recount_clients_mem(&mut self) {
        let limit = self.maxmemory_clients();
        // Off before and after: nothing is counted, nothing to redo.
        if limit == 0 && self.clients_mem.limit == 0 {
            return;
        }
        self.clients_mem.limit = limit;
        let mut total = 0;
        for (_, c) in self.clients.iter_mut() {
            c.mem_counted = if limit == 0 || c.no_evict || c.close_asap || c.is_internal() || !c.evictable() {
                0
            } else {
                c.memory()
            };
            total += c.mem_counted;
        }
        self.clients_mem.total = total;
    }

    /// Disconnects the biggest evictable clients until the total is under the limit.
    pub fn evict_clients(&mut self) {
        let limit = self.clients_mem.limit;
        while limit > 0 && self.clients_mem.total as u64 > limit {
            let Some((cid, _)) = self
                .clients
                .iter()
                .filter(|(_, c)| c.mem_counted > 0)
                .max_by_key(|(_, c)| c.mem_counted)
            else {
                break;
            };
            if let Some(c) = self.clients.get_mut(cid) {
                tracing::debug!("Evicting client: {}", c.info_line(clock::now_ms()));
                c.discard_buffers();
            }
            self.forget_client_mem(cid);
            self.stats.evicted_clients += 1;
            self.close_client_async(cid);
        }
    }
}

/// The running total and the limit it is checked against.
#[derive(Default, Debug)]
pub struct ClientsMem {
    pub total: usize,
    pub limit: u64,
}
