package rules

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

const (
	typeIAMRole             = "aws:iam/role:Role"
	typeIAMRolePolicy       = "aws:iam/rolePolicy:RolePolicy"
	typeIAMPolicy           = "aws:iam/policy:Policy"
	typeIAMPolicyAttachment = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	typeSecret              = "aws:secretsmanager/secret:Secret"
)

// statement is one statement of an IAM policy document, with its lists normalized.
type statement struct {
	Effect     string
	Principals []string // "*" for Principal "*", else every principal value
	Actions    []string
	Resources  []string
	Conditions bool
	// ConditionKeys are the condition keys the statement tests, lower-cased ("aws:sourceaccount").
	ConditionKeys []string
	// Services are the service principals ("vpc-flow-logs.amazonaws.com").
	Services []string
}

// asList reads a policy field that may be a string or a list of strings.
func asList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// parsePolicy reads an IAM policy document; ok=false when it is not JSON (or not known).
func parsePolicy(doc string) (stmts []statement, ok bool) {
	var raw struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(doc), &raw) != nil || len(raw.Statement) == 0 {
		return nil, false
	}
	var list []map[string]any
	if json.Unmarshal(raw.Statement, &list) != nil {
		var one map[string]any
		if json.Unmarshal(raw.Statement, &one) != nil {
			return nil, false
		}
		list = []map[string]any{one}
	}
	for _, s := range list {
		st := statement{Actions: asList(s["Action"]), Resources: asList(s["Resource"]), Conditions: s["Condition"] != nil}
		st.Effect, _ = s["Effect"].(string)
		switch p := s["Principal"].(type) {
		case string:
			st.Principals = []string{p}
		case map[string]any:
			for k, v := range p {
				st.Principals = append(st.Principals, asList(v)...)
				if k == "Service" {
					st.Services = append(st.Services, asList(v)...)
				}
			}
		}
		if cond, ok := s["Condition"].(map[string]any); ok {
			for _, keys := range cond {
				if m, ok := keys.(map[string]any); ok {
					for k := range m {
						st.ConditionKeys = append(st.ConditionKeys, strings.ToLower(k))
					}
				}
			}
		}
		stmts = append(stmts, st)
	}
	return stmts, true
}

// docProp reads a policy document property that is known.
func docProp(r policyx.AnalyzerResource, key string) ([]statement, bool) {
	doc, present, known := str(r.Properties, key)
	if !present || !known {
		return nil, false
	}
	return parsePolicy(doc)
}

// checkRoleTrust: a role's trust policy names specific principals, never
// anyone (Principal "*") or any service without a condition (CKV_AWS_60, CKV_AWS_61).
func checkRoleTrust(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeIAMRole {
		return nil
	}
	stmts, ok := docProp(r, "assumeRolePolicy")
	if !ok {
		return nil
	}
	for _, s := range stmts {
		if s.Effect != "Allow" || s.Conditions {
			continue
		}
		for _, p := range s.Principals {
			if p == "*" || p == "arn:aws:iam::*:root" {
				args.Manager.ReportViolation(fmt.Sprintf("role %q may be assumed by any principal (%q) without a "+
					"condition. Name the service, account or OIDC provider that assumes it.", r.Name, p), "")
			}
		}
	}
	return nil
}

// sourceGuarded are the service principals that, when they act for a
// resource of ours, send aws:SourceAccount and aws:SourceArn, so a trust or
// bucket policy can hold them to our account (the confused-deputy guard of
// the IAM user guide, "The confused deputy problem"). Each service's own
// guide documents the keys; services absent here (EC2 instance roles, AWS
// Backup, EKS and EKS Pod Identity, which scopes by session tags) do not
// document them for role assumption, and a condition on a key a service does
// not send would lock the service out.
var sourceGuarded = map[string]string{
	"vpc-flow-logs.amazonaws.com":  "VPC user guide, IAM role for publishing flow logs to CloudWatch Logs",
	"monitoring.rds.amazonaws.com": "RDS user guide, Enhanced Monitoring: protecting against the confused deputy problem",
	"s3.amazonaws.com":             "S3 user guide, setting up permissions for live replication",
	"logging.s3.amazonaws.com":     "S3 user guide, permissions for server access log delivery",
	"delivery.logs.amazonaws.com":  "CloudWatch Logs user guide, logging that requires additional permissions",
}

// sourceKeys are the keys that hold a service to one account or organization.
var sourceKeys = []string{"aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths"}

// checkServiceSourceGuard: a role trust policy or bucket policy that lets a
// service principal of sourceGuarded in also tests the source account
// (aws:SourceAccount, or aws:SourceOrgID/OrgPaths); a bucket ARN names no
// account, so for a bucket policy aws:SourceArn alone is not enough. A trust
// policy may use aws:SourceArn alone when it names the account.
func checkServiceSourceGuard(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	key, what := "assumeRolePolicy", "role"
	if r.Type == typeBucketPolicy {
		key, what = "policy", "bucket policy"
	}
	stmts, ok := docProp(r, key)
	if !ok {
		return nil
	}
	for _, s := range stmts {
		if s.Effect != "Allow" {
			continue
		}
		for _, svc := range s.Services {
			source, guarded := sourceGuarded[svc]
			if !guarded {
				continue
			}
			keys := sourceKeys
			if r.Type == typeBucketPolicy {
				keys = []string{"aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths"}
			}
			if !slices.ContainsFunc(s.ConditionKeys, func(k string) bool { return slices.Contains(keys, k) }) {
				args.Manager.ReportViolation(fmt.Sprintf("%s %q lets %s in without aws:SourceAccount (confused deputy): "+
					"any account's %s could act through it. Add a StringEquals aws:SourceAccount condition (%s).",
					what, r.Name, svc, svc, source), "")
			}
		}
	}
	return nil
}

