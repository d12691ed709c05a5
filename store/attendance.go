package store

import (
	"context"
	"fmt"
	"time"
)

// AttendanceKind says whether a participant came or went.
type AttendanceKind string

const (
	Join  AttendanceKind = "join"
	Leave AttendanceKind = "leave"
)

// AttendanceEvent is one step of a participant's timeline in a class.
type AttendanceEvent struct {
	ID       int64 // assigned by the store; later records have larger ids
	ClassID  string
	Identity string
	Role     Role
	Kind     AttendanceKind
	At       time.Time
}

// RecordAttendance stores that identity, with role, joined or left the
// class at time at, and returns the stored event. The class must exist
// (ErrNotFound); role and kind must be known (ErrInvalid). Events are
// stored as reported, without checking that joins and leaves alternate:
// a participant may be connected twice, and a server crash loses leaves.
func (s *Store) RecordAttendance(ctx context.Context, classID, identity string, role Role, kind AttendanceKind, at time.Time) (AttendanceEvent, error) {
	what := fmt.Sprintf("record %s of %s in class %s", kind, identity, classID)
	switch {
	case identity == "":
		return AttendanceEvent{}, fmt.Errorf("store: %s: %w: empty identity", what, ErrInvalid)
	case !role.Valid():
		return AttendanceEvent{}, fmt.Errorf("store: %s: %w: role %q", what, ErrInvalid, role)
	case kind != Join && kind != Leave:
		return AttendanceEvent{}, fmt.Errorf("store: %s: %w: kind %q", what, ErrInvalid, kind)
	}
	e := AttendanceEvent{ClassID: classID, Identity: identity, Role: role, Kind: kind, At: fromMS(toMS(at))}
	err := s.db.QueryRowContext(ctx,
		`INSERT INTO attendance_events (class_id, identity, role, kind, at)
		 SELECT id, $2, $3, $4, $5 FROM classes WHERE id = $1
		 RETURNING id`,
		classID, identity, role, kind, toMS(e.At)).Scan(&e.ID)
	if err != nil {
		return AttendanceEvent{}, notFoundOr(err, what)
	}
	return e, nil
}

// AttendanceEvents returns the class's attendance timeline, ordered by
// time and, for equal times, by the order recorded. An unknown class has
// an empty timeline.
func (s *Store) AttendanceEvents(ctx context.Context, classID string) ([]AttendanceEvent, error) {
	what := "attendance of class " + classID
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, class_id, identity, role, kind, at FROM attendance_events
		 WHERE class_id = $1 ORDER BY at, id`, classID)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var out []AttendanceEvent
	for rows.Next() {
		var e AttendanceEvent
		var at int64
		if err := rows.Scan(&e.ID, &e.ClassID, &e.Identity, &e.Role, &e.Kind, &at); err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}
