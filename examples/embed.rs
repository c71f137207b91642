//! Embeds a few documents and a question, and ranks the documents by cosine
//! similarity to the question.
//!
//! ```bash
//! cargo run --example embed
//! ```
//!
//! With no configuration it uses llmax's in-process `mock` provider (no
//! network, no key) and says so: its vectors come from a hash of the text,
//! so the ranking means nothing there. With `OPENAI_API_KEY` set it calls
//! OpenAI's `text-embedding-3-small`.

use llmax::{Deployment, MultiAIClient, Provider};

const DOCUMENTS: [&str; 4] = [
    "The Eiffel Tower is a wrought-iron lattice tower in Paris.",
    "Rust guarantees memory safety without a garbage collector.",
    "Croissants are best eaten fresh, still warm from the oven.",
    "Tokio is an asynchronous runtime for the Rust language.",
];

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b)).max(f32::MIN_POSITIVE)
}

#[tokio::main]
async fn main() -> llmax::Result<()> {
    let model = llmax::model!("text-embedding-3-small");
    let key = std::env::var("OPENAI_API_KEY")
        .ok()
        .filter(|key| !key.is_empty());
    let (deployment, provider) = match key {
        Some(key) => (
            Deployment::new(model, Provider::OpenAi).api_key(key),
            "OpenAI",
        ),
        None => (
            Deployment::new(model, Provider::Mock),
            "the mock provider (no network, vectors from a hash: set OPENAI_API_KEY to call OpenAI)",
        ),
    };
    println!("Embedding with {model} on {provider}.\n");

    let client = MultiAIClient::builder()
        .deployment(deployment)
        .increment_usage(|record| async move {
            println!(
                "[usage] {} on {}: {} tokens, cost {}",
                record.model, record.provider, record.input_tokens, record.cost
            );
        })
        .build()?;

    // The documents and the question in one call: one vector per input, in
    // order. 256 numbers each is plenty for a search this small.
    let question = "Which runtime runs async Rust code?";
    let mut inputs: Vec<&str> = DOCUMENTS.to_vec();
    inputs.push(question);
    let e = client.aembed(&inputs, model).dimensions(256).await?;
    let (documents, question_vector) = e.embeddings.split_at(DOCUMENTS.len());

    let mut ranked: Vec<(f32, &str)> = documents
        .iter()
        .zip(DOCUMENTS)
        .map(|(vector, text)| (cosine(vector, &question_vector[0]), text))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("\n{question}");
    for (score, text) in ranked {
        println!("  {score:+.3}  {text}");
    }
    println!(
        "\n{} vectors of {} numbers, {} tokens, cost {} ({:.8} USD).",
        e.embeddings.len(),
        e.embeddings[0].len(),
        e.usage.input_tokens,
        e.cost,
        e.cost.as_f64()
    );
    Ok(())
}
