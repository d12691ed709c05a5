package store

import (
	"context"
	"embed"
	"fmt"
	"hash/crc64"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Migrations are plain SQL files, one folder per dialect, embedded in the
// binary. They are run by pressly/goose: it takes an fs.FS and a *sql.DB we
// open ourselves, knows both dialects, and its Provider API keeps no
// global state. golang-migrate would also do, but its SQLite driver brings
// its own modernc.org/sqlite (or cgo) and it wants a driver per database
// rather than the *sql.DB we already have.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migrate applies the migrations not yet applied and returns how many it
// applied (0 when the schema is current).
func (s *Store) migrate(ctx context.Context) (int, error) {
	sub, err := fs.Sub(migrationFiles, "migrations/"+string(s.dialect))
	if err != nil {
		return 0, fmt.Errorf("store: migrations for %s: %w", s.dialect, err)
	}
	dialect := goose.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if s.dialect == Postgres {
		dialect = goose.DialectPostgres
		// Two servers starting at once must not both migrate. The lock is
		// per schema, so that instances (and tests) in different schemas
		// of one database do not wait on each other.
		var schema string
		if err := s.db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			return 0, fmt.Errorf("store: current schema: %w", err)
		}
		id := int64(crc64.Checksum([]byte("bayan-store-migrate:"+schema), crc64.MakeTable(crc64.ECMA)))
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(id), lock.WithLockTimeout(1, 300))
		if err != nil {
			return 0, fmt.Errorf("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, s.db, sub, opts...)
	if err != nil {
		return 0, fmt.Errorf("store: migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: migrate %s: %w", s.dialect, err)
	}
	return len(results), nil
}
