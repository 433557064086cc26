package pool

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/kite-vm/kite/configs"
)

// Digest names what a warm VM was booted from: the configuration (but the
// pool's own section and the log settings, which shape no VM) and the
// guest's kernel, initrd and image files as they are on disk (size and
// time), so that a rebuilt guest or a changed configuration never gets a
// VM booted from the old ones.
func Digest(c *configs.Config) string {
	n := c.Clone()
	n.Pool = configs.Pool{}
	n.Runtime.LogLevel, n.Runtime.LogFormat = "", ""
	h := sha256.New()
	data, _ := json.Marshal(n)
	h.Write(data)
	for _, p := range []string{c.Guest.KernelPath(), c.Guest.InitrdPath(), c.Guest.ImagePath()} {
		if fi, err := os.Stat(p); err == nil {
			fmt.Fprintf(h, "\n%s %d %d", p, fi.Size(), fi.ModTime().UnixNano())
		} else {
			fmt.Fprintf(h, "\n%s missing", p)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
