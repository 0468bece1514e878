//! Asset roles: one name per asset, as grants hold it, for the list of tasks
//! Meta assigns on the asset (`assigned_users` `tasks`, `agencies`
//! `permitted_tasks`). Each role includes the ones below it, as Meta's
//! Business Settings offer them:
//!
//! | Asset kind | Role | Tasks sent |
//! |---|---|---|
//! | ad account | MANAGE | MANAGE, ADVERTISE, ANALYZE |
//! | ad account | ADVERTISE | ADVERTISE, ANALYZE |
//! | ad account | ANALYZE | ANALYZE |
//! | page | MANAGE | MANAGE, CREATE_CONTENT, MODERATE, ADVERTISE, ANALYZE |
//! | page | CREATE_CONTENT | CREATE_CONTENT, MODERATE, ADVERTISE, ANALYZE |
//! | page | MODERATE | MODERATE, ADVERTISE, ANALYZE |
//! | page | ADVERTISE | ADVERTISE, ANALYZE |
//! | page | ANALYZE | ANALYZE |
//! | catalog | MANAGE | MANAGE, ADVERTISE |
//! | catalog | ADVERTISE | ADVERTISE |
//!
//! Read back, a task list that is exactly one role's is that role; one that
//! holds a role's tasks and more (a task rolecall does not name, `DRAFT`) is
//! the highest role it holds; one that holds none (only `DRAFT`) is reported as
//! its tasks joined with `+`, which no grant names, so a grant's role is set.

use std::collections::BTreeSet;

/// The kinds of asset the connector manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AssetKind {
    AdAccount,
    Page,
    Catalog,
}

impl AssetKind {
    pub const ALL: [AssetKind; 3] = [AssetKind::AdAccount, AssetKind::Page, AssetKind::Catalog];

    /// The kind as the hub's asset catalog names it (`spec.assets[].kind`, `status.assets[].kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::AdAccount => "adAccount",
            AssetKind::Page => "page",
            AssetKind::Catalog => "catalog",
        }
    }

    /// The business's edge that lists the assets of this kind it owns.
    pub fn owned_edge(self) -> &'static str {
        match self {
            AssetKind::AdAccount => "owned_ad_accounts",
            AssetKind::Page => "owned_pages",
            AssetKind::Catalog => "owned_product_catalogs",
        }
    }

    /// The roles of this kind, highest first, with the tasks each is sent as.
    pub fn roles(self) -> &'static [(&'static str, &'static [&'static str])] {
        match self {
            AssetKind::AdAccount => {
                &[("MANAGE", &["MANAGE", "ADVERTISE", "ANALYZE"]), ("ADVERTISE", &["ADVERTISE", "ANALYZE"]), ("ANALYZE", &["ANALYZE"])]
            }
            AssetKind::Page => &[
                ("MANAGE", &["MANAGE", "CREATE_CONTENT", "MODERATE", "ADVERTISE", "ANALYZE"]),
                ("CREATE_CONTENT", &["CREATE_CONTENT", "MODERATE", "ADVERTISE", "ANALYZE"]),
                ("MODERATE", &["MODERATE", "ADVERTISE", "ANALYZE"]),
                ("ADVERTISE", &["ADVERTISE", "ANALYZE"]),
                ("ANALYZE", &["ANALYZE"]),
            ],
            AssetKind::Catalog => &[("MANAGE", &["MANAGE", "ADVERTISE"]), ("ADVERTISE", &["ADVERTISE"])],
        }
    }

    /// The role names, lowest first (what `list_assets` says each asset can grant:
    /// the hub's catalog ranks an asset's roles by their place, and a grant naming
    /// no role gets the first, the least privilege).
    pub fn role_names(self) -> Vec<String> {
        self.roles().iter().rev().map(|(name, _)| name.to_string()).collect()
    }
}

/// The tasks to send for `role` on an asset of `kind` (the role's name in any case).
pub fn tasks_of(kind: AssetKind, role: &str) -> Result<Vec<String>, String> {
    kind.roles()
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(role.trim()))
        .map(|(_, tasks)| tasks.iter().map(|t| t.to_string()).collect())
        .ok_or_else(|| {
            let names: Vec<&str> = kind.roles().iter().map(|(n, _)| *n).collect();
            format!("a Meta {} takes the asset roles {}; {role:?} is none of them", kind.as_str(), names.join(", "))
        })
}

/// The role a task list read back amounts to (see the module's table).
pub fn role_of(kind: AssetKind, tasks: &[String]) -> String {
    let held: BTreeSet<&str> = tasks.iter().map(String::as_str).collect();
    if let Some((name, _)) = kind.roles().iter().find(|(_, t)| t.iter().copied().collect::<BTreeSet<_>>() == held) {
        return name.to_string();
    }
    if let Some((name, _)) = kind.roles().iter().find(|(_, t)| t.iter().all(|task| held.contains(task))) {
        return name.to_string();
    }
    held.into_iter().collect::<Vec<_>>().join("+")
}

/// Whether two task lists grant the same (Meta may list them in any order).
pub fn same_tasks(a: &[String], b: &[String]) -> bool {
    a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn each_role_is_sent_as_its_tasks() {
        assert_eq!(tasks_of(AssetKind::AdAccount, "MANAGE"), Ok(strings(&["MANAGE", "ADVERTISE", "ANALYZE"])));
        assert_eq!(tasks_of(AssetKind::AdAccount, "advertise"), Ok(strings(&["ADVERTISE", "ANALYZE"])));
        assert_eq!(tasks_of(AssetKind::AdAccount, "ANALYZE"), Ok(strings(&["ANALYZE"])));
        assert_eq!(tasks_of(AssetKind::Page, "MODERATE"), Ok(strings(&["MODERATE", "ADVERTISE", "ANALYZE"])));
        assert_eq!(tasks_of(AssetKind::Catalog, "MANAGE"), Ok(strings(&["MANAGE", "ADVERTISE"])));
        let refused = tasks_of(AssetKind::Catalog, "ANALYZE").expect_err("catalogs have no ANALYZE");
        assert!(refused.contains("catalog") && refused.contains("MANAGE, ADVERTISE"), "{refused}");
        assert_eq!(AssetKind::Page.role_names(), ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"]);
    }

    #[test]
    fn tasks_read_back_name_their_role_in_any_order() {
        for kind in AssetKind::ALL {
            for (name, tasks) in kind.roles() {
                let mut reversed = strings(tasks);
                reversed.reverse();
                assert_eq!(role_of(kind, &reversed), *name, "{kind:?}");
                assert_eq!(tasks_of(kind, name).map(|t| same_tasks(&t, &reversed)), Ok(true));
            }
        }
        // More than a role: the highest role held. None: the tasks themselves.
        assert_eq!(role_of(AssetKind::AdAccount, &strings(&["DRAFT", "ADVERTISE", "ANALYZE"])), "ADVERTISE");
        assert_eq!(role_of(AssetKind::AdAccount, &strings(&["MANAGE", "ANALYZE"])), "ANALYZE");
        assert_eq!(role_of(AssetKind::AdAccount, &strings(&["DRAFT"])), "DRAFT");
        assert_eq!(role_of(AssetKind::Catalog, &strings(&["MANAGE_AR", "AA_ANALYZE"])), "AA_ANALYZE+MANAGE_AR");
        assert!(!same_tasks(&strings(&["ANALYZE"]), &strings(&["ANALYZE", "ADVERTISE"])));
    }
}
