//! The multi-key algebra: ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD.
//! Plain sets are accepted as inputs, every member scoring 1. Inputs are visited one at
//! a time (the smallest first for union and intersection, like Redis, so floating-point
//! sums come out identical), and the result is sorted once at the end.
//! Redis compat: t_zset.c zunionInterDiffGenericCommand.
use std::borrow::Cow;
use std::collections::HashMap;

use super::{reply_members, store_result};
use crate::cmd::error::{self, CmdError, CmdResult};
use crate::cmd::{Args, Ctx};
use crate::db::set::SetRef;
use crate::db::zset::{cmp_elem, zset_from_sorted, ZSetRef};
use crate::db::{Db, ValueRef};
use crate::util::num;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// Folds `v` into `t`. Redis compat: t_zset.c zunionInterAggregate (+inf + -inf is 0,
/// and a NaN operand never wins MIN or MAX).
fn aggregate(t: &mut f64, v: f64, agg: Aggregate) {
    match agg {
        Aggregate::Sum => {
            *t += v;
            if t.is_nan() {
                *t = 0.0;
            }
        }
        Aggregate::Min => {
            if v < *t {
                *t = v;
            }
        }
        Aggregate::Max => {
            if v > *t {
                *t = v;
            }
        }
    }
}

/// One input key.
struct Input<'k> {
    key: &'k [u8],
    len: usize,
    weight: f64,
}

/// An input's value: a sorted set, or a plain set whose members score 1.
#[derive(Clone, Copy)]
enum Source<'a> {
    Z(ZSetRef<'a>),
    S(SetRef<'a>),
}

impl<'a> Source<'a> {
    fn find(&self, m: &[u8]) -> Option<f64> {
        match self {
            Source::Z(z) => z.score(m),
            Source::S(s) => s.contains(m).then_some(1.0),
        }
    }

    /// Each member with its score, borrowed from the value where it lies there whole.
    fn for_each(&self, mut f: impl FnMut(Cow<'a, [u8]>, f64)) {
        match self {
            Source::Z(z) => z.iter_any().for_each(|(m, s)| f(Cow::Borrowed(m), s)),
            Source::S(s) => s.iter().for_each(|m| f(m, 1.0)),
        }
    }
}

/// The value of an input key already looked up (and type-checked) by the command.
fn source<'a>(db: &'a Db, now: i64, key: &[u8]) -> Option<Source<'a>> {
    match db.peek_ref(key, now)?.value() {
        ValueRef::ZSet(z) => Some(Source::Z(z)),
        ValueRef::Set(s) => Some(Source::S(s)),
        _ => None,
    }
}

/// Member, score pairs of a result, before sorting; members borrowed from the inputs.
type Items<'a> = Vec<(Cow<'a, [u8]>, f64)>;

fn union<'a>(db: &'a Db, now: i64, inputs: &[Input], agg: Aggregate) -> Items<'a> {
    let cap = inputs.last().map_or(0, |i| i.len);
    let mut acc: HashMap<Cow<'a, [u8]>, f64, ahash::RandomState> =
        HashMap::with_capacity_and_hasher(cap, Default::default());
    for inp in inputs.iter().filter(|i| i.len > 0) {
        let Some(src) = source(db, now, inp.key) else {
            continue;
        };
        src.for_each(|m, s| {
            let mut v = inp.weight * s;
            if v.is_nan() {
                v = 0.0;
            }
            match acc.get_mut(m.as_ref()) {
                Some(t) => aggregate(t, v, agg),
                None => {
                    acc.insert(m, v);
                }
            }
        });
    }
    acc.into_iter().collect()
}

fn inter<'a>(db: &'a Db, now: i64, inputs: &[Input], agg: Aggregate) -> Items<'a> {
    let Some(first) = inputs.first().filter(|i| i.len > 0) else {
        return Vec::new();
    };
    let mut cand: Items = Vec::with_capacity(first.len);
    if let Some(src) = source(db, now, first.key) {
        src.for_each(|m, s| {
            let mut v = first.weight * s;
            if v.is_nan() {
                v = 0.0;
            }
            cand.push((m, v));
        });
    }
    for inp in inputs.iter().skip(1) {
        if cand.is_empty() {
            break;
        }
        let Some(src) = source(db, now, inp.key) else {
            return Vec::new();
        };
        cand.retain_mut(|(m, t)| match src.find(m) {
            Some(s) => {
                aggregate(t, s * inp.weight, agg);
                true
            }
            None => false,
        });
    }
    cand
}

