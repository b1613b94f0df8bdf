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
/// of the file. The file must not be truncated in place while mapped (ours are only
/// ever replaced by a rename, which leaves the mapped one intact).
pub struct Mapped {
    ptr: *mut libc::c_void,
    len: usize,
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
        Ok(Mapped { ptr, len })
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
        let page = 4096;
        let end = upto.min(self.len) / page * page;
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
}

impl Drop for Mapped {
    fn drop(&mut self) {
        if self.len > 0 {
            // Safety: unmaps exactly the mapping made in `open`, once.
            unsafe { libc::munmap(self.ptr, self.len) };
        }
    }
}
