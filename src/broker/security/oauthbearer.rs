//! SASL/OAUTHBEARER (RFC 7628, KIP-255, KIP-768) on the server: the client's first message
//! (`n,[a=authzid],` then `auth=Bearer <token>` and extensions, each ended by `\x01`), and
//! the token it carries checked as Kafka checks it:
//! - by default with Kafka's unsecured validator (development only): an unsigned JWT
//!   (`alg` `none`, empty signature) whose principal claim (`sub`), `exp` and optional
//!   `iat` and scope are checked, with the JAAS options `unsecuredValidatorPrincipalClaimName`,
//!   `unsecuredValidatorScopeClaimName`, `unsecuredValidatorRequiredScope` and
//!   `unsecuredValidatorAllowableClockSkewMs`;
//! - with Kafka's `OAuthBearerValidatorCallbackHandler` configured, a signed JWT (RS256/384/512,
//!   ES256/384) checked against the keys of a JWKS file (`sasl.oauthbearer.jwks.endpoint.url`
//!   as a `file:` URL), with `exp`, `iat`, the subject claim, and the expected audience and
//!   issuer when set.
//!
//! A token that fails is answered as Kafka answers it: a JSON error (`{"status":"invalid_token"}`)
//! as the server's challenge; the client then sends `\x01` and the exchange fails with
//! SASL_AUTHENTICATION_FAILED.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::signature::{self, UnparsedPublicKey};
use serde_json::Value;

use super::SaslError;

/// Kafka's login module for OAUTHBEARER, named by the listener's JAAS line.
pub const OAUTHBEARER_LOGIN_MODULE: &str =
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";

/// The server callback handler class names that turn on JWKS validation (Kafka 4's name
/// and the `secured` package's name of Kafka 3.x).
pub const VALIDATOR_CALLBACK_HANDLERS: &[&str] = &[
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler",
    "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerValidatorCallbackHandler",
];

/// The error status of a token that does not validate.
const INVALID_TOKEN: &str = "invalid_token";
/// The error status of a token that lacks a required scope.
const INSUFFICIENT_SCOPE: &str = "insufficient_scope";
/// The control-A byte that separates the first message's fields, and that a client sends
/// alone after an error challenge.
const SEPARATOR: u8 = 0x01;

/// How a listener validates OAUTHBEARER tokens.
#[derive(Debug, Clone)]
pub enum TokenValidator {
    /// Kafka's unsecured validator (unsigned JWTs, for development).
    Unsecured(UnsecuredOptions),
    /// Signed JWTs checked against a JWKS.
    Jwks(Box<JwksValidator>),
}

/// The options of Kafka's unsecured validator (its JAAS options).
#[derive(Debug, Clone)]
pub struct UnsecuredOptions {
    /// The claim naming the principal (`sub`).
    pub principal_claim: String,
    /// The claim holding the scope (`scope`).
    pub scope_claim: String,
    /// Scopes a token must have.
    pub required_scope: Vec<String>,
    /// Clock skew allowed on `exp` and `iat`, in milliseconds.
    pub allowable_clock_skew_ms: i64,
}

impl Default for UnsecuredOptions {
    fn default() -> Self {
        UnsecuredOptions {
            principal_claim: "sub".into(),
            scope_claim: "scope".into(),
            required_scope: Vec::new(),
            allowable_clock_skew_ms: 0,
        }
    }
}

