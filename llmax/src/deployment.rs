//! Deployments: where and how a model is served.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::catalog::{Auth, ModelId, ModelInfo, Price, ProviderId, ProviderSpec, Quirks};
use crate::error::{ConfigErrorKind, Error, Result};

/// A model served by a provider: the Python llmax's `Deployment`.
///
/// ```
/// use llmax::{Deployment, Model, Provider};
///
/// let deployment = Deployment::new(Model::Gpt4o, Provider::Azure)
///     .deployment_name("gpt-4o-2024-05-13")
///     .endpoint("https://my-resource.openai.azure.com")
///     .api_key("sk-secret");
/// // The key never shows.
/// assert!(!format!("{deployment:?}").contains("sk-secret"));
/// ```
#[derive(Clone)]
pub struct Deployment {
    pub(crate) model: &'static ModelInfo,
    pub(crate) provider: &'static ProviderSpec,
    pub(crate) deployment_name: Option<String>,
    pub(crate) api_key: Option<SecretString>,
    pub(crate) endpoint: Option<String>,
    pub(crate) api_version: Option<String>,
    pub(crate) project_id: Option<String>,
    pub(crate) region: Option<String>,
}

impl Deployment {
    /// `model` served by `provider`; set the other fields with the builder
    /// methods. Checked when the client is built.
    pub fn new(model: impl ModelId, provider: impl ProviderId) -> Deployment {
        Deployment {
            model: model.info(),
            provider: provider.spec(),
            deployment_name: None,
            api_key: None,
            endpoint: None,
            api_version: None,
            project_id: None,
            region: None,
        }
    }

    /// The provider-side name of the deployment (Azure's deployment, or the
    /// model name sent on the wire for other providers).
    #[must_use]
    pub fn deployment_name(mut self, name: impl Into<String>) -> Self {
        self.deployment_name = Some(name.into());
        self
    }

    /// The API key. Kept secret: never in `Debug`, logs or errors.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }

    /// The endpoint (base URL), e.g. `https://my-resource.openai.azure.com`.
    #[must_use]
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The API version (Azure).
    #[must_use]
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// The project id (Scaleway, Vertex AI).
    #[must_use]
    pub fn project_id(mut self, project_id: impl Into<String>) -> Self {
        self.project_id = Some(project_id.into());
        self
    }

