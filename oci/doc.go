// Package oci is the OCI CLI's front end on the host side: the
// per-sandbox process that `kite create` starts (RunDaemon), a thin adapter
// from the control protocol (package control) to the engine (package
// sandbox); the init proxy that stands for the container's init
// (RunInitProxy); the OCI hooks (RunHooks); the layout of a container's
// files under the state root (SandboxDir); and the cleanup of a container
// whose processes died (CleanupDead).
//
// # The sandbox process
//
// The process has the engine create the sandbox and the container from the
// bundle (not started), with the container's stdio its own (runc's
// semantics: create's stdio becomes the container's), or a host
// pseudo-terminal whose master went to the console socket (SendConsole);
// then it serves its control socket until `kite delete`, keeping
// state.json in step with what the engine reports (the exit code, a
// degraded share). It owns the VM (QEMU and virtiofsd are its children):
// the container lives as long as it does.
//
// # The init proxy: what the OCI pid is for a VM runtime
//
// runc's clients take the pid runc gives (--pid-file, `state`) for the
// container's init: conmon and the runc shim are child subreapers that
// learn the container's exit by reaping that process, and they signal it
// (podman stop, the runc shim's exec kill). The container's processes
// live in the guest, out of the host's reach, so Kite gives them a host
// process that stands for the init, the init proxy (RunInitProxy):
//
//   - `kite create` starts it, before the sandbox process, in a session of
//     its own with /dev/null as stdio, and leaves it when it exits: it is
//     reparented to the caller's subreaper, like runc's init;
//   - it joins the container's network namespace first (the spec's path,
//     or one Kite makes when the spec asks for a new one and has hooks to
//     fill it: NewNetns), so that /proc/<pid>/ns/net is the container's for
//     a prestart hook, as under runc;
//   - once the sandbox process exists it watches the init over the control
//     socket (control.Watch) and exits when the init has exited and the
//     exit is in state.json, with the init's exit status, or by the same
//     signal when the status says the init was killed by one (128+N for a
//     signal whose default action ends a process): whoever reaps it reads
//     a stopped container;
//   - it forwards every signal it gets (but SIGCHLD, SIGURG and SIGWINCH)
//     to the init through the control socket, as `kite kill` does;
//   - SIGKILL and SIGSTOP cannot be caught: a SIGKILLed proxy ends its
//     watch early, and the sandbox process then kills the init with
//     SIGKILL, so a SIGKILL to the pid kills the container as it would
//     under runc (SIGSTOP stops only the proxy);
//   - if the sandbox process dies, the container died with it: the proxy
//     exits 255 (the exit is unknown, as runc's shim reports a lost one).
//
// `kite state` reports the proxy's pid, and reads a container as stopped
// once either the sandbox process or the proxy is gone (state.State.Alive),
// so that the OCI state never outlives the pid it names. `kite exec
// --pid-file` starts an init proxy for the exec the same way (without the
// network namespace), which stands for the exec: its exit is the exec's,
// the signals it gets go to the exec.
//
// # Where files go
//
// A container's state (state.json, its lock, the sandbox process's log) is
// in <root>/<id>. The sockets (the control socket, the VM's QMP, agent and
// virtiofsd sockets) go in the sandbox directory, SandboxDir: <root>/<id>
// when that leaves room for them (a unix socket path has at most 107
// bytes), else <root>/+<16 hex digits of the id's SHA-256>, as the shim
// names its pods. Docker's runtime root /var/run/docker/runtime-runc/moby
// and its 64-hex ids need the short form; state.json records which one a
// container has.
//
// # Hooks
//
// Every OCI hook runs on the host, where its binary is, with the state on
// stdin (RunHooks), as runc runs it: prestart and createRuntime during
// create, once the init proxy holds the network namespace and before the
// VM boots, so that the interfaces they put there (Docker's veth) are
// carried into the VM; createContainer once the container exists in the
// guest; startContainer during start, before the program runs; poststart
// after it; poststop once the container is deleted. createContainer and
// startContainer run in the container's namespaces under runc; here the
// container's namespaces are in the guest, which cannot run a host
// binary, so they run in the runtime's, on the host. The engine runs no
// hook: the shim's containerd runs its own.
package oci