impl UnsecuredOptions {
    /// The options from a JAAS line's options; an invalid value is a configuration error.
    pub fn from_jaas(options: &BTreeMap<String, String>) -> Result<UnsecuredOptions, String> {
        let mut out = UnsecuredOptions::default();
        let get = |k: &str| {
            options
                .get(&format!("unsecuredValidator{k}"))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        if let Some(v) = get("PrincipalClaimName") {
            out.principal_claim = v;
        }
        if let Some(v) = get("ScopeClaimName") {
            out.scope_claim = v;
        }
        if let Some(v) = get("RequiredScope") {
            out.required_scope = v
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
        }
        if let Some(v) = get("AllowableClockSkewMs") {
            let ms: i64 = v.parse().map_err(|_| {
                format!("Invalid value for unsecuredValidatorAllowableClockSkewMs: {v}")
            })?;
            if ms < 0 {
                return Err(format!(
                    "Invalid value for unsecuredValidatorAllowableClockSkewMs: {v}"
                ));
            }
            out.allowable_clock_skew_ms = ms;
        }
        Ok(out)
    }
}

/// A JWKS validator's settings and keys.
#[derive(Debug, Clone)]
pub struct JwksValidator {
    /// The JWKS file.
    pub jwks_path: PathBuf,
    /// The keys read from it, by key id.
    pub keys: Vec<Jwk>,
    /// `sasl.oauthbearer.expected.audience`: the token's `aud` must name one (if set).
    pub expected_audience: Vec<String>,
    /// `sasl.oauthbearer.expected.issuer`: the token's `iss` must equal it (if set).
    pub expected_issuer: Option<String>,
    /// `sasl.oauthbearer.sub.claim.name`.
    pub sub_claim: String,
    /// `sasl.oauthbearer.scope.claim.name`.
    pub scope_claim: String,
    /// `sasl.oauthbearer.clock.skew.seconds`.
    pub clock_skew_s: i64,
}

/// One public key of a JWKS.
#[derive(Debug, Clone)]
pub struct Jwk {
    /// `kid`, if the key has one.
    pub kid: Option<String>,
    /// The key.
    pub key: JwkKey,
}

/// The key material of a [`Jwk`].
#[derive(Debug, Clone)]
pub enum JwkKey {
    /// An RSA key: modulus and exponent, big-endian.
    Rsa {
        /// `n`.
        n: Vec<u8>,
        /// `e`.
        e: Vec<u8>,
    },
    /// An EC key as an uncompressed point (`04 || x || y`) on `crv`.
    Ec {
        /// `P-256` or `P-384`.
        crv: String,
        /// The uncompressed point.
        point: Vec<u8>,
    },
}

impl JwksValidator {
    /// Reads the JWKS at `url` (a `file:` URL or a plain path).
    pub fn load(url: &str) -> Result<Vec<Jwk>, String> {
        let path = jwks_path(url)?;
        parse_jwks(&path)
    }
}

/// The file a `file:` JWKS URL names; other schemes are refused (Skiff does not fetch
/// keys over HTTP).
pub fn jwks_path(url: &str) -> Result<PathBuf, String> {
    if let Some(rest) = url.strip_prefix("file://") {
        return Ok(PathBuf::from(rest));
    }
    if let Some(rest) = url.strip_prefix("file:") {
        return Ok(PathBuf::from(rest));
    }
    if url.contains("://") {
        return Err(format!(
            "sasl.oauthbearer.jwks.endpoint.url {url}: only file: URLs are supported"
        ));
    }
    Ok(PathBuf::from(url))
}

fn parse_jwks(path: &Path) -> Result<Vec<Jwk>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the JWKS {}: {e}", path.display()))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| format!("the JWKS {} is not JSON: {e}", path.display()))?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("the JWKS {} has no keys array", path.display()))?;
    let b64 = |k: &Value, name: &str| -> Result<Vec<u8>, String> {
        let s = k
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("a JWKS key lacks {name}"))?;
        b64url(s).ok_or_else(|| format!("a JWKS key's {name} is not base64url"))
    };
    let mut out = Vec::new();
    for k in keys {
        let kid = k.get("kid").and_then(Value::as_str).map(String::from);
        let key = match k.get("kty").and_then(Value::as_str) {
            Some("RSA") => JwkKey::Rsa {
                n: b64(k, "n")?,
                e: b64(k, "e")?,
            },
            Some("EC") => {
                let crv = k
                    .get("crv")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let mut point = vec![4u8];
                point.extend(b64(k, "x")?);
                point.extend(b64(k, "y")?);
                JwkKey::Ec { crv, point }
            }
            // Keys of other types (oct, OKP) cannot check the tokens Kafka accepts.
            _ => continue,
        };
        out.push(Jwk { kid, key });
    }
    Ok(out)
}

fn b64url(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
        .or_else(|| URL_SAFE.decode(s).ok())
}

/// A token that validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidToken {
    /// The principal name (the principal or subject claim).
    pub principal: String,
    /// When the token expires, in milliseconds since the epoch.
    pub expires_at_ms: i64,
}

/// Why a token failed: the status and scope of the JSON challenge, and the reason (logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRejected {
    /// `invalid_token` or `insufficient_scope`.
    pub status: &'static str,
    /// The scope that was missing, for `insufficient_scope`.
    pub scope: Option<String>,
    /// Why (for the broker's log).
    pub reason: String,
}

fn invalid(reason: impl Into<String>) -> TokenRejected {
    TokenRejected {
        status: INVALID_TOKEN,
        scope: None,
        reason: reason.into(),
    }
}

