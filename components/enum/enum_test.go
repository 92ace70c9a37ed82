package enum

import "testing"

type color string

func TestValidAndDescribe(t *testing.T) {
	colors := []color{"blue", "green"}
	if !Valid(color("green"), colors) || Valid(color("red"), colors) || Valid(color(""), colors) {
		t.Error("Valid")
	}
	if got := Describe(colors); got != "blue, green" {
		t.Errorf("Describe: %q", got)
	}
}
