//! A loopback https server for the tests (started by the test that needs it, with a
//! certificate generated on the spot): `run`'s outgoing requests and npm registries are
//! attacked against it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One request the server received: its request line and headers, as text.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub head: String,
}

/// What the server answers to a path.
pub struct Answer {
    /// `200 OK`, `302 Found`...
    pub status: &'static str,
    /// Extra header lines, each ending in `\r\n`.
    pub headers: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn ok(body: Vec<u8>) -> Answer {
        Answer {
            status: "200 OK",
            headers: String::new(),
            body,
        }
    }

    pub fn not_found() -> Answer {
        Answer {
            status: "404 Not Found",
            headers: String::new(),
            body: Vec::new(),
        }
    }
}

type Routes = dyn Fn(&str, u16) -> Answer + Send + Sync;

/// An https server on 127.0.0.1 with a self-signed certificate for `localhost` and
/// `127.0.0.1` (generated here), answering each request with `routes(path, port)` and
/// recording what it received.
pub struct TlsServer {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    dir: tempfile::TempDir,
}

impl TlsServer {
    pub fn start(routes: impl Fn(&str, u16) -> Answer + Send + Sync + 'static) -> TlsServer {
        let routes: Arc<Routes> = Arc::new(routes);
        let certified = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), certified.cert.pem()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![certified.cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(
                    certified.signing_key.serialize_der().into(),
                ),
            )
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let config = config.clone();
                let log = log.clone();
                let routes = routes.clone();
                std::thread::spawn(move || {
                    let Ok(connection) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut tls = rustls::StreamOwned::new(connection, stream);
                    let _ = serve(&mut tls, port, &log, &*routes);
                });
            }
        });
        TlsServer {
            port,
            received,
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    pub fn ca(&self) -> String {
        self.dir.path().join("ca.pem").display().to_string()
    }

    /// `run`'s flags for reaching this server: its certificate trusted, loopback allowed, and
    /// storage in memory.
    pub fn flags(&self) -> Vec<String> {
        [
            "--storage",
            ":memory:",
            "--http-root-certificate",
            &self.ca(),
        ]
        .into_iter()
        .chain(["--allow-private-network"])
        .map(str::to_owned)
        .collect()
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn serve(
    tls: &mut (impl Read + Write),
    port: u16,
    log: &Mutex<Vec<Received>>,
    routes: &Routes,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(&mut *tls);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    drop(reader);
    let path = head.split(' ').nth(1).unwrap_or("").to_owned();
    log.lock().unwrap().push(Received {
        path: path.clone(),
        head,
    });
    let Answer {
        status,
        headers: extra,
        body,
    } = routes(&path, port);
    write!(
        tls,
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n",
        body.len()
    )?;
    tls.write_all(&body)?;
    tls.flush()
}
