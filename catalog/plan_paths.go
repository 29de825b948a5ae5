package catalog

import (
	"context"

	"github.com/n4ws/n4ws/backing"
)

// planPaths resolves the paths of dirty folders, for a refresh plan and
// for the pending folders `n4ws status` lists, remembering every folder
// met on the way up. Dirty folders of a deep tree
// share their ancestors: resolving each from the root was quadratic in the
// depth (1,000 nested folders made 500,000 queries, seconds during which
// the mount's reads of computed files wait for the refresh).
type planPaths struct {
	store *backing.Store
	known map[uint64]string // folder → its path, cut after planDepth components
}

// planDepth is how many components of a path a plan (or pendingKind)
// looks at (runs/<dataset>/<pipeline>, and whether there is more below).
const planDepth = 4

func newPlanPaths(s *backing.Store) *planPaths {
	return &planPaths{store: s, known: map[uint64]string{}}
}

// path returns "/"-prefixed path of folder ino, at most planDepth
// components long; backing.ErrNotFound when it was removed.
func (pp *planPaths) path(ctx context.Context, ino uint64) (string, error) {
	type step struct {
		ino  uint64
		name string
	}
	var chain []step
	base := ""
	for cur := ino; cur != backing.RootIno; {
		if p, ok := pp.known[cur]; ok {
			base = p
			break
		}
		parent, name, err := pp.store.ParentOf(ctx, cur)
		if err != nil {
			return "", err
		}
		chain = append(chain, step{cur, name})
		cur = parent
	}
	p := base
	for i := len(chain) - 1; i >= 0; i-- {
		p = cutComponents(p+"/"+chain[i].name, planDepth)
		pp.known[chain[i].ino] = p
	}
	if p == "" {
		return "/", nil
	}
	return p, nil
}

// cutComponents keeps the first n components of a "/"-prefixed path.
func cutComponents(p string, n int) string {
	seen := 0
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			if seen++; seen == n {
				return p[:i]
			}
		}
	}
	return p
}
