//! A small TCP fault proxy that sits between the hub and one adapter.
//!
//! The hub speaks mutual TLS to the adapter *through* the proxy, so what the
//! proxy breaks is exactly what a broken network or a broken partner would
//! break: the proxy never sees a plaintext byte. Its fault can be changed
//! while the system runs; each fault applies to new connections and to the
//! next bytes on connections already open (the hub keeps its connection to
//! each adapter open between calls).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forwards both ways.
    Pass,
    /// Accepts and reads, never answers: the call waits for its deadline.
    Blackhole,
    /// Nothing listens: connecting is refused; open connections are cut.
    Refuse,
    /// Forwards the caller's bytes to the adapter, so the call is under way,
    /// then resets the caller's connection (RST) instead of answering.
    ResetMidCall,
    /// Sends the caller to a server that completes the TLS handshake with a
    /// valid adapter certificate and then answers bytes that are not gRPC.
    NotGrpc,
    /// Forwards the answer a few bytes at a time, with a pause between.
    Trickle,
    /// Sends new connections to another server (a fake adapter that
    /// answers with invalid data).
    Reroute(SocketAddr),
}

impl Fault {
    /// Faults that pick another server for new connections; switching to or
    /// from one cuts open connections so the next call goes where it should.
    fn reroutes(self) -> bool {
        matches!(self, Fault::NotGrpc | Fault::Reroute(_))
    }
}

/// A running proxy. Dropping it stops it.
pub struct FaultProxy {
    addr: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    /// Bumped to cut every open connection.
    cut: watch::Sender<u64>,
    listener: Arc<tokio::sync::Mutex<Option<TcpListener>>>,
    accept: Mutex<Option<tokio::task::JoinHandle<()>>>,
    upstream: SocketAddr,
    not_grpc: SocketAddr,
}

impl FaultProxy {
    /// A proxy in front of `upstream`; `not_grpc` is where [`Fault::NotGrpc`]
    /// sends the caller.
    pub async fn start(upstream: SocketAddr, not_grpc: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, _) = watch::channel(0);
        let proxy = FaultProxy {
            addr,
            fault: Arc::new(Mutex::new(Fault::Pass)),
            cut,
            listener: Arc::new(tokio::sync::Mutex::new(Some(listener))),
            accept: Mutex::new(None),
            upstream,
            not_grpc,
        };
        proxy.spawn_accept().await;
        proxy
    }

    /// The address the hub is given for the adapter.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Changes the fault. [`Fault::Refuse`] closes the listening socket and
    /// cuts open connections; leaving it binds the same port again.
    pub async fn set(&self, fault: Fault) {
        let before = std::mem::replace(&mut *self.fault.lock().unwrap(), fault);
        if fault == Fault::Refuse && before != Fault::Refuse {
            let task = self.accept.lock().unwrap().take();
            if let Some(task) = task {
                task.abort();
                let _ = task.await;
            }
            *self.listener.lock().await = None;
            self.cut_connections();
        } else if before == Fault::Refuse && fault != Fault::Refuse {
            let listener = TcpListener::bind(self.addr).await.unwrap();
            *self.listener.lock().await = Some(listener);
            self.spawn_accept().await;
        } else if fault.reroutes() || before.reroutes() {
            self.cut_connections();
        }
    }

    /// Drops every open connection, as an adapter that restarts does.
    pub fn cut_connections(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    async fn spawn_accept(&self) {
        let listener = self.listener.lock().await.take().expect("a listener to accept on");
        let fault = self.fault.clone();
        let cut = self.cut.clone();
        let (upstream, not_grpc) = (self.upstream, self.not_grpc);
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let target = match *fault.lock().unwrap() {
                    Fault::NotGrpc => not_grpc,
                    Fault::Reroute(to) => to,
                    _ => upstream,
                };
                tokio::spawn(serve(client, target, fault.clone(), cut.subscribe()));
            }
        });
        *self.accept.lock().unwrap() = Some(task);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(task) = self.accept.lock().unwrap().take() {
            task.abort();
        }
        self.cut_connections();
    }
}

/// Pumps one connection until either side closes, the proxy cuts it, or a
/// fault ends it.
async fn serve(client: TcpStream, target: SocketAddr, fault: Arc<Mutex<Fault>>, mut cut: watch::Receiver<u64>) {
    let current = || *fault.lock().unwrap();
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut server_rx, mut server_tx) = server.into_split();
    let mut up = [0u8; 16 * 1024];
    let mut down = [0u8; 16 * 1024];
    loop {
        tokio::select! {
            _ = cut.changed() => return,
            n = client_rx.read(&mut up) => {
                let Ok(n @ 1..) = n else { return };
                match current() {
                    Fault::Blackhole => continue,
                    Fault::ResetMidCall => {
                        // The adapter gets the call; the hub gets a reset.
                        let _ = server_tx.write_all(&up[..n]).await;
                        let client = client_rx.reunite(client_tx).expect("two halves of one stream");
                        let _ = client.set_zero_linger();
                        drop(client);
                        return;
                    }
                    _ => {
                        if server_tx.write_all(&up[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
            n = server_rx.read(&mut down) => {
                let Ok(n @ 1..) = n else { return };
                match current() {
                    Fault::Blackhole => continue,
                    Fault::Trickle => {
                        let mut rest = &down[..n];
                        // One byte at a time, until the fault changes or the
                        // connection is cut; then the rest at once.
                        while let Some((byte, tail)) = rest.split_first() {
                            if cut.has_changed().unwrap_or(true) {
                                return;
                            }
                            if current() != Fault::Trickle {
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            if client_tx.write_all(std::slice::from_ref(byte)).await.is_err() {
                                return;
                            }
                            rest = tail;
                        }
                        if client_tx.write_all(rest).await.is_err() {
                            return;
                        }
                    }
                    _ => {
                        if client_tx.write_all(&down[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// A server with a valid adapter certificate that answers every TLS
/// connection with bytes that are not HTTP/2, let alone gRPC.
pub async fn not_grpc_server(tls: hedui_tls::ServerTls) -> SocketAddr {
    use futures::StreamExt as _;
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut incoming = Box::pin(hedui_tls::incoming(listener, tls));
    tokio::spawn(async move {
        while let Some(conn) = incoming.next().await {
            let Ok(mut conn) = conn else { continue };
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = conn.read(&mut buf).await;
                let _ = conn
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n\r\n<html>not grpc</html>\xff\xfe\x00")
                    .await;
                let _ = conn.flush().await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            });
        }
    });
    addr
}
