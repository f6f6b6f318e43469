//! The pods' streaming subresources over SPDY/3.1, as the API server and kubelet serve them:
//! - `portforward` (`portforward.k8s.io`): each forwarded connection is a pair of streams
//!   (error, data); the bytes a client sends on the data stream are read as HTTP/1.1 requests
//!   and answered by the program listening on that pod port, exactly as the pod proxy answers
//!   (`workload::answer_pod`), so `kubectl port-forward svc/posthog-web 8000:8000` and `curl`
//!   reach the demo stack. A port nothing listens on gets kubelet's dial error on the error
//!   stream.
//! - `exec` and `attach` (`v4.channel.k8s.io`): negotiated, then failed as a runtime that cannot
//!   start the process fails them (an `InternalError` Status on the error stream): the simulated
//!   cluster runs no processes.
//!
//! WebSocket upgrades are refused with 400, so kubectl falls back to SPDY (its fallback
//! executors and dialers do on any refused upgrade), except port-forward's own channel
//! protocol, which kube-rs speaks (`websocket`). Frames follow the SPDY/3.1 draft
//! (draft-mbelshe-httpbis-spdy-00 and the 3.1 flow-control amendment); header blocks are zlib
//! streams with the draft's dictionary. Our own header blocks are written as stored deflate
//! blocks, which every inflater reads.

use std::collections::HashMap;

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The SPDY/3 header dictionary: these words, each behind its 4-byte length, then `TAIL`.
const WORDS: &[&str] = &[
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
];
const TAIL: &str = "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

