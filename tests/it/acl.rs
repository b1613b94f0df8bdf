//! ACL users: logging in, command/key/channel permissions, selectors, the ACL log,
//! the ACL file, users from the config, and what happens to connections of users
//! that are changed or deleted.
use std::process::Command;

use crate::cmd;
use crate::harness::{temp_dir, Server};

#[test]
fn users_log_in_and_are_limited_to_their_commands_and_keys() {
    let s = Server::start();
    let mut admin = s.raw();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "ACL", "WHOAMI"), b"$7\r\ndefault\r\n");
    assert_eq!(cmd!(admin, "ACL", "SETUSER", "bob", ">pw"), b"+OK\r\n");
    // New users are off until enabled.
    assert_eq!(
        cmd!(c, "AUTH", "bob", "pw"),
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        cmd!(admin, "ACL", "SETUSER", "bob", "on", "+@string", "-incr", "~app:*"),
        b"+OK\r\n"
    );
    assert_eq!(cmd!(c, "AUTH", "bob", "pw"), b"+OK\r\n");
    assert_eq!(cmd!(c, "SET", "app:1", "v"), b"+OK\r\n");
    assert_eq!(
        cmd!(c, "SET", "other", "v"),
        b"-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"
    );
    assert_eq!(
        cmd!(c, "INCR", "app:2"),
        b"-NOPERM this user has no permissions to run the 'incr' command\r\n"
    );
    assert_eq!(
        cmd!(c, "CLIENT", "ID"),
        b"-NOPERM this user has no permissions to run the 'client|id' command\r\n"
    );
    let info = String::from_utf8(cmd!(admin, "CLIENT", "LIST")).unwrap();
    assert!(info.contains("user=bob"), "{info}");
    // The log keeps the refusals, newest first, similar ones counted together.
    assert_eq!(cmd!(c, "INCR", "app:2")[0], b'-');
    let log = String::from_utf8(cmd!(admin, "ACL", "LOG", "3")).unwrap();
    assert!(log.starts_with("*3\r\n"), "{log}");
    assert!(log.contains("count\r\n:2\r\n"), "{log}");
    assert!(log.contains("$4\r\nincr\r\n") && log.contains("$3\r\nbob\r\n"), "{log}");
    assert!(log.contains("$5\r\nother\r\n"), "{log}");
    assert_eq!(cmd!(admin, "ACL", "LOG", "RESET"), b"+OK\r\n");
    assert_eq!(cmd!(admin, "ACL", "LOG"), b"*0\r\n");
}

#[test]
fn getuser_list_and_rules_round_trip() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(
        cmd!(
            c,
            "ACL",
            "SETUSER",
            "alice",
            "on",
            "nopass",
            "+@all",
            "-@dangerous",
            "%R~read:*",
            "(+get ~x*)"
        ),
        b"+OK\r\n"
    );
    let list = String::from_utf8(cmd!(c, "ACL", "LIST")).unwrap();
    assert!(
        list.contains("user alice on nopass %R~read:* resetchannels +@all -@dangerous (~x* resetchannels -@all +get)"),
        "{list}"
    );
    assert!(list.contains("user default on nopass ~* &* +@all"), "{list}");
    assert_eq!(cmd!(c, "ACL", "USERS"), b"*2\r\n$5\r\nalice\r\n$7\r\ndefault\r\n");
    assert_eq!(cmd!(c, "ACL", "DRYRUN", "alice", "GET", "read:1"), b"+OK\r\n");
    const MSG: &str = "This user has no permissions to access the 'read:1' key";
    assert_eq!(
        cmd!(c, "ACL", "DRYRUN", "alice", "SET", "read:1", "v"),
        format!("${}\r\n{}\r\n", MSG.len(), MSG).into_bytes()
    );
    assert_eq!(cmd!(c, "ACL", "DRYRUN", "alice", "GET", "x1"), b"+OK\r\n");
    assert_eq!(
        cmd!(c, "ACL", "SETUSER", "alice", "+config|get|maxmemory"),
        b"-ERR Error in ACL SETUSER modifier '+config|get|maxmemory': Allowing first-arg of a subcommand is not supported\r\n"
    );
    assert_eq!(
        cmd!(c, "ACL", "SETUSER", "x", "(+get"),
        b"-ERR Unmatched parenthesis in acl selector starting at '(+get'.\r\n"
    );
    assert_eq!(cmd!(c, "ACL", "GETUSER", "nobody"), b"$-1\r\n");
    let user = String::from_utf8(cmd!(c, "ACL", "GETUSER", "alice")).unwrap();
    assert!(
        user.contains("$8\r\ncommands\r\n$17\r\n+@all -@dangerous\r\n"),
        "{user}"
    );
    assert!(user.contains("$4\r\nkeys\r\n$9\r\n%R~read:*\r\n"), "{user}");
    assert_eq!(
        cmd!(c, "ACL", "DELUSER", "default"),
        b"-ERR The 'default' user cannot be removed\r\n"
    );
    assert_eq!(cmd!(c, "ACL", "DELUSER", "alice", "nobody"), b":1\r\n");
    assert_eq!(cmd!(c, "ACL", "GENPASS", "5").len(), b"$2\r\nxx\r\n".len());
}

