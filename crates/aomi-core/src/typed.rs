//! [`TypedTool`]: a tool written as a type. Its name is a constant, the schema the model sees is
//! generated from its `Args` (schemars), and its output is a type; a blanket impl makes every typed
//! tool a [`Tool`], so registries keep holding `Arc<dyn Tool>`.
//!
//! The argument struct is the one place a tool's parameters are written: its fields' doc comments
//! are the descriptions the model reads, `#[serde(deny_unknown_fields)]` makes the schema refuse
//! unknown keys, and a field that is an [`Address`](crate::Address) is checked (EIP-55) while the
//! arguments are read.

use std::future::Future;
use std::time::Duration;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use schemars::transform::{ReplaceBoolSchemas, Transform, transform_subschemas};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::BoxFuture;
use crate::tool::{Tool, ToolContext, ToolError, ToolOutput, ToolSpec};

/// A tool as a type: see the [module docs](self).
pub trait TypedTool: Send + Sync {
    /// The tool's name (`[a-zA-Z0-9_-]`, as the providers require).
    const NAME: &'static str;
    /// How long one call may take; `None` takes the scheduler's default.
    const TIMEOUT: Option<Duration> = None;
    /// True for a tool the client runs (a wallet action); see [`Tool::runs_on_client`].
    const RUNS_ON_CLIENT: bool = false;

    /// The arguments; the parameter schema the model sees is generated from this type.
    type Args: DeserializeOwned + JsonSchema + Send;
    /// What a call returns to the page and the model, as JSON.
    type Output: Serialize + Send;

    /// What the tool does and when to use it.
    fn description(&self) -> String;

    /// Runs the tool on arguments already read and checked against [`TypedTool::Args`].
    fn run(
        &self,
        args: Self::Args,
        ctx: ToolContext,
    ) -> impl Future<Output = Result<ToolOutput<Self::Output>, ToolError>> + Send;
}

impl<T: TypedTool> Tool for T {
    fn spec(&self) -> ToolSpec {
        ToolSpec { name: T::NAME.to_owned(), description: self.description(), parameters: parameters::<T::Args>() }
    }

    fn timeout(&self) -> Option<Duration> {
        T::TIMEOUT
    }

    fn runs_on_client(&self) -> bool {
        T::RUNS_ON_CLIENT
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args = parse_args::<T::Args>(args)?;
            let output = self.run(args, ctx).await?;
            let data = serde_json::to_value(&output.data)
                .map_err(|e| ToolError::Failed(format!("the result could not be written as JSON: {e}")))?;
            Ok(ToolOutput { data, summary: output.summary })
        })
    }
}

/// Reads a tool's arguments; `null` counts as `{}`. The error names the field that is wrong
/// (`to: "0x12" is not an address …`), so the model can fix it.
pub fn parse_args<A: DeserializeOwned>(args: Value) -> Result<A, ToolError> {
    let args = if args.is_null() { Value::Object(Default::default()) } else { args };
    serde_path_to_error::deserialize(args).map_err(|e| ToolError::InvalidArguments(e.to_string()))
}

/// The parameter schema of `A` as the providers take it: an object schema with `properties`,
/// every subschema inline (no `$ref`), no `$schema` or title, no boolean schemas (`{}` for "any
/// value"), and optional fields typed as their value (leaving a field out is how the model says
/// "none", so `null` is not offered).
pub fn parameters<A: JsonSchema>() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.inline_subschemas = true;
    settings.meta_schema = None;
    let mut schema = settings.into_generator().into_root_schema_for::<A>();
    // `additionalProperties: false` stays a boolean: it is how `deny_unknown_fields` reads.
    let mut no_bools = ReplaceBoolSchemas::default();
    no_bools.skip_additional_properties = true;
    no_bools.transform(&mut schema);
    OptionalsNotNull.transform(&mut schema);
    let mut value = schema.to_value();
    if let Value::Object(map) = &mut value {
        map.remove("title");
        map.remove("description");
        map.entry("properties").or_insert_with(|| Value::Object(Default::default()));
    }
    value
}

/// Removes `null` from the types of properties that are not required.
struct OptionalsNotNull;

impl Transform for OptionalsNotNull {
    fn transform(&mut self, schema: &mut schemars::Schema) {
        transform_subschemas(self, schema);
        let Some(object) = schema.as_object_mut() else { return };
        let required: Vec<String> = match object.get("required") {
            Some(Value::Array(names)) => names.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        };
        let Some(Value::Object(properties)) = object.get_mut("properties") else { return };
        for (name, property) in properties.iter_mut() {
            if required.contains(name) {
                continue;
            }
            let Some(Value::Array(types)) = property.get_mut("type") else { continue };
            types.retain(|t| t != "null");
            if types.len() == 1 {
                let only = types.remove(0);
                property["type"] = only;
            }
            if let Some(map) = property.as_object_mut()
                && map.get("default") == Some(&Value::Null)
            {
                map.remove("default");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;
    use crate::Address;

    /// Arguments of a test tool.
    #[derive(Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Args {
        /// who holds it
        owner: Address,
        /// how many
        #[serde(default)]
        amount: Option<String>,
        /// anything
        #[serde(default)]
        extra: Vec<Value>,
    }

    #[test]
    fn the_schema_is_a_plain_object_schema_with_the_doc_comments() {
        let schema = parameters::<Args>();
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], json!(["owner"]));
        assert!(schema.get("$schema").is_none() && schema.get("title").is_none() && schema.get("$defs").is_none());
        assert_eq!(schema["properties"]["owner"]["type"], "string");
        assert_eq!(schema["properties"]["owner"]["description"], "who holds it");
        assert_eq!(schema["properties"]["amount"]["type"], "string", "an optional field is not nullable");
        assert!(schema["properties"]["amount"].get("default").is_none(), "no `null` default for a string");
        assert_eq!(schema["properties"]["extra"]["items"], json!({}), "no boolean schema");
    }

    #[test]
    fn argument_errors_name_the_field() {
        let bad = parse_args::<Args>(json!({ "owner": "0x12" })).err().map(|e| e.to_string());
        assert_eq!(
            bad.as_deref(),
            Some("invalid arguments: owner: \"0x12\" is not an address (0x followed by 40 hex digits)")
        );
        let missing = parse_args::<Args>(Value::Null).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(missing.contains("missing field `owner`"), "{missing}");
        let unknown = parse_args::<Args>(json!({ "owner": Address::ZERO, "colour": 1 })).err().map(|e| e.to_string());
        assert!(unknown.unwrap_or_default().contains("unknown field `colour`"));
    }
}
