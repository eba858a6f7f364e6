//! A manage node forwards the control plane to the store with the same body limit as every other
//! route (`max_body_bytes`), and refuses a larger body with the same JSON `413`, stating the limit.

use crate::cluster::Cluster;
use crate::support::{ROOT, assert_error};

#[test]
fn a_manage_node_refuses_a_body_over_the_limit_with_the_json_413_and_forwards_one_under_it() {
    let cluster = Cluster::new(None);
    let _store = cluster.start_store();
    let manage = cluster.start_manage("127.0.0.6");
    let http = manage.http();
    let body = |pad: usize| format!(r#"{{"name":"k","pad":"{}"}}"#, "A".repeat(pad)).into_bytes();

    // Just over the default 1 MiB: the manage node answers, in JSON, with the limit in bytes.
    let (s, b, _) = http.post_raw(
        "/v1/admin/keys",
        Some(ROOT),
        "application/json",
        body(1 << 20),
    );
    let too_large = (s, b);
    assert_error(&too_large, 413, "payload_too_large");
    let message = too_large.1["error"]["message"].as_str().unwrap();
    assert!(message.contains("1048576 bytes"), "{message}");

    // 300 KiB: forwarded, and the store answers (it refuses the unknown field `pad`).
    let (s, b, _) = http.post_raw(
        "/v1/admin/keys",
        Some(ROOT),
        "application/json",
        body(300 << 10),
    );
    assert_error(&(s, b), 400, "invalid_json");
}
