//! The IdPBinding controller: is the token Secret there, with at least one token?
//!
//! The SCIM sidecar owns the request bookkeeping fields of the status (base
//! URL, counts, last request); this controller applies only the fields it
//! owns, under its own field manager, so the two never fight.

use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use serde::Serialize;

use crate::api::IdPBinding;
use crate::api::condition::{Condition, find_condition, merge_conditions};
use crate::checks::binding::{READY, check_binding};

use super::context::Context;
use super::error::Error;
use super::secrets::lookup_secret;
use super::status::{announce_transition, apply_status};
use crate::api::time::now_rfc3339;

pub const NAME: &str = "idpbinding";

/// The part of IdPBinding status this controller writes.
#[derive(Serialize, PartialEq, Debug)]
#[serde(rename_all = "camelCase")]
struct OwnedStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    observed_generation: Option<i64>,
    conditions: Vec<Condition>,
}

pub async fn reconcile(binding: Arc<IdPBinding>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = binding.namespace().ok_or(Error::MissingMetadata("metadata.namespace"))?;
    let tokens = lookup_secret(&ctx.client, &namespace, &binding.spec.token_secret_ref.name).await?;
    let ready = check_binding(&binding.spec, &tokens);

    let previous = binding.status.clone().unwrap_or_default();
    let current = OwnedStatus { observed_generation: previous.observed_generation, conditions: previous.conditions.clone() };
    let desired = OwnedStatus {
        observed_generation: binding.metadata.generation,
        conditions: merge_conditions(&previous.conditions, vec![ready.clone()], &now_rfc3339(), binding.metadata.generation),
    };
    apply_status(&ctx, NAME, binding.as_ref(), Some(&current), &desired).await?;
    announce_transition(&ctx, NAME, binding.as_ref(), find_condition(&previous.conditions, READY), &ready).await;
    Ok(Action::requeue(ctx.resync))
}
