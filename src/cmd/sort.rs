//! SORT and SORT_RO: sort a list, set or sorted set numerically or lexically, by its
//! elements or by keys/hash fields named by a pattern, with LIMIT, GET and STORE.
//! Redis compat: sort.c (option grammar, the "dontsort" BY-constant case, LIMIT
//! clamping, ties broken by element bytes, strtod score parsing).
use std::borrow::Cow;
use std::cmp::Ordering;

use super::error::{self, CmdError, CmdResult};
use super::spec::*;
use super::{Args, Ctx};
use crate::db::{Obj, Value, ValueRef};

const G: &str = "generic";

/// Parses a score like C's strtod with Redis's checks: the whole string must be used,
/// no overflow, not NaN. An empty string is 0.
fn strtod(b: &[u8]) -> Option<f64> {
    let (v, whole, range) = crate::util::num::strtod(b);
    (whole && !range && !v.is_nan()).then_some(v)
}

/// The value a BY/GET pattern names for `elem`. Redis compat: sort.c lookupKeyByPattern.
fn lookup_pattern(ctx: &mut Ctx, pat: &[u8], elem: &[u8]) -> Option<Vec<u8>> {
    if pat == b"#" {
        return Some(elem.to_vec());
    }
    let star = pat.iter().position(|&c| c == b'*')?;
    let after = pat.get(star + 1..).unwrap_or_default();
    let arrow = after
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&i| i + 2 < after.len());
    let (post, field) = match arrow {
        Some(i) => (after.get(..i).unwrap_or_default(), after.get(i + 2..)),
        None => (after, None),
    };
    let mut key = Vec::with_capacity(pat.len() + elem.len());
    key.extend_from_slice(pat.get(..star).unwrap_or_default());
    key.extend_from_slice(elem);
    key.extend_from_slice(post);
    let o = ctx.read_key(&key)?;
    match (o.value(), field) {
        (ValueRef::Hash(h), Some(f)) => h.get(f).map(|v| v.to_vec()),
        (ValueRef::Str(s), None) => Some(s.to_vec()),
        _ => None,
    }
}

struct Item {
    elem: Vec<u8>,
    score: f64,
    cmp: Option<Vec<u8>>,
}

