package backing

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Closes answered before their transaction: the close journal.
//
// A new file's close (create_later.go) wrote its node, name and content in
// one index transaction before FLUSH was answered: one transaction per
// file, most of what a small-file create cost the mount. With the journal,
// the close of a new file whose content is small enough to live in the
// index (InlineMax) appends one record (the node, its name, its content)
// to closes.journal in the store's folder with one write(2) and is
// answered; a committer writes the closed files in batches, one index
// transaction for many files, a few milliseconds later.
//
// What still holds:
//   - A file whose close returned is in the store after kill -9 of the
//     mount: the record is in the kernel's page cache, which outlives the
//     process, as the index's own write-ahead log does with
//     synchronous=NORMAL. The next process to open the store writes the
//     records the index lacks (replayCloseJournal) before anything else.
//     A power cut may lose the last records, as it may lose the index's
//     last commits; --durable mounts do not answer creates first at all.
//   - Readers see every answered close: Settle, which every read of the
//     index by the mount and every write transaction does first, writes
//     the pending creates with their content; a CLI command asks the mount
//     to settle through its apply socket.
//   - Records apply once: each carries a sequence number, and the
//     transaction that writes a closed file also stores the highest
//     number it wrote (meta close_journal_seq). The journal is emptied once
//     the index holds all it says.
//   - One writer: the process that appends holds flock(2) on the journal
//     for its life; a process that cannot take it (a mount is running)
//     neither appends nor replays. The lock goes with the process.

const (
	closeJournalName   = "closes.journal"
	closeJournalSeqKey = "close_journal_seq"

	// closeBatchFiles is how many closed files make a batch written at once.
	closeBatchFiles = 256
)

// closeJournalRetry spaces the attempts to take the journal when another
// process holds it or it cannot be opened.
const closeJournalRetry = 5 * time.Second

// closeBatchDelay is how long the first closed file of a batch waits for
// company before the committer writes the batch.
const closeBatchDelay = 20 * time.Millisecond

// closedFile is a pending create whose close was answered: the node as
// answered (content and times) and its content, held in memory until the
// committer writes it.
type closedFile struct {
	a   Attr
	c   Content // Data holds the bytes
	seq uint64  // its record in the journal
}

// closeJournal is the journal of answered closes and its committer.
type closeJournal struct {
	openMu  sync.Mutex    // held while the journal is taken (takeJournal)
	mu      sync.Mutex    // protects the following; taken under creates.mu, never under wmu
	f       *os.File      // open and locked once this process journals; nil before
	off     int64         // end of the last whole record
	last    uint64        // sequence number of the last record appended
	written uint64        // highest sequence number the index holds
	ending  bool          // the store is closing: commit at once
	retryAt time.Time     // the journal could not be taken: commit at once until then
	closed  int           // closed files appended since the committer last took them
	delay   time.Duration // closeBatchDelay, unless a test holds the committer off

	wake   chan struct{} // a closed file waits
	full   chan struct{} // a batch is full
	worker               // the committer
}

func (s *Store) closeJournalPath() string { return filepath.Join(s.dir, closeJournalName) }

// journalsCloses reports whether closes of new files may be answered from
// the journal: a store of one machine whose blobs are a local folder.
func (s *Store) journalsCloses() bool {
	return !s.shared && s.local != nil && !s.opts.Durable
}

// closeLater answers the close of file ino, if its create is pending, with
// small content c from the journal (see the top of this file); false when
// it cannot (the caller commits it as before, under creates.commitMu).
//
// It does not wait for a batch in flight (creates.commitMu): a close that
// waited for the committer's transaction paid up to its whole length, the
// tail of a create's latency. The file never leaves the queue: its record
// is appended and the file marked closed in one hold of creates.mu, which
// every taker of the queue holds too, so a batch or a Settle either takes
// it before (still open: written empty, and this close is then not pending)
// or after (closed: written with this content). The records the queue
// holds closed are thus always the last ones appended, in order, which is
// what the batch's close_journal_seq relies on.
func (s *Store) closeLater(ino uint64, c Content) (Attr, bool) {
	var a Attr
	if !s.journalsCloses() || c.Size > s.opts.InlineMax || c.Size > MaxFileSize || !s.CreatePending(ino) {
		return a, false
	}
	data, err := c.bytes()
	if err != nil {
		return a, false // the caller's commit reports it
	}
	// Every unlink answered before this close is in the index before its
	// record: a replay must find the names free that the mount showed free.
	s.settleUnlinks()
	if !s.takeJournal() {
		return a, false
	}
	now := time.Unix(0, nowNs())
	if c.Mtime.IsZero() {
		c.Mtime = now
	}
	c.Data, c.File = data, ""
	q := &s.creates
	q.mu.Lock()
	defer q.mu.Unlock()
	it, pending := q.items[ino]
	if !pending {
		return a, false // written meanwhile: the caller commits it as any file
	}
	a = it.Attr
	a.Blob, a.Size, a.Mtime, a.Ctime = c.Digest, c.Size, c.Mtime, now
	j := &s.journal
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return a, false // the store is closing
	}
	cf := &closedFile{a: a, c: c, seq: j.last + 1}
	if err := j.appendLocked(encodeClosed(it, cf)); err != nil {
		// A full disk, most likely: this close commits at once (and
		// reports the error if the index cannot take it either).
		s.log.Warn("close journal: append failed; this close commits at once", "err", err)
		return a, false
	}
	j.last = cf.seq
	it.closed = cf
	q.items[ino] = it
	j.closed++
	nudge(j.wake)
	if j.closed >= closeBatchFiles {
		nudge(j.full)
	}
	return a, true
}

