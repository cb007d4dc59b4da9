//! The live cluster source: objects listed from a Kubernetes API server with
//! the kube client (kubeconfig contexts, client certificates, bearer tokens,
//! exec plugins, or the in-cluster service account).
//!
//! Only the kinds the scan's plugins were granted are listed, each once and
//! cluster-wide, in pages of `--chunk-size` objects. An expired continue
//! token (410) restarts that kind's list; a dropped connection, a timeout, a
//! 429 or a 5xx is retried a bounded number of times. A kind the server
//! refuses (403) or that keeps failing is recorded in
//! [`ClusterData::failed`] with the server's message, so every check that
//! needs it is `error`, never `pass`. A server that cannot be reached or
//! rejects the credentials stops the scan ([`Error::Cluster`]).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kube::api::ListParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::ClusterData;
use super::cluster::{Head, kind_key};
use crate::error::{Error, Result};

/// How to reach the API server and how patiently.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// A kubeconfig file; `None` with `in_cluster` uses the pod's service account.
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (its current context when `None`).
    pub context: Option<String>,
    pub in_cluster: bool,
    /// The limit on each request (connect, send, and the whole response).
    pub request_timeout: Duration,
    /// How many times a request that failed in passing is tried again.
    pub retries: u32,
    /// Objects per page of a list (`limit`).
    pub chunk_size: u32,
}

impl Default for LiveOptions {
    fn default() -> LiveOptions {
        LiveOptions {
            kubeconfig: None,
            context: None,
            in_cluster: false,
            request_timeout: Duration::from_secs(30),
            retries: 3,
            chunk_size: 500,
        }
    }
}

/// Which kinds to list.
#[derive(Debug, Clone)]
pub enum Wanted {
    /// These `(apiVersion, kind)` pairs.
    Kinds(BTreeSet<(String, String)>),
    /// Every kind the server serves and lets us list (preferred versions).
    Everything,
}

/// A resource the server serves, from discovery.
#[derive(Debug, Clone)]
struct Resource {
    api_version: String,
    kind: String,
    group: String,
    /// `pods`, `clusterroles`.
    plural: String,
    /// `/api/v1/pods`
    path: String,
}

impl Resource {
    fn key(&self) -> String {
        kind_key(&self.api_version, &self.kind)
    }

    /// `/api/v1`, `/apis/apps/v1`
    fn base(&self) -> &str {
        self.path.rsplit_once('/').map_or("", |(base, _)| base)
    }
}

/// Lists what `wanted` names from the server `options` point at into `data`.
pub fn fetch(options: &LiveOptions, wanted: &Wanted, data: &mut ClusterData) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Cluster { server: "-".into(), message: format!("cannot start the I/O runtime: {e}") })?;
    runtime.block_on(fetch_async(options, wanted, data))
}

