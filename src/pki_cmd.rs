//! `hedui pki` (the county CA: certificates, revocation, renewal) and
//! `hedui keygen` (the signing keys of the hub and the departments).

use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Create the county CA (ca.crt and ca.key) in --dir.
    Init {
        /// Directory for the CA; created if needed. An existing CA is never overwritten.
        #[arg(long, default_value = "pki")]
        dir: PathBuf,
        /// The county, written into the CA's name (ASCII letters, digits, . _ -), e.g. dejiang.
        #[arg(long)]
        county: String,
        /// How long the CA is valid, in days.
        #[arg(long, default_value_t = 3650)]
        days: u32,
    },
    /// Issue a certificate for a role: caseworker, auditor, admin, hub or adapter:<department>.
    Issue {
        /// Directory holding the CA.
        #[arg(long, default_value = "pki")]
        dir: PathBuf,
        /// The role, e.g. caseworker or adapter:tax.
        #[arg(long)]
        role: String,
        /// The holder's name: 1 to 64 of A-Z a-z 0-9 . _ @ -, e.g. zhang.san or dejiang-tax-01.
        #[arg(long)]
        name: String,
        /// How long the certificate is valid, in days [default: 90 for people (caseworker,
        /// auditor, admin), 365 for services (hub, adapter)].
        #[arg(long)]
        days: Option<u32>,
        /// Extra DNS names or IP addresses for a hub or adapter (localhost and 127.0.0.1 are always included).
        #[arg(long = "host")]
        hosts: Vec<String>,
        /// Where to write <name>.crt and <name>.key; defaults to --dir.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write the certificate, its key and the CA certificate as a password-protected
        /// PKCS#12 file (.p12 or .pfx) for a person to import into Chrome, Firefox or Windows.
        #[arg(long, value_name = "PATH")]
        p12: Option<PathBuf>,
        /// A file whose first line is the .p12 password; without it a random password is
        /// generated and printed once.
        #[arg(long, value_name = "FILE", requires = "p12")]
        p12_password_file: Option<PathBuf>,
    },
    /// Issue a new certificate and key for the holder of an existing certificate, keeping its
    /// role, name and host names; by default written over the old pair, which running
    /// processes pick up without a restart.
    Renew {
        /// Directory holding the CA.
        #[arg(long, default_value = "pki")]
        dir: PathBuf,
        /// The certificate to renew (it may have expired).
        #[arg(long)]
        cert: PathBuf,
        /// How long the new certificate is valid, in days [default: 90 for people, 365 for
        /// services].
        #[arg(long)]
        days: Option<u32>,
        /// Where to write <name>.crt and <name>.key; defaults to the old certificate's directory.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write a password-protected PKCS#12 file (.p12 or .pfx) for a browser, as
        /// `pki issue --p12` does.
        #[arg(long, value_name = "PATH")]
        p12: Option<PathBuf>,
        /// A file whose first line is the .p12 password; without it a random password is
        /// generated and printed once.
        #[arg(long, value_name = "FILE", requires = "p12")]
        p12_password_file: Option<PathBuf>,
    },
    /// Record the revocation of a certificate in --dir/revoked.tsv; `hedui pki crl` then
    /// publishes it.
    Revoke {
        /// Directory holding the CA.
        #[arg(long, default_value = "pki")]
        dir: PathBuf,
        /// The certificate's serial in hex, as `hedui pki issue` printed it (colons allowed).
        #[arg(long)]
        serial: String,
        /// Why: keyCompromise, cessationOfOperation, superseded, affiliationChanged or
        /// unspecified.
        #[arg(long)]
        reason: String,
    },
    /// Sign the revocation list (PEM) with the county CA, for hubs, adapters and the console
    /// (their `crl` setting).
    Crl {
        /// Directory holding the CA.
        #[arg(long, default_value = "pki")]
        dir: PathBuf,
        /// How many days the list is valid; publish a new one before then.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Where to write the list; defaults to --dir/ca.crl.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the secret key; an existing file is never overwritten.
    #[arg(long, short)]
    pub out: PathBuf,
    /// `hub`: an ed25519 signing key (the hub's, or a department's
    /// log-signing key). `data`: the hub's data key file (a KEK for the
    /// envelope encryption of stored records, and the index key of
    /// ID-number search), named by `data_key` in the hub configuration.
    #[arg(long, value_enum, default_value_t = KeyKind::Hub)]
    pub kind: KeyKind,
}

