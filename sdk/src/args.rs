//! Command-line flags of Kubernetes components, parsed from a process argv
//! or a static pod's `command`, the way Go's pflag reads them.

/// Flags that are lists (pflag's string slices) or maps (`--feature-gates`)
/// in the Kubernetes components that have them. pflag appends each
/// occurrence of such a flag to the ones before it, where a scalar flag's
/// last occurrence replaces the others: `--authorization-mode=AlwaysAllow
/// --authorization-mode=RBAC` runs with both modes. [`Args`] joins their
/// occurrences with commas, which a map flag reads item by item, so a later
/// item for the same key wins as it does in the component.
pub const LIST_FLAGS: &[&str] = &[
    "admission-control",
    "authorization-mode",
    "disable-admission-plugins",
    "enable-admission-plugins",
    "feature-gates",
    "tls-cipher-suites",
    "allowed-unsafe-sysctls",
    "api-audiences",
    "controllers",
    "etcd-servers",
    "runtime-config",
];

/// Parsed flags of one command line. Repeated flags keep every value; the
/// accessors return the last one, as pflag does for scalar flags. A flag of
/// [`LIST_FLAGS`] has one value: all its occurrences joined by commas.
///
/// ```
/// use rampart_sdk::args::Args;
/// let a = Args::parse(&["kube-apiserver", "--profiling=false", "--secure-port", "6443",
///     "--authorization-mode=Node,RBAC", "--profiling=true"]);
/// assert_eq!(a.get("secure-port"), Some("6443"));
/// assert_eq!(a.get("profiling"), Some("true")); // last one wins
/// assert_eq!(a.list("authorization-mode"), Some(vec!["Node".to_string(), "RBAC".to_string()]));
/// assert!(a.get("anonymous-auth").is_none());
/// let b = Args::parse(&["kube-apiserver", "--authorization-mode=AlwaysAllow", "--authorization-mode=Node,RBAC"]);
/// assert_eq!(b.get("authorization-mode"), Some("AlwaysAllow,Node,RBAC")); // pflag appends
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args {
    program: String,
    flags: Vec<(String, Option<String>)>,
    positional: Vec<String>,
    /// Flags of [`LIST_FLAGS`] this component takes one value of.
    scalars: Vec<String>,
    /// Flags whose value the source cannot show, with why.
    unknown: Vec<(String, String)>,
}

impl Args {
    /// Parses `argv` (argv[0] is the program). `--f=v` and `--f v` both set
    /// a value; a flag followed by another flag or by nothing is a boolean
    /// set to true. Use [`Args::parse_with_bools`] when the component's
    /// boolean flags are known, since pflag never lets a boolean flag take
    /// the next word (`--profiling false` leaves profiling true).
    pub fn parse<S: AsRef<str>>(argv: &[S]) -> Args {
        Args::parse_with_bools(argv, &[])
    }

    /// Like [`Args::parse`], treating the flags named in `bools` as booleans
    /// that only take a value through `=`.
    pub fn parse_with_bools<S: AsRef<str>>(argv: &[S], bools: &[&str]) -> Args {
        Args::parse_with(argv, bools, &[])
    }

    /// Like [`Args::parse_with_bools`], for a component in which the flags
    /// named in `scalars` take one value although [`LIST_FLAGS`] names them
    /// (the kubelet's `--authorization-mode` is one word): their last
    /// occurrence wins.
    pub fn parse_with<S: AsRef<str>>(argv: &[S], bools: &[&str], scalars: &[&str]) -> Args {
        let mut args = Args { scalars: scalars.iter().map(|s| s.to_string()).collect(), ..Args::default() };
        let mut words = argv.iter().map(AsRef::as_ref);
        if let Some(program) = words.next() {
            args.program = program.to_string();
        }
        let words: Vec<&str> = words.collect();
        let mut i = 0;
        let mut only_positional = false;
        while i < words.len() {
            let word = words[i];
            i += 1;
            if only_positional || !word.starts_with('-') || word == "-" {
                args.positional.push(word.to_string());
                continue;
            }
            if word == "--" {
                only_positional = true;
                continue;
            }
            let body = word.trim_start_matches('-');
            if let Some((name, value)) = body.split_once('=') {
                args.set(name, Some(value));
                continue;
            }
            let takes_next =
                !bools.contains(&body) && words.get(i).is_some_and(|next| !next.starts_with('-') || next.parse::<f64>().is_ok());
            if takes_next {
                args.set(body, Some(words[i]));
                i += 1;
            } else {
                args.set(body, None);
            }
        }
        args
    }

