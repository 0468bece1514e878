//! Names on the wire, in one place: labels, annotations, field managers,
//! condition types and reasons that other tools (kubectl, Argo CD, alerts)
//! match on. Changing one is an API change.

/// The field manager under which the operator writes status (server-side apply).
pub const FIELD_MANAGER: &str = "rolecall-operator";

/// Label on every AppAccount naming its hub, for `rolecall status` and selectors.
pub const HUB_LABEL: &str = "rolecall.dev/hub";
/// Annotation on a hub that asks for a read-back now: any new value does.
pub const SYNC_ANNOTATION: &str = "rolecall.dev/sync";
/// Annotation on a hub that approves the removals it holds.
pub const APPROVE_REMOVALS_ANNOTATION: &str = "rolecall.dev/approve-removals";
/// Prefix of the annotation on a `User` that claims access to one hub (`rolecall claim`).
pub const CLAIM_ANNOTATION_PREFIX: &str = "claim.rolecall.dev/";

/// The annotation on a `User` that claims access to `hub`.
pub fn claim_annotation(hub: &str) -> String {
    format!("{CLAIM_ANNOTATION_PREFIX}{hub}")
}

/// Condition types.
pub mod condition {
    pub const READY: &str = "Ready";
    pub const ACCEPTED: &str = "Accepted";
    pub const CONNECTED: &str = "Connected";
    pub const SYNCED: &str = "Synced";
    pub const REMOVALS_HELD: &str = "RemovalsHeld";
    /// On a `User`: whether it holds a seat in some hub, and if not, why.
    pub const SEATED: &str = "Seated";
}

/// Condition reasons the operator's own logic sets (the checks keep theirs beside them).
pub mod reason {
    /// A grant names assets on a hub whose connector cannot manage assets.
    pub const ASSETS_NOT_SUPPORTED: &str = "AssetsNotSupported";
    /// `Seated=True`: an AppAccount matched to the user holds a seat.
    pub const HOLDS_SEATS: &str = "HoldsSeats";
    /// `Seated=False`: the IdP deactivated the user (spec.active false).
    pub const DEACTIVATED: &str = "Deactivated";
    /// `Seated=False`: no grant gives the user a seat, directly or through a team, on a hub that exists.
    pub const NO_GRANT: &str = "NoGrant";
    /// `Seated=False`: granted, but the user has no email and a userName without `@`: nobody can be invited.
    pub const NO_INVITABLE_EMAIL: &str = "NoInvitableEmail";
    /// `Seated=False`: every grant that would seat the user waits for the user's claim.
    pub const WAITING_FOR_CLAIM: &str = "WaitingForClaim";
    /// `Seated=False`: an invitation was tried and failed; the AppAccount's lastError says why.
    pub const INVITE_FAILED: &str = "InviteFailed";
    /// `Seated=False`: granted, and no account holds the seat yet (not invited yet, or the hub only reports).
    pub const PENDING: &str = "Pending";
}
