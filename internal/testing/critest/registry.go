package critest

import "strings"

// RegistrySpecs are the critest specs that cannot run without a registry,
// each with the reason: they pull (PullImage) images that only a registry
// has, by tag or by digest; no locally built image can stand in for them.
var RegistrySpecs = []struct{ Pattern, Reason string }{
	{`\[k8s\.io\] Image Manager`, "pulls the test-image-* images and pause from their registries, by tag and by digest, and removes them"},
	{`\[k8s\.io\] Image Identifier Consistency`, "pulls an image by tag and the same image from two registries"},
	{`\[k8s\.io\] Image Consistency`, "pulls and removes images concurrently"},
	{`\[k8s\.io\] Image Volume`, "pulls the image it mounts as a volume"},
}

// SkipPattern is the ginkgo skip regular expression of RegistrySpecs.
func SkipPattern() string {
	var p []string
	for _, s := range RegistrySpecs {
		p = append(p, s.Pattern)
	}
	return strings.Join(p, "|")
}
