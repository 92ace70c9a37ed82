package dnsname

import "testing"

func TestNames(t *testing.T) {
	for _, c := range []struct {
		s                  string
		valid, host, label bool
	}{
		{"api.eduai.com", true, true, false},
		{"*.eduai.com", false, true, false},
		{"eduai", false, false, true},
		{"https://api.eduai.com", false, false, false},
		{"Api.eduai.com", false, false, false},
		{"content-service", false, false, true},
		{"-bad", false, false, false},
	} {
		if Valid(c.s) != c.valid || Host(c.s) != c.host || Label(c.s) != c.label {
			t.Errorf("%q: valid %v host %v label %v", c.s, Valid(c.s), Host(c.s), Label(c.s))
		}
	}
}
