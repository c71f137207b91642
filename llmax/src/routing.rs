//! Routing: several deployments per model, the [`Strategy`] that picks
//! among the healthy ones, their cooldowns, and the fallback models of a
//! call.
//!
//! A model's deployments form a [`Pool`]. A call's [`Route`] is the pool
//! of its model, then the pools of its fallback models. The engine asks a
//! [`Planner`] for the next deployment to try; health is a few atomics per
//! deployment, so that picking one takes no lock and, on the happy path,
//! reads two of them.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::catalog::ModelInfo;
use crate::engine::Target;
use crate::error::{Error, ProviderErrorKind, Result, TimeoutPhase};

/// Default rest of a deployment that failed (429, 5xx, no connection)
/// without saying for how long.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(10);

/// How a call picks among the healthy deployments of its model.
///
/// Whatever the strategy, a deployment that is resting (after a 429, a 5xx
/// or a failed connection) is skipped while another is healthy, and a
/// failed attempt moves on to the next healthy deployment at once.
///
/// ```
/// use llmax::{Deployment, Model, MultiAIClient, Provider, Strategy};
///
/// let client = MultiAIClient::builder()
///     .deployment(Deployment::new(Model::Gpt4o, Provider::Mock).label("a"))
///     .deployment(Deployment::new(Model::Gpt4o, Provider::Mock).label("b").weight(3))
///     .strategy(Strategy::RoundRobin)
///     .build()?;
/// # Ok::<(), llmax::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Strategy {
    /// The first healthy deployment in the order they were added: a
    /// primary, then its backups (the default).
    #[default]
    InOrder,
    /// Each call starts at the next deployment, in proportion to their
    /// [weights](crate::Deployment::weight).
    RoundRobin,
    /// The deployment with the fewest calls in flight for its
    /// [weight](crate::Deployment::weight) (streams count until they end).
    LeastInFlight,
}

/// Milliseconds since the first use of the clock, plus one: 0 means "not
/// resting".
fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let elapsed = EPOCH.get_or_init(Instant::now).elapsed();
    u64::try_from(elapsed.as_millis())
        .unwrap_or(u64::MAX - 1)
        .saturating_add(1)
}

/// The health of one deployment: lock-free, shared by every call.
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// `now_ms()` at which its rest ends; 0: not resting.
    resting_until: AtomicU64,
    /// Its key was refused (401/403): out of rotation until the client is
    /// rebuilt.
    refused: AtomicBool,
    /// Calls in flight (counted for [`Strategy::LeastInFlight`] only).
    in_flight: AtomicU32,
}

impl Health {
    /// Whether calls may go to it now. `now` is read at most once per pick,
    /// and only if some deployment is resting.
    fn available(&self, now: &mut Option<u64>) -> bool {
        if self.refused.load(Relaxed) {
            return false;
        }
        let until = self.resting_until.load(Relaxed);
        until == 0 || until <= *now.get_or_insert_with(now_ms)
    }

    /// Whether calls may go to it now.
    pub fn is_available(&self) -> bool {
        self.available(&mut None)
    }

    /// When its rest ends, if it is resting (and not refused).
    fn rest_end(&self) -> Option<u64> {
        if self.refused.load(Relaxed) {
            return None;
        }
        Some(self.resting_until.load(Relaxed))
    }

    /// Rests it for `rest` from now (a longer rest already set stands).
    pub fn rest(&self, rest: Duration) {
        let rest = u64::try_from(rest.as_millis()).unwrap_or(u64::MAX / 2);
        self.resting_until
            .fetch_max(now_ms().saturating_add(rest), Relaxed);
    }

    /// It answered: a rest that is over is cleared, so that picking it
    /// reads no clock again. A rest still running stands (a call sent
    /// before a 429 may still succeed), and nothing is written on the happy
    /// path, so that no shared cache line bounces between calls.
    pub fn recovered(&self) {
        let until = self.resting_until.load(Relaxed);
        if until != 0 && until <= now_ms() {
            // Lost to a new rest set meanwhile: that one stands.
            let _ = self
                .resting_until
                .compare_exchange(until, 0, Relaxed, Relaxed);
        }
    }

    /// Takes it out of rotation; true the first time only.
    pub fn refuse(&self) -> bool {
        !self.refused.swap(true, Relaxed)
    }
}

/// What a failed attempt says about its deployment.
pub(crate) enum Verdict {
    /// Healthy: the request itself was at fault (400...).
    Fine,
    /// Rest it for this long.
    Rest(Duration),
    /// Its key was refused.
    Refused,
}

impl Verdict {
    /// 429, 5xx and overload rest the deployment for the `Retry-After` it
    /// gave, else `cooldown`; so does a failed connection. A refused key
    /// takes it out of rotation.
    pub fn of(error: &Error, cooldown: Duration) -> Verdict {
        match error {
            Error::Provider(provider) => match provider.kind {
                ProviderErrorKind::Auth => Verdict::Refused,
                ProviderErrorKind::RateLimit
                | ProviderErrorKind::Server
                | ProviderErrorKind::Overloaded => {
                    Verdict::Rest(provider.retry_after.unwrap_or(cooldown))
                }
                _ => Verdict::Fine,
            },
            Error::Connection { .. }
            | Error::Timeout {
                phase: TimeoutPhase::Connect,
                ..
            } => Verdict::Rest(cooldown),
            _ => Verdict::Fine,
        }
    }
}

