llmax::manifest!("tests/ui/manifests/many_errors.toml");

fn main() {}
