//! Access control lists: users, their selectors (allowed commands, key and channel
//! patterns), the rules that edit them, their description back into rules, and the
//! permission check run before each command. Redis compat: acl.c.
use std::collections::{BTreeMap, VecDeque};

use crate::cmd::spec::CommandSpec;

mod selector;
use selector::channel_allowed;
pub use selector::{has_spaces, lookup_command, Selector};

/// Key pattern permissions (`%R~`, `%W~`, `~` is both).
pub const PERM_R: u8 = 1;
pub const PERM_W: u8 = 2;
pub(crate) const PERM_RW: u8 = 3;

/// Why a command was refused; the order is Redis's (a higher value is the more
/// relevant error when several selectors fail).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denied {
    Cmd = 1,
    Key = 2,
    Auth = 3,
    Channel = 4,
}

impl Denied {
    pub fn reason(self) -> &'static str {
        match self {
            Denied::Cmd => "command",
            Denied::Key => "key",
            Denied::Auth => "auth",
            Denied::Channel => "channel",
        }
    }

    /// The NOPERM reply of a refused command. Redis compat: server.c processCommand.
    pub fn noperm(self, fullname: &str) -> String {
        match self {
            Denied::Cmd => format!("NOPERM this user has no permissions to run the '{fullname}' command"),
            Denied::Key => "NOPERM this user has no permissions to access one of the keys used as arguments".into(),
            Denied::Channel => {
                "NOPERM this user has no permissions to access one of the channels used as arguments".into()
            }
            Denied::Auth => "no permission".into(),
        }
    }

    /// Why a queued command no longer runs at EXEC. Redis compat: multi.c execCommand.
    pub fn exec_reason(self) -> &'static str {
        match self {
            Denied::Cmd => "no permission to execute the command or subcommand",
            Denied::Key => "no permission to touch the specified keys",
            Denied::Channel => "no permission to access one of the channels used as arguments",
            Denied::Auth => "no permission",
        }
    }

    /// The text a script sees. Redis compat: acl.c getAclErrorMessage.
    pub fn script_text(self) -> &'static str {
        match self {
            Denied::Cmd => "can't run this command or subcommand",
            Denied::Key => "can't access at least one of the keys mentioned in the command arguments",
            Denied::Channel => "can't publish to the channel mentioned in the command",
            Denied::Auth => "lacking the permissions for the command",
        }
    }
}

/// Why a rule could not be applied. Redis compat: acl.c ACLSetUserStringError.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleError {
    Syntax,
    Unknown,
    KeysAfterAll,
    ChannelsAfterAll,
    NoSuchPassword,
    BadHash,
    Duplicate,
    SubcommandFirstArg,
}

