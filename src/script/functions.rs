//! Function libraries: FUNCTION LOAD runs a library's code in the functions Lua state,
//! where `redis.register_function` records its functions (kept as registry references).
//! Libraries are kept by name, functions by name across all libraries.
//! Redis compat: functions.c, function_lua.c.
// Every unsafe fn here has one contract: `l` is a valid lua_State of this thread.
#![allow(clippy::missing_safety_doc)]
use std::collections::{BTreeMap, HashMap};
use std::ffi::c_int;

use mlua::ffi::{self, lua_State};

use super::vm::{self, to_bytes, Vm};
use super::FLAG_NAMES;

/// One registered function.
pub struct Registered {
    pub name: String,
    pub desc: Option<Vec<u8>>,
    pub flags: u64,
    /// Reference to the callback in the functions state's registry.
    pub fref: c_int,
}

pub struct Library {
    pub name: String,
    /// The whole FUNCTION LOAD payload (shebang included), as DUMP and FUNCTION LIST
    /// WITHCODE give it back.
    pub code: Vec<u8>,
    pub functions: BTreeMap<String, Registered>,
}

#[derive(Default)]
pub struct Functions {
    vm: Option<Vm>,
    pub libs: BTreeMap<String, Library>,
    /// Function name -> library name.
    /// Lowercase function name -> library name.
    pub index: HashMap<String, String>,
}

/// What the functions engine counts as with no library: its table and records.
const FUNCTIONS_BASE_MEMORY: usize = 200;

const NAME_ERR: &str =
    "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

fn valid_name(n: &[u8]) -> bool {
    !n.is_empty() && n.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Reads register_function's arguments (the Lua stack) into `sink`; the error text on
/// failure. Redis compat: function_lua.c luaRegisterFunctionReadArgs.
pub unsafe fn read_registration(l: *mut lua_State, sink: &mut Vec<Registered>) -> Option<String> {
    let argc = ffi::lua_gettop(l);
    if !(1..=2).contains(&argc) {
        return Some("wrong number of arguments to redis.register_function".into());
    }
    let mut name: Option<Vec<u8>> = None;
    let mut desc: Option<Vec<u8>> = None;
    let mut fref: Option<c_int> = None;
    let mut flags = 0u64;
    let fail = |l: *mut lua_State, fref: Option<c_int>, e: &str| -> Option<String> {
        if let Some(r) = fref {
            ffi::luaL_unref(l, ffi::LUA_REGISTRYINDEX, r);
        }
        Some(e.to_string())
    };
    if argc == 1 {
        if ffi::lua_istable(l, 1) == 0 {
            return Some("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).".into());
        }
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, 1) != 0 {
            if ffi::lua_isstring(l, -2) == 0 {
                return fail(
                    l,
                    fref,
                    "named argument key given to redis.register_function is not a string",
                );
            }
            let key = to_bytes(l, -2).unwrap_or_default().to_ascii_lowercase();
            match key.as_slice() {
                b"function_name" => {
                    if ffi::lua_isstring(l, -1) == 0 {
                        return fail(
                            l,
                            fref,
                            "function_name argument given to redis.register_function must be a string",
                        );
                    }
                    name = to_bytes(l, -1).map(|b| b.to_vec());
                }
                b"description" => {
                    if ffi::lua_isstring(l, -1) == 0 {
                        return fail(
                            l,
                            fref,
                            "description argument given to redis.register_function must be a string",
                        );
                    }
                    desc = to_bytes(l, -1).map(|b| b.to_vec());
                }
                b"callback" => {
                    if ffi::lua_isfunction(l, -1) == 0 {
                        return fail(
                            l,
                            fref,
                            "callback argument given to redis.register_function must be a function",
                        );
                    }
                    if let Some(r) = fref {
                        ffi::luaL_unref(l, ffi::LUA_REGISTRYINDEX, r);
                    }
                    fref = Some(ffi::luaL_ref(l, ffi::LUA_REGISTRYINDEX));
                    continue;
                }
                b"flags" => {
                    if ffi::lua_istable(l, -1) == 0 {
                        return fail(
                            l,
                            fref,
                            "flags argument to redis.register_function must be a table representing function flags",
                        );
                    }
                    let mut j = 1;
                    loop {
                        ffi::lua_rawgeti_(l, -1, j);
                        j += 1;
                        if ffi::lua_isnil(l, -1) != 0 {
                            ffi::lua_pop(l, 1);
                            break;
                        }
                        let known = if ffi::lua_isstring(l, -1) != 0 {
                            let f = to_bytes(l, -1).unwrap_or_default();
                            FLAG_NAMES
                                .iter()
                                .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(f))
                                .map(|(b, _)| *b)
                        } else {
                            None
                        };
                        ffi::lua_pop(l, 1);
                        match known {
                            Some(b) => flags |= b,
                            None => return fail(l, fref, "unknown flag given"),
                        }
                    }
                }
                _ => return fail(l, fref, "unknown argument given to redis.register_function"),
            }
            ffi::lua_pop(l, 1);
        }
        if name.is_none() {
            return fail(l, fref, "redis.register_function must get a function name argument");
        }
        if fref.is_none() {
            return Some("redis.register_function must get a callback argument".into());
        }
    } else {
        if ffi::lua_isstring(l, 1) == 0 {
            return Some("first argument to redis.register_function must be a string".into());
        }
        name = to_bytes(l, 1).map(|b| b.to_vec());
        if ffi::lua_isfunction(l, 2) == 0 {
            return Some("second argument to redis.register_function must be a function".into());
        }
        ffi::lua_settop(l, 2);
        fref = Some(ffi::luaL_ref(l, ffi::LUA_REGISTRYINDEX));
    }
    let (Some(name), Some(fref)) = (name, fref) else {
        return Some("redis.register_function must get a callback argument".into());
    };
    if !valid_name(&name) {
        return fail(l, Some(fref), NAME_ERR);
    }
    let name = String::from_utf8_lossy(&name).into_owned();
    if sink.iter().any(|r| r.name == name) {
        return fail(l, Some(fref), "Function already exists in the library");
    }
    sink.push(Registered {
        name,
        desc,
        flags,
        fref,
    });
    None
}

