//! Structured output: JSON Schemas that providers accept in strict mode,
//! from Rust types.
//!
//! In strict mode (OpenAI `"strict": true`, Anthropic strict tools and
//! structured outputs) the model is constrained to the schema, so its answer
//! always parses, but only a subset of JSON Schema is accepted: every object
//! lists all its properties as `required` and sets `additionalProperties:
//! false`, the root is an object, and most validation keywords are refused.
//! [`strict_schema`] turns what `schemars` generates into that subset;
//! `#[derive(LlmSchema)]` (see [`LlmSchema`]) names it, describes it, and
//! refuses at compile time what the subset cannot express.
//!
//! What is lost on the way, and why:
//!
//! - Numeric and length bounds (`minimum`, `maxLength`, `minItems`...) and
//!   `format` are removed, as Anthropic refuses them: a `u8` is any integer,
//!   a `[T; 3]` any array, a `char` any string. A model that answers `300`
//!   for a `u8` gets a deserialization error, not a schema violation.
//! - A field that serde may omit (`#[serde(default)]`) is required like any
//!   other, with its own schema: it becomes nullable only if it already
//!   accepts `null` (an `Option`), since a `null` for a `u32` would not
//!   deserialize.
//! - Schemas describe what deserializes (`schemars`'s deserialize contract).
//!   An `Option` field with `#[serde(skip_serializing_if = "Option::is_none")]`
//!   still deserializes from `null`, but the values *you* serialize omit it,
//!   so they do not validate against the strict schema (which requires it).
//! - Property order: `serde_json` without its `preserve_order` feature keeps
//!   object keys sorted, so properties (and `required`) are in alphabetical
//!   order, which is also the order a model writes them in.

use serde_json::{Map, Value};

