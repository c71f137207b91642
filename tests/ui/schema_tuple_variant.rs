// A tuple variant with several fields is an array of per-position types.
#[derive(serde::Deserialize, llmax::LlmSchema)]
enum Segment {
    Line(f64, f64),
    Point { x: f64 },
}

fn main() {}
