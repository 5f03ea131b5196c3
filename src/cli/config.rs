//! `skiff config get|set`: broker and topic configs through DescribeConfigs and
//! IncrementalAlterConfigs (also used by `topic describe` and `topic alter-config`).

use clap::{Args, Subcommand};
use kafka_protocol::messages::describe_configs_request::{
    DescribeConfigsRequest, DescribeConfigsResource,
};
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig, IncrementalAlterConfigsRequest,
};
use serde_json::{json, Value};

use super::cluster_view::str_bytes;
use super::output::{Output, Table};
use super::{key_value, CliError};
use crate::client::{Client, ClientError, Result as ClientResult};

/// ConfigResource type of a topic.
pub const TOPIC: i8 = 2;
/// ConfigResource type of a broker.
pub const BROKER: i8 = 4;

/// IncrementalAlterConfigs operation SET.
const OP_SET: i8 = 0;
/// IncrementalAlterConfigs operation DELETE (back to the default).
const OP_DELETE: i8 = 1;

/// One config as DescribeConfigs reports it.
#[derive(Debug, Clone)]
pub struct ConfigEntry {
    /// Config name.
    pub name: String,
    /// Value (`None` for sensitive or unset values).
    pub value: Option<String>,
    /// Kafka's ConfigSource name (DEFAULT_CONFIG, DYNAMIC_TOPIC_CONFIG, …).
    pub source: &'static str,
    /// Whether it cannot be changed.
    pub read_only: bool,
    /// Whether the value is hidden.
    pub sensitive: bool,
}

impl ConfigEntry {
    /// The entry as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "value": self.value,
            "source": self.source,
            "read_only": self.read_only,
            "sensitive": self.sensitive,
        })
    }
}

/// Kafka's name for a ConfigSource id.
pub fn source_name(id: i8) -> &'static str {
    match id {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        7 => "CLIENT_METRICS_CONFIG",
        8 => "GROUP_CONFIG",
        _ => "UNKNOWN",
    }
}

/// Which resource a config verb is about.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct Resource {
    /// A broker, by id.
    #[arg(long, value_name = "ID")]
    pub broker: Option<i32>,
    /// The cluster-wide default of every broker (Kafka's `--entity-default`).
    #[arg(long)]
    pub broker_default: bool,
    /// A topic.
    #[arg(long, value_name = "NAME")]
    pub topic: Option<String>,
}

impl Resource {
    /// (resource type, resource name, broker to ask).
    fn target(&self) -> (i8, String, Option<i32>) {
        match (&self.topic, self.broker) {
            (Some(t), _) => (TOPIC, t.clone(), None),
            (None, Some(id)) => (BROKER, id.to_string(), Some(id)),
            (None, None) => (BROKER, String::new(), None),
        }
    }
}

/// `skiff config …`.
#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Show a broker's or a topic's configs (every config, with its source; or the named
    /// ones).
    Get {
        /// What to read.
        #[command(flatten)]
        resource: Resource,
        /// Only these config names.
        names: Vec<String>,
    },
    /// Set configs (KEY=VALUE) and delete overrides (--delete KEY) on a broker or a topic.
    Set {
        /// What to change.
        #[command(flatten)]
        resource: Resource,
        /// KEY=VALUE pairs to set.
        #[arg(value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Config names whose override is removed (back to the default).
        #[arg(long = "delete", value_name = "KEY")]
        delete: Vec<String>,
    },
}

/// Runs `skiff config …`.
pub async fn run(cmd: ConfigCommand, client: &mut Client, out: Output) -> Result<(), CliError> {
    match cmd {
        ConfigCommand::Get { resource, names } => {
            let (kind, name, node) = resource.target();
            let keys = (!names.is_empty()).then_some(names.as_slice());
            let entries = describe(client, kind, &name, node, keys).await?;
            print_entries(&entries, out)?;
        }
        ConfigCommand::Set {
            resource,
            set,
            delete,
        } => {
            let (kind, name, node) = resource.target();
            let set = set
                .iter()
                .map(|s| key_value(s))
                .collect::<Result<Vec<_>, _>>()?;
            if set.is_empty() && delete.is_empty() {
                return Err(CliError::Usage(
                    "nothing to change: give KEY=VALUE or --delete KEY".into(),
                ));
            }
            alter(client, kind, &name, node, &set, &delete).await?;
            let changed = json!({
                "resource": name,
                "set": set.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
                "deleted": delete,
            });
            out.emit(&changed, || {
                let mut t = Table::new(&["config", "change"]);
                for (k, v) in &set {
                    t.row(vec![k.clone(), format!("set to {v}")]);
                }
                for k in &delete {
                    t.row(vec![k.clone(), "override deleted".into()]);
                }
                t
            })?;
        }
    }
    Ok(())
}

/// Prints configs as a table or a JSON array.
pub fn print_entries(entries: &[ConfigEntry], out: Output) -> std::io::Result<()> {
    let value = Value::Array(entries.iter().map(ConfigEntry::to_json).collect());
    out.emit(&value, || config_table(entries))
}

/// Configs as a table.
pub fn config_table(entries: &[ConfigEntry]) -> Table {
    let mut t = Table::new(&["config", "value", "source"]);
    for e in entries {
        let value = match (&e.value, e.sensitive) {
            (_, true) => "(sensitive)".to_string(),
            (Some(v), false) => v.clone(),
            (None, false) => "(null)".to_string(),
        };
        t.row(vec![e.name.clone(), value, e.source.to_string()]);
    }
    t
}

/// DescribeConfigs of one resource (to `node`, or the bootstrap broker).
pub async fn describe(
    client: &mut Client,
    resource_type: i8,
    resource_name: &str,
    node: Option<i32>,
    keys: Option<&[String]>,
) -> ClientResult<Vec<ConfigEntry>> {
    let request =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(str_bytes(resource_name))
            .with_configuration_keys(keys.map(|k| k.iter().map(|s| str_bytes(s)).collect()))]);
    let response = match node {
        Some(n) => client.call_node(n, |_| request).await?,
        None => client.call(|_| request).await?,
    };
    let mut entries = Vec::new();
    for r in response.results {
        ClientError::check(
            r.error_code,
            format!("configs of {resource_name}"),
            r.error_message.as_deref(),
        )?;
        for c in r.configs {
            entries.push(ConfigEntry {
                name: c.name.to_string(),
                value: c.value.map(|v| v.to_string()),
                source: source_name(c.config_source),
                read_only: c.read_only,
                sensitive: c.is_sensitive,
            });
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// IncrementalAlterConfigs of one resource: sets `set`, deletes the overrides in `delete`.
pub async fn alter(
    client: &mut Client,
    resource_type: i8,
    resource_name: &str,
    node: Option<i32>,
    set: &[(String, String)],
    delete: &[String],
) -> ClientResult<()> {
    let mut configs: Vec<AlterableConfig> = set
        .iter()
        .map(|(k, v)| {
            AlterableConfig::default()
                .with_name(str_bytes(k))
                .with_config_operation(OP_SET)
                .with_value(Some(str_bytes(v)))
        })
        .collect();
    configs.extend(delete.iter().map(|k| {
        AlterableConfig::default()
            .with_name(str_bytes(k))
            .with_config_operation(OP_DELETE)
    }));
    let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(str_bytes(resource_name))
            .with_configs(configs),
    ]);
    let response = match node {
        Some(n) => client.call_node(n, |_| request).await?,
        None => client.call(|_| request).await?,
    };
    for r in response.responses {
        ClientError::check(
            r.error_code,
            format!("configs of {resource_name}"),
            r.error_message.as_deref(),
        )?;
    }
    Ok(())
}