/// A type whose values a model can be asked for, or that a model can pass
/// to a tool: derive it with `#[derive(llmax::LlmSchema, serde::Deserialize)]`.
/// The crate needs no other dependency than llmax and serde: the schema is
/// built through llmax's own copy of schemars.
///
/// ```
/// use llmax::LlmSchema;
/// use serde_json::json;
///
/// /// A city and its weather.
/// #[derive(llmax::LlmSchema, serde::Deserialize)]
/// #[llm(name = "weather_report")]
/// struct WeatherReport {
///     /// The city, e.g. "Paris".
///     city: String,
///     /// Degrees Celsius, if known.
///     celsius: Option<f64>,
/// }
///
/// assert_eq!(WeatherReport::llm_name(), "weather_report");
/// assert_eq!(WeatherReport::llm_description(), Some("A city and its weather."));
/// assert_eq!(
///     WeatherReport::llm_schema(),
///     json!({
///         "type": "object",
///         "description": "A city and its weather.",
///         "properties": {
///             "city": {"type": "string", "description": "The city, e.g. \"Paris\"."},
///             "celsius": {"type": ["number", "null"], "description": "Degrees Celsius, if known."}
///         },
///         "required": ["city", "celsius"],
///         "additionalProperties": false
///     })
/// );
/// ```
///
/// # The derive
///
/// On a struct with named fields it implements this trait; on any struct
/// or enum it makes the type usable as a field of another (nested types
/// need only `#[derive(llmax::LlmSchema)]` too, or `schemars::JsonSchema`).
///
/// - The name is the type's, or `#[llm(name = "...")]`; it must be 1 to 64
///   characters among `a-z A-Z 0-9 _ -`, as providers require.
/// - The description is the type's doc comment (lines joined with newlines,
///   trimmed); the doc comments of fields and enum variants become the
///   `description`s inside the schema.
/// - serde's attributes are honoured as serde reads them: `rename`,
///   `rename_all`, `tag`, `content`, `untagged` (in a field), `skip`,
///   `default`, `flatten` of a struct, `alias`...; so are schemars's
///   (`#[schemars(with = "T")]`).
/// - The schema is built once, on first use, by schemars (through llmax's
///   re-export, so the version always matches) from a copy of the type's
///   declaration that carries only doc comments, `#[serde]` and
///   `#[schemars]` attributes; see `llmax-macros` for why. A type that also
///   derives `schemars::JsonSchema` itself keeps it: the two do not clash.
/// - Fields of `chrono`, `uuid` and `url` types have their schemas with
///   llmax's features of those names (off by default, to keep the build
///   lean). A field whose type has no schema is given one with
///   `#[schemars(with = "String")]`; `#[schemars(...)]` is an attribute of
///   this derive too, so it needs no schemars dependency. A field type that
///   has neither is a compile error on that field.
/// - It generates the type's [`Partial`](Self::Partial), the value so far
///   while it streams ([`TypedEvent::Partial`](crate::TypedEvent)); a field
///   whose nested struct derives `LlmSchema` streams field by field with
///   `#[llm(partial)]` (see [`crate::partial`]), else it appears once
///   complete.
///
/// What strict mode cannot express is a compile error on the offending
/// field or attribute:
///
/// - a tuple struct, unit struct or union, `#[serde(transparent)]`;
/// - a map in a field's type (`HashMap`, `BTreeMap`, `IndexMap`,
///   `serde_json::Map`, also inside `Option`, `Vec`, `Box`...): maps with
///   non-string keys have their own message; maps with string keys are
///   refused too, since strict mode requires a fixed list of properties on
///   every object. Use a `Vec` of key/value structs;
/// - `serde_json::Value` (any JSON) and tuples (`prefixItems`);
/// - a field whose type names the type itself (`Vec<Node>` in `Node`):
///   Anthropic refuses recursive schemas;
/// - generic types: the name and the cached schema are one per type.
///
/// An enum derives it to be the type of a field; it is no root (the root
/// of a structured output must be an object): asking for one is a compile
/// error that says so. The checks read type names, as a derive can: a map
/// behind a type alias, or recursion through another type, is not seen
/// (the latter gives a `$ref`, which OpenAI accepts and Anthropic refuses),
/// nor is an enum under `#[serde(flatten)]` (it makes the root a union,
/// which providers refuse: make it a field instead). A field with
/// `#[schemars(with = "T")]` is checked as a `T`; one with `#[serde(skip)]`
/// is not checked.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the root of a structured output or a tool's arguments",
    label = "not a struct deriving `llmax::LlmSchema`",
    note = "the root must be a JSON object: derive `llmax::LlmSchema` on a struct with named fields (an enum deriving it can be the type of one of its fields)"
)]
pub trait LlmSchema: serde::de::DeserializeOwned {
    /// The value so far while it streams: a struct generated by the derive,
    /// with the same fields, each optional (`None` until it starts). Strings
    /// and lists grow as they arrive; see [`crate::partial`].
    type Partial: crate::partial::Kind<Elem = Self::Partial> + Clone + Default;

    /// The schema's name: the `json_schema` name in `response_format`, and
    /// the tool's name. `[a-zA-Z0-9_-]`, at most 64 characters.
    fn llm_name() -> &'static str;

    /// The type's doc comment, if any: the tool's description.
    fn llm_description() -> Option<&'static str>;

    /// The strict JSON Schema of the type (see [`make_strict`]).
    fn llm_schema() -> Value;
}

/// Strict JSON Schema of a root schema schemars built (what the derive
/// caches).
#[doc(hidden)]
pub fn strict_from(schema: schemars::Schema) -> Value {
    let mut schema = schema.to_value();
    make_strict(&mut schema);
    schema
}

/// The settings of every schema llmax builds: draft 2020-12, sub-schemas
/// inlined, no `$schema`.
fn generator() -> schemars::SchemaGenerator {
    schemars::generate::SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.inline_subschemas = true;
            settings.meta_schema = None;
        })
        .into_generator()
}

