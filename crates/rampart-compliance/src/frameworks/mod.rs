//! The frameworks, as data: every control with the requirement it maps to and how it is judged.

use crate::control::{Framework, FrameworkId};

mod soc2;

/// The framework `id`.
pub fn framework(id: FrameworkId) -> &'static Framework {
    match id {
        FrameworkId::Soc2 => &soc2::SOC2,
        _ => &soc2::SOC2,
    }
}

/// Every framework.
pub fn all() -> impl Iterator<Item = &'static Framework> {
    FrameworkId::ALL.into_iter().map(framework)
}
