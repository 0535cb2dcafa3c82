//! Summarises a fixed service log. Output is deterministic: see
//! expected_output/logscan.txt.

use aho_corasick::AhoCorasick;
use itertools::Itertools;
use regex::Regex;
use serde_json::{json, Map, Value};

const LOG: &str = "\
09:00:01 INFO api: GET /users 200 (12.5 ms)
09:00:02 INFO api: GET /users/7 200 (8.25 ms)
09:00:02 WARN db: slow query on users (250 ms)
09:00:03 ERROR api: POST /orders 500 timeout (1500 ms)
09:00:04 INFO cache: hit ratio 0.93 (0.5 ms)
09:00:05 INFO api: GET /orders 200 (30 ms)
09:00:06 WARN api: retry POST /orders (700 ms)
09:00:07 INFO db: vacuum done (1200.75 ms)
09:00:08 ERROR db: connection reset, retry scheduled (3 ms)
09:00:09 INFO cache: eviction of 12 keys (1.25 ms)
";

struct Entry<'a> {
    level: &'a str,
    service: &'a str,
    message: &'a str,
    millis: f64,
}

fn main() {
    let line_count = memchr::memchr_iter(b'\n', LOG.as_bytes()).count();
    let re = Regex::new(
        r"^(?P<ts>\d{2}:\d{2}:\d{2}) (?P<level>[A-Z]+) (?P<svc>[a-z]+): (?P<msg>.*) \((?P<ms>[0-9.]+) ms\)$",
    )
    .expect("valid regex");

    let entries: Vec<Entry> = LOG
        .lines()
        .filter_map(|line| re.captures(line))
        .map(|c| Entry {
            level: c.name("level").unwrap().as_str(),
            service: c.name("svc").unwrap().as_str(),
            message: c.name("msg").unwrap().as_str(),
            millis: c.name("ms").unwrap().as_str().parse().unwrap(),
        })
        .collect();

    println!("lines: {}, parsed: {}", line_count, entries.len());

    println!("== entries per level ==");
    let per_level: Vec<(String, u64)> = entries
        .iter()
        .map(|e| e.level)
        .sorted()
        .dedup_with_count()
        .map(|(n, level)| (level.to_string(), n as u64))
        .collect();
    print!("{}", textreport::table(&per_level));

    let keywords = ["timeout", "retry", "slow"];
    let ac = AhoCorasick::new(keywords);
    println!("== keyword hits ==");
    for (i, kw) in keywords.iter().enumerate() {
        let hits = entries
            .iter()
            .filter(|e| ac.find_iter(e.message).any(|m| m.pattern() == i))
            .count();
        println!("{}: {}", kw, hits);
    }

    let mut services = Map::new();
    for (service, group) in &entries.iter().sorted_by_key(|e| e.service).group_by(|e| e.service) {
        let group: Vec<&Entry> = group.collect();
        let total: f64 = group.iter().map(|e| e.millis).sum();
        let max = group.iter().map(|e| e.millis).fold(0.0_f64, f64::max);
        services.insert(
            service.to_string(),
            json!({
                "count": group.len(),
                "total_ms": total,
                "mean_ms": total / group.len() as f64,
                "max_ms": max,
                "errors": group.iter().filter(|e| e.level == "ERROR").count(),
            }),
        );
    }
    println!("== json ==");
    println!("{}", serde_json::to_string_pretty(&Value::Object(services)).expect("serialisable"));
}
