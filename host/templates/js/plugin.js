// {{name}}: Pods whose containers use an image without a tag or with
// `:latest` fail `image-tag`.

import { listObjects } from 'rampart:plugin/cluster@0.2.1';
import { emitBatch } from 'rampart:plugin/report@0.2.1';

const CHECK = 'image-tag';
const finding = (status, message, object) => ({ check: CHECK, status, message, object, path: undefined, evidence: [] });

// The tag: after the last `:` following the last `/`.
function tag(image) {
  const name = image.slice(image.lastIndexOf('/') + 1);
  const colon = name.lastIndexOf(':');
  return colon >= 0 ? name.slice(colon + 1) : null;
}

export function describe() {
  return {
    name: '{{name}}',
    version: '0.1.0',
    checks: [{
      id: CHECK,
      title: 'Container images have a tag other than latest',
      description: 'An image without a tag is :latest, which moves.',
      remediation: 'Use a release tag or a digest.',
      severity: 'medium',
      tags: [],
    }],
    capabilities: [{ tag: 'cluster-list', val: { apiVersion: 'v1', kind: 'Pod' } }],
    settings: [],
  };
}

export function evaluate(settings) {
  const out = [];
  try {
    let pods = [];
    try {
      pods = listObjects('v1', 'Pod', undefined);
    } catch (e) {
      // Could not see the Pods: an error verdict, never a pass.
      out.push(finding('error', `cannot list Pods: ${e.payload ? e.payload.val : e}`));
    }
    for (const pod of pods) {
      let spec;
      try {
        spec = JSON.parse(pod.json).spec ?? {};
      } catch {
        out.push(finding('error', 'the object is not valid JSON', pod.ref));
        continue;
      }
      for (const list of ['containers', 'initContainers']) {
        for (const c of spec[list] ?? []) {
          const name = c.name ?? '<unnamed>';
          const image = c.image;
          if (typeof image !== 'string') out.push(finding('error', `container ${name}: no image`, pod.ref));
          else if (image.includes('@')) out.push(finding('pass', `container ${name}: ${image} is pinned by digest`, pod.ref));
          else if (tag(image) !== null && tag(image) !== 'latest') out.push(finding('pass', `container ${name}: ${image} has tag ${tag(image)}`, pod.ref));
          else out.push(finding('fail', `container ${name}: ${image} runs latest`, pod.ref));
        }
      }
    }
  } catch (e) {
    throw `${e}`;  // a bug: an error verdict with its reason, not a bare trap
  }
  emitBatch(out);
}
