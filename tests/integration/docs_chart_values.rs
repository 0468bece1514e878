//! The docs name chart values that exist. docs/ and the README were written
//! apart from the chart once and named values it never had (`replicaCount`,
//! `rbac.clusterWideSecrets`); this reads every place a page names a value and
//! checks it against `charts/rolecall/values.schema.json`, and renders each
//! `values.yaml` block and `--set` with `helm template`, so a page and the chart
//! cannot drift apart again.
//!
//! Where values are named: a fenced yaml block whose first line is
//! `# values.yaml`, every `--set KEY=VALUE`, and, in docs/ and the README's
//! "Install with Helm" section, every `code span` that starts with a top-level
//! value name (`rbac.clusterWide=true`, `scim.tls.*`).

use std::process::Command;

use serde_json::Value as Json;

use crate::harness::kubeconfig;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn schema() -> Json {
    let text = std::fs::read_to_string(format!("{ROOT}/charts/rolecall/values.schema.json")).expect("values.schema.json");
    serde_json::from_str(&text).expect("values.schema.json is JSON")
}

/// Whether the dotted path names a value the schema describes. Below an object
/// whose keys are free (labels, annotations, resources' requests), any key is.
fn in_schema(schema: &Json, path: &str) -> bool {
    let mut node = schema;
    for key in path.split('.') {
        if key == "*" {
            return true;
        }
        match node.get("properties").and_then(|p| p.get(key)) {
            Some(next) => node = next,
            None => return node.get("additionalProperties").is_some_and(Json::is_object),
        }
    }
    true
}

/// Every key path of a YAML mapping, leaves and inner keys alike.
fn key_paths(value: &serde_yaml::Value, prefix: &str, out: &mut Vec<String>) {
    if let Some(map) = value.as_mapping() {
        for (k, v) in map {
            let key = k.as_str().map(str::to_string).unwrap_or_else(|| format!("{k:?}"));
            let path = if prefix.is_empty() { key } else { format!("{prefix}.{key}") };
            out.push(path.clone());
            key_paths(v, &path, out);
        }
    }
}

/// The pages that may name chart values.
fn pages() -> Vec<(String, String)> {
    let mut pages = vec![("README.md".to_string(), std::fs::read_to_string(format!("{ROOT}/README.md")).expect("README"))];
    let mut docs: Vec<_> = std::fs::read_dir(format!("{ROOT}/docs")).expect("docs/").filter_map(Result::ok).map(|e| e.path()).collect();
    docs.sort();
    for path in docs.into_iter().filter(|p| p.extension().is_some_and(|e| e == "md")) {
        let name = format!("docs/{}", path.file_name().unwrap_or_default().to_string_lossy());
        pages.push((name, std::fs::read_to_string(&path).expect("doc page")));
    }
    pages
}

/// Fenced yaml blocks that start with `# values.yaml`.
fn values_blocks(page: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        if line.trim_start().starts_with("```yaml") {
            let block: Vec<&str> = lines.by_ref().take_while(|l| !l.trim_start().starts_with("```")).collect();
            if block.first().is_some_and(|l| l.trim_start().starts_with("# values.yaml")) {
                blocks.push(block.join("\n"));
            }
        }
    }
    blocks
}

/// Every `--set KEY=VALUE` on the page, as (KEY, KEY=VALUE).
fn sets(page: &str) -> Vec<(String, String)> {
    page.split("--set ")
        .skip(1)
        .filter_map(|rest| {
            let arg = rest.split_whitespace().next()?.trim_end_matches(['`', '\\']);
            let (key, _) = arg.split_once('=')?;
            Some((key.to_string(), arg.to_string()))
        })
        .collect()
}

/// `code spans` that start with a top-level value's name.
fn value_spans(text: &str, schema: &Json) -> Vec<String> {
    let top: Vec<&String> = schema.get("properties").and_then(Json::as_object).map(|p| p.keys().collect()).unwrap_or_default();
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| !span.contains(' ') && span.contains('.'))
        .map(|span| span.split('=').next().unwrap_or_default().to_string())
        .filter(|path| path.split('.').next().is_some_and(|first| top.iter().any(|t| t.as_str() == first)))
        .collect()
}

