package shim

import (
	"strings"

	"github.com/kite-vm/kite/devicemgr"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// refuseDevicePluginEnv refuses a container that a device plugin gave host
// PCI functions (PCIDEVICE_<RESOURCE>=<bdf>...): passing them through with
// VFIO and rewriting the variables to guest addresses is not wired into the
// shim yet, and starting the container with host addresses that mean
// nothing in the guest would fail later and less clearly.
func refuseDevicePluginEnv(p *specs.Process) error {
	if p == nil {
		return nil
	}
	for _, kv := range p.Env {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, devicemgr.PCIDeviceEnvPrefix) {
			return errorf(ErrNotImplemented, "%s: PCI passthrough of device-plugin functions is not supported by the shim yet", name)
		}
	}
	return nil
}
