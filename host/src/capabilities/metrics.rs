//! The `host-metrics` capability: memory (with container limits), disk, CPU, load and the
//! managed areas' usage.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::fs::{AreaUsage, Areas, now_secs};

/// Memory figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Memory {
    /// Bytes available to this process (the container limit when lower than the machine's).
    pub total: u64,
    /// Bytes still available.
    pub available: u64,
    /// Bytes in use.
    pub used: u64,
    /// `used / total`, 0 to 1.
    pub used_ratio: f64,
    /// Whether `total` is a container limit.
    pub container_limited: bool,
}

/// Disk figures for the data directory's filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Disk {
    /// Total bytes.
    pub total: u64,
    /// Bytes free for unprivileged users.
    pub free: u64,
    /// Bytes used.
    pub used: u64,
    /// `used / (used + free)`, 0 to 1 (as `df` counts it).
    pub used_ratio: f64,
}

/// One snapshot of the system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemResources {
    /// Seconds since the epoch.
    pub taken_at: u64,
    /// Memory.
    pub memory: Memory,
    /// Disk.
    pub disk: Disk,
    /// CPU use, 0 to 1 of all cores, over the last sampling interval.
    pub cpu_ratio: f64,
    /// Load average (1, 5, 15 minutes).
    pub load_average: (f64, f64, f64),
    /// Managed areas.
    pub areas: Vec<AreaUsage>,
}

impl SystemResources {
    /// An all-zero snapshot, for hosts without a metrics source.
    pub fn empty() -> Self {
        Self {
            taken_at: now_secs(),
            memory: Memory {
                total: 0,
                available: 0,
                used: 0,
                used_ratio: 0.0,
                container_limited: false,
            },
            disk: Disk {
                total: 0,
                free: 0,
                used: 0,
                used_ratio: 0.0,
            },
            cpu_ratio: 0.0,
            load_average: (0.0, 0.0, 0.0),
            areas: Vec::new(),
        }
    }
}

/// A container memory limit and usage read from cgroup files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupMemory {
    /// The limit in bytes; `None` means unlimited.
    pub limit: Option<u64>,
    /// Current usage in bytes, when known.
    pub usage: Option<u64>,
}

/// cgroup v1 reports "no limit" as a huge page-aligned number; anything this large is none.
const V1_UNLIMITED_FLOOR: u64 = 1 << 60;

/// Parses a cgroup v2 `memory.max`: `max` or a number of bytes.
pub fn parse_v2_limit(text: &str) -> Option<u64> {
    match text.trim() {
        "max" => None,
        number => number.parse().ok(),
    }
}

/// Parses a cgroup v1 `memory.limit_in_bytes`, treating its sentinel as unlimited.
pub fn parse_v1_limit(text: &str) -> Option<u64> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|limit| *limit < V1_UNLIMITED_FLOOR)
}

/// This process's cgroup v2 path from `/proc/self/cgroup` (`0::/path`).
pub fn parse_v2_path(proc_self_cgroup: &str) -> Option<String> {
    proc_self_cgroup
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .map(|path| path.trim().to_string())
}

/// Reads the memory limit of this process's cgroup under `root` (normally `/sys/fs/cgroup`),
/// v2 first, then v1.
pub fn read_cgroup_memory(root: &Path, proc_self_cgroup: &str) -> Option<CgroupMemory> {
    let read = |path: PathBuf| std::fs::read_to_string(path).ok();
    let v2_dirs = parse_v2_path(proc_self_cgroup)
        .map(|path| root.join(path.trim_start_matches('/')))
        .into_iter()
        .chain(std::iter::once(root.to_path_buf()));
    for dir in v2_dirs {
        if let Some(max) = read(dir.join("memory.max")) {
            return Some(CgroupMemory {
                limit: parse_v2_limit(&max),
                usage: read(dir.join("memory.current")).and_then(|text| text.trim().parse().ok()),
            });
        }
    }
    let v1 = root.join("memory");
    let limit = read(v1.join("memory.limit_in_bytes"))?;
    Some(CgroupMemory {
        limit: parse_v1_limit(&limit),
        usage: read(v1.join("memory.usage_in_bytes")).and_then(|text| text.trim().parse().ok()),
    })
}

