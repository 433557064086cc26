package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/kite-vm/kite/agent/server/reaper"
	"golang.org/x/sys/unix"
)

// stageArg0 is the stage's argv[0]; IsStage looks for it.
const stageArg0 = "kite-agent-stage"

// stageRequest is how to start one stage.
type stageRequest struct {
	config     stageConfig
	cloneflags uintptr
	// pidNS, when set, is joined by the forking thread so that the stage
	// is born in it (a pid namespace cannot be entered by setns itself).
	pidNS *os.File
	// nsFiles are handed to the stage, which setns into each; their kinds
	// are config.Join.
	nsFiles []*os.File
	io      *stdio
	// userNS, when set, is a new user namespace the stage is cloned into
	// (an init stage); joinUserNS is the user namespace file an exec's
	// stage enters through busybox nsenter first.
	userNS     *UserNS
	joinUserNS string
	// cgroupDir, when set, is the cgroup the stage is cloned into
	// (config.Cgroups is then empty): a stage in a user namespace cannot
	// join one by itself.
	cgroupDir string
	// oomScoreAdj, when set, is written by the agent once the stage runs
	// (config.Process has none): a stage in a user namespace cannot lower
	// its own.
	oomScoreAdj *int
	// rlimits, when set, are set by the agent on the stage once it runs
	// (config.Process has none), as runc's parent sets them: raising one
	// takes CAP_SYS_RESOURCE in the guest's user namespace.
	rlimits []Rlimit
	// stdioOwner, when set, is the guest uid and gid the stdio pipes are
	// given before the stage starts: the stage, in the container's user
	// namespace, may not chown the guest root's pipes to the process's
	// user, but may once they belong to an ID it maps.
	stdioOwner *[2]int
	// exe is the agent's binary, open, for busybox nsenter to execute
	// with joinUserNS.
	exe *os.File
}

// inUserNS makes the request's stage run in the container's user
// namespace u (a new one for an init stage, initPid's for an exec): what a
// stage does as the guest's root before it enters its namespaces (join
// the cgroup, set its OOM score) the agent does for it.
func (r *stageRequest) inUserNS(u *UserNS, initPid int) {
	if initPid == 0 {
		r.userNS = u
	} else {
		r.joinUserNS = "/proc/" + strconv.Itoa(initPid) + "/ns/user"
	}
	if len(r.config.Cgroups) > 0 {
		r.cgroupDir = r.config.Cgroups[0]
		r.config.Cgroups = nil
	}
	r.oomScoreAdj, r.config.Process.OOMScoreAdj = r.config.Process.OOMScoreAdj, nil
	r.rlimits, r.config.Process.Rlimits = r.config.Process.Rlimits, nil
	r.stdioOwner = guestIDs(u, r.config.Process)
}

// stage is a started stage process.
type stage struct {
	handle *os.Process
	exits  <-chan reaper.Exit
	sync   *syncConn
}

