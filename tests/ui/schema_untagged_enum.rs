// An untagged enum is refused, with a hint towards an internally tagged one.
#[derive(serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
#[serde(untagged)]
enum Answer {
    Number(f64),
    Text(String),
}

fn main() {}
