"""POSIX file operations as a Python program does them, run against a directory.

Usage: python3 posix_ops.py --list
       python3 posix_ops.py DIR CHECK     (DIR must exist and be empty)

Each check raises on the first wrong answer; the Go test runs one check per
subtest so that a failure names the operation.
"""
import csv
import errno
import io
import json
import os
import sys
import threading
import zipfile

CHECKS = {}


def check(fn):
    CHECKS[fn.__name__] = fn
    return fn


def eq(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def read(path):
    with open(path, "rb") as f:
        return f.read()


@check
def o_append(d):
    p = os.path.join(d, "log")
    with open(p, "wb") as f:
        f.write(b"abc")
    fd1 = os.open(p, os.O_WRONLY | os.O_APPEND)
    fd2 = os.open(p, os.O_WRONLY | os.O_APPEND)
    os.lseek(fd1, 0, os.SEEK_SET)  # O_APPEND ignores the offset
    os.write(fd1, b"def")
    os.write(fd2, b"ghi")
    os.write(fd1, b"jkl")
    os.close(fd1)
    os.close(fd2)
    eq(read(p), b"abcdefghijkl", "content after interleaved O_APPEND writes")


@check
def o_excl(d):
    p = os.path.join(d, "excl")
    fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    os.close(fd)
    try:
        os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        pass
    else:
        raise AssertionError("second O_EXCL create succeeded")
    try:
        open(p, "x")
    except FileExistsError:
        return
    raise AssertionError("open(mode='x') on an existing file succeeded")


@check
def o_trunc(d):
    p = os.path.join(d, "t")
    with open(p, "wb") as f:
        f.write(b"x" * 100_000)
    fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
    eq(os.fstat(fd).st_size, 0, "size right after O_TRUNC")
    os.write(fd, b"short")
    os.close(fd)
    eq(read(p), b"short", "content after O_TRUNC + write")
    with open(p, "w"):
        pass
    eq(os.stat(p).st_size, 0, "size after open('w')")


@check
def pwrite(d):
    p = os.path.join(d, "p")
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
    os.pwrite(fd, b"A" * 10, 0)
    os.pwrite(fd, b"B" * 10, 4090)  # crosses a 4 KiB page
    os.pwrite(fd, b"C" * 3, 1 << 20)  # leaves a hole
    os.pwrite(fd, b"D", 5)  # overwrite in the middle
    eq(os.fstat(fd).st_size, (1 << 20) + 3, "size via fstat")
    os.fsync(fd)
    os.close(fd)
    want = bytearray((1 << 20) + 3)
    want[0:10] = b"A" * 10
    want[4090:4100] = b"B" * 10
    want[1 << 20:] = b"CCC"
    want[5] = ord("D")
    eq(read(p), bytes(want), "content after pwrites")
    fd = os.open(p, os.O_RDONLY)
    eq(os.pread(fd, 12, 4088), b"\0\0" + b"B" * 10, "pread across the page")
    os.close(fd)


@check
def truncate(d):
    p = os.path.join(d, "tr")
    with open(p, "wb") as f:
        f.write(bytes(range(256)) * 40)
    os.truncate(p, 1000)
    eq(read(p), (bytes(range(256)) * 4)[:1000], "after shrink")
    os.truncate(p, 5000)
    eq(read(p), (bytes(range(256)) * 4)[:1000] + b"\0" * 4000, "after grow")
    with open(p, "r+b") as f:
        f.write(b"zz")
        f.flush()
        os.ftruncate(f.fileno(), 1)
        eq(os.fstat(f.fileno()).st_size, 1, "fstat after ftruncate")
        f.seek(0, os.SEEK_END)
        f.write(b"y")
    eq(read(p), b"zy", "after ftruncate + write")


@check
def fsync(d):
    p = os.path.join(d, "fs")
    fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"first")
    os.fsync(fd)
    eq(read(p), b"first", "read by another fd after fsync")
    os.write(fd, b" second")
    os.fdatasync(fd)
    eq(read(p), b"first second", "read after fdatasync")
    os.close(fd)
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(dfd)  # fsync of a directory must work too
    os.close(dfd)


