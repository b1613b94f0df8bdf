//! HyperLogLog laid out byte-for-byte like Redis 7.0 keeps it in a string value: a 16-byte
//! header ("HYLL", encoding 0 dense / 1 sparse, 3 spare bytes, 8-byte LE cached cardinality
//! whose top bit marks it stale), then 16384 6-bit registers, either packed LSB-first (dense,
//! exactly 12288 bytes) or run-length coded (sparse). Every byte written matches redis-server;
//! every byte read is untrusted, so corrupt values yield `HllError`, never a panic.
use std::fmt;

/// Bits of the hash that pick the register.
const HLL_P: u32 = 14;
/// Hash bits left to count the zero run in (64 - P).
const HLL_Q: usize = 64 - HLL_P as usize;
/// Number of registers.
pub const HLL_REGISTERS: usize = 1 << HLL_P;
/// Header bytes shared by both encodings.
pub const HLL_HDR_SIZE: usize = 16;
/// Length of a dense value: header plus 16384 registers of 6 bits.
pub const HLL_DENSE_SIZE: usize = HLL_HDR_SIZE + (HLL_REGISTERS * 6).div_ceil(8);
/// Default of the `hll-sparse-max-bytes` config.
pub const HLL_SPARSE_MAX_BYTES_DEFAULT: usize = 3000;
/// The seed Redis hashes elements with.
pub const HLL_HASH_SEED: u64 = 0xadc8_3b19;

const ENC_DENSE: u8 = 0;
const ENC_SPARSE: u8 = 1;
/// Offset of the encoding byte and of the cached cardinality in the header.
const ENC_OFF: usize = 4;
const CARD_OFF: usize = 8;
/// The "cache stale" flag: top bit of the last cardinality byte.
const CARD_STALE_BYTE: usize = CARD_OFF + 7;
const CARD_STALE_BIT: u8 = 0x80;
const REGISTER_MAX: u8 = 63;

/// Sparse opcodes: `00xxxxxx` ZERO (1..=64 zeros), `01xxxxxx yyyyyyyy` XZERO (1..=16384
/// zeros), `1vvvvvxx` VAL (value 1..=32 repeated 1..=4 times).
const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;

/// 0.5 / ln(2): the alpha of Ertl's estimator as m goes to infinity.
const HLL_ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// Why an HLL operation refused a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HllError {
    /// The string is not an HLL at all (bad length, magic or encoding). Non-string keys get
    /// the generic WRONGTYPE error from the command layer before any HLL check, as in Redis.
    Invalid,
    /// The header is fine but the sparse runs do not describe 16384 registers.
    Corrupt,
    /// PFDEBUG DECODE on a dense value.
    NotSparse,
}

impl HllError {
    /// The complete error reply Redis sends, without the leading '-'.
    pub fn reply(&self) -> &'static str {
        match self {
            HllError::Invalid => "WRONGTYPE Key is not a valid HyperLogLog string value.",
            HllError::Corrupt => "INVALIDOBJ Corrupted HLL object detected",
            HllError::NotSparse => "ERR HLL encoding is not sparse",
        }
    }
}

impl fmt::Display for HllError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reply())
    }
}

impl std::error::Error for HllError {}

// ---------------------------------------------------------------------------------------------
// Hashing
// ---------------------------------------------------------------------------------------------

/// MurmurHash2, 64-bit variant, reading 8-byte blocks little-endian (Redis compat:
/// hyperloglog.c MurmurHash64A; Redis passes a 32-bit seed and an `int` length, so elements of
/// 2 GiB or more, which Redis cannot hash sanely, are the only inputs where results could differ).
pub fn murmurhash64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        let mut k = u64::from_le_bytes(block.try_into().unwrap_or([0; 8]));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element lands in and the length of its "000..1" pattern (1..=Q+1) in the
/// hash bits above the index (Redis compat: hyperloglog.c hllPatLen).
pub fn pat_len(elem: &[u8]) -> (usize, u8) {
    let hash = murmurhash64a(elem, HLL_HASH_SEED);
    let index = (hash & (HLL_REGISTERS as u64 - 1)) as usize;
    // The sentinel bit bounds the count at Q+1 even when every remaining bit is zero.
    let rest = (hash >> HLL_P) | (1u64 << HLL_Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ---------------------------------------------------------------------------------------------
// Header
// ---------------------------------------------------------------------------------------------

/// Checks that `h` is an HLL: long enough for the header, "HYLL" magic, a known encoding, and a
/// dense value of the exact dense length (Redis compat: hyperloglog.c isHLLObjectOrReply).
/// Sparse bodies are not checked here; operations that walk them report `Corrupt`.
pub fn validate(h: &[u8]) -> Result<(), HllError> {
    if h.len() < HLL_HDR_SIZE || h.get(..4) != Some(b"HYLL".as_slice()) {
        return Err(HllError::Invalid);
    }
    match h.get(ENC_OFF) {
        Some(&ENC_DENSE) if h.len() == HLL_DENSE_SIZE => Ok(()),
        Some(&ENC_SPARSE) => Ok(()),
        _ => Err(HllError::Invalid),
    }
}

/// True if the encoding byte says sparse (the value may still need `validate`).
pub fn is_sparse(h: &[u8]) -> bool {
    h.get(ENC_OFF) == Some(&ENC_SPARSE)
}

/// True if the encoding byte says dense (the value may still need `validate`).
pub fn is_dense(h: &[u8]) -> bool {
    h.get(ENC_OFF) == Some(&ENC_DENSE)
}

/// PFDEBUG ENCODING: "dense" or "sparse".
pub fn encoding_name(h: &[u8]) -> Result<&'static str, HllError> {
    validate(h)?;
    Ok(if is_sparse(h) { "sparse" } else { "dense" })
}

/// Marks the cached cardinality stale; the next single-key PFCOUNT recomputes it.
pub fn invalidate_cache(h: &mut [u8]) {
    if let Some(b) = h.get_mut(CARD_STALE_BYTE) {
        *b |= CARD_STALE_BIT;
    }
}

fn cache_valid(h: &[u8]) -> bool {
    h.get(CARD_STALE_BYTE).is_some_and(|b| b & CARD_STALE_BIT == 0)
}

fn read_card(h: &[u8]) -> u64 {
    let mut card = [0u8; 8];
    if let Some(src) = h.get(CARD_OFF..CARD_OFF + 8) {
        card.copy_from_slice(src);
    }
    u64::from_le_bytes(card)
}

fn write_card(h: &mut [u8], card: u64) {
    if let Some(dst) = h.get_mut(CARD_OFF..CARD_OFF + 8) {
        dst.copy_from_slice(&card.to_le_bytes());
    }
}

/// The value PFADD / PFMERGE create for a missing key: sparse, one XZERO per 16384 registers,
/// cached cardinality 0 and valid (Redis compat: hyperloglog.c createHLLObject). PFADD then
/// counts the creation as a change, so a created key ends with the cache invalidated even when
/// no element is given: call `invalidate_cache` after creating it.
pub fn new_sparse() -> Vec<u8> {
    let runs = HLL_REGISTERS.div_ceil(SPARSE_XZERO_MAX_LEN);
    let mut h = Vec::with_capacity(HLL_HDR_SIZE + runs * 2);
    h.extend_from_slice(b"HYLL");
    h.push(ENC_SPARSE);
    h.resize(HLL_HDR_SIZE, 0);
    let mut left = HLL_REGISTERS;
    while left > 0 {
        let run = left.min(SPARSE_XZERO_MAX_LEN);
        push_zero_run(&mut h, run);
        left -= run;
    }
    h
}

// ---------------------------------------------------------------------------------------------
// Dense registers
// ---------------------------------------------------------------------------------------------

/// Register `i` of a packed 6-bit array. The register may straddle two bytes; past the end of
/// the array reads as zero, as Redis reads the string's NUL terminator there.
#[inline]
fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let b0 = u32::from(regs.get(byte).copied().unwrap_or(0));
    let b1 = u32::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << (8 - fb))) & u32::from(REGISTER_MAX)) as u8
}

/// Sets register `i` of a packed 6-bit array to `v` (masked to 6 bits), leaving neighbours intact.
#[inline]
fn dense_set(regs: &mut [u8], i: usize, v: u8) {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let v = u32::from(v & REGISTER_MAX);
    let mask = u32::from(REGISTER_MAX);
    if let Some(b) = regs.get_mut(byte) {
        *b = ((u32::from(*b) & !(mask << fb)) | (v << fb)) as u8;
    }
    // Only registers straddling a byte boundary (fb > 2) touch the next byte.
    if fb > 2 {
        if let Some(b) = regs.get_mut(byte + 1) {
            *b = ((u32::from(*b) & !(mask >> (8 - fb))) | (v >> (8 - fb))) as u8;
        }
    }
}

/// Raises register `i` to `count` if it is lower; true if it changed
/// (Redis compat: hyperloglog.c hllDenseSet).
#[inline]
fn dense_raise(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_set(regs, i, count);
        true
    } else {
        false
    }
}

/// The 16 registers packed in 12 bytes.
#[inline]
fn unpack12(c: &[u8; 12]) -> [u8; 16] {
    let m = REGISTER_MAX;
    [
        c[0] & m,
        (c[0] >> 6 | c[1] << 2) & m,
        (c[1] >> 4 | c[2] << 4) & m,
        (c[2] >> 2) & m,
        c[3] & m,
        (c[3] >> 6 | c[4] << 2) & m,
        (c[4] >> 4 | c[5] << 4) & m,
        (c[5] >> 2) & m,
        c[6] & m,
        (c[6] >> 6 | c[7] << 2) & m,
        (c[7] >> 4 | c[8] << 4) & m,
        (c[8] >> 2) & m,
        c[9] & m,
        (c[9] >> 6 | c[10] << 2) & m,
        (c[10] >> 4 | c[11] << 4) & m,
        (c[11] >> 2) & m,
    ]
}

