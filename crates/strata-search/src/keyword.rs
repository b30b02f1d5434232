//! An in-memory inverted index with BM25 scoring and MaxScore top-k retrieval.
//!
//! # Invariants
//!
//! - Every document has a compact internal number (`DocNo`); numbers only grow, so
//!   appending to a posting list keeps it sorted by document number.
//! - Removing a document leaves its postings in place as tombstones (the slot's key is
//!   `None`); a term's list is compacted once its dead postings outnumber the live ones,
//!   and the whole index is renumbered once dead slots outnumber live documents. Both
//!   are amortised O(1) per removal.
//! - `TermEntry::df`, `total_len` and the live-document count always describe live
//!   documents only, so idf and avgdl follow the data exactly.
//! - `TermEntry::bound` covers every posting in the list (live or dead), and
//!   `TermEntry::blocks[i]` every posting in `postings[i·BLOCK .. (i+1)·BLOCK]`. A bound
//!   `(max_tf, min_dl)` makes `idf · f(max_tf, min_dl)` an upper bound of the term's
//!   score in those documents: the BM25 term weight grows with tf and shrinks with
//!   document length.

use crate::analyzer::Analyzer;
use crate::codec::{put_bytes, put_len, put_u32, Reader};
use crate::snippet::make_snippet;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// BM25 parameters. The defaults (k1 = 0.9, b = 0.4) are Anserini's tuned values for
/// short and medium texts; they are StrataDB's documented search defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bm25Config {
    /// Term-frequency saturation: higher values let repeated terms count for longer.
    pub k1: f64,
    /// Length normalisation: 0 ignores document length, 1 normalises fully.
    pub b: f64,
}

impl Default for Bm25Config {
    fn default() -> Self {
        Bm25Config { k1: 0.9, b: 0.4 }
    }
}

impl Bm25Config {
    /// BM25's inverse document frequency, `ln(1 + (n - df + 0.5) / (df + 0.5))`, for a
    /// term found in `df` of `n` documents. Always positive.
    pub fn idf(&self, n: u64, df: u64) -> f64 {
        let (n, df) = (n as f64, df as f64);
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// The score one term contributes to a document: `idf · tf·(k1+1) /
    /// (tf + k1·(1 − b + b·dl/avgdl))`.
    pub fn term_score(&self, idf: f64, tf: u32, doc_len: u32, avgdl: f64) -> f64 {
        let tf = f64::from(tf);
        let norm = 1.0 - self.b + self.b * f64::from(doc_len) / avgdl;
        idf * tf * (self.k1 + 1.0) / (tf + self.k1 * norm)
    }
}

/// One result of [`KeywordIndex::search`].
#[derive(Debug, Clone, PartialEq)]
pub struct KeywordHit<K> {
    /// The document's key.
    pub key: K,
    /// Its BM25 score for the query (higher is better).
    pub score: f64,
}

type TermId = u32;
type DocNo = u32;

#[derive(Debug, Clone, Copy)]
struct Posting {
    doc: DocNo,
    tf: u32,
}

/// Postings per block of block-max bounds.
const BLOCK: usize = 64;

/// The largest tf and smallest document length over a set of postings.
#[derive(Debug, Clone, Copy)]
struct Bound {
    max_tf: u32,
    min_dl: u32,
}

impl Bound {
    const EMPTY: Bound = Bound {
        max_tf: 0,
        min_dl: u32::MAX,
    };

    fn add(&mut self, tf: u32, dl: u32) {
        self.max_tf = self.max_tf.max(tf);
        self.min_dl = self.min_dl.min(dl);
    }
}

#[derive(Debug)]
struct TermEntry {
    text: Box<str>,
    postings: Vec<Posting>,
    /// Live documents containing the term.
    df: u32,
    /// Postings of removed documents still in `postings`.
    dead: u32,
    /// Bound of the whole list.
    bound: Bound,
    /// Bound of each block of `BLOCK` postings.
    blocks: Vec<Bound>,
}

impl TermEntry {
    fn new(text: Box<str>) -> Self {
        TermEntry {
            text,
            postings: Vec::new(),
            df: 0,
            dead: 0,
            bound: Bound::EMPTY,
            blocks: Vec::new(),
        }
    }

