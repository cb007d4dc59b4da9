//! A Kubernetes API server for tests. It serves, over HTTPS with bearer
//! tokens, the responses a real kube-apiserver v1.36.2 gave when they were
//! recorded (tests/fixtures/apiserver/exchanges.jsonl, copied from the
//! recording described in ../shared/apiserver/README.md), so that Rampart's
//! live cluster source runs the real kube client over a real socket.
//!
//! What is replayed as recorded: `/version`, discovery, every cluster-wide
//! LIST, the 5-page `limit=20` walk of clusterroles with the server's own
//! continue tokens, the 400 for a bogus token, the 410 for an expired one,
//! alice's 403s, the 401 for a bad or missing token, the 404 shapes.
//!
//! What is made up, in the recorded shapes, where the recording has no
//! answer (each such response carries the header `x-test-apiserver:
//! synthesized`):
//! - pages for a `limit` that was not recorded, with continue tokens of the
//!   server's format (`{"v":"meta.k8s.io/v1","rv":…,"start":"…"}`);
//! - an empty list for a served resource whose list was not recorded
//!   (the recorded cluster runs no controllers, so most of those are empty);
//! - 403 for any list alice was not recorded making (her group is granted
//!   nothing at cluster scope), with the server's message.
//!
//! Policy-report custom resources (`reports.rs`), once a test installs
//! their CRDs: discovery, server-side apply, get, list, delete, each write
//! checked against the CRDs' schema.
//!
//! Faults for tests: drop the connection of a path's first requests, answer
//! a path slowly, expire a continue token once.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

mod reports;
pub use reports::policy_report_problems;

/// The bearer tokens this server knows, and who each one is. `admin` is
/// answered with what the recording's cluster admins (client certificate
/// and static token, both in system:masters) were answered.
pub const ADMIN_TOKEN: &str = "rampart-test-admin-token";
pub const ALICE_TOKEN: &str = "rampart-test-alice-token";

/// Where the recorded exchanges live in this repository.
pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/apiserver/exchanges.jsonl")
}

/// Misbehaviour to put on, by URL path (`/apis/apps/v1/deployments`).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Close the connection without an answer, for the first N requests to
    /// the path.
    pub drop: Vec<(String, usize)>,
    /// Wait this long, then close the connection, for the first N requests
    /// to the path (a server too slow for the client's timeout).
    pub slow: Vec<(String, Duration, usize)>,
    /// Answer 410 Expired (as recorded) the first time a continue token is
    /// presented for this path.
    pub expire_continue: Vec<String>,
    /// Serve a server certificate that expired (in 2021), signed by the
    /// same CA: a client must refuse it.
    pub expired_certificate: bool,
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub identity: String,
    pub status: u16,
}

#[derive(Debug, Deserialize)]
struct Exchange {
    method: String,
    path: String,
    query: String,
    /// The query decoded, for matching whatever order and encoding a
    /// client uses.
    #[serde(skip)]
    params: BTreeMap<String, String>,
    identity: String,
    status: u16,
    content_type: String,
    body: Value,
}

/// What the server answers with.
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
    synthesized: bool,
}

impl Answer {
    fn recorded(e: &Exchange) -> Answer {
        let body = match &e.body {
            Value::String(text) if !e.content_type.contains("json") => text.clone().into_bytes(),
            v => serde_json::to_vec(v).expect("JSON value serializes"),
        };
        Answer { status: e.status, content_type: e.content_type.clone(), body, synthesized: false }
    }

    fn made(status: u16, body: Value) -> Answer {
        Answer { status, content_type: "application/json".into(), body: serde_json::to_vec(&body).expect("JSON"), synthesized: true }
    }
}

/// A served resource, from the recorded discovery.
#[derive(Debug, Clone)]
struct Resource {
    group: String,
    version: String,
    kind: String,
}

