//! What DescribeConfigs (v1–v4), AlterConfigs (v0–v2) and IncrementalAlterConfigs
//! (v0–v1) share: resource types, errors, and how broker configs are applied.
//!
//! Topic configs are stored as overrides on the topic and take effect on its live logs at
//! once. Broker configs come from the configuration file and command line; those Kafka
//! can change at run time can be changed here too, on the BROKER resource (this node id,
//! or empty for the cluster-wide default), kept and applied by
//! [`crate::broker::dynamic_config`]. The entries described come from
//! [`crate::broker::config_entries`]; this file only encodes them.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::protocol::StrBytes;

use super::error::{broker_error_code, code, subscription_error_code};
use super::ApiContext;
use crate::broker::client_metrics::SubscriptionError;
use crate::broker::dynamic_config::DynamicConfigError;
use crate::broker::BrokerError;

/// Kafka's resource type of a topic.
pub const RESOURCE_TOPIC: i8 = 2;
/// Kafka's resource type of a broker.
pub const RESOURCE_BROKER: i8 = 4;
/// Kafka's resource type of a broker's loggers.
pub const RESOURCE_BROKER_LOGGER: i8 = 8;
/// Kafka's resource type of a client-metrics subscription (KIP-714).
pub const RESOURCE_CLIENT_METRICS: i8 = 16;
/// Kafka's resource type of a group's configs (KIP-848, KIP-932).
pub const RESOURCE_GROUP: i8 = 32;

/// IncrementalAlterConfigs operations.
pub(crate) const OP_SET: i8 = 0;
pub(crate) const OP_DELETE: i8 = 1;
pub(crate) const OP_APPEND: i8 = 2;
pub(crate) const OP_SUBTRACT: i8 = 3;