/// The root schema of `T`, not yet strict (used by the derive).
#[doc(hidden)]
pub fn root_schema<T: schemars::JsonSchema>() -> schemars::Schema {
    generator().into_root_schema_for::<T>()
}

/// The JSON Schema of `T` as strict mode wants it: every property
/// required, optional fields nullable, `additionalProperties: false`
/// everywhere, sub-schemas inlined, and no keyword a provider rejects.
///
/// `schemars` generates the schema (draft 2020-12, sub-schemas inlined,
/// describing what deserializes into `T`), then [`make_strict`] rewrites
/// it. Only a `T` whose schema is an object can be the root of a structured
/// output or a tool's parameters: `#[derive(LlmSchema)]` makes sure of it.
///
/// ```
/// #[derive(schemars::JsonSchema)]
/// struct Point {
///     x: i32,
///     #[serde(default)]
///     y: i32,
/// }
///
/// let schema = llmax::schema::strict_schema::<Point>();
/// assert_eq!(schema["required"], serde_json::json!(["x", "y"]));
/// assert_eq!(schema["additionalProperties"], false);
/// assert_eq!(schema["properties"]["x"], serde_json::json!({"type": "integer"}));
/// ```
pub fn strict_schema<T: schemars::JsonSchema>() -> Value {
    strict_from(root_schema::<T>())
}

/// Keywords removed wherever they appear: validation that providers refuse
/// in strict mode (Anthropic refuses numeric and length bounds; both refuse
/// most of the rest) and annotations they do not need. `format` goes too:
/// each provider accepts a different list.
const REMOVED: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "default",
    "examples",
    "readOnly",
    "writeOnly",
    "deprecated",
    "contentEncoding",
    "contentMediaType",
];

/// Keywords whose value is a schema.
const SUBSCHEMA: &[&str] = &[
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
];

/// Keywords whose value is an array of schemas.
const SUBSCHEMA_ARRAYS: &[&str] = &["anyOf", "oneOf", "allOf", "prefixItems"];

/// Keywords whose value maps names to schemas.
const SUBSCHEMA_MAPS: &[&str] = &["properties", "patternProperties", "$defs", "definitions"];

/// Rewrites a JSON Schema, in place, into the subset strict mode accepts:
///
/// - at the root, `title` and `$schema` are removed (the name goes in
///   `response_format` or the tool);
/// - every object schema gets `additionalProperties: false` (unless it is
///   a map, whose schema is kept so that the provider refuses it loudly
///   rather than the map silently becoming `{}`) and `required` listing all
///   its properties; a property that was optional is not made nullable
///   unless it already accepts `null` (see the [module docs](self));
/// - `oneOf` becomes `anyOf` (strict mode has no `oneOf`), and a union
///   directly inside a union is merged into it (`Option` of an enum);
/// - a nullable object or array, `"type": ["object", "null"]`, becomes
///   `anyOf: [{"type": "object", ...}, {"type": "null"}]`, the form every
///   provider accepts; nullable scalars keep `"type": ["string", "null"]`;
/// - the keywords providers refuse (`format`, `minimum`, `maxLength`,
///   `pattern`, `minItems`, `default`, `examples`...) are removed;
/// - the properties of an object that also has an `anyOf` of objects (a
///   `#[serde(flatten)]`ed enum) are copied into each branch, which leaves
///   a union: fine in a field, refused by providers at the root;
/// - `$defs` (left by recursive types) are rewritten the same way.
///
/// Applying it twice changes nothing more.
///
/// ```
/// use serde_json::json;
///
/// let mut schema = json!({
///     "$schema": "https://json-schema.org/draft/2020-12/schema",
///     "title": "Reading",
///     "type": "object",
///     "properties": {
///         "value": {"type": "integer", "format": "uint8", "minimum": 0, "maximum": 255},
///         "unit": {"type": ["string", "null"]}
///     },
///     "required": ["value"]
/// });
/// llmax::schema::make_strict(&mut schema);
/// assert_eq!(schema, json!({
///     "type": "object",
///     "properties": {
///         "value": {"type": "integer"},
///         "unit": {"type": ["string", "null"]}
///     },
///     "required": ["value", "unit"],
///     "additionalProperties": false
/// }));
/// ```
pub fn make_strict(schema: &mut Value) {
    if let Value::Object(root) = schema {
        root.remove("title");
    }
    rewrite(schema);
}

