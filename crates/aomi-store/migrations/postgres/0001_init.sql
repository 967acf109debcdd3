-- aomi's schema on PostgreSQL. Keep it equivalent to migrations/sqlite/0001_init.sql.

-- Wallets that used aomi; the address (0x + 40 lower-case hex digits) is the public key.
CREATE TABLE users (
    address     TEXT PRIMARY KEY,
    first_seen  TIMESTAMPTZ NOT NULL,
    last_seen   TIMESTAMPTZ NOT NULL
);

CREATE TABLE chats (
    id          TEXT PRIMARY KEY,
    owner       TEXT REFERENCES users (address),  -- NULL: an anonymous chat
    app         TEXT NOT NULL,
    title       TEXT,
    chain_id    BIGINT,                            -- the wallet's network at the last turn
    archived    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
-- The history list: an owner's chats, newest first, keyset-paged on (updated_at, id).
CREATE INDEX chats_by_owner ON chats (owner, archived, updated_at DESC, id DESC);

CREATE TABLE messages (
    chat_id     TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    ordinal     INTEGER NOT NULL,                  -- 0, 1, 2, … within the chat
    role        TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    parts       JSONB NOT NULL,                    -- UIMessage parts (tool calls and results inside)
    metadata    JSONB,                             -- {"incomplete": true} on a cut-off answer
    text        TEXT NOT NULL,                     -- the text parts, for search
    search      TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (chat_id, ordinal),
    UNIQUE (chat_id, id)
);
CREATE INDEX messages_search ON messages USING GIN (search);

-- Turns: at most one running per chat; the instance that runs it keeps its heartbeat fresh.
CREATE TABLE turns (
    id            TEXT PRIMARY KEY,
    chat_id       TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    message_id    TEXT NOT NULL,                   -- the assistant message it writes into
    instance      TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('running', 'finished', 'interrupted')),
    started_at    TIMESTAMPTZ NOT NULL,
    heartbeat_at  TIMESTAMPTZ NOT NULL,
    ended_at      TIMESTAMPTZ
);
CREATE UNIQUE INDEX turns_one_running ON turns (chat_id) WHERE state = 'running';
CREATE INDEX turns_by_chat ON turns (chat_id);

-- The parts of running turns, so that another instance can stream them (woken by NOTIFY).
CREATE TABLE turn_parts (
    turn_id  TEXT NOT NULL REFERENCES turns (id) ON DELETE CASCADE,
    seq      BIGINT NOT NULL,
    part     JSONB NOT NULL,                       -- one UI message stream part
    PRIMARY KEY (turn_id, seq)
);

-- The contract database: see crates/aomi-store/src/contract.rs.
CREATE TABLE contracts (
    chain_id     BIGINT NOT NULL,
    address      TEXT NOT NULL,                    -- 0x + 40 lower-case hex digits
    name         TEXT,
    abi          JSONB NOT NULL,
    source       TEXT,
    verified_by  TEXT,                             -- etherscan, sourcify, artifact, user, …
    fetched_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (chain_id, address)
);
CREATE INDEX contracts_by_name ON contracts (chain_id, lower(name));

-- Transactions aomi asked a wallet to sign: the request, its simulation, its outcome.
CREATE TABLE transactions (
    id            TEXT PRIMARY KEY,
    chat_id       TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    message_id    TEXT,
    chain_id      BIGINT NOT NULL,
    from_address  TEXT,
    request       JSONB NOT NULL,
    simulation    JSONB,                           -- the simulation report
    status        TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'rejected', 'failed')),
    detail        TEXT,                            -- the hash (sent) or the reason (rejected, failed)
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX transactions_by_chat ON transactions (chat_id, created_at);
