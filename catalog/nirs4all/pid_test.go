package nirs4all

import (
	"testing"
)

func TestParsePipelineID(t *testing.T) {
	tests := []struct {
		in         string
		num        int
		name, hash string
		ok         bool
	}{
		{"0001_a1b2c3", 1, "", "a1b2c3", true},
		{"0042_pls_baseline_x9y8z7", 42, "pls_baseline", "x9y8z7", true},
		{"0001_config_3fa2c1", 1, "config", "3fa2c1", true},
		{"9999_x", 9999, "", "x", true},
		{"0100_my pipeline_ab", 100, "my pipeline", "ab", true},
		{"0000_a1b2c3", 0, "", "", false},
		{"001_a1b2c3", 0, "", "", false},
		{"00001_a1b2c3", 0, "", "", false},
		{"0001a1b2c3", 0, "", "", false},
		{"0001_", 0, "", "", false},
		{"0001", 0, "", "", false},
		{"0001__a1b2c3", 0, "", "", false},
		{"0001_name_", 0, "", "", false},
		{"0x01_a1b2c3", 0, "", "", false},
		{"٠٠٠١_a1b2c3", 0, "", "", false},
		{"0001_a/b_c", 0, "", "", false},
		{"_binaries", 0, "", "", false},
		{"best_0001_a1b2c3.csv", 0, "", "", false},
		{"", 0, "", "", false},
	}
	for _, tt := range tests {
		num, name, hash, ok := ParsePipelineID(tt.in)
		if num != tt.num || name != tt.name || hash != tt.hash || ok != tt.ok {
			t.Errorf("ParsePipelineID(%q) = %d, %q, %q, %v; want %d, %q, %q, %v",
				tt.in, num, name, hash, ok, tt.num, tt.name, tt.hash, tt.ok)
		}
		if IsPipelineFolder(tt.in) != tt.ok {
			t.Errorf("IsPipelineFolder(%q) = %v", tt.in, !tt.ok)
		}
	}
}
