//go:build linux

package integration

// The systemd user unit and the fstab line of docs/USER_GUIDE.md, run as
// systemd and mount(8) would run them (see docs_test.go for the guide's
// shell blocks).

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// unitDirectives parses a systemd unit: section -> key -> values.
func unitDirectives(text string) map[string]map[string][]string {
	units := map[string]map[string][]string{}
	section := ""
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			section = l[1 : len(l)-1]
			if units[section] == nil {
				units[section] = map[string][]string{}
			}
		default:
			k, v, _ := strings.Cut(l, "=")
			units[section][strings.TrimSpace(k)] = append(units[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return units
}

// unitCommand turns an Exec line into argv as systemd would for this unit:
// the "-" prefix dropped, %h replaced by home. Other specifiers, quotes and
// variables are not used by the unit, and fail the test.
func unitCommand(t testing.TB, line, home string) []string {
	t.Helper()
	line = strings.TrimPrefix(line, "-")
	line = strings.ReplaceAll(line, "%h", home)
	if strings.ContainsAny(line, `%"'$\`) {
		t.Fatalf("unit command %q: uses more than %%h; extend unitCommand", line)
	}
	return strings.Fields(line)
}

// systemdState describes whether a systemd user manager runs here.
func systemdState() string {
	var parts []string
	if out, err := exec.Command("pidof", "systemd").Output(); err == nil {
		parts = append(parts, "systemd pids "+strings.TrimSpace(string(out)))
	} else {
		parts = append(parts, "no systemd process (pidof systemd)")
	}
	if out, err := exec.Command("systemctl", "--user", "is-system-running").CombinedOutput(); err == nil {
		parts = append(parts, "systemctl --user: "+strings.TrimSpace(string(out)))
	} else {
		parts = append(parts, fmt.Sprintf("systemctl --user: %v %s", err, strings.TrimSpace(string(out))))
	}
	return strings.Join(parts, "; ")
}

// TestDocsSystemdUnit checks docs/systemd/n4ws.service: the guide shows it
// as it is, systemd-analyze verifies it (when installed), and its command
// lines do what systemd would have them do, run by hand with %h a temporary
// home. Starting it through systemd is not tested: the test machine runs no
// systemd (the state is logged).
func TestDocsSystemdUnit(t *testing.T) {
	unit, d := checkUnitDoc(t)
	t.Logf("systemd here: %s", systemdState())
	if t.Failed() {
		t.FailNow()
	}
	if fuseMissing != "" {
		t.Skip(fuseMissing)
	}
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	mkdirs(t, filepath.Join(home, ".local", "bin"))
	if err := os.Symlink(n4wsBin, filepath.Join(home, ".local", "bin", "n4ws")); err != nil {
		t.Fatal(err)
	}
	verifyUnit(t, tmp, unit)

	r := &unitRunner{t: t, d: d, home: home,
		env:   docEnv(map[string]string{"HOME": home, "N4WS_STORE": "", "XDG_DATA_HOME": "", "WS": ""}),
		store: filepath.Join(home, ".local", "share", "n4ws"),
		mnt:   filepath.Join(home, "workspace"),
	}
	cleanupDocMount(t, r.store, r.mnt)
	r.run("ExecStartPre")

	// Start, use, stop.
	cmd, out, exited := r.start()
	if names := lsNames(t, r.mnt); !slices.Equal(names, []string{"catalog", "exports", "library", "runs", "store.sqlite"}) {
		t.Errorf("ls %s: %v", r.mnt, names)
	}
	r.run("ExecStop")
	r.waitExit(exited, "after ExecStop")
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("after ExecStop the ExecStart process exited with %v, want 0 (systemd would count a failure)\n%s", cmd.ProcessState, out)
	}
	if isMounted(r.mnt) {
		t.Errorf("%s still mounted after ExecStop", r.mnt)
	}

	// Restart=on-failure after a crash: kill -9 leaves a dead mount point,
	// and ExecStart run again must mount over it.
	cmd, _, exited = r.start()
	writeFile(t, filepath.Join(r.mnt, "runs", "wheat", "0001_pls_a1b2c3", "notes.txt"), []byte("kept\n"))
	if err := signalDaemon(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.waitExit(exited, "after SIGKILL")
	cmd, out, exited = r.start()
	if got := readFile(t, filepath.Join(r.mnt, "runs", "wheat", "0001_pls_a1b2c3", "notes.txt")); got != "kept\n" {
		t.Errorf("after the restart, notes.txt = %q", got)
	}
	// systemd's own stop, when ExecStop did not end it: SIGTERM.
	if err := signalDaemon(cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r.waitExit(exited, "after SIGTERM")
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("after SIGTERM the ExecStart process exited with %v, want 0\n%s", cmd.ProcessState, out)
	}
	if isMounted(r.mnt) {
		t.Errorf("%s still mounted after SIGTERM", r.mnt)
	}
}

// checkUnitDoc checks that the guide shows the unit file as it is, once,
// and that the unit says what the guide promises; it returns the unit and
// its directives.
func checkUnitDoc(t *testing.T) (string, map[string]map[string][]string) {
	t.Helper()
	unit := readFile(t, filepath.Join(docsRoot(t), unitFile))
	shown := 0
	for _, b := range parseDoc(t, guideDoc) {
		if b.lang == "ini" {
			shown++
			if strings.TrimSpace(b.text) != strings.TrimSpace(unit) {
				t.Errorf("%v differs from %s", b, unitFile)
			}
		}
	}
	if shown != 1 {
		t.Errorf("%s shows the unit %d times, want once (an ```ini block)", guideDoc, shown)
	}
	d := unitDirectives(unit)
	want := map[string]map[string]string{
		"Service": {
			"ExecStart":    "%h/.local/bin/n4ws mount --foreground %h/workspace",
			"ExecStartPre": "%h/.local/bin/n4ws init",
			"ExecStop":     "-%h/.local/bin/n4ws umount %h/workspace",
			"Restart":      "on-failure",
		},
		"Install": {"WantedBy": "default.target"},
	}
	for sec, kv := range want {
		for k, v := range kv {
			if got := d[sec][k]; len(got) != 1 || got[0] != v {
				t.Errorf("%s: [%s] %s = %q, want %q", unitFile, sec, k, got, v)
			}
		}
	}
	return unit, d
}

// verifyUnit runs systemd-analyze, which checks the unit's syntax and that
// its programs exist: the unit's n4ws is pointed at the test's build.
func verifyUnit(t *testing.T, tmp, unit string) {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Logf("systemd-analyze is not installed: the unit is not verified")
		return
	}
	runtime := filepath.Join(tmp, "runtime")
	if err := os.Mkdir(runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	verified := filepath.Join(tmp, "n4ws.service")
	writeFile(t, verified, []byte(strings.ReplaceAll(unit, "%h/.local/bin/n4ws", n4wsBin)))
	cmd := exec.Command("systemd-analyze", "--user", "verify", verified)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+runtime)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze --user verify: %v\n%s", err, out)
	}
}

