//! `vane health` and `vane ready`: ask a node's `/health/readiness` over plain HTTP/1.0 (std only: the probe runs
//! in slim containers every few seconds and needs no TLS, pool or runtime).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::time::Duration;

/// A probe gives up after this long (container health checks have their own, longer, timeout).
const TIMEOUT: Duration = Duration::from_secs(3);

/// The readiness status code and body of the node at `base` (`http://HOST:PORT`).
pub fn readiness(base: &str) -> std::io::Result<(u16, String)> {
    let authority = base.strip_prefix("http://").unwrap_or(base).trim_end_matches('/');
    let addr: SocketAddr =
        authority.to_socket_addrs()?.next().ok_or_else(|| std::io::Error::other(format!("{authority}: no address")))?;
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(stream, "GET /health/readiness HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\n\r\n")?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    let status = raw.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    Ok((status, body))
}

/// The URL of this configuration's own listener: `http.addr`, with a wildcard host asked on loopback.
pub fn local_url(addr: &str) -> String {
    let port = addr.rsplit_once(':').map_or("5100", |(_, p)| p);
    match addr.rsplit_once(':').map(|(h, _)| h) {
        Some("0.0.0.0" | "[::]" | "") | None => format!("http://127.0.0.1:{port}"),
        Some(host) => format!("http://{host}:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_listener_is_probed_on_loopback() {
        assert_eq!(local_url("0.0.0.0:5100"), "http://127.0.0.1:5100");
        assert_eq!(local_url("10.0.0.5:80"), "http://10.0.0.5:80");
    }

    #[test]
    fn a_closed_port_is_an_error() {
        let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
        assert!(readiness(&format!("http://{free}")).is_err());
    }
}