// takeJournal reports whether this process journals closes, opening and
// locking the journal the first time (and starting the committer). The
// opening holds journal.openMu and creates.commitMu, not journal.mu: it
// may replay a journal left by another process, transactions that must
// not run under a lock the queue's takers hold.
func (s *Store) takeJournal() bool {
	j := &s.journal
	j.mu.Lock()
	open := j.f != nil
	j.mu.Unlock()
	if open {
		return true
	}
	j.openMu.Lock()
	defer j.openMu.Unlock()
	j.mu.Lock()
	if j.f != nil || j.ending || time.Now().Before(j.retryAt) {
		open = j.f != nil
		j.mu.Unlock()
		return open
	}
	// Until all goes well below: another process may hold the journal
	// for a moment (a CLI command writing what a killed mount left).
	j.retryAt = time.Now().Add(closeJournalRetry)
	j.mu.Unlock()
	s.creates.commitMu.Lock() // the replay writes as the other writers of creates do: one at a time
	defer s.creates.commitMu.Unlock()
	f, seq, ok := s.openJournal()
	if !ok {
		return false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ending {
		f.Close()
		return false
	}
	j.f, j.off, j.last, j.written, j.retryAt = f, 0, seq, seq, time.Time{}
	j.wake, j.full = make(chan struct{}, 1), make(chan struct{}, 1)
	j.worker = startWorker()
	if j.delay == 0 {
		j.delay = closeBatchDelay
	}
	go s.runCloseCommitter(j.delay, j.wake, j.full, j.stop, j.finished)
	return true
}

// openJournal opens and locks the journal, writes what another process
// left in it, and reads the highest record number the index holds.
func (s *Store) openJournal() (*os.File, uint64, bool) {
	f, err := os.OpenFile(s.closeJournalPath(), os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		s.log.Warn("close journal: cannot open it; closes commit at once", "err", err)
		return nil, 0, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		s.log.Warn("close journal: another process holds it; closes commit at once", "err", err)
		return nil, 0, false
	}
	ctx := context.Background()
	if err := s.replayCloseJournalLocked(ctx, f); err != nil {
		f.Close()
		s.log.Warn("close journal: left by an earlier process and not written; closes commit at once", "err", err)
		return nil, 0, false
	}
	seq, err := s.closeJournalSeq(ctx)
	if err != nil {
		f.Close()
		s.log.Warn("close journal: cannot read its position; closes commit at once", "err", err)
		return nil, 0, false
	}
	return f, seq, true
}

// appendLocked writes one record; on failure the journal is cut back to
// its last whole record, so that the records after it stay readable.
func (j *closeJournal) appendLocked(rec []byte) error {
	n, err := j.f.Write(rec)
	if err == nil {
		j.off += int64(n)
		return nil
	}
	if terr := j.f.Truncate(j.off); terr != nil {
		return errors.Join(err, terr)
	}
	return err
}

// noteWritten records that the index holds every record up to seq and
// empties the journal when that is all of it. Call after the
// transaction; a record appended meanwhile keeps the journal as it is.
func (s *Store) noteJournalWritten(seq uint64) {
	j := &s.journal
	j.mu.Lock()
	defer j.mu.Unlock()
	j.written = max(j.written, seq)
	if j.f == nil || j.written < j.last || j.off == 0 {
		return
	}
	if err := j.f.Truncate(0); err != nil {
		s.log.Warn("close journal: cannot empty it", "err", err)
		return
	}
	j.off = 0
}

// journalGaveUp counts the records of items that cannot be written (their
// names taken since by another process, logged) as done, so that the
// journal empties: a later start would fail on them again.
func (s *Store) journalGaveUp(items []CreateItem) {
	var seq uint64
	for _, it := range items {
		if it.closed != nil {
			seq = max(seq, it.closed.seq)
		}
	}
	if seq > 0 {
		s.noteJournalWritten(seq)
	}
}

// runCloseCommitter writes the closed files in batches: closeBatchDelay
// after the first one, or at once when a batch is full; at stop, the rest.
func (s *Store) runCloseCommitter(delay time.Duration, wake, full, stop, finished chan struct{}) {
	defer close(finished)
	for {
		select {
		case <-wake:
		case <-full:
		case <-stop:
			s.settleCreates()
			return
		}
		select {
		case <-time.After(delay):
		case <-full:
		case <-stop:
			s.settleCreates()
			return
		}
		s.writeClosed()
	}
}

// SettleClosed writes the queued unlinks and the new files whose close
// was answered from the journal, leaving the files still open pending: a
// reader of what was closed (the catalog) sees it all, and a file being
// written is not written empty ahead of its close.
func (s *Store) SettleClosed() {
	s.settleUnlinks()
	if s.creates.pending.Load() > 0 {
		s.writeClosed()
	}
}

// writeClosed writes the closed files that wait, in one transaction,
// after the queued unlinks (which were answered before them); the files
// still open stay pending.
func (s *Store) writeClosed() {
	q := &s.creates
	q.commitMu.Lock()
	defer q.commitMu.Unlock()
	s.settleUnlinks()
	s.journal.mu.Lock()
	s.journal.closed = 0
	s.journal.mu.Unlock()
	s.writeCreates(q.takeClosed())
}

// stopCloseJournal writes what waits, stops the committer and releases
// the journal (Close).
func (s *Store) stopCloseJournal() {
	j := &s.journal
	started := halt(&j.mu, &j.worker)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ending = true // a close from now on commits at once
	if !started {
		return
	}
	if j.written < j.last {
		s.log.Error("closed files not written to the index at close; the next start writes them from the journal",
			"records", j.last-j.written)
	}
	j.f.Close() // releases the lock
	j.f, j.ending = nil, true
}

// closeJournalSeq reads the highest record number the index holds.
func (s *Store) closeJournalSeq(ctx context.Context) (uint64, error) {
	var v sql.NullString
	err := s.rdb.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, closeJournalSeqKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !v.Valid) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(v.String, 10, 64)
}

