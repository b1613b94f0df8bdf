//! COMMAND DOCS: what each command's arguments are, for tools that build their help
//! from the server (redis-cli's `help` and hints). Only COMMAND DOCS reads this.
//!
//! Each command's arguments are written in one line of a compact notation, parsed on
//! first use:
//!
//! ```text
//! item   := '[' body ']'            optional
//!         | body
//! body   := head suffix*
//! head   := word                    a pure token, named after it in lower case
//!         | word '=' word           a pure token and its name
//!         | [word '>'] word ':' type             an argument, with its token
//!         | [word '>'] word '(' item* ')'        a block of arguments
//!         | [word '>'] word '(' item ('|' item)+ ')'   one of them
//! suffix := '*' multiple | '**' multiple, each with its token | '#' n key spec index
//!         | '@' version since | '!' version deprecated since
//! word   := [A-Za-z0-9_-]+ | "'" anything but "'" "'"
//! ```
//!
//! Arguments of type `key` take the next key spec index unless `#n` gives it (the
//! count goes on from n).

use super::Ctx;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

/// One argument as COMMAND DOCS describes it.
#[derive(Debug, PartialEq)]
pub struct Arg {
    pub name: Cow<'static, str>,
    pub kind: &'static str,
    pub token: Option<&'static str>,
    pub key_spec: Option<u32>,
    pub since: Option<&'static str>,
    pub deprecated_since: Option<&'static str>,
    pub optional: bool,
    pub multiple: bool,
    pub multiple_token: bool,
    pub args: Vec<Arg>,
}

const LEAF_TYPES: &[&str] = &["key", "string", "integer", "double", "pattern", "unix-time"];

/// Parses one command's line of the notation.
pub fn parse(s: &'static str) -> Result<Vec<Arg>, String> {
    let mut p = Parser {
        s,
        at: 0,
        next_key_spec: 0,
    };
    let (args, oneof) = p.list(None)?;
    if oneof {
        return p.err("'|' outside parentheses");
    }
    Ok(args)
}

struct Parser {
    s: &'static str,
    at: usize,
    next_key_spec: u32,
}

impl Parser {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.at).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.at += hit as usize;
        hit
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {} of {:?}", self.at, self.s))
    }

    /// Items up to `close` (the end of the line when None), and whether they were
    /// separated by '|' (alternatives) rather than spaces.
    fn list(&mut self, close: Option<u8>) -> Result<(Vec<Arg>, bool), String> {
        let mut items = Vec::new();
        let mut bars = 0;
        loop {
            while self.eat(b' ') {}
            if self.peek() == close {
                self.at += close.is_some() as usize;
                break;
            }
            if self.peek().is_none() {
                return self.err("')' expected");
            }
            if !items.is_empty() && self.eat(b'|') {
                bars += 1;
                while self.eat(b' ') {}
            }
            items.push(self.item()?);
        }
        if bars > 0 && bars + 1 != items.len() {
            return self.err("'|' and spaces mixed");
        }
        Ok((items, bars > 0))
    }

    fn word(&mut self) -> Result<&'static str, String> {
        let s = self.s;
        if self.eat(b'\'') {
            let start = self.at;
            let Some(len) = s[start..].find('\'') else {
                return self.err("unclosed quote");
            };
            self.at = start + len + 1;
            return Ok(&s[start..start + len]);
        }
        let start = self.at;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')) {
            self.at += 1;
        }
        if self.at == start {
            return self.err("a word expected");
        }
        Ok(&s[start..self.at])
    }

    fn item(&mut self) -> Result<Arg, String> {
        let optional = self.eat(b'[');
        let mut a = self.head()?;
        loop {
            if self.eat(b'*') {
                a.multiple = true;
                a.multiple_token = self.eat(b'*');
            } else if self.eat(b'#') {
                let n: u32 = self.word()?.parse().or_else(|_| self.err("a number expected"))?;
                a.key_spec = Some(n);
                self.next_key_spec = n + 1;
            } else if self.eat(b'@') {
                a.since = Some(self.word()?);
            } else if self.eat(b'!') {
                a.deprecated_since = Some(self.word()?);
            } else {
                break;
            }
        }
        if optional && !self.eat(b']') {
            return self.err("']' expected");
        }
        a.optional = optional;
        Ok(a)
    }

    fn head(&mut self) -> Result<Arg, String> {
        let first = self.word()?;
        let mut a = Arg {
            name: Cow::Borrowed(first),
            kind: "pure-token",
            token: None,
            key_spec: None,
            since: None,
            deprecated_since: None,
            optional: false,
            multiple: false,
            multiple_token: false,
            args: Vec::new(),
        };
        if self.eat(b'=') {
            a.token = Some(first);
            a.name = Cow::Borrowed(self.word()?);
            return Ok(a);
        }
        if self.eat(b'>') {
            a.token = Some(first);
            a.name = Cow::Borrowed(self.word()?);
        }
        if self.eat(b':') {
            let kind = self.word()?;
            let Some(kind) = LEAF_TYPES.iter().find(|t| **t == kind) else {
                return self.err("unknown type");
            };
            a.kind = kind;
            if *kind == "key" {
                a.key_spec = Some(self.next_key_spec);
                self.next_key_spec += 1;
            }
        } else if self.eat(b'(') {
            let (args, oneof) = self.list(Some(b')'))?;
            a.args = args;
            a.kind = if oneof { "oneof" } else { "block" };
        } else if a.token.is_none() {
            a.token = Some(first);
            a.name = Cow::Owned(first.to_ascii_lowercase());
        } else {
            return self.err("':' or '(' expected after a token");
        }
        Ok(a)
    }
}

