//! [`ModelTools`]: the tools a model call offers, encoded for each client once.
//!
//! A chat's tools are the same on every model call (27 tools, about 22 KB of schemas, in the
//! default app), and rig 0.44 handles all of them on every call: it copies each schema into the
//! request, hashes them all with sorted keys (the history's context fingerprint), and encodes them
//! into the body. A release profile put that at an eighth of a text turn's CPU at 100 users
//! (docs/benchmarks.md). So the tools are kept in one shared value, and the first call of a client
//! lets rig encode them in full while the transport keeps rig's bytes of the `tools` field. Every
//! later call of that client hands rig each tool's name alone, with an empty object schema, and the
//! transport puts the kept bytes in their place: the provider receives exactly what rig wrote the
//! first time, and rig no longer walks the schemas.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use aomi_core::ToolSpec;
use serde_json::value::RawValue;

use crate::body::Fields;

/// How many clients' encodings one tool set keeps: a server has a handful of models, and a set
/// used with more simply encodes again for the oldest.
const KEPT_ENCODINGS: usize = 8;

/// The tools a model call offers: shared, cheap to clone, and remembered by each
/// [`LlmClient`](crate::LlmClient) in its provider's encoding after the first call. Build it once
/// (an app builds it with its tool registry) and offer the same value to every call.
#[derive(Clone, Default)]
pub struct ModelTools {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    specs: Vec<ToolSpec>,
    /// The `tools` field as each client's wire wrote it, by client id, oldest first.
    encoded: Mutex<Vec<(u64, Arc<RawValue>)>>,
}

impl ModelTools {
    /// A tool set of `specs`, in the order the model is sent them.
    pub fn new(specs: Vec<ToolSpec>) -> Self {
        ModelTools { inner: Arc::new(Inner { specs, encoded: Mutex::default() }) }
    }

    /// The tools' specs.
    pub fn specs(&self) -> &[ToolSpec] {
        &self.inner.specs
    }

    /// Whether the set offers no tool.
    pub fn is_empty(&self) -> bool {
        self.inner.specs.is_empty()
    }

    /// The `tools` field the client `client` wrote for this set, if it kept one.
    pub(crate) fn encoded_for(&self, client: u64) -> Option<Arc<RawValue>> {
        let encoded = self.inner.encoded.lock().unwrap_or_else(PoisonError::into_inner);
        encoded.iter().find(|(id, _)| *id == client).map(|(_, raw)| Arc::clone(raw))
    }

    /// Keeps `raw`, the `tools` field the client `client` wrote for this set.
    pub(crate) fn keep_encoded(&self, client: u64, raw: Arc<RawValue>) {
        let mut encoded = self.inner.encoded.lock().unwrap_or_else(PoisonError::into_inner);
        encoded.retain(|(id, _)| *id != client);
        if encoded.len() >= KEPT_ENCODINGS {
            encoded.remove(0);
        }
        encoded.push((client, raw));
    }
}

impl From<Vec<ToolSpec>> for ModelTools {
    fn from(specs: Vec<ToolSpec>) -> Self {
        ModelTools::new(specs)
    }
}

impl fmt::Debug for ModelTools {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.inner.specs.iter().map(|spec| &spec.name)).finish()
    }
}

/// Two sets are equal when they offer the same tools, whatever their clients kept.
impl PartialEq for ModelTools {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner) || self.inner.specs == other.inner.specs
    }
}

/// What the transport does with a request's `tools` field.
#[derive(Clone)]
pub(crate) enum ToolsField {
    /// Nothing: the request offers no tools.
    AsWritten,
    /// rig wrote the tools in full: keep its bytes in the set, for the client.
    Keep(ModelTools, u64),
    /// rig wrote placeholders: put these bytes in their place.
    Replace(Arc<RawValue>),
}

impl ToolsField {
    /// Whether the body's fields must be read for this.
    pub(crate) fn reads_the_body(&self) -> bool {
        !matches!(self, ToolsField::AsWritten)
    }

    /// Does it on `fields`; `true` when they changed. A body without a `tools` field (a wire
    /// that dropped the tools) is left as it is and nothing is kept.
    pub(crate) fn apply(&self, fields: &mut Fields) -> bool {
        match self {
            ToolsField::AsWritten => false,
            ToolsField::Keep(tools, client) => {
                if let Some(raw) = fields.get("tools") {
                    tools.keep_encoded(*client, Arc::from(raw.to_owned()));
                }
                false
            }
            ToolsField::Replace(raw) => fields.replace("tools", (**raw).to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(text: &str) -> Arc<RawValue> {
        Arc::from(RawValue::from_string(text.to_owned()).expect("json"))
    }

    #[test]
    fn each_client_keeps_its_own_encoding_and_clones_share_them() {
        let tools = ModelTools::new(vec![ToolSpec {
            name: "echo".into(),
            description: "echoes".into(),
            parameters: json!({"type": "object"}),
        }]);
        let clone = tools.clone();
        assert!(tools.encoded_for(1).is_none());
        tools.keep_encoded(1, raw("[1]"));
        clone.keep_encoded(2, raw("[2]"));
        assert_eq!(clone.encoded_for(1).map(|raw| raw.get().to_owned()).as_deref(), Some("[1]"));
        assert_eq!(tools.encoded_for(2).map(|raw| raw.get().to_owned()).as_deref(), Some("[2]"));
        tools.keep_encoded(1, raw("[3]"));
        assert_eq!(tools.encoded_for(1).map(|raw| raw.get().to_owned()).as_deref(), Some("[3]"));
        // A set built again from the same specs is equal, but keeps nothing of the other's.
        let rebuilt = ModelTools::new(tools.specs().to_vec());
        assert_eq!(rebuilt, tools);
        assert!(rebuilt.encoded_for(1).is_none());
    }

    #[test]
    fn a_set_keeps_a_bounded_number_of_encodings() {
        let tools = ModelTools::default();
        for client in 0..(KEPT_ENCODINGS as u64 + 3) {
            tools.keep_encoded(client, raw("[]"));
        }
        assert!(tools.encoded_for(0).is_none(), "the oldest is dropped");
        assert!(tools.encoded_for(KEPT_ENCODINGS as u64 + 2).is_some());
        assert_eq!(tools.inner.encoded.lock().map(|kept| kept.len()).unwrap_or_default(), KEPT_ENCODINGS);
    }
}
