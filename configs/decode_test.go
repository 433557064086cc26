package configs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wantErr is one problem a bad file must report.
type wantErr struct {
	line     int // 0: the key is not in the file
	key      string
	is       error
	contains []string // besides file, line and key: the accepted values
}

func TestParseBadFiles(t *testing.T) {
	tests := []struct {
		file string
		want []wantErr
	}{
		{"malformed.toml", []wantErr{
			{3, "hypervisor.memory_mib", ErrSyntax, []string{"malformed.toml:3:14:", "expected value"}},
		}},
		{"unknown-keys.toml", []wantErr{
			{3, "hypervisor.vpcus", ErrUnknownKey, []string{`did you mean "vcpus"?`, "known keys in [hypervisor]: path, machine"}},
			{4, "hypervisor.default_memory", ErrUnknownKey, []string{"memory_mib"}},
			{6, "hypervizor", ErrUnknownKey, []string{`did you mean "hypervisor"?`, "known sections: runtime, hypervisor"}},
		}},
		{"wrong-types.toml", []wantErr{
			{1, "agent", ErrType, []string{"TOML integer, want a table ([agent])"}},
			{4, "hypervisor.vcpus", ErrType, []string{"TOML string, want integer"}},
			{5, "hypervisor.accel", ErrType, []string{"TOML integer, want string"}},
			{6, "hypervisor.console_log", ErrType, []string{"TOML string, want boolean"}},
			{7, "hypervisor.kernel_params", ErrType, []string{"TOML array, want string"}},
			{10, "shared_fs.extra_args", ErrType, []string{"TOML string, want array"}},
			{11, "shared_fs.msize_kib", ErrType, []string{"TOML float, want integer"}},
			{14, "guest.kernel", ErrType, []string{"TOML datetime, want string"}},
			{15, "guest.initrd", ErrType, []string{"TOML table, want string"}},
			{17, "hotplug", ErrType, []string{"TOML array of tables, want a table ([hotplug])"}},
		}},
		{"bad-enums.toml", []wantErr{
			{2, "hypervisor.accel", ErrInvalid, []string{`"kvmm"`, `accepted values: "auto", "kvm", "tcg"`}},
			{3, "hypervisor.machine", ErrInvalid, []string{`"pc"`, `"q35", "microvm"`}},
			{6, "network.model", ErrInvalid, []string{`"tcfilter", "macvtap", "none"`}},
			{7, "network.vhost", ErrInvalid, []string{`"auto", "on", "off"`}},
			{10, "shared_fs.cache", ErrInvalid, []string{`"none"`, `"never", "auto", "always"`}},
			{13, "agent.request_timeout", ErrInvalid, []string{`"5 s"`, `a duration such as "5s"`}},
		}},
		{"impossible.toml", []wantErr{
			{2, "hypervisor.path", ErrInvalid, []string{"an absolute, clean path"}},
			{3, "hypervisor.memory_mib", ErrInvalid, []string{"invalid value 0", "64..8192"}},
			{4, "hypervisor.vcpus", ErrInvalid, []string{"invalid value 17", "1..16", "hypervisor.max_vcpus"}},
			{5, "hypervisor.shutdown_timeout", ErrInvalid, []string{`"0s"`, "100ms..1h0m0s"}},
			{8, "agent.vsock_port", ErrInvalid, []string{"1..4294967294"}},
			{9, "agent.dial_timeout", ErrInvalid, []string{"1s..10m0s"}},
			{12, "network.queues", ErrInvalid, []string{"invalid value 300", "0..256"}},
			{13, "network.vhost_user_socket_pattern", ErrInvalid, []string{"{ip} exactly once"}},
			{14, "network.mtu", ErrInvalid, []string{"0 or 68..65535"}},
			{17, "shared_fs.extra_args", ErrInvalid, []string{`"posix_lock"`, "starting with '-'"}},
			{21, "shared_fs.msize_kib", ErrInvalid, []string{"4..4096"}},
			{24, "hotplug.spare_root_ports", ErrInvalid, []string{"0..32"}},
		}},
		{"microvm-acpi.toml", []wantErr{
			{5, "guest.image_type", ErrInvalid, []string{`needs hypervisor.machine = "q35"`}},
			{0, "hotplug.method", ErrInvalid, []string{`"acpi"`, `use "native"`}},
		}},
		{"vf-rules-bad.toml", []wantErr{
			{5, "devices.vf[0].vlan", ErrInvalid, []string{"invalid value 5000", "0..4094"}},
			{6, "devices.vf[0].vlan_qos", ErrInvalid, []string{"invalid value 9", "0..7"}},
			{8, "devices.vf[1]", ErrInvalid, []string{"the rule sets nothing"}},
			{9, "devices.vf[1].resource", ErrInvalid, []string{`"sriov"`, "intel.com/sriov_netdevice"}},
			{11, "devices.vf[2]", ErrInvalid, []string{"neither"}},
			{14, "devices.vf[3]", ErrInvalid, []string{"the rule sets nothing"}},
			{17, "devices.vf[4].vlan", ErrInvalid, []string{"needs a VLAN ID"}},
			{20, "devices.vf[4].min_tx_rate", ErrInvalid, []string{"200: above max_tx_rate 100"}},
		}},
		{"vf-rules-types.toml", []wantErr{
			{3, "devices.vf[0].vlna", ErrUnknownKey, []string{`did you mean "vlan"?`, "known keys in [[devices.vf]]: pf, resource, vlan"}},
			{4, "devices.vf[0].spoofchk", ErrType, []string{"TOML string, want boolean"}},
			{8, "devices.vf[1].link_state", ErrInvalid, []string{`"down"`, `"auto", "enable", "disable"`}},
			{9, "devices.vf[1].vlan", ErrType, []string{"TOML string, want integer"}},
		}},
		{"mixed.toml", []wantErr{
			{6, "guest.kernal", ErrUnknownKey, []string{`did you mean "kernel"?`}},
			{7, "guest.image_type", ErrInvalid, []string{`"initramfs", "nvdimm"`}},
			{8, "guest.dir", ErrType, []string{"TOML integer, want string"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(path, data)
			if err == nil {
				t.Fatalf("no error; got %+v", c)
			}
			checkErrors(t, err, path, tt.want)
		})
	}
}

// checkErrors checks that err holds exactly the problems in want, in order,
// each an *Error placed in file whose message names the place, the key and
// the accepted values.
func checkErrors(t *testing.T, err error, file string, want []wantErr) {
	t.Helper()
	got := flatten(err)
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(got), len(want), err)
	}
	for i, w := range want {
		var e *Error
		if !errors.As(got[i], &e) {
			t.Errorf("error %d is %T, not *Error: %v", i, got[i], got[i])
			continue
		}
		if e.File != file || e.Line != w.line || e.Key != w.key {
			t.Errorf("error %d at %s:%d key %q, want %s:%d key %q (%v)", i, e.File, e.Line, e.Key, file, w.line, w.key, e)
		}
		if !errors.Is(e, w.is) || !errors.Is(err, w.is) {
			t.Errorf("error %d (%v) is not %v", i, e, w.is)
		}
		// The message starts with the place and the key: "file:line: key: ".
		prefix := w.key + ": "
		switch {
		case file != "" && w.line > 0:
			prefix = fmt.Sprintf("%s:%d:", file, w.line)
		case file != "":
			prefix = file + ": " + prefix
		}
		msg := e.Error()
		if !strings.HasPrefix(msg, prefix) {
			t.Errorf("error %d %q does not start with %q", i, msg, prefix)
		}
		for _, s := range append([]string{w.key + ": "}, w.contains...) {
			if !strings.Contains(msg, s) {
				t.Errorf("error %d %q does not contain %q", i, msg, s)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		key    string // "" when valid
		msg    string
	}{
		{"defaults", func(*Config) {}, "", ""},
		{"max vcpus", func(c *Config) { c.Hypervisor.VCPUs = 16 }, "", ""},
		{"vcpus over max", func(c *Config) { c.Hypervisor.VCPUs = 17 }, "hypervisor.vcpus", "1..16"},
		{"max_vcpus too high", func(c *Config) { c.Hypervisor.MaxVCPUs = 257 }, "hypervisor.max_vcpus", "1..256"},
		{"memory over max", func(c *Config) { c.Hypervisor.MemoryMiB = 8193 }, "hypervisor.memory_mib", "64..8192"},
		{"memory too small", func(c *Config) { c.Hypervisor.MemoryMiB = 63 }, "hypervisor.memory_mib", "64..8192"},
		{"max memory too big", func(c *Config) { c.Hypervisor.MaxMemoryMiB = 1<<20 + 1 }, "hypervisor.max_memory_mib", "64..1048576"},
		{"memory slots", func(c *Config) { c.Hypervisor.MemorySlots = 257 }, "hypervisor.memory_slots", "0..256"},
		{"tb size", func(c *Config) { c.Hypervisor.TCGTBSizeMiB = -1 }, "hypervisor.tcg_tb_size_mib", "0..2048"},
		{"console log too small", func(c *Config) { c.Hypervisor.ConsoleLogKiB = 8 }, "hypervisor.console_log_max_kib", "64..1048576"},
		{"console log unbounded", func(c *Config) { c.Hypervisor.ConsoleLogKiB = 0 }, "hypervisor.console_log_max_kib", "64..1048576"},
		{"empty cpu model", func(c *Config) { c.Hypervisor.CPUModel = "" }, "hypervisor.cpu_model", "without spaces"},
		{"cpu model with space", func(c *Config) { c.Hypervisor.CPUModel = "max -smp 9" }, "hypervisor.cpu_model", "without spaces"},
		{"host cpu under tcg", func(c *Config) { c.Hypervisor.CPUModel, c.Hypervisor.Accel = "host,+vmx", AccelTCG }, "hypervisor.cpu_model", "needs KVM"},
		{"host cpu with auto", func(c *Config) { c.Hypervisor.CPUModel = "host" }, "", ""},
		{"kernel params newline", func(c *Config) { c.Hypervisor.KernelParams = "quiet\ninit=/bin/sh" }, "hypervisor.kernel_params", "no control characters"},
		{"kernel params too long", func(c *Config) { c.Hypervisor.KernelParams = strings.Repeat("a", 1025) }, "hypervisor.kernel_params", "at most 1024 bytes"},
		{"hugepages odd memory", func(c *Config) { c.Hypervisor.Hugepages, c.Hypervisor.MemoryMiB = true, 257 }, "hypervisor.memory_mib", "multiple of 2 MiB"},
		{"hugepages even memory", func(c *Config) { c.Hypervisor.Hugepages, c.Hypervisor.MemoryMiB = true, 258 }, "", ""},
		{"odd memory without hugepages", func(c *Config) { c.Hypervisor.MemoryMiB = 257 }, "", ""},
		{"pinning", func(c *Config) { c.Hypervisor.VCPUPinning = true }, "", ""},
		{"user root", func(c *Config) { c.Hypervisor.User = UserRoot }, "", ""},
		{"user numbers", func(c *Config) { c.Hypervisor.User = "64055:64055" }, "", ""},
		{"user name", func(c *Config) { c.Hypervisor.User = "_qemu.v-1" }, "", ""},
		{"user empty", func(c *Config) { c.Hypervisor.User = "" }, "hypervisor.user", `"root", a user name`},
		{"user uid 0 by number", func(c *Config) { c.Hypervisor.User = "0:0" }, "hypervisor.user", "a uid above 0"},
		{"user with gid only", func(c *Config) { c.Hypervisor.User = "1000:" }, "hypervisor.user", "uid:gid"},
		{"user upper case", func(c *Config) { c.Hypervisor.User = "Kite" }, "hypervisor.user", "a user name"},
		{"user with a colon in a name", func(c *Config) { c.Hypervisor.User = "kite:qemu" }, "hypervisor.user", "uid:gid"},
		{"user too long", func(c *Config) { c.Hypervisor.User = strings.Repeat("k", 33) }, "hypervisor.user", "a user name"},
		{"user uid -1", func(c *Config) { c.Hypervisor.User = "4294967295:1" }, "hypervisor.user", "uid:gid"},
		{"shutdown timeout zero", func(c *Config) { c.Hypervisor.ShutdownTimeout = 0 }, "hypervisor.shutdown_timeout", "100ms..1h0m0s"},
		{"empty enum", func(c *Config) { c.Agent.Transport = "" }, "agent.transport", `"auto", "vsock", "virtio-serial"`},
		{"request timeout", func(c *Config) { c.Agent.RequestTimeout = Duration(2e12 * 3600) }, "agent.request_timeout", "1s..1h0m0s"},
		{"relative root", func(c *Config) { c.Runtime.Root = "run/kite" }, "runtime.root", "absolute"},
		{"unclean root", func(c *Config) { c.Runtime.Root = "/run/../kite" }, "runtime.root", "absolute, clean"},
		{"log format", func(c *Config) { c.Runtime.LogFormat = "xml" }, "runtime.log_format", `"text", "json"`},
		{"guest dir relative", func(c *Config) { c.Guest.Dir = "guest" }, "guest.dir", "absolute"},
		{"empty kernel", func(c *Config) { c.Guest.Kernel = "" }, "guest.kernel", "a clean file path"},
		{"absolute initrd", func(c *Config) { c.Guest.Initrd = "/boot/initrd.img" }, "", ""},
		{"module with path", func(c *Config) { c.Guest.ExtraModules = []string{"../evil"} }, "guest.extra_modules", "module names"},
		{"kernel source", func(c *Config) { c.Guest.KernelSource = "fedora" }, "guest.kernel_source", `"kite", "debian"`},
		{"kernel source debian", func(c *Config) { c.Guest.KernelSource = KernelDebian }, "", ""},
		{"kernel config", func(c *Config) { c.Guest.KernelConfig, c.Guest.KernelSource = "/etc/kite/guest.config", KernelKite }, "", ""},
		{"kernel config relative", func(c *Config) { c.Guest.KernelConfig, c.Guest.KernelSource = "guest.config", KernelKite }, "guest.kernel_config", "absolute"},
		{"kernel config for debian", func(c *Config) { c.Guest.KernelConfig, c.Guest.KernelSource = "/g.config", KernelDebian }, "guest.kernel_config", `kernel_source "kite"`},
		{"nvdimm without slots", func(c *Config) { c.Guest.ImageType, c.Hypervisor.MemorySlots = ImageNVDIMM, 0 }, "hypervisor.memory_slots", "needs at least one memory slot"},
		{"nvdimm on q35", func(c *Config) { c.Guest.ImageType = ImageNVDIMM }, "", ""},
		{"microvm native", func(c *Config) { c.Hypervisor.Machine, c.Hotplug.Method = MachineMicroVM, HotplugNative }, "", ""},
		{"queues 256", func(c *Config) { c.Network.Queues = 256 }, "", ""},
		{"queues negative", func(c *Config) { c.Network.Queues = -1 }, "network.queues", "0..256"},
		{"pattern twice", func(c *Config) { c.Network.VhostUserSocketPattern = "/tmp/{ip}/{ip}.sock" }, "network.vhost_user_socket_pattern", "exactly once"},
		{"mtu 1500", func(c *Config) { c.Network.MTU = 1500 }, "", ""},
		{"virtiofsd relative", func(c *Config) { c.SharedFS.VirtiofsdPath = "virtiofsd" }, "shared_fs.virtiofsd_path", "absolute"},
		{"thread pool", func(c *Config) { c.SharedFS.ThreadPoolSize = 1025 }, "shared_fs.thread_pool_size", "0..1024"},
		{"sandbox none", func(c *Config) { c.SharedFS.Sandbox = "none" }, "shared_fs.sandbox", `"namespace", "chroot"`},
		{"extra args -o last", func(c *Config) { c.SharedFS.ExtraArgs = []string{"-o"} }, "shared_fs.extra_args", "starting with '-'"},
		{"extra args with space", func(c *Config) { c.SharedFS.ExtraArgs = []string{"-o", "a b"} }, "shared_fs.extra_args", "without spaces"},
		{"extra args ok", func(c *Config) { c.SharedFS.ExtraArgs = []string{"-o", "posix_lock", "--thread-pool-size=4"} }, "", ""},
		{"security model", func(c *Config) { c.SharedFS.SecurityModel = "mapped" }, "shared_fs.security_model", `"mapped-xattr"`},
		{"ninep cache", func(c *Config) { c.SharedFS.NinePCache = "writeback" }, "shared_fs.ninep_cache", `"mmap"`},
		{"allocation dir relative", func(c *Config) { c.Devices.AllocationDir = "devices" }, "devices.allocation_dir", "absolute"},
		{"bind timeout", func(c *Config) { c.Devices.BindTimeout = Duration(10e6) }, "devices.bind_timeout", "100ms..5m0s"},
		{"vfio mode", func(c *Config) { c.Devices.VFIOMode = "dpdk" }, "devices.vfio_mode", `"guest-kernel", "vfio"`},
		{"vfio mode without iommu", func(c *Config) { c.Devices.VFIOMode = VFIOUserspace }, "devices.vfio_mode", "needs hypervisor.enable_iommu = true"},
		{"vfio mode with iommu", func(c *Config) { c.Devices.VFIOMode, c.Hypervisor.EnableIOMMU = VFIOUserspace, true }, "", ""},
		{"iommu on microvm", func(c *Config) {
			c.Hypervisor.Machine, c.Hotplug.Method, c.Hypervisor.EnableIOMMU = MachineMicroVM, HotplugNative, true
		}, "hypervisor.enable_iommu", `needs hypervisor.machine = "q35"`},
		{"guest hugepages odd", func(c *Config) { c.Devices.GuestHugepagesMiB = 63 }, "devices.guest_hugepages_mib", "a multiple of 2 MiB"},
		{"guest hugepages all the RAM", func(c *Config) { c.Devices.GuestHugepagesMiB = c.Hypervisor.MemoryMiB }, "devices.guest_hugepages_mib", "must be below hypervisor.memory_mib"},
		{"guest hugepages", func(c *Config) { c.Devices.GuestHugepagesMiB = 128 }, "", ""},
		{"hotplug method", func(c *Config) { c.Hotplug.Method = "shpc" }, "hotplug.method", `"acpi", "native"`},
		{"device timeout", func(c *Config) { c.Hotplug.DeviceTimeout = Duration(6e11) }, "hotplug.device_timeout", "100ms..5m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(c)
			err := c.Validate()
			if tt.key == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			checkErrors(t, err, "", []wantErr{{0, tt.key, ErrInvalid, []string{tt.msg}}})
		})
	}
}
