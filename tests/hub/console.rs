//! The console's handlers over real HTTPS with client certificates: every
//! page, the refusals, and every form error in Chinese. The browser test
//! (tests/console_browser.rs) does the same round in Chromium; these are
//! the cases a browser does not reach easily (declared sizes, forged
//! posts, nothing stored) and they run in every `cargo test`.

use std::net::SocketAddr;
use std::sync::Arc;

use hedui_tls::{ClientTls, Role, TlsFiles};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use tokio::sync::watch;

use crate::helpers::{TestSystem, household};

/// A console running on `sys`'s hub, and its address.
struct Console {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

async fn console(sys: &TestSystem) -> Console {
    let c = hedui_console::Console::bind(
        "127.0.0.1:0".parse().unwrap(),
        sys.pki.files(&Role::Hub, "hub-console"),
        sys.state.clone(),
        hedui_console::Settings::default(),
    )
    .await
    .unwrap();
    let addr = c.local_addr();
    let (stop, mut rx) = watch::channel(false);
    let task = tokio::spawn(c.serve_until(async move {
        let _ = rx.wait_for(|s| *s).await;
    }));
    Console { addr, stop, task }
}

#[tokio::test]
async fn a_browser_without_a_certificate_is_refused_in_the_handshake_and_logged() {
    let sys = TestSystem::start().await;
    let c = console(&sys).await;
    // A client that trusts the CA but presents no certificate of its own.
    let roots = {
        let mut r = rustls::RootCertStore::empty();
        let pem = std::fs::read(sys.pki.files(&Role::Caseworker, "x").ca).unwrap();
        for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&pem) {
            r.add(cert.unwrap()).unwrap();
        }
        r
    };
    let config = rustls::ClientConfig::builder_with_provider(hedui_tls::crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(c.addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    // TLS 1.3: the refusal arrives with the first read after the handshake.
    let refused = match connector.connect(name, tcp).await {
        Err(_) => true,
        Ok(mut stream) => {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            let _ = stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
            let mut buf = [0u8; 64];
            !matches!(stream.read(&mut buf).await, Ok(n) if n > 0)
        }
    };
    assert!(refused, "a connection without a certificate was served");
    let _ = c.stop.send(true);
    c.task.await.unwrap();
    assert!(entries_with(&sys, "connection.refused", "UNAUTHENTICATED").await >= 1);
}

/// A browser holding one certificate.
struct Browser {
    send: hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    addr: SocketAddr,
}

struct Page {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

async fn browser(addr: SocketAddr, files: TlsFiles) -> Browser {
    let tls = ClientTls::load(files).unwrap();
    let connector = tokio_rustls::TlsConnector::from(tls.current());
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let stream = connector.connect(name, tcp).await.unwrap();
    let (send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    Browser { send, addr }
}

impl Browser {
    async fn request(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Page {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("https://{}{path}", self.addr));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self
            .send
            .send_request(req.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.request("GET", path, &[], Vec::new()).await
    }

    /// A form as a browser posts it from one of the console's pages.
    async fn post(&mut self, path: &str, pairs: &[(&str, &str)]) -> Page {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        self.request(
            "POST",
            path,
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("sec-fetch-site", "same-origin"),
            ],
            s.finish().into_bytes(),
        )
        .await
    }

    /// The CSRF token on a page of the console.
    async fn token(&mut self) -> String {
        let page = self.get("/verify/new").await;
        let at = page.body.find("name=\"_csrf\" value=\"").expect("a token in the form");
        page.body[at + 20..at + 84].to_owned()
    }
}

fn title(p: &Page) -> &str {
    let start = p.body.find("<title>").map(|i| i + 7).unwrap_or(0);
    let end = p.body.find("</title>").unwrap_or(start);
    &p.body[start..end]
}

async fn entries_with(sys: &TestSystem, action: &str, status: &str) -> usize {
    let entries = sys.state.store.audit_all().await.unwrap();
    entries
        .iter()
        .filter(|e| e.action == action && e.status == status)
        .count()
}

#[tokio::test]
async fn every_page_answers_in_chinese_with_the_security_headers() {
    let sys = TestSystem::start().await;
    let record = sys
        .hub
        .clone()
        .submit_verification(crate::helpers::request(&household("qualifies"), "console-pages"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    let c = console(&sys).await;
    let mut cw = browser(c.addr, sys.pki.files(&Role::Caseworker, "zhang.san")).await;
    let id = &record.record_id;
    for path in [
        "/".to_owned(),
        "/verify/new".into(),
        "/records".into(),
        "/records?verdict=1&latest=0".into(),
        format!("/records/{id}"),
        format!("/records/{id}/report"),
        "/batches".into(),
    ] {
        let p = cw.get(&path).await;
        assert_eq!(p.status, 200, "{path}: {}", p.body);
        assert!(
            title(&p).chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{path}: title {:?}",
            title(&p)
        );
        let csp = p.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline'; img") || csp.contains("style-src"),
            "{csp}"
        );
        assert!(
            !csp.split(';')
                .any(|d| d.trim().starts_with("script-src") && d.contains("unsafe-inline")),
            "{csp}"
        );
        assert_eq!(p.headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(p.headers["cache-control"], "no-store", "{path}");
        assert!(
            !hedui_i18n::has_english_sentence(&strip_tags(&p.body)) || path.ends_with("/report"),
            "{path}: English on the page"
        );
    }
    // Reading the record in the console is a GetRecord in the audit log,
    // exactly as over gRPC, under the caseworker's name.
    let entries = sys.state.store.audit_all().await.unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "GetRecord" && e.actor == "caseworker:zhang.san" && e.status == "OK")
    );
    // In lists, ID numbers are masked.
    let list = cw.get("/records").await;
    let applicant = &household("qualifies").household.members[0].id_number;
    assert!(!list.body.contains(applicant.as_str()));
    // An unknown record and a malformed id are 404 pages in Chinese.
    for path in [
        format!("/records/{}", uuid::Uuid::new_v4()),
        "/records/nope".to_owned(),
        "/no/such/page".into(),
    ] {
        let p = cw.get(&path).await;
        assert_eq!(p.status, 404, "{path}");
        assert!(p.body.contains("未找到") || p.body.contains("页面不存在"), "{path}");
    }
    let _ = c.stop.send(true);
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    let mut in_style = false;
    for (i, ch) in html.char_indices() {
        if ch == '<' {
            inside = true;
            in_style = html[i..].starts_with("<style") || (in_style && !html[i..].starts_with("</style"));
        } else if ch == '>' {
            inside = false;
            out.push(' ');
        } else if !inside && !in_style {
            out.push(ch);
        }
    }
    out
}

#[tokio::test]
async fn a_caseworker_is_refused_the_auditor_and_admin_pages_and_the_attempt_is_logged() {
    let sys = TestSystem::start().await;
    let c = console(&sys).await;
    let mut cw = browser(c.addr, sys.pki.files(&Role::Caseworker, "zhang.san")).await;
    for path in ["/audit", "/audit/who?id_number=110101197310286235", "/audit/export"] {
        let p = cw.get(path).await;
        assert_eq!(p.status, 403, "{path}");
        assert!(p.body.contains("无权访问"), "{path}");
    }
    assert!(entries_with(&sys, "audit.ListAuditEntries", "PERMISSION_DENIED").await >= 1);
    assert!(entries_with(&sys, "audit.WhoAccessed", "PERMISSION_DENIED").await >= 1);
    let p = cw.get("/admin/departments").await;
    assert_eq!(p.status, 403);
    assert_eq!(
        entries_with(&sys, "console.department_status", "PERMISSION_DENIED").await,
        1
    );
    // The auditor may.
    let mut au = browser(c.addr, sys.pki.files(&Role::Auditor, "li.si")).await;
    let p = au.get("/audit").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("检查点"));
    let p = au.get("/audit/who?id_number=110101197310286235").await;
    assert_eq!(p.status, 200);
    let mut admin = browser(c.addr, sys.pki.files(&Role::Admin, "wang.wu")).await;
    let p = admin.get("/admin/departments").await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("<svg"));
    let p = admin.get("/admin/service-report?quarter=2026Q4").await;
    assert_eq!(p.status, 200);
    // The service report is the hub's handler: it refuses the caseworker
    // and logs the refusal as the gRPC call would.
    let p = cw.get("/admin/service-report").await;
    assert_eq!(p.status, 403);
    assert_eq!(
        entries_with(&sys, "audit.GetDepartmentReport", "PERMISSION_DENIED").await,
        1
    );
    let _ = c.stop.send(true);
}

/// The console's service report and `GetDepartmentReport` show the same
/// figures, because the page calls the same handler; a bad quarter is a
/// 400 that names the quarter.
#[tokio::test]
async fn the_service_report_page_shows_the_hubs_figures() {
    let sys = TestSystem::start().await;
    let mut hub = sys.hub.clone();
    let h = household("qualifies");
    for n in 0..3 {
        hub.submit_verification(crate::helpers::request(&h, &format!("page-{n}")))
            .await
            .unwrap();
    }
    let c = console(&sys).await;
    let mut admin = browser(c.addr, sys.pki.files(&Role::Admin, "wang.wu")).await;
    let quarter = hedui_domain::quarter::Quarter::containing(chrono::Utc::now());
    // No quarter: the current one.
    let page = admin.get("/admin/service-report").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let rpc = hedui_proto::v1::audit_service_client::AuditServiceClient::new(sys.pki.channel(
        sys.hub_addr,
        &Role::Admin,
        "wang.wu",
    ))
    .get_department_report(hedui_proto::v1::GetDepartmentReportRequest {
        quarter: quarter.to_string(),
    })
    .await
    .unwrap()
    .into_inner();
    let text = strip_tags(&page.body);
    assert!(
        text.contains(&hedui_report::departments::quarter_zh(&quarter.to_string())),
        "{text}"
    );
    let now = rpc.current.as_ref().unwrap();
    assert_eq!(now.requests, 3);
    for f in &now.departments {
        let d = hedui_proto::v1::Department::try_from(f.department).unwrap();
        assert_eq!(f.queries, 3, "{d:?}");
        // The department's row: its name, then this quarter's queries, the
        // previous quarter's, the change and the answered share.
        let row = format!(
            "{}  {}  0  +{}  {}",
            hedui_domain::department::name_zh(d),
            f.queries,
            f.queries,
            hedui_report::departments::answered_share(f)
        );
        let flat = text.split_whitespace().collect::<Vec<_>>().join("  ");
        assert!(flat.contains(&row), "{row}\n{flat}");
    }
    let p = admin.get("/admin/service-report?quarter=2026Q5").await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("季度"), "{}", p.body);
    assert_eq!(
        entries_with(&sys, "audit.GetDepartmentReport", "INVALID_ARGUMENT").await,
        1
    );
    assert_eq!(entries_with(&sys, "audit.GetDepartmentReport", "OK").await, 2);
    let _ = c.stop.send(true);
}

#[tokio::test]
async fn forged_posts_are_refused_and_logged() {
    let sys = TestSystem::start().await;
    let c = console(&sys).await;
    let mut cw = browser(c.addr, sys.pki.files(&Role::Caseworker, "zhang.san")).await;
    // No token.
    let p = cw.post("/verify", &[("household_ref", "DJ-X")]).await;
    assert_eq!(p.status, 403);
    // Another certificate's token.
    let mut other = browser(c.addr, sys.pki.files(&Role::Caseworker, "li.ming")).await;
    let theirs = other.token().await;
    let p = cw
        .post("/verify", &[("_csrf", &theirs), ("household_ref", "DJ-X")])
        .await;
    assert_eq!(p.status, 403);
    // The right token, from another site.
    let mine = cw.token().await;
    let p = cw
        .request(
            "POST",
            "/verify",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("sec-fetch-site", "cross-site"),
            ],
            format!("_csrf={mine}").into_bytes(),
        )
        .await;
    assert_eq!(p.status, 403);
    assert_eq!(entries_with(&sys, "console.csrf", "PERMISSION_DENIED").await, 3);
    // A body declared over the form limit is refused before it is read.
    let p = cw
        .request(
            "POST",
            "/verify",
            &[("content-length", &(hedui_console::MAX_FORM_BYTES + 1).to_string())],
            vec![b'a'; hedui_console::MAX_FORM_BYTES + 1],
        )
        .await;
    assert_eq!(p.status, 413);
    assert!(p.body.contains("过大"));
    assert!(
        sys.state
            .store
            .list_records(&Default::default())
            .await
            .unwrap()
            .is_empty()
    );
    let _ = c.stop.send(true);
}

