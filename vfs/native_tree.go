package vfs

import (
	"context"
	"os"
	"path/filepath"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/n4ws/n4ws/backing"
)

// nativeTree serves nirs4all's own files at the mount root (store.sqlite
// and its -wal/-shm/-journal, arrays/, logs/, outputs/, ...) from ordinary
// files in the store's native folder, at the same paths. Regular files are
// opened with FUSE passthrough when the kernel allows it, so reads, writes
// and shared mmap (SQLite's -shm) go straight to the backing file; locks
// (fcntl, flock) are handled by the kernel, which is coherent for every
// process using the mount on this machine.
//
// The operations below take the parent as an Inode plus its path relative
// to the root ("" for the root), because the root is a stored directory
// (rootDir) that lists native entries next to the skeleton, while every
// folder below a native entry is a nativeNode.
type nativeTree struct {
	fsys        *fsys            // read only
	dir         string           // read only: the store's native folder
	lb          *fs.LoopbackRoot // read only: for the LoopbackNode methods we keep
	passthrough bool             // read only: offer FUSE passthrough for opens
	onChange    func(rel string) // read only: never nil
}

// nativeInoBit keeps native inode numbers apart from the index's (which
// count up from 1 and never get near 2^63): go-fuse merges nodes by number.
const nativeInoBit = 1 << 63

func nativeIno(backingIno uint64) uint64 { return backingIno ^ nativeInoBit }

func newNativeTree(f *fsys, dir string, passthrough bool, onChange func(string)) (*nativeTree, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: dir, Err: err}
	}
	if onChange == nil {
		onChange = func(string) {}
	}
	// LoopbackRoot numbers a node (Dev(node) ^ Dev(root), halves swapped)
	// ^ ino. Flipping bit 31 of the root's Dev flips bit 63 of every number
	// it makes, so the inherited methods (Tmpfile's NewInode, rename2's
	// checks) agree with nativeIno.
	lb := &fs.LoopbackRoot{Path: dir, Dev: uint64(st.Dev) ^ (1 << 31)}
	t := &nativeTree{fsys: f, dir: dir, lb: lb, passthrough: passthrough, onChange: onChange}
	lb.NewNode = func(_ *fs.LoopbackRoot, _ *fs.Inode, _ string, _ *syscall.Stat_t) fs.InodeEmbedder {
		return t.newNode()
	}
	return t, nil
}

func (t *nativeTree) newNode() *nativeNode {
	return &nativeNode{LoopbackNode: fs.LoopbackNode{RootData: t.lb}, tree: t}
}

// abs is the backing path of rel (relative to the mount root).
func (t *nativeTree) abs(rel string) string { return filepath.Join(t.dir, rel) }

// changed tells the live projection that a native file changed.
func (t *nativeTree) changed(rel string) { t.onChange(rel) }

// statNative lstat's a backing path, with the birth time that tells a
// reused inode number apart (as LoopbackNode does).
func statNative(p string, st *syscall.Stat_t) (gen uint64, err error) {
	var x unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BASIC_STATS|unix.STATX_BTIME, &x); err != nil {
		return 0, err
	}
	if err := syscall.Lstat(p, st); err != nil {
		return 0, err
	}
	return birthGen(&x), nil
}

func fstatNative(fd int, st *syscall.Stat_t) (gen uint64, err error) {
	var x unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_BASIC_STATS|unix.STATX_BTIME, &x); err != nil {
		return 0, err
	}
	if err := syscall.Fstat(fd, st); err != nil {
		return 0, err
	}
	return birthGen(&x), nil
}

func birthGen(x *unix.Statx_t) uint64 {
	if x.Mask&unix.STATX_BTIME == 0 || x.Btime.Sec == 0 && x.Btime.Nsec == 0 {
		return 1
	}
	return uint64(x.Btime.Sec)*1e9 + uint64(x.Btime.Nsec)
}

// fillNativeAttr copies a backing stat into a FUSE reply, renumbered.
func fillNativeAttr(st *syscall.Stat_t, out *fuse.Attr) {
	out.FromStat(st)
	out.Ino = nativeIno(st.Ino)
}

