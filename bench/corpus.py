#!/usr/bin/env python3
"""Writes the side-by-side corpus: manifest files holding workloads of every
pod-template kind with pod-security settings drawn at random from a fixed
seed (the same arguments write the same bytes), and OUT_DIR-truth.json: for
each workload, where it is (file, document, lines), what it sets, and which
of the shared categories it violates. Python standard library only.

    bench/corpus.py OUT_DIR [FILES] [SEED]      # defaults: 1000 files, seed 20261126

The truth is the plain reading of the manifest, per category:

  privileged            a container (init containers included) sets privileged: true
  host namespaces       the pod sets hostPID, hostIPC or hostNetwork
  privilege escalation  a container does not set allowPrivilegeEscalation: false
                        (Pod Security Standards restricted)
  root                  a container may run as UID 0: its UID (container, else pod)
                        is 0, or it has no UID and runAsNonRoot (container, else pod)
                        is not true
  added capabilities    a container adds any capability
  NET_RAW               a container keeps NET_RAW: it drops neither ALL nor NET_RAW,
                        or adds NET_RAW back (CRI runtimes apply the adds after drop ALL)
  hostPath              the pod has a hostPath volume
  hostPort              a container port sets hostPort
"""
import json
import random
import sys
from pathlib import Path

KINDS = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"]
API = {"Pod": "v1", "ReplicationController": "v1", "Job": "batch/v1", "CronJob": "batch/v1"}
IMAGES = ["registry.example/app:1.4.2", "registry.example/worker:2.0.1", "nginx:1.27.3", "busybox:1.37.0"]
# Risky and harmless capabilities; a few written the other ways the kubelet accepts.
CAPS = ["SYS_ADMIN", "NET_RAW", "NET_ADMIN", "ALL", "SYS_PTRACE", "SYS_MODULE", "NET_BIND_SERVICE", "CHOWN"]
HOST_PATHS = ["/var/run/docker.sock", "/var/log", "/etc", "/", "/var/lib/kubelet", "/run/containerd/containerd.sock"]
CATEGORIES = ["privileged", "host namespaces", "privilege escalation", "root", "added capabilities", "NET_RAW", "hostPath", "hostPort"]


def pick(rng, table):
    """table: [(probability, value)...]; the rest of the mass is None."""
    r = rng.random()
    for p, v in table:
        if r < p:
            return v
        r -= p
    return None


