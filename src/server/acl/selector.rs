//! One selector: the commands it allows (a bitmap over the command table, plus
//! allowed first arguments), its key patterns with read/write permissions and its
//! channel patterns; the rules that edit it, the check of a command against it and
//! its description back into rules. Redis compat: acl.c ACLSetSelector,
//! ACLSelectorCheckCmd, ACLDescribeSelectorCommandRules.
use std::collections::BTreeMap;

use super::{Denied, RuleError, PERM_R, PERM_RW, PERM_W};
use crate::cmd::spec::{self, CommandSpec};
use crate::cmd::table;
use crate::util::glob::glob_match;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct KeyPattern {
    pat: Vec<u8>,
    perm: u8,
}

impl KeyPattern {
    pub(super) fn describe(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(match self.perm {
            PERM_R => b"%R~".as_slice(),
            PERM_W => b"%W~",
            _ => b"~",
        });
        out.extend_from_slice(&self.pat);
    }
}

/// One set of permissions. A user has a root selector and any number of others; a
/// command runs if any selector allows it whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    pub(super) root: bool,
    pub(super) allkeys: bool,
    pub(super) allchannels: bool,
    pub(super) allcommands: bool,
    /// Set by +@all: commands added later would be allowed (Redis's reserved bit).
    future: bool,
    bits: Vec<u64>,
    /// Command id -> first arguments allowed while the command itself is not.
    firstargs: BTreeMap<usize, Vec<Vec<u8>>>,
    pub(super) keys: Vec<KeyPattern>,
    pub(super) channels: Vec<Vec<u8>>,
}

pub fn has_spaces(s: &[u8]) -> bool {
    s.iter().any(|&c| c.is_ascii_whitespace() || c == 0 || c == 0x0b)
}

/// Looks a command up by its ACL name: "get", "config|get". Redis compat: acl.c
/// ACLLookupCommand (the original table, unaffected by renames).
pub fn lookup_command(name: &[u8]) -> Option<usize> {
    let t = table();
    let parts: Vec<&[u8]> = name.split(|&c| c == b'|').collect();
    if parts.len() > 2 {
        return None;
    }
    let id = t.top_id(parts[0])?;
    match parts.get(1) {
        None => Some(id),
        Some(_) => {
            let spec = t.specs.get(id)?;
            if spec.subcommands.is_empty() {
                return None;
            }
            t.lookup_id(&parts).filter(|&s| s != id)
        }
    }
}

fn category_flag(name: &[u8]) -> Option<u64> {
    spec::ACL_NAMES
        .iter()
        .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(name))
        .map(|(f, _)| *f)
}

/// Ids of the subcommands of `id` (empty for plain commands).
fn subcommand_ids(id: usize) -> std::ops::Range<usize> {
    let t = table();
    let n = t.specs.get(id).map(|s| s.subcommands.len()).unwrap_or(0);
    (id + 1)..(id + 1 + n)
}

fn is_subcommand(id: usize) -> bool {
    table().names.get(id).is_some_and(|n| n.contains('|'))
}

/// Every command and subcommand in table order: a container is followed by its
/// subcommands.
fn all_ids() -> std::ops::Range<usize> {
    0..table().specs.len()
}

fn categories_of(id: usize) -> u64 {
    table().specs.get(id).map(|s| s.acl_categories()).unwrap_or(0)
}

impl Selector {
    pub(super) fn new(root: bool, allchannels: bool) -> Self {
        Selector {
            root,
            allkeys: false,
            allchannels,
            allcommands: false,
            future: false,
            bits: vec![0; table().specs.len().div_ceil(64)],
            firstargs: BTreeMap::new(),
            keys: Vec::new(),
            channels: Vec::new(),
        }
    }

    pub(super) fn bit(&self, id: usize) -> bool {
        self.bits.get(id / 64).is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if let Some(w) = self.bits.get_mut(id / 64) {
            if on {
                *w |= 1 << (id % 64);
            } else {
                *w &= !(1 << (id % 64));
                self.allcommands = false;
            }
        }
    }

    /// Allows or blocks a command, and a container's subcommands with it.
    fn change_perm(&mut self, id: usize, allow: bool) {
        self.set_bit(id, allow);
        self.firstargs.remove(&id);
        for s in subcommand_ids(id) {
            self.set_bit(s, allow);
        }
    }

    pub(super) fn set_category(&mut self, flag: u64, allow: bool) {
        for id in all_ids() {
            if categories_of(id) & flag != 0 {
                self.change_perm(id, allow);
            }
        }
    }

