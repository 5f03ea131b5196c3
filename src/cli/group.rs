//! `skiff group list|describe|reset-offsets|delete`, and the committed-offset reads and
//! writes `consume --group` shares.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Buf;
use clap::{Args, Subcommand};
use kafka_protocol::messages::consumer_protocol_assignment::ConsumerProtocolAssignment;
use kafka_protocol::messages::delete_groups_request::DeleteGroupsRequest;
use kafka_protocol::messages::describe_groups_request::DescribeGroupsRequest;
use kafka_protocol::messages::list_groups_request::ListGroupsRequest;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequest, OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::GroupId;
use kafka_protocol::protocol::Decodable;
use serde_json::{json, Value};

use super::cluster_view::{self, str_bytes, topic_name, TopicInfo, EARLIEST, LATEST};
use super::output::{Output, Table};
use super::timestamp::parse_millis;
use super::CliError;
use crate::client::{Client, ClientError, Result as ClientResult};

/// `skiff group …`.
#[derive(Subcommand, Debug)]
pub enum GroupCommand {
    /// List the consumer groups of every broker.
    List,
    /// Describe a group: state, members and their assignments, committed offsets and lag
    /// per partition.
    Describe {
        /// Group id.
        group: String,
    },
    /// Move a group's committed offsets (the group must have no active members).
    ResetOffsets(ResetArgs),
    /// Delete groups (they must have no active members).
    Delete {
        /// Group ids.
        #[arg(required = true)]
        groups: Vec<String>,
    },
}

/// `skiff group reset-offsets` options.
#[derive(Args, Debug)]
pub struct ResetArgs {
    /// Group id.
    pub group: String,
    /// Topic whose partitions are reset (every partition; repeatable).
    #[arg(long = "topic", required = true, value_name = "TOPIC")]
    pub topics: Vec<String>,
    /// Where to: the earliest, the latest, a timestamp, or an offset.
    #[command(flatten)]
    pub to: ResetTo,
    /// Print the plan without committing it.
    #[arg(long)]
    pub dry_run: bool,
}

/// A reset's target (exactly one).
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct ResetTo {
    /// To each partition's log start offset.
    #[arg(long)]
    pub to_earliest: bool,
    /// To each partition's log end offset.
    #[arg(long)]
    pub to_latest: bool,
    /// To the first offset at or after a time (epoch ms or YYYY-MM-DDTHH:MM:SS[.fff], UTC).
    #[arg(long, value_name = "TIME")]
    pub to_datetime: Option<String>,
    /// To this offset (clamped to the partition's earliest and latest offsets).
    #[arg(long, value_name = "OFFSET")]
    pub to_offset: Option<i64>,
}

/// Runs `skiff group …`.
pub async fn run(cmd: GroupCommand, client: &mut Client, out: Output) -> Result<(), CliError> {
    match cmd {
        GroupCommand::List => list(client, out).await,
        GroupCommand::Describe { group } => describe(client, out, &group).await,
        GroupCommand::ResetOffsets(args) => reset(client, out, &args).await,
        GroupCommand::Delete { groups } => delete(client, out, &groups).await,
    }
}

async fn list(client: &mut Client, out: Output) -> Result<(), CliError> {
    let nodes: BTreeSet<i32> = client.nodes().keys().copied().collect();
    let mut groups = BTreeMap::new();
    for node in nodes {
        let response = client
            .call_node(node, |_| ListGroupsRequest::default())
            .await?;
        ClientError::check(response.error_code, "ListGroups", None)?;
        for g in response.groups {
            groups.insert(
                g.group_id.to_string(),
                (
                    g.protocol_type.to_string(),
                    g.group_state.to_string(),
                    g.group_type.to_string(),
                ),
            );
        }
    }
    let v = Value::Array(
        groups
            .iter()
            .map(|(id, (protocol_type, state, kind))| {
                json!({"group": id, "protocol_type": protocol_type, "state": state, "type": kind})
            })
            .collect(),
    );
    out.emit(&v, || {
        let mut t = Table::new(&["group", "state", "type", "protocol type"]);
        for (id, (protocol_type, state, kind)) in &groups {
            t.row(vec![
                id.clone(),
                state.clone(),
                kind.clone(),
                protocol_type.clone(),
            ]);
        }
        t
    })?;
    Ok(())
}

