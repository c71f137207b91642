//! `#[derive(LlmSchema)]` and strict schemas, through the public API.
//!
//! For representative types (nested structs, enums in each serde
//! representation, `Option`, `Vec`, doc comments, renames, defaults,
//! flatten), the strict schema must:
//!
//! - match its snapshot in `tests/snapshots/schema/<name>.json` exactly
//!   (`LLMAX_BLESS=1 cargo test --test schema` rewrites them: read the diff);
//! - use only what strict mode accepts (checked keyword by keyword);
//! - be valid JSON Schema (against the 2020-12 meta-schema), and accept the
//!   serialized values of its type;
//! - be accepted as a `response_format` and as tool parameters by the
//!   providers' OpenAPI specs in the Prism mocks, OpenAI's, Anthropic's and
//!   Gemini's (with `LLMAX_CONFORMANCE=1`, see tests/conformance.rs).
//!
//! The compile errors of the derive are trybuild cases: `tests/ui/schema_*.rs`.

use std::path::PathBuf;

use llmax::schema::strict_schema;
use llmax::{Deployment, LlmSchema, Message, Model, MultiAIClient, Provider, ResponseFormat, Tool};
use llmax_tests::{Verdict, VerdictProxy, data_dir};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// The types.

/// A person mentioned in the text.
#[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
struct Person {
    /// Full name, as written.
    name: String,
    /// Age in years, if stated.
    age: Option<u8>,
    /// Email addresses, in order of appearance.
    emails: Vec<String>,
    /// Where they live now.
    address: Option<Address>,
    /// Where they lived before, oldest first.
    previous_addresses: Vec<Address>,
}

/// A postal address.
#[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
struct Address {
    street: String,
    city: String,
    /// ISO 3166-1 alpha-2 code, e.g. "FR".
    country: String,
    postcode: Option<String>,
}

/// A support ticket triaged from an email.
#[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
#[llm(name = "support_ticket")]
struct Ticket {
    /// One-line summary.
    title: String,
    priority: Priority,
    status: Status,
    /// What to do next.
    action: Action,
    labels: Vec<Label>,
    /// Filled in if the email states it.
    estimate: Option<Estimate>,
    /// Priority the customer asked for, if any.
    requested_priority: Option<Priority>,
}

/// How urgent it is.
#[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
enum Priority {
    /// Today.
    Urgent,
    /// This week.
    Normal,
    /// When there is time.
    Low,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Status {
    Open,
    InProgress,
    Closed,
}

/// The next step.
#[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Action {
    /// Answer the customer.
    Reply {
        /// The answer, ready to send.
        body: String,
    },
    /// Hand over to another team.
    Escalate {
        team: String,
        reason: Option<String>,
    },
    /// Nothing left to do.
    Close,
}

/// A label for the ticket.
// Externally tagged, serde's default: a string or a one-key object.
#[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
enum Label {
    Bug,
    Feature,
    Other(String),
}

/// How long it will take.
// Adjacently tagged.
#[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "unit", content = "value", rename_all = "lowercase")]
enum Estimate {
    Hours(f64),
    Days { low: u32, high: u32 },
}

