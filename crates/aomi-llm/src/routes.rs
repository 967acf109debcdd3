//! The models chats may run on: [`ModelRoutes`], the server's default model and the others it
//! allows, each under an id a client names.

use std::sync::Arc;

use crate::LlmClient;

/// One model a chat may run on.
#[derive(Debug, Clone)]
pub struct ModelRoute {
    /// The id a client names (`"model"` of a turn request): letters, digits, `.`, `_`, `-`, `:`.
    pub id: String,
    /// A name for people (the page's menu).
    pub label: String,
    /// The client that calls it.
    pub client: LlmClient,
}

impl ModelRoute {
    /// A route whose id and label are the client's model spec (`anthropic:claude-sonnet-4-5`).
    pub fn of(client: LlmClient) -> Self {
        let spec = client.describe();
        ModelRoute { id: spec.clone(), label: spec, client }
    }
}

/// Why a set of routes was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutesError {
    /// Other models without a default one: a chat that names none would have nothing to run on.
    #[error("allowed models are listed but no default model is configured (set model or AOMI_MODEL)")]
    NoDefault,
    /// An id that is empty or holds a character outside `[A-Za-z0-9._:-]`.
    #[error("the model id \"{0}\" is not valid: use letters, digits, '.', '_', '-' and ':'")]
    InvalidId(String),
    /// Two routes under one id.
    #[error("the model id \"{0}\" is given to two models")]
    DuplicateId(String),
}

/// The default model and the others the server allows, cheap to clone (apps and the backend
/// share one). Empty when no model is configured.
#[derive(Debug, Clone, Default)]
pub struct ModelRoutes {
    /// The default route first, then the others in the configured order.
    routes: Arc<Vec<ModelRoute>>,
}

impl ModelRoutes {
    /// The routes: `default` (the model of a chat that names none) and `others`. An entry of
    /// `others` whose id is the default's is the default itself and is skipped.
    pub fn new(default: Option<ModelRoute>, others: Vec<ModelRoute>) -> Result<Self, RoutesError> {
        let Some(default) = default else {
            return if others.is_empty() { Ok(ModelRoutes::default()) } else { Err(RoutesError::NoDefault) };
        };
        let mut routes = vec![default];
        for route in others {
            if routes[0].id == route.id {
                continue;
            }
            if routes.iter().any(|known| known.id == route.id) {
                return Err(RoutesError::DuplicateId(route.id));
            }
            routes.push(route);
        }
        if let Some(bad) = routes.iter().find(|route| !valid_id(&route.id)) {
            return Err(RoutesError::InvalidId(bad.id.clone()));
        }
        Ok(ModelRoutes { routes: Arc::new(routes) })
    }

    /// Only the default model (`None`: no model at all).
    pub fn single(client: Option<LlmClient>) -> Self {
        ModelRoutes { routes: Arc::new(client.map(ModelRoute::of).into_iter().collect()) }
    }

    /// The routes, the default first.
    pub fn routes(&self) -> &[ModelRoute] {
        &self.routes
    }

    /// The default route, if a model is configured.
    pub fn default_route(&self) -> Option<&ModelRoute> {
        self.routes.first()
    }

    /// The route of `id`, if the server allows it.
    pub fn get(&self, id: &str) -> Option<&ModelRoute> {
        self.routes.iter().find(|route| route.id == id)
    }

    /// The client a chat on `id` calls: that route's, or the default's when `id` is `None` or no
    /// longer allowed (a chat created before the configuration dropped its model goes on, on the
    /// default). `None` when no model is configured.
    pub fn pick(&self, id: Option<&str>) -> Option<&LlmClient> {
        let chosen = id.and_then(|id| {
            let route = self.get(id);
            if route.is_none() {
                tracing::warn!(model = id, "the chat's model is no longer allowed: it runs on the default model");
            }
            route
        });
        chosen.or_else(|| self.default_route()).map(|route| &route.client)
    }
}

impl From<Option<LlmClient>> for ModelRoutes {
    fn from(client: Option<LlmClient>) -> Self {
        ModelRoutes::single(client)
    }
}

impl From<LlmClient> for ModelRoutes {
    fn from(client: LlmClient) -> Self {
        ModelRoutes::single(Some(client))
    }
}

/// Whether `id` can be a model id: not empty, at most 100 characters of `[A-Za-z0-9._:-]`.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ModelConfig, Provider};

    fn client(model: &str) -> LlmClient {
        let mut config = ModelConfig::new(Provider::OpenAi, model);
        config.base_url = Some("http://127.0.0.1:9/v1".into());
        let Ok(client) = LlmClient::new(config) else { panic!("client") };
        client
    }

    fn route(id: &str, model: &str) -> ModelRoute {
        ModelRoute { id: id.into(), label: id.to_uppercase(), client: client(model) }
    }

    #[test]
    fn picks_the_named_route_else_the_default() {
        let Ok(routes) = ModelRoutes::new(Some(ModelRoute::of(client("a"))), vec![route("b", "model-b")]) else {
            panic!("routes")
        };
        let ids: Vec<&str> = routes.routes().iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["openai:a", "b"]);
        assert_eq!(routes.pick(Some("b")).map(LlmClient::describe).as_deref(), Some("openai:model-b"));
        assert_eq!(routes.pick(None).map(LlmClient::describe).as_deref(), Some("openai:a"));
        assert_eq!(routes.pick(Some("gone")).map(LlmClient::describe).as_deref(), Some("openai:a"));
        assert!(ModelRoutes::default().pick(None).is_none());
    }

    #[test]
    fn refuses_bad_sets() {
        let default = || Some(route("a", "a"));
        assert_eq!(ModelRoutes::new(None, vec![route("b", "b")]).err(), Some(RoutesError::NoDefault));
        assert_eq!(
            ModelRoutes::new(default(), vec![route("b", "b"), route("b", "c")]).err(),
            Some(RoutesError::DuplicateId("b".into()))
        );
        assert_eq!(
            ModelRoutes::new(default(), vec![route("b c", "b")]).err(),
            Some(RoutesError::InvalidId("b c".into()))
        );
        // The default listed again is the default, not a second route.
        let again = ModelRoutes::new(default(), vec![route("a", "a")]).map(|r| r.routes().len());
        assert_eq!(again, Ok(1));
    }
}

/// Which model a typed subroutine of an app runs on (`[subroutines]` in the configuration).
#[derive(Debug, Clone, Default)]
pub enum SubroutineModel {
    /// The model of the chat whose turn runs it.
    #[default]
    Chat,
    /// This model, whatever the chat's (the utility model, or one of the allowed models).
    Fixed(LlmClient),
}

impl SubroutineModel {
    /// The model to call in a turn whose chat runs on `chat`.
    pub fn pick<'a>(&'a self, chat: &'a LlmClient) -> &'a LlmClient {
        match self {
            SubroutineModel::Chat => chat,
            SubroutineModel::Fixed(model) => model,
        }
    }
}
