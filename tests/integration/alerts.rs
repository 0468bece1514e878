//! The operations files against the real tools and binaries: promtool checks
//! the alert rules and runs their unit tests, and every metric the rules and
//! the Grafana dashboard name is one that `rolecall operator` or `rolecall
//! scim` really exports on /metrics.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::harness::{Operator, Sidecar, client, kubectl_apply, namespace, secret, wait_for};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const ALERTS: &str = "charts/rolecall/files/alerts.yaml";
const ALERT_TESTS: &str = "tests/promtool/alerts.test.yaml";
const DASHBOARD: &str = "charts/rolecall/files/dashboard.json";

fn promtool() -> Command {
    let path = repo().join("testenv/bin/promtool");
    assert!(path.exists(), "{} is missing: run `make ops-tools` (testenv/ops-tools.sh) to build it", path.display());
    let mut cmd = Command::new(path);
    cmd.current_dir(repo());
    cmd
}

fn run(mut cmd: Command) -> (bool, String) {
    let out = cmd.output().expect("promtool runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn promtool_accepts_the_rules_and_every_alert_fires_and_clears_in_its_unit_tests() {
    let mut check = promtool();
    check.args(["check", "rules", ALERTS]);
    let (ok, out) = run(check);
    println!("promtool check rules {ALERTS}:\n{out}");
    assert!(ok && out.contains("SUCCESS"), "{out}");

    let mut test = promtool();
    test.args(["test", "rules", ALERT_TESTS]);
    let (ok, out) = run(test);
    println!("promtool test rules {ALERT_TESTS}:\n{out}");
    assert!(ok && out.contains("SUCCESS"), "{out}");

    // Every alert has a test that sees it fire and one that sees it quiet.
    let tests: serde_yaml::Value = serde_yaml::from_str(&read(ALERT_TESTS)).expect("alert tests parse");
    let mut firing = BTreeSet::new();
    let mut quiet = BTreeSet::new();
    for case in tests["tests"].as_sequence().expect("tests") {
        for eval in case["alert_rule_test"].as_sequence().expect("alert_rule_test") {
            let name = eval["alertname"].as_str().expect("alertname").to_string();
            if eval["exp_alerts"].as_sequence().is_some_and(|a| a.is_empty()) {
                quiet.insert(name);
            } else {
                firing.insert(name);
            }
        }
    }
    let alerts = alert_names();
    println!("{} alerts; tests see {} of them fire and {} stay quiet", alerts.len(), firing.len(), quiet.len());
    assert_eq!(firing, alerts, "every alert is seen firing");
    assert_eq!(quiet, alerts, "every alert is seen staying quiet");
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn rules() -> Vec<serde_yaml::Value> {
    let doc: serde_yaml::Value = serde_yaml::from_str(&read(ALERTS)).expect("alerts.yaml parses");
    let groups = doc["groups"].as_sequence().expect("groups");
    groups.iter().flat_map(|g| g["rules"].as_sequence().cloned().unwrap_or_default()).collect()
}

fn alert_names() -> BTreeSet<String> {
    rules().iter().filter_map(|r| r["alert"].as_str().map(str::to_string)).collect()
}

/// Every PromQL expression in the rules and the dashboard (panel targets and
/// the variables' `label_values(METRIC, label)` queries), with where it is.
fn expressions() -> Vec<(String, String)> {
    let mut exprs: Vec<(String, String)> = rules()
        .iter()
        .map(|r| (format!("alert {}", r["alert"].as_str().unwrap_or("?")), r["expr"].as_str().expect("expr").to_string()))
        .collect();
    let dashboard: serde_json::Value = serde_json::from_str(&read(DASHBOARD)).expect("dashboard.json parses");
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                exprs.push((format!("panel {:?}", panel["title"].as_str().unwrap_or("?")), expr.to_string()));
            }
        }
    }
    for variable in dashboard["templating"]["list"].as_array().expect("templating") {
        if let Some(query) = variable["definition"].as_str().and_then(|q| q.strip_prefix("label_values(")) {
            let metric = query.split(',').next().unwrap_or_default().trim();
            exprs.push((format!("variable {:?}", variable["name"].as_str().unwrap_or("?")), metric.to_string()));
        }
    }
    exprs
}

/// Words PromQL reserves, and its aggregation operators: never metric names.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
    "inf",
    "nan",
];
/// Keywords followed by a list of label names in parentheses.
const LABEL_LISTS: &[&str] = &["by", "without", "on", "ignoring", "group_left", "group_right"];

/// The metric names a PromQL expression selects: identifiers that are not
/// functions (followed by `(`), keywords, label names (inside `{...}` or the
/// label lists of `by`, `on`...), strings, numbers or durations.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    // Blank out strings, label matchers and range selectors.
    let chars: Vec<char> = expr.chars().collect();
    let mut cleaned = String::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            quote @ ('"' | '\'' | '`') => {
                i += 1;
                while i < chars.len() && chars[i] != quote {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                cleaned.push(' ');
            }
            open @ ('{' | '[') => {
                let close = if open == '{' { '}' } else { ']' };
                while i < chars.len() && chars[i] != close {
                    if matches!(chars[i], '"' | '\'' | '`') {
                        let quote = chars[i];
                        i += 1;
                        while i < chars.len() && chars[i] != quote {
                            i += if chars[i] == '\\' { 2 } else { 1 };
                        }
                    }
                    i += 1;
                }
                cleaned.push(' ');
            }
            c => cleaned.push(c),
        }
        i += 1;
    }
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let chars: Vec<char> = cleaned.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_word(chars[i]) || chars[i] == '$' {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_word(chars[i]) {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let preceded_by_dollar = start > 0 && chars[start - 1] == '$';
        let mut next = i;
        while next < chars.len() && chars[next].is_whitespace() {
            next += 1;
        }
        let called = next < chars.len() && chars[next] == '(';
        if called && LABEL_LISTS.contains(&word.as_str()) {
            // Skip the list of label names.
            while next < chars.len() && chars[next] != ')' {
                next += 1;
            }
            i = next;
            continue;
        }
        let numeric = word.chars().next().is_some_and(|c| c.is_ascii_digit());
        if !called && !numeric && !preceded_by_dollar && !KEYWORDS.contains(&word.to_lowercase().as_str()) {
            names.insert(word);
        }
    }
    names
}