impl RuleError {
    pub fn text(self) -> &'static str {
        match self {
            RuleError::Unknown => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::KeysAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelsAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::Duplicate => "Duplicate user found. A user can only be defined once in config files",
            RuleError::SubcommandFirstArg => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

pub fn hash_password(pass: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(pass);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn valid_hash(h: &[u8]) -> bool {
    h.len() == 64 && h.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// Compares in time independent of where the strings differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: Vec<u8>,
    pub enabled: bool,
    pub nopass: bool,
    /// skip-sanitize-payload (Some(false)) or sanitize-payload (Some(true)).
    pub sanitize: Option<bool>,
    passwords: Vec<String>,
    /// The root selector first.
    selectors: Vec<Selector>,
    described: Described,
}

/// A user's rules as text, kept until a rule changes: ACL LIST and ACL SAVE describe
/// every user, and working out the command rules counts the whole command table once
/// per category. Never part of a user's identity. Redis compat: acl.c `acl_string`.
#[derive(Clone, Debug, Default)]
struct Described(std::sync::OnceLock<Vec<u8>>);

impl PartialEq for Described {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Described {}

impl User {
    pub fn new(name: &[u8], allchannels: bool) -> Self {
        User {
            name: name.to_vec(),
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            selectors: vec![Selector::new(true, allchannels)],
            described: Described::default(),
        }
    }

    /// The user every connection starts as: everything allowed, no password.
    pub fn default_user() -> Self {
        let mut u = User::new(b"default", false);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            let _ = u.apply(op.as_bytes(), false);
        }
        u
    }

    fn root(&mut self) -> &mut Selector {
        &mut self.selectors[0]
    }

    /// Applies one user rule. Redis compat: acl.c ACLSetUser.
    pub fn apply(&mut self, op: &[u8], pubsub_all: bool) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        self.described = Described::default();
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.sanitize = Some(false);
        } else if is("sanitize-payload") {
            self.sanitize = Some(true);
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if matches!(op[0], b'>' | b'#') {
            let hash = if op[0] == b'>' {
                hash_password(&op[1..])
            } else {
                if !valid_hash(&op[1..]) {
                    return Err(RuleError::BadHash);
                }
                String::from_utf8_lossy(&op[1..]).into_owned()
            };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.nopass = false;
        } else if matches!(op[0], b'<' | b'!') {
            let hash = if op[0] == b'<' {
                hash_password(&op[1..])
            } else {
                if !valid_hash(&op[1..]) {
                    return Err(RuleError::BadHash);
                }
                String::from_utf8_lossy(&op[1..]).into_owned()
            };
            let at = self
                .passwords
                .iter()
                .position(|p| *p == hash)
                .ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op.last() == Some(&b')') {
            let inner = &op[1..op.len() - 1];
            let args = crate::resp::parse::split_args(inner).ok_or(RuleError::Syntax)?;
            let mut s = Selector::new(false, pubsub_all);
            for a in &args {
                s.apply(a)?;
            }
            self.selectors.push(s);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            self.nopass = false;
            self.passwords.clear();
            let root = self.root();
            root.allkeys = false;
            root.keys.clear();
            root.allchannels = pubsub_all;
            root.channels.clear();
            self.enabled = false;
            self.sanitize = Some(true);
            self.selectors.truncate(1);
            self.root().all_commands(false);
        } else {
            self.root().apply(op)?;
        }
        Ok(())
    }

    /// Whether `pass` logs this user in.
    pub fn password_ok(&self, pass: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let h = hash_password(pass);
        self.passwords.iter().any(|p| same_secret(p.as_bytes(), h.as_bytes()))
    }

    /// Everything allowed: no need to look at the command.
    pub fn unrestricted(&self) -> bool {
        let r = &self.selectors[0];
        r.allcommands && r.allkeys && r.allchannels
    }

    /// Whether `argv` may run; Err: the most relevant refusal and the position of the
    /// refused key or channel. Redis compat: acl.c ACLCheckAllUserCommandPerm.
    pub fn check(&self, id: usize, spec: &CommandSpec, argv: &[&[u8]]) -> Result<(), (Denied, usize)> {
        if self.unrestricted() {
            return Ok(());
        }
        let mut keys = None;
        let mut relevant = (Denied::Cmd, 0);
        for s in &self.selectors {
            match s.check(id, spec, argv, &mut keys) {
                Ok(()) => return Ok(()),
                Err((d, pos)) => {
                    if d > relevant.0 || (d == relevant.0 && pos > relevant.1) {
                        relevant = (d, pos);
                    }
                }
            }
        }
        Err(relevant)
    }

    /// Whether the command may run and every key may be accessed with `ks_flags`.
    /// Redis compat: acl.c ACLUserCheckCmdWithUnrestrictedKeyAccess.
    pub fn check_with_all_keys(&self, id: usize, spec: &CommandSpec, argv: &[&[u8]], ks_flags: u32) -> bool {
        let mut keys = None;
        self.selectors
            .iter()
            .any(|s| s.check(id, spec, argv, &mut keys).is_ok() && s.unrestricted_keys(ks_flags))
    }

    /// Whether any selector lets this user access `key` with `ks_flags`.
    pub fn key_allowed(&self, key: &[u8], ks_flags: u32) -> bool {
        self.selectors.iter().any(|s| s.key_allowed(key, ks_flags))
    }

    /// Whether the user may use a channel (or subscribe to a pattern).
    pub fn channel_allowed(&self, ch: &[u8], is_pattern: bool) -> bool {
        self.selectors
            .iter()
            .any(|s| s.allchannels || channel_allowed(&s.channels, ch, is_pattern))
    }

    fn all_channels(&self) -> bool {
        self.selectors.iter().any(|s| s.allchannels)
    }

    /// Whether every channel permission of `old` is kept by `self` (subscribers need
    /// not be checked). Redis compat: acl.c ACLKillPubsubClientsIfNeeded.
    pub fn keeps_channels_of(&self, old: &User) -> bool {
        if self.all_channels() {
            return true;
        }
        old.selectors.iter().all(|s| {
            !s.allchannels
                && s.channels
                    .iter()
                    .all(|c| self.selectors.iter().any(|n| n.channels.contains(c)))
        })
    }

    /// Whether a subscription (channel or pattern) survives these permissions: every
    /// channel pattern of every selector, matched the way subscribing is.
    pub fn subscription_allowed(&self, ch: &[u8], is_pattern: bool) -> bool {
        let all: Vec<Vec<u8>> = self.selectors.iter().flat_map(|s| s.channels.iter().cloned()).collect();
        channel_allowed(&all, ch, is_pattern)
    }

    /// The rules that recreate this user (ACL LIST, ACL SAVE, config rewrite).
    /// Redis compat: acl.c ACLDescribeUser.
    pub fn describe(&self) -> &[u8] {
        self.described.0.get_or_init(|| self.describe_rules())
    }

    fn describe_rules(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for f in self.flag_names() {
            out.extend_from_slice(f.as_bytes());
            out.push(b' ');
        }
        for p in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(p.as_bytes());
            out.push(b' ');
        }
        for s in &self.selectors {
            if s.root {
                out.extend_from_slice(&s.describe());
            } else {
                out.extend_from_slice(b" (");
                out.extend_from_slice(&s.describe());
                out.push(b')');
            }
        }
        out
    }

    /// `user <name> <rules>`: a line of the ACL file and of ACL LIST.
    pub fn line(&self) -> Vec<u8> {
        let mut l = b"user ".to_vec();
        l.extend_from_slice(&self.name);
        l.push(b' ');
        l.extend_from_slice(self.describe());
        l
    }

    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut v = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            v.push("nopass");
        }
        match self.sanitize {
            Some(false) => v.push("skip-sanitize-payload"),
            Some(true) => v.push("sanitize-payload"),
            None => {}
        }
        v
    }

