//! Word statistics: tokenising with `regex`, counting in an `fnv` map, ordering with
//! `itertools`. Everything returned is sorted, so output is deterministic.

use fnv::FnvHashMap;
use itertools::Itertools;
use regex::Regex;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordCount {
    pub word: String,
    pub count: usize,
}

/// Lower-cased words (letters, digits and inner apostrophes), in text order.
pub fn tokenize(text: &str) -> Vec<String> {
    let re = Regex::new(r"[\p{L}\p{N}]+(?:'[\p{L}\p{N}]+)*").expect("valid regex");
    re.find_iter(text).map(|m| m.as_str().to_lowercase()).collect()
}

/// Word counts, most frequent first, ties in alphabetical order.
pub fn count_words(text: &str) -> Vec<WordCount> {
    let mut counts: FnvHashMap<String, usize> = FnvHashMap::default();
    for word in tokenize(text) {
        *counts.entry(word).or_insert(0) += 1;
    }
    counts
        .into_iter()
        .sorted_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)))
        .map(|(word, count)| WordCount { word, count })
        .collect()
}

/// Number of words in each sentence (split on `.`, `!` and `?`).
pub fn sentence_lengths(text: &str) -> Vec<usize> {
    let re = Regex::new(r"[.!?]+").expect("valid regex");
    re.split(text)
        .map(|s| tokenize(s).len())
        .filter(|&n| n > 0)
        .collect()
}

/// Words grouped by their first character, groups and words sorted.
pub fn by_initial(words: &[WordCount]) -> Vec<(char, Vec<String>)> {
    words
        .iter()
        .filter_map(|w| w.word.chars().next().map(|c| (c, w.word.clone())))
        .sorted()
        .group_by(|(c, _)| *c)
        .into_iter()
        .map(|(c, group)| (c, group.map(|(_, w)| w).collect()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        let c = count_words("a b a");
        assert_eq!(c[0], WordCount { word: "a".into(), count: 2 });
    }
}
