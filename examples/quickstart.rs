//! Streams a reply and prints its cost.
//!
//! ```bash
//! cargo run --example quickstart
//! ```
//!
//! With no configuration it uses llmax's in-process `mock` provider (no
//! network, no key) and says so. With `OPENAI_API_KEY` set it calls OpenAI;
//! with `AZURE_OPENAI_API_KEY` and `AZURE_OPENAI_ENDPOINT` (and optionally
//! `AZURE_OPENAI_DEPLOYMENT`) it calls Azure OpenAI.

use std::io::Write;

use futures_util::StreamExt;
use llmax::{Deployment, Message, Model, MultiAIClient, Provider};

fn deployment(model: Model) -> (Deployment, &'static str) {
    let set = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    if let (Some(key), Some(endpoint)) = (set("AZURE_OPENAI_API_KEY"), set("AZURE_OPENAI_ENDPOINT"))
    {
        let name = set("AZURE_OPENAI_DEPLOYMENT").unwrap_or_else(|| model.to_string());
        let deployment = Deployment::new(model, Provider::Azure)
            .api_key(key)
            .endpoint(endpoint)
            .deployment_name(name);
        return (deployment, "Azure OpenAI");
    }
    if let Some(key) = set("OPENAI_API_KEY") {
        return (
            Deployment::new(model, Provider::OpenAi).api_key(key),
            "OpenAI",
        );
    }
    (
        Deployment::new(model, Provider::Mock),
        "the mock provider (no network; set OPENAI_API_KEY to call OpenAI)",
    )
}

#[tokio::main]
async fn main() -> llmax::Result<()> {
    let model = Model::Gpt4oMini;
    let (deployment, provider) = deployment(model);
    println!("Calling {model} on {provider}.\n");

    let client = MultiAIClient::builder()
        .deployment(deployment)
        .increment_usage(|record| async move {
            println!(
                "\n\n[usage] {} on {}: {} tokens in, {} out, cost {}",
                record.model,
                record.provider,
                record.input_tokens,
                record.output_tokens,
                record.cost
            );
        })
        .build()?;

    let messages = [Message::user("Tell me a short joke about type systems.")];
    let mut stream = client
        .astream(&messages, model)
        .system("You are a witty assistant.")
        .await?;
    let mut stdout = std::io::stdout();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if let Some(text) = &chunk.content {
            print!("{text}");
            let _ = stdout.flush();
        }
        if let Some(cost) = chunk.cost {
            print!("\n\nThis reply cost {cost} ({:.8} USD).", cost.as_f64());
        }
    }
    Ok(())
}
