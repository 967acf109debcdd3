-- The chat's pending batch: transactions staged to be simulated in order and sent to the wallet
-- as one request (see src/batch.rs). `ordinal` orders the steps of a chat. The step itself (`to`,
-- `value`, `data`, `description`) is JSON: the tools own its shape.
-- Keep it equivalent to migrations/postgres/0006_batch_steps.sql.
CREATE TABLE batch_steps (
    chat_id     TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    ordinal     INTEGER NOT NULL,
    chain_id    INTEGER NOT NULL,
    step        TEXT NOT NULL,                    -- JSON
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (chat_id, ordinal)
) WITHOUT ROWID;
