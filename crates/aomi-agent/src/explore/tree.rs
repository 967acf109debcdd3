//! The explore tree as the page sees it: a [`TreePart`] kept under one id and streamed again as
//! `data-tree` whenever a branch or a call changes.

use std::sync::{Mutex, MutexGuard};

use aomi_core::{DataPart, TurnSink, UiChunk};
use aomi_tools::ToolCallRequest;
use aomi_tools::parts::{TreeBranch, TreeBranchState, TreeCall, TreeCallState, TreePart};

use crate::step::new_id;

/// The tree's branches and their states.
pub(crate) struct TreeTracker {
    id: String,
    part: Mutex<TreePart>,
}

impl TreeTracker {
    /// A tree of `branches` (label and calls); every call pending, every branch running.
    pub(crate) fn new(branches: &[(String, Vec<ToolCallRequest>)]) -> Self {
        let branches = branches
            .iter()
            .map(|(label, calls)| TreeBranch {
                label: label.clone(),
                state: TreeBranchState::Running,
                calls: calls
                    .iter()
                    .map(|call| TreeCall {
                        tool_call_id: call.id.clone(),
                        tool_name: call.name.clone(),
                        state: TreeCallState::Pending,
                        summary: None,
                    })
                    .collect(),
                score: None,
                note: None,
            })
            .collect();
        TreeTracker { id: new_id("tree"), part: Mutex::new(TreePart { branches, chosen: None, reason: None }) }
    }

    fn lock(&self) -> MutexGuard<'_, TreePart> {
        match self.part.lock() {
            Ok(part) => part,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The tree now.
    pub(crate) fn snapshot(&self) -> TreePart {
        self.lock().clone()
    }

    /// Streams the tree.
    pub(crate) fn emit(&self, sink: &dyn TurnSink) {
        let part = self.snapshot();
        if let Ok(data) = serde_json::to_value(&part) {
            sink.emit(UiChunk::Data {
                name: <TreePart as DataPart>::NAME.to_owned(),
                id: Some(self.id.clone()),
                data,
                transient: None,
            });
        }
    }

    /// Changes the tree with `change`, then streams it.
    pub(crate) fn update(&self, sink: &dyn TurnSink, change: impl FnOnce(&mut TreePart)) {
        change(&mut self.lock());
        self.emit(sink);
    }

    /// Sets call `call` of branch `branch`.
    pub(crate) fn set_call(
        &self,
        sink: &dyn TurnSink,
        branch: usize,
        call: usize,
        state: TreeCallState,
        summary: Option<String>,
    ) {
        self.update(sink, |part| {
            if let Some(call) = part.branches.get_mut(branch).and_then(|b| b.calls.get_mut(call)) {
                call.state = state;
                if summary.is_some() {
                    call.summary = summary;
                }
            }
        });
    }

    /// Ends branch `branch` in `state` with `note`: its calls still pending are skipped, and a
    /// call still running (cut by the time budget) is failed. Returns the ids of the calls that
    /// were running, whose cards the caller closes.
    pub(crate) fn end_branch(
        &self,
        sink: &dyn TurnSink,
        branch: usize,
        state: TreeBranchState,
        note: Option<String>,
    ) -> Vec<String> {
        let mut cut = Vec::new();
        self.update(sink, |part| {
            let Some(branch) = part.branches.get_mut(branch) else { return };
            branch.state = state;
            branch.note = note.clone();
            for call in &mut branch.calls {
                match call.state {
                    TreeCallState::Pending => call.state = TreeCallState::Skipped,
                    TreeCallState::Running => {
                        call.state = TreeCallState::Failed;
                        call.summary = note.clone();
                        cut.push(call.tool_call_id.clone());
                    }
                    _ => {}
                }
            }
        });
        cut
    }
}
