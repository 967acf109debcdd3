//! Following a turn that runs on another instance, through the shared store.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use aomi_core::backend::PartStream;
use aomi_core::{BoxFuture, FinishReason, UiChunk};
use aomi_store::turn::{ANY_TURN, TurnEvent};
use aomi_store::{Store, StoreError, TurnState};
use serde_json::json;
use tokio::sync::broadcast;

/// How long a follower waits for a notification before it looks again anyway (a notification
/// lost while the LISTEN connection reconnected costs at most this much delay). Looking also
/// notices a turn whose instance died, once its lease expired.
const POLL: Duration = Duration::from_secs(1);

/// What a follower says when the turn stopped without its last parts.
const CUT_OFF: &str = "This answer was cut off: the aomi instance running it stopped. Send your message again.";

/// Reads a turn's parts from the store from the first one, in order, as the instance running it
/// appends them; ends after the last part once the turn has ended (so the chat takes its next
/// turn as soon as the stream ends).
pub struct StoreFollower {
    store: Arc<dyn Store>,
    turn_id: String,
    events: broadcast::Receiver<TurnEvent>,
    next_seq: u64,
    buffer: VecDeque<UiChunk>,
    saw_last_part: bool,
    done: bool,
}

impl std::fmt::Debug for StoreFollower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreFollower").field("turn_id", &self.turn_id).field("next_seq", &self.next_seq).finish()
    }
}

impl StoreFollower {
    /// A follower of the turn, subscribed before it reads anything.
    pub async fn new(store: Arc<dyn Store>, turn_id: String) -> Result<Self, StoreError> {
        let events = store.subscribe_turns().await?;
        Ok(StoreFollower {
            store,
            turn_id,
            events,
            next_seq: 0,
            buffer: VecDeque::new(),
            saw_last_part: false,
            done: false,
        })
    }

    /// The next part, waiting for it; `None` at the end.
    pub async fn next(&mut self) -> Option<UiChunk> {
        loop {
            if let Some(part) = self.buffer.pop_front() {
                self.saw_last_part |= part.is_terminal();
                return Some(part);
            }
            if self.done {
                return None;
            }
            if let Err(error) = self.step().await {
                tracing::error!(turn = %self.turn_id, %error, "cannot follow the turn");
                self.end_cut_off();
            }
        }
    }

    /// Reads what is new, or waits for something to happen.
    async fn step(&mut self) -> Result<(), StoreError> {
        if !self.saw_last_part {
            let parts = self.store.turn_parts(&self.turn_id, self.next_seq).await?;
            if !parts.is_empty() {
                self.next_seq += parts.len() as u64;
                self.buffer.extend(parts);
                return Ok(());
            }
        }
        let running = self.store.turn(&self.turn_id).await?.is_some_and(|turn| turn.state == TurnState::Running);
        if running {
            self.wait().await;
            return Ok(());
        }
        if self.saw_last_part {
            self.done = true;
            return Ok(());
        }
        // Ended: read what it appended last; if that has no last part, it was cut off.
        let parts = self.store.turn_parts(&self.turn_id, self.next_seq).await?;
        let complete = parts.iter().any(UiChunk::is_terminal);
        self.next_seq += parts.len() as u64;
        self.buffer.extend(parts);
        if !complete {
            self.end_cut_off();
        }
        Ok(())
    }

    /// Ends the stream visibly, as a turn that failed.
    fn end_cut_off(&mut self) {
        self.buffer.push_back(UiChunk::Error { error_text: CUT_OFF.into() });
        self.buffer.push_back(UiChunk::Finish {
            finish_reason: Some(FinishReason::Error),
            message_metadata: Some(json!({ "incomplete": true })),
        });
        self.done = true;
    }

    /// Waits for an event about this turn, or [`POLL`].
    async fn wait(&mut self) {
        let turn_id = self.turn_id.as_str();
        let events = &mut self.events;
        let _ = tokio::time::timeout(POLL, async move {
            loop {
                match events.recv().await {
                    Ok(event) if &*event == turn_id || &*event == ANY_TURN => return,
                    Ok(_) => {}
                    // Missed events: look again.
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    // No more events (the store is going away): look again after the poll.
                    Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                }
            }
        })
        .await;
    }
}

impl PartStream for StoreFollower {
    fn next_part(&mut self) -> BoxFuture<'_, Option<UiChunk>> {
        Box::pin(self.next())
    }
}
