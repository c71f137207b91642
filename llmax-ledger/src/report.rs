//! Reports: spend and tokens grouped by model, provider, scope and day.

use std::fmt::Write as _;

use llmax::Usd;
use sqlx::any::AnyArguments;
use sqlx::{AnyPool, Arguments, Row as _};

use crate::Error;

/// What a report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dimension {
    /// The UTC day (`YYYY-MM-DD`).
    Day,
    /// The catalog model.
    Model,
    /// The provider.
    Provider,
    /// The operation name.
    Operation,
    /// The user tag.
    User,
    /// The tenant tag.
    Tenant,
    /// The project tag.
    Project,
}

impl Dimension {
    fn column(self) -> &'static str {
        match self {
            Dimension::Day => "day",
            Dimension::Model => "model",
            Dimension::Provider => "provider",
            Dimension::Operation => "operation",
            Dimension::User => "user_tag",
            Dimension::Tenant => "tenant",
            Dimension::Project => "project",
        }
    }

    /// The dimension's name, as the command line takes it.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Day => "day",
            Dimension::Model => "model",
            Dimension::Provider => "provider",
            Dimension::Operation => "operation",
            Dimension::User => "user",
            Dimension::Tenant => "tenant",
            Dimension::Project => "project",
        }
    }
}

impl std::str::FromStr for Dimension {
    type Err = Error;

    /// `day`, `model`, `provider`, `operation`, `user`, `tenant`, `project`.
    fn from_str(name: &str) -> Result<Dimension, Error> {
        Ok(match name {
            "day" => Dimension::Day,
            "model" => Dimension::Model,
            "provider" => Dimension::Provider,
            "operation" => Dimension::Operation,
            "user" => Dimension::User,
            "tenant" => Dimension::Tenant,
            "project" => Dimension::Project,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "unknown dimension `{other}`; expected day, model, provider, operation, user, tenant or project"
                )));
            }
        })
    }
}

/// A report query: dimensions to group by, and optional filters.
///
/// ```
/// use llmax_ledger::{Dimension, Report};
///
/// let report = Report::by([Dimension::Model, Dimension::Day])
///     .since("2026-12-01")
///     .until("2026-12-31")
///     .tenant("acme");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct Report {
    dimensions: Vec<Dimension>,
    since: Option<String>,
    until: Option<String>,
    user: Option<String>,
    tenant: Option<String>,
    project: Option<String>,
}

impl Report {
    /// Groups by these dimensions, in this order (none: one total row).
    pub fn by(dimensions: impl IntoIterator<Item = Dimension>) -> Report {
        Report {
            dimensions: dimensions.into_iter().collect(),
            ..Report::default()
        }
    }

    /// Only days from this one (`YYYY-MM-DD`, UTC), included.
    pub fn since(mut self, day: impl Into<String>) -> Report {
        self.since = Some(day.into());
        self
    }

    /// Only days up to this one (`YYYY-MM-DD`, UTC), included.
    pub fn until(mut self, day: impl Into<String>) -> Report {
        self.until = Some(day.into());
        self
    }

    /// Only this user's calls.
    pub fn user(mut self, user: impl Into<String>) -> Report {
        self.user = Some(user.into());
        self
    }

    /// Only this tenant's calls.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Report {
        self.tenant = Some(tenant.into());
        self
    }

    /// Only this project's calls.
    pub fn project(mut self, project: impl Into<String>) -> Report {
        self.project = Some(project.into());
        self
    }

    /// Replaces the dimensions, keeping the filters.
    pub fn with_dimensions(mut self, dimensions: impl IntoIterator<Item = Dimension>) -> Report {
        self.dimensions = dimensions.into_iter().collect();
        self
    }

    /// The dimensions.
    pub fn dimensions(&self) -> &[Dimension] {
        &self.dimensions
    }
}

/// One group of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReportRow {
    /// The group's value of each dimension, in the report's order (`None`:
    /// untagged).
    pub keys: Vec<Option<String>>,
    /// Calls.
    pub calls: u64,
    /// Calls that failed.
    pub failed: u64,
    /// What they cost.
    pub cost: Usd,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from cache.
    pub cached_input_tokens: u64,
    /// Reasoning tokens.
    pub reasoning_tokens: u64,
}

