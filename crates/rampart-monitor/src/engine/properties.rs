//! Properties of the evaluator over generated streams of entries.

use std::collections::HashMap;

use proptest::prelude::*;
use rampart_audit::Status;

use super::WindowState;
use super::tests::{Owned, SECOND, T0, failed_logins, login, run};

/// Failures of a few actors at non-decreasing times.
fn stream() -> impl Strategy<Value = Vec<Owned>> {
    prop::collection::vec((0u8..3, 0i64..40, any::<bool>()), 0..120).prop_map(|steps| {
        let mut at = T0;
        steps
            .into_iter()
            .enumerate()
            .map(|(i, (actor, gap, failure))| {
                at += gap * SECOND;
                let status = if failure {
                    Status::Failure
                } else {
                    Status::Success
                };
                login(u64::try_from(i).unwrap(), at, &format!("u{actor}"), status)
            })
            .collect()
    })
}

proptest! {
    /// Chunking (and a save and restore between chunks) changes nothing: the same reports.
    #[test]
    fn chunking_does_not_change_what_fires(entries in stream(), cuts in prop::collection::vec(0usize..120, 0..6), threshold in 1u32..6) {
        let evaluator = failed_logins(threshold, 60);
        let whole = run(&evaluator, &mut WindowState::new(), &entries);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(entries.len())).collect();
        cuts.sort_unstable();
        let mut state = WindowState::new();
        let mut chunked = Vec::new();
        let mut from = 0;
        for to in cuts.into_iter().chain([entries.len()]) {
            chunked.extend(run(&evaluator, &mut state, &entries[from..to]));
            state = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
            from = to;
        }
        prop_assert_eq!(whole, chunked);
    }

    /// Each report is right: a crossing holds exactly `threshold` matches of its group, none
    /// older than the window before the last; a group crosses again only after its window
    /// stopped being full; and a raise follows a full window.
    #[test]
    fn reports_respect_threshold_and_window(entries in stream(), threshold in 1u32..6, window in 1u32..90) {
        let evaluator = failed_logins(threshold, window);
        let mut state = WindowState::new();
        let by_seq: HashMap<u64, &Owned> = entries.iter().map(|e| (e.seq, e)).collect();
        for entry in &entries {
            let mut fired = Vec::new();
            evaluator.evaluate(&mut state, &entry.view(), &mut fired);
            prop_assert!(fired.len() <= 1);
            let matched = entry.status == Status::Failure;
            if !matched {
                prop_assert!(fired.is_empty());
            }
            // Ground truth: matches of this group within the window, this one included.
            let recent = entries.iter().filter(|e| e.seq <= entry.seq && e.status == Status::Failure
                && e.actor_id == entry.actor_id && e.at >= entry.at - i64::from(window) * SECOND).count();
            let full = matched && recent >= usize::try_from(threshold).unwrap();
            prop_assert_eq!(fired.len() == 1, full);
            if let Some(f) = fired.first() {
                prop_assert_eq!(*f.seqs.last().unwrap(), entry.seq);
                for seq in &f.seqs {
                    let e = by_seq[seq];
                    prop_assert!(e.at >= entry.at - i64::from(window) * SECOND, "a counted entry is older than the window");
                    prop_assert_eq!(&e.actor_id, &entry.actor_id);
                }
                let was_full = recent > usize::try_from(threshold).unwrap();
                prop_assert_eq!(f.crossing, !was_full);
                prop_assert_eq!(f.count as usize, if f.crossing { threshold as usize } else { 1 });
            }
        }
    }
}
