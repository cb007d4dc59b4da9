"""{{name}}: Pods whose containers use an image without a tag or with
`:latest` fail `image-tag`."""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import cluster, report, types

CHECK = "image-tag"


def finding(status, message, ref=None):
    return types.Finding(check=CHECK, status=status, message=message, object=ref, path=None, evidence=[])


def tag(image):
    """The tag: after the last `:` following the last `/`."""
    name = image[image.rfind("/") + 1:]
    return name.rsplit(":", 1)[1] if ":" in name else None


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return types.PluginInfo(
            name="{{name}}",
            version="0.1.0",
            checks=[
                types.CheckInfo(
                    id=CHECK,
                    title="Container images have a tag other than latest",
                    description="An image without a tag is :latest, which moves.",
                    remediation="Use a release tag or a digest.",
                    severity=types.Severity.MEDIUM,
                    tags=[],
                )
            ],
            capabilities=[types.Capability_ClusterList(types.KindRef(api_version="v1", kind="Pod"))],
            settings=[],
        )

    def evaluate(self, settings):
        try:
            out = []
            try:
                pods = cluster.list_objects("v1", "Pod", None)
            except Err as e:  # could not see the Pods: an error verdict, never a pass
                pods = []
                out.append(finding(types.Status.ERROR, "cannot list Pods: %s" % e.value.value))
            for pod in pods:
                try:
                    spec = json.loads(pod.json).get("spec") or {}
                except ValueError:
                    out.append(finding(types.Status.ERROR, "the object is not valid JSON", pod.ref))
                    continue
                for lst in ("containers", "initContainers"):
                    for c in spec.get(lst) or []:
                        name = c.get("name", "<unnamed>")
                        image = c.get("image")
                        if not isinstance(image, str):
                            out.append(finding(types.Status.ERROR, "container %s: no image" % name, pod.ref))
                        elif "@" in image:
                            out.append(finding(types.Status.PASS, "container %s: %s is pinned by digest" % (name, image), pod.ref))
                        elif tag(image) not in (None, "latest"):
                            out.append(finding(types.Status.PASS, "container %s: %s has tag %s" % (name, image, tag(image)), pod.ref))
                        else:
                            out.append(finding(types.Status.FAIL, "container %s: %s runs latest" % (name, image), pod.ref))
            report.emit_batch(out)
        except Err:
            raise
        except Exception as e:  # a bug: an error verdict with its reason, not a bare trap
            raise Err("%s: %s" % (type(e).__name__, e))
