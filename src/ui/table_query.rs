//! One user table of a hub as a page: the query parameters a link carries
//! (`table`, `q`, `state`, `sort`, `page`, `per_page`), and the selection they
//! make from the hub's accounts: filtered, sorted, one page of rows. Done on
//! the server, so the browser gets one page whatever the hub's size.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::api::AppAccount;
use crate::api::app_account::{AccountState, UserTable};

/// The user tables in the order the page shows them.
pub const TABLES: [UserTable; 5] =
    [UserTable::Onboarded, UserTable::Unmatched, UserTable::Guest, UserTable::Exempted, UserTable::ServiceAccount];

pub const DEFAULT_PER_PAGE: usize = 50;
pub const MAX_PER_PAGE: usize = 500;

/// The query string as it arrives: every value outside input, read leniently
/// (an unknown value falls back to the default rather than failing the page).
#[derive(Deserialize, Debug, Default, Clone)]
pub struct RawTableQuery {
    pub table: Option<String>,
    pub q: Option<String>,
    pub state: Option<String>,
    pub sort: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
    pub refresh: Option<String>,
}

/// A column the table sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Email,
    Member,
    WorkspaceRole,
    AppAccess,
    SharedVia,
    LastUsed,
    State,
}

impl SortKey {
    pub const ALL: [SortKey; 7] = [
        SortKey::Email,
        SortKey::Member,
        SortKey::WorkspaceRole,
        SortKey::AppAccess,
        SortKey::SharedVia,
        SortKey::LastUsed,
        SortKey::State,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Email => "email",
            SortKey::Member => "member",
            SortKey::WorkspaceRole => "role",
            SortKey::AppAccess => "access",
            SortKey::SharedVia => "via",
            SortKey::LastUsed => "last_used",
            SortKey::State => "state",
        }
    }

    fn parse(text: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The value compared, lower-cased so sorting is by what people read.
    fn value(self, a: &AppAccount) -> String {
        let s = a.status.as_ref();
        let text = match self {
            SortKey::Email => a.spec.email.clone(),
            SortKey::Member => {
                s.and_then(|s| s.display_name.clone().or(s.user_name.clone()).or(s.matched_user.clone())).unwrap_or_default()
            }
            SortKey::WorkspaceRole => s.and_then(|s| s.workspace_role).map(|r| format!("{r:?}")).unwrap_or_default(),
            SortKey::AppAccess => s.map(|s| [s.app_roles.join(","), s.assets.join(",")].join(" ")).unwrap_or_default(),
            SortKey::SharedVia => s.map(|s| s.granted_via.join(",")).unwrap_or_default(),
            SortKey::LastUsed => s.and_then(|s| s.last_used.clone()).unwrap_or_default(),
            SortKey::State => s.and_then(|s| s.state).map(|st| format!("{st:?}")).unwrap_or_default(),
        };
        text.to_lowercase()
    }
}

/// What one page of one table shows, parsed from a [`RawTableQuery`].
#[derive(Debug, Clone, PartialEq)]
pub struct TableView {
    pub table: UserTable,
    pub q: String,
    pub state: Option<AccountState>,
    pub sort: SortKey,
    pub descending: bool,
    pub page: usize,
    pub per_page: usize,
    /// Seconds between reloads of the page; none when absent (opt-in live updates).
    pub refresh: Option<u32>,
}

impl Default for TableView {
    fn default() -> Self {
        TableView {
            table: UserTable::Onboarded,
            q: String::new(),
            state: None,
            sort: SortKey::Email,
            descending: false,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
            refresh: None,
        }
    }
}

pub fn table_name(t: UserTable) -> String {
    format!("{t:?}")
}

pub fn state_name(s: AccountState) -> String {
    format!("{s:?}")
}

const STATES: [AccountState; 11] = [
    AccountState::PendingInvite,
    AccountState::InviteSent,
    AccountState::InviteExpired,
    AccountState::InviteFailed,
    AccountState::Onboarded,
    AccountState::Removing,
    AccountState::Removed,
    AccountState::KeptWithoutGrant,
    AccountState::ManageOnly,
    AccountState::ExternalEnrollee,
    AccountState::Exempt,
];