/// Histogram of dense register values, 16 registers per 12 bytes
/// (Redis compat: hyperloglog.c hllDenseRegHisto). Four interleaved sub-histograms keep
/// consecutive increments of the same (usually equal) value from serialising on memory.
fn dense_histo(regs: &[u8], hist: &mut [i32; 64]) {
    let mut sub = [[0u32; 64]; 4];
    for chunk in regs.chunks_exact(12) {
        let Ok(c) = <&[u8; 12]>::try_from(chunk) else { continue };
        let r = unpack12(c);
        for q in r.chunks_exact(4) {
            for (h, &v) in sub.iter_mut().zip(q) {
                h[usize::from(v & REGISTER_MAX)] += 1;
            }
        }
    }
    for (i, out) in hist.iter_mut().enumerate() {
        *out += sub.iter().map(|h| h[i] as i32).sum::<i32>();
    }
}

// ---------------------------------------------------------------------------------------------
// Sparse opcodes
// ---------------------------------------------------------------------------------------------

#[inline]
fn op_is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}

#[inline]
fn op_is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}

#[inline]
fn op_is_val(b: u8) -> bool {
    b & 0x80 != 0
}

#[inline]
fn zero_len(b: u8) -> usize {
    usize::from(b & 0x3f) + 1
}

#[inline]
fn xzero_len(b0: u8, b1: u8) -> usize {
    ((usize::from(b0 & 0x3f) << 8) | usize::from(b1)) + 1
}

#[inline]
fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}

#[inline]
fn val_len(b: u8) -> usize {
    usize::from(b & 0x3) + 1
}

/// VAL opcode for `len` (1..=4) registers of `value` (1..=32).
#[inline]
fn val_op(value: u8, len: usize) -> u8 {
    0x80 | ((value.wrapping_sub(1) & 0x1f) << 2) | ((len.wrapping_sub(1) & 0x3) as u8)
}

/// ZERO for runs up to 64, XZERO beyond (Redis never emits a short run as XZERO when splitting).
fn zero_run_op(run: usize) -> ([u8; 2], usize) {
    let l = run.wrapping_sub(1);
    if run > SPARSE_ZERO_MAX_LEN {
        ([0x40 | ((l >> 8) & 0x3f) as u8, (l & 0xff) as u8], 2)
    } else {
        ([(l & 0x3f) as u8, 0], 1)
    }
}

fn push_zero_run(h: &mut Vec<u8>, run: usize) {
    let (op, n) = zero_run_op(run);
    h.extend_from_slice(op.get(..n).unwrap_or(&[]));
}

/// One decoded sparse opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

/// Walks sparse opcodes. An XZERO cut by the end of the buffer reads its second byte as 0, as
/// Redis reads the string's terminator there.
struct Ops<'a> {
    b: &'a [u8],
    p: usize,
}

fn ops(body: &[u8]) -> Ops<'_> {
    Ops { b: body, p: 0 }
}

impl Iterator for Ops<'_> {
    type Item = Op;

    #[inline]
    fn next(&mut self) -> Option<Op> {
        let b0 = *self.b.get(self.p)?;
        if op_is_zero(b0) {
            self.p += 1;
            Some(Op::Zero(zero_len(b0)))
        } else if op_is_xzero(b0) {
            let b1 = self.b.get(self.p + 1).copied().unwrap_or(0);
            self.p += 2;
            Some(Op::XZero(xzero_len(b0, b1)))
        } else {
            self.p += 1;
            Some(Op::Val(val_value(b0), val_len(b0)))
        }
    }
}

/// Applies every VAL run of a sparse body to `set(register, value)`. The body is valid iff its
/// runs cover exactly 16384 registers: a run reaching past the end, including VALs after a
/// complete body, is `Corrupt` (Redis compat: hyperloglog.c hllSparseToDense / hllMerge as fixed
/// for CVE-2025-32023, which the 7.0.15 builds in distributions carry).
fn sparse_walk(body: &[u8], mut set: impl FnMut(usize, u8)) -> Result<(), HllError> {
    let mut idx = 0usize;
    for op in ops(body) {
        let run = match op {
            Op::Zero(run) | Op::XZero(run) | Op::Val(_, run) => run,
        };
        if idx + run > HLL_REGISTERS {
            return Err(HllError::Corrupt);
        }
        if let Op::Val(v, _) = op {
            for i in idx..idx + run {
                set(i, v);
            }
        }
        idx += run;
    }
    if idx == HLL_REGISTERS {
        Ok(())
    } else {
        Err(HllError::Corrupt)
    }
}

/// Histogram of a sparse body; false unless the runs cover exactly 16384 registers
/// (Redis compat: hyperloglog.c hllSparseRegHisto, with the CVE-2025-32023 overflow fix).
fn sparse_histo(body: &[u8], hist: &mut [i32; 64]) -> bool {
    let mut idx = 0usize;
    for op in ops(body) {
        let (v, run) = match op {
            Op::Zero(run) | Op::XZero(run) => (0, run),
            Op::Val(v, run) => (v, run),
        };
        idx += run;
        if idx > HLL_REGISTERS {
            return false;
        }
        hist[usize::from(v & REGISTER_MAX)] += run as i32;
    }
    idx == HLL_REGISTERS
}

/// The dense value holding the same registers as sparse `h`, keeping its whole header except
/// the encoding (Redis compat: hyperloglog.c hllSparseToDense).
fn sparse_to_dense(h: &[u8]) -> Result<Vec<u8>, HllError> {
    let mut d = vec![0u8; HLL_DENSE_SIZE];
    let (hdr, regs) = d.split_at_mut(HLL_HDR_SIZE);
    hdr.copy_from_slice(h.get(..HLL_HDR_SIZE).ok_or(HllError::Invalid)?);
    hdr[ENC_OFF] = ENC_DENSE;
    sparse_walk(h.get(HLL_HDR_SIZE..).unwrap_or(&[]), |i, v| dense_set(regs, i, v))?;
    Ok(d)
}

/// Up to 5 opcode bytes replacing one opcode (the worst case is XZERO-VAL-XZERO).
struct Seq {
    buf: [u8; 5],
    len: usize,
}

impl Seq {
    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn push_zero_run(&mut self, run: usize) {
        let (op, n) = zero_run_op(run);
        for &b in op.get(..n).unwrap_or(&[]) {
            self.push(b);
        }
    }

    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

/// Raises register `index` of a sparse `h` to `count` if lower, in place, promoting `h` to dense
/// when `count` exceeds what VAL can hold or the grown value would pass `max_bytes`. Returns
/// whether anything changed; the cache is invalidated on sparse changes. Mirrors Redis's opcode
/// split and its bounded VAL merge scan exactly, since the resulting bytes are visible to users
/// (Redis compat: hyperloglog.c hllSparseSet).
fn sparse_set(h: &mut Vec<u8>, index: usize, count: u8, max_bytes: usize) -> Result<bool, HllError> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(h, index, count);
    }
    let at = |h: &Vec<u8>, i: usize| h.get(i).copied().unwrap_or(0);
    let end = h.len();

    // Step 1: find the opcode covering `index`, remembering the one before it.
    let mut p = HLL_HDR_SIZE;
    let mut first = 0usize;
    let mut prev: Option<usize> = None;
    let mut span = 0usize;
    let buf: &[u8] = h;
    while let Some(&b) = buf.get(p) {
        let oplen;
        (span, oplen) = if op_is_val(b) {
            (val_len(b), 1)
        } else if op_is_zero(b) {
            (zero_len(b), 1)
        } else {
            (xzero_len(b, buf.get(p + 1).copied().unwrap_or(0)), 2)
        };
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= end {
        return Err(HllError::Corrupt);
    }
    let b = at(h, p);
    let oldlen = if op_is_xzero(b) { 2 } else { 1 };
    let next = Some(p + oldlen).filter(|&n| n < end);

    // Step 2: trivial in-place updates, else build the replacement sequence.
    let mut end = end;
    let trivial = if op_is_val(b) {
        if val_value(b) >= count {
            return Ok(false);
        }
        span == 1
    } else {
        op_is_zero(b) && span == 1
    };
    if trivial {
        if let Some(slot) = h.get_mut(p) {
            *slot = val_op(count, 1);
        }
    } else {
        let last = first + span - 1;
        let mut seq = Seq { buf: [0; 5], len: 0 };
        if op_is_val(b) {
            let cur = val_value(b);
            if index != first {
                seq.push(val_op(cur, index - first));
            }
            seq.push(val_op(count, 1));
            if index != last {
                seq.push(val_op(cur, last - index));
            }
        } else {
            if index != first {
                seq.push_zero_run(index - first);
            }
            seq.push(val_op(count, 1));
            if index != last {
                seq.push_zero_run(last - index);
            }
        }

        // Step 3: splice the sequence in place of the opcode, unless that grows the value past
        // the configured limit.
        let seqlen = seq.len;
        if seqlen > oldlen && end + (seqlen - oldlen) > max_bytes {
            return promote(h, index, count);
        }
        let new_end = end + seqlen - oldlen;
        match next {
            Some(n) => {
                // In-place shift of the tail, like Redis's memmove (n < end, n - oldlen = p).
                if seqlen > oldlen {
                    h.resize(new_end, 0);
                    h.copy_within(n..end, n + seqlen - oldlen);
                } else if seqlen < oldlen {
                    h.copy_within(n..end, p + seqlen);
                    h.truncate(new_end);
                }
                if let Some(dst) = h.get_mut(p..p + seqlen) {
                    dst.copy_from_slice(seq.bytes());
                }
            }
            None => {
                // Last opcode. If it was an XZERO cut short by the end of the buffer, Redis
                // writes one byte past the new length (into the NUL terminator): drop it. Redis
                // may read that byte back later; a Vec cannot, the one known divergence, only
                // reachable with hand-crafted corrupt values.
                h.truncate(p);
                h.extend_from_slice(seq.bytes());
                h.truncate(new_end);
            }
        }
        end = new_end;
    }

    // Step 4: merge adjacent equal VALs, scanning at most 5 opcodes from the one before the
    // change; Redis stops there, so longer mergeable chains are deliberately left alone.
    let mut p = prev.unwrap_or(HLL_HDR_SIZE);
    let mut scan = 5;
    while p < end && scan > 0 {
        scan -= 1;
        let b = at(h, p);
        if op_is_xzero(b) {
            p += 2;
            continue;
        }
        if op_is_zero(b) {
            p += 1;
            continue;
        }
        let b1 = at(h, p + 1);
        if p + 1 < end && op_is_val(b1) && val_value(b) == val_value(b1) {
            let len = val_len(b) + val_len(b1);
            if len <= SPARSE_VAL_MAX_LEN {
                if let Some(slot) = h.get_mut(p + 1) {
                    *slot = val_op(val_value(b), len);
                }
                h.remove(p);
                end -= 1;
                // Stay on the merged opcode: it may merge with its right neighbour too.
                continue;
            }
        }
        p += 1;
    }
    invalidate_cache(h);
    Ok(true)
}

