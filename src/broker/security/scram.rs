//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) on the server: the stored credential
//! (salt, StoredKey, ServerKey, iterations) and the two-step exchange, with Kafka's rules and
//! messages (the final message must carry exactly the nonce of the server's first message; a
//! wrong nonce, a bad proof or an unknown user fails without saying which).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::SaslError;

/// Fewest iterations Kafka accepts for a SCRAM credential.
pub const MIN_ITERATIONS: i32 = 4096;
/// Most iterations Kafka accepts for a SCRAM credential.
pub const MAX_ITERATIONS: i32 = 16384;

/// A SCRAM mechanism, numbered as the SCRAM admin APIs number them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScramMechanism {
    /// SCRAM-SHA-256 (code 1).
    Sha256,
    /// SCRAM-SHA-512 (code 2).
    Sha512,
}

impl ScramMechanism {
    /// Both mechanisms.
    pub const ALL: [ScramMechanism; 2] = [ScramMechanism::Sha256, ScramMechanism::Sha512];

    /// The mechanism of an admin API code (1 or 2).
    pub fn from_code(code: i8) -> Option<Self> {
        match code {
            1 => Some(Self::Sha256),
            2 => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The admin API code.
    pub fn code(self) -> i8 {
        match self {
            Self::Sha256 => 1,
            Self::Sha512 => 2,
        }
    }

    /// The SASL mechanism name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SCRAM-SHA-256",
            Self::Sha512 => "SCRAM-SHA-512",
        }
    }

    /// The mechanism of a SASL mechanism name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            // HMAC takes keys of any length, so this never falls back.
            match <M as KeyInit>::new_from_slice(key) {
                Ok(mut mac) => {
                    mac.update(data);
                    mac.finalize().into_bytes().to_vec()
                }
                Err(_) => Vec::new(),
            }
        }
        match self {
            Self::Sha256 => run::<Hmac<Sha256>>(key, data),
            Self::Sha512 => run::<Hmac<Sha512>>(key, data),
        }
    }

    /// `Hi(password, salt, iterations)`: PBKDF2 with this mechanism's HMAC.
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            Self::Sha256 => {
                let mut out = vec![0; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out
            }
            Self::Sha512 => {
                let mut out = vec![0; 64];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
                out
            }
        }
    }
}

/// What the broker keeps of a SCRAM password.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredential {
    /// The salt.
    pub salt: Vec<u8>,
    /// `H(HMAC(SaltedPassword, "Client Key"))`.
    pub stored_key: Vec<u8>,
    /// `HMAC(SaltedPassword, "Server Key")`.
    pub server_key: Vec<u8>,
    /// PBKDF2 iterations.
    pub iterations: i32,
}

impl std::fmt::Debug for ScramCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramCredential")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl ScramCredential {
    /// The credential of a salted password (what AlterUserScramCredentials carries).
    pub fn from_salted_password(
        mechanism: ScramMechanism,
        salted_password: &[u8],
        salt: Vec<u8>,
        iterations: i32,
    ) -> ScramCredential {
        let client_key = mechanism.hmac(salted_password, b"Client Key");
        ScramCredential {
            salt,
            stored_key: mechanism.hash(&client_key),
            server_key: mechanism.hmac(salted_password, b"Server Key"),
            iterations,
        }
    }

    /// The credential of a password with a fresh random salt.
    pub fn from_password(
        mechanism: ScramMechanism,
        password: &str,
        iterations: i32,
    ) -> Result<ScramCredential, SaslError> {
        let mut salt = vec![0u8; 32];
        getrandom::fill(&mut salt)
            .map_err(|e| SaslError::UnacceptableCredential(format!("no random salt: {e}")))?;
        let rounds = u32::try_from(iterations)
            .map_err(|_| SaslError::UnacceptableCredential("Too few iterations".into()))?;
        let salted = mechanism.salted_password(password.as_bytes(), &salt, rounds);
        Ok(Self::from_salted_password(
            mechanism, &salted, salt, iterations,
        ))
    }

    /// The stored form: iterations, then salt, StoredKey and ServerKey, each with a 2-byte
    /// length.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.iterations.to_be_bytes().to_vec();
        for part in [&self.salt, &self.stored_key, &self.server_key] {
            let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(part.get(..usize::from(len)).unwrap_or(part));
        }
        out
    }

    /// Reads [`ScramCredential::encode`]'s form.
    pub fn decode(bytes: &[u8]) -> Option<ScramCredential> {
        let (iterations, mut rest) = bytes.split_first_chunk::<4>()?;
        let mut parts = Vec::with_capacity(3);
        for _ in 0..3 {
            let (len, after) = rest.split_first_chunk::<2>()?;
            let len = usize::from(u16::from_be_bytes(*len));
            parts.push(after.get(..len)?.to_vec());
            rest = after.get(len..)?;
        }
        let server_key = parts.pop()?;
        let stored_key = parts.pop()?;
        let salt = parts.pop()?;
        rest.is_empty().then_some(ScramCredential {
            salt,
            stored_key,
            server_key,
            iterations: i32::from_be_bytes(*iterations),
        })
    }
}

