package replication

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestCheckRole(t *testing.T) {
	for _, c := range []struct {
		role    Role
		replica bool
		want    string
	}{
		{"", false, ""}, {Standalone, false, ""}, {Primary, false, ""}, {Secondary, true, ""},
		{Secondary, false, "a secondary needs the Primary"},
		{Primary, true, `only a secondary replicates (Role "primary")`},
		{"", true, `only a secondary replicates (Role "standalone")`},
		{"backup", false, `Role: "backup" is not one of standalone, primary, secondary`},
	} {
		err := CheckRole(c.role, c.replica)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%q %v: %v, want %q", c.role, c.replica, err, c.want)
		}
	}
}

func TestLink(t *testing.T) {
	var none *Link
	if err := none.Validate(); err == nil || !strings.Contains(err.Error(), "Provider, AlarmTopic and HomeAlarmTopic") {
		t.Errorf("nil link: %v", err)
	}
	l := &Link{AlarmTopic: pulumi.String("a"), HomeAlarmTopic: pulumi.String("b")}
	if err := l.Validate(); err == nil {
		t.Error("a link without a provider passes")
	}
	if l.Seconds() != 30 {
		t.Errorf("default lag %d", l.Seconds())
	}
	l.LagAlarmSeconds = -5
	if l.Seconds() != -5 {
		t.Errorf("lag %d", l.Seconds())
	}
}
