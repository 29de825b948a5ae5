package vfs

import (
	"context"
	"strings"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// dirNode is a stored directory.
type dirNode struct {
	storedNode
	overlay overlayState
	last    lastDirAttr // for fstat after the directory is removed
}

var (
	_ = (fs.NodeLookuper)((*dirNode)(nil))
	_ = (fs.NodeOpendirHandler)((*dirNode)(nil))
	_ = (fs.NodeMkdirer)((*dirNode)(nil))
	_ = (fs.NodeMknoder)((*dirNode)(nil))
	_ = (fs.NodeCreater)((*dirNode)(nil))
	_ = (fs.NodeSymlinker)((*dirNode)(nil))
	_ = (fs.NodeLinker)((*dirNode)(nil))
	_ = (fs.NodeUnlinker)((*dirNode)(nil))
	_ = (fs.NodeRmdirer)((*dirNode)(nil))
	_ = (fs.NodeRenamer)((*dirNode)(nil))
)

func (n *dirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ctx = uninterruptible(ctx)
	if len(name) > 255 {
		return nil, syscall.ENAMETOOLONG
	}
	a, found, cached := n.fsys.cachedLookup(n.ino(), name)
	if cached && !found {
		return n.lookupView(ctx, name, out)
	}
	if !cached {
		writes, changes := n.fsys.stamp()
		var err error
		a, err = n.fsys.store().Lookup(ctx, n.ino(), name)
		if err == nil || isNotFound(err) {
			n.fsys.noteIndexLookup(ctx, n.ino(), writes, changes)
		}
		if isNotFound(err) {
			return n.lookupView(ctx, name, out)
		}
		if err != nil {
			return nil, n.fsys.toErrno("lookup", n.ino(), err)
		}
	}
	return n.entry(ctx, &a, out), 0
}

// lookupView finds a computed entry of this folder.
func (n *dirNode) lookupView(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	p, err := n.overlayPath(ctx)
	if err != nil {
		return nil, n.fsys.toErrno("lookup", n.ino(), err)
	}
	// In a dataset folder only two names are ever computed. Anything else
	// (cp -r looking up each new pipeline folder) must not refresh and
	// render the catalog.
	if p == "" || strings.HasPrefix(p, "runs/") && !catalog.IsDatasetViewName(name) {
		return nil, syscall.ENOENT
	}
	views, err := n.views(ctx)
	if err != nil {
		return nil, n.fsys.toErrno("lookup", n.ino(), err)
	}
	v, ok := findView(views, name)
	if !ok {
		return nil, syscall.ENOENT
	}
	return n.fsys.viewEntry(ctx, n.EmbeddedInode(), p, &v, out)
}

// entry fills a FUSE entry reply for child a and returns its Inode.
func (n *dirNode) entry(ctx context.Context, a *backing.Attr, out *fuse.EntryOut) *fs.Inode {
	if of := n.fsys.openFileOf(a.Ino); of != nil {
		of.overlay(a)
	}
	fillAttr(a, &out.Attr)
	out.SetEntryTimeout(entryTimeout)
	out.SetAttrTimeout(attrTimeout)
	return n.fsys.newChild(ctx, n.EmbeddedInode(), a)
}

// owner returns the uid and gid a new node gets: the caller's, or the
// directory's group when it is set-group-ID, as on ext4.
func (n *dirNode) owner(ctx context.Context) (uid, gid uint32, setgid bool) {
	if c, ok := fuse.FromContext(ctx); ok {
		uid, gid = c.Uid, c.Gid
	}
	mode, dirGid, ok := n.fsys.cachedOwner(n.ino())
	if !ok {
		a, err := n.fsys.store().GetAttr(ctx, n.ino())
		mode, dirGid = a.Mode, a.Gid
		if err != nil {
			mode = 0
		}
	}
	if mode&syscall.S_ISGID != 0 {
		gid, setgid = dirGid, true
	}
	return uid, gid, setgid
}

func (n *dirNode) create(ctx context.Context, name string, nn backing.NewNode, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	in, _, errno := n.createAttr(ctx, name, nn, out)
	return in, errno
}

// createLater is Create answered first (create_later.go), with the
// owner createAttr would give the file.
func (n *dirNode) createLater(ctx context.Context, name string, nn backing.NewNode) (backing.Attr, bool) {
	if !n.fsys.createsLater {
		return backing.Attr{}, false
	}
	if _, found, ok := n.fsys.cachedLookup(n.ino(), name); !ok || found {
		return backing.Attr{}, false // not known exactly, or taken: the index says why
	}
	nn.Uid, nn.Gid, _ = n.owner(ctx) // from the listing just found exact
	return n.fsys.createLater(ctx, n.ino(), name, nn)
}

// createAttr is create that also returns the new node's attributes.
func (n *dirNode) createAttr(ctx context.Context, name string, nn backing.NewNode, out *fuse.EntryOut) (*fs.Inode, *backing.Attr, syscall.Errno) {
	uid, gid, setgid := n.owner(ctx)
	nn.Uid, nn.Gid = uid, gid
	if setgid && fileType(nn.Mode) == syscall.S_IFDIR {
		nn.Mode |= syscall.S_ISGID
	}
	writes, changes := n.fsys.stamp()
	a, err := n.fsys.store().Mknod(ctx, n.ino(), name, nn)
	if err != nil {
		return nil, nil, n.fsys.toErrno("create", n.ino(), err)
	}
	n.fsys.noteCreated(writes, n.ino(), name, a)
	if a.IsDir() {
		n.fsys.startListing(&a, writes, changes)
	}
	made := a // entry may overlay an open file's state on a
	return n.entry(ctx, &a, out), &made, 0
}

func (n *dirNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ctx = uninterruptible(ctx)
	nn := backing.NewNode{Mode: syscall.S_IFDIR | mode&07777}
	// Pipeline numbers are unique within a dataset: mkdir of a taken
	// number fails with EEXIST (checked in the creating transaction), so
	// parallel writers cannot collide.
	if p, err := n.overlayPath(ctx); err == nil && strings.HasPrefix(p, "runs/") && nirs4all.IsPipelineFolder(name) {
		nn.UniquePrefix = name[:5]
	}
	return n.create(ctx, name, nn, out)
}

func (n *dirNode) Mknod(ctx context.Context, name string, mode, dev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ctx = uninterruptible(ctx)
	return n.create(ctx, name, backing.NewNode{Mode: mode, Rdev: dev}, out)
}

func (n *dirNode) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ctx = uninterruptible(ctx)
	return n.create(ctx, name, backing.NewNode{Mode: syscall.S_IFLNK | 0o777, Target: target}, out)
}

