"""image-policy in Python: every container image comes from an allowed
registry and is pinned by digest or by a tag other than latest.

The same control as the Rust twin (../rust/src/lib.rs), finding for
finding and message for message; `rampart plugin test` checks both
against ../cases. Built with componentize-py (docs/plugins/python.md).
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import cluster, report, types

ALLOWED = "allowed-registry"
PINNED = "pinned"
REGISTRIES = "allowed-registry.registries"

# Every kind with a pod spec, and where the spec is.
KINDS = [
    ("v1", "Pod", "spec"),
    ("apps/v1", "Deployment", "spec.template.spec"),
    ("apps/v1", "StatefulSet", "spec.template.spec"),
    ("apps/v1", "DaemonSet", "spec.template.spec"),
    ("apps/v1", "ReplicaSet", "spec.template.spec"),
    ("batch/v1", "Job", "spec.template.spec"),
    ("batch/v1", "CronJob", "spec.jobTemplate.spec.template.spec"),
    ("v1", "ReplicationController", "spec.template.spec"),
]
LISTS = ["containers", "initContainers", "ephemeralContainers"]

LOWER = set("abcdefghijklmnopqrstuvwxyz0123456789")
ALNUM = LOWER | set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
HEX = set("0123456789abcdefABCDEF")


def valid_component(s):
    """Lowercase letters and digits joined by `.`, `_`, `__` or runs of `-`."""
    if not s or s[0] not in LOWER or s[-1] not in LOWER:
        return False
    i = 0
    while i < len(s):
        if s[i] in LOWER:
            i += 1
            continue
        start = i
        while i < len(s) and s[i] not in LOWER:
            i += 1
        sep = s[start:i]
        if not (sep in (".", "_", "__") or set(sep) == {"-"}):
            return False
    return True


def valid_domain(d):
    """DNS labels joined by `.`, or an IPv6 address in brackets; then `:port`."""
    port = None
    if d.startswith("["):
        end = d.find("]")
        if end < 0:
            return False
        inner = d[1:end]
        if not inner or not all(c in HEX or c in ":." for c in inner):
            return False
        rest = d[end + 1:]
        if not rest:
            return True
        if not rest.startswith(":"):
            return False
        host, port = "x", rest[1:]
    elif ":" in d:
        host, port = d.split(":", 1)
    else:
        host = d
    if port is not None and (not port or not all(c in "0123456789" for c in port)):
        return False
    for label in host.split("."):
        if not label or label[0] not in ALNUM or label[-1] not in ALNUM:
            return False
        if not all(c in ALNUM or c == "-" for c in label):
            return False
    return True


def valid_tag(t):
    if not t or not (t[0] in ALNUM or t[0] == "_"):
        return False
    return len(t.encode()) <= 128 and all(c in ALNUM or c in "_.-" for c in t)


def valid_digest(d):
    if ":" not in d:
        return False
    alg, hexpart = d.split(":", 1)
    alg_ok = bool(alg) and all(c in LOWER or c in "+._-" for c in alg) and alg[0] in LOWER and alg[-1] in LOWER
    hex_ok = len(hexpart) >= 32 and all(c in HEX for c in hexpart)
    return alg_ok and hex_ok and (alg != "sha256" or len(hexpart) == 64)


class BadReference(Exception):
    pass


def parse(image):
    """(domain, path, tag, digest) as the container runtimes read a reference."""
    if not image:
        raise BadReference("empty reference")
    digest = None
    name_tag = image
    if "@" in image:
        name_tag, digest = image.split("@", 1)
        if not valid_digest(digest):
            raise BadReference("bad digest")
    # A tag is after the last `:` that follows the last `/` (a port is not a tag).
    last_slash = name_tag.rfind("/") + 1
    tag = None
    name = name_tag
    colon = name_tag[last_slash:].rfind(":")
    if colon >= 0:
        tag = name_tag[last_slash + colon + 1:]
        if not valid_tag(tag):
            raise BadReference("bad tag")
        name = name_tag[:last_slash + colon]
    if len(name.encode()) > 255:
        raise BadReference("name longer than 255 characters")
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost" or ascii_lower(first) != first):
        if not valid_domain(first):
            raise BadReference("bad registry host")
        domain, path = ascii_lower(first), rest
    else:
        domain, path = "docker.io", name
    if domain == "index.docker.io":
        domain = "docker.io"
    if not all(valid_component(c) for c in path.split("/")):
        raise BadReference("bad repository name")
    if domain == "docker.io" and "/" not in path:
        path = "library/" + path
    return domain, path, tag, digest


def ascii_lower(s):
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in s)


def normalize_entry(entry):
    entry = entry.strip().rstrip("/")
    host, slash, rest = entry.partition("/")
    host = ascii_lower(host)
    if host == "index.docker.io":
        host = "docker.io"
    return host + (slash + rest if slash else "")


def allowed_by(domain, path, entries):
    full = domain + "/" + path
    for e in entries:
        n = normalize_entry(e)
        if full == n or full.startswith(n + "/"):
            return e
    return None


def reason(e):
    words = {
        types.AccessError_Denied: "denied",
        types.AccessError_NotFound: "not found",
        types.AccessError_Unavailable: "unavailable",
        types.AccessError_Invalid: "invalid request",
    }
    return "%s: %s" % (words.get(type(e), "error"), e.value)


def finding(check, status, message, ref=None, evidence=()):
    return types.Finding(check=check, status=status, message=message, object=ref, path=None, evidence=list(evidence))


def at(value, path):
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def judge_object(ref, text, spec_path, allowed, out):
    """Judges every container of one object; returns how many it judged."""

    def both(message):
        out.append(finding(PINNED, types.Status.ERROR, message, ref))
        if allowed is not None:
            out.append(finding(ALLOWED, types.Status.ERROR, message, ref))

    try:
        obj = json.loads(text)
    except ValueError:
        both("the object is not valid JSON")
        return 1
    spec = at(obj, spec_path)
    if not isinstance(spec, dict):
        both("no pod spec at " + spec_path)
        return 1
    judged = 0
    for lst in LISTS:
        field = spec_path + "." + lst
        items = spec.get(lst)
        if items is None:
            continue
        if not isinstance(items, list):
            both(field + " is not a list")
            judged += 1
            continue
        for i, c in enumerate(items):
            judged += 1
            cfield = "%s[%d]" % (field, i)
            if not isinstance(c, dict):
                both(cfield + " is not an object")
                continue
            name = c.get("name") if isinstance(c.get("name"), str) else "<unnamed>"
            image = c.get("image")
            if image is not None and not isinstance(image, str):
                both("container %s: %s.image is not a string" % (name, cfield))
                continue

            def found(status, check, message):
                evidence = [("container", name), ("field", cfield)]
                if image is not None:
                    evidence.append(("image", image))
                return finding(check, status, "container %s: %s" % (name, message), ref, evidence)

            if image is None:
                out.append(found(types.Status.ERROR, PINNED, "no image is set"))
                if allowed is not None:
                    out.append(found(types.Status.ERROR, ALLOWED, "no image is set"))
                continue
            try:
                domain, path, tag, digest = parse(image)
            except BadReference as why:
                message = "%s is not a valid image reference (%s)" % (image, why)
                out.append(found(types.Status.ERROR, PINNED, message))
                if allowed is not None:
                    out.append(found(types.Status.ERROR, ALLOWED, message))
                continue
            if digest is not None:
                out.append(found(types.Status.PASS, PINNED, image + " is pinned by digest"))
            elif tag == "latest":
                out.append(found(types.Status.FAIL, PINNED, image + " uses the latest tag, which moves"))
            elif tag is not None:
                out.append(found(types.Status.PASS, PINNED, "%s is pinned to tag %s" % (image, tag)))
            else:
                out.append(found(types.Status.FAIL, PINNED, image + " has no tag or digest, so it runs latest"))
            if allowed is not None:
                registry = domain + "/" + path
                entry = allowed_by(domain, path, allowed)
                if entry is not None:
                    out.append(found(types.Status.PASS, ALLOWED, "%s (%s) is allowed by %s" % (image, registry, entry)))
                else:
                    out.append(found(types.Status.FAIL, ALLOWED, "%s (%s) is not from an allowed registry" % (image, registry)))
    return judged


def setting_list(settings, key):
    """A comma-separated list setting, trimmed, empty items dropped; the last value given wins."""
    value = None
    for k, v in settings:
        if k == key:
            value = v
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def evaluate(settings, list_objects):
    """All findings of one run; `list_objects` is the host's listing call."""
    out = []
    allowed = setting_list(settings, REGISTRIES) or None
    if allowed is None:
        out.append(finding(ALLOWED, types.Status.ERROR, "no allowed registries are set: give the setting " + REGISTRIES))
    containers = 0
    list_failed = False
    for api_version, kind, spec_path in KINDS:
        try:
            objects = list_objects(api_version, kind, None)
        except Err as e:
            list_failed = True
            message = "cannot list %s/%s: %s" % (api_version, kind, reason(e.value))
            out.append(finding(PINNED, types.Status.ERROR, message))
            if allowed is not None:
                out.append(finding(ALLOWED, types.Status.ERROR, message))
            continue
        for o in objects:
            containers += judge_object(o.ref, o.json, spec_path, allowed, out)
    if containers == 0 and not list_failed:
        out.append(finding(PINNED, types.Status.NOT_APPLICABLE, "no containers in the cluster"))
        if allowed is not None:
            out.append(finding(ALLOWED, types.Status.NOT_APPLICABLE, "no containers in the cluster"))
    return out


