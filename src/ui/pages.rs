//! The routes and their pages: the hubs of a namespace, one hub's user
//! tables (and its partners and imported assets), one user's seats. Each handler reads what it shows with the
//! caller's client and renders one template; an API refusal becomes a page
//! saying so, with the API server's own status (403, 404).

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{Extension, Path, Query, State as Extract};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Router, middleware};
use k8s_openapi::api::core::v1::Event;
use kube::api::ListParams;
use kube::{Api, Client, ResourceExt};
use minijinja::{Environment, context};
use serde::{Deserialize, Serialize};

use crate::api::app_account::UserTable;
use crate::api::condition::find_condition;
use crate::api::wire::condition::SEATED;
use crate::api::{BusinessHub, Partner, User};

use super::account_cache::AccountCache;
use super::error::UiError;
use super::local_host;
use super::namespaces::pickable;
use super::read_only::{SignInForm, only_reads};
use super::table_query::{RawTableQuery, SortKey, TableView, encode, select, table_name};
use super::token_auth::{TokenAuth, require_token};
use super::viewer::Viewer;
use super::views::{ConditionView, account_row, asset_rows, event_time, event_view, hub_view, partner_rows, removal_held};

/// How many of the latest Events, pending notes and held removals a hub page lists.
const LATEST_EVENTS: usize = 20;
const LISTED_NOTES: usize = 50;

#[derive(Clone)]
pub struct State {
    home: String,
    env: Arc<Environment<'static>>,
    accounts: AccountCache,
}

/// Who may look, and as whom the pages read the API.
pub enum Access {
    /// `rolecall ui`: the caller's kubeconfig, for requests to localhost only.
    Local(Client),
    /// `rolecall ui --in-cluster`: each viewer's own token (token_auth.rs).
    Token(TokenAuth),
}

impl State {
    pub fn new(accounts: AccountCache, home: String, env: Arc<Environment<'static>>) -> State {
        State { accounts, home, env }
    }

    fn render(&self, viewer: &Viewer, name: &str, status: StatusCode, ctx: minijinja::Value) -> Response {
        let ctx = context! { viewer => viewer.name.clone(), ..ctx };
        match self.env.get_template(name).and_then(|t| t.render(ctx)) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot render the page: {e}")).into_response(),
        }
    }

    async fn error_page(&self, viewer: &Viewer, ns: &str, e: UiError) -> Response {
        let status = e.status();
        if status.is_server_error() {
            tracing::warn!(error = %e, "page failed");
        }
        let title = match status {
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::NOT_FOUND => "Not found",
            _ => "Cannot show this page",
        };
        let namespaces = pickable(&viewer.client, &self.home).await;
        self.render(
            viewer,
            "error.html",
            status,
            context! { title, message => e.explain(), status => status.as_u16(), ns, namespaces, refresh => None::<u32> },
        )
    }
}

pub fn router(state: State, access: Access) -> Router {
    let pages = Router::new()
        .route("/", get(home))
        .route("/ns", get(pick_namespace))
        .route("/ns/{ns}", get(hubs_page))
        .route("/ns/{ns}/hubs/{hub}", get(hub_page))
        .route("/ns/{ns}/users/{user}", get(user_page))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(state);
    // Layers run outside in: headers on every answer, then the 405 for writes, then who may look.
    let (pages, sign_in) = match access {
        Access::Local(client) => {
            (pages.layer(Extension(Viewer { client, name: None })).layer(middleware::from_fn(local_host::only_local_hosts)), false)
        }
        Access::Token(auth) => (pages.merge(auth.routes()).layer(middleware::from_fn_with_state(auth, require_token)), true),
    };
    pages.layer(middleware::from_fn_with_state(SignInForm(sign_in), only_reads)).layer(middleware::from_fn(security_headers))
}

/// The page's own rules, in case an escaped value is ever not: no script, no
/// other origin, no framing.
async fn security_headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

#[derive(Deserialize)]
struct Pick {
    namespace: Option<String>,
    refresh: Option<String>,
}

