//! A small blocking HTTP client for the CLI commands that talk to a running server.

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("cannot reach {addr}: {reason}")]
    Transport { addr: String, reason: String },
    #[error("{0}")]
    Input(String),
}

pub struct Client {
    agent: ureq::Agent,
    addr: String,
}

impl Client {
    pub fn new(addr: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        Self {
            agent,
            addr: addr.trim_end_matches('/').to_owned(),
        }
    }

    fn transport(&self, e: &ureq::Error) -> CliError {
        CliError::Transport {
            addr: self.addr.clone(),
            reason: e.to_string(),
        }
    }

    fn answer(
        &self,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value, CliError> {
        let mut response = response.map_err(|e| self.transport(&e))?;
        let status = response.status().as_u16();
        let body: Value = response
            .body_mut()
            .read_json()
            .map_err(|e| self.transport(&e))?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let field = |f: &str| body["error"][f].as_str().unwrap_or_default().to_owned();
        Err(CliError::Api {
            status,
            code: field("code"),
            message: field("message"),
        })
    }

    pub fn get(&self, path: &str) -> Result<Value, CliError> {
        let r = self.agent.get(format!("{}{path}", self.addr)).call();
        self.answer(r)
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        let r = self
            .agent
            .post(format!("{}{path}", self.addr))
            .send_json(body);
        self.answer(r)
    }
}
