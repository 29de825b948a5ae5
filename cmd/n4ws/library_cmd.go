package main

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/bundle"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// registerBundleCmds adds library, export and import, and the archive and
// lifecycle subcommands of catalog and runs.
func registerBundleCmds(root *cobra.Command, g *globals) {
	root.AddCommand(newLibraryCmd(g), newExportCmd(g), newImportCmd(g))
	for _, c := range root.Commands() {
		switch c.Name() {
		case "catalog":
			c.AddCommand(newCatalogArchiveCmd(g), newCatalogForgetCmd(g))
		case "runs":
			c.AddCommand(newRunsListCmd(g), newRunsDeleteCmd(g), newRunsArchiveCmd(g))
		}
	}
}

func newLibraryCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "library",
		Short: "Save trained pipelines as zips in library/trained/, list, show and delete them",
	}
	cmd.AddCommand(newLibrarySaveCmd(g), newLibraryListCmd(g), newLibraryShowCmd(g), newLibraryDeleteCmd(g))
	return cmd
}

// parseFrom reads runs/<dataset>/<pipeline> (or <dataset>/<pipeline>).
func parseFrom(from string) (ds, pid string, err error) {
	p := strings.Trim(strings.TrimPrefix(strings.TrimPrefix(from, "/"), "runs/"), "/")
	ds, pid, ok := strings.Cut(p, "/")
	if !ok || strings.Contains(pid, "/") || pid == "" {
		return "", "", fmt.Errorf("%q: want runs/<dataset>/<pipeline>", from)
	}
	if err := catalog.CheckDatasetName(ds); err != nil {
		return "", "", err
	}
	if !nirs4all.IsPipelineFolder(pid) {
		return "", "", fmt.Errorf("%q is not a pipeline folder name (NNNN_[name_]hash)", pid)
	}
	return ds, pid, nil
}

// kindFlag returns the one kind whose flag is set (def when none).
func kindFlag(def string, flags map[string]*bool) (string, error) {
	kind := ""
	for k, set := range flags {
		if *set {
			if kind != "" {
				return "", fmt.Errorf("--%s and --%s: choose one", kind, k)
			}
			kind = k
		}
	}
	if kind == "" {
		if def == "" {
			return "", errors.New("say which kind: --filtered, --pipeline or --fullrun")
		}
		kind = def
	}
	return kind, nil
}

// bundleSpec fills a spec from the pipeline's folder and catalog row.
func (w *workspace) bundleSpec(ctx context.Context, kind, name, ds, pid string) (bundle.Spec, error) {
	spec := bundle.Spec{Kind: kind, Name: name, Dataset: ds, Pipeline: pid}
	a, err := w.store.ResolvePath(ctx, "runs/"+ds+"/"+pid)
	if err != nil || !a.IsDir() {
		return spec, fmt.Errorf("unknown pipeline runs/%s/%s: no such folder", ds, pid)
	}
	if row, err := w.pipelineRow(ctx, ds, pid); err == nil && row != nil {
		spec.Model, spec.TaskType, spec.Scores = row.Model, row.TaskType, row.Scores
	}
	return spec, nil
}

func (w *workspace) pipelineRow(ctx context.Context, ds, pid string) (*catalog.PipelineRow, error) {
	rows, err := w.cat.Pipelines(ctx, ds)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		if rows[i].PID == pid {
			return &rows[i], nil
		}
	}
	return nil, nil
}

