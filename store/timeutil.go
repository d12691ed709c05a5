package store

import (
	"database/sql"
	"time"
)

// toMS is how a time is stored: UTC Unix milliseconds.
func toMS(t time.Time) int64 { return t.UTC().UnixMilli() }

// fromMS turns a stored time back into a UTC time.Time.
func fromMS(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// fromNullMS turns NULL back into the zero time.
func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}
