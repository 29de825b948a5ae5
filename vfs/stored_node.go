package vfs

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
)

// storedNode is a node of the index. It holds no metadata of its own: the
// index is the truth, and the kernel caches replies for attrTimeout.
type storedNode struct {
	fs.Inode
	fsys *fsys // read only
}

var (
	_ = (fs.NodeGetattrer)((*storedNode)(nil))
	_ = (fs.NodeSetattrer)((*storedNode)(nil))
	_ = (fs.NodeGetxattrer)((*storedNode)(nil))
	_ = (fs.NodeSetxattrer)((*storedNode)(nil))
	_ = (fs.NodeListxattrer)((*storedNode)(nil))
	_ = (fs.NodeRemovexattrer)((*storedNode)(nil))
	_ = (fs.NodeStatfser)((*storedNode)(nil))
	_ = (fs.NodeOnForgetter)((*storedNode)(nil))
)

func (n *storedNode) ino() uint64 { return n.StableAttr().Ino }

// attr returns the node's metadata, with the size and mtime of content that
// is being written but not yet committed.
func (n *storedNode) attr(ctx context.Context) (backing.Attr, error) {
	a, err := n.fsys.store().GetAttr(ctx, n.ino())
	if err != nil {
		return a, err
	}
	if of := n.fsys.openFileOf(a.Ino); of != nil {
		of.overlay(&a)
	}
	return a, nil
}

func (n *storedNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	ctx = uninterruptible(ctx)
	a, err := n.attr(ctx)
	if err != nil {
		return n.fsys.toErrno("getattr", n.ino(), err)
	}
	fillAttr(&a, &out.Attr)
	out.SetTimeout(attrTimeout)
	return 0
}

func (n *storedNode) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	ctx = uninterruptible(ctx)
	var set backing.SetAttrIn
	if m, ok := in.GetMode(); ok {
		set.Mode = &m
	}
	if uid, ok := in.GetUID(); ok {
		set.Uid = &uid
	}
	if gid, ok := in.GetGID(); ok {
		set.Gid = &gid
	}
	now := time.Now()
	if t, ok := in.GetATime(); ok {
		set.Atime = &t
	} else if in.Valid&fuse.FATTR_ATIME_NOW != 0 {
		set.Atime = &now
	}
	if t, ok := in.GetMTime(); ok {
		set.Mtime = &t
	} else if in.Valid&fuse.FATTR_MTIME_NOW != 0 {
		set.Mtime = &now
	}
	if size, ok := in.GetSize(); ok {
		if errno := n.fsys.truncate(ctx, n.ino(), fh, int64(size)); errno != 0 {
			return errno
		}
	}
	if setattrClearsSetID(in) {
		// Read only to skip the write transaction for the files without
		// the bits, which are nearly all. Folders keep theirs (a folder's
		// set-group-ID bit is inherited, not a privilege), every other
		// type loses them on chown, as on ext4 (pjdfstest chown/00.t).
		a, err := n.attr(ctx)
		if err != nil {
			return n.fsys.toErrno("setattr", n.ino(), err)
		}
		set.ClearSetID = fileType(a.Mode) != syscall.S_IFDIR && backing.HasSetID(a.Mode)
	}
	if set != (backing.SetAttrIn{}) {
		a, err := n.fsys.store().SetAttr(ctx, n.ino(), set)
		if err != nil {
			return n.fsys.toErrno("setattr", n.ino(), err)
		}
		if of := n.fsys.openFileOf(n.ino()); of != nil {
			of.noteMode(a.Mode)
			if set.Mtime != nil {
				of.setMtime(*set.Mtime)
			}
		}
	}
	return n.Getattr(ctx, fh, out)
}

// Extended attributes: user.* are stored; system.* (ACLs) are not
// supported, so tools fall back to the mode bits.

