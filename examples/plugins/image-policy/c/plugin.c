// image-policy in C: every container image comes from an allowed registry
// and is pinned by digest or by a tag other than latest.
//
// The same control as the Rust twin (../rust/src/lib.rs), finding for
// finding and message for message; `rampart plugin test` checks both against
// ../cases. `rampart plugin build .` writes the bindings to gen/ (control.h),
// compiles with clang against wasi-libc and wraps the module into a
// component (docs/plugins/c.md). JSON is read with jsmn (Debian libjsmn-dev).
//
// Every string handed to the host is heap-allocated: the generated *_free
// functions (and the host, for describe's result) free them.

#include "control.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#define ALLOWED "allowed-registry"
#define PINNED "pinned"
#define REGISTRIES "allowed-registry.registries"

typedef rampart_plugin_types_finding_t finding_t;
typedef rampart_plugin_types_object_ref_t ref_t;

#define PASS RAMPART_PLUGIN_TYPES_STATUS_PASS
#define FAIL RAMPART_PLUGIN_TYPES_STATUS_FAIL
#define NOT_APPLICABLE RAMPART_PLUGIN_TYPES_STATUS_NOT_APPLICABLE
#define ERROR RAMPART_PLUGIN_TYPES_STATUS_ERROR

// Every kind with a pod spec, and where the spec is.
static const char *KINDS[][3] = {
    {"v1", "Pod", "spec"},
    {"apps/v1", "Deployment", "spec.template.spec"},
    {"apps/v1", "StatefulSet", "spec.template.spec"},
    {"apps/v1", "DaemonSet", "spec.template.spec"},
    {"apps/v1", "ReplicaSet", "spec.template.spec"},
    {"batch/v1", "Job", "spec.template.spec"},
    {"batch/v1", "CronJob", "spec.jobTemplate.spec.template.spec"},
    {"v1", "ReplicationController", "spec.template.spec"},
};
#define NKINDS (sizeof KINDS / sizeof KINDS[0])
static const char *LISTS[] = {"containers", "initContainers", "ephemeralContainers"};

// ---- small helpers -------------------------------------------------------

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) abort();
  return p;
}

// A formatted, heap-allocated string.
static char *fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  int n = vsnprintf(NULL, 0, f, ap);
  va_end(ap);
  char *s = xmalloc((size_t)n + 1);
  va_start(ap, f);
  vsnprintf(s, (size_t)n + 1, f, ap);
  va_end(ap);
  return s;
}

static char *dup_n(const uint8_t *p, size_t n) {
  char *s = xmalloc(n + 1);
  memcpy(s, p, n);
  s[n] = 0;
  return s;
}

// Takes ownership of a heap string.
static control_string_t own(char *s) {
  control_string_t r = {(uint8_t *)s, strlen(s)};
  return r;
}

static control_string_t copy(const char *s) { return own(dup_n((const uint8_t *)s, strlen(s))); }

