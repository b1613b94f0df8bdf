//! A Lua 5.1 state set up like Redis's: the allowed libraries, the `redis` API, the
//! error handler, deterministic `math.random`, and globals (and every table reachable
//! from them) made read-only. Raw C API (mlua::ffi): errors are Lua error values (tables
//! like `{err=...}`), which only the C API passes through untouched.
// Every unsafe fn here has one contract: `l` is a valid lua_State of this thread.
#![allow(clippy::missing_safety_doc)]
use std::ffi::{c_char, c_int, CStr};

use mlua::ffi::{self, lua_State};

extern "C-unwind" {
    // Added to the vendored Lua (vendor/lua-src/PATCHES.md).
    fn lua_setreadonly(l: *mut lua_State, idx: c_int, on: c_int);
    fn lua_isreadonly(l: *mut lua_State, idx: c_int) -> c_int;
}

/// Registry keys.
pub const ERR_HANDLER: &CStr = c"__ferrodis_err_handler";
/// Functions engine: the globals scripts see, and the API a library sees while loading.
pub const GLOBALS_API: &CStr = c"__ferrodis_globals_api";
pub const LIBRARY_API: &CStr = c"__ferrodis_library_api";

/// Owns a lua_State; closed on drop.
pub struct Vm {
    pub l: *mut lua_State,
}

// Safety: the state is only ever used from the thread owning the Server; it is moved
// (never shared) with it.
unsafe impl Send for Vm {}

impl Drop for Vm {
    fn drop(&mut self) {
        if !self.l.is_null() {
            // Safety: the state was created by luaL_newstate and is closed once.
            unsafe { ffi::lua_close(self.l) };
        }
    }
}

// --- small stack helpers -------------------------------------------------------------

#[inline]
pub unsafe fn push_bytes(l: *mut lua_State, b: &[u8]) {
    ffi::lua_pushlstring_(l, b.as_ptr() as *const c_char, b.len());
}

/// The string (or number, converted in place) at `idx`.
#[inline]
pub unsafe fn to_bytes<'a>(l: *mut lua_State, idx: c_int) -> Option<&'a [u8]> {
    let mut len = 0usize;
    let p = ffi::lua_tolstring(l, idx, &mut len);
    if p.is_null() {
        None
    } else {
        Some(std::slice::from_raw_parts(p as *const u8, len))
    }
}

pub unsafe fn set_field_bytes(l: *mut lua_State, key: &CStr, val: &[u8]) {
    push_bytes(l, val);
    ffi::lua_setfield(l, -2, key.as_ptr());
}

pub unsafe fn set_field_fn(l: *mut lua_State, key: &CStr, f: ffi::lua_CFunction) {
    ffi::lua_pushcclosure(l, f, 0);
    ffi::lua_setfield(l, -2, key.as_ptr());
}

pub unsafe fn set_field_num(l: *mut lua_State, key: &CStr, n: f64) {
    ffi::lua_pushnumber(l, n);
    ffi::lua_setfield(l, -2, key.as_ptr());
}

/// Pushes Redis's error table `{err="CODE message"}` for `text`: "-CODE message" keeps
/// its code, anything else gets "ERR". Redis compat: script_lua.c luaPushErrorBuff.
pub unsafe fn push_error(l: *mut lua_State, text: &[u8]) {
    let (code, msg): (&[u8], &[u8]) = match text.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&c| c == b' ') {
            Some(sp) => (&rest[..sp], &rest[sp + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", text),
    };
    let start = msg.iter().position(|&c| c != b'\r' && c != b'\n').unwrap_or(msg.len());
    let end = msg
        .iter()
        .rposition(|&c| c != b'\r' && c != b'\n')
        .map_or(start, |e| e + 1);
    let msg = msg.get(start..end.max(start)).unwrap_or_default();
    let mut full = Vec::with_capacity(code.len() + 1 + msg.len());
    full.extend_from_slice(code);
    full.push(b' ');
    full.extend_from_slice(msg);
    ffi::lua_createtable(l, 0, 1);
    set_field_bytes(l, c"err", &full);
}

/// Raises a plain message error with the caller's position, like luaL_error.
pub unsafe fn raise_msg(l: *mut lua_State, msg: &[u8]) -> ! {
    ffi::luaL_where(l, 1);
    push_bytes(l, msg);
    ffi::lua_concat(l, 2);
    ffi::lua_error(l)
}

/// [`raise_msg`] for a message built at run time: it is freed before the error unwinds
/// through C.
pub unsafe fn raise_owned(l: *mut lua_State, msg: String) -> ! {
    ffi::luaL_where(l, 1);
    push_bytes(l, msg.as_bytes());
    drop(msg);
    ffi::lua_concat(l, 2);
    ffi::lua_error(l)
}

/// Sets a global of the read-only globals table from the top of the stack (KEYS and
/// ARGV for EVAL).
pub unsafe fn set_global_unprotected(l: *mut lua_State, name: &CStr) {
    lua_setreadonly(l, ffi::LUA_GLOBALSINDEX, 0);
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, name.as_ptr());
    lua_setreadonly(l, ffi::LUA_GLOBALSINDEX, 1);
}

