//! Conformance: people, sessions, root-token revocation, approvals and audit seals.

use std::sync::Arc;

use kms_engine::directory::Principal;
use kms_engine::people::{
    ApprovalState, AuditSeal, Enrolment, LoginState, NewApproval, Session, UserRecord, Vote,
};
use kms_engine::role::{Role, RoleSet};
use kms_engine::store::{KeyStore, StoreError};
use kms_engine::token::TokenHash;

use super::{at, event};

fn user(name: &str, roles: &[Role]) -> UserRecord {
    UserRecord {
        name: name.into(),
        roles: RoleSet::of(roles),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        totp_sealed: vec![7; 48],
        login: LoginState::default(),
        disabled: false,
        created_at: at(0),
    }
}

fn session(token: &str, user: &str, until: i64) -> Session {
    Session {
        hash: TokenHash::of(token),
        user: user.into(),
        created_at: at(0),
        expires_at: at(until),
    }
}

fn user_of(creds: &[kms_engine::directory::Credential], token: &str) -> Option<Principal> {
    let hash = TokenHash::of(token);
    creds
        .iter()
        .find(|c| c.hash.matches(&hash))
        .map(|c| c.principal.clone())
}

fn event_at(action: &str, t: i64) -> kms_engine::audit::AuditEvent {
    let mut e = event(action);
    e.at = at(t);
    e
}

fn enrolment(token: &str, user: &str, until: i64) -> Enrolment {
    Enrolment {
        token: TokenHash::of(token),
        user: user.into(),
        created_at: at(0),
        expires_at: at(until),
        created_by: "root:test".into(),
    }
}

/// Creates `name` and enrols them with a password and a TOTP secret, as the person would.
async fn enrolled(store: &dyn KeyStore, name: &str, roles: &[Role]) -> UserRecord {
    let u = user(name, roles);
    let token = format!("enrol-{name}");
    store
        .create_user(&u, &enrolment(&token, name, 60_000), &event("create_user"))
        .await
        .unwrap();
    store
        .offer_enrolment_totp(&TokenHash::of(&token), &[7; 48], at(1))
        .await
        .unwrap();
    store
        .complete_enrolment(
            &TokenHash::of(&token),
            &u.password_hash,
            1,
            &event_at("enrol", 2),
        )
        .await
        .unwrap();
    store.user(name).await.unwrap().unwrap()
}