// adminPolicies are AWS managed policies that grant full or IAM-wide access.
var adminPolicies = []string{"arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/IAMFullAccess",
	"arn:aws:iam::aws:policy/PowerUserAccess"}

// checkPolicyNotAdmin: no policy of ours allows every action, every IAM
// action, or attaches an administrator managed policy (CKV_AWS_62, CKV_AWS_63,
// CKV_AWS_274, CKV2_AWS_40, CKV2_AWS_56).
func checkPolicyNotAdmin(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	switch r.Type {
	case typeIAMPolicyAttachment:
		if arn, _, known := str(r.Properties, "policyArn"); known && slices.Contains(adminPolicies, arn) {
			args.Manager.ReportViolation(fmt.Sprintf("%q attaches %s. Grant the actions the role needs instead.", r.Name, arn), "")
		}
		return nil
	case typeIAMRole:
		arns, known := strList(r.Properties, "managedPolicyArns")
		for _, arn := range arns {
			if known && slices.Contains(adminPolicies, arn) {
				args.Manager.ReportViolation(fmt.Sprintf("role %q carries %s. Grant the actions it needs instead.", r.Name, arn), "")
			}
		}
		return nil
	case typeIAMRolePolicy, typeIAMPolicy:
	default:
		return nil
	}
	stmts, ok := docProp(r, "policy")
	if !ok {
		return nil
	}
	for _, s := range stmts {
		if s.Effect != "Allow" {
			continue
		}
		for _, a := range s.Actions {
			switch {
			case a == "*" && slices.Contains(s.Resources, "*"):
				args.Manager.ReportViolation(fmt.Sprintf("policy %q allows every action on every resource (\"*:*\"). "+
					"List the actions and resources the role needs.", r.Name), "")
			case a == "*":
				args.Manager.ReportViolation(fmt.Sprintf("policy %q allows every action (\"*\"). List the actions.", r.Name), "")
			case strings.EqualFold(a, "iam:*"):
				args.Manager.ReportViolation(fmt.Sprintf("policy %q allows every IAM action (\"iam:*\"), which is "+
					"full control of the account. List the IAM actions it needs.", r.Name), "")
			}
		}
	}
	return nil
}

// checkKMSKeyPolicy: a customer-managed key is enabled and its policy, when
// the program sets one, lets no one (Principal "*") use it without a
// condition (CKV_AWS_33, CKV_AWS_227). Without a policy AWS applies the
// default key policy (the account's IAM decides), which is what we want.
func checkKMSKeyPolicy(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeKMSKey {
		return nil
	}
	if enabled, present, known := boolProp(r.Properties, "isEnabled"); known && present && !enabled {
		args.Manager.ReportViolation(fmt.Sprintf("KMS key %q is disabled: what it encrypts cannot be read. "+
			"Remove isEnabled: false.", r.Name), "")
	}
	stmts, ok := docProp(r, "policy")
	if !ok {
		return nil
	}
	for _, s := range stmts {
		if s.Effect == "Allow" && !s.Conditions && slices.Contains(s.Principals, "*") {
			args.Manager.ReportViolation(fmt.Sprintf("KMS key %q's policy allows any principal (\"*\") without a "+
				"condition. Name the account, roles or services.", r.Name), "")
		}
	}
	return nil
}

// checkSecretCMK: Secrets Manager secrets are encrypted with a customer-managed key (CKV_AWS_149).
var checkSecretCMK = presentRule(typeSecret, "kmsKeyId", "secret %q is encrypted with the AWS-managed key. "+
	"Set kmsKeyId to the data store's key (components/internal/secure does).")

// presentRule reports a resource of type typ whose key is known and absent.
func presentRule(typ, key, message string) func(policyx.ResourceValidationArgs) error {
	return func(args policyx.ResourceValidationArgs) error {
		r := args.Resource
		if r.Type != typ {
			return nil
		}
		if ok, known := customerKey(r.Properties, key); known && !ok {
			args.Manager.ReportViolation(fmt.Sprintf(message, r.Name), "")
		}
		return nil
	}
}

// checkLogGroupCMK: CloudWatch log groups are encrypted with a customer-managed key (CKV_AWS_158).
var checkLogGroupCMK = presentRule("aws:cloudwatch/logGroup:LogGroup", "kmsKeyId", "log group %q is encrypted with "+
	"CloudWatch Logs' own key. Create it with components/internal/secure.NewLogGroup (a key of its own that the "+
	"region's CloudWatch Logs may use).")
