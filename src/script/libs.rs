//! The extra libraries Redis gives scripts, written against the Lua C API: `bit`
//! (LuaBitOp semantics: 32-bit two's complement), `cjson` (encode/decode with cjson's
//! array detection, depth limits and error texts), `cmsgpack` (pack/unpack) and `struct`
//! (in `structlib`).
//! Each registers a global table of functions.
// Every unsafe fn here has one contract: `l` is a valid lua_State of this thread.
#![allow(clippy::missing_safety_doc)]
use std::cell::Cell;
use std::ffi::{c_int, CStr};

use mlua::ffi::{self, lua_State};

use super::vm::{push_bytes, raise_msg, raise_owned, set_field_fn, to_bytes};

/// Opens every extra library into the globals.
pub unsafe fn open_all(l: *mut lua_State) {
    open(
        l,
        c"bit",
        &[
            (c"tobit", bit_tobit),
            (c"tohex", bit_tohex),
            (c"bnot", bit_bnot),
            (c"band", bit_band),
            (c"bor", bit_bor),
            (c"bxor", bit_bxor),
            (c"lshift", bit_lshift),
            (c"rshift", bit_rshift),
            (c"arshift", bit_arshift),
            (c"rol", bit_rol),
            (c"ror", bit_ror),
            (c"bswap", bit_bswap),
        ],
    );
    open(
        l,
        c"cjson",
        &[
            (c"encode", cjson_encode),
            (c"decode", cjson_decode),
            (c"encode_max_depth", cjson_encode_max_depth),
            (c"decode_max_depth", cjson_decode_max_depth),
            (c"encode_invalid_numbers", cjson_encode_invalid_numbers),
            (c"encode_keep_buffer", cjson_noop_cfg),
            (c"encode_sparse_array", cjson_noop_cfg),
            (c"encode_number_precision", cjson_noop_cfg),
            (c"decode_invalid_numbers", cjson_noop_cfg),
        ],
    );
    open_msgpack(l);
    open(
        l,
        c"struct",
        &[
            (c"pack", super::structlib::struct_pack),
            (c"unpack", super::structlib::struct_unpack),
            (c"size", super::structlib::struct_size),
        ],
    );
    ffi::lua_getfield(l, ffi::LUA_GLOBALSINDEX, c"cjson".as_ptr());
    ffi::lua_pushlightuserdata(l, std::ptr::null_mut());
    ffi::lua_setfield(l, -2, c"null".as_ptr());
    super::vm::set_field_bytes(l, c"_NAME", b"cjson");
    super::vm::set_field_bytes(l, c"_VERSION", b"2.1.0");
    ffi::lua_pop(l, 1);
}

unsafe fn open(l: *mut lua_State, name: &CStr, fns: &[(&CStr, ffi::lua_CFunction)]) {
    ffi::lua_createtable(l, 0, fns.len() as c_int);
    for (n, f) in fns {
        set_field_fn(l, n, *f);
    }
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, name.as_ptr());
}

// --- bit ------------------------------------------------------------------------------

/// A Lua number as LuaBitOp's 32-bit integer: rounded, then taken modulo 2^32.
/// LuaBitOp's argument: the low 32 bits of the double's representation after adding
/// 2^52 + 2^51 (rounding to an integer, and for numbers too big for that, bits of their
/// mantissa, as Redis's bit library gives them).
unsafe fn bitarg(l: *mut lua_State, i: c_int) -> i32 {
    let x = ffi::luaL_checknumber(l, i);
    (x + 6_755_399_441_055_744.0).to_bits() as u32 as i32
}

unsafe fn push_bit(l: *mut lua_State, v: i32) -> c_int {
    ffi::lua_pushnumber(l, v as f64);
    1
}

unsafe extern "C-unwind" fn bit_tobit(l: *mut lua_State) -> c_int {
    push_bit(l, bitarg(l, 1))
}

unsafe extern "C-unwind" fn bit_bnot(l: *mut lua_State) -> c_int {
    push_bit(l, !bitarg(l, 1))
}

unsafe fn fold(l: *mut lua_State, f: fn(i32, i32) -> i32) -> c_int {
    let mut acc = bitarg(l, 1);
    for i in 2..=ffi::lua_gettop(l) {
        acc = f(acc, bitarg(l, i));
    }
    push_bit(l, acc)
}