static int is_lower(int c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static int is_alnum(int c) { return is_lower(c) || (c >= 'A' && c <= 'Z'); }
static int is_hex(int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int is_space(int c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// ---- findings ------------------------------------------------------------

static finding_t *out;
static size_t out_len, out_cap;

static ref_t copy_ref(const ref_t *r) {
  ref_t c;
  c.api_version = own(dup_n(r->api_version.ptr, r->api_version.len));
  c.kind = own(dup_n(r->kind.ptr, r->kind.len));
  c.namespace_.is_some = r->namespace_.is_some;
  if (r->namespace_.is_some) c.namespace_.val = own(dup_n(r->namespace_.val.ptr, r->namespace_.val.len));
  c.name = own(dup_n(r->name.ptr, r->name.len));
  return c;
}

// Evidence: up to three pairs, keys static, values copied.
typedef struct {
  const char *key[3];
  const char *value[3];
  size_t n;
} evidence_t;

static void push(const char *check, uint8_t status, char *message, const ref_t *ref, const evidence_t *ev) {
  if (out_len == out_cap) {
    out_cap = out_cap ? out_cap * 2 : 16;
    finding_t *grown = realloc(out, out_cap * sizeof *out);
    if (!grown) abort();
    out = grown;
  }
  finding_t *f = &out[out_len++];
  memset(f, 0, sizeof *f);
  f->check = copy(check);
  f->status = status;
  f->message = own(message);
  if (ref) {
    f->object.is_some = true;
    f->object.val = copy_ref(ref);
  }
  if (ev && ev->n) {
    f->evidence.ptr = xmalloc(ev->n * sizeof *f->evidence.ptr);
    f->evidence.len = ev->n;
    for (size_t i = 0; i < ev->n; i++) {
      f->evidence.ptr[i].f0 = copy(ev->key[i]);
      f->evidence.ptr[i].f1 = copy(ev->value[i]);
    }
  }
}

// ---- image references ----------------------------------------------------

// Lowercase letters and digits joined by `.`, `_`, `__` or runs of `-`.
static int valid_component(const char *s, size_t n) {
  if (n == 0 || !is_lower(s[0]) || !is_lower(s[n - 1])) return 0;
  size_t i = 0;
  while (i < n) {
    if (is_lower(s[i])) {
      i++;
      continue;
    }
    size_t start = i;
    while (i < n && !is_lower(s[i])) i++;
    size_t len = i - start;
    const char *sep = s + start;
    int dashes = 1;
    for (size_t k = 0; k < len; k++) dashes &= sep[k] == '-';
    if (!((len == 1 && (sep[0] == '.' || sep[0] == '_')) || (len == 2 && sep[0] == '_' && sep[1] == '_') || dashes)) return 0;
  }
  return 1;
}

// DNS labels joined by `.`, or an IPv6 address in brackets; then `:port`.
static int valid_domain(const char *d, size_t n) {
  const char *host = d, *port = NULL;
  size_t host_len = n, port_len = 0;
  if (n > 0 && d[0] == '[') {
    const char *end = memchr(d, ']', n);
    if (!end) return 0;
    size_t inner = (size_t)(end - d) - 1;
    if (inner == 0) return 0;
    for (size_t i = 1; i <= inner; i++)
      if (!(is_hex(d[i]) || d[i] == ':' || d[i] == '.')) return 0;
    const char *rest = end + 1;
    size_t rest_len = n - (size_t)(rest - d);
    if (rest_len == 0) return 1;
    if (rest[0] != ':') return 0;
    host = "x";
    host_len = 1;
    port = rest + 1;
    port_len = rest_len - 1;
  } else {
    const char *colon = memchr(d, ':', n);
    if (colon) {
      host_len = (size_t)(colon - d);
      port = colon + 1;
      port_len = n - host_len - 1;
    }
  }
  if (port) {
    if (port_len == 0) return 0;
    for (size_t i = 0; i < port_len; i++)
      if (port[i] < '0' || port[i] > '9') return 0;
  }
  size_t start = 0;
  for (size_t i = 0; i <= host_len; i++) {
    if (i == host_len || host[i] == '.') {
      size_t len = i - start;
      const char *l = host + start;
      if (len == 0 || !is_alnum(l[0]) || !is_alnum(l[len - 1])) return 0;
      for (size_t k = 0; k < len; k++)
        if (!(is_alnum(l[k]) || l[k] == '-')) return 0;
      start = i + 1;
    }
  }
  return 1;
}

static int valid_tag(const char *t, size_t n) {
  if (n == 0 || !(is_alnum(t[0]) || t[0] == '_') || n > 128) return 0;
  for (size_t i = 0; i < n; i++)
    if (!(is_alnum(t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-')) return 0;
  return 1;
}

static int valid_digest(const char *d, size_t n) {
  const char *colon = memchr(d, ':', n);
  if (!colon) return 0;
  size_t alg_len = (size_t)(colon - d), hex_len = n - alg_len - 1;
  const char *hex = colon + 1;
  if (alg_len == 0 || !is_lower(d[0]) || !is_lower(d[alg_len - 1])) return 0;
  for (size_t i = 0; i < alg_len; i++)
    if (!(is_lower(d[i]) || strchr("+._-", d[i]))) return 0;
  if (hex_len < 32) return 0;
  for (size_t i = 0; i < hex_len; i++)
    if (!is_hex(hex[i])) return 0;
  return !(alg_len == 6 && memcmp(d, "sha256", 6) == 0) || hex_len == 64;
}

typedef struct {
  char *domain, *path, *tag, *digest;  // heap; tag and digest may be NULL
} reference_t;

static void free_reference(reference_t *r) {
  free(r->domain);
  free(r->path);
  free(r->tag);
  free(r->digest);
}

static const char *last_char(const char *s, size_t n, char c) {
  for (size_t i = n; i > 0; i--)
    if (s[i - 1] == c) return s + i - 1;
  return NULL;
}

// Parses as the container runtimes do; returns NULL or the reason it is invalid.
static const char *parse(const char *image, size_t n, reference_t *r) {
  memset(r, 0, sizeof *r);
  if (n == 0) return "empty reference";
  size_t name_tag_len = n;
  const char *at = memchr(image, '@', n);
  if (at) {
    name_tag_len = (size_t)(at - image);
    if (!valid_digest(at + 1, n - name_tag_len - 1)) return "bad digest";
  }
  // A tag is after the last `:` that follows the last `/` (a port is not a tag).
  const char *slash = last_char(image, name_tag_len, '/');
  size_t last_slash = slash ? (size_t)(slash - image) + 1 : 0;
  const char *colon = last_char(image + last_slash, name_tag_len - last_slash, ':');
  size_t name_len = name_tag_len;
  if (colon) {
    name_len = (size_t)(colon - image);
    if (!valid_tag(colon + 1, name_tag_len - name_len - 1)) return "bad tag";
  }
  if (name_len > 255) return "name longer than 255 characters";
  const char *first_slash = memchr(image, '/', name_len);
  const char *path = image;
  size_t path_len = name_len;
  char *domain = NULL;
  if (first_slash) {
    size_t first_len = (size_t)(first_slash - image);
    int upper = 0;
    for (size_t i = 0; i < first_len; i++) upper |= image[i] >= 'A' && image[i] <= 'Z';
    if (memchr(image, '.', first_len) || memchr(image, ':', first_len) || (first_len == 9 && memcmp(image, "localhost", 9) == 0) || upper) {
      if (!valid_domain(image, first_len)) return "bad registry host";
      domain = dup_n((const uint8_t *)image, first_len);
      for (char *p = domain; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p += 32;
      path = first_slash + 1;
      path_len = name_len - first_len - 1;
    }
  }
  if (!domain || strcmp(domain, "index.docker.io") == 0) {
    free(domain);
    domain = dup_n((const uint8_t *)"docker.io", 9);
  }
  size_t start = 0;
  for (size_t i = 0; i <= path_len; i++) {
    if (i == path_len || path[i] == '/') {
      if (!valid_component(path + start, i - start)) {
        free(domain);
        return "bad repository name";
      }
      start = i + 1;
    }
  }
  r->domain = domain;
  if (strcmp(domain, "docker.io") == 0 && !memchr(path, '/', path_len)) {
    char *p = dup_n((const uint8_t *)path, path_len);
    r->path = fmt("library/%s", p);
    free(p);
  } else {
    r->path = dup_n((const uint8_t *)path, path_len);
  }
  if (colon) r->tag = dup_n((const uint8_t *)colon + 1, name_tag_len - name_len - 1);
  if (at) r->digest = dup_n((const uint8_t *)at + 1, n - name_tag_len - 1);
  return NULL;
}

// ---- settings ------------------------------------------------------------

typedef struct {
  char **items;
  size_t n;
} list_t;

static char *trim(const char *s, size_t n) {
  while (n && is_space((unsigned char)s[0])) s++, n--;
  while (n && is_space((unsigned char)s[n - 1])) n--;
  return dup_n((const uint8_t *)s, n);
}

// A comma-separated list setting, trimmed, empty items dropped; the last
// value given wins. Returns 0 when the setting is absent.
static int setting_list(const control_list_tuple2_string_string_t *settings, const char *key, list_t *list) {
  const control_string_t *value = NULL;
  for (size_t i = 0; i < settings->len; i++) {
    const control_string_t *k = &settings->ptr[i].f0;
    if (k->len == strlen(key) && memcmp(k->ptr, key, k->len) == 0) value = &settings->ptr[i].f1;
  }
  list->items = NULL;
  list->n = 0;
  if (!value) return 0;
  list->items = xmalloc((value->len + 1) * sizeof *list->items);
  size_t start = 0;
  for (size_t i = 0; i <= value->len; i++) {
    if (i == value->len || value->ptr[i] == ',') {
      char *item = trim((const char *)value->ptr + start, i - start);
      if (*item) list->items[list->n++] = item;
      else free(item);
      start = i + 1;
    }
  }
  return 1;
}

// An allow-list entry as compared: host lowercased, Docker Hub's legacy
// name folded, no trailing `/`.
static char *normalize_entry(const char *entry) {
  char *e = trim(entry, strlen(entry));
  size_t n = strlen(e);
  while (n && e[n - 1] == '/') e[--n] = 0;
  char *slash = strchr(e, '/');
  size_t host_len = slash ? (size_t)(slash - e) : n;
  for (size_t i = 0; i < host_len; i++)
    if (e[i] >= 'A' && e[i] <= 'Z') e[i] += 32;
  if (host_len == 15 && memcmp(e, "index.docker.io", 15) == 0) {
    char *folded = fmt("docker.io%s", e + 15);
    free(e);
    return folded;
  }
  return e;
}

static const char *allowed_by(const reference_t *r, const list_t *entries) {
  char *full = fmt("%s/%s", r->domain, r->path);
  const char *found = NULL;
  for (size_t i = 0; i < entries->n && !found; i++) {
    char *e = normalize_entry(entries->items[i]);
    size_t n = strlen(e);
    if (strcmp(full, e) == 0 || (strncmp(full, e, n) == 0 && full[n] == '/')) found = entries->items[i];
    free(e);
  }
  free(full);
  return found;
}

// ---- JSON (jsmn tokens) --------------------------------------------------

typedef struct {
  const char *js;
  jsmntok_t *t;
} doc_t;

// The token after the subtree of token i.
static int skip(const doc_t *d, int i) {
  const jsmntok_t *t = &d->t[i];
  int j = i + 1;
  if (t->type == JSMN_OBJECT) {
    for (int k = 0; k < t->size; k++) j = skip(d, j + 1);
  } else if (t->type == JSMN_ARRAY) {
    for (int k = 0; k < t->size; k++) j = skip(d, j);
  }
  return j;
}

static void put_utf8(char *out, size_t *o, unsigned cp) {
  if (cp < 0x80) out[(*o)++] = (char)cp;
  else if (cp < 0x800) out[(*o)++] = (char)(0xC0 | cp >> 6), out[(*o)++] = (char)(0x80 | (cp & 0x3F));
  else if (cp < 0x10000)
    out[(*o)++] = (char)(0xE0 | cp >> 12), out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F)), out[(*o)++] = (char)(0x80 | (cp & 0x3F));
  else
    out[(*o)++] = (char)(0xF0 | cp >> 18), out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3F)),
    out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F)), out[(*o)++] = (char)(0x80 | (cp & 0x3F));
}

static unsigned hex4(const char *s) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 32) - 'a' + 10);
  }
  return v;
}

