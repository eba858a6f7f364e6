//! The ceremonies in progress: a master-key operation runs only once a quorum of distinct custodians
//! has approved it, each with their own password.
//!
//! Ceremonies live in memory only: they are short (an hour by default) and a component ceremony
//! holds the custodians' components until it executes; those must never reach the disk. A
//! restart forgets open ceremonies, which then start over. A ceremony executes at most once.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use kms_engine::clock::{Clock, Timestamp};
use kms_engine::master_key::Kcv;
use kms_engine::secret::KeyMaterial;
use kms_hsm::components;
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::plan::{CeremonyOp, Plan, Source};
use crate::custodians::{Custodian, CustodianRole, Custodians, Quorum};
use crate::error::ControlError;
use crate::shares::ops::ShareOps;

#[derive(Clone, Debug, Serialize)]
pub struct ApprovalView {
    pub custodian: String,
    pub role: &'static str,
    pub at: String,
    /// The KCV of the component this custodian entered, to compare with their printed one.
    pub component_kcv: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CeremonyView {
    pub id: String,
    pub operation: CeremonyOp,
    pub source: Option<Source>,
    pub master_key_id: Option<String>,
    /// `create`: the fingerprints of the keys each share (in order) and the root token will be
    /// encrypted to, for approvers to check against their custodians' keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_key_fingerprints: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_token_key_fingerprint: Option<String>,
    pub components_required: u8,
    pub components_received: usize,
    /// Distinct approvals needed per role.
    pub required: HashMap<&'static str, u8>,
    pub approvals: Vec<ApprovalView>,
    /// `open`, `executing`, `done`, `failed` or `expired`.
    pub state: &'static str,
    pub started_by: String,
    pub created_at: String,
    pub expires_at: String,
    /// What the ceremony did (never secrets: shares and tokens go to the last approver only).
    pub result: Option<serde_json::Value>,
    pub error: Option<serde_json::Value>,
}

enum State {
    Open,
    Executing,
    Done(serde_json::Value),
    Failed { code: &'static str, message: String },
}

struct Ceremony {
    id: String,
    plan: Plan,
    started_by: String,
    created_at: Timestamp,
    expires_at: Timestamp,
    approvals: Vec<(Custodian, Timestamp, Option<Kcv>)>,
    components: Vec<KeyMaterial>,
    state: State,
}

/// What an approval led to.
pub enum Approved {
    /// Recorded; more approvals (or components) are needed.
    Pending(Box<CeremonyView>),
    /// The quorum is met: the caller executes the plan and reports back with [`Ceremonies::finish`].
    Ready {
        plan: Plan,
        components: Vec<KeyMaterial>,
        approvers: Vec<String>,
    },
}

pub struct Ceremonies {
    open: Mutex<HashMap<String, Ceremony>>,
    pub quorum: Quorum,
    pub custodians: Custodians,
    /// The open rekey and root-token generation (quorums of unseal shares, not of approvals).
    pub shares: ShareOps,
}

fn lock_error() -> ControlError {
    ControlError::internal("ceremony registry lock poisoned")
}

impl Ceremony {
    fn expire(&mut self, now: Timestamp) {
        if matches!(self.state, State::Open) && now > self.expires_at {
            self.components.clear();
            self.state = State::Failed {
                code: "ceremony_expired",
                message: "the ceremony expired before its quorum was met".into(),
            };
        }
    }

