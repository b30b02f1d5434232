//! Reciprocal Rank Fusion of several ranked lists.

use std::collections::HashMap;
use std::hash::Hash;

/// The RRF constant used by search: 60, the value from Cormack, Clarke and Büttcher
/// (SIGIR 2009), which damps the weight of the very first ranks.
pub const DEFAULT_RRF_K: f64 = 60.0;

/// Fuses ranked lists (best first) into one: each item scores `Σ 1 / (rrf_k + rank)`
/// over the lists it appears in, with ranks counted from 1. Returns items best first;
/// equal scores keep the order of first appearance (earlier list, better rank).
/// Cost: O(total items).
///
/// ```
/// use strata_search::reciprocal_rank_fusion;
/// let fused = reciprocal_rank_fusion(&[vec!["a", "b"], vec!["b", "c"]], 60.0);
/// assert_eq!(fused[0].0, "b");
/// ```
pub fn reciprocal_rank_fusion<K: Clone + Eq + Hash>(lists: &[Vec<K>], rrf_k: f64) -> Vec<(K, f64)> {
    let mut scores: HashMap<K, (f64, usize)> = HashMap::new();
    let mut seen = 0usize;
    for list in lists {
        for (i, item) in list.iter().enumerate() {
            let add = 1.0 / (rrf_k + (i + 1) as f64);
            let entry = scores.entry(item.clone()).or_insert_with(|| {
                seen += 1;
                (0.0, seen)
            });
            entry.0 += add;
        }
    }
    let mut out: Vec<(K, f64, usize)> = scores.into_iter().map(|(k, (s, o))| (k, s, o)).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    out.into_iter().map(|(k, s, _)| (k, s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_in_both_lists_win_and_scores_follow_the_formula() {
        let fused = reciprocal_rank_fusion(&[vec![1, 2, 3], vec![3, 4]], 60.0);
        assert_eq!(fused[0].0, 3);
        assert!((fused[0].1 - (1.0 / 63.0 + 1.0 / 61.0)).abs() < 1e-12);
        assert_eq!(fused[1], (1, 1.0 / 61.0));
        let order: Vec<i32> = fused.iter().map(|f| f.0).collect();
        assert_eq!(order, vec![3, 1, 2, 4]);
    }

    #[test]
    fn empty_input() {
        assert!(reciprocal_rank_fusion::<u8>(&[], 60.0).is_empty());
    }
}
