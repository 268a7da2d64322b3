//! The overhead run, and where its time goes.
//!
//! Households are offered at a fixed rate to adapters answering in
//! `latency ± jitter`, twice: with the hub's stage clocks off (the
//! production configuration, which the targets are judged on) and on
//! (`hedui_hub::stages`). The order alternates between repeats so drift
//! in the machine's load does not always favour one. Beside the two
//! overheads the bench prints what one request's clock costs, measured
//! alone, so the breakdown's own cost is shown two ways.
//!
//! The hub's overhead of one request is its end-to-end time at the
//! caseworker minus the slowest department's own time for it (measured in
//! the adapter's source). With the clocks on it splits, per request, into:
//! the hub's stages (arrival of the request's headers to the reply's
//! trailers, less the wait for the departments); the adapter hops (the
//! wait for the departments less the slowest department's own time: the
//! hub-to-adapter TLS and HTTP/2, the adapter SDK's checks); and what lies
//! outside the hub's HTTP service (the caseworker client's encoding, TCP
//! and TLS both ways, HTTP/2 framing, the response's decoding).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hedui_hub::stages::{self as hub_stages, Stage};

use super::figures::{Figures, Unit};
use super::{BenchArgs, Dist, System};

/// The labels of the figures the targets read.
pub(crate) const OVERHEAD_P50: &str = "  hub overhead p50 (breakdown off)";
pub(crate) const OVERHEAD_P99: &str = "  hub overhead p99 (breakdown off)";

/// One request of the overhead run: end to end, the slowest department's
/// own time, and its request id.
type Sampled = (Duration, Duration, String);

/// One run: each request's times, the rate achieved, the hub's stage
/// samples and its audit group commits (none with the clocks off).
type Run = (
    Vec<Sampled>,
    f64,
    Vec<hub_stages::StageSample>,
    Vec<hub_stages::GroupSample>,
);

/// Offers `a.requests` households at `a.rate`/s; with `breakdown`, the
/// hub's stage clocks are on for the run.
async fn paced(a: &BenchArgs, sys: &Arc<System>, breakdown: bool) -> anyhow::Result<Run> {
    // Nothing left over from before counts.
    hub_stages::take_samples();
    hub_stages::take_groups();
    hub_stages::enable(breakdown);
    let period = Duration::from_secs_f64(1.0 / a.rate.max(0.001));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(a.requests);
    for n in 0..a.requests {
        tick.tick().await;
        let sys = sys.clone();
        tasks.push(tokio::spawn(async move { sys.through_hub(n).await }));
    }
    let mut out = Vec::with_capacity(a.requests);
    for t in tasks {
        out.push(t.await??);
    }
    let rate = a.requests as f64 / started.elapsed().as_secs_f64();
    hub_stages::enable(false);
    Ok((out, rate, hub_stages::take_samples(), hub_stages::take_groups()))
}

fn pcts(figs: &mut Figures, label: &str, d: &Dist) {
    figs.ms(format!("{label} p50"), d.pct(50.0));
    figs.ms(format!("{label} p99"), d.pct(99.0));
}

