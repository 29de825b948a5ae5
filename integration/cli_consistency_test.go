//go:build linux

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIThenMountConsistent: a CLI command that changes the store returns
// only once the running mount shows the change, so a script's
// `n4ws … && test …` never sees the old state (issue 9 item 4). The mount
// polls its change log every 300 ms, so without the wait these loops miss.
func TestCLIThenMountConsistent(t *testing.T) {
	store, from := demoStore(t)
	ds := filepath.Base(filepath.Dir(from))
	mnt := mountStore(t, store)
	const rounds = 50

	// 50 pipeline folders, copied through the mount (so the kernel knows them).
	var copies strings.Builder
	for i := 0; i < rounds; i++ {
		fmt.Fprintf(&copies, "cp -r %s/%s %s/%s/%04d_copy_%02d\n", mnt, from, mnt, "runs/"+ds, 100+i, i)
	}
	sh(t, "set -e\n"+copies.String())

	// Each round looks the folder up first (the kernel caches it for 10 s),
	// then deletes it with the CLI and checks at once: no entry, no listing.
	script := fmt.Sprintf(`set -u
misses=0
for i in $(seq 0 %d); do
  p=$(printf '%%04d_copy_%%02d' $((100 + i)) $i)
  test -e "$DIR/$p" || { echo "round $i: $p missing before delete"; exit 2; }
  ls "$DIR" >/dev/null
  "$N4WS" --store "$STORE" runs delete "%s/$p" --confirm >/dev/null || exit 3
  if test -e "$DIR/$p" || ls "$DIR" | grep -qx "$p"; then
    misses=$((misses + 1)); echo "round $i: $p still visible"
  fi
done
echo "misses=$misses"`, rounds-1, ds)
	out := runEnv(t, script, "DIR="+filepath.Join(mnt, "runs", ds), "N4WS="+n4wsBin, "STORE="+store)
	if !strings.HasSuffix(out, "misses=0") {
		t.Errorf("runs delete && test ! -e:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(mnt, from)); err != nil {
		t.Errorf("the original pipeline went too: %v", err)
	}

	// 50 library saves, each to a new name in a folder the kernel has listed.
	script = fmt.Sprintf(`set -u
misses=0
for i in $(seq 0 %d); do
  ls "$LIB" >/dev/null 2>&1
  "$N4WS" --store "$STORE" library save --filtered --from "%s" --name "loop$i" >/dev/null || exit 3
  if ! test -s "$LIB/loop$i.zip" || ! ls "$LIB" | grep -qx "loop$i.zip"; then
    misses=$((misses + 1)); echo "round $i: loop$i.zip not visible"
  fi
done
echo "misses=$misses"`, rounds-1, from)
	out = runEnv(t, script, "LIB="+filepath.Join(mnt, "library/trained/filtered"), "N4WS="+n4wsBin, "STORE="+store)
	if !strings.HasSuffix(out, "misses=0") {
		t.Errorf("library save && test -s:\n%s", out)
	}
}

// TestCLIWithoutMountDoesNotWait: with no mount running a command neither
// waits nor warns.
func TestCLIWithoutMountDoesNotWait(t *testing.T) {
	store, from := demoStore(t)
	out, err := exe("", n4wsBin, "--store", store, "runs", "delete", strings.TrimPrefix(from, "runs/"), "--confirm")
	if err != nil {
		t.Fatalf("runs delete: %v\n%s", err, out)
	}
	if strings.Contains(out, "warning") {
		t.Errorf("a command with no mount warned:\n%s", out)
	}
}

// runEnv runs a shell script with extra environment variables and returns
// its trimmed output (stdout and stderr).
func runEnv(t testing.TB, script string, env ...string) string {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), env...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("script failed: %v\n%s", err, b)
	}
	return strings.TrimSpace(string(b))
}