func (n *dirNode) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	ctx = uninterruptible(ctx)
	nn := backing.NewNode{Mode: syscall.S_IFREG | mode&07777}
	var in *fs.Inode
	a, pending := n.createLater(ctx, name, nn)
	if pending {
		made := a
		in = n.entry(ctx, &made, out)
	} else {
		var errno syscall.Errno
		var made *backing.Attr
		if in, made, errno = n.createAttr(ctx, name, nn, out); errno != 0 {
			return nil, nil, 0, errno
		}
		a = *made
	}
	// A new file is empty: open it for writing without copying anything.
	fh, fuseFlags, errno := n.fsys.openCreated(ctx, in.Operations().(*fileNode), &a, flags, pending)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	return in, fh, fuseFlags, 0
}

func (n *dirNode) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ctx = uninterruptible(ctx)
	if _, ok := target.(*nativeNode); ok {
		return nil, syscall.EXDEV
	}
	a, err := n.fsys.store().Link(ctx, target.EmbeddedInode().StableAttr().Ino, n.ino(), name)
	if err != nil {
		return nil, n.fsys.toErrno("link", n.ino(), err)
	}
	return n.entry(ctx, &a, out), 0
}

func (n *dirNode) Unlink(ctx context.Context, name string) syscall.Errno {
	ctx = uninterruptible(ctx)
	child := n.GetChild(name)
	if n.fsys.unlinkLater(ctx, n.ino(), name, child) {
		return 0
	}
	writes, _ := n.fsys.stamp()
	a, trashed, err := n.fsys.unlink(ctx, n.ino(), child, name)
	if err == nil {
		n.fsys.noteUnlinked(writes, n.ino(), name, a)
	}
	if isNotFound(err) {
		// Removing a computed entry changes nothing (it is derived), and
		// succeeding lets rm -rf of a dataset folder finish.
		if views, verr := n.views(ctx); verr == nil && isComputedName(views, name) {
			return 0
		}
	}
	if err != nil {
		return n.fsys.toErrno("unlink", n.ino(), err)
	}
	if !trashed {
		n.fsys.purgeIfUnused(&a)
	}
	return 0
}

func (n *dirNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	ctx = uninterruptible(ctx)
	return n.fsys.toErrno("rmdir", n.ino(), n.fsys.store().Rmdir(ctx, n.ino(), name))
}

func (n *dirNode) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	ctx = uninterruptible(ctx)
	if intoNative(newParent, newName) { // nirs4all's files at the root: another device
		a, err := n.fsys.store().Lookup(ctx, n.ino(), name)
		if err != nil {
			return n.fsys.toErrno("rename", n.ino(), err)
		}
		return crossDevice(&a)
	}
	p2 := newParent.EmbeddedInode().StableAttr().Ino
	replaced, err := n.fsys.store().Rename(ctx, n.ino(), name, p2, newName, flags)
	if err != nil {
		return n.fsys.toErrno("rename", n.ino(), err)
	}
	for _, moved := range []*fs.Inode{n.GetChild(name), newParent.EmbeddedInode().GetChild(newName)} {
		if moved == nil {
			continue
		}
		if d, ok := moved.Operations().(*dirNode); ok {
			d.forgetOverlay() // a folder moved into or out of runs/
		}
	}
	if replaced != nil {
		n.fsys.purgeIfUnused(replaced)
	}
	return 0
}
