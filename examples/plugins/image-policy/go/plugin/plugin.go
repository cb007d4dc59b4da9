// Package plugin is image-policy in Go: every container image comes from an
// allowed registry and is pinned by digest or by a tag other than latest.
//
// The same control as the Rust twin (../../rust/src/lib.rs), finding for
// finding and message for message; `rampart plugin test` checks both against
// ../../cases. `rampart plugin build .` generates the bindings into gen/ and
// builds with stock Go for wasip1 (docs/plugins/go.md).
package plugin

import (
	"encoding/json"
	"fmt"
	"strings"

	"image-policy/gen/imports/rampart_plugin_cluster"
	"image-policy/gen/imports/rampart_plugin_report"
	types "image-policy/gen/imports/rampart_plugin_types"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

const (
	allowedCheck = "allowed-registry"
	pinnedCheck  = "pinned"
	registries   = "allowed-registry.registries"
)

// Every kind with a pod spec, and where the spec is.
var kinds = [][3]string{
	{"v1", "Pod", "spec"},
	{"apps/v1", "Deployment", "spec.template.spec"},
	{"apps/v1", "StatefulSet", "spec.template.spec"},
	{"apps/v1", "DaemonSet", "spec.template.spec"},
	{"apps/v1", "ReplicaSet", "spec.template.spec"},
	{"batch/v1", "Job", "spec.template.spec"},
	{"batch/v1", "CronJob", "spec.jobTemplate.spec.template.spec"},
	{"v1", "ReplicationController", "spec.template.spec"},
}

var lists = []string{"containers", "initContainers", "ephemeralContainers"}

func isLower(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') }
func isAlnum(c byte) bool { return isLower(c) || (c >= 'A' && c <= 'Z') }
func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// Lowercase letters and digits joined by `.`, `_`, `__` or runs of `-`.
func validComponent(s string) bool {
	if s == "" || !isLower(s[0]) || !isLower(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); {
		if isLower(s[i]) {
			i++
			continue
		}
		start := i
		for i < len(s) && !isLower(s[i]) {
			i++
		}
		sep := s[start:i]
		if !(sep == "." || sep == "_" || sep == "__" || strings.Trim(sep, "-") == "") {
			return false
		}
	}
	return true
}

// DNS labels joined by `.`, or an IPv6 address in brackets; then `:port`.
func validDomain(d string) bool {
	host, port, hasPort := d, "", false
	if strings.HasPrefix(d, "[") {
		end := strings.IndexByte(d, ']')
		if end < 0 {
			return false
		}
		inner := d[1:end]
		if inner == "" {
			return false
		}
		for i := 0; i < len(inner); i++ {
			if !(isHex(inner[i]) || inner[i] == ':' || inner[i] == '.') {
				return false
			}
		}
		rest := d[end+1:]
		if rest == "" {
			return true
		}
		if rest[0] != ':' {
			return false
		}
		host, port, hasPort = "x", rest[1:], true
	} else if i := strings.IndexByte(d, ':'); i >= 0 {
		host, port, hasPort = d[:i], d[i+1:], true
	}
	if hasPort {
		if port == "" {
			return false
		}
		for i := 0; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return false
			}
		}
	}
	for _, l := range strings.Split(host, ".") {
		if l == "" || !isAlnum(l[0]) || !isAlnum(l[len(l)-1]) {
			return false
		}
		for i := 0; i < len(l); i++ {
			if !(isAlnum(l[i]) || l[i] == '-') {
				return false
			}
		}
	}
	return true
}

func validTag(t string) bool {
	if t == "" || !(isAlnum(t[0]) || t[0] == '_') || len(t) > 128 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if !(isAlnum(t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-') {
			return false
		}
	}
	return true
}

func validDigest(d string) bool {
	i := strings.IndexByte(d, ':')
	if i < 0 {
		return false
	}
	alg, hex := d[:i], d[i+1:]
	if alg == "" || !isLower(alg[0]) || !isLower(alg[len(alg)-1]) {
		return false
	}
	for j := 0; j < len(alg); j++ {
		if !(isLower(alg[j]) || strings.IndexByte("+._-", alg[j]) >= 0) {
			return false
		}
	}
	if len(hex) < 32 {
		return false
	}
	for j := 0; j < len(hex); j++ {
		if !isHex(hex[j]) {
			return false
		}
	}
	return alg != "sha256" || len(hex) == 64
}

type reference struct {
	domain, path string
	tag, digest  *string
}