async fn home(Extract(state): Extract<State>, Extension(viewer): Extension<Viewer>, Query(pick): Query<Pick>) -> Response {
    let ns = state.home.clone();
    hubs(&state, &viewer, &ns, pick.refresh.as_deref()).await
}

/// The namespace picker's form: a link to the namespace's own page.
async fn pick_namespace(Extract(state): Extract<State>, Query(pick): Query<Pick>) -> Redirect {
    let ns = pick.namespace.filter(|n| !n.is_empty()).unwrap_or(state.home);
    Redirect::to(&format!("/ns/{}", encode(&ns)))
}

async fn hubs_page(
    Extract(state): Extract<State>,
    Extension(viewer): Extension<Viewer>,
    Path(ns): Path<String>,
    Query(pick): Query<Pick>,
) -> Response {
    hubs(&state, &viewer, &ns, pick.refresh.as_deref()).await
}

async fn hubs(state: &State, viewer: &Viewer, ns: &str, refresh: Option<&str>) -> Response {
    let api: Api<BusinessHub> = Api::namespaced(viewer.client.clone(), ns);
    let list = match api.list(&ListParams::default()).await {
        Ok(list) => list,
        Err(e) => return state.error_page(viewer, ns, e.into()).await,
    };
    let mut items = list.items;
    items.sort_by_key(|h| h.name_any());
    let hubs: Vec<_> = items.iter().map(hub_view).collect();
    let namespaces = pickable(&viewer.client, &state.home).await;
    let refresh = refresh.and_then(|r| r.parse::<u32>().ok()).filter(|r| *r >= 2);
    state.render(viewer, "hubs.html", StatusCode::OK, context! { ns, namespaces, hubs, refresh })
}

#[derive(Serialize)]
struct Tab {
    name: String,
    count: usize,
    href: String,
    current: bool,
}

#[derive(Serialize)]
struct Column {
    key: &'static str,
    label: &'static str,
    href: Option<String>,
    sorted: Option<&'static str>,
}

#[derive(Serialize, Default)]
struct Links {
    first: Option<String>,
    prev: Option<String>,
    next: Option<String>,
    last: Option<String>,
    live: String,
    stop_live: String,
    clear: String,
}

#[derive(Serialize)]
struct Noted {
    email: String,
    member: String,
    note: String,
}

async fn hub_page(
    Extract(state): Extract<State>,
    Extension(viewer): Extension<Viewer>,
    Path((ns, hub)): Path<(String, String)>,
    Query(raw): Query<RawTableQuery>,
) -> Response {
    match hub_page_result(&state, &viewer, &ns, &hub, &raw).await {
        Ok(response) => response,
        Err(e) => state.error_page(&viewer, &ns, e).await,
    }
}

