//! The store's write rules, without HTTP: what helm, kubectl and kube-rs rely on.

use serde_json::{Value, json};

use super::{Propagation, Store, WriteOpts};
use crate::resources::ResourceType;

fn store_with_ns(ns: &str) -> Store {
    let mut s = Store::new();
    let t = s.type_for_kind("v1", "Namespace").expect("namespaces");
    s.create(
        &t,
        "",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        &WriteOpts::default(),
    )
    .expect("namespace");
    s
}

fn cm_type(s: &Store) -> ResourceType {
    s.type_for_kind("v1", "ConfigMap").expect("configmaps")
}

fn cm(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
}

fn manager(opts: &str) -> WriteOpts {
    WriteOpts {
        field_manager: Some(opts.into()),
        ..Default::default()
    }
}

#[test]
fn create_fills_server_fields_and_refuses_a_second_object_of_the_same_name() {
    let mut s = store_with_ns("team");
    let t = cm_type(&s);
    let made = s
        .create(
            &t,
            "team",
            cm("a", json!({"k": "v"})),
            &WriteOpts::default(),
        )
        .expect("create");
    assert!(
        made["metadata"]["uid"]
            .as_str()
            .is_some_and(|u| !u.is_empty())
    );
    assert!(made["metadata"]["resourceVersion"].as_str().is_some());
    assert!(made["metadata"]["creationTimestamp"].as_str().is_some());
    assert_eq!(made["metadata"]["namespace"], "team");
    let again = s
        .create(&t, "team", cm("a", json!({})), &WriteOpts::default())
        .expect_err("duplicate");
    assert_eq!((again.code, again.reason), (409, "AlreadyExists"));
}

#[test]
fn update_with_a_stale_resource_version_is_a_conflict() {
    let mut s = store_with_ns("team");
    let t = cm_type(&s);
    let first = s
        .create(
            &t,
            "team",
            cm("a", json!({"k": "1"})),
            &WriteOpts::default(),
        )
        .expect("create");
    let mut newer = first.clone();
    newer["data"]["k"] = json!("2");
    s.update(&t, "team", "a", newer, false, &WriteOpts::default())
        .expect("update");
    let mut stale = first;
    stale["data"]["k"] = json!("3");
    let e = s
        .update(&t, "team", "a", stale, false, &WriteOpts::default())
        .expect_err("stale");
    assert_eq!((e.code, e.reason), (409, "Conflict"));
    assert_eq!(s.get(&t, "team", "a").expect("get")["data"]["k"], "2");
}

#[test]
fn generation_counts_spec_changes_only() {
    let mut s = store_with_ns("team");
    let t = s
        .type_for_kind("apps/v1", "Deployment")
        .expect("deployments");
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}});
    s.create(&t, "team", d, &WriteOpts::default())
        .expect("create");
    let labelled = s
        .patch(
            &t,
            "team",
            "web",
            "application/merge-patch+json",
            &json!({"metadata": {"labels": {"tier": "front"}}}),
            false,
            &WriteOpts::default(),
        )
        .expect("label");
    assert_eq!(labelled["metadata"]["generation"], 1);
    let scaled = s
        .patch(
            &t,
            "team",
            "web",
            "application/merge-patch+json",
            &json!({"spec": {"replicas": 3}}),
            false,
            &WriteOpts::default(),
        )
        .expect("scale");
    assert_eq!(scaled["metadata"]["generation"], 2);
    assert_eq!(scaled["spec"]["replicas"], 3);
}

#[test]
fn json_patch_test_operation_guards_the_write() {
    let mut s = store_with_ns("team");
    let t = cm_type(&s);
    s.create(
        &t,
        "team",
        cm("a", json!({"k": "1"})),
        &WriteOpts::default(),
    )
    .expect("create");
    let refused = s.patch(
        &t,
        "team",
        "a",
        "application/json-patch+json",
        &json!([{"op": "test", "path": "/data/k", "value": "0"}, {"op": "replace", "path": "/data/k", "value": "9"}]),
        false,
        &WriteOpts::default(),
    );
    assert!(refused.is_err());
    assert_eq!(s.get(&t, "team", "a").expect("get")["data"]["k"], "1");
}