    fn set(&mut self, name: &str, value: Option<&str>) {
        if LIST_FLAGS.contains(&name)
            && !self.scalars.iter().any(|s| s == name)
            && let Some((_, Some(before))) = self.flags.iter_mut().find(|(n, _)| n == name)
        {
            before.push(',');
            before.push_str(value.unwrap_or_default());
            return;
        }
        self.flags.push((name.to_string(), value.map(str::to_string)));
    }

    /// argv[0] as given.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Whether the flag is given at all.
    pub fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|(n, _)| n == name)
    }

    /// The last value of a flag; a bare boolean flag reads as `"true"`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.flags.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_deref().unwrap_or("true"))
    }

    /// Every value a repeated flag was given, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.flags.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_deref().unwrap_or("true")).collect()
    }

    /// The value split on commas (`--enable-admission-plugins=A,B`), empty
    /// items left out; for a flag of [`LIST_FLAGS`], every occurrence's.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
    }

    /// A boolean flag: `Some(Ok(b))` when set to a word Go's strconv accepts,
    /// `Some(Err(value))` when set to anything else, `None` when unset.
    pub fn bool(&self, name: &str) -> Option<Result<bool, String>> {
        self.get(name).map(|v| go_bool(v).ok_or_else(|| v.to_string()))
    }

    /// A map flag of booleans (`--feature-gates=A=true,B=false`) as the
    /// components read it: items split on commas, empty ones skipped, name
    /// and value trimmed, the value one of the words Go's strconv reads as a
    /// boolean, a later item for the same name replacing an earlier one.
    /// In the order the names first appear. `Err` names an item the
    /// component would refuse at start.
    pub fn gates(&self, name: &str) -> Result<Vec<(String, bool)>, String> {
        self.get(name).map_or(Ok(Vec::new()), |value| gates(name, value))
    }

    /// Sets flag `name` to `value` in place of every occurrence on the
    /// command line (`None`: as if it were not given).
    pub fn replace(&mut self, name: &str, value: Option<String>) {
        self.flags.retain(|(n, _)| n != name);
        self.unknown.retain(|(n, _)| n != name);
        if let Some(value) = value {
            self.flags.push((name.to_string(), Some(value)));
        }
    }

    /// Records that the flag's value is not what the command line shows
    /// (it is filled in when the component starts), with why.
    pub fn mark_unknown(&mut self, name: &str, why: String) {
        self.unknown.push((name.to_string(), why));
    }

    /// Why the flag's value cannot be known, if it cannot: a judgement of
    /// it would judge a guess.
    pub fn unknown(&self, name: &str) -> Option<&str> {
        self.unknown.iter().rev().find(|(n, _)| n == name).map(|(_, why)| why.as_str())
    }

    /// Every occurrence of every flag with its value, in order.
    pub fn flags(&self) -> impl Iterator<Item = (&str, &str)> {
        self.flags.iter().map(|(n, v)| (n.as_str(), v.as_deref().unwrap_or("true")))
    }

    /// Words that are not flags.
    pub fn positional(&self) -> &[String] {
        &self.positional
    }
}

