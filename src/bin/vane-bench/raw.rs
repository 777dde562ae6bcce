//! Reading whole server messages off the socket without keeping them: the large scenario receives thousands of
//! multi-megabyte full syncs at once, which a WebSocket library would assemble in memory (gigabytes in the tool).
//! Server frames are unmasked (RFC 6455 §5.1), so the frame headers are all there is to parse.

use anyhow::bail;
use tokio::io::{AsyncReadExt, BufReader};
use tokio::net::TcpStream;

/// Bytes of a message's start kept (enough for its `messageType`).
const HEAD: usize = 64;
/// Read buffer per socket.
const BUF: usize = 16 << 10;

/// One message: its first bytes and its full payload length.
pub struct Received {
    /// Up to 64 first payload bytes.
    pub head: Vec<u8>,
    /// Payload length over all its frames.
    pub len: usize,
}

/// Reads the next data message (text or binary, over any number of continuation frames); control frames are
/// skipped, a close frame is an error.
pub async fn read_message(tcp: &mut TcpStream) -> anyhow::Result<Received> {
    let mut r = BufReader::with_capacity(BUF, tcp);
    let mut msg = Received { head: Vec::with_capacity(HEAD), len: 0 };
    let mut scratch = vec![0u8; BUF];
    loop {
        let (b0, b1) = (r.read_u8().await?, r.read_u8().await?);
        let (fin, opcode) = (b0 & 0x80 != 0, b0 & 0x0f);
        let mut len = u64::from(b1 & 0x7f);
        if len == 126 {
            len = u64::from(r.read_u16().await?);
        } else if len == 127 {
            len = r.read_u64().await?;
        }
        if b1 & 0x80 != 0 {
            bail!("masked frame from the server");
        }
        if opcode == 0x8 {
            bail!("closed by server");
        }
        let mut left = usize::try_from(len)?;
        let data = opcode < 0x8;
        while left > 0 {
            let n = r.read(&mut scratch[..left.min(BUF)]).await?;
            if n == 0 {
                bail!("socket ended mid-frame");
            }
            if data {
                let keep = (HEAD - msg.head.len()).min(n);
                msg.head.extend_from_slice(&scratch[..keep]);
                msg.len += n;
            }
            left -= n;
        }
        if data && fin {
            return Ok(msg);
        }
    }
}
