use super::*;
use hedui_proto::v1::Department;

#[test]
fn issued_certificates_carry_the_identity() {
    let ca = Ca::new("德江县", 30).unwrap();
    let tax = Role::Adapter(Department::Tax);
    let issued = ca
        .issue(&tax, "dejiang-tax-01", 10, &["tax.dejiang.example".to_owned()])
        .unwrap();
    assert_eq!(issued.identity.role, tax);
    assert_eq!(issued.identity.name, "dejiang-tax-01");
    assert!(!issued.identity.serial.is_empty());
    assert!(issued.identity.not_after.ends_with('Z'));

    let der = CertificateDer::from_pem_slice(issued.cert_pem.as_bytes()).unwrap();
    let (_, x509) = X509Certificate::from_der(&der).unwrap();
    let cn = x509.subject().iter_common_name().next().unwrap();
    assert_eq!(cn.as_str().unwrap(), "dejiang-tax-01");
    let ou = x509.subject().iter_organizational_unit().next().unwrap();
    assert_eq!(ou.as_str().unwrap(), "adapter:tax");
    let san = x509.subject_alternative_name().unwrap().unwrap();
    let names: Vec<String> = san.value.general_names.iter().map(|n| n.to_string()).collect();
    assert!(names.iter().any(|n| n.contains("tax.dejiang.example")), "{names:?}");
    assert!(names.iter().any(|n| n.contains("localhost")), "{names:?}");
    assert!(names.iter().any(|n| n == "IPAddress(7f:00:00:01)"), "{names:?}");
}

#[test]
fn a_certificate_is_named_by_its_serial_and_fingerprint() {
    use sha2::Digest as _;
    let ca = Ca::new("dejiang", 30).unwrap();
    let issued = ca.issue(&Role::Caseworker, "zhang.san", 10, &[]).unwrap();
    let der = CertificateDer::from_pem_slice(issued.cert_pem.as_bytes()).unwrap();
    let id = crate::CertificateId::of(&der);
    assert_eq!(id.serial, issued.identity.serial);
    assert_eq!(id.sha256, hex::encode(sha2::Sha256::digest(&der)));
    // Bytes that are no certificate still get a fingerprint, no serial.
    let junk = crate::CertificateId::of(b"not a certificate");
    assert!(junk.serial.is_empty() && junk.sha256.len() == 64);
}

#[test]
fn client_roles_get_no_loopback_names() {
    let ca = Ca::new("dejiang", 30).unwrap();
    let issued = ca.issue(&Role::Caseworker, "zhang.san", 10, &[]).unwrap();
    let der = CertificateDer::from_pem_slice(issued.cert_pem.as_bytes()).unwrap();
    let (_, x509) = X509Certificate::from_der(&der).unwrap();
    let san = x509.subject_alternative_name().unwrap().unwrap();
    assert_eq!(san.value.general_names.len(), 1);
}

#[test]
fn bad_arguments_name_the_field() {
    let ca = Ca::new("dejiang", 30).unwrap();
    let err = |r: Result<Issued, PkiError>| r.unwrap_err().to_string();
    assert!(err(ca.issue(&Role::Hub, "a b", 1, &[])).starts_with("name:"));
    assert!(err(ca.issue(&Role::Hub, "hub", 0, &[])).starts_with("valid_days:"));
    let capped = ca.issue(&Role::Hub, "hub", 31, &[]).unwrap();
    let inside = ca.issue(&Role::Hub, "hub", 29, &[]).unwrap();
    assert!(capped.identity.not_after > inside.identity.not_after);
    assert!(capped.identity.not_after <= rfc3339_days_from_now(30));
    assert!(err(ca.issue(&Role::Hub, "hub", 1, &["bad host!".to_owned()])).starts_with("hosts:"));
    assert!(err(ca.issue(&Role::Adapter(Department::Unspecified), "x", 1, &[])).starts_with("role:"));
    assert!(Ca::new("  ", 1).unwrap_err().to_string().starts_with("county:"));
}

