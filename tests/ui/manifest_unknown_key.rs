llmax::manifest!("tests/ui/manifests/unknown_key.toml");

fn main() {}
