llmax::manifest!("tests/ui/manifests/unknown_protocol.toml");

fn main() {}
