#!/usr/bin/env python3
"""Writes the side-by-side corpus: 1,000 manifest files holding about 2,000
workloads of every pod-template kind, with pod-security settings drawn at
random (seeded, so every run writes the same bytes), and truth.json: what
each workload sets, per shared check category.

    bench/corpus.py OUT_DIR [FILES] [SEED]
"""
import json
import random
import sys
from pathlib import Path

KINDS = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"]
API = {"Pod": "v1", "ReplicationController": "v1", "Job": "batch/v1", "CronJob": "batch/v1"}
IMAGES = ["registry.example/app:1.4.2", "registry.example/worker:2.0.1", "nginx:1.27.3", "busybox:1.37.0"]
CAPS = ["SYS_ADMIN", "NET_RAW", "NET_ADMIN", "SYS_PTRACE", "ALL", "NET_BIND_SERVICE", "CHOWN"]


def container(rng, name, truth):
    c = {"name": name, "image": rng.choice(IMAGES),
         "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}}
    sc = {}
    if rng.random() < 0.08:
        sc["privileged"] = True
        truth["privileged"] = True
    r = rng.random()
    if r < 0.10:
        sc["allowPrivilegeEscalation"] = True
        truth["escalation"] = "true"
    elif r < 0.60:
        sc["allowPrivilegeEscalation"] = False
    else:
        truth.setdefault("escalation", "unset")
    r = rng.random()
    if r < 0.05:
        sc["runAsUser"] = 0
        truth["root"] = "container runAsUser 0"
    elif r < 0.10:
        sc["runAsNonRoot"] = False
        truth.setdefault("root", "container runAsNonRoot false")
    elif r < 0.25:
        sc["runAsNonRoot"] = True
        sc["runAsUser"] = 10001
        truth.setdefault("container_nonroot", True)
    caps = {}
    r = rng.random()
    if r < 0.15:
        added = rng.sample(CAPS, rng.choice([1, 1, 2]))
        caps["add"] = added
        truth.setdefault("caps_added", []).extend(added)
    if rng.random() < 0.55:
        caps["drop"] = ["ALL"]
    else:
        truth["no_drop_all"] = True
    if caps:
        sc["capabilities"] = caps
    if rng.random() < 0.06:
        port = rng.choice([80, 443, 8080, 9100])
        c["ports"] = [{"containerPort": port, "hostPort": port}]
        truth["hostPort"] = True
    elif rng.random() < 0.5:
        c["ports"] = [{"containerPort": 8080}]
    if sc:
        c["securityContext"] = sc
    return c


def pod_spec(rng, name, truth):
    spec = {}
    for field in ("hostPID", "hostIPC", "hostNetwork"):
        if rng.random() < 0.05:
            spec[field] = True
            truth.setdefault("host_namespaces", []).append(field)
    psc = {}
    r = rng.random()
    if r < 0.40:
        psc = {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001}
        truth["pod_nonroot"] = True
    elif r < 0.48:
        psc = {"runAsUser": 0}
        truth["root"] = "pod runAsUser 0"
    if rng.random() < 0.5:
        psc["seccompProfile"] = {"type": "RuntimeDefault"}
    if psc:
        spec["securityContext"] = psc
    spec["containers"] = [container(rng, "app", truth)]
    if rng.random() < 0.3:
        spec["containers"].append(container(rng, "sidecar", truth))
    if rng.random() < 0.2:
        spec["initContainers"] = [container(rng, "init", truth)]
    if rng.random() < 0.07:
        path = rng.choice(["/var/run/docker.sock", "/var/log", "/etc", "/"])
        spec["volumes"] = [{"name": "host", "hostPath": {"path": path}}]
        spec["containers"][0]["volumeMounts"] = [{"name": "host", "mountPath": "/host", "readOnly": True}]
        truth["hostPath"] = path
    if rng.random() < 0.5:
        spec["automountServiceAccountToken"] = False
    # Who runs as root, all told: any container that does not end up non-root.
    return spec


def workload(rng, kind, name, ns, truth):
    labels = {"app": name}
    spec = pod_spec(rng, name, truth)
    if kind == "Job":
        spec["restartPolicy"] = "Never"
    if kind == "CronJob":
        spec["restartPolicy"] = "OnFailure"
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
    return obj


def to_yaml(value, indent=0):
    """A small YAML writer (block style), enough for these objects."""
    pad = "  " * indent
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{k}:")
                out.append(to_yaml(v, indent + 1))
            else:
                out.append(f"{pad}{k}: {scalar(v)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                body = to_yaml(item, indent + 1).split("\n")
                out.append(f"{pad}- {body[0].strip()}")
                out.extend(body[1:])
            else:
                out.append(f"{pad}- {scalar(item)}")
    return "\n".join(out)


def scalar(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
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
    truth = []
    n = 0
    for f in range(files):
        docs = []
        count = rng.choice([1, 2, 2, 3])
        for _ in range(count):
            kind = KINDS[n % len(KINDS)]
            name = f"w{n:04d}-{kind.lower()}"
            ns = f"team-{n % 40:02d}"
            t = {"file": f"m{f:04d}.yaml", "kind": kind, "namespace": ns, "name": name}
            docs.append(workload(rng, kind, name, ns, t))
            truth.append(t)
            n += 1
        if count > 1 and f % 10 == 0:
            text = to_yaml({"apiVersion": "v1", "kind": "List", "items": docs}) + "\n"
        else:
            text = "---\n".join(to_yaml(d) + "\n" for d in docs)
        (out / f"m{f:04d}.yaml").write_text(text)
    (out.parent / (out.name + "-truth.json")).write_text(json.dumps(truth, indent=1))
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"{files} files, {n} workloads, {size} bytes in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
