package qmp

import "context"

// ChardevFileArgs describe an output-only character device writing to a
// file, which QEMU creates or truncates: a serial console's log.
type ChardevFileArgs struct {
	ID   string // required
	Path string // required
}

type chardevFile struct {
	Out string `json:"out"`
}

// ChardevAddFile adds a file character device. Remove it with
// ChardevRemove.
func (c *Client) ChardevAddFile(ctx context.Context, args ChardevFileArgs) error {
	if err := required("chardev-add", field{"id", args.ID}, field{"path", args.Path}); err != nil {
		return err
	}
	w := chardevAddArgs{ID: args.ID, Backend: chardevBackend{Type: "file", Data: chardevFile{Out: args.Path}}}
	return c.Execute(ctx, "chardev-add", w, nil)
}
