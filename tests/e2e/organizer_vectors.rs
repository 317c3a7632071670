//! The organizer's shared vectors (`tests/vectors/organizer.json`) through the Rust host.

use bachata_common::Policy;
use bachata_common::organizer::{Category, PlacementStatus};
use serde_json::Value;

use crate::vectors::{items, vectors};

fn mapping(value: &Value, stock: &[Category]) -> Vec<Category> {
    if value.is_null() {
        return stock.to_vec();
    }
    items(value)
        .iter()
        .map(|category| Category {
            name: category["name"].as_str().expect("name").to_string(),
            labels: items(&category["labels"])
                .iter()
                .map(|label| label.as_str().expect("label").to_string())
                .collect(),
        })
        .collect()
}

fn status_name(status: PlacementStatus) -> &'static str {
    match status {
        PlacementStatus::Move => "move",
        PlacementStatus::AlreadyOrganized => "already-organized",
        PlacementStatus::Unmapped => "unmapped",
        PlacementStatus::Refused => "refused",
    }
}

#[test]
fn organizer_vectors() {
    let cases = vectors("organizer.json");
    let policy = Policy::shared().expect("policy");
    let stock = policy.stock_mapping().expect("call");
    assert_eq!(stock, mapping(&cases["stock-mapping"], &[]));
    for pair in items(&cases["normalize-label"]) {
        let label = pair[0].as_str().expect("label");
        assert_eq!(
            policy.normalize_label(label).expect("call"),
            pair[1].as_str().expect("normalized"),
            "{label:?}"
        );
    }
    for case in items(&cases["categorize"]) {
        let label = case["label"].as_str().expect("label");
        let got = policy
            .categorize(
                label,
                &mapping(&case["mapping"], &stock),
                case["default-category"].as_str(),
            )
            .expect("call");
        let expected = case["expect"].as_array().map(|pair| {
            (
                pair[0].as_str().expect("category").to_string(),
                pair[1].as_str().expect("folder").to_string(),
            )
        });
        assert_eq!(got, expected, "categorize({label:?})");
    }
    for case in items(&cases["check-mapping"]) {
        let name = case["name"].as_str().expect("name");
        let got = policy.check_mapping(&mapping(&case["mapping"], &stock));
        match case["expect"].as_str() {
            Some("ok") => assert!(got.is_ok(), "{name}"),
            Some(code) => assert_eq!(
                got.expect_err(name).to_app_error().error_code(),
                code,
                "{name}"
            ),
            None => panic!("{name}: expect"),
        }
    }
    for case in items(&cases["plan"]) {
        let name = case["name"].as_str().expect("name");
        let clips: Vec<bachata_common::capabilities::dataset::annotations::ClipRow> =
            items(&case["clips"])
                .iter()
                .map(
                    |clip| bachata_common::capabilities::dataset::annotations::ClipRow {
                        clip_id: clip["clip-id"].as_str().expect("id").to_string(),
                        video_path: clip["video-path"].as_str().expect("path").to_string(),
                        move_label: clip["move-label"].as_str().expect("label").to_string(),
                    },
                )
                .collect();
        let got = policy.plan(
            &clips,
            &mapping(&case["mapping"], &stock),
            case["default-category"].as_str(),
        );
        if let Some(code) = case["expect"].as_str() {
            assert_eq!(
                got.expect_err(name).to_app_error().error_code(),
                code,
                "{name}"
            );
            continue;
        }
        let got = got.expect(name);
        let expected = items(&case["expect"]);
        assert_eq!(got.len(), expected.len(), "{name}");
        for (placement, want) in got.iter().zip(expected) {
            let as_json = serde_json::json!({
                "clip-id": placement.clip_id,
                "current-path": placement.current_path,
                "target-path": placement.target_path,
                "target-category": placement.target_category,
                "status": status_name(placement.status),
            });
            for (key, value) in want.as_object().expect("object") {
                assert!(
                    as_json.get(key).is_some(),
                    "{name}: a field the runner does not know: {key}"
                );
                assert_eq!(&as_json[key], value, "{name}: {key}");
            }
        }
    }
}
