//! The broker layer: partitions, group coordinator, producer ids and transactions.

pub mod txn;
