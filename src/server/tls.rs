//! TLS for SSL and SASL_SSL listeners, through rustls: the key store and trust store as
//! Kafka 4 reads PEM stores (KIP-651), `ssl.client.auth`, `ssl.enabled.protocols`, and the
//! principal of a client certificate: `User:<subject DN in RFC 2253 form>` mapped through
//! `ssl.principal.mapping.rules`. Every option may be overridden per listener
//! (`listener.name.<listener>.ssl.*`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::Mutex;
use pkcs8::der::Decode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};

use crate::broker::security::KafkaPrincipal;
use crate::config::principal_rules::PrincipalMappingRules;
use crate::config::Config;

/// Why a listener's TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A store type other than PEM.
    #[error("listener {listener}: {option}={value} is not supported; use PEM")]
    StoreType {
        /// The listener.
        listener: String,
        /// `ssl.keystore.type` or `ssl.truststore.type`.
        option: &'static str,
        /// The type configured.
        value: String,
    },
    /// No key store configured for a TLS listener.
    #[error("listener {0}: a TLS listener needs ssl.keystore.location or ssl.keystore.certificate.chain and ssl.keystore.key")]
    NoKeyStore(String),
    /// A store file that cannot be read.
    #[error("listener {listener}: cannot read {path}: {source}")]
    Read {
        /// The listener.
        listener: String,
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// PEM content without what it should hold, or that does not decode.
    #[error("listener {listener}: {message}")]
    Pem {
        /// The listener.
        listener: String,
        /// What is wrong.
        message: String,
    },
    /// Client certificates required or requested without a trust store.
    #[error("listener {0}: ssl.client.auth needs a trust store (ssl.truststore.location or ssl.truststore.certificates)")]
    NoTrustStore(String),
    /// rustls refused the settings (a key that does not match the certificate, …).
    #[error("listener {listener}: {message}")]
    Rustls {
        /// The listener.
        listener: String,
        /// rustls' message.
        message: String,
    },
    /// Unparseable `ssl.principal.mapping.rules`.
    #[error("listener {listener}: ssl.principal.mapping.rules: {message}")]
    Rules {
        /// The listener.
        listener: String,
        /// What is wrong.
        message: String,
    },
}

/// A TLS listener's acceptor and principal mapping.
#[derive(Clone)]
pub struct TlsListener {
    /// Accepts TLS connections.
    pub acceptor: tokio_rustls::TlsAcceptor,
    /// Maps a client certificate's DN to a principal name.
    pub rules: Arc<PrincipalMappingRules>,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener").finish_non_exhaustive()
    }
}

const ENCRYPTED_KEY_BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
const ENCRYPTED_KEY_END: &str = "-----END ENCRYPTED PRIVATE KEY-----";

struct Options<'a> {
    config: &'a Config,
    listener: &'a str,
}

impl Options<'_> {
    fn get(&self, option: &str) -> Option<String> {
        self.config.listener_option(self.listener, option)
    }

    fn pem_error(&self, message: impl Into<String>) -> TlsError {
        TlsError::Pem {
            listener: self.listener.to_string(),
            message: message.into(),
        }
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, TlsError> {
        std::fs::read(path).map_err(|source| TlsError::Read {
            listener: self.listener.to_string(),
            path: path.to_string(),
            source,
        })
    }

    fn check_pem(&self, option: &'static str) -> Result<(), TlsError> {
        let value = self.get(option).unwrap_or_default();
        if value.eq_ignore_ascii_case("PEM") {
            Ok(())
        } else {
            Err(TlsError::StoreType {
                listener: self.listener.to_string(),
                option,
                value,
            })
        }
    }

    fn private_key(&self, pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
        let text = String::from_utf8_lossy(pem);
        if let Some(start) = text.find(ENCRYPTED_KEY_BEGIN) {
            let password = self.get("ssl.key.password").ok_or_else(|| {
                self.pem_error("the private key is encrypted but ssl.key.password is not set")
            })?;
            let block = text
                .get(start..)
                .and_then(|rest| {
                    let end = rest.find(ENCRYPTED_KEY_END)?;
                    rest.get(..end + ENCRYPTED_KEY_END.len())
                })
                .ok_or_else(|| self.pem_error("unterminated encrypted private key"))?;
            let (_, document) = pkcs8::Document::from_pem(block)
                .map_err(|e| self.pem_error(format!("encrypted private key: {e}")))?;
            let info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(document.as_bytes())
                .map_err(|e| self.pem_error(format!("encrypted private key: {e}")))?;
            let key = info.decrypt(password.as_bytes()).map_err(|e| {
                self.pem_error(format!(
                    "cannot decrypt the private key with ssl.key.password: {e}"
                ))
            })?;
            return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                key.as_bytes().to_vec(),
            )));
        }
        PrivateKeyDer::from_pem_slice(pem)
            .map_err(|e| self.pem_error(format!("no private key in the key store: {e}")))
    }

    fn certificates(
        &self,
        pem: &[u8],
        what: &str,
    ) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.pem_error(format!("{what}: {e}")))?;
        if certs.is_empty() {
            return Err(self.pem_error(format!("{what}: no certificate")));
        }
        Ok(certs)
    }
}

