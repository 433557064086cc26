package testutil

import "testing"

func TestStrictFollowsEnv(t *testing.T) {
	t.Setenv(StrictEnv, "1")
	if !Strict() {
		t.Error("Strict() = false with KITE_TEST_STRICT=1")
	}
	t.Setenv(StrictEnv, "0")
	if Strict() {
		t.Error("Strict() = true with KITE_TEST_STRICT=0")
	}
}

func TestAccelOverride(t *testing.T) {
	t.Setenv("KITE_TEST_ACCEL", "tcg")
	if got := Accel(); got != "tcg" {
		t.Errorf("Accel() = %q, want tcg", got)
	}
}