/// The form's fields for a sandbox household.
fn form_for(h: &hedui_adapter::sandbox::SandboxHousehold, token: &str, key: &str) -> Vec<(String, String)> {
    let today = chrono::Utc::now().date_naive();
    let auth = crate::helpers::authorization(&h.household, "SQ-CONSOLE-1");
    let mut f: Vec<(String, String)> = vec![
        ("_csrf".into(), token.into()),
        ("idempotency_key".into(), key.into()),
        ("household_ref".into(), h.household.household_ref.clone()),
        ("residence".into(), h.household.residence.to_string()),
        ("purpose".into(), "1".into()),
        ("authorization_ref".into(), "SQ-CONSOLE-1".into()),
        (
            "window_from".into(),
            hedui_domain::window::IncomeWindow::last_months(today, 12)
                .to_proto()
                .from_month,
        ),
        (
            "window_to".into(),
            hedui_domain::window::IncomeWindow::last_months(today, 12)
                .to_proto()
                .to_month,
        ),
        ("asset_date".into(), today.to_string()),
        ("signed_date".into(), auth.signed_date.clone()),
        ("valid_until".into(), auth.valid_until.clone()),
        ("scan_sha256".into(), auth.scan_sha256.clone()),
    ];
    for m in &h.household.members {
        let signs = auth
            .signers
            .iter()
            .any(|s| !s.as_guardian && s.id_number == m.id_number);
        f.push(("m_name".into(), m.name.clone()));
        f.push(("m_id".into(), m.id_number.clone()));
        f.push(("m_relation".into(), m.relation.to_string()));
        f.push(("m_incapable".into(), if m.lacks_capacity { "1" } else { "0" }.into()));
        f.push(("m_signs".into(), if signs { "1" } else { "0" }.into()));
    }
    for g in auth.signers.iter().filter(|s| s.as_guardian) {
        let positions: Vec<String> = g
            .on_behalf_of
            .iter()
            .filter_map(|id| h.household.members.iter().position(|m| &m.id_number == id))
            .map(|i| (i + 1).to_string())
            .collect();
        f.push(("g_name".into(), g.name.clone()));
        f.push(("g_id".into(), g.id_number.clone()));
        f.push(("g_for".into(), positions.join(",")));
    }
    f
}