/// The message Kafka sends for an unknown user, a bad proof or a malformed message.
fn invalid_credentials(mechanism: ScramMechanism) -> SaslError {
    SaslError::AuthenticationFailed(format!(
        "Authentication failed during authentication due to invalid credentials with SASL mechanism {}",
        mechanism.name()
    ))
}

/// A SCRAM `saslname` with `=2C` and `=3D` decoded.
fn decode_saslname(name: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = name;
    while let Some(i) = rest.find('=') {
        out.push_str(rest.get(..i)?);
        match rest.get(i..i + 3)? {
            "=2C" => out.push(','),
            "=3D" => out.push('='),
            _ => return None,
        }
        rest = rest.get(i + 3..)?;
    }
    out.push_str(rest);
    Some(out)
}

/// Where a SCRAM exchange is.
#[derive(Debug)]
enum Step {
    /// Waiting for client-first-message.
    ClientFirst,
    /// Sent server-first-message; waiting for client-final-message.
    ClientFinal {
        username: String,
        gs2_header: String,
        client_first_bare: String,
        server_first: String,
        nonce: String,
        credential: Box<ScramCredential>,
        identity: ScramIdentity,
    },
    /// Finished (successfully or not); no more messages are taken.
    Done,
}

/// The server side of one SCRAM exchange.
#[derive(Debug)]
pub struct ScramServer {
    mechanism: ScramMechanism,
    step: Step,
}

/// Who a SCRAM user name stands for, and its credential: a user as itself, or a delegation
/// token (`tokenauth=true`) as the token's owner.
#[derive(Debug, Clone)]
pub struct ScramLookup {
    /// The credential the client's proof is checked against.
    pub credential: ScramCredential,
    /// Who the client authenticates as.
    pub identity: ScramIdentity,
}

/// Who a completed SCRAM exchange authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramIdentity {
    /// The principal name (the user, or the token's owner).
    pub user: String,
    /// Authenticated with a delegation token.
    pub token_authenticated: bool,
    /// When the credential expires (a token's expiry, ms since the epoch).
    pub expires_at_ms: Option<i64>,
}

/// What one step of an exchange gives back.
#[derive(Debug)]
pub enum ScramStep {
    /// The server-first-message; the exchange goes on.
    Continue(Vec<u8>),
    /// The server-final-message; `identity` has authenticated.
    Complete {
        /// The server-final-message (`v=<server signature>`).
        message: Vec<u8>,
        /// Who authenticated.
        identity: ScramIdentity,
    },
}

impl ScramServer {
    /// A new exchange.
    pub fn new(mechanism: ScramMechanism) -> ScramServer {
        ScramServer {
            mechanism,
            step: Step::ClientFirst,
        }
    }

