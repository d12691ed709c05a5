-- The id a client gave its chat message (LiveKit's ChatMessage.id, the
-- legacy chat JSON's "id", a text stream's id). Clients know messages by
-- it, so it is unique in a class; messages stored without one keep NULL,
-- which never collides.

-- +goose Up
ALTER TABLE chat_messages ADD COLUMN client_id TEXT;
CREATE UNIQUE INDEX chat_messages_client ON chat_messages (class_id, client_id);

-- +goose Down
DROP INDEX chat_messages_client;
ALTER TABLE chat_messages DROP COLUMN client_id;
