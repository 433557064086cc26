package shim

import (
	"context"
	"fmt"
	"github.com/kite-vm/kite/shim/internal/cio"
	"github.com/kite-vm/kite/shim/tasks"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/ttrpc"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/sandbox"
)

// logFIFO is the FIFO in the bundle that containerd copies to its own log.
const logFIFO = "log"

// shutdownGrace lets the answer to Shutdown go out before the server closes.
const shutdownGrace = 2 * time.Second

// serve is the daemon: it serves the task service on the inherited socket
// until Shutdown, or SIGTERM, which stops the pod.
func serve(f Flags, cfg *configs.Config) error {
	return serveOn(f, cfg, os.NewFile(listenerFD, "listener"), sandbox.Create)
}

// serveOn is the daemon, serving on listener, its pod's sandbox made by
// create.
func serveOn(f Flags, cfg *configs.Config, listener *os.File, create sandbox.CreateFunc) error {
	bundle, err := os.Getwd()
	if err != nil {
		return err
	}
	pid, err := podID(bundle, f.ID)
	if err != nil {
		return err
	}
	lay := newLayout(cfg.Runtime.Root, f.Address, f.Namespace, pid)
	ln, err := net.FileListener(listener)
	if err != nil {
		return fmt.Errorf("using the inherited socket: %w", err)
	}
	defer os.Remove(lay.socket())
	log := slog.New(slog.NewTextHandler(openLog(), &slog.HandlerOptions{Level: logLevel(f.Debug)})).
		With("runtime", "kite", "namespace", f.Namespace, "pod", pid)
	events := cio.NewPublisher(f.PublishBinary, f.Address, f.Namespace, log)
	svc := tasks.NewService(cfg, lay.key, lay.dir(), events, log, create)
	srv, err := ttrpc.NewServer()
	if err != nil {
		return err
	}
	taskAPI.RegisterTTRPCTaskService(srv, svc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		if err := srv.Serve(ctx, ln); err != nil && err != ttrpc.ErrServerClosed {
			log.Error("serving ttrpc", "err", err)
		}
	}()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-svc.Done():
	case sig := <-sigs:
		log.Info("stopping the pod", "signal", sig)
		svc.StopAll()
	}
	sctx, scancel := context.WithTimeout(ctx, shutdownGrace)
	defer scancel()
	srv.Shutdown(sctx)
	srv.Close()
	ectx, ecancel := context.WithTimeout(ctx, cio.PublishTimeout)
	defer ecancel()
	events.Close(ectx)
	return nil
}

// openLog opens the bundle's log FIFO, which containerd holds open for
// reading; without it (the daemon run by hand) logs are dropped.
func openLog() io.Writer {
	f, err := os.OpenFile(logFIFO, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return io.Discard
	}
	return f
}

func logLevel(debug bool) slog.Level {
	if debug {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}
