package shim

import (
	"context"
	"strings"
	"testing"
	"time"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
)

// TestIntegrationBadInput sends the shim what it must refuse, directly
// over its ttrpc socket as containerd would, and checks the status codes
// containerd turns into its own errors.
func TestIntegrationBadInput(t *testing.T) {
	h := requireContainerd(t)
	const id = "badinput"
	h.runDetached(t, id, "sleep", "1000")
	shim := h.shimClient(t, id)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range []struct {
		name string
		call func() error
		want codes.Code
	}{
		{"state of an unknown task", func() error {
			_, err := shim.State(ctx, &taskAPI.StateRequest{ID: "nope"})
			return err
		}, codes.NotFound},
		{"kill of an unknown task", func() error {
			_, err := shim.Kill(ctx, &taskAPI.KillRequest{ID: "nope", Signal: 9})
			return err
		}, codes.NotFound},
		{"start before create", func() error {
			_, err := shim.Start(ctx, &taskAPI.StartRequest{ID: "never-created"})
			return err
		}, codes.NotFound},
		{"start of an unknown exec", func() error {
			_, err := shim.Start(ctx, &taskAPI.StartRequest{ID: id, ExecID: "never-added"})
			return err
		}, codes.NotFound},
		{"start twice", func() error {
			_, err := shim.Start(ctx, &taskAPI.StartRequest{ID: id})
			return err
		}, codes.FailedPrecondition},
		{"delete of a running task", func() error {
			_, err := shim.Delete(ctx, &taskAPI.DeleteRequest{ID: id})
			return err
		}, codes.FailedPrecondition},
		{"resume of a running task", func() error {
			_, err := shim.Resume(ctx, &taskAPI.ResumeRequest{ID: id})
			return err
		}, codes.FailedPrecondition},
		{"checkpoint", func() error {
			_, err := shim.Checkpoint(ctx, &taskAPI.CheckpointTaskRequest{ID: id, Path: t.TempDir()})
			return err
		}, codes.Unimplemented},
		{"exec without a spec", func() error {
			_, err := shim.Exec(ctx, &taskAPI.ExecProcessRequest{ID: id, ExecID: "x"})
			return err
		}, codes.InvalidArgument},
		{"invalid signal", func() error {
			_, err := shim.Kill(ctx, &taskAPI.KillRequest{ID: id, Signal: 99})
			return err
		}, codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := grpcstatus.Code(tc.call()); got != tc.want {
				t.Errorf("code %v, want %v", got, tc.want)
			}
		})
	}
	// The task still runs after all that.
	if ls := h.ctr(t, "task", "ls"); !strings.Contains(ls, id) || !strings.Contains(ls, "RUNNING") {
		t.Errorf("task ls: %q", ls)
	}
}

// TestIntegrationExecIntoStopped: an exec into a task whose process has
// exited is refused, by the shim and so by ctr.
func TestIntegrationExecIntoStopped(t *testing.T) {
	h := requireContainerd(t)
	const id = "stopped"
	h.runDetached(t, id, "true")
	h.waitStopped(t, id)
	out, code := h.exitCode(t, "task", "exec", "--exec-id", "late", id, "true")
	if code == 0 {
		t.Errorf("exec into a stopped task succeeded: %s", out)
	}
	if !strings.Contains(out, "stopped") && !strings.Contains(out, "precondition") {
		t.Errorf("exec into a stopped task: %q, want it to say why", out)
	}
	shim := h.shimClient(t, id)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := shim.Exec(ctx, &taskAPI.ExecProcessRequest{ID: id, ExecID: "late2"})
	if grpcstatus.Code(err) != codes.FailedPrecondition {
		t.Errorf("shim Exec into a stopped task: %v, want FailedPrecondition", err)
	}
}