/// Converts sparse `h` to dense and raises the register there. Redis asserts the register
/// changes (the caller only promotes when it must grow), so this reports a change.
fn promote(h: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, HllError> {
    let mut d = sparse_to_dense(h)?;
    if let Some(regs) = d.get_mut(HLL_HDR_SIZE..) {
        dense_raise(regs, index, count);
    }
    *h = d;
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// Public operations
// ---------------------------------------------------------------------------------------------

/// Adds one element (one PFADD argument): validates `h`, hashes, raises the register in the
/// dense or sparse form (promoting to dense as Redis does). Returns whether a register changed,
/// in which case the cached cardinality is invalidated (PFADD's net effect). On `Err` this call
/// left `h` unchanged, but earlier elements of the same PFADD stay applied, as in Redis.
///
/// PFADD (Redis compat: pfaddCommand): a missing key becomes `new_sparse()` plus
/// `invalidate_cache` and counts as updated; an existing one must pass `validate` (with no
/// elements nothing else happens). Reply 1 if created or any `add` returned true, else 0; on
/// updates signal the key, fire a "pfadd" event and add the number of updates to dirty. On
/// `Err` reply the error (the key keeps what the earlier elements did).
pub fn add(h: &mut Vec<u8>, elem: &[u8], sparse_max_bytes: usize) -> Result<bool, HllError> {
    validate(h)?;
    let (index, count) = pat_len(elem);
    let changed = if is_sparse(h) {
        sparse_set(h, index, count, sparse_max_bytes)?
    } else {
        h.get_mut(HLL_HDR_SIZE..)
            .is_some_and(|regs| dense_raise(regs, index, count))
    };
    if changed {
        invalidate_cache(h);
    }
    Ok(changed)
}

/// Single-key PFCOUNT: the cached cardinality if valid, else the estimate, which is then stored
/// in the header. Returns `(cardinality, header_updated)`; when updated, Redis treats the key as
/// modified (signal + dirty + propagation) even though the command is read-only. A missing key
/// replies 0. Reply the cardinality as `card as i64`: Redis sends it through a signed integer,
/// so a crafted dense value estimating 2^63 replies -9223372036854775808.
pub fn count_cached(h: &mut [u8]) -> Result<(u64, bool), HllError> {
    validate(h)?;
    if cache_valid(h) {
        return Ok((read_card(h), false));
    }
    let card = count(h)?;
    write_card(h, card);
    Ok((card, true))
}

/// The estimate of one HLL, ignoring (and not touching) the cache.
pub fn count(h: &[u8]) -> Result<u64, HllError> {
    validate(h)?;
    let body = h.get(HLL_HDR_SIZE..).unwrap_or(&[]);
    let mut hist = [0i32; 64];
    if is_sparse(h) {
        if !sparse_histo(body, &mut hist) {
            return Err(HllError::Corrupt);
        }
    } else {
        dense_histo(body, &mut hist);
    }
    Ok(estimate(&hist))
}

/// Converts `h` to dense in place (PFDEBUG TODENSE, PFDEBUG GETREG, PFMERGE). Returns true if
/// it was sparse: Redis then counts the key as modified.
pub fn to_dense(h: &mut Vec<u8>) -> Result<bool, HllError> {
    validate(h)?;
    if !is_sparse(h) {
        return Ok(false);
    }
    *h = sparse_to_dense(h)?;
    Ok(true)
}

/// The 16384 register values (PFDEBUG GETREG: Redis converts a sparse key to dense first, and
/// counts that as a modification, so call `to_dense` on the stored value, then reply with
/// these). PFDEBUG looks the key up for writing; a missing key is
/// "ERR The specified key does not exist"; the value is validated before the subcommand name.
pub fn registers(h: &[u8]) -> Result<Vec<u8>, HllError> {
    let mut r = Registers::new();
    r.merge(h)?;
    Ok(r.regs.to_vec())
}

/// PFDEBUG DECODE: the sparse opcodes as "z:len" (ZERO), "Z:len" (XZERO) and "v:value,len" (VAL)
/// tokens separated by spaces. Like Redis it only decodes, so corrupt runs are not an error.
pub fn decode_sparse(h: &[u8]) -> Result<String, HllError> {
    use fmt::Write;
    validate(h)?;
    if !is_sparse(h) {
        return Err(HllError::NotSparse);
    }
    let mut s = String::new();
    for op in ops(h.get(HLL_HDR_SIZE..).unwrap_or(&[])) {
        let _ = match op {
            Op::Zero(run) => write!(s, "z:{run} "),
            Op::XZero(run) => write!(s, "Z:{run} "),
            Op::Val(v, run) => write!(s, "v:{v},{run} "),
        };
    }
    Ok(s.trim_matches(' ').to_owned())
}

// ---------------------------------------------------------------------------------------------
// Estimator
// ---------------------------------------------------------------------------------------------

/// Ertl's sigma (arXiv:1702.01284). Converges for x in [0, 1); the cap only guards
/// against inputs Redis itself would spin on.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    for _ in 0..10_000 {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            break;
        }
    }
    z
}

/// Ertl's tau (arXiv:1702.01284). `pow(1 - x, 2)` in Redis is compiled to a plain square.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    for _ in 0..10_000 {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if prev == z {
            break;
        }
    }
    z / 3.0
}

/// C's `llroundl` on x86-64: half away from zero; NaN and out-of-range give i64::MIN.
fn llroundl(x: f64) -> i64 {
    const LIM: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if x.is_nan() || !(-LIM..LIM).contains(&x) {
        i64::MIN
    } else {
        x.round() as i64
    }
}

/// C's `(uint64_t)` of a double on x86-64 (only ever given values that came from an i64).
fn c_double_to_u64(e: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if e >= TWO63 {
        ((e - TWO63) as i64 as u64) ^ (1u64 << 63)
    } else {
        e as i64 as u64
    }
}

/// Cardinality from a register histogram with Ertl's improved estimator, in Redis's exact
/// floating-point operation order so the integer matches (Redis compat: hyperloglog.c hllCount).
fn estimate(hist: &[i32; 64]) -> u64 {
    let m = HLL_REGISTERS as f64;
    let mut z = m * tau((m - f64::from(hist[HLL_Q + 1])) / m);
    for &n in hist[1..=HLL_Q].iter().rev() {
        z += f64::from(n);
        z *= 0.5;
    }
    z += m * sigma(f64::from(hist[0]) / m);
    // Redis stores llroundl's result in a double, then casts that to uint64_t.
    let e = llroundl(HLL_ALPHA_INF * m * m / z) as f64;
    c_double_to_u64(e)
}

// ---------------------------------------------------------------------------------------------
// Unpacked registers: multi-key PFCOUNT and PFMERGE
// ---------------------------------------------------------------------------------------------

/// One byte per register: the max-union of several HLLs (Redis's internal "raw" encoding).
///
/// Multi-key PFCOUNT (Redis compat: hyperloglog.c pfcountCommand, 2+ keys, even repeated):
/// for each key in order, skip missing keys, reply the type error for non-strings, then
/// `merge(value)?` (its `Invalid` / `Corrupt` are the replies); reply `count()`. No key is
/// modified and no cache is read or written.
///
/// PFMERGE dest src... (Redis compat: pfmergeCommand): the sources are ALL named keys
/// including dest itself (it comes first). For each in order: skip missing, type error for
/// non-strings, `merge(value)?`. Then take dest's current value, or `new_sparse()` if it does
/// not exist, and call `write_into(&mut dest, sparse_max_bytes)`: the destination becomes
/// dense iff at least one merged input was dense (`saw_dense`); otherwise its registers are
/// raised one by one through the sparse update path, which may still promote it at
/// `sparse_max_bytes` or on a register above 32. The destination is created (and stored) only
/// after every merge succeeded, even if all sources are missing. The cache always ends
/// invalidated; the key is signalled modified, a "pfadd" keyspace event fires, dirty += 1 and
/// the reply is OK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registers {
    regs: Box<[u8; HLL_REGISTERS]>,
    saw_dense: bool,
}

impl Default for Registers {
    fn default() -> Self {
        Self::new()
    }
}

impl Registers {
    /// All registers zero (the empty set).
    pub fn new() -> Self {
        Registers {
            regs: Box::new([0; HLL_REGISTERS]),
            saw_dense: false,
        }
    }

    /// Folds HLL value `h` in, registerwise max. `Invalid` if `h` is not an HLL, `Corrupt` for
    /// bad sparse runs (Redis compat: hyperloglog.c isHLLObjectOrReply + hllMerge).
    pub fn merge(&mut self, h: &[u8]) -> Result<(), HllError> {
        validate(h)?;
        let body = h.get(HLL_HDR_SIZE..).unwrap_or(&[]);
        if is_sparse(h) {
            let regs = &mut self.regs;
            sparse_walk(body, |i, v| {
                if let Some(r) = regs.get_mut(i) {
                    *r = (*r).max(v);
                }
            })
        } else {
            self.saw_dense = true;
            for (chunk, out) in body.chunks_exact(12).zip(self.regs.chunks_exact_mut(16)) {
                let Ok(c) = <&[u8; 12]>::try_from(chunk) else { continue };
                for (r, v) in out.iter_mut().zip(unpack12(c)) {
                    *r = (*r).max(v);
                }
            }
            Ok(())
        }
    }

    /// Whether a dense value was merged (PFMERGE then writes a dense destination).
    pub fn saw_dense(&self) -> bool {
        self.saw_dense
    }

    /// The register values.
    pub fn as_slice(&self) -> &[u8] {
        &self.regs[..]
    }

