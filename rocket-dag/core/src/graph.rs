//! Dependency graphs: a topological order, or the path of a cycle.

use std::collections::{HashMap, VecDeque};

/// The nodes `0..upstream.len()` in topological order (Kahn's algorithm with a FIFO, so ties
/// keep their index order), or, when the edges hold a cycle, its path: the nodes on it,
/// starting at the lowest index and ending with that index again (`a -> b -> a`).
///
/// `upstream[i]` lists the nodes `i` depends on.
pub fn topological_order(upstream: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    let n = upstream.len();
    let mut downstream = vec![Vec::new(); n];
    for (i, ups) in upstream.iter().enumerate() {
        for &u in ups {
            downstream[u].push(i);
        }
    }
    let mut indeg: Vec<usize> = upstream.iter().map(Vec::len).collect();
    let mut queue: VecDeque<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
    let mut out = Vec::with_capacity(n);
    while let Some(i) = queue.pop_front() {
        out.push(i);
        for &d in &downstream[i] {
            indeg[d] -= 1;
            if indeg[d] == 0 {
                queue.push_back(d);
            }
        }
    }
    if out.len() == n {
        return Ok(out);
    }
    // Every node left has an unprocessed upstream node: walk upstream until one repeats.
    let start = (0..n).find(|&i| indeg[i] > 0).unwrap_or(0);
    let mut pos = HashMap::new();
    let mut path = Vec::new();
    let mut cur = start;
    while let Some(next) = upstream[cur].iter().find(|&&u| indeg[u] > 0) {
        if pos.contains_key(&cur) {
            break;
        }
        pos.insert(cur, path.len());
        path.push(cur);
        cur = *next;
    }
    let mut cycle: Vec<usize> = path[pos.get(&cur).copied().unwrap_or(0)..].to_vec();
    cycle.reverse();
    let first = (0..cycle.len()).min_by_key(|&i| cycle[i]).unwrap_or(0);
    cycle.rotate_left(first);
    if let Some(&f) = cycle.first() {
        cycle.push(f);
    }
    Err(cycle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_or_names_the_cycle() {
        // 0 -> 1 -> 2, 0 -> 2
        assert_eq!(
            topological_order(&[vec![], vec![0], vec![0, 1]]),
            Ok(vec![0, 1, 2])
        );
        // 0 -> 1 -> 2 -> 1
        assert_eq!(
            topological_order(&[vec![], vec![0, 2], vec![1]]),
            Err(vec![1, 2, 1])
        );
        // 2 -> 0 -> 1 -> 2, and 3 alone
        assert_eq!(
            topological_order(&[vec![2], vec![0], vec![1], vec![]]),
            Err(vec![0, 1, 2, 0])
        );
        // A self-edge.
        assert_eq!(topological_order(&[vec![0]]), Err(vec![0, 0]));
    }
}
