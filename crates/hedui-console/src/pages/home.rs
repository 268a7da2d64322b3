//! 工作台: what is waiting for the person.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use hedui_proto::v1::batch_service_server::BatchService as _;
use hedui_proto::v1::verification_service_server::VerificationService as _;
use hedui_proto::v1::{BatchState, ListBatchesRequest, ListRecordsRequest, RecordSummary, Verdict};
use http::StatusCode;
use maud::html;

use crate::layout;
use crate::layout::status_page;
use crate::pages::{batches, records};
use crate::state::{App, Who};

/// Rows of each list on the home page.
const HOME_ROWS: u32 = 10;

async fn records_of(app: &App, who: &Who, verdict: Verdict) -> Result<Vec<RecordSummary>, tonic::Status> {
    let req = ListRecordsRequest {
        verdict: verdict as i32,
        limit: HOME_ROWS,
        latest_only: true,
        ..Default::default()
    };
    Ok(app.verification.list_records(who.req(req)).await?.into_inner().records)
}

pub async fn page(State(app): State<Arc<App>>, who: Who) -> Response {
    let lists = async {
        let recent = records_of(&app, &who, Verdict::Unspecified).await?;
        let incomplete = records_of(&app, &who, Verdict::Incomplete).await?;
        let review = records_of(&app, &who, Verdict::NeedsReview).await?;
        let batches = app
            .batches
            .list_batches(who.req(ListBatchesRequest { limit: 50 }))
            .await?
            .into_inner()
            .batches;
        Ok::<_, tonic::Status>((recent, incomplete, review, batches))
    };
    let (recent, incomplete, review, batches) = match lists.await {
        Ok(l) => l,
        Err(s) => return status_page(&s),
    };
    let running: Vec<_> = batches
        .into_iter()
        .filter(|b| b.state == BatchState::Running as i32)
        .collect();
    let body = html! {
        h1 { "工作台" }
        @if who.is(hedui_tls::Role::Caseworker) {
            p.actions { a.button.primary href="/verify/new" { "新建核对" } " " a.button href="/batches" { "上传花名册批量核对" } }
        }
        section.panel {
            h2 { "核对不完整，待重新核对" }
            (records::summary_table(&incomplete))
        }
        section.panel {
            h2 { "需人工复核" }
            (records::summary_table(&review))
        }
        section.panel {
            h2 { "进行中的批量核对" }
            (batches::batch_table(&running))
        }
        section.panel {
            h2 { "最近的核对记录" }
            (records::summary_table(&recent))
            p { a href="/records" { "查看全部核对记录" } }
        }
    };
    layout::respond(StatusCode::OK, layout::page(Some(&who), "工作台", "home", body))
}