/// Combines the machine's memory with a container limit: the lower total wins.
pub fn effective_memory(total: u64, available: u64, cgroup: Option<CgroupMemory>) -> Memory {
    let ratio = |used: u64, total: u64| {
        if total == 0 {
            0.0
        } else {
            (used as f64 / total as f64).clamp(0.0, 1.0)
        }
    };
    if let Some(CgroupMemory {
        limit: Some(limit),
        usage,
    }) = cgroup
        && limit < total
    {
        let used = usage.unwrap_or(total.saturating_sub(available)).min(limit);
        return Memory {
            total: limit,
            available: limit - used,
            used,
            used_ratio: ratio(used, limit),
            container_limited: true,
        };
    }
    let used = total.saturating_sub(available);
    Memory {
        total,
        available,
        used,
        used_ratio: ratio(used, total),
        container_limited: false,
    }
}

/// Disk figures of the filesystem holding `path`.
pub fn disk_usage(path: &Path) -> std::io::Result<Disk> {
    let stat = rustix::fs::statvfs(path)?;
    let block = stat.f_frsize.max(1);
    let total = stat.f_blocks.saturating_mul(block);
    let free = stat.f_bavail.saturating_mul(block);
    let used = total.saturating_sub(stat.f_bfree.saturating_mul(block));
    let used_ratio = if used + free == 0 {
        0.0
    } else {
        used as f64 / (used + free) as f64
    };
    Ok(Disk {
        total,
        free,
        used,
        used_ratio,
    })
}

/// How long a measured usage of the areas is reused. Measuring walks every area, the most
/// expensive part of a snapshot: scrapes and monitoring rounds in between share one walk.
pub const AREA_USAGE_MAX_AGE: Duration = Duration::from_secs(60);

/// Takes snapshots; keeps the CPU sampler and the last area usage between calls.
pub struct Metrics {
    areas: Arc<Areas>,
    cgroup_root: PathBuf,
    /// The sampler, when it last sampled the CPU, and whether it has a ratio yet.
    system: Mutex<(sysinfo::System, Instant, bool)>,
    area_usage: Mutex<Option<(Instant, Vec<AreaUsage>)>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("areas", &self.areas)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// Metrics for `areas` (their data directory is the disk measured).
    pub fn new(areas: Arc<Areas>) -> Self {
        let mut system = sysinfo::System::new();
        system.refresh_cpu_usage();
        Self {
            areas,
            cgroup_root: PathBuf::from("/sys/fs/cgroup"),
            system: Mutex::new((system, Instant::now(), false)),
            area_usage: Mutex::new(None),
        }
    }

    /// The areas' usage, measured at most [`AREA_USAGE_MAX_AGE`] ago. Concurrent callers wait
    /// for one walk rather than each walking the areas.
    fn area_usage(&self) -> Vec<AreaUsage> {
        let mut cached = self
            .area_usage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((measured, usage)) = &*cached
            && measured.elapsed() < AREA_USAGE_MAX_AGE
        {
            return usage.clone();
        }
        let usage = self.areas.usage();
        *cached = Some((Instant::now(), usage.clone()));
        usage
    }

