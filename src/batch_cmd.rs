//! `hedui batch`: re-check a whole roster on the hub.
//!
//! `submit` reads the roster once into `hedui-roster`'s reader, which groups
//! the rows by 户编号 wherever they are and hands over whole households;
//! it goes through them twice: once to report every invalid row before
//! anything starts, once to upload the households into a draft batch in
//! chunks. The draft is started only when every row was valid (or with
//! `--skip-invalid`, which skips whole households, never rows); if anything
//! goes wrong during the upload the draft is cancelled, so nothing partial
//! ever runs. Memory stays flat in the roster's size.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use hedui_domain::window::{IncomeWindow, parse_date};
use hedui_proto::v1::batch_service_client::BatchServiceClient;
use hedui_proto::v1::{
    AddBatchHouseholdsRequest, Batch, BatchHousehold, BatchState, CancelBatchRequest, CreateBatchRequest,
    GetBatchRequest, IncomeWindow as WireWindow, ListBatchesRequest, StartBatchRequest, StreamBatchResultsRequest,
};
use hedui_roster::RosterReader;
use hedui_roster::check::Check;
use hedui_roster::results::ResultRow;
use prost::Message as _;
use tonic::transport::Channel;

use crate::client::{ClientArgs, Output, channel_to_hub, explain};

/// Households per upload call (the hub takes at most 500).
const CHUNK_ITEMS: usize = 500;
/// Bytes per upload call (the hub takes at most 4 MiB).
const CHUNK_BYTES: usize = 3 * 1024 * 1024;

