// image-policy in JavaScript: every container image comes from an allowed
// registry and is pinned by digest or by a tag other than latest.
//
// The same control as the Rust twin (../rust/src/lib.rs), finding for
// finding and message for message; `rampart plugin test` checks both against
// ../cases. Built with componentize-js (docs/plugins/js.md): WIT records are
// objects with camelCase fields, enums are strings, variants {tag, val},
// a `result` error is thrown (a host call's error arrives as e.payload).

import { listObjects } from 'rampart:plugin/cluster@0.2.1';
import { emitBatch } from 'rampart:plugin/report@0.2.1';

const ALLOWED = 'allowed-registry';
const PINNED = 'pinned';
const REGISTRIES = 'allowed-registry.registries';

// Every kind with a pod spec, and where the spec is.
const KINDS = [
  ['v1', 'Pod', 'spec'],
  ['apps/v1', 'Deployment', 'spec.template.spec'],
  ['apps/v1', 'StatefulSet', 'spec.template.spec'],
  ['apps/v1', 'DaemonSet', 'spec.template.spec'],
  ['apps/v1', 'ReplicaSet', 'spec.template.spec'],
  ['batch/v1', 'Job', 'spec.template.spec'],
  ['batch/v1', 'CronJob', 'spec.jobTemplate.spec.template.spec'],
  ['v1', 'ReplicationController', 'spec.template.spec'],
];
const LISTS = ['containers', 'initContainers', 'ephemeralContainers'];

