//! Group creates that are safe to retry.
//!
//! A group created with members takes several API writes (the Team, then one
//! User per member), and the API server has no transaction over them: a
//! sidecar that dies, or a write that fails, in between leaves a Team with some
//! of its members, and the IdP got no answer (or an error). An IdP retries such
//! a create as Entra does, by looking the group up by displayName and posting
//! it only if absent; a half-filled group that answers the look-up is taken as
//! done, and the members the first attempt never wrote are lost for good.
//!
//! So a create with members writes its Team marked unfinished, then the
//! members, then removes the mark, and only then answers. An unfinished Team is
//! invisible to the IdP (no list, filter, GET or change by id finds it), so the
//! retry's look-up finds nothing and its POST finishes the same Team, with the
//! fields and members the retry names (it was never answered, so the latest
//! request is the one that counts). A create without members is one write and
//! is never marked.

use crate::api::Team;

/// On a Team whose create has not finished writing its members (the value says since when).
pub const UNFINISHED_ANNOTATION: &str = "rolecall.dev/scim-unfinished";

/// Whether the Team's create is still writing its members (or died doing so).
pub fn is_unfinished(team: &Team) -> bool {
    team.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(UNFINISHED_ANNOTATION))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::team::TeamSpec;

    #[test]
    fn only_the_mark_makes_a_team_unfinished() {
        let mut team = Team::new("t", TeamSpec { display_name: "Eng".into(), external_id: None, description: None });
        assert!(!is_unfinished(&team));
        team.metadata.annotations = Some([("rolecall.dev/scim-last-modified".to_string(), "x".to_string())].into());
        assert!(!is_unfinished(&team));
        team.metadata.annotations.get_or_insert_with(Default::default).insert(UNFINISHED_ANNOTATION.into(), "x".into());
        assert!(is_unfinished(&team));
    }
}