async fn fetch_async(options: &LiveOptions, wanted: &Wanted, data: &mut ClusterData) -> Result<()> {
    let (client, server) = connect(options).await?;
    let fatal = |message: String| Error::Cluster { server: server.clone(), message };

    // /version first: it tells whether the server is there and takes our credentials.
    let version = retry(options, || client.apiserver_version()).await.map_err(|(e, tries)| fatal(describe_fatal(&e, tries, options)))?;
    data.version = Some(version.git_version.clone());
    data.sources.push(match &options.context {
        Some(ctx) => format!("{server} (context {ctx}, Kubernetes {})", version.git_version),
        None => format!("{server} (Kubernetes {})", version.git_version),
    });

    // Discovery: the group-versions the wanted kinds are in, or all of them.
    let group_versions: BTreeSet<String> = match wanted {
        Wanted::Kinds(kinds) => kinds.iter().map(|(v, _)| v.clone()).collect(),
        Wanted::Everything => {
            let core = retry(options, || client.list_core_api_versions()).await.map_err(|(e, n)| fatal(describe_fatal(&e, n, options)))?;
            let groups = retry(options, || client.list_api_groups()).await.map_err(|(e, n)| fatal(describe_fatal(&e, n, options)))?;
            core.versions
                .into_iter()
                .chain(
                    groups
                        .groups
                        .into_iter()
                        .filter_map(|g| g.preferred_version.or_else(|| g.versions.into_iter().next()))
                        .map(|v| v.group_version),
                )
                .collect()
        }
    };
    let mut served: BTreeMap<String, Result<Vec<Resource>, String>> = BTreeMap::new();
    for gv in &group_versions {
        served.insert(gv.clone(), discover(&client, gv, options).await);
    }

    let mut to_list: Vec<Resource> = Vec::new();
    match wanted {
        Wanted::Everything => {
            for (gv, resources) in served {
                match resources {
                    Ok(r) => to_list.extend(r),
                    Err(why) => {
                        data.failed.insert(kind_key(&gv, "*"), why);
                    }
                }
            }
        }
        Wanted::Kinds(kinds) => {
            for (api_version, kind) in kinds {
                match served.get(api_version) {
                    Some(Ok(resources)) => match resources.iter().find(|r| &r.kind == kind) {
                        Some(r) => to_list.push(r.clone()),
                        // The server does not serve the kind: no object of it can exist.
                        None => {
                            tracing::info!("{server} does not serve {api_version}/{kind}; it has none");
                            data.know_kind(api_version, kind);
                        }
                    },
                    Some(Err(why)) => {
                        data.failed.insert(kind_key(api_version, kind), why.clone());
                    }
                    None => {
                        data.failed.insert(kind_key(api_version, kind), format!("{api_version} was not discovered"));
                    }
                }
            }
        }
    }

    // List the kinds, a few at a time.
    let limit = Arc::new(tokio::sync::Semaphore::new(4));
    let mut tasks = tokio::task::JoinSet::new();
    for resource in to_list {
        let (client, options, limit) = (client.clone(), options.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire().await;
            let result = list_all(&client, &resource, &options).await;
            (resource, result)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(r) => results.push(r),
            Err(e) => return Err(fatal(format!("a list task failed: {e}"))),
        }
    }
    results.sort_by_key(|r| r.0.key());
    for (resource, result) in results {
        match result {
            Ok(items) => {
                for (i, item) in items.iter().enumerate() {
                    let inserted = with_type(item, &resource).and_then(|(json, head)| {
                        // The object's own URL: where a user can GET it.
                        let name = head.metadata.name.as_deref().unwrap_or_default();
                        let source = match &head.metadata.namespace {
                            Some(ns) => format!("{server}{}/namespaces/{ns}/{}/{name}", resource.base(), resource.plural),
                            None => format!("{server}{}/{name}", resource.path),
                        };
                        data.insert_with_head(json.into(), head, source)
                    });
                    if let Err(why) = inserted {
                        data.failed.insert(resource.key(), format!("{}: item {}: {why}", resource.path, i + 1));
                    }
                }
                data.know_kind(&resource.api_version, &resource.kind);
            }
            Err(why) => {
                data.failed.insert(resource.key(), why);
            }
        }
    }
    Ok(())
}

/// A client for the configured server, and the server's URL.
pub(crate) async fn connect(options: &LiveOptions) -> Result<(Client, String)> {
    let named = options.kubeconfig.as_ref().map_or("in-cluster".to_string(), |p| p.display().to_string());
    let bad = |message: String| Error::Cluster { server: named.clone(), message };
    let mut config = if options.in_cluster {
        Config::incluster().map_err(|e| bad(format!("not running in a pod with a service account: {}", chain(&e))))?
    } else {
        let path = options.kubeconfig.as_ref().ok_or_else(|| bad("no kubeconfig given".into()))?;
        let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read the kubeconfig: {e}")))?;
        let kubeconfig = Kubeconfig::from_yaml(&text).map_err(|e| bad(format!("not a usable kubeconfig: {}", chain(&e))))?;
        check_context(&kubeconfig, options.context.as_deref()).map_err(bad)?;
        let wanted = KubeConfigOptions { context: options.context.clone(), cluster: None, user: None };
        Config::from_custom_kubeconfig(kubeconfig, &wanted).await.map_err(|e| bad(chain(&e)))?
    };
    config.connect_timeout = Some(options.request_timeout);
    config.read_timeout = Some(options.request_timeout);
    config.write_timeout = Some(options.request_timeout);
    let server = config.cluster_url.to_string().trim_end_matches('/').to_string();
    let client = Client::try_from(config).map_err(|e| Error::Cluster { server: server.clone(), message: chain(&e) })?;
    Ok((client, server))
}