unsafe extern "C-unwind" fn bit_band(l: *mut lua_State) -> c_int {
    fold(l, |a, b| a & b)
}

unsafe extern "C-unwind" fn bit_bor(l: *mut lua_State) -> c_int {
    fold(l, |a, b| a | b)
}

unsafe extern "C-unwind" fn bit_bxor(l: *mut lua_State) -> c_int {
    fold(l, |a, b| a ^ b)
}

unsafe fn shift(l: *mut lua_State, f: fn(u32, u32) -> u32) -> c_int {
    let x = bitarg(l, 1) as u32;
    let n = (bitarg(l, 2) & 31) as u32;
    push_bit(l, f(x, n) as i32)
}

unsafe extern "C-unwind" fn bit_lshift(l: *mut lua_State) -> c_int {
    shift(l, |x, n| x << n)
}

unsafe extern "C-unwind" fn bit_rshift(l: *mut lua_State) -> c_int {
    shift(l, |x, n| x >> n)
}

unsafe extern "C-unwind" fn bit_arshift(l: *mut lua_State) -> c_int {
    shift(l, |x, n| ((x as i32) >> n) as u32)
}

unsafe extern "C-unwind" fn bit_rol(l: *mut lua_State) -> c_int {
    shift(l, |x, n| x.rotate_left(n))
}

unsafe extern "C-unwind" fn bit_ror(l: *mut lua_State) -> c_int {
    shift(l, |x, n| x.rotate_right(n))
}

unsafe extern "C-unwind" fn bit_bswap(l: *mut lua_State) -> c_int {
    push_bit(l, bitarg(l, 1).swap_bytes())
}

unsafe extern "C-unwind" fn bit_tohex(l: *mut lua_State) -> c_int {
    let x = bitarg(l, 1) as u32;
    let mut n = if ffi::lua_isnoneornil(l, 2) != 0 {
        8
    } else {
        bitarg(l, 2)
    };
    // Redis compat: lua_bit.c bit_tohex, with the fix for i32::MIN (CVE-2024-31449):
    // a negative count asks for upper case, a count of 0 gives "".
    if n == i32::MIN {
        n = i32::MIN + 1;
    }
    let upper = n < 0;
    if upper {
        n = -n;
    }
    let n = n.min(8) as usize;
    let s = if upper { format!("{x:08X}") } else { format!("{x:08x}") };
    let b = s.as_bytes();
    push_bytes(l, b.get(8 - n..).unwrap_or(b));
    1
}

// --- cjson ----------------------------------------------------------------------------

thread_local! {
    static ENCODE_DEPTH: Cell<i64> = const { Cell::new(1000) };
    static DECODE_DEPTH: Cell<i64> = const { Cell::new(1000) };
    static INVALID_NUMBERS: Cell<bool> = const { Cell::new(false) };
}

unsafe fn cfg_int(l: *mut lua_State, cell: &'static std::thread::LocalKey<Cell<i64>>) -> c_int {
    if ffi::lua_isnoneornil(l, 1) == 0 {
        let v = ffi::luaL_checknumber(l, 1) as i64;
        if !(1..=i32::MAX as i64).contains(&v) {
            ffi::luaL_argerror(l, 1, c"expected integer between 1 and 2147483647".as_ptr());
        }
        cell.with(|c| c.set(v));
    }
    ffi::lua_pushnumber(l, cell.with(|c| c.get()) as f64);
    1
}

unsafe extern "C-unwind" fn cjson_encode_max_depth(l: *mut lua_State) -> c_int {
    cfg_int(l, &ENCODE_DEPTH)
}

unsafe extern "C-unwind" fn cjson_decode_max_depth(l: *mut lua_State) -> c_int {
    cfg_int(l, &DECODE_DEPTH)
}

unsafe extern "C-unwind" fn cjson_encode_invalid_numbers(l: *mut lua_State) -> c_int {
    if ffi::lua_isnoneornil(l, 1) == 0 {
        let on = ffi::lua_toboolean(l, 1) != 0 || to_bytes(l, 1).is_some_and(|s| s == b"on");
        INVALID_NUMBERS.with(|c| c.set(on));
    }
    ffi::lua_pushboolean(l, INVALID_NUMBERS.with(|c| c.get()) as c_int);
    1
}

