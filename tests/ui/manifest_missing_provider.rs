llmax::manifest!("tests/ui/manifests/missing_provider.toml");

fn main() {}
