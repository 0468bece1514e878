//! Writing status: server-side apply under one field manager, and no write at
//! all when the computed status equals what the object already has.

use std::fmt::Debug;

use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::FIELD_MANAGER;
use crate::api::condition::{Condition, ConditionStatus};

use super::context::Context;
use super::error::Error;

/// Applies `desired` as the object's status unless it already is. Returns the
/// object as written, or `None` when nothing needed writing.
pub async fn apply_status<K, S>(
    ctx: &Context,
    controller: &'static str,
    obj: &K,
    current: Option<&S>,
    desired: &S,
) -> Result<Option<K>, Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope> + Clone + DeserializeOwned + Debug,
    S: Serialize + PartialEq,
{
    if current == Some(desired) {
        return Ok(None);
    }
    let name = obj.meta().name.as_deref().ok_or(Error::MissingMetadata("metadata.name"))?;
    let namespace = obj.namespace().ok_or(Error::MissingMetadata("metadata.namespace"))?;
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": desired,
    });
    let written = api.patch_status(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&patch)).await?;
    ctx.metrics.count_write(controller, "status");
    Ok(Some(written))
}

/// Publishes an Event when a condition changed its status or reason: a Warning
/// when it turned False, a Normal one when it turned True. Nothing when it held,
/// so a steady state writes no Events either.
pub async fn announce_transition<K>(ctx: &Context, controller: &'static str, obj: &K, before: Option<&Condition>, after: &Condition)
where
    K: Resource<DynamicType = ()>,
{
    let changed = before.is_none_or(|b| b.status != after.status || b.reason != after.reason);
    if !changed {
        return;
    }
    // A first reconcile that finds everything fine is no news.
    if before.is_none() && after.status == ConditionStatus::True {
        return;
    }
    let type_ = if after.status == ConditionStatus::True { EventType::Normal } else { EventType::Warning };
    let event = Event {
        type_,
        reason: after.reason.clone(),
        note: Some(truncate(&after.message, 1000)),
        action: format!("Check{}", after.type_),
        secondary: None,
    };
    match ctx.recorder.publish(&event, &obj.object_ref(&())).await {
        Ok(()) => ctx.metrics.count_write(controller, "event"),
        Err(e) => tracing::warn!(error = %e, reason = %after.reason, "cannot publish Event"),
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
