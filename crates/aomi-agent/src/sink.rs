//! A sink that forwards parts and keeps the turn's assistant message up to date.

use std::sync::Mutex;

use aomi_core::{ChatMessage, MessageAssembler, TurnSink, UiChunk};

/// Forwards every part to the turn's sink and folds it into the assistant message the model must
/// see on its next step: an app's loop wraps the turn's sink in one and sends
/// [`RecordingSink::message`] with the history on each model step.
pub struct RecordingSink<'a> {
    inner: &'a dyn TurnSink,
    message: Mutex<MessageAssembler>,
}

impl<'a> RecordingSink<'a> {
    /// Wraps `inner`; `message` is the assistant message the turn writes into (empty, or a
    /// continued one).
    pub fn new(inner: &'a dyn TurnSink, message: ChatMessage) -> Self {
        RecordingSink { inner, message: Mutex::new(MessageAssembler::new(message)) }
    }

    /// The assistant message so far.
    pub fn message(&self) -> ChatMessage {
        match self.message.lock() {
            Ok(assembler) => assembler.message().clone(),
            Err(poisoned) => poisoned.into_inner().message().clone(),
        }
    }
}

impl TurnSink for RecordingSink<'_> {
    fn emit(&self, chunk: UiChunk) -> bool {
        match self.message.lock() {
            Ok(mut assembler) => assembler.apply(&chunk),
            Err(poisoned) => poisoned.into_inner().apply(&chunk),
        };
        self.inner.emit(chunk)
    }
}
