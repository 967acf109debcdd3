//! Apps by name.

use std::collections::BTreeMap;
use std::sync::Arc;

use aomi_core::AomiApp;

/// The apps one backend serves, by name.
#[derive(Clone, Default)]
pub struct AppRegistry {
    apps: BTreeMap<String, Arc<dyn AomiApp>>,
}

impl AppRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an app under its own name.
    pub fn with(mut self, app: Arc<dyn AomiApp>) -> Self {
        self.apps.insert(app.name().to_owned(), app);
        self
    }

    /// The app of that name.
    pub fn get(&self, name: &str) -> Option<Arc<dyn AomiApp>> {
        self.apps.get(name).cloned()
    }

    /// Every app's name, sorted.
    pub fn names(&self) -> Vec<String> {
        self.apps.keys().cloned().collect()
    }

    /// Every app, sorted by name.
    pub fn apps(&self) -> impl Iterator<Item = &Arc<dyn AomiApp>> {
        self.apps.values()
    }
}

impl std::fmt::Debug for AppRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppRegistry").field("apps", &self.names()).finish()
    }
}