fn diff<'a>(db: &'a Db, now: i64, inputs: &[Input]) -> Items<'a> {
    let Some(first) = inputs.first().filter(|i| i.len > 0) else {
        return Vec::new();
    };
    let mut cand: Items = Vec::with_capacity(first.len);
    if let Some(src) = source(db, now, first.key) {
        src.for_each(|m, s| cand.push((m, s)));
    }
    let mut alive = vec![true; cand.len()];
    let mut left = cand.len();
    for inp in inputs.iter().skip(1).filter(|i| i.len > 0) {
        if left == 0 {
            break;
        }
        let Some(src) = source(db, now, inp.key) else {
            continue;
        };
        if inp.len < left {
            // Smaller than what is left: walk it and strike its members.
            let index: HashMap<&[u8], usize, ahash::RandomState> = cand
                .iter()
                .enumerate()
                .filter(|(i, _)| alive.get(*i).copied().unwrap_or(false))
                .map(|(i, (m, _))| (m.as_ref(), i))
                .collect();
            src.for_each(|m, _| {
                if let Some(&i) = index.get(m.as_ref()) {
                    if let Some(a) = alive.get_mut(i) {
                        if *a {
                            *a = false;
                            left -= 1;
                        }
                    }
                }
            });
        } else {
            for (i, (m, _)) in cand.iter().enumerate() {
                if let Some(a) = alive.get_mut(i) {
                    if *a && src.find(m).is_some() {
                        *a = false;
                        left -= 1;
                    }
                }
            }
        }
    }
    let mut alive = alive.into_iter();
    cand.retain(|_| alive.next().unwrap_or(false));
    cand
}

