//! The arithmetic of a shared rule: a fixed window per key, counted in one database row
//! across nodes. The store runs the same rule in one atomic statement; this is its reference,
//! tested here and compared with the store's answers in its tests.
//!
//! A window starts at the first request after the previous one ended and lasts
//! `window_seconds`; every request in it is counted (refused ones too, so the first refusal of
//! a window can be told apart and audited once); the first `limit` are allowed.

use std::time::Duration;

use time::OffsetDateTime;

use crate::limiter::Decision;

/// A shared bucket as stored: when its window started and how many requests it counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowState {
    /// When the window started.
    pub started_at: OffsetDateTime,
    /// Requests counted in it, refused ones included.
    pub count: u64,
}

/// The answer of a shared rule for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedDecision {
    /// The decision, as for a per-node rule (`reset_after`: until the window ends).
    pub decision: Decision,
    /// Whether this is the window's first refused request (the one to audit).
    pub first_refusal: bool,
}

/// Counts one request at `now` against a shared bucket: the bucket's new state and the answer.
/// A stored window that has ended (or that starts after `now` by more than a window, a clock
/// gone back) is replaced by one starting at `now`.
#[must_use]
pub fn shared_window_hit(
    state: Option<WindowState>,
    limit: u32,
    window_seconds: u32,
    now: OffsetDateTime,
) -> (WindowState, SharedDecision) {
    let window = time::Duration::seconds(i64::from(window_seconds));
    let current = state.filter(|s| now < s.started_at + window && s.started_at - window < now);
    let state = match current {
        Some(s) => WindowState {
            started_at: s.started_at,
            count: s.count.saturating_add(1),
        },
        None => WindowState {
            started_at: now,
            count: 1,
        },
    };
    let ends_in = to_std((state.started_at + window) - now).min(to_std(window));
    let allowed = state.count <= u64::from(limit);
    let remaining = u64::from(limit).saturating_sub(state.count);
    let decision = Decision {
        allowed,
        limit,
        remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        reset_after: ends_in,
        retry_after: if remaining > 0 {
            Duration::ZERO
        } else {
            ends_in
        },
    };
    let first_refusal = state.count == u64::from(limit) + 1;
    (
        state,
        SharedDecision {
            decision,
            first_refusal,
        },
    )
}

fn to_std(d: time::Duration) -> Duration {
    Duration::try_from(d).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);

    #[test]
    fn first_hit_opens_a_window() {
        let (state, hit) = shared_window_hit(None, 3, 60, T0);
        assert_eq!(
            state,
            WindowState {
                started_at: T0,
                count: 1
            }
        );
        assert!(hit.decision.allowed);
        assert_eq!(hit.decision.remaining, 2);
        assert_eq!(hit.decision.reset_after, Duration::from_secs(60));
        assert_eq!(hit.decision.retry_after, Duration::ZERO);
        assert!(!hit.first_refusal);
    }

    #[test]
    fn limit_then_refusals_until_the_window_ends() {
        let mut state = None;
        let mut answers = Vec::new();
        for i in 0..5 {
            let (s, hit) = shared_window_hit(state, 3, 60, T0 + time::Duration::seconds(i * 10));
            state = Some(s);
            answers.push(hit);
        }
        let allowed: Vec<bool> = answers.iter().map(|h| h.decision.allowed).collect();
        assert_eq!(allowed, [true, true, true, false, false]);
        let first: Vec<bool> = answers.iter().map(|h| h.first_refusal).collect();
        assert_eq!(first, [false, false, false, true, false]);
        // The third (at 20 s) used the last one: the next comes when the window ends at 60 s.
        assert_eq!(answers[2].decision.retry_after, Duration::from_secs(40));
        assert_eq!(answers[4].decision.retry_after, Duration::from_secs(20));
        assert_eq!(state.map(|s| s.count), Some(5));
        let (s, hit) = shared_window_hit(state, 3, 60, T0 + time::Duration::seconds(60));
        assert!(hit.decision.allowed);
        assert_eq!(
            s,
            WindowState {
                started_at: T0 + time::Duration::seconds(60),
                count: 1
            }
        );
    }

    #[test]
    fn a_window_from_the_future_is_restarted() {
        let stored = WindowState {
            started_at: T0 + time::Duration::hours(1),
            count: 9,
        };
        let (state, hit) = shared_window_hit(Some(stored), 3, 60, T0);
        assert_eq!(
            state,
            WindowState {
                started_at: T0,
                count: 1
            }
        );
        assert!(hit.decision.allowed);
    }

    #[test]
    fn slight_skew_keeps_the_window_and_bounds_reset() {
        let stored = WindowState {
            started_at: T0 + time::Duration::seconds(5),
            count: 3,
        };
        let (state, hit) = shared_window_hit(Some(stored), 3, 60, T0);
        assert_eq!(state.count, 4);
        assert!(!hit.decision.allowed);
        assert_eq!(hit.decision.reset_after, Duration::from_secs(60));
    }
}
