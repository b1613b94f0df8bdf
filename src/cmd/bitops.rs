//! Bitmap commands over string values: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD
//! BITFIELD_RO. Bit 0 is the most significant bit of byte 0, as in Redis; writes grow
//! the string with zero bytes, reads past the end see zeros.
use super::error::{self, CmdError, CmdResult};
use super::spec::*;
use super::{Args, Ctx};
use crate::db::{Obj, Value, ValueRef};
use crate::util::bits;

const G: &str = "bitmap";
const BIT_OFFSET: CmdError = CmdError::new("ERR bit offset is not an integer or out of range");
const BIT_VALUE: CmdError = CmdError::new("ERR bit is not an integer or out of range");
const BITFIELD_TYPE: CmdError =
    CmdError::new("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");

/// Parses a bit offset, `#n` meaning `n * bits` when `bits > 0` (BITFIELD). Offsets
/// must address a byte below proto-max-bulk-len. Redis compat: bitops.c
/// getBitOffsetFromArgument.
fn bit_offset(ctx: &Ctx, arg: &[u8], bits: u32) -> Result<u64, CmdError> {
    let (hash, digits) = match arg.split_first() {
        Some((b'#', rest)) if bits > 0 => (true, rest),
        _ => (false, arg),
    };
    let mut off = crate::util::num::parse_i64(digits).ok_or(BIT_OFFSET)?;
    if hash {
        off = off.wrapping_mul(bits as i64);
    }
    if off < 0 || (off >> 3) >= ctx.srv.cfg.proto_max_bulk_len {
        return Err(BIT_OFFSET);
    }
    Ok(off as u64)
}

/// Reads a string key for a bit command (a counted lookup for reading): Ok(None) when
/// absent.
fn read_str<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a [u8]>, CmdError> {
    match ctx.read_key(key).map(|o| o.value()) {
        None => Ok(None),
        Some(ValueRef::Str(s)) => Ok(Some(s)),
        Some(_) => Err(error::WRONGTYPE),
    }
}

/// Runs `f` on the string at `key` grown with zeros to hold byte `max_byte`, creating
/// it when absent; `f` also learns whether the string was created or grown. One lookup
/// when the key exists. Redis compat: bitops.c lookupStringForBitCommand.
fn edit_bits<R>(
    ctx: &mut Ctx,
    key: &[u8],
    max_byte: usize,
    f: impl FnOnce(&mut Vec<u8>, bool) -> R,
) -> Result<R, CmdError> {
    let now = ctx.now_ms;
    let db = &mut ctx.srv.dbs[ctx.db];
    if let Some(o) = db.get_mut(key, now) {
        let s = o.make_raw().ok_or(error::WRONGTYPE)?;
        let grown = s.len() <= max_byte;
        if grown {
            s.resize(max_byte + 1, 0);
        }
        return Ok(f(s, grown));
    }
    let mut v = vec![0; max_byte + 1];
    let r = f(&mut v, true);
    db.add(Obj::new_value(key, Value::Str(v)), now);
    Ok(r)
}

fn setbit(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let off = bit_offset(ctx, a.at(2), 0)?;
    let on = crate::util::num::parse_i64(a.at(3)).ok_or(BIT_VALUE)?;
    if on & !1 != 0 {
        return Err(BIT_VALUE);
    }
    let key = a.at(1);
    let mask = 0x80u8 >> (off & 7);
    let (old, changed) = edit_bits(ctx, key, (off >> 3) as usize, |s, grown| {
        let Some(byte) = s.get_mut((off >> 3) as usize) else {
            return (false, grown);
        };
        let old = *byte & mask != 0;
        *byte = (*byte & !mask) | if on == 1 { mask } else { 0 };
        (old, grown || old != (on == 1))
    })?;
    if changed {
        ctx.modified(key, "setbit");
    }
    ctx.out.int(old as i64);
    Ok(())
}

fn getbit(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let off = bit_offset(ctx, a.at(2), 0)?;
    let s = read_str(ctx, a.at(1))?.unwrap_or_default();
    let bit = s.get((off >> 3) as usize).is_some_and(|b| b & (0x80 >> (off & 7)) != 0);
    ctx.out.int(bit as i64);
    Ok(())
}

/// A BITCOUNT/BITPOS range resolved to whole bytes `start..=end`, with masks of the
/// out-of-range bits in the first and last byte (BIT unit). Redis compat: bitops.c.
struct ByteRange {
    start: usize,
    end: usize,
    first_mask: u8,
    last_mask: u8,
}

