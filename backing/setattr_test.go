package backing

import "testing"

// The bits a write by an unprivileged user clears, as the kernel's
// should_remove_suid decides.
func TestClearSetID(t *testing.T) {
	for _, c := range []struct{ mode, want uint32 }{
		{0o104777, 0o100777},
		{0o102777, 0o100777},
		{0o106755, 0o100755},
		{0o102767, 0o102767}, // set-group-ID without group execute: mandatory locking, kept
		{0o106767, 0o102767},
		{0o100644, 0o100644},
	} {
		if got := ClearSetID(c.mode); got != c.want {
			t.Errorf("ClearSetID(%o) = %o, want %o", c.mode, got, c.want)
		}
		if HasSetID(c.mode) != (c.mode != c.want) {
			t.Errorf("HasSetID(%o) = %v", c.mode, HasSetID(c.mode))
		}
	}
}