struct State {
    exchanges: Vec<Exchange>,
    /// Served resources by list path (`/apis/apps/v1/deployments`).
    resources: HashMap<String, Resource>,
    faults: Mutex<Faults>,
    seen: Mutex<Vec<Seen>>,
    /// Continue tokens this server made up: token -> (path, next index).
    made_tokens: Mutex<HashMap<String, (String, usize)>>,
    /// Policy-report custom resources.
    reports: reports::Shared,
}

/// A running test server. It stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pki: Pki,
    state: Arc<State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server on 127.0.0.1 (a free port) replaying `exchanges`.
    pub fn start(exchanges: &Path, faults: Faults) -> Result<TestServer> {
        let text = std::fs::read_to_string(exchanges).with_context(|| format!("reading {}", exchanges.display()))?;
        let mut exchanges: Vec<Exchange> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("{}:{}", exchanges.display(), i + 1)))
            .collect::<Result<_>>()?;
        for e in &mut exchanges {
            e.params = params(&e.query);
        }
        let resources = discovered(&exchanges);
        let state = Arc::new(State {
            exchanges,
            resources,
            faults: Mutex::new(faults),
            seen: Mutex::new(Vec::new()),
            made_tokens: Mutex::new(HashMap::new()),
            reports: Mutex::new(reports::Store::default()),
        });

        let (pki, tls) = certificates(faults_expired(&state))?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let served = state.clone();
        let thread = std::thread::Builder::new().name("test-apiserver".into()).spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let acceptor = TlsAcceptor::from(Arc::new(tls));
                loop {
                    tokio::select! {
                        _ = &mut rx => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let acceptor = acceptor.clone();
                            let state = served.clone();
                            tokio::spawn(async move {
                                let Ok(tls) = acceptor.accept(stream).await else { return };
                                // A verified client certificate: the only one this CA issued is the admin's.
                                let admin_cert = tls.get_ref().1.peer_certificates().is_some_and(|c| !c.is_empty());
                                let service = hyper::service::service_fn(move |req| handle(state.clone(), admin_cert, req));
                                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
                            });
                        }
                    }
                }
            });
        })?;
        Ok(TestServer { addr, pki, state, shutdown: Some(tx), thread: Some(thread) })
    }

    /// `https://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// A kubeconfig for this server with a bearer token (context `test`).
    pub fn kubeconfig(&self, token: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    certificate-authority-data: {}\n\
             users:\n- name: test\n  user:\n    token: {token}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n\
             current-context: test\n",
            self.url(),
            STANDARD.encode(&self.pki.ca)
        )
    }

    /// A kubeconfig for this server that trusts only a CA of its own (another
    /// name, another key), which did not issue the server's certificate.
    pub fn kubeconfig_trusting_another_ca(&self, token: &str) -> Result<String> {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.distinguished_name.push(DnType::CommonName, "some-other-ca");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let other = ca.self_signed(&key)?.pem();
        Ok(self.kubeconfig(token).replace(&STANDARD.encode(&self.pki.ca), &STANDARD.encode(&other)))
    }

    /// A kubeconfig for this server with the admin's client certificate.
    pub fn kubeconfig_with_certificate(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    certificate-authority-data: {}\n\
             users:\n- name: admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n\
             contexts:\n- name: admin\n  context:\n    cluster: test\n    user: admin\ncurrent-context: admin\n",
            self.url(),
            STANDARD.encode(&self.pki.ca),
            STANDARD.encode(&self.pki.admin_cert),
            STANDARD.encode(&self.pki.admin_key)
        )
    }

    /// Every request served so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().expect("log").clone()
    }

    /// Installs the policy-report CRDs (wgpolicyk8s.io/v1alpha2 and
    /// openreports.io/v1alpha1): from now on their kinds are served.
    pub fn install_policy_report_crds(&self) {
        self.state.reports.lock().expect("reports").installed = true;
    }

    /// The policy-report objects stored, as a GET would return them.
    pub fn policy_reports(&self) -> Vec<Value> {
        self.state.reports.lock().expect("reports").all()
    }

    /// Stores a policy-report object as if another writer had applied it.
    pub fn put_policy_report(&self, object: Value) {
        self.state.reports.lock().expect("reports").put(object);
    }

    /// Replaces the faults.
    pub fn set_faults(&self, faults: Faults) {
        *self.state.faults.lock().expect("faults") = faults;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A fresh CA and a server certificate for 127.0.0.1 and localhost.
/// PEM texts of the test PKI.
struct Pki {
    ca: String,
    /// A client certificate for CN=kube-admin, O=system:masters, and its key.
    admin_cert: String,
    admin_key: String,
}

/// A fresh CA, a server certificate for 127.0.0.1 and localhost, and an
/// admin client certificate. Clients may present a certificate of this CA
/// (the cluster admin) or none (then a bearer token decides).
fn faults_expired(state: &State) -> bool {
    state.faults.lock().map(|f| f.expired_certificate).unwrap_or(false)
}

fn certificates(expired: bool) -> Result<(Pki, rustls::ServerConfig)> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name.push(DnType::CommonName, "rampart-test-ca");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = rcgen::Issuer::new(ca, ca_key);

    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    params.distinguished_name.push(DnType::CommonName, "kube-apiserver");
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let cert = params.signed_by(&key, &issuer)?;

    let admin_key = KeyPair::generate()?;
    let mut admin = CertificateParams::new(Vec::<String>::new())?;
    admin.distinguished_name.push(DnType::CommonName, "kube-admin");
    admin.distinguished_name.push(DnType::OrganizationName, "system:masters");
    admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let admin_cert = admin.signed_by(&admin_key, &issuer)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca_cert.der().clone())?;
    let clients =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).allow_unauthenticated().build()?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(clients)
        .with_single_cert(vec![cert.der().clone()], rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Pki { ca: ca_cert.pem(), admin_cert: admin_cert.pem(), admin_key: admin_key.serialize_pem() }, config))
}

