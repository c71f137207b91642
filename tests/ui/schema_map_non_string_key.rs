// A map whose keys are not strings, even nested, is refused with its own
// message: JSON object keys are strings.
use std::collections::{BTreeMap, HashMap};

#[derive(serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
struct Scores {
    by_id: HashMap<u32, f64>,
    history: Option<Vec<BTreeMap<i64, String>>>,
}

fn main() {}
