// Schema names are what providers accept: [a-zA-Z0-9_-]{1,64}; #[llm]
// takes `name` only, on the type.
#[derive(serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
#[llm(name = "weather report")]
struct WeatherReport {
    city: String,
}

#[derive(serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
#[llm(title = "Weather")]
struct Forecast {
    city: String,
}

#[derive(serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
struct Météo {
    city: String,
}

#[derive(serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
struct Alert {
    #[llm(name = "text")]
    message: String,
}

fn main() {}
