//! Number <-> text with Redis's exact rules: strict integer parsing (string2ll), strtod-style
//! float parsing with Redis's rejections (string2d / string2ld), and the reply formats
//! `%.17g` (addReplyDouble) and `%.17Lf`-then-trim (ld2string "human" mode).
//! Invariants: parsers accept exactly what Redis 7.0 on x86-64 glibc accepts; formatters
//! append to the caller's buffer without allocating a String, and nothing here panics.

use core::cmp::Ordering;
use core::fmt::Write as _;
use std::sync::OnceLock;

/// Inputs of this many bytes or more are never integers.
// Redis compat: util.h LONG_STR_SIZE (21): the longest i64/u64 text is 20 bytes.
const LONG_STR_SIZE: usize = 21;

/// string2ld copies into a buffer of this size, so inputs of this length or more are rejected.
// Redis compat: util.h MAX_LONG_DOUBLE_CHARS.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// Exponents beyond this are clamped while lexing: every value with a larger exponent has
/// long since overflowed or underflowed, and the clamp keeps later arithmetic in range.
const EXP_CLAMP: i64 = 1_000_000_000_000;

// ---------------------------------------------------------------------------------------
// Integers
// ---------------------------------------------------------------------------------------

/// Parses a signed 64-bit integer with Redis's strict rules: optional `-`, no `+`, no
/// spaces, no leading zeros (except `"0"`), no `"-0"`, at most 20 bytes, no overflow.
// Redis compat: util.c string2ll.
#[must_use]
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    match s.split_first() {
        Some((b'-', rest)) => 0i64.checked_sub_unsigned(parse_magnitude(rest)?),
        _ => i64::try_from(parse_magnitude(s)?).ok(),
    }
}

/// C's atoll/strtol: leading whitespace, an optional sign, then as many digits as there
/// are (none: 0); saturates instead of overflowing. For file formats Redis reads that way.
#[must_use]
pub fn atoi_prefix(s: &[u8]) -> i64 {
    let mut it = s.iter().copied().skip_while(|c| c.is_ascii_whitespace()).peekable();
    let neg = match it.peek() {
        Some(b'-') => {
            it.next();
            true
        }
        Some(b'+') => {
            it.next();
            false
        }
        _ => false,
    };
    let mut v: i64 = 0;
    for c in it.take_while(u8::is_ascii_digit) {
        let d = (c - b'0') as i64;
        v = if neg {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
    }
    v
}

/// C's strtod on a C string (it ends at the first NUL): the value of the longest prefix
/// that reads as a number (0 when none does), whether that prefix was the whole string,
/// and whether the value was out of range (ERANGE). For the places Redis calls strtod
/// itself (SORT scores, DEBUG SLEEP) rather than its stricter string2d.
#[must_use]
pub fn strtod(b: &[u8]) -> (f64, bool, bool) {
    // A canonical integer converts to the nearest double, ties to even, as strtod
    // rounds it ("-0", whose sign strtod keeps, is not one).
    if let Some(v) = parse_i64(b) {
        return (v as f64, true, false);
    }
    let b = super::c_str(b);
    // NUL-terminated on the stack when short enough.
    let mut short = [0u8; 64];
    let mut long = Vec::new();
    let z: &[u8] = match short.get_mut(..b.len()) {
        Some(dst) if b.len() < 64 => {
            dst.copy_from_slice(b);
            &short
        }
        _ => {
            long.reserve_exact(b.len() + 1);
            long.extend_from_slice(b);
            long.push(0);
            &long
        }
    };
    let mut eptr: *mut libc::c_char = std::ptr::null_mut();
    // Safety: `z` is NUL-terminated and outlives the call; errno is thread-local.
    let (v, err, rest) = unsafe {
        *libc::__errno_location() = 0;
        let v = libc::strtod(z.as_ptr() as *const libc::c_char, &mut eptr);
        (v, *libc::__errno_location(), *eptr)
    };
    (v, rest == 0, err == libc::ERANGE)
}

/// C's strtod over the NUL-terminated `z` from byte `at`: the value and how many bytes it
/// read (0 when no number starts there). One copy of a document serves every number in it.
#[must_use]
pub fn strtod_at(z: &[u8], at: usize) -> (f64, usize) {
    if z.last() != Some(&0) || at >= z.len() {
        return (0.0, 0);
    }
    // Safety: `z` ends with NUL, so strtod stops inside it; `at` is in bounds.
    unsafe {
        let p = z.as_ptr().add(at) as *const libc::c_char;
        let mut e: *mut libc::c_char = std::ptr::null_mut();
        let v = libc::strtod(p, &mut e);
        (v, (e as usize).saturating_sub(p as usize))
    }
}

/// A C cast of a double to a 64-bit integer as x86-64 performs it (cvttsd2si): truncation,
/// and the "integer indefinite" i64::MIN for NaN and for values out of range, where Rust's
/// `as` saturates. Replies of Lua numbers and cmsgpack's integer test go through it.
#[must_use]
pub fn c_cast_i64(v: f64) -> i64 {
    const TWO_63: f64 = (1u64 << 63) as f64;
    if v.is_nan() || !(-TWO_63..TWO_63).contains(&v) {
        i64::MIN
    } else {
        v as i64
    }
}

/// Parses an unsigned 64-bit integer with the same strictness as [`parse_i64`] (so no sign
/// at all): digits only, no leading zeros except `"0"`, at most 20 bytes, no overflow.
/// Not Redis's string2ull (stream IDs): that one falls back to strtoull, which also takes
/// leading zeros, whitespace, `+` and even some `-` forms.
#[must_use]
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    parse_magnitude(s)
}

