//! A tiny library crate: with pipelining, Bazel runs RustcMetadata and Rustc for it.

/// The greeting for `name`.
pub fn greeting(name: &str) -> String {
    format!("Hello, {}! (built with rules_rust)", name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn greets() {
        assert_eq!(super::greeting("x"), "Hello, x! (built with rules_rust)");
    }
}
