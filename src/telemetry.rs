//! Logging setup. Logs go to stderr so that `--output json` on stdout stays
//! clean. `HEDUI_LOG` sets the filter (default `info` for servers, `warn`
//! for client commands) and `HEDUI_LOG_FORMAT=json` switches to JSON lines.
//! Noise from hyper, h2 and tower is silenced.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber.
pub fn init(default_level: &str) {
    let filter = std::env::var("HEDUI_LOG").unwrap_or_else(|_| default_level.to_owned());
    let filter = EnvFilter::try_new(format!(
        "{filter},h2=warn,hyper=warn,hyper_util=warn,tower=warn,sqlx=warn"
    ))
    .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a person at a terminal, never in a journal or a file.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let json = std::env::var("HEDUI_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    // A second init (as in tests) is harmless; ignore the error it returns.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
