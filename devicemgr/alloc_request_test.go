package devicemgr

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
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

func TestParseOCIDevices(t *testing.T) {
	got, err := ParseOCIDevices([]specs.LinuxDevice{
		{Path: "/dev/vfio/vfio"}, {Path: "/dev/vfio/42"}, {Path: "/dev/fuse"}, {Path: "/dev/vfio/7"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []GroupRequest{{Source: "linux.devices /dev/vfio/42", Group: 42}, {Source: "linux.devices /dev/vfio/7", Group: 7}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseOCIDevices() (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"/dev/vfio/abc", "/dev/vfio/-1", "/dev/vfio/1x"} {
		if _, err := ParseOCIDevices([]specs.LinuxDevice{{Path: bad}}); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseOCIDevices(%q) error = %v, want ErrBadRequest naming it", bad, err)
		}
	}
}

func TestRewritePCIDeviceEnv(t *testing.T) {
	m := map[string]string{"0000:3b:02.0": "0000:01:00.0", "0000:3b:02.1": "0000:02:00.0"}
	env := []string{
		"HOME=/root",
		"PCIDEVICE_INTEL_COM_SRIOV=0000:3b:02.0,0000:3b:02.1",
		`PCIDEVICE_INTEL_COM_SRIOV_INFO={"0000:3b:02.1":{"generic":{"deviceID":"0000:3b:02.1"},"vfio":{"dev-mount":"/dev/vfio/12","mount":"/dev/vfio/vfio"}}}`,
	}
	got, err := RewritePCIDeviceEnv(env, m)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"HOME=/root",
		"PCIDEVICE_INTEL_COM_SRIOV=0000:01:00.0,0000:02:00.0",
		`PCIDEVICE_INTEL_COM_SRIOV_INFO={"0000:02:00.0":{"generic":{"deviceID":"0000:02:00.0"},"vfio":{"dev-mount":"/dev/vfio/12","mount":"/dev/vfio/vfio"}}}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RewritePCIDeviceEnv() (-want +got):\n%s", diff)
	}
}

func TestRewritePCIDeviceEnvUntranslatable(t *testing.T) {
	m := map[string]string{"0000:3b:02.0": "0000:01:00.0"}
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
