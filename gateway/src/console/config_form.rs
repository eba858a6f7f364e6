//! The key page's configuration section: the minimum decryption version, the rotation period and
//! the destruction notice period, and for who may configure the key (`configure_key`) the form
//! `key_config.rs` handles, filled with the current values.

use serde_json::Value;

use super::html::{csrf_field, t, url};
use super::session::Viewer;

pub fn section(viewer: &Viewer, name: &str, key: &Value) -> String {
    let facts = format!(
        r#"<h2>Configuration</h2><dl class="facts" id="config"><dt>Minimum decryption version</dt><dd id="min-decryption-version">{min}</dd><dt>Rotation period</dt><dd id="rotation-period">{period}</dd><dt>Destruction notice period</dt><dd id="notice-period">{notice}</dd></dl>"#,
        min = t(&key["min_decryption_version"]),
        period = if key["rotation_period"].is_null() {
            "none (no scheduled rotation)".to_owned()
        } else {
            t(&key["rotation_period"])
        },
        notice = t(&key["notice_period"]),
    );
    if !viewer.can("configure_key") {
        return facts;
    }
    format!(
        r#"{facts}<form method="post" action="/ui/keys/{n}/config" id="configure">{csrf}
<label>Minimum decryption version <input name="min_decryption_version" id="config-min" type="number" min="1" value="{min}"></label>
<label>Rotation period <input name="rotation_period" id="config-period" placeholder="90d" value="{period}"></label>
<label class="check"><input type="checkbox" name="no_rotation" id="config-no-rotation">no scheduled rotation</label>
<label>Destruction notice period <input name="notice_period" id="config-notice" placeholder="7d" value="{notice}"></label>
<label>Reason <input name="reason" id="config-reason" required></label>
<button id="configure-button">Save configuration</button></form>"#,
        n = url(name),
        csrf = csrf_field(viewer),
        min = t(&key["min_decryption_version"]),
        period = t(&key["rotation_period"]),
        notice = t(&key["notice_period"]),
    )
}