// inode makes (or finds) the node of the backing file just stat'ed.
func (t *nativeTree) inode(ctx context.Context, parent *fs.Inode, st *syscall.Stat_t, gen uint64, out *fuse.EntryOut) *fs.Inode {
	fillNativeAttr(st, &out.Attr)
	id := fs.StableAttr{Mode: st.Mode & syscall.S_IFMT, Ino: nativeIno(st.Ino), Gen: gen}
	return parent.NewInode(ctx, t.newNode(), id)
}

func (t *nativeTree) lookup(ctx context.Context, parent *fs.Inode, dir, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	var st syscall.Stat_t
	gen, err := statNative(t.abs(filepath.Join(dir, name)), &st)
	if err != nil {
		return nil, fs.ToErrno(err)
	}
	return t.inode(ctx, parent, &st, gen, out), 0
}

// own gives a new backing file the caller's uid/gid and exactly the mode
// asked for (the kernel applied the caller's umask; ours must not add to
// it), as a local disk would.
func own(ctx context.Context, p string, mode uint32, isLink bool) error {
	if os.Geteuid() == 0 {
		if c, ok := fuse.FromContext(ctx); ok {
			if err := os.Lchown(p, int(c.Uid), int(c.Gid)); err != nil {
				return err
			}
		}
	}
	if isLink {
		return nil
	}
	return syscall.Chmod(p, mode&07777)
}

func (t *nativeTree) create(ctx context.Context, parent *fs.Inode, dir, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	rel := filepath.Join(dir, name)
	p := t.abs(rel)
	open := int(flags&^syscall.O_APPEND) | syscall.O_NOFOLLOW | syscall.O_CLOEXEC
	fd, err := syscall.Open(p, open|syscall.O_CREAT|syscall.O_EXCL, mode&07777)
	created := err == nil
	if err == syscall.EEXIST && flags&syscall.O_EXCL == 0 { // raced with another create: open it
		if fd, err = syscall.Open(p, open&^syscall.O_CREAT, 0); err == nil {
			// The fstat below gives the kernel the new mode.
			if _, err = truncKillsSetID(ctx, fd, flags); err != nil {
				syscall.Close(fd)
			}
		}
	}
	if err != nil {
		return nil, nil, 0, fs.ToErrno(err)
	}
	if created {
		err = fown(ctx, fd, mode)
	}
	var st syscall.Stat_t
	var gen uint64
	if err == nil {
		gen, err = fstatNative(fd, &st)
	}
	if err != nil {
		syscall.Close(fd)
		return nil, nil, 0, fs.ToErrno(err)
	}
	in := t.inode(ctx, parent, &st, gen, out)
	h := t.newHandle(os.NewFile(uintptr(fd), p), flags)
	t.changed(rel)
	return in, h, nativeOpenFlags, 0
}

// fown is own for an open file.
func fown(ctx context.Context, fd int, mode uint32) error {
	if os.Geteuid() == 0 {
		if c, ok := fuse.FromContext(ctx); ok {
			if err := syscall.Fchown(fd, int(c.Uid), int(c.Gid)); err != nil {
				return err
			}
		}
	}
	return syscall.Fchmod(fd, mode&07777)
}

// made finishes a mkdir/mknod/symlink/link: owner, mode, node.
func (t *nativeTree) made(ctx context.Context, parent *fs.Inode, rel string, mode uint32, chown bool, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	p := t.abs(rel)
	var st syscall.Stat_t
	if chown {
		if err := own(ctx, p, mode, mode&syscall.S_IFMT == syscall.S_IFLNK); err != nil {
			return nil, fs.ToErrno(err)
		}
	}
	gen, err := statNative(p, &st)
	if err != nil {
		return nil, fs.ToErrno(err)
	}
	t.changed(rel)
	return t.inode(ctx, parent, &st, gen, out), 0
}

func (t *nativeTree) mkdir(ctx context.Context, parent *fs.Inode, dir, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	rel := filepath.Join(dir, name)
	if err := syscall.Mkdir(t.abs(rel), mode&07777); err != nil {
		return nil, fs.ToErrno(err)
	}
	return t.made(ctx, parent, rel, syscall.S_IFDIR|mode, true, out)
}

