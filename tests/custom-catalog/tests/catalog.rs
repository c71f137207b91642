//! The catalog generated from `my_providers.toml`.

use custom_catalog_tests::{CATALOG, Model, Provider};
use llmax::catalog::{
    Auth, Capabilities, ModelId, ModelKind, Price, Protocol, ProviderId, Quirks, Usd,
};

#[test]
fn every_entry_is_generated_in_manifest_order() {
    assert_eq!(
        Model::ALL,
        [
            Model::AcmeLarge,
            Model::Acme2_5Mini,
            Model::AcmeEmbed,
            Model::Whisper
        ]
    );
    assert_eq!(
        Provider::ALL,
        [Provider::Acme, Provider::AcmeEu, Provider::Fake]
    );
    assert_eq!(CATALOG.models.len(), Model::ALL.len());
    assert_eq!(CATALOG.providers.len(), Provider::ALL.len());
    for (index, model) in Model::ALL.iter().enumerate() {
        assert!(std::ptr::eq(model.info(), &CATALOG.models[index]));
    }
    for (index, provider) in Provider::ALL.iter().enumerate() {
        assert!(std::ptr::eq(provider.spec(), &CATALOG.providers[index]));
    }
}

#[test]
fn names_display_and_parse() {
    assert_eq!(Model::AcmeLarge.as_str(), "acme-large");
    assert_eq!(Model::Acme2_5Mini.to_string(), "acme-2.5-mini");
    assert_eq!(Model::Whisper.to_string(), "acme-whisper");
    assert_eq!(format!("[{:>12}]", Model::AcmeEmbed), "[  acme-embed]");
    assert_eq!(Provider::AcmeEu.to_string(), "acme-eu");
    assert_eq!(Provider::Fake.as_str(), "fake");
    for model in Model::ALL {
        assert_eq!(model.as_str().parse::<Model>(), Ok(*model));
    }
    for provider in Provider::ALL {
        assert_eq!(provider.as_str().parse::<Provider>(), Ok(*provider));
    }
}

#[test]
fn unknown_names_suggest_the_closest() {
    let error = "acme-larg".parse::<Model>().unwrap_err();
    assert_eq!(error.kind, "model");
    assert_eq!(error.name, "acme-larg");
    assert_eq!(error.suggestion, Some("acme-large"));
    assert_eq!(
        error.to_string(),
        "unknown model `acme-larg`; did you mean `acme-large`?"
    );

    let error = "acme_eu".parse::<Provider>().unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown provider `acme_eu`; did you mean `acme-eu`?"
    );

    let error = "gpt-4o".parse::<Model>().unwrap_err();
    assert_eq!(error.suggestion, None);
    assert_eq!(error.to_string(), "unknown model `gpt-4o`");
}