/// Resolves `start`/`end` (negative counting from the end) in bytes or bits over a
/// string of `len` bytes; None when the range is empty.
fn resolve_range(len: usize, mut start: i64, mut end: i64, bit_unit: bool) -> Option<ByteRange> {
    let total = if bit_unit { (len as i64) << 3 } else { len as i64 };
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0).min(total - 1);
    if start > end {
        return None;
    }
    let (mut first_mask, mut last_mask) = (0, 0);
    if bit_unit {
        first_mask = !(0xffu8 >> (start & 7));
        last_mask = 0x7fu8 >> (end & 7);
        start >>= 3;
        end >>= 3;
    }
    Some(ByteRange {
        start: start as usize,
        end: end as usize,
        first_mask,
        last_mask,
    })
}

fn bit_unit(a: &Args, i: usize) -> Result<bool, CmdError> {
    if a.is(i, "bit") {
        Ok(true)
    } else if a.is(i, "byte") {
        Ok(false)
    } else {
        Err(error::SYNTAX)
    }
}

fn bitcount(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let Some(s) = read_str(ctx, a.at(1))? else {
        ctx.out.int(0);
        return Ok(());
    };
    let range = match a.len() {
        2 => resolve_range(s.len(), 0, -1, false),
        4 | 5 => {
            let (start, end) = (a.i64(2)?, a.i64(3)?);
            if start < 0 && end < 0 && start > end {
                ctx.out.int(0);
                return Ok(());
            }
            let unit = if a.len() == 5 { bit_unit(a, 4)? } else { false };
            resolve_range(s.len(), start, end, unit)
        }
        _ => return Err(error::SYNTAX),
    };
    let n = match range.and_then(|r| Some((s.get(r.start..=r.end)?, r))) {
        None => 0,
        Some((bytes, r)) => {
            let mut n = bits::popcount(bytes);
            // Bits of the edge bytes outside a BIT range were counted above.
            if let Some(f) = bytes.first() {
                n -= (f & r.first_mask).count_ones() as u64;
            }
            if let Some(l) = bytes.last() {
                n -= (l & r.last_mask).count_ones() as u64;
            }
            n
        }
    };
    ctx.out.int(n as i64);
    Ok(())
}

