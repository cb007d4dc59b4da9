//! YAML and JSON documents read the way kubectl reads them: a stream split
//! into documents at `---` lines, each turned into JSON with YAML 1.1 rules
//! (go-yaml v2 behind sigs.k8s.io/yaml): `yes`/`on`/`y` are booleans, merge
//! keys merge, and a key given twice is an error, in YAML and JSON alike.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// One document of an input: its number (from 1, counting empty ones, as
/// the `#N` of an object's source does), the line it starts on, and the
/// object or why it could not be read. `Ok(None)` is an empty document.
#[derive(Debug)]
pub struct Document {
    pub number: usize,
    pub line: usize,
    pub value: Result<Option<Value>, String>,
}

/// Whether `text` is read as a JSON stream rather than YAML: a `.json`
/// name, or (for standard input and other names) text that opens with `{`.
pub fn looks_like_json(name: &str, text: &str) -> bool {
    if name.ends_with(".json") {
        return true;
    }
    if name.ends_with(".yaml") || name.ends_with(".yml") {
        return false;
    }
    text.trim_start().starts_with('{')
}

/// Splits a YAML stream as kubectl's reader does: a line that starts with
/// `---` followed by nothing but blanks or a comment ends one document and
/// starts the next. Each part is parsed on its own, so one broken document
/// leaves its siblings readable. Returns each part with its first line.
fn split(text: &str) -> Vec<(usize, &str)> {
    let mut parts = Vec::new();
    let (mut start, mut start_line) = (0usize, 1usize);
    let mut offset = 0usize;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if let Some(rest) = line.strip_prefix("---") {
            let rest = rest.trim();
            if rest.is_empty() || rest.starts_with('#') {
                parts.push((start_line, &text[start..offset]));
                start = offset + line.len();
                start_line = i + 2;
            }
        }
        offset += line.len();
    }
    parts.push((start_line, &text[start..]));
    // A stream that opens with `---` has no document before it.
    if parts.len() > 1 && parts[0].1.trim().is_empty() && text.trim_start().starts_with("---") {
        parts.remove(0);
    }
    parts
}

/// Documents each core parses at a time, in a stream long enough to share.
const BATCH: usize = 32;

/// Reads the documents of a YAML stream in order, a few at a time: a
/// caller that stores each before asking for the next holds a batch of
/// parsed documents, not the whole stream's (a 200 MB file of 100,000
/// objects). A long stream's documents are parsed on every core, each
/// core a run of [`BATCH`] documents; parsing is most of the time a large
/// manifest takes to read (docs/performance.md).
pub fn yaml_documents(text: &str) -> impl Iterator<Item = Document> + '_ {
    documents(text, std::thread::available_parallelism().map_or(1, |n| n.get()).min(8))
}

/// [`yaml_documents`] on at most `cores` threads.
fn documents(text: &str, cores: usize) -> Documents<'_> {
    let parts = split(text);
    let workers = if parts.len() >= 2 * BATCH { cores.max(1) } else { 1 };
    Documents { parts, next: 0, workers, ready: std::collections::VecDeque::new() }
}

/// The documents of a split stream, parsed a batch at a time.
struct Documents<'a> {
    parts: Vec<(usize, &'a str)>,
    /// The first part not parsed yet.
    next: usize,
    workers: usize,
    ready: std::collections::VecDeque<Document>,
}

impl Iterator for Documents<'_> {
    type Item = Document;

    fn next(&mut self) -> Option<Document> {
        if self.ready.is_empty() && self.next < self.parts.len() {
            let end = (self.next + BATCH * self.workers).min(self.parts.len());
            let first = self.next;
            let batch = &self.parts[first..end];
            self.next = end;
            let parse = |offset: usize, parts: &[(usize, &str)]| -> Vec<Document> {
                parts
                    .iter()
                    .enumerate()
                    .map(|(i, &(line, part))| Document { number: first + offset + i + 1, line, value: yaml_document(part) })
                    .collect()
            };
            if self.workers == 1 {
                self.ready.extend(parse(0, batch));
            } else {
                std::thread::scope(|scope| {
                    let mut chunks = batch.chunks(BATCH).enumerate();
                    // This thread parses the first run while the others parse theirs.
                    let own = chunks.next().map(|(_, chunk)| chunk);
                    let others: Vec<_> = chunks.map(|(k, chunk)| (k, chunk, scope.spawn(move || parse(k * BATCH, chunk)))).collect();
                    if let Some(chunk) = own {
                        self.ready.extend(parse(0, chunk));
                    }
                    for (k, chunk, handle) in others {
                        match handle.join() {
                            Ok(docs) => self.ready.extend(docs),
                            // The parser panicked: those documents are not read, and say so.
                            Err(_) => self.ready.extend(chunk.iter().enumerate().map(|(i, &(line, _))| Document {
                                number: first + k * BATCH + i + 1,
                                line,
                                value: Err("the YAML parser failed on this document".into()),
                            })),
                        }
                    }
                });
            }
        }
        self.ready.pop_front()
    }
}

