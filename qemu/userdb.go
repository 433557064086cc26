package qemu

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// userDB is the files user and group databases (passwd(5), group(5)) that
// useradd and groupadd write. Kite reads them itself rather than through
// os/user: with cgo, a lookup loads glibc's NSS modules and their malloc
// arenas into every shim and per-sandbox process for the pod's lifetime
// (2 MiB of RSS each, measured by TestIntegrationShimRSS). QEMU's user is a
// local system account (make setup's scripts/setup-user.sh), so the files
// databases are where it is.
type userDB struct {
	passwd, group string
}

var systemUserDB = userDB{passwd: "/etc/passwd", group: "/etc/group"}

// account is one passwd entry.
type account struct {
	uid, gid uint64
}

// lookup finds name in the passwd database; found is false when it is not
// there.
func (db userDB) lookup(name string) (a account, found bool, err error) {
	var bad error
	err = scanDB(db.passwd, func(f []string) bool {
		if len(f) < 4 || f[0] != name {
			return false
		}
		var errU, errG error
		a.uid, errU = strconv.ParseUint(f[2], 10, 32)
		a.gid, errG = strconv.ParseUint(f[3], 10, 32)
		if errU != nil || errG != nil {
			bad = fmt.Errorf("%s: user %q has uid %q and gid %q, want numbers", db.passwd, name, f[2], f[3])
		}
		found = true
		return true
	})
	if err == nil {
		err = bad
	}
	return a, found, err
}

// groupsOf lists the groups that name is a member of (group(5)'s member
// lists), by gid, in the order of the database.
func (db userDB) groupsOf(name string) ([]uint32, error) {
	var gids []uint32
	err := scanDB(db.group, func(f []string) bool {
		if len(f) < 4 || f[3] == "" {
			return false
		}
		for _, m := range strings.Split(f[3], ",") {
			if m != name {
				continue
			}
			if g, err := strconv.ParseUint(f[2], 10, 32); err == nil {
				gids = append(gids, uint32(g))
			}
			break
		}
		return false
	})
	return gids, err
}

// scanDB calls match with the colon-separated fields of each entry of the
// database at path until it returns true. A missing database has no
// entries.
func scanDB(path string, match func(fields []string) bool) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the user database: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if match(strings.Split(line, ":")) {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}
