//! Typed data aomi does not recognise, as a readable tree: each field with its name, its EIP-712
//! type and its value, structs and arrays as branches.

use serde::Serialize;
use serde_json::{Map, Value};

/// One field of the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TreeNode {
    /// The field's name (an array item's index).
    pub name: String,
    /// Its EIP-712 type (`address`, `uint256`, `Person`, `Person[]`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Its value as text, for a leaf.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub value: Option<String>,
    /// The fields of a struct, the items of an array.
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub children: Vec<TreeNode>,
}

/// `Person[]` → (`Person`, true); `Person[2]` too; `Person` → (`Person`, false).
pub(crate) fn split_array(kind: &str) -> (&str, bool) {
    match kind.strip_suffix(']').and_then(|k| k.rfind('[').map(|i| &k[..i])) {
        Some(base) => (base, true),
        None => (kind, false),
    }
}

/// How deep structs nest under `kind` (a struct is 1), counted up to `stop`.
pub(crate) fn depth(types: &Map<String, Value>, kind: &str, level: usize, stop: usize) -> usize {
    let (base, _) = split_array(kind);
    let Some(fields) = types.get(base).and_then(Value::as_array) else { return level };
    if level + 1 >= stop {
        return level + 1;
    }
    fields
        .iter()
        .filter_map(|f| f["type"].as_str())
        .map(|k| depth(types, k, level + 1, stop))
        .max()
        .unwrap_or(level + 1)
        .max(level + 1)
}

/// The message of `primary_type` as a tree (the root is named after the type).
pub fn build(types: &Map<String, Value>, primary_type: &str, message: &Value) -> TreeNode {
    node(types, primary_type.to_owned(), primary_type, message, 0)
}

/// Levels a tree holds at most (checked typed data is shallower: this stops recursive types).
const MAX_LEVELS: usize = 64;

fn node(types: &Map<String, Value>, name: String, kind: &str, value: &Value, level: usize) -> TreeNode {
    let (base, array) = split_array(kind);
    if level > MAX_LEVELS {
        return TreeNode { name, kind: kind.to_owned(), value: Some("…".into()), children: Vec::new() };
    }
    if array {
        let children = value
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, item)| node(types, i.to_string(), base, item, level + 1))
            .collect();
        return TreeNode { name, kind: kind.to_owned(), value: None, children };
    }
    if let Some(fields) = types.get(base).and_then(Value::as_array) {
        let children = fields
            .iter()
            .filter_map(|f| Some((f["name"].as_str()?, f["type"].as_str()?)))
            .map(|(field, kind)| node(types, field.to_owned(), kind, &value[field], level + 1))
            .collect();
        return TreeNode { name, kind: kind.to_owned(), value: None, children };
    }
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    TreeNode { name, kind: kind.to_owned(), value: Some(text), children: Vec::new() }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_nested_message_becomes_a_tree_and_depth_counts_structs() {
        let types = json!({
            "Mail": [{"name": "from", "type": "Person"}, {"name": "to", "type": "Person[]"}, {"name": "contents", "type": "string"}],
            "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
        });
        let types = types.as_object().cloned().unwrap_or_default();
        let message = json!({
            "from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
            "to": [{"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"}],
            "contents": "Hello, Bob!"
        });
        let tree = build(&types, "Mail", &message);
        assert_eq!(tree.children.len(), 3);
        assert_eq!(tree.children[0].children[0].value.as_deref(), Some("Cow"));
        assert_eq!(tree.children[1].kind, "Person[]");
        assert_eq!(tree.children[1].children[0].children[0].value.as_deref(), Some("Bob"));
        assert_eq!(tree.children[2].value.as_deref(), Some("Hello, Bob!"));
        assert_eq!(depth(&types, "Mail", 0, 100), 2);
        assert_eq!(split_array("uint256[3]"), ("uint256", true));
    }
}