fn is_day(day: &str) -> bool {
    let bytes = day.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

pub(crate) async fn run(pool: &AnyPool, report: &Report) -> Result<Vec<ReportRow>, Error> {
    let mut filter = String::new();
    let mut args = AnyArguments::default();
    let bind = |error| Error::Database(sqlx::Error::Encode(error));
    let mut n = 0;
    let filters = [
        ("day >=", report.since.as_ref()),
        ("day <=", report.until.as_ref()),
        ("user_tag =", report.user.as_ref()),
        ("tenant =", report.tenant.as_ref()),
        ("project =", report.project.as_ref()),
    ];
    for (i, (clause, value)) in filters.into_iter().enumerate() {
        let Some(value) = value else { continue };
        if i < 2 && !is_day(value) {
            return Err(Error::InvalidArgument(format!(
                "`{value}` is not a day (YYYY-MM-DD)"
            )));
        }
        n += 1;
        let _ = write!(filter, " AND {clause} ${n}");
        args.add(value.clone()).map_err(bind)?;
    }
    let columns: Vec<&str> = report.dimensions.iter().map(|d| d.column()).collect();
    let keys = if columns.is_empty() {
        String::new()
    } else {
        format!("{}, ", columns.join(", "))
    };
    let group = if columns.is_empty() {
        String::new()
    } else {
        format!(" GROUP BY {0} ORDER BY {0}", columns.join(", "))
    };
    let sql = format!(
        "SELECT {keys}COUNT(*) AS calls, \
         CAST(COALESCE(SUM(1 - succeeded), 0) AS BIGINT) AS failed, \
         CAST(COALESCE(SUM(cost_picos), 0) AS BIGINT) AS cost, \
         CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT) AS input_tokens, \
         CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT) AS output_tokens, \
         CAST(COALESCE(SUM(cached_input_tokens), 0) AS BIGINT) AS cached_input_tokens, \
         CAST(COALESCE(SUM(reasoning_tokens), 0) AS BIGINT) AS reasoning_tokens \
         FROM ledger_calls WHERE 1 = 1{filter}{group}"
    );
    let rows = sqlx::query_with(&sql, args)
        .fetch_all(pool)
        .await
        .map_err(Error::Database)?;
    let width = columns.len();
    rows.iter()
        .map(|row| {
            let mut keys = Vec::with_capacity(width);
            for i in 0..width {
                keys.push(
                    row.try_get::<Option<String>, _>(i)
                        .map_err(Error::Database)?,
                );
            }
            let get = |name: &str| row.try_get::<i64, _>(name).map_err(Error::Database);
            Ok(ReportRow {
                keys,
                calls: count(get("calls")?),
                failed: count(get("failed")?),
                cost: Usd::from_picos(count(get("cost")?)),
                input_tokens: count(get("input_tokens")?),
                output_tokens: count(get("output_tokens")?),
                cached_input_tokens: count(get("cached_input_tokens")?),
                reasoning_tokens: count(get("reasoning_tokens")?),
            })
        })
        .collect()
}

impl ReportRow {
    /// The rows as an aligned text table, headed by the dimensions' names,
    /// with a total line.
    ///
    /// ```
    /// use llmax_ledger::{Dimension, ReportRow};
    ///
    /// let table = ReportRow::table(&[Dimension::Model], &[]);
    /// assert!(table.starts_with("model"));
    /// ```
    pub fn table(dimensions: &[Dimension], rows: &[ReportRow]) -> String {
        let mut header: Vec<String> = dimensions.iter().map(|d| d.name().to_owned()).collect();
        header.extend(
            [
                "calls",
                "failed",
                "cost (USD)",
                "input",
                "output",
                "cached",
                "reasoning",
            ]
            .map(str::to_owned),
        );
        let line = |keys: Vec<String>, row: &ReportRow| {
            let mut cells = keys;
            cells.extend([
                row.calls.to_string(),
                row.failed.to_string(),
                row.cost.to_string(),
                row.input_tokens.to_string(),
                row.output_tokens.to_string(),
                row.cached_input_tokens.to_string(),
                row.reasoning_tokens.to_string(),
            ]);
            cells
        };
        let mut lines = vec![header];
        let mut total = ReportRow {
            keys: Vec::new(),
            calls: 0,
            failed: 0,
            cost: Usd::ZERO,
            input_tokens: 0,
            output_tokens: 0,
            cached_input_tokens: 0,
            reasoning_tokens: 0,
        };
        for row in rows {
            let keys = row
                .keys
                .iter()
                .map(|key| key.clone().unwrap_or_else(|| "-".to_owned()))
                .collect();
            lines.push(line(keys, row));
            total.calls += row.calls;
            total.failed += row.failed;
            total.cost = total.cost.saturating_add(row.cost);
            total.input_tokens += row.input_tokens;
            total.output_tokens += row.output_tokens;
            total.cached_input_tokens += row.cached_input_tokens;
            total.reasoning_tokens += row.reasoning_tokens;
        }
        let mut keys = vec![String::new(); dimensions.len()];
        if let Some(first) = keys.first_mut() {
            "total".clone_into(first);
        }
        lines.push(line(keys, &total));
        let columns = lines[0].len();
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                lines
                    .iter()
                    .map(|l| l[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for line in &lines {
            for (c, cell) in line.iter().enumerate() {
                let pad = widths[c];
                if c < dimensions.len() {
                    let _ = write!(out, "{cell:<pad$}");
                } else {
                    let _ = write!(out, "{cell:>pad$}");
                }
                if c + 1 < columns {
                    out.push_str("  ");
                }
            }
            out.push('\n');
        }
        out
    }
}
