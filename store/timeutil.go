package store

import (
	"database/sql"
	"time"
)

// toMS is how a time is stored: UTC Unix milliseconds.
func toMS(t time.Time) int64 { return t.UTC().UnixMilli() }

// fromMS turns a stored time back into a UTC time.Time.
func fromMS(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// nullMS stores the zero time as NULL (e.g. a class not started yet).
func nullMS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: toMS(t), Valid: true}
}

// fromNullMS turns NULL back into the zero time.
func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}
