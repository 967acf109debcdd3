-- Branches of a chat: when a user message is edited (or an answer regenerated), the line from that
-- message on moves here and the new line takes its place in `messages`, which always holds the line
-- the chat is on (what the model reads, what search finds). Switching back swaps the two.
-- Keep it equivalent to migrations/postgres/0007_branches.sql.
CREATE TABLE branches (
    id          TEXT PRIMARY KEY NOT NULL,
    chat_id     TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    parent_id   TEXT,                              -- the message the branch follows; NULL: the chat's start
    created_at  INTEGER NOT NULL                   -- when it was set aside
);
CREATE INDEX branches_by_chat ON branches (chat_id);

-- The messages of a set-aside branch, as they were in `messages`.
CREATE TABLE branch_messages (
    branch_id   TEXT NOT NULL REFERENCES branches (id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    ordinal     INTEGER NOT NULL,
    role        TEXT NOT NULL,
    parts       TEXT NOT NULL,
    metadata    TEXT,
    text        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (branch_id, ordinal)
) WITHOUT ROWID;