/// Committed offsets of `group` (for the named topics and partitions, or every one),
/// asked of its coordinator: (topic, partition) → offset (-1: none).
pub async fn committed(
    client: &mut Client,
    coordinator: i32,
    group: &str,
    topics: Option<&[(String, Vec<i32>)]>,
) -> ClientResult<BTreeMap<(String, i32), i64>> {
    let response = client
        .call_node(coordinator, |v| {
            if v >= 8 {
                OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                    .with_group_id(GroupId(str_bytes(group)))
                    .with_topics(topics.map(|ts| {
                        ts.iter()
                            .map(|(t, ps)| {
                                OffsetFetchRequestTopics::default()
                                    .with_name(topic_name(t))
                                    .with_partition_indexes(ps.clone())
                            })
                            .collect()
                    }))])
            } else {
                OffsetFetchRequest::default()
                    .with_group_id(GroupId(str_bytes(group)))
                    .with_topics(topics.map(|ts| {
                        ts.iter()
                            .map(|(t, ps)| {
                                OffsetFetchRequestTopic::default()
                                    .with_name(topic_name(t))
                                    .with_partition_indexes(ps.clone())
                            })
                            .collect()
                    }))
            }
        })
        .await?;
    let context = format!("group {group}");
    let mut out = BTreeMap::new();
    if let Some(g) = response.groups.first() {
        ClientError::check(g.error_code, context.clone(), None)?;
        for t in &g.topics {
            for p in &t.partitions {
                ClientError::check(p.error_code, format!("{context} {}", t.name.0), None)?;
                out.insert((t.name.to_string(), p.partition_index), p.committed_offset);
            }
        }
    } else {
        ClientError::check(response.error_code, context.clone(), None)?;
        for t in &response.topics {
            for p in &t.partitions {
                ClientError::check(p.error_code, format!("{context} {}", t.name.0), None)?;
                out.insert((t.name.to_string(), p.partition_index), p.committed_offset);
            }
        }
    }
    Ok(out)
}

/// Commits `offsets` (partition → offset) of `topic` for `group` as a consumer outside the
/// group's membership (generation -1, no member id), as Kafka's tools do.
pub async fn commit(
    client: &mut Client,
    coordinator: i32,
    group: &str,
    topic: &TopicInfo,
    offsets: &BTreeMap<i32, i64>,
) -> ClientResult<()> {
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(str_bytes(group)))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(topic_name(&topic.name))
            .with_topic_id(topic.id)
            .with_partitions(
                offsets
                    .iter()
                    .map(|(p, o)| {
                        OffsetCommitRequestPartition::default()
                            .with_partition_index(*p)
                            .with_committed_offset(*o)
                    })
                    .collect(),
            )]);
    let response = client.call_node(coordinator, |_| request).await?;
    for t in response.topics {
        for p in t.partitions {
            ClientError::check(
                p.error_code,
                format!("group {group} {}-{}", topic.name, p.partition_index),
                None,
            )?;
        }
    }
    Ok(())
}

/// A member's assignment: topic → partitions, from the consumer protocol's bytes.
fn assignment(bytes: &[u8]) -> BTreeMap<String, Vec<i32>> {
    let mut buf = bytes::Bytes::copy_from_slice(bytes);
    let mut out = BTreeMap::new();
    if buf.remaining() < 2 {
        return out;
    }
    let version = buf.get_i16();
    if let Ok(a) = ConsumerProtocolAssignment::decode(&mut buf, version.clamp(0, 3)) {
        for tp in a.assigned_partitions {
            let mut ps = tp.partitions;
            ps.sort_unstable();
            out.insert(tp.topic.to_string(), ps);
        }
    }
    out
}