/// ZUNION/ZINTER/ZDIFF with `numkeys` at `nk`; `dst` for the STORE forms; `card` for
/// ZINTERCARD. Every key is looked up and type-checked before the options are read.
pub(super) fn algebra(ctx: &mut Ctx, a: &Args, dst: Option<&[u8]>, nk: usize, op: Op, card: bool) -> CmdResult {
    let setnum = a.i64(nk)?;
    if setnum < 1 {
        return Err(CmdError::owned(format!(
            "ERR at least 1 input key is needed for '{}' command",
            ctx.cmd.name
        )));
    }
    if setnum as u64 > (a.len() - (nk + 1)) as u64 {
        return Err(error::SYNTAX);
    }
    let setnum = setnum as usize;
    let now = ctx.now_ms;
    let mut inputs = Vec::with_capacity(setnum);
    for i in 0..setnum {
        let key = a.at(nk + 1 + i);
        let len = match ctx.read_key(key).map(|o| o.value()) {
            None => None,
            Some(ValueRef::ZSet(z)) => Some(z.len()),
            Some(ValueRef::Set(s)) => Some(s.len()),
            Some(_) => return Err(error::WRONGTYPE),
        };
        inputs.push(Input {
            key,
            len: len.unwrap_or(0),
            weight: 1.0,
        });
    }
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = nk + 1 + setnum;
    while j < a.len() {
        let remaining = a.len() - j;
        if op != Op::Diff && !card && remaining > setnum && a.is(j, "weights") {
            j += 1;
            for inp in inputs.iter_mut() {
                inp.weight = num::parse_f64(a.at(j)).ok_or(CmdError::new("ERR weight value is not a float"))?;
                j += 1;
            }
        } else if op != Op::Diff && !card && remaining >= 2 && a.is(j, "aggregate") {
            agg = if a.is(j + 1, "sum") {
                Aggregate::Sum
            } else if a.is(j + 1, "min") {
                Aggregate::Min
            } else if a.is(j + 1, "max") {
                Aggregate::Max
            } else {
                return Err(error::SYNTAX);
            };
            j += 2;
        } else if dst.is_none() && !card && a.is(j, "withscores") {
            withscores = true;
            j += 1;
        } else if card && remaining >= 2 && a.is(j, "limit") {
            limit = a
                .i64(j + 1)
                .ok()
                .filter(|&l| l >= 0)
                .ok_or(CmdError::new("ERR LIMIT can't be negative"))? as usize;
            j += 2;
        } else {
            return Err(error::SYNTAX);
        }
    }
    if op != Op::Diff {
        // Smallest first: the intersection shrinks fastest, and sums add up in Redis's order.
        inputs.sort_by_key(|i| i.len);
    }
    let lim = ctx.limits();
    let db = &ctx.srv.dbs[ctx.db];
    let mut items = match op {
        Op::Union => union(db, now, &inputs, agg),
        Op::Inter => inter(db, now, &inputs, agg),
        Op::Diff => diff(db, now, &inputs),
    };
    if card {
        let n = if limit > 0 { items.len().min(limit) } else { items.len() };
        ctx.out.int(n as i64);
        return Ok(());
    }
    items.sort_unstable_by(|x, y| cmp_elem(x.1, &x.0, y.1, &y.0));
    match dst {
        Some(dst) => {
            let n = items.len();
            let built = (n > 0).then(|| (zset_from_sorted(dst, &items, &lim), n));
            let event = match op {
                Op::Union => "zunionstore",
                Op::Inter => "zinterstore",
                Op::Diff => "zdiffstore",
            };
            store_result(ctx, dst, built, event);
        }
        None => reply_members(ctx.out, items.iter().map(|(m, s)| (m.as_ref(), *s)), withscores),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::set::new_set;
    use crate::db::zset::new_zset;
    use crate::db::Limits;

    fn add_set(db: &mut Db, key: &[u8], members: &[&[u8]]) {
        let lim = Limits::default();
        let mut o = new_set(key, members[0], &lim);
        let mut s = o.set_mut(&lim).unwrap();
        for m in members {
            s.add(m);
        }
        db.add(o, 0);
    }

    fn add_zset(db: &mut Db, key: &[u8], items: &[(&[u8], f64)]) {
        let lim = Limits::default();
        let mut o = new_zset(key, 0, 1, &lim);
        let mut z = o.zset_mut(&lim).unwrap();
        for (m, s) in items {
            z.insert(m, *s);
        }
        db.add(o, 0);
    }

    fn inputs<'k>(db: &mut Db, keys: &[&'k [u8]], weights: &[f64]) -> Vec<Input<'k>> {
        let mut v: Vec<Input> = keys
            .iter()
            .zip(weights)
            .map(|(k, w)| Input {
                key: k,
                len: match db.peek(k, 0).map(|o| o.value()) {
                    Some(ValueRef::ZSet(z)) => z.len(),
                    Some(ValueRef::Set(s)) => s.len(),
                    _ => 0,
                },
                weight: *w,
            })
            .collect();
        v.sort_by_key(|i| i.len);
        v
    }

    fn sorted(mut v: Items) -> Vec<(String, f64)> {
        v.sort_by(|x, y| cmp_elem(x.1, &x.0, y.1, &y.0));
        v.into_iter()
            .map(|(m, s)| (String::from_utf8(m.into_owned()).unwrap(), s))
            .collect()
    }

    // Ported from tests/unit/type/zset.tcl ("... with a regular set and weights",
    // "ZDIFFSTORE with a regular set", "#516 regression, mixed sets and ziplist zsets").
    #[test]
    fn plain_sets_score_one() {
        let mut db = Db::new(0);
        add_set(&mut db, b"seta", &[b"a", b"b", b"c"]);
        add_zset(&mut db, b"zsetb", &[(b"b", 1.0), (b"c", 2.0), (b"d", 3.0)]);
        let ins = inputs(&mut db, &[b"seta", b"zsetb"], &[2.0, 3.0]);
        let u = sorted(union(&db, 0, &ins, Aggregate::Sum));
        let want = [("a", 2.0), ("b", 5.0), ("c", 8.0), ("d", 9.0)];
        assert_eq!(u, want.map(|(m, s)| (m.to_string(), s)));
        let i = sorted(inter(&db, 0, &ins, Aggregate::Sum));
        assert_eq!(i, [("b", 5.0), ("c", 8.0)].map(|(m, s)| (m.to_string(), s)));
        let ins = [
            Input {
                key: b"seta",
                len: 3,
                weight: 1.0,
            },
            Input {
                key: b"zsetb",
                len: 3,
                weight: 1.0,
            },
        ];
        let d = sorted(diff(&db, 0, &ins));
        assert_eq!(d, [("a", 1.0)].map(|(m, s)| (m.to_string(), s)));

        add_set(&mut db, b"one", &[b"100", b"101", b"102", b"103"]);
        add_set(&mut db, b"two", &[b"100", b"200", b"201", b"202"]);
        add_zset(
            &mut db,
            b"three",
            &[
                (b"500", 1.0),
                (b"501", 1.0),
                (b"502", 1.0),
                (b"503", 1.0),
                (b"100", 1.0),
            ],
        );
        let ins = inputs(&mut db, &[b"one", b"two", b"three"], &[0.0, 0.0, 1.0]);
        let i = sorted(inter(&db, 0, &ins, Aggregate::Sum));
        assert_eq!(i, [("100", 1.0)].map(|(m, s)| (m.to_string(), s)));

        // An intset and a hashtable set with nothing in common.
        add_set(&mut db, b"set1", &[b"a"]);
        add_set(&mut db, b"set2", &[b"10"]);
        let ins = inputs(&mut db, &[b"set1", b"set2"], &[1.0, 1.0]);
        assert!(inter(&db, 0, &ins, Aggregate::Sum).is_empty());
    }
}
