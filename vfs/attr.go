package vfs

import (
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/n4ws/n4ws/backing"
)

// fillAttr copies a node's metadata into a FUSE attribute reply.
func fillAttr(a *backing.Attr, out *fuse.Attr) {
	out.Ino = a.Ino
	out.Mode = a.Mode
	out.Size = uint64(a.Size)
	out.Blocks = (uint64(a.Size) + 511) / 512
	out.Blksize = 4096
	out.Nlink = a.Nlink // 0 for a file unlinked while open, as fstat shows on ext4
	out.Owner = fuse.Owner{Uid: a.Uid, Gid: a.Gid}
	out.Rdev = a.Rdev
	setTime(&out.Atime, &out.Atimensec, a.Atime)
	setTime(&out.Mtime, &out.Mtimensec, a.Mtime)
	setTime(&out.Ctime, &out.Ctimensec, a.Ctime)
}

func setTime(sec *uint64, nsec *uint32, t time.Time) {
	*sec = uint64(t.Unix())
	*nsec = uint32(t.Nanosecond())
}

func fileType(mode uint32) uint32 { return mode & syscall.S_IFMT }