fn dictionary() -> Vec<u8> {
    let mut d = Vec::with_capacity(1423);
    for w in WORDS {
        d.extend_from_slice(&(w.len() as u32).to_be_bytes());
        d.extend_from_slice(w.as_bytes());
    }
    d.extend_from_slice(TAIL.as_bytes());
    d
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// The client's header blocks: one zlib stream over the connection, with the dictionary. The
/// whole inflated history stays in one buffer after the dictionary, so back-references reach
/// the dictionary and earlier blocks.
struct Inflater {
    d: Box<miniz_oxide::inflate::core::DecompressorOxide>,
    history: Vec<u8>,
    header_read: bool,
}

impl Inflater {
    fn new() -> Self {
        Inflater {
            d: Box::default(),
            history: dictionary(),
            header_read: false,
        }
    }

    fn inflate(&mut self, mut block: &[u8]) -> Result<Vec<u8>, String> {
        use miniz_oxide::inflate::TINFLStatus;
        use miniz_oxide::inflate::core::inflate_flags::*;
        if !self.header_read {
            let [cmf, flg, ..] = *block else {
                return Err("truncated zlib header".into());
            };
            if cmf & 0x0f != 8 || (u16::from(cmf) << 8 | u16::from(flg)) % 31 != 0 {
                return Err("not a zlib stream".into());
            }
            let mut skip = 2;
            if flg & 0x20 != 0 {
                let id = block
                    .get(2..6)
                    .ok_or("truncated zlib header")?
                    .try_into()
                    .map(u32::from_be_bytes)
                    .map_err(|_| "truncated zlib header")?;
                if id != adler32(&dictionary()) {
                    return Err("the header block names another dictionary".into());
                }
                skip = 6;
            }
            block = &block[skip..];
            self.header_read = true;
        }
        let start = self.history.len();
        loop {
            let pos = self.history.len();
            self.history.resize(pos + 4096 + block.len() * 4, 0);
            let (status, used, written) = miniz_oxide::inflate::core::decompress(
                &mut self.d,
                block,
                &mut self.history,
                pos,
                TINFL_FLAG_HAS_MORE_INPUT | TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
            );
            self.history.truncate(pos + written);
            block = &block[used..];
            match status {
                TINFLStatus::HasMoreOutput => {}
                TINFLStatus::NeedsMoreInput | TINFLStatus::Done if block.is_empty() => break,
                TINFLStatus::NeedsMoreInput if used > 0 || written > 0 => {}
                other => return Err(format!("cannot inflate a header block: {other:?}")),
            }
        }
        Ok(self.history[start..].to_vec())
    }
}

/// A header block's name/value pairs (names lower case, as SPDY sends them).
fn parse_headers(raw: &[u8]) -> Result<HashMap<String, String>, String> {
    /// The length-prefixed field at `at`, and where the next one starts.
    fn field(raw: &[u8], at: usize) -> Result<(&[u8], usize), String> {
        let n = raw
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
            .ok_or("truncated header block")? as usize;
        let v = raw
            .get(at + 4..at + 4 + n)
            .ok_or("truncated header block")?;
        Ok((v, at + 4 + n))
    }
    let count = raw
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or("truncated header block")?;
    let mut at = 4;
    let mut out = HashMap::new();
    for _ in 0..count {
        let (name, next) = field(raw, at)?;
        let (value, next) = field(raw, next)?;
        at = next;
        out.insert(
            String::from_utf8_lossy(name).to_lowercase(),
            String::from_utf8_lossy(value).into_owned(),
        );
    }
    Ok(out)
}

const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const FLAG_FIN: u8 = 1;

/// One frame as read: a control frame (type, flags, payload) or data (stream, flags, payload).
enum Frame {
    Control(u16, u8, Vec<u8>),
    Data(u32, u8, Vec<u8>),
}

async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Option<Frame> {
    let mut head = [0u8; 8];
    r.read_exact(&mut head).await.ok()?;
    let flags = head[4];
    let len = u32::from_be_bytes([0, head[5], head[6], head[7]]) as usize;
    if len > 16 << 20 {
        return None;
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await.ok()?;
    Some(if head[0] & 0x80 != 0 {
        Frame::Control(u16::from_be_bytes([head[2], head[3]]), flags, payload)
    } else {
        let id = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) & 0x7fff_ffff;
        Frame::Data(id, flags, payload)
    })
}

/// What the server writes: frames, with its own header-block stream.
#[derive(Default)]
struct Out {
    bytes: Vec<u8>,
    zlib_started: bool,
}

impl Out {
    fn control(&mut self, ty: u16, flags: u8, payload: &[u8]) {
        let len = payload.len() as u32;
        self.bytes.extend_from_slice(&[0x80, 0x03]);
        self.bytes.extend_from_slice(&ty.to_be_bytes());
        self.bytes.push(flags);
        self.bytes.extend_from_slice(&len.to_be_bytes()[1..]);
        self.bytes.extend_from_slice(payload);
    }

    fn data(&mut self, stream: u32, fin: bool, payload: &[u8]) {
        // Frames of at most 32 KiB, as spdystream writes them.
        let mut chunks: Vec<&[u8]> = payload.chunks(32 << 10).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        let last = chunks.len() - 1;
        for (i, c) in chunks.into_iter().enumerate() {
            self.bytes
                .extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
            self.bytes.push(if fin && i == last { FLAG_FIN } else { 0 });
            self.bytes
                .extend_from_slice(&(c.len() as u32).to_be_bytes()[1..]);
            self.bytes.extend_from_slice(c);
        }
    }

    /// A reply with no headers: its block is a stored deflate block in our zlib stream, sync
    /// flushed as a zlib writer flushes each frame.
    fn reply(&mut self, stream: u32) {
        let mut payload = stream.to_be_bytes().to_vec();
        if !self.zlib_started {
            payload.extend_from_slice(&[0x78, 0x01]);
            self.zlib_started = true;
        }
        let block = 0u32.to_be_bytes();
        let len = block.len() as u16;
        payload.push(0x00);
        payload.extend_from_slice(&len.to_le_bytes());
        payload.extend_from_slice(&(!len).to_le_bytes());
        payload.extend_from_slice(&block);
        // The empty stored block a sync flush ends with: an inflater that reads a block's end
        // returns what it has instead of reading into the next frame.
        payload.extend_from_slice(&[0x00, 0x00, 0x00, 0xff, 0xff]);
        self.control(SYN_REPLY, 0, &payload);
    }
}

/// Which streaming subresource a connection serves.
pub enum Session {
    PortForward {
        namespace: String,
        pod: String,
    },
    /// `exec` or `attach`: the Status its error stream carries.
    Refused(Value),
}

/// The protocol the client offered that this subresource speaks, if any.
pub fn negotiate(subresource: &str, offered: &[String]) -> Option<&'static str> {
    let want = if subresource == "portforward" {
        "portforward.k8s.io"
    } else {
        "v4.channel.k8s.io"
    };
    offered
        .iter()
        .flat_map(|h| h.split(','))
        .any(|p| p.trim() == want)
        .then_some(want)
}

/// The Status an exec or attach ends with: the runtime could not start anything.
pub fn refusal(subresource: &str, container: &str, command: &[String]) -> Value {
    let why = if subresource == "attach" {
        format!(
            "error attaching to container {container:?}: the simulated cluster runs no processes, so there is nothing to attach to"
        )
    } else {
        format!(
            "error executing command in container: the simulated cluster runs no processes: cannot run {:?} in container {container:?}",
            command.join(" ")
        )
    };
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": format!("Internal error occurred: {why}"), "reason": "InternalError",
           "details": {"causes": [{"message": why}]}, "code": 500})
}

