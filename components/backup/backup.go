// Package backup is AWS Backup for the platform's data: a vault per region,
// encrypted with its own KMS key (and locked in prod so recovery points
// cannot be deleted before their retention), a plan with the seed's rules —
// continuous backup (point-in-time recovery) of the database kept 30 days,
// hourly backups of the application buckets kept 7 days, each copied to the
// DR region's vault when there is one — and a monthly restore-testing plan.
package backup

import (
	"errors"
	"fmt"
	"github.com/eduai/infra/components/partition"
	"strings"

	"github.com/eduai/infra/components/field"
	"github.com/eduai/infra/components/internal/secure"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/backup"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// VaultArgs configures a vault.
type VaultArgs struct {
	// Name of the vault. Required.
	Name string
	// Protect guards the vault and its key against deletion and replacement.
	Protect bool
	// LockMinDays: with a lock, no recovery point can be deleted before this
	// many days (governance mode: an administrator may still remove the lock).
	// 0: no lock.
	LockMinDays int
	// DenyDeletion adds a vault access policy that denies deleting recovery
	// points or shortening their lifecycle to every principal but AdminRoleARNs
	// (AWS Backup's own expiry at the end of the retention is not affected).
	DenyDeletion  bool
	AdminRoleARNs []string
}

// Validate checks the vault's values and names each wrong field (field.List).
func (a VaultArgs) Validate() error {
	var errs field.List
	if a.LockMinDays < 0 {
		errs.Add(field.Range, "LockMinDays", a.LockMinDays, "must be 0 (no lock) or more")
	}
	for i, arn := range a.AdminRoleARNs {
		if !partition.ValidRoleARN(arn) {
			errs.Add(field.Format, fmt.Sprintf("AdminRoleARNs[%d]", i), arn, "must be an IAM role ARN")
		}
	}
	return errs.Err()
}

// deletionPolicy is the vault access policy of DenyDeletion.
func deletionPolicy(admins []string) string {
	condition := ""
	if len(admins) > 0 {
		quoted := make([]string, len(admins))
		for i, a := range admins {
			quoted[i] = `"` + a + `"`
		}
		condition = `,"Condition":{"ArnNotLike":{"aws:PrincipalArn":[` + strings.Join(quoted, ",") + `]}}`
	}
	return `{"Version":"2012-10-17","Statement":[{"Sid":"DenyRecoveryPointDeletion","Effect":"Deny","Principal":"*",` +
		`"Action":["backup:DeleteRecoveryPoint","backup:UpdateRecoveryPointLifecycle","backup:DeleteBackupVault"],` +
		`"Resource":"*"` + condition + `}]}`
}

// Vault is a backup vault with its key.
type Vault struct {
	pulumi.ResourceState
	ARN  pulumi.StringOutput
	Name pulumi.StringOutput
	// RegionSettings opts the vault's region in to the resource types; a
	// plan's selections wait for it.
	RegionSettings pulumi.Resource
}

// OptIn is the region's AWS Backup opt-in: AWS Backup protects a resource
// type only where the region is opted in to it, whatever a plan selects
// (AWS Backup developer guide, "Service opt-in"), and the program's plans
// select Aurora clusters and S3 buckets. The setting is one per account and
// region and the provider reads it back whole (terraform-provider-aws
// internal/service/backup/region_settings.go sets the whole map on read), so
// every type is listed — a partial map would show a change on every preview.
// Types: the API's ResourceTypeOptInPreference (AWS Backup API reference,
// UpdateRegionSettings). Opting a type in backs nothing up by itself.
var OptIn = map[string]bool{
	"Aurora": true, "CloudFormation": true, "DocumentDB": true, "DynamoDB": true, "EBS": true, "EC2": true,
	"EFS": true, "FSx": true, "Neptune": true, "RDS": true, "Redshift": true, "S3": true,
	"SAP HANA on Amazon EC2": true, "Storage Gateway": true, "Timestream": true, "VirtualMachine": true,
}

// NewVault creates a vault in the region of the provider it is given.
func NewVault(ctx *pulumi.Context, name string, args VaultArgs, opts ...pulumi.ResourceOption) (*Vault, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("backup vault %q: %w", name, err)
	}
	if args.Name == "" || args.LockMinDays < 0 {
		return nil, fmt.Errorf("backup vault %q: a name and a lock of 0 or more days are required", name)
	}
	v := &Vault{}
	if err := ctx.RegisterComponentResource("eduai:backup:Vault", name, v, opts...); err != nil {
		return nil, err
	}
	parent, keep := pulumi.Parent(v), pulumi.Protect(args.Protect)
	key, err := secure.NewKey(ctx, name, "Backup vault "+args.Name, nil, parent, keep)
	if err != nil {
		return nil, err
	}
	vault, err := backup.NewVault(ctx, name, &backup.VaultArgs{
		Name:      pulumi.String(args.Name),
		KmsKeyArn: key.Arn,
	}, parent, keep)
	if err != nil {
		return nil, err
	}
	if args.LockMinDays > 0 {
		if _, err := backup.NewVaultLockConfiguration(ctx, name, &backup.VaultLockConfigurationArgs{
			BackupVaultName:  vault.Name,
			MinRetentionDays: pulumi.Int(args.LockMinDays),
			MaxRetentionDays: pulumi.Int(3650),
		}, parent, keep); err != nil {
			return nil, err
		}
	}
	if args.DenyDeletion {
		if _, err := backup.NewVaultPolicy(ctx, name, &backup.VaultPolicyArgs{
			BackupVaultName: vault.Name,
			Policy:          pulumi.String(deletionPolicy(args.AdminRoleARNs)),
		}, parent); err != nil {
			return nil, err
		}
	}
	optIn := pulumi.BoolMap{}
	for t, on := range OptIn {
		optIn[t] = pulumi.Bool(on)
	}
	// Deleting it changes nothing in AWS (the provider's delete is a no-op).
	settings, err := backup.NewRegionSettings(ctx, name, &backup.RegionSettingsArgs{
		ResourceTypeOptInPreference: optIn,
	}, parent)
	if err != nil {
		return nil, err
	}
	v.ARN, v.Name, v.RegionSettings = vault.Arn, vault.Name, settings
	return v, ctx.RegisterResourceOutputs(v, pulumi.Map{"arn": v.ARN, "name": v.Name})
}

