//! `hedui demo`: the whole system in one process on loopback.
//!
//! It starts eight sandbox adapters and the hub on free ports, submits every
//! sample Dejiang household over real gRPC, prints a table, says where the
//! database is, and exits. Nothing here is special to the demo: the hub and
//! the adapters are the same code `hedui hub` and `hedui adapter` run.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use clap::Args;
use futures::StreamExt as _;
use hedui_domain::window::IncomeWindow;
use hedui_proto::v1::{FlagKind, Verdict, VerificationRecord};
use hedui_testkit::{Pki, QueryLogs};
use hedui_tls::Role;

use crate::render::{outcome_name, verdict_name};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the demo database; it is recreated on every run.
    #[arg(long, default_value = "hedui-demo")]
    pub data_dir: PathBuf,
    /// The policy file; defaults to the shipped example policy.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Print every household, not one per scenario.
    #[arg(long)]
    pub all: bool,
    /// Households verified at the same time.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Deadline for each department, in milliseconds. The hub's default is
    /// 10 s; the demo uses 3 s so that its simulated hung department does
    /// not keep you waiting.
    #[arg(long, default_value_t = 3_000)]
    pub deadline_ms: u64,
    /// After the demo, keep everything running and serve the caseworkers'
    /// web console (核对工作台) until Ctrl-C.
    #[arg(long)]
    pub console: bool,
    /// Where the console listens (with --console); port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:7443")]
    pub console_listen: SocketAddr,
    /// Also write every sample household as a household file
    /// (<DIR>/DJ-0001.toml, …) that `hedui verify` accepts, for trying
    /// them against a running sandbox.
    #[arg(long, value_name = "DIR")]
    pub write_households: Option<PathBuf>,
}

