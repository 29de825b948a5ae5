//go:build linux

// Package integration holds black-box tests: they build cmd/n4ws, mount a real
// store as a subprocess and drive the mount with ordinary tools (ls, cp, tar,
// rsync, dd, python3, ...), checking what a user would check.
package integration

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var (
	// n4wsBin and crashWriterBin are built once by TestMain.
	n4wsBin        string
	crashWriterBin string
	parquetwBin    string // the nirs4all stand-in's Parquet writer
	// tmpRoot holds every t.TempDir of this run (TestMain points TMPDIR at it),
	// so that a leftover mount of ours is easy to find in /proc/mounts.
	tmpRoot string
	// raceDir receives the race reports of every n4ws process (GORACE log_path).
	raceDir string
	// fuseMissing is non-empty when tests must skip (no /dev/fuse, CI != true).
	fuseMissing string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "FAIL: /dev/fuse is required under CI: %v\n", err)
			return 1
		}
		fuseMissing = fmt.Sprintf("/dev/fuse missing (%v); set CI=true to make this a failure", err)
		return m.Run()
	}
	var err error
	tmpRoot, err = os.MkdirTemp("", "n4ws-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Readable by everyone so that nonroot_test's user can reach its files if needed.
	if err := os.Chmod(tmpRoot, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmpRoot)
	if err := buildBinaries(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: build:", err)
		return 1
	}
	raceDir = filepath.Join(tmpRoot, "race")
	if err := os.Mkdir(raceDir, 0o777); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Children (and the daemons they start) inherit these; this process
	// already read its own GORACE at start-up.
	os.Setenv("GORACE", "log_path="+filepath.Join(raceDir, "n4ws"))
	os.Setenv("TMPDIR", tmpRoot)
	os.Setenv("LC_ALL", "C") // error messages of coreutils in English

	code := m.Run()
	if leftovers := mountsUnder(tmpRoot); len(leftovers) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: mounts left behind: %v\n", leftovers)
		for _, mnt := range leftovers {
			exec.Command("umount", "-l", mnt).Run()
		}
		code = 1
	}
	if reports, _ := filepath.Glob(filepath.Join(raceDir, "n4ws.*")); len(reports) > 0 {
		for _, r := range reports {
			b, _ := os.ReadFile(r)
			fmt.Fprintf(os.Stderr, "FAIL: race report %s:\n%s\n", r, b)
		}
		code = 1
	}
	return code
}

// buildBinaries builds cmd/n4ws with -race and the crash writer helper.
func buildBinaries() error {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	binDir := filepath.Join(tmpRoot, "bin")
	if err := os.Mkdir(binDir, 0o755); err != nil {
		return err
	}
	n4wsBin = filepath.Join(binDir, "n4ws")
	crashWriterBin = filepath.Join(binDir, "crashwriter")
	parquetwBin = filepath.Join(binDir, "parquetw")
	builds := [][]string{
		{"build", "-race", "-o", n4wsBin, "./cmd/n4ws"},
		{"build", "-o", crashWriterBin, "./integration/testdata/crashwriter"},
		{"build", "-o", parquetwBin, "./integration/testdata/nirs4all_standin/parquetw"},
	}
	for _, args := range builds {
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// mountsUnder lists mount points in /proc/mounts below dir.
func mountsUnder(dir string) []string {
	var found []string
	for _, mnt := range procMounts() {
		if mnt == dir || strings.HasPrefix(mnt, dir+"/") {
			found = append(found, mnt)
		}
	}
	return found
}

// procMounts returns the mount points listed in /proc/mounts, unescaped.
func procMounts() []string {
	f, err := os.Open("/proc/mounts")
	if err != nil {
		return nil
	}
	defer f.Close()
	var mnts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 {
			mnts = append(mnts, unescapeMount(fields[1]))
		}
	}
	return mnts
}

// unescapeMount undoes the octal escapes (\040 for space ...) of /proc/mounts.
func unescapeMount(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