/// The context asked for (or the current one) is in the kubeconfig; if
/// not, say so with the contexts there are, as kubectl does.
fn check_context(kubeconfig: &Kubeconfig, wanted: Option<&str>) -> Result<(), String> {
    let names: Vec<&str> = kubeconfig.contexts.iter().map(|c| c.name.as_str()).collect();
    let known = || if names.is_empty() { "it has none".to_string() } else { format!("it has: {}", names.join(", ")) };
    match (wanted, kubeconfig.current_context.as_deref()) {
        (Some(name), _) if !names.contains(&name) => Err(format!("context {name:?} does not exist in this kubeconfig ({})", known())),
        (None, Some(current)) if !current.is_empty() && !names.contains(&current) => {
            Err(format!("its current-context {current:?} does not exist ({}): give --context NAME", known()))
        }
        (None, None | Some("")) => Err(format!("it sets no current-context: give --context NAME ({})", known())),
        _ => Ok(()),
    }
}

/// A failed TLS verification of the API server's certificate, in words:
/// retrying cannot help, and "cannot reach the server" would mislead. The
/// client's error reaches us boxed in layers (hyper, the connector, io) that
/// hide the TLS library's error type, so it is recognised by the text
/// rustls gives it: `invalid peer certificate: <what>`.
fn tls_failure(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    const MARK: &str = "invalid peer certificate: ";
    let text = chain(e);
    let what = &text[text.find(MARK)? + MARK.len()..];
    let what = what.split(" (after ").next().unwrap_or(what).trim();
    let plain = if what.starts_with("UnknownIssuer") {
        "its issuer is unknown: no certificate authority the kubeconfig trusts (certificate-authority or certificate-authority-data) issued it".to_string()
    } else if what.starts_with("BadSignature") {
        "its signature does not verify against the certificate authority the kubeconfig trusts (another CA of the same name?)".to_string()
    } else if what.starts_with("certificate not valid for name") || what.starts_with("NotValidForName") {
        format!("it is not valid for the host name the kubeconfig uses: {what}; connect by a name it holds, or set tls-server-name",)
    } else if what.starts_with("certificate expired") || what.starts_with("Expired") {
        format!("it has expired: {what}")
    } else if what.starts_with("certificate not valid yet") || what.starts_with("NotValidYet") {
        format!("it is not valid yet (is this machine's clock right?): {what}")
    } else {
        what.to_string()
    };
    Some(format!("TLS verification of the API server's certificate failed: {plain}"))
}

/// The resources of one group-version that can be listed; `Ok(empty)` when
/// the server does not serve the group-version at all.
async fn discover(client: &Client, gv: &str, options: &LiveOptions) -> Result<Vec<Resource>, String> {
    let list = if gv.contains('/') {
        retry(options, || client.list_api_group_resources(gv)).await
    } else {
        retry(options, || client.list_core_api_resources(gv)).await
    };
    let list = match list {
        Ok(l) => l,
        Err((kube::Error::Api(s), _)) if s.code == 404 => return Ok(Vec::new()),
        Err((e, tries)) => return Err(format!("discovery of {gv} failed: {}", describe(&e, tries))),
    };
    let group = gv.rsplit_once('/').map_or("", |(g, _)| g).to_string();
    let base = if gv.contains('/') { format!("/apis/{gv}") } else { format!("/api/{gv}") };
    Ok(list
        .resources
        .into_iter()
        .filter(|r| !r.name.contains('/') && r.verbs.iter().any(|v| v == "list"))
        .map(|r| Resource {
            api_version: gv.to_string(),
            kind: r.kind,
            group: group.clone(),
            path: format!("{base}/{}", r.name),
            plural: r.name,
        })
        .collect())
}