    /// Appends a posting of a live document (numbers must grow).
    fn push(&mut self, doc: DocNo, tf: u32, dl: u32) {
        if self.postings.len().is_multiple_of(BLOCK) {
            self.blocks.push(Bound::EMPTY);
        }
        self.postings.push(Posting { doc, tf });
        self.df += 1;
        self.bound.add(tf, dl);
        if let Some(b) = self.blocks.last_mut() {
            b.add(tf, dl);
        }
    }
}

#[derive(Debug)]
struct DocSlot<K> {
    /// `None` once removed.
    key: Option<K>,
    len: u32,
    terms: Box<[(TermId, u32)]>,
    text: Box<str>,
}

/// An incremental BM25 index over documents identified by keys of type `K`.
///
/// Memory: each document's text and term list are kept (for snippets, embedding and
/// removal), plus one 8-byte posting per distinct term per document.
///
/// ```
/// use strata_search::KeywordIndex;
/// let mut index = KeywordIndex::new();
/// index.upsert("a", "deployment failed on staging");
/// index.upsert("b", "lunch menu for friday");
/// let hits = index.search("deployment failures", 10);
/// assert_eq!(hits[0].key, "a");
/// ```
#[derive(Debug)]
pub struct KeywordIndex<K> {
    config: Bm25Config,
    analyzer: Analyzer,
    dict: HashMap<Box<str>, TermId>,
    terms: Vec<TermEntry>,
    docs: Vec<DocSlot<K>>,
    /// `docs[i].len`, or [`DEAD`] for removed documents: a dense copy for the scoring
    /// loop.
    lens: Vec<u32>,
    by_key: HashMap<K, DocNo>,
    total_len: u64,
    dead_docs: usize,
}

impl<K: Clone + Eq + Hash + Ord> Default for KeywordIndex<K> {
    fn default() -> Self {
        Self::new()
    }
}

/// Marks a removed document in `KeywordIndex::lens`.
const DEAD: u32 = u32::MAX;

/// Removing a document compacts a term's postings once more than this many (and more
/// than the live ones) are dead.
const MIN_DEAD_POSTINGS: u32 = 32;
/// The index is renumbered once more than this many (and more than the live ones)
/// document slots are dead.
const MIN_DEAD_DOCS: usize = 1024;

impl<K: Clone + Eq + Hash + Ord> KeywordIndex<K> {
    /// An empty index with English analysis and default BM25 parameters.
    pub fn new() -> Self {
        Self::with_config(Bm25Config::default(), Analyzer::english())
    }

    /// An empty index with the given parameters and analyzer.
    pub fn with_config(config: Bm25Config, analyzer: Analyzer) -> Self {
        KeywordIndex {
            config,
            analyzer,
            dict: HashMap::new(),
            terms: Vec::new(),
            docs: Vec::new(),
            lens: Vec::new(),
            by_key: HashMap::new(),
            total_len: 0,
            dead_docs: 0,
        }
    }

    /// The BM25 parameters in use.
    pub fn config(&self) -> Bm25Config {
        self.config
    }

    /// The analyzer used for documents and queries.
    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    /// Number of live documents.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether the index holds no documents.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Average document length in terms over live documents (0 when empty).
    pub fn avgdl(&self) -> f64 {
        if self.by_key.is_empty() {
            0.0
        } else {
            self.total_len as f64 / self.by_key.len() as f64
        }
    }

    /// Whether `key` is indexed.
    pub fn contains(&self, key: &K) -> bool {
        self.by_key.contains_key(key)
    }

    /// The text indexed for `key`.
    pub fn text(&self, key: &K) -> Option<&str> {
        let doc = *self.by_key.get(key)?;
        self.docs.get(doc as usize).map(|d| &*d.text)
    }