    pub fn passwords(&self) -> &[String] {
        &self.passwords
    }

    /// (commands, keys, channels) of the root selector then of each other selector.
    pub fn selector_texts(&self) -> Vec<(String, Vec<u8>, Vec<u8>)> {
        self.selectors
            .iter()
            .map(|s| (s.describe_commands(), s.keys_text(), s.channels_text()))
            .collect()
    }
}

/// Merges selector rules spread over several arguments: `(~a` `+get)` -> `(~a +get)`.
/// Err: the index of the argument opening an unclosed parenthesis. Redis compat:
/// acl.c ACLMergeSelectorArguments.
pub fn merge_selector_args(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, usize> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (j, &op) in args.iter().enumerate() {
        if let Some((start, mut sel)) = open.take() {
            sel.push(b' ');
            sel.extend_from_slice(op);
            if op.last() == Some(&b')') {
                out.push(sel);
            } else {
                open = Some((start, sel));
            }
            continue;
        }
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((j, op.to_vec()));
            continue;
        }
        out.push(op.to_vec());
    }
    match open {
        Some((start, _)) => Err(start),
        None => Ok(out),
    }
}

/// Where a refused command was running, for the ACL log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogContext {
    Toplevel,
    Multi,
    Lua,
}

impl LogContext {
    pub fn name(self) -> &'static str {
        match self {
            LogContext::Toplevel => "toplevel",
            LogContext::Multi => "multi",
            LogContext::Lua => "lua",
        }
    }
}

pub struct LogEntry {
    pub count: u64,
    pub reason: Denied,
    pub context: LogContext,
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    pub ctime_ms: i64,
    pub cinfo: String,
}

/// Users by name (sorted, as ACL LIST shows them) in a table of stable ids; id 0 is
/// always the default user.
pub struct Acl {
    default: User,
    /// Other users by id (slot 0, the default user's id, stays empty).
    users: Vec<Option<User>>,
    names: BTreeMap<Vec<u8>, usize>,
    pub log: VecDeque<LogEntry>,
}

