//! The audit counter on PKCS#11 tokens: a private data object (`CKO_DATA`, label
//! `kms-audit-anchor`) whose value is the counter of audit seals and the last seal's entry and MAC
//! (`AuditAnchor::to_bytes`). Each seal writes it to every reachable token: a new object first,
//! then the old ones destroyed, so a crash leaves the old value or the new one (both, at worst,
//! and the larger counts). Reading takes the largest counter any reachable token holds.

use cryptoki::context::Pkcs11;
use cryptoki::error::Error;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use kms_engine::audit::AuditAnchor;

use super::token::{Conn, Token};
use crate::backend::{HsmError, check_advance};

pub const LABEL: &str = "kms-audit-anchor";

fn find(c: &mut Conn) -> Result<Vec<(ObjectHandle, Option<AuditAnchor>)>, Error> {
    let found = c.session.find_objects(&[
        Attribute::Class(ObjectClass::DATA),
        Attribute::Label(LABEL.as_bytes().to_vec()),
    ])?;
    let mut out = Vec::with_capacity(found.len());
    for handle in found {
        let value = c
            .session
            .get_attributes(handle, &[AttributeType::Value])?
            .into_iter()
            .find_map(|a| match a {
                Attribute::Value(v) => Some(v),
                _ => None,
            });
        out.push((handle, value.and_then(|v| AuditAnchor::from_bytes(&v))));
    }
    Ok(out)
}

fn template(anchor: &AuditAnchor) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::DATA),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Modifiable(false),
        Attribute::Label(LABEL.as_bytes().to_vec()),
        Attribute::Application(b"kms".to_vec()),
        Attribute::Value(anchor.to_bytes().to_vec()),
    ]
}

fn request_error(token: &str, e: &Error) -> HsmError {
    HsmError::Pkcs11(format!("token `{token}`: audit counter: {e}"))
}

/// The largest counter on any reachable token; `Unavailable` when no token answers.
pub fn current(ctx: &Pkcs11, tokens: &mut [Token]) -> Result<Option<AuditAnchor>, HsmError> {
    let mut best: Option<AuditAnchor> = None;
    let mut reached = false;
    let mut down = Vec::new();
    for token in tokens {
        let label = token.label.clone();
        match token.call(ctx, find) {
            Ok(Ok(objects)) => {
                reached = true;
                for anchor in objects.into_iter().filter_map(|(_, a)| a) {
                    if best.is_none_or(|b| anchor.seals > b.seals) {
                        best = Some(anchor);
                    }
                }
            }
            Ok(Err(e)) => return Err(request_error(&label, &e)),
            Err(e) => down.push(e.to_string()),
        }
    }
    if reached {
        Ok(best)
    } else {
        Err(HsmError::Unavailable(down.join("; ")))
    }
}

/// Writes `next` to every reachable token, refusing a counter that does not move forward.
pub fn advance(ctx: &Pkcs11, tokens: &mut [Token], next: &AuditAnchor) -> Result<(), HsmError> {
    check_advance(current(ctx, tokens)?.as_ref(), next)?;
    let mut written = 0;
    let mut down = Vec::new();
    for token in tokens {
        let label = token.label.clone();
        let result = token.call(ctx, |c| {
            let old = find(c)?;
            c.session.create_object(&template(next))?;
            for (handle, _) in old {
                c.session.destroy_object(handle)?;
            }
            Ok(())
        });
        match result {
            Ok(Ok(())) => written += 1,
            Ok(Err(e)) => return Err(request_error(&label, &e)),
            Err(e) => {
                tracing::warn!(token = %label, error = %e, "audit counter not written to this token");
                down.push(e.to_string());
            }
        }
    }
    if written == 0 {
        return Err(HsmError::Unavailable(down.join("; ")));
    }
    Ok(())
}
