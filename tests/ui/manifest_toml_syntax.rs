llmax::manifest!("tests/ui/manifests/toml_syntax.toml");

fn main() {}