/// Digits of a nonzero magnitude: first digit 1-9, the rest 0-9, all bytes used.
fn parse_magnitude(digits: &[u8]) -> Option<u64> {
    let (first, rest) = digits.split_first()?;
    if !(b'1'..=b'9').contains(first) {
        return None;
    }
    let mut v = u64::from(first - b'0');
    for &b in rest {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// Number of bytes `fmt_i64(v)` appends (digits plus a `-` for negatives).
#[must_use]
pub fn ll_len(v: i64) -> usize {
    let sign = usize::from(v < 0);
    match v.unsigned_abs().checked_ilog10() {
        Some(d) => sign + d as usize + 1,
        None => sign + 1,
    }
}

/// "00".."99": two digits per division halves the divisions when formatting.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849\
5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

/// Appends the decimal text of `v` (same bytes as `%lld`).
pub fn fmt_i64(v: i64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 24];
    out.extend_from_slice(i64_digits(v, &mut buf));
}

/// Writes the decimal text of `v` into `buf` and returns it (no allocation).
pub fn i64_digits(v: i64, buf: &mut [u8; 24]) -> &[u8] {
    buf.fill(b'-');
    let mut pos = buf.len();
    let mut n = v.unsigned_abs();
    // Fill from the right, two digits at a time; `get` keeps every access checked.
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        pos -= 2;
        if let (Some(dst), Some(src)) = (buf.get_mut(pos..pos + 2), DIGIT_PAIRS.get(pair..pair + 2)) {
            dst.copy_from_slice(src);
        }
    }
    if n >= 10 {
        let pair = n as usize * 2;
        pos -= 2;
        if let (Some(dst), Some(src)) = (buf.get_mut(pos..pos + 2), DIGIT_PAIRS.get(pair..pair + 2)) {
            dst.copy_from_slice(src);
        }
    } else {
        pos -= 1;
        if let Some(slot) = buf.get_mut(pos) {
            *slot = b'0' + n as u8;
        }
    }
    // buf was filled with '-', so the sign is the byte just before the digits.
    if v < 0 {
        pos -= 1;
    }
    buf.get(pos..).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Floats: lexing with strtod's grammar
// ---------------------------------------------------------------------------------------

/// The pieces of a string that glibc's strtod (C locale) would consume entirely.
/// `exp` is the explicit exponent (decimal for `Dec`, binary for `Hex`), clamped.
enum Lexed<'a> {
    Inf {
        neg: bool,
    },
    Dec {
        int: &'a [u8],
        frac: &'a [u8],
        exp: i64,
    },
    Hex {
        neg: bool,
        int: &'a [u8],
        frac: &'a [u8],
        exp: i64,
    },
}

/// Splits `s` by strtod's grammar and returns `None` unless strtod would consume every
/// byte. Leading whitespace (which strtod skips) is rejected because Redis rejects it, and
/// every NaN spelling is rejected because Redis rejects NaN results.
// Redis compat: util.c string2d / string2ld (isspace check, full consumption, isnan).
fn lex_float(s: &[u8]) -> Option<Lexed<'_>> {
    let (neg, body) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(Lexed::Inf { neg });
    }
    if let Some(hex) = body.strip_prefix(b"0x").or_else(|| body.strip_prefix(b"0X")) {
        // strtod only reads the hex form if a hex digit follows "0x"; otherwise it reads "0"
        // and stops at 'x', which leaves bytes unconsumed.
        let (int, rest) = split_while(hex, |b| b.is_ascii_hexdigit());
        let (frac, rest) = match rest.split_first() {
            Some((b'.', after)) => split_while(after, |b| b.is_ascii_hexdigit()),
            _ => (&[][..], rest),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let exp = lex_exponent(rest, b'p')?;
        return Some(Lexed::Hex { neg, int, frac, exp });
    }
    let (int, rest) = split_while(body, |b| b.is_ascii_digit());
    let (frac, rest) = match rest.split_first() {
        Some((b'.', after)) => split_while(after, |b| b.is_ascii_digit()),
        _ => (&[][..], rest),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let exp = lex_exponent(rest, b'e')?;
    // The sign needs no keeping: decimal values are converted from the whole input text.
    Some(Lexed::Dec { int, frac, exp })
}

fn split_while(s: &[u8], pred: impl Fn(u8) -> bool) -> (&[u8], &[u8]) {
    let n = s.iter().position(|&b| !pred(b)).unwrap_or(s.len());
    s.split_at_checked(n).unwrap_or((s, &[]))
}

/// Lexes what follows the mantissa: nothing (exponent 0) or a complete exponent introduced
/// by `marker` (either case). Anything else means strtod would stop early: `None`.
fn lex_exponent(rest: &[u8], marker: u8) -> Option<i64> {
    let Some((first, tail)) = rest.split_first() else {
        return Some(0);
    };
    if first.to_ascii_lowercase() != marker {
        return None;
    }
    let (neg, digits) = match tail.split_first() {
        Some((b'-', d)) => (true, d),
        Some((b'+', d)) => (false, d),
        _ => (false, tail),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = (v * 10 + i64::from(b - b'0')).min(EXP_CLAMP);
    }
    Some(if neg { -v } else { v })
}

// ---------------------------------------------------------------------------------------
// Floats: public parsers
// ---------------------------------------------------------------------------------------

/// Parses a double the way Redis's string2d does (used by ZADD scores, ZRANGEBYSCORE bounds,
/// getDoubleFromObject, ...): strtod syntax including hex floats and `inf`/`infinity`
/// (any case, optional sign), the whole input consumed, no leading whitespace, no NaN, and
/// no range errors: a finite decimal that overflows to ±inf, or a nonzero one that rounds to
/// zero, is rejected. Results that land in the subnormal range are accepted (Redis only
/// rejects ERANGE when the result is ±`HUGE_VAL` or exactly zero). No length limit.
// Redis compat: util.c string2d.
#[must_use]
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    match lex_float(s)? {
        Lexed::Inf { neg } => Some(signed_inf(neg)),
        Lexed::Dec { int, frac, .. } => {
            // The lexer has checked the grammar, which std's parser accepts as well and
            // rounds correctly (as glibc does), so its result only needs the range checks.
            let v: f64 = core::str::from_utf8(s).ok()?.parse().ok()?;
            let nonzero = has_nonzero_digit(int) || has_nonzero_digit(frac);
            if v.is_infinite() || (v == 0.0 && nonzero) {
                return None;
            }
            Some(v)
        }
        Lexed::Hex { neg, int, frac, exp } => {
            let Some(bin) = hex_to_bin(int, frac, exp) else {
                return Some(signed_zero(neg));
            };
            let v = bin.to_f64(neg);
            if v.is_infinite() || v == 0.0 {
                return None;
            }
            Some(v)
        }
    }
}

