//! The broker: partition registry, group coordinator, producer state.

pub mod group;
pub mod txn;
