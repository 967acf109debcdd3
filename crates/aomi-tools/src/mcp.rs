//! External MCP servers as tools (the MCP client side, over rmcp).
//!
//! A server is a command aomi starts (MCP over its stdin/stdout) or a URL (MCP streamable HTTP).
//! [`connect`] starts or reaches it, initializes the session and lists its tools; each tool
//! becomes an [`McpTool`], an ordinary [`Tool`] named `<server>_<tool>`, so the app's
//! [`ToolScheduler`](crate::ToolScheduler) runs it like a native one: its calls stream as tool
//! parts, its timeout is the server's `timeout` (else the app's default), its output is cut at the
//! app's output limit, and a failure (the server's `isError` answer, a transport error, a dead
//! process) is a tool error the model explains.
//!
//! What an external server answers is data from outside: it reaches the model as a tool result
//! and, like any other, can skip no simulation and no guard.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aomi_core::{BoxFuture, Tool, ToolContext, ToolError, ToolOutput, ToolSpec};
use rmcp::model::{CallToolRequestParams, CallToolResult, ContentBlock};
use rmcp::service::RunningService;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;

use crate::registry::ToolRegistry;

/// How to reach an external MCP server.
#[derive(Debug, Clone, PartialEq)]
pub enum McpTransport {
    /// A program aomi starts, speaking MCP on its stdin and stdout (stderr goes to aomi's log).
    Command {
        /// The program.
        program: String,
        /// Its arguments.
        args: Vec<String>,
        /// Environment variables set for it (on top of aomi's own).
        env: BTreeMap<String, String>,
    },
    /// A server reached over MCP streamable HTTP.
    Url {
        /// Its endpoint (`https://tools.example/mcp`).
        url: String,
        /// A bearer token sent as `Authorization: Bearer <token>`.
        bearer_token: Option<String>,
    },
}

/// One external MCP server, as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct McpServerConfig {
    /// The server's name: the prefix of its tools' names (`[a-zA-Z0-9_-]`).
    pub name: String,
    /// How to reach it.
    pub transport: McpTransport,
    /// How long one tool call may take; `None`: the app's default tool timeout.
    pub timeout: Option<Duration>,
    /// How long starting it, initializing and listing its tools may take.
    pub connect_timeout: Duration,
    /// The largest answer read from a server over HTTP, in bytes (a larger one fails the call);
    /// what reaches the model is then cut at the app's tool output limit like any tool's.
    pub max_response_bytes: usize,
}

/// [`McpServerConfig::max_response_bytes`] unless configured: 4 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

impl McpServerConfig {
    /// A server with the default timeouts and response size.
    pub fn new(name: impl Into<String>, transport: McpTransport) -> Self {
        McpServerConfig {
            name: name.into(),
            transport,
            timeout: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// [`McpServerConfig::connect_timeout`] unless configured.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// The longest tool name the model providers take.
const MAX_TOOL_NAME: usize = 64;

/// Why an external MCP server's tools are not available.
#[derive(Debug, thiserror::Error)]
pub enum McpClientError {
    /// The configuration is wrong.
    #[error("MCP server \"{server}\": {reason}")]
    Config {
        /// The server's name.
        server: String,
        /// What is wrong.
        reason: String,
    },
    /// The command did not start.
    #[error("MCP server \"{server}\" could not be started: {source}")]
    Spawn {
        /// The server's name.
        server: String,
        /// Why.
        source: std::io::Error,
    },
    /// The MCP session could not be opened or its tools listed.
    #[error("MCP server \"{server}\" did not answer: {reason}")]
    Protocol {
        /// The server's name.
        server: String,
        /// What went wrong.
        reason: String,
    },
    /// It did not answer within the connect timeout.
    #[error("MCP server \"{server}\" did not start and list its tools within {} s", .timeout.as_secs_f64())]
    Timeout {
        /// The server's name.
        server: String,
        /// The timeout.
        timeout: Duration,
    },
}

/// An open session with an external server, shared by its tools; closed (and a started process
/// stopped) when the last tool is dropped.
struct Session {
    server: String,
    client: RunningService<RoleClient, ()>,
}

/// A tool of an external MCP server.
#[derive(Clone)]
pub struct McpTool {
    session: Arc<Session>,
    remote_name: String,
    spec: ToolSpec,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for McpTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpTool")
            .field("server", &self.session.server)
            .field("remote_name", &self.remote_name)
            .field("name", &self.spec.name)
            .finish_non_exhaustive()
    }
}

/// Starts or reaches the server, opens an MCP session and lists its tools: a registry of them,
/// each named `<server>_<tool>`.
pub async fn connect(config: &McpServerConfig) -> Result<ToolRegistry, McpClientError> {
    check_name(&config.name)?;
    let server = config.name.clone();
    let opened = tokio::time::timeout(config.connect_timeout, open(config))
        .await
        .map_err(|_| McpClientError::Timeout { server: server.clone(), timeout: config.connect_timeout })??;
    let Opened { client, tools } = opened;
    let session = Arc::new(Session { server: server.clone(), client });
    let mut registry = ToolRegistry::new();
    for tool in tools {
        let name = tool_name(&server, &tool.name);
        if registry.get(&name).is_some() {
            return Err(McpClientError::Config {
                server,
                reason: format!("two of its tools are both named \"{name}\" once made safe for the model"),
            });
        }
        let mut parameters = Value::Object((*tool.input_schema).clone());
        // Providers want an object schema; an MCP tool's always is one, but say so if it omits it.
        if parameters.get("type").is_none() {
            parameters["type"] = "object".into();
        }
        let spec = ToolSpec {
            name,
            description: tool
                .description
                .as_deref()
                .map(|d| format!("{d} (from the MCP server \"{server}\")"))
                .unwrap_or_else(|| format!("Tool \"{}\" of the MCP server \"{server}\".", tool.name)),
            parameters,
        };
        registry.insert(Arc::new(McpTool {
            session: Arc::clone(&session),
            remote_name: tool.name.to_string(),
            spec,
            timeout: config.timeout,
        }));
    }
    tracing::info!(server = %server, tools = ?registry.names(), "MCP server connected");
    Ok(registry)
}

struct Opened {
    client: RunningService<RoleClient, ()>,
    tools: Vec<rmcp::model::Tool>,
}

async fn open(config: &McpServerConfig) -> Result<Opened, McpClientError> {
    let server = config.name.clone();
    let protocol = |reason: String| McpClientError::Protocol { server: server.clone(), reason };
    let client = match &config.transport {
        McpTransport::Command { program, args, env } => {
            let mut command = tokio::process::Command::new(program);
            command.args(args).envs(env);
            let transport = TokioChildProcess::new(command)
                .map_err(|source| McpClientError::Spawn { server: server.clone(), source })?;
            ().serve(transport).await.map_err(|e| protocol(e.to_string()))?
        }
        McpTransport::Url { url, bearer_token } => {
            let mut transport_config =
                rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(url.as_str());
            transport_config = transport_config
                .max_json_response_size(config.max_response_bytes)
                .max_sse_event_size(config.max_response_bytes);
            if let Some(token) = bearer_token {
                transport_config = transport_config.auth_header(token.clone());
            }
            let transport = StreamableHttpClientTransport::from_config(transport_config);
            ().serve(transport).await.map_err(|e| protocol(e.to_string()))?
        }
    };
    let tools = client.list_all_tools().await.map_err(|e| protocol(e.to_string()))?;
    Ok(Opened { client, tools })
}

/// A server name must make tool names the providers take.
fn check_name(name: &str) -> Result<(), McpClientError> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(McpClientError::Config {
            server: name.to_owned(),
            reason: "a server's name must be 1 to 32 letters, digits, '_' or '-' (it prefixes its tools' names)".into(),
        })
    }
}