/// What COMMAND DOCS says of a command beyond its summary: its arguments, and
/// whether it is deprecated or a system command.
#[derive(Default)]
pub struct Docs {
    pub args: Vec<Arg>,
    pub syscmd: bool,
    /// (since, what to use instead)
    pub deprecated: Option<(&'static str, &'static str)>,
}

/// The docs of a command by its full name ("get", "config|set").
pub fn docs(full: &str) -> Option<&'static Docs> {
    static TABLE: OnceLock<HashMap<&'static str, Docs>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            let mut t: HashMap<&'static str, Docs> = HashMap::new();
            for &(name, line) in ARGS {
                // The notation is checked by the unit tests: a line that does not
                // parse gives no arguments rather than a failure.
                t.entry(name).or_default().args = parse(line).unwrap_or_default();
            }
            for &name in SYSCMDS {
                t.entry(name).or_default().syscmd = true;
            }
            for &(name, since, instead) in DEPRECATED {
                t.entry(name).or_default().deprecated = Some((since, instead));
            }
            t
        })
        .get(full)
}

impl Docs {
    /// How many map entries `reply` adds.
    pub fn fields(&self) -> usize {
        (self.syscmd || self.deprecated.is_some()) as usize
            + 2 * self.deprecated.is_some() as usize
            + !self.args.is_empty() as usize
    }

    /// doc_flags, deprecated_since, replaced_by and arguments, as Redis orders them
    /// (the history, between replaced_by and arguments, is not kept).
    pub fn reply_flags(&self, ctx: &mut Ctx) {
        if self.syscmd || self.deprecated.is_some() {
            ctx.out.bulk(b"doc_flags");
            ctx.out.set(1);
            ctx.out.simple(if self.syscmd { "syscmd" } else { "deprecated" });
        }
        if let Some((since, instead)) = self.deprecated {
            ctx.out.bulk(b"deprecated_since");
            ctx.out.bulk(since.as_bytes());
            ctx.out.bulk(b"replaced_by");
            ctx.out.bulk(instead.as_bytes());
        }
    }

    pub fn reply_args(&self, ctx: &mut Ctx) {
        if !self.args.is_empty() {
            ctx.out.bulk(b"arguments");
            reply_arg_list(ctx, &self.args);
        }
    }
}

fn reply_arg_list(ctx: &mut Ctx, args: &[Arg]) {
    ctx.out.array(args.len());
    for a in args {
        let flags = a.optional as usize + a.multiple as usize + a.multiple_token as usize;
        let n = 2
            + a.key_spec.is_some() as usize
            + a.token.is_some() as usize
            + a.since.is_some() as usize
            + a.deprecated_since.is_some() as usize
            + (flags > 0) as usize
            + matches!(a.kind, "oneof" | "block") as usize;
        ctx.out.map(n);
        ctx.out.bulk(b"name");
        ctx.out.bulk(a.name.as_bytes());
        ctx.out.bulk(b"type");
        ctx.out.bulk(a.kind.as_bytes());
        if let Some(k) = a.key_spec {
            ctx.out.bulk(b"key_spec_index");
            ctx.out.int(k as i64);
        }
        if let Some(t) = a.token {
            ctx.out.bulk(b"token");
            ctx.out.bulk(t.as_bytes());
        }
        if let Some(v) = a.since {
            ctx.out.bulk(b"since");
            ctx.out.bulk(v.as_bytes());
        }
        if let Some(v) = a.deprecated_since {
            ctx.out.bulk(b"deprecated_since");
            ctx.out.bulk(v.as_bytes());
        }
        if flags > 0 {
            ctx.out.bulk(b"flags");
            ctx.out.set(flags);
            for (on, f) in [
                (a.optional, "optional"),
                (a.multiple, "multiple"),
                (a.multiple_token, "multiple_token"),
            ] {
                if on {
                    ctx.out.simple(f);
                }
            }
        }
        if matches!(a.kind, "oneof" | "block") {
            ctx.out.bulk(b"arguments");
            reply_arg_list(ctx, &a.args);
        }
    }
}

/// Commands meant for servers and tools rather than applications.
const SYSCMDS: &[&str] = &["debug", "pfdebug", "pfselftest", "replconf", "restore-asking"];

