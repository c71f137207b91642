//! A typed reply, the same reply streamed as partial values, and a tool loop.
//!
//! ```bash
//! cargo run --example structured
//! ```
//!
//! With no configuration it runs on llmax's in-process `mock` provider (no
//! network, no key), which answers with values that follow the schema and
//! calls the tools it is given. With `OPENAI_API_KEY` set it calls OpenAI.

use futures_util::StreamExt;
use llmax::{Deployment, LlmSchema, Message, Model, MultiAIClient, Provider, Toolbox, TypedEvent};

// One derive and serde's: no schemars dependency, nested types included.

/// A trip plan.
#[derive(Debug, llmax::LlmSchema, serde::Deserialize)]
struct Trip {
    /// Where to go.
    destination: String,
    /// How many days.
    days: u32,
    /// What to see, in order.
    stops: Vec<Stop>,
    /// Anything to bring, if needed.
    bring: Option<String>,
}

/// A place to see.
#[derive(Debug, llmax::LlmSchema, serde::Deserialize)]
struct Stop {
    /// Its name.
    name: String,
    /// Why it is worth it.
    why: String,
}

/// Current weather in a city.
#[derive(Debug, llmax::LlmSchema, serde::Deserialize)]
struct Weather {
    /// The city, e.g. "Lyon".
    city: String,
}

#[tokio::main]
async fn main() -> llmax::Result<()> {
    let model = Model::Gpt4oMini;
    let deployment = match std::env::var("OPENAI_API_KEY") {
        Ok(key) if !key.is_empty() => Deployment::new(model, Provider::OpenAi).api_key(key),
        _ => {
            println!("Using the mock provider (no network; set OPENAI_API_KEY to call OpenAI).\n");
            Deployment::new(model, Provider::Mock)
        }
    };
    let client = MultiAIClient::new([deployment])?;

    // 1. A typed reply: the schema comes from the type.
    println!("Schema sent for `Trip`:\n{:#}\n", Trip::llm_schema());
    let messages = [Message::user("Plan a two-day trip to Lyon.")];
    let trip: Trip = client.ainvoke_typed(&messages, model).tries(2).await?;
    println!("Typed reply: {} days in {}:", trip.days, trip.destination);
    for stop in &trip.stops {
        println!("- {}: {}", stop.name, stop.why);
    }
    if let Some(bring) = &trip.bring {
        println!("Bring: {bring}");
    }
    println!();

    // 2. The same, streamed: the value so far after each chunk, every field
    //    optional (`None` until it starts), strings growing as they arrive.
    let mut stream = client.astream_typed::<Trip>(&messages, model).await?;
    while let Some(event) = stream.next().await {
        match event? {
            TypedEvent::Delta(_) => {}
            TypedEvent::Partial(trip) => println!(
                "so far: {:?} for {:?} days, {} stops",
                trip.destination.as_deref().unwrap_or_default(),
                trip.days,
                trip.stops.as_ref().map_or(0, Vec::len),
            ),
            TypedEvent::Done(trip) => {
                println!("streamed: {} days in {}", trip.days, trip.destination)
            }
        }
    }
    println!();

    // 3. A tool loop: the model calls `Weather`, llmax runs it and feeds the result back.
    let tools = Toolbox::new().tool(|args: Weather| async move {
        Ok::<_, std::convert::Infallible>(
            serde_json::json!({"city": args.city, "celsius": 19, "sky": "clear"}),
        )
    });
    let messages = [Message::user("Should I bring an umbrella to Lyon today?")];
    let run = client.ainvoke(&messages, model).run_tools(&tools).await?;
    println!(
        "Tool loop: {} rounds, {} tokens in, {} out, cost {}\nAnswer: {}",
        run.rounds,
        run.usage.input_tokens,
        run.usage.output_tokens,
        run.cost,
        run.response.content().unwrap_or_default()
    );
    Ok(())
}
