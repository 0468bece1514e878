//! The SCIM sidecar SIGKILLed in the middle of a request that makes many API
//! writes, then started again while the IdP retries: a member PATCH (adds and
//! removes), and a group create with members (killed once the Team is written,
//! or once its first member is). The moment is real timing, not a hook in the
//! sidecar: a watch on the API server kills the process as soon as the
//! request's first write shows, and a round counts only when the request got no
//! answer and some but not all of its writes had landed; otherwise it is tried
//! again, a bounded number of times. The IdP retries as Entra does: the same
//! PATCH; for a create, a GET by displayName, then the POST only if nothing is
//! found. Judged by the API server: every request whole, no duplicate group or
//! user, no membership nobody asked for.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::time::Duration;

use futures::StreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Resource, ResourceExt};
use rolecall::api::{Team, User};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::harness::{Sidecar, client};
use crate::world::{Workspace, workspace};

const PEOPLE: usize = 40;
/// Tries per round before a round that never lands mid-request fails the test.
const ATTEMPTS: usize = 6;

/// Kills that land mid-request: 3 in `make test` (one per moment), more with `CHAOS_SIDECAR_KILLS`.
fn kills() -> usize {
    std::env::var("CHAOS_SIDECAR_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(3)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Moment {
    /// A PATCH adding and removing members, after its first User write.
    MidPatch,
    /// A POST /Groups with members, right after the Team is written.
    CreateAfterTeam,
    /// A POST /Groups with members, after its first member's User write.
    CreateAfterMember,
}

/// Watches `api` and SIGKILLs `pid` at the first change `hit` accepts. Returns
/// once the watch is established; the task ends true when it killed.
async fn kill_at_first<K>(api: Api<K>, pid: u32, mut hit: impl FnMut(&K) -> bool + Send + 'static) -> tokio::task::JoinHandle<bool>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        let mut events = std::pin::pin!(watcher::watcher(api, watcher::Config::default()));
        while let Some(event) = events.next().await {
            match event {
                Ok(Event::InitDone) => {
                    if let Some(tx) = ready.take() {
                        let _ = tx.send(());
                    }
                }
                Ok(Event::Apply(obj)) if ready.is_none() && hit(&obj) => {
                    let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
                    return true;
                }
                _ => {}
            }
        }
        false
    });
    tokio::time::timeout(Duration::from_secs(30), ready_rx).await.expect("the watch starts").expect("the watch task runs");
    task
}

/// The IdP's request, on a thread of its own (the test's HTTP client blocks); `None` when no answer came.
async fn send(idp: &Sidecar, method: &'static str, path: String, body: Value) -> Option<(u16, Value)> {
    let idp = idp.handle();
    tokio::task::spawn_blocking(move || idp.try_send(method, &path, &body)).await.expect("the request thread")
}

/// Team ids of every User, from the API server.
async fn memberships(users: &Api<User>) -> BTreeMap<String, BTreeSet<String>> {
    let list = users.list(&Default::default()).await.expect("list users");
    list.items.into_iter().map(|u| (u.name_any(), u.spec.teams.into_iter().collect())).collect()
}

async fn teams_named(teams: &Api<Team>, name: &str) -> Vec<Team> {
    teams.list(&Default::default()).await.expect("list teams").items.into_iter().filter(|t| t.spec.display_name == name).collect()
}