    /// Every live document, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &str)> {
        self.docs
            .iter()
            .filter_map(|d| d.key.as_ref().map(|k| (k, &*d.text)))
    }

    /// Indexes `text` under `key`, replacing any earlier text of `key`.
    /// Cost: analysing the text, plus one posting append per distinct term.
    pub fn upsert(&mut self, key: K, text: &str) {
        self.remove(&key);
        let mut tf: HashMap<String, u32> = HashMap::new();
        let mut len: u32 = 0;
        for term in self.analyzer.terms(text) {
            *tf.entry(term).or_insert(0) += 1;
            len = len.saturating_add(1);
        }
        let doc = DocNo::try_from(self.docs.len()).expect("fewer than 2^32 document slots");
        let mut terms: Vec<(TermId, u32)> = Vec::with_capacity(tf.len());
        for (term, count) in tf {
            let id = match self.dict.get(term.as_str()) {
                Some(&id) => id,
                None => {
                    let id = TermId::try_from(self.terms.len()).expect("fewer than 2^32 terms");
                    let text: Box<str> = term.into_boxed_str();
                    self.dict.insert(text.clone(), id);
                    self.terms.push(TermEntry::new(text));
                    id
                }
            };
            self.terms[id as usize].push(doc, count, len);
            terms.push((id, count));
        }
        terms.sort_unstable();
        self.docs.push(DocSlot {
            key: Some(key.clone()),
            len,
            terms: terms.into_boxed_slice(),
            text: text.into(),
        });
        self.lens.push(len);
        self.by_key.insert(key, doc);
        self.total_len += u64::from(len);
    }

    /// Removes `key`; its text no longer matches anything. Returns whether it was
    /// indexed. Cost: O(distinct terms of the document), amortised.
    pub fn remove(&mut self, key: &K) -> bool {
        let Some(doc) = self.by_key.remove(key) else {
            return false;
        };
        self.lens[doc as usize] = DEAD;
        let slot = &mut self.docs[doc as usize];
        slot.key = None;
        slot.text = Box::from("");
        let terms = std::mem::take(&mut slot.terms);
        self.total_len -= u64::from(slot.len);
        self.dead_docs += 1;
        for &(id, _) in terms.iter() {
            let entry = &mut self.terms[id as usize];
            entry.df -= 1;
            entry.dead += 1;
            if entry.dead > MIN_DEAD_POSTINGS.max(entry.df) {
                self.compact_term(id);
            }
        }
        if self.dead_docs > MIN_DEAD_DOCS.max(self.by_key.len()) {
            self.renumber();
        }
        true
    }

    /// Drops the dead postings of one term and tightens its score bound.
    fn compact_term(&mut self, id: TermId) {
        let lens = &self.lens;
        let entry = &mut self.terms[id as usize];
        entry.postings.retain(|p| lens[p.doc as usize] != DEAD);
        entry.dead = 0;
        entry.bound = Bound::EMPTY;
        entry.blocks.clear();
        for chunk in entry.postings.chunks(BLOCK) {
            let mut b = Bound::EMPTY;
            for p in chunk {
                b.add(p.tf, lens[p.doc as usize]);
            }
            entry.bound.add(b.max_tf, b.min_dl);
            entry.blocks.push(b);
        }
    }

