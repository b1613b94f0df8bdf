//! The active expire cycle: walks each db's TTL index with a cursor and deletes keys
//! whose TTL passed, within a time budget, repeating while a sample shows many stale
//! keys. Redis compat: expire.c activeExpireCycle (slow cycle shape).
use super::Db;

/// Keys examined per sample; a sample with fewer than `STALE_PCT` % expired stops the db.
const SAMPLE: usize = 20;
const STALE_PCT: usize = 10;

/// Result of one cycle, for INFO stats.
#[derive(Default, Debug, Clone, Copy)]
pub struct CycleStats {
    pub sampled: u64,
    pub expired: u64,
    pub timed_out: bool,
}

/// Runs one cycle over `dbs` starting at `*next_db`, until `deadline` (checked with
/// `now_ms_fn` every few samples). `now_ms` is the logical time for TTL comparisons.
pub fn cycle<F: FnMut() -> bool>(dbs: &mut [Db], next_db: &mut usize, now_ms: i64, mut over_budget: F) -> CycleStats {
    let mut st = CycleStats::default();
    let n = dbs.len();
    let mut stale = Vec::new();
    let mut sample = Vec::new();
    for _ in 0..n {
        let idx = *next_db % n.max(1);
        *next_db = (idx + 1) % n.max(1);
        let Some(db) = dbs.get_mut(idx) else { break };
        loop {
            if db.expires_len() == 0 {
                break;
            }
            let mut checked = 0usize;
            let mut ttl_sum = 0i64;
            let mut ttl_n = 0i64;
            stale.clear();
            sample.clear();
            let mut cursor = db.expire_cursor;
            // Visit buckets until SAMPLE keys were seen or the table wrapped.
            let mut steps = 0;
            loop {
                cursor = db.expires_table().scan_step(cursor, |e| sample.push(e.hash()));
                steps += 1;
                if sample.len() >= SAMPLE || cursor == 0 || steps > 1024 {
                    break;
                }
            }
            db.expire_cursor = cursor;
            for &h in &sample {
                db.for_each_ttl_of(h, |o, at| {
                    checked += 1;
                    if at <= now_ms {
                        stale.push(o.key().to_vec());
                    } else {
                        ttl_sum += at - now_ms;
                        ttl_n += 1;
                    }
                });
            }
            for k in &stale {
                db.expire_now(k);
            }
            if ttl_n > 0 {
                let avg = ttl_sum / ttl_n;
                // Running estimate, like Redis: mostly the old value.
                db.avg_ttl = if db.avg_ttl == 0 {
                    avg
                } else {
                    (db.avg_ttl / 50) * 49 + avg / 50
                };
            }
            st.sampled += checked as u64;
            st.expired += stale.len() as u64;
            if over_budget() {
                st.timed_out = true;
                return st;
            }
            if checked == 0 || stale.len() * 100 / checked.max(1) < STALE_PCT {
                break;
            }
        }
    }
    st
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Obj;

    #[test]
    fn removes_all_stale_keys_eventually() {
        let mut dbs = vec![Db::new(0), Db::new(1)];
        for i in 0..1000 {
            let k = format!("k{i}");
            dbs[1].add(Obj::new_str(k.as_bytes(), b"v"), 0);
            dbs[1].set_expire(k.as_bytes(), if i % 2 == 0 { 100 } else { 10_000 });
        }
        let mut next = 0;
        for _ in 0..100 {
            cycle(&mut dbs, &mut next, 200, || false);
        }
        assert_eq!(dbs[1].len(), 500);
        assert_eq!(dbs[1].expired_count, 500);
    }
}
