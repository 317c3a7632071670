//! The host's capabilities as the stock decisions use them: secrets through `host-secrets`,
//! files through `host-fs` (its packed pages and removal batches unpacked here), inference
//! through `host-pose`.

use crate::bindings::bachata::common::{host_fs, host_pose, host_secrets};
use crate::cleanup::Filesystem;
use crate::config::SecretStore;
use crate::types::{FsError, Page, Removal, RemovalReason, Tensor};

/// Secrets read through the host's `host-secrets` import.
pub struct HostSecrets;

impl SecretStore for HostSecrets {
    fn access(&self, project: &str, name: &str) -> Result<Option<String>, String> {
        host_secrets::access(project, name)
    }
}

/// Files reached through the host's `host-fs` import.
pub struct HostFs;

impl Filesystem for HostFs {
    type Scan = host_fs::Scan;

    fn areas(&self) -> Vec<String> {
        host_fs::areas()
    }

    fn open_scan(&self, area: &str) -> Result<host_fs::Scan, FsError> {
        host_fs::open_scan(area)
    }

    /// Unpacks the host's page; a page that is not in the packed form traps the call.
    fn next(scan: &host_fs::Scan, max: u32) -> Page {
        let page = scan.next(max);
        let entries = crate::packed::unpack_entries(&page.entries)
            .unwrap_or_else(|reason| panic!("host-fs: the host sent a malformed page: {reason}"));
        Page {
            entries,
            problems: page.problems,
            done: page.done,
        }
    }

    /// Packs the paths and unpacks the outcomes; outcomes that are malformed or not one per
    /// path trap the call.
    fn remove(&self, area: &str, reason: RemovalReason, paths: &[String]) -> Vec<Removal> {
        let packed = host_fs::remove(area, reason, &crate::packed::pack_paths(paths));
        let outcomes = crate::packed::unpack_removals(&packed).unwrap_or_else(|reason| {
            panic!("host-fs: the host sent malformed removal outcomes: {reason}")
        });
        assert_eq!(
            outcomes.len(),
            paths.len(),
            "host-fs: the host answered {} outcomes for {} paths",
            outcomes.len(),
            paths.len()
        );
        outcomes
    }
}

/// Inference through the host's `host-pose` import.
pub struct HostPose;

impl crate::pose::Inference for HostPose {
    /// Decodes the host's tensors; malformed data is the call's error.
    fn infer(&self, frames: &[u32]) -> Result<Vec<Tensor>, String> {
        host_pose::infer(frames)?
            .into_iter()
            .map(|tensor| Tensor::from_base64(tensor.shape, &tensor.data))
            .collect()
    }
}