pub async fn run(a: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let policy = match &a.policy {
        Some(p) => crate::config::load_policy(p)?,
        None => hedui_domain::policy::Policy::from_toml(hedui_testkit::EXAMPLE_POLICY)
            .context("the built-in example policy")?,
    };
    std::fs::create_dir_all(&a.data_dir).with_context(|| format!("cannot create {}", a.data_dir.display()))?;
    let db = a.data_dir.join("hedui.db");
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("cannot remove the old demo database {}", p.display()))?;
        }
    }

    let today = chrono::Utc::now().date_naive();
    // A county CA for this run: every connection below is mutual TLS.
    let pki_dir = a.data_dir.join("pki");
    if pki_dir.exists() {
        std::fs::remove_dir_all(&pki_dir).with_context(|| format!("cannot remove the old {}", pki_dir.display()))?;
    }
    let mut county = hedui_testkit::Builder::new(Pki::create(&pki_dir, "dejiang-demo")?)
        // A throwaway hub key for this run: the hub signs every grant with
        // it and the adapters trust only its public half.
        .hub_key(hedui_trust::SigningKey::generate(&mut rand_core::OsRng))
        // Throwaway data keys too, kept beside the database (keys/data.key,
        // where `hedui record --database` looks), so the run can be read.
        .data_key_file(crate::pki_cmd::fresh_data_key_file(&a.data_dir.join("keys/data.key"))?)
        .deadline(Duration::from_millis(a.deadline_ms))
        .query_logs(QueryLogs {
            dir: a.data_dir.clone(),
            file: |d| format!("adapter-{}-queries.jsonl", hedui_domain::department::slug(d)),
            signing: None,
        })
        .database_url(format!("sqlite://{}", db.display()))
        .policy(policy)
        .audit_origin("hedui.demo/audit")
        .checkpoint_interval(Duration::from_secs(60));
    county.add_sandboxes().await?;
    let sandbox = county.sandbox_data();
    let sys = county.start().await?;
    let hub_addr = sys.hub_addr;
    let pki = &sys.pki;
    let console = if a.console {
        let console = hedui_console::Console::bind(
            a.console_listen,
            sys.hub_files.clone(),
            sys.state.clone(),
            hedui_console::Settings {
                bureau: "德江县民政局（演示）".to_owned(),
                county: "德江县".to_owned(),
                font: None,
            },
        )
        .await?;
        Some(console)
    } else {
        None
    };
    println!("hedui demo: 8 sandbox adapters and the hub are running on 127.0.0.1 (hub at {hub_addr})");

    let caseworker = pki.issue(&Role::Caseworker, "caseworker")?;
    let client_tls = crate::client::TlsArgs {
        ca: Some(caseworker.ca),
        cert: Some(caseworker.cert),
        key: Some(caseworker.key),
        crl: None,
    };
    let channel = crate::client::channel_to_hub(&format!("https://{hub_addr}"), &client_tls).await?;
    let client = hedui_proto::v1::verification_service_client::VerificationServiceClient::new(channel);
    println!(
        "every connection is mutual TLS under a county CA made for this run ({}); every query carries a grant signed by the hub",
        pki_dir.display()
    );
    let window = IncomeWindow::last_months(today, 12).to_proto();
    let households = sandbox.households();
    println!(
        "verifying {} sample households of 德江县 (income window {} .. {}) ...",
        households.len(),
        window.from_month,
        window.to_month
    );
    let verify_started = Instant::now();
    let mut results: Vec<(usize, VerificationRecord)> = futures::stream::iter(households.iter().enumerate())
        .map(|(i, h)| {
            let mut client = client.clone();
            let form = format!("SQ-{}-{:04}", today.format("%Y"), i + 1);
            let key = format!("demo-{}-{}", h.household.household_ref, uuid::Uuid::new_v4());
            let req = hedui_testkit::requests::request(&h.household, &form, &key, today);
            async move {
                let resp = client.submit_verification(req).await.map_err(crate::client::explain)?;
                let record = resp
                    .into_inner()
                    .record
                    .ok_or_else(|| anyhow!("the hub answered without a record"))?;
                anyhow::Ok((i, record))
            }
        })
        .buffer_unordered(a.concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let verify_elapsed = verify_started.elapsed();
    results.sort_by_key(|(i, _)| *i);
    if let Some(dir) = &a.write_households {
        write_households(dir, households, &results, today)?;
    }

    print_table(&results, households, a.all);
    print_totals(&results);
    println!(
        "\n{} households verified in {:.2} s ({:.0} households/s) over real gRPC; whole demo took {:.2} s.",
        results.len(),
        verify_elapsed.as_secs_f64(),
        results.len() as f64 / verify_elapsed.as_secs_f64().max(1e-9),
        started.elapsed().as_secs_f64()
    );
    let shown = results
        .iter()
        .find(|(_, r)| r.verdict == Verdict::NeedsReview as i32)
        .or(results.first());
    println!("Records are stored in {} (SQLite). To read one:", db.display());
    if let Some((_, r)) = shown {
        println!("  hedui record show {} --database {}", r.record_id, db.display());
    }
    println!("  hedui record list --verdict NEEDS_REVIEW --database {}", db.display());

    if let Some(console) = console {
        // The people of the console: a certificate each, as PEM for curl and
        // as a .p12 for a browser, all under one password printed here.
        let password = hedui_tls::pki::P12Password::generate()?;
        let mut p12s = Vec::new();
        for (role, name) in [
            (Role::Caseworker, "caseworker"),
            (Role::Auditor, "auditor"),
            (Role::Admin, "admin"),
        ] {
            let issued = pki.ca().issue(&role, name, 30, &[])?;
            issued.save(&pki_dir)?;
            let p12 = pki_dir.join(format!("{name}.p12"));
            hedui_tls::pki::write_p12(&p12, &issued, pki.ca().cert_pem(), &password)?;
            p12s.push(p12);
        }
        let ca_file = pki.ca_file();
        let addr = console.local_addr();
        let console_task = tokio::spawn(console.serve_until(sys.stopped()));
        println!();
        println!("console: https://{addr}/");
        println!(
            "  sign in with a person's certificate. For a browser, import one of these (password: {}):",
            password.expose()
        );
        for p in &p12s {
            println!("    {}", p.display());
        }
        println!(
            "  Chrome: 设置 → 隐私和安全 → 安全 → 管理证书 → 导入; Firefox: 设置 → 隐私与安全 → 证书 → 查看证书 → 您的证书 → 导入."
        );
        println!(
            "  Also import {} as a trusted authority (or accept the browser's warning): this run's county CA.",
            ca_file.display()
        );
        println!(
            "  PEM files for curl sit beside them ({0}/caseworker.crt and .key, auditor.*, admin.*), e.g.\n    curl --cacert {1} --cert {0}/caseworker.crt --key {0}/caseworker.key https://{addr}/",
            pki_dir.display(),
            ca_file.display()
        );
        println!("everything keeps running; press Ctrl-C to stop.");
        crate::signal::shutdown_signal().await;
        sys.signal_stop();
        let _ = console_task.await;
    }
    sys.stop().await.context("the demo hub task failed")?;
    Ok(())
}

