package shim

import (
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRefuseDevicePluginEnv(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want error
	}{
		{nil, nil},
		{[]string{"PATH=/bin", "PCI=1", "XPCIDEVICE_A=0000:00:01.0"}, nil},
		{[]string{"PATH=/bin", "PCIDEVICE_INTEL_COM_SRIOV=0000:3b:02.1"}, ErrNotImplemented},
	} {
		if err := refuseDevicePluginEnv(&specs.Process{Env: tc.env}); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("refuseDevicePluginEnv(%q) = %v, want %v", tc.env, err, tc.want)
		}
	}
	if err := refuseDevicePluginEnv(nil); err != nil {
		t.Errorf("nil process: %v", err)
	}
}
