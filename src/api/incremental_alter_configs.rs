//! IncrementalAlterConfigs (v0–v1): SET, DELETE, APPEND and SUBTRACT on single configs.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    incremental_alter_configs_response, IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
};

use super::error::{code, NONE};
use super::topic_configs::validate_configs;
use super::ApiContext;
use crate::broker::config_entries::{self};
use crate::broker::topic_config::{self, ConfigType};

use super::configs::*;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

fn list_items(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The overrides of a topic, the run-time configs of a broker resource or the configs of a
/// client-metrics resource after IncrementalAlterConfigs' operations.
fn incremental(
    ctx: &ApiContext,
    resource_type: i8,
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
        let def = match resource_type {
            // A broker resource may hold names Kafka does not know (custom configs); a
            // client-metrics resource's names are checked with the whole subscription.
            // A group's names are checked with the whole group (apply_group).
            RESOURCE_BROKER | RESOURCE_CLIENT_METRICS | RESOURCE_GROUP => None,
            _ => Some(
                topic_config::definition(name)
                    .ok_or_else(|| invalid(format!("unknown topic config `{name}`")))?,
            ),
        };
        // Kafka 4.1.1 only sets and deletes a subscription's configs.
        if resource_type == RESOURCE_CLIENT_METRICS && *op != OP_SET {
            return Err(invalid(format!(
                "operation {op} is not supported on client metrics config `{name}`"
            )));
        }
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
    if resource_type != RESOURCE_TOPIC {
        return Ok(out);
    }
    validate_configs(out.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))))
}

/// Answers IncrementalAlterConfigs v0–v1 (SET, DELETE, APPEND, SUBTRACT).
pub fn incremental_alter_configs(
    ctx: &ApiContext,
    call: &Call,
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
            let outcome = authorize_resource::<IncrementalAlterConfigs>(
                ctx,
                call,
                r.resource_type,
                r.resource_name.as_str(),
            )
            .and_then(|()| {
                apply(
                    ctx,
                    r.resource_type,
                    r.resource_name.as_str(),
                    req.validate_only,
                    |current| incremental(ctx, r.resource_type, current, &ops),
                )
            });
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

/// IncrementalAlterConfigs: changes configs one by one.
pub struct IncrementalAlterConfigs;

impl Api for IncrementalAlterConfigs {
    type Request = IncrementalAlterConfigsRequest;
    type Response = IncrementalAlterConfigsResponse;
    const KEY: ApiKey = ApiKey::IncrementalAlterConfigs;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 1;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::AlterConfigs, ResourceType::Topic);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: IncrementalAlterConfigsRequest,
    ) -> Handled<IncrementalAlterConfigsResponse> {
        incremental_alter_configs(ctx, call, request).into()
    }
}