/// Every sample name a /metrics text can show: the samples present, and for
/// each announced family (prometheus-client announces a family before its first
/// sample) the names its samples will have.
fn exported_names(exposition: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in exposition.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let (Some(name), Some(kind)) = (parts.next(), parts.next()) else { continue };
            match kind {
                "counter" => {
                    names.insert(format!("{name}_total"));
                }
                "histogram" => {
                    for suffix in ["", "_bucket", "_sum", "_count"] {
                        names.insert(format!("{name}{suffix}"));
                    }
                }
                _ => {
                    names.insert(name.to_string());
                }
            }
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let name: String = line.chars().take_while(|c| *c != '{' && !c.is_whitespace()).collect();
            names.insert(name);
        }
    }
    names
}

/// A name's family: histogram series are named by their family plus a suffix.
fn family(name: &str) -> &str {
    ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name)
}

#[test]
fn metric_names_are_read_from_promql() {
    let names = |e: &str| metric_names(e).into_iter().collect::<Vec<_>>();
    assert_eq!(
        names(r#"sum by (namespace, controller) (increase(rolecall_reconcile_errors_total{code=~"4..", x!="a}b"}[15m])) >= 3"#),
        ["rolecall_reconcile_errors_total"]
    );
    assert_eq!(names("(sum(max_over_time(rolecall_leader[2m])) < 1) or absent(rolecall_leader)"), ["rolecall_leader"]);
    assert_eq!(names("(time() - a_seconds) > 2 * b_seconds and on(instance) group_left(hub) c offset 5m"), ["a_seconds", "b_seconds", "c"]);
    assert_eq!(
        names(
            r#"histogram_quantile(0.99, sum by (le) (rate(rolecall_hub_sync_duration_seconds_bucket{namespace=~"$namespace"}[$__rate_interval])))"#
        ),
        ["rolecall_hub_sync_duration_seconds_bucket"]
    );
    assert_eq!(family("x_seconds_bucket"), "x_seconds");
    let exported = exported_names(
        "# TYPE rolecall_reconciles counter\n# TYPE rolecall_x_seconds histogram\n# TYPE rolecall_leader gauge\nrolecall_leader 1\n",
    );
    assert!(exported.contains("rolecall_reconciles_total") && exported.contains("rolecall_x_seconds_bucket"), "{exported:?}");
    assert!(!exported.contains("rolecall_reconciles"), "a counter's samples end in _total");
}

#[tokio::test]
async fn every_metric_the_rules_and_the_dashboard_name_is_exported_by_the_operator_or_the_sidecar() {
    let client = client().await;
    let ns = namespace(&client, "ops-metrics").await;
    secret(&client, &ns, "idp-tokens", "token").await;
    let (ok, out) = kubectl_apply(&format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: IdPBinding\nmetadata: {{name: entra, namespace: {ns}}}\nspec: {{provider: Entra, tokenSecretRef: {{name: idp-tokens}}}}\n"
    ));
    assert!(ok, "{out}");

    let operator = Operator::start(&ns, "rolecall", "ops-metrics", &[]);
    let sidecar_metrics = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port");
    let sidecar = Sidecar::start_with(&ns, "test-value", &["--metrics-addr", &sidecar_metrics.to_string()]).await;
    // One refused request, so the sidecar's request family has a series too.
    let (status, _) = sidecar.with_token("wrong").get("/Users").await;
    assert_eq!(status, 401);
    wait_for(Duration::from_secs(60), "the operator to lead", || async { operator.metrics().contains("rolecall_leader 1") }).await;

    let scrape = |addr| crate::http::request(addr, "GET", "/metrics", &[], None).map(|r| r.body).unwrap_or_default();
    let operator_text = scrape(operator.metrics_addr);
    let sidecar_text = scrape(sidecar_metrics);
    assert!(sidecar_text.contains("rolecall_scim_requests_total{method=\"GET\",resource=\"Users\",code=\"401\"} 1"), "{sidecar_text}");
    let mut exported = exported_names(&operator_text);
    exported.extend(exported_names(&sidecar_text));

    let mut checked = BTreeSet::new();
    let mut missing = Vec::new();
    for (place, expr) in expressions() {
        let names = metric_names(&expr);
        assert!(!names.is_empty(), "{place}: no metric name found in {expr:?}");
        for name in names {
            if !exported.contains(&name) {
                missing.push(format!("{place}: {name} (family {})", family(&name)));
            }
            checked.insert(name);
        }
    }
    println!(
        "metric coverage: {} expressions name {} distinct metrics; the operator and the sidecar export {} sample names; missing: {}",
        expressions().len(),
        checked.len(),
        exported.len(),
        missing.len()
    );
    for name in &checked {
        println!("  {name}");
    }
    assert!(missing.is_empty(), "named in the rules or the dashboard but not exported:\n{}", missing.join("\n"));
}
