package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ClassState is where a class is in its life: scheduled, then live, then
// ended (a scheduled class may also end without going live: cancelled).
type ClassState string

const (
	ClassScheduled ClassState = "scheduled"
	ClassLive      ClassState = "live"
	ClassEnded     ClassState = "ended"
)

// Valid reports whether s is one of the known states.
func (s ClassState) Valid() bool {
	return s == ClassScheduled || s == ClassLive || s == ClassEnded
}

// Class is a scheduled lesson and who takes part in it.
type Class struct {
	ID    string // "CL_..." assigned by CreateClass
	Title string
	// Teachers and Assistants are identities; a class has at least one
	// teacher.
	Teachers   []string
	Assistants []string
	// Roster lists the students allowed in; empty means anyone with the
	// link may join as a student.
	Roster []string
	// StartsAt and EndsAt are the schedule.
	StartsAt, EndsAt time.Time
	State            ClassState
	// StartedAt and EndedAt are when the class actually went live and
	// ended; zero until then.
	StartedAt, EndedAt time.Time
	CreatedAt          time.Time
}

// Member reports the role identity has in the class, and false when the
// identity is not a teacher, an assistant or on the roster.
func (c *Class) Member(identity string) (Role, bool) {
	switch {
	case slices.Contains(c.Teachers, identity):
		return RoleTeacher, true
	case slices.Contains(c.Assistants, identity):
		return RoleAssistant, true
	case slices.Contains(c.Roster, identity):
		return RoleStudent, true
	}
	return "", false
}

// CreateClass stores a new class in state scheduled and returns it with its
// id and creation time. The title, a teacher and a schedule that ends after
// it starts are required (ErrInvalid otherwise); an identity may hold only
// one role in a class.
func (s *Store) CreateClass(ctx context.Context, c Class) (Class, error) {
	c.Title = strings.TrimSpace(c.Title)
	switch {
	case c.Title == "":
		return Class{}, fmt.Errorf("store: create class: %w: empty title", ErrInvalid)
	case len(c.Teachers) == 0:
		return Class{}, fmt.Errorf("store: create class: %w: no teacher", ErrInvalid)
	case c.StartsAt.IsZero() || !c.EndsAt.After(c.StartsAt):
		return Class{}, fmt.Errorf("store: create class: %w: schedule must end after it starts", ErrInvalid)
	}
	members, err := classMembers(c)
	if err != nil {
		return Class{}, fmt.Errorf("store: create class: %w", err)
	}
	c.ID = newID("CL_")
	c.State = ClassScheduled
	c.StartedAt, c.EndedAt = time.Time{}, time.Time{}
	c.CreatedAt = fromMS(toMS(s.now()))
	c.StartsAt, c.EndsAt = fromMS(toMS(c.StartsAt)), fromMS(toMS(c.EndsAt))

	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO classes (id, title, state, starts_at, ends_at, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6)`,
			c.ID, c.Title, c.State, toMS(c.StartsAt), toMS(c.EndsAt), toMS(c.CreatedAt)); err != nil {
			return err
		}
		for _, m := range members {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO class_members (class_id, identity, role) VALUES ($1, $2, $3)`,
				c.ID, m.identity, m.role); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Class{}, fmt.Errorf("store: create class: %w", err)
	}
	return c, nil
}

type member struct {
	identity string
	role     Role
}

// classMembers flattens the class's people, refusing empty identities and
// an identity listed twice.
func classMembers(c Class) ([]member, error) {
	var out []member
	seen := map[string]bool{}
	add := func(ids []string, role Role) error {
		for _, id := range ids {
			if id == "" {
				return fmt.Errorf("%w: empty %s identity", ErrInvalid, role)
			}
			if seen[id] {
				return fmt.Errorf("%w: %q listed twice", ErrInvalid, id)
			}
			seen[id] = true
			out = append(out, member{id, role})
		}
		return nil
	}
	if err := add(c.Teachers, RoleTeacher); err != nil {
		return nil, err
	}
	if err := add(c.Assistants, RoleAssistant); err != nil {
		return nil, err
	}
	if err := add(c.Roster, RoleStudent); err != nil {
		return nil, err
	}
	return out, nil
}

const classColumns = `id, title, state, starts_at, ends_at, started_at, ended_at, created_at`

// scanClass reads one row of classColumns.
func scanClass(row interface{ Scan(...any) error }) (Class, error) {
	var (
		c                     Class
		starts, ends, created int64
		started, ended        sql.NullInt64
	)
	if err := row.Scan(&c.ID, &c.Title, &c.State, &starts, &ends, &started, &ended, &created); err != nil {
		return Class{}, err
	}
	c.StartsAt, c.EndsAt, c.CreatedAt = fromMS(starts), fromMS(ends), fromMS(created)
	c.StartedAt, c.EndedAt = fromNullMS(started), fromNullMS(ended)
	return c, nil
}

