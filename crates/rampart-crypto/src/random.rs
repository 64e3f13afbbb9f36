//! Random secrets from the operating system's CSPRNG.

use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::CryptoError;

/// `N` bytes from the operating system's CSPRNG, zeroized on drop.
pub fn random_secret<const N: usize>() -> Result<Zeroizing<[u8; N]>, CryptoError> {
    let mut bytes = Zeroizing::new([0u8; N]);
    SystemRandom::new()
        .fill(bytes.as_mut())
        .map_err(|_| CryptoError::Random)?;
    Ok(bytes)
}
