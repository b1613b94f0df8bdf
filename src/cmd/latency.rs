//! SLOWLOG and LATENCY: the slow log, the latency monitor's events and the
//! per-command latency histograms. Redis compat: slowlog.c, latency.c.
use super::error::{CmdError, CmdResult};
use super::keyspace::help;
use super::spec::*;
use super::{table, Args, Ctx};

const G: &str = "server";

fn slowlog_get(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let count = if a.len() == 3 {
        match a.i64(2) {
            Ok(n) if n >= -1 => n,
            _ => return Err(CmdError::new("ERR count should be greater than or equal to -1")),
        }
    } else {
        10
    };
    let log = &ctx.srv.slowlog.entries;
    let n = if count == -1 {
        log.len()
    } else {
        (count as usize).min(log.len())
    };
    let entries: Vec<_> = log
        .iter()
        .take(n)
        .map(|e| {
            (
                e.id,
                e.time_s,
                e.duration_us,
                e.argv.clone(),
                e.peer.clone(),
                e.name.clone(),
            )
        })
        .collect();
    // Redis compat: slowlog.c writes a deferred length.
    ctx.out.mark_deferred();
    ctx.out.array(entries.len());
    for (id, time, dur, argv, peer, name) in entries {
        ctx.out.array(6);
        ctx.out.int(id as i64);
        ctx.out.int(time);
        ctx.out.int(dur as i64);
        ctx.out.array(argv.len());
        for arg in &argv {
            ctx.out.bulk(arg);
        }
        ctx.out.bulk(peer.as_bytes());
        ctx.out.bulk(&name);
    }
    Ok(())
}

fn slowlog_len(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let n = ctx.srv.slowlog.entries.len();
    ctx.out.int(n as i64);
    Ok(())
}

fn slowlog_reset(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    ctx.srv.slowlog.entries.clear();
    ctx.out.ok();
    Ok(())
}