fn yaml_document(part: &str) -> Result<Option<Value>, String> {
    if part.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#')
    }) {
        return Ok(None);
    }
    // Defaults that match go-yaml v2: YAML 1.1 booleans, merge keys merged,
    // duplicate keys refused, `0755` octal; the default budget bounds
    // aliases (a "billion laughs" document is an error, not a hang).
    let options = serde_saphyr::options! {
        strict_booleans: false,
        legacy_octal_numbers: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        merge_keys: serde_saphyr::MergeKeyPolicy::Merge,
        with_snippet: false,
    };
    // Lines in the parser's messages count from the document's first line.
    let value: Option<KubeValue> = serde_saphyr::from_str_with_options(part, options).map_err(|e| e.to_string())?;
    Ok(value.map(|v| v.0).filter(|v| !v.is_null()))
}

/// Reads the documents of a JSON stream (objects one after another), one
/// at a time.
pub fn json_documents(text: &str) -> impl Iterator<Item = Document> + '_ {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<KubeValue>();
    // Lines are counted from where the last document started, not from the
    // top each time (that was quadratic in a stream of many documents).
    let (mut counted, mut line, mut number, mut done) = (0usize, 1usize, 0usize, false);
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let at = stream.byte_offset().min(text.len());
        line += text[counted..at].matches('\n').count();
        counted = at;
        number += 1;
        match stream.next()? {
            Ok(v) => Some(Document { number, line, value: Ok(Some(v.0)) }),
            Err(e) => {
                // The stream cannot be resynchronised after a syntax error.
                done = true;
                Some(Document { number, line, value: Err(format!("invalid JSON: {e}")) })
            }
        }
    })
}

/// A JSON value built from YAML or JSON as sigs.k8s.io/yaml builds it:
/// mapping keys become strings (a plain `on:` key is `"true"`, `1:` is
/// `"1"`), a null key is refused, a repeated key is refused, and a
/// non-finite float (which JSON cannot hold) is refused.
struct KubeValue(Value);

impl<'de> serde::Deserialize<'de> for KubeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<KubeValue, D::Error> {
        d.deserialize_any(ValueVisitor).map(KubeValue)
    }
}

struct ValueVisitor;

