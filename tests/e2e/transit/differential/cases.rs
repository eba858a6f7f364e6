//! The calls of the differential suite, in order (later calls use keys and values made by earlier
//! ones). Key management is in cases_keys.rs, data operations in cases_data.rs.

use super::{Call, cases_data, cases_keys};

pub fn all() -> Vec<Call> {
    let mut calls = cases_keys::create();
    calls.extend(cases_keys::read());
    calls.extend(cases_data::encrypt());
    calls.extend(cases_data::datakey());
    calls.extend(cases_data::hmac());
    calls.extend(cases_data::sign());
    calls.extend(cases_data::misc());
    calls.extend(cases_keys::lifecycle());
    calls.extend(cases_keys::byok());
    calls
}
