-- aomi's schema on SQLite. Times are Unix microseconds (INTEGER), JSON is TEXT.
-- Keep it equivalent to migrations/postgres/0001_init.sql.

-- Wallets that used aomi; the address (0x + 40 lower-case hex digits) is the public key.
CREATE TABLE users (
    address     TEXT PRIMARY KEY NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
);

CREATE TABLE chats (
    id          TEXT PRIMARY KEY NOT NULL,
    owner       TEXT REFERENCES users (address),  -- NULL: an anonymous chat
    app         TEXT NOT NULL,
    title       TEXT,
    chain_id    INTEGER,                           -- the wallet's network at the last turn
    archived    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- The history list: an owner's chats, newest first, keyset-paged on (updated_at, id).
CREATE INDEX chats_by_owner ON chats (owner, archived, updated_at DESC, id DESC);

CREATE TABLE messages (
    seq         INTEGER PRIMARY KEY,               -- rowid, the full-text index's key
    chat_id     TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    ordinal     INTEGER NOT NULL,                  -- 0, 1, 2, … within the chat
    role        TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    parts       TEXT NOT NULL,                     -- JSON array of UIMessage parts (tool calls and results inside)
    metadata    TEXT,                              -- JSON object; {"incomplete": true} on a cut-off answer
    text        TEXT NOT NULL,                     -- the text parts, for search
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (chat_id, id),
    UNIQUE (chat_id, ordinal)
);

-- Full-text search over messages (external content: the text lives in messages only).
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    text,
    content = 'messages',
    content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, text) VALUES (new.seq, new.text);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
    INSERT INTO messages_fts (rowid, text) VALUES (new.seq, new.text);
END;

-- Turns: at most one running per chat; the instance that runs it keeps its heartbeat fresh.
CREATE TABLE turns (
    id            TEXT PRIMARY KEY NOT NULL,
    chat_id       TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    message_id    TEXT NOT NULL,                   -- the assistant message it writes into
    instance      TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('running', 'finished', 'interrupted')),
    started_at    INTEGER NOT NULL,
    heartbeat_at  INTEGER NOT NULL,
    ended_at      INTEGER
);
CREATE UNIQUE INDEX turns_one_running ON turns (chat_id) WHERE state = 'running';
CREATE INDEX turns_by_chat ON turns (chat_id);

-- The parts of running turns, so that another instance can stream them.
CREATE TABLE turn_parts (
    turn_id  TEXT NOT NULL REFERENCES turns (id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    part     TEXT NOT NULL,                        -- one UI message stream part, JSON
    PRIMARY KEY (turn_id, seq)
) WITHOUT ROWID;

-- The contract database: see crates/aomi-store/src/contract.rs.
CREATE TABLE contracts (
    chain_id     INTEGER NOT NULL,
    address      TEXT NOT NULL,                    -- 0x + 40 lower-case hex digits
    name         TEXT,
    abi          TEXT NOT NULL,                    -- JSON
    source       TEXT,
    verified_by  TEXT,                             -- etherscan, sourcify, artifact, user, …
    fetched_at   INTEGER NOT NULL,
    PRIMARY KEY (chain_id, address)
);
CREATE INDEX contracts_by_name ON contracts (chain_id, lower(name));

-- Transactions aomi asked a wallet to sign: the request, its simulation, its outcome.
CREATE TABLE transactions (
    id            TEXT PRIMARY KEY NOT NULL,
    chat_id       TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    message_id    TEXT,
    chain_id      INTEGER NOT NULL,
    from_address  TEXT,
    request       TEXT NOT NULL,                   -- JSON
    simulation    TEXT,                            -- JSON simulation report
    status        TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'rejected', 'failed')),
    detail        TEXT,                            -- the hash (sent) or the reason (rejected, failed)
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX transactions_by_chat ON transactions (chat_id, created_at);
