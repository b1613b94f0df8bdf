//! The `struct` library Redis gives scripts: `struct.pack(fmt, ...)`,
//! `struct.unpack(fmt, data [, pos])` and `struct.size(fmt)` over binary strings, with
//! Roberto Ierusalimschy's format language (endianness `<` `>` `!`, `b B h H l L T i I`
//! integers, `f d` floats, `c` fixed and `s` zero-terminated strings, `x` padding).
//! Redis compat: deps/lua/src/lua_struct.c.
// Every unsafe fn here has one contract: `l` is a valid lua_State of this thread.
#![allow(clippy::missing_safety_doc)]
use std::ffi::c_int;

use mlua::ffi::{self, lua_State};

use super::vm::{push_bytes, raise_msg, raise_owned, to_bytes};

/// Redis compat: lua_struct.c MAXINTSIZE and the native maximum alignment.
const MAX_INT_SIZE: usize = 32;
const MAX_ALIGN: usize = 8;

struct Header {
    little: bool,
    align: usize,
}

/// One format option: its letter and size (0 for `s` and an unsized `c`).
fn option(fmt: &[u8], pos: &mut usize, h: &mut Header) -> Result<Option<(u8, usize)>, String> {
    loop {
        let Some(&c) = fmt.get(*pos) else {
            return Ok(None);
        };
        *pos += 1;
        let num = |pos: &mut usize, default: usize| -> usize {
            let start = *pos;
            let mut n: usize = 0;
            while let Some(d) = fmt.get(*pos).filter(|d| d.is_ascii_digit()) {
                n = n.saturating_mul(10).saturating_add((d - b'0') as usize);
                *pos += 1;
            }
            if *pos == start {
                default
            } else {
                n
            }
        };
        let size = match c {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' => 8,
            b'f' => 4,
            b'd' => 8,
            b'c' => num(pos, 1),
            b's' => 0,
            b'i' | b'I' => {
                let n = num(pos, 4);
                if n > MAX_INT_SIZE {
                    return Err(format!("integral size {n} is larger than limit of {MAX_INT_SIZE}"));
                }
                n
            }
            b' ' => continue,
            b'>' => {
                h.little = false;
                continue;
            }
            b'<' => {
                h.little = true;
                continue;
            }
            b'!' => {
                let a = num(pos, MAX_ALIGN);
                if !a.is_power_of_two() {
                    return Err(format!("alignment {a} is not a power of 2"));
                }
                h.align = a;
                continue;
            }
            // A leading \u{1} marks an error about the format argument itself.
            _ => return Err(format!("\u{1}invalid format option '{}'", c as char)),
        };
        return Ok(Some((c, size)));
    }
}

/// Padding before an option of `size` at offset `len`.
fn to_align(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size <= 1 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size - (len & (size - 1))) & (size - 1)
}

fn put_int(out: &mut Vec<u8>, v: u64, little: bool, size: usize) {
    let mut bytes = vec![0u8; size];
    for (i, b) in bytes.iter_mut().enumerate().take(8) {
        *b = (v >> (8 * i)) as u8;
    }
    // Redis compat: lua_struct.c shifts a 64-bit value out: bytes past 8 are zero.
    if !little {
        bytes.reverse();
    }
    out.extend_from_slice(&bytes);
}

fn get_int(data: &[u8], little: bool, signed: bool) -> f64 {
    let mut v: u64 = 0;
    let size = data.len();
    for i in 0..size.min(8) {
        let b = if little { data.get(i) } else { data.get(size - 1 - i) };
        v |= (b.copied().unwrap_or(0) as u64) << (8 * i);
    }
    if signed && size < 8 && size > 0 {
        let shift = 64 - 8 * size as u32;
        ((v << shift) as i64 >> shift) as f64
    } else if signed {
        v as i64 as f64
    } else {
        v as f64
    }
}

/// Raises `msg`: as a "bad argument #1" error when it is about the format.
unsafe fn fail(l: *mut lua_State, msg: String) -> ! {
    match msg.strip_prefix('\u{1}') {
        Some(m) => {
            let c = std::ffi::CString::new(m).unwrap_or_default();
            ffi::luaL_argerror(l, 1, c.as_ptr());
            raise_msg(l, m.as_bytes())
        }
        None => raise_owned(l, msg),
    }
}

pub unsafe extern "C-unwind" fn struct_pack(l: *mut lua_State) -> c_int {
    // Borrowed from the Lua stack (argument 1 stays there): nothing to free if a Lua
    // error unwinds through here.
    let fmt = to_bytes(l, 1).unwrap_or_default();
    if ffi::lua_type(l, 1) != ffi::LUA_TSTRING {
        ffi::luaL_checklstring(l, 1, std::ptr::null_mut());
    }
    let mut h = Header { little: true, align: 1 };
    let mut out = Vec::new();
    let mut arg = 2;
    let mut pos = 0;
    loop {
        let (opt, size) = match option(fmt, &mut pos, &mut h) {
            Ok(Some(o)) => o,
            Ok(None) => break,
            Err(e) => fail(l, e),
        };
        let pad = to_align(out.len(), &h, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            b'x' => out.push(0),
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = ffi::luaL_checknumber(l, arg);
                let v = if n < 0.0 { n as i64 as u64 } else { n as u64 };
                put_int(&mut out, v, h.little, size);
                arg += 1;
            }
            b'f' => {
                let v = ffi::luaL_checknumber(l, arg) as f32;
                let b = if h.little { v.to_le_bytes() } else { v.to_be_bytes() };
                out.extend_from_slice(&b);
                arg += 1;
            }
            b'd' => {
                let v = ffi::luaL_checknumber(l, arg);
                let b = if h.little { v.to_le_bytes() } else { v.to_be_bytes() };
                out.extend_from_slice(&b);
                arg += 1;
            }
            b'c' | b's' => {
                let mut len = 0usize;
                let p = ffi::luaL_checklstring(l, arg, &mut len);
                let s = std::slice::from_raw_parts(p as *const u8, len);
                let take = if size == 0 { len } else { size };
                if opt == b'c' && len < take {
                    // Redis compat: lua_struct.c names the argument after this one.
                    ffi::luaL_argerror(l, arg + 1, c"string too short".as_ptr());
                }
                out.extend_from_slice(s.get(..take).unwrap_or(s));
                if opt == b's' {
                    out.push(0);
                }
                arg += 1;
            }
            _ => {}
        }
    }
    push_bytes(l, &out);
    1
}