/// The overhead run, off and on, and the stage breakdown into `figs`.
pub(crate) async fn overhead(
    a: &BenchArgs,
    sys: &Arc<System>,
    repeat: usize,
    figs: &mut Figures,
) -> anyhow::Result<()> {
    let latency = Duration::from_millis(a.latency_ms);
    let jitter = Duration::from_millis(a.jitter_ms);
    sys.set_latency(latency, jitter);
    println!(
        "overhead: {} households at {}/s, adapters at {} ± {} ms, breakdown off and on ...",
        a.requests, a.rate, a.latency_ms, a.jitter_ms
    );
    let order = if repeat.is_multiple_of(2) {
        [false, true]
    } else {
        [true, false]
    };
    let mut runs: [Option<Run>; 2] = [None, None];
    for on in order {
        runs[usize::from(on)] = Some(paced(a, sys, on).await?);
    }
    let [Some((off, off_rate, _, _)), Some((on, on_rate, samples, groups))] = runs else {
        anyhow::bail!("an overhead run did not happen");
    };
    let over = |run: &[Sampled]| Dist::new(run.iter().map(|(e, s, _)| e.saturating_sub(*s)).collect());
    let (over_off, over_on) = (over(&off), over(&on));
    let e2e = Dist::new(off.iter().map(|(e, _, _)| *e).collect());
    let slowest = Dist::new(off.iter().map(|(_, s, _)| *s).collect());
    figs.push(
        format!(
            "[overhead @ {}/s, {}±{} ms] households/s",
            a.rate, a.latency_ms, a.jitter_ms
        ),
        off_rate,
        Unit::Rate,
    );
    figs.ms("  end-to-end p50", e2e.pct(50.0));
    figs.ms("  end-to-end p99", e2e.pct(99.0));
    figs.ms("  slowest department p50", slowest.pct(50.0));
    figs.ms(OVERHEAD_P50, over_off.pct(50.0));
    figs.ms(OVERHEAD_P99, over_off.pct(99.0));
    figs.ms("  hub overhead p50 (breakdown on)", over_on.pct(50.0));
    figs.ms("  hub overhead p99 (breakdown on)", over_on.pct(99.0));
    let change = |on: Duration, off: Duration| on.as_secs_f64() / off.as_secs_f64().max(1e-9) - 1.0;
    figs.push(
        "  breakdown on vs off, overhead p50",
        change(over_on.pct(50.0), over_off.pct(50.0)),
        Unit::Change,
    );
    figs.push(
        "  breakdown on vs off, overhead p99",
        change(over_on.pct(99.0), over_off.pct(99.0)),
        Unit::Change,
    );
    let cost = hub_stages::cost_per_request(20_000, sys.state.clients.len() as u32).await;
    figs.push("  the clock's own cost per request", cost.as_secs_f64() * 1e6, Unit::Us);
    figs.push(
        "  … as a share of the overhead p50",
        cost.as_secs_f64() / over_off.pct(50.0).as_secs_f64().max(1e-9),
        Unit::Percent,
    );
    breakdown(&on, samples, figs);
    let on_seconds = a.requests as f64 / on_rate.max(1e-9);
    group_commits(&groups, on_seconds, figs);
    floor_under_load(a, sys, figs).await
}

/// How often the probe of [`floor_under_load`] writes: 20 durable writes a
/// second beside the hub's 200 or so.
const PROBE_EVERY: Duration = Duration::from_millis(50);

/// A third run, clocks off, with the floor measured beside it
/// ([`super::floor::Probe`]): what one durable write costs while the
/// machine carries the run, with no hub in its way.
async fn floor_under_load(a: &BenchArgs, sys: &Arc<System>, figs: &mut Figures) -> anyhow::Result<()> {
    let probe = super::floor::Probe::start(&sys.database_url, sys.state.store.backend_kind(), PROBE_EVERY);
    let run = paced(a, sys, false).await;
    let (syncs, commits) = probe.stop().await?;
    let (run, _, _, _) = run?;
    figs.push(
        "[the floor during a third run, breakdown off] writes timed",
        commits.len() as f64,
        Unit::Count,
    );
    pcts(figs, super::floor::LOADED_FSYNC, &syncs);
    pcts(figs, super::floor::LOADED_COMMIT, &commits);
    let over = Dist::new(run.iter().map(|(e, s, _)| e.saturating_sub(*s)).collect());
    pcts(figs, "  hub overhead of that run", &over);
    Ok(())
}