/// What one round tells.
#[derive(Default)]
struct Tally {
    kills: BTreeMap<Moment, usize>,
    /// Attempts whose kill missed the middle (answered, or every write landed first).
    missed: usize,
    /// Writes landed / writes the request makes, at each kill.
    landed: Vec<(usize, usize)>,
    /// Retried creates whose GET found the group the killed request had started.
    found_half_made: usize,
    /// Members a killed create had written that its retry no longer named, taken back.
    taken_back: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sidecar_killed_mid_request_leaves_each_request_whole_once_the_idp_retries() {
    let mut ws = workspace("chaos-sidecar", "").await;
    let client = client().await;
    let users: Api<User> = Api::namespaced(client.clone(), &ws.ns);
    let teams: Api<Team> = Api::namespaced(client.clone(), &ws.ns);
    let mut people = Vec::new();
    for i in 0..PEOPLE {
        people.push(ws.idp_user(&format!("s{i:02}")).await);
    }
    // Who should be in which team at the end: user id -> team ids.
    let mut expected: BTreeMap<String, BTreeSet<String>> = people.iter().map(|p| (p.clone(), BTreeSet::new())).collect();
    let mut tally = Tally::default();
    let moments = [Moment::MidPatch, Moment::CreateAfterTeam, Moment::CreateAfterMember];

    for round in 0..kills() {
        let moment = moments[round % moments.len()];
        let mut landed_mid = false;
        for attempt in 0..ATTEMPTS {
            let name = format!("{moment:?}-{round}-{attempt}").to_lowercase();
            let mid = match moment {
                Moment::MidPatch => patch_round(&mut ws, &users, &people, &name, &mut expected).await,
                // Every other create round, the group changed in the IdP before the retry.
                _ => create_round(&mut ws, &users, &teams, &people, &name, moment, round % 2 == 1, &mut expected, &mut tally).await,
            };
            match mid {
                Some(landed) => {
                    tally.landed.push(landed);
                    landed_mid = true;
                    break;
                }
                None => tally.missed += 1,
            }
        }
        assert!(landed_mid, "round {round}: no kill landed mid-request ({moment:?}) in {ATTEMPTS} attempts");
        *tally.kills.entry(moment).or_default() += 1;
    }

    // Judged by the API server, over every request of the run.
    let now = memberships(&users).await;
    let (mut missing, mut stray) = (0, 0);
    for (user, want) in &expected {
        let have = now.get(user).cloned().unwrap_or_default();
        missing += want.difference(&have).count();
        stray += have.difference(want).count();
    }
    let all_users = users.list(&Default::default()).await.expect("users").items;
    let names: BTreeSet<String> = all_users.iter().map(|u| u.spec.user_name.to_lowercase()).collect();
    let all_teams = teams.list(&Default::default()).await.expect("teams").items;
    let display: BTreeSet<String> = all_teams.iter().map(|t| t.spec.display_name.to_lowercase()).collect();
    let (dup_users, dup_groups) = (all_users.len() - names.len(), all_teams.len() - display.len());
    println!(
        "sidecar: {} kills mid-request ({:?}), {} attempts missed the middle; writes landed at each kill {:?}; a retried create's GET found the half-made group {} times; {} written members taken back by a retry that no longer named them; after the IdP's retries: {dup_groups} duplicate groups, {dup_users} duplicate users, {missing} memberships missing, {stray} memberships nobody asked for",
        tally.kills.values().sum::<usize>(),
        tally.kills,
        tally.missed,
        tally.landed,
        tally.found_half_made,
        tally.taken_back
    );
    assert_eq!((dup_groups, dup_users, missing, stray), (0, 0, 0, 0));
    assert_eq!(all_users.len(), PEOPLE);
}

/// The sidecar again, after a kill (or a missed one: the old process goes either way).
async fn restart(ws: &mut Workspace) {
    ws.idp = Sidecar::start(&ws.ns, "test-value").await;
}

/// A PATCH removing the group's first 5 members and adding 30 people, killed
/// after its first write. Returns (writes landed, writes in all) when the kill
/// landed mid-request.
async fn patch_round(
    ws: &mut Workspace,
    users: &Api<User>,
    people: &[String],
    name: &str,
    expected: &mut BTreeMap<String, BTreeSet<String>>,
) -> Option<(usize, usize)> {
    let before: Vec<&str> = people[..10].iter().map(String::as_str).collect();
    let group = ws.idp_group(name, &before).await;
    let after: BTreeSet<String> = people[5..].iter().cloned().collect();
    let changing: BTreeSet<String> = people[..5].iter().chain(&people[10..]).cloned().collect();
    let mut operations =
        vec![json!({"op": "add", "path": "members", "value": people[10..].iter().map(|p| json!({"value": p})).collect::<Vec<_>>()})];
    operations.extend(people[..5].iter().map(|p| json!({"op": "remove", "path": format!("members[value eq \"{p}\"]")})));
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations});

    let pid = ws.idp.pid().expect("the sidecar's pid");
    let (g, watched, want) = (group.clone(), changing.clone(), after.clone());
    let killer = kill_at_first(users.clone(), pid, move |u: &User| {
        let id = u.name_any();
        watched.contains(&id) && u.spec.teams.contains(&g) == want.contains(&id)
    })
    .await;
    let answer = send(&ws.idp, "PATCH", format!("/Groups/{group}"), body.clone()).await;
    let killed = settle(killer, answer.is_none()).await;
    let now = memberships(users).await;
    let done = changing.iter().filter(|p| now.get(*p).is_some_and(|t| t.contains(&group)) == after.contains(*p)).count();
    restart(ws).await;
    if answer.is_none() {
        // The IdP got no answer: it sends the same PATCH again.
        let (status, reply) = ws.idp.send("PATCH", &format!("/Groups/{group}"), body).await;
        assert_eq!(status, 204, "the retried PATCH: {reply}");
    }
    for p in &after {
        expected.entry(p.clone()).or_default().insert(group.clone());
    }
    // Whole, as the IdP sees it too.
    let (status, seen) = ws.idp.get(&format!("/Groups/{group}")).await;
    assert_eq!(status, 200, "{seen}");
    let members: BTreeSet<String> =
        seen["members"].as_array().into_iter().flatten().filter_map(|m| m["value"].as_str().map(str::to_string)).collect();
    assert_eq!(members, after, "{name}: the group after the retry");
    (killed && answer.is_none() && done > 0 && done < changing.len()).then_some((done, changing.len()))
}

