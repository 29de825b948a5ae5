package backing_test

import (
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

// rmRF removes p the way rm -rf through the mount does: one Unlink or
// Rmdir per node, children first.
func rmRF(t *testing.T, s *backing.Store, p string) {
	t.Helper()
	a := resolve(t, s, p)
	dir, name := p[:strings.LastIndexByte(p, '/')], p[strings.LastIndexByte(p, '/')+1:]
	parent := resolve(t, s, dir)
	rmNode(t, s, parent.Ino, name, a)
}

// rmNode removes name, node a, from parent as rm -rf does. Files go as the mount removes an open file (Unlink: the trash keeps a
// copy) or, those of even inode, as one no handle has open
// (UnlinkUnopened: the trash keeps the node itself), so that every trash
// test sees items made both ways.
func rmNode(t *testing.T, s *backing.Store, parent uint64, name string, a backing.Attr) {
	t.Helper()
	if !a.IsDir() {
		var un backing.Attr
		var trashed bool
		var err error
		if a.Ino%2 == 0 {
			un, trashed, err = s.UnlinkUnopened(ctx, parent, name, a.Ino)
		} else {
			un, err = s.Unlink(ctx, parent, name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if un.Nlink != 0 && un.Ino == a.Ino && a.Nlink == 1 {
			t.Fatalf("unlink %s: nlink %d after, want 0 (POSIX, trash or not)", name, un.Nlink)
		}
		if un.Nlink == 0 && !trashed {
			if err := s.Purge(ctx, un.Ino); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	names, attrs, err := s.ReadDirPlus(ctx, a.Ino)
	if err != nil {
		t.Fatal(err)
	}
	for i := range names {
		rmNode(t, s, a.Ino, names[i], attrs[i])
	}
	if err := s.Rmdir(ctx, parent, name); err != nil {
		t.Fatal(err)
	}
}

// tree returns every file below p as path → content.
func tree(t *testing.T, s *backing.Store, p string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(string)
	walk = func(p string) {
		a := resolve(t, s, p)
		if !a.IsDir() {
			out[p] = readContent(t, s, p)
			return
		}
		ents, err := s.ReadDir(ctx, a.Ino)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			walk(p + "/" + e.Name)
		}
	}
	walk(p)
	return out
}

func trashItems(t *testing.T, s *backing.Store) []backing.TrashItem {
	t.Helper()
	items, err := s.TrashItems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func fillPipeline(t *testing.T, s *backing.Store, p string) map[string]string {
	t.Helper()
	backingtest.WriteFile(t, s, p+"/metrics.json", `{"rmse": 1}`)
	backingtest.WriteFile(t, s, p+"/predictions.csv", strings.Repeat("1,2\n", 20_000)+p)
	backingtest.WriteFile(t, s, p+"/outputs/plots/a.png", "png"+p)
	if _, err := s.MkdirAll(ctx, p+"/empty", 0o750); err != nil {
		t.Fatal(err)
	}
	return tree(t, s, p)
}

func TestTrashRmRFPipelineAndRestore(t *testing.T) {
	s := backingtest.NewStore(t)
	want := fillPipeline(t, s, "runs/ds/0001_x")
	before := resolve(t, s, "runs/ds/0001_x/outputs")
	rmRF(t, s, "runs/ds/0001_x")
	if _, err := s.ResolvePath(ctx, "runs/ds/0001_x"); !errors.Is(err, backing.ErrNotFound) {
		t.Fatalf("folder still there after rm -rf: %v", err)
	}
	items := trashItems(t, s)
	if len(items) != 1 {
		t.Fatalf("trash items = %+v, want one", items)
	}
	it := items[0]
	if it.Path != "runs/ds/0001_x" || !it.Whole || it.Files != 3 {
		t.Errorf("item = %+v, want whole runs/ds/0001_x with 3 files", it)
	}
	mustClean(t, s)
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.TrashStats.Items != 1 || st.TrashStats.Files != 3 || st.Files != 0 {
		t.Errorf("stats = %+v, want 0 live files and 3 in 1 trash item", st)
	}
	got, err := s.RestoreTrash(ctx, it.ID, backing.RestoreOptions{})
	if err != nil || got != "runs/ds/0001_x" {
		t.Fatalf("restore = %q, %v", got, err)
	}
	if back := tree(t, s, "runs/ds/0001_x"); !equalMaps(back, want) {
		t.Errorf("restored tree differs:\n got %v\nwant %v", keys(back), keys(want))
	}
	if a := resolve(t, s, "runs/ds/0001_x/empty"); a.Mode&0o777 != 0o750 {
		t.Errorf("empty folder mode %o, want 750", a.Mode&0o777)
	}
	if a := resolve(t, s, "runs/ds/0001_x/outputs"); a.Mode != before.Mode || !a.Mtime.Equal(before.Mtime) {
		t.Errorf("outputs/ attrs %o %v, want %o %v", a.Mode, a.Mtime, before.Mode, before.Mtime)
	}
	if len(trashItems(t, s)) != 0 {
		t.Error("item still listed after restore")
	}
	mustClean(t, s)
}

func TestTrashRmRFDatasetIsOneItem(t *testing.T) {
	s := backingtest.NewStore(t)
	fillPipeline(t, s, "runs/ds/0001_x")
	fillPipeline(t, s, "runs/ds/0002_y")
	backingtest.WriteFile(t, s, "runs/ds/_binaries/m.pkl", "model")
	backingtest.WriteFile(t, s, "runs/ds/notes.txt", "notes")
	backingtest.WriteFile(t, s, "runs/other/0001_z/metrics.json", "{}")
	want := tree(t, s, "runs/ds")
	rmRF(t, s, "runs/ds")
	items := trashItems(t, s)
	if len(items) != 1 || items[0].Path != "runs/ds" || !items[0].Whole || items[0].Files != 8 {
		t.Fatalf("items = %+v, want one whole runs/ds with 8 files", items)
	}
	mustClean(t, s)
	if _, err := s.RestoreTrash(ctx, items[0].ID, backing.RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, s, "runs/ds"); !equalMaps(got, want) {
		t.Errorf("restored dataset differs: got %v want %v", keys(got), keys(want))
	}
	mustClean(t, s)
}

func TestTrashSingleFileGoesBackIntoItsFolder(t *testing.T) {
	s := backingtest.NewStore(t)
	fillPipeline(t, s, "runs/ds/0001_x")
	rmRF(t, s, "runs/ds/0001_x/outputs/plots/a.png")
	items := trashItems(t, s)
	if len(items) != 1 || items[0].Whole || items[0].Path != "runs/ds/0001_x" || items[0].Files != 1 {
		t.Fatalf("items = %+v, want one partial item of runs/ds/0001_x", items)
	}
	backingtest.WriteFile(t, s, "runs/ds/0001_x/outputs/plots/a.png", "new")
	_, err := s.RestoreTrash(ctx, items[0].ID, backing.RestoreOptions{})
	wantErr(t, "restore over a taken name", err, backing.ErrExists)
	if !strings.Contains(err.Error(), "runs/ds/0001_x/outputs/plots/a.png exists") {
		t.Errorf("error %q does not name the taken place", err)
	}
	rmRF(t, s, "runs/ds/0001_x/outputs/plots/a.png") // a second item (the first is not reused: fresh name)
	if len(trashItems(t, s)) != 1 {
		t.Errorf("items = %+v: a removal in the same burst joins the item", trashItems(t, s))
	}
	if _, err := s.RestoreTrash(ctx, items[0].ID, backing.RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	// The same burst replaced the older copy: the last removed content is back.
	if got := readContent(t, s, "runs/ds/0001_x/outputs/plots/a.png"); got != "new" {
		t.Errorf("restored a.png = %q, want the last removed content", got)
	}
	mustClean(t, s)
}

func TestTrashMoveRestoreConflictAndTo(t *testing.T) {
	s := backingtest.NewStore(t)
	want := fillPipeline(t, s, "runs/ds/0001_x")
	it, err := s.Trash(ctx, "runs/ds/0001_x")
	if err != nil {
		t.Fatal(err)
	}
	if it.Files != 3 || !it.Whole {
		t.Errorf("item = %+v", it)
	}
	mustClean(t, s)
	if _, err := s.MkdirAll(ctx, "runs/ds/0001_other", 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = s.RestoreTrash(ctx, it.ID, backing.RestoreOptions{UniquePrefix: "0001_"})
	wantErr(t, "restore to a taken number", err, backing.ErrExists)
	got, err := s.RestoreTrash(ctx, it.ID, backing.RestoreOptions{To: "runs/ds/0005_x"})
	if err != nil || got != "runs/ds/0005_x" {
		t.Fatalf("restore --to = %q, %v", got, err)
	}
	for p, c := range want {
		if back := readContent(t, s, strings.Replace(p, "0001_x", "0005_x", 1)); back != c {
			t.Errorf("%s differs after restore", p)
		}
	}
	_, err = s.Trash(ctx, "runs/ds/0005_x/outputs")
	wantErr(t, "trash of a folder inside a pipeline", err, backing.ErrInvalid)
	_, err = s.Trash(ctx, "library/templates")
	wantErr(t, "trash of a skeleton folder", err, backing.ErrPermission)
	mustClean(t, s)
}

func TestTrashOnlyBelowRunsAndNotForRemoveAll(t *testing.T) {
	s := backingtest.NewStore(t)
	backingtest.WriteFile(t, s, "library/templates/a.json", "{}")
	rmRF(t, s, "library/templates/a.json")
	backingtest.WriteFile(t, s, "runs/ds/0001_x/a", "a")
	if _, err := s.RemoveAll(ctx, "runs/ds"); err != nil {
		t.Fatal(err)
	}
	if items := trashItems(t, s); len(items) != 0 {
		t.Errorf("trash = %+v, want empty (library/ and RemoveAll keep nothing)", items)
	}
}

func TestTrashExpireFreesContent(t *testing.T) {
	s := fileStore(t)
	fillPipeline(t, s, "runs/ds/0001_x")
	big := resolve(t, s, "runs/ds/0001_x/predictions.csv")
	rmRF(t, s, "runs/ds/0001_x")
	if rep, err := s.GC(ctx, backing.GCOptions{}); err != nil || rep.Blobs != 0 {
		t.Fatalf("gc with the item in the trash freed %+v, %v", rep, err)
	}
	if refcount(t, s, big.Blob) != 1 {
		t.Errorf("refcount of trashed content = %d, want 1", refcount(t, s, big.Blob))
	}
	d, err := s.ExpireTrash(ctx, time.Now().Add(-time.Hour))
	if err != nil || d.Items != 0 {
		t.Fatalf("expire of a fresh item: %+v, %v", d, err)
	}
	d, err = s.ExpireTrash(ctx, time.Now().Add(time.Second))
	if err != nil || d.Items != 1 || d.Files != 3 {
		t.Fatalf("expire = %+v, %v; want 1 item, 3 files", d, err)
	}
	rep, err := s.GC(ctx, backing.GCOptions{})
	if err != nil || rep.Blobs < 1 || rep.Bytes < big.Size {
		t.Fatalf("gc after expiry freed %+v, %v; want the content of predictions.csv", rep, err)
	}
	if n := blobFiles(t, s); n != 0 {
		t.Errorf("%d blob files left", n)
	}
	mustClean(t, s)
	if st, _ := s.Stats(ctx); st.TrashStats.Items != 0 || st.Dirs != 18 {
		t.Errorf("stats after expiry = %+v", st)
	}
}

func TestTrashEmptyOneItem(t *testing.T) {
	s := backingtest.NewStore(t)
	backingtest.WriteFile(t, s, "runs/ds/0001_x/a", "a")
	backingtest.WriteFile(t, s, "runs/ds/0002_y/b", "b")
	a, _ := s.Trash(ctx, "runs/ds/0001_x")
	b, _ := s.Trash(ctx, "runs/ds/0002_y")
	if _, err := s.EmptyTrash(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	items := trashItems(t, s)
	if len(items) != 1 || items[0].ID != b.ID {
		t.Errorf("items = %+v, want only %d", items, b.ID)
	}
	_, err := s.EmptyTrash(ctx, a.ID)
	wantErr(t, "empty of a gone item", err, backing.ErrNotFound)
	mustClean(t, s)
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestTrashDeepTreeKeepsTheTopLevels(t *testing.T) {
	s := backingtest.NewStore(t)
	backingtest.WriteFile(t, s, "runs/ds/0001_x/top", "top")
	backingtest.WriteFile(t, s, "runs/ds/0001_x"+strings.Repeat("/d", 200)+"/deep", "deep")
	rmRF(t, s, "runs/ds/0001_x")
	items := trashItems(t, s)
	if len(items) != 1 || items[0].Files != 1 || !items[0].Whole {
		t.Fatalf("items = %+v, want one whole item with only the top file", items)
	}
	if _, err := s.RestoreTrash(ctx, items[0].ID, backing.RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := readContent(t, s, "runs/ds/0001_x/top"); got != "top" {
		t.Errorf("top = %q", got)
	}
	mustClean(t, s)
}

// nodeRows counts the index's nodes, live and trashed.
func nodeRows(t *testing.T, s *backing.Store) int {
	t.Helper()
	var n int
	if err := rawDB(t, s).QueryRowContext(ctx, `SELECT count(*) FROM nodes`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A file no handle has open goes to the trash itself: no new node, no
// second reference to its content, nothing to purge; it comes back as the
// same node. A file with another name, or a name that now holds another
// node than the caller saw, goes as a copy.
func TestTrashKeepsUnopenedFileItself(t *testing.T) {
	s := fileStore(t)
	want := fillPipeline(t, s, "runs/ds/0001_x")
	dir := resolve(t, s, "runs/ds/0001_x")
	pred := resolve(t, s, "runs/ds/0001_x/predictions.csv")

	// The name holds another node than the caller saw: a copy (and the
	// trash item of the folder, made by this first removal).
	m := resolve(t, s, "runs/ds/0001_x/metrics.json")
	_, trashed, err := s.UnlinkUnopened(ctx, dir.Ino, "metrics.json", m.Ino+1000)
	if err != nil || trashed {
		t.Fatalf("UnlinkUnopened of another node: trashed %v, %v; want a copy", trashed, err)
	}
	if err := s.Purge(ctx, m.Ino); err != nil {
		t.Fatal(err)
	}

	nodes := nodeRows(t, s)
	un, trashed, err := s.UnlinkUnopened(ctx, dir.Ino, "predictions.csv", pred.Ino)
	if err != nil || !trashed || un.Nlink != 0 || un.Ino != pred.Ino {
		t.Fatalf("UnlinkUnopened = nlink %d ino %d trashed %v, %v; want nlink 0, the same node, trashed", un.Nlink, un.Ino, trashed, err)
	}
	if n := nodeRows(t, s); n != nodes {
		t.Errorf("nodes %d -> %d: the trash made a copy", nodes, n)
	}
	if n := refcount(t, s, pred.Blob); n != 1 {
		t.Errorf("refcount of the trashed content = %d, want 1", n)
	}
	mustClean(t, s)

	// A file with a second name: a copy, the node lives on by that name.
	png := resolve(t, s, "runs/ds/0001_x/outputs/plots/a.png")
	if _, err := s.Link(ctx, png.Ino, dir.Ino, "a_link.png"); err != nil {
		t.Fatal(err)
	}
	plots := resolve(t, s, "runs/ds/0001_x/outputs/plots")
	un, trashed, err = s.UnlinkUnopened(ctx, plots.Ino, "a.png", png.Ino)
	if err != nil || trashed || un.Nlink != 1 {
		t.Fatalf("UnlinkUnopened of a linked file: nlink %d trashed %v, %v; want 1, a copy", un.Nlink, trashed, err)
	}
	if got := readContent(t, s, "runs/ds/0001_x/a_link.png"); got != want["runs/ds/0001_x/outputs/plots/a.png"] {
		t.Errorf("the other name reads %q", got)
	}
	mustClean(t, s)

	items := trashItems(t, s)
	if len(items) != 1 || items[0].Files != 3 {
		t.Fatalf("trash = %+v, want one item of 3 files", items)
	}
	if _, err := s.RestoreTrash(ctx, items[0].ID, backing.RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if back := resolve(t, s, "runs/ds/0001_x/predictions.csv"); back.Ino != pred.Ino {
		t.Errorf("restored predictions.csv is node %d, want %d (the trashed node itself)", back.Ino, pred.Ino)
	}
	for _, p := range []string{"predictions.csv", "metrics.json", "outputs/plots/a.png"} {
		p = "runs/ds/0001_x/" + p
		if got := readContent(t, s, p); got != want[p] {
			t.Errorf("restored %s reads %d bytes, want %d", p, len(got), len(want[p]))
		}
	}
	mustClean(t, s)

	// Emptied from the trash, the node goes and its content with it.
	un, trashed, err = s.UnlinkUnopened(ctx, dir.Ino, "predictions.csv", pred.Ino)
	if err != nil || !trashed {
		t.Fatalf("second UnlinkUnopened: trashed %v, %v", trashed, err)
	}
	if _, err := s.ExpireTrash(ctx, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := refcount(t, s, pred.Blob); n > 0 {
		t.Errorf("refcount of emptied content = %d, want 0", n)
	}
	if _, err := s.GetAttr(ctx, pred.Ino); !errors.Is(err, backing.ErrNotFound) {
		t.Errorf("trashed node after expiry: %v, want not found", err)
	}
	mustClean(t, s)
}