/// Whether a failed attempt may be tried again elsewhere: what llmax
/// retries, and a refused key (another deployment has another key).
pub(crate) fn moves_on(error: &Error) -> bool {
    error.is_retryable()
        || matches!(error, Error::Provider(provider) if provider.kind == ProviderErrorKind::Auth)
}

/// Counts a call in flight on a deployment while it lives.
pub(crate) struct InFlight(Option<Arc<Target>>);

impl InFlight {
    pub const NONE: InFlight = InFlight(None);

    fn start(target: &Arc<Target>) -> InFlight {
        target.health.in_flight.fetch_add(1, Relaxed);
        InFlight(Some(target.clone()))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(target) = &self.0 {
            target.health.in_flight.fetch_sub(1, Relaxed);
        }
    }
}

/// The deployments of one model.
pub(crate) struct Pool {
    pub members: Box<[Arc<Target>]>,
    pub strategy: Strategy,
    /// Where round-robin starts next.
    cursor: AtomicUsize,
    total_weight: usize,
}

impl Pool {
    /// The largest pool: a round's tried set is a 64-bit mask.
    pub const MAX_MEMBERS: usize = 64;

    pub fn new(members: Vec<Arc<Target>>, strategy: Strategy) -> Pool {
        let total_weight = members.iter().map(|m| m.weight as usize).sum();
        Pool {
            members: members.into_boxed_slice(),
            strategy,
            cursor: AtomicUsize::new(0),
            total_weight,
        }
    }

    /// Its first deployment. A pool is built from at least one deployment
    /// (the builder groups them by model), so it is never empty.
    pub fn first(&self) -> &Arc<Target> {
        &self.members[0]
    }

    pub fn model(&self) -> &'static ModelInfo {
        self.first().resolved.model
    }

    /// Where a round in this pool starts scanning.
    fn start(&self) -> usize {
        match self.strategy {
            Strategy::InOrder => 0,
            _ if self.members.len() == 1 => 0,
            Strategy::RoundRobin => {
                // The slot in the cycle of total weight, and the member
                // whose share holds it.
                let mut slot = self.cursor.fetch_add(1, Relaxed) % self.total_weight.max(1);
                for (index, member) in self.members.iter().enumerate() {
                    let weight = member.weight as usize;
                    if slot < weight {
                        return index;
                    }
                    slot -= weight;
                }
                0
            }
            // Ties go round, so that sequential calls spread too.
            Strategy::LeastInFlight => self.cursor.fetch_add(1, Relaxed) % self.members.len(),
        }
    }

    /// The next healthy member not tried yet, scanning from `start`.
    fn pick(&self, start: usize, tried: u64, now: &mut Option<u64>) -> Option<usize> {
        let n = self.members.len();
        let mut best: Option<(usize, u64)> = None;
        for step in 0..n {
            let index = (start + step) % n;
            if tried & (1 << index) != 0 {
                continue;
            }
            let member = &self.members[index];
            if !member.health.available(now) {
                continue;
            }
            if self.strategy != Strategy::LeastInFlight {
                return Some(index);
            }
            // Load per unit of weight, compared without division.
            let load = u64::from(member.health.in_flight.load(Relaxed));
            let better = best.is_none_or(|(b, b_load)| {
                load * u64::from(self.members[b].weight) < b_load * u64::from(member.weight)
            });
            if better {
                best = Some((index, load));
            }
        }
        best.map(|(index, _)| index)
    }
}

/// The pools a call may go to: its model's, then its fallbacks'.
pub(crate) struct Route<'a> {
    pub primary: &'a Pool,
    pub fallbacks: Vec<&'a Pool>,
}

impl<'a> Route<'a> {
    fn pool(&self, index: usize) -> Option<&'a Pool> {
        match index {
            0 => Some(self.primary),
            _ => self.fallbacks.get(index - 1).copied(),
        }
    }

    fn len(&self) -> usize {
        1 + self.fallbacks.len()
    }
}

/// A deployment to try, with what the attempt must hold while it runs.
pub(crate) struct Pick<'a> {
    pub target: &'a Arc<Target>,
    pub in_flight: InFlight,
}

/// Walks a route, one round at a time: every healthy deployment of the
/// model, in the strategy's order, then those of each fallback model. A
/// round in which nothing is healthy tries the deployment whose rest ends
/// first, so that a call never fails without being sent only because its
/// deployments are resting (a client with one deployment behaves as one
/// without routing).
pub(crate) struct Planner<'r, 'a> {
    route: &'r Route<'a>,
    pool: usize,
    start: Option<usize>,
    tried: u64,
    attempted: bool,
}

impl<'r, 'a> Planner<'r, 'a> {
    pub fn new(route: &'r Route<'a>) -> Planner<'r, 'a> {
        Planner {
            route,
            pool: 0,
            start: None,
            tried: 0,
            attempted: false,
        }
    }