// --- state construction ----------------------------------------------------------------

unsafe fn open_lib(l: *mut lua_State, name: &CStr, f: ffi::lua_CFunction) {
    ffi::lua_pushcclosure(l, f, 0);
    ffi::lua_pushstring(l, name.as_ptr());
    ffi::lua_call(l, 1, 0);
}

/// Globals scripts may see; everything else the libraries define is removed.
/// Redis compat: script_lua.c allow lists (print, loadfile, dofile are denied).
const ALLOWED_GLOBALS: &[&str] = &[
    "string",
    "cjson",
    "bit",
    "cmsgpack",
    "math",
    "table",
    "struct",
    "redis",
    "xpcall",
    "tostring",
    "getfenv",
    "setmetatable",
    "next",
    "assert",
    "tonumber",
    "rawequal",
    "collectgarbage",
    "getmetatable",
    "rawset",
    "pcall",
    "coroutine",
    "type",
    "_G",
    "select",
    "unpack",
    "gcinfo",
    "pairs",
    "rawget",
    "loadstring",
    "ipairs",
    "_VERSION",
    "setfenv",
    "load",
    "error",
    "newproxy",
];

/// Lua source of the error handler: turns any error into the `{err=...}` table and
/// records where it happened (the caller of a C function, e.g. of redis.call).
/// Redis compat: eval.c scriptingInit / function_lua.c luaEngineInitEngine.
const ERR_HANDLER_SRC: &str = "local dbg = debug\n\
debug = nil\n\
return function(e)\n\
  local info = dbg.getinfo(2, 'nSl')\n\
  if info and info.what == 'C' then info = dbg.getinfo(3, 'nSl') end\n\
  if type(e) ~= 'table' then e = {err = 'ERR ' .. tostring(e)} end\n\
  if info then\n\
    e['source'] = info.source\n\
    e['line'] = info.currentline\n\
  end\n\
  return e\n\
end\n";

unsafe extern "C-unwind" fn protected_global(l: *mut lua_State) -> c_int {
    let name = to_bytes(l, 2).map(|b| b.to_vec()).unwrap_or_default();
    let mut msg = b"Script attempted to access nonexistent global variable '".to_vec();
    msg.extend_from_slice(&name);
    msg.push(b'\'');
    ffi::lua_settop(l, 0);
    push_bytes(l, &msg);
    drop(msg);
    drop(name);
    ffi::luaL_where(l, 1);
    ffi::lua_insert(l, 1);
    ffi::lua_concat(l, 2);
    ffi::lua_error(l)
}

/// Sets on the table at the top a metatable whose __index raises the
/// "nonexistent global variable" error.
unsafe fn set_error_metatable(l: *mut lua_State) {
    ffi::lua_createtable(l, 0, 1);
    set_field_fn(l, c"__index", protected_global);
    ffi::lua_setmetatable(l, -2);
}

/// Makes the table at the top read-only, with every table reachable from it and their
/// metatables. Redis compat: script_lua.c luaSetTableProtectionRecursively.
unsafe fn protect_recursively(l: *mut lua_State, depth: u32) {
    if lua_isreadonly(l, -1) != 0 || depth > 64 || ffi::lua_checkstack(l, 3) == 0 {
        return;
    }
    lua_setreadonly(l, -1, 1);
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, -2) != 0 {
        if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
            protect_recursively(l, depth + 1);
        }
        ffi::lua_pop(l, 1);
    }
    if ffi::lua_getmetatable(l, -1) != 0 {
        protect_recursively(l, depth + 1);
        ffi::lua_pop(l, 1);
    }
}

