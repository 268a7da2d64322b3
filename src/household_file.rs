//! The household file that `hedui verify` reads: TOML or JSON, chosen by
//! the file extension. See `deploy/examples/household.toml` and the README.
//!
//! The file uses words (`rural`, `minimum-living`, `spouse`) where the wire
//! format uses enum numbers. Unknown keys are rejected by name. Everything
//! else (ID check characters, dates, the window, member counts) is checked by
//! the same validation the hub applies, before anything is sent.

use std::path::Path;

use anyhow::{Context as _, bail};
use hedui_domain::window::IncomeWindow;
use hedui_domain::words;
use hedui_proto::v1::{
    Authorization, Household, IncomeWindow as WireWindow, Member, Purpose, Relation, Residence, Signer,
    SubmitVerificationRequest,
};
use serde::{Deserialize, Serialize};

/// Largest household file read, to refuse a wrong file quickly.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A household file.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdFile {
    /// The bureau's household or case number.
    pub household_ref: String,
    /// `urban` or `rural`.
    pub residence: String,
    /// The assistance type, for example `minimum-living`.
    pub purpose: String,
    /// The signed authorization's form number.
    pub authorization_ref: String,
    /// Retry key; when absent a new one is generated and printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The income window; when absent, the last 12 whole months.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub income_window: Option<WindowFile>,
    /// The asset reference date; when absent, today.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_reference_date: Option<String>,
    /// The members.
    #[serde(default)]
    pub members: Vec<MemberFile>,
    /// The signed authorization (授权书).
    pub authorization: Option<AuthorizationFile>,
}

/// The signed authorization in a household file.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationFile {
    /// Date signed, `YYYY-MM-DD`.
    pub signed_date: String,
    /// Last day it is valid, `YYYY-MM-DD`.
    pub valid_until: String,
    /// SHA-256 of the scanned form, 64 hex characters.
    pub scan_sha256: String,
    /// Who signed.
    #[serde(default)]
    pub signers: Vec<SignerFile>,
}

/// One signer of the authorization.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignerFile {
    /// Full name.
    pub name: String,
    /// Resident ID number.
    pub id_number: String,
    /// True when signing as guardian for the members in `on_behalf_of`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub as_guardian: bool,
    /// ID numbers of the members a guardian signs for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_behalf_of: Vec<String>,
}

/// An income window in a household file.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WindowFile {
    /// First month, `YYYY-MM`.
    pub from: String,
    /// Last month, `YYYY-MM`.
    pub to: String,
}

/// A member in a household file.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MemberFile {
    /// Full name.
    pub name: String,
    /// 18-character resident ID number.
    pub id_number: String,
    /// Relation to the applicant, for example `spouse`.
    pub relation: String,
    /// True when a guardian signs for the member.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lacks_capacity: bool,
}

