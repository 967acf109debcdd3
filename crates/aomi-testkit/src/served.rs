//! The start-up every stub server shares: a free port of 127.0.0.1, the stub's router served in
//! the background, and a graceful stop when the stub is dropped.

use std::net::{Ipv4Addr, SocketAddr};

use axum::Router;
use tokio::sync::watch;

/// A router served on a free port of 127.0.0.1 until this is dropped.
#[derive(Debug)]
pub(crate) struct Served {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl Served {
    /// Serves `app`; `name` (`"the stub LI.FI"`) names it in the warning of a failed serve.
    pub(crate) async fn start(app: Router, name: &'static str) -> std::io::Result<Served> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        tokio::spawn(async move {
            let stopping = async move {
                let _ = stopped.wait_for(|stopped| *stopped).await;
            };
            if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(stopping).await {
                tracing::warn!(%error, "{name} stopped");
            }
        });
        Ok(Served { addr, stop })
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
