//! The limits every policy call runs under: memory, instances, tables, the deadline and the
//! size of the instance pool, with their environment variables.

use wasmtime::{ResourceLimiter, StoreLimits};

/// Resource limits applied to every policy call.
///
/// The defaults are generous for configuration and catalog work and small enough that a
/// runaway policy cannot hurt the host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Most linear memory one instance may grow to, in bytes (default 64 MiB).
    pub max_memory_bytes: usize,
    /// Most instances one call may create (default 32).
    pub max_instances: usize,
    /// Most tables one call may create (default 32).
    pub max_tables: usize,
    /// Most elements a table may hold (default 100,000).
    pub max_table_elements: usize,
    /// Longest a single call may run, in milliseconds (default 5,000); measured in
    /// [`EPOCH_TICK`] steps of the engine's epoch.
    pub timeout_ms: u64,
    /// Most calls running at once in the process (default 32): the size of the engine's
    /// pre-allocated instance pool. Read once, when the engine starts; a call beyond it
    /// fails with a clear error rather than allocating more.
    pub max_concurrent_calls: u32,
    /// Largest policy file read, in bytes (default 64 MiB; see [`super::file`]).
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
}

fn default_max_file_bytes() -> u64 {
    64 << 20
}

/// How often the engine's epoch advances; call deadlines are counted in these ticks.
pub const EPOCH_TICK: std::time::Duration = std::time::Duration::from_millis(50);

/// How often, in epoch ticks, a running call's deadline and cancel switch are checked.
pub(crate) const CHECK_TICKS: u64 = 4;

/// `duration` in epoch ticks, at least one.
pub(crate) fn ticks_for(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis() / EPOCH_TICK.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Environment variable: the largest policy file read, in MiB.
pub const MAX_FILE_VAR: &str = "BACHATA_POLICY_MAX_FILE_MB";

/// Environment variable: call deadline in milliseconds.
pub const TIMEOUT_VAR: &str = "BACHATA_POLICY_TIMEOUT_MS";
/// Environment variable: memory cap of one call in MiB.
pub const MEMORY_VAR: &str = "BACHATA_POLICY_MAX_MEMORY_MB";
/// Environment variable: most policy calls running at once (the instance pool's size).
pub const CONCURRENCY_VAR: &str = "BACHATA_POLICY_MAX_CONCURRENT_CALLS";

/// Reads an integer setting in `range` from `value`, naming the variable when it is wrong.
fn parse_setting(
    name: &str,
    value: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, String> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|number| range.contains(number))
        .ok_or_else(|| {
            format!(
                "{name}={value:?} is invalid: expected a whole number from {} to {}",
                range.start(),
                range.end()
            )
        })
}

impl Limits {
    /// The defaults, changed by `BACHATA_POLICY_TIMEOUT_MS` (1 to 600000),
    /// `BACHATA_POLICY_MAX_MEMORY_MB` (1 to 4096), `BACHATA_POLICY_MAX_CONCURRENT_CALLS`
    /// (1 to 1024) and `BACHATA_POLICY_MAX_FILE_MB` (1 to 1024) when `var` (usually the
    /// process environment) sets them.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut limits = Self::default();
        if let Some(value) = var(TIMEOUT_VAR) {
            limits.timeout_ms = parse_setting(TIMEOUT_VAR, &value, 1..=600_000)?;
        }
        if let Some(value) = var(MEMORY_VAR) {
            let mib = parse_setting(MEMORY_VAR, &value, 1..=4096)?;
            limits.max_memory_bytes = usize::try_from(mib << 20).map_err(|_| {
                format!("{MEMORY_VAR}={value:?} is more than this machine can address")
            })?;
        }
        if let Some(value) = var(CONCURRENCY_VAR) {
            limits.max_concurrent_calls = parse_setting(CONCURRENCY_VAR, &value, 1..=1024)? as u32;
        }
        if let Some(value) = var(MAX_FILE_VAR) {
            limits.max_file_bytes = parse_setting(MAX_FILE_VAR, &value, 1..=1024)? << 20;
        }
        Ok(limits)
    }

    /// The call deadline in epoch ticks (at least one).
    pub(crate) fn deadline_ticks(&self) -> u64 {
        ticks_for(std::time::Duration::from_millis(self.timeout_ms))
    }
}

/// The store's limiter: wasmtime's `StoreLimits`, remembering whether it refused memory, so a
/// trap that follows can be reported as the memory cap it is.
pub(crate) struct CallLimiter {
    pub(crate) inner: StoreLimits,
    pub(crate) memory_refused: bool,
    /// The largest linear memory the policy grew to, in bytes.
    pub(crate) peak_memory: usize,
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        if allowed {
            self.peak_memory = self.peak_memory.max(desired);
        } else {
            self.memory_refused = true;
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_memory_bytes: 64 << 20,
            max_instances: 32,
            max_tables: 32,
            max_table_elements: 100_000,
            timeout_ms: 5_000,
            max_concurrent_calls: 32,
            max_file_bytes: default_max_file_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_from_the_environment() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            }
        };
        assert_eq!(Limits::from_vars(vars(&[])), Ok(Limits::default()));
        let set = Limits::from_vars(vars(&[
            ("BACHATA_POLICY_TIMEOUT_MS", "250"),
            ("BACHATA_POLICY_MAX_MEMORY_MB", "16"),
            ("BACHATA_POLICY_MAX_CONCURRENT_CALLS", "4"),
        ]))
        .expect("valid");
        assert_eq!(
            (
                set.timeout_ms,
                set.max_memory_bytes,
                set.max_concurrent_calls
            ),
            (250, 16 << 20, 4)
        );
        for (name, value) in [
            ("BACHATA_POLICY_TIMEOUT_MS", "0"),
            ("BACHATA_POLICY_TIMEOUT_MS", "5s"),
            ("BACHATA_POLICY_MAX_MEMORY_MB", "-1"),
            ("BACHATA_POLICY_MAX_MEMORY_MB", "9999"),
            ("BACHATA_POLICY_MAX_CONCURRENT_CALLS", ""),
        ] {
            let reason =
                Limits::from_vars(|asked: &str| (asked == name).then(|| value.to_string()))
                    .expect_err(value);
            assert!(reason.starts_with(name), "{reason}");
            assert!(reason.contains("whole number"), "{reason}");
        }
    }

    #[test]
    fn deadline_ticks() {
        let limits = Limits::default();
        assert_eq!(limits.deadline_ticks(), 100);
        let tiny = Limits {
            timeout_ms: 1,
            ..Limits::default()
        };
        assert_eq!(tiny.deadline_ticks(), 1);
    }
}