impl Vm {
    /// A new state for EVAL scripts (`functions == false`) or for the functions engine.
    pub fn new(functions: bool) -> Option<Vm> {
        // Safety: a fresh state, used only through the C API below on this thread.
        unsafe {
            let l = ffi::luaL_newstate();
            if l.is_null() {
                return None;
            }
            let vm = Vm { l };
            let top = ffi::lua_gettop(l);
            open_lib(l, c"", ffi::luaopen_base);
            open_lib(l, c"table", ffi::luaopen_table);
            open_lib(l, c"string", ffi::luaopen_string);
            open_lib(l, c"math", ffi::luaopen_math);
            open_lib(l, c"debug", ffi::luaopen_debug);
            super::libs::open_all(l);
            // Drop every global not on the allow list (and keep debug until the error
            // handler captured it).
            let mut remove: Vec<Vec<u8>> = Vec::new();
            ffi::lua_pushnil(l);
            while ffi::lua_next(l, ffi::LUA_GLOBALSINDEX) != 0 {
                ffi::lua_pop(l, 1);
                if ffi::lua_type(l, -1) == ffi::LUA_TSTRING {
                    if let Some(k) = to_bytes(l, -1) {
                        let ok = ALLOWED_GLOBALS.iter().any(|a| a.as_bytes() == k) || k == b"debug";
                        if !ok {
                            remove.push(k.to_vec());
                        }
                    }
                }
            }
            for k in &remove {
                push_bytes(l, k);
                ffi::lua_pushnil(l);
                ffi::lua_rawset(l, ffi::LUA_GLOBALSINDEX);
            }
            ffi::lua_pushcclosure(l, super::api::lua_pcall_compat, 0);
            ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"pcall".as_ptr());
            super::api::register_redis(l, functions);
            // math.random / math.randomseed with Redis's generator.
            ffi::lua_getfield(l, ffi::LUA_GLOBALSINDEX, c"math".as_ptr());
            set_field_fn(l, c"random", super::api::math_random);
            set_field_fn(l, c"randomseed", super::api::math_randomseed);
            ffi::lua_pop(l, 1);
            // The error handler (it takes `debug` away from the globals).
            if ffi::luaL_loadbuffer(
                l,
                ERR_HANDLER_SRC.as_ptr() as *const c_char,
                ERR_HANDLER_SRC.len(),
                c"@err_handler_def".as_ptr(),
            ) != 0
                || ffi::lua_pcall(l, 0, 1, 0) != 0
            {
                return None;
            }
            ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, ERR_HANDLER.as_ptr());
            if functions {
                // The API a library sees while FUNCTION LOAD runs its code.
                ffi::lua_createtable(l, 0, 2);
                ffi::lua_createtable(l, 0, 8);
                set_field_fn(l, c"register_function", super::api::register_function);
                super::api::register_log(l);
                super::api::register_version(l);
                set_error_metatable(l);
                ffi::lua_setfield(l, -2, c"redis".as_ptr());
                set_error_metatable(l);
                protect_recursively(l, 0);
                ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, LIBRARY_API.as_ptr());
            }
            ffi::lua_pushvalue(l, ffi::LUA_GLOBALSINDEX);
            set_error_metatable(l);
            protect_recursively(l, 0);
            ffi::lua_pop(l, 1);
            if functions {
                // Scripts get an empty read-only globals table whose __index is the real
                // one; FUNCTION LOAD swaps __index for the library API while loading.
                ffi::lua_pushvalue(l, ffi::LUA_GLOBALSINDEX);
                ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, GLOBALS_API.as_ptr());
                ffi::lua_createtable(l, 0, 0);
                ffi::lua_createtable(l, 0, 1);
                ffi::lua_pushvalue(l, ffi::LUA_GLOBALSINDEX);
                ffi::lua_setfield(l, -2, c"__index".as_ptr());
                lua_setreadonly(l, -1, 1);
                ffi::lua_setmetatable(l, -2);
                lua_setreadonly(l, -1, 1);
                ffi::lua_replace(l, ffi::LUA_GLOBALSINDEX);
            }
            ffi::lua_settop(l, top);
            Some(vm)
        }
    }

    /// Lua's heap in bytes, counted in whole kilobytes as Redis counts it (INFO's
    /// used_memory_vm_eval and used_memory_vm_functions). Redis compat: script_lua.c
    /// luaMemory.
    pub fn memory(&self) -> u64 {
        // Safety: valid state.
        let kb = unsafe { ffi::lua_gc(self.l, ffi::LUA_GCCOUNT, 0) };
        kb.max(0) as u64 * 1024
    }

    /// Points the functions engine's globals at the library API (while loading) or the
    /// normal globals.
    pub unsafe fn select_globals_raw(l: *mut lua_State, which: &CStr) {
        if ffi::lua_getmetatable(l, ffi::LUA_GLOBALSINDEX) == 0 {
            return;
        }
        lua_setreadonly(l, -1, 0);
        ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, which.as_ptr());
        ffi::lua_setfield(l, -2, c"__index".as_ptr());
        lua_setreadonly(l, -1, 1);
        ffi::lua_pop(l, 1);
    }
}
