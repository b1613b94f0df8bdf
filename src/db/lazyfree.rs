//! Lazy free: values dropped on a background thread so that UNLINK, FLUSHALL ASYNC
//! and eviction of big values never stall the event loop. Small values are dropped
//! inline: a channel hop costs more than freeing them.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock};

type Garbage = Box<dyn Send>;

static PENDING: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);

fn sender() -> Option<Sender<Garbage>> {
    static TX: OnceLock<Mutex<Option<Sender<Garbage>>>> = OnceLock::new();
    let m = TX.get_or_init(|| {
        let (tx, rx) = channel::<Garbage>();
        let spawned = std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || {
                // Freeing yields the CPU to the event loop when both want it (Linux
                // nice is per thread): a big UNLINK must not delay other clients.
                // Not under a syscall filter, which may kill the process for it.
                if !crate::util::supervise::syscalls_filtered() {
                    // Safety: changes this thread's own scheduling priority only.
                    unsafe {
                        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
                    }
                }
                while let Ok(g) = rx.recv() {
                    drop(g);
                    PENDING.fetch_sub(1, Ordering::Relaxed);
                    FREED.fetch_add(1, Ordering::Relaxed);
                }
            })
            .is_ok();
        Mutex::new(spawned.then_some(tx))
    });
    m.lock().ok().and_then(|g| g.clone())
}

/// Drops `v` on the background thread (or here if the thread is unavailable).
pub fn drop_later<T: Send + 'static>(v: T) {
    match sender() {
        Some(tx) => {
            PENDING.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = tx.send(Box::new(v)) {
                PENDING.fetch_sub(1, Ordering::Relaxed);
                drop(e);
            }
        }
        None => drop(v),
    }
}

/// Objects queued and not yet freed (INFO lazyfree_pending_objects).
pub fn pending() -> u64 {
    PENDING.load(Ordering::Relaxed)
}

/// Objects freed in the background so far (INFO lazyfreed_objects).
pub fn freed() -> u64 {
    FREED.load(Ordering::Relaxed)
}

/// CONFIG RESETSTAT. Redis compat: lazyfree.c lazyfreeResetStats.
pub fn reset_freed() {
    FREED.store(0, Ordering::Relaxed);
}
