//! The issue's snippet in a crate whose Cargo.toml depends on llmax and
//! serde only (built and run by .ci/run, step "outside the workspace"): one
//! derive and serde's give a typed reply, a schema and partial values, with
//! no schemars in the crate.

use llmax::LlmSchema;

#[derive(llmax::LlmSchema, serde::Deserialize, Debug)]
#[allow(dead_code)] // a real caller reads the `Joke` of a typed call
struct Joke {
    setup: String,
    punchline: String,
    rating: Option<u8>,
}

fn main() {
    let schema = Joke::llm_schema();
    assert_eq!(schema["required"].as_array().map(Vec::len), Some(3));
    assert_eq!(schema["properties"]["rating"]["type"][1], "null");

    let mut joke = llmax::PartialValue::<Joke>::new();
    joke.push(r#"{"setup": "Why did the crab", "punch"#);
    let partial = joke.get().expect("started");
    assert_eq!(partial.setup.as_deref(), Some("Why did the crab"));
    assert_eq!(partial.punchline, None);
    joke.push(r#"line": "Shellfish.", "rating": 7}"#);
    let joke = joke.get().expect("complete");
    println!("{:?} / {:?} / {:?}", joke.setup, joke.punchline, joke.rating);
    assert_eq!(joke.rating, Some(7));
}