// The text of a string token, unescaped, heap-allocated; *len gets its length.
static char *text(const doc_t *d, int i, size_t *len) {
  const char *s = d->js + d->t[i].start;
  size_t n = (size_t)(d->t[i].end - d->t[i].start), o = 0;
  char *out = xmalloc(n + 1);
  for (size_t k = 0; k < n; k++) {
    if (s[k] != '\\') {
      out[o++] = s[k];
      continue;
    }
    char e = s[++k];
    switch (e) {
      case 'b': out[o++] = '\b'; break;
      case 'f': out[o++] = '\f'; break;
      case 'n': out[o++] = '\n'; break;
      case 'r': out[o++] = '\r'; break;
      case 't': out[o++] = '\t'; break;
      case 'u': {
        unsigned cp = hex4(s + k + 1);
        k += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && k + 6 < n && s[k + 1] == '\\' && s[k + 2] == 'u') {
          unsigned lo = hex4(s + k + 3);
          if (lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            k += 6;
          }
        }
        put_utf8(out, &o, cp);
        break;
      }
      default: out[o++] = e;
    }
  }
  out[o] = 0;
  if (len) *len = o;
  return out;
}

// The value of `key` in object token i, or -1.
static int get(const doc_t *d, int i, const char *key) {
  if (i < 0 || d->t[i].type != JSMN_OBJECT) return -1;
  int j = i + 1;
  for (int k = 0; k < d->t[i].size; k++) {
    char *name = text(d, j, NULL);
    int match = strcmp(name, key) == 0;
    free(name);
    if (match) return j + 1;
    j = skip(d, j + 1);
  }
  return -1;
}

