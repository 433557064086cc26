// Command nnp is the program of critest's nonewprivs image. Installed
// set-user-ID root and run as another user, it prints the effective user id
// it got: 0 when the set-user-ID bit took effect, the caller's when
// no_new_privs kept it from doing so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Printf("Effective uid: %d\n", os.Geteuid())
}
