//! Configs: DescribeConfigs (v1–v4), AlterConfigs (v0–v2) and IncrementalAlterConfigs
//! (v0–v1) on topic and broker resources.
//!
//! Topic configs are stored as overrides on the topic and take effect on its live logs at
//! once. Broker configs come from the configuration file and command line; those Kafka
//! can change at run time can be changed here too, on the BROKER resource (this node id,
//! or empty for the cluster-wide default), kept and applied by
//! [`crate::broker::dynamic_config`]. The entries described come from
//! [`crate::broker::config_entries`]; this file only encodes them.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{
    alter_configs_response, incremental_alter_configs_response, AlterConfigsRequest,
    AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::error::{broker_error_code, code, NONE};
use super::topic_configs::validate_configs;
use super::ApiContext;
use crate::broker::config_entries::{self, ConfigEntry};
use crate::broker::dynamic_config::DynamicConfigError;
use crate::broker::topic_config::{self, ConfigType};
use crate::broker::BrokerError;

/// Kafka's resource type of a topic.
pub const RESOURCE_TOPIC: i8 = 2;
/// Kafka's resource type of a broker.
pub const RESOURCE_BROKER: i8 = 4;

/// IncrementalAlterConfigs operations.
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

fn text(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// Error code and message of a resource.
type ResourceError = (i16, String);

fn wanted(keys: &Option<Vec<StrBytes>>, name: &str) -> bool {
    keys.as_ref()
        .is_none_or(|k| k.is_empty() || k.iter().any(|k| k.as_str() == name))
}

/// The DescribeConfigs entries of `entries` that were asked for.
fn encode(
    entries: Vec<ConfigEntry>,
    keys: &Option<Vec<StrBytes>>,
    synonyms: bool,
    docs: bool,
) -> Vec<DescribeConfigsResourceResult> {
    entries
        .into_iter()
        .filter(|e| wanted(keys, e.name))
        .map(|e| {
            let mut entry = DescribeConfigsResourceResult::default()
                .with_name(text(e.name))
                .with_value(e.value.map(text))
                .with_read_only(e.read_only)
                .with_config_source(e.source as i8)
                .with_is_sensitive(e.sensitive)
                .with_config_type(e.kind as i8);
            if synonyms {
                entry.synonyms = e
                    .synonyms
                    .into_iter()
                    .map(|(name, value, source)| {
                        DescribeConfigsSynonym::default()
                            .with_name(text(name))
                            .with_value(value.map(text))
                            .with_source(source as i8)
                    })
                    .collect();
            }
            if docs {
                entry.documentation = Some(text(e.doc));
            }
            entry
        })
        .collect()
}

fn describe_topic(
    ctx: &ApiContext,
    name: &str,
    keys: &Option<Vec<StrBytes>>,
    synonyms: bool,
    docs: bool,
) -> Result<Vec<DescribeConfigsResourceResult>, ResourceError> {
    let topic = ctx.replicas.topics().get(name).ok_or_else(|| {
        (
            code(ResponseError::UnknownTopicOrPartition),
            format!("Topic '{name}' does not exist."),
        )
    })?;
    let layers = ctx.replicas.dynamic_config().layers();
    let entries = config_entries::topic_entries(&layers, &topic.configs);
    Ok(encode(entries, keys, synonyms, docs))
}

fn describe_broker(
    ctx: &ApiContext,
    name: &str,
    keys: &Option<Vec<StrBytes>>,
    synonyms: bool,
    docs: bool,
) -> Result<Vec<DescribeConfigsResourceResult>, ResourceError> {
    let dynamic = ctx.replicas.dynamic_config();
    dynamic
        .check_resource(name)
        .map_err(|e| AlterFailure::from(e).0)?;
    let entries = config_entries::broker_entries(&dynamic.layers(), name);
    Ok(encode(entries, keys, synonyms, docs))
}

/// A failed change of a resource's configs, as an error code and message.
struct AlterFailure(ResourceError);

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

impl From<ResourceError> for AlterFailure {
    fn from(e: ResourceError) -> Self {
        AlterFailure(e)
    }
}

/// Makes the run-time configs of broker resource `name` what `change` returns.
fn apply_broker(
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

/// Answers DescribeConfigs v1–v4.
pub fn describe_configs(
    ctx: &ApiContext,
    version: i16,
    req: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let synonyms = version >= 1 && req.include_synonyms;
    let docs = version >= 3 && req.include_documentation;
    let results = req
        .resources
        .iter()
        .map(|r| {
            let name = r.resource_name.as_str();
            let keys = &r.configuration_keys;
            let outcome = match r.resource_type {
                RESOURCE_TOPIC => describe_topic(ctx, name, keys, synonyms, docs),
                RESOURCE_BROKER => describe_broker(ctx, name, keys, synonyms, docs),
                t => Err((
                    code(ResponseError::InvalidRequest),
                    format!("resource type {t} is not supported"),
                )),
            };
            let result = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            match outcome {
                Ok(configs) => result.with_configs(configs),
                Err((e, m)) => result.with_error_code(e).with_error_message(Some(text(m))),
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

/// Applies (or, with `validate_only`, checks) new overrides of a resource.
fn apply(
    ctx: &ApiContext,
    resource_type: i8,
    name: &str,
    validate_only: bool,
    change: impl FnOnce(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ResourceError>,
) -> Result<(), ResourceError> {
    match resource_type {
        RESOURCE_TOPIC => {}
        RESOURCE_BROKER => return apply_broker(ctx, name, validate_only, change),
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

/// Answers AlterConfigs v0–v2: a topic's overrides become exactly the given set.
pub fn alter_configs(ctx: &ApiContext, req: AlterConfigsRequest) -> AlterConfigsResponse {
    let responses = req
        .resources
        .iter()
        .map(|r| {
            let outcome = apply(
                ctx,
                r.resource_type,
                r.resource_name.as_str(),
                req.validate_only,
                |_| {
                    let pairs = r
                        .configs
                        .iter()
                        .map(|c| (c.name.as_str(), c.value.as_ref().map(|v| v.as_str())));
                    if r.resource_type == RESOURCE_BROKER {
                        broker_configs(pairs)
                    } else {
                        validate_configs(pairs)
                    }
                },
            );
            let (error, message) = outcome.err().unwrap_or((NONE, String::new()));
            alter_configs_response::AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone())
                .with_error_code(error)
                .with_error_message((error != NONE).then(|| text(message)))
        })
        .collect();
    AlterConfigsResponse::default().with_responses(responses)
}

/// The run-time configs AlterConfigs gives a broker resource (validated when applied).
fn broker_configs<'a>(
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

fn list_items(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The overrides of a topic (`broker` false) or the run-time configs of a broker resource
/// after IncrementalAlterConfigs' operations.
fn incremental(
    ctx: &ApiContext,
    broker: bool,
    current: &BTreeMap<String, String>,
    ops: &[(String, i8, Option<String>)],
) -> Result<BTreeMap<String, String>, ResourceError> {
    let invalid = |m: String| (code(ResponseError::InvalidConfig), m);
    let request = |m: String| (code(ResponseError::InvalidRequest), m);
    let mut out = current.clone();
    let mut seen = std::collections::HashSet::new();
    for (name, op, value) in ops {
        if !seen.insert(name.clone()) {
            return Err(request(format!("config `{name}` altered twice")));
        }
        // Deleting a name Kafka does not know is a no-op there, not an error.
        if *op == OP_DELETE {
            out.remove(name);
            continue;
        }
        let def = match broker {
            // A broker resource may hold names Kafka does not know (custom configs).
            true => None,
            false => Some(
                topic_config::definition(name)
                    .ok_or_else(|| invalid(format!("unknown topic config `{name}`")))?,
            ),
        };
        let is_list = match def {
            Some(d) => d.kind == ConfigType::List,
            None => config_entries::is_list(name),
        };
        match *op {
            OP_SET => {
                let v = value
                    .clone()
                    .ok_or_else(|| invalid(format!("null value for `{name}`")))?;
                out.insert(name.clone(), v);
            }
            OP_APPEND | OP_SUBTRACT => {
                if !is_list {
                    return Err(invalid(format!("`{name}` is not a list config")));
                }
                let v = value
                    .clone()
                    .ok_or_else(|| invalid(format!("null value for `{name}`")))?;
                let config = ctx.replicas.broker_config();
                let current_value = match def {
                    Some(d) => topic_config::effective_value(&config, &out, d).0,
                    None => match out.get(name) {
                        Some(v) => v.clone(),
                        None => config.get(name).unwrap_or_default(),
                    },
                };
                let mut items = list_items(&current_value);
                for item in list_items(&v) {
                    if *op == OP_APPEND {
                        if !items.contains(&item) {
                            items.push(item);
                        }
                    } else {
                        items.retain(|i| *i != item);
                    }
                }
                out.insert(name.clone(), items.join(","));
            }
            other => return Err(request(format!("unknown operation {other}"))),
        }
    }
    if broker {
        return Ok(out);
    }
    validate_configs(out.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))))
}

/// Answers IncrementalAlterConfigs v0–v1 (SET, DELETE, APPEND, SUBTRACT).
pub fn incremental_alter_configs(
    ctx: &ApiContext,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let responses = req
        .resources
        .iter()
        .map(|r| {
            let ops: Vec<(String, i8, Option<String>)> = r
                .configs
                .iter()
                .map(|c| {
                    (
                        c.name.to_string(),
                        c.config_operation,
                        c.value.as_ref().map(|v| v.to_string()),
                    )
                })
                .collect();
            let outcome = apply(
                ctx,
                r.resource_type,
                r.resource_name.as_str(),
                req.validate_only,
                |current| incremental(ctx, r.resource_type == RESOURCE_BROKER, current, &ops),
            );
            let (error, message) = outcome.err().unwrap_or((NONE, String::new()));
            incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone())
                .with_error_code(error)
                .with_error_message((error != NONE).then(|| text(message)))
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}
