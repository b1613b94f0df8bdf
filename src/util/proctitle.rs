//! The process title (what `ps` and /proc/PID/cmdline show), set like Redis's
//! setproctitle: the title is written over the memory holding the original
//! arguments, and over the environment strings behind them once those are copied
//! elsewhere. Linux only; elsewhere, and whenever the memory is not laid out as
//! expected, titles are silently not set.
use std::sync::Mutex;

/// Where titles go: the argument strings (and, when contiguous, the environment
/// strings), as [start, start + len); `arg_len` is the length of the arguments alone.
struct Area {
    start: usize,
    len: usize,
    arg_len: usize,
}

static AREA: Mutex<Option<Area>> = Mutex::new(None);
static ARGV0: Mutex<String> = Mutex::new(String::new());

/// Expands a `proc-title-template`: `{name}` is replaced by `var(name)`, `{{` is a
/// literal `{`; None for an unknown variable or an unterminated one. The result is
/// trimmed of spaces (so an empty `{server-mode}` leaves no trailing blank).
/// Redis compat: sds.c sdstemplate, server.c expandProcTitleTemplate.
pub fn expand(template: &str, var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        if after.is_empty() {
            return None;
        }
        if let Some(r) = after.strip_prefix('{') {
            out.push('{');
            rest = r;
            continue;
        }
        let close = after.find('}')?;
        out.push_str(&var(&after[..close])?);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Some(out.trim_matches(' ').to_string())
}

/// The program name as started (`{title}` of the template).
pub fn argv0() -> String {
    ARGV0.lock().map(|a| a.clone()).unwrap_or_default()
}

/// Finds the argument memory and moves the environment out of the way. Call once,
/// early in main, after the arguments have been read (std's `env::args` reads the
/// strings this later overwrites) and before other threads use the environment.
pub fn init() {
    if let Ok(mut a) = ARGV0.lock() {
        *a = std::env::args().next().unwrap_or_default();
    }
    #[cfg(target_os = "linux")]
    if let Some(area) = linux::locate() {
        if let Ok(mut slot) = AREA.lock() {
            *slot = Some(area);
        }
    }
}

/// Shows `title` as the process's command line (cut to the room available).
pub fn set(title: &str) {
    let Ok(slot) = AREA.lock() else {
        return;
    };
    let Some(a) = slot.as_ref() else {
        return;
    };
    let n = title.len().min(a.len.saturating_sub(1));
    // Safety: [start, start + len) is the process's own argument (and copied-away
    // environment) memory, checked byte for byte by `locate` and used by nothing else
    // since; the lock serializes writers.
    unsafe {
        let p = a.start as *mut u8;
        std::ptr::copy_nonoverlapping(title.as_ptr(), p, n);
        std::ptr::write_bytes(p.add(n), 0, a.len - n);
        // The kernel shows all of the original argument span unless its last byte is
        // not a NUL; then it shows the title up to its NUL. So mark that byte when the
        // title ends before it, as Redis's setproctitle does.
        if n + 1 < a.arg_len {
            *p.add(a.arg_len - 1) = b'.';
        }
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::Area;
    use std::ffi::{c_char, CStr};

    extern "C" {
        static mut environ: *mut *mut c_char;
    }

    /// /proc/self/stat fields 48-51: arg_start, arg_end, env_start, env_end.
    fn spans() -> Option<[usize; 4]> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The command name (field 2) may hold spaces: count from after its ')'.
        let fields: Vec<&str> = stat.get(stat.rfind(')')? + 1..)?.split_whitespace().collect();
        let f = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<usize>().ok());
        Some([f(48)?, f(49)?, f(50)?, f(51)?])
    }

    pub(super) fn locate() -> Option<Area> {
        let [arg_start, arg_end, env_start, env_end] = spans()?;
        if arg_start == 0 || arg_end <= arg_start || env_end < env_start {
            return None;
        }
        // The arguments must be exactly where the kernel says, NUL-terminated strings.
        let mut expect = Vec::new();
        for a in std::env::args_os() {
            expect.extend_from_slice(std::os::unix::ffi::OsStrExt::as_bytes(a.as_os_str()));
            expect.push(0);
        }
        let arg_len = arg_end - arg_start;
        // Safety: the kernel reports this span as our arguments' memory (mapped, ours).
        let args = unsafe { std::slice::from_raw_parts(arg_start as *const u8, arg_len) };
        if args != expect.as_slice() {
            return None;
        }
        let mut len = arg_len;
        if env_start == arg_end && env_end > env_start && take_environment(env_start, env_end) {
            len = env_end - arg_start;
        }
        Some(Area {
            start: arg_start,
            len,
            arg_len,
        })
    }

    /// Copies the environment strings lying in [start, end) to the heap and points
    /// `environ` at the copies. False (nothing changed) unless every byte of the span
    /// belongs to an environment string.
    fn take_environment(start: usize, end: usize) -> bool {
        // Safety: `environ` is libc's NULL-terminated array of C strings; nothing else
        // changes it while main starts.
        unsafe {
            let env = environ;
            if env.is_null() {
                return false;
            }
            let mut entries = Vec::new();
            let mut covered = 0;
            let mut i = 0;
            while !(*env.add(i)).is_null() {
                let s = *env.add(i);
                let bytes = CStr::from_ptr(s).to_bytes_with_nul();
                let at = s as usize;
                if at >= start && at < end {
                    covered += bytes.len();
                }
                entries.push(bytes.to_vec());
                i += 1;
            }
            if covered != end - start {
                return false;
            }
            // Leaked on purpose: the environment lives as long as the process.
            let mut copies: Vec<*mut c_char> = entries
                .into_iter()
                .map(|e| Box::leak(e.into_boxed_slice()).as_mut_ptr() as *mut c_char)
                .collect();
            copies.push(std::ptr::null_mut());
            environ = Box::leak(copies.into_boxed_slice()).as_mut_ptr();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::expand;

    fn var(name: &str) -> Option<String> {
        match name {
            "title" => Some("/usr/bin/ferrodis".into()),
            "listen-addr" => Some("*:6379".into()),
            "server-mode" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_like_redis() {
        assert_eq!(
            expand("{title} {listen-addr} {server-mode}", var).as_deref(),
            Some("/usr/bin/ferrodis *:6379")
        );
        assert_eq!(expand("  x {{y} z ", var).as_deref(), Some("x {y} z"));
        assert_eq!(expand("plain", var).as_deref(), Some("plain"));
        assert_eq!(expand("{invalid-var}", var), None);
        assert_eq!(expand("{title", var), None);
        assert_eq!(expand("end {", var), None);
    }
}