#[test]
fn apply_by_a_second_manager_conflicts_until_forced() {
    let mut s = store_with_ns("team");
    let t = cm_type(&s);
    s.apply(
        &t,
        "team",
        "a",
        cm("a", json!({"k": "helm"})),
        "helm",
        false,
        &manager("helm"),
    )
    .expect("first apply creates");
    let e = s
        .apply(
            &t,
            "team",
            "a",
            cm("a", json!({"k": "kubectl"})),
            "kubectl",
            false,
            &manager("kubectl"),
        )
        .expect_err("conflict");
    assert_eq!(e.code, 409, "{}", e.message);
    assert!(e.message.contains("helm"), "names the owner: {}", e.message);
    let forced = s
        .apply(
            &t,
            "team",
            "a",
            cm("a", json!({"k": "kubectl"})),
            "kubectl",
            true,
            &manager("kubectl"),
        )
        .expect("forced");
    assert_eq!(forced["data"]["k"], "kubectl");
    let owners: Vec<&str> = forced["metadata"]["managedFields"]
        .as_array()
        .expect("managed fields")
        .iter()
        .filter(|m| m["fieldsV1"]["f:data"]["f:k"].is_object())
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(owners, vec!["kubectl"]);
}

#[test]
fn apply_drops_fields_the_manager_no_longer_sends() {
    let mut s = store_with_ns("team");
    let t = cm_type(&s);
    s.apply(
        &t,
        "team",
        "a",
        cm("a", json!({"x": "1", "y": "2"})),
        "helm",
        false,
        &manager("helm"),
    )
    .expect("apply");
    let after = s
        .apply(
            &t,
            "team",
            "a",
            cm("a", json!({"x": "1"})),
            "helm",
            false,
            &manager("helm"),
        )
        .expect("apply");
    assert_eq!(after["data"], json!({"x": "1"}));
}

#[test]
fn a_dry_run_changes_nothing() {
    let mut s = store_with_ns("team");
    let t = cm_type(&s);
    let rv = s.current_rv();
    let opts = WriteOpts {
        dry_run: true,
        ..Default::default()
    };
    let shown = s
        .create(&t, "team", cm("a", json!({})), &opts)
        .expect("dry run");
    assert_eq!(shown["metadata"]["name"], "a");
    assert!(s.get(&t, "team", "a").is_err());
    assert_eq!(s.current_rv(), rv);
}

#[test]
fn a_finalizer_holds_a_deleted_object_until_it_is_removed() {
    let mut s = store_with_ns("team");
    let t = cm_type(&s);
    let mut obj = cm("a", json!({}));
    obj["metadata"]["finalizers"] = json!(["example.com/keep"]);
    s.create(&t, "team", obj, &WriteOpts::default())
        .expect("create");
    s.delete(
        &t,
        "team",
        "a",
        Propagation::Background,
        &WriteOpts::default(),
    )
    .expect("delete");
    let held = s.get(&t, "team", "a").expect("still there");
    assert!(held["metadata"]["deletionTimestamp"].is_string());
    s.patch(
        &t,
        "team",
        "a",
        "application/merge-patch+json",
        &json!({"metadata": {"finalizers": null}}),
        false,
        &WriteOpts::default(),
    )
    .expect("remove finalizer");
    assert!(
        s.get(&t, "team", "a").is_err(),
        "gone once the finalizer is removed"
    );
}

#[test]
fn watchers_see_every_write_in_order() {
    let mut s = store_with_ns("team");
    let t = cm_type(&s);
    let mut rx = s.subscribe();
    s.create(
        &t,
        "team",
        cm("a", json!({"k": "1"})),
        &WriteOpts::default(),
    )
    .expect("create");
    s.patch(
        &t,
        "team",
        "a",
        "application/merge-patch+json",
        &json!({"data": {"k": "2"}}),
        false,
        &WriteOpts::default(),
    )
    .expect("patch");
    s.delete(
        &t,
        "team",
        "a",
        Propagation::Background,
        &WriteOpts::default(),
    )
    .expect("delete");
    let mut seen = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        seen.push(ev.etype);
    }
    assert_eq!(seen, vec!["ADDED", "MODIFIED", "DELETED"]);
}