// noteJournalSeq stores, in the transaction that wrote closed files, the
// highest record number written.
func (tx *txn) noteJournalSeq() error {
	if tx.journalSeq == 0 {
		return nil
	}
	_, err := tx.exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		closeJournalSeqKey, strconv.FormatUint(tx.journalSeq, 10))
	return err
}

// replayCloseJournal writes the records a process left in the journal
// (killed before its committer wrote them), when no process holds it.
// Open calls it; an error leaves the records for the next start.
func (s *Store) replayCloseJournal(ctx context.Context) error {
	if !s.journalsCloses() {
		return nil
	}
	st, err := os.Stat(s.closeJournalPath())
	if err != nil || st.Size() == 0 {
		return nil // nothing left (or no journal: a read-only look is fine)
	}
	f, err := os.OpenFile(s.closeJournalPath(), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open close journal: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil // a running mount journals: its records are its own
	}
	return s.replayCloseJournalLocked(ctx, f)
}

// replayCloseJournalLocked writes the records of f (locked) that the index
// lacks, the last one of each file, then empties f.
func (s *Store) replayCloseJournalLocked(ctx context.Context, f *os.File) error {
	recs, err := readClosedRecords(f)
	if err != nil {
		return err
	}
	if len(recs) > 0 {
		done, err := s.closeJournalSeq(ctx)
		if err != nil {
			return fmt.Errorf("close journal: %w", err)
		}
		var items []CreateItem
		last := map[uint64]int{} // a file closed twice: its last record
		for _, it := range recs {
			if it.closed.seq <= done {
				continue
			}
			if i, ok := last[it.Attr.Ino]; ok {
				items[i] = it
				continue
			}
			last[it.Attr.Ino] = len(items)
			items = append(items, it)
		}
		if err := s.replayClosed(ctx, items); err != nil {
			return err
		}
	}
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("empty close journal: %w", err)
	}
	return nil
}

