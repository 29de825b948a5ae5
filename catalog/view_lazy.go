package catalog

import (
	"io"
	"sync"
)

// Lazy views: an entry whose bytes are costly (the Parquet files) is
// rendered when first read or stat'ed, not when its folder is listed, and
// only the file asked for is rendered. The result is kept with the view,
// which the folder cache keeps for the generation.

type lazyContent struct {
	once sync.Once
	fn   func() (content, error)
	data content
	err  error
}

// lazyView makes a view whose content fn renders on first use.
func lazyView(name string, mtime View, fn func() (content, error)) View {
	v := mtime
	v.Name = name
	v.lazy = &lazyContent{fn: fn}
	return v
}

// Content returns a rendered view's bytes (nil for blob views and folders);
// a packed or spilled view's are read anew for each call (use Reader for
// large files).
func (v *View) Content() ([]byte, error) {
	if v.packed != nil {
		return inflate(v.packed, v.Size)
	}
	if v.lazy == nil {
		return v.Data, nil
	}
	c, err := v.rendered()
	if err != nil {
		return nil, err
	}
	return contentBytes(c)
}

// Reader returns a rendered view's bytes as a reader and their size,
// without reading a file kept on disk into memory.
func (v *View) Reader() (io.ReaderAt, int64, error) {
	if v.lazy == nil {
		data, err := v.Content()
		return bytesContent(data), int64(len(data)), err
	}
	c, err := v.rendered()
	if err != nil {
		return nil, 0, err
	}
	return c, c.Size(), nil
}

// rendered renders a lazy view once.
func (v *View) rendered() (content, error) {
	v.lazy.once.Do(func() { v.lazy.data, v.lazy.err = v.lazy.fn() })
	return v.lazy.data, v.lazy.err
}

// ExactSize returns the view's size in bytes, rendering it if needed.
func (v *View) ExactSize() (int64, error) {
	if v.lazy == nil {
		return v.Size, nil
	}
	c, err := v.rendered()
	if err != nil {
		return 0, err
	}
	return c.Size(), nil
}