def container(rng, name, section, clean):
    """A container and the facts about it that the categories rest on."""
    c = {"name": name, "image": rng.choice(IMAGES),
         "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}}
    f = {"section": section, "name": name, "privileged": False, "ape": None, "runAsUser": None, "runAsNonRoot": None,
         "add": [], "drop": [], "hostPort": None}
    sc = {}
    if clean:
        sc = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
        f.update(ape=False, drop=["ALL"])
        if rng.random() < 0.2:
            sc["capabilities"]["add"] = ["NET_BIND_SERVICE"]
            f["add"] = ["NET_BIND_SERVICE"]
    else:
        if rng.random() < 0.08:
            sc["privileged"] = True
            f["privileged"] = True
        f["ape"] = pick(rng, [(0.12, True), (0.50, False)])  # else unset
        if f["ape"] is not None:
            sc["allowPrivilegeEscalation"] = f["ape"]
        who = pick(rng, [(0.05, "uid0"), (0.05, "nonroot-false"), (0.04, "nonroot-false-uid"), (0.15, "nonroot"), (0.04, "nonroot-only"),
                         (0.05, "uid-only")])
        if who == "uid0":
            sc["runAsUser"] = 0
        elif who == "nonroot-false":
            sc["runAsNonRoot"] = False
        elif who == "nonroot-false-uid":
            sc["runAsNonRoot"] = False
            sc["runAsUser"] = 2000
        elif who == "nonroot":
            sc["runAsNonRoot"] = True
            sc["runAsUser"] = 10001
        elif who == "nonroot-only":
            sc["runAsNonRoot"] = True
        elif who == "uid-only":
            sc["runAsUser"] = 1000
        f["runAsUser"], f["runAsNonRoot"] = sc.get("runAsUser"), sc.get("runAsNonRoot")
        caps = {}
        if rng.random() < 0.18:
            added = rng.sample(CAPS, rng.choice([1, 1, 2]))
            if rng.random() < 0.1:  # the CAP_ prefix, which the CRI runtimes accept
                added = ["CAP_" + a if a != "ALL" else a for a in added]
            caps["add"] = added
        drop = pick(rng, [(0.55, ["ALL"]), (0.05, ["NET_RAW"]), (0.03, ["all"])])
        if drop:
            caps["drop"] = drop
        if caps:
            sc["capabilities"] = caps
        f["add"], f["drop"] = caps.get("add", []), caps.get("drop", [])
        if rng.random() < 0.06:
            port = rng.choice([80, 443, 8080, 9100])
            c["ports"] = [{"containerPort": port, "hostPort": port}]
            f["hostPort"] = port
    if "ports" not in c and rng.random() < 0.5:
        c["ports"] = [{"containerPort": 8080}]
    if sc:
        c["securityContext"] = sc
    return c, f


def pod_spec(rng, clean):
    spec, pod = {}, {"hostPID": False, "hostIPC": False, "hostNetwork": False, "runAsUser": None, "runAsNonRoot": None, "hostPath": []}
    if not clean:
        for field in ("hostPID", "hostIPC", "hostNetwork"):
            if rng.random() < 0.05:
                spec[field] = True
                pod[field] = True
    psc = {}
    level = "nonroot" if clean else pick(rng, [(0.32, "nonroot"), (0.08, "nonroot-only"), (0.07, "uid0"), (0.04, "nonroot-false"),
                                                 (0.04, "uid-only")])
    if level == "nonroot":
        psc = {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001}
    elif level == "nonroot-only":  # the image's USER is trusted to be non-root
        psc = {"runAsNonRoot": True}
    elif level == "uid0":
        psc = {"runAsUser": 0}
    elif level == "nonroot-false":
        psc = {"runAsNonRoot": False}
    elif level == "uid-only":
        psc = {"runAsUser": 1000}
    pod["runAsUser"], pod["runAsNonRoot"] = psc.get("runAsUser"), psc.get("runAsNonRoot")
    if clean or rng.random() < 0.5:
        psc["seccompProfile"] = {"type": "RuntimeDefault"}
    if psc:
        spec["securityContext"] = psc
    facts = []
    spec["containers"] = []
    for name, section, p in (("app", "containers", 1.0), ("sidecar", "containers", 0.3), ("init", "initContainers", 0.2)):
        if rng.random() < p:
            c, f = container(rng, name, section, clean)
            spec.setdefault(section, []).append(c)
            facts.append(f)
    if not clean and rng.random() < 0.08:
        path = rng.choice(HOST_PATHS)
        spec["volumes"] = [{"name": "host", "hostPath": {"path": path}}]
        spec["containers"][0]["volumeMounts"] = [{"name": "host", "mountPath": "/host", "readOnly": True}]
        pod["hostPath"] = [path]
    spec["automountServiceAccountToken"] = False
    return spec, pod, facts


def cap(name):
    return name.upper().removeprefix("CAP_")


def keeps(f, name):
    add, drop = [cap(x) for x in f["add"]], [cap(x) for x in f["drop"]]
    return name not in drop and (name in add or "ALL" not in drop)


def violations(pod, facts):
    """The categories this workload violates, read plainly (see the module doc)."""
    out = set()
    for f in facts:
        if f["privileged"]:
            out.add("privileged")
        if f["ape"] is not False:
            out.add("privilege escalation")
        uid = f["runAsUser"] if f["runAsUser"] is not None else pod["runAsUser"]
        nonroot = f["runAsNonRoot"] if f["runAsNonRoot"] is not None else pod["runAsNonRoot"]
        if uid == 0 or (uid is None and nonroot is not True):
            out.add("root")
        if f["add"]:
            out.add("added capabilities")
        if keeps(f, "NET_RAW"):
            out.add("NET_RAW")
        if f["hostPort"]:
            out.add("hostPort")
    if pod["hostPID"] or pod["hostIPC"] or pod["hostNetwork"]:
        out.add("host namespaces")
    if pod["hostPath"]:
        out.add("hostPath")
    return sorted(out, key=CATEGORIES.index)


def workload(rng, kind, name, ns, clean):
    labels = {"app": name}
    spec, pod, facts = pod_spec(rng, clean)
    if kind in ("Job", "CronJob"):
        spec["restartPolicy"] = "Never" if kind == "Job" else "OnFailure"
    template = {"metadata": {"labels": labels}, "spec": spec}
    obj = {"apiVersion": API.get(kind, "apps/v1"), "kind": kind, "metadata": {"name": name, "namespace": ns, "labels": labels}}
    if kind == "Pod":
        obj["spec"] = spec
    elif kind == "CronJob":
        obj["spec"] = {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}}
    elif kind == "Job":
        obj["spec"] = {"template": template, "backoffLimit": 2}
    elif kind == "ReplicationController":
        obj["spec"] = {"replicas": 2, "selector": labels, "template": template}
    else:
        obj["spec"] = {"selector": {"matchLabels": labels}, "template": template}
        if kind != "DaemonSet":
            obj["spec"]["replicas"] = 2
        if kind == "StatefulSet":
            obj["spec"]["serviceName"] = name
    return obj, pod, facts


