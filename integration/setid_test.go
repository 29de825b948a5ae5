//go:build linux

package integration

import (
	"path/filepath"
	"strings"
	"testing"
)

// On a shared (--allow-other) mount, a user who may write someone else's
// set-user-ID program must not keep the bit while replacing its content:
// a write, a truncate or an O_TRUNC open by a user without CAP_FSETID
// clears S_ISUID, and S_ISGID when the group may execute, as on ext4; so
// does a chown, by anyone, of anything but a folder. Root's writes keep
// them, and so does a set-group-ID file without group execute.
//
// The mount takes FUSE_HANDLE_KILLPRIV_V2, so the kernel leaves each of
// these to n4ws: checked on stored files (runs/) and on native files (the
// mount root, nirs4all's place), with passthrough and without (the
// kernel's requests differ).
func TestWriteClearsSetID(t *testing.T) {
	requireRoot(t, "needs root to write as another user")
	for _, passthrough := range []string{"auto", "off"} {
		t.Run("passthrough-"+passthrough, func(t *testing.T) {
			store := newStore(t)
			mnt := mountUmask0(t, n4wsBin, store, "--passthrough", passthrough)
			for _, place := range []string{filepath.Join("runs", "setid"), "setid"} {
				dir := filepath.Join(mnt, place)
				mkdirAll(t, dir)
				checkSetIDCleared(t, place, dir)
			}
		})
	}
}

func checkSetIDCleared(t *testing.T, place, dir string) {
	t.Helper()
	// Relative names from inside the mount: the test's temporary folders
	// above it are closed to other users.
	asNobody := func(script string, args ...string) {
		t.Helper()
		run(t, dir, "setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups",
			"sh", "-c", script, "sh"}, args...)...)
	}
	asRoot := func(script string, args ...string) {
		t.Helper()
		run(t, dir, "sh", append([]string{"-c", script, "sh"}, args...)...)
	}
	const chownKeep = `python3 -c 'import os, sys; os.chown(sys.argv[1], -1, -1)' "$1"`
	cases := []struct {
		name, mode, want string
		root             bool   // run the action as root, else as nobody
		action           string // sh script; $1 is the file's name
		kind             string // "folder", "fifo"; a regular file by default
	}{
		{name: "suid", mode: "4777", want: "777", action: `echo x >> "$1"`},
		{name: "sgid", mode: "2777", want: "777", action: `echo x >> "$1"`},
		{name: "both", mode: "6777", want: "777", action: `echo x >> "$1"`},
		{name: "sgid-no-group-exec", mode: "2767", want: "2767", action: `echo x >> "$1"`},
		{name: "suid-by-root", mode: "4777", want: "4777", root: true, action: `echo x >> "$1"`},
		{name: "suid-open-trunc", mode: "4777", want: "777", action: `: > "$1"`},
		{name: "suid-truncate", mode: "6777", want: "777", action: `truncate -s 1 "$1"`},
		{name: "suid-truncate-by-root", mode: "4777", want: "4777", root: true, action: `truncate -s 1 "$1"`},
		{name: "suid-chown-by-root", mode: "6777", want: "777", root: true, action: `chown 65534 "$1"`},
		{name: "suid-chown-minus-one", mode: "4777", want: "777", root: true, action: chownKeep},
		{name: "sgid-no-group-exec-chown", mode: "2767", want: "2767", root: true, action: `chown 65534 "$1"`},
		{name: "fifo-chown", mode: "6777", want: "777", root: true, action: `chown 65534 "$1"`, kind: "fifo"},
		{name: "folder-sgid-chown", mode: "2777", want: "2777", root: true, action: `chown 65534 "$1"`, kind: "folder"},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.name)
		switch c.kind {
		case "folder":
			mkdirAll(t, p)
		case "fifo":
			run(t, "", "mkfifo", p)
		default:
			writeFile(t, p, []byte("#!/bin/sh\n"))
		}
		run(t, "", "chmod", c.mode, p)
		if c.root {
			asRoot(c.action, c.name)
		} else {
			asNobody(c.action, c.name)
		}
		if got := strings.TrimSpace(run(t, "", "stat", "-c", "%a", p)); got != c.want {
			t.Errorf("%s/%s: mode %s after %q, want %s", place, c.name, got, c.action, c.want)
		}
	}
}