/// [`make_strict`] below the root.
fn rewrite(schema: &mut Value) {
    // `true` / `false` schemas stay: nothing in them to rewrite.
    let Value::Object(object) = schema else {
        return;
    };
    for keyword in REMOVED {
        object.remove(*keyword);
    }
    if !object.contains_key("anyOf")
        && let Some(one_of) = object.remove("oneOf")
    {
        object.insert("anyOf".to_owned(), one_of);
    }
    for keyword in SUBSCHEMA {
        if let Some(sub) = object.get_mut(*keyword) {
            rewrite(sub);
        }
    }
    for keyword in SUBSCHEMA_ARRAYS {
        if let Some(Value::Array(subs)) = object.get_mut(*keyword) {
            subs.iter_mut().for_each(rewrite);
        }
    }
    for keyword in SUBSCHEMA_MAPS {
        if let Some(Value::Object(subs)) = object.get_mut(*keyword) {
            subs.values_mut().for_each(rewrite);
        }
    }
    flatten_any_of(object);
    distribute_into_union(object);
    if is_object(object) {
        close_object(object);
    }
    split_nullable_container(object);
}

/// `{properties: P, anyOf: [{properties: A}, {properties: B}]}` (a
/// flattened enum) to `{anyOf: [{properties: P + A}, {properties: P + B}]}`.
/// Once every object is closed, the first form accepts nothing: the outer
/// `additionalProperties: false` refuses the variant's properties, and each
/// variant's refuses the outer ones.
fn distribute_into_union(object: &mut Map<String, Value>) {
    let Some(Value::Array(branches)) = object.get("anyOf") else {
        return;
    };
    let all_objects = branches
        .iter()
        .all(|branch| branch.as_object().is_some_and(is_object));
    if !object.contains_key("properties") || !all_objects {
        return;
    }
    let Some(Value::Object(properties)) = object.remove("properties") else {
        return;
    };
    for key in ["type", "required", "additionalProperties"] {
        object.remove(key);
    }
    if let Some(Value::Array(branches)) = object.get_mut("anyOf") {
        for branch in branches.iter_mut().filter_map(Value::as_object_mut) {
            let merged = branch
                .entry("properties")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(merged) = merged {
                for (name, schema) in &properties {
                    merged.entry(name.clone()).or_insert_with(|| schema.clone());
                }
            }
            close_object(branch);
        }
    }
}

/// `anyOf: [{anyOf: [a, b], description}, c]` to `anyOf: [a, b, c]` (an
/// `Option` of an enum): the same values, one union fewer for providers
/// that count them. The inner description moves up if the outer has none.
fn flatten_any_of(object: &mut Map<String, Value>) {
    let Some(Value::Array(branches)) = object.get_mut("anyOf") else {
        return;
    };
    let is_bare_union = |branch: &Value| {
        branch.as_object().is_some_and(|branch| {
            branch.get("anyOf").is_some_and(Value::is_array)
                && branch
                    .keys()
                    .all(|key| matches!(key.as_str(), "anyOf" | "description" | "title"))
        })
    };
    if !branches.iter().any(is_bare_union) {
        return;
    }
    let mut flat = Vec::new();
    let mut description = None;
    for branch in std::mem::take(branches) {
        if !is_bare_union(&branch) {
            flat.push(branch);
            continue;
        }
        if let Value::Object(mut union) = branch {
            if description.is_none() {
                description = union.remove("description");
            }
            if let Some(Value::Array(inner)) = union.remove("anyOf") {
                flat.extend(inner);
            }
        }
    }
    *branches = flat;
    if let Some(description) = description {
        object.entry("description").or_insert(description);
    }
}

