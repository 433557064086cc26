// Package vmtest boots Kite's real guest (kernel + initramfs with the agent)
// under QEMU for integration tests, through the engine's own boot path:
// Options become a configuration (configs.Default with the test's guest,
// accelerator, memory, hotplug method, kernel parameters and agent dial
// timeout) and a vm.Input, vm.PlanMachine plans the VM and vm.Boot boots it.
// A test therefore runs the same command line, agent transport and
// attachment code as a sandbox does.
//
// In the spirit of u-root's vmtest (hugelgupf/vmtest), a failed test gets
// the QEMU command line (the plan's, with its attachments' devices) and the
// tails of the guest console and of QEMU's output in its log, and QEMU is
// stopped when the test ends. The guest comes from KITE_TEST_GUEST_DIR
// (default: guest.dir of the default configuration), the accelerator from
// testutil.Accel, QEMU from KITE_TEST_QEMU or PATH.
//
// # Booting
//
//	vm := vmtest.Start(t, vmtest.Options{Rootfs: vmtest.BusyboxRootfs(t)})
//
// Start returns once the agent answered. vm.Agent, vm.QMP and vm.Machine
// are the connections and the engine's machine; vm.Stop ends it early.
// Options.Devices are raw qemu.Device specs, cold-plugged as attachments
// with no host side; Options.RootPorts adds spare root ports rp0, rp1, ...
// for devices a test plugs or hot-plugs itself.
//
// With Options.Rootfs, the directory is shared with the guest (9p, or
// virtio-fs with its own virtiofsd: Options.SharedFS) and Start sends a
// CreateSandbox (sandbox SandboxID) that mounts it as storage RootfsStorage.
// With Options.AgentReconnect, QEMU reconnects the agent channel after the
// host closed it, and vm.Reconnect returns a client on the new connection.
//
// # Running commands in the guest
//
// On a VM started with Rootfs, one helper runs a command in a container and
// returns what it printed:
//
//	out, code := vm.Run(t, ctx, vmtest.Container{ID: "ping1", Args: []string{"ping", "-c", "1", ip}, Caps: []string{"CAP_NET_RAW"}})
//	out := vm.MustRun(t, ctx, vmtest.Container{Args: []string{"sh", "-c", script}, Mounts: mounts})
//
// Run creates the container on the rootfs storage (with /proc mounted,
// then Container.Mounts; PATH=/bin, then Container.Env; Container.Caps as
// the bounding, effective and permitted sets), starts it, reads its stdout
// to EOF (stderr goes to the test log), waits for its exit code and removes
// the container. MustRun fails the test unless the code is 0. Tests that
// drive a process themselves (stdin, exec, signals) use Create, which only
// creates the container, and ReadAll, which drains one of its streams.
//
// # Images without an agent
//
// Options.WaitMarker boots an image without an agent (the busybox-only
// baseline of the boot benchmark) and waits for a console marker instead.
// vm.Boot waits for the agent, so this one case starts the same plan's
// command line with qemu.Start.
package vmtest
