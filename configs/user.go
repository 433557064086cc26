package configs

import (
	"strconv"
	"strings"
)

// UserRoot is the value of hypervisor.user that keeps QEMU as root, with
// every capability: the relaxed posture.
const UserRoot = "root"

// maxUserName is useradd's limit on a user name.
const maxUserName = 32

// validateUser accepts "root", a user name as useradd takes it (a lower-case
// letter or _ first, then letters, digits, _ . -, at most 32 bytes), or
// "uid:gid" numbers with a uid above 0 (for hosts where the user has no
// entry in /etc/passwd).
func validateUser(key, u string) error {
	if u == UserRoot || validUserName(u) {
		return nil
	}
	if uid, gid, ok := strings.Cut(u, ":"); ok {
		if n, err := strconv.ParseUint(uid, 10, 32); err == nil && n > 0 && n < 1<<32-1 {
			if _, err := strconv.ParseUint(gid, 10, 32); err == nil && gid != "4294967295" {
				return nil
			}
		}
	}
	return keyError(key, ErrInvalid, ` %q: accepted values: "root", a user name such as "kite-qemu", or "uid:gid" numbers with a uid above 0`, u)
}

func validUserName(u string) bool {
	if u == "" || len(u) > maxUserName || !(u[0] == '_' || u[0] >= 'a' && u[0] <= 'z') {
		return false
	}
	for _, r := range u {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}
