package backingtest

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestStartPostgres checks that the throwaway cluster takes SQL over its
// socket, and survives a table round trip.
func TestStartPostgres(t *testing.T) {
	pg := StartPostgres(t)
	db, err := sql.Open("pgx", pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (k text PRIMARY KEY, v bigint)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO t VALUES ($1, $2)`, "a", 42); err != nil {
		t.Fatal(err)
	}
	var v int64
	if err := db.QueryRowContext(ctx, `SELECT v FROM t WHERE k = $1`, "a").Scan(&v); err != nil || v != 42 {
		t.Fatalf("select: %d, %v; want 42", v, err)
	}
}

// TestStartS3 checks that the gateway takes the test credentials and
// round-trips an object in the test bucket.
func TestStartS3(t *testing.T) {
	s3 := StartS3(t)
	c, err := minio.New(s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	body := []byte("hello, bucket")
	if _, err := c.PutObject(ctx, s3.Bucket, "a/b", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put: %v", err)
	}
	o, err := c.GetObject(ctx, s3.Bucket, "a/b", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	got, err := io.ReadAll(o)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("get: %q, %v; want %q", got, err, body)
	}
}

// TestPostgresRestart checks Stop and Restart: a stopped cluster refuses
// connections, and after a restart the data is still there.
func TestPostgresRestart(t *testing.T) {
	pg := StartPostgres(t)
	db, err := sql.Open("pgx", pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (v int); INSERT INTO t VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	pg.Stop(t)
	if err := db.Ping(); err == nil {
		t.Fatal("ping of a stopped cluster succeeded")
	}
	pg.Restart(t)
	var v int
	if err := db.QueryRow(`SELECT v FROM t`).Scan(&v); err != nil || v != 7 {
		t.Fatalf("after restart: %d, %v; want 7", v, err)
	}
}
