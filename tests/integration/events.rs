//! The operator's Event recorder against the real API server: a repeat of the
//! same reason about the same object counts on the first Event's series (one
//! object, not one per repeat), and another reason is another Event.

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event as K8sEvent;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::runtime::events::{Event, EventType, Reporter};
use kube::{Resource, ResourceExt};
use rolecall::operator::event_recorder::EventRecorder;

use crate::harness::{client, namespace};

#[tokio::test]
async fn a_repeated_event_counts_on_its_series() {
    let client = client().await;
    let ns = namespace(&client, "it-events").await;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let object = ConfigMap { metadata: ObjectMeta { name: Some("subject".into()), ..Default::default() }, ..Default::default() };
    let object = maps.create(&PostParams::default(), &object).await.expect("configmap");
    let regarding = object.object_ref(&());
    let recorder = EventRecorder::new(client.clone(), Reporter { controller: "rolecall-operator".into(), instance: Some("it".into()) });
    let failed = |note: &str| Event {
        type_: EventType::Warning,
        reason: "InviteFailed".into(),
        note: Some(note.into()),
        action: "Invite".into(),
        secondary: None,
    };
    for attempt in 1..=3 {
        recorder.publish(&failed(&format!("attempt {attempt}: 503")), &regarding).await.expect("publish");
    }
    let done =
        Event { type_: EventType::Normal, reason: "Invite".into(), note: Some("sent".into()), action: "Invite".into(), secondary: None };
    recorder.publish(&done, &regarding).await.expect("publish");

    let events: Api<K8sEvent> = Api::namespaced(client.clone(), &ns);
    let mut listed: Vec<K8sEvent> = events.list(&Default::default()).await.expect("events").items;
    listed.retain(|e| e.regarding.as_ref().and_then(|r| r.uid.clone()) == object.uid());
    listed.sort_by_key(|e| e.reason.clone());
    let seen: Vec<(Option<String>, Option<i32>, Option<String>)> =
        listed.iter().map(|e| (e.reason.clone(), e.series.as_ref().map(|s| s.count), e.type_.clone())).collect();
    assert_eq!(
        seen,
        [(Some("Invite".into()), None, Some("Normal".into())), (Some("InviteFailed".into()), Some(3), Some("Warning".into())),],
        "three failures are one Event counted three times, the success another: {listed:#?}"
    );
    let first = listed.iter().find(|e| e.reason.as_deref() == Some("InviteFailed")).expect("failed");
    assert_eq!(first.note.as_deref(), Some("attempt 1: 503"), "a series keeps its first note, as kube-runtime's does");
    assert_eq!(first.reporting_instance.as_deref(), Some("it"));
    assert!(first.name_any().starts_with("subject."), "{}", first.name_any());
}
