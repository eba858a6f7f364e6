//! What an action's run hands back, and to whom: everyone who may read the request sees the
//! public part; a secret (a token, an export, half an enrolment token) goes to the requester
//! alone, once; the other half of an enrolment token goes to the approver whose vote ran it.

use serde_json::{Map, Value};

use crate::error::ControlError;

#[derive(Debug, Default)]
pub struct Ran {
    pub public: Value,
    /// For the requester alone, collected once.
    pub private: Option<Value>,
    /// For the approver whose vote ran the request, in that vote's answer only.
    pub completer: Option<Value>,
}

/// Whether the caller runs the action at once, or a quorum approved it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The caller runs it now and gets every part.
    Direct,
    /// Approved: the parts go to their parties.
    Approved,
}

impl Ran {
    pub fn public(value: impl serde::Serialize) -> Result<Self, ControlError> {
        Ok(Self {
            public: serde_json::to_value(value).map_err(ControlError::internal)?,
            ..Self::default()
        })
    }

    /// Everything, for the caller of a direct run: the public object with the private and
    /// completer parts' fields added.
    pub fn direct(self) -> Value {
        let mut out = match self.public {
            Value::Object(map) => map,
            other => {
                let mut m = Map::new();
                m.insert("result".into(), other);
                m
            }
        };
        for part in [self.private, self.completer].into_iter().flatten() {
            if let Value::Object(map) = part {
                out.extend(map);
            }
        }
        Value::Object(out)
    }
}
