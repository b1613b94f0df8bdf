//! Cluster commands: CLUSTER (every 7.0 subcommand), READONLY, READWRITE and ASKING.
//! Without `cluster-enabled` each answers that cluster support is disabled.
//! Redis compat: cluster.c clusterCommand, readonlyCommand, askingCommand.
use super::error::{CmdError, CmdResult};
use super::spec::*;
use super::{Args, Ctx};
use crate::server::cluster::{self as cl, msg, Cluster, NONE, SLOTS};
use crate::util::num;

const G: &str = "cluster";

fn disabled() -> CmdError {
    CmdError::new("ERR This instance has cluster support disabled")
}

fn state<'a>(ctx: &'a mut Ctx) -> Result<&'a mut Cluster, CmdError> {
    ctx.srv.cluster.as_deref_mut().ok_or_else(disabled)
}

fn wrong_args(a: &Args) -> CmdError {
    CmdError::owned(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLUSTER HELP.",
        a.str(1)
    ))
}

/// A slot number argument. Redis compat: cluster.c getSlotOrReply.
fn slot_arg(a: &Args, i: usize) -> Result<usize, CmdError> {
    num::parse_i64(a.at(i))
        .filter(|s| (0..SLOTS as i64).contains(s))
        .map(|s| s as usize)
        .ok_or(CmdError::new("ERR Invalid or out of range slot"))
}

fn node_arg(c: &Cluster, a: &Args, i: usize, what: &str) -> Result<usize, CmdError> {
    c.lookup(a.at(i))
        .ok_or_else(|| CmdError::owned(format!("ERR {what} {}", a.str(i))))
}

fn db0_len(ctx: &Ctx) -> usize {
    ctx.srv.dbs.first().map_or(0, |d| d.len())
}

fn help(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    state(ctx)?;
    super::keyspace::help(
        ctx,
        "CLUSTER",
        &[
            "ADDSLOTS <slot> [<slot> ...]",
            "    Assign slots to current node.",
            "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
            "    Assign slots which are between <start-slot> and <end-slot> to current node.",
            "BUMPEPOCH",
            "    Advance the cluster config epoch.",
            "COUNT-FAILURE-REPORTS <node-id>",
            "    Return number of failure reports for <node-id>.",
            "COUNTKEYSINSLOT <slot>",
            "    Return the number of keys in <slot>.",
            "DELSLOTS <slot> [<slot> ...]",
            "    Delete slots information from current node.",
            "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
            "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
            "FAILOVER [FORCE|TAKEOVER]",
            "    Promote current replica node to being a master.",
            "FORGET <node-id>",
            "    Remove a node from the cluster.",
            "GETKEYSINSLOT <slot> <count>",
            "    Return key names stored by current node in a slot.",
            "FLUSHSLOTS",
            "    Delete current node own slots information.",
            "INFO",
            "    Return information about the cluster.",
            "KEYSLOT <key>",
            "    Return the hash slot for <key>.",
            "MEET <ip> <port> [<bus-port>]",
            "    Connect nodes into a working cluster.",
            "MYID",
            "    Return the node id.",
            "NODES",
            "    Return cluster configuration seen by node. Output format:",
            "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
            "REPLICATE <node-id>",
            "    Configure current node as replica to <node-id>.",
            "RESET [HARD|SOFT]",
            "    Reset current node (default: soft).",
            "SET-CONFIG-EPOCH <epoch>",
            "    Set config epoch of current node.",
            "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
            "    Set slot state.",
            "REPLICAS <node-id>",
            "    Return <node-id> replicas.",
            "SAVECONFIG",
            "    Force saving cluster configuration on disk.",
            "SLOTS",
            "    Return information about slots range mappings. Each range is made of:",
            "    start, end, master and replicas IP addresses, ports and ids",
            "SHARDS",
            "    Return information about slot range mappings and the nodes associated with them.",
            "LINKS",
            "    Return information about all network links between this node and its peers.",
            "    Output format is an array where each array element is a map containing attributes of a link",
        ],
    );
    Ok(())
}