#[test]
fn deleting_or_restricting_a_user_drops_its_connections() {
    let s = Server::start();
    let mut admin = s.raw();
    let mut c = s.raw();
    cmd!(
        admin,
        "ACL",
        "SETUSER",
        "sub",
        "on",
        "nopass",
        "+@all",
        "resetchannels",
        "&news"
    );
    assert_eq!(cmd!(c, "AUTH", "sub", "x"), b"+OK\r\n");
    assert_eq!(
        cmd!(c, "SUBSCRIBE", "news"),
        b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
    );
    // Channels kept: the subscriber stays.
    cmd!(admin, "ACL", "SETUSER", "sub", "&more");
    assert_eq!(cmd!(admin, "PUBLISH", "news", "a"), b":1\r\n");
    cmd!(admin, "ACL", "SETUSER", "sub", "resetchannels");
    assert_eq!(cmd!(admin, "PUBLISH", "news", "b"), b":0\r\n");
    assert!(c.closed());
    let mut d = s.raw();
    assert_eq!(cmd!(d, "AUTH", "sub", "x"), b"+OK\r\n");
    assert_eq!(cmd!(admin, "ACL", "DELUSER", "sub"), b":1\r\n");
    assert!(d.closed());
}

#[test]
fn requirepass_and_a_disabled_default_user_require_auth() {
    let s = Server::start_with(&["--requirepass", "secret"]);
    let mut c = s.raw();
    assert_eq!(cmd!(c, "GET", "k"), b"-NOAUTH Authentication required.\r\n");
    assert_eq!(
        cmd!(c, "HELLO", "3"),
        b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"
    );
    assert_eq!(cmd!(c, "AUTH", "secret"), b"+OK\r\n");
    assert_eq!(cmd!(c, "CONFIG", "SET", "requirepass", ""), b"+OK\r\n");
    assert_eq!(cmd!(c, "ACL", "SETUSER", "default", "off"), b"+OK\r\n");
    let mut d = s.raw();
    assert_eq!(cmd!(d, "PING"), b"-NOAUTH Authentication required.\r\n");
    let log = String::from_utf8(cmd!(c, "ACL", "LOG")).unwrap();
    assert_eq!(log, "*0\r\n");
    assert_eq!(cmd!(d, "AUTH", "default", "x")[0], b'-');
    let log = String::from_utf8(cmd!(c, "ACL", "LOG")).unwrap();
    assert!(
        log.contains("$4\r\nauth\r\n") && log.contains("$4\r\nAUTH\r\n"),
        "{log}"
    );
}

