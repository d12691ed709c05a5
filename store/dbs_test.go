package store

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPostgresURL is the CI machine's PostgreSQL; BAYAN_TEST_POSTGRES
// overrides it.
const testPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// testDB is one database the store tests run against.
type testDB struct {
	name string
	// dsn returns the DSN of a fresh, empty database (a new SQLite file, a
	// new PostgreSQL schema), dropped when the test ends.
	dsn func(t *testing.T) string
}

var testDBs = []testDB{
	{"sqlite", func(t *testing.T) string {
		return filepath.Join(t.TempDir(), "data", DefaultFile)
	}},
	{"postgres", freshPostgresSchema},
}

// forEachDB runs fn as a subtest against each database, with a store
// opened on an empty database of its own.
func forEachDB(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Helper()
	for _, db := range testDBs {
		t.Run(db.name, func(t *testing.T) {
			s := openTest(t, db.dsn(t))
			fn(t, s)
		})
	}
}

// openTest opens a store on dsn, closed when the test ends.
func openTest(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(testContext(t), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testContext is cancelled when the test ends, or after a minute.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// freshPostgresSchema creates a schema of its own for the test and returns
// a DSN whose search_path points there; the schema is dropped at the end.
// No PostgreSQL: the test is skipped, or fails when CI is set.
func freshPostgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("BAYAN_TEST_POSTGRES")
	if base == "" {
		base = testPostgresURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err == nil {
		err = admin.PingContext(ctx)
	}
	if err != nil {
		msg := "needs PostgreSQL at " + redact(base) + " (set BAYAN_TEST_POSTGRES to another URL): " + err.Error()
		if admin != nil {
			admin.Close()
		}
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	schema := "t_" + strings.ToLower(newID(""))
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", redact(base), err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
