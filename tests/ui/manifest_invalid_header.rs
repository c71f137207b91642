llmax::manifest!("tests/ui/manifests/invalid_header.toml");

fn main() {}
