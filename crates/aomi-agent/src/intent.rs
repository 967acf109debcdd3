//! The intent fast path: a simple wallet action ("send 500 USDC to 0x…", "approve 0x… to spend 10
//! DAI", "swap 1 ETH for USDC") prepared without the main model.
//!
//! A message that looks like a wallet action ([`looks_like_wallet_action`], a cheap word check, so
//! that ordinary chat turns never pay for it) goes to the utility model as one typed subroutine
//! that answers a [`WalletIntent`]. When that intent resolves strictly on the chat's network
//! ([`IntentResolver::plan`]: known tokens, exact amounts, valid addresses), a short text part says
//! what is being prepared and its tool calls run through the loop's own scheduler, streamed as
//! ordinary tool parts: exactly the calls the main model would make, with the same simulation and
//! guards. The turn then waits for the wallet, whose answer continues it on the main model as after
//! any wallet call. The text comes first, as a model's text before its tool call would: a text
//! after the open call would read to the model as the turn's answer.
//!
//! Anything unclear (no utility answer, an intent of `none`, a token that is not exactly one known
//! token, a tool error, a simulation that holds the request back) leaves the turn to the full loop
//! and the main model, which sees whatever ran.
//!
//! Only the default app takes it ([`DefaultApp::with_intents`](crate::DefaultApp::with_intents));
//! the analyst has no wallet tools, and a plan naming a tool the app lacks is never run.

use aomi_core::{FinishReason, Role, TurnInput, TurnSink, UiChunk};
use aomi_llm::LlmClient;
use aomi_tools::intent::{IntentResolver, WalletIntent};
use aomi_tools::{ToolCallRequest, ToolScheduler};

use crate::step::{self, new_id};

/// What the utility model is asked.
const INTENT_PROMPT: &str = "You read one message a user sent to a wallet assistant for EVM blockchains and say \
whether it asks for exactly one wallet action: a transfer of a token to an address, an approval of a spender for \
an amount of a token, or a swap of an amount of one asset for another. Every field must be written in the message \
itself: copy tokens, amounts and addresses exactly as written; never compute, convert, complete or guess one. \
Answer the action \"none\" when the message is a question or anything but such a request, asks for several \
actions, refers to something said before (\"send it to him\"), gives an amount in another unit (\"$50 of ETH\", \
\"half my USDC\") or leaves any field missing or unclear.";

/// Messages longer than this are not simple wallet actions.
const MAX_MESSAGE_CHARS: usize = 400;

/// Words that start a wallet action.
const ACTION_WORDS: [&str; 10] =
    ["send", "transfer", "pay", "approve", "allow", "swap", "exchange", "trade", "convert", "sell"];

/// Whether a message may be a wallet action worth asking the utility model about: short, holding a
/// number and an action word. Ordinary chat turns fail it and never call the utility model.
pub fn looks_like_wallet_action(text: &str) -> bool {
    if text.chars().count() > MAX_MESSAGE_CHARS || !text.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    text.split(|c: char| !c.is_alphanumeric())
        .any(|word| ACTION_WORDS.iter().any(|action| word.eq_ignore_ascii_case(action)))
}

/// The fast path: the utility model that reads intents and the resolver that checks them.
#[derive(Debug, Clone)]
pub struct IntentFastPath {
    utility: LlmClient,
    resolver: IntentResolver,
}

impl IntentFastPath {
    /// Reads intents with `utility` (the utility model, never the chat's) and resolves them with
    /// `resolver`.
    pub fn new(utility: LlmClient, resolver: IntentResolver) -> Self {
        IntentFastPath { utility, resolver }
    }

    /// Prepares the turn's wallet action without the main model, if it is a clear one. `None`:
    /// the path was not taken and the full loop runs, its message holding whatever streamed here
    /// (a failed call, which the main model then explains).
    pub(crate) async fn run(
        &self,
        scheduler: &ToolScheduler,
        input: &TurnInput,
        sink: &dyn TurnSink,
    ) -> Option<FinishReason> {
        let text = input.history.last().filter(|message| message.role == Role::User)?.text();
        if !looks_like_wallet_action(&text) {
            return None;
        }
        let intent = match self.utility.run_subroutine::<WalletIntent>(INTENT_PROMPT, &text).await {
            Ok(intent) => intent,
            Err(error) => {
                tracing::debug!(%error, "no intent read: the main model answers");
                return None;
            }
        };
        let plan = match self.resolver.plan(&intent, &input.chat_id) {
            Ok(plan) => plan,
            Err(error) => {
                tracing::debug!(%error, ?intent, "the intent is not clear: the main model answers");
                return None;
            }
        };
        let registry = scheduler.registry();
        if plan.calls.iter().any(|call| registry.get(call.tool).is_none()) {
            return None;
        }
        tracing::info!(?intent, "intent fast path");
        // The words come before the calls, as a model's would: an open wallet call must end the
        // message, so that the wallet's answer continues it as a tool result.
        let mut summary = Some(plan.summary);
        // Each call needs the one before (a swap is staged, then the batch is sent): one step each.
        for planned in plan.calls {
            let call =
                ToolCallRequest { id: new_id("intent"), name: planned.tool.to_owned(), arguments: planned.arguments };
            sink.emit(UiChunk::StartStep);
            if let Some(text) = summary.take() {
                step::text_block(sink, text);
            }
            step::emit_call_input(sink, &call);
            let round = step::run_tools(scheduler, vec![call], input, sink).await;
            sink.emit(UiChunk::FinishStep);
            if round.waiting_for_client {
                return Some(FinishReason::ToolCalls);
            }
            if round.results.is_empty() || round.results.iter().any(|result| result.outcome.is_err()) {
                return None;
            }
        }
        // Every call ran on the server and none waits for the wallet: the main model answers.
        None
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_wallet_action;

    #[test]
    fn only_short_messages_with_an_amount_and_an_action_word_pass() {
        assert!(looks_like_wallet_action("send 500 USDC to 0x1111111111111111111111111111111111111111"));
        assert!(looks_like_wallet_action("Swap 1 ETH for USDC"));
        assert!(looks_like_wallet_action("please approve 0xabc to spend 10 DAI"));
        assert!(!looks_like_wallet_action("what is my USDC balance?"), "no action word");
        assert!(!looks_like_wallet_action("send my USDC to alice"), "no amount");
        assert!(!looks_like_wallet_action("what block is 19000000"), "no action word");
        assert!(!looks_like_wallet_action("sender 5 of them"), "a whole word only");
        assert!(!looks_like_wallet_action(&format!("send 5 USDC {}", "and more ".repeat(60))), "too long");
    }
}