/// The listener's certificate chain and key. A key store given as a file
/// (`ssl.keystore.location`) is re-read on the first handshake after the file's modification
/// time changed, so a renewed certificate is served without a restart; a file that does not
/// load keeps the previous certificate (and is logged).
struct KeyStore {
    listener: String,
    config: Config,
    location: Option<PathBuf>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    current: Mutex<(Option<SystemTime>, Arc<CertifiedKey>)>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("listener", &self.listener)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl KeyStore {
    fn open(
        config: &Config,
        listener: &str,
        provider: Arc<rustls::crypto::CryptoProvider>,
    ) -> Result<KeyStore, TlsError> {
        let location = config
            .listener_option(listener, "ssl.keystore.location")
            .map(PathBuf::from);
        let mtime = location.as_deref().and_then(modified);
        let key = Self::load(config, listener, &provider)?;
        Ok(KeyStore {
            listener: listener.to_string(),
            config: config.clone(),
            location,
            provider,
            current: Mutex::new((mtime, Arc::new(key))),
        })
    }

    fn load(
        config: &Config,
        listener: &str,
        provider: &rustls::crypto::CryptoProvider,
    ) -> Result<CertifiedKey, TlsError> {
        let o = Options { config, listener };
        let (chain, key) = match (
            o.get("ssl.keystore.location"),
            o.get("ssl.keystore.certificate.chain"),
            o.get("ssl.keystore.key"),
        ) {
            (Some(path), _, _) => {
                let pem = o.read(&path)?;
                (o.certificates(&pem, "key store")?, o.private_key(&pem)?)
            }
            (None, Some(chain), Some(key)) => (
                o.certificates(chain.as_bytes(), "ssl.keystore.certificate.chain")?,
                o.private_key(key.as_bytes())?,
            ),
            _ => return Err(TlsError::NoKeyStore(listener.to_string())),
        };
        CertifiedKey::from_der(chain, key, provider).map_err(|e| TlsError::Rustls {
            listener: listener.to_string(),
            message: e.to_string(),
        })
    }
}

impl ResolvesServerCert for KeyStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut current = self.current.lock();
        if let Some(path) = &self.location {
            let mtime = modified(path);
            if mtime.is_some() && mtime != current.0 {
                current.0 = mtime;
                match Self::load(&self.config, &self.listener, &self.provider) {
                    Ok(key) => {
                        tracing::info!(listener = %self.listener, path = %path.display(),
                            "key store changed: serving the new certificate");
                        current.1 = Arc::new(key);
                    }
                    Err(e) => tracing::warn!(listener = %self.listener, error = %e,
                        "key store changed but does not load: keeping the previous certificate"),
                }
            }
        }
        Some(Arc::clone(&current.1))
    }
}