unsafe extern "C-unwind" fn cjson_noop_cfg(l: *mut lua_State) -> c_int {
    ffi::lua_pushboolean(l, 1);
    1
}

unsafe extern "C-unwind" fn cjson_encode(l: *mut lua_State) -> c_int {
    if ffi::lua_gettop(l) != 1 {
        ffi::luaL_argerror(l, 1, c"expected 1 argument".as_ptr());
    }
    let res = {
        let mut out = Vec::new();
        match encode_value(l, &mut out, 0) {
            Ok(()) => {
                push_bytes(l, &out);
                None
            }
            Err(e) => Some(e),
        }
    };
    if let Some(e) = res {
        raise_owned(l, e);
    }
    1
}

/// A number as cjson prints it (`%.14g`), or its error for NaN and infinities unless
/// `encode_invalid_numbers` is on.
fn encode_number(n: f64, out: &mut Vec<u8>) -> Result<(), String> {
    if n.is_finite() {
        crate::util::num::fmt_g(n, 14, out);
    } else if INVALID_NUMBERS.with(|c| c.get()) {
        out.extend_from_slice(if n.is_nan() {
            b"nan"
        } else if n > 0.0 {
            b"inf"
        } else {
            b"-inf"
        });
    } else {
        return Err("Cannot serialise number: must not be NaN or Inf".into());
    }
    Ok(())
}

fn escape(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 || c == 0x7f => out.extend_from_slice(format!("\\u{:04x}", c).as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

unsafe fn type_name(l: *mut lua_State, idx: c_int) -> String {
    let p = ffi::lua_typename(l, ffi::lua_type(l, idx));
    if p.is_null() {
        return "unknown".into();
    }
    CStr::from_ptr(p).to_string_lossy().into_owned()
}

/// Array length when the table at the top is an array (positive integer keys, not too
/// sparse), else None. Redis compat: lua_cjson.c lua_array_length.
unsafe fn array_len(l: *mut lua_State) -> Option<usize> {
    let (mut max, mut items) = (0f64, 0usize);
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, -2) != 0 {
        let is_index = ffi::lua_type(l, -2) == ffi::LUA_TNUMBER && {
            let k = ffi::lua_tonumber(l, -2);
            k == k.floor() && k >= 1.0
        };
        if !is_index {
            ffi::lua_pop(l, 2);
            return None;
        }
        max = max.max(ffi::lua_tonumber(l, -2));
        items += 1;
        ffi::lua_pop(l, 1);
    }
    // Excessively sparse arrays (ratio 2, safe up to 10) are objects.
    if max > 10.0 && max > 2.0 * items as f64 {
        return None;
    }
    Some(max as usize)
}

unsafe fn encode_value(l: *mut lua_State, out: &mut Vec<u8>, depth: i64) -> Result<(), String> {
    match ffi::lua_type(l, -1) {
        ffi::LUA_TSTRING => escape(to_bytes(l, -1).unwrap_or_default(), out),
        ffi::LUA_TNUMBER => encode_number(ffi::lua_tonumber(l, -1), out)?,
        ffi::LUA_TBOOLEAN => out.extend_from_slice(if ffi::lua_toboolean(l, -1) != 0 {
            b"true"
        } else {
            b"false"
        }),
        ffi::LUA_TNIL => out.extend_from_slice(b"null"),
        ffi::LUA_TLIGHTUSERDATA if ffi::lua_touserdata(l, -1).is_null() => out.extend_from_slice(b"null"),
        ffi::LUA_TTABLE => {
            let depth = depth + 1;
            if depth > ENCODE_DEPTH.with(|c| c.get()) || ffi::lua_checkstack(l, 4) == 0 {
                return Err(format!("Cannot serialise, excessive nesting ({depth})"));
            }
            match array_len(l) {
                Some(n) if n > 0 => {
                    out.push(b'[');
                    for i in 1..=n {
                        if i > 1 {
                            out.push(b',');
                        }
                        ffi::lua_rawgeti_(l, -1, i as c_int);
                        let r = encode_value(l, out, depth);
                        ffi::lua_pop(l, 1);
                        r?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    ffi::lua_pushnil(l);
                    while ffi::lua_next(l, -2) != 0 {
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match ffi::lua_type(l, -2) {
                            ffi::LUA_TSTRING => escape(to_bytes(l, -2).unwrap_or_default(), out),
                            ffi::LUA_TNUMBER => {
                                out.push(b'"');
                                if let Err(e) = encode_number(ffi::lua_tonumber(l, -2), out) {
                                    ffi::lua_pop(l, 2);
                                    return Err(e);
                                }
                                out.push(b'"');
                            }
                            _ => {
                                let t = type_name(l, -2);
                                ffi::lua_pop(l, 2);
                                return Err(format!("Cannot serialise {t}: table key must be a number or string"));
                            }
                        }
                        out.push(b':');
                        let r = encode_value(l, out, depth);
                        if r.is_err() {
                            ffi::lua_pop(l, 2);
                            return r;
                        }
                        ffi::lua_pop(l, 1);
                    }
                    out.push(b'}');
                }
            }
        }
        _ => {
            return Err(format!("Cannot serialise {}: type not supported", type_name(l, -1)));
        }
    }
    Ok(())
}

unsafe extern "C-unwind" fn cjson_decode(l: *mut lua_State) -> c_int {
    if ffi::lua_gettop(l) != 1 {
        ffi::luaL_argerror(l, 1, c"expected 1 argument".as_ptr());
    }
    let mut len = 0usize;
    let p = ffi::luaL_checklstring(l, 1, &mut len);
    let text = std::slice::from_raw_parts(p as *const u8, len);
    // Only the first character is sure to be ASCII; a NUL among the first two means
    // UTF-16 or UTF-32.
    if text.len() >= 2 && (text[0] == 0 || text[1] == 0) {
        raise_msg(l, b"JSON parser does not support UTF-16 or UTF-32");
    }
    let err = {
        let mut p = JsonParser::new(text, DECODE_DEPTH.with(|c| c.get()));
        p.document(l).err()
    };
    if let Some(e) = err {
        raise_owned(l, e);
    }
    1
}

/// A token of cjson's lexer, with the names its errors print.
#[derive(Clone, Copy, PartialEq)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(what) => what,
        }
    }
}