    fn view(&self, quorum: &Quorum) -> CeremonyView {
        let (state, result, error) = match &self.state {
            State::Open => ("open", None, None),
            State::Executing => ("executing", None, None),
            State::Done(v) => ("done", Some(v.clone()), None),
            State::Failed { code, message } => (
                if *code == "ceremony_expired" {
                    "expired"
                } else {
                    "failed"
                },
                None,
                Some(serde_json::json!({ "code": code, "message": message })),
            ),
        };
        CeremonyView {
            id: self.id.clone(),
            operation: self.plan.op,
            source: self.plan.source,
            master_key_id: self.plan.master_key.as_ref().map(ToString::to_string),
            share_key_fingerprints: self
                .plan
                .share_keys
                .as_deref()
                .map(crate::shares::deliver::fingerprints),
            root_token_key_fingerprint: self
                .plan
                .root_token_key
                .as_ref()
                .map(|r| r.fingerprint().to_owned()),
            components_required: self.plan.components,
            // Counted from the approvals: the components themselves leave at execution.
            components_received: self.approvals.iter().filter(|a| a.2.is_some()).count(),
            required: quorum
                .required()
                .iter()
                .map(|(r, n)| (r.name(), *n))
                .collect(),
            approvals: self
                .approvals
                .iter()
                .map(|(c, at, kcv)| ApprovalView {
                    custodian: c.name.clone(),
                    role: c.role.name(),
                    at: at.rfc3339(),
                    component_kcv: kcv.as_ref().map(ToString::to_string),
                })
                .collect(),
            state,
            started_by: self.started_by.clone(),
            created_at: self.created_at.rfc3339(),
            expires_at: self.expires_at.rfc3339(),
            result,
            error,
        }
    }
}

impl Ceremonies {
    pub fn new(quorum: Quorum, custodians: Custodians) -> Self {
        Self {
            open: Mutex::new(HashMap::new()),
            shares: ShareOps::new(quorum.ttl),
            quorum,
            custodians,
        }
    }

