//! What the host looks at before it scans or touches an entry: one `statx` call that tells
//! the kind, size, times and, above all, which mount the entry lives on.
//!
//! Two entries are on the same mount when their mount ids (`STATX_MNT_ID`, Linux 5.8) are
//! equal: this sees a bind mount of the same filesystem, which a device-number comparison
//! misses. On kernels without mount ids the device number is compared and an entry flagged
//! `STATX_ATTR_MOUNT_ROOT` is treated as another mount (the systemd-tmpfiles rule).

use std::ffi::OsStr;
use std::io;
use std::os::fd::AsFd;

use rustix::fs::{AtFlags, FileType, StatxAttributes, StatxFlags, statx};

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// Anything else: a FIFO, a socket, a device node.
    Other,
}

/// Which mount an entry lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mount {
    /// The filesystem's device number.
    pub device: u64,
    /// The mount id, when the kernel reports it.
    pub mount_id: Option<u64>,
    /// Whether the entry is the root of a mount (when the kernel reports it).
    pub mount_root: bool,
}

impl Mount {
    /// Whether an entry at `other` is on this same mount (and is not the root of another).
    pub fn holds(&self, other: &Mount) -> bool {
        if self.device != other.device {
            return false;
        }
        match (self.mount_id, other.mount_id) {
            (Some(mine), Some(theirs)) => mine == theirs,
            _ => !other.mount_root,
        }
    }
}

/// The facts of one entry, read without following a link.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    /// What it is.
    pub kind: EntryKind,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// The sub-second part of the modification time, in nanoseconds.
    pub mtime_nsec: u32,
    /// Access time, seconds since the epoch.
    pub atime: i64,
    /// Status-change time, seconds since the epoch.
    pub ctime: i64,
    /// Status-change time, nanoseconds within the second.
    pub ctime_nsec: u32,
    /// Inode number.
    pub inode: u64,
    /// Owner.
    pub uid: u32,
    /// Permission bits.
    pub mode: u32,
    /// The mount it lives on.
    pub mount: Mount,
}

impl Stat {
    /// The status-change time as nanoseconds since the epoch.
    pub fn ctime_nanos(&self) -> i128 {
        i128::from(self.ctime) * 1_000_000_000 + i128::from(self.ctime_nsec)
    }
}

fn from_statx(raw: &rustix::fs::Statx) -> Stat {
    let file_type = FileType::from_raw_mode(u32::from(raw.stx_mode));
    let kind = match file_type {
        FileType::RegularFile => EntryKind::File,
        FileType::Directory => EntryKind::Directory,
        FileType::Symlink => EntryKind::Symlink,
        _ => EntryKind::Other,
    };
    let has_mount_id = StatxFlags::from_bits_retain(raw.stx_mask).contains(StatxFlags::MNT_ID);
    let mount_root = raw
        .stx_attributes_mask
        .contains(StatxAttributes::MOUNT_ROOT)
        && raw.stx_attributes.contains(StatxAttributes::MOUNT_ROOT);
    Stat {
        kind,
        size: raw.stx_size,
        mtime: raw.stx_mtime.tv_sec,
        mtime_nsec: raw.stx_mtime.tv_nsec,
        atime: raw.stx_atime.tv_sec,
        ctime: raw.stx_ctime.tv_sec,
        ctime_nsec: raw.stx_ctime.tv_nsec,
        inode: raw.stx_ino,
        uid: raw.stx_uid,
        mode: u32::from(raw.stx_mode) & 0o7777,
        mount: Mount {
            device: rustix::fs::makedev(raw.stx_dev_major, raw.stx_dev_minor),
            mount_id: has_mount_id.then_some(raw.stx_mnt_id),
            mount_root,
        },
    }
}

const WANTED: StatxFlags = StatxFlags::BASIC_STATS.union(StatxFlags::MNT_ID);

/// `name` inside `dir`, without following a link or triggering an automount.
pub fn stat_at(dir: impl AsFd, name: &OsStr) -> io::Result<Stat> {
    let flags = AtFlags::SYMLINK_NOFOLLOW | AtFlags::NO_AUTOMOUNT;
    statx(dir, name, flags, WANTED)
        .map(|raw| from_statx(&raw))
        .map_err(io::Error::from)
}

/// The open file or directory `fd` itself.
pub fn stat_fd(fd: impl AsFd) -> io::Result<Stat> {
    statx(fd, c"", AtFlags::EMPTY_PATH, WANTED)
        .map(|raw| from_statx(&raw))
        .map_err(io::Error::from)
}

/// Raises this process's soft limit on open files to its hard limit, once: walking and
/// cleaning a deep tree keeps one directory handle per level open.
pub fn raise_open_file_limit() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if limit.current != limit.maximum {
            let raised = Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if let Err(error) = setrlimit(Resource::Nofile, raised) {
                tracing::debug!(%error, "cannot raise the open-file limit");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_mount_by_id_when_known() {
        let area = Mount {
            device: 1,
            mount_id: Some(10),
            mount_root: true,
        };
        let inside = Mount {
            device: 1,
            mount_id: Some(10),
            mount_root: false,
        };
        let bind = Mount {
            device: 1,
            mount_id: Some(11),
            mount_root: true,
        };
        let other_fs = Mount {
            device: 2,
            mount_id: Some(10),
            mount_root: false,
        };
        assert!(area.holds(&inside));
        assert!(!area.holds(&bind));
        assert!(!area.holds(&other_fs));
    }

    #[test]
    fn device_and_mount_root_without_ids() {
        let area = Mount {
            device: 1,
            mount_id: None,
            mount_root: false,
        };
        let plain = Mount {
            device: 1,
            mount_id: None,
            mount_root: false,
        };
        let root = Mount {
            device: 1,
            mount_id: None,
            mount_root: true,
        };
        assert!(area.holds(&plain));
        assert!(!area.holds(&root));
    }

    #[test]
    fn a_real_directory_and_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("f"), b"abc").expect("write");
        std::os::unix::fs::symlink("f", dir.path().join("l")).expect("link");
        let handle = std::fs::File::open(dir.path()).expect("open");
        let own = stat_fd(&handle).expect("stat dir");
        assert_eq!(own.kind, EntryKind::Directory);
        let file = stat_at(&handle, OsStr::new("f")).expect("stat file");
        assert_eq!((file.kind, file.size), (EntryKind::File, 3));
        assert!(own.mount.holds(&file.mount));
        let link = stat_at(&handle, OsStr::new("l")).expect("stat link");
        assert_eq!(link.kind, EntryKind::Symlink);
    }
}
