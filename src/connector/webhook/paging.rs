//! Walking `GET /v1/accounts` by cursor without trusting the connector to end:
//! a cursor seen before (a loop), an account listed twice, or more pages than
//! any app has stops the listing with an error. A partial or doubled list is
//! never returned as the whole: accounts would look missing (and be invited
//! again) or look twice.

use std::collections::HashSet;

use super::super::ConnectorError;
use super::wire::AccountPage;

/// A connector that keeps answering with more pages is cut off here.
pub const MAX_PAGES: usize = 100_000;

/// The state of one listing.
#[derive(Debug, Default)]
pub struct Pages {
    cursors: HashSet<String>,
    ids: HashSet<String>,
    pages: usize,
}

impl Pages {
    /// Takes one page in; returns the cursor of the next page, or `None` at the end.
    pub fn next(&mut self, page: &AccountPage) -> Result<Option<String>, ConnectorError> {
        self.pages += 1;
        for account in &page.accounts {
            if !self.ids.insert(account.id.clone()) {
                return Err(ConnectorError::Permanent(format!(
                    "the connector listed account {} twice in one listing (its paging repeats items)",
                    account.id
                )));
            }
        }
        let Some(cursor) = page.next_cursor.clone().filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        if !self.cursors.insert(cursor.clone()) {
            return Err(ConnectorError::Permanent(format!(
                "the connector answered the cursor {cursor:?} a second time after {} pages; its paging loops",
                self.pages
            )));
        }
        if self.pages >= MAX_PAGES {
            return Err(ConnectorError::Permanent(format!("the connector kept announcing more pages after {MAX_PAGES}")));
        }
        Ok(Some(cursor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::webhook::wire::WireAccount;

    fn page(ids: &[&str], next: Option<&str>) -> AccountPage {
        let accounts = ids
            .iter()
            .map(|id| WireAccount {
                id: id.to_string(),
                email: format!("{id}@acme.io"),
                display_name: None,
                roles: vec![],
                assets: Default::default(),
                status: "active".into(),
                last_active: None,
                invite_failure: None,
            })
            .collect();
        AccountPage { accounts, next_cursor: next.map(str::to_string) }
    }

    #[test]
    fn a_listing_follows_cursors_to_the_end() {
        let mut pages = Pages::default();
        assert_eq!(pages.next(&page(&["1", "2"], Some("a"))), Ok(Some("a".into())));
        assert_eq!(pages.next(&page(&["3"], Some("b"))), Ok(Some("b".into())));
        assert_eq!(pages.next(&page(&[], Some(""))), Ok(None), "an empty cursor ends it too");
    }

    #[test]
    fn a_connector_that_repeats_a_cursor_is_cut_off_not_looped_forever() {
        let mut pages = Pages::default();
        let mut calls = 0;
        let mut cursor = pages.next(&page(&["1"], Some("a")));
        // The connector answers every page with the same cursor.
        while let Ok(Some(_)) = cursor {
            calls += 1;
            assert!(calls < 10, "the loop is bounded");
            cursor = pages.next(&page(&[], Some("a")));
        }
        assert!(matches!(cursor, Err(ConnectorError::Permanent(m)) if m.contains("loops")));
        assert_eq!(calls, 1);
    }

    #[test]
    fn an_item_repeated_across_pages_fails_the_listing() {
        let mut pages = Pages::default();
        assert!(pages.next(&page(&["1", "2"], Some("a"))).is_ok());
        assert!(matches!(pages.next(&page(&["2", "3"], None)), Err(ConnectorError::Permanent(m)) if m.contains("twice")));
    }
}
