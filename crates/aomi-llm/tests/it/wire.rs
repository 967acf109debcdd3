//! The history as the provider receives it: the recorded request bodies in
//! each provider's wire shape.

use aomi_core::{ChatMessage, MessagePart, ToolPart, ToolSpec, ToolState};
use aomi_llm::{ModelRequest, ModelTools, Provider};
use aomi_testkit::{RecordedRequest, Reply, Script, StubModel};
use serde_json::{Value, json};

use crate::{ask, both_providers, client, run, stub};

both_providers!(history_arrives_in_the_providers_shape, a_tool_set_is_sent_whole_on_every_call);

fn tool(name: &str, id: &str, state: ToolState, input: Value, output: Option<Value>) -> MessagePart {
    MessagePart::Tool(ToolPart {
        tool_name: name.into(),
        tool_call_id: id.into(),
        state,
        input,
        output,
        error_text: None,
    })
}

/// user → assistant (text + call + result, then a second step) → user →
/// assistant (a wallet call never answered) → user.
fn request() -> ModelRequest {
    let mut first = ChatMessage::assistant("a1");
    first.parts = vec![
        MessagePart::StepStart,
        MessagePart::text("Let me check."),
        tool(
            "get_balance",
            "call_bal1",
            ToolState::OutputAvailable,
            json!({"address": "0x01"}),
            Some(json!({"wei": "1000"})),
        ),
        MessagePart::StepStart,
        MessagePart::text("You hold 1000 wei."),
        MessagePart::Data { name: "network".into(), id: None, data: json!({"chainId": 1}) },
    ];
    let mut second = ChatMessage::assistant("a2");
    second.parts = vec![
        MessagePart::StepStart,
        tool("send_transaction", "call_send1", ToolState::InputAvailable, json!({"to": "0x02", "value": "1"}), None),
    ];
    ModelRequest::new(
        "You are aomi.",
        vec![
            ChatMessage::user_text("u1", "What is my balance?"),
            first,
            ChatMessage::user_text("u2", "Send 1 wei to 0x02."),
            second,
            ChatMessage::user_text("u3", "Never mind."),
        ],
    )
    .with_tools(vec![ToolSpec {
        name: "get_balance".into(),
        description: "The balance of an address.".into(),
        parameters: json!({"type": "object", "properties": {"address": {"type": "string"}}, "required": ["address"]}),
    }])
}

fn only_request(stub: &StubModel) -> RecordedRequest {
    let requests = stub.requests();
    assert_eq!(requests.len(), 1);
    requests.into_iter().next().unwrap_or_else(|| unreachable!())
}