fn slowlog_help(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    help(
        ctx,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
    Ok(())
}

fn latency_latest(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let rows: Vec<(String, i64, u64, u64)> = ctx
        .srv
        .latency
        .events
        .iter()
        .filter_map(|(name, s)| s.samples.back().map(|&(t, v)| (name.clone(), t, v, s.max)))
        .collect();
    ctx.out.array(rows.len());
    for (name, t, v, max) in rows {
        ctx.out.array(4);
        ctx.out.bulk(name.as_bytes());
        ctx.out.int(t);
        ctx.out.int(v as i64);
        ctx.out.int(max as i64);
    }
    Ok(())
}

fn latency_history(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let samples: Vec<(i64, u64)> = ctx
        .srv
        .latency
        .events
        .get(&a.str(2))
        .map(|s| s.samples.iter().copied().collect())
        .unwrap_or_default();
    // Redis compat: latency.c latencyCommandReplyWithSamples writes a deferred length.
    ctx.out.mark_deferred();
    ctx.out.array(samples.len());
    for (t, v) in samples {
        ctx.out.array(2);
        ctx.out.int(t);
        ctx.out.int(v as i64);
    }
    Ok(())
}

fn latency_reset(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let events = &mut ctx.srv.latency.events;
    let n = if a.len() == 2 {
        let n = events.len();
        events.clear();
        n
    } else {
        a.rest(2)
            .iter()
            .filter(|e| events.remove(String::from_utf8_lossy(e).as_ref()).is_some())
            .count()
    };
    ctx.out.int(n as i64);
    Ok(())
}

/// An ASCII chart of an event's samples, oldest left, one column per sample.
fn latency_graph(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let name = a.str(2);
    let Some(s) = ctx.srv.latency.events.get(&name).filter(|s| !s.samples.is_empty()) else {
        return Err(CmdError::owned(format!("ERR No samples available for event '{name}'")));
    };
    let (lo, hi) = s
        .samples
        .iter()
        .fold((u64::MAX, 0), |(lo, hi), &(_, v)| (lo.min(v), hi.max(v)));
    const ROWS: u64 = 8;
    let mut text = format!(
        "{name} - high {hi} ms, low {lo} ms (all time high {} ms)\n{}\n",
        s.max,
        "-".repeat(80)
    );
    for row in (1..=ROWS).rev() {
        let level = lo + (hi - lo) * row / ROWS;
        let line: String = s
            .samples
            .iter()
            .map(|&(_, v)| if v >= level && v > 0 { '#' } else { ' ' })
            .collect();
        text.push_str(line.trim_end());
        text.push('\n');
    }
    let now = crate::clock::now_ms() / 1000;
    let ages: Vec<String> = s.samples.iter().map(|&(t, _)| format!("{}s", now - t)).collect();
    text.push_str(&format!("sample ages, oldest first: {}\n", ages.join(" ")));
    ctx.out.verbatim(text.as_bytes(), "txt");
    Ok(())
}

/// A short report of the events seen and what usually causes them.
fn latency_doctor(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let threshold = ctx.srv.cfg.latency_monitor_threshold;
    let mut text = String::new();
    if threshold == 0 {
        text.push_str("The latency monitor is off: set latency-monitor-threshold to a number of milliseconds to record events slower than that.\n");
    }
    if ctx.srv.latency.events.is_empty() {
        text.push_str("No latency events were recorded.\n");
    }
    for (name, s) in &ctx.srv.latency.events {
        let n = s.samples.len() as u64;
        let avg = s.samples.iter().map(|&(_, v)| v).sum::<u64>() / n.max(1);
        text.push_str(&format!("{name}: {n} samples, average {avg} ms, worst {} ms.\n", s.max));
        let hint = match name.as_str() {
            "command" | "fast-command" => "Slow commands: see SLOWLOG GET for which ones; avoid O(N) commands on big values.",
            "expire-cycle" => "Expiring keys took long: many keys expiring at once, or big values freed in the main thread (consider lazyfree-lazy-expire yes).",
            "eviction-cycle" | "eviction-del" => "Evicting keys took long: big values freed in the main thread (consider lazyfree-lazy-eviction yes).",
            _ => "",
        };
        if !hint.is_empty() {
            text.push_str("  ");
            text.push_str(hint);
            text.push('\n');
        }
    }
    ctx.out.verbatim(text.as_bytes(), "txt");
    Ok(())
}

/// Per command: calls and the cumulative count of calls at or under each power of
/// two of microseconds. Redis compat: latency.c latencySpecificCommandsFillCDF.
fn latency_histogram(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let t = table();
    let wanted: Vec<usize> = if a.len() == 2 {
        (0..t.specs.len()).collect()
    } else {
        let mut ids = Vec::new();
        for name in a.rest(2) {
            let Some(id) = crate::server::acl::lookup_command(name) else {
                continue;
            };
            ids.push(id);
            // A container stands for its subcommands.
            let spec = t.specs[id];
            ids.extend((1..=spec.subcommands.len()).map(|k| id + k));
        }
        ids
    };
    /// (command, calls, [(microseconds, calls at or under)]).
    type Row = (String, u64, Vec<(u64, u64)>);
    let mut rows: Vec<Row> = Vec::new();
    for id in wanted {
        let Some(Some(h)) = ctx.srv.stats.latency.get(id) else {
            continue;
        };
        if h.total() == 0 || rows.iter().any(|r| r.0 == t.names[id]) {
            continue;
        }
        let mut buckets = Vec::new();
        let mut prev = 0;
        let mut us = 1u64;
        while prev < h.total() && us < 1 << 40 {
            let cum = if us >= 1 << 39 {
                h.total()
            } else {
                h.count_below(us * 1024)
            };
            if cum > prev {
                buckets.push((us, cum));
                prev = cum;
            }
            us *= 2;
        }
        rows.push((t.names[id].clone(), h.total(), buckets));
    }
    // Redis compat: latency.c writes the map with a deferred length.
    ctx.out.mark_deferred();
    ctx.out.map(rows.len());
    for (name, calls, buckets) in rows {
        ctx.out.bulk(name.as_bytes());
        ctx.out.map(2);
        ctx.out.bulk(b"calls");
        ctx.out.int(calls as i64);
        ctx.out.bulk(b"histogram_usec");
        ctx.out.map(buckets.len());
        for (us, cum) in buckets {
            ctx.out.int(us as i64);
            ctx.out.int(cum as i64);
        }
    }
    Ok(())
}

fn latency_help(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    help(
        ctx,
        "LATENCY",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
    Ok(())
}

const A: u64 = ADMIN | LOADING | STALE;
const AN: u64 = ADMIN | NOSCRIPT | LOADING | STALE;

const SLOWLOG_SUBS: &[CommandSpec] = &[
    cmd("get", -2, A, 0, slowlog_get)
        .doc(
            G,
            "2.2.12",
            "O(N) where N is the number of entries returned",
            "Returns the slow log's entries.",
        )
        .tips(&["request_policy:all_nodes", "nondeterministic_output"]),
    cmd("len", 2, A, 0, slowlog_len)
        .doc(G, "2.2.12", "O(1)", "Returns the number of entries in the slow log.")
        .tips(&[
            "request_policy:all_nodes",
            "response_policy:agg_sum",
            "nondeterministic_output",
        ]),
    cmd("reset", 2, A, 0, slowlog_reset)
        .doc(
            G,
            "2.2.12",
            "O(N) where N is the number of entries in the slowlog",
            "Clears all entries from the slow log.",
        )
        .tips(TIPS_ALL_NODES_OK),
    cmd("help", 2, LOADING | STALE, 0, slowlog_help).doc(
        G,
        "6.2.0",
        "O(1)",
        "Lists the SLOWLOG subcommands and what each does.",
    ),
];

const LATENCY_SUBS: &[CommandSpec] = &[
    cmd("doctor", 2, AN, 0, latency_doctor).tips(TIPS_NODES_REPORT).doc(
        G,
        "2.8.13",
        "O(1)",
        "Returns a human-readable latency analysis report.",
    ),
    cmd("graph", 3, AN, 0, latency_graph).tips(TIPS_NODES_REPORT).doc(
        G,
        "2.8.13",
        "O(1)",
        "Returns a latency graph for an event.",
    ),
    cmd("help", 2, LOADING | STALE, 0, latency_help).doc(
        G,
        "2.8.13",
        "O(1)",
        "Returns helpful text about the different subcommands.",
    ),
    cmd("histogram", -2, AN, 0, latency_histogram)
        .tips(TIPS_NODES_REPORT)
        .doc(
            G,
            "7.0.0",
            "O(N) where N is the number of commands with latency information being retrieved.",
            "Returns the cumulative distribution of latencies of a subset or all commands.",
        ),
    cmd("history", 3, AN, 0, latency_history).tips(TIPS_NODES_REPORT).doc(
        G,
        "2.8.13",
        "O(1)",
        "Returns timestamp-latency samples for an event.",
    ),
    cmd("latest", 2, AN, 0, latency_latest).tips(TIPS_NODES_REPORT).doc(
        G,
        "2.8.13",
        "O(1)",
        "Returns the latest latency samples for all events.",
    ),
    cmd("reset", -2, AN, 0, latency_reset).tips(TIPS_ALL_NODES_OK).doc(
        G,
        "2.8.13",
        "O(1)",
        "Resets the latency data for one or more events.",
    ),
];

pub const COMMANDS: &[CommandSpec] = &[
    container("slowlog", 0, SLOWLOG_SUBS).doc(
        G,
        "2.2.12",
        "Depends on subcommand.",
        "A container for slow log commands.",
    ),
    container("latency", 0, LATENCY_SUBS).doc(
        G,
        "2.8.13",
        "Depends on subcommand.",
        "A container for latency diagnostics commands.",
    ),
];
