// Tuple structs, unit structs, `#[serde(transparent)]` and unions are not
// objects.
#[derive(serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
struct Pair(String, u32);

#[derive(serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
struct Nothing;

#[derive(serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
#[serde(transparent)]
struct Wrapper {
    inner: String,
}

#[derive(llmax::LlmSchema)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
