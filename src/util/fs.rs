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