impl TokenRejected {
    /// The JSON challenge Kafka sends for it.
    pub fn challenge(&self) -> String {
        let mut out = format!("{{\"status\":\"{}\"", self.status);
        if let Some(scope) = &self.scope {
            out.push_str(&format!(", \"scope\":\"{scope}\""));
        }
        out.push('}');
        out
    }
}

/// The parts of a compact JWT.
struct Jwt<'a> {
    header: serde_json::Map<String, Value>,
    claims: serde_json::Map<String, Value>,
    signing_input: &'a str,
    signature: &'a str,
}

fn parse_jwt(token: &str) -> Result<Jwt<'_>, TokenRejected> {
    if token.contains("..") {
        return Err(invalid("malformed compact serialization contains '..'"));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err(invalid(format!(
            "malformed compact serialization: {} parts",
            parts.len()
        )));
    };
    let json = |part: &str| -> Result<serde_json::Map<String, Value>, TokenRejected> {
        let bytes = b64url(part).ok_or_else(|| invalid("malformed base64url"))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(invalid("malformed JSON")),
        }
    };
    let signing_input = token
        .rsplit_once('.')
        .map(|(input, _)| input)
        .unwrap_or_default();
    Ok(Jwt {
        header: json(header)?,
        claims: json(claims)?,
        signing_input,
        signature,
    })
}

/// A number claim in seconds as milliseconds (`None` if absent; an error if not a number).
fn seconds_claim(
    claims: &serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<f64>, TokenRejected> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64().map(|s| s * 1000.0)),
        Some(other) => Err(invalid(format!(
            "The {name} claim had the incorrect type: {}",
            json_type(other)
        ))),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "List",
        Value::Object(_) => "Map",
    }
}

/// A scope claim: a space-delimited string or a list of strings.
fn scope_of(claims: &serde_json::Map<String, Value>, name: &str) -> Vec<String> {
    match claims.get(name) {
        Some(Value::String(s)) => s
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

/// `exp` (required) and `iat` (optional) against `now_ms` with `skew_ms`.
fn check_times(
    claims: &serde_json::Map<String, Value>,
    now_ms: i64,
    skew_ms: i64,
) -> Result<i64, TokenRejected> {
    let exp =
        seconds_claim(claims, "exp")?.ok_or_else(|| invalid("Required claim missing: exp"))?;
    if let Some(iat) = seconds_claim(claims, "iat")? {
        if iat > (now_ms + skew_ms) as f64 {
            return Err(invalid(format!(
                "The Issued At value ({}) is after the current time ({now_ms}) plus the allowable clock skew",
                iat as i64
            )));
        }
        if exp <= iat {
            return Err(invalid(
                "The token's expiration time is not after its issued-at time",
            ));
        }
    }
    if (now_ms - skew_ms) as f64 >= exp {
        return Err(invalid(format!(
            "The indicated time ({now_ms}) is at or after the token's expiration time ({}) minus the allowable clock skew",
            exp as i64
        )));
    }
    Ok(exp as i64)
}

impl TokenValidator {
    /// Validates `token` at `now_ms` (milliseconds since the epoch).
    pub fn validate(&self, token: &str, now_ms: i64) -> Result<ValidToken, TokenRejected> {
        match self {
            TokenValidator::Unsecured(o) => validate_unsecured(o, token, now_ms),
            TokenValidator::Jwks(v) => validate_signed(v, token, now_ms),
        }
    }
}

fn validate_unsecured(
    o: &UnsecuredOptions,
    token: &str,
    now_ms: i64,
) -> Result<ValidToken, TokenRejected> {
    let jwt = parse_jwt(token)?;
    match jwt.header.get("alg") {
        Some(Value::String(alg)) if alg == "none" => {}
        Some(_) => {
            return Err(invalid(
                "Unsecured JWS compact serializations must have alg=none",
            ))
        }
        None => return Err(invalid("JWS header must have an Algorithm value")),
    }
    if !jwt.signature.is_empty() {
        return Err(invalid(
            "Unsecured JWS compact serializations must have an empty digital signature",
        ));
    }
    let principal = match jwt.claims.get(&o.principal_claim) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::String(_)) | None => {
            return Err(invalid(format!(
                "No principal name in JWT claim: {}",
                o.principal_claim
            )))
        }
        Some(other) => {
            return Err(invalid(format!(
                "The {} claim had the incorrect type: {}",
                o.principal_claim,
                json_type(other)
            )))
        }
    };
    let expires_at_ms = check_times(&jwt.claims, now_ms, o.allowable_clock_skew_ms)?;
    let scope = scope_of(&jwt.claims, &o.scope_claim);
    if let Some(missing) = o.required_scope.iter().find(|s| !scope.contains(s)) {
        return Err(TokenRejected {
            status: INSUFFICIENT_SCOPE,
            scope: Some(o.required_scope.join(" ")),
            reason: format!("The provided scope lacks a required scope: {missing}"),
        });
    }
    Ok(ValidToken {
        principal,
        expires_at_ms,
    })
}

