package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Poll is a question put to a class.
type Poll struct {
	ID       string // "PL_..." assigned by CreatePoll
	ClassID  string
	Question string
	Options  []string
	// Multiple lets a voter pick several options; otherwise exactly one.
	Multiple  bool
	CreatedBy string // identity
	CreatedAt time.Time
	// ClosedAt is when the poll stopped taking answers; zero while open.
	ClosedAt time.Time
}

// Open reports whether the poll still takes answers.
func (p *Poll) Open() bool { return p.ClosedAt.IsZero() }

// Tally is a poll's result.
type Tally struct {
	Poll Poll
	// Counts[i] is how many voters picked Poll.Options[i].
	Counts []int
	// Voters is how many identities answered (with Multiple, the counts
	// may add up to more).
	Voters int
}

// CreatePoll stores an open poll in the class and returns it with its id
// and creation time. It needs a question and at least two distinct,
// non-empty options (ErrInvalid); the class must exist (ErrNotFound).
func (s *Store) CreatePoll(ctx context.Context, p Poll) (Poll, error) {
	what := "create poll in class " + p.ClassID
	p.Question = strings.TrimSpace(p.Question)
	if p.Question == "" || len(p.Options) < 2 {
		return Poll{}, fmt.Errorf("store: %s: %w: need a question and two options", what, ErrInvalid)
	}
	seen := map[string]bool{}
	for _, o := range p.Options {
		if strings.TrimSpace(o) == "" || seen[o] {
			return Poll{}, fmt.Errorf("store: %s: %w: empty or repeated option %q", what, ErrInvalid, o)
		}
		seen[o] = true
	}
	p.ID = newID("PL_")
	p.CreatedAt = fromMS(toMS(s.now()))
	p.ClosedAt = time.Time{}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO polls (id, class_id, question, multiple, created_by, created_at)
			 SELECT $2, id, $3, $4, $5, $6 FROM classes WHERE id = $1`,
			p.ClassID, p.ID, p.Question, p.Multiple, p.CreatedBy, toMS(p.CreatedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		for i, o := range p.Options {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO poll_options (poll_id, idx, text) VALUES ($1, $2, $3)`,
				p.ID, i, o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Poll{}, fmt.Errorf("store: %s: %w", what, err)
	}
	return p, nil
}

// GetPoll returns the poll with its options, or ErrNotFound.
func (s *Store) GetPoll(ctx context.Context, id string) (Poll, error) {
	p, err := getPoll(ctx, s.db, id)
	if err != nil {
		return Poll{}, notFoundOr(err, "get poll "+id)
	}
	return p, nil
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// getPoll reads the poll and its options; a missing poll is sql.ErrNoRows.
func getPoll(ctx context.Context, q querier, id string) (Poll, error) {
	var (
		p       Poll
		created int64
		closed  sql.NullInt64
	)
	err := q.QueryRowContext(ctx,
		`SELECT id, class_id, question, multiple, created_by, created_at, closed_at
		 FROM polls WHERE id = $1`, id).
		Scan(&p.ID, &p.ClassID, &p.Question, &p.Multiple, &p.CreatedBy, &created, &closed)
	if err != nil {
		return Poll{}, err
	}
	p.CreatedAt, p.ClosedAt = fromMS(created), fromNullMS(closed)
	rows, err := q.QueryContext(ctx,
		`SELECT text FROM poll_options WHERE poll_id = $1 ORDER BY idx`, id)
	if err != nil {
		return Poll{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			return Poll{}, err
		}
		p.Options = append(p.Options, o)
	}
	return p, rows.Err()
}

// AnswerPoll records identity's answer: the indexes of the chosen options
// (exactly one unless the poll is Multiple, no repeats, all in range:
// ErrInvalid otherwise). A voter answers once: a second answer is
// ErrConflict and the first stands. ErrClosed when the poll is closed,
// ErrNotFound when there is no such poll.
func (s *Store) AnswerPoll(ctx context.Context, pollID, identity string, choices []int) error {
	what := fmt.Sprintf("answer poll %s as %s", pollID, identity)
	if identity == "" {
		return fmt.Errorf("store: %s: %w: empty identity", what, ErrInvalid)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		p, err := getPoll(ctx, tx, pollID)
		if err != nil {
			return noRows(err)
		}
		if !p.Open() {
			return ErrClosed
		}
		if err := validChoices(p, choices); err != nil {
			return err
		}
		// The primary key on (poll_id, identity) decides which of two
		// racing answers wins; the loser inserts nothing.
		res, err := tx.ExecContext(ctx,
			`INSERT INTO poll_answers (poll_id, identity, answered_at) VALUES ($1, $2, $3)
			 ON CONFLICT (poll_id, identity) DO NOTHING`,
			pollID, identity, toMS(s.now()))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: already answered", ErrConflict)
		}
		for _, c := range choices {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO poll_answer_choices (poll_id, identity, option_idx) VALUES ($1, $2, $3)`,
				pollID, identity, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}

// validChoices checks an answer against the poll's options.
func validChoices(p Poll, choices []int) error {
	if len(choices) == 0 || (!p.Multiple && len(choices) != 1) {
		return fmt.Errorf("%w: %d choices for a %s poll", ErrInvalid, len(choices), map[bool]string{true: "multiple-choice", false: "single-choice"}[p.Multiple])
	}
	seen := map[int]bool{}
	for _, c := range choices {
		if c < 0 || c >= len(p.Options) || seen[c] {
			return fmt.Errorf("%w: choice %d out of range or repeated", ErrInvalid, c)
		}
		seen[c] = true
	}
	return nil
}

// ClosePoll stops the poll taking answers as of at. Closing a closed poll
// succeeds and keeps the first closing time; ErrNotFound when there is no
// such poll.
func (s *Store) ClosePoll(ctx context.Context, pollID string, at time.Time) error {
	return s.settleOnce(ctx, "close poll "+pollID,
		`UPDATE polls SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL`, []any{pollID, toMS(at)},
		`SELECT 1 FROM polls WHERE id = $1`, []any{pollID})
}

// PollTally counts the answers to the poll, open or closed; ErrNotFound
// when there is no such poll.
func (s *Store) PollTally(ctx context.Context, pollID string) (Tally, error) {
	what := "tally poll " + pollID
	p, err := getPoll(ctx, s.db, pollID)
	if err != nil {
		return Tally{}, notFoundOr(err, what)
	}
	t := Tally{Poll: p, Counts: make([]int, len(p.Options))}
	// One statement, so voters and counts come from the same snapshot;
	// the row with index -1 is the number of voters.
	rows, err := s.db.QueryContext(ctx,
		`SELECT -1, COUNT(*) FROM poll_answers WHERE poll_id = $1
		 UNION ALL
		 SELECT option_idx, COUNT(*) FROM poll_answer_choices WHERE poll_id = $1 GROUP BY option_idx`,
		pollID)
	if err != nil {
		return Tally{}, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		var idx, n int
		if err := rows.Scan(&idx, &n); err != nil {
			return Tally{}, fmt.Errorf("store: %s: %w", what, err)
		}
		switch {
		case idx == -1:
			t.Voters = n
		case idx >= 0 && idx < len(t.Counts):
			t.Counts[idx] = n
		}
	}
	if err := rows.Err(); err != nil {
		return Tally{}, fmt.Errorf("store: %s: %w", what, err)
	}
	return t, nil
}