const isLower = (c) => (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
const isAlnum = (c) => isLower(c) || (c >= 'A' && c <= 'Z');
const isHex = (c) => (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
const all = (s, f) => [...s].every(f);
const bytes = (s) => new TextEncoder().encode(s).length;
const asciiLower = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

// Lowercase letters and digits joined by `.`, `_`, `__` or runs of `-`.
function validComponent(s) {
  if (!s || !isLower(s[0]) || !isLower(s[s.length - 1])) return false;
  let i = 0;
  while (i < s.length) {
    if (isLower(s[i])) { i++; continue; }
    const start = i;
    while (i < s.length && !isLower(s[i])) i++;
    const sep = s.slice(start, i);
    if (!(sep === '.' || sep === '_' || sep === '__' || all(sep, (c) => c === '-'))) return false;
  }
  return true;
}

// DNS labels joined by `.`, or an IPv6 address in brackets; then `:port`.
function validDomain(d) {
  let host = d;
  let port = null;
  if (d.startsWith('[')) {
    const end = d.indexOf(']');
    if (end < 0) return false;
    const inner = d.slice(1, end);
    if (!inner || !all(inner, (c) => isHex(c) || c === ':' || c === '.')) return false;
    const rest = d.slice(end + 1);
    if (!rest) return true;
    if (!rest.startsWith(':')) return false;
    host = 'x';
    port = rest.slice(1);
  } else {
    const colon = d.indexOf(':');
    if (colon >= 0) {
      host = d.slice(0, colon);
      port = d.slice(colon + 1);
    }
  }
  if (port !== null && (!port || !all(port, (c) => c >= '0' && c <= '9'))) return false;
  return host.split('.').every((l) => l && isAlnum(l[0]) && isAlnum(l[l.length - 1]) && all(l, (c) => isAlnum(c) || c === '-'));
}

function validTag(t) {
  if (!t || !(isAlnum(t[0]) || t[0] === '_')) return false;
  return bytes(t) <= 128 && all(t, (c) => isAlnum(c) || c === '_' || c === '.' || c === '-');
}

function validDigest(d) {
  const colon = d.indexOf(':');
  if (colon < 0) return false;
  const alg = d.slice(0, colon);
  const hex = d.slice(colon + 1);
  const algOk = alg.length > 0 && all(alg, (c) => isLower(c) || '+._-'.includes(c)) && isLower(alg[0]) && isLower(alg[alg.length - 1]);
  const hexOk = hex.length >= 32 && all(hex, isHex);
  return algOk && hexOk && (alg !== 'sha256' || hex.length === 64);
}

class BadReference extends Error {}

// {domain, path, tag, digest} as the container runtimes read a reference.
function parse(image) {
  if (!image) throw new BadReference('empty reference');
  let nameTag = image;
  let digest = null;
  const at = image.indexOf('@');
  if (at >= 0) {
    nameTag = image.slice(0, at);
    digest = image.slice(at + 1);
    if (!validDigest(digest)) throw new BadReference('bad digest');
  }
  // A tag is after the last `:` that follows the last `/` (a port is not a tag).
  const lastSlash = nameTag.lastIndexOf('/') + 1;
  let name = nameTag;
  let tag = null;
  const colon = nameTag.slice(lastSlash).lastIndexOf(':');
  if (colon >= 0) {
    tag = nameTag.slice(lastSlash + colon + 1);
    if (!validTag(tag)) throw new BadReference('bad tag');
    name = nameTag.slice(0, lastSlash + colon);
  }
  if (bytes(name) > 255) throw new BadReference('name longer than 255 characters');
  let domain = 'docker.io';
  let path = name;
  const slash = name.indexOf('/');
  if (slash >= 0) {
    const first = name.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || asciiLower(first) !== first) {
      if (!validDomain(first)) throw new BadReference('bad registry host');
      domain = asciiLower(first);
      path = name.slice(slash + 1);
    }
  }
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (!path.split('/').every(validComponent)) throw new BadReference('bad repository name');
  if (domain === 'docker.io' && !path.includes('/')) path = 'library/' + path;
  return { domain, path, tag, digest };
}

// Whitespace as Rust's str::trim sees it, for the ASCII that settings hold.
const trim = (s) => s.replace(/^\s+|\s+$/g, '');

function normalizeEntry(entry) {
  entry = trim(entry).replace(/\/+$/, '');
  const slash = entry.indexOf('/');
  let host = asciiLower(slash >= 0 ? entry.slice(0, slash) : entry);
  if (host === 'index.docker.io') host = 'docker.io';
  return host + (slash >= 0 ? entry.slice(slash) : '');
}

function allowedBy(ref, entries) {
  const full = ref.domain + '/' + ref.path;
  return entries.find((e) => {
    const n = normalizeEntry(e);
    return full === n || full.startsWith(n + '/');
  });
}

const WORDS = { denied: 'denied', 'not-found': 'not found', unavailable: 'unavailable', invalid: 'invalid request' };
const reason = (e) => `${WORDS[e.tag] ?? 'error'}: ${e.val}`;

const finding = (check, status, message, object, evidence = []) => ({ check, status, message, object, path: undefined, evidence });

function walk(value, path) {
  for (const key of path.split('.')) {
    value = value !== null && typeof value === 'object' && !Array.isArray(value) ? value[key] : undefined;
  }
  return value;
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// Judges every container of one object; returns how many it judged.
function judgeObject(ref, text, specPath, allowed, out) {
  const both = (message) => {
    out.push(finding(PINNED, 'error', message, ref));
    if (allowed) out.push(finding(ALLOWED, 'error', message, ref));
  };
  let obj;
  try {
    obj = JSON.parse(text);
  } catch {
    both('the object is not valid JSON');
    return 1;
  }
  const spec = walk(obj, specPath);
  if (!isObject(spec)) {
    both(`no pod spec at ${specPath}`);
    return 1;
  }
  let judged = 0;
  for (const list of LISTS) {
    const field = `${specPath}.${list}`;
    const items = spec[list];
    if (items === undefined || items === null) continue;
    if (!Array.isArray(items)) {
      both(`${field} is not a list`);
      judged++;
      continue;
    }
    items.forEach((c, i) => {
      judged++;
      const cfield = `${field}[${i}]`;
      if (!isObject(c)) {
        both(`${cfield} is not an object`);
        return;
      }
      const name = typeof c.name === 'string' ? c.name : '<unnamed>';
      const image = c.image === undefined ? null : c.image;
      if (image !== null && typeof image !== 'string') {
        both(`container ${name}: ${cfield}.image is not a string`);
        return;
      }
      const found = (status, check, message) => {
        const evidence = [['container', name], ['field', cfield]];
        if (image !== null) evidence.push(['image', image]);
        return finding(check, status, `container ${name}: ${message}`, ref, evidence);
      };
      if (image === null) {
        out.push(found('error', PINNED, 'no image is set'));
        if (allowed) out.push(found('error', ALLOWED, 'no image is set'));
        return;
      }
      let r;
      try {
        r = parse(image);
      } catch (why) {
        if (!(why instanceof BadReference)) throw why;
        const message = `${image} is not a valid image reference (${why.message})`;
        out.push(found('error', PINNED, message));
        if (allowed) out.push(found('error', ALLOWED, message));
        return;
      }
      if (r.digest !== null) out.push(found('pass', PINNED, `${image} is pinned by digest`));
      else if (r.tag === 'latest') out.push(found('fail', PINNED, `${image} uses the latest tag, which moves`));
      else if (r.tag !== null) out.push(found('pass', PINNED, `${image} is pinned to tag ${r.tag}`));
      else out.push(found('fail', PINNED, `${image} has no tag or digest, so it runs latest`));
      if (allowed) {
        const registry = `${r.domain}/${r.path}`;
        const entry = allowedBy(r, allowed);
        out.push(entry !== undefined
          ? found('pass', ALLOWED, `${image} (${registry}) is allowed by ${entry}`)
          : found('fail', ALLOWED, `${image} (${registry}) is not from an allowed registry`));
      }
    });
  }
  return judged;
}

// A comma-separated list setting, trimmed, empty items dropped; the last value given wins.
function settingList(settings, key) {
  let value = null;
  for (const [k, v] of settings) if (k === key) value = v;
  if (value === null) return null;
  return value.split(',').map(trim).filter((s) => s.length > 0);
}

function run(settings) {
  const out = [];
  let allowed = settingList(settings, REGISTRIES);
  if (allowed !== null && allowed.length === 0) allowed = null;
  if (!allowed) out.push(finding(ALLOWED, 'error', `no allowed registries are set: give the setting ${REGISTRIES}`));
  let containers = 0;
  let listFailed = false;
  for (const [apiVersion, kind, specPath] of KINDS) {
    let objects;
    try {
      objects = listObjects(apiVersion, kind, undefined);
    } catch (e) {
      if (e.payload === undefined) throw e;
      listFailed = true;
      const message = `cannot list ${apiVersion}/${kind}: ${reason(e.payload)}`;
      out.push(finding(PINNED, 'error', message));
      if (allowed) out.push(finding(ALLOWED, 'error', message));
      continue;
    }
    for (const o of objects) containers += judgeObject(o.ref, o.json, specPath, allowed, out);
  }
  if (containers === 0 && !listFailed) {
    out.push(finding(PINNED, 'not-applicable', 'no containers in the cluster'));
    if (allowed) out.push(finding(ALLOWED, 'not-applicable', 'no containers in the cluster'));
  }
  return out;
}

const check = (id, title, description, remediation, severity) => ({ id, title, description, remediation, severity, tags: [] });

export function describe() {
  return {
    name: 'image-policy',
    version: '0.1.0',
    checks: [
      check(
        ALLOWED,
        'Container images come from allowed registries',
        "Every container, init container and ephemeral container of Pods and of the pod templates of workloads pulls its image from a registry (or repository prefix) in allowed-registry.registries. An image without a registry is Docker Hub's (docker.io).",
        'Mirror the image into an allowed registry and reference it there, or add the registry to allowed-registry.registries.',
        'high',
      ),
      check(
        PINNED,
        'Container images are pinned by digest or by a tag other than latest',
        'An image without a tag is :latest; :latest and no tag both mean whatever was pushed last.',
        'Reference images by digest (name@sha256:...) or by a release tag.',
        'medium',
      ),
    ],
    capabilities: KINDS.map(([apiVersion, kind]) => ({ tag: 'cluster-list', val: { apiVersion, kind } })),
    settings: [
      {
        name: REGISTRIES,
        kind: 'list',
        description: 'registries or repository prefixes images may come from (ghcr.io, registry.local:5000, docker.io/library)',
      },
    ],
  };
}

export function evaluate(settings) {
  let findings;
  try {
    findings = run(settings);
  } catch (e) {
    // A bug here is an error verdict, named, not a trap.
    throw `image-policy (js): ${e && e.stack ? e.stack : e}`;
  }
  emitBatch(findings);
}
