//! Deployments from a TOML configuration file, with `${ENV_VAR}` values.

use std::path::Path;

use serde::Deserialize;

use super::ClientBuilder;
use crate::catalog::Catalog;
use crate::deployment::Deployment;
use crate::error::{ConfigErrorKind, Error, Result};

/// A configuration file of deployments (see
/// [`MultiAIClient::from_config`](crate::MultiAIClient::from_config)).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    deployments: Vec<DeploymentConfig>,
}

/// A deployment as written in a configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeploymentConfig {
    model: String,
    provider: String,
    deployment_name: Option<String>,
    api_key: Option<String>,
    endpoint: Option<String>,
    api_version: Option<String>,
    project_id: Option<String>,
    region: Option<String>,
    label: Option<String>,
    weight: Option<u32>,
}

impl ClientBuilder {
    /// Adds the deployments of a TOML configuration file, resolving model
    /// and provider names in `catalog` (`&llmax::CATALOG`, or one generated
    /// with [`manifest!`](crate::manifest)). See
    /// [`MultiAIClient::from_config`](crate::MultiAIClient::from_config) for
    /// the format.
    pub fn config_file(self, path: impl AsRef<Path>, catalog: &Catalog) -> Result<Self> {
        let deployments = read(path.as_ref(), catalog)?;
        Ok(self.deployments(deployments))
    }
}

fn file_error(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::config(
        ConfigErrorKind::ConfigFile,
        format!("{}: {message}", path.display()),
    )
}

/// The deployments of a config file.
fn read(path: &Path, catalog: &Catalog) -> Result<Vec<Deployment>> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        Error::config(
            ConfigErrorKind::ConfigFile,
            format!("cannot read {}: {error}", path.display()),
        )
    })?;
    let text = interpolate(&text).map_err(|message| file_error(path, message))?;
    let file: ConfigFile = toml::from_str(&text).map_err(|error| file_error(path, error))?;
    file.deployments
        .into_iter()
        .enumerate()
        .map(|(n, entry)| {
            let at = |error: crate::catalog::UnknownName| {
                file_error(path, format!("deployment {}: {error}", n + 1))
            };
            let model = catalog.model(&entry.model).map_err(at)?;
            let provider = catalog.provider(&entry.provider).map_err(at)?;
            let mut deployment = Deployment::new(model, provider);
            deployment.deployment_name = entry.deployment_name;
            deployment.api_key = entry.api_key.map(secrecy::SecretString::from);
            deployment.endpoint = entry.endpoint;
            deployment.api_version = entry.api_version;
            deployment.project_id = entry.project_id;
            deployment.region = entry.region;
            deployment.label = entry.label;
            deployment.weight = entry.weight.unwrap_or(1).max(1);
            Ok(deployment)
        })
        .collect()
}

/// Replaces `${NAME}` with the environment variable `NAME`.
fn interpolate(text: &str) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "unclosed `${` in the file".to_owned())?;
        let name = &after[..end];
        let value =
            std::env::var(name).map_err(|_| format!("environment variable `{name}` is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
