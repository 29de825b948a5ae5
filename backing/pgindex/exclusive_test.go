package pgindex

import (
	"context"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing/backingtest"
)

// Two processes' indexes of one database (two pools here): the second
// Exclusive of a name waits until the first is released; another name
// does not wait; and a holder whose pool closes (as a killed mount's
// connections do) frees the lock.
func TestExclusiveAcrossPools(t *testing.T) {
	pg := backingtest.StartPostgres(t)
	ctx := context.Background()
	open := func() *Index {
		x, err := Open(ctx, pg.DSN)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		return x
	}
	a, b := open(), open()

	release, err := a.Exclusive(ctx, "catalog refresh")
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.Exclusive(ctx, "something else")
	if err != nil {
		t.Fatal(err)
	}
	other()
	got := make(chan func(), 1)
	go func() {
		r, err := b.Exclusive(ctx, "catalog refresh")
		if err != nil {
			t.Error(err)
			r = func() {}
		}
		got <- r
	}()
	select {
	case <-got:
		t.Fatal("a second holder got the lock while the first held it")
	case <-time.After(300 * time.Millisecond):
	}
	release()
	var releaseB func()
	select {
	case releaseB = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter did not get the lock within 5s of its release")
	}

	// b holds it; its session ending (its mount killed: the server sees
	// the connection drop) frees the lock, and b's release then copes
	// with the dead connection.
	c := open()
	waitCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := c.Exclusive(waitCtx, "catalog refresh"); err == nil {
		t.Fatal("a third holder got the lock while the second held it")
	}
	var killed bool
	err = c.db.QueryRowContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objid = $1`, uint32(nameKey("catalog refresh"))).Scan(&killed)
	if err != nil || !killed {
		t.Fatalf("end the holder's session: %v %v", killed, err)
	}
	lockCtx, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	r, err := c.Exclusive(lockCtx, "catalog refresh")
	if err != nil {
		t.Fatalf("the lock of an ended session was not freed: %v", err)
	}
	releaseB()
	r()
	// Free for the next holder again, and b works again.
	r, err = b.Exclusive(lockCtx, "catalog refresh")
	if err != nil {
		t.Fatal(err)
	}
	r()
}

// A BeginWrite that gives up waiting for the write lock (its context
// ends) leaves no connection of the pool inside a transaction: later
// writes on the same connections work.
func TestBeginWriteGivingUpLeavesPoolClean(t *testing.T) {
	pg := backingtest.StartPostgres(t)
	ctx := context.Background()
	x, err := Open(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	x.db.SetMaxOpenConns(2)
	holder, err := x.BeginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if tx, err := x.BeginWrite(short); err == nil {
		tx.Rollback()
		t.Fatal("a second writer got the write lock while the first held it")
	}
	if err := holder.Commit(); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		tx, err := x.BeginWrite(ctx)
		if err != nil {
			t.Fatalf("write %d after the give-up: %v", i, err)
		}
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
			t.Fatalf("write %d after the give-up: %v", i, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("commit %d after the give-up: %v", i, err)
		}
	}
}
