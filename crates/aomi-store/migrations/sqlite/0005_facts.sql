-- Facts: the one table of agent-valuable information every app shares (see src/fact.rs): address
-- labels, token metadata, protocol notes. `owner` is '' for a global fact (curated) and a wallet
-- (0x + 40 lower-case hex digits) for one that wallet's user made; `chain_id` 0 means any chain.
CREATE TABLE facts (
    owner       TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('label', 'token', 'note')),
    chain_id    INTEGER NOT NULL,
    subject     TEXT NOT NULL,                    -- an address (lower case) or a name
    value       TEXT NOT NULL,
    source      TEXT NOT NULL,                    -- curated, user, …
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (owner, kind, chain_id, subject)
);
CREATE INDEX facts_by_subject ON facts (subject);

-- Answers of remote APIs kept a short while (an account's explorer history): key, JSON, when.
CREATE TABLE answer_cache (
    key         TEXT PRIMARY KEY NOT NULL,
    value       TEXT NOT NULL,                    -- JSON
    fetched_at  INTEGER NOT NULL
);