func (t *nativeTree) mknod(ctx context.Context, parent *fs.Inode, dir, name string, mode, dev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	rel := filepath.Join(dir, name)
	if err := syscall.Mknod(t.abs(rel), mode, int(dev)); err != nil {
		return nil, fs.ToErrno(err)
	}
	return t.made(ctx, parent, rel, mode, true, out)
}

func (t *nativeTree) symlink(ctx context.Context, parent *fs.Inode, dir, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	rel := filepath.Join(dir, name)
	if err := syscall.Symlink(target, t.abs(rel)); err != nil {
		return nil, fs.ToErrno(err)
	}
	return t.made(ctx, parent, rel, syscall.S_IFLNK|0o777, true, out)
}

// link hard-links a native file; anything else is on another "device".
func (t *nativeTree) link(ctx context.Context, parent *fs.Inode, dir string, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	src, ok := target.(*nativeNode)
	if !ok {
		return nil, syscall.EXDEV
	}
	if _, p := src.Parent(); p == nil { // O_TMPFILE or unlinked: no path to link from
		return nil, syscall.EXDEV
	}
	rel := filepath.Join(dir, name)
	if err := syscall.Link(t.abs(src.rel()), t.abs(rel)); err != nil {
		return nil, fs.ToErrno(err)
	}
	return t.made(ctx, parent, rel, 0, false, out)
}

func (t *nativeTree) unlink(dir, name string) syscall.Errno {
	rel := filepath.Join(dir, name)
	if err := syscall.Unlink(t.abs(rel)); err != nil {
		return fs.ToErrno(err)
	}
	t.changed(rel)
	return 0
}

func (t *nativeTree) rmdir(dir, name string) syscall.Errno {
	rel := filepath.Join(dir, name)
	if err := syscall.Rmdir(t.abs(rel)); err != nil {
		return fs.ToErrno(err)
	}
	t.changed(rel)
	return 0
}

// nativeDirOf returns the relative path of a native directory: the root
// ("") or a nativeNode. Any other directory is on another "device".
func nativeDirOf(n fs.InodeEmbedder) (string, bool) {
	switch d := n.(type) {
	case *rootDir:
		return "", true
	case *nativeNode:
		return d.rel(), true
	}
	return "", false
}

// rename moves a native entry within the native tree. Into the root, a
// name the index holds there (the skeleton, artifacts/) is another device.
func (t *nativeTree) rename(ctx context.Context, dir, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	dir2, ok := nativeDirOf(newParent)
	if !ok {
		return syscall.EXDEV
	}
	if _, isRoot := newParent.(*rootDir); isRoot && t.storedAtRoot(ctx, newName) {
		return syscall.EXDEV
	}
	rel1, rel2 := filepath.Join(dir, name), filepath.Join(dir2, newName)
	if err := unix.Renameat2(unix.AT_FDCWD, t.abs(rel1), unix.AT_FDCWD, t.abs(rel2), uint(flags)); err != nil {
		return fs.ToErrno(err)
	}
	t.changed(rel1)
	t.changed(rel2)
	return 0
}

// storedAtRoot reports whether the index has an entry name at the root.
func (t *nativeTree) storedAtRoot(ctx context.Context, name string) bool {
	_, err := t.fsys.store().Lookup(ctx, backing.RootIno, name)
	return err == nil
}

func (t *nativeTree) tmpfile(ctx context.Context, parent *fs.Inode, dir string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	fd, err := syscall.Open(t.abs(dir), int(flags&^syscall.O_APPEND)|unix.O_TMPFILE|syscall.O_CLOEXEC, mode&07777)
	if err != nil {
		return nil, nil, 0, fs.ToErrno(err)
	}
	var st syscall.Stat_t
	var gen uint64
	err = fown(ctx, fd, mode)
	if err == nil {
		gen, err = fstatNative(fd, &st)
	}
	if err != nil {
		syscall.Close(fd)
		return nil, nil, 0, fs.ToErrno(err)
	}
	in := t.inode(ctx, parent, &st, gen, out)
	return in, t.newHandle(os.NewFile(uintptr(fd), ""), flags), 0, 0
}