#[test]
fn nulls_are_not_stored_so_an_identical_apply_changes_nothing() {
    let mut s = store_with_ns("team");
    let t = s
        .type_for_kind("apps/v1", "Deployment")
        .expect("deployments");
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "annotations": null},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "strategy": null,
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"nodeSelector": null, "containers": [{"name": "c", "image": "x", "args": null}]}}}});
    let made = s
        .create(&t, "team", d.clone(), &WriteOpts::default())
        .expect("create");
    let pod = &made["spec"]["template"]["spec"];
    assert!(pod.get("nodeSelector").is_none(), "{pod}");
    assert!(pod["containers"][0].get("args").is_none(), "{pod}");
    assert!(made["metadata"].get("annotations").is_none());
    let again = s
        .apply(&t, "team", "web", d, "helm", true, &manager("helm"))
        .expect("apply");
    assert_eq!(again["metadata"]["generation"], 1, "no spec change");
    assert_eq!(
        again["metadata"]["resourceVersion"], made["metadata"]["resourceVersion"],
        "nothing written"
    );
}

#[test]
fn access_reviews_are_answered_and_not_stored() {
    let mut s = Store::new();
    let t = s
        .type_for_kind("authorization.k8s.io/v1", "SelfSubjectAccessReview")
        .expect("reviews are served");
    let r = s
        .create(
            &t,
            "",
            json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                   "spec": {"resourceAttributes": {"verb": "create", "resource": "pods"}}}),
            &WriteOpts::default(),
        )
        .expect("review");
    assert_eq!(r["status"]["allowed"], true);
    assert_eq!(
        s.iter_gr(
            &(
                "authorization.k8s.io".into(),
                "selfsubjectaccessreviews".into()
            ),
            None
        )
        .count(),
        0
    );
}

#[test]
fn names_are_checked_as_the_api_server_checks_them() {
    let mut s = Store::new();
    let ns = s.type_for_kind("v1", "Namespace").expect("namespaces");
    for bad in ["a.b", &"n".repeat(64), "Upper", "-x"] {
        let e = s
            .create(
                &ns,
                "",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": bad}}),
                &WriteOpts::default(),
            )
            .expect_err(bad);
        assert_eq!((e.code, e.reason), (422, "Invalid"), "{bad}: {}", e.message);
    }
    let mut s = store_with_ns("team");
    let svc = s.type_for_kind("v1", "Service").expect("services");
    let e = s
        .create(
            &svc,
            "team",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1web"},
                   "spec": {"ports": [{"port": 80}]}}),
            &WriteOpts::default(),
        )
        .expect_err("RFC 1035: a letter first");
    assert!(e.message.contains("DNS-1035"), "{}", e.message);
    let role = s
        .type_for_kind("rbac.authorization.k8s.io/v1", "ClusterRole")
        .expect("roles");
    s.create(
        &role,
        "",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": "system:controller:x"}}),
        &WriteOpts::default(),
    )
    .expect("RBAC names are path segments");
    let cms = cm_type(&s);
    s.create(&cms, "team", cm("a.b-c", json!({})), &WriteOpts::default())
        .expect("subdomains may have dots");
}