// buildZipFile writes a bundle into a temporary file and returns it,
// rewound; the caller removes it. Ctrl-C stops it midway.
func buildZipFile(ctx context.Context, stderr io.Writer, dir string, files []bundle.File, desc string) (*os.File, error) {
	f, err := os.CreateTemp(dir, ".n4ws-*.zip.tmp")
	if err != nil {
		return nil, err
	}
	bar := newProgress(stderr, desc)
	err = bundle.WriteZip(ctx, f, files, bar.set)
	bar.done()
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

func dropTemp(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

// dataFiles turns --data paths into bundle entries named by base name.
func dataFiles(paths []string) ([]bundle.File, error) {
	var out []bundle.File
	seen := map[string]bool{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("--data: %w", err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("--data %s: not a regular file", p)
		}
		base := filepath.Base(p)
		if seen[base] {
			return nil, fmt.Errorf("--data: two files named %s", base)
		}
		seen[base] = true
		out = append(out, bundle.File{Path: base, Size: st.Size(), Open: func(context.Context) (io.ReadCloser, error) {
			return os.Open(p)
		}})
	}
	return out, nil
}

type saveOpts struct {
	filtered, pipeline, fullrun, force bool
	from, name                         string
	data                               []string
}

func newLibrarySaveCmd(g *globals) *cobra.Command {
	var o saveOpts
	cmd := &cobra.Command{
		Use:   "save --filtered|--pipeline|--fullrun --from runs/<dataset>/<pipeline> --name NAME [--data FILE...]",
		Short: "Save a trained pipeline as library/trained/<type>/NAME.zip",
		Long: "Save a trained pipeline as library/trained/<type>/NAME.zip:\n" +
			"  --filtered  the pipeline's pipeline.json, manifest.yaml, metrics.json, predictions and the binaries it references\n" +
			"  --pipeline  every pipeline folder of the dataset and every binary they reference\n" +
			"  --fullrun   --pipeline plus the training data (--data FILE..., else runs/<dataset>/_data/)\n" +
			"The zip is deterministic. An existing NAME is refused unless --force.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return librarySave(cmd, g, &o) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.filtered, "filtered", false, "the pipeline's files and its binaries")
	f.BoolVar(&o.pipeline, "pipeline", false, "every pipeline folder of the dataset and their binaries")
	f.BoolVar(&o.fullrun, "fullrun", false, "--pipeline plus the training data")
	f.StringVar(&o.from, "from", "", "the pipeline folder: runs/<dataset>/<pipeline>")
	f.StringVar(&o.name, "name", "", "library name (no '/')")
	f.StringSliceVar(&o.data, "data", nil, "training data files for --fullrun (default runs/<dataset>/_data/)")
	f.BoolVar(&o.force, "force", false, "replace an existing zip of that name")
	return cmd
}

func librarySave(cmd *cobra.Command, g *globals, o *saveOpts) error {
	ctx := cmd.Context()
	kind, err := kindFlag("", map[string]*bool{bundle.KindFiltered: &o.filtered, bundle.KindPipeline: &o.pipeline, bundle.KindFullrun: &o.fullrun})
	if err != nil {
		return err
	}
	o.name = strings.TrimSuffix(o.name, ".zip")
	if err := bundle.CheckLibraryName(o.name); err != nil {
		return err
	}
	ds, pid, err := parseFrom(o.from)
	if err != nil {
		return err
	}
	if len(o.data) > 0 && kind != bundle.KindFullrun {
		return errors.New("--data goes with --fullrun")
	}
	extra, err := dataFiles(o.data)
	if err != nil {
		return err
	}
	w, err := g.openWorkspace(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	dst := bundle.LibraryPath(kind, o.name)
	if err := w.checkLibraryFree(ctx, kind, o.name, o.force); err != nil {
		return err
	}
	spec, err := w.bundleSpec(ctx, kind, o.name, ds, pid)
	if err != nil {
		return err
	}
	spec.ExtraData = extra
	plan, err := bundle.NewPlan(ctx, catalog.StoreTree{S: w.store}, spec)
	if err != nil {
		return err
	}
	f, err := buildZipFile(ctx, cmd.ErrOrStderr(), "", plan.Files, "saving "+o.name)
	if err != nil {
		return err
	}
	defer dropTemp(f)
	a, err := w.store.WriteFile(ctx, dst, f, 0o644, time.Time{})
	if err != nil {
		return err
	}
	for _, m := range plan.Meta.Missing {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: binary %s is referenced but not in runs/%s/_binaries/\n", m, ds)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "saved %s (%d files, %d bytes)\n", dst, plan.Meta.Files+1, a.Size)
	return nil
}

// checkLibraryFree refuses a name already used in library/trained/.
func (w *workspace) checkLibraryFree(ctx context.Context, kind, name string, force bool) error {
	for _, k := range bundle.LibraryKinds {
		p := bundle.LibraryPath(k, name)
		_, err := w.store.ResolvePath(ctx, p)
		if errors.Is(err, backing.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if k != kind {
			return fmt.Errorf("%s exists already: library names are unique across types (delete it first)", p)
		}
		if !force {
			return fmt.Errorf("%s exists already (use --force to replace it)", p)
		}
	}
	return nil
}

func newLibraryListCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List library/: trained zips (saved or copied there) and templates",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			items, err := bundle.ListLibrary(cmd.Context(), catalog.StoreTree{S: s})
			if err != nil {
				return err
			}
			if asJSON {
				if items == nil {
					items = []bundle.LibraryItem{}
				}
				return printJSON(cmd.OutOrStdout(), items)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TYPE\tNAME\tSIZE\tPATH")
			for _, it := range items {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", it.Type, it.Name, it.Size, it.Path)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// findLibrary returns the one library item called name.
func findLibrary(ctx context.Context, s *backing.Store, name string) (bundle.LibraryItem, error) {
	items, err := bundle.ListLibrary(ctx, catalog.StoreTree{S: s})
	if err != nil {
		return bundle.LibraryItem{}, err
	}
	found := bundle.FindLibrary(items, name)
	switch len(found) {
	case 0:
		return bundle.LibraryItem{}, fmt.Errorf("no library item %q (see n4ws library list)", name)
	case 1:
		return found[0], nil
	}
	var paths []string
	for _, f := range found {
		paths = append(paths, f.Path)
	}
	return bundle.LibraryItem{}, fmt.Errorf("%q names %d items (%s): give the path below library/", name, len(found), strings.Join(paths, ", "))
}

// openStoreZip reads and checks the zip at p in the store.
func openStoreZip(ctx context.Context, s *backing.Store, p string) ([]*bundle.ZipEntry, func(), error) {
	a, err := s.ResolvePath(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	_, b, err := s.OpenFile(ctx, a.Ino)
	if err != nil {
		return nil, nil, err
	}
	if b == nil {
		return nil, nil, fmt.Errorf("%s: empty file: %w", p, zip.ErrFormat)
	}
	es, err := bundle.OpenZip(b, a.Size)
	if err != nil {
		b.Close()
		return nil, nil, fmt.Errorf("%s: %w", p, err)
	}
	return es, func() { b.Close() }, nil
}
