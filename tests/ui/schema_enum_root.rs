// The root of a structured output is an object: enums go in a field.
#[derive(serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
#[serde(tag = "type")]
enum Shape {
    Circle { radius: f64 },
    Square { side: f64 },
}

fn main() {}
