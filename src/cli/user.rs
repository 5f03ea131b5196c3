//! `skiff user list|create|delete`: SCRAM credentials through
//! DescribeUserScramCredentials and AlterUserScramCredentials. The password is salted here
//! (PBKDF2, as Kafka's Admin client does); only the salted password goes to the broker.

use bytes::Bytes;
use clap::{Subcommand, ValueEnum};
use kafka_protocol::messages::alter_user_scram_credentials_request::{
    AlterUserScramCredentialsRequest, ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::describe_user_scram_credentials_request::DescribeUserScramCredentialsRequest;
use serde_json::{json, Value};
use sha2::{Sha256, Sha512};

use super::cluster_view::str_bytes;
use super::output::{Output, Table};
use super::CliError;
use crate::client::{Client, ClientError};

/// SCRAM mechanisms.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Mechanism {
    /// SCRAM-SHA-256.
    #[value(name = "SCRAM-SHA-256")]
    ScramSha256,
    /// SCRAM-SHA-512.
    #[value(name = "SCRAM-SHA-512")]
    ScramSha512,
}

impl Mechanism {
    /// The mechanism's id in the SCRAM admin APIs.
    fn id(self) -> i8 {
        match self {
            Mechanism::ScramSha256 => 1,
            Mechanism::ScramSha512 => 2,
        }
    }

    /// `Hi(password, salt, iterations)` (RFC 5802).
    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            Mechanism::ScramSha256 => {
                let mut out = vec![0; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out
            }
            Mechanism::ScramSha512 => {
                let mut out = vec![0; 64];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
                out
            }
        }
    }
}

/// Kafka's name of a SCRAM mechanism id.
fn mechanism_name(id: i8) -> &'static str {
    match id {
        1 => "SCRAM-SHA-256",
        2 => "SCRAM-SHA-512",
        _ => "UNKNOWN",
    }
}

/// `skiff user …`.
#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// List SCRAM users and their mechanisms.
    List,
    /// Create a SCRAM user, or change its password.
    Create {
        /// User name.
        name: String,
        /// Password.
        #[arg(
            long = "new-password",
            value_name = "PASSWORD",
            env = "SKIFF_NEW_PASSWORD"
        )]
        password: String,
        /// Mechanism.
        #[arg(long, value_enum, default_value = "SCRAM-SHA-512")]
        mechanism: Mechanism,
        /// PBKDF2 iterations (Kafka's minimum is 4096).
        #[arg(long, default_value_t = 8192)]
        iterations: u32,
    },
    /// Delete a SCRAM user's credential.
    Delete {
        /// User name.
        name: String,
        /// Mechanism.
        #[arg(long, value_enum, default_value = "SCRAM-SHA-512")]
        mechanism: Mechanism,
    },
}

/// Runs `skiff user …`.
pub async fn run(cmd: UserCommand, client: &mut Client, out: Output) -> Result<(), CliError> {
    match cmd {
        UserCommand::List => {
            let response = client
                .call(|_| DescribeUserScramCredentialsRequest::default().with_users(None))
                .await?;
            ClientError::check(
                response.error_code,
                "DescribeUserScramCredentials",
                response.error_message.as_deref(),
            )?;
            let mut users = Vec::new();
            for r in &response.results {
                ClientError::check(
                    r.error_code,
                    format!("user {}", r.user.as_str()),
                    r.error_message.as_deref(),
                )?;
                let creds: Vec<Value> = r
                    .credential_infos
                    .iter()
                    .map(|c| json!({"mechanism": mechanism_name(c.mechanism), "iterations": c.iterations}))
                    .collect();
                users.push(json!({"user": r.user.to_string(), "credentials": creds}));
            }
            users.sort_by_key(|u| u.get("user").map(Value::to_string));
            out.emit(&Value::Array(users.clone()), || {
                let mut t = Table::new(&["user", "mechanisms"]);
                for u in &users {
                    let mechs = u
                        .get("credentials")
                        .and_then(Value::as_array)
                        .map(|cs| {
                            cs.iter()
                                .map(|c| {
                                    format!(
                                        "{}({})",
                                        c.get("mechanism").and_then(Value::as_str).unwrap_or(""),
                                        c.get("iterations")
                                            .map(Value::to_string)
                                            .unwrap_or_default()
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .unwrap_or_default();
                    t.row(vec![
                        u.get("user")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        mechs,
                    ]);
                }
                t
            })?;
        }
        UserCommand::Create {
            name,
            password,
            mechanism,
            iterations,
        } => {
            let mut salt = vec![0u8; 32];
            getrandom::fill(&mut salt)
                .map_err(|e| CliError::Usage(format!("no randomness for a salt: {e}")))?;
            let salted = mechanism.salted_password(password.as_bytes(), &salt, iterations);
            let request = AlterUserScramCredentialsRequest::default().with_upsertions(vec![
                ScramCredentialUpsertion::default()
                    .with_name(str_bytes(&name))
                    .with_mechanism(mechanism.id())
                    .with_iterations(i32::try_from(iterations).unwrap_or(i32::MAX))
                    .with_salt(Bytes::from(salt))
                    .with_salted_password(Bytes::from(salted)),
            ]);
            alter(client, request, &name).await?;
            let v = json!({"user": name, "mechanism": mechanism_name(mechanism.id()), "iterations": iterations});
            out.emit(&v, || {
                Table::default()
                    .note("user", &name)
                    .note("credential set", mechanism_name(mechanism.id()))
            })?;
        }
        UserCommand::Delete { name, mechanism } => {
            let request = AlterUserScramCredentialsRequest::default().with_deletions(vec![
                ScramCredentialDeletion::default()
                    .with_name(str_bytes(&name))
                    .with_mechanism(mechanism.id()),
            ]);
            alter(client, request, &name).await?;
            let v =
                json!({"user": name, "mechanism": mechanism_name(mechanism.id()), "deleted": true});
            out.emit(&v, || {
                Table::default()
                    .note("user", &name)
                    .note("credential deleted", mechanism_name(mechanism.id()))
            })?;
        }
    }
    Ok(())
}

/// AlterUserScramCredentials goes to the controller in Kafka; any broker forwards it.
async fn alter(
    client: &mut Client,
    request: AlterUserScramCredentialsRequest,
    name: &str,
) -> Result<(), CliError> {
    let response = client.call(|_| request).await?;
    for r in response.results {
        ClientError::check(
            r.error_code,
            format!("user {name}"),
            r.error_message.as_deref(),
        )?;
    }
    Ok(())
}