/// ADDSLOTS / DELSLOTS and their RANGE forms: every slot is checked before any
/// changes. Redis compat: cluster.c checkSlotAssignmentsOrReply, clusterUpdateSlots.
fn update_slots(ctx: &mut Ctx, a: &Args, del: bool, ranges: bool) -> CmdResult {
    state(ctx)?;
    let mut pairs = Vec::new();
    if ranges {
        if a.len() % 2 == 1 {
            return Err(super::error::arity(&format!(
                "cluster|{}",
                a.str(1).to_ascii_lowercase()
            )));
        }
        let mut j = 2;
        while j + 1 < a.len() {
            let s = slot_arg(a, j)?;
            let e = slot_arg(a, j + 1)?;
            if s > e {
                return Err(CmdError::owned(format!(
                    "ERR start slot number {s} is greater than end slot number {e}"
                )));
            }
            pairs.push((s, e));
            j += 2;
        }
    } else {
        for j in 2..a.len() {
            slot_arg(a, j)?;
        }
        for j in 2..a.len() {
            let s = slot_arg(a, j)?;
            pairs.push((s, s));
        }
    }
    let c = state(ctx)?;
    let mut seen = vec![false; SLOTS];
    for (s, e) in pairs {
        for (j, seen) in seen.iter_mut().enumerate().take(e + 1).skip(s) {
            if del && c.slots[j] == NONE {
                return Err(CmdError::owned(format!("ERR Slot {j} is already unassigned")));
            } else if !del && c.slots[j] != NONE {
                return Err(CmdError::owned(format!("ERR Slot {j} is already busy")));
            }
            if std::mem::replace(seen, true) {
                return Err(CmdError::owned(format!("ERR Slot {j} specified multiple times")));
            }
        }
    }
    let me = c.myself;
    for (j, on) in seen.iter().enumerate() {
        if !on {
            continue;
        }
        c.importing[j] = NONE;
        if del {
            c.del_slot(j);
        } else {
            c.add_slot(me, j);
        }
    }
    c.do_before_sleep(cl::TODO_UPDATE_STATE | cl::TODO_SAVE_CONFIG);
    ctx.out.ok();
    Ok(())
}

fn addslots(ctx: &mut Ctx, a: &Args) -> CmdResult {
    update_slots(ctx, a, false, false)
}

fn delslots(ctx: &mut Ctx, a: &Args) -> CmdResult {
    update_slots(ctx, a, true, false)
}

fn addslotsrange(ctx: &mut Ctx, a: &Args) -> CmdResult {
    update_slots(ctx, a, false, true)
}

fn delslotsrange(ctx: &mut Ctx, a: &Args) -> CmdResult {
    update_slots(ctx, a, true, true)
}

fn bumpepoch(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let c = state(ctx)?;
    let bumped = c.bump_epoch_without_consensus();
    let e = c.me().config_epoch;
    ctx.out
        .simple(&format!("{} {e}", if bumped { "BUMPED" } else { "STILL" }));
    Ok(())
}

fn count_failure_reports(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let now = ctx.now_ms;
    let c = state(ctx)?;
    let n = node_arg(c, a, 2, "Unknown node")?;
    let k = c.failure_reports(n, now);
    ctx.out.int(k as i64);
    Ok(())
}

fn countkeysinslot(ctx: &mut Ctx, a: &Args) -> CmdResult {
    state(ctx)?;
    let slot = a.i64(2)?;
    if !(0..SLOTS as i64).contains(&slot) {
        return Err(CmdError::new("ERR Invalid slot"));
    }
    let n = ctx.srv.cluster_count_keys_in_slot(slot as u16);
    ctx.out.int(n as i64);
    Ok(())
}

fn getkeysinslot(ctx: &mut Ctx, a: &Args) -> CmdResult {
    state(ctx)?;
    let slot = a.i64(2)?;
    let max = a.i64(3)?;
    if !(0..SLOTS as i64).contains(&slot) || max < 0 {
        return Err(CmdError::new("ERR Invalid slot or number of keys"));
    }
    let keys = ctx.srv.cluster_keys_in_slot(slot as u16, max as usize);
    ctx.out.array(keys.len());
    for k in &keys {
        ctx.out.bulk(k);
    }
    Ok(())
}