    /// The estimate of the union (Redis compat: hyperloglog.c hllRawRegHisto + hllCount). Reply
    /// it as `i64`, like `count_cached`.
    pub fn count(&self) -> u64 {
        let mut sub = [[0u32; 64]; 4];
        for word in self.regs.chunks_exact(8) {
            if word.iter().all(|&b| b == 0) {
                sub[0][0] += 8;
                continue;
            }
            for q in word.chunks_exact(4) {
                for (h, &v) in sub.iter_mut().zip(q) {
                    h[usize::from(v & REGISTER_MAX)] += 1;
                }
            }
        }
        let mut hist = [0i32; 64];
        for (i, out) in hist.iter_mut().enumerate() {
            *out = sub.iter().map(|h| h[i] as i32).sum();
        }
        estimate(&hist)
    }

    /// PFMERGE's write step into the destination's value `dest` (see the type docs): dense if
    /// any merged input was dense, then every non-zero register raised in place, then the cache
    /// invalidated. `Corrupt` only if `dest` is sparse and corrupt, which cannot happen when
    /// dest was merged first as PFMERGE does.
    pub fn write_into(&self, dest: &mut Vec<u8>, sparse_max_bytes: usize) -> Result<(), HllError> {
        validate(dest)?;
        if self.saw_dense {
            to_dense(dest)?;
        }
        for (j, &v) in self.regs.iter().enumerate() {
            if v == 0 {
                continue;
            }
            if is_sparse(dest) {
                // Redis ignores the result here: dest was validated by the merge.
                let _ = sparse_set(dest, j, v, sparse_max_bytes);
            } else if let Some(regs) = dest.get_mut(HLL_HDR_SIZE..) {
                dense_raise(regs, j, v);
            }
        }
        invalidate_cache(dest);
        Ok(())
    }

    /// A fresh dense HLL value holding these registers, cache invalidated. Not what PFMERGE
    /// stores (see `write_into`), but handy for building values.
    pub fn to_dense(&self) -> Vec<u8> {
        let mut d = vec![0u8; HLL_DENSE_SIZE];
        if let Some(hdr) = d.get_mut(..5) {
            hdr.copy_from_slice(b"HYLL\0");
        }
        if let Some(regs) = d.get_mut(HLL_HDR_SIZE..) {
            for (i, &v) in self.regs.iter().enumerate() {
                if v != 0 {
                    dense_set(regs, i, v);
                }
            }
        }
        invalidate_cache(&mut d);
        d
    }
}

// ---------------------------------------------------------------------------------------------
// PFSELFTEST
// ---------------------------------------------------------------------------------------------

