//! Each CEL rule of the CRDs rejects a bad object with a clear message, and
//! lets the corrected object through (so no test passes by rejecting everything).

use crate::harness::{client, kubectl_apply};

fn grant(name: &str, spec: &str) -> String {
    format!("apiVersion: rolecall.dev/v1alpha1\nkind: AccessGrant\nmetadata: {{name: {name}, namespace: default}}\nspec:\n{spec}")
}

fn hub(name: &str, connector: &str, extra: &str) -> String {
    format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: BusinessHub\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  connector:\n    credentialsSecretRef: {{name: creds}}\n    url: https://127.0.0.1:9/scim/v2\n{connector}{extra}"
    )
}

fn account(name: &str, hub: &str, email: &str) -> String {
    format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: AppAccount\nmetadata: {{name: {name}, namespace: default}}\nspec: {{hub: {hub}, email: {email}}}\n"
    )
}

fn rejected(yaml: &str, message: &str) {
    let (ok, out) = kubectl_apply(yaml);
    assert!(!ok, "the API server accepted an invalid object:\n{yaml}\n{out}");
    assert!(out.contains(message), "expected {message:?} in the rejection, got: {out}");
}

fn accepted(yaml: &str) {
    let (ok, out) = kubectl_apply(yaml);
    assert!(ok, "the API server rejected a valid object:\n{yaml}\n{out}");
}

#[tokio::test]
async fn a_grant_names_exactly_one_subject() {
    client().await;
    let message = "a grant names exactly one subject";
    rejected(&grant("both-subjects", "  subject: {team: eng, user: alice}\n  hub: github\n"), message);
    rejected(&grant("no-subject", "  subject: {}\n  hub: github\n"), message);
    accepted(&grant("one-subject", "  subject: {team: eng}\n  hub: github\n"));
}

#[tokio::test]
async fn a_grant_targets_exactly_one_hub_or_collection() {
    client().await;
    let message = "a grant targets exactly one of spec.hub or spec.hubSelector";
    rejected(&grant("two-targets", "  subject: {team: eng}\n  hub: github\n  hubSelector: {matchLabels: {tier: eng}}\n"), message);
    rejected(&grant("no-target", "  subject: {team: eng}\n"), message);
    accepted(&grant("collection", "  subject: {team: eng}\n  hubSelector: {matchLabels: {tier: eng}}\n"));
}

#[tokio::test]
async fn only_an_owner_grant_may_omit_the_seat() {
    client().await;
    let message = "only an Owner grant may go without a seat";
    rejected(&grant("seatless-manager", "  subject: {user: bob}\n  hub: github\n  workspaceRole: Manager\n  seat: false\n"), message);
    rejected(&grant("seatless-default", "  subject: {user: bob}\n  hub: github\n  seat: false\n"), message);
    accepted(&grant("seatless-owner", "  subject: {user: bob}\n  hub: github\n  workspaceRole: Owner\n  seat: false\n"));
}

#[tokio::test]
async fn a_hub_removal_limit_is_positive() {
    client().await;
    let message = "maxRemovalsPerWindow must be positive";
    rejected(&hub("zero-limit", "    type: Scim\n", "  safety: {maxRemovalsPerWindow: 0}\n"), message);
    rejected(&hub("negative-limit", "    type: Scim\n", "  safety: {maxRemovalsPerWindow: -3}\n"), message);
    accepted(&hub("positive-limit", "    type: Scim\n", "  safety: {maxRemovalsPerWindow: 1}\n"));
}

#[tokio::test]
async fn hub_role_names_are_unique() {
    client().await;
    rejected(
        &hub("duplicate-roles", "    type: Scim\n", "  roles: [{name: member, weight: 1}, {name: member, weight: 5}]\n"),
        "role names must be unique",
    );
    accepted(&hub("distinct-roles", "    type: Scim\n", "  roles: [{name: member, weight: 1}, {name: admin, weight: 5}]\n"));
}

#[tokio::test]
async fn a_github_hub_names_its_organization() {
    client().await;
    let message = "a GitHub connector needs spec.connector.organization";
    rejected(&hub("github-no-org", "    type: GitHub\n", ""), message);
    rejected(&hub("github-empty-org", "    type: GitHub\n    organization: ''\n", ""), message);
    accepted(&hub("github-with-org", "    type: GitHub\n    organization: acme-inc\n", ""));
}

#[tokio::test]
async fn an_account_keeps_its_hub() {
    client().await;
    accepted(&account("moving-hub", "github", "a@acme.example"));
    rejected(&account("moving-hub", "slack", "a@acme.example"), "spec.hub is immutable");
}

#[tokio::test]
async fn an_account_keeps_its_email() {
    client().await;
    accepted(&account("changing-email", "github", "b@acme.example"));
    rejected(&account("changing-email", "github", "c@acme.example"), "spec.email is immutable");
}

#[tokio::test]
async fn durations_must_parse() {
    client().await;
    rejected(&hub("bad-interval", "    type: Scim\n", "  syncInterval: five minutes\n"), "spec.syncInterval");
    accepted(&hub("good-interval", "    type: Scim\n", "  syncInterval: 1h30m\n"));
}

#[tokio::test]
async fn meta_and_tiktok_hubs_name_their_business() {
    client().await;
    let message = "Meta and TikTok connectors need spec.connector.organization";
    rejected(&hub("meta-no-business", "    type: Meta\n", ""), message);
    rejected(&hub("tiktok-empty-business", "    type: TikTok\n    organization: ''\n", ""), message);
    accepted(&hub("meta-with-business", "    type: Meta\n    organization: '1000'\n", ""));
    accepted(&hub("tiktok-with-business", "    type: TikTok\n    organization: '7000000000000000001'\n", ""));
}

fn partner(name: &str, partner_id: &str, access: &str) -> String {
    format!(
        "apiVersion: rolecall.dev/v1alpha1\nkind: Partner\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  hub: meta-ads\n  partnerId: '{partner_id}'\n{access}"
    )
}

#[tokio::test]
async fn a_partner_lists_each_asset_once_and_keeps_its_business() {
    client().await;
    let twice = "  access:\n  - {asset: Brand US, role: ANALYZE}\n  - {asset: Brand US, role: MANAGE}\n";
    rejected(&partner("agency-twice", "77", twice), "Duplicate value");
    accepted(&partner("agency", "77", "  access:\n  - {asset: Brand US, role: ANALYZE}\n"));
    rejected(&partner("agency", "78", ""), "spec.partnerId is immutable");
}