#[test]
fn serde_uses_the_manifest_name() {
    let json = serde_json::to_string(&Model::Acme2_5Mini).unwrap();
    assert_eq!(json, r#""acme-2.5-mini""#);
    assert_eq!(
        serde_json::from_str::<Model>(&json).unwrap(),
        Model::Acme2_5Mini
    );
    for model in Model::ALL {
        let json = serde_json::to_value(model).unwrap();
        assert_eq!(serde_json::from_value::<Model>(json).unwrap(), *model);
    }
    let json = serde_json::to_string(&Provider::ALL).unwrap();
    assert_eq!(json, r#"["acme","acme-eu","fake"]"#);
    assert_eq!(
        serde_json::from_str::<Vec<Provider>>(&json).unwrap(),
        Provider::ALL
    );

    let error = serde_json::from_str::<Model>(r#""acme-larg""#).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("unknown model `acme-larg`; did you mean `acme-large`?"),
        "{error}"
    );
    let error = serde_json::from_str::<Provider>("3").unwrap_err();
    assert!(error.to_string().contains("a provider name"), "{error}");
}

#[test]
fn prices_are_exact_pico_dollars() {
    assert_eq!(
        Model::AcmeLarge.price(Provider::Acme),
        Some(Price {
            input: Usd::from_picos(3_000_000),
            cached_input: Some(Usd::from_picos(300_000)),
            cache_write: Some(Usd::from_picos(3_750_000)),
            output: Usd::from_picos(15_000_000),
            audio_per_minute: None,
            images: &[],
            per_character: None,
        })
    );
    assert_eq!(
        Model::AcmeLarge.price(Provider::AcmeEu),
        Some(Price {
            input: Usd::from_picos(108_750),
            cached_input: None,
            cache_write: None,
            output: Usd::from_picos(2_587_500),
            audio_per_minute: None,
            images: &[],
            per_character: None,
        })
    );
    let mini = Model::Acme2_5Mini.price(Provider::AcmeEu).unwrap();
    assert_eq!(mini.input, Usd::from_picos(1));
    assert_eq!(mini.output, Usd::from_picos(498));
    // No output price: free output (embeddings).
    let embed = Model::AcmeEmbed.price(Provider::Acme).unwrap();
    assert_eq!(embed.input, Usd::from_picos(20_000));
    assert_eq!(embed.output, Usd::ZERO);
    // Audio is in dollars per minute: $0.006.
    let whisper = Model::Whisper.price(Provider::Acme).unwrap();
    assert_eq!(
        whisper.audio_per_minute,
        Some(Usd::from_picos(6_000_000_000))
    );
    assert_eq!(whisper.input, Usd::ZERO);
}

#[test]
fn providers_serving_a_model() {
    assert_eq!(
        Model::AcmeLarge.providers().collect::<Vec<_>>(),
        [Provider::Acme, Provider::AcmeEu]
    );
    assert_eq!(
        Model::Acme2_5Mini.providers().collect::<Vec<_>>(),
        [Provider::AcmeEu]
    );
    assert!(Model::AcmeLarge.served_by(Provider::Acme));
    assert!(!Model::Acme2_5Mini.served_by(Provider::Acme));
    assert_eq!(Model::Acme2_5Mini.price(Provider::Acme), None);
    // The mock serves every model, priced like its first listed provider.
    for model in Model::ALL {
        assert!(model.served_by(Provider::Fake));
        assert_eq!(
            model.price(Provider::Fake),
            model.providers().next().and_then(|p| model.price(p))
        );
    }
}

#[test]
fn model_data() {
    let large = Model::AcmeLarge.info();
    assert_eq!(large.name, "acme-large");
    assert_eq!(large.description, "ACME's large model");
    assert_eq!(Model::AcmeLarge.kind(), ModelKind::Chat);
    assert_eq!(Model::AcmeLarge.context_window(), Some(200_000));
    assert_eq!(large.max_output_tokens, Some(8192));
    let capabilities = Model::AcmeLarge.capabilities();
    assert!(capabilities.streaming && capabilities.tools && capabilities.json_object);
    assert!(!capabilities.vision && !capabilities.reasoning);

    let offer = large.offer("acme-eu").unwrap();
    assert_eq!(offer.api_name, "large-eu");
    assert!(offer.quirks.json_object_as_json_schema);
    assert_eq!(large.offer("acme").unwrap().api_name, "acme-large");
    assert_eq!(large.offer("acme").unwrap().quirks, Quirks::NONE);

    assert_eq!(Model::AcmeEmbed.kind(), ModelKind::Embedding);
    assert_eq!(Model::AcmeEmbed.capabilities(), Capabilities::NONE);
    assert_eq!(Model::AcmeEmbed.context_window(), None);
    assert_eq!(Model::AcmeEmbed.info().description, "");
    assert_eq!(Model::Whisper.kind(), ModelKind::Transcription);
}

#[test]
fn capability_names_match_the_runtime() {
    // acme-2.5-mini declares every capability the manifest format knows.
    let all = Model::Acme2_5Mini.capabilities();
    for name in Capabilities::NAMES {
        assert!(all.has(name), "{name}");
    }
}

#[test]
fn provider_data() {
    let acme = Provider::Acme.spec();
    assert_eq!(acme.name, "acme");
    assert_eq!(
        acme.description,
        "ACME inference, an OpenAI-compatible server"
    );
    assert_eq!(Provider::Acme.protocol(), Protocol::OpenAi);
    assert_eq!(acme.base_urls, ["{endpoint}"]);
    assert_eq!(acme.auth, Auth::Bearer);
    assert_eq!(acme.api_key_env, Some("ACME_API_KEY"));
    assert_eq!(
        acme.quirks.rename,
        [("max_completion_tokens", "max_tokens")]
    );
    assert_eq!(acme.quirks.drop, ["stream_options"]);
    assert!(!acme.serves_any_model && !acme.borrow_prices);

    let eu = Provider::AcmeEu.spec();
    assert_eq!(
        eu.base_urls,
        ["{endpoint}", "https://{region}.acme.example/v1"]
    );
    assert_eq!(eu.query, [("api-version", "{api_version}")]);
    assert_eq!(eu.auth, Auth::ApiKeyHeader);
    assert_eq!(eu.required, ["region"]);
    assert_eq!(eu.default_for("api_version"), Some("2025-01-01"));
    assert_eq!(eu.headers, [("x-acme-tenant", "tests")]);
    assert_eq!(eu.api_key_env, None);
    assert!(eu.quirks.is_empty());

    let fake = Provider::Fake.spec();
    assert_eq!(Provider::Fake.protocol(), Protocol::Mock);
    assert_eq!(fake.auth, Auth::None);
    assert!(fake.base_urls.is_empty());
    assert!(fake.serves_any_model && fake.borrow_prices);
}

#[test]
fn the_runtime_traits_and_lookups_agree() {
    fn info<M: ModelId>(model: M) -> &'static llmax::catalog::ModelInfo {
        model.info()
    }
    fn spec<P: ProviderId>(provider: P) -> &'static llmax::catalog::ProviderSpec {
        provider.spec()
    }
    assert_eq!(info(Model::AcmeLarge).name, "acme-large");
    assert_eq!(spec(Provider::AcmeEu).name, "acme-eu");
    assert!(std::ptr::eq(
        CATALOG.model("acme-large").unwrap(),
        Model::AcmeLarge.info()
    ));
    assert!(std::ptr::eq(
        CATALOG.provider("fake").unwrap(),
        Provider::Fake.spec()
    ));
    assert_eq!(
        CATALOG.model("acme-larg").unwrap_err().suggestion,
        Some("acme-large")
    );
}

#[test]
fn enums_order_and_hash_like_the_manifest() {
    use std::collections::HashSet;
    assert!(Model::AcmeLarge < Model::Whisper);
    let set: HashSet<Model> = Model::ALL.iter().copied().collect();
    assert_eq!(set.len(), Model::ALL.len());
    assert_eq!(format!("{:?}", Model::Acme2_5Mini), "Acme2_5Mini");
}