fn rfc3339_days_from_now(days: u64) -> String {
    let t = SystemTime::now() + Duration::from_secs(days * 86_400 + 1);
    crate::identity::rfc3339(unix_seconds(t)).unwrap()
}

#[test]
fn a_saved_ca_loads_and_keeps_issuing() {
    let dir = tempfile::tempdir().unwrap();
    let files = init_ca(dir.path(), "德江县", 30).unwrap();
    assert_eq!(files.cert, dir.path().join("ca.crt"));
    let err = init_ca(dir.path(), "德江县", 30).unwrap_err();
    assert!(matches!(err, PkiError::Exists { .. }), "{err}");
    assert!(err.to_string().contains("already exists"));

    let ca = Ca::load(dir.path()).unwrap();
    assert_eq!(ca.county(), "德江县");
    let out = dir.path().join("certs");
    let issued = issue(dir.path(), &Role::Hub, "hub-01", 10, &[], &out).unwrap();
    assert_eq!(issued.cert, out.join("hub-01.crt"));
    assert_eq!(issued.key, out.join("hub-01.key"));
    let pem = fs::read_to_string(&issued.cert).unwrap();
    assert_eq!(pem.matches("BEGIN CERTIFICATE").count(), 1);
    let id = identity_from_cert(&CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()).unwrap();
    assert_eq!(id.serial, issued.serial);
    assert_eq!(id.not_after, issued.not_after);

    let err = issue(dir.path(), &Role::Hub, "ca", 10, &[], dir.path()).unwrap_err();
    assert!(err.to_string().contains("would overwrite the CA"), "{err}");

    // Issuing again for the same name replaces the pair in place.
    let again = issue(dir.path(), &Role::Hub, "hub-01", 10, &[], &out).unwrap();
    assert_ne!(again.serial, issued.serial);
}

#[test]
fn a_key_from_another_ca_is_refused() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    init_ca(a.path(), "a", 30).unwrap();
    init_ca(b.path(), "b", 30).unwrap();
    fs::copy(b.path().join("ca.key"), a.path().join("ca.key")).unwrap();
    let err = Ca::load(a.path()).unwrap_err().to_string();
    assert!(err.contains("ca.key: does not belong to"), "{err}");
}