/// Serves one upgraded connection until the client closes it.
pub async fn serve<IO>(io: IO, state: std::sync::Arc<crate::SimState>, session: Session)
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let (mut r, mut w) = tokio::io::split(io);
    let mut inflater = Inflater::new();
    let mut out = Out::default();
    let mut forwards = Forwards::default();
    while let Some(frame) = read_frame(&mut r).await {
        match frame {
            Frame::Control(SYN_STREAM, flags, p) if p.len() >= 10 => {
                let id = u32::from_be_bytes([p[0], p[1], p[2], p[3]]) & 0x7fff_ffff;
                let Ok(headers) = inflater.inflate(&p[10..]).and_then(|h| parse_headers(&h)) else {
                    break;
                };
                out.reply(id);
                let kind = headers.get("streamtype").cloned().unwrap_or_default();
                match &session {
                    Session::Refused(status) => match kind.as_str() {
                        "error" => {
                            let body = serde_json::to_vec(status).unwrap_or_default();
                            out.data(id, true, &body);
                        }
                        "stdout" | "stderr" => out.data(id, true, &[]),
                        _ => {}
                    },
                    Session::PortForward { namespace, pod } => {
                        forwards.open(&state, namespace, pod, id, &headers, &mut out);
                    }
                }
                if flags & FLAG_FIN != 0 {
                    forwards.closed_by_client(id, &mut out);
                }
            }
            Frame::Control(PING, _, p) => out.control(PING, 0, &p),
            Frame::Control(GOAWAY, ..) => break,
            Frame::Control(RST_STREAM, _, p) if p.len() >= 4 => {
                let id = u32::from_be_bytes([p[0], p[1], p[2], p[3]]) & 0x7fff_ffff;
                forwards.streams.remove(&id);
            }
            Frame::Control(..) => {}
            Frame::Data(id, flags, payload) => {
                if let Session::PortForward { namespace, pod } = &session {
                    forwards.data(&state, namespace, pod, id, &payload, &mut out);
                }
                if flags & FLAG_FIN != 0 {
                    forwards.closed_by_client(id, &mut out);
                }
            }
        }
        if !out.bytes.is_empty() {
            if w.write_all(&out.bytes).await.is_err() || w.flush().await.is_err() {
                break;
            }
            out.bytes.clear();
        }
    }
}

/// One forwarded stream: its kind, port, the request it belongs to and the bytes not yet read.
struct Stream {
    data: bool,
    port: String,
    request: String,
    buffer: Vec<u8>,
    /// We have sent FIN on it.
    done: bool,
}

#[derive(Default)]
struct Forwards {
    streams: HashMap<u32, Stream>,
}

impl Forwards {
    fn error_stream_of(&self, request: &str) -> Option<u32> {
        self.streams
            .iter()
            .find(|(_, s)| !s.data && s.request == request)
            .map(|(id, _)| *id)
    }

    fn open(
        &mut self,
        state: &crate::SimState,
        ns: &str,
        pod: &str,
        id: u32,
        headers: &HashMap<String, String>,
        out: &mut Out,
    ) {
        let data = headers.get("streamtype").is_some_and(|t| t == "data");
        let port = headers.get("port").cloned().unwrap_or_default();
        let request = headers.get("requestid").cloned().unwrap_or_default();
        self.streams.insert(
            id,
            Stream {
                data,
                port: port.clone(),
                request: request.clone(),
                buffer: Vec::new(),
                done: false,
            },
        );
        if data && !listening(state, ns, pod, &port) {
            // kubelet dials the port when the pair opens; nothing answers.
            let msg = format!(
                "error forwarding port {port} to pod {pod}: failed to connect to localhost:{port} inside the pod's network namespace: dial tcp4 127.0.0.1:{port}: connect: connection refused"
            );
            if let Some(err) = self.error_stream_of(&request) {
                out.data(err, true, msg.as_bytes());
                self.mark_done(err);
            }
            out.data(id, true, &[]);
            self.mark_done(id);
        }
    }

    fn mark_done(&mut self, id: u32) {
        if let Some(s) = self.streams.get_mut(&id) {
            s.done = true;
        }
    }

    fn data(
        &mut self,
        state: &crate::SimState,
        ns: &str,
        pod: &str,
        id: u32,
        payload: &[u8],
        out: &mut Out,
    ) {
        let Some(s) = self.streams.get_mut(&id).filter(|s| s.data && !s.done) else {
            return;
        };
        s.buffer.extend_from_slice(payload);
        while let Some((req, used)) = parse_request(&s.buffer) {
            s.buffer.drain(..used);
            let close = req.close;
            let reply = respond(state, ns, pod, &s.port, req);
            out.data(id, close, &reply);
            if close {
                s.done = true;
                break;
            }
        }
    }

    /// The client finished sending on a stream: finish ours, and its pair's.
    fn closed_by_client(&mut self, id: u32, out: &mut Out) {
        let Some(request) = self.streams.get(&id).map(|s| s.request.clone()) else {
            return;
        };
        let pair: Vec<u32> = self
            .streams
            .iter()
            .filter(|(_, s)| s.request == request && !s.done)
            .map(|(i, _)| *i)
            .collect();
        for i in pair {
            out.data(i, true, &[]);
            self.mark_done(i);
        }
    }
}

