//! llmax's spans exported with OpenTelemetry: every call a span, every
//! attempt a child span, with the GenAI semantic conventions as field names
//! (`gen_ai.request.model`, `gen_ai.usage.input_tokens`...). The exporter
//! writes them to stdout; swap it for an OTLP one to send them to a
//! collector.
//!
//! ```text
//! cargo run --example otel --features otel
//! ```
//!
//! Runs on the in-process mock provider: no key, no network.

use futures_util::StreamExt;
use llmax::{Deployment, Message, Model, MultiAIClient, Provider};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Spans are exported as each ends (a simple exporter: fine for an
    // example; a batch exporter in production).
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(opentelemetry_stdout::SpanExporter::default())
        .build();
    let tracer = provider.tracer("llmax-example");
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
    tracing::subscriber::set_global_default(subscriber)?;

    let client = MultiAIClient::builder()
        .deployment(Deployment::new(Model::Gpt4o, Provider::Mock).label("mock-primary"))
        .deployment(Deployment::new(Model::Gpt4o, Provider::Mock).label("mock-backup"))
        .build()?;
    let messages = [Message::user("Tell me a joke.")];

    let response = client.ainvoke(&messages, Model::Gpt4o).await?;
    eprintln!(
        "answered by {} on {} for {}",
        response.catalog_model, response.deployment, response.cost
    );

    // A stream's span ends with the stream, with its usage.
    let mut stream = client.astream(&messages, Model::Gpt4o).await?;
    while let Some(chunk) = stream.next().await {
        chunk?;
    }

    provider.shutdown()?;
    Ok(())
}
