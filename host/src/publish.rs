//! `rampart scan --publish-reports`: the scan's policy reports written to
//! the cluster it scanned, the way Kubewarden's and Kyverno's background
//! scans keep theirs, so `kubectl get polr -A` and Policy Reporter show
//! Rampart's findings beside theirs.
//!
//! Each report object is written with server-side apply (field manager
//! `rampart`, forced: Rampart owns these objects), so a second scan
//! replaces the first one's results in place. Then the reports Rampart
//! wrote before that this scan did not write are deleted, among those this
//! scan is responsible for: with a cluster source, every report labelled
//! `rampart.dev/target=cluster`; for each node scanned, that node's
//! reports. A report of another node, or written by a scan of nodes only,
//! is left alone.
//!
//! A failed write or delete does not stop the others; each is returned, to
//! be reported as an error of the scan (exit 2): a dashboard left with old
//! results must not look current.

use std::collections::BTreeSet;

use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::report::policyreport::{MANAGED_BY, ReportApi, TARGET_LABEL};
use crate::sources::live::{LiveOptions, connect, describe, describe_fatal, retry};

/// What publishing did.
#[derive(Debug, Default)]
pub struct Published {
    pub written: usize,
    pub deleted: usize,
    /// The objects that could not be written or deleted, and why.
    pub errors: Vec<String>,
}

/// What the scan covered: which earlier reports it may replace.
#[derive(Debug, Clone, Default)]
pub struct Covered {
    pub cluster: bool,
    pub nodes: BTreeSet<String>,
}

fn resource(api: ReportApi, namespaced: bool) -> ApiResource {
    let (kind, plural) = if namespaced { api.namespaced() } else { api.cluster() };
    ApiResource {
        group: api.group().into(),
        version: api.version().into(),
        api_version: api.api_version(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// Writes `objects` (from [`crate::report::policyreport::objects`]) to the
/// cluster `options` point at, and removes the stale ones.
pub fn publish(options: &LiveOptions, api: ReportApi, objects: &[Value], covered: &Covered) -> Result<Published> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Cluster { server: "-".into(), message: format!("cannot start the I/O runtime: {e}") })?;
    runtime.block_on(publish_async(options, api, objects, covered))
}

async fn publish_async(options: &LiveOptions, api: ReportApi, objects: &[Value], covered: &Covered) -> Result<Published> {
    let (client, server) = connect(options).await?;
    let fatal = |message: String| Error::Cluster { server: server.clone(), message };
    let gv = api.api_version();
    let (namespaced_kind, namespaced_plural) = api.namespaced();
    let (cluster_kind, cluster_plural) = api.cluster();

    // The report kinds must be served: their CRDs are installed by the
    // policy engines (Kyverno, Kubewarden) or on their own.
    let served = match retry(options, || client.list_api_group_resources(&gv)).await {
        Ok(list) => list.resources.into_iter().map(|r| r.name).collect::<BTreeSet<_>>(),
        Err((kube::Error::Api(s), _)) if s.code == 404 => BTreeSet::new(),
        Err((e, tries)) => return Err(fatal(describe_fatal(&e, tries, options))),
    };
    let missing: Vec<&str> = [namespaced_plural, cluster_plural].into_iter().filter(|p| !served.contains(*p)).collect();
    if !missing.is_empty() {
        return Err(fatal(format!(
            "cannot publish the reports: the cluster does not serve {} in {gv} (install the {namespaced_kind} and {cluster_kind} CRDs, or choose the other --report-api)",
            missing.join(" and ")
        )));
    }

    let mut done = Published::default();
    let params = PatchParams::apply("rampart").force();
    let mut written: BTreeSet<(String, String, String)> = BTreeSet::new();
    for object in objects {
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let namespace = object["metadata"]["namespace"].as_str().map(String::from);
        let (kind, what) = match &namespace {
            Some(ns) => (namespaced_kind, format!("{namespaced_kind} {ns}/{name}")),
            None => (cluster_kind, format!("{cluster_kind} {name}")),
        };
        let ar = resource(api, namespace.is_some());
        let target: Api<DynamicObject> = match &namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
            None => Api::all_with(client.clone(), &ar),
        };
        let patch = Patch::Apply(object);
        match retry(options, || target.patch(&name, &params, &patch)).await {
            Ok(_) => {
                done.written += 1;
                written.insert((kind.to_string(), namespace.unwrap_or_default(), name));
            }
            Err((e, tries)) => done.errors.push(write_error(&what, "patch", &ar, &e, tries)),
        }
    }

    // Stale reports: Rampart's, of what this scan covered, not written now.
    let selector = format!("{}={}", MANAGED_BY.0, MANAGED_BY.1);
    for namespaced in [true, false] {
        let ar = resource(api, namespaced);
        let all: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let lp = ListParams::default().labels(&selector);
        let listed = match retry(options, || all.list(&lp)).await {
            Ok(l) => l,
            Err((e, tries)) => {
                done.errors.push(format!(
                    "cannot list earlier {} reports to remove stale ones: {}",
                    ar.kind,
                    describe_write(&ar, "list", &e, tries)
                ));
                continue;
            }
        };
        for old in listed.items {
            let name = old.metadata.name.clone().unwrap_or_default();
            let namespace = old.metadata.namespace.clone();
            if written.contains(&(ar.kind.clone(), namespace.clone().unwrap_or_default(), name.clone())) {
                continue;
            }
            let label = old.metadata.labels.as_ref().and_then(|l| l.get(TARGET_LABEL)).map(String::as_str);
            let node = old.data.get("scope").and_then(|s| s.get("name")).and_then(Value::as_str);
            let ours = match label {
                Some("cluster") => covered.cluster,
                Some("node") => node.is_some_and(|n| covered.nodes.contains(n)),
                _ => false,
            };
            if !ours {
                continue;
            }
            let target: Api<DynamicObject> = match &namespace {
                Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
                None => Api::all_with(client.clone(), &ar),
            };
            let what = match &namespace {
                Some(ns) => format!("stale {} {ns}/{name}", ar.kind),
                None => format!("stale {} {name}", ar.kind),
            };
            let delete = DeleteParams::default();
            match retry(options, || target.delete(&name, &delete)).await {
                Ok(_) => done.deleted += 1,
                // Gone already: what deleting wanted.
                Err((kube::Error::Api(s), _)) if s.code == 404 => {}
                Err((e, tries)) => done.errors.push(write_error(&what, "delete", &ar, &e, tries)),
            }
        }
    }
    Ok(done)
}

fn describe_write(ar: &ApiResource, verb: &str, e: &kube::Error, tries: u32) -> String {
    match e {
        kube::Error::Api(s) if s.code == 403 => format!(
            "forbidden ({}): the scanning identity needs RBAC verb \"{verb}\" on \"{}\" in API group \"{}\"",
            s.message, ar.plural, ar.group
        ),
        _ => describe(e, tries),
    }
}

fn write_error(what: &str, verb: &str, ar: &ApiResource, e: &kube::Error, tries: u32) -> String {
    format!("cannot publish {what}: {}", describe_write(ar, verb, e, tries))
}
