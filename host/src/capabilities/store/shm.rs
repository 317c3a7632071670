//! Keeping a truncated SQLite WAL index from taking the process down.
//!
//! In WAL mode every process using a database maps its index, `<database>-shm`, into memory
//! (shared memory is what lets other processes, such as the Python host, use the database at
//! the same time; the only ways around the file, `locking_mode=EXCLUSIVE` or the `unix-excl`
//! VFS, lock every other process out). When something truncates that file under the mapping
//! (a cleanup script, a copy tool, a full disk), the next access through the mapping faults
//! with SIGBUS, which ends the whole process. So:
//!
//! - the SQLite `mmap` and `munmap` system calls are wrapped (`xSetSystemCall`) to note where
//!   each `-shm` region is mapped, its file and its extent;
//! - before each transaction, [`Guard::check`] compares the file's size with the extent this
//!   process has mapped; a shorter file is extended back (zeros) and its header cleared,
//!   which makes SQLite rebuild the index from the WAL file, as after a crash. A file that
//!   cannot be extended (immutable, read-only file system) is refused without touching it:
//!   the monitor answers 503 with the reason until it can be;
//! - a truncation during a transaction faults: the SIGBUS handler extends the file the same
//!   way (only system calls that are safe in a signal handler) and the access goes on; the
//!   transaction is then abandoned (rolled back when it was not committed yet) and answered
//!   as unavailable, the header cleared again. When the file cannot be extended there, the
//!   regions are replaced by private zeroed memory so the access can finish, and the process
//!   stops using that database (its view is no longer shared) until it restarts. Any other
//!   SIGBUS goes to the handler installed before (wasmtime's, Rust's, the default).
//!
//! The main database file is never mapped (`mmap_size=0`), so a truncated database is an
//! I/O error, not a fault.

use std::ffi::{c_int, c_void};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use rusqlite::ffi;

use super::sql::StoreError;

/// Regions noted (each 32 KiB of index, for 4096 WAL frames); more go unguarded.
const SLOTS: usize = 256;
/// The index header: its two copies and the checkpoint information. Zeroed, it makes every
/// connection rebuild the index from the WAL file before using it.
const HEADER_BYTES: usize = 136;
/// A slot being filled in.
const CLAIMED: usize = usize::MAX;

static ZEROS: [u8; HEADER_BYTES] = [0; HEADER_BYTES];

/// One mapped region of a `-shm` file.
struct Region {
    /// Its address (0: a free slot; [`CLAIMED`]: being filled in).
    start: AtomicUsize,
    len: AtomicUsize,
    /// The file offset where it ends: the file must be at least this long.
    end: AtomicU64,
    /// SQLite's descriptor of the file (open as long as the region is mapped).
    fd: AtomicI32,
    dev: AtomicU64,
    ino: AtomicU64,
    /// Replaced by private memory: this process's view of the index is no longer shared.
    detached: AtomicBool,
}

impl Region {
    const fn new() -> Self {
        Region {
            start: AtomicUsize::new(0),
            len: AtomicUsize::new(0),
            end: AtomicU64::new(0),
            fd: AtomicI32::new(-1),
            dev: AtomicU64::new(0),
            ino: AtomicU64::new(0),
            detached: AtomicBool::new(false),
        }
    }

    fn live(&self) -> Option<usize> {
        let start = self.start.load(Ordering::Acquire);
        (start != 0 && start != CLAIMED).then_some(start)
    }

    fn of(&self, dev: u64, ino: u64) -> bool {
        self.live().is_some()
            && self.dev.load(Ordering::Relaxed) == dev
            && self.ino.load(Ordering::Relaxed) == ino
    }
}

static REGIONS: [Region; SLOTS] = [const { Region::new() }; SLOTS];
/// Faults recovered so far (a transaction that saw this change is abandoned).
static FAULTS: AtomicU64 = AtomicU64::new(0);
/// Why the last detached file could not be extended (`errno`).
static DETACH_ERRNO: AtomicI32 = AtomicI32::new(0);
/// The address of the last fault on a file long enough already (tried again once).
static LAST_RETRY: AtomicUsize = AtomicUsize::new(0);
static REAL_MMAP: AtomicUsize = AtomicUsize::new(0);
static REAL_MUNMAP: AtomicUsize = AtomicUsize::new(0);
/// The SIGBUS handler installed before this one.
static PREVIOUS: AtomicPtr<libc::sigaction> = AtomicPtr::new(std::ptr::null_mut());

