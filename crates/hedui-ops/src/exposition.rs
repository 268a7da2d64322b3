//! The Prometheus text exposition format, by hand: a few families with
//! fixed, small label sets fit in a page, and the format is plain text.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram's buckets, in seconds: from fast
/// local calls to the hub's 10 s default deadline and beyond.
pub const LATENCY_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// A latency histogram over [`LATENCY_BUCKETS`].
#[derive(Debug, Default, Clone)]
pub struct Histogram {
    /// Count per bucket (not cumulative); the last one is `+Inf`.
    buckets: [u64; LATENCY_BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

impl Histogram {
    /// Counts one observation.
    pub fn observe(&mut self, took: Duration) {
        let seconds = took.as_secs_f64();
        let i = LATENCY_BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[i] += 1;
        self.sum += seconds;
        self.count += 1;
    }

    /// Writes the `_bucket`, `_sum` and `_count` lines of `name` with the
    /// labels `labels` (already formatted, without braces).
    pub fn write(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, n) in LATENCY_BUCKETS.iter().zip(self.buckets) {
            cumulative += n;
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        if labels.is_empty() {
            let _ = writeln!(out, "{name}_sum {}", self.sum);
            let _ = writeln!(out, "{name}_count {}", self.count);
        } else {
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
            let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
        }
    }
}

/// Writes the `# HELP` and `# TYPE` lines of a family.
pub fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Escapes a label value as the exposition format requires.
pub fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// A poisoned lock only means another thread panicked while counting; the
/// counts are still usable.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `hedui_build_info`: the version, and the commit when the build set
/// `HEDUI_COMMIT`. `what` names the program in the help text.
pub fn build_info(out: &mut String, what: &str) {
    family(
        out,
        "hedui_build_info",
        "gauge",
        &format!("Always 1; the labels say which build of the {what} this is."),
    );
    let version = env!("CARGO_PKG_VERSION");
    let labels = match option_env!("HEDUI_COMMIT").filter(|c| !c.is_empty()) {
        Some(commit) => format!("version=\"{}\",commit=\"{}\"", escape(version), escape(commit)),
        None => format!("version=\"{}\"", escape(version)),
    };
    let _ = writeln!(out, "hedui_build_info{{{labels}}} 1");
}

/// The usual process metrics, read from `/proc/self` where there is one;
/// a value that cannot be read is left out rather than made up. `what`
/// names the program in the help text.
pub fn process(out: &mut String, what: &str) {
    let proc_file = |name: &str| std::fs::read_to_string(format!("/proc/self/{name}")).ok();
    // Nanoseconds on a CPU: the first field of schedstat, exact without
    // the clock tick.
    if let Some(ns) =
        proc_file("schedstat").and_then(|s| s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()))
    {
        family(
            out,
            "process_cpu_seconds_total",
            "counter",
            &format!("CPU time of the {what} process, user and system."),
        );
        let _ = writeln!(out, "process_cpu_seconds_total {}", ns as f64 / 1e9);
    }
    let status = proc_file("status").unwrap_or_default();
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
    };
    if let Some(kb) = field("VmRSS:") {
        family(
            out,
            "process_resident_memory_bytes",
            "gauge",
            &format!("Resident memory of the {what} process."),
        );
        let _ = writeln!(out, "process_resident_memory_bytes {}", kb * 1024);
    }
    if let Some(n) = field("Threads:") {
        family(
            out,
            "process_threads",
            "gauge",
            &format!("Threads of the {what} process."),
        );
        let _ = writeln!(out, "process_threads {n}");
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        family(
            out,
            "process_open_fds",
            "gauge",
            &format!("Open file descriptors of the {what} process."),
        );
        let _ = writeln!(out, "process_open_fds {}", fds.count());
    }
}

/// `hedui_certificate_expiry_seconds` and `hedui_crl_next_update_seconds`
/// of this process's own TLS set-up, as they are at `now`.
pub fn certificate(out: &mut String, tls: &hedui_tls::ServerTls, now: chrono::DateTime<chrono::Utc>) {
    let id = tls.identity();
    family(
        out,
        "hedui_certificate_expiry_seconds",
        "gauge",
        "Seconds until this process's own certificate expires (negative once it has); a WARN is logged from 14 days before.",
    );
    if let Ok(not_after) = chrono::DateTime::parse_from_rfc3339(&id.not_after) {
        let left = not_after.timestamp() - now.timestamp();
        let _ = writeln!(
            out,
            "hedui_certificate_expiry_seconds{{role=\"{}\",serial=\"{}\"}} {left}",
            escape(&id.role.to_string()),
            escape(&id.serial)
        );
    }
    if let Some(next) = tls.crl_next_update() {
        family(
            out,
            "hedui_crl_next_update_seconds",
            "gauge",
            "Seconds until the loaded revocation list's next update (negative once past: publish a new one).",
        );
        let _ = writeln!(out, "hedui_crl_next_update_seconds {}", next - now.timestamp());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_counts_cumulatively_with_and_without_labels() {
        let mut h = Histogram::default();
        h.observe(Duration::from_millis(30));
        h.observe(Duration::from_secs(11));
        let mut out = String::new();
        h.write(&mut out, "x_seconds", "department=\"tax\"");
        assert!(
            out.contains("x_seconds_bucket{department=\"tax\",le=\"0.025\"} 0\n"),
            "{out}"
        );
        assert!(
            out.contains("x_seconds_bucket{department=\"tax\",le=\"0.05\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("x_seconds_bucket{department=\"tax\",le=\"30\"} 2\n"),
            "{out}"
        );
        assert!(out.contains("x_seconds_count{department=\"tax\"} 2\n"), "{out}");
        let mut out = String::new();
        h.write(&mut out, "x_seconds", "");
        assert!(out.contains("x_seconds_bucket{le=\"+Inf\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_count 2\n"), "{out}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn the_build_and_the_process_are_described() {
        let mut out = String::new();
        build_info(&mut out, "adapter");
        process(&mut out, "adapter");
        assert!(
            out.contains(&format!("hedui_build_info{{version=\"{}\"", env!("CARGO_PKG_VERSION"))),
            "{out}"
        );
        assert!(out.contains("\nprocess_open_fds "), "{out}");
        assert!(out.contains("Threads of the adapter process."), "{out}");
    }
}
