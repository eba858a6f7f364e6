//! Conformance: people, sessions, root-token revocation, approvals and audit seals.

use std::sync::Arc;

use kms_engine::directory::Principal;
use kms_engine::people::{
    ApprovalState, AuditSeal, LoginState, NewApproval, Session, UserRecord, Vote,
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

pub async fn users_sessions_and_logins(store: &dyn KeyStore) {
    let ann = user("ann", &[Role::KeyAdmin]);
    store
        .create_user(&ann, &event("create_user"))
        .await
        .unwrap();
    assert!(matches!(
        store.create_user(&ann, &event("create_user")).await,
        Err(StoreError::AlreadyExists("user"))
    ));
    assert_eq!(store.user("ann").await.unwrap().unwrap(), ann);
    assert!(store.user("bob").await.unwrap().is_none());

    // A failure counts; a success opens a session and must advance the TOTP step.
    let failed = LoginState {
        failed_logins: 1,
        locked_until: Some(at(60_000)),
        totp_last_step: 0,
    };
    store
        .record_login("ann", &failed, None, &event("login"))
        .await
        .unwrap();
    assert_eq!(store.user("ann").await.unwrap().unwrap().login, failed);
    let ok = LoginState {
        failed_logins: 0,
        locked_until: None,
        totp_last_step: 42,
    };
    let s = session("sess-1", "ann", 1_000);
    store
        .record_login("ann", &ok, Some(&s), &event("login"))
        .await
        .unwrap();
    let replay = session("sess-2", "ann", 1_000);
    assert!(matches!(
        store
            .record_login("ann", &ok, Some(&replay), &event("login"))
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
    let next = LoginState {
        totp_last_step: 43,
        ..ok
    };
    store
        .record_login("ann", &next, Some(&s3), &event("login"))
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
        .finish_approval(id, r#"{"ok":true}"#, &event("execute_approval"))
        .await
        .unwrap();
    assert!(matches!(
        store
            .finish_approval(id, "{}", &event("execute_approval"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let done = store.approval(id).await.unwrap().unwrap();
    assert_eq!(done.state, ApprovalState::Executed);
    assert_eq!(done.result.as_deref(), Some(r#"{"ok":true}"#));
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
}
