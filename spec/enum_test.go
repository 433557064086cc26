package spec

import (
	"encoding/json"
	"testing"
)

func TestEnumText(t *testing.T) {
	tests := []struct {
		v    interface{ String() string }
		text string
	}{
		{NamespaceNew, "new"}, {NamespaceSandbox, "sandbox"},
		{HostBind, "bind"}, {HostDisk, "disk"}, {HostDAX, "dax"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.text {
			t.Errorf("String() = %q, want %q", got, tt.text)
		}
		data, err := json.Marshal(tt.v)
		if err != nil || string(data) != `"`+tt.text+`"` {
			t.Errorf("json.Marshal(%v) = %s, %v", tt.v, data, err)
		}
	}
	if got := NamespaceMode(0).String(); got != "spec.NamespaceMode(0)" {
		t.Errorf("unset mode String() = %q", got)
	}
	if _, err := json.Marshal(HostKind(7)); err == nil {
		t.Error("marshalling HostKind(7) did not fail")
	}
	var k HostKind
	if err := json.Unmarshal([]byte(`"nfs"`), &k); err == nil {
		t.Error(`unmarshalling "nfs" as a HostKind did not fail`)
	}
	var m NamespaceMode
	if err := json.Unmarshal([]byte(`"sandbox"`), &m); err != nil || m != NamespaceSandbox {
		t.Errorf(`unmarshalling "sandbox": %v, %v`, m, err)
	}
}
