package container

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/kite-vm/kite/agent/server/seccomp"
	"golang.org/x/sys/unix"
)

// defaultPath is searched when the process's environment has no PATH.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// execProcess applies p's attributes to this thread and process, then
// becomes the user's process. tty is the pty slave, or -1. filter, when
// set, is installed as late as it can be: right before execve with
// no_new_privs; without it, before the credentials drop CAP_SYS_ADMIN,
// which installing a filter then needs (runc's order). It returns only on
// failure.
func execProcess(p ProcessSpec, tty int, filter *seccomp.Filter) error {
	for _, rl := range p.Rlimits {
		if err := rl.apply(0); err != nil {
			return stageErr(fmt.Sprintf("setting %s", rl.Type), err)
		}
	}
	umask := uint32(0o022)
	if p.Umask != nil {
		umask = *p.Umask
	}
	unix.Umask(int(umask))
	if err := unix.Chdir(p.Cwd); err != nil {
		return stageErr(fmt.Sprintf("chdir %q", p.Cwd), err)
	}
	path, err := lookPath(p.Args[0], p.Env)
	if err != nil {
		return stageErr(fmt.Sprintf("exec %q", p.Args[0]), err)
	}
	if err := setupStdio(tty, p.UID, p.GID); err != nil {
		return err
	}
	if filter != nil && !p.NoNewPrivileges {
		if err := seccomp.Install(*filter); err != nil {
			return stageErr("installing seccomp", err)
		}
	}
	if err := setCredentials(p); err != nil {
		return err
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return stageErr("setting no_new_privs", err)
		}
		if filter != nil {
			if err := seccomp.Install(*filter); err != nil {
				return stageErr("installing seccomp", err)
			}
		}
	}
	err = syscall.Exec(path, p.Args, p.Env)
	return stageErr(fmt.Sprintf("exec %q", p.Args[0]), err)
}

// lookPath finds file as execvp would: as given when it holds a slash,
// else in the PATH of env. It checks the candidate is an executable regular
// file; execve has the last word.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, checkExecutable(file)
	}
	path := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		if p := dir + "/" + file; checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("executable file not found in $PATH: %w", unix.ENOENT)
}

func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return pe.Err // the caller names the path
		}
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return unix.EACCES
	}
	return nil
}

// setupStdio installs the pty slave as stdin, stdout and stderr and makes it
// the controlling terminal of the stage's session (the agent started the
// stage with setsid), then hands stdio to the process's user: pipes and
// the pty are root's, and a non-root process could not reopen them through
// /dev/stdout or /proc/self/fd.
func setupStdio(tty int, uid, gid uint32) error {
	if tty >= 0 {
		for fd := range 3 {
			if err := unix.Dup3(tty, fd, 0); err != nil {
				return stageErr("installing the terminal as stdio", err)
			}
		}
		unix.Close(tty)
		if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
			return stageErr("setting the controlling terminal", err)
		}
	}
	for fd := range 3 {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			continue
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFIFO, unix.S_IFSOCK:
		case unix.S_IFCHR:
			if tty < 0 {
				continue // the guest's /dev/null: never chown it
			}
		default:
			continue
		}
		if err := unix.Fchown(fd, int(uid), int(gid)); err != nil {
			return stageErr(fmt.Sprintf("handing fd %d to the process's user", fd), err)
		}
	}
	return nil
}