    fn count_category(&self, flag: u64) -> (usize, usize) {
        let (mut on, mut off) = (0, 0);
        for id in all_ids() {
            if categories_of(id) & flag != 0 {
                if self.bit(id) {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        }
        (on, off)
    }

    pub(super) fn all_commands(&mut self, on: bool) {
        let fill = if on { u64::MAX } else { 0 };
        self.bits.iter_mut().for_each(|w| *w = fill);
        self.allcommands = on;
        self.future = on;
        self.firstargs.clear();
    }

    /// Applies one selector rule. Redis compat: acl.c ACLSetSelector.
    pub(super) fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("allkeys") || op == b"~*" {
            self.allkeys = true;
            self.keys.clear();
        } else if is("resetkeys") {
            self.allkeys = false;
            self.keys.clear();
        } else if is("allchannels") || op == b"&*" {
            self.allchannels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.allchannels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.all_commands(true);
        } else if is("nocommands") || is("-@all") {
            self.all_commands(false);
        } else if op.first() == Some(&b'~') || op.first() == Some(&b'%') {
            if self.allkeys {
                return Err(RuleError::KeysAfterAll);
            }
            let (perm, pat) = if op[0] == b'%' {
                let mut perm = 0;
                let mut rest = None;
                for (i, &c) in op.iter().enumerate().skip(1) {
                    match c.to_ascii_uppercase() {
                        b'R' if perm & PERM_R == 0 => perm |= PERM_R,
                        b'W' if perm & PERM_W == 0 => perm |= PERM_W,
                        b'~' => {
                            rest = op.get(i + 1..);
                            break;
                        }
                        _ => return Err(RuleError::Syntax),
                    }
                }
                match rest {
                    Some(p) if perm != 0 => (perm, p),
                    _ => return Err(RuleError::Syntax),
                }
            } else {
                (PERM_RW, &op[1..])
            };
            if has_spaces(pat) {
                return Err(RuleError::Syntax);
            }
            match self.keys.iter_mut().find(|k| k.pat == pat) {
                Some(k) => k.perm |= perm,
                None => self.keys.push(KeyPattern {
                    pat: pat.to_vec(),
                    perm,
                }),
            }
            self.allkeys = false;
        } else if op.first() == Some(&b'&') {
            if self.allchannels {
                return Err(RuleError::ChannelsAfterAll);
            }
            let pat = &op[1..];
            if has_spaces(pat) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pat) {
                self.channels.push(pat.to_vec());
            }
            self.allchannels = false;
        } else if op.first() == Some(&b'+') && op.get(1) != Some(&b'@') {
            let name = &op[1..];
            match name.iter().rposition(|&c| c == b'|') {
                None => {
                    let id = lookup_command(name).ok_or(RuleError::Unknown)?;
                    self.change_perm(id, true);
                }
                Some(bar) => {
                    let (base, sub) = (&name[..bar], &name[bar + 1..]);
                    let id = lookup_command(base).ok_or(RuleError::Unknown)?;
                    if is_subcommand(id) {
                        return Err(RuleError::SubcommandFirstArg);
                    }
                    if sub.is_empty() {
                        return Err(RuleError::Syntax);
                    }
                    if table().specs.get(id).is_some_and(|s| !s.subcommands.is_empty()) {
                        let sid = lookup_command(name).ok_or(RuleError::Unknown)?;
                        self.change_perm(sid, true);
                    } else {
                        tracing::warn!(
                            "Deprecation warning: Allowing a first arg of an otherwise blocked command is a misuse of ACL and may get disabled in the future (offender: +{})",
                            String::from_utf8_lossy(name)
                        );
                        let list = self.firstargs.entry(id).or_default();
                        if !list.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                            list.push(sub.to_vec());
                        }
                    }
                }
            }
        } else if op.first() == Some(&b'-') && op.get(1) != Some(&b'@') {
            let id = lookup_command(&op[1..]).ok_or(RuleError::Unknown)?;
            self.change_perm(id, false);
        } else if matches!(op.first(), Some(b'+' | b'-')) && op.get(1) == Some(&b'@') {
            let flag = category_flag(&op[2..]).ok_or(RuleError::Unknown)?;
            self.set_category(flag, op[0] == b'+');
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// Whether this selector lets `argv` (command `id`) run; Err carries the refused
    /// argument position. Redis compat: acl.c ACLSelectorCheckCmd.
    pub(super) fn check(
        &self,
        id: usize,
        spec: &CommandSpec,
        argv: &[&[u8]],
        keys: &mut Option<Vec<(usize, u32)>>,
    ) -> Result<(), (Denied, usize)> {
        if !self.allcommands && spec.flags & spec::NO_AUTH == 0 && !self.bit(id) {
            let idx = if is_subcommand(id) { 2 } else { 1 };
            let allowed = argv.len() >= 2
                && self
                    .firstargs
                    .get(&id)
                    .zip(argv.get(idx))
                    .is_some_and(|(list, arg)| list.iter().any(|a| a.eq_ignore_ascii_case(arg)));
            if !allowed {
                return Err((Denied::Cmd, 0));
            }
        }
        if !self.allkeys && spec.has_keys() {
            let refs = keys.get_or_insert_with(|| spec.key_refs(argv));
            for &(pos, flags) in refs.iter().filter(|(_, f)| f & spec::KS_NOT_KEY == 0) {
                let key = argv.get(pos).copied().unwrap_or_default();
                if !self.key_allowed(key, flags) {
                    return Err((Denied::Key, pos));
                }
            }
        }
        if !self.allchannels {
            for (pos, pattern) in channel_refs(spec, argv) {
                let ch = argv.get(pos).copied().unwrap_or_default();
                if !channel_allowed(&self.channels, ch, pattern) {
                    return Err((Denied::Channel, pos));
                }
            }
        }
        Ok(())
    }

    /// Redis compat: acl.c ACLSelectorCheckKey.
    pub(super) fn key_allowed(&self, key: &[u8], ks_flags: u32) -> bool {
        if self.allkeys {
            return true;
        }
        let need = need_perm(ks_flags);
        self.keys
            .iter()
            .any(|p| p.perm & need == need && glob_match(&p.pat, key, false))
    }

    /// Whether every key may be accessed with `ks_flags`' permissions (`~*`, `%R~*`).
    pub(super) fn unrestricted_keys(&self, ks_flags: u32) -> bool {
        if self.allkeys {
            return true;
        }
        let need = need_perm(ks_flags);
        self.keys.iter().any(|p| p.perm & need == need && p.pat == b"*")
    }

    pub(super) fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.allkeys {
            out.extend_from_slice(b"~* ");
        } else {
            for k in &self.keys {
                k.describe(&mut out);
                out.push(b' ');
            }
        }
        if self.allchannels {
            out.extend_from_slice(b"&* ");
        } else {
            out.extend_from_slice(b"resetchannels ");
            for c in &self.channels {
                out.push(b'&');
                out.extend_from_slice(c);
                out.push(b' ');
            }
        }
        out.extend_from_slice(self.describe_commands().as_bytes());
        out
    }

