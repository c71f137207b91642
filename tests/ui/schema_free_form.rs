// Any JSON and tuples have no strict schema.
#[derive(serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
struct Event {
    payload: serde_json::Value,
    point: Vec<(f64, f64)>,
}

fn main() {}
