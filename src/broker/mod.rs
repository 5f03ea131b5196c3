//! The broker: partition registry, group coordinator, producer state and transactions.

pub mod group;
pub mod txn;
