//! The `skiff` binary.
#![forbid(unsafe_code)]
#![allow(
    clippy::print_stderr,
    reason = "the CLI reports a failure to start on stderr, before logging is set up"
)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use skiff::broker::security::credentials::parse_add_scram;
use skiff::cli::{
    cluster::ClusterCommand, config::ConfigCommand, consume::ConsumeArgs, group::GroupCommand,
    produce::ProduceArgs, topic::TopicCommand, user::UserCommand, ClientCommand, ConnectArgs,
};
use skiff::config::Config;
use skiff::Broker;
use tracing_subscriber::EnvFilter;

/// Skiff: a Kafka-wire-compatible broker, and a client for any Kafka cluster.
///
/// `skiff serve` runs the broker. The other commands talk Kafka's protocol to any broker
/// (Skiff or Apache Kafka) at `-b/--brokers` (default 127.0.0.1:9092, or SKIFF_BROKERS):
/// human tables by default, `--json` for scripts. Exit codes: 0 ok, 1 an error from Kafka
/// (or an unhealthy cluster), 2 bad usage, 3 no connection.
#[derive(Parser, Debug)]
#[command(name = "skiff", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the broker.
    Serve(ServeArgs),
    /// Prepare a data directory before the first start, as `kafka-storage format` does:
    /// SCRAM users with `--add-scram 'SCRAM-SHA-512=[name=alice,password=secret]'`.
    Format(FormatArgs),
    /// Create, list, describe, alter and delete topics.
    Topic {
        #[command(flatten)]
        connect: ConnectArgs,
        #[command(subcommand)]
        command: TopicCommand,
    },
    /// Produce records read from stdin (or --file), one per line.
    Produce {
        #[command(flatten)]
        connect: ConnectArgs,
        #[command(flatten)]
        args: ProduceArgs,
    },
    /// Consume records and print them; follows new records unless -e or -n stops it.
    Consume {
        #[command(flatten)]
        connect: ConnectArgs,
        #[command(flatten)]
        args: ConsumeArgs,
    },
    /// List, describe, reset the offsets of, and delete consumer groups.
    Group {
        #[command(flatten)]
        connect: ConnectArgs,
        #[command(subcommand)]
        command: GroupCommand,
    },
    /// Cluster id, controller, brokers, features, API versions; health check.
    Cluster {
        #[command(flatten)]
        connect: ConnectArgs,
        #[command(subcommand)]
        command: ClusterCommand,
    },
    /// Read and change broker and topic configs.
    Config {
        #[command(flatten)]
        connect: ConnectArgs,
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// SCRAM users: list, create (or change a password), delete.
    User {
        #[command(flatten)]
        connect: ConnectArgs,
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// A client verb's command and connection options, or (as the error) the broker's own
/// commands.
fn client_command(command: Command) -> Result<(ClientCommand, ConnectArgs), Box<Command>> {
    Ok(match command {
        Command::Topic { connect, command } => (ClientCommand::Topic(command), connect),
        Command::Produce { connect, args } => (ClientCommand::Produce(args), connect),
        Command::Consume { connect, args } => (ClientCommand::Consume(args), connect),
        Command::Group { connect, command } => (ClientCommand::Group(command), connect),
        Command::Cluster { connect, command } => (ClientCommand::Cluster(command), connect),
        Command::Config { connect, command } => (ClientCommand::Config(command), connect),
        Command::User { connect, command } => (ClientCommand::User(command), connect),
        other => return Err(Box::new(other)),
    })
}

/// Runs a client verb and turns its outcome into the process exit code.
fn run_client(command: ClientCommand, connect: &ConnectArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("skiff: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(skiff::cli::run(command, connect)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(skiff::cli::CliError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("skiff: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

#[derive(clap::Args, Debug)]
struct FormatArgs {
    /// TOML configuration file (for `data.dir`); built-in defaults otherwise.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (option `data.dir`, default ./data).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// A SCRAM credential, `MECHANISM=[name=USER,password=PASSWORD(,iterations=N)]` with
    /// MECHANISM SCRAM-SHA-256 or SCRAM-SHA-512 (repeatable).
    #[arg(long = "add-scram", short = 'S', value_name = "SPEC")]
    add_scram: Vec<String>,
}

fn format(args: &FormatArgs) -> Result<(), String> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path).map_err(|e| e.to_string())?,
        None => Config::default(),
    };
    if let Some(v) = &args.data_dir {
        config
            .set("data.dir", &v.display().to_string())
            .map_err(|e| e.to_string())?;
    }
    let changes = args
        .add_scram
        .iter()
        .map(|s| parse_add_scram(s).map_err(|e| format!("--add-scram {s}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    skiff::add_scram_credentials(&config.data_dir, &changes).map_err(|e| e.to_string())
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// TOML configuration file (see config/skiff.toml); built-in defaults otherwise.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on, HOST:PORT (option `listen`, default 127.0.0.1:9092).
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// HOST:PORT given to clients (option `advertised.listener`, default: the listen address).
    #[arg(long, value_name = "HOST:PORT")]
    advertised_listener: Option<String>,
    /// Data directory (option `data.dir`, default ./data).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Log filter, e.g. `info` or `skiff=debug` (option `log.level`; RUST_LOG wins).
    #[arg(long, value_name = "FILTER")]
    log_level: Option<String>,
    /// Set any option, e.g. `--set log.fsync.policy=always` (repeatable; wins over the file).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
}

fn build_config(args: &ServeArgs) -> Result<Config, skiff::config::ConfigError> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    for s in &args.set {
        config.apply_override(s)?;
    }
    if let Some(v) = &args.listen {
        config.set("listen", v)?;
    }
    if let Some(v) = &args.advertised_listener {
        config.set("advertised.listener", v)?;
    }
    if let Some(v) = &args.data_dir {
        config.set("data.dir", &v.display().to_string())?;
    }
    if let Some(v) = &args.log_level {
        config.set("log.level", v)?;
    }
    Ok(config)
}

async fn wait_for_signal() -> std::io::Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}

/// Raises the soft open-file limit to the hard one, as the JVM does for Kafka (and Go's
/// runtime for its servers): each partition holds descriptors, and the soft default (often
/// 1024) is far below what a broker with many partitions needs. Returns the limit in force.
fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current == limit.maximum {
        return limit.current;
    }
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => limit.maximum,
        Err(_) => limit.current,
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let broker = Broker::start(config).await.map_err(|e| e.to_string())?;
    let signal = wait_for_signal().await.map_err(|e| e.to_string())?;
    tracing::info!(signal, "shutting down");
    broker.shutdown().await.map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = match client_command(cli.command) {
        Ok((command, connect)) => return run_client(command, &connect),
        Err(command) => *command,
    };
    let args = match command {
        Command::Serve(args) => args,
        Command::Completion { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "skiff",
                &mut std::io::stdout().lock(),
            );
            return ExitCode::SUCCESS;
        }
        Command::Format(args) => {
            return match format(&args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("skiff format: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        other => {
            eprintln!("skiff: unexpected command {other:?}");
            return ExitCode::from(2);
        }
    };
    let config = match build_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("skiff: {e}");
            return ExitCode::from(2);
        }
    };
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    match raise_open_file_limit() {
        Some(n) => tracing::info!(open_files = n, "open-file limit"),
        None => tracing::info!("open-file limit: unlimited"),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("skiff: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("skiff: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_args(args: &[&str]) -> ServeArgs {
        let cli = Cli::try_parse_from(["skiff", "serve"].iter().chain(args)).unwrap();
        let Command::Serve(a) = cli.command else {
            panic!("not serve");
        };
        a
    }

    #[test]
    fn flags_override_the_file_and_set_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("skiff.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:1\"\nnum.partitions = 2\n").unwrap();
        let a = serve_args(&[
            "--config",
            file.to_str().unwrap(),
            "--set",
            "listen=127.0.0.1:2",
            "--listen",
            "127.0.0.1:3",
            "--set",
            "log.fsync.policy=never",
            "--data-dir",
            "/tmp/x",
        ]);
        let c = build_config(&a).unwrap();
        assert_eq!(c.listen, "127.0.0.1:3");
        assert_eq!(c.num_partitions, 2);
        assert_eq!(c.log_fsync_policy, skiff::config::FsyncPolicyName::Never);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn unknown_set_option_is_rejected() {
        let a = serve_args(&["--set", "no.such.option=1"]);
        assert!(build_config(&a).is_err());
    }

    #[test]
    fn format_adds_scram_users_before_the_first_start() {
        let dir = tempfile::tempdir().unwrap();
        let cli = Cli::try_parse_from([
            "skiff",
            "format",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--add-scram",
            "SCRAM-SHA-512=[name=alice,password=secret]",
        ])
        .unwrap();
        let Command::Format(args) = cli.command else {
            panic!("not format");
        };
        format(&args).unwrap();
        assert!(dir.path().join(skiff::STATE_DIR).is_dir());
        let bad = FormatArgs {
            config: None,
            data_dir: Some(dir.path().to_path_buf()),
            add_scram: vec!["SCRAM-SHA-1=[name=a,password=b]".into()],
        };
        assert!(format(&bad).is_err());
    }

    #[test]
    fn no_arguments_means_built_in_defaults() {
        assert_eq!(build_config(&serve_args(&[])).unwrap(), Config::default());
    }
}