// PlanArgs configures the plan.
type PlanArgs struct {
	// Partition of the plan's region (partition.Of); default aws.
	Partition string
	// Name prefixes the plan, its role and selections. Required.
	Name string
	// Vault receives the recovery points. Required.
	Vault *Vault
	// CopyTo is the DR region's vault; nil: no copy.
	CopyTo *Vault
	// Databases: the resources tagged eduai:backup=continuous (the Aurora
	// clusters) get continuous backup kept DatabaseDays.
	Databases    bool
	DatabaseDays int
	// Data: the resources tagged eduai:backup=hourly (the application
	// buckets) get hourly backups kept DataDays.
	Data     bool
	DataDays int
	// RestoreTests: a monthly restore-testing plan for the database and the buckets.
	RestoreTests bool
}

// Plan is the component.
type Plan struct {
	pulumi.ResourceState
	PlanID pulumi.StringOutput
}

// Rule names.
const (
	DatabaseRule = "database-continuous"
	DataRule     = "app-data-hourly"
)

// Validate checks the plan's values (not the vault it writes to) and names
// each wrong field (field.List).
func (a *PlanArgs) Validate() error {
	var errs field.List
	// AWS Backup keeps continuous backups at most 35 days.
	if a.Databases && (a.DatabaseDays < 1 || a.DatabaseDays > 35) {
		errs.Add(field.Range, "DatabaseDays", a.DatabaseDays, "must be 1..35, the continuous backup window AWS Backup allows")
	}
	if a.Data && (a.DataDays < 1 || a.DataDays > 3650) {
		errs.Add(field.Range, "DataDays", a.DataDays, "must be 1..3650")
	}
	return errs.Err()
}

func (a *PlanArgs) validate() error {
	errs := []error{a.Validate()}
	if a.Name == "" || a.Vault == nil {
		errs = append(errs, errors.New("Name and Vault are required"))
	}
	return errors.Join(errs...)
}