pub(crate) fn text(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// Error code and message of a resource.
pub(crate) type ResourceError = (i16, String);

/// Whether the caller may do what `A` declares (DESCRIBE_CONFIGS or ALTER_CONFIGS) on a
/// config resource, as Kafka checks it: on the topic for a topic
/// (TOPIC_AUTHORIZATION_FAILED), on the cluster for a broker, broker logger or
/// client-metrics resource (CLUSTER_AUTHORIZATION_FAILED).
pub(crate) fn authorize_resource<A: super::Api>(
    ctx: &ApiContext,
    call: &super::Call,
    resource_type: i8,
    name: &str,
) -> Result<(), ResourceError> {
    let super::spec::Authorization::Requires(operation, _) = A::AUTHORIZATION else {
        return Ok(());
    };
    let (allowed, denied, message) = match resource_type {
        RESOURCE_TOPIC => (
            ctx.authorize(call, operation, super::spec::ResourceType::Topic, name),
            ResponseError::TopicAuthorizationFailed,
            "Topic authorization failed.",
        ),
        RESOURCE_GROUP => (
            ctx.authorize(call, operation, super::spec::ResourceType::Group, name),
            ResponseError::GroupAuthorizationFailed,
            "Group authorization failed.",
        ),
        RESOURCE_BROKER | RESOURCE_BROKER_LOGGER | RESOURCE_CLIENT_METRICS => (
            ctx.authorize_cluster(call, operation),
            ResponseError::ClusterAuthorizationFailed,
            "Cluster authorization failed.",
        ),
        _ => (true, ResponseError::UnknownServerError, ""),
    };
    if allowed {
        Ok(())
    } else {
        Err((code(denied), message.to_string()))
    }
}

/// A failed change of a resource's configs, as an error code and message.
pub(crate) struct AlterFailure(pub(crate) ResourceError);

impl From<DynamicConfigError> for AlterFailure {
    fn from(e: DynamicConfigError) -> Self {
        let error = match e {
            DynamicConfigError::Store(_) | DynamicConfigError::Corrupt(_) => {
                ResponseError::KafkaStorageError
            }
            // Kafka wraps every refused broker config change in InvalidRequestException.
            _ => ResponseError::InvalidRequest,
        };
        AlterFailure((code(error), e.to_string()))
    }
}

impl From<BrokerError> for AlterFailure {
    fn from(e: BrokerError) -> Self {
        AlterFailure((broker_error_code(&e), e.to_string()))
    }
}

impl From<SubscriptionError> for AlterFailure {
    fn from(e: SubscriptionError) -> Self {
        AlterFailure((subscription_error_code(&e), e.to_string()))
    }
}

impl From<ResourceError> for AlterFailure {
    fn from(e: ResourceError) -> Self {
        AlterFailure(e)
    }
}

/// Makes the run-time configs of broker resource `name` what `change` returns.
pub(crate) fn apply_broker(
    ctx: &ApiContext,
    name: &str,
    validate_only: bool,
    change: impl FnOnce(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ResourceError>,
) -> Result<(), ResourceError> {
    ctx.replicas
        .alter_broker_configs(name, validate_only, |current| {
            change(current).map_err(AlterFailure)
        })
        .map_err(|e: AlterFailure| e.0)
}

/// The run-time configs AlterConfigs gives a broker resource (validated when applied).
pub(crate) fn broker_configs<'a>(
    pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Result<BTreeMap<String, String>, ResourceError> {
    let mut out = BTreeMap::new();
    for (name, value) in pairs {
        let value = value.ok_or_else(|| {
            (
                code(ResponseError::InvalidConfig),
                format!("null value for config `{name}`"),
            )
        })?;
        if out.insert(name.to_string(), value.to_string()).is_some() {
            return Err((
                code(ResponseError::InvalidRequest),
                format!("config `{name}` given twice"),
            ));
        }
    }
    Ok(out)
}

/// Applies (or, with `validate_only`, checks) new configs of a group: every name must be a
/// group config Skiff knows and every value within the broker's bounds (INVALID_CONFIG).
fn apply_group(
    ctx: &ApiContext,
    name: &str,
    validate_only: bool,
    change: impl FnOnce(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ResourceError>,
) -> Result<(), ResourceError> {
    // Kafka refuses an empty group name here as a bad request (its DescribeConfigs says
    // INVALID_GROUP_ID).
    if name.is_empty() {
        return Err((
            code(ResponseError::InvalidRequest),
            "Group id must not be empty".into(),
        ));
    }
    let configs = ctx.share.configs();
    let new = change(&configs.overrides(name))?;
    for (k, v) in &new {
        configs
            .check(k, v)
            .map_err(|m| (code(ResponseError::InvalidConfig), m))?;
    }
    if validate_only {
        return Ok(());
    }
    configs
        .replace(name, new)
        .map_err(|e| (crate::api::error::share_error_code(&e), e.to_string()))
}

/// Applies (or, with `validate_only`, checks) new overrides of a resource.
pub(crate) fn apply(
    ctx: &ApiContext,
    resource_type: i8,
    name: &str,
    validate_only: bool,
    change: impl FnOnce(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ResourceError>,
) -> Result<(), ResourceError> {
    match resource_type {
        RESOURCE_TOPIC => {}
        RESOURCE_BROKER => return apply_broker(ctx, name, validate_only, change),
        RESOURCE_CLIENT_METRICS => {
            return ctx
                .client_metrics
                .alter(name, validate_only, |current| {
                    change(current).map_err(AlterFailure)
                })
                .map_err(|e: AlterFailure| e.0)
        }
        RESOURCE_GROUP => return apply_group(ctx, name, validate_only, change),
        t => {
            return Err((
                code(ResponseError::InvalidRequest),
                format!("resource type {t} is not supported"),
            ))
        }
    }
    let topic = ctx.replicas.topics().get(name).ok_or_else(|| {
        (
            code(ResponseError::UnknownTopicOrPartition),
            format!("Topic '{name}' does not exist."),
        )
    })?;
    let configs = change(&topic.configs)?;
    if validate_only {
        return Ok(());
    }
    ctx.replicas
        .set_topic_configs(name, configs)
        .map(drop)
        .map_err(|e| (broker_error_code(&e), e.to_string()))
}
