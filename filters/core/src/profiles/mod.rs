//! One module per platform wire format, each running the shared pipeline steps
//! (`crate::verify`) in its platform's order.

pub mod generic;
pub mod mojaloop;
pub mod mosip;
pub mod ocen;
pub mod ocen_registry;
pub mod spar;