pub async fn users_sessions_and_logins(store: &dyn KeyStore) {
    let ann = enrolled(store, "ann", &[Role::KeyAdmin]).await;
    assert!(ann.enrolled());
    assert!(matches!(
        store
            .create_user(
                &user("ann", &[]),
                &enrolment("other", "ann", 60_000),
                &event("create_user")
            )
            .await,
        Err(StoreError::AlreadyExists("user"))
    ));
    assert!(store.user("bob").await.unwrap().is_none());

    // A failure counts; a success opens a session and must advance the TOTP step.
    let failed = store
        .record_login_failure("ann", 5, at(900_000), &event_at("login", 10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((failed.failed_logins, failed.locked_until), (1, None));
    let s = session("sess-1", "ann", 1_000);
    store
        .record_login("ann", 42, &s, &event_at("login", 11))
        .await
        .unwrap();
    assert_eq!(
        store
            .user("ann")
            .await
            .unwrap()
            .unwrap()
            .login
            .failed_logins,
        0
    );
    let replay = session("sess-2", "ann", 1_000);
    assert!(matches!(
        store
            .record_login("ann", 42, &replay, &event_at("login", 12))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let creds = store.load_credentials().await.unwrap();
    assert_eq!(
        user_of(&creds, "sess-1"),
        Some(Principal::User {
            name: "ann".into(),
            roles: RoleSet::of(&[Role::KeyAdmin]),
            expires_at: at(1_000),
        })
    );
    assert_eq!(user_of(&creds, "sess-2"), None);

    // New roles reach open sessions; disabling ends them.
    store
        .set_user_roles(
            "ann",
            RoleSet::of(&[Role::Auditor]),
            &event("set_user_roles"),
        )
        .await
        .unwrap();
    let creds = store.load_credentials().await.unwrap();
    assert!(
        matches!(user_of(&creds, "sess-1"), Some(Principal::User { roles, .. }) if roles == RoleSet::of(&[Role::Auditor]))
    );
    assert!(matches!(
        store
            .set_user_roles("nobody", RoleSet::EMPTY, &event("x"))
            .await,
        Err(StoreError::NotFound("user"))
    ));
    store
        .set_user_disabled("ann", true, &event("disable_user"))
        .await
        .unwrap();
    assert_eq!(
        user_of(&store.load_credentials().await.unwrap(), "sess-1"),
        None
    );
    store
        .set_user_disabled("ann", false, &event("enable_user"))
        .await
        .unwrap();
    let back = store.user("ann").await.unwrap().unwrap();
    assert!(!back.disabled && back.login.locked_until.is_none());

    // Logout.
    let s3 = session("sess-3", "ann", 2_000);
    store
        .record_login("ann", 43, &s3, &event_at("login", 20))
        .await
        .unwrap();
    assert!(user_of(&store.load_credentials().await.unwrap(), "sess-3").is_some());
    store
        .end_session(&TokenHash::of("sess-3"), &event("logout"))
        .await
        .unwrap();
    assert!(user_of(&store.load_credentials().await.unwrap(), "sess-3").is_none());
    assert!(matches!(
        store
            .end_session(&TokenHash::of("sess-3"), &event("logout"))
            .await,
        Err(StoreError::NotFound("session"))
    ));
    assert_eq!(store.users().await.unwrap().len(), 1);
}

/// Concurrent failed logins lock the account at exactly the limit, and a success racing them
/// does not get through the lock.
pub async fn failed_logins_lock_at_exactly_the_limit(store: Arc<dyn KeyStore>) {
    enrolled(store.as_ref(), "cat", &[Role::Auditor]).await;
    let mut racers = Vec::new();
    for i in 0..30 {
        let s = Arc::clone(&store);
        racers.push(tokio::spawn(async move {
            s.record_login_failure("cat", 5, at(900_000), &event_at("login", 100 + i))
                .await
                .unwrap()
        }));
    }
    let mut counted = 0;
    for r in racers {
        counted += usize::from(r.await.unwrap().is_some());
    }
    assert_eq!(
        counted, 5,
        "exactly the limit is counted; the rest meet the lock"
    );
    let cat = store.user("cat").await.unwrap().unwrap();
    assert_eq!(cat.login.locked_until, Some(at(900_000)));
    assert!(matches!(
        store
            .record_login(
                "cat",
                9,
                &session("sess-cat", "cat", 2_000),
                &event_at("login", 200)
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    // After the lock, failures count again from zero.
    let after = store
        .record_login_failure("cat", 5, at(2_000_000), &event_at("login", 900_001))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.failed_logins, 1);
}

/// An enrolment is used once, before it expires; a reset ends the old credentials, sessions and
/// enrolments.
pub async fn enrolments_are_used_once(store: &dyn KeyStore) {
    let dee = user("dee", &[Role::Operator]);
    let blank = UserRecord {
        password_hash: String::new(),
        totp_sealed: Vec::new(),
        ..dee.clone()
    };
    store
        .create_user(
            &blank,
            &enrolment("t1", "dee", 1_000),
            &event("create_user"),
        )
        .await
        .unwrap();
    assert!(!store.user("dee").await.unwrap().unwrap().enrolled());
    let t1 = TokenHash::of("t1");
    // Not offered a TOTP secret yet: cannot complete.
    assert!(matches!(
        store
            .complete_enrolment(&t1, "h", 1, &event_at("enrol", 1))
            .await,
        Err(StoreError::NotFound("enrolment"))
    ));
    store
        .offer_enrolment_totp(&t1, &[1; 48], at(2))
        .await
        .unwrap();
    store
        .complete_enrolment(&t1, &dee.password_hash, 7, &event_at("enrol", 3))
        .await
        .unwrap();
    let now = store.user("dee").await.unwrap().unwrap();
    assert!(now.enrolled() && now.totp_sealed == vec![1; 48]);
    assert_eq!(
        now.login.totp_last_step, 7,
        "the code that proved the secret is spent"
    );
    // Used once.
    assert!(matches!(
        store.offer_enrolment_totp(&t1, &[2; 48], at(4)).await,
        Err(StoreError::NotFound("enrolment"))
    ));
    assert!(
        store
            .enrolment(&t1)
            .await
            .unwrap()
            .unwrap()
            .used_at
            .is_some()
    );
    // Expired.
    store
        .reset_user_credentials(&enrolment("t2", "dee", 10), &event_at("reset_user", 5))
        .await
        .unwrap();
    assert!(!store.user("dee").await.unwrap().unwrap().enrolled());
    assert!(matches!(
        store
            .offer_enrolment_totp(&TokenHash::of("t2"), &[3; 48], at(11))
            .await,
        Err(StoreError::NotFound("enrolment"))
    ));
    // A reset revokes an enrolment not used yet.
    store
        .reset_user_credentials(&enrolment("t3", "dee", 1_000), &event_at("reset_user", 12))
        .await
        .unwrap();
    store
        .reset_user_credentials(&enrolment("t4", "dee", 1_000), &event_at("reset_user", 13))
        .await
        .unwrap();
    assert!(
        store
            .enrolment(&TokenHash::of("t3"))
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert!(matches!(
        store
            .reset_user_credentials(&enrolment("t5", "nobody", 1_000), &event("reset_user"))
            .await,
        Err(StoreError::NotFound("user"))
    ));
}

pub async fn root_tokens_are_revoked(store: &dyn KeyStore) {
    store
        .put_root_token("boot", &TokenHash::of("root-1"), &event("init"))
        .await
        .unwrap();
    assert!(user_of(&store.load_credentials().await.unwrap(), "root-1").is_some());
    let (_, n) = store
        .revoke_root_tokens(&event("revoke_root_tokens"))
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert!(user_of(&store.load_credentials().await.unwrap(), "root-1").is_none());
}

fn request(expires: i64) -> NewApproval {
    NewApproval {
        action: "export_key".into(),
        target: "key:cards".into(),
        params: r#"{"name":"cards"}"#.into(),
        requester: "user:ann".into(),
        quorum: 2,
        approver_roles: RoleSet::of(&[Role::KeyAdmin]),
        created_at: at(0),
        expires_at: at(expires),
    }
}

fn vote(user: &str, approve: bool, t: i64) -> Vote {
    Vote {
        user: user.into(),
        approve,
        at: at(t),
        params_hash: Some(request(10_000).params_hash()),
    }
}

pub async fn approvals_take_one_vote_each_and_run_once(store: Arc<dyn KeyStore>) {
    let id = store
        .create_approval(&request(10_000), &event("request_approval"))
        .await
        .unwrap();
    let r = store
        .vote(id, &vote("bob", true, 1), &event("approve"))
        .await
        .unwrap();
    assert_eq!((r.approvals(), r.state), (1, ApprovalState::Pending));
    assert!(matches!(
        store
            .vote(id, &vote("bob", true, 2), &event("approve"))
            .await,
        Err(StoreError::AlreadyExists("vote"))
    ));
    let r = store
        .vote(id, &vote("cid", true, 3), &event("approve"))
        .await
        .unwrap();
    assert_eq!(r.approvals(), 2);
    // Many callers race to run it: exactly one wins.
    let mut racers = Vec::new();
    for _ in 0..8 {
        let s = Arc::clone(&store);
        racers.push(tokio::spawn(async move {
            s.claim_approval(id, at(4)).await.unwrap()
        }));
    }
    let mut winners = 0;
    for r in racers {
        winners += usize::from(r.await.unwrap());
    }
    assert_eq!(winners, 1);
    store
        .finish_approval(
            id,
            r#"{"ok":true}"#,
            Some(r#"{"secret":1}"#),
            &event("execute_approval"),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .finish_approval(id, "{}", None, &event("execute_approval"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let done = store.approval(id).await.unwrap().unwrap();
    assert_eq!(done.state, ApprovalState::Executed);
    assert_eq!(done.result.as_deref(), Some(r#"{"ok":true}"#));
    assert!(done.private_pending);
    assert_eq!(
        done.votes[0].params_hash,
        Some(request(10_000).params_hash())
    );
    // The private result is taken once.
    assert_eq!(
        store
            .take_private_result(id, at(5))
            .await
            .unwrap()
            .as_deref(),
        Some(r#"{"secret":1}"#)
    );
    assert_eq!(store.take_private_result(id, at(6)).await.unwrap(), None);
    assert!(!store.approval(id).await.unwrap().unwrap().private_pending);
    assert!(matches!(
        store
            .vote(id, &vote("dan", true, 5), &event("approve"))
            .await,
        Err(StoreError::Conflict("approval"))
    ));

    // A rejection ends a request; an expired one takes no votes and cannot be claimed.
    let rejected = store
        .create_approval(&request(10_000), &event("request_approval"))
        .await
        .unwrap();
    let r = store
        .vote(rejected, &vote("bob", false, 1), &event("reject"))
        .await
        .unwrap();
    assert_eq!(r.state, ApprovalState::Rejected);
    assert!(!store.claim_approval(rejected, at(2)).await.unwrap());
    let stale = store
        .create_approval(&request(100), &event("request_approval"))
        .await
        .unwrap();
    assert!(matches!(
        store
            .vote(stale, &vote("bob", true, 200), &event("approve"))
            .await,
        Err(StoreError::Conflict("approval"))
    ));
    assert!(!store.claim_approval(stale, at(200)).await.unwrap());
    assert_eq!(
        store
            .approval(stale)
            .await
            .unwrap()
            .unwrap()
            .status(at(200)),
        "expired"
    );
    assert_eq!(store.approvals(true, 10).await.unwrap().len(), 1);
    assert_eq!(store.approvals(false, 10).await.unwrap().len(), 3);
    assert!(store.approval(9_999).await.unwrap().is_none());
}

pub async fn audit_seals_are_kept(store: &dyn KeyStore) {
    assert_eq!(store.audit_head().await.unwrap().0, 0);
    store.append_audit(&[event("a"), event("b")]).await.unwrap();
    let (seq, head) = store.audit_head().await.unwrap();
    assert_eq!(seq, 2);
    let seal = AuditSeal {
        seq,
        head,
        mac: [9; 32],
        at: at(1),
    };
    store.append_audit_seal(&seal).await.unwrap();
    // Sealing the same head again keeps the first seal.
    store
        .append_audit_seal(&AuditSeal {
            mac: [1; 32],
            ..seal.clone()
        })
        .await
        .unwrap();
    assert_eq!(store.last_audit_seal().await.unwrap(), Some(seal.clone()));
    assert_eq!(store.audit_seals().await.unwrap(), vec![seal]);
    assert_eq!(store.audit_seal_count().await.unwrap(), 1);
}
