//! Warm instances (`host/src/runtime/warm.rs`): what a policy keeps in a global may reach the
//! next pure call of the same policy, and nothing reaches a call after a trap, a breached
//! limit, a word on stderr, or a call of another policy value.

use std::sync::Arc;

use bachata_common::capabilities::secrets::SecretSource;
use bachata_common::{Error, Limits, Policy};
use bachata_common_tests::test_policy;

/// A secret source that knows no secret.
struct NoSecrets;

impl SecretSource for NoSecrets {
    fn access(&self, _project: &str, _name: &str) -> Result<Option<String>, String> {
        Ok(None)
    }
}

fn stateful(limits: Option<Limits>) -> Policy {
    let policy = Policy::from_file(&test_policy("stateful")).expect("stateful policy loads");
    match limits {
        Some(limits) => policy.with_limits(limits),
        None => policy,
    }
}

fn count(policy: &Policy) -> String {
    policy
        .user_friendly_message("ANY", "default")
        .expect("a clean call")
}

#[test]
fn a_clean_call_leaves_its_instance_for_the_next_pure_call() {
    let policy = stateful(None);
    assert_eq!(count(&policy), "call 1");
    assert_eq!(count(&policy), "call 2");
    // A clone shares the instances; the same component in another policy value does not.
    assert_eq!(count(&policy.clone()), "call 3");
    assert_eq!(count(&stateful(None)), "call 1");
    // Other secrets or other limits start afresh too.
    let other = policy.clone().with_secrets(Arc::new(NoSecrets));
    assert_eq!(count(&other), "call 1");
    let limits = policy.limits().clone();
    assert_eq!(count(&policy.clone().with_limits(limits)), "call 1");
}

#[test]
fn a_trap_drops_the_instance() {
    let policy = stateful(None);
    assert_eq!(count(&policy), "call 1");
    assert_eq!(count(&policy), "call 2");
    match policy.user_friendly_message("TRAP", "default") {
        Err(Error::PolicyCall { reason, .. }) => {
            assert!(reason.contains("unreachable"), "{reason}")
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_eq!(count(&policy), "call 1");
}

#[test]
fn a_word_on_stderr_drops_the_instance_after_a_successful_call() {
    let policy = stateful(None);
    assert_eq!(count(&policy), "call 1");
    assert_eq!(
        policy
            .user_friendly_message("STDERR", "default")
            .expect("the call itself succeeds"),
        "call 2"
    );
    assert_eq!(count(&policy), "call 1");
}

#[test]
fn the_memory_cap_and_the_deadline_hold_in_a_warm_instance_and_drop_it() {
    let limits = Limits {
        max_memory_bytes: 16 << 20,
        timeout_ms: 300,
        ..Limits::default()
    };
    let policy = stateful(Some(limits));
    assert_eq!(count(&policy), "call 1");
    match policy.user_friendly_message("GROW", "default") {
        Err(Error::App(error)) => assert!(error.to_string().contains("memory limit"), "{error}"),
        other => panic!("expected the memory cap, got {other:?}"),
    }
    assert_eq!(count(&policy), "call 1");
    assert_eq!(count(&policy), "call 2");
    let started = std::time::Instant::now();
    match policy.user_friendly_message("SPIN", "default") {
        Err(Error::App(error)) => assert!(error.to_string().contains("deadline"), "{error}"),
        other => panic!("expected the deadline, got {other:?}"),
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(count(&policy), "call 1");
}

#[test]
fn concurrent_pure_calls_each_get_an_instance_of_their_own() {
    let policy = stateful(None);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let policy = policy.clone();
            std::thread::spawn(move || (0..200).map(|_| count(&policy)).collect::<Vec<String>>())
        })
        .collect();
    let mut answers = 0;
    for thread in threads {
        for answer in thread.join().expect("no panic") {
            let n: u32 = answer
                .strip_prefix("call ")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{answer}"));
            assert!((1..=1600).contains(&n), "{answer}");
            answers += 1;
        }
    }
    assert_eq!(answers, 1600);
}

#[test]
fn an_instance_grown_past_the_warm_limit_is_not_kept() {
    let policy = stateful(None);
    assert_eq!(count(&policy), "call 1");
    assert_eq!(
        policy
            .user_friendly_message("BIG", "default")
            .expect("a clean call"),
        "call 2"
    );
    assert_eq!(count(&policy), "call 1", "the grown instance was dropped");
}

#[test]
fn a_replaced_policy_gives_back_its_instances() {
    let policy = stateful(None);
    assert_eq!(count(&policy), "call 1");
    let held = policy.clone();
    policy.release_instances();
    assert_eq!(count(&held), "call 1");
}
