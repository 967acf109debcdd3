-- Each chat's compaction: the summary of its older turns that the model is sent in their place
-- (see crates/aomi-store/src/compaction.rs). The chat's messages themselves stay whole.
-- Keep it equivalent to migrations/sqlite/0012_compactions.sql.
CREATE TABLE chat_compactions (
    chat_id         TEXT PRIMARY KEY NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    summary         TEXT NOT NULL,                -- the summary's text, readable as it is
    covers_through  TEXT NOT NULL,                -- the id of the last message the summary covers
    covered         BIGINT NOT NULL,              -- how many messages, from the first, it covers
    state           JSONB NOT NULL,               -- the compactor's whole state (facts, digests, …)
    updated_at      TIMESTAMPTZ NOT NULL
);