impl TableView {
    pub fn parse(raw: &RawTableQuery) -> TableView {
        let d = TableView::default();
        let nonempty = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        let (descending, sort) = match nonempty(&raw.sort) {
            Some(s) => match s.strip_prefix('-') {
                Some(rest) => (true, SortKey::parse(rest)),
                None => (false, SortKey::parse(&s)),
            },
            None => (false, None),
        };
        TableView {
            table: nonempty(&raw.table)
                .and_then(|t| TABLES.into_iter().find(|x| table_name(*x).eq_ignore_ascii_case(&t)))
                .unwrap_or(d.table),
            q: nonempty(&raw.q).unwrap_or_default(),
            state: nonempty(&raw.state).and_then(|t| STATES.into_iter().find(|x| state_name(*x).eq_ignore_ascii_case(&t))),
            descending: descending && sort.is_some(),
            sort: sort.unwrap_or(d.sort),
            page: nonempty(&raw.page).and_then(|p| p.parse().ok()).filter(|p| *p >= 1).unwrap_or(1),
            per_page: nonempty(&raw.per_page)
                .and_then(|p| p.parse().ok())
                .filter(|p| *p >= 1)
                .map(|p: usize| p.min(MAX_PER_PAGE))
                .unwrap_or(d.per_page),
            refresh: nonempty(&raw.refresh).and_then(|p| p.parse().ok()).filter(|p| *p >= 2),
        }
    }

    /// The query string of this view (defaults left out, so links stay short).
    pub fn query_string(&self) -> String {
        let d = TableView::default();
        let mut parts = vec![format!("table={}", table_name(self.table))];
        if !self.q.is_empty() {
            parts.push(format!("q={}", encode(&self.q)));
        }
        if let Some(s) = self.state {
            parts.push(format!("state={}", state_name(s)));
        }
        if self.sort != d.sort || self.descending {
            parts.push(format!("sort={}{}", if self.descending { "-" } else { "" }, self.sort.as_str()));
        }
        if self.page != 1 {
            parts.push(format!("page={}", self.page));
        }
        if self.per_page != d.per_page {
            parts.push(format!("per_page={}", self.per_page));
        }
        if let Some(r) = self.refresh {
            parts.push(format!("refresh={r}"));
        }
        format!("?{}", parts.join("&"))
    }

    /// This view with one change, as a query string.
    pub fn with(&self, change: impl FnOnce(&mut TableView)) -> String {
        let mut v = self.clone();
        change(&mut v);
        v.query_string()
    }
}

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One page of one table, and the counts around it.
pub struct Selection {
    /// Accounts per table, every table listed (zero included).
    pub per_table: Vec<(UserTable, usize)>,
    /// Accounts per state within the selected table (before the search), for the state filter.
    pub per_state: BTreeMap<String, usize>,
    /// Accounts the search and the state filter leave.
    pub matched: usize,
    pub pages: usize,
    /// The page asked for, clamped to the last page.
    pub page: usize,
    pub rows: Vec<Arc<AppAccount>>,
}

/// The table an account is in: an account without status yet is unmatched until the operator says otherwise.
pub fn table_of(a: &AppAccount) -> UserTable {
    a.status.as_ref().and_then(|s| s.table).unwrap_or(UserTable::Unmatched)
}

/// Whether `q` (lower-cased) appears in anything the row shows.
fn matches_search(a: &AppAccount, q: &str) -> bool {
    if q.is_empty() {
        return true;
    }
    let has = |v: &str| v.to_lowercase().contains(q);
    if has(&a.spec.email) || a.metadata.name.as_deref().is_some_and(has) {
        return true;
    }
    let Some(s) = a.status.as_ref() else { return false };
    [&s.user_name, &s.display_name, &s.matched_user, &s.note].into_iter().flatten().any(|v| has(v))
        || s.app_roles.iter().chain(&s.assets).chain(&s.granted_via).any(|v| has(v))
}