fn failover(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let c = state(ctx)?;
    if a.len() > 3 {
        return Err(wrong_args(a));
    }
    let (mut force, mut takeover) = (false, false);
    if a.len() == 3 {
        if a.is(2, "force") {
            force = true;
        } else if a.is(2, "takeover") {
            takeover = true;
            force = true;
        } else {
            return Err(super::error::SYNTAX);
        }
    }
    let me = c.me();
    if me.is_master() {
        return Err(CmdError::new("ERR You should send CLUSTER FAILOVER to a replica"));
    }
    let Some(m) = me.slaveof.and_then(|m| c.nodes.get(m)) else {
        return Err(CmdError::new("ERR I'm a replica but my master is unknown to me"));
    };
    if !force && (m.failed() || m.link.is_none()) {
        return Err(CmdError::new(
            "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE",
        ));
    }
    ctx.srv.cluster_start_manual_failover(force, takeover);
    ctx.out.ok();
    Ok(())
}

fn flushslots(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    state(ctx)?;
    if db0_len(ctx) != 0 {
        return Err(CmdError::new("ERR DB must be empty to perform CLUSTER FLUSHSLOTS."));
    }
    let c = state(ctx)?;
    let me = c.myself;
    c.del_node_slots(me);
    c.do_before_sleep(cl::TODO_UPDATE_STATE | cl::TODO_SAVE_CONFIG);
    ctx.out.ok();
    Ok(())
}

fn forget(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let now_s = ctx.now_ms / 1000;
    let c = state(ctx)?;
    let n = node_arg(c, a, 2, "Unknown node")?;
    if n == c.myself {
        return Err(CmdError::new("ERR I tried hard but I can't forget myself..."));
    }
    if c.me().is_slave() && c.me().slaveof == Some(n) {
        return Err(CmdError::new("ERR Can't forget my master!"));
    }
    let name = c.nodes[n].name;
    c.blacklist_add(name, now_s);
    c.do_before_sleep(cl::TODO_UPDATE_STATE | cl::TODO_SAVE_CONFIG);
    ctx.srv.cluster_del_node(n);
    ctx.out.ok();
    Ok(())
}

fn info(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let c = state(ctx)?;
    let (mut assigned, mut ok, mut pfail, mut fail) = (0, 0, 0, 0);
    for &o in &c.slots {
        let Some(n) = c.node(o) else { continue };
        assigned += 1;
        if n.failed() {
            fail += 1;
        } else if n.timed_out() {
            pfail += 1;
        } else {
            ok += 1;
        }
    }
    let my_epoch = c.nodes.get(c.my_master()).map_or(0, |m| m.config_epoch);
    let mut s = format!(
        "cluster_state:{}\r\ncluster_slots_assigned:{assigned}\r\ncluster_slots_ok:{ok}\r\ncluster_slots_pfail:{pfail}\r\ncluster_slots_fail:{fail}\r\ncluster_known_nodes:{}\r\ncluster_size:{}\r\ncluster_current_epoch:{}\r\ncluster_my_epoch:{my_epoch}\r\n",
        if c.ok { "ok" } else { "fail" },
        c.nodes.len(),
        c.size,
        c.current_epoch,
    );
    let mut total = 0;
    for (i, n) in c.sent.iter().enumerate() {
        if *n > 0 {
            total += n;
            s.push_str(&format!("cluster_stats_messages_{}_sent:{n}\r\n", msg::TYPE_NAMES[i]));
        }
    }
    s.push_str(&format!("cluster_stats_messages_sent:{total}\r\n"));
    let mut total = 0;
    for (i, n) in c.received.iter().enumerate() {
        if *n > 0 {
            total += n;
            s.push_str(&format!(
                "cluster_stats_messages_{}_received:{n}\r\n",
                msg::TYPE_NAMES[i]
            ));
        }
    }
    s.push_str(&format!("cluster_stats_messages_received:{total}\r\n"));
    s.push_str(&format!(
        "total_cluster_links_buffer_limit_exceeded:{}\r\n",
        c.links_buffer_limit_exceeded
    ));
    ctx.out.verbatim(s.as_bytes(), "txt");
    Ok(())
}

fn keyslot(ctx: &mut Ctx, a: &Args) -> CmdResult {
    state(ctx)?;
    ctx.out.int(cl::key_slot(a.at(2)) as i64);
    Ok(())
}

fn links(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    state(ctx)?;
    ctx.srv.cluster_links_reply(ctx.out);
    Ok(())
}

