//! The set of tools an app offers.

use std::collections::BTreeMap;
use std::sync::Arc;

pub use aomi_core::TurnHook;
use aomi_core::{Tool, ToolSpec};

/// Tools by name, and the hooks their turns need.
///
/// A tool's spec is read once, when it is registered, and kept: a typed tool generates its schema
/// (schemars) each time it is asked, and the model is sent every spec on every turn.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: BTreeMap<String, Registered>,
    hooks: Vec<Arc<dyn TurnHook>>,
}

/// A registered tool and its spec.
#[derive(Clone)]
struct Registered {
    tool: Arc<dyn Tool>,
    spec: ToolSpec,
}

impl ToolRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tool; a later tool with the same name replaces the earlier one.
    pub fn with(mut self, tool: impl Tool + 'static) -> Self {
        self.insert(Arc::new(tool));
        self
    }

    /// Adds a shared tool.
    pub fn insert(&mut self, tool: Arc<dyn Tool>) {
        let spec = tool.spec();
        self.tools.insert(spec.name.clone(), Registered { tool, spec });
    }

    /// Adds a turn hook.
    pub fn with_hook(mut self, hook: Arc<dyn TurnHook>) -> Self {
        self.hooks.push(hook);
        self
    }

    /// Adds every tool and hook of `other`.
    pub fn merge(mut self, other: ToolRegistry) -> Self {
        self.tools.extend(other.tools);
        self.hooks.extend(other.hooks);
        self
    }

    /// The same tools, each replaced by what `wrap` makes of it (under the same name), and the
    /// same hooks: how a layer around every tool is added (labels beside addresses, for one).
    pub fn map(mut self, wrap: impl Fn(Arc<dyn Tool>) -> Arc<dyn Tool>) -> Self {
        for registered in self.tools.values_mut() {
            registered.tool = wrap(Arc::clone(&registered.tool));
        }
        self
    }

    /// The same tools and hooks without the tools the client runs (a wallet request: a
    /// transaction, a batch, a signature). Each tool says so itself (`Tool::runs_on_client`, a
    /// typed tool's `RUNS_ON_CLIENT`), so a wallet tool added later is left out as well.
    pub fn without_client_tools(mut self) -> Self {
        self.tools.retain(|_, registered| !registered.tool.runs_on_client());
        self
    }

    /// The hooks the tools' turns need. An app hands them to the backend
    /// ([`AomiApp::turn_hooks`](aomi_core::AomiApp::turn_hooks)), which runs them at the start of
    /// every turn.
    pub fn hooks(&self) -> Vec<Arc<dyn TurnHook>> {
        self.hooks.clone()
    }

    /// The tool of that name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        self.tools.get(name).map(|registered| &registered.tool)
    }

    /// The specs of every tool, sorted by name, for the model.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools.values().map(|registered| registered.spec.clone()).collect()
    }

    /// The names of every tool, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.tools.keys().map(String::as_str).collect()
    }
}

impl std::fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolRegistry").field("tools", &self.names()).field("hooks", &self.hooks.len()).finish()
    }
}
