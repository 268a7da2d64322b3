//! What encryption at rest costs (issue #15).
//!
//! The store refuses to write personal data without its data keys (fail
//! closed), so there is no plaintext hub to run beside the encrypted one,
//! and none is built for the bench: a switch that stores plaintext would
//! be one more path on which the invariant has to be tested. Instead the
//! bench times, in the same run, sealing and opening a real record as the
//! hub stores it (a household answered by all eight departments, through
//! the hub), and charges that time against the hub's throughput measured
//! just before: seal time × households per second is the share of one core
//! that encryption takes at that rate. A hub on more than one core loses
//! less than that share, so the figure is an upper bound of the
//! throughput it costs.

use std::time::{Duration, Instant};

use hedui_store::envelope;

use super::{Dist, System, figures};

/// Seals and opens timed for each figure.
const ROUNDS: usize = 2000;

/// Times sealing and opening a real record, and pushes the cost into
/// `figs` against `hub_rate` (households per second through the hub, when
/// this run measured it).
pub(super) async fn measure(sys: &System, hub_rate: Option<f64>, figs: &mut figures::Figures) -> anyhow::Result<()> {
    let record = sys
        .client
        .clone()
        .submit_verification(sys.request(0))
        .await
        .map_err(crate::client::explain)?
        .into_inner()
        .record
        .ok_or_else(|| anyhow::anyhow!("the hub returned no record"))?;
    let body = prost::Message::encode_to_vec(&record);
    let keys = hedui_testkit::test_data_keys();
    let aad = || envelope::Aad::Record {
        record_id: &record.record_id,
        version: 1,
    };
    println!(
        "at rest: sealing and opening a {} byte record {ROUNDS} times ...",
        body.len()
    );
    let (mut seals, mut opens) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let sealed = envelope::seal(keys.as_ref(), aad(), &body)?;
        seals.push(t.elapsed());
        let t = Instant::now();
        let opened = envelope::open(
            Some(keys.as_ref()),
            aad(),
            &sealed.kek_id,
            &sealed.wrapped_key,
            &sealed.payload,
        )?;
        opens.push(t.elapsed());
        anyhow::ensure!(
            opened.as_slice() == body.as_slice(),
            "a sealed record did not open to itself"
        );
    }
    let (seal, open) = (Dist::new(seals).pct(50.0), Dist::new(opens).pct(50.0));
    figs.push(
        format!("[at rest, a {} byte record] seal p50", body.len()),
        us(seal),
        figures::Unit::Us,
    );
    figs.push("  open p50", us(open), figures::Unit::Us);
    if let Some(rate) = hub_rate {
        figs.push(AT_REST_COST, seal.as_secs_f64() * rate, figures::Unit::Percent);
    }
    Ok(())
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The name of the cost figure, which the targets look up.
pub(super) const AT_REST_COST: &str = "  encryption's share of one core at the hub's throughput";
