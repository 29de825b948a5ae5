package backingtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Real servers for the team-store engines: a throwaway PostgreSQL cluster
// and a versitygw S3 gateway, each started in a temporary folder and
// stopped (by its PID) when the test ends. No mocks: the engines are
// tested against the servers a lab would run.

// Postgres is a running throwaway PostgreSQL cluster.
type Postgres struct {
	DSN    string // a pgx/libpq connection URL for the "postgres" database as its superuser
	Socket string // the folder holding its unix socket
	User   string // its superuser (trust authentication on the socket)
	Dir    string // its data folder

	pgctl string
	su    serverUser
}

// S3 is a running S3 gateway with one empty bucket.
type S3 struct {
	Endpoint  string // host:port, plain HTTP on loopback
	AccessKey string
	SecretKey string
	Bucket    string
	Dir       string // the posix backend's root: Dir/Bucket holds the objects

	bin  string
	stop func() // nil when not running
}

// Fixed test credentials of the S3 gateway (loopback only, throwaway data).
const (
	TestS3AccessKey = "n4wstestaccess"
	TestS3SecretKey = "n4wstestsecretkey"
	TestS3Bucket    = "n4ws-test"
)

// missingServer skips the test, or fails it under CI where every server
// the tests need must be installed (.ci/run installs them).
func missingServer(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found (CI=true: a missing server is a failure; .ci/run installs it)", what)
	}
	t.Skipf("%s not found; install it to run this test", what)
}

// findBinary looks for name on PATH, then in the given folders (globs).
func findBinary(name string, dirs ...string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, pattern := range dirs {
		matches, _ := filepath.Glob(pattern)
		sort.Sort(sort.Reverse(sort.StringSlice(matches))) // newest PostgreSQL first
		for _, dir := range matches {
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return p
			}
		}
	}
	return ""
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// serverUser is who runs a server: the current user, or nobody when the
// tests run as root (PostgreSQL refuses to run as root).
type serverUser struct {
	name     string
	uid, gid int
	cred     *syscall.Credential // nil: run as the current user
}

func currentServerUser(t testing.TB) serverUser {
	t.Helper()
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			t.Fatalf("current user: %v", err)
		}
		return serverUser{name: u.Username, uid: os.Geteuid(), gid: os.Getegid()}
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("tests run as root and need the user nobody to run PostgreSQL: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return serverUser{name: "nobody", uid: uid, gid: gid,
		cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
}

// serverDir makes a private folder owned by the server's user. It is not
// below t.TempDir(), whose 0700 parents another user cannot cross.
func serverDir(t testing.TB, su serverUser, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatalf("server folder: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, su.uid, su.gid); err != nil {
		t.Fatalf("server folder: %v", err)
	}
	return dir
}

// run runs a server tool as su, failing the test with its output.
func (su serverUser) run(t testing.TB, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: su.cred}
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
}

// stopPID asks process pid to stop with sig and waits until it is gone,
// killing it after the deadline. The process need not be our child
// (pg_ctl starts the postmaster detached), so it polls with signal 0.
func stopPID(t testing.TB, pid int, sig syscall.Signal, what string) {
	t.Helper()
	if err := syscall.Kill(pid, sig); err != nil {
		return // gone already
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("%s (pid %d) did not stop within 30s; killing it", what, pid)
	syscall.Kill(pid, syscall.SIGKILL)
}

// readPIDFile reads the first line of a pid file such as postmaster.pid.
func readPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return 0, fmt.Errorf("pid file %s: %w", path, err)
	}
	return pid, nil
}