/// `<server>_<tool>`, every other character than `[a-zA-Z0-9_-]` replaced by `_`, at most
/// [`MAX_TOOL_NAME`] bytes.
pub fn tool_name(server: &str, tool: &str) -> String {
    let mut name: String = format!("{server}_{tool}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .collect();
    name.truncate(MAX_TOOL_NAME);
    name
}

impl McpTool {
    /// The server this tool belongs to.
    pub fn server(&self) -> &str {
        &self.session.server
    }

    async fn run(&self, args: Value) -> Result<ToolOutput, ToolError> {
        let arguments = match args {
            Value::Object(map) => map,
            Value::Null => Default::default(),
            other => return Err(ToolError::InvalidArguments(format!("the arguments must be an object, not {other}"))),
        };
        let server = &self.session.server;
        let request = CallToolRequestParams::new(self.remote_name.clone()).with_arguments(arguments);
        let result = self
            .session
            .client
            .call_tool(request)
            .await
            .map_err(|e| ToolError::Failed(format!("the MCP server \"{server}\" failed: {e}")))?;
        outcome(server, result)
    }
}

/// A tool result as aomi's: `isError` is a tool error with the server's text; otherwise the data
/// is the structured content when there is one, else the text content (JSON when it parses).
fn outcome(server: &str, result: CallToolResult) -> Result<ToolOutput, ToolError> {
    let texts: Vec<&str> = result
        .content
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Text(text) => Some(text.text.as_str()),
            _ => None,
        })
        .collect();
    let text = texts.join("\n");
    if result.is_error == Some(true) {
        let message = if text.is_empty() { "the tool failed and said nothing more".to_owned() } else { text };
        return Err(ToolError::Failed(format!("the MCP server \"{server}\" answered with an error: {message}")));
    }
    let others = result.content.len() - texts.len();
    let data = match result.structured_content {
        Some(structured) => structured,
        None => serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text.clone())),
    };
    let first_line = text.lines().next().unwrap_or_default();
    let mut summary: String = first_line.chars().take(200).collect();
    if summary.is_empty() {
        summary = format!("the MCP server \"{server}\" answered");
    }
    if others > 0 {
        summary.push_str(&format!(" ({others} non-text content blocks left out)"));
    }
    Ok(ToolOutput { data, summary })
}

impl Tool for McpTool {
    fn spec(&self) -> ToolSpec {
        self.spec.clone()
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn call<'a>(&'a self, args: Value, _ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(self.run(args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_are_prefixed_and_made_safe() {
        assert_eq!(tool_name("docs", "search"), "docs_search");
        assert_eq!(tool_name("docs", "find.page v2"), "docs_find_page_v2");
        assert_eq!(tool_name("d", &"x".repeat(100)).len(), MAX_TOOL_NAME);
        assert!(check_name("docs-1_a").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("has space").is_err());
    }

    #[test]
    fn an_error_result_is_a_tool_error_and_text_json_is_data() {
        let error = outcome("s", CallToolResult::error(vec![ContentBlock::text("boom")])).unwrap_err();
        assert_eq!(error.to_string(), "the MCP server \"s\" answered with an error: boom");
        let ok = outcome("s", CallToolResult::success(vec![ContentBlock::text("{\"a\": 1}")])).unwrap();
        assert_eq!(ok.data, serde_json::json!({"a": 1}));
        let plain = outcome("s", CallToolResult::success(vec![ContentBlock::text("hello\nworld")])).unwrap();
        assert_eq!((plain.data, plain.summary.as_str()), (Value::String("hello\nworld".into()), "hello"));
    }
}
