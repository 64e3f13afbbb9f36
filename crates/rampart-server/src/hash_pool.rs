//! A fixed pool of threads for password hashing (argon2id uses 19 MiB per hash).
//!
//! Hashing on tokio's blocking pool would spread those buffers over up to 512 threads, and the
//! allocator keeps each thread's arena: the process would grow by 19 MiB per thread that ever
//! hashed. A pool of one thread per core caps both the concurrency and the memory.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use rampart_access::identity::{IdentityError, PasswordVerifier};
use rampart_access::password::{PasswordHasher, Verified};
use secrecy::SecretString;
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The pool; see the module documentation.
pub struct HashPool {
    jobs: Mutex<Sender<Job>>,
}

/// The pool's threads are gone (only at shutdown).
#[derive(Debug, thiserror::Error)]
#[error("the password hashing threads have stopped")]
pub struct PoolStopped;

impl HashPool {
    /// A pool of `threads` threads (at least one).
    pub fn new(threads: usize) -> Self {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads.max(1) {
            let queue: Arc<Mutex<Receiver<Job>>> = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("rampart-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        Self {
            jobs: Mutex::new(jobs),
        }
    }

    /// Runs `work` on a pool thread and waits for it without blocking the runtime.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolStopped> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = reply.send(work());
        });
        self.jobs
            .lock()
            .map_err(|_| PoolStopped)?
            .send(job)
            .map_err(|_| PoolStopped)?;
        answer.await.map_err(|_| PoolStopped)
    }
}

/// The identity service's [`PasswordVerifier`]: the hasher on this pool.
pub struct PooledPasswords<'a> {
    /// The pool.
    pub pool: &'a HashPool,
    /// The argon2id hasher with the configured parameters.
    pub hasher: &'a Arc<PasswordHasher>,
}

impl PasswordVerifier for PooledPasswords<'_> {
    async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<Option<Verified>, IdentityError> {
        let hasher = Arc::clone(self.hasher);
        self.pool
            .run(move || match stored {
                Some(stored) => hasher.verify(&password, &stored).ok(),
                None => {
                    hasher.verify_dummy(&password);
                    None
                }
            })
            .await
            .map_err(IdentityError::store)
    }

    async fn hash(&self, password: SecretString) -> Result<Option<String>, IdentityError> {
        let hasher = Arc::clone(self.hasher);
        self.pool
            .run(move || hasher.hash(&password).ok())
            .await
            .map_err(IdentityError::store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_work_on_its_threads() {
        let pool = HashPool::new(2);
        let name = pool
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .expect("runs");
        assert!(name.is_some_and(|n| n.starts_with("rampart-hash-")));
        let sum = pool.run(|| 2 + 2).await.expect("runs");
        assert_eq!(sum, 4);
    }
}