static int is_null(const doc_t *d, int i) { return i < 0 || (d->t[i].type == JSMN_PRIMITIVE && d->js[d->t[i].start] == 'n'); }

// ---- the checks ----------------------------------------------------------

static void both(const list_t *allowed, const ref_t *ref, char *message) {
  if (allowed) push(ALLOWED, ERROR, fmt("%s", message), ref, NULL);
  push(PINNED, ERROR, message, ref, NULL);
}

// Judges every container of one object; returns how many it judged.
static size_t judge_object(const ref_t *ref, const control_string_t *json, const char *spec_path, const list_t *allowed) {
  jsmn_parser p;
  jsmn_init(&p);
  int count = jsmn_parse(&p, (const char *)json->ptr, json->len, NULL, 0);
  if (count < 1) {
    both(allowed, ref, fmt("the object is not valid JSON"));
    return 1;
  }
  doc_t d = {(const char *)json->ptr, xmalloc((size_t)count * sizeof(jsmntok_t))};
  jsmn_init(&p);
  jsmn_parse(&p, d.js, json->len, d.t, (unsigned)count);
  size_t judged = 0;
  // Walk the dotted spec path.
  int spec = 0;
  char *path = fmt("%s", spec_path);
  for (char *key = strtok(path, "."); key && spec >= 0; key = strtok(NULL, ".")) spec = get(&d, spec, key);
  free(path);
  if (spec < 0 || d.t[spec].type != JSMN_OBJECT) {
    both(allowed, ref, fmt("no pod spec at %s", spec_path));
    free(d.t);
    return 1;
  }
  for (size_t l = 0; l < 3; l++) {
    int items = get(&d, spec, LISTS[l]);
    if (is_null(&d, items)) continue;
    if (d.t[items].type != JSMN_ARRAY) {
      both(allowed, ref, fmt("%s.%s is not a list", spec_path, LISTS[l]));
      judged++;
      continue;
    }
    int c = items + 1;
    for (int i = 0; i < d.t[items].size; i++, c = skip(&d, c)) {
      judged++;
      char *field = fmt("%s.%s[%d]", spec_path, LISTS[l], i);
      if (d.t[c].type != JSMN_OBJECT) {
        both(allowed, ref, fmt("%s is not an object", field));
        free(field);
        continue;
      }
      int name_tok = get(&d, c, "name");
      char *name = name_tok >= 0 && d.t[name_tok].type == JSMN_STRING ? text(&d, name_tok, NULL) : fmt("<unnamed>");
      int image_tok = get(&d, c, "image");
      if (!is_null(&d, image_tok) && d.t[image_tok].type != JSMN_STRING) {
        both(allowed, ref, fmt("container %s: %s.image is not a string", name, field));
        free(name);
        free(field);
        continue;
      }
      size_t image_len = 0;
      char *image = is_null(&d, image_tok) ? NULL : text(&d, image_tok, &image_len);
      evidence_t ev = {{"container", "field", "image"}, {name, field, image}, image ? 3 : 2};
      if (!image) {
        push(PINNED, ERROR, fmt("container %s: no image is set", name), ref, &ev);
        if (allowed) push(ALLOWED, ERROR, fmt("container %s: no image is set", name), ref, &ev);
      } else {
        reference_t r;
        const char *why = parse(image, image_len, &r);
        if (why) {
          push(PINNED, ERROR, fmt("container %s: %s is not a valid image reference (%s)", name, image, why), ref, &ev);
          if (allowed) push(ALLOWED, ERROR, fmt("container %s: %s is not a valid image reference (%s)", name, image, why), ref, &ev);
        } else {
          if (r.digest) push(PINNED, PASS, fmt("container %s: %s is pinned by digest", name, image), ref, &ev);
          else if (r.tag && strcmp(r.tag, "latest") == 0)
            push(PINNED, FAIL, fmt("container %s: %s uses the latest tag, which moves", name, image), ref, &ev);
          else if (r.tag) push(PINNED, PASS, fmt("container %s: %s is pinned to tag %s", name, image, r.tag), ref, &ev);
          else push(PINNED, FAIL, fmt("container %s: %s has no tag or digest, so it runs latest", name, image), ref, &ev);
          if (allowed) {
            const char *entry = allowed_by(&r, allowed);
            if (entry)
              push(ALLOWED, PASS, fmt("container %s: %s (%s/%s) is allowed by %s", name, image, r.domain, r.path, entry), ref, &ev);
            else
              push(ALLOWED, FAIL, fmt("container %s: %s (%s/%s) is not from an allowed registry", name, image, r.domain, r.path), ref, &ev);
          }
          free_reference(&r);
        }
      }
      free(image);
      free(name);
      free(field);
    }
  }
  free(d.t);
  return judged;
}

