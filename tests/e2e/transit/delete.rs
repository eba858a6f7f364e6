//! Deleting a key through Transit, with the Vault client: refused until the key's
//! `deletion_allowed` is set, then the key is gone everywhere (data plane, listings, workers'
//! caches) and its name free, while the audit trail keeps the deletion.

use kms_engine::audit::Outcome;
use kms_engine::ids::KeyVersion;
use vaultrs::api::transit::requests::UpdateKeyConfigurationRequest;
use vaultrs::api::transit::responses::ReadKeyData;
use vaultrs::transit::{data, key};

use super::{MOUNT, api_error, client, runtime};
use crate::access::audit;
use crate::support::*;

#[test]
fn a_key_is_deleted_once_deletion_is_allowed_and_its_name_is_free_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let base = server.url("");
    let http = Http::new(&server);
    let root = client(&base, ROOT);
    let app_token = http.create_app("ledger-app");
    let app = client(&base, &app_token);
    let card = b64(b"4111111111111111");
    runtime().block_on(async {
        key::create(&root, MOUNT, "ledger", None).await.unwrap();
        http.grant("ledger", "ledger-app", &["encrypt", "decrypt"]);
        let old = data::encrypt(&app, MOUNT, "ledger", &card, None)
            .await
            .unwrap()
            .ciphertext;
        let id = server.state.directory.load().key("ledger").unwrap().id;
        let v1 = KeyVersion::new(1).unwrap();
        assert!(server.state.pool.cached_for_test(id).contains(&v1));

        // Not allowed by default: refused, as Vault refuses it, and the key keeps working.
        assert!(
            !key::read(&root, MOUNT, "ledger")
                .await
                .unwrap()
                .deletion_allowed
        );
        let (status, errors) = api_error(key::delete(&root, MOUNT, "ledger").await);
        assert_eq!(status, 400);
        assert!(
            errors[0].starts_with("deletion_not_allowed: "),
            "{errors:?}"
        );
        let opened = data::decrypt(&app, MOUNT, "ledger", &old, None)
            .await
            .unwrap();
        assert_eq!(unb64(&opened.plaintext), b"4111111111111111");
        // An application may not delete, whatever its grants; a missing key is a 400, as in
        // Vault (only a read of a missing key is a 404).
        assert_eq!(api_error(key::delete(&app, MOUNT, "ledger").await).0, 403);
        assert_eq!(
            api_error(key::delete(&root, MOUNT, "no-such-key").await).0,
            400
        );

        // Allowed through the key's configuration, which read shows and the native view too.
        key::update(
            &root,
            MOUNT,
            "ledger",
            Some(UpdateKeyConfigurationRequest::builder().deletion_allowed(Some(true))),
        )
        .await
        .unwrap();
        assert!(
            key::read(&root, MOUNT, "ledger")
                .await
                .unwrap()
                .deletion_allowed
        );
        let (_, view) = http.get("/v1/admin/keys/ledger", Some(ROOT));
        assert_eq!(view["deletion_allowed"], true, "{view}");
        let history = view["history"].as_array().unwrap();
        let configured = history.last().unwrap();
        assert_eq!(configured["action"], "configure", "{view}");
        assert!(
            configured["reason"]
                .as_str()
                .unwrap()
                .ends_with("(deletion_allowed=true)"),
            "{view}"
        );

        key::delete(&root, MOUNT, "ledger").await.unwrap();

        // Gone: Transit read, the native view and both listings; the workers hold none of it.
        assert_eq!(api_error(key::read(&root, MOUNT, "ledger").await).0, 404);
        assert_error(
            &http.get("/v1/admin/keys/ledger", Some(ROOT)),
            404,
            "key_not_found",
        );
        let (_, listed) = http.get("/v1/admin/keys", Some(ROOT));
        assert_eq!(listed["keys"], serde_json::json!([]), "{listed}");
        assert_eq!(api_error(key::list(&root, MOUNT).await).0, 404);
        assert!(server.state.pool.cached_for_test(id).is_empty());
        // The app's grant went with it: encrypting is refused, old ciphertexts no longer open.
        let (status, errors) = api_error(data::encrypt(&app, MOUNT, "ledger", &card, None).await);
        assert_eq!(status, 403);
        assert!(
            errors[0].starts_with("operation_not_granted: "),
            "{errors:?}"
        );
        let (status, errors) = api_error(data::decrypt(&app, MOUNT, "ledger", &old, None).await);
        assert_eq!(status, 403, "{errors:?}");
        let (status, errors) = api_error(data::decrypt(&root, MOUNT, "ledger", &old, None).await);
        assert_eq!(status, 400);
        assert!(errors[0].starts_with("key_not_found: "), "{errors:?}");
        // Deleting again: there is nothing to delete.
        assert_eq!(api_error(key::delete(&root, MOUNT, "ledger").await).0, 400);

        // The name is free: a new key of that name is a new key, version 1, that cannot open
        // what the deleted one sealed, and does not allow deletion until told so.
        key::create(&root, MOUNT, "ledger", None).await.unwrap();
        let reborn = key::read(&root, MOUNT, "ledger").await.unwrap();
        let ReadKeyData::Symmetric(versions) = &reborn.keys else {
            panic!("{reborn:?}")
        };
        assert_eq!(versions.keys().collect::<Vec<_>>(), ["1"]);
        assert!(!reborn.deletion_allowed);
        assert_ne!(server.state.directory.load().key("ledger").unwrap().id, id);
        let (status, errors) = api_error(data::decrypt(&root, MOUNT, "ledger", &old, None).await);
        assert_eq!(status, 400);
        assert!(errors[0].starts_with("decryption_failed: "), "{errors:?}");
        assert_eq!(
            api_error(data::encrypt(&app, MOUNT, "ledger", &card, None).await).0,
            403
        );
    });

    // The deletion is in the audit trail, and in the lifecycle events for webhooks.
    let deleted: Vec<_> = audit(&server, "root:dev")
        .into_iter()
        .filter(|r| r.event.action == "transit_delete_key")
        .collect();
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(deleted[0].event.outcome, Outcome::Success);
    assert_eq!(deleted[0].event.target.as_deref(), Some("key:ledger"));
    let (_, events) = http.get("/v1/admin/events", Some(ROOT));
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["key"] == "ledger")
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["key_deleted"], "{events}");
}
