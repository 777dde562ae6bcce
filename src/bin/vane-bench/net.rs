//! Opening SDK connections the way many SDK hosts would: each TCP connection bound to one of several loopback
//! source addresses (127.0.0.1, .2, …), so one tool can hold more sockets than one source address has ephemeral
//! ports (~28,000), and targeting only the URL it was given.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{WebSocketStream, client_async_with_config};

/// A WebSocket over plain TCP.
pub type Ws = WebSocketStream<TcpStream>;

/// Largest message accepted from the server: a 3,000-flag full sync is ~5 MB.
const MAX_MESSAGE: usize = 64 << 20;
/// Bytes read per `read` call: a push or a small full sync (FeatBit's benchmark data: ~4.7 KB) in one read.
const READ_BUFFER: usize = 8 * 1024;

/// Opens connections to one server, rotating over source addresses.
pub struct Dialer {
    /// The server's socket address.
    addr: SocketAddr,
    /// `ws://host:port`.
    ws_base: String,
    /// Local addresses to bind; empty for the kernel's choice (non-loopback servers).
    sources: Vec<Ipv4Addr>,
    /// Round-robin position.
    next: AtomicUsize,
}

impl Dialer {
    /// A dialer for `url` (`http://127.0.0.1:5100`), spreading over `source_addrs` loopback addresses when the
    /// server is on loopback.
    pub fn new(url: &str, source_addrs: u8) -> anyhow::Result<Self> {
        let host_port = url.split("://").nth(1).context("url needs a scheme")?.trim_end_matches('/');
        let addr: SocketAddr = host_port.parse().context("url must be http://IP:PORT")?;
        let sources = match addr.ip() {
            IpAddr::V4(ip) if ip.is_loopback() => {
                (1..=source_addrs.max(1)).map(|i| Ipv4Addr::new(127, 0, 0, i)).collect()
            }
            _ => Vec::new(),
        };
        Ok(Self { addr, ws_base: format!("ws://{host_port}"), sources, next: AtomicUsize::new(0) })
    }

    /// A TCP connection to the server from the next source address.
    pub async fn tcp(&self) -> anyhow::Result<TcpStream> {
        let socket = TcpSocket::new_v4()?;
        if !self.sources.is_empty() {
            let i = self.next.fetch_add(1, Ordering::Relaxed) % self.sources.len();
            socket.bind(SocketAddr::new(IpAddr::V4(self.sources[i]), 0))?;
        }
        let stream = socket.connect(self.addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    /// The SDK WebSocket `/streaming?type=…&token=…`.
    pub async fn streaming(&self, kind: &str, token: &str) -> anyhow::Result<Ws> {
        let tcp = self.tcp().await?;
        let url = format!("{}/streaming?type={kind}&token={token}", self.ws_base);
        // tungstenite zero-fills up to `read_buffer_size` (default 128 KiB) before every read: with thousands of
        // sockets each receiving small pushes, that memset was half of the tool's CPU and made it, not the server,
        // the limit of the fan-out scenario. Larger messages still arrive whole (the buffer grows as needed).
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE))
            .read_buffer_size(READ_BUFFER);
        let (ws, _) = client_async_with_config(url, tcp, Some(config)).await?;
        Ok(ws)
    }

    /// Local addresses in use (for reqwest clients).
    pub fn source(&self, i: usize) -> Option<IpAddr> {
        (!self.sources.is_empty()).then(|| IpAddr::V4(self.sources[i % self.sources.len()]))
    }
}
