//! Rows of one annotation file that pull one file two ways, or two files into one place,
//! settled by the plan before the host looks at the disk, so that a dry run says what the run
//! does: rows naming one file agree or are all refused, and a target goes to one file.

use std::collections::HashMap;

use crate::types::{Placement, PlacementStatus};

fn refuse(placement: &mut Placement, reason: String) {
    placement.status = PlacementStatus::Refused;
    placement.target_path = None;
    placement.target_category = None;
    placement.reason = Some(reason);
}

/// Settles `placements` (in the file's order):
///
/// - rows naming the same file (the same normalized path) that would not all end the same way
///   (another label, one moving it and one leaving it) are all refused when one of them would
///   move it: the file stays where every row says it is until the annotation file agrees. Rows
///   that agree are left as they are: the host moves the file once and points them all there;
/// - a target is given to the first file moved there; a later row moving another file to it is
///   refused.
pub fn settle(placements: &mut [Placement]) {
    let mut rows_of: HashMap<&str, Vec<usize>> = HashMap::new();
    for (row, placement) in placements.iter().enumerate() {
        if placement.status != PlacementStatus::Refused {
            rows_of
                .entry(placement.current_path.as_str())
                .or_default()
                .push(row);
        }
    }
    let mut conflicts: Vec<(usize, usize)> = Vec::new();
    for rows in rows_of.values().filter(|rows| rows.len() > 1) {
        let first = &placements[rows[0]];
        let moves = rows
            .iter()
            .any(|&row| placements[row].status == PlacementStatus::Move);
        let agree = rows.iter().all(|&row| {
            placements[row].status == first.status
                && placements[row].target_path == first.target_path
        });
        if moves && !agree {
            for &row in rows {
                let other = if row == rows[0] { rows[1] } else { rows[0] };
                conflicts.push((row, other));
            }
        }
    }
    for (row, other) in conflicts {
        let reason = format!(
            "clip {:?} names the same file with another label: it stays until the annotation file agrees",
            placements[other].clip_id
        );
        refuse(&mut placements[row], reason);
    }

    let mut owner: HashMap<String, usize> = HashMap::new();
    for row in 0..placements.len() {
        if placements[row].status != PlacementStatus::Move {
            continue;
        }
        let target = placements[row].target_path.clone().unwrap_or_default();
        match owner.get(&target) {
            Some(&first) if placements[first].current_path != placements[row].current_path => {
                let reason = format!(
                    "{target} is the target of clip {:?}'s file already",
                    placements[first].clip_id
                );
                refuse(&mut placements[row], reason);
            }
            Some(_) => {}
            None => {
                owner.insert(target, row);
            }
        }
    }
}
