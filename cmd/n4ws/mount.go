package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/report"
	"github.com/n4ws/n4ws/vfs"
)

type mountFlags struct {
	foreground  bool
	allowOther  bool
	passthrough string
	durable     bool
	writeback   bool
	debugFUSE   bool
	nodeBudget  int
	readyFD     int
	cpuProfile  string
	memProfile  string
}

func newMountCmd(g *globals) *cobra.Command {
	var f mountFlags
	cmd := &cobra.Command{
		Use:   "mount MOUNTPOINT",
		Short: "Mount the store as a workspace; returns once the mount is ready",
		Long: `Mount the store at MOUNTPOINT. Without --foreground a background process
serves the mount and this command returns once the workspace is ready; its
log goes to <store>/mount.log. Stop it with 'n4ws umount MOUNTPOINT', umount,
fusermount3 -u, or SIGINT/SIGTERM.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.passthrough != "auto" && f.passthrough != "off" {
				return fmt.Errorf("--passthrough %q: want auto or off", f.passthrough)
			}
			mnt, err := prepareMountpoint(args[0])
			if err != nil {
				return err
			}
			if f.foreground {
				return serve(cmd.Context(), g, mnt, f)
			}
			return startDaemon(cmd, g, mnt)
		},
	}
	cmd.Flags().BoolVar(&f.foreground, "foreground", false, "serve in this process until unmounted (for systemd)")
	cmd.Flags().BoolVar(&f.allowOther, "allow-other", false, "let other users access the mount")
	cmd.Flags().StringVar(&f.passthrough, "passthrough", "auto", "FUSE passthrough reads: auto (when the kernel and privileges allow) or off")
	cmd.Flags().BoolVar(&f.durable, "durable", false, "fsync every file's content on close (slower; survives power cuts)")
	cmd.Flags().BoolVar(&f.writeback, "writeback", false, "team store: close returns once new content is staged on this machine; uploads go on in the background (fsync waits for them)")
	cmd.Flags().BoolVar(&f.debugFUSE, "debug-fuse", false, "log every FUSE request")
	cmd.Flags().IntVar(&f.nodeBudget, "node-budget", vfs.DefaultNodeBudget, "files and folders the kernel may keep known before the mount asks it to forget some (about 1 KB of memory each); 0: no limit")
	cmd.Flags().IntVar(&f.readyFD, "ready-fd", 0, "internal: file descriptor to report readiness on")
	cmd.Flags().MarkHidden("ready-fd")
	cmd.Flags().StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the mount process to this file (for pprof)")
	cmd.Flags().MarkHidden("cpuprofile")
	cmd.Flags().StringVar(&f.memProfile, "memprofile", "", "write a heap profile of the mount process to this file at unmount (for pprof)")
	cmd.Flags().MarkHidden("memprofile")
	return cmd
}

// startDaemon runs this program again in the foreground, detached, and
// waits for it to report that the mount is ready or why it failed.
func startDaemon(cmd *cobra.Command, g *globals, mnt string) error {
	dir, err := g.storeDir()
	if err != nil {
		return err
	}
	if !backing.IsStore(dir) {
		return fmt.Errorf("no store at %s: run `n4ws --store %s init` first", dir, dir)
	}
	logFile, err := os.OpenFile(dir+"/mount.log", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open mount log: %w", err)
	}
	defer logFile.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	args := []string{"--store", dir, "--log-level", g.logLevel, "mount", "--foreground", "--ready-fd", "3"}
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		if fl.Name != "foreground" && fl.Name != "ready-fd" {
			args = append(args, "--"+fl.Name+"="+fl.Value.String())
		}
	})
	self, err := os.Executable()
	if err != nil {
		return err
	}
	child := exec.Command(self, append(args, mnt)...)
	child.Stdout, child.Stderr = logFile, logFile
	child.ExtraFiles = []*os.File{w}
	child.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := child.Start(); err != nil {
		w.Close()
		return fmt.Errorf("start mount process: %w", err)
	}
	w.Close()
	msg, _ := bufio.NewReader(r).ReadString('\n')
	msg = strings.TrimSpace(msg)
	if msg == "ready" {
		fmt.Fprintf(cmd.OutOrStdout(), "mounted %s at %s (process %d)\n", dir, mnt, child.Process.Pid)
		child.Process.Release()
		return nil
	}
	child.Wait()
	if msg == "" {
		msg = "the mount process exited without a word; see " + dir + "/mount.log"
	}
	return errors.New(msg)
}

// serve mounts and serves until unmounted or signalled.
func serve(ctx context.Context, g *globals, mnt string, f mountFlags) error {
	applyMemoryLimit(slog.Default())
	var ready io.WriteCloser
	if f.readyFD > 0 {
		ready = os.NewFile(uintptr(f.readyFD), "ready")
		defer ready.Close()
	}
	fail := func(err error) error {
		if ready != nil {
			fmt.Fprintln(ready, err.Error())
		}
		return err
	}
	dir, err := g.storeDir()
	if err != nil {
		return fail(err)
	}
	store, err := backing.Open(context.Background(), dir, backing.Options{Logger: slog.Default(), Durable: f.durable, Writeback: f.writeback, ResumeUploads: true})
	if err != nil {
		return fail(err)
	}
	defer store.Close()
	lock, err := store.LockForMount(os.Getpid())
	if err != nil {
		return fail(err)
	}
	defer lock.Release()
	if err := cleanStaleMount(mnt, dir); err != nil {
		return fail(err)
	}
	bg, stopBg := context.WithCancel(context.Background())
	defer stopBg()
	cat, err := catalog.Open(bg, store, catalog.Options{Logger: slog.Default(), Reports: report.Views{}})
	if err != nil {
		return fail(err)
	}
	proj, err := newProjection(bg, dir, mnt, store.NativeDir())
	if err != nil {
		return fail(err)
	}
	server, err := vfs.Mount(bg, mnt, store, vfs.Options{
		Logger: slog.Default(), AllowOther: f.allowOther, Passthrough: f.passthrough == "auto",
		Durable: f.durable, DebugFUSE: f.debugFUSE, Catalog: cat,
		OnNativeChange: proj.notify, NodeBudget: nodeBudget(f.nodeBudget),
	})
	if err != nil {
		proj.stop()
		return fail(err)
	}
	// The signal that unmounts also stops the projection (its snapshot
	// child is killed: an open file would make the mount busy); an
	// unmount from outside stops it once the mount is gone.
	proj.start(ctx)
	if ready != nil {
		fmt.Fprintln(ready, "ready")
		ready.Close()
		ready = nil
	}
	if f.cpuProfile != "" {
		stop, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			slog.Error("cpu profile", "err", err)
		} else {
			defer stop()
		}
	}
	served := make(chan struct{})
	go unmountOnSignal(ctx, served, server, mnt)
	server.Wait()
	close(served)
	proj.stop() // before the sync: what it wrote last is synced too
	if f.memProfile != "" {
		writeHeapProfile(f.memProfile)
	}
	// Unmounted means durable: every closed file's blob and the index
	// reach the disk before the process (and so `n4ws umount`) returns.
	if err := store.SyncAll(context.Background()); err != nil {
		slog.Error("sync at unmount", "err", err)
		return err
	}
	slog.Info("unmounted", "mountpoint", mnt)
	return nil
}

// unmountOnSignal unmounts when ctx ends (SIGINT/SIGTERM). A busy mount is
// retried, then detached so that the process can still exit cleanly.
func unmountOnSignal(ctx context.Context, served <-chan struct{}, server interface{ Unmount() error }, mnt string) {
	select {
	case <-ctx.Done():
	case <-served: // unmounted from outside: nothing left to do
		return
	}
	for i := 0; i < 5; i++ {
		err := server.Unmount()
		if err == nil {
			return
		}
		slog.Warn("unmount on signal", "mountpoint", mnt, "err", err)
		time.Sleep(200 * time.Millisecond)
	}
	if err := detach(mnt); err != nil {
		slog.Error("detach mount", "mountpoint", mnt, "err", err)
	}
}

// startCPUProfile profiles the mount process until the returned function
// runs (at unmount).
// writeHeapProfile records what the mount still holds (its node tree
// stays reachable until the process exits), to find the cost per node.
func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err == nil {
		runtime.GC()
		err = errors.Join(pprof.WriteHeapProfile(f), f.Close())
	}
	if err != nil {
		slog.Error("heap profile", "err", err)
	}
}

func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// nodeBudget maps --node-budget to vfs.Options.NodeBudget: 0 on the
// command line is no limit (vfs: a negative number).
func nodeBudget(flag int) int {
	if flag <= 0 {
		return -1
	}
	return flag
}
