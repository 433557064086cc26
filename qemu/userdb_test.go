package qemu

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUserDBLookup(t *testing.T) {
	dir := t.TempDir()
	db := userDB{passwd: filepath.Join(dir, "passwd"), group: filepath.Join(dir, "group")}
	write := func(path, data string) {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(db.passwd, `# local accounts
root:x:0:0:root:/root:/bin/bash

kite-qemu:x:998:997::/nonexistent:/usr/sbin/nologin
kite-qemu2:x:996:995::/nonexistent:/usr/sbin/nologin
toor:x:0:5::/:/bin/sh
broken:x:12:gid::/:/bin/sh
`)
	write(db.group, `kvm:x:107:kite-qemu,other
kite-qemu:x:997:kite-qemu
render:x:108:other
audio:x:29:kite-qemu2,kite-qemu
`)
	for _, tc := range []struct {
		spec, want string
		err        error
	}{
		{"kite-qemu", "kite-qemu (uid 998, gid 997, groups 107,29)", nil},
		{"kite-qemu2", "kite-qemu2 (uid 996, gid 995, groups 29)", nil},
		{"toor", "", ErrInvalid},
		{"kite-q", "", ErrNoUser}, // a prefix of a name is not the name
		{"broken", "", nil},
	} {
		u, err := db.lookupUser(tc.spec)
		switch {
		case tc.want != "" && (err != nil || u.String() != tc.want):
			t.Errorf("lookupUser(%q) = %v, %v; want %s", tc.spec, u, err, tc.want)
		case tc.want == "" && tc.err != nil && !errors.Is(err, tc.err):
			t.Errorf("lookupUser(%q) = %v, %v; want %v", tc.spec, u, err, tc.err)
		case tc.want == "" && (err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.spec))):
			t.Errorf("lookupUser(%q): %v, want an error naming the user", tc.spec, err)
		}
	}
	// No databases at all: the user does not exist.
	if _, err := (userDB{passwd: filepath.Join(dir, "none"), group: filepath.Join(dir, "none")}).lookupUser("kite-qemu"); !errors.Is(err, ErrNoUser) {
		t.Errorf("lookup without databases: %v, want ErrNoUser", err)
	}
}

// TestUserDBAgreesWithSystem: on this host, the files database gives what
// LookupUser gave for a system account through NSS (nobody exists on every
// Debian system).
func TestUserDBAgreesWithSystem(t *testing.T) {
	u, err := LookupUser("nobody")
	if err != nil || u.UID != 65534 || u.GID != 65534 {
		t.Errorf("LookupUser(nobody) = %v, %v; want uid and gid 65534", u, err)
	}
}
