package server

import (
	"strings"
	"testing"

	"github.com/kite-vm/kite/agent/protocol"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
)

// A seccomp profile reaches the container through the RPC: mkdir denied
// with the errno asked for, names the guest lacks skipped; a profile the
// compiler refuses fails CreateContainer with InvalidArgument.
func TestIntegrationSeccompThroughTheRPC(t *testing.T) {
	h, ctx := busyboxSandbox(t)
	c := h.client
	rootfs := &protocol.Rootfs{StorageId: "rootfs", Path: "rootfs"}
	eacces := uint32(unix.EACCES)

	_, err := c.CreateContainer(ctx, &protocol.CreateContainerRequest{ContainerId: "bad", Process: process("true"), Rootfs: rootfs,
		Seccomp: &protocol.Seccomp{DefaultAction: protocol.SeccompAction_SECCOMP_ACTION_ALLOW, Syscalls: []*protocol.SeccompRule{
			{Names: []string{"mkdir"}, Action: protocol.SeccompAction_SECCOMP_ACTION_UNSPECIFIED},
		}}})
	wantCode(t, "a rule without an action", err, codes.InvalidArgument)
	if err == nil || !strings.Contains(err.Error(), "syscalls[0]") {
		t.Errorf("the refusal does not name the rule: %v", err)
	}

	if _, err := c.CreateContainer(ctx, &protocol.CreateContainerRequest{ContainerId: "c1", Rootfs: rootfs,
		Process: process("sh", "-c", "mkdir /tmp/x 2>&1; echo mkdir=$?; echo ok > /tmp/f; cat /tmp/f"),
		Seccomp: &protocol.Seccomp{DefaultAction: protocol.SeccompAction_SECCOMP_ACTION_ALLOW, Syscalls: []*protocol.SeccompRule{
			{Names: []string{"mkdir", "mkdirat", "not_a_syscall"}, Action: protocol.SeccompAction_SECCOMP_ACTION_ERRNO, Errno: &eacces},
		}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartContainer(ctx, &protocol.StartContainerRequest{ContainerId: "c1"}); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, c, c.ReadStdout, "c1", ""); !strings.Contains(got, "Permission denied") || !strings.Contains(got, "mkdir=1\nok\n") {
		t.Errorf("the container printed %q: want mkdir refused with EACCES, the rest working", got)
	}
}
