//! What every page holds: the hub's handlers and the console's secrets
//! (`App`), and the person at the browser (`Who`). Imports no page, no
//! router and no layout, so that all of them can import it.

use std::sync::{Arc, OnceLock};

use hedui_hub::HubState;
use hedui_hub::access::Caller;
use hedui_hub::audit_service::Audit;
use hedui_hub::batch_service::BatchApi;
use hedui_hub::service::Verification;
use hedui_tls::PeerInfo;

use crate::csrf;

/// The largest form body (a household of 30 members fits many times over).
pub const MAX_FORM_BYTES: usize = 256 * 1024;
/// The largest roster upload: the command line's limit, and the multipart
/// envelope around it.
pub const MAX_UPLOAD_BYTES: usize = 100 * 1024 * 1024 + 64 * 1024;

/// What the console holds: the hub's handlers and its own secrets.
pub struct App {
    pub state: Arc<HubState>,
    pub verification: Verification,
    pub audit: Audit,
    pub batches: BatchApi,
    pub csrf: csrf::Key,
    pub settings: Settings,
    /// The CJK font for PDFs, loaded at the first PDF.
    #[cfg(feature = "pdf")]
    pub font: OnceLock<Result<hedui_report::pdf::CjkFont, String>>,
    #[cfg(not(feature = "pdf"))]
    pub font: OnceLock<()>,
}

/// What the console shows that is not in the hub: the bureau's names on
/// reports, and the font for PDFs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The bureau that prints reports, e.g. "德江县民政局".
    pub bureau: String,
    /// The county, e.g. "德江县".
    pub county: String,
    /// The CJK font file for PDFs; the Debian font packages when `None`.
    pub font: Option<std::path::PathBuf>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            bureau: "县民政局".to_owned(),
            county: "本县".to_owned(),
            font: None,
        }
    }
}

/// The CJK font: the configured file, else the first Debian font that is
/// installed.
#[cfg(feature = "pdf")]
pub fn load_font(explicit: Option<&std::path::Path>) -> Result<hedui_report::pdf::CjkFont, String> {
    let candidates: Vec<std::path::PathBuf> = match explicit {
        Some(p) => vec![p.to_owned()],
        None => hedui_report::pdf::DEBIAN_CJK_FONTS
            .iter()
            .map(std::path::PathBuf::from)
            .collect(),
    };
    for p in candidates {
        if let Ok(data) = std::fs::read(&p) {
            return hedui_report::pdf::CjkFont::from_bytes(data).map_err(|e| format!("{}: {e}", p.display()));
        }
    }
    Err("no CJK font".to_owned())
}

impl App {
    pub fn new(state: Arc<HubState>, settings: Settings) -> App {
        App {
            settings,
            verification: Verification::new(state.clone()),
            audit: Audit::new(state.clone()),
            batches: BatchApi::new(state.clone()),
            state,
            csrf: csrf::Key::generate(),
            font: OnceLock::new(),
        }
    }
}

/// The person at the browser: their certificate's identity, as the gRPC
/// handlers see it.
#[derive(Clone)]
pub struct Who {
    pub peer: PeerInfo,
    pub caller: Caller,
    /// The CSRF token of this certificate, for the forms of the page.
    pub token: String,
}

impl Who {
    /// A request to a hub handler, carrying this person's certificate as a
    /// gRPC call over the other listener would.
    pub fn req<T>(&self, msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        r.extensions_mut().insert(self.peer.clone());
        r
    }

    /// The name shown in the header: the certificate's holder.
    pub fn name(&self) -> String {
        match &self.caller {
            Caller::Certified(id) => id.name.clone(),
            _ => "未识别的证书".to_owned(),
        }
    }

    /// The role's Chinese name.
    pub fn role_zh(&self) -> &'static str {
        match &self.caller {
            Caller::Certified(id) => match id.role {
                hedui_tls::Role::Caseworker => "核对员",
                hedui_tls::Role::Auditor => "审计员",
                hedui_tls::Role::Admin => "管理员",
                _ => "其他",
            },
            _ => "未识别",
        }
    }

    pub fn is(&self, role: hedui_tls::Role) -> bool {
        matches!(&self.caller, Caller::Certified(id) if id.role == role)
    }
}

impl App {
    /// Writes a refused POST to the audit log.
    pub async fn log_refusal(&self, who: &Who, why: &str) {
        let mut e = hedui_hub::service::audit_entry(&who.caller, "console.csrf", "PERMISSION_DENIED");
        e.detail = why.to_owned();
        if let Err(error) = self.state.audit.append(vec![e]).await {
            tracing::warn!(%error, "could not log a refused console request");
        }
    }
}

pub fn human_bytes(n: usize) -> String {
    if n >= 1024 * 1024 {
        format!("{} MiB", n / (1024 * 1024))
    } else {
        format!("{} KiB", n / 1024)
    }
}
