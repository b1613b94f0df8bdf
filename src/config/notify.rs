//! notify-keyspace-events classes as bits, and the parser of its letters.

// Keyspace notification classes. Redis compat: server.h NOTIFY_*.
pub const NOTIFY_KEYSPACE: u32 = 1 << 0;
pub const NOTIFY_KEYEVENT: u32 = 1 << 1;
pub const NOTIFY_GENERIC: u32 = 1 << 2;
pub const NOTIFY_STRING: u32 = 1 << 3;
pub const NOTIFY_LIST: u32 = 1 << 4;
pub const NOTIFY_SET: u32 = 1 << 5;
pub const NOTIFY_HASH: u32 = 1 << 6;
pub const NOTIFY_ZSET: u32 = 1 << 7;
pub const NOTIFY_EXPIRED: u32 = 1 << 8;
pub const NOTIFY_EVICTED: u32 = 1 << 9;
pub const NOTIFY_STREAM: u32 = 1 << 10;
pub const NOTIFY_KEY_MISS: u32 = 1 << 11;
pub const NOTIFY_MODULE: u32 = 1 << 13;
pub const NOTIFY_NEW: u32 = 1 << 14;

/// What 'A' stands for: every class but key misses and new keys.
pub const NOTIFY_ALL: u32 = NOTIFY_GENERIC
    | NOTIFY_STRING
    | NOTIFY_LIST
    | NOTIFY_SET
    | NOTIFY_HASH
    | NOTIFY_ZSET
    | NOTIFY_EXPIRED
    | NOTIFY_EVICTED
    | NOTIFY_STREAM
    | NOTIFY_MODULE;

/// The class letters in the order CONFIG GET prints them (single classes, when not all
/// of 'A' is on).
const CLASSES: [(u32, char); 11] = [
    (NOTIFY_GENERIC, 'g'),
    (NOTIFY_STRING, '$'),
    (NOTIFY_LIST, 'l'),
    (NOTIFY_SET, 's'),
    (NOTIFY_HASH, 'h'),
    (NOTIFY_ZSET, 'z'),
    (NOTIFY_EXPIRED, 'x'),
    (NOTIFY_EVICTED, 'e'),
    (NOTIFY_STREAM, 't'),
    (NOTIFY_MODULE, 'd'),
    (NOTIFY_NEW, 'n'),
];

/// The letters printed after the classes, in that order.
const CHANNELS: [(u32, char); 3] = [(NOTIFY_KEYSPACE, 'K'), (NOTIFY_KEYEVENT, 'E'), (NOTIFY_KEY_MISS, 'm')];

/// Parses notify-keyspace-events letters; None when one is unknown.
pub fn parse(s: &str) -> Option<u32> {
    s.chars().try_fold(0, |f, c| {
        let bit = match c {
            'A' => NOTIFY_ALL,
            _ => CLASSES.iter().chain(&CHANNELS).find(|(_, l)| *l == c)?.0,
        };
        Some(f | bit)
    })
}

/// Parses notify-keyspace-events letters (already validated by the config layer).
pub fn parse_flags(s: &str) -> u32 {
    parse(s).unwrap_or(0)
}

/// Letters that parse back to exactly `flags`: those CONFIG GET shows, with 'n'
/// after 'A' when new-key events are on too.
pub fn flags_to_letters(flags: u32) -> String {
    let mut out = flags_to_string(flags);
    if flags & NOTIFY_ALL == NOTIFY_ALL && flags & NOTIFY_NEW != 0 {
        out.insert(1, 'n');
    }
    out
}

/// The letters CONFIG GET shows for `flags`: 'A' when every class of it is on, else
/// the classes one by one (with 'n', which 'A' does not show), then K, E and m.
/// Redis compat: notify.c keyspaceEventsFlagsToString.
pub fn flags_to_string(flags: u32) -> String {
    let classes: &[(u32, char)] = if flags & NOTIFY_ALL == NOTIFY_ALL {
        &[]
    } else {
        &CLASSES
    };
    let mut out = String::new();
    if classes.is_empty() {
        out.push('A');
    }
    for (bit, c) in classes.iter().chain(&CHANNELS) {
        if flags & bit != 0 {
            out.push(*c);
        }
    }
    out
}