/// PFSELFTEST: the checks Redis runs. 1000 rounds of random dense register writes read back
/// exactly; then 10M distinct elements added to a dense and a sparse HLL at once, checking at
/// 1, 10, 100, ... that small ones stay sparse, both agree, and the error is within 6 standard
/// errors (at most 1 at cardinality 10). `Err` holds the full error reply text without the '-'
/// (Redis compat: hyperloglog.c pfselftestCommand).
pub fn selftest(sparse_max_bytes: usize) -> Result<(), String> {
    use rand::Rng;
    let mut rng = rand::rng();

    let mut dense = Registers::new().to_dense();
    let mut expect = [0u8; HLL_REGISTERS];
    for _ in 0..1000 {
        let regs = dense.get_mut(HLL_HDR_SIZE..).unwrap_or(&mut []);
        for (i, e) in expect.iter_mut().enumerate() {
            let r = rng.random::<u8>() & REGISTER_MAX;
            *e = r;
            dense_set(regs, i, r);
        }
        for (i, &e) in expect.iter().enumerate() {
            let got = dense_get(regs, i);
            if got != e {
                return Err(format!("ERR TESTFAILED Register {i} should be {e} but is {got}"));
            }
        }
    }

    dense.truncate(HLL_HDR_SIZE);
    dense.resize(HLL_DENSE_SIZE, 0);
    let mut sparse = new_sparse();
    let relerr = 1.04 / (HLL_REGISTERS as f64).sqrt();
    let seed: u64 = rng.random();
    let mut checkpoint: u64 = 1;
    for j in 1..=10_000_000u64 {
        let ele = (j ^ seed).to_le_bytes();
        if let Some(regs) = dense.get_mut(HLL_HDR_SIZE..) {
            let (index, count) = pat_len(&ele);
            dense_raise(regs, index, count);
        }
        let _ = add(&mut sparse, &ele, sparse_max_bytes);
        if j != checkpoint {
            continue;
        }
        if j < (sparse_max_bytes / 2) as u64 && !is_sparse(&sparse) {
            return Err("ERR TESTFAILED sparse encoding not used".to_owned());
        }
        let card = count(&dense).map_err(|e| e.reply().to_owned())?;
        if count(&sparse).ok() != Some(card) {
            return Err("ERR TESTFAILED dense/sparse disagree".to_owned());
        }
        let abserr = checkpoint.abs_diff(card);
        let maxerr = if j == 10 {
            1
        } else {
            (relerr * 6.0 * checkpoint as f64).ceil() as u64
        };
        if abserr > maxerr {
            return Err(format!(
                "ERR TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
            ));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    /// One random edit after the 16-byte header: 0 overwrite, 1 insert, 2 remove,
    /// 3 truncate (the first and third need a non-empty body).
    fn mutate_body<R: Rng>(h: &mut Vec<u8>, rng: &mut R, kind: u32) {
        match kind {
            0 if h.len() > 16 => {
                let i = rng.random_range(16..h.len());
                h[i] = rng.random();
            }
            1 => {
                let i = rng.random_range(16..=h.len());
                h.insert(i, rng.random());
            }
            2 if h.len() > 16 => {
                let i = rng.random_range(16..h.len());
                h.remove(i);
            }
            3 => {
                let n = rng.random_range(16..=h.len());
                h.truncate(n);
            }
            _ => {}
        }
    }

    /// Expected `(element, murmurhash64a with Redis's seed, register, pattern length)`, computed
    /// with Redis's C MurmurHash64A and hllPatLen.
    const VECTORS: &[(&str, u64, usize, u8)] = &[
        ("", 0xd8dfea6585bc9732, 5938, 2),
        ("a", 0x53d2470a9b43b1a7, 12711, 2),
        ("b", 0xf10cdf96c004fda4, 15780, 1),
        ("c", 0x7585a45533f260f4, 8436, 1),
        ("foo", 0xe64609b8b0141cb4, 7348, 5),
        ("hello world", 0xa919bc3051f624b7, 9399, 4),
        ("0123456789abcdef", 0x9f8565428eaa573d, 5949, 1),
        (
            "The quick brown fox jumps over the lazy dog",
            0x51606c5c5b561ace,
            6862,
            4,
        ),
        ("12345678", 0x95ebb86389132953, 10579, 3),
        ("1234567", 0x85563db163632857, 10327, 3),
    ];

    fn header(enc: u8, card: u64) -> Vec<u8> {
        let mut h = b"HYLL".to_vec();
        h.extend_from_slice(&[enc, 0, 0, 0]);
        h.extend_from_slice(&card.to_le_bytes());
        h
    }

    fn model_add(model: &mut [u8], elem: &[u8]) -> bool {
        let (i, c) = pat_len(elem);
        if c > model[i] {
            model[i] = c;
            true
        } else {
            false
        }
    }

    fn dense_from(regs: &[u8]) -> Vec<u8> {
        let mut r = Registers::new();
        r.regs.copy_from_slice(regs);
        r.to_dense()
    }

    /// The sparse value made of `ops` after a header (stale cache).
    fn sparse_of(body: &[u8]) -> Vec<u8> {
        let mut h = header(1, 1 << 63);
        h.extend_from_slice(body);
        h
    }

    #[test]
    fn murmur_and_patlen_vectors() {
        for &(s, hash, idx, count) in VECTORS {
            assert_eq!(murmurhash64a(s.as_bytes(), HLL_HASH_SEED), hash, "{s:?}");
            assert_eq!(pat_len(s.as_bytes()), (idx, count), "{s:?}");
        }
        assert_eq!(murmurhash64a(b"a", 0), 0x071717d2d36b6b11);
        // Pattern lengths are bounded by Q+1 whatever the hash.
        let mut rng = SmallRng::seed_from_u64(7);
        for _ in 0..10_000 {
            let e: [u8; 9] = rng.random();
            let (i, c) = pat_len(&e);
            assert!(i < HLL_REGISTERS && (1..=51).contains(&c));
        }
    }

    #[test]
    fn new_sparse_bytes() {
        let mut want = header(1, 0);
        want.extend_from_slice(&[0x7f, 0xff]);
        assert_eq!(new_sparse(), want);
        assert_eq!(validate(&want), Ok(()));
        assert_eq!(decode_sparse(&want).unwrap(), "Z:16384");
        assert_eq!(count(&want), Ok(0));
        let mut h = new_sparse();
        assert_eq!(count_cached(&mut h), Ok((0, false)));
        invalidate_cache(&mut h);
        assert_eq!(h[15], 0x80);
        assert_eq!(count_cached(&mut h), Ok((0, true)));
        assert_eq!(h, new_sparse());
    }

    #[test]
    fn abc_sparse_bytes() {
        let mut h = new_sparse();
        for e in ["a", "b", "c"] {
            assert_eq!(add(&mut h, e.as_bytes(), 3000), Ok(true));
        }
        assert_eq!(add(&mut h, b"a", 3000), Ok(false));
        // c -> reg 8436 = 1, a -> reg 12711 = 2, b -> reg 15780 = 1.
        let want = sparse_of(&[0x60, 0xf3, 0x80, 0x50, 0xb1, 0x84, 0x4b, 0xfb, 0x80, 0x42, 0x5a]);
        assert_eq!(h, want);
        assert_eq!(
            decode_sparse(&h).unwrap(),
            "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603"
        );
        assert_eq!(count_cached(&mut h), Ok((3, true)));
        assert_eq!(&h[8..16], &3u64.to_le_bytes());
        assert_eq!(count_cached(&mut h), Ok((3, false)));
        let regs = registers(&h).unwrap();
        assert_eq!((regs[8436], regs[12711], regs[15780]), (1, 2, 1));
        assert_eq!(regs.iter().filter(|&&r| r != 0).count(), 3);
        assert_eq!(to_dense(&mut h), Ok(true));
        assert_eq!(h.len(), HLL_DENSE_SIZE);
        assert_eq!(&h[..16], &header(0, 3)[..]);
        assert_eq!(registers(&h).unwrap(), regs);
        assert_eq!(to_dense(&mut h), Ok(false));
        assert_eq!(decode_sparse(&h), Err(HllError::NotSparse));
        assert_eq!(encoding_name(&h), Ok("dense"));
    }

    #[test]
    fn sparse_split_and_merge_rules() {
        // Split a ZERO run in the middle: z:a v z:b. Then filling the neighbours merges VALs.
        let mut h = sparse_of(&[0x7f, 0xff]);
        assert_eq!(sparse_set(&mut h, 100, 3, 3000), Ok(true));
        assert_eq!(decode_sparse(&h).unwrap(), "Z:100 v:3,1 Z:16283");
        assert_eq!(sparse_set(&mut h, 101, 3, 3000), Ok(true));
        assert_eq!(decode_sparse(&h).unwrap(), "Z:100 v:3,2 Z:16282");
        assert_eq!(sparse_set(&mut h, 99, 3, 3000), Ok(true));
        assert_eq!(decode_sparse(&h).unwrap(), "Z:99 v:3,3 Z:16282");
        assert_eq!(sparse_set(&mut h, 102, 3, 3000), Ok(true));
        assert_eq!(decode_sparse(&h).unwrap(), "Z:99 v:3,4 Z:16281");
        // A fifth equal neighbour cannot merge (VAL holds at most 4).
        assert_eq!(sparse_set(&mut h, 103, 3, 3000), Ok(true));
        assert_eq!(decode_sparse(&h).unwrap(), "Z:99 v:3,4 v:3,1 Z:16280");
        // Raising inside a VAL run splits it into up to three VALs; the scan then merges the
        // right part with its equal neighbour.
        assert_eq!(sparse_set(&mut h, 100, 5, 3000), Ok(true));
        assert_eq!(decode_sparse(&h).unwrap(), "Z:99 v:3,1 v:5,1 v:3,3 Z:16280");
        assert_eq!(sparse_set(&mut h, 100, 4, 3000), Ok(false));
        // Short zero runs use ZERO, long ones XZERO.
        let mut h = new_sparse();
        assert_eq!(sparse_set(&mut h, 64, 1, 3000), Ok(true));
        assert_eq!(sparse_set(&mut h, 65 + 65, 1, 3000), Ok(true));
        assert_eq!(decode_sparse(&h).unwrap(), "z:64 v:1,1 Z:65 v:1,1 Z:16253");
        // ZERO:1 becomes a VAL in place.
        let mut h = sparse_of(&[0x00, 0x7f, 0xfe]);
        assert_eq!(sparse_set(&mut h, 0, 7, 3000), Ok(true));
        assert_eq!(decode_sparse(&h).unwrap(), "v:7,1 Z:16383");
        assert_eq!(sparse_set(&mut h, 0, 9, 3000), Ok(true));
        assert_eq!(decode_sparse(&h).unwrap(), "v:9,1 Z:16383");
        // The last register of an XZERO.
        let mut h = new_sparse();
        assert_eq!(sparse_set(&mut h, 16383, 1, 3000), Ok(true));
        assert_eq!(decode_sparse(&h).unwrap(), "Z:16383 v:1,1");
        assert_eq!(sparse_set(&mut h, 0, 32, 3000), Ok(true));
        assert_eq!(decode_sparse(&h).unwrap(), "v:32,1 Z:16382 v:1,1");
        assert_eq!(count(&h), Ok(2));
    }

    #[test]
    fn merge_scan_is_bounded() {
        // v:2,1 v:2,1 v:2,1 ... Redis scans at most 5 opcodes from the one before the change,
        // so only the first pairs merge.
        let mut body = vec![0x00]; // z:1 at register 0, the one we set
        body.extend(std::iter::repeat_n(val_op(2, 1), 10));
        body.extend_from_slice(&[0x7f, 0xff - 11]);
        let mut h = sparse_of(&body);
        assert!(count(&h).is_ok());
        assert_eq!(sparse_set(&mut h, 0, 2, 3000), Ok(true));
        assert_eq!(
            decode_sparse(&h).unwrap(),
            "v:2,4 v:2,2 v:2,1 v:2,1 v:2,1 v:2,1 v:2,1 Z:16373"
        );
    }

    #[test]
    fn validation() {
        assert_eq!(validate(b""), Err(HllError::Invalid));
        assert_eq!(validate(b"HYLL\x01\0\0\0\0\0\0\0\0\0\0"), Err(HllError::Invalid));
        assert_eq!(validate(&header(1, 0)), Ok(()));
        assert_eq!(validate(&header(2, 0)), Err(HllError::Invalid));
        assert_eq!(validate(&header(255, 0)), Err(HllError::Invalid));
        let mut bad = new_sparse();
        bad[0] = b'h';
        assert_eq!(validate(&bad), Err(HllError::Invalid));
        assert_eq!(add(&mut bad, b"x", 3000), Err(HllError::Invalid));
        assert_eq!(count_cached(&mut bad), Err(HllError::Invalid));
        assert_eq!(Registers::new().merge(&bad), Err(HllError::Invalid));
        let mut d = Registers::new().to_dense();
        assert_eq!(validate(&d), Ok(()));
        d.push(0);
        assert_eq!(validate(&d), Err(HllError::Invalid));
        d.truncate(HLL_DENSE_SIZE - 1);
        assert_eq!(validate(&d), Err(HllError::Invalid));
        // A dense-sized sparse is fine as far as validation goes.
        let mut s = Registers::new().to_dense();
        s[4] = 1;
        assert_eq!(validate(&s), Ok(()));
        assert_eq!(count(&s), Err(HllError::Corrupt));
        assert_eq!(
            HllError::Corrupt.to_string(),
            "INVALIDOBJ Corrupted HLL object detected"
        );
        assert_eq!(
            HllError::Invalid.reply(),
            "WRONGTYPE Key is not a valid HyperLogLog string value."
        );
    }

    #[test]
    fn corrupt_sparse_rules() {
        // Empty body: nothing covers any register.
        let mut h = header(1, 1 << 63);
        assert_eq!(add(&mut h, b"a", 3000), Err(HllError::Corrupt));
        assert_eq!(count_cached(&mut h), Err(HllError::Corrupt));
        assert_eq!(h, header(1, 1 << 63));
        // Runs short of 16384.
        let mut h = sparse_of(&[0x7f, 0xfe]);
        assert_eq!(count(&h), Err(HllError::Corrupt));
        assert_eq!(to_dense(&mut h), Err(HllError::Corrupt));
        assert_eq!(registers(&h), Err(HllError::Corrupt));
        // Too many zeros.
        let h = sparse_of(&[0x7f, 0xff, 0x00]);
        assert_eq!(count(&h), Err(HllError::Corrupt));
        assert_eq!(Registers::new().merge(&h), Err(HllError::Corrupt));
        // Trailing VALs after a full body (7.0.15 as released accepted them when converting).
        let mut h = sparse_of(&[0x7f, 0xff, 0x80, 0x83]);
        assert_eq!(count(&h), Err(HllError::Corrupt));
        assert_eq!(Registers::new().merge(&h), Err(HllError::Corrupt));
        assert_eq!(to_dense(&mut h), Err(HllError::Corrupt));
        // Still PFADD can update such a value: it only walks up to the register it needs.
        assert_eq!(sparse_set(&mut h, 0, 1, 3000), Ok(true));
        assert_eq!(decode_sparse(&h).unwrap(), "v:1,1 Z:16383 v:1,1 v:1,4");
        // A VAL run overflowing the end.
        let h = sparse_of(&[0x7f, 0xfe, 0x81]);
        assert_eq!(Registers::new().merge(&h), Err(HllError::Corrupt));
        assert_eq!(decode_sparse(&h).unwrap(), "Z:16383 v:1,2");
        // A cut XZERO reads its missing byte as 0.
        let h = sparse_of(&[0x7f, 0xfe, 0x40]);
        assert_eq!(decode_sparse(&h).unwrap(), "Z:16383 Z:1");
        assert_eq!(count(&h), Ok(0));
        let mut h2 = h.clone();
        // Splitting it: Redis writes the VAL into the terminator, so the value loses it.
        assert_eq!(sparse_set(&mut h2, 16383, 1, 3000), Ok(true));
        assert_eq!(decode_sparse(&h2).unwrap(), "Z:16383");
        // Known divergence: here Redis leaves the cut XZERO's second byte (0x61) in its string
        // terminator and reads "Z:98" back later; a Vec has no terminator, so this reads "Z:1".
        let mut h3 = sparse_of(&[0x7e, 0xfe, 0x41]);
        assert_eq!(count(&h3), Ok(0));
        assert_eq!(add(&mut h3, b"x3", 3000), Ok(true));
        assert_eq!(&h3[16..], &[0x7e, 0xfe, 0x40, 0x9d, 0x88, 0x40]);
        assert_eq!(decode_sparse(&h3).unwrap(), "Z:16127 Z:158 v:3,1 Z:1");
        // A register past the runs.
        let mut h = sparse_of(&[0x7f, 0xfe]);
        assert_eq!(sparse_set(&mut h, 16383, 1, 3000), Err(HllError::Corrupt));
        // Promotion of a corrupt value fails and leaves it alone.
        assert_eq!(sparse_set(&mut h, 5, 40, 3000), Err(HllError::Corrupt));
        assert_eq!(h, sparse_of(&[0x7f, 0xfe]));
        // Cached cardinality is trusted without looking at the body.
        let mut h = header(1, 42);
        assert_eq!(count_cached(&mut h), Ok((42, false)));
    }

    #[test]
    fn huge_run_totals_are_corrupt() {
        // 2^32 / 16384 + 1 XZERO:16384 runs would wrap a 32-bit position back to exactly 16384;
        // fixed Redis (and this code) rejects them instead.
        let n = (1usize << 32) / 16384 + 1;
        let h = sparse_of(&[0x7f, 0xff].repeat(n));
        assert_eq!(count(&h), Err(HllError::Corrupt));
        assert_eq!(Registers::new().merge(&h), Err(HllError::Corrupt));
        assert_eq!(registers(&h), Err(HllError::Corrupt));
    }

    #[test]
    fn dense_register_roundtrip() {
        let mut rng = SmallRng::seed_from_u64(3);
        let mut regs = vec![0u8; HLL_DENSE_SIZE - HLL_HDR_SIZE];
        let mut want = vec![0u8; HLL_REGISTERS];
        for _ in 0..20 {
            for (i, w) in want.iter_mut().enumerate() {
                *w = rng.random::<u8>() & 63;
                dense_set(&mut regs, i, *w);
            }
            for (i, &w) in want.iter().enumerate() {
                assert_eq!(dense_get(&regs, i), w);
            }
            let mut h = header(0, 0);
            h.extend_from_slice(&regs);
            assert_eq!(registers(&h).unwrap(), want);
            let mut hist = [0i32; 64];
            dense_histo(&regs, &mut hist);
            for (v, &n) in hist.iter().enumerate() {
                assert_eq!(n as usize, want.iter().filter(|&&w| usize::from(w) == v).count());
            }
        }
        // Setting one register never disturbs its neighbours.
        let mut regs = vec![0xffu8; 12288];
        dense_set(&mut regs, 1, 0);
        assert_eq!(
            (dense_get(&regs, 0), dense_get(&regs, 1), dense_get(&regs, 2)),
            (63, 0, 63)
        );
        assert_eq!(regs[..3], [0x3f, 0xf0, 0xff]);
        dense_set(&mut regs, 16383, 0);
        assert_eq!(regs[12287], 0x03);
        assert_eq!(dense_get(&regs, 16382), 63);
    }

    #[test]
    fn sparse_matches_model_and_dense() {
        let mut rng = SmallRng::seed_from_u64(11);
        for round in 0..40 {
            let max_bytes = [0, 20, 50, 300, 3000, 20_000][round % 6];
            let mut h = new_sparse();
            let mut d = Registers::new().to_dense();
            let mut model = vec![0u8; HLL_REGISTERS];
            let n = rng.random_range(1..6000);
            for _ in 0..n {
                let e: u64 = rng.random();
                let e = e.to_le_bytes();
                let before = h.clone();
                let changed = model_add(&mut model, &e);
                assert_eq!(add(&mut h, &e, max_bytes), Ok(changed));
                assert_eq!(add(&mut d, &e, max_bytes), Ok(changed));
                if !changed {
                    assert_eq!(h, before);
                }
                if is_sparse(&h) {
                    assert!(h.len() <= max_bytes.max(before.len()));
                } else if is_sparse(&before) {
                    // Promoted: either a register above 32 or growth past the limit.
                    let (_, c) = pat_len(&e);
                    assert!(c > 32 || before.len() + 3 > max_bytes, "{} {c}", before.len());
                }
            }
            assert_eq!(registers(&h).unwrap(), model);
            assert_eq!(registers(&d).unwrap(), model);
            assert_eq!(count(&h), count(&d));
            let mut r = Registers::new();
            r.merge(&h).unwrap();
            assert_eq!(r.as_slice(), &model[..]);
            assert_eq!(Ok(r.count()), count(&d));
            let mut hd = h.clone();
            to_dense(&mut hd).unwrap();
            assert_eq!(hd[16..], d[16..]);
            assert_eq!(dense_from(&model)[16..], d[16..]);
        }
    }

    #[test]
    fn promotion_at_byte_limit() {
        // With the limit at the current size, the first split that grows the value promotes.
        let mut h = new_sparse();
        add(&mut h, b"a", 3000).unwrap();
        let limit = h.len();
        let mut probe = h.clone();
        assert_eq!(add(&mut probe, b"b", limit), Ok(true));
        assert!(!is_sparse(&probe));
        let mut want = Registers::new();
        want.merge(&h).unwrap();
        assert_eq!(registers(&probe).unwrap()[15780], 1);
        assert_eq!(registers(&probe).unwrap()[12711], 2);
        assert_eq!(&probe[..8], &header(0, 0)[..8]);
        // One byte more than needed keeps it sparse (b needs XZERO-VAL-XZERO: +3 bytes).
        let mut ok = h.clone();
        assert_eq!(add(&mut ok, b"b", limit + 3), Ok(true));
        assert!(is_sparse(&ok));
        assert_eq!(ok.len(), limit + 3);
        let mut no = h.clone();
        assert_eq!(add(&mut no, b"b", limit + 2), Ok(true));
        assert!(!is_sparse(&no));
        // Updates that do not grow the value never promote, whatever the limit.
        let mut same = h.clone();
        assert_eq!(sparse_set(&mut same, 12711, 9, 0), Ok(true));
        assert!(is_sparse(&same));
        // A register above 32 always promotes.
        let mut big = new_sparse();
        assert_eq!(sparse_set(&mut big, 77, 33, 1 << 20), Ok(true));
        assert!(!is_sparse(&big));
        assert_eq!(registers(&big).unwrap()[77], 33);
        // Promotion keeps the header bytes except the encoding.
        let mut hdr = new_sparse();
        hdr[5..16].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        assert_eq!(sparse_set(&mut hdr, 0, 40, 3000), Ok(true));
        assert_eq!(
            &hdr[..16],
            &[b'H', b'Y', b'L', b'L', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
        );
    }

    #[test]
    fn accuracy() {
        let mut rng = SmallRng::seed_from_u64(5);
        for n in [1000u64, 100_000] {
            let mut h = new_sparse();
            let base: u64 = rng.random();
            for j in 0..n {
                add(&mut h, format!("el:{}", base.wrapping_add(j)).as_bytes(), 3000).unwrap();
            }
            let (c, _) = count_cached(&mut h).unwrap();
            let err = (c as f64 - n as f64).abs() / n as f64;
            assert!(err < 0.02, "n={n} count={c}");
        }
    }

    #[test]
    fn estimator_edges() {
        let mut hist = [0i32; 64];
        hist[0] = 16384;
        assert_eq!(estimate(&hist), 0);
        // Every register at 63 (only a crafted dense value): z is 0, the division gives inf,
        // llroundl overflows to i64::MIN and Redis returns 2^63.
        let mut h = dense_from(&[63u8; HLL_REGISTERS]);
        assert_eq!(count(&h), Ok(1 << 63));
        // Storing it sets the "stale" bit, so it is recomputed every time, as in Redis.
        assert_eq!(count_cached(&mut h), Ok((1 << 63, true)));
        assert_eq!(count_cached(&mut h), Ok((1 << 63, true)));
        assert_eq!(llroundl(2.5), 3);
        assert_eq!(llroundl(-2.5), -3);
        assert_eq!(llroundl(f64::NAN), i64::MIN);
        assert_eq!(c_double_to_u64(i64::MAX as f64), 1 << 63);
        assert_eq!(c_double_to_u64(-5.0), (-5i64) as u64);
        // Every register at 51 (the maximum a hash produces).
        let h = dense_from(&[51u8; HLL_REGISTERS]);
        assert!(count(&h).unwrap() > 1 << 50);
    }

    #[test]
    fn pfmerge_write_rules() {
        let mut a = new_sparse();
        let mut b = new_sparse();
        for j in 0..200u32 {
            add(&mut a, &j.to_le_bytes(), 3000).unwrap();
            add(&mut b, &(j + 150).to_le_bytes(), 3000).unwrap();
        }
        // All-sparse inputs keep a sparse destination.
        let mut r = Registers::new();
        r.merge(&a).unwrap();
        r.merge(&b).unwrap();
        assert!(!r.saw_dense());
        let mut dest = new_sparse();
        r.write_into(&mut dest, 3000).unwrap();
        assert!(is_sparse(&dest));
        assert_eq!(dest[15] & 0x80, 0x80);
        assert_eq!(registers(&dest).unwrap(), r.as_slice());
        assert_eq!(count(&dest), Ok(r.count()));
        // The same union built by adding keeps the same registers (bytes may differ: order).
        let mut u = a.clone();
        for j in 0..350u32 {
            add(&mut u, &j.to_le_bytes(), 3000).unwrap();
        }
        assert_eq!(registers(&u).unwrap(), r.as_slice());
        // A small limit promotes the destination midway.
        let mut small = new_sparse();
        r.write_into(&mut small, 100).unwrap();
        assert!(!is_sparse(&small));
        assert_eq!(registers(&small).unwrap(), r.as_slice());
        // Any dense input makes the destination dense.
        let mut d = b.clone();
        to_dense(&mut d).unwrap();
        let mut r2 = Registers::new();
        r2.merge(&a).unwrap();
        r2.merge(&d).unwrap();
        assert!(r2.saw_dense());
        let mut dest2 = a.clone();
        r2.write_into(&mut dest2, 3000).unwrap();
        assert_eq!(dest2.len(), HLL_DENSE_SIZE);
        assert_eq!(registers(&dest2).unwrap(), r.as_slice());
        assert_eq!(r2.to_dense()[16..], dest2[16..]);
    }

    #[test]
    fn fuzz_corrupt_inputs_never_panic() {
        let mut rng = SmallRng::seed_from_u64(99);
        let mut seeds = vec![new_sparse(), sparse_of(&[]), Registers::new().to_dense()];
        let mut s = new_sparse();
        for j in 0..300u32 {
            add(&mut s, &j.to_le_bytes(), 3000).unwrap();
        }
        seeds.push(s.clone());
        to_dense(&mut s).unwrap();
        seeds.push(s);
        // 100k mutations in release; fewer in unoptimised builds, where each costs ~50x more.
        let iters = if cfg!(debug_assertions) { 20_000 } else { 100_000 };
        for iter in 0..iters {
            let mut h = seeds[iter % seeds.len()].clone();
            for _ in 0..rng.random_range(1..6) {
                match rng.random_range(0..6) {
                    k @ 0..=3 => mutate_body(&mut h, &mut rng, k),
                    4 => {
                        let n = rng.random_range(0..40);
                        h.extend((0..n).map(|_| rng.random::<u8>()));
                    }
                    _ => {
                        let i = rng.random_range(0..16);
                        if i != 4 && i < 8 {
                            continue;
                        }
                        h[i] = if i == 4 { rng.random_range(0..3) } else { rng.random() };
                    }
                }
            }
            let _ = validate(&h);
            let _ = count(&h);
            let _ = decode_sparse(&h);
            let _ = registers(&h);
            let mut r = Registers::new();
            let _ = r.merge(&h);
            let _ = r.count();
            let mut c = h.clone();
            let _ = count_cached(&mut c);
            let mut c = h.clone();
            let _ = to_dense(&mut c);
            let mut c = h.clone();
            for k in 0..4u32 {
                let limit = [0, 40, 3000][k as usize % 3];
                let _ = add(&mut c, &(iter as u32 ^ k).to_le_bytes(), limit);
                assert!(c.len() < h.len() + 64 || c.len() == HLL_DENSE_SIZE);
            }
            if iter % 8 == 0 && validate(&h).is_ok() {
                let mut dest = h.clone();
                let _ = r.write_into(&mut dest, 3000);
            }
            // Raw register writes through the sparse path, with big values too.
            let mut c = h.clone();
            if validate(&c).is_ok() && is_sparse(&c) {
                let _ = sparse_set(&mut c, rng.random_range(0..HLL_REGISTERS), rng.random_range(1..64), 300);
            }
        }
    }

    #[test]
    fn selftest_passes() {
        assert_eq!(selftest(3000), Ok(()));
    }

    /// Rough timings: `cargo test --release -- --ignored bench_ops --nocapture`.
    #[test]
    #[ignore]
    fn bench_ops() {
        use std::time::Instant;
        let mut d = Registers::new().to_dense();
        let n = 20_000_000u64;
        let t = Instant::now();
        let mut changed = 0;
        for i in 0..n {
            let e = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes();
            changed += add(&mut d, &e, 3000).unwrap() as u32;
        }
        println!(
            "dense add: {:.1} ns/op ({changed} changed)",
            t.elapsed().as_nanos() as f64 / n as f64
        );
        let m = 20_000;
        let t = Instant::now();
        let mut acc = 0u64;
        for i in 0..m {
            d[16 + i % 12288] ^= 1;
            acc = acc.wrapping_add(count(&d).unwrap());
        }
        println!(
            "dense count: {:.2} us/op ({acc})",
            t.elapsed().as_nanos() as f64 / m as f64 / 1000.0
        );
        let t = Instant::now();
        let mut h = new_sparse();
        let mut adds = 0u64;
        for r in 0..200u64 {
            h = new_sparse();
            let mut i = 0u64;
            while is_sparse(&h) {
                add(&mut h, &(r << 32 | i).to_le_bytes(), 3000).unwrap();
                i += 1;
            }
            adds += i;
        }
        println!(
            "sparse add until promotion: {:.1} ns/op ({} per HLL)",
            t.elapsed().as_nanos() as f64 / adds as f64,
            adds / 200
        );
        let t = Instant::now();
        let mut r = Registers::new();
        for _ in 0..m {
            r.merge(&d).unwrap();
            r.merge(&h).unwrap();
        }
        println!(
            "merge dense+dense: {:.2} us/op",
            t.elapsed().as_nanos() as f64 / m as f64 / 1000.0
        );
        let t = Instant::now();
        for _ in 0..m {
            acc = acc.wrapping_add(r.count());
        }
        println!(
            "raw count: {:.2} us/op ({acc})",
            t.elapsed().as_nanos() as f64 / m as f64 / 1000.0
        );
    }

    /// Cross-check against a live redis-server 7.0 (HLL_REDIS_PORT, default 7390; uses and empties
    /// DB 9, changes hll-sparse-max-bytes and restores it to 3000):
    /// `redis-server --port 7390 --save "" &` then
    /// `cargo test --release -- --ignored against_redis --nocapture`.
    #[test]
    #[ignore]
    fn against_redis() {
        redis_check::run();
    }

    mod redis_check {
        use super::super::*;
        use super::dense_from;
        use rand::rngs::SmallRng;
        use rand::{Rng, SeedableRng};
        use std::io::{BufRead, BufReader, Read, Write};
        use std::net::TcpStream;

        #[derive(Debug, PartialEq, Eq, Clone)]
        pub enum Reply {
            Status(String),
            Error(String),
            Int(i64),
            Bulk(Option<Vec<u8>>),
            Array(Vec<Reply>),
        }

        pub struct Conn {
            r: BufReader<TcpStream>,
            w: TcpStream,
        }

        impl Conn {
            pub fn open() -> Conn {
                let port = std::env::var("HLL_REDIS_PORT").unwrap_or_else(|_| "7390".into());
                let s = TcpStream::connect(format!("127.0.0.1:{port}")).expect("redis-server running");
                Conn {
                    r: BufReader::new(s.try_clone().unwrap()),
                    w: s,
                }
            }

            pub fn send(&mut self, args: &[&[u8]]) {
                let mut out = format!("*{}\r\n", args.len()).into_bytes();
                for a in args {
                    out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                    out.extend_from_slice(a);
                    out.extend_from_slice(b"\r\n");
                }
                self.w.write_all(&out).unwrap();
            }

            pub fn read(&mut self) -> Reply {
                let mut line = Vec::new();
                self.r.read_until(b'\n', &mut line).unwrap();
                let body = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
                match line[0] {
                    b'+' => Reply::Status(body),
                    b'-' => Reply::Error(body),
                    b':' => Reply::Int(body.parse().unwrap()),
                    b'$' => {
                        let n: i64 = body.parse().unwrap();
                        if n < 0 {
                            return Reply::Bulk(None);
                        }
                        let mut buf = vec![0u8; n as usize + 2];
                        self.r.read_exact(&mut buf).unwrap();
                        buf.truncate(n as usize);
                        Reply::Bulk(Some(buf))
                    }
                    b'*' => {
                        let n: i64 = body.parse().unwrap();
                        Reply::Array((0..n).map(|_| self.read()).collect())
                    }
                    c => panic!("bad reply type {c}"),
                }
            }

            pub fn cmd(&mut self, args: &[&[u8]]) -> Reply {
                self.send(args);
                self.read()
            }

            #[track_caller]
            pub fn get(&mut self, k: &[u8]) -> Vec<u8> {
                match self.cmd(&[b"GET", k]) {
                    Reply::Bulk(Some(v)) => v,
                    r => panic!("GET {r:?}"),
                }
            }
        }

        fn err(e: HllError) -> Reply {
            Reply::Error(e.reply().to_owned())
        }

        /// Our PFADD on an optional value, as the command layer would do it.
        fn pfadd(v: &mut Option<Vec<u8>>, elems: &[Vec<u8>], max: usize) -> Reply {
            let mut updated = false;
            let h = match v {
                Some(h) => {
                    if let Err(e) = validate(h) {
                        return err(e);
                    }
                    h
                }
                None => {
                    updated = true;
                    let mut h = new_sparse();
                    invalidate_cache(&mut h);
                    v.insert(h)
                }
            };
            for e in elems {
                match add(h, e, max) {
                    Ok(c) => updated |= c,
                    Err(e) => return err(e),
                }
            }
            Reply::Int(updated as i64)
        }

        fn pfcount1(v: &mut Option<Vec<u8>>) -> Reply {
            match v {
                None => Reply::Int(0),
                Some(h) => match count_cached(h) {
                    Ok((c, _)) => Reply::Int(c as i64),
                    Err(e) => err(e),
                },
            }
        }

        fn pfcount_multi(vs: &[&Option<Vec<u8>>]) -> Reply {
            let mut r = Registers::new();
            for v in vs.iter().copied().flatten() {
                if let Err(e) = r.merge(v) {
                    return err(e);
                }
            }
            Reply::Int(r.count() as i64)
        }

        fn pfmerge(dest: &mut Option<Vec<u8>>, srcs: &[&Option<Vec<u8>>], max: usize) -> Reply {
            let mut r = Registers::new();
            for v in std::iter::once(&*dest).chain(srcs.iter().copied()).flatten() {
                if let Err(e) = r.merge(v) {
                    return err(e);
                }
            }
            let d = dest.get_or_insert_with(new_sparse);
            match r.write_into(d, max) {
                Ok(()) => Reply::Status("OK".into()),
                Err(e) => err(e),
            }
        }

        fn n(r: &Reply) -> i64 {
            match r {
                Reply::Int(n) => *n,
                r => panic!("{r:?}"),
            }
        }

        fn random_elem(rng: &mut SmallRng) -> Vec<u8> {
            let len = rng.random_range(0..24);
            (0..len).map(|_| rng.random()).collect()
        }

        fn random_sparse(rng: &mut SmallRng) -> Vec<u8> {
            let mut h = header(
                1,
                if rng.random_bool(0.5) {
                    1 << 63
                } else {
                    rng.random_range(0..100)
                },
            );
            let target = if rng.random_bool(0.7) {
                16384
            } else {
                16384 + rng.random_range(-3i64..=3) as usize
            };
            let mut total = 0usize;
            while total < target {
                let rem = target - total;
                let run;
                match rng.random_range(0..10) {
                    0..=3 => {
                        run = rng.random_range(1..=rem.min(4));
                        h.push(val_op(rng.random_range(1..=32), run));
                    }
                    4..=5 => {
                        run = rng.random_range(1..=rem.min(64));
                        h.push((run - 1) as u8);
                    }
                    6..=7 => {
                        run = rng.random_range(1..=rem.min(200));
                        h.extend_from_slice(&[0x40 | ((run - 1) >> 8) as u8, ((run - 1) & 0xff) as u8]);
                    }
                    _ => {
                        run = rng.random_range(1..=rem.min(16384));
                        h.extend_from_slice(&[0x40 | ((run - 1) >> 8) as u8, ((run - 1) & 0xff) as u8]);
                    }
                }
                total += run;
            }
            match rng.random_range(0..10) {
                0 => h.push(rng.random()),
                1 if h.len() > 16 => {
                    h.pop();
                }
                _ => {}
            }
            h
        }

        fn header(enc: u8, card: u64) -> Vec<u8> {
            let mut h = b"HYLL".to_vec();
            h.extend_from_slice(&[enc, 0, 0, 0]);
            h.extend_from_slice(&card.to_le_bytes());
            h
        }

        /// Stores `h` in both servers' views and compares one operation's reply and resulting
        /// bytes. True if the reply was not an error.
        fn compare(c: &mut Conn, rng: &mut SmallRng, h: &[u8], op: usize) -> bool {
            let key = b"cx".as_slice();
            c.cmd(&[b"SET", key, h]);
            let mut mine = Some(h.to_vec());
            let theirs;
            let ours;
            match op {
                0 => {
                    theirs = c.cmd(&[b"PFCOUNT", key]);
                    ours = pfcount1(&mut mine);
                }
                1 | 2 | 6 => {
                    let max = if op == 1 {
                        3000
                    } else {
                        h.len() + rng.random_range(0..4)
                    };
                    c.cmd(&[b"CONFIG", b"SET", b"hll-sparse-max-bytes", max.to_string().as_bytes()]);
                    let elems: Vec<Vec<u8>> = (0..rng.random_range(1..30)).map(|_| random_elem(rng)).collect();
                    let mut args: Vec<&[u8]> = vec![b"PFADD", key];
                    args.extend(elems.iter().map(|e| e.as_slice()));
                    let t = c.cmd(&args);
                    let o = pfadd(&mut mine, &elems, max);
                    assert_eq!(o, t, "pfadd on {h:?}");
                    if op == 6 {
                        assert_eq!(c.get(key), *mine.as_ref().unwrap(), "bytes after pfadd on {h:?}");
                        theirs = c.cmd(&[b"PFCOUNT", key]);
                        ours = pfcount1(&mut mine);
                    } else {
                        (theirs, ours) = (t, o);
                    }
                }
                3 => {
                    theirs = c.cmd(&[b"PFDEBUG", b"DECODE", key]);
                    ours = match decode_sparse(h) {
                        Ok(s) => Reply::Bulk(Some(s.into_bytes())),
                        Err(e) => err(e),
                    };
                }
                4 => {
                    c.cmd(&[b"CONFIG", b"SET", b"hll-sparse-max-bytes", b"3000"]);
                    c.cmd(&[b"DEL", b"cy"]);
                    theirs = c.cmd(&[b"PFMERGE", b"cy", key]);
                    let mut dst = None;
                    ours = pfmerge(&mut dst, &[&mine], 3000);
                    assert_eq!(ours, theirs, "pfmerge on {h:?}");
                    if let Some(d) = dst {
                        assert_eq!(c.get(b"cy"), d, "merge bytes {h:?}");
                    }
                }
                _ => {
                    theirs = c.cmd(&[b"PFDEBUG", b"GETREG", key]);
                    ours = match to_dense(mine.as_mut().unwrap()).and_then(|_| registers(mine.as_ref().unwrap())) {
                        Ok(r) => Reply::Array(r.into_iter().map(|v| Reply::Int(v.into())).collect()),
                        Err(e) => err(e),
                    };
                }
            }
            assert_eq!(ours, theirs, "op {op} on {h:?}");
            assert_eq!(c.get(key), mine.unwrap(), "bytes after op {op} on {h:?}");
            !matches!(theirs, Reply::Error(_))
        }

        pub fn run() {
            let mut c = Conn::open();
            // Works in DB 9 only, which it empties first.
            assert_eq!(c.cmd(&[b"SELECT", b"9"]), Reply::Status("OK".into()));
            assert_eq!(c.cmd(&[b"FLUSHDB"]), Reply::Status("OK".into()));
            let mut rng = SmallRng::seed_from_u64(2024);

            // 1. One million elements into one key, comparing every reply, every PFCOUNT and
            // the raw bytes, for several sparse limits.
            for (round, max) in [(0u32, 3000usize), (1, 0), (2, 64), (3, 500), (4, 12000)] {
                c.cmd(&[b"CONFIG", b"SET", b"hll-sparse-max-bytes", max.to_string().as_bytes()]);
                let key = format!("k{round}").into_bytes();
                let mut mine: Option<Vec<u8>> = None;
                let total = if round == 0 { 1_000_000 } else { 60_000 };
                let mut added = 0;
                let mut batches = 0;
                while added < total {
                    let size = if added < 5000 {
                        rng.random_range(0..3)
                    } else {
                        rng.random_range(1..3000)
                    };
                    let elems: Vec<Vec<u8>> = (0..size)
                        .map(|i| {
                            if rng.random_bool(0.3) {
                                random_elem(&mut rng)
                            } else {
                                format!("e{}", added + i).into_bytes()
                            }
                        })
                        .collect();
                    added += size.max(1);
                    batches += 1;
                    let mut args: Vec<&[u8]> = vec![b"PFADD", &key];
                    args.extend(elems.iter().map(|e| e.as_slice()));
                    let theirs = c.cmd(&args);
                    assert_eq!(pfadd(&mut mine, &elems, max), theirs, "pfadd round {round} at {added}");
                    if batches % 3 == 0 || added < 5000 {
                        assert_eq!(c.get(&key), *mine.as_ref().unwrap(), "bytes round {round} at {added}");
                    }
                    if rng.random_bool(0.5) {
                        let theirs = c.cmd(&[b"PFCOUNT", &key]);
                        assert_eq!(pfcount1(&mut mine), theirs, "pfcount round {round} at {added}");
                        assert_eq!(
                            c.get(&key),
                            *mine.as_ref().unwrap(),
                            "bytes after count {round} at {added}"
                        );
                    }
                }
                assert_eq!(c.get(&key), *mine.as_ref().unwrap());
                println!(
                    "round {round}: {added} elements, {} bytes, count {:?}",
                    mine.as_ref().unwrap().len(),
                    pfcount1(&mut mine)
                );
            }

            // 2. PFMERGE and multi-key PFCOUNT over random mixes of sparse / dense / missing keys.
            c.cmd(&[b"CONFIG", b"SET", b"hll-sparse-max-bytes", b"3000"]);
            for t in 0..300 {
                let max = [3000, 200, 20_000][t % 3];
                c.cmd(&[b"CONFIG", b"SET", b"hll-sparse-max-bytes", max.to_string().as_bytes()]);
                let nkeys = 4;
                let mut vals: Vec<Option<Vec<u8>>> = vec![None; nkeys];
                for (i, v) in vals.iter_mut().enumerate() {
                    let key = format!("m{t}:{i}").into_bytes();
                    c.cmd(&[b"DEL", &key]);
                    let kind = rng.random_range(0..4);
                    if kind == 0 {
                        continue;
                    }
                    let cnt = [0, 5, 300, 4000][kind] + rng.random_range(0..50);
                    let elems: Vec<Vec<u8>> = (0..cnt).map(|_| random_elem(&mut rng)).collect();
                    let mut args: Vec<&[u8]> = vec![b"PFADD", &key];
                    args.extend(elems.iter().map(|e| e.as_slice()));
                    assert_eq!(pfadd(v, &elems, max), c.cmd(&args));
                    if rng.random_bool(0.2) {
                        assert_eq!(
                            c.cmd(&[b"PFDEBUG", b"TODENSE", &key]),
                            Reply::Int(to_dense(v.as_mut().unwrap()).unwrap() as i64)
                        );
                    }
                }
                let keys: Vec<Vec<u8>> = (0..nkeys).map(|i| format!("m{t}:{i}").into_bytes()).collect();
                let mut args: Vec<&[u8]> = vec![b"PFCOUNT"];
                args.extend(keys.iter().map(|k| k.as_slice()));
                let refs: Vec<&Option<Vec<u8>>> = vals.iter().collect();
                assert_eq!(pfcount_multi(&refs), c.cmd(&args), "multi pfcount {t}");
                let mut args: Vec<&[u8]> = vec![b"PFMERGE"];
                args.extend(keys.iter().map(|k| k.as_slice()));
                let theirs = c.cmd(&args);
                let (d, rest) = vals.split_at_mut(1);
                let rest: Vec<&Option<Vec<u8>>> = rest.iter().collect();
                assert_eq!(pfmerge(&mut d[0], &rest, max), theirs, "pfmerge {t}");
                assert_eq!(c.get(&keys[0]), *d[0].as_ref().unwrap(), "pfmerge bytes {t}");
            }

            // 3. Corrupt and crafted values: every command's reply and resulting bytes.
            let mut base = new_sparse();
            for j in 0..150u32 {
                add(&mut base, &j.to_le_bytes(), 3000).unwrap();
            }
            let mut dense = base.clone();
            to_dense(&mut dense).unwrap();
            let mut crafted = vec![
                new_sparse(),
                base.clone(),
                dense.clone(),
                dense_from(&[63; HLL_REGISTERS]),
            ];
            crafted.push(dense_from(&[51; HLL_REGISTERS]));
            crafted.push(dense_from(
                &(0..HLL_REGISTERS).map(|i| (i % 64) as u8).collect::<Vec<_>>(),
            ));
            let mut checked = 0;
            for t in 0..20_000 {
                let mut h = if t < crafted.len() {
                    crafted[t].clone()
                } else {
                    base.clone()
                };
                if t >= crafted.len() {
                    let src = if rng.random_bool(0.1) {
                        dense.clone()
                    } else {
                        base.clone()
                    };
                    h = src;
                    for _ in 0..rng.random_range(1..4) {
                        match rng.random_range(0..5) {
                            k @ 0..=3 => super::mutate_body(&mut h, &mut rng, k),
                            _ => {
                                let i = rng.random_range(8..16);
                                h[i] = rng.random();
                            }
                        }
                    }
                }
                checked += compare(&mut c, &mut rng, &h, t % 7) as usize;
            }
            println!("mutated/crafted: 20000 cases, {checked} non-error replies");

            // 4. Structured sparse bodies: random opcode mixes (short XZEROs, ZERO, VAL runs) whose
            // runs total 16384 or a little off, sometimes with trailing bytes or a cut last byte.
            let mut checked = 0;
            for t in 0..30_000 {
                let h = random_sparse(&mut rng);
                checked += compare(&mut c, &mut rng, &h, t % 7) as usize;
            }
            println!("structured sparse: 30000 cases, {checked} non-error replies");
            c.cmd(&[b"CONFIG", b"SET", b"hll-sparse-max-bytes", b"3000"]);
            assert!(n(&c.cmd(&[b"DBSIZE"])) > 0);
        }
    }
}
