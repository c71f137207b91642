llmax::manifest!("tests/ui/manifests/duplicate_name.toml");

fn main() {}
