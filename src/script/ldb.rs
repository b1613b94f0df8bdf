//! The Lua debugger (SCRIPT DEBUG YES|SYNC): an EVAL runs one line at a time while
//! the client, talking straight to its socket, steps, sets breakpoints, prints
//! variables, evaluates code and runs commands. Logs go back as arrays of status
//! lines. Redis compat: eval.c ldb*.
use std::cell::RefCell;
use std::ffi::{c_int, CStr};

use mlua::ffi::{self, lua_Debug, lua_State};

use super::vm;

const MAX_LEN_DEFAULT: usize = 256;
const BREAKPOINTS_MAX: usize = 64;
/// How deep nested tables are shown. Redis compat: eval.c LDB_MAX_VALUES_DEPTH.
const MAX_DEPTH: u32 = 10;

#[derive(Default)]
struct Ldb {
    active: bool,
    step: bool,
    luabp: bool,
    bp: Vec<i32>,
    currentline: i32,
    src: Vec<Vec<u8>>,
    cbuf: Vec<u8>,
    maxlen: usize,
    maxlen_hint_sent: bool,
    logs: Vec<Vec<u8>>,
    fd: i32,
    start_ms: i64,
}

thread_local! {
    static LDB: RefCell<Ldb> = RefCell::new(Ldb::default());
}

fn with<R>(f: impl FnOnce(&mut Ldb) -> R) -> R {
    LDB.with(|l| f(&mut l.borrow_mut()))
}

/// A session is running.
pub fn active() -> bool {
    with(|l| l.active)
}

/// A session is running and stepping: commands and replies are logged.
pub fn enabled() -> bool {
    with(|l| l.active && l.step)
}

fn log(entry: Vec<u8>) {
    with(|l| l.logs.push(entry));
}

/// Logs `entry` cut at `maxlen` bytes (with a hint the first time).
fn log_max(mut entry: Vec<u8>) {
    let hint = with(|l| {
        if l.maxlen == 0 || entry.len() <= l.maxlen {
            return false;
        }
        entry.truncate(l.maxlen);
        entry.extend_from_slice(b" ...");
        !std::mem::replace(&mut l.maxlen_hint_sent, true)
    });
    log(entry);
    if hint {
        log(b"<hint> The above reply was trimmed. Use 'maxlen 0' to disable trimming.".to_vec());
    }
}

/// Sends the pending log lines as an array of status replies.
fn send_logs() {
    let (fd, logs) = with(|l| (l.fd, std::mem::take(&mut l.logs)));
    let mut out = format!("*{}\r\n", logs.len()).into_bytes();
    for mut e in logs {
        for c in e.iter_mut() {
            if *c == b'\r' || *c == b'\n' {
                *c = b' ';
            }
        }
        out.push(b'+');
        out.extend_from_slice(&e);
        out.extend_from_slice(b"\r\n");
    }
    write_all(fd, &out);
}

/// Writes to the (non-blocking) socket, waiting up to 5 s each time it is full.
pub fn write_all(fd: i32, mut buf: &[u8]) {
    while !buf.is_empty() {
        // Safety: `buf` is a live slice; a bad fd only makes write fail.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n > 0 {
            buf = &buf[n as usize..];
        } else if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::WouldBlock {
            if !wait(fd, libc::POLLOUT, 5000) {
                return;
            }
        } else {
            return;
        }
    }
}

fn wait(fd: i32, events: i16, timeout_ms: i32) -> bool {
    let mut p = libc::pollfd { fd, events, revents: 0 };
    // Safety: one valid pollfd.
    unsafe { libc::poll(&mut p, 1, timeout_ms) > 0 }
}

/// Starts a session on the client socket `fd` for the script `src`.
pub fn start(fd: i32, src: &[u8], now_ms: i64) {
    let mut body = src;
    while let Some((&c, rest)) = body.split_last() {
        if c == b'\n' || c == b'\r' {
            body = rest;
        } else {
            break;
        }
    }
    with(|l| {
        *l = Ldb {
            active: true,
            step: true,
            src: body.split(|&c| c == b'\n').map(|s| s.to_vec()).collect(),
            maxlen: MAX_LEN_DEFAULT,
            fd,
            start_ms: now_ms,
            ..Ldb::default()
        };
    });
}

