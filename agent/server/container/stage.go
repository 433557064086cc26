package container

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// IsStage reports whether this process was started as a stage: argv[0] or
// argv[1] is "kite-agent-stage". The agent's main (and a test binary's
// TestMain) must then call StageMain before anything else.
func IsStage() bool {
	return len(os.Args) > 0 && os.Args[0] == stageArg0 || len(os.Args) > 1 && os.Args[1] == stageArg0
}

func init() {
	// Namespaces, credentials, capabilities and no_new_privs belong to a
	// thread, and execve keeps those of the thread that calls it. Locking
	// in init keeps the main goroutine — all of StageMain — on the main
	// thread.
	if IsStage() {
		runtime.LockOSThread()
	}
}

// StageMain runs the stage and never returns: it ends in execve of the
// user's process, or reports its failure to the agent and exits 1.
func StageMain() {
	defer func() {
		if r := recover(); r != nil {
			sendMessage(stageSyncFD, errorMessage(fmt.Errorf("stage panic: %v", r)))
			os.Exit(2)
		}
	}()
	err := runStage()
	sendMessage(stageSyncFD, errorMessage(err))
	os.Exit(1)
}

// runStage returns only on failure.
func runStage() error {
	// Until execve the stage is the agent's binary with every capability,
	// inside the container's pid namespace: keep the container's other
	// processes from ptracing it or reading its /proc files (execve of the
	// user's binary makes the process dumpable again).
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return stageErr("setting the stage non-dumpable", err)
	}
	cfg, err := readStageConfig()
	if err != nil {
		return err
	}
	if cfg.Process.OOMScoreAdj != nil {
		// Through the guest's /proc, before the container's root hides it.
		v := []byte(strconv.Itoa(*cfg.Process.OOMScoreAdj))
		if err := os.WriteFile("/proc/self/oom_score_adj", v, 0); err != nil {
			return stageErr("setting oom_score_adj", err)
		}
	}
	if err := enterNamespaces(cfg); err != nil {
		return err
	}
	if cfg.Init != nil {
		if err := buildContainer(cfg.Init, cfg.NoPivot); err != nil {
			return err
		}
	}
	tty, err := reportReady(cfg.Process)
	if err != nil {
		return err
	}
	if cfg.Init != nil {
		if err := awaitStart(); err != nil {
			return err
		}
	}
	return execProcess(cfg.Process, tty, cfg.Seccomp)
}

func stageErr(op string, err error) error { return &StageError{Op: op, Err: err} }

// readStageConfig reads the config pipe and marks the inherited
// descriptors close-on-exec, so none reaches the user's process.
func readStageConfig() (stageConfig, error) {
	var cfg stageConfig
	unix.CloseOnExec(stageConfigFD)
	unix.CloseOnExec(stageSyncFD)
	f := os.NewFile(stageConfigFD, "config")
	defer f.Close()
	if err := json.NewDecoder(f).Decode(&cfg); err != nil {
		return cfg, stageErr("reading stage config", err)
	}
	for i := range cfg.Join {
		unix.CloseOnExec(stageNSFD + i)
	}
	if cfg.ExeFD > 0 {
		unix.CloseOnExec(cfg.ExeFD)
	}
	return cfg, nil
}

// enterNamespaces joins the cgroups (by guest path, so first), then the
// namespaces handed down, then unshares a new cgroup namespace if asked.
func enterNamespaces(cfg stageConfig) error {
	for _, cg := range cfg.Cgroups {
		if err := os.WriteFile(cg+"/cgroup.procs", []byte("0"), 0); err != nil {
			return stageErr(fmt.Sprintf("joining cgroup %q", cg), err)
		}
	}
	// setns(CLONE_NEWNS) refuses a thread that shares its fs_struct (root
	// and cwd) with other threads, as every Go thread does; unsharing it
	// on this locked thread is what makes it allowed.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return stageErr("unsharing fs attributes", err)
	}
	for i, k := range cfg.Join {
		if err := unix.Setns(stageNSFD+i, k.cloneFlag()); err != nil {
			return stageErr(fmt.Sprintf("joining %s namespace", k.procName()), err)
		}
		unix.Close(stageNSFD + i)
	}
	if cfg.NewCgroupNS {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return stageErr("unsharing cgroup namespace", err)
		}
	}
	return nil
}

// reportReady sends ready, with the master of a new pty when the process
// has a terminal, and returns the pty's slave side (-1 without).
func reportReady(p ProcessSpec) (int, error) {
	if !p.Terminal {
		return -1, sendReady(-1)
	}
	master, slave, err := openPty(p.ConsoleSize)
	if err != nil {
		return -1, err
	}
	defer unix.Close(master)
	return slave, sendReady(master)
}

func sendReady(fd int) error {
	var fds []int
	if fd >= 0 {
		fds = append(fds, fd)
	}
	if err := sendMessage(stageSyncFD, message{Kind: msgReady}, fds...); err != nil {
		return stageErr("reporting ready", err)
	}
	return nil
}

// awaitStart blocks until the agent says start; end-of-file means the agent
// gave up on the container.
func awaitStart() error {
	m, err := recvMessage(stageSyncFD)
	if err != nil {
		return stageErr("waiting for start", err)
	}
	if m.Kind != msgStart {
		return stageErr("waiting for start", fmt.Errorf("got message kind %d", m.Kind))
	}
	return nil
}
