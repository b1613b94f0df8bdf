//! Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, the PUBSUB
//! introspection container, and MONITOR. State and delivery live in server::pubsub.
use super::error::{CmdError, CmdResult};
use super::keyspace::help;
use super::spec::*;
use super::{Args, Ctx};
use crate::server::pubsub::{Current, Kind};
use crate::util::glob::glob_match;

const G: &str = "pubsub";

fn subscribe_kind(ctx: &mut Ctx, a: &Args, kind: Kind) -> CmdResult {
    ctx.srv.subscribe(ctx.cid, ctx.out, kind, a.rest(1));
    Ok(())
}

fn unsubscribe_kind(ctx: &mut Ctx, a: &Args, kind: Kind) -> CmdResult {
    ctx.srv.unsubscribe(ctx.cid, Some(ctx.out), kind, a.rest(1));
    Ok(())
}

fn subscribe(ctx: &mut Ctx, a: &Args) -> CmdResult {
    subscribe_kind(ctx, a, Kind::Channel)
}

fn psubscribe(ctx: &mut Ctx, a: &Args) -> CmdResult {
    subscribe_kind(ctx, a, Kind::Pattern)
}

/// Redis compat: pubsub.c ssubscribeCommand: unlike SUBSCRIBE, refused inside EXEC
/// (a client that expects one reply per command).
fn ssubscribe(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if ctx.srv.in_exec {
        return Err(CmdError::new("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client"));
    }
    subscribe_kind(ctx, a, Kind::Shard)
}

fn unsubscribe(ctx: &mut Ctx, a: &Args) -> CmdResult {
    unsubscribe_kind(ctx, a, Kind::Channel)
}

fn punsubscribe(ctx: &mut Ctx, a: &Args) -> CmdResult {
    unsubscribe_kind(ctx, a, Kind::Pattern)
}

fn sunsubscribe(ctx: &mut Ctx, a: &Args) -> CmdResult {
    unsubscribe_kind(ctx, a, Kind::Shard)
}

fn publish_generic(ctx: &mut Ctx, a: &Args, shard: bool) -> CmdResult {
    let cur = Current {
        cid: ctx.cid,
        out: &mut *ctx.out,
    };
    let n = ctx.srv.publish(Some(cur), a.at(1), a.at(2), shard);
    ctx.out.int(n as i64);
    // Redis compat: pubsub.c publishCommand: replicas get the message too (not the
    // AOF); in a cluster, the bus carries it to every node (SPUBLISH: to the shard).
    if ctx.srv.cluster.is_some() {
        ctx.srv.cluster_publish(a.at(1), a.at(2), shard);
        ctx.no_propagate();
    } else {
        ctx.propagate_to_replicas();
    }
    Ok(())
}

fn publish(ctx: &mut Ctx, a: &Args) -> CmdResult {
    publish_generic(ctx, a, false)
}

fn spublish(ctx: &mut Ctx, a: &Args) -> CmdResult {
    publish_generic(ctx, a, true)
}

/// PUBSUB CHANNELS / SHARDCHANNELS: active names, optionally matching a pattern.
fn list_channels(ctx: &mut Ctx, a: &Args, shard: bool) -> CmdResult {
    // Redis compat: pubsub.c takes at most one pattern.
    if a.len() > 3 {
        return Err(super::error::subcommand_syntax(a.at(1), "pubsub"));
    }
    let map = if shard {
        &ctx.srv.pubsub.shard
    } else {
        &ctx.srv.pubsub.channels
    };
    let pat = (a.len() > 2).then(|| a.at(2));
    let names: Vec<&Vec<u8>> = map
        .keys()
        .filter(|c| pat.is_none_or(|p| glob_match(p, c, false)))
        .collect();
    // Redis compat: pubsub.c channelList writes a deferred length.
    ctx.out.mark_deferred();
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n);
    }
    Ok(())
}

fn count_subs(ctx: &mut Ctx, a: &Args, shard: bool) -> CmdResult {
    let map = if shard {
        &ctx.srv.pubsub.shard
    } else {
        &ctx.srv.pubsub.channels
    };
    let names = a.rest(2);
    // A flat array in RESP3 too, as Redis 7.0 replies.
    ctx.out.array(2 * names.len());
    for n in names {
        ctx.out.bulk(n);
        ctx.out.int(map.get(*n).map(|v| v.len()).unwrap_or(0) as i64);
    }
    Ok(())
}

fn pubsub_channels(ctx: &mut Ctx, a: &Args) -> CmdResult {
    list_channels(ctx, a, false)
}

fn pubsub_shardchannels(ctx: &mut Ctx, a: &Args) -> CmdResult {
    list_channels(ctx, a, true)
}

fn pubsub_numsub(ctx: &mut Ctx, a: &Args) -> CmdResult {
    count_subs(ctx, a, false)
}

