//! The card vault at the edge: `rampart_crypto::CardVault` over the deployment's store, as
//! `rampart_app::services` binds it.

pub use rampart_app::services::{
    CardData, CardVault, FINGERPRINT_SECRET, RewrapProgress, VaultError, plausible_token,
};
