//! `skiff topic create|list|describe|alter-config|add-partitions|delete`.

use clap::Subcommand;
use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsRequest, CreatePartitionsTopic,
};
use kafka_protocol::messages::create_topics_request::{
    CreatableTopic, CreatableTopicConfig, CreateTopicsRequest,
};
use kafka_protocol::messages::delete_topics_request::{DeleteTopicState, DeleteTopicsRequest};
use serde_json::{json, Value};

use super::cluster_view::{self, str_bytes, topic_name, EARLIEST, LATEST};
use super::config::{self, TOPIC};
use super::output::{Output, Table};
use super::{key_value, CliError};
use crate::client::{Client, ClientError};

/// How long the broker may take over a create, delete or add-partitions.
const ADMIN_TIMEOUT_MS: i32 = 30_000;

/// `skiff topic …`.
#[derive(Subcommand, Debug)]
pub enum TopicCommand {
    /// Create a topic.
    Create {
        /// Topic name.
        name: String,
        /// Partitions (the broker's num.partitions if not given).
        #[arg(short = 'p', long, value_name = "N")]
        partitions: Option<i32>,
        /// Replication factor (the broker's default.replication.factor if not given).
        #[arg(short = 'r', long, value_name = "N")]
        replicas: Option<i16>,
        /// Topic config, KEY=VALUE (repeatable), e.g. -c cleanup.policy=compact.
        #[arg(short = 'c', long = "config", value_name = "KEY=VALUE")]
        configs: Vec<String>,
    },
    /// List topics (internal ones only with -i).
    List {
        /// Include internal topics (__consumer_offsets, …).
        #[arg(short = 'i', long)]
        internal: bool,
    },
    /// Describe a topic: partitions with leader, replicas, ISR, earliest and latest
    /// offsets; and every config with its source.
    Describe {
        /// Topic name.
        name: String,
    },
    /// Set configs (KEY=VALUE) and delete overrides (--delete KEY) of a topic.
    AlterConfig {
        /// Topic name.
        name: String,
        /// KEY=VALUE pairs to set.
        #[arg(value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Config names whose override is removed.
        #[arg(long = "delete", value_name = "KEY")]
        delete: Vec<String>,
    },
    /// Add partitions to a topic.
    AddPartitions {
        /// Topic name.
        name: String,
        /// How many partitions to add.
        #[arg(short = 'n', long = "num", value_name = "N")]
        num: i32,
    },
    /// Delete topics.
    Delete {
        /// Topic names.
        #[arg(required = true)]
        names: Vec<String>,
    },
}

/// Runs `skiff topic …`.
pub async fn run(cmd: TopicCommand, client: &mut Client, out: Output) -> Result<(), CliError> {
    match cmd {
        TopicCommand::Create {
            name,
            partitions,
            replicas,
            configs,
        } => create(client, out, &name, partitions, replicas, &configs).await,
        TopicCommand::List { internal } => list(client, out, internal).await,
        TopicCommand::Describe { name } => describe(client, out, &name).await,
        TopicCommand::AlterConfig { name, set, delete } => {
            let set = set
                .iter()
                .map(|s| key_value(s))
                .collect::<Result<Vec<_>, _>>()?;
            if set.is_empty() && delete.is_empty() {
                return Err(CliError::Usage(
                    "nothing to change: give KEY=VALUE or --delete KEY".into(),
                ));
            }
            config::alter(client, TOPIC, &name, None, &set, &delete).await?;
            let v = json!({
                "topic": name,
                "set": set.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
                "deleted": delete,
            });
            out.emit(&v, || {
                Table::default().note("altered configs of topic", &name)
            })?;
            Ok(())
        }
        TopicCommand::AddPartitions { name, num } => add_partitions(client, out, &name, num).await,
        TopicCommand::Delete { names } => delete(client, out, &names).await,
    }
}

