//! The TikTok Business Center stand-in (`tests/tiktok/standin.py`): one
//! Business Center on loopback speaking the Business API v1.3 in TikTok's
//! shapes, with a QPS budget, faults and a call record. This file starts it,
//! drives its admin port, and tests the stand-in itself with plain HTTP (no
//! connector): its answers keep the shapes of the examples it was written from
//! (`tests/tiktok/examples/`), so a connector test failing against it can trust
//! what it answers.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::standin_process::StandInProcess;

pub const BC_ID: &str = "7000000000000000001";

/// How to start a stand-in. `Default`: Business Center `BC_ID`, TikTok's default 10 requests a second.
#[derive(Debug, Clone)]
pub struct StandInOptions {
    pub bc_id: String,
    pub qps: u32,
    pub qpm: u32,
}

impl Default for StandInOptions {
    fn default() -> Self {
        StandInOptions { bc_id: BC_ID.into(), qps: 10, qpm: 0 }
    }
}

/// One call the stand-in answered on its API port.
#[derive(Debug, Clone, Deserialize)]
pub struct Call {
    pub method: String,
    pub path: String,
    /// The path after `/open_api/v1.3/` (`bc/member/get/`).
    pub endpoint: Option<String>,
    #[serde(default)]
    pub query: serde_json::Map<String, Value>,
    pub request_body: Option<Value>,
    /// TikTok's return code (0: fine).
    pub code: Option<i64>,
    pub http_status: u16,
    pub fault: Option<String>,
    pub write: bool,
    pub at: f64,
    /// How long the stand-in took to answer (its answer left at `at + duration`).
    #[serde(default)]
    pub duration: f64,
}

impl Call {
    /// A write: TikTok's Business API writes with POST and reads with GET.
    pub fn is_write(&self) -> bool {
        self.write && self.method == "POST"
    }

    pub fn is(&self, endpoint: &str) -> bool {
        self.endpoint.as_deref() == Some(endpoint)
    }

    /// Answered code 0 with HTTP 200, no fault.
    pub fn fine(&self) -> bool {
        self.code == Some(0) && self.http_status == 200 && self.fault.is_none()
    }
}

pub struct TikTokStandIn {
    pub process: StandInProcess,
    pub token: String,
}

impl TikTokStandIn {
    pub async fn start(options: StandInOptions) -> TikTokStandIn {
        let token = format!("tt{}", uuid::Uuid::new_v4().simple());
        let args = ["--token", &token, "--bc-id", &options.bc_id, "--qps", &options.qps.to_string(), "--qpm", &options.qpm.to_string()]
            .map(String::from);
        TikTokStandIn { process: StandInProcess::start("tiktok", &args).await, token }
    }

    /// The API base as a hub names it (like `https://business-api.tiktok.com/open_api`).
    pub fn base_url(&self) -> String {
        format!("{}/open_api", self.process.base_url())
    }

    /// Every call on the API port so far, in order.
    pub async fn calls(&self) -> Vec<Call> {
        self.process.calls().await
    }

    pub async fn clear_calls(&self) {
        self.process.clear_calls().await;
    }

    /// `{"members":[...],"invitations":[...],"assets":[...],"partners":[...]}`
    pub async fn state(&self) -> Value {
        self.process.state().await
    }

    /// An asset of the Business Center: `kind` ADVERTISER, CATALOG, TIKTOK_SHOP, LEAD or TT_ACCOUNT.
    pub async fn add_asset(&self, kind: &str, name: &str, id: &str) -> Value {
        self.process.admin_post("/assets", json!({"type": kind, "name": name, "id": id})).await
    }

    pub async fn remove_asset(&self, id: &str) {
        let (status, answer) = self.process.admin_call(reqwest::Method::DELETE, &format!("/assets/{id}"), None).await;
        assert_eq!(status, 200, "{answer}");
    }