    /// Opens a ceremony; `users` counts the people in the store who hold each custodian role.
    pub fn start(
        &self,
        plan: Plan,
        by: &Custodian,
        users: &BTreeMap<CustodianRole, usize>,
        clock: &dyn Clock,
    ) -> Result<CeremonyView, ControlError> {
        if !self.quorum.reachable(&self.custodians, users) {
            return Err(ControlError::conflict(
                "quorum_unreachable",
                format!(
                    "the configured custodians and users cannot meet the quorum ({})",
                    self.quorum.describe()
                ),
            ));
        }
        let now = clock.now();
        let ttl = i64::try_from(self.quorum.ttl.as_millis()).unwrap_or(i64::MAX);
        let mut id = [0u8; 8];
        rand::fill(&mut id);
        let id: String = format!(
            "cer-{}",
            id.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let ceremony = Ceremony {
            id: id.clone(),
            plan,
            started_by: by.name.clone(),
            created_at: now,
            expires_at: Timestamp::from_millis(now.millis().saturating_add(ttl)),
            approvals: Vec::new(),
            components: Vec::new(),
            state: State::Open,
        };
        let view = ceremony.view(&self.quorum);
        let mut open = self.open.lock().map_err(|_| lock_error())?;
        // Forget ceremonies that ended more than a day ago.
        open.retain(|_, c| {
            c.expires_at.millis() + 86_400_000 > now.millis()
                || matches!(c.state, State::Open | State::Executing)
        });
        open.insert(id, ceremony);
        Ok(view)
    }

    pub fn view(&self, id: &str, clock: &dyn Clock) -> Result<CeremonyView, ControlError> {
        let mut open = self.open.lock().map_err(|_| lock_error())?;
        let c = open.get_mut(id).ok_or_else(not_found)?;
        c.expire(clock.now());
        Ok(c.view(&self.quorum))
    }

    /// Every ceremony still kept (open ones, and those that ended in the last day), oldest
    /// first.
    pub fn list(&self, clock: &dyn Clock) -> Result<Vec<CeremonyView>, ControlError> {
        let now = clock.now();
        let mut open = self.open.lock().map_err(|_| lock_error())?;
        let mut all: Vec<&mut Ceremony> = open.values_mut().collect();
        all.sort_by_key(|c| (c.created_at.millis(), c.id.clone()));
        Ok(all
            .into_iter()
            .map(|c| {
                c.expire(now);
                c.view(&self.quorum)
            })
            .collect())
    }

    /// Records `who`'s approval (with their component, when the ceremony collects them).
    pub fn approve(
        &self,
        id: &str,
        who: &Custodian,
        component: Option<KeyMaterial>,
        clock: &dyn Clock,
    ) -> Result<(Approved, Option<Kcv>), ControlError> {
        let now = clock.now();
        let mut open = self.open.lock().map_err(|_| lock_error())?;
        let c = open.get_mut(id).ok_or_else(not_found)?;
        c.expire(now);
        match &c.state {
            State::Open => {}
            State::Failed {
                code: "ceremony_expired",
                ..
            } => {
                return Err(ControlError::Gone {
                    code: "ceremony_expired",
                    message: "this ceremony expired; start a new one".into(),
                });
            }
            _ => {
                return Err(ControlError::conflict(
                    "ceremony_closed",
                    "this ceremony has already run",
                ));
            }
        }
        if c.approvals.iter().any(|(a, _, _)| a.name == who.name) {
            return Err(ControlError::conflict(
                "already_approved",
                "each custodian approves once",
            ));
        }
        let wants_component = c.components.len() < usize::from(c.plan.components);
        let kcv = match (component, wants_component) {
            (Some(part), true) => {
                if c.components
                    .iter()
                    .any(|p| bool::from(p.expose().ct_eq(part.expose())))
                {
                    return Err(ControlError::invalid(
                        "invalid_component",
                        "this component equals one already entered",
                    ));
                }
                let kcv = components::kcv(&part)?;
                c.components.push(part);
                Some(kcv)
            }
            (None, true) => {
                return Err(ControlError::invalid(
                    "component_required",
                    "this ceremony still collects components: approve with yours",
                ));
            }
            (Some(_), false) => {
                return Err(ControlError::invalid(
                    "component_not_expected",
                    "this ceremony collects no (more) components",
                ));
            }
            (None, false) => None,
        };
        c.approvals.push((who.clone(), now, kcv.clone()));
        let roles: Vec<CustodianRole> = c.approvals.iter().map(|(a, _, _)| a.role).collect();
        let ready =
            self.quorum.is_met(&roles) && c.components.len() == usize::from(c.plan.components);
        if !ready {
            return Ok((Approved::Pending(Box::new(c.view(&self.quorum))), kcv));
        }
        c.state = State::Executing;
        Ok((
            Approved::Ready {
                plan: c.plan.clone(),
                components: std::mem::take(&mut c.components),
                approvers: c.approvals.iter().map(|(a, _, _)| a.name.clone()).collect(),
            },
            kcv,
        ))
    }

    /// Records how an executed ceremony ended: its result, or the error's code and message.
    pub fn finish(
        &self,
        id: &str,
        outcome: Result<serde_json::Value, (&'static str, String)>,
    ) -> Result<CeremonyView, ControlError> {
        let mut open = self.open.lock().map_err(|_| lock_error())?;
        let c = open.get_mut(id).ok_or_else(not_found)?;
        c.state = match outcome {
            Ok(result) => State::Done(result),
            Err((code, message)) => State::Failed { code, message },
        };
        Ok(c.view(&self.quorum))
    }
}

fn not_found() -> ControlError {
    ControlError::not_found("ceremony_not_found", "no such ceremony")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::custodians::hash_password;
    use kms_engine::clock::ManualClock;
    use std::time::Duration;

    fn custodian(name: &str, role: CustodianRole) -> Custodian {
        Custodian::new(name, role, &hash_password("pw").unwrap()).unwrap()
    }

    fn ceremonies() -> (Ceremonies, Vec<Custodian>) {
        use CustodianRole::*;
        let people = vec![
            custodian("a", SecurityAdmin),
            custodian("b", SecurityAdmin),
            custodian("c", SecurityAdmin),
            custodian("o", Operator),
        ];
        let quorum = Quorum::new(
            vec![(SecurityAdmin, 2), (Operator, 1)],
            Duration::from_secs(3600),
        )
        .unwrap();
        (
            Ceremonies::new(quorum, Custodians::new(people.clone())),
            people,
        )
    }

    fn plan(body: serde_json::Value) -> Plan {
        Plan::from_request(serde_json::from_value(body).unwrap()).unwrap()
    }

    /// A master-key rotation's plan.
    fn rotate() -> Plan {
        plan(serde_json::json!({"operation": "rotate"}))
    }

    fn part(byte: u8) -> KeyMaterial {
        KeyMaterial::from_slice(&[byte; 32])
    }

    #[test]
    fn the_quorum_executes_once_and_only_distinct_custodians_count() {
        let (cer, p) = ceremonies();
        let clock = ManualClock::new(Timestamp::from_millis(0));
        let id = cer
            .start(rotate(), &p[0], &BTreeMap::new(), &clock)
            .unwrap()
            .id;
        assert!(matches!(
            cer.approve(&id, &p[0], None, &clock).unwrap().0,
            Approved::Pending(_)
        ));
        let again = cer.approve(&id, &p[0], None, &clock).err().unwrap();
        assert_eq!(again.code(), "already_approved");
        // Two security admins but no operator: still pending.
        assert!(matches!(
            cer.approve(&id, &p[1], None, &clock).unwrap().0,
            Approved::Pending(_)
        ));
        let Approved::Ready { approvers, .. } = cer.approve(&id, &p[3], None, &clock).unwrap().0
        else {
            panic!("quorum met but not ready");
        };
        assert_eq!(approvers, vec!["a", "b", "o"]);
        // Executing, then done: no further approval runs it again.
        assert_eq!(
            cer.approve(&id, &p[2], None, &clock).err().unwrap().code(),
            "ceremony_closed"
        );
        cer.finish(&id, Ok(serde_json::json!({"ok": true})))
            .unwrap();
        assert_eq!(
            cer.approve(&id, &p[2], None, &clock).err().unwrap().code(),
            "ceremony_closed"
        );
        assert_eq!(cer.view(&id, &clock).unwrap().state, "done");
        let listed = cer.list(&clock).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].id.as_str(), listed[0].state),
            (id.as_str(), "done")
        );
        assert_eq!(listed[0].approvals.len(), 3);
    }