#[test]
fn users_from_config_lines_and_the_acl_file() {
    let dir = temp_dir();
    std::fs::write(
        dir.join("users.acl"),
        "user default on nopass ~* &* +@all\nuser eve on >eve ~* +get\n",
    )
    .unwrap();
    let s = Server::start_in(dir.clone(), &["--aclfile", "users.acl"]);
    let mut c = s.raw();
    assert_eq!(cmd!(c, "AUTH", "eve", "eve"), b"+OK\r\n");
    assert_eq!(cmd!(c, "GET", "k"), b"$-1\r\n");
    assert_eq!(
        cmd!(c, "SET", "k", "v"),
        b"-NOPERM this user has no permissions to run the 'set' command\r\n"
    );
    let mut admin = s.raw();
    cmd!(admin, "ACL", "SETUSER", "zed", "on", "nopass", "+ping");
    assert_eq!(cmd!(admin, "ACL", "SAVE"), b"+OK\r\n");
    let text = std::fs::read_to_string(dir.join("users.acl")).unwrap();
    assert!(
        text.contains("user zed on nopass resetchannels -@all +ping\n"),
        "{text}"
    );
    // LOAD replaces the users: eve's connection goes.
    assert_eq!(cmd!(admin, "ACL", "LOAD"), b"+OK\r\n");
    assert!(c.closed());
    std::fs::write(dir.join("users.acl"), "user zed on nopass\nuser zed off\n").unwrap();
    let err = String::from_utf8(cmd!(admin, "ACL", "LOAD")).unwrap();
    assert!(err.contains("Duplicate user 'zed' found"), "{err}");
    assert_eq!(
        cmd!(admin, "ACL", "USERS"),
        b"*3\r\n$7\r\ndefault\r\n$3\r\neve\r\n$3\r\nzed\r\n"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_ferrodis"))
        .args(["--port", "0", "--user", "foo", "--user", "foo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Duplicate user"));

    let out = Command::new(env!("CARGO_BIN_EXE_ferrodis"))
        .args(["--port", "0", "--user", "default on nopass"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let s = Server::start_with(&["--user", "default", "on", "nopass", "~*", "+@all", "-flushdb"]);
    let mut c = s.raw();
    assert_eq!(
        cmd!(c, "FLUSHDB"),
        b"-NOPERM this user has no permissions to run the 'flushdb' command\r\n"
    );
    // No &*: with acl-pubsub-default resetchannels the default user has no channels.
    assert_eq!(
        cmd!(c, "PUBLISH", "ch", "m"),
        b"-NOPERM this user has no permissions to access one of the channels used as arguments\r\n"
    );
}

#[test]
fn scripts_run_with_the_callers_permissions() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "ACL", "SETUSER", "lua", "on", "nopass", "+@scripting", "+get", "~k*");
    assert_eq!(cmd!(c, "AUTH", "lua", "x"), b"+OK\r\n");
    assert_eq!(
        cmd!(c, "EVAL", "return redis.call('get', KEYS[1])", "1", "k1"),
        b"$-1\r\n"
    );
    let r = String::from_utf8(cmd!(c, "EVAL", "return redis.call('set', 'k1', 'v')", "0")).unwrap();
    assert!(
        r.starts_with("-ERR The user executing the script can't run this command or subcommand"),
        "{r}"
    );
    assert_eq!(
        cmd!(c, "EVAL", "return redis.acl_check_cmd('get', 'k2')", "0"),
        b":1\r\n"
    );
    assert_eq!(
        cmd!(c, "EVAL", "return redis.acl_check_cmd('get', 'zz')", "0"),
        b"$-1\r\n"
    );
    assert_eq!(cmd!(c, "AUTH", "default", "x"), b"+OK\r\n");
    let log = String::from_utf8(cmd!(c, "ACL", "LOG", "1")).unwrap();
    assert!(log.contains("$3\r\nlua\r\n") && log.contains("$3\r\nset\r\n"), "{log}");
}

/// CLIENT LIST `cmd=` and the ACL LOG's client info name the command a client sent
/// last, also when it was refused (NULL when unknown); inside a transaction, EXEC.
#[test]
fn the_last_command_is_the_one_sent_even_if_refused() {
    let s = Server::start();
    let mut admin = s.raw();
    let mut c = s.raw();
    cmd!(c, "CLIENT", "SETNAME", "probe");
    let cmd_of = |admin: &mut crate::harness::Raw| {
        let list = String::from_utf8(cmd!(admin, "CLIENT", "LIST")).unwrap();
        let line = list.lines().find(|l| l.contains("name=probe")).unwrap().to_string();
        line.split(' ')
            .find_map(|f| f.strip_prefix("cmd="))
            .unwrap()
            .to_string()
    };
    cmd!(c, "NOSUCHCOMMAND");
    assert_eq!(cmd_of(&mut admin), "NULL");
    cmd!(c, "GET");
    assert_eq!(cmd_of(&mut admin), "get");
    cmd!(c, "MULTI");
    cmd!(c, "INCR", "n");
    cmd!(c, "EXEC");
    assert_eq!(cmd_of(&mut admin), "exec");
    cmd!(admin, "ACL", "SETUSER", "u", "on", ">p", "+set", "~*");
    cmd!(c, "AUTH", "u", "p");
    assert_eq!(cmd!(c, "GET", "k")[..8], *b"-NOPERM ");
    let log = String::from_utf8(cmd!(admin, "ACL", "LOG", "1")).unwrap();
    assert!(log.contains(" cmd=get "), "{log}");
}

/// HELLO's options take effect one by one: a failing AUTH or a bad name stops there,
/// after what came before it (a name set before a failing AUTH stays).
#[test]
fn hello_options_take_effect_in_order() {
    let s = Server::start_with(&["--requirepass", "pw"]);
    let mut c = s.raw();
    let wrongpass = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    assert_eq!(
        cmd!(c, "HELLO", "2", "AUTH", "default", "bad", "AUTH", "default", "pw"),
        wrongpass
    );
    assert_eq!(
        cmd!(c, "HELLO", "2", "SETNAME", "early", "AUTH", "default", "bad"),
        wrongpass
    );
    assert_eq!(cmd!(c, "AUTH", "pw"), b"+OK\r\n");
    assert_eq!(cmd!(c, "CLIENT", "GETNAME"), b"$5\r\nearly\r\n");
    assert!(cmd!(c, "HELLO", "2", "SETNAME", "c1", "SETNAME", "c2").starts_with(b"*14\r\n"));
    assert_eq!(cmd!(c, "CLIENT", "GETNAME"), b"$2\r\nc2\r\n");
    assert_eq!(
        cmd!(c, "HELLO", "2", "SETNAME", "c5", "SETNAME", "c6", "SETNAME", "c x"),
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(cmd!(c, "CLIENT", "GETNAME"), b"$2\r\nc6\r\n");
}

/// EXEC refused before it runs (arity, authentication, permissions) discards the
/// transaction and the watched keys and answers EXECABORT with the reason, in MULTI or
/// not, as Redis's rejectCommand does; the error counts as EXECABORT.
#[test]
fn a_refused_exec_aborts_with_the_reason_in_or_out_of_multi() {
    let s = Server::start();
    let mut admin = s.raw();
    let mut c = s.raw();
    let arity = b"-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n";
    assert_eq!(cmd!(c, "EXEC", "now"), arity);
    assert_eq!(cmd!(c, "MULTI"), b"+OK\r\n");
    assert_eq!(cmd!(c, "SET", "k", "1"), b"+QUEUED\r\n");
    assert_eq!(cmd!(c, "EXEC", "now"), arity);
    assert_eq!(cmd!(c, "EXEC"), b"-ERR EXEC without MULTI\r\n");
    assert_eq!(cmd!(c, "EXISTS", "k"), b":0\r\n");
    // Out of MULTI, a refused EXEC still forgets the watched keys.
    assert_eq!(cmd!(c, "WATCH", "w"), b"+OK\r\n");
    assert_eq!(cmd!(c, "EXEC", "x"), arity);
    assert_eq!(cmd!(admin, "SET", "w", "changed"), b"+OK\r\n");
    assert_eq!(cmd!(c, "MULTI"), b"+OK\r\n");
    assert_eq!(cmd!(c, "SET", "k", "2"), b"+QUEUED\r\n");
    assert_eq!(cmd!(c, "EXEC"), b"*1\r\n+OK\r\n");
    // Permissions.
    assert_eq!(
        cmd!(admin, "ACL", "SETUSER", "noexec", "on", "nopass", "+@all", "-exec", "~*"),
        b"+OK\r\n"
    );
    assert_eq!(cmd!(c, "AUTH", "noexec", "x"), b"+OK\r\n");
    let noperm = b"-EXECABORT Transaction discarded because of: NOPERM this user has no permissions to run the 'exec' command\r\n";
    assert_eq!(cmd!(c, "EXEC"), noperm);
    assert_eq!(cmd!(c, "MULTI"), b"+OK\r\n");
    assert_eq!(cmd!(c, "EXEC"), noperm);
    // Authentication.
    assert_eq!(cmd!(admin, "CONFIG", "SET", "requirepass", "pw"), b"+OK\r\n");
    let mut anon = s.raw();
    assert_eq!(
        cmd!(anon, "EXEC"),
        b"-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n"
    );
    let stats = String::from_utf8(cmd!(admin, "INFO", "errorstats")).unwrap();
    assert!(stats.contains("errorstat_EXECABORT:count=6"), "{stats}");
    // Only "EXEC without MULTI" is an ERR.
    assert!(stats.contains("errorstat_ERR:count=1\r\n"), "{stats}");
}
