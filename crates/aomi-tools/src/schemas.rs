//! The tools' wire types as OpenAPI components: every tool's output and every `data-*` part a tool
//! or the scheduler streams. The server merges [`ToolSchemas`] into `/api/openapi.json`, from which
//! the page's TypeScript types are generated, so a change here that the page misses fails its build.
//!
//! A new tool lists its output here; a new part, its payload.

use utoipa::OpenApi;

use crate::chain::{
    AccountInfo, Balance, BlockInfo, ContractAbiPart, ContractSummary, EncodedCall, EnsRecord, GasPrice, NetworkChoice,
    NetworkPart, ReceiptInfo, SignatureRequest, SignatureToolName, SimulationPart, TokenBalance, TransactionInfo,
    TransactionRequest, ViewCall, WalletToolName,
};
use crate::defi::{
    BatchRequest, BatchSimulationPart, PendingBatch, PendingBatchPart, StagedSwap, SwapQuoteOutput, TokenPrice,
    TokenSearch,
};
use crate::guard::{GuardPart, GuardSettings};
use crate::knowledge::{ContractSource, LabelsPart, Recalled, Remembered, TransactionHistory, WebSearchResults};
use crate::parts::{PlanPart, ToolProgressPart, TreePart, WalletRequestPart};
use crate::time::CurrentTime;

/// The components of the tools' outputs and parts (no paths).
#[derive(OpenApi)]
#[openapi(components(schemas(
    AccountInfo,
    Balance,
    BlockInfo,
    ContractSummary,
    CurrentTime,
    EncodedCall,
    EnsRecord,
    GasPrice,
    NetworkChoice,
    ReceiptInfo,
    TokenBalance,
    TransactionInfo,
    TransactionRequest,
    ViewCall,
    WalletToolName,
    ContractAbiPart,
    NetworkPart,
    SimulationPart,
    ToolProgressPart,
    WalletRequestPart,
    PlanPart,
    TreePart,
    // The knowledge tools (crate::knowledge).
    ContractSource,
    Recalled,
    Remembered,
    TransactionHistory,
    WebSearchResults,
    LabelsPart,
    TokenSearch,
    TokenPrice,
    SwapQuoteOutput,
    StagedSwap,
    PendingBatch,
    BatchRequest,
    aomi_chain::simulation::BatchReport,
    PendingBatchPart,
    BatchSimulationPart,
    // request_signature (crate::chain::signing).
    SignatureRequest,
    SignatureToolName,
    GuardPart,
    GuardSettings,
)))]
pub struct ToolSchemas;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_parts_and_what_they_hold_are_components() {
        let document = serde_json::to_value(ToolSchemas::openapi()).unwrap_or_default();
        let schemas = &document["components"]["schemas"];
        for name in [
            "TransactionRequest",
            "DecodedCall",
            "NetworkSwitched",
            "NetworkListing",
            "ReceiptLog",
            "SimulationPart",
            "SimulationReport",
            "WalletRequestPart",
        ] {
            assert!(schemas[name].is_object(), "{name} is not a component");
        }
        assert_eq!(schemas["WalletToolName"]["enum"], serde_json::json!([crate::chain::WALLET_TOOL]));
        // The wallet request's `request` is the wallet tool's output.
        assert_eq!(
            schemas["WalletRequestPart"]["properties"]["request"]["$ref"],
            "#/components/schemas/TransactionRequest"
        );
    }
}