/// cjson's decoder as Redis builds it (Redis compat: lua_cjson.c json_decode): the text is
/// a C string (a NUL ends it), numbers are whatever strtod reads (so hex, inf, nan, a
/// leading '+' or zeros too), values are pushed in document order into tables made empty
/// (so the tables' layout, hence their iteration order, is cjson's), and errors carry
/// cjson's words and 1-based positions.
struct JsonParser {
    /// The text up to its first NUL, NUL-terminated.
    z: Vec<u8>,
    pos: usize,
    depth: i64,
    max_depth: i64,
    /// The last string token, unescaped.
    tmp: Vec<u8>,
}

impl JsonParser {
    fn new(text: &[u8], max_depth: i64) -> Self {
        let text = crate::util::c_str(text);
        let mut z = Vec::with_capacity(text.len() + 1);
        z.extend_from_slice(text);
        z.push(0);
        JsonParser {
            z,
            pos: 0,
            depth: 0,
            max_depth,
            tmp: Vec::new(),
        }
    }

    fn at(&self, i: usize) -> u8 {
        self.z.get(i).copied().unwrap_or(0)
    }

    /// The next token and the 0-based index where it starts (for an error inside a string
    /// or number: where the lexer stopped).
    fn next(&mut self) -> (Tok, usize) {
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let start = self.pos;
        let single = match self.at(start) {
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            0 => return (Tok::End, start),
            _ => None,
        };
        if let Some(t) = single {
            self.pos += 1;
            return (t, start);
        }
        let rest = &self.z[start..];
        match rest[0] {
            b'"' => self.string(),
            b'-' | b'0'..=b'9' => self.number(),
            _ if rest.starts_with(b"true") => {
                self.pos += 4;
                (Tok::Bool(true), start)
            }
            _ if rest.starts_with(b"false") => {
                self.pos += 5;
                (Tok::Bool(false), start)
            }
            _ if rest.starts_with(b"null") => {
                self.pos += 4;
                (Tok::Null, start)
            }
            // What strict JSON calls invalid numbers: a leading '+', inf, nan.
            b'+' => self.number(),
            b'i' | b'I' | b'n' | b'N'
                if rest.len() >= 3
                    && (rest[..3].eq_ignore_ascii_case(b"inf") || rest[..3].eq_ignore_ascii_case(b"nan")) =>
            {
                self.number()
            }
            _ => (Tok::Error("invalid token"), start),
        }
    }

