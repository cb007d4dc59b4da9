//! End-to-end tests of the live cluster source: `rampart` with the real kube
//! client over HTTPS against the test API server, which replays what a real
//! kube-apiserver v1.36.2 answered (tests/apiserver).

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rampart_test_apiserver::{ADMIN_TOKEN, ALICE_TOKEN, Faults, TestServer, fixture};
use serde_json::Value;
use support::*;

fn server(faults: Faults) -> TestServer {
    TestServer::start(&fixture(), faults).expect("start the test API server")
}

/// Writes a kubeconfig for `token` into `dir`.
fn kubeconfig(server: &TestServer, token: &str, dir: &Path) -> PathBuf {
    let path = dir.join(format!("kubeconfig-{}", &token[..16]));
    std::fs::write(&path, server.kubeconfig(token)).unwrap();
    path
}

fn demo_cluster() -> PathBuf {
    root().join("examples/demo/cluster")
}

/// Findings without `source` (a file for manifests, a URL for a server).
fn verdicts(report: &Value) -> Vec<Value> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let mut f = f.clone();
            // Where the object was read from (a file and its line) differs
            // between a file and the API server, the verdict does not.
            f.as_object_mut().unwrap().remove("source");
            f.as_object_mut().unwrap().remove("line");
            f
        })
        .collect()
}

fn control_statuses(report: &Value) -> Vec<(Value, Value)> {
    report["profiles"][0]["controls"].as_array().unwrap().iter().map(|c| (c["id"].clone(), c["status"].clone())).collect()
}

/// How often the server was asked for each list path (GET without a continue token).
fn list_starts(server: &TestServer, path: &str) -> usize {
    server.seen().iter().filter(|s| s.path == path && !s.query.contains("continue=")).count()
}

