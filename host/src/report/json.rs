//! The JSON report's layout: the outer structure indented as a
//! pretty-printer would, and each element of a list (a finding, a pass
//! group, a control, a plugin) on one line of its own, without spaces.
//!
//! A large cluster's report is mostly findings; indenting each of their
//! fields made up a quarter of its size. One record per line is as easy
//! to read, and to `grep`, as the indented form, and the same JSON to any
//! parser.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;

/// Writes `value` in the layout above, with a final newline.
pub fn write<W: Write, T: Serialize + ?Sized>(mut w: W, value: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut w, Lines::default());
    value.serialize(&mut ser).map_err(io::Error::other)?;
    w.write_all(b"\n")
}

/// Writes a report in the layout above, its findings rendered on every
/// core: a large cluster's report is hundreds of MB of them, and
/// rendering them was most of the time it took to write. The bytes are
/// those [`write`] gives.
pub fn write_report<W: Write>(w: W, report: &mut super::Report) -> io::Result<()> {
    write_report_in(w, report, FINDINGS_PER_BLOCK)
}

/// Findings rendered by one thread at a time (about 3 MB of text).
const FINDINGS_PER_BLOCK: usize = 8192;

/// How the layout writes an empty top-level `findings`: a key at depth 1 is
/// the only one on a line of its own indented by two spaces.
const EMPTY_FINDINGS: &[u8] = b"\n  \"findings\": []";

fn write_report_in<W: Write>(mut w: W, report: &mut super::Report, block: usize) -> io::Result<()> {
    // The rest of the report, written around an empty list of findings.
    let findings = std::mem::take(&mut report.findings);
    let mut shell = Vec::new();
    let written = write(&mut shell, &*report);
    report.findings = findings;
    written?;
    if report.findings.is_empty() {
        return w.write_all(&shell);
    }
    let at = shell
        .windows(EMPTY_FINDINGS.len())
        .position(|window| window == EMPTY_FINDINGS)
        .ok_or_else(|| io::Error::other("the report's layout has no top-level findings"))?;
    // Up to and including the `[`.
    w.write_all(&shell[..at + EMPTY_FINDINGS.len() - 1])?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // As the layout writes them: each on a line of its own, compact.
    let render = |part: &[super::Finding]| -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(part.len() * 400);
        for (i, f) in part.iter().enumerate() {
            out.extend_from_slice(if i == 0 { b"\n    " } else { b",\n    " });
            serde_json::to_writer(&mut out, f).map_err(io::Error::other)?;
        }
        Ok(out)
    };
    // A round of blocks at a time, one per core, written in order: the
    // text held at once stays a few MB.
    for (n, round) in report.findings.chunks(block * cores).enumerate() {
        let blocks: Vec<io::Result<Vec<u8>>> = std::thread::scope(|s| {
            let mut parts = round.chunks(block);
            let first = parts.next().unwrap_or_default();
            let others: Vec<_> = parts.map(|part| s.spawn(move || render(part))).collect();
            std::iter::once(render(first)).chain(others.into_iter().map(|h| h.join().expect("rendering findings does not panic"))).collect()
        });
        for (i, text) in blocks.into_iter().enumerate() {
            if n > 0 || i > 0 {
                w.write_all(b",")?;
            }
            w.write_all(&text?)?;
        }
    }
    w.write_all(b"\n  ]")?;
    w.write_all(&shell[at + EMPTY_FINDINGS.len()..])
}

/// The lists whose elements are laid out (indented) rather than each
/// written on one line: a profile holds its controls, one per line.
const LAID_OUT_LISTS: &[&str] = &["profiles"];

#[derive(Default)]
struct Lines {
    /// The open objects and arrays, outermost first.
    open: Vec<Open>,
    /// The depth (in `open`) of the list whose current element is being
    /// written on one line; everything inside it is compact.
    one_line_from: Option<usize>,
    /// The last object key written, to tell `profiles` from other lists.
    key: String,
    in_key: bool,
    /// The next value is that key's (not an element of a list).
    after_key: bool,
}

struct Open {
    has_value: bool,
    /// An array whose elements each go on one line.
    one_per_line: bool,
}

impl Lines {
    fn compact(&self) -> bool {
        self.one_line_from.is_some()
    }

    fn newline<W: ?Sized + Write>(&self, w: &mut W, depth: usize) -> io::Result<()> {
        w.write_all(b"\n")?;
        for _ in 0..depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn begin<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8], array: bool) -> io::Result<()> {
        let named = std::mem::take(&mut self.after_key);
        let one_per_line = array && !self.compact() && !(named && LAID_OUT_LISTS.contains(&self.key.as_str()));
        self.open.push(Open { has_value: false, one_per_line });
        w.write_all(bracket)
    }

    /// The comma before a value or key that is not the first, then its
    /// line break unless inside a one-line element; true when it broke.
    fn separate<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<bool> {
        if !first {
            w.write_all(b",")?;
        }
        if self.compact() {
            return Ok(false);
        }
        self.newline(w, self.open.len())?;
        Ok(true)
    }

    fn end<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        let open = self.open.pop().expect("an open object or array");
        if !self.compact() && open.has_value {
            self.newline(w, self.open.len())?;
        }
        w.write_all(bracket)
    }
}

