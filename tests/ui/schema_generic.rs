// Generic types are refused: one name and one cached schema per type.
#[derive(serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
struct Page<T> {
    items: Vec<T>,
}

fn main() {}