@check
def unlink_open(d):
    p = os.path.join(d, "gone")
    with open(p, "wb") as f:
        f.write(b"still here" * 1000)
    f = open(p, "rb")
    os.unlink(p)
    eq(os.path.exists(p), False, "exists after unlink")
    eq("gone" in os.listdir(d), False, "listed after unlink")
    eq(os.fstat(f.fileno()).st_nlink, 0, "nlink of the open, unlinked file")
    eq(f.read(), b"still here" * 1000, "read through the open fd")
    f.close()
    w = open(p, "w+b")  # an open, unlinked file stays writable too
    os.unlink(p)
    w.write(b"tmp data")
    w.seek(0)
    eq(w.read(), b"tmp data", "write+read of an unlinked file")
    w.close()


@check
def rename_replace(d):
    a, b = os.path.join(d, "a"), os.path.join(d, "b")
    with open(a, "w") as f:
        f.write("A")
    with open(b, "w") as f:
        f.write("B")
    held = open(b, "rb")  # the replaced file stays readable while open
    os.rename(a, b)
    eq(read(b), b"A", "target content after rename over it")
    eq(os.path.exists(a), False, "source exists after rename")
    eq(held.read(), b"B", "old target through an fd held across the rename")
    held.close()
    os.mkdir(os.path.join(d, "sub"))
    os.replace(b, os.path.join(d, "sub", "c"))
    eq(read(os.path.join(d, "sub", "c")), b"A", "after os.replace across folders")
    os.mkdir(os.path.join(d, "empty"))
    os.rename(os.path.join(d, "sub"), os.path.join(d, "empty"))  # dir over empty dir
    eq(os.listdir(os.path.join(d, "empty")), ["c"], "dir renamed over an empty dir")
    os.mkdir(os.path.join(d, "full"))
    try:
        os.rename(os.path.join(d, "full"), os.path.join(d, "empty"))
    except OSError as e:
        eq(e.errno in (errno.ENOTEMPTY, errno.EEXIST), True, f"errno {e.errno}")
    else:
        raise AssertionError("rename over a non-empty dir succeeded")


@check
def link(d):
    a, b = os.path.join(d, "a"), os.path.join(d, "sub_b")
    with open(a, "w") as f:
        f.write("one")
    os.link(a, b)
    sa, sb = os.stat(a), os.stat(b)
    eq((sa.st_nlink, sb.st_nlink), (2, 2), "nlink after link")
    eq(sa.st_ino, sb.st_ino, "inode of both names")
    with open(b, "a") as f:
        f.write(" two")
    eq(read(a), b"one two", "write through one name, read through the other")
    os.unlink(a)
    eq(os.stat(b).st_nlink, 1, "nlink after unlinking one name")
    eq(read(b), b"one two", "content after unlinking one name")


@check
def symlink(d):
    os.mkdir(os.path.join(d, "dir"))
    with open(os.path.join(d, "dir", "f"), "w") as f:
        f.write("target")
    os.symlink("dir/f", os.path.join(d, "rel"))
    os.symlink("/nonexistent/n4ws", os.path.join(d, "dangling"))
    eq(os.readlink(os.path.join(d, "rel")), "dir/f", "readlink")
    eq(os.readlink(os.path.join(d, "dangling")), "/nonexistent/n4ws", "readlink dangling")
    eq(read(os.path.join(d, "rel")), b"target", "read through symlink")
    eq(os.path.islink(os.path.join(d, "rel")), True, "islink")
    eq(os.lstat(os.path.join(d, "rel")).st_size, len("dir/f"), "lstat size = target length")
    eq(os.path.exists(os.path.join(d, "dangling")), False, "dangling link resolves")


@check
def chmod(d):
    p = os.path.join(d, "m")
    with open(p, "w"):
        pass
    for mode in (0o640, 0o755, 0o400, 0o000, 0o777, 0o2755, 0o4755):
        os.chmod(p, mode)
        eq(oct(os.stat(p).st_mode & 0o7777), oct(mode), "mode after chmod")
    os.mkdir(os.path.join(d, "dir"))
    os.chmod(os.path.join(d, "dir"), 0o700)
    eq(oct(os.stat(os.path.join(d, "dir")).st_mode & 0o7777), oct(0o700), "dir mode")


