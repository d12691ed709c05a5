package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// DefaultChatHistory is how many recent messages a joining participant
// gets when RecentChat is asked for no particular number.
const DefaultChatHistory = 100

// ChatMessage is one message of a class's chat.
type ChatMessage struct {
	// ID is assigned by the store; later messages have larger ids.
	ID         int64
	ClassID    string
	Sender     string // identity
	SenderName string // display name at the time of sending
	Body       string
	// ClientID is the id the sender's client gave the message, by which
	// clients know it; unique in its class, "" when it had none.
	ClientID string
	// CreatedAt is the server's time when the message was stored.
	CreatedAt time.Time
	// Deleted is set on a message that was deleted (only ChatByClientID
	// returns those).
	Deleted bool
}

// AddChatMessage stores m in its class's chat and returns it with its id
// and the server's timestamp; once it returns, the message is durable.
// The class must exist (ErrNotFound); sender and body must not be empty
// (ErrInvalid). A client id already used in the class is ErrConflict and
// stores nothing. Whether the sender may write is the caller's decision.
func (s *Store) AddChatMessage(ctx context.Context, m ChatMessage) (ChatMessage, error) {
	what := "add chat message to class " + m.ClassID
	if m.Sender == "" || m.Body == "" {
		return ChatMessage{}, fmt.Errorf("store: %s: %w: empty sender or body", what, ErrInvalid)
	}
	m.CreatedAt = fromMS(toMS(s.now()))
	m.Deleted = false
	clientID := sql.NullString{String: m.ClientID, Valid: m.ClientID != ""}
	// Inserting through a SELECT on the class makes a missing class
	// insert nothing, and so does a client id taken (DO NOTHING); both
	// dialects report either as no row.
	err := s.db.QueryRowContext(ctx,
		`INSERT INTO chat_messages (class_id, sender, sender_name, body, created_at, client_id)
		 SELECT id, $2, $3, $4, $5, $6 FROM classes WHERE id = $1
		 ON CONFLICT (class_id, client_id) DO NOTHING
		 RETURNING id`,
		m.ClassID, m.Sender, m.SenderName, m.Body, toMS(m.CreatedAt), clientID).Scan(&m.ID)
	if errors.Is(err, sql.ErrNoRows) && clientID.Valid {
		if _, cerr := s.ChatByClientID(ctx, m.ClassID, m.ClientID); cerr == nil {
			return ChatMessage{}, fmt.Errorf("store: %s: %w: client id %q already used", what, ErrConflict, m.ClientID)
		}
	}
	if err != nil {
		return ChatMessage{}, notFoundOr(err, what)
	}
	return m, nil
}

// ChatByClientID returns the message of the class that its sender's
// client called clientID, deleted or not (Deleted says); ErrNotFound when
// there is none.
func (s *Store) ChatByClientID(ctx context.Context, classID, clientID string) (ChatMessage, error) {
	what := fmt.Sprintf("chat message %q of class %s", clientID, classID)
	m := ChatMessage{ClassID: classID, ClientID: clientID}
	var created int64
	var deletedAt sql.NullInt64
	err := s.db.QueryRowContext(ctx,
		`SELECT id, sender, sender_name, body, created_at, deleted_at
		 FROM chat_messages WHERE class_id = $1 AND client_id = $2`, classID, clientID).
		Scan(&m.ID, &m.Sender, &m.SenderName, &m.Body, &created, &deletedAt)
	if err != nil {
		return ChatMessage{}, notFoundOr(err, what)
	}
	m.CreatedAt = fromMS(created)
	m.Deleted = deletedAt.Valid
	return m, nil
}

// RecentChat returns the last limit messages of the class that are not
// deleted, oldest first (limit <= 0 means DefaultChatHistory). An unknown
// class has no messages: the result is empty, not an error.
func (s *Store) RecentChat(ctx context.Context, classID string, limit int) ([]ChatMessage, error) {
	what := "recent chat of class " + classID
	if limit <= 0 {
		limit = DefaultChatHistory
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, class_id, sender, sender_name, body, created_at, client_id
		 FROM chat_messages
		 WHERE class_id = $1 AND deleted_at IS NULL
		 ORDER BY id DESC LIMIT $2`, classID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var out []ChatMessage
	for rows.Next() {
		var m ChatMessage
		var created int64
		var clientID sql.NullString
		if err := rows.Scan(&m.ID, &m.ClassID, &m.Sender, &m.SenderName, &m.Body, &created, &clientID); err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		m.CreatedAt = fromMS(created)
		m.ClientID = clientID.String
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	slices.Reverse(out) // fetched newest first to apply the limit
	return out, nil
}

// DeleteChatMessage hides message id of the class from RecentChat,
// recording who deleted it and when (the row is kept for moderation
// records). Deleting a message already deleted succeeds and keeps the
// first deletion. ErrNotFound when the class has no such message. Who may
// delete (the class's teachers and assistants) is the caller's decision.
func (s *Store) DeleteChatMessage(ctx context.Context, classID string, id int64, by string, at time.Time) error {
	return s.settleOnce(ctx, fmt.Sprintf("delete chat message %d of class %s", id, classID),
		`UPDATE chat_messages SET deleted_at = $3, deleted_by = $4
		 WHERE class_id = $1 AND id = $2 AND deleted_at IS NULL`, []any{classID, id, toMS(at), by},
		`SELECT 1 FROM chat_messages WHERE class_id = $1 AND id = $2`, []any{classID, id})
}