    /// A member from before rolecall: `role` ADMIN or STANDARD, `assets` asset id → role.
    pub async fn seed_member(&self, email: &str, role: &str, assets: &[(&str, Value)]) -> Value {
        let assets: serde_json::Map<String, Value> = assets.iter().map(|(id, role)| (id.to_string(), role.clone())).collect();
        self.process.admin_post("/members", json!({"email": email, "role": role, "assets": assets})).await
    }

    /// A partner business holding shared assets (asset id → role).
    pub async fn add_partner(&self, id: &str, name: &str, assets: &[(&str, &str)]) -> Value {
        let assets: serde_json::Map<String, Value> = assets.iter().map(|(a, r)| (a.to_string(), json!(r))).collect();
        self.process.admin_post("/partners", json!({"id": id, "name": name, "assets": assets})).await
    }

    pub async fn accept_invitation(&self, email: &str) -> Value {
        self.process.admin_post(&format!("/invitations/{email}/accept"), json!({})).await
    }

    pub async fn decline_invitation(&self, email: &str) -> Value {
        self.process.admin_post(&format!("/invitations/{email}/decline"), json!({})).await
    }

    pub async fn expire_invitation(&self, email: &str) -> Value {
        self.process.admin_post(&format!("/invitations/{email}/expire"), json!({})).await
    }

    /// The permissions the app keeps; the others answer 40001.
    pub async fn set_scopes(&self, scopes: &[&str]) -> Value {
        self.process.admin_post("/scopes", json!({"scopes": scopes})).await
    }

    /// `{"kind": "throttle|permission|500|502|timeout|drop|malformed", "count": N, "method": .., "path_prefix": .., "delay": s, "performed": bool}`
    pub async fn inject_fault(&self, fault: Value) -> Value {
        self.process.admin_post("/faults", fault).await
    }

    /// `{"qps": N, "qpm": N}`
    pub async fn set_limits(&self, limits: Value) -> Value {
        self.process.admin_post("/limits", limits).await
    }