    /// The shortest rules found that rebuild this selector's command bits: +@all or
    /// -@all, the categories that fit best, then single commands. Redis compat: acl.c
    /// ACLDescribeSelectorCommandRules.
    pub fn describe_commands(&self) -> String {
        let mut rules = String::new();
        let mut fake = Selector::new(false, false);
        let additive = !self.future;
        if additive {
            rules.push_str("-@all ");
        } else {
            rules.push_str("+@all ");
            fake.all_commands(true);
        }
        let mut temp = Selector::new(false, false);
        temp.bits.clone_from(&self.bits);
        let mut applied = vec![false; spec::ACL_NAMES.len()];
        loop {
            let mut best = None;
            let (mut mindiff, mut maxsame) = (usize::MAX, 0);
            for (j, &(flag, _)) in spec::ACL_NAMES.iter().enumerate() {
                if applied[j] {
                    continue;
                }
                let (on, off) = temp.count_category(flag);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                    best = Some(j);
                    mindiff = diff;
                    maxsame = same;
                }
            }
            let Some(j) = best else { break };
            let (flag, name) = spec::ACL_NAMES[j];
            fake.set_category(flag, additive);
            temp.set_category(flag, !additive);
            rules.push_str(if additive { "+@" } else { "-@" });
            rules.push_str(name);
            rules.push(' ');
            applied[j] = true;
        }
        let t = table();
        for id in all_ids() {
            let user = self.bit(id);
            if user != fake.bit(id) {
                rules.push(if user { '+' } else { '-' });
                rules.push_str(&t.names[id]);
                rules.push(' ');
                fake.change_perm(id, user);
            }
            if !user {
                for a in self.firstargs.get(&id).into_iter().flatten() {
                    rules.push('+');
                    rules.push_str(&t.names[id]);
                    rules.push('|');
                    rules.push_str(&String::from_utf8_lossy(a));
                    rules.push(' ');
                }
            }
        }
        rules.pop();
        rules
    }

    pub(super) fn keys_text(&self) -> Vec<u8> {
        if self.allkeys {
            return b"~*".to_vec();
        }
        let mut out = Vec::new();
        for (i, k) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            k.describe(&mut out);
        }
        out
    }

    pub(super) fn channels_text(&self) -> Vec<u8> {
        if self.allchannels {
            return b"&*".to_vec();
        }
        let mut out = Vec::new();
        for (i, c) in self.channels.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.push(b'&');
            out.extend_from_slice(c);
        }
        out
    }
}

/// Key spec flags to the permission a key pattern must grant.
fn need_perm(ks_flags: u32) -> u8 {
    let mut need = 0;
    if ks_flags & spec::KS_ACCESS != 0 {
        need |= PERM_R;
    }
    if ks_flags & (spec::KS_INSERT | spec::KS_DELETE | spec::KS_UPDATE) != 0 {
        need |= PERM_W;
    }
    need
}

/// Channels a command publishes or subscribes to: (position, is a pattern).
/// Redis compat: db.c getChannelsFromCommand (unsubscribing is never checked).
fn channel_refs(spec: &CommandSpec, argv: &[&[u8]]) -> Vec<(usize, bool)> {
    match spec.name {
        "publish" | "spublish" => vec![(1, false)],
        "subscribe" | "ssubscribe" => (1..argv.len()).map(|i| (i, false)).collect(),
        "psubscribe" => (1..argv.len()).map(|i| (i, true)).collect(),
        _ => Vec::new(),
    }
}

/// A channel name matches the patterns; a subscribed pattern must equal one.
pub(super) fn channel_allowed(list: &[Vec<u8>], ch: &[u8], is_pattern: bool) -> bool {
    list.iter()
        .any(|p| if is_pattern { p == ch } else { glob_match(p, ch, false) })
}