pub const DEFAULT_USER: usize = 0;

impl Default for Acl {
    fn default() -> Self {
        let mut names = BTreeMap::new();
        names.insert(b"default".to_vec(), DEFAULT_USER);
        Acl {
            default: User::default_user(),
            users: vec![None],
            names,
            log: VecDeque::new(),
        }
    }
}

impl Acl {
    pub fn user(&self, id: usize) -> &User {
        match self.users.get(id).and_then(|u| u.as_ref()) {
            Some(u) => u,
            None => &self.default,
        }
    }

    pub fn default_user(&self) -> &User {
        &self.default
    }

    pub fn default_user_mut(&mut self) -> &mut User {
        &mut self.default
    }

    pub fn id_of(&self, name: &[u8]) -> Option<usize> {
        self.names.get(name).copied()
    }

    pub fn get(&self, name: &[u8]) -> Option<&User> {
        self.id_of(name).map(|id| self.user(id))
    }

    /// Users in name order.
    pub fn iter(&self) -> impl Iterator<Item = &User> {
        self.names.values().map(|&id| self.user(id))
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Whether connections start logged in (the default user is on with nopass).
    pub fn default_logs_in(&self) -> bool {
        let d = self.default_user();
        d.nopass && d.enabled
    }

    /// Stores `u` under its name, replacing the user of that name; returns its id.
    pub fn put(&mut self, u: User) -> usize {
        if u.name == b"default" {
            self.default = u;
            return DEFAULT_USER;
        }
        if let Some(id) = self.id_of(&u.name) {
            if let Some(slot) = self.users.get_mut(id) {
                *slot = Some(u);
            }
            return id;
        }
        let name = u.name.clone();
        let id = match self.users.iter().skip(1).position(|s| s.is_none()).map(|i| i + 1) {
            Some(free) => {
                self.users[free] = Some(u);
                free
            }
            None => {
                self.users.push(Some(u));
                self.users.len() - 1
            }
        };
        self.names.insert(name, id);
        id
    }

    /// Removes a user (never the default one); returns its id.
    pub fn remove(&mut self, name: &[u8]) -> Option<usize> {
        let id = self.id_of(name).filter(|&id| id != DEFAULT_USER)?;
        self.names.remove(name);
        if let Some(slot) = self.users.get_mut(id) {
            *slot = None;
        }
        Some(id)
    }

    /// Replaces every user but keeps the default user's id. Returns the ids dropped.
    pub fn replace_all(&mut self, users: Vec<User>) -> Vec<usize> {
        let dropped: Vec<usize> = self.names.values().copied().filter(|&id| id != DEFAULT_USER).collect();
        let mut fresh = Acl::default();
        let mut default = None;
        for u in users {
            if u.name == b"default" {
                default = Some(u);
            } else {
                fresh.put(u);
            }
        }
        *fresh.default_user_mut() = default.unwrap_or_else(User::default_user);
        fresh.log = std::mem::take(&mut self.log);
        *self = fresh;
        dropped
    }

    /// Sets the default user's password from `requirepass` (none: nopass).
    /// Redis compat: acl.c ACLUpdateDefaultUserPassword.
    pub fn set_requirepass(&mut self, pass: Option<&[u8]>) {
        let d = self.default_user_mut();
        let _ = d.apply(b"resetpass", false);
        match pass {
            Some(p) => {
                let mut op = b">".to_vec();
                op.extend_from_slice(p);
                let _ = d.apply(&op, false);
            }
            None => {
                let _ = d.apply(b"nopass", false);
            }
        }
    }

    /// Adds an entry to the log, or counts it on a similar recent one.
    /// Redis compat: acl.c addACLLogEntry.
    pub fn log_event(&mut self, e: LogEntry, max_len: usize) {
        let similar = self.log.iter().take(10).position(|c| {
            c.reason == e.reason
                && c.context == e.context
                && (c.ctime_ms - e.ctime_ms).abs() <= 60_000
                && c.object == e.object
                && c.username == e.username
        });
        if let Some(i) = similar {
            if let Some(mut m) = self.log.remove(i) {
                m.cinfo = e.cinfo;
                m.ctime_ms = e.ctime_ms;
                m.count += 1;
                self.log.push_front(m);
            }
            return;
        }
        self.log.push_front(e);
        self.log.truncate(max_len);
    }
}

/// Applies rules to a copy of `base` (or a new user): all of them or none.
/// Redis compat: acl.c ACLStringSetUser.
pub fn edited_user(base: Option<&User>, name: &[u8], ops: &[&[u8]], pubsub_all: bool) -> Result<User, String> {
    let merged = merge_selector_args(ops).map_err(|i| {
        format!(
            "Unmatched parenthesis in acl selector starting at '{}'.",
            String::from_utf8_lossy(ops.get(i).copied().unwrap_or_default())
        )
    })?;
    let mut u = base.cloned().unwrap_or_else(|| User::new(name, pubsub_all));
    for op in &merged {
        u.apply(op, pubsub_all).map_err(|e| {
            format!(
                "Error in ACL SETUSER modifier '{}': {}",
                String::from_utf8_lossy(op),
                e.text()
            )
        })?;
    }
    Ok(u)
}

/// Parses ACL file text into users. Err: every problem found, in one line.
/// Redis compat: acl.c ACLLoadFromFile.
pub fn parse_acl_file(text: &str, filename: &str, pubsub_all: bool) -> Result<Vec<User>, String> {
    let mut errors = String::new();
    let mut users: Vec<User> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let linenum = i + 1;
        let line = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        if line.is_empty() {
            continue;
        }
        let argv: Vec<&[u8]> = line
            .as_bytes()
            .split(|&c| c == b' ')
            .filter(|a| !a.is_empty())
            .collect();
        if argv.is_empty() {
            continue;
        }
        if argv[0] != b"user" || argv.len() < 2 {
            errors.push_str(&format!(
                "{filename}:{linenum} should start with user keyword followed by the username. "
            ));
            continue;
        }
        let name = argv[1];
        if users.iter().any(|u| u.name == name) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{}' found on line {linenum}. ",
                String::from_utf8_lossy(name)
            ));
            continue;
        }
        let mut u = User::new(name, pubsub_all);
        let merged = match merge_selector_args(&argv[2..]) {
            Ok(m) => m,
            Err(_) => {
                errors.push_str(&format!(
                    "{filename}:{linenum}: Unmatched parenthesis in selector definition."
                ));
                Vec::new()
            }
        };
        let mut syntax_error = false;
        for op in &merged {
            let op: &[u8] = {
                let s = op.as_slice();
                let start = s.iter().position(|c| !b"\t\r\n".contains(c)).unwrap_or(s.len());
                let end = s.iter().rposition(|c| !b"\t\r\n".contains(c)).map_or(start, |e| e + 1);
                &s[start..end.max(start)]
            };
            if let Err(e) = u.apply(op, pubsub_all) {
                if e == RuleError::Unknown {
                    errors.push_str(&format!(
                        "{filename}:{linenum}: Error in applying operation '{}': {}. ",
                        String::from_utf8_lossy(op),
                        e.text()
                    ));
                } else if !syntax_error {
                    errors.push_str(&format!("{filename}:{linenum}: {}. ", e.text()));
                    syntax_error = true;
                }
            }
        }
        users.push(u);
    }
    if errors.is_empty() {
        Ok(users)
    } else {
        errors.push_str("WARNING: ACL errors detected, no change to the previously active ACL rules was performed");
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::{spec, table};

    fn user(ops: &[&str]) -> User {
        let mut u = User::new(b"u", false);
        for op in ops {
            u.apply(op.as_bytes(), false).unwrap();
        }
        u
    }

    fn commands(ops: &[&str]) -> String {
        user(ops).selector_texts()[0].0.clone()
    }

    #[test]
    fn describes_single_categories_exactly() {
        for (_, cat) in spec::ACL_NAMES {
            assert_eq!(commands(&["+@all", &format!("-@{cat}")]), format!("+@all -@{cat}"));
            assert_eq!(commands(&["-@all", &format!("+@{cat}")]), format!("-@all +@{cat}"));
        }
    }

    #[test]
    fn subcommands_fold_into_their_container() {
        assert_eq!(commands(&["+memory|doctor"]), "-@all +memory|doctor");
        assert_eq!(commands(&["+memory|doctor", "+memory"]), "-@all +memory");
        assert_eq!(commands(&["+@all", "-client|kill"]), "+@all -client|kill");
        assert_eq!(commands(&["+@all", "+client|id"]), "+@all");
        assert_eq!(commands(&["-@all", "+select|0"]), "-@all +select|0");
    }

    #[test]
    fn rule_errors() {
        let mut u = User::new(b"u", false);
        assert_eq!(
            u.apply(b"+config|get|appendonly", false),
            Err(RuleError::SubcommandFirstArg)
        );
        assert_eq!(u.apply(b"+config|asdf", false), Err(RuleError::Unknown));
        assert_eq!(u.apply(b"-get|key1|key2", false), Err(RuleError::Unknown));
        assert_eq!(u.apply(b"+debug|", false), Err(RuleError::Syntax));
        assert_eq!(u.apply(b"#abc", false), Err(RuleError::BadHash));
        assert_eq!(u.apply(b"<nope", false), Err(RuleError::NoSuchPassword));
        assert_eq!(u.apply(b"%X~foo", false), Err(RuleError::Syntax));
        assert_eq!(u.apply(b"%RR~foo", false), Err(RuleError::Syntax));
        u.apply(b"~*", false).unwrap();
        assert_eq!(u.apply(b"~foo", false), Err(RuleError::KeysAfterAll));
    }

    #[test]
    fn passwords_hash_with_sha256() {
        let u = user(&["on", ">passwd4"]);
        assert_eq!(
            u.passwords()[0],
            "34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6"
        );
        assert!(u.password_ok(b"passwd4"));
        assert!(!u.password_ok(b"passwd5"));
        assert!(!user(&["off", "nopass"]).password_ok(b"x"));
    }

    #[test]
    fn selectors_allow_separately() {
        let u = user(&["on", "+get", "~a*", "(+set ~b*)"]);
        assert_eq!(
            u.describe(),
            b"on ~a* resetchannels -@all +get (~b* resetchannels -@all +set)"
        );
        let t = table();
        let get = t.lookup_id(&[b"get"]).unwrap();
        let set = t.lookup_id(&[b"set"]).unwrap();
        let (gs, ss) = (t.specs[get], t.specs[set]);
        assert!(u.check(get, gs, &[b"get", b"a1"]).is_ok());
        assert_eq!(u.check(get, gs, &[b"get", b"b1"]), Err((Denied::Key, 1)));
        assert!(u.check(set, ss, &[b"set", b"b1", b"v"]).is_ok());
        assert_eq!(u.check(set, ss, &[b"set", b"a1", b"v"]), Err((Denied::Key, 1)));
    }

    #[test]
    fn the_rules_text_follows_every_change() {
        let mut u = user(&["on", "+get", "~a*"]);
        assert_eq!(u.describe(), b"on ~a* resetchannels -@all +get");
        u.apply(b"+set", false).unwrap();
        assert_eq!(u.describe(), b"on ~a* resetchannels -@all +get +set");
        u.apply(b"off", false).unwrap();
        u.apply(b"allkeys", false).unwrap();
        assert_eq!(u.line(), b"user u off ~* resetchannels -@all +get +set");
        // A rule refused halfway leaves no stale text behind.
        assert!(u.apply(b"+nosuchcommand", false).is_err());
        assert_eq!(u.clone().describe(), u.describe_rules().as_slice());
    }

    #[test]
    fn the_default_user_may_do_anything() {
        assert_eq!(
            User::default_user().line(),
            b"user default on nopass ~* &* +@all".to_vec()
        );
    }

    #[test]
    fn merges_selector_arguments() {
        let args: [&[u8]; 4] = [b"on", b"(~a", b"+get)", b"+set"];
        assert_eq!(
            merge_selector_args(&args).unwrap(),
            vec![b"on".to_vec(), b"(~a +get)".to_vec(), b"+set".to_vec()]
        );
        let open: [&[u8]; 2] = [b"on", b"(~a"];
        assert_eq!(merge_selector_args(&open), Err(1));
    }
}