// parse reads an image reference as the container runtimes do; the error
// is a short reason.
func parse(image string) (reference, string) {
	var r reference
	if image == "" {
		return r, "empty reference"
	}
	nameTag := image
	if at := strings.IndexByte(image, '@'); at >= 0 {
		nameTag = image[:at]
		d := image[at+1:]
		if !validDigest(d) {
			return r, "bad digest"
		}
		r.digest = &d
	}
	// A tag is after the last `:` that follows the last `/` (a port is not a tag).
	lastSlash := strings.LastIndexByte(nameTag, '/') + 1
	name := nameTag
	if colon := strings.LastIndexByte(nameTag[lastSlash:], ':'); colon >= 0 {
		t := nameTag[lastSlash+colon+1:]
		if !validTag(t) {
			return r, "bad tag"
		}
		r.tag = &t
		name = nameTag[:lastSlash+colon]
	}
	if len(name) > 255 {
		return r, "name longer than 255 characters"
	}
	r.domain, r.path = "docker.io", name
	if i := strings.IndexByte(name, '/'); i >= 0 {
		first := name[:i]
		if strings.ContainsAny(first, ".:") || first == "localhost" || asciiLower(first) != first {
			if !validDomain(first) {
				return r, "bad registry host"
			}
			r.domain, r.path = asciiLower(first), name[i+1:]
		}
	}
	if r.domain == "index.docker.io" {
		r.domain = "docker.io"
	}
	for _, c := range strings.Split(r.path, "/") {
		if !validComponent(c) {
			return r, "bad repository name"
		}
	}
	if r.domain == "docker.io" && !strings.Contains(r.path, "/") {
		r.path = "library/" + r.path
	}
	return r, ""
}

// An allow-list entry as compared: host lowercased, Docker Hub's legacy
// name folded, no trailing `/`.
func normalizeEntry(entry string) string {
	entry = strings.TrimRight(strings.TrimSpace(entry), "/")
	host, rest := entry, ""
	if i := strings.IndexByte(entry, '/'); i >= 0 {
		host, rest = entry[:i], entry[i:]
	}
	host = asciiLower(host)
	if host == "index.docker.io" {
		host = "docker.io"
	}
	return host + rest
}

func allowedBy(r reference, entries []string) (string, bool) {
	full := r.domain + "/" + r.path
	for _, e := range entries {
		n := normalizeEntry(e)
		if full == n || strings.HasPrefix(full, n+"/") {
			return e, true
		}
	}
	return "", false
}

func reason(e types.AccessError) string {
	switch e.Tag() {
	case types.AccessError_Denied:
		return "denied: " + e.Denied()
	case types.AccessError_NotFound:
		return "not found: " + e.NotFound()
	case types.AccessError_Unavailable:
		return "unavailable: " + e.Unavailable()
	default:
		return "invalid request: " + e.Invalid()
	}
}

type findings []types.Finding

func (out *findings) push(check string, status types.Status, message string, ref *types.ObjectRef, evidence [][2]string) {
	f := types.Finding{Check: check, Status: status, Message: message, Object: witTypes.None[types.ObjectRef](), Path: witTypes.None[string]()}
	if ref != nil {
		f.Object = witTypes.Some(*ref)
	}
	f.Evidence = []witTypes.Tuple2[string, string]{}
	for _, e := range evidence {
		f.Evidence = append(f.Evidence, witTypes.Tuple2[string, string]{F0: e[0], F1: e[1]})
	}
	*out = append(*out, f)
}

// judgeObject judges every container of one object; it returns how many it judged.
func judgeObject(ref types.ObjectRef, text, specPath string, allowed []string, out *findings) int {
	both := func(message string) {
		out.push(pinnedCheck, types.Status_Error, message, &ref, nil)
		if allowed != nil {
			out.push(allowedCheck, types.Status_Error, message, &ref, nil)
		}
	}
	var obj any
	if err := json.Unmarshal([]byte(text), &obj); err != nil {
		both("the object is not valid JSON")
		return 1
	}
	spec := obj
	for _, key := range strings.Split(specPath, ".") {
		m, _ := spec.(map[string]any)
		spec = m[key]
	}
	specMap, ok := spec.(map[string]any)
	if !ok {
		both("no pod spec at " + specPath)
		return 1
	}
	judged := 0
	for _, list := range lists {
		field := specPath + "." + list
		raw, present := specMap[list]
		if !present || raw == nil {
			continue
		}
		items, ok := raw.([]any)
		if !ok {
			both(field + " is not a list")
			judged++
			continue
		}
		for i, item := range items {
			judged++
			cfield := fmt.Sprintf("%s[%d]", field, i)
			c, ok := item.(map[string]any)
			if !ok {
				both(cfield + " is not an object")
				continue
			}
			name, ok := c["name"].(string)
			if !ok {
				name = "<unnamed>"
			}
			var image *string
			switch v := c["image"].(type) {
			case nil:
			case string:
				image = &v
			default:
				both(fmt.Sprintf("container %s: %s.image is not a string", name, cfield))
				continue
			}
			evidence := [][2]string{{"container", name}, {"field", cfield}}
			if image != nil {
				evidence = append(evidence, [2]string{"image", *image})
			}
			found := func(status types.Status, check, message string) {
				out.push(check, status, "container "+name+": "+message, &ref, evidence)
			}
			if image == nil {
				found(types.Status_Error, pinnedCheck, "no image is set")
				if allowed != nil {
					found(types.Status_Error, allowedCheck, "no image is set")
				}
				continue
			}
			r, why := parse(*image)
			if why != "" {
				message := fmt.Sprintf("%s is not a valid image reference (%s)", *image, why)
				found(types.Status_Error, pinnedCheck, message)
				if allowed != nil {
					found(types.Status_Error, allowedCheck, message)
				}
				continue
			}
			switch {
			case r.digest != nil:
				found(types.Status_Pass, pinnedCheck, *image+" is pinned by digest")
			case r.tag != nil && *r.tag == "latest":
				found(types.Status_Fail, pinnedCheck, *image+" uses the latest tag, which moves")
			case r.tag != nil:
				found(types.Status_Pass, pinnedCheck, *image+" is pinned to tag "+*r.tag)
			default:
				found(types.Status_Fail, pinnedCheck, *image+" has no tag or digest, so it runs latest")
			}
			if allowed != nil {
				registry := r.domain + "/" + r.path
				if entry, ok := allowedBy(r, allowed); ok {
					found(types.Status_Pass, allowedCheck, fmt.Sprintf("%s (%s) is allowed by %s", *image, registry, entry))
				} else {
					found(types.Status_Fail, allowedCheck, fmt.Sprintf("%s (%s) is not from an allowed registry", *image, registry))
				}
			}
		}
	}
	return judged
}

