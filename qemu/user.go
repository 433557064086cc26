package qemu

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
)

// ErrNoUser reports that the user QEMU should run as does not exist.
var ErrNoUser = errors.New("no such user")

// User is the unprivileged user QEMU runs as (StartOptions.User).
type User struct {
	Name   string   // as configured: a name, or "uid:gid"
	UID    uint32   // never 0
	GID    uint32   // the primary group
	Groups []uint32 // supplementary groups (kvm for /dev/kvm, /dev/vhost-net)
}

// LookupUser resolves hypervisor.user: "root" is nil (QEMU keeps running as
// root); "uid:gid" is taken as is, with no supplementary group; a name is
// read from the user and group databases with its groups.
func LookupUser(spec string) (*User, error) {
	if spec == "root" {
		return nil, nil
	}
	if uid, gid, ok := strings.Cut(spec, ":"); ok {
		u, errU := strconv.ParseUint(uid, 10, 32)
		g, errG := strconv.ParseUint(gid, 10, 32)
		if errU != nil || errG != nil || u == 0 {
			return nil, fmt.Errorf("%w: user %q: want a name, root, or uid:gid numbers with a uid above 0", ErrInvalid, spec)
		}
		return &User{Name: spec, UID: uint32(u), GID: uint32(g)}, nil
	}
	return systemUserDB.lookupUser(spec)
}

// lookupUser resolves a user name in db.
func (db userDB) lookupUser(spec string) (*User, error) {
	a, found, err := db.lookup(spec)
	if err != nil {
		return nil, fmt.Errorf("looking up user %q: %w", spec, err)
	}
	if !found {
		return nil, fmt.Errorf("%w: %q, whom hypervisor.user names to run QEMU as (create it: make setup, or useradd --system --no-create-home --shell /usr/sbin/nologin %s; or set hypervisor.user to \"uid:gid\" or \"root\")", ErrNoUser, spec, spec)
	}
	if a.uid == 0 {
		return nil, fmt.Errorf("%w: user %q has uid 0: QEMU's user must not be root (set hypervisor.user = \"root\" to mean that)", ErrInvalid, spec)
	}
	u := &User{Name: spec, UID: uint32(a.uid), GID: uint32(a.gid)}
	groups, err := db.groupsOf(spec)
	if err != nil {
		return nil, fmt.Errorf("looking up the groups of user %q: %w", spec, err)
	}
	for _, g := range groups {
		if g != u.GID {
			u.Groups = append(u.Groups, g)
		}
	}
	return u, nil
}

// String names the user for people: "kite-qemu (uid 998, gid 998, groups 107)".
func (u *User) String() string {
	if u == nil {
		return "root"
	}
	s := fmt.Sprintf("%s (uid %d, gid %d", u.Name, u.UID, u.GID)
	if len(u.Groups) > 0 {
		gs := make([]string, len(u.Groups))
		for i, g := range u.Groups {
			gs[i] = strconv.FormatUint(uint64(g), 10)
		}
		s += ", groups " + strings.Join(gs, ",")
	}
	return s + ")"
}

func (u *User) credential() *syscall.Credential {
	return &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: append([]uint32{}, u.Groups...)}
}