/// A short, fixed set of outcome names for the table.
fn outcome_code(o: i32) -> &'static str {
    match outcome_name(o) {
        "OK" => "OK",
        "NO_RECORD" => "NOREC",
        "TIMEOUT" => "TIMEOUT",
        "UNAVAILABLE" => "UNAVAIL",
        "ERROR" => "ERROR",
        "REFUSED" => "REFUSED",
        _ => "?",
    }
}

fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        s.chars().take(max - 1).collect::<String>() + "…"
    }
}

fn main_reason(r: &VerificationRecord) -> String {
    // A household that meets the criteria is best explained by its income;
    // otherwise show the first reason that leads to the verdict.
    let income = || r.reasons.iter().find(|x| x.rule == "income.per_capita");
    let deciding = || {
        r.reasons
            .iter()
            .find(|x| x.leads_to == r.verdict && x.rule != "sources.required")
    };
    let pick = if r.verdict == Verdict::MeetsCriteria as i32 {
        income().or_else(deciding)
    } else {
        deciding().or_else(income)
    };
    pick.or(r.reasons.iter().find(|x| x.leads_to == r.verdict))
        .or(r.reasons.first())
        .map(|x| format!("[{}] {}", x.rule, x.detail))
        .unwrap_or_default()
}

fn print_table(
    results: &[(usize, VerificationRecord)],
    households: &[hedui_adapter::sandbox::SandboxHousehold],
    all: bool,
) {
    let mut seen = std::collections::BTreeSet::new();
    let abbrev = ["PS", "NR", "HOUS", "TAX", "MKT", "HF", "PBOC", "HRSS"];
    println!();
    print!(
        "{:<8} {:<22} {:<14} {:<58}",
        "HOUSE", "SCENARIO", "VERDICT", "MAIN REASON"
    );
    for a in abbrev {
        print!(" {a:<12}");
    }
    println!();
    for (i, r) in results {
        let h = &households[*i];
        if !all && !seen.insert(h.scenario) {
            continue;
        }
        print!(
            "{:<8} {:<22} {:<14} {:<58}",
            h.household.household_ref,
            short(h.scenario, 22),
            verdict_name(r.verdict),
            short(&main_reason(r), 58)
        );
        for s in &r.sources {
            print!(" {:<12}", format!("{} {}ms", outcome_code(s.outcome), s.latency_ms));
        }
        println!();
    }
    if !all {
        println!(
            "(one household per scenario; `hedui demo --all` prints all {})",
            results.len()
        );
    }
}

fn print_totals(results: &[(usize, VerificationRecord)]) {
    let mut verdicts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut flags: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, r) in results {
        *verdicts.entry(verdict_name(r.verdict)).or_default() += 1;
        let kinds: std::collections::BTreeSet<i32> = r.flags.iter().map(|f| f.kind).collect();
        for k in kinds {
            let name = FlagKind::try_from(k)
                .unwrap_or_default()
                .as_str_name()
                .trim_start_matches("FLAG_KIND_");
            *flags.entry(name).or_default() += 1;
        }
    }
    println!("\nVerdicts:");
    for (v, n) in &verdicts {
        println!("  {v:<16} {n}");
    }
    println!("Households with each flag:");
    for (f, n) in &flags {
        println!("  {f:<22} {n}");
    }
}

/// `--write-households DIR`: each sample household as a household file,
/// with the same authorization (form number, dates, signers) the demo
/// submitted, and a comment naming its scenario and the demo's verdict.
fn write_households(
    dir: &std::path::Path,
    households: &[hedui_adapter::sandbox::SandboxHousehold],
    results: &[(usize, VerificationRecord)],
    today: chrono::NaiveDate,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (i, record) in results {
        let h = &households[*i];
        let form = format!("SQ-{}-{:04}", today.format("%Y"), i + 1);
        let req = hedui_testkit::requests::request(&h.household, &form, "", today);
        let path = dir.join(format!("{}.toml", h.household.household_ref));
        let comment = format!(
            "A sample household of `hedui demo` ({}: {}).\nThe demo's verdict on {today}: {}.\nVerify it against the sandbox adapters with `hedui verify {}`.",
            h.scenario,
            h.scenario_zh,
            verdict_name(record.verdict),
            path.display()
        );
        crate::household_file::write(&path, &req, &comment)?;
    }
    println!("{} household files written to {}", results.len(), dir.display());
    Ok(())
}
