//! Configs: DescribeConfigs (v1–v4), AlterConfigs (v0–v2) and IncrementalAlterConfigs
//! (v0–v1) on topic and broker resources.
//!
//! Topic configs are stored as overrides on the topic and take effect on its live logs at
//! once. Broker configs come from the configuration file and command line: they are
//! described (read-only) but cannot be altered while the broker runs.

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

use super::admin::validate_configs;
use super::error::{broker_error_code, code, NONE};
use super::ApiContext;
use crate::broker::topic_config::{self, ConfigSource, ConfigType, TOPIC_CONFIGS};
use crate::config::BROKER_OPTIONS;

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

fn synonym(name: &str, value: String, source: ConfigSource) -> DescribeConfigsSynonym {
    DescribeConfigsSynonym::default()
        .with_name(text(name))
        .with_value(Some(text(value)))
        .with_source(source as i8)
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
    let config = ctx.replicas.broker_config();
    Ok(TOPIC_CONFIGS
        .iter()
        .filter(|d| wanted(keys, d.name))
        .map(|d| {
            let (value, source) = topic_config::effective_value(config, &topic.configs, d);
            let mut entry = DescribeConfigsResourceResult::default()
                .with_name(text(d.name))
                .with_value(Some(text(value)))
                .with_read_only(false)
                .with_config_source(source as i8)
                .with_is_sensitive(false)
                .with_config_type(d.kind as i8);
            if synonyms {
                if let Some(v) = topic.configs.get(d.name) {
                    entry
                        .synonyms
                        .push(synonym(d.name, v.clone(), ConfigSource::DynamicTopic));
                }
                if let Some(broker_name) = d.broker_synonym {
                    let (bv, bs) = topic_config::broker_value(config, d);
                    if bs == ConfigSource::StaticBroker {
                        entry.synonyms.push(synonym(broker_name, bv, bs));
                    }
                    entry.synonyms.push(synonym(
                        broker_name,
                        d.default.to_string(),
                        ConfigSource::Default,
                    ));
                }
            }
            if docs {
                entry.documentation = Some(text(d.doc));
            }
            entry
        })
        .collect())
}

fn check_broker_name(ctx: &ApiContext, name: &str) -> Result<(), ResourceError> {
    if name.is_empty() || name == ctx.config.node_id.to_string() {
        Ok(())
    } else {
        Err((
            code(ResponseError::InvalidRequest),
            format!(
                "unknown broker `{name}`: this broker is {}",
                ctx.config.node_id
            ),
        ))
    }
}

fn describe_broker(
    ctx: &ApiContext,
    name: &str,
    keys: &Option<Vec<StrBytes>>,
    synonyms: bool,
    docs: bool,
) -> Result<Vec<DescribeConfigsResourceResult>, ResourceError> {
    check_broker_name(ctx, name)?;
    let config = ctx.replicas.broker_config();
    let mut out = Vec::new();
    for def in BROKER_OPTIONS {
        if !wanted(keys, def.name) {
            continue;
        }
        let value = config.get(def.name).unwrap_or_default();
        let default = def.default.to_string();
        let source = if value == default {
            ConfigSource::Default
        } else {
            ConfigSource::StaticBroker
        };
        let mut entry = DescribeConfigsResourceResult::default()
            .with_name(text(def.name))
            .with_config_type(def.kind as i8)
            .with_value(Some(text(value.clone())))
            .with_read_only(true)
            .with_config_source(source as i8)
            .with_is_sensitive(false);
        if synonyms {
            if source == ConfigSource::StaticBroker {
                entry.synonyms.push(synonym(def.name, value, source));
            }
            entry
                .synonyms
                .push(synonym(def.name, default, ConfigSource::Default));
        }
        if docs {
            entry.documentation = Some(text(def.doc));
        }
        out.push(entry);
    }
    Ok(out)
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
        RESOURCE_BROKER => {
            check_broker_name(ctx, name)?;
            return Err((
                code(ResponseError::InvalidRequest),
                "broker configs are read-only while Skiff runs: set them in the configuration file"
                    .into(),
            ));
        }
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
                    validate_configs(
                        r.configs
                            .iter()
                            .map(|c| (c.name.as_str(), c.value.as_ref().map(|v| v.as_str()))),
                    )
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

fn list_items(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The overrides after IncrementalAlterConfigs' operations.
fn incremental(
    ctx: &ApiContext,
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
        let def = topic_config::definition(name)
            .ok_or_else(|| invalid(format!("unknown topic config `{name}`")))?;
        match *op {
            OP_SET => {
                let v = value
                    .clone()
                    .ok_or_else(|| invalid(format!("null value for `{name}`")))?;
                out.insert(name.clone(), v);
            }
            OP_APPEND | OP_SUBTRACT => {
                if def.kind != ConfigType::List {
                    return Err(invalid(format!("`{name}` is not a list config")));
                }
                let v = value
                    .clone()
                    .ok_or_else(|| invalid(format!("null value for `{name}`")))?;
                let current_value =
                    topic_config::effective_value(ctx.replicas.broker_config(), &out, def).0;
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
                |current| incremental(ctx, current, &ops),
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
