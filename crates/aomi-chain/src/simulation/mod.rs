//! Transaction simulation: what a transaction request would do, before anyone signs it.
//!
//! [`simulate`] runs a [`SimulationRequest`] against the current state of its network and returns
//! a [`SimulationReport`]: success or the decoded revert, gas and an estimated fee, the asset
//! changes per address (native coin, ERC20 including WETH wrapping, ERC721, ERC1155) as signed
//! base-unit integers with decimals and symbols read from the chain, the approvals it sets, its
//! logs decoded where the event is known, and the [`risk`](crate::risk) warnings.
//!
//! # The method, and why
//!
//! Three ways were measured against `eth_call` on the same anvil, simulating the same ERC20
//! `transfer`, 50 runs each, behind a proxy that holds every HTTP request back by 0, 20 or 50 ms (a
//! stand-in for the round trip to a remote RPC). The probe is `docs/probes/simulation-methods`
//! (release build, anvil 1.7.1, 2 shared cores):
//!
//! | method | requests per simulation | median / p95, +0 ms | +20 ms | +50 ms |
//! |---|---|---|---|---|
//! | `eth_call` (baseline, no effects) | 1 | 1.61 / 1.80 ms | 21.9 / 26.4 ms | 52.1 / 56.0 ms |
//! | `eth_simulateV1` + `traceTransfers` | 1 | 1.62 / 1.76 ms | 22.0 / 26.2 ms | 52.1 / 57.4 ms |
//! | `debug_traceCall`, call tracer with logs | 1 | 1.47 / 1.56 ms | 21.9 / 28.3 ms | 52.1 / 57.2 ms |
//! | revm 43 fork over alloy (`CacheDB<AlloyDB>`) | 13 | 24.8 / 42.7 ms | 177 / 188 ms | 392 / 400 ms |
//!
//! The node-side methods cost one round trip, as much as a plain `eth_call`. The in-process revm
//! fork needs every account and storage slot it touches, fetched one after another as execution
//! reaches them (13 requests in about 7 sequential round trips for a token transfer, more for a
//! swap), so it is 7-8 times slower against any remote RPC; it also runs the mainnet EVM, which
//! misses L2 specifics (Arbitrum's precompiles, OP-stack fees), and its alloy database blocks a
//! thread per simulation. `debug_traceCall` gives a call tree and logs but public RPCs rarely
//! offer `debug_*`. `eth_simulateV1` is in the execution-APIs spec and served by geth (since
//! 1.14.9), Nethermind, Erigon, reth and the OP-stack clients, and by anvil; with
//! `traceTransfers` it reports every native transfer, internal calls included, as a log.
//!
//! **aomi uses `eth_simulateV1`.** A report takes two rounds (see `simulation/engine.rs`): the
//! simulation, then, on the same block, one more `eth_simulateV1` that reads each token's
//! decimals, symbol and the holders' balances before and after the transaction, so ERC20 changes
//! are balance differences read on chain rather than what the events claim. With the risk checks'
//! reads that is 6 to 8 requests in two rounds: about 2.3 times an `eth_call` behind a 20 ms round
//! trip (docs/benchmarks.md, "Simulation"). A node without the method gets a limited report
//! (`eth_call`, amounts read from the calldata) with a `simulation-limited` warning rather than
//! none; a revm fork remains the option for such nodes if they come to matter.
//!
//! Simulations run with `validation: false`, as `eth_call` does: no nonce or fee checks, so
//! the report shows what the call does, and the fee is estimated separately (gas used times the
//! node's gas price). A failed call moves nothing, whatever logs a node returns for it.

mod batch;
pub mod calldata;
mod changes;
pub(crate) mod engine;
mod events;
pub(crate) mod reads;
pub mod report;
mod request;
mod revert;
pub(crate) mod rpc;

pub use batch::{BatchReport, BatchStep, StepReport, simulate_batch};
pub use engine::{METHOD_CALL, METHOD_SIMULATE, SimulationOptions, UNLIMITED_ALLOWANCE, simulate, simulate_with};
pub use events::NATIVE_TRANSFER_EMITTER;
pub use report::{Amount, Approval, AssetChange, DecodedLog, Revert, SimulationReport, Standard, UsdValue};
pub use request::SimulationRequest;
