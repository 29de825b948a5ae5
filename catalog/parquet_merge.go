package catalog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// parquetPart is a complete Parquet file taken apart for mergeParts: the
// bytes of its column chunks, its footer, and each chunk's page indexes.
// A part is never changed once made: merges copy what they shift.
type parquetPart struct {
	md      *format.FileMetaData // offsets as in the file, where body started at 4
	body    partBody             // the file's bytes from 4 to the end of its column chunks
	indexes [][2][]byte          // per chunk, in row group order: column index, offset index
}

// partBody is a part's column chunks: in memory when just rendered, then
// a region of the merged file they were last copied into (on disk).
type partBody struct {
	mem  []byte
	file *spillFile
	off  int64
	n    int64
}

func (b partBody) size() int64 {
	if b.file == nil {
		return int64(len(b.mem))
	}
	return b.n
}

func (b partBody) writeTo(w io.Writer) error {
	if b.file == nil {
		_, err := w.Write(b.mem)
		return err
	}
	// CopyN: a short region would shift every offset after it.
	_, err := io.CopyN(w, io.NewSectionReader(b.file, b.off, b.n), b.n)
	return err
}

// splitParquet takes a complete Parquet file apart. The body is a
// sub-slice of f; the page indexes are copied.
func splitParquet(f []byte) (parquetPart, error) {
	md, err := parquetFooter(f)
	if err != nil {
		return parquetPart{}, err
	}
	p := parquetPart{md: md, body: partBody{mem: f[4:chunksEnd(md)]}}
	for _, rg := range md.RowGroups {
		for _, ch := range rg.Columns {
			var ix [2][]byte
			if ch.ColumnIndexLength > 0 {
				ix[0] = bytes.Clone(f[ch.ColumnIndexOffset : ch.ColumnIndexOffset+int64(ch.ColumnIndexLength)])
			}
			if ch.OffsetIndexLength > 0 {
				ix[1] = bytes.Clone(f[ch.OffsetIndexOffset : ch.OffsetIndexOffset+int64(ch.OffsetIndexLength)])
			}
			p.indexes = append(p.indexes, ix)
		}
	}
	return p, nil
}

// mergeParts joins parts of one schema, written with the same options
// (writerOptions), into one file in folder dir (a spill file: on disk, not
// in the heap) whose row groups are theirs, in order. Their pages are
// copied byte for byte; only the page indexes' offsets and the footer are
// written anew. It also returns where each part's body is in the result,
// so that a caller may keep those instead of the parts' own bytes. So a
// catalog file made of one part per dataset costs, after a change in one
// dataset, the encoding of that dataset's rows and a copy of the others'
// bytes.
func mergeParts(parts []parquetPart, dir string) (*spillFile, []partBody, error) {
	w, err := newSpillWriter(dir)
	if err != nil {
		return nil, nil, err
	}
	if err := writeMerged(w, parts); err != nil {
		w.abort()
		return nil, nil, fmt.Errorf("merge parquet: %w", err)
	}
	starts := make([]int64, len(parts))
	off := int64(4)
	for i, p := range parts {
		starts[i] = off
		off += p.body.size()
	}
	out, err := w.finish()
	if err != nil {
		return nil, nil, err
	}
	bodies := make([]partBody, len(parts))
	for i, p := range parts {
		bodies[i] = partBody{file: out, off: starts[i], n: p.body.size()}
	}
	return out, bodies, nil
}

// writeMerged writes the merged file of parts to w (see mergeParts).
func writeMerged(w *spillWriter, parts []parquetPart) error {
	w.Write([]byte("PAR1"))
	var merged format.FileMetaData
	var indexes [][2][]byte
	for i, p := range parts {
		shift := w.n - 4
		if err := p.body.writeTo(w); err != nil {
			return err
		}
		k := 0
		for _, orig := range p.md.RowGroups {
			rg := orig
			rg.Columns = append([]format.ColumnChunk(nil), orig.Columns...)
			rg.Ordinal = int16(len(merged.RowGroups))
			if rg.FileOffset != 0 {
				rg.FileOffset += shift
			}
			for c := range rg.Columns {
				shiftChunk(&rg.Columns[c], shift)
				off, err := shiftOffsetIndex(p.indexes[k][1], shift)
				if err != nil {
					return fmt.Errorf("part %d: %w", i, err)
				}
				indexes = append(indexes, [2][]byte{p.indexes[k][0], off})
				k++
			}
			merged.RowGroups = append(merged.RowGroups, rg)
		}
		if i == 0 {
			rgs := merged.RowGroups
			merged = *p.md
			merged.RowGroups, merged.NumRows = rgs, 0
		}
		merged.NumRows += p.md.NumRows
	}
	writeIndexes(w, &merged, indexes)
	footer, err := thrift.Marshal(new(thrift.CompactProtocol), &merged)
	if err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	w.Write(footer)
	w.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(footer))))
	_, err = w.Write([]byte("PAR1"))
	return err // a spillWriter keeps its first error
}