/// Parses with the acceptance rules of Redis's string2ld (INCRBYFLOAT, HINCRBYFLOAT): like
/// [`parse_f64`] but inputs of 5120 bytes or more are rejected, and the range checks use the
/// x87 80-bit long double range that Redis computes in on x86-64 (max ~1.19e4932, smallest
/// subnormal ~3.65e-4951).
///
/// The value returned is the nearest f64. A string valid for a long double but outside the
/// f64 range therefore comes back as ±inf (e.g. `"1e400"`) or ±0 (e.g. `"1e-400"`); callers
/// doing arithmetic see the infinity and reply "increment would produce NaN or Infinity",
/// where Redis (computing in long double) would have succeeded.
// Redis compat: util.c string2ld.
#[must_use]
pub fn parse_long_double(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.len() >= MAX_LONG_DOUBLE_CHARS {
        return None;
    }
    match lex_float(s)? {
        Lexed::Inf { neg } => Some(signed_inf(neg)),
        Lexed::Dec { int, frac, exp, .. } => {
            // All-zero digits are exactly zero: never a range error.
            let lead = dec_leading(int, frac, exp);
            if lead.is_some_and(|(e, lead_int, lead_frac)| !ld_dec_in_range(e, lead_int, lead_frac)) {
                return None;
            }
            core::str::from_utf8(s).ok()?.parse().ok()
        }
        Lexed::Hex { neg, int, frac, exp } => {
            let Some(bin) = hex_to_bin(int, frac, exp) else {
                return Some(signed_zero(neg));
            };
            if !bin.in_long_double_range() {
                return None;
            }
            Some(bin.to_f64(neg))
        }
    }
}

fn signed_inf(neg: bool) -> f64 {
    if neg {
        f64::NEG_INFINITY
    } else {
        f64::INFINITY
    }
}

fn signed_zero(neg: bool) -> f64 {
    if neg {
        -0.0
    } else {
        0.0
    }
}

fn has_nonzero_digit(digits: &[u8]) -> bool {
    digits.iter().any(|&b| b != b'0')
}

// ---------------------------------------------------------------------------------------
// Long double range checks for decimal input
// ---------------------------------------------------------------------------------------

/// For a nonzero decimal, returns its scientific exponent E (value in [10^E, 10^(E+1)))
/// and the significant digits starting at the first nonzero one (split at the point).
/// `None` when every digit is zero.
fn dec_leading<'a>(int: &'a [u8], frac: &'a [u8], exp: i64) -> Option<(i64, &'a [u8], &'a [u8])> {
    if let Some(k) = int.iter().position(|&b| b != b'0') {
        let lead = int.get(k..).unwrap_or_default();
        let e = len_i64(lead).saturating_sub(1).saturating_add(exp);
        return Some((e, lead, frac));
    }
    let k = frac.iter().position(|&b| b != b'0')?;
    let lead = frac.get(k..).unwrap_or_default();
    let e = exp
        .saturating_sub(len_i64(frac.get(..k).unwrap_or_default()))
        .saturating_sub(1);
    Some((e, &[][..], lead))
}

fn len_i64(s: &[u8]) -> i64 {
    i64::try_from(s.len()).unwrap_or(i64::MAX)
}

/// Scientific exponents of the long double overflow threshold and of the underflow
/// threshold (see [`ld_limits`]).
const LD_OVERFLOW_EXP10: i64 = 4932;
const LD_UNDERFLOW_EXP10: i64 = -4951;

/// Whether strtold would return a finite nonzero value (no ERANGE rejection) for a nonzero
/// decimal with scientific exponent `e` and the given significant digits.
fn ld_dec_in_range(e: i64, int: &[u8], frac: &[u8]) -> bool {
    match e.cmp(&LD_OVERFLOW_EXP10) {
        Ordering::Greater => return false,
        Ordering::Equal => {
            // Round-to-nearest overflows once the value reaches max + half an ulp.
            return cmp_digits(int, frac, &ld_limits().overflow) == Ordering::Less;
        }
        Ordering::Less => {}
    }
    match e.cmp(&LD_UNDERFLOW_EXP10) {
        Ordering::Less => false,
        // At or below half the smallest subnormal the result rounds (ties-to-even) to zero.
        Ordering::Equal => cmp_digits(int, frac, &ld_limits().underflow) == Ordering::Greater,
        Ordering::Greater => true,
    }
}

/// Compares two digit strings with the same scientific exponent, leading digits aligned;
/// missing trailing digits count as zeros.
fn cmp_digits(int: &[u8], frac: &[u8], limit: &[u8]) -> Ordering {
    let mut a = int.iter().chain(frac.iter());
    let mut b = limit.iter();
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => {
                let x = x.copied().unwrap_or(b'0');
                let y = y.copied().unwrap_or(b'0');
                if x != y {
                    return x.cmp(&y);
                }
            }
        }
    }
}

struct LdLimits {
    /// Decimal digits of (2 - 2^-64) * 2^16383 = 2^16384 - 2^16319: the smallest value that
    /// rounds to +inf in the x87 extended format.
    overflow: Vec<u8>,
    /// Decimal significant digits of 2^-16446 (= 5^16446 / 10^16446): half the smallest
    /// subnormal, the largest value that rounds to zero.
    underflow: Vec<u8>,
}

/// Exact thresholds, computed once on first need (only inputs in the boundary decades
/// ever get here, so ordinary parsing never pays for it).
fn ld_limits() -> &'static LdLimits {
    static LIMITS: OnceLock<LdLimits> = OnceLock::new();
    LIMITS.get_or_init(|| {
        let low = pow_small(2, 16319);
        let mut high = pow_small(2, 16384);
        big_sub(&mut high, &low);
        LdLimits {
            overflow: big_digits(&high),
            underflow: big_digits(&pow_small(5, 16446)),
        }
    })
}

/// Little-endian base-10^9 natural numbers, just enough for the thresholds above.
const BIG_BASE: u64 = 1_000_000_000;

/// `base` must be at least 2 (it is 2 or 5 here).
fn pow_small(base: u32, mut exp: u32) -> Vec<u32> {
    let mut n = vec![1u32];
    // Multiply by the largest power of `base` that fits in a u32 limb-multiplier at a time.
    let (mut chunk, mut chunk_exp) = (1u32, 0u32);
    while let Some(next) = chunk.checked_mul(base) {
        chunk = next;
        chunk_exp += 1;
    }
    while exp > 0 {
        let step = exp.min(chunk_exp);
        big_mul_small(&mut n, base.pow(step));
        exp -= step;
    }
    n
}

