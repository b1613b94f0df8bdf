//! ACL: users, their permissions, the ACL file and the ACL log. Redis compat: acl.c
//! aclCommand.
use super::error::{self, CmdError, CmdResult};
use super::keyspace::help;
use super::spec::*;
use super::{Args, Ctx};
use crate::server::acl::{self, User};

const G: &str = "server";

fn setuser(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let name = a.at(2);
    if acl::has_spaces(name) {
        return Err(CmdError::new("ERR Usernames can't contain spaces or null characters"));
    }
    let pubsub_all = ctx.srv.acl_pubsub_all();
    let edited = acl::edited_user(ctx.srv.acl.get(name), name, a.rest(3), pubsub_all)
        .map_err(|e| CmdError::owned(format!("ERR {e}")))?;
    ctx.srv.acl_put_user(edited);
    ctx.out.ok();
    Ok(())
}

fn deluser(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if a.rest(2).iter().any(|n| *n == b"default") {
        return Err(CmdError::new("ERR The 'default' user cannot be removed"));
    }
    let mut gone = Vec::new();
    for n in a.rest(2) {
        if let Some(id) = ctx.srv.acl.remove(n) {
            gone.push(id);
        }
    }
    ctx.srv.acl_drop_clients_of(&gone, ctx.cid);
    ctx.out.int(gone.len() as i64);
    Ok(())
}

/// The commands, keys and channels fields of one selector.
fn selector_fields(ctx: &mut Ctx, (commands, keys, channels): &(String, Vec<u8>, Vec<u8>)) {
    ctx.out.bulk(b"commands");
    ctx.out.bulk(commands.as_bytes());
    ctx.out.bulk(b"keys");
    ctx.out.bulk(keys);
    ctx.out.bulk(b"channels");
    ctx.out.bulk(channels);
}

fn getuser(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let Some(u) = ctx.srv.acl.get(a.at(2)) else {
        ctx.out.null();
        return Ok(());
    };
    let flags = u.flag_names();
    let passwords = u.passwords().to_vec();
    let selectors = u.selector_texts();
    // Redis compat: acl.c aclCommand GETUSER writes deferred lengths.
    ctx.out.mark_deferred();
    ctx.out.map(6);
    ctx.out.bulk(b"flags");
    ctx.out.set(flags.len());
    for f in flags {
        ctx.out.bulk(f.as_bytes());
    }
    ctx.out.bulk(b"passwords");
    ctx.out.array(passwords.len());
    for p in &passwords {
        ctx.out.bulk(p.as_bytes());
    }
    if let Some(root) = selectors.first() {
        selector_fields(ctx, root);
    }
    ctx.out.bulk(b"selectors");
    ctx.out.array(selectors.len().saturating_sub(1));
    for s in selectors.iter().skip(1) {
        ctx.out.map(3);
        selector_fields(ctx, s);
    }
    Ok(())
}

fn list(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let lines: Vec<Vec<u8>> = ctx.srv.acl.iter().map(User::line).collect();
    ctx.out.array(lines.len());
    for l in &lines {
        ctx.out.bulk(l);
    }
    Ok(())
}

fn users(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let names: Vec<Vec<u8>> = ctx.srv.acl.iter().map(|u| u.name.clone()).collect();
    ctx.out.array(names.len());
    for n in &names {
        ctx.out.bulk(n);
    }
    Ok(())
}