/// Whether a program answers on the pod's port.
pub(crate) fn listening(state: &crate::SimState, ns: &str, pod: &str, port: &str) -> bool {
    let Ok(store) = state.store.lock() else {
        return false;
    };
    let pods = (String::new(), "pods".to_string());
    let Some(p) = store.get_gr(&pods, ns, pod) else {
        return false;
    };
    crate::workload::serving(&p, Some(port))
        && crate::programs::container_on(&p, Some(port))
            .is_some_and(|c| crate::programs::program_of(&p, c).is_some())
}

pub(crate) struct Request {
    method: String,
    path: String,
    query: String,
    body: Vec<u8>,
    bearer: Option<String>,
    pub(crate) close: bool,
}

/// One complete HTTP/1.x request at the start of `buf`, and how many bytes it took.
pub(crate) fn parse_request(buf: &[u8]) -> Option<(Request, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let version = first.next().unwrap_or("HTTP/1.1");
    let mut length = 0usize;
    let mut bearer = None;
    let mut close = version == "HTTP/1.0";
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = v.parse().ok()?,
            "authorization" => bearer = v.strip_prefix("Bearer ").map(str::to_string),
            "connection" => close = v.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let total = end + 4 + length;
    if buf.len() < total {
        return None;
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    Some((
        Request {
            method,
            path: path.to_string(),
            query: query.to_string(),
            body: buf[end + 4..total].to_vec(),
            bearer,
            close,
        },
        total,
    ))
}

/// The program's HTTP/1.1 answer, as bytes on the wire.
pub(crate) fn respond(
    state: &crate::SimState,
    ns: &str,
    pod: &str,
    port: &str,
    req: Request,
) -> Vec<u8> {
    let pod_obj = state.store.lock().ok().and_then(|s| {
        let pods = (String::new(), "pods".to_string());
        s.get_gr(&pods, ns, pod)
    });
    let reply = pod_obj.and_then(|p| {
        crate::workload::answer_pod(
            state,
            &p,
            Some(port),
            req.method,
            req.path,
            req.query,
            req.body,
            req.bearer,
        )
    });
    let (status, content_type, body) = match reply {
        Some(r) => (r.status, r.content_type, r.body),
        None => (
            502,
            "text/plain",
            b"nothing listens on this port\n".to_vec(),
        ),
    };
    let reason = match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{}\r\n",
        body.len(),
        if req.close { "Connection: close\r\n" } else { "" }
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_is_the_drafts() {
        let d = dictionary();
        assert_eq!(d.len(), 1423);
        assert!(d.starts_with(b"\0\0\0\x07options\0\0\0\x04head"));
        assert!(d.ends_with(b"utf-,*,enq=0."));
    }

    #[test]
    fn requests_are_read_whole_and_in_order() {
        let two = b"GET /_health HTTP/1.1\r\nHost: x\r\n\r\nPOST /e HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
        let (a, used) = parse_request(two).unwrap();
        assert_eq!(
            (a.method.as_str(), a.path.as_str(), a.close),
            ("GET", "/_health", false)
        );
        let (b, rest) = parse_request(&two[used..]).unwrap();
        assert_eq!((b.body.as_slice(), b.close), (&b"{}"[..], true));
        assert_eq!(used + rest, two.len());
        assert!(parse_request(b"POST /e HTTP/1.1\r\nContent-Length: 5\r\n\r\n{}").is_none());
    }

    #[test]
    fn header_blocks_round_trip_through_a_dictionary_stream() {
        // A block compressed with the dictionary, as Go's zlib writer makes one.
        let raw = [
            &2u32.to_be_bytes()[..],
            &10u32.to_be_bytes(),
            b"streamtype",
            &4u32.to_be_bytes(),
            b"data",
            &4u32.to_be_bytes(),
            b"port",
            &4u32.to_be_bytes(),
            b"8000",
        ]
        .concat();
        let mut c = miniz_oxide::deflate::core::CompressorOxide::new(
            miniz_oxide::deflate::core::create_comp_flags_from_zip_params(6, 0, 0),
        );
        let mut deflated = vec![0u8; 1024];
        let (_, _, n) = miniz_oxide::deflate::core::compress(
            &mut c,
            &raw,
            &mut deflated,
            miniz_oxide::deflate::core::TDEFLFlush::Sync,
        );
        let id = adler32(&dictionary()).to_be_bytes();
        let block = [&[0x78u8, 0xbb][..], &id, &deflated[..n]].concat();
        let headers = parse_headers(&Inflater::new().inflate(&block).unwrap()).unwrap();
        assert_eq!(headers["streamtype"], "data");
        assert_eq!(headers["port"], "8000");
    }
}
