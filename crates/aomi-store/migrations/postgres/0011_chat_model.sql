-- The model a chat runs on: the id of one of the server's allowed models (`GET /api/models`), chosen
-- when the chat was created; NULL: the server's default model. Keep it equivalent to
-- migrations/sqlite/0011_chat_model.sql.
ALTER TABLE chats ADD COLUMN model TEXT;
