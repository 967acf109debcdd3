//! The `data-*` parts the scheduler streams around a tool call (the tools' own parts live beside
//! them: `data-network`, `data-simulation`, `data-contract`).

use aomi_core::{DataPart, UiChunk};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::chain::TransactionRequest;

/// `data-tool-progress`: a running call's progress; transient (shown live, never stored).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolProgressPart {
    /// The call.
    pub tool_call_id: String,
    /// What it is doing ("simulating the transaction").
    pub message: String,
}

impl DataPart for ToolProgressPart {
    const NAME: &'static str = "tool-progress";
}

/// `data-wallet-request` (id: the call's id): what the server built for a client-side call; the
/// call stays open until the client answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WalletRequestPart {
    /// The call.
    pub tool_call_id: String,
    /// The tool called.
    pub tool_name: String,
    /// What the client runs: for the wallet tool, a [`TransactionRequest`].
    #[schema(value_type = TransactionRequest)]
    pub request: Value,
    /// The request in a sentence.
    pub summary: String,
}

impl DataPart for WalletRequestPart {
    const NAME: &'static str = "wallet-request";
}

/// `data-plan` (id: the plan's): the steps of a plan-and-execute turn (the `batch` app) with
/// each one's live state; sent again under the same id whenever a step's state changes, so the
/// page and the stored message keep the latest.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanPart {
    /// The steps: the reads in the plan's order, then the wallet action if there is one.
    pub steps: Vec<PlanStep>,
}

impl DataPart for PlanPart {
    const NAME: &'static str = "plan";
}

/// One step of a [`PlanPart`].
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanStep {
    /// The tool call that runs it (its card in the message).
    pub tool_call_id: String,
    /// The tool it calls.
    pub tool_name: String,
    /// A read (run at the same time as the others) or the wallet action.
    pub kind: PlanStepKind,
    /// Where it is.
    pub state: PlanStepState,
    /// The result in a line, or why it failed, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// What a plan step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlanStepKind {
    /// A read, independent of the others.
    Read,
    /// The one wallet action, after the reads.
    Action,
}

/// Where a plan step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlanStepState {
    /// Not started.
    Pending,
    /// Running.
    Running,
    /// Ended with a result.
    Done,
    /// Ended with an error.
    Failed,
    /// Prepared, waiting for the user's wallet.
    Waiting,
}

/// `data-tree` (id: the tree's): the branches of a tree-search turn (the `explore` app), each a
/// short sequence of read-only calls, with their live states, the judge's scores and the branch
/// chosen to answer from; sent again under the same id whenever something changes, so the page
/// and the stored message keep the latest.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TreePart {
    /// The branches, in the order the model proposed them.
    pub branches: Vec<TreeBranch>,
    /// The index (in `branches`) of the branch the answer is built from, once chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chosen: Option<usize>,
    /// Why it was chosen (the judge's reason), once chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl DataPart for TreePart {
    const NAME: &'static str = "tree";
}

/// One branch of a [`TreePart`].
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TreeBranch {
    /// What the branch tries, in a few words.
    pub label: String,
    /// Where it is.
    pub state: TreeBranchState,
    /// Its calls, in the order they run.
    pub calls: Vec<TreeCall>,
    /// The judge's score, 0 to 10, once judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    /// Why it failed or was pruned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where a [`TreeBranch`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TreeBranchState {
    /// Its calls are running.
    Running,
    /// Every call ended with a result.
    Done,
    /// A call ended with an error; the rest did not run.
    Failed,
    /// Cut: over the budget of branches, steps or time, or scored below the chosen one.
    Pruned,
}

/// One call of a [`TreeBranch`].
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TreeCall {
    /// The tool call that runs it (its card in the message, once it runs).
    pub tool_call_id: String,
    /// The tool it calls.
    pub tool_name: String,
    /// Where it is.
    pub state: TreeCallState,
    /// The result in a line, or why it failed, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// Where a [`TreeCall`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TreeCallState {
    /// Waits for the calls before it in its branch.
    Pending,
    /// Running.
    Running,
    /// Ended with a result.
    Done,
    /// Ended with an error.
    Failed,
    /// Never ran: its branch failed, was pruned or ran out of time first.
    Skipped,
}

/// `part` as a stream chunk with `id`; a `transient` part reaches the client and is not stored.
pub(crate) fn chunk<P: DataPart>(part: &P, id: Option<String>, transient: bool) -> UiChunk {
    UiChunk::Data {
        name: P::NAME.to_owned(),
        id,
        data: serde_json::to_value(part).unwrap_or(Value::Null),
        transient: transient.then_some(true),
    }
}