fn meet(ctx: &mut Ctx, a: &Args) -> CmdResult {
    state(ctx)?;
    if a.len() > 5 {
        return Err(wrong_args(a));
    }
    let port = num::parse_i64(a.at(3))
        .ok_or_else(|| CmdError::owned(format!("ERR Invalid TCP base port specified: {}", a.str(3))))?;
    let cport = if a.len() == 5 {
        num::parse_i64(a.at(4))
            .ok_or_else(|| CmdError::owned(format!("ERR Invalid TCP bus port specified: {}", a.str(4))))?
    } else {
        port + 10000
    };
    if ctx.srv.cluster_start_handshake(&a.str(2), port, cport).is_none() {
        return Err(CmdError::owned(format!(
            "ERR Invalid node address specified: {}:{}",
            a.str(2),
            a.str(3)
        )));
    }
    ctx.out.ok();
    Ok(())
}

fn myid(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let c = state(ctx)?;
    let name = c.me().name;
    ctx.out.bulk(&name);
    Ok(())
}

/// Whether the calling client is on a socket without TLS.
fn plain(ctx: &mut Ctx) -> bool {
    ctx.client().is_some_and(|c| c.conn.is_plain())
}

fn nodes(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let plain = plain(ctx);
    let c = state(ctx)?;
    let text = c.describe_all(0, plain);
    ctx.out.verbatim(text.as_bytes(), "txt");
    Ok(())
}

fn replicas(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let plain = plain(ctx);
    let c = state(ctx)?;
    let n = node_arg(c, a, 2, "Unknown node")?;
    if c.nodes[n].is_slave() {
        return Err(CmdError::new("ERR The specified node is not a master"));
    }
    let lines: Vec<String> = c.nodes[n].slaves.iter().map(|&s| c.describe(s, plain)).collect();
    ctx.out.array(lines.len());
    for l in &lines {
        ctx.out.bulk(l.as_bytes());
    }
    Ok(())
}

fn replicate(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let keys = db0_len(ctx);
    let c = state(ctx)?;
    let n = node_arg(c, a, 2, "Unknown node")?;
    if n == c.myself {
        return Err(CmdError::new("ERR Can't replicate myself"));
    }
    if c.nodes[n].is_slave() {
        return Err(CmdError::new("ERR I can only replicate a master, not a replica."));
    }
    if c.me().is_master() && (c.me().numslots != 0 || keys != 0) {
        return Err(CmdError::new(
            "ERR To set a master the node must be empty and without assigned slots.",
        ));
    }
    ctx.srv.cluster_set_master(n);
    ctx.out.ok();
    Ok(())
}

fn reset(ctx: &mut Ctx, a: &Args) -> CmdResult {
    state(ctx)?;
    if a.len() > 3 {
        return Err(wrong_args(a));
    }
    let hard = match a.len() {
        3 if a.is(2, "hard") => true,
        3 if a.is(2, "soft") => false,
        3 => return Err(super::error::SYNTAX),
        _ => false,
    };
    let c = state(ctx)?;
    let was_slave = c.me().is_slave();
    if !was_slave && db0_len(ctx) != 0 {
        return Err(CmdError::new(
            "ERR CLUSTER RESET can't be called with master nodes containing keys",
        ));
    }
    // Redis compat: cluster.c clusterReset.
    if was_slave {
        let c = state(ctx)?;
        let me = c.myself;
        c.set_node_as_master(me);
        ctx.srv.repl_drop_master();
        for i in 0..ctx.srv.dbs.len() {
            ctx.srv.touch_watched_db(i, None);
            super::keyspace::flush_db(ctx, i, false);
        }
    }
    ctx.srv.cluster_reset_manual_failover();
    let c = state(ctx)?;
    c.close_all_slots();
    for j in 0..SLOTS {
        c.del_slot(j);
    }
    let others: Vec<usize> = c.nodes.iter().map(|(i, _)| i).filter(|&i| i != c.myself).collect();
    for n in others {
        ctx.srv.cluster_del_node(n);
    }
    let c = state(ctx)?;
    if hard {
        c.current_epoch = 0;
        c.last_vote_epoch = 0;
        c.me_mut().config_epoch = 0;
        tracing::warn!("configEpoch set to 0 via CLUSTER RESET HARD");
        let me = c.myself;
        c.rename_node(me, cl::random_name());
        tracing::info!("Node hard reset, now I'm {}", c.me().name_str());
    }
    c.do_before_sleep(cl::TODO_SAVE_CONFIG | cl::TODO_UPDATE_STATE | cl::TODO_FSYNC_CONFIG);
    ctx.out.ok();
    Ok(())
}

