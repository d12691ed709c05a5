package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// Dialect names the database behind a Store.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DefaultFile is the SQLite file's name inside the server's data folder.
const DefaultFile = "bayan.db"

// Store is the classroom's durable data. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	now     func() time.Time // the server's clock, for timestamps it assigns
}

// Open connects to the database named by dsn and brings its schema up to
// date:
//   - "" opens DefaultFile in the working directory (SQLite);
//   - a file path or "sqlite://path" opens that SQLite file, creating it
//     and its folder if needed;
//   - "postgres://..." or "postgresql://..." connects to PostgreSQL; the
//     URL may carry any libpq parameter (sslmode, search_path...).
//
// The caller closes the Store.
func Open(ctx context.Context, dsn string) (*Store, error) {
	driver, source, dialect, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dialect, err)
	}
	if dialect == SQLite {
		// Writers queue on SQLite's single write lock (busy_timeout), so a
		// large pool only adds waiting connections.
		db.SetMaxOpenConns(4)
	}
	s := &Store{db: db, dialect: dialect, now: time.Now}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", dialect, err)
	}
	if _, err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Dialect says which database the Store uses.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close releases the database. Writes already acknowledged are durable
// whether or not Close is called.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// parseDSN picks the driver for dsn and the data source to hand it.
func parseDSN(dsn string) (driver, source string, dialect Dialect, err error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "pgx", dsn, Postgres, nil
	case strings.Contains(dsn, "://") && !strings.HasPrefix(dsn, "sqlite://"):
		return "", "", "", fmt.Errorf("store: %w: unsupported database URL scheme in %q", ErrInvalid, redact(dsn))
	}
	path := strings.TrimPrefix(dsn, "sqlite://")
	if path == "" {
		path = DefaultFile
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return "", "", "", fmt.Errorf("store: create data folder: %w", err)
		}
	}
	return "sqlite", sqliteSource(path), SQLite, nil
}

// sqliteSource is the modernc.org/sqlite data source for the file at path.
// The pragmas run on every new connection:
//   - journal_mode(WAL): readers do not block the writer;
//   - synchronous(FULL): a commit returns only after the WAL is fsynced,
//     so nothing acknowledged is lost to a kill or a power cut;
//   - busy_timeout: a writer waits for the write lock instead of failing;
//   - foreign_keys: SQLite leaves them off unless asked.
//
// _txlock=immediate takes the write lock when a transaction begins, so two
// transactions that read then write cannot deadlock on the upgrade.
func sqliteSource(path string) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// redact drops the password from a URL for error messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}

// notFoundOr maps sql.ErrNoRows to ErrNotFound, wrapping with what failed.
func notFoundOr(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// noRows maps sql.ErrNoRows to ErrNotFound and leaves other errors be.
func noRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