pub fn select(accounts: &[Arc<AppAccount>], view: &TableView) -> Selection {
    let mut per_table: BTreeMap<UserTable, usize> = TABLES.into_iter().map(|t| (t, 0)).collect();
    let mut per_state: BTreeMap<String, usize> = BTreeMap::new();
    let q = view.q.to_lowercase();
    let mut keyed: Vec<(String, &Arc<AppAccount>)> = Vec::new();
    for a in accounts {
        let table = table_of(a);
        *per_table.entry(table).or_default() += 1;
        if table != view.table {
            continue;
        }
        let state = a.status.as_ref().and_then(|s| s.state);
        *per_state.entry(state.map(state_name).unwrap_or_else(|| "-".into())).or_default() += 1;
        if view.state.is_some_and(|want| state != Some(want)) || !matches_search(a, &q) {
            continue;
        }
        keyed.push((view.sort.value(a), a));
    }
    // Ties break by email then name, so a page is stable between reloads.
    keyed.sort_by(|(ka, a), (kb, b)| {
        ka.cmp(kb).then_with(|| a.spec.email.cmp(&b.spec.email)).then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
    if view.descending {
        keyed.reverse();
    }
    let matched = keyed.len();
    let pages = matched.div_ceil(view.per_page).max(1);
    let page = view.page.min(pages);
    let rows = keyed.into_iter().skip((page - 1) * view.per_page).take(view.per_page).map(|(_, a)| Arc::clone(a)).collect();
    Selection { per_table: per_table.into_iter().collect(), per_state, matched, pages, page, rows }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::app_account::{AppAccountSpec, AppAccountStatus};

    fn account(email: &str, table: UserTable, state: AccountState) -> Arc<AppAccount> {
        let mut a = AppAccount::new(
            &email.replace(['@', '.'], "-"),
            AppAccountSpec { hub: "crm".into(), email: email.into(), match_user: None, exemption: None },
        );
        a.status = Some(AppAccountStatus { table: Some(table), state: Some(state), ..Default::default() });
        Arc::new(a)
    }

    fn raw(pairs: &[(&str, &str)]) -> RawTableQuery {
        let get = |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        RawTableQuery {
            table: get("table"),
            q: get("q"),
            state: get("state"),
            sort: get("sort"),
            page: get("page"),
            per_page: get("per_page"),
            refresh: get("refresh"),
        }
    }

    #[test]
    fn outside_input_falls_back_to_defaults_and_is_bounded() {
        let v =
            TableView::parse(&raw(&[("table", "<script>"), ("page", "-3"), ("per_page", "100000"), ("sort", "-nope"), ("refresh", "0")]));
        assert_eq!(v, TableView { per_page: MAX_PER_PAGE, ..TableView::default() });
        let v = TableView::parse(&raw(&[("table", "guest"), ("state", "removing"), ("sort", "-last_used"), ("page", "3")]));
        assert_eq!(
            (v.table, v.state, v.sort, v.descending, v.page),
            (UserTable::Guest, Some(AccountState::Removing), SortKey::LastUsed, true, 3)
        );
    }

    #[test]
    fn a_link_carries_the_view_and_encodes_the_search() {
        let v = TableView { q: "a&b c\"<".into(), sort: SortKey::State, descending: true, page: 2, ..TableView::default() };
        assert_eq!(v.query_string(), "?table=Onboarded&q=a%26b%20c%22%3C&sort=-state&page=2");
        assert_eq!(TableView::parse(&raw(&[("q", "a&b c\"<"), ("sort", "-state"), ("page", "2")])), v);
    }

    #[test]
    fn search_state_sort_and_paging_select_one_page_of_one_table() {
        let mut accounts: Vec<Arc<AppAccount>> =
            (0..25).map(|i| account(&format!("user{i:02}@acme.io"), UserTable::Onboarded, AccountState::Onboarded)).collect();
        accounts.push(account("leaving@acme.io", UserTable::Onboarded, AccountState::Removing));
        accounts.push(account("stranger@else.example", UserTable::Unmatched, AccountState::ExternalEnrollee));
        let view = TableView { per_page: 10, page: 3, ..TableView::default() };
        let s = select(&accounts, &view);
        assert_eq!(s.per_table[..2], [(UserTable::Onboarded, 26), (UserTable::Unmatched, 1)]);
        assert_eq!((s.matched, s.pages, s.page, s.rows.len()), (26, 3, 3, 6));
        assert_eq!(s.rows[0].spec.email, "user19@acme.io");
        assert_eq!(s.per_state.get("Removing"), Some(&1));
        // A page past the end shows the last one.
        assert_eq!(select(&accounts, &TableView { page: 99, ..view.clone() }).page, 3);
        let s = select(&accounts, &TableView { q: "LEAV".into(), ..TableView::default() });
        assert_eq!(s.rows.iter().map(|a| a.spec.email.as_str()).collect::<Vec<_>>(), ["leaving@acme.io"]);
        let s = select(&accounts, &TableView { state: Some(AccountState::Removing), ..TableView::default() });
        assert_eq!(s.matched, 1);
        let s = select(&accounts, &TableView { sort: SortKey::Email, descending: true, ..TableView::default() });
        assert_eq!(s.rows[0].spec.email, "user24@acme.io");
        let s = select(&accounts, &TableView { table: UserTable::Unmatched, ..TableView::default() });
        assert_eq!(s.rows[0].spec.email, "stranger@else.example");
    }
}
