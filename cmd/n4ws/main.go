// Command n4ws keeps nirs4all results in a SQLite + content-addressed store
// and mounts them as the workspace tree with FUSE.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/backing"
)

// globals are the flags every command takes.
type globals struct {
	store    string
	logLevel string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "n4ws:", err)
		os.Exit(1)
	}
}

// exitError ends the program with a code after its message was printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "n4ws",
		Short:         "Keep and browse nirs4all results: a SQLite + blob store mounted as a workspace",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return g.setupLogging(cmd.ErrOrStderr())
		},
	}
	root.PersistentFlags().StringVar(&g.store, "store", "", "store directory (default $N4WS_STORE, else $XDG_DATA_HOME/n4ws or ~/.local/share/n4ws)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	root.AddCommand(newInitCmd(g), newMountCmd(g), newUmountCmd(g), newStatsCmd(g),
		newFsckCmd(g), newGCCmd(g), newDemoCmd(g), newCatalogCmd(g), newRunsCmd(g), newStatusCmd(g), newConfigCmd(g))
	registerBundleCmds(root, g)
	root.AddCommand(newSnapshotStoreCmd())
	return root
}

func (g *globals) setupLogging(w interface{ Write([]byte) (int, error) }) error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", g.logLevel)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl})))
	return nil
}

// storeDir resolves the store directory from the flag, the environment and
// the XDG default, as an absolute path.
func (g *globals) storeDir() (string, error) {
	dir := g.store
	if dir == "" {
		dir = os.Getenv("N4WS_STORE")
	}
	if dir == "" {
		base := os.Getenv("XDG_DATA_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("find the default store: %w (use --store)", err)
			}
			base = filepath.Join(home, ".local", "share")
		}
		dir = filepath.Join(base, "n4ws")
	}
	return filepath.Abs(dir)
}

// openStore opens the store for a CLI command. Changes are logged so that a
// running mount drops its stale caches.
func (g *globals) openStore(ctx context.Context) (*backing.Store, error) {
	dir, err := g.storeDir()
	if err != nil {
		return nil, err
	}
	return backing.Open(ctx, dir, backing.Options{LogChanges: true, Logger: slog.Default()})
}

func newInitCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create the store (a no-op when it exists)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := g.storeDir()
			if err != nil {
				return err
			}
			created, err := backing.Init(cmd.Context(), dir)
			if err != nil {
				return err
			}
			if created {
				fmt.Fprintf(cmd.OutOrStdout(), "created store %s\n", dir)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "store %s exists already; nothing to do\n", dir)
			}
			return nil
		},
	}
}
