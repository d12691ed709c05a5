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

// ClassPolls returns the class's polls by creation time (to the
// millisecond; ties in no set order), each with its tally. An unknown
// class has none.
func (s *Store) ClassPolls(ctx context.Context, classID string) ([]Tally, error) {
	what := "polls of class " + classID
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, class_id, question, multiple, created_by, created_at, closed_at
		 FROM polls WHERE class_id = $1 ORDER BY created_at, id`, classID)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	var out []Tally
	index := map[string]int{}
	for rows.Next() {
		var (
			p       Poll
			created int64
			closed  sql.NullInt64
		)
		if err := rows.Scan(&p.ID, &p.ClassID, &p.Question, &p.Multiple, &p.CreatedBy, &created, &closed); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		p.CreatedAt, p.ClosedAt = fromMS(created), fromNullMS(closed)
		index[p.ID] = len(out)
		out = append(out, Tally{Poll: p})
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	err = s.eachRow(ctx,
		`SELECT o.poll_id, o.text FROM poll_options o JOIN polls p ON p.id = o.poll_id
		 WHERE p.class_id = $1 ORDER BY o.poll_id, o.idx`, []any{classID},
		func(scan func(...any) error) error {
			var id, text string
			if err := scan(&id, &text); err != nil {
				return err
			}
			if i, ok := index[id]; ok {
				out[i].Poll.Options = append(out[i].Poll.Options, text)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("store: %s: options: %w", what, err)
	}
	for i := range out {
		out[i].Counts = make([]int, len(out[i].Poll.Options))
	}
	// As in PollTally, one statement gives voters (index -1) and counts.
	err = s.eachRow(ctx,
		`SELECT a.poll_id, -1, COUNT(*) FROM poll_answers a JOIN polls p ON p.id = a.poll_id
		 WHERE p.class_id = $1 GROUP BY a.poll_id
		 UNION ALL
		 SELECT c.poll_id, c.option_idx, COUNT(*) FROM poll_answer_choices c JOIN polls p ON p.id = c.poll_id
		 WHERE p.class_id = $1 GROUP BY c.poll_id, c.option_idx`, []any{classID},
		func(scan func(...any) error) error {
			var (
				id     string
				idx, n int
			)
			if err := scan(&id, &idx, &n); err != nil {
				return err
			}
			i, ok := index[id]
			switch {
			case !ok:
			case idx == -1:
				out[i].Voters = n
			case idx >= 0 && idx < len(out[i].Counts):
				out[i].Counts[idx] = n
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("store: %s: tallies: %w", what, err)
	}
	return out, nil
}

// PollVoters returns the identities that answered the poll, sorted. An
// unknown poll has none.
func (s *Store) PollVoters(ctx context.Context, pollID string) ([]string, error) {
	out, err := s.column(ctx, `SELECT identity FROM poll_answers WHERE poll_id = $1 ORDER BY identity`, pollID)
	if err != nil {
		return nil, fmt.Errorf("store: voters of poll %s: %w", pollID, err)
	}
	return out, nil
}

// PollsAnswered returns the ids of the class's polls that identity
// answered.
func (s *Store) PollsAnswered(ctx context.Context, classID, identity string) ([]string, error) {
	out, err := s.column(ctx, `SELECT a.poll_id FROM poll_answers a JOIN polls p ON p.id = a.poll_id
		 WHERE p.class_id = $1 AND a.identity = $2 ORDER BY a.poll_id`, classID, identity)
	if err != nil {
		return nil, fmt.Errorf("store: polls of class %s answered by %s: %w", classID, identity, err)
	}
	return out, nil
}

// eachRow runs the query and calls row for each row it returns, with the
// row's Scan.
func (s *Store) eachRow(ctx context.Context, query string, args []any, row func(scan func(...any) error) error) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// column returns the one text column of the rows query selects.
func (s *Store) column(ctx context.Context, query string, args ...any) ([]string, error) {
	var out []string
	err := s.eachRow(ctx, query, args, func(scan func(...any) error) error {
		var v string
		if err := scan(&v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}