async fn describe(client: &mut Client, out: Output, group: &str) -> Result<(), CliError> {
    let coordinator = client.group_coordinator(group).await?;
    let response = client
        .call_node(coordinator, |_| {
            DescribeGroupsRequest::default().with_groups(vec![GroupId(str_bytes(group))])
        })
        .await?;
    let described = response.groups.into_iter().next();
    let (state, protocol_type, protocol, members) = match described {
        Some(g) => {
            ClientError::check(
                g.error_code,
                format!("group {group}"),
                g.error_message.as_deref(),
            )?;
            let members: Vec<Value> = g
                .members
                .iter()
                .map(|m| {
                    let assigned = if g.protocol_type.as_str() == "consumer" {
                        assignment(&m.member_assignment)
                    } else {
                        BTreeMap::new()
                    };
                    json!({
                        "member_id": m.member_id.to_string(),
                        "group_instance_id": m.group_instance_id.as_ref().map(|s| s.to_string()),
                        "client_id": m.client_id.to_string(),
                        "host": m.client_host.to_string(),
                        "assignment": assigned.iter().map(|(t, ps)| json!({"topic": t, "partitions": ps})).collect::<Vec<_>>(),
                    })
                })
                .collect();
            (
                g.group_state.to_string(),
                g.protocol_type.to_string(),
                g.protocol_data.to_string(),
                members,
            )
        }
        None => (String::new(), String::new(), String::new(), Vec::new()),
    };
    let offsets = committed(client, coordinator, group, None).await?;
    // Lag: each partition's log end offset minus the committed offset.
    let topics: BTreeSet<String> = offsets.keys().map(|(t, _)| t.clone()).collect();
    let mut ends: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for t in &topics {
        let Ok(info) = cluster_view::topic(client, t).await else {
            continue;
        };
        let parts: Vec<i32> = offsets
            .keys()
            .filter(|(name, _)| name == t)
            .map(|(_, p)| *p)
            .collect();
        for (p, end) in cluster_view::list_offsets(client, &info, &parts, LATEST).await? {
            ends.insert((t.clone(), p), end);
        }
    }
    let rows: Vec<Value> = offsets
        .iter()
        .map(|((t, p), committed)| {
            let end = ends.get(&(t.clone(), *p)).copied();
            let lag = end.filter(|_| *committed >= 0).map(|e| e - committed);
            json!({"topic": t, "partition": p, "committed_offset": committed, "log_end_offset": end, "lag": lag})
        })
        .collect();
    let total_lag: i64 = rows.iter().filter_map(|r| r.get("lag")?.as_i64()).sum();
    let v = json!({
        "group": group,
        "coordinator": coordinator,
        "state": state,
        "protocol_type": protocol_type,
        "protocol": protocol,
        "members": members,
        "offsets": rows,
        "total_lag": total_lag,
    });
    if out.json {
        super::output::line(&v.to_string())?;
        return Ok(());
    }
    let mut t = Table::new(&["member", "client id", "host", "assignment"])
        .note("group", group)
        .note("coordinator", coordinator)
        .note("state", &state)
        .note("protocol", format!("{protocol_type} {protocol}"))
        .note("total lag", total_lag);
    for m in &members {
        let s = |k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let assigned = m
            .get("assignment")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|tp| {
                        format!(
                            "{}:{}",
                            tp.get("topic").and_then(Value::as_str).unwrap_or_default(),
                            tp.get("partitions")
                                .map(Value::to_string)
                                .unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        t.row(vec![s("member_id"), s("client_id"), s("host"), assigned]);
    }
    t.print()?;
    super::output::line("")?;
    let mut o = Table::new(&["topic", "partition", "committed", "log end", "lag"]);
    let n = |v: Option<&Value>| {
        v.filter(|v| !v.is_null())
            .map(Value::to_string)
            .unwrap_or_else(|| "-".into())
    };
    for r in &rows {
        o.row(vec![
            r.get("topic")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            n(r.get("partition")),
            n(r.get("committed_offset")),
            n(r.get("log_end_offset")),
            n(r.get("lag")),
        ]);
    }
    o.print()?;
    Ok(())
}

async fn reset(client: &mut Client, out: Output, args: &ResetArgs) -> Result<(), CliError> {
    let coordinator = client.group_coordinator(&args.group).await?;
    let mut plan: Vec<Value> = Vec::new();
    let mut commits: Vec<(TopicInfo, BTreeMap<i32, i64>)> = Vec::new();
    for name in &args.topics {
        let info = cluster_view::topic(client, name).await?;
        let parts: Vec<i32> = info.partitions.iter().map(|p| p.partition).collect();
        let current = committed(
            client,
            coordinator,
            &args.group,
            Some(&[(name.clone(), parts.clone())]),
        )
        .await?;
        let earliest = cluster_view::list_offsets(client, &info, &parts, EARLIEST).await?;
        let latest = cluster_view::list_offsets(client, &info, &parts, LATEST).await?;
        let targets: BTreeMap<i32, i64> = if args.to.to_earliest {
            earliest.clone()
        } else if args.to.to_latest {
            latest.clone()
        } else if let Some(time) = &args.to.to_datetime {
            let ts = parse_millis(time)?;
            let found = cluster_view::list_offsets(client, &info, &parts, ts).await?;
            // No record at or after the time: the log end, as Kafka's tool does.
            found
                .into_iter()
                .map(|(p, o)| {
                    (
                        p,
                        if o < 0 {
                            latest.get(&p).copied().unwrap_or(0)
                        } else {
                            o
                        },
                    )
                })
                .collect()
        } else if let Some(offset) = args.to.to_offset {
            parts
                .iter()
                .map(|p| {
                    let lo = earliest.get(p).copied().unwrap_or(0);
                    let hi = latest.get(p).copied().unwrap_or(lo).max(lo);
                    (*p, offset.clamp(lo, hi))
                })
                .collect()
        } else {
            return Err(CliError::Usage("say where to reset to".into()));
        };
        for (p, new) in &targets {
            let cur = current.get(&(name.clone(), *p)).copied().unwrap_or(-1);
            plan.push(
                json!({"topic": name, "partition": p, "current_offset": cur, "new_offset": new}),
            );
        }
        commits.push((info, targets));
    }
    if !args.dry_run {
        for (info, targets) in &commits {
            commit(client, coordinator, &args.group, info, targets).await?;
        }
    }
    let v = json!({"group": args.group, "dry_run": args.dry_run, "offsets": plan});
    out.emit(&v, || {
        let mut t = Table::new(&["topic", "partition", "current", "new"])
            .note("group", &args.group)
            .note("dry run", args.dry_run);
        for r in &plan {
            let n = |k: &str| r.get(k).map(Value::to_string).unwrap_or_default();
            t.row(vec![
                r.get("topic")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                n("partition"),
                n("current_offset"),
                n("new_offset"),
            ]);
        }
        t
    })?;
    Ok(())
}

async fn delete(client: &mut Client, out: Output, groups: &[String]) -> Result<(), CliError> {
    let mut results = Vec::new();
    let mut first_error = None;
    for group in groups {
        let outcome = async {
            let coordinator = client.group_coordinator(group).await?;
            let response = client
                .call_node(coordinator, |_| {
                    DeleteGroupsRequest::default()
                        .with_groups_names(vec![GroupId(str_bytes(group))])
                })
                .await?;
            for r in response.results {
                ClientError::check(r.error_code, format!("group {group}"), None)?;
            }
            Ok::<_, ClientError>(())
        }
        .await;
        results
            .push(json!({"group": group, "error": outcome.as_ref().err().map(|e| e.to_string())}));
        if let Err(e) = outcome {
            first_error.get_or_insert(e);
        }
    }
    out.emit(&Value::Array(results.clone()), || {
        let mut t = Table::new(&["group", "result"]);
        for r in &results {
            t.row(vec![
                r.get("group")
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
