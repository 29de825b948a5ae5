package indextest

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
	"github.com/n4ws/n4ws/backing/pgindex"
)

func TestSQLiteIndex(t *testing.T) {
	Run(t, func(t *testing.T) backing.IndexEngine {
		x, err := backing.OpenSQLiteIndex(filepath.Join(t.TempDir(), "index.db"), false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		return x
	})
}

// TestPostgresIndex runs the suite on one throwaway cluster, a fresh
// database per subtest.
func TestPostgresIndex(t *testing.T) {
	pg := backingtest.StartPostgres(t)
	admin, err := sql.Open("pgx", pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	n := 0
	Run(t, func(t *testing.T) backing.IndexEngine {
		n++
		name := fmt.Sprintf("t%d", n)
		if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
			t.Fatal(err)
		}
		x, err := pgindex.Open(context.Background(), pg.DatabaseDSN(name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		return x
	})
}