def service(name, ns):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name + "-svc", "namespace": ns},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}}


def to_yaml(value, indent=0):
    """Block-style YAML for these objects: lines of text."""
    pad = "  " * indent
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{k}:")
                out.extend(to_yaml(v, indent + 1))
            else:
                out.append(f"{pad}{k}: {scalar(v)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                body = to_yaml(item, indent + 1)
                out.append(f"{pad}- {body[0].lstrip()}")
                out.extend(body[1:])
            else:
                out.append(f"{pad}- {scalar(item)}")
    return out


def scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if v == {}:
        return "{}"
    if v == []:
        return "[]"
    return json.dumps(v)


def main():
    out = Path(sys.argv[1])
    files = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 20261126)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.yaml"):
        old.unlink()
    truth, n, size = [], 0, 0
    for fi in range(files):
        fname = f"m{fi:04d}.yaml"
        count = rng.choice([1, 2, 2, 3])
        objs = []
        for _ in range(count):
            kind = KINDS[n % len(KINDS)]
            name, ns = f"w{n:04d}-{kind.lower()}", f"team-{n % 40:02d}"
            clean = rng.random() < 0.15
            obj, pod, facts = workload(rng, kind, name, ns, clean)
            objs.append(obj)
            truth.append({"file": fname, "kind": kind, "namespace": ns, "name": name, "clean": clean,
                          "pod": pod, "containers": facts, "violates": violations(pod, facts)})
            n += 1
        rows = truth[-count:]
        lines = []
        # One file in ten with several workloads is a List: half written the
        # way kubectl writes one (with metadata), half without.
        if count > 1 and fi % 10 == 0:
            style = "List+metadata" if fi % 20 == 0 else "List"
            head = {"apiVersion": "v1", "kind": "List"}
            if style == "List+metadata":
                head["metadata"] = {"resourceVersion": ""}
            lines = to_yaml(head) + ["items:"]
            for i, (obj, row) in enumerate(zip(objs, rows)):
                start = len(lines) + 1
                lines += to_yaml([obj], 0)
                row.update(layout=style, document=1, item=i, lines=[start, len(lines)])
        else:
            docs = list(objs)
            if fi % 7 == 3:  # a Service between the workloads, which no workload check should touch
                docs.insert(1, service(objs[0]["metadata"]["name"], objs[0]["metadata"]["namespace"]))
            wi = 0
            for d, obj in enumerate(docs):
                if d:
                    lines.append("---")
                start = len(lines) + 1
                lines += to_yaml(obj)
                if obj["kind"] != "Service":
                    rows[wi].update(layout="documents" if len(docs) > 1 else "single", document=d + 1, item=None, lines=[start, len(lines)])
                    wi += 1
        text = "\n".join(lines) + "\n"
        (out / fname).write_text(text)
        size += len(text.encode())
    (out.parent / (out.name + "-truth.json")).write_text(json.dumps(truth, indent=1) + "\n")
    print(f"{files} files, {n} workloads ({sum(t['clean'] for t in truth)} written clean), {size} bytes in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
