// {{name}}: Pods whose containers use an image without a tag or with
// `:latest` fail `image-tag`. `rampart plugin build .` writes gen/control.h.
// Every string handed to the host is heap-allocated (the host and the
// generated *_free functions free them).

#include "control.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#define CHECK "image-tag"

static rampart_plugin_types_finding_t out[4096];
static size_t out_len;

static char *fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  int n = vsnprintf(NULL, 0, f, ap);
  va_end(ap);
  char *s = malloc((size_t)n + 1);
  va_start(ap, f);
  vsnprintf(s, (size_t)n + 1, f, ap);
  va_end(ap);
  return s;
}

static control_string_t str(char *owned) { return (control_string_t){(uint8_t *)owned, strlen(owned)}; }
static control_string_t copy(const char *s) { return str(fmt("%s", s)); }
static control_string_t copy_n(const control_string_t *s) { return str(fmt("%.*s", (int)s->len, (const char *)s->ptr)); }

static void push(uint8_t status, char *message, const rampart_plugin_types_object_ref_t *ref) {
  if (out_len == sizeof out / sizeof out[0]) return;
  rampart_plugin_types_finding_t *f = &out[out_len++];
  memset(f, 0, sizeof *f);
  f->check = copy(CHECK);
  f->status = status;
  f->message = str(message);
  if (ref) {
    f->object.is_some = true;
    f->object.val.api_version = copy_n(&ref->api_version);
    f->object.val.kind = copy_n(&ref->kind);
    f->object.val.namespace_.is_some = ref->namespace_.is_some;
    if (ref->namespace_.is_some) f->object.val.namespace_.val = copy_n(&ref->namespace_.val);
    f->object.val.name = copy_n(&ref->name);
  }
}

// The token after the subtree of token i.
static int skip(const jsmntok_t *t, int i) {
  int j = i + 1;
  for (int k = 0; k < t[i].size; k++) j = t[i].type == JSMN_OBJECT ? skip(t, j + 1) : skip(t, j);
  return j;
}

// The value of `key` in object token i, or -1 (keys compared as written).
static int get(const char *js, const jsmntok_t *t, int i, const char *key) {
  if (i < 0 || t[i].type != JSMN_OBJECT) return -1;
  int j = i + 1;
  for (int k = 0; k < t[i].size; k++) {
    int n = t[j].end - t[j].start;
    if ((size_t)n == strlen(key) && memcmp(js + t[j].start, key, (size_t)n) == 0) return j + 1;
    j = skip(t, j + 1);
  }
  return -1;
}

static void judge(const rampart_plugin_cluster_object_t *pod) {
  const char *js = (const char *)pod->json.ptr;
  jsmn_parser p;
  jsmn_init(&p);
  int count = jsmn_parse(&p, js, pod->json.len, NULL, 0);
  if (count < 1) {
    push(RAMPART_PLUGIN_TYPES_STATUS_ERROR, fmt("the object is not valid JSON"), &pod->ref);
    return;
  }
  jsmntok_t *t = malloc((size_t)count * sizeof *t);
  jsmn_init(&p);
  jsmn_parse(&p, js, pod->json.len, t, (unsigned)count);
  int spec = get(js, t, 0, "spec");
  const char *lists[] = {"containers", "initContainers"};
  for (int l = 0; l < 2; l++) {
    int items = get(js, t, spec, lists[l]);
    if (items < 0 || t[items].type != JSMN_ARRAY) continue;
    int c = items + 1;
    for (int i = 0; i < t[items].size; i++, c = skip(t, c)) {
      int name_tok = get(js, t, c, "name"), image_tok = get(js, t, c, "image");
      char *name = name_tok >= 0 ? fmt("%.*s", t[name_tok].end - t[name_tok].start, js + t[name_tok].start) : fmt("<unnamed>");
      if (image_tok < 0 || t[image_tok].type != JSMN_STRING) {
        push(RAMPART_PLUGIN_TYPES_STATUS_ERROR, fmt("container %s: no image", name), &pod->ref);
        free(name);
        continue;
      }
      char *image = fmt("%.*s", t[image_tok].end - t[image_tok].start, js + t[image_tok].start);
      // The tag: after the last `:` following the last `/`.
      const char *slash = strrchr(image, '/');
      const char *colon = strrchr(slash ? slash : image, ':');
      if (strchr(image, '@'))
        push(RAMPART_PLUGIN_TYPES_STATUS_PASS, fmt("container %s: %s is pinned by digest", name, image), &pod->ref);
      else if (colon && strcmp(colon + 1, "latest") != 0)
        push(RAMPART_PLUGIN_TYPES_STATUS_PASS, fmt("container %s: %s has tag %s", name, image, colon + 1), &pod->ref);
      else
        push(RAMPART_PLUGIN_TYPES_STATUS_FAIL, fmt("container %s: %s runs latest", name, image), &pod->ref);
      free(image);
      free(name);
    }
  }
  free(t);
}

bool exports_control_evaluate(control_list_tuple2_string_string_t *settings, control_string_t *err) {
  (void)settings;
  control_string_t api = copy("v1"), kind = copy("Pod");
  rampart_plugin_cluster_list_object_t pods;
  rampart_plugin_cluster_access_error_t e;
  if (rampart_plugin_cluster_list_objects(&api, &kind, NULL, &pods, &e)) {
    for (size_t i = 0; i < pods.len; i++) judge(&pods.ptr[i]);
    rampart_plugin_cluster_list_object_free(&pods);
  } else {
    // Could not see the Pods: an error verdict, never a pass.
    push(RAMPART_PLUGIN_TYPES_STATUS_ERROR, fmt("cannot list Pods: %.*s", (int)e.val.denied.len, (const char *)e.val.denied.ptr), NULL);
    rampart_plugin_cluster_access_error_free(&e);
  }
  control_string_free(&api);
  control_string_free(&kind);
  rampart_plugin_report_list_finding_t batch = {out, out_len};
  bool ok = rampart_plugin_report_emit_batch(&batch, err);
  for (size_t i = 0; i < out_len; i++) rampart_plugin_types_finding_free(&out[i]);
  out_len = 0;
  return ok;
}

void exports_control_describe(control_plugin_info_t *ret) {
  memset(ret, 0, sizeof *ret);
  ret->name = copy("{{name}}");
  ret->version = copy("0.1.0");
  ret->checks.len = 1;
  ret->checks.ptr = calloc(1, sizeof *ret->checks.ptr);
  ret->checks.ptr[0].id = copy(CHECK);
  ret->checks.ptr[0].title = copy("Container images have a tag other than latest");
  ret->checks.ptr[0].description = copy("An image without a tag is :latest, which moves.");
  ret->checks.ptr[0].remediation = copy("Use a release tag or a digest.");
  ret->checks.ptr[0].severity = RAMPART_PLUGIN_TYPES_SEVERITY_MEDIUM;
  ret->capabilities.len = 1;
  ret->capabilities.ptr = calloc(1, sizeof *ret->capabilities.ptr);
  ret->capabilities.ptr[0].tag = RAMPART_PLUGIN_TYPES_CAPABILITY_CLUSTER_LIST;
  ret->capabilities.ptr[0].val.cluster_list.api_version = copy("v1");
  ret->capabilities.ptr[0].val.cluster_list.kind = copy("Pod");
}