/// Whether `schema` describes objects: `"type": "object"` (alone or with
/// `"null"`), or properties without a type.
fn is_object(schema: &Map<String, Value>) -> bool {
    match schema.get("type") {
        Some(Value::String(kind)) => kind == "object",
        Some(Value::Array(kinds)) => kinds.iter().any(|kind| kind == "object"),
        _ => schema.contains_key("properties"),
    }
}

/// Every property required, and no other property allowed (maps aside).
fn close_object(object: &mut Map<String, Value>) {
    let names: Vec<Value> = match object.get("properties") {
        Some(Value::Object(properties)) => properties.keys().cloned().map(Value::from).collect(),
        _ => Vec::new(),
    };
    object.insert("required".to_owned(), Value::Array(names));
    // `{"type": "object"}` alone is an empty struct: say it the way OpenAI
    // documents a function without parameters.
    if !object.contains_key("properties") && !object.contains_key("additionalProperties") {
        object.insert("properties".to_owned(), Value::Object(Map::new()));
    }
    // `unevaluatedProperties: false` (from `deny_unknown_fields` with
    // `flatten`) says the same as `additionalProperties: false` once the
    // flattened properties are merged, as schemars does.
    if object.get("unevaluatedProperties") == Some(&Value::Bool(false)) {
        object.remove("unevaluatedProperties");
    }
    match object.get("additionalProperties") {
        // A map: keep it, the provider will say it cannot take it.
        Some(Value::Object(_)) | Some(Value::Bool(true)) => {}
        _ => {
            object.insert("additionalProperties".to_owned(), Value::Bool(false));
        }
    }
}

/// `{"type": ["object", "null"], ...}` to
/// `{"anyOf": [{"type": "object", ...}, {"type": "null"}]}`, keeping
/// `description` and `title` outside; the same for arrays.
fn split_nullable_container(object: &mut Map<String, Value>) {
    let Some(Value::Array(kinds)) = object.get("type") else {
        return;
    };
    let null = Value::from("null");
    let is_container = |kind: &Value| kind == "object" || kind == "array";
    if !kinds.contains(&null) || !kinds.iter().any(is_container) {
        return;
    }
    let mut others: Vec<Value> = kinds
        .iter()
        .filter(|kind| **kind != null)
        .cloned()
        .collect();
    let mut branch = std::mem::take(object);
    branch.insert(
        "type".to_owned(),
        if others.len() == 1 {
            others.remove(0)
        } else {
            Value::Array(others)
        },
    );
    if let Some(Value::Array(values)) = branch.get_mut("enum") {
        values.retain(|value| !value.is_null());
    }
    for annotation in ["description", "title"] {
        if let Some(value) = branch.remove(annotation) {
            object.insert(annotation.to_owned(), value);
        }
    }
    let mut null_schema = Map::new();
    null_schema.insert("type".to_owned(), null);
    object.insert(
        "anyOf".to_owned(),
        Value::Array(vec![Value::Object(branch), Value::Object(null_schema)]),
    );
}

/// What the derive's generated code calls: how a field's schema is found.
#[doc(hidden)]
pub mod derive {
    use std::borrow::Cow;
    use std::marker::PhantomData;

    use schemars::{JsonSchema, Schema, SchemaGenerator};

    /// A type whose schema `#[derive(LlmSchema)]` builds (structs and
    /// enums), and `Option`, `Vec`, `Box` and arrays of them.
    pub trait SchemaOf {
        /// Its name (the schema's `title`, and its id with the module).
        fn llmax_schema_name() -> Cow<'static, str>;
        /// Its id: unique per type.
        fn llmax_schema_id() -> Cow<'static, str>;
        /// Its schema, as `JsonSchema::json_schema` would give it.
        fn llmax_json_schema(generator: &mut SchemaGenerator) -> Schema;
    }

