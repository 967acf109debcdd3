//! [`Writer`]: a thread with a runtime of its own that runs the SQLite store's writes.
//!
//! SQLite has one writer at a time, so the store writes through one connection. A transaction
//! holds that connection for several round trips to SQLite, and on the server's runtime each
//! round trip waited behind every streaming turn's task: with 100 chats at once the queue for the
//! connection, not SQLite, made most of a turn's time to first token (docs/benchmarks.md). On this
//! thread the statements of a transaction follow each other at once.

use std::future::Future;

use crate::StoreError;

/// The writer thread. Stops when dropped (a caller waiting on it holds the store, so nothing is
/// cut off).
#[derive(Debug)]
pub(crate) struct Writer {
    handle: tokio::runtime::Handle,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Writer {
    /// Starts the thread.
    pub(crate) fn start() -> Result<Writer, StoreError> {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(StoreError::WriterThread)?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("aomi-sqlite-writer".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })
            .map_err(StoreError::WriterThread)?;
        Ok(Writer { handle, _stop: stop })
    }

    /// Runs `work` on the thread and waits for it.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        match self.handle.spawn(work).await {
            Ok(result) => result,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => Err(StoreError::Closed),
        }
    }

    /// Runs `work` on the thread without waiting for it.
    pub(crate) fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.handle.spawn(work);
    }
}