#[test]
fn a_live_scan_gives_the_verdicts_of_the_manifests_and_of_a_snapshot() {
    let server = server(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(&server, ADMIN_TOKEN, dir.path());

    let live = run(rampart().args(["scan", "--profile", "cis-k8s-1.12", "--format", "json", "--kubeconfig"]).arg(&config));
    assert_eq!(live.code, 1, "violations, so exit 1; stderr: {}", live.stderr);
    let live = live.json();
    let files = run(rampart().args(["scan", "--profile", "cis-k8s-1.12", "--format", "json", "--manifests"]).arg(demo_cluster())).json();
    assert!(verdicts(&live).len() > 100, "the cluster plugins ran");
    assert_eq!(verdicts(&live), verdicts(&files), "the same objects give the same verdicts");
    assert_eq!(control_statuses(&live), control_statuses(&files));
    assert_eq!(live["targets"]["kubernetes_version"], "v1.36.2", "read from /version");
    let note = live["profiles"][0]["version_note"].as_str().unwrap_or_default();
    assert!(note.contains("written for Kubernetes 1.32-1.34; this cluster runs v1.36.2"), "{note}");
    assert!(files["profiles"][0].get("version_note").is_none(), "files carry no version");
    let source = live["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|f| f["source"].as_str().filter(|s| s.contains("jane-cluster-admin")))
        .unwrap();
    assert_eq!(
        source,
        format!("{}/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/jane-cluster-admin", server.url()),
        "sources are object URLs"
    );

    // Every kind once, and only the kinds the plugins were granted.
    for path in ["/api/v1/pods", "/apis/apps/v1/deployments", "/apis/rbac.authorization.k8s.io/v1/clusterroles", "/api/v1/namespaces"] {
        assert_eq!(list_starts(&server, path), 1, "{path} listed once");
    }
    assert_eq!(list_starts(&server, "/api/v1/limitranges"), 0, "no plugin is granted LimitRanges");

    // The same from a snapshot taken of the server, sources included.
    let snap = dir.path().join("cluster.json");
    let r = run(rampart().args(["snapshot", "cluster", "--profile", "cis-k8s-1.12", "-o"]).arg(&snap).arg("--kubeconfig").arg(&config));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let scanned = run(rampart().args(["scan", "--profile", "cis-k8s-1.12", "--format", "json", "--snapshot"]).arg(&snap)).json();
    assert_eq!(scanned["findings"], live["findings"]);
    assert_eq!(control_statuses(&scanned), control_statuses(&live));
    assert_eq!(scanned["targets"]["kubernetes_version"], "v1.36.2");
}

/// The STIG's object rules over the wire: the same verdicts as from files,
/// and the deliberate dashboard, objects in `default` and two busybox
/// versions found.
#[test]
fn a_live_stig_scan_judges_the_objects_as_the_files_do() {
    let server = server(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(&server, ADMIN_TOKEN, dir.path());
    let live = run(rampart().args(["scan", "--profile", "k8s-stig-v2r6", "--format", "json", "--kubeconfig"]).arg(&config));
    assert_eq!(live.code, 1, "{}", live.stderr);
    let live = live.json();
    let files = run(rampart().args(["scan", "--profile", "k8s-stig-v2r6", "--format", "json", "--manifests"]).arg(demo_cluster())).json();
    assert_eq!(verdicts(&live), verdicts(&files));
    assert_eq!(control_statuses(&live), control_statuses(&files));
    let status = |id: &str| control_statuses(&live).into_iter().find(|(c, _)| *c == id).unwrap().1;
    for id in ["V-242383", "V-242395", "V-242442"] {
        assert_eq!(status(id), "fail", "{id}");
    }
    // violations.tsv: worker-2's old kubelet (V-242442), the password in a
    // ConfigMap in default (V-274883, assisting a manual rule).
    let objects = |check: &str| -> Vec<String> {
        live["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check"] == check && f["status"] == "fail")
            .map(|f| f["object"]["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(objects("cluster-inventory/node-versions"), ["worker-2"]);
    assert_eq!(objects("cluster-inventory/plaintext-credentials"), ["legacy-app-config"]);
    // No --admission-control-config-file: evidence for the manual V-254800.
    assert_eq!(objects("apiserver/admission-control-config"), ["kube-apiserver-cp-1"]);
    // Without node access the control plane is judged from its mirror pods
    // (violations.tsv: token file and anonymous auth on the API server, the
    // scheduler on every interface; its TLS floor and etcd's certificates pass).
    for (id, want) in [
        ("V-245543", "fail"),
        ("V-242390", "fail"),
        ("V-242384", "fail"),
        ("V-242409", "fail"),
        ("V-242379", "fail"),
        ("V-242380", "fail"),
        ("V-242438", "fail"),
        ("V-242403", "fail"),
        ("V-242377", "pass"),
        ("V-242382", "pass"),
        ("V-242423", "pass"),
    ] {
        assert_eq!(status(id), want, "{id}");
    }
    let token = live["findings"].as_array().unwrap().iter().find(|f| f["check"] == "apiserver/token-auth-file").unwrap();
    assert_eq!(token["object"]["name"], "kube-apiserver-cp-1", "{token}");
    assert_eq!(token["evidence"]["node"], "cp-1", "{token}");
    // Files on the node stay errors, not guesses.
    assert_eq!(status("V-242408"), "error", "manifest modes need the node");
}

#[test]
fn the_deliberate_violations_are_found_over_the_wire() {
    let server = server(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    // The cluster admin's client certificate this time, as kubeadm's admin.conf has it.
    let config = dir.path().join("admin.conf");
    std::fs::write(&config, server.kubeconfig_with_certificate()).unwrap();
    let report = run(rampart().args(["scan", "--format", "json", "--plugin", "rbac", "pod-security", "--kubeconfig"]).arg(&config)).json();
    let admins = objects_with(&report, "rbac/cluster-admin-bindings", "fail");
    for name in ["jane-cluster-admin", "oncall-sre-cluster-admin", "ci-deployer-cluster-admin", "kubernetes-dashboard-admin"] {
        assert!(admins.iter().any(|o| o.ends_with(&format!("/{name}"))), "{name} in {admins:?}");
    }
    let escalation = objects_with(&report, "pod-security/allow-privilege-escalation", "fail");
    assert!(escalation.contains(&"CronJob shop/nightly-report".to_string()), "{escalation:?}");

    let text = run(rampart().args(["scan", "--plugin", "rbac", "--context", "admin", "--kubeconfig"]).arg(&config)).stdout;
    assert!(text.contains(&format!("API server: {} (context admin, Kubernetes v1.36.2)", server.url())), "{text}");
    assert!(server.seen().iter().all(|s| s.identity == "admin"), "every request authenticated by the certificate");
    let r = run(rampart().args(["scan", "--plugin", "rbac", "--context", "prod", "--kubeconfig"]).arg(&config));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("prod"), "an unknown context is named: {}", r.stderr);
}

#[test]
fn pages_follow_continue_tokens_and_an_expired_token_restarts_the_list() {
    let server = server(Faults { expire_continue: vec!["/apis/rbac.authorization.k8s.io/v1/clusterroles".into()], ..Faults::default() });
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(&server, ADMIN_TOKEN, dir.path());
    let paged = run(rampart().args(["scan", "--format", "json", "--plugin", "rbac", "--chunk-size", "20", "--kubeconfig"]).arg(&config));
    assert_eq!(paged.code, 1, "{}", paged.stderr);
    let whole = run(rampart().args(["scan", "--format", "json", "--plugin", "rbac", "--manifests"]).arg(demo_cluster())).json();
    assert_eq!(verdicts(&paged.json()), verdicts(&whole));

    let pages: Vec<_> = server.seen().into_iter().filter(|s| s.path == "/apis/rbac.authorization.k8s.io/v1/clusterroles").collect();
    let statuses: Vec<u16> = pages.iter().map(|s| s.status).collect();
    // First page, the expired token (410), then the five recorded pages.
    assert_eq!(statuses, [200, 410, 200, 200, 200, 200, 200], "{pages:#?}");
    assert_eq!(pages.iter().filter(|s| !s.query.contains("continue=")).count(), 2, "restarted once");
}

#[test]
fn a_forbidden_kind_is_an_error_naming_the_kind_and_the_permission() {
    let server = server(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(&server, ALICE_TOKEN, dir.path());
    let r = run(rampart().args(["scan", "--format", "json", "--profile", "cis-k8s-1.12", "--kubeconfig"]).arg(&config));
    assert_eq!(r.code, 2, "an incomplete scan exits 2; stderr: {}", r.stderr);
    assert!(r.stderr.contains("forbidden: the API server refused to list rbac.authorization.k8s.io/v1/ClusterRole"), "{}", r.stderr);
    let report = r.json();
    let rbac = findings(&report, "rbac/cluster-admin-bindings");
    assert!(!rbac.is_empty() && rbac.iter().all(|f| f["status"] == "error"), "{rbac:?}");
    // Each check names the kinds it reads: the bindings here, the roles for
    // the role checks.
    let message = rbac[0]["message"].as_str().unwrap();
    assert!(message.contains("clusterrolebindings.rbac.authorization.k8s.io is forbidden: User \"alice\""), "{message}");
    let roles = findings(&report, "rbac/wildcards");
    let message = roles[0]["message"].as_str().unwrap();
    assert!(message.contains("clusterroles.rbac.authorization.k8s.io is forbidden: User \"alice\""), "{message}");
    assert!(message.contains("needs RBAC verb \"list\" on \"clusterroles\" in API group \"rbac.authorization.k8s.io\""), "{message}");
    let pods = findings(&report, "pod-security/privileged");
    assert!(!pods.is_empty() && pods.iter().all(|f| f["status"] == "error"), "{pods:?}");
    let passed: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "pass" && f["check"].as_str().unwrap().starts_with("rbac/"))
        .collect();
    assert!(passed.is_empty(), "nothing that needed a forbidden kind passes: {passed:?}");
    let control = report["profiles"][0]["controls"].as_array().unwrap().iter().find(|c| c["id"] == "5.1.1").unwrap();
    assert_eq!(control["status"], "error", "a manual control without its evidence: {control}");

    // --quiet: the errors are in the report only (for `kubectl logs`).
    let quiet = run(rampart().args(["-q", "scan", "--format", "json", "--plugin", "rbac", "--kubeconfig"]).arg(&config));
    assert_eq!(quiet.code, 2);
    assert_eq!(quiet.stderr, "");
    assert!(quiet.json()["errors"].to_string().contains("refused to list rbac.authorization.k8s.io/v1/ClusterRole"));
}

#[test]
fn bad_credentials_and_a_dead_server_exit_2_within_the_timeout() {
    let server = server(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let bad = kubeconfig(&server, "not-a-token-this-server-knows", dir.path());
    let r = run(rampart().args(["scan", "--plugin", "rbac", "--kubeconfig"]).arg(&bad));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("rejected the credentials (401 Unauthorized)"), "{}", r.stderr);

    // A server that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let text = server.kubeconfig(ADMIN_TOKEN).replace(&server.url(), &format!("https://127.0.0.1:{port}"));
    let dead = dir.path().join("dead");
    std::fs::write(&dead, text).unwrap();
    let started = Instant::now();
    let r = run(rampart().args(["scan", "--plugin", "rbac", "--request-timeout", "1s", "--retries", "1", "--kubeconfig"]).arg(&dead));
    let took = started.elapsed();
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot reach the API server") && r.stderr.contains(&format!("127.0.0.1:{port}")), "{}", r.stderr);
    // Two tries of 1 s and a 0.2 s pause; the bound only catches a hang.
    assert!(took < Duration::from_secs(30), "gave up after {took:?}");
    drop(silent);

    // In-cluster config outside a pod.
    let r = run(rampart().args(["scan", "--plugin", "rbac", "--in-cluster"]).env_remove("KUBERNETES_SERVICE_HOST"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cluster in-cluster: not running in a pod with a service account"), "{}", r.stderr);

    // Nothing listening at all.
    let r = run(rampart().args(["scan", "--plugin", "rbac", "--request-timeout", "1s", "--retries", "0", "--kubeconfig"]).arg(&dead));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot reach the API server"), "{}", r.stderr);
}

#[test]
fn dropped_connections_and_slow_answers_are_retried_then_reported() {
    let server = server(Faults {
        drop: vec![("/api/v1/pods".into(), 1)],
        slow: vec![("/apis/apps/v1/deployments".into(), Duration::from_secs(6), 1)],
        ..Faults::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(&server, ADMIN_TOKEN, dir.path());
    let args = ["scan", "--format", "json", "--plugin", "pod-security", "--request-timeout", "2s", "--retries", "2", "--kubeconfig"];
    let r = run(rampart().args(args).arg(&config));
    assert_eq!(r.code, 1, "recovered; stderr: {}", r.stderr);
    let whole = run(rampart().args(["scan", "--format", "json", "--plugin", "pod-security", "--manifests"]).arg(demo_cluster())).json();
    assert_eq!(verdicts(&r.json()), verdicts(&whole));
    // Tried again, within the budget of three attempts. Not exactly twice: on a
    // loaded machine a retry may itself outlast the 2 s timeout, and trying once
    // more is then the right thing to do.
    let pods = list_starts(&server, "/api/v1/pods");
    assert!((2..=3).contains(&pods), "the dropped request was tried again: {pods} starts");
    let deployments = list_starts(&server, "/apis/apps/v1/deployments");
    assert!((2..=3).contains(&deployments), "the slow one too: {deployments} starts");

    // Slow beyond the retries: the kind is an error, the rest is scanned.
    server.set_faults(Faults { slow: vec![("/apis/apps/v1/deployments".into(), Duration::from_secs(6), 10)], ..Faults::default() });
    let r = run(rampart().args(args).arg(&config));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("cannot list apps/v1/Deployment") && r.stderr.contains("after 3 attempts"), "{}", r.stderr);
    let report = r.json();
    let deployments: Vec<_> = report["findings"].as_array().unwrap().iter().filter(|f| f["object"]["kind"] == "Deployment").collect();
    assert!(deployments.is_empty(), "no Deployment was judged");
    assert!(
        findings(&report, "pod-security/privileged").iter().any(|f| f["status"] == "error"),
        "the check says it could not see everything"
    );
    assert!(findings(&report, "pod-security/privileged").iter().any(|f| f["status"] == "fail"), "the Pods were still judged");

    // Discovery of a group-version that keeps failing: its kinds are errors.
    server.set_faults(Faults { drop: vec![("/apis/batch/v1".into(), 10)], ..Faults::default() });
    let r = run(rampart().args(args).arg(&config));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("discovery of batch/v1 failed") && r.stderr.contains("after 3 attempts"), "{}", r.stderr);
    let report = r.json();
    assert!(report["findings"].as_array().unwrap().iter().all(|f| f["object"]["kind"] != "CronJob"), "no CronJob was judged");
}

#[test]
fn a_snapshot_of_everything_listable_holds_every_object_with_secrets_redacted() {
    let server = server(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(&server, ADMIN_TOKEN, dir.path());
    let out = dir.path().join("all.json");
    let r = run(rampart().args(["snapshot", "cluster", "-o"]).arg(&out).arg("--kubeconfig").arg(&config));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let snap: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(snap["kind"], "rampart.cluster-snapshot");
    assert_eq!(snap["kubernetes_version"], "v1.36.2");
    let listed: Vec<&str> = snap["listed"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
    for kind in ["ops.example.com/v1/BackupPolicy", "v1/Secret", "apps/v1/Deployment", "apiextensions.k8s.io/v1/CustomResourceDefinition"] {
        assert!(listed.contains(&kind), "{kind} discovered and listed: {listed:?}");
    }
    // Every object of the 27 recorded lists (295 in all).
    assert_eq!(snap["objects"].as_array().unwrap().len(), 295);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("<redacted>") && !text.contains("ZmFrZS1"), "Secret values stay out of snapshots");
}

/// How many requests reached the server's HTTP layer (a refused TLS
/// handshake never does).
fn answered(server: &TestServer) -> usize {
    server.seen().len()
}

#[test]
fn tls_verification_failures_are_named_not_retried_and_kube_logs_stay_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(Faults::default());
    let other = server_with_another_ca();
    let args = ["scan", "--plugin", "rbac", "--request-timeout", "5s", "--retries", "3", "--kubeconfig"];

    // Unknown issuer: the kubeconfig trusts another CA than the one that signed the server's certificate.
    let wrong_ca = dir.path().join("wrong-ca");
    std::fs::write(&wrong_ca, server.kubeconfig_trusting_another_ca(ADMIN_TOKEN).unwrap()).unwrap();
    let started = Instant::now();
    let r = run(rampart().args(args).arg(&wrong_ca));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("TLS verification of the API server's certificate failed: its issuer is unknown"), "{}", r.stderr);
    assert!(!r.stderr.contains("cannot reach") && !r.stderr.contains("attempts"), "not retried: {}", r.stderr);
    assert!(started.elapsed() < Duration::from_secs(3), "no back-off: {:?}", started.elapsed());
    // One line, Rampart's, without the kube client's ERROR log or colour codes.
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.starts_with("error: cluster ") && !r.stderr.contains('\u{1b}'), "{:?}", r.stderr);
    assert_eq!(answered(&server), 0);

    // A CA of the same name but another key: the signature does not verify.
    let text = other.kubeconfig(ADMIN_TOKEN).replace(&other.url(), &server.url());
    let same_name = dir.path().join("same-name-ca");
    std::fs::write(&same_name, text).unwrap();
    let r = run(rampart().args(args).arg(&same_name));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("its signature does not verify"), "{}", r.stderr);
    assert!(!r.stderr.contains("attempts"), "{}", r.stderr);

    // The host name the certificate does not hold.
    let text = server
        .kubeconfig(ADMIN_TOKEN)
        .replace("    certificate-authority-data", "    tls-server-name: api.wrong.example\n    certificate-authority-data");
    let wrong_name = dir.path().join("wrong-name");
    std::fs::write(&wrong_name, text).unwrap();
    let r = run(rampart().args(args).arg(&wrong_name));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("not valid for the host name the kubeconfig uses") && r.stderr.contains("\"api.wrong.example\""),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("attempts"), "{}", r.stderr);

    // An expired server certificate.
    let expired = self::server(Faults { expired_certificate: true, ..Faults::default() });
    let config = kubeconfig(&expired, ADMIN_TOKEN, dir.path());
    let r = run(rampart().args(args).arg(&config));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("TLS verification of the API server's certificate failed: it has expired"), "{}", r.stderr);
    assert!(!r.stderr.contains("attempts"), "{}", r.stderr);

    // -v shows the client's own detail as well.
    let r = run(rampart().args(["-v"]).args(args).arg(&wrong_ca));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.lines().count() > 1 && r.stderr.contains("issuer is unknown") && r.stderr.contains("kube"),
        "the client's own lines too: {}",
        r.stderr
    );
}

/// A second test server: its own CA, so its kubeconfig trusts a CA the first does not use.
fn server_with_another_ca() -> TestServer {
    server(Faults::default())
}

#[test]
fn an_unknown_context_is_named_with_the_contexts_there_are() {
    let server = server(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(&server, ADMIN_TOKEN, dir.path());
    let r = run(rampart().args(["scan", "--plugin", "rbac", "--context", "nosuch", "--kubeconfig"]).arg(&config));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("context \"nosuch\" does not exist in this kubeconfig (it has: test)"), "{}", r.stderr);
    assert_eq!(answered(&server), 0, "nothing was asked of the server");
}

/// A stored report's results as (check, subject, result), sorted.
fn published_results(server: &TestServer) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = server
        .policy_reports()
        .iter()
        .filter(|o| o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "rampart")
        .flat_map(|o| o["results"].as_array().cloned().unwrap_or_default())
        .map(|r| {
            let subject = match r["resources"].get(0) {
                Some(s) => {
                    format!("{}/{}/{}", s["kind"].as_str().unwrap(), s["namespace"].as_str().unwrap_or(""), s["name"].as_str().unwrap())
                }
                None => String::new(),
            };
            (
                format!("{}/{}", r["policy"].as_str().unwrap(), r["rule"].as_str().unwrap()),
                subject,
                r["result"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn published_policy_reports_hold_every_finding_and_replace_the_last_scans() {
    let server = server(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(&server, ADMIN_TOKEN, dir.path());
    let scan = |extra: &[&str]| {
        run(rampart()
            .args(["scan", "--profile", "cis-k8s-1.12", "--format", "json", "--passes", "full", "--publish-reports", "--kubeconfig"])
            .arg(&config)
            .args(extra))
    };

    // No CRDs: an error naming what is missing; the scan's report is still written.
    let r = scan(&[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("does not serve policyreports and clusterpolicyreports in wgpolicyk8s.io/v1alpha2"), "{}", r.stderr);
    assert!(r.json()["errors"].as_array().unwrap().iter().any(|e| e.as_str().unwrap().starts_with("--publish-reports:")));
    assert!(server.policy_reports().is_empty());

    server.install_policy_report_crds();
    let report = |name: &str, namespace: Option<&str>, labels: Value| {
        let mut o = serde_json::json!({"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": if namespace.is_some() { "PolicyReport" } else { "ClusterPolicyReport" },
            "metadata": {"name": name, "labels": labels}, "summary": {"pass": 1}, "results": []});
        if let Some(ns) = namespace {
            o["metadata"]["namespace"] = ns.into();
        }
        o
    };
    // An earlier scan's report for a namespace since deleted, another
    // tool's report, and a report of a node this scan does not cover.
    server.put_policy_report(report(
        "rampart",
        Some("gone"),
        serde_json::json!({"app.kubernetes.io/managed-by": "rampart", "rampart.dev/target": "cluster"}),
    ));
    server.put_policy_report(report("kyverno-polr", Some("dev"), serde_json::json!({"app.kubernetes.io/managed-by": "kyverno"})));
    let mut other_node = report(
        "rampart-node-elsewhere",
        None,
        serde_json::json!({"app.kubernetes.io/managed-by": "rampart", "rampart.dev/target": "node"}),
    );
    other_node["scope"] = serde_json::json!({"apiVersion": "v1", "kind": "Node", "name": "elsewhere"});
    server.put_policy_report(other_node);

    let r = scan(&[]);
    assert_eq!(r.code, 1, "the cluster has violations: {}", r.stderr);
    assert!(r.stderr.contains("removed 1 stale ones"), "{}", r.stderr);
    let json = r.json();
    assert!(json["errors"].as_array().unwrap().is_empty(), "{}", json["errors"]);

    // Every write a server-side apply by field manager rampart.
    let patches: Vec<_> = server.seen().into_iter().filter(|s| s.method == "PATCH").collect();
    assert!(!patches.is_empty());
    assert!(patches.iter().all(|s| s.query.contains("fieldManager=rampart") && s.query.contains("force=true")), "{patches:?}");
    assert!(patches.iter().all(|s| s.status == 201), "all created: {patches:?}");

    // One result per finding, with its status.
    let word = |s: &str| match s {
        "not-applicable" | "waived" => "skip".to_string(),
        other => other.to_string(),
    };
    let mut expected: Vec<(String, String, String)> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let subject = match f.get("object") {
                Some(o) => {
                    format!("{}/{}/{}", o["kind"].as_str().unwrap(), o["namespace"].as_str().unwrap_or(""), o["name"].as_str().unwrap())
                }
                None => String::new(),
            };
            (f["check"].as_str().unwrap().to_string(), subject, word(f["status"].as_str().unwrap()))
        })
        .collect();
    expected.sort();
    assert!(expected.len() > 100);
    assert_eq!(published_results(&server), expected);
    let stored = server.policy_reports();
    let names: Vec<String> = stored
        .iter()
        .map(|o| {
            format!(
                "{} {}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["namespace"].as_str().unwrap_or(""),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert!(!names.contains(&"PolicyReport gone/rampart".to_string()), "the stale report was deleted: {names:?}");
    assert!(names.contains(&"PolicyReport dev/kyverno-polr".to_string()), "another tool's report stays");
    assert!(names.contains(&"ClusterPolicyReport /rampart-node-elsewhere".to_string()), "another node's report stays");
    assert!(names.contains(&"ClusterPolicyReport /rampart-cluster".to_string()), "{names:?}");
    // A deliberate violation: jane's cluster-admin binding fails, where a dashboard shows it.
    let cluster = stored.iter().find(|o| o["metadata"]["name"] == "rampart-cluster").unwrap();
    assert!(cluster["results"].as_array().unwrap().iter().any(|r| r["result"] == "fail"
        && r["resources"][0]["name"] == "jane-cluster-admin"
        && r["category"].as_str().unwrap_or_default().contains("CIS 5.1.1")));
    for o in &stored {
        let results = o["results"].as_array().unwrap();
        let count = |w: &str| results.iter().filter(|r| r["result"] == w).count() as u64;
        if o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "rampart" && !results.is_empty() {
            for w in ["pass", "fail", "warn", "error", "skip"] {
                assert_eq!(o["summary"][w].as_u64().unwrap(), count(w), "{} summary.{w}", o["metadata"]["name"]);
            }
        }
    }

    // Again: the same objects, replaced in place.
    let before = server.seen().len();
    let r = scan(&[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let again: Vec<_> = server.seen()[before..].iter().filter(|s| s.method == "PATCH").cloned().collect();
    assert_eq!(again.len(), patches.len());
    assert!(again.iter().all(|s| s.status == 200), "updated, not created: {again:?}");
    assert_eq!(published_results(&server), expected);

    // OpenReports, on request.
    let r = scan(&["--report-api", "openreports.io/v1alpha1"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(server.policy_reports().iter().any(|o| o["kind"] == "ClusterReport" && o["source"] == "rampart"));

    // Publishing needs a cluster to write to.
    let r = run(rampart().args(["scan", "--publish-reports", "--manifests"]).arg(demo_cluster()));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--publish-reports writes to the cluster scanned"), "{}", r.stderr);
}
