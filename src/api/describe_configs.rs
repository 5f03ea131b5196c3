//! DescribeConfigs (v1–v4): topic and broker configs with their source, synonyms, type and
//! documentation, as [`crate::broker::config_entries`] lists them.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use super::error::code;
use super::ApiContext;
use crate::broker::client_metrics::CLIENT_METRICS_CONFIGS;
use crate::broker::config_entries::{self, ConfigEntry};
use crate::config::ConfigSource;

use super::configs::*;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

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

/// The configs of client-metrics resource `name`, as Kafka 4.1.1 lists them: each config a
/// subscription takes, with the value set (source CLIENT_METRICS_CONFIG, itself as its one
/// synonym) or its default (DEFAULT_CONFIG), whether or not the resource exists; an empty
/// name is refused.
fn describe_client_metrics(
    ctx: &ApiContext,
    name: &str,
    keys: &Option<Vec<StrBytes>>,
    synonyms: bool,
    docs: bool,
) -> Result<Vec<DescribeConfigsResourceResult>, ResourceError> {
    if name.is_empty() {
        return Err((
            code(ResponseError::InvalidRequest),
            "Client metrics subscription name must not be empty".into(),
        ));
    }
    let set = ctx.client_metrics.configs(name);
    let entries = CLIENT_METRICS_CONFIGS
        .iter()
        .map(|&(n, kind, default, doc)| {
            let (value, source, synonyms) = match set.get(n) {
                Some(v) => (
                    v.clone(),
                    ConfigSource::ClientMetrics,
                    vec![(n, Some(v.clone()), ConfigSource::ClientMetrics)],
                ),
                None => (default.to_string(), ConfigSource::Default, Vec::new()),
            };
            ConfigEntry {
                name: n,
                value: Some(value),
                source,
                read_only: false,
                sensitive: false,
                kind,
                doc,
                synonyms,
            }
        })
        .collect();
    Ok(encode(entries, keys, synonyms, docs))
}

/// The configs of group `name`: each group config Skiff knows, with the value the group
/// sets (DYNAMIC_GROUP_CONFIG) or the broker's (DEFAULT_CONFIG), whether or not the group
/// exists.
fn describe_group(
    ctx: &ApiContext,
    name: &str,
    keys: &Option<Vec<StrBytes>>,
    synonyms: bool,
    docs: bool,
) -> Result<Vec<DescribeConfigsResourceResult>, ResourceError> {
    if name.is_empty() {
        return Err((
            code(ResponseError::InvalidGroupId),
            "Group id must not be empty".into(),
        ));
    }
    let layers = ctx.replicas.dynamic_config().layers();
    let entries = ctx
        .share
        .configs()
        .describe(name)
        .into_iter()
        .map(|(n, kind, value, set)| {
            // Under the group's own value (when set) come what it falls back to, as Kafka
            // lists them: the broker's `group.<name>` layers, or, for a config with no
            // broker counterpart, its default under its own name.
            let mut synonyms: Vec<(&'static str, Option<String>, ConfigSource)> = Vec::new();
            if set {
                synonyms.push((n, Some(value.clone()), ConfigSource::DynamicGroup));
            }
            match crate::config::broker_option(&format!("group.{n}")) {
                Some(def) => synonyms.extend(
                    layers
                        .values(def.name)
                        .into_iter()
                        .map(|(v, s)| (def.name, Some(v), s)),
                ),
                None => synonyms.push((
                    n,
                    ctx.share.configs().default_value(n),
                    ConfigSource::Default,
                )),
            }
            let source = synonyms.first().map_or(ConfigSource::Default, |s| s.2);
            ConfigEntry {
                name: n,
                value: Some(value),
                source,
                read_only: false,
                sensitive: false,
                kind,
                doc: "",
                synonyms,
            }
        })
        .collect();
    Ok(encode(entries, keys, synonyms, docs))
}

/// Answers DescribeConfigs v1–v4.
pub fn describe_configs(
    ctx: &ApiContext,
    call: &Call,
    req: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let version = call.version;
    let synonyms = version >= 1 && req.include_synonyms;
    let docs = version >= 3 && req.include_documentation;
    let results = req
        .resources
        .iter()
        .map(|r| {
            let name = r.resource_name.as_str();
            let keys = &r.configuration_keys;
            let outcome = authorize_resource::<DescribeConfigs>(ctx, call, r.resource_type, name)
                .and_then(|()| match r.resource_type {
                    RESOURCE_TOPIC => describe_topic(ctx, name, keys, synonyms, docs),
                    RESOURCE_BROKER => describe_broker(ctx, name, keys, synonyms, docs),
                    RESOURCE_CLIENT_METRICS => {
                        describe_client_metrics(ctx, name, keys, synonyms, docs)
                    }
                    RESOURCE_GROUP => describe_group(ctx, name, keys, synonyms, docs),
                    t => Err((
                        code(ResponseError::InvalidRequest),
                        format!("resource type {t} is not supported"),
                    )),
                });
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

/// DescribeConfigs: configs of topics and brokers.
pub struct DescribeConfigs;

impl Api for DescribeConfigs {
    type Request = DescribeConfigsRequest;
    type Response = DescribeConfigsResponse;
    const KEY: ApiKey = ApiKey::DescribeConfigs;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 4;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::DescribeConfigs, ResourceType::Topic);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: DescribeConfigsRequest,
    ) -> Handled<DescribeConfigsResponse> {
        describe_configs(ctx, call, request).into()
    }
}
