//! `GET /ui`: who is signed in, with which roles, and the pages they may open.

use actix_web::{HttpRequest, HttpResponse, web};

use super::html::{esc, need_session, page};
use crate::state::AppState;

pub async fn handle(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let viewer = match need_session(&state, &req) {
        Ok(v) => v,
        Err(to_login) => return *to_login,
    };
    let pages = [
        (
            "/ui/keys",
            "Keys: versions, rotation, destruction",
            "list_keys",
        ),
        ("/ui/apps", "Apps and their tokens", "list_apps"),
        ("/ui/people", "People, their roles and state", "list_users"),
        ("/ui/approvals", "Approvals inbox", "list_approvals"),
        (
            "/ui/audit",
            "Audit trail and chain verification",
            "read_audit",
        ),
        ("/ui/zones", "Zones", "list_zones"),
        ("/ui/hsm", "HSM status and ceremonies", "hsm_status"),
    ];
    let items: String = pages
        .iter()
        .filter(|(_, _, action)| viewer.can(action))
        .map(|(href, label, _)| format!(r#"<li><a href="{href}">{label}</a></li>"#))
        .collect();
    let body = format!(
        r#"<p id="welcome">Signed in as <strong>{}</strong> ({}).</p><ul class="pages">{items}</ul>"#,
        esc(&viewer.actor),
        esc(&viewer.roles())
    );
    page(&viewer, "Console", &body)
}
