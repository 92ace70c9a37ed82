package addons

import (
	"strings"
	"testing"
)

// A zone in another partition is changed and watched there (issue #21).
func TestDNS01PolicyPartition(t *testing.T) {
	doc := dns01Policy("arn:aws-cn:route53:::hostedzone/Z123")
	if !strings.Contains(doc, `"arn:aws-cn:route53:::change/*"`) || strings.Contains(doc, "arn:aws:") {
		t.Errorf("dns01 policy in aws-cn: %s", doc)
	}
}