async fn create(
    client: &mut Client,
    out: Output,
    name: &str,
    partitions: Option<i32>,
    replicas: Option<i16>,
    configs: &[String],
) -> Result<(), CliError> {
    let configs = configs
        .iter()
        .map(|c| {
            key_value(c).map(|(k, v)| {
                CreatableTopicConfig::default()
                    .with_name(str_bytes(&k))
                    .with_value(Some(str_bytes(&v)))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let request = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(topic_name(name))
            .with_num_partitions(partitions.unwrap_or(-1))
            .with_replication_factor(replicas.unwrap_or(-1))
            .with_configs(configs)])
        .with_timeout_ms(ADMIN_TIMEOUT_MS);
    let response = client.call(|_| request).await?;
    for t in &response.topics {
        ClientError::check(
            t.error_code,
            format!("topic {name}"),
            t.error_message.as_deref(),
        )?;
    }
    // CreateTopics v5+ says what was made (v7+ with the topic id); a broker's metadata
    // may not show a new topic yet (Kafka's lags its controller by a moment).
    let made = response.topics.first();
    let (partitions, replication, topic_id) = match made.filter(|t| t.num_partitions >= 0) {
        Some(t) => (
            i64::from(t.num_partitions),
            i64::from(t.replication_factor),
            t.topic_id.to_string(),
        ),
        None => {
            let info = cluster_view::topic(client, name).await?;
            let replication = info
                .partitions
                .first()
                .map(|p| p.replicas.len())
                .unwrap_or(0);
            (
                info.partitions.len() as i64,
                replication as i64,
                info.topic_id,
            )
        }
    };
    let v = json!({
        "name": name,
        "topic_id": topic_id,
        "partitions": partitions,
        "replication_factor": replication,
    });
    out.emit(&v, || {
        Table::default()
            .note("created topic", name)
            .note("topic id", &topic_id)
            .note("partitions", partitions)
            .note("replication factor", replication)
    })?;
    Ok(())
}

async fn list(client: &mut Client, out: Output, internal: bool) -> Result<(), CliError> {
    let topics = cluster_view::topics(client, None).await?;
    let topics: Vec<_> = topics
        .into_iter()
        .filter(|t| internal || !t.internal)
        .collect();
    let v = Value::Array(
        topics
            .iter()
            .map(|t| {
                json!({
                    "name": t.name,
                    "topic_id": t.topic_id,
                    "partitions": t.partitions.len(),
                    "replication_factor": t.partitions.first().map(|p| p.replicas.len()).unwrap_or(0),
                    "internal": t.internal,
                })
            })
            .collect(),
    );
    out.emit(&v, || {
        let mut table = Table::new(&["name", "partitions", "replicas", "topic id"]);
        for t in &topics {
            table.row(vec![
                t.name.clone(),
                t.partitions.len().to_string(),
                t.partitions
                    .first()
                    .map(|p| p.replicas.len())
                    .unwrap_or(0)
                    .to_string(),
                t.topic_id.clone(),
            ]);
        }
        table
    })?;
    Ok(())
}

async fn describe(client: &mut Client, out: Output, name: &str) -> Result<(), CliError> {
    let info = cluster_view::topic(client, name).await?;
    let indexes: Vec<i32> = info.partitions.iter().map(|p| p.partition).collect();
    let earliest = cluster_view::list_offsets(client, &info, &indexes, EARLIEST).await?;
    let latest = cluster_view::list_offsets(client, &info, &indexes, LATEST).await?;
    let configs = config::describe(client, TOPIC, name, None, None).await?;
    let partitions: Vec<Value> = info
        .partitions
        .iter()
        .map(|p| {
            json!({
                "partition": p.partition,
                "leader": p.leader,
                "leader_epoch": p.leader_epoch,
                "replicas": p.replicas,
                "isr": p.isr,
                "earliest_offset": earliest.get(&p.partition),
                "latest_offset": latest.get(&p.partition),
            })
        })
        .collect();
    let v = json!({
        "name": info.name,
        "topic_id": info.topic_id,
        "internal": info.internal,
        "partitions": partitions,
        "configs": configs.iter().map(config::ConfigEntry::to_json).collect::<Vec<_>>(),
    });
    if out.json {
        super::output::line(&v.to_string())?;
        return Ok(());
    }
    let ids = |v: &[i32]| v.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    let mut table = Table::new(&[
        "partition",
        "leader",
        "epoch",
        "replicas",
        "isr",
        "earliest",
        "latest",
    ])
    .note("name", &info.name)
    .note("topic id", &info.topic_id)
    .note("internal", info.internal)
    .note("partitions", info.partitions.len());
    let offset = |o: Option<&i64>| o.map(i64::to_string).unwrap_or_else(|| "-".into());
    for p in &info.partitions {
        table.row(vec![
            p.partition.to_string(),
            p.leader.to_string(),
            p.leader_epoch.to_string(),
            ids(&p.replicas),
            ids(&p.isr),
            offset(earliest.get(&p.partition)),
            offset(latest.get(&p.partition)),
        ]);
    }
    table.print()?;
    super::output::line("")?;
    config::config_table(&configs).print()?;
    Ok(())
}

async fn add_partitions(
    client: &mut Client,
    out: Output,
    name: &str,
    num: i32,
) -> Result<(), CliError> {
    if num < 1 {
        return Err(CliError::Usage("--num must be at least 1".into()));
    }
    let info = cluster_view::topic(client, name).await?;
    let before = i32::try_from(info.partitions.len()).unwrap_or(i32::MAX);
    let total = before.saturating_add(num);
    let request = CreatePartitionsRequest::default()
        .with_topics(vec![CreatePartitionsTopic::default()
            .with_name(topic_name(name))
            .with_count(total)
            .with_assignments(None)])
        .with_timeout_ms(ADMIN_TIMEOUT_MS);
    let response = client.call(|_| request).await?;
    for r in &response.results {
        ClientError::check(
            r.error_code,
            format!("topic {name}"),
            r.error_message.as_deref(),
        )?;
    }
    let v = json!({"topic": name, "partitions_before": before, "partitions": total});
    out.emit(&v, || {
        Table::default()
            .note("topic", name)
            .note("partitions", format!("{before} -> {total}"))
    })?;
    Ok(())
}

async fn delete(client: &mut Client, out: Output, names: &[String]) -> Result<(), CliError> {
    let response = client
        .call(|v| {
            let r = DeleteTopicsRequest::default().with_timeout_ms(ADMIN_TIMEOUT_MS);
            if v >= 6 {
                r.with_topics(
                    names
                        .iter()
                        .map(|n| DeleteTopicState::default().with_name(Some(topic_name(n))))
                        .collect(),
                )
            } else {
                r.with_topic_names(names.iter().map(|n| topic_name(n)).collect())
            }
        })
        .await?;
    let mut first_error = None;
    let mut results = Vec::new();
    for r in &response.responses {
        let name = r.name.as_ref().map(|n| n.to_string()).unwrap_or_default();
        let error = ClientError::check(
            r.error_code,
            format!("topic {name}"),
            r.error_message.as_deref(),
        );
        results.push(json!({
            "name": name,
            "error": error.as_ref().err().map(|e| e.to_string()),
        }));
        if let Err(e) = error {
            first_error.get_or_insert(e);
        }
    }
    out.emit(&Value::Array(results.clone()), || {
        let mut t = Table::new(&["topic", "result"]);
        for r in &results {
            t.row(vec![
                r.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                r.get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("deleted")
                    .to_string(),
            ]);
        }
        t
    })?;
    match first_error {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}
