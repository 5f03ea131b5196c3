//! Topic administration: CreateTopics (v2–v7), DeleteTopics (v1–v6) and CreatePartitions
//! (v0–v3).
//!
//! Skiff is a single broker, so a topic's replication factor is 1: CreateTopics accepts 1
//! and -1 (the broker default) and answers any other value with INVALID_REPLICATION_FACTOR;
//! a manual replica assignment may only name this broker (else INVALID_REPLICA_ASSIGNMENT).

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::protocol::StrBytes;

use super::error::code;
use crate::broker::topic_config::{self};

/// A per-topic error: code and message.
pub(crate) type TopicError = (i16, String);

pub(crate) fn text(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// Checks config overrides given as (name, value) pairs; returns them as a map.
pub fn validate_configs<'a>(
    pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Result<BTreeMap<String, String>, TopicError> {
    let invalid = |m: String| (code(ResponseError::InvalidConfig), m);
    let mut out = BTreeMap::new();
    for (name, value) in pairs {
        let value = value.ok_or_else(|| invalid(format!("null value for config `{name}`")))?;
        if value.contains('\n') {
            return Err(invalid(format!("value of `{name}` contains a line break")));
        }
        topic_config::validate(name, value)
            .map_err(|e| invalid(format!("invalid value for `{name}`: {e}")))?;
        if out.insert(name.to_string(), value.to_string()).is_some() {
            return Err((
                code(ResponseError::InvalidRequest),
                format!("config `{name}` given twice"),
            ));
        }
    }
    Ok(out)
}