#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Check a roster (.xlsx, .xls, .ods, .csv or .txt) and start a batch re-check of every household in it.
    Submit(SubmitArgs),
    /// Show a batch's progress.
    Status {
        /// The batch id.
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List recent batches.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Follow a batch with a progress bar until it ends.
    Watch {
        /// The batch id.
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Download a batch's results: one row per household (.csv or .xlsx).
    Results {
        /// The batch id.
        id: String,
        /// The file to write, .csv or .xlsx.
        #[arg(short = 'o', long = "out", alias = "output-file")]
        out: PathBuf,
        /// `flagged`: only the home-visit list (a flag, or NEEDS_REVIEW).
        #[arg(long, value_enum)]
        only: Option<Only>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Cancel a batch: households being checked finish, no other starts.
    Cancel {
        /// The batch id.
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// Which results to write.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Only {
    /// The home-visit list.
    Flagged,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The roster: .xlsx, .xlsb, .xls, .ods, or .csv/.txt in UTF-8, GBK or UTF-16 (see docs/roster.md).
    pub file: PathBuf,
    /// Why the roll is checked, e.g. minimum-living, 低保 or 最低生活保障.
    #[arg(long)]
    pub purpose: String,
    /// The income window: FROM..TO as YYYY-MM..YYYY-MM, or a number of
    /// months ending last month (e.g. 12).
    #[arg(long, default_value = "12")]
    pub window: String,
    /// The asset reference date, YYYY-MM-DD; default: the day each
    /// household is checked.
    #[arg(long)]
    pub asset_date: Option<String>,
    /// A label for the batch.
    #[arg(long, default_value = "")]
    pub label: String,
    /// Run the valid households even if some rows are invalid.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Follow the batch with a progress bar until it ends.
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

async fn client(c: &ClientArgs) -> anyhow::Result<BatchServiceClient<Channel>> {
    let channel = channel_to_hub(&c.hub, &c.tls).await?;
    Ok(BatchServiceClient::new(channel)
        .max_decoding_message_size(16 * 1024 * 1024)
        .max_encoding_message_size(8 * 1024 * 1024))
}

/// Runs a `hedui batch` subcommand.
pub async fn run(c: BatchCommand) -> anyhow::Result<()> {
    match c {
        BatchCommand::Submit(a) => submit(a).await,
        BatchCommand::Status { id, client: c } => {
            let b = get(&mut client(&c).await?, &id).await?;
            print_batch(&b, c.output);
            Ok(())
        }
        BatchCommand::List { limit, client: c } => {
            let list = client(&c)
                .await?
                .list_batches(ListBatchesRequest { limit })
                .await
                .map_err(explain)?
                .into_inner();
            match c.output {
                Output::Json | Output::Jsonl => crate::output::list(
                    list.batches
                        .iter()
                        .map(|b| crate::output::message(b, "hedui.v1.Batch"))
                        .collect(),
                    c.output,
                ),
                Output::Human => {
                    if list.batches.is_empty() {
                        println!("no batches");
                    }
                    for b in &list.batches {
                        println!(
                            "{}  {:<9}  {:>7}/{:<7}  {}  {}",
                            b.batch_id,
                            state_word(b.state),
                            b.done,
                            b.total,
                            b.created_at,
                            b.label
                        );
                    }
                }
            }
            Ok(())
        }
        BatchCommand::Watch { id, client: c } => {
            let b = watch(&mut client(&c).await?, &id).await?;
            print_batch(&b, c.output);
            Ok(())
        }
        BatchCommand::Results {
            id,
            out,
            only,
            client: c,
        } => results(&mut client(&c).await?, &id, &out, only.is_some()).await,
        BatchCommand::Cancel { id, client: c } => {
            let b = client(&c)
                .await?
                .cancel_batch(CancelBatchRequest { batch_id: id })
                .await
                .map_err(explain)?
                .into_inner()
                .batch
                .ok_or_else(|| anyhow!("the hub answered without the batch"))?;
            print_batch(&b, c.output);
            Ok(())
        }
    }
}

/// Parses `--window`: `FROM..TO` or a number of months.
pub fn parse_window(s: &str, today: chrono::NaiveDate) -> anyhow::Result<WireWindow> {
    let wire = match s.split_once("..") {
        Some((from, to)) => WireWindow {
            from_month: from.trim().to_owned(),
            to_month: to.trim().to_owned(),
        },
        None => {
            let n: u32 = s
                .trim()
                .parse()
                .map_err(|_| anyhow!("--window {s:?}: expected YYYY-MM..YYYY-MM or a number of months"))?;
            if n == 0 || n > hedui_domain::window::MAX_WINDOW_MONTHS {
                bail!(
                    "--window {n}: must be 1 to {} months",
                    hedui_domain::window::MAX_WINDOW_MONTHS
                );
            }
            IncomeWindow::last_months(today, n).to_proto()
        }
    };
    if let Err(e) = IncomeWindow::parse(&wire, today, "window") {
        let lines: Vec<String> = e
            .violations
            .iter()
            .map(|v| format!("--{}: {}", v.field.replace('.', " "), v.description))
            .collect();
        bail!("{}", lines.join("; "));
    }
    Ok(wire)
}

async fn submit(a: SubmitArgs) -> anyhow::Result<()> {
    let today = chrono::Utc::now().date_naive();
    let purpose: hedui_proto::v1::Purpose =
        hedui_domain::words::parse(&a.purpose).map_err(|e| anyhow!("--purpose: {e}"))?;
    let window = parse_window(&a.window, today)?;
    if let Some(d) = &a.asset_date {
        let date = parse_date(d).map_err(|e| anyhow!("--asset-date: {e}"))?;
        if date > today {
            bail!("--asset-date {d}: is in the future");
        }
    }
    // One read of the file: households are grouped by 户编号 wherever their
    // rows are, into the reader's own temporary copy. Pass 1 reports every
    // problem; pass 2 uploads from the same copy (`rewind`), so the upload
    // is exactly the households pass 1 checked, each whole.
    let mut reader = RosterReader::open(&a.file, today)
        .map_err(|e| anyhow!("{}: {e}", a.file.display()))?
        .with_purpose(purpose);
    let mut check = Check::new(&reader);
    for h in reader.by_ref() {
        check.add(&h);
    }
    eprintln!("{}: {}", a.file.display(), check.summary());
    for line in check.details_in(crate::render::lang()) {
        eprintln!("{}: {line}", a.file.display());
    }
    let (valid, invalid) = (check.valid(), check.invalid());
    if invalid > 0 && !a.skip_invalid {
        bail!(
            "{}: {invalid} household(s) have invalid rows (listed above); nothing was started. \
             Fix them, or pass --skip-invalid to check the {valid} valid household(s) only",
            a.file.display()
        );
    }
    if valid == 0 {
        bail!("{}: no valid household to check", a.file.display());
    }
    reader.rewind();
    let mut c = client(&a.client).await?;
    let batch = c
        .create_batch(CreateBatchRequest {
            purpose: purpose as i32,
            income_window: Some(window),
            asset_reference_date: a.asset_date.clone().unwrap_or_default(),
            label: a.label.clone(),
        })
        .await
        .map_err(explain)?
        .into_inner()
        .batch
        .ok_or_else(|| anyhow!("the hub answered without the batch"))?;
    let id = batch.batch_id.clone();
    // Pass 2: upload into the draft; on any failure cancel it.
    let uploaded = upload(&mut c, &id, reader).await;
    if let Err(e) = uploaded {
        let cancelled = c.cancel_batch(CancelBatchRequest { batch_id: id.clone() }).await;
        let note = match cancelled {
            Ok(_) => "the draft batch was cancelled; nothing was started".to_owned(),
            Err(s) => format!(
                "cancelling the draft also failed ({}); it never runs as a draft",
                s.message()
            ),
        };
        return Err(e.context(format!("batch {id}: {note}")));
    }
    let started = c
        .start_batch(StartBatchRequest { batch_id: id.clone() })
        .await
        .map_err(explain)?
        .into_inner()
        .batch
        .ok_or_else(|| anyhow!("the hub answered without the batch"))?;
    eprintln!(
        "batch {id} started: {} household(s){}",
        started.total,
        if invalid > 0 {
            format!(", {invalid} invalid household(s) skipped")
        } else {
            String::new()
        }
    );
    if a.wait {
        let b = watch(&mut c, &id).await?;
        print_batch(&b, a.client.output);
    } else {
        match a.client.output {
            Output::Json | Output::Jsonl => {
                crate::output::one(&crate::output::message(&started, "hedui.v1.Batch"), a.client.output)
            }
            Output::Human => println!("{id}"),
        }
    }
    Ok(())
}

async fn upload(c: &mut BatchServiceClient<Channel>, id: &str, reader: RosterReader) -> anyhow::Result<()> {
    let mut chunk: Vec<BatchHousehold> = Vec::new();
    let mut bytes = 0;
    // A household with any bad row is skipped whole: the reader hands over
    // only whole households, never rows.
    for h in reader {
        let Ok(h) = h else { continue };
        let item = BatchHousehold {
            row: u32::try_from(h.first_row).unwrap_or(u32::MAX),
            authorization_ref: h.authorization.form_number.clone(),
            household: Some(h.household),
            authorization: Some(h.authorization),
        };
        let len = item.encoded_len() + 8;
        if !chunk.is_empty() && (chunk.len() == CHUNK_ITEMS || bytes + len > CHUNK_BYTES) {
            send(c, id, std::mem::take(&mut chunk)).await?;
            bytes = 0;
        }
        bytes += len;
        chunk.push(item);
    }
    if !chunk.is_empty() {
        send(c, id, chunk).await?;
    }
    Ok(())
}

async fn send(c: &mut BatchServiceClient<Channel>, id: &str, items: Vec<BatchHousehold>) -> anyhow::Result<()> {
    let rows: Vec<u32> = items.iter().map(|i| i.row).collect();
    match c
        .add_batch_households(AddBatchHouseholdsRequest {
            batch_id: id.to_owned(),
            items,
        })
        .await
    {
        Ok(_) => Ok(()),
        Err(status) => {
            // Name the roster row of each refused household.
            // Invalid fields (INVALID_ARGUMENT) and members an authorization
            // does not cover (FAILED_PRECONDITION) alike.
            let mut violations = hedui_proto::status::field_violations(&status);
            violations.extend(hedui_proto::status::precondition_violations(&status));
            if violations.is_empty() {
                return Err(explain(status));
            }
            let lines: Vec<String> = violations
                .iter()
                .map(|(f, d)| {
                    let row = f
                        .strip_prefix("items[")
                        .and_then(|r| r.split_once(']'))
                        .and_then(|(i, _)| i.parse::<usize>().ok())
                        .and_then(|i| rows.get(i));
                    match row {
                        Some(r) => format!("  row {r}: {f}: {d}"),
                        None => format!("  {f}: {d}"),
                    }
                })
                .collect();
            Err(anyhow!(
                "the hub refused households of the roster:\n{}",
                lines.join("\n")
            ))
        }
    }
}

async fn get(c: &mut BatchServiceClient<Channel>, id: &str) -> anyhow::Result<Batch> {
    c.get_batch(GetBatchRequest {
        batch_id: id.to_owned(),
    })
    .await
    .map_err(explain)?
    .into_inner()
    .batch
    .ok_or_else(|| anyhow!("the hub answered without the batch"))
}

fn ended(b: &Batch) -> bool {
    b.state == BatchState::Done as i32 || b.state == BatchState::Cancelled as i32
}

/// The time left at the batch's rate: never "0s" while households remain
/// (a remainder rounds up to a second), "unknown" without a rate.
fn eta(b: &Batch) -> String {
    let left = b.total.saturating_sub(b.done);
    if left == 0 {
        return "0s".into();
    }
    if b.rate_per_s.is_nan() || b.rate_per_s <= 0.0 {
        return "unknown".into();
    }
    let secs = (f64::from(left) / b.rate_per_s).ceil().max(1.0);
    let secs = if secs > 1e9 { 1_000_000_000 } else { secs as u64 };
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{}h{:02}m{:02}s", secs / 3600, secs / 60 % 60, secs % 60)
    }
}

/// Tells, from GetBatch alone, when households sit on the lease of a hub
/// that died: after the watch lost the hub and got it back, households
/// still counted as running while nothing finishes (or nothing else is
/// left) are waiting for the dead hub's lease to run out. A hub that
/// stopped cleanly hands its leases back, so this shows only after a crash.
#[derive(Debug, Default)]
struct LeaseWatch {
    /// Households done at the first reading after a reconnection.
    done_at_reconnect: Option<u32>,
    reconnected: bool,
}

impl LeaseWatch {
    /// The hub was unreachable and answers again.
    fn reconnected(&mut self) {
        self.reconnected = true;
        self.done_at_reconnect = None;
    }

    /// Whether households of `b` are waiting for a dead hub's lease.
    fn waiting(&mut self, b: &Batch) -> bool {
        if !self.reconnected {
            return false;
        }
        if b.running == 0 || ended(b) {
            self.reconnected = false;
            return false;
        }
        let at = *self.done_at_reconnect.get_or_insert(b.done);
        b.done == at || b.pending == 0
    }
}

/// The progress words of one reading: rate and time left, or the wait for
/// a lease.
fn progress(b: &Batch, leases: &mut LeaseWatch) -> String {
    if leases.waiting(b) {
        format!(
            "等待租约到期 (waiting for a lease to expire): {} household(s) sit on the lease of the hub that stopped; they are checked again when it runs out",
            b.running
        )
    } else {
        format!("{:.1}/s, {} left, {} retried", b.rate_per_s, eta(b), b.retried)
    }
}

/// Whether a failed call means the hub is out of reach for now (down,
/// restarting, draining), so that a watch should wait and try again.
fn hub_unreachable(s: &tonic::Status) -> bool {
    s.code() == tonic::Code::Unavailable || std::error::Error::source(s).is_some()
}

/// How long a watch keeps trying to reach a hub that does not answer.
const GIVE_UP_AFTER: Duration = Duration::from_secs(600);

/// Reads the batch; while the hub is unreachable, says so and tries again
/// with a growing pause (1 s, 2 s, … 30 s), for up to ten minutes.
async fn get_retrying(
    c: &mut BatchServiceClient<Channel>,
    id: &str,
    leases: &mut LeaseWatch,
    say: &dyn Fn(&str),
) -> anyhow::Result<Batch> {
    let mut pause = Duration::from_secs(1);
    let mut lost: Option<std::time::Instant> = None;
    loop {
        let answer = c
            .get_batch(GetBatchRequest {
                batch_id: id.to_owned(),
            })
            .await;
        match answer {
            Ok(r) => {
                if lost.is_some() {
                    say(&format!("batch {id}: the hub answers again; following the batch"));
                    leases.reconnected();
                }
                return r
                    .into_inner()
                    .batch
                    .ok_or_else(|| anyhow!("the hub answered without the batch"));
            }
            Err(s) if hub_unreachable(&s) => {
                let since = *lost.get_or_insert_with(std::time::Instant::now);
                let why = explain(s);
                if since.elapsed() >= GIVE_UP_AFTER {
                    return Err(why.context(format!(
                        "batch {id}: the hub has not answered for {} minutes; the batch goes on on the hub, `hedui batch watch {id}` follows it again",
                        GIVE_UP_AFTER.as_secs() / 60
                    )));
                }
                say(&format!("batch {id}: {why:#}; trying again in {} s", pause.as_secs()));
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30));
            }
            Err(s) => return Err(explain(s)),
        }
    }
}

/// Follows a batch until it is done or cancelled: a progress bar on a
/// terminal, a plain line every few seconds otherwise. A hub that goes away
/// (restart, crash) is waited for, with a message.
async fn watch(c: &mut BatchServiceClient<Channel>, id: &str) -> anyhow::Result<Batch> {
    let tty = std::io::stderr().is_terminal();
    let mut leases = LeaseWatch::default();
    let plain = |line: &str| eprintln!("{line}");
    let mut b = get_retrying(c, id, &mut leases, &plain).await?;
    if tty {
        let bar = indicatif::ProgressBar::new(u64::from(b.total));
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}").context("progress bar template")?,
        );
        let above = |line: &str| bar.println(line);
        loop {
            bar.set_length(u64::from(b.total));
            bar.set_position(u64::from(b.done));
            bar.set_message(progress(&b, &mut leases));
            if ended(&b) {
                bar.finish();
                return Ok(b);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            b = get_retrying(c, id, &mut leases, &above).await?;
        }
    }
    loop {
        eprintln!(
            "batch {id}: {} {}/{} done, {}",
            state_word(b.state),
            b.done,
            b.total,
            progress(&b, &mut leases)
        );
        if ended(&b) {
            return Ok(b);
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        b = get_retrying(c, id, &mut leases, &plain).await?;
    }
}

async fn results(
    c: &mut BatchServiceClient<Channel>,
    id: &str,
    path: &std::path::Path,
    only_flagged: bool,
) -> anyhow::Result<()> {
    // Read first, so that an unfinished batch is known before the file is.
    let batch = get(c, id).await?;
    let cancelled = batch.state == BatchState::Cancelled as i32;
    let mut sink = hedui_roster::results::create(path).map_err(|e| anyhow!("-o {}: {e}", path.display()))?;
    let mut stream = c
        .stream_batch_results(StreamBatchResultsRequest {
            batch_id: id.to_owned(),
            only_flagged,
        })
        .await
        .map_err(explain)?
        .into_inner();
    let write = |sink: &mut Box<dyn hedui_roster::results::ResultsSink>, row: &ResultRow| {
        sink.write(row).map_err(|e| anyhow!("{}: {e}", path.display()))
    };
    let (mut n, mut unfinished, mut next_seq) = (0usize, 0u32, 1u32);
    // One household at a time: memory does not grow with the batch. The
    // results come in batch order (seq 1, 2, …) and only for finished
    // households; a gap in the seqs is an unfinished one.
    while let Some(r) = stream.message().await.map_err(explain)? {
        if !only_flagged {
            while next_seq < r.seq {
                write(&mut sink, &unfinished_row(next_seq, cancelled))?;
                unfinished += 1;
                next_seq += 1;
            }
        }
        next_seq = next_seq.max(r.seq + 1);
        let row = match &r.record {
            Some(record) => crate::render::result_row(r.row as usize, record),
            None => ResultRow {
                household_ref: r.household_ref.clone(),
                first_row: r.row as usize,
                record_id: String::new(),
                verdict: "无记录 NONE".into(),
                reasons: r.error.clone(),
                flags: String::new(),
                missing_sources: String::new(),
                flagged: true,
            },
        };
        write(&mut sink, &row)?;
        n += 1;
    }
    if only_flagged {
        // The unfinished households are not known one by one here; one row
        // says how many there are, so the list is never silently short.
        let left = batch.total.saturating_sub(batch.done);
        if left > 0 {
            write(&mut sink, &unfinished_flagged_row(left, cancelled))?;
            unfinished = left;
        }
    } else {
        while next_seq <= batch.total {
            write(&mut sink, &unfinished_row(next_seq, cancelled))?;
            unfinished += 1;
            next_seq += 1;
        }
    }
    sink.finish().map_err(|e| anyhow!("{}: {e}", path.display()))?;
    eprintln!("wrote {n} household(s) to {}", path.display());
    if unfinished > 0 {
        let (what, then) = if cancelled {
            ("was cancelled", "they will not be checked in this batch")
        } else {
            (
                "is not finished",
                "download the results again when `hedui batch status` says DONE",
            )
        };
        eprintln!(
            "batch {id} {what}: {unfinished} of {} household(s) are not done; {} as 未完成; {then}",
            batch.total,
            if only_flagged {
                "the file says so in its last row"
            } else {
                "they are in the file"
            }
        );
    }
    Ok(())
}

/// The results line of household `seq` of the batch, which has no record yet.
fn unfinished_row(seq: u32, cancelled: bool) -> ResultRow {
    ResultRow {
        household_ref: String::new(),
        first_row: 0,
        record_id: String::new(),
        verdict: "未完成".into(),
        reasons: if cancelled {
            format!("批次第 {seq} 户：批次已取消，此户未核对")
        } else {
            format!("批次第 {seq} 户：尚未核对完毕（批次仍在进行），批次结束后请重新下载结果")
        },
        flags: String::new(),
        missing_sources: String::new(),
        flagged: false,
    }
}

/// The last line of a home-visit list of an unfinished batch.
fn unfinished_flagged_row(left: u32, cancelled: bool) -> ResultRow {
    ResultRow {
        reasons: if cancelled {
            format!("批次已取消：另有 {left} 户未核对，不在此清单中")
        } else {
            format!("另有 {left} 户尚未核对完毕，其中可能还有需入户核查的家庭；批次结束后请重新下载")
        },
        ..unfinished_row(0, cancelled)
    }
}

fn state_word(s: i32) -> &'static str {
    match BatchState::try_from(s).unwrap_or_default() {
        BatchState::Draft => "DRAFT",
        BatchState::Running => "RUNNING",
        BatchState::Done => "DONE",
        BatchState::Cancelled => "CANCELLED",
        BatchState::Unspecified => "UNKNOWN",
    }
}

