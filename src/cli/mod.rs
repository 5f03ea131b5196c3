//! The `skiff` CLI's client verbs (`topic`, `produce`, `consume`, `group`, `cluster`,
//! `config`, `user`): clap definitions and what each verb does, over [`crate::client`].
//!
//! Every verb prints a human table by default and JSON with `--json`. Exit codes: 0 ok,
//! 1 an error from Kafka (or an unhealthy cluster), 2 bad usage, 3 no connection.

pub mod cluster;
pub mod cluster_view;
pub mod config;
pub mod consume;
pub mod error;
pub mod group;
pub mod output;
pub mod parse;
pub mod produce;
pub mod timestamp;
pub mod topic;
pub mod user;

use std::time::Duration;

use clap::{Args, Subcommand};

use crate::client::{Client, ClientConfig, ClientError, Security};
pub use error::CliError;
use output::Output;
pub use parse::key_value;

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
    /// Security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.
    #[arg(
        long,
        value_name = "PROTOCOL",
        default_value = "PLAINTEXT",
        global = true
    )]
    pub security_protocol: String,
    /// SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (SASL protocols).
    #[arg(long, value_name = "MECHANISM", default_value = "PLAIN", global = true)]
    pub sasl_mechanism: String,
    /// SASL user name.
    #[arg(long, value_name = "USER", env = "SKIFF_USER", global = true)]
    pub user: Option<String>,
    /// SASL password.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "SKIFF_PASSWORD",
        global = true,
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// PEM file of the CA certificates that sign the brokers' certificates (SSL protocols).
    #[arg(long, value_name = "FILE", global = true)]
    pub tls_ca: Option<std::path::PathBuf>,
}

impl ConnectArgs {
    /// The client settings these options make.
    pub fn client_config(&self) -> Result<ClientConfig, CliError> {
        let protocol = self
            .security_protocol
            .parse()
            .map_err(|e: ClientError| CliError::Usage(e.to_string()))?;
        let mechanism = self
            .sasl_mechanism
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
            security: Security {
                protocol,
                mechanism: Some(mechanism),
                user: self.user.clone(),
                password: self.password.clone(),
                tls_ca: self.tls_ca.clone(),
            },
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
