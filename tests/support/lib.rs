//! Test support for the llmax workspace: the recorded provider bodies of
//! `tests/fixtures`, SSE framings of them, and a raw HTTP server on
//! loopback for what mock servers cannot do (split writes, cut streams,
//! endless bodies, garbage bytes).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// Installs ring as the process's rustls crypto provider, as llmax does
/// before it builds its own HTTP client: reqwest comes without one (see
/// llmax/Cargo.toml), and a reqwest client that a test builds before any
/// llmax client would otherwise panic.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The data the tests read (`fixtures/`, `reference/` and `specs/`, whose
/// sources `tests/THIRD-PARTY.md` gives, and `snapshots/`): the workspace's
/// `tests/` folder, found from the manifest so that tests run from any
/// working directory and read nothing outside the repository.
///
/// The manifest folder is taken at run time first, as `cargo test` sets it:
/// cargo does not rebuild a test when the same sources are built in another
/// folder with the same target directory (`.ci/run` does, from a copy), so the
/// compile-time value may name that other folder. It is the fallback for a
/// test binary run by hand.
pub fn data_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("tests")
}

/// The bytes of a fixture, by its path under `tests/fixtures/`.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = data_dir().join("fixtures").join(path);
    std::fs::read(&full).unwrap_or_else(|error| panic!("fixture {}: {error}", full.display()))
}

/// The lines (SSE payloads) of a `.chunks.txt` fixture.
pub fn fixture_lines(path: &str) -> Vec<String> {
    String::from_utf8(fixture(path))
        .expect("fixtures are UTF-8")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// How SSE events are framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `data: x\n\n`
    Lf,
    /// `data: x\r\n\r\n`
    CrLf,
    /// `\n` framing with a `: keep-alive` comment before every event.
    KeepAlive,
}

impl Framing {
    /// All framings.
    pub const ALL: [Framing; 3] = [Framing::Lf, Framing::CrLf, Framing::KeepAlive];

    fn eol(self) -> &'static str {
        match self {
            Framing::CrLf => "\r\n",
            _ => "\n",
        }
    }
}

/// OpenAI-protocol framing: each line as a `data:` event, then `[DONE]`.
pub fn sse_openai(lines: &[String], framing: Framing) -> Vec<u8> {
    let eol = framing.eol();
    let mut out = String::new();
    for line in lines.iter().map(String::as_str).chain(["[DONE]"]) {
        if framing == Framing::KeepAlive {
            out.push_str(": keep-alive\n\n");
        }
        out.push_str(&format!("data: {line}{eol}{eol}"));
    }
    out.into_bytes()
}

/// Anthropic framing: each line as `event: TYPE` + `data:`, TYPE from the
/// line's `"type"`.
pub fn sse_anthropic(lines: &[String], framing: Framing) -> Vec<u8> {
    let eol = framing.eol();
    let mut out = String::new();
    for line in lines {
        let value: serde_json::Value = serde_json::from_str(line).expect("fixture line is JSON");
        let kind = value["type"].as_str().unwrap_or("message");
        if framing == Framing::KeepAlive {
            out.push_str(": keep-alive\n\n");
        }
        out.push_str(&format!("event: {kind}{eol}data: {line}{eol}{eol}"));
    }
    out.into_bytes()
}

/// Gemini framing (`:streamGenerateContent?alt=sse`): each line as a
/// `data:` event and no end marker; the `\n\r\n` that Google's servers
/// send between events for [`Framing::Lf`]'s place is covered by
/// [`sse_gemini_google`].
pub fn sse_gemini(lines: &[String], framing: Framing) -> Vec<u8> {
    let eol = framing.eol();
    let mut out = String::new();
    for line in lines {
        if framing == Framing::KeepAlive {
            out.push_str(": keep-alive\n\n");
        }
        out.push_str(&format!("data: {line}{eol}{eol}"));
    }
    out.into_bytes()
}

/// Gemini framing as Google's servers write it: `data: LINE\n\r\n`.
pub fn sse_gemini_google(lines: &[String]) -> Vec<u8> {
    lines
        .iter()
        .flat_map(|line| format!("data: {line}\n\r\n").into_bytes())
        .collect()
}

/// A request the raw server received.
#[derive(Debug, Clone)]
pub struct Received {
    /// `POST /path?query`.
    pub request_line: String,
    /// Header lines, lowercased names.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// What the raw server sends for one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status, headers and a body sent in the given pieces, with a pause
    /// after each; the connection closes at the end.
    Pieces {
        /// HTTP status.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Body pieces, each written separately.
        pieces: Vec<Vec<u8>>,
        /// Pause after each piece.
        pause: Duration,
        /// Declare a `content-length` (else the body ends with the connection).
        content_length: bool,
    },
    /// Headers, then body bytes forever (bounded by the test's timeouts).
    Endless {
        /// Content type.
        content_type: String,
        /// Repeated forever.
        piece: Vec<u8>,
    },
    /// No answer at all, with the connection open.
    Silent,
    /// Headers, then the body pieces, then silence with the connection open.
    Stall {
        /// Content type.
        content_type: String,
        /// Sent before the silence.
        pieces: Vec<Vec<u8>>,
    },
}

