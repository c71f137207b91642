// The root of a structured output is an object: an enum derives LlmSchema
// to be the type of a field, and asking for one at the root (here as a
// tool, or as a typed answer) says so.
#[derive(serde::Deserialize, llmax::LlmSchema)]
#[serde(tag = "type")]
enum Shape {
    Circle { radius: f64 },
    Square { side: f64 },
}

#[derive(serde::Deserialize, llmax::LlmSchema)]
#[serde(untagged)]
enum Answer {
    Number(f64),
    Text(String),
}

fn main() {
    let _ = llmax::Tool::of::<Shape>();
    let _ = llmax::ResponseFormat::of::<Answer>();
}