// writeIndexes writes the page indexes after the row groups, column
// indexes first, as parquet-go does, and points the chunks at them.
func writeIndexes(w *spillWriter, merged *format.FileMetaData, indexes [][2][]byte) {
	var chunks []*format.ColumnChunk
	for r := range merged.RowGroups {
		for c := range merged.RowGroups[r].Columns {
			chunks = append(chunks, &merged.RowGroups[r].Columns[c])
		}
	}
	for which := range 2 {
		for k, ix := range indexes {
			ch := chunks[k]
			switch {
			case which == 0 && len(ix[0]) > 0:
				ch.ColumnIndexOffset, ch.ColumnIndexLength = w.n, int32(len(ix[0]))
			case which == 1 && len(ix[1]) > 0:
				ch.OffsetIndexOffset, ch.OffsetIndexLength = w.n, int32(len(ix[1]))
			default:
				continue
			}
			w.Write(ix[which])
		}
	}
}

// parquetFooter decodes the file metadata of a complete Parquet file.
func parquetFooter(f []byte) (*format.FileMetaData, error) {
	if len(f) < 12 || !bytes.Equal(f[:4], []byte("PAR1")) || !bytes.Equal(f[len(f)-4:], []byte("PAR1")) {
		return nil, fmt.Errorf("not a parquet file")
	}
	n := int(binary.LittleEndian.Uint32(f[len(f)-8:]))
	if n > len(f)-12 {
		return nil, fmt.Errorf("footer of %d bytes in a file of %d", n, len(f))
	}
	md := new(format.FileMetaData)
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), f[len(f)-8-n:len(f)-8], md); err != nil {
		return nil, fmt.Errorf("footer: %w", err)
	}
	for _, rg := range md.RowGroups {
		for _, ch := range rg.Columns {
			if ch.FilePath != "" || ch.MetaData.BloomFilterOffset != 0 || len(ch.EncryptedColumnMetadata) > 0 {
				return nil, fmt.Errorf("column chunk with an external file, bloom filter or encryption")
			}
		}
	}
	return md, nil
}

// chunksEnd is where a file's column chunks end: its page indexes (if
// any) and footer follow.
func chunksEnd(md *format.FileMetaData) int64 {
	end := int64(4)
	for _, rg := range md.RowGroups {
		for _, ch := range rg.Columns {
			start := ch.MetaData.DataPageOffset
			if d := ch.MetaData.DictionaryPageOffset; d != 0 && d < start {
				start = d
			}
			end = max(end, start+ch.MetaData.TotalCompressedSize)
		}
	}
	return end
}

// shiftChunk moves a column chunk's page offsets by shift bytes and
// forgets its page indexes' places (appendIndexes sets them). Zero
// offsets are absent ones (no page starts at 0, where PAR1 is).
func shiftChunk(ch *format.ColumnChunk, shift int64) {
	ch.FileOffset += shift
	m := &ch.MetaData
	m.DataPageOffset += shift
	if m.DictionaryPageOffset != 0 {
		m.DictionaryPageOffset += shift
	}
	if m.IndexPageOffset != 0 {
		m.IndexPageOffset += shift
	}
	ch.ColumnIndexOffset, ch.ColumnIndexLength, ch.OffsetIndexOffset, ch.OffsetIndexLength = 0, 0, 0, 0
}

// shiftOffsetIndex returns an encoded offset index with its page offsets
// moved by shift (nil for none).
func shiftOffsetIndex(raw []byte, shift int64) ([]byte, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var oi format.OffsetIndex
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), raw, &oi); err != nil {
		return nil, fmt.Errorf("offset index: %w", err)
	}
	for i := range oi.PageLocations {
		oi.PageLocations[i].Offset += shift
	}
	b, err := thrift.Marshal(new(thrift.CompactProtocol), &oi)
	if err != nil {
		return nil, fmt.Errorf("offset index: %w", err)
	}
	return b, nil
}