impl Reply {
    /// A 200 SSE body written in pieces of `size` bytes (at every byte
    /// position for size 1).
    pub fn sse_split(body: &[u8], size: usize) -> Reply {
        Reply::Pieces {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            pieces: body.chunks(size.max(1)).map(<[u8]>::to_vec).collect(),
            pause: Duration::ZERO,
            content_length: false,
        }
    }

    /// A 200 SSE body in one write.
    pub fn sse(body: Vec<u8>) -> Reply {
        Reply::Pieces {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            pieces: vec![body],
            pause: Duration::ZERO,
            content_length: false,
        }
    }

    /// A JSON body with a status.
    pub fn json(status: u16, body: Vec<u8>) -> Reply {
        Reply::Pieces {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            pieces: vec![body],
            pause: Duration::ZERO,
            content_length: true,
        }
    }
}

/// A raw HTTP/1.1 server on 127.0.0.1 that answers each connection's first
/// request with the next scripted [`Reply`] (the last one repeats).
pub struct RawServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RawServer {
    /// Starts a server answering with `replies` in order.
    pub async fn start(replies: Vec<Reply>) -> RawServer {
        RawServer::spawn(replies, None).await
    }

    /// Starts an HTTPS proxy that answers every `CONNECT` tunnel itself,
    /// with a self-signed certificate for `host`, as if it were that host:
    /// point a client at a real `https://` URL through it (see
    /// [`RawServer::proxied_client`]) and no traffic leaves the machine.
    pub async fn start_https_proxy(replies: Vec<Reply>, host: &str) -> RawServer {
        let certified =
            rcgen::generate_simple_self_signed(vec![host.to_owned()]).expect("certificate");
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .expect("server config");
        RawServer::spawn(
            replies,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        )
        .await
    }

    /// A reqwest client that sends HTTPS through this proxy and trusts its
    /// certificate, for `ClientBuilder::http_client`.
    pub fn proxied_client(&self) -> reqwest::Client {
        install_crypto_provider();
        reqwest::Client::builder()
            .proxy(reqwest::Proxy::https(&self.url).expect("proxy URL"))
            .tls_danger_accept_invalid_certs(true)
            .build()
            .expect("client")
    }

    async fn spawn(replies: Vec<Reply>, tls: Option<tokio_rustls::TlsAcceptor>) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let replies = Arc::new(replies);
        let task = tokio::spawn(async move {
            let mut n = 0usize;
            while let Ok((mut socket, _)) = listener.accept().await {
                let reply = replies[n.min(replies.len() - 1)].clone();
                n += 1;
                let log = log.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let _ = socket.set_nodelay(true);
                    let Some(tls) = tls else {
                        let _ = serve(socket, reply, log).await;
                        return;
                    };
                    // A CONNECT tunnel, then TLS inside it.
                    let Ok(connect) = read_request(&mut socket).await else {
                        return;
                    };
                    if !connect.request_line.starts_with("CONNECT ") {
                        return;
                    }
                    log.lock().expect("lock").push(connect);
                    if socket
                        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                        .await
                        .is_err()
                    {
                        return;
                    }
                    if let Ok(stream) = tls.accept(socket).await {
                        let _ = serve(stream, reply, log).await;
                    }
                });
            }
        });
        RawServer {
            url,
            received,
            task,
        }
    }

    /// The requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request<S: AsyncRead + Unpin>(socket: &mut S) -> std::io::Result<Received> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[header_end + 4..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Received {
        request_line,
        headers,
        body,
    })
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut socket: S,
    reply: Reply,
    log: Arc<Mutex<Vec<Received>>>,
) -> std::io::Result<()> {
    let request = read_request(&mut socket).await?;
    log.lock().expect("lock").push(request);
    match reply {
        Reply::Pieces {
            status,
            headers,
            pieces,
            pause,
            content_length,
        } => {
            let mut head = format!("HTTP/1.1 {status} X\r\nconnection: close\r\n");
            for (k, v) in &headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            if content_length {
                let len: usize = pieces.iter().map(Vec::len).sum();
                head.push_str(&format!("content-length: {len}\r\n"));
            }
            head.push_str("\r\n");
            socket.write_all(head.as_bytes()).await?;
            socket.flush().await?;
            for piece in pieces {
                socket.write_all(&piece).await?;
                socket.flush().await?;
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
            }
            socket.shutdown().await?;
        }
        Reply::Endless {
            content_type,
            piece,
        } => {
            let head = format!("HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\n\r\n");
            socket.write_all(head.as_bytes()).await?;
            loop {
                socket.write_all(&piece).await?;
            }
        }
        Reply::Silent => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Reply::Stall {
            content_type,
            pieces,
        } => {
            let head = format!("HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\n\r\n");
            socket.write_all(head.as_bytes()).await?;
            for piece in pieces {
                socket.write_all(&piece).await?;
            }
            socket.flush().await?;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
    Ok(())
}

/// Prism's verdict on one request, by the rule of `tests/conformance`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The request line llmax sent.
    pub request_line: String,
    /// The body llmax sent.
    pub body: String,
    /// Prism's status.
    pub status: u16,
    /// Request-located violations (from `sl-violations`), or the error body.
    pub violations: String,
}

impl Verdict {
    /// REJECT = 400/401/403/404/405/406/415/422, or an `sl-violations`
    /// entry located in the request; ACCEPT = 2xx without one.
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status) && self.violations.is_empty()
    }
}

