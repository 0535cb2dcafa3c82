//! Word statistics of a fixed text. Output is deterministic: see
//! expected_output/wordfreq.txt.

const TEXT: &str = "\
The quick brown fox jumps over the lazy dog. The dog sleeps; the fox does not! \
Is the fox quick? Yes: the fox is quick, and the dog is lazy. \
Un café naïve à Zürich, 東京 and 東京 again. It's the fox's day, isn't it?";

fn main() {
    let words = wordfreq::count_words(TEXT);

    println!("== top words ==");
    let rows: Vec<(String, u64)> = words
        .iter()
        .take(8)
        .map(|w| (w.word.clone(), w.count as u64))
        .collect();
    print!("{}", textreport::table(&rows));

    println!("== sentence lengths ==");
    let lengths = wordfreq::sentence_lengths(TEXT);
    println!(
        "{}",
        lengths.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" ")
    );

    println!("== words by initial (a-d) ==");
    for (c, ws) in wordfreq::by_initial(&words) {
        if ('a'..='d').contains(&c) {
            println!("{}: {}", c, ws.join(", "));
        }
    }

    println!("== json ==");
    let json = textreport::words_json(&words, 5);
    println!("{}", serde_json::to_string_pretty(&json).expect("serialisable"));
}
