llmax::manifest!("tests/ui/manifests/negative_price.toml");

fn main() {}