/// Served resources from the recorded discovery documents.
fn discovered(exchanges: &[Exchange]) -> HashMap<String, Resource> {
    let mut out = HashMap::new();
    for e in exchanges.iter().filter(|e| e.status == 200 && e.body["kind"] == "APIResourceList") {
        let gv = e.body["groupVersion"].as_str().unwrap_or_default();
        let (group, version) = gv.rsplit_once('/').unwrap_or(("", gv));
        for r in e.body["resources"].as_array().into_iter().flatten() {
            let name = r["name"].as_str().unwrap_or_default();
            let lists = r["verbs"].as_array().is_some_and(|v| v.iter().any(|v| v == "list"));
            if name.contains('/') || !lists {
                continue;
            }
            out.insert(
                format!("{}/{name}", e.path),
                Resource { group: group.into(), version: version.into(), kind: r["kind"].as_str().unwrap_or_default().into() },
            );
        }
    }
    out
}

type Body = Full<Bytes>;

async fn handle(state: Arc<State>, admin_cert: bool, req: Request<Incoming>) -> Result<Response<Body>, std::io::Error> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let identity = match req.headers().get("authorization").and_then(|v| v.to_str().ok()) {
        None if admin_cert => "admin".to_string(),
        None => "no-credentials".to_string(),
        Some(v) => match v.strip_prefix("Bearer ") {
            Some(ADMIN_TOKEN) => "admin".to_string(),
            Some(ALICE_TOKEN) => "alice".to_string(),
            _ => "bad-token".to_string(),
        },
    };
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();

    // Faults first.
    let (drop_it, delay) = {
        let mut faults = state.faults.lock().expect("faults");
        let mut drop_it = false;
        if let Some(d) = faults.drop.iter_mut().find(|(p, n)| *p == path && *n > 0) {
            d.1 -= 1;
            drop_it = true;
        }
        let mut delay = None;
        if let Some(s) = faults.slow.iter_mut().find(|(p, _, n)| *p == path && *n > 0) {
            s.2 -= 1;
            delay = Some(s.1);
        }
        (drop_it, delay)
    };
    if drop_it {
        state.seen.lock().expect("log").push(Seen { method, path, query, identity, status: 0 });
        // An error from the service makes hyper close the connection unanswered.
        return Err(std::io::Error::other("fault: connection dropped"));
    }
    if let Some(d) = delay {
        // Logged on arrival (status 0): the client may be gone by the answer.
        state.seen.lock().expect("log").push(Seen {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            identity: identity.clone(),
            status: 0,
        });
        tokio::time::sleep(d).await;
        let _ = answer(&state, &method, &path, &query, &identity, &body);
        return Err(std::io::Error::other("fault: answered too late"));
    }

    let answer = answer(&state, &method, &path, &query, &identity, &body);
    state.seen.lock().expect("log").push(Seen { method, path, query, identity, status: answer.status });
    let mut response = Response::builder()
        .status(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", answer.content_type);
    if answer.synthesized {
        response = response.header("x-test-apiserver", "synthesized");
    }
    Ok(response.body(Full::new(Bytes::from(answer.body))).expect("response"))
}