def check(id, title, description, remediation, severity):
    return types.CheckInfo(id=id, title=title, description=description, remediation=remediation, severity=severity, tags=[])


class WitWorld(wit_world.WitWorld):
    def describe(self):
        checks = [
            check(
                ALLOWED,
                "Container images come from allowed registries",
                "Every container, init container and ephemeral container of Pods and of the pod templates of workloads pulls its image from a registry (or repository prefix) in allowed-registry.registries. An image without a registry is Docker Hub's (docker.io).",
                "Mirror the image into an allowed registry and reference it there, or add the registry to allowed-registry.registries.",
                types.Severity.HIGH,
            ),
            check(
                PINNED,
                "Container images are pinned by digest or by a tag other than latest",
                "An image without a tag is :latest; :latest and no tag both mean whatever was pushed last.",
                "Reference images by digest (name@sha256:...) or by a release tag.",
                types.Severity.MEDIUM,
            ),
        ]
        capabilities = [types.Capability_ClusterList(types.KindRef(api_version=v, kind=k)) for v, k, _ in KINDS]
        settings = [
            types.SettingInfo(
                name=REGISTRIES,
                kind=types.SettingKind.LIST,
                description="registries or repository prefixes images may come from (ghcr.io, registry.local:5000, docker.io/library)",
            )
        ]
        return types.PluginInfo(name="image-policy", version="0.1.0", checks=checks, capabilities=capabilities, settings=settings)

    def evaluate(self, settings):
        try:
            findings = evaluate(settings, cluster.list_objects)
        except Exception as e:  # a bug here is an error verdict, named, not a trap
            raise Err("image-policy (python): %s: %s" % (type(e).__name__, e))
        report.emit_batch(findings)
