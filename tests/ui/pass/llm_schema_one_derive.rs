// The issue's snippet: `LlmSchema` and `Deserialize` are enough, through
// paths that need only llmax and serde (the crate outside the workspace in
// .ci/run proves the same with a Cargo.toml holding nothing else). Nested
// types derive `LlmSchema` alone, enums included.
#[derive(llmax::LlmSchema, serde::Deserialize, Debug)]
struct Joke {
    setup: String,
    punchline: String,
    rating: Option<u8>,
}

/// A joke book.
#[derive(llmax::LlmSchema, serde::Deserialize, Debug)]
struct Book {
    /// Best first.
    jokes: Vec<Joke>,
    mood: Mood,
}

#[derive(llmax::LlmSchema, serde::Deserialize, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Mood {
    Silly,
    Dry,
}

fn main() {
    use llmax::LlmSchema;
    let schema = Book::llm_schema();
    assert_eq!(schema["description"], "A joke book.");
    assert_eq!(schema["properties"]["mood"]["enum"][1], "dry");
    let joke = &schema["properties"]["jokes"]["items"];
    assert_eq!(joke["required"][2], "rating");
    assert_eq!(joke["additionalProperties"], false);

    let mut book = llmax::PartialValue::<Book>::new();
    book.push(r#"{"jokes": [{"setup": "Knock kn"#);
    let partial = book.get().expect("started");
    assert_eq!(partial.jokes.as_ref().map(Vec::len), Some(0));
    book.push(r#"ock", "punchline": "Who?", "rating": null}], "mood": "dry"}"#);
    let partial = book.get().expect("started");
    assert_eq!(partial.mood.as_deref(), Some(&Mood::Dry));
}