type Mmap = unsafe extern "C" fn(
    *mut c_void,
    libc::size_t,
    c_int,
    c_int,
    c_int,
    libc::off_t,
) -> *mut c_void;
type Munmap = unsafe extern "C" fn(*mut c_void, libc::size_t) -> c_int;

/// Wraps SQLite's `mmap`/`munmap` and installs the SIGBUS handler, once per process, before
/// the first database is opened.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: SQLite's documented way to replace the unix VFS's system calls, done once
        // before this host opens a connection; the wrappers call the originals.
        let hooked = unsafe { hook_system_calls() };
        if !hooked {
            tracing::warn!("SQLite's mmap cannot be wrapped: a truncated WAL index is not guarded");
            return;
        }
        // SAFETY: installs a handler that only uses async-signal-safe calls and passes on
        // every fault it does not own.
        if let Err(error) = unsafe { install_handler() } {
            tracing::warn!(%error, "no SIGBUS handler: a truncated WAL index is not guarded");
        }
    });
}

unsafe fn hook_system_calls() -> bool {
    unsafe {
        let vfs = ffi::sqlite3_vfs_find(std::ptr::null());
        if vfs.is_null() {
            return false;
        }
        let (Some(get), Some(set)) = ((*vfs).xGetSystemCall, (*vfs).xSetSystemCall) else {
            return false;
        };
        let (mmap, munmap) = (c"mmap".as_ptr(), c"munmap".as_ptr());
        let (Some(real_mmap), Some(real_munmap)) = (get(vfs, mmap), get(vfs, munmap)) else {
            return false;
        };
        REAL_MMAP.store(real_mmap as usize, Ordering::Release);
        REAL_MUNMAP.store(real_munmap as usize, Ordering::Release);
        let wrapped_mmap = std::mem::transmute::<Mmap, unsafe extern "C" fn()>(mmap_hook);
        let wrapped_munmap = std::mem::transmute::<Munmap, unsafe extern "C" fn()>(munmap_hook);
        set(vfs, mmap, Some(wrapped_mmap)) == ffi::SQLITE_OK
            && set(vfs, munmap, Some(wrapped_munmap)) == ffi::SQLITE_OK
    }
}

