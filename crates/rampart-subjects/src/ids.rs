//! Ids of the form `<prefix>_<32 lowercase hex>` (a UUIDv7 without dashes): time-ordered,
//! random in their low bits, and saying nothing about the subject.

/// Declares an id type with `generate`, `parse`, `as_str` and `Display`.
macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// A new id (UUIDv7: time-ordered, random low bits).
            pub fn generate() -> Self {
                Self(format!(concat!($prefix, "_{}"), uuid::Uuid::now_v7().simple()))
            }

            /// Parses an id from a path, a body or storage.
            pub fn parse(text: &str) -> Option<Self> {
                let hex = text.strip_prefix(concat!($prefix, "_"))?;
                (hex.len() == 32
                    && hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
                .then(|| Self(text.to_owned()))
            }

            /// The id's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub(crate) use prefixed_id;