/// A loopback proxy in front of a Prism mock: forwards each request as is
/// and records Prism's verdict, so tests can point the real llmax client
/// at it and still read the `sl-violations` header.
pub struct VerdictProxy {
    /// The proxy's base URL.
    pub url: String,
    verdicts: Arc<Mutex<Vec<Verdict>>>,
    task: tokio::task::JoinHandle<()>,
}

impl VerdictProxy {
    /// Starts a proxy to `target` (e.g. `http://127.0.0.1:4010`).
    pub async fn start(target: &str) -> VerdictProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let verdicts = Arc::new(Mutex::new(Vec::new()));
        let log = verdicts.clone();
        let target = target.trim_end_matches('/').to_owned();
        install_crypto_provider();
        let http = reqwest::Client::new();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (log, target, http) = (log.clone(), target.clone(), http.clone());
                tokio::spawn(async move {
                    let Ok(request) = read_request(&mut socket).await else {
                        return;
                    };
                    let mut parts = request.request_line.split(' ');
                    let path = parts.nth(1).unwrap_or("/").to_owned();
                    let mut forward = http
                        .post(format!("{target}{path}"))
                        .body(request.body.clone());
                    for (name, value) in &request.headers {
                        if !matches!(name.as_str(), "host" | "content-length" | "connection") {
                            forward = forward.header(name, value);
                        }
                    }
                    let Ok(response) = forward.send().await else {
                        return;
                    };
                    let status = response.status().as_u16();
                    let violations: Vec<String> = response
                        .headers()
                        .get_all("sl-violations")
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .filter(|v| v.contains("\"location\":[\"request"))
                        .map(str::to_owned)
                        .collect();
                    let body = response.bytes().await.unwrap_or_default();
                    let mut violations = violations.join("; ");
                    if !(200..300).contains(&status) && violations.is_empty() {
                        violations = String::from_utf8_lossy(&body).into_owned();
                    }
                    log.lock().expect("lock").push(Verdict {
                        request_line: request.request_line.clone(),
                        body: String::from_utf8_lossy(&request.body).into_owned(),
                        status,
                        violations,
                    });
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(&body).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        VerdictProxy {
            url,
            verdicts,
            task,
        }
    }

    /// The verdicts so far, and clears them.
    pub fn take(&self) -> Vec<Verdict> {
        std::mem::take(&mut *self.verdicts.lock().expect("lock"))
    }
}

impl Drop for VerdictProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The usage records a client reported, in order.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<llmax::UsageRecord>>>);

impl Recorder {
    /// Every record so far.
    pub fn all(&self) -> Vec<llmax::UsageRecord> {
        self.0.lock().expect("lock").clone()
    }

    /// Waits (up to a second) until at least `n` records arrived: reports of
    /// streams dropped early run on a spawned task.
    pub async fn wait_for(&self, n: usize) -> Vec<llmax::UsageRecord> {
        for _ in 0..200 {
            if self.0.lock().expect("lock").len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.all()
    }
}

impl Recorder {
    /// Makes the builder's client report its usage here.
    pub fn attach(&self, builder: llmax::ClientBuilder) -> llmax::ClientBuilder {
        let sink = self.clone();
        builder.increment_usage(move |record| {
            let sink = sink.clone();
            async move { sink.0.lock().expect("lock").push(record) }
        })
    }
}

/// A client over one deployment whose usage records are kept.
pub fn client_with(deployment: llmax::Deployment) -> (llmax::MultiAIClient, Recorder) {
    let records = Recorder::default();
    let builder = records.attach(llmax::MultiAIClient::builder().deployment(deployment));
    (builder.build().expect("valid deployment"), records)
}

/// Reads a stream to its end: its chunks, and the error that ended it, if
/// any (after which the stream must be over).
pub async fn collect(
    mut stream: llmax::ChatStream,
) -> (Vec<llmax::StreamChunk>, Option<llmax::Error>) {
    use futures_util::StreamExt;
    let mut chunks = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(chunk) => chunks.push(chunk),
            Err(error) => {
                assert!(stream.next().await.is_none(), "nothing after an error");
                return (chunks, Some(error));
            }
        }
    }
    (chunks, None)
}

/// The answer text of chunks.
pub fn text_of(chunks: &[llmax::StreamChunk]) -> String {
    chunks.iter().filter_map(|c| c.content.as_deref()).collect()
}
