package main

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/bundle"
)

const archivesDir = "catalog/archives"

func newCatalogArchiveCmd(g *globals) *cobra.Command {
	var filtered, pipeline bool
	cmd := &cobra.Command{
		Use:   "archive runs/<dataset>/<pipeline> [--filtered|--pipeline]",
		Short: "Keep a pipeline as catalog/archives/{filtered,pipeline}/<dataset>_<date>_<pipeline>.zip (read-only)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			kind, err := kindFlag(bundle.KindFiltered, map[string]*bool{bundle.KindFiltered: &filtered, bundle.KindPipeline: &pipeline})
			if err != nil {
				return err
			}
			ds, pid, err := parseFrom(args[0])
			if err != nil {
				return err
			}
			w, err := g.openWorkspace(ctx)
			if err != nil {
				return err
			}
			defer w.Close()
			spec, err := w.bundleSpec(ctx, kind, pid, ds, pid)
			if err != nil {
				return err
			}
			date := time.Now().UTC().Format("2006-01-02")
			if row, _ := w.pipelineRow(ctx, ds, pid); row != nil {
				date = row.RunDate()
			}
			dst := fmt.Sprintf("%s/%s/%s_%s_%s.zip", archivesDir, kind, ds, date, pid)
			if _, err := w.store.ResolvePath(ctx, dst); err == nil {
				return fmt.Errorf("%s exists already (n4ws catalog forget %s --confirm removes it)", dst, dst)
			}
			plan, err := bundle.NewPlan(ctx, catalog.StoreTree{S: w.store}, spec)
			if err != nil {
				return err
			}
			f, err := buildZipFile(ctx, cmd.ErrOrStderr(), "", plan.Files, "archiving "+pid)
			if err != nil {
				return err
			}
			defer dropTemp(f)
			a, err := w.store.WriteArchive(ctx, dst, f, time.Time{})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "archived %s (%d bytes)\n", dst, a.Size)
			return nil
		},
	}
	cmd.Flags().BoolVar(&filtered, "filtered", false, "the pipeline's files and its binaries (the default)")
	cmd.Flags().BoolVar(&pipeline, "pipeline", false, "every pipeline folder of the dataset and their binaries")
	return cmd
}

// findArchive resolves an archive named by its path, its path below
// catalog/archives/, or its file name.
func findArchive(cmd *cobra.Command, s *backing.Store, name string) (string, error) {
	ctx := cmd.Context()
	name = strings.Trim(name, "/")
	if strings.Contains(name, "..") {
		return "", fmt.Errorf("%q: not an archive name", name)
	}
	cands := []string{name, archivesDir + "/" + name}
	if !strings.Contains(name, "/") {
		for _, k := range []string{"filtered", "pipeline", "best_predictions"} {
			cands = append(cands, archivesDir+"/"+k+"/"+name)
		}
	}
	for _, c := range cands {
		if !strings.HasPrefix(c, archivesDir+"/") || path.Dir(c) == archivesDir {
			continue
		}
		a, err := s.ResolvePath(ctx, c)
		if errors.Is(err, backing.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		if !a.IsRegular() {
			return "", fmt.Errorf("%s is not an archive file", c)
		}
		return c, nil
	}
	return "", fmt.Errorf("no archive %q in %s/", name, archivesDir)
}

func newCatalogForgetCmd(g *globals) *cobra.Command {
	var confirm bool
	cmd := &cobra.Command{
		Use:   "forget <archive> --confirm",
		Short: "Remove an archive of catalog/archives/ (the only way to remove one)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			p, err := findArchive(cmd, s, args[0])
			if err != nil {
				return err
			}
			if !confirm {
				return fmt.Errorf("would remove %s: add --confirm to remove it", p)
			}
			if err := s.RemoveArchive(cmd.Context(), p); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", p)
			return nil
		},
	}
	cmd.Flags().BoolVar(&confirm, "confirm", false, "really remove")
	return cmd
}