    /// Rebuilds the index without dead documents or unused terms. Cost: O(postings).
    fn renumber(&mut self) {
        let old_docs = std::mem::take(&mut self.docs);
        self.lens.clear();
        let old_terms = std::mem::take(&mut self.terms);
        self.dict.clear();
        self.by_key.clear();
        self.total_len = 0;
        self.dead_docs = 0;
        let mut new_term: Vec<Option<TermId>> = vec![None; old_terms.len()];
        for (old_id, entry) in old_terms.into_iter().enumerate() {
            if entry.df == 0 {
                continue;
            }
            let id = TermId::try_from(self.terms.len()).expect("fewer than 2^32 terms");
            new_term[old_id] = Some(id);
            self.dict.insert(entry.text.clone(), id);
            let mut fresh = TermEntry::new(entry.text);
            fresh.postings.reserve_exact(entry.df as usize);
            self.terms.push(fresh);
        }
        for slot in old_docs {
            let Some(key) = slot.key else { continue };
            let doc = DocNo::try_from(self.docs.len()).expect("fewer than 2^32 document slots");
            let terms: Box<[(TermId, u32)]> = slot
                .terms
                .iter()
                .filter_map(|&(t, tf)| new_term[t as usize].map(|n| (n, tf)))
                .collect();
            for &(id, tf) in terms.iter() {
                self.terms[id as usize].push(doc, tf, slot.len);
            }
            self.total_len += u64::from(slot.len);
            self.lens.push(slot.len);
            self.by_key.insert(key.clone(), doc);
            self.docs.push(DocSlot {
                key: Some(key),
                len: slot.len,
                terms,
                text: slot.text,
            });
        }
    }

    /// Appends the live terms and documents to `out` (see `crate::persist` for the
    /// layout); `write_key` encodes each document's key. Calls `write_key` in the
    /// order [`KeywordIndex::decode`] returns documents in. Cost: O(postings + text).
    pub(crate) fn encode(&self, out: &mut Vec<u8>, mut write_key: impl FnMut(&K, &mut Vec<u8>)) {
        let mut new_id: Vec<u32> = vec![u32::MAX; self.terms.len()];
        let live: Vec<&TermEntry> = self.terms.iter().filter(|e| e.df > 0).collect();
        put_len(out, live.len());
        let mut next = 0u32;
        for (old, e) in self.terms.iter().enumerate() {
            if e.df > 0 {
                new_id[old] = next;
                next += 1;
                put_bytes(out, e.text.as_bytes());
                put_u32(out, e.df);
            }
        }
        put_len(out, self.by_key.len());
        for slot in &self.docs {
            let Some(key) = &slot.key else { continue };
            write_key(key, out);
            put_u32(out, slot.len);
            put_bytes(out, slot.text.as_bytes());
            put_len(out, slot.terms.len());
            // Ids are renumbered in their old order, so the list stays sorted.
            for &(id, tf) in slot.terms.iter() {
                put_u32(out, new_id[id as usize]);
                put_u32(out, tf);
            }
        }
    }