impl Formatter for Lines {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.begin(w, b"[", true)
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.end(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if self.separate(w, first)? && self.open.last().is_some_and(|o| o.one_per_line) {
            self.one_line_from = Some(self.open.len());
        }
        Ok(())
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        if self.one_line_from == Some(self.open.len()) {
            self.one_line_from = None;
        }
        if let Some(open) = self.open.last_mut() {
            open.has_value = true;
        }
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.begin(w, b"{", false)
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.end(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.separate(w, first)?;
        self.key.clear();
        self.in_key = true;
        Ok(())
    }

    fn end_object_key<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.in_key = false;
        Ok(())
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.after_key = true;
        w.write_all(if self.compact() { b":" } else { b": " })
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.after_key = false;
        if let Some(open) = self.open.last_mut() {
            open.has_value = true;
        }
        Ok(())
    }

    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        if self.in_key {
            self.key.push_str(fragment);
        }
        w.write_all(fragment.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    fn layout(v: &Value) -> String {
        let mut out = Vec::new();
        super::write(&mut out, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn list_elements_are_one_line_each_and_the_rest_is_indented() {
        let v = json!({
            "schema_version": "2.1",
            "targets": {"nodes": [{"name": "cp-1", "root": "/n/cp-1"}], "cluster_objects": 2},
            "findings": [
                {"check": "a/b", "evidence": {"k": "v"}, "object": {"kind": "Pod", "name": "x"}},
                {"check": "a/c", "evidence": {}, "list": [1, [2, 3], []]}
            ],
            "profiles": [{"id": "p", "controls": [{"id": "1.1", "finding_indices": [0, 1]}, {"id": "1.2", "finding_indices": []}]}],
            "errors": [],
            "empty": {}
        });
        // serde_json's own maps keep their keys sorted; the report's
        // structs keep their field order.
        let expected = r#"{
  "empty": {},
  "errors": [],
  "findings": [
    {"check":"a/b","evidence":{"k":"v"},"object":{"kind":"Pod","name":"x"}},
    {"check":"a/c","evidence":{},"list":[1,[2,3],[]]}
  ],
  "profiles": [
    {
      "controls": [
        {"finding_indices":[0,1],"id":"1.1"},
        {"finding_indices":[],"id":"1.2"}
      ],
      "id": "p"
    }
  ],
  "schema_version": "2.1",
  "targets": {
    "cluster_objects": 2,
    "nodes": [
      {"name":"cp-1","root":"/n/cp-1"}
    ]
  }
}
"#;
        let text = layout(&v);
        assert_eq!(text, expected);
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
    }

    #[test]
    fn keys_and_strings_that_need_escaping_stay_valid_json() {
        let v = json!({"we\"ird\nkey": ["line\nbreak", {"profiles": ["x"]}], "profiles": "not a list", "z": [[["a"]]]});
        let text = layout(&v);
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
        // One line per element, whatever the strings hold; a list in a
        // list after the key `profiles` is not the profiles.
        assert_eq!(text.lines().count(), 10, "{text}");
    }

    /// The findings rendered in blocks on several threads are the bytes
    /// the plain layout writes, however the blocks fall.
    #[test]
    fn a_report_written_in_blocks_is_the_plain_layout() {
        use crate::report::{Status, fixtures};
        let plain = |r: &crate::report::Report| {
            let mut out = Vec::new();
            super::write(&mut out, r).unwrap();
            String::from_utf8(out).unwrap()
        };
        let mut report = fixtures::report(Vec::new());
        let blocks = |r: &mut crate::report::Report, block: usize| {
            let mut out = Vec::new();
            super::write_report_in(&mut out, r, block).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(blocks(&mut report, 2), plain(&report), "no findings");
        let mut odd = fixtures::finding("p/c", Status::Fail, "we\"ird\nname");
        odd.evidence.push("findings".into(), "\n  \"findings\": []".into());
        report.findings = vec![odd];
        for i in 0..6 {
            report.findings.push(fixtures::finding("p/c", Status::Pass, &format!("pod-{i}")));
        }
        report.summary = crate::report::Summary::of(&report.findings);
        for block in [1, 2, 3, 7, 100] {
            let text = blocks(&mut report, block);
            assert_eq!(text, plain(&report), "blocks of {block}");
        }
        assert_eq!(report.findings.len(), 7, "the findings are back in the report");
    }

    #[test]
    fn a_top_level_list_or_scalar_is_laid_out_too() {
        assert_eq!(layout(&json!([{"a": 1}, 2])), "[\n  {\"a\":1},\n  2\n]\n");
        assert_eq!(layout(&json!("x")), "\"x\"\n");
        assert_eq!(layout(&json!([])), "[]\n");
    }
}