static const char *reason_word(uint8_t tag) {
  switch (tag) {
    case RAMPART_PLUGIN_TYPES_ACCESS_ERROR_DENIED: return "denied";
    case RAMPART_PLUGIN_TYPES_ACCESS_ERROR_NOT_FOUND: return "not found";
    case RAMPART_PLUGIN_TYPES_ACCESS_ERROR_UNAVAILABLE: return "unavailable";
    default: return "invalid request";
  }
}

bool exports_control_evaluate(control_list_tuple2_string_string_t *settings, control_string_t *err) {
  (void)err;
  list_t list;
  const list_t *allowed = NULL;
  if (setting_list(settings, REGISTRIES, &list) && list.n > 0) allowed = &list;
  if (!allowed) push(ALLOWED, ERROR, fmt("no allowed registries are set: give the setting %s", REGISTRIES), NULL, NULL);
  size_t containers = 0;
  int list_failed = 0;
  for (size_t k = 0; k < NKINDS; k++) {
    control_string_t api = copy(KINDS[k][0]), kind = copy(KINDS[k][1]);
    rampart_plugin_cluster_list_object_t objects;
    rampart_plugin_cluster_access_error_t e;
    bool ok = rampart_plugin_cluster_list_objects(&api, &kind, NULL, &objects, &e);
    control_string_free(&api);
    control_string_free(&kind);
    if (!ok) {
      list_failed = 1;
      char *why = dup_n(e.val.denied.ptr, e.val.denied.len);  // every variant carries a string
      char *message = fmt("cannot list %s/%s: %s: %s", KINDS[k][0], KINDS[k][1], reason_word(e.tag), why);
      free(why);
      if (allowed) push(ALLOWED, ERROR, fmt("%s", message), NULL, NULL);
      push(PINNED, ERROR, message, NULL, NULL);
      rampart_plugin_cluster_access_error_free(&e);
      continue;
    }
    for (size_t i = 0; i < objects.len; i++) containers += judge_object(&objects.ptr[i].ref, &objects.ptr[i].json, KINDS[k][2], allowed);
    rampart_plugin_cluster_list_object_free(&objects);
  }
  if (containers == 0 && !list_failed) {
    push(PINNED, NOT_APPLICABLE, fmt("no containers in the cluster"), NULL, NULL);
    if (allowed) push(ALLOWED, NOT_APPLICABLE, fmt("no containers in the cluster"), NULL, NULL);
  }
  for (size_t i = 0; i < list.n; i++) free(list.items[i]);
  free(list.items);
  rampart_plugin_report_list_finding_t batch = {out, out_len};
  control_string_t emit_err;
  bool emitted = rampart_plugin_report_emit_batch(&batch, &emit_err);
  rampart_plugin_report_list_finding_free(&batch);
  out = NULL;
  out_len = out_cap = 0;
  if (!emitted) *err = emit_err;
  return emitted;
}

