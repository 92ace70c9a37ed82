package backup

import (
	"strings"
	"testing"

	"github.com/eduai/infra/internal/mockstack"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func run(t *testing.T, withCopy bool, mutate func(*PlanArgs)) (*mockstack.Recorder, error) {
	t.Helper()
	return mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
		vault, err := NewVault(ctx, "backup", VaultArgs{Name: "eduai-prod", Protect: true, LockMinDays: 7,
			DenyDeletion: true, AdminRoleARNs: []string{"arn:aws:iam::123456789012:role/backup-admin"}})
		if err != nil {
			return err
		}
		args := &PlanArgs{Name: "eduai-prod", Vault: vault, DatabaseDays: 30, DataDays: 7, RestoreTests: true,
			Databases: true, Data: true}
		if withCopy {
			dr, err := NewVault(ctx, "dr-backup", VaultArgs{Name: "eduai-prod-dr", Protect: true})
			if err != nil {
				return err
			}
			args.CopyTo = dr
		}
		if mutate != nil {
			mutate(args)
		}
		_, err = NewPlan(ctx, "backup", args)
		return err
	})
}

func TestPlan(t *testing.T) {
	rec, err := run(t, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan := rec.ByType("aws:backup/plan:Plan")[0]
	rules := map[string]map[string]any{}
	for _, r := range plan.Inputs["rules"].Mappable().([]any) {
		rm := r.(map[string]any)
		rules[rm["ruleName"].(string)] = rm
	}
	db, data := rules[DatabaseRule], rules[DataRule]
	if db["enableContinuousBackup"] != true || db["lifecycle"].(map[string]any)["deleteAfter"] != float64(30) {
		t.Errorf("database rule %v", db)
	}
	if data["schedule"] != "cron(0 * * * ? *)" || data["lifecycle"].(map[string]any)["deleteAfter"] != float64(7) {
		t.Errorf("data rule %v", data)
	}
	for name, r := range rules {
		copies, _ := r["copyActions"].([]any)
		if len(copies) != 1 {
			t.Errorf("%s: copies %v", name, r["copyActions"])
		}
	}
	selected := map[string]bool{}
	for _, sel := range rec.ByType("aws:backup/selection:Selection") {
		for _, tag := range sel.Inputs["selectionTags"].Mappable().([]any) {
			tm := tag.(map[string]any)
			if tm["type"] == "STRINGEQUALS" && tm["key"] == "eduai:backup" {
				selected[tm["value"].(string)] = true
			}
		}
	}
	if len(selected) != 2 || !selected["continuous"] || !selected["hourly"] {
		t.Errorf("selections by tag: %v", selected)
	}
	vaults := rec.ByType("aws:backup/vault:Vault")
	for _, v := range vaults {
		if !v.Protect || v.Inputs["kmsKeyArn"].IsNull() {
			t.Errorf("vault %s: protect %v, key %v", v.Name, v.Protect, v.Inputs["kmsKeyArn"])
		}
	}
	lock := rec.ByType("aws:backup/vaultLockConfiguration:VaultLockConfiguration")
	if len(vaults) != 2 || len(lock) != 1 || lock[0].Inputs["minRetentionDays"].NumberValue() != 7 {
		t.Errorf("vaults %d, locks %v", len(vaults), lock)
	}
	tp := rec.ByType("aws:backup/restoreTestingPlan:RestoreTestingPlan")
	if len(tp) != 1 || tp[0].String("scheduleExpression") != "cron(0 6 1 * ? *)" {
		t.Errorf("restore testing plan %v", tp)
	}
	kinds := map[string]bool{}
	for _, s := range rec.ByType("aws:backup/restoreTestingSelection:RestoreTestingSelection") {
		cond := s.Inputs["protectedResourceConditions"].Mappable().(map[string]any)["stringEquals"].([]any)[0].(map[string]any)
		if cond["key"] != "aws:ResourceTag/eduai:backup" {
			t.Errorf("restore test %s selects %v", s.Name, cond)
		}
		kinds[s.String("protectedResourceType")] = true
	}
	if !kinds["Aurora"] || !kinds["S3"] {
		t.Errorf("restore tests cover %v", kinds)
	}
}

func TestPlanWithoutCopy(t *testing.T) {
	rec, err := run(t, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rec.ByType("aws:backup/plan:Plan")[0].Inputs["rules"].Mappable().([]any) {
		if c, ok := r.(map[string]any)["copyActions"]; ok && c != nil && len(c.([]any)) > 0 {
			t.Errorf("copy without a DR vault: %v", c)
		}
	}
}

func TestBadPlan(t *testing.T) {
	for _, c := range []struct {
		mutate func(*PlanArgs)
		want   string
	}{
		{func(a *PlanArgs) { a.DatabaseDays = 40 }, "DatabaseDays: must be 1..35, the continuous backup window AWS Backup allows (got 40)"},
		{func(a *PlanArgs) { a.DataDays = 0 }, "DataDays: must be 1..3650 (got 0)"},
	} {
		if _, err := run(t, false, c.mutate); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

// In prod a vault policy denies deleting recovery points to all but the admin roles.
func TestVaultDenyDeletion(t *testing.T) {
	rec, err := run(t, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	policies := rec.ByType("aws:backup/vaultPolicy:VaultPolicy")
	if len(policies) != 1 {
		t.Fatalf("%d vault policies", len(policies))
	}
	doc := policies[0].String("policy")
	for _, want := range []string{`"Effect":"Deny"`, `"backup:DeleteRecoveryPoint"`, `"Principal":"*"`,
		`"ArnNotLike":{"aws:PrincipalArn":["arn:aws:iam::123456789012:role/backup-admin"]}`} {
		if !strings.Contains(doc, want) {
			t.Errorf("policy lacks %s: %s", want, doc)
		}
	}
	if strings.Contains(deletionPolicy(nil), "Condition") {
		t.Error("without admin roles the deny must cover everyone")
	}
}

func TestPlanPartition(t *testing.T) {
	rec, err := run(t, false, func(a *PlanArgs) { a.Partition = "aws-cn" })
	if err != nil {
		t.Fatal(err)
	}
	ats := rec.ByType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
	if len(ats) != 4 {
		t.Fatalf("%d attachments", len(ats))
	}
	for _, at := range ats {
		if arn := at.String("policyArn"); !strings.HasPrefix(arn, "arn:aws-cn:iam::aws:policy/") {
			t.Errorf("%s attaches %s", at.Name, arn)
		}
	}
}

// A vault's admins are role ARNs and its lock is not negative: refused
// before anything registers.
func TestBadVault(t *testing.T) {
	for _, c := range []struct {
		args VaultArgs
		want string
	}{
		{VaultArgs{Name: "v", AdminRoleARNs: []string{"backup-admin"}}, `AdminRoleARNs[0]: must be an IAM role ARN (got "backup-admin")`},
		{VaultArgs{Name: "v", LockMinDays: -1}, "LockMinDays: must be 0 (no lock) or more (got -1)"},
	} {
		rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
			_, err := NewVault(ctx, "backup", c.args)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), c.want) || len(rec.Resources()) != 0 {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}
