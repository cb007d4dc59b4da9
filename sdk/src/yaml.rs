//! YAML files a plugin reads from a node (the kubelet's config and
//! drop-ins, static pod manifests, the files kube-apiserver's flags name),
//! read as the Kubernetes components read them: sigs.k8s.io/yaml, which is
//! go-yaml v2, so YAML 1.1 (`yes` and `on` are booleans, `0755` is octal),
//! merge keys merged, a key given twice refused.

use serde_json::Value;

/// One YAML document as JSON. An empty document is `Null`. The error says
/// what is wrong and, from the parser, where.
///
/// ```
/// use rampart_sdk::yaml;
/// let v = yaml::to_json(b"authentication:\n  anonymous: {enabled: yes}\n").unwrap();
/// assert_eq!(v["authentication"]["anonymous"]["enabled"], serde_json::json!(true));
/// assert!(yaml::to_json(b"a: 1\na: 2\n").is_err());
/// ```
pub fn to_json(bytes: &[u8]) -> Result<Value, String> {
    // The components accept (and drop) a UTF-8 byte-order mark.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text (invalid byte at offset {})", e.valid_up_to()))?;
    // The parser's default budget bounds nesting and aliases, so a deeply
    // nested or "billion laughs" file is an error in linear time; the
    // former reader (serde_yaml_ng, a libyaml port) took time quadratic in
    // the depth of flow collections (a 64 KiB file of `{a: ` took seconds).
    let options = serde_saphyr::options! {
        strict_booleans: false,
        legacy_octal_numbers: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        merge_keys: serde_saphyr::MergeKeyPolicy::Merge,
        with_snippet: false,
    };
    let value: Option<Value> = serde_saphyr::from_str_with_options(text, options).map_err(|e| e.to_string())?;
    Ok(value.unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_1_1_as_the_kubelet_reads_it() {
        let v = to_json(b"a: yes\nb: off\nc: 0644\nd: \"yes\"\n<<: {e: 1}\n").unwrap();
        assert_eq!(v, json!({"a": true, "b": false, "c": 420, "d": "yes", "e": 1}));
        assert_eq!(to_json(b"").unwrap(), Value::Null);
        assert_eq!(to_json(b"\xEF\xBB\xBFa: 1\n").unwrap(), json!({"a": 1}));
        let e = to_json(b"readOnlyPort: 0\nreadOnlyPort: 10255\n").unwrap_err();
        assert!(e.contains("readOnlyPort"), "{e}");
        assert!(to_json(b"a: \xff\n").unwrap_err().contains("offset 3"));
    }

    /// Regression (found running the `static_pod` and `kubelet_config` fuzz
    /// binaries on deeply nested inputs): nested flow collections took time
    /// quadratic in their depth; 16,000 `{a: ` (64 KiB) took 16 s in a
    /// release build. They are now an error, at once (tests assert the
    /// error; the time is the fuzz runs' to watch).
    #[test]
    fn deeply_nested_flow_collections_are_an_error() {
        for unit in [&b"{a: "[..], b"{", b"[a: ", b"? {", b"a: {"] {
            let text = unit.repeat(40_000);
            let result = to_json(&text);
            assert!(result.is_err(), "{:?}", String::from_utf8_lossy(unit));
        }
    }
}
