//! A turn's parts as an SSE response in the AI SDK UI message stream format.

use std::convert::Infallible;
use std::time::Duration;

use aomi_core::stream::{DONE, STREAM_HEADER};
use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream, StreamExt};

use aomi_core::backend::PartStream;

/// How often an idle stream sends a keep-alive comment, so proxies and clients never time out.
const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Streams `reader` as SSE: one `data:` event per part, then `data: [DONE]`.
pub(crate) fn ui_message_stream(reader: Box<dyn PartStream>) -> Response {
    let parts = stream::unfold(reader, |mut reader| async move {
        let chunk = reader.next_part().await?;
        Some((Ok::<_, Infallible>(Event::default().data(chunk.to_json())), reader))
    });
    let events = parts.chain(stream::once(async { Ok(Event::default().data(DONE)) }));
    sse_response(events)
}

fn sse_response(events: impl Stream<Item = Result<Event, Infallible>> + Send + 'static) -> Response {
    let mut response = Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response();
    let headers = response.headers_mut();
    headers.insert(STREAM_HEADER.0, HeaderValue::from_static(STREAM_HEADER.1));
    // Proxies such as nginx buffer SSE unless told not to.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache, no-transform"));
    response
}