fn find<'a>(state: &'a State, method: &str, path: &str, query: &str, identities: &[&str]) -> Option<&'a Exchange> {
    let wanted = params(query);
    state.exchanges.iter().find(|e| e.method == method && e.path == path && e.params == wanted && identities.contains(&e.identity.as_str()))
}

fn params(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn answer(state: &State, method: &str, path: &str, query: &str, identity: &str, body: &[u8]) -> Answer {
    // Authentication: the recorded 401s.
    if identity == "bad-token" || identity == "no-credentials" {
        let e = state.exchanges.iter().find(|e| e.identity == identity && e.status == 401).expect("a recorded 401");
        return Answer::recorded(e);
    }
    let params = params(query);

    // Expire a continue token once.
    if params.contains_key("continue") {
        let mut faults = state.faults.lock().expect("faults");
        if let Some(i) = faults.expire_continue.iter().position(|p| p == path) {
            faults.expire_continue.remove(i);
            let e = state.exchanges.iter().find(|e| e.status == 410).expect("the recorded 410");
            return Answer::recorded(e);
        }
    }

    let admins = ["admin-cert", "admin-token"];
    if identity == "alice" {
        if let Some(e) = find(state, method, path, query, &["alice"]) {
            return Answer::recorded(e);
        }
        // Discovery and /version are open to every authenticated user.
        let is_discovery = path == "/version"
            || path == "/api"
            || path == "/apis"
            || state.exchanges.iter().any(|e| e.path == path && e.body["kind"] == "APIResourceList");
        if !is_discovery
            && method == "GET"
            && let Some(r) = state.resources.get(path)
        {
            let resource = path.rsplit('/').next().unwrap_or_default();
            let qualified = if r.group.is_empty() { resource.to_string() } else { format!("{resource}.{}", r.group) };
            let mut details = json!({"kind": resource});
            if !r.group.is_empty() {
                details["group"] = json!(r.group);
            }
            return Answer::made(
                403,
                json!({"apiVersion": "v1", "code": 403, "details": details, "kind": "Status",
                    "message": format!("{qualified} is forbidden: User \"alice\" cannot list resource \"{resource}\" in API group \"{}\" at the cluster scope", r.group),
                    "metadata": {}, "reason": "Forbidden", "status": "Failure"}),
            );
        }
        if !is_discovery {
            // Nothing else was granted to her group outside dev and shop.
            return Answer::made(
                403,
                json!({"apiVersion": "v1", "code": 403, "details": {}, "kind": "Status",
                    "message": format!("forbidden: User \"alice\" cannot {} path \"{path}\"", method.to_lowercase()),
                    "metadata": {}, "reason": "Forbidden", "status": "Failure"}),
            );
        }
    }
    if let Some(reply) = state.reports.lock().expect("reports").answer(method, path, &params, body) {
        return Answer::made(reply.status, reply.body);
    }
    if let Some(e) = find(state, method, path, query, &admins) {
        return Answer::recorded(e);
    }
    if method == "GET"
        && let Some(resource) = state.resources.get(path)
    {
        return list(state, path, resource, &params);
    }
    // Anything else: the 404 shapes the server gave.
    let known_gv =
        state.exchanges.iter().any(|e| e.status == 200 && path.starts_with(&format!("{}/", e.path)) && e.body["kind"] == "APIResourceList");
    let shape = if known_gv { "/apis/apps/v1/foos" } else { "/apis/example.invalid/v1/things" };
    Answer::recorded(find(state, "GET", shape, "", &admins).expect("a recorded 404"))
}

/// A list of a served resource: the recorded whole list, paged when a
/// `limit` is given that was not recorded.
fn list(state: &State, path: &str, resource: &Resource, params: &BTreeMap<String, String>) -> Answer {
    let admins = ["admin-cert", "admin-token"];
    let whole = find(state, "GET", path, "", &admins).map(|e| e.body.clone()).unwrap_or_else(|| {
        let api_version =
            if resource.group.is_empty() { resource.version.clone() } else { format!("{}/{}", resource.group, resource.version) };
        json!({"apiVersion": api_version, "kind": format!("{}List", resource.kind), "metadata": {"resourceVersion": "446"}, "items": []})
    });
    let items = whole["items"].as_array().cloned().unwrap_or_default();
    let limit: usize = params.get("limit").and_then(|l| l.parse().ok()).filter(|l| *l > 0).unwrap_or(usize::MAX);
    let start = match params.get("continue") {
        None => 0,
        Some(token) => match state.made_tokens.lock().expect("tokens").get(token) {
            Some((p, next)) if p == path => *next,
            _ => {
                let e = state.exchanges.iter().find(|e| e.status == 400).expect("the recorded 400");
                return Answer::recorded(e);
            }
        },
    };
    let recorded_whole = limit == usize::MAX && start == 0;
    let end = start.saturating_add(limit).min(items.len());
    let mut page = whole.clone();
    page["items"] = Value::Array(items[start.min(items.len())..end].to_vec());
    if end < items.len() {
        let last = &items[end - 1]["metadata"];
        let key = match last["namespace"].as_str() {
            Some(ns) => format!("{ns}/{}", last["name"].as_str().unwrap_or_default()),
            None => last["name"].as_str().unwrap_or_default().to_string(),
        };
        let token = URL_SAFE_NO_PAD.encode(json!({"v": "meta.k8s.io/v1", "rv": 446, "start": format!("{key}\u{0}")}).to_string());
        state.made_tokens.lock().expect("tokens").insert(token.clone(), (path.to_string(), end));
        page["metadata"]["continue"] = json!(token);
        page["metadata"]["remainingItemCount"] = json!(items.len() - end);
    }
    let mut answer = Answer::made(200, page);
    answer.synthesized = !recorded_whole || find(state, "GET", path, "", &admins).is_none();
    answer
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    Ok(b) => out.push(b),
                    Err(_) => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses an `x=y` list of faults for the command-line server (used by
/// hand: `cargo run -p rampart-test-apiserver`).
pub fn parse_fault(spec: &str, faults: &mut Faults) -> Result<()> {
    let Some((what, path)) = spec.split_once('=') else { bail!("fault {spec:?}: expected drop=PATH, slow=PATH or expire=PATH") };
    match what {
        "drop" => faults.drop.push((path.to_string(), 1)),
        "slow" => faults.slow.push((path.to_string(), Duration::from_secs(5), 1)),
        "expire" => faults.expire_continue.push(path.to_string()),
        _ => bail!("fault {spec:?}: unknown kind {what:?}"),
    }
    Ok(())
}
