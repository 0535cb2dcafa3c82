//! Rendering: aligned text tables (`unicode-width`, `itoa`) and JSON (`serde_json`).

use serde_json::{json, Value};
use unicode_width::UnicodeWidthStr;
use wordfreq::WordCount;

/// Pads `s` with spaces to `width` terminal columns (wide characters count as two).
pub fn pad(s: &str, width: usize) -> String {
    let w = UnicodeWidthStr::width(s);
    format!("{}{}", s, " ".repeat(width.saturating_sub(w)))
}

/// A two-column table: the first column padded to its widest cell.
pub fn table(rows: &[(String, u64)]) -> String {
    let width = rows
        .iter()
        .map(|(k, _)| UnicodeWidthStr::width(k.as_str()))
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    let mut buf = itoa::Buffer::new();
    for (k, v) in rows {
        out.push_str(&pad(k, width));
        out.push_str(" | ");
        out.push_str(buf.format(*v));
        out.push('\n');
    }
    out
}

/// The top `n` words as JSON (serde_json's map keeps keys sorted: deterministic).
pub fn words_json(words: &[WordCount], n: usize) -> Value {
    let top: Vec<Value> = words
        .iter()
        .take(n)
        .map(|w| json!({ "word": w.word, "count": w.count }))
        .collect();
    json!({
        "distinct_words": words.len(),
        "total_words": words.iter().map(|w| w.count).sum::<usize>(),
        "top": top,
    })
}