/// What `hedui keygen` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyKind {
    /// An ed25519 signing key.
    Hub,
    /// A data key file.
    Data,
}

/// Creates `path` (and its directory) for a secret, readable by its owner
/// only; an existing file is never overwritten.
fn create_secret_file(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    opts.open(path).with_context(|| {
        format!(
            "cannot create {} (an existing key is never overwritten)",
            path.display()
        )
    })
}

/// New data keys for a throwaway hub (`hedui demo`), written to `path`
/// (replacing an old one, with its database) so that the run's database
/// can be read afterwards; returns the file's text.
pub fn fresh_data_key_file(path: &std::path::Path) -> anyhow::Result<String> {
    use std::io::Write as _;
    let keys = hedui_store::DataKeys::generate()?;
    if path.exists() {
        std::fs::remove_file(path).with_context(|| format!("cannot remove the old {}", path.display()))?;
    }
    let text = keys.to_file_text();
    let mut f = create_secret_file(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(text.to_string())
}

pub fn keygen(a: KeygenArgs) -> anyhow::Result<()> {
    use std::io::Write as _;
    if a.kind == KeyKind::Data {
        let keys = hedui_store::DataKeys::generate()?;
        let mut f = create_secret_file(&a.out)?;
        f.write_all(keys.to_file_text().as_bytes())?;
        f.sync_all()?;
        use hedui_store::KeyProvider as _;
        eprintln!(
            "data keys written to {} (KEK {}); name it as data_key in the hub configuration, keep a copy offline and never in the database's backups",
            a.out.display(),
            keys.current_kek_id()
        );
        return Ok(());
    }
    let key = hedui_trust::SigningKey::generate(&mut rand_core::OsRng);
    let mut f = create_secret_file(&a.out)?;
    writeln!(f, "{}", hedui_audit::checkpoint::format_signing_key(&key))?;
    f.sync_all()?;
    println!("{}", hedui_audit::checkpoint::format_public_key(&key.verifying_key()));
    eprintln!(
        "secret key written to {}; give adapters the public key above (--hub-key), or, for a department's log-signing key, give it to the auditors (--adapter-key)",
        a.out.display()
    );
    Ok(())
}

pub fn pki(c: PkiCommand) -> anyhow::Result<()> {
    match c {
        PkiCommand::Init { dir, county, days } => {
            let files = hedui_tls::pki::init_ca(&dir, &county, days)?;
            println!(
                "CA for {county} created: {} (keep {} secret and offline)",
                files.cert.display(),
                files.key.display()
            );
        }
        PkiCommand::Issue {
            dir,
            role,
            name,
            days,
            hosts,
            out,
            p12,
            p12_password_file,
        } => {
            let role = hedui_tls::Role::parse(&role).map_err(|e| anyhow!("--role: {e}"))?;
            let days = days.unwrap_or_else(|| hedui_tls::pki::default_days(&role));
            let out = out.unwrap_or_else(|| dir.clone());
            let Some(p12) = p12 else {
                let f = hedui_tls::pki::issue(&dir, &role, &name, days, &hosts, &out)?;
                print_issued(&role, &name, &f);
                return Ok(());
            };
            // The password is settled before anything is issued, so a bad
            // password file leaves no new certificate behind.
            let (password, generated) = match &p12_password_file {
                Some(file) => (read_p12_password(file)?, false),
                None => (hedui_tls::pki::P12Password::generate()?, true),
            };
            let f = hedui_tls::pki::issue_with_p12(&dir, &role, &name, days, &hosts, &out, (&p12, &password)).map_err(
                |e| match e {
                    hedui_tls::pki::PkiError::Invalid(m) if m.starts_with("p12:") => anyhow!("--{m}"),
                    other => other.into(),
                },
            )?;
            print_issued(&role, &name, &f);
            println!("wrote {} for importing into a browser", p12.display());
            if generated {
                println!(
                    "p12 password: {}\n(generated; shown only this once and not stored anywhere: give it to {name} separately from the file)",
                    password.expose()
                );
            }
        }
        PkiCommand::Renew {
            dir,
            cert,
            days,
            out,
            p12,
            p12_password_file,
        } => {
            let password = match (&p12, &p12_password_file) {
                (None, _) => None,
                (Some(_), Some(file)) => Some((read_p12_password(file)?, false)),
                (Some(_), None) => Some((hedui_tls::pki::P12Password::generate()?, true)),
            };
            let p12_arg = p12.as_deref().zip(password.as_ref().map(|(p, _)| p));
            let r =
                hedui_tls::pki::renew_with_p12(&dir, &cert, days, out.as_deref(), p12_arg).map_err(|e| match e {
                    hedui_tls::pki::PkiError::Invalid(m) if m.starts_with("p12:") => anyhow!("--{m}"),
                    other => flag_error(other),
                })?;
            print_issued(&r.role, &r.name, &r.files);
            if let (Some(p12), Some((password, generated))) = (&p12, &password) {
                println!("wrote {} for importing into a browser", p12.display());
                if *generated {
                    println!(
                        "p12 password: {}\n(generated; shown only this once and not stored anywhere: give it to {} separately from the file)",
                        password.expose(),
                        r.name
                    );
                }
            }
            println!(
                "the old certificate (serial {}) stays valid until it expires; to withdraw it now: hedui pki revoke --dir {} --serial {} --reason superseded",
                r.old_serial,
                dir.display(),
                r.old_serial
            );
        }
        PkiCommand::Revoke { dir, serial, reason } => {
            let reason = hedui_tls::revocation::Reason::parse(&reason).map_err(flag_error)?;
            let r = hedui_tls::revocation::revoke(&dir, &serial, reason).map_err(flag_error)?;
            match &r.holder {
                Some((role, name)) => println!(
                    "revoked {role} certificate of {name} (serial {}, {})",
                    r.revocation.serial,
                    reason.as_str()
                ),
                None => println!(
                    "revoked serial {} ({}); this CA keeps no register of issued certificates, so the serial could not be checked",
                    r.revocation.serial,
                    reason.as_str()
                ),
            }
            println!(
                "publish it: hedui pki crl --dir {} and copy the list to the hubs and adapters",
                dir.display()
            );
        }
        PkiCommand::Crl { dir, days, out } => {
            let out = out.unwrap_or_else(|| dir.join(hedui_tls::revocation::CRL_FILE));
            let w = hedui_tls::revocation::write_crl(&dir, days, &out).map_err(flag_error)?;
            println!(
                "wrote {} listing {} revoked certificate(s); next update {} (sign a new one before then)",
                w.path.display(),
                w.revoked,
                w.next_update
            );
        }
    }
    Ok(())
}

/// A PKI error whose message starts with a field's name gets that field
/// as a flag (`serial: …` becomes `--serial: …`).
fn flag_error(e: hedui_tls::pki::PkiError) -> anyhow::Error {
    match e {
        hedui_tls::pki::PkiError::Invalid(m)
            if ["serial:", "reason:", "days:", "cert:", "valid_days:"]
                .iter()
                .any(|f| m.starts_with(f)) =>
        {
            let m = m.replacen("valid_days:", "days:", 1);
            anyhow!("--{m}")
        }
        other => other.into(),
    }
}

fn print_issued(role: &hedui_tls::Role, name: &str, f: &hedui_tls::pki::IssuedFiles) {
    println!(
        "issued {role} certificate for {name}: {} and {} (serial {}, valid until {})",
        f.cert.display(),
        f.key.display(),
        f.serial,
        f.not_after
    );
}

/// Reads the .p12 password from the first line of `file`; the line ending
/// is not part of it, so `echo secret > file` works as expected.
fn read_p12_password(file: &std::path::Path) -> anyhow::Result<hedui_tls::pki::P12Password> {
    let flag = "--p12-password-file";
    let text = std::fs::read_to_string(file).map_err(|e| anyhow!("{flag}: {}: {e}", file.display()))?;
    let first = text.lines().next().unwrap_or_default();
    if first.is_empty() {
        return Err(anyhow!(
            "{flag}: {}: the first line is empty; put the password there",
            file.display()
        ));
    }
    hedui_tls::pki::P12Password::new(first).map_err(|e| anyhow!("{flag}: {}: {e}", file.display()))
}
