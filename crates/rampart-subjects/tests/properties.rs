//! Invariants of the data-subject domain, for any input.

use proptest::prelude::*;
use rampart_subjects::{ConsentRecord, LookupKey, SubjectKey, current};
use time::OffsetDateTime;

proptest! {
    /// Whatever personal data is sealed opens to the same bytes with its key, never with
    /// another subject's, and the sealed text never contains the plaintext.
    #[test]
    fn sealing_round_trips_and_hides(plain in proptest::collection::vec(any::<u8>(), 0..512)) {
        let key = SubjectKey::generate().unwrap();
        let sealed = key.seal(&plain).unwrap();
        let opened = key.open(&sealed).unwrap();
        prop_assert_eq!(opened.as_slice(), plain.as_slice());
        let other = SubjectKey::generate().unwrap();
        prop_assert!(other.open(&sealed).is_err());
        if plain.len() >= 8 && plain.iter().all(u8::is_ascii_alphanumeric) {
            prop_assert!(!sealed.as_bytes().windows(plain.len()).any(|w| w == plain.as_slice()));
        }
    }

    /// Any change of one character of a sealed value makes it fail to open (never panic).
    #[test]
    fn altered_sealed_text_never_opens(index in 0usize..200, replacement in "[A-Za-z0-9_-]") {
        let key = SubjectKey::generate().unwrap();
        let sealed = key.seal(b"{\"email\":\"a@example.com\"}").unwrap();
        let index = index % sealed.len();
        let mut altered: Vec<char> = sealed.chars().collect();
        let replacement = replacement.chars().next().unwrap();
        prop_assume!(altered[index] != replacement);
        altered[index] = replacement;
        let altered: String = altered.into_iter().collect();
        prop_assert!(key.open(&altered).is_err());
    }

    /// Distinct subject ids never share a lookup hash; the same id always has the same one.
    #[test]
    fn lookups_separate_subjects(a in "[ -~]{1,64}", b in "[ -~]{1,64}") {
        let key = LookupKey::from_bytes(&[9; 32]);
        prop_assert_eq!(key.lookup(&a) == key.lookup(&b), a == b);
    }

    /// The current consent of each purpose is its last record in ledger order.
    #[test]
    fn the_current_consent_is_the_last_record(
        changes in proptest::collection::vec((0usize..4, any::<bool>()), 0..40)
    ) {
        let purposes = ["analytics", "marketing", "research", "profiling"];
        let history: Vec<ConsentRecord> = changes
            .iter()
            .enumerate()
            .map(|(i, (p, given))| ConsentRecord {
                id: i as i64,
                subject_id: Some("s".into()),
                purpose: purposes[*p].into(),
                given: *given,
                source: None,
                policy_version: None,
                recorded_at: OffsetDateTime::from_unix_timestamp(i as i64).unwrap(),
                recorded_by: "p".into(),
                erased_at: None,
            })
            .collect();
        let now = current(&history);
        for purpose in purposes {
            let last = history.iter().rev().find(|r| r.purpose == purpose);
            match (last, now.get(purpose)) {
                (None, None) => {}
                (Some(last), Some(c)) => {
                    prop_assert_eq!(last.given, c.given);
                    prop_assert_eq!(last.recorded_at, c.at);
                }
                _ => prop_assert!(false, "{} disagrees", purpose),
            }
        }
    }
}
