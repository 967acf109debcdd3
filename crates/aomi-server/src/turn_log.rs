//! The parts of a running turn, kept so that every reader gets all of them, in order, once.

use std::sync::{Arc, Mutex, MutexGuard};

use aomi_core::backend::PartStream;
use aomi_core::{BoxFuture, UiChunk};
use tokio::sync::Notify;

#[derive(Debug, Default)]
struct LogState {
    parts: Vec<UiChunk>,
    closed: bool,
    /// The parts the turn's message had before the turn (a continuation), for re-attaching readers.
    prior: Vec<UiChunk>,
}

/// An append-only log of one turn's parts. Readers start at the first part and wait for more
/// until the log is closed, so a client that reconnects mid-turn misses nothing and sees nothing
/// twice.
#[derive(Debug, Default)]
pub struct TurnLog {
    state: Mutex<LogState>,
    /// Notified at every part and at the close.
    grew: Notify,
    /// Notified at the close alone: a wait for the turn's end is not woken by each part.
    ended: Notify,
}

impl TurnLog {
    /// An empty, open log.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn state(&self) -> MutexGuard<'_, LogState> {
        // The lock is never held across an await or a call that can panic: recover from poison.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends a part; ignored once the log is closed.
    pub fn push(&self, chunk: UiChunk) {
        let mut state = self.state();
        if !state.closed {
            state.parts.push(chunk);
        }
        drop(state);
        self.grew.notify_waiters();
    }

    /// Ends the log: readers finish after the last part.
    pub fn close(&self) {
        self.state().closed = true;
        self.grew.notify_waiters();
        self.ended.notify_waiters();
    }

    /// Completes once the log is closed (the turn ended).
    pub async fn closed(&self) {
        let ended = self.ended.notified();
        tokio::pin!(ended);
        // Register before looking, so a close between the look and the wait is not missed.
        ended.as_mut().enable();
        if !self.state().closed {
            ended.await;
        }
    }

    /// How many parts the log holds.
    pub fn len(&self) -> usize {
        self.state().parts.len()
    }

    /// A copy of the parts so far.
    pub fn parts(&self) -> Vec<UiChunk> {
        self.state().parts.clone()
    }

    /// The last part so far.
    pub fn last(&self) -> Option<UiChunk> {
        self.state().parts.last().cloned()
    }

    /// True when the log holds no part.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A reader from part `from` on.
    pub fn reader(self: &Arc<Self>, from: usize) -> LogReader {
        LogReader { log: Arc::clone(self), next: from }
    }

    /// Sets the parts the turn's message already had (see [`TurnLog::resume_reader`]); before the
    /// turn starts pushing.
    pub fn set_prior(&self, prior: Vec<UiChunk>) {
        self.state().prior = prior;
    }

    /// The parts the turn's message had before the turn (see [`TurnLog::set_prior`]).
    pub fn prior(&self) -> Vec<UiChunk> {
        self.state().prior.clone()
    }

    /// A reader for a client that re-attaches: the turn's `start`, then the parts its message had
    /// before this turn (the AI SDK takes a resumed stream for the whole message), then the rest.
    /// A client of `POST /api/chat` holds the message already and reads [`TurnLog::reader`].
    pub fn resume_reader(self: &Arc<Self>) -> ResumeReader {
        ResumeReader { reader: self.reader(0), prior: None }
    }
}

/// Reads a [`TurnLog`] for a re-attaching client; see [`TurnLog::resume_reader`].
#[derive(Debug)]
pub struct ResumeReader {
    reader: LogReader,
    /// Taken after the first part; `None` before it.
    prior: Option<std::collections::VecDeque<UiChunk>>,
}

impl ResumeReader {
    /// The next part, waiting for it; `None` at the end.
    pub async fn next(&mut self) -> Option<UiChunk> {
        match &mut self.prior {
            None => {
                let first = self.reader.next().await?;
                self.prior = Some(self.reader.log.state().prior.clone().into());
                Some(first)
            }
            Some(prior) => match prior.pop_front() {
                Some(chunk) => Some(chunk),
                None => self.reader.next().await,
            },
        }
    }
}

impl PartStream for ResumeReader {
    fn next_part(&mut self) -> BoxFuture<'_, Option<UiChunk>> {
        Box::pin(self.next())
    }
}

/// Reads a [`TurnLog`] in order.
#[derive(Debug)]
pub struct LogReader {
    log: Arc<TurnLog>,
    next: usize,
}

impl LogReader {
    /// The next part, waiting for it; `None` once the log is closed and read to the end.
    pub async fn next(&mut self) -> Option<UiChunk> {
        loop {
            let grew = self.log.grew.notified();
            tokio::pin!(grew);
            // Register before looking, so a push between the look and the wait is not missed.
            grew.as_mut().enable();
            {
                let state = self.log.state();
                if let Some(chunk) = state.parts.get(self.next) {
                    self.next += 1;
                    return Some(chunk.clone());
                }
                if state.closed {
                    return None;
                }
            }
            grew.await;
        }
    }
}

impl PartStream for LogReader {
    fn next_part(&mut self) -> BoxFuture<'_, Option<UiChunk>> {
        Box::pin(self.next())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Wake, Waker};

    use super::*;

    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A wait for the turn's end (the admission permit's) is woken by the close, not by each part:
    /// a wake per part would cost a task switch per delta.
    #[test]
    fn a_wait_for_the_end_is_woken_once() {
        let log = TurnLog::new();
        let counter = Arc::new(CountingWaker::default());
        let waker = Waker::from(Arc::clone(&counter));
        let mut cx = Context::from_waker(&waker);
        let closed = log.closed();
        tokio::pin!(closed);
        assert!(closed.as_mut().poll(&mut cx).is_pending());
        for n in 0..10 {
            log.push(UiChunk::TextDelta { id: "t".into(), delta: n.to_string() });
        }
        assert_eq!(counter.0.load(Ordering::SeqCst), 0, "woken by a part");
        log.close();
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert_eq!(closed.as_mut().poll(&mut cx), Poll::Ready(()));
    }
}