    /// Rebuilds an index from what [`KeywordIndex::encode`] wrote, without analysing
    /// any text; `read_key` decodes each key. Checks every id, count and length, so
    /// damaged input gives an error, never a panic. Cost: O(postings + text).
    pub(crate) fn decode(
        config: Bm25Config,
        analyzer: Analyzer,
        r: &mut Reader<'_>,
        mut read_key: impl FnMut(&mut Reader<'_>) -> Result<K, String>,
    ) -> Result<Self, String> {
        let mut ix = Self::with_config(config, analyzer);
        let n_terms = r.count(8)?;
        ix.terms.reserve_exact(n_terms);
        ix.dict.reserve(n_terms);
        let mut declared: Vec<u32> = Vec::with_capacity(n_terms);
        for id in 0..n_terms {
            let text: Box<str> = r.str()?.into();
            // Each posting takes at least 8 bytes of the document section.
            let df = r.u32()?;
            if (df as usize).saturating_mul(8) > r.remaining() {
                return Err(format!(
                    "term {text:?}: document count {df} exceeds the input"
                ));
            }
            if ix.dict.insert(text.clone(), id as TermId).is_some() {
                return Err(format!("term {text:?} appears twice"));
            }
            declared.push(df);
            let mut entry = TermEntry::new(text);
            entry.postings.reserve_exact(df as usize);
            entry.blocks.reserve_exact((df as usize).div_ceil(BLOCK));
            ix.terms.push(entry);
        }
        let n_docs = r.count(16)?;
        ix.docs.reserve_exact(n_docs);
        ix.lens.reserve_exact(n_docs);
        ix.by_key.reserve(n_docs);
        for doc in 0..n_docs {
            let doc = doc as DocNo;
            let key = read_key(r)?;
            let len = r.u32()?;
            let text: Box<str> = r.str()?.into();
            let n = r.count(8)?;
            let mut terms: Vec<(TermId, u32)> = Vec::with_capacity(n);
            let mut sum: u64 = 0;
            for _ in 0..n {
                let (id, tf) = (r.u32()?, r.u32()?);
                if id as usize >= n_terms || tf == 0 || terms.last().is_some_and(|l| l.0 >= id) {
                    return Err(format!("document {doc}: bad term entry ({id}, {tf})"));
                }
                sum += u64::from(tf);
                terms.push((id, tf));
            }
            if sum != u64::from(len) || len == DEAD {
                return Err(format!(
                    "document {doc}: length {len} is not its term count {sum}"
                ));
            }
            if ix.by_key.insert(key.clone(), doc).is_some() {
                return Err(format!("document {doc}: key appears twice"));
            }
            for &(id, tf) in &terms {
                ix.terms[id as usize].push(doc, tf, len);
            }
            ix.total_len += u64::from(len);
            ix.lens.push(len);
            ix.docs.push(DocSlot {
                key: Some(key),
                len,
                terms: terms.into_boxed_slice(),
                text,
            });
        }
        if let Some((e, _)) = ix
            .terms
            .iter()
            .zip(&declared)
            .find(|(e, &df)| e.postings.len() != df as usize)
        {
            return Err(format!("term {:?}: document count does not match", e.text));
        }
        Ok(ix)
    }

    /// The distinct analysed terms of `query`, in order of first occurrence.
    pub fn query_terms(&self, query: &str) -> Vec<String> {
        let mut seen = HashSet::new();
        self.analyzer
            .terms(query)
            .into_iter()
            .filter(|t| seen.insert(t.clone()))
            .collect()
    }

    /// The `k` best documents for `query`, best first (ties: smaller key first).
    /// A repeated query term counts once. See [`KeywordIndex::search_filtered`].
    pub fn search(&self, query: &str, k: usize) -> Vec<KeywordHit<K>> {
        self.search_filtered(query, k, |_| true)
    }

    /// The `k` best documents for `query` among those for which `filter` is true.
    ///
    /// Scores are exact BM25 (idf and avgdl over all live documents, filtered or not).
    /// Retrieval uses MaxScore: query terms are ordered by their score upper bound, and
    /// once the k-th best score exceeds the bounds of the weakest terms, documents that
    /// contain only those terms are never visited and partial scores that cannot reach
    /// the k-th best are abandoned. `filter` runs only for documents that would enter
    /// the top k.
    pub fn search_filtered(
        &self,
        query: &str,
        k: usize,
        mut filter: impl FnMut(&K) -> bool,
    ) -> Vec<KeywordHit<K>> {
        if k == 0 || self.by_key.is_empty() {
            return Vec::new();
        }
        let n = self.by_key.len() as u64;
        let norm = LengthNorm::new(self.config, self.avgdl());
        let mut cursors: Vec<Cursor<'_>> = self
            .query_terms(query)
            .iter()
            .filter_map(|t| self.dict.get(t.as_str()))
            .map(|&id| &self.terms[id as usize])
            .filter(|e| e.df > 0)
            .enumerate()
            .map(|(canon, e)| {
                let weight = self.config.idf(n, u64::from(e.df)) * (self.config.k1 + 1.0);
                let score = |b: &Bound| norm.score(weight, b.max_tf, b.min_dl);
                Cursor {
                    postings: &e.postings,
                    pos: 0,
                    weight,
                    ub: score(&e.bound),
                    block_ub: e.blocks.iter().map(score).collect(),
                    canon,
                }
            })
            .collect();
        if cursors.is_empty() {
            return Vec::new();
        }
        cursors.sort_by(|a, b| a.ub.total_cmp(&b.ub));
        let prefix: Vec<f64> = cursors
            .iter()
            .scan(0.0, |acc, c| {
                *acc += c.ub;
                Some(*acc)
            })
            .collect();

        let mut contrib = vec![0.0f64; cursors.len()];
        // Best first: (score, doc).
        let mut top: Vec<(f64, DocNo)> = Vec::with_capacity(k.min(self.by_key.len()) + 1);
        let mut threshold = f64::NEG_INFINITY;
        // Cursors [0, essential) are non-essential: their bounds sum below the threshold.
        let mut essential = 0usize;

        while let Some(doc) = cursors[essential..]
            .iter()
            .filter_map(Cursor::current)
            .min()
        {
            if threshold > f64::NEG_INFINITY {
                // Block-max skip: the essential cursors' current blocks all extend to
                // `end`; if their bounds plus the non-essential bounds cannot reach the
                // threshold, no document before `end` can.
                let mut bound = essential.checked_sub(1).map_or(0.0, |i| prefix[i]);
                let mut end = u64::MAX;
                for c in &cursors[essential..] {
                    if let Some((ub, last)) = c.current_block() {
                        bound += ub;
                        end = end.min(u64::from(last) + 1);
                    }
                }
                if below(bound, threshold) {
                    for c in cursors[essential..].iter_mut() {
                        c.seek_past(end);
                    }
                    continue;
                }
            }
            let len = self.lens[doc as usize];
            let mut partial = 0.0;
            for c in cursors[essential..].iter_mut() {
                if let Some(p) = c.postings.get(c.pos).filter(|p| p.doc == doc) {
                    if len != DEAD {
                        let s = norm.score(c.weight, p.tf, len);
                        contrib[c.canon] = s;
                        partial += s;
                    }
                    c.pos += 1;
                }
            }
            if len == DEAD {
                continue;
            }
            let mut bound = partial + essential.checked_sub(1).map_or(0.0, |i| prefix[i]);
            let mut pruned = false;
            for c in cursors[..essential].iter_mut().rev() {
                if below(bound, threshold) {
                    pruned = true;
                    break;
                }
                c.seek(doc);
                match c.postings.get(c.pos).filter(|p| p.doc == doc) {
                    Some(p) => {
                        let s = norm.score(c.weight, p.tf, len);
                        contrib[c.canon] = s;
                        bound += s - c.ub;
                    }
                    None => bound -= c.ub,
                }
            }
            if !pruned && !below(bound, threshold) {
                // Sum in query order so equal documents get bit-identical scores.
                let score: f64 = contrib.iter().sum();
                let key = self.key_of(doc);
                let pos = top
                    .partition_point(|&(s, d)| s > score || (s == score && self.key_of(d) < key));
                if pos < k && filter(key) {
                    top.insert(pos, (score, doc));
                    top.truncate(k);
                    if top.len() == k {
                        threshold = top[k - 1].0;
                        while essential < cursors.len() && below(prefix[essential], threshold) {
                            essential += 1;
                        }
                    }
                }
            }
            contrib.iter_mut().for_each(|c| *c = 0.0);
        }
        top.into_iter()
            .map(|(score, doc)| KeywordHit {
                key: self.key_of(doc).clone(),
                score,
            })
            .collect()
    }

    /// The key of the `n`-th live document in [`KeywordIndex::encode`] order, right
    /// after [`KeywordIndex::decode`] (documents are then numbered in that order).
    pub(crate) fn decoded_key(&self, n: usize) -> Option<&K> {
        self.docs.get(n).and_then(|d| d.key.as_ref())
    }

    fn key_of(&self, doc: DocNo) -> &K {
        self.docs[doc as usize]
            .key
            .as_ref()
            .expect("documents in the top k are live")
    }

    /// A short excerpt (about `max_chars` characters) of `key`'s text around the
    /// densest cluster of `query`'s terms, with `…` marking cuts. `None` if `key` is
    /// not indexed. Cost: analyses the words of the text (the first 16 KiB at most).
    pub fn snippet(&self, key: &K, query: &str, max_chars: usize) -> Option<String> {
        let text = self.text(key)?;
        let terms: HashSet<String> = self.query_terms(query).into_iter().collect();
        Some(make_snippet(&self.analyzer, text, &terms, max_chars))
    }
}

/// Whether `bound` is certainly below `threshold`, with slack for rounding so that a
/// document tying the k-th score is never pruned by accident.
fn below(bound: f64, threshold: f64) -> bool {
    bound + 1e-9 * threshold.abs().max(1.0) < threshold
}

/// BM25's length normalisation for one query: `k1·(1 − b + b·dl/avgdl)`, with the
/// division hoisted out of the scoring loop.
#[derive(Clone, Copy)]
struct LengthNorm {
    base: f64,
    slope: f64,
}

impl LengthNorm {
    fn new(config: Bm25Config, avgdl: f64) -> Self {
        LengthNorm {
            base: config.k1 * (1.0 - config.b),
            slope: config.k1 * config.b / avgdl,
        }
    }

