//! A provider for one network: alloy over HTTP, with a fallback across the network's RPC URLs and
//! retries on rate limits.

use std::num::NonZeroUsize;
use std::time::Duration;

use alloy::eips::BlockId;
use alloy::primitives::{Address, Bytes};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::ClientBuilder;
use alloy::rpc::types::TransactionRequest;
use alloy::transports::TransportResult;
use alloy::transports::http::Http;
use alloy::transports::layers::{FallbackLayer, RetryBackoffLayer};
use tower::ServiceBuilder;

use crate::error::ChainError;
use crate::network::Network;

/// A type-erased alloy provider on Ethereum-like networks.
pub type ChainProvider = DynProvider;

/// How long one RPC request may take before it fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Retries of a rate-limited request.
const RATE_LIMIT_RETRIES: u32 = 3;
/// First back-off of a rate-limited request, in milliseconds.
const INITIAL_BACKOFF_MS: u64 = 500;
/// The compute-unit budget the retry layer assumes (alloy's default for public endpoints).
const COMPUTE_UNITS_PER_SECOND: u64 = 330;

/// Builds a read provider for `network`. No filler is installed: the server never signs, it only
/// reads and builds transaction requests for the wallet. Connecting does no I/O.
pub fn connect(network: &Network, http: &reqwest::Client) -> Result<ChainProvider, ChainError> {
    let urls = network
        .rpc_urls
        .iter()
        .map(|url| {
            url.parse::<url::Url>()
                .map_err(|e| ChainError::Config(format!("network {}: RPC URL is invalid: {e}", network.name)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let is_local = urls.iter().all(|u| matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "::1")));
    let retry = RetryBackoffLayer::new(RATE_LIMIT_RETRIES, INITIAL_BACKOFF_MS, COMPUTE_UNITS_PER_SECOND);
    let client = match urls.as_slice() {
        [single] => ClientBuilder::default().layer(retry).http_with_client(http.clone(), single.clone()),
        several => {
            let transports: Vec<Http<reqwest::Client>> =
                several.iter().map(|url| Http::with_client(http.clone(), url.clone())).collect();
            // Reads go to up to three endpoints at once and the first answer wins; the layer ranks
            // endpoints by success and latency, so a dead one drops out of the top ones.
            let count = NonZeroUsize::new(transports.len().min(3)).unwrap_or(NonZeroUsize::MIN);
            let fallback = FallbackLayer::default().with_active_transport_count(count);
            let transport = ServiceBuilder::new().layer(fallback).service(transports);
            ClientBuilder::default().layer(retry).transport(transport, is_local)
        }
    };
    Ok(ProviderBuilder::new().disable_recommended_fillers().connect_client(client).erased())
}

/// An `eth_call` of `data` to `to` at the latest block: how aomi reads a contract.
///
/// alloy's `call` reads the pending block unless told otherwise, while aomi's other reads (balances,
/// code, storage) read the latest one, as `cast call` and viem do; a contract read beside them
/// must see the same state. The pending block also costs the node more: on anvil, reading it took
/// `call_view_function` from 1.26–1.30× raw alloy's `balanceOf` to 1.13–1.17× (docs/benchmarks.md).
pub async fn call_latest(provider: &ChainProvider, to: Address, data: impl Into<Bytes>) -> TransportResult<Bytes> {
    let request = TransactionRequest::default().to(to).input(data.into().into());
    provider.call(request).block(BlockId::latest()).await
}

/// The HTTP client every provider shares: one connection pool, a request timeout.
pub fn http_client() -> Result<reqwest::Client, ChainError> {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| ChainError::Config(format!("cannot build the HTTP client: {e}")))
}

/// Asks the network for its chain id.
pub async fn chain_id(provider: &ChainProvider, network: &Network) -> Result<u64, ChainError> {
    provider.get_chain_id().await.map_err(|e| ChainError::from_rpc(e, network, None))
}