    fn number(&mut self) -> (Tok, usize) {
        let start = self.pos;
        match crate::util::num::strtod_at(&self.z, start) {
            (_, 0) => (Tok::Error("invalid number"), start),
            (v, n) => {
                self.pos += n;
                (Tok::Num(v), start)
            }
        }
    }

    fn string(&mut self) -> (Tok, usize) {
        let start = self.pos;
        self.pos += 1;
        self.tmp.clear();
        loop {
            match self.at(self.pos) {
                b'"' => break,
                0 => return (Tok::Error("unexpected end of string"), self.pos),
                b'\\' => {
                    let out = match self.at(self.pos + 1) {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b't' => b'\t',
                        b'n' => b'\n',
                        b'f' => 0x0c,
                        b'r' => b'\r',
                        b'u' => {
                            if self.unicode_escape() {
                                continue;
                            }
                            return (Tok::Error("invalid unicode escape code"), self.pos);
                        }
                        _ => return (Tok::Error("invalid escape code"), self.pos),
                    };
                    self.tmp.push(out);
                    self.pos += 2;
                }
                c => {
                    self.tmp.push(c);
                    self.pos += 1;
                }
            }
        }
        self.pos += 1;
        (Tok::Str, start)
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let mut v = 0u32;
        for i in 0..4 {
            v = (v << 4) | (self.at(at + i) as char).to_digit(16)?;
        }
        Some(v)
    }

    /// `\uXXXX` (or a surrogate pair of them) at `pos`, appended as UTF-8.
    fn unicode_escape(&mut self) -> bool {
        let Some(mut cp) = self.hex4(self.pos + 2) else {
            return false;
        };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 || self.at(self.pos + 6) != b'\\' || self.at(self.pos + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.pos + 8) else {
                return false;
            };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        // Every value here is below 0x110000; a lone low surrogate is encoded as it is,
        // as cjson does.
        let b = &mut self.tmp;
        match cp {
            0..=0x7F => b.push(cp as u8),
            0x80..=0x7FF => b.extend_from_slice(&[0xC0 | (cp >> 6) as u8, 0x80 | (cp & 0x3F) as u8]),
            0x800..=0xFFFF => b.extend_from_slice(&[
                0xE0 | (cp >> 12) as u8,
                0x80 | ((cp >> 6) & 0x3F) as u8,
                0x80 | (cp & 0x3F) as u8,
            ]),
            _ => b.extend_from_slice(&[
                0xF0 | (cp >> 18) as u8,
                0x80 | ((cp >> 12) & 0x3F) as u8,
                0x80 | ((cp >> 6) & 0x3F) as u8,
                0x80 | (cp & 0x3F) as u8,
            ]),
        }
        self.pos += len;
        true
    }

    fn expected(what: &str, (tok, at): (Tok, usize)) -> String {
        format!("Expected {what} but found {} at character {}", tok.name(), at + 1)
    }

    unsafe fn document(&mut self, l: *mut lua_State) -> Result<(), String> {
        let t = self.next();
        self.value(l, t)?;
        match self.next() {
            (Tok::End, _) => Ok(()),
            t => Err(Self::expected("the end", t)),
        }
    }

    unsafe fn descend(&mut self, l: *mut lua_State, slots: c_int) -> Result<(), String> {
        self.depth += 1;
        if self.depth <= self.max_depth && ffi::lua_checkstack(l, slots) != 0 {
            return Ok(());
        }
        Err(format!(
            "Found too many nested data structures ({}) at character {}",
            self.depth, self.pos
        ))
    }

    unsafe fn value(&mut self, l: *mut lua_State, t: (Tok, usize)) -> Result<(), String> {
        match t.0 {
            Tok::Str => push_bytes(l, &self.tmp),
            Tok::Num(v) => ffi::lua_pushnumber(l, v),
            Tok::Bool(b) => ffi::lua_pushboolean(l, b as c_int),
            Tok::Null => ffi::lua_pushlightuserdata(l, std::ptr::null_mut()),
            Tok::ObjBegin => return self.container(l, true),
            Tok::ArrBegin => return self.container(l, false),
            _ => return Err(Self::expected("value", t)),
        }
        Ok(())
    }