fn print_batch(b: &Batch, output: Output) {
    match output {
        Output::Json | Output::Jsonl => crate::output::one(&crate::output::message(b, "hedui.v1.Batch"), output),
        Output::Human => {
            println!("batch      {}", b.batch_id);
            if !b.label.is_empty() {
                println!("label      {}", b.label);
            }
            println!("state      {}", state_word(b.state));
            println!("created    {} by {}", b.created_at, b.created_by);
            if !b.started_at.is_empty() {
                println!("started    {}", b.started_at);
            }
            if !b.finished_at.is_empty() {
                println!("finished   {}", b.finished_at);
            }
            println!(
                "progress   {}/{} done, {} running, {} waiting ({} retried)",
                b.done, b.total, b.running, b.pending, b.retried
            );
            println!(
                "verdicts   符合 {}  不符合 {}  需复核 {}  不完整 {}  无记录 {}",
                b.meets_criteria, b.does_not_meet, b.needs_review, b.incomplete, b.failed
            );
            println!("home visit {}", b.flagged);
            println!("rate       {:.1}/s, {} left", b.rate_per_s, eta(b));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(total: u32, done: u32, running: u32, pending: u32, rate: f64) -> Batch {
        Batch {
            state: BatchState::Running as i32,
            total,
            done,
            running,
            pending,
            rate_per_s: rate,
            ..Default::default()
        }
    }

    #[test]
    fn time_left_is_never_zero_while_households_remain() {
        assert_eq!(eta(&batch(100, 100, 0, 0, 5.0)), "0s");
        assert_eq!(eta(&batch(100, 99, 1, 0, 500.0)), "1s");
        assert_eq!(eta(&batch(100, 99, 1, 0, 1e12)), "1s");
        assert_eq!(eta(&batch(100, 90, 1, 9, 0.0)), "unknown");
        assert_eq!(eta(&batch(100, 90, 1, 9, f64::NAN)), "unknown");
        assert_eq!(eta(&batch(100, 0, 1, 99, 1.0)), "1m40s");
        assert_eq!(eta(&batch(10_000, 0, 1, 9_999, 1.0)), "2h46m40s");
    }

    #[test]
    fn a_dead_hubs_leases_are_told_after_a_reconnection() {
        let mut w = LeaseWatch::default();
        // Without a lost hub, a running household is just running.
        assert!(!w.waiting(&batch(10, 4, 2, 4, 1.0)));
        w.reconnected();
        // Nothing finished since the hub came back: waiting for the lease.
        assert!(w.waiting(&batch(10, 4, 2, 4, 1.0)));
        assert!(progress(&batch(10, 4, 2, 4, 1.0), &mut w).starts_with("等待租约到期"));
        // The new hub finishes others, and some are still leased: running.
        assert!(!w.waiting(&batch(10, 6, 2, 2, 1.0)));
        // Only leased households are left: waiting again.
        assert!(w.waiting(&batch(10, 8, 2, 0, 1.0)));
        // The leases ran out and were taken again: done with the wait.
        assert!(!w.waiting(&batch(10, 8, 0, 2, 1.0)));
        assert!(!w.waiting(&batch(10, 8, 2, 0, 1.0)));
    }

    #[test]
    fn unfinished_households_are_rows_that_say_so() {
        let row = unfinished_row(7, false);
        let cells = row.cells();
        assert_eq!(cells[0], "");
        assert_eq!(cells[1], "");
        assert_eq!(cells[3], "未完成");
        assert!(cells[4].starts_with("批次第 7 户：尚未核对完毕"), "{}", cells[4]);
        assert!(unfinished_row(7, true).reasons.contains("批次已取消"));
        assert!(unfinished_flagged_row(12, false).reasons.contains("另有 12 户"));
    }
}
