//! The directory organizer's decisions: a move label's category (exact match after
//! normalizing, never a substring) and each clip's place, `<category>/<label>/<file name>`
//! (`wit/organizer.wit`).

mod rows;

use crate::catalog;
use crate::types::{
    AppError, Category, Clip, ErrorKind, Placement, PlacementStatus, ValidationContext,
};

/// The video file extensions, compared case-insensitively.
pub const VIDEO_EXTENSIONS: [&str; 5] = ["mp4", "mov", "avi", "mkv", "webm"];

/// The stock mapping.
pub fn stock_mapping() -> Vec<Category> {
    let category = |name: &str, labels: &[&str]| Category {
        name: name.to_string(),
        labels: labels.iter().map(|label| label.to_string()).collect(),
    };
    vec![
        category(
            "basic_moves",
            &[
                "basic",
                "basic_step",
                "forward_backward",
                "footwork",
                "golpes",
                "bolero",
            ],
        ),
        category(
            "partner_work",
            &["cross_body_lead", "double_cross_body_lead"],
        ),
        category(
            "turns_spins",
            &["ladyturn", "lady_right_turn", "lady_left_turn", "spin"],
        ),
        category(
            "styling",
            &[
                "arm_styling",
                "body_roll",
                "bodywaves",
                "hiprolls",
                "headrolls",
                "style",
            ],
        ),
        category(
            "advanced",
            &[
                "dip",
                "hammerlock",
                "shadow",
                "shadow_position",
                "combination",
            ],
        ),
        category("transitions", &["intros", "outro"]),
    ]
}

/// Trimmed, lower-cased, `-` and spaces turned into `_`.
pub fn normalize_label(label: &str) -> String {
    label
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == '-' || c == ' ' { '_' } else { c })
        .collect()
}

fn invalid(field: &str, value: &str, message: String) -> AppError {
    catalog::make_error(
        ErrorKind::Validation(ValidationContext {
            field: Some(field.to_string()),
            value: Some(value.to_string()),
        }),
        message,
        Vec::new(),
    )
}

/// Whether `name` is a category folder name: 1 to 64 of `a-z`, `0-9`, `_`, `-`.
pub fn valid_category(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Whether a normalized label can be a folder name: not empty, at most 128 bytes, no `/`,
/// `\`, NUL or control character, not `.`-led.
fn valid_folder(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 128
        && !label.starts_with('.')
        && !label
            .chars()
            .any(|c| matches!(c, '/' | '\\') || c.is_control())
}

/// `check-mapping`.
pub fn check_mapping(mapping: &[Category]) -> Result<(), AppError> {
    let mut seen: Vec<(String, &str)> = Vec::new();
    for category in mapping {
        if !valid_category(&category.name) {
            return Err(invalid(
                "mapping",
                &category.name,
                format!(
                    "category {:?} is not a valid folder name: 1 to 64 lower-case letters, digits, '_' or '-'",
                    category.name
                ),
            ));
        }
        if mapping
            .iter()
            .filter(|other| other.name == category.name)
            .count()
            > 1
        {
            return Err(invalid(
                "mapping",
                &category.name,
                format!("category {:?} is listed twice", category.name),
            ));
        }
        for label in &category.labels {
            let normalized = normalize_label(label);
            if !valid_folder(&normalized) {
                return Err(invalid(
                    "mapping",
                    label,
                    format!(
                        "label {label:?} of {:?} cannot be a folder name",
                        category.name
                    ),
                ));
            }
            if let Some((_, other)) = seen.iter().find(|(l, _)| *l == normalized) {
                if *other != category.name {
                    return Err(invalid(
                        "mapping",
                        label,
                        format!(
                            "label {normalized:?} is in two categories: {other:?} and {:?}",
                            category.name
                        ),
                    ));
                }
            } else {
                seen.push((normalized, &category.name));
            }
        }
    }
    Ok(())
}

/// `categorize`: the category and the label's folder.
pub fn categorize(
    label: &str,
    mapping: &[Category],
    default_category: Option<&str>,
) -> Option<(String, String)> {
    let normalized = normalize_label(label);
    let compact = |text: &str| text.replace('_', "");
    let find = |same: &dyn Fn(&str) -> bool| {
        mapping.iter().find_map(|category| {
            category
                .labels
                .iter()
                .map(|l| normalize_label(l))
                .find(|l| same(l))
                .map(|l| (category.name.clone(), l))
        })
    };
    find(&|l| l == normalized)
        .or_else(|| {
            let key = compact(&normalized);
            (!key.is_empty())
                .then(|| find(&|l| compact(l) == key))
                .flatten()
        })
        .or_else(|| {
            let category = default_category?;
            valid_folder(&normalized).then(|| (category.to_string(), normalized))
        })
}

/// A relative path's components with `.` and empty ones dropped; `None` when it is
/// absolute, climbs (`..`), holds a NUL or a backslash, or is empty.
fn components(path: &str) -> Option<Vec<&str>> {
    if path.starts_with('/') || path.contains(['\0', '\\']) {
        return None;
    }
    let parts: Vec<&str> = path
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    if parts.is_empty() || parts.contains(&"..") {
        return None;
    }
    Some(parts)
}

/// Whether a file name has a video extension.
pub fn is_video(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(stem, extension)| {
        !stem.is_empty()
            && VIDEO_EXTENSIONS
                .iter()
                .any(|video| video.eq_ignore_ascii_case(extension))
    })
}