// GetClass returns the class with its people, or ErrNotFound.
func (s *Store) GetClass(ctx context.Context, id string) (Class, error) {
	c, err := scanClass(s.db.QueryRowContext(ctx,
		`SELECT `+classColumns+` FROM classes WHERE id = $1`, id))
	if err != nil {
		return Class{}, notFoundOr(err, "get class "+id)
	}
	list := []Class{c}
	if err := s.loadMembers(ctx, list); err != nil {
		return Class{}, fmt.Errorf("store: get class %s: %w", id, err)
	}
	return list[0], nil
}

// ClassFilter narrows ListClasses; its zero value lists every class.
type ClassFilter struct {
	// States keeps classes in any of these states (all when empty).
	States []ClassState
	// From and To keep classes whose schedule overlaps [From, To); a zero
	// bound is open.
	From, To time.Time
	// Member keeps classes where this identity is a teacher, an assistant
	// or on the roster.
	Member string
	// Limit caps the number of classes returned (0: no cap).
	Limit int
}

// ListClasses returns the classes that pass f, earliest start first (ties
// by id), each with its people.
func (s *Store) ListClasses(ctx context.Context, f ClassFilter) ([]Class, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if len(f.States) > 0 {
		ph := make([]string, len(f.States))
		for i, st := range f.States {
			if !st.Valid() {
				return nil, fmt.Errorf("store: list classes: %w: state %q", ErrInvalid, st)
			}
			ph[i] = arg(string(st))
		}
		where = append(where, "state IN ("+strings.Join(ph, ", ")+")")
	}
	if !f.From.IsZero() {
		where = append(where, "ends_at > "+arg(toMS(f.From)))
	}
	if !f.To.IsZero() {
		where = append(where, "starts_at < "+arg(toMS(f.To)))
	}
	if f.Member != "" {
		where = append(where, "id IN (SELECT class_id FROM class_members WHERE identity = "+arg(f.Member)+")")
	}
	q := `SELECT ` + classColumns + ` FROM classes`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY starts_at, id"
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list classes: %w", err)
	}
	defer rows.Close()
	var out []Class
	for rows.Next() {
		c, err := scanClass(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list classes: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list classes: %w", err)
	}
	if err := s.loadMembers(ctx, out); err != nil {
		return nil, fmt.Errorf("store: list classes: %w", err)
	}
	return out, nil
}

// loadMembers fills in the people of the given classes, each list sorted
// by identity (the order given at creation is not kept).
func (s *Store) loadMembers(ctx context.Context, classes []Class) error {
	if len(classes) == 0 {
		return nil
	}
	index := make(map[string]int, len(classes))
	args := make([]any, len(classes))
	ph := make([]string, len(classes))
	for i, c := range classes {
		index[c.ID] = i
		args[i] = c.ID
		ph[i] = fmt.Sprintf("$%d", i+1)
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT class_id, identity, role FROM class_members
		 WHERE class_id IN (`+strings.Join(ph, ", ")+`) ORDER BY class_id, identity`, args...)
	if err != nil {
		return fmt.Errorf("members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var classID, identity string
		var role Role
		if err := rows.Scan(&classID, &identity, &role); err != nil {
			return fmt.Errorf("members: %w", err)
		}
		c := &classes[index[classID]]
		switch role {
		case RoleTeacher:
			c.Teachers = append(c.Teachers, identity)
		case RoleAssistant:
			c.Assistants = append(c.Assistants, identity)
		case RoleStudent:
			c.Roster = append(c.Roster, identity)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("members: %w", err)
	}
	return nil
}

// UpdateClassState moves the class to state at time at and returns the
// class as stored. Allowed moves: scheduled→live (StartedAt = at),
// scheduled→ended (cancelled) and live→ended (EndedAt = at). Asking for the
// state the class is already in changes nothing and succeeds, so a retried
// request is harmless; any other move is ErrConflict. Unknown class:
// ErrNotFound.
func (s *Store) UpdateClassState(ctx context.Context, id string, to ClassState, at time.Time) (Class, error) {
	what := fmt.Sprintf("set class %s %s", id, to)
	var q string
	switch to {
	case ClassLive:
		q = `UPDATE classes SET state = 'live', started_at = $2 WHERE id = $1 AND state = 'scheduled'`
	case ClassEnded:
		q = `UPDATE classes SET state = 'ended', ended_at = $2 WHERE id = $1 AND state IN ('scheduled', 'live')`
	case ClassScheduled:
		q = "" // nothing moves back to scheduled
	default:
		return Class{}, fmt.Errorf("store: %s: %w: unknown state", what, ErrInvalid)
	}
	if q != "" {
		res, err := s.db.ExecContext(ctx, q, id, toMS(at))
		if err != nil {
			return Class{}, fmt.Errorf("store: %s: %w", what, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return Class{}, fmt.Errorf("store: %s: %w", what, err)
		}
		if n == 1 {
			return s.GetClass(ctx, id)
		}
	}
	// Nothing moved: the class is missing, already there, or cannot move.
	c, err := s.GetClass(ctx, id)
	if err != nil {
		return Class{}, err
	}
	if c.State == to {
		return c, nil
	}
	return Class{}, fmt.Errorf("store: %s: %w: class is %s", what, ErrConflict, c.State)
}
