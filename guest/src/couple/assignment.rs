//! The linear sum assignment (Hungarian method): the pairing of rows with columns of a cost
//! matrix that minimizes the summed cost.
//!
//! The method is the shortest augmenting path of Crouse (2016), the one SciPy's
//! `linear_sum_assignment` runs, with its order of rows, of columns and of ties, so that equal
//! costs pair the same way as there.

/// The pairs `(row, column)` of the assignment of least summed cost for `cost`, a
/// `rows × columns` matrix in row-major order with finite values; `min(rows, columns)` pairs,
/// by increasing row. An empty matrix has no pairs.
pub fn minimize(cost: &[f64], rows: usize, columns: usize) -> Vec<(usize, usize)> {
    debug_assert_eq!(cost.len(), rows * columns);
    if rows == 0 || columns == 0 {
        return Vec::new();
    }
    // The method needs no more rows than columns: a tall matrix is solved transposed.
    let transposed = columns < rows;
    let (nr, nc) = if transposed {
        (columns, rows)
    } else {
        (rows, columns)
    };
    let at = |i: usize, j: usize| {
        if transposed {
            cost[j * columns + i]
        } else {
            cost[i * columns + j]
        }
    };
    let mut u = vec![0.0f64; nr];
    let mut v = vec![0.0f64; nc];
    let mut shortest = vec![f64::INFINITY; nc];
    let mut path = vec![usize::MAX; nc];
    let mut col4row = vec![usize::MAX; nr];
    let mut row4col = vec![usize::MAX; nc];
    let mut seen_row = vec![false; nr];
    let mut seen_column = vec![false; nc];
    let mut remaining = vec![0usize; nc];
    for current in 0..nr {
        // Shortest augmenting path from `current` to a free column.
        let mut min_value = 0.0f64;
        let mut left = nc;
        for (index, slot) in remaining.iter_mut().enumerate() {
            *slot = nc - index - 1;
        }
        seen_row.fill(false);
        seen_column.fill(false);
        shortest.fill(f64::INFINITY);
        let mut i = current;
        let sink = loop {
            let mut lowest = f64::INFINITY;
            let mut index = usize::MAX;
            seen_row[i] = true;
            for (it, &j) in remaining[..left].iter().enumerate() {
                let reduced = min_value + at(i, j) - u[i] - v[j];
                if reduced < shortest[j] {
                    path[j] = i;
                    shortest[j] = reduced;
                }
                if shortest[j] < lowest || (shortest[j] == lowest && row4col[j] == usize::MAX) {
                    lowest = shortest[j];
                    index = it;
                }
            }
            min_value = lowest;
            if index == usize::MAX {
                // Unreachable with finite costs: every column is reachable from every row.
                return Vec::new();
            }
            let j = remaining[index];
            seen_column[j] = true;
            left -= 1;
            remaining[index] = remaining[left];
            if row4col[j] == usize::MAX {
                break j;
            }
            i = row4col[j];
        };
        // Update the dual variables.
        u[current] += min_value;
        for row in 0..nr {
            if seen_row[row] && row != current {
                u[row] += min_value - shortest[col4row[row]];
            }
        }
        for column in 0..nc {
            if seen_column[column] {
                v[column] -= min_value - shortest[column];
            }
        }
        // Augment along the path.
        let mut j = sink;
        loop {
            let i = path[j];
            row4col[j] = i;
            std::mem::swap(&mut col4row[i], &mut j);
            if i == current {
                break;
            }
        }
    }
    let mut pairs: Vec<(usize, usize)> = col4row
        .iter()
        .enumerate()
        .map(|(i, &j)| if transposed { (j, i) } else { (i, j) })
        .collect();
    pairs.sort_unstable();
    pairs
}
