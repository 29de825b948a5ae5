package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the admin connection that creates databases

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
	"github.com/n4ws/n4ws/backing/pgindex"
	"github.com/n4ws/n4ws/backing/s3blobs"
)

// servers are the throwaway PostgreSQL and S3 of one test, shared by its
// subtests: a database and a key prefix each.
type servers struct {
	pg    *backingtest.Postgres
	s3    *backingtest.S3
	admin *sql.DB
	n     int
}

func startServers(t *testing.T) *servers {
	pg := backingtest.StartPostgres(t)
	s3 := backingtest.StartS3(t)
	admin, err := sql.Open("pgx", pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	// The team store finds its S3 credentials where a user keeps them.
	t.Setenv("AWS_ACCESS_KEY_ID", s3.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3.SecretKey)
	return &servers{pg: pg, s3: s3, admin: admin}
}

// description returns a new team store's description: a fresh database
// and a fresh prefix of the bucket.
func (sv *servers) description(t *testing.T) backing.Description {
	sv.n++
	name := fmt.Sprintf("store%d", sv.n)
	if _, err := sv.admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatal(err)
	}
	return backing.Description{Index: sv.pg.DatabaseDSN(name), Blobs: "s3://" + sv.s3.Bucket + "/" + name,
		S3Endpoint: "http://" + sv.s3.Endpoint}
}

