-- A signature request (`request_signature`) is recorded beside transaction requests, its review in
-- the report column; the wallet's answer is 'signed', with the signature in `detail`. SQLite
-- cannot change a CHECK constraint in place, so the table is rebuilt (nothing refers to it).
CREATE TABLE transactions_new (
    id            TEXT PRIMARY KEY NOT NULL,
    chat_id       TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    message_id    TEXT,
    chain_id      INTEGER NOT NULL,
    from_address  TEXT,
    request       TEXT NOT NULL,                   -- JSON
    simulation    TEXT,                            -- JSON simulation report (a signature's review)
    status        TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'rejected', 'failed', 'held', 'signed')),
    detail        TEXT,                            -- the hash (sent), the signature (signed), the reason (rejected, failed), the user message (held)
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
INSERT INTO transactions_new SELECT id, chat_id, message_id, chain_id, from_address, request, simulation, status, detail, created_at, updated_at FROM transactions;
DROP TABLE transactions;
ALTER TABLE transactions_new RENAME TO transactions;
CREATE INDEX transactions_by_chat ON transactions (chat_id, created_at);