fn validate_signed(
    v: &JwksValidator,
    token: &str,
    now_ms: i64,
) -> Result<ValidToken, TokenRejected> {
    let jwt = parse_jwt(token)?;
    let alg = jwt
        .header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("JWS header must have an Algorithm value"))?;
    let kid = jwt.header.get("kid").and_then(Value::as_str);
    let signature = b64url(jwt.signature).ok_or_else(|| invalid("malformed signature"))?;
    let candidates = v
        .keys
        .iter()
        .filter(|k| kid.is_none() || k.kid.as_deref() == kid);
    let mut verified = false;
    for k in candidates {
        if verify(alg, &k.key, jwt.signing_input.as_bytes(), &signature) {
            verified = true;
            break;
        }
    }
    if !verified {
        return Err(invalid(format!(
            "Unable to verify the token's signature (alg {alg}, kid {})",
            kid.unwrap_or("-")
        )));
    }
    let skew_ms = v.clock_skew_s.saturating_mul(1000);
    let expires_at_ms = check_times(&jwt.claims, now_ms, skew_ms)?;
    let principal = match jwt.claims.get(&v.sub_claim) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            return Err(invalid(format!(
                "The {} claim is missing or blank",
                v.sub_claim
            )))
        }
    };
    if !v.expected_audience.is_empty() {
        let aud: Vec<String> = match jwt.claims.get("aud") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            _ => Vec::new(),
        };
        if !aud.iter().any(|a| v.expected_audience.contains(a)) {
            return Err(invalid(format!(
                "Audience {aud:?} is not one of {:?}",
                v.expected_audience
            )));
        }
    }
    if let Some(issuer) = &v.expected_issuer {
        if jwt.claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(invalid(format!("Issuer is not {issuer}")));
        }
    }
    Ok(ValidToken {
        principal,
        expires_at_ms,
    })
}

fn verify(alg: &str, key: &JwkKey, message: &[u8], sig: &[u8]) -> bool {
    match key {
        JwkKey::Rsa { n, e } => {
            let params: &signature::RsaParameters = match alg {
                "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
                "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
                "RS512" => &signature::RSA_PKCS1_2048_8192_SHA512,
                "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
                "PS384" => &signature::RSA_PSS_2048_8192_SHA384,
                "PS512" => &signature::RSA_PSS_2048_8192_SHA512,
                _ => return false,
            };
            signature::RsaPublicKeyComponents { n, e }
                .verify(params, message, sig)
                .is_ok()
        }
        JwkKey::Ec { crv, point } => {
            let params: &dyn signature::VerificationAlgorithm = match (alg, crv.as_str()) {
                ("ES256", "P-256") => &signature::ECDSA_P256_SHA256_FIXED,
                ("ES384", "P-384") => &signature::ECDSA_P384_SHA384_FIXED,
                _ => return false,
            };
            UnparsedPublicKey::new(params, point)
                .verify(message, sig)
                .is_ok()
        }
    }
}

/// The client's first message: its token, authorization id and extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInitialResponse {
    /// The bearer token.
    pub token: String,
    /// The authorization id (`a=`), empty if none.
    pub authorization_id: String,
    /// The SASL extensions (KIP-342).
    pub extensions: BTreeMap<String, String>,
}

/// What Kafka tells a client whose SASL message did not parse (the detail stays in the
/// broker's log, as Kafka keeps it out of the answer).
pub const INVALID_CREDENTIALS: &str =
    "Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER";

fn first_message_invalid(detail: &str) -> SaslError {
    tracing::debug!("Invalid OAUTHBEARER client first message{detail}");
    SaslError::AuthenticationFailed(INVALID_CREDENTIALS.to_string())
}

