//! Carrying bytes to the server and back. A trait, so tests and benchmarks can put a
//! different link underneath; the real one is reqwest over rustls.

use std::time::Duration;

use async_trait::async_trait;

/// An HTTP answer, whatever its status.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// `Retry-After` in seconds, when the server sent one.
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The server could not be reached or the connection broke: worth retrying.
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    #[error("bad server URL `{0}`")]
    BadUrl(String),
}

/// The HTTP methods the protocol uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
}

#[async_trait]
pub trait Transport: Send + Sync {
    /// Send `body` to `path` (e.g. `/v1/sync`), with a bearer token when given.
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        content_encoding: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Reply, TransportError>;

    /// POST, the common case.
    async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        content_encoding: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Reply, TransportError> {
        self.send(
            Method::Post,
            path,
            token,
            content_type,
            content_encoding,
            body,
        )
        .await
    }
}

/// HTTP(S) with reqwest and rustls.
pub struct HttpTransport {
    client: reqwest::Client,
    base: String,
}

impl HttpTransport {
    pub fn new(base_url: &str) -> Result<HttpTransport, TransportError> {
        let base = base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(TransportError::BadUrl(base_url.to_string()));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("zhucun/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TransportError::BadUrl(e.to_string()))?;
        Ok(HttpTransport { client, base })
    }
}

#[async_trait]
impl Transport for HttpTransport {
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        content_encoding: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Reply, TransportError> {
        let url = format!("{}{path}", self.base);
        let mut req = match method {
            Method::Get => self.client.get(url),
            Method::Post => self.client.post(url),
            Method::Put => self.client.put(url),
        };
        if method != Method::Get {
            req = req
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body);
        }
        if let Some(enc) = content_encoding {
            req = req.header(reqwest::header::CONTENT_ENCODING, enc);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| TransportError::Unreachable(e.to_string()))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp
            .bytes()
            .await
            .map_err(|e| TransportError::Unreachable(e.to_string()))?
            .to_vec();
        Ok(Reply {
            status,
            retry_after,
            body,
        })
    }
}
