//! The `skiff` CLI's client verbs (`topic`, `produce`, `consume`, `group`, `cluster`,
//! `config`, `user`): clap definitions and what each verb does, over [`crate::client`].
//!
//! Every verb prints a human table by default and JSON with `--json`. Exit codes: 0 ok,
//! 1 an error from Kafka (or an unhealthy cluster), 2 bad usage, 3 no connection.

pub mod cluster;
pub mod cluster_view;
pub mod config;
pub mod consume;
pub mod group;
pub mod output;
pub mod produce;
pub mod timestamp;
pub mod topic;
pub mod user;

use std::time::Duration;

use clap::{Args, Subcommand};

use crate::client::{Client, ClientConfig, ClientError, Security};
use output::Output;

/// The default bootstrap broker.
pub const DEFAULT_BROKERS: &str = "127.0.0.1:9092";

/// Connection and output options shared by every client verb.
#[derive(Args, Debug, Clone)]
pub struct ConnectArgs {
    /// Bootstrap brokers, HOST:PORT (comma-separated or repeated).
    #[arg(
        short = 'b',
        long = "brokers",
        env = "SKIFF_BROKERS",
        default_value = DEFAULT_BROKERS,
        value_delimiter = ',',
        global = true
    )]
    pub brokers: Vec<String>,
    /// Print JSON (one document per line) instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Seconds a connection attempt or a request may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, global = true)]
    pub timeout: u64,
    /// Security protocol: PLAINTEXT.
    #[arg(
        long,
        value_name = "PROTOCOL",
        default_value = "PLAINTEXT",
        global = true
    )]
    pub security_protocol: String,
}

impl ConnectArgs {
    /// The client settings these options make.
    pub fn client_config(&self) -> Result<ClientConfig, CliError> {
        let protocol = self
            .security_protocol
            .parse()
            .map_err(|e: ClientError| CliError::Usage(e.to_string()))?;
        Ok(ClientConfig {
            bootstrap: self
                .brokers
                .iter()
                .map(|b| b.trim().to_string())
                .filter(|b| !b.is_empty())
                .collect(),
            client_id: "skiff-cli".into(),
            timeout: Duration::from_secs(self.timeout.max(1)),
            security: Security { protocol },
        })
    }

    /// How verbs print.
    pub fn output(&self) -> Output {
        Output { json: self.json }
    }
}

/// A client verb.
#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Create, list, describe, alter and delete topics.
    #[command(subcommand)]
    Topic(topic::TopicCommand),
    /// Produce records read from stdin (or a file), one per line.
    Produce(produce::ProduceArgs),
    /// Consume records and print them (follows new records unless -e or -n stops it).
    Consume(consume::ConsumeArgs),
    /// List, describe, reset and delete consumer groups.
    #[command(subcommand)]
    Group(group::GroupCommand),
    /// Brokers, controller, features and API versions; health.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Read and change broker and topic configs.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// SCRAM users: list, create (or change the password), delete.
    #[command(subcommand)]
    User(user::UserCommand),
}

/// Why a verb failed; each maps to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments or input (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The broker's answer or the connection (exit 1 or 3).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The cluster answered but is not healthy (exit 1).
    #[error("{0}")]
    Unhealthy(String),
    /// Reading input or writing output failed (exit 1).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl CliError {
    /// The process exit code: 1 a Kafka error, 2 usage, 3 connection failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Client(e) if e.is_connection() => 3,
            CliError::Client(ClientError::Security(_)) => 2,
            _ => 1,
        }
    }
}

/// Runs a client verb to the end.
pub async fn run(command: ClientCommand, connect: &ConnectArgs) -> Result<(), CliError> {
    let config = connect.client_config()?;
    let out = connect.output();
    let health = matches!(
        command,
        ClientCommand::Cluster(cluster::ClusterCommand::Health)
    );
    let mut client = match Client::connect(config).await {
        Ok(c) => c,
        // A health check that cannot reach the cluster reports it unhealthy (exit 1).
        Err(e) if health => {
            let v = serde_json::json!({"healthy": false, "problems": [e.to_string()]});
            out.emit(&v, || output::Table::default().note("healthy", false))?;
            return Err(CliError::Unhealthy(e.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    match command {
        ClientCommand::Topic(c) => topic::run(c, &mut client, out).await,
        ClientCommand::Produce(a) => produce::run(a, &mut client, out).await,
        ClientCommand::Consume(a) => consume::run(a, &mut client, out).await,
        ClientCommand::Group(c) => group::run(c, &mut client, out).await,
        ClientCommand::Cluster(c) => cluster::run(c, &mut client, out).await,
        ClientCommand::Config(c) => config::run(c, &mut client, out).await,
        ClientCommand::User(c) => user::run(c, &mut client, out).await,
    }
}

/// Splits `KEY=VALUE`.
pub fn key_value(s: &str) -> Result<(String, String), CliError> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| CliError::Usage(format!("expected KEY=VALUE, got {s:?}")))
}