/// Every object of one resource, page by page, each as the JSON text the
/// server sent.
async fn list_all(client: &Client, resource: &Resource, options: &LiveOptions) -> Result<Vec<String>, String> {
    #[derive(Deserialize)]
    struct Page<'a> {
        #[serde(borrow, default)]
        items: Vec<&'a RawValue>,
        #[serde(default)]
        metadata: PageMeta,
    }
    #[derive(Deserialize, Default)]
    struct PageMeta {
        #[serde(rename = "continue", default)]
        next: Option<String>,
    }
    const RESTARTS: u32 = 3;
    let mut restarts = 0;
    let mut items = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut params = ListParams::default().limit(options.chunk_size);
        if let Some(token) = &next {
            params = params.continue_token(token);
        }
        let request = || {
            let req = kube::core::Request::new(&resource.path).list(&params).expect("a list request of a discovered path builds");
            client.request_text(req)
        };
        match retry(options, request).await {
            Ok(text) => {
                let page: Page =
                    serde_json::from_str(&text).map_err(|e| format!("{}: the server sent a list that is not JSON: {e}", resource.path))?;
                items.extend(page.items.into_iter().map(|raw| raw.get().to_string()));
                match page.metadata.next.filter(|t| !t.is_empty()) {
                    Some(token) => next = Some(token),
                    None => return Ok(items),
                }
            }
            // The continue token outlived the server's history: start over.
            Err((kube::Error::Api(s), _)) if s.code == 410 && next.is_some() && restarts < RESTARTS => {
                tracing::info!("{}: continue token expired; listing again from the start", resource.path);
                restarts += 1;
                items.clear();
                next = None;
            }
            Err((e, tries)) => return Err(list_error(resource, &e, tries)),
        }
    }
}

/// The item's JSON with `apiVersion` and `kind` first, unless it has them
/// (list items come without them), and its head.
fn with_type(item: &str, resource: &Resource) -> Result<(String, Head), String> {
    let mut head: Head = serde_json::from_str(item).map_err(|e| format!("not a JSON object: {e}"))?;
    if head.api_version.is_some() && head.kind.is_some() {
        return Ok((item.to_string(), head));
    }
    let body = item.trim_start().strip_prefix('{').unwrap_or("}").trim_start();
    let typed = format!(
        "{{\"apiVersion\":{},\"kind\":{}",
        serde_json::Value::from(resource.api_version.as_str()),
        serde_json::Value::from(resource.kind.as_str())
    );
    let json = if body.starts_with('}') { format!("{typed}{body}") } else { format!("{typed},{body}") };
    head.api_version = Some(resource.api_version.clone());
    head.kind = Some(resource.kind.clone());
    Ok((json, head))
}

/// Runs a request until it succeeds, fails for good, or has been tried
/// `retries + 1` times; each try is bounded by the request timeout.
/// The error comes with the number of tries made.
pub(crate) async fn retry<T, F, Fut>(options: &LiveOptions, mut call: F) -> Result<T, (kube::Error, u32)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = kube::Result<T>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        let error = match tokio::time::timeout(options.request_timeout, call()).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => e,
            Err(_) => {
                kube::Error::Service(format!("no answer within the request timeout ({}s)", options.request_timeout.as_secs_f64()).into())
            }
        };
        if tries > options.retries || !transient(&error) {
            return Err((error, tries));
        }
        let backoff = Duration::from_millis(200 * 2u64.pow(tries - 1)).min(Duration::from_secs(5));
        tracing::debug!("retrying in {backoff:?} after: {}", chain(&error));
        tokio::time::sleep(backoff).await;
    }
}

