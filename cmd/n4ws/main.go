// Command n4ws keeps nirs4all results in an index (SQLite, or PostgreSQL for a
// team store) + content-addressed blobs (a folder, or S3)
// and mounts them as the workspace tree with FUSE.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/backing"
	_ "github.com/n4ws/n4ws/backing/pgindex" // team stores: the index in PostgreSQL
	_ "github.com/n4ws/n4ws/backing/s3blobs" // team stores: the blobs in S3
	"github.com/n4ws/n4ws/vfs"
)

// globals are the flags every command takes.
type globals struct {
	store    string
	logLevel string
	opened   []*backing.Store // stores this command opened, to wait for the mount
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	g := &globals{}
	err := newRootCmdFor(g).ExecuteContext(ctx)
	stop()
	g.waitForMount(os.Stderr)
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

func newRootCmd() *cobra.Command { return newRootCmdFor(&globals{}) }

func newRootCmdFor(g *globals) *cobra.Command {
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
		newFsckCmd(g), newGCCmd(g), newDemoCmd(g), newCatalogCmd(g), newRunsCmd(g), newStatusCmd(g), newConfigCmd(g), newTrashCmd(g))
	registerBundleCmds(root, g)
	root.AddCommand(newSyncCmd(g), newMigrateCmd(g))
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
	// A running mount may have answered unlinks it has not written yet
	// (vfs/unlink_later.go): it writes them before this command reads.
	if err := vfs.SettleMount(dir, mountApplyTimeout); err != nil {
		fmt.Fprintf(os.Stderr, "n4ws: warning: %v; files just removed through the mount may still show\n", err)
	}
	s, err := backing.Open(ctx, dir, backing.Options{LogChanges: true, Logger: slog.Default()})
	if err == nil {
		g.opened = append(g.opened, s)
	}
	return s, err
}

// mountApplyTimeout bounds how long a command waits for a running mount to
// apply its changes.
const mountApplyTimeout = 2 * time.Second

// waitForMount returns once a running mount has applied the changes this
// command made to its store (see vfs.WaitForMount), so that
// `n4ws … && ls ~/workspace/…` sees them. It runs whether the command
// succeeded or not: a failed command may have changed things too.
func (g *globals) waitForMount(stderr io.Writer) {
	for _, s := range g.opened {
		if !s.LoggedChanges() {
			continue
		}
		if err := vfs.WaitForMount(s.Dir(), mountApplyTimeout); err != nil {
			fmt.Fprintf(stderr, "n4ws: warning: %v; the mount may show the old state for a moment\n", err)
		}
	}
}

func newInitCmd(g *globals) *cobra.Command {
	var team backing.Description
	cmd := &cobra.Command{
		Use:   "init [--index postgres://host/db --blobs s3://bucket/prefix [--s3-endpoint URL]]",
		Short: "Create the store (a no-op when it exists); with --index and --blobs, join a team store",
		Long: "Create the store (a no-op when it exists).\n\n" +
			"With --index and --blobs, the store folder becomes this machine's view of a team store: the\n" +
			"index in a PostgreSQL database, the blobs in an S3 bucket (any S3-compatible server with\n" +
			"--s3-endpoint). The folder keeps a description (store.yaml, no secrets), the spool and a read\n" +
			"cache. Credentials come from PGPASSWORD or ~/.pgpass, and AWS_ACCESS_KEY_ID/\n" +
			"AWS_SECRET_ACCESS_KEY or ~/.aws/credentials. Run the same command on every machine.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := g.storeDir()
			if err != nil {
				return err
			}
			var created bool
			switch {
			case team.Index == "" && team.Blobs == "" && team.S3Endpoint == "":
				created, err = backing.Init(cmd.Context(), dir)
			case team.Index == "" || team.Blobs == "":
				return fmt.Errorf("a team store needs both --index and --blobs")
			default:
				created, err = backing.InitTeam(cmd.Context(), dir, team)
			}
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
	cmd.Flags().StringVar(&team.Index, "index", "", "team store: the PostgreSQL database of the index (postgres://[user@]host[:port]/db)")
	cmd.Flags().StringVar(&team.Blobs, "blobs", "", "team store: the S3 bucket and prefix of the blobs (s3://bucket/prefix)")
	cmd.Flags().StringVar(&team.S3Endpoint, "s3-endpoint", "", "team store: the S3 server when not AWS (http[s]://host:port)")
	return cmd
}
