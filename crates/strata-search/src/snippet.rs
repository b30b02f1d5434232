//! Short excerpts of a document around the words that matched a query.

use crate::analyzer::Analyzer;
use std::collections::{HashMap, HashSet};
use unicode_segmentation::UnicodeSegmentation;

/// Only this many leading bytes of a document are searched for matches.
const SCAN_BYTES: usize = 16 * 1024;

/// An excerpt of at most about `max_chars` characters of `text`, placed to cover as
/// many distinct `terms` (analysed query terms) as possible, whitespace collapsed, with
/// `…` where text was cut. Falls back to the start of the text when no word matches
/// (for example when only a JSON field name matched).
pub(crate) fn make_snippet(
    analyzer: &Analyzer,
    text: &str,
    terms: &HashSet<String>,
    max_chars: usize,
) -> String {
    let max_chars = max_chars.max(16);
    let scan = prefix_at_char_boundary(text, SCAN_BYTES);
    // (char offset, term) of every matching word.
    let mut matches: Vec<(usize, &str)> = Vec::new();
    let mut cache: HashMap<&str, Option<&str>> = HashMap::new();
    let mut char_pos = 0usize;
    let mut byte_pos = 0usize;
    for (offset, word) in scan.unicode_word_indices() {
        char_pos += scan[byte_pos..offset].chars().count();
        byte_pos = offset;
        let hit = *cache.entry(word).or_insert_with(|| {
            analyzer
                .terms(word)
                .iter()
                .find_map(|t| terms.get(t).map(String::as_str))
        });
        if let Some(term) = hit {
            matches.push((char_pos, term));
        }
    }

    let total_chars = text.chars().count();
    let lead = max_chars / 5;
    let mut best_start = 0usize;
    let mut best = (0usize, 0usize);
    for &(anchor, _) in &matches {
        let start = anchor.saturating_sub(lead);
        let in_window: Vec<&str> = matches
            .iter()
            .filter(|(p, _)| *p >= start && *p < start + max_chars)
            .map(|(_, t)| *t)
            .collect();
        let distinct: HashSet<&str> = in_window.iter().copied().collect();
        let score = (distinct.len(), in_window.len());
        if score > best {
            best = score;
            best_start = start;
        }
    }
    excerpt(text, total_chars, best_start, max_chars)
}

fn prefix_at_char_boundary(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Characters `[start, start + len)` of `text`, widened or narrowed to word
/// boundaries, whitespace collapsed, with ellipses at cuts.
fn excerpt(text: &str, total_chars: usize, start: usize, len: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut start = start.min(total_chars);
    let mut end = (start + len).min(total_chars);
    if end == total_chars {
        // Use the room left at the end for more leading context.
        start = total_chars.saturating_sub(len);
    }
    if start > 0 {
        // Do not begin mid-word: skip to the next whitespace if one is near.
        if let Some(ws) = chars[start..end]
            .iter()
            .take(20)
            .position(|c| c.is_whitespace())
        {
            start += ws + 1;
        }
    }
    if end < total_chars {
        if let Some(back) = chars[start..end]
            .iter()
            .rev()
            .take(20)
            .position(|c| c.is_whitespace())
        {
            end -= back + 1;
        }
    }
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let body: String = chars[start..end].iter().collect();
    out.push_str(&body.split_whitespace().collect::<Vec<_>>().join(" "));
    if end < total_chars {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(a: &Analyzer, q: &str) -> HashSet<String> {
        a.terms(q).into_iter().collect()
    }

    #[test]
    fn short_text_is_returned_whole() {
        let a = Analyzer::english();
        let s = make_snippet(&a, "Deploy  failed\non staging", &terms(&a, "deploy"), 160);
        assert_eq!(s, "Deploy failed on staging");
    }

    #[test]
    fn window_covers_the_matching_words() {
        let a = Analyzer::english();
        let filler = "lorem ipsum dolor sit amet ".repeat(20);
        let text = format!("{filler}the deployment failed badly {filler}");
        let s = make_snippet(&a, &text, &terms(&a, "deployment failures"), 160);
        assert!(s.contains("deployment failed"), "{s}");
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.chars().count() <= 162, "{} chars", s.chars().count());
    }

    #[test]
    fn prefers_the_window_with_more_distinct_terms() {
        let a = Analyzer::english();
        let filler = "lorem ipsum dolor sit amet ".repeat(20);
        let text = format!("disk alone {filler} disk full error {filler}");
        let s = make_snippet(&a, &text, &terms(&a, "disk full"), 100);
        assert!(s.contains("disk full"), "{s}");
    }

    #[test]
    fn no_match_gives_the_start() {
        let a = Analyzer::english();
        let text = "word ".repeat(100);
        let s = make_snippet(&a, &text, &terms(&a, "absent"), 50);
        assert!(s.starts_with("word word"), "{s}");
        assert!(s.ends_with('…'));
    }

    #[test]
    fn multibyte_text_is_cut_on_char_boundaries() {
        let a = Analyzer::english();
        let text = "日本語のテキスト ".repeat(50) + "café crème " + &"é".repeat(300);
        let s = make_snippet(&a, &text, &terms(&a, "cafe"), 60);
        assert!(s.contains("café"), "{s}");
    }
}
