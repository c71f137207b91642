//! Budgets: a limit per scope (user, tenant, project, or everything) and
//! per period (UTC day, UTC month, all time).

use std::fmt;

use llmax::Usd;
use llmax::usage::Scope;

use crate::date::Day;

/// Which tag of a call's [`Scope`] a budget follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScopeKind {
    /// Each user has the limit (calls without a user tag are not counted).
    User,
    /// Each tenant has the limit.
    Tenant,
    /// Each project has the limit.
    Project,
    /// One limit for every call of the ledger, tagged or not.
    All,
}

impl ScopeKind {
    /// The column of `ledger_calls` that holds the tag (`None` for `All`).
    pub(crate) fn column(self) -> Option<&'static str> {
        match self {
            ScopeKind::User => Some("user_tag"),
            ScopeKind::Tenant => Some("tenant"),
            ScopeKind::Project => Some("project"),
            ScopeKind::All => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ScopeKind::User => "user",
            ScopeKind::Tenant => "tenant",
            ScopeKind::Project => "project",
            ScopeKind::All => "all calls",
        }
    }

    /// The call's tag for this kind: `Some("")` for `All` (every call is
    /// in it), `None` when the call has no such tag.
    pub(crate) fn tag(self, scope: &Scope) -> Option<&str> {
        match self {
            ScopeKind::User => scope.user_tag(),
            ScopeKind::Tenant => scope.tenant_tag(),
            ScopeKind::Project => scope.project_tag(),
            ScopeKind::All => Some(""),
        }
    }
}

/// The period a budget's spend is counted over, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Period {
    /// The current UTC day.
    Day,
    /// The current UTC month.
    Month,
    /// Everything the ledger holds.
    Total,
}

impl Period {
    /// The first day counted and the first day past the period (`None`: no
    /// bound) for a call made on `today`.
    pub(crate) fn range(self, today: Day) -> (Option<Day>, Option<Day>) {
        match self {
            Period::Day => (Some(today), Some(today.next())),
            Period::Month => (Some(today.month_start()), Some(today.next_month_start())),
            Period::Total => (None, None),
        }
    }

    fn describe(self, today: Day) -> String {
        match self {
            Period::Day => format!("day {today}"),
            Period::Month => format!("month {}", &today.to_string()[..7]),
            Period::Total => "all time".to_owned(),
        }
    }
}

/// A spending limit: per scope, per period, optionally for one tag only.
///
/// The gate refuses a call, before anything is sent, once the scope's spend
/// in the period (records written, records still queued in this process,
/// and live reservations) has reached the limit; with
/// [`LedgerBuilder::reserve`](crate::LedgerBuilder::reserve), once it plus
/// the call's maximum cost would pass it.
///
/// ```
/// use llmax::Usd;
/// use llmax_ledger::{Budget, Period, ScopeKind};
///
/// // Every user: $2 a day. Tenant "acme": $500 a month.
/// let per_user = Budget::new(ScopeKind::User, Period::Day, Usd::dollars(2));
/// let acme = Budget::new(ScopeKind::Tenant, Period::Month, Usd::dollars(500)).only("acme");
/// assert_eq!(acme.limit(), Usd::dollars(500));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    kind: ScopeKind,
    period: Period,
    limit: Usd,
    only: Option<String>,
}

impl Budget {
    /// `limit` for each tag of `kind` (each user, say) over `period`.
    pub fn new(kind: ScopeKind, period: Period, limit: Usd) -> Budget {
        Budget {
            kind,
            period,
            limit,
            only: None,
        }
    }

    /// Applies the budget to this one tag only (user `"alice"`, say).
    #[must_use]
    pub fn only(mut self, tag: impl Into<String>) -> Budget {
        self.only = Some(tag.into());
        self
    }

    /// The limit.
    pub fn limit(&self) -> Usd {
        self.limit
    }

    /// The scope kind.
    pub fn kind(&self) -> ScopeKind {
        self.kind
    }

    /// The period.
    pub fn period(&self) -> Period {
        self.period
    }

    /// The tag this budget counts for a call in `scope`, if it applies.
    pub(crate) fn applies<'s>(&self, scope: &'s Scope) -> Option<&'s str> {
        let tag = self.kind.tag(scope)?;
        match &self.only {
            Some(only) if only != tag => None,
            _ => Some(tag),
        }
    }

    pub(crate) fn describe(&self, tag: &str, today: Day) -> String {
        match self.kind {
            ScopeKind::All => format!("all calls, {}", self.period.describe(today)),
            kind => format!("{} {tag}, {}", kind.name(), self.period.describe(today)),
        }
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} per {:?} per {}",
            self.limit,
            self.period,
            self.kind.name()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_to_the_matching_tag_only() {
        let scope = Scope::new().user("alice").tenant("acme");
        let per_user = Budget::new(ScopeKind::User, Period::Day, Usd::dollars(1));
        assert_eq!(per_user.applies(&scope), Some("alice"));
        assert_eq!(per_user.clone().only("bob").applies(&scope), None);
        let per_project = Budget::new(ScopeKind::Project, Period::Day, Usd::dollars(1));
        assert_eq!(per_project.applies(&scope), None);
        let all = Budget::new(ScopeKind::All, Period::Total, Usd::dollars(1));
        assert_eq!(all.applies(&Scope::new()), Some(""));
    }
}
