//! The chats' pending batches.

use std::sync::Arc;

use aomi_store::{BatchStepRecord, StageOutcome, Store, StoreError};
use serde_json::{Value, json};

use crate::{ALICE, both, new_chat};

both!(
    staged_steps_keep_their_order_per_chat,
    a_batch_is_bounded_and_on_one_chain,
    a_step_is_removed_by_its_place,
    a_batch_is_taken_only_as_it_was_read
);

fn step(n: u64) -> Value {
    json!({ "to": "0x00000000000000000000000000000000000000ff", "value": n.to_string(), "data": "0x", "description": format!("step {n}") })
}

fn staged(outcome: StageOutcome) -> Vec<BatchStepRecord> {
    match outcome {
        StageOutcome::Staged(batch) => batch,
        other => panic!("not staged: {other:?}"),
    }
}

fn values(batch: &[BatchStepRecord]) -> Vec<Value> {
    batch.iter().map(|s| s.step["value"].clone()).collect()
}

async fn staged_steps_keep_their_order_per_chat(store: Arc<dyn Store>) {
    assert!(store.pending_batch("c1").await.unwrap().is_empty());
    assert!(matches!(store.stage_batch_steps("c1", 1, &[step(1)], 10).await, Err(StoreError::ChatNotFound(_))));
    store.ensure_chat(new_chat("c1", Some(ALICE))).await.unwrap();
    store.ensure_chat(new_chat("c2", Some(ALICE))).await.unwrap();
    staged(store.stage_batch_steps("c1", 31337, &[step(1)], 10).await.unwrap());
    let batch = staged(store.stage_batch_steps("c1", 31337, &[step(2), step(3)], 10).await.unwrap());
    assert_eq!(values(&batch), ["1", "2", "3"]);
    assert!(batch.iter().all(|s| s.chain_id == 31337));
    assert_eq!(batch[2].step, step(3), "the step comes back as it was given");
    assert!(store.pending_batch("c2").await.unwrap().is_empty(), "a batch is its chat's only");
    assert_eq!(store.pending_batch("c1").await.unwrap(), batch);
    store.delete_chat("c1").await.unwrap();
    assert!(store.pending_batch("c1").await.unwrap().is_empty(), "a deleted chat takes its batch along");
}

async fn a_batch_is_bounded_and_on_one_chain(store: Arc<dyn Store>) {
    store.ensure_chat(new_chat("c1", Some(ALICE))).await.unwrap();
    staged(store.stage_batch_steps("c1", 31337, &[step(1), step(2)], 3).await.unwrap());
    let full = store.stage_batch_steps("c1", 31337, &[step(3), step(4)], 3).await.unwrap();
    assert_eq!(full, StageOutcome::Full { max_steps: 3, held: 2 });
    assert_eq!(store.pending_batch("c1").await.unwrap().len(), 2, "all or none: nothing was staged");
    let other = store.stage_batch_steps("c1", 1, &[step(3)], 3).await.unwrap();
    assert_eq!(other, StageOutcome::OtherChain { chain_id: 31337 });
    assert_eq!(values(&staged(store.stage_batch_steps("c1", 31337, &[step(3)], 3).await.unwrap())), ["1", "2", "3"]);
}

async fn a_step_is_removed_by_its_place(store: Arc<dyn Store>) {
    store.ensure_chat(new_chat("c1", Some(ALICE))).await.unwrap();
    staged(store.stage_batch_steps("c1", 31337, &[step(1), step(2), step(3)], 10).await.unwrap());
    let batch = store.remove_batch_step("c1", 1).await.unwrap().unwrap();
    assert_eq!(values(&batch), ["1", "3"]);
    assert_eq!(store.remove_batch_step("c1", 2).await.unwrap(), None, "no third step any more");
    assert_eq!(store.remove_batch_step("nope", 0).await.unwrap(), None);
    let batch = staged(store.stage_batch_steps("c1", 31337, &[step(4)], 10).await.unwrap());
    assert_eq!(values(&batch), ["1", "3", "4"], "a step staged after a removal goes last");
}

async fn a_batch_is_taken_only_as_it_was_read(store: Arc<dyn Store>) {
    store.ensure_chat(new_chat("c1", Some(ALICE))).await.unwrap();
    let read = staged(store.stage_batch_steps("c1", 31337, &[step(1), step(2)], 10).await.unwrap());
    staged(store.stage_batch_steps("c1", 31337, &[step(3)], 10).await.unwrap());
    assert!(!store.take_batch("c1", &read).await.unwrap(), "a batch changed since it was read is not taken");
    assert_eq!(store.pending_batch("c1").await.unwrap().len(), 3, "and is left as it is");
    // Emptied and staged again: the same places, other steps.
    let now = store.pending_batch("c1").await.unwrap();
    assert!(store.take_batch("c1", &now).await.unwrap());
    assert!(store.pending_batch("c1").await.unwrap().is_empty());
    let again = staged(store.stage_batch_steps("c1", 31337, &[step(9)], 10).await.unwrap());
    assert!(!store.take_batch("c1", &read[..1]).await.unwrap(), "another step in the same place is another batch");
    assert!(store.take_batch("c1", &again).await.unwrap());
}

/// What a chat staged is there after a restart (SQLite: the file opened again) and for a second
/// instance on the same database (PostgreSQL: two stores at once).
#[tokio::test(flavor = "multi_thread")]
async fn staged_steps_survive_a_restart_and_reach_a_second_instance() {
    let db = crate::Db::sqlite().await;
    db.store.ensure_chat(new_chat("c1", Some(ALICE))).await.unwrap();
    staged(db.store.stage_batch_steps("c1", 31337, &[step(1), step(2)], 10).await.unwrap());
    let dir = db.dir.unwrap();
    drop(db.store);
    let reopened = aomi_store::connect_with(&aomi_store::StoreConfig::in_data_dir(dir.path())).await.unwrap();
    assert_eq!(values(&reopened.pending_batch("c1").await.unwrap()), ["1", "2"]);

    let Some(pg) = crate::Db::postgres().await else { return };
    let url = pg.pg.as_ref().unwrap().url().to_owned();
    let second = aomi_store::connect(&url).await.unwrap();
    pg.store.ensure_chat(new_chat("c1", Some(ALICE))).await.unwrap();
    staged(pg.store.stage_batch_steps("c1", 31337, &[step(1)], 2).await.unwrap());
    let seen = second.pending_batch("c1").await.unwrap();
    assert_eq!(values(&seen), ["1"], "the second instance sees the first one's step");
    staged(second.stage_batch_steps("c1", 31337, &[step(2)], 2).await.unwrap());
    assert_eq!(
        pg.store.stage_batch_steps("c1", 31337, &[step(3)], 2).await.unwrap(),
        StageOutcome::Full { max_steps: 2, held: 2 }
    );
}