    /// The region (Vertex AI: `us-central1` unless set).
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The deployed model.
    pub fn model(&self) -> &'static ModelInfo {
        self.model
    }

    /// The provider.
    pub fn provider(&self) -> &'static ProviderSpec {
        self.provider
    }

    /// The value of a field by its template name, empty strings counting as unset.
    fn field(&self, name: &str) -> Option<&str> {
        let value = match name {
            "endpoint" => self.endpoint.as_deref(),
            "deployment_name" => self.deployment_name.as_deref(),
            "api_version" => self.api_version.as_deref(),
            "project_id" => self.project_id.as_deref(),
            "region" => self.region.as_deref(),
            _ => None,
        };
        value
            .filter(|value| !value.is_empty())
            .or_else(|| self.provider.default_for(name))
    }

    /// Checks the deployment against its provider's needs and computes
    /// everything a call needs, once.
    pub(crate) fn resolve(&self) -> Result<Resolved> {
        let provider = self.provider;
        let model = self.model;
        let here = || format!("deployment of `{}` on `{}`", model.name, provider.name);
        let price = model.price_on(provider).ok_or_else(|| {
            let serving: Vec<&str> = model.offers.iter().map(|offer| offer.provider).collect();
            Error::config(
                ConfigErrorKind::UnservedModel,
                format!(
                    "{}: provider `{}` does not serve model `{}` (served by: {})",
                    here(),
                    provider.name,
                    model.name,
                    serving.join(", ")
                ),
            )
        })?;
        let missing: Vec<&str> = provider
            .required
            .iter()
            .copied()
            .filter(|field| self.field(field).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(Error::config(
                ConfigErrorKind::MissingField,
                format!(
                    "{}: {} requires {}",
                    here(),
                    provider.name,
                    missing.join(" and ")
                ),
            ));
        }
        let base_url = if provider.base_urls.is_empty() {
            String::new()
        } else {
            provider
                .base_urls
                .iter()
                .find_map(|template| self.render(template))
                .ok_or_else(|| {
                    let options: Vec<String> = provider
                        .base_urls
                        .iter()
                        .map(|template| template_fields(template).join(" and "))
                        .collect();
                    Error::config(
                        ConfigErrorKind::MissingField,
                        format!(
                            "{}: {} needs {}",
                            here(),
                            provider.name,
                            options.join(", or ")
                        ),
                    )
                })?
        };
        let base_url = base_url.trim_end_matches('/').to_owned();
        if !base_url.is_empty() {
            check_url(&base_url).map_err(|why| {
                Error::config(
                    ConfigErrorKind::InvalidUrl,
                    format!("{}: invalid URL `{base_url}`: {why}", here()),
                )
            })?;
        }
        let mut query = Vec::with_capacity(provider.query.len());
        for (name, template) in provider.query {
            let value = self.render(template).ok_or_else(|| {
                Error::config(
                    ConfigErrorKind::MissingField,
                    format!(
                        "{}: query parameter `{name}` needs {}",
                        here(),
                        template_fields(template).join(" and ")
                    ),
                )
            })?;
            query.push(((*name).to_owned(), value));
        }
        let api_key = match (&self.api_key, provider.auth) {
            (_, Auth::None) => None,
            (Some(key), _) if !key.expose_secret().is_empty() => Some(key.clone()),
            _ => match provider.api_key_env {
                Some(var) => match std::env::var(var) {
                    Ok(key) if !key.is_empty() => Some(SecretString::from(key)),
                    _ => {
                        return Err(Error::config(
                            ConfigErrorKind::MissingApiKey,
                            format!(
                                "{}: no API key (set it on the deployment, or in {var})",
                                here()
                            ),
                        ));
                    }
                },
                // Self-hosted servers often take no key.
                None => None,
            },
        };
        let offer = model.offer(provider.name);
        let wire_model = self
            .deployment_name
            .clone()
            .filter(|name| !name.is_empty())
            .or_else(|| offer.map(|offer| offer.api_name.to_owned()))
            .unwrap_or_else(|| model.name.to_owned());
        Ok(Resolved {
            model,
            provider,
            base_url,
            query,
            api_key,
            wire_model,
            price,
            model_quirks: offer.map_or(Quirks::NONE, |offer| offer.quirks),
        })
    }

    /// The template with its fields filled in, or `None` if one is unset.
    fn render(&self, template: &str) -> Option<String> {
        let mut out = String::with_capacity(template.len() + 64);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..].find('}')? + open;
            let value = self.field(&rest[open + 1..close])?;
            out.push_str(value.trim_end_matches('/'));
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        Some(out)
    }
}

/// The field names of a URL template.
fn template_fields(template: &str) -> Vec<&str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
        .collect()
}

fn check_url(url: &str) -> std::result::Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|error| error.to_string())?;
    match parsed.scheme() {
        "http" | "https" => Ok(()),
        other => Err(format!("scheme `{other}` is not http or https")),
    }
}

impl fmt::Debug for Deployment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deployment")
            .field("model", &self.model.name)
            .field("provider", &self.provider.name)
            .field("deployment_name", &self.deployment_name)
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("endpoint", &self.endpoint)
            .field("api_version", &self.api_version)
            .field("project_id", &self.project_id)
            .field("region", &self.region)
            .finish()
    }
}

/// A deployment checked and ready: everything a call needs, computed once.
#[derive(Clone)]
pub(crate) struct Resolved {
    pub model: &'static ModelInfo,
    pub provider: &'static ProviderSpec,
    /// The base URL, without a trailing slash (empty for the mock).
    pub base_url: String,
    pub query: Vec<(String, String)>,
    pub api_key: Option<SecretString>,
    /// The model name sent on the wire.
    pub wire_model: String,
    pub price: Price,
    pub model_quirks: Quirks,
}

impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved")
            .field("model", &self.model.name)
            .field("provider", &self.provider.name)
            .field("base_url", &self.base_url)
            .field("wire_model", &self.wire_model)
            .finish_non_exhaustive()
    }
}
