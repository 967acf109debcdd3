-- The Telegram front end (see crates/aomi-store/src/telegram.rs).
-- Each Telegram chat's current aomi chat and the network it is on; `/new` points it at a new chat.
CREATE TABLE telegram_chats (
    telegram_chat  BIGINT PRIMARY KEY NOT NULL,    -- Telegram's chat id
    chat_id        TEXT NOT NULL,                  -- the aomi chat its messages go to
    chain_id       BIGINT NOT NULL                 -- the network its turns run on
);

-- The wallet a Telegram user bound by signing in on the page through a one-time link.
CREATE TABLE telegram_wallets (
    telegram_user  BIGINT PRIMARY KEY NOT NULL,    -- Telegram's user id
    address        TEXT NOT NULL,                  -- 0x + 40 lower-case hex digits
    bound_at       BIGINT NOT NULL                 -- Unix seconds
);

-- One-time links not used yet: the SHA-256 of the token (never the token), whose user, until when.
CREATE TABLE telegram_links (
    token_hash     TEXT PRIMARY KEY NOT NULL,
    telegram_user  BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL                 -- Unix seconds
);
CREATE INDEX telegram_links_expiry ON telegram_links (expires_at);
