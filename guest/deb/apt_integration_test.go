package deb

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testutil"
)

func TestIntegrationAptResolve(t *testing.T) {
	testutil.RequireBinary(t, "apt-cache", "apt")
	ctx := context.Background()
	deps, err := Depends(ctx, "linux-image-amd64")
	if errors.Is(err, ErrUnknownPackage) {
		testutil.Skip(t, "apt lists know no linux-image-amd64", "apt-get update")
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) == 0 || !strings.HasPrefix(deps[0], "linux-image-") {
		t.Fatalf("Depends(linux-image-amd64) = %v, want a linux-image-* package first", deps)
	}
	c, err := Show(ctx, deps[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.Package != deps[0] || c.Version == "" || c.Architecture != "amd64" {
		t.Errorf("Show(%s) = %+v", deps[0], c)
	}
	if _, err := Show(ctx, "no-such-package-kite"); !errors.Is(err, ErrUnknownPackage) {
		t.Errorf("Show(unknown) error = %v, want %v", err, ErrUnknownPackage)
	}
}
