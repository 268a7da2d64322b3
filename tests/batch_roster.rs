//! No household is ever checked with part of its members (issue #11): a
//! roster as Excel 中文版 saves it — GBK, dates as `2026/11/2`, rows sorted
//! by anything but the household — with some bad members, submitted through
//! the real `hedui batch submit --skip-invalid` to a real `hedui hub`; every
//! stored record has every member of its household, and no household with
//! a bad row is stored at all.

#[path = "hub/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "hub/proxy.rs"]
#[allow(dead_code)]
mod proxy;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hedui_domain::department::slug;
use hedui_store::Store;
use hedui_tls::Role;
use helpers::{Behaviour, TestSystem};

fn hedui() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hedui"));
    c.env_remove("HEDUI_HUB").env_remove("HEDUI_LOG");
    c
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A `hedui hub` process, killed and reaped when dropped.
struct Hub(Child);

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A deterministic Fisher–Yates shuffle.
fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let j = (seed >> 33) as usize % (i + 1);
        v.swap(i, j);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_invalid_on_a_shuffled_gbk_roster_stores_only_whole_households() {
    let adapters = TestSystem::with(|_| Behaviour::Sandbox, Duration::from_secs(10)).await;
    let dir = tempfile::tempdir().unwrap();
    let today = chrono::Utc::now().date_naive();

    // The roster: 30 synthetic households, one member (not the applicant)
    // of every second household of several with a wrong check character, dates as Excel shows them, rows shuffled.
    let n = 30;
    let example = dir.path().join("example.csv");
    hedui_roster::write_example_csv(&example, n, today).unwrap();
    let text = std::fs::read_to_string(&example).unwrap();
    // The synthetic roster has no quoted cells.
    let mut rows: Vec<Vec<String>> = text
        .trim_start_matches('\u{FEFF}')
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    let at = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    let (hh, id, signed, until) = (at("户编号"), at("身份证号"), at("签署日期"), at("授权有效期至"));
    let mut members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &rows[1..] {
        members.entry(r[hh].clone()).or_default().insert(r[id].clone());
    }
    let mut broken = BTreeSet::new();
    let mut last_of: BTreeMap<String, usize> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate().skip(1) {
        last_of.insert(r[hh].clone(), i);
    }
    let multi = last_of.iter().filter(|(number, _)| members[*number].len() > 1);
    for (k, (number, &i)) in multi.enumerate() {
        if k % 2 == 1 {
            let c = &mut rows[i][id];
            let last = c.pop().unwrap();
            c.push(if last == '0' { '1' } else { '0' });
            broken.insert(number.clone());
        }
    }
    assert!(broken.len() >= 4);
    for r in rows[1..].iter_mut() {
        for c in [signed, until] {
            if let Ok(d) = chrono::NaiveDate::parse_from_str(&r[c], "%Y-%m-%d") {
                r[c] = d.format("%Y/%-m/%-d").to_string();
            }
        }
    }
    let mut body = rows.split_off(1);
    shuffle(&mut body, 2026);
    rows.extend(body);
    let utf8: String = rows.iter().map(|r| r.join(",") + "\r\n").collect();
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&utf8);
    assert!(!unmappable);
    let roster = dir.path().join("花名册.csv");
    std::fs::write(&roster, &gbk).unwrap();

    // A real hub on its own database.
    let hub_files = adapters.pki.files(&Role::Hub, "hub-real");
    let cw = adapters.pki.files(&Role::Caseworker, "wang.wu");
    std::fs::write(dir.path().join("policy.toml"), helpers::EXAMPLE_POLICY).unwrap();
    helpers::write_hub_key(dir.path());
    helpers::write_data_key(dir.path());
    let listen = free_port();
    let db = dir.path().join("hedui.db");
    let mut config = format!(
        "listen = \"{listen}\"\ndatabase_url = \"sqlite://{}\"\npolicy = \"policy.toml\"\nhub_key = \"hub.key\"\ndata_key = \"data.key\"\n\
         [tls]\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n[batch]\nin_flight = 8\n",
        db.display(),
        hub_files.ca.display(),
        hub_files.cert.display(),
        hub_files.key.display(),
    );
    for a in &adapters.adapters {
        config.push_str(&format!("[adapters.{}]\nurl = \"{}\"\n", slug(a.department), a.url));
    }
    let config_path = dir.path().join("hub.toml");
    std::fs::write(&config_path, config).unwrap();
    let log = std::fs::File::create(dir.path().join("hub.log")).unwrap();
    let hub = Hub(hedui()
        .args(["hub", "--config", config_path.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap());
    let mut listening = false;
    for _ in 0..600 {
        if std::net::TcpStream::connect(listen).is_ok() {
            listening = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(listening, "the hub never listened");

    let out = hedui()
        .args([
            "batch",
            "submit",
            roster.to_str().unwrap(),
            "--purpose",
            "minimum-living",
        ])
        .args(["--skip-invalid", "--wait"])
        .args(["--hub", &format!("https://{listen}")])
        .args(["--ca", cw.ca.to_str().unwrap()])
        .args(["--cert", cw.cert.to_str().unwrap()])
        .args(["--key", cw.key.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "花名册共 {n} 户 {} 行（text, GB18030/GBK）；有问题的 {} 户",
            rows.len() - 1,
            broken.len()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{} invalid household(s) skipped", broken.len())),
        "{stderr}"
    );
    drop(hub);

    // Every stored record has every member of its household; no household
    // with a bad row was stored.
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap()
        .with_data_keys(helpers::data_keys());
    let records = store
        .list_records(&hedui_store::ListFilter {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(records.len(), n - broken.len());
    let mut stored = BTreeSet::new();
    for summary in &records {
        let record = store.get_record(&summary.record_id).await.unwrap().unwrap();
        let h = record.household.as_ref().unwrap();
        let got: BTreeSet<String> = h.members.iter().map(|m| m.id_number.clone()).collect();
        assert_eq!(got, members[&h.household_ref], "household {}", h.household_ref);
        assert!(!broken.contains(&h.household_ref), "{} has a bad row", h.household_ref);
        assert!(
            stored.insert(h.household_ref.clone()),
            "{} stored twice",
            h.household_ref
        );
    }
    store.close().await;
}
