//! `User`: a person of the directory, usually provisioned by the IdP over SCIM.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;

/// One email address of a user.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserEmail {
    /// The address. Matching to app accounts compares it case-insensitively.
    #[schemars(length(min = 3, max = 320))]
    pub value: String,
    /// The kind of address as the IdP labels it (`work`, `home`, `other`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Whether this is the user's primary address; invitations go there.
    #[serde(default)]
    pub primary: bool,
    /// A human-readable label for the address, as the IdP sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// One value of a multi-valued SCIM attribute (a phone number, an instant
/// messaging address, a photo URL, an entitlement, a role, a certificate).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserValue {
    /// The value itself: a number, an address, a URL, a role name, a base64 DER certificate.
    #[schemars(length(min = 1, max = 16384))]
    pub value: String,
    /// The kind of value as the IdP labels it (for a phone number: `work`, `mobile`...).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Whether the IdP marks this value as the preferred one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// A human-readable label for the value, as the IdP sends it (Entra sends one with roles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// A postal address of a user.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserAddress {
    /// The full address, formatted for display or a mailing label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// Street, house number, P.O. box.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    /// City or locality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// State or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Zip or postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Country, as the IdP sends it (ISO 3166-1 alpha-2 by the SCIM RFC, e.g. `US`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The kind of address as the IdP labels it (`work`, `home`, `other`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Whether the IdP marks this address as the preferred one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

/// The parts of a user's name.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonName {
    /// The full name, formatted for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// Given (first) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Family (last) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Middle name(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Title before the name, such as `Ms.` or `Dr.`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honorific_prefix: Option<String>,
    /// Suffix after the name, such as `III` or `PhD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honorific_suffix: Option<String>,
}

/// The SCIM enterprise user extension (RFC 7643 §4.3): where the user sits in the organisation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnterpriseAttributes {
    /// Employee number from the HR system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    /// Department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The SCIM id of the user's manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// The manager's name as the IdP sends it (SCIM `manager.displayName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager_display_name: Option<String>,
    /// Cost center.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_center: Option<String>,
    /// Organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Division.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
}

/// A person in the workspace directory.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "rolecall.dev",
    version = "v1alpha1",
    kind = "User",
    plural = "users",
    singular = "user",
    shortname = "rcuser",
    category = "rolecall",
    namespaced,
    status = "UserStatus",
    doc = "A person of the workspace directory, written by the SCIM sidecar from the identity provider or by an admin. Team membership lives here (spec.teams), so a group of any size never makes one object grow.",
    printcolumn(name = "UserName", type_ = "string", json_path = ".spec.userName"),
    printcolumn(name = "Active", type_ = "boolean", json_path = ".spec.active"),
    printcolumn(name = "Seated", type_ = "string", json_path = ".status.conditions[?(@.type==\"Seated\")].status"),
    printcolumn(name = "Reason", type_ = "string", json_path = ".status.conditions[?(@.type==\"Seated\")].reason", priority = 1),
    printcolumn(name = "Hubs", type_ = "string", json_path = ".status.hubs"),
    printcolumn(name = "External", type_ = "boolean", json_path = ".spec.external", priority = 1),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct UserSpec {
    /// The unique sign-in name, usually the work email. Unique per workspace, case-insensitively.
    #[schemars(length(min = 1, max = 320))]
    pub user_name: String,
    /// The identity provider's own id for this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The name to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The parts of the user's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<PersonName>,
    /// Email addresses; app accounts are matched against every one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub emails: Vec<UserEmail>,
    /// A casual name, such as `Bob` for Robert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    /// A URL of the user's online profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_url: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The organisation's kind of user, such as `Employee` or `Contractor`. Informative only:
    /// `external` is what marks a guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// Preferred written or spoken language, such as `en-US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<String>,
    /// Locale for dates, numbers and currency, such as `en-US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Time zone, in the IANA database's form such as `Europe/Paris`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Phone numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub phone_numbers: Vec<UserValue>,
    /// Instant messaging addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub ims: Vec<UserValue>,
    /// URLs of photos of the user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    pub photos: Vec<UserValue>,
    /// Postal addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub addresses: Vec<UserAddress>,
    /// Entitlements the IdP records for the user. Informative: seats come from AccessGrants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub entitlements: Vec<UserValue>,
    /// Roles the IdP assigns to the user (Entra's app roles). Informative: app roles come from AccessGrants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub roles: Vec<UserValue>,
    /// X.509 certificates of the user, base64 DER.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 4))]
    pub x509_certificates: Vec<UserValue>,
    /// Enterprise attributes (employee number, cost center, organization, division, department, manager).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise: Option<EnterpriseAttributes>,
    /// False when the IdP deactivated the user: every seat is removed, the record stays.
    /// Absent means active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// True for a person outside the company (contractor, partner): accounts
    /// matched to this user are reported as guests.
    #[serde(default)]
    pub external: bool,
    /// Names of the `Team`s this user belongs to. Membership is kept on the user,
    /// not on the team, so adding one member to a 50,000-member group is one small write.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000))]
    pub teams: Vec<String>,
}

/// What the operator last observed for this user.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserStatus {
    /// The `metadata.generation` last acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Seated`: True when the user holds a seat in at least one hub; False with
    /// the reason when none (Deactivated, NoGrant, NoInvitableEmail, WaitingForClaim,
    /// InviteFailed, Pending).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The hubs where an AppAccount matched to this user holds a seat (state
    /// Onboarded, InviteSent, InviteExpired, Removing or KeptWithoutGrant), sorted.
    /// Each seat's state is on its AppAccount, so accepting an invitation does not rewrite the User.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000))]
    pub hubs: Vec<String>,
}

impl UserSpec {
    /// Whether the user is active: unless the IdP said otherwise, it is.
    pub fn is_active(&self) -> bool {
        self.active != Some(false)
    }
}