// ---- describe ------------------------------------------------------------

static rampart_plugin_types_check_info_t check(const char *id, const char *title, const char *description, const char *remediation, uint8_t severity) {
  rampart_plugin_types_check_info_t c;
  c.id = copy(id);
  c.title = copy(title);
  c.description = copy(description);
  c.remediation = copy(remediation);
  c.severity = severity;
  c.tags.ptr = NULL;
  c.tags.len = 0;
  return c;
}

void exports_control_describe(control_plugin_info_t *ret) {
  ret->name = copy("image-policy");
  ret->version = copy("0.1.0");
  ret->checks.len = 2;
  ret->checks.ptr = xmalloc(2 * sizeof *ret->checks.ptr);
  ret->checks.ptr[0] = check(ALLOWED, "Container images come from allowed registries",
                             "Every container, init container and ephemeral container of Pods and of the pod templates of workloads pulls "
                             "its image from a registry (or repository prefix) in allowed-registry.registries. An image without a "
                             "registry is Docker Hub's (docker.io).",
                             "Mirror the image into an allowed registry and reference it there, or add the registry to "
                             "allowed-registry.registries.",
                             RAMPART_PLUGIN_TYPES_SEVERITY_HIGH);
  ret->checks.ptr[1] = check(PINNED, "Container images are pinned by digest or by a tag other than latest",
                             "An image without a tag is :latest; :latest and no tag both mean whatever was pushed last.",
                             "Reference images by digest (name@sha256:...) or by a release tag.", RAMPART_PLUGIN_TYPES_SEVERITY_MEDIUM);
  ret->capabilities.len = NKINDS;
  ret->capabilities.ptr = xmalloc(NKINDS * sizeof *ret->capabilities.ptr);
  for (size_t k = 0; k < NKINDS; k++) {
    ret->capabilities.ptr[k].tag = RAMPART_PLUGIN_TYPES_CAPABILITY_CLUSTER_LIST;
    ret->capabilities.ptr[k].val.cluster_list.api_version = copy(KINDS[k][0]);
    ret->capabilities.ptr[k].val.cluster_list.kind = copy(KINDS[k][1]);
  }
  ret->settings.len = 1;
  ret->settings.ptr = xmalloc(sizeof *ret->settings.ptr);
  ret->settings.ptr[0].name = copy(REGISTRIES);
  ret->settings.ptr[0].kind = RAMPART_PLUGIN_TYPES_SETTING_KIND_LIST;
  ret->settings.ptr[0].description =
      copy("registries or repository prefixes images may come from (ghcr.io, registry.local:5000, docker.io/library)");
}
