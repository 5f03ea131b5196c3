//! SASL authentication of a new connection (SaslHandshake, then SaslAuthenticate rounds):
//! PLAIN (RFC 4616) and SCRAM-SHA-256/512 (RFC 5802), the server's signature checked.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;
use sha2::{Digest, Sha256, Sha512};

use super::connection::Connection;
use super::error::{ClientError, Result};
use super::security::{SaslMechanism, Security};

/// Authenticates a freshly negotiated connection (SASL), or does nothing.
pub async fn authenticate(security: &Security, conn: &mut Connection) -> Result<()> {
    if !security.protocol.uses_sasl() {
        return Ok(());
    }
    let mechanism = security.mechanism.unwrap_or(SaslMechanism::Plain);
    let user = security
        .user
        .as_deref()
        .ok_or_else(|| ClientError::Security("SASL needs --user".into()))?;
    let password = security
        .password
        .as_deref()
        .ok_or_else(|| ClientError::Security("SASL needs --password".into()))?;
    let handshake = conn
        .call(|_| {
            SaslHandshakeRequest::default()
                .with_mechanism(StrBytes::from_static_str(mechanism.name()))
        })
        .await?;
    ClientError::check(handshake.error_code, "SaslHandshake", None)?;
    match mechanism {
        SaslMechanism::Plain => {
            let token = format!("\0{user}\0{password}");
            sasl_step(conn, token.into_bytes()).await?;
            Ok(())
        }
        SaslMechanism::ScramSha256 | SaslMechanism::ScramSha512 => {
            scram(conn, mechanism, user, password).await
        }
    }
}

/// One SaslAuthenticate round: sends `bytes`, returns the server's.
async fn sasl_step(conn: &mut Connection, bytes: Vec<u8>) -> Result<Bytes> {
    let response = conn
        .call(|_| SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(bytes)))
        .await?;
    ClientError::check(
        response.error_code,
        "SaslAuthenticate",
        response.error_message.as_deref(),
    )?;
    Ok(response.auth_bytes)
}

fn hmac(mechanism: SaslMechanism, key: &[u8], data: &[u8]) -> Vec<u8> {
    fn run<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
        match <M as KeyInit>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            // HMAC takes keys of any length.
            Err(_) => Vec::new(),
        }
    }
    match mechanism {
        SaslMechanism::ScramSha512 => run::<Hmac<Sha512>>(key, data),
        _ => run::<Hmac<Sha256>>(key, data),
    }
}

fn hash(mechanism: SaslMechanism, data: &[u8]) -> Vec<u8> {
    match mechanism {
        SaslMechanism::ScramSha512 => Sha512::digest(data).to_vec(),
        _ => Sha256::digest(data).to_vec(),
    }
}

fn salted_password(mechanism: SaslMechanism, password: &[u8], salt: &[u8], i: u32) -> Vec<u8> {
    match mechanism {
        SaslMechanism::ScramSha512 => {
            let mut out = vec![0; 64];
            pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, i, &mut out);
            out
        }
        _ => {
            let mut out = vec![0; 32];
            pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, i, &mut out);
            out
        }
    }
}

/// SCRAM's saslname: `=` and `,` escaped.
fn saslname(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

/// The SCRAM exchange (RFC 5802): client-first, server-first, client-final with the proof,
/// and the server's signature checked.
async fn scram(
    conn: &mut Connection,
    mechanism: SaslMechanism,
    user: &str,
    password: &str,
) -> Result<()> {
    let fail = |m: &str| ClientError::Security(format!("{}: {m}", mechanism.name()));
    let mut random = [0u8; 24];
    getrandom::fill(&mut random).map_err(|_| fail("no randomness for a nonce"))?;
    let client_nonce = BASE64.encode(random);
    let first_bare = format!("n={},r={client_nonce}", saslname(user));
    let server_first = sasl_step(conn, format!("n,,{first_bare}").into_bytes()).await?;
    let server_first =
        String::from_utf8(server_first.to_vec()).map_err(|_| fail("server-first not UTF-8"))?;
    let (mut nonce, mut salt, mut iterations) = (None, None, None);
    for field in server_first.split(',') {
        if let Some(v) = field.strip_prefix("r=") {
            nonce = Some(v.to_string());
        } else if let Some(v) = field.strip_prefix("s=") {
            salt = BASE64.decode(v).ok();
        } else if let Some(v) = field.strip_prefix("i=") {
            iterations = v.parse::<u32>().ok();
        }
    }
    let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
        return Err(fail("malformed server-first message"));
    };
    if !nonce.starts_with(&client_nonce) {
        return Err(fail("the server's nonce does not extend ours"));
    }
    let salted = salted_password(mechanism, password.as_bytes(), &salt, iterations);
    let without_proof = format!("c=biws,r={nonce}");
    let auth_message = format!("{first_bare},{server_first},{without_proof}");
    let client_key = hmac(mechanism, &salted, b"Client Key");
    let stored_key = hash(mechanism, &client_key);
    let signature = hmac(mechanism, &stored_key, auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(a, b)| a ^ b)
        .collect();
    let client_final = format!("{without_proof},p={}", BASE64.encode(proof));
    let server_final = sasl_step(conn, client_final.into_bytes()).await?;
    let server_final =
        String::from_utf8(server_final.to_vec()).map_err(|_| fail("server-final not UTF-8"))?;
    let server_key = hmac(mechanism, &salted, b"Server Key");
    let expected = BASE64.encode(hmac(mechanism, &server_key, auth_message.as_bytes()));
    match server_final.strip_prefix("v=") {
        Some(v) if v == expected => Ok(()),
        _ => Err(fail("the server's signature does not match")),
    }
}