/// The DER bytes of the first PEM block, as a browser would store them.
fn der_of(pem: &str) -> Vec<u8> {
    rustls_pki_types::pem::PemObject::from_pem_slice(pem.as_bytes())
        .map(|c: CertificateDer<'_>| c.to_vec())
        .unwrap()
}

#[test]
fn a_p12_reads_back_to_the_same_key_and_certificates() {
    let ca = Ca::new("德江县", 30).unwrap();
    let issued = ca.issue(&Role::Caseworker, "zhang.san", 10, &[]).unwrap();
    let password = P12Password::new("correct horse").unwrap();
    let der = p12_der(&issued, ca.cert_pem(), &password).unwrap();

    let store = p12_keystore::KeyStore::from_pkcs12(&der, "correct horse").unwrap();
    let (alias, chain) = store.private_key_chain().unwrap();
    assert_eq!(alias, "zhang.san");
    let key = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(issued.key_pem.as_bytes()).unwrap();
    assert_eq!(chain.key(), key.secret_pkcs8_der());
    let certs: Vec<&[u8]> = chain.chain().iter().map(|c| c.as_der()).collect();
    assert_eq!(
        certs,
        [der_of(&issued.cert_pem).as_slice(), der_of(ca.cert_pem()).as_slice()]
    );

    assert!(p12_keystore::KeyStore::from_pkcs12(&der, "wrong horse").is_err());
}

#[test]
fn bad_p12_passwords_and_paths_name_the_field() {
    assert!(P12Password::new("").unwrap_err().to_string().starts_with("password:"));
    assert!(
        P12Password::new("a\nb")
            .unwrap_err()
            .to_string()
            .starts_with("password:")
    );
    assert_eq!(
        format!("{:?}", P12Password::new("secret").unwrap()),
        "P12Password(<redacted>)"
    );
    let ca = Ca::new("dejiang", 30).unwrap();
    let issued = ca.issue(&Role::Auditor, "li.si", 10, &[]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let password = P12Password::generate().unwrap();
    let err = write_p12(&dir.path().join("li.si.key"), &issued, ca.cert_pem(), &password).unwrap_err();
    assert!(err.to_string().starts_with("p12:"), "{err}");
    assert!(!dir.path().join("li.si.key").exists());
}

#[test]
fn generated_p12_passwords_are_four_groups_of_five_and_differ() {
    let a = P12Password::generate().unwrap();
    let b = P12Password::generate().unwrap();
    assert_ne!(a, b);
    let groups: Vec<&str> = a.expose().split('-').collect();
    assert_eq!(groups.len(), 4, "{a:?}");
    for g in groups {
        assert_eq!(g.len(), 5);
        assert!(g.bytes().all(|c| P12_PASSWORD_ALPHABET.contains(&c)));
    }
}

/// OpenSSL stands in for the browsers here: it reads the file with the
/// password, shows the certificates and the key, and refuses a wrong
/// password. It also names the algorithms, which must be PBES2 with
/// AES-256-CBC and an SHA-256 MAC, never RC2 or 3DES.
#[test]
fn openssl_reads_a_p12_and_refuses_a_wrong_password() {
    use std::process::Command;
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("skipped: no openssl command on this machine");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("pki");
    init_ca(&ca_dir, "德江县", 30).unwrap();
    let p12 = dir.path().join("browser").join("zhang.san.p12");
    let password = P12Password::generate().unwrap();
    let files = issue_with_p12(
        &ca_dir,
        &Role::Caseworker,
        "zhang.san",
        10,
        &[],
        &ca_dir,
        (&p12, &password),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&p12).unwrap().permissions().mode() & 0o777, 0o600);
    }

    let openssl = |args: &[&str], pass: &str| {
        Command::new("openssl")
            .arg("pkcs12")
            .arg("-in")
            .arg(&p12)
            .arg("-passin")
            .arg(format!("pass:{pass}"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = openssl(&["-nodes"], password.expose());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(text.matches("BEGIN CERTIFICATE").count(), 2, "{text}");
    assert!(text.contains("BEGIN PRIVATE KEY"), "{text}");
    let pem_blocks = |pem: &str| {
        pem.lines()
            .skip_while(|l| !l.starts_with("-----BEGIN"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let leaf = fs::read_to_string(&files.cert).unwrap();
    assert!(text.contains(&pem_blocks(&leaf)), "the leaf certificate is missing");
    let ca = fs::read_to_string(ca_dir.join(CA_CERT_FILE)).unwrap();
    assert!(text.contains(&pem_blocks(&ca)), "the CA certificate is missing");
    let key = fs::read_to_string(&files.key).unwrap();
    assert!(text.contains(&pem_blocks(&key)), "the private key is missing");
    assert!(text.contains("friendlyName: zhang.san"), "{text}");

    let out = openssl(&["-info", "-noout"], password.expose());
    let info = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{info}");
    assert!(info.contains("MAC: sha256"), "{info}");
    assert_eq!(info.matches("PBES2, PBKDF2, AES-256-CBC").count(), 2, "{info}");
    assert!(!info.contains("RC2") && !info.contains("3DES"), "{info}");

    let out = openssl(&["-nodes"], "not-the-password");
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("PRIVATE KEY"));
}

#[cfg(unix)]
#[test]
fn key_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let files = init_ca(dir.path(), "dejiang", 30).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&files.key), 0o600);
    let issued = issue(
        dir.path(),
        &Role::Caseworker,
        "zhang.san",
        10,
        &[],
        &dir.path().join("out"),
    )
    .unwrap();
    assert_eq!(mode(&issued.key), 0o600);
    // A renewal over an existing key keeps it private.
    let renewed = issue(
        dir.path(),
        &Role::Caseworker,
        "zhang.san",
        10,
        &[],
        &dir.path().join("out"),
    )
    .unwrap();
    assert_eq!(mode(&renewed.key), 0o600);
}