fn pairs(f: &[(String, String)]) -> Vec<(&str, &str)> {
    f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[tokio::test]
async fn the_form_names_each_mistake_in_chinese_and_stores_nothing_until_it_is_right() {
    let sys = TestSystem::start().await;
    let c = console(&sys).await;
    let mut cw = browser(c.addr, sys.pki.files(&Role::Caseworker, "zhang.san")).await;
    let token = cw.token().await;
    // A qualifying household with a member a guardian signs for.
    let h = crate::helpers::sandbox()
        .households()
        .iter()
        .find(|h| {
            h.scenario == "qualifies"
                && h.household.members.len() >= 3
                && crate::helpers::authorization(&h.household, "x")
                    .signers
                    .iter()
                    .any(|s| s.as_guardian)
        })
        .expect("a qualifying household with a guardian")
        .clone();
    let good = form_for(&h, &token, "console-form-1");
    assert!(good.iter().any(|(k, _)| k == "g_for"), "the form carries a guardian");

    // The second member's ID number with a wrong check character.
    let mut bad = good.clone();
    let second = bad.iter().filter(|(k, _)| k == "m_id").nth(1).map(|(_, v)| v.clone());
    assert!(second.is_some(), "the household has a second member");
    if let Some(id) = second {
        let mut wrong = id.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == '0' { '1' } else { '0' });
        for (k, v) in bad.iter_mut() {
            if k == "m_id" && *v == id {
                *v = wrong.clone();
            }
        }
        let p = cw.post("/verify", &pairs(&bad)).await;
        assert_eq!(p.status, 400);
        assert!(
            p.body.contains("第2位成员·身份证号：校验码应为"),
            "{}",
            strip_tags(&p.body)
        );
    }
    // Dates, the window, the scan hash, a guardian for nobody: each named.
    let mut bad = good.clone();
    for (k, v) in bad.iter_mut() {
        match k.as_str() {
            "asset_date" => *v = "2026-13-45".into(),
            "window_from" => *v = "2020-01".into(),
            "scan_sha256" => *v = "xyz".into(),
            _ => {}
        }
    }
    bad.push(("g_name".into(), "某监护人".into()));
    bad.push(("g_id".into(), h.household.members[0].id_number.clone()));
    bad.push(("g_for".into(), "9".into()));
    let p = cw.post("/verify", &pairs(&bad)).await;
    assert_eq!(p.status, 400);
    let text = strip_tags(&p.body);
    assert!(text.contains("资产基准日："), "{text}");
    assert!(text.contains("收入起始月") || text.contains("收入区间"), "{text}");
    assert!(text.contains("扫描件 SHA-256："), "{text}");
    assert!(text.contains("没有第 9 位成员"), "{text}");
    let summary = &text[text.find("请修改以下内容").unwrap()..text.find("家庭 户编号").unwrap_or(text.len())];
    assert!(!hedui_i18n::has_english_sentence(summary), "English in {summary}");
    // Nothing was stored and no department was asked.
    assert!(
        sys.state
            .store
            .list_records(&Default::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        sys.calls
            .iter()
            .all(|n| n.load(std::sync::atomic::Ordering::SeqCst) == 0)
    );

    // Right: a record, and the result page. Sent twice (a double click),
    // it is one record.
    let p = cw.post("/verify", &pairs(&good)).await;
    assert_eq!(p.status, 303, "{}", strip_tags(&p.body));
    let location = p.headers["location"].to_str().unwrap().to_owned();
    let again = cw.post("/verify", &pairs(&good)).await;
    assert_eq!(again.headers["location"].to_str().unwrap(), location);
    assert_eq!(
        sys.state.store.list_records(&Default::default()).await.unwrap().len(),
        1
    );
    let page = cw.get(&location).await;
    assert!(page.body.contains("符合条件"));

    // A review: an objection without its note is named; a confirmation is stored.
    let token = cw.token().await;
    let p = cw
        .post(
            &format!("{location}/review"),
            &[("_csrf", &token), ("outcome", "3"), ("note", "")],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(strip_tags(&p.body).contains("备注："));
    let p = cw
        .post(
            &format!("{location}/review"),
            &[("_csrf", &token), ("outcome", "1"), ("note", "入户核实")],
        )
        .await;
    assert_eq!(p.status, 303);
    assert!(cw.get(&location).await.body.contains("入户核实"));
    // A re-check with no department ticked is named; with one, version 2.
    let p = cw
        .post(
            &format!("{location}/recheck"),
            &[("_csrf", &token), ("idempotency_key", "rk-1")],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(strip_tags(&p.body).contains("请至少勾选一个部门"));
    let tax = (hedui_proto::v1::Department::Tax as i32).to_string();
    let p = cw
        .post(
            &format!("{location}/recheck"),
            &[("_csrf", &token), ("idempotency_key", "rk-2"), ("department", &tax)],
        )
        .await;
    assert_eq!(p.status, 303, "{}", strip_tags(&p.body));
    let v2 = p.headers["location"].to_str().unwrap().to_owned();
    assert_ne!(v2, location);
    assert!(cw.get(&v2).await.body.contains("第 2 版"));
    let _ = c.stop.send(true);
}

#[tokio::test]
async fn an_upload_that_is_not_a_roster_gets_a_clear_message_and_starts_nothing() {
    let sys = TestSystem::start().await;
    let c = console(&sys).await;
    let mut cw = browser(c.addr, sys.pki.files(&Role::Caseworker, "zhang.san")).await;
    let token = cw.token().await;
    let boundary = "----hedui";
    let part = |name: &str, file: Option<&str>, value: &[u8]| {
        let mut p = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"");
        if let Some(f) = file {
            p.push_str(&format!("; filename=\"{f}\"\r\nContent-Type: application/octet-stream"));
        }
        p.push_str("\r\n\r\n");
        let mut b = p.into_bytes();
        b.extend_from_slice(value);
        b.extend_from_slice(b"\r\n");
        b
    };
    for (file, content) in [
        ("名单.pdf", b"%PDF-1.4 not a roster".as_slice()),
        ("名单.xlsx", b"this is not a zip".as_slice()),
        ("名单.et", b"WPS".as_slice()),
    ] {
        let mut body = Vec::new();
        body.extend(part("_csrf", None, token.as_bytes()));
        body.extend(part("purpose", None, b"1"));
        body.extend(part("roster", Some(file), content));
        body.extend(format!("--{boundary}--\r\n").into_bytes());
        let ct = format!("multipart/form-data; boundary={boundary}");
        let p = cw
            .request(
                "POST",
                "/batches",
                &[("content-type", &ct), ("sec-fetch-site", "same-origin")],
                body,
            )
            .await;
        assert_eq!(p.status, 400, "{file}: {}", strip_tags(&p.body));
        let text = strip_tags(&p.body);
        assert!(text.contains("未开始核对"), "{file}: {text}");
        assert!(text.contains(file), "{file}: the message names the file: {text}");
    }
    let batches = sys.state.store.list_batches(100).await.unwrap();
    assert!(batches.is_empty(), "no batch was created");
    let _ = c.stop.send(true);
}

/// The batch page offers "取消批次" only to whom the hub lets cancel: the
/// batch's creator and admins.
#[tokio::test]
async fn only_the_creator_and_admins_are_offered_to_cancel_a_batch() {
    use hedui_proto::v1::batch_service_client::BatchServiceClient;
    let sys = TestSystem::start().await;
    let c = console(&sys).await;
    let mut batches = BatchServiceClient::new(sys.pki.channel(sys.hub_addr, &Role::Caseworker, "zhang.san"));
    let id = batches
        .create_batch(hedui_proto::v1::CreateBatchRequest {
            purpose: hedui_proto::v1::Purpose::MinimumLiving as i32,
            income_window: Some(
                hedui_domain::window::IncomeWindow::last_months(chrono::Utc::now().date_naive(), 12).to_proto(),
            ),
            asset_reference_date: String::new(),
            label: "复核".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap()
        .batch_id;
    let path = format!("/batches/{id}");
    for (role, name, offered) in [
        (Role::Caseworker, "zhang.san", true),
        (Role::Caseworker, "wang.wu", false),
        (Role::Admin, "ops", true),
        (Role::Auditor, "li.si", false),
    ] {
        let mut b = browser(c.addr, sys.pki.files(&role, name)).await;
        let page = b.get(&path).await;
        assert_eq!(page.status, 200, "{name}: {}", page.body);
        assert_eq!(page.body.contains("取消批次"), offered, "{name}");
    }
    let _ = c.stop.send(true);
    let _ = c.task.await;
}

/// Whether a browser holding `files` gets a page from the console at all.
async fn served(addr: SocketAddr, files: TlsFiles) -> bool {
    let tls = ClientTls::load(files).unwrap();
    let connector = tokio_rustls::TlsConnector::from(tls.current());
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let Ok(stream) = connector.connect(name, tcp).await else {
        return false;
    };
    // TLS 1.3: a refused certificate shows at the first exchange.
    let Ok((mut send, conn)) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    else {
        return false;
    };
    tokio::spawn(conn);
    let req = http::Request::builder()
        .uri(format!("https://{addr}/"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    send.send_request(req).await.is_ok()
}

#[tokio::test]
async fn the_console_refuses_a_revoked_certificate_after_the_list_is_reloaded() {
    let sys = TestSystem::start().await;
    sys.pki.publish_crl();
    let hub_files = TlsFiles {
        crl: Some(sys.pki.crl()),
        ..sys.pki.files(&Role::Hub, "hub-console")
    };
    let c = hedui_console::Console::bind(
        "127.0.0.1:0".parse().unwrap(),
        hub_files,
        sys.state.clone(),
        hedui_console::Settings::default(),
    )
    .await
    .unwrap();
    let addr = c.local_addr();
    let (stop, mut rx) = watch::channel(false);
    let task = tokio::spawn(c.serve_until(async move {
        let _ = rx.wait_for(|s| *s).await;
    }));
    let zhang = sys.pki.files(&Role::Caseworker, "zhang.console");
    let li = sys.pki.files(&Role::Caseworker, "li.console");
    assert!(served(addr, zhang.clone()).await);

    sys.pki.revoke(&zhang);
    tokio::time::sleep(hedui_tls::RELOAD_CHECK_INTERVAL + std::time::Duration::from_millis(200)).await;
    assert!(!served(addr, zhang).await, "a revoked certificate was served");
    assert!(served(addr, li).await);
    let _ = stop.send(true);
    task.await.unwrap();
    assert!(entries_with(&sys, "connection.refused", "UNAUTHENTICATED").await >= 1);
}

#[tokio::test]
async fn a_record_erased_under_retention_says_so_in_chinese_and_stays_listed() {
    let sys = TestSystem::start().await;
    let record = sys
        .hub
        .clone()
        .submit_verification(crate::helpers::request(&household("qualifies"), "console-retention"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    let mut old = record.clone();
    old.record_id = uuid::Uuid::now_v7().to_string();
    old.created_at = "2019-03-01T10:00:00.000Z".into();
    hedui_domain::digest::seal(&mut old);
    crate::helpers::store_as_hub(&sys, &mut old, "console-retention-old").await;
    let erased = sys
        .state
        .store
        .erase_expired("2021-01-01T00:00:00.000Z", "2026-12-06T01:00:00.000Z", 10)
        .await
        .unwrap();
    assert_eq!(erased.records, 1);
    let c = console(&sys).await;
    let mut cw = browser(c.addr, sys.pki.files(&Role::Caseworker, "zhang.san")).await;
    let page = cw.get(&format!("/records/{}", old.record_id)).await;
    assert_eq!(page.status, 410, "{}", page.body);
    assert!(page.body.contains("记录已超过保存期限"), "{}", page.body);
    assert!(page.body.contains("已于 2026-12-06 按保存期限删除"), "{}", page.body);
    let list = cw.get("/records").await;
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains("（已超过保存期限，内容已于 2026-12-06 删除）"),
        "{}",
        list.body
    );
    // Today's record is untouched.
    let page = cw.get(&format!("/records/{}", record.record_id)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let _ = c.stop.send(true);
    let _ = c.task.await;
}
