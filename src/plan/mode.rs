//! Step 5 of a plan: the hub's mode. Enforce keeps the plan; DryRun keeps it
//! as a report (each account's note says what Enforce would do); Observe only
//! reads back, so it plans nothing and holds nothing.

use crate::api::business_hub::HubMode;

use super::action::Plan;

pub fn apply_mode(mode: HubMode, mut plan: Plan) -> Plan {
    match mode {
        HubMode::Enforce => {}
        HubMode::DryRun => {
            let planned: std::collections::HashMap<String, _> = plan.actions.iter().map(|a| (a.email().to_lowercase(), a.kind())).collect();
            for entry in &mut plan.accounts {
                if let Some(kind) = planned.get(&entry.email.to_lowercase()) {
                    entry.note = Some(format!("DryRun: would {kind}"));
                }
            }
        }
        HubMode::Observe => {
            plan.actions.clear();
            plan.held.clear();
            for entry in &mut plan.accounts {
                entry.note.get_or_insert_with(|| "Observe mode: rolecall only reports".into());
            }
        }
    }
    plan
}
