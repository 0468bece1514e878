//! Which hubs a User's change concerns. Replanning every hub of a workspace on
//! every change of every user made a company's IdP traffic (a rename here, a
//! group move there) cost one plan of each hub per change: at 20 hubs the
//! plans queued behind each other and a change waited for all of them.
//!
//! A change of who the user is (userName, emails, active, claims), a new user
//! and a first sight since start can concern any hub (an account in any app
//! may match the new address), so they still replan every hub. A change of
//! teams concerns the hubs granted to the teams joined or left (not to the
//! teams kept: their grants give what they gave before; nor to a team no grant
//! names). A change of the user's names concerns the hubs where the user holds
//! an account, and only their display (the AppAccount status shows the name):
//! those hubs are replanned once per `RENAMES_EVERY` for every rename in it,
//! not once per rename. Any other change (an attribute no plan reads) concerns
//! no hub. Each hub is also replanned at its sync interval.
//!
//! In the 5,000-user benchmark, the IdP's background (20 renames and moves
//! between ungranted teams a second) replanned the 5 hubs of each user it
//! touched, 100 triggers a second: every hub planned back to back, and an
//! invitation waited for a planning slot behind plans that could change nothing.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::mpsc;

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use crate::api::wire::CLAIM_ANNOTATION_PREFIX;
use crate::api::{BusinessHub, User};

use super::context::Context;
use super::plan_input::grant_targets;

/// How long renames are gathered before the hubs they concern are replanned, once.
pub const RENAMES_EVERY: Duration = Duration::from_secs(5);

/// What of a user decides which hubs its change concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserFacts {
    /// userName, emails, active, external, claims, uid and deletion, hashed.
    identity: u64,
    teams: BTreeSet<String>,
    /// displayName and the given and family names, hashed.
    names: u64,
}

impl UserFacts {
    pub fn of(user: &User) -> UserFacts {
        let spec = &user.spec;
        let emails: Vec<(&str, bool)> = spec.emails.iter().map(|e| (e.value.as_str(), e.primary)).collect();
        let claims: Vec<(&String, &String)> = user.annotations().iter().filter(|(k, _)| k.starts_with(CLAIM_ANNOTATION_PREFIX)).collect();
        let mut hasher = DefaultHasher::new();
        (&spec.user_name, emails, spec.is_active(), spec.external, claims, &user.metadata.uid, user.metadata.deletion_timestamp.is_some())
            .hash(&mut hasher);
        let identity = hasher.finish();
        let mut hasher = DefaultHasher::new();
        let name = spec.name.as_ref();
        (&spec.display_name, name.map(|n| &n.given_name), name.map(|n| &n.family_name)).hash(&mut hasher);
        UserFacts { identity, teams: spec.teams.iter().cloned().collect(), names: hasher.finish() }
    }
}

/// The hubs a change concerns.
#[derive(Debug, PartialEq, Eq)]
pub enum Concern {
    /// Every hub of the user's workspace.
    Every,
    /// The hubs granted to these teams (joined or left) now, and when `renamed`,
    /// those where the user holds an account, with the next batch of renames.
    Some { teams: BTreeSet<String>, renamed: bool },
}

/// What a change from `before` to `now` concerns.
pub fn concern(before: Option<&UserFacts>, now: &UserFacts) -> Concern {
    match before {
        Some(before) if before.identity == now.identity => {
            Concern::Some { teams: before.teams.symmetric_difference(&now.teams).cloned().collect(), renamed: before.names != now.names }
        }
        _ => Concern::Every,
    }
}

/// The last facts seen of each user, to compare the next change with, and the
/// hubs renames concern since the last batch.
pub struct UserTriggers {
    seen: Mutex<HashMap<ObjectRef<User>, UserFacts>>,
    renames: mpsc::UnboundedSender<ObjectRef<BusinessHub>>,
}

impl UserTriggers {
    /// The triggers, and the stream of the hubs renames concern: each at most
    /// once per `every`, at the end of the batch it was named in.
    pub fn new(every: Duration) -> (UserTriggers, BoxStream<'static, ObjectRef<BusinessHub>>) {
        let (tx, rx) = mpsc::unbounded_channel::<ObjectRef<BusinessHub>>();
        let batches = futures::stream::unfold((rx, None::<tokio::time::Interval>), move |(mut rx, tick)| async move {
            // Made on the first poll, inside the runtime.
            let mut tick = tick.unwrap_or_else(|| {
                let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tick
            });
            tick.tick().await;
            let mut named = HashSet::new();
            while let Ok(hub) = rx.try_recv() {
                named.insert(hub);
            }
            Some((named, (rx, Some(tick))))
        })
        .flat_map(futures::stream::iter)
        .boxed();
        (UserTriggers { seen: Mutex::default(), renames: tx }, batches)
    }

