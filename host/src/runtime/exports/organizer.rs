//! `organizer`: move categories and the plan of a run, as the policy decides them.

use super::super::Policy;
use super::super::bindings::wit::organizer as wit;
use crate::capabilities::dataset::annotations::ClipRow;
use crate::types::error::Error;
use crate::types::organizer::{Category, Placement, PlacementStatus};

fn to_wit(mapping: &[Category]) -> Vec<wit::Category> {
    mapping
        .iter()
        .map(|category| wit::Category {
            name: category.name.clone(),
            labels: category.labels.clone(),
        })
        .collect()
}

impl Policy {
    /// The stock mapping of labels to categories.
    pub fn stock_mapping(&self) -> Result<Vec<Category>, Error> {
        let mapping = self.call("organizer.stock-mapping", |exports, store| {
            exports.organizer(&mut *store)?.call_stock_mapping(store)
        })?;
        Ok(mapping
            .into_iter()
            .map(|category| Category {
                name: category.name,
                labels: category.labels,
            })
            .collect())
    }

    /// A label as compared.
    pub fn normalize_label(&self, label: &str) -> Result<String, Error> {
        self.call("organizer.normalize-label", |exports, store| {
            exports
                .organizer(&mut *store)?
                .call_normalize_label(store, label)
        })
    }

    /// Checks a mapping.
    pub fn check_mapping(&self, mapping: &[Category]) -> Result<(), Error> {
        let mapping = to_wit(mapping);
        self.call("organizer.check-mapping", |exports, store| {
            exports
                .organizer(&mut *store)?
                .call_check_mapping(store, &mapping)
        })?
        .map_err(|error| Error::App(error.into()))
    }

    /// The category of a label and its folder, if any.
    pub fn categorize(
        &self,
        label: &str,
        mapping: &[Category],
        default_category: Option<&str>,
    ) -> Result<Option<(String, String)>, Error> {
        let mapping = to_wit(mapping);
        self.call("organizer.categorize", |exports, store| {
            exports.organizer(&mut *store)?.call_categorize(
                store,
                label,
                &mapping,
                default_category,
            )
        })
    }

    /// Every clip's place.
    pub fn plan(
        &self,
        clips: &[ClipRow],
        mapping: &[Category],
        default_category: Option<&str>,
    ) -> Result<Vec<Placement>, Error> {
        let clips: Vec<wit::Clip> = clips
            .iter()
            .map(|clip| wit::Clip {
                clip_id: clip.clip_id.clone(),
                video_path: clip.video_path.clone(),
                move_label: clip.move_label.clone(),
            })
            .collect();
        let mapping = to_wit(mapping);
        let placements = self
            .call("organizer.plan", |exports, store| {
                exports
                    .organizer(&mut *store)?
                    .call_plan(store, &clips, &mapping, default_category)
            })?
            .map_err(|error| Error::App(error.into()))?;
        Ok(placements
            .into_iter()
            .map(|p| Placement {
                clip_id: p.clip_id,
                current_path: p.current_path,
                target_path: p.target_path,
                target_category: p.target_category,
                status: match p.status {
                    wit::PlacementStatus::Move => PlacementStatus::Move,
                    wit::PlacementStatus::AlreadyOrganized => PlacementStatus::AlreadyOrganized,
                    wit::PlacementStatus::Unmapped => PlacementStatus::Unmapped,
                    wit::PlacementStatus::Refused => PlacementStatus::Refused,
                },
                reason: p.reason,
            })
            .collect())
    }
}
