package vfs

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
)

// Kernel cache lifetimes. All changes made through the mount update the
// kernel's caches as they happen, and changes made by other processes are
// announced by the change watcher, so these can be long. Missing names are
// not cached at all: a computed name (best_<pipeline>.csv) can appear
// without any change to its folder.
const (
	entryTimeout = 10 * time.Second
	attrTimeout  = 10 * time.Second
)

// Options configure a mount.
type Options struct {
	Logger      *slog.Logger
	AllowOther  bool // let other users in (needs user_allow_other for non-root)
	Passthrough bool // read blobs through FUSE passthrough when the kernel allows it
	Durable     bool // fsync content on every close (the store does it; kept for the log line)
	DebugFUSE   bool // log every FUSE request
	// NodeBudget is how many stored nodes the kernel may keep before the
	// mount asks it to forget some (node_budget.go): 0 means
	// DefaultNodeBudget, a negative number no budget.
	NodeBudget int
	// onTrim, for tests, is told how many stored nodes the kernel knows at
	// each check of the budget.
	onTrim func(known int)
	// onMount, for tests, is given the mount's state once it serves.
	onMount func(f *fsys)
	// Catalog computes the nirs4all views (best files, exports, Parquet).
	// Without one the mount serves the stored tree alone.
	Catalog *catalog.Catalog
	// OnNativeChange, when set, is called with the path (relative to the
	// mount root, e.g. "store.sqlite-wal") of a native file (nirs4all's own
	// files at the root, see nativeTree) after it was created, closed by a
	// handle that could write, fsynced, truncated, renamed (both names) or
	// removed. Writes through passthrough never reach the mount: a
	// committing SQLite fsyncs its -wal (synchronous=FULL), which is the
	// signal. It runs on the FUSE request's goroutine: it must not block.
	OnNativeChange func(rel string)
}

// Mount serves store at mountpoint until the returned server is unmounted.
// The caller holds the store's mount lock.
func Mount(ctx context.Context, mountpoint string, store *backing.Store, opts Options) (*fuse.Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	cat := opts.Catalog
	f := newFsys(store, cat, opts)
	var err error
	if err = f.resolveSkeleton(ctx); err != nil {
		return nil, fmt.Errorf("mount: %w", err)
	}
	if err := store.EnsureNative(); err != nil {
		return nil, fmt.Errorf("mount: %w", err)
	}
	if f.native, err = newNativeTree(f, store.NativeDir(), opts.Passthrough, opts.OnNativeChange); err != nil {
		return nil, fmt.Errorf("mount: %w", err)
	}
	if n, err := store.CleanSpool(); err != nil {
		return nil, fmt.Errorf("mount: %w", err)
	} else if n > 0 {
		opts.Logger.Warn("removed spool files left by an unclean stop (content never closed)", "count", n)
	}
	if n, err := store.PurgeUnlinked(ctx); err != nil {
		return nil, fmt.Errorf("mount: %w", err)
	} else if n > 0 {
		opts.Logger.Info("purged files unlinked while open at the last stop", "count", n)
	}
	changed := store.Changes(ctx) // before LastChange: no commit after it is missed
	seq, err := store.LastChange(ctx)
	if err == nil {
		err = store.TrimChanges(ctx, seq) // the kernel's caches start empty
	}
	if err != nil {
		return nil, fmt.Errorf("mount: %w", err)
	}
	if err := store.RunCheckpointer(ctx); err != nil {
		return nil, fmt.Errorf("mount: %w", err)
	}
	if f.unlinksLater {
		store.EnableUnlinkLater(unlinkFollower{f})
	}
	if f.createsLater {
		store.FollowCreates(createFollower{f})
	}
	root := newRootDir(f)
	et, at := entryTimeout, attrTimeout
	mopts := &fs.Options{
		EntryTimeout:   &et,
		AttrTimeout:    &at,
		RootStableAttr: &fs.StableAttr{Ino: backing.RootIno},
		// Every node fills its own mode: without this go-fuse shows a file
		// created with mode 0000 as 0644 (pjdfstest open/26.t).
		NullPermissions: true,
		Logger:          log.New(newSlogWriter(opts.Logger), "", 0),
		MountOptions: fuse.MountOptions{
			FsName:               "n4ws:" + store.Dir(),
			Name:                 "n4ws",
			AllowOther:           opts.AllowOther,
			DirectMount:          os.Geteuid() == 0,
			MaxWrite:             1 << 20,
			MaxReadAhead:         1 << 20,
			Debug:                opts.DebugFUSE,
			Options:              []string{"default_permissions"},
			EnableSymlinkCaching: true, // a symlink's target never changes
			// O_TRUNC arrives with OPEN instead of as a separate truncate,
			// and shared mmap works on direct-I/O (spool) handles.
			// HANDLE_KILLPRIV_V2: we clear set-ID bits on write, truncate
			// and chown (setid.go), so the kernel need not ask for
			// security.capability before every write.
			ExtraCapabilities: fuse.CAP_ATOMIC_O_TRUNC | fuse.CAP_DIRECT_IO_ALLOW_MMAP | fuse.CAP_HANDLE_KILLPRIV_V2,
		},
	}
	server, err := fs.Mount(mountpoint, root, mopts)
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	if err := closeFuseDeviceOnExec(); err != nil {
		server.Unmount()
		return nil, fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	f.mu.Lock()
	f.nodes[backing.RootIno] = root.EmbeddedInode()
	f.mu.Unlock()
	pt := server.KernelSettings().Flags64()&fuse.CAP_PASSTHROUGH != 0
	opts.Logger.Info("mounted", "mountpoint", mountpoint, "store", store.Dir(),
		"passthrough_kernel", pt, "passthrough_requested", opts.Passthrough, "durable", opts.Durable)
	applyReqs := make(chan chan<- error)
	if err := serveApplySocket(ctx, store.Dir(), applyReqs, store.Settle, opts.Logger); err != nil {
		// The mount still works; CLI commands then warn and fall back
		// to the polling.
		opts.Logger.Warn("no apply socket: CLI commands will not wait for this mount", "err", err)
	}
	go f.watchChanges(ctx, seq, changed, applyReqs)
	go f.runPurger(ctx)
	if budget := opts.NodeBudget; budget >= 0 {
		if budget == 0 {
			budget = DefaultNodeBudget
		}
		go f.trimNodes(ctx, budget, opts.onTrim)
	}
	if cat != nil {
		go f.refreshCatalog(ctx)
	}
	if opts.onMount != nil {
		opts.onMount(f)
	}
	return server, nil
}

// slogWriter turns go-fuse's log.Logger lines into debug records.
type slogWriter struct{ l *slog.Logger }

func newSlogWriter(l *slog.Logger) *slogWriter { return &slogWriter{l} }

func (w *slogWriter) Write(p []byte) (int, error) {
	w.l.Debug("fuse", "msg", string(p))
	return len(p), nil
}
