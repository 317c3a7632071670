//! Policy component costs: instantiation, a trivial call, and the cleanup policy over a large
//! scanned tree in wasm against the same Rust code compiled natively.
//!
//! Run through `bench/policy.sh` (it sets the memory cap the large tree needs). `ENTRIES`
//! sets the tree size (default 1,000,000 files) and `ROUNDS` the repetitions.

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bachata_common::Policy;
use bachata_common::capabilities::fs::{self, Areas, now_secs};
use bachata_common::cleanup::CleanupSettings;
use bachata_common_policy::cleanup::Filesystem;
use bachata_common_policy::types as wit;

/// The native cleanup policy's view of the host areas: the same streaming walk and the same
/// dry-run removal checks, converted to the WIT types as the host does for the component.
struct NativeFs {
    areas: Arc<Areas>,
    /// Time spent in these capability methods (the host's part), as the host counts its own.
    host: Cell<Duration>,
}

impl NativeFs {
    fn timed<R>(&self, body: impl FnOnce() -> R) -> R {
        let start = Instant::now();
        let result = body();
        self.host.set(self.host.get() + start.elapsed());
        result
    }
}

fn wit_entry(entry: fs::Entry) -> wit::Entry {
    wit::Entry {
        path: entry.path,
        kind: match entry.kind {
            fs::EntryKind::File => wit::EntryKind::File,
            fs::EntryKind::Directory => wit::EntryKind::Directory,
            fs::EntryKind::Symlink => wit::EntryKind::Symlink,
            fs::EntryKind::Other => wit::EntryKind::Other,
        },
        size: entry.size,
        mtime: entry.mtime,
        mtime_nanos: entry.mtime_nanos,
        locked: entry.locked,
    }
}

impl<'a> Filesystem for &'a NativeFs {
    type Scan = (&'a NativeFs, RefCell<fs::Walker>);

    fn areas(&self) -> Vec<String> {
        self.areas.names()
    }

    fn open_scan(&self, area: &str) -> Result<Self::Scan, wit::FsError> {
        let native: &'a NativeFs = self;
        native.timed(|| {
            native
                .areas
                .walk(
                    area,
                    Arc::new(fs::Locks::new()),
                    &fs::CallContext::default(),
                )
                .map(|walker| (native, RefCell::new(walker)))
                .map_err(|_| wit::FsError::UnknownArea(area.to_string()))
        })
    }

    fn next((native, walker): &Self::Scan, max: u32) -> wit::Page {
        native.timed(|| {
            let mut walker = walker.borrow_mut();
            let (entries, _) = walker.page(max as usize);
            wit::Page {
                entries: entries.into_iter().map(wit_entry).collect(),
                problems: Vec::new(),
                done: walker.is_done(),
            }
        })
    }

    fn remove(&self, area: &str, _: wit::RemovalReason, paths: &[String]) -> Vec<wit::Removal> {
        let context = fs::CallContext {
            dry_run: true,
            ..fs::CallContext::default()
        };
        let removals = self.timed(|| self.areas.remove_with(area, paths, &context));
        removals
            .into_iter()
            .map(|removal| wit::Removal {
                status: match removal.status {
                    fs::RemovalStatus::Removed => wit::RemovalStatus::Removed,
                    fs::RemovalStatus::Vanished => wit::RemovalStatus::Vanished,
                    fs::RemovalStatus::InUse => wit::RemovalStatus::InUse,
                    fs::RemovalStatus::NotEmpty => wit::RemovalStatus::NotEmpty,
                    fs::RemovalStatus::Failed => wit::RemovalStatus::Failed,
                    _ => wit::RemovalStatus::Refused,
                },
                bytes: removal.bytes,
                reason: removal.reason,
            })
            .collect()
    }
}

/// The host time of the last `cleanup.run`, from the host's debug event.
static WASM_HOST_MS: AtomicU64 = AtomicU64::new(0);

/// Records `host_ms` of "policy call finished" events of `cleanup.run`.
struct HostTime;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for HostTime {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Fields(Option<u64>, bool);
        impl tracing::field::Visit for Fields {
            fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
                if field.name() == "host_ms" {
                    self.0 = Some(value);
                }
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "function" && value == "cleanup.run" {
                    self.1 = true;
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut fields = Fields(None, false);
        event.record(&mut fields);
        if let Fields(Some(host_ms), true) = fields {
            WASM_HOST_MS.store(host_ms, Ordering::Relaxed);
        }
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<R>(rounds: usize, mut body: impl FnMut() -> R) -> Duration {
    median(
        (0..rounds)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(body());
                start.elapsed()
            })
            .collect(),
    )
}

/// `entries` empty files in `temp`, 1,000 per directory (built once, kept for later runs).
fn tree(root: &Path, entries: usize) -> std::io::Result<()> {
    let marker = root.join(format!(".complete-{entries}"));
    if marker.exists() {
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(root);
    for n in 0..entries {
        let dir = root.join(format!("temp/d{:04}", n / 1000));
        if n % 1000 == 0 {
            std::fs::create_dir_all(&dir)?;
        }
        std::fs::File::create(dir.join(format!("frame-{n:07}.jpg")))?;
    }
    std::fs::create_dir_all(root.join("cache"))?;
    std::fs::write(marker, b"")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(default)
    };
    {
        use tracing_subscriber::Layer;
        use tracing_subscriber::layer::SubscriberExt;
        let filter = tracing_subscriber::filter::Targets::new()
            .with_target("bachata_common", tracing::Level::DEBUG);
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(HostTime.with_filter(filter)),
        )?;
    }
    let entries = env("ENTRIES", 1_000_000);
    let rounds = env("ROUNDS", 5);
    let policy = Policy::embedded()?;