/// A word Go's `strconv.ParseBool` reads as a boolean (`1`, `t`, `TRUE`,
/// `False`, ...), as the components' boolean flags do.
pub fn go_bool(word: &str) -> Option<bool> {
    match word {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// The value of map flag `name` of booleans read as [`Args::gates`] reads it.
pub fn gates(name: &str, value: &str) -> Result<Vec<(String, bool)>, String> {
    let mut gates: Vec<(String, bool)> = Vec::new();
    for item in value.split(',').filter(|item| !item.is_empty()) {
        let Some((gate, on)) = item.split_once('=') else {
            return Err(format!("--{name}: {item:?} is not name=true or name=false"));
        };
        let on = go_bool(on.trim()).ok_or_else(|| format!("--{name}: {gate}={:?} is not a boolean", on.trim()))?;
        let gate = gate.trim();
        match gates.iter_mut().find(|(g, _)| g == gate) {
            Some((_, was)) => *was = on,
            None => gates.push((gate.to_string(), on)),
        }
    }
    Ok(gates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_and_space_forms() {
        let a = Args::parse(&["etcd", "--data-dir=/var/lib/etcd", "--name", "cp-1", "--client-cert-auth"]);
        assert_eq!(a.get("data-dir"), Some("/var/lib/etcd"));
        assert_eq!(a.get("name"), Some("cp-1"));
        assert_eq!(a.bool("client-cert-auth"), Some(Ok(true)));
    }

    #[test]
    fn repeated_flags_last_wins() {
        let a = Args::parse(&["kubelet", "--v=2", "--v=4"]);
        assert_eq!(a.get("v"), Some("4"));
        assert_eq!(a.all("v"), vec!["2", "4"]);
    }

    #[test]
    fn repeated_list_flags_add_up_as_pflag_appends_them() {
        let a = Args::parse(&[
            "kube-apiserver",
            "--disable-admission-plugins=NamespaceLifecycle",
            "--v=2",
            "--disable-admission-plugins",
            "Foo,Bar",
            "--disable-admission-plugins=",
            "--feature-gates=A=false",
            "--feature-gates=A=true",
        ]);
        assert_eq!(a.list("disable-admission-plugins").unwrap(), ["NamespaceLifecycle", "Foo", "Bar"]);
        assert_eq!(a.all("disable-admission-plugins"), ["NamespaceLifecycle,Foo,Bar,"]);
        assert_eq!(a.get("feature-gates"), Some("A=false,A=true"));
        assert_eq!(a.gates("feature-gates"), Ok(vec![("A".to_string(), true)]));
        // A scalar flag's last occurrence still replaces the others.
        let b = Args::parse(&["kube-apiserver", "--profiling=false", "--profiling=true"]);
        assert_eq!(b.all("profiling"), ["false", "true"]);
        let kubelet = Args::parse_with(
            &["kubelet", "--authorization-mode=Webhook", "--authorization-mode=AlwaysAllow"],
            &[],
            &["authorization-mode"],
        );
        assert_eq!(kubelet.get("authorization-mode"), Some("AlwaysAllow"));
    }

    #[test]
    fn feature_gates_read_as_the_components_read_them() {
        let gates = |v: &str| Args::parse(&["kubelet", &format!("--feature-gates={v}")]).gates("feature-gates");
        assert_eq!(
            gates(" A = 0 ,B=T,,C=true,A=True"),
            Ok(vec![("A".to_string(), true), ("B".to_string(), true), ("C".to_string(), true)])
        );
        assert_eq!(gates("A=f"), Ok(vec![("A".to_string(), false)]));
        assert!(gates("A").unwrap_err().contains("\"A\""));
        assert!(gates("A=yes").unwrap_err().contains("\"yes\""));
        assert_eq!(Args::parse(&["kubelet"]).gates("feature-gates"), Ok(vec![]));
    }

    #[test]
    fn boolean_flag_does_not_take_next_word_when_known() {
        let a = Args::parse_with_bools(&["kube-apiserver", "--profiling", "false"], &["profiling"]);
        assert_eq!(a.bool("profiling"), Some(Ok(true)));
        assert_eq!(a.positional(), &["false".to_string()]);
    }

    #[test]
    fn negative_number_is_a_value() {
        let a = Args::parse(&["kubelet", "--pod-max-pids", "-1"]);
        assert_eq!(a.get("pod-max-pids"), Some("-1"));
    }

    #[test]
    fn bad_boolean_is_reported() {
        let a = Args::parse(&["x", "--anonymous-auth=maybe"]);
        assert_eq!(a.bool("anonymous-auth"), Some(Err("maybe".to_string())));
    }

    #[test]
    fn double_dash_ends_flags() {
        let a = Args::parse(&["x", "--", "--not-a-flag"]);
        assert!(!a.has("not-a-flag"));
        assert_eq!(a.positional(), &["--not-a-flag".to_string()]);
    }
}