fn bitpos(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let bit = a.i64(2)?;
    if bit != 0 && bit != 1 {
        return Err(CmdError::new("ERR The bit argument must be 1 or 0."));
    }
    let bit = bit == 1;
    let argc = a.len();
    let Some(s) = read_str(ctx, a.at(1))? else {
        ctx.out.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    let (range, end_given) = match argc {
        3 => (resolve_range(s.len(), 0, -1, false), false),
        4..=6 => {
            let start = a.i64(3)?;
            let unit = if argc == 6 { bit_unit(a, 5)? } else { false };
            let end = if argc >= 5 { a.i64(4)? } else { -1 };
            (resolve_range(s.len(), start, end, unit), argc >= 5)
        }
        _ => return Err(error::SYNTAX),
    };
    let Some(r) = range else {
        ctx.out.int(-1);
        return Ok(());
    };
    let bytes = s.get(r.start..=r.end).unwrap_or_default();
    // Out-of-range edge bits are forced to the value we are not looking for.
    let masked = |i: usize, b: u8| {
        let mut m = 0u8;
        if i == 0 {
            m |= r.first_mask;
        }
        if i + 1 == bytes.len() {
            m |= r.last_mask;
        }
        if bit {
            b & !m
        } else {
            b | m
        }
    };
    let found = bits::find_bit(bytes, bit, masked);
    let pos = match found {
        Some(p) => (r.start as i64) * 8 + p as i64,
        // No clear bit inside the string: without an explicit end the string is
        // padded with zeros on the right, so the first one after it counts.
        None if !bit && !end_given => ((r.end + 1) as i64) * 8,
        None => -1,
    };
    ctx.out.int(pos);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let op = if a.is(1, "and") {
        BitOp::And
    } else if a.is(1, "or") {
        BitOp::Or
    } else if a.is(1, "xor") {
        BitOp::Xor
    } else if a.is(1, "not") {
        BitOp::Not
    } else {
        return Err(error::SYNTAX);
    };
    if op == BitOp::Not && a.len() != 4 {
        return Err(CmdError::new("ERR BITOP NOT must be called with a single source key."));
    }
    let now = ctx.now_ms;
    let dst = a.at(2);
    // Looked up (counted, type-checked, expired) first; then read where they lie.
    for k in a.rest(3) {
        read_str(ctx, k)?;
    }
    let res = {
        let db = &ctx.srv.dbs[ctx.db];
        let srcs: Vec<&[u8]> = a
            .rest(3)
            .iter()
            .map(|k| match db.peek_ref(k, now).map(|o| o.value()) {
                Some(ValueRef::Str(s)) => s,
                _ => &[],
            })
            .collect();
        combine(op, &srcs)
    };
    let n = res.len();
    if n > 0 {
        ctx.db().set(Obj::new_value(dst, Value::Str(res)), false, now);
        ctx.modified(dst, "set");
    } else if ctx.db().remove(dst) {
        // Past its TTL or not (Redis compat: db.c dbDelete does not look at TTLs).
        ctx.modified(dst, "del");
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// Computes a BITOP over the sources, shorter ones padded with zero bytes.
fn combine(op: BitOp, srcs: &[&[u8]]) -> Vec<u8> {
    match op {
        BitOp::Not => srcs.first().map_or_else(Vec::new, |s| s.iter().map(|b| !b).collect()),
        BitOp::And => combine_with(srcs, |x, y| x & y),
        BitOp::Or => combine_with(srcs, |x, y| x | y),
        BitOp::Xor => combine_with(srcs, |x, y| x ^ y),
    }
}

/// The first two sources in one pass into a new buffer, then each other one in
/// place; every loop a plain zip over bytes, which the compiler turns into vector
/// code. The buffer is written in order, never zeroed first: a zeroed allocation this
/// big comes as fresh pages, one fault each. A byte past a source's end is a zero
/// (`f(x, 0)`: zero for AND, x for OR and XOR).
#[inline(always)]
fn combine_with(srcs: &[&[u8]], f: impl Fn(u8, u8) -> u8 + Copy) -> Vec<u8> {
    let max = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut res = Vec::with_capacity(max);
    match srcs {
        [] => return res,
        [only] => res.extend_from_slice(only),
        [a, b, ..] => {
            res.extend(a.iter().zip(b.iter()).map(|(&x, &y)| f(x, y)));
            let n = res.len();
            res.extend(a[n..].iter().map(|&x| f(x, 0)));
            res.extend(b[n..].iter().map(|&y| f(0, y)));
        }
    }
    res.resize(max, 0);
    for s in srcs.iter().skip(2) {
        let (have, past) = res.split_at_mut(s.len());
        have.iter_mut().zip(s.iter()).for_each(|(r, &y)| *r = f(*r, y));
        past.iter_mut().for_each(|r| *r = f(*r, 0));
    }
    res
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set,
    Incr,
}

struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    value: i64,
    overflow: Overflow,
}

/// Parses `i<1..64>` / `u<1..63>`. Redis compat: bitops.c getBitfieldTypeFromArgument.
fn field_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let (signed, rest) = match arg.split_first() {
        Some((b'i', r)) => (true, r),
        Some((b'u', r)) => (false, r),
        _ => return Err(BITFIELD_TYPE),
    };
    let n = crate::util::num::parse_i64(rest).ok_or(BITFIELD_TYPE)?;
    if n < 1 || (signed && n > 64) || (!signed && n > 63) {
        return Err(BITFIELD_TYPE);
    }
    Ok((signed, n as u32))
}

fn parse_fields(ctx: &Ctx, a: &Args) -> Result<Vec<Field>, CmdError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < a.len() {
        let rem = a.len() - j - 1;
        let op = if a.is(j, "get") && rem >= 2 {
            FieldOp::Get
        } else if a.is(j, "set") && rem >= 3 {
            FieldOp::Set
        } else if a.is(j, "incrby") && rem >= 3 {
            FieldOp::Incr
        } else if a.is(j, "overflow") && rem >= 1 {
            overflow = if a.is(j + 1, "wrap") {
                Overflow::Wrap
            } else if a.is(j + 1, "sat") {
                Overflow::Sat
            } else if a.is(j + 1, "fail") {
                Overflow::Fail
            } else {
                return Err(CmdError::new("ERR Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return Err(error::SYNTAX);
        };
        let (signed, bits) = field_type(a.at(j + 1))?;
        let offset = bit_offset(ctx, a.at(j + 2), bits)?;
        let value = if op == FieldOp::Get { 0 } else { a.i64(j + 3)? };
        ops.push(Field {
            op,
            signed,
            bits,
            offset,
            value,
            overflow,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    Ok(ops)
}

fn bitfield(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.hold_own_events();
    bitfield_generic(ctx, a, false)
}

fn bitfield_ro(ctx: &mut Ctx, a: &Args) -> CmdResult {
    bitfield_generic(ctx, a, true)
}

fn bitfield_generic(ctx: &mut Ctx, a: &Args, ro: bool) -> CmdResult {
    let ops = parse_fields(ctx, a)?;
    let key = a.at(1);
    let highest = ops
        .iter()
        .filter(|f| f.op != FieldOp::Get)
        .map(|f| f.offset + f.bits as u64 - 1)
        .max();
    let Some(highest) = highest else {
        // Only GETs: read without creating the key.
        let s = read_str(ctx, key)?.unwrap_or_default();
        let vals: Vec<i64> = ops
            .iter()
            .map(|f| bits::get_field(s, f.offset, f.bits, f.signed))
            .collect();
        ctx.out.array(vals.len());
        vals.into_iter().for_each(|v| ctx.out.int(v));
        return Ok(());
    };
    if ro {
        return Err(CmdError::new("ERR BITFIELD_RO only supports the GET subcommand"));
    }
    let (replies, changes) = edit_bits(ctx, key, (highest >> 3) as usize, |s, grown| {
        apply_fields(s, grown, &ops)
    })?;
    if changes > 0 {
        ctx.modified(key, "setbit");
        ctx.dirty(changes - 1);
    }
    ctx.out.array(replies.len());
    for r in replies {
        match r {
            Some(v) => ctx.out.int(v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// Runs BITFIELD's operations in order on `s`; returns the replies (None: an OVERFLOW
/// FAIL that was not applied) and the number of changes.
fn apply_fields(s: &mut [u8], grown: bool, ops: &[Field]) -> (Vec<Option<i64>>, u64) {
    let mut replies = Vec::with_capacity(ops.len());
    let mut changes = 0u64;
    for f in ops {
        let old = bits::get_field(s, f.offset, f.bits, f.signed);
        if f.op == FieldOp::Get {
            replies.push(Some(old));
            continue;
        }
        let (new, overflowed) = if f.op == FieldOp::Incr {
            bits::field_add(old, f.value, f.bits, f.signed, f.overflow == Overflow::Sat)
        } else {
            bits::field_add(f.value, 0, f.bits, f.signed, f.overflow == Overflow::Sat)
        };
        if overflowed && f.overflow == Overflow::Fail {
            replies.push(None);
            continue;
        }
        replies.push(Some(if f.op == FieldOp::Incr { new } else { old }));
        bits::set_field(s, f.offset, f.bits, new);
        if grown || old != new {
            changes += 1;
        }
    }
    (replies, changes)
}

pub const COMMANDS: &[CommandSpec] = &[
    cmd("setbit", 4, WRITE | DENYOOM, ACL_BITMAP, setbit)
        .keys(1, 1, 1, KS_RW | KS_ACCESS | KS_UPDATE)
        .doc(
            G,
            "2.2.0",
            "O(1)",
            "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.",
        ),
    cmd("getbit", 3, READONLY | FAST, ACL_BITMAP, getbit)
        .keys(1, 1, 1, KS_RO | KS_ACCESS)
        .doc(G, "2.2.0", "O(1)", "Returns a bit value by offset."),
    cmd("bitcount", -2, READONLY, ACL_BITMAP, bitcount)
        .keys(1, 1, 1, KS_RO | KS_ACCESS)
        .doc(
            G,
            "2.6.0",
            "O(N)",
            "Counts the number of set bits (population counting) in a string.",
        ),
    cmd("bitpos", -3, READONLY, ACL_BITMAP, bitpos)
        .keys(1, 1, 1, KS_RO | KS_ACCESS)
        .doc(
            G,
            "2.8.7",
            "O(N)",
            "Finds the first set (1) or clear (0) bit in a string.",
        ),
    cmd("bitop", -4, WRITE | DENYOOM, ACL_BITMAP, bitop)
        .specs(BITOP_SPECS)
        .keys(2, -1, 1, KS_OW | KS_UPDATE)
        .other_keys(KS_RO | KS_ACCESS)
        .doc(
            G,
            "2.6.0",
            "O(N)",
            "Performs bitwise operations on multiple strings, and stores the result.",
        ),
    cmd("bitfield", -2, WRITE | DENYOOM, ACL_BITMAP, bitfield)
        .keys(1, 1, 1, KS_RW | KS_UPDATE | KS_ACCESS | KS_VARIABLE_FLAGS)
        .key_refs_with(refs_bitfield)
        .doc(
            G,
            "3.2.0",
            "O(1) for each subcommand specified",
            "Performs arbitrary bitfield integer operations on strings.",
        ),
    cmd("bitfield_ro", -2, READONLY | FAST, ACL_BITMAP, bitfield_ro)
        .keys(1, 1, 1, KS_RO | KS_ACCESS)
        .doc(
            G,
            "6.0.0",
            "O(1) for each subcommand specified",
            "Performs arbitrary read-only bitfield integer operations on strings.",
        ),
];
