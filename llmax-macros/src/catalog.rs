//! The checked catalog: what [`check`](crate::check) makes of a manifest and
//! [`codegen`](crate::codegen) turns into Rust. Every name here is known to be
//! valid, every price exact.

/// A manifest word and the `llmax::catalog` enum variant it stands for.
#[derive(Debug, PartialEq, Eq)]
pub struct Choice {
    /// As written in the manifest, e.g. `"api-key"`.
    pub name: &'static str,
    /// The variant of the runtime enum, e.g. `"ApiKeyHeader"`.
    pub variant: &'static str,
}

/// `llmax::catalog::Protocol`.
pub const PROTOCOLS: &[Choice] = &[
    Choice {
        name: "openai",
        variant: "OpenAi",
    },
    Choice {
        name: "anthropic",
        variant: "Anthropic",
    },
    Choice {
        name: "gemini",
        variant: "Gemini",
    },
    Choice {
        name: "mock",
        variant: "Mock",
    },
];

/// The protocol of the in-process mock, the one protocol without a base URL.
pub const MOCK: &str = "mock";

/// `llmax::catalog::Auth`.
pub const AUTHS: &[Choice] = &[
    Choice {
        name: "bearer",
        variant: "Bearer",
    },
    Choice {
        name: "api-key",
        variant: "ApiKeyHeader",
    },
    Choice {
        name: "x-api-key",
        variant: "XApiKey",
    },
    Choice {
        name: "x-goog-api-key",
        variant: "XGoogApiKey",
    },
    Choice {
        name: "none",
        variant: "None",
    },
];

/// `llmax::catalog::ModelKind`.
pub const KINDS: &[Choice] = &[
    Choice {
        name: "chat",
        variant: "Chat",
    },
    Choice {
        name: "embedding",
        variant: "Embedding",
    },
    Choice {
        name: "transcription",
        variant: "Transcription",
    },
    Choice {
        name: "image",
        variant: "Image",
    },
    Choice {
        name: "speech",
        variant: "Speech",
    },
    Choice {
        name: "video",
        variant: "Video",
    },
];

/// The fields of `llmax::catalog::Capabilities`, which are also their
/// manifest names (`Capabilities::NAMES`, in the same order).
pub const CAPABILITIES: &[&str] = &[
    "streaming",
    "tools",
    "vision",
    "json_schema",
    "json_object",
    "reasoning",
    "audio_input",
    "prompt_caching",
];

/// The deployment fields that templates, `required` and `defaults` may name.
pub const FIELDS: &[&str] = &[
    "endpoint",
    "deployment_name",
    "api_version",
    "project_id",
    "region",
];

/// Every provider and model of a manifest, in manifest order.
#[derive(Debug)]
pub struct Catalog {
    /// `[providers.*]`.
    pub providers: Vec<Provider>,
    /// `[models.*]`.
    pub models: Vec<Model>,
}

/// A provider: everything of `llmax::catalog::ProviderSpec`, plus its Rust name.
#[derive(Debug)]
pub struct Provider {
    /// Manifest name.
    pub name: String,
    /// Rust variant name, a valid identifier.
    pub ident: String,
    /// One line on the provider.
    pub description: String,
    /// Wire protocol.
    pub protocol: &'static Choice,
    /// Base-URL templates over known fields.
    pub base_urls: Vec<String>,
    /// Query parameters, `(name, value template)`.
    pub query: Vec<(String, String)>,
    /// How the key is sent.
    pub auth: &'static Choice,
    /// Known fields a deployment must set.
    pub required: Vec<String>,
    /// Default values of known fields.
    pub defaults: Vec<(String, String)>,
    /// Headers sent on every request.
    pub headers: Vec<(String, String)>,
    /// Environment variable of the API key.
    pub api_key_env: Option<String>,
    /// Rewrites for every model.
    pub quirks: Quirks,
    /// Serves any model of the catalog.
    pub serves_any_model: bool,
    /// Priced like the model's first listed provider.
    pub borrow_prices: bool,
}

/// `llmax::catalog::Quirks`.
#[derive(Debug, Default)]
pub struct Quirks {
    /// Body fields renamed, `(from, to)`.
    pub rename: Vec<(String, String)>,
    /// Body fields removed.
    pub drop: Vec<String>,
    /// `json_object` rewritten to a permissive `json_schema`.
    pub json_object_as_json_schema: bool,
}

/// A model: everything of `llmax::catalog::ModelInfo`, plus its Rust name.
#[derive(Debug)]
pub struct Model {
    /// Manifest name.
    pub name: String,
    /// Rust variant name, a valid identifier.
    pub ident: String,
    /// One line on the model.
    pub description: String,
    /// What it is for.
    pub kind: &'static Choice,
    /// Capability names, each one of [`CAPABILITIES`].
    pub capabilities: Vec<&'static str>,
    /// Context window in tokens.
    pub context_window: Option<u32>,
    /// Maximum output tokens.
    pub max_output_tokens: Option<u32>,
    /// The providers serving it, in manifest order; at least one.
    pub offers: Vec<Offer>,
}

/// A provider serving a model.
#[derive(Debug)]
pub struct Offer {
    /// Index of the provider in [`Catalog::providers`].
    pub provider: usize,
    /// The model name sent on the wire.
    pub api_name: String,
    /// Prices on this provider.
    pub price: Price,
    /// Rewrites for this model on this provider.
    pub quirks: Quirks,
}

/// `llmax::catalog::Price`, every amount in pico-dollars.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Price {
    /// Per input token.
    pub input: u64,
    /// Per cached input token.
    pub cached_input: Option<u64>,
    /// Per input token written to the cache.
    pub cache_write: Option<u64>,
    /// Per output token.
    pub output: u64,
    /// Per minute of audio.
    pub audio_per_minute: Option<u64>,
    /// Per image: `(size, quality, pico-dollars)`, sorted by size then
    /// quality.
    pub images: Vec<(String, String, u64)>,
    /// Per character of input text.
    pub per_character: Option<u64>,
}