fn float<E: de::Error>(v: f64) -> Result<Value, E> {
    Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom(format!("{v} cannot be written in JSON")))
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML or JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        match i64::try_from(v) {
            Ok(i) => Ok(Value::from(i)),
            Err(_) => float(v as f64),
        }
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        match u64::try_from(v) {
            Ok(u) => Ok(Value::from(u)),
            Err(_) => float(v as f64),
        }
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        float(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Value, E> {
        Err(E::custom("a `!!binary` value has no JSON form: write it as a base64 string"))
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(KubeValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let KubeValue(value) = map.next_value()?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key {key:?}: the API server refuses an object that gives a field twice")));
            }
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// A mapping key as sigs.k8s.io/yaml turns it into a JSON key.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number or boolean mapping key")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        Err(E::custom("a null mapping key cannot become a JSON key"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Err(E::custom("a null mapping key cannot become a JSON key"))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(text: &str) -> Result<Value, String> {
        let docs: Vec<Document> = yaml_documents(text).collect();
        assert_eq!(docs.len(), 1, "{docs:?}");
        docs.into_iter().next().unwrap().value.map(|v| v.unwrap_or(Value::Null))
    }

    #[test]
    fn yaml_1_1_booleans_are_booleans_as_kubectl_reads_them() {
        for word in ["yes", "Yes", "YES", "on", "On", "ON", "y", "Y", "true", "True", "TRUE"] {
            assert_eq!(one(&format!("privileged: {word}\n")).unwrap(), json!({"privileged": true}), "{word}");
        }
        for word in ["no", "No", "NO", "off", "Off", "OFF", "n", "N", "false", "False", "FALSE"] {
            assert_eq!(one(&format!("privileged: {word}\n")).unwrap(), json!({"privileged": false}), "{word}");
        }
        // Quoted, they are the strings they look like.
        assert_eq!(one("privileged: \"yes\"\nb: 'on'\n").unwrap(), json!({"privileged": "yes", "b": "on"}));
    }

    #[test]
    fn keys_are_resolved_then_written_as_json_keys() {
        assert_eq!(one("on: 1\n2: x\n\"off\": z\n").unwrap(), json!({"true": 1, "2": "x", "off": "z"}));
        assert!(one("~: 1\n").is_err());
    }

    #[test]
    fn merge_keys_merge_and_explicit_keys_win() {
        let text = "base: &b {privileged: true, runAsUser: 0}\nsc:\n  <<: *b\n  runAsUser: 1000\n";
        assert_eq!(one(text).unwrap()["sc"], json!({"privileged": true, "runAsUser": 1000}));
    }

    #[test]
    fn a_duplicate_key_is_an_error_naming_it() {
        let e = one("securityContext:\n  privileged: true\n  privileged: false\n").unwrap_err();
        assert!(e.contains("privileged") && e.to_lowercase().contains("duplicate"), "{e}");
        let docs: Vec<Document> = json_documents(r#"{"a": 1, "a": 2}"#).collect();
        let e = docs[0].value.as_ref().unwrap_err();
        assert!(e.contains("duplicate key \"a\""), "{e}");
    }

    #[test]
    fn numbers_follow_go_yaml() {
        assert_eq!(
            one("a: 0755\nb: 0x1F\nc: 1_000\nd: 1.5\ne: 2001-12-14\n").unwrap(),
            json!({"a": 493, "b": 31, "c": 1000, "d": 1.5, "e": "2001-12-14"})
        );
        assert!(one("a: .inf\n").is_err());
    }

    #[test]
    fn a_long_stream_read_on_several_cores_keeps_its_order_and_numbers() {
        // Long enough to be shared out, with a broken document and an
        // empty one in a later run.
        let mut text = String::new();
        for i in 0..(5 * BATCH + 7) {
            text += &match i {
                100 => "b: [\n".to_string(),
                101 => "# only a comment\n".to_string(),
                _ => format!("idx: {i}\n"),
            };
            text += "---\n";
        }
        let docs: Vec<Document> = documents(&text, 3).collect();
        let alike: Vec<Document> = documents(&text, 1).collect();
        assert_eq!(format!("{docs:?}"), format!("{alike:?}"), "the same documents on one core");
        assert_eq!(docs.len(), 5 * BATCH + 8, "the last, empty document after the final `---` included");
        for (i, d) in docs.iter().enumerate() {
            assert_eq!(d.number, i + 1);
            assert_eq!(d.line, 2 * i + 1);
            match i {
                100 => assert!(d.value.is_err()),
                101 => assert!(matches!(d.value, Ok(None))),
                _ if i == 5 * BATCH + 7 => assert!(matches!(d.value, Ok(None))),
                _ => assert_eq!(d.value.as_ref().unwrap().as_ref().unwrap()["idx"], i, "{d:?}"),
            }
        }
    }

    #[test]
    fn documents_split_at_separator_lines_and_keep_their_numbers() {
        let docs: Vec<Document> = yaml_documents("---\na: 1\n---\n--- # comment\nb: [\n---\nc: 3\n").collect();
        let numbers: Vec<_> = docs.iter().map(|d| (d.number, d.line, d.value.is_ok())).collect();
        assert_eq!(numbers, [(1, 2, true), (2, 4, true), (3, 5, false), (4, 7, true)]);
        assert!(docs[1].value.as_ref().unwrap().is_none(), "an empty document");
        assert_eq!(docs[3].value.as_ref().unwrap().as_ref().unwrap(), &json!({"c": 3}));
    }

    #[test]
    fn an_alias_bomb_is_an_error() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text += &format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n");
        }
        assert!(one(&text).is_err());
    }
}
