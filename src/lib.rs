//! Skiff: a Kafka-wire-compatible broker.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod broker;
pub mod storage;