async fn hub_page_result(state: &State, viewer: &Viewer, ns: &str, hub_name: &str, raw: &RawTableQuery) -> Result<Response, UiError> {
    let hub = Api::<BusinessHub>::namespaced(viewer.client.clone(), ns).get(hub_name).await?;
    let accounts = state.accounts.hub_accounts(&viewer.client, ns, hub_name).await?;
    let view = TableView::parse(raw);
    let selection = select(&accounts, &view);

    let tabs: Vec<Tab> = selection
        .per_table
        .iter()
        .filter(|(t, n)| *t != UserTable::ServiceAccount || *n > 0 || view.table == UserTable::ServiceAccount)
        .map(|(t, n)| Tab {
            name: table_name(*t),
            count: *n,
            href: view.with(|v| {
                v.table = *t;
                v.state = None;
                v.page = 1;
            }),
            current: *t == view.table,
        })
        .collect();
    let columns: Vec<Column> = [
        (Some(SortKey::Email), "Account member"),
        (Some(SortKey::WorkspaceRole), "Workspace role"),
        (Some(SortKey::AppAccess), "App access (roles, assets)"),
        (Some(SortKey::SharedVia), "Shared via"),
        (Some(SortKey::LastUsed), "Last used"),
        (Some(SortKey::State), "Status"),
        (None, "Note"),
    ]
    .into_iter()
    .map(|(key, label)| match key {
        Some(k) => {
            let current = view.sort == k;
            let sorted = current.then_some(if view.descending { "descending" } else { "ascending" });
            let href = view.with(|v| {
                v.descending = current && !view.descending;
                v.sort = k;
                v.page = 1;
            });
            Column { key: k.as_str(), label, href: Some(href), sorted }
        }
        None => Column { key: "", label, href: None, sorted: None },
    })
    .collect();
    let page = selection.page;
    let mut links = Links {
        live: view.with(|v| v.refresh = Some(5)),
        stop_live: view.with(|v| v.refresh = None),
        clear: view.with(|v| {
            v.q.clear();
            v.state = None;
            v.page = 1;
        }),
        ..Links::default()
    };
    if page > 1 {
        links.first = Some(view.with(|v| v.page = 1));
        links.prev = Some(view.with(|v| v.page = page - 1));
    }
    if page < selection.pages {
        links.next = Some(view.with(|v| v.page = page + 1));
        links.last = Some(view.with(|v| v.page = selection.pages));
    }

    let noted = |a: &crate::api::AppAccount| Noted {
        email: a.spec.email.clone(),
        member: account_row(a).member,
        note: a.status.as_ref().and_then(|s| s.note.clone()).unwrap_or_default(),
    };
    let mut held_accounts: Vec<_> = accounts.iter().filter(|a| removal_held(a)).collect();
    held_accounts.sort_by(|a, b| a.spec.email.cmp(&b.spec.email));
    let held: Vec<Noted> = held_accounts.iter().take(LISTED_NOTES).map(|a| noted(a)).collect();
    let mut pending_accounts: Vec<_> = accounts
        .iter()
        // An exempted account's note is the admin's reason, shown in the Exempted table: nothing is pending.
        .filter(|a| !removal_held(a) && a.spec.exemption.is_none() && a.status.as_ref().is_some_and(|s| s.note.is_some()))
        .collect();
    pending_accounts.sort_by(|a, b| a.spec.email.cmp(&b.spec.email));
    let pending_total = pending_accounts.len();
    let pending: Vec<Noted> = pending_accounts.iter().take(LISTED_NOTES).map(|a| noted(a)).collect();

    let (events, events_error) = match latest_events(viewer, ns, hub_name, &accounts).await {
        Ok(events) => (events, None),
        Err(e) => (Vec::new(), Some(e.explain())),
    };
    let hub_status = hub.status.clone().unwrap_or_default();
    let (partners, partners_error) = if hub_status.partners.is_empty() {
        (Vec::new(), None)
    } else {
        // The Partner objects are read as the viewer, like everything else here; one the
        // viewer may not list leaves the rows without their state, and the page says why.
        match Api::<Partner>::namespaced(viewer.client.clone(), ns).list(&ListParams::default()).await {
            Ok(list) => (partner_rows(hub_name, &hub_status.partners, Some(&list.items)), None),
            Err(e) => (partner_rows(hub_name, &hub_status.partners, None), Some(UiError::from(e).explain())),
        }
    };
    let assets = asset_rows(&hub_status.assets);
    let assets_listed = hub_status.assets_listed.map_or(assets.len(), |n| usize::try_from(n).unwrap_or(0)).max(assets.len());
    let rows: Vec<_> = selection.rows.iter().map(|a| account_row(a)).collect();
    let states: Vec<(String, usize)> = selection.per_state.into_iter().collect();
    let namespaces = pickable(&viewer.client, &state.home).await;
    Ok(state.render(
        viewer,
        "hub.html",
        StatusCode::OK,
        context! {
            ns, namespaces, hub => hub_view(&hub), view => context! { q => view.q.clone(), per_page => view.per_page, refresh => view.refresh },
            view_table => table_name(view.table), view_state => view.state.map(super::table_query::state_name).unwrap_or_default(),
            refresh => view.refresh, tabs, columns, rows, states, links, matched => selection.matched, page, pages => selection.pages,
            held, pending, pending_total, pending_more => pending_total > LISTED_NOTES, events, events_error,
            partners, partners_error, assets, assets_listed,
        },
    ))
}

