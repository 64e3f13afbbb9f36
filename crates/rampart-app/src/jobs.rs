//! Background jobs: work a node does on its own, every interval, besides answering requests.
//!
//! A job is either per-node, for state that is the node's own (counts kept in memory, its
//! rate-limiter buckets, the policy it caches), and then runs on every node; or cluster-wide, for
//! shared state (key rotation, purging login throttles), and then runs on one node at a time: the
//! one holding the job's lease in the database (`Store::try_acquire_lease`). The lease lasts a
//! few intervals and is renewed before every tick, so while its holder lives no other node runs
//! the job, and when the holder dies another takes over once the lease lapses. A node that finds
//! the lease held by another skips the tick and asks again at the next one.
//!
//! Each runner has a node id, a UUIDv7 made when it starts, that names it as a lease holder. A
//! failed tick is logged and the job goes on at the next interval. Tasks end with the runtime;
//! [`JobRunner::shutdown`] ends them sooner and gives their leases back, so another node takes
//! over at once.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt as _;
use rampart_store::Store;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// A cluster-wide job's lease lasts this many intervals unless set otherwise: a holder that
/// misses a renewal or two keeps it, a dead one is replaced within this many intervals.
pub const LEASE_INTERVALS: u32 = 3;

/// The longest lease: a job that runs less often than this may change hands between its ticks.
pub const MAX_LEASE_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// The shortest interval; `tokio` refuses a zero one.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// Why one tick of a job failed: what it was doing and the cause. The runner logs it as a
/// warning and runs the job again at the next interval.
#[derive(Debug, thiserror::Error)]
#[error("{doing}: {source}")]
pub struct TickError {
    doing: &'static str,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl TickError {
    /// A failure while `doing` something (the log message, e.g. "cannot purge expired login
    /// throttles"), caused by `source`. Neither may hold a secret: both are logged.
    pub fn new(
        doing: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            doing,
            source: source.into(),
        }
    }
}

/// Where a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// On every node: the job's state is the node's own.
    Node,
    /// On one node at a time, the holder of the job's lease, which lasts `ttl` from each renewal.
    Cluster {
        /// How long a lease lasts without renewal.
        ttl: Duration,
    },
}

type TickFuture = Pin<Box<dyn Future<Output = Result<(), TickError>> + Send>>;
type Tick = Arc<dyn Fn() -> TickFuture + Send + Sync>;

/// A background job: a name, an interval, a scope and the work of one tick.
pub struct Job {
    name: &'static str,
    interval: Duration,
    scope: Scope,
    tick: Tick,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("name", &self.name)
            .field("interval", &self.interval)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Job {
    /// A job every node runs, every `interval` (the first tick at once).
    pub fn per_node<F, Fut>(name: &'static str, interval: Duration, tick: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), TickError>> + Send + 'static,
    {
        let interval = interval.max(MIN_INTERVAL);
        Self {
            name,
            interval,
            scope: Scope::Node,
            tick: Arc::new(move || Box::pin(tick())),
        }
    }

    /// A job one node at a time runs, every `interval`, under a lease named `name` that lasts
    /// [`LEASE_INTERVALS`] intervals (at most [`MAX_LEASE_TTL`]).
    pub fn leased<F, Fut>(name: &'static str, interval: Duration, tick: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), TickError>> + Send + 'static,
    {
        let job = Self::per_node(name, interval, tick);
        let ttl = job.interval.saturating_mul(LEASE_INTERVALS);
        job.with_lease_ttl(ttl)
    }

    /// Makes the job cluster-wide with leases of `ttl`, kept between two intervals and
    /// [`MAX_LEASE_TTL`] so that a renewal on every tick keeps the lease.
    #[must_use]
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        let ttl = ttl.max(self.interval.saturating_mul(2)).min(MAX_LEASE_TTL);
        self.scope = Scope::Cluster { ttl };
        self
    }

    /// The job's name, also the name of its lease.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Time between two ticks.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Where the job runs.
    pub fn scope(&self) -> Scope {
        self.scope
    }
}

/// Runs jobs on the current tokio runtime on behalf of one node.
///
/// Dropping the runner leaves its jobs running until the runtime ends (their leases then lapse
/// after their ttl); [`JobRunner::shutdown`] stops them and gives their leases back.
#[derive(Debug)]
pub struct JobRunner {
    store: Store,
    node: Uuid,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl JobRunner {
    /// A runner for a new node id, taking leases in `store`.
    pub fn new(store: Store) -> Self {
        let node = Uuid::now_v7();
        tracing::info!(node = %node, "background jobs start on this node");
        Self {
            store,
            node,
            stop: watch::Sender::new(false),
            tasks: Vec::new(),
        }
    }

    /// This node's id: the holder named in the leases it takes.
    pub fn node(&self) -> Uuid {
        self.node
    }

    /// Starts `job` on its own task. Must be called within a tokio runtime.
    pub fn spawn(&mut self, job: Job) {
        let task = run(
            job,
            self.store.clone(),
            self.node.to_string(),
            self.stop.subscribe(),
        );
        self.tasks.push(tokio::spawn(task));
    }

    /// Stops every job after its current tick and releases the leases this node holds.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "a background job ended abnormally");
            }
        }
    }
}

/// Resolves once the runner asks its jobs to stop; never, if the runner was dropped instead.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// One job's task: wait for the next tick (or the stop), take or renew the lease if the job
/// needs one, run the tick; on the way out give the lease back.
async fn run(job: Job, store: Store, holder: String, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(job.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut holding = false;
    loop {
        tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            _ = ticker.tick() => {}
        }
        if let Scope::Cluster { ttl } = job.scope {
            let held = lease(&store, job.name, &holder, ttl).await;
            match (&held, holding) {
                (Ok(true), false) => {
                    tracing::info!(job = job.name, node = %holder, "lease taken: this node runs the job");
                }
                (Ok(false), true) => {
                    tracing::warn!(job = job.name, node = %holder, "lease lost to another node: this node stops running the job");
                }
                (Err(e), _) => {
                    tracing::warn!(job = job.name, error = %e, "cannot take or renew the job's lease; the tick is skipped");
                }
                _ => {}
            }
            holding = matches!(held, Ok(true));
            if !holding {
                continue;
            }
        }
        match AssertUnwindSafe((job.tick)()).catch_unwind().await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(job = job.name, error = %e.source, "{}", e.doing),
            Err(_) => tracing::error!(job = job.name, "a tick of the job panicked"),
        }
    }
    if matches!(job.scope, Scope::Cluster { .. }) {
        match store.release_lease(job.name, &holder).await {
            Ok(true) => tracing::info!(job = job.name, node = %holder, "lease released"),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(job = job.name, error = %e, "cannot release the job's lease; it lapses by itself");
            }
        }
    }
}

async fn lease(
    store: &Store,
    job: &str,
    holder: &str,
    ttl: Duration,
) -> Result<bool, rampart_store::StoreError> {
    let ttl = time::Duration::try_from(ttl).unwrap_or(time::Duration::MAX);
    store
        .try_acquire_lease(job, holder, OffsetDateTime::now_utc(), ttl)
        .await
}

#[cfg(test)]
mod tests;
