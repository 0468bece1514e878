//! The Partner controller: says why a Partner cannot be acted on (its hub does
//! not exist, or its hub's connector has no partners). A Partner whose hub can
//! have partners is read back, planned and written by that hub's sync
//! (`partner_sync`), which this controller then leaves alone.

use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;

use crate::api::BusinessHub;
use crate::api::condition::{Condition, ConditionStatus, find_condition, merge_conditions};
use crate::api::partner::{Partner, PartnerStatus};
use crate::api::time::now_rfc3339;
use crate::api::wire::condition::READY;

use super::context::Context;
use super::error::Error;
use super::status::{announce_transition, apply_status};

pub const NAME: &str = "partner";

pub async fn reconcile(partner: Arc<Partner>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = partner.namespace().ok_or(Error::MissingMetadata("metadata.namespace"))?;
    let hub = ctx.hubs.get(&ObjectRef::<BusinessHub>::new(&partner.spec.hub).within(&namespace));
    let Some(refusal) = refusal(&partner, hub.as_deref()) else {
        // The hub's sync owns this Partner's status.
        return Ok(Action::await_change());
    };
    let previous = partner.status.clone().unwrap_or_default();
    let desired = PartnerStatus {
        observed_generation: partner.metadata.generation,
        conditions: merge_conditions(&previous.conditions, vec![refusal.clone()], &now_rfc3339(), partner.metadata.generation),
        ..Default::default()
    };
    apply_status(&ctx, NAME, partner.as_ref(), partner.status.as_ref(), &desired).await?;
    announce_transition(&ctx, NAME, partner.as_ref(), find_condition(&previous.conditions, READY), &refusal).await;
    Ok(Action::await_change())
}

/// Why the Partner cannot be acted on, if it cannot.
fn refusal(partner: &Partner, hub: Option<&BusinessHub>) -> Option<Condition> {
    match hub {
        None => Some(Condition::new(
            READY,
            ConditionStatus::False,
            "HubNotFound",
            format!("BusinessHub {:?} does not exist in this namespace; the partner is read once it does", partner.spec.hub),
        )),
        Some(hub) if !crate::connector::capabilities(&hub.spec.connector).partners => Some(Condition::new(
            READY,
            ConditionStatus::False,
            "PartnersNotSupported",
            format!(
                "hub {:?} uses the {:?} connector, which has no partners (the Meta and TikTok connectors do); nothing is read or changed",
                partner.spec.hub, hub.spec.connector.type_
            ),
        )),
        Some(_) => None,
    }
}

/// The Partners of a hub, to reconcile again when the hub changes (made, deleted, its connector changed).
pub fn partners_of_hub(partners: &[Arc<Partner>], hub: &BusinessHub) -> Vec<ObjectRef<Partner>> {
    partners
        .iter()
        .filter(|p| p.namespace() == hub.namespace() && p.spec.hub == hub.name_any())
        .map(|p| ObjectRef::from_obj(p.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::business_hub::ConnectorType;
    use crate::api::partner::PartnerSpec;

    #[test]
    fn a_partner_of_a_missing_hub_or_of_a_hub_without_partners_says_why() {
        let partner = Partner::new("agency", PartnerSpec { hub: "ads".into(), partner_id: "77".into(), access: None });
        assert_eq!(refusal(&partner, None).map(|c| c.reason), Some("HubNotFound".into()));
        let mut spec = crate::checks::hub::tests::hub_spec();
        let scim = BusinessHub::new("ads", spec.clone());
        assert_eq!(refusal(&partner, Some(&scim)).map(|c| c.reason), Some("PartnersNotSupported".into()));
        spec.connector.type_ = ConnectorType::Meta;
        assert_eq!(refusal(&partner, Some(&BusinessHub::new("ads", spec))), None);
    }
}
