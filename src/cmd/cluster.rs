//! Cluster commands on a standalone server: CLUSTER (with every 7.0 subcommand, so
//! COMMAND and scripts see the same table as Redis), READONLY, READWRITE and ASKING all
//! answer that cluster support is disabled. Redis compat: cluster.c clusterCommand with
//! cluster-enabled no.
use super::error::{CmdError, CmdResult};
use super::spec::*;
use super::{Args, Ctx};

const G: &str = "cluster";

fn disabled(_ctx: &mut Ctx, _a: &Args) -> CmdResult {
    Err(CmdError::new("ERR This instance has cluster support disabled"))
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
    cmd(name, arity, flags, acl, disabled).doc(G, since, "O(1)", what)
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
        "Forces a replica to perform a manual failover of its master.",
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
    cmd("readonly", 1, FAST | LOADING | STALE, ACL_CONNECTION, disabled).doc(
        G,
        "3.0.0",
        "O(1)",
        "Enables read-only queries for a connection to a Redis Cluster replica node.",
    ),
    cmd("readwrite", 1, FAST | LOADING | STALE, ACL_CONNECTION, disabled).doc(
        G,
        "3.0.0",
        "O(1)",
        "Enables read-write queries for a connection to a Redis Cluster replica node.",
    ),
    cmd("asking", 1, FAST, ACL_CONNECTION, disabled).doc(
        G,
        "3.0.0",
        "O(1)",
        "Signals that a cluster client is following an -ASK redirect.",
    ),
];