/// `plan`: each clip placed, then the rows that name one file or one target settled
/// ([`rows::settle`]).
pub fn plan(
    clips: &[Clip],
    mapping: &[Category],
    default_category: Option<&str>,
) -> Result<Vec<Placement>, AppError> {
    check_mapping(mapping)?;
    if let Some(category) = default_category
        && !valid_category(category)
    {
        return Err(invalid(
            "default_category",
            category,
            format!(
                "default category {category:?} is not a valid folder name: 1 to 64 lower-case letters, digits, '_' or '-'"
            ),
        ));
    }
    let mut placements: Vec<Placement> = clips
        .iter()
        .map(|clip| place(clip, mapping, default_category))
        .collect();
    rows::settle(&mut placements);
    Ok(placements)
}

fn place(clip: &Clip, mapping: &[Category], default_category: Option<&str>) -> Placement {
    let refused = |reason: &str| Placement {
        clip_id: clip.clip_id.clone(),
        current_path: clip.video_path.clone(),
        target_path: None,
        target_category: None,
        status: PlacementStatus::Refused,
        reason: Some(reason.to_string()),
    };
    let Some(parts) = components(&clip.video_path) else {
        return refused("the path is empty, absolute or leaves the dataset root (..)");
    };
    let file = parts[parts.len() - 1];
    if !is_video(file) {
        return refused("not a video file (.mp4, .mov, .avi, .mkv, .webm)");
    }
    let current = parts.join("/");
    let Some((category, label)) = categorize(&clip.move_label, mapping, default_category) else {
        return Placement {
            clip_id: clip.clip_id.clone(),
            current_path: current,
            target_path: None,
            target_category: None,
            status: PlacementStatus::Unmapped,
            reason: Some(format!("no category for label {:?}", clip.move_label)),
        };
    };
    let target = format!("{category}/{label}/{file}");
    let status = if target == current {
        PlacementStatus::AlreadyOrganized
    } else {
        PlacementStatus::Move
    };
    Placement {
        clip_id: clip.clip_id.clone(),
        current_path: current,
        target_path: Some(target),
        target_category: Some(category),
        status,
        reason: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(path: &str, label: &str) -> Clip {
        Clip {
            clip_id: "c".into(),
            video_path: path.into(),
            move_label: label.into(),
        }
    }

    #[test]
    fn every_stock_label_and_its_variants() {
        let stock = stock_mapping();
        for category in &stock {
            for label in &category.labels {
                let variants = [
                    label.clone(),
                    label.to_uppercase(),
                    label.replace('_', "-"),
                    label.replace('_', " ").to_uppercase(),
                    format!("  {label} "),
                ];
                for variant in variants {
                    assert_eq!(
                        categorize(&variant, &stock, None),
                        Some((category.name.clone(), label.clone())),
                        "{variant}"
                    );
                }
            }
        }
        assert_eq!(
            categorize("Lady-Turn", &stock, None),
            Some(("turns_spins".into(), "ladyturn".into()))
        );
        assert_eq!(
            categorize("CROSS BODY LEAD", &stock, None),
            Some(("partner_work".into(), "cross_body_lead".into()))
        );
        assert_eq!(
            categorize("Body-Waves", &stock, None),
            Some(("styling".into(), "bodywaves".into()))
        );
    }

    #[test]
    fn never_a_substring() {
        let stock = stock_mapping();
        for label in [
            "basic_turn",
            "spinning",
            "dips",
            "shadow_dip",
            "bas",
            "",
            "_",
        ] {
            assert_eq!(categorize(label, &stock, None), None, "{label}");
        }
        assert_eq!(
            categorize("Mambo Step", &stock, Some("other")),
            Some(("other".into(), "mambo_step".into()))
        );
        assert_eq!(categorize("../x", &stock, Some("other")), None);
    }

    #[test]
    fn mappings_are_checked() {
        let both = vec![
            Category {
                name: "a".into(),
                labels: vec!["Spin".into()],
            },
            Category {
                name: "b".into(),
                labels: vec!["spin".into()],
            },
        ];
        assert!(check_mapping(&both).is_err());
        let bad_name = vec![Category {
            name: "../up".into(),
            labels: vec!["x".into()],
        }];
        assert!(check_mapping(&bad_name).is_err());
        let bad_label = vec![Category {
            name: "a".into(),
            labels: vec!["x/y".into()],
        }];
        assert!(check_mapping(&bad_label).is_err());
        assert!(check_mapping(&stock_mapping()).is_ok());
    }

    #[test]
    fn plans_refuse_paths_that_leave_the_root() {
        let stock = stock_mapping();
        let plan = plan(
            &[
                clip("raw/Basic/clip 1.MP4", "Basic"),
                clip("basic_moves/basic/clip2.mp4", "basic"),
                clip("./basic_moves//basic/clip3.mov", "basic"),
                clip("../x.mp4", "basic"),
                clip("/etc/x.mp4", "basic"),
                clip("a/../../x.mp4", "basic"),
                clip("raw/notes.txt", "basic"),
                clip("raw/unknown.mp4", "salsa"),
                clip("", "basic"),
            ],
            &stock,
            None,
        )
        .expect("a plan");
        let statuses: Vec<_> = plan.iter().map(|p| p.status).collect();
        use PlacementStatus::*;
        assert_eq!(
            statuses,
            vec![
                Move,
                AlreadyOrganized,
                AlreadyOrganized,
                Refused,
                Refused,
                Refused,
                Refused,
                Unmapped,
                Refused
            ]
        );
        assert_eq!(
            plan[0].target_path.as_deref(),
            Some("basic_moves/basic/clip 1.MP4")
        );
        assert!(super::plan(&[], &stock, Some("Bad Name")).is_err());
    }

    #[test]
    fn rows_of_one_file_agree_or_are_refused_and_a_target_goes_to_one_file() {
        let stock = stock_mapping();
        let row = |id: &str, path: &str, label: &str| Clip {
            clip_id: id.into(),
            video_path: path.into(),
            move_label: label.into(),
        };
        let plan = plan(
            &[
                // The same file twice, the same label: both move (the host moves it once).
                row("a", "raw/a.mp4", "spin"),
                row("a", "./raw//a.mp4", "Spin"),
                // The same file with two labels, or one that leaves it: all refused.
                row("b", "raw/b.mp4", "spin"),
                row("b2", "raw/b.mp4", "dip"),
                row("c", "raw/c.mp4", "spin"),
                row("c2", "raw/c.mp4", "mambo"),
                // Two files to one target: the first keeps it.
                row("d", "raw/x/d.mp4", "dip"),
                row("d2", "raw/y/d.mp4", "dip"),
                // One file in place named twice with two labels, nothing moving: left alone.
                row("e", "advanced/dip/e.mp4", "dip"),
                row("e2", "advanced/dip/e.mp4", "mambo"),
            ],
            &stock,
            None,
        )
        .expect("a plan");
        use PlacementStatus::*;
        let statuses: Vec<_> = plan.iter().map(|p| p.status).collect();
        assert_eq!(
            statuses,
            vec![
                Move,
                Move,
                Refused,
                Refused,
                Refused,
                Refused,
                Move,
                Refused,
                AlreadyOrganized,
                Unmapped
            ]
        );
        assert_eq!(plan[0].target_path, plan[1].target_path);
        assert!(
            plan[3]
                .reason
                .as_deref()
                .is_some_and(|r| r.contains("\"b\"")),
            "{:?}",
            plan[3].reason
        );
        assert!(plan[7].target_path.is_none());
    }
}
