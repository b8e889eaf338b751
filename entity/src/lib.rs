//! sea-orm entities for Tacker's `vims` and `vimauths` tables (contract §7).
//!
//! Generated style, no logic: rules live in the service's `vims` module.

pub mod vimauths;
pub mod vims;

pub mod prelude {
    pub use super::vimauths::Entity as Vimauths;
    pub use super::vims::Entity as Vims;
}