/// Ends the session: the remaining logs and an `<endsession>` mark are sent (the
/// EVAL reply follows, then the connection closes).
pub fn end() {
    log(b"<endsession>".to_vec());
    send_logs();
    with(|l| *l = Ldb::default());
}

fn source_line(l: &Ldb, n: i32) -> Vec<u8> {
    usize::try_from(n - 1)
        .ok()
        .and_then(|i| l.src.get(i))
        .cloned()
        .unwrap_or_else(|| b"<out of range source code line>".to_vec())
}

fn log_source_line(n: i32) {
    let line = with(|l| {
        let bp = l.bp.contains(&n);
        let prefix = match (l.currentline == n, bp) {
            (true, true) => "->#",
            (true, false) => "-> ",
            (false, true) => "  #",
            (false, false) => "   ",
        };
        let mut v = format!("{prefix}{n:<3} ").into_bytes();
        v.extend_from_slice(&source_line(l, n));
        v
    });
    log(line);
}

fn list(around: i32, context: i32) {
    let lines = with(|l| l.src.len() as i32);
    for j in 1..=lines {
        if around != 0 && (around - j).abs() > context {
            continue;
        }
        log_source_line(j);
    }
}

/// `%g` as C prints it (6 significant digits), and C's inf/nan words.
fn fmt_g(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let mut out = Vec::new();
    crate::util::num::fmt_g(v, 6, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// A readable form of the Lua value at `idx`. Redis compat: eval.c ldbCatStackValueRec.
unsafe fn cat_value(out: &mut Vec<u8>, l: *mut lua_State, idx: c_int, level: u32) {
    let idx = if idx < 0 { ffi::lua_gettop(l) + idx + 1 } else { idx };
    if level == MAX_DEPTH {
        out.extend_from_slice(b"<max recursion level reached! Nested table?>");
        return;
    }
    match ffi::lua_type(l, idx) {
        ffi::LUA_TSTRING => crate::util::repr::cat_repr(out, vm::to_bytes(l, idx).unwrap_or_default()),
        ffi::LUA_TBOOLEAN => out.extend_from_slice(if ffi::lua_toboolean(l, idx) != 0 {
            b"true"
        } else {
            b"false"
        }),
        ffi::LUA_TNUMBER => out.extend_from_slice(fmt_g(ffi::lua_tonumber(l, idx)).as_bytes()),
        ffi::LUA_TNIL => out.extend_from_slice(b"nil"),
        ffi::LUA_TTABLE => {
            if ffi::lua_checkstack(l, 4) == 0 {
                return;
            }
            let (mut arr, mut full) = (Vec::new(), Vec::new());
            let mut is_array = true;
            let mut expected = 1.0;
            ffi::lua_pushnil(l);
            while ffi::lua_next(l, idx) != 0 {
                if is_array && (ffi::lua_type(l, -2) != ffi::LUA_TNUMBER || ffi::lua_tonumber(l, -2) != expected) {
                    is_array = false;
                }
                cat_value(&mut arr, l, -1, level + 1);
                arr.extend_from_slice(b"; ");
                full.push(b'[');
                cat_value(&mut full, l, -2, level + 1);
                full.extend_from_slice(b"]=");
                cat_value(&mut full, l, -1, level + 1);
                full.extend_from_slice(b"; ");
                ffi::lua_settop(l, -2);
                expected += 1.0;
            }
            let mut body = if is_array { arr } else { full };
            body.truncate(body.len().saturating_sub(2));
            out.push(b'{');
            out.extend_from_slice(&body);
            out.push(b'}');
        }
        t => {
            let name = match t {
                ffi::LUA_TFUNCTION => "function",
                ffi::LUA_TUSERDATA => "userdata",
                ffi::LUA_TTHREAD => "thread",
                ffi::LUA_TLIGHTUSERDATA => "light-userdata",
                _ => "unknown",
            };
            out.extend_from_slice(format!("\"{name}@{:p}\"", ffi::lua_topointer(l, idx)).as_bytes());
        }
    }
}

unsafe fn log_value(l: *mut lua_State, prefix: &[u8]) {
    let mut s = prefix.to_vec();
    cat_value(&mut s, l, -1, 0);
    log_max(s);
}

/// A RESP reply in readable form. Redis compat: eval.c ldbRedisProtocolToHuman.
fn human(out: &mut Vec<u8>, r: &[u8], pos: &mut usize) -> bool {
    let Some(rest) = r.get(*pos..) else { return false };
    let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
        return false;
    };
    let kind = rest[0];
    let body = &rest[1..end];
    *pos += end + 2;
    let n = crate::util::num::parse_i64(body).unwrap_or(0);
    match kind {
        b':' => out.extend_from_slice(body),
        b'+' | b'-' => crate::util::repr::cat_repr(out, &rest[..end]),
        b'$' if n < 0 => out.extend_from_slice(b"NULL"),
        b'$' => {
            let data = r.get(*pos..*pos + n as usize).unwrap_or_default();
            crate::util::repr::cat_repr(out, data);
            *pos += n as usize + 2;
        }
        b'*' if n < 0 => out.extend_from_slice(b"NULL"),
        b'*' | b'~' | b'%' => {
            let (open, close) = match kind {
                b'*' => (&b"["[..], b']'),
                b'~' => (&b"~("[..], b')'),
                _ => (&b"{"[..], b'}'),
            };
            out.extend_from_slice(open);
            for j in 0..n.max(0) {
                if !human(out, r, pos) {
                    return false;
                }
                if kind == b'%' {
                    out.extend_from_slice(b" => ");
                    if !human(out, r, pos) {
                        return false;
                    }
                }
                if j != n - 1 {
                    out.push(b',');
                }
            }
            out.push(close);
        }
        b'_' => out.extend_from_slice(b"(null)"),
        b'#' => out.extend_from_slice(if body == b"t" { b"#true" } else { b"#false" }),
        b',' => {
            out.extend_from_slice(b"(double) ");
            out.extend_from_slice(body);
        }
        _ => return false,
    }
    true
}

/// Logs a command a script runs while stepping.
pub fn log_command(argv: &[Vec<u8>]) {
    let mut s = b"<redis>".to_vec();
    for (j, a) in argv.iter().enumerate() {
        if j == 10 {
            s.extend_from_slice(format!(" ... ({} more)", argv.len() - j - 1).as_bytes());
            break;
        }
        s.push(b' ');
        s.extend_from_slice(a);
    }
    log(s);
}

/// Logs the reply of that command.
pub fn log_reply(reply: &[u8]) {
    let mut s = b"<reply> ".to_vec();
    human(&mut s, reply, &mut 0);
    log_max(s);
}

/// Logs an error a command gave the script.
pub fn log_error(text: &[u8]) {
    let mut s = b"<error> ".to_vec();
    s.extend_from_slice(text);
    log(s);
}

/// redis.breakpoint(): stop at the next line when a session runs.
pub fn breakpoint() -> bool {
    with(|l| {
        if l.active {
            l.luabp = true;
        }
        l.active
    })
}

/// redis.debug(...): logs its arguments.
///
/// # Safety
/// `l` is the running script's state, inside a C function call.
pub unsafe fn debug(l: *mut lua_State) {
    if !active() {
        return;
    }
    let argc = ffi::lua_gettop(l);
    let mut s = format!("<debug> line {}: ", with(|d| d.currentline)).into_bytes();
    for i in 1..=argc {
        cat_value(&mut s, l, i, 0);
        if i != argc {
            s.extend_from_slice(b", ");
        }
    }
    log(s);
}

/// Parses one command from the input buffer; Ok(None): more input is needed.
fn parse_command(buf: &[u8]) -> Result<Option<Vec<Vec<u8>>>, ()> {
    if buf.is_empty() {
        return Ok(None);
    }
    let Some(star) = buf.iter().position(|&c| c == b'*') else {
        return Err(());
    };
    let mut p = star + 1;
    let line = |p: &mut usize| -> Option<&[u8]> {
        let rest = buf.get(*p..)?;
        let end = rest.windows(2).position(|w| w == b"\r\n")?;
        *p += end + 2;
        Some(&rest[..end])
    };
    let Some(n) = line(&mut p) else { return Ok(None) };
    let argc = atoi(n);
    if !(1..=1024).contains(&argc) {
        return Err(());
    }
    let mut argv = Vec::new();
    while argv.len() < argc as usize {
        match buf.get(p) {
            None => return Ok(None),
            Some(b'$') => {}
            Some(_) => return Err(()),
        }
        p += 1;
        let Some(n) = line(&mut p) else { return Ok(None) };
        let len = atoi(n);
        if !(1..=1024).contains(&len) {
            return Err(());
        }
        let len = len as usize;
        if p + len + 2 > buf.len() {
            return Ok(None);
        }
        argv.push(buf[p..p + len].to_vec());
        p += len;
        if buf.get(p..p + 2) != Some(b"\r\n") {
            return Err(());
        }
        p += 2;
    }
    Ok(Some(argv))
}

/// C's atoi: leading digits, 0 when none.
fn atoi(s: &[u8]) -> i64 {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for &c in digits.iter().take_while(|c| c.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add((c - b'0') as i64);
    }
    if neg {
        -v
    } else {
        v
    }
}

const HELP: &[&str] = &[
    "Redis Lua debugger help:",
    "[h]elp               Show this help.",
    "[s]tep               Run current line and stop again.",
    "[n]ext               Alias for step.",
    "[c]ontinue           Run till next breakpoint.",
    "[l]ist               List source code around current line.",
    "[l]ist [line]        List source code around [line].",
    "                     line = 0 means: current position.",
    "[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
    "                     to show before/after [line].",
    "[w]hole              List all source code. Alias for 'list 1 1000000'.",
    "[p]rint              Show all the local variables.",
    "[p]rint <var>        Show the value of the specified variable.",
    "                     Can also show global vars KEYS and ARGV.",
    "[b]reak              Show all breakpoints.",
    "[b]reak <line>       Add a breakpoint to the specified line.",
    "[b]reak -<line>      Remove breakpoint from the specified line.",
    "[b]reak 0            Remove all breakpoints.",
    "[t]race              Show a backtrace.",
    "[e]val <code>        Execute some Lua code (in a different callframe).",
    "[r]edis <cmd>        Execute a Redis command.",
    "[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
    "                     Specifying zero as <len> means unlimited.",
    "[a]bort              Stop the execution of the script. In sync",
    "                     mode dataset changes will be retained.",
    "",
    "Debugger functions you can call from Lua scripts:",
    "redis.debug()        Produce logs in the debugger console.",
    "redis.breakpoint()   Stop execution like if there was a breakpoint in the",
    "                     next line of code.",
];

unsafe fn raise(l: *mut lua_State, msg: &[u8]) -> ! {
    vm::push_error(l, msg);
    ffi::lua_error(l)
}

/// Reads and runs debugger commands until one resumes the script. Err: the
/// client went away.
unsafe fn repl(l: *mut lua_State) -> Result<(), ()> {
    loop {
        let argv = loop {
            let parsed = with(|d| parse_command(&d.cbuf));
            match parsed {
                Ok(Some(argv)) => break argv,
                Err(()) => raise(l, b"protocol error"),
                Ok(None) => {}
            }
            let fd = with(|d| d.fd);
            let mut buf = [0u8; 1024];
            let n = if wait(fd, libc::POLLIN, -1) {
                libc::read(fd, buf.as_mut_ptr().cast(), buf.len())
            } else {
                -1
            };
            if n <= 0 {
                with(|d| {
                    d.step = false;
                    d.bp.clear();
                });
                return Err(());
            }
            let too_big = with(|d| {
                d.cbuf.extend_from_slice(&buf[..n as usize]);
                d.cbuf.len() > 1 << 20
            });
            if too_big {
                with(|d| d.cbuf.clear());
                raise(l, b"max client buffer reached");
            }
        };
        with(|d| d.cbuf.clear());
        let cmd = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
        let argc = argv.len();
        match cmd.as_str() {
            "h" | "help" => HELP.iter().for_each(|h| log(h.as_bytes().to_vec())),
            "s" | "step" | "n" | "next" => {
                with(|d| d.step = true);
                return Ok(());
            }
            "c" | "continue" => return Ok(()),
            "t" | "trace" => trace(l),
            "m" | "maxlen" => {
                if argc == 2 {
                    let mut v = atoi(&argv[1]).max(0) as usize;
                    if v != 0 && v <= 60 {
                        v = 60;
                    }
                    with(|d| {
                        d.maxlen = v;
                        d.maxlen_hint_sent = true;
                    });
                }
                let v = with(|d| d.maxlen);
                log(if v > 0 {
                    format!("<value> replies are truncated at {v} bytes.").into_bytes()
                } else {
                    b"<value> replies are unlimited.".to_vec()
                });
            }
            "b" | "break" => breakpoints(&argv),
            "e" | "eval" => eval(l, &argv),
            "a" | "abort" => raise(l, b"script aborted for user request"),
            "r" | "redis" if argc > 1 => redis(l, &argv),
            "p" | "print" => {
                if argc == 2 {
                    print(l, &argv[1]);
                } else {
                    print_all(l);
                }
            }
            "l" | "list" => {
                let mut around = with(|d| d.currentline);
                let mut ctx = 5;
                if argc > 1 {
                    let n = atoi(&argv[1]) as i32;
                    if n > 0 {
                        around = n;
                    }
                }
                if argc > 2 {
                    ctx = atoi(&argv[2]) as i32;
                }
                list(around, ctx);
            }
            "w" | "whole" => list(1, 1_000_000),
            _ => log(b"<error> Unknown Redis Lua debugger command or wrong number of arguments.".to_vec()),
        }
        send_logs();
    }
}

fn breakpoints(argv: &[Vec<u8>]) {
    if argv.len() == 1 {
        let bps = with(|d| d.bp.clone());
        if bps.is_empty() {
            log(b"No breakpoints set. Use 'b <line>' to add one.".to_vec());
        } else {
            log(format!("{} breakpoints set:", bps.len()).into_bytes());
            bps.iter().for_each(|&b| log_source_line(b));
        }
        return;
    }
    for arg in &argv[1..] {
        let Some(line) = crate::util::num::parse_i64(arg) else {
            log(format!("Invalid argument:'{}'", String::from_utf8_lossy(arg)).into_bytes());
            continue;
        };
        let line = line as i32;
        if line == 0 {
            with(|d| d.bp.clear());
            log(b"All breakpoints removed.".to_vec());
        } else if line > 0 {
            let added = with(|d| {
                if d.bp.len() >= BREAKPOINTS_MAX {
                    return Err(());
                }
                let ok = line as usize <= d.src.len();
                if ok && !d.bp.contains(&line) {
                    d.bp.push(line);
                }
                Ok(ok)
            });
            match added {
                Err(()) => log(b"Too many breakpoints set.".to_vec()),
                Ok(true) => list(line, 1),
                Ok(false) => log(b"Wrong line number.".to_vec()),
            }
        } else {
            let removed = with(|d| {
                let before = d.bp.len();
                d.bp.retain(|&b| b != -line);
                d.bp.len() != before
            });
            log(if removed {
                b"Breakpoint removed.".to_vec()
            } else {
                b"No breakpoint in the specified line.".to_vec()
            });
        }
    }
}

unsafe fn eval(l: *mut lua_State, argv: &[Vec<u8>]) {
    let code = argv[1..].join(&b' ');
    let mut expr = b"return ".to_vec();
    expr.extend_from_slice(&code);
    let name = c"@ldb_eval";
    if ffi::luaL_loadbuffer(l, expr.as_ptr().cast(), expr.len(), name.as_ptr()) != 0 {
        ffi::lua_settop(l, -2);
        if ffi::luaL_loadbuffer(l, code.as_ptr().cast(), code.len(), name.as_ptr()) != 0 {
            log_error(vm::to_bytes(l, -1).unwrap_or_default());
            ffi::lua_settop(l, -2);
            return;
        }
    }
    if ffi::lua_pcall(l, 0, 1, 0) != 0 {
        log_error(vm::to_bytes(l, -1).unwrap_or_default());
        ffi::lua_settop(l, -2);
        return;
    }
    log_value(l, b"<retval> ");
    ffi::lua_settop(l, -2);
}

/// Runs a command through redis.call while stepping, so that it and its reply are
/// logged.
unsafe fn redis(l: *mut lua_State, argv: &[Vec<u8>]) {
    if ffi::lua_checkstack(l, argv.len() as c_int + 1) == 0 {
        log_reply(b"+max lua stack reached\r\n");
        return;
    }
    ffi::lua_getfield(l, ffi::LUA_GLOBALSINDEX, c"redis".as_ptr());
    ffi::lua_getfield(l, -1, c"call".as_ptr());
    for a in &argv[1..] {
        vm::push_bytes(l, a);
    }
    with(|d| d.step = true);
    ffi::lua_pcall(l, argv.len() as c_int - 1, 1, 0);
    with(|d| d.step = false);
    ffi::lua_settop(l, -3);
}

/// Pushes each local variable of the frame `ar` in turn and calls `f` with its name
/// while it is on top of the stack (popped after); stops early when `f` says so.
unsafe fn for_each_local(l: *mut lua_State, ar: &lua_Debug, mut f: impl FnMut(&[u8]) -> bool) -> bool {
    let mut i = 1;
    loop {
        let n = ffi::lua_getlocal(l, ar, i);
        if n.is_null() {
            return false;
        }
        i += 1;
        let stop = f(CStr::from_ptr(n).to_bytes());
        ffi::lua_settop(l, -2);
        if stop {
            return true;
        }
    }
}

unsafe fn print(l: *mut lua_State, name: &[u8]) {
    let mut ar: lua_Debug = std::mem::zeroed();
    let mut level = 0;
    while ffi::lua_getstack(l, level, &mut ar) != 0 {
        level += 1;
        let found = for_each_local(l, &ar, |n| {
            let hit = n == name;
            if hit {
                log_value(l, b"<value> ");
            }
            hit
        });
        if found {
            return;
        }
    }
    if name == b"ARGV" || name == b"KEYS" {
        let cname = if name == b"ARGV" { c"ARGV" } else { c"KEYS" };
        ffi::lua_getfield(l, ffi::LUA_GLOBALSINDEX, cname.as_ptr());
        log_value(l, b"<value> ");
        ffi::lua_settop(l, -2);
    } else {
        log(b"No such variable.".to_vec());
    }
}

unsafe fn print_all(l: *mut lua_State) {
    let mut ar: lua_Debug = std::mem::zeroed();
    let mut vars = 0;
    if ffi::lua_getstack(l, 0, &mut ar) != 0 {
        for_each_local(l, &ar, |name| {
            if !name.windows(12).any(|w| w == b"(*temporary)") {
                let mut prefix = b"<value> ".to_vec();
                prefix.extend_from_slice(name);
                prefix.extend_from_slice(b" = ");
                log_value(l, &prefix);
                vars += 1;
            }
            false
        });
    }
    if vars == 0 {
        log(b"No local variables in the current context.".to_vec());
    }
}

unsafe fn in_user_script(ar: &lua_Debug) -> bool {
    let src = CStr::from_ptr(ar.short_src.as_ptr()).to_bytes();
    src.windows(11).any(|w| w == b"user_script")
}

unsafe fn trace(l: *mut lua_State) {
    let mut ar: lua_Debug = std::mem::zeroed();
    let mut level = 0;
    while ffi::lua_getstack(l, level, &mut ar) != 0 {
        ffi::lua_getinfo(l, c"Snl".as_ptr(), &mut ar);
        if in_user_script(&ar) {
            let name = if ar.name.is_null() {
                "top level".to_string()
            } else {
                CStr::from_ptr(ar.name).to_string_lossy().into_owned()
            };
            log(format!("{} {name}:", if level == 0 { "In" } else { "From" }).into_bytes());
            log_source_line(ar.currentline);
        }
        level += 1;
    }
    if level == 0 {
        log(b"<error> Can't retrieve Lua stack.".to_vec());
    }
}

/// The line hook of a debugged script: stops on steps, breakpoints and when the
/// script has run past the busy threshold. Redis compat: eval.c luaLdbLineHook.
///
/// # Safety
/// Installed with lua_sethook on the running script's state; Lua calls it.
pub unsafe extern "C-unwind" fn line_hook(l: *mut lua_State, ar: *mut lua_Debug) {
    let Some(ar) = ar.as_mut() else { return };
    ffi::lua_getstack(l, 0, ar);
    ffi::lua_getinfo(l, c"Sl".as_ptr(), ar);
    let line = ar.currentline;
    let (bp, luabp, step) = with(|d| {
        d.currentline = line;
        (d.bp.contains(&line) || d.luabp, d.luabp, d.step)
    });
    if !in_user_script(ar) {
        return;
    }
    let mut timeout = false;
    if ar.event == ffi::LUA_HOOKCOUNT && !step && !bp {
        let limit = super::api::run_ctx_ref()
            .map(|rc| {
                // Safety: the run context's server outlives the script run.
                let srv = &*rc.srv;
                srv.cfg
                    .get("busy-reply-threshold")
                    .and_then(|v| v.parse::<i64>().ok())
                    .filter(|&v| v > 0)
                    .unwrap_or(5000)
            })
            .unwrap_or(5000);
        let elapsed = crate::clock::now_ms() - with(|d| d.start_ms);
        if elapsed < limit {
            return;
        }
        timeout = true;
        with(|d| d.step = true);
    }
    if step || bp || timeout {
        let reason = if bp {
            if luabp {
                "redis.breakpoint() called"
            } else {
                "break point"
            }
        } else if timeout {
            "timeout reached, infinite loop?"
        } else {
            "step over"
        };
        with(|d| {
            d.step = false;
            d.luabp = false;
        });
        log(format!("* Stopped at {line}, stop reason = {reason}").into_bytes());
        log_source_line(line);
        send_logs();
        if repl(l).is_err() && timeout {
            raise(l, b"timeout during Lua debugging with client closing connection");
        }
        with(|d| d.start_ms = crate::clock::now_ms());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers_like_printf_g() {
        assert_eq!(fmt_g(1.0), "1");
        assert_eq!(fmt_g(0.5), "0.5");
        assert_eq!(fmt_g(123456.0), "123456");
        assert_eq!(fmt_g(1234567.0), "1.23457e+06");
        assert_eq!(fmt_g(0.0001), "0.0001");
        assert_eq!(fmt_g(0.00001), "1e-05");
        assert_eq!(fmt_g(-2.5), "-2.5");
    }

    #[test]
    fn replies_read_as_humans_do() {
        let mut out = Vec::new();
        human(&mut out, b"*3\r\n:1\r\n$2\r\nab\r\n$-1\r\n", &mut 0);
        assert_eq!(out, b"[1,\"ab\",NULL]".to_vec());
        let mut out = Vec::new();
        human(&mut out, b"%1\r\n+k\r\n#t\r\n", &mut 0);
        assert_eq!(out, b"{\"+k\" => #true}".to_vec());
    }

    #[test]
    fn commands_parse_from_the_socket_bytes() {
        assert_eq!(parse_command(b"*1\r\n$4\r\nstep\r\n"), Ok(Some(vec![b"step".to_vec()])));
        assert_eq!(parse_command(b"*2\r\n$4\r\nstep\r\n"), Ok(None));
        assert_eq!(parse_command(b"*1\r\n$0\r\n\r\n"), Err(()));
        assert_eq!(parse_command(b"junk"), Err(()));
    }
}