fn big_mul_small(n: &mut Vec<u32>, m: u32) {
    let mut carry: u64 = 0;
    for limb in n.iter_mut() {
        let t = u64::from(*limb) * u64::from(m) + carry;
        *limb = (t % BIG_BASE) as u32;
        carry = t / BIG_BASE;
    }
    while carry > 0 {
        n.push((carry % BIG_BASE) as u32);
        carry /= BIG_BASE;
    }
}

/// a -= b, requires a >= b.
fn big_sub(a: &mut Vec<u32>, b: &[u32]) {
    let mut borrow = 0u64;
    let mut rhs = b.iter();
    for limb in a.iter_mut() {
        let sub = u64::from(rhs.next().copied().unwrap_or(0)) + borrow;
        let cur = u64::from(*limb);
        if cur >= sub {
            *limb = (cur - sub) as u32;
            borrow = 0;
        } else {
            *limb = (cur + BIG_BASE - sub) as u32;
            borrow = 1;
        }
    }
    while a.len() > 1 && a.last() == Some(&0) {
        a.pop();
    }
}

fn big_digits(n: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(n.len() * 9);
    let mut limbs = n.iter().rev();
    if let Some(top) = limbs.next() {
        fmt_i64(i64::from(*top), &mut out);
    }
    for limb in limbs {
        let mut chunk = [b'0'; 9];
        let mut v = *limb;
        for slot in chunk.iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out.extend_from_slice(&chunk);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Hex floats
// ---------------------------------------------------------------------------------------

/// A nonzero binary value `mant * 2^exp` with `mant`'s top bit set (bit 127); `sticky`
/// records nonzero bits that did not fit in `mant`.
struct Bin {
    mant: u128,
    exp: i64,
    sticky: bool,
}

/// Reads hex digits `int.frac` times 2^`exp`; `None` if the value is zero.
fn hex_to_bin(int: &[u8], frac: &[u8], exp: i64) -> Option<Bin> {
    let mut mant: u128 = 0;
    let mut kept = 0u32;
    let mut dropped: i64 = 0;
    let mut sticky = false;
    for &b in int.iter().chain(frac.iter()) {
        let d = hex_val(b);
        if mant == 0 && d == 0 {
            continue;
        }
        if kept < 32 {
            mant = (mant << 4) | u128::from(d);
            kept += 1;
        } else {
            dropped += 1;
            sticky |= d != 0;
        }
    }
    if mant == 0 {
        return None;
    }
    let lz = mant.leading_zeros();
    let exp = exp
        .saturating_sub(len_i64(frac).saturating_mul(4))
        .saturating_add(dropped.saturating_mul(4))
        .saturating_sub(i64::from(lz));
    Some(Bin {
        mant: mant << lz,
        exp,
        sticky,
    })
}

fn hex_val(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

impl Bin {
    /// Exponent of the leading bit: the value lies in [2^e, 2^(e+1)).
    fn lead_exp(&self) -> i64 {
        self.exp.saturating_add(127)
    }

    /// Correctly rounded (nearest, ties to even) conversion, with gradual underflow.
    fn to_f64(&self, neg: bool) -> f64 {
        let e = self.lead_exp();
        let sign = if neg { 1u64 << 63 } else { 0 };
        if e > 1023 {
            return f64::from_bits(sign | 0x7ff0_0000_0000_0000);
        }
        // Weight of the lowest kept bit: 53 significant bits, but never below 2^-1074.
        let q = (e - 52).max(-1074);
        let drop = q.saturating_sub(self.exp); // >= 75 because mant has 128 bits
        let (mut m, rem, half) = match drop {
            d if d > 128 => (0u128, 0u128, 1u128), // far below half an ulp: rounds to 0
            128 => (0, self.mant, 1u128 << 127),
            d if d > 0 => {
                let d = d as u32;
                (self.mant >> d, self.mant & ((1u128 << d) - 1), 1u128 << (d - 1))
            }
            _ => (self.mant, 0, 1),
        };
        if rem > half || (rem == half && (self.sticky || m & 1 == 1)) {
            m += 1;
        }
        let m = m as u64;
        if m < 1 << 52 {
            // Subnormal (or zero): q is -1074 here, so the bits are the mantissa itself.
            return f64::from_bits(sign | m);
        }
        let (m, q) = if m == 1 << 53 { (1u64 << 52, q + 1) } else { (m, q) };
        let biased = q + 52 + 1023;
        if biased >= 2047 {
            return f64::from_bits(sign | 0x7ff0_0000_0000_0000);
        }
        f64::from_bits(sign | ((biased as u64) << 52) | (m & ((1 << 52) - 1)))
    }

    /// Whether strtold rounds this to a finite nonzero x87 extended value.
    fn in_long_double_range(&self) -> bool {
        let e = self.lead_exp();
        // Overflow at (2 - 2^-64) * 2^16383: 65 leading one bits.
        let all_ones_65 = (1u128 << 65) - 1;
        if e > 16383 || (e == 16383 && self.mant >> 63 == all_ones_65) {
            return false;
        }
        // Zero at or below 2^-16446 (half the smallest subnormal, tie rounds to even = 0).
        let exactly_pow2 = self.mant == 1u128 << 127 && !self.sticky;
        !(e < -16446 || (e == -16446 && exactly_pow2))
    }
}

// ---------------------------------------------------------------------------------------
// Float formatting
// ---------------------------------------------------------------------------------------

/// Appends `v` as Redis's RESP2 double reply text: `inf`/`-inf` spelled out, everything
/// else exactly as glibc's `%.17g` (NaN prints as glibc does: `nan`, or `-nan` when the
/// sign bit is set).
// Redis compat: networking.c addReplyDouble.
pub fn fmt_f64(v: f64, out: &mut Vec<u8>) {
    if v.is_nan() {
        out.extend_from_slice(if v.is_sign_negative() { b"-nan" } else { b"nan" });
    } else if v.is_infinite() {
        out.extend_from_slice(if v < 0.0 { b"-inf" } else { b"inf" });
    } else {
        fmt_g17(v, out);
    }
}

/// Appends the payload of a RESP3 double (`,<payload>\r\n`) as Redis 7.0 writes it. In 7.0
/// this is byte-for-byte the RESP2 text: `inf`/`-inf`, else `%.17g` (glibc's NaN spelling).
// Redis compat: networking.c addReplyDouble (RESP3 branch).
pub fn fmt_f64_resp3(v: f64, out: &mut Vec<u8>) {
    fmt_f64(v, out);
}

/// Appends `v` in ld2string's "human" mode (INCRBYFLOAT, HINCRBYFLOAT, GEOPOS/GEODIST
/// style replies): `%.17Lf`, then trailing fractional zeros and a bare `.` removed, and
/// `-0` turned into `0`. So 10.5 -> "10.5", 3.0 -> "3", 1e20 -> "100000000000000000000".
/// Infinities print as `inf`/`-inf`, NaN as glibc prints it (`nan` / `-nan`); every f64 fits
/// Redis's 5 KiB buffer, so this mode never fails and there is nothing to report.
/// Not for hot paths: it goes through core's exact float formatting.
// Redis compat: util.c ld2string (LD_STR_HUMAN). We format the f64 itself; a long double
// value holding the same number prints identically, since widening is exact.
pub fn fmt_f64_human(v: f64, out: &mut Vec<u8>) {
    if v.is_nan() {
        out.extend_from_slice(if v.is_sign_negative() { b"-nan" } else { b"nan" });
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v < 0.0 { b"-inf" } else { b"inf" });
        return;
    }
    let start = out.len();
    // core's `{:.17}` is the exact decimal expansion rounded half-to-even, like glibc.
    if write!(VecWriter(out), "{v:.17}").is_err() {
        out.truncate(start);
        fmt_g17(v, out);
        return;
    }
    // There is always a '.' with 17 decimals, so trimming stops at it at the latest.
    while out.len() > start && out.last() == Some(&b'0') {
        out.pop();
    }
    if out.last() == Some(&b'.') {
        out.pop();
    }
    if out.get(start..) == Some(b"-0".as_slice()) {
        out.truncate(start);
        out.push(b'0');
    }
}

/// `fmt::Write` into a byte vector (infallible).
struct VecWriter<'a>(&'a mut Vec<u8>);

impl core::fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// A small fixed buffer for core's float formatter, so `%.17g` never allocates.
struct StackBuf {
    buf: [u8; 40],
    len: usize,
}

impl core::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(core::fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

fn fmt_g17(v: f64, out: &mut Vec<u8>) {
    fmt_g(v, 17, out);
}

/// C's `%.Pg` for a finite value (P significant digits, 1..=17). core's `{:.(P-1)e}`
/// yields the P correctly rounded significant digits (ties to even, as glibc) and the
/// decimal exponent X after rounding; `%g` then picks fixed notation when -4 <= X < P,
/// else exponent notation, and drops trailing zeros (and a bare '.') because no '#'
/// flag is given.
pub fn fmt_g(v: f64, precision: usize, out: &mut Vec<u8>) {
    let precision = precision.clamp(1, 17);
    // An integer of at most P digits prints as itself (the common case: Lua numbers
    // passed to redis.call are mostly counts and ids). -0 keeps its sign below.
    const POW10: [f64; 18] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
    ];
    if v.fract() == 0.0 && v.abs() < POW10[precision] && (v != 0.0 || v.is_sign_positive()) {
        fmt_i64(v as i64, out);
        return;
    }
    let mut sb = StackBuf { buf: [0; 40], len: 0 };
    let mut n = precision;
    let parsed = match short_exact(v, precision) {
        Some((digits, d, x)) => {
            n = d;
            Some((v.is_sign_negative(), digits, x))
        }
        None => write!(sb, "{v:.*e}", precision - 1)
            .ok()
            .and_then(|()| split_sci(sb.buf.get(..sb.len).unwrap_or_default(), precision)),
    };
    let Some((neg, digits, x)) = parsed else {
        // Not reachable for finite input; still emit a parseable number.
        let _ = write!(VecWriter(out), "{v:e}");
        return;
    };
    let digits = digits.get(..n).unwrap_or_default();
    if neg {
        out.push(b'-');
    }
    if (-4..precision as i32).contains(&x) {
        if x >= 0 {
            let (int, frac) = digits.split_at((x as usize + 1).min(digits.len()));
            out.extend_from_slice(int);
            push_frac(trim_zeros(frac), out);
        } else {
            out.extend_from_slice(b"0.");
            out.resize(out.len() + (-x - 1) as usize, b'0');
            out.extend_from_slice(trim_zeros(digits));
        }
    } else {
        let (first, frac) = digits.split_first().unwrap_or((&b'0', &[]));
        out.push(*first);
        push_frac(trim_zeros(frac), out);
        out.push(b'e');
        out.push(if x < 0 { b'-' } else { b'+' });
        // C prints at least two exponent digits.
        if x.unsigned_abs() < 10 {
            out.push(b'0');
        }
        fmt_i64(i64::from(x.unsigned_abs()), out);
    }
}

/// The digits of a non-integer `v` whose exact binary value is a decimal of at most
/// `precision` significant digits (1.5, 0.375, 1e-3 is not one), with their count and
/// the decimal exponent of the first: then %.Pg prints exactly
/// those digits, and core's exact formatting, which takes its slow bignum path on just
/// such values, is not needed. None for any other value.
fn short_exact(v: f64, precision: usize) -> Option<([u8; 17], usize, i32)> {
    let bits = v.to_bits();
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (mut m, mut e) = match exp_bits {
        0x7ff => return None,
        0 => (frac, -1074),
        _ => (frac | 1 << 52, exp_bits - 1075),
    };
    if m == 0 {
        return None;
    }
    let tz = m.trailing_zeros();
    m >>= tz;
    e += tz as i32;
    // v = m / 2^k = m * 5^k / 10^k; m < 2^53 and 5^30 < 2^70 keep the product in a u128.
    let k = u32::try_from(-e).ok().filter(|&k| (1..=30).contains(&k))?;
    let n = u128::from(m) * 5u128.pow(k);
    let mut tmp = [0u8; 40];
    let mut d = 0;
    // Digits by u128 division (a library call) only while the value is past u64.
    let mut wide = n;
    while wide > u128::from(u64::MAX) {
        *tmp.get_mut(d)? = b'0' + (wide % 10) as u8;
        wide /= 10;
        d += 1;
    }
    let mut r = wide as u64;
    while r > 0 {
        *tmp.get_mut(d)? = b'0' + (r % 10) as u8;
        r /= 10;
        d += 1;
    }
    if d > precision {
        return None;
    }
    let mut out = [0u8; 17];
    for (o, t) in out.iter_mut().zip(tmp.iter().take(d).rev()) {
        *o = *t;
    }
    // m is odd, so n ends in a nonzero digit: nothing to trim.
    Some((out, d, d as i32 - 1 - k as i32))
}

fn push_frac(frac: &[u8], out: &mut Vec<u8>) {
    if !frac.is_empty() {
        out.push(b'.');
        out.extend_from_slice(frac);
    }
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    match s.iter().rposition(|&b| b != b'0') {
        Some(i) => s.get(..=i).unwrap_or(s),
        None => &[],
    }
}

/// Splits core's `{:.16e}` output ("-1.2345678901234567e-5") into sign, the 17 digits and
/// the exponent.
fn split_sci(text: &[u8], precision: usize) -> Option<(bool, [u8; 17], i32)> {
    let (neg, rest) = match text.split_first() {
        Some((b'-', r)) => (true, r),
        _ => (false, text),
    };
    let e_pos = rest.iter().position(|&b| b == b'e')?;
    let (mant, exp) = rest.split_at(e_pos);
    let mut digits = [b'0'; 17];
    let mut n = 0usize;
    for &b in mant.iter().filter(|&&b| b != b'.') {
        *digits.get_mut(n)? = b;
        n += 1;
    }
    if n != precision {
        return None;
    }
    let exp = core::str::from_utf8(exp.get(1..)?).ok()?.parse().ok()?;
    Some((neg, digits, exp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_read_as_strtod_reads_them() {
        // A trailing ".0" sends the same number through the C library.
        for n in [
            "1",
            "-1",
            "9007199254740993",
            "-9007199254740995",
            "123456789012345678",
            "9223372036854775807",
            "-9223372036854775808",
        ] {
            let c = strtod(format!("{n}.0").as_bytes());
            assert_eq!(strtod(n.as_bytes()), c, "{n}");
            assert_eq!(strtod(n.as_bytes()).0.to_bits(), c.0.to_bits(), "{n}");
        }
        // Not canonical integers: the C library's reading, sign of zero and all.
        assert_eq!(strtod(b"-0").0.to_bits(), (-0.0f64).to_bits());
        assert_eq!(strtod(b"007"), (7.0, true, false));
        assert_eq!(strtod(b"12\0x"), (12.0, true, false));
        assert_eq!(strtod(b"99999999999999999999"), (1e20, true, false));
        let long = format!("{}.5", "1".repeat(70));
        assert!(strtod(long.as_bytes()).1);
    }

    #[test]
    fn c_casts_and_strtod_prefixes() {
        assert_eq!(c_cast_i64(-3.9), -3);
        assert_eq!(c_cast_i64(9.2e18), 9_200_000_000_000_000_000);
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, (1u64 << 63) as f64, -1e19] {
            assert_eq!(c_cast_i64(v), i64::MIN, "{v}");
        }
        assert_eq!(c_cast_i64(-((1u64 << 63) as f64)), i64::MIN);
        let z = b"[0x10, -1.5e3x, inf,+7,abc\0";
        assert_eq!(strtod_at(z, 1), (16.0, 4));
        assert_eq!(strtod_at(z, 7), (-1500.0, 6));
        assert_eq!(strtod_at(z, 16), (f64::INFINITY, 3));
        assert_eq!(strtod_at(z, 20), (7.0, 2));
        assert_eq!(strtod_at(z, 23), (0.0, 0));
        // Without its NUL the text is not read at all.
        assert_eq!(strtod_at(b"12", 0), (0.0, 0));
    }

    /// C's `%.Pg`, from libc.
    fn c_g(v: f64, p: usize) -> String {
        let mut buf = [0u8; 64];
        // Safety: the format takes an int precision and a double; the buffer is 64 bytes.
        let n = unsafe {
            libc::snprintf(
                buf.as_mut_ptr().cast(),
                buf.len(),
                c"%.*g".as_ptr(),
                p as libc::c_int,
                v,
            )
        };
        String::from_utf8_lossy(&buf[..n as usize]).into_owned()
    }

    fn rust_g(v: f64, p: usize) -> String {
        let mut out = Vec::new();
        fmt_g(v, p, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn fmt_g_integers_and_edges_match_c() {
        for v in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            7.0,
            99999.0,
            100000.0,
            123456.0,
            1234567.0,
            1e16,
            99999999999999999.0,
            1e17,
            -1e17,
            2f64.powi(53),
            0.5,
            1e-5,
            1e300,
        ] {
            for p in [1, 6, 14, 17] {
                assert_eq!(rust_g(v, p), c_g(v, p), "{v} with precision {p}");
            }
        }
    }

    #[test]
    fn fmt_g_of_short_binary_fractions_matches_c() {
        // Values whose exact decimal is short (m / 2^k): fmt_g's fast path and its edges.
        let mut r = Rng(0x9e3779b97f4a7c15);
        for i in 0..200_000u64 {
            let m = match i % 4 {
                0 => r.next() % 1000,
                1 => r.next() % 10_000_000,
                2 => r.next() >> 11,
                _ => r.next() % (1 << 30),
            };
            let k = (r.next() % 36) as i32;
            let v = m as f64 / 2f64.powi(k) * if i % 3 == 0 { -1.0 } else { 1.0 };
            let p = [1, 2, 6, 14, 15, 16, 17][(r.next() % 7) as usize];
            assert_eq!(rust_g(v, p), c_g(v, p), "{m} / 2^{k} with precision {p}");
        }
        for v in [f64::from_bits(1), f64::MIN_POSITIVE, 5e-324, 0.000244140625, 1.5e-5] {
            for p in [1, 6, 17] {
                assert_eq!(rust_g(v, p), c_g(v, p), "{v:e} with precision {p}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn fmt_g_matches_c(i in proptest::prelude::any::<i64>(), bits in proptest::prelude::any::<u64>(), p in 1usize..=17) {
            let f = f64::from_bits(bits);
            for v in [i as f64, (i % 1_000_000) as f64, f] {
                if v.is_finite() {
                    proptest::prop_assert_eq!(rust_g(v, p), c_g(v, p));
                }
            }
        }
    }

    fn g(v: f64) -> String {
        let mut out = Vec::new();
        fmt_f64(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn human(v: f64) -> String {
        let mut out = Vec::new();
        fmt_f64_human(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn int_text(v: i64) -> Vec<u8> {
        let mut out = Vec::new();
        fmt_i64(v, &mut out);
        out
    }

    /// Deterministic xorshift64* so the "property" loops need no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn parse_i64_table() {
        let cases: &[(&str, Option<i64>)] = &[
            ("0", Some(0)),
            ("1", Some(1)),
            ("-1", Some(-1)),
            ("+1", None),
            (" 1", None),
            ("1 ", None),
            ("01", None),
            ("00", None),
            ("-0", None),
            ("-01", None),
            ("-", None),
            ("", None),
            ("9223372036854775807", Some(i64::MAX)),
            ("9223372036854775808", None),
            ("-9223372036854775808", Some(i64::MIN)),
            ("-9223372036854775809", None),
            ("18446744073709551616", None),
            ("99999999999999999999", None),
            ("1e3", None),
            ("1.0", None),
            ("1_0", None),
            ("0x10", None),
            ("12a", None),
            ("1\0", None),
            ("-00000000000000000001", None),
            ("123456789012345678901", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_i64(s.as_bytes()), *want, "parse_i64({s:?})");
        }
    }

    #[test]
    fn parse_u64_table() {
        let cases: &[(&str, Option<u64>)] = &[
            ("0", Some(0)),
            ("7", Some(7)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("9223372036854775808", Some(1 << 63)),
            ("-1", None),
            ("-0", None),
            ("+1", None),
            ("01", None),
            (" 1", None),
            ("1 ", None),
            ("", None),
            ("1_0", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_u64(s.as_bytes()), *want, "parse_u64({s:?})");
        }
    }

    #[test]
    fn fmt_i64_and_len() {
        for (v, s) in [
            (0i64, "0"),
            (7, "7"),
            (-7, "-7"),
            (10, "10"),
            (-10, "-10"),
            (i64::MAX, "9223372036854775807"),
            (i64::MIN, "-9223372036854775808"),
        ] {
            assert_eq!(int_text(v), s.as_bytes());
            assert_eq!(ll_len(v), s.len());
        }
        let mut out = b"x=".to_vec();
        fmt_i64(-42, &mut out);
        assert_eq!(out, b"x=-42");
    }

    #[test]
    fn int_roundtrip_pseudo_random() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for i in 0..200_000u32 {
            let raw = rng.next();
            // Mix full-width values with small ones and powers of ten boundaries.
            let v = match i % 4 {
                0 => raw as i64,
                1 => (raw % 1000) as i64 - 500,
                2 => (raw >> (raw % 64)) as i64,
                _ => -((raw >> (raw % 64)) as i64),
            };
            let text = int_text(v);
            assert_eq!(text.len(), ll_len(v));
            assert_eq!(parse_i64(&text), Some(v));
            assert_eq!(text, v.to_string().as_bytes());
            if v >= 0 {
                assert_eq!(parse_u64(&text), Some(v as u64));
            }
        }
    }

    #[test]
    fn parse_f64_table() {
        let cases: &[(&str, Option<f64>)] = &[
            ("0", Some(0.0)),
            ("1", Some(1.0)),
            ("+1", Some(1.0)),
            ("-1.5", Some(-1.5)),
            ("01", Some(1.0)),
            ("-0", Some(-0.0)),
            ("0.0", Some(0.0)),
            (".5", Some(0.5)),
            ("5.", Some(5.0)),
            ("1e3", Some(1000.0)),
            ("1E+3", Some(1000.0)),
            ("1e-3", Some(0.001)),
            ("9223372036854775807", Some(9_223_372_036_854_775_807.0)),
            ("9223372036854775808", Some(9_223_372_036_854_775_808.0)),
            ("-9223372036854775808", Some(-9_223_372_036_854_775_808.0)),
            ("inf", Some(f64::INFINITY)),
            ("+inf", Some(f64::INFINITY)),
            ("-inf", Some(f64::NEG_INFINITY)),
            ("INF", Some(f64::INFINITY)),
            ("Infinity", Some(f64::INFINITY)),
            ("-INFINITY", Some(f64::NEG_INFINITY)),
            ("0x10", Some(16.0)),
            ("0X1p3", Some(8.0)),
            ("0x1.8p1", Some(3.0)),
            ("-0x.8", Some(-0.5)),
            ("0x1P-1074", Some(f64::from_bits(1))),
            ("1e-310", Some(1e-310)), // subnormal: ERANGE but nonzero, accepted
            ("4.9406564584124654e-324", Some(f64::from_bits(1))),
            ("0e999999999999999999999", Some(0.0)),
            ("1.7976931348623157e308", Some(f64::MAX)),
            // Rejections.
            ("1e400", None),
            ("-1e400", None),
            ("1e-400", None),
            ("2e-324", None), // below half the smallest subnormal: rounds to 0
            ("1.7976931348623159e308", None),
            ("0x1p1024", None),
            ("0x1p-1076", None),
            ("nan", None),
            ("NaN", None),
            ("-nan", None),
            ("nan(123)", None),
            ("", None),
            (" 1", None),
            ("\t1", None),
            ("1 ", None),
            ("1_0", None),
            (".", None),
            ("-", None),
            ("e5", None),
            ("1e", None),
            ("1e+", None),
            ("0x", None),
            ("0x.", None),
            ("0xg", None),
            ("0x1p", None),
            ("inf ", None),
            ("infin", None),
            ("infinityy", None),
            ("1\x002", None),
            ("1,5", None),
            ("--1", None),
            ("+-1", None),
        ];
        for (s, want) in cases {
            let got = parse_f64(s.as_bytes());
            match (got, want) {
                (Some(g), Some(w)) => assert!(g.to_bits() == w.to_bits(), "parse_f64({s:?}) = {g:?}, want {w:?}"),
                _ => assert_eq!(got, *want, "parse_f64({s:?})"),
            }
        }
    }

    #[test]
    fn parse_long_double_table() {
        let cases: &[(&str, Option<f64>)] = &[
            ("1.5", Some(1.5)),
            ("+1", Some(1.0)),
            ("inf", Some(f64::INFINITY)),
            ("0x10", Some(16.0)),
            ("1e400", Some(f64::INFINITY)), // a valid long double, beyond f64
            ("1e-400", Some(0.0)),          // a valid long double, below f64
            ("1e4932", Some(f64::INFINITY)),
            ("1.18973149535723176502e4932", Some(f64::INFINITY)), // just under LDBL_MAX
            ("1.18973149535723176509e4932", None),                // rounds to +inf in long double
            ("1e4933", None),
            ("-1e5000", None),
            ("3.7e-4951", Some(0.0)), // ~ smallest subnormal long double
            ("1.8e-4951", None),      // below half of it
            ("1.9e-4951", Some(0.0)), // above half: rounds up to the smallest subnormal
            ("1e-5000", None),
            ("0x1p16383", Some(f64::INFINITY)),
            ("0x1p16384", None),
            ("0x1p-16445", Some(0.0)),
            ("0x1p-16446", None),
            ("0x1.00000000001p-16446", Some(0.0)),
            ("nan", None),
            ("", None),
            (" 1", None),
            ("1 ", None),
            ("01", Some(1.0)),
            ("1_0", None),
        ];
        for (s, want) in cases {
            let got = parse_long_double(s.as_bytes());
            match (got, want) {
                (Some(g), Some(w)) => assert!(
                    g.to_bits() == w.to_bits(),
                    "parse_long_double({s:?}) = {g:?}, want {w:?}"
                ),
                _ => assert_eq!(got, *want, "parse_long_double({s:?})"),
            }
        }
        // Length limit: 5119 bytes accepted, 5120 rejected (no such limit for string2d).
        let mut long = vec![b'0'; 5118];
        long.push(b'1');
        assert_eq!(parse_long_double(&long), Some(1.0));
        long.insert(0, b'0');
        assert_eq!(parse_long_double(&long), None);
        assert_eq!(parse_f64(&long), Some(1.0));
    }

    #[test]
    fn long_double_limits_have_expected_exponents() {
        let l = ld_limits();
        assert_eq!(len_i64(&l.overflow) - 1, LD_OVERFLOW_EXP10);
        assert!(l.overflow.starts_with(b"118973149535723176505"));
        assert_eq!(len_i64(&l.underflow) - 1 - 16446, LD_UNDERFLOW_EXP10);
        assert!(l.underflow.starts_with(b"18225997659412373"));
    }

    // The literals are printf reference inputs, digits and all.
    #[allow(clippy::excessive_precision, clippy::approx_constant)]
    #[test]
    fn fmt_f64_matches_c_printf() {
        // Expected values from C/Python '%.17g'.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (3.0, "3"),
            (-3.0, "-3"),
            (0.1, "0.10000000000000001"),
            (-0.1, "-0.10000000000000001"),
            (0.3, "0.29999999999999999"),
            (0.5, "0.5"),
            (10.5, "10.5"),
            (100.0, "100"),
            (1e15, "1000000000000000"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (1e20, "1e+20"),
            (1e21, "1e+21"),
            (1e22, "1e+22"),
            (12345678901234567.0, "12345678901234568"),
            (1234567890123456.25, "1234567890123456.2"), // exact tie, to even
            (1234567890123456.75, "1234567890123456.8"),
            (1.5e-5, "1.5e-05"),
            (1e-4, "0.0001"),
            (1e-5, "1.0000000000000001e-05"),
            (0.0001234, "0.00012339999999999999"),
            (123456.789, "123456.789"),
            (3.14159, "3.1415899999999999"),
            (1.0 / 3.0, "0.33333333333333331"),
            (2.0 / 3.0, "0.66666666666666663"),
            (4.35, "4.3499999999999996"),
            (1e300, "1.0000000000000001e+300"),
            (1e-300, "1e-300"),
            (1.23e-18, "1.23e-18"),
            (f64::from_bits(1), "4.9406564584124654e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (-f64::NAN, "-nan"),
        ];
        for (v, want) in cases {
            assert_eq!(g(*v), *want, "fmt_f64({v:?})");
            let mut r3 = Vec::new();
            fmt_f64_resp3(*v, &mut r3);
            assert_eq!(r3, want.as_bytes(), "fmt_f64_resp3({v:?})");
        }
    }

    // The literals are printf reference inputs, digits and all.
    #[allow(clippy::excessive_precision, clippy::approx_constant)]
    #[test]
    fn fmt_f64_human_matches_ld2string() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (-1e-20, "0"),
            (3.0, "3"),
            (-3.0, "-3"),
            (10.5, "10.5"),
            (100.0, "100"),
            (1e20, "100000000000000000000"),
            (0.1, "0.10000000000000001"),
            (1.5e-5, "0.000015"),
            (1e-5, "0.00001"),
            (123456.789, "123456.78900000000430737"),
            (4.35, "4.34999999999999964"),
            (1234567890123456.25, "1234567890123456.25"),
            (3.814697265625e-6, "0.00000381469726562"), // exact tie at the 17th decimal
            (1e-300, "0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ];
        for (v, want) in cases {
            assert_eq!(human(*v), *want, "fmt_f64_human({v:?})");
        }
        let max = human(f64::MAX);
        assert_eq!(max.len(), 309);
        assert!(max.starts_with("17976931348623157081"));
    }

    #[test]
    fn float_roundtrip_pseudo_random() {
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        let mut out = Vec::new();
        for _ in 0..100_000 {
            let v = f64::from_bits(rng.next());
            if !v.is_finite() {
                continue;
            }
            out.clear();
            fmt_f64(v, &mut out);
            // 17 significant digits always round-trip.
            assert_eq!(parse_f64(&out).map(f64::to_bits), Some(v.to_bits()), "{v:?}");
            assert_eq!(parse_long_double(&out).map(f64::to_bits), Some(v.to_bits()));
        }
    }
}
