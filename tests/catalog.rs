//! The default catalog against the Python llmax it succeeds: every model and
//! provider its README names, and every model of its price tables.

use std::collections::BTreeSet;
use std::str::FromStr;

use llmax::{Model, Provider};
use llmax_tests::data_dir;

/// The strings quoted after `key=` (e.g. `model="gpt-4o"`) and the
/// backticked `scaleway/...` names of a text.
fn names_in(text: &str, key: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let pattern = format!("{key}=\"");
    for (at, _) in text.match_indices(&pattern) {
        let rest = &text[at + pattern.len()..];
        if let Some(end) = rest.find('"') {
            names.insert(rest[..end].to_owned());
        }
    }
    names
}

#[test]
fn every_model_and_provider_of_the_python_readme_is_in_the_catalog() {
    let readme =
        std::fs::read_to_string(data_dir().join("reference/python-llmax-README.md")).unwrap();
    let mut models = names_in(&readme, "model");
    // The Scaleway list, in backticks.
    for part in readme.split('`').skip(1).step_by(2) {
        if part.starts_with("scaleway/") {
            models.insert(part.to_owned());
        }
    }
    // `invoke_to_str(messages, model="gpt-4o")` and the like.
    assert!(
        models.contains("gpt-4o") && models.contains("whisper-1"),
        "{models:?}"
    );
    assert!(models.len() >= 10, "{models:?}");
    for name in &models {
        let model = Model::from_str(name).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(model.as_str(), name);
    }
    let providers = names_in(&readme, "provider");
    assert_eq!(
        providers,
        BTreeSet::from(["azure".to_owned(), "scaleway".to_owned()])
    );
    for name in &providers {
        Provider::from_str(name).unwrap();
    }
}

#[test]
fn every_model_of_the_python_price_tables_is_in_the_catalog_at_its_price() {
    let csv =
        std::fs::read_to_string(data_dir().join("reference/python-llmax-models-and-prices.csv"))
            .unwrap();
    let mut checked = 0;
    for line in csv.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let (family, name, provider) = (fields[0], fields[1], fields[2]);
        // ElevenLabs speaks no protocol llmax has: listed as skipped in providers.toml.
        if family == "ElevenLabs" {
            continue;
        }
        let name = if family == "Scaleway" {
            format!("scaleway/{name}")
        } else {
            name.to_owned()
        };
        let model = Model::from_str(&name).unwrap_or_else(|e| panic!("{e}"));
        // `*`: one price for every provider the Python llmax used; the
        // catalog may add providers with prices of their own.
        let providers: Vec<Provider> = if provider == "*" {
            model.providers().collect()
        } else {
            vec![Provider::from_str(provider).unwrap()]
        };
        assert!(!providers.is_empty(), "{name} has a provider");
        let Ok(input) = fields[3].parse::<f64>() else {
            checked += 1;
            continue;
        };
        let expected = (input * 1e6).round() as u64;
        let at_reference_price = providers
            .iter()
            .filter(|provider| {
                model
                    .price(**provider)
                    .is_some_and(|price| price.input.picos() == expected)
            })
            .count();
        assert!(
            at_reference_price >= 1,
            "{name}: no provider at the reference input price {input}"
        );
        if provider != "*" {
            assert_eq!(at_reference_price, 1, "{name} on {provider}");
        }
        checked += 1;
    }
    assert!(checked > 80, "{checked}");
}

#[test]
fn catalog_lookups_agree_with_the_enums() {
    assert_eq!(Model::ALL.len(), llmax::CATALOG.models.len());
    assert_eq!(Provider::ALL.len(), llmax::CATALOG.providers.len());
    for model in Model::ALL {
        assert_eq!(
            llmax::CATALOG.model(model.as_str()).unwrap().name,
            model.as_str()
        );
        assert!(
            model.providers().next().is_some() || model.served_by(Provider::Mock),
            "{model}"
        );
    }
    assert!(
        Model::Gpt4o.served_by(Provider::Mock),
        "the mock serves every model"
    );
    assert_eq!(
        Model::Gpt4o.price(Provider::Mock),
        Model::Gpt4o.price(Provider::OpenAi)
    );
    assert_eq!(Model::Gpt4o.price(Provider::Vllm), Some(llmax::Price::FREE));
    assert_eq!(Model::Gpt4o.price(Provider::Mistral), None);
}
