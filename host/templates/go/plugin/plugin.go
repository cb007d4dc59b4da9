// Package plugin is {{name}}: Pods whose containers use an image without a
// tag or with `:latest` fail `image-tag`.
package plugin

import (
	"encoding/json"
	"fmt"
	"strings"

	"{{name}}/gen/imports/rampart_plugin_cluster"
	"{{name}}/gen/imports/rampart_plugin_report"
	types "{{name}}/gen/imports/rampart_plugin_types"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

const check = "image-tag"

func finding(status types.Status, message string, ref *types.ObjectRef) types.Finding {
	object := witTypes.None[types.ObjectRef]()
	if ref != nil {
		object = witTypes.Some(*ref)
	}
	return types.Finding{Check: check, Status: status, Message: message, Object: object, Path: witTypes.None[string](), Evidence: nil}
}

// Describe says what the plugin checks and what it needs.
func Describe() types.PluginInfo {
	return types.PluginInfo{
		Name:    "{{name}}",
		Version: "0.1.0",
		Checks: []types.CheckInfo{{
			Id:          check,
			Title:       "Container images have a tag other than latest",
			Description: "An image without a tag is :latest, which moves.",
			Remediation: "Use a release tag or a digest.",
			Severity:    types.Severity_Medium,
		}},
		Capabilities: []types.Capability{types.MakeCapabilityClusterList(types.KindRef{ApiVersion: "v1", Kind: "Pod"})},
	}
}

// Evaluate judges every container of every Pod.
func Evaluate(settings []witTypes.Tuple2[string, string]) (result witTypes.Result[witTypes.Unit, string]) {
	defer func() { // a bug: an error verdict with its reason, not a bare trap
		if p := recover(); p != nil {
			result = witTypes.Err[witTypes.Unit, string](fmt.Sprint(p))
		}
	}()
	out := []types.Finding{}
	pods := rampart_plugin_cluster.ListObjects("v1", "Pod", witTypes.None[string]())
	if pods.IsErr() {
		// Could not see the Pods: an error verdict, never a pass.
		out = append(out, finding(types.Status_Error, "cannot list Pods", nil))
	} else {
		for _, pod := range pods.Ok() {
			ref := pod.Ref
			type container struct {
				Name  string  `json:"name"`
				Image *string `json:"image"`
			}
			var obj struct {
				Spec struct {
					Containers     []container `json:"containers"`
					InitContainers []container `json:"initContainers"`
				} `json:"spec"`
			}
			if err := json.Unmarshal([]byte(pod.Json), &obj); err != nil {
				out = append(out, finding(types.Status_Error, "the object is not valid JSON", &ref))
				continue
			}
			for _, list := range [][]container{obj.Spec.Containers, obj.Spec.InitContainers} {
				for _, c := range list {
					if c.Image == nil {
						out = append(out, finding(types.Status_Error, "container "+c.Name+": no image", &ref))
						continue
					}
					image := *c.Image
					name := image[strings.LastIndexByte(image, '/')+1:]
					tag := ""
					if i := strings.LastIndexByte(name, ':'); i >= 0 {
						tag = name[i+1:]
					}
					switch {
					case strings.Contains(image, "@"):
						out = append(out, finding(types.Status_Pass, fmt.Sprintf("container %s: %s is pinned by digest", c.Name, image), &ref))
					case tag != "" && tag != "latest":
						out = append(out, finding(types.Status_Pass, fmt.Sprintf("container %s: %s has tag %s", c.Name, image, tag), &ref))
					default:
						out = append(out, finding(types.Status_Fail, fmt.Sprintf("container %s: %s runs latest", c.Name, image), &ref))
					}
				}
			}
		}
	}
	return rampart_plugin_report.EmitBatch(out)
}
