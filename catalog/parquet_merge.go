package catalog

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// mergeParquet joins complete Parquet files of one schema, written with
// the same options (writerOptions), into one file whose row groups are
// theirs, in order. Their pages are copied byte for byte; only the page
// indexes' offsets and the footer are written anew. So a catalog file
// made of one piece per dataset costs, after a change in one dataset, the
// encoding of that dataset's rows and a copy of the others' bytes.
func mergeParquet(files [][]byte) ([]byte, error) {
	var size int
	for _, f := range files {
		size += len(f)
	}
	out := make([]byte, 0, size)
	out = append(out, "PAR1"...)
	var merged format.FileMetaData
	type index struct {
		chunk       *format.ColumnChunk
		column, off []byte
	}
	var indexes []index
	for i, f := range files {
		md, err := parquetFooter(f)
		if err != nil {
			return nil, fmt.Errorf("merge parquet piece %d: %w", i, err)
		}
		end := chunksEnd(md)
		shift := int64(len(out)) - 4
		out = append(out, f[4:end]...)
		for r := range md.RowGroups {
			rg := &md.RowGroups[r]
			rg.Ordinal = int16(len(merged.RowGroups) + r)
			if rg.FileOffset != 0 {
				rg.FileOffset += shift
			}
			for c := range rg.Columns {
				ch := &rg.Columns[c]
				shiftChunk(ch, shift)
				ix, err := shiftedIndexes(f, ch, shift)
				if err != nil {
					return nil, fmt.Errorf("merge parquet piece %d: %w", i, err)
				}
				indexes = append(indexes, index{ch, ix[0], ix[1]})
			}
		}
		if i == 0 {
			merged = *md
			merged.RowGroups, merged.NumRows = nil, 0
		}
		merged.RowGroups = append(merged.RowGroups, md.RowGroups...)
		merged.NumRows += md.NumRows
	}
	// The page indexes follow the row groups, column indexes first, as
	// parquet-go writes them. The chunks were copied into merged by value:
	// point at those copies.
	chunks := make([]*format.ColumnChunk, 0, len(indexes))
	for r := range merged.RowGroups {
		for c := range merged.RowGroups[r].Columns {
			chunks = append(chunks, &merged.RowGroups[r].Columns[c])
		}
	}
	for k, ix := range indexes {
		if len(ix.column) > 0 {
			chunks[k].ColumnIndexOffset, chunks[k].ColumnIndexLength = int64(len(out)), int32(len(ix.column))
			out = append(out, ix.column...)
		}
	}
	for k, ix := range indexes {
		if len(ix.off) > 0 {
			chunks[k].OffsetIndexOffset, chunks[k].OffsetIndexLength = int64(len(out)), int32(len(ix.off))
			out = append(out, ix.off...)
		}
	}
	footer, err := thrift.Marshal(new(thrift.CompactProtocol), &merged)
	if err != nil {
		return nil, fmt.Errorf("merge parquet: footer: %w", err)
	}
	out = append(out, footer...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(footer)))
	return append(out, "PAR1"...), nil
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

// shiftChunk moves a column chunk's page offsets by shift bytes. Zero
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
}

// shiftedIndexes returns a chunk's column index (as it was: it holds no
// offsets) and its offset index with its page offsets moved by shift.
func shiftedIndexes(f []byte, ch *format.ColumnChunk, shift int64) ([2][]byte, error) {
	var out [2][]byte
	if ch.ColumnIndexLength > 0 {
		out[0] = f[ch.ColumnIndexOffset : ch.ColumnIndexOffset+int64(ch.ColumnIndexLength)]
	}
	if ch.OffsetIndexLength > 0 {
		var oi format.OffsetIndex
		raw := f[ch.OffsetIndexOffset : ch.OffsetIndexOffset+int64(ch.OffsetIndexLength)]
		if err := thrift.Unmarshal(new(thrift.CompactProtocol), raw, &oi); err != nil {
			return out, fmt.Errorf("offset index: %w", err)
		}
		for i := range oi.PageLocations {
			oi.PageLocations[i].Offset += shift
		}
		b, err := thrift.Marshal(new(thrift.CompactProtocol), &oi)
		if err != nil {
			return out, fmt.Errorf("offset index: %w", err)
		}
		out[1] = b
	}
	ch.ColumnIndexOffset, ch.ColumnIndexLength, ch.OffsetIndexOffset, ch.OffsetIndexLength = 0, 0, 0, 0
	return out, nil
}