/// Deprecated commands: (name, since, what to use instead).
const DEPRECATED: &[(&str, &str, &str)] = &[
    ("brpoplpush", "6.2.0", "`BLMOVE source destination RIGHT LEFT timeout`"),
    ("cluster|slaves", "5.0.0", "`CLUSTER REPLICAS`"),
    ("cluster|slots", "7.0.0", "`CLUSTER SHARDS`"),
    ("georadius", "6.2.0", "`GEOSEARCH` or `GEOSEARCHSTORE`, with `BYRADIUS`"),
    ("georadius_ro", "6.2.0", "`GEOSEARCH` with `BYRADIUS`"),
    (
        "georadiusbymember",
        "6.2.0",
        "`GEOSEARCH` or `GEOSEARCHSTORE`, with `FROMMEMBER` and `BYRADIUS`",
    ),
    (
        "georadiusbymember_ro",
        "6.2.0",
        "`GEOSEARCH` with `FROMMEMBER` and `BYRADIUS`",
    ),
    ("getset", "6.2.0", "`SET key value GET`"),
    ("hmset", "4.0.0", "`HSET`, which takes several field-value pairs"),
    ("rpoplpush", "6.2.0", "`LMOVE source destination RIGHT LEFT`"),
    ("slaveof", "5.0.0", "`REPLICAOF`"),
    ("substr", "2.0.0", "`GETRANGE`"),
    ("zrangebylex", "6.2.0", "`ZRANGE` with `BYLEX`"),
    ("zrangebyscore", "6.2.0", "`ZRANGE` with `BYSCORE`"),
    ("zrevrange", "6.2.0", "`ZRANGE` with `REV`"),
    ("zrevrangebylex", "6.2.0", "`ZRANGE` with `REV` and `BYLEX`"),
    ("zrevrangebyscore", "6.2.0", "`ZRANGE` with `REV` and `BYSCORE`"),
];