// TestStoreOnEveryEngine runs one workload on the four combinations.
func TestStoreOnEveryEngine(t *testing.T) {
	sv := startServers(t)
	ctx := context.Background()
	combos := []struct {
		name string
		open func(t *testing.T) *backing.Store
	}{
		{"sqlite+local", func(t *testing.T) *backing.Store {
			dir := t.TempDir()
			if _, err := backing.Init(ctx, dir); err != nil {
				t.Fatal(err)
			}
			return open(t, dir)
		}},
		{"sqlite+s3", func(t *testing.T) *backing.Store {
			dir := t.TempDir()
			if _, err := backing.Init(ctx, dir); err != nil { // the skeleton, in SQLite
				t.Fatal(err)
			}
			idx, err := backing.OpenSQLiteIndex(filepath.Join(dir, "index.db"), false)
			if err != nil {
				t.Fatal(err)
			}
			return openWith(t, dir, idx, s3Blobs(t, sv.description(t), t.TempDir()))
		}},
		{"postgres+local", func(t *testing.T) *backing.Store {
			d := sv.description(t)
			idx, err := pgindex.Open(ctx, d.Index)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			s := openWith(t, dir, idx, backing.NewLocalBlobs(filepath.Join(dir, "blobs"), false))
			if err := s.EnsureSkeleton(ctx); err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"postgres+s3", func(t *testing.T) *backing.Store {
			dir := t.TempDir()
			if created, err := backing.InitTeam(ctx, dir, sv.description(t)); err != nil || !created {
				t.Fatalf("init team store: created %v, %v", created, err)
			}
			return open(t, dir)
		}},
		{"postgres+s3+writeback", func(t *testing.T) *backing.Store {
			dir := t.TempDir()
			if created, err := backing.InitTeam(ctx, dir, sv.description(t)); err != nil || !created {
				t.Fatalf("init team store: created %v, %v", created, err)
			}
			return openOpts(t, dir, backing.Options{Writeback: true})
		}},
	}
	for _, c := range combos {
		t.Run(c.name, func(t *testing.T) {
			s := c.open(t)
			workload(t, s)
			pickedListing(t, s)
		})
	}
}

// twoMachines makes two store folders of the servers' team store, as two
// machines sharing it would have.
func (sv *servers) twoMachines(t *testing.T) (d backing.Description, dirA, dirB string) {
	d = sv.description(t)
	dirA, dirB = t.TempDir(), t.TempDir()
	for _, dir := range []string{dirA, dirB} {
		if _, err := backing.InitTeam(context.Background(), dir, d); err != nil {
			t.Fatalf("init %s: %v", dir, err)
		}
	}
	return d, dirA, dirB
}

func open(t *testing.T, dir string) *backing.Store {
	return openOpts(t, dir, backing.Options{})
}

func openOpts(t *testing.T, dir string, opts backing.Options) *backing.Store {
	s, err := backing.Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openWith(t *testing.T, dir string, idx backing.IndexEngine, blobs backing.BlobStore) *backing.Store {
	os.MkdirAll(filepath.Join(dir, "spool"), 0o700)
	s, err := backing.OpenWith(context.Background(), dir, idx, blobs, backing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func s3Blobs(t *testing.T, d backing.Description, cacheDir string) backing.BlobStore {
	cfg, err := s3blobs.ConfigOf(d)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CacheDir = cacheDir
	b, err := s3blobs.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// workload drives a store through what the filesystem and the catalog do,
// checking what a user would see.
func workload(t *testing.T, s *backing.Store) {
	ctx := context.Background()
	small := []byte("y_true,y_pred\n1.0,1.1\n")
	large := bytes.Repeat([]byte("0123456789abcdef"), 16<<10) // 256 KiB: a blob of the blob store
	write := func(p string, data []byte) backing.Attr {
		t.Helper()
		a, err := s.WriteFile(ctx, p, bytes.NewReader(data), 0o644, time.Time{})
		if err != nil {
			t.Fatalf("write %s: %v", p, err)
		}
		return a
	}
	read := func(p string) []byte {
		t.Helper()
		a, err := s.ResolvePath(ctx, p)
		if err != nil {
			t.Fatalf("resolve %s: %v", p, err)
		}
		data, err := s.ReadBlob(ctx, a.Blob, a.Size)
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		return data
	}
	if _, err := s.MkdirAll(ctx, "runs/wheat/0001_pls_abc123", 0o755); err != nil {
		t.Fatal(err)
	}
	write("runs/wheat/0001_pls_abc123/predictions.csv", small)
	big := write("runs/wheat/0001_pls_abc123/model.pkl", large)
	write("runs/wheat/0001_pls_abc123/copy.pkl", large) // the same content: one blob
	if got := read("runs/wheat/0001_pls_abc123/model.pkl"); !bytes.Equal(got, large) {
		t.Fatalf("model.pkl reads %d bytes, not the %d written", len(got), len(large))
	}
	if got := read("runs/wheat/0001_pls_abc123/predictions.csv"); !bytes.Equal(got, small) {
		t.Fatalf("predictions.csv reads %q", got)
	}
	_, blob, err := s.OpenFile(ctx, big.Ino)
	if err != nil || blob == nil || blob.File() == nil {
		t.Fatalf("open model.pkl: blob %v, %v: want a local file (passthrough)", blob, err)
	}
	blob.Close()

	dir, _ := s.ResolvePath(ctx, "runs/wheat/0001_pls_abc123")
	if _, err := s.Rename(ctx, dir.Ino, "copy.pkl", dir.Ino, "renamed.pkl", 0); err != nil {
		t.Fatalf("rename: %v", err)
	}
	if _, err := s.Link(ctx, big.Ino, dir.Ino, "hardlink.pkl"); err != nil {
		t.Fatalf("link: %v", err)
	}
	if _, err := s.Symlink(ctx, "runs/wheat/latest", "0001_pls_abc123"); err != nil {
		t.Fatalf("symlink: %v", err)
	}
	if err := s.SetXattr(ctx, big.Ino, "user.note", []byte("best"), 0); err != nil {
		t.Fatalf("setxattr: %v", err)
	}
	if v, err := s.GetXattr(ctx, big.Ino, "user.note"); err != nil || string(v) != "best" {
		t.Fatalf("getxattr: %q, %v", v, err)
	}
	if _, err := s.Unlink(ctx, dir.Ino, "renamed.pkl"); err != nil {
		t.Fatalf("unlink: %v", err)
	}
	if _, err := s.Mknod(ctx, dir.Ino, "model.pkl", backing.NewNode{Mode: syscall.S_IFREG | 0o644}); !errors.Is(err, backing.ErrExists) {
		t.Fatalf("create over model.pkl: %v, want ErrExists", err)
	}
	// The create checks its folder and its name in the statements that
	// change them (UPDATE ... RETURNING, the entry's primary key): every
	// engine must report the same errors, and leave nothing behind.
	file := write("runs/wheat/0001_pls_abc123/same.csv", small) // small content stored twice: one inline row
	for _, c := range []struct {
		parent uint64
		want   error
	}{{file.Ino, backing.ErrNotDir}, {1 << 40, backing.ErrNotFound}, {dir.Ino, backing.ErrExists}} {
		if _, err := s.Mknod(ctx, c.parent, "same.csv", backing.NewNode{Mode: syscall.S_IFREG | 0o644}); !errors.Is(err, c.want) {
			t.Fatalf("create same.csv in %d: %v, want %v", c.parent, err, c.want)
		}
	}
	if _, err := s.Unlink(ctx, file.Ino, "x"); !errors.Is(err, backing.ErrNotDir) {
		t.Fatalf("unlink in a file: %v, want ErrNotDir", err)
	}
	if got := read("runs/wheat/0001_pls_abc123/same.csv"); !bytes.Equal(got, small) {
		t.Fatalf("same.csv reads %q", got)
	}
	ents, err := s.ReadDir(ctx, dir.Ino)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name)
	}
	if want := []string{"hardlink.pkl", "model.pkl", "predictions.csv", "same.csv"}; !slices.Equal(names, want) {
		t.Fatalf("readdir: %v, want %v", names, want)
	}

	extension(t, s)

	// A second pipeline folder goes to the trash and comes back.
	if _, err := s.MkdirAll(ctx, "runs/wheat/0002_rf_def456", 0o755); err != nil {
		t.Fatal(err)
	}
	write("runs/wheat/0002_rf_def456/predictions.csv", []byte("y_true,y_pred\n2,2\n"))
	item, err := s.Trash(ctx, "runs/wheat/0002_rf_def456")
	if err != nil {
		t.Fatalf("trash: %v", err)
	}
	if _, err := s.ResolvePath(ctx, "runs/wheat/0002_rf_def456"); !errors.Is(err, backing.ErrNotFound) {
		t.Fatalf("trashed folder still resolves: %v", err)
	}
	if _, err := s.RestoreTrash(ctx, item.ID, backing.RestoreOptions{}); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if got := read("runs/wheat/0002_rf_def456/predictions.csv"); string(got) != "y_true,y_pred\n2,2\n" {
		t.Fatalf("restored file reads %q", got)
	}

	rep, err := s.Fsck(ctx, backing.FsckOptions{})
	if err != nil || !rep.Clean() {
		t.Fatalf("fsck: %v, problems %v", err, rep.Problems)
	}
	if _, err := s.GC(ctx, backing.GCOptions{}); err != nil {
		t.Fatalf("gc: %v", err)
	}
	if got := read("runs/wheat/0001_pls_abc123/hardlink.pkl"); !bytes.Equal(got, large) {
		t.Fatal("hardlink.pkl lost its content to gc")
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Files < 3 || st.Blobs < 1 {
		t.Fatalf("stats: %+v", st)
	}
}

// extension creates a table in the catalog's (SQLite) dialect and uses it
// in a write transaction and through the read pool, ? placeholders and
// ON CONFLICT included, as the catalog does.
func extension(t *testing.T, s *backing.Store) {
	ctx := context.Background()
	ddl := `CREATE TABLE ext_scores (
	dataset TEXT NOT NULL, pid TEXT NOT NULL,
	value REAL NOT NULL, n INTEGER NOT NULL DEFAULT 0, raw BLOB,
	PRIMARY KEY (dataset, pid)
) WITHOUT ROWID;`
	if err := s.EnsureSchema(ctx, "ext", []string{ddl}); err != nil {
		t.Fatalf("ensure schema: %v", err)
	}
	if err := s.EnsureSchema(ctx, "ext", []string{ddl}); err != nil { // the second time: nothing to do
		t.Fatalf("ensure schema again: %v", err)
	}
	for _, v := range []float64{0.5, 0.25} {
		err := s.Update(ctx, func(tx *backing.Tx) error {
			_, err := tx.Exec(`INSERT INTO ext_scores (dataset, pid, value, n, raw) VALUES (?, ?, ?, 1, ?)
				ON CONFLICT (dataset, pid) DO UPDATE SET value = excluded.value, n = ext_scores.n + 1`,
				"wheat", "0001", v, []byte{1, 2})
			return err
		})
		if err != nil {
			t.Fatalf("upsert: %v", err)
		}
	}
	var value float64
	var n int
	err := s.Reader().QueryRowContext(ctx, `SELECT value, n FROM ext_scores WHERE dataset = ? AND pid = ?`, "wheat", "0001").Scan(&value, &n)
	if err != nil || value != 0.25 || n != 2 {
		t.Fatalf("read back: value %v n %d, %v", value, n, err)
	}
}

// A second machine's folder of the same team store sees what the first
// wrote, blobs included (read through its own cache).
func TestTeamStoreTwoFolders(t *testing.T) {
	sv := startServers(t)
	ctx := context.Background()
	d, dirA, dirB := sv.twoMachines(t)
	a, b := open(t, dirA), open(t, dirB)
	large := bytes.Repeat([]byte("n4ws"), 100<<10)
	if _, err := a.MkdirAll(ctx, "runs/corn", 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WriteFile(ctx, "runs/corn/big.bin", bytes.NewReader(large), 0o644, time.Time{}); err != nil {
		t.Fatal(err)
	}
	got, err := b.ResolvePath(ctx, "runs/corn/big.bin")
	if err != nil {
		t.Fatalf("the other folder does not see the file: %v", err)
	}
	data, err := b.ReadBlob(ctx, got.Blob, got.Size)
	if err != nil || !bytes.Equal(data, large) {
		t.Fatalf("read on the other folder: %d bytes, %v", len(data), err)
	}
	// Init again with the same description: nothing to do; with another: refused.
	if created, err := backing.InitTeam(ctx, dirA, d); err != nil || created {
		t.Fatalf("init again: created %v, %v", created, err)
	}
	other := d
	other.Blobs += "-other"
	if _, err := backing.InitTeam(ctx, dirA, other); !errors.Is(err, backing.ErrExists) {
		t.Fatalf("init with another description: %v, want ErrExists", err)
	}
}

// Bad descriptions and unreachable servers fail with a message naming
// the problem, and leave no store.yaml behind.
func TestTeamStoreBadDescriptions(t *testing.T) {
	sv := startServers(t)
	ctx := context.Background()
	good := sv.description(t)
	cases := []struct {
		name string
		edit func(d *backing.Description)
		want string
	}{
		{"password in URL", func(d *backing.Description) { d.Index = "postgres://u:secret@localhost/db" }, "PGPASSWORD"},
		{"unknown index", func(d *backing.Description) { d.Index = "mysql://localhost/db" }, "no engine for mysql://"},
		{"not a blobs URL", func(d *backing.Description) { d.Blobs = "bucket" }, "s3://bucket/prefix"},
		{"unknown blobs", func(d *backing.Description) { d.Blobs = "gs://bucket/x" }, "no engine for gs://"},
		{"bad endpoint", func(d *backing.Description) { d.S3Endpoint = "127.0.0.1:9" }, "s3 endpoint"},
		{"no database server", func(d *backing.Description) {
			d.Index = "postgres://nobody@/db?host=" + t.TempDir() + "&sslmode=disable"
		}, "open index"},
		{"no S3 server", func(d *backing.Description) { d.S3Endpoint = "http://127.0.0.1:9" }, "bucket"},
		{"no bucket", func(d *backing.Description) { d.Blobs = "s3://no-such-bucket/x" }, "no-such-bucket"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := good
			c.edit(&d)
			dir := t.TempDir()
			_, err := backing.InitTeam(ctx, dir, d)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("init: %v, want an error mentioning %q", err, c.want)
			}
			if _, err := os.Stat(filepath.Join(dir, backing.DescriptionFile)); err == nil {
				t.Fatal("a failed init left store.yaml")
			}
		})
	}
}

// gc of a team store leaves an object no row names alone while it is
// younger than BlobGrace: a writer on another machine uploads a blob
// before the transaction that references it.
func TestTeamGCGracePeriod(t *testing.T) {
	sv := startServers(t)
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := backing.InitTeam(ctx, dir, sv.description(t)); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir)
	data := bytes.Repeat([]byte("young"), 20<<10)
	digest := backing.Digest(sha256.Sum256(data))
	desc, err := backing.ReadDescription(dir)
	if err != nil {
		t.Fatal(err)
	}
	blobs := s3Blobs(t, desc, t.TempDir())
	if err := blobs.Put(ctx, digest, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GC(ctx, backing.GCOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := blobs.Stat(ctx, digest); err != nil {
		t.Fatalf("gc removed an unreferenced object uploaded a moment ago: %v", err)
	}
}
