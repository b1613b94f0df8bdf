//! `oom-score-adj`: the kernel's OOM-killer preference for this process, by role
//! (master, replica, background writer), so that under memory pressure a replica or
//! a save child goes before a master. Redis compat: server.c setOOMScoreAdj.
use std::sync::atomic::{AtomicI32, Ordering};

const PROC_FILE: &str = "/proc/self/oom_score_adj";

/// The value the background writer children set for themselves (`i32::MIN`: leave
/// the inherited one).
static CHILD_SCORE: AtomicI32 = AtomicI32::new(i32::MIN);

/// What a writer child started now should set, if anything.
pub fn child_score() -> Option<i32> {
    Some(CHILD_SCORE.load(Ordering::Relaxed)).filter(|&v| v != i32::MIN)
}

fn read_own() -> std::io::Result<i32> {
    let s = std::fs::read_to_string(PROC_FILE)?;
    Ok(crate::util::num::atoi_prefix(s.trim().as_bytes()) as i32)
}

/// Sets this process's score; false (logged) when it could not.
pub fn write_own(v: i32) -> bool {
    match std::fs::write(PROC_FILE, format!("{v}\n")) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("Unable to write oom_score_adj: {}", crate::util::os_err(&e));
            false
        }
    }
}

/// Process roles with their own score (the three `oom-score-adj-values`).
#[derive(Clone, Copy)]
pub enum Class {
    Master = 0,
    Replica = 1,
    Child = 2,
}

impl super::Server {
    /// Applies `oom-score-adj` / `oom-score-adj-values` to this process and to the
    /// writer children started from now on. Turning it off restores the score the
    /// process had before it was first turned on. False (logged) when the score could
    /// not be read or set.
    pub fn oom_adjust(&mut self) -> bool {
        let class = if self.repl.master.is_some() {
            Class::Replica
        } else {
            Class::Master
        };
        // 0: off, 1: relative to the score we started with, 2: absolute.
        let mode = match self.cfg.get("oom-score-adj").unwrap_or_default() {
            "yes" | "relative" => 1,
            "absolute" => 2,
            _ => 0,
        };
        let values: Vec<i32> = self
            .cfg
            .get("oom-score-adj-values")
            .unwrap_or_default()
            .split_whitespace()
            .map(|w| crate::util::num::atoi_prefix(w.as_bytes()) as i32)
            .collect();
        if mode == 0 {
            CHILD_SCORE.store(i32::MIN, Ordering::Relaxed);
            return self.oom_base.take().is_none_or(write_own);
        }
        let base = match self.oom_base {
            Some(b) => b,
            None => match read_own() {
                Ok(b) => {
                    self.oom_base = Some(b);
                    b
                }
                Err(e) => {
                    tracing::warn!("Unable to read oom_score_adj: {}", crate::util::os_err(&e));
                    return false;
                }
            },
        };
        let score = |c: Class| {
            let v = values.get(c as usize).copied().unwrap_or(0);
            let v = if mode == 1 { v.saturating_add(base) } else { v };
            v.clamp(-1000, 1000)
        };
        CHILD_SCORE.store(score(Class::Child), Ordering::Relaxed);
        write_own(score(class))
    }
}