    /// Forgets the measured area usage, so the next snapshot measures again (after a cleanup
    /// changed the areas).
    pub fn invalidate_area_usage(&self) {
        *self
            .area_usage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// A snapshot. The first one waits for sysinfo's minimum CPU sampling interval.
    pub fn snapshot(&self) -> SystemResources {
        let (memory, cpu_ratio) = {
            let mut guard = match self.system.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            let (system, last_cpu, measured) = &mut *guard;
            let since = last_cpu.elapsed();
            // A CPU ratio needs two samples at least sysinfo's minimum interval apart. Only
            // the first snapshot waits for that; later ones within the interval reuse the
            // last ratio, so concurrent scrapes do not queue behind each other's sleep.
            if since >= sysinfo::MINIMUM_CPU_UPDATE_INTERVAL || !*measured {
                if since < sysinfo::MINIMUM_CPU_UPDATE_INTERVAL {
                    std::thread::sleep(
                        sysinfo::MINIMUM_CPU_UPDATE_INTERVAL - since + Duration::from_millis(5),
                    );
                }
                system.refresh_cpu_usage();
                *last_cpu = Instant::now();
                *measured = true;
            }
            system.refresh_memory();
            let proc_self_cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
            let cgroup = read_cgroup_memory(&self.cgroup_root, &proc_self_cgroup);
            let memory = effective_memory(system.total_memory(), system.available_memory(), cgroup);
            let cpu = f64::from(system.global_cpu_usage()) / 100.0;
            (memory, cpu.clamp(0.0, 1.0))
        };
        let disk = disk_usage(self.areas.root()).unwrap_or_else(|error| {
            tracing::warn!(%error, path = %self.areas.root().display(), "cannot read disk usage");
            Disk {
                total: 0,
                free: 0,
                used: 0,
                used_ratio: 0.0,
            }
        });
        let load = sysinfo::System::load_average();
        SystemResources {
            taken_at: now_secs(),
            memory,
            disk,
            cpu_ratio,
            load_average: (load.one, load.five, load.fifteen),
            areas: self.area_usage(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_limits() {
        assert_eq!(parse_v2_limit("max\n"), None);
        assert_eq!(parse_v2_limit("536870912\n"), Some(536_870_912));
        assert_eq!(parse_v2_limit("garbage"), None);
    }

    #[test]
    fn v1_sentinel_means_unlimited() {
        assert_eq!(parse_v1_limit("9223372036854771712\n"), None);
        assert_eq!(parse_v1_limit("1073741824"), Some(1 << 30));
    }

    #[test]
    fn cgroup_files_from_fixture_trees() {
        let root = tempfile::tempdir().expect("temp dir");
        // v2 with this process in /app.slice: its own memory.max wins over the root's.
        std::fs::create_dir_all(root.path().join("app.slice")).expect("mkdir");
        std::fs::write(root.path().join("memory.max"), "max\n").expect("write");
        std::fs::write(root.path().join("app.slice/memory.max"), "1073741824\n").expect("write");
        std::fs::write(root.path().join("app.slice/memory.current"), "268435456\n").expect("write");
        let found = read_cgroup_memory(root.path(), "0::/app.slice\n").expect("v2");
        assert_eq!(
            found,
            CgroupMemory {
                limit: Some(1 << 30),
                usage: Some(1 << 28)
            }
        );
        let unlimited = read_cgroup_memory(root.path(), "0::/\n").expect("v2 root");
        assert_eq!(unlimited.limit, None);

        let v1 = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(v1.path().join("memory")).expect("mkdir");
        std::fs::write(
            v1.path().join("memory/memory.limit_in_bytes"),
            "9223372036854771712\n",
        )
        .expect("write");
        std::fs::write(v1.path().join("memory/memory.usage_in_bytes"), "1000\n").expect("write");
        let found = read_cgroup_memory(v1.path(), "").expect("v1");
        assert_eq!(
            found,
            CgroupMemory {
                limit: None,
                usage: Some(1000)
            }
        );
        assert_eq!(
            read_cgroup_memory(tempfile::tempdir().expect("dir").path(), ""),
            None
        );
    }

    #[test]
    fn container_limit_wins_when_lower() {
        let gib = 1u64 << 30;
        let limited = effective_memory(
            16 * gib,
            12 * gib,
            Some(CgroupMemory {
                limit: Some(2 * gib),
                usage: Some(gib),
            }),
        );
        assert_eq!(
            (limited.total, limited.used, limited.available),
            (2 * gib, gib, gib)
        );
        assert!(limited.container_limited);
        assert!((limited.used_ratio - 0.5).abs() < 1e-9);
        let host = effective_memory(
            16 * gib,
            12 * gib,
            Some(CgroupMemory {
                limit: Some(64 * gib),
                usage: None,
            }),
        );
        assert_eq!(host.total, 16 * gib);
        assert!(!host.container_limited);
        assert!((host.used_ratio - 0.25).abs() < 1e-9);
    }

    #[test]
    fn disk_of_a_real_directory() {
        let disk = disk_usage(Path::new(".")).expect("statvfs");
        assert!(disk.total > 0);
        assert!((0.0..=1.0).contains(&disk.used_ratio));
    }
}
