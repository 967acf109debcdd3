//! Typed subroutines against the stub model.

use aomi_llm::schemars::JsonSchema;
use aomi_llm::{Provider, SubroutineError};
use aomi_testkit::{Reply, Script};
use serde::Deserialize;

use crate::{both_providers, client, stub};

/// What a title subroutine answers.
#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
#[schemars(crate = "aomi_llm::schemars")]
struct Title {
    /// A few words.
    title: String,
}

both_providers!(a_typed_answer_parses, a_wrong_answer_gets_one_correction, two_wrong_answers_fail_clearly);

async fn a_typed_answer_parses(provider: Provider) {
    let stub = stub(Script::new().then(Reply::text(r#"{"title": "USDC balance on Base"}"#))).await;
    let title: Title =
        client(&stub, provider).run_subroutine("Title this chat.", "what is my USDC on base").await.unwrap();
    assert_eq!(title, Title { title: "USDC balance on Base".into() });
    let request = stub.requests()[0].body.to_string();
    assert!(request.contains("JSON schema"), "the schema is in the prompt: {request}");
    assert!(request.contains("\\\"title\\\""), "the schema names the field: {request}");
}

async fn a_wrong_answer_gets_one_correction(provider: Provider) {
    let script = Script::new().then(Reply::text("A nice title")).then(Reply::text(r#"{"title": "Fixed"}"#));
    let stub = stub(script).await;
    let title: Title = client(&stub, provider).run_subroutine("Title this chat.", "hello").await.unwrap();
    assert_eq!(title.title, "Fixed");
    let second = stub.requests()[1].body.to_string();
    assert!(second.contains("not valid"), "the correction names the problem: {second}");
    assert!(second.contains("A nice title"), "the wrong answer is shown back: {second}");
}

async fn two_wrong_answers_fail_clearly(provider: Provider) {
    let stub = stub(Script::new().fallback(Reply::text(r#"{"name": "no title field"}"#))).await;
    let error = client(&stub, provider).run_subroutine::<Title>("Title this chat.", "hello").await.unwrap_err();
    assert!(
        matches!(&error, SubroutineError::InvalidAnswer { type_name: "Title", reason } if reason.contains("title"))
    );
    assert_eq!(stub.requests().len(), 2, "one correction, then the error");
}
