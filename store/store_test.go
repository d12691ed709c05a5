package store

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestOpenDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn     string
		dialect Dialect
		wantErr error
	}{
		{"", SQLite, nil},
		{"some/dir/x.db", SQLite, nil},
		{"sqlite://some/dir/x.db", SQLite, nil},
		{"postgres://u@h/db", Postgres, nil},
		{"postgresql://u@h/db", Postgres, nil},
		{"mysql://u:secret@h/db", "", ErrInvalid},
	} {
		_, _, d, err := parseDSN(filepathIn(t, tc.dsn))
		if !errors.Is(err, tc.wantErr) || d != tc.dialect {
			t.Errorf("parseDSN(%q) = %q, %v; want %q, %v", tc.dsn, d, err, tc.dialect, tc.wantErr)
		}
	}
}

// filepathIn moves a relative SQLite path into a temporary folder, so that
// parseDSN's MkdirAll does not litter the package folder.
func filepathIn(t *testing.T, dsn string) string {
	switch {
	case dsn == "":
		t.Chdir(t.TempDir())
		return dsn
	case len(dsn) > 9 && dsn[:9] == "sqlite://":
		return "sqlite://" + filepath.Join(t.TempDir(), dsn[9:])
	case filepath.Ext(dsn) == ".db":
		return filepath.Join(t.TempDir(), dsn)
	}
	return dsn
}

// Opening a store whose schema is current applies nothing and keeps the
// data.
func TestMigrationsTwiceNoop(t *testing.T) {
	for _, db := range testDBs {
		t.Run(db.name, func(t *testing.T) {
			ctx := testContext(t)
			dsn := db.dsn(t)
			s := openTest(t, dsn)
			c := mustClass(t, s, "Algebra")
			if n, err := s.migrate(ctx); err != nil || n != 0 {
				t.Fatalf("second migrate: applied %d, %v; want 0, nil", n, err)
			}
			s2 := openTest(t, dsn) // a second Open migrates again
			if _, err := s2.GetClass(ctx, c.ID); err != nil {
				t.Fatalf("class after reopening: %v", err)
			}
			if s.Dialect() != Dialect(db.name) {
				t.Errorf("Dialect() = %q, want %q", s.Dialect(), db.name)
			}
		})
	}
}