    /// The member with this email, if the Business Center has one.
    pub async fn member(&self, email: &str) -> Option<Value> {
        self.state().await["members"]
            .as_array()?
            .iter()
            .find(|m| m["user_email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(email)))
            .cloned()
    }

    /// The invitation for this email, if any (PENDING or REJECTED).
    pub async fn invitation(&self, email: &str) -> Option<Value> {
        self.state().await["invitations"]
            .as_array()?
            .iter()
            .find(|i| i["email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(email)))
            .cloned()
    }

    /// Asset id → the role `user_id` holds on it.
    pub async fn holdings(&self, user_id: &str) -> std::collections::BTreeMap<String, Value> {
        let state = self.state().await;
        state["assets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| Some((a["asset_id"].as_str()?.to_string(), a["holders"].get(user_id)?.clone())))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Tests of the stand-in itself, with a plain HTTP client as a connector would.
// ---------------------------------------------------------------------------

fn examples_dir() -> String {
    format!("{}/tests/tiktok/examples", env!("CARGO_MANIFEST_DIR"))
}

pub fn example(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/{name}.json", examples_dir())).expect("example readable");
    serde_json::from_str(&text).expect("example is JSON")
}

/// Where `got` differs from `want` in shape: keys, and JSON types, level by level (lists by their first item).
pub fn shape_differences(want: &Value, got: &Value, at: &str) -> Vec<String> {
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    };
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            let mut out = Vec::new();
            for key in w.keys().filter(|k| !g.contains_key(*k)) {
                out.push(format!("{at}.{key}: missing"));
            }
            for key in g.keys().filter(|k| !w.contains_key(*k)) {
                out.push(format!("{at}.{key}: not in the example"));
            }
            for (key, value) in w {
                if let Some(other) = g.get(key) {
                    out.extend(shape_differences(value, other, &format!("{at}.{key}")));
                }
            }
            out
        }
        (Value::Array(w), Value::Array(g)) => match (w.first(), g.first()) {
            (Some(w), Some(g)) => shape_differences(w, g, &format!("{at}[0]")),
            (Some(_), None) => vec![format!("{at}: an empty list where the example has items")],
            _ => Vec::new(),
        },
        (w, g) if kind(w) == kind(g) => Vec::new(),
        (w, g) => vec![format!("{at}: {} in the example, {} in the answer", kind(w), kind(g))],
    }
}

/// Every field a request names (body keys, query parameters, `filtering` keys), as `endpoint:field`.
pub fn request_fields(endpoint: &str, query: &serde_json::Map<String, Value>, body: Option<&Value>) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for (key, value) in query {
        out.insert(format!("{endpoint}:{key}"));
        if key == "filtering"
            && let Some(filter) = value.as_str().and_then(|t| serde_json::from_str::<Value>(t).ok())
        {
            for k in filter.as_object().into_iter().flatten().map(|(k, _)| k) {
                out.insert(format!("{endpoint}:filtering.{k}"));
            }
        }
    }
    if let Some(Value::Object(body)) = body {
        for (key, value) in body {
            out.insert(format!("{endpoint}:{key}"));
            for k in value.as_object().into_iter().flatten().map(|(k, _)| k) {
                out.insert(format!("{endpoint}:{key}.{k}"));
            }
        }
    }
    out
}

/// The fields the examples' requests name (every `request*` of every example).
pub fn documented_request_fields() -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(examples_dir()).expect("examples") {
        let path = entry.expect("entry").path();
        let Ok(value) = serde_json::from_str::<Value>(&std::fs::read_to_string(&path).expect("readable")) else { continue };
        let Some(endpoint) = value["endpoint"].as_str().and_then(|e| e.split("/open_api/v1.3/").nth(1)) else { continue };
        for (key, request) in value.as_object().into_iter().flatten().filter(|(k, _)| k.starts_with("request")) {
            let _ = key;
            let query = request["query"].as_object().cloned().unwrap_or_default();
            out.extend(request_fields(endpoint, &query, request.get("body")));
        }
    }
    // The documented filters the examples do not show (TikTok's SDK `Filtering*` models).
    for extra in [
        "bc/asset/get/:filtering.user_id",
        "bc/asset/get/:filtering.keyword",
        "bc/member/get/:filtering.keyword",
        "bc/asset/assign/:advertiser_role",
        "bc/asset/assign/:tt_account_roles",
        "bc/asset/assign/:store_role",
        "bc/asset/assign/:form_library_role",
        "bc/partner/add/:catalog_role",
    ] {
        out.insert(extra.to_string());
    }
    out
}

pub struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    pub fn new(standin: &TikTokStandIn) -> Api {
        Api {
            http: reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client"),
            base: format!("{}/v1.3/", standin.base_url()),
            token: standin.token.clone(),
        }
    }

    pub async fn get(&self, endpoint: &str, query: &serde_json::Map<String, Value>) -> Value {
        let pairs: Vec<(String, String)> =
            query.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect();
        let response = self
            .http
            .get(format!("{}{endpoint}", self.base))
            .header("Access-Token", &self.token)
            .query(&pairs)
            .send()
            .await
            .expect("GET answers");
        response.json().await.expect("JSON envelope")
    }

    pub async fn post(&self, endpoint: &str, body: &Value) -> Value {
        let response = self
            .http
            .post(format!("{}{endpoint}", self.base))
            .header("Access-Token", &self.token)
            .json(body)
            .send()
            .await
            .expect("POST answers");
        response.json().await.expect("JSON envelope")
    }

    /// Sends an example's request; answers the envelope.
    pub async fn send_example(&self, example: &Value) -> Value {
        let endpoint = example["endpoint"].as_str().expect("endpoint");
        let (method, path) = endpoint.split_once(' ').expect("METHOD PATH");
        let endpoint = path.trim_start_matches("/open_api/v1.3/");
        if method == "GET" {
            self.get(endpoint, example["request"]["query"].as_object().expect("query")).await
        } else {
            self.post(endpoint, &example["request"]["body"]).await
        }
    }
}

/// The stand-in seeded as the examples describe: member ann (STANDARD, finance ANALYST) holding catalog
/// 7200000000000000002 as AD_PROMOTE, ad account 7200000000000000001, partner 7000000000000000099 sharing it.
async fn seeded_like_the_examples() -> (TikTokStandIn, String) {
    // No QPS budget: fourteen calls in a row are not what this test is about.
    let standin = TikTokStandIn::start(StandInOptions { bc_id: BC_ID.into(), qps: 0, ..Default::default() }).await;
    standin.add_asset("ADVERTISER", "Brand US", "7200000000000000001").await;
    standin.add_asset("CATALOG", "Spring catalog", "7200000000000000002").await;
    let ann = standin
        .process
        .admin_post("/members", json!({"email": "ann@acme.io", "name": "ann", "role": "STANDARD", "finance_role": "ANALYST", "assets": {"7200000000000000002": "AD_PROMOTE"}}))
        .await;
    standin.add_partner("7000000000000000099", "Agency One", &[("7200000000000000001", "ANALYST")]).await;
    (standin, ann["user_id"].as_str().expect("user id").to_string())
}

#[tokio::test]
async fn the_stand_in_answers_in_the_documented_shapes() {
    let (standin, ann) = seeded_like_the_examples().await;
    let api = Api::new(&standin);
    // In an order the state allows: reads first, then the writes, each on what the examples name.
    let order = [
        "bc_get",
        "bc_member_get",
        "bc_asset_get",
        "bc_asset_member_get",
        "bc_partner_get",
        "bc_partner_asset_get",
        "bc_member_invite",
        "bc_asset_get_for_invitee",
        "bc_asset_assign",
        "bc_asset_unassign",
        "bc_member_update",
        "bc_partner_add",
        "bc_partner_asset_delete",
        "bc_member_delete",
    ];
    let mut checked = 0;
    for name in order {
        let mut example = example(name);
        // The examples' user id is ann's, whatever id the stand-in gave her.
        let text = example.to_string().replace("7100000000000000002", &ann);
        example = serde_json::from_str(&text).expect("JSON");
        let answer = api.send_example(&example).await;
        assert_eq!(answer["code"], 0, "{name}: {answer}");
        let differences = shape_differences(&example["response"], &answer, name);
        assert!(differences.is_empty(), "{name}: the stand-in's answer is not the example's shape:\n{}\n{answer}", differences.join("\n"));
        checked += 1;
    }
    // The error envelopes.
    standin.inject_fault(json!({"kind": "throttle", "count": 1})).await;
    let throttled = api.get("bc/get/", &serde_json::Map::new()).await;
    assert_eq!(throttled["code"], 40100);
    assert!(shape_differences(&example("error_rate_limited")["response"], &throttled, "40100").is_empty(), "{throttled}");
    standin.set_scopes(&["Business Center Management"]).await;
    let refused = api.get("bc/member/get/", &json!({"bc_id": BC_ID}).as_object().cloned().unwrap_or_default()).await;
    assert_eq!(refused["code"], 40001);
    assert!(refused["message"].as_str().is_some_and(|m| m.contains("BC Member Management")), "{refused}");
    assert!(shape_differences(&example("error_no_permission")["response"], &refused, "40001").is_empty(), "{refused}");
    let wrong = reqwest::Client::new()
        .get(format!("{}/v1.3/bc/get/", standin.base_url()))
        .header("Access-Token", "nope")
        .send()
        .await
        .expect("GET");
    let wrong: Value = wrong.json().await.expect("JSON");
    assert_eq!(wrong["code"], 40105);
    assert!(shape_differences(&example("error_token")["response"], &wrong, "40105").is_empty(), "{wrong}");
    println!("{checked} endpoints and 3 error envelopes keep the examples' shapes");
    assert_eq!(checked, 14);
}

#[tokio::test]
async fn invitations_are_accepted_declined_expired_and_revoked() {
    let standin = TikTokStandIn::start(StandInOptions::default()).await;
    standin.add_asset("ADVERTISER", "Brand US", "11").await;
    let api = Api::new(&standin);
    let invite = |email: &str| json!({"bc_id": BC_ID, "emails": [email], "user_role": "STANDARD", "asset_ids": ["11"], "advertiser_role": "OPERATOR"});
    for email in ["a@acme.io", "b@acme.io", "c@acme.io", "d@acme.io"] {
        assert_eq!(api.post("bc/member/invite/", &invite(email)).await["code"], 0);
    }
    // Invited again: ignored, as TikTok documents.
    assert_eq!(api.post("bc/member/invite/", &invite("a@acme.io")).await["code"], 0);
    assert_eq!(standin.state().await["invitations"].as_array().map(Vec::len), Some(4));
    let a = standin.accept_invitation("a@acme.io").await;
    assert_eq!(
        standin.holdings(a["user_id"].as_str().expect("id")).await.get("11"),
        Some(&json!("OPERATOR")),
        "joined with the invitation's ad account"
    );
    standin.decline_invitation("b@acme.io").await;
    standin.expire_invitation("c@acme.io").await;
    let listed =
        api.get("bc/member/get/", &json!({"bc_id": BC_ID, "page": "1", "page_size": "20"}).as_object().cloned().unwrap_or_default()).await;
    let statuses: Vec<(String, String)> = listed["data"]["list"]
        .as_array()
        .expect("list")
        .iter()
        .map(|m| (m["user_email"].as_str().unwrap_or("").to_string(), m["relation_status"].as_str().unwrap_or("").to_string()))
        .collect();
    assert!(statuses.contains(&("a@acme.io".into(), "BOUND".into())), "{statuses:?}");
    assert!(statuses.contains(&("b@acme.io".into(), "REJECTED".into())), "{statuses:?}");
    assert!(statuses.contains(&("d@acme.io".into(), "PENDING".into())), "{statuses:?}");
    assert!(!statuses.iter().any(|(e, _)| e == "c@acme.io"), "expired: gone");
    // The pending invitee's ad accounts, by email.
    let invited = api
        .get(
            "bc/asset/get/",
            &json!({"bc_id": BC_ID, "asset_type": "ADVERTISER", "filtering": "{\"user_email\":\"d@acme.io\"}"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        )
        .await;
    assert_eq!(invited["data"]["list"][0]["advertiser_role"], "OPERATOR", "{invited}");
    // bc/member/delete by email revokes; by user id removes the member and its asset access.
    assert_eq!(api.post("bc/member/delete/", &json!({"bc_id": BC_ID, "user_email": "d@acme.io"})).await["code"], 0);
    assert_eq!(api.post("bc/member/delete/", &json!({"bc_id": BC_ID, "user_email": "d@acme.io"})).await["code"], 40002, "gone already");
    assert_eq!(api.post("bc/member/delete/", &json!({"bc_id": BC_ID, "user_id": a["user_id"]})).await["code"], 0);
    assert!(standin.holdings(a["user_id"].as_str().expect("id")).await.is_empty());
    // Paging: 25 members at 20 a page.
    for i in 0..25 {
        standin.seed_member(&format!("m{i}@acme.io"), "STANDARD", &[]).await;
    }
    let second =
        api.get("bc/member/get/", &json!({"bc_id": BC_ID, "page": "2", "page_size": "20"}).as_object().cloned().unwrap_or_default()).await;
    assert_eq!(second["data"]["page_info"], json!({"page": 2, "page_size": 20, "total_number": 27, "total_page": 2}), "{second}");
    assert_eq!(
        api.get("bc/member/get/", &json!({"bc_id": BC_ID, "page_size": "50"}).as_object().cloned().unwrap_or_default()).await["code"],
        40002,
        "members: 20 a page at most"
    );
}

#[tokio::test]
async fn the_qps_budget_answers_40100_and_faults_happen_as_asked() {
    let standin = TikTokStandIn::start(StandInOptions { qps: 3, ..Default::default() }).await;
    let api = Api::new(&standin);
    let query = json!({"bc_id": BC_ID}).as_object().cloned().unwrap_or_default();
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(api.get("bc/get/", &query).await["code"].as_i64().unwrap_or(-1));
    }
    assert_eq!(&codes[..3], [0, 0, 0]);
    assert!(codes[3..].iter().all(|c| *c == 40100), "{codes:?}");
    let refused = api.get("bc/get/", &query).await;
    assert!(refused["message"].as_str().is_some_and(|m| m.contains("QPS limit 3")), "{refused}");
    tokio::time::sleep(Duration::from_millis(1100)).await; // the one-second window moves on
    assert_eq!(api.get("bc/get/", &query).await["code"], 0);
    standin.set_limits(json!({"qps": 0, "qpm": 2})).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let qpm: Vec<i64> = {
        let mut out = Vec::new();
        for _ in 0..3 {
            out.push(api.get("bc/get/", &query).await["code"].as_i64().unwrap_or(-1));
        }
        out
    };
    assert_eq!(qpm.last(), Some(&40100), "{qpm:?}");
    standin.set_limits(json!({"qps": 0, "qpm": 0})).await;

    standin.inject_fault(json!({"kind": "500", "count": 1, "path_prefix": "/open_api/v1.3/bc/member"})).await;
    assert_eq!(api.get("bc/get/", &query).await["code"], 0, "a fault only hits what it names");
    let raw = reqwest::Client::new()
        .get(format!("{}/v1.3/bc/member/get/", standin.base_url()))
        .header("Access-Token", &standin.token)
        .query(&[("bc_id", BC_ID)])
        .send()
        .await
        .expect("GET");
    assert_eq!(raw.status().as_u16(), 500);
    standin.inject_fault(json!({"kind": "permission", "count": 1})).await;
    assert_eq!(api.get("bc/get/", &query).await["code"], 40001);
    standin.inject_fault(json!({"kind": "malformed", "count": 1})).await;
    let malformed = reqwest::Client::new()
        .get(format!("{}/v1.3/bc/get/", standin.base_url()))
        .header("Access-Token", &standin.token)
        .send()
        .await
        .expect("GET");
    assert!(serde_json::from_str::<Value>(&malformed.text().await.expect("text")).is_err());
    standin.inject_fault(json!({"kind": "drop", "count": 1, "method": "POST", "performed": true})).await;
    let dropped = reqwest::Client::new()
        .post(format!("{}/v1.3/bc/member/invite/", standin.base_url()))
        .header("Access-Token", &standin.token)
        .json(&json!({"bc_id": BC_ID, "emails": ["late@acme.io"], "user_role": "STANDARD"}))
        .send()
        .await;
    assert!(dropped.is_err(), "the connection closes with no answer");
    assert!(standin.invitation("late@acme.io").await.is_some(), "the write happened all the same");
    standin.inject_fault(json!({"kind": "timeout", "count": 1, "delay": 2})).await;
    let slow = reqwest::Client::builder().timeout(Duration::from_millis(500)).build().expect("client");
    assert!(
        slow.get(format!("{}/v1.3/bc/get/", standin.base_url()))
            .header("Access-Token", &standin.token)
            .send()
            .await
            .is_err_and(|e| e.is_timeout())
    );
    let faults: Vec<String> = standin.calls().await.iter().filter_map(|c| c.fault.clone()).collect();
    assert_eq!(faults, ["500", "permission", "malformed", "drop", "timeout"]);
}