    /// Takes the client's next message; `lookup` finds the credential of a user name (a
    /// delegation token's id when its second argument, `tokenauth`, is true).
    pub fn step(
        &mut self,
        message: &[u8],
        lookup: impl FnOnce(&str, bool) -> Option<ScramLookup>,
    ) -> Result<ScramStep, SaslError> {
        match std::mem::replace(&mut self.step, Step::Done) {
            Step::ClientFirst => self.client_first(message, lookup),
            Step::ClientFinal {
                username,
                gs2_header,
                client_first_bare,
                server_first,
                nonce,
                credential,
                identity,
            } => {
                let text = std::str::from_utf8(message)
                    .map_err(|_| invalid_credentials(self.mechanism))?;
                let (without_proof, proof) = text
                    .rsplit_once(",p=")
                    .ok_or_else(|| invalid_credentials(self.mechanism))?;
                let mut fields = without_proof.split(',');
                let channel = fields
                    .next()
                    .and_then(|f| f.strip_prefix("c="))
                    .ok_or_else(|| invalid_credentials(self.mechanism))?;
                let client_nonce = fields
                    .next()
                    .and_then(|f| f.strip_prefix("r="))
                    .ok_or_else(|| invalid_credentials(self.mechanism))?;
                // Kafka 4 compares the whole nonce (CVE-2024-56128) and, like a bad proof,
                // answers with the generic message (librdkafka before 2.6.1 doubles the
                // client nonce here and is refused the same way).
                if client_nonce != nonce {
                    tracing::debug!("SCRAM: invalid client nonce in the final client message");
                    return Err(invalid_credentials(self.mechanism));
                }
                if BASE64.decode(channel).ok().as_deref() != Some(gs2_header.as_bytes()) {
                    return Err(invalid_credentials(self.mechanism));
                }
                let proof = BASE64
                    .decode(proof)
                    .map_err(|_| invalid_credentials(self.mechanism))?;
                let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
                let client_signature = self
                    .mechanism
                    .hmac(&credential.stored_key, auth_message.as_bytes());
                if proof.len() != client_signature.len() {
                    return Err(invalid_credentials(self.mechanism));
                }
                let client_key: Vec<u8> = proof
                    .iter()
                    .zip(&client_signature)
                    .map(|(a, b)| a ^ b)
                    .collect();
                let computed = self.mechanism.hash(&client_key);
                if !bool::from(computed.ct_eq(&credential.stored_key)) {
                    return Err(invalid_credentials(self.mechanism));
                }
                let server_signature = self
                    .mechanism
                    .hmac(&credential.server_key, auth_message.as_bytes());
                tracing::debug!(user = %username, principal = %identity.user,
                    token = identity.token_authenticated, "SCRAM exchange complete");
                Ok(ScramStep::Complete {
                    message: format!("v={}", BASE64.encode(server_signature)).into_bytes(),
                    identity,
                })
            }
            Step::Done => Err(SaslError::IllegalState(
                "SCRAM exchange already finished".into(),
            )),
        }
    }

    fn client_first(
        &mut self,
        message: &[u8],
        lookup: impl FnOnce(&str, bool) -> Option<ScramLookup>,
    ) -> Result<ScramStep, SaslError> {
        let bad = || invalid_credentials(self.mechanism);
        let text = std::str::from_utf8(message).map_err(|_| bad())?;
        // gs2-header: "n" (no channel binding) or "y", then an optional "a=authzid".
        let mut parts = text.splitn(3, ',');
        let cbind = parts.next().ok_or_else(bad)?;
        let authzid = parts.next().ok_or_else(bad)?;
        let bare = parts.next().ok_or_else(bad)?;
        if cbind != "n" && cbind != "y" {
            return Err(bad());
        }
        let authzid = if authzid.is_empty() {
            None
        } else {
            Some(
                authzid
                    .strip_prefix("a=")
                    .and_then(decode_saslname)
                    .ok_or_else(bad)?,
            )
        };
        let gs2_header = text
            .get(..text.len() - bare.len())
            .ok_or_else(bad)?
            .to_string();
        let mut fields = bare.split(',');
        let username = fields
            .next()
            .and_then(|f| f.strip_prefix("n="))
            .and_then(decode_saslname)
            .ok_or_else(bad)?;
        let client_nonce = fields
            .next()
            .and_then(|f| f.strip_prefix("r="))
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_graphic() && c != ','))
            .ok_or_else(bad)?;
        // Extensions: tokenauth=true names a delegation token (KIP-48); others are ignored.
        let extensions: Vec<&str> = fields.collect();
        if extensions.iter().any(|e| !e.contains('=')) {
            return Err(bad());
        }
        if let Some(a) = &authzid {
            if *a != username {
                return Err(SaslError::AuthenticationFailed("Authentication failed: Client requested an authorization id that is different from username".into()));
            }
        }
        let token_auth = extensions
            .iter()
            .any(|e| e.eq_ignore_ascii_case("tokenauth=true"));
        let ScramLookup {
            credential,
            identity,
        } = lookup(&username, token_auth).ok_or_else(bad)?;
        if credential.iterations < MIN_ITERATIONS {
            return Err(bad());
        }
        let mut random = [0u8; 24];
        getrandom::fill(&mut random).map_err(|_| bad())?;
        let nonce = format!("{client_nonce}{}", BASE64.encode(random));
        let server_first = format!(
            "r={nonce},s={},i={}",
            BASE64.encode(&credential.salt),
            credential.iterations
        );
        let reply = server_first.clone().into_bytes();
        self.step = Step::ClientFinal {
            username,
            gs2_header,
            client_first_bare: bare.to_string(),
            server_first,
            nonce,
            credential: Box::new(credential),
            identity,
        };
        Ok(ScramStep::Continue(reply))
    }
}

