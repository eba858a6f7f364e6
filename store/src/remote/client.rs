//! The client side of the store's internal API: HTTPS with this node's client certificate,
//! verified against the internal CA (the store's certificate must come from it too). Blocking
//! (ureq): callers run it on a blocking thread.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use ureq::tls::{ClientCert, RootCerts, TlsConfig};

use kms_engine::store::StoreError;

use kms_tls::{self as tls, InternalTls, TlsError};

#[derive(Clone)]
pub struct InternalClient {
    agent: ureq::Agent,
    base: Arc<str>,
}

/// An answer of the store's internal API.
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    /// Every header of the answer (a manage node passes some back: the console's pages set a
    /// cookie, redirect, and carry their security headers).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The certificates of a PEM file, as ureq takes them.
fn certificates(
    what: &'static str,
    path: &Path,
) -> Result<Vec<ureq::tls::Certificate<'static>>, TlsError> {
    Ok(tls::certificates(what, path)?
        .iter()
        .map(|der| ureq::tls::Certificate::from_der(der).to_owned())
        .collect())
}

/// The first private key of a PEM file (the text is zeroized once read).
fn private_key(path: &Path) -> Result<ureq::tls::PrivateKey<'static>, TlsError> {
    let pem = zeroize::Zeroizing::new(std::fs::read(path).map_err(|source| TlsError::Read {
        what: "internal key",
        path: path.to_owned(),
        source,
    })?);
    ureq::tls::PrivateKey::from_pem(&pem).map_err(|e| TlsError::Pem {
        what: "internal key",
        path: path.to_owned(),
        message: e.to_string(),
    })
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("the store's internal API: {e}").into())
}

impl InternalClient {
    /// A client of the store at `base` (`https://host:port`).
    pub fn new(base: &str, tls: &InternalTls) -> Result<Self, TlsError> {
        let chain = certificates("internal cert", &tls.cert)?;
        let key = private_key(&tls.key)?;
        let roots = certificates("internal ca", &tls.ca)?;
        let config = TlsConfig::builder()
            .root_certs(RootCerts::Specific(Arc::new(roots)))
            .client_cert(Some(ClientCert::new_with_certs(&chain, key)))
            .build();
        // Redirects are answers to forward (the console's), never followed here.
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .tls_config(config)
            .build()
            .new_agent();
        Ok(Self {
            agent,
            base: base.trim_end_matches('/').into(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends a request and reads the whole answer. Transport failures (refused, reset, timed
    /// out) are `Unavailable`.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
        timeout: Duration,
    ) -> Result<Answer, StoreError> {
        let url = format!("{}{path}", self.base);
        let mut request = ureq::http::Request::builder().method(method).uri(&url);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request.body(body.to_vec()).map_err(unavailable)?;
        let request = self
            .agent
            .configure_request(request)
            .timeout_global(Some(timeout))
            .build();
        let mut response = self.agent.run(request).map_err(unavailable)?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (content_type, retry_after) = (header("content-type"), header("retry-after"));
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .map_err(unavailable)?;
        Ok(Answer {
            status: response.status().as_u16(),
            content_type,
            retry_after,
            headers,
            body,
        })
    }

    fn expect<T: DeserializeOwned>(answer: &Answer) -> Result<T, StoreError> {
        match answer.status {
            200..=299 => serde_json::from_slice(&answer.body)
                .map_err(|e| StoreError::Corrupt(format!("internal API answer: {e}"))),
            503 => Err(unavailable(String::from_utf8_lossy(&answer.body))),
            status => Err(StoreError::Backend(
                format!(
                    "internal API answered {status}: {}",
                    String::from_utf8_lossy(&answer.body)
                )
                .into(),
            )),
        }
    }

    /// GET `path` as JSON.
    pub fn get<T: DeserializeOwned>(&self, path: &str, timeout: Duration) -> Result<T, StoreError> {
        self.get_with(path, &[], timeout)
    }

    /// GET `path` as JSON, sending `headers`.
    pub fn get_with<T: DeserializeOwned>(
        &self,
        path: &str,
        headers: &[(&str, String)],
        timeout: Duration,
    ) -> Result<T, StoreError> {
        Self::expect(&self.send("GET", path, headers, &[], timeout)?)
    }

    /// GET `path` as JSON; `None` when the store answers 404 with the error code `absent` (any
    /// other 404, e.g. an unknown zone or a wrong address, is an error).
    pub fn get_optional<T: DeserializeOwned>(
        &self,
        path: &str,
        absent: &str,
        timeout: Duration,
    ) -> Result<Option<T>, StoreError> {
        let answer = self.send("GET", path, &[], &[], timeout)?;
        if answer.status == 404 {
            let code = serde_json::from_slice::<serde_json::Value>(&answer.body)
                .ok()
                .and_then(|v| v["error"]["code"].as_str().map(str::to_owned));
            if code.as_deref() == Some(absent) {
                return Ok(None);
            }
        }
        Self::expect(&answer).map(Some)
    }

    /// POST `body` as JSON to `path`, expecting JSON back.
    pub fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        timeout: Duration,
    ) -> Result<T, StoreError> {
        let body = serde_json::to_vec(body).map_err(|e| StoreError::Backend(e.into()))?;
        let headers = [("content-type", "application/json".to_owned())];
        Self::expect(&self.send("POST", path, &headers, &body, timeout)?)
    }
}
