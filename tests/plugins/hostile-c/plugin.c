// A hostile plugin in C, built by `rampart plugin build` (clang, wasi-libc,
// the preview1 adapter): what C can do to a host that Rust makes hard.
// The setting `attack` picks the attack; tests/hostile_langs.rs checks that
// every one ends as `error` for this plugin alone (or, for the probes, that
// nothing was reachable).

#include "control.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK "attack"

extern char **environ;

static control_string_t copy(const char *s) {
  size_t n = strlen(s);
  uint8_t *p = malloc(n + 1);
  memcpy(p, s, n + 1);
  control_string_t r = {p, n};
  return r;
}

static const char *setting(control_list_tuple2_string_string_t *settings, const char *key) {
  static char value[64];
  for (size_t i = 0; i < settings->len; i++) {
    control_string_t k = settings->ptr[i].f0, v = settings->ptr[i].f1;
    if (k.len == strlen(key) && memcmp(k.ptr, key, k.len) == 0 && v.len < sizeof value) {
      memcpy(value, v.ptr, v.len);
      value[v.len] = 0;
      return value;
    }
  }
  return "";
}

// Emits one finding of the check with this status, message and evidence
// pairs (key, value, key, value, ..., NULL).
static bool emit(uint8_t status, control_string_t message, const char **evidence, control_string_t *err) {
  rampart_plugin_types_finding_t f;
  memset(&f, 0, sizeof f);
  f.check = copy(CHECK);
  f.status = status;
  f.message = message;
  size_t n = 0;
  while (evidence && evidence[2 * n]) n++;
  if (n) {
    f.evidence.ptr = malloc(n * sizeof *f.evidence.ptr);
    f.evidence.len = n;
    for (size_t i = 0; i < n; i++) {
      f.evidence.ptr[i].f0 = copy(evidence[2 * i]);
      f.evidence.ptr[i].f1 = copy(evidence[2 * i + 1]);
    }
  }
  rampart_plugin_report_list_finding_t batch = {&f, 1};
  return rampart_plugin_report_emit_batch(&batch, err);
}

static bool pass(const char *message, control_string_t *err) {
  return emit(RAMPART_PLUGIN_TYPES_STATUS_PASS, copy(message), NULL, err);
}

static volatile unsigned long sink;

static unsigned long recurse(unsigned long depth) {
  volatile char frame[512];
  frame[depth % sizeof frame] = (char)depth;
  return recurse(depth + 1) + frame[0];
}

static char *probe_file(const char *path) {
  static char out[4][96];
  static int next;
  char *r = out[next++ % 4];
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(r, 96, "refused");
  } else {
    snprintf(r, 96, "opened");
    fclose(f);
  }
  return r;
}

static const char *probe_dir(const char *path) {
  DIR *d = opendir(path);
  if (!d) return "refused";
  closedir(d);
  return "listed";
}

bool exports_control_evaluate(control_list_tuple2_string_string_t *settings, control_string_t *err) {
  const char *attack = setting(settings, "attack");
  if (!strcmp(attack, "loop")) {
    for (;;) sink++;
  }
  if (!strcmp(attack, "memory-bomb")) {
    // Touch every page so that nothing is lazily left out.
    for (;;) {
      char *p = malloc(1 << 20);
      if (!p) abort();
      memset(p, 1, 1 << 20);
      sink += (unsigned long)p[4096];
    }
  }
  if (!strcmp(attack, "recursion")) {
    sink = recurse(0);
  }
  if (!strcmp(attack, "pass-then-exit-0")) {
    // A pass already handed over, then the process "succeeds": nothing of
    // this run may stand.
    if (!pass("everything is fine", err)) return false;
    exit(0);
  }
  if (!strcmp(attack, "pass-then-abort")) {
    if (!pass("everything is fine", err)) return false;
    abort();
  }
  if (!strcmp(attack, "bad-utf8")) {
    // A message that is not UTF-8: the canonical ABI must refuse it.
    uint8_t *bytes = malloc(4);
    memcpy(bytes, "\xff\xfe\xc0\x80", 4);
    control_string_t message = {bytes, 4};
    return emit(RAMPART_PLUGIN_TYPES_STATUS_PASS, message, NULL, err);
  }
  if (!strcmp(attack, "wild-pointer")) {
    // A message whose bytes lie far outside linear memory.
    control_string_t message = {(uint8_t *)(uintptr_t)0xfffff000u, 0x10000};
    return emit(RAMPART_PLUGIN_TYPES_STATUS_PASS, message, NULL, err);
  }
  if (!strcmp(attack, "huge-batch")) {
    // A million and a half findings in one batch: cut off by the host's cap.
    size_t n = 1500000;
    rampart_plugin_types_finding_t *all = calloc(n, sizeof *all);
    if (!all) abort();
    control_string_t check = copy(CHECK), message = copy("pass");
    for (size_t i = 0; i < n; i++) {
      all[i].check = check;
      all[i].status = RAMPART_PLUGIN_TYPES_STATUS_PASS;
      all[i].message = message;
    }
    rampart_plugin_report_list_finding_t batch = {all, n};
    return rampart_plugin_report_emit_batch(&batch, err);
  }
  if (!strcmp(attack, "probe")) {
    // What libc reaches through WASI: files, directories, environment.
    char env[16];
    size_t count = 0;
    for (char **e = environ; e && *e; e++) count++;
    snprintf(env, sizeof env, "%zu", count);
    const char *evidence[] = {"file", probe_file("/etc/passwd"),
                              "relative", probe_file("../../etc/passwd"),
                              "root", probe_dir("/"),
                              "cwd", probe_dir("."),
                              "env", env,
                              NULL};
    return emit(RAMPART_PLUGIN_TYPES_STATUS_PASS, copy("probed WASI from C"), evidence, err);
  }
  return pass("no attack", err);
}

void exports_control_describe(control_plugin_info_t *ret) {
  ret->name = copy("hostile-c");
  ret->version = copy("0.1.0");
  ret->checks.len = 1;
  ret->checks.ptr = malloc(sizeof *ret->checks.ptr);
  ret->checks.ptr[0].id = copy(CHECK);
  ret->checks.ptr[0].title = copy("An attack on the host");
  ret->checks.ptr[0].description = copy("Runs the attack named by the setting attack.");
  ret->checks.ptr[0].remediation = copy("None: this plugin exists to be contained.");
  ret->checks.ptr[0].severity = RAMPART_PLUGIN_TYPES_SEVERITY_HIGH;
  ret->checks.ptr[0].tags.ptr = NULL;
  ret->checks.ptr[0].tags.len = 0;
  ret->capabilities.ptr = NULL;
  ret->capabilities.len = 0;
  ret->settings.len = 1;
  ret->settings.ptr = malloc(sizeof *ret->settings.ptr);
  ret->settings.ptr[0].name = copy("attack");
  ret->settings.ptr[0].kind = RAMPART_PLUGIN_TYPES_SETTING_KIND_TEXT;
  ret->settings.ptr[0].description = copy("which attack to run");
}
