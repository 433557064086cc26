package sandbox

import (
	"errors"
	"strings"
	"testing"

	"github.com/kite-vm/kite/configs"
)

func TestPodConfigAnnotations(t *testing.T) {
	base := configs.Default()
	base.Hypervisor.MaxVCPUs = 8
	good, err := podConfig(base, map[string]string{
		"io.kite.hypervisor.vcpus":      "2",
		"io.kite.hypervisor.memory_mib": "768",
		"io.kite.network.queues":        "2",
		"org.example.unrelated":         "kept out of it",
	})
	if err != nil {
		t.Fatalf("allowed annotations refused: %v", err)
	}
	if good.Hypervisor.VCPUs != 2 || good.Hypervisor.MemoryMiB != 768 || good.Network.Queues != 2 {
		t.Errorf("annotations not applied: vcpus %d memory %d queues %d", good.Hypervisor.VCPUs, good.Hypervisor.MemoryMiB, good.Network.Queues)
	}
	if base.Hypervisor.VCPUs == 2 {
		t.Error("the runtime's configuration was changed")
	}
	for name, value := range map[string]string{
		"io.kite.hypervisor.path":          "/tmp/evil-qemu",
		"io.kite.guest.kernel":             "/tmp/vmlinuz",
		"io.kite.guest.kernel_params":      "init=/bin/sh",
		"io.kite.hypervisor.kernel_params": "init=/bin/sh",
		"io.kite.hypervisor.memory_mib":    "0",
		"io.kite.hypervisor.vcpus":         "10000",
		"io.kite.network.model":            "bogus",
		"io.kite.hypervisor.vcpu_pinning":  "yes",
		"io.kite.shared_fs.driver":         "9p",
		"io.kite.unknown":                  "1",
	} {
		_, err := podConfig(base, map[string]string{name: value})
		if err == nil {
			t.Errorf("%s=%s accepted", name, value)
			continue
		}
		if !strings.Contains(err.Error(), name) || !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s=%s: error %q does not name the annotation or is not ErrInvalidArgument", name, value, err)
		}
	}
}

func TestLaterContainerAnnotations(t *testing.T) {
	cfg, err := podConfig(configs.Default(), map[string]string{"io.kite.hypervisor.memory_mib": "768"})
	if err != nil {
		t.Fatal(err)
	}
	s := &Sandbox{cfg: Config{ID: "pod", Config: cfg}}
	if err := checkLaterAnnotations(s, "app", map[string]string{"io.kubernetes.cri.container-type": "container"}); err != nil {
		t.Errorf("foreign annotations refused: %v", err)
	}
	if err := checkLaterAnnotations(s, "app", map[string]string{"io.kite.hypervisor.memory_mib": "768"}); err != nil {
		t.Errorf("the pod's own value refused: %v", err)
	}
	err = checkLaterAnnotations(s, "app", map[string]string{"io.kite.hypervisor.memory_mib": "1024"})
	if !errors.Is(err, ErrFailedPrecondition) || !strings.Contains(err.Error(), "io.kite.hypervisor.memory_mib") {
		t.Errorf("a change to the running VM: %v, want ErrFailedPrecondition naming the annotation", err)
	}
	err = checkLaterAnnotations(s, "app", map[string]string{"io.kite.hypervisor.path": "/x"})
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "io.kite.hypervisor.path") {
		t.Errorf("a disallowed annotation: %v, want ErrInvalidArgument naming it", err)
	}
}
