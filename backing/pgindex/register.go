package pgindex

import (
	"context"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// connectTimeout bounds how long opening a team store waits for its
// database server: an unreachable server is an error, not a hang.
const connectTimeout = 15 * time.Second

func init() {
	open := func(ctx context.Context, rawURL string) (backing.IndexEngine, error) {
		ctx, cancel := context.WithTimeout(ctx, connectTimeout)
		defer cancel()
		return Open(ctx, rawURL)
	}
	backing.RegisterIndex("postgres", open)
	backing.RegisterIndex("postgresql", open)
}
