package catalog

import "testing"

// Balanced accuracy must not depend on map iteration order: the same predictions
// give the same bits every time, so computed files keep the same bytes.
func TestBalancedAccuracyDeterministic(t *testing.T) {
	p := Prediction{}
	// Many classes with recalls whose float sum depends on the order of addition.
	for c := 0; c < 37; c++ {
		for i := 0; i <= c%7+2; i++ {
			p.YTrue = append(p.YTrue, float64(c))
			pred := float64(c)
			if i%3 == 1 {
				pred = float64(c + 1)
			}
			p.YPred = append(p.YPred, pred)
		}
	}
	want := classificationScores(p)["balanced_accuracy"]
	for range 200 {
		if got := classificationScores(p)["balanced_accuracy"]; got != want {
			t.Fatalf("balanced_accuracy changed between runs: %v then %v", want, got)
		}
	}
}