fn whoami(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let name = ctx.client().map(|c| c.user_name.clone()).unwrap_or_default();
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

const NO_ACL_FILE: CmdError = CmdError::new("ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.");

fn load(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    if ctx.srv.acl_file_path().is_none() {
        return Err(NO_ACL_FILE);
    }
    let dropped = ctx
        .srv
        .acl_load_file()
        .map_err(|e| CmdError::owned(format!("ERR {e}")))?;
    ctx.srv.acl_drop_clients_of(&dropped, ctx.cid);
    ctx.out.ok();
    Ok(())
}

fn save(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    if ctx.srv.acl_file_path().is_none() {
        return Err(NO_ACL_FILE);
    }
    if let Err(e) = ctx.srv.acl_save_file() {
        tracing::warn!("Writing ACL file for ACL SAVE: {e}");
        return Err(CmdError::new(
            "ERR There was an error trying to save the ACLs. Please check the server logs for more information",
        ));
    }
    ctx.out.ok();
    Ok(())
}

fn cat(ctx: &mut Ctx, a: &Args) -> CmdResult {
    // Redis compat: acl.c aclCommand CAT writes a deferred length.
    ctx.out.mark_deferred();
    if a.len() == 2 {
        ctx.out.array(ACL_NAMES.len());
        for (_, n) in ACL_NAMES {
            ctx.out.bulk(n.as_bytes());
        }
        return Ok(());
    }
    if a.len() > 3 {
        return Err(error::subcommand_syntax(a.at(1), "acl"));
    }
    let flag = ACL_NAMES
        .iter()
        .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(a.at(2)))
        .map(|(f, _)| *f)
        .ok_or_else(|| {
            let shown: String = a.str(2).chars().take(128).collect();
            CmdError::owned(format!("ERR Unknown category '{shown}'"))
        })?;
    let t = super::table();
    let names: Vec<&str> = (0..t.specs.len())
        .filter(|&i| t.specs[i].acl_categories() & flag != 0)
        .map(|i| t.names[i].as_str())
        .collect();
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

fn genpass(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let bits = if a.len() == 3 { a.i64(2)? } else { 256 };
    if !(1..=4096).contains(&bits) {
        return Err(CmdError::new(
            "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
        ));
    }
    let chars = (bits as usize).div_ceil(4);
    let mut bytes = vec![0u8; chars.div_ceil(2)];
    rand::fill(&mut bytes[..]);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    ctx.out.bulk(&hex.as_bytes()[..chars]);
    Ok(())
}

fn log(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let mut count = 10usize;
    if a.len() == 3 {
        if a.is(2, "reset") {
            ctx.srv.acl.log.clear();
            ctx.out.ok();
            return Ok(());
        }
        count = a.i64(2)?.max(0) as usize;
    }
    let now = crate::clock::now_ms();
    let n = count.min(ctx.srv.acl.log.len());
    ctx.out.array(n);
    for i in 0..n {
        let Some(e) = ctx.srv.acl.log.get(i) else { break };
        let (count, reason, context) = (e.count, e.reason.reason(), e.context.name());
        let (object, username, cinfo) = (e.object.clone(), e.username.clone(), e.cinfo.clone());
        let age = (now - e.ctime_ms) as f64 / 1000.0;
        ctx.out.map(7);
        ctx.out.bulk(b"count");
        ctx.out.int(count as i64);
        ctx.out.bulk(b"reason");
        ctx.out.bulk(reason.as_bytes());
        ctx.out.bulk(b"context");
        ctx.out.bulk(context.as_bytes());
        ctx.out.bulk(b"object");
        ctx.out.bulk(&object);
        ctx.out.bulk(b"username");
        ctx.out.bulk(&username);
        ctx.out.bulk(b"age-seconds");
        ctx.out.double(age);
        ctx.out.bulk(b"client-info");
        ctx.out.bulk(cinfo.as_bytes());
    }
    Ok(())
}

fn dryrun(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let Some(u) = ctx.srv.acl.get(a.at(2)) else {
        return Err(CmdError::owned(format!("ERR User '{}' not found", a.str(2))));
    };
    let argv = a.rest(3);
    let t = super::table();
    let Some((id, spec)) = t.lookup_id(argv).and_then(|i| Some((i, *t.specs.get(i)?))) else {
        return Err(CmdError::owned(format!("ERR Command '{}' not found", a.str(3))));
    };
    let full = t.names.get(id).map(|s| s.as_str()).unwrap_or(spec.name);
    let argc = argv.len() as i32;
    if (spec.arity > 0 && spec.arity != argc) || argc < -spec.arity {
        return Err(CmdError::owned(format!(
            "ERR wrong number of arguments for '{full}' command"
        )));
    }
    match u.check(id, spec, argv) {
        Ok(()) => ctx.out.ok(),
        Err((d, pos)) => {
            let what = String::from_utf8_lossy(argv.get(pos).copied().unwrap_or_default());
            let text = match d {
                acl::Denied::Cmd => format!("This user has no permissions to run the '{full}' command"),
                acl::Denied::Key => format!("This user has no permissions to access the '{what}' key"),
                _ => format!("This user has no permissions to access the '{what}' channel"),
            };
            ctx.out.bulk(text.as_bytes());
        }
    }
    Ok(())
}

fn acl_help(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    help(
        ctx,
        "ACL",
        &[
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ],
    );
    Ok(())
}

const A: u64 = ADMIN | NOSCRIPT | LOADING | STALE;
const S: u64 = NOSCRIPT | LOADING | STALE;

const ACL_SUBS: &[CommandSpec] = &[
    cmd("cat", -2, S, 0, cat).doc(
        G,
        "6.0.0",
        "O(1) since the categories and commands are a fixed set.",
        "Lists the ACL categories, or the commands in one.",
    ),
    cmd("deluser", -3, A, 0, deluser).doc(
        G,
        "6.0.0",
        "O(1) amortized time considering the typical user.",
        "Deletes users and closes their connections.",
    ),
    cmd("dryrun", -4, A, 0, dryrun).doc(
        G,
        "7.0.0",
        "O(1).",
        "Tells whether a user may run a command, without running it.",
    ),
    cmd("genpass", -2, S, 0, genpass).doc(G, "6.0.0", "O(1)", "Generates a random password."),
    cmd("getuser", 3, A, 0, getuser).doc(
        G,
        "6.0.0",
        "O(N). Where N is the number of password, command and pattern rules that the user has.",
        "Shows a user's rules.",
    ),
    cmd("help", 2, LOADING | STALE, 0, acl_help).doc(G, "6.0.0", "O(1)", "Shows the ACL subcommands."),
    cmd("list", 2, A, 0, list).doc(
        G,
        "6.0.0",
        "O(N). Where N is the number of configured users.",
        "Shows every user in config file format.",
    ),
    cmd("load", 2, A, 0, load).doc(
        G,
        "6.0.0",
        "O(N). Where N is the number of configured users.",
        "Reloads the users from the ACL file.",
    ),
    cmd("log", -2, A, 0, log).doc(
        G,
        "6.0.0",
        "O(N) with N being the number of entries shown.",
        "Shows or clears the log of refused commands and logins.",
    ),
    cmd("save", 2, A, 0, save).doc(
        G,
        "6.0.0",
        "O(N). Where N is the number of configured users.",
        "Writes the users to the ACL file.",
    ),
    cmd("setuser", -3, A, 0, setuser).doc(
        G,
        "6.0.0",
        "O(N). Where N is the number of rules provided.",
        "Creates or edits a user.",
    ),
    cmd("users", 2, A, 0, users).doc(
        G,
        "6.0.0",
        "O(N). Where N is the number of configured users.",
        "Lists the user names.",
    ),
    cmd("whoami", 2, S, 0, whoami).doc(G, "6.0.0", "O(1)", "Returns the connection's user name."),
];

pub const COMMANDS: &[CommandSpec] = &[container("acl", 0, ACL_SUBS).doc(
    G,
    "6.0.0",
    "Depends on subcommand.",
    "A container for access control commands.",
)];
