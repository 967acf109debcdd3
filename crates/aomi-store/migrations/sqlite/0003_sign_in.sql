-- Sign-in (see crates/aomi-store/src/auth.rs): nonces of verified sign-in messages, kept until their
-- challenge expires so that a signed message opens one session only, on any instance.
CREATE TABLE auth_nonces (
    nonce       TEXT PRIMARY KEY NOT NULL,
    expires_at  INTEGER NOT NULL                   -- Unix seconds
);
CREATE INDEX auth_nonces_expiry ON auth_nonces (expires_at);

-- A wallet's session generation: a session names the generation it was opened in, and signing
-- out everywhere moves the generation on, which ends every older session.
CREATE TABLE auth_wallets (
    address     TEXT PRIMARY KEY NOT NULL,         -- 0x + 40 lower-case hex digits
    generation  INTEGER NOT NULL
);