    /// Starts another round, after every deployment of the last one failed.
    pub fn next_round(&mut self) {
        self.pool = 0;
        self.start = None;
        self.tried = 0;
        self.attempted = false;
    }

    /// The next deployment of this round; `Ok(None)` when the round is
    /// over, an error when no deployment may ever be tried (every key
    /// refused).
    pub fn next(&mut self) -> Result<Option<Pick<'a>>> {
        let mut now = None;
        while let Some(pool) = self.route.pool(self.pool) {
            let start = *self.start.get_or_insert_with(|| pool.start());
            if let Some(index) = pool.pick(start, self.tried, &mut now) {
                self.tried |= 1 << index;
                self.attempted = true;
                return Ok(Some(pick(pool, index)));
            }
            self.pool += 1;
            self.start = None;
            self.tried = 0;
        }
        if self.attempted {
            return Ok(None);
        }
        // Nothing healthy anywhere: the rest that ends first.
        self.attempted = true;
        let soonest = (0..self.route.len())
            .filter_map(|p| self.route.pool(p))
            .flat_map(|pool| {
                (0..pool.members.len()).filter_map(move |index| {
                    let end = pool.members[index].health.rest_end()?;
                    Some((end, pool, index))
                })
            })
            .min_by_key(|(end, _, _)| *end);
        match soonest {
            Some((_, pool, index)) => Ok(Some(pick(pool, index))),
            None => Err(self.unavailable()),
        }
    }

    fn unavailable(&self) -> Error {
        let models: Vec<&str> = (0..self.route.len())
            .filter_map(|p| self.route.pool(p))
            .map(|pool| pool.model().name)
            .collect();
        Error::Unavailable {
            model: self.route.primary.model().name,
            reason: format!(
                "the API key of every deployment of {} was refused (401/403); \
                 fix the keys and rebuild the client",
                models.join(", ")
            ),
        }
    }
}

fn pick(pool: &Pool, index: usize) -> Pick<'_> {
    let target = &pool.members[index];
    let in_flight = if pool.strategy == Strategy::LeastInFlight {
        InFlight::start(target)
    } else {
        InFlight::NONE
    };
    Pick { target, in_flight }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider_error(status: u16, kind: ProviderErrorKind, retry_after: Option<u64>) -> Error {
        let headers = reqwest::header::HeaderMap::new();
        let mut error = crate::protocol::errors::parse("openai", status, &headers, b"");
        error.kind = kind;
        error.retry_after = retry_after.map(Duration::from_secs);
        Error::from(error)
    }

    #[test]
    fn a_rest_still_running_survives_a_success_and_an_ended_one_is_cleared() {
        let health = Health::default();
        assert!(health.is_available());
        health.rest(Duration::from_secs(60));
        assert!(!health.is_available());
        // A call sent before the 429 comes back fine: the rest stands.
        health.recovered();
        assert!(!health.is_available());
        // A shorter rest does not cut a longer one.
        health.rest(Duration::ZERO);
        assert!(!health.is_available());

        let health = Health::default();
        health.rest(Duration::ZERO);
        assert!(health.is_available());
        health.recovered();
        assert_eq!(
            health.resting_until.load(Relaxed),
            0,
            "no clock read next time"
        );
    }

    #[test]
    fn a_refused_key_is_out_for_good_and_said_once() {
        let health = Health::default();
        assert!(health.refuse());
        assert!(!health.refuse());
        health.recovered();
        assert!(!health.is_available());
        assert_eq!(health.rest_end(), None);
    }

    #[test]
    fn what_each_failure_says_about_its_deployment() {
        let cooldown = Duration::from_secs(7);
        let rest = |error: &Error| match Verdict::of(error, cooldown) {
            Verdict::Rest(rest) => Some(rest),
            _ => None,
        };
        let limited = provider_error(429, ProviderErrorKind::RateLimit, Some(2));
        assert_eq!(rest(&limited), Some(Duration::from_secs(2)));
        let failing = provider_error(500, ProviderErrorKind::Server, None);
        assert_eq!(rest(&failing), Some(cooldown));
        let overloaded = provider_error(529, ProviderErrorKind::Overloaded, None);
        assert_eq!(rest(&overloaded), Some(cooldown));
        let refused = provider_error(401, ProviderErrorKind::Auth, None);
        assert!(matches!(Verdict::of(&refused, cooldown), Verdict::Refused));
        assert!(moves_on(&refused));
        let bad = provider_error(400, ProviderErrorKind::BadRequest, None);
        assert!(matches!(Verdict::of(&bad, cooldown), Verdict::Fine));
        assert!(!moves_on(&bad));
        let connect = Error::Timeout {
            phase: TimeoutPhase::Connect,
            after: Duration::from_secs(1),
        };
        assert_eq!(rest(&connect), Some(cooldown));
        let slow = Error::Timeout {
            phase: TimeoutPhase::Request,
            after: Duration::from_secs(1),
        };
        assert!(matches!(Verdict::of(&slow, cooldown), Verdict::Fine));
    }
}
