package backing

import (
	"context"
	"database/sql"
	"io"
)

// querier is what read-only checks need: a read snapshot (*sql.Tx on the
// reader pool), the write transaction (*txn) or the pool itself (*sql.DB).
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queryEach runs query and calls fn for every row, checking ctx as it goes
// so that a long scan can be interrupted.
func queryEach(ctx context.Context, q querier, query string, args []any, fn func(r rowScanner) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for n := 0; rows.Next(); n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ctxReader stops a long copy or hash when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
