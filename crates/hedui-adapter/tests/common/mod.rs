//! What the adapter's integration tests share: the hub's test key, valid ID
//! numbers and a granted query. Each test binary uses only some of it.
#![allow(dead_code)]

use hedui_domain::ids::resident_check_char;
use hedui_domain::window::IncomeWindow;
use hedui_proto::v1::{Department, Person, Purpose, QueryRequest};
use hedui_trust::SigningKey;

/// The hub's grant key in these tests.
pub fn hub_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// A valid resident ID number from its first 17 characters.
pub fn id(first17: &str) -> String {
    format!("{first17}{}", resident_check_char(first17).expect("17 digits"))
}

/// A valid query with the hub's grant for the tax department.
pub fn query() -> QueryRequest {
    let today = chrono::Utc::now().date_naive();
    let ids = [id("52062619800101001")];
    let mut q = QueryRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        purpose: Purpose::MinimumLiving as i32,
        persons: ids
            .iter()
            .map(|i| Person {
                name: "张三".into(),
                id_number: i.clone(),
            })
            .collect(),
        income_window: Some(IncomeWindow::last_months(today, 12).to_proto()),
        asset_reference_date: today.format("%Y-%m-%d").to_string(),
        authorization_ref: "SQ-2026-0001".into(),
        grant: Vec::new(),
    };
    let signed = hedui_trust::grant::issue(
        &q.request_id,
        Purpose::MinimumLiving,
        &ids,
        q.income_window.as_ref().unwrap(),
        &q.authorization_ref,
        Department::Tax,
        chrono::Utc::now().timestamp_millis(),
        60_000,
        &hub_key(),
    );
    q.grant = hedui_trust::grant::encode(&signed);
    q
}
