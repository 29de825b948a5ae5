//go:build linux

package integration

// Python clients that do to the mount root what nirs4all 0.11 does to its
// workspace (FORMATS.md §6.1): sqlite3 with its connect settings and
// pragmas, the arrays/ rewrite under flock, artifacts written in place.

// sqliteWriterPy opens <db> as nirs4all does (isolation_level=None,
// busy_timeout=5000, journal_mode=WAL, foreign_keys=ON, default
// synchronous=FULL), re-runs its DDL, then commits <n> batched
// transactions, printing the id of each one once COMMIT returned, and
// reads back a count every 10 commits, which must never go down. It pauses
// 2 ms between commits, as nirs4all computes between them: back-to-back
// commits from four processes let SQLite's unfair busy wait starve one
// writer past busy_timeout on a loaded machine, on any disk.
const sqliteWriterPy = `
import os, sqlite3, sys, time
db, wid, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
c.execute("PRAGMA busy_timeout=5000")
c.execute("PRAGMA journal_mode=WAL")
c.execute("PRAGMA foreign_keys=ON")
for ddl in (
    "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, name TEXT, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS pipelines (pipeline_id TEXT PRIMARY KEY, run_id TEXT REFERENCES runs(run_id), name TEXT, status TEXT, payload BLOB, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)",
    "CREATE INDEX IF NOT EXISTS idx_pipelines_run ON pipelines(run_id)",
):
    c.execute(ddl)
c.execute("INSERT OR IGNORE INTO runs (run_id, name) VALUES (?, ?)", (wid, "run " + wid))
last = 0
for i in range(n):
    pid = "%s-%d" % (wid, i)
    c.execute("BEGIN")
    c.execute("INSERT INTO pipelines (pipeline_id, run_id, name, status, payload) VALUES (?, ?, ?, 'running', ?)",
              (pid, wid, "cfg", os.urandom(1500)))
    c.execute("UPDATE pipelines SET status = 'completed' WHERE pipeline_id = ?", (pid,))
    c.execute("COMMIT")
    print(pid, flush=True)
    time.sleep(0.002)
    if i % 10 == 0:
        got = c.execute("SELECT count(*) FROM pipelines").fetchone()[0]
        if got < last:
            sys.exit("count went down from %d to %d" % (last, got))
        last = got
c.close()
`

// sqliteCheckPy prints "<integrity_check> <rows> <completed rows>" of <db>.
const sqliteCheckPy = `
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA busy_timeout=5000")
ok = c.execute("PRAGMA integrity_check").fetchone()[0]
n = c.execute("SELECT count(*) FROM pipelines").fetchone()[0]
done = c.execute("SELECT count(*) FROM pipelines WHERE status = 'completed'").fetchone()[0]
print(ok, n, done)
`

// sqliteIDsPy prints every pipeline_id of <db>, one a line.
const sqliteIDsPy = `
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
for (pid,) in c.execute("SELECT pipeline_id FROM pipelines"):
    print(pid)
`

// arraysWriterPy does <n> flushes of nirs4all's ArrayStore to <ws>/arrays:
// under flock on arrays/.lock, read the whole <ds>.parquet, append a line,
// write <ds>.parquet.tmp, fsync it and os.replace it over the original.
// Lost updates show as missing lines.
const arraysWriterPy = `
import fcntl, os, sys
ws, ds, tag, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
d = os.path.join(ws, "arrays")
os.makedirs(d, exist_ok=True)
target = os.path.join(d, ds + ".parquet")
with open(os.path.join(d, ".lock"), "a+") as lock:
    for i in range(n):
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            old = open(target, "rb").read() if os.path.exists(target) else b""
            tmp = target + ".tmp"
            with open(tmp, "wb") as f:
                f.write(old + ("%s %d\n" % (tag, i)).encode())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
`

// mmapSharedPy maps <path> shared and writable (as SQLite maps -shm),
// writes <word> at <off> and, if <peer> is given, waits until the peer's
// word appears at <peer_off> in its own mapping.
const mmapSharedPy = `
import mmap, os, sys, time
path, off, word = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
if os.fstat(fd).st_size < 32768:
    os.ftruncate(fd, 32768)
m = mmap.mmap(fd, 32768, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[off:off + len(word)] = word
if len(sys.argv) > 4:
    peer_off, peer = int(sys.argv[4]), sys.argv[5].encode()
    deadline = time.time() + 10
    while m[peer_off:peer_off + len(peer)] != peer:
        if time.time() > deadline:
            sys.exit("peer word never appeared in the shared mapping")
        time.sleep(0.01)
m.flush()
print("ok")
`

// legacyCheckPy follows nirs4all 0.11's inspect_workspace_format
// (nirs4all/workspace/compat.py) and WorkspaceStore's open on <ws>: it
// prints the format it detects, then opens store.sqlite as nirs4all does,
// creates a table and stamps user_version 5, and prints the version read
// back by a fresh connection.
const legacyCheckPy = `
import pathlib, sqlite3, sys
root = pathlib.Path(sys.argv[1])
sqlite_path = root / "store.sqlite"
def has_prediction_arrays(p):
    try:
        with sqlite3.connect("file:%s?mode=ro" % p.as_posix(), uri=True) as c:
            return c.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='prediction_arrays'").fetchone() is not None
    except sqlite3.DatabaseError:
        return False
if sqlite_path.exists():
    fmt = "sqlite-workspace-legacy-arrays" if has_prediction_arrays(sqlite_path) else "sqlite-workspace-v2"
elif (root / "runs").is_dir() and any((root / "runs").glob("*/*/manifest.yaml")):
    fmt = "fs-runs-legacy"
else:
    fmt = "new-or-empty"
if fmt == "fs-runs-legacy":
    sys.exit("Cannot open legacy filesystem workspace at %s in-place." % root)
root.mkdir(parents=True, exist_ok=True)
c = sqlite3.connect(str(sqlite_path), isolation_level=None)
c.execute("PRAGMA busy_timeout=5000")
if c.execute("PRAGMA user_version").fetchone()[0] > 5:
    sys.exit("too new")
c.execute("PRAGMA journal_mode=WAL")
c.execute("PRAGMA foreign_keys=ON")
c.execute("CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY)")
c.execute("PRAGMA user_version = 5")
c.close()
v = sqlite3.connect(str(sqlite_path)).execute("PRAGMA user_version").fetchone()[0]
print(fmt, v)
`

// openStormPy opens <path> <n> times, alternately read-only and
// read-write, reads it, writes its tag at its slot and closes it: many
// handles of one file come and go across processes, as SQLite connections
// open and close store.sqlite and its -wal.
const openStormPy = `
import os, sys
path, slot, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    if i % 2:
        with open(path, "rb") as f:
            if len(f.read()) < 4096:
                sys.exit("short read")
    else:
        fd = os.open(path, os.O_RDWR)
        os.pwrite(fd, b"%d" % (i % 10), slot)
        os.close(fd)
print("ok")
`