    let trivial_rounds = 2_000;
    let instantiate = time(trivial_rounds, || policy.instantiate());
    let trivial = time(trivial_rounds, || policy.http_status("VALIDATION_ERROR"));
    let native_trivial = time(trivial_rounds, || {
        bachata_common_policy::catalog::http_status(std::hint::black_box("VALIDATION_ERROR"))
    });
    // A policy set: a second component (the stock bytes, loaded as a file would be) answers
    // every concern, the embedded one none; a call picks its component by concern.
    let set = Policy::from_bytes(
        bachata_common::policy::EMBEDDED_POLICY,
        bachata_common::policy::PolicyOrigin::File("set-member.wasm".into()),
    )?;
    let trivial_set = time(trivial_rounds, || set.http_status("VALIDATION_ERROR"));
    println!("| step | median |");
    println!("|---|---|");
    println!("| fresh store + instantiation | {instantiate:?} |");
    println!("| trivial export (`errors.http-status`), fresh instance included | {trivial:?} |");
    println!("| the same through a policy set of two components | {trivial_set:?} |");
    println!("| the same function, native | {native_trivial:?} |");

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-policy-tree");
    eprintln!(
        "building a tree of {entries} files under {}",
        root.display()
    );
    tree(&root, entries)?;
    let names = vec!["temp".to_string(), "cache".to_string()];
    let areas = Arc::new(Areas::open(&root, &names)?);
    let settings = CleanupSettings::default();
    let now = now_secs();

    // Each side's own part: the call's time less what the host capabilities took (walk,
    // dry-run checks, conversion to the WIT types), as the host counts it for its deadline.
    let mut wasm_policy = Vec::new();
    let wasm = time(rounds, || {
        let start = Instant::now();
        let report = policy
            .cleanup(&areas, None, &settings, now, true, true)
            .expect("wasm cleanup");
        let host = Duration::from_millis(WASM_HOST_MS.load(Ordering::Relaxed));
        wasm_policy.push(start.elapsed().saturating_sub(host));
        assert_eq!(report.temporary_files.files_removed, entries as u64);
    });
    let native_fs = NativeFs {
        areas: Arc::clone(&areas),
        host: Cell::new(Duration::ZERO),
    };
    let native_settings = wit::CleanupSettings {
        max_temp_age_hours: settings.max_temp_age_hours,
        max_cache_size_gb: settings.max_cache_size_gb,
        cache_low_water_ratio: settings.cache_low_water_ratio,
        memory_warning_threshold: settings.memory_warning_threshold,
        disk_warning_threshold: settings.disk_warning_threshold,
        memory_critical_threshold: settings.memory_critical_threshold,
    };
    let mut native_policy = Vec::new();
    let native = time(rounds, || {
        let options = wit::RunOptions {
            now,
            force: true,
            dry_run: true,
            max_samples: 1000,
        };
        native_fs.host.set(Duration::ZERO);
        let start = Instant::now();
        let report = bachata_common_policy::cleanup::run(&&native_fs, &native_settings, &options)
            .expect("native cleanup");
        native_policy.push(start.elapsed().saturating_sub(native_fs.host.get()));
        assert_eq!(report.temporary_files.files_removed, entries as u64);
    });
    let (wasm_policy, native_policy) = (median(wasm_policy), median(native_policy));
    let ratio = wasm.as_secs_f64() / native.as_secs_f64();
    let policy_only = wasm_policy.as_secs_f64() / native_policy.as_secs_f64();
    println!();
    println!("| forced dry-run cleanup of {entries} files | median of {rounds} |");
    println!("|---|---|");
    println!("| wasm component, whole call (pages in, policy, batches out, report) | {wasm:?} |");
    println!("| same Rust policy code, native, whole call | {native:?} |");
    println!("| ratio wasm / native, whole call | {ratio:.2}× |");
    println!(
        "| policy part in wasm (call less host time; copies across the boundary included) | {wasm_policy:?} |"
    );
    println!("| policy part native | {native_policy:?} |");
    println!("| ratio wasm / native, policy part | {policy_only:.2}× |");
    Ok(())
}