/// The TLS settings of `listener`.
pub fn listener_tls(config: &Config, listener: &str) -> Result<TlsListener, TlsError> {
    let o = Options { config, listener };
    // The key store: one file with the key and the chain (re-read when the file changes),
    // or both inline.
    o.check_pem("ssl.keystore.type")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key_store = KeyStore::open(config, listener, Arc::clone(&provider))?;
    // The trust store, for client certificates.
    let trusted = match (
        o.get("ssl.truststore.location"),
        o.get("ssl.truststore.certificates"),
    ) {
        (Some(path), _) => {
            o.check_pem("ssl.truststore.type")?;
            Some(o.certificates(&o.read(&path)?, "trust store")?)
        }
        (None, Some(certs)) => {
            o.check_pem("ssl.truststore.type")?;
            Some(o.certificates(certs.as_bytes(), "ssl.truststore.certificates")?)
        }
        (None, None) => None,
    };
    let client_auth = o.get("ssl.client.auth").unwrap_or_else(|| "none".into());
    let rustls_error = |e: rustls::Error| TlsError::Rustls {
        listener: listener.to_string(),
        message: e.to_string(),
    };
    let protocols = o
        .get("ssl.enabled.protocols")
        .unwrap_or_else(|| "TLSv1.2,TLSv1.3".into());
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    for p in protocols.split(',').map(str::trim) {
        match p {
            "TLSv1.2" => versions.push(&rustls::version::TLS12),
            "TLSv1.3" => versions.push(&rustls::version::TLS13),
            _ => {}
        }
    }
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(rustls_error)?;
    let builder = match (client_auth.as_str(), trusted) {
        ("none", _) => builder.with_no_client_auth(),
        (_, None) => return Err(TlsError::NoTrustStore(listener.to_string())),
        (mode, Some(trusted)) => {
            let mut roots = RootCertStore::empty();
            for cert in trusted {
                roots.add(cert).map_err(rustls_error)?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
            let verifier = if mode == "requested" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier.build().map_err(|e| TlsError::Rustls {
                listener: listener.to_string(),
                message: e.to_string(),
            })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let server = builder.with_cert_resolver(Arc::new(key_store));
    let rules_text = o
        .get("ssl.principal.mapping.rules")
        .unwrap_or_else(|| "DEFAULT".into());
    let rules = PrincipalMappingRules::parse(&rules_text).map_err(|message| TlsError::Rules {
        listener: listener.to_string(),
        message,
    })?;
    Ok(TlsListener {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(server)),
        rules: Arc::new(rules),
    })
}

/// Attribute types RFC 2253 names by keyword (as Java prints them); others are printed as
/// dotted OIDs with the value's DER in hex.
const KEYWORDS: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.9", "STREET"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("0.9.2342.19200300.100.1.1", "UID"),
];

fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A certificate's subject in RFC 2253 form, as Java's `X500Principal.getName()` prints it:
/// the last RDN first, keywords for the common attribute types, escaped values.
pub fn subject_dn(cert_der: &[u8]) -> Option<String> {
    use pkcs8::der::{Encode, Tag, Tagged};
    let cert = x509_cert::Certificate::from_der(cert_der).ok()?;
    let rdns: Vec<String> = cert
        .tbs_certificate()
        .subject()
        .as_ref()
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|ava| {
                    let oid = ava.oid.to_string();
                    let keyword = KEYWORDS.iter().find(|(o, _)| *o == oid).map(|(_, k)| *k);
                    let text = match ava.value.tag() {
                        Tag::Utf8String
                        | Tag::PrintableString
                        | Tag::Ia5String
                        | Tag::TeletexString => std::str::from_utf8(ava.value.value())
                            .ok()
                            .map(str::to_string),
                        _ => None,
                    };
                    match (keyword, text) {
                        (Some(k), Some(t)) => format!("{k}={}", escape_value(&t)),
                        (k, _) => format!(
                            "{}=#{}",
                            k.map_or(oid.clone(), str::to_string),
                            hex(&ava.value.to_der().unwrap_or_default())
                        ),
                    }
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    Some(rdns.into_iter().rev().collect::<Vec<_>>().join(","))
}

/// The principal of a TLS connection: `User:ANONYMOUS` without a client certificate, else
/// the mapped subject; `None` if no mapping rule matches (the connection is refused).
pub fn principal(
    peer_certificates: Option<&[CertificateDer<'_>]>,
    rules: &PrincipalMappingRules,
) -> Option<Arc<KafkaPrincipal>> {
    match peer_certificates.and_then(|c| c.first()) {
        None => Some(KafkaPrincipal::anonymous()),
        Some(cert) => {
            let dn = subject_dn(cert.as_ref())?;
            let name = rules.apply(&dn)?;
            Some(Arc::new(KafkaPrincipal::user(name)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, DnValue, KeyPair};

    fn cert_with(dn: &[(DnType, DnValue)]) -> Vec<u8> {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        // rcgen starts with a CN of its own; the subject is exactly `dn`, in this order.
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (t, v) in dn {
            params.distinguished_name.push(t.clone(), v.clone());
        }
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn subject_in_rfc2253_form_as_java_prints_it() {
        let der = cert_with(&[
            (
                DnType::CountryName,
                DnValue::PrintableString("US".try_into().unwrap()),
            ),
            (
                DnType::OrganizationName,
                DnValue::Utf8String("Skiff, Inc.".into()),
            ),
            (
                DnType::OrganizationalUnitName,
                DnValue::Utf8String("eng".into()),
            ),
            (DnType::CommonName, DnValue::Utf8String("alice+1".into())),
        ]);
        assert_eq!(
            subject_dn(&der).unwrap(),
            "CN=alice\\+1,OU=eng,O=Skiff\\, Inc.,C=US"
        );
        let der = cert_with(&[
            (DnType::CommonName, DnValue::Utf8String(" x ".into())),
            (
                DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
                DnValue::Ia5String("a@b.c".try_into().unwrap()),
            ),
        ]);
        assert_eq!(
            subject_dn(&der).unwrap(),
            "1.2.840.113549.1.9.1=#16056140622e63,CN=\\ x\\ "
        );
    }

    #[test]
    fn the_principal_of_a_certificate_goes_through_the_rules() {
        let der = cert_with(&[
            (
                DnType::OrganizationName,
                DnValue::Utf8String("Skiff".into()),
            ),
            (DnType::CommonName, DnValue::Utf8String("Alice".into())),
        ]);
        let certs = [CertificateDer::from(der)];
        let rules = PrincipalMappingRules::parse("RULE:^CN=([^,]*),O=Skiff$/$1/L").unwrap();
        let p = principal(Some(&certs), &rules).unwrap();
        assert_eq!(p.to_string(), "User:alice");
        let other = PrincipalMappingRules::parse("RULE:^CN=bob.*$/bob/").unwrap();
        assert!(principal(Some(&certs), &other).is_none());
        let default = PrincipalMappingRules::parse("DEFAULT").unwrap();
        assert_eq!(
            principal(Some(&certs), &default).unwrap().to_string(),
            "User:CN=Alice,O=Skiff"
        );
        assert!(principal(None, &rules).unwrap().is_anonymous());
    }
}