    /// An object or an array after its opening token: a new table, then items
    /// separated by commas up to the closing token. Redis compat: lua_cjson.c
    /// json_parse_object_context, json_parse_array_context.
    unsafe fn container(&mut self, l: *mut lua_State, object: bool) -> Result<(), String> {
        let (end, slots, what) = if object {
            (Tok::ObjEnd, 3, "comma or object end")
        } else {
            (Tok::ArrEnd, 2, "comma or array end")
        };
        self.descend(l, slots)?;
        ffi::lua_createtable(l, 0, 0);
        let mut t = self.next();
        let mut i: c_int = 1;
        if t.0 != end {
            loop {
                if object {
                    self.member(l, t)?;
                } else {
                    self.value(l, t)?;
                    ffi::lua_rawseti_(l, -2, i);
                    i = i.wrapping_add(1);
                }
                let t2 = self.next();
                if t2.0 == end {
                    break;
                }
                if t2.0 != Tok::Comma {
                    return Err(Self::expected(what, t2));
                }
                t = self.next();
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// `"key": value` into the table below them on the stack.
    unsafe fn member(&mut self, l: *mut lua_State, t: (Tok, usize)) -> Result<(), String> {
        if t.0 != Tok::Str {
            return Err(Self::expected("object key string", t));
        }
        push_bytes(l, &self.tmp);
        let colon = self.next();
        if colon.0 != Tok::Colon {
            return Err(Self::expected("colon", colon));
        }
        let v = self.next();
        self.value(l, v)?;
        ffi::lua_rawset(l, -3);
        Ok(())
    }
}

// --- cmsgpack -------------------------------------------------------------------------

/// Tables nested deeper than this encode as nil (circular references end there).
const MSGPACK_MAX_NESTING: u32 = 16;

unsafe fn mp_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        match n {
            0..=127 => out.push(n as u8),
            128..=0xff => out.extend_from_slice(&[0xcc, n as u8]),
            0x100..=0xffff => {
                out.push(0xcd);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(0xce);
                out.extend_from_slice(&(n as u32).to_be_bytes());
            }
            _ => {
                out.push(0xcf);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2147483648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn mp_len(n: usize, fix: u8, fix_max: usize, c16: u8, c32: u8, out: &mut Vec<u8>) {
    if n <= fix_max {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(c16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(c32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// The array length of the table at the top when its keys are exactly 1..n.
unsafe fn mp_array_len(l: *mut lua_State) -> Option<usize> {
    let (mut count, mut max) = (0usize, 0f64);
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, -2) != 0 {
        ffi::lua_pop(l, 1);
        let ok = ffi::lua_type(l, -1) == ffi::LUA_TNUMBER && {
            let k = ffi::lua_tonumber(l, -1);
            k > 0.0 && k == k.floor()
        };
        if !ok {
            ffi::lua_pop(l, 1);
            return None;
        }
        max = max.max(ffi::lua_tonumber(l, -1));
        count += 1;
    }
    (max as usize == count).then_some(count)
}

unsafe fn mp_encode(l: *mut lua_State, out: &mut Vec<u8>, level: u32) {
    match ffi::lua_type(l, -1) {
        ffi::LUA_TSTRING => {
            let s = to_bytes(l, -1).unwrap_or_default();
            if s.len() < 32 {
                out.push(0xa0 | s.len() as u8);
            } else if s.len() <= 0xff {
                out.extend_from_slice(&[0xd9, s.len() as u8]);
            } else {
                mp_len(s.len(), 0xa0, 0, 0xda, 0xdb, out);
            }
            out.extend_from_slice(s);
        }
        ffi::LUA_TBOOLEAN => out.push(if ffi::lua_toboolean(l, -1) != 0 { 0xc3 } else { 0xc2 }),
        ffi::LUA_TNUMBER => {
            let n = ffi::lua_tonumber(l, -1);
            // cmsgpack's test: a C cast to int64_t gives the number back (never for NaN,
            // nor for 2^63, which the cast turns into -2^63).
            let i = crate::util::num::c_cast_i64(n);
            if !n.is_infinite() && i as f64 == n {
                mp_int(i, out);
            } else if (n as f32) as f64 == n {
                out.push(0xca);
                out.extend_from_slice(&(n as f32).to_be_bytes());
            } else {
                out.push(0xcb);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        ffi::LUA_TTABLE if level < MSGPACK_MAX_NESTING && ffi::lua_checkstack(l, 4) != 0 => {
            if let Some(n) = mp_array_len(l) {
                mp_len(n, 0x90, 15, 0xdc, 0xdd, out);
                for i in 1..=n {
                    ffi::lua_rawgeti_(l, -1, i as c_int);
                    mp_encode(l, out, level + 1);
                    ffi::lua_pop(l, 1);
                }
            } else {
                let mut n = 0usize;
                ffi::lua_pushnil(l);
                while ffi::lua_next(l, -2) != 0 {
                    ffi::lua_pop(l, 1);
                    n += 1;
                }
                mp_len(n, 0x80, 15, 0xde, 0xdf, out);
                ffi::lua_pushnil(l);
                while ffi::lua_next(l, -2) != 0 {
                    ffi::lua_pushvalue(l, -2);
                    mp_encode(l, out, level + 1);
                    ffi::lua_pop(l, 1);
                    mp_encode(l, out, level + 1);
                    ffi::lua_pop(l, 1);
                }
            }
        }
        _ => out.push(0xc0),
    }
}

unsafe extern "C-unwind" fn mp_pack(l: *mut lua_State) -> c_int {
    let n = ffi::lua_gettop(l);
    if n == 0 {
        raise_msg(l, b"MessagePack pack needs input.");
    }
    {
        let mut out = Vec::new();
        for i in 1..=n {
            ffi::lua_pushvalue(l, i);
            mp_encode(l, &mut out, 0);
            ffi::lua_pop(l, 1);
        }
        push_bytes(l, &out);
    }
    1
}

/// Decodes one value at `buf[*pos..]` onto the stack; Err: the error text.
unsafe fn mp_decode(l: *mut lua_State, buf: &[u8], pos: &mut usize, depth: u32) -> Result<(), &'static [u8]> {
    const MISSING: &[u8] = b"Missing bytes in input.";
    if depth > 1000 || ffi::lua_checkstack(l, 4) == 0 {
        return Err(b"Bad data format in input.");
    }
    let take = |pos: &mut usize, n: usize| -> Result<&[u8], &'static [u8]> {
        let s = buf.get(*pos..pos.checked_add(n).ok_or(MISSING)?).ok_or(MISSING)?;
        *pos += n;
        Ok(s)
    };
    let be = |b: &[u8]| b.iter().fold(0u64, |a, &x| (a << 8) | x as u64);
    let c = *take(pos, 1)?.first().ok_or(MISSING)?;
    let table = |l: *mut lua_State, n: usize, map: bool, pos: &mut usize| -> Result<(), &'static [u8]> {
        ffi::lua_createtable(
            l,
            if map { 0 } else { n.min(1 << 16) as c_int },
            if map { n.min(1 << 16) as c_int } else { 0 },
        );
        for i in 0..n {
            if map {
                mp_decode(l, buf, pos, depth + 1)?;
                mp_decode(l, buf, pos, depth + 1)?;
                ffi::lua_settable(l, -3);
            } else {
                mp_decode(l, buf, pos, depth + 1)?;
                ffi::lua_rawseti_(l, -2, i as c_int + 1);
            }
        }
        Ok(())
    };
    match c {
        0x00..=0x7f => ffi::lua_pushnumber(l, c as f64),
        0xe0..=0xff => ffi::lua_pushnumber(l, c as i8 as f64),
        0x80..=0x8f => table(l, (c & 0x0f) as usize, true, pos)?,
        0x90..=0x9f => table(l, (c & 0x0f) as usize, false, pos)?,
        0xa0..=0xbf => {
            let s = take(pos, (c & 0x1f) as usize)?;
            push_bytes(l, s);
        }
        0xc0 => ffi::lua_pushnil(l),
        0xc2 => ffi::lua_pushboolean(l, 0),
        0xc3 => ffi::lua_pushboolean(l, 1),
        0xca => {
            let b = take(pos, 4)?;
            ffi::lua_pushnumber(l, f32::from_bits(be(b) as u32) as f64);
        }
        0xcb => {
            let b = take(pos, 8)?;
            ffi::lua_pushnumber(l, f64::from_bits(be(b)));
        }
        0xcc..=0xcf => {
            let b = take(pos, 1 << (c - 0xcc))?;
            ffi::lua_pushnumber(l, be(b) as f64);
        }
        0xd0 => ffi::lua_pushnumber(l, take(pos, 1)?.first().map_or(0, |&b| b as i8) as f64),
        0xd1 => ffi::lua_pushnumber(l, be(take(pos, 2)?) as u16 as i16 as f64),
        0xd2 => ffi::lua_pushnumber(l, be(take(pos, 4)?) as u32 as i32 as f64),
        0xd3 => ffi::lua_pushnumber(l, be(take(pos, 8)?) as i64 as f64),
        0xc4 | 0xd9 => {
            let n = be(take(pos, 1)?) as usize;
            push_bytes(l, take(pos, n)?);
        }
        0xc5 | 0xda => {
            let n = be(take(pos, 2)?) as usize;
            push_bytes(l, take(pos, n)?);
        }
        0xc6 | 0xdb => {
            let n = be(take(pos, 4)?) as usize;
            push_bytes(l, take(pos, n)?);
        }
        0xdc => {
            let n = be(take(pos, 2)?) as usize;
            table(l, n, false, pos)?
        }
        0xdd => {
            let n = be(take(pos, 4)?) as usize;
            table(l, n, false, pos)?
        }
        0xde => {
            let n = be(take(pos, 2)?) as usize;
            table(l, n, true, pos)?
        }
        0xdf => {
            let n = be(take(pos, 4)?) as usize;
            table(l, n, true, pos)?
        }
        _ => return Err(b"Bad data format in input."),
    }
    Ok(())
}

/// Decodes up to `limit` values (0: all) from `offset`. Redis compat: lua_cmsgpack.c
/// mp_unpack_full (unpack returns only the values; the others the next offset first).
unsafe fn mp_unpack_full(l: *mut lua_State, limit: i64, offset: i64) -> c_int {
    let decode_all = limit == 0 && offset == 0;
    let (err, count, next) = {
        let buf = to_bytes(l, 1).unwrap_or_default().to_vec();
        ffi::lua_settop(l, 0);
        let mut pos = offset.max(0) as usize;
        let mut count = 0i64;
        let mut err = None;
        while pos < buf.len() && (limit == 0 || count < limit) {
            if let Err(e) = mp_decode(l, &buf, &mut pos, 0) {
                err = Some(e);
                break;
            }
            count += 1;
        }
        let next = if pos >= buf.len() { -1 } else { pos as i64 };
        (err, count, next)
    };
    if let Some(e) = err {
        ffi::lua_settop(l, 0);
        raise_msg(l, e);
    }
    if decode_all {
        return count as c_int;
    }
    ffi::lua_pushnumber(l, next as f64);
    ffi::lua_insert(l, 1);
    count as c_int + 1
}

unsafe extern "C-unwind" fn mp_unpack(l: *mut lua_State) -> c_int {
    ffi::luaL_checklstring(l, 1, std::ptr::null_mut());
    mp_unpack_full(l, 0, 0)
}

unsafe extern "C-unwind" fn mp_unpack_one(l: *mut lua_State) -> c_int {
    ffi::luaL_checklstring(l, 1, std::ptr::null_mut());
    let offset = ffi::luaL_optinteger(l, 2, 0) as i64;
    ffi::lua_settop(l, 1);
    mp_unpack_full(l, 1, offset)
}

unsafe extern "C-unwind" fn mp_unpack_limit(l: *mut lua_State) -> c_int {
    ffi::luaL_checklstring(l, 1, std::ptr::null_mut());
    let limit = ffi::luaL_checkinteger(l, 2) as i64;
    let offset = ffi::luaL_optinteger(l, 3, 0) as i64;
    ffi::lua_settop(l, 1);
    mp_unpack_full(l, limit, offset)
}

pub unsafe fn open_msgpack(l: *mut lua_State) {
    open(
        l,
        c"cmsgpack",
        &[
            (c"pack", mp_pack),
            (c"unpack", mp_unpack),
            (c"unpack_one", mp_unpack_one),
            (c"unpack_limit", mp_unpack_limit),
        ],
    );
}
