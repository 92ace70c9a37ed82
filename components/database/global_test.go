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
		{&GlobalArgs{Name: "eduai-prod", EngineVersion: "16.6", BackupRetentionDays: 30}, "Primary, Provider"},
		{&GlobalArgs{EngineVersion: "sixteen", BackupRetentionDays: 30}, `EngineVersion: "sixteen"`},
		{&GlobalArgs{EngineVersion: "16.6", BackupRetentionDays: 0}, "BackupRetentionDays: 0"},
		{&GlobalArgs{EngineVersion: "16.6", BackupRetentionDays: 7, Readers: 2}, "Readers: 2"},
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