fn saveconfig(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let c = state(ctx)?;
    match c.save_config(true) {
        Ok(()) => ctx.out.ok(),
        Err(e) => {
            return Err(CmdError::owned(format!(
                "ERR error saving the cluster node config: {e}"
            )))
        }
    }
    Ok(())
}

fn set_config_epoch(ctx: &mut Ctx, a: &Args) -> CmdResult {
    state(ctx)?;
    let epoch = a.i64(2)?;
    let c = state(ctx)?;
    if epoch < 0 {
        return Err(CmdError::owned(format!("ERR Invalid config epoch specified: {epoch}")));
    }
    if c.nodes.len() > 1 {
        return Err(CmdError::new(
            "ERR The user can assign a config epoch only when the node does not know any other node.",
        ));
    }
    if c.me().config_epoch != 0 {
        return Err(CmdError::new("ERR Node config epoch is already non-zero"));
    }
    c.me_mut().config_epoch = epoch as u64;
    tracing::warn!("configEpoch set to {epoch} via CLUSTER SET-CONFIG-EPOCH");
    if c.current_epoch < epoch as u64 {
        c.current_epoch = epoch as u64;
    }
    c.do_before_sleep(cl::TODO_UPDATE_STATE | cl::TODO_SAVE_CONFIG);
    ctx.out.ok();
    Ok(())
}

fn setslot(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let c = state(ctx)?;
    if c.me().is_slave() {
        return Err(CmdError::new("ERR Please use SETSLOT only with masters."));
    }
    let slot = slot_arg(a, 2)?;
    let bad = || CmdError::new("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP");
    let master_arg = |c: &Cluster, what: &str| -> Result<usize, CmdError> {
        let n = node_arg(c, a, 4, what)?;
        if c.nodes[n].is_slave() {
            return Err(CmdError::new("ERR Target node is not a master"));
        }
        Ok(n)
    };
    if a.is(3, "migrating") && a.len() == 5 {
        if c.slots[slot] != c.myself as u32 {
            return Err(CmdError::owned(format!("ERR I'm not the owner of hash slot {slot}")));
        }
        let n = master_arg(c, "I don't know about node")?;
        c.migrating[slot] = n as u32;
    } else if a.is(3, "importing") && a.len() == 5 {
        if c.slots[slot] == c.myself as u32 {
            return Err(CmdError::owned(format!(
                "ERR I'm already the owner of hash slot {slot}"
            )));
        }
        let n = master_arg(c, "I don't know about node")?;
        c.importing[slot] = n as u32;
    } else if a.is(3, "stable") && a.len() == 4 {
        c.importing[slot] = NONE;
        c.migrating[slot] = NONE;
    } else if a.is(3, "node") && a.len() == 5 {
        let n = master_arg(c, "Unknown node")?;
        let me = c.myself;
        let mine = c.slots[slot] == me as u32;
        let keys = ctx.srv.cluster_count_keys_in_slot(slot as u16);
        let c = state(ctx)?;
        if mine && n != me && keys != 0 {
            return Err(CmdError::owned(format!(
                "ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot."
            )));
        }
        if keys == 0 && c.migrating[slot] != NONE {
            c.migrating[slot] = NONE;
        }
        c.del_slot(slot);
        c.add_slot(n, slot);
        if mine && n != me && c.me().numslots == 0 && c.settings.allow_replica_migration {
            tracing::warn!(
                "Configuration change detected. Reconfiguring myself as a replica of {}",
                c.nodes[n].name_str()
            );
            c.do_before_sleep(cl::TODO_SAVE_CONFIG | cl::TODO_UPDATE_STATE | cl::TODO_FSYNC_CONFIG);
            ctx.srv.cluster_set_master(n);
        }
        let c = state(ctx)?;
        if n == me && c.importing[slot] != NONE {
            if c.bump_epoch_without_consensus() {
                tracing::warn!("configEpoch updated after importing slot {slot}");
            }
            c.importing[slot] = NONE;
            ctx.srv.cluster_broadcast_pong(false);
        }
    } else {
        return Err(bad());
    }
    state(ctx)?.do_before_sleep(cl::TODO_SAVE_CONFIG | cl::TODO_UPDATE_STATE);
    ctx.out.ok();
    Ok(())
}

