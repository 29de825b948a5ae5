"""Raw open/write/close (libc, via ctypes) while a SIGALRM timer fires.

Usage: python3 signal_io.py DIR

The handler is installed with SA_RESTART, as C programs usually install
theirs, so on a local disk none of these calls ever fails with EINTR. On a
FUSE mount each pending signal makes the kernel send FUSE_INTERRUPT; a file
system that answers it with EINTR makes open() or close() fail in programs
that never expected it. Prints what went wrong and exits 1 on any error.
"""
import ctypes
import hashlib
import os
import signal
import sys

libc = ctypes.CDLL(None, use_errno=True)


def main(d):
    signals = [0]

    def handler(sig, frame):
        signals[0] += 1

    signal.signal(signal.SIGALRM, handler)
    signal.siginterrupt(signal.SIGALRM, False)  # SA_RESTART
    data = os.urandom(2 << 20)
    buf = ctypes.create_string_buffer(data, len(data))
    errors, closed = {}, []

    def fail(op):
        key = f"{op}: {os.strerror(ctypes.get_errno())}"
        errors[key] = errors.get(key, 0) + 1

    signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
    try:
        for i in range(40):
            path = os.path.join(d, f"sig{i:03d}.bin")
            fd = libc.open(path.encode(), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            if fd < 0:
                fail("open")
                continue
            if libc.write(fd, buf, len(data)) != len(data):
                fail("write")
            if libc.close(fd) != 0:
                fail("close")
            else:
                closed.append(path)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
    want = hashlib.sha256(data).hexdigest()
    wrong = [p for p in closed if hashlib.sha256(open(p, "rb").read()).hexdigest() != want]
    print(f"signals={signals[0]} files_closed={len(closed)} errors={errors} wrong_content={wrong}")
    if errors or wrong:
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1])