// NewPlan creates the backup plan, its service role and selections.
func NewPlan(ctx *pulumi.Context, name string, args *PlanArgs, opts ...pulumi.ResourceOption) (*Plan, error) {
	if args == nil {
		args = &PlanArgs{}
	}
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("backup plan %q: %w", name, err)
	}
	p := &Plan{}
	if err := ctx.RegisterComponentResource("eduai:backup:Plan", name, p, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(p)
	rule := func(ruleName, schedule string, days int, continuous bool) backup.PlanRuleArgs {
		r := backup.PlanRuleArgs{
			RuleName:               pulumi.String(ruleName),
			TargetVaultName:        args.Vault.Name,
			Schedule:               pulumi.String(schedule),
			EnableContinuousBackup: pulumi.Bool(continuous),
			StartWindow:            pulumi.Int(60),
			CompletionWindow:       pulumi.Int(180),
			Lifecycle:              backup.PlanRuleLifecycleArgs{DeleteAfter: pulumi.Int(days)},
			RecoveryPointTags:      pulumi.StringMap{"eduai:backup-rule": pulumi.String(ruleName)},
		}
		if args.CopyTo != nil {
			r.CopyActions = backup.PlanRuleCopyActionArray{backup.PlanRuleCopyActionArgs{
				DestinationVaultArn: args.CopyTo.ARN,
				Lifecycle:           backup.PlanRuleCopyActionLifecycleArgs{DeleteAfter: pulumi.Int(days)},
			}}
		}
		return r
	}
	var rules backup.PlanRuleArray
	if args.Databases {
		rules = append(rules, rule(DatabaseRule, "cron(0 5 * * ? *)", args.DatabaseDays, true))
	}
	if args.Data {
		rules = append(rules, rule(DataRule, "cron(0 * * * ? *)", args.DataDays, false))
	}
	plan, err := backup.NewPlan(ctx, name, &backup.PlanArgs{Name: pulumi.String(args.Name), Rules: rules}, parent)
	if err != nil {
		return nil, err
	}
	role, err := iam.NewRole(ctx, name, &iam.RoleArgs{
		Description: pulumi.String("AWS Backup for " + args.Name),
		AssumeRolePolicy: pulumi.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Principal":{"Service":"backup.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	}, parent)
	if err != nil {
		return nil, err
	}
	for key, policy := range map[string]string{
		"backup":     "service-role/AWSBackupServiceRolePolicyForBackup",
		"restore":    "service-role/AWSBackupServiceRolePolicyForRestores",
		"s3-backup":  "AWSBackupServiceRolePolicyForS3Backup",
		"s3-restore": "AWSBackupServiceRolePolicyForS3Restore",
	} {
		if _, err := iam.NewRolePolicyAttachment(ctx, name+"-"+key, &iam.RolePolicyAttachmentArgs{
			Role: role.Name, PolicyArn: pulumi.String(partition.ManagedPolicy(args.Partition, policy))}, parent); err != nil {
			return nil, err
		}
	}
	// Selections by tag: whatever the components tag in this region is
	// covered, so a new bucket or the promoted secondary needs no edit here.
	selection := func(suffix, tag string, on bool) error {
		if !on {
			return nil
		}
		_, err := backup.NewSelection(ctx, name+"-"+suffix, &backup.SelectionArgs{
			Name: pulumi.String(args.Name + "-" + suffix), PlanId: plan.ID(), IamRoleArn: role.Arn,
			SelectionTags: backup.SelectionSelectionTagArray{backup.SelectionSelectionTagArgs{
				Type: pulumi.String("STRINGEQUALS"), Key: pulumi.String(secure.BackupTag), Value: pulumi.String(tag)}},
		}, parent, pulumi.DependsOn([]pulumi.Resource{args.Vault.RegionSettings}))
		return err
	}
	if err := selection("database", secure.BackupContinuous, args.Databases); err != nil {
		return nil, err
	}
	if err := selection("data", secure.BackupHourly, args.Data); err != nil {
		return nil, err
	}
	if args.RestoreTests {
		if err := restoreTests(ctx, name, args, role.Arn, parent); err != nil {
			return nil, err
		}
	}
	p.PlanID = plan.ID().ToStringOutput()
	return p, ctx.RegisterResourceOutputs(p, pulumi.Map{"planId": p.PlanID})
}

// restoreTests restores the latest recovery point of the database and of
// the buckets on the first of every month, validates the copy and deletes it.
func restoreTests(ctx *pulumi.Context, name string, args *PlanArgs, role pulumi.StringInput, parent pulumi.ResourceOption) error {
	tp, err := backup.NewRestoreTestingPlan(ctx, name+"-restore-tests", &backup.RestoreTestingPlanArgs{
		Name:               pulumi.String(underscore(args.Name) + "_monthly_restore"),
		ScheduleExpression: pulumi.String("cron(0 6 1 * ? *)"),
		RecoveryPointSelection: backup.RestoreTestingPlanRecoveryPointSelectionArgs{
			Algorithm:           pulumi.String("LATEST_WITHIN_WINDOW"),
			IncludeVaults:       pulumi.StringArray{args.Vault.ARN},
			RecoveryPointTypes:  pulumi.StringArray{pulumi.String("CONTINUOUS"), pulumi.String("SNAPSHOT")},
			SelectionWindowDays: pulumi.Int(7),
		},
	}, parent)
	if err != nil {
		return err
	}
	for _, s := range []struct {
		suffix, resourceType, tag string
		on                        bool
	}{{"database", "Aurora", secure.BackupContinuous, args.Databases}, {"data", "S3", secure.BackupHourly, args.Data}} {
		if !s.on {
			continue
		}
		if _, err := backup.NewRestoreTestingSelection(ctx, name+"-restore-"+s.suffix, &backup.RestoreTestingSelectionArgs{
			Name:                   pulumi.String(underscore(args.Name) + "_" + s.suffix),
			IamRoleArn:             role,
			RestoreTestingPlanName: tp.Name,
			ProtectedResourceType:  pulumi.String(s.resourceType),
			// By tag only: the provider takes exactly one of protectedResourceArns and
			// protectedResourceConditions (terraform-provider-aws
			// internal/service/backup/restore_testing_selection.go, ConfigValidators).
			ProtectedResourceConditions: backup.RestoreTestingSelectionProtectedResourceConditionsArgs{
				StringEquals: backup.RestoreTestingSelectionProtectedResourceConditionsStringEqualArray{
					backup.RestoreTestingSelectionProtectedResourceConditionsStringEqualArgs{
						Key: pulumi.String("aws:ResourceTag/" + secure.BackupTag), Value: pulumi.String(s.tag)}}},
			ValidationWindowHours: pulumi.Int(4),
		}, parent); err != nil {
			return err
		}
	}
	return nil
}

// underscore makes a restore-testing name (letters, digits, underscores).
func underscore(s string) string {
	out := []rune(s)
	for i, r := range out {
		if r == '-' {
			out[i] = '_'
		}
	}
	return string(out)
}
