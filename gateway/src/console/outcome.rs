//! What a change's answer says, as the notice at the top of the page: done, or filed as an
//! approval request (with a link to the inbox, where approvers vote and the requester collects
//! what the run leaves for them alone).

use actix_web::http::StatusCode;
use serde_json::Value;

use super::html::{notice, text};

/// `done` for an answer that ran; for a `202`, the request it filed and where it goes on.
pub fn notice_for(status: StatusCode, answer: &Value, done: &str, collect: Option<&str>) -> String {
    if status != StatusCode::ACCEPTED {
        return notice("ok", done);
    }
    let id = text(&answer["id"]);
    let then = collect.map_or_else(String::new, |what| {
        format!(" Once it has run, you collect {what} in the approvals inbox, once.")
    });
    format!(
        r#"{}<p><a href="/ui/approvals" id="to-inbox">Open the approvals inbox (request #{})</a></p>"#,
        notice(
            "pending",
            &format!(
                "Filed as approval request #{id} ({}): it runs once {} approver(s) agree.{then}",
                text(&answer["action"]),
                text(&answer["quorum"]),
            )
        ),
        super::html::esc(&id)
    )
}
