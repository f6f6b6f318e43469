//! Port-forward over WebSocket, as kube-rs (`Api::portforward`) speaks it and kubelet serves
//! it (pkg/kubelet/cri/streaming/portforward/websocket.go): subprotocol `v4.channel.k8s.io`;
//! port number i of the `ports` query has data channel 2i and error channel 2i+1; the server
//! opens every channel with a frame holding the port (2 bytes, little-endian); after that a
//! binary message is its channel's byte and then the bytes. What the client sends on a data
//! channel is read as HTTP/1.1 requests and answered by the program on that port, as over
//! SPDY (`streaming`); a port nothing listens on gets kubelet's dial error on its error channel.
//!
//! Frames follow RFC 6455: the client's are masked, ours are not; pings are answered, and a
//! close is returned before the connection ends. Other WebSocket uses (exec, attach, kubectl's
//! SPDY-over-WebSocket tunnel) are still refused, so kubectl falls back to SPDY.

use base64::Engine;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The subprotocol kubelet's port-forward speaks, of those a client offers.
pub const PORTFORWARD_PROTOCOL: &str = "v4.channel.k8s.io";

/// RFC 6455's `Sec-WebSocket-Accept` for a client's key.
pub fn accept_key(key: &str) -> String {
    let mut input = key.trim().as_bytes().to_vec();
    input.extend_from_slice(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &input);
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// Whether the client offers the port-forward subprotocol (one comma-separated header).
pub fn offers_portforward(offered: &str) -> bool {
    offered.split(',').any(|p| p.trim() == PORTFORWARD_PROTOCOL)
}

const OP_CONTINUATION: u8 = 0;
const OP_BINARY: u8 = 2;
const OP_CLOSE: u8 = 8;
const OP_PING: u8 = 9;
const OP_PONG: u8 = 10;
/// Larger messages are refused (kube-rs sends at most its buffer's worth at a time).
const MAX_MESSAGE: usize = 16 << 20;

/// One whole message: its opcode and payload (fragments joined).
async fn read_message<R: AsyncRead + Unpin>(r: &mut R) -> Option<(u8, Vec<u8>)> {
    let mut payload = Vec::new();
    let mut opcode = None;
    loop {
        let mut head = [0u8; 2];
        r.read_exact(&mut head).await.ok()?;
        let fin = head[0] & 0x80 != 0;
        let op = head[0] & 0x0f;
        let masked = head[1] & 0x80 != 0;
        let len = match head[1] & 0x7f {
            126 => u64::from(r.read_u16().await.ok()?),
            127 => r.read_u64().await.ok()?,
            n => u64::from(n),
        } as usize;
        if len > MAX_MESSAGE || payload.len() + len > MAX_MESSAGE {
            return None;
        }
        let mut mask = [0u8; 4];
        if masked {
            r.read_exact(&mut mask).await.ok()?;
        }
        let mut data = vec![0u8; len];
        r.read_exact(&mut data).await.ok()?;
        if masked {
            for (i, b) in data.iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
        }
        // Control frames come whole, even between a message's fragments.
        if op >= OP_CLOSE {
            return Some((op, data));
        }
        if op != OP_CONTINUATION {
            opcode = Some(op);
        }
        payload.extend_from_slice(&data);
        if fin {
            return Some((opcode?, payload));
        }
    }
}

fn frame(op: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x80 | op];
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

fn on_channel(ch: u8, bytes: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(bytes.len() + 1);
    p.push(ch);
    p.extend_from_slice(bytes);
    frame(OP_BINARY, &p)
}

/// Serves one port-forward connection for `ports` of a pod until either side closes it.
pub async fn serve_portforward<IO>(
    io: IO,
    state: std::sync::Arc<crate::SimState>,
    namespace: String,
    pod: String,
    ports: Vec<u16>,
) where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let (mut r, mut w) = tokio::io::split(io);
    let mut out = Vec::new();
    let mut buffers: Vec<Vec<u8>> = vec![Vec::new(); ports.len()];
    let mut open = vec![true; ports.len()];
    for (i, port) in ports.iter().enumerate() {
        let ch = (2 * i) as u8;
        out.extend(on_channel(ch, &port.to_le_bytes()));
        out.extend(on_channel(ch + 1, &port.to_le_bytes()));
        let p = port.to_string();
        if !crate::streaming::listening(&state, &namespace, &pod, &p) {
            let msg = format!(
                "error forwarding port {p} to pod {pod}: failed to connect to localhost:{p} inside the pod's network namespace: dial tcp4 127.0.0.1:{p}: connect: connection refused"
            );
            out.extend(on_channel(ch + 1, msg.as_bytes()));
            open[i] = false;
        }
    }
    let mut closing = !open.iter().any(|o| *o);
    loop {
        if closing {
            out.extend(frame(OP_CLOSE, &1000u16.to_be_bytes()));
        }
        if !out.is_empty() {
            if w.write_all(&out).await.is_err() || w.flush().await.is_err() {
                return;
            }
            out.clear();
        }
        if closing {
            return;
        }
        let Some((op, payload)) = read_message(&mut r).await else {
            return;
        };
        match op {
            OP_PING => out.extend(frame(OP_PONG, &payload)),
            OP_CLOSE => closing = true,
            OP_BINARY if payload.len() > 1 => {
                let ch = usize::from(payload[0]);
                let i = ch / 2;
                if ch % 2 != 0 || i >= ports.len() || !open[i] {
                    continue;
                }
                buffers[i].extend_from_slice(&payload[1..]);
                let port = ports[i].to_string();
                while let Some((req, used)) = crate::streaming::parse_request(&buffers[i]) {
                    buffers[i].drain(..used);
                    let close = req.close;
                    let reply = crate::streaming::respond(&state, &namespace, &pod, &port, req);
                    out.extend(on_channel(ch as u8, &reply));
                    if close {
                        // The program closes the connection, as after `Connection: close`.
                        open[i] = false;
                        closing = !open.iter().any(|o| *o);
                        break;
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_key_is_rfc_6455s() {
        // RFC 6455 section 1.3's example.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[tokio::test]
    async fn masked_fragments_are_joined_and_frames_sized() {
        let mask = [1u8, 2, 3, 4];
        let masked = |fin: bool, op: u8, data: &[u8]| {
            let mut f = vec![if fin { 0x80 | op } else { op }, 0x80 | data.len() as u8];
            f.extend_from_slice(&mask);
            f.extend(data.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
            f
        };
        let mut wire = masked(false, OP_BINARY, b"\x00GET ");
        wire.extend(masked(true, OP_CONTINUATION, b"/ HTTP/1.1"));
        let (op, payload) = read_message(&mut wire.as_slice()).await.unwrap();
        assert_eq!(
            (op, payload.as_slice()),
            (OP_BINARY, &b"\x00GET / HTTP/1.1"[..])
        );
        assert_eq!(frame(OP_BINARY, &[0; 300])[1], 126);
        assert_eq!(frame(OP_BINARY, &[0; 70_000])[1], 127);
    }
}
