package database

import (
	"strings"
	"testing"

	"github.com/eduai/infra/internal/mockstack"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestGlobalBadArgs(t *testing.T) {
	for _, c := range []struct {
		args *GlobalArgs
		want string
	}{
		{&GlobalArgs{Name: "eduai-prod"}, "Primary, Provider"},
		{&GlobalArgs{Readers: 2}, "Readers: 2"},
		{&GlobalArgs{Readers: -1, InstanceClass: "db.r6g.large"}, "Readers: -1"},
	} {
		rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
			_, err := NewGlobal(ctx, "database-global", c.args)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), c.want) || len(rec.Resources()) != 0 {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}