// replayClosed writes items, closed files from the journal, one
// transaction each, skipping those the index has already; one that cannot
// be written (its name taken since) is logged and left out.
func (s *Store) replayClosed(ctx context.Context, items []CreateItem) error {
	written, lost, held := 0, 0, 0
	for _, it := range items {
		had := false
		err := s.writeTx(ctx, true, func(tx *txn) error {
			var one int
			err := tx.queryRow(`SELECT 1 FROM nodes WHERE ino = ?`, it.Attr.Ino).Scan(&one)
			switch {
			case err == nil: // written before the process died
				had = true
				tx.journalSeq = it.closed.seq
			case !errors.Is(err, sql.ErrNoRows):
				return err
			default:
				if err := tx.writePending(it); err != nil {
					return err
				}
			}
			return tx.noteJournalSeq()
		})
		switch {
		case err == nil && had:
			held++
		case err == nil:
			written++
		case permanent(err):
			lost++
			s.log.Error("a closed file from the journal could not be written: its name or folder changed since",
				"dir", it.Parent, "name", it.Name, "ino", it.Attr.Ino, "err", err)
		default:
			return fmt.Errorf("write closed file %q from the journal: %w", it.Name, err)
		}
	}
	if len(items) > 0 {
		s.log.Info("close journal: closed files written to the index", "files", written, "lost", lost, "held_already", held)
	}
	return nil
}

// A record: length of the body (uint32), CRC-32C of the body (uint32),
// then the body: seq, parent, name, the node (ino, mode, uid, gid, flags,
// atime, mtime, ctime), the folder's time (the create's answer), the
// content's digest, size and bytes.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maxClosedRecord bounds a record's body: a length beyond it is damage.
const maxClosedRecord = 64 << 20

func encodeClosed(it CreateItem, cf *closedFile) []byte {
	a := cf.a
	b := make([]byte, 8, 8+96+len(it.Name)+len(cf.c.Data))
	b = binary.AppendUvarint(b, cf.seq)
	b = binary.AppendUvarint(b, it.Parent)
	b = binary.AppendUvarint(b, uint64(len(it.Name)))
	b = append(b, it.Name...)
	for _, v := range []uint64{a.Ino, uint64(a.Mode), uint64(a.Uid), uint64(a.Gid), uint64(a.Flags)} {
		b = binary.AppendUvarint(b, v)
	}
	for _, t := range []time.Time{a.Atime, a.Mtime, a.Ctime, it.Attr.Ctime} {
		b = binary.AppendVarint(b, t.UnixNano())
	}
	b = append(b, a.Blob[:]...)
	b = binary.AppendUvarint(b, uint64(len(cf.c.Data)))
	b = append(b, cf.c.Data...)
	binary.LittleEndian.PutUint32(b[0:4], uint32(len(b)-8))
	binary.LittleEndian.PutUint32(b[4:8], crc32.Checksum(b[8:], castagnoli))
	return b
}

// errTornRecord marks the end of the readable journal: a record cut short
// or damaged (a crash mid-append, a power cut); nothing after it counts.
var errTornRecord = errors.New("torn record")

// readClosedRecords reads f's whole records, in order, stopping at the
// first torn one.
func readClosedRecords(f *os.File) ([]CreateItem, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("read close journal: %w", err)
	}
	r := bufio.NewReaderSize(f, 1<<20)
	var out []CreateItem
	var head [8]byte
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return out, nil // the end, or a header cut short
		}
		n := binary.LittleEndian.Uint32(head[0:4])
		if n > maxClosedRecord {
			return out, nil
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return out, nil
		}
		if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(head[4:8]) {
			return out, nil
		}
		it, err := decodeClosed(body)
		if err != nil {
			return out, nil
		}
		out = append(out, it)
	}
}

func decodeClosed(b []byte) (CreateItem, error) {
	d := decoder{b: b}
	cf := &closedFile{}
	cf.seq = d.uvarint()
	it := CreateItem{Parent: d.uvarint()}
	it.Name = string(d.bytes(d.uvarint()))
	a := &cf.a
	a.Ino = d.uvarint()
	a.Mode, a.Uid, a.Gid, a.Flags = uint32(d.uvarint()), uint32(d.uvarint()), uint32(d.uvarint()), NodeFlags(d.uvarint())
	a.Atime, a.Mtime, a.Ctime = d.time(), d.time(), d.time()
	answered := d.time()
	copy(a.Blob[:], d.bytes(uint64(len(a.Blob))))
	data := d.bytes(d.uvarint())
	if d.err != nil || len(d.b) != 0 {
		return it, errTornRecord
	}
	a.Nlink, a.Size = 1, int64(len(data))
	cf.c = Content{Data: data, Size: a.Size, Digest: a.Blob, Mtime: a.Mtime}
	it.Attr = *a
	it.Attr.Ctime = answered
	it.closed = cf
	return it, nil
}

// decoder reads a record's body; the first short read sets err.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err, d.b = errTornRecord, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) time() time.Time {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err, d.b = errTornRecord, nil
		return time.Time{}
	}
	d.b = d.b[n:]
	return time.Unix(0, v)
}

func (d *decoder) bytes(n uint64) []byte {
	if uint64(len(d.b)) < n {
		d.err, d.b = errTornRecord, nil
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}
