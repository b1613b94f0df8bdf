//! File helpers shared by the persistence code: directory syncs, ranged write-back and
//! unlinking without paying for the blocks on the calling thread.
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Makes a rename or creation in `dir` survive a crash.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The directory holding `file` ("." for a bare name).
pub fn parent_dir(file: &Path) -> &Path {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Starts writing back `len` bytes from `offset` and waits for an earlier write-back
/// of them, so that a final fsync has little left to do. Redis compat: config.h
/// rdb_fsync_range.
pub fn sync_range(f: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // Safety: sync_file_range(2) only reads its plain integer arguments; a bad fd or
    // range is reported through the return value, which is advisory here.
    unsafe {
        libc::sync_file_range(
            f.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WAIT_BEFORE | libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

/// Deletes a file without the calling thread paying for freeing its blocks: the name
/// goes now, the last descriptor is closed on a background thread. Redis compat: bio.c
/// bg_unlink.
pub fn bg_unlink(path: PathBuf) {
    let Ok(f) = File::open(&path) else {
        let _ = std::fs::remove_file(&path);
        return;
    };
    if std::fs::remove_file(&path).is_err() {
        return;
    }
    let r = std::thread::Builder::new()
        .name("bg-unlink".into())
        .spawn(move || drop(f));
    if let Err(e) = r {
        tracing::warn!("Can't start the unlink thread: {e}");
    }
}

/// A file mapped read-only, for loaders that parse it front to back: its pages come
/// from the page cache as they are read, and `release_before` gives back the ones
/// already parsed, so loading a file costs the dataset, not the dataset plus a copy
/// of the file. Our own writers only ever replace files by a rename, which leaves a
/// mapped one intact; another program truncating the file in place makes reads past
/// its new end fault (SIGBUS), which `recover_mapped_fault` turns into zeros and
/// `truncated` reports, so the loader fails as on a short file.
pub struct Mapped {
    ptr: *mut libc::c_void,
    len: usize,
    /// The guard slot watching this mapping, if one was free.
    slot: Option<usize>,
}

/// The mappings a SIGBUS may be recovered in: start address (0: slot free), length,
/// and whether a fault was recovered. A fixed table of atomics, because the signal
/// handler reading it may neither allocate nor lock.
struct Guard {
    start: std::sync::atomic::AtomicUsize,
    len: std::sync::atomic::AtomicUsize,
    claimed: std::sync::atomic::AtomicBool,
    hit: std::sync::atomic::AtomicBool,
}

static GUARDS: [Guard; 4] = [const {
    Guard {
        start: std::sync::atomic::AtomicUsize::new(0),
        len: std::sync::atomic::AtomicUsize::new(0),
        claimed: std::sync::atomic::AtomicBool::new(false),
        hit: std::sync::atomic::AtomicBool::new(false),
    }
}; 4];

const PAGE: usize = 4096;

fn guard(start: usize, len: usize) -> Option<usize> {
    use std::sync::atomic::Ordering;
    let slot = GUARDS.iter().position(|g| {
        g.claimed
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    })?;
    let g = &GUARDS[slot];
    g.hit.store(false, Ordering::Relaxed);
    g.len.store(len, Ordering::Relaxed);
    g.start.store(start, Ordering::Release);
    Some(slot)
}

/// From the SIGBUS handler: if `addr` lies in a guarded mapping (its file was cut
/// short under it), maps zero pages from the faulting page to the mapping's end, so
/// the read that faulted (and every later one) sees zeros, and marks the mapping as
/// truncated. False when `addr` is not ours: the fault is a real crash. Only
/// async-signal-safe calls.
pub fn recover_mapped_fault(addr: usize) -> bool {
    use std::sync::atomic::Ordering;
    for g in &GUARDS {
        let start = g.start.load(Ordering::Acquire);
        let len = g.len.load(Ordering::Relaxed);
        if start == 0 || addr < start || addr >= start + len {
            continue;
        }
        let from = addr / PAGE * PAGE;
        let end = (start + len).div_ceil(PAGE) * PAGE;
        // Safety: replaces pages inside a mapping this module made and still holds
        // (its guard is cleared before it is unmapped) with private zero pages.
        let p = unsafe {
            libc::mmap(
                from as *mut libc::c_void,
                end - from,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return false;
        }
        g.hit.store(true, Ordering::Release);
        return true;
    }
    false
}

impl Mapped {
    pub fn open(path: &Path) -> io::Result<Mapped> {
        use std::os::fd::AsRawFd;
        let f = File::open(path)?;
        let len = usize::try_from(f.metadata()?.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
        if len == 0 {
            return Ok(Mapped {
                ptr: std::ptr::null_mut(),
                len: 0,
                slot: None,
            });
        }
        // Safety: a fresh read-only private mapping of a file we opened; the kernel
        // picks the address. The descriptor may be closed once it is mapped.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                f.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // Safety: advice on the mapping just made; it cannot change its contents.
        unsafe { libc::madvise(ptr, len, libc::MADV_SEQUENTIAL) };
        let slot = guard(ptr as usize, len);
        Ok(Mapped { ptr, len, slot })
    }

    /// True once a read found the file cut short under the mapping (the bytes from
    /// there on read as zeros).
    pub fn truncated(&self) -> bool {
        self.slot
            .is_some_and(|s| GUARDS[s].hit.load(std::sync::atomic::Ordering::Acquire))
    }

    pub fn as_slice(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // Safety: `ptr` maps `len` readable bytes until drop, and nothing writes them.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }

    /// Drops the pages wholly before `upto` from this process's memory. Reading them
    /// again is still valid: they come back from the file, unchanged.
    pub fn release_before(&self, upto: usize) {
        let end = upto.min(self.len) / PAGE * PAGE;
        if end > 0 {
            // Safety: a range inside our private read-only file mapping; DONTNEED
            // there only drops cached pages, which later reads fault back in.
            unsafe { libc::madvise(self.ptr, end, libc::MADV_DONTNEED) };
        }
    }
}

/// Bytes an RDB is loaded from: in memory, or a mapped file whose parsed pages are
/// given back as the load goes.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    Bytes(&'a [u8]),
    Mapped(&'a Mapped),
}

impl<'a> Source<'a> {
    pub fn bytes(&self) -> &'a [u8] {
        match self {
            Source::Bytes(b) => b,
            Source::Mapped(m) => m.as_slice(),
        }
    }

    /// See `Mapped::release_before`; nothing for bytes in memory.
    pub fn release_before(&self, upto: usize) {
        if let Source::Mapped(m) = self {
            m.release_before(upto);
        }
    }

    /// The file was cut short while it was read: what was parsed is not the file.
    pub fn cut_short(&self) -> bool {
        matches!(self, Source::Mapped(m) if m.truncated())
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering;
        // The guard goes first: once unmapped, the range may be reused by others.
        if let Some(s) = self.slot {
            GUARDS[s].start.store(0, Ordering::Release);
        }
        if self.len > 0 {
            // Safety: unmaps exactly the mapping made in `open`, once.
            unsafe { libc::munmap(self.ptr, self.len) };
        }
        if let Some(s) = self.slot {
            GUARDS[s].claimed.store(false, Ordering::Release);
        }
    }
}
