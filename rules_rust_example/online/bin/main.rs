fn main() {
    println!("{}", greeting::greeting("remote execution"));
}
