package catalog

import "sync"

// Lazy views: an entry whose bytes are costly (the Parquet files) is
// rendered when first read or stat'ed, not when its folder is listed, and
// only the file asked for is rendered. The result is kept with the view,
// which the folder cache keeps for the generation.

type lazyContent struct {
	once sync.Once
	fn   func() ([]byte, error)
	data []byte
	err  error
}

// lazyView makes a view whose content fn renders on first use.
func lazyView(name string, mtime View, fn func() ([]byte, error)) View {
	v := mtime
	v.Name = name
	v.lazy = &lazyContent{fn: fn}
	return v
}

// Content returns a rendered view's bytes (nil for blob views and folders);
// a packed view's are inflated anew for each call.
func (v *View) Content() ([]byte, error) {
	if v.packed != nil {
		return inflate(v.packed, v.Size)
	}
	if v.lazy == nil {
		return v.Data, nil
	}
	v.lazy.once.Do(func() { v.lazy.data, v.lazy.err = v.lazy.fn() })
	return v.lazy.data, v.lazy.err
}

// ExactSize returns the view's size in bytes, rendering it if needed.
func (v *View) ExactSize() (int64, error) {
	if v.lazy == nil {
		return v.Size, nil
	}
	data, err := v.Content()
	return int64(len(data)), err
}