/// Parses the client's first message as Kafka's `OAuthBearerClientInitialResponse` does.
pub fn parse_initial_response(message: &[u8]) -> Result<ClientInitialResponse, SaslError> {
    let text = std::str::from_utf8(message).map_err(|_| first_message_invalid(""))?;
    let rest = text
        .strip_prefix("n,")
        .ok_or_else(|| first_message_invalid(""))?;
    let (authzid, rest) = rest
        .split_once(',')
        .ok_or_else(|| first_message_invalid(""))?;
    let authorization_id = match authzid {
        "" => String::new(),
        a => a
            .strip_prefix("a=")
            .filter(|name| !name.is_empty() && valid_saslname(name))
            .ok_or_else(|| first_message_invalid(""))?
            .replace("=2C", ",")
            .replace("=3D", "="),
    };
    let sep = char::from(SEPARATOR);
    // `\x01`, then `key=value\x01` pairs, then a closing `\x01`.
    let body = rest
        .strip_prefix(sep)
        .and_then(|r| r.strip_suffix(sep))
        .ok_or_else(|| first_message_invalid(""))?;
    let pairs = match body {
        "" => "",
        b => b
            .strip_suffix(sep)
            .ok_or_else(|| first_message_invalid(""))?,
    };
    let mut extensions = BTreeMap::new();
    let mut auth = None;
    for pair in pairs.split(sep).filter(|_| !pairs.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| first_message_invalid(""))?;
        let key_ok = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphabetic());
        let value_ok = !value.is_empty()
            && value
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) || matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
        if !key_ok || !value_ok {
            return Err(first_message_invalid(""));
        }
        if key == "auth" {
            auth = Some(value.to_string());
        } else {
            extensions.insert(key.to_string(), value.to_string());
        }
    }
    let auth = auth.ok_or_else(|| first_message_invalid(": 'auth' not specified"))?;
    let (scheme, token) = auth
        .split_once(' ')
        .map(|(s, t)| (s, t.trim_start_matches(' ')))
        .ok_or_else(|| first_message_invalid(": invalid 'auth' format"))?;
    let token_ok = !token.is_empty()
        && token
            .trim_end_matches('=')
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_~+/.".contains(&b));
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        || !token_ok
    {
        return Err(first_message_invalid(": invalid 'auth' format"));
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(first_message_invalid(&format!(
            ": invalid scheme in 'auth': {scheme}"
        )));
    }
    Ok(ClientInitialResponse {
        token: token.to_string(),
        authorization_id,
        extensions,
    })
}

/// RFC 5802's saslname: ASCII except `=` and `,`, which appear escaped as `=2C` and `=3D`.
fn valid_saslname(name: &str) -> bool {
    let unescaped = name.replace("=2C", "").replace("=3D", "");
    unescaped
        .chars()
        .all(|c| ('\u{1}'..='\u{7f}').contains(&c) && c != '=' && c != ',')
}

/// What one OAUTHBEARER step gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthStep {
    /// Authenticated: the token's principal and expiry.
    Complete(ValidToken),
    /// The token failed: this JSON challenge goes back; the client's `\x01` ends the
    /// exchange with the failure.
    Challenge(Vec<u8>),
}

/// One connection's OAUTHBEARER exchange.
#[derive(Debug, Default)]
pub struct OAuthBearerServer {
    error: Option<String>,
}

impl OAuthBearerServer {
    /// A new exchange.
    pub fn new() -> OAuthBearerServer {
        OAuthBearerServer::default()
    }