fn sort_generic(ctx: &mut Ctx, a: &Args, readonly: bool) -> CmdResult {
    let (mut desc, mut alpha, mut dontsort) = (false, false, false);
    let (mut limit_start, mut limit_count): (i64, i64) = (0, -1);
    let mut store: Option<&[u8]> = None;
    let mut by: Option<&[u8]> = None;
    let mut gets: Vec<&[u8]> = Vec::new();
    let full_access = ctx.full_key_access(a.argv, KS_ACCESS);
    let mut j = 2;
    while j < a.len() {
        let left = a.len() - j - 1;
        if a.is(j, "asc") {
            desc = false;
        } else if a.is(j, "desc") {
            desc = true;
        } else if a.is(j, "alpha") {
            alpha = true;
        } else if a.is(j, "limit") && left >= 2 {
            limit_start = a.i64(j + 1)?;
            limit_count = a.i64(j + 2)?;
            j += 2;
        } else if !readonly && a.is(j, "store") && left >= 1 {
            store = Some(a.at(j + 1));
            j += 1;
        } else if a.is(j, "by") && left >= 1 {
            by = Some(a.at(j + 1));
            dontsort = !a.at(j + 1).contains(&b'*');
            if !dontsort && ctx.srv.cluster.is_some() {
                return Err(CmdError::new("ERR BY option of SORT denied in Cluster mode."));
            }
            if !dontsort && !full_access {
                return Err(CmdError::new(
                    "ERR BY option of SORT denied due to insufficient ACL permissions.",
                ));
            }
            j += 1;
        } else if a.is(j, "get") && left >= 1 {
            if ctx.srv.cluster.is_some() {
                return Err(CmdError::new("ERR GET option of SORT denied in Cluster mode."));
            }
            if !full_access {
                return Err(CmdError::new(
                    "ERR GET option of SORT denied due to insufficient ACL permissions.",
                ));
            }
            gets.push(a.at(j + 1));
            j += 1;
        } else {
            return Err(error::SYNTAX);
        }
        j += 1;
    }
    let now = ctx.now_ms;
    // Redis compat: sort.c converts a listpack sorted set to a skiplist before sorting
    // it, whatever the outcome (OBJECT ENCODING and DUMP show it afterwards).
    // Only such a key is looked up for writing (a snapshot under way saves it first).
    let db = &mut ctx.srv.dbs[ctx.db];
    if db.peek(a.at(1), now).is_some_and(|o| o.enc() == crate::db::Enc::ZsetLp) {
        let lim = ctx.limits();
        if let Some(mut z) = ctx.srv.dbs[ctx.db].get_mut(a.at(1), now).and_then(|o| o.zset_mut(&lim)) {
            z.convert();
        }
    }
    let mut is_set = false;
    let mut ordered = true;
    // Elements in their natural order (hash order for sets).
    let elems: Vec<Vec<u8>> = match ctx.read_key(a.at(1)) {
        None => Vec::new(),
        Some(o) => match o.value() {
            ValueRef::List(l) => l.iter().map(|e| e.as_ref().to_vec()).collect(),
            ValueRef::Set(s) => {
                is_set = true;
                ordered = false;
                s.iter().map(|m| m.into_owned()).collect()
            }
            ValueRef::ZSet(z) => z.iter_from(0).map(|(m, _)| m.to_vec()).collect(),
            _ => return Err(error::WRONGTYPE),
        },
    };
    let from_script = crate::script::api::script_running();
    if dontsort && is_set && (store.is_some() || from_script) {
        // Redis compat: a stored result, or one a script sees, must not depend on hash
        // order (replicas and the AOF replay it).
        dontsort = false;
        alpha = true;
        by = None;
    }
    let len = elems.len() as i64;
    let start = limit_start.clamp(0, len);
    let count = limit_count.clamp(-1, len);
    let (mut start, mut end) = (start, if count < 0 { len - 1 } else { start + count - 1 });
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    let mut items: Vec<Item> = elems
        .into_iter()
        .map(|elem| Item {
            elem,
            score: 0.0,
            cmp: None,
        })
        .collect();
    if dontsort {
        if desc && ordered {
            items.reverse();
        }
    } else {
        let mut bad = false;
        // Weights: looked up by the BY pattern, else the elements themselves (an
        // alphabetical sort of the elements needs none).
        for it in items.iter_mut().filter(|_| !alpha || by.is_some()) {
            let byval = match by {
                Some(p) => match lookup_pattern(ctx, p, &it.elem) {
                    Some(v) => Cow::Owned(v),
                    None => continue,
                },
                None => Cow::Borrowed(it.elem.as_slice()),
            };
            if alpha {
                it.cmp = Some(byval.into_owned());
            } else {
                match strtod(&byval) {
                    Some(s) => it.score = s,
                    None => bad = true,
                }
            }
        }
        if bad {
            return Err(CmdError::new("ERR One or more scores can't be converted into double"));
        }
        let by_pattern = by.is_some();
        let cmp = |x: &Item, y: &Item| {
            let c = if !alpha {
                match x.score.partial_cmp(&y.score) {
                    Some(Ordering::Equal) | None => x.elem.cmp(&y.elem),
                    Some(o) => o,
                }
            } else if by_pattern {
                match (&x.cmp, &y.cmp) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(p), Some(q)) => p.cmp(q),
                }
            } else {
                x.elem.cmp(&y.elem)
            };
            if desc {
                c.reverse()
            } else {
                c
            }
        };
        // Redis compat: sort.c sorts a part of the elements with pqsort when BY is
        // given (its order among equal weights differs from a full sort's), the
        // whole with the C library's stable qsort.
        if by_pattern && (start != 0 || end != len - 1) {
            crate::util::pqsort::partial_sort(&mut items, start, end, &cmp);
        } else {
            items.sort_by(cmp);
        }
    }
    let range: &[Item] = if end >= start && start >= 0 {
        items.get(start as usize..=end as usize).unwrap_or_default()
    } else {
        &[]
    };
    let mut results: Vec<Option<Cow<[u8]>>> = Vec::with_capacity(range.len() * gets.len().max(1));
    for it in range {
        if gets.is_empty() {
            results.push(Some(Cow::Borrowed(&it.elem)));
        }
        for g in &gets {
            results.push(lookup_pattern(ctx, g, &it.elem).map(Cow::Owned));
        }
    }
    let Some(dst) = store else {
        ctx.out.array(results.len());
        for r in &results {
            match r {
                Some(v) => ctx.out.bulk(v),
                None => ctx.out.null(),
            }
        }
        return Ok(());
    };
    let n = results.len();
    if n > 0 {
        let mut l = ctx.limits().new_list();
        for r in &results {
            l.push_back(r.as_deref().unwrap_or_default());
        }
        // Redis compat: sort.c sortCommandGeneric: one change per element stored.
        ctx.store_value(dst, Obj::new_value(dst, Value::List(l)), "sortstore", n);
    } else if ctx.db().remove(dst) {
        ctx.modified(dst, "del");
    }
    ctx.out.int(n as i64);
    Ok(())
}

fn sort(ctx: &mut Ctx, a: &Args) -> CmdResult {
    sort_generic(ctx, a, false)
}

fn sort_ro(ctx: &mut Ctx, a: &Args) -> CmdResult {
    sort_generic(ctx, a, true)
}

pub const COMMANDS: &[CommandSpec] = &[
    cmd("sort", -2, WRITE | DENYOOM | MOVABLE_KEYS, ACL_SET | ACL_SORTEDSET | ACL_LIST | ACL_DANGEROUS, sort)
        .specs(SORT_SPECS)
        .keys_with(keys_sort, KS_RO | KS_ACCESS)
        .other_keys(KS_OW | KS_UPDATE)
        .doc(G, "1.0.0", "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).", "Sorts the elements in a list, a set, or a sorted set, optionally storing the result."),
    cmd("sort_ro", -2, READONLY | MOVABLE_KEYS, ACL_SET | ACL_SORTEDSET | ACL_LIST | ACL_DANGEROUS, sort_ro)
        .specs(SORT_RO_SPECS)
        .keys(1, 1, 1, KS_RO | KS_ACCESS)
        .doc(G, "7.0.0", "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).", "Returns the sorted elements of a list, a set, or a sorted set."),
];

#[cfg(test)]
mod tests {
    use super::strtod;

    #[test]
    fn strtod_like_redis() {
        assert_eq!(strtod(b"1.5"), Some(1.5));
        assert_eq!(strtod(b""), Some(0.0));
        assert_eq!(strtod(b" 3"), Some(3.0));
        assert_eq!(strtod(b"0x10"), Some(16.0));
        assert_eq!(strtod(b"3abc"), None);
        assert_eq!(strtod(b"nan"), None);
        assert_eq!(strtod(b"1e999"), None);
        assert_eq!(strtod(b"7\0junk"), Some(7.0));
    }
}