/// An invoice read from a scanned document.
#[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
#[serde(rename_all = "camelCase")]
struct Invoice {
    invoice_number: String,
    /// Whether it says "paid".
    #[serde(default)]
    paid: bool,
    total_cents: i64,
    lines: Vec<InvoiceLine>,
    /// Free-text notes, one per paragraph.
    notes: Option<Vec<String>>,
    #[serde(flatten)]
    parties: Parties,
    discount: Option<Box<Discount>>,
    /// Latitude and longitude of the issuer, if printed.
    location: Option<[f64; 2]>,
    tax_rates: Vec<Option<f32>>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InvoiceLine {
    description: String,
    quantity: u32,
    unit_price_cents: i64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Parties {
    /// Who issued it.
    seller: String,
    /// Who pays it.
    buyer: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
struct Discount {
    percent: f64,
    code: Option<String>,
}

/// Get the current weather in a city.
#[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
#[llm(name = "get_weather")]
struct GetWeather {
    /// The city, e.g. "Paris".
    city: String,
    /// Celsius unless asked otherwise.
    unit: Option<TemperatureUnit>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum TemperatureUnit {
    Celsius,
    Fahrenheit,
}

// No doc comment (no description), no fields.
#[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
struct Ping {}

/// Through llmax's re-export of schemars, for crates without their own.
#[derive(Debug, PartialEq, Deserialize, llmax::schemars::JsonSchema, llmax::LlmSchema)]
#[schemars(crate = "llmax::schemars")]
struct ViaReexport {
    id: u64,
}

/// A recipe. It and every type in it derive `LlmSchema` alone (no
/// `schemars::JsonSchema`): nested structs, enums, arrays, a flattened struct.
#[derive(Debug, PartialEq, Serialize, Deserialize, llmax::LlmSchema)]
#[serde(rename_all = "camelCase")]
struct Recipe {
    /// The dish.
    title: String,
    servings: Option<u8>,
    ingredients: Vec<Ingredient>,
    /// First and last step.
    key_steps: [Step; 2],
    diet: Option<Diet>,
    #[serde(flatten)]
    source: Source,
    #[serde(skip)]
    cached: bool,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, llmax::LlmSchema)]
struct Ingredient {
    name: String,
    /// Grams, if weighed.
    grams: Option<f32>,
}

/// One step.
#[derive(Debug, PartialEq, Serialize, Deserialize, llmax::LlmSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Step {
    /// Stir it all.
    Mix {
        minutes: u32,
    },
    Bake {
        minutes: u32,
        celsius: u16,
    },
    Rest,
}

/// Who can eat it.
#[derive(Debug, PartialEq, Serialize, Deserialize, llmax::LlmSchema)]
enum Diet {
    Vegan,
    Vegetarian,
    Any,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, llmax::LlmSchema)]
struct Source {
    author: String,
}

// ---------------------------------------------------------------------------
// One entry per type, with sample values.

struct Case {
    name: &'static str,
    description: Option<&'static str>,
    schema: Value,
    /// `strict_schema::<T>()`, which `llm_schema` caches.
    uncached: Value,
    /// Serialized values of the type, each of which must deserialize back
    /// to itself.
    samples: Vec<Value>,
}

fn case<T>(samples: Vec<T>) -> Case
where
    T: LlmSchema + schemars::JsonSchema + Serialize + PartialEq + std::fmt::Debug,
{
    Case {
        uncached: strict_schema::<T>(),
        ..llm_case(samples)
    }
}

/// A type with no `JsonSchema` of its own: the derive's schema only.
fn llm_case<T>(samples: Vec<T>) -> Case
where
    T: LlmSchema + Serialize + PartialEq + std::fmt::Debug,
{
    let samples = samples
        .into_iter()
        .map(|sample| {
            let value = serde_json::to_value(&sample).expect("samples serialize");
            let back: T = serde_json::from_value(value.clone()).expect("samples deserialize");
            assert_eq!(back, sample, "{} sample round trip", T::llm_name());
            value
        })
        .collect();
    Case {
        name: T::llm_name(),
        description: T::llm_description(),
        schema: T::llm_schema(),
        uncached: T::llm_schema(),
        samples,
    }
}

fn address(city: &str) -> Address {
    Address {
        street: "1 rue de Rivoli".into(),
        city: city.into(),
        country: "FR".into(),
        postcode: None,
    }
}

fn cases() -> Vec<Case> {
    vec![
        case(vec![
            Person {
                name: "Ada Lovelace".into(),
                age: Some(36),
                emails: vec!["ada@example.com".into()],
                address: Some(Address {
                    postcode: Some("75001".into()),
                    ..address("Paris")
                }),
                previous_addresses: vec![address("Lyon"), address("Lille")],
            },
            Person {
                name: "Anonymous".into(),
                age: None,
                emails: vec![],
                address: None,
                previous_addresses: vec![],
            },
        ]),
        case(vec![
            Ticket {
                title: "Login fails".into(),
                priority: Priority::Urgent,
                status: Status::InProgress,
                action: Action::Reply {
                    body: "We are on it.".into(),
                },
                labels: vec![Label::Bug, Label::Other("auth".into())],
                estimate: Some(Estimate::Hours(1.5)),
                requested_priority: Some(Priority::Low),
            },
            Ticket {
                title: "Export to CSV".into(),
                priority: Priority::Normal,
                status: Status::Open,
                action: Action::Escalate {
                    team: "product".into(),
                    reason: None,
                },
                labels: vec![Label::Feature],
                estimate: Some(Estimate::Days { low: 2, high: 5 }),
                requested_priority: None,
            },
            Ticket {
                title: "Thanks!".into(),
                priority: Priority::Low,
                status: Status::Closed,
                action: Action::Close,
                labels: vec![],
                estimate: None,
                requested_priority: None,
            },
        ]),
        case(vec![
            Invoice {
                invoice_number: "F-2024-001".into(),
                paid: true,
                total_cents: 12_000,
                lines: vec![InvoiceLine {
                    description: "Consulting".into(),
                    quantity: 2,
                    unit_price_cents: 6_000,
                }],
                notes: Some(vec!["Net 30.".into()]),
                parties: Parties {
                    seller: "ACME".into(),
                    buyer: "Globex".into(),
                },
                discount: Some(Box::new(Discount {
                    percent: 10.0,
                    code: Some("WELCOME".into()),
                })),
                location: Some([48.86, 2.35]),
                tax_rates: vec![Some(0.2), None],
            },
            Invoice {
                invoice_number: "F-2024-002".into(),
                paid: false,
                total_cents: -500,
                lines: vec![],
                notes: None,
                parties: Parties {
                    seller: "ACME".into(),
                    buyer: "Initech".into(),
                },
                discount: None,
                location: None,
                tax_rates: vec![],
            },
        ]),
        case(vec![
            GetWeather {
                city: "Paris".into(),
                unit: Some(TemperatureUnit::Fahrenheit),
            },
            GetWeather {
                city: "Oslo".into(),
                unit: None,
            },
        ]),
        case(vec![Ping {}]),
        llm_case(vec![
            Recipe {
                title: "Pain".into(),
                servings: Some(4),
                ingredients: vec![
                    Ingredient {
                        name: "farine".into(),
                        grams: Some(500.0),
                    },
                    Ingredient {
                        name: "sel".into(),
                        grams: None,
                    },
                ],
                key_steps: [
                    Step::Mix { minutes: 10 },
                    Step::Bake {
                        minutes: 35,
                        celsius: 230,
                    },
                ],
                diet: Some(Diet::Vegan),
                source: Source {
                    author: "Ma grand-mère".into(),
                },
                cached: false,
            },
            Recipe {
                title: "Eau".into(),
                servings: None,
                ingredients: vec![],
                key_steps: [Step::Rest, Step::Rest],
                diet: None,
                source: Source { author: "".into() },
                cached: false,
            },
        ]),
    ]
}

// ---------------------------------------------------------------------------
// Snapshots.

fn snapshot_path(name: &str) -> PathBuf {
    data_dir()
        .join("snapshots/schema")
        .join(format!("{name}.json"))
}

fn bless() -> bool {
    std::env::var("LLMAX_BLESS").is_ok_and(|v| v == "1")
}

#[test]
fn schemas_match_their_snapshots() {
    let mut mismatches = Vec::new();
    for case in cases() {
        let snapshot = json!({
            "name": case.name,
            "description": case.description,
            "schema": case.schema,
        });
        let text = format!(
            "{}\n",
            serde_json::to_string_pretty(&snapshot).expect("JSON")
        );
        let path = snapshot_path(case.name);
        if bless() {
            std::fs::create_dir_all(path.parent().expect("a folder")).expect("create folder");
            std::fs::write(&path, &text).expect("write snapshot");
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(expected) if expected == text => {}
            Ok(expected) => mismatches.push(format!(
                "{}: differs from the snapshot\n--- expected\n{expected}--- actual\n{text}",
                path.display()
            )),
            Err(error) => mismatches.push(format!("{}: {error}", path.display())),
        }
    }
    assert!(
        mismatches.is_empty(),
        "{}\n(LLMAX_BLESS=1 rewrites the snapshots; then read them)",
        mismatches.join("\n")
    );
}

#[test]
fn names_and_descriptions() {
    assert_eq!(Person::llm_name(), "Person");
    assert_eq!(
        Person::llm_description(),
        Some("A person mentioned in the text.")
    );
    assert_eq!(Ticket::llm_name(), "support_ticket");
    assert_eq!(GetWeather::llm_name(), "get_weather");
    assert_eq!(Ping::llm_description(), None);
    assert_eq!(
        ViaReexport::llm_schema(),
        json!({
            "description": "Through llmax's re-export of schemars, for crates without their own.",
            "type": "object",
            "properties": {"id": {"type": "integer"}},
            "required": ["id"],
            "additionalProperties": false
        })
    );
    for case in cases() {
        assert_eq!(case.schema, case.uncached, "{}: llm_schema", case.name);
        assert_eq!(
            case.schema.get("description").and_then(Value::as_str),
            case.description,
            "{}: the root description is the doc comment",
            case.name
        );
    }
}

// ---------------------------------------------------------------------------
// Strictness, keyword by keyword.

/// The keywords a strict schema may use.
const ALLOWED: &[&str] = &[
    "type",
    "description",
    "title",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "anyOf",
    "enum",
    "const",
];

/// Every violation of strict mode's rules in `schema`, at JSON pointer
/// `at`.
fn strict_violations(schema: &Value, at: &str, out: &mut Vec<String>) {
    let Value::Object(object) = schema else {
        out.push(format!("{at}: a boolean schema"));
        return;
    };
    for key in object.keys() {
        if !ALLOWED.contains(&key.as_str()) {
            out.push(format!("{at}: keyword `{key}`"));
        }
    }
    let is_object = match object.get("type") {
        Some(Value::String(kind)) => kind == "object",
        Some(Value::Array(kinds)) => {
            if kinds.iter().any(|k| k == "object" || k == "array") {
                out.push(format!("{at}: nullable container as a type array"));
            }
            false
        }
        Some(_) => {
            out.push(format!("{at}: `type` is neither a string nor an array"));
            false
        }
        None => {
            if !object.contains_key("anyOf")
                && !object.contains_key("const")
                && !object.contains_key("enum")
            {
                out.push(format!("{at}: no `type`, `anyOf`, `const` or `enum`"));
            }
            false
        }
    };
    if is_object {
        if object.get("additionalProperties") != Some(&Value::Bool(false)) {
            out.push(format!("{at}: `additionalProperties` is not false"));
        }
        let properties = object.get("properties").and_then(Value::as_object);
        let names: Vec<&str> = properties
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let required: Vec<&str> = object
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if names != required {
            out.push(format!(
                "{at}: required {required:?} is not every property {names:?}"
            ));
        }
        for (name, sub) in properties.into_iter().flatten() {
            strict_violations(sub, &format!("{at}/properties/{name}"), out);
        }
    } else if object.contains_key("properties") || object.contains_key("additionalProperties") {
        out.push(format!("{at}: properties outside an object schema"));
    }
    if let Some(items) = object.get("items") {
        strict_violations(items, &format!("{at}/items"), out);
    }
    if let Some(any_of) = object.get("anyOf") {
        for (i, sub) in any_of.as_array().into_iter().flatten().enumerate() {
            strict_violations(sub, &format!("{at}/anyOf/{i}"), out);
        }
    }
    if let Some(Value::Array(values)) = object.get("enum")
        && values.iter().any(|v| v.is_object() || v.is_array())
    {
        out.push(format!("{at}: `enum` of non-primitive values"));
    }
}

#[test]
fn schemas_use_only_what_strict_mode_accepts() {
    for case in cases() {
        let mut violations = Vec::new();
        if case.schema["type"] != "object" {
            violations.push("the root is not `type: object`".to_owned());
        }
        strict_violations(&case.schema, "", &mut violations);
        assert!(
            violations.is_empty(),
            "{}: {violations:#?}\n{:#}",
            case.name,
            case.schema
        );
    }
}

/// The checker itself finds what it must.
#[test]
fn the_strictness_check_finds_violations() {
    let mut violations = Vec::new();
    strict_violations(
        &json!({
            "type": "object",
            "properties": {
                "a": {"type": "integer", "minimum": 0},
                "b": {"type": ["object", "null"], "properties": {}},
                "c": {"oneOf": [{"type": "string"}]},
                "d": {"type": "object", "properties": {"e": {"type": "string"}}, "required": []}
            },
            "required": ["a", "b", "c"]
        }),
        "",
        &mut violations,
    );
    assert_eq!(violations.len(), 9, "{violations:#?}");
}

// ---------------------------------------------------------------------------
// Valid JSON Schema, and what it accepts.

#[test]
fn schemas_are_valid_json_schema_and_accept_their_values() {
    for case in cases() {
        if let Err(error) = jsonschema::meta::validate(&case.schema) {
            panic!("{}: not a valid JSON Schema: {error}", case.name);
        }
        let validator = jsonschema::draft202012::new(&case.schema)
            .unwrap_or_else(|error| panic!("{}: does not compile: {error}", case.name));
        assert!(!case.samples.is_empty());
        for sample in &case.samples {
            let errors: Vec<String> = validator
                .iter_errors(sample)
                .map(|error| format!("{error} at {}", error.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{}: the strict schema refuses {sample:#}: {errors:#?}",
                case.name
            );
        }
    }
}

#[test]
fn schemas_refuse_what_would_not_deserialize() {
    let validator = |schema: &Value| jsonschema::draft202012::new(schema).expect("compiles");
    let ticket = validator(&Ticket::llm_schema());
    let valid = json!({
        "title": "t", "priority": "Low", "status": "open", "action": {"type": "close"},
        "labels": [], "estimate": null, "requested_priority": null
    });
    assert!(ticket.is_valid(&valid));
    serde_json::from_value::<Ticket>(valid.clone()).expect("valid is a Ticket");
    type Mutation = (&'static str, fn(&mut Value));
    let mutations: [Mutation; 6] = [
        ("a missing Option field", |v| {
            v.as_object_mut().expect("object").remove("estimate");
        }),
        ("an extra property", |v| v["extra"] = json!(1)),
        ("an unknown variant", |v| v["priority"] = json!("Critical")),
        ("a tag without its fields", |v| {
            v["action"] = json!({"type": "reply"})
        }),
        ("an extra field in a variant", |v| {
            v["action"] = json!({"type": "close", "why": "done"})
        }),
        ("null for a required enum", |v| v["status"] = Value::Null),
    ];
    for (what, mutate) in mutations {
        let mut value = valid.clone();
        mutate(&mut value);
        assert!(!ticket.is_valid(&value), "{what} must be refused: {value}");
    }
    // `#[serde(default)]` fields are required and not nullable: a `null`
    // would not deserialize into a `bool`.
    let invoice = Invoice::llm_schema();
    assert_eq!(
        invoice["properties"]["paid"],
        json!({"type": "boolean", "description": "Whether it says \"paid\"."})
    );
    assert!(
        invoice["required"]
            .as_array()
            .expect("required")
            .contains(&json!("paid"))
    );
}

// ---------------------------------------------------------------------------
// Prism: the providers' specs accept them (LLMAX_CONFORMANCE=1).

fn enabled() -> bool {
    let on = std::env::var("LLMAX_CONFORMANCE").is_ok_and(|v| v == "1");
    if !on {
        eprintln!(
            "conformance skipped: set LLMAX_CONFORMANCE=1 with the Prism mocks up (see .ci/run)"
        );
    }
    on
}

fn response_format(case: &Case) -> ResponseFormat {
    ResponseFormat::json_schema(case.name, case.schema.clone()).strict(true)
}

fn response_format_json(case: &Case) -> Value {
    json!({
        "type": "json_schema",
        "json_schema": {"name": case.name, "strict": true, "schema": case.schema},
    })
}

fn tool(case: &Case) -> Tool {
    Tool {
        name: case.name.to_owned(),
        description: Some(case.description.unwrap_or(case.name).to_owned()),
        parameters: case.schema.clone(),
        strict: true,
    }
}

fn assert_verdicts(verdicts: &[Verdict], expected: usize, what: &str) {
    assert_eq!(
        verdicts.len(),
        expected,
        "{what}: every request reached the mock"
    );
    let rejected: Vec<&Verdict> = verdicts.iter().filter(|v| !v.accepted()).collect();
    assert!(rejected.is_empty(), "{what} rejected:\n{rejected:#?}");
}

#[tokio::test]
async fn the_openai_spec_accepts_strict_schemas_as_response_format_and_tools() {
    if !enabled() {
        return;
    }
    let messages = [Message::user("Extract it.")];
    for (port, spec) in [(4010, "openai.llm.json"), (4014, "openai.llm.strict.json")] {
        let proxy = VerdictProxy::start(&format!("http://127.0.0.1:{port}")).await;
        let client = MultiAIClient::new([Deployment::new(Model::Gpt4o, Provider::OpenAi)
            .endpoint(&proxy.url)
            .api_key("sk")])
        .expect("client");
        let cases = cases();
        for case in &cases {
            let _ = client
                .ainvoke(&messages, Model::Gpt4o)
                .response_format(response_format(case))
                .await;
            let _ = client
                .ainvoke(&messages, Model::Gpt4o)
                .tools([tool(case)])
                .await;
        }
        let verdicts = proxy.take();
        assert_verdicts(&verdicts, cases.len() * 2, spec);
        for (verdict, case) in verdicts.chunks(2).zip(&cases) {
            let body: Value = serde_json::from_str(&verdict[0].body).expect("JSON body");
            assert_eq!(
                body["response_format"]["json_schema"]["schema"],
                case.schema
            );
            let body: Value = serde_json::from_str(&verdict[1].body).expect("JSON body");
            assert_eq!(body["tools"][0]["function"]["parameters"], case.schema);
        }

        // The mock does validate these fields: wrong types are refused.
        let mut invalid = response_format_json(&cases[0]);
        invalid["json_schema"]["strict"] = json!("yes");
        let _ = client
            .ainvoke(&messages, Model::Gpt4o)
            .extra("response_format", invalid)
            .await;
        let _ = client
            .ainvoke(&messages, Model::Gpt4o)
            .extra(
                "tools",
                json!([{"type": "function", "function": {"name": 7}}]),
            )
            .await;
        let verdicts = proxy.take();
        assert_eq!(verdicts.len(), 2, "{spec}");
        assert!(
            verdicts.iter().all(|v| !v.accepted()),
            "{spec} must refuse a string `strict` and a numeric tool name: {verdicts:#?}"
        );
    }
}

#[tokio::test]
async fn the_gemini_spec_accepts_strict_schemas_as_response_schemas_and_tools() {
    if !enabled() {
        return;
    }
    let messages = [Message::user("Extract it.")];
    for (port, spec) in [(4013, "gemini.json"), (4015, "gemini.strict.json")] {
        let proxy = VerdictProxy::start(&format!("http://127.0.0.1:{port}")).await;
        let client =
            MultiAIClient::new([Deployment::new(Model::Gemini3ProPreview, Provider::Gemini)
                .endpoint(format!("{}/v1beta", proxy.url))
                .api_key("g-test")])
            .expect("client");
        let cases = cases();
        for case in &cases {
            let _ = client
                .ainvoke(&messages, Model::Gemini3ProPreview)
                .response_format(response_format(case))
                .await;
            let _ = client
                .ainvoke(&messages, Model::Gemini3ProPreview)
                .tools([tool(case)])
                .await;
        }
        let verdicts = proxy.take();
        assert_verdicts(&verdicts, cases.len() * 2, spec);
        for (verdict, case) in verdicts.chunks(2).zip(&cases) {
            let body: Value = serde_json::from_str(&verdict[0].body).expect("JSON body");
            assert_eq!(
                body["generationConfig"]["responseJsonSchema"], case.schema,
                "{spec}: {}",
                case.name
            );
        }
    }
}

#[tokio::test]
async fn the_anthropic_spec_accepts_strict_schemas_as_tool_input_schemas() {
    if !enabled() {
        return;
    }
    let messages = [Message::user("Extract it.")];
    let proxy = VerdictProxy::start("http://127.0.0.1:4012").await;
    let client = MultiAIClient::new(
        [Deployment::new(Model::Claude4_5Sonnet, Provider::Anthropic)
            .endpoint(&proxy.url)
            .api_key("k")],
    )
    .expect("client");
    let cases = cases();
    for case in &cases {
        let _ = client
            .ainvoke(&messages, Model::Claude4_5Sonnet)
            .tools([tool(case)])
            .await;
    }
    let verdicts = proxy.take();
    assert_verdicts(&verdicts, cases.len(), "anthropic.json");
    for (verdict, case) in verdicts.iter().zip(&cases) {
        let body: Value = serde_json::from_str(&verdict.body).expect("JSON body");
        assert_eq!(body["tools"][0]["input_schema"], case.schema);
    }

    // The mock does validate the schema's root: not an object, refused.
    let mut invalid = tool(&cases[0]);
    invalid.parameters = json!({"type": "array", "items": {"type": "string"}});
    let _ = client
        .ainvoke(&messages, Model::Claude4_5Sonnet)
        .tools([invalid])
        .await;
    let verdicts = proxy.take();
    assert_eq!(verdicts.len(), 1);
    assert!(
        !verdicts[0].accepted(),
        "an array input_schema must be refused: {verdicts:?}"
    );
}
