//! Bounded top-k selection: keeps the `k` best `(score, id)` pairs seen so far.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A scored point id. Ordered so that the *worst* entry is the heap's maximum: lower
/// score is worse, and on equal scores the larger id is worse (deterministic ties).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scored {
    pub(crate) score: f32,
    pub(crate) id: u32,
}

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reverse score order: a greater element is a worse hit.
        other
            .score
            .total_cmp(&self.score)
            .then(self.id.cmp(&other.id))
    }
}

/// Keeps the best `k` entries in a max-heap of the worst. Cost: O(log k) per push,
/// O(k) memory.
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Scored>,
}

impl TopK {
    pub(crate) fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(4096) + 1),
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, score: f32, id: u32) {
        if self.k == 0 {
            return;
        }
        let cand = Scored { score, id };
        if self.heap.len() < self.k {
            self.heap.push(cand);
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if cand < *worst {
                *worst = cand;
            }
        }
    }

    /// The kept entries, best first.
    pub(crate) fn into_sorted(self) -> Vec<Scored> {
        self.heap.into_sorted_vec()
    }
}

/// A graph-walk candidate or result: distance (lower is nearer) and point id. Ordered
/// by distance, then id, so heaps are deterministic (the graph builder and the flat
/// graph's search both use it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cand {
    pub(crate) d: f32,
    pub(crate) id: u32,
}

impl PartialEq for Cand {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Cand {}
impl PartialOrd for Cand {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Cand {
    fn cmp(&self, o: &Self) -> Ordering {
        self.d.total_cmp(&o.d).then(self.id.cmp(&o.id))
    }
}

/// Generation-stamped visited marks over point ids, reused across searches: `begin` is
/// O(1) (O(n) when the array grows or the stamp wraps, once per 4 billion searches),
/// `visit` one load and one store.
#[derive(Default)]
pub(crate) struct Visited {
    /// `marks[pid] == stamp` means visited in the current search.
    marks: Vec<u32>,
    stamp: u32,
}

impl Visited {
    /// No marks yet (usable in a `const` thread-local initializer).
    pub(crate) const fn new() -> Self {
        Visited {
            marks: Vec::new(),
            stamp: 0,
        }
    }

    /// Starts a new search over ids `< n`.
    pub(crate) fn begin(&mut self, n: usize) {
        if self.marks.len() < n {
            self.marks.resize(n, 0);
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.marks.fill(0);
            self.stamp = 1;
        }
    }

    /// Marks `pid` visited; returns whether it was new.
    #[inline]
    pub(crate) fn visit(&mut self, pid: u32) -> bool {
        let m = &mut self.marks[pid as usize];
        if *m == self.stamp {
            false
        } else {
            *m = self.stamp;
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_full_sort(scores in prop::collection::vec(-100i32..100, 0..300), k in 0usize..20) {
            let mut top = TopK::new(k);
            for (i, s) in scores.iter().enumerate() {
                top.push(*s as f32, i as u32);
            }
            let got: Vec<(f32, u32)> = top.into_sorted().iter().map(|s| (s.score, s.id)).collect();
            let mut all: Vec<(f32, u32)> = scores.iter().enumerate().map(|(i, s)| (*s as f32, i as u32)).collect();
            all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            all.truncate(k);
            prop_assert_eq!(got, all);
        }
    }
}
