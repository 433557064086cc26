// Package container runs container processes inside the guest: runc's model
// in pure Go, without cgo.
//
// Go cannot setns(CLONE_NEWNS) or build a container's root from inside the
// multithreaded agent, so the agent re-executes its own binary as a "stage"
// process (see IsStage and StageMain; the agent's main must call them first).
// For CreateContainer the stage is cloned into new mount, pid, uts and ipc
// namespaces (as the Spec chooses; the network is always the VM's), builds the
// root file system (mounts, /dev, masked and read-only paths, pivot_root),
// reports ready and blocks; Start releases it to apply the process
// attributes (rlimits, credentials, capabilities, no_new_privs, terminal, the
// seccomp filter) and execve the user's process, which so becomes PID 1 of the container with the
// stage's pid. Exec forks a stage into the container's pid namespace from a
// locked, thrown-away thread; that stage joins the mount, uts, ipc and cgroup
// namespaces with setns on its own locked main thread (after unshare(CLONE_FS),
// which setns(CLONE_NEWNS) needs) and execs in the same way.
//
// A stage reports every failure before execve over a sync socket as a
// StageError (`exec "/bin/nope": no such file or directory`), so Create, Start
// and Exec fail with a clear error, not an exit status.
//
// The package owns the container's processes, their stdio descriptors (pipes,
// or a pty master allocated in the container's own devpts so that tty(1)
// inside names /dev/pts/N) and their exit statuses, through the agent's
// reaper. Reading and buffering the streams is the caller's job.
package container
