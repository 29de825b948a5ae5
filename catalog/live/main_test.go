package live

import (
	"testing"

	"github.com/n4ws/n4ws/catalog/importer/standintest"
)

// TestMain removes the stand-in's Parquet writer after the tests.
func TestMain(m *testing.M) { standintest.Main(m) }
