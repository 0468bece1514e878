//! `scim2-server` (PyPI) as a real SCIM app on loopback, with a tiny client to
//! make accounts in it by hand and to read back what it holds.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::wait_for;

/// One account as the app holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppUser {
    pub id: String,
    pub email: String,
    pub active: bool,
    pub roles: Vec<String>,
}

pub struct ScimApp {
    child: Child,
    pub addr: SocketAddr,
    /// The path before `/Users` (empty: the app serves at the root).
    pub base_path: String,
}

impl ScimApp {
    #[allow(dead_code)] // the benchmark's
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub async fn start() -> ScimApp {
        let root = env!("CARGO_MANIFEST_DIR");
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let log = std::fs::File::create(format!(
            "{}/scim2-server-{port}.log",
            std::env::var("ROLECALL_TESTENV").unwrap_or_else(|_| "/tmp".into())
        ))
        .expect("log file");
        let child = Command::new(format!("{root}/.venv/bin/scim2-server"))
            .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("scim2-server starts (run `make venv`)");
        let app = ScimApp { child, addr: SocketAddr::from(([127, 0, 0, 1], port)), base_path: "/v2".into() };
        wait_for(Duration::from_secs(30), "scim2-server to answer", || async { app.call("GET", "/ServiceProviderConfig", None).0 == 200 })
            .await;
        app
    }

    /// Makes an account by hand, as an app admin would; returns its id.
    pub async fn create_user(&self, email: &str, roles: &[&str]) -> String {
        let roles: Vec<Value> = roles.iter().map(|r| json!({"value": r})).collect();
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": email, "active": true, "roles": roles,
            "emails": [{"value": email, "type": "work", "primary": true}]
        });
        let (status, created) = self.call("POST", "/Users", Some(&body.to_string()));
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().expect("id").to_string()
    }

    /// Makes a group by hand, as an app admin would; returns its id.
    pub async fn create_group(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name, "members": members});
        let (status, created) = self.call("POST", "/Groups", Some(&body.to_string()));
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().expect("id").to_string()
    }

    /// Every group's displayName → sorted member ids.
    pub async fn groups(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        let (status, list) = self.call("GET", "/Groups?startIndex=1&count=1000", None);
        assert_eq!(status, 200, "{list}");
        let groups = list["Resources"].as_array().cloned().unwrap_or_default();
        groups
            .iter()
            .map(|g| {
                let mut members: Vec<String> = g["members"]
                    .as_array()
                    .map(|m| m.iter().filter_map(|m| m["value"].as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                members.sort();
                (g["displayName"].as_str().unwrap_or_default().to_string(), members)
            })
            .collect()
    }

    pub async fn users(&self) -> Vec<AppUser> {
        let (status, list) = self.call("GET", "/Users?startIndex=1&count=1000", None);
        assert_eq!(status, 200, "{list}");
        list["Resources"].as_array().map(|r| r.iter().map(app_user).collect()).unwrap_or_default()
    }

    pub async fn user(&self, id: &str) -> Option<AppUser> {
        let (status, user) = self.call("GET", &format!("/Users/{id}"), None);
        (status == 200).then(|| app_user(&user))
    }

    fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        match crate::http::request(
            self.addr,
            method,
            &format!("{}{path}", self.base_path),
            &[("Content-Type", "application/scim+json")],
            body,
        ) {
            Ok(answer) => (answer.status, answer.json()),
            Err(_) => (0, Value::Null),
        }
    }
}

fn app_user(user: &Value) -> AppUser {
    let email = user["emails"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["primary"] == json!(true)).or(e.first()))
        .and_then(|e| e["value"].as_str())
        .or(user["userName"].as_str())
        .unwrap_or_default()
        .to_string();
    AppUser {
        id: user["id"].as_str().unwrap_or_default().to_string(),
        email,
        active: user["active"].as_bool().unwrap_or(true),
        roles: user["roles"]
            .as_array()
            .map(|r| r.iter().filter_map(|r| r["value"].as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
    }
}

impl Drop for ScimApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
