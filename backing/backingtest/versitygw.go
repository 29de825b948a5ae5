package backingtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// StartS3 starts versitygw, an S3 gateway, with its posix backend in a
// temporary folder, on a free loopback port, with the fixed test
// credentials and one empty bucket, TestS3Bucket. The gateway is stopped
// by its PID when the test ends. versitygw comes from
// `go install github.com/versity/versitygw/cmd/versitygw@v1.8.0` (.ci/run
// does it): it is looked for on PATH, then in GOBIN and GOPATH/bin.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	bin := findBinary("versitygw", goBinDirs()...)
	if bin == "" {
		missingServer(t, "versitygw (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)")
	}
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, TestS3Bucket), 0o700); err != nil {
		t.Fatalf("s3 bucket folder: %v", err)
	}
	s3 := &S3{AccessKey: TestS3AccessKey, SecretKey: TestS3SecretKey, Bucket: TestS3Bucket, Dir: root, bin: bin}
	t.Cleanup(s3.Stop)
	var lastErr error
	for range 3 { // the free port may be taken between the probe and the start
		s3.Endpoint = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		if lastErr = startVersitygw(t, bin, s3); lastErr == nil {
			return s3
		}
	}
	t.Fatalf("start versitygw: %v", lastErr)
	return nil
}

// Stop stops the gateway (an outage, for failure tests); the objects stay.
// Stopping a stopped gateway does nothing.
func (s3 *S3) Stop() {
	if s3.stop != nil {
		s3.stop()
		s3.stop = nil
	}
}

// Restart starts the stopped gateway again on the same endpoint, with the
// same objects.
func (s3 *S3) Restart(t testing.TB) {
	t.Helper()
	if err := startVersitygw(t, s3.bin, s3); err != nil {
		t.Fatalf("restart versitygw: %v", err)
	}
}

func startVersitygw(t testing.TB, bin string, s3 *S3) error {
	t.Helper()
	logPath := filepath.Join(s3.Dir, "..", fmt.Sprintf("versitygw-%s.log", strings.ReplaceAll(s3.Endpoint, ":", "-")))
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--access", s3.AccessKey, "--secret", s3.SecretKey,
		"--port", s3.Endpoint, "posix", s3.Dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Errorf("versitygw (pid %d) did not stop within 30s; killing it", cmd.Process.Pid)
			syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			out, _ := os.ReadFile(logPath)
			return fmt.Errorf("versitygw exited: %v\n%s", err, out)
		default:
		}
		if c, err := net.DialTimeout("tcp", s3.Endpoint, time.Second); err == nil {
			c.Close()
			s3.stop = stop
			t.Logf("versitygw started in %v on %s", time.Since(start).Round(time.Millisecond), s3.Endpoint)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	return fmt.Errorf("versitygw did not listen on %s within 30s", s3.Endpoint)
}

// goBinDirs are where `go install` puts binaries.
func goBinDirs() []string {
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) == 2 {
			if lines[0] != "" {
				dirs = append(dirs, lines[0])
			}
			for _, p := range filepath.SplitList(lines[1]) {
				dirs = append(dirs, filepath.Join(p, "bin"))
			}
		}
	}
	return append(dirs, filepath.Join(os.Getenv("HOME"), "go", "bin"))
}
