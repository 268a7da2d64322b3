//! End-to-end mutual TLS over real sockets on 127.0.0.1: a tiny
//! `SourceService` whose `Describe` answers with the caller's role and name
//! as the server saw them, served through `incoming` and reached through
//! `channel`.

use std::error::Error as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hedui_proto::v1::source_service_client::SourceServiceClient;
use hedui_proto::v1::source_service_server::{SourceService, SourceServiceServer};
use hedui_proto::v1::{Department, DescribeRequest, DescribeResponse, QueryRequest, QueryResponse};
use hedui_tls::pki;
use hedui_tls::{
    ClientTls, IdentityError, Role, ServerTls, TlsError, TlsFiles, channel, identity_from_cert, incoming, peer,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

const TAX: Role = Role::Adapter(Department::Tax);
const PBOC: Role = Role::Adapter(Department::Pboc);

/// Answers `Describe` with `<role>|<name>` of the caller, so a test can see
/// what the server saw; a caller without an identity is denied, as a real
/// service would.
struct WhoAmI;

#[tonic::async_trait]
impl SourceService for WhoAmI {
    async fn describe(&self, req: Request<DescribeRequest>) -> Result<Response<DescribeResponse>, Status> {
        let info = peer(&req).ok_or_else(|| Status::unauthenticated("no peer info"))?;
        assert!(info.remote_addr.is_some());
        let id = info
            .identity
            .as_ref()
            .ok_or_else(|| Status::permission_denied("no hedui identity"))?;
        Ok(Response::new(DescribeResponse {
            version: format!("{}|{}", id.role, id.name),
            ..Default::default()
        }))
    }

    async fn query(&self, _req: Request<QueryRequest>) -> Result<Response<QueryResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

impl Server {
    async fn start(tls: ServerTls) -> Server {
        Server::start_on("127.0.0.1:0", tls).await
    }

    async fn start_on(bind: &str, tls: ServerTls) -> Server {
        let listener = TcpListener::bind(bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(SourceServiceServer::new(WhoAmI))
                .serve_with_incoming_shutdown(incoming(listener, tls), async {
                    let _ = stopped.await;
                }),
        );
        Server {
            addr,
            stop: Some(stop),
            task,
        }
    }

    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        (&mut self.task).await.unwrap().unwrap();
    }
}

/// A county PKI in a temporary directory.
struct Pki {
    dir: TempDir,
}

impl Pki {
    fn new(county: &str) -> Pki {
        let dir = tempfile::tempdir().unwrap();
        pki::init_ca(&dir.path().join("ca"), county, 30).unwrap();
        Pki { dir }
    }

    fn ca_dir(&self) -> PathBuf {
        self.dir.path().join("ca")
    }

    fn ca_cert(&self) -> PathBuf {
        self.ca_dir().join("ca.crt")
    }

    /// Issues a certificate into `<tmp>/<name>/` and returns the files of a
    /// party that trusts this PKI's CA.
    fn issue(&self, role: Role, name: &str) -> TlsFiles {
        let out = self.dir.path().join(name);
        let files = pki::issue(&self.ca_dir(), &role, name, 10, &[], &out).unwrap();
        TlsFiles {
            ca: self.ca_cert(),
            cert: files.cert,
            key: files.key,
            crl: None,
        }
    }
}

async fn describe(url: &str, client: TlsFiles, expected: Option<Role>) -> Result<String, Status> {
    let tls = ClientTls::load(client).unwrap();
    let ch = channel(url, tls, expected, Duration::from_secs(5)).unwrap();
    SourceServiceClient::new(ch)
        .describe(DescribeRequest {})
        .await
        .map(|r| r.into_inner().version)
}

/// The status message and every error source under it, for assertions on
/// why a connection failed.
fn chain(status: &Status) -> String {
    let mut out = status.to_string();
    let mut source = status.source();
    while let Some(e) = source {
        out.push_str(" / ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    if std::env::var_os("HEDUI_TLS_SHOW").is_some() {
        eprintln!("{out}");
    }
    out
}

#[tokio::test]
async fn mutual_tls_round_trip_shows_the_client_identity() {
    let pki = Pki::new("德江县");
    let server_files = pki.issue(Role::Hub, "hub-01");
    let tls = ServerTls::load(server_files).unwrap();
    assert_eq!(tls.identity().role, Role::Hub);
    let server = Server::start(tls).await;

    let client = pki.issue(Role::Caseworker, "zhang.san");
    let seen = describe(&server.url(), client.clone(), Some(Role::Hub)).await.unwrap();
    assert_eq!(seen, "caseworker|zhang.san");

    // The host name works as well as the IP address, since server
    // certificates always name localhost.
    let url = format!("https://localhost:{}", server.addr.port());
    assert_eq!(describe(&url, client, None).await.unwrap(), "caseworker|zhang.san");
    server.stop().await;
}

#[tokio::test]
async fn a_client_without_a_certificate_is_rejected() {
    let pki = Pki::new("dejiang");
    let server = Server::start(ServerTls::load(pki.issue(TAX, "dejiang-tax-01")).unwrap()).await;

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(pki.ca_cert()).unwrap())
        .unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(hedui_tls::crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    // In TLS 1.3 the client finishes its side of the handshake before the
    // server has checked it, so the refusal arrives on the first read.
    let outcome = async {
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await?;
        tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await?;
        let mut buf = [0u8; 64];
        tls.read(&mut buf).await
    }
    .await;
    let err = outcome.expect_err("the server must not talk to a client without a certificate");
    assert!(
        err.to_string().contains("CertificateRequired"),
        "unexpected error: {err}"
    );

    // The failed handshake did not stop the server.
    let good = pki.issue(Role::Hub, "hub-01");
    assert_eq!(describe(&server.url(), good, None).await.unwrap(), "hub|hub-01");
    server.stop().await;
}

#[tokio::test]
async fn a_client_from_another_county_ca_is_rejected() {
    let ours = Pki::new("dejiang");
    let theirs = Pki::new("yanhe");
    let server = Server::start(ServerTls::load(ours.issue(Role::Hub, "hub-01")).unwrap()).await;

    // The stranger trusts our CA, so only the server's check can stop it.
    let mut stranger = theirs.issue(Role::Caseworker, "li.si");
    stranger.ca = ours.ca_cert();
    let status = describe(&server.url(), stranger, None).await.unwrap_err();
    assert!(chain(&status).contains("UnknownCA"), "{}", chain(&status));

    let good = ours.issue(Role::Caseworker, "zhang.san");
    assert!(describe(&server.url(), good, None).await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn an_expired_client_certificate_is_rejected() {
    let pki = Pki::new("dejiang");
    let server = Server::start(ServerTls::load(pki.issue(Role::Hub, "hub-01")).unwrap()).await;

    let day = Duration::from_secs(86_400);
    let now = SystemTime::now();
    let out = pki.dir.path().join("expired");
    let files = pki::issue_with_validity(
        &pki.ca_dir(),
        &Role::Caseworker,
        "zhang.san",
        now - 10 * day,
        now - day,
        &[],
        &out,
    )
    .unwrap();
    let expired = TlsFiles {
        ca: pki.ca_cert(),
        cert: files.cert,
        key: files.key,
        crl: None,
    };
    let status = describe(&server.url(), expired, None).await.unwrap_err();
    assert!(chain(&status).contains("CertificateExpired"), "{}", chain(&status));
    server.stop().await;
}

#[tokio::test]
async fn a_server_with_the_wrong_role_is_refused() {
    let pki = Pki::new("dejiang");
    let server = Server::start(ServerTls::load(pki.issue(TAX, "dejiang-tax-01")).unwrap()).await;
    let hub = pki.issue(Role::Hub, "hub-01");

    let status = describe(&server.url(), hub.clone(), Some(PBOC)).await.unwrap_err();
    let why = chain(&status);
    assert!(
        why.contains("presented role adapter:tax, expected adapter:pboc"),
        "{why}"
    );

    assert_eq!(describe(&server.url(), hub, Some(TAX)).await.unwrap(), "hub|hub-01");
    server.stop().await;
}

#[tokio::test]
async fn a_server_certificate_must_name_the_host() {
    let pki = Pki::new("dejiang");
    let hub = pki.issue(Role::Hub, "hub-01");
    // 127.0.0.2 is loopback too, but the first certificate does not name it.
    let unnamed = pki.issue(TAX, "dejiang-tax-01");
    let server = Server::start_on("127.0.0.2:0", ServerTls::load(unnamed).unwrap()).await;
    let status = describe(&server.url(), hub.clone(), None).await.unwrap_err();
    assert!(chain(&status).contains("NotValidForName"), "{}", chain(&status));
    server.stop().await;

    // Named through `hosts`, it verifies.
    let out = pki.dir.path().join("named");
    let named = pki::issue(
        &pki.ca_dir(),
        &TAX,
        "dejiang-tax-02",
        10,
        &["127.0.0.2".to_owned()],
        &out,
    )
    .unwrap();
    let files = TlsFiles {
        ca: pki.ca_cert(),
        cert: named.cert,
        key: named.key,
        crl: None,
    };
    let server = Server::start_on("127.0.0.2:0", ServerTls::load(files).unwrap()).await;
    assert_eq!(describe(&server.url(), hub, Some(TAX)).await.unwrap(), "hub|hub-01");
    server.stop().await;
}

#[tokio::test]
async fn a_slow_client_does_not_block_others() {
    let pki = Pki::new("dejiang");
    let server = Server::start(ServerTls::load(pki.issue(Role::Hub, "hub-01")).unwrap()).await;
    // Opens a connection and says nothing, holding its handshake open.
    let _silent = TcpStream::connect(server.addr).await.unwrap();
    let client = pki.issue(Role::Auditor, "wang.wu");
    assert_eq!(describe(&server.url(), client, None).await.unwrap(), "auditor|wang.wu");
    server.stop().await;
}

#[test]
fn identity_parsing_requires_exactly_one_hedui_uri() {
    let plain = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    assert_eq!(identity_from_cert(plain.cert.der()), Err(IdentityError::Missing));

    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.subject_alt_names = vec![
        rcgen::SanType::URI("urn:hedui:hub:a".try_into().unwrap()),
        rcgen::SanType::URI("urn:hedui:caseworker:b".try_into().unwrap()),
    ];
    let two = params.self_signed(&key).unwrap();
    assert_eq!(identity_from_cert(two.der()), Err(IdentityError::Ambiguous(2)));

    params.subject_alt_names = vec![rcgen::SanType::URI("urn:hedui:root:a".try_into().unwrap())];
    let bad_role = params.self_signed(&key).unwrap();
    assert!(matches!(
        identity_from_cert(bad_role.der()),
        Err(IdentityError::Malformed(_))
    ));

    // Other URIs are ignored; the hedui one decides.
    params.subject_alt_names = vec![
        rcgen::SanType::URI("spiffe://dejiang/hub".try_into().unwrap()),
        rcgen::SanType::URI("urn:hedui:adapter:pboc:pboc-01".try_into().unwrap()),
    ];
    let mixed = params.self_signed(&key).unwrap();
    let id = identity_from_cert(mixed.der()).unwrap();
    assert_eq!((id.role, id.name.as_str()), (PBOC, "pboc-01"));
}

#[test]
fn a_certificate_without_an_identity_cannot_serve() {
    let pki = Pki::new("dejiang");
    let plain = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = pki.dir.path();
    std::fs::write(dir.join("plain.crt"), plain.cert.pem()).unwrap();
    std::fs::write(dir.join("plain.key"), plain.signing_key.serialize_pem()).unwrap();
    let err = ServerTls::load(TlsFiles {
        ca: pki.ca_cert(),
        cert: dir.join("plain.crt"),
        key: dir.join("plain.key"),
        crl: None,
    })
    .unwrap_err();
    assert!(matches!(err, TlsError::OwnIdentity { .. }), "{err}");
    assert!(err.to_string().contains("plain.crt"), "{err}");
}

#[test]
fn load_errors_name_the_file() {
    let pki = Pki::new("dejiang");
    let mut files = pki.issue(Role::Hub, "hub-01");
    files.key = pki.dir.path().join("missing.key");
    let err = ClientTls::load(files.clone()).unwrap_err().to_string();
    assert!(err.contains("missing.key"), "{err}");

    // A key that belongs to another certificate.
    files.key = pki.issue(Role::Hub, "hub-02").key;
    let err = ClientTls::load(files).unwrap_err().to_string();
    assert!(err.contains("hub-01.crt with") && err.contains("hub-02.key"), "{err}");
}

#[test]
fn peer_is_none_outside_a_tls_connection() {
    assert!(peer(&Request::new(())).is_none());
}

/// Copies a freshly issued pair over the files a running server reads.
fn overwrite(from: &TlsFiles, to: &TlsFiles) {
    copy(&from.key, &to.key);
    copy(&from.cert, &to.cert);
    copy(&from.ca, &to.ca);
}

fn copy(from: &Path, to: &Path) {
    std::fs::write(to, std::fs::read(from).unwrap()).unwrap();
}

#[tokio::test]
async fn certificates_and_ca_rotate_without_a_restart() {
    let old = Pki::new("dejiang");
    let new = Pki::new("dejiang");

    // The server reads its own copies, which are overwritten later.
    let live = tempfile::tempdir().unwrap();
    let served = TlsFiles {
        ca: live.path().join("ca.crt"),
        cert: live.path().join("server.crt"),
        key: live.path().join("server.key"),
        crl: None,
    };
    overwrite(&old.issue(TAX, "dejiang-tax-01"), &served);
    let server = Server::start(ServerTls::load(served.clone()).unwrap()).await;

    let old_client = old.issue(Role::Hub, "hub-a");
    assert_eq!(
        describe(&server.url(), old_client.clone(), Some(TAX)).await.unwrap(),
        "hub|hub-a"
    );

    // A half-written file: the server keeps its configuration.
    std::fs::write(&served.cert, "-----BEGIN CERTIFICATE-----\nMIIB").unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        describe(&server.url(), old_client.clone(), Some(TAX)).await.unwrap(),
        "hub|hub-a"
    );

    // The new CA's certificate, key and CA replace the old ones.
    overwrite(&new.issue(TAX, "dejiang-tax-02"), &served);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let new_client = new.issue(Role::Hub, "hub-b");
    assert_eq!(
        describe(&server.url(), new_client, Some(TAX)).await.unwrap(),
        "hub|hub-b"
    );
    // The old CA is no longer trusted by the server, nor the server by an
    // old client.
    assert!(describe(&server.url(), old_client, Some(TAX)).await.is_err());
    server.stop().await;
}

/// The serial of the certificate in `files`.
fn serial(files: &TlsFiles) -> String {
    let pem = std::fs::read(&files.cert).unwrap();
    identity_from_cert(&CertificateDer::from_pem_slice(&pem).unwrap())
        .unwrap()
        .serial
}

fn with_crl(files: TlsFiles, crl: &Path) -> TlsFiles {
    TlsFiles {
        crl: Some(crl.to_owned()),
        ..files
    }
}

#[tokio::test]
async fn a_revoked_client_is_refused_after_one_reload_interval() {
    use hedui_tls::revocation::{Reason, revoke, write_crl};
    let pki = Pki::new("dejiang");
    let crl = pki.ca_dir().join("ca.crl");
    write_crl(&pki.ca_dir(), 30, &crl).unwrap();
    let server = Server::start(ServerTls::load(with_crl(pki.issue(Role::Hub, "hub-01"), &crl)).unwrap()).await;
    let zhang = pki.issue(Role::Caseworker, "zhang.san");
    let li = pki.issue(Role::Caseworker, "li.si");
    assert!(describe(&server.url(), zhang.clone(), None).await.is_ok());

    revoke(&pki.ca_dir(), &serial(&zhang), Reason::KeyCompromise).unwrap();
    write_crl(&pki.ca_dir(), 30, &crl).unwrap();
    tokio::time::sleep(hedui_tls::RELOAD_CHECK_INTERVAL + Duration::from_millis(100)).await;
    let status = describe(&server.url(), zhang.clone(), None).await.unwrap_err();
    assert!(chain(&status).contains("CertificateRevoked"), "{}", chain(&status));
    assert_eq!(
        describe(&server.url(), li.clone(), None).await.unwrap(),
        "caseworker|li.si"
    );

    // A damaged list on disk: the last good one stays in force.
    std::fs::write(&crl, "-----BEGIN X509 CRL-----\nMIIB").unwrap();
    tokio::time::sleep(hedui_tls::RELOAD_CHECK_INTERVAL + Duration::from_millis(100)).await;
    assert!(describe(&server.url(), zhang, None).await.is_err());
    assert_eq!(describe(&server.url(), li, None).await.unwrap(), "caseworker|li.si");
    server.stop().await;
}

#[tokio::test]
async fn a_client_refuses_a_revoked_server() {
    use hedui_tls::revocation::{Reason, revoke, write_crl};
    let pki = Pki::new("dejiang");
    let tax = pki.issue(TAX, "dejiang-tax-01");
    let server = Server::start(ServerTls::load(tax.clone()).unwrap()).await;
    let crl = pki.ca_dir().join("ca.crl");
    write_crl(&pki.ca_dir(), 30, &crl).unwrap();
    let hub = with_crl(pki.issue(Role::Hub, "hub-01"), &crl);
    assert_eq!(
        describe(&server.url(), hub.clone(), Some(TAX)).await.unwrap(),
        "hub|hub-01"
    );

    revoke(&pki.ca_dir(), &serial(&tax), Reason::CessationOfOperation).unwrap();
    write_crl(&pki.ca_dir(), 30, &crl).unwrap();
    let status = describe(&server.url(), hub.clone(), Some(TAX)).await.unwrap_err();
    assert_eq!(
        hedui_tls::connect_failure(&status),
        Some(hedui_tls::ConnectFailure::Revoked),
        "{}",
        chain(&status)
    );
    server.stop().await;
}

#[test]
fn bad_revocation_lists_stop_a_start() {
    use hedui_tls::revocation::{Reason, revoke, write_crl, write_crl_between};
    let pki = Pki::new("dejiang");
    let hub = pki.issue(Role::Hub, "hub-01");
    let crl = pki.ca_dir().join("ca.crl");
    let err = |files: TlsFiles| ServerTls::load(files).unwrap_err().to_string();

    // Missing, and not a list.
    assert!(err(with_crl(hub.clone(), &crl)).contains("ca.crl"));
    std::fs::write(&crl, "hello").unwrap();
    assert!(err(with_crl(hub.clone(), &crl)).contains("no PEM revocation list"));

    // Signed by another CA of the same name, and by an unrelated CA.
    let other = Pki::new("dejiang");
    write_crl(&other.ca_dir(), 30, &crl).unwrap();
    let e = err(with_crl(hub.clone(), &crl));
    assert!(e.contains("not signed by the CA"), "{e}");
    let unrelated = Pki::new("tongren");
    write_crl(&unrelated.ca_dir(), 30, &crl).unwrap();
    let e = err(with_crl(hub.clone(), &crl));
    assert!(e.contains("no list in it is issued by the CA"), "{e}");

    // Expired.
    let day = Duration::from_secs(86_400);
    let now = SystemTime::now();
    write_crl_between(&pki.ca_dir(), now - 10 * day, now - day, &crl).unwrap();
    let e = err(with_crl(hub.clone(), &crl));
    assert!(e.contains("expired"), "{e}");
    assert!(ClientTls::load(with_crl(hub.clone(), &crl)).is_err());

    // A good one loads; one that revokes this very process does not.
    write_crl(&pki.ca_dir(), 30, &crl).unwrap();
    let tls = ServerTls::load(with_crl(hub.clone(), &crl)).unwrap();
    assert!(tls.crl_next_update().is_some());
    revoke(&pki.ca_dir(), &serial(&hub), Reason::Superseded).unwrap();
    write_crl(&pki.ca_dir(), 30, &crl).unwrap();
    let e = err(with_crl(hub.clone(), &crl));
    assert!(e.contains("is revoked") && e.contains("hedui pki renew"), "{e}");
}

/// A list that was good when loaded and then passes its next update stays
/// in force (an ERROR is logged): a late republication must not let the
/// revoked in, nor shut everyone out.
#[tokio::test]
async fn a_list_past_its_next_update_keeps_refusing_what_it_lists() {
    use hedui_tls::revocation::{Reason, revoke, write_crl_between};
    let pki = Pki::new("dejiang");
    let zhang = pki.issue(Role::Caseworker, "zhang.san");
    let li = pki.issue(Role::Caseworker, "li.si");
    revoke(&pki.ca_dir(), &serial(&zhang), Reason::KeyCompromise).unwrap();
    let crl = pki.ca_dir().join("ca.crl");
    let now = SystemTime::now();
    write_crl_between(&pki.ca_dir(), now, now + Duration::from_secs(2), &crl).unwrap();
    let tls = ServerTls::load(with_crl(pki.issue(Role::Hub, "hub-01"), &crl)).unwrap();
    let server = Server::start(tls).await;
    // Past the next update, and past a reload check.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = describe(&server.url(), zhang, None).await.unwrap_err();
    assert!(chain(&status).contains("CertificateRevoked"), "{}", chain(&status));
    assert_eq!(describe(&server.url(), li, None).await.unwrap(), "caseworker|li.si");
    server.stop().await;
}
