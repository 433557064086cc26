package devicemgr

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePCIDeviceEnv(t *testing.T) {
	env := []string{
		"PATH=/bin",
		"PCIDEVICE_INTEL_COM_SRIOV=0000:3b:02.0, 0000:3b:02.1",
		`PCIDEVICE_INTEL_COM_SRIOV_INFO={"0000:3b:02.0":{"generic":{"deviceID":"0000:3b:02.0"},"vfio":{"mount":"/dev/vfio/vfio","dev-mount":"/dev/vfio/11"}}}`,
		"PCIDEVICE_OPENSHIFT_IO_DPDK=0000:af:02.3",
	}
	got, err := ParsePCIDeviceEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	want := []ExactRequest{
		{Source: "PCIDEVICE_INTEL_COM_SRIOV", BDFs: []string{"0000:3b:02.0", "0000:3b:02.1"}},
		{Source: "PCIDEVICE_OPENSHIFT_IO_DPDK", BDFs: []string{"0000:af:02.3"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParsePCIDeviceEnv() (-want +got):\n%s", diff)
	}
}

func TestParsePCIDeviceEnvBadInput(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want []string // in the error
	}{
		{"malformed BDF", []string{"PCIDEVICE_A=0000:3b:2.0"}, []string{"PCIDEVICE_A", `"0000:3b:2.0"`}},
		{"uppercase BDF", []string{"PCIDEVICE_A=0000:3B:02.0"}, []string{"PCIDEVICE_A", "0000:3B:02.0"}},
		{"empty list", []string{"PCIDEVICE_A="}, []string{"PCIDEVICE_A", `""`}},
		{"trailing comma", []string{"PCIDEVICE_A=0000:3b:02.0,"}, []string{"PCIDEVICE_A"}},
		{"duplicate", []string{"PCIDEVICE_A=0000:3b:02.0,0000:3b:02.0"}, []string{"PCIDEVICE_A", "twice"}},
		{"info not JSON", []string{"PCIDEVICE_A=0000:3b:02.0", "PCIDEVICE_A_INFO={"}, []string{"PCIDEVICE_A_INFO"}},
		{"info names another device", []string{"PCIDEVICE_A=0000:3b:02.0", `PCIDEVICE_A_INFO={"0000:3b:02.1":{}}`}, []string{"PCIDEVICE_A_INFO", "0000:3b:02.1"}},
		{"info alone", []string{`PCIDEVICE_A_INFO={}`}, []string{"PCIDEVICE_A_INFO", "PCIDEVICE_A"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePCIDeviceEnv(tt.env)
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("ParsePCIDeviceEnv(%q) error = %v, want ErrBadRequest", tt.env, err)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestRewritePCIDeviceEnv(t *testing.T) {
	env := []string{
		"HOME=/root",
		"PCIDEVICE_INTEL_COM_SRIOV=0000:3b:02.0,0000:3b:02.1",
		`PCIDEVICE_INTEL_COM_SRIOV_INFO={"0000:3b:02.1":{"generic":{"deviceID":"0000:3b:02.1"},"vfio":{"dev-mount":"/dev/vfio/12","mount":"/dev/vfio/vfio"},"extra":{"k":"v"}}}`,
	}
	for _, tt := range []struct {
		name  string
		guest map[string]GuestFunction
		info  string
	}{
		{"guest kernel", map[string]GuestFunction{"0000:3b:02.0": {Addr: "0000:01:00.0"}, "0000:3b:02.1": {Addr: "0000:02:00.0"}},
			`{"0000:02:00.0":{"extra":{"k":"v"},"generic":{"deviceID":"0000:02:00.0"}}}`},
		{"vfio", map[string]GuestFunction{"0000:3b:02.0": {Addr: "0000:01:00.0", VFIONode: "/dev/vfio/3"}, "0000:3b:02.1": {Addr: "0000:02:00.0", VFIONode: "/dev/vfio/4"}},
			`{"0000:02:00.0":{"extra":{"k":"v"},"generic":{"deviceID":"0000:02:00.0"},"vfio":{"dev-mount":"/dev/vfio/4","mount":"/dev/vfio/vfio"}}}`},
	} {
		got, err := RewritePCIDeviceEnv(env, tt.guest)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"HOME=/root", "PCIDEVICE_INTEL_COM_SRIOV=0000:01:00.0,0000:02:00.0", "PCIDEVICE_INTEL_COM_SRIOV_INFO=" + tt.info}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: RewritePCIDeviceEnv() (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestRewritePCIDeviceEnvUntranslatable(t *testing.T) {
	m := map[string]GuestFunction{"0000:3b:02.0": {Addr: "0000:01:00.0"}}
	tests := []struct {
		name    string
		env     []string
		wantErr error
		want    []string
	}{
		{"list", []string{"PCIDEVICE_A=0000:3b:02.0,0000:3b:02.7"}, ErrUntranslatable, []string{"PCIDEVICE_A", "0000:3b:02.7"}},
		{"info key", []string{`PCIDEVICE_A_INFO={"0000:3b:02.7":{}}`}, ErrUntranslatable, []string{"PCIDEVICE_A_INFO", "0000:3b:02.7"}},
		{"info deviceID", []string{`PCIDEVICE_A_INFO={"0000:3b:02.0":{"generic":{"deviceID":"0000:3b:02.7"}}}`}, ErrUntranslatable, []string{"PCIDEVICE_A_INFO", "0000:3b:02.7"}},
		{"malformed list", []string{"PCIDEVICE_A=garbage"}, ErrBadRequest, []string{"PCIDEVICE_A", "garbage"}},
		{"malformed info", []string{"PCIDEVICE_A_INFO=[1]"}, ErrBadRequest, []string{"PCIDEVICE_A_INFO"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := RewritePCIDeviceEnv(tt.env, m)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("RewritePCIDeviceEnv() error = %v, want %v", err, tt.wantErr)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}