/// Reads and converts a household file into a request.
pub fn read(path: &Path, today: chrono::NaiveDate) -> anyhow::Result<SubmitVerificationRequest> {
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.len() > MAX_FILE_BYTES {
        bail!(
            "{}: file is {} bytes; a household file is at most {MAX_FILE_BYTES}",
            path.display(),
            meta.len()
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|e| anyhow::anyhow!("{}: not UTF-8 text ({e})", path.display()))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let file: HouseholdFile = match ext.as_str() {
        "toml" => toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        "json" => serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        _ => bail!("{}: expected a .toml or .json household file", path.display()),
    };
    to_request(file, today).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Converts a parsed file into a request; words become enum values.
pub fn to_request(file: HouseholdFile, today: chrono::NaiveDate) -> Result<SubmitVerificationRequest, String> {
    let residence: Residence = words::parse(&file.residence).map_err(|e| format!("residence: {e}"))?;
    let purpose: Purpose = words::parse(&file.purpose).map_err(|e| format!("purpose: {e}"))?;
    let mut members = Vec::with_capacity(file.members.len());
    for (i, m) in file.members.into_iter().enumerate() {
        let relation: Relation = words::parse(&m.relation).map_err(|e| format!("members[{i}].relation: {e}"))?;
        members.push(Member {
            name: m.name,
            id_number: m.id_number,
            relation: relation as i32,
            lacks_capacity: m.lacks_capacity,
        });
    }
    let income_window = match file.income_window {
        Some(w) => WireWindow {
            from_month: w.from,
            to_month: w.to,
        },
        None => IncomeWindow::last_months(today, 12).to_proto(),
    };
    let authorization = file.authorization.map(|a| Authorization {
        form_number: file.authorization_ref.clone(),
        signers: a
            .signers
            .into_iter()
            .map(|s| Signer {
                name: s.name,
                id_number: s.id_number,
                as_guardian: s.as_guardian,
                on_behalf_of: s.on_behalf_of,
            })
            .collect(),
        signed_date: a.signed_date,
        scan_sha256: a.scan_sha256,
        purpose: purpose as i32,
        valid_until: a.valid_until,
    });
    Ok(SubmitVerificationRequest {
        authorization,
        idempotency_key: file.idempotency_key.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        household: Some(Household {
            household_ref: file.household_ref,
            residence: residence as i32,
            members,
        }),
        purpose: purpose as i32,
        income_window: Some(income_window),
        asset_reference_date: file.asset_reference_date.unwrap_or_default(),
        authorization_ref: file.authorization_ref,
    })
}

/// The household file of a request: what `hedui verify` reads back into
/// the same request (with a new idempotency key). Enum values are written
/// as their English names.
pub fn from_request(req: &SubmitVerificationRequest) -> HouseholdFile {
    let household = req.household.clone().unwrap_or_default();
    HouseholdFile {
        household_ref: household.household_ref,
        residence: words::english(Residence::try_from(household.residence).unwrap_or_default()),
        purpose: words::english(Purpose::try_from(req.purpose).unwrap_or_default()),
        authorization_ref: req.authorization_ref.clone(),
        idempotency_key: None,
        income_window: req.income_window.as_ref().map(|w| WindowFile {
            from: w.from_month.clone(),
            to: w.to_month.clone(),
        }),
        asset_reference_date: Some(req.asset_reference_date.clone()).filter(|d| !d.is_empty()),
        members: household
            .members
            .into_iter()
            .map(|m| MemberFile {
                name: m.name,
                id_number: m.id_number,
                relation: words::english(Relation::try_from(m.relation).unwrap_or_default()),
                lacks_capacity: m.lacks_capacity,
            })
            .collect(),
        authorization: req.authorization.as_ref().map(|a| AuthorizationFile {
            signed_date: a.signed_date.clone(),
            valid_until: a.valid_until.clone(),
            scan_sha256: a.scan_sha256.clone(),
            signers: a
                .signers
                .iter()
                .map(|s| SignerFile {
                    name: s.name.clone(),
                    id_number: s.id_number.clone(),
                    as_guardian: s.as_guardian,
                    on_behalf_of: s.on_behalf_of.clone(),
                })
                .collect(),
        }),
    }
}

/// Writes `req` as a TOML household file at `path`, after `comment` (each
/// line is prefixed with `# `).
pub fn write(path: &Path, req: &SubmitVerificationRequest, comment: &str) -> anyhow::Result<()> {
    let body = toml::to_string(&from_request(req)).with_context(|| format!("{}: cannot write TOML", path.display()))?;
    let mut text = String::new();
    for line in comment.lines() {
        text.push_str("# ");
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(&body);
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    #[test]
    fn the_shipped_examples_parse_and_validate() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/examples");
        for name in ["household.toml", "household.json"] {
            let req = read(&dir.join(name), today()).unwrap();
            let (sub, auth) = hedui_trust::submission::parse(&req, today()).unwrap_or_else(|e| panic!("{name}: {e}"));
            hedui_trust::authorization::check_covers(&auth, &sub.household, sub.purpose, today())
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            hedui_domain::request::ValidatedSubmission::parse(&req, today()).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn a_written_file_reads_back_as_the_same_request() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/examples");
        let req = read(&dir.join("household.toml"), today()).unwrap();
        let out = tempfile::tempdir().unwrap();
        let path = out.path().join("h.toml");
        write(&path, &req, "a comment\nof two lines").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# a comment\n# of two lines\n"), "{text}");
        let back = read(&path, today()).unwrap();
        assert_eq!(
            SubmitVerificationRequest {
                idempotency_key: String::new(),
                ..back
            },
            SubmitVerificationRequest {
                idempotency_key: String::new(),
                ..req
            }
        );
    }

    #[test]
    fn unknown_keys_and_words_are_named() {
        let base =
            "household_ref = \"H1\"\nresidence = \"rural\"\npurpose = \"minimum-living\"\nauthorization_ref = \"A1\"\n";
        let e = toml::from_str::<HouseholdFile>(&format!("{base}colour = \"red\"\n")).unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
        let f: HouseholdFile = toml::from_str(&base.replace("rural", "suburban")).unwrap();
        assert!(to_request(f, today()).unwrap_err().starts_with("residence"));
        let f: HouseholdFile = toml::from_str(&format!(
            "{base}[[members]]\nname = \"杨\"\nid_number = \"520626194701205831\"\nrelation = \"cousin\"\n"
        ))
        .unwrap();
        assert!(to_request(f, today()).unwrap_err().starts_with("members[0].relation"));
    }
}