/// The arguments of every command and subcommand that takes any, by full name.
pub const ARGS: &[(&str, &str)] = &[
    ("acl|cat", "[categoryname:string]"),
    ("acl|deluser", "username:string*"),
    ("acl|dryrun", "username:string command:string [arg:string*]"),
    ("acl|genpass", "[bits:integer]"),
    ("acl|getuser", "username:string"),
    ("acl|log", "[operation(count:integer|RESET)]"),
    ("acl|setuser", "username:string [rule:string*]"),
    ("append", "key:key value:string"),
    ("auth", "[username:string@6.0.0] password:string"),
    ("bgsave", "[SCHEDULE@3.2.2]"),
    (
        "bitcount",
        "key:key [index(start:integer end:integer [index_unit(BYTE|BIT)@7.0.0])]",
    ),
    (
        "bitfield",
        "key:key [operation(GET>encoding_offset(encoding:string offset:integer)| \
        write([OVERFLOW>wrap_sat_fail(WRAP|SAT|FAIL)] write_operation(SET>encoding_offset_value(encoding:string \
        offset:integer value:integer)|INCRBY>encoding_offset_increment(encoding:string offset:integer \
        increment:integer))))*]",
    ),
    (
        "bitfield_ro",
        "key:key [GET>encoding_offset(encoding:string offset:integer)**]",
    ),
    ("bitop", "operation:string destkey:key key:key*"),
    (
        "bitpos",
        "key:key bit:integer [index(start:integer [end_index(end:integer [index_unit(BYTE|BIT)@7.0.0])])]",
    ),
    (
        "blmove",
        "source:key destination:key wherefrom(LEFT|RIGHT) whereto(LEFT|RIGHT) timeout:double",
    ),
    (
        "blmpop",
        "timeout:double numkeys:integer key:key* where(LEFT|RIGHT) [COUNT>count:integer]",
    ),
    ("blpop", "key:key* timeout:double"),
    ("brpop", "key:key* timeout:double"),
    ("brpoplpush", "source:key destination:key timeout:double"),
    (
        "bzmpop",
        "timeout:double numkeys:integer key:key* where(MIN|MAX) [COUNT>count:integer]",
    ),
    ("bzpopmax", "key:key* timeout:double"),
    ("bzpopmin", "key:key* timeout:double"),
    ("client|caching", "mode(YES|NO)"),
    (
        "client|kill",
        "filter('ip:port':string!2.8.12|new-format([ID>client-id:integer@2.8.12]| \
        [TYPE>normal_master_slave_pubsub(NORMAL|MASTER@3.2.0|SLAVE|REPLICA@5.0.0|PUBSUB)@2.8.12]| \
        [USER>username:string]|[ADDR>'ip:port':string]|[LADDR>'ip:port':string@6.2.0]| \
        [SKIPME>'yes/no':string])*)",
    ),
    (
        "client|list",
        "[TYPE>normal_master_replica_pubsub(NORMAL|MASTER|REPLICA|PUBSUB)@5.0.0] \
        [ID>id(client-id:integer*)@6.2.0]",
    ),
    ("client|no-evict", "enabled(ON|OFF)"),
    ("client|pause", "timeout:integer [mode(WRITE|ALL)@6.2.0]"),
    ("client|reply", "on_off_skip(ON|OFF|SKIP)"),
    ("client|setname", "connection-name:string"),
    (
        "client|tracking",
        "status(ON|OFF) [REDIRECT>client-id:integer] [PREFIX>prefix:string**] [BCAST] [OPTIN] \
        [OPTOUT] [NOLOOP]",
    ),
    ("client|unblock", "client-id:integer [timeout_error(TIMEOUT|ERROR)]"),
    ("cluster|addslots", "slot:integer*"),
    (
        "cluster|addslotsrange",
        "start-slot_end-slot(start-slot:integer end-slot:integer)*",
    ),
    ("cluster|count-failure-reports", "node-id:string"),
    ("cluster|countkeysinslot", "slot:integer"),
    ("cluster|delslots", "slot:integer*"),
    (
        "cluster|delslotsrange",
        "start-slot_end-slot(start-slot:integer end-slot:integer)*",
    ),
    ("cluster|failover", "[options(FORCE|TAKEOVER)]"),
    ("cluster|forget", "node-id:string"),
    ("cluster|getkeysinslot", "slot:integer count:integer"),
    ("cluster|keyslot", "key:string"),
    (
        "cluster|meet",
        "ip:string port:integer [cluster_bus_port:integer@4.0.0]",
    ),
    ("cluster|replicas", "node-id:string"),
    ("cluster|replicate", "node-id:string"),
    ("cluster|reset", "[hard_soft(HARD|SOFT)]"),
    ("cluster|set-config-epoch", "config-epoch:integer"),
    (
        "cluster|setslot",
        "slot:integer subcommand(IMPORTING>node-id:string|MIGRATING>node-id:string| \
        NODE>node-id:string|STABLE)",
    ),
    ("cluster|slaves", "node-id:string"),
    ("command|docs", "[command-name:string*]"),
    ("command|info", "[command-name:string*]"),
    (
        "command|list",
        "[FILTERBY>filterby(MODULE>module-name:string|ACLCAT>category:string| \
        PATTERN>pattern:pattern)]",
    ),
    ("config|get", "parameter(parameter:string)*"),
    ("config|set", "parameter_value(parameter:string value:string)*"),
    (
        "copy",
        "source:key destination:key [DB>destination-db:integer] [REPLACE]",
    ),
    ("decr", "key:key"),
    ("decrby", "key:key decrement:integer"),
    ("del", "key:key*"),
    ("dump", "key:key"),
    ("echo", "message:string"),
    ("eval", "script:string numkeys:integer [key:key*] [arg:string*]"),
    ("eval_ro", "script:string numkeys:integer [key:key*] [arg:string*]"),
    ("evalsha", "sha1:string numkeys:integer [key:key*] [arg:string*]"),
    ("evalsha_ro", "sha1:string numkeys:integer [key:key*] [arg:string*]"),
    ("exists", "key:key*"),
    ("expire", "key:key seconds:integer [condition(NX|XX|GT|LT)@7.0.0]"),
    (
        "expireat",
        "key:key unix-time-seconds:unix-time [condition(NX|XX|GT|LT)@7.0.0]",
    ),
    ("expiretime", "key:key"),
    (
        "failover",
        "[TO>target(host:string port:integer [FORCE])] [ABORT] [TIMEOUT>milliseconds:integer]",
    ),
    ("fcall", "function:string numkeys:integer [key:key*] [arg:string*]"),
    ("fcall_ro", "function:string numkeys:integer [key:key*] [arg:string*]"),
    ("flushall", "[async(ASYNC@4.0.0|SYNC@6.2.0)]"),
    ("flushdb", "[async(ASYNC@4.0.0|SYNC@6.2.0)]"),
    ("function|delete", "library-name:string"),
    ("function|flush", "[async(ASYNC|SYNC)]"),
    ("function|list", "[LIBRARYNAME>library-name-pattern:string] [WITHCODE]"),
    ("function|load", "[REPLACE] function-code:string"),
    (
        "function|restore",
        "serialized-value:string [policy(FLUSH|APPEND|REPLACE)]",
    ),
    (
        "geoadd",
        "key:key [condition(NX|XX)@6.2.0] [CH=change@6.2.0] longitude_latitude_member(longitude:double \
        latitude:double member:string)*",
    ),
    ("geodist", "key:key member1:string member2:string [unit(M|KM|FT|MI)]"),
    ("geohash", "key:key member:string*"),
    ("geopos", "key:key member:string*"),
    (
        "georadius",
        "key:key longitude:double latitude:double radius:double unit(M|KM|FT|MI) [WITHCOORD] \
        [WITHDIST] [WITHHASH] [count(COUNT>count:integer [ANY@6.2.0])] [order(ASC|DESC)] [STORE>key:key] \
        [STOREDIST>key:key]",
    ),
    (
        "georadius_ro",
        "key:key longitude:double latitude:double radius:double unit(M|KM|FT|MI) [WITHCOORD] \
        [WITHDIST] [WITHHASH] [count(COUNT>count:integer [ANY@6.2.0])] [order(ASC|DESC)]",
    ),
    (
        "georadiusbymember",
        "key:key member:string radius:double unit(M|KM|FT|MI) [WITHCOORD] [WITHDIST] \
        [WITHHASH] [count(COUNT>count:integer [ANY])] [order(ASC|DESC)] [STORE>key:key] [STOREDIST>key:key]",
    ),
    (
        "georadiusbymember_ro",
        "key:key member:string radius:double unit(M|KM|FT|MI) [WITHCOORD] [WITHDIST] \
        [WITHHASH] [count(COUNT>count:integer [ANY])] [order(ASC|DESC)]",
    ),
    (
        "geosearch",
        "key:key from(FROMMEMBER>member:string|FROMLONLAT>longitude_latitude(longitude:double \
        latitude:double)) by(circle(BYRADIUS>radius:double unit(M|KM|FT|MI))|box(BYBOX>width:double \
        height:double unit(M|KM|FT|MI))) [order(ASC|DESC)] [count(COUNT>count:integer [ANY])] [WITHCOORD] \
        [WITHDIST] [WITHHASH]",
    ),
    (
        "geosearchstore",
        "destination:key source:key from(FROMMEMBER>member:string| \
        FROMLONLAT>longitude_latitude(longitude:double latitude:double)) by(circle(BYRADIUS>radius:double \
        unit(M|KM|FT|MI))|box(BYBOX>width:double height:double unit(M|KM|FT|MI))) [order(ASC|DESC)] \
        [count(COUNT>count:integer [ANY])] [STOREDIST]",
    ),
    ("get", "key:key"),
    ("getbit", "key:key offset:integer"),
    ("getdel", "key:key"),
    (
        "getex",
        "key:key [expiration(EX>seconds:integer|PX>milliseconds:integer|EXAT>unix-time-seconds:unix-time| \
        PXAT>unix-time-milliseconds:unix-time|PERSIST)]",
    ),
    ("getrange", "key:key start:integer end:integer"),
    ("getset", "key:key value:string"),
    ("hdel", "key:key field:string*"),
    (
        "hello",
        "[arguments(protover:integer [AUTH>username_password(username:string password:string)] \
        [SETNAME>clientname:string])]",
    ),
    ("hexists", "key:key field:string"),
    ("hget", "key:key field:string"),
    ("hgetall", "key:key"),
    ("hincrby", "key:key field:string increment:integer"),
    ("hincrbyfloat", "key:key field:string increment:double"),
    ("hkeys", "key:key"),
    ("hlen", "key:key"),
    ("hmget", "key:key field:string*"),
    ("hmset", "key:key field_value(field:string value:string)*"),
    ("hrandfield", "key:key [options(count:integer [WITHVALUES])]"),
    (
        "hscan",
        "key:key cursor:integer [MATCH>pattern:pattern] [COUNT>count:integer]",
    ),
    ("hset", "key:key field_value(field:string value:string)*"),
    ("hsetnx", "key:key field:string value:string"),
    ("hstrlen", "key:key field:string"),
    ("hvals", "key:key"),
    ("incr", "key:key"),
    ("incrby", "key:key increment:integer"),
    ("incrbyfloat", "key:key increment:double"),
    ("info", "[section:string*]"),
    ("keys", "pattern:pattern"),
    ("latency|graph", "event:string"),
    ("latency|histogram", "[command:string*]"),
    ("latency|history", "event:string"),
    ("latency|reset", "[event:string*]"),
    (
        "lcs",
        "key1:key key2:key#0 [LEN] [IDX] [MINMATCHLEN>len:integer] [WITHMATCHLEN]",
    ),
    ("lindex", "key:key index:integer"),
    ("linsert", "key:key where(BEFORE|AFTER) pivot:string element:string"),
    ("llen", "key:key"),
    (
        "lmove",
        "source:key destination:key wherefrom(LEFT|RIGHT) whereto(LEFT|RIGHT)",
    ),
    (
        "lmpop",
        "numkeys:integer key:key* where(LEFT|RIGHT) [COUNT>count:integer]",
    ),
    ("lolwut", "[VERSION>version:integer]"),
    ("lpop", "key:key [count:integer@6.2.0]"),
    (
        "lpos",
        "key:key element:string [RANK>rank:integer] [COUNT>num-matches:integer] [MAXLEN>len:integer]",
    ),
    ("lpush", "key:key element:string*"),
    ("lpushx", "key:key element:string*"),
    ("lrange", "key:key start:integer stop:integer"),
    ("lrem", "key:key count:integer element:string"),
    ("lset", "key:key index:integer element:string"),
    ("ltrim", "key:key start:integer stop:integer"),
    ("memory|usage", "key:key [SAMPLES>count:integer]"),
    ("mget", "key:key*"),
    (
        "migrate",
        "host:string port:integer key_or_empty_string(key:key|''=empty_string) destination-db:integer \
        timeout:integer [COPY@3.0.0] [REPLACE@3.0.0] [authentication([AUTH>password:string@4.0.7]| \
        [AUTH2>username_password(username:string password:string)@6.0.0])] [KEYS>key:key*@3.0.6]",
    ),
    ("module|load", "path:string [arg:string*]"),
    (
        "module|loadex",
        "path:string [CONFIG>configs(name:string value:string)**] [ARGS>args(arg:string)*]",
    ),
    ("module|unload", "name:string"),
    ("move", "key:key db:integer"),
    ("mset", "key_value(key:key value:string)*"),
    ("msetnx", "key_value(key:key value:string)*"),
    ("object|encoding", "key:key"),
    ("object|freq", "key:key"),
    ("object|idletime", "key:key"),
    ("object|refcount", "key:key"),
    ("persist", "key:key"),
    ("pexpire", "key:key milliseconds:integer [condition(NX|XX|GT|LT)@7.0.0]"),
    (
        "pexpireat",
        "key:key unix-time-milliseconds:unix-time [condition(NX|XX|GT|LT)@7.0.0]",
    ),
    ("pexpiretime", "key:key"),
    ("pfadd", "key:key [element:string*]"),
    ("pfcount", "key:key*"),
    ("pfdebug", "subcommand:string key:key"),
    ("pfmerge", "destkey:key sourcekey:key*"),
    ("ping", "[message:string]"),
    ("psetex", "key:key milliseconds:integer value:string"),
    ("psubscribe", "pattern(pattern:pattern)*"),
    ("psync", "replicationid:string offset:integer"),
    ("pttl", "key:key"),
    ("publish", "channel:string message:string"),
    ("pubsub|channels", "[pattern:pattern]"),
    ("pubsub|numsub", "[channel:string*]"),
    ("pubsub|shardchannels", "[pattern:pattern]"),
    ("pubsub|shardnumsub", "[shardchannel:string*]"),
    ("punsubscribe", "[pattern:pattern*]"),
    ("rename", "key:key newkey:key"),
    ("renamenx", "key:key newkey:key"),
    ("replicaof", "args(host-port(host:string port:integer)|no-one(NO ONE))"),
    (
        "restore",
        "key:key ttl:integer serialized-value:string [REPLACE@3.0.0] [ABSTTL@5.0.0] \
        [IDLETIME>seconds:integer@5.0.0] [FREQ>frequency:integer@5.0.0]",
    ),
    (
        "restore-asking",
        "key:key ttl:integer serialized-value:string [REPLACE@3.0.0] [ABSTTL@5.0.0] \
        [IDLETIME>seconds:integer@5.0.0] [FREQ>frequency:integer@5.0.0]",
    ),
    ("rpop", "key:key [count:integer@6.2.0]"),
    ("rpoplpush", "source:key destination:key"),
    ("rpush", "key:key element:string*"),
    ("rpushx", "key:key element:string*"),
    ("sadd", "key:key member:string*"),
    (
        "scan",
        "cursor:integer [MATCH>pattern:pattern] [COUNT>count:integer] [TYPE>type:string@6.0.0]",
    ),
    ("scard", "key:key"),
    ("script|debug", "mode(YES|SYNC|NO)"),
    ("script|exists", "sha1:string*"),
    ("script|flush", "[async(ASYNC|SYNC)@6.2.0]"),
    ("script|load", "script:string"),
    ("sdiff", "key:key*"),
    ("sdiffstore", "destination:key key:key*"),
    ("select", "index:integer"),
    (
        "set",
        "key:key value:string [condition(NX|XX)@2.6.12] [GET@6.2.0] [expiration(EX>seconds:integer@2.6.12| \
        PX>milliseconds:integer@2.6.12|EXAT>unix-time-seconds:unix-time@6.2.0| \
        PXAT>unix-time-milliseconds:unix-time@6.2.0|KEEPTTL@6.0.0)]",
    ),
    ("setbit", "key:key offset:integer value:integer"),
    ("setex", "key:key seconds:integer value:string"),
    ("setnx", "key:key value:string"),
    ("setrange", "key:key offset:integer value:string"),
    (
        "shutdown",
        "[nosave_save(NOSAVE|SAVE)] [NOW@7.0.0] [FORCE@7.0.0] [ABORT@7.0.0]",
    ),
    ("sinter", "key:key*"),
    ("sintercard", "numkeys:integer key:key* [LIMIT>limit:integer]"),
    ("sinterstore", "destination:key key:key*"),
    ("sismember", "key:key member:string"),
    ("slaveof", "args(host-port(host:string port:integer)|no-one(NO ONE))"),
    ("slowlog|get", "[count:integer]"),
    ("smembers", "key:key"),
    ("smismember", "key:key member:string*"),
    ("smove", "source:key destination:key member:string"),
    (
        "sort",
        "key:key [BY>pattern:pattern#1] [LIMIT>offset_count(offset:integer count:integer)] \
        [GET>pattern:pattern#1**] [order(ASC|DESC)] [ALPHA=sorting] [STORE>destination:key]",
    ),
    (
        "sort_ro",
        "key:key [BY>pattern:pattern#1] [LIMIT>offset_count(offset:integer count:integer)] \
        [GET>pattern:pattern#1**] [order(ASC|DESC)] [ALPHA=sorting]",
    ),
    ("spop", "key:key [count:integer@3.2.0]"),
    ("spublish", "shardchannel:string message:string"),
    ("srandmember", "key:key [count:integer@2.6.0]"),
    ("srem", "key:key member:string*"),
    (
        "sscan",
        "key:key cursor:integer [MATCH>pattern:pattern] [COUNT>count:integer]",
    ),
    ("ssubscribe", "shardchannel:string*"),
    ("strlen", "key:key"),
    ("subscribe", "channel:string*"),
    ("substr", "key:key start:integer end:integer"),
    ("sunion", "key:key*"),
    ("sunionstore", "destination:key key:key*"),
    ("sunsubscribe", "[shardchannel:string*]"),
    ("swapdb", "index1:integer index2:integer"),
    ("touch", "key:key*"),
    ("ttl", "key:key"),
    ("type", "key:key"),
    ("unlink", "key:key*"),
    ("unsubscribe", "[channel:string*]"),
    ("wait", "numreplicas:integer timeout:integer"),
    ("watch", "key:key*"),
    ("xack", "key:key group:string id:string*"),
    (
        "xadd",
        "key:key [NOMKSTREAM@6.2.0] [trim(strategy(MAXLEN|MINID@6.2.0) [operator('='=equal| \
        '~'=approximately)] threshold:string [LIMIT>count:integer@6.2.0])] id_or_auto('*'=auto_id|id:string) \
        field_value(field:string value:string)*",
    ),
    (
        "xautoclaim",
        "key:key group:string consumer:string min-idle-time:string start:string [COUNT>count:integer] \
        [JUSTID]",
    ),
    (
        "xclaim",
        "key:key group:string consumer:string min-idle-time:string id:string* [IDLE>ms:integer] \
        [TIME>unix-time-milliseconds:unix-time] [RETRYCOUNT>count:integer] [FORCE] [JUSTID] [LASTID>id:string]",
    ),
    ("xdel", "key:key id:string*"),
    (
        "xgroup|create",
        "key:key groupname:string id(id:string|'$'=new_id) [MKSTREAM] \
        [ENTRIESREAD>entries_read:integer]",
    ),
    ("xgroup|createconsumer", "key:key groupname:string consumername:string"),
    ("xgroup|delconsumer", "key:key groupname:string consumername:string"),
    ("xgroup|destroy", "key:key groupname:string"),
    (
        "xgroup|setid",
        "key:key groupname:string id(id:string|'$'=new_id) [ENTRIESREAD>entries_read:integer]",
    ),
    ("xinfo|consumers", "key:key groupname:string"),
    ("xinfo|groups", "key:key"),
    ("xinfo|stream", "key:key [FULL>full([COUNT>count:integer])]"),
    ("xlen", "key:key"),
    (
        "xpending",
        "key:key group:string [filters([IDLE>min-idle-time:integer@6.2.0] start:string end:string \
        count:integer [consumer:string])]",
    ),
    ("xrange", "key:key start:string end:string [COUNT>count:integer]"),
    (
        "xread",
        "[COUNT>count:integer] [BLOCK>milliseconds:integer] STREAMS>streams(key:key* id:string*)",
    ),
    (
        "xreadgroup",
        "GROUP>group_consumer(group:string consumer:string) [COUNT>count:integer] \
        [BLOCK>milliseconds:integer] [NOACK] STREAMS>streams(key:key* id:string*)",
    ),
    ("xrevrange", "key:key end:string start:string [COUNT>count:integer]"),
    (
        "xsetid",
        "key:key last-id:string [ENTRIESADDED>entries_added:integer@7.0.0] \
        [MAXDELETEDID>max_deleted_entry_id:string@7.0.0]",
    ),
    (
        "xtrim",
        "key:key trim(strategy(MAXLEN|MINID@6.2.0) [operator('='=equal|'~'=approximately)] \
        threshold:string [LIMIT>count:integer@6.2.0])",
    ),
    (
        "zadd",
        "key:key [condition(NX|XX)@3.0.2] [comparison(GT|LT)@6.2.0] [CH=change@3.0.2] \
        [INCR=increment@3.0.2] score_member(score:double member:string)*",
    ),
    ("zcard", "key:key"),
    ("zcount", "key:key min:double max:double"),
    ("zdiff", "numkeys:integer key:key* [WITHSCORES]"),
    ("zdiffstore", "destination:key numkeys:integer key:key*"),
    ("zincrby", "key:key increment:integer member:string"),
    (
        "zinter",
        "numkeys:integer key:key* [WEIGHTS>weight:integer*] [AGGREGATE>aggregate(SUM|MIN|MAX)] \
        [WITHSCORES]",
    ),
    ("zintercard", "numkeys:integer key:key* [LIMIT>limit:integer]"),
    (
        "zinterstore",
        "destination:key numkeys:integer key:key* [WEIGHTS>weight:integer*] \
        [AGGREGATE>aggregate(SUM|MIN|MAX)]",
    ),
    ("zlexcount", "key:key min:string max:string"),
    ("zmpop", "numkeys:integer key:key* where(MIN|MAX) [COUNT>count:integer]"),
    ("zmscore", "key:key member:string*"),
    ("zpopmax", "key:key [count:integer]"),
    ("zpopmin", "key:key [count:integer]"),
    ("zrandmember", "key:key [options(count:integer [WITHSCORES])]"),
    (
        "zrange",
        "key:key start:string stop:string [sortby(BYSCORE|BYLEX)@6.2.0] [REV@6.2.0] \
        [LIMIT>offset_count(offset:integer count:integer)@6.2.0] [WITHSCORES]",
    ),
    (
        "zrangebylex",
        "key:key min:string max:string [LIMIT>offset_count(offset:integer count:integer)]",
    ),
    (
        "zrangebyscore",
        "key:key min:double max:double [WITHSCORES@2.0.0] [LIMIT>offset_count(offset:integer \
        count:integer)]",
    ),
    (
        "zrangestore",
        "dst:key src:key min:string max:string [sortby(BYSCORE|BYLEX)] [REV] \
        [LIMIT>offset_count(offset:integer count:integer)]",
    ),
    ("zrank", "key:key member:string"),
    ("zrem", "key:key member:string*"),
    ("zremrangebylex", "key:key min:string max:string"),
    ("zremrangebyrank", "key:key start:integer stop:integer"),
    ("zremrangebyscore", "key:key min:double max:double"),
    ("zrevrange", "key:key start:integer stop:integer [WITHSCORES]"),
    (
        "zrevrangebylex",
        "key:key max:string min:string [LIMIT>offset_count(offset:integer count:integer)]",
    ),
    (
        "zrevrangebyscore",
        "key:key max:double min:double [WITHSCORES] [LIMIT>offset_count(offset:integer \
        count:integer)]",
    ),
    ("zrevrank", "key:key member:string"),
    (
        "zscan",
        "key:key cursor:integer [MATCH>pattern:pattern] [COUNT>count:integer]",
    ),
    ("zscore", "key:key member:string"),
    (
        "zunion",
        "numkeys:integer key:key* [WEIGHTS>weight:integer*] [AGGREGATE>aggregate(SUM|MIN|MAX)] \
        [WITHSCORES]",
    ),
    (
        "zunionstore",
        "destination:key numkeys:integer key:key* [WEIGHTS>weight:integer*] \
        [AGGREGATE>aggregate(SUM|MIN|MAX)]",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The argument line as redis-cli prints it in its help.
    fn render(args: &[Arg], sep: &str) -> String {
        args.iter()
            .map(|a| {
                let token = a.token.map(|t| {
                    if a.kind == "pure-token" {
                        t.to_string()
                    } else {
                        format!("{t} ")
                    }
                });
                let body = match a.kind {
                    "oneof" => render(&a.args, "|"),
                    "block" => render(&a.args, " "),
                    "pure-token" => String::new(),
                    _ => a.name.to_string(),
                };
                let token = token.unwrap_or_default();
                let mut s = format!("{token}{body}");
                if a.multiple {
                    let again = if a.multiple_token {
                        format!("{token}{body}")
                    } else {
                        body
                    };
                    s = format!("{s} [{again} ...]");
                }
                if a.optional {
                    s = format!("[{s}]");
                }
                s
            })
            .collect::<Vec<_>>()
            .join(sep)
    }

    #[test]
    fn every_line_parses_and_names_a_command() {
        let names: Vec<&str> = ARGS.iter().map(|(n, _)| *n).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted, "sorted, each once");
        let known = |full: &str| {
            let (cmd, sub) = full.split_once('|').unwrap_or((full, ""));
            let Some(c) = crate::cmd::table().get(cmd.as_bytes()) else {
                return false;
            };
            sub.is_empty() || c.subcommands.iter().any(|s| s.name == sub)
        };
        for (name, line) in ARGS {
            assert!(known(name), "{name}");
            let args = parse(line).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!args.is_empty(), "{name}");
        }
        for name in SYSCMDS.iter().chain(DEPRECATED.iter().map(|d| &d.0)) {
            assert!(known(name), "{name}");
            assert!(docs(name).is_some(), "{name}");
        }
    }

    #[test]
    fn lines_render_as_redis_cli_shows_them() {
        let r = |name: &str| render(&docs(name).unwrap().args, " ");
        assert_eq!(
            r("set"),
            "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|\
             PXAT unix-time-milliseconds|KEEPTTL]"
        );
        assert_eq!(r("sort"), "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC|DESC] [ALPHA] [STORE destination]");
        assert_eq!(r("del"), "key [key ...]");
        assert_eq!(r("config|set"), "parameter value [parameter value ...]");
        assert_eq!(r("xadd").rsplit(' ').next(), Some("...]"));
    }

    #[test]
    fn key_spec_indexes_count_keys_unless_given() {
        let ks = |name: &str| {
            fn walk(a: &[Arg], out: &mut Vec<u32>) {
                for x in a {
                    out.extend(x.key_spec);
                    walk(&x.args, out);
                }
            }
            let mut v = Vec::new();
            walk(&docs(name).unwrap().args, &mut v);
            v
        };
        assert_eq!(ks("lmove"), [0, 1]);
        assert_eq!(ks("lcs"), [0, 0]);
        assert_eq!(ks("sort"), [0, 1, 1, 2]);
        assert_eq!(ks("ping"), [] as [u32; 0]);
    }

    #[test]
    fn names_tokens_and_flags() {
        let a = parse("[CH=change@3.0.2] id('*'=auto_id|id:string) f:string** ''=empty_string!6.0.0").unwrap();
        assert_eq!(
            (a[0].name.as_ref(), a[0].token, a[0].since, a[0].optional),
            ("change", Some("CH"), Some("3.0.2"), true)
        );
        assert_eq!(a[1].kind, "oneof");
        assert_eq!((a[1].args[0].name.as_ref(), a[1].args[0].token), ("auto_id", Some("*")));
        assert!(a[2].multiple && a[2].multiple_token && !a[2].optional);
        assert_eq!((a[3].token, a[3].deprecated_since), (Some(""), Some("6.0.0")));
    }

    #[test]
    fn malformed_lines_are_refused() {
        for bad in [
            "key:blob", "a(b c", "[a:key", "a|b", "a(b|c d)", "TOKEN>", "'open", "x:key#y",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