    /// Takes one client message.
    pub fn step(
        &mut self,
        message: &[u8],
        validator: &TokenValidator,
        now_ms: i64,
    ) -> Result<OAuthStep, SaslError> {
        if message == [SEPARATOR] {
            if let Some(error) = self.error.take() {
                return Err(SaslError::AuthenticationFailed(error));
            }
        }
        self.error = None;
        let first = parse_initial_response(message)?;
        match validator.validate(&first.token, now_ms) {
            Ok(token) => {
                if !first.authorization_id.is_empty() && first.authorization_id != token.principal {
                    return Err(SaslError::AuthenticationFailed(format!(
                        "Authentication failed: Client requested an authorization id ({}) that is different from the token's principal name ({})",
                        first.authorization_id, token.principal
                    )));
                }
                Ok(OAuthStep::Complete(token))
            }
            Err(rejected) => {
                tracing::debug!(reason = %rejected.reason, "OAUTHBEARER token rejected");
                let challenge = rejected.challenge();
                self.error = Some(challenge.clone());
                Ok(OAuthStep::Challenge(challenge.into_bytes()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(v: &str) -> String {
        URL_SAFE_NO_PAD.encode(v)
    }

    fn unsecured(claims: &str) -> String {
        format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(claims))
    }

    fn message(token: &str) -> Vec<u8> {
        format!("n,,\x01auth=Bearer {token}\x01\x01").into_bytes()
    }

    const NOW: i64 = 1_700_000_000_000;

    #[test]
    fn unsecured_token_authenticates_its_subject() {
        let v = TokenValidator::Unsecured(UnsecuredOptions::default());
        let token = unsecured(r#"{"sub":"alice","iat":1699999999,"exp":1700003600}"#);
        let mut s = OAuthBearerServer::new();
        let step = s.step(&message(&token), &v, NOW).unwrap();
        assert_eq!(
            step,
            OAuthStep::Complete(ValidToken {
                principal: "alice".into(),
                expires_at_ms: 1_700_003_600_000
            })
        );
    }

    #[test]
    fn expired_token_gets_the_challenge_then_fails() {
        let v = TokenValidator::Unsecured(UnsecuredOptions::default());
        let token = unsecured(r#"{"sub":"alice","exp":1699999000}"#);
        let mut s = OAuthBearerServer::new();
        let step = s.step(&message(&token), &v, NOW).unwrap();
        assert_eq!(
            step,
            OAuthStep::Challenge(br#"{"status":"invalid_token"}"#.to_vec())
        );
        let err = s.step(&[SEPARATOR], &v, NOW).unwrap_err();
        assert!(matches!(err, SaslError::AuthenticationFailed(m) if m.contains("invalid_token")));
    }

    #[test]
    fn missing_scope_is_insufficient_scope() {
        let v = TokenValidator::Unsecured(UnsecuredOptions {
            required_scope: vec!["write".into()],
            ..UnsecuredOptions::default()
        });
        let token = unsecured(r#"{"sub":"a","exp":1700003600,"scope":"read"}"#);
        let step = OAuthBearerServer::new()
            .step(&message(&token), &v, NOW)
            .unwrap();
        assert_eq!(
            step,
            OAuthStep::Challenge(br#"{"status":"insufficient_scope", "scope":"write"}"#.to_vec())
        );
    }

    #[test]
    fn signed_or_unsigned_mismatches_are_refused() {
        let v = TokenValidator::Unsecured(UnsecuredOptions::default());
        let signed = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"none"}"#),
            b64(r#"{"sub":"a","exp":1700003600}"#)
        );
        assert!(v.validate(&signed, NOW).is_err());
        let rs = format!(
            "{}.{}.",
            b64(r#"{"alg":"RS256"}"#),
            b64(r#"{"sub":"a","exp":1700003600}"#)
        );
        assert!(v.validate(&rs, NOW).is_err());
        assert!(v.validate("not-a-jwt", NOW).is_err());
    }

    #[test]
    fn first_messages_parse_as_kafka_parses_them() {
        let m = parse_initial_response(b"n,a=bob,\x01auth=Bearer abc.def.\x01traceId=123\x01\x01")
            .unwrap();
        assert_eq!(m.token, "abc.def.");
        assert_eq!(m.authorization_id, "bob");
        assert_eq!(m.extensions.get("traceId").map(String::as_str), Some("123"));
        for bad in [
            &b"n,,\x01auth=Basic abc\x01\x01"[..],
            b"n,,\x01\x01",
            b"y,,\x01auth=Bearer abc\x01\x01",
            b"n,,\x01auth=Bearer abc\x01",
            b"n,,\x01auth=Bearer abc\x011bad=x\x01\x01",
            b"\xff\xfe",
            b"",
        ] {
            assert!(parse_initial_response(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn authorization_id_must_match_the_principal() {
        let v = TokenValidator::Unsecured(UnsecuredOptions::default());
        let token = unsecured(r#"{"sub":"alice","exp":1700003600}"#);
        let m = format!("n,a=bob,\x01auth=Bearer {token}\x01\x01");
        assert!(matches!(
            OAuthBearerServer::new().step(m.as_bytes(), &v, NOW),
            Err(SaslError::AuthenticationFailed(_))
        ));
    }

    #[test]
    fn jwks_paths() {
        assert_eq!(
            jwks_path("file:///etc/k.json").unwrap(),
            PathBuf::from("/etc/k.json")
        );
        assert_eq!(
            jwks_path("/etc/k.json").unwrap(),
            PathBuf::from("/etc/k.json")
        );
        assert!(jwks_path("https://idp/keys").is_err());
    }
}
