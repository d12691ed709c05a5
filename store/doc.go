// Package store keeps the classroom's durable data: classes and their
// schedule, chat messages, attendance events and polls.
//
// One Store works over SQLite (the default: a single file, pure Go via
// modernc.org/sqlite, no cgo) or PostgreSQL (when the DSN is a
// postgres:// URL, via github.com/jackc/pgx/v5). Both go through
// database/sql with the same SQL: queries use $1-style placeholders,
// which modernc.org/sqlite binds by ordinal just as PostgreSQL does, and
// constructs both dialects share (RETURNING, ON CONFLICT DO NOTHING).
// Schema differences live in the per-dialect migrations.
//
// Times are stored as UTC Unix milliseconds (BIGINT) in both dialects, so
// scanning and comparing them is identical everywhere; they come back as
// time.Time in UTC with millisecond precision.
//
// A method that returns nil has committed its write: on SQLite the
// database runs in WAL mode with synchronous=FULL, so an acknowledged
// write survives the process being killed (and, as far as the disk's
// fsync holds, a power cut).
package store
