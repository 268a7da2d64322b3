//! Scale measurement, not a test of behaviour: run by hand with
//!
//! ```sh
//! HEDUI_SCALE_N=100000 cargo test --test batch_scale -- --ignored --nocapture
//! ```
//!
//! A synthetic roster of N households is submitted with the real `hedui
//! batch submit` to a real `hedui hub` process on SQLite, served by the
//! eight sandbox adapters in this process, and run to the end. It prints the
//! households per second and the peak resident memory (VmHWM) of the hub and
//! of the submitting CLI; nothing is asserted about time.

#[path = "hub/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "hub/proxy.rs"]
#[allow(dead_code)]
mod proxy;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hedui_domain::department::slug;
use hedui_proto::v1::batch_service_client::BatchServiceClient;
use hedui_proto::v1::{BatchState, GetBatchRequest};
use hedui_tls::Role;
use helpers::{Behaviour, TestSystem};

struct Hub(Child);

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run by hand with HEDUI_SCALE_N"]
async fn measure_a_large_batch() {
    let n: usize = std::env::var("HEDUI_SCALE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let adapters = TestSystem::with(|_| Behaviour::Sandbox, Duration::from_secs(30)).await;
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("roster.csv");
    hedui_roster::write_example_csv(&roster, n, chrono::Utc::now().date_naive()).unwrap();
    let hub_files = adapters.pki.files(&Role::Hub, "hub-scale");
    let cw = adapters.pki.files(&Role::Caseworker, "wang.wu");
    std::fs::write(dir.path().join("policy.toml"), helpers::EXAMPLE_POLICY).unwrap();
    helpers::write_hub_key(dir.path());
    helpers::write_data_key(dir.path());
    let listen: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let db = dir.path().join("hedui.db");
    let mut config = format!(
        "listen = \"{listen}\"\ndatabase_url = \"sqlite://{}\"\npolicy = \"policy.toml\"\nhub_key = \"hub.key\"\ndata_key = \"data.key\"\n\
         [tls]\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n[batch]\nin_flight = 32\n",
        db.display(),
        hub_files.ca.display(),
        hub_files.cert.display(),
        hub_files.key.display(),
    );
    for a in &adapters.adapters {
        config.push_str(&format!(
            "[adapters.{}]\nurl = \"{}\"\nmax_concurrency = 64\nmax_rate_per_s = 100000\n",
            slug(a.department),
            a.url
        ));
    }
    let config_path = dir.path().join("hub.toml");
    std::fs::write(&config_path, config).unwrap();
    let hub = Hub(Command::new(env!("CARGO_BIN_EXE_hedui"))
        .env_remove("HEDUI_LOG")
        .env("HEDUI_LOG", "warn")
        .args(["hub", "--config", config_path.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap());
    while std::net::TcpStream::connect(listen).is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_hedui"))
        .args([
            "batch",
            "submit",
            roster.to_str().unwrap(),
            "--purpose",
            "minimum-living",
        ])
        .args(["--hub", &format!("https://{listen}")])
        .args(["--ca", cw.ca.to_str().unwrap()])
        .args(["--cert", cw.cert.to_str().unwrap()])
        .args(["--key", cw.key.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let submit_rss = err
        .lines()
        .find(|l| l.contains("Maximum resident set size"))
        .unwrap_or("")
        .to_owned();
    let uploaded = started.elapsed();
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut c = BatchServiceClient::new(adapters.pki.channel(listen, &Role::Caseworker, "wang.wu"));
    let run_started = Instant::now();
    let mut last_print = Instant::now();
    loop {
        let b = c
            .get_batch(GetBatchRequest { batch_id: id.clone() })
            .await
            .unwrap()
            .into_inner()
            .batch
            .unwrap();
        if last_print.elapsed() > Duration::from_secs(30) {
            eprintln!(
                "{}/{} done, {:.1}/s, hub VmHWM {} KiB",
                b.done,
                b.total,
                b.rate_per_s,
                vm_hwm_kib(hub.0.id())
            );
            last_print = Instant::now();
        }
        if b.state == BatchState::Done as i32 {
            eprintln!(
                "N={n}: upload {:.1}s; run {:.1}s = {:.1} households/s (hub says {:.1}/s); \
                 hub peak RSS {} KiB; submit CLI: {submit_rss}",
                uploaded.as_secs_f64(),
                run_started.elapsed().as_secs_f64(),
                n as f64 / run_started.elapsed().as_secs_f64(),
                b.rate_per_s,
                vm_hwm_kib(hub.0.id())
            );
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