/// Redis compat: function_lua.c LOAD_TIMEOUT_MS: a library's top-level code may run
/// this long.
const LOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

thread_local! {
    static LOAD_START: std::cell::Cell<std::time::Instant> = std::cell::Cell::new(std::time::Instant::now());
}

/// Stops a library whose loading code runs too long. Redis compat: function_lua.c
/// luaEngineLoadHook.
unsafe extern "C-unwind" fn load_timeout_hook(l: *mut ffi::lua_State, _ar: *mut ffi::lua_Debug) {
    if LOAD_START.with(|t| t.get().elapsed()) > LOAD_TIMEOUT {
        // Every line raises from now on, so pcall inside the library cannot go on.
        unsafe {
            ffi::lua_sethook(l, Some(load_timeout_hook), ffi::LUA_MASKLINE, 0);
            vm::push_error(l, b"FUNCTION LOAD timeout");
            ffi::lua_error(l);
        }
    }
}

impl Functions {
    pub fn vm(&mut self) -> Option<&Vm> {
        if self.vm.is_none() {
            self.vm = Vm::new(true);
        }
        self.vm.as_ref()
    }

    /// Looks a function up by name, ignoring case like Redis (names keep their case
    /// for FUNCTION LIST). Redis compat: functions.c engineFunctionDictType.
    pub fn function(&self, name: &[u8]) -> Option<&Registered> {
        let name = std::str::from_utf8(name).ok()?;
        let lib = self.index.get(&name.to_ascii_lowercase())?;
        let lib = self.libs.get(lib)?;
        lib.functions.get(name).or_else(|| {
            lib.functions
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    /// The functions state's heap (0 before the first library).
    pub fn vm_memory(&self) -> u64 {
        self.vm.as_ref().map_or(0, Vm::memory)
    }

    /// The libraries, their functions and the tables that index them (INFO
    /// used_memory_functions, MEMORY STATS functions.caches): each library's name, code
    /// and record, each function's name, description, record and entries. Redis compat:
    /// functions.c functionsMemoryOverhead, close to its figures rather than equal.
    pub fn caches_memory(&self) -> u64 {
        use super::sds_size as sds;
        let mut total = FUNCTIONS_BASE_MEMORY + super::table_slots(self.index.len()) * 8;
        for lib in self.libs.values() {
            total += 24 + sds(lib.name.len()) + sds(lib.code.len());
            for f in lib.functions.values() {
                total += 80 + sds(f.name.len()) + f.desc.as_ref().map_or(0, |d| sds(d.len()));
            }
        }
        total as u64
    }

    pub fn function_count(&self) -> usize {
        self.index.len()
    }

    fn free_refs(&mut self, lib: &Library) {
        if let Some(vm) = self.vm.as_ref() {
            for f in lib.functions.values() {
                // Safety: valid state; the reference was taken in it.
                unsafe { ffi::luaL_unref(vm.l, ffi::LUA_REGISTRYINDEX, f.fref) };
            }
        }
    }

    fn unlink(&mut self, name: &str) -> Option<Library> {
        let lib = self.libs.remove(name)?;
        for f in lib.functions.keys() {
            self.index.remove(&f.to_ascii_lowercase());
        }
        Some(lib)
    }

    fn link(&mut self, lib: Library) {
        for f in lib.functions.keys() {
            self.index.insert(f.to_ascii_lowercase(), lib.name.clone());
        }
        self.libs.insert(lib.name.clone(), lib);
    }

    /// FUNCTION LOAD: the library's name, or the error text (without the ERR code).
    /// Redis compat: functions.c functionsCreateWithLibraryCtx.
    pub fn load(&mut self, code: &[u8], replace: bool) -> Result<String, String> {
        let (name, body) = lib_metadata(code)?;
        let old = self.libs.contains_key(&name);
        if old && !replace {
            return Err(format!("Library '{name}' already exists"));
        }
        let Some(l) = self.vm().map(|v| v.l) else {
            return Err("Lua state could not be created".into());
        };
        let mut registered: Vec<Registered> = Vec::new();
        // Safety: valid state; the library code runs protected (lua_pcall).
        let res = unsafe {
            let top = ffi::lua_gettop(l);
            let r = if ffi::luaL_loadbuffer(l, body.as_ptr() as *const _, body.len(), c"@user_function".as_ptr()) != 0 {
                let msg = to_bytes(l, -1).map(|b| String::from_utf8_lossy(b).into_owned());
                Err(format!("Error compiling function: {}", msg.unwrap_or_default()))
            } else {
                vm::Vm::select_globals_raw(l, vm::LIBRARY_API);
                LOAD_START.with(|t| t.set(std::time::Instant::now()));
                ffi::lua_sethook(l, Some(load_timeout_hook), ffi::LUA_MASKCOUNT, 100_000);
                let rc = super::api::with_loading(&mut registered, || ffi::lua_pcall(l, 0, 0, 0));
                ffi::lua_sethook(l, None, 0, 0);
                vm::Vm::select_globals_raw(l, vm::GLOBALS_API);
                if rc != 0 {
                    let msg = if ffi::lua_isstring(l, -1) != 0 {
                        format!("ERR {}", String::from_utf8_lossy(to_bytes(l, -1).unwrap_or_default()))
                    } else if ffi::lua_istable(l, -1) != 0 {
                        String::from_utf8_lossy(&super::api::error_info(l).0).into_owned()
                    } else {
                        String::new()
                    };
                    Err(format!("Error registering functions: {msg}"))
                } else {
                    Ok(())
                }
            };
            ffi::lua_settop(l, top);
            r
        };
        let unref = |regs: &[Registered]| {
            for r in regs {
                // Safety: valid state; references taken in it.
                unsafe { ffi::luaL_unref(l, ffi::LUA_REGISTRYINDEX, r.fref) };
            }
        };
        if let Err(e) = res {
            unref(&registered);
            return Err(e);
        }
        if registered.is_empty() {
            return Err("No functions registered".into());
        }
        if let Some(r) = registered.iter().find(|r| {
            self.index
                .get(&r.name.to_ascii_lowercase())
                .is_some_and(|lib| *lib != name)
        }) {
            let e = format!("Function {} already exists", r.name);
            unref(&registered);
            return Err(e);
        }
        if let Some(old) = self.unlink(&name) {
            self.free_refs(&old);
        }
        let lib = Library {
            name: name.clone(),
            code: code.to_vec(),
            functions: registered.into_iter().map(|r| (r.name.clone(), r)).collect(),
        };
        self.link(lib);
        Ok(name)
    }

    pub fn delete(&mut self, name: &str) -> bool {
        match self.unlink(name) {
            Some(lib) => {
                self.free_refs(&lib);
                true
            }
            None => false,
        }
    }

    pub fn flush(&mut self) {
        self.libs.clear();
        self.index.clear();
        self.vm = None;
    }

    /// Library codes, for DUMP, RDB and AOF rewrite.
    pub fn codes(&self) -> Vec<Vec<u8>> {
        self.libs.values().map(|l| l.code.clone()).collect()
    }
}

/// The library name and code after the `#!lua name=<name>` line. Redis compat:
/// functions.c functionExtractLibMetaData (plus the engine and name checks).
fn lib_metadata(payload: &[u8]) -> Result<(String, &[u8]), String> {
    if !payload.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(end) = payload.iter().position(|&c| c == b'\n') else {
        return Err("Invalid library metadata".into());
    };
    let parts = crate::resp::parse::split_args(payload.get(..end).unwrap_or_default()).unwrap_or_default();
    let Some(first) = parts.first() else {
        return Err("Invalid library metadata".into());
    };
    let engine = first.get(2..).unwrap_or_default();
    let mut name: Option<Vec<u8>> = None;
    for p in parts.iter().skip(1) {
        if p.len() >= 5 && p.get(..5).is_some_and(|h| h.eq_ignore_ascii_case(b"name=")) {
            if name.is_some() {
                return Err("Invalid metadata value, name argument was given multiple times".into());
            }
            name = p.get(5..).map(|n| n.to_vec());
            continue;
        }
        return Err(format!("Invalid metadata value given: {}", String::from_utf8_lossy(p)));
    }
    let Some(name) = name else {
        return Err("Library name was not given".into());
    };
    if !valid_name(&name) {
        return Err(NAME_ERR.into());
    }
    if !engine.eq_ignore_ascii_case(b"lua") {
        return Err(format!("Engine '{}' not found", String::from_utf8_lossy(engine)));
    }
    Ok((
        String::from_utf8_lossy(&name).into_owned(),
        payload.get(end..).unwrap_or_default(),
    ))
}
