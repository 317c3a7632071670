//! The tracker and lead/follow on hand-made box sequences, and on the shared vectors
//! (`tests/vectors/couple.json`, made by a reference on SciPy from the original rules).

use super::*;

/// Equal by their debug form (the generated types have no `PartialEq`).
#[track_caller]
fn same<T: std::fmt::Debug>(a: T, b: T) {
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

fn b(x1: f64, y1: f64, x2: f64, y2: f64) -> Bbox {
    Bbox { x1, y1, x2, y2 }
}

fn shifted(a: Bbox, dx: f64) -> Bbox {
    b(a.x1 + dx, a.y1, a.x2 + dx, a.y2)
}

fn start() -> TrackerState {
    TrackerState {
        tracks: Vec::new(),
        next_id: 0,
    }
}

fn cfg(iou_threshold: f64, max_age: u32) -> TrackerConfig {
    TrackerConfig {
        iou_threshold,
        max_age,
    }
}

const LEAD: Bbox = Bbox {
    x1: 100.0,
    y1: 100.0,
    x2: 200.0,
    y2: 400.0,
};
const FOLLOW: Bbox = Bbox {
    x1: 500.0,
    y1: 100.0,
    x2: 600.0,
    y2: 400.0,
};

/// Runs `frames` one call per frame and once for all, checks both agree, returns the answers.
fn run(frames: &[Vec<Bbox>], config: &TrackerConfig) -> Vec<FrameRoles> {
    let (whole_state, whole) = update(start(), frames, config).expect("track");
    let mut state = start();
    let mut each = Vec::new();
    for frame in frames {
        let (next, mut answer) = update(state, std::slice::from_ref(frame), config).expect("track");
        state = next;
        each.append(&mut answer);
    }
    same(&each, &whole);
    same(&state, &whole_state);
    whole
}

#[test]
fn crossing_dancers_keep_their_ids_and_swap_roles() {
    let frames: Vec<Vec<Bbox>> = (0..21)
        .map(|i| {
            vec![
                shifted(LEAD, 20.0 * f64::from(i)),
                shifted(FOLLOW, -20.0 * f64::from(i)),
            ]
        })
        .collect();
    let answers = run(&frames, &cfg(0.5, 30));
    assert!(answers.iter().all(|a| a.ids == [0, 1]));
    assert_eq!((answers[0].lead, answers[0].follow), (Some(0), Some(1)));
    assert_eq!((answers[20].lead, answers[20].follow), (Some(1), Some(0)));
}

#[test]
fn a_dancer_back_within_max_age_keeps_the_id_after_it_gets_a_new_one() {
    // Seen twice (a track is one frame unseen after the frame it starts in), then away for 30.
    let mut frames = vec![vec![LEAD, FOLLOW]; 2];
    frames.extend(std::iter::repeat_n(vec![LEAD], 30));
    frames.push(vec![LEAD, FOLLOW]);
    let answers = run(&frames, &cfg(0.5, 30));
    assert_eq!(answers.last().map(|a| a.ids.clone()), Some(vec![0, 1]));
    frames.insert(2, vec![LEAD]);
    let answers = run(&frames, &cfg(0.5, 30));
    assert_eq!(answers.last().map(|a| a.ids.clone()), Some(vec![0, 2]));
}

#[test]
fn three_people_the_leftmost_leads_the_rightmost_follows() {
    let middle = b(300.0, 0.0, 400.0, 300.0);
    let answers = run(&[vec![middle, FOLLOW, LEAD]], &cfg(0.5, 30));
    assert_eq!(answers[0].ids, [0, 1, 2]);
    assert_eq!((answers[0].lead, answers[0].follow), (Some(2), Some(1)));
}

#[test]
fn roles_of_nobody_and_of_one() {
    same(
        lead_follow(&[]).expect("roles"),
        Roles {
            lead: None,
            follow: None,
        },
    );
    same(
        lead_follow(&[FOLLOW]).expect("roles"),
        Roles {
            lead: Some(0),
            follow: None,
        },
    );
    // Equal left edges keep the order given.
    let same = lead_follow(&[b(1.0, 0.0, 2.0, 2.0), b(1.0, 1.0, 3.0, 3.0)]).expect("roles");
    assert_eq!((same.lead, same.follow), (Some(0), Some(1)));
}

#[test]
fn an_empty_frame_ages_every_track() {
    let (state, _) = update(start(), &[vec![LEAD, FOLLOW]], &cfg(0.5, 30)).expect("track");
    let (state, answers) = update(state, &[vec![], vec![]], &cfg(0.5, 30)).expect("track");
    assert!(answers.iter().all(|a| a.ids.is_empty() && a.lead.is_none()));
    assert!(state.tracks.iter().all(|t| t.unseen == 3));
    assert_eq!(state.next_id, 2);
}

#[test]
fn iou_matches_the_original() {
    assert_eq!(
        iou(&b(0.0, 0.0, 100.0, 100.0), &b(200.0, 200.0, 300.0, 300.0)),
        0.0
    );
    assert_eq!(
        iou(&b(0.0, 0.0, 100.0, 100.0), &b(0.0, 0.0, 100.0, 100.0)),
        1.0
    );
    let partial = iou(&b(0.0, 0.0, 100.0, 100.0), &b(50.0, 50.0, 150.0, 150.0));
    assert!((partial - 2500.0 / 17500.0).abs() < 1e-12);
    assert_eq!(iou(&b(5.0, 5.0, 5.0, 5.0), &b(5.0, 5.0, 5.0, 5.0)), 0.0);
    assert_eq!(
        iou(&b(0.0, 0.0, 1e308, 1e308), &b(0.0, 0.0, 1e308, 1e308)),
        0.0
    );
}

#[test]
fn the_rate_is_low_under_thirty_percent() {
    same(
        rate(0, 0),
        DetectionRate {
            rate: 0.0,
            low: true,
        },
    );
    assert!(!rate(10, 3).low);
    assert!(rate(1000, 299).low);
    assert_eq!(rate(4, 9).rate, 1.0);
}

#[test]
fn bad_input_is_a_validation_error_naming_the_field() {
    let field = |error: AppError| match error.kind {
        ErrorKind::Validation(context) => context.field.unwrap_or_default(),
        other => panic!("not a validation error: {other:?}"),
    };
    let nan = b(f64::NAN, 0.0, 1.0, 1.0);
    let error = update(start(), &[vec![LEAD], vec![LEAD, nan]], &cfg(0.5, 30)).expect_err("nan");
    assert_eq!(field(error), "frames[1][1]");
    let inverted = b(2.0, 0.0, 1.0, 1.0);
    assert_eq!(
        field(lead_follow(&[inverted]).expect_err("x1 > x2")),
        "boxes[0]"
    );
    assert_eq!(
        field(update(start(), &[], &cfg(1.5, 30)).expect_err("threshold")),
        "iou_threshold"
    );
    assert_eq!(
        field(update(start(), &[], &cfg(f64::NAN, 30)).expect_err("nan")),
        "iou_threshold"
    );
    let twice = TrackerState {
        tracks: vec![
            Track {
                id: 3,
                bbox: LEAD,
                unseen: 0,
            },
            Track {
                id: 3,
                bbox: FOLLOW,
                unseen: 0,
            },
        ],
        next_id: 4,
    };
    assert_eq!(
        field(update(twice, &[], &cfg(0.5, 30)).expect_err("twice")),
        "state.tracks"
    );
    let behind = TrackerState {
        tracks: vec![Track {
            id: 3,
            bbox: LEAD,
            unseen: 0,
        }],
        next_id: 3,
    };
    assert_eq!(
        field(update(behind, &[], &cfg(0.5, 30)).expect_err("behind")),
        "state.next_id"
    );
    let full = TrackerState {
        tracks: Vec::new(),
        next_id: u64::MAX,
    };
    assert_eq!(
        field(update(full, &[vec![LEAD]], &cfg(0.5, 30)).expect_err("ids")),
        "state.next_id"
    );
    let crowd = vec![LEAD; MAX_PEOPLE + 1];
    assert_eq!(
        field(update(start(), &[crowd], &cfg(0.5, 30)).expect_err("crowd")),
        "frames[0]"
    );
}

#[test]
fn many_people_and_tracks_stay_within_the_pair_limit() {
    let row: Vec<Bbox> = (0..1000)
        .map(|i| shifted(LEAD, 7.0 * f64::from(i)))
        .collect();
    let (state, _) = update(start(), std::slice::from_ref(&row), &cfg(0.5, 30)).expect("first");
    let (_, answers) = update(state, &[row], &cfg(0.5, 30)).expect("second");
    assert_eq!(answers[0].ids, (0..1000).collect::<Vec<u64>>());
}

#[test]
fn assignment_of_the_least_total_cost() {
    // Greedy would pair row 0 with column 0 (cost 1) and row 1 with column 1 (cost 10).
    let pairs = minimize(&[1.0, 2.0, 2.0, 10.0], 2, 2);
    assert_eq!(pairs, [(0, 1), (1, 0)]);
    // Constant costs give the identity; tall and wide matrices pair min(rows, columns).
    assert_eq!(minimize(&[0.0; 9], 3, 3), [(0, 0), (1, 1), (2, 2)]);
    assert_eq!(minimize(&[3.0, 1.0, 2.0], 3, 1), [(1, 0)]);
    assert_eq!(minimize(&[3.0, 1.0, 2.0], 1, 3), [(0, 1)]);
    assert!(minimize(&[], 0, 4).is_empty());
}

mod vectors {
    use super::*;
    use serde_json::Value;

    fn bbox(value: &Value) -> Bbox {
        let f = |key: &str| value[key].as_f64().expect("edge");
        b(f("x1"), f("y1"), f("x2"), f("y2"))
    }

    fn index(value: &Value) -> Option<u32> {
        value.as_u64().map(|i| i as u32)
    }

    #[test]
    fn every_case_of_the_shared_vectors() {
        let text = include_str!("../../../tests/vectors/couple.json");
        let cases: Value = serde_json::from_str(text).expect("json");
        let cases = cases["cases"].as_array().expect("cases");
        assert!(cases.len() >= 50);
        for case in cases {
            let name = case["name"].as_str().expect("name");
            let config = cfg(
                case["config"]["iou-threshold"].as_f64().expect("threshold"),
                case["config"]["max-age"].as_u64().expect("age") as u32,
            );
            let frames: Vec<Vec<Bbox>> = case["frames"]
                .as_array()
                .expect("frames")
                .iter()
                .map(|frame| frame.as_array().expect("frame").iter().map(bbox).collect())
                .collect();
            let answers = run(&frames, &config);
            for (number, (answer, expect)) in answers
                .iter()
                .zip(case["expect"].as_array().expect("expect"))
                .enumerate()
            {
                let ids: Vec<u64> = expect["ids"]
                    .as_array()
                    .expect("ids")
                    .iter()
                    .map(|i| i.as_u64().expect("id"))
                    .collect();
                assert_eq!(answer.ids, ids, "{name}: frame {number}");
                assert_eq!(
                    answer.lead,
                    index(&expect["lead"]),
                    "{name}: frame {number}"
                );
                assert_eq!(
                    answer.follow,
                    index(&expect["follow"]),
                    "{name}: frame {number}"
                );
            }
            let (state, _) = update(start(), &frames, &config).expect("track");
            let expect = &case["state"];
            assert_eq!(
                state.next_id,
                expect["next-id"].as_u64().expect("next"),
                "{name}"
            );
            let tracks: Vec<(u64, Bbox, u32)> = expect["tracks"]
                .as_array()
                .expect("tracks")
                .iter()
                .map(|t| {
                    (
                        t["id"].as_u64().expect("id"),
                        bbox(&t["bbox"]),
                        t["unseen"].as_u64().expect("unseen") as u32,
                    )
                })
                .collect();
            let got: Vec<(u64, Bbox, u32)> = state
                .tracks
                .iter()
                .map(|t| (t.id, t.bbox, t.unseen))
                .collect();
            assert_eq!(
                format!("{got:?}"),
                format!("{tracks:?}"),
                "{name}: final state"
            );
        }
    }
}