/// The text of a message `content`: a string, or the text of its text blocks.
fn text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter(|block| block["type"] == "text")
            .filter_map(|block| block["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

async fn history_arrives_in_the_providers_shape(provider: Provider) {
    let stub = stub(Script::new().then(Reply::text("Okay."))).await;
    let (events, error) = run(&client(&stub, provider), request()).await;
    assert_eq!(error, None, "{events:?}");
    let recorded = only_request(&stub);
    let body = &recorded.body;
    assert!(recorded.is_stream());
    assert_eq!(recorded.model(), Some("stub-model"));
    match provider {
        Provider::Anthropic => anthropic_shape(&recorded, body),
        Provider::OpenAi => openai_shape(&recorded, body),
    }
}

fn anthropic_shape(recorded: &RecordedRequest, body: &Value) {
    assert_eq!(recorded.path, "/v1/messages");
    assert_eq!(recorded.header("x-api-key"), Some("test-anthropic-key"));
    assert!(text(&body["system"]).contains("You are aomi."), "{body}");
    assert_eq!(body["tools"][0]["name"], "get_balance");
    assert_eq!(body["tools"][0]["input_schema"]["required"], json!(["address"]));
    assert!(body["max_tokens"].as_u64().is_some_and(|tokens| tokens > 0));

    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let roles: Vec<&str> = messages.iter().filter_map(|m| m["role"].as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant", "user", "assistant", "user"], "{body}");

    // Step one: text and tool_use, then the tool_result right after.
    let blocks = |index: usize| messages[index]["content"].as_array().cloned().unwrap_or_default();
    let step = blocks(1);
    assert_eq!(step[0]["type"], "text");
    assert_eq!(step[0]["text"], "Let me check.");
    assert_eq!(step[1]["type"], "tool_use");
    assert_eq!(step[1]["id"], "call_bal1");
    assert_eq!(step[1]["name"], "get_balance");
    assert_eq!(step[1]["input"], json!({"address": "0x01"}));
    let results = blocks(2);
    assert_eq!(results[0]["type"], "tool_result");
    assert_eq!(results[0]["tool_use_id"], "call_bal1");
    assert_eq!(serde_json::from_str::<Value>(&text(&results[0]["content"])).ok(), Some(json!({"wei": "1000"})));
    assert_ne!(results[0]["is_error"], true);

    // Step two of the same assistant message.
    assert_eq!(text(&messages[3]["content"]), "You hold 1000 wei.");
    assert_eq!(text(&messages[4]["content"]), "Send 1 wei to 0x02.");

    // The unanswered wallet call is closed with an error result before the
    // next user text, in the same user message.
    let call = blocks(5);
    assert_eq!(call[0]["type"], "tool_use");
    assert_eq!(call[0]["id"], "call_send1");
    let last = blocks(6);
    assert_eq!(last[0]["type"], "tool_result");
    assert_eq!(last[0]["tool_use_id"], "call_send1");
    assert_eq!(last[0]["is_error"], true);
    assert!(text(&last[0]["content"]).contains("not completed"), "{body}");
    assert_eq!(last[1]["type"], "text");
    assert_eq!(last[1]["text"], "Never mind.");
    assert!(!body.to_string().contains("chainId"), "data parts are not sent: {body}");
}

fn openai_shape(recorded: &RecordedRequest, body: &Value) {
    assert_eq!(recorded.path, "/v1/chat/completions");
    assert_eq!(recorded.header("authorization"), None, "no key, no Authorization header");
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(body["tools"][0]["function"]["name"], "get_balance");

    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let roles: Vec<&str> = messages.iter().filter_map(|m| m["role"].as_str()).collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "tool", "assistant", "user", "assistant", "tool", "user"],
        "{body}"
    );
    assert!(text(&messages[0]["content"]).contains("You are aomi."));
    assert_eq!(text(&messages[1]["content"]), "What is my balance?");

    let step = &messages[2];
    assert_eq!(text(&step["content"]), "Let me check.");
    let call = &step["tool_calls"][0];
    assert_eq!(call["id"], "call_bal1");
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_balance");
    let arguments = call["function"]["arguments"].as_str().and_then(|text| serde_json::from_str::<Value>(text).ok());
    assert_eq!(arguments, Some(json!({"address": "0x01"})));
    assert_eq!(messages[3]["tool_call_id"], "call_bal1");
    assert_eq!(serde_json::from_str::<Value>(&text(&messages[3]["content"])).ok(), Some(json!({"wei": "1000"})));

    assert_eq!(text(&messages[4]["content"]), "You hold 1000 wei.");
    assert_eq!(text(&messages[5]["content"]), "Send 1 wei to 0x02.");
    assert_eq!(messages[6]["tool_calls"][0]["id"], "call_send1");
    assert_eq!(messages[7]["tool_call_id"], "call_send1");
    assert!(text(&messages[7]["content"]).contains("not completed"), "{body}");
    assert_eq!(text(&messages[8]["content"]), "Never mind.");
    assert!(!body.to_string().contains("chainId"), "data parts are not sent: {body}");
}

/// A client reuses its first encoding of a tool set: the later calls hand rig placeholders and
/// the transport sends the kept definitions. What the provider receives must not change: the
/// same tools, with their descriptions and schemas, on every call and from every client.
async fn a_tool_set_is_sent_whole_on_every_call(provider: Provider) {
    let tools = ModelTools::new(vec![
        ToolSpec {
            name: "get_balance".into(),
            description: "The balance of an address.".into(),
            parameters: json!({"type": "object", "properties": {"address": {"type": "string", "minLength": 42}},
                "required": ["address"]}),
        },
        ToolSpec { name: "now".into(), description: "The time.".into(), parameters: Value::Null },
    ]);
    let stub = stub(Script::new().then(Reply::text("one")).then(Reply::text("two")).then(Reply::text("three"))).await;
    let first = client(&stub, provider);
    let other = client(&stub, provider);
    for (client, text) in [(&first, "a"), (&first, "b"), (&other, "c")] {
        let (_, error) = run(client, ask(text).with_tools(tools.clone())).await;
        assert_eq!(error, None);
    }
    let requests = stub.requests();
    assert_eq!(requests.len(), 3);
    let sent: Vec<&Value> = requests.iter().map(|request| &request.body["tools"]).collect();
    let (description, schema) = match provider {
        Provider::Anthropic => ("/0/description", "/0/input_schema"),
        Provider::OpenAi => ("/0/function/description", "/0/function/parameters"),
    };
    assert_eq!(sent[0].pointer(description), Some(&json!("The balance of an address.")), "{}", sent[0]);
    assert_eq!(sent[0].pointer(&format!("{schema}/properties/address/minLength")), Some(&json!(42)));
    assert_eq!(sent[0].as_array().map(Vec::len), Some(2));
    assert_eq!(sent[1], sent[0], "the second call of a client sends what the first sent");
    assert_eq!(sent[2], sent[0], "another client sends the same");
    // The messages are still the call's own.
    let asked: Vec<String> = requests.iter().map(|request| request.body["messages"].to_string()).collect();
    assert!(asked[1].contains("\"b\"") && !asked[1].contains("\"a\""), "{}", asked[1]);
}