func (n *storedNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	ctx = uninterruptible(ctx)
	if !strings.HasPrefix(attr, "user.") {
		// No security labels, no ACLs. EOPNOTSUPP (not ENODATA) lets ls
		// remember that per filesystem instead of asking for every file.
		return 0, syscall.EOPNOTSUPP
	}
	if strings.HasPrefix(attr, catalog.XattrPrefix) {
		x, err := n.computedXattrs(ctx)
		if err != nil {
			return 0, n.fsys.toErrno("getxattr", n.ino(), err)
		}
		v, ok := x[attr]
		if !ok {
			return 0, syscall.ENODATA
		}
		return copyXattr(dest, []byte(v))
	}
	v, err := n.fsys.store().GetXattr(ctx, n.ino(), attr)
	if err != nil {
		if isNotFound(err) {
			return 0, syscall.ENODATA
		}
		return 0, n.fsys.toErrno("getxattr", n.ino(), err)
	}
	return copyXattr(dest, v)
}

// copyXattr answers a getxattr: the size alone for an empty buffer, ERANGE
// for a short one.
func copyXattr(dest, v []byte) (uint32, syscall.Errno) {
	if len(dest) == 0 {
		return uint32(len(v)), 0
	}
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}

func (n *storedNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	ctx = uninterruptible(ctx)
	if !strings.HasPrefix(attr, "user.") {
		return syscall.EOPNOTSUPP
	}
	if strings.HasPrefix(attr, catalog.XattrPrefix) {
		return syscall.EPERM // computed by n4ws
	}
	err := n.fsys.store().SetXattr(ctx, n.ino(), attr, data, flags)
	if err == backing.ErrNotFound || (err != nil && isNotFound(err)) {
		return syscall.ENODATA
	}
	return n.fsys.toErrno("setxattr", n.ino(), err)
}

func (n *storedNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	ctx = uninterruptible(ctx)
	names, err := n.fsys.store().ListXattr(ctx, n.ino())
	if err != nil {
		return 0, n.fsys.toErrno("listxattr", n.ino(), err)
	}
	x, err := n.computedXattrs(ctx)
	if err != nil {
		return 0, n.fsys.toErrno("listxattr", n.ino(), err)
	}
	names = append(names, catalog.SortedNames(x)...)
	var buf []byte
	for _, name := range names {
		buf = append(append(buf, name...), 0)
	}
	return copyXattr(dest, buf)
}

func (n *storedNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	ctx = uninterruptible(ctx)
	if !strings.HasPrefix(attr, "user.") {
		return syscall.EOPNOTSUPP
	}
	if strings.HasPrefix(attr, catalog.XattrPrefix) {
		return syscall.EPERM
	}
	err := n.fsys.store().RemoveXattr(ctx, n.ino(), attr)
	if err != nil && isNotFound(err) {
		return syscall.ENODATA
	}
	return n.fsys.toErrno("removexattr", n.ino(), err)
}

func (n *storedNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	ctx = uninterruptible(ctx)
	var st syscall.Statfs_t
	if err := syscall.Statfs(n.fsys.st.Dir(), &st); err != nil {
		return n.fsys.toErrno("statfs", n.ino(), err)
	}
	out.FromStatfsT(&st)
	out.NameLen = 255
	return 0
}

func (n *storedNode) OnForget() { n.fsys.forget(n.ino(), n.EmbeddedInode()) }

func isNotFound(err error) bool { return errors.Is(err, backing.ErrNotFound) }

// computedXattrs are the read-only user.n4ws.* attributes: a regular
// file's content hash, a pipeline folder's scores and status.
func (n *storedNode) computedXattrs(ctx context.Context) (map[string]string, error) {
	a, err := n.attr(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case a.IsRegular():
		d := a.Blob
		if d.IsZero() {
			d = backing.EmptyDigest
		}
		return map[string]string{catalog.XattrPrefix + "sha256": d.String()}, nil
	case a.IsDir() && n.fsys.cat != nil:
		path, err := n.fsys.store().Path(ctx, a.Ino)
		if err != nil {
			return nil, err
		}
		parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
		if len(parts) == 3 && parts[0] == "runs" {
			return n.fsys.cat.PipelineXattrs(ctx, parts[1], parts[2])
		}
	}
	return nil, nil
}