#[test]
fn one_storage_answers_in_the_version_asked_for() {
    let mut s = Store::with_types(crate::KubeVersion { minor: 24 }.builtin_types());
    let ns = s.type_for_kind("v1", "Namespace").expect("namespaces");
    s.create(
        &ns,
        "",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}),
        &WriteOpts::default(),
    )
    .expect("namespace");
    let beta = s
        .type_for_kind("batch/v1beta1", "CronJob")
        .expect("served at 1.24");
    let ga = s.type_for_kind("batch/v1", "CronJob").expect("GA");
    let cj = json!({"apiVersion": "batch/v1beta1", "kind": "CronJob", "metadata": {"name": "c"},
        "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}}});
    s.create(&beta, "a", cj, &WriteOpts::default())
        .expect("created");
    assert_eq!(
        s.get(&ga, "a", "c").expect("read")["apiVersion"],
        "batch/v1"
    );
    assert_eq!(
        s.get(&beta, "a", "c").expect("read")["apiVersion"],
        "batch/v1beta1"
    );
    let all = crate::selectors::LabelSelector::parse("").expect("empty");
    let fields = crate::selectors::FieldSelector::parse("").expect("empty");
    let listed = s.list(&ga, None, &all, &fields, None, None).expect("list");
    assert_eq!(listed.items[0]["apiVersion"], "batch/v1");
    let json = s
        .list_json(&ga, None, &all, &fields, None, None)
        .expect("list");
    assert!(!String::from_utf8_lossy(&json).contains("v1beta1"));
    assert!(
        Store::new()
            .type_for_kind("batch/v1beta1", "CronJob")
            .is_none()
    );
}

/// Pages read only their namespace's range and stop at the limit; the count of what remains
/// rides in the continue token (given only without selectors, as the API server gives it).
#[test]
fn pages_walk_a_namespace_and_carry_the_remaining_count() {
    use crate::selectors::{FieldSelector, LabelSelector};
    let mut s = store_with_ns("a");
    let t = cm_type(&s);
    for ns in ["b", "c"] {
        let nt = s.type_for_kind("v1", "Namespace").unwrap();
        s.create(
            &nt,
            "",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            &WriteOpts::default(),
        )
        .unwrap();
    }
    for ns in ["a", "b", "c"] {
        for i in 0..10 {
            let mut c = cm(&format!("cm-{i:02}"), json!({}));
            c["metadata"]["labels"] = json!({"even": (i % 2 == 0).to_string()});
            s.create(&t, ns, c, &WriteOpts::default()).unwrap();
        }
    }
    let all = LabelSelector::parse("").unwrap();
    let fields = FieldSelector::parse("").unwrap();
    let mut token = None;
    let mut seen = Vec::new();
    let mut remaining = Vec::new();
    loop {
        let page = s
            .list(&t, Some("b"), &all, &fields, Some(4), token.as_deref())
            .unwrap();
        assert!(page.items.iter().all(|i| i["metadata"]["namespace"] == "b"));
        seen.extend(page.items.iter().map(|i| i["metadata"]["name"].clone()));
        remaining.push(page.remaining);
        match page.continue_token {
            Some(c) => token = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 10);
    assert_eq!(remaining, vec![Some(6), Some(2), None]);
    // Across namespaces: 30 in all.
    let first = s.list(&t, None, &all, &fields, Some(25), None).unwrap();
    assert_eq!(first.remaining, Some(5));
    let rest = s
        .list(
            &t,
            None,
            &all,
            &fields,
            Some(25),
            first.continue_token.as_deref(),
        )
        .unwrap();
    assert_eq!((rest.items.len(), rest.continue_token), (5, None));
    // With a selector the count is unknown, and left out.
    let even = LabelSelector::parse("even=true").unwrap();
    let page = s
        .list(&t, Some("c"), &even, &fields, Some(2), None)
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(page.continue_token.is_some() && page.remaining.is_none());
    let ns_iter: Vec<_> = s
        .iter_gr(&("".into(), "configmaps".into()), Some("b"))
        .collect();
    assert_eq!(ns_iter.len(), 10);
}

/// Past [`super::PARSED_UP_TO`] objects a type is kept as text only: every read, list, update
/// and delete still sees the same objects, and the list's bytes are the objects' own.
#[test]
fn a_big_collection_kept_as_text_reads_and_writes_as_a_small_one() {
    use super::PARSED_UP_TO;
    let mut s = store_with_ns("big");
    let t = cm_type(&s);
    let gr = (String::new(), "configmaps".to_string());
    // The namespace's own kube-root-ca.crt, if any, counts too.
    let before = s.iter_gr(&gr, None).count();
    for i in 0..=PARSED_UP_TO {
        s.create(
            &t,
            "big",
            cm(&format!("cm-{i:05}"), json!({"i": i.to_string()})),
            &WriteOpts::default(),
        )
        .expect("create");
    }
    assert!(!s.keeps_parsed(&gr));
    assert!(s.objects[&gr].values().all(|o| o.parsed.get().is_none()));
    let got = s.get(&t, "big", "cm-00042").expect("get");
    assert_eq!(got["data"]["i"], "42");
    let mut changed = got.clone();
    changed["data"]["i"] = json!("forty-two");
    s.update(&t, "big", "cm-00042", changed, false, &WriteOpts::default())
        .expect("update");
    assert_eq!(
        s.get(&t, "big", "cm-00042").expect("get")["data"]["i"],
        "forty-two"
    );
    s.delete(
        &t,
        "big",
        "cm-00007",
        Propagation::Background,
        &WriteOpts::default(),
    )
    .expect("delete");
    assert!(s.get(&t, "big", "cm-00007").is_err());
    let all = s
        .list(
            &t,
            Some("big"),
            &Default::default(),
            &Default::default(),
            None,
            None,
        )
        .expect("list");
    assert_eq!(all.items.len() + 1, before + PARSED_UP_TO + 1);
    let body = s
        .list_json(
            &t,
            Some("big"),
            &Default::default(),
            &Default::default(),
            Some(3),
            None,
        )
        .expect("list");
    let page: Value = serde_json::from_slice(&body).expect("a JSON list");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(3));
    assert_eq!(page["items"][0], all.items[0]);
}