    /// `T` seen through schemars: std's impls for `Option<Via<T>>`,
    /// `Vec<Via<T>>`... then give the containers of derived types.
    pub struct Via<T: ?Sized>(PhantomData<T>);

    impl<T: SchemaOf + ?Sized> JsonSchema for Via<T> {
        fn schema_name() -> Cow<'static, str> {
            T::llmax_schema_name()
        }
        fn schema_id() -> Cow<'static, str> {
            T::llmax_schema_id()
        }
        fn json_schema(generator: &mut SchemaGenerator) -> Schema {
            T::llmax_json_schema(generator)
        }
    }

    macro_rules! containers {
        ($($ty:ty => $via:ty),* $(,)?) => {$(
            impl<T: SchemaOf> SchemaOf for $ty {
                fn llmax_schema_name() -> Cow<'static, str> {
                    <$via as JsonSchema>::schema_name()
                }
                fn llmax_schema_id() -> Cow<'static, str> {
                    <$via as JsonSchema>::schema_id()
                }
                fn llmax_json_schema(generator: &mut SchemaGenerator) -> Schema {
                    <$via as JsonSchema>::json_schema(generator)
                }
            }
        )*};
    }
    containers! {
        Option<T> => Option<Via<T>>,
        Vec<T> => Vec<Via<T>>,
        Box<T> => Box<Via<T>>,
        std::collections::VecDeque<T> => std::collections::VecDeque<Via<T>>,
    }

    // schemars has `[T; N]` up to 32 only; strict mode removes the length
    // bounds that would tell it from a `Vec` anyway.
    impl<T: SchemaOf, const N: usize> SchemaOf for [T; N] {
        fn llmax_schema_name() -> Cow<'static, str> {
            <Vec<Via<T>> as JsonSchema>::schema_name()
        }
        fn llmax_schema_id() -> Cow<'static, str> {
            <Vec<Via<T>> as JsonSchema>::schema_id()
        }
        fn llmax_json_schema(generator: &mut SchemaGenerator) -> Schema {
            <Vec<Via<T>> as JsonSchema>::json_schema(generator)
        }
    }

    /// Picks a field type's schema at compile time (autoref
    /// specialization): `(&Probe::<T>::new()).llmax_schema(generator)`
    /// calls [`SchemaViaLlm`] if `T: SchemaOf`, else [`SchemaViaJsonSchema`].
    pub struct Probe<T: ?Sized>(PhantomData<T>);

    impl<T: ?Sized> Probe<T> {
        /// The probe of `T`.
        pub fn new() -> Probe<T> {
            Probe(PhantomData)
        }
    }

    impl<T: ?Sized> Default for Probe<T> {
        fn default() -> Probe<T> {
            Probe::new()
        }
    }

    /// The schema of a type the derive built.
    pub trait SchemaViaLlm {
        /// The schema, as a field's.
        fn llmax_schema(&self, generator: &mut SchemaGenerator) -> Schema;
    }

    impl<T: SchemaOf + ?Sized> SchemaViaLlm for Probe<T> {
        fn llmax_schema(&self, generator: &mut SchemaGenerator) -> Schema {
            generator.subschema_for::<Via<T>>()
        }
    }

    /// The schema of a type implementing `schemars::JsonSchema`.
    pub trait SchemaViaJsonSchema {
        /// The schema, as a field's.
        fn llmax_schema(&self, generator: &mut SchemaGenerator) -> Schema;
    }

    impl<T: JsonSchema + ?Sized> SchemaViaJsonSchema for &Probe<T> {
        fn llmax_schema(&self, generator: &mut SchemaGenerator) -> Schema {
            generator.subschema_for::<T>()
        }
    }
}

#[cfg(test)]
mod tests;
