//! SASL exchanges (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) against one connection's session,
//! as the connection drives it. The input is a run of steps (`[tag][len: u16][bytes]`):
//! - 0: SaslHandshake: the first byte picks a mechanism (or the rest is used as a name),
//!   the second the request version;
//! - 1: a token, as it comes;
//! - 2: a SCRAM client-first-message for alice, the bytes appended to it;
//! - 3: the client-final-message for the last server-first-message, made with a password
//!   from the bytes (alice's when empty);
//! - 4: the connection fails the exchange (an oversized frame).
//!
//! Oracle: no panic; a session completes only as alice, and only with alice's password
//! (PLAIN) or a proof made from it (SCRAM); a failed session stays failed.
#![no_main]

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use skiff::broker::security::credentials::{CredentialChange, ScramCredentials};
use skiff::broker::security::sasl::{SaslConfig, SaslSession, Stage, SUPPORTED_MECHANISMS};
use skiff::broker::security::scram::{client_final, ScramCredential, ScramMechanism};
use skiff_fuzz::{encode_pieces, Pieces};

const USER: &str = "alice";
const PASSWORD: &str = "alice-secret";

fn config() -> Arc<SaslConfig> {
    static CONFIG: OnceLock<Arc<SaslConfig>> = OnceLock::new();
    Arc::clone(CONFIG.get_or_init(|| {
        let credentials = ScramCredentials::open(None).expect("in-memory credentials");
        let mut changes = Vec::new();
        for mechanism in [ScramMechanism::Sha256, ScramMechanism::Sha512] {
            // One PBKDF2 iteration keeps each run cheap; the exchange is the same.
            let salt = b"fuzz-salt".to_vec();
            let salted = mechanism.salted_password(PASSWORD.as_bytes(), &salt, 1);
            changes.push(CredentialChange::Upsert {
                user: USER.into(),
                mechanism,
                credential: ScramCredential::from_salted_password(mechanism, &salted, salt, 1),
            });
        }
        credentials.apply(&changes).expect("credentials");
        Arc::new(SaslConfig {
            mechanisms: SUPPORTED_MECHANISMS.iter().map(|m| m.to_string()).collect(),
            plain_users: BTreeMap::from([(USER.to_string(), PASSWORD.to_string())]),
            failed_authentication_delay: Duration::ZERO,
            credentials: Arc::new(credentials),
        })
    }))
}

fn seeds() -> Vec<(String, Vec<u8>)> {
    let plain = format!("\0{USER}\0{PASSWORD}");
    vec![
        (
            "plain".into(),
            encode_pieces(&[(0, &[0, 1]), (1, plain.as_bytes())]),
        ),
        (
            "plain-v0".into(),
            encode_pieces(&[(0, &[0, 0]), (1, plain.as_bytes())]),
        ),
        (
            "scram-256".into(),
            encode_pieces(&[(0, &[1, 1]), (2, b""), (3, b"")]),
        ),
        (
            "scram-512".into(),
            encode_pieces(&[(0, &[2, 1]), (2, b""), (3, b"")]),
        ),
        (
            "scram-raw".into(),
            encode_pieces(&[
                (0, &[1, 1]),
                (1, b"n,,n=alice,r=abcdefgh"),
                (1, b"c=biws,r=abcdefgh,p=AAAA"),
            ]),
        ),
    ]
}

fuzz_target!(
    init: {
        if let Some(dir) = skiff_fuzz::seed_dir() {
            skiff_fuzz::write_seeds(&dir, &seeds());
        }
        let _ = config();
    },
    |data: &[u8]| {
        let session = SaslSession::new(config());
        let mut mechanism: Option<ScramMechanism> = None;
        let mut plain_chosen = false;
        let mut client_first_bare: Option<String> = None;
        let mut server_first: Option<String> = None;
        // Whether the token just sent is a SCRAM final made with alice's password.
        let mut right_proof;
        for (tag, bytes) in Pieces::new(data).take(16) {
            let was_failed = session.stage() == Stage::Failed;
            right_proof = false;
            let token: Vec<u8> = match tag % 5 {
                0 => {
                    let name = match bytes.first() {
                        Some(b) if usize::from(*b) < SUPPORTED_MECHANISMS.len() => {
                            SUPPORTED_MECHANISMS[usize::from(*b)].to_string()
                        }
                        _ => String::from_utf8_lossy(bytes).to_string(),
                    };
                    let version = i16::from(bytes.get(1).copied().unwrap_or(1) % 3);
                    if session.handshake(&name, version).is_ok() {
                        mechanism = ScramMechanism::from_name(&name);
                        plain_chosen = name == "PLAIN";
                    }
                    continue;
                }
                1 => bytes.to_vec(),
                2 => {
                    let bare = format!("n={USER},r=fuzznonce");
                    let mut token = format!("n,,{bare}").into_bytes();
                    token.extend_from_slice(bytes);
                    client_first_bare = Some(format!("{bare}{}", String::from_utf8_lossy(bytes)));
                    token
                }
                3 => {
                    let password = if bytes.is_empty() {
                        PASSWORD.to_string()
                    } else {
                        String::from_utf8_lossy(bytes).to_string()
                    };
                    right_proof = password == PASSWORD;
                    let (Some(m), Some(bare), Some(first)) =
                        (mechanism, client_first_bare.as_deref(), server_first.as_deref())
                    else {
                        continue;
                    };
                    client_final(m, &password, bare, first)
                        .unwrap_or_default()
                        .into_bytes()
                }
                _ => {
                    session.fail();
                    continue;
                }
            };
            let reply = session.authenticate(&token);
            if was_failed {
                assert!(reply.is_err(), "a failed session accepted a token");
            }
            match (&reply, session.stage()) {
                (Ok(r), Stage::Authenticate | Stage::RawTokens) => {
                    server_first = Some(String::from_utf8_lossy(r).to_string());
                }
                (Ok(_), Stage::Complete(principal)) => {
                    assert_eq!(principal.to_string(), format!("User:{USER}"));
                    if plain_chosen {
                        let expected = format!("\0{USER}\0{PASSWORD}");
                        assert!(
                            token == expected.as_bytes()
                                || token == format!("{USER}\0{USER}\0{PASSWORD}").as_bytes(),
                            "PLAIN completed with {token:?}"
                        );
                    } else {
                        assert!(right_proof, "SCRAM completed without a proof from the password");
                    }
                }
                _ => {}
            }
        }
    }
);