/// Failures that may pass: the network, timeouts, an overloaded server.
/// A certificate that fails verification does not pass.
fn transient(e: &kube::Error) -> bool {
    if tls_failure(e).is_some() {
        return false;
    }
    match e {
        kube::Error::Api(s) => matches!(s.code, 429 | 500 | 502 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// Why a kind could not be listed, naming it and what is missing.
fn list_error(r: &Resource, e: &kube::Error, tries: u32) -> String {
    match e {
        kube::Error::Api(s) if s.code == 403 => format!(
            "forbidden: the API server refused to list {} ({}): {}; the scanning identity needs RBAC verb \"list\" on \"{}\" in API group \"{}\" at cluster scope",
            r.key(),
            r.path,
            s.message,
            r.plural,
            r.group
        ),
        _ => format!("cannot list {} ({}): {}", r.key(), r.path, describe(e, tries)),
    }
}

pub(crate) fn describe(e: &kube::Error, tries: u32) -> String {
    let attempts = if tries > 1 { format!(" (after {tries} attempts)") } else { String::new() };
    match e {
        kube::Error::Api(s) => {
            let reason = if s.reason.is_empty() { String::new() } else { format!(" {}", s.reason) };
            format!("{}{reason}: {}{attempts}", s.code, s.message)
        }
        other => format!("{}{attempts}", chain(other)),
    }
}

/// Why the scan cannot use the server at all.
pub(crate) fn describe_fatal(e: &kube::Error, tries: u32, options: &LiveOptions) -> String {
    match e {
        kube::Error::Api(s) if s.code == 401 => {
            format!("the API server rejected the credentials (401 {}): check the kubeconfig user's token or certificate", s.message)
        }
        kube::Error::Api(_) => format!("the API server answered /version with {}", describe(e, tries)),
        _ if tls_failure(e).is_some() => tls_failure(e).unwrap_or_default(),
        _ => format!(
            "cannot reach the API server: {} (--request-timeout {}s, {} retries)",
            describe(e, tries),
            options.request_timeout.as_secs_f64(),
            options.retries
        ),
    }
}

/// An error and its sources, `a: b: c`, without repeats.
fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pods() -> Resource {
        Resource { api_version: "v1".into(), kind: "Pod".into(), group: String::new(), plural: "pods".into(), path: "/api/v1/pods".into() }
    }

    #[test]
    fn list_items_get_their_type_first() {
        let (item, head) = with_type(r#" {"metadata":{"name":"a","namespace":"dev"}}"#, &pods()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&item).unwrap();
        assert_eq!((v["apiVersion"].as_str(), v["kind"].as_str(), v["metadata"]["name"].as_str()), (Some("v1"), Some("Pod"), Some("a")));
        assert_eq!((head.metadata.namespace.as_deref(), head.metadata.name.as_deref()), (Some("dev"), Some("a")));
        assert_eq!((head.api_version.as_deref(), head.kind.as_deref()), (Some("v1"), Some("Pod")));
        assert_eq!(with_type("{}", &pods()).unwrap().0, r#"{"apiVersion":"v1","kind":"Pod"}"#);
        let typed = r#"{"apiVersion":"ops.example.com/v1","kind":"BackupPolicy","metadata":{"name":"b"}}"#;
        assert_eq!(with_type(typed, &pods()).unwrap().0, typed, "custom resources carry their own type");
        assert!(with_type("[1]", &pods()).unwrap_err().starts_with("not a JSON object"));
    }

    #[test]
    fn forbidden_names_the_kind_and_the_permission() {
        let status =
            kube::core::Status::failure("pods is forbidden: User \"alice\" cannot list resource \"pods\"", "Forbidden").with_code(403);
        let why = list_error(&pods(), &kube::Error::Api(status.boxed()), 1);
        assert!(why.starts_with("forbidden: the API server refused to list v1/Pod (/api/v1/pods): pods is forbidden"), "{why}");
        assert!(why.contains("needs RBAC verb \"list\" on \"pods\" in API group \"\" at cluster scope"), "{why}");
    }

    #[test]
    fn only_passing_failures_are_retried() {
        let api = |code| kube::Error::Api(kube::core::Status::failure("x", "y").with_code(code).boxed());
        assert!(transient(&api(503)) && transient(&api(429)));
        assert!(!transient(&api(403)) && !transient(&api(401)) && !transient(&api(410)));
    }

    #[test]
    fn a_context_that_is_not_there_is_named_with_those_that_are() {
        let config = |current: &str| {
            Kubeconfig::from_yaml(&format!(
                "apiVersion: v1\nkind: Config\ncontexts:\n- name: dev\n  context: {{cluster: c, user: u}}\n- name: prod\n  context: {{cluster: c, user: u}}\n{current}"
            ))
            .unwrap()
        };
        let with_current = config("current-context: dev\n");
        assert_eq!(check_context(&with_current, None), Ok(()));
        assert_eq!(check_context(&with_current, Some("prod")), Ok(()));
        let err = check_context(&with_current, Some("nosuch")).unwrap_err();
        assert_eq!(err, "context \"nosuch\" does not exist in this kubeconfig (it has: dev, prod)");
        let err = check_context(&config("current-context: gone\n"), None).unwrap_err();
        assert!(err.contains("current-context \"gone\" does not exist (it has: dev, prod)"), "{err}");
        assert!(check_context(&config(""), None).unwrap_err().contains("no current-context"));
    }
}
