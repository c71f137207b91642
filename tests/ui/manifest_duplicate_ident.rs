llmax::manifest!("tests/ui/manifests/duplicate_ident.toml");

fn main() {}