/// The client side of SCRAM, for tests and the `format` command's checks: the
/// client-final-message for a server-first-message.
pub fn client_final(
    mechanism: ScramMechanism,
    password: &str,
    client_first_bare: &str,
    server_first: &str,
) -> Option<String> {
    let mut nonce = None;
    let mut salt = None;
    let mut iterations = None;
    for f in server_first.split(',') {
        if let Some(v) = f.strip_prefix("r=") {
            nonce = Some(v);
        } else if let Some(v) = f.strip_prefix("s=") {
            salt = BASE64.decode(v).ok();
        } else if let Some(v) = f.strip_prefix("i=") {
            iterations = v.parse::<u32>().ok();
        }
    }
    let salted = mechanism.salted_password(password.as_bytes(), &salt?, iterations?);
    let without_proof = format!("c=biws,r={}", nonce?);
    let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
    let client_key = mechanism.hmac(&salted, b"Client Key");
    let stored_key = mechanism.hash(&client_key);
    let signature = mechanism.hmac(&stored_key, auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(a, b)| a ^ b)
        .collect();
    Some(format!("{without_proof},p={}", BASE64.encode(proof)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677's SCRAM-SHA-256 example: user "user", password "pencil".
    #[test]
    fn rfc7677_example_keys_and_proof() {
        let m = ScramMechanism::Sha256;
        let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let salted = m.salted_password(b"pencil", &salt, 4096);
        let cred = ScramCredential::from_salted_password(m, &salted, salt, 4096);
        let first_bare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
        let server_first =
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let fin = client_final(m, "pencil", first_bare, server_first).unwrap();
        assert_eq!(
            fin,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        let auth = format!("{first_bare},{server_first},c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
        assert_eq!(
            BASE64.encode(m.hmac(&cred.server_key, auth.as_bytes())),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    /// alice's credential, when asked for as a user (not a token).
    fn as_alice(u: &str, token: bool, cred: &ScramCredential) -> Option<ScramLookup> {
        (u == "alice" && !token).then(|| ScramLookup {
            credential: cred.clone(),
            identity: ScramIdentity {
                user: u.to_string(),
                token_authenticated: false,
                expires_at_ms: None,
            },
        })
    }

    fn exchange(
        m: ScramMechanism,
        cred: &ScramCredential,
        password: &str,
        tamper_nonce: bool,
    ) -> Result<ScramStep, SaslError> {
        let mut s = ScramServer::new(m);
        let first = "n,,n=alice,r=abcdefgh";
        let ScramStep::Continue(server_first) =
            s.step(first.as_bytes(), |u, t| as_alice(u, t, cred))?
        else {
            panic!("expected a server-first-message");
        };
        let server_first = String::from_utf8(server_first).unwrap();
        let mut fin = client_final(m, password, "n=alice,r=abcdefgh", &server_first).unwrap();
        if tamper_nonce {
            fin = fin.replacen("r=abcdefgh", "r=abcdefgX", 1);
        }
        s.step(fin.as_bytes(), |_, _| None)
    }

    #[test]
    fn a_full_exchange_and_its_failures() {
        for m in ScramMechanism::ALL {
            let cred = ScramCredential::from_password(m, "secret", 4096).unwrap();
            match exchange(m, &cred, "secret", false).unwrap() {
                ScramStep::Complete { identity, message } => {
                    assert_eq!(identity.user, "alice");
                    assert!(message.starts_with(b"v="));
                }
                other => panic!("{other:?}"),
            }
            let e = exchange(m, &cred, "wrong", false).unwrap_err();
            assert!(e.to_string().contains("due to invalid credentials"), "{e}");
            let e = exchange(m, &cred, "secret", true).unwrap_err();
            assert!(e.to_string().contains("due to invalid credentials"), "{e}");
            assert_eq!(ScramCredential::decode(&cred.encode()), Some(cred));
        }
    }

    #[test]
    fn malformed_first_messages_and_unknown_users_fail() {
        let m = ScramMechanism::Sha512;
        for bad in [
            &b"garbage"[..],
            b"p=x,,n=alice,r=abc",
            b"n,,r=abc",
            b"n,,n=alice,r=",
            b"n,,n=bob,r=abc",
            b"n,,n=al=ZZice,r=abc",
            &[0xff, 0xfe],
        ] {
            let mut s = ScramServer::new(m);
            let cred = ScramCredential::from_password(m, "x", 4096).unwrap();
            let r = s.step(bad, |u, t| as_alice(u, t, &cred));
            assert!(
                matches!(r, Err(SaslError::AuthenticationFailed(_))),
                "{bad:?}"
            );
            assert!(s.step(b"anything", |_, _| None).is_err());
        }
    }
}