@check
def utime(d):
    p = os.path.join(d, "u")
    with open(p, "w"):
        pass
    at, mt = 1_234_567_890_123_456_789, 1_600_000_000_987_654_321
    os.utime(p, ns=(at, mt))
    st = os.stat(p)
    eq((st.st_atime_ns, st.st_mtime_ns), (at, mt), "atime/mtime ns after utime")
    os.symlink("u", os.path.join(d, "l"))
    os.utime(os.path.join(d, "l"), ns=(at + 1, mt + 1), follow_symlinks=False)
    eq(os.lstat(os.path.join(d, "l")).st_mtime_ns, mt + 1, "symlink mtime (lutimes)")
    eq(os.stat(p).st_mtime_ns, mt, "target mtime unchanged by lutimes")
    with open(p, "a") as f:
        f.write("x")
    eq(os.stat(p).st_mtime_ns > mt, True, "mtime advances on write")


@check
def statvfs(d):
    s = os.statvfs(d)
    if s.f_blocks <= 0 or s.f_bsize <= 0:
        raise AssertionError(f"statvfs: f_blocks={s.f_blocks} f_bsize={s.f_bsize}")
    if s.f_namemax < 255:
        raise AssertionError(f"statvfs: f_namemax={s.f_namemax}")


@check
def listdir_churn(d):
    stable = {f"stable_{i:04d}" for i in range(300)}
    for n in stable:
        open(os.path.join(d, n), "w").close()
    stop = threading.Event()
    errors = []

    def churn():
        i = 0
        while not stop.is_set():
            p = os.path.join(d, f"churn_{i % 50}")
            try:
                open(p, "w").close()
                os.unlink(p)
            except OSError as e:
                errors.append(e)
                return
            i += 1

    th = threading.Thread(target=churn)
    th.start()
    try:
        for _ in range(30):
            names = os.listdir(d)
            dup = {n for n in names if names.count(n) > 1}
            if dup:
                raise AssertionError(f"duplicate entries: {sorted(dup)[:5]}")
            missing = stable - set(names)
            if missing:
                raise AssertionError(f"missing stable entries: {sorted(missing)[:5]}")
    finally:
        stop.set()
        th.join()
    if errors:
        raise errors[0]


@check
def csv_json(d):
    rows = [["id", "name", "rmse"]] + [[str(i), f"pipe, \"{i}\"\n", f"{i / 7:.6f}"] for i in range(2000)]
    p = os.path.join(d, "predictions.csv")
    with open(p, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    with open(p, newline="") as f:
        eq(list(csv.reader(f)), rows, "csv round trip")
    doc = {"steps": [{"op": "MinMaxScaler", "k": i} for i in range(500)], "é": "ü", "n": None}
    j = os.path.join(d, "pipeline.json")
    with open(j, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
    with open(j, encoding="utf-8") as f:
        eq(json.load(f), doc, "json round trip")


@check
def zip_roundtrip(d):
    p = os.path.join(d, "model.zip")
    members = {f"m/{i}.txt": (f"member {i}\n" * (i * 50)).encode() for i in range(20)}
    members["bin/random.bin"] = os.urandom(300_000)
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    with zipfile.ZipFile(p, "a") as z:  # append mode rewrites the central directory
        z.writestr("late.txt", b"appended")
    members["late.txt"] = b"appended"
    with zipfile.ZipFile(p) as z:
        eq(z.testzip(), None, "zip testzip")
        eq({n: z.read(n) for n in z.namelist()} == members, True, "zip members")


def main():
    if sys.argv[1:] == ["--list"]:
        print("\n".join(CHECKS))
        return
    d, name = sys.argv[1], sys.argv[2]
    CHECKS[name](d)
    print("ok", name)


if __name__ == "__main__":
    main()