    /// The term score for `weight = idf·(k1+1)`.
    fn score(self, weight: f64, tf: u32, dl: u32) -> f64 {
        let tf = f64::from(tf);
        weight * tf / (tf + self.base + self.slope * f64::from(dl))
    }
}

struct Cursor<'a> {
    postings: &'a [Posting],
    pos: usize,
    /// `idf · (k1 + 1)`.
    weight: f64,
    /// Upper bound of the term's score over the whole list.
    ub: f64,
    /// Upper bound per block of `BLOCK` postings.
    block_ub: Vec<f64>,
    /// Index of the term in the query (scores are summed in this order).
    canon: usize,
}

impl Cursor<'_> {
    fn current(&self) -> Option<DocNo> {
        self.postings.get(self.pos).map(|p| p.doc)
    }

    /// The score bound and last document number of the current block.
    fn current_block(&self) -> Option<(f64, DocNo)> {
        if self.pos >= self.postings.len() {
            return None;
        }
        let block = self.pos / BLOCK;
        let last = ((block + 1) * BLOCK).min(self.postings.len()) - 1;
        Some((self.block_ub[block], self.postings[last].doc))
    }

    /// Moves to the first posting with document number `>= end` (the end of the list
    /// if `end` exceeds every number).
    fn seek_past(&mut self, end: u64) {
        match DocNo::try_from(end) {
            Ok(doc) => self.seek(doc),
            Err(_) => self.pos = self.postings.len(),
        }
    }

    /// Moves to the first posting with document number `>= doc` (galloping search).
    fn seek(&mut self, doc: DocNo) {
        let rest = &self.postings[self.pos..];
        if rest.first().is_none_or(|p| p.doc >= doc) {
            return;
        }
        let mut step = 1;
        while step < rest.len() && rest[step].doc < doc {
            step *= 2;
        }
        let lo = step / 2;
        let hi = step.min(rest.len());
        self.pos += lo + rest[lo..hi].partition_point(|p| p.doc < doc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overwrite_replaces_old_text() {
        let mut ix = KeywordIndex::new();
        ix.upsert(1u32, "red apple");
        ix.upsert(1u32, "green pear");
        assert!(ix.search("apple", 10).is_empty());
        assert_eq!(ix.search("pear", 10)[0].key, 1);
        assert_eq!(ix.len(), 1);
    }

    #[test]
    fn remove_makes_text_unfindable() {
        let mut ix = KeywordIndex::new();
        ix.upsert("a", "database outage");
        ix.upsert("b", "database upgrade");
        assert!(ix.remove(&"a"));
        assert!(!ix.remove(&"a"));
        let hits = ix.search("outage database", 10);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].key, "b");
    }

    #[test]
    fn avgdl_follows_the_data() {
        let mut ix = KeywordIndex::new();
        ix.upsert(1u8, "alpha beta");
        assert_eq!(ix.avgdl(), 2.0);
        ix.upsert(2u8, "gamma delta epsilon zeta");
        assert_eq!(ix.avgdl(), 3.0);
        ix.remove(&1);
        assert_eq!(ix.avgdl(), 4.0);
        ix.remove(&2);
        assert_eq!(ix.avgdl(), 0.0);
    }

    #[test]
    fn renumbering_keeps_results() {
        let mut ix = KeywordIndex::new();
        for round in 0..3 {
            for i in 0..1500u32 {
                ix.upsert(i, &format!("item number{} round{round} common", i % 7));
            }
        }
        assert_eq!(ix.len(), 1500);
        assert!(ix.docs.len() < 3000, "dead slots are reclaimed");
        let hits = ix.search("number3 round2", 5);
        assert_eq!(hits.len(), 5);
        assert!(hits.iter().all(|h| h.key % 7 == 3));
        assert!(ix.search("round0", 5).is_empty());
    }

    #[test]
    fn filter_excludes_keys_but_not_statistics() {
        let mut ix = KeywordIndex::new();
        ix.upsert(1u8, "kernel panic");
        ix.upsert(2u8, "kernel panic panic");
        let all = ix.search("panic", 10);
        let odd = ix.search_filtered("panic", 10, |k| k % 2 == 1);
        assert_eq!(odd.len(), 1);
        assert_eq!(odd[0].key, 1);
        let full = all.iter().find(|h| h.key == 1).map(|h| h.score);
        assert_eq!(full, Some(odd[0].score));
    }

    #[test]
    fn seek_finds_first_posting_at_or_after() {
        let postings: Vec<Posting> = (0..100).map(|i| Posting { doc: i * 3, tf: 1 }).collect();
        for target in 0..310 {
            let mut c = Cursor {
                postings: &postings,
                pos: 5,
                weight: 1.0,
                ub: 1.0,
                block_ub: Vec::new(),
                canon: 0,
            };
            c.seek(target);
            let expect = postings
                .iter()
                .position(|p| p.doc >= target)
                .unwrap_or(100)
                .max(5);
            assert_eq!(c.pos, expect, "target {target}");
        }
    }

    #[test]
    fn encode_then_decode_gives_the_same_index() {
        let mut ix = KeywordIndex::new();
        for i in 0..300u32 {
            ix.upsert(
                i,
                &format!("item number{} colour{} shared words", i % 7, i % 5),
            );
        }
        for i in (0..300u32).step_by(3) {
            ix.remove(&i);
        }
        ix.upsert(1, "replaced text entirely");
        let mut bytes = Vec::new();
        ix.encode(&mut bytes, |k, out| put_u32(out, *k));
        let back = KeywordIndex::decode(
            ix.config(),
            ix.analyzer().clone(),
            &mut Reader::new(&bytes),
            |r| r.u32(),
        )
        .expect("decodes");
        assert_eq!(back.len(), ix.len());
        assert_eq!(back.avgdl(), ix.avgdl());
        for q in [
            "number3 colour2",
            "shared",
            "replaced entirely",
            "item words number6",
        ] {
            assert_eq!(back.search(q, 20), ix.search(q, 20), "{q}");
        }
        assert_eq!(back.text(&1), Some("replaced text entirely"));
        // A cut anywhere is an error, never a panic.
        for cut in (0..bytes.len()).step_by(7) {
            let mut r = Reader::new(&bytes[..cut]);
            assert!(
                KeywordIndex::<u32>::decode(ix.config(), ix.analyzer().clone(), &mut r, |r| r
                    .u32())
                .is_err()
            );
        }
    }

    #[test]
    fn empty_query_and_zero_k() {
        let mut ix = KeywordIndex::new();
        ix.upsert(1u8, "something");
        assert!(ix.search("the of and", 10).is_empty());
        assert!(ix.search("something", 0).is_empty());
        assert!(ix.search("unknownword", 3).is_empty());
        assert_eq!(ix.search("something", usize::MAX).len(), 1);
    }
}