    #[test]
    fn approvals_expire() {
        let (cer, p) = ceremonies();
        let clock = ManualClock::new(Timestamp::from_millis(1_000_000));
        let id = cer
            .start(rotate(), &p[0], &BTreeMap::new(), &clock)
            .unwrap()
            .id;
        cer.approve(&id, &p[0], None, &clock).unwrap();
        cer.approve(&id, &p[1], None, &clock).unwrap();
        clock.advance_millis(3_600_001);
        let e = cer.approve(&id, &p[3], None, &clock).err().unwrap();
        assert!(
            matches!(
                e,
                ControlError::Gone {
                    code: "ceremony_expired",
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(cer.view(&id, &clock).unwrap().state, "expired");
    }

    #[test]
    fn components_are_collected_one_per_approval_and_never_twice() {
        let (cer, p) = ceremonies();
        let clock = ManualClock::new(Timestamp::from_millis(0));
        let id = cer
            .start(plan(serde_json::json!({"operation": "create", "source": "components", "components": 2})), &p[0], &BTreeMap::new(), &clock)
            .unwrap()
            .id;
        assert_eq!(
            cer.approve(&id, &p[0], None, &clock).err().unwrap().code(),
            "component_required"
        );
        let (_, kcv) = cer.approve(&id, &p[0], Some(part(1)), &clock).unwrap();
        assert_eq!(kcv.unwrap(), components::kcv(&part(1)).unwrap());
        assert_eq!(
            cer.approve(&id, &p[1], Some(part(1)), &clock)
                .err()
                .unwrap()
                .code(),
            "invalid_component"
        );
        cer.approve(&id, &p[1], Some(part(2)), &clock).unwrap();
        assert_eq!(
            cer.approve(&id, &p[3], Some(part(3)), &clock)
                .err()
                .unwrap()
                .code(),
            "component_not_expected"
        );
        let Approved::Ready { components, .. } = cer.approve(&id, &p[3], None, &clock).unwrap().0
        else {
            panic!("not ready");
        };
        assert_eq!(components.len(), 2);
        assert_eq!(cer.view(&id, &clock).unwrap().components_received, 2);
    }

    #[test]
    fn an_unreachable_quorum_is_refused_up_front() {
        let quorum = Quorum::default();
        let cer = Ceremonies::new(
            quorum,
            Custodians::new(vec![custodian("a", CustodianRole::SecurityAdmin)]),
        );
        let clock = ManualClock::new(Timestamp::from_millis(0));
        let a = custodian("a", CustodianRole::SecurityAdmin);
        let e = cer
            .start(rotate(), &a, &BTreeMap::new(), &clock)
            .err()
            .unwrap();
        assert_eq!(e.code(), "quorum_unreachable");
    }
}
