//! Layered ("Sugiyama") placement of a directed graph, left to right: each node gets a rank
//! (column) by the longest path to it, and an order within its rank that reduces crossings.
//!
//! The order comes from barycenter sweeps. Cycles are tolerated (an architecture graph has
//! them: a task that reads and writes the same manifest) by ignoring back edges of a
//! depth-first search.
//!
//! DAGs drawn here have tens of tasks; this is the textbook algorithm in a few dozen lines,
//! which the pictures need with their own node sizes and lanes (Graphviz's `dot` would be
//! a system dependency, and the Rust ports render their own SVG).

/// Where each node goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layered {
    /// Rank (column) of each node, from 0.
    pub rank: Vec<usize>,
    /// Position of each node within its rank, from 0.
    pub order: Vec<usize>,
    /// Nodes of each rank, in order.
    pub ranks: Vec<Vec<usize>>,
}

/// Lays out `n` nodes joined by `edges` (`from → to`, indices below `n`).
pub fn layered(n: usize, edges: &[(usize, usize)]) -> Layered {
    let forward = acyclic(n, edges);
    // Longest path from a source, in a topological order of the forward edges.
    let mut indegree = vec![0usize; n];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in &forward {
        out[a].push(b);
        indegree[b] += 1;
    }
    let mut rank = vec![0usize; n];
    let mut ready: Vec<usize> = (0..n).rev().filter(|&v| indegree[v] == 0).collect();
    while let Some(v) = ready.pop() {
        for &w in &out[v] {
            rank[w] = rank[w].max(rank[v] + 1);
            indegree[w] -= 1;
            if indegree[w] == 0 {
                ready.push(w);
            }
        }
    }
    let depth = rank.iter().max().map_or(0, |m| m + 1);
    let mut ranks: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for v in 0..n {
        ranks[rank[v]].push(v);
    }
    let mut order = vec![0usize; n];
    let set_order = |ranks: &Vec<Vec<usize>>, order: &mut Vec<usize>| {
        for r in ranks {
            for (i, &v) in r.iter().enumerate() {
                order[v] = i;
            }
        }
    };
    set_order(&ranks, &mut order);
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in &forward {
        preds[b].push(a);
    }
    // A few down and up sweeps: sort each rank by the mean position of its neighbours in the
    // previous one (a stable sort keeps declaration order among ties).
    for sweep in 0..4 {
        let down = sweep % 2 == 0;
        let seq: Vec<usize> = if down {
            (1..depth).collect()
        } else {
            (0..depth.saturating_sub(1)).rev().collect()
        };
        for r in seq {
            let neighbours = |v: usize| if down { &preds[v] } else { &out[v] };
            let mut keyed: Vec<(f64, usize)> = ranks[r]
                .iter()
                .map(|&v| {
                    let ns = neighbours(v);
                    let key = if ns.is_empty() {
                        order[v] as f64
                    } else {
                        ns.iter().map(|&u| order[u] as f64).sum::<f64>() / ns.len() as f64
                    };
                    (key, v)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            ranks[r] = keyed.into_iter().map(|(_, v)| v).collect();
            for (i, &v) in ranks[r].iter().enumerate() {
                order[v] = i;
            }
        }
    }
    Layered { rank, order, ranks }
}

/// The edges without the back edges of a depth-first search from each node in index order
/// (and without self-loops), so what is left has no cycle.
fn acyclic(n: usize, edges: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges {
        if a < n && b < n && a != b {
            out[a].push(b);
        }
    }
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut mark = vec![0u8; n];
    let mut keep = Vec::with_capacity(edges.len());
    for root in 0..n {
        if mark[root] != 0 {
            continue;
        }
        let mut stack = vec![(root, 0usize)];
        mark[root] = 1;
        while let Some(&mut (v, ref mut i)) = stack.last_mut() {
            if let Some(&w) = out[v].get(*i) {
                *i += 1;
                match mark[w] {
                    1 => {} // back edge: dropped
                    0 => {
                        keep.push((v, w));
                        mark[w] = 1;
                        stack.push((w, 0));
                    }
                    _ => keep.push((v, w)),
                }
            } else {
                mark[v] = 2;
                stack.pop();
            }
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_follow_longest_paths() {
        // 0 → 1 → 2, 0 → 2, 3 alone
        let l = layered(4, &[(0, 1), (1, 2), (0, 2)]);
        assert_eq!(l.rank, vec![0, 1, 2, 0]);
        assert_eq!(l.ranks, vec![vec![0, 3], vec![1], vec![2]]);
    }

    #[test]
    fn cycles_are_laid_out() {
        let l = layered(3, &[(0, 1), (1, 2), (2, 1), (2, 2)]);
        assert_eq!(l.rank, vec![0, 1, 2]);
    }

    #[test]
    fn barycenters_uncross() {
        // 0 → 3, 1 → 2: the second rank is reordered to follow the first.
        let l = layered(4, &[(0, 3), (1, 2)]);
        assert_eq!(l.ranks[1], vec![3, 2]);
        assert_eq!(l.order[3], 0);
    }
}
