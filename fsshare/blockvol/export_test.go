package blockvol

import "testing"

// ExportExt4Image lets the external tests build images.
func ExportExt4Image(t testing.TB, sizeMiB int) string { return ext4Image(t, sizeMiB) }