// unitRunner runs the unit's command lines by hand, as systemd would.
type unitRunner struct {
	t          *testing.T
	d          map[string]map[string][]string // the unit's directives
	home       string                         // %h
	env        []string
	store, mnt string
	probes     int // names looked up so far by start's readiness probe
}

func (r *unitRunner) argv(key string) []string {
	return unitCommand(r.t, r.d["Service"][key][0], r.home)
}

// run runs the Exec line key (ExecStartPre, ExecStop) to its end.
func (r *unitRunner) run(key string) {
	r.t.Helper()
	a := r.argv(key)
	if out, err := docExec("", r.env, "", a[0], a[1:]...); err != nil {
		r.t.Fatalf("%s %v: %v\n%s", key, a, err, out)
	}
}

// start runs ExecStart until the workspace is mounted; the returned
// channel is closed once the process has exited (cmd.ProcessState set).
func (r *unitRunner) start() (*exec.Cmd, *bytes.Buffer, chan struct{}) {
	t := r.t
	t.Helper()
	a := r.argv("ExecStart")
	cmd := exec.Command(a[0], a[1:]...)
	var out bytes.Buffer
	cmd.Env, cmd.Stdout, cmd.Stderr = r.env, &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// The last resort, for a test that failed half-way.
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	ready := waitFor(30*time.Second, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		// A dead mount left by kill -9 is still listed, and the kernel
		// may answer a stat there from its cache: a name never looked
		// up before reaches the mount process, and a live one answers
		// ENOENT (a dead one ENOTCONN).
		r.probes++
		_, err := os.Lstat(filepath.Join(r.mnt, fmt.Sprintf(".docs-probe-%d", r.probes)))
		pid, _ := readPID(r.store)
		return isMounted(r.mnt) && errors.Is(err, fs.ErrNotExist) && pid == cmd.Process.Pid
	})
	select {
	case <-exited:
		t.Fatalf("ExecStart %v exited before mounting: %v\n%s%s", a, cmd.ProcessState, out.String(), logTail(r.store))
	default:
	}
	if !ready {
		pid, _ := readPID(r.store)
		_, err := os.Lstat(filepath.Join(r.mnt, "runs"))
		t.Fatalf("ExecStart %v (pid %d): %s not mounted after 30 s: mounted %t, lock pid %d, stat: %v\n%s",
			a, cmd.Process.Pid, r.mnt, isMounted(r.mnt), pid, err, logTail(r.store))
	}
	return cmd, &out, exited
}