/// The audit appender's group commits during the run with the clocks on:
/// how many appends each carried and how long the store's transaction
/// took, against which the intent and result stages (which include the
/// wait for the group before theirs) can be read.
fn group_commits(groups: &[hub_stages::GroupSample], run_seconds: f64, figs: &mut Figures) {
    let n = groups.len().max(1) as f64;
    figs.push(
        "[audit group commits, breakdown on] groups",
        groups.len() as f64,
        Unit::Count,
    );
    let appends: usize = groups.iter().map(|g| g.appends).sum();
    let records: usize = groups.iter().map(|g| g.records).sum();
    figs.push("  appends per group, mean", appends as f64 / n, Unit::Mean);
    figs.push("  records per group, mean", records as f64 / n, Unit::Mean);
    let busy: Duration = groups.iter().map(|g| g.transaction).sum();
    pcts(
        figs,
        "  store transaction (connection, lock, statements, commit)",
        &Dist::new(groups.iter().map(|g| g.transaction).collect()),
    );
    pcts(
        figs,
        "    begin: a pooled connection and the log's lock",
        &Dist::new(groups.iter().map(|g| g.phases.begin).collect()),
    );
    pcts(
        figs,
        "    statements",
        &Dist::new(groups.iter().map(|g| g.phases.statements).collect()),
    );
    pcts(
        figs,
        "    commit (with its sync)",
        &Dist::new(groups.iter().map(|g| g.phases.commit).collect()),
    );
    // The appender writes one group at a time: this is how much of the run
    // it was writing, so how likely an append is to find a group ahead.
    figs.push(
        "  the appender busy writing, share of the run",
        busy.as_secs_f64() / run_seconds.max(1e-9),
        Unit::Percent,
    );
}

/// The stages of the run with the clocks on, matched to each request's
/// end-to-end and department times, as p50 and p99 per stage.
fn breakdown(run: &[Sampled], samples: Vec<hub_stages::StageSample>, figs: &mut Figures) {
    let mut by_id: HashMap<String, hub_stages::StageSample> =
        samples.into_iter().map(|s| (s.request_id.clone(), s)).collect();
    let mut per_stage: Vec<Vec<Duration>> = vec![Vec::new(); hub_stages::ALL.len()];
    let (mut hops, mut outside, mut hub, mut over) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (e2e, slowest, id) in run {
        let Some(s) = by_id.remove(id) else { continue };
        for (i, d) in s.spent.iter().enumerate() {
            per_stage[i].push(*d);
        }
        let waited = s.get(Stage::Departments);
        hops.push(waited.saturating_sub(*slowest));
        outside.push(e2e.saturating_sub(s.total));
        hub.push(s.total - waited);
        over.push(e2e.saturating_sub(*slowest));
    }
    figs.push(
        "[stages, breakdown on] requests with a breakdown",
        hops.len() as f64,
        Unit::Count,
    );
    let mut parts: Vec<(String, Duration)> = Vec::new();
    for (stage, d) in hub_stages::ALL.iter().zip(per_stage) {
        let d = Dist::new(d);
        pcts(figs, &format!("  {}", stage.name()), &d);
        if *stage != Stage::Departments {
            parts.push((stage.name().to_owned(), d.pct(50.0)));
        }
    }
    let (hops, outside, hub, over) = (Dist::new(hops), Dist::new(outside), Dist::new(hub), Dist::new(over));
    pcts(
        figs,
        "  adapter hops (the wait less the slowest department's own time)",
        &hops,
    );
    pcts(figs, "  outside the hub's HTTP service (client, TCP, TLS)", &outside);
    pcts(figs, "  = in the hub, arrival to trailers, less the wait", &hub);
    pcts(figs, "  = hub overhead, these requests", &over);
    parts.push(("adapter hops".into(), hops.pct(50.0)));
    parts.push(("outside the hub's HTTP service".into(), outside.pct(50.0)));
    if let Some((name, d)) = parts.iter().max_by_key(|(_, d)| *d) {
        println!(
            "  the largest part of the overhead at p50: {name}, {} of {}",
            super::ms(*d),
            super::ms(over.pct(50.0))
        );
    }
}
