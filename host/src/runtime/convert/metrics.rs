//! Resource snapshots lent through `host-metrics`.

use super::super::bindings::wit::host_metrics;
use crate::capabilities::metrics;

/// Converts a host snapshot to the WIT record.
pub(crate) fn to_wit_snapshot(
    snapshot: &metrics::SystemResources,
) -> host_metrics::SystemResources {
    host_metrics::SystemResources {
        taken_at: snapshot.taken_at,
        memory: host_metrics::Memory {
            total: snapshot.memory.total,
            available: snapshot.memory.available,
            used: snapshot.memory.used,
            used_ratio: snapshot.memory.used_ratio,
            container_limited: snapshot.memory.container_limited,
        },
        disk: host_metrics::Disk {
            total: snapshot.disk.total,
            free: snapshot.disk.free,
            used: snapshot.disk.used,
            used_ratio: snapshot.disk.used_ratio,
        },
        cpu_ratio: snapshot.cpu_ratio,
        load_average: snapshot.load_average,
        areas: snapshot
            .areas
            .iter()
            .map(|area| host_metrics::AreaUsage {
                name: area.name.clone(),
                exists: area.exists,
                size: area.size,
                file_count: area.file_count,
            })
            .collect(),
    }
}