func (r *unitRunner) waitExit(exited chan struct{}, what string) {
	r.t.Helper()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		r.t.Fatalf("%s: the ExecStart process is still running after 30 s", what)
	}
}

// mountFuse3 finds the helper mount(8) runs for fuse.* types.
func mountFuse3() string {
	if p, err := exec.LookPath("mount.fuse3"); err == nil {
		return p
	}
	for _, p := range []string{"/sbin/mount.fuse3", "/usr/sbin/mount.fuse3"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// fstabDoc returns the guide's n4ws-fstab script and the fields of its
// fstab line, checked for the shape the guide describes.
func fstabDoc(t *testing.T) (string, []string) {
	t.Helper()
	var line, script string
	for _, b := range parseDoc(t, guideDoc) {
		if b.lang == "fstab" {
			if line != "" {
				t.Fatalf("%v: more than one fstab block", b)
			}
			line = strings.TrimSpace(b.text)
		}
		if b.isScript() && b.scriptName() == "n4ws-fstab" {
			script = b.text + "\n"
		}
	}
	if line == "" || script == "" {
		t.Fatalf("%s: want an ```fstab block and the n4ws-fstab script (found line %q, script %t)", guideDoc, line, script != "")
	}
	f := strings.Fields(line)
	if len(f) != 6 || f[2] != "fuse.n4ws-fstab" || !strings.HasPrefix(f[0], "/home/alice/") ||
		!strings.HasPrefix(f[1], "/home/alice/") || !slices.Contains(strings.Split(f[3], ","), "setuid=alice") {
		t.Fatalf("fstab line %q: want SOURCE MOUNTPOINT fuse.n4ws-fstab OPTIONS(setuid=alice) 0 0, under /home/alice", line)
	}
	if !strings.Contains(script, "/usr/local/bin/n4ws ") {
		t.Fatalf("the n4ws-fstab script does not run /usr/local/bin/n4ws:\n%s", script)
	}
	return script, f
}

// TestDocsFstab checks the guide's fstab line and its helper script: as root,
// it saves the helper (with /usr/local/bin replaced by a temporary folder
// holding the test's n4ws) and runs mount.fuse3 with the line's source,
// mount point, type and options (alice and /home/alice replaced by a
// throwaway user and its home), which is what mount(8) does for the line;
// the mount process must run as that user, not root. Editing /etc/fstab and
// the boot are not tested.
func TestDocsFstab(t *testing.T) {
	script, f := fstabDoc(t)
	if fuseMissing != "" {
		t.Skip(fuseMissing)
	}
	requireRoot(t, "mount.fuse3's setuid= option needs root")
	helper := mountFuse3()
	if helper == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("mount.fuse3 (package fuse3) is missing")
		}
		t.Skip("mount.fuse3 (package fuse3) is missing")
	}
	for _, tool := range []string{"useradd", "userdel", "su", "fusermount3"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s missing under CI (apt-get install passwd util-linux fuse3)", tool)
			}
			t.Skipf("%s not in PATH", tool)
		}
	}
	// alice is a throwaway user, so setuid= really drops from root to
	// someone else and the mount goes through fusermount3 as that user.
	openDevFuse(t)
	alice := fmt.Sprintf("n4wsfstab%d", rand.IntN(1_000_000))
	run(t, "", "useradd", "-m", "-s", "/bin/sh", alice)
	t.Cleanup(func() {
		if out, err := exe("", "userdel", "-r", alice); err != nil {
			t.Errorf("userdel -r %s: %v\n%s", alice, err, out)
		}
	})
	home := strings.TrimSpace(sh(t, "getent passwd "+alice+" | cut -d: -f6"))
	uid := strings.TrimSpace(run(t, "", "id", "-u", alice))
	nbin := copyExecutable(t, n4wsBin) // in a 0755 folder alice can reach
	bin := filepath.Dir(nbin)
	wrapper := filepath.Join(bin, "n4ws-fstab")
	writeFile(t, wrapper, []byte(strings.ReplaceAll(script, "/usr/local/bin/", bin+"/")))
	if err := os.Chmod(wrapper, 0o755); err != nil {
		t.Fatal(err)
	}
	asAlice := func(script string) (string, error) {
		return exe("", "su", "-s", "/bin/sh", alice, "-c", "GORACE=log_path="+home+"/race "+script)
	}
	expand := func(s string) string {
		s = strings.ReplaceAll(s, "/home/alice", home)
		return strings.ReplaceAll(s, "setuid=alice", "setuid="+alice)
	}
	store, mnt, opts := expand(f[0]), expand(f[1]), expand(f[3])
	// The guide's preparation, as alice: the store exists and so does the
	// mount point.
	if out, err := asAlice(fmt.Sprintf("%s --store %s init && mkdir -p %s", nbin, store, mnt)); err != nil {
		t.Fatalf("as %s: n4ws init, mkdir: %v\n%s", alice, err, out)
	}
	t.Cleanup(func() {
		pid, _ := readPID(store)
		cleanupUserMount(t, asAlice, nbin, store, mnt, pid, home)
	})
	// mount(8) runs: mount.fuse3 SOURCE MOUNTPOINT -o OPTIONS -t fuse.TYPE,
	// as root with a plain environment (as at boot).
	cmd := exec.Command(helper, store, mnt, "-o", opts, "-t", "fuse."+wrapper)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "GORACE=log_path=" + home + "/race"}
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s %s -o %s -t fuse.%s: %v\n%s%s", helper, store, mnt, opts, wrapper, err, out, logTail(store))
	}
	if !isMounted(mnt) {
		t.Fatalf("mount.fuse3 returned 0 but %s is not mounted", mnt)
	}
	ls, err := asAlice("ls " + mnt)
	if names := strings.Fields(ls); err != nil || !slices.Equal(names, []string{"catalog", "exports", "library", "runs", "store.sqlite"}) {
		t.Errorf("ls %s as %s: %v %v", mnt, alice, names, err)
	}
	pid, err := readPID(store)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	got := "?"
	if m := regexp.MustCompile(`(?m)^Uid:\s+(\d+)`).FindSubmatch(b); m != nil {
		got = string(m[1])
	}
	if got != uid {
		t.Errorf("the mount process runs as uid %s, want %s (setuid=%s)", got, uid, alice)
	}
	if o := mountOptions(mnt); !strings.Contains(o, "user_id="+uid) {
		t.Errorf("/proc/mounts options for %s: %q, want user_id=%s (mounted by %s through fusermount3)", mnt, o, uid, alice)
	}
	// The guide: n4ws umount, as alice, unmounts it.
	if out, err := asAlice(fmt.Sprintf("%s --store %s umount %s", nbin, store, mnt)); err != nil {
		t.Fatalf("n4ws umount as %s: %v\n%s", alice, err, out)
	}
	if !waitGone(pid, 2*time.Second) {
		t.Errorf("daemon %d still running after n4ws umount as %s", pid, alice)
	}
	if isMounted(mnt) {
		t.Errorf("%s still mounted after n4ws umount as %s", mnt, alice)
	}
}
