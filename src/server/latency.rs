//! The slow log (commands slower than slowlog-log-slower-than) and the latency
//! monitor (events slower than latency-monitor-threshold, one sample per second).
//! Redis compat: slowlog.c, latency.c.
use std::collections::{BTreeMap, VecDeque};

use super::Server;

/// Arguments kept per entry, and bytes per argument. Redis compat: slowlog.h.
const MAX_ARGC: usize = 32;
const MAX_STRING: usize = 128;

pub struct SlowEntry {
    pub id: u64,
    pub time_s: i64,
    pub duration_us: u64,
    pub argv: Vec<Vec<u8>>,
    pub peer: String,
    pub name: Vec<u8>,
}

#[derive(Default)]
pub struct SlowLog {
    pub entries: VecDeque<SlowEntry>,
    pub next_id: u64,
}

/// The arguments an entry keeps: at most 32 (the last says how many more there
/// were), each cut at 128 bytes (saying how many more bytes there were).
fn trimmed(argv: &[&[u8]]) -> Vec<Vec<u8>> {
    let keep = argv.len().min(MAX_ARGC);
    let mut out = Vec::with_capacity(keep);
    for (i, a) in argv.iter().take(keep).enumerate() {
        if i == MAX_ARGC - 1 && argv.len() > MAX_ARGC {
            out.push(format!("... ({} more arguments)", argv.len() - MAX_ARGC + 1).into_bytes());
        } else if a.len() > MAX_STRING {
            let mut v = a[..MAX_STRING].to_vec();
            v.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes());
            out.push(v);
        } else {
            out.push(a.to_vec());
        }
    }
    out
}

/// Samples kept per event. Redis compat: latency.h LATENCY_TS_LEN.
const SERIES_LEN: usize = 160;

#[derive(Default)]
pub struct Series {
    /// (unix seconds, milliseconds), oldest first.
    pub samples: VecDeque<(i64, u64)>,
    pub max: u64,
}

#[derive(Default)]
pub struct LatencyMonitor {
    pub events: BTreeMap<String, Series>,
}

impl LatencyMonitor {
    /// Records `ms` for `event` at `now_s`; samples within one second keep the largest.
    /// Redis compat: latency.c latencyAddSample.
    pub fn add(&mut self, event: &str, now_s: i64, ms: u64) {
        let s = self.events.entry(event.to_string()).or_default();
        s.max = s.max.max(ms);
        match s.samples.back_mut() {
            Some((t, v)) if *t == now_s => *v = (*v).max(ms),
            _ => {
                s.samples.push_back((now_s, ms));
                if s.samples.len() > SERIES_LEN {
                    s.samples.pop_front();
                }
            }
        }
    }
}

impl Server {
    /// Whether a command that took `duration_us` goes to the slow log.
    pub fn slowlog_wants(&self, duration_us: u64) -> bool {
        let slower_than = self.cfg.slowlog_log_slower_than;
        slower_than >= 0 && self.cfg.slowlog_max_len > 0 && duration_us >= slower_than as u64
    }

    /// Logs a command that took `duration_us`, if slow enough. Redis compat: slowlog.c
    /// slowlogPushEntryIfNeeded.
    pub fn slowlog_push(&mut self, cid: usize, argv: &[&[u8]], duration_us: u64) {
        if !self.slowlog_wants(duration_us) {
            return;
        }
        let max_len = self.cfg.slowlog_max_len;
        let (peer, name) = match self.clients.get(cid) {
            Some(c) => (c.peer_id(), c.name.clone().unwrap_or_default()),
            None => (String::new(), Vec::new()),
        };
        let log = &mut self.slowlog;
        log.entries.push_front(SlowEntry {
            id: log.next_id,
            time_s: crate::clock::now_ms() / 1000,
            duration_us,
            argv: trimmed(argv),
            peer,
            name,
        });
        log.next_id += 1;
        log.entries.truncate(max_len);
    }

    /// Records a latency event if the monitor is on and it took at least the
    /// threshold. Redis compat: latency.h latencyAddSampleIfNeeded.
    pub fn latency_sample(&mut self, event: &str, ms: u64) {
        let threshold = self.cfg.latency_monitor_threshold;
        if threshold > 0 && ms >= threshold {
            self.latency.add(event, crate::clock::now_ms() / 1000, ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_32_arguments_of_128_bytes() {
        let many: Vec<Vec<u8>> = (0..40).map(|i| i.to_string().into_bytes()).collect();
        let refs: Vec<&[u8]> = many.iter().map(|v| v.as_slice()).collect();
        let t = trimmed(&refs);
        assert_eq!(t.len(), 32);
        assert_eq!(t[31], b"... (9 more arguments)".to_vec());
        let long = vec![b'A'; 129];
        let t = trimmed(&[b"set", &long]);
        assert_eq!(t[1].len(), 128 + b"... (1 more bytes)".len());
    }

    #[test]
    fn one_sample_per_second_keeps_the_largest() {
        let mut m = LatencyMonitor::default();
        m.add("command", 10, 5);
        m.add("command", 10, 7);
        m.add("command", 10, 6);
        m.add("command", 11, 3);
        let s = &m.events["command"];
        assert_eq!(s.samples, VecDeque::from(vec![(10, 7), (11, 3)]));
        assert_eq!(s.max, 7);
        for t in 0..200 {
            m.add("x", t, 1);
        }
        assert_eq!(m.events["x"].samples.len(), SERIES_LEN);
    }
}