// kill ends a stage that failed or is abandoned; its exit goes to the
// reaper registration nobody reads.
func (s *stage) kill() error {
	s.sync.close()
	defer s.handle.Release()
	if err := s.handle.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// spawnStage starts a stage and sends it its config.
func spawnStage(ctx context.Context, r *reaper.Reaper, opts Options, req stageRequest) (*stage, error) {
	agentEnd, stageEnd, err := newSyncPair()
	if err != nil {
		return nil, err
	}
	defer stageEnd.Close()
	cfgRead, cfgWrite, err := os.Pipe()
	if err != nil {
		agentEnd.close()
		return nil, fmt.Errorf("creating config pipe: %w", err)
	}
	defer cfgRead.Close()
	defer cfgWrite.Close()

	if o := req.stdioOwner; o != nil {
		if err := req.io.chownChildEnds(o[0], o[1]); err != nil {
			agentEnd.close()
			return nil, err
		}
	}
	if req.joinUserNS != "" {
		path := opts.StagePath
		if path == "" {
			path = "/proc/self/exe"
		}
		exe, err := os.Open(path)
		if err != nil {
			agentEnd.close()
			return nil, fmt.Errorf("opening the agent's binary for the stage: %w", err)
		}
		defer exe.Close()
		req.exe = exe
		req.config.ExeFD = stageNSFD + len(req.nsFiles)
	}
	cmd := stageCommand(opts, req, cfgRead, stageEnd)
	if req.cgroupDir != "" {
		cg, err := inCgroup(cmd.SysProcAttr, req.cgroupDir)
		if err != nil {
			agentEnd.close()
			return nil, err
		}
		defer cg.Close()
	}
	var exits <-chan reaper.Exit
	if req.pidNS != nil {
		exits, err = startInPIDNamespace(r, cmd, req.pidNS)
	} else {
		exits, err = r.Start(cmd)
	}
	req.io.closeChildEnds()
	if err != nil {
		agentEnd.close()
		return nil, fmt.Errorf("starting stage: %w", err)
	}
	st := &stage{handle: cmd.Process, exits: exits, sync: agentEnd}
	if err := setFromOutside(cmd.Process.Pid, req); err != nil {
		st.kill()
		return nil, err
	}
	// The stage reads its config before anything else; if it died, the
	// write fails with EPIPE.
	stop := context.AfterFunc(ctx, func() { cfgWrite.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := json.NewEncoder(cfgWrite).Encode(req.config); err != nil {
		st.kill()
		return nil, fmt.Errorf("sending stage config: %w", err)
	}
	return st, nil
}

func stageCommand(opts Options, req stageRequest, cfg, sync *os.File) *exec.Cmd {
	path := opts.StagePath
	if path == "" {
		path = "/proc/self/exe"
	}
	mode := "exec"
	if req.config.Init != nil {
		mode = "init"
	}
	args := []string{stageArg0, mode}
	extra := append([]*os.File{cfg, sync}, req.nsFiles...)
	if req.joinUserNS != "" {
		// busybox nsenter enters the user namespace (becoming its root)
		// and execs the stage from a descriptor of the agent's binary:
		// /proc/self/exe is busybox by then, and the container's root
		// may have no right to the binary's path, nor to the agent's
		// /proc/<pid>/exe.
		extra = append(extra, req.exe)
		bb := opts.Busybox
		if bb == "" {
			bb = DefaultBusybox
		}
		args = []string{"nsenter", "-F", "-U" + req.joinUserNS, "--", "/proc/self/fd/" + strconv.Itoa(req.config.ExeFD), stageArg0, mode}
		path = bb
	}
	cmd := &exec.Cmd{
		Path: path,
		Args: args,
		// The stage is the agent's binary: nothing from the agent's
		// environment should steer it, nor leak into the container.
		Env:        []string{},
		ExtraFiles: extra,
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: req.cloneflags,
			// A session of its own: the container is not in the agent's
			// process group, and a terminal can become controlling.
			Setsid: true,
		},
	}
	if req.userNS != nil {
		userNSClone(cmd.SysProcAttr, req.userNS)
	}
	// nil leaves /dev/null in place, as Cmd does for a nil stream.
	if req.io.childIn != nil {
		cmd.Stdin = req.io.childIn
	}
	if req.io.childOut != nil {
		cmd.Stdout = req.io.childOut
	}
	if req.io.childErr != nil {
		cmd.Stderr = req.io.childErr
	}
	return cmd
}

// startInPIDNamespace forks cmd from a thread that has joined pidNS, so the
// child is born in it. setns(CLONE_NEWPID) only changes the namespace of
// the thread's future children, and permanently: the goroutine never
// unlocks its thread, so the runtime ends the thread when it returns.
func startInPIDNamespace(r *reaper.Reaper, cmd *exec.Cmd, pidNS *os.File) (<-chan reaper.Exit, error) {
	type result struct {
		exits <-chan reaper.Exit
		err   error
	}
	res := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(pidNS.Fd()), unix.CLONE_NEWPID); err != nil {
			res <- result{err: fmt.Errorf("joining pid namespace: %w", err)}
			return
		}
		exits, err := r.Start(cmd)
		res <- result{exits, err}
	}()
	out := <-res
	return out.exits, out.err
}

// awaitReady reads the stage's first message: ready, with a pty master when
// the process has a terminal, or its error.
func (s *stage) awaitReady(ctx context.Context, terminal bool) (*os.File, error) {
	m, pty, err := s.sync.recv(ctx)
	if err != nil {
		return nil, fmt.Errorf("waiting for stage: %w", err)
	}
	switch {
	case m.Kind == msgError:
		closeIfSet(pty)
		return nil, m.stageError()
	case m.Kind != msgReady:
		closeIfSet(pty)
		return nil, fmt.Errorf("stage sent message kind %d, want ready", m.Kind)
	case terminal && pty == nil:
		return nil, fmt.Errorf("stage sent no pty master")
	}
	return pty, nil
}

// awaitExec waits until the stage has exec'd the user's process (its sync
// socket closes) or reports why it could not.
func (s *stage) awaitExec(ctx context.Context) error {
	m, f, err := s.sync.recv(ctx)
	closeIfSet(f)
	switch {
	case err == io.EOF:
		return nil
	case err != nil:
		return fmt.Errorf("waiting for exec: %w", err)
	case m.Kind == msgError:
		return m.stageError()
	default:
		return fmt.Errorf("stage sent message kind %d, want exec or error", m.Kind)
	}
}
