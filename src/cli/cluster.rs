//! `skiff cluster info|health`.

use clap::Subcommand;
use kafka_protocol::messages::ApiKey;
use serde_json::{json, Value};

use super::cluster_view;
use super::output::{Output, Table};
use super::CliError;
use crate::client::Client;

/// `skiff cluster …`.
#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Cluster id, controller, brokers, features and the API versions the bootstrap broker
    /// speaks.
    Info,
    /// Check the cluster: every broker answers and every partition has a leader. Exit code
    /// 0 when healthy, 1 when not.
    Health,
}

/// Runs `skiff cluster …`.
pub async fn run(cmd: ClusterCommand, client: &mut Client, out: Output) -> Result<(), CliError> {
    match cmd {
        ClusterCommand::Info => info(client, out).await,
        ClusterCommand::Health => health(client, out).await,
    }
}

async fn info(client: &mut Client, out: Output) -> Result<(), CliError> {
    let metadata = client.metadata(Some(&[])).await?;
    let cluster_id = metadata.cluster_id.as_ref().map(|c| c.to_string());
    let controller = metadata.controller_id.0;
    let mut brokers: Vec<_> = metadata.brokers.iter().collect();
    brokers.sort_by_key(|b| b.node_id.0);
    let av = client.bootstrap().api_versions();
    let apis: Vec<Value> = av
        .api_keys
        .iter()
        .map(|k| {
            let name = ApiKey::try_from(k.api_key)
                .map(|a| format!("{a:?}"))
                .unwrap_or_else(|()| format!("Unknown{}", k.api_key));
            json!({"api": name, "key": k.api_key, "min_version": k.min_version, "max_version": k.max_version})
        })
        .collect();
    let v = json!({
        "cluster_id": cluster_id,
        "controller_id": controller,
        "brokers": brokers.iter().map(|b| json!({
            "id": b.node_id.0,
            "host": b.host.to_string(),
            "port": b.port,
            "rack": b.rack.as_ref().map(|r| r.to_string()),
        })).collect::<Vec<_>>(),
        "features": {
            "supported": av.supported_features.iter().map(|f| json!({"name": f.name.to_string(), "min_version": f.min_version, "max_version": f.max_version})).collect::<Vec<_>>(),
            "finalized": av.finalized_features.iter().map(|f| json!({"name": f.name.to_string(), "min_version_level": f.min_version_level, "max_version_level": f.max_version_level})).collect::<Vec<_>>(),
            "finalized_epoch": av.finalized_features_epoch,
        },
        "api_versions": apis,
    });
    if out.json {
        super::output::line(&v.to_string())?;
        return Ok(());
    }
    let mut t = Table::new(&["broker", "host", "port", "rack"])
        .note("cluster id", cluster_id.as_deref().unwrap_or("-"))
        .note("controller", controller);
    for b in &brokers {
        t.row(vec![
            b.node_id.0.to_string(),
            b.host.to_string(),
            b.port.to_string(),
            b.rack.as_ref().map(|r| r.to_string()).unwrap_or_default(),
        ]);
    }
    t.print()?;
    super::output::line("")?;
    let mut f = Table::new(&["feature", "supported", "finalized"]);
    for s in &av.supported_features {
        let fin = av
            .finalized_features
            .iter()
            .find(|x| x.name == s.name)
            .map(|x| x.max_version_level.to_string())
            .unwrap_or_else(|| "-".into());
        f.row(vec![
            s.name.to_string(),
            format!("{}..{}", s.min_version, s.max_version),
            fin,
        ]);
    }
    f.print()?;
    super::output::line("")?;
    let mut a = Table::new(&["api", "key", "versions"]);
    for api in &apis {
        a.row(vec![
            api.get("api")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            api.get("key").map(Value::to_string).unwrap_or_default(),
            format!(
                "{}..{}",
                api.get("min_version")
                    .map(Value::to_string)
                    .unwrap_or_default(),
                api.get("max_version")
                    .map(Value::to_string)
                    .unwrap_or_default()
            ),
        ]);
    }
    a.print()?;
    Ok(())
}

async fn health(client: &mut Client, out: Output) -> Result<(), CliError> {
    let topics = cluster_view::topics(client, None).await?;
    let metadata = client.metadata(Some(&[])).await?;
    let controller = metadata.controller_id.0;
    let mut ids: Vec<i32> = client.nodes().keys().copied().collect();
    ids.sort_unstable();
    let mut down = Vec::new();
    for id in &ids {
        if let Err(e) = client.node(*id).await {
            down.push(json!({"id": id, "error": e.to_string()}));
        }
    }
    let leaderless: Vec<Value> = topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .filter(|p| p.leader < 0)
                .map(move |p| json!({"topic": t.name, "partition": p.partition}))
        })
        .collect();
    let mut problems = Vec::new();
    if !down.is_empty() {
        problems.push(format!("{} broker(s) not answering", down.len()));
    }
    if !leaderless.is_empty() {
        problems.push(format!(
            "{} partition(s) without a leader",
            leaderless.len()
        ));
    }
    if controller < 0 {
        problems.push("no active controller".to_string());
    }
    let healthy = problems.is_empty();
    let v = json!({
        "healthy": healthy,
        "brokers": ids,
        "controller_id": controller,
        "brokers_down": down,
        "leaderless_partitions": leaderless,
        "problems": problems,
    });
    out.emit(&v, || {
        let mut t = Table::default()
            .note("healthy", healthy)
            .note("brokers", ids.len())
            .note("controller", controller);
        for p in &problems {
            t = t.note("problem", p);
        }
        t
    })?;
    if healthy {
        Ok(())
    } else {
        Err(CliError::Unhealthy(problems.join("; ")))
    }
}