    /// The hubs to replan for this change of `user`.
    pub fn hubs(&self, user: &User, ctx: &Context) -> Vec<ObjectRef<BusinessHub>> {
        let key = ObjectRef::from_obj(user);
        let now = UserFacts::of(user);
        // A deleted user's last state may look unchanged: its accounts in every app are offboarded at once.
        let gone = ctx.users.get(&key).is_none_or(|cached| cached.metadata.uid != user.metadata.uid);
        let before = {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if gone { seen.remove(&key) } else { seen.insert(key, now.clone()) }
        };
        let namespace = user.namespace();
        let workspace = ctx.hubs.state().into_iter().filter(|h| h.namespace() == namespace);
        let concern = if gone { Concern::Every } else { concern(before.as_ref(), &now) };
        let chosen: Vec<_> = match concern {
            Concern::Every => workspace.collect(),
            Concern::Some { teams, renamed } => {
                let name = user.name_any();
                let ns = namespace.clone().unwrap_or_default();
                let grants: Vec<_> = ctx
                    .grants()
                    .into_iter()
                    .filter(|g| g.namespace() == namespace)
                    .filter(|g| {
                        let subject = &g.spec.subject;
                        subject.team.as_ref().is_some_and(|t| teams.contains(t))
                    })
                    .collect();
                let workspace: Vec<_> = workspace.collect();
                if renamed {
                    let seated: BTreeSet<String> =
                        ctx.seats.accounts_of(&ns, &name).iter().filter_map(|a| ctx.account(&ns, a)).map(|a| a.spec.hub.clone()).collect();
                    for hub in workspace.iter().filter(|h| seated.contains(&h.name_any())) {
                        // A closed receiver means the hub controller stopped; nothing to replan.
                        let _ = self.renames.send(ObjectRef::from_obj(hub.as_ref()));
                    }
                }
                workspace.into_iter().filter(|h| grants.iter().any(|g| grant_targets(g, h))).collect()
            }
        };
        chosen.iter().map(|h| ObjectRef::from_obj(h.as_ref())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::user::{UserEmail, UserSpec};

    fn user(email: &str, teams: &[&str], given: &str) -> User {
        let mut u = User::new(
            "ann",
            UserSpec {
                user_name: email.into(),
                emails: vec![UserEmail { value: email.into(), type_: None, primary: true, display: None }],
                teams: teams.iter().map(|t| t.to_string()).collect(),
                name: Some(crate::api::user::PersonName { given_name: Some(given.into()), ..Default::default() }),
                ..Default::default()
            },
        );
        u.metadata.namespace = Some("ws".into());
        u.metadata.uid = Some("u1".into());
        u
    }

    #[test]
    fn who_the_user_is_concerns_every_hub_and_the_rest_only_its_own() {
        let first = UserFacts::of(&user("ann@acme.io", &["eng"], "Ann"));
        assert_eq!(concern(None, &first), Concern::Every, "a new user, or the first sight since start");
        let renamed = UserFacts::of(&user("ann@acme.io", &["eng"], "Anne"));
        assert_eq!(
            concern(Some(&first), &renamed),
            Concern::Some { teams: [].into(), renamed: true },
            "a given name: only the hubs of its accounts, with the next batch of renames"
        );
        let mut titled = user("ann@acme.io", &["eng"], "Ann");
        titled.spec.title = Some("Staff engineer".into());
        assert_eq!(
            concern(Some(&first), &UserFacts::of(&titled)),
            Concern::Some { teams: [].into(), renamed: false },
            "an attribute no plan reads concerns no hub"
        );
        let moved = UserFacts::of(&user("ann@acme.io", &["sales"], "Ann"));
        assert_eq!(
            concern(Some(&first), &moved),
            Concern::Some { teams: ["eng".to_string(), "sales".to_string()].into(), renamed: false },
            "a move concerns the hubs of the team left and of the team joined"
        );
        let joined = UserFacts::of(&user("ann@acme.io", &["eng", "sales"], "Ann"));
        assert_eq!(
            concern(Some(&first), &joined),
            Concern::Some { teams: ["sales".to_string()].into(), renamed: false },
            "a team kept gives what it gave: only the team joined"
        );
        let new_address = UserFacts::of(&user("ann@new.io", &["eng"], "Ann"));
        assert_eq!(concern(Some(&first), &new_address), Concern::Every, "a new address may match an account in any app");
        let mut inactive = user("ann@acme.io", &["eng"], "Ann");
        inactive.spec.active = Some(false);
        assert_eq!(concern(Some(&first), &UserFacts::of(&inactive)), Concern::Every);
        let mut claimed = user("ann@acme.io", &["eng"], "Ann");
        claimed.metadata.annotations = Some([(format!("{CLAIM_ANNOTATION_PREFIX}github"), "true".to_string())].into());
        assert_eq!(concern(Some(&first), &UserFacts::of(&claimed)), Concern::Every);
    }
}
