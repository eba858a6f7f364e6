//! Approvals in the management center, without HTTP: a destruction waits for two other key
//! administrators, the requester cannot vote, a third party's refusal is audited, and the vote
//! that meets the quorum runs the action once.
#![allow(clippy::unwrap_used)]

mod support;

use kms_control::approvals::action::Action;
use kms_control::approvals::request::{load, request};
use kms_control::approvals::vote::vote;
use kms_control::keys::create::{NewKey, Request};
use kms_control::keys::lifecycle::rotate;
use kms_control::keys::versions::{self, Params};
use kms_engine::role::Role;
use kms_engine::store::AuditQuery;
use kms_engine::version::VersionState;
use support::Center;

fn destroy_version_1() -> Action {
    Action::ChangeVersion(Params {
        name: "cards".into(),
        version: 1,
        which: "schedule_destruction".into(),
        reason: "retired".into(),
        delay: versions::DEFAULT_DELAY.into(),
    })
}

/// The key `cards`, rotated once: version 1 can be scheduled for destruction.
async fn cards_with_two_versions(ctl: &kms_control::context::Control) {
    let key = NewKey::check(&Request {
        name: "cards".into(),
        algorithm: None,
        deterministic: false,
        rotation_period: None,
        notice_period: None,
        exportable: false,
        purpose: None,
        protection: None,
    })
    .unwrap();
    kms_control::keys::create::create(ctl, &Center::root(), key)
        .await
        .unwrap();
    rotate(ctl, &Center::root(), "cards", "quarterly")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destruction_waits_for_two_other_key_admins_and_runs_once() {
    let center = Center::start().await;
    let ctl = &center.control;
    cards_with_two_versions(ctl).await;

    let (kate, kate_acts) = center.person("kate", &[Role::KeyAdmin]).await;
    let (ken, ken_acts) = center.person("ken", &[Role::KeyAdmin]).await;
    let (ada, ada_acts) = center.person("ada", &[Role::Auditor]).await;
    let (kim, kim_acts) = center.person("kim", &[Role::SecurityAdmin]).await;

    let filed = request(ctl, &kate_acts, &destroy_version_1(), "key:cards".into())
        .await
        .unwrap();
    assert_eq!(filed.request.action, "schedule_destruction_version");
    assert_eq!(filed.request.quorum, 2);
    let hash = filed.request.params_hash();

    // An approval names the parameters it saw: none, or another request's, is refused.
    let blind = vote(ctl, &ken, &ken_acts, filed.id, true, None)
        .await
        .unwrap_err();
    assert_eq!(blind.code(), "params_hash_required");
    let other = vote(ctl, &ken, &ken_acts, filed.id, true, Some([0; 32]))
        .await
        .unwrap_err();
    assert_eq!(other.code(), "params_changed");

    // The requester cannot vote; an auditor holds no approver role. Both refusals are audited.
    let own = vote(ctl, &kate, &kate_acts, filed.id, true, Some(hash))
        .await
        .unwrap_err();
    assert_eq!(own.code(), "self_approval");
    let auditor = vote(ctl, &ada, &ada_acts, filed.id, true, Some(hash))
        .await
        .unwrap_err();
    assert_eq!(auditor.code(), "not_an_approver");

    // One approval: still pending, nothing changed.
    let once = vote(ctl, &ken, &ken_acts, filed.id, true, Some(hash))
        .await
        .unwrap()
        .record;
    assert_eq!(once.approvals(), 1);
    assert!(once.executed_at.is_none());
    let again = vote(ctl, &ken, &ken_acts, filed.id, true, Some(hash))
        .await
        .unwrap_err();
    assert_eq!(again.code(), "already_voted");

    // The second approval (a security administrator) meets the quorum and runs it.
    let done = vote(ctl, &kim, &kim_acts, filed.id, true, Some(hash))
        .await
        .unwrap()
        .record;
    assert!(done.executed_at.is_some(), "{:?}", done.result);
    let id = ctl
        .store
        .key_id(&kms_engine::ids::KeyName::new("cards").unwrap())
        .await
        .unwrap()
        .unwrap();
    let entry = ctl.store.load_key(id).await.unwrap().unwrap();
    let v1 = entry.version(kms_engine::ids::KeyVersion::FIRST).unwrap();
    assert_eq!(v1.state, VersionState::ScheduledForDestruction);

    // Executed requests take no more votes.
    let late = vote(ctl, &kate, &kate_acts, filed.id, true, Some(hash))
        .await
        .unwrap_err();
    assert_eq!(late.code(), "self_approval");
    let closed = load(ctl, filed.id).await.unwrap();
    assert!(closed.executed_at.is_some());

    // The refusals are in the audit chain, denied, under who tried.
    center.clock.advance_millis(1);
    let denied = ctl
        .store
        .audit_log(&AuditQuery {
            action: Some("approve".into()),
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let refused: Vec<(String, Option<String>)> = denied
        .iter()
        .filter(|r| r.event.outcome.name() == "denied")
        .map(|r| (r.event.actor.clone(), r.event.code.clone()))
        .collect();
    assert!(refused.contains(&("user:kate".into(), Some("self_approval".into()))));
    assert!(refused.contains(&("user:ada".into(), Some("not_an_approver".into()))));
}

/// An approved request whose run fails is audited as a failure with its code
/// (it read as a success), and a second vote or a vote on a request that does not exist is
/// audited as a refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_approved_run_and_every_refused_vote_are_audited() {
    let center = Center::start().await;
    let ctl = &center.control;
    cards_with_two_versions(ctl).await;
    let (_, kate_acts) = center.person("kate", &[Role::KeyAdmin]).await;
    let (ken, ken_acts) = center.person("ken", &[Role::KeyAdmin]).await;
    let (kim, kim_acts) = center.person("kim", &[Role::SecurityAdmin]).await;

    // Two requests for the same destruction: the second can only fail when it runs.
    let first = request(ctl, &kate_acts, &destroy_version_1(), "key:cards".into())
        .await
        .unwrap();
    let second = request(ctl, &kate_acts, &destroy_version_1(), "key:cards".into())
        .await
        .unwrap();
    for filed in [&first, &second] {
        let hash = Some(filed.request.params_hash());
        vote(ctl, &ken, &ken_acts, filed.id, true, hash)
            .await
            .unwrap();
        if filed.id == first.id {
            let again = vote(ctl, &ken, &ken_acts, filed.id, true, hash)
                .await
                .unwrap_err();
            assert_eq!(again.code(), "already_voted");
        }
        vote(ctl, &kim, &kim_acts, filed.id, true, hash)
            .await
            .unwrap();
    }
    let failed = load(ctl, second.id).await.unwrap();
    let code = failed.result.as_deref().unwrap_or_default().to_owned();
    assert!(code.contains("\"error\""), "{code}");
    let missing = vote(ctl, &ken, &ken_acts, 9_999, true, None)
        .await
        .unwrap_err();

    center.clock.advance_millis(1);
    let log = ctl
        .store
        .audit_log(&AuditQuery {
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let runs: Vec<(String, Option<String>)> = log
        .iter()
        .filter(|r| r.event.action == "execute_approval")
        .map(|r| (r.event.outcome.name().to_owned(), r.event.target.clone()))
        .collect();
    assert!(
        runs.contains(&("success".into(), Some(format!("approval:{}", first.id)))),
        "{runs:?}"
    );
    assert!(
        runs.contains(&("failed".into(), Some(format!("approval:{}", second.id)))),
        "{runs:?}"
    );
    let refused: Vec<(String, Option<String>)> = log
        .iter()
        .filter(|r| r.event.action == "approve" && r.event.outcome.name() == "denied")
        .map(|r| (r.event.actor.clone(), r.event.code.clone()))
        .collect();
    assert!(
        refused.contains(&("user:ken".into(), Some("already_voted".into()))),
        "{refused:?}"
    );
    assert!(
        refused.contains(&("user:ken".into(), Some(missing.code().to_owned()))),
        "{refused:?}"
    );
}
