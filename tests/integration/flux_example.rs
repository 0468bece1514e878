//! The Flux example of gitops/flux, checked for structure: without Flux's CRDs
//! the API server cannot dry-run it, so each document must parse, be a kind of
//! Flux's current APIs, name a source that the example defines, and point at
//! the chart and the kustomize tree of this repository.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Flux's current API versions of the kinds the example uses.
const KINDS: &[(&str, &str)] = &[
    ("source.toolkit.fluxcd.io/v1", "GitRepository"),
    ("source.toolkit.fluxcd.io/v1", "HelmRepository"),
    ("helm.toolkit.fluxcd.io/v2", "HelmRelease"),
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
];

fn documents(dir: &Path) -> Vec<(String, serde_yaml::Value)> {
    let mut docs = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let value = serde_yaml::Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            docs.push((path.strip_prefix(repo()).unwrap_or(&path).display().to_string(), value));
        }
    }
    docs
}

#[test]
fn the_flux_example_parses_uses_fluxs_apis_and_its_references_resolve() {
    let docs = documents(&repo().join("gitops/flux"));
    let mut sources = BTreeSet::new();
    for (file, doc) in &docs {
        let (api, kind) = (doc["apiVersion"].as_str().unwrap_or_default(), doc["kind"].as_str().unwrap_or_default());
        assert!(KINDS.contains(&(api, kind)), "{file}: {api} {kind} is not one of Flux's current kinds");
        assert!(
            doc["metadata"]["name"].as_str().is_some() && doc["metadata"]["namespace"].as_str().is_some(),
            "{file}: name and namespace"
        );
        if kind.ends_with("Repository") {
            sources.insert((kind.to_string(), doc["metadata"]["name"].as_str().unwrap_or_default().to_string()));
        }
    }
    let mut checked = Vec::new();
    for (file, doc) in &docs {
        let kind = doc["kind"].as_str().unwrap_or_default();
        let (source, path) = match kind {
            "HelmRelease" => (&doc["spec"]["chart"]["spec"]["sourceRef"], doc["spec"]["chart"]["spec"]["chart"].as_str()),
            "Kustomization" => (&doc["spec"]["sourceRef"], doc["spec"]["path"].as_str()),
            _ => continue,
        };
        let named = (source["kind"].as_str().unwrap_or_default().to_string(), source["name"].as_str().unwrap_or_default().to_string());
        assert!(sources.contains(&named), "{file}: its sourceRef {named:?} is not defined in gitops/flux");
        let path = path.unwrap_or_else(|| panic!("{file}: no path"));
        checked.push(format!("{kind} -> {} {path}", named.1));
        // The chart and the kustomize tree this repository ships.
        let expected = if kind == "HelmRelease" { "./charts/rolecall" } else { "./config/default" };
        assert_eq!(path, expected, "{file}");
        let top = path.trim_start_matches("./").split('/').next().unwrap_or_default();
        assert!(repo().join(top).is_dir(), "{file}: {top}/ is not in this repository");
    }
    println!("flux example: {} documents; {}", docs.len(), checked.join("; "));
    assert_eq!(checked.len(), 2, "one HelmRelease and one Kustomization: {checked:?}");
}