// settingList reads a comma-separated list setting, trimmed, empty items
// dropped; the last value given wins. nil: the setting is absent.
func settingList(settings []witTypes.Tuple2[string, string], key string) []string {
	var value *string
	for i := range settings {
		if settings[i].F0 == key {
			value = &settings[i].F1
		}
	}
	if value == nil {
		return nil
	}
	items := []string{}
	for _, item := range strings.Split(*value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

func run(settings []witTypes.Tuple2[string, string]) findings {
	out := findings{}
	allowed := settingList(settings, registries)
	if len(allowed) == 0 {
		allowed = nil
		out.push(allowedCheck, types.Status_Error, "no allowed registries are set: give the setting "+registries, nil, nil)
	}
	containers, listFailed := 0, false
	for _, k := range kinds {
		result := rampart_plugin_cluster.ListObjects(k[0], k[1], witTypes.None[string]())
		if result.IsErr() {
			listFailed = true
			message := fmt.Sprintf("cannot list %s/%s: %s", k[0], k[1], reason(result.Err()))
			out.push(pinnedCheck, types.Status_Error, message, nil, nil)
			if allowed != nil {
				out.push(allowedCheck, types.Status_Error, message, nil, nil)
			}
			continue
		}
		for _, o := range result.Ok() {
			containers += judgeObject(o.Ref, o.Json, k[2], allowed, &out)
		}
	}
	if containers == 0 && !listFailed {
		out.push(pinnedCheck, types.Status_NotApplicable, "no containers in the cluster", nil, nil)
		if allowed != nil {
			out.push(allowedCheck, types.Status_NotApplicable, "no containers in the cluster", nil, nil)
		}
	}
	return out
}

// Evaluate runs both checks and hands the findings to the host.
func Evaluate(settings []witTypes.Tuple2[string, string]) (result witTypes.Result[witTypes.Unit, string]) {
	// A bug here is an error verdict, named, not a trap.
	defer func() {
		if p := recover(); p != nil {
			result = witTypes.Err[witTypes.Unit, string](fmt.Sprintf("image-policy (go): %v", p))
		}
	}()
	out := run(settings)
	return rampart_plugin_report.EmitBatch(out)
}

func check(id, title, description, remediation string, severity types.Severity) types.CheckInfo {
	return types.CheckInfo{Id: id, Title: title, Description: description, Remediation: remediation, Severity: severity, Tags: []string{}}
}

// Describe says what the plugin checks and what it needs.
func Describe() types.PluginInfo {
	capabilities := []types.Capability{}
	for _, k := range kinds {
		capabilities = append(capabilities, types.MakeCapabilityClusterList(types.KindRef{ApiVersion: k[0], Kind: k[1]}))
	}
	return types.PluginInfo{
		Name:    "image-policy",
		Version: "0.1.0",
		Checks: []types.CheckInfo{
			check(allowedCheck, "Container images come from allowed registries",
				"Every container, init container and ephemeral container of Pods and of the pod templates of workloads pulls its image from a registry (or repository prefix) in allowed-registry.registries. An image without a registry is Docker Hub's (docker.io).",
				"Mirror the image into an allowed registry and reference it there, or add the registry to allowed-registry.registries.",
				types.Severity_High),
			check(pinnedCheck, "Container images are pinned by digest or by a tag other than latest",
				"An image without a tag is :latest; :latest and no tag both mean whatever was pushed last.",
				"Reference images by digest (name@sha256:...) or by a release tag.",
				types.Severity_Medium),
		},
		Capabilities: capabilities,
		Settings: []types.SettingInfo{{
			Name:        registries,
			Kind:        types.SettingKind_List,
			Description: "registries or repository prefixes images may come from (ghcr.io, registry.local:5000, docker.io/library)",
		}},
	}
}
