-- The chat's pending batch: transactions staged to be simulated in order and sent to the wallet
-- as one request (see src/batch.rs). `ordinal` orders the steps of a chat. The step itself (`to`,
-- `value`, `data`, `description`) is JSON: the tools own its shape.
-- Keep it equivalent to migrations/sqlite/0006_batch_steps.sql.
CREATE TABLE batch_steps (
    chat_id     TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    ordinal     BIGINT NOT NULL,
    chain_id    BIGINT NOT NULL,
    step        JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (chat_id, ordinal)
);
