package vfio

import (
	"errors"
	"net"
	"strings"
	"testing"
)

func mac(t *testing.T, s string) net.HardwareAddr {
	t.Helper()
	m, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestConfigureVFValidation(t *testing.T) {
	tests := []struct {
		name    string
		netdev  string
		vf      int
		cfg     VFConfig
		wantMsg string
	}{
		{name: "empty netdev", netdev: "", cfg: VFConfig{}, wantMsg: `"" is not a network interface name`},
		{name: "long netdev", netdev: "enp59s0f0-toolong", wantMsg: "not a network interface name"},
		{name: "slash in netdev", netdev: "a/b", wantMsg: "not a network interface name"},
		{name: "negative VF", netdev: "enp59s0f0", vf: -1, wantMsg: "VF index -1 is negative"},
		{name: "multicast MAC", netdev: "enp59s0f0", cfg: VFConfig{MAC: mac(t, "01:00:5e:00:00:01")}, wantMsg: "01:00:5e:00:00:01 is a multicast address"},
		{name: "zero MAC", netdev: "enp59s0f0", cfg: VFConfig{MAC: mac(t, "00:00:00:00:00:00")}, wantMsg: "is all zeros"},
		{name: "long MAC", netdev: "enp59s0f0", cfg: VFConfig{MAC: mac(t, "00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01")}, wantMsg: "not a 6-byte"},
		{name: "VLAN 4095", netdev: "enp59s0f0", vf: 2, cfg: VFConfig{VLAN: 4095}, wantMsg: "configuring VF 2 of enp59s0f0: invalid VF configuration: VLAN 4095 is outside 0..4094"},
		{name: "VLAN negative", netdev: "enp59s0f0", cfg: VFConfig{VLAN: -1}, wantMsg: "VLAN -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ConfigureVF(tc.netdev, tc.vf, tc.cfg)
			if !errors.Is(err, ErrBadVFConfig) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("ConfigureVF = %v, want ErrBadVFConfig containing %q", err, tc.wantMsg)
			}
		})
	}
}

func TestVFConfigValid(t *testing.T) {
	on := true
	for _, c := range []VFConfig{
		{},
		{MAC: mac(t, "02:00:00:aa:bb:cc"), VLAN: 100, Trust: &on, SpoofCheck: &on},
		{VLAN: 4094},
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", c, err)
		}
	}
}

// A valid config for a netdev that does not exist reaches netlink and fails
// there, naming the netdev (RTM_GETLINK needs no privilege).
func TestConfigureVFMissingNetdev(t *testing.T) {
	err := ConfigureVF("kitenopf0", 0, VFConfig{VLAN: 10})
	if err == nil || errors.Is(err, ErrBadVFConfig) || !strings.Contains(err.Error(), "kitenopf0") {
		t.Errorf("ConfigureVF = %v, want a lookup error naming kitenopf0", err)
	}
}
