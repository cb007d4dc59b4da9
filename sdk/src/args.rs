//! Command-line flags of Kubernetes components, parsed from a process argv
//! or a static pod's `command`, the way Go's pflag reads them.

/// Parsed flags of one command line. Repeated flags keep every value; the
/// accessors return the last one, as pflag does for scalar flags.
///
/// ```
/// use rampart_sdk::args::Args;
/// let a = Args::parse(&["kube-apiserver", "--profiling=false", "--secure-port", "6443",
///     "--authorization-mode=Node,RBAC", "--profiling=true"]);
/// assert_eq!(a.get("secure-port"), Some("6443"));
/// assert_eq!(a.get("profiling"), Some("true")); // last one wins
/// assert_eq!(a.list("authorization-mode"), Some(vec!["Node".to_string(), "RBAC".to_string()]));
/// assert!(a.get("anonymous-auth").is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args {
    program: String,
    flags: Vec<(String, Option<String>)>,
    positional: Vec<String>,
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
        let mut args = Args::default();
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
                args.flags.push((name.to_string(), Some(value.to_string())));
                continue;
            }
            let takes_next =
                !bools.contains(&body) && words.get(i).is_some_and(|next| !next.starts_with('-') || next.parse::<f64>().is_ok());
            if takes_next {
                args.flags.push((body.to_string(), Some(words[i].to_string())));
                i += 1;
            } else {
                args.flags.push((body.to_string(), None));
            }
        }
        args
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

    /// The last value split on commas (`--enable-admission-plugins=A,B`).
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
    }

    /// A boolean flag: `Some(Ok(b))` when set to a word Go's strconv accepts,
    /// `Some(Err(value))` when set to anything else, `None` when unset.
    pub fn bool(&self, name: &str) -> Option<Result<bool, String>> {
        self.get(name).map(|v| match v {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            other => Err(other.to_string()),
        })
    }

    /// Words that are not flags.
    pub fn positional(&self) -> &[String] {
        &self.positional
    }
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
