//! The card vault at the edge: `rampart_crypto::CardVault` over the deployment's store.

pub use rampart_crypto::{
    CardData, FINGERPRINT_SECRET, RewrapProgress, VaultError, plausible_token,
};

use rampart_store::Store;

/// The card vault over the deployment's store.
pub type CardVault = rampart_crypto::CardVault<Store>;