pub unsafe extern "C-unwind" fn struct_unpack(l: *mut lua_State) -> c_int {
    // Borrowed from the Lua stack (argument 1 stays there): nothing to free if a Lua
    // error unwinds through here.
    let fmt = to_bytes(l, 1).unwrap_or_default();
    if ffi::lua_type(l, 1) != ffi::LUA_TSTRING {
        ffi::luaL_checklstring(l, 1, std::ptr::null_mut());
    }
    let mut dlen = 0usize;
    let dp = ffi::luaL_checklstring(l, 2, &mut dlen);
    let data = std::slice::from_raw_parts(dp as *const u8, dlen);
    let start = ffi::luaL_optinteger(l, 3, 1);
    if start <= 0 {
        ffi::luaL_argerror(l, 3, c"offset must be 1 or greater".as_ptr());
    }
    let mut off = (start - 1) as usize;
    let mut h = Header { little: true, align: 1 };
    let mut pos = 0;
    let mut n: c_int = 0;
    loop {
        let (opt, mut size) = match option(fmt, &mut pos, &mut h) {
            Ok(Some(o)) => o,
            Ok(None) => break,
            Err(e) => fail(l, e),
        };
        off += to_align(off, &h, opt, size);
        if size > dlen || off > dlen - size {
            ffi::luaL_argerror(l, 2, c"data string too short".as_ptr());
        }
        if ffi::lua_checkstack(l, 2) == 0 {
            fail(l, "too many results".into());
        }
        match opt {
            b'x' => {}
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let signed = opt.is_ascii_lowercase();
                let bytes = data.get(off..off + size).unwrap_or_default();
                ffi::lua_pushnumber(l, get_int(bytes, h.little, signed));
                n += 1;
            }
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(data.get(off..off + 4).unwrap_or(&[0; 4]));
                let v = if h.little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                ffi::lua_pushnumber(l, v as f64);
                n += 1;
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(data.get(off..off + 8).unwrap_or(&[0; 8]));
                let v = if h.little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                ffi::lua_pushnumber(l, v);
                n += 1;
            }
            b'c' => {
                if size == 0 {
                    // Redis compat: `c0` takes its length from the previous number read.
                    if n == 0 || ffi::lua_isnumber(l, -1) == 0 {
                        fail(l, "format 'c0' needs a previous size".into());
                    }
                    size = ffi::lua_tonumber(l, -1).max(0.0) as usize;
                    ffi::lua_settop(l, -2);
                    n -= 1;
                    if size > dlen || off > dlen - size {
                        ffi::luaL_argerror(l, 2, c"data string too short".as_ptr());
                    }
                }
                push_bytes(l, data.get(off..off + size).unwrap_or_default());
                n += 1;
            }
            b's' => {
                let rest = data.get(off..).unwrap_or_default();
                let Some(z) = rest.iter().position(|&b| b == 0) else {
                    fail(l, "unfinished string in data".into());
                };
                push_bytes(l, rest.get(..z).unwrap_or_default());
                n += 1;
                size = z + 1;
            }
            _ => {}
        }
        off += size;
    }
    ffi::lua_pushinteger(l, (off + 1) as ffi::lua_Integer);
    n + 1
}

pub unsafe extern "C-unwind" fn struct_size(l: *mut lua_State) -> c_int {
    // Borrowed from the Lua stack (argument 1 stays there): nothing to free if a Lua
    // error unwinds through here.
    let fmt = to_bytes(l, 1).unwrap_or_default();
    if ffi::lua_type(l, 1) != ffi::LUA_TSTRING {
        ffi::luaL_checklstring(l, 1, std::ptr::null_mut());
    }
    let mut h = Header { little: true, align: 1 };
    let mut pos = 0;
    let mut total = 0usize;
    loop {
        let (opt, size) = match option(fmt, &mut pos, &mut h) {
            Ok(Some(o)) => o,
            Ok(None) => break,
            Err(e) => fail(l, e),
        };
        if opt == b's' {
            ffi::luaL_argerror(l, 1, c"option 's' has no fixed size".as_ptr());
        } else if opt == b'c' && size == 0 {
            ffi::luaL_argerror(l, 1, c"option 'c0' has no fixed size".as_ptr());
        }
        total += to_align(total, &h, opt, size) + size;
    }
    ffi::lua_pushinteger(l, total as ffi::lua_Integer);
    1
}