unsafe fn install_handler() -> std::io::Result<()> {
    unsafe {
        let previous = Box::into_raw(Box::new(std::mem::zeroed::<libc::sigaction>()));
        if libc::sigaction(libc::SIGBUS, std::ptr::null(), previous) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        PREVIOUS.store(previous, Ordering::Release);
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGBUS, &action, previous) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

/// SQLite's `mmap`: the original, then the region noted when it maps a `-shm` file.
unsafe extern "C" fn mmap_hook(
    address: *mut c_void,
    len: libc::size_t,
    protection: c_int,
    flags: c_int,
    fd: c_int,
    offset: libc::off_t,
) -> *mut c_void {
    // SAFETY: REAL_MMAP holds SQLite's original `mmap` (stored before this wrapper was set).
    let real = unsafe { std::mem::transmute::<usize, Mmap>(REAL_MMAP.load(Ordering::Acquire)) };
    let mapped = unsafe { real(address, len, protection, flags, fd, offset) };
    if mapped != libc::MAP_FAILED && fd >= 0 && flags & libc::MAP_SHARED != 0 {
        note(mapped as usize, len, fd, offset);
    }
    mapped
}

/// SQLite's `munmap`: the region forgotten, then the original.
unsafe extern "C" fn munmap_hook(address: *mut c_void, len: libc::size_t) -> c_int {
    for region in &REGIONS {
        if region.live() == Some(address as usize) {
            region.detached.store(false, Ordering::Relaxed);
            region.start.store(0, Ordering::Release);
        }
    }
    // SAFETY: REAL_MUNMAP holds SQLite's original `munmap`.
    let real = unsafe { std::mem::transmute::<usize, Munmap>(REAL_MUNMAP.load(Ordering::Acquire)) };
    unsafe { real(address, len) }
}

/// Notes a mapped region of `fd` when it is a `-shm` file.
fn note(start: usize, len: usize, fd: c_int, offset: libc::off_t) {
    let Ok(target) = std::fs::read_link(format!("/proc/self/fd/{fd}")) else {
        return;
    };
    if !target.as_os_str().as_encoded_bytes().ends_with(b"-shm") {
        return;
    }
    let Ok(metadata) = std::fs::metadata(format!("/proc/self/fd/{fd}")) else {
        return;
    };
    for region in &REGIONS {
        if region
            .start
            .compare_exchange(0, CLAIMED, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            region.len.store(len, Ordering::Relaxed);
            region
                .end
                .store(offset as u64 + len as u64, Ordering::Relaxed);
            region.fd.store(fd, Ordering::Relaxed);
            region.dev.store(metadata.dev(), Ordering::Relaxed);
            region.ino.store(metadata.ino(), Ordering::Relaxed);
            region.detached.store(false, Ordering::Relaxed);
            region.start.store(start, Ordering::Release);
            return;
        }
    }
    tracing::warn!(file = %target.display(), "too many WAL index regions to guard");
}

/// The SIGBUS handler.
extern "C" fn on_sigbus(signum: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    // SAFETY: the kernel passes a valid siginfo for SIGBUS.
    let address = unsafe { (*info).si_addr() } as usize;
    // SAFETY: only async-signal-safe system calls below.
    if unsafe { recover(address) } {
        return;
    }
    unsafe { pass_on(signum, info, context) }
}

/// Makes the faulting access to a noted region possible again; false when the fault is not
/// in one.
unsafe fn recover(address: usize) -> bool {
    let Some(faulting) = REGIONS.iter().find(|region| {
        region.live().is_some_and(|start| {
            (start..start + region.len.load(Ordering::Relaxed)).contains(&address)
        })
    }) else {
        return false;
    };
    if faulting.detached.load(Ordering::Relaxed) {
        // Private memory faulting: not a truncation.
        return false;
    }
    let (fd, dev, ino) = (
        faulting.fd.load(Ordering::Relaxed),
        faulting.dev.load(Ordering::Relaxed),
        faulting.ino.load(Ordering::Relaxed),
    );
    let needed = REGIONS
        .iter()
        .filter(|region| region.of(dev, ino))
        .map(|region| region.end.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    FAULTS.fetch_add(1, Ordering::SeqCst);
    unsafe {
        let mut stat: libc::stat = std::mem::zeroed();
        let size = if libc::fstat(fd, &mut stat) == 0 {
            Some(stat.st_size as u64)
        } else {
            None
        };
        let mut errno = 0;
        match size {
            Some(size) if size < needed => {
                if libc::ftruncate(fd, needed as libc::off_t) == 0 {
                    libc::pwrite(fd, ZEROS.as_ptr().cast(), HEADER_BYTES, 0);
                    LAST_RETRY.store(0, Ordering::Relaxed);
                    return true;
                }
                errno = *libc::__errno_location();
            }
            // Long enough: extended meanwhile by another thread or process. Tried again once
            // (a second fault there is not a truncation: a full disk, an I/O error).
            Some(_) if LAST_RETRY.swap(address, Ordering::Relaxed) != address => return true,
            _ => {}
        }
        DETACH_ERRNO.store(errno, Ordering::Relaxed);
        for region in REGIONS.iter().filter(|region| region.of(dev, ino)) {
            let start = region.start.load(Ordering::Acquire);
            let replaced = libc::mmap(
                start as *mut c_void,
                region.len.load(Ordering::Relaxed),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            );
            if replaced == libc::MAP_FAILED {
                return false;
            }
            region.detached.store(true, Ordering::Relaxed);
        }
        true
    }
}

/// Hands a fault that is not ours to the handler installed before, as wasmtime does.
unsafe fn pass_on(signum: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    unsafe {
        let previous = PREVIOUS.load(Ordering::Acquire);
        if previous.is_null() {
            let mut default: libc::sigaction = std::mem::zeroed();
            default.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(signum, &default, std::ptr::null_mut());
            return;
        }
        let previous = &*previous;
        if previous.sa_flags & libc::SA_SIGINFO != 0 {
            let handler = std::mem::transmute::<
                usize,
                extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void),
            >(previous.sa_sigaction);
            handler(signum, info, context);
        } else if previous.sa_sigaction == libc::SIG_DFL || previous.sa_sigaction == libc::SIG_IGN {
            // The default: the access faults again and ends the process, as without us.
            libc::sigaction(signum, previous, std::ptr::null_mut());
        } else {
            let handler = std::mem::transmute::<usize, extern "C" fn(c_int)>(previous.sa_sigaction);
            handler(signum);
        }
    }
}

/// The number of faults recovered when a transaction began.
#[derive(Debug, Clone, Copy)]
pub struct Watch(u64);

/// The guard of one database's WAL index.
#[derive(Debug)]
pub struct Guard {
    shm: PathBuf,
}

/// What this process has mapped of one `-shm` file.
struct Mapped {
    /// The length the file must have.
    needed: u64,
    /// SQLite's descriptor of it.
    fd: Option<c_int>,
    detached: bool,
}

fn mapped(dev: u64, ino: u64) -> Mapped {
    let mut mapped = Mapped {
        needed: 0,
        fd: None,
        detached: false,
    };
    for region in REGIONS.iter().filter(|region| region.of(dev, ino)) {
        mapped.needed = mapped.needed.max(region.end.load(Ordering::Relaxed));
        mapped.fd = Some(region.fd.load(Ordering::Relaxed));
        mapped.detached |= region.detached.load(Ordering::Relaxed);
    }
    mapped
}

impl Guard {
    /// The guard of the index of `database`.
    pub fn new(database: &Path) -> Self {
        let mut shm = database.as_os_str().to_owned();
        shm.push("-shm");
        Self { shm: shm.into() }
    }

    /// Before a transaction: the index restored when it was truncated since the last one; a
    /// refusal (nothing touched) when it cannot be.
    pub fn check(&self) -> Result<Watch, StoreError> {
        let watch = Watch(FAULTS.load(Ordering::SeqCst));
        let Ok(metadata) = std::fs::metadata(&self.shm) else {
            // Not created yet (or replaced: the old file stays mapped and whole).
            return Ok(watch);
        };
        let mapped = mapped(metadata.dev(), metadata.ino());
        if mapped.detached {
            return Err(self.detached());
        }
        let (size, Some(fd)) = (metadata.len(), mapped.fd) else {
            return Ok(watch);
        };
        if size >= mapped.needed {
            return Ok(watch);
        }
        // SAFETY: SQLite keeps the descriptor open while the region is mapped, and this
        // process's connection to the database (the caller's) keeps the region mapped.
        let file = unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) };
        match rustix::fs::ftruncate(file, mapped.needed) {
            Ok(()) => {
                let _ = rustix::io::pwrite(file, &ZEROS, 0);
                tracing::warn!(
                    file = %self.shm.display(),
                    size,
                    restored = mapped.needed,
                    "the monitor database's WAL index was truncated by another process; restored (SQLite rebuilds it from the WAL)"
                );
                Ok(watch)
            }
            Err(error) => Err(StoreError::Unavailable {
                reason: format!(
                    "the database's WAL index {} was truncated to {size} bytes by another \
                     process and cannot be restored ({error}); the monitor answers again once \
                     the file can be written",
                    self.shm.display()
                ),
                retry_after: Duration::from_secs(5),
            }),
        }
    }

    /// Whether a fault was recovered since `watch` (the transaction is abandoned).
    pub fn faulted(&self, watch: Watch) -> bool {
        FAULTS.load(Ordering::SeqCst) != watch.0
    }

    /// After a transaction a fault hit: the header cleared again (a commit may have written
    /// one over a partial index); the refusal to answer.
    pub fn fault_refusal(&self) -> StoreError {
        let Ok(metadata) = std::fs::metadata(&self.shm) else {
            return self.restored();
        };
        let mapped = mapped(metadata.dev(), metadata.ino());
        if mapped.detached {
            return self.detached();
        }
        if let Some(fd) = mapped.fd {
            // SAFETY: as in `check`.
            let file = unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) };
            let _ = rustix::io::pwrite(file, &ZEROS, 0);
        }
        tracing::warn!(file = %self.shm.display(), "the monitor database's WAL index was truncated during a transaction; restored, the transaction abandoned");
        self.restored()
    }

    fn restored(&self) -> StoreError {
        StoreError::Unavailable {
            reason: format!(
                "the database's WAL index {} was truncated by another process during the \
                 request; it was restored: ask again (events are stored once)",
                self.shm.display()
            ),
            retry_after: Duration::from_secs(1),
        }
    }

    fn detached(&self) -> StoreError {
        let errno = DETACH_ERRNO.load(Ordering::Relaxed);
        StoreError::Unavailable {
            reason: format!(
                "the database's WAL index {} was truncated by another process while in use and \
                 could not be restored ({}); this process no longer uses the database: restart \
                 it once the file can be written",
                self.shm.display(),
                std::io::Error::from_raw_os_error(errno)
            ),
            retry_after: Duration::from_secs(60),
        }
    }
}