fn pubsub_shardnumsub(ctx: &mut Ctx, a: &Args) -> CmdResult {
    count_subs(ctx, a, true)
}

fn pubsub_numpat(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let n = ctx.srv.pubsub.patterns.len();
    ctx.out.int(n as i64);
    Ok(())
}

fn pubsub_help(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    help(
        ctx,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
    Ok(())
}

fn monitor(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let cid = ctx.cid;
    let Some(c) = ctx.client() else {
        return Ok(());
    };
    // Already monitoring: nothing to do, not even a reply. Redis compat: server.c.
    if c.monitor {
        return Ok(());
    }
    c.monitor = true;
    ctx.srv.monitors.push(cid);
    ctx.out.ok();
    Ok(())
}

const PUBSUB_SUBS: &[CommandSpec] = &[
    cmd("channels", -2, PUBSUB | LOADING | STALE, ACL_PUBSUB, pubsub_channels).doc(
        G,
        "2.8.0",
        "O(N)",
        "Returns the active channels.",
    ),
    cmd("help", 2, LOADING | STALE, 0, pubsub_help).doc(
        G,
        "6.2.0",
        "O(1)",
        "Returns helpful text about the different subcommands.",
    ),
    cmd("numpat", 2, PUBSUB | LOADING | STALE, ACL_PUBSUB, pubsub_numpat).doc(
        G,
        "2.8.0",
        "O(1)",
        "Returns a count of unique pattern subscriptions.",
    ),
    cmd("numsub", -2, PUBSUB | LOADING | STALE, ACL_PUBSUB, pubsub_numsub).doc(
        G,
        "2.8.0",
        "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
        "Returns a count of subscribers to channels.",
    ),
    cmd(
        "shardchannels",
        -2,
        PUBSUB | LOADING | STALE,
        ACL_PUBSUB,
        pubsub_shardchannels,
    )
    .doc(G, "7.0.0", "O(N)", "Returns the active shard channels."),
    cmd(
        "shardnumsub",
        -2,
        PUBSUB | LOADING | STALE,
        ACL_PUBSUB,
        pubsub_shardnumsub,
    )
    .doc(
        G,
        "7.0.0",
        "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
        "Returns the count of subscribers of shard channels.",
    ),
];

const SUBF: u64 = PUBSUB | NOSCRIPT | LOADING | STALE;

pub const COMMANDS: &[CommandSpec] = &[
    cmd("subscribe", -2, SUBF, ACL_PUBSUB, subscribe)
        .doc(G, "2.0.0", "O(N) where N is the number of channels to subscribe to.", "Listens for messages published to channels."),
    cmd("unsubscribe", -1, SUBF, ACL_PUBSUB, unsubscribe)
        .doc(G, "2.0.0", "O(N) where N is the number of clients already subscribed to a channel.", "Stops listening to messages posted to channels."),
    cmd("psubscribe", -2, SUBF, ACL_PUBSUB, psubscribe)
        .doc(G, "2.0.0", "O(N) where N is the number of patterns the client is already subscribed to.", "Listens for messages published to channels that match one or more patterns."),
    cmd("punsubscribe", -1, SUBF, ACL_PUBSUB, punsubscribe)
        .doc(G, "2.0.0", "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).", "Stops listening to messages published to channels that match one or more patterns."),
    cmd("ssubscribe", -2, SUBF, ACL_PUBSUB, ssubscribe)
        .keys(1, -1, 1, KS_NOT_KEY)
        .doc(G, "7.0.0", "O(N) where N is the number of shard channels to subscribe to.", "Listens for messages published to shard channels."),
    cmd("sunsubscribe", -1, SUBF, ACL_PUBSUB, sunsubscribe)
        .keys(1, -1, 1, KS_NOT_KEY)
        .doc(G, "7.0.0", "O(N) where N is the number of clients already subscribed to a shard channel.", "Stops listening to messages posted to shard channels."),
    cmd("publish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, ACL_PUBSUB, publish)
        .doc(G, "2.0.0", "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).", "Posts a message to a channel."),
    cmd("spublish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, ACL_PUBSUB, spublish)
        .keys(1, 1, 1, KS_NOT_KEY)
        .doc(G, "7.0.0", "O(N) where N is the number of clients subscribed to the receiving shard channel.", "Publishes a message to the subscribers of a shard channel."),
    cmd("monitor", 1, ADMIN | NOSCRIPT | LOADING | STALE, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, monitor)
        .doc("server", "1.0.0", "", "Listens for all requests received by the server in real-time."),
    crate::cmd::spec::container("pubsub", 0, PUBSUB_SUBS).doc(G, "2.8.0", "Depends on subcommand.", "A container for Pub/Sub commands."),
];
