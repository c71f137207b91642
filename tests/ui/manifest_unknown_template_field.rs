llmax::manifest!("tests/ui/manifests/unknown_template_field.toml");

fn main() {}
