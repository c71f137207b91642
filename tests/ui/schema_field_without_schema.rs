// A field's type needs a schema: its own `#[derive(llmax::LlmSchema)]` (or a
// `schemars::JsonSchema` impl).
#[derive(serde::Deserialize)]
struct Coordinates {
    lat: f64,
    lon: f64,
}

#[derive(serde::Deserialize, llmax::LlmSchema)]
struct Place {
    name: String,
    at: Coordinates,
}

fn main() {}
