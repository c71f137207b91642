// Maps with string keys are free-form objects, which strict mode refuses too.
use std::collections::HashMap;

#[derive(serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
struct Settings {
    values: HashMap<String, u32>,
    extra: Option<Box<std::collections::BTreeMap<String, Vec<String>>>>,
}

fn main() {}
