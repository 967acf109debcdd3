-- Spend guards: one row per wallet (0x + 40 lower-case hex digits), its settings as JSON (the level,
-- the USD limits, the allow-list; their shape is aomi-tools' `GuardSettings`), written only through
-- the signed-in wallet's own route. Keep it equivalent to migrations/sqlite/0009_guards.sql.
CREATE TABLE guards (
    owner       TEXT PRIMARY KEY NOT NULL,
    settings    JSONB NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- A wallet's requests of the last day, for its daily limit.
CREATE INDEX transactions_by_sender ON transactions (from_address, created_at);