/// The README's "Install with Helm" section.
fn helm_section(readme: &str) -> &str {
    let start = readme.find("## Install with Helm").expect("README has an Install with Helm section");
    let rest = &readme[start + 3..];
    &readme[start..start + 3 + rest.find("\n## ").unwrap_or(rest.len())]
}

fn helm_template(args: &[&str]) -> (bool, String) {
    let chart = format!("{ROOT}/charts/rolecall");
    let out = Command::new(format!("{ROOT}/testenv/bin/helm"))
        .args(["template", "rolecall", chart.as_str(), "--namespace", "rolecall-system"])
        .args(args)
        .env("KUBECONFIG", kubeconfig())
        .output()
        .expect("helm runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn the_docs_name_only_chart_values_that_exist() {
    let schema = schema();
    let mut unknown = Vec::new();
    let mut named = 0;
    let dir = std::env::var("ROLECALL_TESTENV").unwrap_or_else(|_| std::env::temp_dir().to_string_lossy().into_owned());
    for (page, text) in pages() {
        for (i, block) in values_blocks(&text).into_iter().enumerate() {
            let parsed: serde_yaml::Value =
                serde_yaml::from_str(&block).unwrap_or_else(|e| panic!("{page}: values block {i} is not YAML: {e}"));
            let mut paths = Vec::new();
            key_paths(&parsed, "", &mut paths);
            named += paths.len();
            unknown.extend(paths.iter().filter(|p| !in_schema(&schema, p)).map(|p| format!("{page}: values.yaml block: {p}")));
            let file = format!("{dir}/docs-values-{}-{i}.yaml", page.replace('/', "-"));
            std::fs::write(&file, &block).expect("values file");
            let (ok, out) = helm_template(&["-f", &file]);
            assert!(ok, "{page}: helm template -f (its values.yaml block {i}) fails: {out}");
            println!("{page}: values.yaml block {i}: {} keys, all in values.schema.json; helm template renders it", paths.len());
        }
        let page_sets = sets(&text);
        for (key, arg) in &page_sets {
            named += 1;
            if !in_schema(&schema, key) {
                unknown.push(format!("{page}: --set {arg}"));
            }
        }
        if !page_sets.is_empty() {
            let args: Vec<&str> = page_sets.iter().flat_map(|(_, arg)| ["--set", arg.as_str()]).collect();
            let (ok, out) = helm_template(&args);
            assert!(ok, "{page}: helm template {args:?} fails: {out}");
            println!("{page}: {} --set values, helm template renders them", page_sets.len());
        }
        // The README also names hub settings (`scim.roleMapping`), so only its Helm section counts.
        let prose = if page == "README.md" { helm_section(&text).to_string() } else { text.clone() };
        let spans = value_spans(&prose, &schema);
        named += spans.len();
        unknown.extend(spans.iter().filter(|p| !in_schema(&schema, p)).map(|p| format!("{page}: `{p}`")));
        if !spans.is_empty() {
            println!("{page}: {} value names in the text", spans.len());
        }
    }
    println!("docs: {named} chart value names checked against values.schema.json, {} unknown", unknown.len());
    assert!(named > 20, "the check found the docs' values ({named})");
    assert!(unknown.is_empty(), "the docs name values the chart does not have:\n{}", unknown.join("\n"));
}

#[test]
fn the_schema_walk_refuses_what_the_chart_lacks() {
    let schema = schema();
    for known in [
        "replicas",
        "rbac.clusterWide",
        "scim.metricsPort",
        "scim.tls.certManager.issuerRef.name",
        "operator.resources.limits.memory",
        "scim.tls.*",
    ] {
        assert!(in_schema(&schema, known), "{known}");
    }
    for unknown in ["replicaCount", "rbac.clusterWideSecrets", "scim.externalURL", "scim.ingress.enabled"] {
        assert!(!in_schema(&schema, unknown), "{unknown}");
    }
    assert_eq!(
        sets("helm install x \\\n  --set watchNamespaces={acme} --set ingress.host=a.example`"),
        [
            ("watchNamespaces".to_string(), "watchNamespaces={acme}".to_string()),
            ("ingress.host".to_string(), "ingress.host=a.example".to_string())
        ]
    );
}