/// One node of CLUSTER SLOTS: endpoint, port, id, and the other endpoints.
fn slot_node(ctx: &mut Ctx, c_ip: &str, host: &str, port: u16, name: &[u8], ty: u8) {
    ctx.out.array(4);
    match ty {
        0 => ctx.out.bulk(c_ip.as_bytes()),
        1 if !host.is_empty() => ctx.out.bulk(host.as_bytes()),
        1 => ctx.out.bulk(b"?"),
        _ => ctx.out.null(),
    }
    ctx.out.int(port as i64);
    ctx.out.bulk(name);
    let with_ip = ty != 0;
    let with_host = ty != 1 && !host.is_empty();
    ctx.out.map(with_ip as usize + with_host as usize);
    if with_ip {
        ctx.out.bulk(b"ip");
        ctx.out.bulk(c_ip.as_bytes());
    }
    if with_host {
        ctx.out.bulk(b"hostname");
        ctx.out.bulk(host.as_bytes());
    }
}

/// Whether a replica is listed for reads: not failed, and synced at least once.
fn replica_available(c: &Cluster, n: usize, my_offset: u64) -> bool {
    let node = &c.nodes[n];
    if node.failed() {
        return false;
    }
    let off = if n == c.myself { my_offset } else { node.repl_offset };
    off != 0
}

fn slots(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let my_offset = ctx.srv.cluster_repl_offset();
    let plain = plain(ctx);
    let c = state(ctx)?;
    let ty = c.settings.endpoint_type;
    let mut runs: Vec<(usize, usize, usize)> = Vec::new();
    let mut j = 0;
    while j < SLOTS {
        let o = c.slots[j];
        if o == NONE {
            j += 1;
            continue;
        }
        let start = j;
        while j < SLOTS && c.slots[j] == o {
            j += 1;
        }
        runs.push((start, j - 1, o as usize));
    }
    let mut rows = Vec::new();
    for (s, e, o) in runs {
        let mut nodes = vec![o];
        nodes.extend(
            c.nodes[o]
                .slaves
                .iter()
                .copied()
                .filter(|&r| replica_available(c, r, my_offset)),
        );
        let info: Vec<(String, String, u16, cl::Name)> = nodes
            .iter()
            .map(|&n| {
                let n = &c.nodes[n];
                (n.ip.clone(), n.hostname.clone(), c.shown_port(n, plain), n.name)
            })
            .collect();
        rows.push((s, e, info));
    }
    // Redis compat: cluster.c clusterReplyMultiBulkSlots writes a deferred length.
    ctx.out.mark_deferred();
    ctx.out.array(rows.len());
    for (s, e, info) in rows {
        ctx.out.array(2 + info.len());
        ctx.out.int(s as i64);
        ctx.out.int(e as i64);
        for (ip, host, port, name) in info {
            slot_node(ctx, &ip, &host, port, &name, ty);
        }
    }
    Ok(())
}