/// The newest Events about the hub and its accounts.
async fn latest_events(
    viewer: &Viewer,
    ns: &str,
    hub: &str,
    accounts: &[Arc<crate::api::AppAccount>],
) -> Result<Vec<super::views::EventView>, UiError> {
    let api: Api<Event> = Api::namespaced(viewer.client.clone(), ns);
    let about_accounts = api.list(&ListParams::default().fields("involvedObject.kind=AppAccount")).await?;
    let about_hub = api.list(&ListParams::default().fields(&format!("involvedObject.kind=BusinessHub,involvedObject.name={hub}"))).await?;
    let names: HashSet<String> =
        if about_accounts.items.is_empty() { HashSet::new() } else { accounts.iter().map(|a| a.name_any()).collect() };
    let mut events: Vec<Event> = about_accounts
        .items
        .into_iter()
        .filter(|e| e.involved_object.name.as_ref().is_some_and(|n| names.contains(n)))
        .chain(about_hub.items)
        .collect();
    events.sort_by_key(|e| std::cmp::Reverse(event_time(e)));
    Ok(events.iter().take(LATEST_EVENTS).map(event_view).collect())
}

#[derive(Serialize)]
struct UserFacts {
    object: String,
    display_name: String,
    emails: Vec<String>,
    active: bool,
    external: bool,
    seated: Option<ConditionView>,
}

async fn user_page(
    Extract(state): Extract<State>,
    Extension(viewer): Extension<Viewer>,
    Path((ns, user)): Path<(String, String)>,
) -> Response {
    let accounts = match state.accounts.all(&viewer.client, &ns).await {
        Ok(accounts) => accounts,
        Err(e) => return state.error_page(&viewer, &ns, e).await,
    };
    let mut seats: Vec<_> =
        accounts.iter().filter(|a| a.status.as_ref().and_then(|s| s.matched_user.as_deref()) == Some(user.as_str())).collect();
    seats.sort_by(|a, b| (&a.spec.hub, &a.spec.email).cmp(&(&b.spec.hub, &b.spec.email)));
    let rows: Vec<_> = seats.iter().map(|a| account_row(a)).collect();
    let (facts, user_missing) = match Api::<User>::namespaced(viewer.client.clone(), &ns).get_opt(&user).await {
        Ok(Some(u)) => {
            let seated = u.status.as_ref().and_then(|s| find_condition(&s.conditions, SEATED)).map(|c| ConditionView {
                type_: c.type_.clone(),
                status: c.status.as_ref().into(),
                reason: c.reason.clone(),
                message: c.message.clone(),
            });
            let facts = UserFacts {
                object: u.name_any(),
                display_name: u.spec.display_name.clone().unwrap_or_default(),
                emails: u.spec.emails.iter().map(|e| e.value.clone()).collect(),
                active: u.spec.active.unwrap_or(true),
                external: u.spec.external,
                seated,
            };
            (Some(facts), String::new())
        }
        Ok(None) => (None, "No User object of this name (the accounts below still name it).".to_string()),
        Err(e) => (None, UiError::from(e).explain()),
    };
    let user_name =
        facts.as_ref().map(|f| if f.display_name.is_empty() { f.object.clone() } else { f.display_name.clone() }).unwrap_or(user.clone());
    if facts.is_none() && rows.is_empty() {
        return state
            .error_page(&viewer, &ns, UiError::NotFound(format!("no User {user} and no account matched to it in namespace {ns}")))
            .await;
    }
    let namespaces = pickable(&viewer.client, &state.home).await;
    state.render(
        &viewer,
        "user.html",
        StatusCode::OK,
        context! { ns, namespaces, user => facts, user_missing, user_name, rows, refresh => None::<u32> },
    )
}