/// A group create with every person as a member, as Entra retries it: GET by
/// displayName, POST only when nothing is found. Killed after the Team write or
/// after the first member's. When `changed`, the group lost three members in
/// the IdP before the retry (the three the sidecar writes first, so a landed
/// write is one the retry must take back): the retry's members are the ones
/// that count, since the first attempt was never answered.
#[allow(clippy::too_many_arguments)]
async fn create_round(
    ws: &mut Workspace,
    users: &Api<User>,
    teams: &Api<Team>,
    people: &[String],
    name: &str,
    moment: Moment,
    changed: bool,
    expected: &mut BTreeMap<String, BTreeSet<String>>,
    tally: &mut Tally,
) -> Option<(usize, usize)> {
    let group = |members: &[String]| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": name,
            "externalId": format!("ext-{name}"),
            "members": members.iter().map(|p| json!({"value": p})).collect::<Vec<_>>(),
        })
    };
    let body = group(people);
    // The sidecar writes members in id order; the retry may lack the first three.
    let mut by_id: Vec<String> = people.to_vec();
    by_id.sort();
    let retried: Vec<String> = if changed { by_id[3..].to_vec() } else { people.to_vec() };
    let lookup = format!("/Groups?filter=displayName%20eq%20%22{name}%22&excludedAttributes=members");
    let (status, found) = ws.idp.get(&lookup).await;
    assert_eq!((status, found["totalResults"].as_u64()), (200, Some(0)), "{name} is new");

    let pid = ws.idp.pid().expect("the sidecar's pid");
    let known: BTreeSet<String> = teams.list(&Default::default()).await.expect("teams").items.iter().map(|t| t.name_any()).collect();
    let killer = match moment {
        Moment::CreateAfterTeam => {
            let display = name.to_string();
            kill_at_first(teams.clone(), pid, move |t: &Team| t.spec.display_name == display).await
        }
        _ => kill_at_first(users.clone(), pid, move |u: &User| u.spec.teams.iter().any(|t| !known.contains(t))).await,
    };
    let answer = send(&ws.idp, "POST", "/Groups".into(), body.clone()).await;
    let killed = settle(killer, answer.is_none()).await;
    let made = teams_named(teams, name).await;
    let written: BTreeSet<String> = match made.as_slice() {
        [team] => memberships(users).await.into_iter().filter(|(_, t)| t.contains(&team.name_any())).map(|(u, _)| u).collect(),
        _ => BTreeSet::new(),
    };
    let landed = written.len();
    if answer.is_none() {
        tally.taken_back += written.iter().filter(|u| !retried.contains(u)).count();
    }
    restart(ws).await;
    let id = match &answer {
        Some((status, created)) => {
            assert_eq!(*status, 201, "{created}");
            created["id"].as_str().expect("id").to_string()
        }
        None => {
            // No answer: Entra looks the group up by displayName and creates it only if absent.
            let (status, found) = ws.idp.get(&lookup).await;
            assert_eq!(status, 200, "{found}");
            match found["Resources"].as_array().and_then(|r| r.first()) {
                Some(group) => {
                    tally.found_half_made += 1;
                    group["id"].as_str().expect("id").to_string()
                }
                None => {
                    let (status, created) = ws.idp.send("POST", "/Groups", group(&retried)).await;
                    assert_eq!(status, 201, "the retried create: {created}");
                    created["id"].as_str().expect("id").to_string()
                }
            }
        }
    };
    let members: BTreeSet<String> = if answer.is_some() { people.iter().cloned().collect() } else { retried.into_iter().collect() };
    for p in &members {
        expected.entry(p.clone()).or_default().insert(id.clone());
    }
    let (status, seen) = ws.idp.get(&format!("/Groups/{id}")).await;
    assert_eq!(status, 200, "{seen}");
    let seen: BTreeSet<String> =
        seen["members"].as_array().into_iter().flatten().filter_map(|m| m["value"].as_str().map(str::to_string)).collect();
    assert_eq!(seen, members, "{name}: the members the last request named, as the IdP reads the group back");
    let same_name = teams_named(teams, name).await;
    assert_eq!(same_name.len(), 1, "{name}: one Team, not a second one from the retry");
    assert_eq!(same_name[0].name_any(), id, "{name}: the IdP holds the id of the one Team");
    (killed && answer.is_none() && !made.is_empty() && landed < people.len()).then_some((landed, people.len()))
}

/// Whether the watch killed: waited for when the request got no answer (the
/// kill is what ended it), else the watch is stopped (the request was done first).
async fn settle(killer: tokio::task::JoinHandle<bool>, unanswered: bool) -> bool {
    if unanswered {
        return tokio::time::timeout(Duration::from_secs(10), killer).await.is_ok_and(|k| k.unwrap_or(false));
    }
    killer.abort();
    false
}