fn shards(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let my_offset = ctx.srv.cluster_repl_offset();
    let c = state(ctx)?;
    let masters: Vec<usize> = c.nodes.iter().filter(|(_, n)| n.is_master()).map(|(i, _)| i).collect();
    struct Row {
        fields: Vec<(&'static str, Result<i64, Vec<u8>>)>,
    }
    let mut out_shards = Vec::new();
    for m in masters {
        let ranges = cl::slot_ranges(&c.nodes[m].slots);
        let mut rows = Vec::new();
        for n in c.shard_of(m) {
            let Some(node) = c.nodes.get(n) else { continue };
            let offset = if n == c.myself { my_offset } else { node.repl_offset };
            let mut f: Vec<(&'static str, Result<i64, Vec<u8>>)> = vec![("id", Err(node.name.to_vec()))];
            // The plaintext port and the TLS one, as the cluster knows them.
            // Redis compat: cluster.c addNodeDetailsToShardReply.
            let (port, tls_port) = match c.settings.tls {
                true => (node.pport, node.port),
                false => (node.port, 0),
            };
            if port != 0 {
                f.push(("port", Ok(port as i64)));
            }
            if tls_port != 0 {
                f.push(("tls-port", Ok(tls_port as i64)));
            }
            f.push(("ip", Err(node.ip.clone().into_bytes())));
            f.push(("endpoint", Err(c.endpoint(node).into_bytes())));
            if !node.hostname.is_empty() {
                f.push(("hostname", Err(node.hostname.clone().into_bytes())));
            }
            f.push((
                "role",
                Err(if node.is_slave() {
                    b"replica".to_vec()
                } else {
                    b"master".to_vec()
                }),
            ));
            f.push(("replication-offset", Ok(offset as i64)));
            let health: &[u8] = if node.failed() {
                b"fail"
            } else if node.is_slave() && offset == 0 {
                b"loading"
            } else {
                b"online"
            };
            f.push(("health", Err(health.to_vec())));
            rows.push(Row { fields: f });
        }
        out_shards.push((ranges, rows));
    }
    // Redis compat: cluster.c clusterReplyShards writes a deferred length.
    ctx.out.mark_deferred();
    ctx.out.array(out_shards.len());
    for (ranges, rows) in out_shards {
        ctx.out.map(2);
        ctx.out.bulk(b"slots");
        ctx.out.array(ranges.len() * 2);
        for (s, e) in ranges {
            ctx.out.int(s as i64);
            ctx.out.int(e as i64);
        }
        ctx.out.bulk(b"nodes");
        ctx.out.array(rows.len());
        for r in rows {
            ctx.out.map(r.fields.len());
            for (k, v) in r.fields {
                ctx.out.bulk(k.as_bytes());
                match v {
                    Ok(i) => ctx.out.int(i),
                    Err(b) => ctx.out.bulk(&b),
                }
            }
        }
    }
    Ok(())
}

fn readonly(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    state(ctx)?;
    if let Some(c) = ctx.srv.clients.get_mut(ctx.cid) {
        c.cluster_readonly = true;
    }
    ctx.out.ok();
    Ok(())
}

fn readwrite(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    state(ctx)?;
    if let Some(c) = ctx.srv.clients.get_mut(ctx.cid) {
        c.cluster_readonly = false;
    }
    ctx.out.ok();
    Ok(())
}

fn asking(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    state(ctx)?;
    if let Some(c) = ctx.srv.clients.get_mut(ctx.cid) {
        c.cluster_asking = true;
    }
    ctx.out.ok();
    Ok(())
}

const A: u64 = ACL_ADMIN | ACL_DANGEROUS;
const W: u64 = NO_ASYNC_LOADING | ADMIN | STALE;

/// One CLUSTER subcommand: name, arity, flags, ACL categories, since, summary.
const fn sub(
    name: &'static str,
    arity: i32,
    flags: u64,
    acl: u64,
    since: &'static str,
    what: &'static str,
) -> CommandSpec {
    cmd(name, arity, flags, acl, handler_of(name)).doc(G, since, "O(1)", what)
}

type Handler = fn(&mut Ctx, &Args) -> CmdResult;

/// The handler of a CLUSTER subcommand, by name.
const fn handler_of(name: &str) -> Handler {
    const fn eq(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }
    const TABLE: &[(&str, Handler)] = &[
        ("addslots", addslots),
        ("addslotsrange", addslotsrange),
        ("bumpepoch", bumpepoch),
        ("count-failure-reports", count_failure_reports),
        ("countkeysinslot", countkeysinslot),
        ("delslots", delslots),
        ("delslotsrange", delslotsrange),
        ("failover", failover),
        ("flushslots", flushslots),
        ("forget", forget),
        ("getkeysinslot", getkeysinslot),
        ("help", help),
        ("info", info),
        ("keyslot", keyslot),
        ("links", links),
        ("meet", meet),
        ("myid", myid),
        ("nodes", nodes),
        ("replicas", replicas),
        ("replicate", replicate),
        ("reset", reset),
        ("saveconfig", saveconfig),
        ("set-config-epoch", set_config_epoch),
        ("setslot", setslot),
        ("shards", shards),
        ("slaves", replicas),
        ("slots", slots),
    ];
    let mut i = 0;
    while i < TABLE.len() {
        if eq(TABLE[i].0, name) {
            return TABLE[i].1;
        }
        i += 1;
    }
    help
}

const CLUSTER_SUBS: &[CommandSpec] = &[
    sub("addslots", -3, W, A, "3.0.0", "Assigns new hash slots to a node."),
    sub(
        "addslotsrange",
        -4,
        W,
        A,
        "7.0.0",
        "Assigns new hash slot ranges to a node.",
    ),
    sub("bumpepoch", 2, W, A, "3.0.0", "Advances the cluster config epoch.").tips(&["nondeterministic_output"]),
    sub(
        "count-failure-reports",
        3,
        ADMIN | STALE,
        A,
        "3.0.0",
        "Returns the number of active failure reports for a node.",
    )
    .tips(&["nondeterministic_output"]),
    sub(
        "countkeysinslot",
        3,
        STALE,
        0,
        "3.0.0",
        "Returns the number of keys in a hash slot.",
    ),
    sub("delslots", -3, W, A, "3.0.0", "Sets hash slots as unbound for a node."),
    sub(
        "delslotsrange",
        -4,
        W,
        A,
        "7.0.0",
        "Sets hash slot ranges as unbound for a node.",
    ),
    sub(
        "failover",
        -2,
        W,
        A,
        "3.0.0",
        "Makes a replica take over from its master, on request.",
    ),
    sub(
        "flushslots",
        2,
        W,
        A,
        "3.0.0",
        "Deletes all slots information from a node.",
    ),
    sub("forget", 3, W, A, "3.0.0", "Removes a node from the nodes table."),
    sub(
        "getkeysinslot",
        4,
        STALE,
        0,
        "3.0.0",
        "Returns the key names in a hash slot.",
    )
    .tips(&["nondeterministic_output"]),
    sub("help", 2, LOADING | STALE, 0, "5.0.0", "Lists the CLUSTER subcommands."),
    sub(
        "info",
        2,
        STALE,
        0,
        "3.0.0",
        "Returns information about the state of a node.",
    )
    .tips(&["nondeterministic_output"]),
    sub("keyslot", 3, STALE, 0, "3.0.0", "Returns the hash slot for a key."),
    sub(
        "links",
        2,
        STALE,
        0,
        "7.0.0",
        "Returns a list of all TCP links to and from peer nodes.",
    )
    .tips(&["nondeterministic_output"]),
    sub(
        "meet",
        -4,
        W,
        A,
        "3.0.0",
        "Forces a node to handshake with another node.",
    ),
    sub("myid", 2, STALE, 0, "3.0.0", "Returns the ID of a node."),
    sub(
        "nodes",
        2,
        STALE,
        0,
        "3.0.0",
        "Returns the cluster configuration for a node.",
    )
    .tips(&["nondeterministic_output"]),
    sub(
        "replicas",
        3,
        ADMIN | STALE,
        A,
        "5.0.0",
        "Lists the replica nodes of a master node.",
    )
    .tips(&["nondeterministic_output"]),
    sub(
        "replicate",
        3,
        W,
        A,
        "3.0.0",
        "Configure a node as replica of a master node.",
    ),
    sub("reset", -2, ADMIN | STALE | NOSCRIPT, A, "3.0.0", "Resets a node."),
    sub(
        "saveconfig",
        2,
        W,
        A,
        "3.0.0",
        "Forces a node to save the cluster configuration to disk.",
    ),
    sub(
        "set-config-epoch",
        3,
        W,
        A,
        "3.0.0",
        "Sets the configuration epoch for a new node.",
    ),
    sub("setslot", -4, W, A, "3.0.0", "Binds a hash slot to a node."),
    sub(
        "shards",
        2,
        STALE,
        0,
        "7.0.0",
        "Returns the mapping of cluster slots to shards.",
    )
    .tips(&["nondeterministic_output"]),
    sub(
        "slaves",
        3,
        ADMIN | STALE,
        A,
        "3.0.0",
        "Lists the replica nodes of a master node.",
    )
    .tips(&["nondeterministic_output"]),
    sub(
        "slots",
        2,
        STALE,
        0,
        "3.0.0",
        "Returns the mapping of cluster slots to nodes.",
    )
    .tips(&["nondeterministic_output"]),
];

pub const COMMANDS: &[CommandSpec] = &[
    container("cluster", ACL_SLOW, CLUSTER_SUBS).doc(
        G,
        "3.0.0",
        "Depends on subcommand.",
        "A container for Redis Cluster commands.",
    ),
    cmd("readonly", 1, FAST | LOADING | STALE, ACL_CONNECTION, readonly).doc(
        G,
        "3.0.0",
        "O(1)",
        "Enables read-only queries for a connection to a Redis Cluster replica node.",
    ),
    cmd("readwrite", 1, FAST | LOADING | STALE, ACL_CONNECTION, readwrite).doc(
        G,
        "3.0.0",
        "O(1)",
        "Enables read-write queries for a connection to a Redis Cluster replica node.",
    ),
    cmd("asking", 1, FAST, ACL_CONNECTION, asking).doc(
        G,
        "3.0.0",
        "O(1)",
        "Signals that a cluster client is following an -ASK redirect.",
    ),
];
