//go:build linux

package integration

import (
	"path/filepath"
	"strings"
	"testing"
)

// On a shared (--allow-other) mount, a user who may write someone else's
// set-user-ID program must not keep the bit while replacing its content:
// a write or an O_TRUNC open by a user without CAP_FSETID clears S_ISUID,
// and S_ISGID when the group may execute, as on ext4. A write by root keeps
// them, and so does a set-group-ID file without group execute.
func TestWriteClearsSetID(t *testing.T) {
	requireRoot(t, "needs root to write as another user")
	store := newStore(t)
	mnt := mountUmask0(t, n4wsBin, store)
	dir := filepath.Join(mnt, "runs", "setid")
	mkdirAll(t, dir)
	// Relative names from inside the mount: the test's temporary folders
	// above it are closed to other users.
	asNobody := func(script string, args ...string) {
		t.Helper()
		run(t, dir, "setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups",
			"sh", "-c", script, "sh"}, args...)...)
	}
	cases := []struct {
		name       string
		mode, want string
		byRoot     bool
		truncOpen  bool
	}{
		{"suid", "4777", "777", false, false},
		{"sgid", "2777", "777", false, false},
		{"both", "6777", "777", false, false},
		{"sgid-no-group-exec", "2767", "2767", false, false},
		{"suid-by-root", "4777", "4777", true, false},
		{"suid-truncated", "4777", "777", false, true},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.name)
		writeFile(t, p, []byte("#!/bin/sh\n"))
		run(t, "", "chmod", c.mode, p)
		switch {
		case c.byRoot:
			sh(t, "echo x >> "+p)
		case c.truncOpen:
			asNobody(`: > "$1"`, c.name)
		default:
			asNobody(`echo x >> "$1"`, c.name)
		}
		if got := strings.TrimSpace(run(t, "", "stat", "-c", "%a", p)); got != c.want {
			t.Errorf("%s: mode %s after the write, want %s", c.name, got, c.want)
		}
	}
}
