// A type that contains itself is refused: Anthropic refuses recursive schemas.
#[derive(serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
struct Node {
    label: String,
    children: Vec<Node>,
    parent: Option<Box<Self>>,
}

fn main() {}
